/* sparse_dataset: construction, inspection and in-place transforms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "data_internal.h"

static int image_size(size_t c, size_t h, size_t w, size_t *out)
{
    size_t hw;
    if (sparse__mul_size(h, w, &hw) || sparse__mul_size(c, hw, out))
        return SPARSE_ERANGE;
    return SPARSE_OK;
}

int sparse__dataset_wrap(sparse_dataset **out, size_t n, size_t c, size_t h, size_t w,
                         float *images, int32_t *labels, size_t num_classes)
{
    *out = NULL;
    int rc = SPARSE_OK;
    size_t maxl = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || (num_classes && (size_t)labels[i] >= num_classes)) {
            rc = sparse__error(SPARSE_ERANGE, "label %ld of image %zu is outside [0, %zu)",
                               (long)labels[i], i, num_classes);
            goto fail;
        }
        if ((size_t)labels[i] > maxl)
            maxl = (size_t)labels[i];
    }
    sparse_dataset *ds = sparse__calloc(1, sizeof *ds);
    if (!ds) {
        rc = SPARSE_ENOMEM;
        goto fail;
    }
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->num_classes = num_classes ? num_classes : (n ? maxl + 1 : 0);
    ds->images = images;
    ds->labels = labels;
    ds->norm_std = 1.0f;
    *out = ds;
    return SPARSE_OK;
fail:
    free(images);
    free(labels);
    return rc;
}

/* Allocates an uninitialised data set of the given shape. */
static int dataset_alloc(sparse_dataset **out, size_t n, size_t c, size_t h, size_t w,
                         size_t num_classes)
{
    size_t per, total, lbytes;
    if (image_size(c, h, w, &per) || sparse__mul_size(n, per, &total) ||
        sparse__mul_size(total, sizeof(float), &total) ||
        sparse__mul_size(n, sizeof(int32_t), &lbytes))
        return SPARSE_ERANGE;
    float *img = sparse__malloc(total);
    int32_t *lab = sparse__malloc(lbytes);
    if (!img || !lab) {
        free(img);
        free(lab);
        return SPARSE_ENOMEM;
    }
    sparse_dataset *ds = sparse__calloc(1, sizeof *ds);
    if (!ds) {
        free(img);
        free(lab);
        return SPARSE_ENOMEM;
    }
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->num_classes = num_classes;
    ds->images = img;
    ds->labels = lab;
    ds->norm_std = 1.0f;
    *out = ds;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_from_memory(sparse_dataset **out, size_t n, size_t c, size_t h,
                                          size_t w, const float *images, const int32_t *labels,
                                          size_t num_classes)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    if (n && (!images || !labels))
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_from_memory: images or labels is NULL");
    if (!c || !h || !w)
        return sparse__error(SPARSE_ESHAPE, "sparse_dataset_from_memory: image shape %zux%zux%zu has a zero dimension",
                             c, h, w);
    if (num_classes == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_from_memory: num_classes is 0");
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= num_classes)
            return sparse__error(SPARSE_ERANGE,
                                 "sparse_dataset_from_memory: label %ld of image %zu is outside [0, %zu)",
                                 (long)labels[i], i, num_classes);
    size_t per, total;
    if (image_size(c, h, w, &per) || sparse__mul_size(n, per, &total))
        return sparse__error_prefix(SPARSE_ERANGE, "sparse_dataset_from_memory");
    for (size_t i = 0; i < total; i++)
        if (!isfinite(images[i]))
            return sparse__error(SPARSE_ENUMERIC, "sparse_dataset_from_memory: pixel %zu of image %zu is not finite",
                                 i % per, i / per);
    sparse_dataset *ds;
    int rc = dataset_alloc(&ds, n, c, h, w, num_classes);
    if (rc)
        return sparse__error_prefix(rc, "sparse_dataset_from_memory");
    if (n) {
        memcpy(ds->images, images, total * sizeof(float));
        memcpy(ds->labels, labels, n * sizeof(int32_t));
    }
    *out = ds;
    return SPARSE_OK;
}

SPARSE_API void sparse_dataset_free(sparse_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds);
}

SPARSE_API size_t sparse_dataset_image_count(const sparse_dataset *ds) { return ds ? ds->n : 0; }
SPARSE_API size_t sparse_dataset_channels(const sparse_dataset *ds) { return ds ? ds->c : 0; }
SPARSE_API size_t sparse_dataset_height(const sparse_dataset *ds) { return ds ? ds->h : 0; }
SPARSE_API size_t sparse_dataset_width(const sparse_dataset *ds) { return ds ? ds->w : 0; }
SPARSE_API size_t sparse_dataset_class_count(const sparse_dataset *ds) { return ds ? ds->num_classes : 0; }

SPARSE_API int sparse_dataset_label(const sparse_dataset *ds, size_t i)
{
    return ds && i < ds->n ? (int)ds->labels[i] : -1;
}

SPARSE_API const float *sparse_dataset_image(const sparse_dataset *ds, size_t i)
{
    return ds && i < ds->n ? ds->images + i * ds->c * ds->h * ds->w : NULL;
}

SPARSE_API size_t sparse_dataset_label_count(const sparse_dataset *ds, size_t label)
{
    if (!ds)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++)
        k += (size_t)ds->labels[i] == label;
    return k;
}

