#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "graph_fixture.h"

size_t node(sparse_memgraph *g, int kind, const char *name, const size_t *in, size_t nin, uint64_t c, uint64_t h,
            uint64_t w)
{
    size_t id = (size_t)-1;
    int rc = sparse_memgraph_add_node(g, kind, name, in, nin, c, h, w, &id);
    if (rc)
        fail_msg("add_node %s: %s", name ? name : "(null)", sparse_last_error());
    return id;
}

size_t input(sparse_memgraph *g, uint64_t c, uint64_t h, uint64_t w)
{
    return node(g, SPARSE_MEMNODE_INPUT, "input", NULL, 0, c, h, w);
}

/* A weighted node with a square kernel; counts given explicitly so the
 * fixtures show them. */
size_t wnode(sparse_memgraph *g, int kind, const char *name, size_t in, uint64_t c, uint64_t h, uint64_t w,
             uint32_t k, uint32_t stride, uint64_t weights, uint64_t biases, uint64_t nz_w, uint64_t nz_b)
{
    size_t id = node(g, kind, name, &in, 1, c, h, w);
    if (kind != SPARSE_MEMNODE_FC)
        assert_int_equal(sparse_memgraph_set_kernel(g, id, k, k, stride, stride), SPARSE_OK);
    assert_int_equal(sparse_memgraph_set_params(g, id, weights, biases, nz_w, nz_b), SPARSE_OK);
    return id;
}

sparse_memreport *report(const sparse_memgraph *g, int scratch)
{
    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    o.scratch = scratch;
    sparse_memreport *r = NULL;
    int rc = sparse_memreport_create(&r, g, &o);
    if (rc)
        fail_msg("report: %s", sparse_last_error());
    return r;
}
