/* Trial records on their own: what the search writes, it reads back
 * exactly; a record it cannot trust stops a resume with the line and the
 * field; the run view keeps what it can of the same record. */
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
#include "sparse/sparse.h"

extern const struct CMUnitTest records_tests[];
extern const size_t records_test_count;

static const char *records_config = "data: mnist\nwm_model: 6\nbudgets: {ms_bytes: 2000, wm_bytes: 1000}\n"
                                    "space: {pruning: [none, spvd, bc], branches: [false, true]}\n";

typedef struct bench {
    sparse_search_config *c;
    sparse__layout lay;
    double point[512];
    sparse__genome g;
} bench;

/* The config above, its space and a random point of it with pruning on. */
static void bench_open(bench *b)
{
    assert_int_equal(sparse_search_config_parse(&b->c, records_config, strlen(records_config), "r.yaml"), SPARSE_OK);
    assert_int_equal(sparse__layout_create(&b->lay, b->c), SPARSE_OK);
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 4), SPARSE_OK);
    do
        assert_int_equal(sparse_space_sample(b->lay.space, rng, b->point), SPARSE_OK);
    while (sparse__genome_decode(&b->lay, b->c, b->point, &b->g), b->g.prune == SPARSE_PRUNE_NONE);
    sparse_rng_free(rng);
}

static void bench_close(bench *b)
{
    sparse__layout_destroy(&b->lay);
    sparse_search_config_free(b->c);
}

static sparse__outcome measured(double acc, double ms, double wm5, double wm6)
{
    sparse__outcome o;
    memset(&o, 0, sizeof o);
    o.ok = 1;
    o.val_acc = acc;
    o.test_acc = acc - 0.01;
    o.int8_test_acc = acc - 0.02;
    o.ms = ms;
    o.wm5 = wm5;
    o.wm6 = wm6;
    o.params = 321;
    return o;
}

/* Two doubles the same to the bit, or both NaN (an inactive variable). */
static int same(double a, double b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0; }

static void test_record_reads_back_exactly(void **state)
{
    (void)state;
    bench b;
    bench_open(&b);
    /* Figures whose shortest decimal form has 17 digits. */
    sparse__outcome o = measured(0.1 + 0.2, 1999.0, 3000.0, 1000.0);
    b.point[0] += 1e-13;
    char *rec =
        sparse__trial_record(b.c, b.lay.nvars, 3, 2, 1, "mobo", "threshold", b.point, &b.g, &o, 12.34567);
    assert_non_null(rec);
    assert_non_null(strstr(rec, "\"proposal\":\"mobo\",\"morph\":\"threshold\",\"status\":\"ok\""));
    assert_non_null(strstr(rec, "\"feasible\":true")); /* WM6 1000 meets wm_bytes 1000; WM5 does not count */
    sparse__trial t;
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, rec, 3, 4, 1, &t), SPARSE_OK);
    assert_int_equal(t.stage, 2);
    assert_int_equal(t.parent, 1);
    assert_int_equal(t.ok, 1);
    assert_int_equal(t.feasible, 1);
    for (size_t i = 0; i < b.lay.nvars; i++)
        assert_true(same(t.point[i], b.point[i]));
    assert_true(same(t.val_acc, 0.1 + 0.2));
    assert_true(t.test_acc == o.test_acc && t.int8_test_acc == o.int8_test_acc && t.params == 321);
    assert_true(t.ms == 1999 && t.wm5 == 3000 && t.wm6 == 1000);
    assert_true(t.seconds == 12.346); /* kept to the millisecond */
    assert_true(t.epochs == b.g.epochs);
    assert_true(sparse__trial_wm(b.c, &t) == 1000);
    free(t.point);
    free(rec);

    /* A failed trial: its reason, no figures, never feasible. */
    sparse__outcome f;
    memset(&f, 0, sizeof f);
    snprintf(f.reason, sizeof f.reason, "exceeds \"the\" cap");
    rec = sparse__trial_record(b.c, b.lay.nvars, 0, 1, SPARSE__NO_PARENT, "initial", "", b.point, &b.g, &f,
                               0.5);
    assert_non_null(strstr(rec, "\"parent\":null"));
    assert_non_null(strstr(rec, "\"status\":\"failed\",\"reason\":\"exceeds \\\"the\\\" cap\""));
    assert_null(strstr(rec, "val_accuracy"));
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, rec, 0, 1, 1, &t), SPARSE_OK);
    assert_int_equal(t.ok, 0);
    assert_int_equal(t.feasible, 0);
    assert_true(t.parent == SPARSE__NO_PARENT);
    assert_true(t.val_acc == -1 && t.ms == -1);
    assert_string_equal(t.reason, "exceeds \"the\" cap");
    sparse__trial_clear(&t);
    assert_null(t.reason);
    free(rec);
    bench_close(&b);
}

/* Replaces the first `from` in text by `to`, in a fresh string. */
static char *edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* The record, edited, read strictly (a resume) fails with `message`; read
 * leniently (the run view) it gives the rest and leaves no error behind. */
static void expect_untrusted(const bench *b, const char *rec, const char *from, const char *to,
                             const char *message, sparse__trial *lenient)
{
    char *bad = edit(rec, from, to);
    sparse__trial t;
    int rc = sparse__trial_parse(b->c, b->lay.nvars, bad, 2, 3, 1, &t);
    if (rc == SPARSE_OK || !strstr(sparse_last_error(), message))
        fprintf(stderr, "%s -> %s: rc %d, '%s'\n", from, to, rc, sparse_last_error());
    assert_int_not_equal(rc, SPARSE_OK);
    assert_non_null(strstr(sparse_last_error(), message));
    assert_null(t.point);
    sparse_clear_error();
    assert_int_equal(sparse__trial_parse(b->c, b->lay.nvars, bad, 2, 3, 0, lenient), SPARSE_OK);
    assert_int_equal(sparse_last_error_code(), SPARSE_OK);
    free(bad);
}

