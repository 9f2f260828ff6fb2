/* Layers: gradients against double-precision finite differences, YAML
 * errors, NaN handling, determinism, safetensors, training. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sparse/experimental.h>
#include <sparse/sparse.h>

#include "layers/layers_internal.h"
#include "api_errors.h"
#include "refnet.h"

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "examples/arch"
#endif

static sparse_arch *parse(const char *yaml)
{
    sparse_arch *a = NULL;
    int rc = sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "test.yaml");
    if (rc)
        print_message("parse: %s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    return a;
}

static sparse_net *make_net(const char *yaml, size_t batch, uint64_t seed)
{
    sparse_arch *a = parse(yaml);
    sparse_net *net = NULL;
    int rc = sparse_net_create(&net, a, batch, seed);
    if (rc)
        print_message("create: %s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

/* Gives biases and batch-norm parameters non-trivial values. */
static void randomise_params(sparse_net *net, uint64_t seed)
{
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, seed), SPARSE_OK);
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            const char *nm = sparse_net_param_name(net, id, k);
            if (!sparse_net_param_trainable(net, id, k) || !strcmp(nm, "weight"))
                continue;
            sparse_tensor *t;
            assert_int_equal(sparse_net_param(&t, net, id, nm), SPARSE_OK);
            float *d = sparse_tensor_data(t);
            for (size_t j = 0; j < sparse_tensor_element_count(t); j++)
                d[j] = (float)(!strcmp(nm, "gamma") ? 0.5 + sparse_rng_uniform(rng)
                                                     : 0.2 * (sparse_rng_uniform(rng) - 0.5));
            sparse_tensor_free(t);
        }
    sparse_rng_free(rng);
}

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

#define HEAD "input: [3, 7, 7]\nclasses: 4\nlayers:\n"

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

static char *read_example(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    size_t len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[len] = 0;
    return buf;
}

static void test_grad_all_layers_example(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    gradcheck(y, 3, 0.1f, 12);
    free(y);
}

/* ---- Layer kinds ---- */

/* The kind table's "has weights" agrees with the parameters the graph
 * builder gives every node of the all-layers example. */
static void test_layer_kinds(void **state)
{
    (void)state;
    static const char *const names[SPARSE_LAYER_KIND_COUNT_] = {
        "input", "conv2d", "downsampled_conv2d", "separable_conv2d", "depthwise_conv2d",
        "input_downsample", "batchnorm", "relu", "maxpool", "avgpool", "fc", "residual", "merge"};
    for (int k = 0; k < SPARSE_LAYER_KIND_COUNT_; k++) {
        assert_string_equal(sparse_layer_kind_name(k), names[k]);
        assert_int_equal(sparse_layer_kind_has_weights(k),
                         k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_DEPTHWISE_CONV2D || k == SPARSE_LAYER_FC);
    }
    assert_string_equal(sparse_layer_kind_name(-1), "unknown");
    assert_string_equal(sparse_layer_kind_name(SPARSE_LAYER_KIND_COUNT_), "unknown");
    assert_int_equal(sparse_layer_kind_has_weights(-1), 0);
    assert_int_equal(sparse_layer_kind_has_weights(SPARSE_LAYER_KIND_COUNT_), 0);
    char *y = read_example("all-layers.yaml");
    sparse_net *net = make_net(y, 2, 0);
    free(y);
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        int has_weight = 0;
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++)
            has_weight |= !strcmp(sparse_net_param_name(net, id, k), "weight");
        assert_int_equal(sparse_layer_kind_has_weights(sparse_net_node_kind(net, id)), has_weight);
    }
    sparse_net_free(net);
}

/* ---- Architecture files ---- */

static void expect_yaml_error(const char *yaml, int code, const char *n1, const char *n2, const char *n3)
{
    const char *needles[3] = {n1, n2, n3};
    sparse_arch *a = NULL;
    int rc = sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "bad.yaml");
    if (rc == SPARSE_OK) {
        rc = sparse_arch_validate(a);
        sparse_net *net = NULL;
        assert_int_equal(sparse_net_create(&net, a, 2, 0), rc);
        assert_null(net);
        sparse_arch_free(a);
    } else {
        assert_null(a);
    }
    const char *msg = sparse_last_error();
    if (rc != code)
        print_message("got %d: %s\n", rc, msg);
    assert_int_equal(rc, code);
    for (int i = 0; i < 3; i++) {
        if (!needles[i])
            continue;
        if (!strstr(msg, needles[i]))
            print_message("'%s' not in: %s\n", needles[i] ? needles[i] : "?", msg ? msg : "?");
        assert_non_null(strstr(msg, needles[i]));
    }
}

static void test_yaml_errors(void **state)
{
    (void)state;
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: conv2d, name: c1, filters: 2, kernel: 3}\n"
                      "  - {type: conv3d, name: weird, filters: 2}\n",
                      SPARSE_EFORMAT, "bad.yaml:5", "weird", "conv3d");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - type: conv2d\n    name: c1\n    kernel: 3\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'c1'", "missing field 'filters'");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, kernel: 3}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'f'", "unknown key 'kernel'");
    expect_yaml_error("input: [1, 4, 4]\nclasses: 3\nlayers:\n  - {type: conv2d, name: c1, filters: 2, kernel: 3, "
                      "padding: valid}\n  - {type: conv2d, name: big, filters: 2, kernel: 5, padding: valid}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:5", "'big'", "larger than");
    expect_yaml_error("input: [1, 4, 4]\nclasses: 3\nlayers:\n  - {type: maxpool, name: p, size: 2}\n"
                      "  - {type: maxpool, name: p2, size: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:5", "'p2'", "empty");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                      "  - {type: conv2d, name: b, filters: 3, kernel: 3}\n  - {type: merge, name: m, input: [a, b]}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:6", "'m'", "cannot sum");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, input: nowhere, units: 3}\n",
                      SPARSE_ENOTFOUND, "bad.yaml:4", "'f'", "nowhere");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 4}\n", SPARSE_ESHAPE,
                      "bad.yaml:4", "'f'", "3 values");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayer:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT,
                      "bad.yaml:3", "unknown key 'layer'", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3\n", SPARSE_EFORMAT,
                      "bad.yaml", "syntax", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: -3}\n", SPARSE_ERANGE,
                      "bad.yaml:4:32: layer 'f' (fc): units", "-3", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, units: 4}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'f'", "'units' appears twice");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, bias: maybe}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "bias", "not true or false");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - &x {type: fc, name: f, units: 3}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "anchors", NULL);
    /* From a file: the path is in the message. */
    char path[] = "/tmp/sparse-arch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3}\n  - {type: pool, name: q}\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    sparse_arch *a = NULL;
    assert_int_equal(sparse_arch_load_yaml(&a, path), SPARSE_EFORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s:5:12: layer 'q'", path);
    assert_non_null(strstr(sparse_last_error(), want));
    unlink(path);
}

