/* Opening a data set by name (sparse_data_open): training, validation and
 * test splits of MNIST directories and CSV files, normalisation with the
 * training split's statistics, the tail and random validation splits, and
 * the cache directory behind "mnist". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#include "data_files.h"
#include "fixture.h"

extern const struct CMUnitTest open_tests[];
extern const size_t open_test_count;

static void test_data_open(void **state)
{
    (void)state;
    char dir[256], a[512], b[512];
    snprintf(dir, sizeof dir, "%s/open", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    write_idx_pair(a, b, 30, 2, 2, 10, 0);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte.gz", dir);
    write_idx_pair(a, b, 7, 2, 2, 10, 1);

    sparse_dataset *raw_tr, *raw_te;
    assert_int_equal(sparse_dataset_load_mnist_dir(&raw_tr, &raw_te, dir), SPARSE_OK);

    sparse_data_options o;
    assert_int_equal(sparse_data_options_init(&o, SPARSE_DATA_OPTIONS_VERSION), SPARSE_OK);
    assert_int_equal(o.val_count, 5000);
    sparse_dataset *tr = (sparse_dataset *)1, *va = (sparse_dataset *)1, *te = (sparse_dataset *)1;
    expect_error(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_ERANGE, "val_count 5000", NULL);
    assert_null(tr);
    assert_null(va);
    assert_null(te);

    o.val_count = 8;
    o.normalize = 0;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(tr), 22);
    assert_int_equal(sparse_dataset_image_count(va), 8);
    assert_int_equal(sparse_dataset_image_count(te), 7);
    /* Validation is the tail of the training file. */
    assert_int_equal(sparse_dataset_label(va, 0), 22 % 10);
    assert_memory_equal(sparse_dataset_image(va, 7), sparse_dataset_image(raw_tr, 29), 4 * sizeof(float));
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);

    /* Normalised with the training split's statistics, applied to all. */
    o.normalize = 1;
    o.max_train = 10;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(tr), 10);
    sparse_dataset *first10;
    assert_int_equal(sparse_dataset_range(&first10, raw_tr, 0, 10), SPARSE_OK);
    float m, s;
    assert_int_equal(sparse_dataset_compute_normalization(first10, &m, &s), SPARSE_OK);
    double mean, sd;
    assert_int_equal(sparse_dataset_pixel_stats(tr, &mean, &sd, NULL, NULL), SPARSE_OK);
    assert_near(mean, 0.0, 1e-5);
    assert_near(sd, 1.0, 1e-5);
    assert_near(sparse_dataset_image(te, 3)[1], (sparse_dataset_image(raw_te, 3)[1] - m) / s, 1e-6f);
    assert_near(sparse_dataset_image(va, 2)[0], (sparse_dataset_image(raw_tr, 24)[0] - m) / s, 1e-6f);
    sparse_dataset_free(first10);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);

    /* Binary: classes 0-4 -> 0, 5-9 -> 1. */
    o.binary = 1;
    o.max_train = 0;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_class_count(tr), 2);
    assert_int_equal(sparse_dataset_class_count(te), 2);
    for (size_t i = 0; i < sparse_dataset_image_count(te); i++)
        assert_int_equal(sparse_dataset_label(te, i), sparse_dataset_label(raw_te, i) >= 5);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    sparse_dataset_free(raw_tr);
    sparse_dataset_free(raw_te);

    /* CSV: a seeded shuffle; the same seed gives the same split. */
    char p[512];
    path_of(p, "split.csv");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 50; i++)
        fprintf(f, "%d,%d,%d,%d,%d\n", i % 5, i, i + 1, i + 2, i + 3);
    fclose(f);
    o.binary = 0;
    o.normalize = 0;
    o.val_count = 10;
    o.seed = 7;
    sparse_dataset *tr2, *va2, *te2;
    assert_int_equal(sparse_data_open(&tr, &va, &te, p, &o), SPARSE_OK);
    assert_int_equal(sparse_data_open(&tr2, &va2, &te2, p, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(te), 10);
    assert_int_equal(sparse_dataset_image_count(va), 10);
    assert_int_equal(sparse_dataset_image_count(tr), 30);
    assert_memory_equal(sparse_dataset_image(tr, 0), sparse_dataset_image(tr2, 0), 30 * 4 * sizeof(float));
    /* Every row lands in exactly one split. */
    int seen[50] = {0};
    sparse_dataset *all[3] = {tr, va, te};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sparse_dataset_image_count(all[k]); i++)
            seen[(int)sparse_dataset_image(all[k], i)[0]]++;
    for (int i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
    sparse_dataset_free(tr2);
    sparse_dataset_free(va2);
    sparse_dataset_free(te2);
    o.seed = 8;
    assert_int_equal(sparse_data_open(&tr2, &va2, &te2, p, &o), SPARSE_OK);
    assert_memory_not_equal(sparse_dataset_image(tr, 0), sparse_dataset_image(tr2, 0), 30 * 4 * sizeof(float));
    sparse_dataset_free(tr2);
    sparse_dataset_free(va2);
    sparse_dataset_free(te2);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);

    o.test_fraction = 1.0;
    expect_error(sparse_data_open(&tr, &va, &te, p, &o), SPARSE_EINVAL, "test_fraction", NULL);
    o.test_fraction = 0.2;
    o.version = 0;
    expect_error(sparse_data_open(&tr, &va, &te, p, &o), SPARSE_EVERSION, NULL, NULL);
    expect_error(sparse_data_open(&tr, &va, &te, path_of(p, "nothing-here"), NULL), SPARSE_ENOTFOUND,
                 "nothing-here", NULL);
    write_text(p, "x");
    expect_error(sparse_data_open(&tr, &va, &te, p, NULL), SPARSE_EUNSUPPORTED, "nothing-here", NULL);
    /* "mnist" is the cache directory; an empty cache says how to fill it. */
    char old[512] = "";
    const char *x = getenv("XDG_CACHE_HOME");
    int had = x != NULL;
    if (had)
        snprintf(old, sizeof old, "%s", x);
    setenv("XDG_CACHE_HOME", tmpdir, 1);
    expect_error(sparse_data_open(&tr, &va, &te, "mnist", NULL), SPARSE_ENOTFOUND, "sparsenas data fetch mnist",
                 tmpdir);
    assert_null(tr);
    if (had)
        setenv("XDG_CACHE_HOME", old, 1);
    else
        unsetenv("XDG_CACHE_HOME");
}

