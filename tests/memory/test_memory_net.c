/*
 * The adapter from a sparse_net: figures must equal those of the hand-built
 * memgraph fixtures in test_memory.c and docs/memory.md, with batch norm
 * folded (creating biases for a conv without them) and ReLU in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "test_memory_net.h"

extern const struct CMUnitTest memory_net_tests[];
extern const size_t memory_net_test_count;

static const char tiny_yaml[] =
    "name: tiny-cnn\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {type: conv2d, name: conv1, filters: 8, kernel: 3, padding: same}\n"
    "  - {type: relu, name: relu1}\n"
    "  - {type: maxpool, name: pool1, size: 2}\n"
    "  - {type: conv2d, name: conv2, filters: 16, kernel: 3, padding: same}\n"
    "  - {type: relu, name: relu2}\n"
    "  - {type: maxpool, name: pool2, size: 2}\n"
    "  - {type: fc, name: fc, units: 10}\n";

static const char lenet5_yaml[] =
    "name: lenet5\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {type: conv2d, name: conv1, filters: 20, kernel: 5, padding: valid}\n"
    "  - {type: maxpool, name: pool1, size: 2}\n"
    "  - {type: conv2d, name: conv2, filters: 50, kernel: 5, padding: valid}\n"
    "  - {type: maxpool, name: pool2, size: 2}\n"
    "  - {type: fc, name: fc1, units: 500}\n"
    "  - {type: relu, name: relu1}\n"
    "  - {type: fc, name: fc2, units: 10}\n";

/* Residual with and without projection, two branches, a concatenation, a
 * separable and a downsampled convolution, input downsampling, batch norm
 * after a conv without bias (examples/arch/all-layers.yaml). */
static const char all_yaml[] =
    "name: all-layers\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {type: input_downsample, name: down, size: 2, depth: 1}\n"
    "  - {type: conv2d, name: b1c1, filters: 8, kernel: 3, padding: same, bias: false}\n"
    "  - {type: batchnorm, name: b1bn}\n"
    "  - {type: relu, name: b1r1}\n"
    "  - {type: separable_conv2d, name: b1c2, filters: 8, kernel: 3, padding: same}\n"
    "  - {type: relu, name: b1r2}\n"
    "  - {type: residual, name: b1res, input: b1r1}\n"
    "  - {type: maxpool, name: b1pool, size: 2}\n"
    "  - {type: downsampled_conv2d, name: b2c1, filters: 16, kernel: 3, padding: same, rate: 0.5}\n"
    "  - {type: relu, name: b2r1}\n"
    "  - {type: residual, name: b2res, input: b1pool}\n"
    "  - {type: avgpool, name: b2pool, size: 2}\n"
    "  - {type: fc, name: main_fc, units: 32}\n"
    "  - {type: fc, name: left_fc, input: b1pool, units: 32}\n"
    "  - {type: fc, name: right_fc, input: down, units: 32}\n"
    "  - {type: merge, name: merge, input: [main_fc, left_fc, right_fc], mode: concat}\n"
    "  - {type: relu, name: merge_relu}\n"
    "  - {type: fc, name: logits, units: 10}\n";

sparse_net *memtest_net(const char *yaml, size_t max_batch, uint64_t seed)
{
    sparse_arch *arch = NULL;
    int rc = sparse_arch_parse_yaml(&arch, yaml, strlen(yaml), "test");
    if (rc)
        fail_msg("parse: %s", sparse_last_error());
    sparse_net *net = NULL;
    rc = sparse_net_create(&net, arch, max_batch, seed);
    sparse_arch_free(arch);
    if (rc)
        fail_msg("net: %s", sparse_last_error());
    return net;
}

const char *memtest_yaml(int which)
{
    return which == 0 ? tiny_yaml : which == 1 ? lenet5_yaml : all_yaml;
}

/* Every parameter 1 (running means 0): all weights and folded biases are
 * non-zero, so the figures are the dense ones. */
