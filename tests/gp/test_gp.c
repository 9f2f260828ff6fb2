/* The GP module: the GP against scikit-learn's (predictions and marginal
 * likelihoods of tests/data fixtures), the objective's gradients against
 * finite differences and the conditional (arc-kernel) rule, here; the
 * search space (test_gp_space.c), the posterior beyond the fixtures
 * (test_gp_posterior.c), multi-objective optimisation (test_gp_mobo.c),
 * the API's argument checks (test_gp_api.c), schedules
 * (test_gp_schedule.c) and pathwise samples (test_gp_pathwise.c) in parts
 * of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gp/gp_internal.h"
#include "sparse/sparse.h"

#include "gp_api.h"

extern const struct CMUnitTest space_tests[];
extern const size_t space_test_count;
extern const struct CMUnitTest posterior_tests[];
extern const size_t posterior_test_count;
extern const struct CMUnitTest mobo_tests[];
extern const size_t mobo_test_count;

/* ---- fixture reader (format: see tests/data/gen_gp_fixtures.py) ---- */

typedef struct fixture {
    FILE *f;
} fixture;

static int next_token(FILE *f, char *buf, size_t cap)
{
    int c;
    for (;;) {
        c = fgetc(f);
        if (c == EOF)
            return 0;
        if (c == '#') {
            while (c != '\n' && c != EOF)
                c = fgetc(f);
            continue;
        }
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
            break;
    }
    size_t n = 0;
    while (c != EOF && c != ' ' && c != '\n' && c != '\t' && c != '\r') {
        if (n + 1 < cap)
            buf[n++] = (char)c;
        c = fgetc(f);
    }
    buf[n] = 0;
    return 1;
}

static void expect_key(FILE *f, const char *key)
{
    char tok[64];
    assert_true(next_token(f, tok, sizeof tok));
    assert_string_equal(tok, key);
}

static double *read_values(FILE *f, const char *key, size_t n)
{
    expect_key(f, key);
    double *v = calloc(n ? n : 1, sizeof *v);
    assert_non_null(v);
    char tok[64];
    for (size_t i = 0; i < n; i++) {
        assert_true(next_token(f, tok, sizeof tok));
        v[i] = strtod(tok, NULL);
    }
    return v;
}

static double read_value(FILE *f, const char *key)
{
    double *v = read_values(f, key, 1);
    double x = v[0];
    free(v);
    return x;
}

static FILE *open_fixture(const char *name)
{
    const char *dir = getenv("SPARSE_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    return f;
}

/* ---- GP against scikit-learn ---- */

static void check_predict_fixture(const char *name)
{
    FILE *f = open_fixture(name);
    int kind = (int)read_value(f, "kind");
    size_t dim = (size_t)read_value(f, "dim"), n = (size_t)read_value(f, "n"),
           m = (size_t)read_value(f, "m");
    double *ls = read_values(f, "lengthscales", dim);
    double sf2 = read_value(f, "signal_var"), noise = read_value(f, "noise");
    double *X = read_values(f, "X", n * dim), *y = read_values(f, "y", n);
    double *Xs = read_values(f, "Xs", m * dim), *mean = read_values(f, "mean", m);
    double *var = read_values(f, "var", m);
    double lml_ref = read_value(f, "lml");
    fclose(f);

    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.kernel = kind;
    o.normalize_y = 0;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, dim, &o), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(gp, ls, sf2, noise), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(gp, n, X, y), SPARSE_OK);
    double *mu = calloc(m, sizeof *mu), *v = calloc(m, sizeof *v);
    assert_int_equal(sparse_gp_predict(gp, m, Xs, mu, v), SPARSE_OK);
    for (size_t j = 0; j < m; j++) {
        if (fabs(mu[j] - mean[j]) > 1e-8 || fabs(v[j] - var[j]) > 1e-8)
            fail_msg("%s point %zu: mean %.12g vs %.12g, var %.12g vs %.12g", name, j, mu[j],
                     mean[j], v[j], var[j]);
    }
    double lml;
    assert_int_equal(sparse_gp_log_marginal_likelihood(gp, &lml), SPARSE_OK);
    assert_true(fabs(lml - lml_ref) < 1e-8);
    assert_true(sparse_gp_jitter(gp) == 0.0);
    free(mu);
    free(v);
    free(ls);
    free(X);
    free(y);
    free(Xs);
    free(mean);
    free(var);
    sparse_gp_free(gp);
}

