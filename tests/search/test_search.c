#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "search/search_internal.h"
#include "sparse/sparse.h"
#include "tiny_run.h"
#include "../expect.h"

extern const struct CMUnitTest runlog_tests[];
extern const size_t runlog_test_count;
extern const struct CMUnitTest records_tests[];
extern const size_t records_test_count;
extern const struct CMUnitTest cap_tests[];
extern const size_t cap_test_count;
extern const struct CMUnitTest acquisition_tests[];
extern const size_t acquisition_test_count;
extern const struct CMUnitTest noise_tests[];
extern const size_t noise_test_count;
extern const struct CMUnitTest final_tests[];
extern const size_t final_test_count;
extern const struct CMUnitTest curve_tests[];
extern const size_t curve_test_count;
extern const struct CMUnitTest posterior_tests[];
extern const size_t posterior_test_count;
extern const struct CMUnitTest plot_tests[];
extern const size_t plot_test_count;
extern const struct CMUnitTest runstore_tests[];
extern const size_t runstore_test_count;
int runstore_setup(void **state);
int runstore_teardown(void **state);

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

static sparse_search_config *parse(const char *text)
{
    sparse_search_config *c = NULL;
    int rc = sparse_search_config_parse(&c, text, strlen(text), "test.yaml");
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    return c;
}

/* Resolved YAML parses back to the same config. */
static void roundtrip(const char *text, size_t trials, const char *needle)
{
    sparse_search_config *c = parse(text), *c2;
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
    roundtrip("data: {source: c.csv, shape: [32, 32, 3], layout: hwc, label_column: 3072}\n", 40,
              "  shape: [32, 32, 3]\n  layout: hwc\n  label_column: 3072\n");
    roundtrip("data: mnist\nplot: {references: [{label: \"paper \\\"T3\\\"\", accuracy: 0.9864, ms_bytes: 2836.48,"
              " wm_bytes: 2007.04}, {label: by hand, accuracy: 0.9717, wm_bytes: 802}]}\n",
              40, "plot:\n  references:\n    - {label: \"paper \\\"T3\\\"\", accuracy: 0.9864, ms_bytes: 2836.48, "
                  "wm_bytes: 2007.04}\n    - {label: \"by hand\", accuracy: 0.9717, wm_bytes: 802}\n");
    /* No references, no plot key: the resolved config of every earlier run. */
    sparse_search_config *plain = parse("data: mnist\nplot: {references: []}\n");
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
    sparse_search_config *c = parse(wide_config);
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
    m->c = parse(config);
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
    sparse_search_config *c = parse("data: mnist\nspace: {blocks: [1, 1], layers_per_block: [1, 1], layer_types: [conv2d],"
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

/* ---- end to end on a tiny generated data set ---- */

static void run_search(const char *cfg_text, const char *dir, size_t max_trials)
{
    sparse_search_config *c = parse(cfg_text);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = max_trials;
    int rc = sparse_search_run(c, dir, &o);
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    sparse_search_config_free(c);
}

/* Runs the search of cfg into dir in a child process, killed with SIGKILL
 * once kill_after[k] trials are recorded and resumed, for each k; then
 * resumes it to its end. */
static void kill_and_resume(const char *cfg, const char *dir, const size_t *kill_after, size_t kills)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    for (size_t k = 0; k < kills; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
            int rc;
            if (k == 0) {
                sparse_search_config *c;
                rc = sparse_search_config_parse(&c, cfg, strlen(cfg), "tiny.yaml");
                if (!rc)
                    rc = sparse_search_run(c, dir, &o);
            } else {
                rc = sparse_search_resume(dir, &o);
            }
            _exit(rc ? 1 : 0);
        }
        while (count_lines(path) < kill_after[k])
            usleep(1000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
    }
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    int rc = sparse_search_resume(dir, &o);
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
}

static void test_search_resume_after_kill_is_identical(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *cfg = tiny_config(csv);
    char full[700], killed[700], p1[800], p2[800];
    snprintf(full, sizeof full, "%s/full", tmp);
    snprintf(killed, sizeof killed, "%s/killed", tmp);
    run_search(cfg, full, 0);
    snprintf(p1, sizeof p1, "%s/trials.jsonl", full);
    assert_int_equal(count_lines(p1), 8);

    /* The same search, killed with SIGKILL after 1, 3 and 6 trials and
     * resumed each time. */
    snprintf(p2, sizeof p2, "%s/trials.jsonl", killed);
    const size_t kill_after[] = {1, 3, 6};
    kill_and_resume(cfg, killed, kill_after, 3);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    char *a = read_all(p1), *b = read_all(p2);
    /* Training moved the images, so the resumed run had to replay the
     * shifts' random draws too. */
    assert_non_null(strstr(a, "\"shift\":1}"));
    assert_null(strstr(a, "\"shift\":0}"));
    strip_seconds(a);
    strip_seconds(b);
    assert_string_equal(a, b);
    free(a);
    free(b);

    /* The run view agrees with the records. */
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, full), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(run), 8);
    size_t idx[8], count;
    assert_int_equal(sparse_run_pareto(run, idx, &count), SPARSE_OK);
    assert_true(count >= 1);
    double ok, acc, stage;
    for (size_t j = 0; j < count; j++) {
        assert_int_equal(sparse_run_trial_value(run, idx[j], SPARSE_TRIAL_OK, &ok), SPARSE_OK);
        assert_true(ok == 1);
        assert_int_equal(sparse_run_trial_value(run, idx[j], SPARSE_TRIAL_VAL_ACCURACY, &acc), SPARSE_OK);
        assert_true(acc >= 0 && acc <= 1);
    }
    assert_int_equal(sparse_run_trial_value(run, 7, SPARSE_TRIAL_STAGE, &stage), SPARSE_OK);
    assert_true(stage == 3);
    assert_int_equal(sparse_run_trial_value(run, 8, SPARSE_TRIAL_OK, &ok), SPARSE_ERANGE);
    /* The run's data open again as the search split them (seed 7, 60
     * validation images): the same images in the same order as a direct
     * open with the config's options, and a different seed differs. */
    sparse_dataset *split[3], *direct[3], *other[3];
    assert_int_equal(sparse_run_open_data(&split[0], &split[1], &split[2], run, NULL), SPARSE_OK);
    sparse_data_options d = SPARSE_DATA_OPTIONS_INIT;
    d.val_count = 60;
    d.seed = 7;
    assert_int_equal(sparse_data_open(&direct[0], &direct[1], &direct[2], csv, &d), SPARSE_OK);
    d.seed = 8;
    assert_int_equal(sparse_data_open(&other[0], &other[1], &other[2], csv, &d), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(split[1]), 60);
    const size_t px = sparse_dataset_channels(split[0]) * sparse_dataset_height(split[0]) *
                      sparse_dataset_width(split[0]);
    int differs = 0;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sparse_dataset_image_count(split[k]), sparse_dataset_image_count(direct[k]));
        for (size_t i = 0; i < sparse_dataset_image_count(split[k]); i++) {
            assert_int_equal(sparse_dataset_label(split[k], i), sparse_dataset_label(direct[k], i));
            assert_memory_equal(sparse_dataset_image(split[k], i), sparse_dataset_image(direct[k], i),
                                px * sizeof(float));
        }
        differs |= memcmp(sparse_dataset_image(split[k], 0), sparse_dataset_image(other[k], 0),
                          px * sizeof(float)) != 0;
        sparse_dataset_free(split[k]);
        sparse_dataset_free(direct[k]);
        sparse_dataset_free(other[k]);
    }
    assert_true(differs);
    sparse_dataset *tr = (sparse_dataset *)1, *va = (sparse_dataset *)1, *te = (sparse_dataset *)1;
    assert_int_equal(sparse_run_open_data(&tr, &va, &te, NULL, NULL), SPARSE_EINVAL);
    assert_null(tr);
    assert_null(va);
    assert_null(te);
    sparse_run_free(run);

    /* A finished run resumes to nothing; a second run into the same
     * directory is refused. */
    assert_int_equal(sparse_search_resume(full, &o), SPARSE_OK);
    assert_int_equal(count_lines(p1), 8);
    sparse_search_config *c = parse(cfg);
    assert_int_equal(sparse_search_run(c, full, &o), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "already holds a run"));
    sparse_search_config_free(c);
    free(cfg);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* The options' seed replaces the config's: a new run records it in its
 * config.yaml and makes the records the config with that seed makes; a
 * resume takes the run's own seed only. A version-1 options struct (no
 * seed) keeps the config's. */
