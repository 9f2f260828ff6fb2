/*
 * The int8 kernels of libsparse: one freestanding C99 source (this header
 * and int8_kernels.c: <stdint.h> and <stddef.h> only, no float, no
 * allocation, no library calls) that runs a quantised network from a table
 * of operations over one int8 arena.
 *
 * The same text is compiled twice:
 *  - into libsparse, for sparse_qnet_predict: names sparse__q8_<name>;
 *  - into every exported model (sparse/export.h), copied verbatim after
 *    definitions that make every function static and every name
 *    PREFIX_q8_<name>, so two models link into one firmware.
 * Both run the same code on the same tables, so the host's int8 path and an
 * exported model give bit-identical outputs by construction.
 *
 * Arithmetic (TensorFlow Lite's rules, without its undefined behaviour):
 *   real = scale * (q - zero_point)          activations, per tensor
 *   real = scale[c] * q                      weights, per output channel
 *   bias: int32 at scale input_scale * weight_scale[c]
 * A real multiplier M is a Q31 int32 m and a shift: M = m * 2^(shift - 31).
 * Accumulators are int32: sparse_qnet_create refuses layers whose sum of
 * |w| * 255 could overflow, the bias is added with saturation, and shifts
 * are clamped to the range the multiplier arithmetic is defined for.
 *
 * Switches (each 1 unless defined; an exported model compiles only the
 * kernels it uses): SPARSE_Q8_WITH_BITMASK, _CSR, _MAXPOOL, _AVGPOOL, _ADD,
 * _CONCAT, _RELU.
 */
#ifndef SPARSE_Q8_KERNELS_H
#define SPARSE_Q8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifndef SPARSE_Q8
#define SPARSE_Q8(name) sparse__q8_##name
#endif
#ifndef SPARSE_Q8_FN
#define SPARSE_Q8_FN
#endif
#ifndef SPARSE_Q8_WITH_BITMASK
#define SPARSE_Q8_WITH_BITMASK 1
#endif
#ifndef SPARSE_Q8_WITH_CSR
#define SPARSE_Q8_WITH_CSR 1
#endif
#ifndef SPARSE_Q8_WITH_MAXPOOL
#define SPARSE_Q8_WITH_MAXPOOL 1
#endif
#ifndef SPARSE_Q8_WITH_AVGPOOL
#define SPARSE_Q8_WITH_AVGPOOL 1
#endif
#ifndef SPARSE_Q8_WITH_ADD
#define SPARSE_Q8_WITH_ADD 1
#endif
#ifndef SPARSE_Q8_WITH_CONCAT
#define SPARSE_Q8_WITH_CONCAT 1
#endif
#ifndef SPARSE_Q8_WITH_RELU
#define SPARSE_Q8_WITH_RELU 1
#endif

/* Weight encodings (the values of sparse_flash_format). */
#define SPARSE_Q8_DENSE 1
#define SPARSE_Q8_BITMASK 2
#define SPARSE_Q8_CSR 3

/* Operation kinds. */
#define SPARSE_Q8_OP_CONV 1
#define SPARSE_Q8_OP_MAXPOOL 2
#define SPARSE_Q8_OP_AVGPOOL 3
#define SPARSE_Q8_OP_ADD 4
#define SPARSE_Q8_OP_CONCAT 5
#define SPARSE_Q8_OP_RELU 6

#define SPARSE_Q8_MAX_INPUTS 8

/* A rows x cols int8 matrix (rows = output channels, cols = in_c/groups *
 * k * k in (channel, ky, kx) order) in one of three encodings:
 *  dense:   val[rows * cols];
 *  bitmask: mask of rows * cols bits (bit j of byte j / 8, least significant
 *           first, set for a non-zero), val the non-zeros row by row;
 *  CSR:     val the non-zeros row by row, col their column indices
 *           (col_bytes = 1, 2 or 4 bytes each), row the index in val of the
 *           first non-zero of each row, rows + 1 entries (row_bytes = 2 or 4). */
