/* Tests of the data module's image shapes: colour images from CSV rows in
 * either value order, 4-D IDX files, the shape checks of sparse_data_open,
 * and the input normalisation that travels with the data and the weights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sparse/sparse.h"

#include "../expect.h"
#include "data_files.h"

enum { N = 5, H = 2, W = 3, C = 3 };

/* Value k of pixel (y, x) of image i: distinct for every position. */
static unsigned char value(int i, int y, int x, int k)
{
    return (unsigned char)(1 + i * 50 + y * 15 + x * 4 + k);
}

/* The N images as CSV rows, label i % 2 in column label_col, values in
 * HWC (hwc = 1) or CHW order. */
static void write_csv(const char *path, int hwc, int label_col)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++) {
        for (int col = 0, p = 0; col <= H * W * C; col++) {
            if (col == label_col) {
                fprintf(f, "%d", i % 2);
            } else {
                int k = hwc ? p % C : p / (H * W), yx = hwc ? p / C : p % (H * W);
                fprintf(f, "%d", value(i, yx / W, yx % W, k));
                p++;
            }
            fputc(col < H * W * C ? ',' : '\n', f);
        }
    }
    assert_int_equal(fclose(f), 0);
}

static void check_chw(const sparse_dataset *ds, float scale)
{
    assert_int_equal(sparse_dataset_image_count(ds), N);
    assert_int_equal(sparse_dataset_channels(ds), C);
    assert_int_equal(sparse_dataset_height(ds), H);
    assert_int_equal(sparse_dataset_width(ds), W);
    for (int i = 0; i < N; i++) {
        const float *im = sparse_dataset_image(ds, (size_t)i);
        assert_int_equal(sparse_dataset_label(ds, (size_t)i), i % 2);
        for (int k = 0; k < C; k++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    if (im[(k * H + y) * W + x] != (float)value(i, y, x, k) * scale)
                        fail_msg("image %d channel %d (%d, %d): %g, expected %g", i, k, y, x,
                                 (double)im[(k * H + y) * W + x], (double)((float)value(i, y, x, k) * scale));
    }
}

static void test_csv_layouts(void **state)
{
    (void)state;
    sparse_csv_options o = SPARSE_CSV_OPTIONS_INIT;
    o.channels = C;
    o.height = H;
    o.width = W;
    o.header = 0;
    sparse_dataset *ds = NULL;
    for (int hwc = 0; hwc < 2; hwc++) {
        write_csv(at("c.csv"), hwc, 0);
        o.layout = hwc ? SPARSE_LAYOUT_HWC : SPARSE_LAYOUT_CHW;
        assert_int_equal(sparse_dataset_load_csv(&ds, at("c.csv"), &o), SPARSE_OK);
        check_chw(ds, 1.0f);
        sparse_dataset_free(ds);
    }
    /* The label in the last column. */
    write_csv(at("last.csv"), 1, H * W * C);
    o.label_column = H * W * C;
    assert_int_equal(sparse_dataset_load_csv(&ds, at("last.csv"), &o), SPARSE_OK);
    check_chw(ds, 1.0f);
    sparse_dataset_free(ds);
    o.layout = 7;
    EXPECT_ERROR(sparse_dataset_load_csv(&ds, at("last.csv"), &o), SPARSE_EINVAL, "layout is 7");
    /* A version 1 caller: no layout field, planes as before. */
    sparse_csv_options v1 = SPARSE_CSV_OPTIONS_INIT;
    v1.version = 1;
    v1.channels = C;
    v1.height = H;
    v1.width = W;
    v1.layout = 7; /* past a version 1 struct: never read */
    write_csv(at("c.csv"), 0, 0);
    assert_int_equal(sparse_dataset_load_csv(&ds, at("c.csv"), &v1), SPARSE_OK);
    check_chw(ds, 1.0f);
    sparse_dataset_free(ds);
}

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    assert_int_equal(fwrite(b, 1, 4, f), 4);
}

/* The N images as a 4-D IDX file (N x H x W x C) and its labels. */
static void write_idx4(const char *images, const char *labels)
{
    FILE *f = fopen(images, "wb");
    assert_non_null(f);
    put_be32(f, 0x00000804);
    put_be32(f, N);
    put_be32(f, H);
    put_be32(f, W);
    put_be32(f, C);
    for (int i = 0; i < N; i++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < C; k++)
                    fputc(value(i, y, x, k), f);
    assert_int_equal(fclose(f), 0);
    f = fopen(labels, "wb");
    assert_non_null(f);
    put_be32(f, 0x00000801);
    put_be32(f, N);
    for (int i = 0; i < N; i++)
        fputc(i % 2, f);
    assert_int_equal(fclose(f), 0);
}

static void test_idx4(void **state)
{
    (void)state;
    sparse_dataset *ds = NULL;
    write_idx4(at("i4-images"), at("i4-labels"));
    assert_int_equal(sparse_dataset_load_idx(&ds, at("i4-images"), at("i4-labels")), SPARSE_OK);
    check_chw(ds, 1.0f / 255.0f);
    sparse_dataset_free(ds);
    /* One byte short: the header of a 4-D file is 20 bytes. */
    assert_int_equal(truncate(at("i4-images"), 20 + N * H * W * C - 1), 0);
    EXPECT_ERROR(sparse_dataset_load_idx(&ds, at("i4-images"), at("i4-labels")), SPARSE_EFORMAT,
                 "truncated", "the header implies 110 bytes");
    assert_null(ds);
}

