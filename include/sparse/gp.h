/*
 * Gaussian-process surrogate and multi-objective Bayesian optimisation
 * (random Chebyshev scalarisations + Thompson sampling, Paria et al. 2019,
 * as used by SpArSe, Fedorov et al. 2019, section 3.4).
 *
 * Usable on its own by any C program for black-box optimisation:
 *  - sparse_space  describes a mixed search space (real, integer,
 *                  categorical and conditional variables) and encodes points
 *                  into GP inputs;
 *  - sparse_gp     is GP regression in double precision (GSL);
 *  - sparse_pareto_* / sparse_hypervolume work on objective matrices;
 *  - sparse_mobo   ties them together: observe points, propose the next one.
 *
 * All objectives are minimised. Matrices are row-major, one row per point.
 * Every function is deterministic for a given seed / sparse_rng state.
 */
#ifndef SPARSE_GP_H
#define SPARSE_GP_H

#include "sparse/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Search space
 * ==================================================================== */

typedef struct sparse_space sparse_space;

typedef enum sparse_var_kind {
    SPARSE_VAR_REAL = 0,
    SPARSE_VAR_INT = 1,
    SPARSE_VAR_CATEGORICAL = 2
} sparse_var_kind;

/* Value an encoded coordinate takes when its variable is inactive. The GP's
 * conditional rule (sparse_gp_options.inactive_rule) recognises it. */
#define SPARSE_SPACE_INACTIVE (-1.0)

/* Creates an empty space. *out owned by the caller (sparse_space_free). */
SPARSE_API int sparse_space_create(sparse_space **out);
SPARSE_API void sparse_space_free(sparse_space *space);
/* Deep copy. *out owned by the caller. */
SPARSE_API int sparse_space_clone(sparse_space **out, const sparse_space *space);

/* Adds a real variable in [lo, hi] (lo < hi; lo > 0 when log_scale is
 * non-zero, then it is normalised on a log scale). name is copied; names are
 * unique. *index (may be NULL) receives the variable's index. */
SPARSE_API int sparse_space_add_real(sparse_space *space, const char *name, double lo, double hi,
                                     int log_scale, size_t *index);
/* Adds an integer variable in [lo, hi] (lo <= hi; lo >= 1 when log_scale). */
SPARSE_API int sparse_space_add_int(sparse_space *space, const char *name, long lo, long hi,
                                    int log_scale, size_t *index);
/* Adds a categorical variable with choice_count >= 1 choices, valued by the
 * choice index 0..choice_count-1 (one-hot encoded). */
SPARSE_API int sparse_space_add_categorical(sparse_space *space, const char *name,
                                            size_t choice_count, size_t *index);
/* Makes variable `var` active only when variable `parent` (an integer or
 * categorical variable added before var) is active and takes one of the
 * value_count values in `values` (copied; category indices for categoricals). */
SPARSE_API int sparse_space_set_condition(sparse_space *space, size_t var, size_t parent,
                                          const double *values, size_t value_count);

SPARSE_API size_t sparse_space_var_count(const sparse_space *space);
/* Length of the encoded vector (reals and integers: 1; categoricals:
 * choice_count). 0 for NULL. */
SPARSE_API size_t sparse_space_encoded_dim(const sparse_space *space);
/* 1 if any variable is conditional. */
SPARSE_API int sparse_space_has_conditions(const sparse_space *space);
/* Index of the variable called name; SPARSE_ENOTFOUND if none. */
SPARSE_API int sparse_space_find(const sparse_space *space, const char *name, size_t *index);
/* Borrowed name of variable i (NULL if out of range), valid while space lives. */
SPARSE_API const char *sparse_space_var_name(const sparse_space *space, size_t i);
SPARSE_API int sparse_space_var_kind(const sparse_space *space, size_t i, sparse_var_kind *kind);
/* Bounds of variable i: [lo, hi] for reals and integers, [0, choice_count-1]
 * for categoricals. Either output may be NULL. */
SPARSE_API int sparse_space_var_bounds(const sparse_space *space, size_t i, double *lo, double *hi);

/* A point is an array of var_count doubles: the real value, the integer value
 * or the category index. Values of inactive variables are ignored on input
 * and set to NaN on output. */

/* active[i] = 1 if variable i is active at point (array of var_count ints). */
SPARSE_API int sparse_space_active(const sparse_space *space, const double *point, int *active);
/* Checks bounds and integrality of the active variables; SPARSE_ERANGE
 * naming the variable otherwise. */
SPARSE_API int sparse_space_validate(const sparse_space *space, const double *point);
/* Encodes point into x (encoded_dim doubles): reals and integers (rounded)
 * mapped to [0, 1] (log scale if requested), categoricals one-hot; every
 * coordinate of an inactive variable is SPARSE_SPACE_INACTIVE. */
