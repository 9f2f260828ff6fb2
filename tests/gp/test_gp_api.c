/* GP module: every argument and option check of the space, GP and MOBO API
 * gives its documented status and a message naming the function and the
 * argument, option or variable; a refused call changes nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/sparse.h>

#include "../expect.h"
#include "gp_api.h"

void test_space_api_errors(void **state)
{
    (void)state;
    sparse_space *s = NULL, *c = NULL;
    EXPECT_ERROR(sparse_space_create(NULL), SPARSE_EINVAL, "sparse_space_create", "'out'");
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    EXPECT_ERROR(sparse_space_clone(NULL, s), SPARSE_EINVAL, "sparse_space_clone", "'out'");
    EXPECT_ERROR(sparse_space_clone(&c, NULL), SPARSE_EINVAL, "sparse_space_clone", "'space'");
    assert_int_equal(sparse_space_clone(&c, s), SPARSE_OK); /* an empty space clones */
    assert_int_equal(sparse_space_var_count(c), 0);
    sparse_space_free(c);

    EXPECT_ERROR(sparse_space_add_real(NULL, "x", 0, 1, 0, NULL), SPARSE_EINVAL, "sparse_space_add_real", "'space'");
    EXPECT_ERROR(sparse_space_add_real(s, "x", 1, 1, 0, NULL), SPARSE_EINVAL, "'x': need finite lo < hi (got 1, 1)");
    EXPECT_ERROR(sparse_space_add_real(s, "x", 0, INFINITY, 0, NULL), SPARSE_EINVAL, "need finite lo < hi");
    EXPECT_ERROR(sparse_space_add_real(s, "x", NAN, 1, 0, NULL), SPARSE_EINVAL, "need finite lo < hi");
    EXPECT_ERROR(sparse_space_add_real(s, NULL, 2, 1, 0, NULL), SPARSE_EINVAL, "sparse_space_add_real '?'");
    EXPECT_ERROR(sparse_space_add_real(s, "x", 0, 1, 1, NULL), SPARSE_EINVAL, "'x': log scale needs lo > 0 (got 0)");
    EXPECT_ERROR(sparse_space_add_real(s, NULL, 0, 1, 0, NULL), SPARSE_EINVAL, "variable name is NULL or empty");
    EXPECT_ERROR(sparse_space_add_real(s, "", 0, 1, 0, NULL), SPARSE_EINVAL, "variable name is NULL or empty");
    EXPECT_ERROR(sparse_space_add_int(NULL, "n", 0, 1, 0, NULL), SPARSE_EINVAL, "sparse_space_add_int", "'space'");
    EXPECT_ERROR(sparse_space_add_int(s, "n", 2, 1, 0, NULL), SPARSE_EINVAL, "sparse_space_add_int 'n': lo 2 > hi 1");
    EXPECT_ERROR(sparse_space_add_int(s, "n", 0, 4, 1, NULL), SPARSE_EINVAL, "'n': log scale needs lo >= 1 (got 0)");
    EXPECT_ERROR(sparse_space_add_categorical(NULL, "k", 2, NULL), SPARSE_EINVAL, "sparse_space_add_categorical");
    EXPECT_ERROR(sparse_space_add_categorical(s, "k", 0, NULL), SPARSE_EINVAL, "'k': no choices");
    assert_int_equal(sparse_space_var_count(s), 0);

    size_t ir, in, ik;
    assert_int_equal(sparse_space_add_real(s, "r", 0.5, 2.0, 0, &ir), SPARSE_OK);
    assert_int_equal(sparse_space_add_int(s, "n", 1, 4, 0, &in), SPARSE_OK);
    assert_int_equal(sparse_space_add_categorical(s, "k", 3, &ik), SPARSE_OK);
    EXPECT_ERROR(sparse_space_add_int(s, "r", 1, 4, 0, NULL), SPARSE_EINVAL, "variable 'r' already exists");
    const double one = 1.0;
    EXPECT_ERROR(sparse_space_set_condition(NULL, ik, in, &one, 1), SPARSE_EINVAL, "sparse_space_set_condition");
    EXPECT_ERROR(sparse_space_set_condition(s, ik, in, NULL, 1), SPARSE_EINVAL, "'values'");
    EXPECT_ERROR(sparse_space_set_condition(s, 3, in, &one, 1), SPARSE_ERANGE, "variable 3 of 3");
    EXPECT_ERROR(sparse_space_set_condition(s, in, ik, &one, 1), SPARSE_EINVAL, "parent 2 of 'n' must be added before it");
    EXPECT_ERROR(sparse_space_set_condition(s, ik, ir, &one, 1), SPARSE_EINVAL, "parent 'r' of 'k' is real");
    EXPECT_ERROR(sparse_space_set_condition(s, ik, in, &one, 0), SPARSE_EINVAL, "'k': no parent values");
    assert_int_equal(sparse_space_has_conditions(s), 0);

    /* getters */
    assert_int_equal(sparse_space_var_count(NULL), 0);
    assert_int_equal(sparse_space_encoded_dim(NULL), 0);
    assert_int_equal(sparse_space_has_conditions(NULL), 0);
    assert_null(sparse_space_var_name(s, 3));
    assert_null(sparse_space_var_name(NULL, 0));
    size_t idx = 99;
    EXPECT_ERROR(sparse_space_find(NULL, "r", &idx), SPARSE_EINVAL, "sparse_space_find", "'space'");
    EXPECT_ERROR(sparse_space_find(s, NULL, &idx), SPARSE_EINVAL, "sparse_space_find", "'name'");
    EXPECT_ERROR(sparse_space_find(s, "zz", &idx), SPARSE_ENOTFOUND, "'zz'");
    assert_int_equal(sparse_space_find(s, "k", NULL), SPARSE_OK); /* index may be NULL */
    assert_int_equal(idx, 99);
    sparse_var_kind kind;
    EXPECT_ERROR(sparse_space_var_kind(NULL, 0, &kind), SPARSE_EINVAL, "sparse_space_var_kind", "'space'");
    EXPECT_ERROR(sparse_space_var_kind(s, 0, NULL), SPARSE_EINVAL, "sparse_space_var_kind", "'kind'");
    EXPECT_ERROR(sparse_space_var_kind(s, 3, &kind), SPARSE_ERANGE, "sparse_space_var_kind");
    assert_int_equal(sparse_space_var_kind(s, ik, &kind), SPARSE_OK);
    assert_int_equal(kind, SPARSE_VAR_CATEGORICAL);
    double lo = 0, hi = 0;
    EXPECT_ERROR(sparse_space_var_bounds(NULL, 0, &lo, &hi), SPARSE_EINVAL, "sparse_space_var_bounds");
    EXPECT_ERROR(sparse_space_var_bounds(s, 3, &lo, &hi), SPARSE_ERANGE, "sparse_space_var_bounds");
    assert_int_equal(sparse_space_var_bounds(s, ik, NULL, &hi), SPARSE_OK);
    assert_true(hi == 2.0);
    assert_int_equal(sparse_space_var_bounds(s, ir, &lo, NULL), SPARSE_OK);
    assert_true(lo == 0.5);

    /* points */
    double p[3] = {1.0, 2.0, 1.0}, x[5], q[3];
    int act[3];
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 7), SPARSE_OK);
    EXPECT_ERROR(sparse_space_active(NULL, p, act), SPARSE_EINVAL, "sparse_space_active", "'space'");
    EXPECT_ERROR(sparse_space_active(s, NULL, act), SPARSE_EINVAL, "sparse_space_active", "'point'");
    EXPECT_ERROR(sparse_space_active(s, p, NULL), SPARSE_EINVAL, "sparse_space_active", "'active'");
    EXPECT_ERROR(sparse_space_validate(NULL, p), SPARSE_EINVAL, "sparse_space_validate", "'space'");
    EXPECT_ERROR(sparse_space_validate(s, NULL), SPARSE_EINVAL, "sparse_space_validate", "'point'");
    p[0] = NAN;
    EXPECT_ERROR(sparse_space_validate(s, p), SPARSE_ERANGE, "variable 'r' (index 0) is not finite");
    p[0] = 2.5;
    EXPECT_ERROR(sparse_space_validate(s, p), SPARSE_ERANGE, "variable 'r' (index 0) = 2.5 outside [0.5, 2]");
    p[0] = 0.25;
    EXPECT_ERROR(sparse_space_validate(s, p), SPARSE_ERANGE, "= 0.25 outside");
    p[0] = 1.0;
    p[1] = 2.5;
    EXPECT_ERROR(sparse_space_validate(s, p), SPARSE_ERANGE, "variable 'n' (index 1) = 2.5 is not an integer");
    p[1] = 2.0;
    assert_int_equal(sparse_space_validate(s, p), SPARSE_OK);
    EXPECT_ERROR(sparse_space_encode(NULL, p, x), SPARSE_EINVAL, "sparse_space_encode", "'space'");
    EXPECT_ERROR(sparse_space_encode(s, NULL, x), SPARSE_EINVAL, "sparse_space_encode", "'point'");
    EXPECT_ERROR(sparse_space_encode(s, p, NULL), SPARSE_EINVAL, "sparse_space_encode", "'x'");
    p[0] = INFINITY;
    EXPECT_ERROR(sparse_space_encode(s, p, x), SPARSE_EINVAL, "variable 'r' (index 0) is active but not finite");
    p[0] = 1.0;
    p[2] = 3.0;
    EXPECT_ERROR(sparse_space_encode(s, p, x), SPARSE_ERANGE, "variable 'k' choice 3 not in [0, 3)");
    p[2] = -1.0;
    EXPECT_ERROR(sparse_space_encode(s, p, x), SPARSE_ERANGE, "variable 'k' choice -1");
    /* out-of-bounds reals and integers encode clamped to [0, 1] */
    p[0] = 9.0;
    p[1] = -3.0;
    p[2] = 1.0;
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(x[0] == 1.0 && x[1] == 0.0);
    EXPECT_ERROR(sparse_space_decode(NULL, x, q), SPARSE_EINVAL, "sparse_space_decode", "'space'");
    EXPECT_ERROR(sparse_space_decode(s, NULL, q), SPARSE_EINVAL, "sparse_space_decode", "'x'");
    EXPECT_ERROR(sparse_space_decode(s, x, NULL), SPARSE_EINVAL, "sparse_space_decode", "'point'");
    x[0] = -0.5; /* decoding clamps too */
    x[1] = 1.5;
    assert_int_equal(sparse_space_decode(s, x, q), SPARSE_OK);
    assert_true(q[0] == 0.5 && q[1] == 4.0 && q[2] == 1.0);
    EXPECT_ERROR(sparse_space_sample(NULL, rng, q), SPARSE_EINVAL, "sparse_space_sample", "'space'");
    EXPECT_ERROR(sparse_space_sample(s, NULL, q), SPARSE_EINVAL, "sparse_space_sample", "'rng'");
    EXPECT_ERROR(sparse_space_sample(s, rng, NULL), SPARSE_EINVAL, "sparse_space_sample", "'point'");
    EXPECT_ERROR(sparse_space_sample_all(NULL, rng, q), SPARSE_EINVAL, "sparse_space_sample_all", "'space'");
    EXPECT_ERROR(sparse_space_sample_all(s, NULL, q), SPARSE_EINVAL, "sparse_space_sample_all", "'rng'");
    EXPECT_ERROR(sparse_space_sample_all(s, rng, NULL), SPARSE_EINVAL, "sparse_space_sample_all", "'point'");
    EXPECT_ERROR(sparse_space_mutate(NULL, rng, p, 0.5, 0.1, q), SPARSE_EINVAL, "sparse_space_mutate", "'space'");
    EXPECT_ERROR(sparse_space_mutate(s, NULL, p, 0.5, 0.1, q), SPARSE_EINVAL, "sparse_space_mutate", "'rng'");
    EXPECT_ERROR(sparse_space_mutate(s, rng, NULL, 0.5, 0.1, q), SPARSE_EINVAL, "sparse_space_mutate", "'point'");
    EXPECT_ERROR(sparse_space_mutate(s, rng, p, 0.5, 0.1, NULL), SPARSE_EINVAL, "sparse_space_mutate", "'out'");
    sparse_space_free(s);

    /* an empty space: mutation has nothing to change */
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_mutate(s, rng, p, 0.5, 0.1, q), SPARSE_OK);
    sparse_space_free(s);
    sparse_rng_free(rng);
}

