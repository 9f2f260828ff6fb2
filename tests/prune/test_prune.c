/* Tests of the prune module: KL terms and the variational layers'
 * gradients (finite differences with the noise fixed), here; compaction
 * equivalence and save/load of the posterior state (test_compact.c), bad
 * parameters (test_bad_params.c) and the training noise (test_noise.c) in
 * parts of their own. */
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
extern const struct CMUnitTest bad_params_tests[];
extern const size_t bad_params_test_count;
extern const struct CMUnitTest noise_tests[];
extern const size_t noise_test_count;

static const double K1 = 0.63576, K2 = 1.87320, K3 = 1.48695;

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_values),    cmocka_unit_test(test_kl_schedule),
        cmocka_unit_test(test_kl_net_spvd),  cmocka_unit_test(test_kl_net_bc),
        cmocka_unit_test(test_grad_spvd),    cmocka_unit_test(test_grad_bc),
    };
    int fails = _cmocka_run_group_tests("prune_compact", compact_tests, compact_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("prune_bad_params", bad_params_tests, bad_params_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("prune_noise", noise_tests, noise_test_count, NULL, NULL);
    return fails + cmocka_run_group_tests_name("prune", tests, NULL, NULL);
}
