/* `sparse train`: train an architecture on a data set and report accuracy. */
#include "cli.h"
#include "prune_opts.h"

typedef struct train_args {
    const char *arch, *init, *save;
    cli_data data; /* data.seed also seeds the weights and the shuffling */
    long epochs, batch, threads, shift;
    double lr, weight_decay, label_smoothing;
    int optimizer, schedule, json;
    cli_prune_args prune;
} train_args;

static const cli_choice optimizers[] = {{"adam", SPARSE_OPTIM_ADAM}, {"sgd", SPARSE_OPTIM_SGD}, {NULL, 0}};
static const cli_choice schedules[] = {{"constant", SPARSE_LR_CONSTANT},
                                       {"step", SPARSE_LR_STEP},
                                       {"cosine", SPARSE_LR_COSINE},
                                       {"one-cycle", SPARSE_LR_ONE_CYCLE},
                                       {NULL, 0}};

#define F(m) offsetof(train_args, m)
static const cli_opt train_opts[] = {
    CLI_DATA_OPTS(train_args, data),
    CLI_OPT_LONG("epochs", "N", F(epochs), 0, 100000, "10", "epochs"),
    CLI_OPT_LONG("batch", "B", F(batch), 1, 65536, "64", "mini-batch size"),
    CLI_OPT_NUMBER("lr", "X", F(lr), CLI_POSITIVE, NULL,
                   "learning rate (default 1e-3 for adam, 0.05 for sgd)"),
    CLI_OPT_CHOICE("optimizer", "NAME", F(optimizer), optimizers, "adam", "adam or sgd (momentum 0.9)"),
    CLI_OPT_CHOICE("schedule", "NAME", F(schedule), schedules, "cosine",
                   "constant, step, cosine or one-cycle"),
    CLI_OPT_NUMBER("weight-decay", "X", F(weight_decay), CLI_NON_NEGATIVE, "0", "L2 on conv/FC weights"),
    CLI_OPT_NUMBER("label-smoothing", "X", F(label_smoothing), CLI_FRACTION, "0", "in [0, 1)"),
    {.type = CLI_LONG, .name = "shift", .arg = "S", .field = F(shift), .min = 0, .max = 64, .def = "0",
     .expect = "be an integer in [0, 64]",
     .help = "move each training image by a random offset of up to S pixels\n"
             "in x and y, zero-filled (0: off)"},
    CLI_OPT_LONG("threads", "T", F(threads), 1, 1024, "1", "compute threads"),
    CLI_OPT_LONG("seed", "S", F(data.seed), 0, 2147483647L, "0",
                 "seed for weights, shuffling and a CSV split"),
    CLI_OPT_LONG("max-train", "N", F(data.max_train), 1, 2147483647L, NULL,
                 "use only the first N training images (default: all)"),
    CLI_OPT_STRING("init", "W.safetensors", F(init),
                   "start from these weights (e.g. a plain network before --prune;\ndefault: random)"),
    CLI_OPT_STRING("save", "W.safetensors", F(save), "write the trained weights"),
    CLI_OPT_FLAG("json", F(json), "print one JSON object with the results as the last line"),
    CLI_PRUNE_OPTS(train_args, prune),
    {0},
};
static const cli_spec train_spec = {
    .name = "train", .opts = train_opts, .args = {F(arch)}, .n_args = 1,
    .usage =
        "Usage: sparse train ARCH.yaml --data mnist|DIR|FILE.csv [options]\n\n"
        "Trains the architecture (docs/network-format.md) and reports validation and test accuracy.\n",
};

/* A training run: what it reads, what it leaves, what it measured. */
typedef struct train_run {
    sparse_net *net; /* after pruning, the compacted network */
    cli_splits data;
    cli_pruning prune;
    sparse_train_result res;
    double val_acc, test_acc; /* -1: no such split */
} train_run;

static int on_progress(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    (void)user;
    if ((batch % 20 == 0 || batch + 1 == batches) && cli_progress())
        fprintf(stderr, "\repoch %zu  batch %zu/%zu  loss %.4f  %.0f images/s   ", epoch + 1, batch + 1,
                batches, loss, ips);
    return 0;
}

