/*
 * Beyond the paper: peak RAM of a liveness-planned int8 tensor arena.
 *
 * Steps run in node id order. A buffer is either a materialised tensor (it
 * lives from the step that writes it to the last step that reads it, or to
 * the end for a graph output) or a step's scratch (alive during that step
 * only). VIEW and in-place nodes write no buffer of their own: they extend
 * the lifetime of their input's. Buffers are placed largest first at the
 * lowest offset that does not collide with any placed buffer alive at the
 * same time (the "greedy by size" planner of TFLite Micro), which is simple,
 * deterministic and usually within a few percent of the lower bound.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "memory_internal.h"

typedef struct buffer {
    uint64_t size, offset;
    size_t start, end; /* steps, inclusive */
} buffer;

/* Scratch bytes of one step under the given model; SPARSE_ERANGE (naming the
 * node) if it passes the module's cap. */
static int scratch_bytes(const sparse__memnode *nd, size_t id, int model, uint64_t *out)
{
    uint64_t kk = (uint64_t)nd->kh * nd->kw, t = 0;
    int strided = nd->sh != 1 || nd->sw != 1, bad = 0;
    int conv = nd->kind == SPARSE_MEMNODE_CONV, pw = nd->kind == SPARSE_MEMNODE_PWCONV;
    if (model == SPARSE_SCRATCH_IM2COL && (conv || pw) && (kk > 1 || strided)) {
        /* The whole im2col matrix, so the convolution is a single GEMM; a 1x1
         * convolution with stride 1 already is one, on its input. */
        bad = sparse__mul64(nd->in_c, kk, &t) || sparse__mul64(t, nd->out_h, &t) ||
              sparse__mul64(t, nd->out_w, &t);
    } else if (model == SPARSE_SCRATCH_IM2COL_2COL && conv && kk > 1) {
        /* CMSIS-NN arm_convolve_s8: two columns widened to int16. */
        bad = sparse__mul64(nd->in_c, kk, &t) || sparse__mul64(t, 4, &t);
    }
    if (bad || t > SPARSE__MEM_MAX)
        return sparse__error(SPARSE_ERANGE, "memgraph node %zu '%s': scratch buffer too large", id,
                             nd->name);
    *out = t;
    return SPARSE_OK;
}

/* Sort keys are copied next to the index so the comparators need no context
 * (qsort has no user pointer, and the library keeps no mutable globals). */
typedef struct key {
    uint64_t a;
    size_t b, idx;
} key;

/* Largest first; then earliest start, then creation order, so plans are
 * deterministic. */
