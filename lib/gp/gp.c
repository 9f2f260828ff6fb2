/* sparse_gp: data, factorisation, incremental update, prediction and joint
 * posterior samples. Hyper-parameter fitting lives in fit.c. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "gp_internal.h"

SPARSE__STRUCT_VERSIONS(gp_options_versions, sparse_gp_options, SPARSE_GP_OPTIONS_INIT,
                        SPARSE_GP_OPTIONS_VERSION, sizeof(sparse_gp_options));

SPARSE_API int sparse_gp_options_init(sparse_gp_options *opts, unsigned version)
{
    return sparse__struct_init(&gp_options_versions, opts, version);
}

static int check_options(const sparse_gp_options *o)
{
    if (o->kernel != SPARSE_KERNEL_MATERN52 && o->kernel != SPARSE_KERNEL_RBF)
        return sparse__error(SPARSE_EINVAL, "sparse_gp_options.kernel: unknown kernel %d", o->kernel);
    if (o->restarts < 1 || o->max_iter < 1)
        return sparse__error(SPARSE_EINVAL, "sparse_gp_options: restarts (%d) and max_iter (%d) "
                             "must be >= 1", o->restarts, o->max_iter);
    if (!(o->noise_min >= 0) || !isfinite(o->noise_min))
        return sparse__error(SPARSE_EINVAL, "sparse_gp_options.noise_min: %g", o->noise_min);
    if (!(o->jitter > 0) || !(o->jitter < 1e-2))
        return sparse__error(SPARSE_EINVAL, "sparse_gp_options.jitter: %g not in (0, 1e-2)",
                             o->jitter);
    return SPARSE_OK;
}

SPARSE_API int sparse_gp_create(sparse_gp **out, size_t dim, const sparse_gp_options *opts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse__gsl_quiet();
    if (dim == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_gp_create: dim is 0");
    sparse_gp_options o;
    int rc = sparse__struct_read(&gp_options_versions, &o, opts, "sparse_gp_create");
    if (!rc)
        rc = check_options(&o);
    if (rc)
        return rc;
    sparse_gp *gp = sparse__calloc(1, sizeof *gp);
    if (!gp)
        return SPARSE_ENOMEM;
    gp->opts = o;
    gp->dim = dim;
    gp->ls = sparse__calloc(dim, sizeof *gp->ls);
    if (!gp->ls) {
        free(gp);
        return SPARSE_ENOMEM;
    }
    for (size_t d = 0; d < dim; d++)
        gp->ls[d] = 0.5;
    gp->sf2 = 1.0;
    gp->noise = 1e-2 > o.noise_min ? 1e-2 : o.noise_min;
    gp->y_scale = 1.0;
    gp->factored = 1;
    *out = gp;
    return SPARSE_OK;
}

SPARSE_API void sparse_gp_free(sparse_gp *gp)
{
    if (!gp)
        return;
    free(gp->X);
    free(gp->y);
    free(gp->ys);
    free(gp->obs_noise);
    free(gp->ls);
    free(gp->L);
    free(gp->alpha);
    free(gp);
}

SPARSE_API size_t sparse_gp_dim(const sparse_gp *gp) { return gp ? gp->dim : 0; }
SPARSE_API size_t sparse_gp_observation_count(const sparse_gp *gp) { return gp ? gp->n : 0; }
SPARSE_API double sparse_gp_jitter(const sparse_gp *gp) { return gp ? gp->jitter : 0.0; }

/* Grows every per-observation buffer to hold cap rows; L keeps its rows. */
static int reserve(sparse_gp *gp, size_t cap)
{
    if (cap <= gp->cap)
        return SPARSE_OK;
    size_t nc = gp->cap ? gp->cap : 16;
    while (nc < cap)
        nc *= 2;
    size_t bytes;
    if (sparse__mul_size(nc, nc, &bytes) || sparse__mul_size(bytes, sizeof(double), &bytes) ||
        sparse__mul_size(nc, gp->dim * sizeof(double), &bytes))
        return sparse__error(SPARSE_ENOMEM, "sparse_gp: %zu observations overflow", cap);
    double *X = sparse__realloc(gp->X, nc * gp->dim * sizeof(double));
    if (!X)
        return SPARSE_ENOMEM;
    gp->X = X;
    double *y = sparse__realloc(gp->y, nc * sizeof(double));
    if (!y)
        return SPARSE_ENOMEM;
    gp->y = y;
    double *ys = sparse__realloc(gp->ys, nc * sizeof(double));
    if (!ys)
        return SPARSE_ENOMEM;
    gp->ys = ys;
    double *on = sparse__realloc(gp->obs_noise, nc * sizeof(double));
    if (!on)
        return SPARSE_ENOMEM;
    gp->obs_noise = on;
    double *a = sparse__realloc(gp->alpha, nc * sizeof(double));
    if (!a)
        return SPARSE_ENOMEM;
    gp->alpha = a;
    double *L = sparse__calloc(nc * nc, sizeof(double));
    if (!L)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < gp->n; i++)
        memcpy(L + i * nc, gp->L + i * gp->cap, (i + 1) * sizeof(double));
    free(gp->L);
    gp->L = L;
    gp->cap = nc;
    return SPARSE_OK;
}

