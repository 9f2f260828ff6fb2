/* Tests of the prune module: KL terms, the variational layers' gradients
 * (finite differences with the noise fixed), compaction equivalence,
 * save/load of the posterior state and bad parameters. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prune/prune_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"

static const double K1 = 0.63576, K2 = 1.87320, K3 = 1.48695;

/* A graph with every kind of weight node and every way channels are
 * shared: residual sum, separable (depthwise + pointwise), downsampled
 * conv (1x1 reduce), concatenation, a batch norm, a spatial FC input. */
static const char *GRAPH =
    "name: g\ninput: [2, 8, 8]\nclasses: 3\nlayers:\n"
    "  - {type: conv2d, name: c1, filters: 6, kernel: 3, padding: same}\n"
    "  - {type: relu, name: r1}\n"
    "  - {type: conv2d, name: c2, filters: 6, kernel: 3, padding: same}\n"
    "  - {type: residual, name: res, input: [r1]}\n"
    "  - {type: separable_conv2d, name: s1, filters: 5, kernel: 3, padding: same}\n"
    "  - {type: downsampled_conv2d, name: d1, filters: 4, kernel: 3, rate: 0.5, padding: same, input: [res]}\n"
    "  - {type: batchnorm, name: bn, input: [d1]}\n"
    "  - {type: merge, name: cat, input: [s1, bn], mode: concat}\n"
    "  - {type: maxpool, name: p1, size: 2}\n"
    "  - {type: fc, name: f1, units: 7}\n"
    "  - {type: relu, name: r2}\n"
    "  - {type: fc, name: f2, units: 3}\n";

static sparse_net *make_net(const char *yaml, size_t batch)
{
    sparse_arch *a = NULL;
    if (sparse_arch_parse_yaml(&a, yaml, strlen(yaml), NULL))
        fail_msg("%s", sparse_last_error());
    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, a, batch, 7), SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

static sparse_tensor *rand_input(sparse_net *net, size_t n, unsigned seed)
{
    size_t c, h, w;
    sparse_net_node_shape(net, 0, &c, &h, &w);
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, n, c, h, w), SPARSE_OK);
    sparse_rng *r = NULL;
    sparse_rng_create(&r, seed);
    float *d = sparse_tensor_data(x);
    for (size_t i = 0; i < sparse_tensor_element_count(x); i++)
        d[i] = (float)sparse_rng_normal(r);
    sparse_rng_free(r);
    return x;
}

static float *param_data(sparse_net *net, size_t id, const char *name, size_t *n)
{
    sparse_tensor *t = NULL;
    if (sparse_net_param(&t, net, id, name))
        return NULL;
    float *d = sparse_tensor_data(t);
    *n = sparse_tensor_element_count(t);
    sparse_tensor_free(t); /* the view's storage belongs to the network */
    return d;
}

static float *grad_data(sparse_net *net, size_t id, const char *name)
{
    sparse_tensor *t = NULL;
    if (sparse_net_param_grad(&t, net, id, name))
        return NULL;
    float *d = sparse_tensor_data(t);
    sparse_tensor_free(t);
    return d;
}

/* ---- KL ---- */

