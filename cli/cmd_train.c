/* `sparsenas train`: train an architecture on a data set and report accuracy. */
#include <math.h>

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
        "Usage: sparsenas train ARCH.yaml --data mnist|DIR|FILE.csv [options]\n\n"
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

/* What the progress line needs to say how far training is. */
typedef struct progress {
    size_t epochs, batch_size;
} progress;

/* "epoch 3 of 10  batch 20/860  loss 0.1234  5120 images/s  ~1m 32s left",
 * on a terminal only; the time left is the batches left at the current
 * speed. The epoch can pass N when pruning trains on (its epochs are its
 * own), and the time left is then not said. */
static int on_progress(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    const progress *p = user;
    if (!((batch % 20 == 0 || batch + 1 == batches) && cli_progress()))
        return 0;
    fprintf(stderr, "\r\033[Kepoch %zu of %zu  batch %zu/%zu  loss %.4f  %.0f images/s", epoch + 1, p->epochs,
            batch + 1, batches, loss, ips);
    if (epoch < p->epochs && ips > 0) {
        double left = ((double)(p->epochs - epoch - 1) * (double)batches + (double)(batches - batch - 1)) *
                      (double)p->batch_size / ips;
        if (left >= 60)
            fprintf(stderr, "  ~%.0fm %02.0fs left", floor(left / 60), fmod(left, 60));
        else
            fprintf(stderr, "  ~%.0fs left", left);
    }
    return 0;
}

static sparse_train_options train_options(const train_args *a, progress *p)
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
    p->epochs = o.epochs;
    p->batch_size = o.batch_size;
    o.user = p;
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
        status = cli_open_data(&a->data, NULL, &t->data);
    if (status)
        return status;
    if (a->epochs > 0) {
        progress p;
        const sparse_train_options o = train_options(a, &p);
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
    float in_mean, in_std; /* saved with the weights, for eval and export */
    if ((rc = sparse_dataset_normalization(t->data.train, &in_mean, &in_std)) ||
        (rc = sparse_net_set_input_normalization(t->net, in_mean, in_std)))
        return cli_lib_error(rc, "normalisation");
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

static int train_print_json(const train_args *a, const train_run *t)
{
    const double epochs_run = a->epochs > 0 ? 1 : -1; /* training figures only when it trained */
    sparse_json *j = cli_json_open("train");
    if (!j)
        return CLI_ERROR;
    sparse_json_key(j, "arch");
    sparse_json_string(j, a->arch);
    sparse_json_key(j, "weights");
    sparse_json_string(j, a->save);
    const char *keys[] = {"params", "epochs", "batch", "threads", "seed", "final_loss", "train_images_per_s",
                          "train_seconds", "val_accuracy", "test_accuracy"};
    const double v[] = {(double)sparse_net_weight_count(t->net), (double)t->res.epochs_done, (double)a->batch,
                        (double)a->threads, (double)a->data.seed, epochs_run * t->res.final_loss,
                        epochs_run * t->res.train_images_per_s, epochs_run * t->res.seconds, t->val_acc,
                        t->test_acc};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        sparse_json_key(j, keys[k]);
        cli_json_value(j, v[k]);
    }
    cli_prune_json(&t->prune, &a->prune, j);
    return cli_json_finish(j, "train");
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
        status = train_print_json(&a, &t);
    else if (!status)
        train_print_text(&a, &t);
    cli_pruning_free(&t.prune);
    sparse_net_free(t.net);
    cli_splits_free(&t.data);
    return status;
}
