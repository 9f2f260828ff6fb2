/* Layers: every argument check of the architecture and network API gives
 * its documented status and a message naming the function and the
 * argument, layer or node; nothing is changed by a refused call. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/experimental.h>
#include <sparse/sparse.h>

#include "../expect.h"
#include "api_errors.h"
#include "core/internal.h"

/* The network of an architecture in YAML, max_batch images, seed 1. */
static sparse_net *net_of(const char *yaml, size_t max_batch)
{
    sparse_arch *a = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "t.yaml"), SPARSE_OK);
    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, a, max_batch, 1), SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

static sparse_layer_spec spec_of(int kind)
{
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.kind = kind;
    s.filters = 4;
    return s;
}

/* add_layer refuses s with code, the message naming the layer (by its
 * index: the refused spec may have no valid name) and why;
 * the architecture keeps its layers. */
static void refused(sparse_arch *a, const sparse_layer_spec *s, int code, const char *why)
{
    const size_t n = sparse_arch_layer_count(a);
    char where[32];
    snprintf(where, sizeof where, "layer %zu ", n);
    EXPECT_ERROR(sparse_arch_add_layer(a, s), code, where, why);
    assert_int_equal(sparse_arch_layer_count(a), n);
}

void test_arch_spec_errors(void **state)
{
    (void)state;
    sparse_arch *a = NULL;
    EXPECT_ERROR(sparse_arch_create(NULL, 1, 8, 8, 10), SPARSE_EINVAL, "sparse_arch_create", "'out'");
    EXPECT_ERROR(sparse_arch_create(&a, 0, 8, 8, 10), SPARSE_ESHAPE, "input shape 0x8x8");
    EXPECT_ERROR(sparse_arch_create(&a, 1, 65537, 8, 10), SPARSE_ESHAPE, "1x65537x8");
    EXPECT_ERROR(sparse_arch_create(&a, 1, 8, 0, 10), SPARSE_ESHAPE, "1x8x0");
    EXPECT_ERROR(sparse_arch_create(&a, 1, 8, 8, 1), SPARSE_ERANGE, "1 classes");
    EXPECT_ERROR(sparse_arch_create(&a, 1, 8, 8, 1000001), SPARSE_ERANGE, "1000001 classes");
    assert_null(a);
    assert_int_equal(sparse_arch_create(&a, 1, 8, 8, 10), SPARSE_OK);

    sparse_layer_spec s = spec_of(SPARSE_LAYER_INPUT);
    refused(a, &s, SPARSE_EINVAL, "unknown layer kind 0");
    s = spec_of(SPARSE_LAYER_KIND_COUNT_);
    refused(a, &s, SPARSE_EINVAL, "unknown layer kind 13");
    s = spec_of(SPARSE_LAYER_CONV2D);
    s.input_count = SPARSE_LAYER_MAX_INPUTS + 1;
    refused(a, &s, SPARSE_ERANGE, "9 inputs, at most 8");
    s = spec_of(SPARSE_LAYER_CONV2D);
    s.input_count = 1;
    s.inputs[0] = "bad name";
    refused(a, &s, SPARSE_EINVAL, "input 0 is not a valid layer name");
    s.inputs[0] = NULL;
    refused(a, &s, SPARSE_EINVAL, "input 0 is not a valid layer name");
    s = spec_of(SPARSE_LAYER_CONV2D);
    s.name = "";
    refused(a, &s, SPARSE_EINVAL, "name must be 1-200 characters");
    char longname[202];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    s.name = longname;
    refused(a, &s, SPARSE_EINVAL, "name must be 1-200 characters");
    s.name = "conv.1";
    refused(a, &s, SPARSE_EINVAL, "name must be 1-200 characters");
    s.name = "input";
    refused(a, &s, SPARSE_EINVAL, "the name 'input' is reserved");
    s.name = "Az09_-/x"; /* every kind of character a name may have */
    assert_int_equal(sparse_arch_add_layer(a, &s), SPARSE_OK);
    refused(a, &s, SPARSE_EINVAL, "duplicate layer name 'Az09_-/x'");

    s = spec_of(SPARSE_LAYER_CONV2D);
    s.kernel = 0;
    refused(a, &s, SPARSE_ERANGE, "kernel 0, allowed 1..11");
    s.kernel = 12;
    refused(a, &s, SPARSE_ERANGE, "kernel 12, allowed 1..11");
    s.kernel = 3;
    s.stride = 12;
    refused(a, &s, SPARSE_ERANGE, "stride 12, allowed 1..11");
    s.stride = 1;
    s.padding = 7;
    refused(a, &s, SPARSE_EINVAL, "padding must be same or valid");
    s.padding = SPARSE_PAD_VALID;
    s.filters = 0;
    refused(a, &s, SPARSE_ERANGE, "filters 0, allowed 1..100000");
    s.filters = 100001;
    refused(a, &s, SPARSE_ERANGE, "filters 100001");
    s = spec_of(SPARSE_LAYER_DEPTHWISE_CONV2D);
    s.filters = 0; /* a depthwise convolution has as many outputs as inputs */
    assert_int_equal(sparse_arch_add_layer(a, &s), SPARSE_OK);
    s = spec_of(SPARSE_LAYER_DOWNSAMPLED_CONV2D);
    s.rate = 0.0;
    refused(a, &s, SPARSE_ERANGE, "rate 0, allowed (0, 1]");
    s.rate = 1.5;
    refused(a, &s, SPARSE_ERANGE, "rate 1.5");
    s.rate = NAN;
    refused(a, &s, SPARSE_ERANGE, "rate nan");
    const int pools[] = {SPARSE_LAYER_MAXPOOL, SPARSE_LAYER_AVGPOOL};
    for (size_t i = 0; i < 2; i++) {
        s = spec_of(pools[i]);
        s.size = 0;
        refused(a, &s, SPARSE_ERANGE, "size 0 / stride");
        s.size = 65;
        refused(a, &s, SPARSE_ERANGE, "size 65 / stride");
        s.size = 2;
        s.stride = 65;
        refused(a, &s, SPARSE_ERANGE, "stride 65, allowed 1..64");
    }
    s = spec_of(SPARSE_LAYER_INPUT_DOWNSAMPLE);
    s.size = 0;
    refused(a, &s, SPARSE_ERANGE, "size 0 / depth 1");
    s.size = 65;
    refused(a, &s, SPARSE_ERANGE, "size 65 / depth 1");
    s.size = 2;
    s.depth_rate = 0;
    refused(a, &s, SPARSE_ERANGE, "size 2 / depth 0");
    s.depth_rate = 65;
    refused(a, &s, SPARSE_ERANGE, "size 2 / depth 65");
    s = spec_of(SPARSE_LAYER_FC);
    s.units = 0;
    refused(a, &s, SPARSE_ERANGE, "units 0, allowed 1..10000000");
    s.units = 10000001;
    refused(a, &s, SPARSE_ERANGE, "units 10000001");
    s = spec_of(SPARSE_LAYER_MERGE);
    s.input_count = 2;
    s.inputs[0] = "input";
    s.inputs[1] = "Az09_-/x";
    s.merge = 2;
    refused(a, &s, SPARSE_EINVAL, "mode must be sum or concat");
    s.merge = SPARSE_MERGE_CONCAT;
    s.input_count = 1;
    refused(a, &s, SPARSE_EINVAL, "a merge needs at least 2 inputs");
    s = spec_of(SPARSE_LAYER_RESIDUAL);
    refused(a, &s, SPARSE_EINVAL, "a residual needs 1 input");
    s.input_count = 3;
    s.inputs[0] = s.inputs[1] = s.inputs[2] = "input";
    refused(a, &s, SPARSE_EINVAL, "a residual needs 1 input");
    sparse_arch_free(a);
}

