/* The buffers the int8 kernels use, as a memory graph (sparse/memory.h), so
 * that the library's planner lays out an exported model's arena: one node
 * per network node (same ids and names), batch norms and fused ReLUs as
 * views, a ReLU that could not be fused as a tensor of its own, and steps in
 * place where their kernel allows it (it writes each value at or before
 * every input value still to be read) and they are the last reader of their
 * input: sums and ReLUs always (same size, so it never costs), pools only
 * where that lowers the arena (in place, a pool keeps its larger input's
 * whole buffer alive for its readers). Weights are counted as stored: int8
 * non-zeros. */
#include <stdlib.h>

#include "../core/internal.h"
#include "memory_internal.h"
#include "quant_internal.h"
#include "sparse/experimental.h"

static int mem_kind(const sparse__qnode *nd)
{
    switch (nd->op) {
    case Q_INPUT:
        return SPARSE_MEMNODE_INPUT;
    case Q_CONV:
        if (nd->kind == SPARSE_LAYER_FC)
            return SPARSE_MEMNODE_FC;
        if (nd->conv.groups > 1)
            return SPARSE_MEMNODE_DWCONV;
        return nd->conv.k == 1 ? SPARSE_MEMNODE_PWCONV : SPARSE_MEMNODE_CONV;
    case Q_MAXPOOL:
        return nd->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE ? SPARSE_MEMNODE_DOWNSAMPLE : SPARSE_MEMNODE_POOL;
    case Q_AVGPOOL:
        return SPARSE_MEMNODE_POOL;
    case Q_ADD:
        return SPARSE_MEMNODE_ADD;
    case Q_CONCAT:
        return SPARSE_MEMNODE_CONCAT;
    /* An element-wise op with a buffer of its own: what a 1x1 pool is to
     * the planner (relu_step tells the flash model its descriptor). */
    case Q_RELU:
        return SPARSE_MEMNODE_POOL;
    default:
        return SPARSE_MEMNODE_VIEW;
    }
}

/* 1 if node id may write over its first input: a kernel that allows it,
 * and no later node reads that buffer. */
static int can_run_in_place(const sparse_qnet *q, size_t id)
{
    const sparse__qnode *nd = &q->nodes[id];
    if (nd->op != Q_MAXPOOL && nd->op != Q_AVGPOOL && nd->op != Q_ADD && nd->op != Q_RELU)
        return 0;
    const size_t buf = nd->in[0];
    for (size_t j = id + 1; j < q->n; j++)
        for (size_t k = 0; k < q->nodes[j].n_in; k++)
            if (q->nodes[j].in[k] == buf)
                return 0;
    /* The network's output is read after the last step. */
    return q->nodes[q->n - 1].owner != buf;
}

static int add_node(sparse_memgraph *g, const sparse_qnet *q, size_t id, const unsigned char *pool_in_place)
{
    const sparse__qnode *nd = &q->nodes[id];
    const int kind = mem_kind(nd);
    size_t got;
    int rc = sparse_memgraph_add_node(g, kind, nd->name, nd->n_in ? nd->src : NULL, nd->n_in, nd->c, nd->h,
                                      nd->w, &got);
    if (rc)
        return rc;
    if (got != id)
        return sparse__error(SPARSE_EINTERNAL, "int8 memgraph: node '%s' got id %zu, not %zu", nd->name, got,
                             id);
    g->nodes[id].relu_step = nd->op == Q_RELU;
    switch (kind) {
    case SPARSE_MEMNODE_CONV:
    case SPARSE_MEMNODE_DWCONV:
    case SPARSE_MEMNODE_PWCONV:
        rc = sparse_memgraph_set_kernel(g, id, nd->conv.k, nd->conv.k, nd->conv.stride, nd->conv.stride);
        /* fall through */
    case SPARSE_MEMNODE_FC:
        if (!rc)
            rc = sparse_memgraph_set_params(g, id, nd->rows * nd->cols, nd->bias ? nd->rows : 0, nd->nnz,
                                            nd->nnz_bias);
        break;
    case SPARSE_MEMNODE_POOL:
    case SPARSE_MEMNODE_DOWNSAMPLE:
        if (nd->op != Q_RELU)
            rc = sparse_memgraph_set_kernel(g, id, nd->pool.k, nd->pool.k, nd->pool.stride, nd->pool.stride);
        break;
    default:
        break;
    }
    const int pool = nd->op == Q_MAXPOOL || nd->op == Q_AVGPOOL;
    if (!rc && can_run_in_place(q, id) && (!pool || pool_in_place[id]))
        rc = sparse_memgraph_set_in_place(g, id, 1);
    return rc;
}

static int build(const sparse_qnet *q, const unsigned char *pool_in_place, sparse_memgraph **out,
                 uint64_t *arena)
{
    sparse_memgraph *g = NULL;
    sparse_memreport *r = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.scratch = SPARSE_SCRATCH_NONE;
    int rc = sparse_memgraph_create(&g);
    for (size_t i = 0; !rc && i < q->n; i++)
        rc = add_node(g, q, i, pool_in_place);
    if (!rc)
        rc = sparse_memreport_create(&r, g, &mo);
    if (!rc)
        rc = sparse_memreport_deploy_arena_bytes(r, arena, NULL);
    sparse_memreport_free(r);
    if (rc) {
        sparse_memgraph_free(g);
        return rc;
    }
    *out = g;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_qnet_memgraph(sparse_memgraph **out, const sparse_qnet *q)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(q);
    unsigned char *pool_in_place = sparse__calloc(q->n ? q->n : 1, 1);
    if (!pool_in_place)
        return SPARSE_ENOMEM;
    /* Pools out of place, then each one in place if that lowers the arena. */
    sparse_memgraph *best = NULL;
    uint64_t best_arena = 0;
    int rc = build(q, pool_in_place, &best, &best_arena);
    for (size_t i = 0; !rc && i < q->n; i++) {
        const int op = q->nodes[i].op;
        if ((op != Q_MAXPOOL && op != Q_AVGPOOL) || !can_run_in_place(q, i))
            continue;
        pool_in_place[i] = 1;
        sparse_memgraph *g = NULL;
        uint64_t arena = 0;
        rc = build(q, pool_in_place, &g, &arena);
        if (!rc && arena < best_arena) {
            sparse_memgraph_free(best);
            best = g;
            best_arena = arena;
        } else {
            sparse_memgraph_free(g);
            pool_in_place[i] = 0;
        }
    }
    free(pool_in_place);
    if (rc) {
        sparse_memgraph_free(best);
        return rc;
    }
    *out = best;
    return SPARSE_OK;
}
