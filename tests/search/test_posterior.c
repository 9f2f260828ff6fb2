/* Ranking by the surrogate's posterior: repeated measurements of one
 * configuration share one accuracy, a final trial keeps its own, a partial
 * trial speaks through what its curve promised; the final stage, the run
 * view's front and its figures use it. On trials and run directories made
 * up for the purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "sparse/sparse.h"
#include "tiny_run.h"

extern const struct CMUnitTest posterior_tests[];
extern const size_t posterior_test_count;

/* Eight trials on the fixture: 0..3 one configuration (F = 4) measured
 * four times, 4 another (F = 12), 5 a third (F = 20) stopped early, 6 a
 * final trial, 7 failed. */
static void made_up(fixture *f, double points[8][512], sparse__trial *t)
{
    static const double filters[8] = {4, 4, 4, 4, 12, 20, 12, 4}, acc[8] = {0.90, 0.92, 0.91, 0.93, 0.95, 0.80, 0.97, -1};
    for (int i = 0; i < 8; i++) {
        memset(&t[i], 0, sizeof t[i]);
        memcpy(points[i], f->point, sizeof points[i]);
        points[i][f->lay.layer[0][0].filters] = filters[i];
        t[i].point = points[i];
        t[i].ok = i != 7;
        t[i].feasible = t[i].ok;
        t[i].stage = i == 6 ? 4 : 1;
        t[i].val_acc = acc[i];
        t[i].val_se = i == 6 ? 0.002 : sparse__binomial_se(acc[i], 5000);
        t[i].ms = 58 * filters[i] + 3;
        t[i].wm5 = t[i].wm6 = 64 + 16 * filters[i];
    }
    t[5].partial = 1;
    t[5].pred_acc = 0.96;
    t[5].pred_log_sd = 0.1;
}

static void test_posterior_pools_repeats(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, "", "none", 4);
    double points[8][512];
    sparse__trial t[8];
    made_up(&f, points, t);
    assert_int_equal(sparse__posterior(&f.p, t, 8), SPARSE_OK);
    /* One configuration, one value, between its measurements. */
    for (int i = 1; i < 4; i++) {
        assert_true(t[i].has_post);
        assert_true(t[i].post_acc == t[0].post_acc && t[i].post_sd == t[0].post_sd);
    }
    assert_true(t[0].post_acc > 0.90 && t[0].post_acc < 0.93 && t[0].post_sd > 0);
    /* The partial trial counts as what its curve promised, not its 80%. */
    assert_true(t[5].has_post && t[5].post_acc > 0.9);
    /* A final trial keeps its measurement; a failed one has none. */
    assert_true(t[6].has_post && t[6].post_acc == 0.97 && t[6].post_sd == 0.002);
    assert_false(t[7].has_post);
    /* The same trials give the same figures (the fit's draws are seeded). */
    double first = t[4].post_acc;
    t[4].post_acc = 0;
    assert_int_equal(sparse__posterior(&f.p, t, 8), SPARSE_OK);
    assert_true(t[4].post_acc == first);
    /* The run ranks by it, or by the measurement with ranking: validation. */
    t[3].post_acc = 0.5;
    assert_true(sparse__rank_accuracy(f.c, &t[3]) == 0.5);
    f.c->rank_posterior = 0;
    assert_true(sparse__rank_accuracy(f.c, &t[3]) == 0.93);
    fixture_close(&f);
}

/* The final stage picks by the posterior once it is computed: the lucky
 * measurement (trial 3, 93%) gives way to the better configuration; a
 * partial trial is never picked. */
