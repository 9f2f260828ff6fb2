/*
 * libsparse experimental API: interfaces that may change or disappear in
 * any release, without an soname bump. Do not use them in code that must
 * keep building against future versions.
 */
#ifndef SPARSE_EXPERIMENTAL_H
#define SPARSE_EXPERIMENTAL_H

#include "sparse/core.h"
#include "sparse/data.h"
#include "sparse/gp.h"
#include "sparse/layers.h"
#include "sparse/memory.h"
#include "sparse/quant.h"
#include "sparse/search.h"
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
#define SPARSE_EXP_PROFILE_INIT {SPARSE_EXP_PROFILE_VERSION, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0}

/* Turns counting on (1) or off (0); turning it on resets the counters. */
SPARSE_API int sparse_exp_net_profile(sparse_net *net, int enable);
/* Copies the counters into *p, of the version p->version says (set it). */
SPARSE_API int sparse_exp_net_profile_get(const sparse_net *net, sparse_exp_profile *p);
/* Seconds spent in node id's own forward and backward kernels while
 * profiling was on (either pointer may be NULL). A node whose work another
 * node's kernel does (fused, e.g. a ReLU computed with the batch norm
 * before it) reports 0 and its time counts for that node. A node with
 * hooks reports its hooks' time. */
SPARSE_API int sparse_exp_net_profile_node(const sparse_net *net, size_t id, double *forward_seconds,
                                           double *backward_seconds);

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
/* The other way for results: *dst, of the version dst->version says (set by
 * its caller; SPARSE_EVERSION if unknown), gets the fields of src (the
 * current version) that its version has, and nothing past its end. For
 * code that hands a caller a sparse_train_result it stored
 * (sparse_prune_result_training). */
SPARSE_API int sparse_exp_train_result_copy(sparse_train_result *dst, const sparse_train_result *src);

/* ---- Variational nodes (used by sparse/prune.h) ----
 *
 * A conv, depthwise or FC node can run in a variational mode, one per
 * pruning method (sparse_prune_method, sparse/layers.h), installed through
 * the node hooks above, so a node in this mode has them taken:
 *  - SPARSE_PRUNE_SPVD, Sparse Variational Dropout (Molchanov et al. 2017):
 *    one extra parameter "log_sigma2" shaped like "weight". Training passes
 *    use the local reparameterisation trick, mean conv(x, weight) plus
 *    variance conv(x^2, exp(log_sigma2)) times N(0,1) noise; evaluation
 *    passes use the mean weights with every weight whose
 *    log_alpha = clip(log_sigma2 - log(weight^2 + 1e-8), -10, 10) is at or
 *    above the node's threshold set to zero.
 *  - SPARSE_PRUNE_BC, Bayesian Compression (Louizos et al. 2017, group
 *    normal-Jeffreys): "log_sigma2" (weight log-variance) plus "z_mu" and
 *    "z_logvar", one group scale per output channel of a convolution and
 *    per input neuron of an FC layer (inputs flattened in C, H, W order).
 *    Training samples z per image; evaluation uses weight * z_mu (conv: the
 *    bias is scaled by z_mu too) with the groups whose
 *    log_alpha = clip(z_logvar - log(z_mu^2 + 1e-8), -10, 10) is at or
 *    above the threshold set to zero.
 * Biases stay deterministic. The extra parameters are ordinary named
 * parameters: the optimiser trains them (without weight decay),
 * sparse_net_save/load store them, and sparse_net_weight_count/nonzero do
 * not count them as weights.
 *
 * Noise: a training forward pass of node id draws its N(0,1) values from a
 * stream derived from (noise seed, id, optimiser steps taken), so repeating
 * a forward pass without an optimiser step repeats the noise bit for bit
 * (what finite-difference checks need) and the same seed gives the same run.
 */

/* Puts node id (conv, depthwise or FC) in the variational mode of pruning
 * method `mode` (a sparse_prune_method), adding and
 * initialising its extra parameters from seed (SpVD: log_sigma2 = -10;
 * BC: z_mu ~ N(1, 0.01^2), z_logvar ~ N(-9, 0.01^2), log_sigma2 ~
 * N(-9, 0.01^2)); the weights are kept. threshold must be finite.
 * SPARSE_PRUNE_NONE removes the mode, its parameters and its hooks. Setting
 * the mode a node already has only changes the threshold. SPARSE_EINVAL for
 * other kinds of nodes. */
