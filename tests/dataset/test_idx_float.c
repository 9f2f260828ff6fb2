/* Tests of IDX files of float32 pixels (type code 0x0D): 3-D and 4-D, plain
 * and gzip, values taken bit for bit; truncated files, bad type codes,
 * NaN and infinities; the MNIST directory names of float files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "sparse/sparse.h"

#include "../expect.h"
#include "data_files.h"

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Value k of the file (in file order): signed zero, a denormal, the
 * extremes of float32, values outside [0, 1], none a multiple of 1/255. */
static float fval(size_t k)
{
    static const float special[5] = {-0.0f, 1e-45f, -FLT_MAX, 255.5f, 1.0f / 3.0f};
    if (k % 11 < 5)
        return special[k % 11];
    return ((float)(k % 97) - 48.0f) * 0.731f;
}

typedef struct shape {
    uint32_t n, h, w, c; /* c == 0: a 3-D file (one channel) */
} shape;

static size_t header_bytes(shape s)
{
    return s.c ? 20 : 16;
}

static size_t per_image(shape s)
{
    return (size_t)s.h * s.w * (s.c ? s.c : 1);
}

/* The images file of shape s (values fval), magic type code `type`;
 * *len gets its size. */
static unsigned char *make_images(shape s, unsigned type, size_t *len)
{
    size_t total = s.n * per_image(s), hb = header_bytes(s);
    unsigned char *b = malloc(hb + 4 * total);
    assert_non_null(b);
    put_be32(b, type << 8 | (s.c ? 4u : 3u));
    put_be32(b + 4, s.n);
    put_be32(b + 8, s.h);
    put_be32(b + 12, s.w);
    if (s.c)
        put_be32(b + 16, s.c);
    for (size_t k = 0; k < total; k++) {
        float v = fval(k);
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        put_be32(b + hb + 4 * k, bits);
    }
    *len = hb + 4 * total;
    return b;
}

static void write_images(const char *path, shape s, int gz)
{
    size_t len;
    unsigned char *b = make_images(s, 0x0D, &len);
    write_bytes(path, b, len, gz);
    free(b);
}

/* Labels i % 3. */
static void write_labels(const char *path, uint32_t n, int gz)
{
    unsigned char *b = malloc(8 + (size_t)n);
    assert_non_null(b);
    put_be32(b, 0x801);
    put_be32(b + 4, n);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = (unsigned char)(i % 3);
    write_bytes(path, b, 8 + (size_t)n, gz);
    free(b);
}

/* Every pixel is the file's float, bit for bit, moved from HWC to CHW. */
static void check_floats(const sparse_dataset *ds, shape s)
{
    const size_t c = s.c ? s.c : 1, per = per_image(s);
    assert_int_equal(sparse_dataset_image_count(ds), s.n);
    assert_int_equal(sparse_dataset_channels(ds), c);
    assert_int_equal(sparse_dataset_height(ds), s.h);
    assert_int_equal(sparse_dataset_width(ds), s.w);
    assert_int_equal(sparse_dataset_class_count(ds), s.n < 3 ? s.n : 3);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(sparse_dataset_label(ds, i), (int)(i % 3));
        const float *im = sparse_dataset_image(ds, i);
        for (size_t y = 0; y < s.h; y++)
            for (size_t x = 0; x < s.w; x++)
                for (size_t k = 0; k < c; k++) {
                    float want = fval(i * per + (y * s.w + x) * c + k);
                    if (memcmp(&im[(k * s.h + y) * s.w + x], &want, sizeof want))
                        fail_msg("image %zu (%zu, %zu, %zu): %.9g, expected %.9g", i, k, y, x,
                                 (double)im[(k * s.h + y) * s.w + x], (double)want);
                }
    }
}

static void test_float_roundtrip(void **state)
{
    (void)state;
    const shape shapes[3] = {{7, 3, 5, 0}, {6, 4, 3, 3}, {40, 20, 20, 3}}; /* the last: 3 read chunks */
    for (int gz = 0; gz < 2; gz++)
        for (int i = 0; i < 3; i++) {
            write_images(at("rt-images"), shapes[i], gz);
            write_labels(at("rt-labels"), shapes[i].n, !gz);
            sparse_dataset *ds = NULL;
            assert_int_equal(sparse_dataset_load_idx(&ds, at("rt-images"), at("rt-labels")), SPARSE_OK);
            check_floats(ds, shapes[i]);
            sparse_dataset_free(ds);
        }
}

