/* The surrogate's hyper-parameter schedule (sparse_exp_gp_schedule): the
 * hyper-parameters a MOBO driver with n observations uses are those fitted
 * on its first p(n) observations, where p(n) is the last schedule point at
 * or below n. Up to SCHED_DENSE every count is a point; beyond, a point
 * follows the last one at SCHED_GROWTH times it. A fit beyond SCHED_DENSE
 * starts from the previous point's hyper-parameters (one start, no random
 * restarts, at most SPARSE__GP_WARM_ITER iterations: the chain goes on
 * improving them) and sees at most SPARSE__GP_FIT_CAP of the observations;
 * the GPs hold at most SPARSE__GP_SOD_CAP (a subset of data). Every fit depends
 * only on the observations and the schedule's seed, never on time or on
 * which proposal asked first: the schedule memoises the fits, and one
 * without them (a resumed run) fits the same chain again. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "gp_internal.h"

#define SCHED_DENSE 32
#define SCHED_GROWTH 1.25

typedef struct sched_entry {
    size_t point, k, dim;
    uint64_t hash;  /* of the first `point` observations */
    double *theta;  /* k x (dim + 2): lengthscales, signal variance, noise */
} sched_entry;

struct sparse_exp_gp_schedule {
    uint64_t seed;
    sched_entry *e;
    size_t count, cap;
    sparse_gp **kept; /* nkept: each objective's last chain (or NULL) */
    size_t nkept;
};

SPARSE_API int sparse_exp_gp_schedule_create(sparse_exp_gp_schedule **out, uint64_t seed)
{
    SPARSE__CHECK_NULL(out);
    *out = sparse__calloc(1, sizeof **out);
    if (!*out)
        return SPARSE_ENOMEM;
    (*out)->seed = seed;
    return SPARSE_OK;
}

SPARSE_API void sparse_exp_gp_schedule_free(sparse_exp_gp_schedule *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(s->e[i].theta);
    for (size_t j = 0; j < s->nkept; j++)
        sparse_gp_free(s->kept[j]);
    free(s->kept);
    free(s->e);
    free(s);
}

SPARSE_API size_t sparse_exp_gp_schedule_point(size_t n)
{
    if (n <= SCHED_DENSE)
        return n;
    size_t p = SCHED_DENSE;
    for (;;) {
        size_t next = (size_t)ceil((double)p * SCHED_GROWTH);
        if (next > n)
            return p;
        p = next;
    }
}

/* The point before p (0 before the first). */
static size_t previous_point(size_t p)
{
    return p == 0 ? 0 : sparse_exp_gp_schedule_point(p - 1);
}

size_t sparse__gp_subset(size_t n, size_t cap, size_t *idx)
{
    if (n <= cap) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    /* The latest half of the cap (a search refines its front late), and
     * the older observations evenly spaced. */
    size_t recent = cap / 2, old = cap - recent, older = n - recent;
    for (size_t i = 0; i < old; i++)
        idx[i] = (size_t)((double)i * (double)older / (double)old);
    for (size_t i = 0; i < recent; i++)
        idx[old + i] = older + i;
    return cap;
}

static uint64_t fnv(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

static uint64_t prefix_hash(const sparse__gp_obs *o, size_t p)
{
    uint64_t h = UINT64_C(14695981039346656037);
    h = fnv(h, o->enc, p * o->dim * sizeof(double));
    h = fnv(h, o->tvalues, p * o->k * sizeof(double));
    return fnv(h, o->tnoise, p * o->k * sizeof(double));
}

static sched_entry *lookup(sparse_exp_gp_schedule *s, const sparse__gp_obs *o, size_t p)
{
    for (size_t i = 0; i < s->count; i++) {
        sched_entry *e = &s->e[i];
        if (e->point == p && e->k == o->k && e->dim == o->dim && e->hash == prefix_hash(o, p))
            return e;
    }
    return NULL;
}

static int store(sparse_exp_gp_schedule *s, const sparse__gp_obs *o, size_t p, const double *theta)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        sched_entry *e = sparse__realloc(s->e, cap * sizeof *e);
        if (!e)
            return SPARSE_ENOMEM;
        s->e = e;
        s->cap = cap;
    }
    size_t np = o->k * (o->dim + 2);
    double *t = sparse__malloc(np * sizeof *t);
    if (!t)
        return SPARSE_ENOMEM;
    memcpy(t, theta, np * sizeof *t);
    s->e[s->count++] = (sched_entry){p, o->k, o->dim, prefix_hash(o, p), t};
    return SPARSE_OK;
}

