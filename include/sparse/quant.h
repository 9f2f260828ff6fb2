/*
 * libsparse int8: post-training quantisation of a trained sparse_net and
 * integer-only inference, following TensorFlow Lite's rules so the accuracy
 * reported is the one a TFLite Micro deployment would see
 * (docs/memory.md, "Int8 quantisation"):
 *
 *  - weights: int8, symmetric, one scale per output channel
 *    (scale = max |w| / 127 over the channel);
 *  - activations: int8, asymmetric, one (scale, zero point) per tensor,
 *    from the min and max seen on calibration images (widened to include 0);
 *  - biases: int32 at scale input_scale * weight_scale[c];
 *  - requantisation in fixed point: int32 multiplier and shift
 *    (QuantizeMultiplier, SaturatingRoundingDoublingHighMul,
 *    RoundingDivideByPowerOfTwo);
 *  - batch norm folded into the conv2d, depthwise or FC node before it,
 *    ReLU fused into its producer as an activation clamp where nothing else
 *    reads the producer, a clamp at the zero point otherwise;
 *  - pools keep their input's quantisation, merges by sum rescale every
 *    input (TFLite ADD), concatenations requantise every input to the
 *    output's scale.
 *
 * Only the input image is converted from float (quantised with the input
 * tensor's parameters, as a TFLite QUANTIZE op would); everything after it
 * is integer arithmetic. A quantised network does not depend on the
 * sparse_net it came from once created.
 */
#ifndef SPARSE_QUANT_H
#define SPARSE_QUANT_H

#include "sparse/core.h"
#include "sparse/data.h"
#include "sparse/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sparse_qnet sparse_qnet;

typedef struct sparse_quant_options {
    unsigned version;     /* SPARSE_QUANT_OPTIONS_VERSION */
    size_t calib_images;  /* calibration images: the first N of the set (default 1000; 0 = all) */
} sparse_quant_options;

#define SPARSE_QUANT_OPTIONS_VERSION 1
#define SPARSE_QUANT_OPTIONS_INIT {SPARSE_QUANT_OPTIONS_VERSION, 1000}
/* Fills *opts with the defaults of the given version (SPARSE_EVERSION if unknown). */
SPARSE_API int sparse_quant_options_init(sparse_quant_options *opts, unsigned version);

/*
 * Quantises net, calibrating activation ranges by running it in float
 * (inference mode) on calib's first opts->calib_images images (training
 * images: never the test set). net's parameters are not changed, but its
 * activation buffers are (a forward pass runs); net is not retained. opts
 * may be NULL. Errors: SPARSE_ESHAPE if calib's images do not match the
 * network's input, SPARSE_EEMPTY for an empty calib, SPARSE_EUNSUPPORTED
 * for a batch norm that cannot be folded, a merge of more than 8 inputs, an
 * image over 65535 pixels a side or a kernel, stride or padding over 255,
 * or more than 66306 products per output (the int32 accumulator's bound),
 * SPARSE_ERANGE for a bias or a requantisation multiplier the integer
 * arithmetic cannot hold (finite but extreme parameters), each naming the
 * node (and channel). Weighted layers are stored in the encoding the
 * deploy-flash model chooses (dense, bitmask or CSR) and run as stored.
 * *out is owned by the caller (sparse_qnet_free), NULL on failure.
 */
SPARSE_API int sparse_qnet_create(sparse_qnet **out, sparse_net *net, const sparse_dataset *calib,
                                  const sparse_quant_options *opts);
/* NULL is a no-op. */
SPARSE_API void sparse_qnet_free(sparse_qnet *q);

/* Input shape (C, H, W) of the network; any output may be NULL. */
SPARSE_API int sparse_qnet_input_shape(const sparse_qnet *q, size_t *channels, size_t *height, size_t *width);
/* Number of logits (0 if q is NULL). */
SPARSE_API size_t sparse_qnet_class_count(const sparse_qnet *q);

/* Nodes: the same ids and count as the sparse_net it came from. */
SPARSE_API size_t sparse_qnet_node_count(const sparse_qnet *q);
/* Quantisation of node id's output: real = scale * (q - zero_point). Folded
 * batch norms and fused ReLUs report their producer's (they share its
 * tensor). */
SPARSE_API int sparse_qnet_node_qparams(const sparse_qnet *q, size_t id, double *scale,
                                        int32_t *zero_point);

/* The int8 input of one image (C*H*W floats in (C, H, W) order) as the
 * network's first step quantises it: round(x / scale) + zero_point, ties
 * away from zero, saturated. out holds C*H*W values. */
SPARSE_API int sparse_qnet_quantize_input(const sparse_qnet *q, const float *image, int8_t *out);

/*
 * Integer-only inference of one image: C*H*W floats in (C, H, W) order, as
 * sparse_dataset_image() gives them. *label (may be NULL) receives the
 * argmax of the int8 logits (first on ties); logits (may be NULL) receives
 * the num_classes int8 logits.
 */
SPARSE_API int sparse_qnet_predict(sparse_qnet *q, const float *image, int8_t *logits, int *label);
/* The int8 output of node id of the last sparse_qnet_predict: *count values
 * in (C, H, W) order, borrowed (valid until the next predict or free). */
SPARSE_API int sparse_qnet_node_output(const sparse_qnet *q, size_t id, const int8_t **data,
                                       size_t *count);
/* Top-1 accuracy of the integer-only network on ds. */
SPARSE_API int sparse_qnet_evaluate(sparse_qnet *q, const sparse_dataset *ds, double *accuracy);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_QUANT_H */
