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

/* |a - b| <= tol (this cmocka lacks assert_double_equal). */
#define assert_close(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

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

/* ---- search space ---- */

static sparse_space *make_space(void)
{
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    size_t i;
    assert_int_equal(sparse_space_add_real(s, "lr", 1e-4, 1e-1, 1, &i), SPARSE_OK);
    assert_int_equal(i, 0);
    assert_int_equal(sparse_space_add_int(s, "layers", 1, 3, 0, &i), SPARSE_OK);
    assert_int_equal(sparse_space_add_categorical(s, "act", 3, &i), SPARSE_OK);
    assert_int_equal(sparse_space_add_int(s, "width3", 4, 64, 1, &i), SPARSE_OK);
    double three = 3;
    assert_int_equal(sparse_space_set_condition(s, i, 1, &three, 1), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "drop", 0.0, 0.5, 0, &i), SPARSE_OK);
    return s;
}

static void test_space_encode_decode(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    assert_int_equal(sparse_space_var_count(s), 5);
    assert_int_equal(sparse_space_encoded_dim(s), 7);
    assert_true(sparse_space_has_conditions(s));
    size_t idx;
    assert_int_equal(sparse_space_find(s, "act", &idx), SPARSE_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(sparse_space_find(s, "nope", &idx), SPARSE_ENOTFOUND);
    assert_string_equal(sparse_space_var_name(s, 3), "width3");

    double p[5] = {1e-2, 3, 2, 16, 0.25}, x[7], q[5];
    int active[5];
    assert_int_equal(sparse_space_active(s, p, active), SPARSE_OK);
    assert_int_equal(active[3], 1);
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(fabs(x[0] - 2.0 / 3.0) < 1e-12); /* log scale */
    assert_true(fabs(x[1] - 1.0) < 1e-12);
    assert_true(x[2] == 0 && x[3] == 0 && x[4] == 1);
    assert_true(fabs(x[5] - 0.5) < 1e-12); /* log2(16/4)/log2(64/4) */
    assert_true(fabs(x[6] - 0.5) < 1e-12);
    assert_int_equal(sparse_space_decode(s, x, q), SPARSE_OK);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(q[i] - p[i]) < 1e-12 * fabs(p[i]) + 1e-15);

    /* Parent value 2: width3 inactive -> sentinel, decodes to NaN. */
    p[1] = 2;
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(x[5] == SPARSE_SPACE_INACTIVE);
    assert_int_equal(sparse_space_decode(s, x, q), SPARSE_OK);
    assert_true(isnan(q[3]));
    /* Integers are rounded on encode. */
    p[1] = 1.4;
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(x[1] == 0.0);
    assert_int_equal(sparse_space_validate(s, p), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "layers"));

    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 5), SPARSE_OK);
    int seen_inactive = 0, seen_active = 0;
    for (int t = 0; t < 200; t++) {
        assert_int_equal(sparse_space_sample(s, rng, p), SPARSE_OK);
        assert_int_equal(sparse_space_validate(s, p), SPARSE_OK);
        seen_inactive += isnan(p[3]);
        seen_active += !isnan(p[3]);
        assert_int_equal(sparse_space_mutate(s, rng, p, 0.3, 0.1, q), SPARSE_OK);
        assert_int_equal(sparse_space_validate(s, q), SPARSE_OK);
    }
    assert_true(seen_inactive > 0 && seen_active > 0);

    sparse_space *c = NULL;
    assert_int_equal(sparse_space_clone(&c, s), SPARSE_OK);
    assert_int_equal(sparse_space_encoded_dim(c), 7);
    sparse_space_free(c);
    sparse_rng_free(rng);
    sparse_space_free(s);
}

/* sample_all gives every variable a value within its bounds, conditional
 * ones included; sample then clears the inactive ones. */
static void test_space_sample_all(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 3), SPARSE_OK);
    double p[5], lo, hi;
    int saw_inactive = 0;
    for (int k = 0; k < 200; k++) {
        assert_int_equal(sparse_space_sample_all(s, rng, p), SPARSE_OK);
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(sparse_space_var_bounds(s, i, &lo, &hi), SPARSE_OK);
            assert_true(p[i] >= lo && p[i] <= hi);
        }
        int active[5];
        assert_int_equal(sparse_space_active(s, p, active), SPARSE_OK);
        for (size_t i = 0; i < 5; i++)
            saw_inactive |= !active[i];
    }
    assert_true(saw_inactive);
    assert_int_equal(sparse_space_var_bounds(s, 9, &lo, &hi), SPARSE_ERANGE);
    sparse_rng_free(rng);
    sparse_space_free(s);
}

