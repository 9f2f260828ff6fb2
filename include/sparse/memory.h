/*
 * libsparse memory accounting: the memory figures of a network.
 *
 * Two families of figures, never mixed:
 *
 *  - the paper's objectives (Fedorov et al. 2019, section 3.2): model size
 *    MS = ||w||_0 (eq. 4) and working memory WM_l under model (5)
 *    ||x_l||_0 + ||w_l||_0 or model (6) ||x_l||_0 + ||y_l||_0, WM = max_l WM_l;
 *  - "deploy" figures, BEYOND THE PAPER (every such API name contains
 *    "deploy"): the flash a firmware image needs for the int8 weights in the
 *    cheapest of dense / bitmask / CSR form, and the peak RAM of a
 *    liveness-planned tensor arena including scratch buffers.
 *
 * Everything is counted at int8: one byte per weight and per activation
 * (1 KB = 1024 B). Conventions (docs/memory.md has the details and a worked
 * example): biases are weights; batch norm is folded into the preceding
 * convolution and ReLU runs in place, so neither is a node; every other
 * operation that materialises a tensor (convolution, each half of a separable
 * or downsampled convolution, pooling, input downsampling, FC, merge) is a
 * layer with its own x_l, y_l, w_l. Activations are counted dense (their full
 * element count); weights by their non-zeros. A merge node's x_l is the
 * concatenation of its inputs.
 *
 * The module works on a sparse_memgraph, a description of the network that a
 * caller builds node by node, so it does not depend on how the network is
 * trained or stored. Node ids are assigned 0, 1, 2, ... in insertion order,
 * and a node may only consume nodes added before it; insertion order is also
 * the execution order the arena planner assumes.
 *
 * Typical use:
 *     sparse_memgraph *g;  size_t in, c1;
 *     sparse_memgraph_create(&g);
 *     sparse_memgraph_add_node(g, SPARSE_MEMNODE_INPUT, "input", NULL, 0, 1, 28, 28, &in);
 *     sparse_memgraph_add_node(g, SPARSE_MEMNODE_CONV, "conv1", &in, 1, 8, 28, 28, &c1);
 *     sparse_memgraph_set_kernel(g, c1, 3, 3, 1, 1);
 *     sparse_memgraph_set_params(g, c1, 72, 8, 60, 8);
 *     ...
 *     sparse_memreport *r;
 *     sparse_memreport_create(&r, g, NULL);
 *     sparse_memreport_ms_bytes(r, &ms);
 *     sparse_memreport_free(r);  sparse_memgraph_free(g);
 *
 * Handles are not thread-safe; distinct handles may be used from distinct
 * threads.
 */
#ifndef SPARSE_MEMORY_H
#define SPARSE_MEMORY_H

#include "sparse/core.h"
#include "sparse/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Node kinds. Values are part of the ABI (stored in logs): never renumbered. */
typedef enum sparse_memnode_kind {
    SPARSE_MEMNODE_INPUT = 0,      /* network input; no inputs, not a layer */
    SPARSE_MEMNODE_CONV = 1,       /* regular convolution, kh x kw */
    SPARSE_MEMNODE_DWCONV = 2,     /* depthwise convolution (first half of a separable conv) */
    SPARSE_MEMNODE_PWCONV = 3,     /* 1x1 convolution (second half of a separable conv,
                                      first half of a downsampled conv) */
    SPARSE_MEMNODE_POOL = 4,       /* spatial pooling (max or average) */
    SPARSE_MEMNODE_DOWNSAMPLE = 5, /* input downsampling, spatial or in depth */
    SPARSE_MEMNODE_FC = 6,         /* fully connected; output shape (n, 1, 1) */
    SPARSE_MEMNODE_ADD = 7,        /* merge by element-wise sum; inputs of equal shape */
    SPARSE_MEMNODE_CONCAT = 8,     /* merge by channel concatenation; equal H and W */
    SPARSE_MEMNODE_VIEW = 9        /* aliases its input, not a layer: flatten/reshape, and
                                      the ops that vanish at deployment (ReLU in place,
                                      batch norm folded into the conv before it) */
} sparse_memnode_kind;

/* Static lower-case name of a kind ("conv", "dwconv", ...); "unknown" otherwise. */
SPARSE_API const char *sparse_memnode_kind_name(int kind);

/* ---- Building a memory graph ---- */

typedef struct sparse_memgraph sparse_memgraph;