/* More architectures the planner or the reader refuses, each naming file,
 * line, layer and why. */
static void test_yaml_errors_more(void **state)
{
    (void)state;
#define IN8 "input: [2, 8, 8]\nclasses: 3\nlayers:\n"
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3, input: [a, input]}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:5", "'b'", "a conv2d layer takes one input, 2 given");
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3, input: [b]}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:4", "'a'", "input 'b' is defined later");
    expect_yaml_error(IN8 "  - {type: input_downsample, name: d, size: 1, depth: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'d'", "depth rate 3 is larger than the 2 channels of 'input'", NULL);
    expect_yaml_error(IN8 "  - {type: avgpool, name: p, size: 9}\n  - {type: fc, units: 3}\n", SPARSE_ESHAPE, "'p'",
                      "window 9x9 is larger than its 8x8 input", NULL);
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3}\n"
                          "  - {type: merge, name: m, input: [a, b, a]}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:6", "'m'", "input 'a' is listed twice");
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: maxpool, name: p, size: 2}\n"
                          "  - {type: merge, name: m, mode: concat, input: [a, p]}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'m'", "cannot concatenate 'a' (8x8) and 'p' (4x4): spatial sizes differ", NULL);
    expect_yaml_error(IN8 "  - {type: conv2d, name: c, filters: 4, kernel: 4, padding: valid}\n"
                          "  - {type: residual, name: r, input: [input]}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'r'", "cannot project 'input' (2x8x8) onto 'c' (4x5x5)", NULL);
    expect_yaml_error("input: [2, 16, 16]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 10000000}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ERANGE, "'f'", "512 x 10000000 weights is too many", NULL);
    expect_yaml_error("input: [2, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT, "bad.yaml:1",
                      "input", NULL);
    expect_yaml_error("classes: 3\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT, "input", NULL, NULL);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\n", SPARSE_EFORMAT, "layers", NULL, NULL);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\nlayers: {a: 1}\n", SPARSE_EFORMAT, "bad.yaml:3", "layers", NULL);
    expect_yaml_error(IN8 "  - [fc, 3]\n", SPARSE_EFORMAT, "bad.yaml:4", NULL, NULL);
    expect_yaml_error(IN8 "  - {name: f, units: 3}\n", SPARSE_EFORMAT, "bad.yaml:4", "'f'", "type");
    expect_yaml_error(IN8 "  - {type: fc, name: f, units: 3, input: {a: 1}}\n", SPARSE_EFORMAT, "bad.yaml:4", "'f'",
                      "input");
    expect_yaml_error(IN8 "  - {type: merge, name: m, input: [a, b, c, d, e, f, g, h, i]}\n", SPARSE_EFORMAT,
                      "bad.yaml:4:35", "'m'", "input: 9 inputs, at most 8");
    /* the aliases of common names: dense and linear are fc, conv is conv2d */
    sparse_arch *al = parse(IN8 "  - {type: conv, name: c, filters: 3, kernel: 3}\n  - {type: dense, name: d, units: 5}\n"
                                "  - {type: linear, name: l, units: 3}\n");
    sparse_layer_spec sp = SPARSE_LAYER_SPEC_INIT;
    const int kinds[3] = {SPARSE_LAYER_CONV2D, SPARSE_LAYER_FC, SPARSE_LAYER_FC};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sparse_arch_layer(al, i, &sp), SPARSE_OK);
        assert_int_equal(sp.kind, kinds[i]);
    }
    sparse_arch_free(al);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\nname: [x]\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT,
                      "bad.yaml:3", "name", NULL);
#undef IN8
}

