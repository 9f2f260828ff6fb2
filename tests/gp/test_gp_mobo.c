/* Multi-objective optimisation: Pareto ranks and fronts, hypervolumes,
 * Dirichlet scalarisation weights, the MOBO driver (determinism, errors,
 * noisy and pending observations, known candidates, degenerate data) and
 * the scalarisation's objective scales. */
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

extern const struct CMUnitTest mobo_tests[];
extern const size_t mobo_test_count;

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
    o.broad_share = 1.5;
    assert_int_equal(sparse_mobo_create(&m, s, 2, logs, &o, 1), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "broad_share 1.5 not in [0, 1]"));
    o.broad_share = NAN;
    assert_int_equal(sparse_mobo_create(&m, s, 2, logs, &o, 1), SPARSE_EINVAL);
    assert_null(m);
    sparse_space_free(s);
}

/* The proposals' weights with a box that pins them to (1, 0): none leaves
 * it without a broad share, about that share of them with one (flat
 * Dirichlet draws, never exactly on the box's corner), and every lambda
 * sums to one. A version-1 options struct has no share. */
static int weights_off_the_box(double share, unsigned version)
{
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 0, NULL), SPARSE_OK);
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.version = version;
    o.scalarization = SPARSE_SCALAR_BOX;
    double lo[2] = {1, 0}, hi[2] = {1, 0}, lam[2], p;
    o.lambda_lo = lo;
    o.lambda_hi = hi;
    o.broad_share = share;
    sparse_mobo *m = NULL;
    assert_int_equal(sparse_mobo_create(&m, s, 2, NULL, &o, 7), SPARSE_OK);
    int off = 0;
    for (int i = 0; i < 400; i++) {
        assert_int_equal(sparse_mobo_propose(m, 0, NULL, &p, NULL, lam), SPARSE_OK);
        assert_true(fabs(lam[0] + lam[1] - 1) < 1e-12 && lam[1] >= 0);
        off += lam[1] > 0;
    }
    sparse_mobo_free(m);
    sparse_space_free(s);
    return off;
}

static void test_mobo_broad_share(void **state)
{
    (void)state;
    assert_int_equal(weights_off_the_box(0, SPARSE_MOBO_OPTIONS_VERSION), 0);
    assert_int_equal(weights_off_the_box(1, SPARSE_MOBO_OPTIONS_VERSION), 400);
    int quarter = weights_off_the_box(0.25, SPARSE_MOBO_OPTIONS_VERSION);
    assert_true(quarter > 70 && quarter < 130); /* 100 expected, sd 8.7 */
    assert_int_equal(weights_off_the_box(1, 1), 0);
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

const struct CMUnitTest mobo_tests[] = {
    cmocka_unit_test(test_pareto),
    cmocka_unit_test(test_hypervolume),
    cmocka_unit_test(test_dirichlet),
    cmocka_unit_test(test_mobo_deterministic),
    cmocka_unit_test(test_mobo_errors),
    cmocka_unit_test(test_mobo_broad_share),
    cmocka_unit_test(test_mobo_noise_and_pending),
    cmocka_unit_test(test_mobo_known_candidates),
    cmocka_unit_test(test_mobo_degenerate_data),
    cmocka_unit_test(test_objective_scales),
};
const size_t mobo_test_count = sizeof mobo_tests / sizeof mobo_tests[0];
