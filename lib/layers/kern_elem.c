/* Pooling, batch norm and ReLU kernels (kern.h), one copy per instruction
 * set. Each works on one channel's contiguous run of (H, W, N) values;
 * the caller splits channels between threads. Max pooling compares and
 * selects whole vectors of images (vector types, so that even the SSE2
 * variant selects without branches); the rest are plain loops that the
 * compiler vectorises. Batch-norm sums use 8 double partial sums in a
 * fixed order, the same in every variant. */
#include "kern_isa.h"

INLINE vi iota(void)
{
    vi v;
    for (int l = 0; l < VL; l++)
        v[l] = l;
    return v;
}

/* Flat offset, within the output channel's group of input channels, of
 * window element (d, ky, kx) of output (oy, ox). */
INLINE size_t win(const sparse__pool_geo *g, size_t d, size_t oy, size_t ox, size_t ky, size_t kx)
{
    return ((d * g->h + oy * g->s + ky) * g->w + ox * g->s + kx) * g->n;
}

/* The window's first element seeds the maximum, a later one replaces it
 * only when strictly greater (a NaN seed stays). */
static void maxpool(const sparse__pool_geo *g, const float *x, size_t base, float *y, int32_t *idx)
{
    const size_t n = g->n, nv = n / VL * VL;
    const vi lanes = iota();
    for (size_t oy = 0; oy < g->ho; oy++)
        for (size_t ox = 0; ox < g->wo; ox++) {
            float *yo = y + (oy * g->wo + ox) * n;
            int32_t *io = idx + (oy * g->wo + ox) * n;
            const size_t e0 = win(g, 0, oy, ox, 0, 0);
            for (size_t i = 0; i < nv; i += VL) {
                vf best = ld(x + e0 + i);
                vi bi = lanes + (int32_t)(base + e0 + i);
                for (size_t d = 0; d < g->dr; d++)
                    for (size_t ky = 0; ky < g->k; ky++)
                        for (size_t kx = 0; kx < g->k; kx++) {
                            const size_t e = win(g, d, oy, ox, ky, kx);
                            const vf v = ld(x + e + i);
                            const vi m = v > best;
                            best = sel(m, v, best);
                            bi = (m & (lanes + (int32_t)(base + e + i))) | (~m & bi);
                        }
                st(yo + i, best);
                sti(io + i, bi);
            }
            for (size_t i = nv; i < n; i++) {
                float best = x[e0 + i];
                int32_t bi = (int32_t)(base + e0 + i);
                for (size_t d = 0; d < g->dr; d++)
                    for (size_t ky = 0; ky < g->k; ky++)
                        for (size_t kx = 0; kx < g->k; kx++) {
                            const size_t e = win(g, d, oy, ox, ky, kx);
                            if (x[e + i] > best) {
                                best = x[e + i];
                                bi = (int32_t)(base + e + i);
                            }
                        }
                yo[i] = best;
                io[i] = bi;
            }
        }
}

/* Windows that tile the input (stride = size, one channel): each covered
 * input pixel takes its output's gradient if it was the maximum, else 0. */
static void maxpool_grad(const sparse__pool_geo *g, const float *dy, const int32_t *idx, size_t base, float *dx,
                         int acc)
{
    const size_t n = g->n, nv = n / VL * VL;
    const vi lanes = iota();
    const vf zero = {0};
    for (size_t oy = 0; oy < g->ho; oy++)
        for (size_t ox = 0; ox < g->wo; ox++) {
            const size_t o = (oy * g->wo + ox) * n;
            for (size_t ky = 0; ky < g->k; ky++)
                for (size_t kx = 0; kx < g->k; kx++) {
                    const size_t e = win(g, 0, oy, ox, ky, kx);
                    for (size_t i = 0; i < nv; i += VL) {
                        const vi m = ldi(idx + o + i) == lanes + (int32_t)(base + e + i);
                        const vf v = sel(m, ld(dy + o + i), zero);
                        st(dx + e + i, acc ? ld(dx + e + i) + v : v);
                    }
                    for (size_t i = nv; i < n; i++) {
                        const float v = idx[o + i] == (int32_t)(base + e + i) ? dy[o + i] : 0.0f;
                        dx[e + i] = acc ? dx[e + i] + v : v;
                    }
                }
        }
}

#define PARTS 8

