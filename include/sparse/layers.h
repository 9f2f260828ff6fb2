/*
 * libsparse layers: architecture descriptions (sparse_arch), networks built
 * from them (sparse_net, a graph of nodes), training, evaluation and
 * safetensors weight files.
 *
 * An architecture is an ordered list of layers. Each layer reads the output
 * of the layer before it unless it names its inputs, so branches, merges and
 * residual connections are expressed by naming. Some architecture layers
 * expand into several network nodes, because each half materialises its own
 * tensor (docs/design.md section 8): a downsampled convolution becomes
 * "<name>/reduce" (1x1) then "<name>"; a separable convolution becomes
 * "<name>/dw" (depthwise) then "<name>" (pointwise); a residual connection
 * whose shapes differ becomes "<name>/proj" (1x1 projection) then "<name>"
 * (sum). Node 0 is always the input ("input"); the last node gives the
 * logits fed to softmax cross-entropy. The YAML schema is documented in
 * docs/network-format.md.
 *
 * Tensors seen through this API use the (N, C, H, W) convention of PyTorch;
 * parameters use PyTorch's layouts (conv weight (Cout, Cin/groups, kh, kw),
 * FC weight (out, in) with inputs flattened in C, H, W order), so weights
 * move between the two engines unchanged.
 */
#ifndef SPARSE_LAYERS_H
#define SPARSE_LAYERS_H

#include "sparse/core.h"
#include "sparse/data.h"
#include "sparse/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Layer kinds ---- */

/* Kinds of architecture layers and of network nodes. Values are ABI. Kinds
 * marked (arch) only appear in a sparse_arch: they expand into nodes. */
typedef enum sparse_layer_kind {
    SPARSE_LAYER_INPUT = 0,          /* node 0 of every network */
    SPARSE_LAYER_CONV2D = 1,         /* filters, kernel, stride, padding, bias */
    SPARSE_LAYER_DOWNSAMPLED_CONV2D = 2, /* (arch) 1x1 reducing depth by rate, then conv */
    SPARSE_LAYER_SEPARABLE_CONV2D = 3,   /* (arch) depthwise kernel x kernel, then 1x1 */
    SPARSE_LAYER_DEPTHWISE_CONV2D = 4,   /* one kernel per channel */
    SPARSE_LAYER_INPUT_DOWNSAMPLE = 5,   /* max over rate x rate pixels and depth_rate channels */
    SPARSE_LAYER_BATCHNORM = 6,      /* per channel; running statistics for inference */
    SPARSE_LAYER_RELU = 7,
    SPARSE_LAYER_MAXPOOL = 8,        /* size x size window, stride (default size), valid */
    SPARSE_LAYER_AVGPOOL = 9,
    SPARSE_LAYER_FC = 10,            /* fully connected: units; flattens its input */
    SPARSE_LAYER_RESIDUAL = 11,      /* (arch) sum of two inputs, projecting the 2nd if needed */
    SPARSE_LAYER_MERGE = 12,         /* sum or concatenation (along channels) of >= 2 inputs */
    SPARSE_LAYER_KIND_COUNT_ = 13
} sparse_layer_kind;

typedef enum sparse_padding {
    SPARSE_PAD_VALID = 0,
    SPARSE_PAD_SAME = 1 /* output ceil(in / stride); extra padding goes right/bottom */
} sparse_padding;

typedef enum sparse_merge_mode {
    SPARSE_MERGE_SUM = 0,
    SPARSE_MERGE_CONCAT = 1
} sparse_merge_mode;

/* Static lower-case name of a kind as used in YAML ("conv2d", "fc", ...);
 * "unknown" for values out of range. */
SPARSE_API const char *sparse_layer_kind_name(int kind);
/* 1 for the kinds of network nodes that carry a "weight" tensor (and an
 * optional "bias"): conv2d, depthwise_conv2d and fc, the nodes pruning works
 * on and batch norm folds into; 0 for every other kind, the (arch) kinds
 * included, and for values out of range. */
SPARSE_API int sparse_layer_kind_has_weights(int kind);

