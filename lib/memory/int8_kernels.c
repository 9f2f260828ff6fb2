/* The int8 kernels (see int8_kernels.h): direct loops with int32
 * accumulators, no scratch memory, the rounding rules of TFLite's reference
 * kernels. This text is also copied into every exported model, so it stays
 * freestanding C99: no float, no allocation, no library call. */
#ifndef SPARSE_Q8_AMALGAMATED
#include "int8_kernels.h"
#endif

static int8_t SPARSE_Q8(clamp)(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

static int32_t SPARSE_Q8(sat_add)(int32_t a, int32_t b)
{
    if (b > 0 && a > INT32_MAX - b)
        return INT32_MAX;
    if (b < 0 && a < INT32_MIN - b)
        return INT32_MIN;
    return a + b;
}

SPARSE_Q8_FN int32_t SPARSE_Q8(srdhm)(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t t = ab + (ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30));
    /* t / 2^31 truncated toward zero, as gemmlowp's division; shifts of
     * non-negative values only, so no 64-bit division is compiled in. */
    return (int32_t)(t >= 0 ? t >> 31 : -((-t) >> 31));
}

SPARSE_Q8_FN int32_t SPARSE_Q8(rdivpot)(int32_t x, int e)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* Arithmetic shift of a negative value: implementation-defined in C, an
     * arithmetic shift on every compiler libsparse supports (as in TFLite). */
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

SPARSE_Q8_FN int32_t SPARSE_Q8(mul)(int32_t x, int32_t m, int shift)
{
    if (shift < -31)
        return 0;
    if (shift > 0) {
        /* x * 2^shift saturated: 64 bits hold it for shifts up to 31. */
        const int64_t xs = (int64_t)x * ((int64_t)1 << (shift > 31 ? 31 : shift));
        x = xs > INT32_MAX ? INT32_MAX : xs < INT32_MIN ? INT32_MIN : (int32_t)xs;
        return SPARSE_Q8(srdhm)(x, m);
    }
    return SPARSE_Q8(rdivpot)(SPARSE_Q8(srdhm)(x, m), -shift);
}

/* ---- Convolution: one dot product per output pixel and channel ----
 *
 * sum_taps w * (x - zp) = sum_taps w * x - zp * sum_taps w: the zero point is
 * folded out of the inner loops (exact in int32: sparse_qnet_create bounds
 * the row length). A tap in the padding reads as zp, contributing nothing,
 * so the identity holds for every window. */

/* The output pixel's window: the group's first input channel and the
 * position of the top-left tap (negative in the padding). */
typedef struct SPARSE_Q8(window) {
    const int8_t *x;
    ptrdiff_t y0, x0;
    int inside; /* every tap inside the image */
} SPARSE_Q8(window);

/* The hot loop gets a function of its own: inlined into the whole network,
 * it ran out of registers (Cortex-M4, -Os: 9 instructions per 3x3 tap
 * against 3.5). */
#if defined(__GNUC__)
#define SPARSE_Q8_NOINLINE __attribute__((noinline))
#else
#define SPARSE_Q8_NOINLINE
#endif

/* sum w * x over the window, every tap inside; x is the top-left tap in the
 * group's first channel. */
static SPARSE_Q8_NOINLINE int32_t SPARSE_Q8(dot_dense_inside)(const SPARSE_Q8(conv_params) *p, const int8_t *w,
                                                              const int8_t *x)
{
    const uint32_t cin = p->in_c / p->groups;
    const size_t k = p->k, W = p->in_w, plane = (size_t)p->in_h * p->in_w;
    int32_t acc = 0;
    if (k == 1) {
        for (uint32_t c = 0; c < cin; c++, x += plane)
            acc += (int32_t)w[c] * *x;
    } else if (k == 3) {
        for (uint32_t c = 0; c < cin; c++, x += plane, w += 9) {
            const int8_t *x1 = x + W, *x2 = x1 + W;
            acc += (int32_t)w[0] * x[0] + (int32_t)w[1] * x[1] + (int32_t)w[2] * x[2];
            acc += (int32_t)w[3] * x1[0] + (int32_t)w[4] * x1[1] + (int32_t)w[5] * x1[2];
            acc += (int32_t)w[6] * x2[0] + (int32_t)w[7] * x2[1] + (int32_t)w[8] * x2[2];
        }
    } else {
        for (uint32_t c = 0; c < cin; c++, x += plane)
            for (size_t ky = 0; ky < k; ky++, w += k)
                for (size_t kx = 0; kx < k; kx++)
                    acc += (int32_t)w[kx] * x[ky * W + kx];
    }
    return acc;
}

