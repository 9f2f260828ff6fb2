/* The prune module: compaction (a pruned network and its compacted copy
 * give the same logits, channel spaces of concatenations and sums kept
 * consistent) and save/load of the posterior state. */
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

#include "prune/prune_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "prune_fixture.h"

extern const struct CMUnitTest compact_tests[];
extern const size_t compact_test_count;

/* ---- Compaction ---- */

static void set_group(sparse_net *net, const char *node, size_t g, float zmu)
{
    size_t id = 0, n = 0;
    assert_int_equal(sparse_net_find_node(net, node, &id), SPARSE_OK);
    float *zm = param_data(net, id, "z_mu", &n);
    assert_non_null(zm);
    assert_true(g < n);
    zm[g] = zmu;
}

static void compare_outputs(sparse_net *a, sparse_net *b, size_t n)
{
    sparse_tensor *x = rand_input(a, n, 5), *la = NULL, *lb = NULL;
    size_t cls = sparse_arch_class_count(sparse_net_arch(a));
    size_t shape[2] = {n, cls};
    sparse_tensor_create(&la, 2, shape);
    sparse_tensor_create(&lb, 2, shape);
    assert_int_equal(sparse_net_forward(a, x, 0, la), SPARSE_OK);
    assert_int_equal(sparse_net_forward(b, x, 0, lb), SPARSE_OK);
    const float *pa = sparse_tensor_data_const(la), *pb = sparse_tensor_data_const(lb);
    for (size_t i = 0; i < n * cls; i++)
        if (!(fabsf(pa[i] - pb[i]) <= 1e-5f * (1.0f + fabsf(pa[i]))))
            fail_msg("logit %zu: pruned %g, compacted %g", i, (double)pa[i], (double)pb[i]);
    sparse_tensor_free(x);
    sparse_tensor_free(la);
    sparse_tensor_free(lb);
}

static size_t node_channels(sparse_net *net, const char *name)
{
    size_t id = 0, c = 0;
    assert_int_equal(sparse_net_find_node(net, name, &id), SPARSE_OK);
    sparse_net_node_shape(net, id, &c, NULL, NULL);
    return c;
}

static void test_compact_bc(void **state)
{
    (void)state;
    sparse_net *net = make_net(GRAPH, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = SPARSE_PRUNE_BC;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    /* give the batch norm non-trivial statistics */
    size_t bn = 0, n = 0;
    sparse_net_find_node(net, "bn", &bn);
    float *rm = param_data(net, bn, "running_mean", &n), *beta = param_data(net, bn, "beta", &n);
    for (size_t j = 0; j < n; j++) {
        rm[j] = 0.1f * (float)j;
        beta[j] = 0.05f * (float)j;
    }
    /* residual: channel 1 pruned on both summands goes, channel 2 pruned on
     * one side only stays */
    set_group(net, "c1", 1, 1e-6f);
    set_group(net, "c2", 1, 1e-6f);
    set_group(net, "c2", 2, 1e-6f);
    /* pointwise half of the separable conv: output channel 3 */
    set_group(net, "s1", 3, 1e-6f);
    /* depthwise half: bias-free, but its input channel is alive: stays */
    set_group(net, "s1/dw", 4, 1e-6f);
    /* reduce layer output channel 0, conv after it: channel 2 (then the
     * batch norm turns it into a constant: stays) */
    set_group(net, "d1/reduce", 0, 1e-6f);
    set_group(net, "d1", 2, 1e-6f);
    /* f1 reads (9 channels x 4 x 4): all 16 inputs of concat channel 0 */
    for (size_t p = 0; p < 16; p++)
        set_group(net, "f1", p, 1e-6f);
    /* f2 reads f1's units: unit 6 unused -> f1 unit 6 goes */
    set_group(net, "f2", 6, 1e-6f);
    sparse_prune_result *res = NULL;
    assert_int_equal(sparse_prune_compact(&res, net, 4), SPARSE_OK);
    sparse_net *c = sparse_prune_result_net(res);
    assert_int_equal(node_channels(c, "c1"), 5);
    assert_int_equal(node_channels(c, "c2"), 5);
    assert_int_equal(node_channels(c, "res"), 5);
    assert_int_equal(node_channels(c, "s1/dw"), 5);
    assert_int_equal(node_channels(c, "d1/reduce"), 2);
    assert_int_equal(node_channels(c, "d1"), 4);
    /* s1 channel 3 zero, channel 0 unread by f1 */
    assert_int_equal(node_channels(c, "s1"), 3);
    assert_int_equal(node_channels(c, "cat"), 7);
    assert_int_equal(node_channels(c, "f1"), 6);
    assert_int_equal(node_channels(c, "f2"), 3);
    compare_outputs(net, c, 4);
    /* the layer report agrees */
    size_t found = 0;
    for (size_t i = 0; i < sparse_prune_result_layer_count(res); i++) {
        sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
        assert_int_equal(sparse_prune_result_layer(res, i, &L), SPARSE_OK);
        if (!strcmp(L.name, "f1")) {
            assert_int_equal(L.channels_total, 7);
            assert_int_equal(L.channels_kept, 6);
            found = 1;
        }
        assert_true(L.weights_kept <= L.weights_total);
    }
    assert_true(found);
    assert_true(sparse_prune_result_nonzero_count(res) < sparse_prune_result_weight_count(res));
    /* the compacted architecture round-trips through YAML */
    char *y = NULL;
    assert_int_equal(sparse_arch_to_yaml(&y, sparse_prune_result_arch(res)), SPARSE_OK);
    sparse_arch *back = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&back, y, strlen(y), NULL), SPARSE_OK);
    assert_int_equal(sparse_arch_validate(back), SPARSE_OK);
    free(y);
    sparse_arch_free(back);
    sparse_prune_result_free(res);
    sparse_net_free(net);
}

