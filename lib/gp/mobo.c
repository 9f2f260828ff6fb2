/* sparse_mobo: random Chebyshev scalarisations + Thompson sampling over one
 * GP per objective (Paria et al. 2019; SpArSe section 3.4). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "gp_internal.h"
#include "sparse/gp.h"

struct sparse_mobo {
    sparse_mobo_options opts;
    sparse_space *space;
    size_t k, nv, dim;
    int *log_obj;
    double *lambda_lo, *lambda_hi;
    sparse_rng *rng;
    sparse_gp **gps;
    size_t n, cap;
    double *points;   /* cap x nv */
    double *enc;      /* cap x dim */
    double *values;   /* cap x k, as observed */
    double *tvalues;  /* cap x k, log-transformed where asked */
    double *tnoise;   /* cap x k, each observation's own noise variance, as tvalues are modelled */
    size_t n_fitted;  /* observations at the last hyper-parameter fit */
    int built;        /* the GPs hold exactly the n observations (no fantasies) */
    double *pending;  /* npending x dim: encoded points being evaluated */
    size_t npending;
    sparse_exp_gp_schedule *sched; /* borrowed; NULL: refit_every */
};

SPARSE__STRUCT_VERSIONS(mobo_options_versions, sparse_mobo_options, SPARSE_MOBO_OPTIONS_INIT,
                        SPARSE_MOBO_OPTIONS_VERSION, offsetof(sparse_mobo_options, broad_share),
                        sizeof(sparse_mobo_options));

SPARSE_API int sparse_mobo_options_init(sparse_mobo_options *opts, unsigned version)
{
    return sparse__struct_init(&mobo_options_versions, opts, version);
}

SPARSE_API void sparse_mobo_free(sparse_mobo *m)
{
    if (!m)
        return;
    if (m->gps)
        for (size_t j = 0; j < m->k; j++) {
            if (m->sched) /* its chains go back to the schedule */
                sparse__gp_schedule_return(m->sched, j, m->gps[j]);
            else
                sparse_gp_free(m->gps[j]);
        }
    free(m->gps);
    sparse_space_free(m->space);
    sparse_rng_free(m->rng);
    free(m->log_obj);
    free(m->lambda_lo);
    free(m->lambda_hi);
    free(m->points);
    free(m->enc);
    free(m->values);
    free(m->tvalues);
    free(m->tnoise);
    free(m->pending);
    free(m);
}

static int check_options(const sparse_mobo_options *o, size_t k)
{
    if (o->scalarization != SPARSE_SCALAR_DIRICHLET && o->scalarization != SPARSE_SCALAR_BOX)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_options.scalarization: %d", o->scalarization);
    if (o->scalarization == SPARSE_SCALAR_BOX) {
        if (!o->lambda_lo || !o->lambda_hi)
            return sparse__error(SPARSE_EINVAL, "sparse_mobo_options: BOX needs lambda_lo and lambda_hi");
        double sum = 0;
        for (size_t j = 0; j < k; j++) {
            if (!(o->lambda_lo[j] >= 0) || !(o->lambda_hi[j] >= o->lambda_lo[j]) ||
                !isfinite(o->lambda_hi[j]))
                return sparse__error(SPARSE_EINVAL, "sparse_mobo_options: lambda box %zu is [%g, %g]",
                                     j, o->lambda_lo[j], o->lambda_hi[j]);
            sum += o->lambda_hi[j];
        }
        if (!(sum > 0))
            return sparse__error(SPARSE_EINVAL, "sparse_mobo_options: lambda box upper bounds sum to 0");
    }
    if (!(o->broad_share >= 0 && o->broad_share <= 1))
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_options.broad_share %g not in [0, 1]", o->broad_share);
    if (o->candidate_count == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_options.candidate_count is 0");
    if (!(o->local_fraction >= 0 && o->local_fraction <= 1))
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_options.local_fraction %g not in [0, 1]",
                             o->local_fraction);
    if (o->refit_every == 0 || o->restarts < 1)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_options: refit_every and restarts must be >= 1");
    return SPARSE_OK;
}

