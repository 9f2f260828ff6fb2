/* Direct convolution kernels (kern.h), one copy per instruction set. The
 * activations are (C, H, W, N): at one position a channel's N images are
 * contiguous, so a tile is a few output channels times a few vectors of
 * images, kept in registers over all the taps (no im2col matrix):
 *  - conv_direct: per tap, NV vector loads of the input and CB broadcast
 *    weights feed CB x NV multiply-adds;
 *  - conv_wgrad: per position, CB vectors of the output gradient and KT
 *    of the (padded) input feed CB x KT multiply-adds, summed over
 *    positions lane by lane, then across lanes.
 * Every output element is one sum in a fixed order (taps in (ci, ky, kx)
 * order; positions, then lanes), whichever thread computes it. */
#include "kern_isa.h"

#if defined(SPARSE_KERN_AVX512)
#define FWD_CB 6 /* output channels per conv_direct tile */
#define FWD_NV 4 /* vectors of images per conv_direct tile */
#define REGS 31  /* vector registers a tile may use */
#elif defined(SPARSE_KERN_AVX2)
#define FWD_CB 6
#define FWD_NV 2
#define REGS 15
#else
#define FWD_CB 4
#define FWD_NV 2
#define REGS 14 /* no fused multiply-add: one register for the products */
#endif
#define WG_CB 8 /* largest conv_wgrad block, see wgrad_cb */
#define WG_KT 5 /* columns of taps per conv_wgrad tile */

/* ---- conv_direct ---- */

/* One output position of one block: where its taps start and which of
 * them lie inside the input. */
typedef struct fwd_pos {
    const float *x;        /* input at (ci 0, iy of tap ky0, ix of tap kx0, image i0) */
    const float *w;        /* packed weights of the block at tap (0, ky0, kx0) */
    float *y;              /* output at (block's first channel, oy, ox, i0) */
    size_t ky, kx;         /* taps inside: ky0 <= ky < ky0 + ky, the same for kx */
    size_t cs, rs, n;      /* input channel and row strides, images */
    size_t k, cin, ys;     /* kernel side, input channels, output channel stride */
} fwd_pos;

INLINE void fwd_tile(const fwd_pos *p, const float *bias, int acc_out, const int CB, const int NV)
{
    vf acc[FWD_CB][FWD_NV];
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++)
            acc[c][v] = (vf){0} + (bias ? bias[c] : 0.0f);
    const size_t n = p->n, wrow = p->k * (size_t)CB, wch = p->k * wrow;
    for (size_t ci = 0; ci < p->cin; ci++)
        for (size_t ky = 0; ky < p->ky; ky++) {
            const float *xr = p->x + ci * p->cs + ky * p->rs;
            const float *wr = p->w + ci * wch + ky * wrow;
            for (size_t kx = 0; kx < p->kx; kx++, xr += n, wr += CB) {
                vf xv[FWD_NV];
                for (int v = 0; v < NV; v++)
                    xv[v] = ld(xr + v * VL);
                for (int c = 0; c < CB; c++)
                    for (int v = 0; v < NV; v++)
                        acc[c][v] += wr[c] * xv[v];
            }
        }
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++) {
            float *y = p->y + (size_t)c * p->ys + (size_t)v * VL;
            st(y, acc_out ? ld(y) + acc[c][v] : acc[c][v]);
        }
}

/* The images past the last whole vector, one at a time, same sums. */
static void fwd_lanes(const fwd_pos *p, const float *bias, int acc_out, size_t cb, size_t lanes)
{
    const size_t n = p->n, wrow = p->k * cb, wch = p->k * wrow;
    for (size_t l = 0; l < lanes; l++)
        for (size_t c = 0; c < cb; c++) {
            float acc = bias ? bias[c] : 0.0f;
            for (size_t ci = 0; ci < p->cin; ci++)
                for (size_t ky = 0; ky < p->ky; ky++) {
                    const float *xr = p->x + ci * p->cs + ky * p->rs + l;
                    const float *wr = p->w + ci * wch + ky * wrow + c;
                    for (size_t kx = 0; kx < p->kx; kx++)
                        acc += wr[kx * cb] * xr[kx * n];
                }
            float *y = p->y + c * p->ys + l;
            *y = acc_out ? *y + acc : acc;
        }
}

#define FWD_CASE(cb)                                                                                         \
    case cb:                                                                                                 \
        for (; i + FWD_NV * VL <= n; i += FWD_NV * VL, q.x += FWD_NV * VL, q.y += FWD_NV * VL)              \
            fwd_tile(&q, bias, acc_out, cb, FWD_NV);                                                         \
        for (; i + VL <= n; i += VL, q.x += VL, q.y += VL)                                                   \
            fwd_tile(&q, bias, acc_out, cb, 1);                                                              \
        break;

/* Every image of one position of one block. */
static void fwd_position(fwd_pos q, const float *bias, int acc_out, size_t cb)
{
    size_t i = 0;
    const size_t n = q.n;
    switch (cb) {
        FWD_CASE(1)
        FWD_CASE(2)
        FWD_CASE(3)
        FWD_CASE(4)
#if FWD_CB > 4
        FWD_CASE(5)
        FWD_CASE(6)
#endif
    default:
        break;
    }
    if (i < n)
        fwd_lanes(&q, bias, acc_out, cb, n - i);
}

