/* Batch normalisation per channel (PyTorch semantics: biased batch variance
 * for normalising, unbiased for the running estimate, momentum 0.1,
 * eps 1e-5). Each channel is one contiguous run of H*W*N values; the
 * loops over it are the vector kernels of kern.h. The normalised input is
 * not stored: the backward pass recomputes it from the input, the batch
 * mean (ch1) and 1/std (ch2). The per-channel halves are shared with the
 * fused groups (fused.c). */
#include <math.h>

#include "layers_internal.h"

#define BN_MOMENTUM 0.1

void sparse__bn_channel_stats(sparse_net *net, sparse__node *nd, size_t c, const float *x)
{
    const size_t m = net->batch * nd->h * nd->w;
    float *rmean = nd->params[2].w, *rvar = nd->params[3].w;
    double mean, var;
    if (net->train) {
        net->kern.bn_moments(x, m, &mean, &var);
        rmean[c] = (float)((1.0 - BN_MOMENTUM) * rmean[c] + BN_MOMENTUM * mean);
        double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        rvar[c] = (float)((1.0 - BN_MOMENTUM) * rvar[c] + BN_MOMENTUM * unbiased);
    } else {
        mean = rmean[c];
        var = rvar[c];
    }
    nd->ch1[c] = (float)mean;
    nd->ch2[c] = (float)(1.0 / sqrt(var + SPARSE__BN_EPS));
}

void sparse__bn_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t m = net->batch * nd->h * nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * m))
    for (size_t c = 0; c < nd->c; c++) {
        const float *x = in->out + c * m;
        sparse__bn_channel_stats(net, nd, c, x);
        net->kern.bn_norm(x, m, nd->ch1[c], nd->ch2[c], nd->params[0].w[c], nd->params[1].w[c], nd->out + c * m);
    }
}

void sparse__bn_channel_backward(sparse_net *net, sparse__node *nd, size_t c, const float *x, float *dx, int acc)
{
    const size_t m = net->batch * nd->h * nd->w;
    const float *dy = nd->dout + c * m, mu = nd->ch1[c], inv = nd->ch2[c];
    double sdy, sdyx;
    net->kern.bn_grad_sums(dy, x, m, mu, inv, &sdy, &sdyx);
    nd->params[0].g[c] = (float)sdyx;
    nd->params[1].g[c] = (float)sdy;
    if (!dx)
        return;
    const float k = nd->params[0].w[c] * inv;
    /* evaluation mode: the statistics are constants */
    const float a = net->train ? (float)(sdy / (double)m) : 0.0f, b = net->train ? (float)(sdyx / (double)m) : 0.0f;
    net->kern.bn_dx(dy, x, m, mu, inv, k, a, b, dx, acc);
}

void sparse__bn_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    const size_t m = net->batch * nd->h * nd->w;
    const int acc = nd->need_dx ? sparse__dx_accumulate(net, in) : 1;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * m))
    for (size_t c = 0; c < nd->c; c++)
        sparse__bn_channel_backward(net, nd, c, in->out + c * m, nd->need_dx ? in->dout + c * m : NULL, acc);
}
