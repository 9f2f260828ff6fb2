/*
 * Int8: TFLite's fixed-point helpers against values worked out from their
 * definitions, every reference kernel against a double-precision reference
 * on the same int8 inputs (within one quantisation step per output), and the
 * quantised all-layers network against the float one, node by node.
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
#include "test_memory_net.h"
#include "../expect.h"

/* ---- deterministic random numbers (xorshift) ---- */

static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static int8_t rnd8(void) { return (int8_t)((int32_t)(rnd() % 256) - 128); }
static double rndu(void) { return (double)rnd() / 4294967296.0; }

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

/* ---- the whole network ---- */

/* Runs images through both networks and compares every node's dequantised
 * int8 output with the float one; returns the worst mean error in steps.
 * A node whose int8 tensor also serves a later node (a conv with its batch
 * norm folded, a producer with its ReLU fused) holds that node's values, so
 * it is compared there. */
static double compare_nodes(sparse_net *net, sparse_qnet *q, const float *img, size_t n_img, size_t hw)
{
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, 1, 1, hw, hw), SPARSE_OK);
    const size_t n = sparse_net_node_count(net);
    double worst_mean = 0.0;
    for (size_t im = 0; im < n_img; im++) {
        memcpy(sparse_tensor_data(x), img + im * hw * hw, hw * hw * sizeof(float));
        assert_int_equal(sparse_net_forward(net, x, 0, NULL), SPARSE_OK);
        int label = -1;
        assert_int_equal(sparse_qnet_predict(q, img + im * hw * hw, NULL, &label), SPARSE_OK);
        for (size_t id = 0; id < n; id++) {
            const int8_t *qv = NULL, *later = NULL;
            size_t count = 0;
            assert_int_equal(sparse_qnet_node_output(q, id, &qv, &count), SPARSE_OK);
            int shared = 0;
            for (size_t j = id + 1; j < n && !shared; j++) {
                assert_int_equal(sparse_qnet_node_output(q, j, &later, NULL), SPARSE_OK);
                shared = later == qv;
            }
            if (shared)
                continue;
            sparse_tensor *t = NULL;
            assert_int_equal(sparse_net_node_output(&t, net, id), SPARSE_OK);
            double s;
            int32_t zp;
            assert_int_equal(sparse_qnet_node_qparams(q, id, &s, &zp), SPARSE_OK);
            assert_int_equal(count, sparse_tensor_element_count(t));
            const float *fv = sparse_tensor_data_const(t);
            double sum = 0.0, mx = 0.0;
            for (size_t j = 0; j < count; j++) {
                double e = fabs(s * (qv[j] - zp) - (double)fv[j]) / s;
                sum += e;
                mx = e > mx ? e : mx;
            }
            double mean = sum / (double)count;
            worst_mean = mean > worst_mean ? mean : worst_mean;
            if (mean > 3.0 || mx > 12.0)
                fail_msg("node '%s': int8 differs from float by %.2f steps on average, %.2f at most",
                         sparse_net_node_name(net, id), mean, mx);
            sparse_tensor_free(t);
        }
    }
    sparse_tensor_free(x);
    return worst_mean;
}

/* all-layers with random weights and batch norm statistics, quantised on
 * random images: every node's dequantised int8 output against the float
 * network's. Each kernel is within one step of its own inputs (tests
 * above); along the graph the rounding of earlier tensors adds up, and a
 * layer whose output scale is finer than its input's (a 3x3 conv after a 1x1
 * one, a small FC) counts it in more of its own steps, so here the bound is
 * 3 steps of the node's scale on average and 12 at most (all-layers: 0.8 on
 * average in the worst node, 7.9 at most; the FC of test_q_unfused_relu: 2.0
 * on average, while against its own int8 inputs it is within 0.6). Gross
 * errors (a wrong zero point, scale or layout) are tens of steps. */