/* How the weights of those nodes are pruned: the one list of pruning
 * methods. sparse/prune.h runs them; the variational nodes that implement
 * them belong to this module (sparse/experimental.h). Values are ABI. */
typedef enum sparse_prune_method {
    SPARSE_PRUNE_NONE = 0, /* plain weights, nothing pruned */
    SPARSE_PRUNE_SPVD = 1, /* Sparse Variational Dropout: single weights (unstructured) */
    SPARSE_PRUNE_BC = 2    /* Bayesian Compression: conv output channels, FC input neurons */
} sparse_prune_method;

/* How a training pass samples the weights' posterior N(theta, sigma^2)
 * (docs/pruning.md, "Noise"); evaluation never samples. Values are ABI. */
typedef enum sparse_prune_noise {
    /* The local reparameterisation trick (Kingma et al. 2015, as SpVD's
     * paper trains): each output activation gets its own draw, from a
     * second product op(x^2, sigma^2); lowest-variance gradients, about
     * twice a plain step's cost. */
    SPARSE_PRUNE_NOISE_ACTIVATION = 0,
    /* One draw of every weight per batch, shared by the batch's images: a
     * plain step's products on theta + sigma e, so a step costs little more
     * than a plain one; noisier gradients of log_sigma2. */
    SPARSE_PRUNE_NOISE_WEIGHT = 1
} sparse_prune_noise;

/* ---- Architecture descriptions ---- */

typedef struct sparse_arch sparse_arch;

#define SPARSE_LAYER_MAX_INPUTS 8

/* One layer of an architecture. Fields that do not apply to the kind are
 * ignored (and not serialised). Strings are borrowed by
 * sparse_arch_add_layer (copied) and, when returned by sparse_arch_layer,
 * point into the architecture (valid until it is changed or freed). */
typedef struct sparse_layer_spec {
    unsigned version;        /* SPARSE_LAYER_SPEC_VERSION */
    int kind;                /* sparse_layer_kind */
    const char *name;        /* unique; NULL = generated ("conv2d_3") */
    size_t input_count;      /* 0 = the previous layer's output */
    const char *inputs[SPARSE_LAYER_MAX_INPUTS]; /* layer names, or "input" */
    size_t filters;          /* conv kinds: output channels */
    size_t kernel;           /* conv kinds: square kernel side, 1..5 */
    size_t stride;           /* conv and pool kinds; 0 = default (conv 1, pool = size) */
    int padding;             /* conv kinds: sparse_padding */
    int bias;                /* conv and FC: 1 = with bias (default) */
    double rate;             /* downsampled conv: the 1x1 layer keeps
                                max(1, round(rate * in_channels)) channels, 0 < rate <= 1 */
    size_t size;             /* pools: window side; input_downsample: spatial rate */
    size_t depth_rate;       /* input_downsample: channels max-pooled together (1 = none) */
    size_t units;            /* FC: outputs */
    int merge;               /* merge: sparse_merge_mode */
} sparse_layer_spec;

#define SPARSE_LAYER_SPEC_VERSION 1
#define SPARSE_LAYER_SPEC_INIT                                                              \
    {SPARSE_LAYER_SPEC_VERSION, SPARSE_LAYER_CONV2D, NULL, 0, {NULL, NULL, NULL, NULL, NULL, \
     NULL, NULL, NULL}, 0, 3, 0, SPARSE_PAD_SAME, 1, 0.5, 2, 1, 0, SPARSE_MERGE_SUM}
SPARSE_API int sparse_layer_spec_init(sparse_layer_spec *spec, unsigned version);

/* Empty architecture for inputs of shape (channels, height, width) and
 * class_count outputs (the last layer must produce class_count values).
 * *out owned by the caller. */
SPARSE_API int sparse_arch_create(sparse_arch **out, size_t channels, size_t height, size_t width,
                                  size_t class_count);
SPARSE_API void sparse_arch_free(sparse_arch *arch);
/* Deep copy. *out owned by the caller. */
SPARSE_API int sparse_arch_clone(sparse_arch **out, const sparse_arch *arch);

