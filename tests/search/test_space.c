/* The search config (parse, resolve, errors), the search space's random
 * points and morphs, and weight inheritance between trials: everything of
 * the search that runs without training. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/internal.h"
#include "search/search_internal.h"
#include "sparse/sparse.h"
#include "tiny_run.h"
#include "../expect.h"

extern const struct CMUnitTest space_tests[];
extern const size_t space_test_count;

/* Every feature of Table 5 on, for the space/morph tests. */
static const char *wide_config =
    "data: mnist\n"
    "space:\n"
    "  blocks: [1, 3]\n"
    "  layers_per_block: [1, 3]\n"
    "  layer_types: [conv2d, separable_conv2d, downsampled_conv2d]\n"
    "  kernel: [2, 5]\n"
    "  filters: [1, 24]\n"
    "  pool: [1, 2]\n"
    "  input_downsample: [false, true]\n"
    "  input_rate: [2, 3]\n"
    "  residual: [false, true]\n"
    "  branches: [false, true]\n"
    "  merge_concat: [false, true]\n"
    "  fc_layers: [0, 1]\n"
    "  fc_weights: [100, 20000]\n"
    "  pruning: [none, spvd, bc]\n"
    "  shift: [0, 2]\n";


/* Resolved YAML parses back to the same config. */
static void roundtrip(const char *text, size_t trials, const char *needle)
{
    sparse_search_config *c = parse_config(text), *c2;
    char *y1, *y2;
    assert_int_equal(sparse_search_config_to_yaml(&y1, c), SPARSE_OK);
    assert_int_equal(sparse_search_config_parse(&c2, y1, strlen(y1), "resolved.yaml"), SPARSE_OK);
    assert_int_equal(sparse_search_config_to_yaml(&y2, c2), SPARSE_OK);
    assert_string_equal(y1, y2);
    assert_int_equal(sparse_search_config_trial_count(c), trials);
    if (!strstr(y1, needle))
        fprintf(stderr, "'%s' not in:\n%s", needle, y1);
    assert_non_null(strstr(y1, needle));
    free(y1);
    free(y2);
    sparse_search_config_free(c);
    sparse_search_config_free(c2);
}

static void test_config_roundtrip(void **state)
{
    (void)state;
    roundtrip(wide_config, 40, "shift: [0, 2]");
    roundtrip("data: mnist\nfinal: {trials: 5, shift: 1, fill: true, boxes: [{ms_bytes: 3072, wm_bytes: 2048}, {wm_bytes: 1024}]}\n",
              45, "final:\n  trials: 5\n  epochs: 20\n  shift: 1\n  fill: true\n  boxes:\n"
                  "    - {ms_bytes: 3072, wm_bytes: 2048}\n    - {wm_bytes: 1024}\n");
    roundtrip("data: mnist\nworkers: 3\n", 40, "threads: 2\nworkers: 3\n");
    roundtrip("data: mnist\nlambda: {low: [0.6, 0, 0], high: [1, 0.2, 0.2], broad: 0.25}\n", 40,
              "lambda:\n  low: [0.6, 0, 0]\n  high: [1, 0.2, 0.2]\n  broad: 0.25\n");
    roundtrip("data: {source: c.csv, shape: [32, 32, 3], layout: hwc, label_column: 3072}\n", 40,
              "  shape: [32, 32, 3]\n  layout: hwc\n  label_column: 3072\n");
    roundtrip("data: mnist\nplot: {references: [{label: \"paper \\\"T3\\\"\", accuracy: 0.9864, ms_bytes: 2836.48,"
              " wm_bytes: 2007.04}, {label: by hand, accuracy: 0.9717, wm_bytes: 802}]}\n",
              40, "plot:\n  references:\n    - {label: \"paper \\\"T3\\\"\", accuracy: 0.9864, ms_bytes: 2836.48, "
                  "wm_bytes: 2007.04}\n    - {label: \"by hand\", accuracy: 0.9717, wm_bytes: 802}\n");
    /* No broad share, no broad key: earlier runs' config.yaml resume unchanged. */
    sparse_search_config *boxed = parse_config("data: mnist\nlambda: {low: [0.6, 0, 0], high: [1, 0.2, 0.2]}\n");
    char *boxed_yaml;
    assert_int_equal(sparse_search_config_to_yaml(&boxed_yaml, boxed), SPARSE_OK);
    assert_non_null(strstr(boxed_yaml, "  high: [1, 0.2, 0.2]\n"));
    assert_null(strstr(boxed_yaml, "broad"));
    free(boxed_yaml);
    sparse_search_config_free(boxed);
    /* No references, no plot key: the resolved config of every earlier run. */
    sparse_search_config *plain = parse_config("data: mnist\nplot: {references: []}\n");
    char *yaml;
    assert_int_equal(sparse_search_config_to_yaml(&yaml, plain), SPARSE_OK);
    assert_null(strstr(yaml, "plot"));
    free(yaml);
    sparse_search_config_free(plain);
    sparse_search_config_free(NULL);
}