/* New empty graph. *out is owned by the caller (sparse_memgraph_free). */
SPARSE_API int sparse_memgraph_create(sparse_memgraph **out);
/* Frees g and everything it owns. NULL is a no-op. */
SPARSE_API void sparse_memgraph_free(sparse_memgraph *g);

/*
 * Appends a node and returns its id in *id.
 *  - name: copied; NULL gives "<kind><id>" (e.g. "conv3"). Names should be
 *    unique for readable reports but this is not enforced.
 *  - inputs: ids of earlier nodes (input_count of them; the array is copied).
 *    INPUT takes none; ADD and CONCAT take two or more; every other kind
 *    takes exactly one. An id that is not smaller than the new node's id (a
 *    forward reference, itself, hence any cycle) is SPARSE_ERANGE.
 *  - out_c, out_h, out_w: output shape, each >= 1, at most 2^40 elements.
 *    A graph holds at most 2^20 nodes (SPARSE_ERANGE beyond).
 * Shape checks done here (SPARSE_ESHAPE, naming the node): ADD inputs equal
 * and equal to the output; CONCAT inputs of equal H, W, with out_c their
 * channel sum; VIEW keeps the element count; POOL keeps C and does not grow
 * H, W; DOWNSAMPLE does not grow any dimension; DWCONV's out_c is a multiple
 * of its in_c; FC has out_h == out_w == 1.
 * New nodes have no weights, a 1x1 kernel with stride 1, and run out of place.
 * On failure the graph is unchanged and *id is left untouched.
 */
SPARSE_API int sparse_memgraph_add_node(sparse_memgraph *g, int kind, const char *name,
                                        const size_t *inputs, size_t input_count, uint64_t out_c,
                                        uint64_t out_h, uint64_t out_w, size_t *id);

/*
 * Weight and bias counts of a CONV, DWCONV, PWCONV or FC node: dense counts
 * and the non-zeros left after pruning (nz_weights <= weights,
 * nz_biases <= biases). Other kinds have none (SPARSE_EINVAL). Consistency
 * with the shapes is checked by sparse_memreport_create(): weights must be
 * out_c*in_c*kh*kw (CONV), out_c*kh*kw (DWCONV), out_c*in_c (PWCONV) or
 * out_c*in_c*in_h*in_w (FC), and biases 0 or out_c.
 */
SPARSE_API int sparse_memgraph_set_params(sparse_memgraph *g, size_t id, uint64_t weights,
                                          uint64_t biases, uint64_t nz_weights,
                                          uint64_t nz_biases);

/* Kernel and stride (each >= 1) of a CONV, DWCONV, PWCONV (1x1 only), POOL or
 * DOWNSAMPLE node; they size the scratch buffer and check the weight count. */
SPARSE_API int sparse_memgraph_set_kernel(sparse_memgraph *g, size_t id, uint32_t kh, uint32_t kw,
                                          uint32_t stride_h, uint32_t stride_w);

/* Marks a node as writing its output over its first input's buffer (e.g. a
 * sum into one of its operands). Only the deploy arena is affected; the
 * paper's WM figures are not. sparse_memreport_create() checks that the node
 * is the last reader of that buffer and that the output is not larger than
 * the input. Not allowed for INPUT, VIEW and CONCAT (SPARSE_EINVAL). */
SPARSE_API int sparse_memgraph_set_in_place(sparse_memgraph *g, size_t id, int in_place);

/* Number of nodes added so far; 0 if g is NULL. */
SPARSE_API size_t sparse_memgraph_node_count(const sparse_memgraph *g);

/* ---- Options ---- */

/* Scratch buffer model of the deploy arena (beyond the paper). */
typedef enum sparse_scratch_model {
    /* Full im2col buffer for CONV and PWCONV unless 1x1 with stride 1:
     * in_c*kh*kw*out_h*out_w bytes (the kernel runs as one GEMM). Default. */
    SPARSE_SCRATCH_IM2COL = 0,
    /* CMSIS-NN style partial im2col: two int16 columns, 2*2*in_c*kh*kw bytes,
     * for CONV with kh*kw > 1. */
    SPARSE_SCRATCH_IM2COL_2COL = 1,
    /* No scratch at all (direct convolution kernels). */
    SPARSE_SCRATCH_NONE = 2
} sparse_scratch_model;

