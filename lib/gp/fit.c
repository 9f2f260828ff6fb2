/* Hyper-parameter fit: log marginal likelihood + log priors, its analytic
 * gradient, and BFGS (GSL multimin) from several starts. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "gp_internal.h"

/* Priors on theta (documented in gp.h): normal in log space. */
#define PRIOR_LS_MU (-0.69314718055994531) /* log 0.5 */
#define PRIOR_LS_SD 1.0
#define PRIOR_SF_MU 0.0
#define PRIOR_SF_SD 1.5
#define PRIOR_NOISE_MU (-4.6051701859880914) /* log 1e-2 */
#define PRIOR_NOISE_SD 2.0
/* Beyond |theta| = THETA_MAX a quadratic wall keeps BFGS from drifting to
 * infinite lengthscales or vanishing noise when the likelihood is flat. */
#define THETA_MAX 12.0

typedef struct fit_work {
    const sparse_gp *gp;
    int with_prior;
    double *K;      /* n x n */
    double *K0;     /* n x n kernel without noise */
    double *R2;     /* n x n scaled squared distances */
    double *MX;     /* n x dim scratch */
    double *alpha;  /* n */
    double *ls;     /* dim */
    double *grad;   /* dim + 2 */
    double *theta;  /* dim + 2, the point being evaluated */
    /* best point seen over every evaluation of every start */
    double best_val;
    double *best_theta;
    int have_best;
    size_t npar;
} fit_work;

static int work_alloc(fit_work *w, const sparse_gp *gp, int with_prior)
{
    memset(w, 0, sizeof *w);
    w->gp = gp;
    w->with_prior = with_prior;
    w->npar = gp->dim + 2;
    size_t n = gp->n ? gp->n : 1;
    w->K = sparse__malloc(n * n * sizeof(double));
    w->K0 = sparse__malloc(n * n * sizeof(double));
    w->R2 = sparse__malloc(n * n * sizeof(double));
    w->MX = sparse__malloc(n * gp->dim * sizeof(double));
    w->alpha = sparse__malloc(n * sizeof(double));
    w->ls = sparse__malloc(gp->dim * sizeof(double));
    w->grad = sparse__malloc(w->npar * sizeof(double));
    w->theta = sparse__malloc(w->npar * sizeof(double));
    w->best_theta = sparse__malloc(w->npar * sizeof(double));
    w->best_val = -HUGE_VAL;
    if (!w->K || !w->K0 || !w->R2 || !w->MX || !w->alpha || !w->ls || !w->grad || !w->theta || !w->best_theta)
        return SPARSE_ENOMEM;
    return SPARSE_OK;
}

static void work_free(fit_work *w)
{
    free(w->K);
    free(w->K0);
    free(w->R2);
    free(w->MX);
    free(w->alpha);
    free(w->ls);
    free(w->grad);
    free(w->theta);
    free(w->best_theta);
}

static double log_normal_pdf(double x, double mu, double sd, double *dx)
{
    double z = (x - mu) / sd;
    *dx = -z / sd;
    return -0.5 * z * z;
}

/* value = LML(theta) [+ log prior]; grad if non-NULL. Returns non-zero when
 * the covariance cannot be factorised at theta. */