static void test_kl_values(void **state)
{
    (void)state;
    const double las[] = {-10.0, -3.0, 0.0, 1.5, 3.0, 10.0};
    for (size_t i = 0; i < sizeof las / sizeof las[0]; i++) {
        double la = las[i];
        double want = K1 / (1.0 + exp(-(K2 + K3 * la))) - 0.5 * log1p(exp(-la)) - K1;
        assert_true(fabs(sparse__prune_neg_kl(la) - want) < 1e-12);
        double h = 1e-5;
        double fd = (sparse__prune_neg_kl(la + h) - sparse__prune_neg_kl(la - h)) / (2 * h);
        assert_true(fabs(sparse__prune_neg_kl_grad(la) - fd) < 1e-7);
    }
    /* known points: la = 0 gives k1 sigmoid(k2) - 0.5 ln 2 - k1 */
    assert_true(fabs(sparse__prune_neg_kl(0.0) - (-0.431239)) < 1e-5);
    /* huge alpha: the KL vanishes (the weight carries no information) */
    assert_true(fabs(sparse__prune_neg_kl(30.0)) < 1e-9);
    /* -KL is increasing in log alpha and never positive */
    for (double la = -10; la < 10; la += 0.5) {
        assert_true(sparse__prune_neg_kl(la) <= 0.0);
        assert_true(sparse__prune_neg_kl_grad(la) > 0.0);
    }
    assert_true(fabs(sparse__prune_weight_kl(0.0, 0.0)) < 1e-15);
    assert_true(fabs(sparse__prune_weight_kl(1.0, 0.0) - 0.5) < 1e-15);
    assert_true(fabs(sparse__prune_weight_kl(0.0, log(2.0)) - (0.5 - 0.5 * log(2.0))) < 1e-15);
    assert_true(fabs(sparse__prune_weight_kl(0.5, -9.0) - (4.5 + 0.5 * (exp(-9.0) + 0.25) - 0.5)) < 1e-12);
}

static void test_kl_schedule(void **state)
{
    (void)state;
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.zero_epochs = 5;
    o.anneal_epochs = 10;
    o.kl_weight = 0.5;
    assert_true(sparse_prune_kl_coef(&o, 0.0) == 0.0);
    assert_true(sparse_prune_kl_coef(&o, 4.99) == 0.0);
    assert_true(fabs(sparse_prune_kl_coef(&o, 10.0) - 0.25) < 1e-15);
    assert_true(sparse_prune_kl_coef(&o, 15.0) == 0.5);
    assert_true(sparse_prune_kl_coef(&o, 99.0) == 0.5);
    o.anneal_epochs = 0;
    assert_true(sparse_prune_kl_coef(&o, 5.0) == 0.5);
    assert_true(isnan(sparse_prune_kl_coef(NULL, 1.0)));
}

/* KL of the whole network matches the per-element closed forms, and the
 * gradients it adds match finite differences of the KL sum. */
static void check_net_kl(int method)
{
    sparse_net *net = make_net(GRAPH, 4);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = method;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t id = 0;
    assert_int_equal(sparse_net_find_node(net, "c2", &id), SPARSE_OK);
    size_t nw = 0, nl = 0;
    float *w = param_data(net, id, "weight", &nw), *ls = param_data(net, id, "log_sigma2", &nl);
    assert_int_equal(nw, nl);
    for (size_t j = 0; j < nl; j++)
        ls[j] = -6.0f + 0.01f * (float)(j % 200);
    double kl = 0;
    assert_int_equal(sparse_prune_kl(net, 0.0, &kl), SPARSE_OK);
    double want = 0;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        if (sparse_exp_net_variational_mode(net, i) == SPARSE_PRUNE_NONE)
            continue;
        size_t n1 = 0, n2 = 0;
        float *wi = param_data(net, i, "weight", &n1), *li = param_data(net, i, "log_sigma2", &n2);
        if (method == SPARSE_PRUNE_SPVD) {
            for (size_t j = 0; j < n1; j++) {
                double la = (double)li[j] - log((double)wi[j] * wi[j] + 1e-8);
                la = la < -10 ? -10 : la > 10 ? 10 : la;
                want -= sparse__prune_neg_kl(la);
            }
        } else {
            size_t nz = 0;
            float *zm = param_data(net, i, "z_mu", &nz), *zl = param_data(net, i, "z_logvar", &nz);
            for (size_t j = 0; j < nz; j++)
                want -= sparse__prune_neg_kl((double)zl[j] - log((double)zm[j] * zm[j] + 1e-8));
            for (size_t j = 0; j < n1; j++)
                want += sparse__prune_weight_kl(wi[j], li[j]);
        }
    }
    assert_true(fabs(kl - want) <= 1e-4 * fabs(want) + 1e-3);
    /* the network's KL is the sum of its nodes' (experimental.h) */
    double sum = 0.0, k = 1.0;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        assert_int_equal(sparse_exp_net_variational_kl(net, i, 0.0, &k), SPARSE_OK);
        if (sparse_exp_net_variational_mode(net, i) == SPARSE_PRUNE_NONE)
            assert_true(k == 0.0);
        sum += k;
    }
    assert_true(sum == kl);
    assert_int_equal(sparse_exp_net_variational_kl(net, sparse_net_node_count(net), 0.0, &k), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_variational_kl(net, id, NAN, &k), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_variational_kl(NULL, id, 0.0, &k), SPARSE_EINVAL);
    /* gradients: zero them, add d KL, compare with central differences */
    const char *names[] = {"weight", "log_sigma2", "z_mu", "z_logvar"};
    for (size_t i = 0; i < sparse_net_node_count(net); i++)
        for (int q = 0; q < 4; q++) {
            size_t n = 0;
            if (!param_data(net, i, names[q], &n)) {
                sparse_clear_error();
                continue;
            }
            memset(grad_data(net, i, names[q]), 0, n * sizeof(float));
        }
    assert_int_equal(sparse_prune_kl(net, 1.0, &kl), SPARSE_OK);
    for (int q = 0; q < 4; q++) {
        size_t n = 0;
        float *p = param_data(net, id, names[q], &n);
        if (!p) {
            sparse_clear_error();
            continue;
        }
        float *g = grad_data(net, id, names[q]);
        for (size_t j = 0; j < n; j += 7) {
            const float h = 1e-2f * (fabsf(p[j]) > 1.0f ? fabsf(p[j]) : 1.0f), old = p[j];
            double kp, km;
            p[j] = old + h;
            sparse_prune_kl(net, 0.0, &kp);
            p[j] = old - h;
            sparse_prune_kl(net, 0.0, &km);
            p[j] = old;
            double fd = (kp - km) / (2.0 * h);
            assert_true(fabs(fd - g[j]) <= 5e-2 * fabs(fd) + 2e-2);
        }
    }
    (void)w;
    sparse_net_free(net);
}

