/* The final stage's parts on their own: which searched trial each final
 * trial takes, how far final.fill widens it (or, with fill: dense, makes a
 * pruned one plain) and what the stage will cost, on trials made up for the
 * purpose; how far an SpVD network's thresholds are lowered to fit its box,
 * on a network of known log alphas; what a plain network takes from a
 * pruned parent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "tiny_run.h"
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

/* ---- final.fill: dense ---- */

/* f's point pruned by the method at position pos of the space's pruning
 * list (0: none), every variable that then applies given a value and the
 * rest none, as the space's own points have them. */
static void set_pruning(fixture *f, double pos)
{
    double fresh[512];
    int active[512];
    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 2), SPARSE_OK);
    assert_int_equal(sparse_space_sample_all(f->lay.space, rng, fresh), SPARSE_OK);
    sparse_rng_free(rng);
    f->point[f->lay.prune] = pos;
    assert_int_equal(sparse_space_active(f->lay.space, f->point, active), SPARSE_OK);
    for (size_t i = 0; i < f->lay.nvars; i++)
        f->point[i] = !active[i] ? NAN : isnan(f->point[i]) ? fresh[i] : f->point[i];
    assert_int_equal(sparse_space_validate(f->lay.space, f->point), SPARSE_OK);
}

/* a and b, points of f's space, are the same (NaN for NaN). */
static void expect_same_point(const fixture *f, const double *a, const double *b)
{
    for (size_t v = 0; v < f->lay.nvars; v++)
        if (!(isnan(a[v]) && isnan(b[v])))
            assert_true(a[v] == b[v]);
}

/* final.fill: dense on the fixture (MS = 58F + 3) from F = 10 in a box of
 * 1,200 B: an SpVD or BC network that pruning kept at half its dense MS
 * becomes the plain network of its architecture, widened as a plain one
 * (F = 20, pruning none, the pruning variables inactive); a plain one as
 * under fill: true. In a box of 500 B, below even its unwidened dense
 * network (583 B), a pruned one is filled as under fill: true (SpVD as it
 * is, BC keeping its share: F = 15). */
