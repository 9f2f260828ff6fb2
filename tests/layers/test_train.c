/* Layers: training. Loss falls, predictions agree with evaluation, a NaN
 * stops the loop, shifted inputs are moved training images, version-1
 * options are read as such, and the same seed gives the same bits on one
 * thread or two. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/experimental.h>
#include <sparse/sparse.h>

#include "fixture.h"

extern const struct CMUnitTest train_tests[];
extern const size_t train_test_count;

typedef struct losses {
    double first, last;
    size_t calls;
    size_t stop_after;
} losses;

static int record_loss(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    losses *l = user;
    (void)epoch;
    (void)batch;
    (void)batches;
    assert_true(ips >= 0);
    if (l->calls == 0)
        l->first = loss;
    l->last = loss;
    l->calls++;
    return l->stop_after && l->calls >= l->stop_after;
}

/* sparse_net_predict image by image gives the labels sparse_net_evaluate
 * counts (the same accuracy, exactly) and the logits of a batched forward
 * pass of the same images. */
static void check_predict(sparse_net *net, const sparse_dataset *ds, double accuracy)
{
    const size_t n = sparse_dataset_image_count(ds), K = sparse_arch_class_count(sparse_net_arch(net));
    const size_t per = sparse_dataset_channels(ds) * sparse_dataset_height(ds) * sparse_dataset_width(ds);
    const size_t batch = sparse_net_max_batch(net);
    sparse_tensor *x = NULL, *z = NULL;
    size_t zshape[2] = {batch, K};
    assert_int_equal(sparse_tensor_create_nchw(&x, batch, sparse_dataset_channels(ds),
                                               sparse_dataset_height(ds), sparse_dataset_width(ds)),
                     SPARSE_OK);
    assert_int_equal(sparse_tensor_create(&z, 2, zshape), SPARSE_OK);
    for (size_t i = 0; i < batch; i++)
        memcpy(sparse_tensor_data(x) + i * per, sparse_dataset_image(ds, i), per * sizeof(float));
    assert_int_equal(sparse_net_forward(net, x, 0, z), SPARSE_OK);
    size_t correct = 0;
    float logits[16];
    for (size_t i = 0; i < n; i++) {
        int label = -1, only_label = -1;
        assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, i), logits, &label), SPARSE_OK);
        assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, i), NULL, &only_label), SPARSE_OK);
        assert_int_equal(label, only_label);
        assert_true(label >= 0 && (size_t)label < K);
        for (size_t k = 0; k < K; k++) {
            assert_true(logits[k] <= logits[label]);
            if (i < batch) {
                const float want = sparse_tensor_data(z)[i * K + k];
                assert_true(fabsf(logits[k] - want) <= 1e-5f * (1.0f + fabsf(want)));
            }
        }
        correct += label == sparse_dataset_label(ds, i);
    }
    assert_true((double)correct / (double)n == accuracy);
    assert_int_equal(sparse_net_predict(net, sparse_dataset_image(ds, 0), logits, NULL), SPARSE_OK);
    assert_int_equal(sparse_net_predict(NULL, sparse_dataset_image(ds, 0), logits, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_net_predict(net, NULL, logits, NULL), SPARSE_EINVAL);
    sparse_tensor_free(x);
    sparse_tensor_free(z);
}

static void test_all_layers_trains(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_net *net = make_net(y, 32, 1);
    free(y);
    sparse_dataset *ds = blobs(256, 1, 28, 10, 9, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 4;
    o.batch_size = 32;
    o.lr = 3e-3;
    losses l = {0, 0, 0, 0};
    o.progress = record_loss;
    o.user = &l;
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_OK);
    assert_int_equal(res.epochs_done, 4);
    assert_int_equal(l.calls, 32);
    print_message("all-layers: loss %.3f -> %.3f\n", l.first, l.last);
    assert_true(l.last < 0.5 * l.first);
    double acc;
    assert_int_equal(sparse_net_evaluate(net, ds, &acc), SPARSE_OK);
    assert_true(acc > 0.5);
    check_predict(net, ds, acc);
    /* cancellation */
    l.calls = 0;
    l.stop_after = 3;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_ECANCELLED);
    assert_int_equal(l.calls, 3);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void test_nan_loss_stops(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 8;
    o.seed = 4;
    o.optimizer = SPARSE_OPTIM_SGD;
    o.schedule = SPARSE_LR_CONSTANT;
    o.lr = 1e35; /* diverges at once */
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_ENUMERIC);
    print_message("%s\n", sparse_last_error());
    assert_non_null(strstr(sparse_last_error(), "epoch 1"));
    assert_non_null(strstr(sparse_last_error(), "batch"));
    assert_true(res.steps >= 1 && res.steps < 8);
    /* A NaN weight is caught on the next forward pass too. */
    sparse_tensor *w;
    assert_int_equal(sparse_net_param(&w, net, 1, "weight"), SPARSE_OK);
    sparse_tensor_data(w)[0] = NAN;
    sparse_tensor_free(w);
    o.lr = 1e-3;
    assert_int_equal(sparse_net_train(net, ds, &o, &res), SPARSE_ENUMERIC);
    assert_non_null(strstr(sparse_last_error(), "NaN"));
    assert_non_null(strstr(sparse_last_error(), "batch 1"));
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* What the training loop fed the network, checked after every batch: each
 * input is some training image moved by at most max_shift pixels, zeros
 * where nothing moved in. */