/* A GP for objective j with the driver's options. */
static int new_gp(sparse_mobo *m, size_t j)
{
    sparse_gp_options go = SPARSE_GP_OPTIONS_INIT;
    go.kernel = m->opts.kernel;
    go.restarts = m->opts.restarts;
    go.inactive_rule = sparse_space_has_conditions(m->space);
    return sparse_gp_create(&m->gps[j], m->dim, &go);
}

SPARSE_API int sparse_mobo_create(sparse_mobo **out, const sparse_space *space, size_t k,
                                  const int *log_objective, const sparse_mobo_options *opts,
                                  uint64_t seed)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(space);
    if (k == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_create: no objectives");
    if (sparse_space_var_count(space) == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_create: empty space");
    sparse_mobo_options o;
    int rc = sparse__struct_read(&mobo_options_versions, &o, opts, "sparse_mobo_create");
    if (!rc)
        rc = check_options(&o, k);
    if (rc)
        return rc;
    sparse_mobo *m = sparse__calloc(1, sizeof *m);
    if (!m)
        return SPARSE_ENOMEM;
    m->opts = o;
    m->k = k;
    m->nv = sparse_space_var_count(space);
    m->dim = sparse_space_encoded_dim(space);
    rc = sparse_space_clone(&m->space, space);
    if (!rc)
        rc = sparse_rng_create(&m->rng, seed);
    if (rc)
        goto fail;
    m->log_obj = sparse__calloc(k, sizeof *m->log_obj);
    m->lambda_lo = sparse__calloc(k, sizeof(double));
    m->lambda_hi = sparse__calloc(k, sizeof(double));
    m->gps = sparse__calloc(k, sizeof *m->gps);
    if (!m->log_obj || !m->lambda_lo || !m->lambda_hi || !m->gps) {
        rc = SPARSE_ENOMEM;
        goto fail;
    }
    for (size_t j = 0; j < k; j++) {
        m->log_obj[j] = log_objective ? log_objective[j] != 0 : 0;
        if (o.scalarization == SPARSE_SCALAR_BOX) {
            m->lambda_lo[j] = o.lambda_lo[j];
            m->lambda_hi[j] = o.lambda_hi[j];
        }
    }
    m->opts.lambda_lo = NULL; /* the caller's arrays are not kept */
    m->opts.lambda_hi = NULL;
    for (size_t j = 0; j < k; j++)
        if ((rc = new_gp(m, j)))
            goto fail;
    *out = m;
    return SPARSE_OK;
fail:
    sparse_mobo_free(m);
    return rc;
}

SPARSE_API size_t sparse_mobo_observation_count(const sparse_mobo *m) { return m ? m->n : 0; }

static int grow(sparse_mobo *m)
{
    if (m->n < m->cap)
        return SPARSE_OK;
    size_t cap = m->cap ? 2 * m->cap : 32;
    double *p = sparse__realloc(m->points, cap * m->nv * sizeof(double));
    if (!p)
        return SPARSE_ENOMEM;
    m->points = p;
    p = sparse__realloc(m->enc, cap * m->dim * sizeof(double));
    if (!p)
        return SPARSE_ENOMEM;
    m->enc = p;
    p = sparse__realloc(m->values, cap * m->k * sizeof(double));
    if (!p)
        return SPARSE_ENOMEM;
    m->values = p;
    p = sparse__realloc(m->tvalues, cap * m->k * sizeof(double));
    if (!p)
        return SPARSE_ENOMEM;
    m->tvalues = p;
    p = sparse__realloc(m->tnoise, cap * m->k * sizeof(double));
    if (!p)
        return SPARSE_ENOMEM;
    m->tnoise = p;
    m->cap = cap;
    return SPARSE_OK;
}

SPARSE_API int sparse_mobo_observe_noisy(sparse_mobo *m, const double *point, const double *values,
                                         const double *noise_var)
{
    SPARSE__CHECK_NULL(m);
    SPARSE__CHECK_NULL(point);
    SPARSE__CHECK_NULL(values);
    size_t idx = m->n;
    for (size_t j = 0; j < m->k; j++) {
        if (!isfinite(values[j]))
            return sparse__error(SPARSE_ENUMERIC, "sparse_mobo_observe: observation %zu objective %zu "
                                 "is %s", idx, j, isnan(values[j]) ? "NaN" : "infinite");
        if (m->log_obj[j] && !(values[j] > 0))
            return sparse__error(SPARSE_EINVAL, "sparse_mobo_observe: observation %zu objective %zu "
                                 "= %g must be > 0 (log-scaled)", idx, j, values[j]);
        if (noise_var && (!(noise_var[j] >= 0) || !isfinite(noise_var[j])))
            return sparse__error(SPARSE_ENUMERIC, "sparse_mobo_observe: observation %zu objective %zu: "
                                 "noise variance %g (need finite >= 0)", idx, j, noise_var[j]);
    }
    int rc = sparse_space_validate(m->space, point);
    if (rc)
        return sparse__error_prefix(rc, "sparse_mobo_observe: observation %zu", idx);
    rc = grow(m);
    if (rc)
        return rc;
    rc = sparse_space_encode(m->space, point, m->enc + idx * m->dim);
    if (rc)
        return rc;
    double *tv = m->tvalues + idx * m->k, *tn = m->tnoise + idx * m->k;
    for (size_t j = 0; j < m->k; j++) {
        tv[j] = m->log_obj[j] ? log(values[j]) : values[j];
        /* On a log scale the delta method: var(log v) ~ var(v) / v^2. */
        double nv = noise_var ? noise_var[j] : 0.0;
        tn[j] = m->log_obj[j] ? nv / (values[j] * values[j]) : nv;
    }
    memcpy(m->points + idx * m->nv, point, m->nv * sizeof(double));
    memcpy(m->values + idx * m->k, values, m->k * sizeof(double));
    m->n = idx + 1;
    m->built = 0; /* the GPs take the observations when next needed */
    return SPARSE_OK;
}

SPARSE_API int sparse_mobo_observe(sparse_mobo *m, const double *point, const double *values)
{
    return sparse_mobo_observe_noisy(m, point, values, NULL);
}

SPARSE_API int sparse_mobo_set_pending(sparse_mobo *m, size_t count, const double *points)
{
    SPARSE__CHECK_NULL(m);
    if (count)
        SPARSE__CHECK_NULL(points);
    double *enc = count ? sparse__malloc(count * m->dim * sizeof *enc) : NULL;
    if (count && !enc)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int rc = sparse_space_validate(m->space, points + i * m->nv);
        if (!rc)
            rc = sparse_space_encode(m->space, points + i * m->nv, enc + i * m->dim);
        if (rc) {
            free(enc);
            return sparse__error_prefix(rc, "sparse_mobo_set_pending: point %zu", i);
        }
    }
    free(m->pending);
    m->pending = enc;
    m->npending = count;
    return SPARSE_OK;
}

