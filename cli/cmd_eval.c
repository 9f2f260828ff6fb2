/* `sparsenas eval`: accuracy of trained weights in float and, with --int8, of
 * the int8 network run with integer arithmetic only (sparse/quant.h). */
#include <string.h>

#include "cli.h"

typedef struct eval_args {
    const char *arch, *weights; /* arch: an architecture YAML, or a run directory with --trial */
    cli_data data;
    long trial, calib, threads;
    int int8, json;
} eval_args;

#define F(m) offsetof(eval_args, m)
static const cli_opt eval_opts[] = {
    CLI_OPT_STRING("weights", "W", F(weights), "weights written by 'sparsenas train --save'"),
    CLI_OPT_LONG("trial", "ID", F(trial), 0, 100000000L, NULL,
                 "with a run directory: its trial ID, on the run's own splits"),
    CLI_DATA_OPTS(eval_args, data),
    CLI_OPT_LONG("seed", "S", F(data.seed), 0, 2147483647L, "0",
                 "CSV split seed, as given to 'sparsenas train'"),
    CLI_OPT_FLAG("int8", F(int8), "also quantise and report the int8 accuracy"),
    CLI_OPT_LONG("calib", "N", F(calib), 0, 2147483647L, "1000",
                 "calibration images from the training split, 0 = all"),
    CLI_OPT_LONG("threads", "T", F(threads), 1, 1024, "1", "compute threads for the float network"),
    CLI_OPT_FLAG("json", F(json), "print one JSON object"),
    {0},
};
static const cli_spec eval_spec = {
    .name = "eval", .opts = eval_opts, .args = {F(arch)}, .n_args = 1,
    .usage =
        "Usage: sparsenas eval [ARCH.yaml] --weights W.safetensors --data mnist|DIR|FILE.csv [options]\n"
        "       sparsenas eval RUN_DIR --trial ID [--data SPEC] [options]\n\n"
        "Without ARCH.yaml the architecture stored in W is used (e.g. a pruned, compacted network).\n"
        "From a run directory, the trial's network is evaluated on the test split of the run's own\n"
        "split of its data (--data only says where that data is now).\n"
        "Prints the test accuracy of the trained network in float and, with --int8, after int8\n"
        "post-training quantisation (per-channel symmetric weights, per-tensor asymmetric\n"
        "activations calibrated on training images, int32 biases, TFLite fixed-point\n"
        "requantisation, integer-only inference).\n",
};

/* What eval measured. */
typedef struct eval_result {
    const char *split; /* "test", or "val" for data without a test split */
    size_t images, calib_images;
    double float_acc, int8_acc;
} eval_result;

/* Evaluates the float network on the test split (the validation split when
 * the data has no test images) and, with --int8, its quantised copy. */
static int eval_run(const eval_args *a, sparse_net *net, const cli_splits *d, eval_result *res)
{
    const sparse_dataset *set = d->test && sparse_dataset_image_count(d->test) ? d->test : d->val;
    if (!set || !sparse_dataset_image_count(set))
        return cli_error("data: %s has no test or validation images", a->data.spec ? a->data.spec : a->arch);
    res->split = set == d->test ? "test" : "val";
    res->images = sparse_dataset_image_count(set);
    int rc = sparse_net_evaluate(net, set, &res->float_acc);
    if (rc)
        return cli_lib_error(rc, "float evaluation");
    if (!a->int8)
        return CLI_OK;
    size_t train = sparse_dataset_image_count(d->train);
    res->calib_images = a->calib == 0 || (size_t)a->calib > train ? train : (size_t)a->calib;
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
    qo.calib_images = (size_t)a->calib;
    sparse_qnet *q = NULL;
    if ((rc = sparse_qnet_create(&q, net, d->train, &qo)))
        return cli_lib_error(rc, "int8 quantisation");
    rc = sparse_qnet_evaluate(q, set, &res->int8_acc);
    sparse_qnet_free(q);
    return rc ? cli_lib_error(rc, "int8 evaluation") : CLI_OK;
}

