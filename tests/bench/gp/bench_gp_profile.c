/* Where one proposal's time goes, per objective: a GP of n observations in
 * 30 dimensions (n = 929 and 1536, the subset-of-data cap a GP keeps past
 * it, at 4,438 observations and beyond) sampled jointly over m candidates.
 * The parts, each timed alone with the library's own routines:
 *   kernel_nn   the n x n covariance          cholesky_n  its factor
 *   cross_nm    k(X, candidates)              trsm_nm     L^-1 k(X, candidates)
 *   kernel_mm   the m x m prior covariance    syrk_mm     minus V'V
 *   cholesky_m  the m x m posterior factor
 * (the exact joint sample's steps), then the library's own calls as a
 * proposal makes them: set_data (factor of the observations), believers
 * (P pending points added at their posterior mean, as one block; and
 * believers_each, one at a time) and sample (the joint
 * Thompson sample over the candidates, exact) and sample_pathwise (the
 * same by pathwise conditioning, pathwise.c).
 * Machine-readable lines:
 *   GP_PROFILE n=N m=M part=NAME seconds=..
 * Usage: bench_gp_profile [candidates (2000)] [pending (0)] */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gp/gp_internal.h"
#include "sparse/sparse.h"

#include "bench_gp.h"

#define DIM 30

static void part(size_t n, size_t m, const char *name, double t0)
{
    printf("GP_PROFILE n=%zu m=%zu part=%s seconds=%.4f\n", n, m, name, bench_now() - t0);
    fflush(stdout);
}

/* The exact joint sample's steps, one by one. */
static void steps(const sparse_gp *gp, size_t m, const double *C)
{
    size_t n = gp->n;
    sparse__gp_kparams kp = {DIM, gp->opts.kernel, gp->opts.inactive_rule, gp->ls, gp->sf2};
    double *K = malloc(n * n * sizeof *K), *V = malloc(n * m * sizeof *V), *S = malloc(m * m * sizeof *S);
    double t0 = bench_now();
    sparse__gp_kernel_matrix(&kp, n, gp->X, n, gp->X, K, n);
    part(n, m, "kernel_nn", t0);
    for (size_t i = 0; i < n; i++)
        K[i * n + i] += gp->noise + 1e-6;
    gsl_matrix_view Km = gsl_matrix_view_array(K, n, n);
    t0 = bench_now();
    gsl_linalg_cholesky_decomp1(&Km.matrix);
    part(n, m, "cholesky_n", t0);
    t0 = bench_now();
    sparse__gp_kernel_matrix(&kp, n, gp->X, m, C, V, m);
    part(n, m, "cross_nm", t0);
    gsl_matrix_view Vm = gsl_matrix_view_array(V, n, m);
    t0 = bench_now();
    gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, &Km.matrix, &Vm.matrix);
    part(n, m, "trsm_nm", t0);
    t0 = bench_now();
    sparse__gp_kernel_matrix(&kp, m, C, m, C, S, m);
    part(n, m, "kernel_mm", t0);
    gsl_matrix_view Sm = gsl_matrix_view_array(S, m, m);
    t0 = bench_now();
    gsl_blas_dsyrk(CblasLower, CblasTrans, -1.0, &Vm.matrix, 1.0, &Sm.matrix);
    part(n, m, "syrk_mm", t0);
    for (size_t i = 0; i < m; i++)
        S[i * m + i] += 1e-2 * gp->sf2;
    t0 = bench_now();
    gsl_linalg_cholesky_decomp1(&Sm.matrix);
    part(n, m, "cholesky_m", t0);
    free(K);
    free(V);
    free(S);
}

int main(int argc, char **argv)
{
    size_t m = argc > 1 ? (size_t)atol(argv[1]) : 2000, P = argc > 2 ? (size_t)atol(argv[2]) : 0;
    const size_t sizes[] = {929, 1536};
    sparse_rng *rng = NULL;
    int rc = sparse_rng_create(&rng, 5);
    size_t nmax = sizes[1];
    double *X = malloc((nmax + P) * DIM * sizeof *X), *y = malloc(nmax * sizeof *y), *C = malloc(m * DIM * sizeof *C);
    double *out = malloc(m * sizeof *out), ls[DIM];
    for (size_t i = 0; i < (nmax + P) * DIM; i++)
        X[i] = sparse_rng_uniform(rng);
    for (size_t i = 0; i < m * DIM; i++)
        C[i] = sparse_rng_uniform(rng);
    for (size_t i = 0; i < nmax; i++)
        y[i] = sin(3 * X[i * DIM]) + X[i * DIM + 1] * X[i * DIM + 2] + 0.05 * sparse_rng_normal(rng);
    for (size_t d = 0; d < DIM; d++)
        ls[d] = d < 5 ? 0.4 : 3.0;
    printf("# one objective, %d dimensions, Matern-5/2, %zu candidates, %zu pending\n", DIM, m, P);
    for (size_t s = 0; s < 2 && !rc; s++) {
        size_t n = sizes[s];
        sparse_gp *gp = NULL;
        rc = sparse_gp_create(&gp, DIM, NULL);
        if (!rc)
            rc = sparse_gp_set_hyper(gp, ls, 1.0, 1e-2);
        double t0 = bench_now();
        if (!rc)
            rc = sparse_gp_set_data(gp, n, X, y);
        part(n, m, "set_data", t0);
        t0 = bench_now();
        for (size_t i = 0; i < P && !rc; i++)
            rc = sparse__gp_add_believer(gp, X + (nmax + i) * DIM, 0.0);
        part(n, m, "believers_each", t0);
        if (!rc)
            rc = sparse_gp_set_data(gp, n, X, y);
        t0 = bench_now();
        if (!rc)
            rc = sparse__gp_add_believers(gp, P, X + nmax * DIM, 0.0);
        part(n, m, "believers", t0);
        t0 = bench_now();
        if (!rc)
            rc = sparse_gp_sample(gp, m, C, rng, out);
        part(n, m, "sample", t0);
        t0 = bench_now();
        if (!rc)
            rc = sparse__gp_sample_pathwise(gp, m, C, rng, SPARSE__GP_FEATURES, out);
        part(n, m, "sample_pathwise", t0);
        if (!rc)
            rc = sparse_gp_set_data(gp, n, X, y);
        if (!rc)
            steps(gp, m, C);
        sparse_gp_free(gp);
    }
    if (rc)
        bench_die(rc, "profile");
    free(X);
    free(y);
    free(C);
    free(out);
    sparse_rng_free(rng);
    return 0;
}