/* Fits objective j on (a subset of) the first p observations, from theta
 * (in, out: dim + 2 values); rng NULL: one start from theta. */
static int fit_one(const sparse__gp_obs *o, const sparse_gp_options *go, size_t p, size_t j, sparse_rng *rng,
                   double *theta)
{
    size_t *idx = sparse__malloc(p * sizeof *idx);
    double *X = sparse__malloc(p * (o->dim + 2) * sizeof *X), *y = X ? X + p * o->dim : NULL, *nv = y ? y + p : NULL;
    sparse_gp *gp = NULL;
    sparse_gp_options wo = *go;
    if (!rng)
        wo.max_iter = SPARSE__GP_WARM_ITER < go->max_iter ? SPARSE__GP_WARM_ITER : go->max_iter;
    int rc = idx && X ? sparse_gp_create(&gp, o->dim, &wo) : SPARSE_ENOMEM;
    size_t n = rc ? 0 : sparse__gp_subset(p, SPARSE__GP_FIT_CAP, idx);
    for (size_t i = 0; i < n; i++) {
        memcpy(X + i * o->dim, o->enc + idx[i] * o->dim, o->dim * sizeof *X);
        y[i] = o->tvalues[idx[i] * o->k + j];
        nv[i] = o->tnoise[idx[i] * o->k + j];
    }
    if (!rc)
        sparse__gp_put_hyper(gp, theta, theta[o->dim], theta[o->dim + 1]);
    if (!rc)
        rc = sparse_gp_set_data_noisy(gp, n, X, y, nv);
    if (!rc)
        rc = sparse_gp_fit(gp, rng);
    if (!rc)
        rc = sparse_gp_get_hyper(gp, theta, &theta[o->dim], &theta[o->dim + 1]);
    sparse_gp_free(gp);
    free(idx);
    free(X);
    return rc;
}

/* Fits every objective at point p from theta (in, out). */
static int fit_point(const sparse_exp_gp_schedule *s, const sparse__gp_obs *o, const sparse_gp_options *go,
                     size_t p, double *theta)
{
    sparse_rng *rng = NULL;
    int rc = p <= SCHED_DENSE ? sparse_rng_create_stream(&rng, s->seed, p) : SPARSE_OK;
    for (size_t j = 0; j < o->k && !rc; j++)
        if ((rc = fit_one(o, go, p, j, rng, theta + j * (o->dim + 2))))
            rc = sparse__error_prefix(rc, "sparse_mobo: fitting objective %zu on %zu observations", j, p);
    sparse_rng_free(rng);
    return rc;
}

int sparse__gp_schedule_hyper(sparse_exp_gp_schedule *s, const sparse__gp_obs *o, const sparse_gp_options *go,
                              double *theta)
{
    size_t p = sparse_exp_gp_schedule_point(o->n), np = o->dim + 2;
    /* The points from the last one fitted on these observations up to p. */
    size_t *todo = sparse__malloc((p + 1) * sizeof *todo), ntodo = 0;
    if (!todo)
        return SPARSE_ENOMEM;
    const sched_entry *from = NULL;
    for (size_t q = p; q > 0 && !(from = lookup(s, o, q)); q = previous_point(q))
        todo[ntodo++] = q;
    for (size_t j = 0; j < o->k; j++) {
        double *t = theta + j * np;
        if (from) {
            memcpy(t, from->theta + j * np, np * sizeof *t);
        } else {
            /* sparse_gp_create's defaults */
            for (size_t d = 0; d < o->dim; d++)
                t[d] = 0.5;
            t[o->dim] = 1.0;
            t[o->dim + 1] = 1e-2 > go->noise_min ? 1e-2 : go->noise_min;
        }
    }
    int rc = SPARSE_OK;
    while (ntodo && !rc) {
        size_t q = todo[--ntodo];
        rc = fit_point(s, o, go, q, theta);
        if (!rc)
            rc = store(s, o, q, theta);
    }
    free(todo);
    return rc;
}

