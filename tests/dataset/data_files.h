/* The scratch directory and file writing of the data module's tests: one
 * fresh directory per test executable (the group's setup and teardown),
 * named after DATA_TEST_NAME, which the including file defines. Include
 * after cmocka.h. */
#ifndef SPARSE_TESTS_DATA_FILES_H
#define SPARSE_TESTS_DATA_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

static char tmpdir[200];

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sparse-" DATA_TEST_NAME "-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* TMPDIR/name, in one of a few rotating buffers. */
static inline const char *at(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* len bytes into path, gzip-compressed when gz. */
static inline void write_bytes(const char *path, const unsigned char *data, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb9");
        assert_non_null(f);
        if (len)
            assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

#endif