static void test_arch_roundtrip_and_api(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_arch *a = parse(y);
    free(y);
    char *yaml = NULL, *json = NULL, *json2 = NULL;
    assert_int_equal(sparse_arch_to_yaml(&yaml, a), SPARSE_OK);
    assert_int_equal(sparse_arch_to_json(&json, a), SPARSE_OK);
    sparse_arch *b = NULL, *c = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&b, yaml, strlen(yaml), NULL), SPARSE_OK);
    assert_int_equal(sparse_arch_parse_yaml(&c, json, strlen(json), NULL), SPARSE_OK);
    assert_int_equal(sparse_arch_to_json(&json2, b), SPARSE_OK);
    assert_string_equal(json, json2);
    free(json2);
    assert_int_equal(sparse_arch_to_json(&json2, c), SPARSE_OK);
    assert_string_equal(json, json2);

    /* Programmatic construction equals the parsed tiny-cnn. */
    sparse_arch *p = NULL;
    assert_int_equal(sparse_arch_create(&p, 1, 28, 28, 10), SPARSE_OK);
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.kind = SPARSE_LAYER_CONV2D;
    s.filters = 8;
    s.kernel = 3;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    assert_int_equal(sparse_layer_spec_init(&s, SPARSE_LAYER_SPEC_VERSION), SPARSE_OK);
    s.kind = SPARSE_LAYER_MAXPOOL;
    s.size = 2;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    s.kind = SPARSE_LAYER_FC;
    s.units = 10;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    assert_int_equal(sparse_arch_validate(p), SPARSE_OK);
    assert_int_equal(sparse_arch_layer(p, 0, &s), SPARSE_OK);
    assert_string_equal(s.name, "conv2d_1");
    s.name = "conv2d_3"; /* duplicates the generated name of layer 3 */
    assert_int_equal(sparse_arch_set_layer(p, 0, &s), SPARSE_OK);
    s.name = "fc_3";
    assert_int_equal(sparse_arch_set_layer(p, 0, &s), SPARSE_EINVAL);
    assert_int_equal(sparse_arch_remove_layer(p, 1), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(p), 2);

    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, a, 2, 0), SPARSE_OK);
    size_t id;
    assert_int_equal(sparse_net_find_node(net, "b2c1/reduce", &id), SPARSE_OK);
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    assert_int_equal(sparse_net_node_info(net, id, &info), SPARSE_OK);
    assert_int_equal(info.out_c, 4);
    assert_int_equal(info.kernel, 1);
    assert_int_equal(sparse_net_find_node(net, "b1c2/dw", &id), SPARSE_OK);
    assert_int_equal(sparse_net_node_kind(net, id), SPARSE_LAYER_DEPTHWISE_CONV2D);
    assert_int_equal(sparse_net_find_node(net, "merge", &id), SPARSE_OK);
    assert_int_equal(sparse_net_node_input_count(net, id), 3);
    assert_int_equal(sparse_net_find_node(net, "nope", &id), SPARSE_ENOTFOUND);
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, 1, "weight"), SPARSE_ENOTFOUND);
    assert_null(t);
    sparse_net_free(net);

    const char *examples[] = {"tiny-cnn.yaml", "lenet5.yaml", "all-layers.yaml"};
    const size_t params[] = {9098, 431080, 0};
    for (int e = 0; e < 3; e++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, examples[e]);
        sparse_arch *ex = NULL;
        assert_int_equal(sparse_arch_load_yaml(&ex, path), SPARSE_OK);
        assert_int_equal(sparse_arch_validate(ex), SPARSE_OK);
        assert_int_equal(sparse_net_create(&net, ex, 2, 0), SPARSE_OK);
        if (params[e])
            assert_int_equal(sparse_net_weight_count(net), params[e]);
        sparse_net_free(net);
        sparse_arch_free(ex);
    }
    sparse_arch *tiny = NULL;
    char *ty = read_example("tiny-cnn.yaml");
    tiny = parse(ty);
    free(ty);
    assert_int_equal(sparse_net_create(&net, tiny, 1, 0), SPARSE_OK);
    assert_int_equal(sparse_net_weight_count(net), 8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 16 * 49 + 10);
    sparse_net_free(net);
    sparse_arch_free(tiny);

    free(yaml);
    free(json);
    free(json2);
    sparse_arch_free(a);
    sparse_arch_free(b);
    sparse_arch_free(c);
    sparse_arch_free(p);
    sparse_arch_free(NULL);
    sparse_net_free(NULL);
}

/* ---- Training ---- */

/* Two classes told apart by where a bright blob is. */
static sparse_dataset *blobs(size_t n, size_t c, size_t hw, size_t classes, uint64_t seed, int nan)
{
    float *img = calloc(n * c * hw * hw, sizeof(float));
    int32_t *lab = calloc(n, sizeof(int32_t));
    sparse_rng *rng;
    sparse_rng_create(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % classes);
        float *x = img + i * c * hw * hw;
        for (size_t j = 0; j < c * hw * hw; j++)
            x[j] = (float)(0.3 * sparse_rng_normal(rng));
        size_t cy = (size_t)lab[i] * hw / classes + hw / (2 * classes), cx = hw / 2;
        for (size_t ch = 0; ch < c; ch++)
            for (size_t y = 0; y < hw; y++)
                for (size_t xx = 0; xx < hw; xx++) {
                    double d2 = ((double)y - (double)cy) * ((double)y - (double)cy) +
                                ((double)xx - (double)cx) * ((double)xx - (double)cx);
                    x[(ch * hw + y) * hw + xx] += (float)exp(-d2 / 8.0);
                }
    }
    if (nan)
        img[5] = NAN;
    sparse_rng_free(rng);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, n, c, hw, hw, img, lab, classes), SPARSE_OK);
    free(img);
    free(lab);
    return ds;
}

typedef struct losses {
    double first, last;
    size_t calls;
    size_t stop_after;
} losses;

static int record_loss(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    losses *l = user;
    (void)epoch;
    (void)batch;
    (void)batches;
    assert_true(ips >= 0);
    if (l->calls == 0)
        l->first = loss;
    l->last = loss;
    l->calls++;
    return l->stop_after && l->calls >= l->stop_after;
}

/* sparse_net_predict image by image gives the labels sparse_net_evaluate
 * counts (the same accuracy, exactly) and the logits of a batched forward
 * pass of the same images. */
static void check_predict(sparse_net *net, const sparse_dataset *ds, double accuracy)
{
    const size_t n = sparse_dataset_image_count(ds), K = sparse_arch_class_count(sparse_net_arch(net));
    const size_t per = sparse_dataset_channels(ds) * sparse_dataset_height(ds) * sparse_dataset_width(ds);
    const size_t batch = sparse_net_max_batch(net);
    sparse_tensor *x = NULL, *z = NULL;
    size_t zshape[2] = {batch, K};
    assert_int_equal(sparse_tensor_create_nchw(&x, batch, sparse_dataset_channels(ds),
                                               sparse_dataset_height(ds), sparse_dataset_width(ds)),
                     SPARSE_OK);
    assert_int_equal(sparse_tensor_create(&z, 2, zshape), SPARSE_OK);
    for (size_t i = 0; i < batch; i++)
        memcpy(sparse_tensor_data(x) + i * per, sparse_dataset_image(ds, i), per * sizeof(float));
    assert_int_equal(sparse_net_forward(net, x, 0, z), SPARSE_OK);
    size_t correct = 0;
    float logits[16];
    for (size_t i = 0; i < n; i++) {
        int label = -1, only_label = -1;
        assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, i), logits, &label), SPARSE_OK);
        assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, i), NULL, &only_label), SPARSE_OK);
        assert_int_equal(label, only_label);
        assert_true(label >= 0 && (size_t)label < K);
        for (size_t k = 0; k < K; k++) {
            assert_true(logits[k] <= logits[label]);
            if (i < batch) {
                const float want = sparse_tensor_data(z)[i * K + k];
                assert_true(fabsf(logits[k] - want) <= 1e-5f * (1.0f + fabsf(want)));
            }
        }
        correct += label == sparse_dataset_label(ds, i);
    }
    assert_true((double)correct / (double)n == accuracy);
    assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, 0), logits, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_predict(NULL, sparse_dataset_image(ds, 0), logits, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_net_predict(net, NULL, logits, NULL), SPARSE_EINVAL);
    sparse_tensor_free(x);
    sparse_tensor_free(z);
}

