/* `sparse eval`: accuracy of trained weights in float and, with --int8, of
 * the int8 network run with integer arithmetic only (sparse/quant.h). */
#include <string.h>

#include "cli.h"

static void eval_help(FILE *f)
{
    fprintf(f,
            "Usage: sparse eval [ARCH.yaml] --weights W.safetensors --data mnist|DIR|FILE.csv [options]\n\n"
            "Without ARCH.yaml the architecture stored in W is used (e.g. a pruned, compacted network).\n"
            "Prints the test accuracy of the trained network in float and, with --int8, after int8\n"
            "post-training quantisation (per-channel symmetric weights, per-tensor asymmetric\n"
            "activations calibrated on training images, int32 biases, TFLite fixed-point\n"
            "requantisation, integer-only inference).\n\n"
            "Options:\n"
            "  --weights W           weights written by 'sparse train --save'\n"
            "  --data SPEC           mnist (cached), an MNIST directory or a CSV file (same split as\n"
            "                        'sparse train' with the same --seed)\n"
            "  --int8                also quantise and report the int8 accuracy\n"
            "  --calib N             calibration images from the training split (default 1000, 0 = all)\n"
            "  --val N               validation images held out of the training split (default 5000),\n"
            "                        as in 'sparse train'; lower it for small CSV data sets\n"
            "  --seed S              CSV split seed, as given to 'sparse train' (default 0)\n"
            "  --threads T           compute threads for the float network (default 1)\n"
            "  --json                print one JSON object\n");
    cli_common_help(f, 22);
}

int cli_cmd_eval(int argc, char **argv)
{
    const char *arch_path = NULL, *weights = NULL, *data = NULL;
    long calib = 1000, seed = 0, threads = 1, val_count = 5000;
    int json = 0, int8 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return eval_help(stdout), CLI_OK;
        else if (cli_common_option(a))
            continue;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--int8"))
            int8 = 1;
        else if (!strcmp(a, "--weights") || !strcmp(a, "--data") || !strcmp(a, "--calib") ||
                 !strcmp(a, "--seed") || !strcmp(a, "--threads") || !strcmp(a, "--val")) {
            if (!v)
                return cli_usage("eval ", "option %s needs a value", a);
            i++;
            if (!strcmp(a, "--weights"))
                weights = v;
            else if (!strcmp(a, "--data"))
                data = v;
            else if (!strcmp(a, "--calib")) {
                if (cli_parse_long(v, 0, 2147483647L, &calib))
                    return cli_usage("eval ", "--calib must be a non-negative integer, not '%s'", v);
            } else if (!strcmp(a, "--val")) {
                if (cli_parse_long(v, 1, 2147483647L, &val_count))
                    return cli_usage("eval ", "--val must be a positive integer, not '%s'", v);
            } else if (!strcmp(a, "--seed")) {
                if (cli_parse_long(v, 0, 2147483647L, &seed))
                    return cli_usage("eval ", "--seed must be a non-negative integer, not '%s'", v);
            } else if (cli_parse_long(v, 1, 1024, &threads))
                return cli_usage("eval ", "--threads must be an integer in 1..1024, not '%s'", v);
        } else if (a[0] == '-' && a[1])
            return cli_usage("eval ", "unknown option '%s'", a);
        else if (!arch_path)
            arch_path = a;
        else
            return cli_usage("eval ", "unexpected argument '%s'", a);
    }
    if (!weights)
        return cli_usage("eval ", "missing --weights W.safetensors");
    if (!data)
        return cli_usage("eval ", "missing --data mnist|DIR|FILE.csv");

    int rc = sparse_set_num_threads((int)threads);
    if (rc)
        return cli_lib_error(rc, "--threads");
    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    sparse_qnet *q = NULL;
    sparse_dataset *train = NULL, *val = NULL, *test = NULL;
    int status = CLI_OK;
    /* A pruned and compacted network has fewer channels than its YAML: its
     * weights file holds the architecture it really has. */
    rc = arch_path ? sparse_arch_load_yaml(&arch, arch_path) : sparse_net_load_arch(&arch, weights);
    if (!rc)
        rc = sparse_arch_validate(arch);
    if (rc) {
        status = cli_lib_error(rc, "architecture");
        goto out;
    }
    if ((rc = sparse_net_create(&net, arch, 64, 0))) {
        status = cli_lib_error(rc, "network");
        goto out;
    }
    if ((rc = sparse_net_load(net, weights, 1))) {
        status = cli_lib_error(rc, "--weights");
        goto out;
    }
    sparse_data_options dopts = SPARSE_DATA_OPTIONS_INIT;
    dopts.seed = (uint64_t)seed;
    dopts.val_count = (size_t)val_count;
    if ((rc = sparse_data_open(data, &dopts, &train, &val, &test))) {
        status = cli_lib_error(rc, "data");
        goto out;
    }
    const sparse_dataset *eval_set = test && sparse_dataset_count(test) ? test : val;
    const char *eval_name = eval_set == test ? "test" : "val";
    if (!eval_set || !sparse_dataset_count(eval_set)) {
        status = cli_error("data: %s has no test or validation images", data);
        goto out;
    }
    double facc = 0.0, qacc = 0.0;
    if ((rc = sparse_net_evaluate(net, eval_set, &facc))) {
        status = cli_lib_error(rc, "float evaluation");
        goto out;
    }
    if (int8) {
        sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
        qo.calib_images = (size_t)calib;
        if ((rc = sparse_qnet_create(&q, net, train, &qo))) {
            status = cli_lib_error(rc, "int8 quantisation");
            goto out;
        }
        if ((rc = sparse_qnet_evaluate(q, eval_set, &qacc))) {
            status = cli_lib_error(rc, "int8 evaluation");
            goto out;
        }
    }
    size_t n = sparse_dataset_count(eval_set);
    size_t ncal = calib == 0 || (size_t)calib > sparse_dataset_count(train) ? sparse_dataset_count(train)
                                                                           : (size_t)calib;
    if (json) {
        printf("{\"arch\": ");
        cli_json_string(stdout, arch_path ? arch_path : weights);
        printf(", \"weights\": ");
        cli_json_string(stdout, weights);
        printf(", \"split\": \"%s\", \"images\": %zu, \"float_accuracy\": %.6f", eval_name, n, facc);
        if (int8)
            printf(", \"int8_accuracy\": %.6f, \"int8_minus_float_points\": %.4f, \"calib_images\": %zu",
                   qacc, 100.0 * (qacc - facc), ncal);
        printf("}\n");
    } else {
        printf("architecture      %s\n", arch_path ? arch_path : weights);
        printf("weights           %s\n", weights);
        printf("float accuracy    %.2f%% (%s, %zu images)\n", 100.0 * facc, eval_name, n);
        if (int8)
            printf("int8 accuracy     %.2f%% (%+.2f points; integer-only, calibrated on %zu training "
                   "images)\n",
                   100.0 * qacc, 100.0 * (qacc - facc), ncal);
    }
out:
    sparse_qnet_free(q);
    sparse_net_free(net);
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    sparse_arch_free(arch);
    return status;
}