static void test_kl_net_spvd(void **state)
{
    (void)state;
    check_net_kl(SPARSE_PRUNE_SPVD);
}

static void test_kl_net_bc(void **state)
{
    (void)state;
    check_net_kl(SPARSE_PRUNE_BC);
}

/* ---- Gradients of the variational layers ---- */

/* No batch norm (its batch statistics couple the images) and no pooling
 * ties, so the loss is smooth enough for float central differences. */
static const char *SMOOTH =
    "name: s\ninput: [2, 6, 6]\nclasses: 3\nlayers:\n"
    "  - {type: conv2d, name: c1, filters: 3, kernel: 3, padding: same}\n"
    "  - {type: separable_conv2d, name: s1, filters: 4, kernel: 3, padding: valid}\n"
    "  - {type: conv2d, name: c2, filters: 3, kernel: 1, padding: valid}\n"
    "  - {type: fc, name: f1, units: 5}\n"
    "  - {type: fc, name: f2, units: 3}\n";

static double loss_at(sparse_net *net, const sparse_tensor *x, const int32_t *labels)
{
    double l = 0;
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(net, labels, 0.0f, &l), SPARSE_OK);
    return l;
}

static void check_grads(int method, int noise)
{
    const size_t N = 3;
    sparse_net *net = make_net(SMOOTH, N);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = method;
    o.seed = 11;
    o.noise = noise;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    /* large enough variances for the variance path to matter */
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        size_t n = 0;
        float *ls = param_data(net, i, "log_sigma2", &n);
        if (!ls) {
            sparse_clear_error();
            continue;
        }
        for (size_t j = 0; j < n; j++)
            ls[j] = -3.0f + 0.1f * (float)(j % 7);
        float *zl = param_data(net, i, "z_logvar", &n);
        if (zl)
            for (size_t j = 0; j < n; j++)
                zl[j] = -2.5f + 0.1f * (float)(j % 5);
        else
            sparse_clear_error();
    }
    sparse_tensor *x = rand_input(net, N, 3);
    int32_t labels[3] = {0, 2, 1};
    double l0 = loss_at(net, x, labels);
    assert_true(isfinite(l0));
    /* the noise is fixed: the same pass gives the same loss */
    assert_true(loss_at(net, x, labels) == l0);
    const char *names[] = {"weight", "bias", "log_sigma2", "z_mu", "z_logvar"};
    size_t checked = 0;
    for (size_t i = 1; i < sparse_net_node_count(net); i++) {
        if (sparse_exp_net_variational_mode(net, i) == SPARSE_PRUNE_NONE)
            continue;
        for (int q = 0; q < 5; q++) {
            size_t n = 0;
            float *p = param_data(net, i, names[q], &n);
            if (!p) {
                sparse_clear_error();
                continue;
            }
            loss_at(net, x, labels);
            float *g = malloc(n * sizeof *g);
            memcpy(g, grad_data(net, i, names[q]), n * sizeof *g);
            for (size_t j = 0; j < n; j += (n > 40 ? n / 17 : 1)) {
                const float old = p[j], h = 2e-3f;
                p[j] = old + h;
                double lp = loss_at(net, x, labels);
                p[j] = old - h;
                double lm = loss_at(net, x, labels);
                p[j] = old;
                double fd = (lp - lm) / (2.0 * h);
                if (!(fabs(fd - g[j]) <= 3e-2 * fabs(fd) + 3e-3))
                    fail_msg("%s, noise %d: node %s param %s[%zu]: analytic %g, finite difference %g",
                             method == SPARSE_PRUNE_BC ? "bc" : "spvd", noise, sparse_net_node_name(net, i),
                             names[q], j, (double)g[j], fd);
                checked++;
            }
            free(g);
        }
    }
    assert_true(checked > 50);
    sparse_tensor_free(x);
    sparse_net_free(net);
}

