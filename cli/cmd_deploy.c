/* `sparse export`: a trained network as freestanding int8 C (sparse/export.h),
 * optionally built for a Cortex-M and run under qemu against the library's
 * own int8 path (docs/deploy.md). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sparse/experimental.h"

static void deploy_help(FILE *f)
{
    fprintf(f,
            "Usage: sparse export RUN_DIR --trial ID --out DIR [options]\n"
            "       sparse export [ARCH.yaml] --weights W.safetensors --data SPEC --out DIR [options]\n\n"
            "Writes the network as int8 C99 for a microcontroller: DIR/PREFIX.h (the API) and\n"
            "DIR/PREFIX.c (the library's int8 kernels, the weights as const arrays, one static arena).\n"
            "From a run directory, the trial's network is calibrated on the run's training split as\n"
            "the search did (1000 images) and verified on its test split. Prints the network's memory\n"
            "figures as predicted and as exported; with a Cortex-M target, the object's sections.\n\n"
            "Options:\n"
            "  --trial ID            the trial of RUN_DIR (see 'sparse inspect RUN_DIR')\n"
            "  --out DIR             where PREFIX.h and PREFIX.c go (created if missing)\n"
            "  --prefix NAME         names in the generated code: a letter, then letters, digits, '_'\n"
            "                        (default model; macros use it in upper case)\n"
            "  --target T            host (default: checked with cc), cortex-m0plus, cortex-m4 or\n"
            "                        cortex-m7 (built with arm-none-eabi-gcc -Os -mthumb)\n"
            "  --verify N            run the model on N test images (0 = all) on the host, or for\n"
            "                        cortex-m4 under qemu-system-arm -M mps2-an386, and compare every\n"
            "                        logit with the library's int8 path; exit status 1 on a mismatch\n"
            "  --build-dir DIR       keep the object, firmware and images there (default: removed)\n"
            "  --weights W           weights written by 'sparse train --save' (without a run)\n"
            "  --data SPEC           mnist, an MNIST directory or a CSV file (without a run: as for\n"
            "                        'sparse eval'; with a run: the run's data in another place)\n"
            "  --calib N             calibration images (without a run; default 1000, 0 = all)\n"
            "  --val N               validation images held out (without a run; default 5000)\n"
            "  --seed S              CSV split seed (without a run; default 0)\n"
            "  --threads T           compute threads for calibration (default 1)\n"
            "  --json                print one JSON object\n");
    cli_common_help(f, 22);
}

typedef struct args {
    const char *src, *out, *prefix, *weights, *data, *build_dir;
    long trial, calib, val, seed, threads, verify;
    int target, json;
} args;

static const char *const target_names[] = {"host", "cortex-m0plus", "cortex-m4", "cortex-m7"};

static int parse_value(args *a, const char *opt, const char *v)
{
    if (!strcmp(opt, "--out"))
        a->out = v;
    else if (!strcmp(opt, "--prefix"))
        a->prefix = v;
    else if (!strcmp(opt, "--weights"))
        a->weights = v;
    else if (!strcmp(opt, "--data"))
        a->data = v;
    else if (!strcmp(opt, "--build-dir"))
        a->build_dir = v;
    else if (!strcmp(opt, "--target")) {
        a->target = -1;
        for (int t = 0; t < 4; t++)
            if (!strcmp(v, target_names[t]))
                a->target = t;
        if (a->target < 0)
            return cli_usage("export ", "--target is host, cortex-m0plus, cortex-m4 or cortex-m7, not '%s'", v);
    } else {
        long *dst = !strcmp(opt, "--trial") ? &a->trial : !strcmp(opt, "--calib") ? &a->calib
                  : !strcmp(opt, "--val") ? &a->val : !strcmp(opt, "--seed") ? &a->seed
                  : !strcmp(opt, "--threads") ? &a->threads : &a->verify;
        long lo = dst == &a->val || dst == &a->threads ? 1 : 0;
        long hi = dst == &a->threads ? 1024 : 2147483647L;
        if (cli_parse_long(v, lo, hi, dst))
            return cli_usage("export ", "%s must be an integer in %ld..%ld, not '%s'", opt, lo, hi, v);
    }
    return CLI_OK;
}

static int parse_args(args *a, int argc, char **argv)
{
    static const char *const with_value[] = {"--trial", "--out", "--prefix", "--target", "--verify", "--build-dir",
                                             "--weights", "--data", "--calib", "--val", "--seed", "--threads"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            takes |= !strcmp(o, with_value[k]);
        if (!strcmp(o, "--help") || !strcmp(o, "-h"))
            return deploy_help(stdout), -1;
        if (cli_common_option(o))
            continue;
        if (!strcmp(o, "--json")) {
            a->json = 1;
        } else if (takes) {
            if (!v)
                return cli_usage("export ", "option %s needs a value", o);
            int rc = parse_value(a, o, v);
            if (rc)
                return rc;
            i++;
        } else if (o[0] == '-' && o[1]) {
            return cli_usage("export ", "unknown option '%s'", o);
        } else if (!a->src) {
            a->src = o;
        } else {
            return cli_usage("export ", "unexpected argument '%s'", o);
        }
    }
    if (!a->out)
        return cli_usage("export ", "missing --out DIR");
    if (a->trial >= 0 && !a->src)
        return cli_usage("export ", "--trial needs a run directory");
    if (a->trial < 0 && (!a->weights || !a->data))
        return cli_usage("export ", "needs RUN_DIR --trial ID, or --weights W and --data SPEC");
    return CLI_OK;
}

/* The network and its data splits, from a run or from files. */
typedef struct model {
    sparse_net *net;
    sparse_dataset *train, *val, *test;
    size_t calib;
} model;

