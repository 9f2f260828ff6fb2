/* Building an exported model's object file for a target, reading its
 * sections and checking that no floating point crept into it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "export_internal.h"

#define HINT_ARM "(Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
#define HINT_CC "(Debian: apt-get install gcc)"

const char *sparse__target_cpu(int target)
{
    switch (target) {
    case SPARSE_EXP_TARGET_HOST:
        return "host";
    case SPARSE_EXP_TARGET_CORTEX_M0PLUS:
        return "cortex-m0plus";
    case SPARSE_EXP_TARGET_CORTEX_M4:
        return "cortex-m4";
    case SPARSE_EXP_TARGET_CORTEX_M7:
        return "cortex-m7";
    default:
        return NULL;
    }
}

SPARSE__STRUCT_VERSIONS(toolchain_versions, sparse_exp_toolchain, SPARSE_EXP_TOOLCHAIN_INIT,
                        SPARSE_EXP_TOOLCHAIN_VERSION, sizeof(sparse_exp_toolchain));
SPARSE__STRUCT_VERSIONS(build_result_versions, sparse_exp_build_result, SPARSE_EXP_BUILD_RESULT_INIT,
                        SPARSE_EXP_BUILD_RESULT_VERSION, sizeof(sparse_exp_build_result));

int sparse__toolchain_resolve(const sparse_exp_toolchain *tc, sparse_exp_toolchain *out)
{
    sparse_exp_toolchain d;
    int rc = sparse__struct_read(&toolchain_versions, &d, tc, "export");
    if (rc)
        return rc;
    if (!sparse__target_cpu(d.target))
        return sparse__error(SPARSE_EINVAL, "export: unknown target %d", d.target);
    if (!d.host_cc)
        d.host_cc = "cc";
    if (!d.cross_prefix)
        d.cross_prefix = "arm-none-eabi-";
    if (!d.qemu)
        d.qemu = "qemu-system-arm";
    if (!(d.timeout_s > 0.0))
        d.timeout_s = 3600.0;
    *out = d;
    return SPARSE_OK;
}

/* A weights-and-constants array of the generated code (quant_c.c's names):
 * PREFIX_{w,mask,col,row,bias,mult,shift}<node id>. */
static int is_weight_array(const char *sym, const char *prefix)
{
    static const char *const tags[] = {"w", "mask", "col", "row", "bias", "mult", "shift"};
    size_t pl = strlen(prefix);
    if (strncmp(sym, prefix, pl) || sym[pl] != '_')
        return 0;
    sym += pl + 1;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        size_t tl = strlen(tags[i]);
        if (!strncmp(sym, tags[i], tl) && sym[tl] >= '0' && sym[tl] <= '9' &&
            strspn(sym + tl, "0123456789") == strlen(sym + tl))
            return 1;
    }
    return 0;
}

/* `size -A` lists one section per line: name, size, address. */
static int parse_sizes(const char *text, const char *prefix, sparse_exp_build_result *res)
{
    int rows = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char name[512];
        unsigned long long size = 0, addr = 0;
        if (sscanf(line, "%511s %llu %llu", name, &size, &addr) != 3)
            continue;
        rows++;
        if (!strncmp(name, ".text", 5)) {
            res->text_bytes += size;
        } else if (!strncmp(name, ".rodata", 7)) {
            res->rodata_bytes += size;
            if (name[7] == '.' && is_weight_array(name + 8, prefix))
                res->rodata_weights_bytes += size;
        } else if (!strncmp(name, ".bss", 4)) {
            res->bss_bytes += size;
        } else if (!strncmp(name, ".data", 5)) {
            res->data_bytes += size;
        }
    }
    return rows ? SPARSE_OK : sparse__error(SPARSE_EFORMAT, "export: cannot read the sizes in:\n%s", text);
}

/* The soft-float helpers of the Arm EABI and libgcc: calls to any of them
 * mean floating point on the inference path. */
static int is_float_helper(const char *sym)
{
    static const char *const aeabi[] = {"f",    "d",    "cf",  "cd",  "i2f",  "i2d",
                                        "ui2f", "ui2d", "l2f", "l2d", "ul2f", "ul2d"};
    if (!strncmp(sym, "__aeabi_", 8)) {
        for (size_t i = 0; i < sizeof aeabi / sizeof aeabi[0]; i++)
            if (!strncmp(sym + 8, aeabi[i], strlen(aeabi[i])))
                return 1;
        return 0;
    }
    size_t n = strlen(sym);
    return n > 3 && sym[0] == '_' && sym[1] == '_' &&
           (!strcmp(sym + n - 3, "sf2") || !strcmp(sym + n - 3, "df2") || !strcmp(sym + n - 3, "sf3") ||
            !strcmp(sym + n - 3, "df3") || strstr(sym, "sfsi") || strstr(sym, "dfsi") ||
            strstr(sym, "sisf") || strstr(sym, "sidf"));
}