SPARSE_API int sparse_dataset_pixel_stats(const sparse_dataset *ds, double *mean, double *std,
                                          double *min, double *max)
{
    SPARSE__CHECK_NULL(ds);
    size_t total = ds->n * ds->c * ds->h * ds->w;
    if (total == 0)
        return sparse__error(SPARSE_EEMPTY, "sparse_dataset_pixel_stats: the data set has no images");
    /* Two passes: summing squares in one pass loses precision on tens of
     * millions of pixels with a large mean. */
    double sum = 0.0, lo = ds->images[0], hi = ds->images[0];
    for (size_t i = 0; i < total; i++) {
        double v = ds->images[i];
        sum += v;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    double m = sum / (double)total, ss = 0.0;
    for (size_t i = 0; i < total; i++) {
        double d = ds->images[i] - m;
        ss += d * d;
    }
    if (mean)
        *mean = m;
    if (std)
        *std = sqrt(ss / (double)total);
    if (min)
        *min = lo;
    if (max)
        *max = hi;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_range(sparse_dataset **out, const sparse_dataset *src, size_t first,
                                    size_t count)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(src);
    if (first > src->n || count > src->n - first)
        return sparse__error(SPARSE_ERANGE, "sparse_dataset_range: [%zu, %zu+%zu) is outside the %zu images",
                             first, first, count, src->n);
    sparse_dataset *ds;
    int rc = dataset_alloc(&ds, count, src->c, src->h, src->w, src->num_classes);
    if (rc)
        return sparse__error_prefix(rc, "sparse_dataset_range");
    size_t per = src->c * src->h * src->w;
    if (count) {
        memcpy(ds->images, src->images + first * per, count * per * sizeof(float));
        memcpy(ds->labels, src->labels + first, count * sizeof(int32_t));
    }
    ds->norm_mean = src->norm_mean;
    ds->norm_std = src->norm_std;
    *out = ds;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_subset(sparse_dataset **out, const sparse_dataset *src,
                                     const size_t *indices, size_t n)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(src);
    if (n && !indices)
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_subset: indices is NULL");
    for (size_t i = 0; i < n; i++)
        if (indices[i] >= src->n)
            return sparse__error(SPARSE_ERANGE, "sparse_dataset_subset: index %zu (entry %zu) is outside the %zu images",
                                 indices[i], i, src->n);
    sparse_dataset *ds;
    int rc = dataset_alloc(&ds, n, src->c, src->h, src->w, src->num_classes);
    if (rc)
        return sparse__error_prefix(rc, "sparse_dataset_subset");
    size_t per = src->c * src->h * src->w;
    for (size_t i = 0; i < n; i++) {
        memcpy(ds->images + i * per, src->images + indices[i] * per, per * sizeof(float));
        ds->labels[i] = src->labels[indices[i]];
    }
    ds->norm_mean = src->norm_mean;
    ds->norm_std = src->norm_std;
    *out = ds;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_compute_normalization(const sparse_dataset *ds, float *mean,
                                                    float *std)
{
    SPARSE__CHECK_NULL(ds);
    SPARSE__CHECK_NULL(mean);
    SPARSE__CHECK_NULL(std);
    double m, s;
    int rc = sparse_dataset_pixel_stats(ds, &m, &s, NULL, NULL);
    if (rc)
        return sparse__error_prefix(rc, "sparse_dataset_compute_normalization");
    *mean = (float)m;
    *std = (float)s;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_normalize(sparse_dataset *ds, float mean, float std)
{
    SPARSE__CHECK_NULL(ds);
    if (!isfinite(mean) || !isfinite(std) || !(std > 0.0f))
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_normalize: need a finite mean and std > 0 (got %g, %g)",
                             (double)mean, (double)std);
    size_t total = ds->n * ds->c * ds->h * ds->w;
    /* Multiplying by the reciprocal would round differently from (x-m)/s;
     * the division keeps results identical to the documented formula. */
    for (size_t i = 0; i < total; i++)
        ds->images[i] = (ds->images[i] - mean) / std;
    /* ((x - m0) / s0 - m) / s = (x - (m0 + m s0)) / (s0 s) */
    ds->norm_mean += mean * ds->norm_std;
    ds->norm_std *= std;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_normalization(const sparse_dataset *ds, float *mean, float *std)
{
    SPARSE__CHECK_NULL(ds);
    SPARSE__CHECK_NULL(mean);
    SPARSE__CHECK_NULL(std);
    *mean = ds->norm_mean;
    *std = ds->norm_std;
    return SPARSE_OK;
}

int sparse__hwc_to_chw(float *px, size_t n, size_t c, size_t h, size_t w)
{
    size_t hw = h * w, per = c * hw; /* the callers' shapes passed the size checks */
    if (c == 1)
        return SPARSE_OK;
    float *tmp = sparse__malloc(per * sizeof *tmp);
    if (!tmp)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        float *img = px + i * per;
        for (size_t p = 0; p < hw; p++)
            for (size_t k = 0; k < c; k++)
                tmp[k * hw + p] = img[p * c + k];
        memcpy(img, tmp, per * sizeof *tmp);
    }
    free(tmp);
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_relabel(sparse_dataset *ds, const int *group_of_class,
                                      size_t n_classes)
{
    SPARSE__CHECK_NULL(ds);
    SPARSE__CHECK_NULL(group_of_class);
    if (n_classes != ds->num_classes)
        return sparse__error(SPARSE_ESHAPE, "sparse_dataset_relabel: %zu groups given for %zu classes",
                             n_classes, ds->num_classes);
    for (size_t c = 0; c < n_classes; c++)
        if (group_of_class[c] != 0 && group_of_class[c] != 1)
            return sparse__error(SPARSE_EINVAL, "sparse_dataset_relabel: class %zu maps to group %d, not 0 or 1",
                                 c, group_of_class[c]);
    for (size_t i = 0; i < ds->n; i++)
        ds->labels[i] = group_of_class[ds->labels[i]];
    ds->num_classes = 2;
    return SPARSE_OK;
}