static void test_q_network(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(memtest_yaml(2), 16, 11);
    size_t bn;
    assert_int_equal(sparse_net_find_node(net, "b1bn", &bn), SPARSE_OK);
    const char *bn_params[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        sparse_tensor *t = NULL;
        assert_int_equal(sparse_net_param(&t, net, bn, bn_params[k]), SPARSE_OK);
        float *v = sparse_tensor_data(t);
        for (size_t i = 0; i < sparse_tensor_element_count(t); i++)
            v[i] = k == 3 ? (float)(0.5 + rndu()) : (float)(rndu() - 0.3);
        sparse_tensor_free(t);
    }
    enum { N = 48 };
    float *img = malloc(N * 784 * sizeof *img);
    int32_t labels[N];
    assert_non_null(img);
    for (size_t i = 0; i < N * 784; i++)
        img[i] = (float)(2.0 * rndu() - 0.5);
    for (size_t i = 0; i < N; i++)
        labels[i] = (int32_t)(i % 10);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, N, 1, 28, 28, img, labels, 10), SPARSE_OK);
    sparse_qnet *q = NULL;
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_count(q), sparse_net_node_count(net));

    double worst_mean = compare_nodes(net, q, img, 4, 28);
    print_message("int8 vs float, worst mean error over nodes: %.3f steps\n", worst_mean);
    double acc = -1.0;
    assert_int_equal(sparse_qnet_evaluate(q, ds, &acc), SPARSE_OK);
    assert_true(acc >= 0.0 && acc <= 1.0);

    /* Errors. */
    sparse_qnet *bad = (sparse_qnet *)&bad;
    assert_int_equal(sparse_qnet_create(&bad, NULL, ds, NULL), SPARSE_EINVAL);
    assert_null(bad);
    sparse_quant_options o = SPARSE_QUANT_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(sparse_qnet_create(&bad, net, ds, &o), SPARSE_EVERSION);
    assert_int_equal(sparse_quant_options_init(&o, SPARSE_QUANT_OPTIONS_VERSION), SPARSE_OK);
    assert_int_equal(o.calib_images, 1000);
    assert_int_equal(sparse_qnet_node_qparams(q, 999, NULL, NULL), SPARSE_ERANGE);
    sparse_dataset *small = NULL;
    assert_int_equal(sparse_dataset_from_memory(&small, 1, 1, 4, 4, img, labels, 10), SPARSE_OK);
    assert_int_equal(sparse_qnet_create(&bad, net, small, NULL), SPARSE_ESHAPE);
    assert_null(bad);
    assert_int_equal(sparse_qnet_evaluate(q, small, &acc), SPARSE_ESHAPE);
    sparse_qnet_free(NULL);

    sparse_dataset_free(small);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
    free(img);
    sparse_net_free(net);
}

/* A ReLU whose producer is read elsewhere too cannot be fused: it runs as a
 * clamp at the zero point (node "r"), and the sum rescales both inputs. */
static void test_q_unfused_relu(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 8, 8]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c, filters: 4, kernel: 3}\n"
                               "  - {type: relu, name: r}\n"
                               "  - {type: merge, name: m, input: [c, r], mode: sum}\n"
                               "  - {type: avgpool, name: p, size: 2}\n"
                               "  - {type: relu, name: pr}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = memtest_net(yaml, 8, 21);
    enum { N = 24 };
    float img[N * 64];
    int32_t labels[N];
    for (size_t i = 0; i < N * 64; i++)
        img[i] = (float)(2.0 * rndu() - 1.0);
    for (size_t i = 0; i < N; i++)
        labels[i] = (int32_t)(i % 3);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, N, 1, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_qnet *q = NULL;
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_OK);
    /* r has a buffer of its own with c's quantisation; pr is fused into p. */
    size_t c, r, p, pr;
    assert_int_equal(sparse_net_find_node(net, "c", &c), SPARSE_OK);
    assert_int_equal(sparse_net_find_node(net, "r", &r), SPARSE_OK);
    assert_int_equal(sparse_net_find_node(net, "p", &p), SPARSE_OK);
    assert_int_equal(sparse_net_find_node(net, "pr", &pr), SPARSE_OK);
    const int8_t *a, *b;
    assert_int_equal(sparse_qnet_node_output(q, c, &a, NULL), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_output(q, r, &b, NULL), SPARSE_OK);
    assert_ptr_not_equal(a, b);
    assert_int_equal(sparse_qnet_node_output(q, p, &a, NULL), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_output(q, pr, &b, NULL), SPARSE_OK);
    assert_ptr_equal(a, b);
    double s1, s2;
    int32_t z1, z2;
    assert_int_equal(sparse_qnet_node_qparams(q, c, &s1, &z1), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_qparams(q, r, &s2, &z2), SPARSE_OK);
    assert_true(s1 == s2 && z1 == z2);
    (void)compare_nodes(net, q, img, 6, 8);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* The int8 network of a tiny-cnn agrees with the float one on most inputs
 * and stays integer-exact: predicting twice gives the same logits. */