/* sum w * (x - zp) over the part of a border window inside the image. */
static int32_t SPARSE_Q8(dot_dense_border)(const SPARSE_Q8(conv_params) *p, const int8_t *w,
                                           const SPARSE_Q8(window) *win)
{
    const ptrdiff_t k = p->k, H = p->in_h, W = p->in_w;
    const uint32_t cin = p->in_c / p->groups;
    const int32_t zp = p->in_zp;
    const ptrdiff_t ky0 = win->y0 < 0 ? -win->y0 : 0, ky1 = H - win->y0 < k ? H - win->y0 : k;
    const ptrdiff_t kx0 = win->x0 < 0 ? -win->x0 : 0, kx1 = W - win->x0 < k ? W - win->x0 : k;
    const int8_t *xc = win->x;
    int32_t acc = 0;
    for (uint32_t c = 0; c < cin; c++, w += k * k, xc += H * W)
        for (ptrdiff_t ky = ky0; ky < ky1; ky++) {
            /* From the first tap inside: no pointer before the input. */
            const int8_t *xp = xc + (win->y0 + ky) * W + win->x0 + kx0, *wp = w + ky * k + kx0;
            for (ptrdiff_t kx = kx0; kx < kx1; kx++)
                acc += (int32_t)*wp++ * ((int32_t)*xp++ - zp);
        }
    return acc;
}

#if SPARSE_Q8_WITH_CSR
/* Weight (c, ky, kx) of the window times its input (the zero point in the
 * padding). */
static int32_t SPARSE_Q8(tap)(const SPARSE_Q8(conv_params) *p, const SPARSE_Q8(window) *win, int32_t w,
                              uint32_t c, ptrdiff_t ky, ptrdiff_t kx)
{
    const ptrdiff_t iy = win->y0 + ky, ix = win->x0 + kx;
    if (!win->inside && (iy < 0 || ix < 0 || iy >= (ptrdiff_t)p->in_h || ix >= (ptrdiff_t)p->in_w))
        return w * p->in_zp;
    return w * win->x[((ptrdiff_t)c * p->in_h + iy) * p->in_w + ix];
}
#endif

#if SPARSE_Q8_WITH_BITMASK
/* Row o of a bitmask matrix: bits from `bit`, its non-zeros from v. An
 * interior window walks its input rows by pointer. */
static SPARSE_Q8_NOINLINE int32_t SPARSE_Q8(dot_bitmask)(const SPARSE_Q8(conv_params) *p, size_t bit,
                                                         const int8_t *v, const SPARSE_Q8(window) *win)
{
    const uint8_t *mask = p->w.mask;
    const uint32_t cin = p->in_c / p->groups;
    const ptrdiff_t k = p->k, W = p->in_w, plane = (ptrdiff_t)p->in_h * p->in_w;
    int32_t acc = 0;
    if (win->inside) {
        /* One pass over the row's bits, a mask byte at a time. */
        const size_t cols = (size_t)cin * (size_t)(k * k);
        const uint8_t *mp = mask + (bit >> 3);
        uint32_t bits = (uint32_t)*mp++ >> (bit & 7), left = 8 - (uint32_t)(bit & 7);
        const int8_t *xr = win->x + win->y0 * W + win->x0;
        ptrdiff_t kx = 0, ky = 0;
        for (size_t j = 0; j < cols; j++) {
            if (bits & 1)
                acc += (int32_t)*v++ * xr[kx];
            bits >>= 1;
            if (--left == 0 && j + 1 < cols) {
                bits = *mp++;
                left = 8;
            }
            if (++kx == k) {
                kx = 0;
                xr += W;
                if (++ky == k) {
                    ky = 0;
                    xr += plane - k * W;
                }
            }
        }
        return acc;
    }
    const ptrdiff_t H = p->in_h;
    for (uint32_t c = 0; c < cin; c++)
        for (ptrdiff_t ky = 0; ky < k; ky++) {
            const ptrdiff_t iy = win->y0 + ky;
            const int row_in = iy >= 0 && iy < H;
            const int8_t *xr = win->x + (ptrdiff_t)c * plane + (row_in ? iy * W : 0);
            for (ptrdiff_t kx = 0; kx < k; kx++, bit++)
                if (mask[bit >> 3] >> (bit & 7) & 1) {
                    const ptrdiff_t ix = win->x0 + kx;
                    acc += (int32_t)*v++ * (row_in && ix >= 0 && ix < W ? xr[ix] : p->in_zp);
                }
        }
    return acc;
}
#endif

