/* The final stage (stage 4): the most accurate searched network of each box
 * in turn, trained again for longer, widened first to fill its box with
 * final.fill (an SpVD one is instead pruned after training with thresholds
 * low enough to fit its box again, fitbox.c; with final.fill: dense a
 * pruned one is trained plain, widened alike); and when, under a time
 * budget, it has to start. The search ranks networks after a few epochs
 * each; the networks a user will deploy deserve the longer training. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "../core/internal.h"
#include "loop.h"

void sparse__final_box(const sparse_search_config *c, size_t k, double *ms, double *wm)
{
    if (c->final_nboxes) {
        *ms = c->final_box_ms[k % c->final_nboxes];
        *wm = c->final_box_wm[k % c->final_nboxes];
    } else {
        *ms = c->budget_ms;
        *wm = c->budget_wm;
    }
}

/* The most accurate (sparse__rank_accuracy: the posterior mean once
 * computed, else the validation accuracy; the lowest id among equals) of
 * trials 0..limit-1 within final box k that taken does not mark, never one
 * stopped early; SPARSE__NO_PARENT if none. */
static size_t best_in_box(const sparse_search_config *c, const sparse__trial *trials, size_t limit, size_t k,
                          const unsigned char *taken)
{
    double ms, wm;
    sparse__final_box(c, k, &ms, &wm);
    size_t best = SPARSE__NO_PARENT;
    for (size_t i = 0; i < limit; i++) {
        const sparse__trial *tr = &trials[i];
        if (tr->ok != 1 || tr->partial || taken[i] || (ms > 0 && tr->ms > ms) ||
            (wm > 0 && sparse__trial_wm(c, tr) > wm))
            continue;
        if (best == SPARSE__NO_PARENT || sparse__rank_accuracy(c, tr) > sparse__rank_accuracy(c, &trials[best]))
            best = i;
    }
    return best;
}

size_t sparse__pick_final(const sparse_search_config *c, const sparse__trial *trials, size_t limit, size_t j,
                          const unsigned char *taken, size_t *box)
{
    size_t nboxes = c->final_nboxes ? c->final_nboxes : 1, p = SPARSE__NO_PARENT;
    for (size_t k = 0; k < nboxes && p == SPARSE__NO_PARENT; k++) {
        *box = j + k;
        p = best_in_box(c, trials, limit, *box, taken);
    }
    return p;
}

/* Widens point by the largest factor (1 to 4) whose dense network takes at
 * most target of limit; 1 if that made another network, else 0 with point
 * unchanged. Scaling may move only variables the network does not use (the
 * FC weights without an FC layer): then it is the same network. */
static int widen(const sparse__problem *p, double *point, const double *limit, double target)
{
    const size_t nvars = p->lay->nvars;
    double *before = sparse__malloc(nvars * sizeof *before);
    if (!before) {
        sparse_clear_error(); /* the unwidened point is still a valid one */
        return 0;
    }
    memcpy(before, point, nvars * sizeof *before);
    int widened = 0;
    if (sparse__widest_fit(p, point, 1.0, 4.0, limit, target)) {
        char *k0 = NULL, *k1 = NULL;
        if (sparse__point_keys(p, before, &k0, NULL) || sparse__point_keys(p, point, &k1, NULL))
            sparse_clear_error(); /* unknown: taken as not widened, as below */
        widened = k0 && k1 && strcmp(k0, k1);
        free(k0);
        free(k1);
    }
    if (!widened)
        memcpy(point, before, nvars * sizeof *point);
    free(before);
    return widened;
}

/* point made the plain network of its architecture: pruning none, the
 * variables only pruning uses inactive (NaN), as a point of the space that
 * chose none has them. 0 if the space has no plain networks. */
static int make_plain(const sparse__problem *p, double *point)
{
    const sparse__layout *lay = p->lay;
    if (lay->prune == SIZE_MAX || !(p->cfg->prune & 1u))
        return 0;
    int *active = sparse__malloc(lay->nvars * sizeof *active);
    if (!active) {
        sparse_clear_error();
        return 0;
    }
    point[lay->prune] = 0; /* none is the first of the allowed choices */
    int ok = !sparse_space_active(lay->space, point, active);
    for (size_t i = 0; ok && i < lay->nvars; i++)
        if (!active[i])
            point[i] = NAN;
    sparse_clear_error();
    free(active);
    return ok;
}

/* final.fill: dense on a pruned parent: point made plain and widened as a
 * plain parent's would be in limit; 0 (point unchanged) if even unwidened
 * its dense network is outside limit. */
