/* The cheaper proposal's numerics: random Fourier features of the kernels,
 * the cross-covariance by one matrix product, pending points added as one
 * block, and pathwise (decoupled) joint samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gp/gp_internal.h"
#include "sparse/sparse.h"

#include "gp_api.h"

#define D 3

static void random_points(sparse_rng *rng, size_t n, size_t dim, double *X)
{
    for (size_t i = 0; i < n * dim; i++)
        X[i] = sparse_rng_uniform(rng);
}

/* RMS over 200 pairs of phi(a).phi(b) - k(a, b), divided by sf2. */
static double rff_error(int kind, size_t L, sparse_rng *rng)
{
    double ls[D] = {0.3, 0.6, 1.0}, X[2 * D * 200], E[2 * D * 2], Phi[2 * 8192];
    sparse__gp_kparams kp = {D, kind, 0, ls, 1.7};
    sparse__gp_rff f;
    assert_int_equal(sparse__gp_rff_draw(&kp, L, rng, &f), SPARSE_OK);
    random_points(rng, 400, D, X);
    double se = 0;
    for (size_t p = 0; p < 200; p++) {
        const double *a = X + 2 * p * D;
        assert_int_equal(sparse__gp_rff_features(&f, D, 2, a, E, Phi), SPARSE_OK);
        double dot = 0;
        for (size_t l = 0; l < L; l++)
            dot += Phi[l] * Phi[L + l];
        double e = (dot - sparse__gp_kernel(&kp, a, a + D)) / kp.sf2;
        se += e * e;
    }
    sparse__gp_rff_free(&f);
    return sqrt(se / 200);
}

/* With 8,192 features the kernel is within 0.02 sf2 (RMS; the Monte Carlo
 * error is about 0.01). Matern-5/2 and the RBF differ by about 0.05 RMS on
 * these pairs, so features of the wrong spectral density fail. */
void test_rff_approximates_kernel(void **state)
{
    (void)state;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 17), SPARSE_OK);
    double em = rff_error(SPARSE_KERNEL_MATERN52, 8192, rng), er = rff_error(SPARSE_KERNEL_RBF, 8192, rng);
    assert_true(em < 0.02);
    assert_true(er < 0.02);
    /* The error falls as 1/sqrt(L): 64 features are far worse. */
    assert_true(rff_error(SPARSE_KERNEL_MATERN52, 64, rng) > 2 * em);
    double ls[D] = {0.3, 0.6, 1.0}, X[2 * D * 200], diff = 0;
    sparse__gp_kparams km = {D, SPARSE_KERNEL_MATERN52, 0, ls, 1.0}, kr = km;
    kr.kind = SPARSE_KERNEL_RBF;
    random_points(rng, 400, D, X);
    for (size_t p = 0; p < 200; p++) {
        double e = sparse__gp_kernel(&km, X + 2 * p * D, X + (2 * p + 1) * D) -
                   sparse__gp_kernel(&kr, X + 2 * p * D, X + (2 * p + 1) * D);
        diff += e * e;
    }
    assert_true(sqrt(diff / 200) > 0.04);
    sparse_rng_free(rng);
}

/* The conditional rule: pairs both active or both inactive in every
 * coordinate are as exact as without it; one active and one inactive
 * coordinate counts between 11/12 and 7/6 of a lengthscale squared. */
void test_rff_inactive_embedding(void **state)
{
    (void)state;
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 3), SPARSE_OK);
    double ls[D] = {0.5, 0.5, 0.8}, X[2 * D], E[4 * D], Phi[2 * 8192];
    sparse__gp_kparams kp = {D, SPARSE_KERNEL_MATERN52, 1, ls, 1.0};
    sparse__gp_rff f;
    size_t L = 8192;
    assert_int_equal(sparse__gp_rff_draw(&kp, L, rng, &f), SPARSE_OK);
    double se_same = 0;
    for (int p = 0; p < 200; p++) {
        random_points(rng, 2, D, X);
        int mixed = p % 2;
        X[2] = SPARSE_SPACE_INACTIVE;      /* a inactive in coordinate 2 */
        if (!mixed)
            X[D + 2] = SPARSE_SPACE_INACTIVE; /* b too */
        assert_int_equal(sparse__gp_rff_features(&f, D, 2, X, E, Phi), SPARSE_OK);
        double dot = 0;
        for (size_t l = 0; l < L; l++)
            dot += Phi[l] * Phi[L + l];
        double k = sparse__gp_kernel(&kp, X, X + D);
        if (!mixed) {
            se_same += (dot - k) * (dot - k);
            continue;
        }
        /* k at the embedded distance: coordinate 2 at 11/12 .. 7/6 */
        double r2 = 0;
        for (int d = 0; d < 2; d++)
            r2 += (X[d] - X[D + d]) * (X[d] - X[D + d]) / (ls[d] * ls[d]);
        double r2lo = r2 + (11.0 / 12.0) / (ls[2] * ls[2]), r2hi = r2 + (7.0 / 6.0) / (ls[2] * ls[2]);
        double klo = (1 + sqrt(5 * r2hi) + 5.0 / 3.0 * r2hi) * exp(-sqrt(5 * r2hi));
        double khi = (1 + sqrt(5 * r2lo) + 5.0 / 3.0 * r2lo) * exp(-sqrt(5 * r2lo));
        assert_true(k >= klo - 1e-12 && k <= khi + 1e-12);
        assert_true(dot > klo - 0.06 && dot < khi + 0.06);
    }
    assert_true(sqrt(se_same / 100) < 0.02);
    sparse__gp_rff_free(&f);
    sparse_rng_free(rng);
}

