/* Proposals (paper section 3.4): the point trial t trains, chosen from the
 * records of trials 0..hist-1. The first trials are random; then, with
 * probability rho of the stage, Thompson sampling of a random Chebyshev
 * scalarisation picks one of many morphs of the stage's references, and
 * otherwise the point is random (stage 1) or a random morph of a random
 * reference (stages 2 and 3). Every draw comes from the trial's own RNG
 * stream, so a resumed run proposes what the uninterrupted one did. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "loop.h"

/* References a stage may morph among trials 0..hist-1: every successful
 * trial, or (stage 3) the Pareto-optimal ones among the feasible (all
 * successful if none is). */
static size_t references(const sparse__search *s, size_t hist, int stage, size_t *refs)
{
    size_t n = 0, nf = 0;
    for (size_t i = 0; i < hist; i++)
        if (s->trials[i].ok) {
            refs[n++] = i;
            nf += s->trials[i].feasible;
        }
    if (stage < 3 || n == 0)
        return n;
    double *F = sparse__malloc(n * 3 * sizeof *F);
    size_t *idx = sparse__malloc(n * sizeof *idx), *pool = sparse__malloc(n * sizeof *pool);
    size_t m = 0, count = 0;
    if (F && idx && pool) {
        for (size_t j = 0; j < n; j++) {
            const sparse__trial *t = &s->trials[refs[j]];
            if (nf && !t->feasible)
                continue;
            pool[m] = refs[j];
            F[3 * m] = 1.0 - t->val_acc;
            F[3 * m + 1] = t->ms;
            F[3 * m + 2] = sparse__trial_wm(s->cfg, t);
            m++;
        }
        if (!sparse_pareto_front(m, 3, F, idx, &count))
            for (size_t j = 0; j < count; j++)
                refs[j] = pool[idx[j]];
        else
            count = n;
    } else {
        count = n;
    }
    free(F);
    free(idx);
    free(pool);
    return count;
}

/* A random point, preferring one whose network fits the size cap. */
static int random_point(const sparse__search *s, sparse_rng *rng, double *point)
{
    char why[256];
    int rc = SPARSE_OK;
    for (int attempt = 0; attempt < 64 && !rc; attempt++) {
        rc = sparse_space_sample(s->lay.space, rng, point);
        if (!rc)
            sparse__fit_to_cap(&s->prob, rng, point);
        if (!rc && sparse__within_cap(&s->prob, point, why, sizeof why))
            break;
    }
    return rc;
}

/* Keys (sparse__point_key) of trials first..t-1, which trial t's proposal does
 * not see; NULL entries where unknown. Caller frees with free_keys. */
static char **pending_keys(const sparse__search *s, size_t first, size_t t)
{
    char **keys = sparse__calloc(t > first ? t - first : 1, sizeof *keys);
    for (size_t j = first; keys && j < t; j++)
        keys[j - first] = sparse__point_key(&s->prob, sparse__point_of(s, j));
    return keys;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
}

/* The morphs offered to the optimiser: count points (nvars numbers each),
 * the reference each came from and the names of its morphs. */
typedef struct candidates {
    size_t count, cap;
    double *points;
    size_t *parent;
    char (*name)[96];
} candidates;

/* Draws up to c->cap morphs of random references for trial sl->t (at most
 * 4 cap draws), keeping those within the size cap that change what the
 * reference trains and repeat no trial in flight. */
static int gather(const sparse__search *s, const sparse__slot *sl, size_t hist, const size_t *refs,
                  size_t nrefs, sparse__morph_set set, sparse_rng *rng, candidates *c)
{
    const size_t nv = s->lay.nvars, t = sl->t;
    char **ref_keys = sparse__calloc(hist ? hist : 1, sizeof *ref_keys);
    /* Trials started but not yet seen (workers > 1): a candidate that
     * repeats one of them would train the same network twice. */
    char **pend = pending_keys(s, hist, t);
    int rc = ref_keys && pend ? SPARSE_OK : SPARSE_ENOMEM;
    for (size_t i = 0; !rc && c->count < c->cap && i < 4 * c->cap; i++) {
        size_t r = refs[sparse_rng_uint(rng, nrefs)];
        double *cand = c->points + c->count * nv;
        if (!ref_keys[r])
            ref_keys[r] = sparse__point_key(&s->prob, s->trials[r].point);
        char why[256];
        if (sparse__morph(&s->lay, rng, s->trials[r].point, set, 2, cand, c->name[c->count],
                          sizeof c->name[c->count])) {
            sparse_clear_error();
            continue;
        }
        /* Candidates that cannot meet the budgets are not worth a GP
         * sample, let alone training. */
        if (!sparse__within_cap(&s->prob, cand, why, sizeof why))
            continue;
        char *key = sparse__point_key(&s->prob, cand);
        int same = key && ref_keys[r] && !strcmp(key, ref_keys[r]);
        for (size_t j = 0; key && !same && pend && j < t - hist; j++)
            same = pend[j] && !strcmp(key, pend[j]);
        free(key);
        if (same)
            continue;
        c->parent[c->count++] = r;
    }
    free_keys(ref_keys, hist);
    free_keys(pend, t - hist);
    return rc;
}

/* The optimiser over the observations of trials 0..hist-1, its seed drawn
 * from rng. */
