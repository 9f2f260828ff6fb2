/*
 * The int8 network, private to lib/memory/ (tests use it directly): the
 * host-side arithmetic that turns real scales into the kernels' integer
 * constants (double precision, TFLite's rules), and the layout of a
 * sparse_qnet, shared by its parts (quant.c builds and runs it,
 * quant_layer.c quantises and encodes its layers, quant_graph.c describes
 * its buffers, quant_c.c writes it as C).
 */
#ifndef SPARSE_MEMORY_QUANT_INTERNAL_H
#define SPARSE_MEMORY_QUANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "int8_kernels.h"
#include "netfold.h"
#include "sparse/layers.h"
#include "sparse/quant.h"

/* ---- Fixed point from reals (quant_fixed.c) ---- */

/* TFLite QuantizeMultiplier: real = m * 2^(shift - 31) with m in
 * [2^30, 2^31); real 0 gives (0, 0), and shifts below -31 flush to (0, 0)
 * as TFLite does. real must be >= 0 (shifts above 31 are the caller's to
 * refuse). */
void sparse__q_multiplier(double real, int32_t *m, int *shift);
/* Quantises a real to int8 with (scale, zero_point), rounding half away from
 * zero and saturating. */
int8_t sparse__q_quantize(double real, double scale, int32_t zero_point);
/* The multipliers of a sum (TFLite ADD: inputs scaled by s_i / (2 max_j s_j),
 * the sum by 2 max_j s_j / (2^20 s_out)) and of a concatenation (s_i / s_out
 * per input; `same` when an input's quantisation is the output's). p->n_in,
 * p->in[i].zp and p->out_zp are set by the caller. */
void sparse__q_add_prepare(sparse__q8_add_params *p, sparse__q8_add_input *in, const double *in_scale,
                           double out_scale);
void sparse__q_concat_prepare(sparse__q8_concat_params *p, sparse__q8_concat_input *in,
                              const double *in_scale, double out_scale);

/* ---- The network ---- */

enum { Q_INPUT, Q_CONV, Q_MAXPOOL, Q_AVGPOOL, Q_ADD, Q_CONCAT, Q_RELU, Q_ALIAS };

typedef struct sparse__qnode {
    int op;
    int kind; /* the network node's sparse_layer_kind */
    char *name;
    size_t owner; /* node whose buffer holds this node's output (itself unless Q_ALIAS) */
    size_t last;  /* owners: the last node folded or fused into them, whose float
                     output the tensor stands for (its range calibrates it) */
    size_t n_in;
    size_t src[SPARSE_Q8_MAX_INPUTS]; /* the network node's inputs */
    size_t in[SPARSE_Q8_MAX_INPUTS];  /* owners of the inputs */
    size_t c, h, w, count;            /* output shape, count = c*h*w */
    double scale;
    int32_t zp;
    int relu;      /* a ReLU is fused: clamp at the zero point */
    double lo, hi; /* calibration range */
    size_t offset; /* owners: the tensor's place in the host arena */
    uint32_t in_off[SPARSE_Q8_MAX_INPUTS];
    /* The kernel's parameters (one of them, by op) and what they point to. */
    sparse__q8_conv_params conv;
    sparse__q8_pool_params pool;
    sparse__q8_add_params add;
    sparse__q8_concat_params cat;
    sparse__q8_relu_params relu_p;
    sparse__q8_add_input add_in[SPARSE_Q8_MAX_INPUTS];
    sparse__q8_concat_input cat_in[SPARSE_Q8_MAX_INPUTS];
    int8_t *val;
    uint8_t *mask;
    void *col, *row;
    int32_t *bias, *mult;
    int8_t *shift;
    size_t rows, cols, nnz, nnz_bias; /* conv: weight matrix and its int8 non-zeros */
} sparse__qnode;

struct sparse_qnet {
    sparse__qnode *nodes;
    size_t n;
    sparse__q8_op *ops; /* one per node that computes something, in node order */
    size_t n_ops;
    int8_t *arena; /* every tensor apart (offsets above), so node outputs stay readable */
    size_t arena_size;
    size_t in_c, in_h, in_w, classes;
};

/* Fills node id's kernel parameters (quant_layer.c): weights quantised per
 * output channel and encoded as the deploy-flash model chooses, biases and
 * multipliers; pools, sums, concatenations and ReLUs from their inputs'
 * quantisation. Out-of-range values are refused naming the node. */
int sparse__qnode_prepare(sparse_qnet *q, size_t id, const sparse_net *net, const sparse__netfold *f);
/* Frees what the node owns. */
void sparse__qnode_free(sparse__qnode *nd);
/* The kernel parameters of a computing node's op (NULL for input and
 * aliases) and its sparse__q8 op kind. */
const void *sparse__qnode_params(const sparse__qnode *nd, int *kind);

#endif
