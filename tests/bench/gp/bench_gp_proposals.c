/* Proposal cost as a search sees it, with the hyper-parameter schedule
 * (sparse_exp_gp_schedule): per proposal a fresh MOBO driver over the n
 * observations so far (as lib/search builds one), 2000 drawn candidates in
 * 30 dimensions, one joint Thompson sample per objective; the proposed
 * point is then observed. At n = 100, 1000 and 5000 the series starts at a
 * schedule point, so its first proposal includes the refit there (the
 * schedule holding the fits before it, as in a running search); the median
 * and the maximum over the series are reported, and once per n the cost of
 * a schedule that holds no fit at all (a resumed run fitting the chain).
 * Machine-readable lines:
 *   GP_PROPOSALS k=K n=N proposals=P median_s=.. max_s=.. refit_s=.. cold_s=..
 * Usage: bench_gp_proposals [objectives (1)] [proposals per n (8)] [max_n (5000)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sparse/experimental.h"
#include "sparse/sparse.h"

#include "bench_gp.h"

#define DIM 30
#define M 2000

static void target(const double *x, size_t k, sparse_rng *rng, double *f)
{
    double a = sin(3 * x[0]) + x[1] * x[2] + 0.5 * cos(4 * x[3]) + 0.3 * x[4];
    for (size_t j = 0; j < k; j++)
        f[j] = exp(a * (j == 0 ? 1.0 : -0.5) + 0.3 * x[5 + j]) + 0.05 * fabs(sparse_rng_normal(rng));
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct history {
    size_t n, k;
    double *X, *F;
} history;

/* One proposal over h with schedule s: returns its seconds and observes it. */
static double propose(const sparse_space *space, history *h, sparse_exp_gp_schedule *s, sparse_rng *rng,
                      double *cand)
{
    static const int logs[3] = {1, 1, 1};
    double t0 = bench_now();
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.restarts = 2;
    sparse_mobo *m = NULL;
    int rc = sparse_mobo_create(&m, space, h->k, logs, &o, sparse_rng_seed64(rng));
    if (!rc)
        rc = sparse_exp_mobo_set_schedule(m, s);
    for (size_t i = 0; i < h->n && !rc; i++)
        rc = sparse_mobo_observe(m, h->X + i * DIM, h->F + i * h->k);
    for (size_t i = 0; i < M && !rc; i++)
        rc = sparse_space_sample(space, rng, cand + i * DIM);
    double *x = h->X + h->n * DIM;
    if (!rc)
        rc = sparse_mobo_propose(m, M, cand, x, NULL, NULL);
    if (rc)
        bench_die(rc, "propose");
    sparse_mobo_free(m);
    double t = bench_now() - t0;
    target(x, h->k, rng, h->F + h->n * h->k);
    h->n++;
    return t;
}

int main(int argc, char **argv)
{
    size_t k = argc > 1 ? (size_t)atol(argv[1]) : 1, P = argc > 2 ? (size_t)atol(argv[2]) : 8;
    size_t max_n = argc > 3 ? (size_t)atol(argv[3]) : 5000;
    const size_t sizes[] = {100, 1000, 5000};
    if (k < 1 || k > 3 || P < 1)
        bench_die(SPARSE_EINVAL, "usage");
    sparse_rng *rng = NULL;
    sparse_space *space = bench_cube(DIM);
    int rc = sparse_rng_create(&rng, 2024);
    if (rc)
        bench_die(rc, "setup");
    size_t cap = max_n + P + 1;
    history h = {0, k, malloc(cap * DIM * sizeof(double)), malloc(cap * k * sizeof(double))};
    double *cand = malloc((size_t)M * DIM * sizeof(double)), *times = malloc(P * sizeof(double));
    /* A running search's schedule: it keeps every fit made. */
    sparse_exp_gp_schedule *warm = NULL;
    if ((rc = sparse_exp_gp_schedule_create(&warm, 7)))
        bench_die(rc, "schedule");
    printf("# %zu objective(s), %d candidates, %d dimensions, a fresh driver per proposal\n", k, M, DIM);
    /* bench_gp_scaling's fit + sample before the schedule (one objective,
     * refit on every proposal), for comparison. */
    printf("# before the schedule: 0.55 s at 100, 2.4 s at 300, 31.6 s at 1000 observations\n");
    for (size_t t = 0; t < 3 && sizes[t] <= max_n; t++) {
        size_t n0 = sparse_exp_gp_schedule_point(sizes[t]);
        /* The observations before the series: random points. */
        while (h.n < n0) {
            sparse_space_sample(space, rng, h.X + h.n * DIM);
            target(h.X + h.n * DIM, k, rng, h.F + h.n * k);
            h.n++;
        }
        sparse_exp_gp_schedule *cold = NULL;
        if ((rc = sparse_exp_gp_schedule_create(&cold, 7)))
            bench_die(rc, "schedule");
        history before = h;
        before.n = n0 - 1;
        double *x_save = malloc((DIM + k) * sizeof(double));
        memcpy(x_save, h.X + before.n * DIM, DIM * sizeof(double));
        memcpy(x_save + DIM, h.F + before.n * k, k * sizeof(double));
        propose(space, &before, warm, rng, cand);
        memcpy(h.X + (n0 - 1) * DIM, x_save, DIM * sizeof(double));
        memcpy(h.F + (n0 - 1) * k, x_save + DIM, k * sizeof(double));
        free(x_save);
        history probe = h;
        double cold_s = propose(space, &probe, cold, rng, cand);
        for (size_t i = 0; i < P; i++)
            times[i] = propose(space, &h, warm, rng, cand);
        double refit = times[0];
        qsort(times, P, sizeof *times, cmp);
        printf("GP_PROPOSALS k=%zu n=%zu proposals=%zu median_s=%.3f max_s=%.3f refit_s=%.3f cold_s=%.3f\n", k, n0, P,
               P % 2 ? times[P / 2] : 0.5 * (times[P / 2 - 1] + times[P / 2]), times[P - 1], refit, cold_s);
        fflush(stdout);
        sparse_exp_gp_schedule_free(cold);
    }
    sparse_exp_gp_schedule_free(warm);
    free(h.X);
    free(h.F);
    free(cand);
    free(times);
    sparse_space_free(space);
    sparse_rng_free(rng);
    return 0;
}
