/*
 * Input downsampling counted as data acquisition (sparse_memory_options
 * version 3, input_downsampling): hand-computed fixtures, next to the same
 * graphs counted the default way (downsampling is part of the network).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "test_memory_net.h"

extern const struct CMUnitTest acquisition_tests[];
extern const size_t acquisition_test_count;

static size_t add(sparse_memgraph *g, int kind, const char *name, const size_t *in, size_t nin, uint64_t c,
                  uint64_t h, uint64_t w)
{
    size_t id = (size_t)-1;
    if (sparse_memgraph_add_node(g, kind, name, in, nin, c, h, w, &id))
        fail_msg("add_node %s: %s", name, sparse_last_error());
    return id;
}

static sparse_memreport *report(const sparse_memgraph *g, int mode)
{
    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    o.input_downsampling = mode;
    sparse_memreport *r = NULL;
    if (sparse_memreport_create(&r, g, &o))
        fail_msg("report: %s", sparse_last_error());
    return r;
}

static uint64_t val(const sparse_memreport *r, size_t id, int field)
{
    uint64_t v = 0;
    assert_int_equal(sparse_memreport_node_value(r, id, field, &v), SPARSE_OK);
    return v;
}

static void totals(const sparse_memreport *r, uint64_t ms, uint64_t wm5, size_t at5, uint64_t wm6, size_t at6)
{
    uint64_t v = 0;
    size_t at = 999;
    assert_int_equal(sparse_memreport_ms_bytes(r, &v), SPARSE_OK);
    assert_int_equal(v, ms);
    assert_int_equal(sparse_memreport_wm_bytes(r, 5, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm5);
    assert_int_equal(at, at5);
    assert_int_equal(sparse_memreport_wm_bytes(r, 6, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm6);
    assert_int_equal(at, at6);
}

static void deploy(const sparse_memreport *r, uint64_t flash, uint64_t arena, uint64_t lower)
{
    uint64_t f = 0, a = 0, lb = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &f), SPARSE_OK);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &a, &lb), SPARSE_OK);
    assert_int_equal(f, flash);
    assert_int_equal(a, arena);
    assert_int_equal(lb, lower);
}

/* input 1x28x28 -> down 2 (1x14x14) -> conv 3x3x4 same (36 + 4) -> pool 2
 * (4x7x7) -> fc 10 (1960 + 10, pruned to 300 + 10).
 * Network (default):
 *   down: x 784, y 196, w 0           WM5 784,  WM6 980
 *   conv: x 196, y 784, w 40          WM5 236,  WM6 980
 *   pool: x 784, y 196                WM5 784,  WM6 980
 *   fc:   x 196, y 10,  w 310         WM5 506,  WM6 206
 *   MS 350; WM5 784 (down, the first), WM6 980 (down).
 *   Flash: down 40; conv 36 + 16 + 20 + 80 = 152; pool 40; fc 10x196 with
 *   300 nz: bitmask 245 + 300 = 545 (CSR 300*2 + 11*2 = 622) -> 545 + 40 +
 *   50 + 80 = 715. Total 947.
 *   Arena (no scratch): input 784 [0,1], down 196 [1,2], conv 784 [2,3],
 *   pool 196 [3,4], fc 10 [4,4]; live 784, 980, 980, 980, 206 -> 980.
 * Acquisition: down is the input x_0, not a layer; the raw image has no
 * buffer.
 *   MS 350; WM5 784 (pool), WM6 980 (conv).
 *   Flash 947 - 40 = 907. Arena: live 0, 196, 980, 980, 206 -> 980.
 * The per-layer figures of conv, pool, fc are the same in both modes. */
static sparse_memgraph *chain(size_t id[5], int down_kind)
{
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    id[0] = add(g, SPARSE_MEMNODE_INPUT, "input", NULL, 0, 1, 28, 28);
    id[1] = add(g, down_kind, "down", &id[0], 1, 1, 14, 14);
    assert_int_equal(sparse_memgraph_set_kernel(g, id[1], 2, 2, 2, 2), SPARSE_OK);
    id[2] = add(g, SPARSE_MEMNODE_CONV, "conv", &id[1], 1, 4, 14, 14);
    assert_int_equal(sparse_memgraph_set_kernel(g, id[2], 3, 3, 1, 1), SPARSE_OK);
    assert_int_equal(sparse_memgraph_set_params(g, id[2], 36, 4, 36, 4), SPARSE_OK);
    id[3] = add(g, SPARSE_MEMNODE_POOL, "pool", &id[2], 1, 4, 7, 7);
    assert_int_equal(sparse_memgraph_set_kernel(g, id[3], 2, 2, 2, 2), SPARSE_OK);
    id[4] = add(g, SPARSE_MEMNODE_FC, "fc", &id[3], 1, 10, 1, 1);
    assert_int_equal(sparse_memgraph_set_params(g, id[4], 1960, 10, 300, 10), SPARSE_OK);
    return g;
}

