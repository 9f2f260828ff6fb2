/* Tests of the data module: in-memory data sets, the batcher and the
 * API's argument checks (here); IDX files (test_idx.c), CSV files
 * (test_csv.c) and opening a data set by name with its splits
 * (test_open.c) in parts of their own. Every file is generated in a fresh
 * temporary directory: tiny IDX (plain and gzip) and CSV files, then
 * broken copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#include "../expect.h"
#include "data_files.h"
#include "fixture.h"

extern const struct CMUnitTest idx_tests[];
extern const size_t idx_test_count;
extern const struct CMUnitTest csv_tests[];
extern const size_t csv_test_count;
extern const struct CMUnitTest open_tests[];
extern const size_t open_test_count;

/* ---- in-memory data sets ---- */

static sparse_dataset *small_ds(size_t n, size_t classes)
{
    float *img = malloc(n * 2 * 3 * 2 * sizeof *img);
    int32_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n * 12; i++)
        img[i] = (float)i;
    for (size_t i = 0; i < n; i++)
        lab[i] = (int32_t)(i % classes);
    sparse_dataset *ds;
    assert_int_equal(sparse_dataset_from_memory(&ds, n, 2, 3, 2, img, lab, classes), SPARSE_OK);
    free(img);
    free(lab);
    return ds;
}

static void test_from_memory(void **state)
{
    (void)state;
    sparse_dataset *ds = small_ds(5, 3);
    assert_int_equal(sparse_dataset_image_count(ds), 5);
    assert_int_equal(sparse_dataset_channels(ds), 2);
    assert_int_equal(sparse_dataset_height(ds), 3);
    assert_int_equal(sparse_dataset_width(ds), 2);
    assert_int_equal(sparse_dataset_class_count(ds), 3);
    assert_int_equal(sparse_dataset_label(ds, 4), 1);
    assert_int_equal(sparse_dataset_label(ds, 5), -1);
    assert_true(sparse_dataset_image(ds, 1)[0] == 12.0f);
    assert_null(sparse_dataset_image(ds, 5));
    assert_int_equal(sparse_dataset_label_count(ds, 0), 2);
    assert_int_equal(sparse_dataset_label_count(ds, 2), 1);
    assert_int_equal(sparse_dataset_label_count(ds, 9), 0);
    sparse_dataset_free(ds);
    sparse_dataset_free(NULL);
    assert_int_equal(sparse_dataset_image_count(NULL), 0);

    float img[4] = {0, 1, 2, 3};
    int32_t lab[2] = {0, 2};
    ds = (sparse_dataset *)1;
    expect_error(sparse_dataset_from_memory(&ds, 2, 1, 1, 2, img, lab, 2), SPARSE_ERANGE, "label 2", NULL);
    assert_null(ds);
    lab[1] = -1;
    expect_error(sparse_dataset_from_memory(&ds, 2, 1, 1, 2, img, lab, 2), SPARSE_ERANGE, "label -1", NULL);
    lab[1] = 1;
    img[3] = NAN;
    expect_error(sparse_dataset_from_memory(&ds, 2, 1, 1, 2, img, lab, 2), SPARSE_ENUMERIC, "image 1", NULL);
    img[3] = 3;
    expect_error(sparse_dataset_from_memory(&ds, 2, 0, 1, 2, img, lab, 2), SPARSE_ESHAPE, NULL, NULL);
    expect_error(sparse_dataset_from_memory(&ds, 2, 1, 1, 2, NULL, lab, 2), SPARSE_EINVAL, NULL, NULL);
    expect_error(sparse_dataset_from_memory(&ds, 2, 1, 1, 2, img, lab, 0), SPARSE_EINVAL, NULL, NULL);
    expect_error(sparse_dataset_from_memory(NULL, 2, 1, 1, 2, img, lab, 2), SPARSE_EINVAL, NULL, NULL);
    expect_error(sparse_dataset_from_memory(&ds, 1, SIZE_MAX / 2, 4, 2, img, lab, 2), SPARSE_ERANGE, NULL, NULL);
    assert_null(ds);
}

