/* Morphs of paper Table 6, plus the training-recipe morphs the searchable
 * recipe needs. Each works on a point of the search space; variables a
 * morph activates (a new block, a new layer) take fresh random values, and
 * variables it deactivates become NaN, so the result is a valid point. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"

#define NONE SIZE_MAX

typedef struct mctx {
    const sparse__layout *lay;
    sparse_rng *rng;
    double *p;       /* point being morphed */
    const double *fresh; /* a random point, for newly active variables */
} mctx;

static int has(size_t v) { return v != NONE; }

static int lo_hi(const mctx *m, size_t var, double *lo, double *hi)
{
    return sparse_space_var_bounds(m->lay->space, var, lo, hi) ? -1 : 0;
}

/* Adds delta to an integer or real variable, clamped; 1 if it changed. */
static int step(mctx *m, size_t var, double delta, int integer)
{
    if (!has(var) || isnan(m->p[var]))
        return 0;
    double lo, hi;
    if (lo_hi(m, var, &lo, &hi))
        return 0;
    double v = m->p[var] + delta;
    if (integer)
        v = floor(v + 0.5);
    v = v < lo ? lo : v > hi ? hi : v;
    if (v == m->p[var])
        return 0;
    m->p[var] = v;
    return 1;
}

static int plus_minus_one(mctx *m, size_t var)
{
    double d = sparse_rng_uniform(m->rng) < 0.5 ? -1.0 : 1.0;
    return step(m, var, d, 1) || step(m, var, -d, 1);
}

/* A categorical variable switched to another of its choices. */
static int switch_choice(mctx *m, size_t var)
{
    double lo, hi;
    if (!has(var) || isnan(m->p[var]) || lo_hi(m, var, &lo, &hi) || hi < 1)
        return 0;
    size_t n = (size_t)hi + 1, cur = (size_t)m->p[var];
    size_t pick = (size_t)sparse_rng_uint(m->rng, n - 1);
    m->p[var] = (double)(pick >= cur ? pick + 1 : pick);
    return 1;
}

/* A random existing conv layer (block, layer) or 0 if none. */
static int pick_layer(mctx *m, int *k, int *l)
{
    /* A fixed block count means every allowed block exists. */
    int blocks = has(m->lay->blocks) ? (int)m->p[m->lay->blocks] : m->lay->bmax;
    int pairs[SPARSE__MAX_BLOCKS * SPARSE__MAX_LAYERS][2], n = 0;
    for (int b = 0; b < blocks && b < SPARSE__MAX_BLOCKS; b++) {
        size_t lv = m->lay->block_layers[b];
        int layers = has(lv) && !isnan(m->p[lv]) ? (int)m->p[lv] : m->lay->lmax;
        for (int i = 0; i < layers && i < SPARSE__MAX_LAYERS; i++) {
            pairs[n][0] = b;
            pairs[n][1] = i;
            n++;
        }
    }
    if (!n)
        return 0;
    int pick = (int)sparse_rng_uint(m->rng, (uint64_t)n);
    *k = pairs[pick][0];
    *l = pairs[pick][1];
    return 1;
}