void sparse__gp_standardize(sparse_gp *gp)
{
    size_t n = gp->n;
    double mean = 0, var = 0;
    if (gp->opts.normalize_y && n > 0) {
        for (size_t i = 0; i < n; i++)
            mean += gp->y[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            var += (gp->y[i] - mean) * (gp->y[i] - mean);
        var /= (double)n;
    }
    double scale = 1.0;
    /* A constant objective carries no scale: only centre it. */
    if (gp->opts.normalize_y && var > 0 && sqrt(var) > 1e-12 * (fabs(mean) + 1e-300))
        scale = sqrt(var);
    gp->y_mean = mean;
    gp->y_scale = scale;
    for (size_t i = 0; i < n; i++)
        gp->ys[i] = (gp->y[i] - mean) / scale;
}

double sparse__gp_diag_noise(const sparse_gp *gp, size_t i, double noise)
{
    return noise + gp->obs_noise[i] / (gp->y_scale * gp->y_scale);
}

static sparse__gp_kparams kparams(const sparse_gp *gp)
{
    sparse__gp_kparams kp = {gp->dim, gp->opts.kernel, gp->opts.inactive_rule, gp->ls, gp->sf2};
    return kp;
}

int sparse__gp_solve(const sparse_gp *gp, double *v)
{
    size_t n = gp->n;
    if (n == 0)
        return SPARSE_OK;
    gsl_matrix_const_view L = gsl_matrix_const_view_array_with_tda(gp->L, n, n, gp->cap);
    gsl_vector_view a = gsl_vector_view_array(v, n);
    int s = gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &L.matrix, &a.vector);
    if (!s)
        s = gsl_blas_dtrsv(CblasLower, CblasTrans, CblasNonUnit, &L.matrix, &a.vector);
    if (s)
        return sparse__error(SPARSE_ENUMERIC, "sparse_gp: triangular solve failed (%s)", gsl_strerror(s));
    return SPARSE_OK;
}

int sparse__gp_solve_alpha(sparse_gp *gp)
{
    size_t n = gp->n;
    if (n == 0)
        return SPARSE_OK;
    memcpy(gp->alpha, gp->ys, n * sizeof(double));
    int rc = sparse__gp_solve(gp, gp->alpha);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(gp->alpha[i]))
            return sparse__error(SPARSE_ENUMERIC, "sparse_gp: non-finite weights (ill-conditioned "
                                 "covariance, jitter %g)", gp->jitter);
    return SPARSE_OK;
}