void test_gp_api_errors(void **state)
{
    (void)state;
    sparse_gp *gp = NULL;
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    EXPECT_ERROR(sparse_gp_create(NULL, 1, NULL), SPARSE_EINVAL, "sparse_gp_create", "'out'");
    EXPECT_ERROR(sparse_gp_create(&gp, 0, NULL), SPARSE_EINVAL, "sparse_gp_create: dim is 0");
    o.kernel = 7;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "sparse_gp_options.kernel: unknown kernel 7");
    o.kernel = SPARSE_KERNEL_RBF;
    o.restarts = 0;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "restarts (0) and max_iter (100) must be >= 1");
    o.restarts = 1;
    o.max_iter = 0;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "restarts (1) and max_iter (0)");
    o.max_iter = 10;
    o.noise_min = -1;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "sparse_gp_options.noise_min: -1");
    o.noise_min = INFINITY;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "sparse_gp_options.noise_min: inf");
    o.noise_min = 0.5; /* above the default noise: the starting noise is noise_min */
    o.jitter = 0;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "sparse_gp_options.jitter: 0 not in (0, 1e-2)");
    o.jitter = 0.5;
    EXPECT_ERROR(sparse_gp_create(&gp, 1, &o), SPARSE_EINVAL, "sparse_gp_options.jitter: 0.5");
    assert_null(gp);
    o.jitter = 1e-8;
    o.normalize_y = 0;
    assert_int_equal(sparse_gp_create(&gp, 2, &o), SPARSE_OK);
    double ls[2], sf2 = 0, noise = 0;
    assert_int_equal(sparse_gp_get_hyper(gp, ls, &sf2, &noise), SPARSE_OK);
    assert_true(noise == 0.5 && sf2 == 1.0 && ls[0] == 0.5);

    assert_int_equal(sparse_gp_dim(NULL), 0);
    assert_int_equal(sparse_gp_observation_count(NULL), 0);
    assert_true(sparse_gp_jitter(NULL) == 0.0);
    const double X[4] = {0.1, 0.2, 0.7, 0.9}, y[2] = {1.0, -1.0};
    EXPECT_ERROR(sparse_gp_set_data(NULL, 2, X, y), SPARSE_EINVAL, "sparse_gp_set_data", "'gp'");
    EXPECT_ERROR(sparse_gp_set_data(gp, 2, NULL, y), SPARSE_EINVAL, "sparse_gp_set_data", "'X'");
    EXPECT_ERROR(sparse_gp_set_data(gp, 2, X, NULL), SPARSE_EINVAL, "sparse_gp_set_data", "'y'");
    EXPECT_ERROR(sparse_gp_add(NULL, X, 1.0), SPARSE_EINVAL, "sparse_gp_add", "'gp'");
    EXPECT_ERROR(sparse_gp_add(gp, NULL, 1.0), SPARSE_EINVAL, "sparse_gp_add", "'x'");
    const double bad_ls[2] = {0.5, 0.0}, inf_ls[2] = {INFINITY, 1.0};
    EXPECT_ERROR(sparse_gp_set_hyper(NULL, ls, 1, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper", "'gp'");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, NULL, 1, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper", "'lengthscales'");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, bad_ls, 1, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, inf_ls, 1, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, ls, 0, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, ls, NAN, 0.1), SPARSE_EINVAL, "sparse_gp_set_hyper");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, ls, 1, -0.1), SPARSE_EINVAL, "sparse_gp_set_hyper");
    EXPECT_ERROR(sparse_gp_set_hyper(gp, ls, 1, INFINITY), SPARSE_EINVAL, "sparse_gp_set_hyper");
    assert_int_equal(sparse_gp_get_hyper(gp, ls, &sf2, &noise), SPARSE_OK); /* unchanged */
    assert_true(noise == 0.5 && sf2 == 1.0 && ls[1] == 0.5);
    EXPECT_ERROR(sparse_gp_get_hyper(NULL, ls, &sf2, &noise), SPARSE_EINVAL, "sparse_gp_get_hyper", "'gp'");
    assert_int_equal(sparse_gp_get_hyper(gp, NULL, NULL, NULL), SPARSE_OK);
    double lml, mean[2], var[2];
    EXPECT_ERROR(sparse_gp_log_marginal_likelihood(NULL, &lml), SPARSE_EINVAL, "sparse_gp_log_marginal_likelihood");
    EXPECT_ERROR(sparse_gp_log_marginal_likelihood(gp, NULL), SPARSE_EINVAL, "'lml'");
    EXPECT_ERROR(sparse_gp_predict(NULL, 2, X, mean, var), SPARSE_EINVAL, "sparse_gp_predict", "'gp'");
    EXPECT_ERROR(sparse_gp_predict(gp, 2, NULL, mean, var), SPARSE_EINVAL, "sparse_gp_predict", "'Xs'");
    EXPECT_ERROR(sparse_gp_predict(gp, 2, X, NULL, var), SPARSE_EINVAL, "sparse_gp_predict", "'mean'");
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 3), SPARSE_OK);
    double out[2];
    EXPECT_ERROR(sparse_gp_sample(NULL, 2, X, rng, out), SPARSE_EINVAL, "sparse_gp_sample", "'gp'");
    EXPECT_ERROR(sparse_gp_sample(gp, 2, NULL, rng, out), SPARSE_EINVAL, "sparse_gp_sample", "'Xs'");
    EXPECT_ERROR(sparse_gp_sample(gp, 2, X, NULL, out), SPARSE_EINVAL, "sparse_gp_sample", "'rng'");
    EXPECT_ERROR(sparse_gp_sample(gp, 2, X, rng, NULL), SPARSE_EINVAL, "sparse_gp_sample", "'out'");
    EXPECT_ERROR(sparse_gp_fit(NULL, rng), SPARSE_EINVAL, "sparse_gp_fit", "'gp'");

    /* no data: the prior (mean 0, variance signal_var), and a prior sample */
    assert_int_equal(sparse_gp_predict(gp, 2, X, mean, var), SPARSE_OK);
    assert_true(mean[0] == 0.0 && mean[1] == 0.0 && var[0] == 1.0 && var[1] == 1.0);
    assert_int_equal(sparse_gp_predict(gp, 0, X, mean, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_sample(gp, 2, X, rng, out), SPARSE_OK);
    assert_true(isfinite(out[0]) && isfinite(out[1]) && out[0] != out[1]);
    /* with data and without normalisation, means go through the data */
    assert_int_equal(sparse_gp_set_data(gp, 2, X, y), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(gp, 2, X, mean, NULL), SPARSE_OK);
    assert_true(fabs(mean[0] - 1.0) < 0.4 && fabs(mean[1] + 1.0) < 0.4);
    assert_int_equal(sparse_gp_set_data(gp, 0, NULL, NULL), SPARSE_OK); /* n = 0 clears */
    assert_int_equal(sparse_gp_observation_count(gp), 0);
    sparse_gp_free(gp);
    sparse_rng_free(rng);
}