static void test_fill_dense(void **state)
{
    (void)state;
    const char *methods[2] = {"none, spvd", "none, bc"};
    const double fallback_to[2] = {10, 15};
    for (int m = 0; m < 2; m++) {
        fixture f, t;
        sparse__trial tr;
        memset(&tr, 0, sizeof tr);
        tr.ok = 1;
        tr.wm5 = tr.wm6 = 100;
        double point[512], plain[512];
        fixture_open(&f, "final: {trials: 1, fill: dense, boxes: [{ms_bytes: 1200}, {ms_bytes: 500}]}\n",
                     methods[m], 10);
        fixture_open(&t, "final: {trials: 1, fill: true, boxes: [{ms_bytes: 1200}, {ms_bytes: 500}]}\n",
                     methods[m], 10);
        assert_int_equal(f.c->final_fill, SPARSE__FILL_DENSE);
        set_pruning(&f, 1);
        memcpy(t.point, f.point, sizeof t.point);
        tr.point = f.point;
        tr.ms = 0.5 * (58 * 10 + 3);
        memcpy(point, f.point, sizeof point);
        assert_int_equal(sparse__fill_box(&f.p, &tr, 0, point), SPARSE__FILLED_DENSE | SPARSE__FILLED_WIDER);
        print_message("%s: F 10 -> %g, pruning %g\n", methods[m], point[f.lay.layer[0][0].filters],
                      point[f.lay.prune]);
        assert_true(point[f.lay.layer[0][0].filters] == 20);
        assert_true(point[f.lay.prune] == 0);
        const size_t pruning_only[4] = {f.lay.threshold_fc, f.lay.kl_weight, f.lay.zero_epochs,
                                        f.lay.anneal_epochs};
        for (int k = 0; k < 4; k++)
            assert_true(pruning_only[k] == SIZE_MAX || isnan(point[pruning_only[k]]));
        assert_int_equal(sparse_space_validate(f.lay.space, point), SPARSE_OK);
        /* What fill: true makes of the plain parent of that architecture. */
        set_pruning(&t, 0);
        memcpy(plain, t.point, sizeof plain);
        tr.point = t.point;
        tr.ms = 58 * 10 + 3;
        assert_int_equal(sparse__fill_box(&t.p, &tr, 0, plain), SPARSE__FILLED_WIDER);
        expect_same_point(&f, point, plain);
        /* The pruned parent under fill: true: not made plain. */
        memcpy(t.point, f.point, sizeof t.point);
        memcpy(plain, f.point, sizeof plain);
        tr.point = t.point;
        tr.ms = 0.5 * (58 * 10 + 3);
        assert_true(sparse__fill_box(&t.p, &tr, 0, plain) == (m ? SPARSE__FILLED_WIDER : 0));
        assert_true(plain[t.lay.prune] == 1);
        /* Too small a box for the plain network: as under fill: true. */
        tr.point = f.point;
        memcpy(point, f.point, sizeof point);
        memcpy(plain, f.point, sizeof plain);
        int dense = sparse__fill_box(&f.p, &tr, 1, point), widen = sparse__fill_box(&t.p, &tr, 1, plain);
        assert_int_equal(dense, widen);
        assert_int_equal(dense, m ? SPARSE__FILLED_WIDER : 0);
        expect_same_point(&f, point, plain);
        assert_true(point[f.lay.layer[0][0].filters] == fallback_to[m] && point[f.lay.prune] == 1);
        /* A plain parent: as under fill: true. */
        set_pruning(&f, 0);
        tr.point = f.point;
        tr.ms = 58 * 10 + 3;
        memcpy(point, f.point, sizeof point);
        assert_int_equal(sparse__fill_box(&f.p, &tr, 0, point), SPARSE__FILLED_WIDER);
        assert_true(point[f.lay.layer[0][0].filters] == 20);
        fixture_close(&t);
        fixture_close(&f);
    }
}

/* A pruned network trained plain costs a plain network's time per epoch:
 * its own in the search, times the plain trials' median time per epoch and
 * byte of dense MS over its method's, times its growth. */
