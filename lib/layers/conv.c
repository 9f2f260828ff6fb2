/* Convolutions on (C, H, W, N) activations. Which path a layer takes is a
 * fixed rule of its shape (sparse__conv_is_direct), never a timing:
 *  - stride-1 convolutions with kernels of 2 and more run the direct
 *    kernels of kern.h (no im2col matrix): the forward pass and the input
 *    gradient (the forward kernel on the output gradient with the flipped,
 *    transposed weights) clip their windows at the borders, the weight
 *    gradient reads a copy of the input with its padding written out;
 *  - 1x1 stride-1 convolutions are one bli_sgemm on the activations as
 *    they are (the input is the column matrix);
 *  - strided convolutions are im2col + bli_sgemm, W (Cout x K) times col
 *    (K x positions*N), over chunks of output positions; the whole im2col
 *    matrix is kept for the backward pass when it is small enough.
 * Depthwise convolutions are direct loops over the images of a position. */
#include <string.h>

#include "gemm.h"
#include "kern.h"

int sparse__conv_is_direct(const sparse__node *nd)
{
    return nd->kind == SPARSE_LAYER_CONV2D && nd->stride == 1 && nd->k > 1;
}

static int is_pointwise(const sparse__node *nd)
{
    return nd->k == 1 && nd->stride == 1 && nd->pt == 0 && nd->pl == 0 && nd->pb == 0 && nd->pr == 0;
}

static int has_padding(const sparse__node *nd) { return nd->pt || nd->pl || nd->pb || nd->pr; }

/* im2col chunks are kept near L2/L3 size: bigger chunks do not make the
 * GEMM faster but cost memory on wide layers. */
#define CONV_WORK_BUDGET ((size_t)1 << 20)

/* Output positions per im2col chunk (columns: positions times images). */
static size_t chunk_positions(const sparse__node *nd, const sparse__node *in, size_t max_batch, size_t budget)
{
    const size_t per = in->c * nd->k * nd->k * max_batch, P = nd->h * nd->w;
    size_t np = budget / (per ? per : 1);
    if (np < 1)
        np = 1;
    return np < P ? np : P;
}

/* The forward im2col matrix is kept for the backward pass when it is not
 * too large (it would otherwise be rebuilt); above the cap, chunks of it
 * are rebuilt in the shared work buffer. */
#define CONV_CACHE_CAP ((size_t)8 << 20)

size_t sparse__conv_cache(const sparse__node *nd, const sparse__node *in, size_t max_batch)
{
    if (is_pointwise(nd) || sparse__conv_is_direct(nd))
        return 0;
    size_t sz = in->c * nd->k * nd->k * nd->h * nd->w * max_batch;
    return sz <= CONV_CACHE_CAP ? sz : 0;
}

/* Rows and columns of the input with its padding written out, as the
 * weight gradient reads it. */
static size_t padded_rows(const sparse__node *nd) { return (nd->h - 1) * nd->stride + nd->k; }
static size_t padded_cols(const sparse__node *nd) { return (nd->w - 1) * nd->stride + nd->k; }

size_t sparse__conv_work(const sparse__node *nd, const sparse__node *in, size_t max_batch)
{
    if (is_pointwise(nd))
        return 0;
    if (sparse__conv_is_direct(nd))
        return has_padding(nd) ? in->c * padded_rows(nd) * padded_cols(nd) * max_batch : 0;
    return chunk_positions(nd, in, max_batch, CONV_WORK_BUDGET) * in->c * nd->k * nd->k * max_batch;
}

size_t sparse__conv_packed(const sparse__node *nd)
{
    return sparse__conv_is_direct(nd) ? 2 * nd->params[0].n : 0;
}

static sparse__conv_geo geometry(const sparse__node *nd, const sparse__node *in)
{
    sparse__conv_geo g = {in->c, nd->c, nd->k, nd->stride, in->h, in->w, nd->h, nd->w, nd->pt, nd->pl};
    return g;
}

/* Nominal flops of a convolution pass (padding taps included), for the
 * profiling counters. */
