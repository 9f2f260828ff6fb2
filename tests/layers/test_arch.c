/* Layers: the layer kinds and the architecture files (YAML and JSON):
 * what the reader and the planner refuse, naming file, line, layer and
 * why; round trips and the construction API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sparse/sparse.h>

#include "fixture.h"

extern const struct CMUnitTest arch_tests[];
extern const size_t arch_test_count;

/* ---- Layer kinds ---- */

/* The kind table's "has weights" agrees with the parameters the graph
 * builder gives every node of the all-layers example. */
static void test_layer_kinds(void **state)
{
    (void)state;
    static const char *const names[SPARSE_LAYER_KIND_COUNT_] = {
        "input", "conv2d", "downsampled_conv2d", "separable_conv2d", "depthwise_conv2d",
        "input_downsample", "batchnorm", "relu", "maxpool", "avgpool", "fc", "residual", "merge"};
    for (int k = 0; k < SPARSE_LAYER_KIND_COUNT_; k++) {
        assert_string_equal(sparse_layer_kind_name(k), names[k]);
        assert_int_equal(sparse_layer_kind_has_weights(k),
                         k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_DEPTHWISE_CONV2D || k == SPARSE_LAYER_FC);
    }
    assert_string_equal(sparse_layer_kind_name(-1), "unknown");
    assert_string_equal(sparse_layer_kind_name(SPARSE_LAYER_KIND_COUNT_), "unknown");
    assert_int_equal(sparse_layer_kind_has_weights(-1), 0);
    assert_int_equal(sparse_layer_kind_has_weights(SPARSE_LAYER_KIND_COUNT_), 0);
    char *y = read_example("all-layers.yaml");
    sparse_net *net = make_net(y, 2, 0);
    free(y);
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        int has_weight = 0;
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++)
            has_weight |= !strcmp(sparse_net_param_name(net, id, k), "weight");
        assert_int_equal(sparse_layer_kind_has_weights(sparse_net_node_kind(net, id)), has_weight);
    }
    sparse_net_free(net);
}

/* ---- Architecture files ---- */

static void expect_yaml_error(const char *yaml, int code, const char *n1, const char *n2, const char *n3)
{
    const char *needles[3] = {n1, n2, n3};
    sparse_arch *a = NULL;
    int rc = sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "bad.yaml");
    if (rc == SPARSE_OK) {
        rc = sparse_arch_validate(a);
        sparse_net *net = NULL;
        assert_int_equal(sparse_net_create(&net, a, 2, 0), rc);
        assert_null(net);
        sparse_arch_free(a);
    } else {
        assert_null(a);
    }
    const char *msg = sparse_last_error();
    if (rc != code)
        print_message("got %d: %s\n", rc, msg);
    assert_int_equal(rc, code);
    for (int i = 0; i < 3; i++) {
        if (!needles[i])
            continue;
        if (!strstr(msg, needles[i]))
            print_message("'%s' not in: %s\n", needles[i] ? needles[i] : "?", msg ? msg : "?");
        assert_non_null(strstr(msg, needles[i]));
    }
}

static void test_yaml_errors(void **state)
{
    (void)state;
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: conv2d, name: c1, filters: 2, kernel: 3}\n"
                      "  - {type: conv3d, name: weird, filters: 2}\n",
                      SPARSE_EFORMAT, "bad.yaml:5", "weird", "conv3d");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - type: conv2d\n    name: c1\n    kernel: 3\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'c1'", "missing field 'filters'");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, kernel: 3}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'f'", "unknown key 'kernel'");
    expect_yaml_error("input: [1, 4, 4]\nclasses: 3\nlayers:\n  - {type: conv2d, name: c1, filters: 2, kernel: 3, "
                      "padding: valid}\n  - {type: conv2d, name: big, filters: 2, kernel: 5, padding: valid}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:5", "'big'", "larger than");
    expect_yaml_error("input: [1, 4, 4]\nclasses: 3\nlayers:\n  - {type: maxpool, name: p, size: 2}\n"
                      "  - {type: maxpool, name: p2, size: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:5", "'p2'", "empty");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                      "  - {type: conv2d, name: b, filters: 3, kernel: 3}\n  - {type: merge, name: m, input: [a, b]}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "bad.yaml:6", "'m'", "cannot sum");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, input: nowhere, units: 3}\n",
                      SPARSE_ENOTFOUND, "bad.yaml:4", "'f'", "nowhere");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 4}\n", SPARSE_ESHAPE,
                      "bad.yaml:4", "'f'", "3 values");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayer:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT,
                      "bad.yaml:3", "unknown key 'layer'", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3\n", SPARSE_EFORMAT,
                      "bad.yaml", "syntax", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: -3}\n", SPARSE_ERANGE,
                      "bad.yaml:4:32: layer 'f' (fc): units", "-3", NULL);
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, units: 4}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "'f'", "'units' appears twice");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 3, bias: maybe}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "bias", "not true or false");
    expect_yaml_error("input: [1, 8, 8]\nclasses: 3\nlayers:\n  - &x {type: fc, name: f, units: 3}\n",
                      SPARSE_EFORMAT, "bad.yaml:4", "anchors", NULL);
    /* From a file: the path is in the message. */
    char path[] = "/tmp/sparse-arch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "input: [1, 8, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3}\n  - {type: pool, name: q}\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    sparse_arch *a = NULL;
    assert_int_equal(sparse_arch_load_yaml(&a, path), SPARSE_EFORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s:5:12: layer 'q'", path);
    assert_non_null(strstr(sparse_last_error(), want));
    unlink(path);
}

