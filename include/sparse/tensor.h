/*
 * sparse_tensor: an opaque float32 array of 1 to 4 dimensions, conventionally
 * (N, C, H, W) for images. Strides are in elements.
 *
 * Views: sparse_tensor_reshape() and sparse_tensor_slice() return new handles
 * that share storage with their source. Storage is reference-counted: it lives
 * until the last handle that uses it is freed, so a view may outlive the
 * tensor it was taken from. Writes through one handle are visible through all
 * handles that share the storage. Every handle must be freed with
 * sparse_tensor_free(). Sharing handles between threads is safe for reading;
 * writing the same storage from two threads needs the caller's locking.
 */
#ifndef SPARSE_TENSOR_H
#define SPARSE_TENSOR_H

#include "sparse/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPARSE_TENSOR_MAX_DIMS 4

typedef struct sparse_tensor sparse_tensor;

/* New zero-filled contiguous tensor of ndim (1..4) dimensions, each >= 1.
 * *out is owned by the caller. */
SPARSE_API int sparse_tensor_create(sparse_tensor **out, int ndim, const size_t *shape);
/* Convenience for 4-D (N, C, H, W). */
SPARSE_API int sparse_tensor_create_nchw(sparse_tensor **out, size_t n, size_t c, size_t h, size_t w);
/* New tensor that copies ndim/shape and the given contiguous data. */
SPARSE_API int sparse_tensor_from_data(sparse_tensor **out, int ndim, const size_t *shape,
                                       const float *data);
/* Deep, contiguous copy of t (never a view). */
SPARSE_API int sparse_tensor_clone(sparse_tensor **out, const sparse_tensor *t);
/* Releases the handle; storage goes when no other view uses it. NULL is a no-op. */
SPARSE_API void sparse_tensor_free(sparse_tensor *t);

/* Number of dimensions, 1..4; 0 if t is NULL. */
SPARSE_API int sparse_tensor_dim_count(const sparse_tensor *t);
/* Size of dimension i; 0 if t is NULL or i is out of range. */
SPARSE_API size_t sparse_tensor_dim(const sparse_tensor *t, int i);
/* Stride of dimension i in elements; 0 if t is NULL or i out of range. */
SPARSE_API ptrdiff_t sparse_tensor_stride(const sparse_tensor *t, int i);
/* Number of elements, the product of the sizes; 0 if t is NULL. */
SPARSE_API size_t sparse_tensor_element_count(const sparse_tensor *t);
/* 1 if the elements are laid out densely in row-major order. */
SPARSE_API int sparse_tensor_is_contiguous(const sparse_tensor *t);
/* Copies up to SPARSE_TENSOR_MAX_DIMS sizes into shape; returns the dimension count
 * or an error. */
SPARSE_API int sparse_tensor_shape(const sparse_tensor *t, size_t *shape);

/* Pointer to element (0,...,0) for bulk access; borrowed, valid while any
 * handle on the storage lives. Use the strides for non-contiguous views. */
SPARSE_API float *sparse_tensor_data(sparse_tensor *t);
SPARSE_API const float *sparse_tensor_data_const(const sparse_tensor *t);

/* Element access with bounds checks; idx holds ndim indices. */
SPARSE_API int sparse_tensor_get(const sparse_tensor *t, const size_t *idx, float *out);
SPARSE_API int sparse_tensor_set(sparse_tensor *t, const size_t *idx, float value);
SPARSE_API int sparse_tensor_fill(sparse_tensor *t, float value);
/* Copies src into dst element by element; shapes must be equal. */
SPARSE_API int sparse_tensor_copy(sparse_tensor *dst, const sparse_tensor *src);

/* View of contiguous t with a new shape of the same element count. */
SPARSE_API int sparse_tensor_reshape(sparse_tensor **out, sparse_tensor *t, int ndim,
                                     const size_t *shape);
/* View of t restricted to [start, start+len) along dimension dim. */
SPARSE_API int sparse_tensor_slice(sparse_tensor **out, sparse_tensor *t, int dim, size_t start,
                                   size_t len);

#ifdef __cplusplus
}
#endif

#endif