/* Parses an architecture from a YAML file or string. Errors name the file
 * (or `source` for strings; NULL = "<string>"), the line and the layer.
 * Shapes are not checked here: sparse_arch_validate / sparse_net_create do.
 * *out owned by the caller. */
SPARSE_API int sparse_arch_load_yaml(sparse_arch **out, const char *path);
SPARSE_API int sparse_arch_parse_yaml(sparse_arch **out, const char *text, size_t len,
                                      const char *source);
/* Serialises to YAML (readable) or to one-line JSON (for run logs). The JSON
 * is also valid YAML, so sparse_arch_parse_yaml reads both back.
 * *out is a NUL-terminated string owned by the caller, released with sparse_free(). */
SPARSE_API int sparse_arch_to_yaml(char **out, const sparse_arch *arch);
SPARSE_API int sparse_arch_to_json(char **out, const sparse_arch *arch);

/* Architecture-wide properties. */
SPARSE_API int sparse_arch_input_shape(const sparse_arch *arch, size_t *channels, size_t *height,
                                       size_t *width);
SPARSE_API size_t sparse_arch_class_count(const sparse_arch *arch);
SPARSE_API const char *sparse_arch_name(const sparse_arch *arch); /* "" if unnamed */
SPARSE_API int sparse_arch_set_name(sparse_arch *arch, const char *name);

/* Layers: appended, read, replaced, removed by index. The spec passed in may
 * be of any version this library knows; sparse_arch_layer fills *out as
 * the version out->version says (set it, e.g. with SPARSE_LAYER_SPEC_INIT). */
SPARSE_API size_t sparse_arch_layer_count(const sparse_arch *arch);
SPARSE_API int sparse_arch_add_layer(sparse_arch *arch, const sparse_layer_spec *spec);
SPARSE_API int sparse_arch_insert_layer(sparse_arch *arch, size_t index, const sparse_layer_spec *spec);
SPARSE_API int sparse_arch_layer(const sparse_arch *arch, size_t index, sparse_layer_spec *out);
SPARSE_API int sparse_arch_set_layer(sparse_arch *arch, size_t index, const sparse_layer_spec *spec);
SPARSE_API int sparse_arch_remove_layer(sparse_arch *arch, size_t index);
/* Source line of layer index in the YAML it came from (0 if built in code). */
SPARSE_API size_t sparse_arch_layer_line(const sparse_arch *arch, size_t index);

/* Checks names, inputs and every shape without allocating a network:
 * SPARSE_ESHAPE for an empty output, a kernel larger than its input or a
 * merge of incompatible shapes; SPARSE_ENOTFOUND for an unknown input name.
 * The message names the layer (and file:line when parsed from YAML). */
SPARSE_API int sparse_arch_validate(const sparse_arch *arch);

/* ---- Networks ---- */

typedef struct sparse_net sparse_net;

/* Builds a network for up to max_batch images per forward pass (training
 * and evaluation both use it; buffers are allocated once, here). Weights are
 * initialised from seed (He-uniform weights, zero biases, BN gamma 1 beta 0).
 * arch is copied. *out owned by the caller. */
SPARSE_API int sparse_net_create(sparse_net **out, const sparse_arch *arch, size_t max_batch,
                                 uint64_t seed);
SPARSE_API void sparse_net_free(sparse_net *net);
/* Borrowed pointer to the network's copy of its architecture. */
SPARSE_API const sparse_arch *sparse_net_arch(const sparse_net *net);
SPARSE_API size_t sparse_net_max_batch(const sparse_net *net);

/* Introspection. Nodes are numbered 0..count-1 in topological order. */
SPARSE_API size_t sparse_net_node_count(const sparse_net *net);
/* Node id of a name, or SPARSE_ENOTFOUND. */
SPARSE_API int sparse_net_find_node(const sparse_net *net, const char *name, size_t *id);
SPARSE_API int sparse_net_node_kind(const sparse_net *net, size_t id); /* kind, or < 0 */
SPARSE_API const char *sparse_net_node_name(const sparse_net *net, size_t id); /* NULL if bad id */
/* Index of the architecture layer the node came from (node 0: SIZE_MAX). */
SPARSE_API size_t sparse_net_node_layer(const sparse_net *net, size_t id);
SPARSE_API size_t sparse_net_node_input_count(const sparse_net *net, size_t id);
SPARSE_API int sparse_net_node_input(const sparse_net *net, size_t id, size_t k, size_t *input_id);
/* Per-image output shape (C, H, W); FC and merges of FC outputs are (units, 1, 1). */
SPARSE_API int sparse_net_node_shape(const sparse_net *net, size_t id, size_t *c, size_t *h,
                                     size_t *w);

