/* The memory graph: building it node by node and checking it is consistent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "memory_internal.h"


SPARSE_API const char *sparse_memnode_kind_name(int kind)
{
    switch (kind) {
    case SPARSE_MEMNODE_INPUT: return "input";
    case SPARSE_MEMNODE_CONV: return "conv";
    case SPARSE_MEMNODE_DWCONV: return "dwconv";
    case SPARSE_MEMNODE_PWCONV: return "pwconv";
    case SPARSE_MEMNODE_POOL: return "pool";
    case SPARSE_MEMNODE_DOWNSAMPLE: return "downsample";
    case SPARSE_MEMNODE_FC: return "fc";
    case SPARSE_MEMNODE_ADD: return "add";
    case SPARSE_MEMNODE_CONCAT: return "concat";
    case SPARSE_MEMNODE_VIEW: return "view";
    default: return "unknown";
    }
}

SPARSE_API int sparse_memgraph_create(sparse_memgraph **out)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse_memgraph *g = sparse__calloc(1, sizeof *g);
    if (!g)
        return SPARSE_ENOMEM;
    *out = g;
    return SPARSE_OK;
}

SPARSE_API void sparse_memgraph_free(sparse_memgraph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].inputs);
    }
    free(g->nodes);
    free(g);
}

SPARSE_API size_t sparse_memgraph_node_count(const sparse_memgraph *g) { return g ? g->n : 0; }

static int arity_ok(int kind, size_t n_inputs)
{
    switch (kind) {
    case SPARSE_MEMNODE_INPUT: return n_inputs == 0;
    case SPARSE_MEMNODE_ADD:
    case SPARSE_MEMNODE_CONCAT: return n_inputs >= 2;
    default: return n_inputs == 1;
    }
}

/* Derives the node's input shape from its producers and checks the output
 * shape against it; nd->name is already set for the messages. */
static int link_shapes(const sparse_memgraph *g, sparse__memnode *nd, size_t id)
{
    if (nd->n_inputs == 0)
        return SPARSE_OK;
    const sparse__memnode *first = &g->nodes[nd->inputs[0]];
    nd->in_c = first->out_c;
    nd->in_h = first->out_h;
    nd->in_w = first->out_w;
    nd->in_elems = 0;
    for (size_t k = 0; k < nd->n_inputs; k++) {
        const sparse__memnode *p = &g->nodes[nd->inputs[k]];
        nd->in_elems += sparse__out_elems(p);
        if (k == 0)
            continue;
        int same_hw = p->out_h == first->out_h && p->out_w == first->out_w;
        if (nd->kind == SPARSE_MEMNODE_ADD && (!same_hw || p->out_c != first->out_c))
            return sparse__error(SPARSE_ESHAPE,
                                 "memgraph node %zu '%s': add input %zu '%s' is %llux%llux%llu, "
                                 "input 0 '%s' is %llux%llux%llu",
                                 id, nd->name, k, p->name, (unsigned long long)p->out_c,
                                 (unsigned long long)p->out_h, (unsigned long long)p->out_w,
                                 first->name, (unsigned long long)first->out_c,
                                 (unsigned long long)first->out_h, (unsigned long long)first->out_w);
        if (nd->kind == SPARSE_MEMNODE_CONCAT && !same_hw)
            return sparse__error(SPARSE_ESHAPE,
                                 "memgraph node %zu '%s': concat input %zu '%s' is %llux%llu "
                                 "spatially, input 0 '%s' is %llux%llu",
                                 id, nd->name, k, p->name, (unsigned long long)p->out_h,
                                 (unsigned long long)p->out_w, first->name,
                                 (unsigned long long)first->out_h, (unsigned long long)first->out_w);
        if (nd->kind == SPARSE_MEMNODE_CONCAT)
            nd->in_c += p->out_c;
    }
    if (nd->in_elems > SPARSE__MEM_MAX)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': %llu input elements is too many",
                             id, nd->name, (unsigned long long)nd->in_elems);

    const char *why = NULL;
    uint64_t oc = nd->out_c, oh = nd->out_h, ow = nd->out_w;
    switch (nd->kind) {
    case SPARSE_MEMNODE_ADD:
    case SPARSE_MEMNODE_CONCAT:
        if (oc != nd->in_c || oh != nd->in_h || ow != nd->in_w)
            why = nd->kind == SPARSE_MEMNODE_ADD ? "output shape differs from the inputs'"
                                                 : "output is not the channel concatenation of the inputs";
        break;
    case SPARSE_MEMNODE_VIEW:
        if (sparse__out_elems(nd) != nd->in_elems)
            why = "a view must keep the element count";
        break;
    case SPARSE_MEMNODE_POOL:
        if (oc != nd->in_c || oh > nd->in_h || ow > nd->in_w)
            why = "pooling keeps the channels and cannot grow H or W";
        break;
    case SPARSE_MEMNODE_DOWNSAMPLE:
        if (oc > nd->in_c || oh > nd->in_h || ow > nd->in_w)
            why = "downsampling cannot grow any dimension";
        break;
    case SPARSE_MEMNODE_DWCONV:
        if (oc % nd->in_c != 0)
            why = "depthwise output channels must be a multiple of the input channels";
        break;
    case SPARSE_MEMNODE_FC:
        if (oh != 1 || ow != 1)
            why = "fully connected output must be (n, 1, 1)";
        break;
    default:
        break;
    }
    if (why)
        return sparse__error(SPARSE_ESHAPE,
                             "memgraph node %zu '%s' (%s): %s (input %llux%llux%llu, output "
                             "%llux%llux%llu)",
                             id, nd->name, sparse_memnode_kind_name(nd->kind), why,
                             (unsigned long long)nd->in_c, (unsigned long long)nd->in_h,
                             (unsigned long long)nd->in_w, (unsigned long long)oc,
                             (unsigned long long)oh, (unsigned long long)ow);
    return SPARSE_OK;
}