static sparse_memreport *report_none(const sparse_memgraph *g, int mode)
{
    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    o.input_downsampling = mode;
    o.scratch = SPARSE_SCRATCH_NONE;
    sparse_memreport *r = NULL;
    if (sparse_memreport_create(&r, g, &o))
        fail_msg("report: %s", sparse_last_error());
    return r;
}

/* The same with the downsampling as a POOL (the search space's average
 * pooling of the input): the figures are the same. */
static void check_chain(int down_kind)
{
    size_t id[5];
    sparse_memgraph *g = chain(id, down_kind);
    sparse_memreport *net = report_none(g, SPARSE_INPUT_DOWNSAMPLING_NETWORK);
    totals(net, 350, 784, id[1], 980, id[1]);
    deploy(net, 947, 980, 980);
    assert_int_equal(val(net, id[1], SPARSE_MEMFIELD_IS_LAYER), 1);
    assert_int_equal(val(net, id[1], SPARSE_MEMFIELD_ACQUIRED), 0);
    sparse_memreport *acq = report_none(g, SPARSE_INPUT_DOWNSAMPLING_ACQUISITION);
    totals(acq, 350, 784, id[3], 980, id[2]);
    deploy(acq, 907, 980, 980);
    assert_int_equal(val(acq, id[1], SPARSE_MEMFIELD_IS_LAYER), 0);
    assert_int_equal(val(acq, id[1], SPARSE_MEMFIELD_ACQUIRED), 1);
    assert_int_equal(val(acq, id[1], SPARSE_MEMFIELD_WM6), 0);
    assert_int_equal(val(acq, id[1], SPARSE_MEMFIELD_DEPLOY_FLASH), 0);
    assert_int_equal(val(acq, id[0], SPARSE_MEMFIELD_DEPLOY_LIVE), 0);
    assert_int_equal(val(acq, id[1], SPARSE_MEMFIELD_DEPLOY_LIVE), 196);
    int kind = -1;
    assert_int_equal(sparse_memreport_node_kind(acq, id[1], &kind), SPARSE_OK);
    assert_int_equal(kind, down_kind);
    for (size_t i = 2; i < 5; i++)
        for (int f = SPARSE_MEMFIELD_X; f <= SPARSE_MEMFIELD_WM6; f++)
            assert_int_equal(val(acq, id[i], f), val(net, id[i], f));
    sparse_memreport_free(acq);
    sparse_memreport_free(net);
    /* The same graph with full im2col scratch: conv's is 1*9*14*14 = 1764 at
     * step 2, where down (196) and conv (784) are alive too: 2744 in both
     * modes, since the raw image is dead by then anyway. */
    net = report(g, SPARSE_INPUT_DOWNSAMPLING_NETWORK);
    acq = report(g, SPARSE_INPUT_DOWNSAMPLING_ACQUISITION);
    deploy(net, 947, 2744, 2744);
    deploy(acq, 907, 2744, 2744);
    sparse_memreport_free(acq);
    sparse_memreport_free(net);
    sparse_memgraph_free(g);
}

static void test_chain(void **state)
{
    (void)state;
    check_chain(SPARSE_MEMNODE_DOWNSAMPLE);
    check_chain(SPARSE_MEMNODE_POOL);
}

/* input 3x32x32 (3072) -> down in depth to 1x32x32 -> down 4 to 1x8x8 -> fc 10
 * (640 + 10), with a second branch reading the raw input: a 1x1 conv 3 -> 1
 * (3 + 1) at stride 4, 1x8x8, summed with the downsampled image.
 * Network: down1 x 3072 y 1024: WM6 4096; down2 x 1024 y 64: 1088;
 *   proj x 3072 y 64 w 4: WM5 3076, WM6 3136; add x 128 y 64: 192; fc x 64
 *   w 650: WM5 714, WM6 74. WM5 3076 (proj), WM6 4096 (down1).
 * Acquisition: down1 and down2 are acquired, the raw image is not (proj
 *   reads it): WM5 3076 (proj), WM6 3136 (proj); down2's output is a second
 *   network input. */
