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
#include "search/loop.h"
#include "sparse/experimental.h"
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

    free(again);
    free(cut);
    free(text);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* final.fill: each network widened until it fills its box, never beyond
 * it; none when scaling moves only a variable the network does not use. */
static void test_final_stage_fills_its_box(void **state)
{
    (void)state;
    char *tmp = make_tmpdir();
    char *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], run[700], path[800];
    sparse_run *r;
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

/* ---- final.fill: dense ---- */

/* point made the plain network of its architecture, as a point of lay's
 * space has it: pruning none, the variables only pruning uses none. */
static void make_plain(const sparse__layout *lay, double *point)
{
    int active[512];
    point[lay->prune] = 0;
    assert_int_equal(sparse_space_active(lay->space, point, active), SPARSE_OK);
    for (size_t i = 0; i < lay->nvars; i++)
        if (!active[i])
            point[i] = NAN;
}

/* What final.fill: true makes of the plain parent of point's architecture
 * in the box {ms, wm} (sparse__fill_box's flags); the point into out. */
static int filled_plain(const sparse_search_config *cfg, const sparse__layout *lay, const double *point,
                        double *out)
{
    sparse_search_config widen = *cfg; /* borrowed pointers: never freed */
    widen.final_fill = SPARSE__FILL_WIDEN;
    sparse__problem p = {&widen, lay, 1, 8, 8, 3};
    double plain[512];
    memcpy(plain, point, lay->nvars * sizeof *plain);
    make_plain(lay, plain);
    sparse__cap_figures f;
    assert_true(sparse__dense_figures(&p, plain, &f));
    sparse__trial tr;
    memset(&tr, 0, sizeof tr);
    tr.ok = 1;
    tr.point = plain;
    tr.ms = (double)f.ms;
    tr.wm5 = tr.wm6 = (double)f.wm;
    memcpy(out, plain, lay->nvars * sizeof *out);
    return sparse__fill_box(&p, &tr, 0, out);
}

/* The largest gaps, over every weight a plain child inherited from its
 * parent (nodes of the same name and kind, the leading slice of each
 * dimension), between the child's and the parent's mean (theta, times z_mu
 * under BC) and between the child's and theta. */
static void gaps(sparse_net *child, sparse_net *parent, double *to_mean, double *to_theta)
{
    *to_mean = *to_theta = 0;
    for (size_t id = 1; id < sparse_net_node_count(child); id++) {
        size_t pid;
        sparse_tensor *cw = NULL, *pw = NULL, *z = NULL;
        if (sparse_net_find_node(parent, sparse_net_node_name(child, id), &pid) ||
            sparse_net_param(&cw, child, id, "weight")) {
            sparse_clear_error();
            continue;
        }
        const int fc = sparse_net_node_kind(child, id) == SPARSE_LAYER_FC;
        assert_int_equal(sparse_net_param(&pw, parent, pid, "weight"), SPARSE_OK);
        if (sparse_exp_net_variational_mode(parent, pid) == SPARSE_PRUNE_BC)
            assert_int_equal(sparse_net_param(&z, parent, pid, "z_mu"), SPARSE_OK);
        size_t n[4] = {1, 1, 1, 1};
        ptrdiff_t cs[4] = {0, 0, 0, 0}, ps[4] = {0, 0, 0, 0};
        for (int i = 0; i < sparse_tensor_dim_count(cw); i++) {
            n[i] = sparse_tensor_dim(cw, i) < sparse_tensor_dim(pw, i) ? sparse_tensor_dim(cw, i)
                                                                       : sparse_tensor_dim(pw, i);
            cs[i] = sparse_tensor_stride(cw, i);
            ps[i] = sparse_tensor_stride(pw, i);
        }
        const float *c = sparse_tensor_data_const(cw), *w = sparse_tensor_data_const(pw);
        for (size_t a = 0; a < n[0]; a++)
            for (size_t b = 0; b < n[1]; b++)
                for (size_t e = 0; e < n[2] * n[3]; e++) {
                    size_t k2 = e / n[3], k3 = e % n[3];
                    double cv = c[(ptrdiff_t)a * cs[0] + (ptrdiff_t)b * cs[1] + (ptrdiff_t)k2 * cs[2] +
                                  (ptrdiff_t)k3 * cs[3]];
                    double theta = w[(ptrdiff_t)a * ps[0] + (ptrdiff_t)b * ps[1] + (ptrdiff_t)k2 * ps[2] +
                                     (ptrdiff_t)k3 * ps[3]];
                    double mean = theta * (z ? sparse_tensor_data_const(z)[fc ? b : a] : 1.0f);
                    *to_mean = fmax(*to_mean, fabs(cv - mean));
                    *to_theta = fmax(*to_theta, fabs(cv - theta));
                }
        sparse_tensor_free(cw);
        sparse_tensor_free(pw);
        sparse_tensor_free(z);
    }
}

