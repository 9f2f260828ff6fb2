/*
 * libsparse core: export macro, version, status codes, error reporting,
 * threads and seeded random number generators.
 *
 * Conventions that hold for the whole library:
 *  - every fallible function returns an int status: SPARSE_OK (0) or a
 *    negative SPARSE_E* code; results come back through out-parameters;
 *  - after a failure, sparse_last_error() describes what failed and where
 *    (file, line, field, layer); the message is thread-local;
 *  - every *_free() function accepts NULL;
 *  - memory the library allocates and hands over without a handle (the
 *    strings of sparse_arch_to_yaml, sparse_arch_to_json,
 *    sparse_search_config_to_yaml and sparse_memreport_to_json) is released
 *    with sparse_free(), never with the caller's free(): the caller's C
 *    runtime (or language runtime, through an FFI) need not be the library's;
 *  - a function that hands over a new object or string takes the pointer it
 *    is returned through first (sparse_arch_to_yaml(&yaml, arch)); on
 *    failure that pointer is set to NULL;
 *  - the library never prints, aborts or exits.
 */
#ifndef SPARSE_CORE_H
#define SPARSE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/limits.h" /* the largest inputs the readers accept */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define SPARSE_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define SPARSE_API __attribute__((visibility("default")))
#else
#  define SPARSE_API
#endif

/* Compile-time version of the headers. sparse_version_number() gives the
 * version of the library actually loaded. */
#define SPARSE_VERSION_MAJOR 0
#define SPARSE_VERSION_MINOR 1
#define SPARSE_VERSION_PATCH 0
#define SPARSE_VERSION_STRING "0.1.0"
#define SPARSE_VERSION_NUMBER \
    (SPARSE_VERSION_MAJOR * 10000 + SPARSE_VERSION_MINOR * 100 + SPARSE_VERSION_PATCH)

/* Status codes. The numeric values are part of the ABI: never renumbered,
 * new codes are only ever appended. */
typedef enum sparse_status {
    SPARSE_OK = 0,
    SPARSE_EINVAL = -1,      /* invalid argument (NULL handle, bad value) */
    SPARSE_ENOMEM = -2,      /* allocation failed */
    SPARSE_EIO = -3,         /* file could not be opened, read or written */
    SPARSE_EFORMAT = -4,     /* malformed file contents */
    SPARSE_ESHAPE = -5,      /* incompatible tensor or layer shapes */
    SPARSE_ERANGE = -6,      /* value or index out of range */
    SPARSE_ENUMERIC = -7,    /* NaN/Inf or a numerical failure (divergence) */
    SPARSE_EBUDGET = -8,     /* no candidate can meet the given budget */
    SPARSE_ECANCELLED = -9,  /* stopped by a callback */
    SPARSE_EVERSION = -10,   /* options struct of an unknown version */
    SPARSE_ENOTFOUND = -11,  /* named item does not exist */
    SPARSE_EEMPTY = -12,     /* nothing left (e.g. everything pruned away) */
    SPARSE_EUNSUPPORTED = -13, /* valid request the library cannot serve */
    SPARSE_EINTERNAL = -14   /* a bug in libsparse: please report it */
} sparse_status;

/* Static, human-readable name of a status code ("invalid argument", ...).
 * Never NULL; unknown codes give "unknown error". */
SPARSE_API const char *sparse_strerror(int code);

/* Message of the last failure in the calling thread, or "" if none.
 * The pointer stays valid until the next libsparse call in this thread. */
SPARSE_API const char *sparse_last_error(void);

/* Status code of the last failure in the calling thread (SPARSE_OK if none). */
SPARSE_API int sparse_last_error_code(void);

/* Forget the calling thread's last error. */
SPARSE_API void sparse_clear_error(void);

/* Releases memory the library allocated for the caller (see the header of
 * each function that returns such memory). NULL is a no-op. */
SPARSE_API void sparse_free(void *p);