#if SPARSE_Q8_WITH_CSR
static uint32_t SPARSE_Q8(index)(const void *a, size_t i, unsigned bytes)
{
    if (bytes == 1)
        return ((const uint8_t *)a)[i];
    if (bytes == 2)
        return ((const uint16_t *)a)[i];
    return ((const uint32_t *)a)[i];
}

/* Non-zeros j0 .. j1-1 of a CSR matrix. Columns increase along a row, so
 * each one's (channel, ky, kx) is found from the previous one's without a
 * division (Cortex-M0 has none). */
static int32_t SPARSE_Q8(dot_csr)(const SPARSE_Q8(conv_params) *p, size_t j0, size_t j1,
                                  const SPARSE_Q8(window) *win)
{
    const uint32_t kk = (uint32_t)p->k * p->k;
    uint32_t c = 0, r = 0, prev = 0;
    int32_t acc = 0;
    for (size_t j = j0; j < j1; j++) {
        const uint32_t col = SPARSE_Q8(index)(p->w.col, j, p->w.col_bytes);
        if (kk == 1) {
            c = col;
        } else {
            for (r += col - prev; r >= kk; r -= kk)
                c++;
        }
        prev = col;
        ptrdiff_t ky = 0, kx = (ptrdiff_t)r;
        for (; kx >= p->k; kx -= p->k)
            ky++;
        acc += SPARSE_Q8(tap)(p, win, p->w.val[j], c, ky, kx);
    }
    return acc;
}
#endif

/* Row o's dot product with one window, the zero point folded in as above. */
static int32_t SPARSE_Q8(dot)(const SPARSE_Q8(conv_params) *p, uint32_t o, const int8_t *row_val, int32_t wsum,
                              size_t j0, size_t j1, const SPARSE_Q8(window) *win)
{
    const size_t cols = (size_t)(p->in_c / p->groups) * p->k * p->k;
    (void)row_val;
    (void)j0;
    (void)j1;
    switch (p->w.enc) {
#if SPARSE_Q8_WITH_BITMASK
    case SPARSE_Q8_BITMASK: return SPARSE_Q8(dot_bitmask)(p, o * cols, row_val, win) - p->in_zp * wsum;
#endif
#if SPARSE_Q8_WITH_CSR
    case SPARSE_Q8_CSR: return SPARSE_Q8(dot_csr)(p, j0, j1, win) - p->in_zp * wsum;
#endif
    default:
        if (!win->inside)
            return SPARSE_Q8(dot_dense_border)(p, p->w.val + o * cols, win);
        return SPARSE_Q8(dot_dense_inside)(p, p->w.val + o * cols, win->x + win->y0 * p->in_w + win->x0) -
               p->in_zp * wsum;
    }
}

