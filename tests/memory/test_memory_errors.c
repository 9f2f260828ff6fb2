/* Memory accounting: the argument checks of the memgraph and memreport API
 * (NULL and empty arguments, node ids, shapes that do not fit, counts past
 * the limits), each refused with what and where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "graph_fixture.h"

extern const struct CMUnitTest memory_errors_tests[];
extern const size_t memory_errors_test_count;

static void test_errors_null_and_empty(void **state)
{
    (void)state;
    sparse_memgraph_free(NULL);
    sparse_memreport_free(NULL);
    assert_int_equal(sparse_memgraph_create(NULL), SPARSE_EINVAL);
    size_t id;
    assert_int_equal(sparse_memgraph_add_node(NULL, SPARSE_MEMNODE_INPUT, "x", NULL, 0, 1, 1, 1, &id),
                     SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_node_count(NULL), 0);
    sparse_memreport *r = (sparse_memreport *)&id;
    assert_int_equal(sparse_memreport_create(&r, NULL, NULL), SPARSE_EINVAL);
    assert_null(r);
    assert_int_equal(sparse_memreport_create(NULL, NULL, NULL), SPARSE_EINVAL);
    uint64_t v;
    assert_int_equal(sparse_memreport_ms_bytes(NULL, &v), SPARSE_EINVAL);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(NULL, &v, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_memreport_to_json(NULL, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_memory_options_init(NULL, SPARSE_MEMORY_OPTIONS_VERSION), SPARSE_EINVAL);

    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    r = (sparse_memreport *)&id;
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_EEMPTY);
    assert_null(r);
    /* Inputs alone are no layers. */
    input(g, 1, 4, 4);
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_EEMPTY);
    assert_null(r);
    sparse_memgraph_free(g);
}

static void test_errors_ids(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 1, 4, 4), id = 777;
    /* Forward reference: node 5 does not exist yet. */
    size_t fwd = 5;
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "p", &fwd, 1, 1, 2, 2, &id),
                     SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "'p'"));
    assert_non_null(strstr(sparse_last_error(), "forward reference"));
    assert_int_equal(id, 777);
    /* Self reference (the id the node would get), the only way to close a
     * cycle when ids must point backwards: a -> b -> a cannot be built. */
    size_t self = 1;
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "p", &self, 1, 1, 2, 2, &id),
                     SPARSE_ERANGE);
    size_t b_future = 2;
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "a", &b_future, 1, 1, 2, 2,
                                              &id),
                     SPARSE_ERANGE);
    assert_int_equal(sparse_memgraph_node_count(g), 1); /* failures leave the graph as it was */
    /* Arity and kind. */
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_ADD, "m", &in, 1, 1, 4, 4, &id),
                     SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_INPUT, "i", &in, 1, 1, 4, 4, &id),
                     SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_add_node(g, 42, "k", &in, 1, 1, 4, 4, &id), SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "z", &in, 1, 0, 4, 4, &id),
                     SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "n", NULL, 1, 1, 2, 2, &id),
                     SPARSE_EINVAL);
    /* Setters on bad ids and kinds. */
    assert_int_equal(sparse_memgraph_set_params(g, 9, 1, 0, 1, 0), SPARSE_ERANGE);
    assert_int_equal(sparse_memgraph_set_params(g, in, 1, 0, 1, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_set_kernel(g, in, 3, 3, 1, 1), SPARSE_EINVAL);
    assert_int_equal(sparse_memgraph_set_in_place(g, in, 1), SPARSE_EINVAL);
    /* NULL name gets "<kind><id>". */
    size_t p = node(g, SPARSE_MEMNODE_POOL, NULL, &in, 1, 1, 2, 2);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_NONE);
    const char *name;
    assert_int_equal(sparse_memreport_node_name(r, p, &name), SPARSE_OK);
    assert_string_equal(name, "pool1");
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