int sparse__gp_refactor(sparse_gp *gp)
{
    size_t n = gp->n;
    gp->factored = 0;
    if (n == 0) {
        gp->factored = 1;
        gp->jitter = 0;
        return SPARSE_OK;
    }
    sparse__gp_kparams kp = kparams(gp);
    double jitter = 0;
    for (;;) {
        sparse__gp_kernel_matrix(&kp, n, gp->X, n, gp->X, gp->L, gp->cap);
        for (size_t i = 0; i < n; i++)
            gp->L[i * gp->cap + i] += sparse__gp_diag_noise(gp, i, gp->noise) + jitter;
        gsl_matrix_view K = gsl_matrix_view_array_with_tda(gp->L, n, n, gp->cap);
        int s = gsl_linalg_cholesky_decomp1(&K.matrix);
        if (s == GSL_SUCCESS)
            break;
        jitter = jitter == 0 ? gp->opts.jitter * gp->sf2 : jitter * 10;
        if (jitter > 1e-2 * gp->sf2)
            return sparse__error(SPARSE_ENUMERIC, "sparse_gp: covariance not positive definite even "
                                 "with jitter %g (%zu observations)", jitter / 10, n);
    }
    gp->jitter = jitter;
    /* decomp1 leaves L^T in the upper triangle; zero it so the buffer holds
     * L alone and incremental rows stay consistent. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            gp->L[i * gp->cap + j] = 0;
    int rc = sparse__gp_solve_alpha(gp);
    if (rc == SPARSE_OK)
        gp->factored = 1;
    return rc;
}

static int check_row(const sparse_gp *gp, const double *x, double y, double noise_var, size_t index)
{
    if (!(noise_var >= 0) || !isfinite(noise_var))
        return sparse__error(SPARSE_ENUMERIC, "sparse_gp: observation %zu: noise variance %g (need finite >= 0)",
                             index, noise_var);
    for (size_t d = 0; d < gp->dim; d++)
        if (!isfinite(x[d]))
            return sparse__error(SPARSE_ENUMERIC, "sparse_gp: observation %zu: input coordinate %zu "
                                 "is %s", index, d, isnan(x[d]) ? "NaN" : "infinite");
    if (!isfinite(y))
        return sparse__error(SPARSE_ENUMERIC, "sparse_gp: observation %zu: target is %s", index,
                             isnan(y) ? "NaN" : "infinite");
    return SPARSE_OK;
}

SPARSE_API int sparse_gp_set_data_noisy(sparse_gp *gp, size_t n, const double *X, const double *y,
                                        const double *noise_var)
{
    SPARSE__CHECK_NULL(gp);
    if (n > 0) {
        SPARSE__CHECK_NULL(X);
        SPARSE__CHECK_NULL(y);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = check_row(gp, X + i * gp->dim, y[i], noise_var ? noise_var[i] : 0.0, i);
        if (rc)
            return rc;
    }
    gp->n = 0;
    int rc = reserve(gp, n);
    if (rc)
        return rc;
    gp->any_obs_noise = 0;
    if (n) {
        memcpy(gp->X, X, n * gp->dim * sizeof(double));
        memcpy(gp->y, y, n * sizeof(double));
    }
    for (size_t i = 0; i < n; i++) {
        gp->obs_noise[i] = noise_var ? noise_var[i] : 0.0;
        gp->any_obs_noise |= gp->obs_noise[i] > 0;
    }
    gp->n = n;
    gp->chain = 0;
    sparse__gp_standardize(gp);
    return sparse__gp_refactor(gp);
}

SPARSE_API int sparse_gp_set_data(sparse_gp *gp, size_t n, const double *X, const double *y)
{
    return sparse_gp_set_data_noisy(gp, n, X, y, NULL);
}

/* Drops the last observation after a failed update, so the GP is as it was. */
static int drop_last(sparse_gp *gp, int code, int any_before)
{
    gp->n--;
    gp->any_obs_noise = any_before;
    sparse__gp_standardize(gp);
    sparse__gp_refactor(gp);
    return sparse__error_prefix(code, "sparse_gp_add: observation %zu", gp->n);
}

/* The new last row of L for observation n = gp->n - 1, by solving L l =
 * k(X, x) and the diagonal from the Schur complement (the hyper-parameters,
 * hence K, unchanged); a full refactorisation when no positive pivot is
 * left (a near duplicate). alpha is not solved. */
static int extend_row(sparse_gp *gp, int *refactored)
{
    size_t n = gp->n - 1;
    const double *x = gp->X + n * gp->dim;
    sparse__gp_kparams kp = kparams(gp);
    double *row = gp->L + n * gp->cap;
    sparse__gp_kernel_matrix(&kp, n, gp->X, 1, x, row, 1);
    double d2 = gp->sf2 + sparse__gp_diag_noise(gp, n, gp->noise) + gp->jitter;
    *refactored = 0;
    if (n > 0) {
        gsl_matrix_view L = gsl_matrix_view_array_with_tda(gp->L, n, n, gp->cap);
        gsl_vector_view l = gsl_vector_view_array(row, n);
        int s = gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &L.matrix, &l.vector);
        if (s)
            d2 = NAN; /* forces the full refactorisation below */
        double dot = 0;
        gsl_blas_ddot(&l.vector, &l.vector, &dot);
        d2 -= dot;
    }
    if (!(d2 > 1e-12 * gp->sf2) || !isfinite(d2)) {
        *refactored = 1;
        return sparse__gp_refactor(gp);
    }
    row[n] = sqrt(d2);
    return SPARSE_OK;
}

