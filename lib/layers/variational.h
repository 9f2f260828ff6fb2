/*
 * The variational nodes' plumbing, shared by variational.c (modes, posterior
 * parameters, evaluation weights), variational_pass.c (training passes and
 * their noise) and variational_kl.c (the KL term): the log alpha every one
 * of them reads, and the per-node state.
 */
#ifndef SPARSE_LAYERS_VARIATIONAL_H
#define SPARSE_LAYERS_VARIATIONAL_H

#include <math.h>

#include "layers_internal.h"

/* Added to theta^2 (or z_mu^2) inside log alpha's logarithm and to the
 * output variance under its square root, so neither is ever log(0) or
 * sqrt(0). */
#define SPARSE__VAR_EPS 1e-8f
/* log alpha is clipped to [-10, 10] wherever it decides or measures pruning
 * (Molchanov et al. 2017). */
#define SPARSE__LOG_ALPHA_CLIP 10.0f

/* log alpha = log_var - log(mean^2 + eps): of a weight under SpVD
 * (log_sigma2, theta), of a group under BC (z_logvar, z_mu). Unclipped. */
static inline float sparse__log_alpha_raw(float log_var, float mean)
{
    return log_var - logf(mean * mean + SPARSE__VAR_EPS);
}

static inline float sparse__log_alpha_clip(float raw)
{
    return raw < -SPARSE__LOG_ALPHA_CLIP ? -SPARSE__LOG_ALPHA_CLIP
                                         : (raw > SPARSE__LOG_ALPHA_CLIP ? SPARSE__LOG_ALPHA_CLIP : raw);
}

/* Clipped to [-SPARSE__LOG_ALPHA_CLIP, SPARSE__LOG_ALPHA_CLIP]. */
static inline float sparse__log_alpha(float log_var, float mean)
{
    return sparse__log_alpha_clip(sparse__log_alpha_raw(log_var, mean));
}

struct sparse__var {
    int mode;  /* sparse_prune_method, never SPARSE_PRUNE_NONE */
    int noise; /* sparse_prune_noise */
    double thr;
    uint64_t seed;        /* noise */
    sparse_rng *step_rng; /* reseeded every step: the step's noise stream */
    float *s2, *wm, *bm;       /* weight-sized (s2 = exp(log_sigma2)), bias-sized */
    float *x2, *dx2;           /* input-sized (max_batch) */
    float *sd, *eps;           /* output-sized: the variance (then its gradient), eps / (2 sd) */
    float *ew;                 /* weight-sized: the weight noise of the per-batch estimator */
    float *u, *du;             /* BC conv: pre-scale output and its gradient */
    float *dz;                 /* BC conv: per-image gradient of one channel's z (max_batch) */
    float *ez, *zs;            /* BC: group noise and samples (conv (C, N), FC input-sized as (F, N)) */
    float *xz, *dxz;           /* BC FC: scaled input and its gradient */
};

/* variational.c: the weight and bias an evaluation pass uses, into v->wm
 * and v->bm (pruned weights or groups zero). */
void sparse__var_effective(sparse__node *nd, struct sparse__var *v);

/* variational_pass.c */
/* The node hooks of a node in a variational mode; user is its struct sparse__var. */
int sparse__var_forward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx);
int sparse__var_backward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx);

#endif
