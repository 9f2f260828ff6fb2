/* Running an exported model: the example firmware (examples/deploy, as
 * embedded at build time) built around it for the host or a Cortex-M4,
 * run on images (natively, or under qemu's mps2-an386 with semihosting),
 * its labels and logits compared with sparse_qnet_predict's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "export_internal.h"

/* What the host expects and what the firmware gets. */
typedef struct job {
    sparse__workdir w;
    sparse_exp_toolchain tc;
    const char *dir, *prefix;
    size_t n, in_size, classes;
    int8_t *inputs;   /* n x in_size, the firmware's images */
    int8_t *expected; /* n x classes, sparse_qnet_predict's logits */
    int *labels;      /* n, the data set's */
    char *fw, *images, *results;
} job;

static int write_file(job *j, const char *name, const void *data, size_t len, char **path)
{
    char *p = NULL;
    int rc = sparse__workdir_file(&j->w, name, &p);
    if (!rc)
        rc = sparse__write_file_atomic(p, data, len);
    if (!rc && path)
        *path = p;
    else
        free(p);
    return rc;
}

/* The images quantised as the network's first step does (or, with input
 * downsampling as acquisition, node input_node's int8 output: the image as
 * the sensor delivers it), and the host's logits for them. */
static int prepare_images(job *j, sparse_qnet *q, const sparse_dataset *ds, size_t n, size_t input_node)
{
    size_t c, h, w;
    sparse_qnet_input_shape(q, &c, &h, &w);
    if (sparse_dataset_channels(ds) != c || sparse_dataset_height(ds) != h || sparse_dataset_width(ds) != w)
        return sparse__error(
            SPARSE_ESHAPE, "export verification: images are %zux%zux%zu, the network takes %zux%zux%zu",
            sparse_dataset_channels(ds), sparse_dataset_height(ds), sparse_dataset_width(ds), c, h, w);
    int rc = sparse_exp_qnet_node_shape(q, input_node, &c, &h, &w);
    if (rc)
        return rc;
    const size_t avail = sparse_dataset_image_count(ds);
    j->n = n && n < avail ? n : avail;
    if (j->n == 0)
        return sparse__error(SPARSE_EEMPTY, "export verification: no images");
    j->in_size = c * h * w;
    j->classes = sparse_qnet_class_count(q);
    j->inputs = sparse__malloc(j->n * j->in_size);
    j->expected = sparse__malloc(j->n * j->classes);
    j->labels = sparse__calloc(j->n, sizeof *j->labels);
    if (!j->inputs || !j->expected || !j->labels)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < j->n && !rc; i++) {
        const float *img = sparse_dataset_image(ds, i);
        const int8_t *acquired = NULL;
        size_t count = 0;
        rc = sparse_qnet_predict(q, img, j->expected + i * j->classes, NULL);
        if (!rc && input_node == 0)
            rc = sparse_qnet_quantize_input(q, img, j->inputs + i * j->in_size);
        else if (!rc && !(rc = sparse_qnet_node_output(q, input_node, &acquired, &count)))
            memcpy(j->inputs + i * j->in_size, acquired, j->in_size);
        j->labels[i] = sparse_dataset_label(ds, i);
    }
    return rc ? rc : write_file(j, "images.bin", j->inputs, j->n * j->in_size, &j->images);
}

