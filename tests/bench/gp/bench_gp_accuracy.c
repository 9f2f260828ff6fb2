/* Does the hyper-parameter schedule (sparse_exp_gp_schedule) cost the
 * surrogate accuracy? On the recorded trials of real runs: for every
 * `step`-th trial t past the first 30 observations, the surrogate of the
 * observations of trials 0..t-1, as a proposal builds it, predicts trial
 * t's three objectives (validation error, model size, working memory, all
 * on log scales). Two surrogates: refit on every proposal (before: a fresh
 * fit, 2 starts) and the schedule (after). Reported per run and objective:
 * Spearman's rank correlation of the predicted and the measured values,
 * and the mean log predictive density of the measured log value under the
 * posterior of f plus the observation's own noise.
 * Then the same on a synthetic 30-dimensional problem at n = 1000 and 3000
 * observations, 500 held-out points, where the schedule's caps bite (fits
 * on 256 observations; GPs of 1536): against a fit on all n (n = 1000) and
 * against an exact GP on all n with the schedule's hyper-parameters (n =
 * 3000, the subset of data alone).
 * Machine-readable lines:
 *   GP_ACCURACY run=DIR mode=refit|schedule objective=J predictions=P spearman=.. lpd=.. seconds=..
 *   GP_ACCURACY run=synthetic n=N mode=refit|exact|schedule spearman=.. rmse=.. seconds=..
 * Usage: bench_gp_accuracy [step (3)] [RUN_DIR...]; without directories,
 * those of SPARSE_BENCH_RUNS (space-separated). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp/gp_internal.h"
#include "search/search_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"

#include "bench_gp.h"

#define K 3

typedef struct obs {
    size_t n, trial_cap;
    size_t *trial; /* the trial each observation is */
    double *point, *f, *v;
} obs;

