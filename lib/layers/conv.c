/* Convolutions. Regular convolutions are im2col + bli_sgemm on the
 * channel-major (C, N, H, W) activations: one GEMM covers a chunk of
 * images, W (Cout x K) times col (K x nb*Ho*Wo), with K = Cin*k*k. 1x1
 * stride-1 convolutions need no im2col at all: the input already is the
 * column matrix. Depthwise convolutions are direct loops (one small kernel
 * per channel has nothing for a GEMM to reuse). */
#include <blis.h>
#include <string.h>

#include "layers_internal.h"

/* im2col chunks are kept near L2/L3 size: bigger chunks do not make the
 * GEMM faster but cost memory on wide layers. */
#define CONV_WORK_BUDGET ((size_t)1 << 20)

static int is_pointwise(const lnode *nd)
{
    return nd->k == 1 && nd->stride == 1 && nd->pt == 0 && nd->pl == 0 && nd->pb == 0 && nd->pr == 0;
}

static size_t chunk_images(const lnode *nd, const lnode *in, size_t n)
{
    size_t per = in->c * nd->k * nd->k * nd->h * nd->w;
    size_t nb = CONV_WORK_BUDGET / (per ? per : 1);
    if (nb < 1)
        nb = 1;
    return nb < n ? nb : n;
}

size_t sparse__conv_work(const lnode *nd, const lnode *in, size_t max_batch)
{
    if (is_pointwise(nd))
        return 0;
    return chunk_images(nd, in, max_batch) * in->c * nd->k * nd->k * nd->h * nd->w;
}

static void sgemm(dim_t m, dim_t n, dim_t k, float alpha, const float *a, inc_t rsa, inc_t csa,
                  const float *b, inc_t rsb, inc_t csb, float beta, float *c, inc_t rsc, inc_t csc)
{
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b,
              rsb, csb, &beta, c, rsc, csc);
}

/* col[(ci,ky,kx)][(nl,oy,ox)] for images n0..n0+nb of the (C, N, H, W) input. */
static void im2col(const lnode *nd, const lnode *in, const float *x, size_t n, size_t n0, size_t nb,
                   float *col)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const size_t P = Ho * Wo, ld = nb * P;
    for (size_t ci = 0; ci < in->c; ci++)
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                float *dst = col + ((ci * k + ky) * k + kx) * ld;
                /* valid ox range: 0 <= ox*s + kx - pl < W */
                size_t lo = kx >= nd->pl ? 0 : (nd->pl - kx + s - 1) / s;
                size_t hi = (W + nd->pl > kx) ? (W + nd->pl - kx + s - 1) / s : 0;
                if (hi > Wo)
                    hi = Wo;
                if (lo > hi)
                    lo = hi;
                for (size_t nl = 0; nl < nb; nl++) {
                    const float *src = x + (ci * n + n0 + nl) * H * W;
                    for (size_t oy = 0; oy < Ho; oy++, dst += Wo) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                        if (iy < 0 || iy >= (ptrdiff_t)H) {
                            memset(dst, 0, Wo * sizeof(float));
                            continue;
                        }
                        const ptrdiff_t base = iy * (ptrdiff_t)W + (ptrdiff_t)kx - (ptrdiff_t)nd->pl;
                        for (size_t ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        if (s == 1)
                            memcpy(dst + lo, src + base + (ptrdiff_t)lo, (hi - lo) * sizeof(float));
                        else
                            for (size_t ox = lo; ox < hi; ox++)
                                dst[ox] = src[base + (ptrdiff_t)(ox * s)];
                        for (size_t ox = hi; ox < Wo; ox++)
                            dst[ox] = 0.0f;
                    }
                }
            }
}

static void col2im(const lnode *nd, const lnode *in, const float *col, size_t n, size_t n0, size_t nb,
                   float *dx)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const size_t P = Ho * Wo, ld = nb * P;
    for (size_t ci = 0; ci < in->c; ci++)
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                const float *src = col + ((ci * k + ky) * k + kx) * ld;
                size_t lo = kx >= nd->pl ? 0 : (nd->pl - kx + s - 1) / s;
                size_t hi = (W + nd->pl > kx) ? (W + nd->pl - kx + s - 1) / s : 0;
                if (hi > Wo)
                    hi = Wo;
                if (lo > hi)
                    lo = hi;
                for (size_t nl = 0; nl < nb; nl++) {
                    float *dst = dx + (ci * n + n0 + nl) * H * W;
                    for (size_t oy = 0; oy < Ho; oy++, src += Wo) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                        if (iy < 0 || iy >= (ptrdiff_t)H)
                            continue;
                        const ptrdiff_t base = iy * (ptrdiff_t)W + (ptrdiff_t)kx - (ptrdiff_t)nd->pl;
                        for (size_t ox = lo; ox < hi; ox++)
                            dst[base + (ptrdiff_t)(ox * s)] += src[ox];
                    }
                }
            }
}

static void add_bias(const lnode *nd, size_t n)
{
    const lparam *b = nd->bias ? &nd->params[1] : NULL;
    if (!b)
        return;
    const size_t np = n * nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++) {
        float *o = nd->out + c * np;
        const float bc = b->w[c];
        for (size_t j = 0; j < np; j++)
            o[j] += bc;
    }
}

static void bias_grad(const lnode *nd, size_t n)
{
    if (!nd->bias)
        return;
    float *g = nd->params[1].g;
    const size_t np = n * nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++) {
        const float *d = nd->dout + c * np;
        float acc = 0.0f;
        for (size_t j = 0; j < np; j++)
            acc += d[j];
        g[c] = acc;
    }
}

