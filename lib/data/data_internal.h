/*
 * Internals of the data module, shared by its source files only.
 */
#ifndef SPARSE_DATA_INTERNAL_H
#define SPARSE_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/data.h"

/* Labels above this are rejected by the readers: no image data set has that
 * many classes, and relabelling tables are sized by num_classes. */
#define SPARSE__MAX_LABEL 65535

struct sparse_dataset {
    size_t n, c, h, w;
    size_t num_classes;
    float *images;   /* n * c * h * w, NCHW */
    int32_t *labels; /* n */
    float norm_mean, norm_std; /* normalisation applied so far (0, 1: none) */
};

/* Reorders n images of c x h x w values stored pixel by pixel (HWC) into
 * planes (CHW), in place. */
int sparse__hwc_to_chw(float *px, size_t n, size_t c, size_t h, size_t w);

/* Takes ownership of images and labels (freed on failure too); labels are
 * checked against num_classes, or num_classes = max label + 1 when 0. */
int sparse__dataset_wrap(sparse_dataset **out, size_t n, size_t c, size_t h, size_t w,
                         float *images, int32_t *labels, size_t num_classes);

#endif