static int m_fc_layers(mctx *m) { return plus_minus_one(m, m->lay->fc_layers); }
static int m_blocks(mctx *m)
{
    int changed = plus_minus_one(m, m->lay->blocks);
    if (changed) {
        int k = (int)m->p[m->lay->blocks] - 1;
        /* Table 6: a new block starts with one convolution layer. */
        size_t lv = m->lay->block_layers[k];
        if (has(lv) && isnan(m->p[lv])) {
            double lo, hi;
            m->p[lv] = lo_hi(m, lv, &lo, &hi) ? 1.0 : lo;
        }
    }
    return changed;
}
static int m_layer_type(mctx *m)
{
    int k, l;
    return pick_layer(m, &k, &l) && switch_choice(m, m->lay->layer[k][l].type);
}
static int m_filters(mctx *m)
{
    int k, l;
    if (!pick_layer(m, &k, &l))
        return 0;
    size_t v = m->lay->layer[k][l].filters;
    if (!has(v) || isnan(m->p[v]))
        return 0;
    double f = m->p[v];
    double nf = floor(f * exp(0.5 * sparse_rng_normal(m->rng)) + 0.5);
    return step(m, v, nf - f, 1) || plus_minus_one(m, v);
}
static int m_kernel(mctx *m)
{
    int k, l;
    return pick_layer(m, &k, &l) && plus_minus_one(m, m->lay->layer[k][l].kernel);
}
static int m_rate(mctx *m)
{
    int k, l;
    if (!pick_layer(m, &k, &l))
        return 0;
    size_t v = m->lay->layer[k][l].rate;
    return step(m, v, 0.1 * sparse_rng_normal(m->rng), 0);
}
static int m_batch_norm(mctx *m) { return switch_choice(m, m->lay->batch_norm); }
static int m_residual(mctx *m) { return switch_choice(m, m->lay->residual); }
static int m_left(mctx *m) { return switch_choice(m, m->lay->left); }
static int m_right(mctx *m) { return switch_choice(m, m->lay->right); }
static int m_merge(mctx *m) { return switch_choice(m, m->lay->merge); }
static int m_fc_weights(mctx *m)
{
    double lo, hi;
    size_t v = m->lay->fc_weights;
    if (!has(v) || lo_hi(m, v, &lo, &hi))
        return 0;
    double s = fmin(5000.0, fmax(1.0, 0.1 * (hi - lo)));
    return step(m, v, sparse_rng_uniform(m->rng) < 0.5 ? -s : s, 1);
}
static int m_threshold(mctx *m)
{
    int k, l;
    size_t v = m->lay->threshold_fc;
    if (sparse_rng_uniform(m->rng) < 0.7 && pick_layer(m, &k, &l))
        v = m->lay->layer[k][l].threshold;
    double d = sparse_rng_uniform(m->rng) < 0.5 ? -0.5 : 0.5;
    return step(m, v, d, 0) || step(m, v, -d, 0);
}
static int m_fraction(mctx *m)
{
    double d = sparse_rng_uniform(m->rng) < 0.5 ? -0.05 : 0.05;
    return step(m, m->lay->fc_frac, d, 0) || step(m, m->lay->fc_frac, -d, 0);
}
static int m_kl_weight(mctx *m)
{
    double d = sparse_rng_uniform(m->rng) < 0.5 ? -0.1 : 0.1;
    return step(m, m->lay->kl_weight, d, 0) || step(m, m->lay->kl_weight, -d, 0);
}
static int m_layers(mctx *m)
{
    int blocks = has(m->lay->blocks) ? (int)m->p[m->lay->blocks] : m->lay->bmax;
    if (blocks < 1)
        return 0;
    int k = (int)sparse_rng_uint(m->rng, (uint64_t)blocks);
    return plus_minus_one(m, m->lay->block_layers[k]);
}
static int m_pool(mctx *m)
{
    int blocks = has(m->lay->blocks) ? (int)m->p[m->lay->blocks] : m->lay->bmax;
    if (blocks < 1)
        return 0;
    return plus_minus_one(m, m->lay->block_pool[sparse_rng_uint(m->rng, (uint64_t)blocks)]);
}
static int m_input(mctx *m)
{
    return sparse_rng_uniform(m->rng) < 0.5 ? switch_choice(m, m->lay->in_ds)
                                            : plus_minus_one(m, m->lay->in_rate);
}
static int m_prune_method(mctx *m) { return switch_choice(m, m->lay->prune); }
static int m_prune_epochs(mctx *m)
{
    return sparse_rng_uniform(m->rng) < 0.5 ? plus_minus_one(m, m->lay->zero_epochs)
                                            : plus_minus_one(m, m->lay->anneal_epochs);
}
static int m_lr(mctx *m)
{
    size_t v = m->lay->lr;
    if (!has(v) || isnan(m->p[v]))
        return 0;
    return step(m, v, m->p[v] * (exp(0.4 * sparse_rng_normal(m->rng)) - 1.0), 0);
}
static int m_epochs(mctx *m) { return plus_minus_one(m, m->lay->epochs); }
static int m_shift(mctx *m) { return plus_minus_one(m, m->lay->shift); }
static int m_smoothing(mctx *m)
{
    double d = sparse_rng_uniform(m->rng) < 0.5 ? -0.02 : 0.02;
    return step(m, m->lay->label_smoothing, d, 0) || step(m, m->lay->label_smoothing, -d, 0);
}

