/*
 * Internal helpers shared by every module: error reporting, allocation,
 * a growable string buffer (for JSON and messages) and file utilities.
 * Nothing here is exported from the shared library.
 */
#ifndef SPARSE_INTERNAL_H
#define SPARSE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sparse/core.h"

#if defined(__GNUC__)
#  define SPARSE__PRINTF(a, b) __attribute__((format(printf, a, b)))
#  define SPARSE__UNUSED __attribute__((unused))
#else
#  define SPARSE__PRINTF(a, b)
#  define SPARSE__UNUSED
#endif

/* Records code + formatted message as the thread's last error and returns
 * code, so call sites read `return sparse__error(SPARSE_EINVAL, "...")`. */
int sparse__error(int code, const char *fmt, ...) SPARSE__PRINTF(2, 3);
int sparse__verror(int code, const char *fmt, va_list ap);
/* Prepends "prefix: " to the current message (adds context on the way up). */
int sparse__error_prefix(int code, const char *fmt, ...) SPARSE__PRINTF(2, 3);

/* Copies src into dst (cap bytes with the NUL) made safe to print: control
 * bytes and bytes that are not valid UTF-8 become \xNN, printable text and
 * valid UTF-8 stay as they are; cut at a character boundary when dst is
 * short. Every error message and run warning goes through it, so text
 * quoted from a file never reaches a terminal raw. Returns the length. */
size_t sparse__escape(char *dst, size_t cap, const char *src);

/* Allocation that records SPARSE_ENOMEM on failure; NULL for size 0 is
 * never returned (a 1-byte block is allocated instead). */
void *sparse__malloc(size_t size);
void *sparse__calloc(size_t n, size_t size);
void *sparse__realloc(void *p, size_t size);
char *sparse__strdup(const char *s);
/* n * size without overflow; returns 0 and sets *out on success. */
int sparse__mul_size(size_t n, size_t size, size_t *out);

#define SPARSE__CHECK_NULL(p)                                                    \
    do {                                                                         \
        if ((p) == NULL)                                                         \
            return sparse__error(SPARSE_EINVAL, "%s: argument '%s' is NULL",     \
                                 __func__, #p);                                  \
    } while (0)

/* Growable string buffer. */
typedef struct sparse__buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* sticky allocation failure */
} sparse__buf;

#define SPARSE__BUF_INIT {NULL, 0, 0, 0}
void sparse__buf_free(sparse__buf *b);
int sparse__buf_grow(sparse__buf *b, size_t extra);
int sparse__buf_put(sparse__buf *b, const char *s, size_t n);
int sparse__buf_puts(sparse__buf *b, const char *s);
int sparse__buf_printf(sparse__buf *b, const char *fmt, ...) SPARSE__PRINTF(2, 3);
/* Appends s as a JSON string literal, quotes included. */
int sparse__buf_json_string(sparse__buf *b, const char *s);
/* Appends a double as JSON (shortest round-trip form; NaN/Inf as null). */
int sparse__buf_json_double(sparse__buf *b, double v);
/* Detaches the string (NUL-terminated, never NULL on success); after an
 * allocation failure NULL, with the buffer's memory released. */
char *sparse__buf_detach(sparse__buf *b);

/* Reads the whole regular file path into memory (NUL-terminated; len may
 * be NULL), opened without blocking: a directory, FIFO, socket or device is
 * SPARSE_EIO before any read, a file of more than max bytes SPARSE_ERANGE
 * naming limit (the macro of sparse/limits.h), before reading and while
 * reading (a file that grows). */
int sparse__read_file_max(const char *path, size_t max, const char *limit, char **out, size_t *len);
/* Opens the regular file path for reading into *fd, without blocking, and
 * gives its size (size may be NULL): a directory, FIFO, socket or device is
 * SPARSE_EIO naming path and what it is. */
int sparse__open_regular(const char *path, int *fd, unsigned long long *size);
/* sparse__read_file_max for fd, already open (not closed here); path names it. */
int sparse__read_fd(int fd, const char *path, size_t max, const char *limit, char **out, size_t *len);
/* A text file (an architecture or a search config): SPARSE_MAX_TEXT_BYTES. */
int sparse__read_file(const char *path, char **out, size_t *len);
/* Writes data to path atomically: sparse__replace_file of durable.h (temp
 * file created exclusively beside it, fsync, rename, fsync of the
 * directory; a failure at any step leaves path as it was, except for the
 * directory fsync, reported after the rename). */
int sparse__write_file_atomic(const char *path, const void *data, size_t len);

/* The gsl_rng * behind a sparse_rng, for GSL samplers (gsl_ran_*) that
 * need one. Typed void * so this header stays free of GSL includes. */
void *sparse__rng_gsl(sparse_rng *rng);
/* Puts rng in the state sparse_rng_create_stream(seed, stream) starts a new
 * handle in, without allocating: for a stream per training step. */
void sparse__rng_reseed_stream(sparse_rng *rng, uint64_t seed, uint64_t stream);
/* Makes GSL report through status codes, never abort the process. GSL keeps
 * its handler in a process-wide variable: set once, so that threads training
 * at once (search workers) do not race on it. */
void sparse__gsl_quiet(void);

#endif