/* Taps [*k0, *k0 + *cnt) of a window starting at o*s - pad that lie in [0, size). */
static void clip(size_t o, size_t s, size_t pad, size_t k, size_t size, size_t *k0, size_t *cnt)
{
    const size_t start = o * s;
    size_t lo = pad > start ? pad - start : 0, hi = size + pad - start; /* first tap past the input */
    if (hi > k)
        hi = k;
    *k0 = lo;
    *cnt = hi > lo ? hi - lo : 0;
}

static void conv_direct(const sparse__conv_geo *g, const float *x, const float *wpk, const float *bias, float *y,
                        size_t n, int accumulate, int nt)
{
    const size_t rs = g->w * n, cs = g->h * rs, ys = g->ho * g->wo * n, T = g->cin * g->k * g->k;
    const size_t nb = sparse__conv_blocks(g->cout, FWD_CB);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t oy = 0; oy < g->ho; oy++) {
        size_t ky0, kyn;
        clip(oy, g->s, g->pt, g->k, g->h, &ky0, &kyn);
        for (size_t ox = 0; ox < g->wo; ox++) {
            size_t kx0, kxn;
            clip(ox, g->s, g->pl, g->k, g->w, &kx0, &kxn);
            const size_t iy = oy * g->s + ky0 - g->pt, ix = ox * g->s + kx0 - g->pl;
            for (size_t b = 0; b < nb; b++) {
                size_t c0, cb;
                sparse__conv_block(g->cout, FWD_CB, b, &c0, &cb);
                fwd_pos q = {x + (iy * g->w + ix) * n, wpk + c0 * T + (ky0 * g->k + kx0) * cb,
                             y + c0 * ys + (oy * g->wo + ox) * n, kyn, kxn, cs, rs, n, g->k, g->cin, ys};
                if (!kyn || !kxn) { /* a window entirely in the padding */
                    fwd_lanes(&q, bias ? bias + c0 : NULL, accumulate, cb, n);
                    continue;
                }
                fwd_position(q, bias ? bias + c0 : NULL, accumulate, cb);
            }
        }
    }
}

/* ---- conv_wgrad ---- */

/* Largest block of output channels whose CB x KT sums, CB gradient
 * vectors and one input vector fit in the registers. */
static size_t wgrad_cb(size_t kt)
{
    size_t cb = (REGS - 1) / (kt + 1);
    return cb > WG_CB ? WG_CB : (cb < 1 ? 1 : cb);
}

/* One output row's share of a tile's sums: acc[c][j] (in memory between
 * rows, the tile's registers during one) += dy[c] x[j] over the row's
 * positions and images, which for stride 1 are one contiguous run in both;
 * values past the last whole vector go to tail. */
typedef struct wg_row {
    const float *x, *dy; /* input at (row, first tap column), gradient at (block's first channel, row) */
    size_t len, n, ds, s, wo;
    vf *acc;             /* CB x KT */
    float *tail;
} wg_row;

/* The values past the last whole vector of a run: fewer than VL, so one
 * out-of-line copy for every tile shape (inlined, the compiler would
 * unroll and vectorise it again in each of the 40 tiles). */
NOINLINE void wg_tail(const float *x, const float *dy, size_t i0, size_t len, size_t n, size_t ds,
                    float tail[WG_CB][WG_KT], int cb, int kt)
{
    for (size_t i = i0; i < len; i++)
        for (int c = 0; c < cb; c++)
            for (int j = 0; j < kt; j++)
                tail[c][j] += dy[(size_t)c * ds + i] * x[(size_t)j * n + i];
}

INLINE void wg_run(const float *restrict x, const float *restrict dy, size_t len, size_t n, size_t ds,
                   vf acc[WG_CB][WG_KT], float tail[WG_CB][WG_KT], const int CB, const int KT)
{
    const size_t lv = len / VL * VL;
    for (size_t i = 0; i < lv; i += VL) {
        vf d[WG_CB];
        for (int c = 0; c < CB; c++)
            d[c] = ld(dy + (size_t)c * ds + i);
        for (int j = 0; j < KT; j++) {
            const vf xv = ld(x + (size_t)j * n + i);
            for (int c = 0; c < CB; c++)
                acc[c][j] += d[c] * xv;
        }
    }
    if (lv < len)
        wg_tail(x, dy, lv, len, n, ds, tail, CB, KT);
}

INLINE void wg_tile(const wg_row *r, const int CB, const int KT)
{
    vf acc[WG_CB][WG_KT];
    float tail[WG_CB][WG_KT];
    for (int c = 0; c < CB; c++)
        for (int j = 0; j < KT; j++) {
            acc[c][j] = r->acc[c * KT + j];
            tail[c][j] = r->tail[c * KT + j];
        }
    /* stride 1: the row is one contiguous run; otherwise one run per
     * output position (one call site keeps one inlined copy per tile) */
    const size_t runs = r->s == 1 ? 1 : r->wo, len = r->s == 1 ? r->len : r->n, xstep = r->s * r->n;
    for (size_t ox = 0; ox < runs; ox++)
        wg_run(r->x + ox * xstep, r->dy + ox * r->n, len, r->n, r->ds, acc, tail, CB, KT);
    for (int c = 0; c < CB; c++)
        for (int j = 0; j < KT; j++) {
            r->acc[c * KT + j] = acc[c][j];
            r->tail[c * KT + j] = tail[c][j];
        }
}

