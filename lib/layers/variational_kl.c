/* The KL term of a variational node (experimental.h), in float over every
 * weight and group, with its gradient: what the pruning module's loss adds
 * at every training step. The double-precision formulas of the public API
 * (sparse/prune.h) use the same constants. */
#include <math.h>
#include <string.h>

#include "variational.h"

/* -KL of Molchanov et al. 2017 and its derivative in la. */
static float neg_kl(float la, float *grad)
{
    const float s = 1.0f / (1.0f + expf(-((float)SPARSE_EXP_NEG_KL_K2 + (float)SPARSE_EXP_NEG_KL_K3 * la)));
    const float e = expf(-la);
    *grad =
        (float)SPARSE_EXP_NEG_KL_K1 * (float)SPARSE_EXP_NEG_KL_K3 * s * (1.0f - s) + 0.5f * e / (1.0f + e);
    return (float)SPARSE_EXP_NEG_KL_K1 * s - 0.5f * log1pf(e) - (float)SPARSE_EXP_NEG_KL_K1;
}

/* SpVD: -KL at the clipped log alpha of every weight; no gradient where the
 * clip holds log alpha. A vector kernel (kern_var.c): the same formulas as
 * neg_kl, over every weight at once. */
static double spvd_kl(const sparse_net *net, sparse__node *nd, float sc)
{
    sparse__param *W = &nd->params[0], *L = sparse__find_param(nd, "log_sigma2");
    const sparse__klk c = {(float)SPARSE_EXP_NEG_KL_K1, (float)SPARSE_EXP_NEG_KL_K2, (float)SPARSE_EXP_NEG_KL_K3,
                           SPARSE__VAR_EPS, SPARSE__LOG_ALPHA_CLIP};
    return net->kern.spvd_kl(W->w, L->w, W->n, &c, sc, W->g, L->g);
}

/* BC: -KL at every group's (unclipped) log alpha, plus the weights'
 * N(mu, exp(log_sigma2)) || N(0, 1) term. */
static double bc_kl(sparse__node *nd, float sc)
{
    sparse__param *W = &nd->params[0], *L = sparse__find_param(nd, "log_sigma2");
    sparse__param *M = sparse__find_param(nd, "z_mu"), *V = sparse__find_param(nd, "z_logvar");
    double kl = 0.0;
    for (size_t j = 0; j < M->n; j++) {
        const float m = M->w[j], la = sparse__log_alpha_raw(V->w[j], m);
        float g;
        kl -= (double)neg_kl(la, &g);
        if (sc != 0.0f) {
            V->g[j] += -sc * g;
            M->g[j] += -sc * g * (-2.0f * m / (m * m + SPARSE__VAR_EPS));
        }
    }
    for (size_t j = 0; j < W->n; j++) {
        const float lv = L->w[j], t = W->w[j], e = expf(lv);
        kl += (double)(-0.5f * lv + 0.5f * (e + t * t) - 0.5f);
        if (sc != 0.0f) {
            L->g[j] += sc * (0.5f * e - 0.5f);
            W->g[j] += sc * t;
        }
    }
    return kl;
}

SPARSE_API int sparse_exp_net_variational_kl(sparse_net *net, size_t id, double grad_scale, double *kl)
{
    SPARSE__CHECK_NULL(kl);
    *kl = 0.0;
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_variational_kl: no node %zu", id);
    if (!isfinite(grad_scale))
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_variational_kl: gradient scale must be finite");
    sparse__node *nd = &net->nodes[id];
    if (!nd->var)
        return SPARSE_OK;
    *kl = nd->var->mode == SPARSE_PRUNE_SPVD ? spvd_kl(net, nd, (float)grad_scale) : bc_kl(nd, (float)grad_scale);
    return SPARSE_OK;
}