static int extend_factor(sparse_gp *gp)
{
    int refactored;
    int rc = extend_row(gp, &refactored);
    return rc || refactored ? rc : sparse__gp_solve_alpha(gp);
}

int sparse__gp_append_row(sparse_gp *gp, const double *x, double y, double noise_var)
{
    int rc = reserve(gp, gp->n + 1), refactored;
    if (rc)
        return rc;
    size_t n = gp->n;
    memcpy(gp->X + n * gp->dim, x, gp->dim * sizeof(double));
    gp->y[n] = y;
    gp->ys[n] = (y - gp->y_mean) / gp->y_scale;
    gp->obs_noise[n] = noise_var;
    gp->any_obs_noise |= noise_var > 0;
    gp->n = n + 1;
    return extend_row(gp, &refactored);
}

SPARSE_API int sparse_gp_add_noisy(sparse_gp *gp, const double *x, double y, double noise_var)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(x);
    int rc = check_row(gp, x, y, noise_var, gp->n);
    if (rc)
        return rc;
    rc = reserve(gp, gp->n + 1);
    if (rc)
        return rc;
    size_t n = gp->n, D = gp->dim;
    int any_before = gp->any_obs_noise;
    memcpy(gp->X + n * D, x, D * sizeof(double));
    gp->y[n] = y;
    gp->obs_noise[n] = noise_var;
    gp->any_obs_noise |= noise_var > 0;
    gp->n = n + 1;
    sparse__gp_standardize(gp);
    /* An observation's own noise is standardised with y, whose scale the
     * new target moves: then the whole factor changes. */
    if (!gp->factored || gp->any_obs_noise)
        rc = sparse__gp_refactor(gp);
    else
        rc = extend_factor(gp);
    return rc ? drop_last(gp, rc, any_before) : SPARSE_OK;
}

SPARSE_API int sparse_gp_add(sparse_gp *gp, const double *x, double y)
{
    return sparse_gp_add_noisy(gp, x, y, 0.0);
}

int sparse__gp_add_believer(sparse_gp *gp, const double *x, double noise_var)
{
    double mean;
    size_t n = gp->n;
    int rc = sparse_gp_predict(gp, 1, x, &mean, NULL);
    if (!rc)
        rc = sparse__gp_append_row(gp, x, mean, noise_var);
    if (!rc)
        rc = sparse__gp_solve_alpha(gp);
    if (rc && gp->n > n) {
        gp->n = n;
        sparse__gp_refactor(gp);
    }
    return rc;
}

/* Rows n0..n-1 of L for the observations appended after n0, as one block:
 * L21 = k(Xb, X) L11^-T (dtrsm) and L22 the factor of the Schur complement
 * k(Xb, Xb) + noise - L21 L21' (dsyrk, Cholesky); K unchanged above. A
 * full refactorisation when the complement has no safe factor. */
static int extend_block(sparse_gp *gp, size_t n0)
{
    size_t n = gp->n, P = n - n0, cap = gp->cap, D = gp->dim;
    sparse__gp_kparams kp = kparams(gp);
    double *B = gp->L + n0 * cap, *C = B + n0;
    int s = GSL_SUCCESS;
    if (n0) {
        sparse__gp_kernel_matrix(&kp, P, gp->X + n0 * D, n0, gp->X, B, cap);
        gsl_matrix_const_view L11 = gsl_matrix_const_view_array_with_tda(gp->L, n0, n0, cap);
        gsl_matrix_view Bv = gsl_matrix_view_array_with_tda(B, P, n0, cap);
        s = gsl_blas_dtrsm(CblasRight, CblasLower, CblasTrans, CblasNonUnit, 1.0, &L11.matrix, &Bv.matrix);
    }
    const double *Xb = gp->X + n0 * D;
    sparse__gp_kernel_matrix(&kp, P, Xb, P, Xb, C, cap);
    for (size_t i = 0; i < P; i++)
        C[i * cap + i] += sparse__gp_diag_noise(gp, n0 + i, gp->noise) + gp->jitter;
    gsl_matrix_view Cv = gsl_matrix_view_array_with_tda(C, P, P, cap);
    if (!s && n0) {
        gsl_matrix_const_view Bv = gsl_matrix_const_view_array_with_tda(B, P, n0, cap);
        s = gsl_blas_dsyrk(CblasLower, CblasNoTrans, -1.0, &Bv.matrix, 1.0, &Cv.matrix);
    }
    if (!s)
        s = gsl_linalg_cholesky_decomp1(&Cv.matrix);
    for (size_t i = 0; !s && i < P; i++) {
        /* as extend_factor: a pivot this small is a near duplicate */
        if (!(C[i * cap + i] * C[i * cap + i] > 1e-12 * gp->sf2))
            s = GSL_EDOM;
        for (size_t j = i + 1; j < P; j++)
            C[i * cap + j] = 0;
    }
    return s ? sparse__gp_refactor(gp) : sparse__gp_solve_alpha(gp);
}

