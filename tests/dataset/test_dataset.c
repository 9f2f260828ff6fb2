/* Tests of the data module. Every file is generated in a fresh temporary
 * directory: tiny IDX (plain and gzip) and CSV files, then broken copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#include "../expect.h"
#define DATA_TEST_NAME "dataset"
#include "data_files.h"

/* Debian 12's cmocka predates assert_double_equal. */
#define assert_near(a, b, eps)                                                   \
    do {                                                                         \
        double a_ = (double)(a), b_ = (double)(b);                               \
        if (!(fabs(a_ - b_) <= (double)(eps)))                                    \
            fail_msg("%s = %.9g, expected %.9g", #a, a_, b_);                    \
    } while (0)

static char *path_of(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tmpdir, name);
    return buf;
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Image i, pixel j has value (i * 7 + j * 3) % 256; label i % classes. */
static size_t make_images(unsigned char *buf, uint32_t n, uint32_t h, uint32_t w)
{
    put_be32(buf, 0x803);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < h * w; j++)
            buf[16 + i * h * w + j] = (unsigned char)((i * 7 + j * 3) % 256);
    return 16 + (size_t)n * h * w;
}

static size_t make_labels(unsigned char *buf, uint32_t n, uint32_t classes)
{
    put_be32(buf, 0x801);
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (unsigned char)(i % classes);
    return 8 + (size_t)n;
}

/* Writes NAME_PREFIX-images / -labels with n images of h x w. */
static void write_idx_pair(const char *img, const char *lab, uint32_t n, uint32_t h, uint32_t w,
                           uint32_t classes, int gz)
{
    unsigned char *b = malloc(16 + (size_t)n * h * w);
    assert_non_null(b);
    write_bytes(img, b, make_images(b, n, h, w), gz);
    write_bytes(lab, b, make_labels(b, n, classes), gz);
    free(b);
}

static void expect_error(int rc, int code, const char *s1, const char *s2)
{
    assert_int_equal(rc, code);
    const char *msg = sparse_last_error();
    if (s1 && !strstr(msg, s1))
        fail_msg("message '%s' lacks '%s'", msg, s1);
    if (s2 && !strstr(msg, s2))
        fail_msg("message '%s' lacks '%s'", msg, s2);
}

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

/* ---- IDX ---- */

static void check_idx_content(const sparse_dataset *ds, uint32_t n, uint32_t h, uint32_t w,
                              uint32_t classes)
{
    assert_int_equal(sparse_dataset_image_count(ds), n);
    assert_int_equal(sparse_dataset_channels(ds), 1);
    assert_int_equal(sparse_dataset_height(ds), h);
    assert_int_equal(sparse_dataset_width(ds), w);
    assert_int_equal(sparse_dataset_class_count(ds), n < classes ? n : classes);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(sparse_dataset_label(ds, i), (int)(i % classes));
        const float *im = sparse_dataset_image(ds, i);
        for (uint32_t j = 0; j < h * w; j++)
            assert_true(im[j] == (float)((i * 7 + j * 3) % 256) * (1.0f / 255.0f));
    }
}

static void test_idx_roundtrip(void **state)
{
    (void)state;
    char img[512], lab[512];
    for (int gz = 0; gz < 2; gz++) {
        path_of(img, gz ? "rt-images.gz" : "rt-images");
        path_of(lab, gz ? "rt-labels.gz" : "rt-labels");
        write_idx_pair(img, lab, 13, 3, 5, 4, gz);
        sparse_dataset *ds = NULL;
        assert_int_equal(sparse_dataset_load_idx(&ds, img, lab), SPARSE_OK);
        check_idx_content(ds, 13, 3, 5, 4);
        sparse_dataset_free(ds);
    }
    /* Compressed images with plain labels. */
    path_of(img, "rt-images.gz");
    path_of(lab, "rt-labels");
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_load_idx(&ds, img, lab), SPARSE_OK);
    check_idx_content(ds, 13, 3, 5, 4);
    sparse_dataset_free(ds);
    /* A file larger than one read chunk. */
    path_of(img, "big-images.gz");
    path_of(lab, "big-labels");
    write_idx_pair(img, lab, 300, 20, 20, 10, 1);
    assert_int_equal(sparse_dataset_load_idx(&ds, img, lab), SPARSE_OK);
    check_idx_content(ds, 300, 20, 20, 10);
    sparse_dataset_free(ds);
}