static int make_mobo(const sparse__search *s, size_t hist, sparse_rng *rng, sparse_mobo **out)
{
    const sparse_search_config *c = s->cfg;
    sparse_mobo_options mo = SPARSE_MOBO_OPTIONS_INIT;
    mo.restarts = 2;
    if (c->lambda_box) {
        mo.scalarization = SPARSE_SCALAR_BOX;
        mo.lambda_lo = c->lambda_lo;
        mo.lambda_hi = c->lambda_hi;
    }
    /* All three on log scales: an error going from 3% to 2% counts like a
     * network 1.5x smaller. On a linear error scale the range-normalised
     * scalarisation saw every accuracy gain near the top as tiny and kept
     * proposing small, poor networks. */
    static const int logs[3] = {1, 1, 1};
    int rc = sparse_mobo_create(out, s->lay.space, 3, logs, &mo, sparse_rng_seed64(rng));
    const size_t nval = sparse_dataset_image_count(s->val);
    const double half_error = 0.5 / (double)(nval ? nval : 1);
    for (size_t i = 0; !rc && i < hist; i++) {
        const sparse__trial *tr = &s->trials[i];
        if (!tr->ok)
            continue;
        /* Zeros cannot be logged: a perfect score counts as half an error
         * on the validation split, a size of 0 bytes as one. */
        double f[3] = {fmax(1.0 - tr->val_acc, half_error), fmax(tr->ms, 1.0),
                       fmax(sparse__trial_wm(c, tr), 1.0)};
        rc = sparse_mobo_observe(*out, tr->point, f);
    }
    return rc;
}

/* Thompson sampling over the candidates (c->count > 0) into sl. */
static int choose(const sparse__search *s, sparse__slot *sl, size_t hist, sparse_rng *rng,
                  const candidates *c)
{
    const size_t nv = s->lay.nvars;
    sparse_mobo *mobo = NULL;
    size_t chosen = SIZE_MAX;
    const char *chooser = "mobo";
    int rc = make_mobo(s, hist, rng, &mobo);
    if (!rc)
        rc = sparse_mobo_propose(mobo, c->count, c->points, sl->point, &chosen, NULL);
    if (rc == SPARSE_ENUMERIC) {
        /* A GP that cannot be fitted or sampled on these observations must
         * not end the search: the trial takes a random one of the
         * candidates instead (the same one again on resume). */
        sparse_clear_error();
        rc = SPARSE_OK;
        chosen = (size_t)sparse_rng_uint(rng, c->count);
        chooser = "fallback-morph";
    }
    if (!rc && chosen < c->count) {
        sl->parent = c->parent[chosen];
        snprintf(sl->morph, sizeof sl->morph, "%s", c->name[chosen]);
        memcpy(sl->point, c->points + chosen * nv, nv * sizeof *sl->point);
        snprintf(sl->how, sizeof sl->how, "%s", chooser);
    } else if (!rc) {
        snprintf(sl->how, sizeof sl->how, "random");
    }
    sparse_mobo_free(mobo);
    return rc;
}

/* Thompson sampling over morphs of the references. */
static int propose_by_mobo(const sparse__search *s, sparse__slot *sl, size_t hist, const size_t *refs,
                           size_t nrefs, sparse__morph_set set, sparse_rng *rng)
{
    candidates c = {0, s->cfg->candidates, NULL, NULL, NULL};
    c.points = sparse__malloc(c.cap * s->lay.nvars * sizeof *c.points);
    c.parent = sparse__malloc(c.cap * sizeof *c.parent);
    c.name = sparse__malloc(c.cap * sizeof *c.name);
    int rc = c.points && c.parent && c.name ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc)
        rc = gather(s, sl, hist, refs, nrefs, set, rng, &c);
    if (!rc && c.count == 0)
        rc = sparse__error(SPARSE_EEMPTY, "no morph of the %zu references applies", nrefs);
    if (!rc)
        rc = choose(s, sl, hist, rng, &c);
    free(c.points);
    free(c.parent);
    free(c.name);
    return rc;
}

int sparse__propose(const sparse__search *s, sparse__slot *sl, size_t hist, sparse_rng *rng)
{
    const sparse_search_config *c = s->cfg;
    const size_t t = sl->t;
    const int stage = sl->stage;
    sl->parent = SPARSE__NO_PARENT;
    sl->morph[0] = '\0';
    size_t *refs = sparse__malloc((hist + 1) * sizeof *refs);
    if (!refs)
        return SPARSE_ENOMEM;
    size_t nrefs = t < c->initial_trials ? 0 : references(s, hist, stage, refs);
    /* Stage 2 morphs pruning parameters only; without any (pruning off in
     * the config) it morphs like stage 1. */
    int pruning_vars = s->lay.prune != SIZE_MAX || s->lay.kl_weight != SIZE_MAX;
    sparse__morph_set set = stage == 2 && pruning_vars ? SPARSE__MORPH_PRUNING_ONLY : SPARSE__MORPH_ALL;
    int rc;
    if (nrefs == 0) {
        snprintf(sl->how, sizeof sl->how, "%s", t < c->initial_trials ? "initial" : "random");
        rc = random_point(s, rng, sl->point);
    } else if (sparse_rng_uniform(rng) >= c->stage_rho[stage - 1]) {
        if (stage == 1) {
            snprintf(sl->how, sizeof sl->how, "random");
            rc = random_point(s, rng, sl->point);
        } else {
            snprintf(sl->how, sizeof sl->how, "random-morph");
            sl->parent = refs[sparse_rng_uint(rng, nrefs)];
            rc = sparse__morph(&s->lay, rng, s->trials[sl->parent].point, set, 2, sl->point, sl->morph,
                               sizeof sl->morph);
        }
    } else {
        rc = propose_by_mobo(s, sl, hist, refs, nrefs, set, rng);
    }
    free(refs);
    return rc;
}