/* More architectures the planner or the reader refuses, each naming file,
 * line, layer and why. */
static void test_yaml_errors_more(void **state)
{
    (void)state;
#define IN8 "input: [2, 8, 8]\nclasses: 3\nlayers:\n"
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3, input: [a, input]}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:5", "'b'", "a conv2d layer takes one input, 2 given");
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3, input: [b]}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:4", "'a'", "input 'b' is defined later");
    expect_yaml_error(IN8 "  - {type: input_downsample, name: d, size: 1, depth: 3}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'d'", "depth rate 3 is larger than the 2 channels of 'input'", NULL);
    expect_yaml_error(IN8 "  - {type: avgpool, name: p, size: 9}\n  - {type: fc, units: 3}\n", SPARSE_ESHAPE, "'p'",
                      "window 9x9 is larger than its 8x8 input", NULL);
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: conv2d, name: b, filters: 2, kernel: 3}\n"
                          "  - {type: merge, name: m, input: [a, b, a]}\n  - {type: fc, units: 3}\n",
                      SPARSE_EINVAL, "bad.yaml:6", "'m'", "input 'a' is listed twice");
    expect_yaml_error(IN8 "  - {type: conv2d, name: a, filters: 2, kernel: 3}\n"
                          "  - {type: maxpool, name: p, size: 2}\n"
                          "  - {type: merge, name: m, mode: concat, input: [a, p]}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'m'", "cannot concatenate 'a' (8x8) and 'p' (4x4): spatial sizes differ", NULL);
    expect_yaml_error(IN8 "  - {type: conv2d, name: c, filters: 4, kernel: 4, padding: valid}\n"
                          "  - {type: residual, name: r, input: [input]}\n  - {type: fc, units: 3}\n",
                      SPARSE_ESHAPE, "'r'", "cannot project 'input' (2x8x8) onto 'c' (4x5x5)", NULL);
    expect_yaml_error("input: [2, 16, 16]\nclasses: 3\nlayers:\n  - {type: fc, name: f, units: 10000000}\n"
                      "  - {type: fc, units: 3}\n",
                      SPARSE_ERANGE, "'f'", "512 x 10000000 weights is too many", NULL);
    expect_yaml_error("input: [2, 8]\nclasses: 3\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT, "bad.yaml:1",
                      "input", NULL);
    expect_yaml_error("classes: 3\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT, "input", NULL, NULL);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\n", SPARSE_EFORMAT, "layers", NULL, NULL);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\nlayers: {a: 1}\n", SPARSE_EFORMAT, "bad.yaml:3", "layers", NULL);
    expect_yaml_error(IN8 "  - [fc, 3]\n", SPARSE_EFORMAT, "bad.yaml:4", NULL, NULL);
    expect_yaml_error(IN8 "  - {name: f, units: 3}\n", SPARSE_EFORMAT, "bad.yaml:4", "'f'", "type");
    expect_yaml_error(IN8 "  - {type: fc, name: f, units: 3, input: {a: 1}}\n", SPARSE_EFORMAT, "bad.yaml:4", "'f'",
                      "input");
    expect_yaml_error(IN8 "  - {type: merge, name: m, input: [a, b, c, d, e, f, g, h, i]}\n", SPARSE_EFORMAT,
                      "bad.yaml:4:35", "'m'", "input: 9 inputs, at most 8");
    /* the aliases of common names: dense and linear are fc, conv is conv2d */
    sparse_arch *al = parse(IN8 "  - {type: conv, name: c, filters: 3, kernel: 3}\n  - {type: dense, name: d, units: 5}\n"
                                "  - {type: linear, name: l, units: 3}\n");
    sparse_layer_spec sp = SPARSE_LAYER_SPEC_INIT;
    const int kinds[3] = {SPARSE_LAYER_CONV2D, SPARSE_LAYER_FC, SPARSE_LAYER_FC};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sparse_arch_layer(al, i, &sp), SPARSE_OK);
        assert_int_equal(sp.kind, kinds[i]);
    }
    sparse_arch_free(al);
    expect_yaml_error("input: [2, 8, 8]\nclasses: 3\nname: [x]\nlayers:\n  - {type: fc, units: 3}\n", SPARSE_EFORMAT,
                      "bad.yaml:3", "name", NULL);
#undef IN8
}

