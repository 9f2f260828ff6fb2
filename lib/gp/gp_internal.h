/* Internals shared by the gp module's files (kernel, gp, fit, mobo). */
#ifndef SPARSE_GP_INTERNAL_H
#define SPARSE_GP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/gp.h"

/* Kernel hyper-parameters in natural units. */
typedef struct sparse__gp_kparams {
    size_t dim;
    int kind;          /* sparse_kernel */
    int inactive_rule;
    const double *ls;  /* dim lengthscales */
    double sf2;        /* signal variance */
} sparse__gp_kparams;

/* k(a, b). */
double sparse__gp_kernel(const sparse__gp_kparams *kp, const double *a, const double *b);
/* out (n x m, row stride ldo) = k(X_i, Y_j); X n x dim, Y m x dim. When
 * X == Y and n == m only the lower triangle is computed and mirrored. */
void sparse__gp_kernel_matrix(const sparse__gp_kparams *kp, size_t n, const double *X, size_t m,
                              const double *Y, double *out, size_t ldo);
/* K (n x n, full) = k(X_i, X_j) and R2 = scaled squared distances. */
void sparse__gp_kernel_matrix_r2(const sparse__gp_kparams *kp, size_t n, const double *X, double *K,
                                 double *R2);
/* Accumulates 0.5 * sum_ij W_ij dK_ij/dtheta for theta = log l_d (into
 * grad[0..dim-1]) and log sf2 (into grad[dim]); W symmetric n x n, K0 and
 * R2 from sparse__gp_kernel_matrix_r2 (R2 is overwritten), MX scratch n x dim.
 * Returns a GSL status. */
int sparse__gp_kernel_grad(const sparse__gp_kparams *kp, size_t n, const double *X, const double *W,
                           const double *K0, double *R2, double *MX, double *grad);

/* The GP's training state, exposed to fit.c. */
struct sparse_gp {
    sparse_gp_options opts;
    size_t dim;
    size_t n, cap;     /* observations, allocated rows */
    double *X;         /* cap x dim */
    double *y;         /* cap raw targets */
    double *ys;        /* cap standardised targets */
    double *obs_noise; /* cap: each observation's own noise variance, in y's units (0: none) */
    int any_obs_noise; /* some obs_noise[i] > 0: the factor depends on y_scale */
    double y_mean, y_scale;
    double *ls;        /* dim */
    double sf2, noise;
    double jitter;     /* added by the last factorisation */
    double *L;         /* cap x cap, lower Cholesky factor of K + (noise+jitter) I */
    double *alpha;     /* cap: (K + noise I)^-1 ys */
    int factored;
    /* A schedule's chain (schedule.c): the factor of its first chain_base
     * rows, standardised over them, then rows appended one at a time up to
     * chain_rows (a driver's pending points after them). chain_anchor: the
     * observation count of the base. */
    int chain;
    size_t chain_base, chain_anchor, chain_rows;
};

/* Recomputes ys, y_mean, y_scale from y[0..n). */
void sparse__gp_standardize(sparse_gp *gp);
/* The diagonal of observation i beyond the kernel: the fitted noise (noise,
 * standardised units) plus the observation's own, standardised. */
double sparse__gp_diag_noise(const sparse_gp *gp, size_t i, double noise);
/* Appends x at the GP's posterior mean there (a "kriging believer": what a
 * pending evaluation is taken to return) with the observation noise
 * noise_var (y's units), leaving the standardisation and hyper-parameters
 * as they are, so the posterior variance shrinks around x and nowhere
 * else moves. */
int sparse__gp_add_believer(sparse_gp *gp, const double *x, double noise_var);
/* The same for P points Xp (P x dim) at once: their means all come from
 * the GP before them (a believer at the posterior mean moves no mean), and
 * the factor grows by one block (dtrsm, dsyrk and a P x P Cholesky)
 * instead of P rows. */
int sparse__gp_add_believers(sparse_gp *gp, size_t P, const double *Xp, double noise_var);
/* Appends an observation without standardising again (the rows of a
 * chain, schedule.c): its target takes the current mean and scale, the
 * factor one row (a full refactorisation after a near duplicate); alpha is
 * left for sparse__gp_solve_alpha after the last row. */
int sparse__gp_append_row(sparse_gp *gp, const double *x, double y, double noise_var);
/* Factorises K + noise I from scratch (with growing jitter on failure) and
 * computes alpha. */
int sparse__gp_refactor(sparse_gp *gp);
/* v <- (L L')^-1 v (n values) with the current factor. */
int sparse__gp_solve(const sparse_gp *gp, double *v);
/* Solves for alpha with the current L and ys. */
int sparse__gp_solve_alpha(sparse_gp *gp);

/* z <- V sqrt(max(L, 0)) z for the eigendecomposition S = V L V' (the lower
 * triangle of S is read, then destroyed; C is m x m scratch): a sample of
 * N(0, S) from m standard normals when S is only nearly positive
 * semi-definite. */
int sparse__gp_correlate_by_eigen(double *S, size_t m, double *C, double *z);

/* Random Fourier features of a kernel (pathwise.c): phi(x) = scale *
 * cos(W' e(x) + b), whose inner products approximate k; e embeds a point
 * (de = dim, or 2 dim with the conditional rule). */
typedef struct sparse__gp_rff {
    size_t L, de, per;
    int inactive_rule;
    double scale;
    double *W; /* de x L frequencies, over the lengthscales */
    double *b; /* L phases */
} sparse__gp_rff;
int sparse__gp_rff_draw(const sparse__gp_kparams *kp, size_t L, sparse_rng *rng, sparse__gp_rff *f);
/* Phi (rows x L) = phi of rows points of X (rows x dim); E (rows x de) scratch. */
int sparse__gp_rff_features(const sparse__gp_rff *f, size_t dim, size_t rows, const double *X, double *E,
                            double *Phi);