void test_mobo_api_errors(void **state)
{
    (void)state;
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "r", 0.0, 1.0, 0, NULL), SPARSE_OK);
    sparse_mobo *m = NULL;
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    EXPECT_ERROR(sparse_mobo_create(NULL, s, 2, NULL, NULL, 1), SPARSE_EINVAL, "sparse_mobo_create", "'out'");
    EXPECT_ERROR(sparse_mobo_create(&m, NULL, 2, NULL, NULL, 1), SPARSE_EINVAL, "sparse_mobo_create", "'space'");
    o.scalarization = 5;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "sparse_mobo_options.scalarization: 5");
    o.scalarization = SPARSE_SCALAR_BOX;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "BOX needs lambda_lo and lambda_hi");
    const double lo[2] = {0.0, 0.5}, hi_bad[2] = {1.0, 0.25}, hi_nan[2] = {NAN, 1.0}, zero[2] = {0.0, 0.0};
    const double neg[2] = {-1.0, 0.0}, hi[2] = {1.0, 1.0};
    o.lambda_lo = lo;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "BOX needs lambda_lo and lambda_hi");
    o.lambda_hi = hi_bad;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "lambda box 1 is [0.5, 0.25]");
    o.lambda_hi = hi_nan;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "lambda box 0 is [0, nan]");
    o.lambda_lo = neg;
    o.lambda_hi = hi;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "lambda box 0 is [-1, 1]");
    o.lambda_lo = zero;
    o.lambda_hi = zero;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "lambda box upper bounds sum to 0");
    o.lambda_hi = hi;
    o.candidate_count = 0;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "candidate_count is 0");
    o.candidate_count = 50;
    o.local_fraction = 1.5;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "local_fraction 1.5 not in [0, 1]");
    o.local_fraction = NAN;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "local_fraction nan");
    o.local_fraction = 0.5;
    o.refit_every = 0;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "refit_every and restarts must be >= 1");
    o.refit_every = 1;
    o.restarts = 0;
    EXPECT_ERROR(sparse_mobo_create(&m, s, 2, NULL, &o, 1), SPARSE_EINVAL, "refit_every and restarts");
    o.restarts = 1;
    assert_null(m);

    /* a box that pins the weights: lambda is always (0, 1) normalised */
    const int logobj[2] = {0, 1};
    assert_int_equal(sparse_mobo_create(&m, s, 2, logobj, &o, 1), SPARSE_OK);
    const double p[1] = {0.5}, v_nan[2] = {NAN, 1.0}, v_inf[2] = {1.0, INFINITY}, v_neg[2] = {1.0, -2.0};
    EXPECT_ERROR(sparse_mobo_observe(NULL, p, hi), SPARSE_EINVAL, "sparse_mobo_observe", "'m'");
    EXPECT_ERROR(sparse_mobo_observe(m, NULL, hi), SPARSE_EINVAL, "sparse_mobo_observe", "'point'");
    EXPECT_ERROR(sparse_mobo_observe(m, p, NULL), SPARSE_EINVAL, "sparse_mobo_observe", "'values'");
    EXPECT_ERROR(sparse_mobo_observe(m, p, v_nan), SPARSE_ENUMERIC, "observation 0 objective 0 is NaN");
    EXPECT_ERROR(sparse_mobo_observe(m, p, v_inf), SPARSE_ENUMERIC, "observation 0 objective 1 is infinite");
    EXPECT_ERROR(sparse_mobo_observe(m, p, v_neg), SPARSE_EINVAL, "objective 1 = -2 must be > 0 (log-scaled)");
    assert_int_equal(sparse_mobo_observation_count(m), 0);
    assert_int_equal(sparse_mobo_observation_count(NULL), 0);
    double q[1], lambda[2];
    size_t chosen = 0, idx[4], count = 9;
    EXPECT_ERROR(sparse_mobo_propose(NULL, 0, NULL, q, NULL, NULL), SPARSE_EINVAL, "sparse_mobo_propose", "'m'");
    EXPECT_ERROR(sparse_mobo_propose(m, 0, NULL, NULL, NULL, NULL), SPARSE_EINVAL, "sparse_mobo_propose",
                 "'point_out'");
    EXPECT_ERROR(sparse_mobo_propose(m, 0, p, q, &chosen, NULL), SPARSE_EINVAL, "empty candidate set");
    assert_int_equal(chosen, SIZE_MAX);
    EXPECT_ERROR(sparse_mobo_pareto(NULL, idx, &count), SPARSE_EINVAL, "sparse_mobo_pareto", "'m'");
    EXPECT_ERROR(sparse_mobo_pareto(m, idx, NULL), SPARSE_EINVAL, "sparse_mobo_pareto", "'count'");
    assert_int_equal(sparse_mobo_pareto(m, idx, &count), SPARSE_OK);
    assert_int_equal(count, 0);
    /* before min_observations: random, with the box's weights */
    assert_int_equal(sparse_mobo_propose(m, 0, NULL, q, &chosen, lambda), SPARSE_OK);
    assert_true(q[0] >= 0.0 && q[0] <= 1.0 && chosen == SIZE_MAX);
    assert_true(lambda[0] >= 0.0 && lambda[1] >= 0.5 / 1.5 && fabs(lambda[0] + lambda[1] - 1.0) < 1e-12);
    sparse_mobo_free(m);
    sparse_space_free(s);
}