void test_arch_api_errors(void **state)
{
    (void)state;
    sparse_arch *a = NULL, *c = NULL;
    assert_int_equal(sparse_arch_create(&a, 1, 8, 8, 10), SPARSE_OK);
    sparse_layer_spec s = spec_of(SPARSE_LAYER_CONV2D), got = SPARSE_LAYER_SPEC_INIT;
    EXPECT_ERROR(sparse_arch_add_layer(NULL, &s), SPARSE_EINVAL, "sparse_arch_add_layer", "'arch'");
    EXPECT_ERROR(sparse_arch_add_layer(a, NULL), SPARSE_EINVAL, "sparse_arch_add_layer", "'spec'");
    EXPECT_ERROR(sparse_arch_insert_layer(NULL, 0, &s), SPARSE_EINVAL, "sparse_arch_insert_layer", "'arch'");
    EXPECT_ERROR(sparse_arch_insert_layer(a, 0, NULL), SPARSE_EINVAL, "sparse_arch_insert_layer", "'spec'");
    EXPECT_ERROR(sparse_arch_insert_layer(a, 1, &s), SPARSE_ERANGE, "sparse_arch_insert_layer: index 1 > 0 layers");
    EXPECT_ERROR(sparse_arch_set_layer(NULL, 0, &s), SPARSE_EINVAL, "sparse_arch_set_layer", "'arch'");
    EXPECT_ERROR(sparse_arch_set_layer(a, 0, NULL), SPARSE_EINVAL, "sparse_arch_set_layer", "'spec'");
    EXPECT_ERROR(sparse_arch_set_layer(a, 0, &s), SPARSE_ERANGE, "sparse_arch_set_layer: index 0, 0 layers");
    EXPECT_ERROR(sparse_arch_remove_layer(NULL, 0), SPARSE_EINVAL, "sparse_arch_remove_layer", "'arch'");
    EXPECT_ERROR(sparse_arch_remove_layer(a, 0), SPARSE_ERANGE, "sparse_arch_remove_layer: index 0, 0 layers");
    EXPECT_ERROR(sparse_arch_layer(NULL, 0, &got), SPARSE_EINVAL, "sparse_arch_layer", "'arch'");
    EXPECT_ERROR(sparse_arch_layer(a, 0, NULL), SPARSE_EINVAL, "sparse_arch_layer", "'out'");
    EXPECT_ERROR(sparse_arch_layer(a, 0, &got), SPARSE_ERANGE, "sparse_arch_layer: index 0, 0 layers");
    EXPECT_ERROR(sparse_arch_clone(NULL, a), SPARSE_EINVAL, "sparse_arch_clone", "'out'");
    EXPECT_ERROR(sparse_arch_clone(&c, NULL), SPARSE_EINVAL, "sparse_arch_clone", "'arch'");
    EXPECT_ERROR(sparse_arch_input_shape(NULL, NULL, NULL, NULL), SPARSE_EINVAL, "sparse_arch_input_shape");
    EXPECT_ERROR(sparse_arch_set_name(NULL, "x"), SPARSE_EINVAL, "sparse_arch_set_name", "'arch'");
    EXPECT_ERROR(sparse_arch_validate(NULL), SPARSE_EINVAL, "sparse_arch_validate", "'arch'");
    char *text = NULL;
    EXPECT_ERROR(sparse_arch_to_yaml(NULL, a), SPARSE_EINVAL, "sparse_arch_to_yaml", "'out'");
    EXPECT_ERROR(sparse_arch_to_json(&text, NULL), SPARSE_EINVAL, "sparse_arch_to_json");
    assert_null(text);
    /* the getters of a NULL architecture or a missing layer say "none" */
    assert_int_equal(sparse_arch_layer_count(NULL), 0);
    assert_int_equal(sparse_arch_class_count(NULL), 0);
    assert_string_equal(sparse_arch_name(NULL), "");
    assert_string_equal(sparse_arch_name(a), "");
    assert_int_equal(sparse_arch_layer_line(a, 0), 0);
    assert_int_equal(sparse_arch_layer_line(NULL, 0), 0);

    /* an empty architecture clones, and only the shape pointers given are written */
    assert_int_equal(sparse_arch_clone(&c, a), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(c), 0);
    size_t ch = 0, w = 0;
    assert_int_equal(sparse_arch_input_shape(c, &ch, NULL, &w), SPARSE_OK);
    assert_true(ch == 1 && w == 8);
    sparse_arch_free(c);

    /* a name set, then cleared with NULL */
    assert_int_equal(sparse_arch_set_name(a, "tiny"), SPARSE_OK);
    assert_string_equal(sparse_arch_name(a), "tiny");
    assert_int_equal(sparse_arch_set_name(a, NULL), SPARSE_OK);
    assert_string_equal(sparse_arch_name(a), "");

    /* set_layer may keep a layer's own name; it is no duplicate of itself */
    s.name = "c1";
    assert_int_equal(sparse_arch_add_layer(a, &s), SPARSE_OK);
    s.filters = 6;
    assert_int_equal(sparse_arch_set_layer(a, 0, &s), SPARSE_OK);
    assert_int_equal(sparse_arch_layer(a, 0, &got), SPARSE_OK);
    assert_int_equal(got.filters, 6);
    assert_string_equal(got.name, "c1");
    /* the serialised forms of a valid, no-bias convolution say so */
    s.name = "c2";
    s.bias = 0;
    s.padding = SPARSE_PAD_VALID;
    assert_int_equal(sparse_arch_add_layer(a, &s), SPARSE_OK);
    assert_int_equal(sparse_arch_to_yaml(&text, a), SPARSE_OK);
    assert_non_null(strstr(text, "bias: false"));
    assert_non_null(strstr(text, "padding: valid"));
    free(text);
    sparse_arch_free(a);
}