static void expect_error(const char *text, int code, const char *needle)
{
    sparse_search_config *c = (sparse_search_config *)0x1;
    int rc = sparse_search_config_parse(&c, text, strlen(text), "bad.yaml");
    if (rc != code || !strstr(sparse_last_error(), needle))
        fprintf(stderr, "got %d '%s', expected %d '%s'\n", rc, sparse_last_error(), code, needle);
    assert_int_equal(rc, code);
    assert_null(c);
    assert_non_null(strstr(sparse_last_error(), needle));
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("data: mnist\nseeed: 3\n", SPARSE_EFORMAT, "bad.yaml:2:1: config: unknown key 'seeed' (allowed: data, seed");
    expect_error("data: mnist\nwm_model: 7\n", SPARSE_ERANGE, "bad.yaml:2:11: wm_model: 7 is outside the allowed range 5..6");
    expect_error("data: mnist\nspace:\n  filters: [8, 4]\n", SPARSE_ERANGE, "bad.yaml:3:12: space.filters: low 8 is above high 4");
    expect_error("data: mnist\nspace:\n  layer_types: [conv3d]\n", SPARSE_ERANGE,
                 "unknown value 'conv3d' (allowed: conv2d, separable_conv2d, downsampled_conv2d)");
    expect_error("data: mnist\nspace:\n  kernel: [1.5, 3]\n", SPARSE_EFORMAT, "space.kernel: bounds must be integers");
    expect_error("data: mnist\nstages: [{trials: 3}]\n", SPARSE_EFORMAT, "stages: expected a list of three");
    expect_error("seed: 1\n", SPARSE_EFORMAT, "data: missing");
    expect_error("data: mnist\nbudgets: {ms_bytes: -3}\n", SPARSE_ERANGE, "budgets.ms_bytes");
    expect_error("data: [mnist\n", SPARSE_EFORMAT, "bad.yaml:");
    expect_error("data: mnist\nrandom_fill: [0.5, 2]\n", SPARSE_ERANGE, "random_fill");
    expect_error("data: mnist\nspace:\n  shift: [0, 9]\n", SPARSE_ERANGE, "space.shift");
    expect_error("data: mnist\nworkers: 0\n", SPARSE_ERANGE, "bad.yaml:2:10: workers: 0 is outside the allowed range 1..64");
    expect_error("data: mnist\nfinal: {trials: 2, epoch: 3}\n", SPARSE_EFORMAT, "final: unknown key 'epoch'");
    expect_error("data: mnist\nfinal: {trials: 2, boxes: []}\n", SPARSE_EFORMAT, "final.boxes: expected a list of 1 to 8");
    expect_error("data: mnist\nfinal: {boxes: [{ms_bytes: 0}]}\n", SPARSE_ERANGE, "final.boxes[0].ms_bytes");
    expect_error("data: mnist\nplot: {refs: []}\n", SPARSE_EFORMAT, "bad.yaml:2:8: plot: unknown key 'refs' (allowed: references, accuracy)");
    expect_error("data: mnist\nplot: {references: {label: a}}\n", SPARSE_EFORMAT,
                 "bad.yaml:2:20: plot.references: expected a list of up to 32");
    expect_error("data: mnist\nplot:\n  references:\n    - {label: a, accuracy: 98.6, ms_bytes: 2000}\n", SPARSE_ERANGE,
                 "bad.yaml:4:28: plot.references[0].accuracy: 98.6 is outside the allowed range [0, 1]");
    expect_error("data: mnist\nplot: {references: [{accuracy: 0.9, ms_bytes: 2000}]}\n", SPARSE_EFORMAT,
                 "bad.yaml:2:21: plot.references[0].label: missing");
    expect_error("data: mnist\nplot: {references: [{label: a, ms_bytes: 2000}]}\n", SPARSE_EFORMAT,
                 "bad.yaml:2:21: plot.references[0].accuracy: missing");
    expect_error("data: mnist\nplot: {references: [{label: a, accuracy: 0.9}]}\n", SPARSE_EFORMAT,
                 "bad.yaml:2:21: plot.references[0]: expected ms_bytes, wm_bytes or both");
    expect_error("data: mnist\nplot: {references: [{label: a, accuracy: 0.9, wm_bytes: 0}]}\n", SPARSE_ERANGE,
                 "plot.references[0].wm_bytes");
    expect_error("data: mnist\nplot: {references: [{label: a, accuracy: 0.9, colour: red}]}\n", SPARSE_EFORMAT,
                 "plot.references[0]: unknown key 'colour'");
    expect_error("data: mnist\nplot: {references: [{label: \"\", accuracy: 0.9, ms_bytes: 1}]}\n", SPARSE_ERANGE,
                 "plot.references[0].label: expected 1 to 63 characters");
}

