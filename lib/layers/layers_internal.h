/*
 * Internals of the layers module. Activations and their gradients are kept
 * as (C, H, W, N): the N images of one pixel of one channel are
 * contiguous, so every kernel vectorises across the batch (a convolution
 * tile is a few channels times a few vectors of images, pooling and
 * elementwise passes read whole vectors), a channel is one contiguous run
 * for batch norm, and an FC layer reads its input as the (F x N) matrix it
 * is. Only the public API converts to and from (N, C, H, W).
 *
 * This header must not include GSL headers: files including it include
 * blis.h (both declare the CBLAS enums).
 */
#ifndef SPARSE_LAYERS_INTERNAL_H
#define SPARSE_LAYERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"
#include "kern.h"
#include "sparse/experimental.h"
#include "sparse/layers.h"

typedef struct sparse__param {
    char *name;
    sparse_tensor *value; /* contiguous, PyTorch layout */
    sparse_tensor *grad;
    float *w, *g;         /* data of value and grad */
    size_t n;
    int trainable;
    int decay;            /* weight decay applies (conv/FC weights only) */
    float *m, *v;         /* optimiser state (allocated with the net) */
    float *mask;          /* NULL or 0/1 per element */
    int ndim;
    size_t shape[4];
    int posterior;        /* variational parameter (log_sigma2, z_*): not a weight */
    float lr_scale;       /* multiplies the learning rate; 0 (zero-initialised) means 1 */
} sparse__param;

typedef struct sparse__node {
    int kind;
    char *name;
    size_t layer;         /* architecture layer index (SIZE_MAX for the input) */
    size_t n_in;
    size_t in[SPARSE_LAYER_MAX_INPUTS];
    size_t c, h, w;       /* per-image output shape */
    size_t sz;            /* c*h*w */
    /* geometry */
    size_t k, stride, pt, pl, pb, pr, groups, depth_rate;
    int merge, bias;
    sparse__param *params;
    size_t n_params;
    float *out, *dout;    /* (C, H, W, N), up to max_batch images */
    float *aux;           /* conv: cached im2col matrix (or NULL) */
    float *wpk;           /* direct conv: weights packed for the kernel, then the flipped ones */
    float *ch1, *ch2;     /* BN: per-channel batch mean and 1/std */
    int32_t *idx;         /* max pools: flat input index of each output's max */
    int need_dx;          /* backward must produce the input gradient */
    int wants_grad;       /* backward: the node or one it reads needs this node's output gradient */
    size_t readers;       /* nodes that read this one's output */
    size_t fused;         /* last pass: nodes in the fused group starting here (0: none) */
    size_t fuse_first;    /* last pass: first node of the fused group this one is in (SIZE_MAX: none) */
    int stale;            /* last pass: output not written (inside a fused group) */
    int dout_ready;       /* backward: dout already holds a gradient this pass */
    sparse_exp_node_fn hook_fwd, hook_bwd;
    void *hook_user;
    struct sparse__var *var; /* variational mode (variational.c), owned; NULL = plain */
} sparse__node;

struct sparse_arch {
    char *name;
    char *source;         /* file name for messages, or NULL */
    size_t c, h, w, classes;
    struct sparse__arch_layer *layers;
    size_t n, cap;
};

typedef struct sparse__arch_layer {
    sparse_layer_spec s;  /* strings point at the owned copies below */
    char *name;
    char *inputs[SPARSE_LAYER_MAX_INPUTS];
    size_t line, col;     /* where in the YAML it came from (0: built in code) */
} sparse__arch_layer;

