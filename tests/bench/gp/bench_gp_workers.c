/* Can one optimiser keep W workers busy? A simulation that replays the
 * measured trial times of a real run (trials.jsonl, in order, cyclically)
 * for W = 8, 64 and 256 workers. The proposal cost is measured first, in
 * this process: a search's proposal (a fresh MOBO driver with the
 * hyper-parameter schedule, three objectives, the run's candidate count,
 * 30 dimensions, and the 2W - 1 trials in flight a proposal does not see
 * as pending points) at a few observation counts, its median and the
 * proposal that refits at a schedule point; the simulation interpolates
 * them.
 * Workers ask for a proposal when they are free; one proposer serves them
 * in turn (as the search's scheduler does); trial t sees t - 2W + 1 trials
 * (the records rule). Reported: the share of worker time spent waiting for
 * a proposal and the trials per hour.
 * Machine-readable lines:
 *   GP_COST n=N pending=P median_s=.. refit_s=..
 *   GP_WORKERS run=DIR workers=W trials=T scale=S wait_share=.. trials_per_hour=..
 * Usage: bench_gp_workers RUN_DIR [candidates (128)] [trials (3000)] [time scale (1)]
 * (without RUN_DIR, SPARSE_BENCH_RUN; neither: skipped, 77). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sparse/experimental.h"
#include "sparse/sparse.h"

#include "bench_gp.h"

#define DIM 30
#define K 3
#define NPTS 5

static const size_t cost_n[NPTS] = {50, 200, 800, 1600, 3200};

static void target(const double *x, double *f)
{
    double a = sin(3 * x[0]) + x[1] * x[2] + 0.5 * cos(4 * x[3]);
    f[0] = exp(a);
    f[1] = exp(-0.5 * a + x[5]);
    f[2] = exp(x[6] + 0.2 * a);
}

/* Seconds of one proposal over the first n rows of X (values F), with the
 * npend rows after them in flight (kriging believers, as a search with
 * npend = 2W - 1 has). */
static double propose(const sparse_space *space, sparse_exp_gp_schedule *s, size_t n, size_t npend, double *X,
                      double *F, size_t m, double *cand, sparse_rng *rng)
{
    static const int logs[K] = {1, 1, 1};
    double t0 = bench_now(), out[DIM];
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.restarts = 2;
    sparse_mobo *mb = NULL;
    int rc = sparse_mobo_create(&mb, space, K, logs, &o, sparse_rng_seed64(rng));
    if (!rc)
        rc = sparse_exp_mobo_set_schedule(mb, s);
    for (size_t i = 0; i < n && !rc; i++)
        rc = sparse_mobo_observe(mb, X + i * DIM, F + i * K);
    if (!rc && npend)
        rc = sparse_mobo_set_pending(mb, npend, X + n * DIM);
    for (size_t i = 0; i < m && !rc; i++)
        rc = sparse_space_sample(space, rng, cand + i * DIM);
    if (!rc)
        rc = sparse_mobo_propose(mb, m, cand, out, NULL, NULL);
    if (rc)
        bench_die(rc, "propose");
    sparse_mobo_free(mb);
    return bench_now() - t0;
}

/* med[i], refit[i]: the cost of a proposal at cost_n[i] observations with
 * npend in flight. */
static void measure(size_t m, size_t npend, double *med, double *refit)
{
    sparse_rng *rng = NULL;
    sparse_space *space = bench_cube(DIM);
    sparse_exp_gp_schedule *s = NULL;
    int rc = sparse_rng_create(&rng, 11);
    if (!rc)
        rc = sparse_exp_gp_schedule_create(&s, 3);
    if (rc)
        bench_die(rc, "setup");
    size_t nmax = cost_n[NPTS - 1] + 4 + npend;
    double *X = malloc(nmax * DIM * sizeof *X), *F = malloc(nmax * K * sizeof *F), *cand = malloc(m * DIM * sizeof *cand);
    for (size_t i = 0; i < nmax; i++) {
        sparse_space_sample(space, rng, X + i * DIM);
        target(X + i * DIM, F + i * K);
    }
    for (size_t i = 0; i < NPTS; i++) {
        size_t p = sparse_exp_gp_schedule_point(cost_n[i]);
        propose(space, s, p - 1, npend, X, F, m, cand, rng); /* the fits before p */
        refit[i] = propose(space, s, p, npend, X, F, m, cand, rng);
        double a = propose(space, s, p + 1, npend, X, F, m, cand, rng),
               b = propose(space, s, p + 2, npend, X, F, m, cand, rng),
               c = propose(space, s, p + 3, npend, X, F, m, cand, rng);
        med[i] = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        printf("GP_COST n=%zu pending=%zu median_s=%.3f refit_s=%.3f\n", p, npend, med[i], refit[i]);
        fflush(stdout);
    }
    free(X);
    free(F);
    free(cand);
    sparse_exp_gp_schedule_free(s);
    sparse_space_free(space);
    sparse_rng_free(rng);
}