static void test_final_picks_by_posterior(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, "final: {trials: 2, boxes: [{ms_bytes: 2000}]}\n", "none", 4);
    double points[8][512];
    sparse__trial t[8];
    made_up(&f, points, t);
    unsigned char taken[8] = {0};
    size_t box;
    t[4].val_acc = 0.92;
    t[5].val_acc = 0.99; /* measured at its stop: made up, but never to be picked */
    assert_int_equal(sparse__pick_final(f.c, t, 6, 0, taken, &box), 3);
    for (int i = 0; i < 6; i++) {
        t[i].has_post = 1;
        t[i].post_acc = i == 4 ? 0.925 : 0.915;
    }
    assert_int_equal(sparse__pick_final(f.c, t, 6, 0, taken, &box), 4);
    f.c->rank_posterior = 0;
    assert_int_equal(sparse__pick_final(f.c, t, 6, 0, taken, &box), 3);
    fixture_close(&f);
}

/* A run directory written by hand from trials like made_up's. */
static sparse_run *hand_made(const char *dir, const char *extra)
{
    char cfg_text[1024], path[800];
    snprintf(cfg_text, sizeof cfg_text,
             "data: mnist\n%sspace: {blocks: 1, layers_per_block: 1, layer_types: [conv2d], kernel: 3,"
             " filters: [1, 64], pool: 2, input_downsample: [false], batch_norm: [false], residual: [false],"
             " branches: [false], fc_layers: 0, pruning: [none]}\n",
             extra);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    write_text(path, cfg_text);
    fixture f;
    fixture_open(&f, extra, "none", 4);
    double points[8][512];
    sparse__trial t[8];
    made_up(&f, points, t);
    char *trials = calloc(1, 1 << 16);
    for (size_t i = 0; i < 8; i++) {
        sparse__genome g;
        sparse__genome_decode(&f.lay, f.c, t[i].point, &g);
        sparse__outcome o;
        memset(&o, 0, sizeof o);
        o.ok = t[i].ok;
        o.val_acc = t[i].val_acc;
        o.test_acc = t[i].val_acc - 0.01;
        o.val_se = t[i].val_se;
        o.ms = t[i].ms;
        o.wm5 = o.wm6 = t[i].wm5;
        o.partial = t[i].partial;
        o.epochs_done = 1;
        o.pred_acc = t[i].pred_acc;
        o.pred_log_sd = t[i].pred_log_sd;
        char *rec = sparse__trial_record(f.c, f.lay.nvars, i, t[i].stage, SPARSE__NO_PARENT, "initial", "", t[i].point,
                                         &g, &o, 1);
        strcat(trials, rec);
        strcat(trials, "\n");
        free(rec);
    }
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    write_text(path, trials);
    free(trials);
    fixture_close(&f);
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    return run;
}