SPARSE_API int sparse_exp_net_set_variational(sparse_net *net, size_t id, int mode, double threshold,
                                              uint64_t seed);
/* The node's mode, a sparse_prune_method (SPARSE_PRUNE_NONE for plain or
 * bad ids). */
SPARSE_API int sparse_exp_net_variational_mode(const sparse_net *net, size_t id);
/* Seed of the training noise of every variational node (default 0). */
SPARSE_API int sparse_exp_net_set_noise_seed(sparse_net *net, uint64_t seed);
/* How every variational node of net draws its training noise, a
 * sparse_prune_noise (sparse/prune.h; default SPARSE_PRUNE_NOISE_ACTIVATION):
 * SPARSE_PRUNE_NOISE_WEIGHT trains SpVD weights, and BC's weights under
 * their group scales, on theta + sigma e with e drawn once per weight and
 * step (BC's group scales keep a draw per image). Nodes made variational
 * later start with the default. SPARSE_ERANGE for an unknown kind. */
SPARSE_API int sparse_exp_net_set_noise_kind(sparse_net *net, int noise);
/* Multiplies the learning rate of node id's parameter named param (NULL:
 * all its parameters) by scale (finite, > 0; default 1), e.g. to let the
 * posterior log-variances move faster than the weights. SPARSE_ERANGE for a
 * bad id or scale, SPARSE_ENOTFOUND for an unknown parameter. */
SPARSE_API int sparse_exp_net_set_lr_scale(sparse_net *net, size_t id, const char *param, double scale);

/* The approximation of -KL(q || log-uniform prior) of Molchanov et al. 2017,
 * k1*sigmoid(k2 + k3*la) - 0.5*log1p(exp(-la)) - k1, that the KL terms below
 * evaluate. */
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
SPARSE_API int sparse_exp_net_effective_params(sparse_tensor **weight, sparse_tensor **bias, sparse_net *net,
                                               size_t id);

/* The log alphas an evaluation pass of node id compares with its threshold
 * (clipped as above; an entry at or above the threshold is pruned): SpVD,
 * one per weight, shaped like "weight"; BC, one per group, shaped like
 * "z_mu". A new tensor owned by the caller. SPARSE_ERANGE for a bad id,
 * SPARSE_EINVAL for a node in no variational mode. */
SPARSE_API int sparse_exp_net_log_alpha(sparse_tensor **out, sparse_net *net, size_t id);

/* ---- Int8 networks as C (used by sparse/export.h) ---- */

/* The buffers q's int8 kernels use, as a memory graph: one node per network
 * node (same ids and names; batch norms and fused ReLUs are views, a ReLU
 * that could not be fused is a 1x1 pool with a buffer of its own), sums and
 * ReLUs marked in place where they are the last reader of their input, pools
 * too where that lowers the planned arena, weights counted as stored (int8
 * non-zeros). Plan it with
 * sparse_memreport_create and SPARSE_SCRATCH_NONE: the kernels use no
 * scratch. *out owned by the caller (sparse_memgraph_free). */
SPARSE_API int sparse_exp_qnet_memgraph(sparse_memgraph **out, const sparse_qnet *q);

/* C99 text defining q for an exported model (sparse/export.h): the int8
 * kernels' source as the library compiles it, with every function static
 * and every name PREFIX_q8_*, only the kernels q uses; then its weights,
 * biases and requantisation constants as static const arrays and
 *     static const PREFIX_q8_op PREFIX_ops[];
 * the steps of the network over an arena in which node id's tensor is at
 * byte offsets[id] (q's node count entries, e.g. the DEPLOY_OFFSET figures
 * of the graph above planned; NULL: every tensor apart). Running them is
 *     PREFIX_q8_run(PREFIX_ops, sizeof PREFIX_ops / sizeof PREFIX_ops[0], arena);
 * prefix must be a C identifier. *out is owned by the caller, released with
 * sparse_free(). */
SPARSE_API int sparse_exp_qnet_c_source(char **out, const sparse_qnet *q, const char *prefix,
                                        const uint64_t *offsets);
/* The same for a model whose input is node input_node's output (input
 * downsampling done by data acquisition, sparse_memory_options'
 * input_downsampling): nodes 0 .. input_node are no steps and their kernels
 * are not compiled in; the caller puts node input_node's int8 output at
 * offsets[input_node]. input_node 0 is sparse_exp_qnet_c_source;
 * SPARSE_ERANGE past the last node. */