/* The image id behind an image of write_idx_pair's files (normalize off):
 * pixel 0 of image i is (i * 7) % 256, and 183 * 7 = 1 mod 256. */
static size_t image_id(const sparse_dataset *ds, size_t k)
{
    const unsigned v = (unsigned)lrintf(sparse_dataset_image(ds, k)[0] * 255.0f);
    return (v * 183u) % 256u;
}

/* ids of a split's images, in order; 1 if they ascend. */
static int split_ids(const sparse_dataset *ds, size_t *ids)
{
    int ascending = 1;
    for (size_t k = 0; k < sparse_dataset_image_count(ds); k++) {
        ids[k] = image_id(ds, k);
        ascending &= k == 0 || ids[k] > ids[k - 1];
    }
    return ascending;
}

static void test_val_split(void **state)
{
    (void)state;
    char dir[256], a[512], b[512];
    snprintf(dir, sizeof dir, "%s/split", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    write_idx_pair(a, b, 30, 2, 2, 10, 0);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    write_idx_pair(a, b, 7, 2, 2, 10, 0);
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    assert_int_equal(o.val_split, SPARSE_VAL_SPLIT_TAIL);
    o.val_count = 8;
    o.normalize = 0;
    o.seed = 5;
    size_t val[3][8], train[3][22];
    for (int r = 0; r < 3; r++) {
        sparse_dataset *tr, *va, *te;
        o.val_split = r == 0 ? SPARSE_VAL_SPLIT_TAIL : SPARSE_VAL_SPLIT_RANDOM;
        o.seed = r == 2 ? 6 : 5;
        assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
        assert_int_equal(sparse_dataset_image_count(va), 8);
        assert_int_equal(sparse_dataset_image_count(tr), 22);
        /* both keep the file's order; together they are the file */
        assert_true(split_ids(va, val[r]));
        assert_true(split_ids(tr, train[r]));
        int seen[30] = {0};
        for (size_t k = 0; k < 8; k++)
            seen[val[r][k]]++;
        for (size_t k = 0; k < 22; k++)
            seen[train[r][k]]++;
        for (size_t i = 0; i < 30; i++)
            assert_int_equal(seen[i], 1);
        sparse_dataset_free(tr);
        sparse_dataset_free(va);
        sparse_dataset_free(te);
    }
    assert_int_equal(val[0][0], 22); /* tail: the last 8 */
    assert_int_equal(val[0][7], 29);
    assert_memory_not_equal(val[0], val[1], sizeof val[0]);
    assert_memory_not_equal(val[1], val[2], sizeof val[1]);
    /* the same seed draws the same images */
    sparse_dataset *tr, *va, *te;
    o.seed = 5;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    size_t again[8];
    split_ids(va, again);
    assert_memory_equal(again, val[1], sizeof again);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    /* a version 2 caller ends before val_split: the tail */
    o.version = 2;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    split_ids(va, again);
    assert_memory_equal(again, val[0], sizeof again);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    o.version = SPARSE_DATA_OPTIONS_VERSION;
    o.val_split = 9;
    expect_error(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_EINVAL, "val_split 9", NULL);
}

static void test_cache_dir(void **state)
{
    (void)state;
    char old_x[512] = "", old_h[512] = "", buf[512];
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int had_x = x != NULL, had_h = h != NULL;
    if (had_x)
        snprintf(old_x, sizeof old_x, "%s", x);
    if (had_h)
        snprintf(old_h, sizeof old_h, "%s", h);

    setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(sparse_data_cache_dir(buf, sizeof buf, "mnist"), SPARSE_OK);
    assert_string_equal(buf, "/xdg/cache/sparse/mnist");
    /* Exactly enough room, then one byte short. */
    assert_int_equal(sparse_data_cache_dir(buf, strlen("/xdg/cache/sparse/mnist") + 1, "mnist"), SPARSE_OK);
    expect_error(sparse_data_cache_dir(buf, strlen("/xdg/cache/sparse/mnist"), "mnist"), SPARSE_ERANGE, NULL, NULL);
    assert_string_equal(buf, "");
    setenv("XDG_CACHE_HOME", "relative", 1);
    assert_int_equal(sparse_data_cache_dir(buf, sizeof buf, "mnist"), SPARSE_OK);
    assert_string_equal(buf, "/home/u/.cache/sparse/mnist");
    unsetenv("XDG_CACHE_HOME");
    assert_int_equal(sparse_data_cache_dir(buf, sizeof buf, "cifar"), SPARSE_OK);
    assert_string_equal(buf, "/home/u/.cache/sparse/cifar");
    unsetenv("HOME");
    expect_error(sparse_data_cache_dir(buf, sizeof buf, "mnist"), SPARSE_ENOTFOUND, NULL, NULL);
    expect_error(sparse_data_cache_dir(buf, sizeof buf, "../x"), SPARSE_EINVAL, NULL, NULL);
    expect_error(sparse_data_cache_dir(buf, sizeof buf, ""), SPARSE_EINVAL, NULL, NULL);

    if (had_x)
        setenv("XDG_CACHE_HOME", old_x, 1);
    if (had_h)
        setenv("HOME", old_h, 1);
}

const struct CMUnitTest open_tests[] = {
    cmocka_unit_test(test_data_open),
    cmocka_unit_test(test_val_split),
    cmocka_unit_test(test_cache_dir),
};
const size_t open_test_count = sizeof open_tests / sizeof open_tests[0];
