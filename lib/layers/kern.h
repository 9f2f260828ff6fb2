/*
 * Vector kernels of the layers module, compiled once per instruction set
 * (kern_conv.c with -DSPARSE_KERN_BASE, _AVX2, _AVX512; lib/layers/meson.build)
 * and picked at run time by sparse__kern_select, as BLIS picks its own
 * kernels. Each variant vectorises across the images of a batch (the last,
 * contiguous dimension of the (C, H, W, N) activations), so every output is
 * summed in the same order in every variant; only the hardware differs
 * (fused multiply-adds where the CPU has them), as with BLIS.
 *
 * Plain data in, plain data out: no sparse_net here, so the same code can be
 * tested kernel by kernel (tests/layers/test_kernels.c).
 */
#ifndef SPARSE_LAYERS_KERN_H
#define SPARSE_LAYERS_KERN_H

#include <stddef.h>
#include <stdint.h>

/* A stride-s convolution of a (cin, h, w, n) input into (cout, ho, wo, n),
 * padding pt rows above and pl columns left (the rest of the padding is
 * implied by ho and wo). */
typedef struct sparse__conv_geo {
    size_t cin, cout, k, s;
    size_t h, w, ho, wo;
    size_t pt, pl;
} sparse__conv_geo;

/* Pooling of (c * dr, h, w, n) into (c, ho, wo, n): windows of k x k
 * pixels at stride s over dr consecutive channels. */
typedef struct sparse__pool_geo {
    size_t dr, h, w, k, s, ho, wo, n;
} sparse__pool_geo;

/* What follows a producer (a convolution, usually) in a fused group
 * (fused.c): a batch norm with its statistics (bn), a ReLU, a max pooling
 * whose windows tile the map (pool = size = stride, 0: none), each
 * present or not, in that order, on one channel of an (h, w, n) map. */
typedef struct sparse__epi {
    int bn, relu;
    size_t pool;
    float mu, inv, g, b;
    size_t h, w, ho, wo, n; /* producer map, pooled map */
} sparse__epi;

/* Values of a noise stream are made in blocks of this many (kern_var.c). */
#define SPARSE__NORMAL_BLOCK 4096

/* The constants of SpVD's KL term (experimental.h, variational.h). */
typedef struct sparse__klk {
    float k1, k2, k3, eps, clip;
} sparse__klk;

