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
#include "sparse/experimental.h"

/* References a stage may morph among trials[0..hist-1]: every successful
 * trial, or (stage 3) the Pareto-optimal ones, by the accuracy the run
 * ranks with, among those that may be on the front (every successful one
 * not stopped early if none may). */
static int references(const sparse_search_config *cfg, const sparse__trial *trials, size_t hist, int stage,
                      size_t *refs, size_t *count)
{
    size_t n = 0, nf = 0;
    for (size_t i = 0; i < hist; i++)
        if (trials[i].ok) {
            refs[n++] = i;
            nf += sparse__front_candidate(&trials[i]);
        }
    *count = n;
    if (stage < 3 || n == 0)
        return SPARSE_OK;
    double *F = sparse__malloc(n * 3 * sizeof *F);
    size_t *idx = sparse__malloc(n * sizeof *idx), *pool = sparse__malloc(n * sizeof *pool);
    size_t m = 0, front = 0;
    int rc = F && idx && pool ? SPARSE_OK : SPARSE_ENOMEM;
    for (size_t j = 0; !rc && j < n; j++) {
        const sparse__trial *t = &trials[refs[j]];
        if (nf ? !sparse__front_candidate(t) : t->partial)
            continue;
        pool[m] = refs[j];
        F[3 * m] = 1.0 - sparse__rank_accuracy(cfg, t);
        F[3 * m + 1] = t->ms;
        F[3 * m + 2] = sparse__trial_wm(cfg, t);
        m++;
    }
    if (!rc && m && !(rc = sparse_pareto_front(m, 3, F, idx, &front))) {
        for (size_t j = 0; j < front; j++)
            refs[j] = pool[idx[j]];
        *count = front;
    } else if (rc && rc != SPARSE_ENOMEM) {
        sparse_clear_error(); /* no front: every successful trial */
        rc = SPARSE_OK;
    }
    free(F);
    free(idx);
    free(pool);
    return rc;
}

/* What trials 0..t-1 trained, recorded or in flight, sorted: their
 * configurations (each is trained once) and their architectures (once per
 * trial), both from sparse__point_keys. */
typedef struct seen_keys {
    char **keys, **archs;
    size_t n, narchs;
} seen_keys;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int seen_open(seen_keys *k, const sparse__search *s, size_t t)
{
    k->n = k->narchs = 0;
    k->keys = sparse__calloc(t ? t : 1, sizeof *k->keys);
    k->archs = sparse__calloc(t ? t : 1, sizeof *k->archs);
    if (!k->keys || !k->archs)
        return SPARSE_ENOMEM;
    int rc = SPARSE_OK;
    for (size_t j = 0; !rc && j < t; j++) {
        const double *point = sparse__point_of(s, j);
        char *key = NULL, *arch = NULL;
        rc = point ? sparse__point_keys(&s->prob, point, &key, &arch) : SPARSE_OK;
        if (key)
            k->keys[k->n++] = key;
        if (arch)
            k->archs[k->narchs++] = arch;
    }
    qsort(k->keys, k->n, sizeof *k->keys, cmp_key);
    qsort(k->archs, k->narchs, sizeof *k->archs, cmp_key);
    return rc;
}

static void seen_close(seen_keys *k)
{
    for (size_t i = 0; k->keys && i < k->n; i++)
        free(k->keys[i]);
    for (size_t i = 0; k->archs && i < k->narchs; i++)
        free(k->archs[i]);
    free(k->keys);
    free(k->archs);
}