SPARSE_Q8_FN void SPARSE_Q8(conv)(const SPARSE_Q8(conv_params) *p, const int8_t *x, int8_t *y)
{
    const uint32_t cin = p->in_c / p->groups, cout = p->out_c / p->groups;
    const size_t plane = (size_t)p->in_h * p->in_w, cols = (size_t)cin * p->k * p->k;
    const ptrdiff_t H = p->in_h, W = p->in_w, k = p->k;
    const int8_t *v = p->w.val; /* this row's first value */
    for (uint32_t o = 0; o < p->out_c; o++) {
        /* The row's non-zeros (CSR: j0 .. j1-1) and their sum. */
        size_t j0 = 0, j1 = cols, nnz = cols;
#if SPARSE_Q8_WITH_CSR
        if (p->w.enc == SPARSE_Q8_CSR) {
            j0 = SPARSE_Q8(index)(p->w.row, o, p->w.row_bytes);
            j1 = SPARSE_Q8(index)(p->w.row, o + 1, p->w.row_bytes);
            v = p->w.val + j0;
        }
#endif
#if SPARSE_Q8_WITH_BITMASK
        if (p->w.enc == SPARSE_Q8_BITMASK) {
            nnz = 0;
            for (size_t b = o * cols; b < (o + 1) * cols; b++)
                nnz += p->w.mask[b >> 3] >> (b & 7) & 1;
        }
#endif
        if (p->w.enc == SPARSE_Q8_CSR)
            nnz = j1 - j0;
        int32_t wsum = 0;
        for (size_t j = 0; j < nnz; j++)
            wsum += v[j];
        const int8_t *xg = x + (size_t)(o / cout) * cin * plane;
        int8_t *yo = y + (size_t)o * p->out_h * p->out_w;
        for (uint16_t oy = 0; oy < p->out_h; oy++)
            for (uint16_t ox = 0; ox < p->out_w; ox++) {
                SPARSE_Q8(window) win;
                win.y0 = (ptrdiff_t)oy * p->stride - p->pad_top;
                win.x0 = (ptrdiff_t)ox * p->stride - p->pad_left;
                win.inside = win.y0 >= 0 && win.x0 >= 0 && win.y0 + k <= H && win.x0 + k <= W;
                win.x = xg;
                int32_t acc = SPARSE_Q8(dot)(p, o, v, wsum, j0, j1, &win);
                if (p->bias)
                    acc = SPARSE_Q8(sat_add)(acc, p->bias[o]);
                acc = SPARSE_Q8(sat_add)(SPARSE_Q8(mul)(acc, p->mult[o], p->shift[o]), p->out_zp);
                *yo++ = SPARSE_Q8(clamp)(acc, p->act_min, p->act_max);
            }
        v += p->w.enc == SPARSE_Q8_CSR ? 0 : nnz;
    }
}

/* ---- Pools, merges, ReLU ---- */

#if SPARSE_Q8_WITH_MAXPOOL
SPARSE_Q8_FN void SPARSE_Q8(maxpool)(const SPARSE_Q8(pool_params) *p, const int8_t *x, int8_t *y)
{
    const size_t dr = p->depth_rate ? p->depth_rate : 1, k = p->k, s = p->stride, W = p->in_w;
    const size_t plane = (size_t)p->in_h * W;
    /* Outputs are written in order: in place, each write lands at or before
     * every input still to be read. */
    for (uint32_t c = 0; c < p->out_c; c++)
        for (size_t oy = 0; oy < p->out_h; oy++) {
            const int8_t *xr = x + c * dr * plane + oy * s * W;
            for (size_t ox = 0; ox < p->out_w; ox++, xr += s) {
                int32_t best = INT8_MIN;
                const int8_t *xd = xr;
                for (size_t d = 0; d < dr; d++, xd += plane)
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++)
                            best = xd[ky * W + kx] > best ? xd[ky * W + kx] : best;
                *y++ = SPARSE_Q8(clamp)(best, p->act_min, p->act_max);
            }
        }
}
#endif

#if SPARSE_Q8_WITH_AVGPOOL
SPARSE_Q8_FN void SPARSE_Q8(avgpool)(const SPARSE_Q8(pool_params) *p, const int8_t *x, int8_t *y)
{
    const size_t k = p->k, s = p->stride, W = p->in_w, plane = (size_t)p->in_h * W;
    const int32_t n = (int32_t)(k * k);
    for (uint32_t c = 0; c < p->out_c; c++)
        for (size_t oy = 0; oy < p->out_h; oy++) {
            const int8_t *xr = x + c * plane + oy * s * W;
            for (size_t ox = 0; ox < p->out_w; ox++, xr += s) {
                int32_t acc = 0;
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++)
                        acc += xr[ky * W + kx];
                /* TFLite: round half away from zero. */
                acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
                *y++ = SPARSE_Q8(clamp)(acc, p->act_min, p->act_max);
            }
        }
}
#endif