size_t sparse__gp_chain_anchor(size_t n)
{
    size_t p = sparse_exp_gp_schedule_point(n), b = n / SPARSE__GP_CHAIN_BLOCK * SPARSE__GP_CHAIN_BLOCK;
    return p > b ? p : b;
}

/* g (a chain) extends to these rows: the same options, base and theta,
 * and its rows a prefix of them. */
static int chain_fits(const sparse_gp *g, const sparse_gp_options *go, size_t dim, const double *theta,
                      size_t anchor, size_t nb, size_t ns, const double *X, const double *y, const double *nv)
{
    if (!g || !g->chain || g->dim != dim || g->chain_base != nb || g->chain_anchor != anchor ||
        g->chain_rows > ns || g->opts.kernel != go->kernel || g->opts.inactive_rule != go->inactive_rule ||
        g->opts.normalize_y != go->normalize_y || g->opts.noise_min != go->noise_min ||
        g->opts.jitter != go->jitter)
        return 0;
    if (memcmp(g->ls, theta, dim * sizeof *theta) || g->sf2 != theta[dim] || g->noise != theta[dim + 1])
        return 0;
    size_t r = g->chain_rows;
    return !memcmp(g->X, X, r * dim * sizeof *X) && !memcmp(g->y, y, r * sizeof *y) &&
           !memcmp(g->obs_noise, nv, r * sizeof *nv);
}

static int keep_slots(sparse_exp_gp_schedule *s, size_t j)
{
    if (j < s->nkept)
        return SPARSE_OK;
    sparse_gp **k = sparse__realloc(s->kept, (j + 1) * sizeof *k);
    if (!k)
        return SPARSE_ENOMEM;
    for (size_t i = s->nkept; i <= j; i++)
        k[i] = NULL;
    s->kept = k;
    s->nkept = j + 1;
    return SPARSE_OK;
}

int sparse__gp_schedule_chain(sparse_exp_gp_schedule *s, size_t j, const sparse_gp_options *go, size_t dim,
                              const double *theta, size_t anchor, size_t nb, size_t ns, const double *X,
                              const double *y, const double *nv, sparse_gp **gp)
{
    int rc = keep_slots(s, j);
    if (!rc && !*gp) /* a driver left without one by a failed allocation */
        rc = sparse_gp_create(gp, dim, go);
    sparse_gp *g = *gp;
    if (rc)
        return rc;
    if (!chain_fits(g, go, dim, theta, anchor, nb, ns, X, y, nv)) {
        if (chain_fits(s->kept[j], go, dim, theta, anchor, nb, ns, X, y, nv)) {
            sparse_gp_free(g); /* the driver borrows the kept chain */
            *gp = g = s->kept[j];
            s->kept[j] = NULL;
        } else {
            sparse__gp_put_hyper(g, theta, theta[dim], theta[dim + 1]);
            rc = sparse_gp_set_data_noisy(g, nb, X, y, nv);
            g->chain = !rc;
            g->chain_base = g->chain_rows = nb;
            g->chain_anchor = anchor;
        }
    }
    if (!rc)
        g->n = g->chain_rows; /* without the pending points of a proposal */
    for (size_t i = g->n; i < ns && !rc; i++)
        rc = sparse__gp_append_row(g, X + i * dim, y[i], nv[i]);
    if (!rc)
        rc = sparse__gp_solve_alpha(g);
    g->chain_rows = g->n;
    if (rc)
        g->chain = 0;
    return rc;
}

void sparse__gp_schedule_return(sparse_exp_gp_schedule *s, size_t j, sparse_gp *gp)
{
    if (!gp || !gp->chain || keep_slots(s, j)) {
        sparse_gp_free(gp);
        return;
    }
    gp->n = gp->chain_rows;
    sparse_gp_free(s->kept[j]);
    s->kept[j] = gp;
}
