/* The report handle: options, running the passes, and the getters. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "memory_internal.h"

SPARSE__STRUCT_VERSIONS(memory_options_versions, sparse_memory_options, SPARSE_MEMORY_OPTIONS_INIT,
                        SPARSE_MEMORY_OPTIONS_VERSION, offsetof(sparse_memory_options, dense),
                        offsetof(sparse_memory_options, input_downsampling), sizeof(sparse_memory_options));

SPARSE_API int sparse_memory_options_init(sparse_memory_options *opts, unsigned version)
{
    return sparse__struct_init(&memory_options_versions, opts, version);
}

SPARSE_API void sparse_memreport_free(sparse_memreport *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->rows[i].name);
        free(r->rows[i].inputs);
    }
    free(r->rows);
    free(r);
}

/* Names, kinds and inputs come from the caller's graph g (the report shows
 * the network as given); the figures from the working copy. */
static int copy_rows(sparse_memreport *r, const sparse_memgraph *g, const unsigned char *acquired)
{
    r->rows = sparse__calloc(g->n, sizeof *r->rows);
    if (!r->rows)
        return SPARSE_ENOMEM;
    r->n = g->n;
    for (size_t i = 0; i < g->n; i++) {
        const sparse__memnode *nd = &g->nodes[i];
        sparse__memrow *row = &r->rows[i];
        row->kind = nd->kind;
        row->acquired = acquired && acquired[i] && sparse__memkind_downsamples(nd->kind);
        row->out_c = nd->out_c;
        row->out_h = nd->out_h;
        row->out_w = nd->out_w;
        row->name = sparse__strdup(nd->name);
        if (!row->name)
            return SPARSE_ENOMEM;
        if (nd->n_inputs) {
            row->inputs = sparse__calloc(nd->n_inputs, sizeof *row->inputs);
            if (!row->inputs)
                return SPARSE_ENOMEM;
            memcpy(row->inputs, nd->inputs, nd->n_inputs * sizeof *nd->inputs);
            row->n_inputs = nd->n_inputs;
        }
    }
    return SPARSE_OK;
}

SPARSE_API const char *sparse_input_downsampling_name(int mode)
{
    switch (mode) {
    case SPARSE_INPUT_DOWNSAMPLING_NETWORK: return "network";
    case SPARSE_INPUT_DOWNSAMPLING_ACQUISITION: return "acquisition";
    default: return NULL;
    }
}

SPARSE_API int sparse_input_downsampling_parse(const char *name, int *mode)
{
    SPARSE__CHECK_NULL(name);
    SPARSE__CHECK_NULL(mode);
    for (int m = SPARSE_INPUT_DOWNSAMPLING_NETWORK; m <= SPARSE_INPUT_DOWNSAMPLING_ACQUISITION; m++)
        if (!strcmp(name, sparse_input_downsampling_name(m))) {
            *mode = m;
            return SPARSE_OK;
        }
    return sparse__error(SPARSE_EINVAL, "input downsampling '%s': expected network or acquisition", name);
}

/* Acquisition mode: marks in acq[] the DOWNSAMPLE and POOL nodes fed by the
 * network input or by such a node (the search space downsamples its input
 * with a pool), and the inputs read by nothing else; in the working copy the
 * former become inputs and the latter lose their buffer. */
static void mark_acquisition(sparse__memnode *w, size_t n, unsigned char *acq)
{
    for (size_t v = 0; v < n; v++) {
        const sparse__memnode *nd = &w[v];
        acq[v] = sparse__memkind_downsamples(nd->kind) && nd->n_inputs == 1 &&
                 (w[nd->inputs[0]].kind == SPARSE_MEMNODE_INPUT || acq[nd->inputs[0]]);
    }
    for (size_t u = 0; u < n; u++) {
        if (w[u].kind != SPARSE_MEMNODE_INPUT && !acq[u])
            continue;
        size_t readers = 0, acquired = 0;
        for (size_t v = u + 1; v < n; v++)
            for (size_t k = 0; k < w[v].n_inputs; k++)
                if (w[v].inputs[k] == u) {
                    readers++;
                    acquired += acq[v];
                }
        w[u].no_buffer = readers > 0 && readers == acquired;
    }
    for (size_t v = 0; v < n; v++)
        if (acq[v]) {
            w[v].kind = SPARSE_MEMNODE_INPUT;
            w[v].n_inputs = 0;
        }
}