static void test_arch_roundtrip_and_api(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_arch *a = parse(y);
    free(y);
    char *yaml = NULL, *json = NULL, *json2 = NULL;
    assert_int_equal(sparse_arch_to_yaml(&yaml, a), SPARSE_OK);
    assert_int_equal(sparse_arch_to_json(&json, a), SPARSE_OK);
    sparse_arch *b = NULL, *c = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&b, yaml, strlen(yaml), NULL), SPARSE_OK);
    assert_int_equal(sparse_arch_parse_yaml(&c, json, strlen(json), NULL), SPARSE_OK);
    assert_int_equal(sparse_arch_to_json(&json2, b), SPARSE_OK);
    assert_string_equal(json, json2);
    free(json2);
    assert_int_equal(sparse_arch_to_json(&json2, c), SPARSE_OK);
    assert_string_equal(json, json2);

    /* Programmatic construction equals the parsed tiny-cnn. */
    sparse_arch *p = NULL;
    assert_int_equal(sparse_arch_create(&p, 1, 28, 28, 10), SPARSE_OK);
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.kind = SPARSE_LAYER_CONV2D;
    s.filters = 8;
    s.kernel = 3;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    assert_int_equal(sparse_layer_spec_init(&s, SPARSE_LAYER_SPEC_VERSION), SPARSE_OK);
    s.kind = SPARSE_LAYER_MAXPOOL;
    s.size = 2;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    s.kind = SPARSE_LAYER_FC;
    s.units = 10;
    assert_int_equal(sparse_arch_add_layer(p, &s), SPARSE_OK);
    assert_int_equal(sparse_arch_validate(p), SPARSE_OK);
    assert_int_equal(sparse_arch_layer(p, 0, &s), SPARSE_OK);
    assert_string_equal(s.name, "conv2d_1");
    s.name = "conv2d_3"; /* duplicates the generated name of layer 3 */
    assert_int_equal(sparse_arch_set_layer(p, 0, &s), SPARSE_OK);
    s.name = "fc_3";
    assert_int_equal(sparse_arch_set_layer(p, 0, &s), SPARSE_EINVAL);
    assert_int_equal(sparse_arch_remove_layer(p, 1), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(p), 2);

    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, a, 2, 0), SPARSE_OK);
    size_t id;
    assert_int_equal(sparse_net_find_node(net, "b2c1/reduce", &id), SPARSE_OK);
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    assert_int_equal(sparse_net_node_info(net, id, &info), SPARSE_OK);
    assert_int_equal(info.out_c, 4);
    assert_int_equal(info.kernel, 1);
    assert_int_equal(sparse_net_find_node(net, "b1c2/dw", &id), SPARSE_OK);
    assert_int_equal(sparse_net_node_kind(net, id), SPARSE_LAYER_DEPTHWISE_CONV2D);
    assert_int_equal(sparse_net_find_node(net, "merge", &id), SPARSE_OK);
    assert_int_equal(sparse_net_node_input_count(net, id), 3);
    assert_int_equal(sparse_net_find_node(net, "nope", &id), SPARSE_ENOTFOUND);
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, 1, "weight"), SPARSE_ENOTFOUND);
    assert_null(t);
    sparse_net_free(net);

    const char *examples[] = {"tiny-cnn.yaml", "lenet5.yaml", "all-layers.yaml"};
    const size_t params[] = {9098, 431080, 0};
    for (int e = 0; e < 3; e++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, examples[e]);
        sparse_arch *ex = NULL;
        assert_int_equal(sparse_arch_load_yaml(&ex, path), SPARSE_OK);
        assert_int_equal(sparse_arch_validate(ex), SPARSE_OK);
        assert_int_equal(sparse_net_create(&net, ex, 2, 0), SPARSE_OK);
        if (params[e])
            assert_int_equal(sparse_net_weight_count(net), params[e]);
        sparse_net_free(net);
        sparse_arch_free(ex);
    }
    sparse_arch *tiny = NULL;
    char *ty = read_example("tiny-cnn.yaml");
    tiny = parse(ty);
    free(ty);
    assert_int_equal(sparse_net_create(&net, tiny, 1, 0), SPARSE_OK);
    assert_int_equal(sparse_net_weight_count(net), 8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 16 * 49 + 10);
    sparse_net_free(net);
    sparse_arch_free(tiny);

    free(yaml);
    free(json);
    free(json2);
    sparse_arch_free(a);
    sparse_arch_free(b);
    sparse_arch_free(c);
    sparse_arch_free(p);
    sparse_arch_free(NULL);
    sparse_net_free(NULL);
}

const struct CMUnitTest arch_tests[] = {
    cmocka_unit_test(test_layer_kinds),
    cmocka_unit_test(test_yaml_errors),
    cmocka_unit_test(test_yaml_errors_more),
    cmocka_unit_test(test_arch_roundtrip_and_api),
};
const size_t arch_test_count = sizeof arch_tests / sizeof arch_tests[0];
