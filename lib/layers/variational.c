/* Variational nodes (experimental.h): Sparse Variational Dropout and
 * Bayesian Compression on conv, depthwise and FC nodes. This file puts a
 * node in a mode (its posterior parameters and their initialisation) and
 * gives its evaluation weights; variational_pass.c runs its passes and
 * variational_kl.c its KL term.
 *
 * Bias terms stay deterministic (no variance): the bias holds a negligible
 * share of the weights and keeping it exact keeps compaction simple. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "variational.h"

void sparse__var_free(struct sparse__var *v)
{
    if (!v)
        return;
    float *bufs[] = {v->s2, v->wm, v->bm, v->x2, v->dx2, v->sd, v->eps, v->ew,
                     v->u,  v->du,  v->dz, v->ez, v->zs, v->xz, v->dxz};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    sparse_rng_free(v->step_rng);
    free(v);
}

#define fl sparse__alloc_floats

/* Evaluation weights into v->wm / v->bm (bias NULL if none). */
void sparse__var_effective(sparse__node *nd, struct sparse__var *v)
{
    const sparse__param *W = &nd->params[0];
    const sparse__param *B = nd->bias ? &nd->params[1] : NULL;
    const float thr = (float)v->thr;
    if (B)
        memcpy(v->bm, B->w, B->n * sizeof(float));
    if (v->mode == SPARSE_PRUNE_SPVD) {
        const sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
        for (size_t j = 0; j < W->n; j++) {
            const float la = sparse__log_alpha(ls2->w[j], W->w[j]);
            v->wm[j] = la < thr ? W->w[j] : 0.0f;
        }
        return;
    }
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t rows = W->shape[0], cols = W->n / rows;
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++) {
            /* conv groups are rows (output channels), FC groups columns (inputs) */
            const size_t g = nd->kind == SPARSE_LAYER_FC ? k : r;
            const float z = sparse__log_alpha(zlv->w[g], zmu->w[g]) < thr ? zmu->w[g] : 0.0f;
            v->wm[r * cols + k] = W->w[r * cols + k] * z;
        }
    if (B && nd->kind != SPARSE_LAYER_FC)
        for (size_t c = 0; c < B->n; c++)
            v->bm[c] = sparse__log_alpha(zlv->w[c], zmu->w[c]) < thr ? B->w[c] * zmu->w[c] : 0.0f;
}

/* ---- Setting the mode ---- */

static void drop_posterior(sparse__node *nd)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n_params; i++) {
        sparse__param *p = &nd->params[i];
        if (p->posterior) {
            sparse__param_free(p);
        } else {
            nd->params[k++] = *p;
        }
    }
    nd->n_params = k;
}

static void clear_var(sparse__node *nd)
{
    if (!nd->var)
        return;
    drop_posterior(nd);
    if (nd->hook_user == nd->var) {
        nd->hook_fwd = nd->hook_bwd = NULL;
        nd->hook_user = NULL;
    }
    sparse__var_free(nd->var);
    nd->var = NULL;
}

static int add_posterior(sparse__node *nd, const char *name, int ndim, const size_t *shape)
{
    sparse__param *ps = sparse__realloc(nd->params, (nd->n_params + 1) * sizeof *ps);
    if (!ps)
        return SPARSE_ENOMEM;
    nd->params = ps;
    sparse__param *p = &ps[nd->n_params];
    memset(p, 0, sizeof *p);
    p->ndim = ndim;
    p->n = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= shape[i];
    }
    p->trainable = 1;
    p->posterior = 1;
    p->name = sparse__strdup(name);
    nd->n_params++; /* from here drop_posterior frees whatever was made */
    if (!p->name)
        return SPARSE_ENOMEM;
    int rc = sparse_tensor_create(&p->value, ndim, shape);
    if (!rc)
        rc = sparse_tensor_create(&p->grad, ndim, shape);
    if (rc)
        return rc;
    p->w = sparse_tensor_data(p->value);
    p->g = sparse_tensor_data(p->grad);
    p->m = fl(p->n);
    p->v = fl(p->n);
    return p->m && p->v ? SPARSE_OK : SPARSE_ENOMEM;
}