static void test_space_errors(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    assert_int_equal(sparse_space_add_real(s, "lr", 0, 1, 0, NULL), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "already exists"));
    assert_int_equal(sparse_space_add_real(s, "x", 1, 1, 0, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 1, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_real(s, "x", 0, NAN, 0, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_categorical(s, "c", 0, NULL), SPARSE_EINVAL);
    double v = 1;
    assert_int_equal(sparse_space_set_condition(s, 1, 2, &v, 1), SPARSE_EINVAL); /* parent after */
    assert_int_equal(sparse_space_set_condition(s, 4, 0, &v, 1), SPARSE_EINVAL); /* real parent */
    assert_int_equal(sparse_space_set_condition(s, 9, 0, &v, 1), SPARSE_ERANGE);
    sparse_space *o = (sparse_space *)1;
    assert_int_equal(sparse_space_clone(&o, NULL), SPARSE_EINVAL);
    assert_null(o);
    sparse_space_free(NULL);
    sparse_space_free(s);
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

/* ---- incremental update ---- */

static void test_incremental_equals_refit(void **state)
{
    (void)state;
    size_t D = 3, n = 40, m = 25;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 9), SPARSE_OK);
    double X[40 * 3], y[40], Xs[25 * 3];
    for (size_t i = 0; i < n * D; i++)
        X[i] = sparse_rng_uniform(rng);
    for (size_t i = 0; i < m * D; i++)
        Xs[i] = sparse_rng_uniform(rng);
    for (size_t i = 0; i < n; i++)
        y[i] = cos(3 * X[i * D]) + X[i * D + 2] + 5;
    double ls[3] = {0.4, 0.9, 0.3};
    sparse_gp *a = NULL, *b = NULL;
    assert_int_equal(sparse_gp_create(&a, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_create(&b, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(a, ls, 1.2, 1e-3), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(b, ls, 1.2, 1e-3), SPARSE_OK);
    /* a: 5 points in bulk then one at a time (crossing the buffer growth). */
    assert_int_equal(sparse_gp_set_data(a, 5, X, y), SPARSE_OK);
    for (size_t i = 5; i < n; i++)
        assert_int_equal(sparse_gp_add(a, X + i * D, y[i]), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(b, n, X, y), SPARSE_OK);
    assert_int_equal(sparse_gp_observation_count(a), n);
    double ma[25], va[25], mb[25], vb[25], la, lb;
    assert_int_equal(sparse_gp_predict(a, m, Xs, ma, va), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(b, m, Xs, mb, vb), SPARSE_OK);
    for (size_t j = 0; j < m; j++) {
        assert_true(fabs(ma[j] - mb[j]) < 1e-10);
        assert_true(fabs(va[j] - vb[j]) < 1e-10);
    }
    assert_int_equal(sparse_gp_log_marginal_likelihood(a, &la), SPARSE_OK);
    assert_int_equal(sparse_gp_log_marginal_likelihood(b, &lb), SPARSE_OK);
    assert_true(fabs(la - lb) < 1e-10);
    /* From an empty GP too. */
    sparse_gp *c = NULL;
    assert_int_equal(sparse_gp_create(&c, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(c, ls, 1.2, 1e-3), SPARSE_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sparse_gp_add(c, X + i * D, y[i]), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(c, m, Xs, ma, va), SPARSE_OK);
    for (size_t j = 0; j < m; j++) {
        assert_true(fabs(ma[j] - mb[j]) < 1e-10);
        assert_true(fabs(va[j] - vb[j]) < 1e-10);
    }
    sparse_gp_free(a);
    sparse_gp_free(b);
    sparse_gp_free(c);
    sparse_rng_free(rng);
}

/* Two measurements of one point with noises of their own: the posterior of
 * f there is the precision-weighted combination with the prior (raw units:
 * prior N(y_mean, sf2 scale^2), each noise the fitted one times scale^2
 * plus its own). */
static void check_two_measurements(int normalize)
{
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.normalize_y = normalize;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, 1, &o), SPARSE_OK);
    double ls = 0.5, X[2] = {0.3, 0.3}, y[2] = {1, 3}, own[2] = {0.5, 0.1}, mean, var;
    assert_int_equal(sparse_gp_set_hyper(gp, &ls, 1.0, 1e-6), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(gp, 2, X, y, own), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(gp, 1, X, &mean, &var), SPARSE_OK);
    double y_mean = normalize ? 2.0 : 0.0, scale = normalize ? 1.0 : 1.0; /* population sd of {1, 3} */
    double prior = 1.0 * scale * scale, a = 1e-6 * scale * scale + own[0], b = 1e-6 * scale * scale + own[1];
    double precision = 1 / prior + 1 / a + 1 / b;
    double expect = (y_mean / prior + y[0] / a + y[1] / b) / precision;
    assert_close(mean, expect, 1e-9);
    assert_close(var, 1 / precision, 1e-9);
    sparse_gp_free(gp);
}

static void test_observation_noise(void **state)
{
    (void)state;
    check_two_measurements(0);
    check_two_measurements(1);
    /* One at a time equals all at once, across the buffer growth. */
    size_t D = 2, n = 24;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 4), SPARSE_OK);
    double X[24 * 2], y[24], own[24], Xs[10 * 2], ma[10], va[10], mb[10], vb[10], ls[2] = {0.4, 0.7};
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = sparse_rng_uniform(rng);
        X[2 * i + 1] = sparse_rng_uniform(rng);
        y[i] = sin(3 * X[2 * i]) + 2 * X[2 * i + 1];
        own[i] = 0.05 * sparse_rng_uniform(rng);
    }
    for (size_t i = 0; i < 20; i++)
        Xs[i] = sparse_rng_uniform(rng);
    sparse_gp *a = NULL, *b = NULL;
    assert_int_equal(sparse_gp_create(&a, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_create(&b, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(a, ls, 1.1, 1e-3), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(b, ls, 1.1, 1e-3), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(a, 3, X, y, own), SPARSE_OK);
    for (size_t i = 3; i < n; i++)
        assert_int_equal(sparse_gp_add_noisy(a, X + i * D, y[i], own[i]), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(b, n, X, y, own), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(a, 10, Xs, ma, va), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(b, 10, Xs, mb, vb), SPARSE_OK);
    for (size_t j = 0; j < 10; j++) {
        assert_close(ma[j], mb[j], 1e-10);
        assert_close(va[j], vb[j], 1e-10);
    }
    /* More noise of its own: the fit still runs, the posterior is wider at the data. */
    assert_int_equal(sparse_gp_fit(b, rng), SPARSE_OK);
    for (size_t i = 0; i < n; i++)
        own[i] *= 20;
    assert_int_equal(sparse_gp_set_data_noisy(a, n, X, y, own), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(a, 1, X, ma, va), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(a, n, X, y, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(a, 1, X, mb, vb), SPARSE_OK);
    assert_true(va[0] > vb[0]);
    /* A negative or non-finite noise is refused, naming the observation; the GP stays as it was. */
    own[5] = -1;
    assert_int_equal(sparse_gp_set_data_noisy(a, n, X, y, own), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "observation 5: noise variance -1"));
    assert_int_equal(sparse_gp_add_noisy(a, X, 1.0, NAN), SPARSE_ENUMERIC);
    assert_int_equal(sparse_gp_observation_count(a), n);
    sparse_gp_free(a);
    sparse_gp_free(b);
    sparse_rng_free(rng);
}

/* ---- joint samples ---- */

static void test_sample(void **state)
{
    (void)state;
    size_t D = 2, n = 10, m = 60;
    double X[20], y[10], Xs[120];
    for (size_t i = 0; i < n; i++) {
        X[i * D] = (double)i / 9.0;
        X[i * D + 1] = 0.5;
        y[i] = sin(6 * X[i * D]);
    }
    for (size_t j = 0; j < m; j++) {
        Xs[j * D] = (double)(j % 30) / 29.0; /* every candidate twice: singular covariance */
        Xs[j * D + 1] = 0.5;
    }
    double ls[2] = {0.2, 1.0};
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, D, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(gp, ls, 1.0, 1e-6), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(gp, n, X, y), SPARSE_OK);
    sparse_rng *r1 = NULL, *r2 = NULL;
    assert_int_equal(sparse_rng_create(&r1, 42), SPARSE_OK);
    assert_int_equal(sparse_rng_create(&r2, 42), SPARSE_OK);
    double s1[60], s2[60], mu[60], var[60];
    assert_int_equal(sparse_gp_sample(gp, m, Xs, r1, s1), SPARSE_OK);
    assert_int_equal(sparse_gp_sample(gp, m, Xs, r2, s2), SPARSE_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_int_equal(sparse_gp_predict(gp, m, Xs, mu, var), SPARSE_OK);
    for (size_t j = 0; j < m; j++) {
        assert_true(isfinite(s1[j]));
        assert_true(fabs(s1[j] - mu[j]) < 6 * sqrt(var[j]) + 1e-3);
        if (j >= 30)
            assert_true(fabs(s1[j] - s1[j - 30]) < 1e-3); /* duplicates sample alike */
    }
    /* Empirical mean and variance over many joint draws. */
    double sum[60] = {0}, sq[60] = {0};
    int draws = 400;
    for (int t = 0; t < draws; t++) {
        assert_int_equal(sparse_gp_sample(gp, m, Xs, r1, s1), SPARSE_OK);
        for (size_t j = 0; j < m; j++) {
            sum[j] += s1[j];
            sq[j] += s1[j] * s1[j];
        }
    }
    for (size_t j = 0; j < 30; j++) {
        double em = sum[j] / draws, ev = sq[j] / draws - em * em;
        assert_true(fabs(em - mu[j]) < 5 * sqrt(var[j] / draws) + 1e-3);
        assert_true(fabs(ev - var[j]) < 0.3 * var[j] + 1e-4);
    }
    sparse_rng_free(r1);
    sparse_rng_free(r2);
    sparse_gp_free(gp);
}

/* ---- ill-conditioned inputs ---- */

static void test_gp_bad_inputs(void **state)
{
    (void)state;
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, 0, NULL), SPARSE_EINVAL);
    assert_null(gp);
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(sparse_gp_create(&gp, 2, &o), SPARSE_EVERSION);
    assert_int_equal(sparse_gp_options_init(&o, 99), SPARSE_EVERSION);
    assert_int_equal(sparse_gp_create(&gp, 2, NULL), SPARSE_OK);

    double X[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, y[4] = {1, 2, NAN, 4};
    assert_int_equal(sparse_gp_set_data(gp, 4, X, y), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "observation 2"));
    assert_non_null(strstr(sparse_last_error(), "NaN"));
    y[2] = 3;
    X[3] = INFINITY;
    assert_int_equal(sparse_gp_set_data(gp, 4, X, y), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "observation 1"));
    X[3] = 0.4;
    assert_int_equal(sparse_gp_observation_count(gp), 0);
    assert_int_equal(sparse_gp_set_data(gp, 4, X, y), SPARSE_OK);
    double bad[2] = {0.5, NAN};
    assert_int_equal(sparse_gp_add(gp, bad, 1.0), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "observation 4"));
    assert_int_equal(sparse_gp_add(gp, X, INFINITY), SPARSE_ENUMERIC);
    assert_int_equal(sparse_gp_observation_count(gp), 4);
    double mu, var;
    assert_int_equal(sparse_gp_predict(gp, 1, bad, &mu, &var), SPARSE_EINVAL);
    double ls[2] = {-1, 1};
    assert_int_equal(sparse_gp_set_hyper(gp, ls, 1, 0.1), SPARSE_EINVAL);
    sparse_gp_free(gp);
    sparse_gp_free(NULL);
}