typedef struct sparse_memory_options {
    unsigned version; /* SPARSE_MEMORY_OPTIONS_VERSION */
    int scratch;      /* sparse_scratch_model; default SPARSE_SCRATCH_IM2COL */
    /* Version 2: */
    int dense;        /* 1: every weight and bias counts as non-zero, whatever its value (the
                         figures of the dense network, e.g. of an architecture not yet trained);
                         default 0: non-zeros as the graph gives them */
    /* Version 3: */
    int input_downsampling; /* sparse_input_downsampling: where input downsampling happens;
                               default SPARSE_INPUT_DOWNSAMPLING_NETWORK */
} sparse_memory_options;

/*
 * Where input downsampling (DOWNSAMPLE nodes fed by the network input) is
 * counted. Values are part of the ABI (stored in run configs).
 */
typedef enum sparse_input_downsampling {
    /* Part of the network: the raw image is the first layer's input x_0 and
     * each input-downsampling node is a layer (x = the raw image). Default. */
    SPARSE_INPUT_DOWNSAMPLING_NETWORK = 0,
    /* Part of data acquisition (the sensor or a DMA delivers the downsampled
     * image; the paper's reading): every DOWNSAMPLE or POOL node whose input
     * is the network input, or such a node (the search space downsamples its
     * input with a pool), is not a layer (it costs nothing in MS, WM5, WM6,
     * the deploy flash), its output is a network input, and the raw image
     * has no buffer in the deploy arena unless another node reads it. */
    SPARSE_INPUT_DOWNSAMPLING_ACQUISITION = 1
} sparse_input_downsampling;

/* Static name of a mode: "network", "acquisition"; NULL if unknown. */
SPARSE_API const char *sparse_input_downsampling_name(int mode);
/* The mode named name ("network" or "acquisition") in *mode; SPARSE_EINVAL
 * naming the allowed values otherwise. */
SPARSE_API int sparse_input_downsampling_parse(const char *name, int *mode);

/* Version 1 (no dense) and 2 (no input_downsampling) callers are still accepted. */
#define SPARSE_MEMORY_OPTIONS_VERSION 3
#define SPARSE_MEMORY_OPTIONS_INIT \
    {SPARSE_MEMORY_OPTIONS_VERSION, SPARSE_SCRATCH_IM2COL, 0, SPARSE_INPUT_DOWNSAMPLING_NETWORK}
/* Fills *opts with the defaults of the given version, 1 to 3 (SPARSE_EVERSION
 * if unknown); an older struct is written only up to its own end. */
SPARSE_API int sparse_memory_options_init(sparse_memory_options *opts, unsigned version);

/* ---- Computing the figures ---- */

typedef struct sparse_memreport sparse_memreport;

/*
 * Validates g and computes every figure. opts may be NULL (defaults); it is
 * not retained, nor is g (the report is a snapshot). *out is owned by the
 * caller (sparse_memreport_free) and NULL on failure. Errors: SPARSE_EEMPTY
 * for a graph without layers, SPARSE_ESHAPE for counts inconsistent with the
 * shapes, SPARSE_EINVAL for an impossible in-place request, each naming the
 * node.
 */
SPARSE_API int sparse_memreport_create(sparse_memreport **out, const sparse_memgraph *g,
                                       const sparse_memory_options *opts);
/* NULL is a no-op. */
SPARSE_API void sparse_memreport_free(sparse_memreport *r);

/* Paper eq. (4): MS = non-zero weights + biases, in bytes at int8. */
SPARSE_API int sparse_memreport_ms_bytes(const sparse_memreport *r, uint64_t *bytes);

/* Paper working memory: model 5 (||x_l||_0 + ||w_l||_0) or 6
 * (||x_l||_0 + ||y_l||_0), in bytes; WM = max over layers. *layer (may be
 * NULL) receives the id of the first layer attaining it. */
SPARSE_API int sparse_memreport_wm_bytes(const sparse_memreport *r, int model, uint64_t *bytes,
                                         size_t *layer);

/* Flash format of one weight tensor (beyond the paper). */
typedef enum sparse_flash_format {
    SPARSE_FLASH_NONE = 0,    /* the node has no weights */
    SPARSE_FLASH_DENSE = 1,   /* one byte per weight */
    SPARSE_FLASH_BITMASK = 2, /* one bit per weight + one byte per non-zero */
    SPARSE_FLASH_CSR = 3      /* values + column indices + row pointers */
} sparse_flash_format;

