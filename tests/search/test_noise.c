/* The search config's training.prune_noise: parsed, validated, written to
 * config.yaml only when not the default, and used by pruned trials (the
 * same search with the other kind trains other weights). */
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

extern const struct CMUnitTest noise_tests[];
extern const size_t noise_test_count;

static void test_noise_key(void **state)
{
    (void)state;
    /* the default is not written: a run started before the key resumes */
    expect_resolved("data: mnist\n", NULL, "prune_noise");
    expect_resolved("data: mnist\ntraining: {prune_noise: activation}\n", NULL, "prune_noise");
    expect_resolved("data: mnist\ntraining: {prune_noise: weight}\n",
                    "  schedule: one_cycle\n  prune_noise: weight\nspace:\n", NULL);
    const char *bad = "data: mnist\ntraining:\n  prune_noise: local\n";
    sparse_search_config *c = (sparse_search_config *)0x1;
    assert_int_equal(sparse_search_config_parse(&c, bad, strlen(bad), "bad.yaml"), SPARSE_ERANGE);
    assert_null(c);
    assert_non_null(strstr(sparse_last_error(), "bad.yaml:3:16: training.prune_noise: unknown value 'local' "
                                                "(allowed: activation, weight)"));
}

/* One SpVD trial on the tiny data set under each kind: both train and
 * record, and the weights differ (the kind reaches the trial). */
static void test_noise_trains(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp);
    char *records[2];
    for (int k = 0; k < 2; k++) {
        char cfg[2048], dir[700];
        snprintf(dir, sizeof dir, "%s/run%d", tmp, k);
        snprintf(cfg, sizeof cfg,
                 "data: {source: \"%s\", val_count: 60}\nseed: 3\nthreads: 1\ninitial_trials: 1\n"
                 "stages: [{trials: 1, rho: 0.5}, {trials: 0, rho: 0.5}, {trials: 0, rho: 0.5}]\n"
                 "training: {batch: 16, prune_noise: %s}\n"
                 "space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [4, 4], kernel: [3, 3],"
                 " pool: [2, 2], input_downsample: [false], batch_norm: [false], branches: [false],"
                 " fc_layers: [0, 0], epochs: [2, 2], pruning: [spvd]}\n",
                 csv, k ? "weight" : "activation");
        sparse_search_config *c = NULL;
        assert_int_equal(sparse_search_config_parse(&c, cfg, strlen(cfg), "t.yaml"), SPARSE_OK);
        sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
        o.max_trials = 1;
        if (sparse_search_run(c, dir, &o))
            fail_msg("%s", sparse_last_error());
        sparse_search_config_free(c);
        records[k] = records_of(dir);
        assert_non_null(strstr(records[k], "\"pruning\":{\"method\":\"spvd\""));
    }
    assert_string_not_equal(records[0], records[1]);
    free(records[0]);
    free(records[1]);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

const struct CMUnitTest noise_tests[] = {
    cmocka_unit_test(test_noise_key),
    cmocka_unit_test(test_noise_trains),
};
const size_t noise_test_count = sizeof noise_tests / sizeof noise_tests[0];