static double interp(const double *v, size_t n)
{
    if (n <= cost_n[0])
        return v[0];
    for (size_t i = 1; i < NPTS; i++)
        if (n <= cost_n[i])
            return v[i - 1] + (v[i] - v[i - 1]) * (double)(n - cost_n[i - 1]) / (double)(cost_n[i] - cost_n[i - 1]);
    return v[NPTS - 1];
}

/* Event simulation of W workers over T trials of the given durations. */
static void simulate(const char *dir, size_t W, size_t T, const double *dur, size_t nd, double scale,
                     const double *med, const double *refit, size_t initial)
{
    double *free_at = malloc(W * sizeof *free_at), proposer = 0, wait = 0, end = 0;
    for (size_t w = 0; w < W; w++)
        free_at[w] = 0;
    size_t last_point = 0;
    for (size_t t = 0; t < T; t++) {
        /* The worker free first asks next (ties: the lowest index). */
        size_t w = 0;
        for (size_t i = 1; i < W; i++)
            if (free_at[i] < free_at[w])
                w = i;
        size_t hist = t + 1 > 2 * W ? t + 1 - 2 * W : 0;
        double cost = 0;
        if (t >= initial && hist > 0) {
            size_t p = sparse_exp_gp_schedule_point(hist);
            cost = p != last_point ? interp(refit, hist) : interp(med, hist);
            last_point = p;
        }
        double start = (proposer > free_at[w] ? proposer : free_at[w]) + cost;
        proposer = start;
        wait += start - free_at[w];
        free_at[w] = start + scale * dur[t % nd];
        if (free_at[w] > end)
            end = free_at[w];
    }
    printf("GP_WORKERS run=%s workers=%zu trials=%zu scale=%g wait_share=%.4f trials_per_hour=%.0f\n", dir, W, T,
           scale, wait / ((double)W * end), (double)T / end * 3600.0);
    fflush(stdout);
    free(free_at);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("SPARSE_BENCH_RUN");
    size_t m = argc > 2 ? (size_t)atol(argv[2]) : 128, T = argc > 3 ? (size_t)atol(argv[3]) : 3000;
    double scale = argc > 4 ? atof(argv[4]) : 1.0;
    if (!dir || !dir[0]) {
        printf("# no run directory (argument or SPARSE_BENCH_RUN): skipped\n");
        return 77;
    }
    sparse_run *run = NULL;
    int rc = sparse_run_open(&run, dir);
    if (rc)
        bench_die(rc, dir);
    size_t n = sparse_run_trial_count(run), nd = 0;
    double *dur = malloc((n ? n : 1) * sizeof *dur);
    for (size_t i = 0; i < n; i++) {
        size_t id;
        double sec, stage;
        if (!sparse_run_trial_id(run, i, &id) && !sparse_run_trial_value(run, id, SPARSE_TRIAL_SECONDS, &sec) &&
            !sparse_run_trial_value(run, id, SPARSE_TRIAL_STAGE, &stage) && stage < 4 && sec > 0)
            dur[nd++] = sec;
    }
    sparse_run_free(run);
    if (nd == 0)
        bench_die(SPARSE_EINVAL, "no trial times");
    double mean = 0;
    for (size_t i = 0; i < nd; i++)
        mean += dur[i];
    printf("# %s: %zu searched trials, mean %.1f s (x%g); %zu candidates, %d objectives, %d dimensions\n", dir, nd,
           mean / (double)nd, scale, m, K, DIM);
    const size_t workers[] = {8, 64, 256};
    for (size_t i = 0; i < 3; i++) {
        double med[NPTS], refit[NPTS];
        measure(m, 2 * workers[i] - 1, med, refit);
        simulate(dir, workers[i], T, dur, nd, scale, med, refit, 20);
    }
    free(dur);
    return 0;
}
