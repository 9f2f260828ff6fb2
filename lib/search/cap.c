/* The size cap: how far above the budgets a point's network may be before
 * any training and still be worth training, and width fitting, which scales
 * a point's filter counts and FC weights until its network takes a given
 * share of the cap or of a box. Pure functions of the point, the config and
 * the data's shape: they build the dense network, never train it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "loop.h"
#include "sparse/memory.h"

void sparse__cap_factors(int prune, int wm_model, double *ms_factor, double *wm_factor)
{
    *ms_factor = prune == SPARSE_PRUNE_NONE ? 1.0 : 4.0;
    if (prune == SPARSE_PRUNE_NONE)
        *wm_factor = 1.0;
    else if (prune == SPARSE_PRUNE_SPVD)
        *wm_factor = wm_model == 5 ? 2.0 : 1.0;
    else
        *wm_factor = 2.0;
}

int sparse__dense_figures(const sparse__problem *p, const double *point, sparse__cap_figures *f)
{
    const sparse_search_config *c = p->cfg;
    sparse__genome g;
    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    sparse_memreport *mem = NULL;
    uint64_t ms = 0, wm = 0;
    size_t layer;
    int built = 0;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.input_downsampling = c->input_downsampling;
    if (!sparse__point_arch(p, point, &g, &arch) && !sparse_net_create(&net, arch, 1, 0) &&
        !sparse_memreport_from_net(&mem, net, &mo) && !sparse_memreport_ms_bytes(mem, &ms) &&
        !sparse_memreport_wm_bytes(mem, c->wm_model, &wm, &layer)) {
        /* Every weight counts: biases start at zero, so MS does not see them. */
        uint64_t dense = 0, w = 0;
        for (size_t i = 0; i < sparse_memreport_node_count(mem); i++)
            if (!sparse_memreport_node_value(mem, i, SPARSE_MEMFIELD_WEIGHTS, &w))
                dense += w;
        ms = dense > ms ? dense : ms;
        sparse__cap_factors(g.prune, c->wm_model, &f->ms_factor, &f->wm_factor);
        f->ms_share = c->budget_ms > 0 ? (double)ms / (f->ms_factor * c->budget_ms) : 0.0;
        f->wm_share = c->budget_wm > 0 ? (double)wm / (f->wm_factor * c->budget_wm) : 0.0;
        f->ms = ms;
        f->wm = wm;
        built = 1;
    }
    sparse_clear_error();
    sparse_memreport_free(mem);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return built;
}

int sparse__within_cap(const sparse__problem *p, const double *point, char *why, size_t why_cap)
{
    const sparse_search_config *c = p->cfg;
    sparse__cap_figures f;
    if ((c->budget_ms <= 0 && c->budget_wm <= 0) || !sparse__dense_figures(p, point, &f))
        return 1;
    if (f.ms_share > 1.0) {
        snprintf(why, why_cap, "exceeds the size cap before training: dense MS %llu B > %g x budget %g B",
                 (unsigned long long)f.ms, f.ms_factor, c->budget_ms);
        return 0;
    }
    if (f.wm_share > 1.0) {
        snprintf(why, why_cap, "exceeds the size cap before training: dense WM%d %llu B > %g x budget %g B",
                 c->wm_model, (unsigned long long)f.wm, f.wm_factor, c->budget_wm);
        return 0;
    }
    return 1;
}