void test_net_api_errors(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 6, 6]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c1, filters: 2, kernel: 3}\n"
                               "  - {type: fc, name: out, units: 3}\n";
    sparse_arch *a = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "t.yaml"), SPARSE_OK);
    sparse_net *net = NULL;
    EXPECT_ERROR(sparse_net_create(NULL, a, 4, 1), SPARSE_EINVAL, "sparse_net_create", "'out'");
    EXPECT_ERROR(sparse_net_create(&net, NULL, 4, 1), SPARSE_EINVAL, "sparse_net_create", "'arch'");
    EXPECT_ERROR(sparse_net_create(&net, a, 0, 1), SPARSE_ERANGE, "max_batch 0, allowed 1..65536");
    EXPECT_ERROR(sparse_net_create(&net, a, 65537, 1), SPARSE_ERANGE, "max_batch 65537");
    assert_null(net);
    assert_int_equal(sparse_net_create(&net, a, 4, 1), SPARSE_OK);
    sparse_arch_free(a);

    /* getters of a NULL network or a node past the last */
    const size_t nn = sparse_net_node_count(net);
    assert_null(sparse_net_arch(NULL));
    assert_int_equal(sparse_net_max_batch(NULL), 0);
    assert_int_equal(sparse_net_node_count(NULL), 0);
    assert_null(sparse_net_node_name(net, nn));
    assert_int_equal(sparse_net_node_layer(net, nn), SIZE_MAX);
    assert_int_equal(sparse_net_node_layer(net, 0), SIZE_MAX); /* the input comes from no layer */
    assert_int_equal(sparse_net_node_input_count(net, nn), 0);
    assert_int_equal(sparse_net_param_count(net, nn), 0);
    assert_null(sparse_net_param_name(net, 1, 99));
    assert_null(sparse_net_param_name(NULL, 1, 0));
    assert_int_equal(sparse_net_param_trainable(net, 1, 99), 0);
    assert_int_equal(sparse_net_weight_count(NULL), 0);
    assert_int_equal(sparse_net_nonzero_count(NULL), 0);

    size_t id = 0;
    EXPECT_ERROR(sparse_net_find_node(NULL, "c1", &id), SPARSE_EINVAL, "sparse_net_find_node", "'net'");
    EXPECT_ERROR(sparse_net_find_node(net, NULL, &id), SPARSE_EINVAL, "sparse_net_find_node", "'name'");
    EXPECT_ERROR(sparse_net_find_node(net, "c1", NULL), SPARSE_EINVAL, "sparse_net_find_node", "'id'");
    EXPECT_ERROR(sparse_net_find_node(net, "c9", &id), SPARSE_ENOTFOUND, "no node named 'c9'");
    EXPECT_ERROR(sparse_net_node_kind(NULL, 0), SPARSE_EINVAL, "sparse_net_node_kind: no node 0");
    EXPECT_ERROR(sparse_net_node_kind(net, nn), SPARSE_ERANGE, "sparse_net_node_kind: no node");
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    EXPECT_ERROR(sparse_net_node_info(net, nn, &info), SPARSE_ERANGE, "sparse_net_node_info: no node");
    EXPECT_ERROR(sparse_net_node_shape(net, nn, NULL, NULL, NULL), SPARSE_ERANGE, "sparse_net_node_shape");
    assert_int_equal(sparse_net_node_shape(net, 0, NULL, NULL, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_find_node(net, "c1", &id), SPARSE_OK);
    EXPECT_ERROR(sparse_net_node_input(net, nn, 0, &id), SPARSE_ERANGE, "sparse_net_node_input: no node");
    EXPECT_ERROR(sparse_net_node_input(net, id, 0, NULL), SPARSE_EINVAL, "'input_id'");
    EXPECT_ERROR(sparse_net_node_input(net, id, 1, &id), SPARSE_ERANGE, "node 'c1' has 1 inputs");

    sparse_tensor *t = NULL;
    EXPECT_ERROR(sparse_net_param(NULL, net, id, "weight"), SPARSE_EINVAL, "sparse_net_param", "'out'");
    EXPECT_ERROR(sparse_net_param(&t, NULL, id, "weight"), SPARSE_EINVAL, "sparse_net_param: NULL argument");
    EXPECT_ERROR(sparse_net_param(&t, net, id, NULL), SPARSE_EINVAL, "sparse_net_param: NULL argument");
    EXPECT_ERROR(sparse_net_param(&t, net, nn, "weight"), SPARSE_ERANGE, "sparse_net_param: no node");
    EXPECT_ERROR(sparse_net_param(&t, net, id, "gamma"), SPARSE_ENOTFOUND, "node 'c1' has no parameter 'gamma'");
    EXPECT_ERROR(sparse_net_param_grad(NULL, net, id, "weight"), SPARSE_EINVAL, "sparse_net_param_grad");
    EXPECT_ERROR(sparse_net_param_grad(&t, net, id, "mu"), SPARSE_ENOTFOUND, "sparse_net_param_grad", "'mu'");
    assert_null(t);

    /* masks: the weight's shape or nothing; NULL removes the mask */
    size_t bad[4] = {3, 1, 2, 3}, wrong_count[1] = {17};
    assert_int_equal(sparse_tensor_create(&t, 4, bad), SPARSE_OK);
    EXPECT_ERROR(sparse_net_set_mask(net, id, "weight", t), SPARSE_ESHAPE, "mask shape differs from 'c1.weight'");
    sparse_tensor_free(t);
    assert_int_equal(sparse_tensor_create(&t, 1, wrong_count), SPARSE_OK);
    EXPECT_ERROR(sparse_net_set_mask(net, id, "weight", t), SPARSE_ESHAPE, "mask of 17 values for 'c1.weight' of 18");
    sparse_tensor_free(t);
    EXPECT_ERROR(sparse_net_set_mask(net, id, "nope", NULL), SPARSE_ENOTFOUND, "sparse_net_set_mask", "'nope'");
    const size_t before = sparse_net_nonzero_count(net);
    size_t shape[4] = {2, 1, 3, 3};
    assert_int_equal(sparse_tensor_create(&t, 4, shape), SPARSE_OK);
    assert_int_equal(sparse_tensor_fill(t, 0.0f), SPARSE_OK);
    assert_int_equal(sparse_net_set_mask(net, id, "weight", t), SPARSE_OK);
    assert_int_equal(sparse_net_nonzero_count(net), before - 18);
    assert_int_equal(sparse_net_set_mask(net, id, "weight", NULL), SPARSE_OK);
    sparse_tensor_free(t);

    /* forward and backward out of order or with bad tensors */
    int32_t labels[2] = {0, 1};
    EXPECT_ERROR(sparse_net_backward(NULL, labels, 0.0f, NULL), SPARSE_EINVAL, "sparse_net_backward", "'net'");
    EXPECT_ERROR(sparse_net_backward(net, NULL, 0.0f, NULL), SPARSE_EINVAL, "sparse_net_backward", "'labels'");
    EXPECT_ERROR(sparse_net_backward(net, labels, 0.0f, NULL), SPARSE_EINVAL, "no forward pass to differentiate");
    EXPECT_ERROR(sparse_net_input_grad(NULL, net), SPARSE_EINVAL, "sparse_net_input_grad", "'out'");
    EXPECT_ERROR(sparse_net_input_grad(&t, NULL), SPARSE_EINVAL, "sparse_net_input_grad", "'net'");
    EXPECT_ERROR(sparse_net_input_grad(&t, net), SPARSE_EINVAL, "sparse_net_input_grad: no backward pass yet");
    EXPECT_ERROR(sparse_net_node_output(NULL, net, 0), SPARSE_EINVAL, "sparse_net_node_output", "'out'");
    EXPECT_ERROR(sparse_net_node_output(&t, NULL, 0), SPARSE_EINVAL, "sparse_net_node_output", "'net'");
    EXPECT_ERROR(sparse_net_node_output(&t, net, nn), SPARSE_ERANGE, "sparse_net_node_output: no node");
    EXPECT_ERROR(sparse_net_node_output(&t, net, 0), SPARSE_EINVAL, "sparse_net_node_output: no forward pass yet");
    sparse_tensor *x = NULL, *logits = NULL;
    EXPECT_ERROR(sparse_net_forward(NULL, x, 0, NULL), SPARSE_EINVAL, "sparse_net_forward", "'net'");
    EXPECT_ERROR(sparse_net_forward(net, NULL, 0, NULL), SPARSE_EINVAL, "sparse_net_forward", "'x'");
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 2, 6, 6), SPARSE_OK);
    EXPECT_ERROR(sparse_net_forward(net, x, 0, NULL), SPARSE_ESHAPE, "sparse_net_forward: input must be (N, 1, 6, 6)");
    sparse_tensor_free(x);
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 1, 6, 5), SPARSE_OK);
    EXPECT_ERROR(sparse_net_forward(net, x, 0, NULL), SPARSE_ESHAPE, "input must be (N, 1, 6, 6)");
    sparse_tensor_free(x);
    assert_int_equal(sparse_tensor_create_nchw(&x, 5, 1, 6, 6), SPARSE_OK);
    EXPECT_ERROR(sparse_net_forward(net, x, 0, NULL), SPARSE_ESHAPE, "batch of 5 images, the network was built for 4");
    sparse_tensor_free(x);
    sparse_tensor *big = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&big, 2, 2, 6, 6), SPARSE_OK);
    assert_int_equal(sparse_tensor_slice(&x, big, 1, 0, 1), SPARSE_OK); /* (2, 1, 6, 6), not contiguous */
    EXPECT_ERROR(sparse_net_forward(net, x, 0, NULL), SPARSE_EINVAL, "sparse_net_forward: input must be contiguous");
    sparse_tensor_free(x);
    sparse_tensor_free(big);
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 1, 6, 6), SPARSE_OK);
    size_t lshape[2] = {2, 4};
    assert_int_equal(sparse_tensor_create(&logits, 2, lshape), SPARSE_OK);
    EXPECT_ERROR(sparse_net_forward(net, x, 0, logits), SPARSE_ESHAPE, "logits must be a contiguous (2, 3) tensor");
    sparse_tensor_free(logits);
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    EXPECT_ERROR(sparse_net_backward(net, labels, 1.0f, NULL), SPARSE_ERANGE, "label smoothing 1 outside [0, 1)");
    EXPECT_ERROR(sparse_net_backward(net, labels, -0.5f, NULL), SPARSE_ERANGE, "label smoothing -0.5");
    EXPECT_ERROR(sparse_net_backward(net, labels, NAN, NULL), SPARSE_ERANGE, "label smoothing nan");
    sparse_tensor_free(x);
    sparse_net_free(net);
}

