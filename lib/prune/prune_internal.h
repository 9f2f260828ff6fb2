/* Internals shared by the prune module's files. */
#ifndef SPARSE_PRUNE_INTERNAL_H
#define SPARSE_PRUNE_INTERNAL_H

#include "sparse/prune.h"

typedef struct sparse__prune_layer {
    char *name;
    int kind;
    size_t ch_kept, ch_total, w_kept, w_total;
} sparse__prune_layer;

struct sparse_prune_result {
    sparse_net *net;          /* compacted, owned (NULL once taken) */
    size_t total;             /* weights and biases before pruning */
    size_t nonzero;           /* after, when the net was taken */
    sparse__prune_layer *layers;
    size_t n_layers;
    sparse_train_result train[2];
};

#endif