static void test_grad_spvd(void **state)
{
    (void)state;
    check_grads(SPARSE_PRUNE_SPVD, SPARSE_PRUNE_NOISE_ACTIVATION);
    check_grads(SPARSE_PRUNE_SPVD, SPARSE_PRUNE_NOISE_WEIGHT);
}

static void test_grad_bc(void **state)
{
    (void)state;
    check_grads(SPARSE_PRUNE_BC, SPARSE_PRUNE_NOISE_ACTIVATION);
    check_grads(SPARSE_PRUNE_BC, SPARSE_PRUNE_NOISE_WEIGHT);
}

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

/* ---- Bad parameters ---- */

static void test_bad_params(void **state)
{
    (void)state;
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.zero_epochs = -1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "zero_epochs"));
    o.zero_epochs = 0;
    o.finetune_epochs = -3;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.finetune_epochs = 0;
    o.anneal_epochs = -3;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.anneal_epochs = 1;
    o.spvd_threshold = NAN;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "finite"));
    o.spvd_threshold = 3;
    o.bc_threshold = INFINITY;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.bc_threshold = -1;
    o.kl_weight = -1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.kl_weight = 1;
    o.method = 9;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.method = SPARSE_PRUNE_SPVD;
    assert_true(o.finetune_lr_scale == 1.0);
    o.finetune_lr_scale = 0;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "finetune_lr_scale"));
    o.finetune_lr_scale = NAN;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    /* A version 1 struct ends before finetune_lr_scale: not read (scale 1). */
    o.finetune_lr_scale = 0;
    o.version = 1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.version = SPARSE_PRUNE_OPTIONS_VERSION;
    o.finetune_lr_scale = 1;
    assert_int_equal(o.noise, SPARSE_PRUNE_NOISE_ACTIVATION);
    o.noise = 7;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "noise 7"));
    /* A version 2 struct ends before noise: not read (the default kind). */
    o.version = 2;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.noise = SPARSE_PRUNE_NOISE_ACTIVATION;
    o.finetune_lr_scale = 0.3;
    o.version = 99;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_EVERSION);
    assert_int_equal(sparse_prune_options_init(&o, 99), SPARSE_EVERSION);
    assert_int_equal(sparse_prune_options_init(&o, SPARSE_PRUNE_OPTIONS_VERSION), SPARSE_OK);

    sparse_net *net = make_net(GRAPH, 4);
    assert_int_equal(sparse_exp_net_set_variational(net, 1, SPARSE_PRUNE_SPVD, NAN, 0), SPARSE_ERANGE);
    /* node 2 is a relu */
    assert_int_equal(sparse_exp_net_set_variational(net, 2, SPARSE_PRUNE_SPVD, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_variational(net, 999, SPARSE_PRUNE_SPVD, 3, 0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_variational(net, 1, 7, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_variational(NULL, 1, 1, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    /* attaching twice only changes thresholds; detaching restores the plain
     * parameter list */
    size_t before = sparse_net_param_count(net, 1);
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_net_param_count(net, 1), before);
    o.method = SPARSE_PRUNE_NONE;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_net_param_count(net, 1), before - 1);
    /* pruning everything: a clear empty-network error, never a crash */
    o.method = SPARSE_PRUNE_BC;
    o.bc_threshold = -20.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    sparse_prune_result *res = (sparse_prune_result *)&o; /* must be reset */
    assert_int_equal(sparse_prune_compact(&res, net, 0), SPARSE_EEMPTY);
    assert_null(res);
    assert_non_null(strstr(sparse_last_error(), "every channel"));
    o.method = SPARSE_PRUNE_SPVD;
    o.spvd_threshold = -20.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_prune_compact(&res, net, 0), SPARSE_EEMPTY);
    /* the same through sparse_prune_run on a tiny data set */
    float img[4 * 2 * 8 * 8];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = (float)(i % 13) / 13.0f;
    int32_t labels[4] = {0, 1, 2, 0};
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 4, 2, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 1;
    t.batch_size = 4;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_EEMPTY);
    assert_null(res);
    o.spvd_threshold = 3.0;
    o.zero_epochs = -2;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_ERANGE);
    o.zero_epochs = 0;
    o.finetune_epochs = 1;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_OK);
    assert_non_null(sparse_prune_result_net(res));
    sparse_train_result tr = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_prune_result_training(res, 1, &tr), SPARSE_OK);
    assert_int_equal(tr.epochs_done, 1);
    sparse_net *taken = NULL;
    assert_int_equal(sparse_prune_result_take_net(&taken, res), SPARSE_OK);
    sparse_net *first = taken;
    assert_int_equal(sparse_prune_result_take_net(&taken, res), SPARSE_EINVAL);
    assert_null(taken);
    assert_true(sparse_prune_result_nonzero_count(res) > 0);
    sparse_net_free(first);
    sparse_prune_result_free(res);
    sparse_prune_result_free(NULL);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* The training noise is N(0, 1): an FC layer with zero mean weights and
 * unit variances outputs the noise itself. */