static void test_seed_option(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *cfg = tiny_config(csv), *seed = strstr(cfg, "seed: 7\n");
    assert_non_null(seed);
    char by_option[700], by_config[700], old[700], path[800];
    snprintf(by_option, sizeof by_option, "%s/option", tmp);
    snprintf(by_config, sizeof by_config, "%s/config", tmp);
    snprintf(old, sizeof old, "%s/v1", tmp);
    sparse_search_config *c = parse(cfg);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    assert_int_equal(o.seed, -1);
    o.max_trials = 2;
    o.seed = 9;
    assert_int_equal(sparse_search_run(c, by_option, &o), SPARSE_OK);
    seed[6] = '9';
    run_search(cfg, by_config, 2);
    char *a = records_of(by_option), *b = records_of(by_config);
    assert_string_equal(a, b);
    snprintf(path, sizeof path, "%s/config.yaml", by_option);
    char *yaml = read_all(path);
    assert_non_null(strstr(yaml, "\nseed: 9\n"));
    free(yaml);
    /* The run's own seed continues it; another is refused, as is one out of range. */
    o.max_trials = 3;
    o.seed = 8;
    assert_int_equal(sparse_search_resume(by_option, &o), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "seed 8, but the run was started with seed 9"));
    o.seed = 3000000000LL;
    assert_int_equal(sparse_search_resume(by_option, &o), SPARSE_ERANGE);
    o.seed = 9;
    assert_int_equal(sparse_search_resume(by_option, &o), SPARSE_OK);
    snprintf(path, sizeof path, "%s/trials.jsonl", by_option);
    assert_int_equal(count_lines(path), 3);
    /* Exactly a version-1 struct on the heap: the seed is neither read nor
     * written, the config's (7) is the run's. */
    const size_t v1 = offsetof(sparse_search_options, seed);
    sparse_search_options first;
    assert_int_equal(sparse_search_options_init(&first, 1), SPARSE_OK);
    first.max_trials = 1;
    first.seed = 5; /* past the version's end: not the caller's */
    sparse_search_options *heap = malloc(v1);
    memcpy(heap, &first, v1);
    assert_int_equal(sparse_search_run(c, old, heap), SPARSE_OK);
    free(heap);
    snprintf(path, sizeof path, "%s/config.yaml", old);
    yaml = read_all(path);
    assert_non_null(strstr(yaml, "\nseed: 7\n"));
    free(yaml);
    free(a);
    free(b);
    sparse_search_config_free(c);
    free(cfg);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* Overwrites tiny_config's budgets line in place (the same width). */
