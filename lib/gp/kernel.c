/* Matérn-5/2 and RBF kernels with ARD lengthscales, and the conditional
 * (arc-kernel) distance rule for inactive coordinates. */
#include <math.h>

#include "gp_internal.h"

static const double SQRT5 = 2.2360679774997896964;

static inline double coord_delta(int rule, double a, double b)
{
    if (rule && (a == SPARSE_SPACE_INACTIVE || b == SPARSE_SPACE_INACTIVE))
        return a == b ? 0.0 : 1.0;
    return a - b;
}

static inline double scaled_r2(const gp_kparams *kp, const double *a, const double *b)
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

/* dk/d(log l_d) = kdiff(r2) * (delta_d / l_d)^2 for both kernels. */
static inline double kdiff(int kind, double sf2, double r2)
{
    if (kind == SPARSE_KERNEL_RBF)
        return sf2 * exp(-0.5 * r2);
    double r = sqrt(r2);
    return sf2 * (5.0 / 3.0) * (1.0 + SQRT5 * r) * exp(-SQRT5 * r);
}

double gp__kernel(const gp_kparams *kp, const double *a, const double *b)
{
    return kfun(kp->kind, kp->sf2, scaled_r2(kp, a, b));
}

void gp__kernel_matrix(const gp_kparams *kp, size_t n, const double *X, size_t m, const double *Y,
                       double *out, size_t ldo)
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

void gp__kernel_grad(const gp_kparams *kp, size_t n, const double *X, const double *W, double *grad)
{
    size_t D = kp->dim;
    /* Off-diagonal pairs count twice (W and dK are symmetric); the diagonal
     * has zero distance, so it only feeds the signal-variance gradient. */
    for (size_t i = 0; i < n; i++) {
        const double *a = X + i * D;
        grad[D] += 0.5 * W[i * n + i] * kp->sf2;
        for (size_t j = 0; j < i; j++) {
            const double *b = X + j * D;
            double r2 = scaled_r2(kp, a, b);
            double w = W[i * n + j];
            grad[D] += w * kfun(kp->kind, kp->sf2, r2);
            double g = w * kdiff(kp->kind, kp->sf2, r2);
            for (size_t d = 0; d < D; d++) {
                double t = coord_delta(kp->inactive_rule, a[d], b[d]) / kp->ls[d];
                grad[d] += g * t * t;
            }
        }
    }
}