/* Run-time version: "MAJOR.MINOR.PATCH" and MAJOR*10000+MINOR*100+PATCH. */
SPARSE_API const char *sparse_version(void);
SPARSE_API int sparse_version_number(void);

/* Number of threads used by the compute kernels (BLIS). Set it once, before
 * training; the same seed with the same thread count gives bit-identical
 * results. n must be >= 1. */
SPARSE_API int sparse_set_thread_count(int n);
SPARSE_API int sparse_thread_count(void);

/* ---- JSON output ---- */

/* A JSON text built value by value: the one writer behind the library's
 * records and every --json of the sparse command (docs/json.md). Strings
 * are escaped whatever their bytes: a byte that is not part of well-formed
 * UTF-8 (a file name in another encoding) is written as \u00XX, so the
 * text is always valid JSON; a NULL string is null, a number that is not
 * finite is null. Commas and colons are the writer's. The first failure
 * (a member without its key, a container closed that is not open, out of
 * memory) is returned by every later call. */
typedef struct sparse_json sparse_json;
SPARSE_API int sparse_json_create(sparse_json **out);
SPARSE_API void sparse_json_free(sparse_json *j);
/* Opens an array (array 1) or an object (array 0); at most 32 deep. */
SPARSE_API int sparse_json_begin(sparse_json *j, int array);
/* Closes the innermost open array or object. */
SPARSE_API int sparse_json_end(sparse_json *j);
/* The key of the next member of the open object. */
SPARSE_API int sparse_json_key(sparse_json *j, const char *key);
SPARSE_API int sparse_json_string(sparse_json *j, const char *s);
/* Shortest form that reads back as v; integers without a fraction. */
SPARSE_API int sparse_json_number(sparse_json *j, double v);
SPARSE_API int sparse_json_integer(sparse_json *j, long long v);
SPARSE_API int sparse_json_bool(sparse_json *j, int v);
SPARSE_API int sparse_json_null(sparse_json *j);
/* A value that is JSON already (sparse_arch_to_json's,
 * sparse_memreport_to_json's), inserted as it is: the caller vouches for it. */
SPARSE_API int sparse_json_raw(sparse_json *j, const char *json);
/* The text of the one complete value written (borrowed from j, valid until
 * it changes); SPARSE_EINVAL while a container is open. */
SPARSE_API int sparse_json_text(const sparse_json *j, const char **text);

/* ---- Seeded random numbers (GSL's mt19937 underneath) ---- */

typedef struct sparse_rng sparse_rng;

/* Creates a generator from a 64-bit seed. *out owned by the caller. */
SPARSE_API int sparse_rng_create(sparse_rng **out, uint64_t seed);
/* Independent generator for sub-task `stream` of the same seed: the same
 * (seed, stream) pair always gives the same sequence. */
SPARSE_API int sparse_rng_create_stream(sparse_rng **out, uint64_t seed, uint64_t stream);
SPARSE_API void sparse_rng_free(sparse_rng *rng);
/* Uniform double in [0, 1). */
SPARSE_API double sparse_rng_uniform(sparse_rng *rng);
/* Standard normal N(0, 1). */
SPARSE_API double sparse_rng_normal(sparse_rng *rng);
/* Uniform integer in [0, n), n >= 1. */
SPARSE_API uint64_t sparse_rng_uint(sparse_rng *rng, uint64_t n);
/* Draws a fresh 64-bit seed from rng (for deriving child generators). */
SPARSE_API uint64_t sparse_rng_seed64(sparse_rng *rng);
/* Fisher-Yates shuffle of n indices in place. */
SPARSE_API int sparse_rng_shuffle(sparse_rng *rng, size_t *idx, size_t n);
/* Serialise / restore the full generator state (for exact resume).
 * sparse_rng_state_size() gives the number of bytes needed. */
SPARSE_API size_t sparse_rng_state_size(const sparse_rng *rng);
SPARSE_API int sparse_rng_state_save(const sparse_rng *rng, void *buf, size_t size);
SPARSE_API int sparse_rng_state_load(sparse_rng *rng, const void *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_CORE_H */