typedef struct shift_seen {
    sparse_net *net;
    const sparse_dataset *ds;
    long max_shift;
    size_t batches, moved, offsets[5][5];
} shift_seen;

/* Offset (dx, dy) by which image x is img moved, or 0 if it is not. */
static int moved_by(const float *x, const float *img, size_t c, size_t hw, long s, long *odx, long *ody)
{
    const long H = (long)hw;
    for (long dy = -s; dy <= s; dy++)
        for (long dx = -s; dx <= s; dx++) {
            int same = 1;
            for (size_t ch = 0; ch < c && same; ch++)
                for (long y = 0; y < H && same; y++)
                    for (long xx = 0; xx < H && same; xx++) {
                        long sy = y - dy, sx = xx - dx;
                        float want = sy < 0 || sy >= H || sx < 0 || sx >= H ? 0.0f
                                                                             : img[(ch * hw + (size_t)sy) * hw + (size_t)sx];
                        same = x[(ch * hw + (size_t)y) * hw + (size_t)xx] == want;
                    }
            if (same) {
                *odx = dx;
                *ody = dy;
                return 1;
            }
        }
    return 0;
}

static int check_shifted_batch(void *user, size_t epoch, size_t batch, size_t batches, double loss, double ips)
{
    (void)epoch, (void)batch, (void)batches, (void)loss, (void)ips;
    shift_seen *sh = user;
    sparse_tensor *in = NULL;
    assert_int_equal(sparse_net_node_output(&in, sh->net, 0), SPARSE_OK);
    const size_t n = sparse_tensor_dim(in, 0), c = sparse_tensor_dim(in, 1), hw = sparse_tensor_dim(in, 2);
    const float *x = sparse_tensor_data_const(in);
    for (size_t i = 0; i < n; i++) {
        long dx = 0, dy = 0;
        int found = 0;
        for (size_t k = 0; k < sparse_dataset_image_count(sh->ds) && !found; k++)
            found = moved_by(x + i * c * hw * hw, sparse_dataset_image(sh->ds, k), c, hw, sh->max_shift, &dx, &dy);
        assert_true(found);
        sh->offsets[dy + 2][dx + 2]++;
        sh->moved += dx || dy;
    }
    sh->batches++;
    sparse_tensor_free(in);
    return 0;
}

static void test_train_shift(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(24, 3, 7, 4, 5, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    assert_int_equal(o.version, 2);
    assert_int_equal(o.max_shift, 0);
    o.epochs = 4;
    o.batch_size = 8;
    o.max_shift = 2;
    shift_seen sh = {net, ds, 2, 0, 0, {{0}}};
    o.progress = check_shifted_batch;
    o.user = &sh;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    assert_int_equal(sh.batches, 12);
    /* 96 draws of 25 offsets: every row and column of offsets is used. */
    print_message("moved %zu of 96 images\n", sh.moved);
    assert_true(sh.moved > 96 / 2);
    for (int k = 0; k < 5; k++) {
        size_t row = 0, col = 0;
        for (int j = 0; j < 5; j++)
            row += sh.offsets[k][j], col += sh.offsets[j][k];
        assert_true(row > 0 && col > 0);
    }
    /* Off: the images go in as they are. */
    memset(&sh, 0, sizeof sh);
    sh.net = net, sh.ds = ds;
    o.max_shift = 0;
    o.epochs = 1;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    assert_int_equal(sh.batches, 3);
    assert_int_equal(sh.moved, 0);
    /* A shift that would move every pixel out of the image. */
    o.max_shift = 7;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "max_shift 7"));
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* A caller built against version 1 of the options (no max_shift) passes a
 * smaller struct: the library must neither read nor write past it. */