int sparse__check_reachable(const sparse__problem *p, uint64_t seed)
{
    const sparse_search_config *c = p->cfg;
    enum { DRAWS = 256 };
    if (c->budget_ms <= 0 && c->budget_wm <= 0)
        return SPARSE_OK;
    size_t nvars = p->lay->nvars;
    double *point = sparse__malloc(2 * nvars * sizeof *point), *narrow = point + nvars;
    sparse_rng *rng = NULL;
    int rc = point ? sparse_rng_create(&rng, seed ^ 0x6275646765747321ULL) : SPARSE_ENOMEM;
    /* The smallest share of the cap seen, for MS and for WM, and whether
     * one network was within both. */
    double least[2] = {INFINITY, INFINITY};
    sparse__cap_figures low[2];
    int built = 0, fits = 0;
    for (int i = 0; !rc && i < DRAWS && !fits; i++) {
        sparse__cap_figures f;
        if ((rc = sparse_space_sample(p->lay->space, rng, point)))
            break;
        sparse__scale_widths(p, point, 0.0, narrow); /* every width at its lower bound */
        if (!sparse__dense_figures(p, narrow, &f))
            continue;
        built++;
        fits = f.ms_share <= 1.0 && f.wm_share <= 1.0;
        const double share[2] = {f.ms_share, f.wm_share};
        for (int k = 0; k < 2; k++)
            if (share[k] < least[k]) {
                least[k] = share[k];
                low[k] = f;
            }
    }
    sparse_rng_free(rng);
    free(point);
    if (rc || fits || !built)
        return rc;
    if (least[0] > 1.0)
        return sparse__error(SPARSE_EBUDGET,
                             "budgets.ms_bytes %g B: no network of the search space can meet it: the narrowest "
                             "networks of %d structures drawn from the space need a dense MS of %llu B or more, "
                             "above the size cap of %g B (%g x the budget: what pruning may remove)",
                             c->budget_ms, DRAWS, (unsigned long long)low[0].ms, low[0].ms_factor * c->budget_ms,
                             low[0].ms_factor);
    if (least[1] > 1.0)
        return sparse__error(SPARSE_EBUDGET,
                             "budgets.wm_bytes %g B: no network of the search space can meet it: the narrowest "
                             "networks of %d structures drawn from the space need a dense WM%d of %llu B or more, "
                             "above the size cap of %g B (%g x the budget: what pruning may remove)",
                             c->budget_wm, DRAWS, c->wm_model, (unsigned long long)low[1].wm,
                             low[1].wm_factor * c->budget_wm, low[1].wm_factor);
    return sparse__error(SPARSE_EBUDGET,
                         "budgets: ms_bytes %g B and wm_bytes %g B together: none of the narrowest networks of %d "
                         "structures drawn from the search space meets both (before what pruning may remove)",
                         c->budget_ms, c->budget_wm, DRAWS);
}

void sparse__scale_widths(const sparse__problem *p, const double *point, double m, double *out)
{
    const sparse__layout *lay = p->lay;
    const sparse_search_config *c = p->cfg;
    memcpy(out, point, lay->nvars * sizeof *out);
    for (int k = 0; k < lay->bmax; k++)
        for (int l = 0; l < lay->lmax; l++) {
            size_t v = lay->layer[k][l].filters;
            if (v != SIZE_MAX && isfinite(point[v]))
                out[v] = fmin(fmax(round(point[v] * m), c->filters.lo), c->filters.hi);
        }
    size_t v = lay->fc_weights;
    if (v != SIZE_MAX && isfinite(point[v]))
        out[v] = fmin(fmax(round(point[v] * m), c->fc_weights.lo), c->fc_weights.hi);
}

double sparse__share_of(const sparse__problem *p, const double *point, const double *box)
{
    sparse__cap_figures f;
    if (!sparse__dense_figures(p, point, &f))
        return -1;
    if (!box)
        return fmax(f.ms_share, f.wm_share);
    return fmax(box[0] > 0 ? (double)f.ms / box[0] : 0.0, box[1] > 0 ? (double)f.wm / box[1] : 0.0);
}

/* Bisection on log m: the shares grow with the widths. */
int sparse__widest_fit(const sparse__problem *p, double *point, double lo_m, double hi_m, const double *box,
                       double target)
{
    size_t nvars = p->lay->nvars;
    double *scaled = sparse__malloc(nvars * sizeof *scaled);
    if (!scaled) {
        sparse_clear_error(); /* the unscaled point is still a valid one */
        return 0;
    }
    double lo = log(lo_m), hi = log(hi_m);
    int found = 0;
    for (int it = 0; it < 16; it++) {
        double mid = 0.5 * (lo + hi), share;
        sparse__scale_widths(p, point, exp(mid), scaled);
        if ((share = sparse__share_of(p, scaled, box)) >= 0 && share <= target) {
            found = 1;
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if (found) {
        sparse__scale_widths(p, point, exp(lo), scaled);
        memcpy(point, scaled, nvars * sizeof *point);
    }
    free(scaled);
    return found;
}

/* Uniform draws over widths of, say, 3 to 32 filters per layer mostly land
 * far below or far above budgets of a few KB; the first MNIST runs found
 * their best networks among the few initial ones that happened to sit near
 * the budget. */
void sparse__fit_to_cap(const sparse__problem *p, sparse_rng *rng, double *point)
{
    const sparse_search_config *c = p->cfg;
    if (c->random_fill.lo <= 0 || (c->budget_ms <= 0 && c->budget_wm <= 0))
        return;
    double target = c->random_fill.lo * pow(c->random_fill.hi / c->random_fill.lo, sparse_rng_uniform(rng));
    sparse__widest_fit(p, point, 1.0 / 64, 64.0, NULL, target);
}
