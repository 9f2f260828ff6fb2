/* Convolutions. Regular convolutions are im2col + bli_sgemm on the
 * channel-major (C, N, H, W) activations: one GEMM covers a chunk of
 * images, W (Cout x K) times col (K x nb*Ho*Wo), with K = Cin*k*k. 1x1
 * stride-1 convolutions need no im2col at all: the input already is the
 * column matrix. Depthwise convolutions are direct loops (one small kernel
 * per channel has nothing for a GEMM to reuse). */
#include <string.h>

#include "gemm.h"

/* im2col chunks are kept near L2/L3 size: bigger chunks do not make the
 * GEMM faster but cost memory on wide layers. */
#define CONV_WORK_BUDGET ((size_t)1 << 20)

static int is_pointwise(const sparse__node *nd)
{
    return nd->k == 1 && nd->stride == 1 && nd->pt == 0 && nd->pl == 0 && nd->pb == 0 && nd->pr == 0;
}

static size_t chunk_images(const sparse__node *nd, const sparse__node *in, size_t n, size_t budget)
{
    size_t per = in->c * nd->k * nd->k * nd->h * nd->w;
    size_t nb = budget / (per ? per : 1);
    if (nb < 1)
        nb = 1;
    return nb < n ? nb : n;
}

/* The forward im2col matrix is kept for the backward pass when it is not
 * too large (it would otherwise be rebuilt); above the cap, chunks of it
 * are rebuilt in the shared work buffer. */
#define CONV_CACHE_CAP ((size_t)8 << 20)

size_t sparse__conv_cache(const sparse__node *nd, const sparse__node *in, size_t max_batch)
{
    if (is_pointwise(nd))
        return 0;
    size_t sz = in->c * nd->k * nd->k * nd->h * nd->w * max_batch;
    return sz <= CONV_CACHE_CAP ? sz : 0;
}

size_t sparse__conv_work(const sparse__node *nd, const sparse__node *in, size_t max_batch)
{
    if (is_pointwise(nd))
        return 0;
    return chunk_images(nd, in, max_batch, CONV_WORK_BUDGET) * in->c * nd->k * nd->k * nd->h * nd->w;
}

#define sgemm(...) sparse__sgemm(net, &net->pr.conv_gemm_seconds, &net->pr.conv_gemm_flops, __VA_ARGS__)

/* col[(ci,ky,kx)][(nl,oy,ox)] for images n0..n0+nb of the (C, N, H, W) input. */
/* Output columns [lo, hi) whose input column ox*s + kx - pl lies inside
 * [0, W): the rest of a row reads (or writes) padding. */
static void valid_ox(size_t pl, size_t kx, size_t s, size_t W, size_t Wo, size_t *lo, size_t *hi)
{
    *lo = kx >= pl ? 0 : (pl - kx + s - 1) / s;
    *hi = (W + pl > kx) ? (W + pl - kx + s - 1) / s : 0;
    if (*hi > Wo)
        *hi = Wo;
    if (*lo > *hi)
        *lo = *hi;
}

static void im2col(const sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   size_t n, size_t n0, size_t nb, float *col)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const size_t P = Ho * Wo, ld = nb * P, rows = in->c * k * k;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, rows * ld))
    for (size_t r = 0; r < rows; r++) {
                const size_t ci = r / (k * k), ky = (r / k) % k, kx = r % k;
                float *dst = col + r * ld;
                if (s == 1 && !nd->pt && !nd->pl && !nd->pb && !nd->pr) {
                    /* No padding: plain strided row copies, no bounds. */
                    for (size_t nl = 0; nl < nb; nl++) {
                        const float *restrict src = x + (ci * n + n0 + nl) * H * W + ky * W + kx;
                        for (size_t oy = 0; oy < Ho; oy++, dst += Wo)
                            for (size_t ox = 0; ox < Wo; ox++)
                                dst[ox] = src[oy * W + ox];
                    }
                    continue;
                }
                size_t lo, hi;
                valid_ox(nd->pl, kx, s, W, Wo, &lo, &hi);
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
                        if (s == 1) {
                            /* rows are short: an inline loop beats a memcpy call */
                            const float *sr = src + base;
                            for (size_t ox = lo; ox < hi; ox++)
                                dst[ox] = sr[ox];
                        } else
                            for (size_t ox = lo; ox < hi; ox++)
                                dst[ox] = src[base + (ptrdiff_t)(ox * s)];
                        for (size_t ox = hi; ox < Wo; ox++)
                            dst[ox] = 0.0f;
                    }
                }
    }
}

static void col2im(const sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *col,
                   size_t n, size_t n0, size_t nb, float *dx)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    const size_t P = Ho * Wo, ld = nb * P;
    /* Parallel over input channels only: the k*k rows of one channel add
     * into the same plane. */
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, in->c * k * k * ld))
    for (size_t ci = 0; ci < in->c; ci++)
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                const float *src = col + ((ci * k + ky) * k + kx) * ld;
                if (s == 1 && !nd->pt && !nd->pl && !nd->pb && !nd->pr) {
                    for (size_t nl = 0; nl < nb; nl++) {
                        float *restrict d = dx + (ci * n + n0 + nl) * H * W + ky * W + kx;
                        for (size_t oy = 0; oy < Ho; oy++, src += Wo)
                            for (size_t ox = 0; ox < Wo; ox++)
                                d[oy * W + ox] += src[ox];
                    }
                    continue;
                }
                size_t lo, hi;
                valid_ox(nd->pl, kx, s, W, Wo, &lo, &hi);
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

