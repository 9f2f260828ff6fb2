/* The size cap and width fitting on their own, on the fixture's one-layer
 * space: MS = 9F + F (conv weights, biases) + 48F + 3 (FC) = 58F + 3 bytes. */
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
#include "fixture.h"
#include "sparse/sparse.h"

extern const struct CMUnitTest cap_tests[];
extern const size_t cap_test_count;

static void test_cap_factors(void **state)
{
    (void)state;
    double ms, wm;
    sparse__cap_factors(SPARSE_PRUNE_NONE, 5, &ms, &wm);
    assert_true(ms == 1 && wm == 1);
    sparse__cap_factors(SPARSE_PRUNE_SPVD, 5, &ms, &wm);
    assert_true(ms == 4 && wm == 2);
    sparse__cap_factors(SPARSE_PRUNE_SPVD, 6, &ms, &wm); /* SpVD keeps every activation */
    assert_true(ms == 4 && wm == 1);
    sparse__cap_factors(SPARSE_PRUNE_BC, 6, &ms, &wm);
    assert_true(ms == 4 && wm == 2);
}

static void test_dense_figures_and_the_cap(void **state)
{
    (void)state;
    fixture b;
    fixture_open(&b, "budgets: {ms_bytes: 2000}\n", "none", 5);
    sparse__cap_figures f;
    assert_int_equal(sparse__dense_figures(&b.p, b.point, &f), 1);
    assert_int_equal(f.ms, 58 * 5 + 3); /* biases counted though they start at zero */
    assert_true(f.ms_share == (58.0 * 5 + 3) / 2000 && f.wm_share == 0);
    char why[256] = "";
    assert_int_equal(sparse__within_cap(&b.p, b.point, why, sizeof why), 1);
    *fixture_filters(&b) = 64;
    assert_int_equal(sparse__within_cap(&b.p, b.point, why, sizeof why), 0);
    assert_string_equal(why, "exceeds the size cap before training: dense MS 3715 B > 1 x budget 2000 B");
    assert_true(sparse__share_of(&b.p, b.point, NULL) == 3715.0 / 2000);
    assert_int_equal(sparse__dense_figures(&b.p, b.point, &f), 1);
    const double ms_box[2] = {4 * 3715, 0}, wm_box[2] = {0, 2.0 * (double)f.wm};
    assert_true(sparse__share_of(&b.p, b.point, ms_box) == 0.25); /* a 0 is no bound */
    assert_true(sparse__share_of(&b.p, b.point, wm_box) == 0.5);
    fixture_close(&b);
}

static void test_cap_with_pruning_and_without_budgets(void **state)
{
    (void)state;
    fixture b;
    char why[256];
    sparse__cap_figures f;
    /* Pruning may remove three quarters of the weights: 4x the MS budget. */
    fixture_open(&b, "budgets: {ms_bytes: 2000}\n", "spvd", 64);
    assert_int_equal(sparse__within_cap(&b.p, b.point, why, sizeof why), 1);
    assert_int_equal(sparse__dense_figures(&b.p, b.point, &f), 1);
    assert_true(f.ms_factor == 4 && f.ms_share == 3715.0 / 8000);
    fixture_close(&b);
    fixture_open(&b, "budgets: {ms_bytes: 900}\n", "bc", 64);
    assert_int_equal(sparse__within_cap(&b.p, b.point, why, sizeof why), 0);
    assert_string_equal(why, "exceeds the size cap before training: dense MS 3715 B > 4 x budget 900 B");
    fixture_close(&b);
    fixture_open(&b, "", "none", 64);
    assert_int_equal(sparse__within_cap(&b.p, b.point, why, sizeof why), 1); /* no budgets, no cap */
    fixture_close(&b);
}

static void test_widest_fit(void **state)
{
    (void)state;
    fixture b;
    fixture_open(&b, "budgets: {ms_bytes: 2000}\n", "none", 4);
    /* Half the cap: 58F + 3 <= 1000 holds up to F = 17. */
    assert_int_equal(sparse__widest_fit(&b.p, b.point, 1.0 / 64, 64, NULL, 0.5), 1);
    assert_true(*fixture_filters(&b) == 17);
    /* From above, narrowing; and never narrowing (lo_m 1): no fit, unchanged. */
    *fixture_filters(&b) = 40;
    assert_int_equal(sparse__widest_fit(&b.p, b.point, 1, 4, NULL, 0.5), 0);
    assert_true(*fixture_filters(&b) == 40);
    assert_int_equal(sparse__widest_fit(&b.p, b.point, 1.0 / 64, 64, NULL, 0.5), 1);
    assert_true(*fixture_filters(&b) == 17);
    /* A box of 1,200 B of MS: F = 20; a box beyond the space: its bound. */
    const double box[2] = {1200, 0}, huge[2] = {1e9, 0};
    assert_int_equal(sparse__widest_fit(&b.p, b.point, 1, 4, box, 1), 1);
    assert_true(*fixture_filters(&b) == 20);
    assert_int_equal(sparse__widest_fit(&b.p, b.point, 1, 64, huge, 1), 1);
    assert_true(*fixture_filters(&b) == 64);
    double scaled[512];
    sparse__scale_widths(&b.p, b.point, 1.0 / 1000, scaled);
    assert_true(scaled[b.lay.layer[0][0].filters] == 1); /* the space's lower bound */
    fixture_close(&b);
}

/* random_fill: a fixed share of 0.5 gives the F of half the cap; without
 * budgets nothing moves. */
static void test_fit_to_cap(void **state)
{
    (void)state;
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 2), SPARSE_OK);
    fixture b;
    fixture_open(&b, "budgets: {ms_bytes: 2000}\nrandom_fill: 0.5\n", "none", 3);
    sparse__fit_to_cap(&b.p, rng, b.point);
    assert_true(*fixture_filters(&b) == 17);
    fixture_close(&b);
    fixture_open(&b, "random_fill: 0.5\n", "none", 3);
    sparse__fit_to_cap(&b.p, rng, b.point);
    assert_true(*fixture_filters(&b) == 3);
    fixture_close(&b);
    sparse_rng_free(rng);
}

const struct CMUnitTest cap_tests[] = {
    cmocka_unit_test(test_cap_factors),
    cmocka_unit_test(test_dense_figures_and_the_cap),
    cmocka_unit_test(test_cap_with_pruning_and_without_budgets),
    cmocka_unit_test(test_widest_fit),
    cmocka_unit_test(test_fit_to_cap),
};
const size_t cap_test_count = sizeof cap_tests / sizeof cap_tests[0];