/* More of the config's checks, each naming the key and its line. */
static void test_config_errors_more(void **state)
{
    (void)state;
    expect_error("data: mnist\nspace:\n  filters: [8]\n", SPARSE_EFORMAT, "bad.yaml:3:12: space.filters: expected [low, high]");
    expect_error("data: mnist\nspace:\n  filters: [4, x]\n", SPARSE_EFORMAT, "space.filters");
    expect_error("data: mnist\nspace:\n  layer_types: []\n", SPARSE_EFORMAT, "space.layer_types: the list is empty");
    expect_error("data: {source: mnist, val_count: 0}\n", SPARSE_ERANGE, "data.val_count: 0 is outside the allowed range");
    expect_error("data: {source: mnist, max_train: -1}\n", SPARSE_ERANGE, "data.max_train: -1 is outside");
    expect_error("data: {source: mnist, binary: maybe}\n", SPARSE_EFORMAT, "data.binary");
    expect_error("data: {val_count: 9}\n", SPARSE_EFORMAT, "data.source");
    expect_error("data: {source: x.csv, shape: [32, 32]}\n", SPARSE_EFORMAT,
                 "bad.yaml:1:30: data.shape: expected [height, width, channels]");
    expect_error("data: {source: x.csv, shape: [32, 0, 3]}\n", SPARSE_ERANGE,
                 "bad.yaml:1:35: data.shape[1] (width): 0 is outside the allowed range");
    expect_error("data: {source: x.csv, layout: rgb}\n", SPARSE_ERANGE,
                 "bad.yaml:1:31: data.layout: unknown value 'rgb' (allowed: chw, hwc)");
    expect_error("data: {source: x.csv, label_column: -1}\n", SPARSE_ERANGE, "data.label_column: -1 is outside");
    expect_error("data: mnist\nstages: [{trials: 1}, {trials: 1, rho: 2}, {trials: 1}]\n", SPARSE_ERANGE,
                 "rho: 2 is outside");
    expect_error("data: mnist\nstages: [{trials: 1}, {trials: -1}, {trials: 1}]\n", SPARSE_ERANGE, "trials: -1");
    expect_error("data: mnist\nstages: [{trials: 1, rh: 0}, {trials: 1}, {trials: 1}]\n", SPARSE_EFORMAT,
                 "stages[0]: unknown key 'rh'");
    expect_error("data: mnist\nlambda: box\n", SPARSE_ERANGE, "lambda: unknown value 'box' (allowed: dirichlet)");
    expect_error("data: mnist\nlambda: {low: [0, 0], high: [1, 1, 1]}\n", SPARSE_EFORMAT,
                 "lambda.low: expected three weights (accuracy, MS, WM)");
    expect_error("data: mnist\nlambda: {low: [0, 0, 0]}\n", SPARSE_EFORMAT, "lambda.high: expected three weights");
    expect_error("data: mnist\nlambda: {low: [1, 0, 0], high: [0.5, 1, 1]}\n", SPARSE_ERANGE,
                 "lambda: low[0] is above high[0]");
    expect_error("data: mnist\nlambda: {low: [0, 0, 0], high: [1, 1, 1], mid: 2}\n", SPARSE_EFORMAT,
                 "lambda: unknown key 'mid'");
    expect_error("data: mnist\nlambda: {low: [0, 0, 0], high: [1, 1, 1], broad: 1.5}\n", SPARSE_ERANGE,
                 "lambda.broad");
    expect_error("data: mnist\ntraining: {optimizer: rmsprop}\n", SPARSE_ERANGE, "training.optimizer: unknown value 'rmsprop'");
    expect_error("data: mnist\ntraining: {schedule: linear}\n", SPARSE_ERANGE, "training.schedule: unknown value 'linear'");
    expect_error("data: mnist\ntraining: {batch: 0}\n", SPARSE_ERANGE, "training.batch: 0 is outside");
    expect_error("data: mnist\nseed: -1\n", SPARSE_ERANGE, "bad.yaml:2:7: seed: -1 is outside the allowed range");
    expect_error("data: mnist\nthreads: 0\n", SPARSE_ERANGE, "threads: 0 is outside the allowed range 1..1024");
    expect_error("data: mnist\nplot: {references: [{label: "
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
                 "accuracy: 0.9, ms_bytes: 1}]}\n",
                 SPARSE_ERANGE, "plot.references[0].label: expected 1 to");
    sparse_search_config *c = NULL;
    EXPECT_NULL_ARG(sparse_search_config_parse(NULL, "data: mnist\n", 12, "x"), "sparse_search_config_parse", "out");
    EXPECT_NULL_ARG(sparse_search_config_parse(&c, NULL, 12, "x"), "sparse_search_config_parse", "text");
    EXPECT_NULL_ARG(sparse_search_config_load(NULL, "x.yaml"), "sparse_search_config_load", "out");
    EXPECT_NULL_ARG(sparse_search_config_load(&c, NULL), "sparse_search_config_load", "path");
    char *yaml = NULL;
    EXPECT_NULL_ARG(sparse_search_config_to_yaml(NULL, c), "sparse_search_config_to_yaml", "out");
    EXPECT_NULL_ARG(sparse_search_config_to_yaml(&yaml, NULL), "sparse_search_config_to_yaml", "c");
    assert_int_equal(sparse_search_config_trial_count(NULL), 0);
    /* a parse without a source name says "<config>" */
    assert_int_equal(sparse_search_config_parse(&c, "data: [mnist\n", 12, NULL), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "<config>"));
    assert_null(c);
}

