/* `sparse train`: train an architecture on a data set and report accuracy. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "prune_opts.h"

static void train_help(FILE *f)
{
    fprintf(f,
            "Usage: sparse train ARCH.yaml --data mnist|DIR|FILE.csv [options]\n\n"
            "Trains the architecture (docs/network-format.md) and reports validation and test accuracy.\n\n"
            "Options:\n"
            "  --data SPEC           mnist (cached by 'sparse data fetch mnist'), an MNIST directory or a CSV file\n"
            "  --epochs N            epochs (default 10)\n"
            "  --batch B             mini-batch size (default 64)\n"
            "  --lr X                learning rate (default 1e-3 for adam, 0.05 for sgd)\n"
            "  --optimizer NAME      adam (default) or sgd (momentum 0.9)\n"
            "  --schedule NAME       constant, step, cosine (default) or one-cycle\n"
            "  --weight-decay X      L2 on conv/FC weights (default 0)\n"
            "  --label-smoothing X   in [0, 1) (default 0)\n"
            "  --shift S             move each training image by a random offset of up to S pixels\n"
            "                        in x and y, zero-filled (default 0: off)\n"
            "  --threads T           compute threads (default 1)\n"
            "  --seed S              seed for weights, shuffling and a CSV split (default 0)\n"
            "  --max-train N         use only the first N training images (default: all)\n"
            "  --val N               validation images held out of the training split (default 5000)\n"
            "  --init W.safetensors  start from these weights (e.g. a plain network before --prune; default: random)\n"
            "  --save W.safetensors  write the trained weights\n"
            "  --json                print one JSON object with the results as the last line\n");
    cli_common_help(f, 22);
    cli_prune_help(f);
}

static int on_progress(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    (void)user;
    if ((batch % 20 == 0 || batch + 1 == batches) && cli_progress())
        fprintf(stderr, "\repoch %zu  batch %zu/%zu  loss %.4f  %.0f images/s   ", epoch + 1, batch + 1, batches,
                loss, ips);
    return 0;
}

int cli_cmd_train(int argc, char **argv)
{
    const char *arch_path = NULL, *data = NULL, *save = NULL, *init = NULL;
    long epochs = 10, batch = 64, threads = 1, seed = 0, max_train = 0, val_count = -1, shift = 0;
    double lr = -1.0, wd = 0.0, smoothing = 0.0;
    int json = 0, optimizer = SPARSE_OPTIM_ADAM, schedule = SPARSE_LR_COSINE;
    cli_prune pr;
    cli_prune_init(&pr);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                   \
    do {                                                                                               \
        if (!v)                                                                                        \
            return cli_usage("train ", "option %s needs a value", a);                                  \
        i++;                                                                                           \
    } while (0)
        int pa = cli_prune_parse(&pr, argc, argv, &i);
        if (pa < 0)
            return CLI_USAGE;
        if (pa > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return train_help(stdout), CLI_OK;
        else if (cli_common_option(a))
            continue;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--data")) {
            NEED_VALUE();
            data = v;
        } else if (!strcmp(a, "--save")) {
            NEED_VALUE();
            save = v;
        } else if (!strcmp(a, "--init")) {
            NEED_VALUE();
            init = v;
        } else if (!strcmp(a, "--epochs")) {
            NEED_VALUE();
            if (cli_parse_long(v, 0, 100000, &epochs))
                return cli_usage("train ", "--epochs must be an integer in 0..100000, not '%s'", v);
        } else if (!strcmp(a, "--batch")) {
            NEED_VALUE();
            if (cli_parse_long(v, 1, 65536, &batch))
                return cli_usage("train ", "--batch must be an integer in 1..65536, not '%s'", v);
        } else if (!strcmp(a, "--threads")) {
            NEED_VALUE();
            if (cli_parse_long(v, 1, 1024, &threads))
                return cli_usage("train ", "--threads must be an integer in 1..1024, not '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            if (cli_parse_long(v, 0, 2147483647L, &seed))
                return cli_usage("train ", "--seed must be a non-negative integer, not '%s'", v);
        } else if (!strcmp(a, "--max-train")) {
            NEED_VALUE();
            if (cli_parse_long(v, 1, 2147483647L, &max_train))
                return cli_usage("train ", "--max-train must be a positive integer, not '%s'", v);
        } else if (!strcmp(a, "--val")) {
            NEED_VALUE();
            if (cli_parse_long(v, 0, 2147483647L, &val_count))
                return cli_usage("train ", "--val must be a non-negative integer, not '%s'", v);
        } else if (!strcmp(a, "--lr")) {
            NEED_VALUE();
            if (cli_parse_double(v, &lr) || lr <= 0)
                return cli_usage("train ", "--lr must be a positive number, not '%s'", v);
        } else if (!strcmp(a, "--weight-decay")) {
            NEED_VALUE();
            if (cli_parse_double(v, &wd) || wd < 0)
                return cli_usage("train ", "--weight-decay must be a number >= 0, not '%s'", v);
        } else if (!strcmp(a, "--label-smoothing")) {
            NEED_VALUE();
            if (cli_parse_double(v, &smoothing) || smoothing < 0 || smoothing >= 1)
                return cli_usage("train ", "--label-smoothing must be in [0, 1), not '%s'", v);
        } else if (!strcmp(a, "--shift")) {
            NEED_VALUE();
            if (cli_parse_long(v, 0, 64, &shift))
                return cli_usage("train ", "--shift must be an integer in [0, 64], not '%s'", v);
        } else if (!strcmp(a, "--optimizer")) {
            NEED_VALUE();
            if (!strcmp(v, "adam"))
                optimizer = SPARSE_OPTIM_ADAM;
            else if (!strcmp(v, "sgd"))
                optimizer = SPARSE_OPTIM_SGD;
            else
                return cli_usage("train ", "--optimizer must be adam or sgd, not '%s'", v);
        } else if (!strcmp(a, "--schedule")) {
            NEED_VALUE();
            if (!strcmp(v, "constant"))
                schedule = SPARSE_LR_CONSTANT;
            else if (!strcmp(v, "step"))
                schedule = SPARSE_LR_STEP;
            else if (!strcmp(v, "cosine"))
                schedule = SPARSE_LR_COSINE;
            else if (!strcmp(v, "one-cycle"))
                schedule = SPARSE_LR_ONE_CYCLE;
            else
                return cli_usage("train ", "--schedule must be constant, step, cosine or one-cycle, not '%s'", v);
        } else if (a[0] == '-' && a[1])
            return cli_usage("train ", "unknown option '%s'", a);
        else if (!arch_path)
            arch_path = a;
        else
            return cli_usage("train ", "unexpected argument '%s'", a);
#undef NEED_VALUE
    }
    if (!arch_path)
        return cli_usage("train ", "missing ARCH.yaml");
    if (!data)
        return cli_usage("train ", "missing --data mnist|DIR|FILE.csv");

    int rc = sparse_set_num_threads((int)threads);
    if (rc)
        return cli_lib_error(rc, "--threads");
    sparse_arch *arch = NULL;
    rc = sparse_arch_load_yaml(&arch, arch_path);
    if (rc)
        return cli_lib_error(rc, "architecture");
    rc = sparse_arch_validate(arch);
    if (rc) {
        sparse_arch_free(arch);
        return cli_lib_error(rc, "architecture");
    }
    sparse_data_options dopts = SPARSE_DATA_OPTIONS_INIT;
    dopts.max_train = (size_t)max_train;
    if (val_count >= 0)
        dopts.val_count = (size_t)val_count;
    dopts.seed = (uint64_t)seed;
    sparse_dataset *train = NULL, *val = NULL, *test = NULL;
    rc = sparse_data_open(data, &dopts, &train, &val, &test);
    if (rc) {
        sparse_arch_free(arch);
        return cli_lib_error(rc, "data");
    }
    sparse_net *net = NULL;
    rc = sparse_net_create(&net, arch, (size_t)batch, (uint64_t)seed);
    int status = CLI_OK;
    if (rc) {
        status = cli_lib_error(rc, "network");
        goto out;
    }
    if (init && (rc = sparse_net_load(net, init, 0))) {
        status = cli_lib_error(rc, "--init");
        goto out;
    }
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = (size_t)epochs;
    o.batch_size = (size_t)batch;
    o.optimizer = optimizer;
    o.lr = lr > 0 ? lr : (optimizer == SPARSE_OPTIM_SGD ? 0.05 : 1e-3);
    o.schedule = schedule;
    o.weight_decay = wd;
    o.label_smoothing = (float)smoothing;
    o.max_shift = (size_t)shift;
    o.seed = (uint64_t)seed;
    o.progress = on_progress;
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    if (epochs > 0) {
        if (pr.enabled) {
            if ((status = cli_prune_train(&pr, &net, train, &o, &res)) != CLI_OK)
                goto out;
            rc = SPARSE_OK;
        } else
            rc = sparse_net_train(net, train, &o, &res);
        if (cli_progress()) /* end the progress line */
            fputc('\n', stderr);
        if (rc) {
            status = cli_lib_error(rc, "training");
            goto out;
        }
    }
    double val_acc = -1.0, test_acc = -1.0;
    if (val && sparse_dataset_count(val) && (rc = sparse_net_evaluate(net, val, &val_acc))) {
        status = cli_lib_error(rc, "validation");
        goto out;
    }
    if (test && sparse_dataset_count(test) && (rc = sparse_net_evaluate(net, test, &test_acc))) {
        status = cli_lib_error(rc, "test");
        goto out;
    }
    if (save && (rc = sparse_net_save(net, save))) {
        status = cli_lib_error(rc, "--save");
        goto out;
    }
    if ((status = cli_prune_save(&pr)) != CLI_OK)
        goto out;
    if (!json) {
        printf("architecture      %s (%zu parameters)\n", arch_path, sparse_net_param_total(net));
        printf("epochs            %zu, final training loss %.4f\n", res.epochs_done, res.final_loss);
        printf("training speed    %.0f images/s (%ld thread%s)\n", res.train_images_per_s, threads,
               threads == 1 ? "" : "s");
        if (val_acc >= 0)
            printf("val accuracy      %.2f%%\n", 100.0 * val_acc);
        if (test_acc >= 0)
            printf("test accuracy     %.2f%%\n", 100.0 * test_acc);
        if (save)
            printf("weights           %s\n", save);
        cli_prune_print(&pr, stdout);
    } else {
        printf("{\"arch\": ");
        cli_json_string(stdout, arch_path);
        printf(", \"params\": %zu, \"epochs\": %zu, \"batch\": %ld, \"threads\": %ld, \"seed\": %ld, "
               "\"final_loss\": %.6g, \"train_images_per_s\": %.1f, \"train_seconds\": %.3f, "
               "\"val_accuracy\": %.6f, \"test_accuracy\": %.6f",
               sparse_net_param_total(net), res.epochs_done, batch, threads, seed, res.final_loss,
               res.train_images_per_s, res.seconds, val_acc < 0 ? 0.0 : val_acc, test_acc < 0 ? 0.0 : test_acc);
        cli_prune_json(&pr, stdout);
        printf("}\n");
    }
out:
    cli_prune_free(&pr);
    sparse_net_free(net);
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    sparse_arch_free(arch);
    return status;
}
