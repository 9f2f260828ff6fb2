/* The data module's CSV reader: headers, label columns and explicit
 * shapes, every malformed row refused naming file, line and column, and
 * every prefix of a valid file loaded or refused cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#include "data_files.h"
#include "fixture.h"

extern const struct CMUnitTest csv_tests[];
extern const size_t csv_test_count;

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

const struct CMUnitTest csv_tests[] = {
    cmocka_unit_test(test_csv),
};
const size_t csv_test_count = sizeof csv_tests / sizeof csv_tests[0];