/* Pareto ranks, fronts and hypervolumes: argument checks naming the
 * function and what is wrong; the one-objective hypervolume and an empty
 * set. */
void test_pareto_api_errors(void **state)
{
    (void)state;
    const double F[6] = {1, 2, 2, 1, 3, 3}, nanF[2] = {1, NAN}, ref[3] = {4, 4, 4}, inf_ref[2] = {4, INFINITY};
    size_t rank[3], idx[3], count = 9;
    double hv = -1;
    EXPECT_ERROR(sparse_pareto_rank(3, 0, F, rank), SPARSE_EINVAL, "sparse_pareto_rank: no objectives");
    EXPECT_ERROR(sparse_pareto_rank(3, 2, NULL, rank), SPARSE_EINVAL, "sparse_pareto_rank: F is NULL");
    EXPECT_ERROR(sparse_pareto_rank(3, 2, F, NULL), SPARSE_EINVAL, "sparse_pareto_rank: rank is NULL");
    EXPECT_ERROR(sparse_pareto_rank(1, 2, nanF, rank), SPARSE_ENUMERIC, "row 0 objective 1 is NaN");
    assert_int_equal(sparse_pareto_rank(3, 2, F, rank), SPARSE_OK);
    assert_true(rank[0] == 0 && rank[1] == 0 && rank[2] == 1);
    assert_int_equal(sparse_pareto_rank(0, 2, NULL, NULL), SPARSE_OK);
    EXPECT_NULL_ARG(sparse_pareto_front(3, 2, F, idx, NULL), "sparse_pareto_front", "count");
    EXPECT_ERROR(sparse_pareto_front(3, 2, F, NULL, &count), SPARSE_EINVAL, "sparse_pareto_front: idx is NULL");
    assert_int_equal(count, 0);
    EXPECT_ERROR(sparse_pareto_front(1, 2, nanF, idx, &count), SPARSE_ENUMERIC, "sparse_pareto_front: row 0");
    EXPECT_NULL_ARG(sparse_hypervolume(3, 2, F, ref, NULL), "sparse_hypervolume", "hv");
    EXPECT_NULL_ARG(sparse_hypervolume(3, 2, F, NULL, &hv), "sparse_hypervolume", "ref");
    assert_true(hv == 0.0);
    const double F4[4] = {1, 1, 1, 1}, ref4[4] = {2, 2, 2, 2};
    EXPECT_ERROR(sparse_hypervolume(1, 4, F4, ref4, &hv), SPARSE_EUNSUPPORTED,
                 "sparse_hypervolume: 4 objectives (exact only for 1 to 3)");
    EXPECT_ERROR(sparse_hypervolume(3, 2, F, inf_ref, &hv), SPARSE_EINVAL, "sparse_hypervolume: ref[1] not finite");
    /* one objective: the best value's distance to ref */
    const double F1[3] = {3, 1.5, 5};
    assert_int_equal(sparse_hypervolume(3, 1, F1, ref, &hv), SPARSE_OK);
    assert_true(hv == 2.5);
    assert_int_equal(sparse_hypervolume(0, 2, NULL, ref, &hv), SPARSE_OK);
    assert_true(hv == 0.0);
}