/* The same values given in memory (C x H x W) make the same data set. */
static void test_same_as_memory(void **state)
{
    (void)state;
    const shape s = {6, 4, 3, 3};
    write_images(at("m-images"), s, 0);
    write_labels(at("m-labels"), s.n, 0);
    sparse_dataset *a = NULL, *b = NULL;
    assert_int_equal(sparse_dataset_load_idx(&a, at("m-images"), at("m-labels")), SPARSE_OK);
    const size_t per = per_image(s);
    float px[6 * 36];
    int32_t lab[6];
    for (size_t i = 0; i < s.n; i++) {
        lab[i] = (int32_t)(i % 3);
        for (size_t y = 0; y < s.h; y++)
            for (size_t x = 0; x < s.w; x++)
                for (size_t k = 0; k < s.c; k++)
                    px[i * per + (k * s.h + y) * s.w + x] = fval(i * per + (y * s.w + x) * s.c + k);
    }
    assert_int_equal(sparse_dataset_from_memory(&b, s.n, s.c, s.h, s.w, px, lab, 3), SPARSE_OK);
    for (size_t i = 0; i < s.n; i++)
        assert_memory_equal(sparse_dataset_image(a, i), sparse_dataset_image(b, i), per * sizeof(float));
    sparse_dataset_free(a);
    sparse_dataset_free(b);
}

static void test_bad_type_codes(void **state)
{
    (void)state;
    const shape s = {4, 2, 3, 0};
    write_labels(at("t-labels"), s.n, 0);
    static const struct {
        unsigned type;
        int dims;
        const char *magic;
    } bad[] = {
        {0x0E, 3, "0x00000e03"}, /* float64 */
        {0x0C, 3, "0x00000c03"}, /* int32 */
        {0x09, 3, "0x00000903"}, /* signed bytes */
        {0x0D, 2, "0x00000d02"}, /* float, too few dimensions */
        {0x0D, 5, "0x00000d05"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        unsigned char *b = make_images(s, bad[i].type, &len);
        b[3] = (unsigned char)bad[i].dims;
        write_bytes(at("t-images"), b, len, 0);
        free(b);
        sparse_dataset *ds = (sparse_dataset *)1;
        EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("t-images"), at("t-labels")), SPARSE_EFORMAT,
                     at("t-images"), "byte offset 0: bad magic number", bad[i].magic,
                     "expected 0x00000803 to 0x00000804 (unsigned bytes) or 0x00000d03 to 0x00000d04 (float32)");
        assert_null(ds);
    }
    /* Labels stay bytes: a float labels file is refused. */
    write_images(at("t-images"), s, 0);
    unsigned char lab[8 + 16];
    put_be32(lab, 0xD01);
    put_be32(lab + 4, s.n);
    memset(lab + 8, 0, 16);
    write_bytes(at("t-flabels"), lab, sizeof lab, 0);
    sparse_dataset *ds = NULL;
    EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("t-images"), at("t-flabels")), SPARSE_EFORMAT,
                 at("t-flabels"), "bad magic number 0x00000d01, expected 0x00000801");
    /* A byte-sized file with a float header is short by three quarters,
     * found from its size; one byte too many is found after the data. */
    size_t len;
    unsigned char *b = make_images(s, 0x0D, &len);
    write_bytes(at("t-short"), b, 16 + 4 * 6, 0);
    EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("t-short"), at("t-labels")), SPARSE_EFORMAT, at("t-short"),
                 "byte offset 40: file is truncated: the header implies 112 bytes");
    unsigned char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, b, len);
    longer[len] = 0;
    for (int gz = 0; gz < 2; gz++) {
        write_bytes(at("t-long"), longer, len + 1, gz);
        EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("t-long"), at("t-labels")), SPARSE_EFORMAT, at("t-long"),
                     "byte offset 112", "unexpected data after the end");
    }
    free(longer);
    /* Counts from a corrupted header: past SPARSE_MAX_ITEMS, refused before
     * any allocation; within it, the implied size (four bytes a value, in
     * 64 bits) against the file's before any pixel is read. */
    static const struct {
        uint32_t n;
        int code;
        const char *msg;
    } counts[] = {
        {0x7f000004u, SPARSE_ERANGE, "byte offset 4: 2130706436 images, more than 16777216 (SPARSE_MAX_ITEMS)"},
        {0x00400000u, SPARSE_EFORMAT, "byte offset 112: file is truncated: the header implies 100663312 bytes"},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        put_be32(b + 4, counts[i].n);
        write_bytes(at("t-count"), b, len, 0);
        unsigned char lh[8];
        put_be32(lh, 0x801);
        put_be32(lh + 4, counts[i].n);
        write_bytes(at("t-count-labels"), lh, sizeof lh, 0);
        EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("t-count"), at("t-count-labels")), counts[i].code,
                     at("t-count"), counts[i].msg);
    }
    assert_null(ds);
    free(b);
}

/* A NaN or an infinity, in the first or a later read chunk, plain or
 * gzip: refused naming the file, the byte offset, the image and value. */
