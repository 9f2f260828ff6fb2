/* Weight inheritance between networks and batch-norm folding. */
#include <math.h>
#include <string.h>

#include "layers_internal.h"

/* Copies the overlapping box of two row-major arrays of the same rank. */
static size_t copy_overlap(const sparse__param *s, sparse__param *d)
{
    size_t ov[4] = {1, 1, 1, 1}, ss[4] = {1, 1, 1, 1}, ds[4] = {1, 1, 1, 1};
    for (int i = 0; i < d->ndim; i++)
        ov[i] = s->shape[i] < d->shape[i] ? s->shape[i] : d->shape[i];
    for (int i = d->ndim - 2; i >= 0; i--) {
        ss[i] = ss[i + 1] * s->shape[i + 1];
        ds[i] = ds[i + 1] * d->shape[i + 1];
    }
    size_t n = 0;
    for (size_t a = 0; a < ov[0]; a++)
        for (size_t b = 0; b < ov[1]; b++)
            for (size_t c = 0; c < ov[2]; c++) {
                const float *src = s->w + a * ss[0] + b * ss[1] + c * ss[2];
                float *dst = d->w + a * ds[0] + b * ds[1] + c * ds[2];
                memcpy(dst, src, ov[3] * sizeof(float));
                n += ov[3];
            }
    return n;
}

SPARSE_API int sparse_net_inherit(sparse_net *dst, const sparse_net *src, size_t *copied)
{
    if (copied)
        *copied = 0;
    SPARSE__CHECK_NULL(dst);
    SPARSE__CHECK_NULL(src);
    size_t total = 0;
    for (size_t i = 1; i < dst->n_nodes; i++) {
        sparse__node *d = &dst->nodes[i];
        const sparse__node *s = NULL;
        for (size_t j = 1; j < src->n_nodes && !s; j++)
            if (src->nodes[j].kind == d->kind && !strcmp(src->nodes[j].name, d->name))
                s = &src->nodes[j];
        if (!s)
            continue;
        for (size_t k = 0; k < d->n_params; k++) {
            sparse__param *dp = &d->params[k];
            const sparse__param *sp = NULL;
            for (size_t q = 0; q < s->n_params && !sp; q++)
                if (!strcmp(s->params[q].name, dp->name) && s->params[q].ndim == dp->ndim)
                    sp = &s->params[q];
            if (sp) {
                total += copy_overlap(sp, dp);
                if (dp->mask)
                    for (size_t j = 0; j < dp->n; j++)
                        dp->w[j] *= dp->mask[j];
            }
        }
    }
    if (copied)
        *copied = total;
    return SPARSE_OK;
}

SPARSE_API int sparse_net_fold_batchnorm(sparse_tensor **weight, sparse_tensor **bias, const sparse_net *net,
                                         size_t bn_id)
{
    SPARSE__CHECK_NULL(weight);
    SPARSE__CHECK_NULL(bias);
    *weight = NULL;
    *bias = NULL;
    SPARSE__CHECK_NULL(net);
    if (bn_id >= net->n_nodes || net->nodes[bn_id].kind != SPARSE_LAYER_BATCHNORM)
        return sparse__error(SPARSE_EINVAL, "sparse_net_fold_batchnorm: node %zu is not a batch norm", bn_id);
    const sparse__node *bn = &net->nodes[bn_id];
    const sparse__node *prev = &net->nodes[bn->in[0]];
    if (!sparse_layer_kind_has_weights(prev->kind))
        return sparse__error(SPARSE_EINVAL,
                             "sparse_net_fold_batchnorm: '%s' follows '%s' (%s); only conv2d, depthwise_conv2d "
                             "and fc fold",
                             bn->name, prev->name, sparse_layer_kind_name(prev->kind));
    const sparse__param *w = &prev->params[0];
    const float *gamma = bn->params[0].w, *beta = bn->params[1].w, *rm = bn->params[2].w, *rv = bn->params[3].w;
    sparse_tensor *fw = NULL, *fb = NULL;
    size_t bshape[1] = {bn->c};
    int rc = sparse_tensor_create(&fw, w->ndim, w->shape);
    if (!rc)
        rc = sparse_tensor_create(&fb, 1, bshape);
    if (rc) {
        sparse_tensor_free(fw);
        return rc;
    }
    float *ow = sparse_tensor_data(fw), *ob = sparse_tensor_data(fb);
    const size_t per = w->n / bn->c;
    for (size_t c = 0; c < bn->c; c++) {
        /* Double, then one rounding to float: the folded network differs
         * from the float one by float rounding only. */
        const double s = gamma[c] / sqrt((double)rv[c] + SPARSE__BN_EPS);
        for (size_t j = 0; j < per; j++)
            ow[c * per + j] = (float)(w->w[c * per + j] * s);
        const double b = prev->bias ? prev->params[1].w[c] : 0.0;
        ob[c] = (float)((b - rm[c]) * s + beta[c]);
    }
    *weight = fw;
    *bias = fb;
    return SPARSE_OK;
}
