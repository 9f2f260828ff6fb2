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
extern const struct CMUnitTest space_tests[];
extern const size_t space_test_count;
extern const struct CMUnitTest stages_tests[];
extern const size_t stages_test_count;
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

/* ---- end to end on a tiny generated data set ---- */


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
    sparse_search_config *c = parse_config(cfg);
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
    sparse_search_config *c = parse_config(cfg);
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
    sparse_search_config *c = parse_config(cfg);
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
    c = parse_config(cfg);
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
    sparse_search_config *c = parse_config(cfg);
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
    c = parse_config(shifted);
    assert_int_equal(sparse_search_run(c, run, NULL), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "space.shift up to 8 pixels: the images are 8x8"));
    assert_int_equal(access(run, F_OK), -1);
    sparse_search_config_free(c);
    free(shifted);
    /* 64 B is the bound itself: allowed (the input layer alone meets it) */
    set_budgets(cfg, "budgets: {ms_bytes: 2000, wm_bytes:   64}");
    c = parse_config(cfg);
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
    sparse_search_config *c = parse_config("data: mnist\nspace: {blocks: [2, 2], layers_per_block: [1, 1], layer_types: [conv2d],"
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
    sparse_search_config *c = parse_config(cfg);
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
        cmocka_unit_test(test_search_resume_after_kill_is_identical),
        cmocka_unit_test(test_seed_option),
        cmocka_unit_test(test_impossible_budget_is_refused),
        cmocka_unit_test(test_budget_below_input_is_refused),
        cmocka_unit_test(test_random_points_fill_the_budget),
        cmocka_unit_test(test_widened_child_starts_from_parent),
        cmocka_unit_test(test_workers_keep_records_identical),
    };
    if (getenv("SPARSE_TEST_ONLY")) /* one test, e.g. in the ThreadSanitizer build (tools/test.sh) */
        cmocka_set_test_filter(getenv("SPARSE_TEST_ONLY"));
    int fails = _cmocka_run_group_tests("runlog", runlog_tests, runlog_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("records", records_tests, records_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("cap", cap_tests, cap_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("acquisition", acquisition_tests, acquisition_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("noise", noise_tests, noise_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("space", space_tests, space_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("stages", stages_tests, stages_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("final", final_tests, final_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("posterior", posterior_tests, posterior_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("curve", curve_tests, curve_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("plot", plot_tests, plot_test_count, NULL, NULL);
    fails += _cmocka_run_group_tests("runstore", runstore_tests, runstore_test_count, runstore_setup,
                                     runstore_teardown);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