SPARSE_API int sparse_memgraph_add_node(sparse_memgraph *g, int kind, const char *name,
                                        const size_t *inputs, size_t n_inputs, uint64_t out_c,
                                        uint64_t out_h, uint64_t out_w, size_t *id)
{
    SPARSE__CHECK_NULL(g);
    SPARSE__CHECK_NULL(id);
    size_t nid = g->n;
    const char *label = name ? name : sparse_memnode_kind_name(kind);
    if (nid >= SPARSE__MEM_MAX_NODES)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': a graph holds at most %zu nodes",
                             nid, label, (size_t)SPARSE__MEM_MAX_NODES);
    if (kind < SPARSE_MEMNODE_INPUT || kind > SPARSE_MEMNODE_VIEW)
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': unknown kind %d", nid, label,
                             kind);
    if (!arity_ok(kind, n_inputs))
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a %s node cannot take %zu inputs",
                             nid, label, sparse_memnode_kind_name(kind), n_inputs);
    if (n_inputs > 0 && !inputs)
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': inputs is NULL", nid, label);
    for (size_t k = 0; k < n_inputs; k++)
        if (inputs[k] >= nid)
            return sparse__error(SPARSE_ERANGE,
                                 "memgraph node %zu '%s': input %zu refers to node %zu, which is "
                                 "not an earlier node (forward reference or cycle)",
                                 nid, label, k, inputs[k]);
    if (out_c == 0 || out_h == 0 || out_w == 0)
        return sparse__error(SPARSE_ESHAPE, "memgraph node %zu '%s': empty output shape %llux%llux%llu",
                             nid, label, (unsigned long long)out_c, (unsigned long long)out_h,
                             (unsigned long long)out_w);
    uint64_t elems;
    if (sparse__mul64(out_c, out_h, &elems) || sparse__mul64(elems, out_w, &elems) ||
        elems > SPARSE__MEM_MAX)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': output %llux%llux%llu is too large",
                             nid, label, (unsigned long long)out_c, (unsigned long long)out_h,
                             (unsigned long long)out_w);

    if (sparse__grow(&g->nodes, &g->cap, g->n, sizeof *g->nodes, 16))
        return SPARSE_ENOMEM;

    sparse__memnode nd;
    memset(&nd, 0, sizeof nd);
    nd.kind = kind;
    nd.out_c = out_c;
    nd.out_h = out_h;
    nd.out_w = out_w;
    nd.kh = nd.kw = nd.sh = nd.sw = 1;
    if (name) {
        nd.name = sparse__strdup(name);
    } else {
        char tmp[48];
        snprintf(tmp, sizeof tmp, "%s%zu", sparse_memnode_kind_name(kind), nid);
        nd.name = sparse__strdup(tmp);
    }
    if (!nd.name)
        return SPARSE_ENOMEM;
    if (n_inputs) {
        nd.inputs = sparse__calloc(n_inputs, sizeof *nd.inputs);
        if (!nd.inputs) {
            free(nd.name);
            return SPARSE_ENOMEM;
        }
        memcpy(nd.inputs, inputs, n_inputs * sizeof *inputs);
    }
    nd.n_inputs = n_inputs;
    int rc = link_shapes(g, &nd, nid);
    if (rc) {
        free(nd.name);
        free(nd.inputs);
        return rc;
    }
    g->nodes[g->n++] = nd;
    *id = nid;
    return SPARSE_OK;
}