static int eval_print(const eval_args *a, const eval_result *r)
{
    const char *run = a->trial >= 0 ? a->arch : NULL;
    const char *arch = run ? NULL : a->arch ? a->arch : a->weights;
    if (a->json) {
        /* The accuracy keys of train and inspect: test_accuracy on the test split. */
        const int test = !strcmp(r->split, "test");
        sparse_json *j = cli_json_open("eval");
        if (!j)
            return CLI_ERROR;
        sparse_json_key(j, "run");
        sparse_json_string(j, run);
        sparse_json_key(j, "trial");
        cli_json_value(j, run ? (double)a->trial : -1);
        sparse_json_key(j, "arch");
        sparse_json_string(j, arch);
        sparse_json_key(j, "weights");
        sparse_json_string(j, a->weights);
        sparse_json_key(j, "split");
        sparse_json_string(j, r->split);
        sparse_json_key(j, "images");
        sparse_json_integer(j, (long long)r->images);
        sparse_json_key(j, test ? "test_accuracy" : "val_accuracy");
        sparse_json_number(j, r->float_acc);
        sparse_json_key(j, test ? "int8_test_accuracy" : "int8_val_accuracy");
        cli_json_value(j, a->int8 ? r->int8_acc : -1);
        sparse_json_key(j, "calib_images");
        cli_json_value(j, a->int8 ? (double)r->calib_images : -1);
        return cli_json_finish(j, "eval");
    }
    if (run) {
        printf("run               %s, trial %ld\n", run, a->trial);
    } else {
        printf("architecture      %s\n", arch);
        printf("weights           %s\n", a->weights);
    }
    printf("float accuracy    %.2f%% (%s, %zu images)\n", 100.0 * r->float_acc, r->split, r->images);
    if (a->int8)
        printf("int8 accuracy     %.2f%% (%+.2f points; integer-only, calibrated on %zu training images)\n",
               100.0 * r->int8_acc, 100.0 * (r->int8_acc - r->float_acc), r->calib_images);
    return CLI_OK;
}

/* The trial's network and the splits its search used. */
static int load_from_run(const eval_args *a, sparse_net **net, cli_splits *d)
{
    sparse_run *run = NULL;
    int status = cli_open_run(&run, a->arch, a->trial, "eval");
    if (status)
        return status;
    int rc = sparse_run_trial_net(net, NULL, run, (size_t)a->trial);
    if (!rc)
        rc = sparse_run_open_data(&d->train, &d->val, &d->test, run, a->data.spec);
    sparse_run_free(run);
    return rc ? cli_lib_error(rc, "eval") : CLI_OK;
}

int cli_cmd_eval(int argc, char **argv)
{
    eval_args a = {.trial = -1};
    int rc = cli_parse(&eval_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (a.trial >= 0 && (!a.arch || a.weights))
        return cli_usage("eval", "--trial takes a run directory and no --weights");
    if (a.trial < 0 && !a.weights)
        return cli_usage("eval", "missing --weights W.safetensors (or RUN_DIR --trial ID)");
    if (a.trial < 0 && !a.data.spec)
        return cli_usage("eval", "missing --data mnist|DIR|FILE.csv");
    if ((rc = sparse_set_thread_count((int)a.threads)))
        return cli_lib_error(rc, "--threads");
    sparse_net *net = NULL;
    cli_splits d = {0};
    eval_result r = {0};
    int status;
    if (a.trial >= 0) {
        status = load_from_run(&a, &net, &d);
    } else {
        status = cli_load_net(&net, a.arch, a.weights, "--weights", 1, 64, 0);
        if (!status)
            status = cli_open_data(&a.data, net, &d);
    }
    if (!status)
        status = eval_run(&a, net, &d, &r);
    if (!status)
        status = eval_print(&a, &r);
    cli_splits_free(&d);
    sparse_net_free(net);
    return status;
}