static void count(sparse_net *net, double t0, const sparse__node *nd, const sparse__node *in)
{
    if (!net->prof)
        return;
    net->pr.conv_gemm_seconds += sparse__now() - t0;
    net->pr.conv_gemm_flops +=
        2.0 * (double)nd->c * (double)(nd->h * nd->w * net->batch) * (double)(in->c * nd->k * nd->k);
}

#define sgemm(...) sparse__sgemm(net, &net->pr.conv_gemm_seconds, &net->pr.conv_gemm_flops, __VA_ARGS__)

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

/* col[(ci,ky,kx)][(p - p0, i)] for output positions [p0, p1): at each
 * position the n images of one input pixel, or zeros in the padding. */
static void im2col(const sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                   size_t p0, size_t p1, float *col)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Wo = nd->w, n = net->batch;
    const size_t ld = (p1 - p0) * n, rows = in->c * k * k;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, rows * ld))
    for (size_t r = 0; r < rows; r++) {
        const size_t ci = r / (k * k), ky = (r / k) % k, kx = r % k;
        float *dst = col + r * ld;
        size_t lo, hi;
        valid_ox(nd->pl, kx, s, W, Wo, &lo, &hi);
        for (size_t p = p0; p < p1; p++, dst += n) {
            const size_t oy = p / Wo, ox = p % Wo;
            const ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
            if (iy < 0 || iy >= (ptrdiff_t)H || ox < lo || ox >= hi) {
                memset(dst, 0, n * sizeof(float));
                continue;
            }
            const size_t ix = ox * s + kx - nd->pl;
            memcpy(dst, x + ((ci * H + (size_t)iy) * W + ix) * n, n * sizeof(float));
        }
    }
}

static void col2im(const sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *col,
                   size_t p0, size_t p1, float *dx)
{
    const size_t k = nd->k, s = nd->stride, H = in->h, W = in->w, Wo = nd->w, n = net->batch;
    const size_t ld = (p1 - p0) * n;
    /* Parallel over input channels only: the k*k rows of one channel add
     * into the same plane. */
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, in->c * k * k * ld))
    for (size_t ci = 0; ci < in->c; ci++)
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                const float *src = col + ((ci * k + ky) * k + kx) * ld;
                size_t lo, hi;
                valid_ox(nd->pl, kx, s, W, Wo, &lo, &hi);
                for (size_t p = p0; p < p1; p++, src += n) {
                    const size_t oy = p / Wo, ox = p % Wo;
                    const ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                    if (iy < 0 || iy >= (ptrdiff_t)H || ox < lo || ox >= hi)
                        continue;
                    float *restrict d = dx + ((ci * H + (size_t)iy) * W + ox * s + kx - nd->pl) * n;
                    for (size_t i = 0; i < n; i++)
                        d[i] += src[i];
                }
            }
}

static size_t budget_positions(const sparse_net *net, const sparse__node *nd, const sparse__node *in)
{
    return chunk_positions(nd, in, net->max_batch, net->conv_budget ? net->conv_budget : CONV_WORK_BUDGET);
}

/* x with its padding written out: (cin, hp, wp, n), hp x wp as
 * padded_rows x padded_cols. */
static void pad_input(const sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *x,
                      float *xp)
{
    const size_t n = net->batch, H = in->h, W = in->w, hp = padded_rows(nd), wp = padded_cols(nd);
    const size_t right = wp - W - nd->pl;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, in->c * hp * wp * n))
    for (size_t ci = 0; ci < in->c; ci++)
        for (size_t r = 0; r < hp; r++) {
            float *dst = xp + (ci * hp + r) * wp * n;
            if (r < nd->pt || r - nd->pt >= H) {
                memset(dst, 0, wp * n * sizeof(float));
                continue;
            }
            memset(dst, 0, nd->pl * n * sizeof(float));
            memcpy(dst + nd->pl * n, x + (ci * H + r - nd->pt) * W * n, W * n * sizeof(float));
            memset(dst + (nd->pl + W) * n, 0, right * n * sizeof(float));
        }
}

/* y = conv(x, w) + bias (NULL: none). `cache` (K x P*N) keeps the im2col
 * matrix for the backward pass, or is NULL (chunks rebuilt in the work
 * buffer). */
