/* Fully connected layers: Y (units x N) = W (units x F) . X + b. The
 * input is flattened per image in (C, H, W) order, as PyTorch does; on
 * (C, H, W, N) activations that flattening is the (F x N) matrix the input
 * buffer already is, so the GEMMs read and write activations in place. */
#include "gemm.h"

#define sgemm(...) sparse__sgemm(net, &net->pr.fc_gemm_seconds, &net->pr.fc_gemm_flops, __VA_ARGS__)

static void fc_fwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   const float *w, float *y)
{
    const size_t n = net->batch, F = in->sz, O = nd->c;
    sgemm((dim_t)O, (dim_t)n, (dim_t)F, 1.0f, w, (inc_t)F, 1, x, (inc_t)n, 1, 0.0f, y, (inc_t)n, 1);
}

/* gw overwritten (NULL: skipped), dx written or accumulated (NULL: skipped). */
static void fc_bwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   const float *w, const float *dy, float *gw, float *dx, int dx_acc)
{
    const size_t n = net->batch, F = in->sz, O = nd->c;
    /* dW (O x F) = dY (O x N) . X^T (N x F) */
    if (gw)
        sgemm((dim_t)O, (dim_t)F, (dim_t)n, 1.0f, dy, (inc_t)n, 1, x, 1, (inc_t)n, 0.0f, gw, (inc_t)F, 1);
    /* dX (F x N) = W^T (F x O) . dY (O x N) */
    if (dx)
        sgemm((dim_t)F, (dim_t)n, (dim_t)O, 1.0f, w, 1, (inc_t)F, dy, (inc_t)n, 1, dx_acc ? 1.0f : 0.0f, dx,
              (inc_t)n, 1);
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

void sparse__fc_apply(sparse_net *net, const sparse__node *nd, const float *x, const float *w, const float *bias,
                      float *y)
{
    const size_t n = net->batch;
    fc_fwd(net, nd, &net->nodes[nd->in[0]], x, w, y);
    if (bias)
        for (size_t o = 0; o < nd->c; o++)
            for (size_t i = 0; i < n; i++)
                y[o * n + i] += bias[o];
}

void sparse__fc_grad(sparse_net *net, const sparse__node *nd, const float *x, const float *w, const float *dy,
                     float *gw, float *dx, int dx_acc)
{
    fc_bwd(net, nd, &net->nodes[nd->in[0]], x, w, dy, gw, dx, dx_acc);
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