/* Writes a variant of a valid 4-image file with byte `at` replaced by v
 * (at < 0: unchanged), truncated to len bytes (0: full), plus extra bytes. */
static void idx_variant(const char *path, int labels, long at, unsigned char v, size_t len,
                        size_t extra, int gz)
{
    unsigned char b[16 + 4 * 2 * 3 + 8] = {0}; /* the extra bytes too */
    size_t n = labels ? make_labels(b, 4, 3) : make_images(b, 4, 2, 3);
    if (at >= 0)
        b[at] = v;
    if (len)
        n = len;
    n += extra;
    write_bytes(path, b, n, gz);
}

static void test_idx_errors(void **state)
{
    (void)state;
    char img[512], lab[512], bad[512];
    path_of(img, "e-images");
    path_of(lab, "e-labels");
    path_of(bad, "e-bad");
    write_idx_pair(img, lab, 4, 2, 3, 3, 0);
    sparse_dataset *ds = (sparse_dataset *)1;
    assert_int_equal(sparse_dataset_load_idx(&ds, img, lab), SPARSE_OK);
    sparse_dataset_free(ds);

    struct {
        int labels;
        long at;
        unsigned char v;
        size_t extra;
        int code;
        const char *msg;
    } cases[] = {
        {0, 2, 0x09, 0, SPARSE_EFORMAT, "offset 0: bad magic"},  /* not unsigned bytes */
        {0, 3, 0x01, 0, SPARSE_EFORMAT, "offset 0: bad magic"},  /* a label file as images */
        {0, 0, 0x12, 0, SPARSE_EFORMAT, "offset 0: bad magic"},
        {1, 3, 0x03, 0, SPARSE_EFORMAT, "offset 0: bad magic"},  /* labels with 3 dims */
        {0, 11, 0x00, 0, SPARSE_EFORMAT, "offset 8: dimension 1 is 0"},
        {0, 7, 0x00, 0, SPARSE_EFORMAT, "offset 4: dimension 0 is 0"},
        {1, 7, 0x05, 0, SPARSE_EFORMAT, "offset 4: 5 labels"},   /* count mismatch */
        {0, 7, 0x05, 0, SPARSE_EFORMAT, "offset 4: 4 labels"},
        {0, -1, 0, 1, SPARSE_EFORMAT, "offset 40"},
        {1, -1, 0, 3, SPARSE_EFORMAT, "offset 12"},
    };
    for (int gz = 0; gz < 2; gz++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            idx_variant(bad, cases[i].labels, cases[i].at, cases[i].v, 0, cases[i].extra, gz);
            int rc = cases[i].labels ? sparse_dataset_load_idx(&ds, img, bad)
                                     : sparse_dataset_load_idx(&ds, bad, lab);
            if (rc != cases[i].code)
                fail_msg("case %zu gz %d: rc %d (%s)", i, gz, rc, sparse_last_error());
            /* The count mismatch is reported against the labels file. */
            const char *file = cases[i].labels || !strcmp(cases[i].msg, "offset 4: 4 labels") ? lab : bad;
            if (cases[i].labels)
                file = bad;
            expect_error(rc, cases[i].code, cases[i].msg, file);
            assert_null(ds);
        }
    /* A header announcing 2 billion images fails on the item limit, not as
     * a giant allocation; 4 million images on the file's size, before the
     * pixels are read. */
    char bad2[512];
    path_of(bad2, "e-bad2");
    idx_variant(bad, 0, 4, 0x7f, 0, 0, 0);
    idx_variant(bad2, 1, 4, 0x7f, 0, 0, 0);
    expect_error(sparse_dataset_load_idx(&ds, bad, bad2), SPARSE_ERANGE, "offset 4: 2130706436 images, more than 16777216 (SPARSE_MAX_ITEMS)", bad);
    idx_variant(bad, 0, 5, 0x40, 0, 0, 0);
    idx_variant(bad2, 1, 5, 0x40, 0, 0, 0);
    expect_error(sparse_dataset_load_idx(&ds, bad, bad2), SPARSE_EFORMAT,
                 "offset 40: file is truncated: the header implies 25165864 bytes", bad);
    expect_error(sparse_dataset_load_idx(&ds, path_of(bad, "missing"), lab), SPARSE_EIO, "missing",
                 "cannot open");
    expect_error(sparse_dataset_load_idx(&ds, tmpdir, lab), SPARSE_EIO, tmpdir, NULL);
    expect_error(sparse_dataset_load_idx(&ds, NULL, lab), SPARSE_EINVAL, NULL, NULL);
    assert_null(ds);
}