static void test_gp_duplicates_and_constant(void **state)
{
    (void)state;
    /* Exact duplicates with zero noise: jitter rescues the factorisation. */
    double X[12] = {0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.5, 0.5, 0.9, 0.1, 0.9, 0.1};
    double y[6] = {1, 1, 1, 2, 3, 3};
    double ls[2] = {0.5, 0.5};
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, 2, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(gp, ls, 1.0, 0.0), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data(gp, 6, X, y), SPARSE_OK);
    assert_true(sparse_gp_jitter(gp) > 0);
    double mu[2], var[2], Xs[4] = {0.1, 0.2, 0.3, 0.3};
    assert_int_equal(sparse_gp_predict(gp, 2, Xs, mu, var), SPARSE_OK);
    assert_true(isfinite(mu[0]) && isfinite(var[0]) && var[0] >= 0);
    assert_true(fabs(mu[0] - 1) < 1e-3);
    /* Adding yet another duplicate incrementally. */
    assert_int_equal(sparse_gp_add(gp, X, 1.0), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(gp, 2, Xs, mu, var), SPARSE_OK);
    assert_true(isfinite(mu[1]) && isfinite(var[1]));
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 1), SPARSE_OK);
    assert_int_equal(sparse_gp_fit(gp, rng), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(gp, 2, Xs, mu, var), SPARSE_OK);
    assert_true(isfinite(mu[0]) && isfinite(var[0]));

    /* Constant objective: fit and predict stay finite and return the constant. */
    double yc[6] = {7, 7, 7, 7, 7, 7};
    assert_int_equal(sparse_gp_set_data(gp, 6, X, yc), SPARSE_OK);
    assert_int_equal(sparse_gp_fit(gp, rng), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(gp, 2, Xs, mu, var), SPARSE_OK);
    assert_true(fabs(mu[0] - 7) < 1e-6 && fabs(mu[1] - 7) < 1e-6);
    assert_true(isfinite(var[1]));
    double s[2];
    assert_int_equal(sparse_gp_sample(gp, 2, Xs, rng, s), SPARSE_OK);
    assert_true(isfinite(s[0]) && isfinite(s[1]));
    sparse_rng_free(rng);
    sparse_gp_free(gp);
}

