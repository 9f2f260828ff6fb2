/*
 * Memory accounting: hand-computed fixtures. Every expected number below is
 * worked out in the comment next to it from the conventions of docs/design.md §8:
 * int8 (1 byte per weight/activation), biases are weights, BN folded, ReLU in
 * place (so neither appears), x_l and y_l dense element counts, w_l non-zeros,
 * a merge's x_l the concatenation of its inputs.
 *   WM5_l = x_l + w_l        WM6_l = x_l + y_l        MS = sum of w_l
 * Deploy flash (docs/memory.md section 4), per step of the int8 export on a
 * 32-bit Cortex-M: a weighted layer's encoded weights + 4 B per bias + 5 B
 * per output channel (int32 multiplier, int8 shift) + 60 (its descriptor);
 * a pool or downsampling 20; a sum 20 + 8 per input; a concatenation 8 + 12
 * per input; every step 16 (op) + 4 per input.
 * Here the fixtures, flash encodings and the JSON report; in parts of their
 * own the argument checks (test_memory_errors.c), reports of networks
 * (test_memory_net.c), int8 (test_quant.c, test_quant_net.c), input
 * downsampling as acquisition (test_acquisition.c) and activation sparsity
 * (test_activations.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/doc.h"
#include "core/internal.h"
#include "sparse/sparse.h"
#include "graph_fixture.h"

extern const struct CMUnitTest memory_errors_tests[];
extern const size_t memory_errors_test_count;
extern const struct CMUnitTest memory_net_tests[];
extern const size_t memory_net_test_count;
extern const struct CMUnitTest quant_tests[];
extern const size_t quant_test_count;
extern const struct CMUnitTest quant_net_tests[];
extern const size_t quant_net_test_count;
extern const struct CMUnitTest acquisition_tests[];
extern const size_t acquisition_test_count;
extern const struct CMUnitTest activations_tests[];
extern const size_t activations_test_count;

/* ---- helpers ---- */

static size_t pool(sparse_memgraph *g, const char *name, size_t in, uint64_t c, uint64_t h,
                   uint64_t w, uint32_t k)
{
    size_t id = node(g, SPARSE_MEMNODE_POOL, name, &in, 1, c, h, w);
    assert_int_equal(sparse_memgraph_set_kernel(g, id, k, k, k, k), SPARSE_OK);
    return id;
}

static uint64_t val(const sparse_memreport *r, size_t id, int field)
{
    uint64_t v = 0;
    assert_int_equal(sparse_memreport_node_value(r, id, field, &v), SPARSE_OK);
    return v;
}

static void check_layer(const sparse_memreport *r, size_t id, uint64_t x, uint64_t y, uint64_t w,
                        uint64_t wm5, uint64_t wm6)
{
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_IS_LAYER), 1);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_X), x);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_Y), y);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_NONZEROS), w);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_WM5), wm5);
    assert_int_equal(val(r, id, SPARSE_MEMFIELD_WM6), wm6);
}

static void check_totals(const sparse_memreport *r, uint64_t ms, uint64_t wm5, size_t arg5,
                         uint64_t wm6, size_t arg6)
{
    uint64_t v = 0;
    size_t at = 999;
    assert_int_equal(sparse_memreport_ms_bytes(r, &v), SPARSE_OK);
    assert_int_equal(v, ms);
    assert_int_equal(sparse_memreport_wm_bytes(r, 5, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm5);
    assert_int_equal(at, arg5);
    assert_int_equal(sparse_memreport_wm_bytes(r, 6, &v, &at), SPARSE_OK);
    assert_int_equal(v, wm6);
    assert_int_equal(at, arg6);
}

static void check_arena(const sparse_memreport *r, uint64_t arena, uint64_t lower)
{
    uint64_t a = 0, lb = 0;
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &a, &lb), SPARSE_OK);
    assert_int_equal(a, arena);
    assert_int_equal(lb, lower);
}

/* ---- fixtures ---- */

/* Plain chain: input 1x8x8 -> conv1 3x3x4 same -> conv2 3x3x2 same -> fc 10.
 *   conv1: W = 4*1*3*3 = 36, b = 4; pruned to 30 + 4 = 34.
 *          x = 1*8*8 = 64, y = 4*8*8 = 256; WM5 = 64+34 = 98,  WM6 = 64+256 = 320
 *   conv2: W = 2*4*3*3 = 72, b = 2; dense, 74.
 *          x = 256, y = 2*8*8 = 128;       WM5 = 256+74 = 330, WM6 = 256+128 = 384
 *   fc:    W = 10*128 = 1280, b = 10; pruned to 100 + 10 = 110.
 *          x = 128, y = 10;                WM5 = 128+110 = 238, WM6 = 128+10 = 138
 *   MS = 34 + 74 + 110 = 218; WM5 = 330 (conv2); WM6 = 384 (conv2). */
