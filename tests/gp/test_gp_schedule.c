/* The hyper-parameter schedule (sparse_exp_gp_schedule): its points, the
 * subset of data, and proposals that depend on the observations alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gp/gp_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"

#include "gp_api.h"

void test_schedule_points(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 32; n++)
        assert_int_equal(sparse_exp_gp_schedule_point(n), n);
    assert_int_equal(sparse_exp_gp_schedule_point(33), 32);
    assert_int_equal(sparse_exp_gp_schedule_point(39), 32);
    assert_int_equal(sparse_exp_gp_schedule_point(40), 40);
    size_t points = 0, last = 0;
    for (size_t n = 1; n <= 5000; n++) {
        size_t p = sparse_exp_gp_schedule_point(n);
        assert_true(p <= n && p >= last);
        assert_int_equal(sparse_exp_gp_schedule_point(p), p);
        if (p != last) {
            /* Past 32 a refit comes when the data grew by about a quarter. */
            if (last >= 32)
                assert_true(p == (size_t)ceil(1.25 * (double)last));
            points++;
            last = p;
        }
    }
    /* 32 dense points, then about log(5000 / 32) / log(1.25) = 23. */
    assert_true(points >= 50 && points <= 58);
}

void test_schedule_subset(void **state)
{
    (void)state;
    size_t idx[100];
    assert_int_equal(sparse__gp_subset(7, 10, idx), 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(idx[i], i);
    assert_int_equal(sparse__gp_subset(1000, 100, idx), 100);
    for (size_t i = 1; i < 100; i++)
        assert_true(idx[i] > idx[i - 1]);
    assert_int_equal(idx[0], 0);
    for (size_t i = 50; i < 100; i++)
        assert_int_equal(idx[i], 950 + (i - 50));
    /* The older half is spread over the older observations. */
    assert_true(idx[49] >= 900 && idx[49] < 950);
}

static double fun(const double *x, size_t j)
{
    double a = sin(3 * x[0]) + x[1] * x[1] - 0.5 * x[2];
    return exp(j == 0 ? a : -0.5 * a + x[0]);
}

/* n proposals, each by a fresh driver over the observations so far (as a
 * search makes them) with schedule s, from the n0-th on: points (n x 3)
 * holds the observations before n0 and receives the proposals. */
static void propose_run(sparse_exp_gp_schedule *s, size_t n0, size_t n, double *points)
{
    sparse_space *space = NULL;
    assert_int_equal(sparse_space_create(&space), SPARSE_OK);
    for (int d = 0; d < 3; d++) {
        char name[8] = {'x', (char)('0' + d), 0};
        assert_int_equal(sparse_space_add_real(space, name, 0, 1, 0, NULL), SPARSE_OK);
    }
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.candidate_count = 64;
    o.restarts = 2;
    for (size_t t = n0; t < n; t++) {
        sparse_mobo *m = NULL;
        assert_int_equal(sparse_mobo_create(&m, space, 2, NULL, &o, 1000 + t), SPARSE_OK);
        assert_int_equal(sparse_exp_mobo_set_schedule(m, s), SPARSE_OK);
        for (size_t i = 0; i < t; i++) {
            double f[2] = {fun(points + 3 * i, 0), fun(points + 3 * i, 1)};
            assert_int_equal(sparse_mobo_observe(m, points + 3 * i, f), SPARSE_OK);
        }
        assert_int_equal(sparse_mobo_propose(m, 0, NULL, points + 3 * t, NULL, NULL), SPARSE_OK);
        sparse_mobo_free(m);
    }
    sparse_space_free(space);
}

void test_schedule_resume(void **state)
{
    (void)state;
    enum { N = 48, R = 44 };
    double a[3 * N], b[3 * N];
    sparse_exp_gp_schedule *sa = NULL, *sb = NULL;
    assert_int_equal(sparse_exp_gp_schedule_create(&sa, 5), SPARSE_OK);
    assert_int_equal(sparse_exp_gp_schedule_create(&sb, 5), SPARSE_OK);
    propose_run(sa, 0, N, a);
    /* A run resumed at R with no fits memoised proposes the same points. */
    memcpy(b, a, sizeof b);
    memset(b + 3 * R, 0, sizeof b - 3 * R * sizeof *b);
    propose_run(sb, R, N, b);
    assert_memory_equal(a, b, sizeof a);
    /* The fits a running schedule memoised are those a fresh one makes
     * (the chain from the first point), bit for bit, and not the defaults. */
    double h1[2 * 5], h2[2 * 5];
    double tv[2 * R], tn[2 * R];
    for (size_t i = 0; i < R; i++) {
        tv[2 * i] = fun(a + 3 * i, 0);
        tv[2 * i + 1] = fun(a + 3 * i, 1);
        tn[2 * i] = tn[2 * i + 1] = 0;
    }
    sparse__gp_obs o = {R, 2, 3, a, tv, tn};
    sparse_gp_options go = SPARSE_GP_OPTIONS_INIT;
    go.restarts = 2;
    sparse_exp_gp_schedule *fresh = NULL;
    assert_int_equal(sparse_exp_gp_schedule_create(&fresh, 5), SPARSE_OK);
    assert_int_equal(sparse__gp_schedule_hyper(sa, &o, &go, h1), SPARSE_OK);
    assert_int_equal(sparse__gp_schedule_hyper(fresh, &o, &go, h2), SPARSE_OK);
    assert_memory_equal(h1, h2, sizeof h1);
    assert_true(h1[0] != 0.5 && h1[5] != 0.5);
    sparse_exp_gp_schedule_free(fresh);
    sparse_exp_gp_schedule_free(sa);
    sparse_exp_gp_schedule_free(sb);
    sparse_exp_gp_schedule_free(NULL);
}

/* N rows in 3 dimensions, every fourth with a noise of its own. */
static void chain_rows(size_t N, double *X, double *y, double *nv)
{
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 31), SPARSE_OK);
    for (size_t i = 0; i < N; i++) {
        for (int d = 0; d < 3; d++)
            X[3 * i + d] = sparse_rng_uniform(rng);
        y[i] = fun(X + 3 * i, 0);
        nv[i] = i % 4 ? 0.0 : 0.02;
    }
    sparse_rng_free(rng);
}

