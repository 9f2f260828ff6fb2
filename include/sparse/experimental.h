/*
 * libsparse experimental API: interfaces that may change or disappear in
 * any release, without an soname bump. Do not use them in code that must
 * keep building against future versions.
 */
#ifndef SPARSE_EXPERIMENTAL_H
#define SPARSE_EXPERIMENTAL_H

#include "sparse/core.h"
#include "sparse/layers.h"
#include "sparse/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Profiling ---- */

/* Counters accumulated by a network while profiling is on. */
typedef struct sparse_exp_profile {
    unsigned version;          /* SPARSE_EXP_PROFILE_VERSION */
    double conv_gemm_flops;    /* 2*M*N*K summed over convolution kernels, GEMMs and direct ones alike
                                  (forward + backward; padding taps counted) */
    double conv_gemm_seconds;  /* wall time inside those kernels */
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
/* Seconds spent in node id's own forward and backward kernels while
 * profiling was on (either pointer may be NULL). A node whose work another
 * node's kernel does (fused, e.g. a ReLU computed with the batch norm
 * before it) reports 0 and its time counts for that node. A node with
 * hooks reports its hooks' time. */
SPARSE_API int sparse_exp_net_profile_node(const sparse_net *net, size_t id, double *forward_seconds,
                                           double *backward_seconds);

/* ---- Memory ---- */

/* Stops keeping im2col matrices between the forward and backward passes
 * (they are rebuilt in chunks instead) and caps a chunk at chunk_floats
 * (0 = default, 1M floats). For very wide layers, and to test that path. */
SPARSE_API int sparse_exp_net_limit_conv_memory(sparse_net *net, size_t chunk_floats);

/* ---- Node hooks ---- */

/* Raw view of one node during a pass: activations are (C, H, W, N) with
 * N = batch (the images of one pixel contiguous). `in`/`din` are the first
 * input's buffers. */
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

/* Raw kernels with a node's geometry, for hooks (e.g. the local
 * reparameterisation trick needs conv(x, theta) and conv(x^2, alpha*theta^2)).
 * Buffers are (C, H, W, N) with N = the current batch, shaped
 * like the node's input (x, dx) and output (y, dy); weights use the node's
 * "weight" layout. No bias is applied. Forward overwrites y; backward
 * overwrites dweight and adds into dx (either may be NULL to skip it). They
 * use the network's scratch memory, so call them only from hooks. Nodes:
 * conv2d and depthwise_conv2d (conv_*), fc (fc_*). */
SPARSE_API int sparse_exp_conv_forward(sparse_net *net, size_t id, const float *x, const float *weight,
                                       float *y);
SPARSE_API int sparse_exp_conv_backward(sparse_net *net, size_t id, const float *x, const float *weight,
                                        const float *dy, float *dweight, float *dx);
SPARSE_API int sparse_exp_fc_forward(sparse_net *net, size_t id, const float *x, const float *weight, float *y);
SPARSE_API int sparse_exp_fc_backward(sparse_net *net, size_t id, const float *x, const float *weight,
                                      const float *dy, float *dweight, float *dx);

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

/* ---- Options ---- */

/* *dst = the current version of src, which may be any version of
 * sparse_train_options this library accepts: the fields src's version has,
 * the defaults for the rest (src NULL: the defaults). Never reads past the
 * end of an older, smaller struct. SPARSE_EVERSION for an unknown version.
 * For code that wraps sparse_net_train and changes a field (sparse/prune.h
 * fine-tunes with the caller's options and its own epoch count). */
SPARSE_API int sparse_exp_train_options_copy(sparse_train_options *dst, const sparse_train_options *src);

/* ---- Variational nodes (used by sparse/prune.h) ----
 *
 * A conv, depthwise or FC node can run in a variational mode (installed
 * through the node hooks above, so a node in this mode has them taken):
 *  - SPARSE_VAR_SPVD, Sparse Variational Dropout (Molchanov et al. 2017):
 *    one extra parameter "log_sigma2" shaped like "weight". Training passes
 *    use the local reparameterisation trick, mean conv(x, weight) plus
 *    variance conv(x^2, exp(log_sigma2)) times N(0,1) noise; evaluation
 *    passes use the mean weights with every weight whose
 *    log_alpha = clip(log_sigma2 - log(weight^2 + 1e-8), -10, 10) is at or
 *    above the node's threshold set to zero.
 *  - SPARSE_VAR_BC, Bayesian Compression (Louizos et al. 2017, group
 *    normal-Jeffreys): "log_sigma2" (weight log-variance) plus "z_mu" and
 *    "z_logvar", one group scale per output channel of a convolution and
 *    per input neuron of an FC layer (inputs flattened in C, H, W order).
 *    Training samples z per image; evaluation uses weight * z_mu (conv: the
 *    bias is scaled by z_mu too) with the groups whose
 *    log_alpha = clip(z_logvar - log(z_mu^2 + 1e-8), -10, 10) is at or
 *    above the threshold set to zero.
 * Biases stay deterministic. The extra parameters are ordinary named
 * parameters: the optimiser trains them (without weight decay),
 * sparse_net_save/load store them, and sparse_net_param_total/nonzero do
 * not count them as weights.
 *
 * Noise: a training forward pass of node id draws its N(0,1) values from a
 * stream derived from (noise seed, id, optimiser steps taken), so repeating
 * a forward pass without an optimiser step repeats the noise bit for bit
 * (what finite-difference checks need) and the same seed gives the same run.
 */

typedef enum sparse_var_mode {
    SPARSE_VAR_NONE = 0,
    SPARSE_VAR_SPVD = 1,
    SPARSE_VAR_BC = 2
} sparse_var_mode;

/* Puts node id (conv, depthwise or FC) in a variational mode, adding and
 * initialising its extra parameters from seed (SpVD: log_sigma2 = -10;
 * BC: z_mu ~ N(1, 0.01^2), z_logvar ~ N(-9, 0.01^2), log_sigma2 ~
 * N(-9, 0.01^2)); the weights are kept. threshold must be finite.
 * SPARSE_VAR_NONE removes the mode, its parameters and its hooks. Setting
 * the mode a node already has only changes the threshold. SPARSE_EINVAL for
 * other kinds of nodes. */
SPARSE_API int sparse_exp_net_set_variational(sparse_net *net, size_t id, int mode, double threshold,
                                              uint64_t seed);
/* The node's sparse_var_mode (SPARSE_VAR_NONE for plain or bad ids). */
SPARSE_API int sparse_exp_net_variational_mode(const sparse_net *net, size_t id);
/* Seed of the training noise of every variational node (default 0). */
SPARSE_API int sparse_exp_net_set_noise_seed(sparse_net *net, uint64_t seed);
/* Multiplies the learning rate of node id's parameter named param (NULL:
 * all its parameters) by scale (finite, > 0; default 1), e.g. to let the
 * posterior log-variances move faster than the weights. SPARSE_ERANGE for a
 * bad id or scale, SPARSE_ENOTFOUND for an unknown parameter. */
SPARSE_API int sparse_exp_net_set_lr_scale(sparse_net *net, size_t id, const char *param, double scale);

/* The approximation of -KL(q || log-uniform prior) of Molchanov et al. 2017,
 * k1*sigmoid(k2 + k3*la) - 0.5*log1p(exp(-la)) - k1, that the KL terms below
 * and sparse/prune.h's sparse_prune_neg_kl evaluate. */
#define SPARSE_EXP_NEG_KL_K1 0.63576
#define SPARSE_EXP_NEG_KL_K2 1.87320
#define SPARSE_EXP_NEG_KL_K3 1.48695

/* The KL term of node id's posterior (0 for a plain node), the sum
 * sparse_prune_kl adds up: SpVD, -(-KL) at every weight's log alpha (clipped
 * as above; no gradient where the clip holds it); BC, -(-KL) at every
 * group's log_alpha = z_logvar - log(z_mu^2 + 1e-8) (unclipped) plus every
 * weight's KL(N(weight, exp(log_sigma2)) || N(0, 1)). Computed in float,
 * summed in double. If grad_scale is not 0, grad_scale * d KL / d parameter
 * is added to the parameters' gradients. SPARSE_ERANGE for a bad id or a
 * scale that is not finite. */
SPARSE_API int sparse_exp_net_variational_kl(sparse_net *net, size_t id, double grad_scale, double *kl);

/* The weight and bias an evaluation pass of node id uses (variational
 * modes: the posterior mean with pruned weights or groups zeroed; plain
 * nodes: the parameters, masks applied). New tensors owned by the caller,
 * PyTorch layouts; *bias is NULL when the node has no bias. Either out
 * pointer may be NULL. */
SPARSE_API int sparse_exp_net_effective_params(sparse_net *net, size_t id, sparse_tensor **weight,
                                               sparse_tensor **bias);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_EXPERIMENTAL_H */