int sparse__gp_add_believers(sparse_gp *gp, size_t P, const double *Xp, double noise_var)
{
    if (P == 0)
        return SPARSE_OK;
    size_t n = gp->n, D = gp->dim;
    double *mean = sparse__malloc(P * sizeof *mean);
    int rc = mean ? sparse_gp_predict(gp, P, Xp, mean, NULL) : SPARSE_ENOMEM;
    if (!rc)
        rc = reserve(gp, n + P);
    if (rc) {
        free(mean);
        return rc;
    }
    int any_before = gp->any_obs_noise;
    memcpy(gp->X + n * D, Xp, P * D * sizeof(double));
    for (size_t i = 0; i < P; i++) {
        gp->y[n + i] = mean[i];
        gp->ys[n + i] = (mean[i] - gp->y_mean) / gp->y_scale;
        gp->obs_noise[n + i] = noise_var;
    }
    free(mean);
    gp->any_obs_noise |= noise_var > 0;
    gp->n = n + P;
    rc = gp->factored ? extend_block(gp, n) : sparse__gp_refactor(gp);
    if (rc) {
        gp->n = n;
        gp->any_obs_noise = any_before;
        sparse__gp_refactor(gp);
    }
    return rc;
}

SPARSE_API int sparse_gp_set_hyper(sparse_gp *gp, const double *lengthscales, double signal_var,
                                   double noise)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(lengthscales);
    for (size_t d = 0; d < gp->dim; d++)
        if (!(lengthscales[d] > 0) || !isfinite(lengthscales[d]))
            return sparse__error(SPARSE_EINVAL, "sparse_gp_set_hyper: lengthscale %zu = %g "
                                 "(need finite > 0)", d, lengthscales[d]);
    if (!(signal_var > 0) || !isfinite(signal_var))
        return sparse__error(SPARSE_EINVAL, "sparse_gp_set_hyper: signal_var = %g", signal_var);
    if (!(noise >= 0) || !isfinite(noise))
        return sparse__error(SPARSE_EINVAL, "sparse_gp_set_hyper: noise = %g", noise);
    memcpy(gp->ls, lengthscales, gp->dim * sizeof(double));
    gp->sf2 = signal_var;
    gp->noise = noise;
    return sparse__gp_refactor(gp);
}

void sparse__gp_put_hyper(sparse_gp *gp, const double *ls, double sf2, double noise)
{
    memcpy(gp->ls, ls, gp->dim * sizeof(double));
    gp->sf2 = sf2;
    gp->noise = noise;
}

SPARSE_API int sparse_gp_get_hyper(const sparse_gp *gp, double *lengthscales, double *signal_var,
                                   double *noise)
{
    SPARSE__CHECK_NULL(gp);
    if (lengthscales)
        memcpy(lengthscales, gp->ls, gp->dim * sizeof(double));
    if (signal_var)
        *signal_var = gp->sf2;
    if (noise)
        *noise = gp->noise;
    return SPARSE_OK;
}

SPARSE_API int sparse_gp_log_marginal_likelihood(const sparse_gp *gp, double *lml)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(lml);
    if (!gp->factored)
        return sparse__error(SPARSE_ENUMERIC, "sparse_gp_log_marginal_likelihood: no valid "
                             "factorisation (last update failed)");
    double v = 0;
    for (size_t i = 0; i < gp->n; i++)
        v += -0.5 * gp->ys[i] * gp->alpha[i] - log(gp->L[i * gp->cap + i]);
    *lml = v - 0.5 * (double)gp->n * log(2 * M_PI);
    return SPARSE_OK;
}