static void test_all_layers_trains(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_net *net = make_net(y, 32, 1);
    free(y);
    sparse_dataset *ds = blobs(256, 1, 28, 10, 9, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 4;
    o.batch_size = 32;
    o.lr = 3e-3;
    losses l = {0, 0, 0, 0};
    o.progress = record_loss;
    o.user = &l;
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_OK);
    assert_int_equal(res.epochs_done, 4);
    assert_int_equal(l.calls, 32);
    print_message("all-layers: loss %.3f -> %.3f\n", l.first, l.last);
    assert_true(l.last < 0.5 * l.first);
    double acc;
    assert_int_equal(sparse_net_evaluate(net, ds, &acc), SPARSE_OK);
    assert_true(acc > 0.5);
    check_predict(net, ds, acc);
    /* cancellation */
    l.calls = 0;
    l.stop_after = 3;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_ECANCELLED);
    assert_int_equal(l.calls, 3);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void test_nan_loss_stops(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 8;
    o.seed = 4;
    o.optimizer = SPARSE_OPTIM_SGD;
    o.schedule = SPARSE_LR_CONSTANT;
    o.lr = 1e35; /* diverges at once */
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_ENUMERIC);
    print_message("%s\n", sparse_last_error());
    assert_non_null(strstr(sparse_last_error(), "epoch 1"));
    assert_non_null(strstr(sparse_last_error(), "batch"));
    assert_true(res.steps >= 1 && res.steps < 8);
    /* A NaN weight is caught on the next forward pass too. */
    sparse_tensor *w;
    assert_int_equal(sparse_net_param(&w, net, 1, "weight"), SPARSE_OK);
    sparse_tensor_data(w)[0] = NAN;
    sparse_tensor_free(w);
    o.lr = 1e-3;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "NaN"));
    assert_non_null(strstr(sparse_last_error(), "batch 1"));
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* What the training loop fed the network, checked after every batch: each
 * input is some training image moved by at most max_shift pixels, zeros
 * where nothing moved in. */
typedef struct shift_seen {
    sparse_net *net;
    const sparse_dataset *ds;
    long max_shift;
    size_t batches, moved, offsets[5][5];
} shift_seen;

/* Offset (dx, dy) by which image x is img moved, or 0 if it is not. */
static int moved_by(const float *x, const float *img, size_t c, size_t hw, long s, long *odx, long *ody)
{
    const long H = (long)hw;
    for (long dy = -s; dy <= s; dy++)
        for (long dx = -s; dx <= s; dx++) {
            int same = 1;
            for (size_t ch = 0; ch < c && same; ch++)
                for (long y = 0; y < H && same; y++)
                    for (long xx = 0; xx < H && same; xx++) {
                        long sy = y - dy, sx = xx - dx;
                        float want = sy < 0 || sy >= H || sx < 0 || sx >= H ? 0.0f
                                                                             : img[(ch * hw + (size_t)sy) * hw + (size_t)sx];
                        same = x[(ch * hw + (size_t)y) * hw + (size_t)xx] == want;
                    }
            if (same) {
                *odx = dx;
                *ody = dy;
                return 1;
            }
        }
    return 0;
}

static int check_shifted_batch(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    (void)epoch, (void)batch, (void)batches, (void)loss, (void)ips;
    shift_seen *sh = user;
    sparse_tensor *in = NULL;
    assert_int_equal(sparse_net_node_output(&in, sh->net, 0), SPARSE_OK);
    const size_t n = sparse_tensor_dim(in, 0), c = sparse_tensor_dim(in, 1), hw = sparse_tensor_dim(in, 2);
    const float *x = sparse_tensor_data_const(in);
    for (size_t i = 0; i < n; i++) {
        long dx = 0, dy = 0;
        int found = 0;
        for (size_t k = 0; k < sparse_dataset_image_count(sh->ds) && !found; k++)
            found = moved_by(x + i * c * hw * hw, sparse_dataset_image(sh->ds, k), c, hw, sh->max_shift, &dx, &dy);
        assert_true(found);
        sh->offsets[dy + 2][dx + 2]++;
        sh->moved += dx || dy;
    }
    sh->batches++;
    sparse_tensor_free(in);
    return 0;
}

static void test_train_shift(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(24, 3, 7, 4, 5, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    assert_int_equal(o.version, 2);
    assert_int_equal(o.max_shift, 0);
    o.epochs = 4;
    o.batch_size = 8;
    o.max_shift = 2;
    shift_seen sh = {net, ds, 2, 0, 0, {{0}}};
    o.progress = check_shifted_batch;
    o.user = &sh;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    assert_int_equal(sh.batches, 12);
    /* 96 draws of 25 offsets: every row and column of offsets is used. */
    print_message("moved %zu of 96 images\n", sh.moved);
    assert_true(sh.moved > 96 / 2);
    for (int k = 0; k < 5; k++) {
        size_t row = 0, col = 0;
        for (int j = 0; j < 5; j++)
            row += sh.offsets[k][j], col += sh.offsets[j][k];
        assert_true(row > 0 && col > 0);
    }
    /* Off: the images go in as they are. */
    memset(&sh, 0, sizeof sh);
    sh.net = net, sh.ds = ds;
    o.max_shift = 0;
    o.epochs = 1;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    assert_int_equal(sh.batches, 3);
    assert_int_equal(sh.moved, 0);
    /* A shift that would move every pixel out of the image. */
    o.max_shift = 7;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "max_shift 7"));
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* A caller built against version 1 of the options (no max_shift) passes a
 * smaller struct: the library must neither read nor write past it. */
