/*
 * Activation sparsity (sparse_memreport_activation_nonzeros) on a network
 * whose activations are known: input 1x2x2 -> conv 1x1 of one filter,
 * weight 1, bias 0 (the identity) -> ReLU -> max-pool 2 (1x1x1) -> fc 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "test_memory_net.h"

extern const struct CMUnitTest activations_tests[];
extern const size_t activations_test_count;

static const char *yaml = "input: [1, 2, 2]\nclasses: 2\nlayers:\n"
                          "  - {type: conv2d, name: c, filters: 1, kernel: 1}\n"
                          "  - {type: relu, name: r}\n"
                          "  - {type: maxpool, name: p, size: 2}\n"
                          "  - {type: fc, name: f, units: 2}\n";

static void set(sparse_net *net, const char *node, const char *param, float v)
{
    size_t id = 0;
    assert_int_equal(sparse_net_find_node(net, node, &id), SPARSE_OK);
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, id, param), SPARSE_OK);
    assert_int_equal(sparse_tensor_fill(t, v), SPARSE_OK);
    sparse_tensor_free(t);
}

/* Images (pixels; their non-zeros; after the identity and ReLU; its
 * non-zeros; after the pool; non-zero):
 *   A  1 -1  0  2   3   1 0 0 2   2   2   1
 *   B -1 -1 -1  3   4   0 0 0 3   1   3   1
 *   C -1 -2 -3 -4   4   0 0 0 0   0   0   0
 * Layers: c reads the image: mean (3+4+4)/3, max 4; p reads the ReLU:
 * mean (2+1+0)/3 = 1, max 2; f reads the pool: mean 2/3, max 1. */
static void test_known_sparsity(void **state)
{
    (void)state;
    const float px[] = {1, -1, 0, 2, -1, -1, -1, 3, -1, -2, -3, -4};
    const int32_t labels[] = {0, 1, 0};
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 3, 1, 2, 2, px, labels, 2), SPARSE_OK);
    for (size_t batch = 1; batch <= 2; batch++) { /* one image a pass, and a partial last batch */
        sparse_net *net = memtest_net(yaml, batch, 1);
        set(net, "c", "weight", 1.0f);
        set(net, "c", "bias", 0.0f);
        sparse_memreport *r = NULL;
        assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
        const size_t n = sparse_memreport_node_count(r);
        double *mean = calloc(n, sizeof *mean);
        uint64_t *max = calloc(n, sizeof *max);
        assert_int_equal(sparse_memreport_activation_nonzeros(r, net, ds, 0, mean, max), SPARSE_OK);
        size_t c, p, f, relu;
        assert_int_equal(sparse_net_find_node(net, "c", &c), SPARSE_OK);
        assert_int_equal(sparse_net_find_node(net, "p", &p), SPARSE_OK);
        assert_int_equal(sparse_net_find_node(net, "f", &f), SPARSE_OK);
        assert_int_equal(sparse_net_find_node(net, "r", &relu), SPARSE_OK);
        assert_true(mean[c] == 11.0 / 3.0);
        assert_int_equal(max[c], 4);
        assert_true(mean[p] == 1.0);
        assert_int_equal(max[p], 2);
        assert_true(mean[f] == 2.0 / 3.0);
        assert_int_equal(max[f], 1);
        assert_true(mean[relu] == 0.0 && max[relu] == 0); /* not a layer */
        /* The first two images only. */
        assert_int_equal(sparse_memreport_activation_nonzeros(r, net, ds, 2, mean, max), SPARSE_OK);
        assert_true(mean[p] == 1.5);
        assert_int_equal(max[c], 4);
        free(mean);
        free(max);
        sparse_memreport_free(r);
        sparse_net_free(net);
    }
    sparse_dataset_free(ds);
}

static void test_errors(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(yaml, 1, 1), *other = memtest_net(memtest_yaml(0), 1, 1);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    double mean[16];
    uint64_t max[16];
    const float px[2 * 2 * 2] = {0};
    const int32_t labels[] = {0};
    sparse_dataset *wrong = NULL, *empty = NULL;
    assert_int_equal(sparse_dataset_from_memory(&wrong, 1, 2, 2, 2, px, labels, 2), SPARSE_OK);
    assert_int_equal(sparse_memreport_activation_nonzeros(r, net, wrong, 0, mean, max), SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "images are 2x2x2, the network takes 1x2x2"));
    assert_int_equal(sparse_memreport_activation_nonzeros(r, other, wrong, 0, mean, max), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "make the report from this network"));
    assert_int_equal(sparse_memreport_activation_nonzeros(r, net, NULL, 0, mean, max), SPARSE_EINVAL);
    assert_int_equal(sparse_dataset_from_memory(&empty, 0, 1, 2, 2, px, labels, 2), SPARSE_OK);
    assert_int_equal(sparse_memreport_activation_nonzeros(r, net, empty, 0, mean, max), SPARSE_EEMPTY);
    sparse_dataset_free(wrong);
    sparse_dataset_free(empty);
    sparse_memreport_free(r);
    sparse_net_free(net);
    sparse_net_free(other);
}

const struct CMUnitTest activations_tests[] = {
    cmocka_unit_test(test_known_sparsity),
    cmocka_unit_test(test_errors),
};
const size_t activations_test_count = sizeof activations_tests / sizeof activations_tests[0];