static void test_q_tiny_agreement(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(memtest_yaml(0), 32, 5);
    enum { N = 64 };
    float *img = malloc(N * 784 * sizeof *img);
    int32_t labels[N];
    assert_non_null(img);
    for (size_t i = 0; i < N * 784; i++)
        img[i] = (float)(3.0 * rndu() - 1.0);
    for (size_t i = 0; i < N; i++)
        labels[i] = (int32_t)(i % 10);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, N, 1, 28, 28, img, labels, 10), SPARSE_OK);
    sparse_qnet *q = NULL;
    sparse_quant_options o = SPARSE_QUANT_OPTIONS_INIT;
    o.calib_images = 32;
    assert_int_equal(sparse_qnet_create(&q, net, ds, &o), SPARSE_OK);
    sparse_tensor *x = NULL, *lg = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, 1, 1, 28, 28), SPARSE_OK);
    size_t shp[2] = {1, 10};
    assert_int_equal(sparse_tensor_create(&lg, 2, shp), SPARSE_OK);
    int agree = 0;
    for (size_t i = 0; i < N; i++) {
        memcpy(sparse_tensor_data(x), img + i * 784, 784 * sizeof(float));
        assert_int_equal(sparse_net_forward(net, x, 0, lg), SPARSE_OK);
        const float *f = sparse_tensor_data_const(lg);
        int fl = 0;
        for (int c = 1; c < 10; c++)
            fl = f[c] > f[fl] ? c : fl;
        int8_t a[10], b[10];
        int la = -1, lb = -2;
        assert_int_equal(sparse_qnet_predict(q, img + i * 784, a, &la), SPARSE_OK);
        assert_int_equal(sparse_qnet_predict(q, img + i * 784, b, &lb), SPARSE_OK);
        assert_memory_equal(a, b, 10);
        assert_int_equal(la, lb);
        agree += la == fl;
    }
    if (agree < N * 8 / 10)
        fail_msg("int8 and float agree on %d of %d random inputs", agree, N);
    sparse_tensor_free(x);
    sparse_tensor_free(lg);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
    free(img);
    sparse_net_free(net);
}

/* Sets element i of parameter `name` of node `node` (i = SIZE_MAX: all). */
static void set_param(sparse_net *net, const char *node, const char *name, size_t i, float v)
{
    size_t id;
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_find_node(net, node, &id), SPARSE_OK);
    assert_int_equal(sparse_net_param(&t, net, id, name), SPARSE_OK);
    float *d = sparse_tensor_data(t);
    for (size_t j = 0; j < sparse_tensor_element_count(t); j++)
        if (i == SIZE_MAX || j == i)
            d[j] = v;
    sparse_tensor_free(t);
}

/* Finite but extreme parameters (issue 21: a mutated weights file) would
 * saturate the int32 arithmetic into garbage: sparse_qnet_create refuses
 * them, naming the node. */