SPARSE_API int sparse_mobo_pareto(const sparse_mobo *m, size_t *idx, size_t *count)
{
    SPARSE__CHECK_NULL(m);
    SPARSE__CHECK_NULL(count);
    return sparse_pareto_front(m->n, m->k, m->values, idx, count);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int sparse__gp_objective_scales(const double *values, size_t n, size_t k, double *lo, double *hi)
{
    if (n == 0) {
        for (size_t j = 0; j < k; j++) {
            lo[j] = 0.0;
            hi[j] = 1.0;
        }
        return SPARSE_OK;
    }
    double *col = sparse__malloc(n * sizeof *col);
    if (!col)
        return SPARSE_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < n; i++)
            col[i] = values[i * k + j];
        qsort(col, n, sizeof *col, cmp_double);
        lo[j] = col[0];
        hi[j] = col[(n - 1) / 2] > col[0] ? col[(n - 1) / 2] : col[n - 1];
    }
    free(col);
    return SPARSE_OK;
}

/* A box of weights aims the proposals at one part of the front (accuracy
 * within the budgets, say); a share of flat draws keeps some aimed at all
 * of it. The share's uniform is drawn only when there is a share, so that
 * a run without one draws exactly what it drew before version 2. */
static int draw_lambda(sparse_mobo *m, double *lambda)
{
    if (m->opts.scalarization == SPARSE_SCALAR_DIRICHLET ||
        (m->opts.broad_share > 0 && sparse_rng_uniform(m->rng) < m->opts.broad_share))
        return sparse__dirichlet_sample(m->rng, m->k, 1.0, lambda);
    double sum = 0;
    for (size_t j = 0; j < m->k; j++) {
        lambda[j] = m->lambda_lo[j] + (m->lambda_hi[j] - m->lambda_lo[j]) * sparse_rng_uniform(m->rng);
        sum += lambda[j];
    }
    if (!(sum > 0)) {
        for (size_t j = 0; j < m->k; j++)
            lambda[j] = m->lambda_hi[j];
        sum = 0;
        for (size_t j = 0; j < m->k; j++)
            sum += lambda[j];
    }
    for (size_t j = 0; j < m->k; j++)
        lambda[j] /= sum;
    return SPARSE_OK;
}