static void test_predict_matern_vs_sklearn(void **state)
{
    (void)state;
    check_predict_fixture("gp_matern52.txt");
}

static void test_predict_rbf_vs_sklearn(void **state)
{
    (void)state;
    check_predict_fixture("gp_rbf.txt");
}

static void test_fit_lml_vs_sklearn(void **state)
{
    (void)state;
    FILE *f = open_fixture("gp_lml.txt");
    (void)read_value(f, "kind");
    size_t dim = (size_t)read_value(f, "dim"), n = (size_t)read_value(f, "n");
    double *ls = read_values(f, "lengthscales", dim);
    double sf2 = read_value(f, "signal_var"), noise = read_value(f, "noise");
    double *X = read_values(f, "X", n * dim), *y = read_values(f, "y", n);
    double lml_fixed = read_value(f, "lml_fixed"), lml_opt = read_value(f, "lml_opt");
    fclose(f);

    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.use_priors = 0;
    o.noise_min = 1e-8;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, dim, &o), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(gp, n, X, y), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(gp, ls, sf2, noise), SPARSE_OK);
    double lml;
    assert_int_equal(sparse_gp_log_marginal_likelihood(gp, &lml), SPARSE_OK);
    assert_true(fabs(lml - lml_fixed) < 1e-8);

    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 11), SPARSE_OK);
    assert_int_equal(sparse_gp_fit(gp, rng), SPARSE_OK);
    assert_int_equal(sparse_gp_log_marginal_likelihood(gp, &lml), SPARSE_OK);
    if (!(lml >= lml_opt - 1e-6))
        fail_msg("fitted LML %.10g below scikit-learn's optimum %.10g", lml, lml_opt);

    /* With priors the fit is still close to the maximum likelihood. */
    sparse_gp_options op = SPARSE_GP_OPTIONS_INIT;
    sparse_gp *gp2 = NULL;
    assert_int_equal(sparse_gp_create(&gp2, dim, &op), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(gp2, n, X, y), SPARSE_OK);
    assert_int_equal(sparse_gp_fit(gp2, rng), SPARSE_OK);
    double lml2;
    assert_int_equal(sparse_gp_log_marginal_likelihood(gp2, &lml2), SPARSE_OK);
    assert_true(isfinite(lml2) && lml2 > lml_fixed);
    sparse_gp_free(gp2);
    sparse_rng_free(rng);
    free(ls);
    free(X);
    free(y);
    sparse_gp_free(gp);
}

/* ---- gradients ---- */

static void check_gradient(int kernel, int rule, int prior)
{
    size_t D = 4, n = 30;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 3 + (uint64_t)kernel), SPARSE_OK);
    double X[30 * 4], y[30];
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < D; d++)
            X[i * D + d] = sparse_rng_uniform(rng);
        if (rule && i % 3 == 0)
            X[i * D + 3] = SPARSE_SPACE_INACTIVE;
        y[i] = sin(4 * X[i * D]) + X[i * D + 1] * X[i * D + 2] + 0.1 * sparse_rng_normal(rng);
    }
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.kernel = kernel;
    o.inactive_rule = rule;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, D, &o), SPARSE_OK);
    /* The RBF runs take a noise of each observation's own on top. */
    double own[30];
    for (size_t i = 0; i < n; i++)
        own[i] = 0.02 * (double)(i % 4);
    assert_int_equal(sparse_gp_set_data_noisy(gp, n, X, y, kernel == SPARSE_KERNEL_RBF ? own : NULL), SPARSE_OK);
    double theta[6] = {log(0.3), log(0.8), log(1.7), log(0.5), log(1.3), log(0.02)};
    double v, g[6];
    assert_int_equal(sparse__gp_objective(gp, theta, prior, &v, g), SPARSE_OK);
    for (size_t i = 0; i < D + 2; i++) {
        double h = 1e-5, tp[6], tm[6], vp, vm;
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[i] += h;
        tm[i] -= h;
        assert_int_equal(sparse__gp_objective(gp, tp, prior, &vp, NULL), SPARSE_OK);
        assert_int_equal(sparse__gp_objective(gp, tm, prior, &vm, NULL), SPARSE_OK);
        double fd = (vp - vm) / (2 * h);
        if (fabs(fd - g[i]) > 1e-6 * (1 + fabs(fd)))
            fail_msg("kernel %d rule %d prior %d: dtheta[%zu] analytic %.10g vs fd %.10g", kernel,
                     rule, prior, i, g[i], fd);
    }
    sparse_gp_free(gp);
    sparse_rng_free(rng);
}