static void test_noise_distribution(void **state)
{
    (void)state;
    const char *y = "name: n\ninput: [1, 1, 1]\nclasses: 2\nlayers:\n  - {type: fc, name: f, units: 2, bias: false}\n";
    const size_t N = 20000;
    sparse_net *net = make_net(y, N);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t n = 0;
    float *w = param_data(net, 1, "weight", &n), *ls = param_data(net, 1, "log_sigma2", &n);
    for (size_t j = 0; j < n; j++) {
        w[j] = 0.0f;
        ls[j] = 0.0f;
    }
    sparse_tensor *x = NULL, *out = NULL;
    size_t shape[2] = {N, 2};
    sparse_tensor_create_nchw(&x, N, 1, 1, 1);
    sparse_tensor_fill(x, 1.0f);
    sparse_tensor_create(&out, 2, shape);
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    const float *e = sparse_tensor_data_const(out);
    double m = 0, v = 0, k4 = 0;
    size_t tail = 0;
    for (size_t i = 0; i < 2 * N; i++) {
        m += e[i];
        v += (double)e[i] * e[i];
        k4 += (double)e[i] * e[i] * e[i] * e[i];
        tail += fabsf(e[i]) > 2.0f;
    }
    m /= 2.0 * N;
    v /= 2.0 * N;
    k4 /= 2.0 * N;
    assert_true(fabs(m) < 0.02);
    assert_true(fabs(v - 1.0) < 0.03);
    assert_true(fabs(k4 - 3.0) < 0.2);
    assert_true(fabs((double)tail / (2.0 * N) - 0.0455) < 0.005);
    sparse_tensor_free(x);
    sparse_tensor_free(out);
    sparse_net_free(net);
}