static int check_points(const sparse_gp *gp, size_t m, const double *Xs, const char *fn)
{
    if (!gp->factored)
        return sparse__error(SPARSE_ENUMERIC, "%s: no valid factorisation (last update failed)", fn);
    for (size_t i = 0; i < m * gp->dim; i++)
        if (!isfinite(Xs[i]))
            return sparse__error(SPARSE_EINVAL, "%s: point %zu coordinate %zu is not finite", fn,
                                 i / gp->dim, i % gp->dim);
    return SPARSE_OK;
}

/* Posterior in standardised units: mean (m), and V = L^-1 k(X, Xs) (n x m,
 * caller frees) when Vout is given. */
static int posterior(const sparse_gp *gp, size_t m, const double *Xs, double *mean, double **Vout)
{
    size_t n = gp->n;
    if (Vout)
        *Vout = NULL;
    if (n == 0) {
        for (size_t j = 0; j < m; j++)
            mean[j] = 0;
        return SPARSE_OK;
    }
    size_t cnt;
    if (sparse__mul_size(n, m, &cnt) || sparse__mul_size(cnt, sizeof(double), &cnt))
        return sparse__error(SPARSE_ENOMEM, "sparse_gp: %zu x %zu cross-covariance overflows", n, m);
    double *V = sparse__malloc(cnt);
    if (!V)
        return SPARSE_ENOMEM;
    sparse__gp_kparams kp = kparams(gp);
    sparse__gp_kernel_matrix(&kp, n, gp->X, m, Xs, V, m);
    gsl_matrix_view Vm = gsl_matrix_view_array(V, n, m);
    gsl_vector_view mv = gsl_vector_view_array(mean, m);
    gsl_vector_const_view av = gsl_vector_const_view_array(gp->alpha, n);
    int s = gsl_blas_dgemv(CblasTrans, 1.0, &Vm.matrix, &av.vector, 0.0, &mv.vector);
    if (!s && Vout) {
        gsl_matrix_const_view L = gsl_matrix_const_view_array_with_tda(gp->L, n, n, gp->cap);
        s = gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, &L.matrix,
                           &Vm.matrix);
    }
    if (s) {
        free(V);
        return sparse__error(SPARSE_ENUMERIC, "sparse_gp: BLAS failure (%s)", gsl_strerror(s));
    }
    if (Vout)
        *Vout = V;
    else
        free(V);
    return SPARSE_OK;
}

SPARSE_API int sparse_gp_predict(const sparse_gp *gp, size_t m, const double *Xs, double *mean,
                                 double *var)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(Xs);
    SPARSE__CHECK_NULL(mean);
    int rc = check_points(gp, m, Xs, "sparse_gp_predict");
    if (rc || m == 0)
        return rc;
    double *V = NULL;
    rc = posterior(gp, m, Xs, mean, var ? &V : NULL);
    if (rc)
        return rc;
    double sc = gp->y_scale;
    for (size_t j = 0; j < m; j++)
        mean[j] = mean[j] * sc + gp->y_mean;
    if (var) {
        for (size_t j = 0; j < m; j++) {
            double q = 0;
            for (size_t i = 0; i < gp->n; i++)
                q += V[i * m + j] * V[i * m + j];
            double v = gp->sf2 - q;
            var[j] = (v > 0 ? v : 0) * sc * sc;
        }
    }
    free(V);
    return SPARSE_OK;
}

/* Rounding can leave the posterior covariance of many close candidates with
 * eigenvalues a little below zero, beyond what a jitter that keeps the
 * sample honest can lift (seen in a 150-trial MNIST search over 256
 * candidates): clipping them samples from the nearest positive
 * semi-definite covariance. */
