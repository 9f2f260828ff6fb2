#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "sparse/sparse.h"

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(sparse_version(), SPARSE_VERSION_STRING);
    assert_int_equal(sparse_version_number(), SPARSE_VERSION_NUMBER);
    assert_int_equal(SPARSE_VERSION_NUMBER,
                     SPARSE_VERSION_MAJOR * 10000 + SPARSE_VERSION_MINOR * 100 + SPARSE_VERSION_PATCH);
}

static void test_strerror_all_codes(void **state)
{
    (void)state;
    for (int c = SPARSE_OK; c >= SPARSE_EINTERNAL; c--) {
        const char *s = sparse_strerror(c);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(sparse_strerror(-999), "unknown error");
    assert_string_equal(sparse_strerror(42), "unknown error");
}

static void test_last_error(void **state)
{
    (void)state;
    sparse_clear_error();
    assert_string_equal(sparse_last_error(), "");
    assert_int_equal(sparse_last_error_code(), SPARSE_OK);
    int rc = sparse__error(SPARSE_EFORMAT, "file %s line %d", "x.yaml", 7);
    assert_int_equal(rc, SPARSE_EFORMAT);
    assert_string_equal(sparse_last_error(), "file x.yaml line 7");
    assert_int_equal(sparse_last_error_code(), SPARSE_EFORMAT);
    sparse__error_prefix(SPARSE_EFORMAT, "loading %s", "cfg");
    assert_string_equal(sparse_last_error(), "loading cfg: file x.yaml line 7");
    /* A message formatted from itself must not be corrupted. */
    sparse__error(SPARSE_EIO, "again: %s", sparse_last_error());
    assert_string_equal(sparse_last_error(), "again: loading cfg: file x.yaml line 7");
    sparse_clear_error();
    assert_string_equal(sparse_last_error(), "");
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(sparse_set_num_threads(0), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "0 threads"));
    assert_int_equal(sparse_set_num_threads(2), SPARSE_OK);
    assert_int_equal(sparse_get_num_threads(), 2);
    assert_int_equal(sparse_set_num_threads(1), SPARSE_OK);
    assert_int_equal(sparse_get_num_threads(), 1);
}

static void test_rng_determinism(void **state)
{
    (void)state;
    sparse_rng *a, *b, *c;
    assert_int_equal(sparse_rng_create(&a, 42), SPARSE_OK);
    assert_int_equal(sparse_rng_create(&b, 42), SPARSE_OK);
    assert_int_equal(sparse_rng_create_stream(&c, 42, 1), SPARSE_OK);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        double x = sparse_rng_uniform(a), y = sparse_rng_uniform(b), z = sparse_rng_uniform(c);
        assert_true(x == y);
        assert_true(x >= 0.0 && x < 1.0);
        differs |= x != z;
    }
    assert_true(differs);
    sparse_rng_free(a);
    sparse_rng_free(b);
    sparse_rng_free(c);
    sparse_rng_free(NULL);
}

static void test_rng_distributions(void **state)
{
    (void)state;
    sparse_rng *r;
    assert_int_equal(sparse_rng_create(&r, 7), SPARSE_OK);
    const int n = 20000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double x = sparse_rng_normal(r);
        s += x;
        s2 += x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    assert_true(mean > -0.05 && mean < 0.05);
    assert_true(var > 0.95 && var < 1.05);
    int hist[5] = {0};
    for (int i = 0; i < n; i++) {
        uint64_t k = sparse_rng_uint(r, 5);
        assert_true(k < 5);
        hist[k]++;
    }
    for (int k = 0; k < 5; k++)
        assert_true(hist[k] > n / 5 - 400 && hist[k] < n / 5 + 400);
    size_t idx[50];
    for (size_t i = 0; i < 50; i++)
        idx[i] = i;
    assert_int_equal(sparse_rng_shuffle(r, idx, 50), SPARSE_OK);
    int seen[50] = {0}, moved = 0;
    for (size_t i = 0; i < 50; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 30);
    sparse_rng_free(r);
}

static void test_rng_state_roundtrip(void **state)
{
    (void)state;
    sparse_rng *a, *b;
    assert_int_equal(sparse_rng_create(&a, 1), SPARSE_OK);
    assert_int_equal(sparse_rng_create(&b, 2), SPARSE_OK);
    for (int i = 0; i < 10; i++)
        sparse_rng_uniform(a);
    size_t n = sparse_rng_state_size(a);
    assert_true(n > 0);
    void *buf = malloc(n);
    assert_int_equal(sparse_rng_state_save(a, buf, n), SPARSE_OK);
    assert_int_equal(sparse_rng_state_load(b, buf, n), SPARSE_OK);
    for (int i = 0; i < 10; i++)
        assert_true(sparse_rng_uniform(a) == sparse_rng_uniform(b));
    assert_int_equal(sparse_rng_state_load(b, buf, n - 1), SPARSE_ESHAPE);
    free(buf);
    sparse_rng_free(a);
    sparse_rng_free(b);
    assert_int_equal(sparse_rng_create(NULL, 1), SPARSE_EINVAL);
}

static void test_buf_json(void **state)
{
    (void)state;
    sparse__buf b = SPARSE__BUF_INIT;
    assert_int_equal(sparse__buf_json_string(&b, "a\"b\\c\nd\x01"), SPARSE_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
    b.len = 0;
    sparse__buf_json_double(&b, 0.1);
    sparse__buf_puts(&b, ",");
    sparse__buf_json_double(&b, 3.0);
    sparse__buf_puts(&b, ",");
    sparse__buf_json_double(&b, 1.0 / 3.0);
    sparse__buf_puts(&b, ",");
    sparse__buf_json_double(&b, 0.0 / 0.0);
    assert_string_equal(b.data, "0.1,3,0.3333333333333333,null");
    char *s = sparse__buf_detach(&b);
    assert_non_null(s);
    free(s);
    sparse__buf_free(&b);
}

static void test_atomic_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sparse-core-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sparse__write_file_atomic(path, "hello\n", 6), SPARSE_OK);
    char *data;
    size_t len;
    assert_int_equal(sparse__read_file(path, &data, &len), SPARSE_OK);
    assert_int_equal(len, 6);
    assert_string_equal(data, "hello\n");
    free(data);
    unlink(path);
    assert_int_equal(sparse__read_file(path, &data, &len), SPARSE_EIO);
    assert_non_null(strstr(sparse_last_error(), path));
    assert_int_equal(sparse__write_file_atomic("/nonexistent-dir/x", "a", 1), SPARSE_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),          cmocka_unit_test(test_strerror_all_codes),
        cmocka_unit_test(test_last_error),       cmocka_unit_test(test_threads),
        cmocka_unit_test(test_rng_determinism),  cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_rng_state_roundtrip), cmocka_unit_test(test_buf_json),
        cmocka_unit_test(test_atomic_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
