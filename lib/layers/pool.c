/* Max and average pooling (valid windows) and input downsampling, which is
 * max pooling over size x size pixels and depth_rate channels at once. On
 * (C, H, W, N) activations every window is a handful of contiguous runs of
 * N images, so the loops below run across images and vectorise. */
#include <string.h>

#include "layers_internal.h"

static sparse__pool_geo pool_geo(const sparse_net *net, const sparse__node *nd, const sparse__node *in)
{
    sparse__pool_geo g = {nd->depth_rate, in->h, in->w, nd->k, nd->stride, nd->h, nd->w, net->batch};
    return g;
}

/* The window's first element seeds the maximum, a later one wins only when
 * strictly greater (so a NaN seed propagates; NaN weights make every
 * element NaN, which the loss check then reports). idx holds the flat
 * input index of each output's maximum. */
static void max_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const sparse__pool_geo g = pool_geo(net, nd, in);
    const size_t per_in = g.dr * in->h * in->w * g.n, per_out = nd->h * nd->w * g.n;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * per_in))
    for (size_t c = 0; c < nd->c; c++)
        net->kern.maxpool(&g, in->out + c * per_in, c * per_in, nd->out + c * per_out, nd->idx + c * per_out);
}

static void avg_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride;
    const size_t H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * H * W))
    for (size_t c = 0; c < nd->c; c++)
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                float *restrict y = nd->out + ((c * Ho + oy) * Wo + ox) * n;
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++) {
                        const float *restrict x = in->out + ((c * H + oy * s + ky) * W + ox * s + kx) * n;
                        if (!ky && !kx)
                            for (size_t i = 0; i < n; i++)
                                y[i] = x[i];
                        else
                            for (size_t i = 0; i < n; i++)
                                y[i] += x[i];
                    }
                for (size_t i = 0; i < n; i++)
                    y[i] *= scale;
            }
}

void sparse__pool_forward(sparse_net *net, sparse__node *nd)
{
    if (nd->kind == SPARSE_LAYER_AVGPOOL)
        avg_forward(net, nd);
    else
        max_forward(net, nd);
}

/* Windows that tile the input without overlap (stride = size, one channel
 * each): every input pixel gets its gradient from at most one output, so
 * it is written, not scattered. */
static void max_backward_tiled(sparse_net *net, sparse__node *nd, sparse__node *in)
{
    const sparse__pool_geo g = pool_geo(net, nd, in);
    const size_t per_in = in->h * in->w * g.n, per_out = nd->h * nd->w * g.n;
    int acc = sparse__dx_accumulate(net, in);
    if (!acc && (in->h != nd->h * nd->k || in->w != nd->w * nd->k)) {
        memset(in->dout, 0, in->sz * g.n * sizeof(float)); /* pixels no window covers */
        acc = 1;
    }
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * per_in))
    for (size_t c = 0; c < nd->c; c++)
        net->kern.maxpool_grad(&g, nd->dout + c * per_out, nd->idx + c * per_out, c * per_in, in->dout + c * per_in,
                               acc);
}

void sparse__pool_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t n = net->batch, m = nd->sz * n;
    if (nd->kind != SPARSE_LAYER_AVGPOOL && nd->stride == nd->k && nd->depth_rate == 1) {
        max_backward_tiled(net, nd, in);
        return;
    }
    sparse__dx_zero(net, in);
    if (nd->kind != SPARSE_LAYER_AVGPOOL) {
        /* Output channel c only scatters into input channels c*dr.., so
         * channels are independent. */
        const size_t per = nd->h * nd->w * n;
        float *restrict dx = in->dout;
        const float *restrict dy = nd->dout;
        const int32_t *restrict idx = nd->idx;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
        for (size_t c = 0; c < nd->c; c++)
            for (size_t j = c * per; j < (c + 1) * per; j++)
                dx[idx[j]] += dy[j];
        return;
    }
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m * k * k))
    for (size_t c = 0; c < nd->c; c++)
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                const float *restrict dy = nd->dout + ((c * Ho + oy) * Wo + ox) * n;
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++) {
                        float *restrict dx = in->dout + ((c * H + oy * s + ky) * W + ox * s + kx) * n;
                        for (size_t i = 0; i < n; i++)
                            dx[i] += dy[i] * scale;
                    }
            }
}