/* Returns the node, or NULL with the recorded status in *rc. */
static sparse__memnode *get_node(sparse_memgraph *g, size_t id, const char *what, int *rc)
{
    if (!g) {
        *rc = sparse__error(SPARSE_EINVAL, "%s: argument 'g' is NULL", what);
        return NULL;
    }
    if (id >= g->n) {
        *rc = sparse__error(SPARSE_ERANGE, "%s: no memgraph node %zu (graph has %zu)", what, id,
                            g->n);
        return NULL;
    }
    return &g->nodes[id];
}

SPARSE_API int sparse_memgraph_set_params(sparse_memgraph *g, size_t id, uint64_t weights,
                                          uint64_t biases, uint64_t nz_weights,
                                          uint64_t nz_biases)
{
    int rc = SPARSE_EINTERNAL;
    sparse__memnode *nd = get_node(g, id, __func__, &rc);
    if (!nd)
        return rc;
    if (!sparse__memkind_has_weights(nd->kind))
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a %s node has no weights", id,
                             nd->name, sparse_memnode_kind_name(nd->kind));
    if (nz_weights > weights || nz_biases > biases)
        return sparse__error(SPARSE_ERANGE,
                             "memgraph node %zu '%s': non-zeros (%llu weights, %llu biases) exceed "
                             "the counts (%llu, %llu)",
                             id, nd->name, (unsigned long long)nz_weights,
                             (unsigned long long)nz_biases, (unsigned long long)weights,
                             (unsigned long long)biases);
    if (weights > SPARSE__MEM_MAX || biases > SPARSE__MEM_MAX)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': weight count too large", id,
                             nd->name);
    nd->weights = weights;
    nd->biases = biases;
    nd->nz_weights = nz_weights;
    nd->nz_biases = nz_biases;
    return SPARSE_OK;
}

SPARSE_API int sparse_memgraph_set_kernel(sparse_memgraph *g, size_t id, uint32_t kh, uint32_t kw,
                                          uint32_t stride_h, uint32_t stride_w)
{
    int rc = SPARSE_EINTERNAL;
    sparse__memnode *nd = get_node(g, id, __func__, &rc);
    if (!nd)
        return rc;
    int k = nd->kind;
    if (!sparse__memkind_has_weights(k) && k != SPARSE_MEMNODE_POOL && k != SPARSE_MEMNODE_DOWNSAMPLE)
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a %s node has no kernel", id,
                             nd->name, sparse_memnode_kind_name(k));
    if (k == SPARSE_MEMNODE_FC)
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a fc node has no kernel", id,
                             nd->name);
    if (kh == 0 || kw == 0 || stride_h == 0 || stride_w == 0 || kh > 65535 || kw > 65535)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': kernel %ux%u stride %ux%u", id,
                             nd->name, (unsigned)kh, (unsigned)kw, (unsigned)stride_h,
                             (unsigned)stride_w);
    if (k == SPARSE_MEMNODE_PWCONV && (kh != 1 || kw != 1))
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a pwconv kernel is 1x1, not %ux%u",
                             id, nd->name, (unsigned)kh, (unsigned)kw);
    nd->kh = kh;
    nd->kw = kw;
    nd->sh = stride_h;
    nd->sw = stride_w;
    return SPARSE_OK;
}