/* A directory of 4-D files opened by spec, its shape checked. */
static void test_data_open_shape(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", at("colour"));
    assert_int_equal(mkdir(dir, 0700), 0);
    write_idx4(at("colour/train-images-idx4-ubyte"), at("colour/train-labels-idx1-ubyte"));
    write_idx4(at("colour/t10k-images-idx4-ubyte"), at("colour/t10k-labels-idx1-ubyte"));
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.val_count = 1;
    o.normalize = 0;
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    assert_int_equal(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_channels(tr), C);
    assert_int_equal(sparse_dataset_image_count(tr), N - 1);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    o.height = H;
    o.width = W;
    o.channels = 1;
    EXPECT_ERROR(sparse_data_open(&tr, &va, &te, dir, &o), SPARSE_EFORMAT, dir, "images are 2x3x3",
                 "not 2x3x1 as given");
    assert_null(tr);
    /* A CSV file split with its shape and layout. */
    write_csv(at("c.csv"), 1, 0);
    o.channels = C;
    o.layout = SPARSE_LAYOUT_HWC;
    o.test_fraction = 0.0;
    assert_int_equal(sparse_data_open(&tr, &va, &te, at("c.csv"), &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_channels(tr), C);
    assert_int_equal(sparse_dataset_height(tr), H);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
}

/* The normalisation the training split got, applied to every split, kept
 * by copies, replaced by a given one. */
static void test_normalization(void **state)
{
    (void)state;
    write_csv(at("c.csv"), 1, 0);
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.val_count = 1;
    o.test_fraction = 0.0;
    o.channels = C;
    o.height = H;
    o.width = W;
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    assert_int_equal(sparse_data_open(&tr, &va, &te, at("c.csv"), &o), SPARSE_OK);
    float m, s, vm, vs;
    assert_int_equal(sparse_dataset_normalization(tr, &m, &s), SPARSE_OK);
    assert_int_equal(sparse_dataset_normalization(va, &vm, &vs), SPARSE_OK);
    assert_true(m > 1.0f && s > 1.0f && vm == m && vs == s);
    /* Undoing it gives the values read. */
    const float *im = sparse_dataset_image(va, 0);
    int found = 0;
    for (int i = 0; i < N; i++)
        found += fabsf(im[0] * s + m - (float)value(i, 0, 0, 0)) < 1e-3f;
    assert_int_equal(found, 1);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    o.norm_mean = 10.0f;
    o.norm_std = 2.0f;
    assert_int_equal(sparse_data_open(&tr, &va, &te, at("c.csv"), &o), SPARSE_OK);
    assert_int_equal(sparse_dataset_normalization(tr, &m, &s), SPARSE_OK);
    assert_true(m == 10.0f && s == 2.0f);
    /* A second normalisation composes with the first. */
    assert_int_equal(sparse_dataset_normalize(tr, 1.0f, 4.0f), SPARSE_OK);
    assert_int_equal(sparse_dataset_normalization(tr, &m, &s), SPARSE_OK);
    assert_true(m == 12.0f && s == 8.0f);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    o.norm_std = -1.0f;
    EXPECT_ERROR(sparse_data_open(&tr, &va, &te, at("c.csv"), &o), SPARSE_EINVAL, "std >= 0");
}

/* sparse_net_save stores the network's normalisation; sparse_net_load reads it. */
static void test_net_normalization(void **state)
{
    (void)state;
    static const char yaml[] = "input: [3, 2, 3]\nclasses: 2\nlayers:\n  - {type: fc, name: out, units: 2}\n";
    sparse_arch *a = NULL;
    sparse_net *net = NULL, *back = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&a, yaml, sizeof yaml - 1, "a.yaml"), SPARSE_OK);
    assert_int_equal(sparse_net_create(&net, a, 1, 0), SPARSE_OK);
    assert_int_equal(sparse_net_create(&back, a, 1, 0), SPARSE_OK);
    float m = -1.0f, s = -1.0f;
    EXPECT_ERROR(sparse_net_input_normalization(net, &m, &s), SPARSE_ENOTFOUND, "no input normalisation");
    assert_int_equal(sparse_net_save(net, at("plain.safetensors")), SPARSE_OK);
    EXPECT_ERROR(sparse_net_set_input_normalization(net, 0.5f, 0.0f), SPARSE_EINVAL, "std > 0");
    assert_int_equal(sparse_net_set_input_normalization(net, 0.1307f, 0.3081f), SPARSE_OK);
    assert_int_equal(sparse_net_save(net, at("n.safetensors")), SPARSE_OK);
    assert_int_equal(sparse_net_load(back, at("n.safetensors"), 0), SPARSE_OK);
    assert_int_equal(sparse_net_input_normalization(back, &m, &s), SPARSE_OK);
    assert_true(m == 0.1307f && s == 0.3081f); /* exactly: %.9g round-trips a float */
    /* Weights saved without one leave the network without one. */
    assert_int_equal(sparse_net_load(back, at("plain.safetensors"), 0), SPARSE_OK);
    EXPECT_ERROR(sparse_net_input_normalization(back, &m, &s), SPARSE_ENOTFOUND, "no input normalisation");
    sparse_net_free(net);
    sparse_net_free(back);
    sparse_arch_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_layouts),
        cmocka_unit_test(test_idx4),
        cmocka_unit_test(test_data_open_shape),
        cmocka_unit_test(test_normalization),
        cmocka_unit_test(test_net_normalization),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