/* ---- Pareto tools ---- */

static void test_pareto(void **state)
{
    (void)state;
    double F[] = {1, 5, 2, 3, 3, 4, 4, 1, 2, 3, 5, 5};
    size_t rank[6], idx[6], cnt;
    assert_int_equal(sparse_pareto_rank(6, 2, F, rank), SPARSE_OK);
    size_t want[6] = {0, 0, 1, 0, 0, 2};
    for (int i = 0; i < 6; i++)
        assert_int_equal(rank[i], want[i]);
    assert_int_equal(sparse_pareto_front(6, 2, F, idx, &cnt), SPARSE_OK);
    assert_int_equal(cnt, 4);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 3);
    assert_int_equal(idx[3], 4);
    double Fn[] = {1, NAN};
    assert_int_equal(sparse_pareto_front(1, 2, Fn, idx, &cnt), SPARSE_ENUMERIC);
}

static void test_hypervolume(void **state)
{
    (void)state;
    double hv;
    /* 2-D staircase (1,3),(2,2),(3,1), ref (4,4): 3 + 2 + 1 = 6; dominated and
     * out-of-box points add nothing. */
    double F2[] = {3, 1, 1, 3, 2, 2, 3, 3, 5, 0};
    double r2[2] = {4, 4};
    assert_int_equal(sparse_hypervolume(5, 2, F2, r2, &hv), SPARSE_OK);
    assert_true(fabs(hv - 6) < 1e-12);
    assert_int_equal(sparse_hypervolume(0, 2, F2, r2, &hv), SPARSE_OK);
    assert_true(hv == 0);
    /* 3-D: one point (1,1,1) ref (2,3,4): 1*2*3 = 6. */
    double r3[3] = {2, 3, 4};
    double p1[3] = {1, 1, 1};
    assert_int_equal(sparse_hypervolume(1, 3, p1, r3, &hv), SPARSE_OK);
    assert_true(fabs(hv - 6) < 1e-12);
    /* 3-D: (0,0,1) and (1,1,0), ref (2,2,2): boxes 2*2*1=4 and 1*1*2=2,
     * overlap [1,2]^2 x [1,2] = 1 -> 5. */
    double F3[] = {0, 0, 1, 1, 1, 0};
    double r3b[3] = {2, 2, 2};
    assert_int_equal(sparse_hypervolume(2, 3, F3, r3b, &hv), SPARSE_OK);
    assert_true(fabs(hv - 5) < 1e-12);
    /* 3-D: the three unit axes points (1,0,0),(0,1,0),(0,0,1), ref (1,1,1)...
     * use ref (2,2,2): union of three 1x2x2 boxes along each axis:
     * inclusion-exclusion 3*4 - 3*2 + 1 = 7. */
    double F3c[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    assert_int_equal(sparse_hypervolume(3, 3, F3c, r3b, &hv), SPARSE_OK);
    assert_true(fabs(hv - 7) < 1e-12);
    double F4[4] = {0};
    double r4[4] = {1, 1, 1, 1};
    assert_int_equal(sparse_hypervolume(1, 4, F4, r4, &hv), SPARSE_EUNSUPPORTED);
}

static void test_dirichlet(void **state)
{
    (void)state;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 77), SPARSE_OK);
    double lam[3], mean[3] = {0};
    for (int t = 0; t < 3000; t++) {
        assert_int_equal(sparse__dirichlet_sample(rng, 3, 1.0, lam), SPARSE_OK);
        double s = lam[0] + lam[1] + lam[2];
        assert_true(fabs(s - 1) < 1e-12);
        for (int j = 0; j < 3; j++) {
            assert_true(lam[j] >= 0);
            mean[j] += lam[j] / 3000;
        }
    }
    for (int j = 0; j < 3; j++)
        assert_true(fabs(mean[j] - 1.0 / 3) < 0.02);
    assert_int_equal(sparse__dirichlet_sample(rng, 0, 1.0, lam), SPARSE_EINVAL);
    sparse_rng_free(rng);
}