/* sparse_net_train refuses options out of range and data of another
 * shape, class count or size, before touching the weights. */
void test_train_api_errors(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 4, 4]\nclasses: 3\nlayers:\n  - {type: fc, name: out, units: 3}\n";
    sparse_net *net = net_of(yaml, 4);
    float img[4 * 16], wrong_img[4 * 9] = {0};
    for (size_t j = 0; j < 4 * 16; j++)
        img[j] = (float)(j % 7) / 7.0f;
    const int32_t lab[4] = {0, 1, 2, 1}, lab5[4] = {0, 1, 4, 1};
    sparse_dataset *ds = NULL, *wrong = NULL, *many = NULL, *empty = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 4, 1, 4, 4, img, lab, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_from_memory(&wrong, 4, 1, 3, 3, wrong_img, lab, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_from_memory(&many, 4, 1, 4, 4, img, lab5, 5), SPARSE_OK);
    assert_int_equal(sparse_dataset_from_memory(&empty, 0, 1, 4, 4, NULL, NULL, 3), SPARSE_OK);
    sparse_tensor *w = NULL;
    assert_int_equal(sparse_net_param(&w, net, 1, "weight"), SPARSE_OK);
    const float w0 = sparse_tensor_data(w)[5];

    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 1;
    EXPECT_NULL_ARG(sparse_net_train(NULL, ds, &o, NULL), "sparse_net_train", "net");
    EXPECT_NULL_ARG(sparse_net_train(net, NULL, &o, NULL), "sparse_net_train", "train");
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    res.version = 9;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, &res), SPARSE_EVERSION, "sparse_net_train");
    o.batch_size = 0;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, "batch size 0, the network allows 1..4");
    o.batch_size = 5;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, "batch size 5");
    o.batch_size = 2;
    static const char invalid[] = "invalid options (lr > 0";
    o.lr = 0;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.lr = INFINITY;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.lr = 1e-3;
    o.weight_decay = -1;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.weight_decay = 0;
    o.label_smoothing = 1.0f;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.label_smoothing = NAN;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.label_smoothing = 0;
    o.optimizer = 2;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.optimizer = -1;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.optimizer = SPARSE_OPTIM_SGD;
    o.schedule = 4;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.schedule = -1;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, invalid);
    o.schedule = SPARSE_LR_STEP;
    o.max_shift = 4;
    EXPECT_ERROR(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE, "max_shift 4 must be below the image size 4x4");
    o.max_shift = 0;
    EXPECT_ERROR(sparse_net_train(net, wrong, &o, NULL), SPARSE_ESHAPE,
                 "sparse_net_train: images are 1x3x3, the architecture expects 1x4x4");
    EXPECT_ERROR(sparse_net_train(net, many, &o, NULL), SPARSE_ERANGE, "the data set has 5 classes, the architecture 3");
    EXPECT_ERROR(sparse_net_train(net, empty, &o, NULL), SPARSE_EEMPTY, "sparse_net_train: the data set is empty");
    assert_true(sparse_tensor_data(w)[5] == w0); /* nothing trained */

    double acc = -1;
    EXPECT_NULL_ARG(sparse_net_evaluate(NULL, ds, &acc), "sparse_net_evaluate", "net");
    EXPECT_NULL_ARG(sparse_net_evaluate(net, NULL, &acc), "sparse_net_evaluate", "ds");
    EXPECT_NULL_ARG(sparse_net_evaluate(net, ds, NULL), "sparse_net_evaluate", "accuracy");
    EXPECT_ERROR(sparse_net_evaluate(net, wrong, &acc), SPARSE_ESHAPE, "sparse_net_evaluate: images are 1x3x3");
    /* SGD with the step schedule trains: the weights move */
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    assert_true(sparse_tensor_data(w)[5] != w0);
    sparse_tensor_free(w);
    sparse_dataset_free(ds);
    sparse_dataset_free(wrong);
    sparse_dataset_free(many);
    sparse_dataset_free(empty);
    sparse_net_free(net);
}

