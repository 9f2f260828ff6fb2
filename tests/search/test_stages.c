/* End to end on the tiny data set: the final stage retraining the best
 * network of each budget box (by validation accuracy, then by posterior
 * mean; an SpVD network fitted into its box by its thresholds) and the
 * multi-fidelity early stop. */
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

extern const struct CMUnitTest stages_tests[];
extern const size_t stages_test_count;

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
    sparse_search_config *c = parse_config(cfg);
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

/* The number after key in a record. */
static double number_at(const char *record, const char *key)
{
    const char *p = strstr(record, key);
    assert_non_null(p);
    return strtod(p + strlen(key), NULL);
}

/* The first n lines of text (caller frees). */
static char *head_of(const char *text, size_t n)
{
    const char *end = text;
    for (size_t i = 0; i < n; i++) {
        end = strchr(end, '\n');
        assert_non_null(end);
        end++;
    }
    char *out = malloc((size_t)(end - text) + 1);
    memcpy(out, text, (size_t)(end - text));
    out[end - text] = '\0';
    return out;
}

/* Keeps the first n records of run and resumes it: the same records. */
static void cut_and_resume(const char *run, size_t n, const char *expect)
{
    char path[800];
    char *all = read_all(path_in(path, sizeof path, run)), *cut = head_of(all, n);
    write_text(path, cut);
    rewind_state(run, n);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    assert_int_equal(sparse_search_resume(run, &o), SPARSE_OK);
    char *again = records_of(run);
    assert_string_equal(again, expect);
    free(again);
    free(cut);
    free(all);
}

/* Trial t of run r rebuilt from its record and weights, as inspect and
 * export see it: the MS, WM5 and validation accuracy it records. */
static void expect_rebuilt(const sparse_run *r, size_t t)
{
    sparse_net *net = NULL;
    sparse_dataset *train = NULL, *val = NULL, *test = NULL;
    assert_int_equal(sparse_run_trial_net(&net, NULL, r, t), SPARSE_OK);
    sparse_memreport *m = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    assert_int_equal(sparse_run_input_downsampling(r, &mo.input_downsampling), SPARSE_OK);
    assert_int_equal(sparse_memreport_from_net(&m, net, &mo), SPARSE_OK);
    uint64_t ms = 0, wm = 0;
    double acc = -1;
    assert_int_equal(sparse_memreport_ms_bytes(m, &ms), SPARSE_OK);
    assert_int_equal(sparse_memreport_wm_bytes(m, 5, &wm, NULL), SPARSE_OK);
    assert_true((double)ms == trial_value(r, t, SPARSE_TRIAL_MS_BYTES));
    assert_true((double)wm == trial_value(r, t, SPARSE_TRIAL_WM5_BYTES));
    assert_int_equal(sparse_run_open_data(&train, &val, &test, r, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_evaluate(net, val, &acc), SPARSE_OK);
    assert_true(acc == trial_value(r, t, SPARSE_TRIAL_VAL_ACCURACY));
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    sparse_memreport_free(m);
    sparse_net_free(net);
}

/* Final trial t of run r (its records) kept its parent's point and thresholds. */
static void expect_parent_point(const char *records, const sparse_run *r, size_t t)
{
    char *rec = line_of(records, t), *prec = line_of(records, (size_t)trial_value(r, t, SPARSE_TRIAL_PARENT));
    char *pt = point_of(rec), *ppt = point_of(prec);
    assert_string_equal(pt, ppt);
    assert_null(strstr(rec, "threshold_offset"));
    free(pt);
    free(ppt);
    free(rec);
    free(prec);
}

/* Final trial t of run r fitted into its box: its point is its parent's
 * with every threshold lowered by the recorded offset (none below the
 * range), its record's FC threshold the point's. */
static void expect_lowered(const sparse_run *r, size_t t, const char *record, double offset)
{
    const sparse_search_config *cfg = sparse__run_config(r);
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, cfg), SPARSE_OK);
    const double *pt = sparse__run_point(r, t);
    const double *pp = sparse__run_point(r, (size_t)trial_value(r, t, SPARSE_TRIAL_PARENT));
    unsigned char *thr = calloc(lay.nvars, 1);
    for (int k = 0; k < lay.bmax; k++)
        for (int l = 0; l < lay.lmax; l++)
            if (lay.layer[k][l].threshold != SIZE_MAX)
                thr[lay.layer[k][l].threshold] = 1;
    assert_true(lay.threshold_fc != SIZE_MAX);
    thr[lay.threshold_fc] = 1;
    size_t lowered = 0;
    for (size_t v = 0; v < lay.nvars; v++) {
        if (!thr[v] || isnan(pp[v])) {
            assert_memory_equal(&pt[v], &pp[v], sizeof pt[v]);
            continue;
        }
        assert_true(pt[v] == fmax(cfg->threshold.lo, pp[v] - offset));
        lowered += pt[v] < pp[v];
    }
    assert_true(lowered > 0);
    assert_true(number_at(record, "\"fc_threshold\":") == pt[lay.threshold_fc]);
    free(thr);
    sparse__layout_destroy(&lay);
}