static void test_plain_chain(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 1, 8, 8);
    size_t c1 = wnode(g, SPARSE_MEMNODE_CONV, "conv1", in, 4, 8, 8, 3, 1, 36, 4, 30, 4);
    size_t c2 = wnode(g, SPARSE_MEMNODE_CONV, "conv2", c1, 2, 8, 8, 3, 1, 72, 2, 72, 2);
    size_t fc = wnode(g, SPARSE_MEMNODE_FC, "fc", c2, 10, 1, 1, 0, 0, 1280, 10, 100, 10);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_NONE);
    assert_int_equal(val(r, in, SPARSE_MEMFIELD_IS_LAYER), 0);
    assert_int_equal(val(r, in, SPARSE_MEMFIELD_WM5), 0);
    check_layer(r, c1, 64, 256, 34, 98, 320);
    check_layer(r, c2, 256, 128, 74, 330, 384);
    check_layer(r, fc, 128, 10, 110, 238, 138);
    check_totals(r, 218, 330, c2, 384, c2);
    /* Arena without scratch, buffers [first step, last step]: input 64 [0,1],
     * conv1 256 [1,2], conv2 128 [2,3], fc 10 [3,3] (graph output).
     * Live: 64, 320, 384, 138. Greedy: conv1@0, conv2@256, input@256 (conflicts
     * conv1 only), fc@0 (conflicts conv2 only) -> arena 384 = lower bound. */
    check_arena(r, 384, 384);
    assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_LIVE), 384);
    assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_OFFSET), 256);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

/* Pooled chain = tiny-cnn (the worked example of docs/memory.md), dense:
 * input 1x28x28 -> conv1 3x3x8 same (+BN+ReLU) -> pool1 2 -> conv2 3x3x16 same
 * (+ReLU) -> pool2 2 -> fc 10.
 *   conv1: W = 8*1*9 = 72, b = 8 -> 80.  x = 784, y = 8*28*28 = 6272
 *          WM5 = 784+80 = 864, WM6 = 784+6272 = 7056
 *   pool1: x = 6272, y = 8*14*14 = 1568; WM5 = 6272, WM6 = 7840
 *   conv2: W = 16*8*9 = 1152, b = 16 -> 1168. x = 1568, y = 16*14*14 = 3136
 *          WM5 = 1568+1168 = 2736, WM6 = 1568+3136 = 4704
 *   pool2: x = 3136, y = 16*7*7 = 784; WM5 = 3136, WM6 = 3920
 *   fc:    W = 784*10 = 7840, b = 10 -> 7850. x = 784, y = 10
 *          WM5 = 784+7850 = 8634, WM6 = 794
 *   MS = 80 + 1168 + 7850 = 9098; WM5 = 8634 (fc); WM6 = 7840 (pool1). */
static void build_tiny_cnn(sparse_memgraph *g, size_t *ids)
{
    ids[0] = input(g, 1, 28, 28);
    ids[1] = wnode(g, SPARSE_MEMNODE_CONV, "conv1", ids[0], 8, 28, 28, 3, 1, 72, 8, 72, 8);
    ids[2] = pool(g, "pool1", ids[1], 8, 14, 14, 2);
    ids[3] = wnode(g, SPARSE_MEMNODE_CONV, "conv2", ids[2], 16, 14, 14, 3, 1, 1152, 16, 1152, 16);
    ids[4] = pool(g, "pool2", ids[3], 16, 7, 7, 2);
    ids[5] = wnode(g, SPARSE_MEMNODE_FC, "fc", ids[4], 10, 1, 1, 0, 0, 7840, 10, 7840, 10);
}

static void test_pooled_chain(void **state)
{
    (void)state;
    sparse_memgraph *g;
    size_t id[6];
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    build_tiny_cnn(g, id);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
    check_layer(r, id[1], 784, 6272, 80, 864, 7056);
    check_layer(r, id[2], 6272, 1568, 0, 6272, 7840);
    check_layer(r, id[3], 1568, 3136, 1168, 2736, 4704);
    check_layer(r, id[4], 3136, 784, 0, 3136, 3920);
    check_layer(r, id[5], 784, 10, 7850, 8634, 794);
    check_totals(r, 9098, 8634, id[5], 7840, id[2]);

    /* Flash, all dense (rows = output channels), each weighted layer
     * + 60 descriptor + 16 op + 4 input = + 80:
     *   conv1 8x9:    dense 72 < bitmask 9+72 = 81 < csr 72*2 + 9*2 = 162 -> 72
     *                 + 4*8 biases + 5*8 multipliers and shifts + 80 = 224
     *   conv2 16x72:  1152 + 64 + 80 + 80 = 1376
     *   fc 10x784:    7840 + 40 + 50 + 80 = 8010
     *   pool1, pool2: 20 + 16 + 4 = 40 each      total 224 + 1376 + 8010 + 80 = 9690 */
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 9690);
    assert_int_equal(val(r, id[1], SPARSE_MEMFIELD_DEPLOY_FLASH), 224);
    assert_int_equal(val(r, id[1], SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT), SPARSE_FLASH_DENSE);
    assert_int_equal(val(r, id[2], SPARSE_MEMFIELD_DEPLOY_FLASH), 40);
    assert_int_equal(val(r, id[2], SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT), SPARSE_FLASH_NONE);
    assert_int_equal(val(r, id[0], SPARSE_MEMFIELD_DEPLOY_FLASH), 0);

    /* Arena with full im2col: scratch conv1 = 1*9*28*28 = 7056 [1,1], conv2 =
     * 8*9*14*14 = 14112 [3,3]. Tensors: input 784 [0,1], conv1 6272 [1,2],
     * pool1 1568 [2,3], conv2 3136 [3,4], pool2 784 [4,5], fc 10 [5,5].
     * Live: 784, 14112, 7840, 18816, 3920, 794 -> lower bound 18816.
     * Greedy (largest first): s2@0, s1@0, conv1@7056, conv2@14112,
     * pool1@17248 (above s2, conv1, conv2), input@13328, pool2@0, fc@784;
     * arena = 17248 + 1568 = 18816. */
    assert_int_equal(val(r, id[1], SPARSE_MEMFIELD_DEPLOY_SCRATCH), 7056);
    assert_int_equal(val(r, id[3], SPARSE_MEMFIELD_DEPLOY_SCRATCH), 14112);
    assert_int_equal(val(r, id[2], SPARSE_MEMFIELD_DEPLOY_SCRATCH), 0);
    check_arena(r, 18816, 18816);
    assert_int_equal(val(r, id[2], SPARSE_MEMFIELD_DEPLOY_OFFSET), 17248);
    assert_int_equal(val(r, id[1], SPARSE_MEMFIELD_DEPLOY_ARENA), 14112); /* input@13328 + 784 */
    sparse_memreport_free(r);

    /* Without scratch: live 784, 7056, 7840, 4704, 3920, 794 -> 7840 (= WM6,
     * as for any chain: x_l + y_l is what is alive at a step). Greedy: conv1@0,
     * conv2@0, pool1@6272, input@6272, pool2@3136, fc@0 -> 7840. */
    r = report(g, SPARSE_SCRATCH_NONE);
    check_arena(r, 7840, 7840);
    sparse_memreport_free(r);

    /* CMSIS-style two int16 columns: 2*2*C_in*9 = 36 (conv1), 288 (conv2).
     * Live: 784, 784+6272+36 = 7092, 7840, 1568+3136+288 = 4992, ... -> 7840. */
    r = report(g, SPARSE_SCRATCH_IM2COL_2COL);
    assert_int_equal(val(r, id[3], SPARSE_MEMFIELD_DEPLOY_SCRATCH), 288);
    uint64_t a, lb;
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &a, &lb), SPARSE_OK);
    assert_int_equal(lb, 7840);
    assert_true(a >= lb);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

