/* A trial's network: the pruning options and per-layer thresholds of its
 * genome, the one loader of its weights file (a reference the search
 * inherits from, or a trial rebuilt from the run directory for inspection,
 * export and classification) and the one way it is pruned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/internal.h"
#include "search_internal.h"
#include "sparse/experimental.h"
#include "sparse/prune.h"

void sparse__prune_options(const sparse__genome *g, uint64_t seed, sparse_prune_options *po)
{
    sparse_prune_options d = SPARSE_PRUNE_OPTIONS_INIT;
    *po = d;
    po->method = g->prune;
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
double sparse__node_threshold(const sparse__genome *g, const char *name)
{
    int k, l;
    if (name && sscanf(name, "b%dl%d", &k, &l) == 2 && k >= 0 && k < g->blocks && l >= 0 &&
        l < g->block_layers[k])
        return g->threshold[k][l];
    return g->threshold_fc;
}

static int set_layer_thresholds(sparse_net *net, const sparse__genome *g, uint64_t seed)
{
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        if (sparse_exp_net_variational_mode(net, id) == SPARSE_PRUNE_NONE)
            continue;
        double thr = sparse__node_threshold(g, sparse_net_node_name(net, id));
        int rc = sparse_exp_net_set_variational(net, id, g->prune, thr, seed);
        if (rc)
            return rc;
    }
    return SPARSE_OK;
}

int sparse__prune_trial(sparse_net *net, const sparse__genome *g, uint64_t seed, size_t batch,
                        sparse_prune_result **out)
{
    *out = NULL;
    int rc = set_layer_thresholds(net, g, seed);
    return rc ? rc : sparse_prune_compact(out, net, batch);
}

int sparse__load_trial(const char *path, const sparse__genome *g, size_t batch, sparse_net **out)
{
    *out = NULL;
    sparse_arch *arch = NULL;
    int rc;
    if (g->prune != SPARSE_PRUNE_NONE) {
        sparse_prune_options po;
        sparse__prune_options(g, 0, &po);
        rc = sparse_prune_load(out, path, batch, &po);
    } else {
        rc = sparse_net_load_arch(&arch, path);
        if (!rc)
            rc = sparse_net_create(out, arch, batch, 0);
        if (!rc)
            rc = sparse_net_load(*out, path, 1);
    }
    sparse_arch_free(arch);
    if (rc) {
        sparse_net_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The network of a trial's weights file as the search evaluated it: pruned
 * (into *out, *before the variational one) or as it is (*out). */
static int rebuild(const char *path, const sparse__genome *g, sparse_net **out, sparse_net **before)
{
    sparse_net *net = NULL;
    sparse_prune_result *pruned = NULL;
    int rc = sparse__load_trial(path, g, 256, &net);
    if (!rc && g->prune == SPARSE_PRUNE_NONE) {
        *out = net;
        return SPARSE_OK;
    }
    if (!rc)
        rc = sparse__prune_trial(net, g, 0, 256, &pruned);
    if (!rc)
        rc = sparse_prune_result_take_net(out, pruned);
    sparse_prune_result_free(pruned);
    if (rc)
        sparse_net_free(net);
    else
        *before = net;
    return rc;
}

/* A trial's weights file is read from the run directory itself: neither it
 * nor weights/ may be a symbolic link leading elsewhere. */
static int check_weights_path(const char *path)
{
    struct stat st;
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char *dir = sparse__malloc(dir_len + 1);
    if (!dir)
        return SPARSE_ENOMEM;
    memcpy(dir, path, dir_len);
    dir[dir_len] = '\0';
    int rc = SPARSE_OK;
    if (dir_len && !lstat(dir, &st) && S_ISLNK(st.st_mode))
        rc = sparse__error(SPARSE_EIO,
                           "%s: is a symbolic link (not followed): a run's weights/ must be its own", dir);
    else if (!lstat(path, &st) && S_ISLNK(st.st_mode))
        rc = sparse__error(SPARSE_EIO,
                           "%s: is a symbolic link (not followed): a run's weights must be its own", path);
    free(dir);
    return rc;
}

SPARSE_API int sparse_run_trial_net(sparse_net **out, sparse_net **before, const sparse_run *run, size_t id)
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
    if (ok != 1)
        return sparse__error(SPARSE_ENOTFOUND, "trial %zu failed: it has no network", id);
    if (!point)
        return sparse__error(SPARSE_EFORMAT, "trial %zu: its record has no readable point", id);
    const sparse_search_config *cfg = sparse__run_config(run);
    sparse__layout lay;
    if ((rc = sparse__layout_create(&lay, cfg)))
        return rc;
    sparse__genome g;
    sparse__genome_decode(&lay, cfg, point, &g);
    sparse__layout_destroy(&lay);
    char *path = sparse__run_path(run, id);
    if (!path)
        return SPARSE_ENOMEM;
    sparse_net *variational = NULL;
    rc = check_weights_path(path);
    if (!rc)
        rc = rebuild(path, &g, out, &variational);
    free(path);
    if (rc)
        return sparse__error_prefix(rc, "rebuilding the network of trial %zu", id);
    if (before)
        *before = variational;
    else
        sparse_net_free(variational);
    return SPARSE_OK;
}