/* The surrogate's observations of a run, as sparse__accuracy_mobo takes them. */
static int load(const char *dir, sparse_search_config **cfg, sparse__layout *lay, obs *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    int rc = sparse_search_config_load(cfg, path);
    if (!rc)
        rc = sparse__layout_create(lay, *cfg);
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    FILE *f = rc ? NULL : fopen(path, "r");
    if (!f)
        return rc ? rc : SPARSE_EIO;
    char *line = NULL;
    size_t cap = 0, i = 0, alloc = 0;
    memset(o, 0, sizeof *o);
    while (!rc && getline(&line, &cap, f) > 0) {
        sparse__trial tr;
        if (sparse__trial_parse(*cfg, lay->nvars, line, i, i + 1, 0, &tr))
            break;
        double e, var;
        if (o->n == alloc) {
            alloc = alloc ? 2 * alloc : 256;
            o->trial = realloc(o->trial, alloc * sizeof *o->trial);
            o->point = realloc(o->point, alloc * lay->nvars * sizeof *o->point);
            o->f = realloc(o->f, alloc * K * sizeof *o->f);
            o->v = realloc(o->v, alloc * K * sizeof *o->v);
        }
        if (sparse__error_observation(*cfg, &tr, &e, &var)) {
            o->trial[o->n] = i;
            memcpy(o->point + o->n * lay->nvars, tr.point, lay->nvars * sizeof *o->point);
            double *fo = o->f + o->n * K, *vo = o->v + o->n * K;
            fo[0] = e;
            fo[1] = fmax(tr.ms, 1.0);
            fo[2] = fmax(sparse__trial_wm(*cfg, &tr), 1.0);
            vo[0] = var;
            vo[1] = vo[2] = 0;
            o->n++;
        }
        sparse__trial_clear(&tr);
        i++;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Ranks (average ranks for ties) of x into r. */
static void ranks(const double *x, size_t n, double *r)
{
    for (size_t i = 0; i < n; i++) {
        double less = 0, same = 0;
        for (size_t j = 0; j < n; j++) {
            less += x[j] < x[i];
            same += x[j] == x[i];
        }
        r[i] = less + 0.5 * (same - 1);
    }
}

static double spearman(const double *a, const double *b, size_t n)
{
    double *ra = malloc(2 * n * sizeof *ra), *rb = ra + n, sab = 0, saa = 0, sbb = 0, m = 0.5 * (double)(n - 1);
    ranks(a, n, ra);
    ranks(b, n, rb);
    for (size_t i = 0; i < n; i++) {
        sab += (ra[i] - m) * (rb[i] - m);
        saa += (ra[i] - m) * (ra[i] - m);
        sbb += (rb[i] - m) * (rb[i] - m);
    }
    free(ra);
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

/* One-step-ahead predictions of observations first.. (every step-th) by
 * surrogates of the observations before each; sched NULL: refit each time. */
static int evaluate(const char *dir, const sparse__layout *lay, const obs *o, size_t first, size_t step,
                    sparse_exp_gp_schedule *sched)
{
    static const int logs[K] = {1, 1, 1};
    size_t cap = o->n / step + 1, p = 0;
    double *pred = malloc(cap * K * sizeof *pred), *meas = malloc(cap * K * sizeof *meas), lpd[K] = {0};
    sparse_mobo_options mo = SPARSE_MOBO_OPTIONS_INIT;
    mo.restarts = 2;
    double t0 = bench_now();
    int rc = SPARSE_OK;
    for (size_t t = first; t < o->n && !rc; t += step, p++) {
        sparse_mobo *m = NULL;
        rc = sparse_mobo_create(&m, lay->space, K, logs, &mo, 1000 + o->trial[t]);
        if (!rc && sched)
            rc = sparse_exp_mobo_set_schedule(m, sched);
        for (size_t i = 0; i < t && !rc; i++)
            rc = sparse_mobo_observe_noisy(m, o->point + i * lay->nvars, o->f + i * K, o->v + i * K);
        double mean[K], sd[K];
        if (!rc)
            rc = sparse_mobo_predict(m, 1, o->point + t * lay->nvars, mean, sd);
        for (size_t j = 0; j < K && !rc; j++) {
            /* Back on the log scale: mu = log(median), sigma = sd / median. */
            double mu = log(mean[j]), s = sd[j] / mean[j], y = log(o->f[t * K + j]);
            double var = s * s + o->v[t * K + j] / (o->f[t * K + j] * o->f[t * K + j]) + 1e-6;
            pred[p * K + j] = mu;
            meas[p * K + j] = y;
            lpd[j] += -0.5 * log(2 * M_PI * var) - 0.5 * (y - mu) * (y - mu) / var;
        }
        sparse_mobo_free(m);
    }
    double secs = bench_now() - t0;
    for (size_t j = 0; j < K && !rc && p > 1; j++) {
        double *a = malloc(2 * p * sizeof *a), *b = a + p;
        for (size_t i = 0; i < p; i++) {
            a[i] = pred[i * K + j];
            b[i] = meas[i * K + j];
        }
        printf("GP_ACCURACY run=%s mode=%s objective=%zu predictions=%zu spearman=%.4f lpd=%.4f seconds=%.1f\n", dir,
               sched ? "schedule" : "refit", j, p, spearman(a, b, p), lpd[j] / (double)p, secs);
        free(a);
    }
    fflush(stdout);
    free(pred);
    free(meas);
    return rc;
}

#define SD 30
#define ST 500

static double synth_target(const double *x)
{
    return exp(sin(3 * x[0]) + x[1] * x[2] + 0.5 * cos(4 * x[3]) + 0.3 * x[4]);
}

static void report_synth(size_t n, const char *mode, const double *logpred, const double *logy, double secs)
{
    double se = 0;
    for (size_t i = 0; i < ST; i++)
        se += (logpred[i] - logy[i]) * (logpred[i] - logy[i]);
    printf("GP_ACCURACY run=synthetic n=%zu mode=%s spearman=%.4f rmse=%.4f seconds=%.1f\n", n, mode,
           spearman(logpred, logy, ST), sqrt(se / ST), secs);
    fflush(stdout);
}

/* The synthetic problem at n observations: the schedule's surrogate, then
 * the reference (refit on all n, or exact on all n with its hyper-parameters). */
static int synthetic(size_t n, int exact)
{
    static const int logs[1] = {1};
    sparse_rng *rng = NULL;
    sparse_space *space = bench_cube(SD);
    int rc = sparse_rng_create(&rng, 99);
    double *X = malloc((n + ST) * SD * sizeof *X), *y = malloc((n + ST) * sizeof *y), *ly = malloc((n + ST) * sizeof *ly);
    double *mean = malloc(ST * sizeof *mean), *lp = malloc(ST * sizeof *lp), zero = 0;
    for (size_t i = 0; i < n + ST && !rc; i++) {
        rc = sparse_space_sample(space, rng, X + i * SD);
        y[i] = synth_target(X + i * SD) * exp(0.05 * sparse_rng_normal(rng));
        ly[i] = log(y[i]);
    }
    sparse_exp_gp_schedule *s = NULL;
    if (!rc)
        rc = sparse_exp_gp_schedule_create(&s, 7);
    for (int pass = 0; pass < 2 && !rc; pass++) {
        double t0 = bench_now();
        if (pass == 1 && exact) {
            /* All n observations, the schedule's hyper-parameters. */
            double theta[SD + 2], *nv = calloc(n, sizeof *nv);
            sparse__gp_obs o = {n, 1, SD, X, ly, nv};
            sparse_gp_options go = SPARSE_GP_OPTIONS_INIT;
            go.restarts = 2;
            sparse_gp *gp = NULL;
            rc = sparse__gp_schedule_hyper(s, &o, &go, theta);
            if (!rc)
                rc = sparse_gp_create(&gp, SD, &go);
            if (!rc)
                sparse__gp_put_hyper(gp, theta, theta[SD], theta[SD + 1]);
            if (!rc)
                rc = sparse_gp_set_data(gp, n, X, ly);
            if (!rc)
                rc = sparse_gp_predict(gp, ST, X + n * SD, lp, NULL);
            sparse_gp_free(gp);
            free(nv);
        } else {
            sparse_mobo_options mo = SPARSE_MOBO_OPTIONS_INIT;
            mo.restarts = 2;
            sparse_mobo *m = NULL;
            rc = sparse_mobo_create(&m, space, 1, logs, &mo, 5);
            if (!rc && pass == 0)
                rc = sparse_exp_mobo_set_schedule(m, s);
            for (size_t i = 0; i < n && !rc; i++)
                rc = sparse_mobo_observe_noisy(m, X + i * SD, y + i, &zero);
            if (!rc)
                rc = sparse_mobo_predict(m, ST, X + n * SD, mean, NULL);
            for (size_t i = 0; i < ST && !rc; i++)
                lp[i] = log(mean[i]);
            sparse_mobo_free(m);
        }
        if (!rc)
            report_synth(n, pass == 0 ? "schedule" : exact ? "exact" : "refit", lp, ly + n, bench_now() - t0);
    }
    sparse_exp_gp_schedule_free(s);
    sparse_space_free(space);
    sparse_rng_free(rng);
    free(X);
    free(y);
    free(ly);
    free(mean);
    free(lp);
    return rc;
}

int main(int argc, char **argv)
{
    size_t step = argc > 1 ? (size_t)atol(argv[1]) : 3;
    if (step < 1)
        step = 1;
    char *env = getenv("SPARSE_BENCH_RUNS") ? strdup(getenv("SPARSE_BENCH_RUNS")) : NULL, *dirs[64];
    int nd = 0;
    for (int a = 2; a < argc && nd < 64; a++)
        dirs[nd++] = argv[a];
    for (char *tok = nd || !env ? NULL : strtok(env, " "); tok && nd < 64; tok = strtok(NULL, " "))
        dirs[nd++] = tok;
    if (nd == 0)
        printf("# no run directories (arguments or SPARSE_BENCH_RUNS): recorded runs skipped\n");
    printf("# one-step-ahead predictions of recorded trials past the first 30 observations, every %zu-th\n", step);
    for (int a = 0; a < nd; a++) {
        sparse_search_config *cfg = NULL;
        sparse__layout lay;
        memset(&lay, 0, sizeof lay);
        obs o;
        memset(&o, 0, sizeof o);
        int rc = load(dirs[a], &cfg, &lay, &o);
        if (rc) {
            printf("# %s skipped: %s\n", dirs[a], sparse_last_error());
            sparse_clear_error();
        } else {
            sparse_exp_gp_schedule *s = NULL;
            rc = sparse_exp_gp_schedule_create(&s, 7);
            if (!rc)
                rc = evaluate(dirs[a], &lay, &o, 30, step, NULL);
            if (!rc)
                rc = evaluate(dirs[a], &lay, &o, 30, step, s);
            if (rc)
                printf("# %s: %s\n", dirs[a], sparse_last_error());
            sparse_exp_gp_schedule_free(s);
        }
        sparse__layout_destroy(&lay);
        sparse_search_config_free(cfg);
        free(o.trial);
        free(o.point);
        free(o.f);
        free(o.v);
    }
    free(env);
    if (synthetic(1000, 0) || synthetic(3000, 1))
        printf("# synthetic: %s\n", sparse_last_error());
    return 0;
}