static void test_errors_shapes(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 1, 6, 6), id;
    size_t a = wnode(g, SPARSE_MEMNODE_CONV, "a", in, 4, 6, 6, 3, 1, 36, 4, 36, 4);
    size_t b = wnode(g, SPARSE_MEMNODE_CONV, "b", in, 2, 6, 6, 3, 1, 18, 2, 18, 2);
    size_t c = wnode(g, SPARSE_MEMNODE_CONV, "c", in, 2, 4, 4, 3, 1, 18, 2, 18, 2);
    size_t ab[2] = {a, b}, bc[2] = {b, c};
    /* Sum of 4x6x6 and 2x6x6. */
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_ADD, "sum", ab, 2, 4, 6, 6, &id),
                     SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "'sum'"));
    /* Concat of 6x6 and 4x4 maps. */
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_CONCAT, "cat", bc, 2, 4, 6, 6, &id),
                     SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "'cat'"));
    /* Concat whose declared channels are not the sum (4 + 2 = 6). */
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_CONCAT, "cat", ab, 2, 5, 6, 6, &id),
                     SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_VIEW, "v", &a, 1, 100, 1, 1, &id),
                     SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_FC, "f", &a, 1, 10, 2, 1, &id),
                     SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_POOL, "p", &a, 1, 3, 3, 3, &id),
                     SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_DWCONV, "d", &a, 1, 6, 6, 6, &id),
                     SPARSE_ESHAPE);
    /* Non-zeros above the counts. */
    assert_int_equal(sparse_memgraph_set_params(g, a, 36, 4, 37, 4), SPARSE_ERANGE);
    /* A weight count that does not match the shapes is caught at report time,
     * naming the node: 'b' claims 20 weights, 2*1*3*3 = 18 are needed. */
    assert_int_equal(sparse_memgraph_set_params(g, b, 20, 2, 18, 2), SPARSE_OK);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_ESHAPE);
    assert_null(r);
    assert_non_null(strstr(sparse_last_error(), "'b'"));
    assert_int_equal(sparse_memgraph_set_params(g, b, 18, 3, 18, 2), SPARSE_OK); /* 3 biases, 2 ch */
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_ESHAPE);
    assert_int_equal(sparse_memgraph_set_params(g, b, 18, 2, 18, 2), SPARSE_OK);
    /* A kernel left at its 1x1 default makes a 3x3 conv's count wrong. */
    size_t k = node(g, SPARSE_MEMNODE_CONV, "nokernel", &in, 1, 2, 6, 6);
    assert_int_equal(sparse_memgraph_set_params(g, k, 18, 0, 18, 0), SPARSE_OK);
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "'nokernel'"));
    assert_int_equal(sparse_memgraph_set_kernel(g, k, 3, 3, 1, 1), SPARSE_OK);
    /* Options. */
    sparse_memory_options o;
    assert_int_equal(sparse_memory_options_init(&o, 99), SPARSE_EVERSION);
    assert_int_equal(sparse_memory_options_init(&o, SPARSE_MEMORY_OPTIONS_VERSION), SPARSE_OK);
    o.version = SPARSE_MEMORY_OPTIONS_VERSION + 1;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_EVERSION);
    o.version = 0;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_EVERSION);
    o.version = SPARSE_MEMORY_OPTIONS_VERSION;
    o.scratch = 7;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_EINVAL);
    o.scratch = SPARSE_SCRATCH_IM2COL;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_OK);
    uint64_t wm;
    assert_int_equal(sparse_memreport_wm_bytes(r, 4, &wm, NULL), SPARSE_EINVAL);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

static void test_errors_limits(void **state)
{
    (void)state;
    sparse_memgraph *g;
    size_t id;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    /* 2^21 * 2^20 * 1 elements pass the 2^40 cap. */
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_INPUT, "big", NULL, 0,
                                              (uint64_t)1 << 21, (uint64_t)1 << 20, 1, &id),
                     SPARSE_ERANGE);
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_INPUT, "wrap", NULL, 0,
                                              UINT64_MAX, 2, 2, &id),
                     SPARSE_ERANGE);
    /* A legal tensor whose im2col buffer passes the cap:
     * 2^20 channels * 3*3 * 2^10 * 2^10 = 9 * 2^40 bytes. */
    size_t in = node(g, SPARSE_MEMNODE_INPUT, "in", NULL, 0, (uint64_t)1 << 20, 1 << 10, 1 << 10);
    (void)in;
    size_t big = (size_t)-1;
    assert_int_equal(sparse_memgraph_add_node(g, SPARSE_MEMNODE_CONV, "huge", &in, 1, 1, 1 << 10,
                                              1 << 10, &big),
                     SPARSE_OK);
    assert_int_equal(sparse_memgraph_set_kernel(g, big, 3, 3, 1, 1), SPARSE_OK);
    assert_int_equal(sparse_memgraph_set_params(g, big, 9 * ((uint64_t)1 << 20), 0, 1, 0), SPARSE_OK);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_ERANGE);
    assert_null(r);
    assert_non_null(strstr(sparse_last_error(), "'huge'"));
    /* Without scratch the same graph is fine. */
    r = report(g, SPARSE_SCRATCH_NONE);
    uint64_t ms;
    assert_int_equal(sparse_memreport_ms_bytes(r, &ms), SPARSE_OK);
    assert_int_equal(ms, 1);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

const struct CMUnitTest memory_errors_tests[] = {
    cmocka_unit_test(test_errors_null_and_empty),
    cmocka_unit_test(test_errors_ids),
    cmocka_unit_test(test_errors_shapes),
    cmocka_unit_test(test_errors_limits),
};
const size_t memory_errors_test_count = sizeof memory_errors_tests / sizeof memory_errors_tests[0];