static void set_budgets(char *cfg, const char *line)
{
    char *b = strstr(cfg, "budgets: {");
    assert_non_null(b);
    assert_int_equal(strlen(line), 41);
    memcpy(b, line, 41);
}

/* An MS budget no network of the space can meet: refused before the first
 * trial (it used to run, every candidate failing, and end with an empty
 * front), naming the budget and the smallest dense MS seen, with no run
 * directory left behind. */
static void test_impossible_budget_is_refused(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *cfg = tiny_config(csv);
    set_budgets(cfg, "budgets: {ms_bytes:   10, wm_bytes: 2000}");
    char run[700], path[800];
    snprintf(run, sizeof run, "%s/run", tmp);
    sparse_search_config *c = parse(cfg);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = 3;
    EXPECT_ERROR(sparse_search_run(c, run, &o), SPARSE_EBUDGET,
                 "budgets.ms_bytes 10 B: no network of the search space can meet it", "dense MS of",
                 "x the budget: what pruning may remove");
    sparse_search_config_free(c);
    snprintf(path, sizeof path, "%s/trials.jsonl", run);
    assert_int_not_equal(access(path, F_OK), 0);
    /* A budget some networks meet runs. */
    set_budgets(cfg, "budgets: {ms_bytes: 2000, wm_bytes: 2000}");
    c = parse(cfg);
    assert_int_equal(sparse_search_run(c, run, &o), SPARSE_OK);
    sparse_search_config_free(c);
    free(cfg);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* A WM budget below the input image itself: refused up front, naming the
 * budget and the bound, with no run directory left behind. */
static void test_budget_below_input_is_refused(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *cfg = tiny_config(csv);
    set_budgets(cfg, "budgets: {ms_bytes: 2000, wm_bytes:   63}"); /* 8x8 input: 64 B */
    char run[700];
    snprintf(run, sizeof run, "%s/run", tmp);
    sparse_search_config *c = parse(cfg);
    assert_int_equal(sparse_search_run(c, run, NULL), SPARSE_EBUDGET);
    assert_non_null(strstr(sparse_last_error(), "budgets.wm_bytes 63 B"));
    assert_non_null(strstr(sparse_last_error(), "at least 64 B"));
    assert_int_equal(access(run, F_OK), -1);
    sparse_search_config_free(c);
    /* Likewise a shift that moves an 8x8 image out of itself. */
    char *shifted = malloc(strlen(cfg) + 8), *at = strstr(cfg, "shift: [1, 1]");
    assert_non_null(at);
    snprintf(shifted, strlen(cfg) + 8, "%.*sshift: [0, 8]%s", (int)(at - cfg), cfg, at + strlen("shift: [1, 1]"));
    set_budgets(shifted, "budgets: {ms_bytes: 2000, wm_bytes: 2000}");
    c = parse(shifted);
    assert_int_equal(sparse_search_run(c, run, NULL), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "space.shift up to 8 pixels: the images are 8x8"));
    assert_int_equal(access(run, F_OK), -1);
    sparse_search_config_free(c);
    free(shifted);
    /* 64 B is the bound itself: allowed (the input layer alone meets it) */
    set_budgets(cfg, "budgets: {ms_bytes: 2000, wm_bytes:   64}");
    c = parse(cfg);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = 1;
    assert_int_equal(sparse_search_run(c, run, &o), SPARSE_OK);
    sparse_search_config_free(c);
    free(cfg);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* The largest share of its budget a trial's network takes (MS or WM). */
static double budget_share(const sparse_run *r, size_t i)
{
    double ms, wm;
    assert_int_equal(sparse_run_trial_value(r, i, SPARSE_TRIAL_MS_BYTES, &ms), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(r, i, SPARSE_TRIAL_WM5_BYTES, &wm), SPARSE_OK);
    return fmax(ms, wm) / 2000.0;
}

/* Random points are widened or narrowed to fill random_fill of the size cap:
 * with [0.5, 1] and no pruning (cap = budget) every initial network lands
 * between roughly half the budget and the budget, where without fitting
 * uniform widths leave some far below it. */
static void test_random_points_fill_the_budget(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4400], run[700];
    char *space = strstr(base, "space: {"), *initial = strstr(base, "initial_trials: 2");
    assert_non_null(space);
    assert_non_null(initial);
    initial[16] = '8';
    double lowest[2] = {1e9, 1e9}, highest[2] = {0, 0};
    for (int fill = 0; fill < 2; fill++) {
        snprintf(cfg, sizeof cfg,
                 "%.*srandom_fill: %s\n"
                 "space: {blocks: [1, 2], layers_per_block: [1, 2], filters: [1, 24], kernel: [2, 3],"
                 " pool: [1, 2], input_downsample: [false], branches: [false], fc_weights: [50, 2000],"
                 " epochs: [1, 1], pruning: [none]}\n",
                 (int)(space - base), base, fill ? "[0.5, 1]" : "0");
        snprintf(run, sizeof run, "%s/run%d", tmp, fill);
        run_search(cfg, run, 8);
        sparse_run *r;
        assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
        assert_int_equal(sparse_run_trial_count(r), 8);
        for (size_t i = 0; i < 8; i++) {
            double ok;
            assert_int_equal(sparse_run_trial_value(r, i, SPARSE_TRIAL_OK, &ok), SPARSE_OK);
            assert_true(ok == 1.0);
            double share = budget_share(r, i);
            lowest[fill] = fmin(lowest[fill], share);
            highest[fill] = fmax(highest[fill], share);
        }
        sparse_run_free(r);
    }
    /* One filter more or less moves a network of a few hundred bytes by
     * a tenth of the budget or more: allow for the rounding. */
    assert_true(lowest[1] >= 0.45);
    assert_true(highest[1] <= 1.0);
    assert_true(lowest[0] < 0.35);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* Issue 8's inheritance claim: a widened child starts at its reference's
 * accuracy (the widening is function-preserving), far above a fresh
 * network, and stays ahead of the fresh one after the same training. */
static void test_widened_child_starts_from_parent(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    sparse_dataset *train, *val, *test;
    sparse_data_options d = SPARSE_DATA_OPTIONS_INIT;
    d.val_count = 60;
    assert_int_equal(sparse_data_open(&train, &val, &test, csv, &d), SPARSE_OK);
    sparse_search_config *c = parse("data: mnist\nspace: {blocks: [2, 2], layers_per_block: [1, 1], layer_types: [conv2d],"
                                    " batch_norm: [true], input_downsample: [false], branches: [false], residual: [false],"
                                    " fc_layers: [1, 1], pool: [2, 2]}\n");
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, c), SPARSE_OK);
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 2), SPARSE_OK);
    double point[512];
    assert_int_equal(sparse_space_sample(lay.space, rng, point), SPARSE_OK);
    sparse__genome g;
    sparse__genome_decode(&lay, c, point, &g);
    g.filters[0][0] = 3;
    g.filters[1][0] = 4;
    g.kernel[0][0] = g.kernel[1][0] = 3;
    g.fc_weights = 200;
    g.fc_frac = 1;
    sparse_arch *pa, *ca;
    assert_int_equal(sparse__genome_arch(&g, 1, 8, 8, 3, &pa), SPARSE_OK);
    g.filters[0][0] = 5; /* widen both convolutions */
    g.filters[1][0] = 6;
    assert_int_equal(sparse__genome_arch(&g, 1, 8, 8, 3, &ca), SPARSE_OK);
    sparse_net *parent, *child, *fresh;
    assert_int_equal(sparse_net_create(&parent, pa, 16, 1), SPARSE_OK);
    assert_int_equal(sparse_net_create(&child, ca, 16, 2), SPARSE_OK);
    assert_int_equal(sparse_net_create(&fresh, ca, 16, 2), SPARSE_OK);
    sparse_train_options to = SPARSE_TRAIN_OPTIONS_INIT;
    to.batch_size = 16;
    to.epochs = 12;
    to.lr = 0.01;
    assert_int_equal(sparse_net_train(parent, train, &to, NULL), SPARSE_OK);
    double acc_parent, acc_child0, acc_fresh0;
    assert_int_equal(sparse_net_evaluate(parent, val, &acc_parent), SPARSE_OK);
    size_t copied;
    assert_int_equal(sparse__inherit(child, parent, &copied), SPARSE_OK);
    assert_int_equal(sparse_net_evaluate(child, val, &acc_child0), SPARSE_OK);
    assert_int_equal(sparse_net_evaluate(fresh, val, &acc_fresh0), SPARSE_OK);
    print_message("parent %.3f, widened child before training %.3f, fresh %.3f\n", acc_parent, acc_child0, acc_fresh0);
    assert_true(acc_parent > 0.9);
    assert_true(fabs(acc_child0 - acc_parent) < 1e-9);
    assert_true(acc_fresh0 < acc_parent - 0.3);
    /* Epochs each needs to come within 2 points of the parent. */
    to.epochs = 1;
    int epochs_child = 0, epochs_fresh = 0;
    for (double acc = acc_child0; acc < acc_parent - 0.02 && epochs_child < 20; epochs_child++) {
        assert_int_equal(sparse_net_train(child, train, &to, NULL), SPARSE_OK);
        assert_int_equal(sparse_net_evaluate(child, val, &acc), SPARSE_OK);
    }
    for (double acc = acc_fresh0; acc < acc_parent - 0.02 && epochs_fresh < 20; epochs_fresh++) {
        assert_int_equal(sparse_net_train(fresh, train, &to, NULL), SPARSE_OK);
        assert_int_equal(sparse_net_evaluate(fresh, val, &acc), SPARSE_OK);
    }
    print_message("epochs to the parent's accuracy: child %d, fresh %d\n", epochs_child, epochs_fresh);
    assert_true(epochs_child < epochs_fresh);
    sparse_net_free(parent);
    sparse_net_free(child);
    sparse_net_free(fresh);
    sparse_arch_free(pa);
    sparse_arch_free(ca);
    sparse_rng_free(rng);
    sparse__layout_destroy(&lay);
    sparse_search_config_free(c);
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* Line i (0-based) of text, in a fresh string. */
static char *line_of(const char *text, size_t i)
{
    for (; i > 0 && text; i--)
        text = (text = strchr(text, '\n')) ? text + 1 : NULL;
    assert_non_null(text);
    size_t n = strcspn(text, "\n");
    char *l = malloc(n + 1);
    memcpy(l, text, n);
    l[n] = '\0';
    return l;
}