/* A chain (the base's factor, then rows one at a time) equals a fresh
 * factor of all its rows to 1e-10 relative; extended by driver after
 * driver (each borrowing it and giving it back with a pending point on it)
 * it is bit for bit the chain a schedule without it builds (a resumed
 * run); rows that are no longer a prefix build it again. */
void test_schedule_chain(void **state)
{
    (void)state;
    enum { N = 300, NB = 256 };
    static double X[3 * N], y[N], nv[N];
    chain_rows(N, X, y, nv);
    double theta[5] = {0.4, 0.7, 1.1, 1.3, 1e-3};
    sparse_gp_options go = SPARSE_GP_OPTIONS_INIT;
    go.normalize_y = 0; /* the fresh GP then standardises alike */
    sparse_exp_gp_schedule *warm = NULL, *cold = NULL;
    assert_int_equal(sparse_exp_gp_schedule_create(&warm, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_gp_schedule_create(&cold, 1), SPARSE_OK);
    sparse_gp *a = NULL, *b = NULL, *f = NULL;
    assert_int_equal(sparse_gp_create(&a, 3, &go), SPARSE_OK);
    assert_int_equal(sparse_gp_create(&b, 3, &go), SPARSE_OK);
    assert_int_equal(sparse_gp_create(&f, 3, &go), SPARSE_OK);
    /* Drivers one after another, each borrowing the chain and giving it
     * back with pending points on it. */
    for (size_t ns = NB; ns <= N; ns += 11) {
        sparse_gp *d = NULL;
        double xp[3] = {0.5, 0.5, 0.5};
        assert_int_equal(sparse_gp_create(&d, 3, &go), SPARSE_OK);
        assert_int_equal(sparse__gp_schedule_chain(warm, 0, &go, 3, theta, NB, NB, ns, X, y, nv, &d), SPARSE_OK);
        assert_int_equal(sparse__gp_add_believers(d, 1, xp, 0.0), SPARSE_OK);
        sparse__gp_schedule_return(warm, 0, d);
    }
    assert_int_equal(sparse__gp_schedule_chain(warm, 0, &go, 3, theta, NB, NB, N, X, y, nv, &a), SPARSE_OK);
    assert_int_equal(sparse__gp_schedule_chain(cold, 0, &go, 3, theta, NB, NB, N, X, y, nv, &b), SPARSE_OK);
    assert_int_equal(a->n, N);
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(a->L + i * a->cap, b->L + i * b->cap, (i + 1) * sizeof(double));
    assert_memory_equal(a->alpha, b->alpha, N * sizeof(double));
    assert_int_equal(sparse_gp_set_hyper(f, theta, theta[3], theta[4]), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(f, N, X, y, nv), SPARSE_OK);
    for (size_t i = 0; i < N; i++) {
        assert_true(fabs(a->alpha[i] - f->alpha[i]) <= 1e-10 * (1 + fabs(f->alpha[i])));
        for (size_t j = 0; j <= i; j++)
            assert_true(fabs(a->L[i * a->cap + j] - f->L[i * f->cap + j]) <= 1e-10 * (1 + fabs(f->L[i * f->cap + j])));
    }
    /* A changed row: no longer a prefix, built again (as the cold one). */
    y[NB + 3] += 1;
    assert_int_equal(sparse__gp_schedule_chain(warm, 0, &go, 3, theta, NB, NB, N, X, y, nv, &a), SPARSE_OK);
    assert_int_equal(sparse__gp_schedule_chain(cold, 1, &go, 3, theta, NB, NB, N, X, y, nv, &b), SPARSE_OK);
    assert_memory_equal(a->alpha, b->alpha, N * sizeof(double));
    /* Another theta: built again too. */
    theta[0] = 0.5;
    assert_int_equal(sparse__gp_schedule_chain(warm, 0, &go, 3, theta, NB, NB, N, X, y, nv, &a), SPARSE_OK);
    assert_true(a->ls[0] == 0.5);
    /* A GP that is no chain given back is freed; the schedule frees the rest. */
    sparse__gp_schedule_return(warm, 2, f);
    f = NULL;
    sparse__gp_schedule_return(cold, 0, b);
    b = NULL;
    /* Anchors: the schedule point or the last multiple of the block. */
    assert_int_equal(sparse__gp_chain_anchor(20), 20);
    assert_int_equal(sparse__gp_chain_anchor(300), 256);
    assert_int_equal(sparse__gp_chain_anchor(5000), 4992);
    assert_int_equal(sparse__gp_chain_anchor(sparse_exp_gp_schedule_point(1000)), sparse_exp_gp_schedule_point(1000));
    sparse_gp_free(a);
    sparse_gp_free(b);
    sparse_gp_free(f);
    sparse_exp_gp_schedule_free(warm);
    sparse_exp_gp_schedule_free(cold);
}