typedef struct SPARSE_Q8(matrix) {
    const int8_t *val;
    const uint8_t *mask;
    const void *col;
    const void *row;
    uint8_t enc, col_bytes, row_bytes;
} SPARSE_Q8(matrix);

/* Convolution, grouped (depthwise: groups == in_c) or not; FC is a 1x1
 * convolution over in_c = C*H*W inputs of a 1x1 image. Padding reads as the
 * input zero point, i.e. contributes nothing. */
typedef struct SPARSE_Q8(conv_params) {
    uint32_t in_c, out_c, groups;
    uint16_t in_h, in_w, out_h, out_w;
    uint8_t k, stride, pad_top, pad_left;
    int8_t in_zp, out_zp, act_min, act_max;
    SPARSE_Q8(matrix) w;
    const int32_t *bias; /* out_c, or NULL */
    const int32_t *mult; /* out_c */
    const int8_t *shift; /* out_c */
} SPARSE_Q8(conv_params);

/* Pooling over valid k x k windows; input and output share their
 * quantisation (TFLite's rule), so max pooling is exact and average pooling
 * only rounds. depth_rate > 1 (input downsampling) also takes the max over
 * that many consecutive channels. */
typedef struct SPARSE_Q8(pool_params) {
    uint32_t out_c;
    uint16_t in_h, in_w, out_h, out_w;
    uint8_t k, stride, depth_rate;
    int8_t act_min, act_max;
} SPARSE_Q8(pool_params);

/* Element-wise sum (TFLite ADD): each input shifted left by
 * SPARSE_Q8_ADD_LEFT_SHIFT, scaled by its multiplier, summed, then scaled by
 * out_mult. TFLite's int8 ADD keeps 20 bits of headroom: 255 << 20 fits. */
#define SPARSE_Q8_ADD_LEFT_SHIFT 20
typedef struct SPARSE_Q8(add_input) {
    int32_t mult;
    int8_t zp, shift;
} SPARSE_Q8(add_input);
typedef struct SPARSE_Q8(add_params) {
    uint32_t count;
    int32_t out_mult;
    uint8_t n_in;
    int8_t out_shift, out_zp, act_min, act_max;
    const SPARSE_Q8(add_input) *in;
} SPARSE_Q8(add_params);

/* Channel concatenation, each input requantised to the output's scale
 * (copied as is when its quantisation is the output's). */
typedef struct SPARSE_Q8(concat_input) {
    uint32_t count;
    int32_t mult;
    int8_t zp, shift, same;
} SPARSE_Q8(concat_input);
typedef struct SPARSE_Q8(concat_params) {
    uint8_t n_in;
    int8_t out_zp, act_min, act_max;
    const SPARSE_Q8(concat_input) *in;
} SPARSE_Q8(concat_params);

/* ReLU that could not be fused into its producer: a clamp at the zero
 * point (the quantisation is unchanged). */
typedef struct SPARSE_Q8(relu_params) {
    uint32_t count;
    int8_t zp;
} SPARSE_Q8(relu_params);

/* One step of a network: the kind's parameters (p), its inputs and its
 * output as byte offsets into the arena. An output may overlap an input only
 * where the kernel is element-wise or reads ahead of what it writes (pools,
 * sums, ReLU), never for a convolution or a concatenation. */
typedef struct SPARSE_Q8(op) {
    uint8_t kind, n_in;
    uint32_t out;
    const uint32_t *in;
    const void *p;
} SPARSE_Q8(op);

/* Bytes of each table entry on a 32-bit Arm target (AAPCS: 4-byte pointers,
 * int32_t aligned to 4): what the deploy-flash model counts per step
 * (lib/memory/flash.c) besides the weights. A 32-bit Arm build of this file
 * (every exported model's) stops on the array below when a struct and its
 * figure part. */
