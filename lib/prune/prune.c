/* Pruning options, the KL approximation in double precision, the KL term's
 * schedule and sum over a network, and the train -> prune -> fine-tune
 * orchestration. Uses only the public layers API and the experimental
 * variational nodes, which compute each node's KL term (and hold the log
 * alpha it is a function of). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "prune_internal.h"
#include "sparse/experimental.h"

SPARSE__STRUCT_VERSIONS(prune_options_versions, sparse_prune_options, SPARSE_PRUNE_OPTIONS_INIT,
                        SPARSE_PRUNE_OPTIONS_VERSION, offsetof(sparse_prune_options, finetune_lr_scale),
                        offsetof(sparse_prune_options, noise), sizeof(sparse_prune_options));

SPARSE_API int sparse_prune_options_init(sparse_prune_options *opts, unsigned version)
{
    return sparse__struct_init(&prune_options_versions, opts, version);
}

static int check_options(const sparse_prune_options *o)
{
    if (o->method < SPARSE_PRUNE_NONE || o->method > SPARSE_PRUNE_BC)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: unknown method %d", o->method);
    if (!isfinite(o->spvd_threshold) || !isfinite(o->bc_threshold))
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: threshold must be finite, not %g",
                             isfinite(o->spvd_threshold) ? o->bc_threshold : o->spvd_threshold);
    if (!isfinite(o->kl_weight) || o->kl_weight < 0.0)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: kl_weight must be finite and >= 0, not %g",
                             o->kl_weight);
    if (o->zero_epochs < 0)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: zero_epochs %d is negative", o->zero_epochs);
    if (o->anneal_epochs < 0)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: anneal_epochs %d is negative",
                             o->anneal_epochs);
    if (o->finetune_epochs < 0)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: finetune_epochs %d is negative",
                             o->finetune_epochs);
    if (!(o->finetune_lr_scale > 0.0 && o->finetune_lr_scale <= 1e3))
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: finetune_lr_scale must be in (0, 1000], not %g",
                             o->finetune_lr_scale);
    if (o->noise != SPARSE_PRUNE_NOISE_ACTIVATION && o->noise != SPARSE_PRUNE_NOISE_WEIGHT)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_options: unknown noise %d", o->noise);
    return SPARSE_OK;
}

/* *o = a caller's options of any version (NULL: the defaults), checked. */
static int read_options(sparse_prune_options *o, const sparse_prune_options *src, const char *fn)
{
    int rc = sparse__struct_read(&prune_options_versions, o, src, fn);
    return rc ? rc : check_options(o);
}

SPARSE_API int sparse_prune_options_check(const sparse_prune_options *opts)
{
    SPARSE__CHECK_NULL(opts);
    sparse_prune_options o;
    return read_options(&o, opts, "sparse_prune_options_check");
}

SPARSE_API double sparse_prune_kl_coef(const sparse_prune_options *opts, double epoch)
{
    sparse_prune_options o;
    if (!opts || sparse__struct_read(&prune_options_versions, &o, opts, "sparse_prune_kl_coef"))
        return NAN;
    double t = epoch - (double)o.zero_epochs;
    if (t < 0.0)
        return 0.0;
    if (o.anneal_epochs <= 0 || t >= (double)o.anneal_epochs)
        return o.kl_weight;
    return o.kl_weight * t / (double)o.anneal_epochs;
}

double sparse__prune_neg_kl(double la)
{
    return SPARSE_EXP_NEG_KL_K1 / (1.0 + exp(-(SPARSE_EXP_NEG_KL_K2 + SPARSE_EXP_NEG_KL_K3 * la))) -
           0.5 * log1p(exp(-la)) - SPARSE_EXP_NEG_KL_K1;
}

double sparse__prune_neg_kl_grad(double la)
{
    double s = 1.0 / (1.0 + exp(-(SPARSE_EXP_NEG_KL_K2 + SPARSE_EXP_NEG_KL_K3 * la)));
    return SPARSE_EXP_NEG_KL_K1 * SPARSE_EXP_NEG_KL_K3 * s * (1.0 - s) + 0.5 / (1.0 + exp(la));
}

double sparse__prune_weight_kl(double mu, double logvar)
{
    return -0.5 * logvar + 0.5 * (exp(logvar) + mu * mu) - 0.5;
}