static void add_bias(const sparse_net *net, const sparse__node *nd, size_t n)
{
    const sparse__param *b = nd->bias ? &nd->params[1] : NULL;
    if (!b)
        return;
    const size_t np = n * nd->h * nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * np))
    for (size_t c = 0; c < nd->c; c++) {
        float *o = nd->out + c * np;
        const float bc = b->w[c];
        for (size_t j = 0; j < np; j++)
            o[j] += bc;
    }
}

static void bias_grad(const sparse_net *net, const sparse__node *nd, size_t n)
{
    if (!nd->bias)
        return;
    float *g = nd->params[1].g;
    const size_t np = n * nd->h * nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * np))
    for (size_t c = 0; c < nd->c; c++) {
        const float *d = nd->dout + c * np;
        /* 16 independent partial sums (fixed order, so still
         * deterministic) let the compiler use vector adds. */
        float part[16] = {0};
        size_t j = 0;
        for (; j + 16 <= np; j += 16)
            for (int l = 0; l < 16; l++)
                part[l] += d[j + (size_t)l];
        float acc = 0.0f;
        for (int l = 0; l < 16; l++)
            acc += part[l];
        for (; j < np; j++)
            acc += d[j];
        g[c] = acc;
    }
}

/* y = conv(x, w), no bias. `cache` (K x N*P) keeps the im2col matrix for
 * the backward pass, or is NULL (chunks rebuilt in the work buffer). */
static void conv_fwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                     const float *w, float *y, float *cache)
{
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k;
    if (is_pointwise(nd)) {
        sgemm((dim_t)nd->c, (dim_t)(n * P), (dim_t)K, 1.0f, w, (inc_t)K, 1, x, (inc_t)(n * P), 1, 0.0f, y,
              (inc_t)(n * P), 1);
    } else if (cache) {
        im2col(net, nd, in, x, n, 0, n, cache);
        sgemm((dim_t)nd->c, (dim_t)(n * P), (dim_t)K, 1.0f, w, (inc_t)K, 1, cache, (inc_t)(n * P), 1, 0.0f, y,
              (inc_t)(n * P), 1);
    } else {
        const size_t nbmax = chunk_images(nd, in, n, net->conv_budget ? net->conv_budget : CONV_WORK_BUDGET);
        for (size_t n0 = 0; n0 < n; n0 += nbmax) {
            size_t nb = n - n0 < nbmax ? n - n0 : nbmax;
            im2col(net, nd, in, x, n, n0, nb, net->work);
            sgemm((dim_t)nd->c, (dim_t)(nb * P), (dim_t)K, 1.0f, w, (inc_t)K, 1, net->work, (inc_t)(nb * P), 1,
                  0.0f, y + n0 * P, (inc_t)(n * P), 1);
        }
    }
}

/* gw = dL/dw (overwritten; skipped when NULL); dx = or += dL/dx (skipped
 * when NULL). `cache` must hold im2col(x) from conv_fwd, or be NULL. */
static void conv_bwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                     const float *w, const float *dy, float *gw, float *dx, int dx_acc, const float *cache)
{
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k;
    if (is_pointwise(nd)) {
        /* dW = dY (Cout x NP) . X^T ; dX = W^T . dY */
        if (gw)
            sgemm((dim_t)nd->c, (dim_t)K, (dim_t)(n * P), 1.0f, dy, (inc_t)(n * P), 1, x, 1, (inc_t)(n * P), 0.0f,
                  gw, (inc_t)K, 1);
        if (dx)
            sgemm((dim_t)K, (dim_t)(n * P), (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, dy, (inc_t)(n * P), 1,
                  dx_acc ? 1.0f : 0.0f, dx, (inc_t)(n * P), 1);
        return;
    }
    const size_t nbmax = chunk_images(nd, in, n, net->conv_budget ? net->conv_budget : CONV_WORK_BUDGET);
    if (dx && !dx_acc)
        memset(dx, 0, in->sz * n * sizeof(float));
    if (gw && cache)
        sgemm((dim_t)nd->c, (dim_t)K, (dim_t)(n * P), 1.0f, dy, (inc_t)(n * P), 1, cache, 1, (inc_t)(n * P), 0.0f,
              gw, (inc_t)K, 1);
    for (size_t n0 = 0; n0 < n; n0 += nbmax) {
        size_t nb = n - n0 < nbmax ? n - n0 : nbmax;
        const float *dyc = dy + n0 * P;
        if (gw && !cache) {
            im2col(net, nd, in, x, n, n0, nb, net->work);
            sgemm((dim_t)nd->c, (dim_t)K, (dim_t)(nb * P), 1.0f, dyc, (inc_t)(n * P), 1, net->work, 1,
                  (inc_t)(nb * P), n0 ? 1.0f : 0.0f, gw, (inc_t)K, 1);
        }
        if (!dx)
            continue;
        sgemm((dim_t)K, (dim_t)(nb * P), (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, dyc, (inc_t)(n * P), 1, 0.0f,
              net->work, (inc_t)(nb * P), 1);
        col2im(net, nd, in, net->work, n, n0, nb, dx);
    }
}

void sparse__conv_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    conv_fwd(net, nd, in, in->out, nd->params[0].w, nd->out, nd->aux);
    add_bias(net, nd, net->batch);
}

void sparse__conv_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    bias_grad(net, nd, net->batch);
    int acc = nd->need_dx ? sparse__dx_accumulate(net, in) : 1;
    conv_bwd(net, nd, in, in->out, nd->params[0].w, nd->dout, nd->params[0].g, nd->need_dx ? in->dout : NULL, acc,
             nd->aux);
}

