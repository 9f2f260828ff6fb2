/* Mini-batches over a data set. The order of epoch e is a function of
 * (seed, e) alone, drawn from its own RNG stream, so a run resumed at epoch e
 * sees exactly the batches an uninterrupted run would. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "data_internal.h"

struct sparse_batcher {
    const sparse_dataset *ds;
    size_t batch_size;
    int shuffle;
    uint64_t seed;
    uint64_t epoch;
    size_t pos;
    int epoch_over; /* the end-of-epoch marker (*n == 0) has been returned */
    size_t *order;
};

static int make_order(sparse_batcher *b)
{
    for (size_t i = 0; i < b->ds->n; i++)
        b->order[i] = i;
    b->pos = 0;
    b->epoch_over = 0;
    if (!b->shuffle || b->ds->n < 2)
        return SPARSE_OK;
    sparse_rng *rng;
    int rc = sparse_rng_create_stream(&rng, b->seed, b->epoch);
    if (rc)
        return rc;
    rc = sparse_rng_shuffle(rng, b->order, b->ds->n);
    sparse_rng_free(rng);
    return rc;
}

SPARSE_API int sparse_batcher_create(sparse_batcher **out, const sparse_dataset *ds,
                                     size_t batch_size, int shuffle, uint64_t seed)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(ds);
    if (batch_size == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_batcher_create: batch_size is 0");
    sparse_batcher *b = sparse__calloc(1, sizeof *b);
    if (!b)
        return SPARSE_ENOMEM;
    b->ds = ds;
    b->batch_size = batch_size;
    b->shuffle = shuffle != 0;
    b->seed = seed;
    b->order = sparse__calloc(ds->n, sizeof *b->order);
    int rc = b->order ? make_order(b) : SPARSE_ENOMEM;
    if (rc) {
        sparse_batcher_free(b);
        return sparse__error_prefix(rc, "sparse_batcher_create");
    }
    *out = b;
    return SPARSE_OK;
}

SPARSE_API void sparse_batcher_free(sparse_batcher *b)
{
    if (!b)
        return;
    free(b->order);
    free(b);
}

SPARSE_API int sparse_batcher_next(sparse_batcher *b, sparse_tensor *x, int32_t *labels, size_t *n)
{
    SPARSE__CHECK_NULL(n);
    *n = 0;
    SPARSE__CHECK_NULL(b);
    SPARSE__CHECK_NULL(x);
    SPARSE__CHECK_NULL(labels);
    const sparse_dataset *ds = b->ds;
    size_t per = ds->c * ds->h * ds->w;
    size_t rows = sparse_tensor_dim(x, 0);
    /* Any contiguous layout with batch_size rows of C*H*W floats will do, so
     * fully connected inputs may pass a (batch, C*H*W) tensor. */
    if (!sparse_tensor_is_contiguous(x) || rows < b->batch_size ||
        sparse_tensor_element_count(x) / rows != per ||
        (sparse_tensor_dim_count(x) == 4 &&
         (sparse_tensor_dim(x, 1) != ds->c || sparse_tensor_dim(x, 2) != ds->h ||
          sparse_tensor_dim(x, 3) != ds->w)))
        return sparse__error(SPARSE_ESHAPE,
                             "sparse_batcher_next: x must be a contiguous (>= %zu, %zu, %zu, %zu) tensor",
                             b->batch_size, ds->c, ds->h, ds->w);
    if (b->epoch_over) {
        b->epoch++;
        int rc = make_order(b);
        if (rc) {
            /* Stay at the end of the old epoch so a retry shuffles again. */
            b->epoch--;
            b->epoch_over = 1;
            b->pos = ds->n;
            return sparse__error_prefix(rc, "sparse_batcher_next");
        }
    }
    if (b->pos >= ds->n) {
        b->epoch_over = 1;
        return SPARSE_OK;
    }
    size_t k = ds->n - b->pos < b->batch_size ? ds->n - b->pos : b->batch_size;
    float *dst = sparse_tensor_data(x);
    for (size_t i = 0; i < k; i++) {
        size_t j = b->order[b->pos + i];
        memcpy(dst + i * per, ds->images + j * per, per * sizeof(float));
        labels[i] = ds->labels[j];
    }
    b->pos += k;
    *n = k;
    return SPARSE_OK;
}

SPARSE_API int sparse_batcher_seek_epoch(sparse_batcher *b, uint64_t epoch)
{
    SPARSE__CHECK_NULL(b);
    b->epoch = epoch;
    int rc = make_order(b);
    return rc ? sparse__error_prefix(rc, "sparse_batcher_seek_epoch") : SPARSE_OK;
}
