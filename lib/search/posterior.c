/* What the surrogate believes of a trial's accuracy. A validation accuracy
 * is a noisy measurement: on 5,000 images one binomial standard error is
 * about 0.18 points at 98.4%, the spread between the best networks of a
 * run, so the most accurate measurement is mostly the luckiest. The GP of
 * the validation error takes each measurement with its own binomial noise
 * (and fits the training noise on top), so that repeated evaluations of
 * one configuration share one latent value and neighbours lend each other
 * strength; the front and the final stage rank by its posterior mean. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"
#include "sparse/experimental.h"

/* The stream of the posterior's own draws (the GP fit's restarts): far
 * above any trial's. */
#define POSTERIOR_STREAM (UINT64_C(1) << 40)
/* Up to this many trials the posterior fits its hyper-parameters on all of
 * them (2 starts), beyond it follows sparse_exp_gp_schedule. */
#define POSTERIOR_FULL_FIT_MAX 256

int sparse__error_observation(const sparse_search_config *cfg, const sparse__trial *t, double *err, double *var)
{
    const double n = (double)cfg->val_count, half = 0.5 / (n > 0 ? n : 1.0);
    if (t->ok != 1 || !t->point || t->stage < 1 || t->stage > 3)
        return 0;
    /* Zeros cannot be logged: a perfect score counts as half an error. */
    if (t->partial) {
        /* What the learning curve promised, with the curve model's doubt. */
        double se = sparse__binomial_se(t->pred_acc, n);
        *err = fmax(1.0 - t->pred_acc, half);
        *var = *err * *err * t->pred_log_sd * t->pred_log_sd + se * se;
    } else {
        double se = t->val_se >= 0 ? t->val_se : sparse__binomial_se(t->val_acc, n);
        *err = fmax(1.0 - t->val_acc, half);
        *var = se * se;
    }
    return 1;
}

int sparse__accuracy_mobo(const sparse__problem *p, const sparse__trial *trials, size_t n, size_t k,
                          uint64_t seed, sparse_mobo **out)
{
    const sparse_search_config *c = p->cfg;
    sparse_mobo_options mo = SPARSE_MOBO_OPTIONS_INIT;
    mo.restarts = 2;
    if (c->lambda_box) {
        mo.scalarization = SPARSE_SCALAR_BOX;
        mo.lambda_lo = c->lambda_lo;
        mo.lambda_hi = c->lambda_hi;
        mo.broad_share = c->lambda_broad;
    }
    /* All on log scales: an error going from 3% to 2% counts like a
     * network 1.5x smaller. On a linear error scale the range-normalised
     * scalarisation saw every accuracy gain near the top as tiny and kept
     * proposing small, poor networks. */
    static const int logs[3] = {1, 1, 1};
    int rc = sparse_mobo_create(out, p->lay->space, k, logs, &mo, seed);
    for (size_t i = 0; !rc && i < n; i++) {
        const sparse__trial *tr = &trials[i];
        double f[3], v[3] = {0, 0, 0};
        if (!sparse__error_observation(c, tr, &f[0], &v[0]))
            continue;
        /* A size of 0 bytes counts as one. */
        f[1] = fmax(tr->ms, 1.0);
        f[2] = fmax(sparse__trial_wm(c, tr), 1.0);
        rc = sparse_mobo_observe_noisy(*out, tr->point, f, v);
    }
    if (rc) {
        sparse_mobo_free(*out);
        *out = NULL;
    }
    return rc;
}

int sparse__posterior_from(sparse_mobo *m, size_t k, const sparse__problem *p, sparse__trial *trials, size_t n)
{
    const sparse_search_config *cfg = p->cfg;
    const size_t nv = p->lay->nvars, cap = n ? n : 1;
    double *mean = sparse__malloc(2 * k * cap * sizeof *mean), *sd = mean ? mean + k * cap : NULL;
    double *points = sparse__malloc(cap * nv * sizeof *points);
    size_t *which = sparse__malloc(cap * sizeof *which), m_count = 0;
    int rc = mean && points && which ? SPARSE_OK : SPARSE_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        sparse__trial *t = &trials[i];
        double e, v;
        t->has_post = 0;
        if (t->ok == 1 && t->stage == 4) {
            /* Trained for longer than the surrogate's trials: its own
             * measurement is all there is. */
            t->has_post = 1;
            t->post_acc = t->val_acc;
            t->post_sd = t->val_se >= 0 ? t->val_se : sparse__binomial_se(t->val_acc, (double)cfg->val_count);
        } else if (sparse__error_observation(cfg, t, &e, &v)) {
            memcpy(points + m_count * nv, t->point, nv * sizeof *points);
            which[m_count++] = i;
        }
    }
    if (!rc && m_count)
        rc = sparse_mobo_predict(m, m_count, points, mean, sd);
    for (size_t j = 0; !rc && j < m_count; j++) {
        sparse__trial *t = &trials[which[j]];
        t->has_post = 1;
        t->post_acc = 1.0 - mean[j * k];
        t->post_sd = sd[j * k];
    }
    free(mean);
    free(points);
    free(which);
    return rc;
}

int sparse__posterior(const sparse__problem *p, sparse__trial *trials, size_t n)
{
    sparse_rng *rng = NULL;
    sparse_mobo *m = NULL;
    sparse_exp_gp_schedule *sched = NULL;
    int rc = sparse_rng_create_stream(&rng, p->cfg->seed, POSTERIOR_STREAM);
    if (!rc)
        rc = sparse__accuracy_mobo(p, trials, n, 1, sparse_rng_seed64(rng), &m);
    /* Past a few hundred trials one fit on all of them takes longer than
     * the chain of the proposals' schedule (31 s against 2.5 s at 1,000). */
    if (!rc && n > POSTERIOR_FULL_FIT_MAX)
        rc = sparse_exp_gp_schedule_create(&sched, sparse_rng_seed64(rng));
    if (!rc && sched)
        rc = sparse_exp_mobo_set_schedule(m, sched);
    if (!rc && sparse_mobo_observation_count(m) > 0)
        rc = sparse__posterior_from(m, 1, p, trials, n);
    sparse_mobo_free(m);
    sparse_exp_gp_schedule_free(sched);
    sparse_rng_free(rng);
    return rc;
}