static void fill_dense(sparse_net *net)
{
    for (size_t i = 0; i < sparse_net_node_count(net); i++)
        for (size_t k = 0; k < sparse_net_param_count(net, i); k++) {
            const char *name = sparse_net_param_name(net, i, k);
            sparse_tensor *t = NULL;
            assert_int_equal(sparse_net_param(&t, net, i, name), SPARSE_OK);
            assert_int_equal(sparse_tensor_fill(t, strcmp(name, "running_mean") ? 1.0f : 0.0f),
                             SPARSE_OK);
            sparse_tensor_free(t);
        }
}

static size_t find(sparse_net *net, const char *name)
{
    size_t id = 0;
    if (sparse_net_find_node(net, name, &id))
        fail_msg("no node %s", name);
    return id;
}

static uint64_t val(const sparse_memreport *r, size_t id, int field)
{
    uint64_t v = 0;
    assert_int_equal(sparse_memreport_node_value(r, id, field, &v), SPARSE_OK);
    return v;
}

/* One layer: x_l, y_l, ||w_l||_0, WM5, WM6, and its memgraph kind. */
static void row(sparse_net *net, const sparse_memreport *r, const char *name, int kind, uint64_t x,
                uint64_t y, uint64_t w, uint64_t wm5, uint64_t wm6)
{
    size_t id = find(net, name);
    int k = -1;
    assert_int_equal(sparse_memreport_node_kind(r, id, &k), SPARSE_OK);
    if (k != kind || val(r, id, SPARSE_MEMFIELD_X) != x || val(r, id, SPARSE_MEMFIELD_Y) != y ||
        val(r, id, SPARSE_MEMFIELD_NONZEROS) != w || val(r, id, SPARSE_MEMFIELD_WM5) != wm5 ||
        val(r, id, SPARSE_MEMFIELD_WM6) != wm6)
        fail_msg("%s: kind %d x %llu y %llu w %llu wm5 %llu wm6 %llu", name, k,
                 (unsigned long long)val(r, id, SPARSE_MEMFIELD_X),
                 (unsigned long long)val(r, id, SPARSE_MEMFIELD_Y),
                 (unsigned long long)val(r, id, SPARSE_MEMFIELD_NONZEROS),
                 (unsigned long long)val(r, id, SPARSE_MEMFIELD_WM5),
                 (unsigned long long)val(r, id, SPARSE_MEMFIELD_WM6));
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_IS_LAYER), 1);
}

static void totals(sparse_net *net, const sparse_memreport *r, uint64_t ms, uint64_t wm5,
                   const char *at5, uint64_t wm6, const char *at6)
{
    uint64_t v = 0;
    size_t at = 0;
    assert_int_equal(sparse_memreport_ms_bytes(r, &v), SPARSE_OK);
    assert_int_equal(v, ms);
    assert_int_equal(sparse_memreport_wm_bytes(r, 5, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm5);
    assert_int_equal(at, find(net, at5));
    assert_int_equal(sparse_memreport_wm_bytes(r, 6, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm6);
    assert_int_equal(at, find(net, at6));
}

static void not_layer(sparse_net *net, const sparse_memreport *r, const char *name)
{
    size_t id = find(net, name);
    int k = -1;
    assert_int_equal(sparse_memreport_node_kind(r, id, &k), SPARSE_OK);
    assert_int_equal(k, SPARSE_MEMNODE_VIEW);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_IS_LAYER), 0);
}

/* docs/memory.md section 3: MS 9098, WM5 8634 (fc), WM6 7840 (pool1); deploy
 * flash 9690 and arena 18816 (im2col) / 7840 (no scratch). Both ReLUs fuse
 * into their producers: no step, no flash. */
