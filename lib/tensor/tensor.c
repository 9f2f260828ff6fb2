#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sparse/tensor.h"

typedef struct storage {
    atomic_int refs;
    float *data;
    size_t numel;
} storage;

struct sparse_tensor {
    storage *st;
    size_t offset;
    int ndim;
    size_t shape[SPARSE_TENSOR_MAX_DIMS];
    ptrdiff_t stride[SPARSE_TENSOR_MAX_DIMS];
};

static int check_shape(const char *fn, int ndim, const size_t *shape, size_t *numel)
{
    if (ndim < 1 || ndim > SPARSE_TENSOR_MAX_DIMS)
        return sparse__error(SPARSE_ESHAPE, "%s: %d dimensions, allowed 1..%d", fn, ndim,
                             SPARSE_TENSOR_MAX_DIMS);
    if (!shape)
        return sparse__error(SPARSE_EINVAL, "%s: shape is NULL", fn);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0)
            return sparse__error(SPARSE_ESHAPE, "%s: dimension %d has size 0", fn, i);
        if (sparse__mul_size(n, shape[i], &n))
            return sparse__error_prefix(SPARSE_ESHAPE, "%s", fn);
    }
    if (n > SIZE_MAX / sizeof(float))
        return sparse__error(SPARSE_ESHAPE, "%s: %zu elements overflow", fn, n);
    *numel = n;
    return SPARSE_OK;
}

static void set_contiguous(sparse_tensor *t, int ndim, const size_t *shape)
{
    t->ndim = ndim;
    ptrdiff_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = s;
        s *= (ptrdiff_t)shape[i];
    }
    for (int i = ndim; i < SPARSE_TENSOR_MAX_DIMS; i++) {
        t->shape[i] = 1;
        t->stride[i] = 0;
    }
}

SPARSE_API int sparse_tensor_create(sparse_tensor **out, int ndim, const size_t *shape)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    size_t numel;
    int rc = check_shape("sparse_tensor_create", ndim, shape, &numel);
    if (rc)
        return rc;
    sparse_tensor *t = sparse__calloc(1, sizeof *t);
    storage *st = sparse__calloc(1, sizeof *st);
    float *data = sparse__calloc(numel, sizeof(float));
    if (!t || !st || !data) {
        free(t);
        free(st);
        free(data);
        return SPARSE_ENOMEM;
    }
    atomic_init(&st->refs, 1);
    st->data = data;
    st->numel = numel;
    t->st = st;
    set_contiguous(t, ndim, shape);
    *out = t;
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_create_nchw(sparse_tensor **out, size_t n, size_t c, size_t h, size_t w)
{
    SPARSE__CHECK_NULL(out); /* named here, not as sparse_tensor_create's */
    size_t shape[4] = {n, c, h, w};
    return sparse_tensor_create(out, 4, shape);
}

SPARSE_API int sparse_tensor_from_data(sparse_tensor **out, int ndim, const size_t *shape,
                                       const float *data)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(data);
    int rc = sparse_tensor_create(out, ndim, shape);
    if (rc)
        return rc;
    memcpy((*out)->st->data, data, (*out)->st->numel * sizeof(float));
    return SPARSE_OK;
}

SPARSE_API void sparse_tensor_free(sparse_tensor *t)
{
    if (!t)
        return;
    if (atomic_fetch_sub(&t->st->refs, 1) == 1) {
        free(t->st->data);
        free(t->st);
    }
    free(t);
}

SPARSE_API int sparse_tensor_dim_count(const sparse_tensor *t) { return t ? t->ndim : 0; }

SPARSE_API size_t sparse_tensor_dim(const sparse_tensor *t, int i)
{
    return (t && i >= 0 && i < t->ndim) ? t->shape[i] : 0;
}

SPARSE_API ptrdiff_t sparse_tensor_stride(const sparse_tensor *t, int i)
{
    return (t && i >= 0 && i < t->ndim) ? t->stride[i] : 0;
}

SPARSE_API size_t sparse_tensor_element_count(const sparse_tensor *t)
{
    if (!t)
        return 0;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

SPARSE_API int sparse_tensor_is_contiguous(const sparse_tensor *t)
{
    if (!t)
        return 0;
    ptrdiff_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s)
            return 0;
        s *= (ptrdiff_t)t->shape[i];
    }
    return 1;
}

SPARSE_API int sparse_tensor_shape(const sparse_tensor *t, size_t *shape)
{
    SPARSE__CHECK_NULL(t);
    SPARSE__CHECK_NULL(shape);
    for (int i = 0; i < t->ndim; i++)
        shape[i] = t->shape[i];
    return t->ndim;
}

SPARSE_API float *sparse_tensor_data(sparse_tensor *t) { return t ? t->st->data + t->offset : NULL; }

SPARSE_API const float *sparse_tensor_data_const(const sparse_tensor *t)
{
    return t ? t->st->data + t->offset : NULL;
}

