/* The GP's posterior beyond the fixtures: incremental updates equal a
 * refit, observations with noise of their own, joint samples (and the
 * sampler's fallback for an indefinite covariance), and ill-conditioned or
 * non-finite inputs. */
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

#include "gp_shared.h"

extern const struct CMUnitTest posterior_tests[];
extern const size_t posterior_test_count;

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

const struct CMUnitTest posterior_tests[] = {
    cmocka_unit_test(test_incremental_equals_refit),
    cmocka_unit_test(test_observation_noise),
    cmocka_unit_test(test_sample),
    cmocka_unit_test(test_gp_bad_inputs),
    cmocka_unit_test(test_gp_duplicates_and_constant),
    cmocka_unit_test(test_sample_indefinite_covariance),
};
const size_t posterior_test_count = sizeof posterior_tests / sizeof posterior_tests[0];
