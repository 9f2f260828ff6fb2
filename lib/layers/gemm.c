/* Matrix products for convolutions and FC layers (gemm.h). */
#include "gemm.h"

void sparse__sgemm(const sparse_net *net, double *seconds, double *flops, dim_t m, dim_t n, dim_t k,
                   float alpha, const float *a, inc_t rsa, inc_t csa, const float *b, inc_t rsb, inc_t csb,
                   float beta, float *c, inc_t rsc, inc_t csc)
{
    double t0 = net->prof ? sparse__now() : 0.0;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b, rsb,
              csb, &beta, c, rsc, csc);
    if (net->prof) {
        *seconds += sparse__now() - t0;
        *flops += 2.0 * (double)m * (double)n * (double)k;
    }
}
