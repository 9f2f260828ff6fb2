/* Max and average pooling (valid windows) and input downsampling, which is
 * max pooling over size x size pixels and depth_rate channels at once. */
#include <float.h>

#include "layers_internal.h"

static void max_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride, dr = nd->depth_rate;
    const size_t H = in->h, W = in->w, Ho = nd->h, Wo = nd->w, HW = H * W;
    for (size_t c = 0; c < nd->c; c++)
        for (size_t i = 0; i < n; i++) {
            float *y = nd->out + (c * n + i) * Ho * Wo;
            int32_t *ix = nd->idx + (c * n + i) * Ho * Wo;
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    float best = -FLT_MAX;
                    size_t bi = 0;
                    int first = 1;
                    for (size_t d = 0; d < dr; d++) {
                        const size_t plane = ((c * dr + d) * n + i) * HW;
                        for (size_t ky = 0; ky < k; ky++)
                            for (size_t kx = 0; kx < k; kx++) {
                                size_t p = plane + (oy * s + ky) * W + ox * s + kx;
                                float v = in->out[p];
                                /* NaN must propagate, not be skipped. */
                                if (first || v > best || v != v) {
                                    best = v;
                                    bi = p;
                                    first = 0;
                                    if (v != v)
                                        goto found;
                                }
                            }
                    }
                found:
                    y[oy * Wo + ox] = best;
                    ix[oy * Wo + ox] = (int32_t)bi;
                }
        }
}

static void avg_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride;
    const size_t H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
    for (size_t c = 0; c < nd->c; c++)
        for (size_t i = 0; i < n; i++) {
            const float *x = in->out + (c * n + i) * H * W;
            float *y = nd->out + (c * n + i) * Ho * Wo;
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    float acc = 0.0f;
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++)
                            acc += x[(oy * s + ky) * W + ox * s + kx];
                    y[oy * Wo + ox] = acc * scale;
                }
        }
}

void sparse__pool_forward(sparse_net *net, lnode *nd)
{
    if (nd->kind == SPARSE_LAYER_AVGPOOL)
        avg_forward(net, nd);
    else
        max_forward(net, nd);
}

void sparse__pool_backward(sparse_net *net, lnode *nd)
{
    lnode *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t n = net->batch, m = nd->sz * n;
    if (nd->kind != SPARSE_LAYER_AVGPOOL) {
        for (size_t j = 0; j < m; j++)
            in->dout[nd->idx[j]] += nd->dout[j];
        return;
    }
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
    for (size_t c = 0; c < nd->c; c++)
        for (size_t i = 0; i < n; i++) {
            float *dx = in->dout + (c * n + i) * H * W;
            const float *dy = nd->dout + (c * n + i) * Ho * Wo;
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    const float g = dy[oy * Wo + ox] * scale;
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++)
                            dx[(oy * s + ky) * W + ox * s + kx] += g;
                }
        }
}