static void test_range_subset(void **state)
{
    (void)state;
    sparse_dataset *ds = small_ds(6, 4), *r = NULL;
    assert_int_equal(sparse_dataset_range(&r, ds, 2, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(r), 3);
    assert_int_equal(sparse_dataset_class_count(r), 4);
    assert_int_equal(sparse_dataset_label(r, 0), 2);
    assert_memory_equal(sparse_dataset_image(r, 0), sparse_dataset_image(ds, 2), 12 * sizeof(float));
    sparse_dataset_free(r);
    assert_int_equal(sparse_dataset_range(&r, ds, 6, 0), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(r), 0);
    /* An empty subset keeps the parent's classes but has no statistics. */
    assert_int_equal(sparse_dataset_class_count(r), 4);
    expect_error(sparse_dataset_pixel_stats(r, NULL, NULL, NULL, NULL), SPARSE_EEMPTY, NULL, NULL);
    sparse_dataset_free(r);
    expect_error(sparse_dataset_range(&r, ds, 5, 2), SPARSE_ERANGE, NULL, NULL);
    assert_null(r);
    expect_error(sparse_dataset_range(&r, ds, SIZE_MAX, 2), SPARSE_ERANGE, NULL, NULL);

    size_t idx[3] = {5, 0, 5};
    assert_int_equal(sparse_dataset_subset(&r, ds, idx, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_label(r, 0), 1);
    assert_int_equal(sparse_dataset_label(r, 1), 0);
    assert_memory_equal(sparse_dataset_image(r, 2), sparse_dataset_image(ds, 5), 12 * sizeof(float));
    sparse_dataset_free(r);
    idx[1] = 6;
    expect_error(sparse_dataset_subset(&r, ds, idx, 3), SPARSE_ERANGE, "index 6", NULL);
    assert_null(r);
    sparse_dataset_free(ds);
}

static void test_stats_normalize(void **state)
{
    (void)state;
    /* Pixels 1, 2, 3, 4, 5, 6, 7, 8: mean 4.5, population variance 5.25. */
    float img[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t lab[2] = {0, 1};
    sparse_dataset *ds;
    assert_int_equal(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, lab, 2), SPARSE_OK);
    double mean, sd, lo, hi;
    assert_int_equal(sparse_dataset_pixel_stats(ds, &mean, &sd, &lo, &hi), SPARSE_OK);
    assert_near(mean, 4.5, 1e-12);
    assert_near(sd, sqrt(5.25), 1e-12);
    assert_near(lo, 1.0, 0);
    assert_near(hi, 8.0, 0);
    assert_int_equal(sparse_dataset_pixel_stats(ds, NULL, NULL, NULL, NULL), SPARSE_OK);
    float m, s;
    assert_int_equal(sparse_dataset_compute_normalization(ds, &m, &s), SPARSE_OK);
    assert_near(m, 4.5f, 1e-6f);
    assert_near(s, (float)sqrt(5.25), 1e-6f);
    assert_int_equal(sparse_dataset_normalize(ds, m, s), SPARSE_OK);
    assert_near(sparse_dataset_image(ds, 0)[0], (1.0f - m) / s, 1e-6f);
    assert_int_equal(sparse_dataset_pixel_stats(ds, &mean, &sd, NULL, NULL), SPARSE_OK);
    assert_near(mean, 0.0, 1e-6);
    assert_near(sd, 1.0, 1e-6);
    expect_error(sparse_dataset_normalize(ds, 0.0f, 0.0f), SPARSE_EINVAL, NULL, NULL);
    expect_error(sparse_dataset_normalize(ds, NAN, 1.0f), SPARSE_EINVAL, NULL, NULL);
    sparse_dataset_free(ds);
}

static void test_relabel(void **state)
{
    (void)state;
    sparse_dataset *ds = small_ds(8, 4);
    int bad[4] = {0, 1, 2, 0};
    expect_error(sparse_dataset_relabel(ds, bad, 4), SPARSE_EINVAL, "class 2", NULL);
    /* A failed call changes nothing. */
    assert_int_equal(sparse_dataset_label(ds, 2), 2);
    int g[4] = {1, 0, 0, 1};
    expect_error(sparse_dataset_relabel(ds, g, 3), SPARSE_ESHAPE, NULL, NULL);
    assert_int_equal(sparse_dataset_relabel(ds, g, 4), SPARSE_OK);
    assert_int_equal(sparse_dataset_class_count(ds), 2);
    int want[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    for (int i = 0; i < 8; i++)
        assert_int_equal(sparse_dataset_label(ds, (size_t)i), want[i]);
    assert_int_equal(sparse_dataset_label_count(ds, 1), 4);
    sparse_dataset_free(ds);
}

/* ---- batcher ---- */

/* Records the label sequence of one epoch (labels are the image indices). */
static size_t run_epoch(sparse_batcher *b, sparse_tensor *x, int32_t *order, size_t *sizes)
{
    int32_t lab[4];
    size_t n, total = 0, k = 0;
    for (;;) {
        assert_int_equal(sparse_batcher_next(b, x, lab, &n), SPARSE_OK);
        if (n == 0)
            break;
        const float *d = sparse_tensor_data(x);
        for (size_t i = 0; i < n; i++) {
            /* The image travels with its label. */
            assert_true(d[i * 2] == (float)(lab[i] * 2));
            order[total++] = lab[i];
        }
        if (sizes)
            sizes[k++] = n;
    }
    return total;
}

static void test_batcher(void **state)
{
    (void)state;
    enum { N = 10 };
    float img[N * 2];
    int32_t lab[N];
    for (int i = 0; i < N * 2; i++)
        img[i] = (float)i;
    for (int i = 0; i < N; i++)
        lab[i] = i;
    sparse_dataset *ds;
    assert_int_equal(sparse_dataset_from_memory(&ds, N, 1, 1, 2, img, lab, N), SPARSE_OK);
    sparse_tensor *x;
    assert_int_equal(sparse_tensor_create_nchw(&x, 4, 1, 1, 2), SPARSE_OK);

    sparse_batcher *a, *b;
    assert_int_equal(sparse_batcher_create(&a, ds, 4, 1, 42), SPARSE_OK);
    assert_int_equal(sparse_batcher_create(&b, ds, 4, 1, 42), SPARSE_OK);
    int32_t e0[N], e0b[N], e1[N], e1b[N], e2[N];
    size_t sizes[8] = {0};
    assert_int_equal(run_epoch(a, x, e0, sizes), N);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[1], 4);
    assert_int_equal(sizes[2], 2); /* last batch is short */
    assert_int_equal(sizes[3], 0);
    assert_int_equal(run_epoch(b, x, e0b, NULL), N);
    assert_memory_equal(e0, e0b, sizeof e0);
    /* Each epoch is a permutation. */
    int seen[N] = {0};
    for (int i = 0; i < N; i++)
        seen[e0[i]]++;
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(run_epoch(a, x, e1, NULL), N);
    assert_memory_not_equal(e0, e1, sizeof e0);
    assert_int_equal(run_epoch(a, x, e2, NULL), N);
    /* Resume: seeking to epoch 1 replays exactly epoch 1, even mid-epoch. */
    int32_t l4[4];
    size_t n;
    assert_int_equal(sparse_batcher_next(b, x, l4, &n), SPARSE_OK);
    assert_int_equal(sparse_batcher_seek_epoch(b, 1), SPARSE_OK);
    assert_int_equal(run_epoch(b, x, e1b, NULL), N);
    assert_memory_equal(e1, e1b, sizeof e1);
    assert_int_equal(run_epoch(b, x, e1b, NULL), N);
    assert_memory_equal(e2, e1b, sizeof e2);
    sparse_batcher_free(b);

    /* Another seed, another order. */
    assert_int_equal(sparse_batcher_create(&b, ds, 4, 1, 43), SPARSE_OK);
    assert_int_equal(run_epoch(b, x, e0b, NULL), N);
    assert_memory_not_equal(e0, e0b, sizeof e0);
    sparse_batcher_free(b);

    /* No shuffle: file order every epoch. */
    assert_int_equal(sparse_batcher_create(&b, ds, 4, 0, 42), SPARSE_OK);
    for (int ep = 0; ep < 2; ep++) {
        assert_int_equal(run_epoch(b, x, e0b, NULL), N);
        for (int i = 0; i < N; i++)
            assert_int_equal(e0b[i], i);
    }
    sparse_batcher_free(b);

    /* A flat (batch, C*H*W) tensor is accepted; a too-small one is not. */
    sparse_tensor *flat, *small;
    size_t fs[2] = {4, 2};
    assert_int_equal(sparse_tensor_create(&flat, 2, fs), SPARSE_OK);
    assert_int_equal(sparse_batcher_next(a, flat, l4, &n), SPARSE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(sparse_tensor_create_nchw(&small, 3, 1, 1, 2), SPARSE_OK);
    expect_error(sparse_batcher_next(a, small, l4, &n), SPARSE_ESHAPE, NULL, NULL);
    sparse_tensor_free(small);
    assert_int_equal(sparse_tensor_create_nchw(&small, 4, 1, 2, 1), SPARSE_OK);
    expect_error(sparse_batcher_next(a, small, l4, &n), SPARSE_ESHAPE, NULL, NULL);
    sparse_tensor_free(small);
    sparse_tensor_free(flat);
    sparse_batcher_free(a);

    a = (sparse_batcher *)1;
    expect_error(sparse_batcher_create(&a, ds, 0, 1, 1), SPARSE_EINVAL, NULL, NULL);
    assert_null(a);
    sparse_batcher_free(NULL);
    sparse_tensor_free(x);
    sparse_dataset_free(ds);
}

/* The argument checks of the in-memory data set and batcher API: each
 * pointer argument named, ranges and shapes refused with what and where,
 * and the getters of a NULL data set or an image past the last. */
static void test_dataset_api_errors(void **state)
{
    (void)state;
    const float img[2 * 4] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int32_t lab[2] = {0, 2};
    sparse_dataset *ds = NULL, *d2 = NULL;
    EXPECT_NULL_ARG(sparse_dataset_from_memory(NULL, 2, 1, 2, 2, img, lab, 3), "sparse_dataset_from_memory", "out");
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, NULL, lab, 3), SPARSE_EINVAL, "images or labels is NULL");
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, NULL, 3), SPARSE_EINVAL, "images or labels is NULL");
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 0, 2, img, lab, 3), SPARSE_ESHAPE, "image shape 1x0x2");
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, lab, 0), SPARSE_EINVAL, "num_classes is 0");
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, lab, 2), SPARSE_ERANGE,
                 "label 2 of image 1 is outside [0, 2)");
    const int32_t neg[2] = {0, -1};
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, neg, 3), SPARSE_ERANGE, "label -1 of image 1");
    float nan_img[8];
    memcpy(nan_img, img, sizeof nan_img);
    nan_img[6] = NAN;
    EXPECT_ERROR(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, nan_img, lab, 3), SPARSE_ENUMERIC,
                 "pixel 2 of image 1 is not finite");
    assert_null(ds);
    /* no images: valid, and empty */
    assert_int_equal(sparse_dataset_from_memory(&ds, 0, 1, 2, 2, NULL, NULL, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(ds), 0);
    sparse_dataset_free(ds);
    assert_int_equal(sparse_dataset_from_memory(&ds, 2, 1, 2, 2, img, lab, 3), SPARSE_OK);

    assert_int_equal(sparse_dataset_image_count(NULL), 0);
    assert_int_equal(sparse_dataset_channels(NULL), 0);
    assert_int_equal(sparse_dataset_height(NULL), 0);
    assert_int_equal(sparse_dataset_width(NULL), 0);
    assert_int_equal(sparse_dataset_class_count(NULL), 0);
    assert_int_equal(sparse_dataset_label(ds, 2), -1);
    assert_int_equal(sparse_dataset_label(NULL, 0), -1);
    assert_null(sparse_dataset_image(ds, 2));
    assert_null(sparse_dataset_image(NULL, 0));
    assert_int_equal(sparse_dataset_label_count(NULL, 0), 0);
    assert_int_equal(sparse_dataset_label_count(ds, 2), 1);
    EXPECT_NULL_ARG(sparse_dataset_pixel_stats(NULL, NULL, NULL, NULL, NULL), "sparse_dataset_pixel_stats", "ds");

    EXPECT_NULL_ARG(sparse_dataset_range(NULL, ds, 0, 1), "sparse_dataset_range", "out");
    EXPECT_NULL_ARG(sparse_dataset_range(&d2, NULL, 0, 1), "sparse_dataset_range", "src");
    EXPECT_ERROR(sparse_dataset_range(&d2, ds, 1, 2), SPARSE_ERANGE, "[1, 1+2) is outside the 2 images");
    EXPECT_ERROR(sparse_dataset_range(&d2, ds, 3, 0), SPARSE_ERANGE, "[3, 3+0) is outside the 2 images");
    assert_int_equal(sparse_dataset_range(&d2, ds, 2, 0), SPARSE_OK); /* empty, at the end */
    assert_int_equal(sparse_dataset_image_count(d2), 0);
    sparse_dataset_free(d2);
    const size_t pick[2] = {1, 5};
    EXPECT_NULL_ARG(sparse_dataset_subset(NULL, ds, pick, 1), "sparse_dataset_subset", "out");
    EXPECT_NULL_ARG(sparse_dataset_subset(&d2, NULL, pick, 1), "sparse_dataset_subset", "src");
    EXPECT_ERROR(sparse_dataset_subset(&d2, ds, NULL, 1), SPARSE_EINVAL, "sparse_dataset_subset: indices is NULL");
    EXPECT_ERROR(sparse_dataset_subset(&d2, ds, pick, 2), SPARSE_ERANGE, "index 5 (entry 1) is outside the 2 images");
    assert_int_equal(sparse_dataset_subset(&d2, ds, pick, 1), SPARSE_OK);
    assert_int_equal(sparse_dataset_label(d2, 0), 2);
    assert_true(sparse_dataset_image(d2, 0)[3] == 7.0f);
    sparse_dataset_free(d2);

    float mean = 0, sd = 0;
    EXPECT_NULL_ARG(sparse_dataset_compute_normalization(NULL, &mean, &sd), "sparse_dataset_compute_normalization", "ds");
    EXPECT_NULL_ARG(sparse_dataset_compute_normalization(ds, NULL, &sd), "sparse_dataset_compute_normalization", "mean");
    EXPECT_NULL_ARG(sparse_dataset_compute_normalization(ds, &mean, NULL), "sparse_dataset_compute_normalization", "std");
    EXPECT_NULL_ARG(sparse_dataset_normalize(NULL, 0, 1), "sparse_dataset_normalize", "ds");
    EXPECT_ERROR(sparse_dataset_normalize(ds, 0, 0), SPARSE_EINVAL, "need a finite mean and std > 0 (got 0, 0)");
    EXPECT_ERROR(sparse_dataset_normalize(ds, NAN, 1), SPARSE_EINVAL, "got nan, 1");
    EXPECT_ERROR(sparse_dataset_normalize(ds, 0, INFINITY), SPARSE_EINVAL, "got 0, inf");
    assert_true(sparse_dataset_image(ds, 1)[0] == 4.0f); /* unchanged */
    const int groups[3] = {0, 1, 2}, ok_groups[3] = {1, 0, 1};
    EXPECT_NULL_ARG(sparse_dataset_relabel(NULL, groups, 3), "sparse_dataset_relabel", "ds");
    EXPECT_NULL_ARG(sparse_dataset_relabel(ds, NULL, 3), "sparse_dataset_relabel", "group_of_class");
    EXPECT_ERROR(sparse_dataset_relabel(ds, groups, 2), SPARSE_ESHAPE, "2 groups given for 3 classes");
    EXPECT_ERROR(sparse_dataset_relabel(ds, groups, 3), SPARSE_EINVAL, "class 2 maps to group 2, not 0 or 1");
    assert_int_equal(sparse_dataset_label(ds, 1), 2); /* unchanged */
    assert_int_equal(sparse_dataset_relabel(ds, ok_groups, 3), SPARSE_OK);
    assert_int_equal(sparse_dataset_label(ds, 0), 1);
    assert_int_equal(sparse_dataset_label(ds, 1), 1);
    assert_int_equal(sparse_dataset_class_count(ds), 2);

    sparse_batcher *b = NULL;
    EXPECT_NULL_ARG(sparse_batcher_create(NULL, ds, 1, 0, 1), "sparse_batcher_create", "out");
    EXPECT_NULL_ARG(sparse_batcher_create(&b, NULL, 1, 0, 1), "sparse_batcher_create", "ds");
    EXPECT_ERROR(sparse_batcher_create(&b, ds, 0, 0, 1), SPARSE_EINVAL, "sparse_batcher_create: batch_size is 0");
    assert_null(b);
    assert_int_equal(sparse_batcher_create(&b, ds, 2, 1, 1), SPARSE_OK);
    sparse_tensor *x = NULL, *small = NULL, *wrong = NULL, *flat = NULL;
    int32_t labels[2];
    size_t n = 9;
    assert_int_equal(sparse_tensor_create_nchw(&x, 2, 1, 2, 2), SPARSE_OK);
    EXPECT_NULL_ARG(sparse_batcher_next(b, x, labels, NULL), "sparse_batcher_next", "n");
    EXPECT_NULL_ARG(sparse_batcher_next(NULL, x, labels, &n), "sparse_batcher_next", "b");
    assert_int_equal(n, 0);
    EXPECT_NULL_ARG(sparse_batcher_next(b, NULL, labels, &n), "sparse_batcher_next", "x");
    EXPECT_NULL_ARG(sparse_batcher_next(b, x, NULL, &n), "sparse_batcher_next", "labels");
    assert_int_equal(sparse_tensor_create_nchw(&small, 1, 1, 2, 2), SPARSE_OK);
    EXPECT_ERROR(sparse_batcher_next(b, small, labels, &n), SPARSE_ESHAPE, "x must be a contiguous (>= 2, 1, 2, 2)");
    assert_int_equal(sparse_tensor_create_nchw(&wrong, 2, 1, 1, 4), SPARSE_OK);
    EXPECT_ERROR(sparse_batcher_next(b, wrong, labels, &n), SPARSE_ESHAPE, "x must be a contiguous");
    size_t fshape[2] = {2, 4};
    assert_int_equal(sparse_tensor_create(&flat, 2, fshape), SPARSE_OK); /* (batch, C*H*W) will do */
    assert_int_equal(sparse_batcher_next(b, flat, labels, &n), SPARSE_OK);
    assert_int_equal(n, 2);
    EXPECT_NULL_ARG(sparse_batcher_seek_epoch(NULL, 1), "sparse_batcher_seek_epoch", "b");
    sparse_batcher_free(b);
    sparse_tensor_free(x);
    sparse_tensor_free(small);
    sparse_tensor_free(wrong);
    sparse_tensor_free(flat);

    /* opening and cache names */
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    EXPECT_NULL_ARG(sparse_data_open(NULL, &va, &te, "x", NULL), "sparse_data_open", "train");
    EXPECT_NULL_ARG(sparse_data_open(&tr, NULL, &te, "x", NULL), "sparse_data_open", "val");
    EXPECT_NULL_ARG(sparse_data_open(&tr, &va, NULL, "x", NULL), "sparse_data_open", "test");
    EXPECT_NULL_ARG(sparse_data_open(&tr, &va, &te, NULL, NULL), "sparse_data_open", "spec");
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.test_fraction = 1.0;
    EXPECT_ERROR(sparse_data_open(&tr, &va, &te, "x.csv", &o), SPARSE_EINVAL, "test_fraction 1 is outside [0, 1)");
    o.test_fraction = NAN;
    EXPECT_ERROR(sparse_data_open(&tr, &va, &te, "x.csv", &o), SPARSE_EINVAL, "test_fraction nan");
    char buf[8];
    EXPECT_NULL_ARG(sparse_data_cache_dir(NULL, 8, "mnist"), "sparse_data_cache_dir", "buf");
    EXPECT_NULL_ARG(sparse_data_cache_dir(buf, 8, NULL), "sparse_data_cache_dir", "name");
    EXPECT_ERROR(sparse_data_cache_dir(buf, 8, "."), SPARSE_EINVAL, "'.' is not a data set name");
    EXPECT_ERROR(sparse_data_cache_dir(buf, 8, ".."), SPARSE_EINVAL, "'..' is not a data set name");
    EXPECT_ERROR(sparse_data_cache_dir(buf, 0, "a/b"), SPARSE_EINVAL, "'a/b' is not a data set name");
    sparse_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_memory),
        cmocka_unit_test(test_range_subset),
        cmocka_unit_test(test_stats_normalize),
        cmocka_unit_test(test_relabel),
        cmocka_unit_test(test_batcher),
        cmocka_unit_test(test_dataset_api_errors),
    };
    int fails = _cmocka_run_group_tests("idx", idx_tests, idx_test_count, setup_dir, teardown_dir);
    fails += _cmocka_run_group_tests("csv", csv_tests, csv_test_count, setup_dir, teardown_dir);
    fails += _cmocka_run_group_tests("open", open_tests, open_test_count, setup_dir, teardown_dir);
    return fails + cmocka_run_group_tests(tests, NULL, NULL);
}