SPARSE_API int sparse_space_encode(const sparse_space *space, const double *point, double *x);
/* Inverse of encode (clamps to bounds, rounds integers, argmax for one-hot);
 * writes var_count doubles to point. */
SPARSE_API int sparse_space_decode(const sparse_space *space, const double *x, double *point);
/* Uniform random valid point (log-uniform for log-scaled variables). */
SPARSE_API int sparse_space_sample(const sparse_space *space, sparse_rng *rng, double *point);
/* A random value for every variable, active or not (what a caller needs to
 * fill in variables that a change of their parent activates). */
SPARSE_API int sparse_space_sample_all(const sparse_space *space, sparse_rng *rng, double *point);
/* Random neighbour of point: each active variable is perturbed with
 * probability max(prob, 1/var_count) (reals/integers by a Gaussian step of
 * `scale` in normalised units, categoricals resampled). */
SPARSE_API int sparse_space_mutate(const sparse_space *space, sparse_rng *rng, const double *point,
                                   double prob, double scale, double *out);

/* ======================================================================
 * Gaussian-process regression
 * ==================================================================== */

typedef struct sparse_gp sparse_gp;

typedef enum sparse_kernel {
    SPARSE_KERNEL_MATERN52 = 0,
    SPARSE_KERNEL_RBF = 1
} sparse_kernel;

/* Model: y = f(x) + eps, f ~ GP(0, k), eps ~ N(0, noise), with
 *   k(x, x') = signal_var * kernel(r),  r^2 = sum_d ((x_d - x'_d) / l_d)^2.
 * When normalize_y is on, y is standardised (mean, population std) before
 * the fit, signal_var and noise are in standardised units and predictions
 * are mapped back. The observation noise is added to the training
 * covariance only; sparse_gp_predict returns the variance of f (add the
 * noise yourself for the variance of a new observation). */
typedef struct sparse_gp_options {
    unsigned version;     /* SPARSE_GP_OPTIONS_VERSION */
    int kernel;           /* sparse_kernel (default MATERN52) */
    int normalize_y;      /* standardise targets (default 1) */
    int inactive_rule;    /* coordinates equal to SPARSE_SPACE_INACTIVE follow the
                             arc-kernel rule: inactive/inactive distance 0,
                             active/inactive distance 1 (default 0) */
    int use_priors;       /* add log-priors to the fit objective (default 1):
                             log l ~ N(log 0.5, 1), log signal ~ N(0, 1.5),
                             log noise ~ N(log 1e-2, 2) */
    int restarts;         /* optimiser starts in sparse_gp_fit (default 5; the first
                             one from the current hyper-parameters) */
    int max_iter;         /* BFGS iterations per start (default 100) */
    double noise_min;     /* lower bound of the fitted noise (default 1e-6) */
    double jitter;        /* first jitter tried when a Cholesky fails (default 1e-10,
                             relative to signal_var; grown x10 up to 1e-2) */
} sparse_gp_options;

#define SPARSE_GP_OPTIONS_VERSION 1
#define SPARSE_GP_OPTIONS_INIT \
    {SPARSE_GP_OPTIONS_VERSION, SPARSE_KERNEL_MATERN52, 1, 0, 1, 5, 100, 1e-6, 1e-10}
SPARSE_API int sparse_gp_options_init(sparse_gp_options *opts, unsigned version);

/* Creates a GP over dim-dimensional inputs with no data and default
 * hyper-parameters (l_d = 0.5, signal_var = 1, noise = 1e-2). opts may be
 * NULL (defaults; copied). *out owned by the caller (sparse_gp_free). */
SPARSE_API int sparse_gp_create(sparse_gp **out, size_t dim, const sparse_gp_options *opts);
SPARSE_API void sparse_gp_free(sparse_gp *gp);

SPARSE_API size_t sparse_gp_dim(const sparse_gp *gp);
SPARSE_API size_t sparse_gp_observation_count(const sparse_gp *gp);

/* Replaces the training data by n rows of X (n x dim) and y (both copied)
 * and factorises with the current hyper-parameters. NaN/Inf anywhere gives
 * SPARSE_ENUMERIC naming the observation; the GP is then unchanged. */
SPARSE_API int sparse_gp_set_data(sparse_gp *gp, size_t n, const double *X, const double *y);
/* Adds one observation (x copied): extends the Cholesky factor by one row
 * (O(n^2)) without refitting hyper-parameters; a near-duplicate that leaves
 * no positive pivot triggers a full refactorisation with jitter. On failure
 * the observation is dropped and the GP is as before. */
SPARSE_API int sparse_gp_add(sparse_gp *gp, const double *x, double y);