typedef struct sparse__kern {
    const char *name;
    /* Output channels per block of the packed weights conv_direct reads:
     * sparse__conv_pack lays them out for it. */
    size_t cblock;
    /* y (= or, with accumulate, +=) conv(x, w) + bias (NULL: none), taps
     * outside the input skipped. wpk: the weights packed by
     * sparse__conv_pack with this table's cblock. Rows of output split
     * between nt threads. */
    void (*conv_direct)(const sparse__conv_geo *g, const float *x, const float *wpk, const float *bias, float *y,
                        size_t n, int accumulate, int nt);
    /* gw (cout, cin, k, k) = sum over positions and images of dy times the
     * input; xp is the input with its padding written out, (cin, hp, wp, n)
     * with hp = (ho - 1) s + k, wp = (wo - 1) s + k. */
    void (*conv_wgrad)(const sparse__conv_geo *g, const float *xp, const float *dy, float *gw, size_t n, int nt);

    /* One output channel each. x: its dr input channels, whose first
     * value has flat index base in the whole input; idx: the flat input
     * index of each output's maximum. */
    void (*maxpool)(const sparse__pool_geo *g, const float *x, size_t base, float *y, int32_t *idx);
    /* Windows that tile the input (s = k, dr = 1): dx (= or +=) dy at each
     * window's maximum, 0 elsewhere; pixels outside every window are left. */
    void (*maxpool_grad)(const sparse__pool_geo *g, const float *dy, const int32_t *idx, size_t base, float *dx,
                         int acc);

    /* One channel of m values each; xh = (x - mu) inv is recomputed
     * wherever it is needed rather than stored. Mean and biased variance. */
    void (*bn_moments)(const float *x, size_t m, double *mean, double *var);
    /* y = g xh + b */
    void (*bn_norm)(const float *x, size_t m, float mu, float inv, float g, float b, float *y);
    /* sum dy and sum dy xh */
    void (*bn_grad_sums)(const float *dy, const float *x, size_t m, float mu, float inv, double *sdy, double *sdyx);
    /* dx (= or +=) k (dy - a - xh b) */
    void (*bn_dx)(const float *dy, const float *x, size_t m, float mu, float inv, float k, float a, float b, float *dx,
                  int acc);
    /* One channel of a fused group: out = pool(relu(bn(x))) (the steps e
     * has); idx (when not NULL) as maxpool's, relative to base. */
    void (*epi_forward)(const sparse__epi *e, const float *x, size_t base, float *out, int32_t *idx);
    /* The gradient at the group's first step's output (the batch norm's,
     * else the producer's): dz (= or +=) dlast routed back through the
     * pooling (by idx) and the ReLU (its sign recomputed from x); 0 where
     * no pooling window reaches. */
    void (*epi_backward)(const sparse__epi *e, const float *x, const float *dlast, const int32_t *idx, size_t base,
                         float *dz, int acc);
    void (*relu)(const float *x, float *y, size_t m);
    /* dx (= or +=) dy where y > 0, else 0 */
    void (*relu_grad)(const float *y, const float *dy, float *dx, size_t m, int acc);

    /* Variational nodes. e[0..m) = values j0.. of the N(0, 1) stream keyed
     * key (each a function of key and its index alone); j0 a multiple of
     * SPARSE__NORMAL_BLOCK and m at most that. */
    void (*normals)(uint64_t key, uint64_t j0, size_t m, float *e);
    /* With e the stream's values j0.. and sd = sqrt(var + eps): out += sd e,
     * h = e / (2 sd) (d out / d var). */
    void (*spvd_noise)(uint64_t key, uint64_t j0, size_t m, float eps, const float *var, float *h, float *out);
    /* dvar = dy h: the gradient at the variance. */
    void (*spvd_dvar)(const float *dy, const float *h, size_t m, float *dvar);
    void (*expv)(const float *x, size_t m, float *y);
    /* The weight-noise estimator: w = t + sd e with sd = exp(lv / 2) and e
     * the stream's values j0.. (as normals), h = sd e / 2 (d w / d lv). */
    void (*weight_noise)(uint64_t key, uint64_t j0, size_t m, const float *t, const float *lv, float *h, float *w);
    /* Sum of SpVD's KL over weights t, log variances lv; sc != 0 adds sc *
     * its gradient into gw and glv. */
    double (*spvd_kl)(const float *t, const float *lv, size_t m, const sparse__klk *c, float sc, float *gw,
                      float *glv);
} sparse__kern;

/* *k = the fastest variant this CPU runs. */
void sparse__kern_select(sparse__kern *k);
/* The variants this build has and this CPU runs, fastest first, into
 * out[0..cap); returns how many there are. */
size_t sparse__kern_variants(sparse__kern *out, size_t cap);

/* Packs w (cout, cin, k, k) for conv_direct: blocks of cblock output
 * channels (the last ones split evenly), within a block tap-major
 * ([ci][ky][kx][c]). With flip, the weights of the transposed convolution
 * (the input gradient) instead: w'[ci][co][k-1-ky][k-1-kx] packed over ci. */
void sparse__conv_pack(const float *w, size_t cout, size_t cin, size_t k, size_t cblock, int flip, float *wpk);
/* Output channel blocks of a packed layer: block b is [first, first + size). */
size_t sparse__conv_blocks(size_t cout, size_t cblock);
void sparse__conv_block(size_t cout, size_t cblock, size_t b, size_t *first, size_t *size);

#endif