static void bn_moments(const float *x, size_t m, double *mean, double *var)
{
    /* sums of x - x[0], so that a large mean does not swamp the variance */
    const double k = m ? x[0] : 0.0;
    double s1[PARTS] = {0}, s2[PARTS] = {0};
    size_t j = 0;
    for (; j + PARTS <= m; j += PARTS)
        for (int l = 0; l < PARTS; l++) {
            const double d = (double)x[j + (size_t)l] - k;
            s1[l] += d;
            s2[l] += d * d;
        }
    double a = 0.0, b = 0.0;
    for (int l = 0; l < PARTS; l++) {
        a += s1[l];
        b += s2[l];
    }
    for (; j < m; j++) {
        const double d = (double)x[j] - k;
        a += d;
        b += d * d;
    }
    const double mm = m ? (double)m : 1.0, v = (b - a * a / mm) / mm;
    *mean = k + a / mm;
    *var = v > 0.0 ? v : 0.0;
}

INLINE float bn1(float x, float mu, float inv, float g, float b) { return g * ((x - mu) * inv) + b; }

static void bn_norm(const float *restrict x, size_t m, float mu, float inv, float g, float b, float *restrict y)
{
    for (size_t j = 0; j < m; j++)
        y[j] = bn1(x[j], mu, inv, g, b);
}

static void bn_grad_sums(const float *restrict dy, const float *restrict x, size_t m, float mu, float inv,
                         double *sdy, double *sdyx)
{
    double s1[PARTS] = {0}, s2[PARTS] = {0};
    size_t j = 0;
    for (; j + PARTS <= m; j += PARTS)
        for (int l = 0; l < PARTS; l++) {
            const double d = dy[j + (size_t)l];
            s1[l] += d;
            s2[l] += d * ((x[j + (size_t)l] - mu) * inv);
        }
    double a = 0.0, b = 0.0;
    for (int l = 0; l < PARTS; l++) {
        a += s1[l];
        b += s2[l];
    }
    for (; j < m; j++) {
        a += dy[j];
        b += (double)dy[j] * ((x[j] - mu) * inv);
    }
    *sdy = a;
    *sdyx = b;
}

/* dx (= or +=) k (dy - a - xh b) */
static void bn_dx(const float *restrict dy, const float *restrict x, size_t m, float mu, float inv, float k, float a,
                  float b, float *restrict dx, int acc)
{
    if (acc)
        for (size_t j = 0; j < m; j++)
            dx[j] += k * (dy[j] - a - ((x[j] - mu) * inv) * b);
    else
        for (size_t j = 0; j < m; j++)
            dx[j] = k * (dy[j] - a - ((x[j] - mu) * inv) * b);
}

/* ---- Fused groups ---- */

/* The group's steps before the pooling, on one value. */
INLINE float epi1(const sparse__epi *e, float x)
{
    const float v = e->bn ? bn1(x, e->mu, e->inv, e->g, e->b) : x;
    return e->relu ? (v > 0.0f ? v : 0.0f) : v;
}

INLINE vf epiv(const sparse__epi *e, vf x)
{
    const vf zero = {0};
    const vf v = e->bn ? e->g * ((x - e->mu) * e->inv) + e->b : x;
    return e->relu ? sel(v > zero, v, zero) : v;
}

static void epi_forward(const sparse__epi *e, const float *restrict x, size_t base, float *restrict out,
                        int32_t *restrict idx)
{
    const size_t n = e->n, nv = n / VL * VL, k = e->pool;
    if (!k) {
        for (size_t j = 0; j < e->h * e->w * n; j++)
            out[j] = epi1(e, x[j]);
        return;
    }
    const sparse__pool_geo g = {1, e->h, e->w, k, k, e->ho, e->wo, n};
    const vi lanes = iota();
    for (size_t oy = 0; oy < e->ho; oy++)
        for (size_t ox = 0; ox < e->wo; ox++) {
            const size_t o = (oy * e->wo + ox) * n, e0 = win(&g, 0, oy, ox, 0, 0);
            for (size_t i = 0; i < nv; i += VL) {
                vf best = epiv(e, ld(x + e0 + i));
                vi bi = lanes + (int32_t)(base + e0 + i);
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++) {
                        const size_t el = win(&g, 0, oy, ox, ky, kx);
                        const vf v = epiv(e, ld(x + el + i));
                        const vi m = v > best;
                        best = sel(m, v, best);
                        bi = (m & (lanes + (int32_t)(base + el + i))) | (~m & bi);
                    }
                st(out + o + i, best);
                if (idx)
                    sti(idx + o + i, bi);
            }
            for (size_t i = nv; i < n; i++) {
                float best = epi1(e, x[e0 + i]);
                int32_t bi = (int32_t)(base + e0 + i);
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++) {
                        const size_t el = win(&g, 0, oy, ox, ky, kx);
                        const float v = epi1(e, x[el + i]);
                        if (v > best) {
                            best = v;
                            bi = (int32_t)(base + el + i);
                        }
                    }
                out[o + i] = best;
                if (idx)
                    idx[o + i] = bi;
            }
        }
}