/* ---- MOBO driver ---- */

static void zdt_like(const double *p, double *f)
{
    double x0 = p[0], g = 1 + 9 * (p[1] / 10.0 + p[2] / 2.0) / 2;
    f[0] = x0;
    f[1] = g * (1 - sqrt(x0 / g));
}

static void run_mobo(uint64_t seed, double *proposals, size_t steps)
{
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "x0", 0, 1, 0, NULL), SPARSE_OK);
    assert_int_equal(sparse_space_add_int(s, "x1", 0, 10, 0, NULL), SPARSE_OK);
    assert_int_equal(sparse_space_add_categorical(s, "x2", 3, NULL), SPARSE_OK);
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.candidate_count = 200;
    o.restarts = 2;
    sparse_mobo *m = NULL;
    assert_int_equal(sparse_mobo_create(&m, s, 2, NULL, &o, seed), SPARSE_OK);
    sparse_space_free(s); /* the driver keeps its own copy */
    double p[3], f[2], lam[2];
    for (size_t t = 0; t < steps; t++) {
        assert_int_equal(sparse_mobo_propose(m, 0, NULL, p, NULL, lam), SPARSE_OK);
        assert_true(fabs(lam[0] + lam[1] - 1) < 1e-12);
        zdt_like(p, f);
        assert_int_equal(sparse_mobo_observe(m, p, f), SPARSE_OK);
        memcpy(proposals + 3 * t, p, sizeof p);
    }
    assert_int_equal(sparse_mobo_observation_count(m), steps);
    size_t idx[64], cnt;
    assert_int_equal(sparse_mobo_pareto(m, idx, &cnt), SPARSE_OK);
    assert_true(cnt >= 1);
    /* Caller-provided candidates. */
    double C[9] = {0.1, 0, 0, 0.5, 5, 1, 0.9, 10, 2};
    size_t chosen;
    assert_int_equal(sparse_mobo_propose(m, 3, C, p, &chosen, NULL), SPARSE_OK);
    assert_true(chosen < 3);
    assert_memory_equal(p, C + 3 * chosen, sizeof p);
    /* Bad observations are rejected with the index. */
    f[1] = NAN;
    assert_int_equal(sparse_mobo_observe(m, p, f), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "observation"));
    assert_non_null(strstr(sparse_last_error(), "objective 1"));
    f[1] = 1;
    p[1] = 11; /* out of bounds */
    assert_int_equal(sparse_mobo_observe(m, p, f), SPARSE_ERANGE);
    assert_int_equal(sparse_mobo_observation_count(m), steps);
    sparse_mobo_free(m);
}

