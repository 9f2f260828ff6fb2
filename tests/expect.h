/* A failed call's status and message, for every test executable: the
 * status is code and sparse_last_error() contains each of the strings
 * (what failed and where). Header-only; include it after cmocka.h. */
#ifndef SPARSE_TESTS_EXPECT_H
#define SPARSE_TESTS_EXPECT_H

#include <string.h>

#include <sparse/core.h>

static inline void expect_error_at(int rc, int code, const char *const *want, const char *file, int line)
{
    const char *msg = sparse_last_error();
    if (rc != code)
        fail_msg("%s:%d: status %d (%s), expected %d", file, line, rc, msg, code);
    for (; *want; want++)
        if (!strstr(msg, *want))
            fail_msg("%s:%d: message \"%s\" does not say \"%s\"", file, line, msg, *want);
}

/* EXPECT_ERROR(call, SPARSE_EINVAL, "sparse_x", "'arg'") */
#define EXPECT_ERROR(rc, code, ...)                                                                          \
    expect_error_at((rc), (code), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

/* The NULL check every public function makes of its pointer arguments:
 * EXPECT_NULL_ARG(sparse_x(NULL, 1), "sparse_x", "out") */
#define EXPECT_NULL_ARG(rc, fn, arg) EXPECT_ERROR((rc), SPARSE_EINVAL, fn ": argument '" arg "' is NULL")

#endif