/* The weights of trial t of run r, as the search saved them (a pruned
 * trial's in its variational mode). */
static sparse_net *saved_weights(const char *run, const sparse_run *r, const sparse__layout *lay, size_t t)
{
    char path[800];
    snprintf(path, sizeof path, "%s/weights/%zu.safetensors", run, t);
    sparse__genome g;
    sparse__genome_decode(lay, sparse__run_config(r), sparse__run_point(r, t), &g);
    sparse_net *net = NULL;
    assert_int_equal(sparse__load_trial(path, &g, 1, &net), SPARSE_OK);
    return net;
}

/* The final trials (every searched one taken) of the run of cfg into run:
 * a pruned parent whose dense network fits the budgets' box is trained
 * plain, its point what fill: true makes of the plain parent of its
 * architecture, its record's point the network it measured, within the box;
 * one that does not fit is filled as under fill: true. How many were
 * trained plain (the first into *first); for those of SpVD parents
 * (gap[0]) and of BC ones (gap[1]), the largest gap of their weights to
 * their parents' means (gaps) and its largest ratio to the gap to theta
 * (-1: none). */
static int check_dense_finals(const char *cfg, const char *run, size_t *first, double gap[2][2])
{
    run_search(cfg, run, 0);
    char *records = records_of(run);
    sparse_run *r;
    assert_int_equal(sparse_run_open(&r, run), SPARSE_OK);
    const sparse_search_config *c = sparse__run_config(r);
    assert_int_equal(c->final_fill, SPARSE__FILL_DENSE);
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, c), SPARSE_OK);
    sparse__problem p = {c, &lay, 1, 8, 8, 3};
    int dense = 0;
    gap[0][0] = gap[0][1] = gap[1][0] = gap[1][1] = -1;
    for (size_t t = 8; t < sparse_run_trial_count(r); t++) {
        size_t pi = (size_t)trial_value(r, t, SPARSE_TRIAL_PARENT);
        char *rec = line_of(records, t), *prec = line_of(records, pi);
        const double *pt = sparse__run_point(r, t), *ppt = sparse__run_point(r, pi);
        sparse__genome pg;
        sparse__genome_decode(&lay, c, ppt, &pg);
        sparse__cap_figures f;
        assert_true(sparse__dense_figures(&p, ppt, &f));
        double want[512];
        int flags = filled_plain(c, &lay, ppt, want);
        if (pg.prune != SPARSE_PRUNE_NONE && f.ms <= 2000 && f.wm <= 2000) {
            assert_non_null(strstr(rec, flags & SPARSE__FILLED_WIDER ? "\"morph\":\"dense+widen+retrain\""
                                                                      : "\"morph\":\"dense+retrain\""));
            assert_non_null(strstr(rec, "\"pruning\":{\"method\":\"none\"}"));
            for (size_t v = 0; v < lay.nvars; v++)
                assert_true((isnan(pt[v]) && isnan(want[v])) || pt[v] == want[v]);
            assert_true(trial_value(r, t, SPARSE_TRIAL_MS_BYTES) <= 2000);
            assert_true(trial_value(r, t, SPARSE_TRIAL_WM5_BYTES) <= 2000);
            assert_null(strstr(rec, "\"inherited_params\":0,"));
            expect_rebuilt(r, t);
            sparse_net *child = saved_weights(run, r, &lay, t), *parent = saved_weights(run, r, &lay, pi);
            double to_mean, to_theta;
            gaps(child, parent, &to_mean, &to_theta);
            const int k = pg.prune == SPARSE_PRUNE_BC;
            gap[k][0] = fmax(gap[k][0], to_mean);
            gap[k][1] = fmax(gap[k][1], to_mean / to_theta);
            print_message("final trial %zu: %s parent %zu (dense MS %llu B) trained plain, %s; MS %g B; "
                          "weights off the parent's means by %g, off theta by %g\n",
                          t, k ? "BC" : "SpVD", pi, (unsigned long long)f.ms,
                          flags & SPARSE__FILLED_WIDER ? "widened" : "as wide",
                          trial_value(r, t, SPARSE_TRIAL_MS_BYTES), to_mean, to_theta);
            sparse_net_free(child);
            sparse_net_free(parent);
            if (!dense++)
                *first = t;
        } else {
            /* A plain parent, or a pruned one too wide for the box as a
             * plain network: as under fill: true, its method kept. */
            assert_null(strstr(rec, "\"morph\":\"dense+"));
            const char *method = strstr(prec, "\"pruning\":{\"method\":\""),
                       *own = strstr(rec, "\"pruning\":{\"method\":\"");
            assert_non_null(method);
            assert_non_null(own);
            assert_int_equal(strncmp(own, method, 26), 0); /* the name and what follows it */
        }
        free(rec);
        free(prec);
    }
    sparse__layout_destroy(&lay);
    sparse_run_free(r);
    free(records);
    return dense;
}

