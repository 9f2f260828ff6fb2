/*
 * Cortex-M4 firmware (qemu mps2-an386, -icount shift=0): instructions per
 * multiply-accumulate of the int8 convolution kernels exported models run
 * (lib/memory/int8_kernels.c, compiled here as an export compiles it), next
 * to an im2col kernel on the same layers: each output pixel's patch copied
 * into a column buffer (the scratch that SPARSE_SCRATCH_IM2COL_2COL-like
 * kernels need), then one contiguous dot product per output channel. Both
 * give the same outputs, checked bit for bit. Layer shapes are those of a
 * search-sized MNIST network. Built and run by bench_kernels_m4.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SPARSE_Q8(name) bench_q8_##name
#define SPARSE_Q8_FN static
#define SPARSE_Q8_AMALGAMATED 1
#define SPARSE_Q8_WITH_BITMASK 0
#define SPARSE_Q8_WITH_CSR 0
#include "memory/int8_kernels.h"
#include "memory/int8_kernels.c"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TICKS(a, b) (((a) - (b)) & 0xFFFFFFu)

static uint32_t seed = 12345;
static int8_t rnd8(void)
{
    seed = seed * 1103515245u + 12345u;
    return (int8_t)(seed >> 16);
}

static int8_t x[16 * 14 * 14], y_direct[16 * 14 * 14], y_im2col[16 * 14 * 14], w[16 * 8 * 9];
static int8_t col[8 * 9]; /* the im2col scratch of one output pixel */
static int32_t bias[16], mult[16];
static int8_t shift[16];

/* The im2col kernel: patch of each output pixel into col (the zero point
 * in the padding), then a dot product per output channel. */
static void conv_im2col(const bench_q8_conv_params *p, const int8_t *in, int8_t *out)
{
    const int k = p->k, H = p->in_h, W = p->in_w, cols = (int)p->in_c * k * k;
    for (int oy = 0; oy < p->out_h; oy++)
        for (int ox = 0; ox < p->out_w; ox++) {
            int8_t *c = col;
            for (uint32_t ci = 0; ci < p->in_c; ci++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * p->stride - p->pad_top + ky, ix = ox * p->stride - p->pad_left + kx;
                        *c++ = iy < 0 || ix < 0 || iy >= H || ix >= W ? p->in_zp : in[(ci * H + iy) * W + ix];
                    }
            for (uint32_t o = 0; o < p->out_c; o++) {
                const int8_t *wr = p->w.val + o * cols;
                int32_t acc = 0;
                for (int j = 0; j < cols; j++)
                    acc += (int32_t)wr[j] * (col[j] - p->in_zp);
                acc += p->bias[o];
                acc = bench_q8_mul(acc, p->mult[o], p->shift[o]) + p->out_zp;
                out[(o * p->out_h + oy) * p->out_w + ox] = (int8_t)(acc < p->act_min   ? p->act_min
                                                                    : acc > p->act_max ? p->act_max
                                                                                       : acc);
            }
        }
}

static unsigned long cal_ticks(void)
{
    uint32_t n = 100000, a = SYST_CVR;
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
    return TICKS(a, SYST_CVR);
}

static int run(const char *name, uint32_t cin, uint32_t cout, uint16_t hw, double per_tick)
{
    bench_q8_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_c = cin;
    p.out_c = cout;
    p.groups = 1;
    p.in_h = p.in_w = p.out_h = p.out_w = hw;
    p.k = 3;
    p.stride = 1;
    p.pad_top = p.pad_left = 1;
    p.in_zp = -100;
    p.out_zp = -128;
    p.act_min = -128;
    p.act_max = 127;
    p.w.enc = SPARSE_Q8_DENSE;
    p.w.val = w;
    p.bias = bias;
    p.mult = mult;
    p.shift = shift;
    for (uint32_t o = 0; o < cout; o++) {
        bias[o] = rnd8() * 50;
        mult[o] = 1200000000 + rnd8() * 1000;
        shift[o] = -9;
    }
    for (size_t i = 0; i < sizeof w; i++)
        w[i] = rnd8();
    for (size_t i = 0; i < sizeof x; i++)
        x[i] = rnd8();
    const double macs = (double)cout * hw * hw * cin * 9;
    uint32_t t0 = SYST_CVR;
    bench_q8_conv(&p, x, y_direct);
    const double direct = per_tick * TICKS(t0, SYST_CVR);
    t0 = SYST_CVR;
    conv_im2col(&p, x, y_im2col);
    const double im2col = per_tick * TICKS(t0, SYST_CVR);
    const int same = !memcmp(y_direct, y_im2col, (size_t)cout * hw * hw);
    printf("%-28s %8.0f MACs  direct %8.0f instr (%.2f/MAC, no scratch)  im2col %8.0f instr (%.2f/MAC, "
           "%lu B scratch)  %s\n",
           name, macs, direct, direct / macs, im2col, im2col / macs, (unsigned long)(cin * 9),
           same ? "identical" : "DIFFERENT");
    return same;
}

int main(void)
{
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5;
    const double per_tick = 200000.0 / (double)cal_ticks();
    int ok = run("conv 3x3, 1 -> 8, 14x14", 1, 8, 14, per_tick);
    ok &= run("conv 3x3, 8 -> 16, 7x7", 8, 16, 7, per_tick);
    ok &= run("conv 3x3, 8 -> 16, 14x14", 8, 16, 14, per_tick);
    return ok ? 0 : 1;
}