SPARSE_API int sparse_prune_attach(sparse_net *net, const sparse_prune_options *opts)
{
    SPARSE__CHECK_NULL(net);
    sparse_prune_options o;
    int rc = read_options(&o, opts, "sparse_prune_attach");
    if (rc)
        return rc;
    double thr = o.method == SPARSE_PRUNE_BC ? o.bc_threshold : o.spvd_threshold;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        if (!sparse_layer_kind_has_weights(sparse_net_node_kind(net, i)))
            continue;
        if ((rc = sparse_exp_net_set_variational(net, i, o.method, thr, o.seed)))
            return rc;
    }
    rc = sparse_exp_net_set_noise_seed(net, o.seed);
    return rc ? rc : sparse_exp_net_set_noise_kind(net, o.noise);
}

SPARSE_API int sparse_prune_kl(sparse_net *net, double add_grad_scale, double *kl)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(kl);
    *kl = 0.0;
    if (!isfinite(add_grad_scale))
        return sparse__error(SPARSE_ERANGE, "sparse_prune_kl: gradient scale must be finite");
    double sum = 0.0;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        int mode = sparse_exp_net_variational_mode(net, i);
        if (mode == SPARSE_PRUNE_NONE)
            continue;
        double k = 0.0;
        int rc = sparse_exp_net_variational_kl(net, i, add_grad_scale, &k);
        if (rc)
            return rc;
        sum += k;
    }
    *kl = sum;
    return SPARSE_OK;
}

/* ---- Orchestration ---- */

typedef struct hook_state {
    sparse_prune_options o;
    double n_train;
    size_t batches; /* per epoch */
    size_t step;    /* training steps seen, for the KL schedule */
} hook_state;

static int kl_hook(void *user, sparse_net *net, double *extra)
{
    hook_state *hs = user;
    double epoch = (double)hs->step / (double)hs->batches;
    hs->step++;
    double beta = sparse_prune_kl_coef(&hs->o, epoch);
    *extra = 0.0;
    if (beta <= 0.0)
        return SPARSE_OK; /* the KL sum costs a pass over every weight */
    double scale = beta / hs->n_train, kl = 0.0;
    int rc = sparse_prune_kl(net, scale, &kl);
    *extra = scale * kl;
    return rc;
}

SPARSE_API int sparse_prune_run(sparse_prune_result **out, sparse_net *net, const sparse_dataset *train,
                                const sparse_train_options *topts, const sparse_prune_options *popts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(train);
    sparse_prune_options o;
    int rc = read_options(&o, popts, "sparse_prune_run");
    if (rc)
        return rc;
    sparse_train_options t;
    rc = sparse_exp_train_options_copy(&t, topts);
    if (rc)
        return sparse__error_prefix(rc, "sparse_prune_run");
    if (sparse_dataset_image_count(train) == 0)
        return sparse__error(SPARSE_EEMPTY, "sparse_prune_run: the training set is empty");
    rc = sparse_prune_attach(net, &o);
    if (rc)
        return rc;
    const size_t count = sparse_dataset_image_count(train), bs = t.batch_size ? t.batch_size : 1;
    hook_state hs = {o, (double)count, (count + bs - 1) / bs, 0};
    sparse_train_result r0 = SPARSE_TRAIN_RESULT_INIT, r1 = SPARSE_TRAIN_RESULT_INIT;
    if (o.method != SPARSE_PRUNE_NONE)
        sparse_exp_net_set_extra_loss(net, kl_hook, &hs);
    if (t.epochs > 0)
        rc = sparse_net_train(net, train, &t, &r0);
    sparse_exp_net_set_extra_loss(net, NULL, NULL);
    if (rc)
        return rc;
    sparse_prune_result *res = NULL;
    rc = sparse_prune_compact(&res, net, 0);
    if (rc)
        return rc;
    res->train[0] = r0;
    if (o.finetune_epochs > 0) {
        t.epochs = (size_t)o.finetune_epochs;
        t.lr *= o.finetune_lr_scale;
        rc = sparse_net_train(res->net, train, &t, &r1);
        if (rc) {
            sparse_prune_result_free(res);
            return rc;
        }
        res->train[1] = r1;
    }
    *out = res;
    return SPARSE_OK;
}

SPARSE_API int sparse_prune_load(sparse_net **out, const char *path, size_t max_batch,
                                 const sparse_prune_options *popts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    sparse_arch *arch = NULL;
    int rc = sparse_net_load_arch(&arch, path);
    if (rc)
        return rc;
    sparse_net *net = NULL;
    rc = sparse_net_create(&net, arch, max_batch, 0);
    sparse_arch_free(arch);
    if (!rc)
        rc = sparse_prune_attach(net, popts);
    if (!rc)
        rc = sparse_net_load(net, path, 0);
    if (rc) {
        sparse_net_free(net);
        return rc;
    }
    *out = net;
    return SPARSE_OK;
}