typedef struct morph {
    const char *name;
    int (*fn)(mctx *);
    int pruning; /* allowed in stage 2 */
} morph;

static const morph morphs[] = {
    {"num-fc-layers", m_fc_layers, 0},   {"num-conv-blocks", m_blocks, 0},
    {"layer-type", m_layer_type, 0},     {"num-conv-filters", m_filters, 0},
    {"kernel-size", m_kernel, 0},        {"downsampling-rate", m_rate, 0},
    {"batch-norm", m_batch_norm, 0},     {"residual-connections", m_residual, 0},
    {"left-branch", m_left, 0},          {"right-branch", m_right, 0},
    {"total-fc-layer-weights", m_fc_weights, 0}, {"merge-type", m_merge, 0},
    {"threshold", m_threshold, 1},       {"weight-fraction", m_fraction, 0},
    {"alpha", m_kl_weight, 1},           {"num-conv-layers", m_layers, 0},
    {"pool-size", m_pool, 0},            {"input-downsampling", m_input, 0},
    {"pruning-method", m_prune_method, 1}, {"pruning-epochs", m_prune_epochs, 1},
    {"learning-rate", m_lr, 0},          {"epochs", m_epochs, 0},
    {"label-smoothing", m_smoothing, 0},
    /* Last, and drawn only when the space searches the shift: a space
     * without it draws from the same table as before the shift existed, so
     * a run directory made then resumes the same morph sequence. */
    {"augmentation-shift", m_shift, 0},
};
#define NMORPHS (sizeof morphs / sizeof morphs[0])

/* Newly active variables take the fresh sample's values; inactive ones NaN. */
static int settle(const sparse__layout *lay, double *p, const double *fresh)
{
    int active[512];
    if (lay->nvars > 512)
        return SPARSE_EINTERNAL;
    /* Activation can cascade (a new block activates its layers' variables),
     * so repeat until nothing changes. */
    for (int pass = 0; pass < 8; pass++) {
        int rc = sparse_space_active(lay->space, p, active);
        if (rc)
            return rc;
        int changed = 0;
        for (size_t i = 0; i < lay->nvars; i++) {
            if (active[i] && isnan(p[i])) {
                p[i] = fresh[i];
                changed = 1;
            } else if (!active[i] && !isnan(p[i])) {
                p[i] = NAN;
                changed = 1;
            }
        }
        if (!changed)
            break;
    }
    return sparse_space_validate(lay->space, p);
}

int sparse__morph(const sparse__layout *lay, sparse_rng *rng, const double *point, sparse__morph_set set,
                  int max_ops, double *out, char *names, size_t cap)
{
    double fresh[512];
    if (lay->nvars > 512)
        return sparse__error(SPARSE_EUNSUPPORTED, "search space has %zu variables (max 512)", lay->nvars);
    /* A morph may activate any variable: have a value ready for each. */
    int rc = sparse_space_sample_all(lay->space, rng, fresh);
    if (rc)
        return rc;
    memcpy(out, point, lay->nvars * sizeof *out);
    mctx m = {lay, rng, out, fresh};
    int ops = 1 + (max_ops > 1 ? (int)sparse_rng_uint(rng, (uint64_t)max_ops) : 0);
    size_t used = 0;
    if (cap)
        names[0] = '\0';
    int applied = 0;
    const size_t drawn_from = has(lay->shift) ? NMORPHS : NMORPHS - 1;
    for (int attempt = 0; applied < ops && attempt < 64; attempt++) {
        const morph *mo = &morphs[sparse_rng_uint(rng, drawn_from)];
        if (set == SPARSE__MORPH_PRUNING_ONLY && !mo->pruning)
            continue;
        if (!mo->fn(&m))
            continue;
        if ((rc = settle(lay, out, fresh)))
            return rc;
        applied++;
        int w = snprintf(names + used, cap > used ? cap - used : 0, "%s%s", used ? "+" : "", mo->name);
        if (w > 0 && used + (size_t)w < cap)
            used += (size_t)w;
    }
    if (!applied)
        return sparse__error(SPARSE_EEMPTY, "no morph applies to this configuration");
    return SPARSE_OK;
}