/* Concatenations. 'cat' is summed with another producer ('c'), so its
 * space is fixed: its sources keep every channel even when one is zero
 * (removing it would drop c's channel from the sum). 'cat2' feeds a
 * downsampled conv whose 1x1 layer keeps all 4 of its channels (rate 1),
 * so when pruning leaves cat2's sources one channel, 3 come back. */
static const char *CONCATS =
    "name: cc\ninput: [2, 6, 6]\nclasses: 3\nlayers:\n"
    "  - {type: conv2d, name: a, filters: 2, kernel: 3, padding: same}\n"
    "  - {type: conv2d, name: b, filters: 2, kernel: 3, padding: same, input: [input]}\n"
    "  - {type: merge, name: cat, input: [a, b], mode: concat}\n"
    "  - {type: conv2d, name: c, filters: 4, kernel: 3, padding: same, input: [input]}\n"
    "  - {type: merge, name: sum, input: [cat, c], mode: sum}\n"
    "  - {type: conv2d, name: e, filters: 2, kernel: 1, input: [input]}\n"
    "  - {type: conv2d, name: f, filters: 2, kernel: 1, input: [input]}\n"
    "  - {type: merge, name: cat2, input: [e, f], mode: concat}\n"
    "  - {type: downsampled_conv2d, name: d, filters: 3, kernel: 3, rate: 1.0, padding: same}\n"
    "  - {type: merge, name: top, input: [sum, d], mode: concat}\n"
    "  - {type: fc, name: out, units: 3}\n";

