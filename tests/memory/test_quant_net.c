/*
 * Int8, the whole network: the quantised all-layers network against the
 * float one, node by node; an unfused ReLU, agreement of predictions on the
 * tiny network, extreme parameters, and the argument checks of the qnet API.
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
#include "test_memory_net.h"
#include "../expect.h"

extern const struct CMUnitTest quant_net_tests[];
extern const size_t quant_net_test_count;

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
 * network's. Each kernel is within one step of its own inputs
 * (test_quant.c); along the graph the rounding of earlier tensors adds up, and a
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

const struct CMUnitTest quant_net_tests[] = {
    cmocka_unit_test(test_q_network),        cmocka_unit_test(test_q_unfused_relu),
    cmocka_unit_test(test_q_tiny_agreement), cmocka_unit_test(test_q_extreme_params),
    cmocka_unit_test(test_q_api_errors),
};
const size_t quant_net_test_count = sizeof quant_net_tests / sizeof quant_net_tests[0];
