/*
 * libsparse experimental interfaces: they may still change between minor
 * versions and carry no ABI promise. Not included by sparse/sparse.h.
 *
 * Variational nodes. A conv, depthwise or FC node can run in a variational
 * mode used by the pruning module (sparse/prune.h):
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
 *    log_alpha = z_logvar - log(z_mu^2 + 1e-8) is at or above the threshold
 *    set to zero.
 * The extra parameters are ordinary named parameters: the optimiser trains
 * them (without weight decay), sparse_net_save/load store them, and
 * sparse_net_param_total/nonzero do not count them as weights.
 *
 * Noise: a training forward pass of node id draws its N(0,1) values from a
 * stream derived from (noise seed, id, optimiser steps taken), so repeating
 * a forward pass without an optimiser step repeats the noise bit for bit
 * (what finite-difference checks need) and the same seed gives the same run.
 */
#ifndef SPARSE_EXPERIMENTAL_H
#define SPARSE_EXPERIMENTAL_H

#include "sparse/core.h"
#include "sparse/layers.h"
#include "sparse/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sparse_var_mode {
    SPARSE_VAR_NONE = 0,
    SPARSE_VAR_SPVD = 1,
    SPARSE_VAR_BC = 2
} sparse_var_mode;

/* Puts node id (conv, depthwise or FC) in a variational mode, adding and
 * initialising its extra parameters from seed (SpVD: log_sigma2 = -10;
 * BC: z_mu ~ N(1, 0.01^2), z_logvar ~ N(-9, 0.01^2), log_sigma2 ~
 * N(-9, 0.01^2)); the weights are kept. threshold must be finite.
 * SPARSE_VAR_NONE removes the mode and its parameters. Setting the mode a
 * node already has only changes the threshold. SPARSE_EINVAL for other
 * kinds of nodes. */
SPARSE_API int sparse_net_set_variational(sparse_net *net, size_t id, int mode, double threshold,
                                          uint64_t seed);
/* The node's sparse_var_mode (SPARSE_VAR_NONE for plain or bad ids). */
SPARSE_API int sparse_net_variational_mode(const sparse_net *net, size_t id);
/* Seed of the training noise of every variational node (default 0). */
SPARSE_API int sparse_net_set_noise_seed(sparse_net *net, uint64_t seed);

/* The weight and bias an evaluation pass of node id uses (variational
 * modes: the posterior mean with pruned weights or groups zeroed; plain
 * nodes: the parameters with their masks). New tensors owned by the caller,
 * PyTorch layouts; *bias is NULL when the node has no bias. Either out
 * pointer may be NULL. */
SPARSE_API int sparse_net_effective_params(sparse_net *net, size_t id, sparse_tensor **weight,
                                           sparse_tensor **bias);

/* Called by sparse_net_train after every backward pass and before the
 * optimiser step: it may add to the parameter gradients (a regulariser)
 * and report the value it adds to the loss in *extra_loss. Non-zero return
 * stops training with that status. */
typedef int (*sparse_step_hook)(void *user, sparse_net *net, size_t epoch, size_t batch,
                                size_t batches_per_epoch, double *extra_loss);
/* Installs (fn NULL: removes) the hook; user is passed through. */
SPARSE_API int sparse_net_set_step_hook(sparse_net *net, sparse_step_hook fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_EXPERIMENTAL_H */