static int evaluate(fit_work *w, const double *theta, double *value, double *grad)
{
    const sparse_gp *gp = w->gp;
    size_t n = gp->n, D = gp->dim;
    double sf2 = exp(theta[D]);
    double noise_var = exp(theta[D + 1]);
    double noise = gp->opts.noise_min + noise_var;
    for (size_t d = 0; d < D; d++)
        w->ls[d] = exp(theta[d]);
    if (grad)
        memset(grad, 0, w->npar * sizeof(double));
    double v = 0;
    if (n > 0) {
        sparse__gp_kparams kp = {D, gp->opts.kernel, gp->opts.inactive_rule, w->ls, sf2};
        sparse__gp_kernel_matrix_r2(&kp, n, gp->X, w->K0, w->R2);
        memcpy(w->K, w->K0, n * n * sizeof(double));
        for (size_t i = 0; i < n; i++)
            w->K[i * n + i] += sparse__gp_diag_noise(gp, i, noise);
        gsl_matrix_view K = gsl_matrix_view_array(w->K, n, n);
        if (gsl_linalg_cholesky_decomp1(&K.matrix) != GSL_SUCCESS)
            return -1;
        memcpy(w->alpha, gp->ys, n * sizeof(double));
        gsl_vector_view a = gsl_vector_view_array(w->alpha, n);
        if (gsl_linalg_cholesky_svx(&K.matrix, &a.vector) != GSL_SUCCESS)
            return -1;
        double logdet = 0, fit = 0;
        for (size_t i = 0; i < n; i++) {
            logdet += log(w->K[i * n + i]);
            fit += gp->ys[i] * w->alpha[i];
        }
        v = -0.5 * fit - logdet - 0.5 * (double)n * log(2 * M_PI);
        if (!isfinite(v))
            return -1;
        if (grad) {
            /* dLML/dtheta = 0.5 tr((alpha alpha^T - K^-1) dK/dtheta). */
            if (gsl_linalg_cholesky_invert(&K.matrix) != GSL_SUCCESS)
                return -1;
            double tr = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                    double wij = w->alpha[i] * w->alpha[j] - w->K[i * n + j];
                    w->K[i * n + j] = wij;
                    if (i == j)
                        tr += wij;
                }
            if (sparse__gp_kernel_grad(&kp, n, gp->X, w->K, w->K0, w->R2, w->MX, grad) != GSL_SUCCESS)
                return -1;
            grad[D + 1] = 0.5 * tr * noise_var;
        }
    }
    if (w->with_prior) {
        double dx;
        for (size_t d = 0; d < D; d++) {
            v += log_normal_pdf(theta[d], PRIOR_LS_MU, PRIOR_LS_SD, &dx);
            if (grad)
                grad[d] += dx;
        }
        v += log_normal_pdf(theta[D], PRIOR_SF_MU, PRIOR_SF_SD, &dx);
        if (grad)
            grad[D] += dx;
        v += log_normal_pdf(theta[D + 1], PRIOR_NOISE_MU, PRIOR_NOISE_SD, &dx);
        if (grad)
            grad[D + 1] += dx;
    }
    *value = v;
    return isfinite(v) ? 0 : -1;
}

int sparse__gp_objective(const sparse_gp *gp, const double *theta, int with_prior, double *value,
                         double *grad)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(theta);
    SPARSE__CHECK_NULL(value);
    sparse__gsl_quiet();
    for (size_t i = 0; i < gp->dim + 2; i++)
        if (!isfinite(theta[i]))
            return sparse__error(SPARSE_EINVAL, "sparse__gp_objective: theta[%zu] is not finite", i);
    fit_work w;
    int rc = work_alloc(&w, gp, with_prior);
    if (rc == SPARSE_OK) {
        if (evaluate(&w, theta, value, grad ? w.grad : NULL) != 0)
            rc = sparse__error(SPARSE_ENUMERIC, "sparse__gp_objective: covariance not positive "
                                                "definite at these hyper-parameters");
        else if (grad)
            memcpy(grad, w.grad, w.npar * sizeof(double));
    }
    work_free(&w);
    return rc;
}

/* GSL minimises: f = -(objective) + wall. */
static double wall(const fit_work *w, const double *theta, double *grad)
{
    double pen = 0;
    for (size_t i = 0; i < w->npar; i++) {
        double e = fabs(theta[i]) - THETA_MAX;
        if (e > 0) {
            pen += 0.5 * e * e;
            if (grad)
                grad[i] += theta[i] > 0 ? e : -e;
        }
    }
    return pen;
}