/* A final SpVD network that outgrows its box (retrained before its KL term
 * starts, its log alphas fall) is pruned with lower thresholds until it
 * fits: its record holds those thresholds, its offset and the network
 * they give, and a resume writes the same records. In a loose box nothing
 * changes; with the thresholds fixed (space.threshold one value) nothing
 * can, and the record says so. */
static void test_final_spvd_fits_its_box(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp);
    char loose[700], tight[700];
    const char *fixed[2] = {"", ", threshold: [3, 3]"};
    for (int k = 0; k < 2; k++) {
        snprintf(loose, sizeof loose, "%s/loose%d", tmp, k);
        snprintf(tight, sizeof tight, "%s/tight%d", tmp, k);
        char *cfg = growing_final_config(csv, fixed[k], 2000, 2000);
        run_search(cfg, loose, 0);
        free(cfg);
        char *lrec = records_of(loose);
        sparse_run *r;
        assert_int_equal(sparse_run_open(&r, loose), SPARSE_OK);
        for (size_t t = 8; t < 10; t++) { /* within the loose box: as they are */
            expect_parent_point(lrec, r, t);
            char *rec = line_of(lrec, t);
            assert_null(strstr(rec, "\"note\""));
            free(rec);
        }
        double parent = trial_value(r, 8, SPARSE_TRIAL_PARENT), ms, wm;
        double grown_ms = trial_value(r, 8, SPARSE_TRIAL_MS_BYTES);
        double grown_wm = trial_value(r, 8, SPARSE_TRIAL_WM5_BYTES);
        parent_sizes(loose, 8, &ms, &wm);
        print_message("final trial 8 in a loose box: MS %g -> %g B, WM5 %g -> %g B\n", ms, grown_ms, wm,
                      grown_wm);
        assert_true(grown_ms > ms);
        sparse_run_free(r);

        /* Its parent's MS as the box: the same parent, which it outgrows. */
        cfg = growing_final_config(csv, fixed[k], ms, 2000);
        run_search(cfg, tight, 0);
        free(cfg);
        char *trec = records_of(tight), *lhead = head_of(lrec, 8), *thead = head_of(trec, 8);
        assert_string_equal(lhead, thead);
        assert_int_equal(sparse_run_open(&r, tight), SPARSE_OK);
        assert_true(trial_value(r, 8, SPARSE_TRIAL_PARENT) == parent);
        char *rec = line_of(trec, 8);
        double fit_ms = trial_value(r, 8, SPARSE_TRIAL_MS_BYTES);
        double fit_wm = trial_value(r, 8, SPARSE_TRIAL_WM5_BYTES);
        double lowered = strstr(rec, "threshold_offset") ? number_at(rec, "\"threshold_offset\":") : 0.0;
        print_message("in a box of its parent's MS: MS %g B, WM5 %g B, thresholds lowered by %g\n", fit_ms,
                      fit_wm, lowered);
        if (k == 0) {
            double offset = number_at(rec, "\"threshold_offset\":");
            assert_true(offset > 0);
            assert_true(fit_ms <= ms && fit_wm <= 2000);
            assert_null(strstr(rec, "\"note\""));
            expect_lowered(r, 8, rec, offset);
            cut_and_resume(tight, 9, trec);  /* after the fitted trial */
            cut_and_resume(tight, 8, trec);  /* before it: fitted again alike */
        } else {
            expect_parent_point(trec, r, 8);
            assert_non_null(strstr(rec, "\"note\":\"outside its final box (MS <= "));
            assert_true(fit_ms == grown_ms && fit_wm == grown_wm);
        }
        expect_rebuilt(r, 8);
        sparse_run_free(r);
        free(rec);
        free(lhead);
        free(thead);
        free(trec);
        free(lrec);
    }
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

const struct CMUnitTest stages_tests[] = {
    cmocka_unit_test(test_final_stage_retrains_the_best_of_each_box),
    cmocka_unit_test(test_early_stop_end_to_end),
    cmocka_unit_test(test_final_stage_picks_by_posterior),
    cmocka_unit_test(test_final_spvd_fits_its_box),
};
const size_t stages_test_count = sizeof stages_tests / sizeof stages_tests[0];