static void test_net_tiny_cnn(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(tiny_yaml, 1, 1);
    fill_dense(net);
    sparse_memgraph *g = NULL;
    assert_int_equal(sparse_memgraph_from_net(&g, net), SPARSE_OK);
    assert_int_equal(sparse_memgraph_node_count(g), sparse_net_node_count(net));
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_OK);
    row(net, r, "conv1", SPARSE_MEMNODE_CONV, 784, 6272, 80, 864, 7056);
    row(net, r, "pool1", SPARSE_MEMNODE_POOL, 6272, 1568, 0, 6272, 7840);
    row(net, r, "conv2", SPARSE_MEMNODE_CONV, 1568, 3136, 1168, 2736, 4704);
    row(net, r, "pool2", SPARSE_MEMNODE_POOL, 3136, 784, 0, 3136, 3920);
    row(net, r, "fc", SPARSE_MEMNODE_FC, 784, 10, 7850, 8634, 794);
    not_layer(net, r, "relu1");
    not_layer(net, r, "relu2");
    totals(net, r, 9098, 8634, "fc", 7840, "pool1");
    uint64_t flash = 0, arena = 0, lb = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 9690);
    assert_int_equal(val(r, find(net, "relu1"), SPARSE_MEMFIELD_DEPLOY_FLASH), 0);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, &lb), SPARSE_OK);
    assert_int_equal(arena, 18816);
    sparse_memreport_free(r);

    sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
    o.scratch = SPARSE_SCRATCH_NONE;
    assert_int_equal(sparse_memreport_from_net(&r, net, &o), SPARSE_OK);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, &lb), SPARSE_OK);
    assert_int_equal(arena, 7840);
    sparse_memreport_free(r);

    /* Freshly initialised biases are zero: they do not count. */
    sparse_net *fresh = memtest_net(tiny_yaml, 1, 1);
    assert_int_equal(sparse_memreport_from_net(&r, fresh, NULL), SPARSE_OK);
    uint64_t ms = 0;
    assert_int_equal(sparse_memreport_ms_bytes(r, &ms), SPARSE_OK);
    assert_int_equal(ms, 9098 - 8 - 16 - 10);
    sparse_memreport_free(r);
    /* The dense option counts them: the figures are those of every parameter
     * non-zero (fill_dense above), flash format included. */
    o.scratch = SPARSE_SCRATCH_IM2COL;
    o.dense = 1;
    assert_int_equal(sparse_memreport_from_net(&r, fresh, &o), SPARSE_OK);
    totals(fresh, r, 9098, 8634, "fc", 7840, "pool1");
    row(fresh, r, "conv2", SPARSE_MEMNODE_CONV, 1568, 3136, 1168, 2736, 4704);
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 9690);
    sparse_memreport_free(r);
    /* A version 1 caller's struct ends before dense: init does not write it
     * and the report does not read it. */
    sparse_memory_options v1;
    v1.dense = 1;
    assert_int_equal(sparse_memory_options_init(&v1, 1), SPARSE_OK);
    assert_int_equal(v1.version, 1);
    assert_int_equal(v1.scratch, SPARSE_SCRATCH_IM2COL);
    assert_int_equal(v1.dense, 1);
    assert_int_equal(sparse_memreport_from_net(&r, fresh, &v1), SPARSE_OK);
    assert_int_equal(sparse_memreport_ms_bytes(r, &ms), SPARSE_OK);
    assert_int_equal(ms, 9098 - 8 - 16 - 10);
    sparse_memreport_free(r);
    /* The same on the heap, the struct as a version 1 caller declared it:
     * under ASan, init writing or the report reading past it fails here. */
    struct memory_options_v1 {
        unsigned version;
        int scratch;
    } *heap = malloc(sizeof *heap);
    assert_non_null(heap);
    assert_int_equal(sizeof *heap, offsetof(sparse_memory_options, dense));
    assert_int_equal(sparse_memory_options_init((sparse_memory_options *)heap, 1), SPARSE_OK);
    assert_int_equal(heap->version, 1);
    heap->scratch = SPARSE_SCRATCH_NONE;
    assert_int_equal(sparse_memreport_from_net(&r, fresh, (const sparse_memory_options *)heap), SPARSE_OK);
    assert_int_equal(sparse_memreport_ms_bytes(r, &ms), SPARSE_OK);
    assert_int_equal(ms, 9098 - 8 - 16 - 10);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, &lb), SPARSE_OK);
    assert_int_equal(arena, 7840);
    sparse_memreport_free(r);
    free(heap);
    o.dense = 2;
    assert_int_equal(sparse_memreport_from_net(&r, fresh, &o), SPARSE_EINVAL);
    assert_null(r);
    sparse_net_free(fresh);
    sparse_memgraph_free(g);
    sparse_net_free(net);
}