/* The "point":[...] part of a record. */
static char *point_of(const char *record)
{
    const char *p = strstr(record, "\"point\":[");
    assert_non_null(p);
    size_t n = strcspn(p, "]") + 1;
    char *out = malloc(n + 1);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* dir/trials.jsonl in buf. */
static const char *path_in(char *buf, size_t cap, const char *dir)
{
    snprintf(buf, cap, "%s/trials.jsonl", dir);
    return buf;
}

/* The "arch":{...} part of a record (up to the next top-level key). */
static char *arch_of(const char *record)
{
    const char *p = strstr(record, "\"arch\":{"), *e;
    assert_non_null(p);
    if (!(e = strstr(p, ",\"compact_arch\"")))
        e = strstr(p, ",\"val_accuracy\"");
    assert_non_null(e);
    char *out = malloc((size_t)(e - p) + 1);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return out;
}

static double trial_value(const sparse_run *r, size_t i, sparse_trial_field f)
{
    double v;
    assert_int_equal(sparse_run_trial_value(r, i, f, &v), SPARSE_OK);
    return v;
}

/* The final stage trains again, for final.epochs, the most accurate network
 * of each box in turn that no earlier final trial took, from its weights;
 * it resumes like any stage, and a trial limit makes room for it. */
static void test_final_stage_retrains_the_best_of_each_box(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], run[700], path[800];
    /* Ranked by the measurements, as this test's rule below; the posterior
     * ranking has a test of its own. */
    snprintf(cfg, sizeof cfg, "%sranking: validation\nfinal: {trials: 3, epochs: 3, boxes: [{ms_bytes: 2000, wm_bytes: 2000}, "
             "{ms_bytes: 2000, wm_bytes: 2000}, {ms_bytes: 500}]}\n",
             base);
    sparse_search_config *c = parse(cfg);
    assert_int_equal(sparse_search_config_trial_count(c), 11);
    sparse_search_config_free(c);
    snprintf(run, sizeof run, "%s/run", tmp);
    run_search(cfg, run, 0);
    snprintf(path, sizeof path, "%s/trials.jsonl", run);
    char *text = read_all(path);
    sparse_run *r;
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(r), 11);
    /* The first box is listed twice: it takes the first two turns. */
    const double box_ms[3] = {2000, 2000, 500}, box_wm[3] = {2000, 2000, 1e300};
    int taken[8] = {0}, used_small_box = 0;
    for (size_t t = 8; t < 11; t++) {
        assert_true(trial_value(r, t, SPARSE_TRIAL_STAGE) == 4);
        /* The parent the rule names: box (t - 8) mod 3 first, then the next. */
        double expect = -1;
        for (size_t k = 0; k < 3 && expect < 0; k++) {
            size_t b = (t - 8 + k) % 3;
            double best = -1;
            for (size_t i = 0; i < 8; i++) {
                if (trial_value(r, i, SPARSE_TRIAL_OK) != 1 || taken[i] ||
                    trial_value(r, i, SPARSE_TRIAL_MS_BYTES) > box_ms[b] ||
                    trial_value(r, i, SPARSE_TRIAL_WM5_BYTES) > box_wm[b])
                    continue;
                double acc = trial_value(r, i, SPARSE_TRIAL_VAL_ACCURACY);
                if (expect < 0 || acc > best) {
                    expect = (double)i;
                    best = acc;
                }
            }
            used_small_box |= b == 2 && expect >= 0;
        }
        assert_true(expect >= 0);
        assert_true(trial_value(r, t, SPARSE_TRIAL_PARENT) == expect);
        taken[(size_t)expect] = 1;
        /* The parent's network and settings, trained for final.epochs. */
        char *rec = line_of(text, t), *prec = line_of(text, (size_t)expect);
        char *pt = point_of(rec), *ppt = point_of(prec);
        assert_string_equal(pt, ppt);
        assert_non_null(strstr(rec, "\"proposal\":\"final\",\"morph\":\"retrain\""));
        assert_non_null(strstr(rec, "\"training\":{\"epochs\":3,"));
        assert_null(strstr(prec, "\"training\":{\"epochs\":3,"));
        assert_non_null(strstr(rec, "\"status\":\"ok\""));
        assert_null(strstr(rec, "\"inherited_params\":0,"));
        free(pt);
        free(ppt);
        free(rec);
        free(prec);
    }
    assert_true(used_small_box);
    sparse_run_free(r);

    /* A crash after the first final trial: the resumed run ends the same. */
    char *cut = strdup(text);
    char *end = cut;
    for (int i = 0; i < 9; i++)
        end = strchr(end, '\n') + 1;
    *end = '\0';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(cut, f);
    fclose(f);
    rewind_state(run, 9);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    assert_int_equal(sparse_search_resume(run, &o), SPARSE_OK);
    char *again = read_all(path);
    strip_seconds(text);
    strip_seconds(again);
    assert_string_equal(text, again);

    /* Six trials in all: the final stage takes the last three, and a
     * resume without the limit keeps it there and has nothing left to do. */
    snprintf(run, sizeof run, "%s/limited", tmp);
    run_search(cfg, run, 6);
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(r), 6);
    for (size_t t = 0; t < 6; t++)
        assert_true(trial_value(r, t, SPARSE_TRIAL_STAGE) == (t < 3 ? 1 : 4));
    sparse_run_free(r);
    assert_int_equal(sparse_search_resume(run, &o), SPARSE_OK);
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(r), 6);
    sparse_run_free(r);

    /* fill: each network widened until it fills its box, never beyond it. */
    char *widths = strstr(base, "filters: [1, 6]");
    assert_non_null(widths);
    widths[13] = '9'; /* and random widths (no random_fill): room to widen */
    snprintf(cfg, sizeof cfg, "%srandom_fill: 0\nfinal: {trials: 3, epochs: 2, fill: true, boxes: [{ms_bytes: 800, wm_bytes: 800}]}\n", base);
    snprintf(run, sizeof run, "%s/filled", tmp);
    run_search(cfg, run, 0);
    snprintf(path, sizeof path, "%s/trials.jsonl", run);
    char *filled = read_all(path);
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    int widened = 0, spvd_parents = 0;
    for (size_t t = 8; t < 11; t++) {
        char *rec = line_of(filled, t), *prec = line_of(filled, (size_t)trial_value(r, t, SPARSE_TRIAL_PARENT));
        char *pt = point_of(rec), *ppt = point_of(prec);
        int wide = strstr(rec, "\"morph\":\"widen+retrain\"") != NULL;
        assert_true(wide || strstr(rec, "\"morph\":\"retrain\""));
        assert_int_equal(wide, strcmp(pt, ppt) != 0);
        char *arch = arch_of(rec), *parch = arch_of(prec);
        assert_int_equal(wide, strcmp(arch, parch) != 0); /* widened means another network */
        free(arch);
        free(parch);
        /* SpVD networks are retrained as they are. */
        int spvd = strstr(prec, "\"pruning\":{\"method\":\"spvd\"") != NULL;
        assert_false(spvd && wide);
        spvd_parents += spvd;
        widened += wide;
        print_message("final trial %zu: %s, MS %.0f B, WM5 %.0f B\n", t, wide ? "widened" : "as it was",
                      trial_value(r, t, SPARSE_TRIAL_MS_BYTES), trial_value(r, t, SPARSE_TRIAL_WM5_BYTES));
        assert_true(trial_value(r, t, SPARSE_TRIAL_MS_BYTES) <= 800);
        assert_true(trial_value(r, t, SPARSE_TRIAL_WM5_BYTES) <= 800);
        free(pt);
        free(ppt);
        free(rec);
        free(prec);
    }
    assert_true(widened >= 1);
    print_message("%d of the 3 parents pruned by SpVD\n", spvd_parents);
    sparse_run_free(r);
    free(filled);

    /* Without FC layers, scaling moves only the FC weights variable, which
     * this network does not use: no widening, the parent's point stands. */
    const char *space = strstr(base, "space: {");
    snprintf(cfg, sizeof cfg,
             "%.*srandom_fill: 0\nfinal: {trials: 2, epochs: 1, fill: true}\n"
             "space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [9, 9], kernel: [3, 3], pool: [2, 2],"
             " input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [1, 1], pruning: [none]}\n",
             (int)(space - base), base);
    snprintf(run, sizeof run, "%s/no-fc", tmp);
    run_search(cfg, run, 0);
    filled = read_all(path_in(path, sizeof path, run));
    for (size_t t = 8; t < 10; t++) {
        char *rec = line_of(filled, t);
        assert_non_null(strstr(rec, "\"morph\":\"retrain\""));
        free(rec);
    }
    free(filled);
    free(again);
    free(cut);
    free(text);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* Early stopping end to end: with a lenient curve model some trials stop
 * before their last epoch, their records say so (epochs done, curve, what
 * the curve promised), none is on the front, and a run killed and resumed
 * makes the same records. */