static void test_mobo_deterministic(void **state)
{
    (void)state;
    double a[3 * 12], b[3 * 12];
    run_mobo(123, a, 12);
    run_mobo(123, b, 12);
    assert_memory_equal(a, b, sizeof a);
}

static void test_mobo_errors(void **state)
{
    (void)state;
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    sparse_mobo *m = NULL;
    assert_int_equal(sparse_mobo_create(&m, s, 2, NULL, NULL, 1), SPARSE_EINVAL); /* empty */
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 0, NULL), SPARSE_OK);
    assert_int_equal(sparse_mobo_create(&m, s, 0, NULL, NULL, 1), SPARSE_EINVAL);
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.scalarization = SPARSE_SCALAR_BOX;
    assert_int_equal(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL);
    double lo[2] = {0.2, 0.5}, hi[2] = {0.4, 0.5};
    o.lambda_lo = lo;
    o.lambda_hi = hi;
    int logs[2] = {0, 1};
    assert_int_equal(sparse_mobo_create(&m, s, 2, logs, &o, 1), SPARSE_OK);
    double p = 0.3, f[2] = {1, 0};
    assert_int_equal(sparse_mobo_observe(m, &p, f), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "observation 0 objective 1"));
    for (int i = 0; i < 6; i++) {
        p = i / 6.0;
        f[0] = p;
        f[1] = exp(1 - p);
        assert_int_equal(sparse_mobo_observe(m, &p, f), SPARSE_OK);
    }
    double lam[2];
    assert_int_equal(sparse_mobo_propose(m, 0, NULL, &p, NULL, lam), SPARSE_OK);
    assert_true(lam[0] >= 0.2 / 0.9 - 1e-12 && lam[0] <= 0.4 / 0.7 + 1e-12);
    assert_true(fabs(lam[0] + lam[1] - 1) < 1e-12);
    assert_true(p >= 0 && p <= 1);
    sparse_mobo_free(m);
    sparse_mobo_free(NULL);
    sparse_space_free(s);
}

/* Noisy observations, the posterior the driver reports, and pending points:
 * a candidate being evaluated is not proposed again, and pending points do
 * not enter the posterior. */