/*
 * BEYOND THE PAPER. Bytes of one int8 weight tensor viewed as a rows x cols
 * matrix (rows = output channels) holding nnz non-zeros, in its cheapest
 * format (ties go to the simpler one: dense, then bitmask, then CSR):
 *   dense   = rows*cols
 *   bitmask = ceil(rows*cols / 8) + nnz
 *   csr     = nnz + nnz*idx + (rows + 1)*ptr,
 *             idx = 1 if cols <= 256, 2 if cols <= 65536, else 4;
 *             ptr = 2 if nnz <= 65535, else 4.
 * Biases, requantisation constants and tables are not included (see
 * sparse_memreport_deploy_flash_bytes). format may be NULL. rows, cols >= 1
 * and nnz <= rows*cols.
 */
SPARSE_API int sparse_memory_deploy_weight_bytes(uint64_t rows, uint64_t cols, uint64_t nnz,
                                                 int *format, uint64_t *bytes);

/*
 * BEYOND THE PAPER. Flash for the int8 deployment of the whole graph: what
 * the int8 export (sparse/export.h) stores besides code, i.e. its .rodata on
 * a 32-bit Cortex-M, where pointers and int32 take 4 bytes. For every step:
 *  - CONV, DWCONV, PWCONV, FC: the weight tensor at
 *    sparse_memory_deploy_weight_bytes(out_c, weights/out_c, nz_weights)
 *    (+1 placeholder value if it is bitmask or CSR with no non-zero),
 *    4 bytes (int32) per bias, 5 per output channel (int32 multiplier, int8
 *    shift) and a 60-byte descriptor;
 *  - POOL, DOWNSAMPLE: a 20-byte descriptor;
 *  - ADD: 20 + 8 per input; CONCAT: 8 + 12 per input;
 *  - a ReLU that the export cannot fuse into its producer: 8 (only the
 *    library's own graphs, from a sparse_net or an int8 network, mark one;
 *    the builder API has no ReLU node);
 *  - plus 16 bytes in the table of steps and 4 per input (its arena offset).
 * The descriptors hold the activation quantisation constants (zero points,
 * clamps, the multipliers of sums and concatenations), so those are counted.
 * Not counted: code (the kernels, .text), the input's scale (a macro) and
 * the arena (RAM). The input and the other VIEW nodes store nothing.
 */
SPARSE_API int sparse_memreport_deploy_flash_bytes(const sparse_memreport *r, uint64_t *bytes);

/*
 * BEYOND THE PAPER. Peak RAM of a tensor arena planned greedily over
 * liveness: every materialised tensor lives from the step that produces it to
 * its last reader (graph outputs to the end), VIEW and in-place nodes reuse
 * their input's buffer, and each step adds its scratch buffer (options'
 * scratch model). Buffers are placed largest first at the lowest offset free
 * for their lifetime. *bytes is the arena size, max(offset + size);
 * *lower_bound (may be NULL) the largest total of bytes alive at one step,
 * which no planner can beat.
 */
SPARSE_API int sparse_memreport_deploy_arena_bytes(const sparse_memreport *r, uint64_t *bytes,
                                                   uint64_t *lower_bound);

/* ---- Per-node figures ---- */

/* Number of nodes (layers and the rest), ids 0 .. count-1 as in the graph;
 * 0 if r is NULL. */
SPARSE_API size_t sparse_memreport_node_count(const sparse_memreport *r);
/* Borrowed name, valid until the report is freed. */
SPARSE_API int sparse_memreport_node_name(const sparse_memreport *r, size_t id, const char **name);
/* *id = the node called name; SPARSE_ENOTFOUND (naming it) if there is none. */
SPARSE_API int sparse_memreport_node_find(const sparse_memreport *r, const char *name, size_t *id);
SPARSE_API int sparse_memreport_node_kind(const sparse_memreport *r, size_t id, int *kind);

typedef enum sparse_memfield {
    SPARSE_MEMFIELD_IS_LAYER = 0,   /* 1 if the node is a layer of the paper's count, else 0 */
    SPARSE_MEMFIELD_X = 1,          /* input elements ||x_l|| (merge: all inputs) */
    SPARSE_MEMFIELD_Y = 2,          /* output elements ||y_l|| */
    SPARSE_MEMFIELD_WEIGHTS = 3,    /* dense weights + biases */
    SPARSE_MEMFIELD_NONZEROS = 4,   /* ||w_l||_0: non-zero weights + biases */
    SPARSE_MEMFIELD_WM5 = 5,        /* paper model (5), bytes (0 if not a layer) */
    SPARSE_MEMFIELD_WM6 = 6,        /* paper model (6), bytes (0 if not a layer) */
    SPARSE_MEMFIELD_DEPLOY_FLASH = 7,        /* beyond the paper: flash bytes of this node */
    SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT = 8, /* beyond the paper: sparse_flash_format */
    SPARSE_MEMFIELD_DEPLOY_SCRATCH = 9,      /* beyond the paper: scratch bytes of this step */
    SPARSE_MEMFIELD_DEPLOY_LIVE = 10,        /* beyond the paper: bytes alive at this step */
    SPARSE_MEMFIELD_DEPLOY_ARENA = 11,       /* beyond the paper: arena high-water at this step */
    SPARSE_MEMFIELD_DEPLOY_OFFSET = 12,      /* beyond the paper: arena offset of the output */
    SPARSE_MEMFIELD_ACQUIRED = 13            /* 1 if the node is input downsampling counted as
                                                data acquisition (not a layer), else 0 */
} sparse_memfield;