static void test_gradients_fd(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < 2; r++)
            for (int p = 0; p < 2; p++)
                check_gradient(k, r, p);
}

/* ---- conditional (arc-kernel) rule ---- */

/* k(x, x*) recovered from the posterior variance after one observation at x:
 * var = sf2 - k^2 / (sf2 + noise). */
static double implied_k(sparse_gp *gp, const double *xs)
{
    double mu, var;
    assert_int_equal(sparse_gp_predict(gp, 1, xs, &mu, &var), SPARSE_OK);
    return sqrt((1.0 - var) * (1.0 + 0.5));
}

static void test_inactive_rule(void **state)
{
    (void)state;
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.inactive_rule = 1;
    o.normalize_y = 0;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, 2, &o), SPARSE_OK);
    double ls[2] = {1, 1};
    assert_int_equal(sparse_gp_set_hyper(gp, ls, 1.0, 0.5), SPARSE_OK);
    double x[2] = {0.3, SPARSE_SPACE_INACTIVE}, y = 1;
    assert_int_equal(sparse_gp_set_data(gp, 1, x, &y), SPARSE_OK);
    double same[2] = {0.3, SPARSE_SPACE_INACTIVE}, act0[2] = {0.3, 0.0}, act1[2] = {0.3, 0.9};
    double m1 = (1 + sqrt(5.0) + 5.0 / 3) * exp(-sqrt(5.0)); /* Matern-5/2 at r = 1 */
    assert_true(fabs(implied_k(gp, same) - 1.0) < 1e-9);  /* inactive/inactive: distance 0 */
    assert_true(fabs(implied_k(gp, act0) - m1) < 1e-9);   /* active/inactive: distance 1 */
    assert_true(fabs(implied_k(gp, act1) - m1) < 1e-9);   /* whatever the active value */
    sparse_gp_free(gp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_matern_vs_sklearn),
        cmocka_unit_test(test_predict_rbf_vs_sklearn),
        cmocka_unit_test(test_fit_lml_vs_sklearn),
        cmocka_unit_test(test_gradients_fd),
        cmocka_unit_test(test_inactive_rule),
        cmocka_unit_test(test_space_api_errors),
        cmocka_unit_test(test_gp_api_errors),
        cmocka_unit_test(test_mobo_api_errors),
        cmocka_unit_test(test_pareto_api_errors),
        cmocka_unit_test(test_schedule_points),
        cmocka_unit_test(test_schedule_subset),
        cmocka_unit_test(test_schedule_resume),
        cmocka_unit_test(test_schedule_chain),
        cmocka_unit_test(test_rff_approximates_kernel),
        cmocka_unit_test(test_rff_inactive_embedding),
        cmocka_unit_test(test_cross_kernel_by_gemm),
        cmocka_unit_test(test_believers_block_equals_each),
        cmocka_unit_test(test_pathwise_sample),
        cmocka_unit_test(test_mobo_pathwise_deterministic),
    };
    int fails = _cmocka_run_group_tests("space", space_tests, space_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("posterior", posterior_tests, posterior_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("mobo", mobo_tests, mobo_test_count, NULL, NULL);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