static void mm_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g)
{
    fit_work *w = params;
    double *t = w->theta;
    for (size_t i = 0; i < w->npar; i++)
        t[i] = gsl_vector_get(x, i);
    double v;
    if (evaluate(w, t, &v, g ? w->grad : NULL) != 0) {
        if (f)
            *f = GSL_POSINF;
        if (g)
            gsl_vector_set_zero(g);
        return;
    }
    double pen = wall(w, t, NULL);
    if (v - pen > w->best_val) {
        w->best_val = v - pen;
        memcpy(w->best_theta, t, w->npar * sizeof(double));
        w->have_best = 1;
    }
    if (g) {
        for (size_t i = 0; i < w->npar; i++)
            w->grad[i] = -w->grad[i];
        double p = wall(w, t, w->grad);
        for (size_t i = 0; i < w->npar; i++)
            gsl_vector_set(g, i, w->grad[i]);
        if (f)
            *f = -v + p;
    } else if (f) {
        *f = -v + wall(w, t, NULL);
    }
}

static double mm_f(const gsl_vector *x, void *params)
{
    double f;
    mm_fdf(x, params, &f, NULL);
    return f;
}

static void mm_df(const gsl_vector *x, void *params, gsl_vector *g)
{
    double f;
    mm_fdf(x, params, &f, g);
}

static void current_theta(const sparse_gp *gp, double *theta)
{
    size_t D = gp->dim;
    for (size_t d = 0; d < D; d++)
        theta[d] = log(gp->ls[d]);
    theta[D] = log(gp->sf2);
    double nv = gp->noise - gp->opts.noise_min;
    theta[D + 1] = log(nv > 1e-12 ? nv : 1e-12);
    for (size_t i = 0; i < D + 2; i++) {
        if (theta[i] > THETA_MAX)
            theta[i] = THETA_MAX;
        if (theta[i] < -THETA_MAX)
            theta[i] = -THETA_MAX;
    }
}

SPARSE_API int sparse_gp_fit(sparse_gp *gp, sparse_rng *rng)
{
    SPARSE__CHECK_NULL(gp);
    sparse__gsl_quiet();
    if (gp->n == 0)
        return SPARSE_OK;
    fit_work w;
    int rc = work_alloc(&w, gp, gp->opts.use_priors);
    size_t P = gp->dim + 2;
    gsl_vector *x = gsl_vector_alloc(P);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, P);
    if (rc == SPARSE_OK && (!x || !s))
        rc = sparse__error(SPARSE_ENOMEM, "sparse_gp_fit: GSL allocation failed");
    if (rc)
        goto done;
    gsl_multimin_function_fdf fdf = {mm_f, mm_df, mm_fdf, P, &w};
    int starts = rng ? gp->opts.restarts : 1;
    for (int r = 0; r < starts; r++) {
        if (r == 0) {
            current_theta(gp, x->data);
        } else {
            /* Random starts spread over the prior's bulk. */
            for (size_t d = 0; d < gp->dim; d++)
                gsl_vector_set(x, d, PRIOR_LS_MU + 1.5 * PRIOR_LS_SD * (2 * sparse_rng_uniform(rng) - 1));
            gsl_vector_set(x, gp->dim, PRIOR_SF_MU + PRIOR_SF_SD * (2 * sparse_rng_uniform(rng) - 1));
            gsl_vector_set(x, gp->dim + 1, log(1e-4) + log(1e3) * sparse_rng_uniform(rng));
        }
        if (gsl_multimin_fdfminimizer_set(s, &fdf, x, 0.1, 0.1) != GSL_SUCCESS)
            continue;
        for (int it = 0; it < gp->opts.max_iter; it++) {
            int st = gsl_multimin_fdfminimizer_iterate(s);
            if (st != GSL_SUCCESS)
                break;
            if (gsl_multimin_test_gradient(s->gradient, 1e-5) == GSL_SUCCESS)
                break;
        }
    }
    if (!w.have_best) {
        rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_fit: covariance not positive definite at any "
                           "hyper-parameters tried (%zu observations)", gp->n);
        goto done;
    }
    {
        size_t D = gp->dim;
        for (size_t d = 0; d < D; d++)
            gp->ls[d] = exp(w.best_theta[d]);
        gp->sf2 = exp(w.best_theta[D]);
        gp->noise = gp->opts.noise_min + exp(w.best_theta[D + 1]);
    }
    rc = sparse__gp_refactor(gp);
done:
    if (s)
        gsl_multimin_fdfminimizer_free(s);
    if (x)
        gsl_vector_free(x);
    work_free(&w);
    return rc;
}