static void test_random_points_build_valid_archs(void **state)
{
    (void)state;
    sparse_search_config *c = parse_config(wide_config);
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, c), SPARSE_OK);
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 5), SPARSE_OK);
    double point[512];
    int valid = 0, kinds_seen[SPARSE_LAYER_KIND_COUNT_] = {0};
    const int n = 300;
    for (int i = 0; i < n; i++) {
        assert_int_equal(sparse_space_sample(lay.space, rng, point), SPARSE_OK);
        sparse__genome g;
        sparse__genome_decode(&lay, c, point, &g);
        sparse_arch *arch;
        int rc = sparse__genome_arch(&g, 1, 28, 28, 10, &arch);
        if (rc) {
            /* Only shapes may make a random point impossible. */
            if (rc != SPARSE_ESHAPE)
                fprintf(stderr, "%s\n", sparse_last_error());
            assert_int_equal(rc, SPARSE_ESHAPE);
            continue;
        }
        valid++;
        for (size_t l = 0; l < sparse_arch_layer_count(arch); l++) {
            sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
            assert_int_equal(sparse_arch_layer(arch, l, &s), SPARSE_OK);
            kinds_seen[s.kind]++;
        }
        sparse_arch_free(arch);
    }
    assert_true(valid > n * 8 / 10);
    int kinds[] = {SPARSE_LAYER_CONV2D, SPARSE_LAYER_SEPARABLE_CONV2D, SPARSE_LAYER_DOWNSAMPLED_CONV2D,
                   SPARSE_LAYER_INPUT_DOWNSAMPLE, SPARSE_LAYER_BATCHNORM, SPARSE_LAYER_MAXPOOL,
                   SPARSE_LAYER_FC, SPARSE_LAYER_RESIDUAL, SPARSE_LAYER_MERGE};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        assert_true(kinds_seen[kinds[k]] > 0);
    sparse_rng_free(rng);
    sparse__layout_destroy(&lay);
    sparse_search_config_free(c);
}