/* The cross-covariance by one matrix product equals the distance loop to
 * 1e-12 sf2, with and without the conditional rule. */
void test_cross_kernel_by_gemm(void **state)
{
    (void)state;
    size_t n = 20, m = 1000, dim = 4;
    double *X = malloc(n * dim * sizeof *X), *Y = malloc(m * dim * sizeof *Y), *K = malloc(n * m * sizeof *K);
    double ls[4] = {0.2, 0.7, 1.5, 0.4};
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 9), SPARSE_OK);
    random_points(rng, n, dim, X);
    random_points(rng, m, dim, Y);
    memcpy(Y, X, dim * sizeof *X); /* a candidate equal to an observation */
    for (int rule = 0; rule < 2; rule++) {
        if (rule) {
            for (size_t i = 0; i < n; i += 3)
                X[i * dim + 1] = SPARSE_SPACE_INACTIVE;
            for (size_t j = 1; j < m; j += 2)
                Y[j * dim + 1] = SPARSE_SPACE_INACTIVE;
        }
        for (int kind = 0; kind < 2; kind++) {
            sparse__gp_kparams kp = {dim, kind ? SPARSE_KERNEL_RBF : SPARSE_KERNEL_MATERN52, rule, ls, 2.5};
            sparse__gp_kernel_matrix(&kp, n, X, m, Y, K, m);
            double worst = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < m; j++)
                    worst = fmax(worst, fabs(K[i * m + j] - sparse__gp_kernel(&kp, X + i * dim, Y + j * dim)));
            assert_true(worst < 1e-12 * kp.sf2);
        }
    }
    free(X);
    free(Y);
    free(K);
    sparse_rng_free(rng);
}

static sparse_gp *make_gp(size_t n, size_t dim, const double *X, const double *y, const double *noise)
{
    double ls[4] = {0.3, 0.5, 0.9, 0.4};
    sparse_gp *gp = NULL;
    assert_int_equal(sparse_gp_create(&gp, dim, NULL), SPARSE_OK);
    assert_int_equal(sparse_gp_set_hyper(gp, ls, 1.3, 1e-3), SPARSE_OK);
    assert_int_equal(sparse_gp_set_data_noisy(gp, n, X, y, noise), SPARSE_OK);
    return gp;
}

/* Pending points added as one block give the factor, the weights and the
 * posterior that adding them one at a time gives, to 1e-10 relative. */
void test_believers_block_equals_each(void **state)
{
    (void)state;
    size_t n = 40, P = 12, dim = 3;
    double X[40 * 3], y[40], noise[40], Xp[12 * 3], Xs[5 * 3], ma[5], va[5], mb[5], vb[5];
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 21), SPARSE_OK);
    random_points(rng, n, dim, X);
    random_points(rng, P, dim, Xp);
    random_points(rng, 5, dim, Xs);
    for (size_t i = 0; i < n; i++) {
        y[i] = sin(4 * X[i * dim]) + X[i * dim + 1];
        noise[i] = i % 4 ? 0.0 : 0.01;
    }
    sparse_gp *a = make_gp(n, dim, X, y, noise), *b = make_gp(n, dim, X, y, noise);
    for (size_t i = 0; i < P; i++)
        assert_int_equal(sparse__gp_add_believer(a, Xp + i * dim, 0.0), SPARSE_OK);
    assert_int_equal(sparse__gp_add_believers(b, P, Xp, 0.0), SPARSE_OK);
    assert_int_equal(sparse_gp_observation_count(b), n + P);
    size_t N = n + P;
    for (size_t i = 0; i < N; i++) {
        assert_true(fabs(a->alpha[i] - b->alpha[i]) <= 1e-10 * (1 + fabs(a->alpha[i])));
        for (size_t j = 0; j <= i; j++)
            assert_true(fabs(a->L[i * a->cap + j] - b->L[i * b->cap + j]) <= 1e-10 * (1 + fabs(a->L[i * a->cap + j])));
    }
    assert_int_equal(sparse_gp_predict(a, 5, Xs, ma, va), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(b, 5, Xs, mb, vb), SPARSE_OK);
    for (size_t j = 0; j < 5; j++) {
        assert_true(fabs(ma[j] - mb[j]) <= 1e-10 * (1 + fabs(ma[j])));
        assert_true(fabs(va[j] - vb[j]) <= 1e-10 * (1 + fabs(va[j])));
    }
    /* A pending point equal to an observation: no safe block pivot, the
     * factor is rebuilt (with jitter) and the GP stays usable. */
    assert_int_equal(sparse__gp_add_believers(b, 1, X, 0.0), SPARSE_OK);
    assert_int_equal(sparse_gp_predict(b, 5, Xs, mb, vb), SPARSE_OK);
    sparse_gp_free(a);
    sparse_gp_free(b);
    sparse_rng_free(rng);
}