/* Residual block: input 2x4x4 -> a 3x3x2 same -> b 3x3x2 same -> add(input, b)
 * -> fc 3.
 *   a:   W = 2*2*9 = 36, b = 2; pruned 20 + 2 = 22. x = 32, y = 32
 *        WM5 = 54, WM6 = 64
 *   b:   36 + 2 pruned to 36 + 1 = 37.   x = 32, y = 32; WM5 = 69, WM6 = 64
 *   add: x = 32 + 32 = 64 (both inputs), y = 32; WM5 = 64, WM6 = 96
 *   fc:  W = 3*32 = 96, b = 3; pruned 50 + 3 = 53. x = 32, y = 3
 *        WM5 = 85, WM6 = 35
 *   MS = 22 + 37 + 53 = 112; WM5 = 85 (fc); WM6 = 96 (add). */
static void build_residual(sparse_memgraph *g, size_t *id)
{
    id[0] = input(g, 2, 4, 4);
    id[1] = wnode(g, SPARSE_MEMNODE_CONV, "a", id[0], 2, 4, 4, 3, 1, 36, 2, 20, 2);
    id[2] = wnode(g, SPARSE_MEMNODE_CONV, "b", id[1], 2, 4, 4, 3, 1, 36, 2, 36, 1);
    size_t in[2] = {id[0], id[2]};
    id[3] = node(g, SPARSE_MEMNODE_ADD, "add", in, 2, 2, 4, 4);
    id[4] = wnode(g, SPARSE_MEMNODE_FC, "fc", id[3], 3, 1, 1, 0, 0, 96, 3, 50, 3);
}

static void test_residual(void **state)
{
    (void)state;
    sparse_memgraph *g;
    size_t id[5];
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    build_residual(g, id);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_NONE);
    check_layer(r, id[1], 32, 32, 22, 54, 64);
    check_layer(r, id[2], 32, 32, 37, 69, 64);
    check_layer(r, id[3], 64, 32, 0, 64, 96);
    check_layer(r, id[4], 32, 3, 53, 85, 35);
    check_totals(r, 112, 85, id[4], 96, id[3]);
    /* The skip keeps the input alive until the add: input 32 [0,3], a 32
     * [1,2], b 32 [2,3], add 32 [3,4], fc 3 [4,4]. Live: 32, 64, 96 (input, a,
     * b), 96 (input, b, add), 35. Greedy: input@0, a@32, b@64, add@32 (a is
     * dead by then), fc@0 -> 96. In a plain chain step b would hold 64. */
    check_arena(r, 96, 96);
    assert_int_equal(val(r, id[2], SPARSE_MEMFIELD_DEPLOY_LIVE), 96);
    assert_int_equal(val(r, id[3], SPARSE_MEMFIELD_DEPLOY_OFFSET), 32);
    sparse_memreport_free(r);

    /* The sum written over the skip tensor: add aliases input's buffer, which
     * now lives [0,4]; step 3 holds input(=add) and b only: 64. The paper's WM
     * figures do not change. */
    assert_int_equal(sparse_memgraph_set_in_place(g, id[3], 1), SPARSE_OK);
    r = report(g, SPARSE_SCRATCH_NONE);
    check_totals(r, 112, 85, id[4], 96, id[3]);
    check_arena(r, 96, 96);
    assert_int_equal(val(r, id[3], SPARSE_MEMFIELD_DEPLOY_LIVE), 64);
    assert_int_equal(val(r, id[3], SPARSE_MEMFIELD_DEPLOY_OFFSET), 0);
    sparse_memreport_free(r);

    /* Conv a cannot overwrite the input: the add still reads it at step 3. */
    assert_int_equal(sparse_memgraph_set_in_place(g, id[1], 1), SPARSE_OK);
    assert_int_equal(sparse_memreport_create(&r, g, NULL), SPARSE_EINVAL);
    assert_null(r);
    assert_non_null(strstr(sparse_last_error(), "'a'"));
    sparse_memgraph_free(g);
}