/* Observations with noise of their own (heteroscedastic): observation i is
 * y_i = f(x_i) + eps_i + e_i with e_i ~ N(0, noise_var[i]) on top of the
 * fitted noise eps_i, e.g. the sampling error of a measured accuracy.
 * noise_var is in y's units (NULL: all 0; finite and >= 0, else
 * SPARSE_ENUMERIC naming the observation); repeated observations of one x
 * then share one latent f(x), weighted by their precision. As
 * sparse_gp_set_data and sparse_gp_add otherwise; with any noise of its own,
 * an add refactorises in O(n^3) (the standardisation of y moves). */
SPARSE_API int sparse_gp_set_data_noisy(sparse_gp *gp, size_t n, const double *X, const double *y,
                                        const double *noise_var);
SPARSE_API int sparse_gp_add_noisy(sparse_gp *gp, const double *x, double y, double noise_var);

/* Sets the hyper-parameters (lengthscales: dim values > 0; signal_var > 0;
 * noise >= 0) and refactorises. */
SPARSE_API int sparse_gp_set_hyper(sparse_gp *gp, const double *lengthscales, double signal_var,
                                   double noise);
/* Current hyper-parameters; any output may be NULL (lengthscales: dim). */
SPARSE_API int sparse_gp_get_hyper(const sparse_gp *gp, double *lengthscales, double *signal_var,
                                   double *noise);
/* Jitter added to the diagonal by the last factorisation (0 if none). */
SPARSE_API double sparse_gp_jitter(const sparse_gp *gp);

/* Fits the hyper-parameters by maximising log marginal likelihood (+ log
 * priors) with BFGS from opts.restarts starts; starts after the first are
 * drawn from rng (borrowed; may be NULL for a single start). Keeps the
 * best; the GP is refactorised with it. */
SPARSE_API int sparse_gp_fit(sparse_gp *gp, sparse_rng *rng);

/* Log marginal likelihood of the (standardised) targets at the current
 * hyper-parameters, without priors. */
SPARSE_API int sparse_gp_log_marginal_likelihood(const sparse_gp *gp, double *lml);

/* Posterior mean and variance of f at m points Xs (m x dim). var may be NULL. */
SPARSE_API int sparse_gp_predict(const sparse_gp *gp, size_t m, const double *Xs, double *mean,
                                 double *var);
/* One joint sample of f over the m points Xs from the posterior (prior if no
 * data), written to out (m values). rng borrowed. */
SPARSE_API int sparse_gp_sample(const sparse_gp *gp, size_t m, const double *Xs, sparse_rng *rng,
                                double *out);

/* ======================================================================
 * Pareto fronts and hypervolume (minimisation)
 * ==================================================================== */

/* rank[i] = 0 for non-dominated rows of F (n x k), 1 for the next front, ... */
SPARSE_API int sparse_pareto_rank(size_t n, size_t k, const double *F, size_t *rank);
/* Indices (ascending) of the non-dominated rows of F into idx (n entries
 * capacity); *count receives their number. Duplicate rows are all kept. */
SPARSE_API int sparse_pareto_front(size_t n, size_t k, const double *F, size_t *idx,
                                   size_t *count);
/* Exact hypervolume dominated by the rows of F and bounded by ref (k values),
 * for k = 1, 2 or 3. Rows not strictly better than ref in every objective
 * contribute nothing. */
SPARSE_API int sparse_hypervolume(size_t n, size_t k, const double *F, const double *ref,
                                  double *hv);

/* ======================================================================
 * Multi-objective Bayesian optimisation driver
 * ==================================================================== */

typedef struct sparse_mobo sparse_mobo;

typedef enum sparse_scalarization {
    SPARSE_SCALAR_DIRICHLET = 0, /* lambda ~ Dirichlet(1, ..., 1) */
    SPARSE_SCALAR_BOX = 1        /* lambda_k ~ U(lambda_lo[k], lambda_hi[k]), normalised */
} sparse_scalarization;

typedef struct sparse_mobo_options {
    unsigned version;          /* SPARSE_MOBO_OPTIONS_VERSION */
    int kernel;                /* sparse_kernel (default MATERN52) */
    int scalarization;         /* sparse_scalarization (default DIRICHLET) */
    const double *lambda_lo;   /* BOX: k lower bounds >= 0 (copied at create) */
    const double *lambda_hi;   /* BOX: k upper bounds, sum > 0 (copied at create) */
    size_t candidate_count;    /* candidates drawn when the caller gives none (default 1000) */
    double local_fraction;     /* share of drawn candidates that are mutations of
                                  Pareto-optimal observations (default 0.5) */
    size_t min_observations;   /* below this, proposals are random (default 2) */
    size_t refit_every;        /* refit hyper-parameters every n observations (default 1) */
    int restarts;              /* optimiser starts per fit (default 3) */
    /* Version 2: */
    double broad_share;        /* BOX: share in [0, 1] of proposals whose lambda is drawn
                                  from Dirichlet(1, ..., 1) instead (default 0) */
} sparse_mobo_options;