/* Zeroes the first n values of a parameter (as a pruning mask would). */
static void prune_first(sparse_net *net, const char *node, size_t n)
{
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, find(net, node), "weight"), SPARSE_OK);
    sparse_tensor *mask = NULL;
    assert_int_equal(sparse_tensor_clone(&mask, t), SPARSE_OK);
    float *m = sparse_tensor_data(mask);
    for (size_t i = 0; i < sparse_tensor_element_count(mask); i++)
        m[i] = i < n ? 0.0f : 1.0f;
    assert_int_equal(sparse_net_set_mask(net, find(net, node), "weight", mask), SPARSE_OK);
    sparse_tensor_free(mask);
    sparse_tensor_free(t);
}

/* docs/memory.md, LeNet-5 dense and pruned (test_lenet5's fixture): non-zero
 * weights conv1 400/500, conv2 5000/25000, fc1 20000/400000, fc2 1000/5000. */
static void test_net_lenet5(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(lenet5_yaml, 1, 2);
    fill_dense(net);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    row(net, r, "conv1", SPARSE_MEMNODE_CONV, 784, 11520, 520, 1304, 12304);
    row(net, r, "pool1", SPARSE_MEMNODE_POOL, 11520, 2880, 0, 11520, 14400);
    row(net, r, "conv2", SPARSE_MEMNODE_CONV, 2880, 3200, 25050, 27930, 6080);
    row(net, r, "pool2", SPARSE_MEMNODE_POOL, 3200, 800, 0, 3200, 4000);
    row(net, r, "fc1", SPARSE_MEMNODE_FC, 800, 500, 400500, 401300, 1300);
    row(net, r, "fc2", SPARSE_MEMNODE_FC, 500, 10, 5010, 5510, 510);
    totals(net, r, 431080, 401300, "fc1", 14400, "pool1");
    uint64_t flash = 0, arena = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 436120);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, NULL), SPARSE_OK);
    assert_int_equal(arena, 38080);
    sparse_memreport_free(r);

    prune_first(net, "conv1", 100);
    prune_first(net, "conv2", 20000);
    prune_first(net, "fc1", 380000);
    prune_first(net, "fc2", 4000);
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    row(net, r, "conv1", SPARSE_MEMNODE_CONV, 784, 11520, 420, 1204, 12304);
    row(net, r, "fc1", SPARSE_MEMNODE_FC, 800, 500, 20500, 21300, 1300);
    totals(net, r, 26980, 21300, "fc1", 14400, "pool1");
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 76835);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, NULL), SPARSE_OK);
    assert_int_equal(arena, 38080);
    sparse_memreport_free(r);
    sparse_net_free(net);
}