struct sparse_net {
    sparse_arch *arch;
    char load_note[320];  /* what the last sparse_net_load let pass (sparse_net_load_note) */
    float in_mean, in_std; /* input normalisation (sparse_net_input_normalization); in_std 0: none */
    size_t max_batch;
    size_t classes;
    sparse__node *nodes;
    size_t n_nodes;
    sparse__kern kern;    /* vector kernels for this CPU */
    size_t batch;         /* images in the last forward pass */
    int train;            /* mode of the last forward pass */
    int forward_done;
    float *work;          /* shared scratch: im2col, FC gather, ... */
    size_t work_n;
    float *probs;         /* softmax of the logits, (classes, N) */
    float *xin_grad;      /* (N, C, H, W) gradient w.r.t. the input; training's shifted images */
    const float **img;    /* max_batch image pointers, for loading a batch */
    uint64_t step;        /* optimiser steps taken */
    int want_input_grad;  /* compute the gradient w.r.t. the input image */
    size_t conv_budget;   /* im2col chunk size in floats (0 = default) */
    int threads;          /* OpenMP threads for the non-GEMM loops of this pass */
    int prof;             /* profiling counters enabled */
    sparse_exp_profile pr;
    double *node_s;       /* profiling: forward, backward seconds per node (2 per node) */
    sparse_exp_loss_fn extra_loss;
    void *extra_user;
};

/* kinds.c: one entry per sparse_layer_kind. */
typedef void (*sparse__kernel_fn)(sparse_net *net, sparse__node *nd);
typedef struct sparse__kind_info {
    const char *name; /* as in YAML */
    int arch_only;    /* expands into other nodes, never a node itself */
    int has_weights;  /* nodes carry "weight" (and "bias"): pruned, batch norm folds into them */
    int conv;         /* a layer spec's filters, kernel, stride, padding and bias apply */
    sparse__kernel_fn forward, backward; /* NULL: no pass (the input, arch-only kinds) */
} sparse__kind_info;
/* NULL for a value that is not a kind. */
const sparse__kind_info *sparse__kind(int kind);

/* graph.c */
/* Builds the node list (names, inputs, shapes, parameters' shapes) from an
 * architecture and checks every shape. Allocates no activation buffers. */
int sparse__plan(const sparse_arch *arch, sparse__node **nodes, size_t *n_nodes);
void sparse__free_nodes(sparse__node *nodes, size_t n);
/* "file:line: layer 'x' (kind)" context for messages. */
int sparse__layer_error(const sparse_arch *arch, size_t layer, int code, const char *fmt, ...)
    SPARSE__PRINTF(4, 5);
/* Frees what a parameter owns (not the struct). */
void sparse__param_free(sparse__param *p);
sparse__param *sparse__find_param(sparse__node *nd, const char *name);

/* arch.c */
int sparse__arch_add(sparse_arch *a, const sparse_layer_spec *s, size_t line, size_t col);
const char *sparse__arch_layer_label(const sparse_arch *a, size_t i, char *buf, size_t cap);

/* kernels: forward returns nothing (shapes validated), backward accumulates
 * into the inputs' dout. */
void sparse__conv_forward(sparse_net *net, sparse__node *nd);
void sparse__conv_backward(sparse_net *net, sparse__node *nd);
size_t sparse__conv_work(const sparse__node *nd, const sparse__node *in, size_t max_batch);
size_t sparse__conv_cache(const sparse__node *nd, const sparse__node *in, size_t max_batch);
/* 1 if the node runs the direct kernels (conv.c has the rule); floats of
 * its packed weights. */
int sparse__conv_is_direct(const sparse__node *nd);
size_t sparse__conv_packed(const sparse__node *nd);
void sparse__dwconv_forward(sparse_net *net, sparse__node *nd);
void sparse__dwconv_backward(sparse_net *net, sparse__node *nd);
void sparse__fc_forward(sparse_net *net, sparse__node *nd);
void sparse__fc_backward(sparse_net *net, sparse__node *nd);
/* The layers' raw passes on given buffers (the variational passes): y =
 * op(x, w) + bias (NULL: none); gw overwritten (NULL: skipped), dx written
 * or, with dx_acc, accumulated (NULL: skipped). Conv and depthwise nodes
 * (conv.c), FC nodes (fc.c). sparse__bias_grad: g[c] = the sum of dy's
 * channel c over positions and images (conv and FC layouts alike). */
void sparse__conv_apply(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *bias, float *y);
void sparse__conv_grad(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *dy, float *gw,
                       float *dx, int dx_acc);
void sparse__fc_apply(sparse_net *net, const sparse__node *nd, const float *x, const float *w, const float *bias,
                      float *y);
void sparse__fc_grad(sparse_net *net, const sparse__node *nd, const float *x, const float *w, const float *dy,
                     float *gw, float *dx, int dx_acc);
