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
    /* On both panels, or on MS only without a WM figure. */
    assert_int_equal(occurrences(svg, ">paper Table 3 98.64%<"), 2);
    assert_int_equal(occurrences(svg, ">paper Table 3 96.49%<"), 1);
    assert_int_equal(occurrences(svg, ">by hand 97.17%<"), 2);
    assert_int_equal(occurrences(svg, "<path "), 5);
    /* One legend line and one colour per label, the first label's first. */
    assert_non_null(strstr(svg, "fill=\"#d62728\">x paper Table 3<"));
    assert_non_null(strstr(svg, "fill=\"#2ca02c\">x by hand<"));
    assert_int_equal(occurrences(svg, "stroke=\"#d62728\""), 3);
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
    assert_int_equal(occurrences(svg, ">A &amp; &lt;B&gt; 50.00%<"), 1);
    free(svg);
    o.config_references = 1;
    svg = plotted(run, path, &o);
    assert_int_equal(occurrences(svg, "<path "), 6);
    assert_non_null(strstr(svg, "fill=\"#9467bd\">x A &amp; &lt;B&gt;<"));
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
    assert_null(strstr(svg, "<path "));
    assert_null(strstr(svg, "paper"));
    assert_null(strstr(svg, ">x "));
    assert_non_null(strstr(svg, "SpArSe search: 2 trials, 2 on the front (WM model 5)"));
    free(svg);
    sparse_run_free(run);
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
    cmocka_unit_test(test_plot_refuses_bad_references),
};
const size_t plot_test_count = sizeof plot_tests / sizeof plot_tests[0];