static void test_raw_input_still_read(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = add(g, SPARSE_MEMNODE_INPUT, "input", NULL, 0, 3, 32, 32);
    size_t d1 = add(g, SPARSE_MEMNODE_DOWNSAMPLE, "down1", &in, 1, 1, 32, 32);
    size_t d2 = add(g, SPARSE_MEMNODE_DOWNSAMPLE, "down2", &d1, 1, 1, 8, 8);
    assert_int_equal(sparse_memgraph_set_kernel(g, d2, 4, 4, 4, 4), SPARSE_OK);
    size_t pj = add(g, SPARSE_MEMNODE_PWCONV, "proj", &in, 1, 1, 8, 8);
    assert_int_equal(sparse_memgraph_set_kernel(g, pj, 1, 1, 4, 4), SPARSE_OK);
    assert_int_equal(sparse_memgraph_set_params(g, pj, 3, 1, 3, 1), SPARSE_OK);
    size_t sum_in[2] = {d2, pj};
    size_t sum = add(g, SPARSE_MEMNODE_ADD, "add", sum_in, 2, 1, 8, 8);
    size_t fc = add(g, SPARSE_MEMNODE_FC, "fc", &sum, 1, 10, 1, 1);
    assert_int_equal(sparse_memgraph_set_params(g, fc, 640, 10, 640, 10), SPARSE_OK);
    sparse_memreport *net = report_none(g, SPARSE_INPUT_DOWNSAMPLING_NETWORK);
    totals(net, 654, 3076, pj, 4096, d1);
    sparse_memreport *acq = report_none(g, SPARSE_INPUT_DOWNSAMPLING_ACQUISITION);
    totals(acq, 654, 3076, pj, 3136, pj);
    assert_int_equal(val(acq, d1, SPARSE_MEMFIELD_ACQUIRED), 1);
    assert_int_equal(val(acq, d2, SPARSE_MEMFIELD_ACQUIRED), 1);
    assert_int_equal(val(acq, pj, SPARSE_MEMFIELD_ACQUIRED), 0);
    /* The raw image stays in the arena until proj has read it: at proj's
     * step, input 3072 + down2 64 + proj 64 are alive (down1, acquired
     * and read by down2 alone, has no buffer). */
    assert_int_equal(val(acq, pj, SPARSE_MEMFIELD_DEPLOY_LIVE), 3072 + 64 + 64);
    assert_int_equal(val(acq, d1, SPARSE_MEMFIELD_DEPLOY_LIVE), 3072);
    char *json = NULL;
    assert_int_equal(sparse_memreport_to_json(&json, acq), SPARSE_OK);
    assert_non_null(strstr(json, "\"input_downsampling\":\"acquisition\",\"acquired\":[\"down1\",\"down2\"]"));
    assert_null(strstr(json, "\"name\":\"down1\""));
    sparse_free(json);
    assert_int_equal(sparse_memreport_to_json(&json, net), SPARSE_OK);
    assert_non_null(strstr(json, "\"input_downsampling\":\"network\",\"acquired\":[]"));
    sparse_free(json);
    sparse_memreport_free(acq);
    sparse_memreport_free(net);
    sparse_memgraph_free(g);
}

