#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/doc.h"
#include "core/internal.h"
#include "sparse/sparse.h"
#include "../expect.h"

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

/* The public JSON writer: separators, null for absent values, any bytes
 * as valid JSON, misuse refused and sticky. */
static void test_json_writer(void **state)
{
    (void)state;
    sparse_json *j = NULL;
    const char *text = NULL;
    assert_int_equal(sparse_json_create(&j), SPARSE_OK);
    assert_int_equal(sparse_json_begin(j, 0), SPARSE_OK);
    sparse_json_key(j, "name");
    sparse_json_string(j, "run-\377\xc3\xa9\"q\"\n"); /* a stray byte, then é */
    sparse_json_key(j, "none");
    sparse_json_string(j, NULL);
    sparse_json_key(j, "list");
    sparse_json_begin(j, 1);
    sparse_json_number(j, 0.1);
    sparse_json_number(j, 1.0 / 0.0);
    sparse_json_integer(j, -3);
    sparse_json_bool(j, 1);
    sparse_json_null(j);
    sparse_json_begin(j, 0);
    sparse_json_end(j);
    sparse_json_end(j);
    EXPECT_ERROR(sparse_json_text(j, &text), SPARSE_EINVAL, "not complete");
    assert_int_equal(sparse_json_end(j), SPARSE_OK);
    assert_int_equal(sparse_json_text(j, &text), SPARSE_OK);
    assert_string_equal(text, "{\"name\":\"run-\\u00ff\xc3\xa9\\\"q\\\"\\n\",\"none\":null,"
                              "\"list\":[0.1,null,-3,true,null,{}]}");
    /* A second value, a value without its key: refused, and sticky. */
    EXPECT_ERROR(sparse_json_null(j), SPARSE_EINVAL, "already holds a whole value");
    EXPECT_ERROR(sparse_json_end(j), SPARSE_EINVAL, "already holds a whole value");
    sparse_json_free(j);
    assert_int_equal(sparse_json_create(&j), SPARSE_OK);
    sparse_json_begin(j, 0);
    EXPECT_ERROR(sparse_json_integer(j, 1), SPARSE_EINVAL, "needs sparse_json_key first");
    sparse_json_free(j);
    assert_int_equal(sparse_json_create(&j), SPARSE_OK);
    EXPECT_ERROR(sparse_json_end(j), SPARSE_EINVAL, "no container is open");
    sparse_json_free(j);
    assert_int_equal(sparse_json_create(&j), SPARSE_OK);
    sparse_json_begin(j, 1);
    EXPECT_ERROR(sparse_json_key(j, "k"), SPARSE_EINVAL, "outside an object");
    sparse_json_free(j);
    /* Overlong and surrogate UTF-8 forms are not UTF-8 either. */
    assert_int_equal(sparse_json_create(&j), SPARSE_OK);
    sparse_json_string(j, "\xc0\xaf\xed\xa0\x80");
    assert_int_equal(sparse_json_text(j, &text), SPARSE_OK);
    assert_string_equal(text, "\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\"");
    sparse_json_free(j);
    sparse_json_free(NULL);
    EXPECT_NULL_ARG(sparse_json_create(NULL), "sparse_json_create", "out");
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

/* sparse_free releases what the library allocated (a leak here fails the
 * sanitizer build's run) and takes NULL. */
static void test_sparse_free(void **state)
{
    (void)state;
    char *s = sparse__strdup("library-owned");
    assert_non_null(s);
    sparse_free(s);
    sparse_free(NULL);
}

/* A struct at version 3 whose versions 1 and 2 ended earlier, as an options
 * struct grows: the helper behind every *_init and every reader of a
 * caller's versioned struct. */
typedef struct fake_opts {
    unsigned version;
    int a;      /* version 1 */
    double b;   /* version 2 */
    char c[13]; /* version 3 */
} fake_opts;
#define FAKE_OPTS_INIT {3, 7, 2.5, "defaults"}
SPARSE__STRUCT_VERSIONS(fake_versions, fake_opts, FAKE_OPTS_INIT, 3, offsetof(fake_opts, b),
                        offsetof(fake_opts, c), sizeof(fake_opts));

typedef struct one_opts {
    unsigned version;
    int a;
} one_opts;
#define ONE_OPTS_INIT {1, 0}
SPARSE__STRUCT_VERSIONS(one_versions, one_opts, ONE_OPTS_INIT, 1, sizeof(one_opts));

/* The struct as callers built against versions 1 and 2 saw it. */
typedef struct fake_opts_v1 {
    unsigned version;
    int a;
} fake_opts_v1;
typedef struct fake_opts_v2 {
    unsigned version;
    int a;
    double b;
} fake_opts_v2;

static void test_struct_versions(void **state)
{
    (void)state;
    assert_int_equal(sizeof(fake_opts_v1), offsetof(fake_opts, b));
    assert_int_equal(sizeof(fake_opts_v2), offsetof(fake_opts, c));
    assert_int_equal(sparse__struct_size(&fake_versions, 0), 0);
    assert_int_equal(sparse__struct_size(&fake_versions, 1), sizeof(fake_opts_v1));
    assert_int_equal(sparse__struct_size(&fake_versions, 3), sizeof(fake_opts));
    assert_int_equal(sparse__struct_size(&fake_versions, 4), 0);
    /* Heap blocks of exactly an older version's size: under ASan, a byte
     * read or written past the end fails the test. */
    fake_opts_v1 *v1 = malloc(sizeof *v1);
    fake_opts_v2 *v2 = malloc(sizeof *v2);
    assert_int_equal(sparse__struct_init(&fake_versions, v1, 1), SPARSE_OK);
    assert_int_equal(v1->version, 1);
    assert_int_equal(v1->a, 7);
    assert_int_equal(sparse__struct_init(&fake_versions, v2, 2), SPARSE_OK);
    assert_int_equal(v2->version, 2);
    assert_true(v2->b == 2.5);
    v1->a = 9;
    v2->b = -1.0;
    fake_opts cur;
    memset(&cur, 0xAB, sizeof cur);
    assert_int_equal(sparse__struct_read(&fake_versions, &cur, v1, "fn"), SPARSE_OK);
    assert_int_equal(cur.version, 3);
    assert_int_equal(cur.a, 9);
    assert_true(cur.b == 2.5);
    assert_string_equal(cur.c, "defaults");
    assert_int_equal(sparse__struct_read(&fake_versions, &cur, v2, "fn"), SPARSE_OK);
    assert_int_equal(cur.a, 7);
    assert_true(cur.b == -1.0);
    assert_string_equal(cur.c, "defaults");
    assert_int_equal(sparse__struct_read(&fake_versions, &cur, NULL, "fn"), SPARSE_OK);
    assert_int_equal(cur.version, 3);
    assert_true(cur.b == 2.5);
    /* Results the other way: only the caller's version's fields, its
     * version kept. */
    cur.a = 11;
    cur.b = 4.0;
    assert_int_equal(sparse__struct_write(&fake_versions, v1, &cur, "fn"), SPARSE_OK);
    assert_int_equal(v1->version, 1);
    assert_int_equal(v1->a, 11);
    assert_int_equal(sparse__struct_write(&fake_versions, v2, &cur, "fn"), SPARSE_OK);
    assert_int_equal(v2->version, 2);
    assert_true(v2->b == 4.0);
    /* Unknown versions, on both sides of the known ones. */
    v1->version = 4;
    assert_int_equal(sparse__struct_read(&fake_versions, &cur, v1, "fn"), SPARSE_EVERSION);
    assert_string_equal(sparse_last_error(), "fn: fake_opts version 4 (this library knows versions 1..3)");
    assert_int_equal(sparse__struct_write(&fake_versions, v1, &cur, "fn"), SPARSE_EVERSION);
    assert_int_equal(v1->a, 11);
    v1->version = 0;
    assert_int_equal(sparse__struct_read(&fake_versions, &cur, v1, "fn"), SPARSE_EVERSION);
    assert_int_equal(sparse__struct_init(&fake_versions, v1, 0), SPARSE_EVERSION);
    assert_string_equal(sparse_last_error(),
                        "fake_opts_init: requested version 0 (this library knows versions 1..3)");
    assert_int_equal(sparse__struct_init(&fake_versions, NULL, 1), SPARSE_EINVAL);
    assert_int_equal(sparse__struct_write(&fake_versions, NULL, &cur, "fn"), SPARSE_EINVAL);
    one_opts one = {2, 0}, one_cur;
    assert_int_equal(sparse__struct_read(&one_versions, &one_cur, &one, "g"), SPARSE_EVERSION);
    assert_string_equal(sparse_last_error(), "g: one_opts version 2 (this library knows version 1)");
    free(v1);
    free(v2);
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(sparse_set_thread_count(0), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "0 threads"));
    assert_int_equal(sparse_set_thread_count(2), SPARSE_OK);
    assert_int_equal(sparse_thread_count(), 2);
    assert_int_equal(sparse_set_thread_count(1), SPARSE_OK);
    assert_int_equal(sparse_thread_count(), 1);
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

/* Reseeding a used handle gives the stream a new handle would start: the
 * variational layers reseed one handle per training step instead of
 * allocating one. */
static void test_rng_reseed_stream(void **state)
{
    (void)state;
    static const uint64_t cases[][2] = {{0, 0}, {42, 1}, {7, 1000003ULL * 12 + 5}, {UINT64_MAX, UINT64_MAX}};
    sparse_rng *used;
    assert_int_equal(sparse_rng_create(&used, 9), SPARSE_OK);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int i = 0; i < 700; i++) /* past MT19937's 624-word state */
            (void)sparse_rng_uniform(used);
        sparse_rng *fresh;
        assert_int_equal(sparse_rng_create_stream(&fresh, cases[k][0], cases[k][1]), SPARSE_OK);
        sparse__rng_reseed_stream(used, cases[k][0], cases[k][1]);
        for (int i = 0; i < 1000; i++)
            assert_true(sparse_rng_seed64(used) == sparse_rng_seed64(fresh));
        sparse_rng_free(fresh);
    }
    sparse_rng_free(used);
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
    /* a buffer nothing was written to detaches as "" (a tool's empty
     * output: the string was unterminated, valgrind saw strlen read it) */
    s = sparse__buf_detach(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

/* The typed readers of a YAML document: each wrong type, number or name
 * refused with file:line:col, what was expected and what was found. */
static void test_doc_readers(void **state)
{
    (void)state;
    static const char text[] = "n: 12abc\nbig: 99999999999999999999\nx: 1e999\nm: {a: 1}\ns: [1, 2]\n"
                               "b: perhaps\nnil: ~\nnul: null\nempty:\nq: 'null'\nk: [1]\n"
                               "dup: {a: 1, a: 2}\ncx: {[1]: 2}\nok: {b: On, d: 2.5, e: two}\n";
    sparse__doc *doc = NULL;
    EXPECT_NULL_ARG(sparse__doc_parse(NULL, text, strlen(text), "t.yaml"), "sparse__doc_parse", "out");
    EXPECT_NULL_ARG(sparse__doc_parse(&doc, NULL, 0, "t.yaml"), "sparse__doc_parse", "text");
    assert_int_equal(sparse__doc_parse(&doc, text, strlen(text), "t.yaml"), SPARSE_OK);
    const sparse__doc_node *root = sparse__doc_root(doc);
    assert_null(sparse__doc_root(NULL));
    assert_string_equal(sparse__doc_source(NULL), "?");
    assert_string_equal(sparse__doc_source(doc), "t.yaml");
    assert_null(sparse__doc_get(root, NULL));
    assert_null(sparse__doc_get(sparse__doc_get(root, "s"), "a")); /* a sequence has no keys */
    long l;
    double d;
    int b, e;
    const char *str;
    EXPECT_ERROR(sparse__doc_long(doc, sparse__doc_get(root, "n"), "n", 0, 100, &l), SPARSE_EFORMAT,
                 "t.yaml:1:4: n: '12abc' is not an integer");
    EXPECT_ERROR(sparse__doc_long(doc, sparse__doc_get(root, "big"), "big", 0, 100, &l), SPARSE_EFORMAT,
                 "t.yaml:2:6: big: '99999999999999999999' is not an integer");
    EXPECT_ERROR(sparse__doc_long(doc, sparse__doc_get(root, "empty"), "empty", 0, 100, &l), SPARSE_EFORMAT,
                 "empty: '' is not an integer");
    EXPECT_ERROR(sparse__doc_double(doc, sparse__doc_get(root, "x"), "x", 0, 1, &d), SPARSE_EFORMAT,
                 "t.yaml:3:4: x: '1e999' is not a finite number");
    EXPECT_ERROR(sparse__doc_double(doc, sparse__doc_get(root, "n"), "n", 0, 1, &d), SPARSE_EFORMAT,
                 "n: '12abc' is not a finite number");
    EXPECT_ERROR(sparse__doc_double(doc, sparse__doc_get(root, "m"), "m", 0, 1, &d), SPARSE_EFORMAT,
                 "t.yaml:4:4: m: expected a number, found a mapping");
    EXPECT_ERROR(sparse__doc_string(doc, sparse__doc_get(root, "s"), "s", &str), SPARSE_EFORMAT,
                 "t.yaml:5:4: s: expected a string, found a sequence");
    EXPECT_ERROR(sparse__doc_bool(doc, sparse__doc_get(root, "b"), "b", &b), SPARSE_EFORMAT,
                 "t.yaml:6:4: b: 'perhaps' is not true or false");
    EXPECT_ERROR(sparse__doc_bool(doc, NULL, "gone", &b), SPARSE_EFORMAT, "gone: missing (expected true or false)");
    EXPECT_ERROR(sparse__doc_enum(doc, sparse__doc_get(root, "k"), "k", (const char *const[]){"x"}, 1, &e),
                 SPARSE_EFORMAT, "k: expected a name, found a sequence");
    assert_true(sparse__doc_is_null(sparse__doc_get(root, "nil")));
    assert_true(sparse__doc_is_null(sparse__doc_get(root, "nul")));
    assert_true(sparse__doc_is_null(sparse__doc_get(root, "empty")));
    assert_false(sparse__doc_is_null(sparse__doc_get(root, "q"))); /* quoted: the string "null" */
    assert_false(sparse__doc_is_null(sparse__doc_get(root, "n")));
    assert_false(sparse__doc_is_null(sparse__doc_get(root, "m")));
    assert_false(sparse__doc_is_null(NULL));
    static const char *const keys[] = {"a"};
    EXPECT_ERROR(sparse__doc_check_keys(doc, sparse__doc_get(root, "dup"), "dup", keys, 1), SPARSE_EFORMAT,
                 "t.yaml:12:13: dup: key 'a' appears twice (first at line 12)");
    EXPECT_ERROR(sparse__doc_check_keys(doc, sparse__doc_get(root, "cx"), "cx", keys, 1), SPARSE_EFORMAT,
                 "cx: keys must be plain names");
    EXPECT_ERROR(sparse__doc_check_keys(doc, sparse__doc_get(root, "s"), "s", keys, 1), SPARSE_EFORMAT,
                 "s: expected a mapping");
    const sparse__doc_node *ok = sparse__doc_get(root, "ok");
    assert_int_equal(sparse__doc_bool(doc, sparse__doc_get(ok, "b"), "b", &b), SPARSE_OK);
    assert_int_equal(b, 1);
    assert_int_equal(sparse__doc_double(doc, sparse__doc_get(ok, "d"), "d", 0, 10, &d), SPARSE_OK);
    assert_true(d == 2.5);
    EXPECT_ERROR(sparse__doc_double(doc, sparse__doc_get(ok, "d"), "d", 3, 10, &d), SPARSE_ERANGE,
                 "d: 2.5 is outside the allowed range [3, 10]");
    EXPECT_ERROR(sparse__doc_enum(doc, sparse__doc_get(ok, "e"), "e", (const char *const[]){"one", "three"}, 2, &e),
                 SPARSE_ERANGE, "e: unknown value 'two' (allowed: one, three)");
    sparse__doc_free(doc);
    EXPECT_NULL_ARG(sparse__doc_load_file(NULL, "x"), "sparse__doc_load_file", "out");
    EXPECT_NULL_ARG(sparse__doc_load_file(&doc, NULL), "sparse__doc_load_file", "path");
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


static void test_doc_yaml_and_json(void **state)
{
    (void)state;
    const char *y = "name: tiny\nlayers:\n  - kind: conv\n    filters: 8\n  - kind: fc\n    units: 10\nlr: 1e-3\nbn: true\nnote: \"null\"\nempty: null\n";
    sparse__doc *d;
    assert_int_equal(sparse__doc_parse(&d, y, strlen(y), "a.yaml"), SPARSE_OK);
    const sparse__doc_node *root = sparse__doc_root(d);
    assert_int_equal(root->kind, SPARSE__DOC_MAP);
    assert_int_equal(root->n, 6);
    const sparse__doc_node *layers = sparse__doc_get(root, "layers");
    assert_int_equal(layers->kind, SPARSE__DOC_SEQ);
    assert_int_equal(layers->n, 2);
    assert_int_equal(layers->items[1]->line, 5);
    long f;
    assert_int_equal(sparse__doc_long(d, sparse__doc_get(layers->items[0], "filters"), "filters", 1, 100, &f), SPARSE_OK);
    assert_int_equal(f, 8);
    assert_int_equal(sparse__doc_long(d, sparse__doc_get(layers->items[0], "filters"), "filters", 10, 100, &f), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "a.yaml:4:14: filters: 8 is outside the allowed range 10..100"));
    double lr;
    assert_int_equal(sparse__doc_double(d, sparse__doc_get(root, "lr"), "lr", 0, 1, &lr), SPARSE_OK);
    assert_true(lr == 1e-3);
    int bn;
    assert_int_equal(sparse__doc_bool(d, sparse__doc_get(root, "bn"), "bn", &bn), SPARSE_OK);
    assert_int_equal(bn, 1);
    assert_false(sparse__doc_is_null(sparse__doc_get(root, "note")));
    assert_true(sparse__doc_is_null(sparse__doc_get(root, "empty")));
    assert_int_equal(sparse__doc_long(d, sparse__doc_get(root, "missing"), "missing", 0, 1, &f), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "missing: missing"));
    int which;
    static const char *const kinds[] = {"conv", "pool", "fc"};
    assert_int_equal(sparse__doc_enum(d, sparse__doc_get(layers->items[1], "kind"), "kind", kinds, 3, &which), SPARSE_OK);
    assert_int_equal(which, 2);
    assert_int_equal(sparse__doc_enum(d, sparse__doc_get(root, "name"), "kind", kinds, 3, &which), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "unknown value 'tiny' (allowed: conv, pool, fc)"));
    static const char *const top[] = {"name", "layers", "lr", "bn", "note"};
    assert_int_equal(sparse__doc_check_keys(d, root, "config", top, 5), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "a.yaml:10:1: config: unknown key 'empty'"));
    sparse__doc_free(d);

    const char *j = "{\"id\":3,\"acc\":0.9875,\"arch\":{\"layers\":[1,2,3]},\"ok\":true}";
    assert_int_equal(sparse__doc_parse(&d, j, strlen(j), "trials.jsonl:1"), SPARSE_OK);
    root = sparse__doc_root(d);
    assert_int_equal(sparse__doc_get(sparse__doc_get(root, "arch"), "layers")->n, 3);
    assert_int_equal(sparse__doc_double(d, sparse__doc_get(root, "acc"), "acc", 0, 1, &lr), SPARSE_OK);
    assert_true(lr == 0.9875);
    sparse__doc_free(d);
    sparse__doc_free(NULL);
}