static int load_from_run(const args *a, model *m)
{
    sparse_run *run = NULL;
    int rc = sparse_run_open(&run, a->src);
    if (rc)
        return cli_lib_error(rc, "export");
    if ((size_t)a->trial >= sparse_run_trial_count(run)) {
        sparse_run_free(run);
        return cli_error("export: %s has no trial %ld", a->src, a->trial);
    }
    rc = sparse_run_trial_net(run, (size_t)a->trial, &m->net, NULL);
    if (!rc)
        rc = sparse_run_open_data(run, a->data, &m->train, &m->val, &m->test);
    sparse_run_free(run);
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT; /* as the search calibrates */
    m->calib = qo.calib_images;
    return rc ? cli_lib_error(rc, "export") : CLI_OK;
}

static int load_from_files(const args *a, model *m)
{
    sparse_arch *arch = NULL;
    int rc = a->src ? sparse_arch_load_yaml(&arch, a->src) : sparse_net_load_arch(&arch, a->weights);
    if (!rc)
        rc = sparse_arch_validate(arch);
    if (!rc)
        rc = sparse_net_create(&m->net, arch, 64, 0);
    sparse_arch_free(arch);
    if (rc)
        return cli_lib_error(rc, "architecture");
    if ((rc = sparse_net_load(m->net, a->weights, 1)))
        return cli_lib_error(rc, "--weights");
    sparse_data_options dopts = SPARSE_DATA_OPTIONS_INIT;
    dopts.seed = (uint64_t)a->seed;
    dopts.val_count = (size_t)a->val;
    if ((rc = sparse_data_open(a->data, &dopts, &m->train, &m->val, &m->test)))
        return cli_lib_error(rc, "data");
    m->calib = (size_t)a->calib;
    return CLI_OK;
}

/* What was measured, for printing. */
typedef struct report {
    uint64_t pred[5]; /* MS, WM5, WM6, flash, arena: sparse_memreport_from_net, as the search */
    sparse_export_figures fig;
    sparse_exp_build_result obj;
    sparse_exp_verify_result ver;
    int built, verified;
    const char *split;
} report;

static int predicted(sparse_net *net, uint64_t *v)
{
    sparse_memreport *r = NULL;
    size_t layer;
    int rc = sparse_memreport_from_net(&r, net, NULL);
    if (!rc)
        rc = sparse_memreport_ms_bytes(r, &v[0]);
    if (!rc)
        rc = sparse_memreport_wm_bytes(r, 5, &v[1], &layer);
    if (!rc)
        rc = sparse_memreport_wm_bytes(r, 6, &v[2], &layer);
    if (!rc)
        rc = sparse_memreport_deploy_flash_bytes(r, &v[3]);
    if (!rc)
        rc = sparse_memreport_deploy_arena_bytes(r, &v[4], NULL);
    sparse_memreport_free(r);
    return rc;
}