static void test_train_options_v1(void **state)
{
    (void)state;
    struct {
        sparse_train_options o;
        unsigned char guard[64];
    } buf;
    memset(&buf, 0xAB, sizeof buf);
    const size_t v1 = offsetof(sparse_train_options, max_shift);
    assert_int_equal(sparse_train_options_init(&buf.o, 1), SPARSE_OK);
    assert_int_equal(buf.o.version, 1);
    assert_int_equal(buf.o.epochs, 10);
    for (size_t i = v1; i < sizeof buf.o; i++)
        assert_int_equal(((unsigned char *)&buf.o)[i], 0xAB);
    buf.o.epochs = 1;
    buf.o.batch_size = 8;
    /* Exactly a version-1 struct on the heap: ASan catches a read beyond it. */
    sparse_train_options *heap = malloc(v1);
    memcpy(heap, &buf.o, v1);
    sparse_net *net = make_net(HEAD "  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(16, 3, 7, 4, 5, 0);
    sparse_train_result r = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, heap, &r), SPARSE_OK);
    assert_int_equal(r.epochs_done, 1);
    /* The same struct as the current version (what sparse_prune_run does). */
    sparse_train_options cur;
    memset(&cur, 0xAB, sizeof cur);
    assert_int_equal(sparse_exp_train_options_copy(&cur, heap), SPARSE_OK);
    assert_int_equal(cur.version, SPARSE_TRAIN_OPTIONS_VERSION);
    assert_int_equal(cur.epochs, 1);
    assert_int_equal(cur.batch_size, 8);
    assert_int_equal(cur.max_shift, 0);
    assert_int_equal(sparse_exp_train_options_copy(&cur, NULL), SPARSE_OK);
    assert_int_equal(cur.epochs, 10);
    const unsigned v3 = 3;
    memcpy(heap, &v3, sizeof v3); /* version is the first field */
    assert_int_equal(sparse_net_train(net, ds, heap, NULL), SPARSE_EVERSION);
    assert_non_null(strstr(sparse_last_error(), "version 3"));
    assert_int_equal(sparse_train_options_init(&buf.o, 3), SPARSE_EVERSION);
    assert_int_equal(sparse_exp_train_options_copy(&cur, heap), SPARSE_EVERSION);
    free(heap);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void train_once(const char *yaml, uint64_t seed, float **weights, size_t *count)
{
    sparse_net *net = make_net(yaml, 16, seed);
    sparse_dataset *ds = blobs(96, 1, 28, 10, 2, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 16;
    o.seed = seed;
    o.optimizer = SPARSE_OPTIM_SGD;
    o.lr = 0.01;
    o.weight_decay = 1e-4;
    o.schedule = SPARSE_LR_ONE_CYCLE;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    size_t total = 0;
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            sparse_tensor *t;
            sparse_net_param(&t, net, id, sparse_net_param_name(net, id, k));
            *weights = realloc(*weights, (total + sparse_tensor_element_count(t)) * sizeof(float));
            memcpy(*weights + total, sparse_tensor_data_const(t),
                   sparse_tensor_element_count(t) * sizeof(float));
            total += sparse_tensor_element_count(t);
            sparse_tensor_free(t);
        }
    *count = total;
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* The parallel loops and BLIS's threads never split a sum, so one and two
 * threads give the same bits; batch 64 makes every loop go parallel. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    float *w[2] = {NULL, NULL};
    size_t cnt[2];
    for (int t = 0; t < 2; t++) {
        assert_int_equal(sparse_set_thread_count(t + 1), SPARSE_OK);
        sparse_net *net = make_net(y, 64, 3);
        sparse_dataset *ds = blobs(192, 1, 28, 10, 2, 0);
        sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
        o.epochs = 1;
        o.batch_size = 64;
        assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
        size_t total = 0;
        for (size_t id = 0; id < sparse_net_node_count(net); id++)
            for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
                sparse_tensor *p;
                sparse_net_param(&p, net, id, sparse_net_param_name(net, id, k));
                w[t] = realloc(w[t], (total + sparse_tensor_element_count(p)) * sizeof(float));
                memcpy(w[t] + total, sparse_tensor_data_const(p),
                       sparse_tensor_element_count(p) * sizeof(float));
                total += sparse_tensor_element_count(p);
                sparse_tensor_free(p);
            }
        cnt[t] = total;
        sparse_dataset_free(ds);
        sparse_net_free(net);
    }
    assert_int_equal(sparse_set_thread_count(1), SPARSE_OK);
    assert_int_equal(cnt[0], cnt[1]);
    assert_memory_equal(w[0], w[1], cnt[0] * sizeof(float));
    free(w[0]);
    free(w[1]);
    free(y);
}

static void test_determinism(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    float *a = NULL, *b = NULL, *c = NULL;
    size_t na, nb, nc;
    train_once(y, 42, &a, &na);
    train_once(y, 42, &b, &nb);
    train_once(y, 43, &c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(float));
    assert_int_equal(na, nc);
    assert_memory_not_equal(a, c, na * sizeof(float));
    /* Two threads: identical bits run to run as well. */
    assert_int_equal(sparse_set_thread_count(2), SPARSE_OK);
    train_once(y, 42, &b, &nb);
    train_once(y, 42, &c, &nc);
    assert_int_equal(sparse_set_thread_count(1), SPARSE_OK);
    assert_memory_equal(b, c, nb * sizeof(float));
    free(a);
    free(b);
    free(c);
    free(y);
}