/* final.fill: dense end to end on the tiny set, every searched trial taken
 * (8 final trials in the budgets' box): see check_dense_finals; a resume
 * before and after a plain-trained trial writes the same records. With a
 * learning rate of 1e-6 (SGD: the weights barely move), the plain networks
 * hold their parents' means: theta for SpVD parents, z_mu theta for BC
 * ones, not theta. */
static void test_final_dense(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp);
    char *base = tiny_config(csv), cfg[4600], run[700];
    size_t first = 0;
    double gap[2][2];
    snprintf(cfg, sizeof cfg,
             "%srandom_fill: 0\nranking: validation\nfinal: {trials: 8, epochs: 2, fill: dense}\n", base);
    snprintf(run, sizeof run, "%s/dense", tmp);
    int dense = check_dense_finals(cfg, run, &first, gap);
    print_message("%d final trials trained plain\n", dense);
    assert_true(dense >= 1);
    char *records = records_of(run);
    cut_and_resume(run, first + 1, records); /* after a plain-trained trial */
    cut_and_resume(run, first, records);     /* before it: made plain and trained again alike */
    free(records);

    /* Weights that barely move. */
    char *training = strstr(base, "training: {batch: 16}"), *shift = strstr(base, "shift: [1, 1]}");
    assert_non_null(training);
    assert_non_null(shift);
    const char *after_training = training + strlen("training: {batch: 16}");
    snprintf(cfg, sizeof cfg,
             "%.*straining: {batch: 16, optimizer: sgd, schedule: constant}%.*sshift: [1, 1], lr: [0.000001, "
             "0.000001]}\nrandom_fill: 0\nranking: validation\nfinal: {trials: 8, epochs: 1, fill: dense}\n",
             (int)(training - base), base, (int)(shift - after_training), after_training);
    snprintf(run, sizeof run, "%s/still", tmp);
    dense = check_dense_finals(cfg, run, &first, gap);
    print_message("%d trained plain: off the means by %g (SpVD) and %g (BC), %g of the gap to theta (BC)\n",
                  dense, gap[0][0], gap[1][0], gap[1][1]);
    /* A BC parent was among them: the child's weights are within what one
     * epoch at 1e-6 moves them of its means, and 20 times closer to them
     * than to theta (z_mu is near 1, not 1). */
    assert_true(gap[1][0] >= 0 && gap[1][0] < 2e-3 && gap[1][1] < 0.05);
    assert_true(gap[0][0] < 2e-3);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

const struct CMUnitTest stages_tests[] = {
    cmocka_unit_test(test_final_stage_retrains_the_best_of_each_box),
    cmocka_unit_test(test_final_stage_fills_its_box),
    cmocka_unit_test(test_early_stop_end_to_end),
    cmocka_unit_test(test_final_stage_picks_by_posterior),
    cmocka_unit_test(test_final_spvd_fits_its_box),
    cmocka_unit_test(test_final_dense),
};
const size_t stages_test_count = sizeof stages_tests / sizeof stages_tests[0];