/* Hand counts (input 1x28x28, downsampled to 1x14x14):
 *   down      x 784,  y 196                              WM5 784    WM6 980
 *   b1c1      3x3x8 no bias + BN: 72 + 8 folded biases = 80, x 196, y 1568
 *   b1c2/dw   depthwise 8x3x3 = 72 (no bias), x = y = 1568
 *   b1c2      pointwise 8x8 + 8 = 72
 *   b1res     sum of two 8x14x14: x = 3136, y 1568        WM6 4704 (the max)
 *   b1pool    1568 -> 392
 *   b2c1/reduce  rate 0.5 -> 4 channels, 4x8 + 4 = 36, y 196
 *   b2c1      3x3x16 from 4: 576 + 16 = 592, y 784
 *   b2res/proj   1x1 8 -> 16 stride 2, no bias: 128, x 392, y 784
 *   b2res     x 1568, y 784;  b2pool (avg) 784 -> 144
 *   main_fc 144x32+32 = 4640; left_fc 392x32+32 = 12576 (WM5 12968, the max);
 *   right_fc 196x32+32 = 6304; merge concat x = y = 96; logits 96x10+10 = 970
 *   MS = 80+72+72+36+592+128+4640+12576+6304+970 = 25470
 * Deploy flash, dense (weights + 4 B per bias + 5 B per channel + 80 per
 * weighted layer): b1c1 72+32+40+80 = 224, b1c2/dw 72+0+40+80 = 192,
 * b1c2 64+32+40+80 = 216, b2c1/reduce 32+16+20+80 = 148, b2c1
 * 576+64+80+80 = 800, b2res/proj 128+0+80+80 = 288, main_fc
 * 4608+128+160+80 = 4976, left_fc 12544+128+160+80 = 12912, right_fc
 * 6272+128+160+80 = 6640, logits 960+40+50+80 = 1130 (27526); down, b1pool,
 * b2pool 20+16+4 = 40 each; b1res, b2res 20+2*8+16+2*4 = 60 each; merge
 * 8+3*12+16+3*4 = 72 (312); every ReLU fuses (its producer has no other
 * reader): 27838. */
static void test_net_all_layers(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(all_yaml, 1, 3);
    fill_dense(net);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    row(net, r, "down", SPARSE_MEMNODE_DOWNSAMPLE, 784, 196, 0, 784, 980);
    row(net, r, "b1c1", SPARSE_MEMNODE_CONV, 196, 1568, 80, 276, 1764);
    not_layer(net, r, "b1bn");
    not_layer(net, r, "b1r1");
    row(net, r, "b1c2/dw", SPARSE_MEMNODE_DWCONV, 1568, 1568, 72, 1640, 3136);
    row(net, r, "b1c2", SPARSE_MEMNODE_PWCONV, 1568, 1568, 72, 1640, 3136);
    row(net, r, "b1res", SPARSE_MEMNODE_ADD, 3136, 1568, 0, 3136, 4704);
    row(net, r, "b1pool", SPARSE_MEMNODE_POOL, 1568, 392, 0, 1568, 1960);
    row(net, r, "b2c1/reduce", SPARSE_MEMNODE_PWCONV, 392, 196, 36, 428, 588);
    row(net, r, "b2c1", SPARSE_MEMNODE_CONV, 196, 784, 592, 788, 980);
    row(net, r, "b2res/proj", SPARSE_MEMNODE_PWCONV, 392, 784, 128, 520, 1176);
    row(net, r, "b2res", SPARSE_MEMNODE_ADD, 1568, 784, 0, 1568, 2352);
    row(net, r, "b2pool", SPARSE_MEMNODE_POOL, 784, 144, 0, 784, 928);
    row(net, r, "main_fc", SPARSE_MEMNODE_FC, 144, 32, 4640, 4784, 176);
    row(net, r, "left_fc", SPARSE_MEMNODE_FC, 392, 32, 12576, 12968, 424);
    row(net, r, "right_fc", SPARSE_MEMNODE_FC, 196, 32, 6304, 6500, 228);
    row(net, r, "merge", SPARSE_MEMNODE_CONCAT, 96, 96, 0, 96, 192);
    row(net, r, "logits", SPARSE_MEMNODE_FC, 96, 10, 970, 1066, 106);
    totals(net, r, 25470, 12968, "left_fc", 4704, "b1res");
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(val(r, find(net, "b1c2/dw"), SPARSE_MEMFIELD_DEPLOY_FLASH), 192);
    assert_int_equal(val(r, find(net, "b1res"), SPARSE_MEMFIELD_DEPLOY_FLASH), 60);
    assert_int_equal(val(r, find(net, "merge"), SPARSE_MEMFIELD_DEPLOY_FLASH), 72);
    assert_int_equal(flash, 27838);
    sparse_memreport_free(r);

    /* A zero gamma zeroes its channel's folded weights (9 of them) and,
     * with beta 0 there too, its folded bias. */
    size_t bn = find(net, "b1bn");
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, bn, "gamma"), SPARSE_OK);
    sparse_tensor_data(t)[3] = 0.0f;
    sparse_tensor_free(t);
    assert_int_equal(sparse_net_param(&t, net, bn, "beta"), SPARSE_OK);
    sparse_tensor_data(t)[3] = 0.0f;
    sparse_tensor_free(t);
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    row(net, r, "b1c1", SPARSE_MEMNODE_CONV, 196, 1568, 70, 266, 1764);
    sparse_memreport_free(r);

    /* Pruning's variational parameters (non-zero) do not count. */
    size_t shp[4] = {8, 1, 3, 3};
    assert_int_equal(sparse_exp_net_add_param(net, find(net, "b1c1"), "log_sigma2", 4, shp, -10.0f, 1),
                     SPARSE_OK);
    size_t shz[1] = {32};
    assert_int_equal(sparse_exp_net_add_param(net, find(net, "main_fc"), "z_mu", 1, shz, 1.0f, 1),
                     SPARSE_OK);
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    row(net, r, "b1c1", SPARSE_MEMNODE_CONV, 196, 1568, 70, 266, 1764);
    row(net, r, "main_fc", SPARSE_MEMNODE_FC, 144, 32, 4640, 4784, 176);
    sparse_memreport_free(r);
    sparse_net_free(net);
}