static void test_mobo_noise_and_pending(void **state)
{
    (void)state;
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 0, NULL), SPARSE_OK);
    int logs[1] = {1};
    sparse_mobo *m = NULL;
    assert_int_equal(sparse_mobo_create(&m, s, 1, logs, NULL, 5), SPARSE_OK);
    /* An error rate measured on 5000 images: its binomial variance. */
    double p = 0.5, f, nv;
    for (int i = 0; i < 8; i++) {
        p = i < 4 ? 0.5 : 0.05 * (i - 4);
        f = i < 4 ? (i % 2 ? 0.010 : 0.014) : 0.02 + 0.02 * p;
        nv = f * (1 - f) / 5000;
        assert_int_equal(sparse_mobo_observe_noisy(m, &p, &f, &nv), SPARSE_OK);
    }
    double at[2] = {0.5, 0.99}, mean[2], sd[2];
    assert_int_equal(sparse_mobo_predict(m, 2, at, mean, sd), SPARSE_OK);
    /* The four measurements of x = 0.5 share one value between them. */
    assert_true(mean[0] > 0.0099 && mean[0] < 0.0141);
    assert_true(sd[0] > 0 && sd[0] < 0.004 && sd[1] > sd[0]);
    /* Proposals skip a pending candidate, which leaves the posterior alone. */
    double C[2] = {0.2, 0.8}, out;
    size_t chosen, other;
    assert_int_equal(sparse_mobo_propose(m, 2, C, &out, &chosen, NULL), SPARSE_OK);
    assert_int_equal(sparse_mobo_set_pending(m, 1, C + chosen), SPARSE_OK);
    assert_int_equal(sparse_mobo_propose(m, 2, C, &out, &other, NULL), SPARSE_OK);
    assert_int_equal(other, 1 - chosen);
    double again[2], sd2[2];
    assert_int_equal(sparse_mobo_predict(m, 2, at, again, sd2), SPARSE_OK);
    assert_close(again[0], mean[0], 1e-12);
    assert_close(sd2[1], sd[1], 1e-12);
    assert_int_equal(sparse_mobo_set_pending(m, 0, NULL), SPARSE_OK);
    p = 2; /* outside the space */
    assert_int_equal(sparse_mobo_set_pending(m, 1, &p), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "sparse_mobo_set_pending: point 0"));
    p = 0.4;
    f = 0.01;
    nv = -1;
    assert_int_equal(sparse_mobo_observe_noisy(m, &p, &f, &nv), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "noise variance -1"));
    assert_int_equal(sparse_mobo_observation_count(m), 8);
    sparse_mobo_free(m);
    sparse_space_free(s);
}

/* Candidates marked known compete with their posterior mean: with every
 * candidate known the choice is the one of the best mean, whatever the
 * seed; unmarked, a sample sometimes prefers the unexplored one. */
static void test_mobo_known_candidates(void **state)
{
    (void)state;
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 0, NULL), SPARSE_OK);
    double C[2] = {0.12, 0.9}, out, mean[2];
    unsigned char all[2] = {1, 1};
    int explored = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sparse_mobo *m = NULL, *free_choice = NULL;
        assert_int_equal(sparse_mobo_create(&m, s, 1, NULL, NULL, seed), SPARSE_OK);
        assert_int_equal(sparse_mobo_create(&free_choice, s, 1, NULL, NULL, seed), SPARSE_OK);
        for (int i = 0; i < 6; i++) {
            double x = 0.02 * i, f = 0.1 + x;
            assert_int_equal(sparse_mobo_observe(m, &x, &f), SPARSE_OK);
            assert_int_equal(sparse_mobo_observe(free_choice, &x, &f), SPARSE_OK);
        }
        size_t chosen, other;
        assert_int_equal(sparse_mobo_predict(m, 2, C, mean, NULL), SPARSE_OK);
        assert_int_equal(sparse_mobo_propose_known(m, 2, C, all, &out, &chosen, NULL), SPARSE_OK);
        assert_int_equal(chosen, mean[0] <= mean[1] ? 0 : 1);
        assert_int_equal(sparse_mobo_propose_known(free_choice, 2, C, NULL, &out, &other, NULL), SPARSE_OK);
        explored += other != chosen;
        sparse_mobo_free(m);
        sparse_mobo_free(free_choice);
    }
    assert_true(explored > 0);
    sparse_space_free(s);
}

