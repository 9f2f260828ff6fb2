/*
 * libsparse pruning: Sparse Variational Dropout (SpVD, unstructured) and
 * Bayesian Compression (BC, structured), as used by SpArSe (Fedorov et al.
 * 2019, Appendix A), with the schedule parameters of its Table 5, and the
 * compaction of a pruned network into a smaller one.
 *
 * The flow: sparse_prune_run puts every conv, depthwise and FC node of a
 * network in a variational mode (sparse/experimental.h), trains it with the
 * loss  mean cross-entropy + beta * KL / N_train, where beta is 0 for
 * zero_epochs epochs, then rises linearly to kl_weight over anneal_epochs,
 * then prunes (SpVD: weights whose log alpha reaches the threshold; BC:
 * groups, i.e. conv output channels and FC input neurons, whose log alpha
 * reaches the threshold), compacts, and fine-tunes the compacted network.
 *
 * Compaction (sparse_prune_compact) removes every channel that is
 * identically zero or read by nobody, and shrinks the layers that read it:
 *  - channels are shared by everything a ReLU, a pool, a depthwise
 *    convolution or a sum joins, so a channel of a residual sum is removed
 *    only when every summand's channel is zero (the intersection) or when
 *    nothing reads the sum's channel;
 *  - a concatenation drops the slices of the channels removed in its
 *    inputs; a branch keeps a channel if any of its readers needs it;
 *  - a batch norm turns a zero channel into a constant, so channels that
 *    pass a batch norm are only removed when nothing reads them;
 *  - the network input and the logits keep every channel.
 * Weights that are zero but not part of a removed channel stay, held at
 * zero by a mask (sparse_net_set_mask), so the compacted network computes
 * the same function as the pruned one (up to float rounding). The
 * compacted network is a plain network (no variational nodes).
 */
#ifndef SPARSE_PRUNE_H
#define SPARSE_PRUNE_H

#include "sparse/core.h"
#include "sparse/data.h"
#include "sparse/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sparse_prune_options {
    unsigned version;       /* SPARSE_PRUNE_OPTIONS_VERSION */
    int method;             /* sparse_prune_method (sparse/layers.h), default SpVD */
    double spvd_threshold;  /* log alpha at or above which a weight is pruned, default 3 */
    double bc_threshold;    /* log alpha at or above which a group is pruned, default -1 */
    double kl_weight;       /* final KL coefficient (Table 5 alpha, in (0, 1] there), default 1 */
    int zero_epochs;        /* epochs with beta = 0 (Table 5: 5..30), default 0 */
    int anneal_epochs;      /* epochs of the linear ramp to kl_weight (Table 5: 15..25), default 15 */
    int finetune_epochs;    /* plain training of the compacted network, default 0 */
    uint64_t seed;          /* posterior initialisation and noise, default 0 */
    /* Version 2: */
    double finetune_lr_scale; /* fine-tuning runs at this times the training options' learning
                                 rate, in (0, 1e3]; default 1 (the measured LeNet-5 recipe of
                                 docs/pruning.md uses 0.3) */
    /* Version 3: */
    int noise; /* sparse_prune_noise: how training draws the posterior's noise, default
                  SPARSE_PRUNE_NOISE_ACTIVATION */
} sparse_prune_options;

/* Version 1 callers (no finetune_lr_scale) and version 2 ones (no noise)
 * are still accepted. */
#define SPARSE_PRUNE_OPTIONS_VERSION 3
#define SPARSE_PRUNE_OPTIONS_INIT \
    {SPARSE_PRUNE_OPTIONS_VERSION, SPARSE_PRUNE_SPVD, 3.0, -1.0, 1.0, 0, 15, 0, 0, 1.0, SPARSE_PRUNE_NOISE_ACTIVATION}
SPARSE_API int sparse_prune_options_init(sparse_prune_options *opts, unsigned version);
/* SPARSE_ERANGE (naming the field) for negative epochs, a threshold that is
 * not finite, a KL weight that is not finite or negative, an unknown method. */
SPARSE_API int sparse_prune_options_check(const sparse_prune_options *opts);

/* The KL coefficient beta at a fractional epoch t (epochs done + batch /
 * batches): 0 before zero_epochs, then kl_weight * min(1, (t - zero_epochs)
 * / anneal_epochs). NaN if opts is NULL. */
SPARSE_API double sparse_prune_kl_coef(const sparse_prune_options *opts, double epoch);