/* Two branches from input 1x6x6 (36): c1 3x3x4 same (W = 36, b = 4, dense:
 * 40) and c2 1x1x4 (pwconv, W = 4, b = 4: 8), merged.
 *   c1: x = 36, y = 4*36 = 144; WM5 = 76, WM6 = 180
 *   c2: x = 36, y = 144;        WM5 = 44, WM6 = 180
 * By sum:    add x = 144+144 = 288, y = 144; WM5 = 288, WM6 = 432
 *            fc 2: W = 2*144 = 288, b = 2 -> 290; x = 144, y = 2
 *            WM5 = 434, WM6 = 146
 *            MS = 40 + 8 + 290 = 338; WM5 = 434 (fc); WM6 = 432 (add)
 * By concat: cat x = 288, y = 8*6*6 = 288; WM5 = 288, WM6 = 576
 *            fc 2: W = 2*288 = 576, b = 2 -> 578; x = 288, y = 2
 *            WM5 = 866, WM6 = 290
 *            MS = 40 + 8 + 578 = 626; WM5 = 866 (fc); WM6 = 576 (cat)
 * Flash (dense): c1 36 + 4*4 + 5*4 + 80 = 152; c2 4 + 16 + 20 + 80 = 120;
 *   sum: 20 + 2*8 + 16 + 2*4 = 60, fc 288 + 4*2 + 5*2 + 80 = 386: 718
 *   concat: 8 + 2*12 + 16 + 2*4 = 56, fc 576 + 8 + 10 + 80 = 674: 1002 */
static void test_branches(void **state)
{
    (void)state;
    for (int concat = 0; concat <= 1; concat++) {
        sparse_memgraph *g;
        assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
        size_t in = input(g, 1, 6, 6);
        size_t c1 = wnode(g, SPARSE_MEMNODE_CONV, "c1", in, 4, 6, 6, 3, 1, 36, 4, 36, 4);
        size_t c2 = wnode(g, SPARSE_MEMNODE_PWCONV, "c2", in, 4, 6, 6, 1, 1, 4, 4, 4, 4);
        size_t br[2] = {c1, c2};
        size_t m = node(g, concat ? SPARSE_MEMNODE_CONCAT : SPARSE_MEMNODE_ADD, "merge", br, 2,
                        concat ? 8 : 4, 6, 6);
        uint64_t fw = concat ? 576 : 288;
        size_t fc = wnode(g, SPARSE_MEMNODE_FC, "fc", m, 2, 1, 1, 0, 0, fw, 2, fw, 2);
        sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
        check_layer(r, c1, 36, 144, 40, 76, 180);
        check_layer(r, c2, 36, 144, 8, 44, 180);
        if (!concat) {
            check_layer(r, m, 288, 144, 0, 288, 432);
            check_layer(r, fc, 144, 2, 290, 434, 146);
            check_totals(r, 338, 434, fc, 432, m);
            /* c1's im2col 1*9*36 = 324 [1,1]; c2 is 1x1 stride 1: none.
             * Tensors: input 36 [0,2], c1 144 [1,3], c2 144 [2,3], add 144
             * [3,4], fc 2 [4,4]. Live: 36, 504, 324, 432, 146.
             * Greedy: s@0, c1@324, c2@0, add@144, input@468, fc@0 -> 504. */
            assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_SCRATCH), 0);
            check_arena(r, 504, 504);
        } else {
            check_layer(r, m, 288, 288, 0, 288, 576);
            check_layer(r, fc, 288, 2, 578, 866, 290);
            check_totals(r, 626, 866, fc, 576, m);
        }
        uint64_t flash = 0;
        assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
        assert_int_equal(val(r, c1, SPARSE_MEMFIELD_DEPLOY_FLASH), 152);
        assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_FLASH), 120);
        assert_int_equal(val(r, m, SPARSE_MEMFIELD_DEPLOY_FLASH), concat ? 56 : 60);
        assert_int_equal(val(r, fc, SPARSE_MEMFIELD_DEPLOY_FLASH), concat ? 674 : 386);
        assert_int_equal(flash, concat ? 1002 : 718);
        sparse_memreport_free(r);
        sparse_memgraph_free(g);
    }
}