/* d through the ReLU of value x (its pre-ReLU value recomputed). */
INLINE float relu_pass(const sparse__epi *e, float x, float d)
{
    if (!e->relu)
        return d;
    const float v = e->bn ? bn1(x, e->mu, e->inv, e->g, e->b) : x;
    return v > 0.0f ? d : 0.0f;
}

INLINE vf relu_passv(const sparse__epi *e, vf x, vf d)
{
    if (!e->relu)
        return d;
    const vf zero = {0};
    const vf v = e->bn ? e->g * ((x - e->mu) * e->inv) + e->b : x;
    return sel(v > zero, d, zero);
}

static void epi_backward(const sparse__epi *e, const float *restrict x, const float *restrict dlast,
                         const int32_t *restrict idx, size_t base, float *restrict dz, int acc)
{
    const size_t n = e->n, nv = n / VL * VL, k = e->pool;
    if (!k) {
        for (size_t j = 0; j < e->h * e->w * n; j++) {
            const float v = relu_pass(e, x[j], dlast[j]);
            dz[j] = acc ? dz[j] + v : v;
        }
        return;
    }
    if (!acc) /* rows and columns no window reaches */
        for (size_t y = 0; y < e->h; y++)
            for (size_t c = y < e->ho * k ? e->wo * k : 0; c < e->w; c++)
                memset(dz + (y * e->w + c) * n, 0, n * sizeof *dz);
    const sparse__pool_geo g = {1, e->h, e->w, k, k, e->ho, e->wo, n};
    const vi lanes = iota();
    const vf zero = {0};
    for (size_t oy = 0; oy < e->ho; oy++)
        for (size_t ox = 0; ox < e->wo; ox++) {
            const size_t o = (oy * e->wo + ox) * n;
            for (size_t ky = 0; ky < k; ky++)
                for (size_t kx = 0; kx < k; kx++) {
                    const size_t el = win(&g, 0, oy, ox, ky, kx);
                    for (size_t i = 0; i < nv; i += VL) {
                        const vi m = ldi(idx + o + i) == lanes + (int32_t)(base + el + i);
                        const vf v = relu_passv(e, ld(x + el + i), sel(m, ld(dlast + o + i), zero));
                        st(dz + el + i, acc ? ld(dz + el + i) + v : v);
                    }
                    for (size_t i = nv; i < n; i++) {
                        const float d = idx[o + i] == (int32_t)(base + el + i) ? dlast[o + i] : 0.0f;
                        const float v = relu_pass(e, x[el + i], d);
                        dz[el + i] = acc ? dz[el + i] + v : v;
                    }
                }
        }
}

static void relu(const float *restrict x, float *restrict y, size_t m)
{
    for (size_t j = 0; j < m; j++)
        y[j] = x[j] > 0.0f ? x[j] : 0.0f;
}

/* Unconditional loads, then a select: vectorises to a blend. */
static void relu_grad(const float *restrict y, const float *restrict dy, float *restrict dx, size_t m, int acc)
{
    if (acc)
        for (size_t j = 0; j < m; j++) {
            const float g = dy[j];
            dx[j] += y[j] > 0.0f ? g : 0.0f;
        }
    else
        for (size_t j = 0; j < m; j++) {
            const float g = dy[j];
            dx[j] = y[j] > 0.0f ? g : 0.0f;
        }
}

void VARIANT(sparse__kern_elem)(sparse__kern *k)
{
    k->maxpool = maxpool;
    k->maxpool_grad = maxpool_grad;
    k->bn_moments = bn_moments;
    k->bn_norm = bn_norm;
    k->bn_grad_sums = bn_grad_sums;
    k->bn_dx = bn_dx;
    k->epi_forward = epi_forward;
    k->epi_backward = epi_backward;
    k->relu = relu;
    k->relu_grad = relu_grad;
}
