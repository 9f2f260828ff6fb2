/*
 * Reading a sparse_net as it would be deployed: batch norm folded into the
 * convolution or FC before it, ReLU in place. Shared by the memory adapter
 * (which counts the folded parameters) and the int8 quantiser (which
 * quantises them), so both see exactly the same network. Private to
 * lib/memory/; uses only the layers module's public API.
 */
#ifndef SPARSE_MEMORY_NETFOLD_H
#define SPARSE_MEMORY_NETFOLD_H

#include <stddef.h>

#include "sparse/layers.h"

typedef struct sparse__netfold {
    size_t n;
    size_t *consumers; /* number of nodes reading each node */
    size_t *bn_of;     /* weighted node -> id of the batch norm folded into it, or SIZE_MAX */
} sparse__netfold;

/* Analyses net. Every batch norm must read a conv2d, depthwise or FC node
 * that nothing else reads (else SPARSE_EUNSUPPORTED naming both nodes).
 * *f is filled (free with sparse__netfold_free) or zeroed on failure. */
int sparse__netfold_create(sparse__netfold *f, const sparse_net *net);
void sparse__netfold_free(sparse__netfold *f);

/* 1 if a ReLU reading node src runs fused into the clamp of src's tensor:
 * src is not the input and nothing else reads it. Otherwise the int8
 * kernels run the ReLU as a step of its own. */
int sparse__netfold_relu_fuses(const sparse__netfold *f, const sparse_net *net, size_t src);

/* Deployed parameters of weighted node id: weights (PyTorch layout, one row
 * per output channel) and biases, with its batch norm folded in by
 * sparse_net_fold_batchnorm (which creates out_c biases when the node has
 * none). *w and *b (NULL when there
 * are no biases) are malloc'ed, owned by the caller, NULL on failure. Extra
 * parameters (pruning's variational ones) are ignored. */
int sparse__netfold_params(const sparse__netfold *f, const sparse_net *net, size_t id, float **w,
                           size_t *nw, float **b, size_t *nb, size_t *out_c);

#endif
