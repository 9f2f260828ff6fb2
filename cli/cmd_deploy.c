/* `sparsenas export`: a trained network as freestanding int8 C (sparse/export.h),
 * optionally built for a Cortex-M and run under qemu against the library's
 * own int8 path (docs/deploy.md). */
#include <string.h>

#include "cli.h"
#include "sparse/experimental.h"

typedef struct args {
    const char *src, *out, *prefix, *weights, *build_dir;
    cli_data data;
    long trial, calib, threads, verify;
    int target, json, input_downsampling;
} args;

static const char *const target_names[] = {"host", "cortex-m0plus", "cortex-m4", "cortex-m7"};
static const cli_choice targets[] = {
    {"host", SPARSE_EXP_TARGET_HOST},
    {"cortex-m0plus", SPARSE_EXP_TARGET_CORTEX_M0PLUS},
    {"cortex-m4", SPARSE_EXP_TARGET_CORTEX_M4},
    {"cortex-m7", SPARSE_EXP_TARGET_CORTEX_M7},
    {NULL, 0},
};
static const cli_choice downsampling_modes[] = {{"network", SPARSE_INPUT_DOWNSAMPLING_NETWORK},
                                                {"acquisition", SPARSE_INPUT_DOWNSAMPLING_ACQUISITION},
                                                {NULL, 0}};

#define F(m) offsetof(args, m)
static const cli_opt deploy_opts[] = {
    {.type = CLI_LONG,
     .name = "trial",
     .arg = "ID",
     .field = F(trial),
     .min = 0,
     .max = 100000000,
     .expect = "be a trial id",
     .help = "the trial of RUN_DIR (see 'sparsenas inspect RUN_DIR')"},
    CLI_OPT_STRING("out", "DIR", F(out), "where PREFIX.h and PREFIX.c go (created if missing)"),
    CLI_OPT_STRING("prefix", "NAME", F(prefix),
                   "names in the generated code: a letter, then letters, digits, '_'\n"
                   "(default model; macros use it in upper case)"),
    CLI_OPT_CHOICE("target", "T", F(target), targets, "host",
                   "host (checked with cc), cortex-m0plus, cortex-m4 or cortex-m7\n"
                   "(built with arm-none-eabi-gcc -Os -mthumb)"),
    CLI_OPT_LONG("verify", "N", F(verify), 0, 2147483647L, NULL,
                 "run the model on N test images (0 = all) on the host, or for\n"
                 "cortex-m4 under qemu-system-arm -M mps2-an386, and compare every\n"
                 "logit with the library's int8 path; exit status 1 on a mismatch"),
    CLI_OPT_STRING("build-dir", "DIR", F(build_dir),
                   "keep the object, firmware and images there (default: removed)"),
    CLI_OPT_CHOICE("input-downsampling", "MODE", F(input_downsampling), downsampling_modes, NULL,
                   "network: the model takes the raw image; acquisition: it takes the\n"
                   "image after the network's input downsampling, as a sensor delivers\n"
                   "it (docs/memory.md). Default: the run's input_downsampling, else network"),
    CLI_OPT_LONG("threads", "T", F(threads), 1, 1024, "1", "compute threads for calibration"),
    CLI_OPT_FLAG("json", F(json), "print one JSON object"),
    CLI_SECTION_TEXT("Without a run directory (with one, --data moves the run's data):"),
    CLI_OPT_STRING("weights", "W", F(weights), "weights written by 'sparsenas train --save'"),
    CLI_DATA_OPTS(args, data),
    CLI_OPT_LONG("seed", "S", F(data.seed), 0, 2147483647L, "0",
                 "CSV split seed, as given to 'sparsenas train'"),
    CLI_OPT_LONG("calib", "N", F(calib), 0, 2147483647L, "1000",
                 "calibration images from the training split, 0 = all"),
    {0},
};
static const cli_spec deploy_spec = {
    .name = "export",
    .opts = deploy_opts,
    .args = {F(src)},
    .n_args = 1,
    .usage = "Usage: sparsenas export RUN_DIR --trial ID --out DIR [options]\n"
             "       sparsenas export [ARCH.yaml] --weights W.safetensors --data SPEC --out DIR [options]\n\n"
             "Writes the network as int8 C99 for a microcontroller: DIR/PREFIX.h (the API) and\n"
             "DIR/PREFIX.c (the library's int8 kernels, the weights as const arrays, one static arena).\n"
             "From a run directory, the trial's network is calibrated on the run's training split as\n"
             "the search did (1000 images) and verified on its test split. Prints the network's memory\n"
             "figures as predicted and as exported; with a Cortex-M target, the object's sections\n"
             "(docs/deploy.md).\n",
};

/* The network and its data splits, from a run or from files. */
typedef struct model {
    sparse_net *net;
    cli_splits d;
    size_t calib;
    int input_downsampling; /* -1 until known */
} model;

