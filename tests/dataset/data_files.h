/* The scratch directory and file writing of the data module's tests
 * (data_files.c, linked into each of their executables): one fresh
 * directory per cmocka group (the group's setup and teardown), shared by
 * the files of the executable and named after DATA_TEST_NAME, which the
 * executable's meson.build defines. */
#ifndef SPARSE_TESTS_DATA_FILES_H
#define SPARSE_TESTS_DATA_FILES_H

#include <stddef.h>

extern char tmpdir[200];

int setup_dir(void **state);
int teardown_dir(void **state);

/* TMPDIR/name, in one of a few rotating buffers. */
const char *at(const char *name);

/* len bytes into path, gzip-compressed when gz. */
void write_bytes(const char *path, const unsigned char *data, size_t len, int gz);

#endif