void sparse__conv_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k;
    const float *w = nd->params[0].w;
    if (is_pointwise(nd)) {
        sgemm((dim_t)nd->c, (dim_t)(n * P), (dim_t)K, 1.0f, w, (inc_t)K, 1, in->out, (inc_t)(n * P), 1, 0.0f,
              nd->out, (inc_t)(n * P), 1);
    } else {
        const size_t nbmax = chunk_images(nd, in, n);
        for (size_t n0 = 0; n0 < n; n0 += nbmax) {
            size_t nb = n - n0 < nbmax ? n - n0 : nbmax;
            im2col(nd, in, in->out, n, n0, nb, net->work);
            sgemm((dim_t)nd->c, (dim_t)(nb * P), (dim_t)K, 1.0f, w, (inc_t)K, 1, net->work, (inc_t)(nb * P), 1,
                  0.0f, nd->out + n0 * P, (inc_t)(n * P), 1);
        }
    }
    add_bias(nd, n);
}

void sparse__conv_backward(sparse_net *net, lnode *nd)
{
    lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k;
    const float *w = nd->params[0].w;
    float *gw = nd->params[0].g;
    bias_grad(nd, n);
    if (is_pointwise(nd)) {
        /* dW = dY (Cout x NP) . X^T ; dX += W^T . dY */
        sgemm((dim_t)nd->c, (dim_t)K, (dim_t)(n * P), 1.0f, nd->dout, (inc_t)(n * P), 1, in->out, 1,
              (inc_t)(n * P), 0.0f, gw, (inc_t)K, 1);
        if (nd->need_dx)
            sgemm((dim_t)K, (dim_t)(n * P), (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, nd->dout, (inc_t)(n * P), 1, 1.0f,
                  in->dout, (inc_t)(n * P), 1);
        return;
    }
    const size_t nbmax = chunk_images(nd, in, n);
    for (size_t n0 = 0; n0 < n; n0 += nbmax) {
        size_t nb = n - n0 < nbmax ? n - n0 : nbmax;
        const float *dy = nd->dout + n0 * P;
        im2col(nd, in, in->out, n, n0, nb, net->work);
        sgemm((dim_t)nd->c, (dim_t)K, (dim_t)(nb * P), 1.0f, dy, (inc_t)(n * P), 1, net->work, 1, (inc_t)(nb * P),
              n0 ? 1.0f : 0.0f, gw, (inc_t)K, 1);
        if (!nd->need_dx)
            continue;
        sgemm((dim_t)K, (dim_t)(nb * P), (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, dy, (inc_t)(n * P), 1, 0.0f,
              net->work, (inc_t)(nb * P), 1);
        col2im(nd, in, net->work, n, n0, nb, in->dout);
    }
}

/* ---- Depthwise ---- */

void sparse__dwconv_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float *wt = nd->params[0].w;
    for (size_t c = 0; c < nd->c; c++) {
        const float *wc = wt + c * k * k;
        const float b = nd->bias ? nd->params[1].w[c] : 0.0f;
        for (size_t i = 0; i < n; i++) {
            const float *x = in->out + (c * n + i) * H * W;
            float *y = nd->out + (c * n + i) * Ho * Wo;
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    float acc = b;
                    for (size_t ky = 0; ky < k; ky++) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                        if (iy < 0 || iy >= (ptrdiff_t)H)
                            continue;
                        for (size_t kx = 0; kx < k; kx++) {
                            ptrdiff_t ix = (ptrdiff_t)(ox * s + kx) - (ptrdiff_t)nd->pl;
                            if (ix < 0 || ix >= (ptrdiff_t)W)
                                continue;
                            acc += wc[ky * k + kx] * x[(size_t)iy * W + (size_t)ix];
                        }
                    }
                    y[oy * Wo + ox] = acc;
                }
        }
    }
}

void sparse__dwconv_backward(sparse_net *net, lnode *nd)
{
    lnode *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const float *wt = nd->params[0].w;
    float *gw = nd->params[0].g;
    bias_grad(nd, n);
    memset(gw, 0, nd->params[0].n * sizeof(float));
    for (size_t c = 0; c < nd->c; c++) {
        const float *wc = wt + c * k * k;
        float *gc = gw + c * k * k;
        for (size_t i = 0; i < n; i++) {
            const float *x = in->out + (c * n + i) * H * W;
            float *dx = in->dout + (c * n + i) * H * W;
            const float *dy = nd->dout + (c * n + i) * Ho * Wo;
            for (size_t oy = 0; oy < Ho; oy++)
                for (size_t ox = 0; ox < Wo; ox++) {
                    const float g = dy[oy * Wo + ox];
                    for (size_t ky = 0; ky < k; ky++) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                        if (iy < 0 || iy >= (ptrdiff_t)H)
                            continue;
                        for (size_t kx = 0; kx < k; kx++) {
                            ptrdiff_t ix = (ptrdiff_t)(ox * s + kx) - (ptrdiff_t)nd->pl;
                            if (ix < 0 || ix >= (ptrdiff_t)W)
                                continue;
                            size_t xi = (size_t)iy * W + (size_t)ix;
                            gc[ky * k + kx] += g * x[xi];
                            if (nd->need_dx)
                                dx[xi] += g * wc[ky * k + kx];
                        }
                    }
                }
        }
    }
}