/* The graph the passes read: g itself, or a copy whose non-zero counts are
 * the totals (dense) and whose acquired downsampling nodes are inputs. */
static int working_graph(const sparse_memgraph *g, const sparse_memory_options *o, sparse_memgraph *wg,
                         unsigned char **acq)
{
    *acq = NULL;
    *wg = *g;
    if (!o->dense && o->input_downsampling == SPARSE_INPUT_DOWNSAMPLING_NETWORK)
        return SPARSE_OK;
    sparse__memnode *w = sparse__calloc(g->n, sizeof *w);
    if (!w)
        return SPARSE_ENOMEM;
    memcpy(w, g->nodes, g->n * sizeof *w);
    wg->nodes = w;
    wg->cap = g->n;
    if (o->dense)
        for (size_t i = 0; i < g->n; i++) {
            w[i].nz_weights = w[i].weights;
            w[i].nz_biases = w[i].biases;
        }
    if (o->input_downsampling == SPARSE_INPUT_DOWNSAMPLING_ACQUISITION) {
        if (!(*acq = sparse__calloc(g->n, 1)))
            return SPARSE_ENOMEM;
        mark_acquisition(w, g->n, *acq);
        size_t layers = 0;
        for (size_t i = 0; i < g->n; i++)
            layers += sparse__memkind_is_layer(w[i].kind);
        if (!layers)
            return sparse__error(SPARSE_EEMPTY, "memgraph: no layer but input downsampling, which is "
                                                "counted as data acquisition");
    }
    return SPARSE_OK;
}