/* One figure of node id (SPARSE_ERANGE for a bad id or field). */
SPARSE_API int sparse_memreport_node_value(const sparse_memreport *r, size_t id, int field,
                                           uint64_t *value);

/*
 * The report as one JSON object:
 *   {"ms_bytes", "wm5_bytes", "wm6_bytes", "wm5_argmax", "wm6_argmax",
 *    "flash_bytes", "arena_bytes", "arena_lower_bound_bytes", "beyond_paper",
 *    "scratch", "layers": [ {"id", "name", "kind", "inputs", "input_count",
 *    "output_shape", "output_count", "weights", "nonzeros", "wm5", "wm6",
 *    "flash_bytes", "flash_format", "scratch_bytes", "live_bytes",
 *    "arena_bytes"}, ... ]}
 * "layers" holds the paper's layers only (not INPUT or VIEW nodes);
 * "beyond_paper" lists the keys that are not the paper's figures.
 * *out is a NUL-terminated string owned by the caller, released with
 * sparse_free().
 */
SPARSE_API int sparse_memreport_to_json(char **out, const sparse_memreport *r);

/* ---- From a network (sparse/layers.h) ---- */

/*
 * Builds the memory graph of a network as it would be deployed: one node per
 * network node, with the same ids and names. Conv2d nodes become CONV (PWCONV
 * for a 1x1 kernel, such as "<name>/reduce", "<name>/proj" and a separable
 * conv's pointwise half), depthwise DWCONV, pools POOL, input downsampling
 * DOWNSAMPLE, FC FC, merges ADD or CONCAT; batch norm and ReLU become VIEW
 * nodes (not layers). Each batch norm is folded into the conv2d, depthwise or
 * FC node it reads (creating out_c biases if that node has none) and the
 * counts are those of the folded parameters. Non-zeros are counted from the
 * current parameter values, so masked or pruned weights count as zero;
 * parameters other than weight, bias and the batch norm's (such as pruning's
 * variational ones) are ignored. A batch norm that reads anything else, or a
 * node that other nodes read too, cannot be folded: SPARSE_EUNSUPPORTED,
 * naming both nodes. net is only read (its parameters are not changed) and
 * not retained. *out is owned by the caller (sparse_memgraph_free), NULL on
 * failure.
 */
SPARSE_API int sparse_memgraph_from_net(sparse_memgraph **out, const sparse_net *net);

/* sparse_memgraph_from_net then sparse_memreport_create(out, g, opts); the
 * intermediate graph is freed. *out as for sparse_memreport_create. */
SPARSE_API int sparse_memreport_from_net(sparse_memreport **out, const sparse_net *net,
                                         const sparse_memory_options *opts);

/*
 * Activation sparsity, a report beside the paper's figures (never an
 * objective; the module counts activations dense): for every layer of r,
 * the non-zeros of its input x_l (all its inputs together) as net computes
 * them in evaluation mode (after ReLU and batch norm, in float) on the first
 * max_images images (0: all), i.e. the paper's ||x_l||_0 read literally.
 * mean[id] is their mean over the images, max[id] their maximum; both have
 * sparse_memreport_node_count(r) entries and are 0 for nodes that are no
 * layer. r must be a report of net (sparse_memreport_from_net; same node
 * ids, SPARSE_EINVAL otherwise); the images must have net's input shape
 * (SPARSE_ESHAPE). The first layer reads the image itself, whose zeros
 * depend on its normalisation. net's activations are overwritten; the
 * contents of mean and max are undefined on failure.
 */
SPARSE_API int sparse_memreport_activation_nonzeros(const sparse_memreport *r, sparse_net *net,
                                                    const sparse_dataset *images, size_t max_images,
                                                    double *mean, uint64_t *max);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_MEMORY_H */
