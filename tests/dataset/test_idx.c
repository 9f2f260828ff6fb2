/* The data module's IDX reader: plain and gzip files read back, every
 * malformed header, a file cut at every byte and flipped compressed bytes
 * refused naming the file and an offset, and the MNIST directory layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#include "data_files.h"
#include "fixture.h"

extern const struct CMUnitTest idx_tests[];
extern const size_t idx_test_count;

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

const struct CMUnitTest idx_tests[] = {
    cmocka_unit_test(test_idx_roundtrip),
    cmocka_unit_test(test_idx_errors),
    cmocka_unit_test(test_idx_truncation),
    cmocka_unit_test(test_idx_corrupt_gzip),
    cmocka_unit_test(test_mnist_dir),
};
const size_t idx_test_count = sizeof idx_tests / sizeof idx_tests[0];
