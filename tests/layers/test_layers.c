/* Layers: gradients against double-precision finite differences (here),
 * and in parts of their own the architecture files (test_arch.c), training
 * (test_train.c), saved, masked, inherited and folded parameters
 * (test_params.c), the experimental hooks (test_hooks.c) and the API's
 * argument checks (test_api_errors.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/sparse.h>

#include "layers/layers_internal.h"
#include "api_errors.h"
#include "fixture.h"
#include "refnet.h"

extern const struct CMUnitTest arch_tests[];
extern const size_t arch_test_count;
extern const struct CMUnitTest train_tests[];
extern const size_t train_test_count;
extern const struct CMUnitTest params_tests[];
extern const size_t params_test_count;
extern const struct CMUnitTest hooks_tests[];
extern const size_t hooks_test_count;

static int close_enough(double analytic, double fd, double rel)
{
    return fabs(analytic - fd) <= rel * fabs(fd) + 3e-5;
}

/* Checks every parameter gradient (sampling up to `sample` entries per
 * tensor) and the input gradient against central differences of the
 * double-precision reference. */
static int g_chunked; /* exercise the rebuilt-in-chunks im2col path */

static void gradcheck(const char *yaml, size_t n, float smoothing, size_t sample)
{
    sparse_net *net = make_net(yaml, n, 11);
    if (g_chunked)
        assert_int_equal(sparse__net_limit_conv_memory(net, 1), SPARSE_OK);
    randomise_params(net, 5);
    size_t C, H, W, K;
    sparse_net_node_shape(net, 0, &C, &H, &W);
    sparse_net_node_shape(net, sparse_net_node_count(net) - 1, &K, NULL, NULL);
    sparse_tensor *x;
    assert_int_equal(sparse_tensor_create_nchw(&x, n, C, H, W), SPARSE_OK);
    sparse_rng *rng;
    sparse_rng_create(&rng, 3);
    float *xd = sparse_tensor_data(x);
    size_t nx = n * C * H * W;
    double *xr = malloc(nx * sizeof *xr);
    for (size_t i = 0; i < nx; i++)
        xr[i] = xd[i] = (float)sparse_rng_normal(rng);
    int32_t labels[128];
    for (size_t i = 0; i < n; i++)
        labels[i] = (int32_t)sparse_rng_uint(rng, K);
    sparse_rng_free(rng);

    sparse_tensor *logits;
    size_t ls[2] = {n, K};
    sparse_tensor_create(&logits, 2, ls);
    assert_int_equal(sparse_net_forward(net, x, 1, logits), SPARSE_OK);
    double loss = 0;
    assert_int_equal(sparse_net_backward(net, labels, smoothing, &loss), SPARSE_OK);

    refnet *r = refnet_create(net);
    double *zr = malloc(n * K * sizeof *zr);
    double lref = refnet_loss(r, xr, n, labels, smoothing, zr);
    assert_true(fabs(loss - lref) <= 1e-4 * fabs(lref) + 1e-5);
    const float *z = sparse_tensor_data_const(logits);
    double zmax = 0;
    for (size_t i = 0; i < n * K; i++)
        zmax = fmax(zmax, fabs(zr[i]));
    for (size_t i = 0; i < n * K; i++)
        assert_true(fabs(z[i] - zr[i]) <= 1e-4 * zmax + 1e-6);

    const double h = 1e-5;
    int failures = 0;
    size_t checked = 0;
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            if (!sparse_net_param_trainable(net, id, k))
                continue;
            const char *nm = sparse_net_param_name(net, id, k);
            sparse_tensor *g;
            assert_int_equal(sparse_net_param_grad(&g, net, id, nm), SPARSE_OK);
            size_t np;
            double *p = refnet_param(r, id, nm, &np);
            size_t step = np > sample ? np / sample : 1;
            for (size_t j = 0; j < np; j += step) {
                double keep = p[j];
                p[j] = keep + h;
                double lp = refnet_loss(r, xr, n, labels, smoothing, NULL);
                p[j] = keep - h;
                double lm = refnet_loss(r, xr, n, labels, smoothing, NULL);
                p[j] = keep;
                double fd = (lp - lm) / (2 * h), an = sparse_tensor_data_const(g)[j];
                checked++;
                if (!close_enough(an, fd, 2e-3)) {
                    if (failures++ < 10)
                        print_message("  %s.%s[%zu]: analytic %.8g, finite difference %.8g\n",
                                      sparse_net_node_name(net, id), nm, j, an, fd);
                }
            }
            sparse_tensor_free(g);
        }
    sparse_tensor *gx;
    assert_int_equal(sparse_net_input_grad(&gx, net), SPARSE_OK);
    size_t step = nx > sample ? nx / sample : 1;
    for (size_t j = 0; j < nx; j += step) {
        double keep = xr[j];
        xr[j] = keep + h;
        double lp = refnet_loss(r, xr, n, labels, smoothing, NULL);
        xr[j] = keep - h;
        double lm = refnet_loss(r, xr, n, labels, smoothing, NULL);
        xr[j] = keep;
        double fd = (lp - lm) / (2 * h), an = sparse_tensor_data_const(gx)[j];
        checked++;
        if (!close_enough(an, fd, 2e-3) && failures++ < 10)
            print_message("  input[%zu]: analytic %.8g, finite difference %.8g\n", j, an, fd);
    }
    sparse_tensor_free(gx);
    assert_true(checked > 0);
    if (failures)
        print_message("%d of %zu gradient entries differ\n", failures, checked);
    assert_int_equal(failures, 0);
    free(zr);
    free(xr);
    refnet_free(r);
    sparse_tensor_free(logits);
    sparse_tensor_free(x);
    sparse_net_free(net);
}

