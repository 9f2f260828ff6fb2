/* Layers: the experimental API. Node hooks replacing a node's kernels,
 * the raw kernels called from hooks, extra parameters and loss terms, a
 * parameter's learning-rate scale, and the profiling counters. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <sparse/experimental.h>
#include <sparse/sparse.h>

#include "fixture.h"

extern const struct CMUnitTest hooks_tests[];
extern const size_t hooks_test_count;

/* Experimental hooks: a node's kernels replaced (ReLU by 2x identity), an
 * extra parameter trained by an extra loss term. */
static int twice_fwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    size_t c, h, w;
    sparse_net_node_shape(net, id, &c, &h, &w);
    for (size_t j = 0; j < c * h * w * ctx->batch; j++)
        ctx->out[j] = 2.0f * ctx->in[j];
    (*(int *)user)++;
    return 0;
}

static int twice_bwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    size_t c, h, w;
    sparse_net_node_shape(net, id, &c, &h, &w);
    if (ctx->din)
        for (size_t j = 0; j < c * h * w * ctx->batch; j++)
            ctx->din[j] += 2.0f * ctx->dout[j];
    (*(int *)user)++;
    return 0;
}

static int extra_sum(void *user, sparse_net *net, double *loss)
{
    sparse_tensor *p, *g;
    size_t id = *(size_t *)user;
    sparse_net_param(&p, net, id, "log_sigma2");
    sparse_net_param_grad(&g, net, id, "log_sigma2");
    double s = 0;
    for (size_t j = 0; j < sparse_tensor_element_count(p); j++) {
        s += sparse_tensor_data(p)[j];
        sparse_tensor_data(g)[j] = 1.0f;
    }
    *loss = 1e-3 * s;
    sparse_tensor_free(p);
    sparse_tensor_free(g);
    return 0;
}

static int raw_fwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    (void)user;
    sparse_tensor *w;
    sparse_net_param(&w, net, id, "weight");
    int rc = sparse_net_node_kind(net, id) == SPARSE_LAYER_FC
                 ? sparse_exp_fc_forward(net, id, ctx->in, sparse_tensor_data(w), ctx->out)
                 : sparse_exp_conv_forward(net, id, ctx->in, sparse_tensor_data(w), ctx->out);
    sparse_tensor_free(w);
    return rc;
}

static int raw_bwd(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    (void)user;
    sparse_tensor *w, *g;
    sparse_net_param(&w, net, id, "weight");
    sparse_net_param_grad(&g, net, id, "weight");
    int rc = sparse_net_node_kind(net, id) == SPARSE_LAYER_FC
                 ? sparse_exp_fc_backward(net, id, ctx->in, sparse_tensor_data(w), ctx->dout, sparse_tensor_data(g),
                                          ctx->din)
                 : sparse_exp_conv_backward(net, id, ctx->in, sparse_tensor_data(w), ctx->dout, sparse_tensor_data(g),
                                            ctx->din);
    sparse_tensor_free(w);
    sparse_tensor_free(g);
    return rc;
}

/* The profiling counters see every GEMM of a forward pass: 2*m*n*k flops,
 * conv and FC apart. */