static int by_size_desc(const void *pa, const void *pb)
{
    const key *x = pa, *y = pb;
    if (x->a != y->a)
        return x->a > y->a ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_offset(const void *pa, const void *pb)
{
    const key *x = pa, *y = pb;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Places buffers in the given order at the lowest offset free during their
 * lifetime. placed[] and conflict[] are work arrays of nb entries. */
static void place_all(buffer *buf, const key *order, size_t nb, size_t *placed, key *conflict)
{
    size_t np = 0;
    for (size_t oi = 0; oi < nb; oi++) {
        buffer *b = &buf[order[oi].idx];
        size_t nc = 0;
        for (size_t k = 0; k < np; k++) {
            const buffer *p = &buf[placed[k]];
            if (p->start <= b->end && b->start <= p->end) {
                conflict[nc].a = p->offset;
                conflict[nc].b = 0;
                conflict[nc++].idx = placed[k];
            }
        }
        qsort(conflict, nc, sizeof *conflict, by_offset);
        uint64_t cand = 0;
        for (size_t k = 0; k < nc; k++) {
            const buffer *p = &buf[conflict[k].idx];
            if (cand + b->size <= p->offset)
                break;
            if (p->offset + p->size > cand)
                cand = p->offset + p->size;
        }
        b->offset = cand;
        placed[np++] = order[oi].idx;
    }
}

/* The in-place promise holds only if nothing still reads the overwritten
 * buffer through any of its earlier aliases after this step. */
static int check_in_place(const sparse_memgraph *g, const size_t *root, const size_t *lastc,
                          size_t v)
{
    const sparse__memnode *nd = &g->nodes[v];
    size_t u = nd->inputs[0], ru = root[u];
    if (sparse__out_elems(nd) > sparse__out_elems(&g->nodes[ru]))
        return sparse__error(SPARSE_EINVAL,
                             "memgraph node %zu '%s': runs in place but its output (%llu) is larger "
                             "than its input buffer '%s' (%llu)",
                             v, nd->name, (unsigned long long)sparse__out_elems(nd),
                             g->nodes[ru].name, (unsigned long long)sparse__out_elems(&g->nodes[ru]));
    for (size_t a = ru; a < v; a++)
        if (root[a] == ru && lastc[a] != (size_t)-1 && lastc[a] > v)
            return sparse__error(SPARSE_EINVAL,
                                 "memgraph node %zu '%s': runs in place over '%s', which node %zu "
                                 "'%s' still reads later",
                                 v, nd->name, g->nodes[a].name, lastc[a], g->nodes[lastc[a]].name);
    return SPARSE_OK;
}

int sparse__mem_arena(sparse_memreport *r, const sparse_memgraph *g)
{
    size_t n = g->n, nb = 0;
    int rc = SPARSE_OK;
    size_t *root = sparse__calloc(n, sizeof *root);
    size_t *lastc = sparse__calloc(n, sizeof *lastc);
    size_t *bufof = sparse__calloc(n, sizeof *bufof);
    buffer *buf = sparse__calloc(2 * n, sizeof *buf);
    key *order = sparse__calloc(2 * n, sizeof *order);
    size_t *placed = sparse__calloc(2 * n, sizeof *placed);
    key *conflict = sparse__calloc(2 * n, sizeof *conflict);
    if (!root || !lastc || !bufof || !buf || !order || !placed || !conflict) {
        rc = SPARSE_ENOMEM;
        goto done;
    }

    for (size_t v = 0; v < n; v++)
        lastc[v] = (size_t)-1;
    for (size_t v = 0; v < n; v++)
        for (size_t k = 0; k < g->nodes[v].n_inputs; k++)
            lastc[g->nodes[v].inputs[k]] = v; /* ids increase, so the last write wins */

    for (size_t v = 0; v < n; v++) {
        const sparse__memnode *nd = &g->nodes[v];
        if (nd->kind == SPARSE_MEMNODE_VIEW || nd->in_place) {
            root[v] = root[nd->inputs[0]];
            if (nd->in_place && (rc = check_in_place(g, root, lastc, v)))
                goto done;
            buffer *b = &buf[bufof[root[v]]];
            size_t end = lastc[v] == (size_t)-1 ? n - 1 : lastc[v];
            if (end > b->end)
                b->end = end;
        } else if (nd->no_buffer) {
            root[v] = v;
            bufof[v] = SIZE_MAX;
        } else {
            root[v] = v;
            bufof[v] = nb;
            buffer *b = &buf[nb++];
            b->size = sparse__out_elems(nd);
            b->start = v;
            b->end = lastc[v] == (size_t)-1 ? n - 1 : lastc[v];
        }
        if ((rc = scratch_bytes(nd, v, r->scratch_model, &r->rows[v].scratch)))
            goto done;
        if (r->rows[v].scratch) {
            buffer *s = &buf[nb++];
            s->size = r->rows[v].scratch;
            s->start = s->end = v;
        }
    }

    for (size_t i = 0; i < nb; i++) {
        order[i].a = buf[i].size;
        order[i].b = buf[i].start;
        order[i].idx = i;
    }
    qsort(order, nb, sizeof *order, by_size_desc);
    place_all(buf, order, nb, placed, conflict);

    for (size_t i = 0; i < nb; i++)
        if (buf[i].offset + buf[i].size > r->arena)
            r->arena = buf[i].offset + buf[i].size;
    for (size_t t = 0; t < n; t++) {
        sparse__memrow *row = &r->rows[t];
        for (size_t i = 0; i < nb; i++) {
            if (buf[i].start > t || buf[i].end < t)
                continue;
            row->live += buf[i].size;
            if (buf[i].offset + buf[i].size > row->arena)
                row->arena = buf[i].offset + buf[i].size;
        }
        if (row->live > r->arena_lb)
            r->arena_lb = row->live;
        row->offset = bufof[root[t]] == SIZE_MAX ? 0 : buf[bufof[root[t]]].offset;
    }

done:
    free(root);
    free(lastc);
    free(bufof);
    free(buf);
    free(order);
    free(placed);
    free(conflict);
    return rc;
}