static void test_doc_errors(void **state)
{
    (void)state;
    sparse__doc *d = (sparse__doc *)0x1;
    const char *bad[] = {"a: [1, 2\n", "a: 1\n b: 2\n", "a: &x 1\nb: *x\n", "", "{\"a\": 1", "---\na: 1\n---\nb: 2\n",
                         "a: 1\na: 2\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sparse__doc_parse(&d, bad[i], strlen(bad[i]), "bad.yaml");
        if (i == 6) {
            /* Duplicate keys parse, and are refused by the key check. */
            assert_int_equal(rc, SPARSE_OK);
            static const char *const keys[] = {"a"};
            assert_int_equal(sparse__doc_check_keys(d, sparse__doc_root(d), "cfg", keys, 1), SPARSE_EFORMAT);
            assert_non_null(strstr(sparse_last_error(), "appears twice"));
            sparse__doc_free(d);
            continue;
        }
        assert_int_equal(rc, SPARSE_EFORMAT);
        assert_null(d);
        assert_non_null(strstr(sparse_last_error(), "bad.yaml"));
    }
    /* Truncating a valid document anywhere never crashes. */
    const char *y = "a:\n  - {x: 1, y: [2, 3]}\n  - \"str\\n\"\nb: 4\n";
    for (size_t n = 0; n <= strlen(y); n++) {
        if (sparse__doc_parse(&d, y, n, "t.yaml") == SPARSE_OK)
            sparse__doc_free(d);
    }
    /* Deep nesting is refused, not recursed into. */
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_int_equal(sparse__doc_parse(&d, deep, sizeof deep, "deep.yaml"), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "nested deeper"));
    assert_int_equal(sparse__doc_load_file(&d, "/nonexistent/x.yaml"), SPARSE_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),           cmocka_unit_test(test_strerror_all_codes),
        cmocka_unit_test(test_last_error),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_sparse_free),       cmocka_unit_test(test_struct_versions),
        cmocka_unit_test(test_rng_determinism),   cmocka_unit_test(test_rng_reseed_stream),
        cmocka_unit_test(test_rng_distributions), cmocka_unit_test(test_rng_state_roundtrip),
        cmocka_unit_test(test_buf_json), cmocka_unit_test(test_json_writer), cmocka_unit_test(test_doc_readers),          cmocka_unit_test(test_atomic_file),
        cmocka_unit_test(test_doc_yaml_and_json), cmocka_unit_test(test_doc_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