/* Pathwise samples: the same for the same stream, and over many draws (new
 * features each) the exact posterior mean and variance. */
void test_pathwise_sample(void **state)
{
    (void)state;
    size_t n = 10, m = 30, dim = 2;
    double X[20], y[10], Xs[60], mu[30], var[30], s1[30], s2[30];
    for (size_t i = 0; i < n; i++) {
        X[i * dim] = (double)i / 9.0;
        X[i * dim + 1] = 0.5;
        y[i] = sin(6 * X[i * dim]);
    }
    for (size_t j = 0; j < m; j++) {
        Xs[j * dim] = (double)j / 29.0 * 1.2 - 0.1; /* a little beyond the data too */
        Xs[j * dim + 1] = 0.4;
    }
    sparse_gp *gp = make_gp(n, dim, X, y, NULL);
    sparse_rng *r1 = NULL, *r2 = NULL;
    assert_int_equal(sparse_rng_create(&r1, 42), SPARSE_OK);
    assert_int_equal(sparse_rng_create(&r2, 42), SPARSE_OK);
    assert_int_equal(sparse__gp_sample_pathwise(gp, m, Xs, r1, 256, s1), SPARSE_OK);
    assert_int_equal(sparse__gp_sample_pathwise(gp, m, Xs, r2, 256, s2), SPARSE_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_int_equal(sparse_gp_predict(gp, m, Xs, mu, var), SPARSE_OK);
    double sum[30] = {0}, sq[30] = {0};
    int draws = 2000;
    for (int t = 0; t < draws; t++) {
        assert_int_equal(sparse__gp_sample_pathwise(gp, m, Xs, r1, 256, s1), SPARSE_OK);
        for (size_t j = 0; j < m; j++) {
            sum[j] += s1[j];
            sq[j] += s1[j] * s1[j];
        }
    }
    for (size_t j = 0; j < m; j++) {
        double em = sum[j] / draws, ev = sq[j] / draws - em * em;
        assert_true(fabs(em - mu[j]) < 5 * sqrt(var[j] / draws) + 1e-3);
        assert_true(fabs(ev - var[j]) < 0.2 * var[j] + 1e-4);
    }
    assert_int_equal(sparse__gp_sample_pathwise(gp, m, Xs, r1, 0, s1), SPARSE_EINVAL);
    sparse_rng_free(r1);
    sparse_rng_free(r2);
    sparse_gp_free(gp);
}

/* A driver over enough candidates to sample pathwise proposes the same
 * point for the same seed, observations and pending points. */
void test_mobo_pathwise_deterministic(void **state)
{
    (void)state;
    size_t nc = SPARSE__GP_PATHWISE_MIN + 88, dim = 4;
    sparse_space *space = NULL;
    assert_int_equal(sparse_space_create(&space), SPARSE_OK);
    const char *names[4] = {"a", "b", "c", "d"};
    for (size_t d = 0; d < dim; d++)
        assert_int_equal(sparse_space_add_real(space, names[d], 0.0, 1.0, 0, NULL), SPARSE_OK);
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 5), SPARSE_OK);
    double *C = malloc(nc * dim * sizeof *C), P[30 * 4], F[30 * 2], pend[3 * 4], out[2][4];
    random_points(rng, nc, dim, C);
    random_points(rng, 30, dim, P);
    random_points(rng, 3, dim, pend);
    for (size_t i = 0; i < 30; i++) {
        F[2 * i] = exp(P[i * dim] - P[i * dim + 1]);
        F[2 * i + 1] = 1 + P[i * dim + 2];
    }
    size_t chosen[2];
    for (int r = 0; r < 2; r++) {
        sparse_mobo *mb = NULL;
        int logs[2] = {1, 0};
        assert_int_equal(sparse_mobo_create(&mb, space, 2, logs, NULL, 77), SPARSE_OK);
        for (size_t i = 0; i < 30; i++)
            assert_int_equal(sparse_mobo_observe(mb, P + i * dim, F + 2 * i), SPARSE_OK);
        assert_int_equal(sparse_mobo_set_pending(mb, 3, pend), SPARSE_OK);
        assert_int_equal(sparse_mobo_propose(mb, nc, C, out[r], &chosen[r], NULL), SPARSE_OK);
        sparse_mobo_free(mb);
    }
    assert_true(chosen[0] < nc);
    assert_int_equal(chosen[0], chosen[1]);
    assert_memory_equal(out[0], out[1], sizeof out[0]);
    free(C);
    sparse_rng_free(rng);
    sparse_space_free(space);
}