/* ---- safetensors ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_safetensors(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_net *a = make_net(y, 4, 1), *b = make_net(y, 4, 2);
    randomise_params(a, 77);
    char dir[] = "/tmp/sparse-st-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    assert_int_equal(sparse_net_save(a, path), SPARSE_OK);
    assert_int_equal(sparse_net_load(b, path, 0), SPARSE_OK);
    for (size_t id = 0; id < sparse_net_node_count(a); id++)
        for (size_t k = 0; k < sparse_net_param_count(a, id); k++) {
            const char *nm = sparse_net_param_name(a, id, k);
            sparse_tensor *ta, *tb;
            sparse_net_param(&ta, a, id, nm);
            sparse_net_param(&tb, b, id, nm);
            assert_memory_equal(sparse_tensor_data_const(ta), sparse_tensor_data_const(tb),
                                sparse_tensor_element_count(ta) * sizeof(float));
            sparse_tensor_free(ta);
            sparse_tensor_free(tb);
        }
    sparse_arch *arch = NULL;
    assert_int_equal(sparse_net_load_arch(&arch, path), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(arch), sparse_arch_layer_count(sparse_net_arch(a)));
    sparse_arch_free(arch);

    size_t len;
    char *orig = slurp(path, &len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)(unsigned char)orig[i] << (8 * i);
    char *buf = malloc(len + 16);
    /* truncated at several points */
    size_t cuts[] = {0, 4, 8, 20, (size_t)hl + 8, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, orig, cuts[i]);
        int rc = sparse_net_load(b, bad, 0);
        assert_int_equal(rc, SPARSE_EFORMAT);
        assert_non_null(strstr(sparse_last_error(), bad));
    }
    /* absurd header length */
    memcpy(buf, orig, len);
    buf[7] = 0x7f;
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "header length"));
    /* broken JSON */
    memcpy(buf, orig, len);
    buf[8] = '[';
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), bad));
    assert_non_null(strstr(sparse_last_error(), "syntax error"));
    /* wrong dtype */
    memcpy(buf, orig, len);
    char *dt = strstr(buf + 8, "\"F32\"");
    assert_non_null(dt);
    memcpy(dt, "\"F16\"", 5);
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "F16"));
    /* a network with a different shape */
    sparse_net *other = make_net(HEAD "  - {type: fc, name: logits, units: 4}\n", 2, 0);
    assert_int_equal(sparse_net_load(other, path, 0), SPARSE_EFORMAT);
    assert_int_equal(sparse_net_load(other, path, 1), SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "logits.weight"));
    sparse_net_free(other);
    free(buf);
    free(orig);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    sparse_net_free(a);
    sparse_net_free(b);
    free(y);
}

static void test_masks(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_tensor *w, *m;
    assert_int_equal(sparse_net_param(&w, net, 1, "weight"), SPARSE_OK);
    assert_int_equal(sparse_tensor_clone(&m, w), SPARSE_OK);
    float *md = sparse_tensor_data(m);
    for (size_t j = 0; j < sparse_tensor_element_count(m); j++)
        md[j] = (float)(j % 2);
    assert_int_equal(sparse_net_set_mask(net, 1, "weight", m), SPARSE_OK);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 1;
    o.batch_size = 8;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    for (size_t j = 0; j < sparse_tensor_element_count(w); j += 2)
        assert_true(sparse_tensor_data_const(w)[j] == 0.0f);
    assert_true(sparse_net_nonzero_count(net) < sparse_net_weight_count(net));
    sparse_tensor_free(w);
    sparse_tensor_free(m);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void copy_param(sparse_net *dst, size_t did, const char *dn, sparse_tensor *src)
{
    sparse_tensor *t;
    assert_int_equal(sparse_net_param(&t, dst, did, dn), SPARSE_OK);
    assert_int_equal(sparse_tensor_copy(t, src), SPARSE_OK);
    sparse_tensor_free(t);
}

static void test_inherit_and_fold(void **state)
{
    (void)state;
    sparse_net *a = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                             2, 1);
    sparse_net *b = make_net(HEAD "  - {type: conv2d, name: c, filters: 5, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                             2, 2);
    sparse_tensor *wa, *wb, *wb0;
    sparse_net_param(&wa, a, 1, "weight");
    sparse_net_param(&wb, b, 1, "weight");
    sparse_tensor_clone(&wb0, wb);
    size_t copied = 0;
    assert_int_equal(sparse_net_inherit(b, a, &copied), SPARSE_OK);
    /* conv: 3 of 5 filters (81 + 3 bias), fc: 4 x min(147, 245) + 4 */
    assert_int_equal(copied, 3 * 27 + 3 + 4 * 147 + 4);
    const float *pa = sparse_tensor_data_const(wa), *pb = sparse_tensor_data_const(wb), *p0 = sparse_tensor_data_const(wb0);
    for (size_t j = 0; j < 5 * 27; j++)
        assert_true(pb[j] == (j < 3 * 27 ? pa[j] : p0[j]));
    sparse_tensor_free(wa);
    sparse_tensor_free(wb);
    sparse_tensor_free(wb0);
    sparse_net_free(a);
    sparse_net_free(b);

    /* Folding: conv + BN in inference equals the folded conv. */
    sparse_net *bn = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: batchnorm, name: n}\n"
                                   "  - {type: fc, name: f, units: 4}\n", 8, 3);
    sparse_net *plain = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                                 8, 4);
    randomise_params(bn, 8);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 8;
    assert_int_equal(sparse_net_train(bn, ds, &o, NULL), SPARSE_OK);
    sparse_tensor *fw, *fb, *t;
    assert_int_equal(sparse_net_fold_batchnorm(&fw, &fb, bn, 1), SPARSE_EINVAL);
    assert_null(fw);
    assert_int_equal(sparse_net_fold_batchnorm(&fw, &fb, bn, 2), SPARSE_OK);
    copy_param(plain, 1, "weight", fw);
    copy_param(plain, 1, "bias", fb);
    sparse_net_param(&t, bn, 3, "weight");
    copy_param(plain, 2, "weight", t);
    sparse_tensor_free(t);
    sparse_net_param(&t, bn, 3, "bias");
    copy_param(plain, 2, "bias", t);
    sparse_tensor_free(t);
    double acc1, acc2;
    assert_int_equal(sparse_net_evaluate(bn, ds, &acc1), SPARSE_OK);
    assert_int_equal(sparse_net_evaluate(plain, ds, &acc2), SPARSE_OK);
    sparse_tensor *x, *l1, *l2;
    size_t ls[2] = {8, 4};
    sparse_tensor_create_nchw(&x, 8, 3, 7, 7);
    for (size_t j = 0; j < 8 * 147; j++)
        sparse_tensor_data(x)[j] = sparse_dataset_image(ds, j / 147)[j % 147];
    sparse_tensor_create(&l1, 2, ls);
    sparse_tensor_create(&l2, 2, ls);
    assert_int_equal(sparse_net_forward(bn, x, 0, l1), SPARSE_OK);
    assert_int_equal(sparse_net_forward(plain, x, 0, l2), SPARSE_OK);
    for (size_t j = 0; j < 32; j++)
        assert_true(fabsf(sparse_tensor_data(l1)[j] - sparse_tensor_data(l2)[j]) <= 1e-4f * (1 + fabsf(sparse_tensor_data(l1)[j])));
    assert_true(acc1 == acc2);
    sparse_tensor_free(x);
    sparse_tensor_free(l1);
    sparse_tensor_free(l2);
    sparse_tensor_free(fw);
    sparse_tensor_free(fb);
    sparse_dataset_free(ds);
    sparse_net_free(bn);
    sparse_net_free(plain);
}

