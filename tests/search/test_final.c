/* The final stage's parts on their own: which searched trial each final
 * trial takes, how far final.fill widens it and what the stage will cost,
 * on trials made up for the purpose; how far an SpVD network's thresholds
 * are lowered to fit its box, on a network of known log alphas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "sparse/experimental.h"
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

/* ---- a final SpVD network fitted into its box ---- */

/* Parameter `name` of node id set to v (first four entries: first4). */
static void set_param(sparse_net *net, size_t id, const char *name, float v, const float *first4)
{
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, id, name), SPARSE_OK);
    float *d = sparse_tensor_data(t);
    for (size_t j = 0; j < sparse_tensor_element_count(t); j++)
        d[j] = first4 && j < 4 ? first4[j] : v;
    sparse_tensor_free(t);
}

/* The fixture's network with 2 filters (MS 119 B dense: 18 + 2 conv, 96 +
 * 3 FC), trained as far as this test cares: SpVD, every weight 1 (so its
 * log alpha is its log sigma^2), every bias 0.5, every log alpha -5 (below
 * the range [-1, 3]: never pruned) but the first four of each layer. With
 * thresholds 2 (conv) and 1 (FC) one FC weight is pruned (MS 118); lowered
 * by 0.25 two more go (1.75 and 0.75), by 0.5 one (1.5), by 0.75 one
 * (0.25), by 1.5 two (0.5, -0.5); -2 is below the range. */
static sparse_net *known_net(fixture *f, sparse__genome *g)
{
    static const float conv_la[4] = {1.75f, 1.5f, 0.5f, -2.0f}, fc_la[4] = {0.75f, 0.25f, -0.5f, 2.5f};
    f->point[f->lay.layer[0][0].threshold] = 2.0;
    f->point[f->lay.threshold_fc] = 1.0;
    sparse_arch *arch = NULL;
    assert_int_equal(sparse__point_arch(&f->p, f->point, g, &arch), SPARSE_OK);
    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, arch, 4, 1), SPARSE_OK);
    sparse_arch_free(arch);
    sparse_prune_options po;
    sparse__prune_options(g, 1, &po);
    assert_int_equal(sparse_prune_attach(net, &po), SPARSE_OK);
    size_t weighted = 0;
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        if (sparse_exp_net_variational_mode(net, id) != SPARSE_PRUNE_SPVD)
            continue;
        int conv = !strncmp(sparse_net_node_name(net, id), "b0l0", 4);
        set_param(net, id, "weight", 1.0f, NULL);
        set_param(net, id, "bias", 0.5f, NULL);
        set_param(net, id, "log_sigma2", -5.0f, conv ? conv_la : fc_la);
        weighted++;
    }
    assert_int_equal(weighted, 2);
    return net;
}

static double ms_of(const sparse_prune_result *r)
{
    sparse_memreport *m = NULL;
    uint64_t ms = 0;
    assert_int_equal(sparse_memreport_from_net(&m, sparse_prune_result_net(r), NULL), SPARSE_OK);
    assert_int_equal(sparse_memreport_ms_bytes(m, &ms), SPARSE_OK);
    sparse_memreport_free(m);
    return (double)ms;
}

/* Fits net, pruned with g's thresholds, into a box of ms_box bytes of MS:
 * the offset found and whether it fits, its MS in *ms. */
static double fit(fixture *f, sparse_net *net, const sparse__genome *g, double ms_box, int *fits, double *ms)
{
    sparse_prune_result *pruned = NULL, *before;
    assert_int_equal(sparse__prune_trial(net, g, 1, 0, &pruned), SPARSE_OK);
    assert_true(ms_of(pruned) == 118);
    before = pruned;
    double box[2] = {ms_box, 0}, offset = -1;
    *fits = -1;
    assert_int_equal(sparse__fit_box(&f->p, net, f->point, g, box, 1, &pruned, &offset, fits), SPARSE_OK);
    assert_true(offset > 0 || pruned == before); /* unfitted: the very network it was given */
    *ms = ms_of(pruned);
    sparse_prune_result_free(pruned);
    return offset;
}

/* A network within its box is left as it is; one above it takes the
 * smallest offset that fits, whose thresholds, shifted into the point and
 * its genome, prune the same network again; one that even the range's
 * lower end leaves above its box is reported and left as it is. */
static void test_fit_box(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, "", "spvd", 2);
    sparse__genome g;
    sparse_net *net = known_net(&f, &g);
    int fits;
    double ms;
    assert_true(fit(&f, net, &g, 118, &fits, &ms) == 0 && fits == 1 && ms == 118);
    assert_true(fit(&f, net, &g, 0, &fits, &ms) == 0 && fits == 1 && ms == 118); /* no bound */
    const double boxes[5] = {117, 116, 115, 114, 112}, want[5] = {0.25, 0.25, 0.5, 0.75, 1.5},
                 left[5] = {116, 116, 115, 114, 112};
    for (int k = 0; k < 5; k++) {
        double offset = fit(&f, net, &g, boxes[k], &fits, &ms);
        print_message("box %g B: offset %g, MS %g B\n", boxes[k], offset, ms);
        assert_true(offset == want[k] && fits == 1 && ms == left[k]);
    }
    /* Below what the range's lower end prunes to: reported, unchanged. */
    assert_true(fit(&f, net, &g, 111, &fits, &ms) == 0 && fits == 0 && ms == 118);

    /* The point the trial records: both thresholds lowered by 0.5, the
     * same network again from them. */
    double point[512];
    memcpy(point, f.point, sizeof point);
    sparse__genome h = g;
    sparse__shift_thresholds(&f.lay, f.c, point, &h, 0.5);
    const size_t conv_v = f.lay.layer[0][0].threshold, fc_v = f.lay.threshold_fc;
    assert_true(point[conv_v] == 1.5 && h.threshold[0][0] == 1.5);
    assert_true(point[fc_v] == 0.5 && h.threshold_fc == 0.5);
    for (size_t v = 0; v < f.lay.nvars; v++)
        if (v != conv_v && v != fc_v)
            assert_memory_equal(&point[v], &f.point[v], sizeof point[v]);
    sparse_prune_result *again = NULL;
    assert_int_equal(sparse__prune_trial(net, &h, 1, 0, &again), SPARSE_OK);
    assert_true(ms_of(again) == 115);
    sparse_prune_result_free(again);
    /* None below the range's lower end (-1). */
    sparse__shift_thresholds(&f.lay, f.c, point, &h, 2.25);
    assert_true(point[conv_v] == -0.75 && h.threshold[0][0] == -0.75);
    assert_true(point[fc_v] == -1 && h.threshold_fc == -1);

    /* Only SpVD networks are fitted. */
    sparse_prune_result *pruned = NULL;
    assert_int_equal(sparse__prune_trial(net, &g, 1, 0, &pruned), SPARSE_OK);
    sparse__genome bc = g;
    bc.prune = SPARSE_PRUNE_BC;
    double box[2] = {100, 0}, offset = -1;
    assert_int_equal(sparse__fit_box(&f.p, net, f.point, &bc, box, 1, &pruned, &offset, &fits), SPARSE_OK);
    assert_true(offset == 0 && fits == 1 && ms_of(pruned) == 118);
    sparse_prune_result_free(pruned);
    sparse_net_free(net);
    fixture_close(&f);
}

const struct CMUnitTest final_tests[] = {
    cmocka_unit_test(test_pick_final),
    cmocka_unit_test(test_final_seconds),
    cmocka_unit_test(test_fill_box),
    cmocka_unit_test(test_fit_box),
};
const size_t final_test_count = sizeof final_tests / sizeof final_tests[0];
