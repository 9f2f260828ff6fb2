/* Fully connected layers: Y (units x N) = W (units x F) . X^T + b. The
 * input is flattened per image in (C, H, W) order, as PyTorch does; a
 * spatial input is first gathered into an (N x F) matrix, a (F, 1, 1) one
 * is used in place through strides. */
#include <string.h>

#include "gemm.h"

size_t sparse__fc_work(const sparse__node *nd, const sparse__node *in, size_t max_batch)
{
    (void)nd;
    return in->h * in->w > 1 ? max_batch * in->sz : 0;
}

#define sgemm(...) sparse__sgemm(net, &net->pr.fc_gemm_seconds, &net->pr.fc_gemm_flops, __VA_ARGS__)

static void gather(const sparse__node *in, const float *x, size_t n, float *xn)
{
    const size_t hw = in->h * in->w, F = in->sz;
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++)
            memcpy(xn + i * F + c * hw, x + (c * n + i) * hw, hw * sizeof(float));
}

/* Where X^T (F x N) lives: the gathered copy or the input itself. */
static const float *xmat(sparse_net *net, const sparse__node *in, const float *x, size_t n, inc_t *rs,
                         inc_t *cs)
{
    if (in->h * in->w == 1) {
        *rs = (inc_t)n;
        *cs = 1;
        return x;
    }
    gather(in, x, n, net->work);
    *rs = 1;
    *cs = (inc_t)in->sz;
    return net->work;
}

static void fc_fwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   const float *w, float *y)
{
    const size_t n = net->batch, F = in->sz, O = nd->c;
    inc_t rs, cs;
    const float *xt = xmat(net, in, x, n, &rs, &cs);
    sgemm((dim_t)O, (dim_t)n, (dim_t)F, 1.0f, w, (inc_t)F, 1, xt, rs, cs, 0.0f, y, (inc_t)n, 1);
}

/* gw overwritten (NULL: skipped), dx written or accumulated (NULL: skipped). */
static void fc_bwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   const float *w, const float *dy, float *gw, float *dx, int dx_acc)
{
    const size_t n = net->batch, F = in->sz, O = nd->c;
    if (gw) {
        inc_t rs, cs;
        const float *xt = xmat(net, in, x, n, &rs, &cs);
        /* dW (O x F) = dY (O x N) . X (N x F): X is X^T with strides swapped. */
        sgemm((dim_t)O, (dim_t)F, (dim_t)n, 1.0f, dy, (inc_t)n, 1, xt, cs, rs, 0.0f, gw, (inc_t)F, 1);
    }
    if (!dx)
        return;
    if (in->h * in->w == 1) {
        /* dX^T (F x N) = W^T (F x O) . dY (O x N) */
        sgemm((dim_t)F, (dim_t)n, (dim_t)O, 1.0f, w, 1, (inc_t)F, dy, (inc_t)n, 1, dx_acc ? 1.0f : 0.0f, dx,
              (inc_t)n, 1);
        return;
    }
    /* dXn (N x F) = dY^T (N x O) . W (O x F), then scattered back. */
    float *dxn = net->work;
    sgemm((dim_t)n, (dim_t)F, (dim_t)O, 1.0f, dy, 1, (inc_t)n, w, (inc_t)F, 1, 0.0f, dxn, (inc_t)F, 1);
    const size_t hw = in->h * in->w;
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++) {
            float *d = dx + (c * n + i) * hw;
            const float *s = dxn + i * F + c * hw;
            for (size_t j = 0; j < hw; j++)
                d[j] = (dx_acc ? d[j] : 0.0f) + s[j];
        }
}

void sparse__fc_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, O = nd->c;
    fc_fwd(net, nd, in, in->out, nd->params[0].w, nd->out);
    if (nd->bias) {
        const float *b = nd->params[1].w;
        for (size_t o = 0; o < O; o++)
            for (size_t i = 0; i < n; i++)
                nd->out[o * n + i] += b[o];
    }
}

void sparse__fc_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, O = nd->c;
    if (nd->bias) {
        float *gb = nd->params[1].g;
        for (size_t o = 0; o < O; o++) {
            float acc = 0.0f;
            for (size_t i = 0; i < n; i++)
                acc += nd->dout[o * n + i];
            gb[o] = acc;
        }
    }
    int acc = nd->need_dx ? sparse__dx_accumulate(net, in) : 1;
    fc_bwd(net, nd, in, in->out, nd->params[0].w, nd->dout, nd->params[0].g, nd->need_dx ? in->dout : NULL, acc);
}

SPARSE_API int sparse_exp_fc_forward(sparse_net *net, size_t id, const float *x, const float *weight, float *y)
{
    if (!net || !x || !weight || !y)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_forward: NULL argument");
    if (id == 0 || id >= net->n_nodes || net->nodes[id].kind != SPARSE_LAYER_FC)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_forward: node %zu is not an fc node", id);
    if (!net->batch)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_forward: call it from a hook, during a pass");
    const sparse__node *nd = &net->nodes[id];
    fc_fwd(net, nd, &net->nodes[nd->in[0]], x, weight, y);
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_fc_backward(sparse_net *net, size_t id, const float *x, const float *weight,
                                      const float *dy, float *dweight, float *dx)
{
    if (!net || !x || !weight || !dy)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_backward: NULL argument");
    if (id == 0 || id >= net->n_nodes || net->nodes[id].kind != SPARSE_LAYER_FC)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_backward: node %zu is not an fc node", id);
    if (!net->batch)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_fc_backward: call it from a hook, during a pass");
    const sparse__node *nd = &net->nodes[id];
    fc_bwd(net, nd, &net->nodes[nd->in[0]], x, weight, dy, dweight, dx, 1);
    return SPARSE_OK;
}