/* Separable convolution: input 3x8x8 (192) -> dw 3x3 same (W = 3*9 = 27,
 * b = 3; pruned 20 + 3 = 23) -> pw 1x1 to 6 (W = 6*3 = 18, b = 6; pruned
 * 10 + 0 = 10) -> pool 2.
 *   dw:   x = 192, y = 192;         WM5 = 215, WM6 = 384
 *   pw:   x = 192, y = 6*64 = 384;  WM5 = 202, WM6 = 576
 *   pool: x = 384, y = 6*4*4 = 96;  WM5 = 384, WM6 = 480
 *   MS = 33; WM5 = 384 (pool); WM6 = 576 (pw).
 * Flash: dw 3x9, 20 nz: dense 27, bitmask ceil(27/8) + 20 = 24, csr
 *        20*(1+1) + 4*2 = 48 -> bitmask 24, + 4*3 biases + 5*3 + 80 = 131
 *        pw 6x3, 10 nz: dense 18, bitmask 3 + 10 = 13, csr 20 + 14 = 34
 *        -> bitmask 13, + 4*6 (biases kept dense) + 5*6 + 80 = 147
 *        pool 20 + 16 + 4 = 40.   Total 318. */
static void test_separable(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 3, 8, 8);
    size_t dw = wnode(g, SPARSE_MEMNODE_DWCONV, "dw", in, 3, 8, 8, 3, 1, 27, 3, 20, 3);
    size_t pw = wnode(g, SPARSE_MEMNODE_PWCONV, "pw", dw, 6, 8, 8, 1, 1, 18, 6, 10, 0);
    size_t p = pool(g, "pool", pw, 6, 4, 4, 2);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
    check_layer(r, dw, 192, 192, 23, 215, 384);
    check_layer(r, pw, 192, 384, 10, 202, 576);
    check_layer(r, p, 384, 96, 0, 384, 480);
    check_totals(r, 33, 384, p, 576, pw);
    assert_int_equal(val(r, dw, SPARSE_MEMFIELD_DEPLOY_FLASH), 131);
    assert_int_equal(val(r, dw, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT), SPARSE_FLASH_BITMASK);
    assert_int_equal(val(r, pw, SPARSE_MEMFIELD_DEPLOY_FLASH), 147);
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, 318);
    /* Depthwise runs direct (no im2col); a 1x1 stride-1 conv needs none. */
    assert_int_equal(val(r, dw, SPARSE_MEMFIELD_DEPLOY_SCRATCH), 0);
    assert_int_equal(val(r, pw, SPARSE_MEMFIELD_DEPLOY_SCRATCH), 0);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

/* Downsampled convolution: input 8x5x5 (200) -> pw 1x1 to 4 (halves the
 * depth; W = 4*8 = 32, b = 4: 36) -> conv 3x3x6 valid (3x3 out; W = 6*4*9 =
 * 216, b = 6: 222) -> fc 2 (W = 2*54 = 108, b = 2: 110). Dense.
 *   pw:   x = 200, y = 100;  WM5 = 236, WM6 = 300
 *   conv: x = 100, y = 54;   WM5 = 322, WM6 = 154
 *   fc:   x = 54,  y = 2;    WM5 = 164, WM6 = 56
 *   MS = 36 + 222 + 110 = 368; WM5 = 322 (conv); WM6 = 300 (pw).
 * Scratch (full im2col) of conv: 4*9*3*3 = 324. */
static void test_downsampled(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 8, 5, 5);
    size_t pw = wnode(g, SPARSE_MEMNODE_PWCONV, "down", in, 4, 5, 5, 1, 1, 32, 4, 32, 4);
    size_t cv = wnode(g, SPARSE_MEMNODE_CONV, "conv", pw, 6, 3, 3, 3, 1, 216, 6, 216, 6);
    size_t fc = wnode(g, SPARSE_MEMNODE_FC, "fc", cv, 2, 1, 1, 0, 0, 108, 2, 108, 2);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
    check_layer(r, pw, 200, 100, 36, 236, 300);
    check_layer(r, cv, 100, 54, 222, 322, 154);
    check_layer(r, fc, 54, 2, 110, 164, 56);
    check_totals(r, 368, 322, cv, 300, pw);
    assert_int_equal(val(r, cv, SPARSE_MEMFIELD_DEPLOY_SCRATCH), 324);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

/* Input downsampling is a layer: input 1x28x28 -> downsample 2 -> 1x14x14 ->
 * view (flatten, not a layer) 196x1x1 -> fc 10 (W = 1960, b = 10; pruned to
 * 500 + 10 = 510).
 *   down: x = 784, y = 196; WM5 = 784, WM6 = 980
 *   fc:   x = 196, y = 10;  WM5 = 706, WM6 = 206
 *   MS = 510; WM5 = 784 (down); WM6 = 980 (down).
 * Flash: down 20 + 16 + 4 = 40; the view none; fc 10x196, 500 nz: dense
 * 1960, bitmask 245 + 500 = 745, csr 500*2 + 11*2 = 1022 -> 745, + 4*10 +
 * 5*10 + 80 = 915. Total 955. */