static sparse_train_options train_options(const train_args *a)
{
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = (size_t)a->epochs;
    o.batch_size = (size_t)a->batch;
    o.optimizer = a->optimizer;
    o.lr = a->lr > 0 ? a->lr : (a->optimizer == SPARSE_OPTIM_SGD ? 0.05 : 1e-3);
    o.schedule = a->schedule;
    o.weight_decay = a->weight_decay;
    o.label_smoothing = (float)a->label_smoothing;
    o.max_shift = (size_t)a->shift;
    o.seed = (uint64_t)a->data.seed;
    o.progress = on_progress;
    return o;
}

/* Loads, trains (with pruning when --prune was given), measures the
 * accuracies and writes what --save and the pruning options ask for. */
static int train_run_all(const train_args *a, train_run *t)
{
    int rc = sparse_set_thread_count((int)a->threads);
    if (rc)
        return cli_lib_error(rc, "--threads");
    const uint64_t seed = (uint64_t)a->data.seed;
    int status = cli_load_net(&t->net, a->arch, a->init, "--init", 0, (size_t)a->batch, seed);
    if (!status)
        status = cli_open_data(&a->data, &t->data);
    if (status)
        return status;
    if (a->epochs > 0) {
        const sparse_train_options o = train_options(a);
        if (a->prune.method >= 0)
            status = cli_prune_train(&t->prune, &a->prune, &t->net, t->data.train, t->data.val, &o, &t->res);
        else if ((rc = sparse_net_train(t->net, t->data.train, &o, &t->res)))
            status = cli_lib_error(rc, "training");
        if (cli_progress()) /* end the progress line */
            fputc('\n', stderr);
        if (status)
            return status;
    }
    t->val_acc = t->test_acc = -1.0;
    const sparse_dataset *val = t->data.val, *test = t->data.test;
    if (val && sparse_dataset_image_count(val) && (rc = sparse_net_evaluate(t->net, val, &t->val_acc)))
        return cli_lib_error(rc, "validation");
    if (test && sparse_dataset_image_count(test) && (rc = sparse_net_evaluate(t->net, test, &t->test_acc)))
        return cli_lib_error(rc, "test");
    if (a->save && (rc = sparse_net_save(t->net, a->save)))
        return cli_lib_error(rc, "--save");
    return cli_prune_save(&t->prune, &a->prune);
}

static void train_print_text(const train_args *a, const train_run *t)
{
    printf("architecture      %s (%zu parameters)\n", a->arch, sparse_net_weight_count(t->net));
    printf("epochs            %zu, final training loss %.4f\n", t->res.epochs_done, t->res.final_loss);
    printf("training speed    %.0f images/s (%ld thread%s)\n", t->res.train_images_per_s, a->threads,
           a->threads == 1 ? "" : "s");
    if (t->val_acc >= 0)
        printf("val accuracy      %.2f%%\n", 100.0 * t->val_acc);
    if (t->test_acc >= 0)
        printf("test accuracy     %.2f%%\n", 100.0 * t->test_acc);
    if (a->save)
        printf("weights           %s\n", a->save);
    cli_prune_print(&t->prune, stdout);
}

static void train_print_json(const train_args *a, const train_run *t)
{
    printf("{\"arch\": ");
    cli_json_string(stdout, a->arch);
    printf(", \"params\": %zu, \"epochs\": %zu, \"batch\": %ld, \"threads\": %ld, \"seed\": %ld, "
           "\"final_loss\": %.6g, \"train_images_per_s\": %.1f, \"train_seconds\": %.3f, "
           "\"val_accuracy\": %.6f, \"test_accuracy\": %.6f",
           sparse_net_weight_count(t->net), t->res.epochs_done, a->batch, a->threads, a->data.seed,
           t->res.final_loss, t->res.train_images_per_s, t->res.seconds, t->val_acc < 0 ? 0.0 : t->val_acc,
           t->test_acc < 0 ? 0.0 : t->test_acc);
    cli_prune_json(&t->prune, &a->prune, stdout);
    printf("}\n");
}

int cli_cmd_train(int argc, char **argv)
{
    train_args a = {.prune = CLI_PRUNE_ARGS_INIT};
    int rc = cli_parse(&train_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.arch)
        return cli_usage("train", "missing ARCH.yaml");
    if (!a.data.spec)
        return cli_usage("train", "missing --data mnist|DIR|FILE.csv");
    train_run t = {.res = SPARSE_TRAIN_RESULT_INIT};
    int status = train_run_all(&a, &t);
    if (!status && a.json)
        train_print_json(&a, &t);
    else if (!status)
        train_print_text(&a, &t);
    cli_pruning_free(&t.prune);
    sparse_net_free(t.net);
    cli_splits_free(&t.data);
    return status;
}