/* The weight-noise kind draws each weight once per step, shared by the
 * batch: an FC layer on a constant input 1 with zero mean weights and unit
 * variances outputs its drawn weights: the same in every image, N(0, 1)
 * over the units. */
static void test_weight_noise(void **state)
{
    (void)state;
    enum { UNITS = 4000, N = 3 };
    char y[200];
    snprintf(y, sizeof y, "name: n\ninput: [1, 1, 1]\nclasses: %d\nlayers:\n  - {type: fc, name: f, units: %d, bias: false}\n",
             UNITS, UNITS);
    sparse_net *net = make_net(y, N);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.noise = SPARSE_PRUNE_NOISE_WEIGHT;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t n = 0;
    float *w = param_data(net, 1, "weight", &n), *ls = param_data(net, 1, "log_sigma2", &n);
    assert_int_equal(n, UNITS);
    for (size_t j = 0; j < n; j++) {
        w[j] = 0.0f;
        ls[j] = 0.0f;
    }
    sparse_tensor *x = NULL, *out = NULL;
    size_t shape[2] = {N, UNITS};
    sparse_tensor_create_nchw(&x, N, 1, 1, 1);
    sparse_tensor_fill(x, 1.0f);
    sparse_tensor_create(&out, 2, shape);
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    float *first = malloc(UNITS * sizeof *first);
    memcpy(first, sparse_tensor_data_const(out), UNITS * sizeof *first);
    const float *e = sparse_tensor_data_const(out);
    double m = 0, v = 0;
    for (size_t k = 0; k < UNITS; k++) {
        for (size_t i = 1; i < N; i++)
            assert_true(e[i * UNITS + k] == e[k]);
        m += e[k];
        v += (double)e[k] * e[k];
    }
    m /= UNITS;
    v /= UNITS;
    assert_true(fabs(m) < 0.06); /* 4 standard errors */
    assert_true(fabs(v - 1.0) < 0.1);
    /* a second pass before any optimiser step draws the same weights */
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    assert_memory_equal(sparse_tensor_data_const(out), first, UNITS * sizeof *first);
    free(first);
    sparse_tensor_free(x);
    sparse_tensor_free(out);
    sparse_net_free(net);
}

/* Same seed, same bits. */
static void test_deterministic(void **state)
{
    (void)state;
    float img[8 * 2 * 8 * 8];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = (float)((i * 7) % 17) / 17.0f;
    int32_t labels[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 8, 2, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 2;
    t.batch_size = 4;
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = SPARSE_PRUNE_BC;
    o.anneal_epochs = 1;
    double loss[2];
    for (int r = 0; r < 2; r++) {
        sparse_net *net = make_net(GRAPH, 4);
        sparse_prune_result *res = NULL;
        assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_OK);
        sparse_train_result tr = SPARSE_TRAIN_RESULT_INIT;
        sparse_prune_result_training(res, 0, &tr);
        loss[r] = tr.final_loss;
        sparse_prune_result_free(res);
        sparse_net_free(net);
    }
    assert_true(loss[0] == loss[1]);
    sparse_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_values),    cmocka_unit_test(test_kl_schedule),
        cmocka_unit_test(test_kl_net_spvd),  cmocka_unit_test(test_kl_net_bc),
        cmocka_unit_test(test_grad_spvd),    cmocka_unit_test(test_grad_bc),
        cmocka_unit_test(test_compact_bc),   cmocka_unit_test(test_compact_spvd),
        cmocka_unit_test(test_compact_concat_spaces),
        cmocka_unit_test(test_save_load),    cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_noise_distribution),
        cmocka_unit_test(test_weight_noise),
    };
    return cmocka_run_group_tests_name("prune", tests, NULL, NULL);
}