/* The acceptance test: a valid file cut at every byte offset fails cleanly,
 * naming the file and an offset (run under ASan for the "no crash, no leak"
 * half). */
static void test_idx_truncation(void **state)
{
    (void)state;
    char img[512], lab[512], cut[512];
    for (int gz = 0; gz < 2; gz++) {
        path_of(img, gz ? "t-images.gz" : "t-images");
        path_of(lab, gz ? "t-labels.gz" : "t-labels");
        write_idx_pair(img, lab, 5, 3, 4, 3, gz);
        path_of(cut, gz ? "t-cut.gz" : "t-cut");
        for (int which = 0; which < 2; which++) {
            size_t len;
            unsigned char *full = read_bytes(which ? lab : img, &len);
            for (size_t k = 0; k < len; k++) {
                write_bytes(cut, full, k, 0);
                sparse_dataset *ds = (sparse_dataset *)1;
                int rc = which ? sparse_dataset_load_idx(&ds, img, cut)
                               : sparse_dataset_load_idx(&ds, cut, lab);
                if (rc != SPARSE_EFORMAT && rc != SPARSE_EIO)
                    fail_msg("gz %d file %d cut at %zu: rc %d (%s)", gz, which, k, rc,
                             sparse_last_error());
                assert_null(ds);
                const char *msg = sparse_last_error();
                if (!strstr(msg, cut) || !strstr(msg, "offset"))
                    fail_msg("gz %d file %d cut at %zu: message '%s'", gz, which, k, msg);
            }
            free(full);
        }
    }
}

/* Flipped bytes inside compressed data: an error or (if the flip happens to
 * keep a valid stream) a valid result, never a crash. */
static void test_idx_corrupt_gzip(void **state)
{
    (void)state;
    char img[512], lab[512], bad[512];
    path_of(img, "c-images.gz");
    path_of(lab, "c-labels.gz");
    path_of(bad, "c-bad.gz");
    write_idx_pair(img, lab, 5, 3, 4, 3, 1);
    size_t len;
    unsigned char *full = read_bytes(img, &len);
    int errors = 0;
    for (size_t k = 0; k < len; k++) {
        full[k] ^= 0x5a;
        write_bytes(bad, full, len, 0);
        full[k] ^= 0x5a;
        sparse_dataset *ds = NULL;
        int rc = sparse_dataset_load_idx(&ds, bad, lab);
        if (rc) {
            assert_true(rc == SPARSE_EFORMAT || rc == SPARSE_EIO);
            assert_null(ds);
            assert_non_null(strstr(sparse_last_error(), bad));
            errors++;
        }
        sparse_dataset_free(ds);
    }
    /* The CRC catches flips in the compressed payload. */
    assert_true(errors > (int)len / 2);
    free(full);
}

