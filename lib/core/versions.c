/* Versioned structs (docs/design.md section 6): one implementation of every
 * *_init function, of reading a caller's options of any version and of
 * filling a caller's result struct of any version. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

size_t sparse__struct_size(const sparse__struct_versions *v, unsigned version)
{
    return version >= 1 && version <= v->count ? v->sizes[version - 1] : 0;
}

/* The struct's version field: its first member, so at offset 0. */
static unsigned version_of(const void *s)
{
    unsigned version;
    memcpy(&version, s, sizeof version);
    return version;
}

static void set_version(void *s, unsigned version) { memcpy(s, &version, sizeof version); }

static int unknown_version(const sparse__struct_versions *v, const char *fn, const char *what,
                           unsigned version)
{
    if (v->count == 1)
        return sparse__error(SPARSE_EVERSION, "%s: %s version %u (this library knows version 1)", fn, what,
                             version);
    return sparse__error(SPARSE_EVERSION, "%s: %s version %u (this library knows versions 1..%u)", fn, what,
                         version, v->count);
}

int sparse__struct_init(const sparse__struct_versions *v, void *s, unsigned version)
{
    if (!s)
        return sparse__error(SPARSE_EINVAL, "%s_init: the struct to fill is NULL", v->type);
    const size_t size = sparse__struct_size(v, version);
    if (!size) {
        char fn[96];
        snprintf(fn, sizeof fn, "%s_init", v->type);
        return unknown_version(v, fn, "requested", version);
    }
    memcpy(s, v->defaults, size);
    set_version(s, version);
    return SPARSE_OK;
}

int sparse__struct_read(const sparse__struct_versions *v, void *cur, const void *s, const char *fn)
{
    const size_t full = v->sizes[v->count - 1];
    memcpy(cur, v->defaults, full);
    if (!s)
        return SPARSE_OK;
    const unsigned version = version_of(s);
    const size_t size = sparse__struct_size(v, version);
    if (!size)
        return unknown_version(v, fn, v->type, version);
    memcpy(cur, s, size);
    set_version(cur, v->count);
    return SPARSE_OK;
}

int sparse__struct_check(const sparse__struct_versions *v, const void *s, const char *fn)
{
    if (!s)
        return sparse__error(SPARSE_EINVAL, "%s: the %s is NULL", fn, v->type);
    const unsigned version = version_of(s);
    return sparse__struct_size(v, version) ? SPARSE_OK : unknown_version(v, fn, v->type, version);
}

int sparse__struct_write(const sparse__struct_versions *v, void *s, const void *cur, const char *fn)
{
    if (!s)
        return sparse__error(SPARSE_EINVAL, "%s: the %s to fill is NULL", fn, v->type);
    const unsigned version = version_of(s);
    const size_t size = sparse__struct_size(v, version);
    if (!size)
        return unknown_version(v, fn, v->type, version);
    memcpy(s, cur, size);
    set_version(s, version);
    return SPARSE_OK;
}
