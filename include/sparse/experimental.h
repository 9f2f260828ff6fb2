/*
 * libsparse experimental API: interfaces that may change or disappear in
 * any release, without an soname bump. Do not use them in code that must
 * keep building against future versions.
 */
#ifndef SPARSE_EXPERIMENTAL_H
#define SPARSE_EXPERIMENTAL_H

#include "sparse/core.h"
#include "sparse/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Profiling ---- */

/* Counters accumulated by a network while profiling is on. */
typedef struct sparse_exp_profile {
    unsigned version;          /* SPARSE_EXP_PROFILE_VERSION */
    double conv_gemm_flops;    /* 2*M*N*K summed over convolution GEMMs (forward + backward) */
    double conv_gemm_seconds;  /* wall time inside those GEMMs */
    double fc_gemm_flops;
    double fc_gemm_seconds;
    double forward_seconds;    /* whole forward passes */
    double backward_seconds;   /* whole backward passes (loss included) */
    uint64_t steps;
} sparse_exp_profile;
#define SPARSE_EXP_PROFILE_VERSION 1

/* Turns counting on (1) or off (0); turning it on resets the counters. */
SPARSE_API int sparse_exp_net_profile(sparse_net *net, int enable);
/* Copies the counters; p->version must be set. */
SPARSE_API int sparse_exp_net_profile_get(const sparse_net *net, sparse_exp_profile *p);

/* ---- Node hooks ---- */

/* Raw view of one node during a pass: activations are channel-major
 * (C, N, H, W) with N = batch. `in`/`din` are the first input's buffers. */
typedef struct sparse_exp_node_ctx {
    size_t batch;
    const float *in;
    float *din;          /* NULL when no input gradient is needed */
    float *out;
    const float *dout;   /* backward only */
    int train;
} sparse_exp_node_ctx;

/* Replaces a node's forward/backward (e.g. a variational convolution with
 * the local reparameterisation trick). The hook must write ctx->out
 * (forward) or accumulate into ctx->din and write parameter gradients
 * (backward, via sparse_net_param_grad views taken beforehand). NULL
 * restores the built-in kernel. */
typedef int (*sparse_exp_node_fn)(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx);
SPARSE_API int sparse_exp_net_set_hooks(sparse_net *net, size_t id, sparse_exp_node_fn forward,
                                        sparse_exp_node_fn backward, void *user);

/* Adds a trainable (or fixed) parameter tensor to a node, e.g. "log_sigma2"
 * next to "weight"; the optimiser updates it like any other and
 * sparse_net_save writes it. Filled with init_value. */
SPARSE_API int sparse_exp_net_add_param(sparse_net *net, size_t id, const char *name, int ndim,
                                        const size_t *shape, float init_value, int trainable);

/* Extra loss term added after the cross-entropy, e.g. a KL divergence:
 * called once per training step after the backward pass; it returns the
 * value of its term in *loss and adds its gradient into the parameter
 * gradients. */
typedef int (*sparse_exp_loss_fn)(void *user, sparse_net *net, double *loss);
SPARSE_API int sparse_exp_net_set_extra_loss(sparse_net *net, sparse_exp_loss_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_EXPERIMENTAL_H */