static void test_mnist_dir(void **state)
{
    (void)state;
    static const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char dir[256], a[512], b[512];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(dir, sizeof dir, "%s/mnist%d", tmpdir, gz);
        assert_int_equal(mkdir(dir, 0700), 0);
        snprintf(a, sizeof a, "%s/%s%s", dir, names[0], gz ? ".gz" : "");
        snprintf(b, sizeof b, "%s/%s%s", dir, names[1], gz ? ".gz" : "");
        write_idx_pair(a, b, 20, 4, 4, 10, gz);
        sparse_dataset *tr = (sparse_dataset *)1, *te = (sparse_dataset *)1;
        expect_error(sparse_dataset_load_mnist_dir(&tr, &te, dir), SPARSE_ENOTFOUND,
                     "t10k-images-idx3-ubyte", dir);
        assert_null(tr);
        assert_null(te);
        snprintf(a, sizeof a, "%s/%s%s", dir, names[2], gz ? ".gz" : "");
        snprintf(b, sizeof b, "%s/%s%s", dir, names[3], gz ? ".gz" : "");
        write_idx_pair(a, b, 6, 4, 4, 3, gz);
        assert_int_equal(sparse_dataset_load_mnist_dir(&tr, &te, dir), SPARSE_OK);
        assert_int_equal(sparse_dataset_image_count(tr), 20);
        assert_int_equal(sparse_dataset_image_count(te), 6);
        assert_int_equal(sparse_dataset_class_count(tr), 10);
        assert_int_equal(sparse_dataset_class_count(te), 10);
        sparse_dataset_free(tr);
        sparse_dataset_free(te);
    }
    /* Test labels beyond the training classes. */
    snprintf(a, sizeof a, "%s/mnist0/%s", tmpdir, names[2]);
    snprintf(b, sizeof b, "%s/mnist0/%s", tmpdir, names[3]);
    write_idx_pair(a, b, 12, 4, 4, 12, 0);
    sparse_dataset *tr, *te;
    snprintf(dir, sizeof dir, "%s/mnist0", tmpdir);
    expect_error(sparse_dataset_load_mnist_dir(&tr, &te, dir), SPARSE_EFORMAT, "offset 18: label 10", b);
    /* Test images of another size. */
    write_idx_pair(a, b, 6, 5, 4, 3, 0);
    expect_error(sparse_dataset_load_mnist_dir(&tr, &te, dir), SPARSE_EFORMAT, a, "5x4");
    expect_error(sparse_dataset_load_mnist_dir(&tr, &te, a), SPARSE_EINVAL, "not a directory", NULL);
    assert_null(tr);
    assert_null(te);
}

/* ---- CSV ---- */

static void write_text(const char *path, const char *s)
{
    write_bytes(path, (const unsigned char *)s, strlen(s), 0);
}