static void test_compact_concat_spaces(void **state)
{
    (void)state;
    sparse_net *net = make_net(CONCATS, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = SPARSE_PRUNE_BC;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    set_group(net, "a", 0, 1e-6f);
    set_group(net, "e", 0, 1e-6f);
    set_group(net, "e", 1, 1e-6f);
    set_group(net, "f", 0, 1e-6f);
    sparse_prune_result *res = NULL;
    assert_int_equal(sparse_prune_compact(&res, net, 4), SPARSE_OK);
    sparse_net *c = sparse_prune_result_net(res);
    assert_int_equal(node_channels(c, "a"), 2);
    assert_int_equal(node_channels(c, "cat"), 4);
    assert_int_equal(node_channels(c, "d/reduce"), 4);
    assert_int_equal(node_channels(c, "cat2"), 4);
    assert_int_equal(node_channels(c, "e") + node_channels(c, "f"), 4);
    compare_outputs(net, c, 4);
    sparse_prune_result_free(res);

    /* every channel of 'a' and 'b' zero is fine (cat is fixed); every
     * channel of d is not */
    set_group(net, "a", 1, 1e-6f);
    set_group(net, "b", 0, 1e-6f);
    set_group(net, "b", 1, 1e-6f);
    assert_int_equal(sparse_prune_compact(&res, net, 4), SPARSE_OK);
    assert_int_equal(node_channels(sparse_prune_result_net(res), "b"), 2);
    compare_outputs(net, sparse_prune_result_net(res), 4);
    sparse_prune_result_free(res);
    for (size_t g = 0; g < 4; g++)
        set_group(net, "d/reduce", g, 1e-6f);
    for (size_t g = 0; g < 3; g++)
        set_group(net, "d", g, 1e-6f);
    res = NULL;
    assert_int_equal(sparse_prune_compact(&res, net, 4), SPARSE_EEMPTY);
    assert_null(res);
    /* (the first layer of an emptied space: e, which only d read) */
    assert_non_null(strstr(sparse_last_error(), "pruning removed every channel of 'e'"));
    assert_non_null(strstr(sparse_last_error(), "the network would be empty"));
    sparse_net_free(net);
}

static size_t weight_zeros(sparse_net *net)
{
    size_t z = 0;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        size_t n = 0;
        float *w = param_data(net, i, "weight", &n);
        if (!w) {
            sparse_clear_error();
            continue;
        }
        for (size_t j = 0; j < n; j++)
            z += w[j] == 0.0f;
    }
    return z;
}

static void test_compact_spvd(void **state)
{
    (void)state;
    sparse_net *net = make_net(GRAPH, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    /* large variances on a third of every layer's weights, and all of c1's
     * output channel 0 (a whole channel pruned unstructured) */
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        size_t n = 0;
        float *ls = param_data(net, i, "log_sigma2", &n);
        if (!ls) {
            sparse_clear_error();
            continue;
        }
        for (size_t j = 0; j < n; j += 3)
            ls[j] = 8.0f;
    }
    size_t id = 0, n = 0;
    sparse_net_find_node(net, "c2", &id);
    float *ls = param_data(net, id, "log_sigma2", &n);
    for (size_t j = 0; j < n / 6; j++)
        ls[j] = 8.0f;
    float *b = param_data(net, id, "bias", &n);
    b[0] = 0.0f;
    sparse_net_find_node(net, "c1", &id);
    ls = param_data(net, id, "log_sigma2", &n);
    for (size_t j = 0; j < n / 6; j++)
        ls[j] = 8.0f;
    sparse_prune_result *res = NULL;
    assert_int_equal(sparse_prune_compact(&res, net, 4), SPARSE_OK);
    sparse_net *c = sparse_prune_result_net(res);
    /* channel 0 is zero on both sides of the residual sum */
    assert_int_equal(node_channels(c, "c1"), 5);
    compare_outputs(net, c, 4);
    size_t nz = sparse_prune_result_nonzero_count(res), tot = sparse_prune_result_weight_count(res);
    assert_true(nz < tot * 3 / 4);
    /* the masks keep pruned weights at zero through training */
    sparse_tensor *x = rand_input(c, 4, 9);
    int32_t labels[4] = {0, 1, 2, 1};
    assert_int_equal(sparse_net_forward(c, x, 1, NULL), SPARSE_OK);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 4, 2, 8, 8, sparse_tensor_data_const(x), labels, 3), SPARSE_OK);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 2;
    t.batch_size = 4;
    size_t zeros = weight_zeros(c);
    assert_true(zeros > 0);
    assert_int_equal(sparse_net_train(c, ds, &t, NULL), SPARSE_OK);
    assert_int_equal(weight_zeros(c), zeros);
    sparse_dataset_free(ds);
    sparse_tensor_free(x);
    sparse_prune_result_free(res);
    sparse_net_free(net);
}

/* ---- The log alphas an evaluation compares ---- */

/* An entry is pruned exactly when its log alpha reaches the node's
 * threshold, SpVD per weight and BC per group; log alpha is clipped. */
