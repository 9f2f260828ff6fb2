#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *sparse__malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *sparse__calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        n = size = 1;
    void *p = calloc(n, size);
    if (!p)
        sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *sparse__realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        sparse__error(SPARSE_ENOMEM, "out of memory growing a block to %zu bytes", size);
    return q;
}

SPARSE_API void sparse_free(void *p)
{
    free(p);
}

char *sparse__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sparse__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int sparse__grow(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return SPARSE_OK;
    size_t nc = *cap ? 2 * *cap : first, bytes = 0;
    if (nc < *cap || sparse__mul_size(nc, elem, &bytes))
        return sparse__error(SPARSE_ENOMEM, "out of memory: an array of %zu elements of %zu bytes", nc, elem);
    /* the pointer travels through memcpy: a T ** is not a void ** */
    void *old, *p;
    memcpy(&old, array_ptr, sizeof old);
    if (!(p = sparse__realloc(old, bytes)))
        return SPARSE_ENOMEM;
    memcpy(array_ptr, &p, sizeof p);
    *cap = nc;
    return SPARSE_OK;
}

int sparse__mul_size(size_t n, size_t size, size_t *out)
{
    if (size != 0 && n > SIZE_MAX / size)
        return sparse__error(SPARSE_ERANGE, "size overflow: %zu x %zu", n, size);
    *out = n * size;
    return SPARSE_OK;
}