#define WG_FN(cb, kt)                                                                                        \
    static void wg_##cb##_##kt(const wg_row *r) { wg_tile(r, cb, kt); }
#define WG_ROW(cb) WG_FN(cb, 1) WG_FN(cb, 2) WG_FN(cb, 3) WG_FN(cb, 4) WG_FN(cb, 5)
WG_ROW(1)
WG_ROW(2)
WG_ROW(3)
WG_ROW(4)
WG_ROW(5)
WG_ROW(6)
WG_ROW(7)
WG_ROW(8)
#define WG_PTRS(cb) {wg_##cb##_1, wg_##cb##_2, wg_##cb##_3, wg_##cb##_4, wg_##cb##_5}
static void (*const wg_tiles[WG_CB][WG_KT])(const wg_row *) = {WG_PTRS(1), WG_PTRS(2), WG_PTRS(3), WG_PTRS(4),
                                                                WG_PTRS(5), WG_PTRS(6), WG_PTRS(7), WG_PTRS(8)};

/* Sums of one work item kept between rows: enough for a few input
 * channels' taps of one block (the item's share of the output gradient
 * stays in L1 while every tap of those channels passes over it). */
#define WG_SUMS 384

static void conv_wgrad(const sparse__conv_geo *g, const float *xp, const float *dy, float *gw, size_t n, int nt)
{
    const size_t k = g->k, hp = (g->ho - 1) * g->s + k, wp = (g->wo - 1) * g->s + k;
    const size_t kt_full = k < WG_KT ? k : WG_KT, chunks = (k + WG_KT - 1) / WG_KT;
    /* one input channel's sums must fit in WG_SUMS: for kernels past 7
     * (AVX-512's blocks of 5) a smaller block (11 x 3 x 5 sums a channel
     * at most leaves room for 2) */
    const size_t per_block = k * chunks * kt_full, fit = WG_SUMS / per_block;
    const size_t cbm = wgrad_cb(kt_full) < fit ? wgrad_cb(kt_full) : fit, nb = sparse__conv_blocks(g->cout, cbm);
    const size_t per_ci = per_block * cbm, cig = WG_SUMS / per_ci;
    const size_t groups = (g->cin + cig - 1) / cig, ds = g->ho * g->wo * n;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t it = 0; it < nb * groups; it++) {
        const size_t b = it / groups, ci0 = it % groups * cig, ci1 = ci0 + cig < g->cin ? ci0 + cig : g->cin;
        size_t c0, cb;
        sparse__conv_block(g->cout, cbm, b, &c0, &cb);
        vf acc[WG_SUMS];
        float tail[WG_SUMS];
        const size_t used = (ci1 - ci0) * per_ci;
        for (size_t j = 0; j < used; j++) {
            acc[j] = (vf){0};
            tail[j] = 0.0f;
        }
        for (size_t oy = 0; oy < g->ho; oy++)
            for (size_t ci = ci0; ci < ci1; ci++)
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t ch = 0; ch < chunks; ch++) {
                        const size_t kx0 = ch * WG_KT, kt = k - kx0 < WG_KT ? k - kx0 : WG_KT;
                        const size_t slot = (((ci - ci0) * k + ky) * chunks + ch) * cbm * kt_full;
                        const wg_row r = {xp + ((ci * hp + oy * g->s + ky) * wp + kx0) * n,
                                          dy + c0 * ds + oy * g->wo * n,
                                          g->wo * n,
                                          n,
                                          ds,
                                          g->s,
                                          g->wo,
                                          acc + slot,
                                          tail + slot};
                        wg_tiles[cb - 1][kt - 1](&r);
                    }
        for (size_t ci = ci0; ci < ci1; ci++)
            for (size_t ky = 0; ky < k; ky++)
                for (size_t ch = 0; ch < chunks; ch++) {
                    const size_t kx0 = ch * WG_KT, kt = k - kx0 < WG_KT ? k - kx0 : WG_KT;
                    const size_t slot = (((ci - ci0) * k + ky) * chunks + ch) * cbm * kt_full;
                    for (size_t c = 0; c < cb; c++)
                        for (size_t j = 0; j < kt; j++)
                            gw[(((c0 + c) * g->cin + ci) * k + ky) * k + kx0 + j] =
                                hsum(acc[slot + c * kt + j]) + tail[slot + c * kt + j];
                }
    }
}

void VARIANT(sparse__kern_conv)(sparse__kern *k)
{
    k->name = KERN_NAME;
    k->cblock = FWD_CB;
    k->conv_direct = conv_direct;
    k->conv_wgrad = conv_wgrad;
}
