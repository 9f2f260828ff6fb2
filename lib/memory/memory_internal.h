/*
 * Shared layout of the memory module's handles. Private to lib/memory/.
 */
#ifndef SPARSE_MEMORY_INTERNAL_H
#define SPARSE_MEMORY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/memory.h"

/* Every count (elements of a tensor, weights, scratch bytes) is capped at
 * 2^40 and a graph at 2^20 nodes, so every sum over a graph, arena offsets
 * included, stays far below 2^64. */
#define SPARSE__MEM_MAX ((uint64_t)1 << 40)
#define SPARSE__MEM_MAX_NODES ((size_t)1 << 20)

typedef struct sparse__memnode {
    char *name;
    int kind;
    size_t *inputs;
    size_t n_inputs;
    /* Input shape as the node sees it: a merge's channels are the sum (CONCAT)
     * or the common count (ADD); in_elems is ||x_l||, all inputs together. */
    uint64_t in_c, in_h, in_w, in_elems;
    uint64_t out_c, out_h, out_w;
    uint64_t weights, biases, nz_weights, nz_biases;
    uint32_t kh, kw, sh, sw;
    int in_place;
    /* A ReLU that the int8 kernels run as a step of its own (a clamp, where
     * it cannot be fused into its producer): a VIEW from a network, a POOL in
     * the int8 graph. Only the library's adapters set it (the public API has
     * no ReLU node); it changes the deploy flash alone. */
    int relu_step;
    /* Only in a report's working copy: a network input that acquisition
     * replaced (read by acquired downsampling alone) has no arena buffer. */
    int no_buffer;
} sparse__memnode;

struct sparse_memgraph {
    sparse__memnode *nodes;
    size_t n, cap;
};

typedef struct sparse__memrow {
    char *name;
    int kind;
    int is_layer;
    int acquired; /* input downsampling counted as data acquisition */
    size_t *inputs; /* copied from the graph so the report stands alone */
    size_t n_inputs;
    uint64_t out_c, out_h, out_w;
    uint64_t x, y, weights, nonzeros, wm5, wm6;
    uint64_t flash, flash_format;
    uint64_t scratch, live, arena, offset;
} sparse__memrow;

struct sparse_memreport {
    sparse__memrow *rows;
    size_t n;
    uint64_t ms, wm5, wm6, flash, arena, arena_lb;
    size_t wm5_arg, wm6_arg;
    int scratch_model;
    int input_downsampling;
};

/* a * b, or SPARSE_ERANGE (unrecorded) if it does not fit in 64 bits. */
static inline int sparse__mul64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return SPARSE_ERANGE;
    *out = a * b;
    return SPARSE_OK;
}

static inline uint64_t sparse__out_elems(const sparse__memnode *nd)
{
    return nd->out_c * nd->out_h * nd->out_w;
}

static inline int sparse__memkind_has_weights(int kind)
{
    return kind == SPARSE_MEMNODE_CONV || kind == SPARSE_MEMNODE_DWCONV ||
           kind == SPARSE_MEMNODE_PWCONV || kind == SPARSE_MEMNODE_FC;
}

/* Kinds that input downsampling takes: counted as data acquisition when
 * they read the network input (sparse_memory_options.input_downsampling). */
static inline int sparse__memkind_downsamples(int kind)
{
    return kind == SPARSE_MEMNODE_DOWNSAMPLE || kind == SPARSE_MEMNODE_POOL;
}

static inline int sparse__memkind_is_layer(int kind)
{
    return kind != SPARSE_MEMNODE_INPUT && kind != SPARSE_MEMNODE_VIEW;
}

/* graph.c: shape/count consistency of the whole graph (before reporting). */
int sparse__memgraph_validate(const sparse_memgraph *g);
/* paper.c: rows' x, y, weights, nonzeros, wm5, wm6 and the MS/WM totals. */
int sparse__mem_paper(sparse_memreport *r, const sparse_memgraph *g);
/* flash.c: rows' flash figures and the total. */
int sparse__mem_flash(sparse_memreport *r, const sparse_memgraph *g);
/* arena.c: scratch, liveness, offsets and the arena figures. */
int sparse__mem_arena(sparse_memreport *r, const sparse_memgraph *g);
/* report_json.c */
int sparse__mem_json(const sparse_memreport *r, char **out);

#endif