/* A parsed config, its space and an RNG: what a morph needs. */
typedef struct morph_bench {
    sparse_search_config *c;
    sparse__layout lay;
    sparse_rng *rng;
} morph_bench;

static void morph_bench_open(morph_bench *m, const char *config, uint64_t seed)
{
    m->c = parse_config(config);
    assert_int_equal(sparse__layout_create(&m->lay, m->c), SPARSE_OK);
    assert_int_equal(sparse_rng_create(&m->rng, seed), SPARSE_OK);
}

static void morph_bench_close(morph_bench *m)
{
    sparse_rng_free(m->rng);
    sparse__layout_destroy(&m->lay);
    sparse_search_config_free(m->c);
}

static void test_morphs(void **state)
{
    (void)state;
    morph_bench m;
    morph_bench_open(&m, wide_config, 9);
    sparse_search_config *c = m.c;
    sparse__layout lay = m.lay;
    sparse_rng *rng = m.rng;
    double p[512], q[512];
    char names[128];
    int changed = 0;
    for (int i = 0; i < 300; i++) {
        assert_int_equal(sparse_space_sample(lay.space, rng, p), SPARSE_OK);
        sparse__morph_set set = i % 2 ? SPARSE__MORPH_PRUNING_ONLY : SPARSE__MORPH_ALL;
        int rc = sparse__morph(&lay, rng, p, set, 2, q, names, sizeof names);
        if (rc == SPARSE_EEMPTY)
            continue; /* e.g. pruning morphs of a point with pruning off */
        if (rc)
            fprintf(stderr, "morph: %s\n", sparse_last_error());
        assert_int_equal(rc, SPARSE_OK);
        assert_true(strlen(names) > 0);
        rc = sparse_space_validate(lay.space, q);
        if (rc)
            fprintf(stderr, "after %s: %s\n", names, sparse_last_error());
        assert_int_equal(rc, SPARSE_OK);
        int diff = 0;
        for (size_t v = 0; v < lay.nvars; v++)
            diff += !(p[v] == q[v] || (isnan(p[v]) && isnan(q[v])));
        changed += diff > 0;
        if (set == SPARSE__MORPH_PRUNING_ONLY) {
            /* Stage 2 changes pruning parameters only. */
            sparse__genome a, b;
            sparse__genome_decode(&lay, c, p, &a);
            sparse__genome_decode(&lay, c, q, &b);
            assert_int_equal(a.blocks, b.blocks);
            for (int k = 0; k < a.blocks; k++)
                for (int l = 0; l < a.block_layers[k]; l++) {
                    assert_int_equal(a.filters[k][l], b.filters[k][l]);
                    assert_int_equal(a.kernel[k][l], b.kernel[k][l]);
                    assert_int_equal(a.type[k][l], b.type[k][l]);
                }
            assert_true(a.lr == b.lr);
            assert_int_equal(a.epochs, b.epochs);
        }
    }
    assert_true(changed > 200);
    morph_bench_close(&m);
}

/* How often 300 morphs of random points of this space name the morph. */
static int morph_count(const char *config, const char *morph)
{
    morph_bench m;
    morph_bench_open(&m, config, 3);
    double p[512], q[512];
    char names[128];
    int count = 0;
    for (int i = 0; i < 300; i++) {
        assert_int_equal(sparse_space_sample(m.lay.space, m.rng, p), SPARSE_OK);
        if (sparse__morph(&m.lay, m.rng, p, SPARSE__MORPH_ALL, 2, q, names, sizeof names) == SPARSE_OK)
            count += strstr(names, morph) != NULL;
    }
    morph_bench_close(&m);
    return count;
}

/* The shift morph is drawn only when the space searches the shift (a space
 * without it keeps the morph sequence it had before the morph existed). */
static void test_shift_morph_only_when_searched(void **state)
{
    (void)state;
    char fixed[1024];
    snprintf(fixed, sizeof fixed, "%s", wide_config);
    char *at = strstr(fixed, "  shift: [0, 2]\n");
    assert_non_null(at);
    *at = '\0';
    int searched = morph_count(wide_config, "augmentation-shift"), unsearched = morph_count(fixed, "augmentation-shift");
    print_message("augmentation-shift in %d and %d of 300 morphs\n", searched, unsearched);
    assert_true(searched > 0);
    assert_int_equal(unsearched, 0);
}