/* Structured pruning, compacted by the prune module: conv1 loses half its
 * channels (rows and biases zeroed), so conv1 8 -> 4 and conv2 reads 4:
 *   conv1  x 784,  y 4x28x28 = 3136, w 4*9 + 4 = 40      WM5 824   WM6 3920
 *   pool1  x 3136, y 4x14x14 = 784                       WM5 3136  WM6 3920
 *   conv2  x 784,  y 3136, w 16*4*9 + 16 = 592           WM5 1376  WM6 3920
 *   pool2, fc unchanged (3136 -> 784; 7850, WM5 8634)
 *   MS = 40 + 592 + 7850 = 8482; WM6 halves from 7840 to 3920 (conv1 first). */
static void test_net_compacted(void **state)
{
    (void)state;
    sparse_net *net = memtest_net(tiny_yaml, 1, 4);
    fill_dense(net);
    size_t c1 = find(net, "conv1");
    sparse_tensor *w = NULL, *b = NULL;
    assert_int_equal(sparse_net_param(&w, net, c1, "weight"), SPARSE_OK);
    assert_int_equal(sparse_net_param(&b, net, c1, "bias"), SPARSE_OK);
    for (size_t c = 0; c < 4; c++) {
        memset(sparse_tensor_data(w) + c * 9, 0, 9 * sizeof(float));
        sparse_tensor_data(b)[c] = 0.0f;
    }
    sparse_tensor_free(w);
    sparse_tensor_free(b);
    sparse_prune_result *res = NULL;
    assert_int_equal(sparse_prune_compact(&res, net, 1), SPARSE_OK);
    sparse_net *small = sparse_prune_result_net(res);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, small, NULL), SPARSE_OK);
    row(small, r, "conv1", SPARSE_MEMNODE_CONV, 784, 3136, 40, 824, 3920);
    row(small, r, "pool1", SPARSE_MEMNODE_POOL, 3136, 784, 0, 3136, 3920);
    row(small, r, "conv2", SPARSE_MEMNODE_CONV, 784, 3136, 592, 1376, 3920);
    row(small, r, "fc", SPARSE_MEMNODE_FC, 784, 10, 7850, 8634, 794);
    totals(small, r, 8482, 8634, "fc", 3920, "conv1");
    /* Beyond the paper: flash conv1 36 + 16 + 20 + 80 = 152, conv2 576 + 64 +
     * 80 + 80 = 800, fc 7840 + 40 + 50 + 80 = 8010, pools 2 * 40: 9042 (was
     * 9690); arena: conv1 and conv2 each hold x 784 + y 3136 + im2col 7056 =
     * 10976 (was 18816). */
    uint64_t flash = 0, arena = 0, lb = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 9042);
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, &lb), SPARSE_OK);
    assert_int_equal(lb, 10976);
    assert_int_equal(arena, 10976);
    sparse_memreport_free(r);
    sparse_prune_result_free(res);
    sparse_net_free(net);
}