/* How many earlier trials trained point's architecture, into *count. */
static int arch_count(const sparse__search *s, const seen_keys *k, const double *point, size_t *count)
{
    char *arch = NULL;
    int rc = sparse__point_keys(&s->prob, point, NULL, &arch);
    size_t lo = 0, hi = k->narchs, n = 0;
    while (arch && lo < hi) { /* the first entry not below arch */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(k->archs[mid], arch) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (arch && lo + n < k->narchs && !strcmp(k->archs[lo + n], arch))
        n++;
    free(arch);
    *count = n;
    return rc;
}

/* *seen = 1 if point trains what a trial before it trained (or has no
 * key). */
static int seen_point(const sparse__search *s, const seen_keys *k, const double *point, int *seen)
{
    char *key = NULL;
    int rc = sparse__point_keys(&s->prob, point, &key, NULL);
    *seen = !key || bsearch(&key, k->keys, k->n, sizeof *k->keys, cmp_key) != NULL;
    free(key);
    return rc;
}

/* A random point, preferring one whose network fits the size cap and that
 * no earlier trial trained. */
static int random_point(const sparse__search *s, const seen_keys *seen, sparse_rng *rng, double *point)
{
    char why[256];
    int rc = SPARSE_OK;
    for (int attempt = 0; attempt < 64 && !rc; attempt++) {
        int repeat = 0;
        rc = sparse_space_sample(s->lay.space, rng, point);
        if (!rc)
            sparse__fit_to_cap(&s->prob, rng, point);
        if (!rc && sparse__within_cap(&s->prob, point, why, sizeof why) &&
            !(rc = seen_point(s, seen, point, &repeat)) && !repeat)
            break;
    }
    return rc;
}

/* The morphs offered to the optimiser: count points (nvars numbers each),
 * the reference each came from and the names of its morphs. */
typedef struct candidates {
    size_t count, cap;
    double *points;
    size_t *parent;
    char (*name)[96];
} candidates;

/* One proposal's state: the trials it sees (with the surrogate's posterior
 * when stage 3 ranks by it), what every earlier trial trained, and the
 * optimiser once it is built. */
typedef struct proposal {
    const sparse__search *s;
    sparse__slot *sl;
    size_t hist;
    sparse_rng *rng;
    const sparse__trial *trials; /* s->trials, or view */
    sparse__trial *view;
    seen_keys seen;
    sparse_mobo *mobo;
} proposal;

/* A morph of a random reference into out, within the size cap and new (at
 * most 32 draws): *found = 1 if one was found. */
static int new_morph(proposal *pr, const size_t *refs, size_t nrefs, sparse__morph_set set, double *out,
                     char *names, size_t cap, size_t *parent, int *found)
{
    const sparse__search *s = pr->s;
    char why[256];
    *found = 0;
    for (int attempt = 0; attempt < 32; attempt++) {
        size_t r = refs[sparse_rng_uint(pr->rng, nrefs)];
        int rc = sparse__morph(&s->lay, pr->rng, s->trials[r].point, set, 2, out, names, cap), repeat = 0;
        if (rc == SPARSE_ENOMEM)
            return rc;
        if (rc) { /* no morph of this reference */
            sparse_clear_error();
            continue;
        }
        /* Candidates that cannot meet the budgets are not worth a GP
         * sample, let alone training; a morph that trains what a trial
         * already trained (a no-op, or a repeat) tells nothing new. */
        if (!sparse__within_cap(&s->prob, out, why, sizeof why))
            continue;
        if ((rc = seen_point(s, &pr->seen, out, &repeat)))
            return rc;
        if (!repeat) {
            *parent = r;
            *found = 1;
            return SPARSE_OK;
        }
    }
    return SPARSE_OK;
}

/* Up to c->cap new morphs of random references (c->cap draws). */
static int gather(proposal *pr, const size_t *refs, size_t nrefs, sparse__morph_set set, candidates *c)
{
    const size_t nv = pr->s->lay.nvars;
    int rc = SPARSE_OK;
    for (size_t i = 0; !rc && c->count < c->cap && i < c->cap; i++) {
        size_t parent;
        int found = 0;
        rc = new_morph(pr, refs, nrefs, set, c->points + c->count * nv, c->name[c->count], sizeof c->name[c->count],
                       &parent, &found);
        if (!rc && found)
            c->parent[c->count++] = parent;
    }
    return rc;
}

/* The optimiser over the observations of trials 0..hist-1 (its seed drawn
 * from the proposal's stream), told of the trials in flight that this one
 * does not see. */
static int make_mobo(proposal *pr)
{
    const sparse__search *s = pr->s;
    const size_t nv = s->lay.nvars, t = pr->sl->t, hist = pr->hist;
    if (pr->mobo)
        return SPARSE_OK;
    int rc = sparse__accuracy_mobo(&s->prob, s->trials, hist, 3, sparse_rng_seed64(pr->rng), &pr->mobo);
    if (!rc && s->gp_schedule)
        rc = sparse_exp_mobo_set_schedule(pr->mobo, s->gp_schedule);
    double *pending = t > hist ? sparse__malloc((t - hist) * nv * sizeof *pending) : NULL;
    if (!rc && t > hist && !pending)
        rc = SPARSE_ENOMEM;
    for (size_t j = hist; !rc && j < t; j++)
        memcpy(pending + (j - hist) * nv, sparse__point_of(s, j), nv * sizeof *pending);
    if (!rc && t > hist)
        rc = sparse_mobo_set_pending(pr->mobo, t - hist, pending);
    free(pending);
    return rc;
}

/* Stage 3 with ranking by the posterior: the trials it sees with the
 * optimiser's posterior of their accuracy. A GP that cannot be fitted
 * leaves the measurements to rank by. */
static int rank_by_posterior(proposal *pr)
{
    const sparse__search *s = pr->s;
    int rc = make_mobo(pr);
    if (!rc && !(pr->view = sparse__malloc((pr->hist ? pr->hist : 1) * sizeof *pr->view)))
        rc = SPARSE_ENOMEM;
    if (rc)
        return rc;
    memcpy(pr->view, s->trials, pr->hist * sizeof *pr->view); /* borrowing their points */
    rc = sparse_mobo_observation_count(pr->mobo) ? sparse__posterior_from(pr->mobo, 3, &s->prob, pr->view, pr->hist)
                                                 : SPARSE_OK;
    if (rc == SPARSE_ENUMERIC) {
        sparse_clear_error();
        for (size_t i = 0; i < pr->hist; i++)
            pr->view[i].has_post = 0;
        rc = SPARSE_OK;
    }
    pr->trials = pr->view;
    return rc;
}

/* Thompson sampling over the candidates (c->count > 0) into the slot. */
static int choose(proposal *pr, const candidates *c)
{
    sparse__slot *sl = pr->sl;
    const size_t nv = pr->s->lay.nvars;
    size_t chosen = SIZE_MAX;
    const char *chooser = "mobo";
    /* A candidate that trains a measured architecture again (another
     * recipe or pruning) must earn its place with what is known of it. */
    const size_t repeats = pr->s->cfg->arch_repeats;
    unsigned char *known = repeats ? sparse__calloc(c->count, 1) : NULL;
    int rc = repeats && !known ? SPARSE_ENOMEM : make_mobo(pr);
    for (size_t i = 0; !rc && known && i < c->count; i++) {
        size_t n = 0;
        rc = arch_count(pr->s, &pr->seen, c->points + i * nv, &n);
        known[i] = n >= repeats;
    }
    if (!rc)
        rc = sparse_mobo_propose_known(pr->mobo, c->count, c->points, known, sl->point, &chosen, NULL);
    free(known);
    if (rc == SPARSE_ENUMERIC) {
        /* A GP that cannot be fitted or sampled on these observations must
         * not end the search: the trial takes a random one of the
         * candidates instead (the same one again on resume). */
        sparse_clear_error();
        rc = SPARSE_OK;
        chosen = (size_t)sparse_rng_uint(pr->rng, c->count);
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
    return rc;
}

/* Thompson sampling over new morphs of the references; a random point if
 * every morph drawn repeats an earlier trial. */
static int propose_by_mobo(proposal *pr, const size_t *refs, size_t nrefs, sparse__morph_set set)
{
    const sparse__search *s = pr->s;
    candidates c = {0, s->cfg->candidates, NULL, NULL, NULL};
    c.points = sparse__malloc(c.cap * s->lay.nvars * sizeof *c.points);
    c.parent = sparse__malloc(c.cap * sizeof *c.parent);
    c.name = sparse__malloc(c.cap * sizeof *c.name);
    int rc = c.points && c.parent && c.name ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc)
        rc = gather(pr, refs, nrefs, set, &c);
    if (!rc && c.count == 0) {
        snprintf(pr->sl->how, sizeof pr->sl->how, "random");
        rc = random_point(s, &pr->seen, pr->rng, pr->sl->point);
    } else if (!rc) {
        rc = choose(pr, &c);
    }
    free(c.points);
    free(c.parent);
    free(c.name);
    return rc;
}

/* A random proposal: a random point (stage 1) or a new random morph of a
 * random reference (stages 2 and 3, a random point if none is new). */
static int propose_at_random(proposal *pr, const size_t *refs, size_t nrefs, sparse__morph_set set)
{
    sparse__slot *sl = pr->sl;
    size_t parent;
    int found = 0, rc = sl->stage > 1 ? new_morph(pr, refs, nrefs, set, sl->point, sl->morph, sizeof sl->morph,
                                                  &parent, &found)
                                      : SPARSE_OK;
    if (rc)
        return rc;
    if (found) {
        snprintf(sl->how, sizeof sl->how, "random-morph");
        sl->parent = parent;
        return SPARSE_OK;
    }
    sl->morph[0] = '\0';
    snprintf(sl->how, sizeof sl->how, "random");
    return random_point(pr->s, &pr->seen, pr->rng, sl->point);
}

int sparse__propose(const sparse__search *s, sparse__slot *sl, size_t hist, sparse_rng *rng)
{
    const sparse_search_config *c = s->cfg;
    const size_t t = sl->t;
    const int stage = sl->stage;
    sl->parent = SPARSE__NO_PARENT;
    sl->morph[0] = '\0';
    proposal pr = {s, sl, hist, rng, s->trials, NULL, {NULL, NULL, 0, 0}, NULL};
    size_t *refs = sparse__malloc((hist + 1) * sizeof *refs), nrefs = 0;
    int rc = refs ? seen_open(&pr.seen, s, t) : SPARSE_ENOMEM;
    if (!rc && t >= c->initial_trials && stage == 3 && c->rank_posterior)
        rc = rank_by_posterior(&pr);
    if (!rc && t >= c->initial_trials)
        rc = references(c, pr.trials, hist, stage, refs, &nrefs);
    /* Stage 2 morphs pruning parameters only; without any (pruning off in
     * the config) it morphs like stage 1. */
    int pruning_vars = s->lay.prune != SIZE_MAX || s->lay.kl_weight != SIZE_MAX;
    sparse__morph_set set = stage == 2 && pruning_vars ? SPARSE__MORPH_PRUNING_ONLY : SPARSE__MORPH_ALL;
    if (!rc && nrefs == 0) {
        snprintf(sl->how, sizeof sl->how, "%s", t < c->initial_trials ? "initial" : "random");
        rc = random_point(s, &pr.seen, rng, sl->point);
    } else if (!rc && sparse_rng_uniform(rng) >= c->stage_rho[stage - 1]) {
        rc = propose_at_random(&pr, refs, nrefs, set);
    } else if (!rc) {
        rc = propose_by_mobo(&pr, refs, nrefs, set);
    }
    sparse_mobo_free(pr.mobo);
    free(pr.view);
    seen_close(&pr.seen);
    free(refs);
    return rc;
}

/* The stream of the schedule's seed: far above any trial's and the
 * posterior's. */
#define GP_SCHEDULE_STREAM ((UINT64_C(1) << 40) + 1)

int sparse__gp_schedule_open(sparse__search *s)
{
    sparse_rng *rng = NULL;
    int rc = sparse_rng_create_stream(&rng, s->cfg->seed, GP_SCHEDULE_STREAM);
    if (!rc)
        rc = sparse_exp_gp_schedule_create(&s->gp_schedule, sparse_rng_seed64(rng));
    sparse_rng_free(rng);
    return rc;
}