static void test_final_seconds_dense(void **state)
{
    (void)state;
    const char *cfg[2] = {"final: {trials: 1, epochs: 10, fill: dense, boxes: [{ms_bytes: 500}]}\n",
                          "final: {trials: 1, epochs: 10, fill: true, boxes: [{ms_bytes: 500}]}\n"};
    /* Plain trials at F = 4 (235 B dense) and 8 (467 B), 10 and 20 s an
     * epoch; the most accurate, SpVD at F = 4 pruned to 100 B, 30 s an
     * epoch; another SpVD one at F = 8, 90 s over 2 epochs. */
    static const double rows[4][6] = {{0, 4, 0.80, 235, 10, 1},
                                      {0, 8, 0.85, 467, 20, 1},
                                      {1, 4, 0.95, 100, 30, 1},
                                      {1, 8, 0.90, 900, 90, 2}};
    for (int k = 0; k < 2; k++) {
        fixture f;
        fixture_open(&f, cfg[k], "none, spvd", 4);
        double points[4][512];
        sparse__trial t[4];
        for (int i = 0; i < 4; i++) {
            set_pruning(&f, rows[i][0]);
            *fixture_filters(&f) = rows[i][1];
            memcpy(points[i], f.point, sizeof points[i]);
            memset(&t[i], 0, sizeof t[i]);
            t[i].ok = 1;
            t[i].stage = 1;
            t[i].parent = SPARSE__NO_PARENT;
            t[i].point = points[i];
            t[i].val_acc = rows[i][2];
            t[i].ms = t[i].wm5 = t[i].wm6 = rows[i][3];
            t[i].seconds = rows[i][4];
            t[i].epochs = rows[i][5];
        }
        double s;
        assert_int_equal(sparse__final_seconds(&f.p, t, 4, 1, &s), SPARSE_OK);
        double plain = 0.5 * (10.0 / 235 + 20.0 / 467), spvd = 0.5 * (30.0 / 235 + 45.0 / 467);
        double want = k ? 1.1 * 30 * 10 : 1.1 * 30 * 10 * (467.0 / 235) * (plain / spvd);
        print_message("fill: %s: %.3f s (want %.3f)\n", k ? "true" : "dense", s, want);
        assert_true(fabs(s - want) < 1e-9 * want);
        fixture_close(&f);
    }
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

/* final.fill: false and true written back as before, dense as dense; any
 * other value refused, naming the allowed ones; dense needs plain networks
 * in the space. */
static void test_fill_key(void **state)
{
    (void)state;
    expect_resolved("data: mnist\nfinal: {trials: 1}\n", "  fill: false\n", NULL);
    expect_resolved("data: mnist\nfinal: {trials: 1, fill: yes}\n", "  fill: true\n", NULL);
    expect_resolved("data: mnist\nfinal: {trials: 1, fill: dense}\nspace: {pruning: [none, spvd]}\n",
                    "  shift: 0\n  fill: dense\n", NULL);
    const char *bad[3] = {"data: mnist\nfinal: {trials: 1, fill: wide}\n",
                          "data: mnist\nfinal: {trials: 1, fill: [dense]}\n",
                          "data: mnist\nfinal: {trials: 1, fill: dense}\nspace: {pruning: [spvd, bc]}\n"};
    const char *why[3] = {"bad.yaml:2:26: final.fill: unknown value 'wide' (allowed: true, false, dense)",
                          "final.fill: expected true, false or dense",
                          "final.fill: dense retrains pruned networks as plain ones, so space.pruning "
                          "must allow none"};
    for (int k = 0; k < 3; k++) {
        sparse_search_config *c = (sparse_search_config *)0x1;
        assert_int_not_equal(sparse_search_config_parse(&c, bad[k], strlen(bad[k]), "bad.yaml"), SPARSE_OK);
        assert_null(c);
        print_message("%s\n", sparse_last_error());
        assert_non_null(strstr(sparse_last_error(), why[k]));
    }
}

/* ---- a final network trained plain starts from its parent's means ---- */

/* The network of f's point with `filters` filters and the pruning method at
 * position prune of "none, spvd, bc", in its variational mode if pruned. */
static sparse_net *net_of(fixture *f, double filters, double prune, uint64_t seed)
{
    set_pruning(f, prune);
    *fixture_filters(f) = filters;
    sparse__genome g;
    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    assert_int_equal(sparse__point_arch(&f->p, f->point, &g, &arch), SPARSE_OK);
    assert_int_equal(sparse_net_create(&net, arch, 4, seed), SPARSE_OK);
    sparse_arch_free(arch);
    if (g.prune != SPARSE_PRUNE_NONE) {
        sparse_prune_options po;
        sparse__prune_options(&g, 1, &po);
        assert_int_equal(sparse_prune_attach(net, &po), SPARSE_OK);
    }
    return net;
}

/* Element i of parameter name of node id (the conv "b0l0" or the FC). */
static float param_at(sparse_net *net, int fc, const char *name, size_t i)
{
    size_t id = 0;
    for (size_t k = 1; k < sparse_net_node_count(net) && !id; k++)
        if (fc ? sparse_net_node_kind(net, k) == SPARSE_LAYER_FC
               : !strcmp(sparse_net_node_name(net, k), "b0l0"))
            id = k;
    assert_true(id > 0);
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_param(&t, net, id, name), SPARSE_OK);
    assert_true(i < sparse_tensor_element_count(t));
    float v = sparse_tensor_data_const(t)[i];
    sparse_tensor_free(t);
    return v;
}