static void test_csv(void **state)
{
    (void)state;
    char p[512];
    path_of(p, "a.csv");
    write_text(p, "label,p0,p1,p2,p3\n1,0,1,2,3\n\n0, 4 ,5,6,7.5\r\n2,1e1,-1,0,0\n");
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_load_csv(&ds, p, NULL), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(ds), 3);
    assert_int_equal(sparse_dataset_height(ds), 2);
    assert_int_equal(sparse_dataset_width(ds), 2);
    assert_int_equal(sparse_dataset_channels(ds), 1);
    assert_int_equal(sparse_dataset_class_count(ds), 3);
    assert_int_equal(sparse_dataset_label(ds, 1), 0);
    assert_true(sparse_dataset_image(ds, 1)[3] == 7.5f);
    assert_true(sparse_dataset_image(ds, 2)[0] == 10.0f);
    sparse_dataset_free(ds);

    /* A byte order mark is no header; long numerals are numbers. */
    write_text(p, "\xef\xbb\xbf" "3,1,2,3,0.000000000000000000000000000000000000000000000000000000000000000000000000001\n");
    assert_int_equal(sparse_dataset_load_csv(&ds, p, NULL), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(ds), 1);
    assert_int_equal(sparse_dataset_label(ds, 0), 3);
    assert_int_equal(sparse_dataset_class_count(ds), 4);
    sparse_dataset_free(ds);

    /* No header, label in the last column, explicit shape. */
    write_text(p, "0,1,2,3,4,5,1\n6,7,8,9,10,11,0");
    sparse_csv_options o;
    assert_int_equal(sparse_csv_options_init(&o, SPARSE_CSV_OPTIONS_VERSION), SPARSE_OK);
    assert_int_equal(o.header, -1);
    o.label_column = 6;
    o.channels = 2;
    o.height = 1;
    o.width = 3;
    assert_int_equal(sparse_dataset_load_csv(&ds, p, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(ds), 2);
    assert_int_equal(sparse_dataset_channels(ds), 2);
    assert_int_equal(sparse_dataset_label(ds, 0), 1);
    assert_true(sparse_dataset_image(ds, 1)[5] == 11.0f);
    sparse_dataset_free(ds);
    /* 6 pixels are not a square image. */
    expect_error(sparse_dataset_load_csv(&ds, p, NULL), SPARSE_EFORMAT, "square", p);
    o.width = 2;
    expect_error(sparse_dataset_load_csv(&ds, p, &o), SPARSE_EFORMAT, "6 pixel columns", NULL);
    o.width = 0;
    expect_error(sparse_dataset_load_csv(&ds, p, &o), SPARSE_EINVAL, NULL, NULL);
    o.version = 99;
    expect_error(sparse_dataset_load_csv(&ds, p, &o), SPARSE_EVERSION, NULL, NULL);
    expect_error(sparse_csv_options_init(&o, 99), SPARSE_EVERSION, NULL, NULL);
    /* Header forced on: the first row is dropped. */
    write_text(p, "9,9\n1,2\n");
    assert_int_equal(sparse_csv_options_init(&o, SPARSE_CSV_OPTIONS_VERSION), SPARSE_OK);
    o.header = 1;
    assert_int_equal(sparse_dataset_load_csv(&ds, p, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_image_count(ds), 1);
    assert_int_equal(sparse_dataset_label(ds, 0), 1);
    sparse_dataset_free(ds);

    struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"1,2,3,4,5\n1,2,x,4,5\n", ":2:5: pixel is not a number: 'x'"},
        {"1,2,3,4,5\n1,2,,4,5\n", ":2:5: pixel is not a number"},
        {"label,a,b,c,d\n1,2,3,4,nan\n", ":2:9: pixel is not a number"},
        {"1,2,3,4,5\n1.5,2,3,4,5\n", ":2:1: label must be an integer"},
        {"1,2,3,4,5\n-1,2,3,4,5\n", ":2:1: label must be an integer"},
        {"1,2,3,4,5\n70000,2,3,4,5\n", ":2:1: label must be an integer"},
        {"1,2,3,4,5\n1,2,3,4,5,6\n", ":2:11: ragged row: 6 fields, but line 1 has 5"},
        {"1,2,3,4,5\n1,2,3\n", ":2:6: ragged row: 3 fields"},
        {"h\n1\n", ":2: a row needs a label"},
        {"", "no data rows"},
        {"label,a,b,c,d\n\n", "no data rows"},
        {"1,2,3,4,5\n1,2,3,4,1e999\n", ":2:9: pixel is not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i].text);
        ds = (sparse_dataset *)1;
        int rc = sparse_dataset_load_csv(&ds, p, NULL);
        if (rc != SPARSE_EFORMAT || !strstr(sparse_last_error(), bad[i].msg) ||
            !strstr(sparse_last_error(), p))
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, sparse_last_error(),
                     bad[i].msg);
        assert_null(ds);
    }
    /* A label column that does not exist. */
    write_text(p, "1,2\n");
    o.header = 0;
    o.label_column = 2;
    expect_error(sparse_dataset_load_csv(&ds, p, &o), SPARSE_EFORMAT, "label column 2", NULL);
    expect_error(sparse_dataset_load_csv(&ds, path_of(p, "nope.csv"), NULL), SPARSE_EIO, "nope.csv", NULL);

    /* Every prefix of a valid file either loads or fails cleanly. */
    const char *full = "label,a,b,c,d\r\n1,0.5,1,2,3\r\n0,4,5,6,7e-1\r\n\r\n2,1,1,1,1\n";
    for (size_t k = 0; k <= strlen(full); k++) {
        write_bytes(p, (const unsigned char *)full, k, 0);
        ds = (sparse_dataset *)1;
        int rc = sparse_dataset_load_csv(&ds, p, NULL);
        if (rc) {
            assert_int_equal(rc, SPARSE_EFORMAT);
            assert_null(ds);
            assert_non_null(strstr(sparse_last_error(), p));
        }
        sparse_dataset_free(ds);
    }
}

/* ---- splits ---- */

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
        cmocka_unit_test(test_idx_roundtrip),
        cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_idx_truncation),
        cmocka_unit_test(test_idx_corrupt_gzip),
        cmocka_unit_test(test_mnist_dir),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_data_open),
        cmocka_unit_test(test_val_split),
        cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_dataset_api_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