static void test_early_stop_end_to_end(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], full[700], killed[700];
    char *stages = strstr(base, "stages: ["), *epochs = strstr(base, "epochs: [1, 2]");
    assert_non_null(stages);
    assert_non_null(epochs);
    memcpy(epochs, "epochs: [3, 4]", 14);
    char *stages_end = strchr(stages, '\n');
    snprintf(cfg, sizeof cfg, "%.*sstages: [{trials: 8, rho: 0.7}, {trials: 2, rho: 0.7}, {trials: 6, rho: 0.7}]\n"
             "early_stop: {quantile: 0.5, min_curves: 2}\n%s",
             (int)(stages - base), base, stages_end + 1);
    snprintf(full, sizeof full, "%s/full", tmp);
    snprintf(killed, sizeof killed, "%s/killed", tmp);
    run_search(cfg, full, 0);
    const size_t kill_after[] = {5, 11};
    kill_and_resume(cfg, killed, kill_after, 2);
    char *a = records_of(full), *b = records_of(killed);
    assert_string_equal(a, b);
    size_t partial = 0;
    for (size_t t = 0; t < 16; t++) {
        char *rec = line_of(a, t);
        if (strstr(rec, "\"partial\":true")) {
            partial++;
            int planned = atoi(strstr(rec, "\"training\":{\"epochs\":") + 21);
            int done = atoi(strstr(rec, "\"epochs_done\":") + 14);
            assert_true(done >= 1 && done < planned);
            assert_non_null(strstr(rec, "\"predicted_val_accuracy\":"));
            assert_non_null(strstr(rec, "\"curve\":["));
        }
        free(rec);
    }
    print_message("%zu of 16 trials stopped early\n", partial);
    assert_true(partial > 0);
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, full), SPARSE_OK);
    size_t ids[16], count;
    double v;
    assert_int_equal(sparse_run_pareto(run, ids, &count), SPARSE_OK);
    assert_true(count > 0);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(sparse_run_trial_value(run, ids[i], SPARSE_TRIAL_PARTIAL, &v), SPARSE_OK);
        assert_true(v == 0);
    }
    sparse_run_free(run);
    free(a);
    free(b);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* Ranked by the posterior (the default), the final stage takes in each
 * box the searched trial of the best posterior mean, the one the run view
 * reports, never a partial one. */