static int fill_dense(const sparse__problem *p, const double *limit, double *point)
{
    const size_t nvars = p->lay->nvars;
    double *plain = sparse__malloc(nvars * sizeof *plain), share;
    if (!plain) {
        sparse_clear_error(); /* the parent's point is still a valid one */
        return 0;
    }
    memcpy(plain, point, nvars * sizeof *plain);
    int filled = 0;
    if (make_plain(p, plain) && (share = sparse__share_of(p, plain, limit)) >= 0 && share <= 1.0) {
        filled = SPARSE__FILLED_DENSE | (widen(p, plain, limit, 1.0) ? SPARSE__FILLED_WIDER : 0);
        memcpy(point, plain, nvars * sizeof *point);
    }
    free(plain);
    return filled;
}

/* A pruned network's size is known only after training: the wider one is
 * taken to keep the parent's share of its dense MS and WM, with a tenth to
 * spare. SpVD networks are not widened: the KL term prunes a wider one back
 * to about its parent's size (measured on MNIST: five widened SpVD finals
 * ended at 0.84-0.96 of their parents' MS and -0.16 to +0.22 points of
 * validation accuracy, in 1.5x the time of a plain retrain, which gained
 * +0.14 to +0.40). Retrained as they are, they can still end above their
 * box: sparse__fit_box then lowers their thresholds. With final.fill: dense
 * a pruned network is retrained plain instead, filling the box its pruned
 * parent used a third to a half of (measured on MNIST: 12 of 12 final picks
 * SpVD networks of 563-1,644 B in boxes of up to 3,072 B). */
int sparse__fill_box(const sparse__problem *p, const sparse__trial *tr, size_t box, double *point)
{
    const sparse_search_config *c = p->cfg;
    double limit[2];
    sparse__cap_figures dense;
    sparse__final_box(c, box, &limit[0], &limit[1]);
    if (!c->final_fill || (limit[0] <= 0 && limit[1] <= 0) || !sparse__dense_figures(p, tr->point, &dense) ||
        !dense.ms || !dense.wm)
        return 0;
    sparse__genome g;
    sparse__genome_decode(p->lay, c, tr->point, &g);
    int filled;
    if (c->final_fill == SPARSE__FILL_DENSE && g.prune != SPARSE_PRUNE_NONE &&
        (filled = fill_dense(p, limit, point)))
        return filled;
    if (g.prune == SPARSE_PRUNE_SPVD)
        return 0;
    limit[0] /= fmin(tr->ms / (double)dense.ms, 1.0);
    limit[1] /= fmin(sparse__trial_wm(c, tr) / (double)dense.wm, 1.0);
    return widen(p, point, limit, g.prune == SPARSE_PRUNE_NONE ? 1.0 : 0.9) ? SPARSE__FILLED_WIDER : 0;
}

/* The median seconds per epoch per byte of dense MS of the searched trials
 * of trials[0..n-1] trained with pruning method `method`; -1 if none. */
static double epoch_cost(const sparse__problem *p, const sparse__trial *trials, size_t n, int method)
{
    double *rate = sparse__malloc((n ? n : 1) * sizeof *rate), median = -1;
    size_t count = 0;
    if (!rate) {
        sparse_clear_error();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const sparse__trial *tr = &trials[i];
        sparse__genome g;
        sparse__cap_figures f;
        if (tr->ok != 1 || tr->stage == 4 || !tr->point || tr->epochs <= 0 || tr->seconds <= 0)
            continue;
        sparse__genome_decode(p->lay, p->cfg, tr->point, &g);
        if (g.prune == method && sparse__dense_figures(p, tr->point, &f) && f.ms)
            rate[count++] = tr->seconds / tr->epochs / (double)f.ms;
    }
    if (count) {
        gsl_sort(rate, 1, count);
        median = gsl_stats_median_from_sorted_data(rate, 1, count);
    }
    free(rate);
    return median;
}

/* A pruned network trained plain (final.fill: dense) takes a plain
 * network's time per epoch: its parent's in the search times what the
 * search's plain networks took per epoch and byte over what those of the
 * parent's method took (with activation noise two to three times as long);
 * 1 if the search trained none of either. */
static double plain_speedup(const sparse__problem *p, const sparse__trial *trials, size_t n, int method)
{
    double plain = epoch_cost(p, trials, n, SPARSE_PRUNE_NONE), pruned = epoch_cost(p, trials, n, method);
    return plain > 0 && pruned > 0 ? plain / pruned : 1.0;
}