/* Geometry of a node (what a memory planner or an exporter needs). */
typedef struct sparse_node_info {
    unsigned version;   /* SPARSE_NODE_INFO_VERSION */
    int kind;
    size_t in_c, in_h, in_w;    /* first input's shape */
    size_t out_c, out_h, out_w;
    size_t kernel;      /* conv/pool window side (input_downsample: rate) */
    size_t stride;
    size_t pad_top, pad_left, pad_bottom, pad_right;
    size_t groups;      /* conv: 1, depthwise: channels */
    size_t depth_rate;  /* input_downsample */
    int merge;          /* merge: sparse_merge_mode */
    int has_bias;
} sparse_node_info;
#define SPARSE_NODE_INFO_VERSION 1
#define SPARSE_NODE_INFO_INIT {SPARSE_NODE_INFO_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
SPARSE_API int sparse_net_node_info(const sparse_net *net, size_t id, sparse_node_info *info);

/* Parameters: named tensors per node ("weight", "bias"; batch norm "gamma",
 * "beta" and the non-trainable "running_mean", "running_var"). */
SPARSE_API size_t sparse_net_param_count(const sparse_net *net, size_t id);
SPARSE_API const char *sparse_net_param_name(const sparse_net *net, size_t id, size_t k);
/* A view sharing storage with the parameter: writes through it change the
 * network. *out is owned by the caller (sparse_tensor_free) and stays valid
 * after the network is freed. SPARSE_ENOTFOUND if the node has no such
 * parameter. */
SPARSE_API int sparse_net_param(sparse_tensor **out, sparse_net *net, size_t id, const char *name);
/* The gradient of the last backward pass, same rules. */
SPARSE_API int sparse_net_param_grad(sparse_tensor **out, sparse_net *net, size_t id,
                                     const char *name);
/* 1 if the optimiser updates the parameter. */
SPARSE_API int sparse_net_param_trainable(const sparse_net *net, size_t id, size_t k);
/* Fixes a 0/1 mask on a parameter (same shape): masked entries are zeroed
 * now and after every optimiser step, so pruned weights stay pruned. The
 * mask is copied; NULL removes it. */
SPARSE_API int sparse_net_set_mask(sparse_net *net, size_t id, const char *name,
                                   const sparse_tensor *mask);
/* Weights (conv/FC weights and biases, batch norm gamma/beta counted as
 * weights too, before folding; running statistics and variational
 * posterior parameters are not weights) and their non-zero count, summed
 * over nodes. */
SPARSE_API size_t sparse_net_weight_count(const sparse_net *net);
SPARSE_API size_t sparse_net_nonzero_count(const sparse_net *net);

/* Weight inheritance (paper, appendix C): for every node of dst whose name
 * and kind match a node of src, each parameter present in both gets the
 * overlapping slice of src's values (the leading min(d_src, d_dst) indices
 * of every dimension); the rest of dst keeps its fresh initialisation.
 * Optimiser state is not copied. *copied (may be NULL) gets the number of
 * values copied. */
SPARSE_API int sparse_net_inherit(sparse_net *dst, const sparse_net *src, size_t *copied);

/* Batch norm folded into the convolution or FC node that feeds it (for
 * export and int8 deployment, docs/design.md section 8): with
 * s = gamma / sqrt(running_var + 1e-5), weight' = weight * s per output
 * channel and bias' = (bias - running_mean) * s + beta. bn_id must be a
 * batch-norm node whose input is a conv2d, depthwise_conv2d or fc node.
 * Both outputs are new tensors owned by the caller. */
SPARSE_API int sparse_net_fold_batchnorm(sparse_tensor **weight, sparse_tensor **bias, const sparse_net *net,
                                         size_t bn_id);

