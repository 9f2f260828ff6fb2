/* The memgraph builders of test_memory.c and test_memory_errors.c: each
 * fails the test when the library refuses. */
#ifndef TEST_MEMORY_GRAPH_FIXTURE_H
#define TEST_MEMORY_GRAPH_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/sparse.h"

/* Node `name` of kind with nin inputs and output shape c x h x w; its id. */
size_t node(sparse_memgraph *g, int kind, const char *name, const size_t *in, size_t nin, uint64_t c, uint64_t h,
            uint64_t w);
/* The input node, c x h x w. */
size_t input(sparse_memgraph *g, uint64_t c, uint64_t h, uint64_t w);
/* A weighted node with a square kernel; counts given explicitly so the
 * fixtures show them. */
size_t wnode(sparse_memgraph *g, int kind, const char *name, size_t in, uint64_t c, uint64_t h, uint64_t w,
             uint32_t k, uint32_t stride, uint64_t weights, uint64_t biases, uint64_t nz_w, uint64_t nz_b);
/* The report of g with the given scratch convention (caller frees). */
sparse_memreport *report(const sparse_memgraph *g, int scratch);

#endif