static void test_final_stage_picks_by_posterior(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], run[700];
    snprintf(cfg, sizeof cfg, "%sfinal: {trials: 2, epochs: 2}\n", base);
    snprintf(run, sizeof run, "%s/run", tmp);
    run_search(cfg, run, 0);
    sparse_run *r;
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    int taken[8] = {0};
    for (size_t t = 8; t < 10; t++) {
        double expect = -1, best = -1;
        for (size_t i = 0; i < 8; i++) {
            if (trial_value(r, i, SPARSE_TRIAL_OK) != 1 || taken[i] || trial_value(r, i, SPARSE_TRIAL_PARTIAL) == 1 ||
                trial_value(r, i, SPARSE_TRIAL_MS_BYTES) > 2000 || trial_value(r, i, SPARSE_TRIAL_WM5_BYTES) > 2000)
                continue;
            double acc = trial_value(r, i, SPARSE_TRIAL_POSTERIOR_ACCURACY);
            if (expect < 0 || acc > best) {
                expect = (double)i;
                best = acc;
            }
        }
        assert_true(expect >= 0);
        assert_true(trial_value(r, t, SPARSE_TRIAL_PARENT) == expect);
        taken[(size_t)expect] = 1;
    }
    sparse_run_free(r);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* What the workers test's callbacks saw. */