static void test_input_downsampling(void **state)
{
    (void)state;
    sparse_memgraph *g;
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    size_t in = input(g, 1, 28, 28);
    size_t ds = node(g, SPARSE_MEMNODE_DOWNSAMPLE, "down", &in, 1, 1, 14, 14);
    size_t fl = node(g, SPARSE_MEMNODE_VIEW, "flatten", &ds, 1, 196, 1, 1);
    size_t fc = wnode(g, SPARSE_MEMNODE_FC, "fc", fl, 10, 1, 1, 0, 0, 1960, 10, 500, 10);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
    check_layer(r, ds, 784, 196, 0, 784, 980);
    assert_int_equal(val(r, fl, SPARSE_MEMFIELD_IS_LAYER), 0);
    check_layer(r, fc, 196, 10, 510, 706, 206);
    check_totals(r, 510, 784, ds, 980, ds);
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(val(r, ds, SPARSE_MEMFIELD_DEPLOY_FLASH), 40);
    assert_int_equal(val(r, fl, SPARSE_MEMFIELD_DEPLOY_FLASH), 0);
    assert_int_equal(val(r, fc, SPARSE_MEMFIELD_DEPLOY_FLASH), 915);
    assert_int_equal(flash, 955);
    /* The view shares the downsampled buffer: input 784 [0,1], down 196
     * [1,3] (through the view), fc 10 [3,3]. Live: 784, 980, 196, 206. */
    check_arena(r, 980, 980);
    assert_int_equal(val(r, fl, SPARSE_MEMFIELD_DEPLOY_OFFSET),
                     val(r, ds, SPARSE_MEMFIELD_DEPLOY_OFFSET));
    sparse_memreport_free(r);
    sparse_memgraph_free(g);
}

/* LeNet-5, Caffe variant (examples/arch/lenet5.yaml of the layers branch):
 * input 1x28x28 -> conv1 5x5x20 valid -> pool1 2 -> conv2 5x5x50 valid ->
 * pool2 2 -> fc1 500 (+ReLU) -> fc2 10.
 *   conv1: W = 20*1*25 = 500, b = 20 -> 520. x = 784, y = 20*24*24 = 11520
 *          WM5 = 1304, WM6 = 12304
 *   pool1: x = 11520, y = 20*12*12 = 2880; WM5 = 11520, WM6 = 14400
 *   conv2: W = 50*20*25 = 25000, b = 50 -> 25050. x = 2880, y = 50*8*8 = 3200
 *          WM5 = 27930, WM6 = 6080
 *   pool2: x = 3200, y = 50*4*4 = 800; WM5 = 3200, WM6 = 4000
 *   fc1:   W = 800*500 = 400000, b = 500 -> 400500. x = 800, y = 500
 *          WM5 = 401300, WM6 = 1300
 *   fc2:   W = 5000, b = 10 -> 5010. x = 500, y = 10; WM5 = 5510, WM6 = 510
 *   MS = 520 + 25050 + 400500 + 5010 = 431080; WM5 = 401300 (fc1);
 *   WM6 = 14400 (pool1).
 * Flash, dense (each weighted layer + 4 B per bias + 5 B per channel + 80):
 *   conv1 500 + 80 + 100 + 80 = 760, conv2 25000 + 200 + 250 + 80 = 25530,
 *   fc1 400000 + 2000 + 2500 + 80 = 404580, fc2 5000 + 40 + 50 + 80 = 5170,
 *   pools 2 * 40, the ReLU view 0: 436120.
 * Arena (full im2col): scratch conv1 = 1*25*24*24 = 14400 [1,1], conv2 =
 * 20*25*8*8 = 32000 [3,3]. Live: 784, 26704, 14400, 2880+3200+32000 = 38080,
 * 4000, 1300, 510. Greedy: s2@0, s1@0, conv1@14400, conv2@32000, pool1@35200,
 * pool2@0, input@25920, fc1@800, fc2@0 -> 38080 = lower bound.
 *
 * Pruned (non-zero weights: conv1 400, conv2 5000, fc1 20000, fc2 1000;
 * biases kept): w_l = 420, 5050, 20500, 1010.
 *   MS = 26980; WM5 = max(1204, 11520, 7930, 3200, 21300, 1510) = 21300 (fc1);
 *   WM6 = 14400 unchanged (activations are dense).
 *   Flash: conv1 20x25, 400 nz: dense 500, bitmask 63+400 = 463, csr
 *          400*2 + 21*2 = 842 -> 463 + 80 + 100 + 80 = 723
 *          conv2 50x500, 5000 nz: bitmask 3125+5000 = 8125, csr (2-byte
 *          indices) 15000 + 102 = 15102 -> 8125 + 200 + 250 + 80 = 8655
 *          fc1 500x800, 20000 nz: bitmask 50000+20000 = 70000, csr 60000 +
 *          501*2 = 61002 -> 61002 + 2000 + 2500 + 80 = 65582
 *          fc2 10x500, 1000 nz: bitmask 625+1000 = 1625, csr 3000 + 22 ->
 *          1625 + 40 + 50 + 80 = 1795; pools 80.
 *          Total 76835; the arena stays 38080. */