static int check_options(const sparse_memory_options *o)
{
    if (o->scratch < SPARSE_SCRATCH_IM2COL || o->scratch > SPARSE_SCRATCH_NONE)
        return sparse__error(SPARSE_EINVAL, "sparse_memory_options: unknown scratch model %d", o->scratch);
    if (o->dense != 0 && o->dense != 1)
        return sparse__error(SPARSE_EINVAL, "sparse_memory_options: dense is %d, not 0 or 1", o->dense);
    if (!sparse_input_downsampling_name(o->input_downsampling))
        return sparse__error(SPARSE_EINVAL,
                             "sparse_memory_options: input_downsampling is %d, not "
                             "SPARSE_INPUT_DOWNSAMPLING_NETWORK (0) or _ACQUISITION (1)",
                             o->input_downsampling);
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_create(sparse_memreport **out, const sparse_memgraph *g,
                                       const sparse_memory_options *opts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(g);
    sparse_memory_options o;
    int rc = sparse__struct_read(&memory_options_versions, &o, opts, "sparse_memreport_create");
    if (rc || (rc = check_options(&o)))
        return rc;
    if (g->n == 0)
        return sparse__error(SPARSE_EEMPTY, "memgraph is empty");
    if ((rc = sparse__memgraph_validate(g)))
        return rc;
    sparse_memgraph wg;
    unsigned char *acq = NULL;
    sparse_memreport *r = NULL;
    if ((rc = working_graph(g, &o, &wg, &acq)))
        goto done;
    r = sparse__calloc(1, sizeof *r);
    rc = r ? SPARSE_OK : SPARSE_ENOMEM;
    if (r) {
        r->scratch_model = o.scratch;
        r->input_downsampling = o.input_downsampling;
    }
    if (!rc && ((rc = copy_rows(r, g, acq)) || (rc = sparse__mem_paper(r, &wg)) ||
                (rc = sparse__mem_flash(r, &wg)) || (rc = sparse__mem_arena(r, &wg))))
        sparse_memreport_free(r);
done:
    if (wg.nodes != g->nodes)
        free(wg.nodes);
    free(acq);
    if (rc)
        return rc;
    *out = r;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_ms_bytes(const sparse_memreport *r, uint64_t *bytes)
{
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(bytes);
    *bytes = r->ms;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_wm_bytes(const sparse_memreport *r, int model, uint64_t *bytes,
                                         size_t *layer)
{
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(bytes);
    if (model != 5 && model != 6)
        return sparse__error(SPARSE_EINVAL, "working memory model %d: the paper defines 5 and 6", model);
    *bytes = model == 5 ? r->wm5 : r->wm6;
    if (layer)
        *layer = model == 5 ? r->wm5_arg : r->wm6_arg;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_deploy_flash_bytes(const sparse_memreport *r, uint64_t *bytes)
{
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(bytes);
    *bytes = r->flash;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_deploy_arena_bytes(const sparse_memreport *r, uint64_t *bytes,
                                                   uint64_t *lower_bound)
{
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(bytes);
    *bytes = r->arena;
    if (lower_bound)
        *lower_bound = r->arena_lb;
    return SPARSE_OK;
}

SPARSE_API size_t sparse_memreport_node_count(const sparse_memreport *r) { return r ? r->n : 0; }

/* Returns the row, or NULL with the recorded status in *rc. */
static const sparse__memrow *get_row(const sparse_memreport *r, size_t id, const char *what, int *rc)
{
    if (!r) {
        *rc = sparse__error(SPARSE_EINVAL, "%s: argument 'r' is NULL", what);
        return NULL;
    }
    if (id >= r->n) {
        *rc = sparse__error(SPARSE_ERANGE, "%s: no node %zu (report has %zu)", what, id, r->n);
        return NULL;
    }
    return &r->rows[id];
}

SPARSE_API int sparse_memreport_node_name(const sparse_memreport *r, size_t id, const char **name)
{
    SPARSE__CHECK_NULL(name);
    *name = NULL;
    int rc = SPARSE_EINTERNAL;
    const sparse__memrow *row = get_row(r, id, __func__, &rc);
    if (!row)
        return rc;
    *name = row->name;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_node_find(const sparse_memreport *r, const char *name, size_t *id)
{
    SPARSE__CHECK_NULL(id);
    *id = SIZE_MAX;
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(name);
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->rows[i].name, name)) {
            *id = i;
            return SPARSE_OK;
        }
    return sparse__error(SPARSE_ENOTFOUND, "sparse_memreport_node_find: no node '%s'", name);
}

SPARSE_API int sparse_memreport_node_kind(const sparse_memreport *r, size_t id, int *kind)
{
    SPARSE__CHECK_NULL(kind);
    int rc = SPARSE_EINTERNAL;
    const sparse__memrow *row = get_row(r, id, __func__, &rc);
    if (!row)
        return rc;
    *kind = row->kind;
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_node_value(const sparse_memreport *r, size_t id, int field,
                                           uint64_t *value)
{
    SPARSE__CHECK_NULL(value);
    int rc = SPARSE_EINTERNAL;
    const sparse__memrow *row = get_row(r, id, __func__, &rc);
    if (!row)
        return rc;
    switch (field) {
    case SPARSE_MEMFIELD_IS_LAYER: *value = (uint64_t)row->is_layer; break;
    case SPARSE_MEMFIELD_X: *value = row->x; break;
    case SPARSE_MEMFIELD_Y: *value = row->y; break;
    case SPARSE_MEMFIELD_WEIGHTS: *value = row->weights; break;
    case SPARSE_MEMFIELD_NONZEROS: *value = row->nonzeros; break;
    case SPARSE_MEMFIELD_WM5: *value = row->wm5; break;
    case SPARSE_MEMFIELD_WM6: *value = row->wm6; break;
    case SPARSE_MEMFIELD_DEPLOY_FLASH: *value = row->flash; break;
    case SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT: *value = row->flash_format; break;
    case SPARSE_MEMFIELD_DEPLOY_SCRATCH: *value = row->scratch; break;
    case SPARSE_MEMFIELD_DEPLOY_LIVE: *value = row->live; break;
    case SPARSE_MEMFIELD_DEPLOY_ARENA: *value = row->arena; break;
    case SPARSE_MEMFIELD_DEPLOY_OFFSET: *value = row->offset; break;
    case SPARSE_MEMFIELD_ACQUIRED: *value = (uint64_t)row->acquired; break;
    default:
        return sparse__error(SPARSE_ERANGE, "%s: unknown field %d", __func__, field);
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_to_json(char **out, const sparse_memreport *r)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(r);
    return sparse__mem_json(r, out);
}