static void conv_fwd(sparse_net *net, sparse__node *nd, const sparse__node *in, const float *x, const float *w,
                     const float *bias, float *y, float *cache)
{
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k, NP = n * P;
    if (sparse__conv_is_direct(nd)) {
        double t0 = net->prof ? sparse__now() : 0.0;
        const sparse__conv_geo g = geometry(nd, in);
        sparse__conv_pack(w, nd->c, in->c, nd->k, net->kern.cblock, 0, nd->wpk);
        net->kern.conv_direct(&g, x, nd->wpk, bias, y, n, 0, SPARSE__NT(net, NP * K * nd->c));
        count(net, t0, nd, in);
        return;
    }
    if (is_pointwise(nd)) {
        sgemm((dim_t)nd->c, (dim_t)NP, (dim_t)K, 1.0f, w, (inc_t)K, 1, x, (inc_t)NP, 1, 0.0f, y, (inc_t)NP, 1);
    } else if (cache) {
        im2col(net, nd, in, x, 0, P, cache);
        sgemm((dim_t)nd->c, (dim_t)NP, (dim_t)K, 1.0f, w, (inc_t)K, 1, cache, (inc_t)NP, 1, 0.0f, y, (inc_t)NP, 1);
    } else {
        const size_t chunk = budget_positions(net, nd, in);
        for (size_t p0 = 0; p0 < P; p0 += chunk) {
            const size_t p1 = P - p0 < chunk ? P : p0 + chunk;
            im2col(net, nd, in, x, p0, p1, net->work);
            sgemm((dim_t)nd->c, (dim_t)((p1 - p0) * n), (dim_t)K, 1.0f, w, (inc_t)K, 1, net->work,
                  (inc_t)((p1 - p0) * n), 1, 0.0f, y + p0 * n, (inc_t)NP, 1);
        }
    }
    if (bias) {
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * NP))
        for (size_t c = 0; c < nd->c; c++) {
            float *o = y + c * NP;
            const float bc = bias[c];
            for (size_t j = 0; j < NP; j++)
                o[j] += bc;
        }
    }
}

static void direct_bwd(sparse_net *net, sparse__node *nd, const sparse__node *in, const float *x, const float *w,
                       const float *dy, float *gw, float *dx, int dx_acc)
{
    const size_t n = net->batch, work = n * nd->h * nd->w * in->c * nd->k * nd->k * nd->c;
    const sparse__conv_geo g = geometry(nd, in);
    double t0 = net->prof ? sparse__now() : 0.0;
    if (gw) {
        const float *xp = x;
        if (has_padding(nd)) {
            pad_input(net, nd, in, x, net->work);
            xp = net->work;
        }
        net->kern.conv_wgrad(&g, xp, dy, gw, n, SPARSE__NT(net, work));
        count(net, t0, nd, in);
    }
    if (dx) {
        /* the transposed convolution: stride 1, the complementary padding */
        t0 = net->prof ? sparse__now() : 0.0;
        const sparse__conv_geo t = {nd->c, in->c, nd->k, 1, nd->h, nd->w, in->h, in->w,
                                    nd->k - 1 - nd->pt, nd->k - 1 - nd->pl};
        float *wt = nd->wpk + nd->params[0].n;
        sparse__conv_pack(w, nd->c, in->c, nd->k, net->kern.cblock, 1, wt);
        net->kern.conv_direct(&t, dy, wt, NULL, dx, n, dx_acc, SPARSE__NT(net, work));
        count(net, t0, nd, in);
    }
}

/* gw = dL/dw (overwritten; skipped when NULL); dx = or += dL/dx (skipped
 * when NULL). `cache` must hold im2col(x) from conv_fwd, or be NULL. */