/* ---- Forward, loss, backward ---- */

/* Forward pass over x (N, C, H, W), N <= max_batch; train = 1 uses batch
 * statistics in batch norm and updates the running ones. Copies the logits
 * (N, classes) into logits if it is not NULL. */
SPARSE_API int sparse_net_forward(sparse_net *net, const sparse_tensor *x, int train,
                                  sparse_tensor *logits);
/* After a forward pass: mean softmax cross-entropy over the batch against
 * labels (with label smoothing eps in [0, 1)), then the backward pass that
 * fills every parameter gradient (overwritten, not accumulated). loss may
 * be NULL. SPARSE_ENUMERIC if the loss is NaN or infinite. */
SPARSE_API int sparse_net_backward(sparse_net *net, const int32_t *labels, float label_smoothing,
                                   double *loss);
/* Gradient of the loss with respect to the input x of the last backward
 * (N, C, H, W): a copy, owned by the caller. */
SPARSE_API int sparse_net_input_grad(sparse_tensor **out, sparse_net *net);
/* Output activations of node id of the last forward pass, (N, C, H, W)
 * copied into a new tensor owned by the caller. SPARSE_EINVAL for a node
 * that training, evaluation or prediction computed inside a fused kernel
 * (a batch norm or ReLU before a pooling): run sparse_net_forward first. */
SPARSE_API int sparse_net_node_output(sparse_tensor **out, sparse_net *net, size_t id);

/* ---- Training ---- */

typedef enum sparse_optimizer {
    SPARSE_OPTIM_ADAM = 0,
    SPARSE_OPTIM_SGD = 1 /* with momentum */
} sparse_optimizer;

typedef enum sparse_lr_schedule {
    SPARSE_LR_CONSTANT = 0,
    SPARSE_LR_STEP = 1,      /* lr * step_gamma every step_epochs epochs */
    SPARSE_LR_COSINE = 2,    /* cosine from lr to 0 over all steps */
    SPARSE_LR_ONE_CYCLE = 3  /* linear warm-up from lr/25 to lr over 30%, cosine to lr/1e4 */
} sparse_lr_schedule;

/* Progress after each batch (epoch and batch count from 0). Return non-zero to stop training
 * (sparse_net_train then returns SPARSE_ECANCELLED, weights kept). */
typedef int (*sparse_progress_fn)(void *user, size_t epoch, size_t batch, size_t batches_per_epoch,
                                  double loss, double images_per_s);

typedef struct sparse_train_options {
    unsigned version;        /* SPARSE_TRAIN_OPTIONS_VERSION */
    size_t epochs;           /* default 10 */
    size_t batch_size;       /* default 64; <= the network's max_batch */
    int optimizer;           /* sparse_optimizer, default Adam */
    double lr;               /* default 1e-3 */
    double momentum;         /* SGD, default 0.9 */
    double beta1, beta2, eps; /* Adam, defaults 0.9, 0.999, 1e-8 */
    double weight_decay;     /* L2 on conv/FC weights (not biases, not BN), default 0 */
    int schedule;            /* sparse_lr_schedule, default cosine */
    size_t step_epochs;      /* step schedule, default 5 */
    double step_gamma;       /* step schedule, default 0.1 */
    float label_smoothing;   /* default 0 */
    uint64_t seed;           /* shuffling; default 0 */
    sparse_progress_fn progress; /* may be NULL */
    void *user;              /* passed to progress */
    /* Version 2: */
    size_t max_shift;        /* each training image moved by a random (dx, dy) in
                                [-max_shift, max_shift]^2 pixels, zero-filled; default 0 (off) */
} sparse_train_options;

/* Version 1 callers (no max_shift) are still accepted. */
#define SPARSE_TRAIN_OPTIONS_VERSION 2
#define SPARSE_TRAIN_OPTIONS_INIT                                                          \
    {SPARSE_TRAIN_OPTIONS_VERSION, 10, 64, SPARSE_OPTIM_ADAM, 1e-3, 0.9, 0.9, 0.999, 1e-8, \
     0.0, SPARSE_LR_COSINE, 5, 0.1, 0.0f, 0, NULL, NULL, 0}