/* Pruned networks, often the more accurate, take two to three times longer
 * per epoch than plain ones: each network is costed at its own time per
 * epoch in the search, a pruned one trained plain at a plain network's. */
int sparse__final_seconds(const sparse__problem *p, const sparse__trial *trials, size_t n, size_t workers,
                          double *out)
{
    const sparse_search_config *c = p->cfg;
    const size_t nvars = p->lay->nvars;
    *out = 0;
    unsigned char *taken = sparse__calloc(n + 1, 1);
    double *point = sparse__malloc(nvars * sizeof *point);
    double *free_at = sparse__calloc(workers, sizeof *free_at);
    if (!taken || !point || !free_at) {
        free(taken);
        free(point);
        free(free_at);
        return SPARSE_ENOMEM;
    }
    double speedup[SPARSE__PRUNE_METHODS] = {1.0, -1.0, -1.0}; /* by the parent's method, once needed */
    for (size_t j = 0; j < c->final_trials; j++) {
        size_t box, parent = sparse__pick_final(c, trials, n, j, taken, &box);
        if (parent == SPARSE__NO_PARENT)
            break;
        taken[parent] = 1;
        const sparse__trial *tr = &trials[parent];
        double growth = 1.0;
        sparse__cap_figures before, after;
        memcpy(point, tr->point, nvars * sizeof *point);
        int filled = sparse__fill_box(p, tr, box, point);
        if (filled && sparse__dense_figures(p, tr->point, &before) &&
            sparse__dense_figures(p, point, &after) && before.ms)
            growth = (double)after.ms / (double)before.ms;
        if (filled & SPARSE__FILLED_DENSE) {
            sparse__genome g;
            sparse__genome_decode(p->lay, c, tr->point, &g);
            if (speedup[g.prune] < 0)
                speedup[g.prune] = plain_speedup(p, trials, n, g.prune);
            growth *= speedup[g.prune];
        }
        size_t first_free = 0;
        for (size_t w = 1; w < workers; w++)
            if (free_at[w] < free_at[first_free])
                first_free = w;
        if (tr->epochs > 0)
            free_at[first_free] += 1.1 * growth * tr->seconds / tr->epochs * (double)c->final_epochs;
    }
    for (size_t w = 0; w < workers; w++)
        *out = fmax(*out, free_at[w]);
    free(taken);
    free(point);
    free(free_at);
    return SPARSE_OK;
}

/* ---- in the loop ---- */

int sparse__final_estimate(sparse__search *s, double *out)
{
    double seconds;
    if (s->final_estimate_at != s->n) {
        int rc = sparse__final_seconds(&s->prob, s->trials, s->n, s->workers, &seconds);
        if (rc)
            return rc;
        s->final_estimate = seconds;
        s->final_estimate_at = s->n;
    }
    *out = s->final_estimate;
    return SPARSE_OK;
}

int sparse__plan_final(sparse__search *s, double elapsed, double budget)
{
    if (s->next >= s->final_from || !s->cfg->final_trials || budget <= 0)
        return SPARSE_OK;
    double need;
    int rc = sparse__final_estimate(s, &need);
    if (!rc && need > 0 && elapsed + need >= budget) {
        s->final_from = s->next;
        s->total = s->next + s->cfg->final_trials;
    }
    return rc;
}

/* The final trials before t are all recorded or in flight. With ranking
 * by the posterior, the searched trials' posterior is computed once, when
 * the first final trial is chosen (again on a resume: the same records give
 * the same figures). */
int sparse__final_parent(sparse__search *s, size_t t, size_t *parent, size_t *box)
{
    *parent = SPARSE__NO_PARENT;
    size_t searched = s->final_from;
    if (s->cfg->rank_posterior && !s->final_ranked) {
        int rc = sparse__posterior(&s->prob, s->trials, searched);
        if (rc == SPARSE_ENUMERIC) { /* a GP that cannot be fitted: the measurements rank */
            sparse_clear_error();
            for (size_t i = 0; i < searched; i++)
                s->trials[i].has_post = 0;
        } else if (rc) {
            return rc;
        }
        s->final_ranked = 1;
    }
    unsigned char *taken = sparse__calloc(searched + 1, 1);
    if (!taken)
        return SPARSE_ENOMEM;
    for (size_t j = searched; j < t; j++) {
        size_t p = sparse__parent_of(s, j);
        if (p < searched)
            taken[p] = 1;
    }
    *parent = sparse__pick_final(s->cfg, s->trials, searched, t - s->final_from, taken, box);
    free(taken);
    return SPARSE_OK;
}