static void conv_bwd(sparse_net *net, sparse__node *nd, const sparse__node *in, const float *x, const float *w,
                     const float *dy, float *gw, float *dx, int dx_acc, const float *cache)
{
    const size_t n = net->batch, P = nd->h * nd->w, K = in->c * nd->k * nd->k, NP = n * P;
    if (sparse__conv_is_direct(nd)) {
        direct_bwd(net, nd, in, x, w, dy, gw, dx, dx_acc);
        return;
    }
    if (is_pointwise(nd)) {
        /* dW = dY (Cout x NP) . X^T ; dX = W^T . dY */
        if (gw)
            sgemm((dim_t)nd->c, (dim_t)K, (dim_t)NP, 1.0f, dy, (inc_t)NP, 1, x, 1, (inc_t)NP, 0.0f, gw, (inc_t)K, 1);
        if (dx)
            sgemm((dim_t)K, (dim_t)NP, (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, dy, (inc_t)NP, 1, dx_acc ? 1.0f : 0.0f, dx,
                  (inc_t)NP, 1);
        return;
    }
    const size_t chunk = budget_positions(net, nd, in);
    if (dx && !dx_acc)
        memset(dx, 0, in->sz * n * sizeof(float));
    if (gw && cache)
        sgemm((dim_t)nd->c, (dim_t)K, (dim_t)NP, 1.0f, dy, (inc_t)NP, 1, cache, 1, (inc_t)NP, 0.0f, gw, (inc_t)K, 1);
    for (size_t p0 = 0; p0 < P; p0 += chunk) {
        const size_t p1 = P - p0 < chunk ? P : p0 + chunk, cols = (p1 - p0) * n;
        const float *dyc = dy + p0 * n;
        if (gw && !cache) {
            im2col(net, nd, in, x, p0, p1, net->work);
            sgemm((dim_t)nd->c, (dim_t)K, (dim_t)cols, 1.0f, dyc, (inc_t)NP, 1, net->work, 1, (inc_t)cols,
                  p0 ? 1.0f : 0.0f, gw, (inc_t)K, 1);
        }
        if (!dx)
            continue;
        sgemm((dim_t)K, (dim_t)cols, (dim_t)nd->c, 1.0f, w, 1, (inc_t)K, dyc, (inc_t)NP, 1, 0.0f, net->work,
              (inc_t)cols, 1);
        col2im(net, nd, in, net->work, p0, p1, dx);
    }
}

void sparse__conv_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    conv_fwd(net, nd, in, in->out, nd->params[0].w, nd->bias ? nd->params[1].w : NULL, nd->out, nd->aux);
}

/* 16 partial sums in a fixed order: vectorisable and deterministic. */
static float sum16(const float *d, size_t m)
{
    float part[16] = {0};
    size_t j = 0;
    for (; j + 16 <= m; j += 16)
        for (int l = 0; l < 16; l++)
            part[l] += d[j + (size_t)l];
    float acc = 0.0f;
    for (int l = 0; l < 16; l++)
        acc += part[l];
    for (; j < m; j++)
        acc += d[j];
    return acc;
}

void sparse__bias_grad(const sparse_net *net, const sparse__node *nd, const float *dy, float *g)
{
    const size_t np = net->batch * nd->h * nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * np))
    for (size_t c = 0; c < nd->c; c++)
        g[c] = sum16(dy + c * np, np);
}

static void bias_grad(const sparse_net *net, const sparse__node *nd)
{
    if (nd->bias)
        sparse__bias_grad(net, nd, nd->dout, nd->params[1].g);
}

void sparse__conv_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    bias_grad(net, nd);
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
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                float *restrict y = yout + ((c * Ho + oy) * Wo + ox) * n;
                for (size_t i = 0; i < n; i++)
                    y[i] = b;
                for (size_t ky = 0; ky < k; ky++) {
                    const ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                    if (iy < 0 || iy >= (ptrdiff_t)H)
                        continue;
                    for (size_t kx = 0; kx < k; kx++) {
                        const ptrdiff_t ix = (ptrdiff_t)(ox * s + kx) - (ptrdiff_t)nd->pl;
                        if (ix < 0 || ix >= (ptrdiff_t)W)
                            continue;
                        const float *restrict x = xin + ((c * H + (size_t)iy) * W + (size_t)ix) * n;
                        const float wv = wc[ky * k + kx];
                        for (size_t i = 0; i < n; i++)
                            y[i] += wv * x[i];
                    }
                }
            }
    }
}