SPARSE_API int sparse_exp_qnet_c_source_from(char **out, const sparse_qnet *q, const char *prefix,
                                             const uint64_t *offsets, size_t input_node);
/* Output shape (C, H, W) of node id of q; any output may be NULL;
 * SPARSE_ERANGE for a bad id. */
SPARSE_API int sparse_exp_qnet_node_shape(const sparse_qnet *q, size_t id, size_t *channels, size_t *height,
                                          size_t *width);

/* ---- Exported models on a microcontroller (sparse/export.h) ----
 *
 * The library runs the tools itself (posix_spawnp with an explicit argument
 * list, never a shell; their output is captured, never printed): Debian's
 * gcc-arm-none-eabi and libnewlib-arm-none-eabi for Cortex-M builds,
 * qemu-system-arm for runs, the system's C compiler for host builds. */

typedef enum sparse_exp_target {
    SPARSE_EXP_TARGET_HOST = 0,          /* the system's cc */
    SPARSE_EXP_TARGET_CORTEX_M0PLUS = 1, /* arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb */
    SPARSE_EXP_TARGET_CORTEX_M4 = 2,     /* -mcpu=cortex-m4; runs under qemu's mps2-an386 */
    SPARSE_EXP_TARGET_CORTEX_M7 = 3      /* -mcpu=cortex-m7 */
} sparse_exp_target;

typedef struct sparse_exp_toolchain {
    unsigned version;         /* SPARSE_EXP_TOOLCHAIN_VERSION */
    int target;               /* sparse_exp_target, default Cortex-M4 */
    const char *host_cc;      /* default "cc" */
    const char *cross_prefix; /* default "arm-none-eabi-" (gcc, size and nm are run) */
    const char *qemu;         /* default "qemu-system-arm" */
    const char *work_dir;     /* build products go here (created if missing, kept); NULL:
                                 a temporary directory, removed afterwards */
    double timeout_s;         /* limit for each tool run, default 3600 */
} sparse_exp_toolchain;
#define SPARSE_EXP_TOOLCHAIN_VERSION 1
#define SPARSE_EXP_TOOLCHAIN_INIT                                                                            \
    {                                                                                                        \
        SPARSE_EXP_TOOLCHAIN_VERSION, SPARSE_EXP_TARGET_CORTEX_M4, NULL, NULL, NULL, NULL, 0.0               \
    }

/* Sections of a model's object file (arm-none-eabi-size -A), in bytes. */
typedef struct sparse_exp_build_result {
    unsigned version;              /* SPARSE_EXP_BUILD_RESULT_VERSION, set by the caller */
    uint64_t text_bytes;           /* code: the kernels and PREFIX_run */
    uint64_t rodata_bytes;         /* constants, of which: */
    uint64_t rodata_weights_bytes; /*   weights as encoded, biases, multipliers, shifts */
    uint64_t bss_bytes;            /* the arena */
    uint64_t data_bytes;
} sparse_exp_build_result;
#define SPARSE_EXP_BUILD_RESULT_VERSION 1
#define SPARSE_EXP_BUILD_RESULT_INIT                                                                         \
    {                                                                                                        \
        SPARSE_EXP_BUILD_RESULT_VERSION, 0, 0, 0, 0, 0                                                       \
    }

/* Compiles dir/PREFIX.c (written by sparse_export_qnet) for tc's target
 * (tc may be NULL: defaults) with -std=c99 -pedantic -Wall -Wextra -Werror
 * -ffreestanding -Os -ffunction-sections -fdata-sections, and for a
 * Cortex-M reads its sections into *out (a host build only checks that it
 * compiles) and refuses soft-float helpers among its undefined symbols
 * (SPARSE_EUNSUPPORTED naming them). A tool that is missing is
 * SPARSE_ENOTFOUND naming the Debian package; a failing one SPARSE_EIO
 * with its output. */
SPARSE_API int sparse_exp_export_build(const char *dir, const char *prefix, const sparse_exp_toolchain *tc,
                                       sparse_exp_build_result *out);