/* A ReLU that cannot be fused into its producer runs as a step of its own
 * in the int8 export (a clamp): right after the input (r0), and where its
 * producer is read elsewhere too (r, next to the sum). Neither is a layer of
 * the paper's count; each costs 8 (descriptor) + 16 (op) + 4 (input) = 28 B
 * of flash. c 3x3x2 on 1x6x6: 18 + 4*2 + 5*2 + 80 = 116; the sum 20 + 2*8
 * + 16 + 2*4 = 60; f 3x72: 216 + 12 + 15 + 80 = 323. Total 28 + 116 + 28 +
 * 60 + 323 = 555. */
static void test_net_unfused_relu(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 6, 6]\nclasses: 3\nlayers:\n"
                               "  - {type: relu, name: r0}\n"
                               "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n"
                               "  - {type: relu, name: r}\n"
                               "  - {type: merge, name: sum, input: [c, r], mode: sum}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = memtest_net(yaml, 1, 5);
    fill_dense(net);
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    not_layer(net, r, "r0");
    not_layer(net, r, "r");
    assert_int_equal(val(r, find(net, "r0"), SPARSE_MEMFIELD_DEPLOY_FLASH), 28);
    assert_int_equal(val(r, find(net, "r"), SPARSE_MEMFIELD_DEPLOY_FLASH), 28);
    assert_int_equal(val(r, find(net, "c"), SPARSE_MEMFIELD_DEPLOY_FLASH), 116);
    assert_int_equal(val(r, find(net, "sum"), SPARSE_MEMFIELD_DEPLOY_FLASH), 60);
    assert_int_equal(val(r, find(net, "f"), SPARSE_MEMFIELD_DEPLOY_FLASH), 323);
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 555);
    sparse_memreport_free(r);
    sparse_net_free(net);
}

static void test_net_errors(void **state)
{
    (void)state;
    sparse_memgraph *g = (sparse_memgraph *)&g;
    assert_int_equal(sparse_memgraph_from_net(&g, NULL), SPARSE_EINVAL);
    assert_null(g);
    assert_int_equal(sparse_memgraph_from_net(NULL, NULL), SPARSE_EINVAL);
    sparse_memreport *r = (sparse_memreport *)&r;
    assert_int_equal(sparse_memreport_from_net(&r, NULL, NULL), SPARSE_EINVAL);
    assert_null(r);

    /* Batch norm after a pool has no conv to fold into. */
    static const char bad[] = "input: [1, 8, 8]\nclasses: 2\nlayers:\n"
                              "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n"
                              "  - {type: maxpool, name: p, size: 2}\n"
                              "  - {type: batchnorm, name: bn}\n"
                              "  - {type: fc, name: f, units: 2}\n";
    sparse_net *net = memtest_net(bad, 1, 0);
    g = (sparse_memgraph *)&g;
    assert_int_equal(sparse_memgraph_from_net(&g, net), SPARSE_EUNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(sparse_last_error(), "'bn'"));
    assert_non_null(strstr(sparse_last_error(), "'p'"));
    sparse_net_free(net);
}

const struct CMUnitTest memory_net_tests[] = {
    cmocka_unit_test(test_net_tiny_cnn),
    cmocka_unit_test(test_net_lenet5),
    cmocka_unit_test(test_net_all_layers),
    cmocka_unit_test(test_net_compacted),
    cmocka_unit_test(test_net_unfused_relu),
    cmocka_unit_test(test_net_errors),
};
const size_t memory_net_test_count = sizeof memory_net_tests / sizeof memory_net_tests[0];
