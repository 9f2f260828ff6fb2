/*
 * libsparse export: a trained network as freestanding int8 C99 for a
 * microcontroller (docs/deploy.md).
 *
 * sparse_export_qnet writes two files into a directory:
 *
 *   PREFIX.h   the API: PREFIX_run, PREFIX_input_buffer, the input's shape,
 *              scale and zero point and the arena size as macros (named
 *              with the prefix in upper case: MNIST_INPUT_SIZE for "mnist"),
 *              and PREFIX_quantize_input, a static inline float-to-int8
 *              helper that stays out of the model's object file;
 *   PREFIX.c   the model: the int8 kernels the host's sparse_qnet_predict
 *              runs (the same source text, every function static), each
 *              layer's weights in the encoding the deploy-flash model chose
 *              (dense, bitmask or CSR) with int32 biases and per-channel
 *              multipliers and shifts, all static const (flash), and one
 *              static arena of PREFIX_ARENA_SIZE bytes (RAM) in which every
 *              tensor sits where the library's planner put it.
 *
 * The generated code includes only <stdint.h>, <stddef.h> and <string.h>,
 * calls nothing but memcpy, allocates nothing and has no floating point on
 * the inference path; every external name starts with the prefix, so
 * several models link into one firmware. Given the same int8 input, PREFIX_run
 * gives the logits sparse_qnet_predict gives, bit for bit.
 *
 *   int PREFIX_run(const int8_t *input, int8_t *logits);
 *       input: PREFIX_INPUT_SIZE int8 values in (C, H, W) order (or the
 *       arena's own input slot, PREFIX_input_buffer(), which saves the copy);
 *       logits: PREFIX_NUM_CLASSES values. Returns 0 (-1 for a NULL pointer).
 *       Not reentrant: the arena is static.
 *
 * Every layer kind of the search space exports (convolutions, depthwise,
 * separable and downsampled convolutions, pools, input downsampling, FC,
 * residual connections with projections, merges by sum or concatenation,
 * pruned and compacted layers). Building for a Cortex-M and running under
 * an emulator are in sparse/experimental.h (sparse_exp_export_*).
 */
#ifndef SPARSE_EXPORT_H
#define SPARSE_EXPORT_H

#include "sparse/core.h"
#include "sparse/data.h"
#include "sparse/layers.h"
#include "sparse/quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sparse_export_options {
    unsigned version;   /* SPARSE_EXPORT_OPTIONS_VERSION */
    const char *prefix; /* names of the generated code: a letter, then letters, digits or '_'
                           (at most 48); default "model" */
    /* Version 2: */
    int input_downsampling; /* sparse_input_downsampling (sparse/memory.h). NETWORK (default): the
                               model takes the raw image and runs every step. ACQUISITION: the
                               model takes the image after the network's input downsampling (a
                               chain of downsampling or pooling nodes from the input, read by
                               nothing else; SPARSE_EUNSUPPORTED otherwise), as a sensor pipeline
                               delivers it; those steps are left out and the figures count them
                               as acquisition */
} sparse_export_options;

/* Version 1 callers (no input_downsampling) are still accepted. */
#define SPARSE_EXPORT_OPTIONS_VERSION 2
#define SPARSE_EXPORT_OPTIONS_INIT                                                                           \
    {                                                                                                        \
        SPARSE_EXPORT_OPTIONS_VERSION, "model", 0                                                            \
    }
/* Fills *opts with the defaults of the given version, 1 or 2 (SPARSE_EVERSION if unknown). */
SPARSE_API int sparse_export_options_init(sparse_export_options *opts, unsigned version);

/* What an exported model needs, in bytes at int8, from the memory module's
 * figures of the buffers and weights the generated code really has (int8
 * non-zeros; a ReLU that cannot be fused is a tensor of its own). */
typedef struct sparse_export_figures {
    unsigned version;                 /* SPARSE_EXPORT_FIGURES_VERSION, set by the caller */
    uint64_t ms_bytes;                /* paper MS: non-zero int8 weights and biases */
    uint64_t wm5_bytes;               /* paper WM, model (5) */
    uint64_t wm6_bytes;               /* paper WM, model (6) */
    uint64_t flash_bytes;             /* deploy flash: the model's .rodata on a 32-bit Cortex-M */
    uint64_t arena_bytes;             /* PREFIX_ARENA_SIZE: the planner's arena, no scratch buffers */
    uint64_t arena_lower_bound_bytes; /* most bytes alive at one step */
    size_t input_c, input_h, input_w, classes; /* the exported model's input (acquisition: downsampled) */
    double input_scale; /* real = input_scale * (q - input_zero_point) */
    int32_t input_zero_point;
    /* Version 2: */
    size_t input_node; /* the node whose output the model takes: 0 (the network input), or with input
                          downsampling as acquisition the last downsampling node (PREFIX_INPUT_NODE) */
} sparse_export_figures;
/* Version 1 callers (no input_node) are still accepted. */
#define SPARSE_EXPORT_FIGURES_VERSION 2
#define SPARSE_EXPORT_FIGURES_INIT                                                                           \
    {                                                                                                        \
        SPARSE_EXPORT_FIGURES_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0                               \
    }

/*
 * Writes dir/PREFIX.h and dir/PREFIX.c for q (each replaced atomically;
 * dir is created if missing, its parent must exist). opts may be NULL
 * (defaults); figures may be NULL, else its version must be set. q is only
 * read. Errors: SPARSE_EINVAL for a bad prefix, SPARSE_EIO naming the file.
 */
SPARSE_API int sparse_export_qnet(const sparse_qnet *q, const char *dir, const sparse_export_options *opts,
                                  sparse_export_figures *figures);

/* sparse_qnet_create(net, calib, qopts) then sparse_export_qnet: net is
 * quantised as sparse_qnet_create does (calibrated on calib's first
 * qopts->calib_images images; qopts may be NULL). */
SPARSE_API int sparse_export_net(sparse_net *net, const sparse_dataset *calib,
                                 const sparse_quant_options *qopts, const char *dir,
                                 const sparse_export_options *opts, sparse_export_figures *figures);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_EXPORT_H */
