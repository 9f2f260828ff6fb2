/* The Pareto plot draws the reference points its caller gives, from the run
 * config or the options, and nothing it was not given, whatever the data
 * set; on a run directory written by hand, so no search runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "search/loop.h"
#include "sparse/sparse.h"
#include "tiny_run.h"

extern const struct CMUnitTest plot_tests[];
extern const size_t plot_test_count;

static const char *with_references =
    "plot:\n  references:\n"
    "    - {label: paper Table 3, accuracy: 0.9864, ms_bytes: 2836.48, wm_bytes: 2007.04}\n"
    "    - {label: by hand, accuracy: 0.9717, ms_bytes: 1066, wm_bytes: 802}\n"
    "    - {label: paper Table 3, accuracy: 0.9649, ms_bytes: 1474.56}\n";

/* dir/name holding text. */
static void write_to(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A run directory of MNIST's name with two trials and the config's extra
 * lines; opened. */
static sparse_run *hand_made_run(const char *dir, const char *extra)
{
    char cfg_text[2048];
    snprintf(cfg_text, sizeof cfg_text, "data: mnist\nbudgets: {ms_bytes: 2000, wm_bytes: 2000}\n%s", extra);
    write_to(dir, "config.yaml", cfg_text);
    sparse_search_config *c;
    assert_int_equal(sparse_search_config_parse(&c, cfg_text, strlen(cfg_text), "c.yaml"), SPARSE_OK);
    sparse__layout lay;
    assert_int_equal(sparse__layout_create(&lay, c), SPARSE_OK);
    double point[512];
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 1), SPARSE_OK);
    assert_int_equal(sparse_space_sample(lay.space, rng, point), SPARSE_OK);
    sparse__genome g;
    sparse__genome_decode(&lay, c, point, &g);
    sparse__outcome o;
    memset(&o, 0, sizeof o);
    o.ok = 1;
    char trials[8192] = "";
    for (size_t t = 0; t < 2; t++) {
        /* Two configurations: one measured twice would share one accuracy. */
        if (t)
            assert_int_equal(sparse_space_sample(lay.space, rng, point), SPARSE_OK);
        o.val_acc = 0.97 + 0.01 * (double)t;
        o.test_acc = o.val_acc - 0.005;
        o.ms = o.wm5 = o.wm6 = 900 + 600 * (double)t;
        char *rec =
            sparse__trial_record(c, lay.nvars, t, 1, SPARSE__NO_PARENT, "initial", "", point, &g, &o, 1);
        strcat(trials, rec);
        strcat(trials, "\n");
        free(rec);
    }
    write_to(dir, "trials.jsonl", trials);
    sparse_rng_free(rng);
    sparse__layout_destroy(&lay);
    sparse_search_config_free(c);
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    return run;
}

static char *plotted(const sparse_run *run, const char *path, const sparse_plot_options *opts)
{
    int rc = sparse_run_write_pareto_svg_ext(run, path, opts);
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    char *svg;
    size_t len;
    assert_int_equal(sparse__read_file(path, &svg, &len), SPARSE_OK);
    return svg;
}

