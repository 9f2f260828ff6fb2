/* Stopping a trial early, on learning curves made up for the purpose: the
 * gains a trial may still make are learnt from earlier curves at the same
 * point of the schedule, the bar is the best earlier trial no larger than
 * it, and it stops only when even the optimistic gain falls short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "sparse/sparse.h"

extern const struct CMUnitTest curve_tests[];
extern const size_t curve_test_count;

/* n trials of 4 epochs on the fixture (F = 4, MS 235 B), ending at 95% but
 * the last at 97%, whose curves start at an error 4 to 4.9 times their
 * final one and reach 2x it at half time. */
static void made_up(fixture *f, sparse__trial *t, double curves[][3], size_t n)
{
    for (size_t j = 0; j < n; j++) {
        memset(&t[j], 0, sizeof t[j]);
        t[j].ok = t[j].feasible = 1;
        t[j].stage = 1;
        t[j].point = f->point;
        t[j].val_acc = j + 1 == n ? 0.97 : 0.95;
        t[j].ms = 235;
        t[j].wm5 = t[j].wm6 = 1;
        t[j].epochs = t[j].planned_epochs = 4;
        double e = 1 - t[j].val_acc;
        curves[j][0] = 1 - e * (4 + 0.1 * (double)j);
        curves[j][1] = 1 - 2 * e;
        curves[j][2] = 1 - 1.5 * e;
        t[j].curve = curves[j];
        t[j].ncurve = 3;
    }
}

static void test_stop_plan(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, "budgets: {ms_bytes: 2000}\n", "none", 4);
    sparse__trial t[10];
    double curves[10][3];
    made_up(&f, t, curves, 10);
    sparse__genome g;
    sparse__genome_decode(&f.lay, f.c, f.point, &g);
    g.epochs = 4;
    sparse__stop_plan plan;
    assert_int_equal(sparse__stop_plan_make(&f.p, t, 10, f.point, &g, &plan), SPARSE_OK);
    assert_true(plan.ready && plan.bar == 0.97 && plan.epochs == 4);
    /* After epoch 1 the gains are log 4 .. log 4.9: the 0.9 quantile is
     * about log 4.81, the median about log 4.45. An error of 50% can reach
     * 10.4% at best: it stops, expected to end near 1 - 0.5 / 4.45. */
    double pred = 0, sd = 0;
    assert_int_equal(sparse__stop_check(&plan, 1, 0.5, &pred, &sd), 1);
    assert_true(fabs(pred - (1 - 0.5 * exp(-0.5 * (log(4.4) + log(4.5))))) < 1e-9);
    assert_true(sd >= 0.05);
    /* An error of 10% may reach 2.08%: it goes on. So does one of 14%,
     * which only the optimistic gain takes below the bar's 3% (2.91%). */
    assert_int_equal(sparse__stop_check(&plan, 1, 0.9, &pred, &sd), 0);
    assert_int_equal(sparse__stop_check(&plan, 1, 0.86, &pred, &sd), 0);
    /* Half way the gain is log 2 for every trial: an error above 6% cannot
     * halve to the bar's 3%. */
    assert_int_equal(sparse__stop_check(&plan, 2, 0.939, &pred, &sd), 1);
    assert_true(fabs(pred - (1 - 0.061 / 2)) < 1e-9);
    assert_int_equal(sparse__stop_check(&plan, 2, 0.941, &pred, &sd), 0);
    /* Never after the last epoch's curve point, or before the first. */
    assert_int_equal(sparse__stop_check(&plan, 4, 0.1, &pred, &sd), 0);
    assert_int_equal(sparse__stop_check(&plan, 0, 0.1, &pred, &sd), 0);
    sparse__stop_plan_free(&plan);

    /* A trial of 2 epochs stops at half time, from the same curves. */
    g.epochs = 2;
    assert_int_equal(sparse__stop_plan_make(&f.p, t, 10, f.point, &g, &plan), SPARSE_OK);
    assert_int_equal(sparse__stop_check(&plan, 1, 0.93, &pred, &sd), 1);
    assert_int_equal(sparse__stop_check(&plan, 1, 0.95, &pred, &sd), 0);
    sparse__stop_plan_free(&plan);

    /* Too few curves at a point of the schedule: no stop there. */
    g.epochs = 4;
    assert_int_equal(sparse__stop_plan_make(&f.p, t + 3, 7, f.point, &g, &plan), SPARSE_OK);
    assert_int_equal(sparse__stop_check(&plan, 1, 0.1, &pred, &sd), 0);
    sparse__stop_plan_free(&plan);

    /* A smaller network than any earlier one has no bar: nothing beats it
     * at its size. */
    *fixture_filters(&f) = 2;
    assert_int_equal(sparse__stop_plan_make(&f.p, t, 10, f.point, &g, &plan), SPARSE_OK);
    assert_true(plan.bar < 0);
    assert_int_equal(sparse__stop_check(&plan, 1, 0.1, &pred, &sd), 0);
    sparse__stop_plan_free(&plan);
    *fixture_filters(&f) = 4;

    /* Off in the config: no plan. */
    f.c->early_stop = 0;
    assert_int_equal(sparse__stop_plan_make(&f.p, t, 10, f.point, &g, &plan), SPARSE_OK);
    assert_false(plan.ready);
    sparse__stop_plan_free(&plan);
    fixture_close(&f);
}

const struct CMUnitTest curve_tests[] = {
    cmocka_unit_test(test_stop_plan),
};
const size_t curve_test_count = sizeof curve_tests / sizeof curve_tests[0];