SPARSE_API int sparse_memgraph_set_in_place(sparse_memgraph *g, size_t id, int in_place)
{
    int rc = SPARSE_EINTERNAL;
    sparse__memnode *nd = get_node(g, id, __func__, &rc);
    if (!nd)
        return rc;
    if (in_place && (nd->kind == SPARSE_MEMNODE_INPUT || nd->kind == SPARSE_MEMNODE_VIEW ||
                     nd->kind == SPARSE_MEMNODE_CONCAT))
        return sparse__error(SPARSE_EINVAL, "memgraph node %zu '%s': a %s node cannot run in place",
                             id, nd->name, sparse_memnode_kind_name(nd->kind));
    nd->in_place = in_place != 0;
    return SPARSE_OK;
}

/* The weight count a layer of this shape must have, so an adapter that
 * forgot a compaction or a kernel size is caught here, not in the figures.
 * SPARSE_ERANGE if the product does not fit 64 bits (then nothing can match). */
static int expected_weights(const sparse__memnode *nd, uint64_t *want)
{
    uint64_t kk = (uint64_t)nd->kh * nd->kw, t;
    switch (nd->kind) {
    case SPARSE_MEMNODE_CONV:
        return sparse__mul64(nd->out_c, nd->in_c, &t) || sparse__mul64(t, kk, want) ? SPARSE_ERANGE
                                                                                      : SPARSE_OK;
    case SPARSE_MEMNODE_DWCONV: return sparse__mul64(nd->out_c, kk, want);
    case SPARSE_MEMNODE_PWCONV: return sparse__mul64(nd->out_c, nd->in_c, want);
    case SPARSE_MEMNODE_FC: return sparse__mul64(nd->out_c, nd->in_elems, want);
    default: *want = 0; return SPARSE_OK;
    }
}

int sparse__memgraph_validate(const sparse_memgraph *g)
{
    int layers = 0;
    for (size_t i = 0; i < g->n; i++) {
        const sparse__memnode *nd = &g->nodes[i];
        layers += sparse__memkind_is_layer(nd->kind);
        if (!sparse__memkind_has_weights(nd->kind))
            continue;
        uint64_t want = 0;
        int overflow = expected_weights(nd, &want) != SPARSE_OK;
        if (overflow || nd->weights != want)
            return sparse__error(SPARSE_ESHAPE,
                                 "memgraph node %zu '%s' (%s): %llu weights, but input %llux%llux%llu, "
                                 "output %llux%llux%llu and kernel %ux%u need %llu",
                                 i, nd->name, sparse_memnode_kind_name(nd->kind),
                                 (unsigned long long)nd->weights, (unsigned long long)nd->in_c,
                                 (unsigned long long)nd->in_h, (unsigned long long)nd->in_w,
                                 (unsigned long long)nd->out_c, (unsigned long long)nd->out_h,
                                 (unsigned long long)nd->out_w, (unsigned)nd->kh, (unsigned)nd->kw,
                                 (unsigned long long)want);
        if (nd->biases != 0 && nd->biases != nd->out_c)
            return sparse__error(SPARSE_ESHAPE,
                                 "memgraph node %zu '%s': %llu biases for %llu output channels", i,
                                 nd->name, (unsigned long long)nd->biases,
                                 (unsigned long long)nd->out_c);
    }
    if (layers == 0)
        return sparse__error(SPARSE_EEMPTY, "memgraph has no layers (%zu nodes)", g->n);
    return SPARSE_OK;
}