/* Puts every conv, depthwise and FC node of net in the method's mode
 * (SPARSE_PRUNE_NONE: back to plain) with the method's threshold, seeding
 * the posterior parameters and the noise from opts->seed, drawing the
 * noise as opts->noise says. */
SPARSE_API int sparse_prune_attach(sparse_net *net, const sparse_prune_options *opts);
/* Sum of the KL terms of every variational node of net (unscaled), and, if
 * add_grad_scale is not 0, adds add_grad_scale * d KL / d parameter to the
 * parameter gradients. */
SPARSE_API int sparse_prune_kl(sparse_net *net, double add_grad_scale, double *kl);

/* What pruning kept of one weight node. */
typedef struct sparse_prune_layer {
    unsigned version;       /* SPARSE_PRUNE_LAYER_VERSION, set by the caller */
    const char *name;       /* node name, valid while the result lives */
    int kind;               /* sparse_layer_kind of the node */
    size_t channels_kept;   /* output channels (FC: units) in the compacted network */
    size_t channels_total;  /* before pruning */
    size_t weights_kept;    /* non-zero weights and biases after pruning */
    size_t weights_total;   /* weights and biases before pruning */
} sparse_prune_layer;
#define SPARSE_PRUNE_LAYER_VERSION 1
#define SPARSE_PRUNE_LAYER_INIT {SPARSE_PRUNE_LAYER_VERSION, NULL, 0, 0, 0, 0, 0}

/* Outcome of pruning: the compacted network and per-layer counts. */
typedef struct sparse_prune_result sparse_prune_result;
SPARSE_API void sparse_prune_result_free(sparse_prune_result *res);
/* The compacted network (borrowed; valid while res lives). */
SPARSE_API sparse_net *sparse_prune_result_net(const sparse_prune_result *res);
/* The compacted architecture (borrowed). */
SPARSE_API const sparse_arch *sparse_prune_result_arch(const sparse_prune_result *res);
/* Non-zero weights and biases of the compacted network, and the weights
 * and biases of the network before pruning. */
SPARSE_API size_t sparse_prune_result_nonzero_count(const sparse_prune_result *res);
SPARSE_API size_t sparse_prune_result_weight_count(const sparse_prune_result *res);
SPARSE_API size_t sparse_prune_result_layer_count(const sparse_prune_result *res);
SPARSE_API int sparse_prune_result_layer(const sparse_prune_result *res, size_t i, sparse_prune_layer *out);
/* What training measured: phase 0 the variational phase, 1 fine-tuning
 * (zeros when a phase did not run). out->version must be set. */
SPARSE_API int sparse_prune_result_training(const sparse_prune_result *res, int phase,
                                            sparse_train_result *out);
/* Takes the compacted network out of res (res keeps its counts);
 * *out owned by the caller. */
SPARSE_API int sparse_prune_result_take_net(sparse_net **out, sparse_prune_result *res);

/* Compacts net as it evaluates (variational nodes: the pruned posterior
 * means; plain nodes: their parameters) into a new plain network built for
 * max_batch images (0 = net's). SPARSE_EEMPTY, naming the layer, when a
 * layer would keep no channel at all. *out owned by the caller. */
SPARSE_API int sparse_prune_compact(sparse_prune_result **out, sparse_net *net, size_t max_batch);

/* Train -> prune -> fine-tune. net is trained in place in the method's
 * variational mode for topts->epochs epochs (so its posterior state can be
 * saved with sparse_net_save and inherited later), then compacted; the
 * compacted network is fine-tuned for popts->finetune_epochs epochs with
 * topts' settings. SPARSE_PRUNE_NONE only trains and compacts (keeping
 * every channel). popts NULL = defaults; topts NULL = layers defaults.
 * *out owned by the caller; on failure *out is NULL and net holds the
 * weights of the last finite step. */
SPARSE_API int sparse_prune_run(sparse_prune_result **out, sparse_net *net, const sparse_dataset *train,
                                const sparse_train_options *topts, const sparse_prune_options *popts);

/* Loads a network saved (sparse_net_save) in a variational mode: builds it
 * from the file's architecture for max_batch images, attaches popts'
 * method and reads every parameter, posterior ones included.
 * *out owned by the caller. */
SPARSE_API int sparse_prune_load(sparse_net **out, const char *path, size_t max_batch,
                                 const sparse_prune_options *popts);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_PRUNE_H */