/* Experimental hooks: a node's kernels replaced (ReLU by 2x identity), an
 * extra parameter trained by an extra loss term. */
static int twice_fwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    size_t c, h, w;
    sparse_net_node_shape(net, id, &c, &h, &w);
    for (size_t j = 0; j < c * h * w * ctx->batch; j++)
        ctx->out[j] = 2.0f * ctx->in[j];
    (*(int *)user)++;
    return 0;
}

static int twice_bwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    size_t c, h, w;
    sparse_net_node_shape(net, id, &c, &h, &w);
    if (ctx->din)
        for (size_t j = 0; j < c * h * w * ctx->batch; j++)
            ctx->din[j] += 2.0f * ctx->dout[j];
    (*(int *)user)++;
    return 0;
}

static int extra_sum(void *user, sparse_net *net, double *loss)
{
    sparse_tensor *p, *g;
    size_t id = *(size_t *)user;
    sparse_net_param(&p, net, id, "log_sigma2");
    sparse_net_param_grad(&g, net, id, "log_sigma2");
    double s = 0;
    for (size_t j = 0; j < sparse_tensor_element_count(p); j++) {
        s += sparse_tensor_data(p)[j];
        sparse_tensor_data(g)[j] = 1.0f;
    }
    *loss = 1e-3 * s;
    sparse_tensor_free(p);
    sparse_tensor_free(g);
    return 0;
}

static int raw_fwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    (void)user;
    sparse_tensor *w;
    sparse_net_param(&w, net, id, "weight");
    int rc = sparse_net_node_kind(net, id) == SPARSE_LAYER_FC
                 ? sparse_exp_fc_forward(net, id, ctx->in, sparse_tensor_data(w), ctx->out)
                 : sparse_exp_conv_forward(net, id, ctx->in, sparse_tensor_data(w), ctx->out);
    sparse_tensor_free(w);
    return rc;
}

static int raw_bwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    (void)user;
    sparse_tensor *w, *g;
    sparse_net_param(&w, net, id, "weight");
    sparse_net_param_grad(&g, net, id, "weight");
    int rc = sparse_net_node_kind(net, id) == SPARSE_LAYER_FC
                 ? sparse_exp_fc_backward(net, id, ctx->in, sparse_tensor_data(w), ctx->dout, sparse_tensor_data(g),
                                          ctx->din)
                 : sparse_exp_conv_backward(net, id, ctx->in, sparse_tensor_data(w), ctx->dout, sparse_tensor_data(g),
                                            ctx->din);
    sparse_tensor_free(w);
    sparse_tensor_free(g);
    return rc;
}

/* The profiling counters see every GEMM of a forward pass: 2*m*n*k flops,
 * conv and FC apart. */