static void test_lenet5(void **state)
{
    (void)state;
    for (int pruned = 0; pruned <= 1; pruned++) {
        sparse_memgraph *g;
        assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
        size_t in = input(g, 1, 28, 28);
        size_t c1 = wnode(g, SPARSE_MEMNODE_CONV, "conv1", in, 20, 24, 24, 5, 1, 500, 20,
                          pruned ? 400 : 500, 20);
        size_t p1 = pool(g, "pool1", c1, 20, 12, 12, 2);
        size_t c2 = wnode(g, SPARSE_MEMNODE_CONV, "conv2", p1, 50, 8, 8, 5, 1, 25000, 50,
                          pruned ? 5000 : 25000, 50);
        size_t p2 = pool(g, "pool2", c2, 50, 4, 4, 2);
        size_t f1 = wnode(g, SPARSE_MEMNODE_FC, "fc1", p2, 500, 1, 1, 0, 0, 400000, 500,
                          pruned ? 20000 : 400000, 500);
        size_t relu = node(g, SPARSE_MEMNODE_VIEW, "relu1", &f1, 1, 500, 1, 1);
        size_t f2 = wnode(g, SPARSE_MEMNODE_FC, "fc2", relu, 10, 1, 1, 0, 0, 5000, 10,
                          pruned ? 1000 : 5000, 10);
        sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
        uint64_t flash = 0;
        assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
        check_layer(r, p1, 11520, 2880, 0, 11520, 14400);
        check_layer(r, p2, 3200, 800, 0, 3200, 4000);
        if (!pruned) {
            check_layer(r, c1, 784, 11520, 520, 1304, 12304);
            check_layer(r, c2, 2880, 3200, 25050, 27930, 6080);
            check_layer(r, f1, 800, 500, 400500, 401300, 1300);
            check_layer(r, f2, 500, 10, 5010, 5510, 510);
            check_totals(r, 431080, 401300, f1, 14400, p1);
            assert_int_equal(flash, 436120);
        } else {
            check_layer(r, c1, 784, 11520, 420, 1204, 12304);
            check_layer(r, c2, 2880, 3200, 5050, 7930, 6080);
            check_layer(r, f1, 800, 500, 20500, 21300, 1300);
            check_layer(r, f2, 500, 10, 1010, 1510, 510);
            check_totals(r, 26980, 21300, f1, 14400, p1);
            assert_int_equal(val(r, c1, SPARSE_MEMFIELD_DEPLOY_FLASH), 723);
            assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_FLASH), 8655);
            assert_int_equal(val(r, f1, SPARSE_MEMFIELD_DEPLOY_FLASH), 65582);
            assert_int_equal(val(r, f1, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT), SPARSE_FLASH_CSR);
            assert_int_equal(val(r, f2, SPARSE_MEMFIELD_DEPLOY_FLASH), 1795);
            assert_int_equal(val(r, relu, SPARSE_MEMFIELD_DEPLOY_FLASH), 0);
            assert_int_equal(flash, 76835);
        }
        check_arena(r, 38080, 38080);
        assert_int_equal(val(r, c2, SPARSE_MEMFIELD_DEPLOY_SCRATCH), 32000);
        sparse_memreport_free(r);
        sparse_memgraph_free(g);
    }
}

/* ---- flash encodings at known densities ---- */

static void expect_flash(uint64_t rows, uint64_t cols, uint64_t nnz, int format, uint64_t bytes)
{
    int f = -1;
    uint64_t b = 0;
    assert_int_equal(sparse_memory_deploy_weight_bytes(rows, cols, nnz, &f, &b), SPARSE_OK);
    assert_int_equal(f, format);
    assert_int_equal(b, bytes);
}

