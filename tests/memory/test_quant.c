/*
 * Int8: TFLite's fixed-point helpers against values worked out from their
 * definitions, and every reference kernel against a double-precision
 * reference on the same int8 inputs (within one quantisation step per
 * output). The quantised networks are in test_quant_net.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "memory/quant_internal.h"
#include "sparse/sparse.h"
#include "quant_rng.h"

extern const struct CMUnitTest quant_tests[];
extern const size_t quant_test_count;

static int32_t ref_q(double real, double scale, int32_t zp, int32_t lo, int32_t hi)
{
    double v = round(real / scale) + zp;
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

/* ---- fixed point ---- */

static void test_q_multiplier(void **state)
{
    (void)state;
    int32_t m;
    int s;
    sparse__q_multiplier(0.5, &m, &s);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(s, 0);
    sparse__q_multiplier(1.0, &m, &s);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(s, 1);
    sparse__q_multiplier(0.25, &m, &s);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(s, -1);
    sparse__q_multiplier(0.75, &m, &s);
    assert_int_equal(m, 1610612736); /* 0.75 * 2^31 */
    assert_int_equal(s, 0);
    sparse__q_multiplier(0.1, &m, &s); /* 0.8 * 2^-3; round(0.8 * 2^31) */
    assert_int_equal(m, 1717986918);
    assert_int_equal(s, -3);
    sparse__q_multiplier(1.0 - ldexp(1.0, -40), &m, &s); /* rounds up to 2^31: halved */
    assert_int_equal(m, 1 << 30);
    assert_int_equal(s, 1);
    sparse__q_multiplier(0.0, &m, &s);
    assert_int_equal(m, 0);
    assert_int_equal(s, 0);
    sparse__q_multiplier(1e-12, &m, &s); /* 2^-40: shift below -31 flushes to zero */
    assert_int_equal(m, 0);
    assert_int_equal(s, 0);
}