static void test_grad_conv(void **state)
{
    (void)state;
    gradcheck(HEAD "  - {type: conv2d, filters: 5, kernel: 3, padding: same}\n  - {type: fc, units: 4}\n", 3, 0, 60);
    gradcheck(HEAD "  - {type: conv2d, filters: 4, kernel: 2, padding: same, stride: 2}\n  - {type: fc, units: 4}\n", 3,
              0, 60);
    gradcheck(HEAD "  - {type: conv2d, filters: 4, kernel: 5, padding: valid, bias: false}\n  - {type: fc, units: 4}\n",
              2, 0.1f, 60);
    gradcheck(HEAD "  - {type: conv2d, filters: 3, kernel: 4, padding: same, stride: 3}\n  - {type: fc, units: 4}\n", 2,
              0, 60);
    gradcheck(HEAD "  - {type: conv2d, filters: 3, kernel: 1}\n  - {type: fc, units: 4}\n", 2, 0, 60);
}

/* Batches that fill whole vectors and tiles of the kernels and leave some
 * images over (the small batches above only reach the leftover path). */
static void test_grad_wide_batch(void **state)
{
    (void)state;
    gradcheck(HEAD "  - {type: conv2d, filters: 7, kernel: 3, padding: same, bias: false}\n  - {type: batchnorm}\n"
                   "  - {type: relu}\n  - {type: maxpool, size: 2}\n  - {type: conv2d, filters: 3, kernel: 2}\n"
                   "  - {type: fc, units: 4}\n",
              70, 0, 40);
    gradcheck(HEAD "  - {type: avgpool, size: 2, stride: 1}\n  - {type: conv2d, filters: 5, kernel: 5, padding: valid}\n"
                   "  - {type: fc, units: 4}\n",
              37, 0, 40);
}

static void test_grad_conv_chunked(void **state)
{
    (void)state;
    g_chunked = 1;
    test_grad_conv(state);
    g_chunked = 0;
}

static void test_grad_separable_downsampled(void **state)
{
    (void)state;
    gradcheck(HEAD "  - {type: depthwise_conv2d, kernel: 3, padding: same, stride: 2}\n  - {type: fc, units: 4}\n", 3, 0,
              60);
    gradcheck(HEAD "  - {type: separable_conv2d, filters: 5, kernel: 3, padding: valid}\n  - {type: fc, units: 4}\n", 3,
              0, 60);
    gradcheck(HEAD "  - {type: downsampled_conv2d, filters: 4, kernel: 3, rate: 0.5}\n  - {type: fc, units: 4}\n", 3, 0,
              60);
}