/* ---- Depthwise ---- */

static void dw_fwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *xin,
                   const float *wt, const float *bias, float *yout)
{
    const size_t n = net->batch, k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * Ho * Wo * k * k))
    for (size_t c = 0; c < nd->c; c++) {
        const float *wc = wt + c * k * k;
        const float b = bias ? bias[c] : 0.0f;
        for (size_t i = 0; i < n; i++) {
            const float *x = xin + (c * n + i) * H * W;
            float *y = yout + (c * n + i) * Ho * Wo;
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

/* gw overwritten (NULL: skipped); dx accumulated (NULL: skipped). */
static void dw_bwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *xin,
                   const float *wt, const float *dyin, float *gw, float *dxin)
{
    const size_t n = net->batch, k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
    if (gw)
        memset(gw, 0, nd->c * k * k * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * Ho * Wo * k * k))
    for (size_t c = 0; c < nd->c; c++) {
        const float *wc = wt + c * k * k;
        float *gc = gw ? gw + c * k * k : NULL;
        for (size_t i = 0; i < n; i++) {
            const float *x = xin + (c * n + i) * H * W;
            float *dx = dxin ? dxin + (c * n + i) * H * W : NULL;
            const float *dy = dyin + (c * n + i) * Ho * Wo;
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
                            if (gc)
                                gc[ky * k + kx] += g * x[xi];
                            if (dx)
                                dx[xi] += g * wc[ky * k + kx];
                        }
                    }
                }
        }
    }
}

void sparse__dwconv_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    dw_fwd(net, nd, in, in->out, nd->params[0].w, nd->bias ? nd->params[1].w : NULL, nd->out);
}

void sparse__dwconv_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    bias_grad(net, nd, net->batch);
    if (nd->need_dx)
        sparse__dx_zero(net, in);
    dw_bwd(net, nd, in, in->out, nd->params[0].w, nd->dout, nd->params[0].g, nd->need_dx ? in->dout : NULL);
}

/* ---- Raw kernels for experimental hooks ---- */

static int raw_node(sparse_net *net, size_t id, const sparse__node **nd, const sparse__node **in,
                    const char *fn)
{
    if (!net)
        return sparse__error(SPARSE_EINVAL, "%s: net is NULL", fn);
    if (id == 0 || id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "%s: no node %zu", fn, id);
    *nd = &net->nodes[id];
    *in = &net->nodes[(*nd)->in[0]];
    if (!net->batch)
        return sparse__error(SPARSE_EINVAL, "%s: call it from a hook, during a pass", fn);
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_conv_forward(sparse_net *net, size_t id, const float *x, const float *weight, float *y)
{
    const sparse__node *nd = NULL, *in = NULL;
    int rc = raw_node(net, id, &nd, &in, "sparse_exp_conv_forward");
    if (rc)
        return rc;
    if (!x || !weight || !y)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_forward: NULL buffer");
    if (nd->kind == SPARSE_LAYER_CONV2D)
        conv_fwd(net, nd, in, x, weight, y, NULL);
    else if (nd->kind == SPARSE_LAYER_DEPTHWISE_CONV2D)
        dw_fwd(net, nd, in, x, weight, NULL, y);
    else
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_forward: node '%s' is not a convolution", nd->name);
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_conv_backward(sparse_net *net, size_t id, const float *x, const float *weight,
                                        const float *dy, float *dweight, float *dx)
{
    const sparse__node *nd = NULL, *in = NULL;
    int rc = raw_node(net, id, &nd, &in, "sparse_exp_conv_backward");
    if (rc)
        return rc;
    if (!x || !weight || !dy)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_backward: NULL buffer");
    if (nd->kind == SPARSE_LAYER_CONV2D)
        conv_bwd(net, nd, in, x, weight, dy, dweight, dx, 1, NULL);
    else if (nd->kind == SPARSE_LAYER_DEPTHWISE_CONV2D)
        dw_bwd(net, nd, in, x, weight, dy, dweight, dx);
    else
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_backward: node '%s' is not a convolution", nd->name);
    return SPARSE_OK;
}