static int check_no_float(const char *nm_output, const char *object)
{
    sparse__buf found = SPARSE__BUF_INIT;
    for (const char *line = nm_output; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char type[8], sym[256];
        if (sscanf(line, "%7s %255s", type, sym) == 2 && !strcmp(type, "U") && is_float_helper(sym))
            sparse__buf_printf(&found, " %s", sym);
    }
    int rc = SPARSE_OK;
    if (found.len)
        rc = sparse__error(SPARSE_EUNSUPPORTED, "export: %s calls soft-float helpers:%s", object, found.data);
    sparse__buf_free(&found);
    return rc;
}

int sparse__read_sizes(const char *file, const char *prefix, const sparse_exp_toolchain *tc,
                       sparse_exp_build_result *res)
{
    char tool[256], *out = NULL;
    snprintf(tool, sizeof tool, "%ssize", tc->cross_prefix);
    char *argv[] = {tool, "-A", (char *)file, NULL};
    int rc = sparse__run_ok(argv, tc->timeout_s, HINT_ARM, "export: reading sizes", &out);
    if (!rc)
        rc = parse_sizes(out, prefix, res);
    free(out);
    return rc;
}

static int check_object_float(const char *object, const sparse_exp_toolchain *tc)
{
    char tool[256], *out = NULL;
    snprintf(tool, sizeof tool, "%snm", tc->cross_prefix);
    char *argv[] = {tool, "-u", (char *)object, NULL};
    int rc = sparse__run_ok(argv, tc->timeout_s, HINT_ARM, "export: listing symbols", &out);
    if (!rc)
        rc = check_no_float(out, object);
    free(out);
    return rc;
}

int sparse__build_model(const char *dir, const char *prefix, const sparse_exp_toolchain *tc,
                        sparse__workdir *w, sparse_exp_build_result *res, char **object)
{
    if (object)
        *object = NULL;
    sparse__buf name = SPARSE__BUF_INIT;
    sparse__buf_printf(&name, "%s.c", prefix);
    char *src = name.failed ? NULL : sparse__path_join(dir, name.data);
    sparse__buf_free(&name);
    sparse__buf_printf(&name, "%s.o", prefix);
    char *obj = NULL;
    int rc = !src || name.failed ? SPARSE_ENOMEM : sparse__workdir_file(w, name.data, &obj);
    sparse__buf_free(&name);
    const int host = tc->target == SPARSE_EXP_TARGET_HOST;
    char gcc[256], mcpu[64];
    snprintf(gcc, sizeof gcc, "%sgcc", tc->cross_prefix);
    snprintf(mcpu, sizeof mcpu, "-mcpu=%s", sparse__target_cpu(tc->target));
    char *argv[24];
    int k = 0;
    argv[k++] = host ? (char *)tc->host_cc : gcc;
    const char *flags[] = {
        "-std=c99", "-pedantic",           "-Wall",           "-Wextra", "-Werror", "-ffreestanding",
        "-Os",      "-ffunction-sections", "-fdata-sections", "-c"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        argv[k++] = (char *)flags[i];
    if (!host) {
        argv[k++] = "-mthumb";
        argv[k++] = mcpu;
    }
    argv[k++] = src;
    argv[k++] = "-o";
    argv[k++] = obj;
    argv[k] = NULL;
    if (!rc)
        rc = sparse__run_ok(argv, tc->timeout_s, host ? HINT_CC : HINT_ARM, "export: compiling the model",
                            NULL);
    if (!rc && !host)
        rc = sparse__read_sizes(obj, prefix, tc, res);
    if (!rc && !host)
        rc = check_object_float(obj, tc);
    free(src);
    if (!rc && object)
        *object = obj;
    else
        free(obj);
    return rc;
}

SPARSE_API int sparse_exp_export_build(const char *dir, const char *prefix, const sparse_exp_toolchain *tc,
                                       sparse_exp_build_result *out)
{
    SPARSE__CHECK_NULL(dir);
    SPARSE__CHECK_NULL(prefix);
    int rc = sparse__struct_check(&build_result_versions, out, "sparse_exp_export_build");
    if (rc)
        return rc;
    sparse_exp_build_result res = SPARSE_EXP_BUILD_RESULT_INIT;
    sparse_exp_toolchain t;
    if ((rc = sparse__toolchain_resolve(tc, &t)))
        return rc;
    sparse__workdir w;
    if ((rc = sparse__workdir_open(&w, t.work_dir)))
        return rc;
    rc = sparse__build_model(dir, prefix, &t, &w, &res, NULL);
    sparse__workdir_close(&w);
    if (!rc)
        rc = sparse__struct_write(&build_result_versions, out, &res, "sparse_exp_export_build");
    return rc;
}