static void print_text(const args *a, const char *prefix, const report *r)
{
    static const char *const rows[] = {"MS", "WM5", "WM6", "deploy flash", "arena"};
    const uint64_t exp[5] = {r->fig.ms_bytes, r->fig.wm5_bytes, r->fig.wm6_bytes, r->fig.flash_bytes,
                             r->fig.arena_bytes};
    printf("exported        %s/%s.h, %s/%s.c\n", a->out, prefix, a->out, prefix);
    printf("input           %zux%zux%zu int8, scale %.9g, zero point %d; %zu classes\n", r->fig.input_c,
           r->fig.input_h, r->fig.input_w, r->fig.input_scale, (int)r->fig.input_zero_point, r->fig.classes);
    printf("%-15s %12s %12s\n", "bytes", "predicted", "exported");
    for (int i = 0; i < 5; i++)
        printf("%-15s %12llu %12llu\n", rows[i], (unsigned long long)r->pred[i], (unsigned long long)exp[i]);
    printf("                (predicted: the search's figures, arena with im2col scratch; exported: int8\n"
           "                 non-zeros, the arena of the generated code, no scratch)\n");
    if (r->built)
        printf("%-15s .text %llu, .rodata %llu (weights %llu), .bss %llu, .data %llu\n", target_names[a->target],
               (unsigned long long)r->obj.text_bytes, (unsigned long long)r->obj.rodata_bytes,
               (unsigned long long)r->obj.rodata_weights_bytes, (unsigned long long)r->obj.bss_bytes,
               (unsigned long long)r->obj.data_bytes);
    if (!r->verified)
        return;
    const sparse_exp_verify_result *v = &r->ver;
    printf("verified        %zu %s images on %s: %zu logit mismatches, %zu label mismatches\n", v->images,
           r->split, a->target == 0 ? "the host" : "qemu mps2-an386 (Cortex-M4)", v->logit_mismatches,
           v->label_mismatches);
    printf("accuracy        %.2f%% (library int8 path: %.2f%%)\n", 100.0 * v->accuracy, 100.0 * v->host_accuracy);
    if (a->target == 0)
        return;
    printf("instructions    %.0f per inference (max %.0f)\n", v->instructions, v->instructions_max);
    printf("model RAM       %llu B = .bss %llu + .data %llu + stack %llu (test firmware's own: .bss %llu, "
           ".data %llu)\n",
           (unsigned long long)v->model_ram_bytes, (unsigned long long)v->model.bss_bytes,
           (unsigned long long)v->model.data_bytes, (unsigned long long)v->stack_bytes,
           (unsigned long long)v->firmware_bss_bytes, (unsigned long long)v->firmware_data_bytes);
}

static void print_json(const args *a, const char *prefix, const report *r)
{
    printf("{\"out\": ");
    cli_json_string(stdout, a->out);
    printf(", \"prefix\": ");
    cli_json_string(stdout, prefix);
    printf(", \"target\": \"%s\", \"input\": [%zu, %zu, %zu], \"input_scale\": %.17g, \"input_zero_point\": %d, "
           "\"classes\": %zu",
           target_names[a->target], r->fig.input_c, r->fig.input_h, r->fig.input_w, r->fig.input_scale,
           (int)r->fig.input_zero_point, r->fig.classes);
    printf(", \"predicted\": {\"ms_bytes\": %llu, \"wm5_bytes\": %llu, \"wm6_bytes\": %llu, \"flash_bytes\": %llu, "
           "\"arena_bytes\": %llu}",
           (unsigned long long)r->pred[0], (unsigned long long)r->pred[1], (unsigned long long)r->pred[2],
           (unsigned long long)r->pred[3], (unsigned long long)r->pred[4]);
    printf(", \"exported\": {\"ms_bytes\": %llu, \"wm5_bytes\": %llu, \"wm6_bytes\": %llu, \"flash_bytes\": %llu, "
           "\"arena_bytes\": %llu, \"arena_lower_bound_bytes\": %llu}",
           (unsigned long long)r->fig.ms_bytes, (unsigned long long)r->fig.wm5_bytes,
           (unsigned long long)r->fig.wm6_bytes, (unsigned long long)r->fig.flash_bytes,
           (unsigned long long)r->fig.arena_bytes, (unsigned long long)r->fig.arena_lower_bound_bytes);
    const sparse_exp_build_result *o = &r->obj;
    if (r->built)
        printf(", \"object\": {\"text\": %llu, \"rodata\": %llu, \"rodata_weights\": %llu, \"bss\": %llu, "
               "\"data\": %llu}",
               (unsigned long long)o->text_bytes, (unsigned long long)o->rodata_bytes,
               (unsigned long long)o->rodata_weights_bytes, (unsigned long long)o->bss_bytes,
               (unsigned long long)o->data_bytes);
    if (r->verified) {
        const sparse_exp_verify_result *v = &r->ver;
        printf(", \"verify\": {\"split\": \"%s\", \"images\": %zu, \"logit_mismatches\": %zu, \"label_mismatches\": %zu, "
               "\"accuracy\": %.6f, \"library_int8_accuracy\": %.6f, \"instructions\": %.1f, "
               "\"instructions_max\": %.1f, \"stack_bytes\": %llu, \"model_ram_bytes\": %llu, "
               "\"firmware_bss_bytes\": %llu, \"firmware_data_bytes\": %llu}",
               r->split, v->images, v->logit_mismatches, v->label_mismatches, v->accuracy, v->host_accuracy,
               v->instructions, v->instructions_max, (unsigned long long)v->stack_bytes,
               (unsigned long long)v->model_ram_bytes, (unsigned long long)v->firmware_bss_bytes,
               (unsigned long long)v->firmware_data_bytes);
    }
    printf("}\n");
}