static void test_profile_counters(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 5, kernel: 3, padding: same}\n"
                                    "  - {type: fc, units: 4}\n", 2, 1);
    assert_int_equal(sparse_exp_net_profile(net, 1), SPARSE_OK);
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 3, 7, 7), SPARSE_OK);
    assert_int_equal(sparse_net_forward(net, x, 0, NULL), SPARSE_OK);
    sparse_exp_profile p = {SPARSE_EXP_PROFILE_VERSION, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(sparse_exp_net_profile_get(net, &p), SPARSE_OK);
    /* conv: (5 x 27) times (27 x 2*49); fc: (4 x 245) times (245 x 2) */
    assert_true(p.conv_gemm_flops == 2.0 * 5 * (2 * 49) * 27);
    assert_true(p.fc_gemm_flops == 2.0 * 4 * 2 * 245);
    assert_true(p.conv_gemm_seconds >= 0.0 && p.fc_gemm_seconds >= 0.0);
    /* per node: the kernels' own time, nothing for the input; turning
     * profiling on again resets it */
    double f = -1, b = -1;
    assert_int_equal(sparse_exp_net_profile_node(net, 1, &f, &b), SPARSE_OK);
    assert_true(f > 0.0 && b == 0.0);
    assert_int_equal(sparse_exp_net_profile_node(net, 0, &f, NULL), SPARSE_OK);
    assert_true(f == 0.0);
    assert_int_equal(sparse_exp_net_profile(net, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_profile_node(net, 1, &f, &b), SPARSE_OK);
    assert_true(f == 0.0);
    assert_int_equal(sparse_exp_net_profile_node(net, 3, &f, &b), SPARSE_ERANGE);
    sparse_tensor_free(x);
    sparse_net_free(net);
}

static void test_raw_kernels(void **state)
{
    (void)state;
    const char *y = HEAD "  - {type: conv2d, name: c, filters: 4, kernel: 3, stride: 2, bias: false}\n"
                         "  - {type: depthwise_conv2d, name: d, kernel: 3, bias: false}\n"
                         "  - {type: conv2d, name: p, filters: 3, kernel: 1, bias: false}\n"
                         "  - {type: fc, name: f, units: 4, bias: false}\n";
    sparse_net *a = make_net(y, 3, 5), *b = make_net(y, 3, 5);
    for (size_t id = 1; id < sparse_net_node_count(b); id++)
        assert_int_equal(sparse_exp_net_set_hooks(b, id, raw_fwd, raw_bwd, NULL), SPARSE_OK);
    sparse_tensor *x;
    sparse_tensor_create_nchw(&x, 3, 3, 7, 7);
    for (size_t j = 0; j < 3 * 147; j++)
        sparse_tensor_data(x)[j] = (float)sin((double)j);
    int32_t lab[3] = {0, 1, 3};
    double la, lb;
    assert_int_equal(sparse_net_forward(a, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(a, lab, 0, &la), SPARSE_OK);
    assert_int_equal(sparse_net_forward(b, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(b, lab, 0, &lb), SPARSE_OK);
    assert_true(la == lb);
    for (size_t id = 1; id < sparse_net_node_count(a); id++) {
        sparse_tensor *ga, *gb;
        sparse_net_param_grad(&ga, a, id, "weight");
        sparse_net_param_grad(&gb, b, id, "weight");
        assert_memory_equal(sparse_tensor_data(ga), sparse_tensor_data(gb),
                            sparse_tensor_element_count(ga) * sizeof(float));
        sparse_tensor_free(ga);
        sparse_tensor_free(gb);
    }
    sparse_tensor *xa, *xb;
    sparse_net_input_grad(&xa, a);
    sparse_net_input_grad(&xb, b);
    assert_memory_equal(sparse_tensor_data(xa), sparse_tensor_data(xb), 3 * 147 * sizeof(float));
    assert_int_equal(sparse_exp_fc_forward(b, 1, sparse_tensor_data(x), sparse_tensor_data(x), sparse_tensor_data(x)),
                     SPARSE_EINVAL);
    sparse_tensor_free(xa);
    sparse_tensor_free(xb);
    sparse_tensor_free(x);
    sparse_net_free(a);
    sparse_net_free(b);
}

static void test_experimental_hooks(void **state)
{
    (void)state;
    const char *y = HEAD "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n  - {type: relu, name: r}\n"
                         "  - {type: fc, units: 4}\n";
    sparse_net *net = make_net(y, 4, 1), *ref = make_net(y, 4, 1);
    size_t rid, cid;
    sparse_net_find_node(net, "r", &rid);
    sparse_net_find_node(net, "c", &cid);
    int calls = 0;
    assert_int_equal(sparse_exp_net_set_hooks(net, rid, twice_fwd, twice_bwd, &calls), SPARSE_OK);
    sparse_tensor *x, *o;
    sparse_tensor_create_nchw(&x, 2, 3, 7, 7);
    for (size_t j = 0; j < 2 * 147; j++)
        sparse_tensor_data(x)[j] = (float)((int)(j % 11) - 5);
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    int32_t lab[2] = {1, 2};
    assert_int_equal(sparse_net_backward(net, lab, 0, NULL), SPARSE_OK);
    assert_int_equal(calls, 2);
    sparse_net_node_output(&o, net, rid);
    sparse_tensor *oc;
    sparse_net_node_output(&oc, net, cid);
    for (size_t j = 0; j < sparse_tensor_element_count(o); j++)
        assert_true(sparse_tensor_data(o)[j] == 2.0f * sparse_tensor_data(oc)[j]);
    sparse_tensor_free(o);
    sparse_tensor_free(oc);

    size_t shape[1] = {2};
    assert_int_equal(sparse_exp_net_add_param(ref, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_add_param(ref, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_extra_loss(ref, extra_sum, &cid), SPARSE_OK);
    sparse_dataset *ds = blobs(16, 3, 7, 4, 1, 0);
    sparse_train_options opt = SPARSE_TRAIN_OPTIONS_INIT;
    opt.epochs = 2;
    opt.batch_size = 4;
    opt.schedule = SPARSE_LR_CONSTANT;
    assert_int_equal(sparse_net_train(ref, ds, &opt, NULL), SPARSE_OK);
    sparse_tensor *p;
    assert_int_equal(sparse_net_param(&p, ref, cid, "log_sigma2"), SPARSE_OK);
    assert_true(sparse_tensor_data(p)[0] < -10.0f + -0.005f); /* 8 Adam steps of ~lr */

    /* a learning-rate scale of 4 on that parameter: Adam's steps of a
     * constant gradient are lr each, so it moves exactly 4x as far */
    sparse_net *fast = make_net(y, 4, 1);
    assert_int_equal(sparse_exp_net_add_param(fast, cid, "log_sigma2", 1, shape, -10.0f, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_extra_loss(fast, extra_sum, &cid), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", 4.0), SPARSE_OK);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", 0.0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "log_sigma2", NAN), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, cid, "nope", 2.0), SPARSE_ENOTFOUND);
    assert_int_equal(sparse_exp_net_set_lr_scale(fast, 999, NULL, 2.0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_lr_scale(NULL, cid, NULL, 2.0), SPARSE_EINVAL);
    assert_int_equal(sparse_net_train(fast, ds, &opt, NULL), SPARSE_OK);
    sparse_tensor *pf;
    assert_int_equal(sparse_net_param(&pf, fast, cid, "log_sigma2"), SPARSE_OK);
    double slow_move = sparse_tensor_data(p)[0] + 10.0, fast_move = sparse_tensor_data(pf)[0] + 10.0;
    assert_true(fabs(fast_move / (4.0 * slow_move) - 1.0) < 1e-3); /* float rounding near -10 */
    sparse_tensor_free(pf);
    sparse_net_free(fast);
    sparse_tensor_free(p);
    sparse_dataset_free(ds);
    sparse_tensor_free(x);
    sparse_net_free(net);
    sparse_net_free(ref);
}

const struct CMUnitTest hooks_tests[] = {
    cmocka_unit_test(test_experimental_hooks),
    cmocka_unit_test(test_raw_kernels),
    cmocka_unit_test(test_profile_counters),
};
const size_t hooks_test_count = sizeof hooks_tests / sizeof hooks_tests[0];