/* gw overwritten (NULL: skipped); dx accumulated (NULL: skipped). */
static void dw_bwd(sparse_net *net, const sparse__node *nd, const sparse__node *in, const float *xin,
                   const float *wt, const float *dyin, float *gw, float *dxin)
{
    const size_t n = net->batch, k = nd->k, s = nd->stride, H = in->h, W = in->w, Ho = nd->h, Wo = nd->w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * n * Ho * Wo * k * k))
    for (size_t c = 0; c < nd->c; c++) {
        const float *wc = wt + c * k * k;
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                float part[16] = {0}, acc = 0.0f;
                for (size_t oy = 0; oy < Ho; oy++) {
                    const ptrdiff_t iy = (ptrdiff_t)(oy * s + ky) - (ptrdiff_t)nd->pt;
                    if (iy < 0 || iy >= (ptrdiff_t)H)
                        continue;
                    for (size_t ox = 0; ox < Wo; ox++) {
                        const ptrdiff_t ix = (ptrdiff_t)(ox * s + kx) - (ptrdiff_t)nd->pl;
                        if (ix < 0 || ix >= (ptrdiff_t)W)
                            continue;
                        const size_t xo = ((c * H + (size_t)iy) * W + (size_t)ix) * n;
                        const float *restrict dy = dyin + ((c * Ho + oy) * Wo + ox) * n;
                        const float *restrict x = xin + xo;
                        if (gw) {
                            size_t i = 0;
                            for (; i + 16 <= n; i += 16)
                                for (int l = 0; l < 16; l++)
                                    part[l] += dy[i + (size_t)l] * x[i + (size_t)l];
                            for (; i < n; i++)
                                acc += dy[i] * x[i];
                        }
                        if (dxin) {
                            float *restrict dx = dxin + xo;
                            const float wv = wc[ky * k + kx];
                            for (size_t i = 0; i < n; i++)
                                dx[i] += wv * dy[i];
                        }
                    }
                }
                if (gw) {
                    for (int l = 0; l < 16; l++)
                        acc += part[l];
                    gw[(c * k + ky) * k + kx] = acc;
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
    bias_grad(net, nd);
    if (nd->need_dx)
        sparse__dx_zero(net, in);
    dw_bwd(net, nd, in, in->out, nd->params[0].w, nd->dout, nd->params[0].g, nd->need_dx ? in->dout : NULL);
}

/* ---- Raw kernels for the variational passes and experimental hooks ---- */

void sparse__conv_apply(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *bias, float *y)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    if (nd->kind == SPARSE_LAYER_CONV2D)
        conv_fwd(net, nd, in, x, w, bias, y, NULL);
    else
        dw_fwd(net, nd, in, x, w, bias, y);
}

void sparse__conv_grad(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *dy, float *gw,
                       float *dx, int dx_acc)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    if (nd->kind == SPARSE_LAYER_CONV2D) {
        conv_bwd(net, nd, in, x, w, dy, gw, dx, dx_acc, NULL);
        return;
    }
    if (dx && !dx_acc)
        memset(dx, 0, in->sz * net->batch * sizeof(float));
    dw_bwd(net, nd, in, x, w, dy, gw, dx);
}

static int raw_node(sparse_net *net, size_t id, sparse__node **nd, const sparse__node **in, const char *fn)
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
    sparse__node *nd = NULL;
    const sparse__node *in = NULL;
    int rc = raw_node(net, id, &nd, &in, "sparse_exp_conv_forward");
    if (rc)
        return rc;
    if (!x || !weight || !y)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_forward: NULL buffer");
    if (nd->kind == SPARSE_LAYER_CONV2D)
        conv_fwd(net, nd, in, x, weight, NULL, y, NULL);
    else if (nd->kind == SPARSE_LAYER_DEPTHWISE_CONV2D)
        dw_fwd(net, nd, in, x, weight, NULL, y);
    else
        return sparse__error(SPARSE_EINVAL, "sparse_exp_conv_forward: node '%s' is not a convolution", nd->name);
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_conv_backward(sparse_net *net, size_t id, const float *x, const float *weight,
                                        const float *dy, float *dweight, float *dx)
{
    sparse__node *nd = NULL;
    const sparse__node *in = NULL;
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