void sparse__gp_rff_free(sparse__gp_rff *f);
/* One joint posterior sample over m points, as sparse_gp_sample, by
 * pathwise conditioning of an L-feature prior function (pathwise.c). */
int sparse__gp_sample_pathwise(const sparse_gp *gp, size_t m, const double *Xs, sparse_rng *rng, size_t L,
                               double *out);
/* The MOBO driver samples pathwise over at least SPARSE__GP_PATHWISE_MIN
 * candidates (below, the exact sample costs less), with
 * SPARSE__GP_FEATURES features. */
#define SPARSE__GP_PATHWISE_MIN 512
#define SPARSE__GP_FEATURES 1024

/* Per objective j of n observations (values n x k, row-major): lo[j], the
 * best (smallest) value, and hi[j], the median, where the scalarisation
 * scales each objective by the spread of the better half of the
 * observations. A min-max range let one collapsed training (10% accuracy
 * on MNIST) stretch the error axis so far that every gain among good
 * networks looked negligible next to a smaller size. hi[j] falls back to the
 * maximum when more than half the values tie with the best. */
int sparse__gp_objective_scales(const double *values, size_t n, size_t k, double *lo, double *hi);

/* The objective sparse_gp_fit maximises, at log-parameters theta =
 * [log l_1..log l_dim, log signal_var, log(noise - noise_min)] (dim + 2
 * values): *value = LML (+ log prior if with_prior) and grad (dim + 2, may
 * be NULL) its gradient. */
int sparse__gp_objective(const sparse_gp *gp, const double *theta, int with_prior, double *value,
                         double *grad);

/* lambda ~ Dirichlet(alpha, ..., alpha) over k entries (sums to 1): the
 * MOBO driver's random scalarisation weights. */
int sparse__dirichlet_sample(sparse_rng *rng, size_t k, double alpha, double *lambda);

/* The hyper-parameter schedule (declared for users in sparse/experimental.h,
 * which this module may not include). */
typedef struct sparse_exp_gp_schedule sparse_exp_gp_schedule;
SPARSE_API int sparse_exp_gp_schedule_create(sparse_exp_gp_schedule **out, uint64_t seed);
SPARSE_API void sparse_exp_gp_schedule_free(sparse_exp_gp_schedule *s);
SPARSE_API size_t sparse_exp_gp_schedule_point(size_t n);
SPARSE_API int sparse_exp_mobo_set_schedule(sparse_mobo *m, sparse_exp_gp_schedule *s);

/* At most this many observations enter a scheduled hyper-parameter fit
 * (and a fit from the previous point's at most SPARSE__GP_WARM_ITER BFGS
 * iterations), and at most SPARSE__GP_SOD_CAP a scheduled MOBO driver's GPs. */
#define SPARSE__GP_WARM_ITER 30
#define SPARSE__GP_FIT_CAP 256
#define SPARSE__GP_SOD_CAP 1536

/* A MOBO driver's observations as the schedule sees them. */
typedef struct sparse__gp_obs {
    size_t n, k, dim;
    const double *enc;     /* n x dim */
    const double *tvalues; /* n x k */
    const double *tnoise;  /* n x k */
} sparse__gp_obs;

/* Indices (ascending, into idx: min(n, cap) entries) of the subset of n
 * observations a GP limited to cap keeps; returns their number. */
size_t sparse__gp_subset(size_t n, size_t cap, size_t *idx);
/* theta (k x (dim + 2): lengthscales, signal variance, noise per objective)
 * for o's observations: the fit at the schedule point of o->n, fitted (with
 * the chain before it) unless memoised. */
int sparse__gp_schedule_hyper(sparse_exp_gp_schedule *s, const sparse__gp_obs *o, const sparse_gp_options *go,
                              double *theta);
/* The GP of objective j for a driver into *gp (the driver's, replaced):
 * rows (X, y, nv: ns of them, dim wide) at hyper-parameters theta (dim +
 * 2), the first nb the base of the chain anchored at observation count
 * anchor. A chain that fits (the same base and theta, its rows a prefix of
 * these: the driver's own, or the one the schedule keeps, which the driver
 * then borrows) is extended, else *gp is built again from the base; either
 * way the result is bit for bit the same (the base's factor, then one row
 * at a time), so a resumed run proposes what an uninterrupted one did. */
int sparse__gp_schedule_chain(sparse_exp_gp_schedule *s, size_t j, const sparse_gp_options *go, size_t dim,
                              const double *theta, size_t anchor, size_t nb, size_t ns, const double *X,
                              const double *y, const double *nv, sparse_gp **gp);
/* A driver gives the GP of objective j back (freed when it is no chain). */
void sparse__gp_schedule_return(sparse_exp_gp_schedule *s, size_t j, sparse_gp *gp);
/* The observation count a chain of n observations is anchored at: the
 * schedule point of n or the last multiple of SPARSE__GP_CHAIN_BLOCK, the
 * later; past SPARSE__GP_SOD_CAP its base is a subset of
 * SPARSE__GP_SOD_CAP - SPARSE__GP_CHAIN_BLOCK of the first anchor ones. */
size_t sparse__gp_chain_anchor(size_t n);
#define SPARSE__GP_CHAIN_BLOCK 128
/* Sets the hyper-parameters without refactorising (the caller sets data next). */
void sparse__gp_put_hyper(sparse_gp *gp, const double *ls, double sf2, double noise);

#endif