/* Builds for the target and verifies, as asked. */
static int build_and_verify(const args *a, const char *prefix, sparse_qnet *q, const model *m, report *r)
{
    sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
    tc.target = a->target;
    tc.work_dir = a->build_dir;
    int rc = sparse_exp_export_build(a->out, prefix, &tc, &r->obj);
    if (rc)
        return cli_lib_error(rc, "export: build");
    r->built = a->target != 0;
    if (a->verify < 0)
        return CLI_OK;
    if (a->target != SPARSE_EXP_TARGET_HOST && a->target != SPARSE_EXP_TARGET_CORTEX_M4)
        return cli_error("export: --verify runs on the host or on cortex-m4 (qemu mps2-an386), not %s",
                         target_names[a->target]);
    const sparse_dataset *images = m->test && sparse_dataset_count(m->test) ? m->test : m->val;
    r->split = images == m->test ? "test" : "validation";
    if (!images || !sparse_dataset_count(images))
        return cli_error("export: no test or validation images to verify on");
    cli_note("export: running %ld images on %s...", a->verify ? a->verify : (long)sparse_dataset_count(images),
             a->target == 0 ? "the host" : "qemu");
    if ((rc = sparse_exp_export_verify(q, a->out, prefix, &tc, images, (size_t)a->verify, &r->ver)))
        return cli_lib_error(rc, "export: verify");
    r->verified = 1;
    return CLI_OK;
}

int cli_cmd_export(int argc, char **argv)
{
    args a = {.prefix = "model", .trial = -1, .calib = 1000, .val = 5000, .threads = 1, .verify = -1};
    int status = parse_args(&a, argc, argv);
    if (status)
        return status < 0 ? CLI_OK : status;
    int rc = sparse_set_num_threads((int)a.threads);
    if (rc)
        return cli_lib_error(rc, "--threads");
    model m = {0};
    sparse_qnet *q = NULL;
    report r;
    memset(&r, 0, sizeof r);
    r.fig.version = SPARSE_EXPORT_FIGURES_VERSION;
    r.obj.version = SPARSE_EXP_BUILD_RESULT_VERSION;
    r.ver.version = SPARSE_EXP_VERIFY_RESULT_VERSION;
    status = a.trial >= 0 ? load_from_run(&a, &m) : load_from_files(&a, &m);
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
    qo.calib_images = m.calib;
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    eo.prefix = a.prefix;
    if (!status && (rc = sparse_qnet_create(&q, m.net, m.train, &qo)))
        status = cli_lib_error(rc, "export: int8 quantisation");
    if (!status && (rc = predicted(m.net, r.pred)))
        status = cli_lib_error(rc, "export: memory figures");
    if (!status && (rc = sparse_export_qnet(q, a.out, &eo, &r.fig)))
        status = cli_lib_error(rc, "export");
    if (!status)
        status = build_and_verify(&a, a.prefix, q, &m, &r);
    if (!status) {
        if (a.json)
            print_json(&a, a.prefix, &r);
        else
            print_text(&a, a.prefix, &r);
        if (r.verified && (r.ver.logit_mismatches || r.ver.label_mismatches))
            status = cli_error("export: the exported model differs from the library's int8 path on %zu images",
                               r.ver.logit_mismatches);
    }
    sparse_qnet_free(q);
    sparse_net_free(m.net);
    sparse_dataset_free(m.train);
    sparse_dataset_free(m.val);
    sparse_dataset_free(m.test);
    return status;
}