static void test_options_and_errors(void **state)
{
    (void)state;
    size_t id[5];
    sparse_memgraph *g = chain(id, SPARSE_MEMNODE_DOWNSAMPLE);
    sparse_memreport *r = NULL;
    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    assert_int_equal(o.input_downsampling, SPARSE_INPUT_DOWNSAMPLING_NETWORK);
    o.input_downsampling = 2;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_EINVAL);
    assert_null(r);
    assert_non_null(strstr(sparse_last_error(), "input_downsampling is 2"));
    /* A version 2 caller's struct ends before input_downsampling: init does
     * not write it, the report does not read it (network counting). */
    struct memory_options_v2 {
        unsigned version;
        int scratch, dense;
    } *v2 = malloc(sizeof *v2);
    assert_non_null(v2);
    assert_int_equal(sizeof *v2, offsetof(sparse_memory_options, input_downsampling));
    assert_int_equal(sparse_memory_options_init((sparse_memory_options *)v2, 2), SPARSE_OK);
    assert_int_equal(v2->version, 2);
    assert_int_equal(sparse_memreport_create(&r, g, (const sparse_memory_options *)v2), SPARSE_OK);
    assert_int_equal(val(r, id[1], SPARSE_MEMFIELD_IS_LAYER), 1);
    sparse_memreport_free(r);
    free(v2);
    int mode = -1;
    assert_int_equal(sparse_input_downsampling_parse("acquisition", &mode), SPARSE_OK);
    assert_int_equal(mode, SPARSE_INPUT_DOWNSAMPLING_ACQUISITION);
    assert_int_equal(sparse_input_downsampling_parse("network", &mode), SPARSE_OK);
    assert_int_equal(mode, SPARSE_INPUT_DOWNSAMPLING_NETWORK);
    assert_int_equal(sparse_input_downsampling_parse("sensor", &mode), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "expected network or acquisition"));
    assert_int_equal(sparse_input_downsampling_parse(NULL, &mode), SPARSE_EINVAL);
    assert_string_equal(sparse_input_downsampling_name(SPARSE_INPUT_DOWNSAMPLING_ACQUISITION), "acquisition");
    assert_null(sparse_input_downsampling_name(7));
    sparse_memgraph_free(g);
    /* Nothing but acquisition left: no layer. */
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = add(g, SPARSE_MEMNODE_INPUT, "input", NULL, 0, 1, 4, 4);
    size_t d = add(g, SPARSE_MEMNODE_DOWNSAMPLE, "down", &in, 1, 1, 2, 2);
    add(g, SPARSE_MEMNODE_VIEW, "flat", &d, 1, 4, 1, 1);
    o.input_downsampling = SPARSE_INPUT_DOWNSAMPLING_ACQUISITION;
    assert_int_equal(sparse_memreport_create(&r, g, &o), SPARSE_EEMPTY);
    assert_null(r);
    assert_non_null(strstr(sparse_last_error(), "data acquisition"));
    sparse_memgraph_free(g);
}

/* all-layers.yaml (docs/memory.md section 6): `down` (784 -> 196) is its only
 * input downsampling and every branch reads it. In acquisition mode it is
 * no layer; MS, WM5 (left_fc 12968) and WM6 (b1res 4704) do not move, since
 * down was not the maximum of either (WM6 980); the flash loses its 40 B. */
static void test_all_layers_net(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(memtest_yaml(2), 1, 1);
    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    o.dense = 1;
    sparse_memreport *a = NULL, *b = NULL;
    assert_int_equal(sparse_memreport_from_net(&a, net, &o), SPARSE_OK);
    o.input_downsampling = SPARSE_INPUT_DOWNSAMPLING_ACQUISITION;
    assert_int_equal(sparse_memreport_from_net(&b, net, &o), SPARSE_OK);
    uint64_t ms[2], wm6[2], fl[2];
    size_t at6[2];
    const sparse_memreport *r[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sparse_memreport_ms_bytes(r[i], &ms[i]), SPARSE_OK);
        assert_int_equal(sparse_memreport_wm_bytes(r[i], 6, &wm6[i], &at6[i]), SPARSE_OK);
        assert_int_equal(sparse_memreport_deploy_flash_bytes(r[i], &fl[i]), SPARSE_OK);
    }
    assert_int_equal(ms[0], 25470);
    assert_int_equal(ms[1], 25470);
    assert_int_equal(wm6[0], 4704);
    assert_int_equal(wm6[1], 4704);
    assert_int_equal(at6[0], at6[1]);
    assert_int_equal(fl[0] - fl[1], 40);
    sparse_memreport_free(a);
    sparse_memreport_free(b);
    sparse_net_free(net);
}

const struct CMUnitTest acquisition_tests[] = {
    cmocka_unit_test(test_chain),
    cmocka_unit_test(test_raw_input_still_read),
    cmocka_unit_test(test_options_and_errors),
    cmocka_unit_test(test_all_layers_net),
};
const size_t acquisition_test_count = sizeof acquisition_tests / sizeof acquisition_tests[0];