/* What running an exported model on images showed. */
typedef struct sparse_exp_verify_result {
    unsigned version; /* SPARSE_EXP_VERIFY_RESULT_VERSION, set by the caller */
    size_t images;
    size_t logit_mismatches; /* images whose int8 logits differ from sparse_qnet_predict's */
    size_t label_mismatches; /* images whose label differs */
    double accuracy;         /* the exported model's, against the images' labels */
    double host_accuracy;    /* sparse_qnet_predict's, same images */
    double instructions;     /* per inference, mean (Cortex-M4 under qemu -icount; 0 on a host) */
    double instructions_max;
    uint64_t stack_bytes;          /* deepest stack of one inference (painted stack; 0 on a host) */
    uint64_t model_ram_bytes;      /* the model's .bss + .data + stack_bytes */
    uint64_t firmware_bss_bytes;   /* .bss and .data of the rest of the test firmware */
    uint64_t firmware_data_bytes;  /* (newlib, the image buffer), not the model's */
    sparse_exp_build_result model; /* the model object's sections */
} sparse_exp_verify_result;
#define SPARSE_EXP_VERIFY_RESULT_VERSION 1
#define SPARSE_EXP_VERIFY_RESULT_INIT                                                                        \
    {                                                                                                        \
        SPARSE_EXP_VERIFY_RESULT_VERSION, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0,                           \
            SPARSE_EXP_BUILD_RESULT_INIT                                                                     \
    }

/* Builds the example firmware (examples/deploy: startup, linker script,
 * main, as the library embeds them) around dir/PREFIX.c for tc's target,
 * runs it on the first n images of `images` (n = 0: all), quantised by
 * sparse_qnet_quantize_input, and compares every image's logits with
 * sparse_qnet_predict's. Targets: the host (the system's cc, run directly)
 * and the Cortex-M4 (qemu-system-arm -M mps2-an386 -nographic
 * -semihosting-config enable=on,target=native -icount shift=0), which also
 * measures instructions, stack and RAM. q must be the network dir/PREFIX.c
 * was exported from. Mismatches are reported in *out, not as an error. */
SPARSE_API int sparse_exp_export_verify(sparse_qnet *q, const char *dir, const char *prefix,
                                        const sparse_exp_toolchain *tc, const sparse_dataset *images,
                                        size_t n, sparse_exp_verify_result *out);
/* The same for a model exported with input downsampling as acquisition,
 * whose input is node input_node's output (PREFIX_INPUT_NODE of its
 * header): the firmware is given that node's int8 output of each image, as
 * sparse_qnet_predict computes it. input_node 0 is sparse_exp_export_verify. */
SPARSE_API int sparse_exp_export_verify_from(sparse_qnet *q, const char *dir, const char *prefix,
                                             const sparse_exp_toolchain *tc, const sparse_dataset *images,
                                             size_t n, size_t input_node, sparse_exp_verify_result *out);

/* ---- Surrogate hyper-parameter schedule ---- */

/* Memoised hyper-parameter fits for MOBO drivers rebuilt from growing
 * prefixes of one sequence of observations (a search builds one driver per
 * proposal). A driver given a schedule uses, with n observations, the
 * hyper-parameters fitted on its first sparse_exp_gp_schedule_point(n)
 * observations: every count up to 32, then points about 1.25x apart. A fit
 * past 32 starts from the previous point's fit (one start, at most 30 BFGS
 * iterations) on at most 256 of the observations. The schedule also keeps
 * each objective's GP between drivers, as a chain: the factor of the
 * observations up to an anchor (the schedule point, or the last multiple
 * of 128 observations if later; past 1536 observations a subset of 1408
 * of them, the latest half and the older ones evenly spaced, standardised
 * over them), then one row per later observation, so a driver appends a
 * row instead of factorising. A driver borrows the chains and gives them
 * back when freed (or given another schedule): free drivers before their
 * schedule. The fits and chains depend only on the observations and seed:
 * a schedule that lacks them (after a resume) fits and builds them again
 * and proposes what one that kept them would. One schedule serves one
 * thread at a time. */
typedef struct sparse_exp_gp_schedule sparse_exp_gp_schedule;
SPARSE_API int sparse_exp_gp_schedule_create(sparse_exp_gp_schedule **out, uint64_t seed);
SPARSE_API void sparse_exp_gp_schedule_free(sparse_exp_gp_schedule *s);
/* The schedule point of n observations (the last point <= n). */
SPARSE_API size_t sparse_exp_gp_schedule_point(size_t n);
/* Makes m use schedule s (borrowed; it must outlive m's use of it; NULL:
 * back to refitting every refit_every observations). */