static int make_var(sparse_net *net, sparse__node *nd, int mode, struct sparse__var **out)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t mb = net->max_batch, nw = nd->params[0].n;
    struct sparse__var *v = sparse__calloc(1, sizeof *v);
    if (!v)
        return SPARSE_ENOMEM;
    v->mode = mode;
    int ok = (v->s2 = fl(nw)) && (v->wm = fl(nw)) && (v->bm = fl(nd->c)) &&
             (v->x2 = fl(mb * in->sz)) && (v->dx2 = fl(mb * in->sz)) && (v->sd = fl(mb * nd->sz)) &&
             (v->eps = fl(mb * nd->sz)) && (v->ew = fl(nw)) && sparse_rng_create(&v->step_rng, 0) == SPARSE_OK;
    if (ok && mode == SPARSE_PRUNE_BC) {
        if (nd->kind == SPARSE_LAYER_FC)
            ok = (v->ez = fl(mb * in->sz)) && (v->zs = fl(mb * in->sz)) && (v->xz = fl(mb * in->sz)) &&
                 (v->dxz = fl(mb * in->sz));
        else
            ok = (v->ez = fl(mb * nd->c)) && (v->zs = fl(mb * nd->c)) && (v->u = fl(mb * nd->sz)) &&
                 (v->du = fl(mb * nd->sz)) && (v->dz = fl(mb));
    }
    if (!ok) {
        sparse__var_free(v);
        return SPARSE_ENOMEM;
    }
    *out = v;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_variational(sparse_net *net, size_t id, int mode, double threshold, uint64_t seed)
{
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_variational: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (mode < SPARSE_PRUNE_NONE || mode > SPARSE_PRUNE_BC)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_set_variational: unknown mode %d", mode);
    if (!isfinite(threshold))
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_variational: threshold must be finite");
    if (mode == SPARSE_PRUNE_NONE) {
        clear_var(nd);
        return SPARSE_OK;
    }
    if (!sparse_layer_kind_has_weights(nd->kind))
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_set_variational: node '%s' is a %s, only conv, "
                                            "depthwise and FC nodes have weights to prune",
                             nd->name, sparse_layer_kind_name(nd->kind));
    if (nd->var && nd->var->mode == mode) {
        nd->var->thr = threshold;
        return SPARSE_OK;
    }
    clear_var(nd);
    struct sparse__var *v = NULL;
    int rc = make_var(net, nd, mode, &v);
    if (rc)
        return rc;
    v->thr = threshold;
    sparse_rng *rng = NULL;
    rc = sparse_rng_create_stream(&rng, seed, 0x7a41u + id);
    const sparse__param W0 = nd->params[0];
    if (!rc)
        rc = add_posterior(nd, "log_sigma2", W0.ndim, W0.shape);
    if (!rc && mode == SPARSE_PRUNE_BC) {
        size_t g = nd->kind == SPARSE_LAYER_FC ? net->nodes[nd->in[0]].sz : nd->c;
        rc = add_posterior(nd, "z_mu", 1, &g);
        if (!rc)
            rc = add_posterior(nd, "z_logvar", 1, &g);
    }
    if (rc) {
        sparse_rng_free(rng);
        drop_posterior(nd);
        sparse__var_free(v);
        return rc;
    }
    sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    for (size_t j = 0; j < ls2->n; j++)
        ls2->w[j] = mode == SPARSE_PRUNE_SPVD ? -10.0f : (float)(-9.0 + 0.01 * sparse_rng_normal(rng));
    if (mode == SPARSE_PRUNE_BC) {
        sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
        for (size_t j = 0; j < zmu->n; j++)
            zmu->w[j] = (float)(1.0 + 0.01 * sparse_rng_normal(rng));
        for (size_t j = 0; j < zlv->n; j++)
            zlv->w[j] = (float)(-9.0 + 0.01 * sparse_rng_normal(rng));
    }
    sparse_rng_free(rng);
    v->seed = nd->var ? nd->var->seed : 0;
    nd->var = v;
    nd->hook_fwd = sparse__var_forward;
    nd->hook_bwd = sparse__var_backward;
    nd->hook_user = v;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_variational_mode(const sparse_net *net, size_t id)
{
    if (!net || id >= net->n_nodes || !net->nodes[id].var)
        return SPARSE_PRUNE_NONE;
    return net->nodes[id].var->mode;
}

SPARSE_API int sparse_exp_net_set_noise_seed(sparse_net *net, uint64_t seed)
{
    SPARSE__CHECK_NULL(net);
    for (size_t i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].var)
            net->nodes[i].var->seed = seed;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_noise_kind(sparse_net *net, int noise)
{
    SPARSE__CHECK_NULL(net);
    if (noise != SPARSE_PRUNE_NOISE_ACTIVATION && noise != SPARSE_PRUNE_NOISE_WEIGHT)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_noise_kind: unknown noise %d", noise);
    for (size_t i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].var)
            net->nodes[i].var->noise = noise;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_effective_params(sparse_tensor **weight, sparse_tensor **bias, sparse_net *net,
                                               size_t id)
{
    if (weight)
        *weight = NULL;
    if (bias)
        *bias = NULL;
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_effective_params: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (!sparse_layer_kind_has_weights(nd->kind))
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_effective_params: node '%s' has no weights", nd->name);
    const sparse__param *W = &nd->params[0], *B = nd->bias ? &nd->params[1] : NULL;
    const float *wsrc = W->w, *bsrc = B ? B->w : NULL;
    if (nd->var) {
        sparse__var_effective(nd, nd->var);
        wsrc = nd->var->wm;
        bsrc = B ? nd->var->bm : NULL;
    }
    sparse_tensor *tw = NULL, *tb = NULL;
    int rc = SPARSE_OK;
    if (weight) {
        rc = sparse_tensor_create(&tw, W->ndim, W->shape);
        if (!rc)
            memcpy(sparse_tensor_data(tw), wsrc, W->n * sizeof(float));
    }
    if (!rc && bias && B) {
        rc = sparse_tensor_create(&tb, B->ndim, B->shape);
        if (!rc)
            memcpy(sparse_tensor_data(tb), bsrc, B->n * sizeof(float));
    }
    if (rc) {
        sparse_tensor_free(tw);
        sparse_tensor_free(tb);
        return rc;
    }
    if (weight)
        *weight = tw;
    if (bias)
        *bias = tb;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_log_alpha(sparse_tensor **out, sparse_net *net, size_t id)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_log_alpha: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (!nd->var)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_log_alpha: node '%s' is in no variational mode",
                             nd->name);
    const int spvd = nd->var->mode == SPARSE_PRUNE_SPVD;
    const sparse__param *mean = spvd ? &nd->params[0] : sparse__find_param(nd, "z_mu");
    const sparse__param *logvar = sparse__find_param(nd, spvd ? "log_sigma2" : "z_logvar");
    sparse_tensor *t = NULL;
    int rc = sparse_tensor_create(&t, mean->ndim, mean->shape);
    if (rc)
        return rc;
    float *la = sparse_tensor_data(t);
    for (size_t j = 0; j < mean->n; j++)
        la[j] = sparse__log_alpha(logvar->w[j], mean->w[j]);
    *out = t;
    return SPARSE_OK;
}