static void test_untrusted_records(void **state)
{
    (void)state;
    bench b;
    bench_open(&b);
    sparse__outcome o = measured(0.75, 900, 800, 700);
    char *rec = sparse__trial_record(b.c, b.lay.nvars, 2, 3, 0, "mobo", "x", b.point, &b.g, &o, 1.0);
    sparse__trial t;
    expect_untrusted(&b, rec, "\"id\":2", "\"id\":5", "trials.jsonl:3:1:1: id 5 where 2 was expected", &t);
    assert_true(t.val_acc == 0.75 && t.stage == 3);
    free(t.point);
    expect_untrusted(&b, rec, "\"parent\":0", "\"parent\":2", "trials.jsonl:3:", &t);
    assert_true(t.parent == SPARSE__NO_PARENT && t.ok == 1);
    free(t.point);
    expect_untrusted(&b, rec, "\"point\":[", "\"point\":[1,", "point: expected", &t);
    assert_null(t.point);
    assert_true(t.ms == 900);
    expect_untrusted(&b, rec, "\"ms_bytes\"", "\"ms_byte\"", "ms_bytes", &t);
    assert_true(t.ms == -1 && t.wm6 == 700 && t.feasible == 1); /* an unknown MS is not held against it */
    free(t.point);
    expect_untrusted(&b, rec, "\"seconds\":1", "\"seconds\":\"soon\"", "seconds", &t);
    assert_true(t.seconds == -1 && t.val_acc == 0.75);
    free(t.point);
    expect_untrusted(&b, rec, "\"status\":\"ok\"", "\"status\":[]", "status", &t);
    assert_int_equal(t.ok, 0);
    free(t.point);
    /* A figure the search does not use never stops it. */
    char *odd = edit(rec, "\"params\":321", "\"params\":\"many\"");
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, odd, 2, 3, 1, &t), SPARSE_OK);
    assert_true(t.params == -1 && t.ms == 900);
    free(t.point);
    free(odd);
    /* Not a record at all. */
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, "{\"id\": [", 2, 3, 1, &t), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "trials.jsonl:3:"));
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, "{\"id\": [", 2, 3, 0, &t), SPARSE_OK);
    assert_true(t.ok == -1 && t.feasible == -1 && t.stage == -1 && !t.point);
    free(rec);
    bench_close(&b);
}

/* A trial's standard error, learning curve and early stop read back; a
 * record from before val_se gets the binomial one of the config's
 * validation images; a partial record without what its curve promised is
 * refused by a resume. */
static void test_curve_and_partial_read_back(void **state)
{
    (void)state;
    bench b;
    bench_open(&b);
    sparse__outcome o = measured(0.9, 1000, 900, 900);
    double curve[2] = {0.5, 0.75};
    o.val_se = sparse__binomial_se(0.9, 5000);
    o.curve = curve;
    o.ncurve = 2;
    o.partial = 1;
    o.epochs_done = 2;
    o.pred_acc = 0.95;
    o.pred_log_sd = 0.25;
    char *rec = sparse__trial_record(b.c, b.lay.nvars, 0, 1, SPARSE__NO_PARENT, "initial", "", b.point, &b.g, &o, 1);
    assert_non_null(strstr(rec, "\"curve\":[0.5,0.75],\"partial\":true,\"epochs_done\":2"));
    sparse__trial t;
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, rec, 0, 1, 1, &t), SPARSE_OK);
    assert_true(t.partial == 1 && t.epochs == 2 && t.planned_epochs == b.g.epochs);
    assert_true(t.ncurve == 2 && t.curve[0] == 0.5 && t.curve[1] == 0.75);
    assert_true(same(t.val_se, sqrt(0.9 * 0.1 / 5000)) && t.pred_acc == 0.95 && t.pred_log_sd == 0.25);
    assert_false(sparse__front_candidate(&t));
    sparse__trial_clear(&t);
    assert_null(t.point);
    char *bad = edit(rec, ",\"predicted_log_sd\":0.25", "");
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, bad, 0, 1, 1, &t), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "predicted_log_sd"));
    free(bad);
    bad = edit(rec, ",\"val_se\":", ",\"old_se\":");
    assert_int_equal(sparse__trial_parse(b.c, b.lay.nvars, bad, 0, 1, 1, &t), SPARSE_OK);
    assert_true(fabs(t.val_se - sqrt(0.9 * 0.1 / 5000)) < 1e-15);
    sparse__trial_clear(&t);
    free(bad);
    free(rec);
    /* Extreme accuracies count as half an image off. */
    assert_true(fabs(sparse__binomial_se(1.0, 100) - sqrt(0.005 * 0.995 / 100)) < 1e-15);
    assert_true(sparse__binomial_se(0.5, 0) == 0);
    bench_close(&b);
}

const struct CMUnitTest records_tests[] = {
    cmocka_unit_test(test_record_reads_back_exactly),
    cmocka_unit_test(test_untrusted_records),
    cmocka_unit_test(test_curve_and_partial_read_back),
};
const size_t records_test_count = sizeof records_tests / sizeof records_tests[0];