static void test_grad_pool_bn_relu(void **state)
{
    (void)state;
    gradcheck(HEAD "  - {type: maxpool, size: 2}\n  - {type: fc, units: 4}\n", 3, 0, 80);
    gradcheck(HEAD "  - {type: maxpool, size: 3, stride: 2}\n  - {type: fc, units: 4}\n", 3, 0, 80);
    gradcheck(HEAD "  - {type: avgpool, size: 3, stride: 1}\n  - {type: fc, units: 4}\n", 3, 0, 80);
    gradcheck(HEAD "  - {type: input_downsample, size: 2, depth: 3}\n  - {type: fc, units: 4}\n", 3, 0, 80);
    gradcheck(HEAD "  - {type: batchnorm}\n  - {type: fc, units: 4}\n", 4, 0, 80);
    gradcheck(HEAD "  - {type: conv2d, filters: 4, kernel: 3}\n  - {type: batchnorm}\n  - {type: relu}\n"
                   "  - {type: fc, units: 4}\n",
              4, 0, 80);
}

static void test_grad_fc_merge_residual(void **state)
{
    (void)state;
    gradcheck(HEAD "  - {type: fc, units: 6}\n  - {type: relu}\n  - {type: fc, units: 4, bias: false}\n", 3, 0.2f, 80);
    gradcheck(HEAD "  - {type: conv2d, name: a, filters: 3, kernel: 3}\n  - {type: relu}\n"
                   "  - {type: residual, input: a}\n  - {type: fc, units: 4}\n",
              2, 0, 60);
    gradcheck(HEAD "  - {type: conv2d, name: a, filters: 5, kernel: 3, stride: 2}\n"
                   "  - {type: residual, input: input}\n  - {type: fc, units: 4}\n",
              2, 0, 60);
    gradcheck(HEAD "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n  - {type: conv2d, name: b, input: input, "
                   "filters: 3, kernel: 1}\n  - {type: merge, input: [a, b], mode: concat}\n  - {type: fc, units: 4}\n",
              2, 0, 60);
    /* A dead branch gets zero gradients and does not disturb the rest. */
    gradcheck(HEAD "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n  - {type: fc, name: dead, units: 3}\n"
                   "  - {type: fc, input: a, units: 4}\n",
              2, 0, 60);
    gradcheck(HEAD "  - {type: fc, name: a, units: 5}\n  - {type: fc, name: b, input: input, units: 5}\n"
                   "  - {type: merge, input: [a, b], mode: sum}\n  - {type: relu}\n  - {type: fc, units: 4}\n",
              2, 0, 60);
}

static void test_grad_all_layers_example(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    gradcheck(y, 3, 0.1f, 12);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_conv),
        cmocka_unit_test(test_grad_conv_chunked),
        cmocka_unit_test(test_grad_wide_batch),
        cmocka_unit_test(test_grad_separable_downsampled),
        cmocka_unit_test(test_grad_pool_bn_relu),
        cmocka_unit_test(test_grad_fc_merge_residual),
        cmocka_unit_test(test_grad_all_layers_example),
        cmocka_unit_test(test_arch_spec_errors),
        cmocka_unit_test(test_arch_api_errors),
        cmocka_unit_test(test_net_api_errors),
        cmocka_unit_test(test_train_api_errors),
        cmocka_unit_test(test_hooks_profiled_and_failing),
    };
    if (getenv("SPARSE_TEST_ONLY")) /* one test, e.g. in the ThreadSanitizer build (tools/test.sh) */
        cmocka_set_test_filter(getenv("SPARSE_TEST_ONLY"));
    int fails = _cmocka_run_group_tests("arch", arch_tests, arch_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("train", train_tests, train_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("params", params_tests, params_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("hooks", hooks_tests, hooks_test_count, NULL, NULL);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
