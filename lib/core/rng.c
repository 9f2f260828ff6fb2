/* Seeded random numbers on GSL's MT19937. All randomness in libsparse flows
 * from explicit seeds through these handles. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct sparse_rng {
    gsl_rng *r;
};

static pthread_once_t gsl_quiet_once = PTHREAD_ONCE_INIT;

static void gsl_quiet_now(void) { gsl_set_error_handler_off(); }

void sparse__gsl_quiet(void) { pthread_once(&gsl_quiet_once, gsl_quiet_now); }

/* splitmix64: spreads (seed, stream) into well-separated 32-bit MT seeds. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The 32-bit MT19937 seed of stream `stream` under `seed`. */
static unsigned long stream_seed(uint64_t seed, uint64_t stream)
{
    uint64_t s = splitmix64(seed ^ splitmix64(stream + 0x5bd1e995ULL));
    unsigned long s32 = (unsigned long)(s ^ (s >> 32)) & 0xffffffffUL;
    return s32 ? s32 : 4357UL;
}

SPARSE_API int sparse_rng_create_stream(sparse_rng **out, uint64_t seed, uint64_t stream)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse__gsl_quiet();
    sparse_rng *g = sparse__calloc(1, sizeof *g);
    if (!g)
        return SPARSE_ENOMEM;
    g->r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!g->r) {
        free(g);
        return sparse__error(SPARSE_ENOMEM, "sparse_rng_create: gsl_rng_alloc failed");
    }
    gsl_rng_set(g->r, stream_seed(seed, stream));
    *out = g;
    return SPARSE_OK;
}

void sparse__rng_reseed_stream(sparse_rng *rng, uint64_t seed, uint64_t stream)
{
    gsl_rng_set(rng->r, stream_seed(seed, stream));
}

SPARSE_API int sparse_rng_create(sparse_rng **out, uint64_t seed)
{
    return sparse_rng_create_stream(out, seed, 0);
}

SPARSE_API void sparse_rng_free(sparse_rng *rng)
{
    if (!rng)
        return;
    gsl_rng_free(rng->r);
    free(rng);
}

SPARSE_API double sparse_rng_uniform(sparse_rng *rng) { return rng ? gsl_rng_uniform(rng->r) : 0.0; }

SPARSE_API double sparse_rng_normal(sparse_rng *rng)
{
    return rng ? gsl_ran_gaussian_ziggurat(rng->r, 1.0) : 0.0;
}

SPARSE_API uint64_t sparse_rng_uint(sparse_rng *rng, uint64_t n)
{
    if (!rng || n <= 1)
        return 0;
    if (n <= 0xffffffffULL)
        return gsl_rng_uniform_int(rng->r, (unsigned long)n);
    /* Wide range: combine two draws, rejection-free modulo is fine at 64 bits
     * for the index ranges libsparse uses. */
    uint64_t hi = gsl_rng_get(rng->r), lo = gsl_rng_get(rng->r);
    return ((hi << 32) | lo) % n;
}

SPARSE_API uint64_t sparse_rng_seed64(sparse_rng *rng)
{
    if (!rng)
        return 0;
    uint64_t hi = gsl_rng_get(rng->r), lo = gsl_rng_get(rng->r);
    return (hi << 32) | lo;
}

SPARSE_API int sparse_rng_shuffle(sparse_rng *rng, size_t *idx, size_t n)
{
    SPARSE__CHECK_NULL(rng);
    if (n && !idx)
        return sparse__error(SPARSE_EINVAL, "sparse_rng_shuffle: idx is NULL");
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sparse_rng_uint(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    return SPARSE_OK;
}

SPARSE_API size_t sparse_rng_state_size(const sparse_rng *rng)
{
    return rng ? gsl_rng_size(rng->r) : 0;
}

SPARSE_API int sparse_rng_state_save(const sparse_rng *rng, void *buf, size_t size)
{
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(buf);
    if (size != gsl_rng_size(rng->r))
        return sparse__error(SPARSE_ESHAPE, "sparse_rng_state_save: buffer is %zu bytes, state is %zu",
                             size, gsl_rng_size(rng->r));
    memcpy(buf, gsl_rng_state(rng->r), size);
    return SPARSE_OK;
}

SPARSE_API int sparse_rng_state_load(sparse_rng *rng, const void *buf, size_t size)
{
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(buf);
    if (size != gsl_rng_size(rng->r))
        return sparse__error(SPARSE_ESHAPE, "sparse_rng_state_load: buffer is %zu bytes, state is %zu",
                             size, gsl_rng_size(rng->r));
    memcpy(gsl_rng_state(rng->r), buf, size);
    return SPARSE_OK;
}

void *sparse__rng_gsl(sparse_rng *rng) { return rng ? rng->r : NULL; }