/* The error a failing hook reports. */
static int hook_error(void)
{
    return sparse__error(SPARSE_EIO, "a test hook failed");
}

/* A hook that copies its input (the ReLU's input is >= 0 where it
 * matters not) and fails on its nth call. */
static int failing_hook(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    (void)net;
    (void)id;
    int *left = user;
    if (--*left <= 0)
        return hook_error();
    for (size_t j = 0; j < ctx->batch; j++)
        ctx->out[j] = ctx->in[j];
    return SPARSE_OK;
}

/* Hooks while the network is profiled: their time is the node's; a hook's
 * failure stops the pass with its status, naming the node and the pass,
 * and so do the argument checks of the hook and profile API. */
void test_hooks_profiled_and_failing(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 1, 1]\nclasses: 2\nlayers:\n  - {type: relu, name: r}\n"
                               "  - {type: fc, name: out, units: 2}\n";
    sparse_net *net = net_of(yaml, 2);
    size_t r = 0;
    assert_int_equal(sparse_net_find_node(net, "r", &r), SPARSE_OK);
    int left = 3; /* forward, backward, then the second forward fails */
    EXPECT_NULL_ARG(sparse_exp_net_set_hooks(NULL, r, failing_hook, failing_hook, &left), "sparse_exp_net_set_hooks",
                    "net");
    EXPECT_ERROR(sparse_exp_net_set_hooks(net, 0, failing_hook, NULL, &left), SPARSE_ERANGE,
                 "sparse_exp_net_set_hooks");
    EXPECT_ERROR(sparse_exp_net_set_hooks(net, 9, failing_hook, NULL, &left), SPARSE_ERANGE,
                 "sparse_exp_net_set_hooks");
    assert_int_equal(sparse_exp_net_set_hooks(net, r, failing_hook, failing_hook, &left), SPARSE_OK);
    EXPECT_NULL_ARG(sparse_exp_net_profile(NULL, 1), "sparse_exp_net_profile", "net");
    assert_int_equal(sparse_exp_net_profile(net, 1), SPARSE_OK);
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 1, 1, 1), SPARSE_OK);
    sparse_tensor_data(x)[0] = 1.0f;
    sparse_tensor_data(x)[1] = -2.0f;
    const int32_t labels[2] = {0, 1};
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_backward(net, labels, 0.0f, NULL), SPARSE_OK);
    double fwd = -1, bwd = -1;
    EXPECT_NULL_ARG(sparse_exp_net_profile_node(NULL, r, &fwd, &bwd), "sparse_exp_net_profile_node", "net");
    EXPECT_ERROR(sparse_exp_net_profile_node(net, 9, &fwd, &bwd), SPARSE_ERANGE, "sparse_exp_net_profile_node");
    assert_int_equal(sparse_exp_net_profile_node(net, r, &fwd, NULL), SPARSE_OK);
    assert_int_equal(sparse_exp_net_profile_node(net, r, NULL, &bwd), SPARSE_OK);
    assert_true(fwd > 0.0 && bwd > 0.0); /* the hooks' time */
    sparse_exp_profile prof = SPARSE_EXP_PROFILE_INIT;
    EXPECT_NULL_ARG(sparse_exp_net_profile_get(NULL, &prof), "sparse_exp_net_profile_get", "net");
    assert_int_equal(sparse_exp_net_profile_get(net, &prof), SPARSE_OK);
    assert_int_equal(prof.steps, 1);
    EXPECT_ERROR(sparse_net_forward(net, x, 1, NULL), SPARSE_EIO, "node 'r': forward hook", "a test hook failed");
    left = 2; /* forward passes, backward fails */
    assert_int_equal(sparse_net_forward(net, x, 1, NULL), SPARSE_OK);
    EXPECT_ERROR(sparse_net_backward(net, labels, 0.0f, NULL), SPARSE_EIO, "node 'r': backward hook");
    assert_int_equal(sparse_exp_net_profile(net, 0), SPARSE_OK);
    sparse_tensor_free(x);
    sparse_net_free(net);
}