static char *format(const char *fmt, ...) SPARSE__PRINTF(1, 2);
static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? sparse__malloc((size_t)len + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)len + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* Compiles the example firmware around the model object. */
static int build_firmware(job *j, const char *object)
{
    const int host = j->tc.target == SPARSE_EXP_TARGET_HOST;
    char *main_c = NULL, *startup_c = NULL, *board_ld = NULL;
    int rc = write_file(j, "main.c", sparse__fw_main_c, strlen(sparse__fw_main_c), &main_c);
    if (!rc && !host)
        rc = write_file(j, "startup.c", sparse__fw_startup_c, strlen(sparse__fw_startup_c), &startup_c);
    if (!rc && !host)
        rc = write_file(j, "board.ld", sparse__fw_board_ld, strlen(sparse__fw_board_ld), &board_ld);
    if (!rc)
        rc = sparse__workdir_file(&j->w, host ? "fw" : "fw.elf", &j->fw);
    char upper[64];
    size_t k = 0;
    for (; j->prefix[k] && k + 1 < sizeof upper; k++)
        upper[k] =
            (char)(j->prefix[k] >= 'a' && j->prefix[k] <= 'z' ? j->prefix[k] - 'a' + 'A' : j->prefix[k]);
    upper[k] = 0;
    char *def[4] = {format("-DSPARSE_MODEL=%s", j->prefix), format("-DSPARSE_MODEL_UPPER=%s", upper),
                    format("-DSPARSE_MODEL_HEADER=\"%s.h\"", j->prefix), format("-I%s", j->dir)};
    char *gcc = format("%sgcc", j->tc.cross_prefix);
    if (!rc && (!def[0] || !def[1] || !def[2] || !def[3] || !gcc))
        rc = SPARSE_ENOMEM;
    char *host_argv[] = {(char *)j->tc.host_cc, "-std=c99", "-O2", def[0], def[1], def[2], def[3], main_c,
                         (char *)object,        "-o",       j->fw, NULL};
    char *arm_argv[] = {gcc,
                        "-mcpu=cortex-m4",
                        "-mthumb",
                        "-Os",
                        "--specs=rdimon.specs",
                        "-T",
                        board_ld,
                        def[0],
                        def[1],
                        def[2],
                        def[3],
                        main_c,
                        startup_c,
                        (char *)object,
                        "-o",
                        j->fw,
                        NULL};
    if (!rc)
        rc = sparse__run_ok(host ? host_argv : arm_argv, j->tc.timeout_s, NULL,
                            "export verification: building the firmware", NULL);
    for (int i = 0; i < 4; i++)
        free(def[i]);
    free(gcc);
    free(main_c);
    free(startup_c);
    free(board_ld);
    return rc;
}

/* The firmware's summary lines ("# key values"). */
static void parse_summary(const char *out, sparse_exp_verify_result *res, size_t *images)
{
    unsigned long long ticks = 0, ticks_max = 0, cal_instr = 0, cal_ticks = 0, stack = 0, painted = 0, n = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (sscanf(line, "# images %llu", &n) == 1)
            *images = (size_t)n;
        sscanf(line, "# ticks %llu max %llu", &ticks, &ticks_max);
        sscanf(line, "# calibration %llu instructions %llu ticks", &cal_instr, &cal_ticks);
        sscanf(line, "# stack %llu of %llu painted", &stack, &painted);
    }
    if (cal_ticks && n) {
        /* qemu -icount shift=0: one instruction per ns, SysTick at the
         * board's clock; the calibration loop gives the ratio. */
        const double per_tick = (double)cal_instr / (double)cal_ticks;
        res->instructions = per_tick * (double)ticks / (double)n;
        res->instructions_max = per_tick * (double)ticks_max;
    }
    res->stack_bytes = stack;
}

static int run_firmware(job *j, sparse_exp_verify_result *res)
{
    int rc = sparse__workdir_file(&j->w, "results.bin", &j->results);
    if (rc)
        return rc;
    char *out = NULL;
    sparse__buf cfg = SPARSE__BUF_INIT;
    sparse__buf_printf(&cfg, "enable=on,target=native,arg=fw,arg=%s,arg=%s", j->images, j->results);
    if (cfg.failed)
        return SPARSE_ENOMEM;
    if (j->tc.target == SPARSE_EXP_TARGET_HOST) {
        char *argv[] = {j->fw, j->images, j->results, NULL};
        rc = sparse__run_ok(argv, j->tc.timeout_s, NULL, "export verification: running the model", &out);
    } else {
        char *argv[] = {(char *)j->tc.qemu,
                        "-M",
                        "mps2-an386",
                        "-nographic",
                        "-semihosting-config",
                        cfg.data,
                        "-icount",
                        "shift=0",
                        "-kernel",
                        j->fw,
                        NULL};
        rc = sparse__run_ok(argv, j->tc.timeout_s, "(Debian: apt-get install qemu-system-arm)",
                            "export verification: running the firmware under qemu", &out);
    }
    sparse__buf_free(&cfg);
    size_t images = 0;
    if (!rc)
        parse_summary(out, res, &images);
    if (!rc && images != j->n)
        rc = sparse__error(SPARSE_EIO, "export verification: the firmware ran %zu of %zu images:\n%.2000s",
                           images, j->n, out);
    free(out);
    return rc;
}