static void test_q_fixed_point(void **state)
{
    (void)state;
    assert_int_equal(sparse__q8_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    assert_int_equal(sparse__q8_srdhm(1 << 30, 1 << 30), 1 << 29);
    assert_int_equal(sparse__q8_srdhm(3, 1 << 30), 2);   /* 1.5 -> 2 */
    assert_int_equal(sparse__q8_srdhm(-3, 1 << 30), -1); /* -1.5: gemmlowp's nudge gives -1 */
    assert_int_equal(sparse__q8_srdhm(-1, 1 << 30), 0);
    assert_int_equal(sparse__q8_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);

    assert_int_equal(sparse__q8_rdivpot(5, 1), 3); /* 2.5: ties away from zero */
    assert_int_equal(sparse__q8_rdivpot(-5, 1), -3);
    assert_int_equal(sparse__q8_rdivpot(3, 1), 2);
    assert_int_equal(sparse__q8_rdivpot(-3, 1), -2);
    assert_int_equal(sparse__q8_rdivpot(6, 2), 2); /* 1.5 */
    assert_int_equal(sparse__q8_rdivpot(5, 2), 1); /* 1.25 */
    assert_int_equal(sparse__q8_rdivpot(-6, 2), -2);
    assert_int_equal(sparse__q8_rdivpot(7, 0), 7);
    assert_int_equal(sparse__q8_rdivpot(INT32_MAX, 31), 1);
    assert_int_equal(sparse__q8_rdivpot(INT32_MIN, 31), -1);

    assert_int_equal(sparse__q8_mul(100, 1 << 30, 0), 50);
    assert_int_equal(sparse__q8_mul(100, 1 << 30, 1), 100);
    assert_int_equal(sparse__q8_mul(100, 1 << 30, -2), 13); /* 12.5 */
    assert_int_equal(sparse__q8_mul(-100, 1 << 30, -2), -13);
    /* x << 3 saturates to INT32_MAX before the multiply by 0.5. */
    assert_int_equal(sparse__q8_mul(INT32_MAX, 1 << 30, 3), 1 << 30);

    /* x * real within one unit for random multipliers over many magnitudes. */
    for (int i = 0; i < 20000; i++) {
        double real = ldexp(0.5 + 0.5 * rndu(), -(int)(rnd() % 24));
        int32_t x = (int32_t)(rnd() % 2000001) - 1000000;
        int32_t m;
        int s;
        sparse__q_multiplier(real, &m, &s);
        double want = (double)x * real;
        double got = sparse__q8_mul(x, m, s);
        if (fabs(got - want) > 1.0)
            fail_msg("q_mul(%d, %.9g) = %g, want %.3f", x, real, got, want);
    }

    assert_int_equal(sparse__q_quantize(0.26, 0.1, 3), 6);
    assert_int_equal(sparse__q_quantize(-0.25, 0.1, 0), -3); /* -2.5 away from zero */
    assert_int_equal(sparse__q_quantize(1000.0, 0.1, 0), 127);
    assert_int_equal(sparse__q_quantize(-1000.0, 0.1, 0), -128);
    assert_int_equal(sparse__q_quantize(NAN, 0.1, 0), -128);
}

/* ---- kernels against a double reference ---- */

static void fill8(int8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = rnd8();
}

/* The same convolution with its weights as a bitmask and as CSR (with 1-,
 * 2- and 4-byte indices) gives the dense result bit for bit. The encoders
 * here are the test's own, written from the format's description. */
static void check_encodings(const sparse__q8_conv_params *dense, size_t cols, const int8_t *x,
                            const int8_t *want, const char *what)
{
    const size_t rows = dense->out_c, n = rows * cols;
    const size_t out = rows * dense->out_h * dense->out_w;
    int8_t *val = calloc(n + 1, 1), *y = malloc(out);
    uint8_t *mask = calloc(n / 8 + 1, 1);
    uint32_t *col32 = calloc(n + 1, 4), *row32 = calloc(rows + 1, 4);
    uint16_t *col16 = calloc(n + 1, 2), *row16 = calloc(rows + 1, 2);
    uint8_t *col8 = calloc(n + 1, 1);
    assert_true(val && y && mask && col32 && row32 && col16 && row16 && col8);
    size_t k = 0;
    for (size_t o = 0; o < rows; o++) {
        row32[o] = (uint32_t)k;
        row16[o] = (uint16_t)k;
        for (size_t j = 0; j < cols; j++) {
            int8_t v = dense->w.val[o * cols + j];
            if (!v)
                continue;
            mask[(o * cols + j) / 8] |= (uint8_t)(1u << ((o * cols + j) % 8));
            col32[k] = (uint32_t)j;
            col16[k] = (uint16_t)j;
            col8[k] = (uint8_t)j;
            val[k++] = v;
        }
    }
    row32[rows] = (uint32_t)k;
    row16[rows] = (uint16_t)k;
    sparse__q8_conv_params p = *dense;
    p.w.enc = SPARSE_Q8_BITMASK;
    p.w.val = val;
    p.w.mask = mask;
    sparse__q8_conv(&p, x, y);
    if (memcmp(y, want, out))
        fail_msg("%s: bitmask weights differ from dense", what);
    const void *cols_of[3] = {col8, col16, col32};
    const unsigned col_bytes[3] = {1, 2, 4};
    for (int e = 0; e < 3; e++) {
        if (e == 0 && cols > 256)
            continue;
        p.w.enc = SPARSE_Q8_CSR;
        p.w.mask = NULL;
        p.w.col = cols_of[e];
        p.w.col_bytes = (uint8_t)col_bytes[e];
        p.w.row = e == 2 ? (const void *)row32 : (const void *)row16;
        p.w.row_bytes = e == 2 ? 4 : 2;
        memset(y, 0x55, out);
        sparse__q8_conv(&p, x, y);
        if (memcmp(y, want, out))
            fail_msg("%s: CSR weights (%u-byte columns) differ from dense", what, col_bytes[e]);
    }
    free(val);
    free(y);
    free(mask);
    free(col32);
    free(row32);
    free(col16);
    free(row16);
    free(col8);
}

/* Checks a convolution (or FC) against sum((x - zp) s_in * w s_w) + b s_in s_w. */
static void check_conv(size_t in_c, size_t hw, size_t out_c, size_t k, size_t stride, size_t pad,
                       size_t groups, int relu, const char *what)
{
    const size_t out_hw = (hw + 2 * pad - k) / stride + 1;
    const size_t cin_g = in_c / groups, nw = out_c * cin_g * k * k;
    int8_t *x = malloc(in_c * hw * hw), *w = malloc(nw), *y = malloc(out_c * out_hw * out_hw);
    int32_t *b = malloc(out_c * sizeof *b), *mult = malloc(out_c * sizeof *mult);
    int8_t *shift = malloc(out_c * sizeof *shift);
    double *sw = malloc(out_c * sizeof *sw);
    assert_non_null(x);
    assert_non_null(w);
    assert_non_null(y);
    assert_non_null(b);
    assert_non_null(mult);
    assert_non_null(shift);
    assert_non_null(sw);
    fill8(x, in_c * hw * hw);
    fill8(w, nw);
    const double s_in = 0.02 + 0.05 * rndu();
    const int32_t zp_in = (int32_t)(rnd() % 60) - 30, zp_out = relu ? -128 : (int32_t)(rnd() % 40) - 20;
    /* Output scale from the spread of the outputs, about 3 sigma in range:
     * sqrt(taps) * std(x - zp) * std(w) * mean(s_w) * s_in ~ sqrt(taps) * 74 * 74 * 0.015 * s_in. */
    const double s_out = s_in * sqrt((double)(cin_g * k * k)) * 74.0 * 74.0 * 0.015 * 3.0 / 128.0;
    for (size_t o = 0; o < out_c; o++) {
        sw[o] = 0.005 + 0.02 * rndu();
        b[o] = (int32_t)(rnd() % 4001) - 2000;
        int sh;
        sparse__q_multiplier(s_in * sw[o] / s_out, &mult[o], &sh);
        shift[o] = (int8_t)sh;
    }
    /* Some zero weights, so the sparse encodings have something to skip. */
    for (size_t i = 0; i < nw; i++)
        if (rnd() % 3 == 0)
            w[i] = 0;
    sparse__q8_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_c = (uint32_t)in_c;
    p.out_c = (uint32_t)out_c;
    p.groups = (uint32_t)groups;
    p.in_h = p.in_w = (uint16_t)hw;
    p.out_h = p.out_w = (uint16_t)out_hw;
    p.k = (uint8_t)k;
    p.stride = (uint8_t)stride;
    p.pad_top = p.pad_left = (uint8_t)pad;
    p.in_zp = (int8_t)zp_in;
    p.out_zp = (int8_t)zp_out;
    p.act_min = (int8_t)(relu ? zp_out : -128);
    p.act_max = 127;
    p.w.enc = SPARSE_Q8_DENSE;
    p.w.val = w;
    p.bias = b;
    p.mult = mult;
    p.shift = shift;
    sparse__q8_conv(&p, x, y);
    check_encodings(&p, nw / out_c, x, y, what);
    const size_t cout_g = out_c / groups;
    size_t inside = 0, n_out = out_c * out_hw * out_hw;
    for (size_t o = 0; o < out_c; o++)
        for (size_t oy = 0; oy < out_hw; oy++)
            for (size_t ox = 0; ox < out_hw; ox++) {
                double acc = 0.0;
                const size_t g = o / cout_g;
                for (size_t ci = 0; ci < cin_g; ci++)
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++) {
                            long iy = (long)(oy * stride + ky) - (long)pad, ix = (long)(ox * stride + kx) - (long)pad;
                            if (iy < 0 || ix < 0 || iy >= (long)hw || ix >= (long)hw)
                                continue;
                            double xv = ((double)x[((g * cin_g + ci) * hw + (size_t)iy) * hw + (size_t)ix] - zp_in) * s_in;
                            acc += xv * (double)w[((o * cin_g + ci) * k + ky) * k + kx] * sw[o];
                        }
                acc += (double)b[o] * s_in * sw[o];
                int32_t want = ref_q(acc, s_out, zp_out, relu ? zp_out : -128, 127);
                int32_t got = y[(o * out_hw + oy) * out_hw + ox];
                inside += want > -128 && want < 127;
                if (abs(got - want) > 1)
                    fail_msg("%s: output (%zu,%zu,%zu) = %d, float reference %d (real %.5f)", what, o, oy,
                             ox, got, want, acc);
            }
    /* The check means something only if most outputs are not clamped. */
    if (!relu && inside < n_out / 2)
        fail_msg("%s: only %zu of %zu outputs inside the int8 range", what, inside, n_out);
    free(x);
    free(w);
    free(y);
    free(b);
    free(mult);
    free(shift);
    free(sw);
}

