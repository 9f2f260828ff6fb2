/* Fully connected layers: Y (units x N) = W (units x F) . X^T + b. The
 * input is flattened per image in (C, H, W) order, as PyTorch does; a
 * spatial input is first gathered into an (N x F) matrix, a (F, 1, 1) one
 * is used in place through strides. */
#include <blis.h>
#include <string.h>

#include "layers_internal.h"

size_t sparse__fc_work(const lnode *nd, const lnode *in, size_t max_batch)
{
    (void)nd;
    return in->h * in->w > 1 ? max_batch * in->sz : 0;
}

static void sgemm(dim_t m, dim_t n, dim_t k, float alpha, const float *a, inc_t rsa, inc_t csa,
                  const float *b, inc_t rsb, inc_t csb, float beta, float *c, inc_t rsc, inc_t csc)
{
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b,
              rsb, csb, &beta, c, rsc, csc);
}

static void gather(const lnode *in, size_t n, float *xn)
{
    const size_t hw = in->h * in->w, F = in->sz;
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++)
            memcpy(xn + i * F + c * hw, in->out + (c * n + i) * hw, hw * sizeof(float));
}

/* Where X^T (F x N) lives: the gathered copy or the input itself. */
static const float *xmat(sparse_net *net, const lnode *in, size_t n, inc_t *rs, inc_t *cs)
{
    if (in->h * in->w == 1) {
        *rs = (inc_t)n;
        *cs = 1;
        return in->out;
    }
    gather(in, n, net->work);
    *rs = 1;
    *cs = (inc_t)in->sz;
    return net->work;
}

void sparse__fc_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, F = in->sz, O = nd->c;
    inc_t rs, cs;
    const float *xt = xmat(net, in, n, &rs, &cs);
    sgemm((dim_t)O, (dim_t)n, (dim_t)F, 1.0f, nd->params[0].w, (inc_t)F, 1, xt, rs, cs, 0.0f, nd->out,
          (inc_t)n, 1);
    if (nd->bias) {
        const float *b = nd->params[1].w;
        for (size_t o = 0; o < O; o++)
            for (size_t i = 0; i < n; i++)
                nd->out[o * n + i] += b[o];
    }
}

void sparse__fc_backward(sparse_net *net, lnode *nd)
{
    lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, F = in->sz, O = nd->c;
    inc_t rs, cs;
    const float *xt = xmat(net, in, n, &rs, &cs);
    /* dW (O x F) = dY (O x N) . X (N x F): X is X^T with strides swapped. */
    sgemm((dim_t)O, (dim_t)F, (dim_t)n, 1.0f, nd->dout, (inc_t)n, 1, xt, cs, rs, 0.0f, nd->params[0].g,
          (inc_t)F, 1);
    if (nd->bias) {
        float *gb = nd->params[1].g;
        for (size_t o = 0; o < O; o++) {
            float acc = 0.0f;
            for (size_t i = 0; i < n; i++)
                acc += nd->dout[o * n + i];
            gb[o] = acc;
        }
    }
    if (!nd->need_dx)
        return;
    if (in->h * in->w == 1) {
        /* dX^T (F x N) += W^T (F x O) . dY (O x N) */
        sgemm((dim_t)F, (dim_t)n, (dim_t)O, 1.0f, nd->params[0].w, 1, (inc_t)F, nd->dout, (inc_t)n, 1, 1.0f,
              in->dout, (inc_t)n, 1);
        return;
    }
    /* dXn (N x F) = dY^T (N x O) . W (O x F), then scattered back. */
    float *dxn = net->work;
    sgemm((dim_t)n, (dim_t)F, (dim_t)O, 1.0f, nd->dout, 1, (inc_t)n, nd->params[0].w, (inc_t)F, 1, 0.0f, dxn,
          (inc_t)F, 1);
    const size_t hw = in->h * in->w;
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++) {
            float *d = in->dout + (c * n + i) * hw;
            const float *s = dxn + i * F + c * hw;
            for (size_t j = 0; j < hw; j++)
                d[j] += s[j];
        }
}