static void test_profile_counters(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 5, kernel: 3, padding: same}\n"
                                    "  - {type: fc, units: 4}\n", 2, 1);
    assert_int_equal(sparse_exp_net_profile(net, 1), SPARSE_OK);
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 3, 7, 7), SPARSE_OK);
    assert_int_equal(sparse_net_forward(net, x, 0, NULL), SPARSE_OK);
    sparse_exp_profile p = {SPARSE_EXP_PROFILE_VERSION, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(sparse_exp_net_profile_get(net, &p), SPARSE_OK);
    /* conv: (5 x 27) times (27 x 2*49); fc: (4 x 245) times (245 x 2) */
    assert_true(p.conv_gemm_flops == 2.0 * 5 * (2 * 49) * 27);
    assert_true(p.fc_gemm_flops == 2.0 * 4 * 2 * 245);
    assert_true(p.conv_gemm_seconds >= 0.0 && p.fc_gemm_seconds >= 0.0);
    /* per node: the kernels' own time, nothing for the input; turning
     * profiling on again resets it */
    double f = -1, b = -1;
    assert_int_equal(sparse_exp_net_profile_node(net, 1, &f, &b), SPARSE_OK);
    assert_true(f > 0.0 && b == 0.0);
    assert_int_equal(sparse_exp_net_profile_node(net, 0, &f, NULL), SPARSE_OK);
    assert_true(f == 0.0);
    assert_int_equal(sparse_exp_net_profile(net, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_profile_node(net, 1, &f, &b), SPARSE_OK);
    assert_true(f == 0.0);
    assert_int_equal(sparse_exp_net_profile_node(net, 3, &f, &b), SPARSE_ERANGE);
    sparse_tensor_free(x);
    sparse_net_free(net);
}

static void test_raw_kernels(void **state)
{
    (void)state;
    const char *y = HEAD "  - {type: conv2d, name: c, filters: 4, kernel: 3, stride: 2, bias: false}\n"
                         "  - {type: depthwise_conv2d, name: d, kernel: 3, bias: false}\n"
                         "  - {type: conv2d, name: p, filters: 3, kernel: 1, bias: false}\n"
                         "  - {type: fc, name: f, units: 4, bias: false}\n";
    sparse_net *a = make_net(y, 3, 5), *b = make_net(y, 3, 5);
    for (size_t id = 1; id < sparse_net_node_count(b); id++)
        assert_int_equal(sparse_exp_net_set_hooks(b, id, raw_fwd, raw_bwd, NULL), SPARSE_OK);
    sparse_tensor *x;
    sparse_tensor_create_nchw(&x, 3, 3, 7, 7);
    for (size_t j = 0; j < 3 * 147; j++)
        sparse_tensor_data(x)[j] = (float)sin((double)j);
    int32_t lab[3] = {0, 1, 3};
    double la, lb;
    assert_int_equal(sparse_net_forward(a, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(a, lab, 0, &la), SPARSE_OK);
    assert_int_equal(sparse_net_forward(b, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(b, lab, 0, &lb), SPARSE_OK);
    assert_true(la == lb);
    for (size_t id = 1; id < sparse_net_node_count(a); id++) {
        sparse_tensor *ga, *gb;
        sparse_net_param_grad(&ga, a, id, "weight");
        sparse_net_param_grad(&gb, b, id, "weight");
        assert_memory_equal(sparse_tensor_data(ga), sparse_tensor_data(gb),
                            sparse_tensor_element_count(ga) * sizeof(float));
        sparse_tensor_free(ga);
        sparse_tensor_free(gb);
    }
    sparse_tensor *xa, *xb;
    sparse_net_input_grad(&xa, a);
    sparse_net_input_grad(&xb, b);
    assert_memory_equal(sparse_tensor_data(xa), sparse_tensor_data(xb), 3 * 147 * sizeof(float));
    assert_int_equal(sparse_exp_fc_forward(b, 1, sparse_tensor_data(x), sparse_tensor_data(x), sparse_tensor_data(x)),
                     SPARSE_EINVAL);
    sparse_tensor_free(xa);
    sparse_tensor_free(xb);
    sparse_tensor_free(x);
    sparse_net_free(a);
    sparse_net_free(b);
}

static void test_experimental_hooks(void **state)
{
    (void)state;
    const char *y = HEAD "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n  - {type: relu, name: r}\n"
                         "  - {type: fc, units: 4}\n";
    sparse_net *net = make_net(y, 4, 1), *ref = make_net(y, 4, 1);
    size_t rid, cid;
    sparse_net_find_node(net, "r", &rid);
    sparse_net_find_node(net, "c", &cid);
    int calls = 0;
    assert_int_equal(sparse_exp_net_set_hooks(net, rid, twice_fwd, twice_bwd, &calls), SPARSE_OK);
    sparse_tensor *x, *o;
    sparse_tensor_create_nchw(&x, 2, 3, 7, 7);
    for (size_t j = 0; j < 2 * 147; j++)
        sparse_tensor_data(x)[j] = (float)((int)(j % 11) - 5);
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    int32_t lab[2] = {1, 2};
    assert_int_equal(sparse_net_backward(net, lab, 0, NULL), SPARSE_OK);
    assert_int_equal(calls, 2);
    sparse_net_node_output(&o, net, rid);
    sparse_tensor *oc;
    sparse_net_node_output(&oc, net, cid);
    for (size_t j = 0; j < sparse_tensor_element_count(o); j++)
        assert_true(sparse_tensor_data(o)[j] == 2.0f * sparse_tensor_data(oc)[j]);
    sparse_tensor_free(o);
    sparse_tensor_free(oc);

    size_t shape[1] = {2};
    assert_int_equal(sparse_exp_net_add_param(ref, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_add_param(ref, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_extra_loss(ref, extra_sum, &cid), SPARSE_OK);
    sparse_dataset *ds = blobs(16, 3, 7, 4, 1, 0);
    sparse_train_options opt = SPARSE_TRAIN_OPTIONS_INIT;
    opt.epochs = 2;
    opt.batch_size = 4;
    opt.schedule = SPARSE_LR_CONSTANT;
    assert_int_equal(sparse_net_train(ref, ds, &opt, NULL), SPARSE_OK);
    sparse_tensor *p;
    assert_int_equal(sparse_net_param(&p, ref, cid, "log_sigma2"), SPARSE_OK);
    assert_true(sparse_tensor_data(p)[0] < -10.0f + -0.005f); /* 8 Adam steps of ~lr */

    /* a learning-rate scale of 4 on that parameter: Adam's steps of a
     * constant gradient are lr each, so it moves exactly 4x as far */
    sparse_net *fast = make_net(y, 4, 1);
    assert_int_equal(sparse_exp_net_add_param(fast, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_extra_loss(fast, extra_sum, &cid), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", 4.0), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", 0.0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", NAN), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "nope", 2.0), SPARSE_ENOTFOUND);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, 999, NULL, 2.0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(NULL, cid, NULL, 2.0), SPARSE_EINVAL);
    assert_int_equal(sparse_net_train(fast, ds, &opt, NULL), SPARSE_OK);
    sparse_tensor *pf;
    assert_int_equal(sparse_net_param(&pf, fast, cid, "log_sigma2"), SPARSE_OK);
    double slow_move = sparse_tensor_data(p)[0] + 10.0, fast_move = sparse_tensor_data(pf)[0] + 10.0;
    assert_true(fabs(fast_move / (4.0 * slow_move) - 1.0) < 1e-3); /* float rounding near -10 */
    sparse_tensor_free(pf);
    sparse_net_free(fast);
    sparse_tensor_free(p);
    sparse_dataset_free(ds);
    sparse_tensor_free(x);
    sparse_net_free(net);
    sparse_net_free(ref);
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
        cmocka_unit_test(test_layer_kinds),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_yaml_errors_more),
        cmocka_unit_test(test_arch_roundtrip_and_api),
        cmocka_unit_test(test_all_layers_trains),
        cmocka_unit_test(test_nan_loss_stops),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_safetensors),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_inherit_and_fold),
        cmocka_unit_test(test_experimental_hooks),
        cmocka_unit_test(test_raw_kernels),
        cmocka_unit_test(test_profile_counters),
        cmocka_unit_test(test_train_shift),
        cmocka_unit_test(test_train_options_v1),
        cmocka_unit_test(test_arch_spec_errors),
        cmocka_unit_test(test_arch_api_errors),
        cmocka_unit_test(test_net_api_errors),
        cmocka_unit_test(test_train_api_errors),
        cmocka_unit_test(test_hooks_profiled_and_failing),
    };
    if (getenv("SPARSE_TEST_ONLY")) /* one test, e.g. in the ThreadSanitizer build (tools/test.sh) */
        cmocka_set_test_filter(getenv("SPARSE_TEST_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
