/* The one BLIS call of the layers module, shared by conv.c and fc.c. Only
 * files that include blis.h include this (layers_internal.h stays free of
 * it, and GSL headers must never meet it). */
#ifndef SPARSE_LAYERS_GEMM_H
#define SPARSE_LAYERS_GEMM_H

#include <blis.h>

#include "layers_internal.h"

/* c = alpha * a b + beta * c, every matrix given by its row and column
 * strides, so transposes cost nothing. With profiling on, the time and
 * 2*m*n*k flops go into *seconds and *flops (the conv or FC counters). */
void sparse__sgemm(const sparse_net *net, double *seconds, double *flops, dim_t m, dim_t n, dim_t k,
                   float alpha, const float *a, inc_t rsa, inc_t csa, const float *b, inc_t rsb, inc_t csb,
                   float beta, float *c, inc_t rsc, inc_t csc);

#endif