static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_plot_draws_the_config_references(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/pareto.svg", dir);
    sparse_run *run = hand_made_run(dir, with_references);
    char *svg = plotted(run, path, NULL);
    /* On both panels, or on MS only without a WM figure; named in their
     * tooltips, never by text among the points. */
    assert_int_equal(occurrences(svg, "<title>paper Table 3: 98.64%, "), 2);
    assert_int_equal(occurrences(svg, "<title>paper Table 3: 96.49%, MS 1475 B<"), 1);
    assert_int_equal(occurrences(svg, "<title>by hand: 97.17%, "), 2);
    assert_int_equal(occurrences(svg, "<path class=\"ref\""), 5);
    assert_null(strstr(svg, ">paper Table 3 98.64%<"));
    /* One legend entry, colour and marker per label, the first label's
     * first, below the panels. */
    assert_int_equal(occurrences(svg, "<path class=\"key\""), 2);
    assert_int_equal(occurrences(svg, ">paper Table 3</text>"), 1);
    assert_int_equal(occurrences(svg, ">by hand</text>"), 1);
    assert_int_equal(occurrences(svg, "stroke=\"#d62728\""), 3 + 1);
    assert_int_equal(occurrences(svg, "stroke=\"#2ca02c\""), 2 + 1);
    assert_int_equal(occurrences(svg, "<circle cx="), 2 * 2 + 2 * 2 + 2); /* trials, front, legend */
    free(svg);
    /* Through the API: the caller's references only, escaped as text. */
    sparse_plot_options o;
    assert_int_equal(sparse_plot_options_init(&o, SPARSE_PLOT_OPTIONS_VERSION), SPARSE_OK);
    assert_int_equal(o.config_references, 1);
    const sparse_plot_reference mine[] = {{"A & <B>", 0.5, 0, 1500}};
    o.references = mine;
    o.reference_count = 1;
    o.config_references = 0;
    svg = plotted(run, path, &o);
    assert_null(strstr(svg, "paper"));
    assert_int_equal(occurrences(svg, "<title>A &amp; &lt;B&gt;: 50.00%, WM 1500 B<"), 1);
    assert_int_equal(occurrences(svg, ">A &amp; &lt;B&gt;</text>"), 1);
    free(svg);
    o.config_references = 1;
    svg = plotted(run, path, &o);
    assert_int_equal(occurrences(svg, "<path class=\"ref\""), 6);
    assert_int_equal(occurrences(svg, "stroke=\"#9467bd\""), 1 + 1);
    free(svg);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

/* A run on MNIST whose config gives no references shows none. */
static void test_plot_knows_no_data_set(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/pareto.svg", dir);
    sparse_run *run = hand_made_run(dir, "");
    char *svg = plotted(run, path, NULL);
    assert_null(strstr(svg, "<path class=\"ref\""));
    assert_null(strstr(svg, "<path class=\"key\""));
    assert_null(strstr(svg, "paper"));
    assert_null(strstr(svg, "reference"));
    assert_non_null(strstr(svg, "SpArSe search: 2 trials, 2 on the front (WM model 5)"));
    free(svg);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

/* Every "x" attribute of text in svg lies in [0, width]: no label leaves
 * the figure. Returns the count of tick labels on the accuracy axes. */
static int texts_inside(const char *svg)
{
    double width = 0;
    assert_int_equal(sscanf(strstr(svg, "<svg "), "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%lf\"", &width), 1);
    for (const char *p = svg; (p = strstr(p, "<text ")); p++) {
        double x = -1;
        const char *at = strstr(p, " x=\"");
        assert_non_null(at);
        assert_int_equal(sscanf(at, " x=\"%lf\"", &x), 1);
        assert_true(x >= 0 && x <= width);
    }
    return occurrences(svg, "text-anchor=\"end\">");
}

/* The accuracy axis says which accuracy it shows, from the config or the
 * options, and has ticks enough to read it. */
static void test_plot_states_its_accuracy(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/pareto.svg", dir);
    sparse_run *run = hand_made_run(dir, "plot: {accuracy: test}\n");
    char *svg = plotted(run, path, NULL);
    assert_int_equal(occurrences(svg, ">test accuracy (%)</text>"), 2);
    assert_null(strstr(svg, "validation accuracy (%)"));
    /* Trials at their test accuracy: 97.00 - 0.5 and 98.00 - 0.5. */
    assert_non_null(strstr(svg, "<title>trial 1: 97.50%"));
    /* Two panels of 4 to 8 ticks each, every label inside the figure. */
    int ticks = texts_inside(svg);
    assert_true(ticks >= 2 * 4 && ticks <= 2 * 8 + 2);
    free(svg);
    sparse_plot_options o = SPARSE_PLOT_OPTIONS_INIT;
    assert_int_equal(o.accuracy, SPARSE_PLOT_ACCURACY_CONFIG);
    o.accuracy = SPARSE_PLOT_ACCURACY_VALIDATION;
    svg = plotted(run, path, &o);
    assert_int_equal(occurrences(svg, ">validation accuracy (%)</text>"), 2);
    assert_non_null(strstr(svg, "<title>trial 1: 98.00%"));
    free(svg);
    o.accuracy = 2;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_EINVAL);
    sparse_run_free(run);
    /* Many references with long labels: the legend wraps, still inside. */
    char many[4096] = "plot:\n  references:\n";
    for (int r = 0; r < 12; r++)
        snprintf(many + strlen(many), sizeof many - strlen(many),
                 "    - {label: a rather long reference label number %d, accuracy: 0.%d, ms_bytes: %d}\n", r,
                 50 + 3 * r, 100 * (r + 1));
    run = hand_made_run(dir, many);
    svg = plotted(run, path, NULL);
    texts_inside(svg);
    assert_int_equal(occurrences(svg, "<path class=\"key\""), 12);
    free(svg);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

/* report.html: one page, nothing fetched, every trial a row, the front
 * networks named even when their weights are missing (this hand-made run
 * has none). */
static void test_report_is_self_contained(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/report.html", dir);
    sparse_run *run = hand_made_run(dir, with_references);
    assert_int_equal(sparse_run_write_report_html(run, path), SPARSE_OK);
    char *html;
    size_t len;
    assert_int_equal(sparse__read_file(path, &html, &len), SPARSE_OK);
    assert_int_equal(strncmp(html, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(html, "</html>"));
    /* Inline only: the SVG namespace is the one address in it. */
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url("));
    assert_int_equal(occurrences(html, "http"), occurrences(html, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_null(strstr(html, "<?xml"));
    assert_int_equal(occurrences(html, "<title>paper Table 3: 98.64%, "), 2);
    /* Two trials, both on the front: in the front table and in all trials. */
    assert_int_equal(occurrences(html, "<tr class=\"front\"><td>"), 2);
    assert_int_equal(occurrences(html, "<h3 id=\"trial-"), 2);
    assert_int_equal(occurrences(html, "<p>not shown: "), 2);
    assert_non_null(strstr(html, "<table class=\"sortable\">"));
    free(html);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

typedef struct report_watch {
    const char *path;
    size_t seen, rows_ok;
} report_watch;

/* Whether report.html in path holds `trials` trials. */
static int report_holds(const char *path, size_t trials)
{
    char *html = read_all(path), want[64];
    snprintf(want, sizeof want, "<h2>All trials (%zu;", trials);
    int yes = strstr(html, want) != NULL;
    free(html);
    return yes;
}

/* Each trial's callback but the last's: report.html already holds every
 * trial recorded (the last is written with the run's summary). */
static int count_report_rows(void *user, const sparse_trial_event *ev)
{
    report_watch *w = user;
    if (ev->trial + 1 < ev->total)
        w->rows_ok += report_holds(w->path, ev->trial + 1);
    w->seen++;
    return 0;
}

/* The search rewrites report.html as it goes, not only at the end. */
static void test_report_follows_the_search(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), run_dir[600], path[700];
    char *csv = write_tiny_csv(dir), *text = tiny_config(csv);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(path, sizeof path, "%s/report.html", run_dir);
    sparse_search_config *c;
    assert_int_equal(sparse_search_config_parse(&c, text, strlen(text), "tiny.yaml"), SPARSE_OK);
    report_watch w = {path, 0, 0};
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.on_trial = count_report_rows;
    o.user = &w;
    o.max_trials = 3;
    assert_int_equal(sparse_search_run(c, run_dir, &o), SPARSE_OK);
    assert_int_equal(w.seen, 3);
    assert_int_equal(w.rows_ok, 2);
    assert_true(report_holds(path, 3));
    sparse_search_config_free(c);
    free(text);
    free(csv);
    rm_rf(dir);
    free(dir);
}

/* Bad references are refused, naming them, and nothing is written. */
static void test_plot_refuses_bad_references(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/other.svg", dir);
    sparse_run *run = hand_made_run(dir, "");
    sparse_plot_options o = SPARSE_PLOT_OPTIONS_INIT;
    sparse_plot_reference bad[] = {{"fine", 0.9, 100, 100}, {"percent", 98.6, 100, 100}};
    o.references = bad;
    o.reference_count = 2;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "plot reference 1 ('percent'): accuracy 98.6 is outside [0, 1]"));
    bad[1].accuracy = 0.9;
    bad[1].ms_bytes = bad[1].wm_bytes = 0;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "plot reference 1 ('percent'): ms_bytes 0, wm_bytes 0"));
    bad[1].label = NULL;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_EINVAL);
    o.references = NULL;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_EINVAL);
    o.version = 99;
    assert_int_equal(sparse_run_write_pareto_svg_ext(run, path, &o), SPARSE_EVERSION);
    assert_int_equal(sparse_plot_options_init(&o, 99), SPARSE_EVERSION);
    assert_int_equal(access(path, F_OK), -1);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

const struct CMUnitTest plot_tests[] = {
    cmocka_unit_test(test_plot_draws_the_config_references),
    cmocka_unit_test(test_plot_knows_no_data_set),
    cmocka_unit_test(test_plot_states_its_accuracy),
    cmocka_unit_test(test_report_is_self_contained),
    cmocka_unit_test(test_report_follows_the_search),
    cmocka_unit_test(test_plot_refuses_bad_references),
};
const size_t plot_test_count = sizeof plot_tests / sizeof plot_tests[0];
