/* A trial's network: the pruning options and per-layer thresholds of its
 * genome, and the network as the search evaluated it, rebuilt from the run
 * directory (for inspection, export and classification). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"
#include "sparse/experimental.h"
#include "sparse/prune.h"

void sp_prune_options(const sp_genome *g, uint64_t seed, sparse_prune_options *po)
{
    sparse_prune_options d = SPARSE_PRUNE_OPTIONS_INIT;
    *po = d;
    po->method = g->prune == SP_PRUNE_SPVD ? SPARSE_PRUNE_SPVD
                 : g->prune == SP_PRUNE_BC ? SPARSE_PRUNE_BC
                                           : SPARSE_PRUNE_NONE;
    po->spvd_threshold = po->bc_threshold = g->threshold_fc;
    po->kl_weight = g->kl_weight;
    po->zero_epochs = g->zero_epochs;
    po->anneal_epochs = g->anneal_epochs;
    po->finetune_epochs = 0;
    po->seed = seed;
}

/* Paper Table 5 prunes every layer with its own threshold: conv nodes
 * ("b1l0", "b1l0/dw", "b1l0/reduce", "b1l0_res/proj") take their layer's,
 * FC nodes the FC threshold. */
int sp_set_layer_thresholds(sparse_net *net, const sp_genome *g, int mode, uint64_t seed)
{
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        if (sparse_exp_net_variational_mode(net, id) == SPARSE_VAR_NONE)
            continue;
        const char *name = sparse_net_node_name(net, id);
        int k, l;
        double thr = g->threshold_fc;
        if (name && sscanf(name, "b%dl%d", &k, &l) == 2 && k >= 0 && k < g->blocks && l >= 0 &&
            l < g->block_layers[k])
            thr = g->threshold[k][l];
        int rc = sparse_exp_net_set_variational(net, id, mode, thr, seed);
        if (rc)
            return rc;
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_run_trial_net(const sparse_run *run, size_t id, sparse_net **out,
                                    sparse_net **before)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    if (before)
        *before = NULL;
    SPARSE__CHECK_NULL(run);
    const double *point = sparse__run_point(run, id);
    double ok = 0;
    int rc = sparse_run_trial_value(run, id, SPARSE_TRIAL_OK, &ok);
    if (rc)
        return rc;
    if (ok != 1 || !point)
        return sparse__error(SPARSE_ENOTFOUND, "trial %zu failed: it has no network", id);
    const sparse_search_config *cfg = sparse__run_config(run);
    sp_layout lay;
    if ((rc = sp_layout_create(&lay, cfg)))
        return rc;
    sp_genome g;
    sp_genome_decode(&lay, cfg, point, &g);
    sp_layout_destroy(&lay);
    char *path = sparse__run_path(run, id);
    if (!path)
        return SPARSE_ENOMEM;
    sparse_net *net = NULL;
    sparse_arch *arch = NULL;
    sparse_prune_result *pruned = NULL;
    if (g.prune == SP_PRUNE_NONE) {
        rc = sparse_net_load_arch(&arch, path);
        if (!rc)
            rc = sparse_net_create(&net, arch, 256, 0);
        if (!rc)
            rc = sparse_net_load(net, path, 1);
        sparse_arch_free(arch);
    } else {
        sparse_prune_options po;
        sp_prune_options(&g, 0, &po);
        rc = sparse_prune_load(&net, path, 256, &po);
        if (!rc)
            rc = sp_set_layer_thresholds(net, &g, g.prune == SP_PRUNE_BC ? SPARSE_VAR_BC : SPARSE_VAR_SPVD, 0);
        if (!rc)
            rc = sparse_prune_compact(&pruned, net, 256);
    }
    free(path);
    if (rc) {
        sparse_net_free(net);
        return sparse__error_prefix(rc, "rebuilding the network of trial %zu", id);
    }
    if (pruned) {
        rc = sparse_prune_result_take_net(pruned, out);
        sparse_prune_result_free(pruned);
        if (rc) {
            sparse_net_free(net);
            return rc;
        }
        if (before)
            *before = net;
        else
            sparse_net_free(net);
    } else {
        *out = net;
    }
    return SPARSE_OK;
}