static void test_nonfinite(void **state)
{
    (void)state;
    static const struct {
        shape s;
        size_t k; /* value index in the file */
        uint32_t bits;
        const char *what;
    } cases[] = {
        {{4, 2, 3, 0}, 13, 0x7fc00000u, "image 2, value 1 (in file order) is NaN"},
        {{4, 2, 3, 0}, 0, 0x7f800000u, "image 0, value 0 (in file order) is +inf"},
        {{4, 2, 3, 0}, 23, 0xff800000u, "image 3, value 5 (in file order) is -inf"},
        {{4, 2, 3, 0}, 7, 0xffc00001u, "image 1, value 1 (in file order) is NaN"}, /* negative, payload */
        {{40, 20, 20, 3}, 20000, 0x7fc00000u, "image 16, value 800 (in file order) is NaN"},
    };
    for (int gz = 0; gz < 2; gz++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            size_t len, hb = header_bytes(cases[i].s);
            unsigned char *b = make_images(cases[i].s, 0x0D, &len);
            put_be32(b + hb + 4 * cases[i].k, cases[i].bits);
            write_bytes(at("nan-images"), b, len, gz);
            free(b);
            write_labels(at("nan-labels"), cases[i].s.n, 0);
            char offset[64];
            snprintf(offset, sizeof offset, "byte offset %zu%s: ", hb + 4 * cases[i].k,
                     gz ? " (decompressed)" : "");
            sparse_dataset *ds = (sparse_dataset *)1;
            EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("nan-images"), at("nan-labels")), SPARSE_EFORMAT,
                         at("nan-images"), offset, cases[i].what, "float IDX pixels must be finite");
            assert_null(ds);
        }
}

/* Cut at every byte offset, plain and gzip: a clean error naming the file
 * and an offset (under ASan: no overread, no leak). */
static void test_truncation(void **state)
{
    (void)state;
    const shape s = {3, 2, 2, 2};
    write_labels(at("cut-labels"), s.n, 0);
    for (int gz = 0; gz < 2; gz++) {
        write_images(at("cut-full"), s, gz);
        FILE *f = fopen(at("cut-full"), "rb");
        assert_non_null(f);
        unsigned char full[512];
        size_t len = fread(full, 1, sizeof full, f);
        fclose(f);
        assert_true(len > 20 && len < sizeof full);
        for (size_t k = 0; k < len; k++) {
            write_bytes(at("cut-images"), full, k, 0);
            sparse_dataset *ds = (sparse_dataset *)1;
            int rc = sparse_dataset_load_idx(&ds, at("cut-images"), at("cut-labels"));
            if (rc != SPARSE_EFORMAT && rc != SPARSE_EIO)
                fail_msg("gz %d cut at %zu: rc %d (%s)", gz, k, rc, sparse_last_error());
            assert_null(ds);
            const char *msg = sparse_last_error();
            if (!strstr(msg, at("cut-images")) || !strstr(msg, "offset"))
                fail_msg("gz %d cut at %zu: message '%s'", gz, k, msg);
        }
    }
}

/* A directory of float files under the names a search's data directory may
 * use: 4-D training images (one channel) beside 3-D test images agree. */
static void test_mnist_dir_names(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fdir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    const shape tr = {9, 4, 3, 1}, te = {6, 4, 3, 0};
    write_images(at("fdir/train-images-idx4-float.gz"), tr, 1);
    write_labels(at("fdir/train-labels-idx1-ubyte"), tr.n, 0);
    write_labels(at("fdir/t10k-labels-idx1-ubyte.gz"), te.n, 1);
    sparse_dataset *a = (sparse_dataset *)1, *b = (sparse_dataset *)1;
    EXPECT_ERROR(sparse_dataset_load_mnist_dir(&a, &b, dir), SPARSE_ENOTFOUND, dir,
                 "no t10k-images-idx3-ubyte in this directory (nor t10k-images-idx4-ubyte, -idx3-float");
    assert_null(a);
    assert_null(b);
    write_images(at("fdir/t10k-images-idx3-float"), te, 0);
    assert_int_equal(sparse_dataset_load_mnist_dir(&a, &b, dir), SPARSE_OK);
    check_floats(a, tr);
    check_floats(b, te);
    sparse_dataset_free(a);
    sparse_dataset_free(b);
    /* The name does not decide the type: floats named ubyte are floats. */
    assert_int_equal(rename(at("fdir/t10k-images-idx3-float"), at("fdir/t10k-images-idx3-ubyte")), 0);
    assert_int_equal(sparse_dataset_load_mnist_dir(&a, &b, dir), SPARSE_OK);
    check_floats(b, te);
    sparse_dataset_free(a);
    sparse_dataset_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_roundtrip),
        cmocka_unit_test(test_same_as_memory),
        cmocka_unit_test(test_bad_type_codes),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_mnist_dir_names),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
