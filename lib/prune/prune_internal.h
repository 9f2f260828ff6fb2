/* Internals shared by the prune module's files. */
#ifndef SPARSE_PRUNE_INTERNAL_H
#define SPARSE_PRUNE_INTERNAL_H

#include "sparse/prune.h"

/* The KL terms in double precision, the reference the tests hold the
 * variational nodes' float sums (sparse_exp_net_variational_kl) to: the
 * approximation of -KL(q || log-uniform prior) of Molchanov et al. 2017,
 * k1*sigmoid(k2 + k3*la) - 0.5*log1p(exp(-la)) - k1 (SPARSE_EXP_NEG_KL_K*),
 * its derivative in la, and KL(N(mu, exp(logvar)) || N(0, 1)), BC's weight
 * term. */
double sparse__prune_neg_kl(double log_alpha);
double sparse__prune_neg_kl_grad(double log_alpha);
double sparse__prune_weight_kl(double mu, double logvar);

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