int sparse__gp_correlate_by_eigen(double *S, size_t m, double *C, double *z)
{
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(m);
    gsl_vector *eval = gsl_vector_alloc(m), *tmp = gsl_vector_alloc(m);
    int rc = SPARSE_OK;
    if (!w || !eval || !tmp) {
        rc = sparse__error(SPARSE_ENOMEM, "sparse_gp_sample: eigen workspace for %zu candidates", m);
        goto done;
    }
    gsl_matrix_view Sm = gsl_matrix_view_array(S, m, m), Vm = gsl_matrix_view_array(C, m, m);
    int s = gsl_eigen_symmv(&Sm.matrix, eval, &Vm.matrix, w);
    if (s) {
        rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_sample: eigendecomposition of the posterior "
                           "covariance over %zu candidates failed (%s)", m, gsl_strerror(s));
        goto done;
    }
    for (size_t i = 0; i < m; i++)
        gsl_vector_set(tmp, i, sqrt(fmax(gsl_vector_get(eval, i), 0.0)) * z[i]);
    gsl_vector_view zv = gsl_vector_view_array(z, m);
    s = gsl_blas_dgemv(CblasNoTrans, 1.0, &Vm.matrix, tmp, 0.0, &zv.vector);
    if (s)
        rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_sample: dgemv failed (%s)", gsl_strerror(s));
done:
    gsl_eigen_symmv_free(w);
    gsl_vector_free(eval);
    gsl_vector_free(tmp);
    return rc;
}

SPARSE_API int sparse_gp_sample(const sparse_gp *gp, size_t m, const double *Xs, sparse_rng *rng,
                                double *out)
{
    SPARSE__CHECK_NULL(gp);
    SPARSE__CHECK_NULL(Xs);
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(out);
    int rc = check_points(gp, m, Xs, "sparse_gp_sample");
    if (rc || m == 0)
        return rc;
    size_t cnt;
    if (sparse__mul_size(m, m, &cnt) || sparse__mul_size(cnt, sizeof(double), &cnt))
        return sparse__error(SPARSE_ENOMEM, "sparse_gp_sample: %zu candidates overflow", m);
    double *S = sparse__malloc(cnt), *C = sparse__malloc(cnt), *z = sparse__calloc(m, sizeof *z);
    double *V = NULL;
    if (!S || !C || !z) {
        rc = SPARSE_ENOMEM;
        goto done;
    }
    rc = posterior(gp, m, Xs, out, gp->n ? &V : NULL);
    if (rc)
        goto done;
    sparse__gp_kparams kp = kparams(gp);
    sparse__gp_kernel_matrix(&kp, m, Xs, m, Xs, S, m);
    gsl_matrix_view Sm = gsl_matrix_view_array(S, m, m);
    if (V) {
        gsl_matrix_view Vm = gsl_matrix_view_array(V, gp->n, m);
        int s = gsl_blas_dsyrk(CblasLower, CblasTrans, -1.0, &Vm.matrix, 1.0, &Sm.matrix);
        if (s) {
            rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_sample: dsyrk failed (%s)",
                               gsl_strerror(s));
            goto done;
        }
    }
    /* The posterior covariance over close or repeated candidates is singular
     * in exact arithmetic: retry with growing jitter. */
    gsl_matrix_view Cm = gsl_matrix_view_array(C, m, m);
    double jitter = gp->opts.jitter * gp->sf2;
    int factored = 0;
    for (; jitter <= 1e-2 * gp->sf2; jitter *= 10) {
        memcpy(C, S, cnt);
        for (size_t i = 0; i < m; i++)
            C[i * m + i] += jitter;
        if (gsl_linalg_cholesky_decomp1(&Cm.matrix) == GSL_SUCCESS) {
            factored = 1;
            break;
        }
    }
    for (size_t i = 0; i < m; i++)
        z[i] = sparse_rng_normal(rng);
    gsl_vector_view zv = gsl_vector_view_array(z, m);
    if (factored) {
        int s = gsl_blas_dtrmv(CblasLower, CblasNoTrans, CblasNonUnit, &Cm.matrix, &zv.vector);
        if (s) {
            rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_sample: dtrmv failed (%s)", gsl_strerror(s));
            goto done;
        }
    } else {
        rc = sparse__gp_correlate_by_eigen(S, m, C, z);
        if (rc)
            goto done;
    }
    for (size_t j = 0; j < m; j++) {
        out[j] = (out[j] + z[j]) * gp->y_scale + gp->y_mean;
        if (!isfinite(out[j])) {
            rc = sparse__error(SPARSE_ENUMERIC, "sparse_gp_sample: non-finite sample at candidate %zu", j);
            goto done;
        }
    }
done:
    free(S);
    free(C);
    free(z);
    free(V);
    return rc;
}