static void test_q_extreme_params(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 8, 8]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c1, filters: 2, kernel: 3, padding: valid}\n"
                               "  - {type: relu, name: r1}\n"
                               "  - {type: conv2d, name: c2, filters: 2, kernel: 3, padding: valid}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    enum { N = 16 };
    float img[N * 64];
    int32_t labels[N];
    for (size_t i = 0; i < N * 64; i++)
        img[i] = (float)rndu();
    for (size_t i = 0; i < N; i++)
        labels[i] = (int32_t)(i % 3);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, N, 1, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_qnet *q = NULL;

    /* A bias of 3.9e36 is about 1e42 steps of its int32 scale. */
    sparse_net *net = memtest_net(yaml, 8, 3);
    set_param(net, "c1", "bias", 1, 3.9e36f);
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_ERANGE);
    assert_null(q);
    assert_non_null(strstr(sparse_last_error(), "node 'c1'"));
    assert_non_null(strstr(sparse_last_error(), "bias"));
    sparse_net_free(net);

    /* A weight of 2.1e38 reading a channel that is always 0 (its ReLU never
     * passes anything): calibration sees nothing of it, and its
     * requantisation multiplier would be about 2^120. */
    net = memtest_net(yaml, 8, 3);
    set_param(net, "c1", "weight", SIZE_MAX, 0.1f);
    set_param(net, "c1", "bias", 0, -10.0f);
    for (size_t k = 0; k < 9; k++)
        set_param(net, "c1", "weight", k, 0.0f);
    set_param(net, "c2", "weight", 4, 2.1e38f); /* output 0, input channel 0, centre */
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_ERANGE);
    assert_null(q);
    assert_non_null(strstr(sparse_last_error(), "node 'c2' output channel 0"));
    assert_non_null(strstr(sparse_last_error(), "multiplier"));
    /* The same network with an ordinary weight there is fine. */
    set_param(net, "c2", "weight", 4, 0.5f);
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_OK);
    sparse_qnet_free(q);
    sparse_net_free(net);
    sparse_dataset_free(ds);
}

/* The int8 API's argument checks: every pointer named, calibration and
 * evaluation data of another shape or with no images refused, node ids
 * past the last; getters of NULL say "none". */
