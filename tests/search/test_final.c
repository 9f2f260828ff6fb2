/* Planning the final stage on its own: which searched trial each final
 * trial takes, how far final.fill widens it, and what the stage will cost,
 * on trials made up for the purpose. */
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

extern const struct CMUnitTest final_tests[];
extern const size_t final_test_count;

static const char *three_boxes = "final: {trials: 3, epochs: 10, boxes: [{ms_bytes: 1000, wm_bytes: 1000},"
                                 " {ms_bytes: 1000, wm_bytes: 1000}, {ms_bytes: 500}]}\n";

/* Six searched trials (the fixture's point for each): accuracy, MS, WM5,
 * seconds and epochs trained; trial 3 failed. */
static void made_up_trials(fixture *f, sparse__trial *t)
{
    static const double rows[6][5] = {
        {0.90, 900, 900, 4, 2},    {0.95, 1200, 800, 1, 1}, {0.80, 400, 1500, 1, 1},
        {-1, -1, -1, 1, 1},        {0.90, 950, 950, 9, 3},  {0.85, 450, 450, 1, 1},
    };
    for (int i = 0; i < 6; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].ok = i != 3;
        t[i].parent = SPARSE__NO_PARENT;
        t[i].point = f->point;
        t[i].val_acc = rows[i][0];
        t[i].ms = rows[i][1];
        t[i].wm5 = t[i].wm6 = rows[i][2];
        t[i].seconds = rows[i][3];
        t[i].epochs = rows[i][4];
    }
}

/* The boxes take turns, a box listed twice takes two, a taken network is
 * skipped, an empty box passes its turn to the next, and equals go to the
 * lower id. */
static void test_pick_final(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, three_boxes, "none", 4);
    sparse__trial t[6];
    made_up_trials(&f, t);
    unsigned char taken[6] = {0};
    const size_t parents[4] = {0, 4, 5, 2}, boxes[4] = {0, 1, 2, 5};
    for (size_t j = 0; j < 4; j++) {
        size_t box = 99, p = sparse__pick_final(f.c, t, 6, j, taken, &box);
        assert_int_equal(p, parents[j]);
        assert_int_equal(box, boxes[j]);
        taken[p] = 1;
    }
    size_t box;
    assert_true(sparse__pick_final(f.c, t, 6, 4, taken, &box) == SPARSE__NO_PARENT);
    /* Only the first limit trials count. */
    memset(taken, 0, sizeof taken);
    assert_int_equal(sparse__pick_final(f.c, t, 2, 2, taken, &box), 0); /* box 2 empty below trial 2: box 0 */
    assert_int_equal(box, 3);
    fixture_close(&f);

    /* Without boxes, the budgets are the one box. */
    fixture_open(&f, "budgets: {ms_bytes: 1000, wm_bytes: 1000}\nfinal: {trials: 2}\n", "none", 4);
    double ms, wm;
    sparse__final_box(f.c, 7, &ms, &wm);
    assert_true(ms == 1000 && wm == 1000);
    assert_int_equal(sparse__pick_final(f.c, t, 6, 1, taken, &box), 0);
    fixture_close(&f);
}

/* 1.1 x seconds per epoch x final epochs each: 22, 33 and 11 s; one worker
 * takes them in turn, two share them first free first. */
static void test_final_seconds(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, three_boxes, "none", 4);
    sparse__trial t[6];
    made_up_trials(&f, t);
    double s1, s2, s0;
    assert_int_equal(sparse__final_seconds(&f.p, t, 6, 1, &s1), SPARSE_OK);
    assert_int_equal(sparse__final_seconds(&f.p, t, 6, 2, &s2), SPARSE_OK);
    assert_true(fabs(s1 - 66) < 1e-9);
    assert_true(fabs(s2 - 33) < 1e-9);
    /* After trials 0..2 only: trial 0 (box 0), trial 2 (box 1 empty, so
     * box 2), then every box spent: 22 + 11 s. */
    assert_int_equal(sparse__final_seconds(&f.p, t, 3, 1, &s0), SPARSE_OK);
    assert_true(fabs(s0 - 33) < 1e-9);
    fixture_close(&f);
    /* Widened, a network costs its growth in weights more: trial 5 (11 s)
     * goes from F = 4 (235 B) to F = 8 (467 B) in a box of 500 B. */
    fixture_open(&f, "final: {trials: 1, epochs: 10, fill: true, boxes: [{ms_bytes: 500}]}\n", "none", 4);
    made_up_trials(&f, t);
    assert_int_equal(sparse__final_seconds(&f.p, t, 6, 1, &s1), SPARSE_OK);
    assert_true(fabs(s1 - 11.0 * 467 / 235) < 1e-9);
    fixture_close(&f);
}

/* final.fill on the fixture (MS = 58F + 3) from F = 10 in a box of 1,200 B:
 * a plain network fills it (F = 20), a BC one that pruning kept at half
 * its dense MS fills 0.9 of twice the box (F = 37), an SpVD one stays as it
 * is; without fill nothing moves. */
static void test_fill_box(void **state)
{
    (void)state;
    const char *fill = "final: {trials: 1, fill: true, boxes: [{ms_bytes: 1200}]}\n";
    fixture f;
    sparse__trial tr;
    memset(&tr, 0, sizeof tr);
    tr.ok = 1;
    double point[512];
    const char *prune[3] = {"none", "bc", "spvd"};
    const double pruned_share[3] = {1, 0.5, 0.5}, widened_to[3] = {20, 37, 10};
    for (int k = 0; k < 3; k++) {
        fixture_open(&f, fill, prune[k], 10);
        tr.point = f.point;
        tr.ms = pruned_share[k] * (58 * 10 + 3);
        tr.wm5 = 100;
        memcpy(point, f.point, sizeof point);
        assert_int_equal(sparse__fill_box(&f.p, &tr, 0, point), k < 2);
        print_message("%s: F 10 -> %g\n", prune[k], point[f.lay.layer[0][0].filters]);
        assert_true(point[f.lay.layer[0][0].filters] == widened_to[k]);
        fixture_close(&f);
    }
    /* At the space's bound only the FC weights variable (unused without an
     * FC layer) moves: the same network, so not widened, and the point is
     * the parent's. */
    fixture_open(&f, "final: {trials: 1, fill: true, boxes: [{ms_bytes: 100000}]}\n", "none", 64);
    tr.point = f.point;
    tr.ms = 58 * 64 + 3;
    memcpy(point, f.point, sizeof point);
    assert_int_equal(sparse__fill_box(&f.p, &tr, 0, point), 0);
    assert_memory_equal(point, f.point, f.lay.nvars * sizeof *point);
    fixture_close(&f);
    fixture_open(&f, "final: {trials: 1, boxes: [{ms_bytes: 1200}]}\n", "none", 4);
    tr.point = f.point;
    tr.ms = 58 * 4 + 3;
    assert_int_equal(sparse__fill_box(&f.p, &tr, 0, point), 0);
    fixture_close(&f);
}

const struct CMUnitTest final_tests[] = {
    cmocka_unit_test(test_pick_final),
    cmocka_unit_test(test_final_seconds),
    cmocka_unit_test(test_fill_box),
};
const size_t final_test_count = sizeof final_tests / sizeof final_tests[0];