static void test_flash_formats(void **state)
{
    (void)state;
    /* 100x100, 100%: dense 10000 < bitmask 1250+10000 */
    expect_flash(100, 100, 10000, SPARSE_FLASH_DENSE, 10000);
    /* 50%: dense 10000, bitmask 1250+5000 = 6250, csr 5000*2 + 101*2 = 10202 */
    expect_flash(100, 100, 5000, SPARSE_FLASH_BITMASK, 6250);
    /* 5%: bitmask 1250+500 = 1750, csr 500*2 + 202 = 1202 */
    expect_flash(100, 100, 500, SPARSE_FLASH_CSR, 1202);
    /* rows of 300 need 2-byte column indices: 10x300, 30 nz:
     * bitmask 375+30 = 405, csr 30*3 + 11*2 = 112 */
    expect_flash(10, 300, 30, SPARSE_FLASH_CSR, 112);
    /* row of exactly 256 still fits 1-byte indices: 1x256, 10 nz: csr 20+4 = 24 */
    expect_flash(1, 256, 10, SPARSE_FLASH_CSR, 24);
    /* all zero 10x10: dense 100, bitmask 13, csr 0 + 11*2 = 22 */
    expect_flash(10, 10, 0, SPARSE_FLASH_BITMASK, 13);
    /* tie dense 8 = bitmask 1+7: the simpler format wins */
    expect_flash(1, 8, 7, SPARSE_FLASH_DENSE, 8);
    /* > 65535 non-zeros need 4-byte row pointers: 10000x1000, 70000 nz:
     * bitmask 1250000+70000, csr 70000*3 + 10001*4 = 250004 */
    expect_flash(10000, 1000, 70000, SPARSE_FLASH_CSR, 250004);
    uint64_t b;
    assert_int_equal(sparse_memory_deploy_weight_bytes(0, 5, 0, NULL, &b), SPARSE_ERANGE);
    assert_int_equal(sparse_memory_deploy_weight_bytes(2, 2, 5, NULL, &b), SPARSE_ERANGE);
    assert_int_equal(sparse_memory_deploy_weight_bytes(2, 2, 1, NULL, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_memory_deploy_weight_bytes(2, 2, 4, NULL, &b), SPARSE_OK);
    assert_int_equal(b, 4);
}

/* ---- JSON ---- */

static long jnum(const sparse__doc *d, const sparse__doc_node *map, const char *key)
{
    long v = -1;
    const sparse__doc_node *n = sparse__doc_get(map, key);
    assert_non_null(n);
    assert_int_equal(sparse__doc_long(d, n, key, 0, 1L << 40, &v), SPARSE_OK);
    return v;
}

static void test_json(void **state)
{
    (void)state;
    sparse_memgraph *g;
    size_t id[6];
    assert_int_equal(sparse_memgraph_create(&g), SPARSE_OK);
    build_tiny_cnn(g, id);
    sparse_memreport *r = report(g, SPARSE_SCRATCH_IM2COL);
    sparse_memgraph_free(g); /* the report stands alone */
    char *json = NULL, *again = NULL;
    assert_int_equal(sparse_memreport_to_json(&json, r), SPARSE_OK);
    assert_int_equal(sparse_memreport_to_json(&again, r), SPARSE_OK);
    assert_string_equal(json, again);
    sparse_free(again);
    sparse__doc *d = NULL;
    assert_int_equal(sparse__doc_parse(&d, json, strlen(json), "report"), SPARSE_OK);
    const sparse__doc_node *root = sparse__doc_root(d);
    assert_int_equal(jnum(d, root, "ms_bytes"), 9098);
    assert_int_equal(jnum(d, root, "wm5_bytes"), 8634);
    assert_int_equal(jnum(d, root, "wm6_bytes"), 7840);
    assert_int_equal(jnum(d, root, "flash_bytes"), 9690);
    assert_int_equal(jnum(d, root, "arena_bytes"), 18816);
    assert_int_equal(jnum(d, root, "arena_lower_bound_bytes"), 18816);
    assert_string_equal(sparse__doc_get(root, "wm5_argmax")->scalar, "fc");
    assert_string_equal(sparse__doc_get(root, "wm6_argmax")->scalar, "pool1");
    const sparse__doc_node *layers = sparse__doc_get(root, "layers");
    assert_non_null(layers);
    assert_int_equal(layers->kind, SPARSE__DOC_SEQ);
    assert_int_equal(layers->n, 5); /* the input is not a layer */
    const sparse__doc_node *c2 = layers->items[2];
    assert_string_equal(sparse__doc_get(c2, "name")->scalar, "conv2");
    assert_string_equal(sparse__doc_get(c2, "kind")->scalar, "conv");
    assert_string_equal(sparse__doc_get(c2, "inputs")->items[0]->scalar, "pool1");
    assert_int_equal(jnum(d, c2, "input_count"), 1568);
    assert_int_equal(jnum(d, c2, "output_count"), 3136);
    assert_int_equal(jnum(d, c2, "weights"), 1168);
    assert_int_equal(jnum(d, c2, "wm5"), 2736);
    assert_int_equal(jnum(d, c2, "wm6"), 4704);
    assert_int_equal(jnum(d, c2, "arena_bytes"), 18816);
    assert_int_equal(jnum(d, c2, "flash_bytes"), 1376);
    assert_string_equal(sparse__doc_get(c2, "flash_format")->scalar, "dense");
    sparse__doc_free(d);
    sparse_free(json);

    const char *name = NULL;
    int kind = -1;
    assert_int_equal(sparse_memreport_node_count(r), 6);
    assert_int_equal(sparse_memreport_node_count(NULL), 0);
    assert_int_equal(sparse_memreport_node_name(r, 0, &name), SPARSE_OK);
    assert_string_equal(name, "input");
    assert_int_equal(sparse_memreport_node_kind(r, 2, &kind), SPARSE_OK);
    assert_int_equal(kind, SPARSE_MEMNODE_POOL);
    assert_int_equal(sparse_memreport_node_name(r, 6, &name), SPARSE_ERANGE);
    assert_null(name);
    size_t found = 0;
    assert_int_equal(sparse_memreport_node_find(r, "input", &found), SPARSE_OK);
    assert_int_equal(found, 0);
    assert_int_equal(sparse_memreport_node_name(r, 2, &name), SPARSE_OK);
    assert_int_equal(sparse_memreport_node_find(r, name, &found), SPARSE_OK);
    assert_int_equal(found, 2);
    assert_int_equal(sparse_memreport_node_find(r, "no-such-layer", &found), SPARSE_ENOTFOUND);
    assert_int_equal(found, SIZE_MAX);
    assert_non_null(strstr(sparse_last_error(), "no node 'no-such-layer'"));
    assert_int_equal(sparse_memreport_node_find(NULL, "input", &found), SPARSE_EINVAL);
    assert_int_equal(sparse_memreport_node_find(r, NULL, &found), SPARSE_EINVAL);
    assert_int_equal(sparse_memreport_node_find(r, "input", NULL), SPARSE_EINVAL);
    uint64_t v;
    assert_int_equal(sparse_memreport_node_value(r, 0, 99, &v), SPARSE_ERANGE);
    sparse_memreport_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_chain),
        cmocka_unit_test(test_pooled_chain),
        cmocka_unit_test(test_residual),
        cmocka_unit_test(test_branches),
        cmocka_unit_test(test_separable),
        cmocka_unit_test(test_downsampled),
        cmocka_unit_test(test_input_downsampling),
        cmocka_unit_test(test_lenet5),
        cmocka_unit_test(test_flash_formats),
        cmocka_unit_test(test_json),
    };
    int fails = _cmocka_run_group_tests("memory_errors", memory_errors_tests, memory_errors_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("memory_from_net", memory_net_tests, memory_net_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("memory_int8", quant_tests, quant_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("memory_int8_net", quant_net_tests, quant_net_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("acquisition", acquisition_tests, acquisition_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("activations", activations_tests, activations_test_count, NULL, NULL);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
