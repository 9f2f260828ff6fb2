/* Pruning curves: trains an architecture in a variational mode and prints,
 * after every epoch, one JSON line with the test/validation accuracy of the
 * pruned network (evaluation mode) and its non-zero weights; then compacts
 * at each threshold of --sweep, optionally fine-tunes, and prints the
 * compacted architectures. --init-weights starts from a plain network
 * trained by `sparsenas train --save` (pre-training, then sparsifying);
 * --posterior-lr-scale lets the posterior log-variances move faster.
 * Long runs (LeNet-5 SpVD) are meant to go to a log in the background:
 *   prune_curve ARCH.yaml --data mnist --method spvd --epochs 30 ...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sparse/experimental.h"
#include "sparse/sparse.h"

typedef struct state {
    sparse_prune_options o;
    size_t batches, step;
    double n_train;
    sparse_net *net;
    sparse_dataset *val, *test;
    double t0;
    size_t epochs;
} state;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int kl_hook(void *user, sparse_net *net, double *extra)
{
    state *s = user;
    double beta = sparse_prune_kl_coef(&s->o, (double)s->step / (double)s->batches);
    s->step++;
    *extra = 0;
    if (beta <= 0)
        return 0;
    double kl = 0, sc = beta / s->n_train;
    int rc = sparse_prune_kl(net, sc, &kl);
    *extra = sc * kl;
    return rc;
}

static size_t nonzero_now(sparse_net *net, size_t *channels, size_t cap, size_t *nl)
{
    sparse_prune_result *r = NULL;
    if (sparse_prune_compact(&r, net, 0))
        return 0;
    size_t nz = sparse_prune_result_nonzero_count(r);
    *nl = 0;
    for (size_t i = 0; i < sparse_prune_result_layer_count(r) && i < cap; i++) {
        sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
        sparse_prune_result_layer(r, i, &L);
        channels[(*nl)++] = L.channels_kept;
    }
    sparse_prune_result_free(r);
    return nz;
}

static int on_progress(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    state *s = user;
    if (batch + 1 != batches)
        return 0;
    double va = 0, ta = 0;
    sparse_net_evaluate(s->net, s->val, &va);
    sparse_net_evaluate(s->net, s->test, &ta);
    size_t ch[16], nl = 0;
    size_t nz = nonzero_now(s->net, ch, 16, &nl);
    printf("{\"epoch\": %zu, \"beta\": %.4f, \"loss\": %.4f, \"val_accuracy\": %.4f, \"test_accuracy\": %.4f, "
           "\"nonzero_weights\": %zu, \"channels\": [",
           epoch + 1, sparse_prune_kl_coef(&s->o, (double)(epoch + 1)), loss, va, ta, nz);
    for (size_t i = 0; i < nl; i++)
        printf("%s%zu", i ? ", " : "", ch[i]);
    printf("], \"images_per_s\": %.0f, \"elapsed_s\": %.1f}\n", ips, now() - s->t0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: prune_curve ARCH.yaml [--data mnist] [--method spvd|bc] [--epochs N] "
                        "[--anneal N] [--zero N] [--kl-weight A] [--lr X] [--schedule constant|cosine] "
                        "[--threshold T] [--sweep T1,T2,..] [--finetune N] [--threads T] [--seed S] "
                        "[--max-train N] [--save-posterior F] [--load-posterior F] [--init-weights F] [--posterior-lr-scale X]\n");
        return 2;
    }
    const char *arch_path = argv[1], *data = "mnist", *sweep = NULL, *save = NULL, *load = NULL, *init = NULL;
    state s;
    memset(&s, 0, sizeof s);
    sparse_prune_options_init(&s.o, SPARSE_PRUNE_OPTIONS_VERSION);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.batch_size = 100;
    long threads = 1, finetune = 0, max_train = 0;
    double posterior_lr_scale = 1.0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--data"))
            data = v;
        else if (!strcmp(a, "--method"))
            s.o.method = !strcmp(v, "bc") ? SPARSE_PRUNE_BC : SPARSE_PRUNE_SPVD;
        else if (!strcmp(a, "--epochs"))
            t.epochs = (size_t)atol(v);
        else if (!strcmp(a, "--anneal"))
            s.o.anneal_epochs = atoi(v);
        else if (!strcmp(a, "--zero"))
            s.o.zero_epochs = atoi(v);
        else if (!strcmp(a, "--kl-weight"))
            s.o.kl_weight = atof(v);
        else if (!strcmp(a, "--lr"))
            t.lr = atof(v);
        else if (!strcmp(a, "--schedule"))
            t.schedule = !strcmp(v, "constant") ? SPARSE_LR_CONSTANT : SPARSE_LR_COSINE;
        else if (!strcmp(a, "--threshold"))
            s.o.spvd_threshold = s.o.bc_threshold = atof(v);
        else if (!strcmp(a, "--sweep"))
            sweep = v;
        else if (!strcmp(a, "--finetune"))
            finetune = atol(v);
        else if (!strcmp(a, "--threads"))
            threads = atol(v);
        else if (!strcmp(a, "--seed"))
            s.o.seed = t.seed = (uint64_t)atol(v);
        else if (!strcmp(a, "--max-train"))
            max_train = atol(v);
        else if (!strcmp(a, "--save-posterior"))
            save = v;
        else if (!strcmp(a, "--load-posterior"))
            load = v;
        else if (!strcmp(a, "--init-weights"))
            init = v;
        else if (!strcmp(a, "--posterior-lr-scale"))
            posterior_lr_scale = atof(v);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    sparse_set_thread_count((int)threads);
    sparse_arch *arch = NULL;
    sparse_dataset *train = NULL;
    sparse_data_options d = SPARSE_DATA_OPTIONS_INIT;
    d.max_train = (size_t)max_train;
    int rc = sparse_arch_load_yaml(&arch, arch_path);
    if (!rc)
        rc = sparse_data_open(&train, &s.val, &s.test, data, &d);
    if (!rc && load)
        rc = sparse_prune_load(&s.net, load, t.batch_size, &s.o);
    else if (!rc)
        rc = sparse_net_create(&s.net, arch, t.batch_size, t.seed);
    /* pre-trained plain weights: sparsify a trained network */
    if (!rc && !load && init)
        rc = sparse_net_load(s.net, init, 0);
    if (!rc)
        rc = sparse_prune_attach(s.net, &s.o);
    /* log_sigma2 (SpVD) or z_logvar (BC) may move faster than the weights */
    for (size_t i = 0; !rc && posterior_lr_scale != 1.0 && i < sparse_net_node_count(s.net); i++)
        if (sparse_exp_net_variational_mode(s.net, i) != SPARSE_PRUNE_NONE)
            rc = sparse_exp_net_set_lr_scale(s.net, i, s.o.method == SPARSE_PRUNE_BC ? "z_logvar" : "log_sigma2",
                                             posterior_lr_scale);
    if (rc) {
        fprintf(stderr, "error: %s\n", sparse_last_error());
        return 1;
    }
    s.batches = (sparse_dataset_image_count(train) + t.batch_size - 1) / t.batch_size;
    s.n_train = (double)sparse_dataset_image_count(train);
    s.t0 = now();
    sparse_exp_net_set_extra_loss(s.net, kl_hook, &s);
    t.progress = on_progress;
    t.user = &s;
    rc = t.epochs ? sparse_net_train(s.net, train, &t, NULL) : SPARSE_OK;
    sparse_exp_net_set_extra_loss(s.net, NULL, NULL);
    if (rc) {
        fprintf(stderr, "error: %s\n", sparse_last_error());
        return 1;
    }
    if (save && sparse_net_save(s.net, save))
        fprintf(stderr, "error: %s\n", sparse_last_error());
    /* threshold sweep on the trained posterior */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", sweep ? sweep : "");
    for (char *tok = strtok(buf, ","); tok || !sweep; tok = strtok(NULL, ",")) {
        double thr = tok ? atof(tok) : (s.o.method == SPARSE_PRUNE_BC ? s.o.bc_threshold : s.o.spvd_threshold);
        sparse_prune_options o = s.o;
        o.spvd_threshold = o.bc_threshold = thr;
        for (size_t i = 0; i < sparse_net_node_count(s.net); i++)
            if (sparse_exp_net_variational_mode(s.net, i) != SPARSE_PRUNE_NONE)
                sparse_exp_net_set_variational(s.net, i, sparse_exp_net_variational_mode(s.net, i), thr, 0);
        sparse_prune_result *r = NULL;
        if ((rc = sparse_prune_compact(&r, s.net, 0))) {
            printf("{\"threshold\": %g, \"error\": \"%s\"}\n", thr, sparse_last_error());
        } else {
            sparse_net *c = sparse_prune_result_net(r);
            double va = 0, ta = 0, fva = 0, fta = 0;
            sparse_net_evaluate(c, s.val, &va);
            sparse_net_evaluate(c, s.test, &ta);
            size_t nz = sparse_prune_result_nonzero_count(r);
            if (finetune > 0) {
                sparse_train_options f = t;
                f.epochs = (size_t)finetune;
                f.progress = NULL;
                f.lr = t.lr * 0.3;
                sparse_net_train(c, train, &f, NULL);
                sparse_net_evaluate(c, s.val, &fva);
                sparse_net_evaluate(c, s.test, &fta);
            }
            char *j = NULL;
            sparse_arch_to_json(&j, sparse_prune_result_arch(r));
            printf("{\"threshold\": %g, \"val_accuracy\": %.4f, \"test_accuracy\": %.4f, "
                   "\"nonzero_weights\": %zu, "
                   "\"total_weights\": %zu, \"finetuned_val_accuracy\": %.4f, \"finetuned_test_accuracy\": "
                   "%.4f, "
                   "\"finetuned_nonzero\": %zu, \"layers\": [",
                   thr, va, ta, nz, sparse_prune_result_weight_count(r), fva, fta,
                   sparse_net_nonzero_count(c));
            for (size_t i = 0; i < sparse_prune_result_layer_count(r); i++) {
                sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
                sparse_prune_result_layer(r, i, &L);
                printf("%s{\"name\": \"%s\", \"channels\": \"%zu/%zu\", \"weights\": \"%zu/%zu\"}", i ? ", " : "",
                       L.name, L.channels_kept, L.channels_total, L.weights_kept, L.weights_total);
            }
            printf("], \"compacted_arch\": %s}\n", j ? j : "null");
            free(j);
            sparse_prune_result_free(r);
        }
        fflush(stdout);
        if (!sweep)
            break;
    }
    sparse_net_free(s.net);
    sparse_dataset_free(train);
    sparse_dataset_free(s.val);
    sparse_dataset_free(s.test);
    sparse_arch_free(arch);
    return 0;
}