static void test_q_conv_kinds(void **state)
{
    (void)state;
    check_conv(3, 7, 4, 3, 2, 1, 1, 0, "conv 3x3 stride 2 pad 1");
    check_conv(4, 8, 6, 5, 1, 0, 1, 1, "conv 5x5 valid + relu");
    check_conv(5, 6, 5, 3, 1, 1, 5, 0, "depthwise 3x3");
    check_conv(8, 5, 7, 1, 1, 0, 1, 0, "pointwise 1x1");
    check_conv(8, 6, 4, 1, 2, 0, 1, 0, "pointwise 1x1 stride 2 (projection)");
    check_conv(200, 1, 10, 1, 1, 0, 1, 0, "fc 200 -> 10");
}

static void test_q_pools(void **state)
{
    (void)state;
    int8_t x[4 * 6 * 6], y[4 * 3 * 3];
    fill8(x, sizeof x);
    sparse__q8_pool_params p = {4, 6, 6, 3, 3, 2, 2, 1, -128, 127};
    sparse__q8_maxpool(&p, x, y);
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                int m = -128;
                double s = 0.0;
                for (size_t a = 0; a < 2; a++)
                    for (size_t b = 0; b < 2; b++) {
                        int v = x[(c * 6 + 2 * i + a) * 6 + 2 * j + b];
                        m = v > m ? v : m;
                        s += v;
                    }
                assert_int_equal(y[(c * 3 + i) * 3 + j], m); /* max pooling is exact */
                (void)s;
            }
    sparse__q8_avgpool(&p, x, y);
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                double s = 0.0;
                for (size_t a = 0; a < 2; a++)
                    for (size_t b = 0; b < 2; b++)
                        s += x[(c * 6 + 2 * i + a) * 6 + 2 * j + b];
                /* Same quantisation in and out: the mean, rounded half away from zero. */
                double want = s / 4.0;
                want = want >= 0 ? floor(want + 0.5) : ceil(want - 0.5);
                assert_int_equal(y[(c * 3 + i) * 3 + j], (int)want);
            }
    /* Input downsampling: 2x2 pixels and 2 channels at once (4 -> 2 channels). */
    int8_t z[2 * 3 * 3];
    sparse__q8_pool_params d = {2, 6, 6, 3, 3, 2, 2, 2, -128, 127};
    sparse__q8_maxpool(&d, x, z);
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                int m = -128;
                for (size_t dc = 0; dc < 2; dc++)
                    for (size_t a = 0; a < 2; a++)
                        for (size_t b = 0; b < 2; b++) {
                            int v = x[((2 * c + dc) * 6 + 2 * i + a) * 6 + 2 * j + b];
                            m = v > m ? v : m;
                        }
                assert_int_equal(z[(c * 3 + i) * 3 + j], m);
            }
    /* In place (output over input, as an exported model's arena may place
     * them), every pool gives what it gives out of place. */
    const sparse__q8_pool_params *pools[] = {&p, &d};
    for (int k = 0; k < 2; k++)
        for (int avg = 0; avg < 2 - k; avg++) {
            int8_t a[4 * 6 * 6], b[4 * 6 * 6];
            memcpy(b, x, sizeof x);
            (avg ? sparse__q8_avgpool : sparse__q8_maxpool)(pools[k], x, a);
            (avg ? sparse__q8_avgpool : sparse__q8_maxpool)(pools[k], b, b);
            assert_memory_equal(a, b, pools[k]->out_c * 9);
        }
    /* A ReLU that could not be fused clamps at the zero point. */
    int8_t r[16], in[16];
    fill8(in, 16);
    sparse__q8_relu_params rp = {16, -7};
    sparse__q8_relu(&rp, in, r);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(r[i], in[i] < -7 ? -7 : in[i]);
    sparse__q8_relu(&rp, in, in);
    assert_memory_equal(in, r, 16);
}