static void test_log_alpha(void **state)
{
    (void)state;
    sparse_net *net = make_net(GRAPH, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.spvd_threshold = 0.5;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t id = 0, n = 0, nw = 0;
    assert_int_equal(sparse_net_find_node(net, "c2", &id), SPARSE_OK);
    float *ls = param_data(net, id, "log_sigma2", &n), *w = param_data(net, id, "weight", &nw);
    assert_int_equal(n, nw);
    for (size_t j = 0; j < n; j++) {
        w[j] = 1.0f; /* log alpha = log sigma^2 - log(1 + 1e-8) = log sigma^2 in float */
        ls[j] = -12.0f + 0.05f * (float)j;
    }
    sparse_tensor *la = NULL, *eff = NULL;
    assert_int_equal(sparse_exp_net_log_alpha(&la, net, id), SPARSE_OK);
    assert_int_equal(sparse_tensor_element_count(la), n);
    assert_int_equal(sparse_exp_net_effective_params(&eff, NULL, net, id), SPARSE_OK);
    const float *a = sparse_tensor_data_const(la), *e = sparse_tensor_data_const(eff);
    size_t pruned = 0;
    for (size_t j = 0; j < n; j++) {
        float expect = ls[j] < -10.0f ? -10.0f : ls[j] > 10.0f ? 10.0f : ls[j];
        assert_true(a[j] == expect);
        assert_int_equal(e[j] == 0.0f, a[j] >= 0.5f);
        pruned += e[j] == 0.0f;
    }
    assert_true(pruned > 0 && pruned < n);
    sparse_tensor_free(la);
    sparse_tensor_free(eff);
    /* Errors: a bad id, a plain node. */
    assert_int_equal(sparse_exp_net_log_alpha(&la, net, 999), SPARSE_ERANGE);
    assert_null(la);
    assert_int_equal(sparse_exp_net_set_variational(net, id, SPARSE_PRUNE_NONE, 0, 0), SPARSE_OK);
    assert_int_equal(sparse_exp_net_log_alpha(&la, net, id), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "c2"));
    sparse_net_free(net);

    /* BC: one per group (an output channel of a convolution). */
    net = make_net(GRAPH, 4);
    o.method = SPARSE_PRUNE_BC;
    o.bc_threshold = -2.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    set_group(net, "c1", 2, 1e-6f);
    assert_int_equal(sparse_net_find_node(net, "c1", &id), SPARSE_OK);
    assert_int_equal(sparse_exp_net_log_alpha(&la, net, id), SPARSE_OK);
    assert_int_equal(sparse_tensor_element_count(la), 6);
    a = sparse_tensor_data_const(la);
    for (size_t g = 0; g < 6; g++)
        assert_int_equal(a[g] >= -2.0f, g == 2);
    assert_true(a[2] > 9.0f); /* z_logvar -9 - log(1e-12 + 1e-8) */
    sparse_tensor_free(la);
    sparse_net_free(net);
}

/* ---- Save / load of the posterior ---- */

static void test_save_load(void **state)
{
    (void)state;
    sparse_net *net = make_net(GRAPH, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = SPARSE_PRUNE_BC;
    o.bc_threshold = -2.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    set_group(net, "c1", 2, 1e-6f);
    char path[] = "/tmp/test_prune_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sparse_net_save(net, path), SPARSE_OK);
    sparse_net *back = NULL;
    assert_int_equal(sparse_prune_load(&back, path, 4, &o), SPARSE_OK);
    size_t id = 0, n = 0;
    sparse_net_find_node(back, "c1", &id);
    float *zm = param_data(back, id, "z_mu", &n);
    assert_true(zm[2] == 1e-6f);
    compare_outputs(net, back, 4);
    /* a plain network cannot take the file without allow_extra */
    sparse_net *plain = make_net(GRAPH, 4);
    assert_true(sparse_net_load(plain, path, 0) < 0);
    assert_int_equal(sparse_net_load(plain, path, 1), SPARSE_OK);
    sparse_net_free(plain);
    sparse_net_free(back);
    sparse_net_free(net);
    unlink(path);
}

const struct CMUnitTest compact_tests[] = {
    cmocka_unit_test(test_compact_bc),
    cmocka_unit_test(test_compact_spvd),
    cmocka_unit_test(test_compact_concat_spaces),
    cmocka_unit_test(test_log_alpha),
    cmocka_unit_test(test_save_load),
};
const size_t compact_test_count = sizeof compact_tests / sizeof compact_tests[0];
