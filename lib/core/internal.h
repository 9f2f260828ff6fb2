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
/* Room for element n of a growing array: array_ptr is the address of the
 * array's pointer (T **), *cap its capacity in elements of elem bytes.
 * When n == *cap the capacity doubles (from `first` when 0). On failure
 * (SPARSE_ENOMEM, also for a size that overflows) the array is unchanged. */
int sparse__grow(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first);

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
/* Appends s as a JSON string literal, quotes included (null for NULL); a
 * byte that is not part of well-formed UTF-8 becomes \u00XX. */
int sparse__buf_json_string(sparse__buf *b, const char *s);
/* Appends a double as JSON (shortest round-trip form; NaN/Inf as null). */
int sparse__buf_json_double(sparse__buf *b, double v);
/* s as XML/HTML character data or attribute value (& < > " ' escaped). */
int sparse__buf_xml(sparse__buf *b, const char *s);
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

/* ---- Versioned structs (docs/design.md section 6) ----
 *
 * Every options struct a caller fills, and every result struct the library
 * fills for a caller, starts with `unsigned version`; fields are only ever
 * appended, so version v is the first sizes[v - 1] bytes of the current
 * layout. One table per struct, next to the code that reads it, declared
 * with SPARSE__STRUCT_VERSIONS; the functions below are the only code that
 * copies such a struct across versions. */
typedef struct sparse__struct_versions {
    const char *type;     /* "sparse_train_options", for messages */
    const void *defaults; /* the current version's defaults: the struct's *_INIT macro */
    const size_t *sizes;  /* sizes[v - 1]: bytes of version v */
    unsigned count;       /* versions 1..count are known; count is the current one */
} sparse__struct_versions;

/* Declares `static const sparse__struct_versions name` for struct TYPE with
 * defaults INIT at current version VERSION. The variable arguments are the
 * sizes of versions 1..VERSION in order: an older version's is the offsetof
 * of the first field added after it, the current one's sizeof(TYPE).
 * Compiling fails when their count is not VERSION. */
#define SPARSE__STRUCT_VERSIONS(name, TYPE, INIT, VERSION, ...)                                              \
    static const TYPE name##_defaults = INIT;                                                                \
    static const size_t name##_sizes[] = {__VA_ARGS__};                                                      \
    _Static_assert(sizeof name##_sizes / sizeof name##_sizes[0] == (VERSION),                                \
                   #TYPE ": SPARSE__STRUCT_VERSIONS needs one size per version");                            \
    static const sparse__struct_versions name = {#TYPE, &name##_defaults, name##_sizes, (VERSION)}

/* Bytes of version `version`, or 0 for a version the table does not know. */
size_t sparse__struct_size(const sparse__struct_versions *v, unsigned version);
/* The body of every *_init(s, version): writes the defaults of that version
 * into s, its own bytes only (an older, smaller struct is not overrun).
 * SPARSE_EVERSION ("<type>_init: ...") for an unknown version. */
int sparse__struct_init(const sparse__struct_versions *v, void *s, unsigned version);
/* Reads a caller's struct s of any known version into cur, a struct of the
 * current layout: the defaults, overlaid with the fields s's version has
 * (never reading past its end); cur's version is the current one. s NULL
 * gives the defaults. SPARSE_EVERSION naming fn for an unknown version. */
int sparse__struct_read(const sparse__struct_versions *v, void *cur, const void *s, const char *fn);
/* SPARSE_OK if s's version is one the table knows, else SPARSE_EVERSION
 * naming fn: for a result struct, checked before the work that fills it. */
int sparse__struct_check(const sparse__struct_versions *v, const void *s, const char *fn);
/* Fills a caller's struct s, of the version s->version says, from cur (the
 * current layout): only the bytes of s's version are written, and s keeps
 * its version. SPARSE_EVERSION naming fn for an unknown version. */
int sparse__struct_write(const sparse__struct_versions *v, void *s, const void *cur, const char *fn);

#endif