#if SPARSE_Q8_WITH_ADD
SPARSE_Q8_FN void SPARSE_Q8(add)(const SPARSE_Q8(add_params) *p, const int8_t *const *x, int8_t *y)
{
    for (uint32_t j = 0; j < p->count; j++) {
        /* Each term is at most 255 * 2^20 / 2; int64 holds eight exactly. */
        int64_t sum = 0;
        for (uint8_t i = 0; i < p->n_in; i++) {
            const int32_t v = ((int32_t)x[i][j] - p->in[i].zp) * ((int32_t)1 << SPARSE_Q8_ADD_LEFT_SHIFT);
            sum += SPARSE_Q8(mul)(v, p->in[i].mult, p->in[i].shift);
        }
        const int32_t s = sum > INT32_MAX ? INT32_MAX : sum < INT32_MIN ? INT32_MIN : (int32_t)sum;
        const int32_t out = SPARSE_Q8(sat_add)(SPARSE_Q8(mul)(s, p->out_mult, p->out_shift), p->out_zp);
        y[j] = SPARSE_Q8(clamp)(out, p->act_min, p->act_max);
    }
}
#endif

#if SPARSE_Q8_WITH_CONCAT
SPARSE_Q8_FN void SPARSE_Q8(concat)(const SPARSE_Q8(concat_params) *p, const int8_t *const *x, int8_t *y)
{
    for (uint8_t i = 0; i < p->n_in; i++) {
        const SPARSE_Q8(concat_input) *in = &p->in[i];
        for (uint32_t j = 0; j < in->count; j++) {
            int32_t v = x[i][j];
            if (!in->same)
                v = SPARSE_Q8(sat_add)(SPARSE_Q8(mul)(v - in->zp, in->mult, in->shift), p->out_zp);
            y[j] = SPARSE_Q8(clamp)(v, p->act_min, p->act_max);
        }
        y += in->count;
    }
}
#endif

#if SPARSE_Q8_WITH_RELU
SPARSE_Q8_FN void SPARSE_Q8(relu)(const SPARSE_Q8(relu_params) *p, const int8_t *x, int8_t *y)
{
    for (uint32_t j = 0; j < p->count; j++)
        y[j] = SPARSE_Q8(clamp)(x[j], p->zp, INT8_MAX);
}
#endif

SPARSE_Q8_FN void SPARSE_Q8(run)(const SPARSE_Q8(op) *ops, size_t n, int8_t *arena)
{
    for (size_t i = 0; i < n; i++) {
        const SPARSE_Q8(op) *op = &ops[i];
        const int8_t *x[SPARSE_Q8_MAX_INPUTS];
        for (uint8_t k = 0; k < op->n_in && k < SPARSE_Q8_MAX_INPUTS; k++)
            x[k] = arena + op->in[k];
        int8_t *y = arena + op->out;
        switch (op->kind) {
        case SPARSE_Q8_OP_CONV: SPARSE_Q8(conv)((const SPARSE_Q8(conv_params) *)op->p, x[0], y); break;
#if SPARSE_Q8_WITH_MAXPOOL
        case SPARSE_Q8_OP_MAXPOOL: SPARSE_Q8(maxpool)((const SPARSE_Q8(pool_params) *)op->p, x[0], y); break;
#endif
#if SPARSE_Q8_WITH_AVGPOOL
        case SPARSE_Q8_OP_AVGPOOL: SPARSE_Q8(avgpool)((const SPARSE_Q8(pool_params) *)op->p, x[0], y); break;
#endif
#if SPARSE_Q8_WITH_ADD
        case SPARSE_Q8_OP_ADD: SPARSE_Q8(add)((const SPARSE_Q8(add_params) *)op->p, x, y); break;
#endif
#if SPARSE_Q8_WITH_CONCAT
        case SPARSE_Q8_OP_CONCAT: SPARSE_Q8(concat)((const SPARSE_Q8(concat_params) *)op->p, x, y); break;
#endif
#if SPARSE_Q8_WITH_RELU
        case SPARSE_Q8_OP_RELU: SPARSE_Q8(relu)((const SPARSE_Q8(relu_params) *)op->p, x[0], y); break;
#endif
        default: break;
        }
    }
}
