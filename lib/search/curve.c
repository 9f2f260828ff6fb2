/* Multi-fidelity: stopping a trial whose learning curve says it cannot
 * reach the front. Most trials are worth an epoch or two, few the whole
 * recipe: after each epoch but the last a trial's validation accuracy is
 * measured, and a learning-curve model learnt from the curves of the
 * earlier trials says how much it may still gain. If even an optimistic
 * gain (the config's quantile of those seen at the same point of the
 * schedule) leaves it below the most accurate earlier trial that is no
 * larger than it can end up, it stops there. Its record says so, with the
 * accuracy the model expects it would have ended at, which is what the
 * surrogate then learns from it.
 *
 * The plan is made before the trial starts, from the trials its proposal
 * saw, so stopping depends on nothing a worker's timing changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "loop.h"

void sparse__stop_plan_free(sparse__stop_plan *plan)
{
    free(plan->gain);
    memset(plan, 0, sizeof *plan);
    plan->bar = -1;
}

/* log of an error rate, a perfect score counted as half an image wrong. */
static double log_error(double acc, double half) { return log(fmax(1.0 - acc, half)); }

/* Of the gains in log error from epoch k of a trial planned for e epochs
 * (fraction k / e of its schedule) to its end, one per earlier trial whose
 * curve has a point within half an epoch of it. A trial of method `prune`
 * learns from trials of the same pruning method when there are enough of
 * them (the pruning step at the end moves the last point), from every
 * trial otherwise. Returns the number of gains in d. */
static size_t gains_at(const sparse_search_config *c, const sparse__trial *trials, size_t hist, size_t k, size_t e,
                       int prune, const int *method, double half, double *d)
{
    const double f = (double)k / (double)e, tol = 0.5 / (double)e + 1e-9;
    size_t n = 0;
    for (int same = 1; same >= 0 && n < c->early_min_curves; same--) {
        n = 0;
        for (size_t j = 0; j < hist; j++) {
            const sparse__trial *t = &trials[j];
            if (t->ok != 1 || t->partial || t->stage < 1 || t->stage > 3 || !t->ncurve || (same && method[j] != prune))
                continue;
            double ej = (double)(t->ncurve + 1), best = tol;
            size_t at = SIZE_MAX;
            for (size_t i = 0; i < t->ncurve; i++)
                if (fabs((double)(i + 1) / ej - f) <= best) {
                    best = fabs((double)(i + 1) / ej - f);
                    at = i;
                }
            if (at != SIZE_MAX)
                d[n++] = log_error(t->curve[at], half) - log_error(t->val_acc, half);
        }
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n-1], interpolated. */
static double quantile(const double *v, size_t n, double q)
{
    double at = q * (double)(n - 1);
    size_t i = (size_t)floor(at);
    return i + 1 < n ? v[i] + (at - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* The accuracy the trial must beat to be on the front: the best of the
 * earlier trials that may be on it and are no larger than the trial's
 * network can end up (its dense size, or for a pruned one what pruning
 * can take it down to at most: the size cap's factors). -1 if none. */
static double front_bar(const sparse__problem *p, const sparse__trial *trials, size_t hist, const double *point)
{
    sparse__cap_figures f;
    if (!sparse__dense_figures(p, point, &f))
        return -1;
    double ms = (double)f.ms / f.ms_factor, wm = (double)f.wm / f.wm_factor, bar = -1;
    for (size_t j = 0; j < hist; j++) {
        const sparse__trial *t = &trials[j];
        if (sparse__front_candidate(t) && t->stage <= 3 && t->ms <= ms && sparse__trial_wm(p->cfg, t) <= wm)
            bar = fmax(bar, t->val_acc);
    }
    return bar;
}

int sparse__stop_plan_make(const sparse__problem *p, const sparse__trial *trials, size_t hist, const double *point,
                           const sparse__genome *g, sparse__stop_plan *plan)
{
    const sparse_search_config *c = p->cfg;
    const double half = 0.5 / (double)(c->val_count ? c->val_count : 1);
    memset(plan, 0, sizeof *plan);
    plan->bar = -1;
    plan->epochs = g->epochs > 0 ? (size_t)g->epochs : 0;
    plan->half = half;
    if (!c->early_stop || plan->epochs < 2 || (plan->bar = front_bar(p, trials, hist, point)) < 0)
        return SPARSE_OK;
    plan->gain = sparse__calloc(3 * plan->epochs, sizeof *plan->gain);
    double *d = sparse__malloc((hist ? hist : 1) * sizeof *d);
    int *method = sparse__malloc((hist ? hist : 1) * sizeof *method);
    if (!plan->gain || !d || !method) {
        free(d);
        free(method);
        sparse__stop_plan_free(plan);
        return SPARSE_ENOMEM;
    }
    for (size_t j = 0; j < hist; j++) {
        sparse__genome gj;
        method[j] = -1;
        if (trials[j].point) {
            sparse__genome_decode(p->lay, c, trials[j].point, &gj);
            method[j] = gj.prune;
        }
    }
    for (size_t k = 1; k < plan->epochs; k++) {
        size_t n = gains_at(c, trials, hist, k, plan->epochs, g->prune, method, half, d);
        if (n < c->early_min_curves)
            continue;
        qsort(d, n, sizeof *d, cmp_double);
        double *row = plan->gain + 3 * k;
        row[0] = quantile(d, n, c->early_quantile);
        row[1] = quantile(d, n, 0.5);
        /* The spread of the guess: half the central 68% of the gains. */
        row[2] = fmax(0.5 * (quantile(d, n, 0.84) - quantile(d, n, 0.16)), 0.05);
        plan->ready |= 1;
    }
    free(d);
    free(method);
    return SPARSE_OK;
}

int sparse__stop_check(const sparse__stop_plan *plan, size_t k, double acc, double *pred_acc, double *pred_log_sd)
{
    if (!plan->ready || plan->bar < 0 || k < 1 || k >= plan->epochs)
        return 0;
    const double *row = plan->gain + 3 * k;
    if (row[2] == 0) /* too few curves reach this point of the schedule */
        return 0;
    const double le = log_error(acc, plan->half);
    if (1.0 - exp(le - row[0]) >= plan->bar)
        return 0;
    *pred_acc = 1.0 - exp(le - row[1]);
    *pred_log_sd = row[2];
    return 1;
}