/* Genome node names line up between a morph and its reference, so the
 * layers module's inheritance finds the widened layer. */
static void test_inheritance_copies_overlap(void **state)
{
    (void)state;
    sparse_search_config *c = parse_config("data: mnist\nspace: {blocks: [1, 1], layers_per_block: [1, 1], layer_types: [conv2d],"
                                    " batch_norm: [false], input_downsample: [false], branches: [false], residual: [false]}\n");
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, c), SPARSE_OK);
    sparse__genome g;
    double point[512];
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 1), SPARSE_OK);
    assert_int_equal(sparse_space_sample(lay.space, rng, point), SPARSE_OK);
    sparse__genome_decode(&lay, c, point, &g);
    g.filters[0][0] = 4;
    g.kernel[0][0] = 3;
    g.block_pool[0] = 2;
    g.fc_layers = 0;
    sparse_arch *pa, *ca;
    assert_int_equal(sparse__genome_arch(&g, 1, 8, 8, 3, &pa), SPARSE_OK);
    g.filters[0][0] = 6; /* the child is wider */
    assert_int_equal(sparse__genome_arch(&g, 1, 8, 8, 3, &ca), SPARSE_OK);
    sparse_net *parent, *child;
    assert_int_equal(sparse_net_create(&parent, pa, 4, 11), SPARSE_OK);
    assert_int_equal(sparse_net_create(&child, ca, 4, 12), SPARSE_OK);
    size_t copied = 0;
    assert_int_equal(sparse_net_inherit(child, parent, &copied), SPARSE_OK);
    assert_true(copied >= 4 * 9 + 4); /* the conv's overlapping weights and biases at least */
    size_t pid, cid;
    assert_int_equal(sparse_net_find_node(parent, "b0l0", &pid), SPARSE_OK);
    assert_int_equal(sparse_net_find_node(child, "b0l0", &cid), SPARSE_OK);
    sparse_tensor *pw, *cw;
    assert_int_equal(sparse_net_param(&pw, parent, pid, "weight"), SPARSE_OK);
    assert_int_equal(sparse_net_param(&cw, child, cid, "weight"), SPARSE_OK);
    assert_int_equal(sparse_tensor_dim(cw, 0), 6);
    /* The first 4 output channels are the parent's; the other 2 stay fresh. */
    const float *a = sparse_tensor_data_const(pw), *b = sparse_tensor_data_const(cw);
    for (size_t i = 0; i < 4 * 9; i++)
        assert_true(a[i] == b[i]);
    int fresh_differs = 0;
    for (size_t i = 4 * 9; i < 6 * 9; i++)
        fresh_differs |= b[i] != a[i - 2 * 9];
    assert_true(fresh_differs);
    sparse_tensor_free(pw);
    sparse_tensor_free(cw);
    sparse_net_free(parent);
    sparse_net_free(child);
    sparse_arch_free(pa);
    sparse_arch_free(ca);
    sparse_rng_free(rng);
    sparse__layout_destroy(&lay);
    sparse_search_config_free(c);
}

/* data.val_split: written only when random (a run started before the key
 * resumes), parsed back, checked. */
static void test_val_split_key(void **state)
{
    (void)state;
    expect_resolved("data: {source: mnist, val_split: tail}\n", NULL, "val_split");
    expect_resolved("data: {source: mnist, val_split: random}\n", "\n  val_split: random\n", NULL);
    const char *bad = "data: {source: mnist, val_split: first}\n";
    sparse_search_config *c = NULL;
    assert_int_equal(sparse_search_config_parse(&c, bad, strlen(bad), "bad.yaml"), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "data.val_split: unknown value 'first' (allowed: tail, random)"));
}

const struct CMUnitTest space_tests[] = {
    cmocka_unit_test(test_val_split_key),
    cmocka_unit_test(test_config_roundtrip),
    cmocka_unit_test(test_config_errors),
    cmocka_unit_test(test_config_errors_more),
    cmocka_unit_test(test_random_points_build_valid_archs),
    cmocka_unit_test(test_morphs),
    cmocka_unit_test(test_shift_morph_only_when_searched),
    cmocka_unit_test(test_inheritance_copies_overlap),
};
const size_t space_test_count = sizeof space_tests / sizeof space_tests[0];
