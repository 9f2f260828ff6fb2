/* Matrix products for convolutions and FC layers (gemm.h). */
#include "gemm.h"

#ifndef SPARSE__GEMM_MT_WORK
#define SPARSE__GEMM_MT_WORK 1e6 /* m*n*k below which a product runs on one thread */
#endif

void sparse__sgemm(const sparse_net *net, double *seconds, double *flops, dim_t m, dim_t n, dim_t k,
                   float alpha, const float *a, inc_t rsa, inc_t csa, const float *b, inc_t rsb, inc_t csb,
                   float beta, float *c, inc_t rsc, inc_t csc)
{
    double t0 = net->prof ? sparse__now() : 0.0;
    /* BLIS would split every product over the process's thread count; on
     * the small products of a few-KB network the threads' start and sync
     * cost more than the product (as for SPARSE__NT's loops), so those run
     * on one. */
    const double work = (double)m * (double)n * (double)k;
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(work < SPARSE__GEMM_MT_WORK ? 1 : (dim_t)net->threads, &rntm);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b, rsb,
                 csb, &beta, c, rsc, csc, NULL, &rntm);
    if (net->prof) {
        *seconds += sparse__now() - t0;
        *flops += 2.0 * work;
    }
}