static void check_merge(size_t n_in, int concat)
{
    enum { N = 500 };
    int8_t x[3][N], y[3 * N];
    const int8_t *xp[3] = {x[0], x[1], x[2]};
    double s[3];
    int32_t zp[3];
    for (size_t i = 0; i < n_in; i++) {
        fill8(x[i], N);
        s[i] = 0.01 + 0.1 * rndu();
        zp[i] = (int32_t)(rnd() % 100) - 50;
    }
    const double s_out = concat ? 0.08 : 0.15;
    const int32_t zp_out = 5;
    if (concat) {
        sparse__q8_concat_params p;
        sparse__q8_concat_input in[3];
        memset(&p, 0, sizeof p);
        memset(in, 0, sizeof in);
        p.n_in = (uint8_t)n_in;
        for (size_t i = 0; i < n_in; i++) {
            in[i].count = N;
            in[i].zp = (int8_t)zp[i];
        }
        p.out_zp = zp_out;
        p.act_min = -128;
        p.act_max = 127;
        sparse__q_concat_prepare(&p, in, s, s_out);
        sparse__q8_concat(&p, xp, y);
        for (size_t i = 0; i < n_in; i++)
            for (size_t j = 0; j < N; j++) {
                int32_t want = ref_q(s[i] * (x[i][j] - zp[i]), s_out, zp_out, -128, 127);
                if (abs(y[i * N + j] - want) > 1)
                    fail_msg("concat input %zu [%zu]: %d, float reference %d", i, j, y[i * N + j], want);
            }
        return;
    }
    sparse__q8_add_params p;
    sparse__q8_add_input in[3];
    memset(&p, 0, sizeof p);
    memset(in, 0, sizeof in);
    p.n_in = (uint8_t)n_in;
    p.count = N;
    for (size_t i = 0; i < n_in; i++)
        in[i].zp = (int8_t)zp[i];
    p.out_zp = zp_out;
    p.act_min = -128;
    p.act_max = 127;
    sparse__q_add_prepare(&p, in, s, s_out);
    sparse__q8_add(&p, xp, y);
    /* In place over the first input: the same sums. */
    int8_t first[N];
    memcpy(first, x[0], N);
    const int8_t *xq[3] = {first, x[1], x[2]};
    sparse__q8_add(&p, xq, first);
    assert_memory_equal(first, y, N);
    for (size_t j = 0; j < N; j++) {
        double real = 0.0;
        for (size_t i = 0; i < n_in; i++)
            real += s[i] * (x[i][j] - zp[i]);
        int32_t want = ref_q(real, s_out, zp_out, -128, 127);
        if (abs(y[j] - want) > 1)
            fail_msg("add of %zu [%zu]: %d, float reference %d (real %.5f)", n_in, j, y[j], want, real);
    }
}

static void test_q_merges(void **state)
{
    (void)state;
    check_merge(2, 0);
    check_merge(3, 0);
    check_merge(2, 1);
    check_merge(3, 1);
}

const struct CMUnitTest quant_tests[] = {
    cmocka_unit_test(test_q_multiplier),     cmocka_unit_test(test_q_fixed_point),
    cmocka_unit_test(test_q_conv_kinds),     cmocka_unit_test(test_q_pools),
    cmocka_unit_test(test_q_merges),
};
const size_t quant_test_count = sizeof quant_tests / sizeof quant_tests[0];