typedef struct watch {
    int in_progress, overlapped;
    size_t last_progress_trial, progress_calls, stop_after;
} watch;

static int watch_progress(void *user, size_t trial, size_t epoch, size_t batch, size_t per_epoch, double loss)
{
    (void)epoch, (void)batch, (void)per_epoch, (void)loss;
    watch *w = user;
    w->overlapped |= w->in_progress;
    w->in_progress = 1;
    /* The oldest trial in flight only: never one before the last heard of. */
    if (trial < w->last_progress_trial)
        w->overlapped = 1;
    w->last_progress_trial = trial;
    w->progress_calls++;
    w->in_progress = 0;
    return 0;
}

static int watch_trial(void *user, const sparse_trial_event *ev)
{
    watch *w = user;
    return ev->trial + 1 >= w->stop_after;
}

/* Two workers train two trials at once: the records are the same on every
 * run and after kills and resumes, as with one; a callback's cancellation
 * stops both, and only trials recorded in order count. */
static void test_workers_keep_records_identical(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], run[3][700], path[3][800];
    char *threads = strstr(base, "threads: 1\n");
    assert_non_null(threads);
    snprintf(cfg, sizeof cfg, "%.*sthreads: 2\nworkers: 2\n%sfinal: {trials: 2, epochs: 2}\n", (int)(threads - base),
             base, threads + strlen("threads: 1\n"));
    const char *names[3] = {"a", "b", "killed"};
    for (int i = 0; i < 3; i++) {
        snprintf(run[i], sizeof run[i], "%s/%s", tmp, names[i]);
        snprintf(path[i], sizeof path[i], "%s/%s/trials.jsonl", tmp, names[i]);
    }
    run_search(cfg, run[0], 0);
    run_search(cfg, run[1], 0);
    const size_t kill_after[] = {2, 5, 9};
    kill_and_resume(cfg, run[2], kill_after, 3);
    char *a = read_all(path[0]), *b = read_all(path[1]), *k = read_all(path[2]);
    assert_int_equal(count_lines(path[0]), 10);
    strip_seconds(a);
    strip_seconds(b);
    strip_seconds(k);
    assert_string_equal(a, b);
    assert_string_equal(a, k);
    /* The two final trials, started together, took different networks. */
    char *f1 = line_of(a, 8), *f2 = line_of(a, 9);
    assert_non_null(strstr(f1, "\"proposal\":\"final\""));
    assert_non_null(strstr(f2, "\"proposal\":\"final\""));
    assert_string_not_equal(strstr(f1, "\"parent\":"), strstr(f2, "\"parent\":"));
    free(f1);
    free(f2);

    /* Stopped by the trial callback after the fourth trial: four records,
     * progress heard from one trial at a time, and a resume ends as above. */
    char stopped[700], stopped_path[800];
    snprintf(stopped, sizeof stopped, "%s/stopped", tmp);
    snprintf(stopped_path, sizeof stopped_path, "%s/trials.jsonl", stopped);
    watch w = {0, 0, 0, 0, 4};
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.on_trial = watch_trial;
    o.on_progress = watch_progress;
    o.user = &w;
    sparse_search_config *c = parse(cfg);
    assert_int_equal(sparse_search_run(c, stopped, &o), SPARSE_ECANCELLED);
    sparse_search_config_free(c);
    assert_non_null(strstr(sparse_last_error(), "after trial 3"));
    assert_int_equal(count_lines(stopped_path), 4);
    assert_false(w.overlapped);
    assert_true(w.progress_calls > 0);
    sparse_search_options plain = SPARSE_SEARCH_OPTIONS_INIT;
    assert_int_equal(sparse_search_resume(stopped, &plain), SPARSE_OK);
    free(b);
    b = read_all(stopped_path);
    strip_seconds(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(k);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_errors_more),
        cmocka_unit_test(test_random_points_build_valid_archs),
        cmocka_unit_test(test_morphs),
        cmocka_unit_test(test_shift_morph_only_when_searched),
        cmocka_unit_test(test_inheritance_copies_overlap),
        cmocka_unit_test(test_search_resume_after_kill_is_identical),
        cmocka_unit_test(test_seed_option),
        cmocka_unit_test(test_impossible_budget_is_refused),
        cmocka_unit_test(test_budget_below_input_is_refused),
        cmocka_unit_test(test_random_points_fill_the_budget),
        cmocka_unit_test(test_widened_child_starts_from_parent),
        cmocka_unit_test(test_final_stage_retrains_the_best_of_each_box),
        cmocka_unit_test(test_final_stage_picks_by_posterior),
        cmocka_unit_test(test_workers_keep_records_identical),
        cmocka_unit_test(test_early_stop_end_to_end),
    };
    if (getenv("SPARSE_TEST_ONLY")) /* one test, e.g. in the ThreadSanitizer build (tools/test.sh) */
        cmocka_set_test_filter(getenv("SPARSE_TEST_ONLY"));
    int fails = _cmocka_run_group_tests("runlog", runlog_tests, runlog_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("records", records_tests, records_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("cap", cap_tests, cap_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("acquisition", acquisition_tests, acquisition_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("noise", noise_tests, noise_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("final", final_tests, final_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("posterior", posterior_tests, posterior_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("curve", curve_tests, curve_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("plot", plot_tests, plot_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("runstore", runstore_tests, runstore_test_count, runstore_setup,
                                     runstore_teardown);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