static int on_front(const sparse_run *run, size_t id)
{
    size_t ids[8], count;
    assert_int_equal(sparse_run_pareto(run, ids, &count), SPARSE_OK);
    for (size_t i = 0; i < count; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* The run view gives each trial's standard error and posterior, and its
 * front leaves out the partial trial whatever it measured. */
static void test_run_view_posterior(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    sparse_run *run = hand_made(dir, "");
    double v;
    assert_int_equal(sparse_run_trial_value(run, 0, SPARSE_TRIAL_VAL_SE, &v), SPARSE_OK);
    assert_true(fabs(v - sqrt(0.9 * 0.1 / 5000)) < 1e-12);
    double p0, p3, se;
    assert_int_equal(sparse_run_trial_value(run, 0, SPARSE_TRIAL_POSTERIOR_ACCURACY, &p0), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(run, 3, SPARSE_TRIAL_POSTERIOR_ACCURACY, &p3), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(run, 3, SPARSE_TRIAL_POSTERIOR_SE, &se), SPARSE_OK);
    assert_true(p0 == p3 && p0 > 0.9 && p0 < 0.93 && se > 0);
    assert_int_equal(sparse_run_trial_value(run, 6, SPARSE_TRIAL_POSTERIOR_ACCURACY, &v), SPARSE_OK);
    assert_true(v == 0.97);
    assert_int_equal(sparse_run_trial_value(run, 7, SPARSE_TRIAL_POSTERIOR_ACCURACY, &v), SPARSE_OK);
    assert_true(v == -1);
    assert_int_equal(sparse_run_trial_value(run, 5, SPARSE_TRIAL_PARTIAL, &v), SPARSE_OK);
    assert_true(v == 1);
    assert_int_equal(sparse_run_trial_value(run, 5, SPARSE_TRIAL_EPOCHS, &v), SPARSE_OK);
    assert_true(v == 1);
    assert_int_equal(sparse_run_trial_value(run, 4, SPARSE_TRIAL_PARTIAL, &v), SPARSE_OK);
    assert_true(v == 0);
    assert_int_equal(sparse_run_trial_value(run, 0, SPARSE_TRIAL_ARENA_BYTES + 1, &v), SPARSE_ERANGE);
    /* Trial 3's lucky 93% is its configuration's ~91.5%, which trial 0
     * holds as well: they tie on the front. Never trial 5. */
    assert_true(on_front(run, 3) && on_front(run, 0));
    assert_false(on_front(run, 5));
    assert_true(on_front(run, 6));
    sparse_run_free(run);
    /* By the measurements, the lucky trial 3 beats trial 0 of the same size. */
    rm_rf(dir);
    free(dir);
    dir = make_tmpdir();
    run = hand_made(dir, "ranking: validation\n");
    assert_true(on_front(run, 3));
    assert_false(on_front(run, 0));
    assert_false(on_front(run, 5));
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

/* Past 256 trials the posterior follows the proposals' hyper-parameter
 * schedule (sparse_exp_gp_schedule): 300 trials of 29 configurations whose
 * accuracy grows with the filter count, each measured with noise. */
static void test_posterior_many_trials(void **state)
{
    (void)state;
    enum { N = 300 };
    fixture f;
    fixture_open(&f, "", "none", 4);
    double (*points)[512] = malloc(N * sizeof *points);
    sparse__trial *t = calloc(N, sizeof *t);
    assert_non_null(points);
    assert_non_null(t);
    for (int i = 0; i < N; i++) {
        double filters = 4 + (i * 7) % 29, truth = 0.90 + 0.002 * filters;
        memcpy(points[i], f.point, sizeof points[i]);
        points[i][f.lay.layer[0][0].filters] = filters;
        t[i].point = points[i];
        t[i].ok = t[i].feasible = 1;
        t[i].stage = 1;
        t[i].val_se = sparse__binomial_se(truth, 5000);
        t[i].val_acc = truth + t[i].val_se * sin(1.7 * i);
        t[i].ms = 58 * filters + 3;
        t[i].wm5 = t[i].wm6 = 64 + 16 * filters;
    }
    assert_int_equal(sparse__posterior(&f.p, t, N), SPARSE_OK);
    double lo = 0, hi = 0;
    for (int i = 0; i < N; i++) {
        assert_true(t[i].has_post && t[i].post_sd > 0);
        if (points[i][f.lay.layer[0][0].filters] == 4)
            lo = t[i].post_acc;
        if (points[i][f.lay.layer[0][0].filters] == 32)
            hi = t[i].post_acc;
    }
    /* 90.8% and 96.4% measured about 10 times each. */
    assert_true(lo > 0.9 && lo < 0.92 && hi > 0.955 && hi < 0.975);
    double first = t[N - 1].post_acc;
    assert_int_equal(sparse__posterior(&f.p, t, N), SPARSE_OK);
    assert_true(t[N - 1].post_acc == first);
    free(points);
    free(t);
    fixture_close(&f);
}

const struct CMUnitTest posterior_tests[] = {
    cmocka_unit_test(test_posterior_pools_repeats),
    cmocka_unit_test(test_final_picks_by_posterior),
    cmocka_unit_test(test_run_view_posterior),
    cmocka_unit_test(test_posterior_many_trials),
};
const size_t posterior_test_count = sizeof posterior_tests / sizeof posterior_tests[0];