SPARSE_API int sparse_exp_mobo_set_schedule(sparse_mobo *m, sparse_exp_gp_schedule *s);

/* ---- Search executors ----
 *
 * Who trains a search's trials. By default sparse_search_run trains them in
 * threads of the calling process (the config's workers); an executor trains
 * them elsewhere, e.g. on other MPI ranks (sparsenas-mpi, docs/mpi.md). The
 * search loop stays where it was: it proposes each trial, hands it to the
 * executor as an opaque task, and records what comes back, in trial order,
 * and writes the weights into the run directory. Trial t is proposed from
 * trials 0..t-1-2(W-1) as with W threaded workers, so with the same seed and
 * threads per worker the records are those of a threaded run with
 * `workers: W` (timings aside). The options' on_progress hears of no batch
 * (the training runs elsewhere); on_trial hears of every record as usual.
 *
 * On the worker's side, a trainer opens the data from the same config and
 * turns a task into a result (sparse_exp_trainer_run). Tasks and results
 * are bytes in the host's layout: every process of a run must be the same
 * build on the same kind of machine. */

/* One trial for the executor to train (borrowed, valid during start). */
typedef struct sparse_exp_trial_job {
    size_t trial;               /* the trial's id */
    const void *task;           /* what to train: the bytes sparse_exp_trainer_run takes */
    size_t task_len;
    const char *parent_weights; /* the reference trial's weights file in the run directory,
                                   to read and send with the task; NULL: none */
} sparse_exp_trial_job;

typedef struct sparse_exp_executor {
    unsigned version; /* SPARSE_EXP_EXECUTOR_VERSION */
    size_t workers;   /* trials trained at once (>= 1); replaces the config's workers */
    void *user;
    /* Starts training job->trial; never more than `workers` are in
     * flight. Non-zero (a SPARSE_E* code) stops the search with it. */
    int (*start)(void *user, const sparse_exp_trial_job *job);
    /* Waits until a started trial finishes and gives its id, the bytes its
     * trainer's sparse_exp_trainer_run gave and the weights file it wrote
     * (empty if none). The bytes are borrowed until the next call of wait
     * or the end of the search. Non-zero stops the search at once: nothing
     * in flight is recorded (a resume trains it again). */
    int (*wait)(void *user, size_t *trial, const void **result, size_t *result_len, const void **weights,
                size_t *weights_len);
} sparse_exp_executor;
#define SPARSE_EXP_EXECUTOR_VERSION 1

/* sparse_search_run and sparse_search_resume with trials trained by ex (the
 * run's config.yaml records ex->workers as its workers, so a threaded
 * resume with the same threads per worker continues the same run). */
SPARSE_API int sparse_exp_search_run(const sparse_search_config *cfg, const char *out_dir,
                                     const sparse_search_options *opts, const sparse_exp_executor *ex);
SPARSE_API int sparse_exp_search_resume(const char *dir, const sparse_search_options *opts,
                                        const sparse_exp_executor *ex);

/* A worker's side: the data of cfg (borrowed: it must outlive the trainer),
 * opened once, as sparse_search_run would open it with opts (NULL: the
 * defaults): its data_override and seed apply. Like each of `workers`
 * threaded workers, the process then computes with
 * (opts->threads, else the config's threads) / workers threads, at least 1
 * (sparse_set_thread_count): the same threads per worker, the same records. */
typedef struct sparse_exp_trainer sparse_exp_trainer;
SPARSE_API int sparse_exp_trainer_create(sparse_exp_trainer **out, const sparse_search_config *cfg,
                                         const sparse_search_options *opts, size_t workers);
SPARSE_API void sparse_exp_trainer_free(sparse_exp_trainer *tr);
/* Trains the trial of task (from a sparse_exp_trial_job), its reference's
 * weights read from parent_weights (a local copy of the job's file; NULL
 * when the job had none), and writes its trained weights to weights_out
 * (removed when the trial gives none). *result (released with sparse_free)
 * is what the executor's wait hands back. A failure of the candidate is a
 * result, not an error; SPARSE_EFORMAT for a task that does not read,
 * SPARSE_EINVAL for one made with other data (shape or image counts). */
SPARSE_API int sparse_exp_trainer_run(sparse_exp_trainer *tr, const void *task, size_t task_len,
                                      const char *parent_weights, const char *weights_out, void **result,
                                      size_t *result_len);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_EXPERIMENTAL_H */
