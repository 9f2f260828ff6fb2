/* The prune module's training noise: N(0, 1) per activation, or per weight
 * shared by the batch, and the same bits from the same seed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prune/prune_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "prune_fixture.h"

extern const struct CMUnitTest noise_tests[];
extern const size_t noise_test_count;

/* The training noise is N(0, 1): an FC layer with zero mean weights and
 * unit variances outputs the noise itself. */
static void test_noise_distribution(void **state)
{
    (void)state;
    const char *y = "name: n\ninput: [1, 1, 1]\nclasses: 2\nlayers:\n  - {type: fc, name: f, units: 2, bias: false}\n";
    const size_t N = 20000;
    sparse_net *net = make_net(y, N);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t n = 0;
    float *w = param_data(net, 1, "weight", &n), *ls = param_data(net, 1, "log_sigma2", &n);
    for (size_t j = 0; j < n; j++) {
        w[j] = 0.0f;
        ls[j] = 0.0f;
    }
    sparse_tensor *x = NULL, *out = NULL;
    size_t shape[2] = {N, 2};
    sparse_tensor_create_nchw(&x, N, 1, 1, 1);
    sparse_tensor_fill(x, 1.0f);
    sparse_tensor_create(&out, 2, shape);
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    const float *e = sparse_tensor_data_const(out);
    double m = 0, v = 0, k4 = 0;
    size_t tail = 0;
    for (size_t i = 0; i < 2 * N; i++) {
        m += e[i];
        v += (double)e[i] * e[i];
        k4 += (double)e[i] * e[i] * e[i] * e[i];
        tail += fabsf(e[i]) > 2.0f;
    }
    m /= 2.0 * N;
    v /= 2.0 * N;
    k4 /= 2.0 * N;
    assert_true(fabs(m) < 0.02);
    assert_true(fabs(v - 1.0) < 0.03);
    assert_true(fabs(k4 - 3.0) < 0.2);
    assert_true(fabs((double)tail / (2.0 * N) - 0.0455) < 0.005);
    sparse_tensor_free(x);
    sparse_tensor_free(out);
    sparse_net_free(net);
}

/* The weight-noise kind draws each weight once per step, shared by the
 * batch: an FC layer on a constant input 1 with zero mean weights and unit
 * variances outputs its drawn weights: the same in every image, N(0, 1)
 * over the units. */
static void test_weight_noise(void **state)
{
    (void)state;
    enum { UNITS = 4000, N = 3 };
    char y[200];
    snprintf(y, sizeof y, "name: n\ninput: [1, 1, 1]\nclasses: %d\nlayers:\n  - {type: fc, name: f, units: %d, bias: false}\n",
             UNITS, UNITS);
    sparse_net *net = make_net(y, N);
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.noise = SPARSE_PRUNE_NOISE_WEIGHT;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    size_t n = 0;
    float *w = param_data(net, 1, "weight", &n), *ls = param_data(net, 1, "log_sigma2", &n);
    assert_int_equal(n, UNITS);
    for (size_t j = 0; j < n; j++) {
        w[j] = 0.0f;
        ls[j] = 0.0f;
    }
    sparse_tensor *x = NULL, *out = NULL;
    size_t shape[2] = {N, UNITS};
    sparse_tensor_create_nchw(&x, N, 1, 1, 1);
    sparse_tensor_fill(x, 1.0f);
    sparse_tensor_create(&out, 2, shape);
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    float *first = malloc(UNITS * sizeof *first);
    memcpy(first, sparse_tensor_data_const(out), UNITS * sizeof *first);
    const float *e = sparse_tensor_data_const(out);
    double m = 0, v = 0;
    for (size_t k = 0; k < UNITS; k++) {
        for (size_t i = 1; i < N; i++)
            assert_true(e[i * UNITS + k] == e[k]);
        m += e[k];
        v += (double)e[k] * e[k];
    }
    m /= UNITS;
    v /= UNITS;
    assert_true(fabs(m) < 0.06); /* 4 standard errors */
    assert_true(fabs(v - 1.0) < 0.1);
    /* a second pass before any optimiser step draws the same weights */
    assert_int_equal(sparse_net_forward(net, x, 1, out), SPARSE_OK);
    assert_memory_equal(sparse_tensor_data_const(out), first, UNITS * sizeof *first);
    free(first);
    sparse_tensor_free(x);
    sparse_tensor_free(out);
    sparse_net_free(net);
}

/* Same seed, same bits. */
static void test_deterministic(void **state)
{
    (void)state;
    float img[8 * 2 * 8 * 8];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = (float)((i * 7) % 17) / 17.0f;
    int32_t labels[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 8, 2, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 2;
    t.batch_size = 4;
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    o.method = SPARSE_PRUNE_BC;
    o.anneal_epochs = 1;
    double loss[2];
    for (int r = 0; r < 2; r++) {
        sparse_net *net = make_net(GRAPH, 4);
        sparse_prune_result *res = NULL;
        assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_OK);
        sparse_train_result tr = SPARSE_TRAIN_RESULT_INIT;
        sparse_prune_result_training(res, 0, &tr);
        loss[r] = tr.final_loss;
        sparse_prune_result_free(res);
        sparse_net_free(net);
    }
    assert_true(loss[0] == loss[1]);
    sparse_dataset_free(ds);
}

const struct CMUnitTest noise_tests[] = {
    cmocka_unit_test(test_deterministic),
    cmocka_unit_test(test_noise_distribution),
    cmocka_unit_test(test_weight_noise),
};
const size_t noise_test_count = sizeof noise_tests / sizeof noise_tests[0];