void sparse__bias_grad(const sparse_net *net, const sparse__node *nd, const float *dy, float *g);
void sparse__pool_forward(sparse_net *net, sparse__node *nd);
void sparse__pool_backward(sparse_net *net, sparse__node *nd);
void sparse__bn_forward(sparse_net *net, sparse__node *nd);
void sparse__bn_backward(sparse_net *net, sparse__node *nd);
/* Channel c of a batch norm whose input channel is x: its statistics into
 * ch1, ch2 (and, training, the running ones); its parameter gradients from
 * its dout and dx (= or +=, NULL: skipped). */
void sparse__bn_channel_stats(sparse_net *net, sparse__node *nd, size_t c, const float *x);
void sparse__bn_channel_backward(sparse_net *net, sparse__node *nd, size_t c, const float *x, float *dx, int acc);
/* fused.c: nodes in the fused group starting at node i (below 2: none),
 * and the group's passes. */
size_t sparse__fused_len(const sparse_net *net, size_t i);
void sparse__fused_forward(sparse_net *net, size_t i, size_t len);
void sparse__fused_backward(sparse_net *net, size_t i, size_t len);
void sparse__relu_forward(sparse_net *net, sparse__node *nd);
void sparse__relu_backward(sparse_net *net, sparse__node *nd);
void sparse__merge_forward(sparse_net *net, sparse__node *nd);
void sparse__merge_backward(sparse_net *net, sparse__node *nd);
/* variational.c */
void sparse__var_free(struct sparse__var *v);
/* loss.c: softmax cross-entropy of the last node; fills its dout. */
int sparse__loss(sparse_net *net, const int32_t *labels, float smoothing, double *loss);

/* Batch norm's epsilon (PyTorch's default): in the normalisation (bn.c) and
 * in the folded weights (inherit.c) that export and int8 deployment use. */
#define SPARSE__BN_EPS 1e-5

/* Threads to use for a loop of `work` element operations (multiply-adds for
 * the convolution kernels). A parallel region costs the team's wake-up and
 * barrier (tens of microseconds on a VM), as much as a whole training step
 * of a few-KB network, so smaller loops run on one thread. Measured with
 * sparsenas train on 2 threads: at 32,768 a search-sized network trained
 * 3.8x slower than on 1 thread (docs/training.md). */
#ifndef SPARSE__OMP_MT_WORK
#define SPARSE__OMP_MT_WORK 1048576
#endif
#define SPARSE__NT(net, work) ((work) >= SPARSE__OMP_MT_WORK ? (net)->threads : 1)

/* Backward passes write an input's gradient (=) when they are its first
 * consumer and add to it (+=) after that, so no buffer is cleared first.
 * sparse__dx_accumulate returns 1 for +=, 0 for = (and marks the buffer
 * written); kernels that scatter call sparse__dx_zero instead. */
int sparse__dx_accumulate(sparse_net *net, sparse__node *in);
void sparse__dx_zero(sparse_net *net, sparse__node *in);

/* Zeroed floats on a cache line boundary (so that whole vectors of a
 * channel's images do not straddle lines), released with free(); NULL
 * with the error set when out of memory. */
#define SPARSE__ALIGN 64
float *sparse__alloc_floats(size_t n);

/* Monotonic seconds (profiling and images/s). */
double sparse__now(void);

/* net.c */
/* One forward pass of the n images in the input node; fuse: run fused
 * groups (no intermediate outputs; sparse__net_backward_raw follows the
 * same plan). */
int sparse__net_forward_raw(sparse_net *net, size_t n, int train, int fuse);
int sparse__net_backward_raw(sparse_net *net);
/* Copies n (C, H, W) images of f floats each into dst as (C, H, W, n). */
void sparse__images_in(float *dst, const float *const *img, size_t n, size_t f);
/* Copies (N, C, H, W) images into the input node. */
void sparse__net_set_input(sparse_net *net, const float *x, size_t n);

/* experimental.c */
/* Stops keeping im2col matrices between the forward and backward passes
 * (they are rebuilt in chunks, as for layers too wide to keep them) and
 * caps a chunk at chunk_floats (0 = default, 1M floats): the chunked path
 * on small networks, for tests. */
int sparse__net_limit_conv_memory(sparse_net *net, size_t chunk_floats);

#endif
