/* A final SpVD network fitted into its box by its thresholds. The final
 * stage retrains a network within a box for longer, but retraining moves
 * the log alphas, so with its parent's thresholds the network prunes itself
 * to another size (measured on MNIST: 3 of 6 final SpVD networks ended at
 * 1,062-1,077 B of MS in a 1,024 B box, useless for it). Lowering every
 * threshold by one offset prunes the weights the retrained posterior
 * trusts least, in the proportions the parent's thresholds chose between
 * layers; the smallest offset that fits keeps the most weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "loop.h"
#include "sparse/experimental.h"
#include "sparse/memory.h"
#include "sparse/prune.h"

void sparse__shift_thresholds(const sparse__layout *lay, const sparse_search_config *cfg, double *point,
                              sparse__genome *g, double offset)
{
    const double lo = cfg->threshold.lo;
    for (int k = 0; k < g->blocks; k++)
        for (int l = 0; l < g->block_layers[k]; l++) {
            size_t v = lay->layer[k][l].threshold;
            if (v != SIZE_MAX && !isnan(point[v]))
                g->threshold[k][l] = point[v] = fmax(lo, point[v] - offset);
        }
    size_t v = lay->threshold_fc;
    if (v != SIZE_MAX && !isnan(point[v]))
        g->threshold_fc = point[v] = fmax(lo, point[v] - offset);
}

/* 1 if net, a compacted network, is within box {ms, wm} (0: no bound) as a
 * trial measures it (MS, and WM by the config's model). */
static int within(const sparse_search_config *c, sparse_net *net, const double *box, int *fits)
{
    sparse_memreport *mem = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.input_downsampling = c->input_downsampling;
    uint64_t ms = 0, wm = 0;
    int rc = sparse_memreport_from_net(&mem, net, &mo);
    if (!rc)
        rc = sparse_memreport_ms_bytes(mem, &ms);
    if (!rc)
        rc = sparse_memreport_wm_bytes(mem, c->wm_model, &wm, NULL);
    sparse_memreport_free(mem);
    *fits = !rc && (box[0] <= 0 || (double)ms <= box[0]) && (box[1] <= 0 || (double)wm <= box[1]);
    return rc;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The offsets at which net loses one more weight: threshold - log alpha for
 * every weight its threshold in g keeps (la < t) and the range's lower end
 * would prune (la >= lo), ascending, each once. A node's threshold at
 * offset d is max(lo, t - d), which rounds to la as the float the pass
 * compares with. */
static int offsets(const sparse_search_config *c, sparse_net *net, const sparse__genome *g, double **out,
                   size_t *n)
{
    const float lo = (float)c->threshold.lo;
    double *d = NULL;
    size_t count = 0;
    int rc = SPARSE_OK;
    for (size_t id = 0; !rc && id < sparse_net_node_count(net); id++) {
        if (sparse_exp_net_variational_mode(net, id) != SPARSE_PRUNE_SPVD)
            continue;
        const double t = sparse__node_threshold(g, sparse_net_node_name(net, id));
        sparse_tensor *la = NULL;
        if ((rc = sparse_exp_net_log_alpha(&la, net, id)))
            break;
        const size_t m = sparse_tensor_element_count(la);
        double *grown = sparse__realloc(d, (count + m + 1) * sizeof *d);
        if (!grown) {
            rc = SPARSE_ENOMEM;
        } else {
            d = grown;
            const float *a = sparse_tensor_data_const(la);
            for (size_t j = 0; j < m; j++)
                if (a[j] < (float)t && a[j] >= lo)
                    d[count++] = t - (double)a[j];
        }
        sparse_tensor_free(la);
    }
    if (rc) {
        free(d);
        return rc;
    }
    if (count)
        qsort(d, count, sizeof *d, by_value);
    size_t u = 0;
    for (size_t i = 0; i < count; i++)
        if (!u || d[i] != d[u - 1])
            d[u++] = d[i];
    *out = d;
    *n = u;
    return SPARSE_OK;
}

enum { TOO_BIG, FITS, EMPTY };

/* A network pruned from net with g's thresholds (those of point, a copy of
 * which goes into scratch) lowered by offset: what it is (*state) and, if
 * it fits, the pruning (*out, owned by the caller; else NULL). */
static int probe(const sparse__problem *p, sparse_net *net, const double *point, const sparse__genome *g,
                 const double *box, double offset, uint64_t seed, double *scratch, sparse_prune_result **out,
                 int *state)
{
    sparse__genome h = *g;
    memcpy(scratch, point, p->lay->nvars * sizeof *scratch);
    sparse__shift_thresholds(p->lay, p->cfg, scratch, &h, offset);
    int fits = 0, rc = sparse__prune_trial(net, &h, seed, 0, out);
    *state = TOO_BIG;
    if (rc == SPARSE_EEMPTY) { /* a layer lost every channel: lower still stays empty */
        sparse_clear_error();
        *state = EMPTY;
        return SPARSE_OK;
    }
    if (!rc && !(rc = within(p->cfg, sparse_prune_result_net(*out), box, &fits)) && fits)
        *state = FITS;
    if (*state != FITS) {
        sparse_prune_result_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Bisection over the offsets d[0..n-1] for the smallest whose network fits
 * or is empty: lower thresholds never keep a weight, a channel or a byte
 * more, so beyond it every network is as small or empty. Its network into
 * *best if it fits; its index into *at and its state into *state. */
static int smallest_fit(const sparse__problem *p, sparse_net *net, const double *point,
                        const sparse__genome *g, const double *box, uint64_t seed, const double *d, size_t n,
                        sparse_prune_result **best, size_t *at, int *state)
{
    double *scratch = sparse__malloc((p->lay->nvars ? p->lay->nvars : 1) * sizeof *scratch);
    if (!scratch)
        return SPARSE_ENOMEM;
    size_t lo = 0, hi = n - 1;
    int rc = probe(p, net, point, g, box, d[hi], seed, scratch, best, state);
    while (!rc && *state != TOO_BIG && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        sparse_prune_result *r = NULL;
        int s;
        if ((rc = probe(p, net, point, g, box, d[mid], seed, scratch, &r, &s)))
            break;
        if (s == TOO_BIG) {
            lo = mid + 1;
        } else {
            hi = mid;
            *state = s;
            sparse_prune_result_free(*best);
            *best = r;
        }
    }
    free(scratch);
    *at = hi;
    return rc;
}

int sparse__fit_box(const sparse__problem *p, sparse_net *net, const double *point, const sparse__genome *g,
                    const double *box, uint64_t seed, sparse_prune_result **pruned, double *offset, int *fits)
{
    *offset = 0;
    *fits = 1;
    if (g->prune != SPARSE_PRUNE_SPVD || (box[0] <= 0 && box[1] <= 0))
        return SPARSE_OK;
    int rc = within(p->cfg, sparse_prune_result_net(*pruned), box, fits);
    if (rc || *fits)
        return rc;
    double *d = NULL;
    size_t n = 0, at = 0;
    int state = TOO_BIG;
    sparse_prune_result *best = NULL;
    rc = offsets(p->cfg, net, g, &d, &n);
    if (!rc && n)
        rc = smallest_fit(p, net, point, g, box, seed, d, n, &best, &at, &state);
    if (!rc && state == FITS) {
        sparse_prune_result_free(*pruned);
        *pruned = best;
        best = NULL;
        *offset = d[at];
        *fits = 1;
    }
    sparse_prune_result_free(best);
    free(d);
    return rc;
}
