/* Max and average pooling (valid windows) and input downsampling, which is
 * max pooling over size x size pixels and depth_rate channels at once. */
#include "layers_internal.h"

/* The first element of each window seeds the maximum, so a NaN there
 * propagates; NaN weights make every element NaN, which the loss check
 * then reports. */
static void max_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride, dr = nd->depth_rate;
    const size_t H = in->h, W = in->w, Ho = nd->h, Wo = nd->w, HW = H * W;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * HW))
    for (size_t c = 0; c < nd->c; c++)
        for (size_t i = 0; i < n; i++) {
            float *y = nd->out + (c * n + i) * Ho * Wo;
            int32_t *ix = nd->idx + (c * n + i) * Ho * Wo;
            const size_t plane0 = ((c * dr) * n + i) * HW;
            const float *x0 = in->out + plane0;
            if (dr == 1 && k == 2 && s == 2) {
                /* Branch-free selects: argmax positions are data-dependent
                 * coin flips that a branch predictor cannot learn. */
                for (size_t oy = 0; oy < Ho; oy++) {
                    const float *restrict r0 = x0 + 2 * oy * W, *restrict r1 = r0 + W;
                    float *restrict yo = y + oy * Wo;
                    int32_t *restrict io = ix + oy * Wo;
                    const int32_t base = (int32_t)(plane0 + 2 * oy * W);
                    for (size_t ox = 0; ox < Wo; ox++) {
                        const float a = r0[2 * ox], b = r0[2 * ox + 1], c2 = r1[2 * ox], d = r1[2 * ox + 1];
                        const int32_t p = base + (int32_t)(2 * ox);
                        const float m1 = b > a ? b : a, m2 = d > c2 ? d : c2;
                        const int32_t i1 = b > a ? p + 1 : p, i2 = d > c2 ? p + (int32_t)W + 1 : p + (int32_t)W;
                        yo[ox] = m2 > m1 ? m2 : m1;
                        io[ox] = m2 > m1 ? i2 : i1;
                    }
                }
                continue;
            }
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    size_t bi = plane0 + oy * s * W + ox * s;
                    float best = in->out[bi];
                    for (size_t d = 0; d < dr; d++) {
                        const size_t plane = ((c * dr + d) * n + i) * HW;
                        for (size_t ky = 0; ky < k; ky++) {
                            const size_t row = plane + (oy * s + ky) * W + ox * s;
                            for (size_t kx = 0; kx < k; kx++)
                                if (in->out[row + kx] > best) {
                                    best = in->out[row + kx];
                                    bi = row + kx;
                                }
                        }
                    }
                    y[oy * Wo + ox] = best;
                    ix[oy * Wo + ox] = (int32_t)bi;
                }
        }
}

static void avg_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride;
    const size_t H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * H * W))
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

void sparse__pool_forward(sparse_net *net, sparse__node *nd)
{
    if (nd->kind == SPARSE_LAYER_AVGPOOL)
        avg_forward(net, nd);
    else
        max_forward(net, nd);
}

void sparse__pool_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t n = net->batch, m = nd->sz * n;
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
        (void)m;
        return;
    }
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float scale = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m * k * k))
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