#define SPARSE_MOBO_OPTIONS_VERSION 2
#define SPARSE_MOBO_OPTIONS_INIT \
    {SPARSE_MOBO_OPTIONS_VERSION, SPARSE_KERNEL_MATERN52, SPARSE_SCALAR_DIRICHLET, NULL, NULL, \
     1000, 0.5, 2, 1, 3, 0.0}
SPARSE_API int sparse_mobo_options_init(sparse_mobo_options *opts, unsigned version);

/* Creates a driver over `space` (deep-copied) with k >= 1 objectives, all
 * minimised. log_objective (k flags, may be NULL; copied) marks objectives
 * modelled on a log scale (values must then be > 0), e.g. model size and
 * working memory. opts may be NULL. *out owned by the caller. */
SPARSE_API int sparse_mobo_create(sparse_mobo **out, const sparse_space *space, size_t k,
                                  const int *log_objective, const sparse_mobo_options *opts,
                                  uint64_t seed);
SPARSE_API void sparse_mobo_free(sparse_mobo *mobo);

/* Records an evaluated point (var_count values) and its k objective values
 * (both copied). NaN/Inf or non-positive log-scaled values are rejected
 * (SPARSE_ENUMERIC / SPARSE_EINVAL naming the observation and objective). */
SPARSE_API int sparse_mobo_observe(sparse_mobo *mobo, const double *point, const double *values);
/* sparse_mobo_observe of a measurement with noise of its own: noise_var (k
 * values, may be NULL for none) is each objective's measurement variance in
 * the objective's own units (finite, >= 0; for a log-scaled objective it is
 * modelled as noise_var / value^2, the delta method), on top of the noise
 * each GP fits. Repeated observations of one point then share one latent
 * value (sparse_gp_set_data_noisy). */
SPARSE_API int sparse_mobo_observe_noisy(sparse_mobo *mobo, const double *point, const double *values,
                                         const double *noise_var);
SPARSE_API size_t sparse_mobo_observation_count(const sparse_mobo *mobo);
/* Points being evaluated (count x var_count, copied; count 0 clears them),
 * whose values are not known yet: each proposal takes them as observed at
 * the surrogate's posterior mean (a kriging believer), so proposals for
 * several parallel evaluations do not repeat one idea. They stay until
 * replaced; they never enter sparse_mobo_predict or sparse_mobo_pareto. */
SPARSE_API int sparse_mobo_set_pending(sparse_mobo *mobo, size_t count, const double *points);
/* The surrogate's posterior at count points (count x var_count): mean and
 * sd (count x k each, row-major; sd may be NULL) of every objective in its
 * own units, from the observations alone (hyper-parameters fitted as a
 * proposal would). For a log-scaled objective, mean is the posterior median
 * exp(mu) and sd exp(mu) sigma (delta method). */
SPARSE_API int sparse_mobo_predict(sparse_mobo *mobo, size_t count, const double *points, double *mean,
                                   double *sd);

/* Proposes the next point into point_out (var_count values). candidates
 * (candidate_count x var_count points, borrowed) may be NULL to let the
 * driver draw its own; *chosen (may be NULL) receives the index of the chosen candidate
 * (SIZE_MAX when the driver drew the point itself). lambda_out (k values,
 * may be NULL) receives the scalarisation weights used. Before
 * opts.min_observations observations the proposal is uniformly random.
 * The joint Thompson sample over 512 candidates or more is drawn by pathwise
 * conditioning (Wilson et al. 2020): a prior function from 1,024 random
 * Fourier features of the kernel, moved onto the data by the exact GP
 * update, so its mean is exact and its covariance approximated; below 512
 * the sample is exact. */
SPARSE_API int sparse_mobo_propose(sparse_mobo *mobo, size_t candidate_count, const double *candidates,
                                   double *point_out, size_t *chosen, double *lambda_out);

/* sparse_mobo_propose over the caller's candidates (candidate_count x
 * var_count, borrowed), where a candidate that known marks (candidate_count
 * flags, may be NULL for none) competes with the posterior mean of every
 * objective instead of a posterior sample: a candidate about which one
 * more evaluation would teach little (a recipe change of a configuration
 * measured already, say) must then beat the others' samples with what is
 * known of it, not with a lucky draw. */
SPARSE_API int sparse_mobo_propose_known(sparse_mobo *mobo, size_t candidate_count, const double *candidates,
                                         const unsigned char *known, double *point_out, size_t *chosen,
                                         double *lambda_out);

/* Indices of the Pareto-optimal observations (capacity observation_count). */
SPARSE_API int sparse_mobo_pareto(const sparse_mobo *mobo, size_t *idx, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_GP_H */