#define SPARSE_Q8_ILP32_CONV_PARAMS 60
#define SPARSE_Q8_ILP32_POOL_PARAMS 20
#define SPARSE_Q8_ILP32_ADD_PARAMS 20
#define SPARSE_Q8_ILP32_ADD_INPUT 8
#define SPARSE_Q8_ILP32_CONCAT_PARAMS 8
#define SPARSE_Q8_ILP32_CONCAT_INPUT 12
#define SPARSE_Q8_ILP32_RELU_PARAMS 8
#define SPARSE_Q8_ILP32_OP 16
#define SPARSE_Q8_ILP32_OFFSET 4 /* one uint32_t arena offset per input of a step */
#if defined(__arm__) && defined(UINTPTR_MAX) && UINTPTR_MAX == 0xFFFFFFFFu
typedef char
    SPARSE_Q8(ilp32_sizes_match)[sizeof(SPARSE_Q8(conv_params)) == SPARSE_Q8_ILP32_CONV_PARAMS &&
                                         sizeof(SPARSE_Q8(pool_params)) == SPARSE_Q8_ILP32_POOL_PARAMS &&
                                         sizeof(SPARSE_Q8(add_params)) == SPARSE_Q8_ILP32_ADD_PARAMS &&
                                         sizeof(SPARSE_Q8(add_input)) == SPARSE_Q8_ILP32_ADD_INPUT &&
                                         sizeof(SPARSE_Q8(concat_params)) == SPARSE_Q8_ILP32_CONCAT_PARAMS &&
                                         sizeof(SPARSE_Q8(concat_input)) == SPARSE_Q8_ILP32_CONCAT_INPUT &&
                                         sizeof(SPARSE_Q8(relu_params)) == SPARSE_Q8_ILP32_RELU_PARAMS &&
                                         sizeof(SPARSE_Q8(op)) == SPARSE_Q8_ILP32_OP
                                     ? 1
                                     : -1];
#endif

/* Fixed point. srdhm: round(a * b / 2^31), INT32_MIN * INT32_MIN saturating
 * (gemmlowp SaturatingRoundingDoublingHighMul). rdivpot: x / 2^e rounded to
 * nearest, ties away from zero, 0 <= e <= 31 (RoundingDivideByPOT). mul:
 * x * m * 2^(shift - 31), rounded, with x << shift saturating and shifts
 * clamped to [-32, 31] (TFLite MultiplyByQuantizedMultiplier). */
SPARSE_Q8_FN int32_t SPARSE_Q8(srdhm)(int32_t a, int32_t b);
SPARSE_Q8_FN int32_t SPARSE_Q8(rdivpot)(int32_t x, int e);
SPARSE_Q8_FN int32_t SPARSE_Q8(mul)(int32_t x, int32_t m, int shift);

SPARSE_Q8_FN void SPARSE_Q8(conv)(const SPARSE_Q8(conv_params) *p, const int8_t *x, int8_t *y);
#if SPARSE_Q8_WITH_MAXPOOL
SPARSE_Q8_FN void SPARSE_Q8(maxpool)(const SPARSE_Q8(pool_params) *p, const int8_t *x, int8_t *y);
#endif
#if SPARSE_Q8_WITH_AVGPOOL
SPARSE_Q8_FN void SPARSE_Q8(avgpool)(const SPARSE_Q8(pool_params) *p, const int8_t *x, int8_t *y);
#endif
#if SPARSE_Q8_WITH_ADD
SPARSE_Q8_FN void SPARSE_Q8(add)(const SPARSE_Q8(add_params) *p, const int8_t *const *x, int8_t *y);
#endif
#if SPARSE_Q8_WITH_CONCAT
SPARSE_Q8_FN void SPARSE_Q8(concat)(const SPARSE_Q8(concat_params) *p, const int8_t *const *x, int8_t *y);
#endif
#if SPARSE_Q8_WITH_RELU
SPARSE_Q8_FN void SPARSE_Q8(relu)(const SPARSE_Q8(relu_params) *p, const int8_t *x, int8_t *y);
#endif

/* Runs n ops in order over arena. */
SPARSE_Q8_FN void SPARSE_Q8(run)(const SPARSE_Q8(op) *ops, size_t n, int8_t *arena);

#endif