static void test_q_api_errors(void **state)
{
    (void)state;
    sparse_net *net = memtest_net("input: [1, 2, 2]\nclasses: 2\nlayers:\n  - {type: fc, name: out, units: 2}\n", 4, 1);
    const float img[2 * 4] = {0.1f, -0.5f, 0.25f, 1.0f, -1.0f, 0.5f, 0.0f, 0.75f}, wrong_img[2 * 9] = {0};
    const int32_t lab[2] = {0, 1};
    sparse_dataset *ds = NULL, *wrong = NULL, *empty = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, lab, 2), SPARSE_OK);
    assert_int_equal(sparse_dataset_from_memory(&wrong, 2, 1, 3, 3, wrong_img, lab, 2), SPARSE_OK);
    assert_int_equal(sparse_dataset_from_memory(&empty, 0, 1, 2, 2, NULL, NULL, 2), SPARSE_OK);
    sparse_qnet *q = NULL;
    EXPECT_NULL_ARG(sparse_qnet_create(NULL, net, ds, NULL), "sparse_qnet_create", "out");
    EXPECT_NULL_ARG(sparse_qnet_create(&q, NULL, ds, NULL), "sparse_qnet_create", "net");
    EXPECT_NULL_ARG(sparse_qnet_create(&q, net, NULL, NULL), "sparse_qnet_create", "calib");
    EXPECT_ERROR(sparse_qnet_create(&q, net, wrong, NULL), SPARSE_ESHAPE,
                 "int8 calibration images are 1x3x3, the network takes 1x2x2");
    EXPECT_ERROR(sparse_qnet_create(&q, net, empty, NULL), SPARSE_EEMPTY, "int8 calibration: no images");
    assert_null(q);
    sparse_quant_options o = SPARSE_QUANT_OPTIONS_INIT;
    o.calib_images = 1; /* fewer than the set has */
    assert_int_equal(sparse_qnet_create(&q, net, ds, &o), SPARSE_OK);

    assert_int_equal(sparse_qnet_node_count(NULL), 0);
    assert_int_equal(sparse_qnet_class_count(NULL), 0);
    assert_int_equal(sparse_qnet_class_count(q), 2);
    size_t c = 0, w = 0;
    EXPECT_NULL_ARG(sparse_qnet_input_shape(NULL, &c, NULL, &w), "sparse_qnet_input_shape", "q");
    assert_int_equal(sparse_qnet_input_shape(q, &c, NULL, &w), SPARSE_OK);
    assert_true(c == 1 && w == 2);
    const size_t n = sparse_qnet_node_count(q);
    double scale = 0;
    int32_t zp = 0;
    EXPECT_ERROR(sparse_qnet_node_qparams(NULL, 0, &scale, &zp), SPARSE_EINVAL, "sparse_qnet_node_qparams: NULL network");
    EXPECT_ERROR(sparse_qnet_node_qparams(q, n, &scale, &zp), SPARSE_ERANGE, "sparse_qnet_node_qparams: no node");
    assert_int_equal(sparse_qnet_node_qparams(q, 0, NULL, NULL), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_qparams(q, 0, &scale, NULL), SPARSE_OK);
    assert_true(scale > 0.0);
    const int8_t *data = NULL;
    size_t count = 0;
    EXPECT_NULL_ARG(sparse_qnet_node_output(q, 0, NULL, &count), "sparse_qnet_node_output", "data");
    EXPECT_ERROR(sparse_qnet_node_output(q, n, &data, &count), SPARSE_ERANGE, "sparse_qnet_node_output: no node");
    assert_null(data);
    int8_t in8[4], logits[2];
    int label = -1;
    EXPECT_NULL_ARG(sparse_qnet_quantize_input(NULL, img, in8), "sparse_qnet_quantize_input", "q");
    EXPECT_NULL_ARG(sparse_qnet_quantize_input(q, NULL, in8), "sparse_qnet_quantize_input", "image");
    EXPECT_NULL_ARG(sparse_qnet_quantize_input(q, img, NULL), "sparse_qnet_quantize_input", "out");
    EXPECT_NULL_ARG(sparse_qnet_predict(NULL, img, logits, &label), "sparse_qnet_predict", "q");
    EXPECT_NULL_ARG(sparse_qnet_predict(q, NULL, logits, &label), "sparse_qnet_predict", "image");
    assert_int_equal(sparse_qnet_predict(q, img, logits, &label), SPARSE_OK);
    assert_int_equal(sparse_qnet_node_output(q, n - 1, &data, NULL), SPARSE_OK);
    assert_memory_equal(data, logits, 2); /* the last node's output is the logits */
    double acc = -1;
    EXPECT_NULL_ARG(sparse_qnet_evaluate(NULL, ds, &acc), "sparse_qnet_evaluate", "q");
    EXPECT_NULL_ARG(sparse_qnet_evaluate(q, NULL, &acc), "sparse_qnet_evaluate", "ds");
    EXPECT_NULL_ARG(sparse_qnet_evaluate(q, ds, NULL), "sparse_qnet_evaluate", "accuracy");
    EXPECT_ERROR(sparse_qnet_evaluate(q, wrong, &acc), SPARSE_ESHAPE, "int8 evaluation: images are 1x3x3");
    EXPECT_ERROR(sparse_qnet_evaluate(q, empty, &acc), SPARSE_EEMPTY, "int8 evaluation: no images");
    assert_int_equal(sparse_qnet_evaluate(q, ds, &acc), SPARSE_OK);
    assert_true(acc == 0.0 || acc == 0.5 || acc == 1.0);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
    sparse_dataset_free(wrong);
    sparse_dataset_free(empty);
    sparse_net_free(net);
}

int memtest_quant_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q_multiplier),     cmocka_unit_test(test_q_fixed_point),
        cmocka_unit_test(test_q_conv_kinds),     cmocka_unit_test(test_q_pools),
        cmocka_unit_test(test_q_merges),         cmocka_unit_test(test_q_network),
        cmocka_unit_test(test_q_unfused_relu),   cmocka_unit_test(test_q_tiny_agreement),
        cmocka_unit_test(test_q_extreme_params), cmocka_unit_test(test_q_api_errors),
    };
    return cmocka_run_group_tests_name("memory_int8", tests, NULL, NULL);
}
