/* The adapter from a sparse_net to a sparse_memgraph: one memgraph node per
 * network node (same ids, same names), parameters counted as deployed. */
#include <stdint.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "memory_internal.h"
#include "netfold.h"

static int mem_kind(const sparse_net *net, size_t id, const sparse_node_info *info, int *kind)
{
    switch (info->kind) {
    case SPARSE_LAYER_INPUT: *kind = SPARSE_MEMNODE_INPUT; return SPARSE_OK;
    case SPARSE_LAYER_CONV2D:
        *kind = info->kernel == 1 ? SPARSE_MEMNODE_PWCONV : SPARSE_MEMNODE_CONV;
        return SPARSE_OK;
    case SPARSE_LAYER_DEPTHWISE_CONV2D: *kind = SPARSE_MEMNODE_DWCONV; return SPARSE_OK;
    case SPARSE_LAYER_INPUT_DOWNSAMPLE: *kind = SPARSE_MEMNODE_DOWNSAMPLE; return SPARSE_OK;
    /* Folded into the conv before it / run in place: not layers. */
    case SPARSE_LAYER_BATCHNORM:
    case SPARSE_LAYER_RELU: *kind = SPARSE_MEMNODE_VIEW; return SPARSE_OK;
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL: *kind = SPARSE_MEMNODE_POOL; return SPARSE_OK;
    case SPARSE_LAYER_FC: *kind = SPARSE_MEMNODE_FC; return SPARSE_OK;
    case SPARSE_LAYER_MERGE:
        *kind = info->merge == SPARSE_MERGE_CONCAT ? SPARSE_MEMNODE_CONCAT : SPARSE_MEMNODE_ADD;
        return SPARSE_OK;
    default:
        return sparse__error(SPARSE_EUNSUPPORTED, "memory: node %zu '%s' has kind %d (%s), unknown here",
                             id, sparse_net_node_name(net, id), info->kind,
                             sparse_layer_kind_name(info->kind));
    }
}

static uint64_t count_nonzero(const float *v, size_t n)
{
    uint64_t nz = 0;
    for (size_t i = 0; i < n; i++)
        nz += v[i] != 0.0f;
    return nz;
}

static int add_node(sparse_memgraph *g, const sparse__netfold *f, const sparse_net *net, size_t id)
{
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    int rc = sparse_net_node_info(net, id, &info);
    if (rc)
        return rc;
    int kind = SPARSE_MEMNODE_VIEW;
    if ((rc = mem_kind(net, id, &info, &kind)))
        return rc;
    size_t n_in = sparse_net_node_input_count(net, id);
    size_t in[SPARSE_LAYER_MAX_INPUTS];
    if (n_in > SPARSE_LAYER_MAX_INPUTS)
        return sparse__error(SPARSE_EINTERNAL, "memory: node '%s' has %zu inputs",
                             sparse_net_node_name(net, id), n_in);
    for (size_t k = 0; k < n_in; k++)
        if ((rc = sparse_net_node_input(net, id, k, &in[k])))
            return rc;
    size_t c, h, w, got;
    if ((rc = sparse_net_node_shape(net, id, &c, &h, &w)))
        return rc;
    rc = sparse_memgraph_add_node(g, kind, sparse_net_node_name(net, id), n_in ? in : NULL, n_in, c, h,
                                  w, &got);
    if (rc)
        return rc;
    if (got != id)
        return sparse__error(SPARSE_EINTERNAL, "memory: node '%s' got memgraph id %zu, not %zu",
                             sparse_net_node_name(net, id), got, id);
    /* A ReLU the int8 kernels cannot fuse still costs a step in flash. */
    if (info.kind == SPARSE_LAYER_RELU && !sparse__netfold_relu_fuses(f, net, in[0]))
        g->nodes[id].relu_step = 1;
    if (kind == SPARSE_MEMNODE_CONV || kind == SPARSE_MEMNODE_DWCONV || kind == SPARSE_MEMNODE_PWCONV ||
        kind == SPARSE_MEMNODE_POOL || kind == SPARSE_MEMNODE_DOWNSAMPLE) {
        uint32_t k = (uint32_t)info.kernel, s = (uint32_t)info.stride;
        if ((rc = sparse_memgraph_set_kernel(g, id, k, k, s, s)))
            return rc;
    }
    if (!sparse_layer_kind_has_weights(info.kind))
        return SPARSE_OK;
    float *wv = NULL, *bv = NULL;
    size_t nw, nb, oc;
    if ((rc = sparse__netfold_params(f, net, id, &wv, &nw, &bv, &nb, &oc)))
        return rc;
    rc = sparse_memgraph_set_params(g, id, nw, nb, count_nonzero(wv, nw), count_nonzero(bv, nb));
    free(wv);
    free(bv);
    return rc;
}

SPARSE_API int sparse_memgraph_from_net(sparse_memgraph **out, const sparse_net *net)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    sparse__netfold f;
    int rc = sparse__netfold_create(&f, net);
    if (rc)
        return rc;
    sparse_memgraph *g = NULL;
    rc = sparse_memgraph_create(&g);
    for (size_t i = 0; !rc && i < f.n; i++)
        rc = add_node(g, &f, net, i);
    sparse__netfold_free(&f);
    if (rc) {
        sparse_memgraph_free(g);
        return rc;
    }
    *out = g;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_from_net(sparse_memreport **out, const sparse_net *net,
                                         const sparse_memory_options *opts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse_memgraph *g = NULL;
    int rc = sparse_memgraph_from_net(&g, net);
    if (rc)
        return rc;
    rc = sparse_memreport_create(out, g, opts);
    sparse_memgraph_free(g);
    return rc;
}
