/*
 * Int8 arithmetic of the quantised network, private to lib/memory/ (tests
 * use it directly). The fixed-point rules are TensorFlow Lite's
 * (tensorflow/lite/kernels/internal/common.h, gemmlowp's fixedpoint.h) so a
 * network quantised here computes what TFLite Micro would:
 *
 *   real = scale * (q - zero_point)              activations, per tensor
 *   real = scale[c] * q                          weights, per output channel
 *   bias: int32 at scale input_scale * weight_scale[c], zero point 0
 *
 * A real multiplier M (e.g. input_scale * weight_scale[c] / output_scale) is
 * held as a Q31 int32 m in [2^30, 2^31) and a power of two: M = m * 2^(shift-31).
 */
#ifndef SPARSE_MEMORY_QUANT_INTERNAL_H
#define SPARSE_MEMORY_QUANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* ---- Fixed point (quant_fixed.c) ---- */

/* TFLite QuantizeMultiplier: real = m * 2^(shift - 31); real 0 gives (0, 0),
 * and shifts below -31 flush to (0, 0) as TFLite does. real must be >= 0. */
void sparse__q_multiplier(double real, int32_t *m, int *shift);
/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), with
 * INT32_MIN * INT32_MIN saturating to INT32_MAX. */
int32_t sparse__q_srdhm(int32_t a, int32_t b);
/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away
 * from zero; 0 <= exponent <= 31. */
int32_t sparse__q_rdivpot(int32_t x, int exponent);
/* TFLite MultiplyByQuantizedMultiplier: x * real, rounded. A left shift that
 * would overflow int32 saturates (TFLite leaves it undefined). */
int32_t sparse__q_mul(int32_t x, int32_t m, int shift);
/* Quantises a real to int8 with (scale, zero_point), rounding half away from
 * zero and saturating. */
int8_t sparse__q_quantize(double real, double scale, int32_t zero_point);

/* ---- Reference kernels (quant_kernels.c), one image, (C, H, W) int8 ---- */

#define SPARSE__Q_MAX_INPUTS 8

/* Convolution, depthwise (groups == in_c == out_c) or not (groups == 1);
 * FC is a 1x1 convolution over in_c = C*H*W inputs of a 1x1 image.
 * Padding reads as the input zero point, i.e. contributes nothing. */
typedef struct sparse__qconv {
    size_t in_c, in_h, in_w, out_c, out_h, out_w;
    size_t k, stride, pad_top, pad_left, groups;
    const int8_t *w;      /* (out_c, in_c / groups, k, k) */
    const int32_t *bias;  /* out_c, or NULL */
    const int32_t *mult;  /* out_c */
    const int *shift;     /* out_c */
    int32_t in_zp, out_zp, act_min, act_max;
} sparse__qconv;
void sparse__q_conv(const sparse__qconv *p, const int8_t *x, int8_t *y);

/* Pools over valid k x k windows; input and output share their quantisation
 * (TFLite's rule), so max pooling is exact and average pooling only rounds.
 * depth_rate > 1 (input downsampling) also takes the max over that many
 * consecutive channels: output channel c reads channels c*dr .. c*dr+dr-1. */
typedef struct sparse__qpool {
    size_t out_c, in_h, in_w, out_h, out_w, k, stride, depth_rate;
    int32_t act_min, act_max;
} sparse__qpool;
void sparse__q_maxpool(const sparse__qpool *p, const int8_t *x, int8_t *y);
void sparse__q_avgpool(const sparse__qpool *p, const int8_t *x, int8_t *y);

/* Element-wise sum of n inputs of `count` values, each rescaled (TFLite ADD:
 * inputs shifted left by left_shift, scaled by s_i / (2 max_j s_j), summed,
 * then scaled by 2 max_j s_j / (2^left_shift s_out)). */
typedef struct sparse__qadd {
    size_t n_in, count;
    int32_t in_zp[SPARSE__Q_MAX_INPUTS], in_mult[SPARSE__Q_MAX_INPUTS];
    int in_shift[SPARSE__Q_MAX_INPUTS];
    int left_shift;
    int32_t out_mult;
    int out_shift;
    int32_t out_zp, act_min, act_max;
} sparse__qadd;
/* Fills p's multipliers from the real scales (n_in, count, zero points and
 * activation range are set by the caller). */
void sparse__q_add_prepare(sparse__qadd *p, const double *in_scale, double out_scale);
void sparse__q_add(const sparse__qadd *p, const int8_t *const *x, int8_t *y);

/* Channel concatenation, each input requantised to the output's scale with
 * its own multiplier (copied as is when the quantisations are equal). */
typedef struct sparse__qconcat {
    size_t n_in;
    size_t count[SPARSE__Q_MAX_INPUTS];
    int32_t in_zp[SPARSE__Q_MAX_INPUTS], mult[SPARSE__Q_MAX_INPUTS];
    int shift[SPARSE__Q_MAX_INPUTS], same[SPARSE__Q_MAX_INPUTS];
    int32_t out_zp, act_min, act_max;
} sparse__qconcat;
void sparse__q_concat_prepare(sparse__qconcat *p, const double *in_scale, double out_scale);
void sparse__q_concat(const sparse__qconcat *p, const int8_t *const *x, int8_t *y);

/* ReLU that could not be fused: the quantisation is unchanged, so it is a
 * clamp at the zero point. */
void sparse__q_relu(size_t count, int32_t zero_point, const int8_t *x, int8_t *y);

#endif