static void test_mobo_degenerate_data(void **state)
{
    (void)state;
    /* The same point observed repeatedly with constant objectives, in a
     * conditional space: proposals stay valid and finite. */
    sparse_space *s = make_space();
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.candidate_count = 100;
    sparse_mobo *m = NULL;
    int logs[2] = {0, 1};
    assert_int_equal(sparse_mobo_create(&m, s, 2, logs, &o, 3), SPARSE_OK);
    double p[5] = {1e-2, 3, 1, 8, 0.1}, f[2] = {0.5, 100}, q[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(sparse_mobo_observe(m, p, f), SPARSE_OK);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(sparse_mobo_propose(m, 0, NULL, q, NULL, NULL), SPARSE_OK);
        assert_int_equal(sparse_space_validate(s, q), SPARSE_OK);
        assert_int_equal(sparse_mobo_observe(m, q, f), SPARSE_OK);
    }
    size_t idx[16], cnt;
    assert_int_equal(sparse_mobo_pareto(m, idx, &cnt), SPARSE_OK);
    assert_int_equal(cnt, 8); /* all equal: none dominates another */
    sparse_mobo_free(m);
    sparse_space_free(s);
}

/* The scalarisation's scale: best value to median, per objective, so that
 * one collapsed training does not flatten the differences among the rest. */
static void test_objective_scales(void **state)
{
    (void)state;
    /* two objectives: an error with one outlier, a size with ties at the best */
    const double v[] = {0.02, 500, 0.03, 500, 0.025, 500, 0.9, 800, 0.022, 900};
    double lo[2], hi[2];
    assert_int_equal(sparse__gp_objective_scales(v, 5, 2, lo, hi), SPARSE_OK);
    assert_true(lo[0] == 0.02 && hi[0] == 0.025); /* the median, not the 0.9 outlier */
    assert_true(lo[1] == 500 && hi[1] == 900);    /* 3 of 5 tie with the best: the maximum */
    assert_int_equal(sparse__gp_objective_scales(v, 1, 2, lo, hi), SPARSE_OK);
    assert_true(lo[0] == 0.02 && hi[0] == 0.02);
    assert_int_equal(sparse__gp_objective_scales(v, 2, 2, lo, hi), SPARSE_OK);
    assert_true(lo[0] == 0.02 && hi[0] == 0.03); /* lower median ties: the maximum */
    assert_int_equal(sparse__gp_objective_scales(NULL, 0, 2, lo, hi), SPARSE_OK);
    assert_true(lo[0] == 0.0 && hi[0] == 1.0);
}

/* The sampler's fallback for a covariance that rounding made indefinite:
 * S = u u' - eps I has one eigenvalue |u|^2 - eps and m - 1 at -eps, which
 * are clipped, so every sample lies along u with length sqrt(|u|^2 - eps)
 * when all the standard normals are 1. */
static void test_sample_indefinite_covariance(void **state)
{
    (void)state;
    enum { M = 5 };
    const double u[M] = {1.0, 0.5, -0.25, 2.0, 0.75}, eps = 0.05;
    double S[M * M], C[M * M], z[M], uu = 0;
    for (size_t i = 0; i < M; i++) {
        uu += u[i] * u[i];
        z[i] = 1.0;
        for (size_t j = 0; j < M; j++)
            S[i * M + j] = u[i] * u[j] - (i == j ? eps : 0.0);
    }
    assert_int_equal(sparse__gp_correlate_by_eigen(S, M, C, z), SPARSE_OK);
    double zz = 0, zu = 0;
    for (size_t i = 0; i < M; i++) {
        zz += z[i] * z[i];
        zu += z[i] * u[i];
    }
    assert_true(fabs(zz - (uu - eps)) < 1e-9);           /* length */
    assert_true(fabs(zu * zu - zz * uu) < 1e-9 * zz * uu); /* parallel to u */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_encode_decode),
        cmocka_unit_test(test_space_errors),
        cmocka_unit_test(test_space_sample_all),
        cmocka_unit_test(test_predict_matern_vs_sklearn),
        cmocka_unit_test(test_predict_rbf_vs_sklearn),
        cmocka_unit_test(test_fit_lml_vs_sklearn),
        cmocka_unit_test(test_gradients_fd),
        cmocka_unit_test(test_inactive_rule),
        cmocka_unit_test(test_incremental_equals_refit),
        cmocka_unit_test(test_observation_noise),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_gp_bad_inputs),
        cmocka_unit_test(test_gp_duplicates_and_constant),
        cmocka_unit_test(test_pareto),
        cmocka_unit_test(test_hypervolume),
        cmocka_unit_test(test_dirichlet),
        cmocka_unit_test(test_mobo_deterministic),
        cmocka_unit_test(test_mobo_errors),
        cmocka_unit_test(test_mobo_noise_and_pending),
        cmocka_unit_test(test_mobo_known_candidates),
        cmocka_unit_test(test_mobo_degenerate_data),
        cmocka_unit_test(test_objective_scales),
        cmocka_unit_test(test_sample_indefinite_covariance),
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
    return cmocka_run_group_tests(tests, NULL, NULL);
}