static int compare(job *j, sparse_exp_verify_result *res)
{
    char *got = NULL;
    size_t len = 0;
    int rc = sparse__read_file(j->results, &got, &len);
    if (rc)
        return rc;
    const size_t rec = 1 + j->classes;
    if (len != j->n * rec) {
        free(got);
        return sparse__error(SPARSE_EFORMAT, "export verification: %s holds %zu bytes, not %zu", j->results,
                             len, j->n * rec);
    }
    size_t right = 0, host_right = 0;
    for (size_t i = 0; i < j->n; i++) {
        const int8_t *r = (const int8_t *)got + i * rec, *want = j->expected + i * j->classes;
        int best = 0;
        for (size_t c = 1; c < j->classes; c++)
            best = want[c] > want[best] ? (int)c : best;
        res->logit_mismatches += memcmp(r + 1, want, j->classes) != 0;
        res->label_mismatches += r[0] != best;
        right += r[0] == j->labels[i];
        host_right += best == j->labels[i];
    }
    free(got);
    res->images = j->n;
    res->accuracy = (double)right / (double)j->n;
    res->host_accuracy = (double)host_right / (double)j->n;
    return SPARSE_OK;
}

static int verify(job *j, sparse_qnet *q, const sparse_dataset *ds, size_t n, size_t input_node,
                  sparse_exp_verify_result *res)
{
    char *object = NULL;
    int rc = prepare_images(j, q, ds, n, input_node);
    if (!rc)
        rc = sparse__build_model(j->dir, j->prefix, &j->tc, &j->w, &res->model, &object);
    if (!rc)
        rc = build_firmware(j, object);
    free(object);
    if (!rc && j->tc.target != SPARSE_EXP_TARGET_HOST) {
        sparse_exp_build_result fw = SPARSE_EXP_BUILD_RESULT_INIT;
        rc = sparse__read_sizes(j->fw, j->prefix, &j->tc, &fw);
        res->firmware_bss_bytes = fw.bss_bytes - res->model.bss_bytes;
        res->firmware_data_bytes = fw.data_bytes - res->model.data_bytes;
    }
    if (!rc)
        rc = run_firmware(j, res);
    if (!rc)
        rc = compare(j, res);
    if (!rc && j->tc.target != SPARSE_EXP_TARGET_HOST)
        res->model_ram_bytes = res->model.bss_bytes + res->model.data_bytes + res->stack_bytes;
    return rc;
}

SPARSE__STRUCT_VERSIONS(verify_result_versions, sparse_exp_verify_result, SPARSE_EXP_VERIFY_RESULT_INIT,
                        SPARSE_EXP_VERIFY_RESULT_VERSION, sizeof(sparse_exp_verify_result));

SPARSE_API int sparse_exp_export_verify(sparse_qnet *q, const char *dir, const char *prefix,
                                        const sparse_exp_toolchain *tc, const sparse_dataset *images,
                                        size_t n, sparse_exp_verify_result *out)
{
    return sparse_exp_export_verify_from(q, dir, prefix, tc, images, n, 0, out);
}

SPARSE_API int sparse_exp_export_verify_from(sparse_qnet *q, const char *dir, const char *prefix,
                                             const sparse_exp_toolchain *tc, const sparse_dataset *images,
                                             size_t n, size_t input_node, sparse_exp_verify_result *out)
{
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(dir);
    SPARSE__CHECK_NULL(prefix);
    SPARSE__CHECK_NULL(images);
    int rc = sparse__struct_check(&verify_result_versions, out, "sparse_exp_export_verify");
    if (rc)
        return rc;
    job j;
    memset(&j, 0, sizeof j);
    j.dir = dir;
    j.prefix = prefix;
    if ((rc = sparse__toolchain_resolve(tc, &j.tc)))
        return rc;
    if (j.tc.target != SPARSE_EXP_TARGET_HOST && j.tc.target != SPARSE_EXP_TARGET_CORTEX_M4)
        return sparse__error(SPARSE_EUNSUPPORTED,
                             "export verification runs on the host or a Cortex-M4 (qemu mps2-an386), not %s",
                             sparse__target_cpu(j.tc.target));
    if ((rc = sparse__workdir_open(&j.w, j.tc.work_dir)))
        return rc;
    sparse_exp_verify_result res = SPARSE_EXP_VERIFY_RESULT_INIT;
    rc = verify(&j, q, images, n, input_node, &res);
    sparse__workdir_close(&j.w);
    free(j.inputs);
    free(j.expected);
    free(j.labels);
    free(j.fw);
    free(j.images);
    free(j.results);
    if (!rc)
        rc = sparse__struct_write(&verify_result_versions, out, &res, "sparse_exp_export_verify");
    return rc;
}