static int load_from_run(const args *a, model *m)
{
    sparse_run *run = NULL;
    int status = cli_open_run(&run, a->src, a->trial, "export");
    if (status)
        return status;
    int rc = sparse_run_trial_net(&m->net, NULL, run, (size_t)a->trial);
    if (!rc && m->input_downsampling < 0)
        rc = sparse_run_input_downsampling(run, &m->input_downsampling);
    if (!rc)
        rc = sparse_run_open_data(&m->d.train, &m->d.val, &m->d.test, run, a->data.spec);
    sparse_run_free(run);
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT; /* as the search calibrates */
    m->calib = qo.calib_images;
    return rc ? cli_lib_error(rc, "export") : CLI_OK;
}

static int load_from_files(const args *a, model *m)
{
    int status = cli_load_net(&m->net, a->src, a->weights, "--weights", 1, 64, 0);
    if (!status)
        status = cli_open_data(&a->data, m->net, &m->d);
    m->calib = (size_t)a->calib;
    return status;
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

static int predicted(sparse_net *net, int input_downsampling, uint64_t *v)
{
    sparse_memreport *r = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.input_downsampling = input_downsampling;
    size_t layer;
    int rc = sparse_memreport_from_net(&r, net, &mo);
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
    if (r->fig.input_node)
        printf("                the image after input downsampling (node %zu): downsampling is data "
               "acquisition\n",
               r->fig.input_node);
    printf("%-15s %12s %12s\n", "bytes", "predicted", "exported");
    for (int i = 0; i < 5; i++)
        printf("%-15s %12llu %12llu\n", rows[i], (unsigned long long)r->pred[i], (unsigned long long)exp[i]);
    printf("                (predicted: the search's figures, arena with im2col scratch; exported: int8\n"
           "                 non-zeros, the arena of the generated code, no scratch)\n");
    if (r->built)
        printf("%-15s .text %llu, .rodata %llu (weights %llu), .bss %llu, .data %llu\n",
               target_names[a->target], (unsigned long long)r->obj.text_bytes,
               (unsigned long long)r->obj.rodata_bytes, (unsigned long long)r->obj.rodata_weights_bytes,
               (unsigned long long)r->obj.bss_bytes, (unsigned long long)r->obj.data_bytes);
    if (!r->verified)
        return;
    const sparse_exp_verify_result *v = &r->ver;
    printf("verified        %zu %s images on %s: %zu logit mismatches, %zu label mismatches\n", v->images,
           r->split, a->target == 0 ? "the host" : "qemu mps2-an386 (Cortex-M4)", v->logit_mismatches,
           v->label_mismatches);
    printf("accuracy        %.2f%% (library int8 path: %.2f%%)\n", 100.0 * v->accuracy,
           100.0 * v->host_accuracy);
    if (a->target == 0)
        return;
    printf("instructions    %.0f per inference (max %.0f)\n", v->instructions, v->instructions_max);
    printf("model RAM       %llu B = .bss %llu + .data %llu + stack %llu (test firmware's own: .bss %llu, "
           ".data %llu)\n",
           (unsigned long long)v->model_ram_bytes, (unsigned long long)v->model.bss_bytes,
           (unsigned long long)v->model.data_bytes, (unsigned long long)v->stack_bytes,
           (unsigned long long)v->firmware_bss_bytes, (unsigned long long)v->firmware_data_bytes);
}

static int print_json(const args *a, const char *prefix, const report *r)
{
    sparse_json *j = cli_json_open("export");
    if (!j)
        return CLI_ERROR;
    sparse_json_key(j, "out");
    sparse_json_string(j, a->out);
    sparse_json_key(j, "prefix");
    sparse_json_string(j, prefix);
    sparse_json_key(j, "target");
    sparse_json_string(j, target_names[a->target]);
    sparse_json_key(j, "input");
    sparse_json_begin(j, 1);
    sparse_json_integer(j, (long long)r->fig.input_c);
    sparse_json_integer(j, (long long)r->fig.input_h);
    sparse_json_integer(j, (long long)r->fig.input_w);
    sparse_json_end(j);
    static const char *const top[] = {"input_scale", "input_zero_point", "classes", "input_node"};
    cli_json_members(j, top, (const double[]){r->fig.input_scale, r->fig.input_zero_point, (double)r->fig.classes,
                                               (double)r->fig.input_node}, 4);
    static const char *const sizes[] = {"ms_bytes", "wm5_bytes", "wm6_bytes", "flash_bytes", "arena_bytes",
                                        "arena_lower_bound_bytes"};
    sparse_json_key(j, "predicted");
    sparse_json_begin(j, 0);
    cli_json_members(j, sizes, (const double[]){(double)r->pred[0], (double)r->pred[1], (double)r->pred[2],
                                                (double)r->pred[3], (double)r->pred[4]}, 5);
    sparse_json_end(j);
    sparse_json_key(j, "exported");
    sparse_json_begin(j, 0);
    const sparse_export_figures *f = &r->fig;
    cli_json_members(j, sizes, (const double[]){(double)f->ms_bytes, (double)f->wm5_bytes, (double)f->wm6_bytes,
                                                (double)f->flash_bytes, (double)f->arena_bytes,
                                                (double)f->arena_lower_bound_bytes}, 6);
    sparse_json_end(j);
    const sparse_exp_build_result *o = &r->obj;
    static const char *const sections[] = {"text", "rodata", "rodata_weights", "bss", "data"};
    sparse_json_key(j, "object");
    if (r->built) {
        sparse_json_begin(j, 0);
        cli_json_members(j, sections, (const double[]){(double)o->text_bytes, (double)o->rodata_bytes,
                                                       (double)o->rodata_weights_bytes, (double)o->bss_bytes,
                                                       (double)o->data_bytes}, 5);
        sparse_json_end(j);
    } else {
        sparse_json_null(j);
    }
    sparse_json_key(j, "verify");
    if (r->verified) {
        const sparse_exp_verify_result *v = &r->ver;
        static const char *const keys[] = {"images", "logit_mismatches", "label_mismatches", "accuracy",
                                           "library_int8_accuracy", "instructions", "instructions_max",
                                           "stack_bytes", "model_ram_bytes", "firmware_bss_bytes",
                                           "firmware_data_bytes"};
        sparse_json_begin(j, 0);
        sparse_json_key(j, "split");
        sparse_json_string(j, r->split);
        cli_json_members(j, keys, (const double[]){(double)v->images, (double)v->logit_mismatches,
                                                   (double)v->label_mismatches, v->accuracy, v->host_accuracy,
                                                   v->instructions, v->instructions_max, (double)v->stack_bytes,
                                                   (double)v->model_ram_bytes, (double)v->firmware_bss_bytes,
                                                   (double)v->firmware_data_bytes}, 11);
        sparse_json_end(j);
    } else {
        sparse_json_null(j);
    }
    return cli_json_finish(j, "export");
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
    const sparse_dataset *images = m->d.test && sparse_dataset_image_count(m->d.test) ? m->d.test : m->d.val;
    r->split = images == m->d.test ? "test" : "validation";
    if (!images || !sparse_dataset_image_count(images))
        return cli_error("export: no test or validation images to verify on");
    cli_note("export: running %ld images on %s...",
             a->verify ? a->verify : (long)sparse_dataset_image_count(images),
             a->target == 0 ? "the host" : "qemu");
    if ((rc = sparse_exp_export_verify_from(q, a->out, prefix, &tc, images, (size_t)a->verify, r->fig.input_node,
                                            &r->ver)))
        return cli_lib_error(rc, "export: verify");
    r->verified = 1;
    return CLI_OK;
}

int cli_cmd_export(int argc, char **argv)
{
    args a = {.prefix = "model", .trial = -1, .verify = -1, .input_downsampling = -1};
    int rc = cli_parse(&deploy_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.out)
        return cli_usage("export", "missing --out DIR");
    if (a.trial >= 0 && !a.src)
        return cli_usage("export", "--trial needs a run directory");
    if (a.trial < 0 && (!a.weights || !a.data.spec))
        return cli_usage("export", "needs RUN_DIR --trial ID, or --weights W and --data SPEC");
    if ((rc = sparse_set_thread_count((int)a.threads)))
        return cli_lib_error(rc, "--threads");
    model m = {.input_downsampling = a.input_downsampling};
    sparse_qnet *q = NULL;
    report r;
    memset(&r, 0, sizeof r);
    r.fig.version = SPARSE_EXPORT_FIGURES_VERSION;
    r.obj.version = SPARSE_EXP_BUILD_RESULT_VERSION;
    r.ver.version = SPARSE_EXP_VERIFY_RESULT_VERSION;
    int status = a.trial >= 0 ? load_from_run(&a, &m) : load_from_files(&a, &m);
    if (m.input_downsampling < 0)
        m.input_downsampling = SPARSE_INPUT_DOWNSAMPLING_NETWORK;
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
    qo.calib_images = m.calib;
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    eo.prefix = a.prefix;
    eo.input_downsampling = m.input_downsampling;
    if (!status && (rc = sparse_qnet_create(&q, m.net, m.d.train, &qo)))
        status = cli_lib_error(rc, "export: int8 quantisation");
    if (!status && (rc = predicted(m.net, m.input_downsampling, r.pred)))
        status = cli_lib_error(rc, "export: memory figures");
    if (!status && (rc = sparse_export_qnet(q, a.out, &eo, &r.fig)))
        status = cli_lib_error(rc, "export");
    if (!status)
        status = build_and_verify(&a, a.prefix, q, &m, &r);
    if (!status) {
        if (a.json)
            status = print_json(&a, a.prefix, &r);
        else
            print_text(&a, a.prefix, &r);
        if (!status && r.verified && (r.ver.logit_mismatches || r.ver.label_mismatches))
            status =
                cli_error("export: the exported model differs from the library's int8 path on %zu images",
                          r.ver.logit_mismatches);
    }
    sparse_qnet_free(q);
    sparse_net_free(m.net);
    cli_splits_free(&m.d);
    return status;
}