SPARSE_API int sparse_train_options_init(sparse_train_options *opts, unsigned version);

/* What a training run measured. */
typedef struct sparse_train_result {
    unsigned version;          /* SPARSE_TRAIN_RESULT_VERSION, set by the caller */
    size_t epochs_done;
    size_t steps;
    double final_loss;         /* mean training loss of the last epoch */
    double train_images_per_s; /* over the whole run, training steps only */
    double seconds;
} sparse_train_result;
#define SPARSE_TRAIN_RESULT_VERSION 1
#define SPARSE_TRAIN_RESULT_INIT {SPARSE_TRAIN_RESULT_VERSION, 0, 0, 0.0, 0.0, 0.0}

/* Trains net on train (images must match the architecture's input shape,
 * labels < the class count). opts NULL = defaults; result may be NULL.
 * SPARSE_ENUMERIC if the loss turns NaN/Inf (the message gives epoch and
 * batch; the weights are those of the last finite step), SPARSE_ECANCELLED
 * if the progress callback asks to stop. Optimiser state lives in the net
 * and continues across calls. */
SPARSE_API int sparse_net_train(sparse_net *net, const sparse_dataset *train,
                                const sparse_train_options *opts, sparse_train_result *result);
/* Top-1 accuracy in inference mode (batch norm running statistics). */
SPARSE_API int sparse_net_evaluate(sparse_net *net, const sparse_dataset *ds, double *accuracy);
/* Inference of one image: C*H*W floats in (C, H, W) order, as
 * sparse_dataset_image() gives them, through the network in inference mode
 * (the label is the one sparse_net_evaluate counts). logits (may be NULL)
 * receives the class_count float logits, *label (may be NULL) their argmax
 * (the first on ties). Uses the network's buffers, like a forward pass of
 * one image: not for two threads at once. */
SPARSE_API int sparse_net_predict(sparse_net *net, const float *image, float *logits, int *label);

/* ---- Weights files (safetensors) ---- */

/* Writes every parameter as "<node>.<param>" F32 tensors, plus
 * __metadata__ {"format":"libsparse","arch":<architecture JSON>} and the
 * input normalisation when the network has one; the file is replaced
 * atomically. */
SPARSE_API int sparse_net_save(const sparse_net *net, const char *path);
/* Reads parameters into net. Every tensor of the network must be present
 * with its exact shape; names the network does not have are errors unless
 * allow_extra is 1, when they are ignored (a pruned network's variational
 * parameters) and sparse_net_load_note says so. The tensors' data must fill
 * the data section exactly (no bytes between or after them), each name
 * once. Limits: sparse/limits.h (SPARSE_MAX_WEIGHTS_BYTES,
 * SPARSE_MAX_SAFETENSORS_HEADER, SPARSE_MAX_TENSOR_VALUES). */
SPARSE_API int sparse_net_load(sparse_net *net, const char *path, int allow_extra);
/* What the last successful sparse_net_load on net ignored, as one line
 * naming the file ("W: ignored 4 tensors the network does not have
 * (c1.log_sigma2, ...)"), or "" when nothing was. Owned by net, valid until
 * the next sparse_net_load on it. */
SPARSE_API const char *sparse_net_load_note(const sparse_net *net);
/* The input normalisation the network expects, (x - mean) / std on every
 * value of an image (sparse_dataset_normalization of the data it was
 * trained on): sparse_net_save stores it with the weights (__metadata__
 * input_mean, input_std) and sparse_net_load reads it back, so the network
 * is evaluated and exported on inputs prepared as in training. std must be
 * finite and > 0. */
SPARSE_API int sparse_net_set_input_normalization(sparse_net *net, float mean, float std);
/* SPARSE_ENOTFOUND when none is recorded (not set, or weights saved without it). */
SPARSE_API int sparse_net_input_normalization(const sparse_net *net, float *mean, float *std);
/* The architecture stored in a file written by sparse_net_save.
 * *out owned by the caller. */
SPARSE_API int sparse_net_load_arch(sparse_arch **out, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_LAYERS_H */
