/* The prune module's bad parameters: options out of range or of another
 * version, variational modes on the wrong nodes, attaching twice and
 * detaching, and pruning everything refused as an empty network. */
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

extern const struct CMUnitTest bad_params_tests[];
extern const size_t bad_params_test_count;

/* ---- Bad parameters ---- */

static void test_bad_params(void **state)
{
    (void)state;
    sparse_prune_options o = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.zero_epochs = -1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "zero_epochs"));
    o.zero_epochs = 0;
    o.finetune_epochs = -3;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.finetune_epochs = 0;
    o.anneal_epochs = -3;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.anneal_epochs = 1;
    o.spvd_threshold = NAN;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "finite"));
    o.spvd_threshold = 3;
    o.bc_threshold = INFINITY;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.bc_threshold = -1;
    o.kl_weight = -1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.kl_weight = 1;
    o.method = 9;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    o.method = SPARSE_PRUNE_SPVD;
    assert_true(o.finetune_lr_scale == 1.0);
    o.finetune_lr_scale = 0;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "finetune_lr_scale"));
    o.finetune_lr_scale = NAN;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    /* A version 1 struct ends before finetune_lr_scale: not read (scale 1). */
    o.finetune_lr_scale = 0;
    o.version = 1;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.version = SPARSE_PRUNE_OPTIONS_VERSION;
    o.finetune_lr_scale = 1;
    assert_int_equal(o.noise, SPARSE_PRUNE_NOISE_ACTIVATION);
    o.noise = 7;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "noise 7"));
    /* A version 2 struct ends before noise: not read (the default kind). */
    o.version = 2;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_OK);
    o.noise = SPARSE_PRUNE_NOISE_ACTIVATION;
    o.finetune_lr_scale = 0.3;
    o.version = 99;
    assert_int_equal(sparse_prune_options_check(&o), SPARSE_EVERSION);
    assert_int_equal(sparse_prune_options_init(&o, 99), SPARSE_EVERSION);
    assert_int_equal(sparse_prune_options_init(&o, SPARSE_PRUNE_OPTIONS_VERSION), SPARSE_OK);

    sparse_net *net = make_net(GRAPH, 4);
    assert_int_equal(sparse_exp_net_set_variational(net, 1, SPARSE_PRUNE_SPVD, NAN, 0), SPARSE_ERANGE);
    /* node 2 is a relu */
    assert_int_equal(sparse_exp_net_set_variational(net, 2, SPARSE_PRUNE_SPVD, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_variational(net, 999, SPARSE_PRUNE_SPVD, 3, 0), SPARSE_ERANGE);
    assert_int_equal(sparse_exp_net_set_variational(net, 1, 7, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_exp_net_set_variational(NULL, 1, 1, 3, 0), SPARSE_EINVAL);
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    /* attaching twice only changes thresholds; detaching restores the plain
     * parameter list */
    size_t before = sparse_net_param_count(net, 1);
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_net_param_count(net, 1), before);
    o.method = SPARSE_PRUNE_NONE;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_net_param_count(net, 1), before - 1);
    /* pruning everything: a clear empty-network error, never a crash */
    o.method = SPARSE_PRUNE_BC;
    o.bc_threshold = -20.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    sparse_prune_result *res = (sparse_prune_result *)&o; /* must be reset */
    assert_int_equal(sparse_prune_compact(&res, net, 0), SPARSE_EEMPTY);
    assert_null(res);
    assert_non_null(strstr(sparse_last_error(), "every channel"));
    o.method = SPARSE_PRUNE_SPVD;
    o.spvd_threshold = -20.0;
    assert_int_equal(sparse_prune_attach(net, &o), SPARSE_OK);
    assert_int_equal(sparse_prune_compact(&res, net, 0), SPARSE_EEMPTY);
    /* the same through sparse_prune_run on a tiny data set */
    float img[4 * 2 * 8 * 8];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = (float)(i % 13) / 13.0f;
    int32_t labels[4] = {0, 1, 2, 0};
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 4, 2, 8, 8, img, labels, 3), SPARSE_OK);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 1;
    t.batch_size = 4;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_EEMPTY);
    assert_null(res);
    o.spvd_threshold = 3.0;
    o.zero_epochs = -2;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_ERANGE);
    o.zero_epochs = 0;
    o.finetune_epochs = 1;
    assert_int_equal(sparse_prune_run(&res, net, ds, &t, &o), SPARSE_OK);
    assert_non_null(sparse_prune_result_net(res));
    sparse_train_result tr = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_prune_result_training(res, 1, &tr), SPARSE_OK);
    assert_int_equal(tr.epochs_done, 1);
    sparse_net *taken = NULL;
    assert_int_equal(sparse_prune_result_take_net(&taken, res), SPARSE_OK);
    sparse_net *first = taken;
    assert_int_equal(sparse_prune_result_take_net(&taken, res), SPARSE_EINVAL);
    assert_null(taken);
    assert_true(sparse_prune_result_nonzero_count(res) > 0);
    sparse_net_free(first);
    sparse_prune_result_free(res);
    sparse_prune_result_free(NULL);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

const struct CMUnitTest bad_params_tests[] = {
    cmocka_unit_test(test_bad_params),
};
const size_t bad_params_test_count = sizeof bad_params_tests / sizeof bad_params_tests[0];
