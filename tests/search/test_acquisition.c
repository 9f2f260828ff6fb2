/* The search config's input_downsampling: parsed and validated, resolved
 * into config.yaml, read back by the run, used by the WM budget's floor and
 * by the records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "tiny_run.h"

extern const struct CMUnitTest acquisition_tests[];
extern const size_t acquisition_test_count;

static void test_config_key(void **state)
{
    (void)state;
    /* the default is not written: a run started before the key resumes
     * (its config's fingerprint is unchanged) */
    expect_resolved("data: mnist\n", "wm_model: 5\n", "input_downsampling");
    expect_resolved("data: mnist\ninput_downsampling: acquisition\n", "wm_model: 5\ninput_downsampling: acquisition\n",
                    NULL);
    const char *bad = "data: mnist\ninput_downsampling: sensor\n";
    sparse_search_config *c = (sparse_search_config *)0x1;
    assert_int_equal(sparse_search_config_parse(&c, bad, strlen(bad), "bad.yaml"), SPARSE_ERANGE);
    assert_null(c);
    assert_non_null(strstr(sparse_last_error(), "bad.yaml:2:21: input_downsampling: unknown value 'sensor' "
                                                "(allowed: network, acquisition)"));
    bad = "data: mnist\ninput_downsampling: [network]\n";
    assert_int_equal(sparse_search_config_parse(&c, bad, strlen(bad), "bad.yaml"), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "bad.yaml:2:21: input_downsampling"));
}

/* An 8x8 CSV image, always downsampled at rate 2 (4x4 = 16 B): in the
 * network counting every WM6 is at least 64 + 1 B, as data acquisition at
 * least 16 + 1 B. */
static char *config(const char *csv, const char *mode, int wm)
{
    char *cfg = malloc(2048);
    assert_non_null(cfg);
    snprintf(cfg, 2048,
             "data: {source: \"%s\", val_count: 60}\nseed: 3\nthreads: 1\ninitial_trials: 1\n"
             "wm_model: 6\ninput_downsampling: %s\nbudgets: {wm_bytes: %d}\n"
             "stages: [{trials: 1, rho: 0.5}, {trials: 0, rho: 0.5}, {trials: 0, rho: 0.5}]\n"
             "training: {batch: 16}\nspace: {blocks: [1, 1], layers_per_block: [1, 1], filters: [2, 2],"
             " kernel: [2, 2], pool: [1, 1], input_downsample: [true], input_rate: [2, 2], batch_norm: [false],"
             " branches: [false], fc_layers: [0, 0], fc_weights: [50, 50], epochs: [1, 1], pruning: [none]}\n",
             csv, mode, wm);
    return cfg;
}

static int run(const char *text, const char *dir)
{
    sparse_search_config *c = NULL;
    assert_int_equal(sparse_search_config_parse(&c, text, strlen(text), "t.yaml"), SPARSE_OK);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = 1;
    int rc = sparse_search_run(c, dir, &o);
    sparse_search_config_free(c);
    return rc;
}

static void test_budget_floor_and_records(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp), dir[700];
    snprintf(dir, sizeof dir, "%s/run", tmp);
    char *cfg = config(csv, "network", 64);
    assert_int_equal(run(cfg, dir), SPARSE_EBUDGET);
    assert_non_null(strstr(sparse_last_error(), "at least 65 B"));
    free(cfg);
    cfg = config(csv, "acquisition", 16);
    assert_int_equal(run(cfg, dir), SPARSE_EBUDGET);
    assert_non_null(strstr(sparse_last_error(), "at least 17 B"));
    assert_non_null(strstr(sparse_last_error(), "input_downsampling: acquisition"));
    free(cfg);
    /* Allowed: the trial's records count the downsampled image as x_0. */
    cfg = config(csv, "acquisition", 400);
    assert_int_equal(run(cfg, dir), SPARSE_OK);
    free(cfg);
    sparse_run *r = NULL;
    assert_int_equal(sparse_run_open(&r, dir), SPARSE_OK);
    int mode = -1;
    assert_int_equal(sparse_run_input_downsampling(r, &mode), SPARSE_OK);
    assert_int_equal(mode, SPARSE_INPUT_DOWNSAMPLING_ACQUISITION);
    assert_int_equal(sparse_run_input_downsampling(NULL, &mode), SPARSE_EINVAL);
    double ms = 0, wm6 = 0;
    assert_int_equal(sparse_run_trial_value(r, 0, SPARSE_TRIAL_MS_BYTES, &ms), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(r, 0, SPARSE_TRIAL_WM6_BYTES, &wm6), SPARSE_OK);
    sparse_net *net = NULL, *before = NULL;
    assert_int_equal(sparse_run_trial_net(&net, &before, r, 0), SPARSE_OK);
    uint64_t v[2][2];
    for (int m = 0; m < 2; m++) {
        sparse_memory_options o = SPARSE_MEMORY_OPTIONS_INIT;
        o.input_downsampling = m;
        sparse_memreport *rep = NULL;
        assert_int_equal(sparse_memreport_from_net(&rep, net, &o), SPARSE_OK);
        assert_int_equal(sparse_memreport_wm_bytes(rep, 6, &v[m][0], NULL), SPARSE_OK);
        assert_int_equal(sparse_memreport_ms_bytes(rep, &v[m][1]), SPARSE_OK);
        sparse_memreport_free(rep);
    }
    /* The network counting's largest layer is the downsampling itself,
     * 64 + 16 = 80 B; as acquisition it is gone, and a separable or plain
     * convolution of 2 filters on the 4x4 image (16 in, 32 out) is the
     * largest: 48 B. MS is the same either way. */
    assert_int_equal(v[0][0], 80);
    assert_int_equal(v[1][0], 48);
    assert_true(wm6 == (double)v[1][0]);
    assert_true(ms == (double)v[1][1] && v[0][1] == v[1][1]);
    char svg[800];
    snprintf(svg, sizeof svg, "%s/p.svg", dir);
    assert_int_equal(sparse_run_write_pareto_svg(r, svg), SPARSE_OK);
    char *text = read_all(svg);
    assert_non_null(strstr(text, "working memory WM6 (bytes, int8; input downsampling as acquisition)"));
    free(text);
    sparse_net_free(net);
    sparse_net_free(before);
    sparse_run_free(r);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

const struct CMUnitTest acquisition_tests[] = {
    cmocka_unit_test(test_config_key),
    cmocka_unit_test(test_budget_floor_and_records),
};
const size_t acquisition_test_count = sizeof acquisition_tests / sizeof acquisition_tests[0];