/* Draws the driver's own candidates: mutations of Pareto-optimal
 * observations (local refinement of the front) and uniform points
 * (coverage). */
static int make_candidates(sparse_mobo *m, size_t nc, double *C)
{
    size_t *front = sparse__malloc((m->n ? m->n : 1) * sizeof *front);
    if (!front)
        return SPARSE_ENOMEM;
    size_t nf = 0;
    int rc = sparse_pareto_front(m->n, m->k, m->tvalues, front, &nf);
    size_t nloc = nf ? (size_t)(m->opts.local_fraction * (double)nc) : 0;
    for (size_t i = 0; i < nc && rc == SPARSE_OK; i++) {
        double *p = C + i * m->nv;
        if (i < nloc) {
            const double *base = m->points + front[sparse_rng_uint(m->rng, nf)] * m->nv;
            double scale = 0.2 * pow(0.1, sparse_rng_uniform(m->rng) * 1.5);
            rc = sparse_space_mutate(m->space, m->rng, base, 0.0, scale, p);
        } else {
            rc = sparse_space_sample(m->space, m->rng, p);
        }
    }
    free(front);
    return rc;
}

/* Before enough observations: a random candidate, or a random point. */
static int propose_random(sparse_mobo *m, size_t n_cand, const double *candidates, double *point_out,
                          size_t *chosen)
{
    if (!candidates)
        return sparse_space_sample(m->space, m->rng, point_out);
    size_t c = (size_t)sparse_rng_uint(m->rng, n_cand);
    memcpy(point_out, candidates + c * m->nv, m->nv * sizeof(double));
    if (chosen)
        *chosen = c;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_mobo_set_schedule(sparse_mobo *m, sparse_exp_gp_schedule *s)
{
    SPARSE__CHECK_NULL(m);
    int rc = SPARSE_OK;
    for (size_t j = 0; j < m->k && m->sched && m->sched != s; j++) {
        sparse__gp_schedule_return(m->sched, j, m->gps[j]); /* the old one's chains */
        m->gps[j] = NULL;
        if (!rc)
            rc = new_gp(m, j);
    }
    m->sched = s;
    m->built = 0;
    return rc;
}

/* With a schedule: every GP takes the schedule's hyper-parameters and (a
 * subset of at most SPARSE__GP_SOD_CAP of) the observations, as the
 * schedule's chain: the base (the first observations up to the chain's
 * anchor, or a subset of them) and every observation after it. */
static int build_scheduled(sparse_mobo *m)
{
    size_t np = m->dim + 2, cap = m->n ? m->n : 1, n = m->n;
    sparse__gp_obs o = {m->n, m->k, m->dim, m->enc, m->tvalues, m->tnoise};
    sparse_gp_options go = SPARSE_GP_OPTIONS_INIT;
    go.kernel = m->opts.kernel;
    go.restarts = m->opts.restarts;
    go.inactive_rule = sparse_space_has_conditions(m->space);
    double *theta = sparse__malloc(m->k * np * sizeof *theta);
    double *X = sparse__malloc(cap * (m->dim + 2) * sizeof *X), *y = X ? X + cap * m->dim : NULL;
    size_t *idx = sparse__malloc(cap * sizeof *idx);
    int rc = theta && X && idx ? sparse__gp_schedule_hyper(m->sched, &o, &go, theta) : SPARSE_ENOMEM;
    size_t a = sparse__gp_chain_anchor(n), nb = 0;
    if (!rc)
        nb = sparse__gp_subset(a, n > SPARSE__GP_SOD_CAP ? SPARSE__GP_SOD_CAP - SPARSE__GP_CHAIN_BLOCK : a, idx);
    size_t ns = rc ? 0 : nb + (n - a);
    for (size_t i = nb; i < ns; i++)
        idx[i] = a + (i - nb);
    for (size_t i = 0; i < ns; i++)
        memcpy(X + i * m->dim, m->enc + idx[i] * m->dim, m->dim * sizeof *X);
    for (size_t j = 0; j < m->k && !rc; j++) {
        double *nv = y + cap;
        for (size_t i = 0; i < ns; i++) {
            y[i] = m->tvalues[idx[i] * m->k + j];
            nv[i] = m->tnoise[idx[i] * m->k + j];
        }
        rc = sparse__gp_schedule_chain(m->sched, j, &go, m->dim, theta + j * np, a, nb, ns, X, y, nv, &m->gps[j]);
        if (rc)
            rc = sparse__error_prefix(rc, "sparse_mobo: objective %zu", j);
    }
    free(theta);
    free(X);
    free(idx);
    if (!rc)
        m->built = 1;
    return rc;
}

/* Gives every GP the observations (with their own noise), if it lacks
 * them; then refits the hyper-parameters every refit_every observations
 * (or as the schedule says, when there is one). */
static int refit_if_due(sparse_mobo *m)
{
    if (m->sched)
        return m->built ? SPARSE_OK : build_scheduled(m);
    if (!m->built) {
        double *col = sparse__malloc(2 * (m->n ? m->n : 1) * sizeof *col);
        if (!col)
            return SPARSE_ENOMEM;
        double *nv = col + (m->n ? m->n : 1);
        int rc = SPARSE_OK;
        for (size_t j = 0; j < m->k && !rc; j++) {
            for (size_t i = 0; i < m->n; i++) {
                col[i] = m->tvalues[i * m->k + j];
                nv[i] = m->tnoise[i * m->k + j];
            }
            rc = sparse_gp_set_data_noisy(m->gps[j], m->n, m->enc, col, nv);
            if (rc)
                rc = sparse__error_prefix(rc, "sparse_mobo: objective %zu", j);
        }
        free(col);
        if (rc)
            return rc;
        m->built = 1;
    }
    if (m->n - m->n_fitted < m->opts.refit_every && m->n_fitted != 0)
        return SPARSE_OK;
    for (size_t j = 0; j < m->k; j++) {
        int rc = sparse_gp_fit(m->gps[j], m->rng);
        if (rc)
            return sparse__error_prefix(rc, "sparse_mobo_propose: fitting objective %zu", j);
    }
    m->n_fitted = m->n;
    return SPARSE_OK;
}

/* Each pending point joins every GP at its posterior mean (a kriging
 * believer), after the fit: the sample is then nearly certain around the
 * points being evaluated, so proposals made while they run look elsewhere.
 * The GPs hold fantasies until they are next rebuilt. */
static int add_believers(sparse_mobo *m)
{
    if (m->npending)
        m->built = 0;
    for (size_t j = 0; j < m->k && m->npending; j++) {
        int rc = sparse__gp_add_believers(m->gps[j], m->npending, m->pending, 0.0);
        if (rc)
            return sparse__error_prefix(rc, "sparse_mobo_propose: %zu pending points, objective %zu", m->npending, j);
    }
    return SPARSE_OK;
}

/* One joint Thompson sample per objective over all nc encoded candidates
 * (pathwise past SPARSE__GP_PATHWISE_MIN of them):
 * F[i * k + j] is objective j at candidate i; a candidate that known marks
 * takes its posterior mean instead. */
static int thompson_sample(sparse_mobo *m, size_t nc, const double *enc, const unsigned char *known, double *F)
{
    size_t nk = 0;
    for (size_t i = 0; known && i < nc; i++)
        nk += known[i] != 0;
    double *s = sparse__malloc((nc + nk + nk * m->dim) * sizeof(double));
    if (!s)
        return SPARSE_ENOMEM;
    double *mean = s + nc, *kenc = mean + nk;
    for (size_t i = 0, q = 0; known && i < nc; i++)
        if (known[i])
            memcpy(kenc + m->dim * q++, enc + i * m->dim, m->dim * sizeof(double));
    int rc = SPARSE_OK;
    for (size_t j = 0; j < m->k && rc == SPARSE_OK; j++) {
        rc = nc >= SPARSE__GP_PATHWISE_MIN
                 ? sparse__gp_sample_pathwise(m->gps[j], nc, enc, m->rng, SPARSE__GP_FEATURES, s)
                 : sparse_gp_sample(m->gps[j], nc, enc, m->rng, s);
        if (!rc && nk)
            rc = sparse_gp_predict(m->gps[j], nk, kenc, mean, NULL);
        if (rc) {
            rc = sparse__error_prefix(rc, "sparse_mobo_propose: sampling objective %zu", j);
            break;
        }
        for (size_t i = 0, q = 0; i < nc; i++)
            F[i * m->k + j] = known && known[i] ? mean[q++] : s[i];
    }
    free(s);
    return rc;
}

/* Chebyshev scalarisation on objectives scaled by their observed spread
 * (sparse__gp_objective_scales), so the weights compare like with like;
 * candidates already observed or pending are skipped (they add nothing),
 * unless nothing else is left. Returns the index of the best candidate. */
static size_t pick_chebyshev(const sparse_mobo *m, size_t nc, const double *enc, const double *F,
                             const double *lambda, const double *lo, const double *hi)
{
    size_t best = SIZE_MAX, best_any = 0;
    double gbest = HUGE_VAL, gbest_any = HUGE_VAL;
    for (size_t i = 0; i < nc; i++) {
        double g = -HUGE_VAL;
        for (size_t j = 0; j < m->k; j++) {
            double range = hi[j] - lo[j] > 0 ? hi[j] - lo[j] : 1.0;
            double f = lambda[j] * (F[i * m->k + j] - lo[j]) / range;
            g = f > g ? f : g;
        }
        if (g < gbest_any) {
            gbest_any = g;
            best_any = i;
        }
        if (g >= gbest)
            continue;
        int seen = 0;
        for (size_t q = 0; q < m->n && !seen; q++)
            seen = memcmp(m->enc + q * m->dim, enc + i * m->dim, m->dim * sizeof(double)) == 0;
        for (size_t q = 0; q < m->npending && !seen; q++)
            seen = memcmp(m->pending + q * m->dim, enc + i * m->dim, m->dim * sizeof(double)) == 0;
        if (!seen) {
            gbest = g;
            best = i;
        }
    }
    return best == SIZE_MAX ? best_any : best;
}

SPARSE_API int sparse_mobo_predict(sparse_mobo *m, size_t count, const double *points, double *mean, double *sd)
{
    SPARSE__CHECK_NULL(m);
    SPARSE__CHECK_NULL(mean);
    if (count)
        SPARSE__CHECK_NULL(points);
    if (count == 0)
        return SPARSE_OK;
    double *enc = sparse__malloc(count * (m->dim + 2) * sizeof *enc);
    if (!enc)
        return SPARSE_ENOMEM;
    double *mu = enc + count * m->dim, *var = mu + count;
    int rc = SPARSE_OK;
    for (size_t i = 0; i < count && !rc; i++)
        if ((rc = sparse_space_encode(m->space, points + i * m->nv, enc + i * m->dim)))
            rc = sparse__error_prefix(rc, "sparse_mobo_predict: point %zu", i);
    if (!rc)
        rc = refit_if_due(m);
    for (size_t j = 0; j < m->k && !rc; j++) {
        rc = sparse_gp_predict(m->gps[j], count, enc, mu, var);
        for (size_t i = 0; i < count && !rc; i++) {
            /* A log-scaled objective's median and, by the delta method, its sd. */
            double c = m->log_obj[j] ? exp(mu[i]) : mu[i], sc = m->log_obj[j] ? c : 1.0;
            mean[i * m->k + j] = c;
            if (sd)
                sd[i * m->k + j] = sc * sqrt(var[i]);
        }
    }
    free(enc);
    return rc;
}

SPARSE_API int sparse_mobo_propose(sparse_mobo *m, size_t n_cand, const double *candidates,
                                   double *point_out, size_t *chosen, double *lambda_out)
{
    return sparse_mobo_propose_known(m, n_cand, candidates, NULL, point_out, chosen, lambda_out);
}

SPARSE_API int sparse_mobo_propose_known(sparse_mobo *m, size_t n_cand, const double *candidates,
                                         const unsigned char *known, double *point_out, size_t *chosen,
                                         double *lambda_out)
{
    SPARSE__CHECK_NULL(m);
    SPARSE__CHECK_NULL(point_out);
    if (chosen)
        *chosen = SIZE_MAX;
    if (candidates && n_cand == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_mobo_propose: empty candidate set");
    double *lambda = sparse__malloc(m->k * sizeof *lambda);
    if (!lambda)
        return SPARSE_ENOMEM;
    int rc = draw_lambda(m, lambda);
    if (rc == SPARSE_OK && lambda_out)
        memcpy(lambda_out, lambda, m->k * sizeof *lambda);
    size_t min_obs = m->opts.min_observations > 1 ? m->opts.min_observations : 1;
    if (rc || m->n < min_obs) {
        if (!rc)
            rc = propose_random(m, n_cand, candidates, point_out, chosen);
        free(lambda);
        return rc;
    }
    size_t nc = candidates ? n_cand : m->opts.candidate_count;
    double *own = NULL, *enc = NULL, *F = NULL, *lo = NULL, *hi = NULL;
    const double *C = candidates;
    if (!candidates) {
        own = sparse__malloc(nc * m->nv * sizeof(double));
        if (!own) {
            rc = SPARSE_ENOMEM;
            goto done;
        }
        rc = make_candidates(m, nc, own);
        if (rc)
            goto done;
        C = own;
    }
    enc = sparse__malloc(nc * m->dim * sizeof(double));
    F = sparse__malloc(nc * m->k * sizeof(double));
    lo = sparse__malloc(m->k * sizeof(double));
    hi = sparse__malloc(m->k * sizeof(double));
    if (!enc || !F || !lo || !hi) {
        rc = SPARSE_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nc; i++) {
        rc = sparse_space_encode(m->space, C + i * m->nv, enc + i * m->dim);
        if (rc) {
            rc = sparse__error_prefix(rc, "sparse_mobo_propose: candidate %zu", i);
            goto done;
        }
    }
    if ((rc = refit_if_due(m)) || (rc = add_believers(m)) || (rc = thompson_sample(m, nc, enc, candidates ? known : NULL, F)) ||
        (rc = sparse__gp_objective_scales(m->tvalues, m->n, m->k, lo, hi)))
        goto done;
    size_t best = pick_chebyshev(m, nc, enc, F, lambda, lo, hi);
    memcpy(point_out, C + best * m->nv, m->nv * sizeof(double));
    if (chosen && candidates)
        *chosen = best;
done:
    free(lambda);
    free(own);
    free(enc);
    free(F);
    free(lo);
    free(hi);
    return rc;
}
