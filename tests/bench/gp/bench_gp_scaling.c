/* Cost of one MOBO proposal's GP work as the data grows: hyper-parameter fit
 * (2 starts) + one joint Thompson sample over 2000 candidates, ~30 input
 * dimensions, n = 100, 300, 1000 observations; then the same fit and sample
 * with scikit-learn in the same run (sklearn_scaling.py, /usr/bin/python3).
 * Machine-readable lines:
 *   GP_SCALING impl=libsparse n=N m=M dim=D fit_s=.. sample_s=.. total_s=.. lml=..
 *   GP_SCALING impl=sklearn ...
 *   GP_GROWTH impl=.. n_from=.. n_to=.. total_ratio=..
 * Usage: bench_gp_scaling [sklearn_scaling.py] [max_n] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sparse/sparse.h"

#include "bench_gp.h"

#define DIM 30
#define M 2000

static double target(const double *x, sparse_rng *rng)
{
    return sin(3 * x[0]) + x[1] * x[2] + 0.5 * cos(4 * x[3]) + 0.3 * x[4] + 0.05 * sparse_rng_normal(rng);
}

int main(int argc, char **argv)
{
    const char *script = argc > 1 && argv[1][0] ? argv[1] : NULL;
    size_t max_n = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    const size_t sizes[] = {100, 300, 1000};
    double totals[3] = {0};
    sparse_rng *rng = NULL;
    int rc = sparse_rng_create(&rng, 2024);
    if (rc)
        bench_die(rc, "rng");
    double *Xs = malloc(sizeof(double) * M * DIM);
    double *X = malloc(sizeof(double) * 1000 * DIM), *y = malloc(sizeof(double) * 1000);
    double *s = malloc(sizeof(double) * M);
    for (size_t i = 0; i < (size_t)M * DIM; i++)
        Xs[i] = sparse_rng_uniform(rng);
    for (size_t i = 0; i < 1000; i++) {
        for (size_t d = 0; d < DIM; d++)
            X[i * DIM + d] = sparse_rng_uniform(rng);
        y[i] = target(X + i * DIM, rng);
    }
    char dir[] = "/tmp/sparse_gp_bench_XXXXXX";
    int have_dir = mkdtemp(dir) != NULL;
    printf("# libsparse: Matern-5/2 ARD, 2 BFGS starts (max 100 iterations each), no priors; "
           "sklearn: same kernel, n_restarts_optimizer=1 (2 L-BFGS-B starts, max 100 iterations "
           "each), sample_y; lml = log marginal likelihood of the standardised targets\n");
    for (size_t t = 0; t < 3; t++) {
        size_t n = sizes[t];
        if (n > max_n)
            break;
        sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
        o.restarts = 2;
        /* The same objective as scikit-learn's (no priors), so the LMLs compare. */
        o.use_priors = 0;
        sparse_gp *gp = NULL;
        if ((rc = sparse_gp_create(&gp, DIM, &o)))
            bench_die(rc, "gp_create");
        double t0 = bench_now();
        if ((rc = sparse_gp_set_data(gp, n, X, y)) || (rc = sparse_gp_fit(gp, rng)))
            bench_die(rc, "fit");
        double t1 = bench_now();
        if ((rc = sparse_gp_sample(gp, M, Xs, rng, s)))
            bench_die(rc, "sample");
        double t2 = bench_now();
        double lml = 0;
        sparse_gp_log_marginal_likelihood(gp, &lml);
        /* Incremental add of one observation vs the fit (the MOBO loop's update). */
        double t3 = bench_now();
        if ((rc = sparse_gp_add(gp, Xs, 0.1)))
            bench_die(rc, "add");
        double t4 = bench_now();
        totals[t] = t2 - t0;
        printf("GP_SCALING impl=libsparse n=%zu m=%d dim=%d fit_s=%.4f sample_s=%.4f total_s=%.4f "
               "add_one_s=%.6f lml=%.4f\n", n, M, DIM, t1 - t0, t2 - t1, t2 - t0, t4 - t3, lml);
        fflush(stdout);
        sparse_gp_free(gp);
        if (have_dir) {
            char path[256];
            snprintf(path, sizeof path, "%s/data_%zu.txt", dir, n);
            FILE *f = fopen(path, "w");
            if (f) {
                fprintf(f, "%zu %d %d\n", n, M, DIM);
                for (size_t i = 0; i < n; i++) {
                    for (size_t d = 0; d < DIM; d++)
                        fprintf(f, "%.17g ", X[i * DIM + d]);
                    fprintf(f, "%.17g\n", y[i]);
                }
                for (size_t j = 0; j < M; j++) {
                    for (size_t d = 0; d < DIM; d++)
                        fprintf(f, "%.17g ", Xs[j * DIM + d]);
                    fprintf(f, "\n");
                }
                fclose(f);
            }
        }
    }
    for (size_t t = 1; t < 3; t++)
        if (totals[t] > 0)
            printf("GP_GROWTH impl=libsparse n_from=%zu n_to=%zu total_ratio=%.2f\n", sizes[t - 1],
                   sizes[t], totals[t] / totals[t - 1]);
    fflush(stdout);
    if (script && have_dir && access("/usr/bin/python3", X_OK) == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, dir);
        int st = system(cmd);
        if (st != 0)
            printf("# sklearn comparison skipped or failed (status %d)\n", st);
    } else {
        printf("# sklearn comparison skipped: no script or no /usr/bin/python3\n");
    }
    if (have_dir) {
        for (size_t t = 0; t < 3; t++) {
            char path[256];
            snprintf(path, sizeof path, "%s/data_%zu.txt", dir, sizes[t]);
            remove(path);
        }
        rmdir(dir);
    }
    free(X);
    free(y);
    free(Xs);
    free(s);
    sparse_rng_free(rng);
    return 0;
}