static void test_train_options_v1(void **state)
{
    (void)state;
    struct {
        sparse_train_options o;
        unsigned char guard[64];
    } buf;
    memset(&buf, 0xAB, sizeof buf);
    const size_t v1 = offsetof(sparse_train_options, max_shift);
    assert_int_equal(sparse_train_options_init(&buf.o, 1), SPARSE_OK);
    assert_int_equal(buf.o.version, 1);
    assert_int_equal(buf.o.epochs, 10);
    for (size_t i = v1; i < sizeof buf.o; i++)
        assert_int_equal(((unsigned char *)&buf.o)[i], 0xAB);
    buf.o.epochs = 1;
    buf.o.batch_size = 8;
    /* Exactly a version-1 struct on the heap: ASan catches a read beyond it. */
    sparse_train_options *heap = malloc(v1);
    memcpy(heap, &buf.o, v1);
    sparse_net *net = make_net(HEAD "  - {type: fc, units: 4}\n", 8, 1);
    sparse_dataset *ds = blobs(16, 3, 7, 4, 5, 0);
    sparse_train_result r = SPARSE_TRAIN_RESULT_INIT;
    assert_int_equal(sparse_net_train(net, ds, heap, &r), SPARSE_OK);
    assert_int_equal(r.epochs_done, 1);
    /* The same struct as the current version (what sparse_prune_run does). */
    sparse_train_options cur;
    memset(&cur, 0xAB, sizeof cur);
    assert_int_equal(sparse_exp_train_options_copy(&cur, heap), SPARSE_OK);
    assert_int_equal(cur.version, SPARSE_TRAIN_OPTIONS_VERSION);
    assert_int_equal(cur.epochs, 1);
    assert_int_equal(cur.batch_size, 8);
    assert_int_equal(cur.max_shift, 0);
    assert_int_equal(sparse_exp_train_options_copy(&cur, NULL), SPARSE_OK);
    assert_int_equal(cur.epochs, 10);
    const unsigned v3 = 3;
    memcpy(heap, &v3, sizeof v3); /* version is the first field */
    assert_int_equal(sparse_net_train(net, ds, heap, NULL), SPARSE_EVERSION);
    assert_non_null(strstr(sparse_last_error(), "version 3"));
    assert_int_equal(sparse_train_options_init(&buf.o, 3), SPARSE_EVERSION);
    assert_int_equal(sparse_exp_train_options_copy(&cur, heap), SPARSE_EVERSION);
    free(heap);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void train_once(const char *yaml, uint64_t seed, float **weights, size_t *count)
{
    sparse_net *net = make_net(yaml, 16, seed);
    sparse_dataset *ds = blobs(96, 1, 28, 10, 2, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 16;
    o.seed = seed;
    o.optimizer = SPARSE_OPTIM_SGD;
    o.lr = 0.01;
    o.weight_decay = 1e-4;
    o.schedule = SPARSE_LR_ONE_CYCLE;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    size_t total = 0;
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            sparse_tensor *t;
            sparse_net_param(&t, net, id, sparse_net_param_name(net, id, k));
            *weights = realloc(*weights, (total + sparse_tensor_element_count(t)) * sizeof(float));
            memcpy(*weights + total, sparse_tensor_data_const(t),
                   sparse_tensor_element_count(t) * sizeof(float));
            total += sparse_tensor_element_count(t);
            sparse_tensor_free(t);
        }
    *count = total;
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* The parallel loops and BLIS's threads never split a sum, so one and two
 * threads give the same bits; batch 64 makes every loop go parallel. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    float *w[2] = {NULL, NULL};
    size_t cnt[2];
    for (int t = 0; t < 2; t++) {
        assert_int_equal(sparse_set_thread_count(t + 1), SPARSE_OK);
        sparse_net *net = make_net(y, 64, 3);
        sparse_dataset *ds = blobs(192, 1, 28, 10, 2, 0);
        sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
        o.epochs = 1;
        o.batch_size = 64;
        assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
        size_t total = 0;
        for (size_t id = 0; id < sparse_net_node_count(net); id++)
            for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
                sparse_tensor *p;
                sparse_net_param(&p, net, id, sparse_net_param_name(net, id, k));
                w[t] = realloc(w[t], (total + sparse_tensor_element_count(p)) * sizeof(float));
                memcpy(w[t] + total, sparse_tensor_data_const(p),
                       sparse_tensor_element_count(p) * sizeof(float));
                total += sparse_tensor_element_count(p);
                sparse_tensor_free(p);
            }
        cnt[t] = total;
        sparse_dataset_free(ds);
        sparse_net_free(net);
    }
    assert_int_equal(sparse_set_thread_count(1), SPARSE_OK);
    assert_int_equal(cnt[0], cnt[1]);
    assert_memory_equal(w[0], w[1], cnt[0] * sizeof(float));
    free(w[0]);
    free(w[1]);
    free(y);
}

static void test_determinism(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    float *a = NULL, *b = NULL, *c = NULL;
    size_t na, nb, nc;
    train_once(y, 42, &a, &na);
    train_once(y, 42, &b, &nb);
    train_once(y, 43, &c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(float));
    assert_int_equal(na, nc);
    assert_memory_not_equal(a, c, na * sizeof(float));
    /* Two threads: identical bits run to run as well. */
    assert_int_equal(sparse_set_thread_count(2), SPARSE_OK);
    train_once(y, 42, &b, &nb);
    train_once(y, 42, &c, &nc);
    assert_int_equal(sparse_set_thread_count(1), SPARSE_OK);
    assert_memory_equal(b, c, nb * sizeof(float));
    free(a);
    free(b);
    free(c);
    free(y);
}

const struct CMUnitTest train_tests[] = {
    cmocka_unit_test(test_all_layers_trains),
    cmocka_unit_test(test_nan_loss_stops),
    cmocka_unit_test(test_determinism),
    cmocka_unit_test(test_threads_same_bits),
    cmocka_unit_test(test_train_shift),
    cmocka_unit_test(test_train_options_v1),
};
const size_t train_test_count = sizeof train_tests / sizeof train_tests[0];
