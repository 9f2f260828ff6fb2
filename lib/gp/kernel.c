/* Matérn-5/2 and RBF kernels with ARD lengthscales, and the conditional
 * (arc-kernel) distance rule for inactive coordinates. */
#include <gsl/gsl_blas.h>
#include <math.h>

#include "gp_internal.h"

static const double SQRT5 = 2.2360679774997896964;

static inline double coord_delta(int rule, double a, double b)
{
    if (rule && (a == SPARSE_SPACE_INACTIVE || b == SPARSE_SPACE_INACTIVE))
        return a == b ? 0.0 : 1.0;
    return a - b;
}

static inline double scaled_r2(const sparse__gp_kparams *kp, const double *a, const double *b)
{
    double r2 = 0;
    for (size_t d = 0; d < kp->dim; d++) {
        double t = coord_delta(kp->inactive_rule, a[d], b[d]) / kp->ls[d];
        r2 += t * t;
    }
    return r2;
}

static inline double kfun(int kind, double sf2, double r2)
{
    if (kind == SPARSE_KERNEL_RBF)
        return sf2 * exp(-0.5 * r2);
    double r = sqrt(r2);
    return sf2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * exp(-SQRT5 * r);
}

double sparse__gp_kernel(const sparse__gp_kparams *kp, const double *a, const double *b)
{
    return kfun(kp->kind, kp->sf2, scaled_r2(kp, a, b));
}

void sparse__gp_kernel_matrix(const sparse__gp_kparams *kp, size_t n, const double *X, size_t m,
                              const double *Y, double *out, size_t ldo)
{
    size_t D = kp->dim;
    if (X == Y && n == m) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                double k = kfun(kp->kind, kp->sf2, scaled_r2(kp, X + i * D, X + j * D));
                out[i * ldo + j] = k;
                out[j * ldo + i] = k;
            }
            out[i * ldo + i] = kp->sf2;
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            out[i * ldo + j] = kfun(kp->kind, kp->sf2, scaled_r2(kp, X + i * D, Y + j * D));
}

void sparse__gp_kernel_matrix_r2(const sparse__gp_kparams *kp, size_t n, const double *X, double *K,
                                 double *R2)
{
    size_t D = kp->dim;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            double r2 = scaled_r2(kp, X + i * D, X + j * D);
            double k = kfun(kp->kind, kp->sf2, r2);
            K[i * n + j] = K[j * n + i] = k;
            R2[i * n + j] = R2[j * n + i] = r2;
        }
        K[i * n + i] = kp->sf2;
        R2[i * n + i] = 0;
    }
}

int sparse__gp_kernel_grad(const sparse__gp_kparams *kp, size_t n, const double *X, const double *W,
                           const double *K0, double *R2, double *MX, double *grad)
{
    size_t D = kp->dim;
    double gs = 0;
    /* M_ij = W_ij dk/dr2-factor, written over R2 (no longer needed). The
     * factor follows from K0 without another exp: for Matern-5/2
     * kdiff = k (5/3)(1 + sqrt5 r) / (1 + sqrt5 r + 5/3 r^2); for RBF kdiff = k. */
    for (size_t i = 0; i < n * n; i++) {
        gs += W[i] * K0[i];
        double f = K0[i];
        if (kp->kind != SPARSE_KERNEL_RBF) {
            double r2 = R2[i], r = sqrt(r2);
            f *= (5.0 / 3.0) * (1.0 + SQRT5 * r) / (1.0 + SQRT5 * r + (5.0 / 3.0) * r2);
        }
        R2[i] = W[i] * f;
    }
    grad[D] += 0.5 * gs;
    const double *M = R2;
    if (kp->inactive_rule) {
        /* Conditional distances are not differences of coordinates: sum
         * over pairs directly. */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++) {
                double m = M[i * n + j];
                for (size_t d = 0; d < D; d++) {
                    double t = coord_delta(1, X[i * D + d], X[j * D + d]) / kp->ls[d];
                    grad[d] += m * t * t;
                }
            }
        return 0;
    }
    /* 0.5 sum_ij M_ij (x_id - x_jd)^2 = sum_i x_id^2 (M 1)_i - x_d^T M x_d,
     * with M X from one BLAS product. */
    gsl_matrix_const_view Mv = gsl_matrix_const_view_array(M, n, n);
    gsl_matrix_const_view Xv = gsl_matrix_const_view_array(X, n, D);
    gsl_matrix_view MXv = gsl_matrix_view_array(MX, n, D);
    int s = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Mv.matrix, &Xv.matrix, 0.0, &MXv.matrix);
    if (s)
        return s;
    for (size_t i = 0; i < n; i++) {
        double rs = 0;
        for (size_t j = 0; j < n; j++)
            rs += M[i * n + j];
        for (size_t d = 0; d < D; d++) {
            double x = X[i * D + d];
            grad[d] += (x * x * rs - x * MX[i * D + d]) / (kp->ls[d] * kp->ls[d]);
        }
    }
    return 0;
}