/* A parent of 2 filters (conv weights 1, biases 0.5; z_mu of its filters
 * 0.5 and 2, of its FC inputs 0.5, 1.5, 3, 4 and then 0.25) and a plain
 * child of 3: after sparse__inherit and sparse__inherit_means the child
 * holds the parent's means z_mu theta where it inherited (a convolution's
 * biases scaled too, an FC layer's not) and its own weights elsewhere. An
 * SpVD parent's weights are their means already; a BC child keeps theta
 * and z apart, as the parent. */
static void test_inherit_means(void **state)
{
    (void)state;
    static const float z4[4] = {0.5f, 2.0f, 3.0f, 4.0f}, fc_z4[4] = {0.5f, 1.5f, 3.0f, 4.0f};
    fixture f;
    fixture_open(&f, "", "none, spvd, bc", 2);
    for (int method = 1; method <= 2; method++) {
        sparse_net *parent = net_of(&f, 2, method, 1);
        for (size_t id = 1; id < sparse_net_node_count(parent); id++) {
            if (sparse_exp_net_variational_mode(parent, id) == SPARSE_PRUNE_NONE)
                continue;
            int fc = sparse_net_node_kind(parent, id) == SPARSE_LAYER_FC;
            set_param(parent, id, "weight", 1.0f, NULL);
            set_param(parent, id, "bias", 0.5f, NULL);
            if (method == SPARSE_PRUNE_BC)
                set_param(parent, id, "z_mu", 0.25f, fc ? fc_z4 : z4);
        }
        for (int child_method = 0; child_method <= 2; child_method += 2) {
            sparse_net *child = net_of(&f, 3, child_method, 2), *fresh = net_of(&f, 3, child_method, 2);
            size_t copied = 0;
            assert_int_equal(sparse__inherit(child, parent, &copied), SPARSE_OK);
            assert_int_equal(sparse__inherit_means(child, parent), SPARSE_OK);
            assert_true(copied > 0);
            /* z applies from a BC parent to a plain child only. */
            const int scaled = method == SPARSE_PRUNE_BC && child_method == 0;
            for (size_t r = 0; r < 3; r++)
                for (size_t j = 0; j < 9; j++)
                    assert_true(param_at(child, 0, "weight", 9 * r + j) ==
                                (r < 2 ? (scaled ? z4[r] : 1.0f) : param_at(fresh, 0, "weight", 9 * r + j)));
            assert_true(param_at(child, 0, "bias", 1) == (scaled ? 1.0f : 0.5f));
            assert_true(param_at(child, 0, "bias", 2) == param_at(fresh, 0, "bias", 2));
            for (size_t o = 0; o < 3; o++) {
                assert_true(param_at(child, 1, "bias", o) == 0.5f);
                for (size_t k = 0; k < 48; k++) /* 16 inputs a filter: 32 inherited, 16 new (zero) */
                    assert_true(param_at(child, 1, "weight", 48 * o + k) ==
                                (k >= 32 ? 0.0f : !scaled ? 1.0f : k < 4 ? fc_z4[k] : 0.25f));
            }
            if (method == SPARSE_PRUNE_BC && child_method == SPARSE_PRUNE_BC)
                assert_true(param_at(child, 0, "z_mu", 1) == 2.0f);
            sparse_net_free(fresh);
            sparse_net_free(child);
        }
        sparse_net_free(parent);
    }
    fixture_close(&f);
}

const struct CMUnitTest final_tests[] = {
    cmocka_unit_test(test_pick_final),
    cmocka_unit_test(test_final_seconds),
    cmocka_unit_test(test_fill_box),
    cmocka_unit_test(test_fill_dense),
    cmocka_unit_test(test_fill_key),
    cmocka_unit_test(test_final_seconds_dense),
    cmocka_unit_test(test_fit_box),
    cmocka_unit_test(test_inherit_means),
};
const size_t final_test_count = sizeof final_tests / sizeof final_tests[0];