static int offset_of(const char *fn, const sparse_tensor *t, const size_t *idx, size_t *off)
{
    if (!t || !idx) /* named as SPARSE__CHECK_NULL would in fn */
        return sparse__error(SPARSE_EINVAL, "%s: argument '%s' is NULL", fn, t ? "idx" : "t");
    size_t o = t->offset;
    for (int i = 0; i < t->ndim; i++) {
        if (idx[i] >= t->shape[i])
            return sparse__error(SPARSE_ERANGE, "%s: index %zu out of range for dimension %d of size %zu",
                                 fn, idx[i], i, t->shape[i]);
        o += idx[i] * (size_t)t->stride[i];
    }
    *off = o;
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_get(const sparse_tensor *t, const size_t *idx, float *out)
{
    SPARSE__CHECK_NULL(out);
    size_t o = 0;
    int rc = offset_of("sparse_tensor_get", t, idx, &o);
    if (rc)
        return rc;
    *out = t->st->data[o];
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_set(sparse_tensor *t, const size_t *idx, float value)
{
    size_t o = 0;
    int rc = offset_of("sparse_tensor_set", t, idx, &o);
    if (rc)
        return rc;
    t->st->data[o] = value;
    return SPARSE_OK;
}

/* Calls fn(dst_off, src_off) for every element of the shape of a, walking a
 * (and optionally b) by their strides. */
#define FOR_EACH_ELEMENT(a, b, BODY)                                                       \
    do {                                                                                   \
        size_t i_[4] = {0, 0, 0, 0};                                                       \
        for (i_[0] = 0; i_[0] < (a)->shape[0]; i_[0]++)                                    \
            for (i_[1] = 0; i_[1] < (a)->shape[1]; i_[1]++)                                \
                for (i_[2] = 0; i_[2] < (a)->shape[2]; i_[2]++)                            \
                    for (i_[3] = 0; i_[3] < (a)->shape[3]; i_[3]++) {                      \
                        size_t oa_ = (a)->offset, ob_ = (b)->offset;                       \
                        for (int d_ = 0; d_ < 4; d_++) {                                   \
                            oa_ += i_[d_] * (size_t)(a)->stride[d_];                       \
                            ob_ += i_[d_] * (size_t)(b)->stride[d_];                       \
                        }                                                                  \
                        BODY;                                                              \
                    }                                                                      \
    } while (0)

SPARSE_API int sparse_tensor_fill(sparse_tensor *t, float value)
{
    SPARSE__CHECK_NULL(t);
    FOR_EACH_ELEMENT(t, t, (void)ob_; t->st->data[oa_] = value);
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_copy(sparse_tensor *dst, const sparse_tensor *src)
{
    SPARSE__CHECK_NULL(dst);
    SPARSE__CHECK_NULL(src);
    if (dst->ndim != src->ndim)
        return sparse__error(SPARSE_ESHAPE, "sparse_tensor_copy: %d-D destination, %d-D source",
                             dst->ndim, src->ndim);
    for (int i = 0; i < dst->ndim; i++)
        if (dst->shape[i] != src->shape[i])
            return sparse__error(SPARSE_ESHAPE,
                                 "sparse_tensor_copy: dimension %d is %zu in destination, %zu in source",
                                 i, dst->shape[i], src->shape[i]);
    if (dst->st == src->st) {
        /* Overlapping views: go through a temporary copy. */
        sparse_tensor *tmp;
        int rc = sparse_tensor_clone(&tmp, src);
        if (rc)
            return rc;
        rc = sparse_tensor_copy(dst, tmp);
        sparse_tensor_free(tmp);
        return rc;
    }
    FOR_EACH_ELEMENT(dst, src, dst->st->data[oa_] = src->st->data[ob_]);
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_clone(sparse_tensor **out, const sparse_tensor *t)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(t);
    sparse_tensor *c;
    int rc = sparse_tensor_create(&c, t->ndim, t->shape);
    if (rc)
        return rc;
    FOR_EACH_ELEMENT(c, t, c->st->data[oa_] = t->st->data[ob_]);
    *out = c;
    return SPARSE_OK;
}

static sparse_tensor *new_view(sparse_tensor *t)
{
    sparse_tensor *v = sparse__malloc(sizeof *v);
    if (!v)
        return NULL;
    *v = *t;
    atomic_fetch_add(&t->st->refs, 1);
    return v;
}

SPARSE_API int sparse_tensor_reshape(sparse_tensor **out, sparse_tensor *t, int ndim,
                                     const size_t *shape)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(t);
    size_t numel;
    int rc = check_shape("sparse_tensor_reshape", ndim, shape, &numel);
    if (rc)
        return rc;
    if (numel != sparse_tensor_element_count(t))
        return sparse__error(SPARSE_ESHAPE, "sparse_tensor_reshape: %zu elements cannot become %zu",
                             sparse_tensor_element_count(t), numel);
    if (!sparse_tensor_is_contiguous(t))
        return sparse__error(SPARSE_ESHAPE,
                             "sparse_tensor_reshape: source is a non-contiguous view; clone it first");
    sparse_tensor *v = new_view(t);
    if (!v)
        return SPARSE_ENOMEM;
    set_contiguous(v, ndim, shape);
    *out = v;
    return SPARSE_OK;
}

SPARSE_API int sparse_tensor_slice(sparse_tensor **out, sparse_tensor *t, int dim, size_t start,
                                   size_t len)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(t);
    if (dim < 0 || dim >= t->ndim)
        return sparse__error(SPARSE_ERANGE, "sparse_tensor_slice: dimension %d of a %d-D tensor", dim,
                             t->ndim);
    if (len == 0 || start >= t->shape[dim] || len > t->shape[dim] - start)
        return sparse__error(SPARSE_ERANGE,
                             "sparse_tensor_slice: [%zu, %zu+%zu) outside dimension %d of size %zu", start,
                             start, len, dim, t->shape[dim]);
    sparse_tensor *v = new_view(t);
    if (!v)
        return SPARSE_ENOMEM;
    v->offset += start * (size_t)t->stride[dim];
    v->shape[dim] = len;
    *out = v;
    return SPARSE_OK;
}
