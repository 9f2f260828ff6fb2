#ifndef SPARSE_SEARCH_INTERNAL_H
#define SPARSE_SEARCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/gp.h"
#include "sparse/layers.h"
#include "sparse/memory.h"
#include "sparse/search.h"
#include "runlog.h"

#define SPARSE__MAX_BLOCKS 4
#define SPARSE__MAX_LAYERS 4
#define SPARSE__MAX_BOXES 8
#define SPARSE__MAX_REFERENCES 32
#define SPARSE__LABEL_CAP 64

enum { SPARSE__CONV = 0, SPARSE__SEPARABLE = 1, SPARSE__DOWNSAMPLED = 2, SPARSE__LAYER_TYPES = 3 };
/* The genome's pruning choice is a sparse_prune_method value (0, 1, 2). */
#define SPARSE__PRUNE_METHODS (SPARSE_PRUNE_BC + 1)

/* A searchable range; lo == hi fixes the value. */
typedef struct sparse__range {
    double lo, hi;
} sparse__range;

/* Allowed values of a categorical choice as a bit set. */
typedef unsigned sparse__choices;

/* final.fill: false, true (widen each network to fill its box, a pruned
 * one keeping its parent's share), dense (a pruned one retrained as a
 * plain network, widened like one). */
typedef enum sparse__final_fill {
    SPARSE__FILL_OFF = 0,
    SPARSE__FILL_WIDEN = 1,
    SPARSE__FILL_DENSE = 2
} sparse__final_fill;

/* A point the Pareto plot draws beside the trials (plot.references). */
typedef struct sparse__reference {
    char label[SPARSE__LABEL_CAP];
    double accuracy;         /* 0..1 */
    double ms, wm;           /* bytes; 0 = not drawn on that panel */
} sparse__reference;

struct sparse_search_config {
    char *source;
    /* data */
    char *data;
    size_t val_count, max_train;
    int val_split; /* sparse_val_split */
    int binary;
    size_t shape[3];     /* height, width, channels; zeros: a square grey CSV image, or the IDX files' */
    int layout;          /* SPARSE_LAYOUT_CHW or SPARSE_LAYOUT_HWC */
    size_t label_column; /* of a CSV file */
    /* run */
    uint64_t seed;
    int threads;
    size_t workers; /* trials trained at once, threads / workers threads each */
    int wm_model; /* 5 or 6 */
    /* sparse_input_downsampling: how MS, WM and the deploy figures count
     * input downsampling (network, the default, or data acquisition). */
    int input_downsampling;
    double budget_ms, budget_wm; /* bytes; 0 = no budget */
    double budget_arena;         /* the int8 deployment's tensor arena, bytes; 0 = no budget */
    double time_budget_s;
    size_t stage_trials[3];
    /* The final stage: the most accurate networks of each box (budgets in
     * bytes, 0 = none; default the run's budgets) trained again for longer,
     * each a trial of stage 4. final_trials 0 = no final stage. */
    size_t final_trials, final_epochs, final_shift, final_nboxes;
    /* How the front and the final stage rank trials: by the surrogate's
     * posterior mean of the validation accuracy, or by the measurement. */
    int rank_posterior;
    /* Stopping trials early (curve.c): on or off, the quantile of the gains
     * a trial may still make that it is granted, and the curves needed at a
     * point of the schedule before any trial stops there. */
    int early_stop;
    double early_quantile;
    size_t early_min_curves;
    /* An architecture trained this many times counts as measured: a
     * candidate that trains it again competes with its posterior mean,
     * not a posterior sample (0: never). */
    size_t arch_repeats;
    int final_fill; /* sparse__final_fill: widen each network until it fills its box */
    double final_box_ms[SPARSE__MAX_BOXES], final_box_wm[SPARSE__MAX_BOXES];
    double stage_rho[3];
    size_t initial_trials;
    size_t candidates;
    /* Random points are widened or narrowed to a share of the size cap
     * drawn log-uniformly from this range; lo == 0 turns that off. */
    sparse__range random_fill;
    int lambda_box;
    double lambda_lo[3], lambda_hi[3];
    double lambda_broad; /* share of proposals under Dirichlet(1,1,1) instead of the box */
    /* training */
    size_t batch;
    int optimizer, schedule;
    int prune_noise; /* sparse_prune_noise of pruned trials */
    /* space */
    sparse__range blocks, layers, kernel, filters, rate, pool, input_rate, fc_layers, fc_weights;
    sparse__choices layer_types, input_downsample, input_pool_avg, batch_norm, residual, branches,
        merge_concat, prune;
    sparse__range threshold, kl_weight, zero_epochs, anneal_epochs, lr, epochs, label_smoothing, weight_decay,
        fc_frac, shift;
    /* the Pareto plot: points to compare with, under the run's WM model */
    sparse__reference plot_refs[SPARSE__MAX_REFERENCES];
    size_t plot_nrefs;
    int plot_test; /* plot.accuracy: 1 test, 0 validation */
};

/* A run directory's config.yaml: as sparse_search_config_load, but its data
 * path is taken as written (a run records it absolute; one started before
 * that still resolves against the current directory, as it did). */
int sparse__config_load_run(sparse_search_config **out, const char *path);
/* datapath.c: makes cfg's relative data path absolute, taken from the
 * directory of the config file at config_path. */
int sparse__config_resolve_data(sparse_search_config *cfg, const char *config_path);

/* Indices of every variable of the genome in the sparse_space (SIZE_MAX if
 * the variable is fixed and not searched). */
typedef struct sparse__layer_vars {
    size_t type, kernel, filters, rate, threshold;
} sparse__layer_vars;

typedef struct sparse__layout {
    sparse_space *space;
    size_t in_ds, in_rate, in_avg, blocks, batch_norm, residual, fc_layers, fc_weights, fc_frac,
        left, right, merge, prune, threshold_fc, kl_weight, zero_epochs, anneal_epochs, lr, epochs,
        label_smoothing, weight_decay, shift;
    size_t block_layers[SPARSE__MAX_BLOCKS], block_pool[SPARSE__MAX_BLOCKS];
    sparse__layer_vars layer[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS];
    size_t nvars;
    int bmax, lmax;
} sparse__layout;

/* The genome decoded into plain values (what training and the arch need). */
typedef struct sparse__genome {
    int in_ds, in_rate, in_avg, blocks, batch_norm, residual, fc_layers, left, right, merge_concat,
        prune;
    double fc_weights, fc_frac;
    int block_layers[SPARSE__MAX_BLOCKS], block_pool[SPARSE__MAX_BLOCKS];
    int type[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS], kernel[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS],
        filters[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS];
    double rate[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS], threshold[SPARSE__MAX_BLOCKS][SPARSE__MAX_LAYERS];
    double threshold_fc, kl_weight, lr, label_smoothing, weight_decay;
    int zero_epochs, anneal_epochs, epochs, shift;
} sparse__genome;

int sparse__layout_create(sparse__layout *lay, const sparse_search_config *cfg);
void sparse__layout_destroy(sparse__layout *lay);
/* Reads a point (layout->nvars doubles) into plain values, fixed values
 * taken from the config. */
void sparse__genome_decode(const sparse__layout *lay, const sparse_search_config *cfg, const double *point,
                           sparse__genome *g);
/* Builds the architecture of a genome for inputs (c, h, w) and classes. */
int sparse__genome_arch(const sparse__genome *g, size_t c, size_t h, size_t w, size_t classes,
                        sparse_arch **out);

/* What building a point's network takes: the config, its space and the
 * data's image shape and classes (all borrowed). */
typedef struct sparse__problem {
    const sparse_search_config *cfg;
    const sparse__layout *lay;
    size_t channels, height, width, classes;
} sparse__problem;

/* The genome of point into g, and its architecture (caller frees; NULL on
 * failure). */
int sparse__point_arch(const sparse__problem *p, const double *point, sparse__genome *g, sparse_arch **out);
/* What a point means for training, into *key: its architecture and the
 * training and pruning values that apply to it. Two points with the same
 * key train the same network the same way, so a morph that leaves the key
 * unchanged (say, a merge type without branches) is a no-op. Into
 * *arch_key, the architecture alone (its layer graph with widths and kernel
 * sizes, whatever its training and pruning), as JSON: two points with the
 * same one train the same network in different ways. Either out-parameter
 * may be NULL; the caller frees what it gets, NULL where the architecture
 * cannot be built. SPARSE_ENOMEM is the only error. */
int sparse__point_keys(const sparse__problem *p, const double *point, char **key, char **arch_key);

/* Morphs (paper Table 6). */
typedef enum sparse__morph_set { SPARSE__MORPH_ALL = 0, SPARSE__MORPH_PRUNING_ONLY = 1 } sparse__morph_set;
/* Applies 1..max_ops random morphs of the allowed set to point into out;
 * names (capacity cap) receives their names joined by '+'. SPARSE_EEMPTY if
 * no morph applies. */
int sparse__morph(const sparse__layout *lay, sparse_rng *rng, const double *point, sparse__morph_set set,
                  int max_ops, double *out, char *names, size_t cap);

/* sparse_net_inherit, then zero the weights on inputs the reference did not
 * have, so a widened child computes what its reference computed. */
int sparse__inherit(sparse_net *child, const sparse_net *parent, size_t *copied);
/* After sparse__inherit from a parent pruned by BC, whose weights file holds
 * theta and its groups' scales z apart: every plain node of child whose
 * namesake in parent is under BC has the weights (and a convolution's
 * biases) it inherited multiplied by z_mu, so it starts from the means of
 * the parent's weights, E[w] = z_mu theta, what the parent's pruned network
 * holds for the groups it keeps (sparse_net_inherit copies theta alone).
 * Nodes of an SpVD parent need
 * nothing: their weights are the means, and log sigma^2 does not go to a
 * plain node. */
int sparse__inherit_means(sparse_net *child, const sparse_net *parent);

/* Pruning options of a genome (thresholds: the FC one; sparse__prune_trial
 * gives every layer its own). */
struct sparse_prune_options;
struct sparse_prune_result;
void sparse__prune_options(const sparse__genome *g, uint64_t seed, struct sparse_prune_options *po);
/* The weights file at path of a trial of genome g, for batches of up to
 * batch images: a pruned trial's in its variational mode, so that its
 * posterior (log sigma^2, group scales) comes too. *out owned by the
 * caller; NULL on failure. */
int sparse__load_trial(const char *path, const sparse__genome *g, size_t batch, sparse_net **out);
/* Prunes net, a trained variational network of genome g, with every layer's
 * own threshold (paper Table 5), and compacts it for batches of up to batch
 * images (0: net's own) into *out (owned by the caller). */
int sparse__prune_trial(sparse_net *net, const sparse__genome *g, uint64_t seed, size_t batch,
                        struct sparse_prune_result **out);
/* The threshold of g that node `name` of its network prunes with: its
 * layer's for a convolution of layer l of block k ("bKlL..."), else the FC
 * threshold. */
double sparse__node_threshold(const sparse__genome *g, const char *name);

/* ---- trial records (records.c) ---- */

#define SPARSE__NO_PARENT SIZE_MAX
#define SPARSE__NO_ID SIZE_MAX

/* One line of trials.jsonl as the search and the run view read it back.
 * Figures the record does not hold are -1. */
typedef struct sparse__trial {
    size_t id;     /* as recorded (SPARSE__NO_ID: unreadable; lenient reading only) */
    int stage;     /* 1, 2, 3; 4 for the final stage (-1: unknown) */
    size_t parent; /* SPARSE__NO_PARENT for none */
    int ok;        /* 1 trained and measured, 0 failed (-1: the line is not a record; lenient reading only) */
    int feasible;  /* 1 ok and within the config's budgets */
    double *point; /* nvars numbers, NaN for inactive variables (owned; NULL if the record has none) */
    double val_acc, test_acc, int8_test_acc, ms, wm5, wm6, params;
    double flash, arena; /* the int8 deployment's (-1: not recorded) */
    char *reason;        /* why a failed trial failed (owned; NULL: none recorded) */
    double val_se; /* the binomial standard error of val_acc on the validation images */
    double seconds;
    double epochs; /* epochs trained, for the time a final stage takes */
    double planned_epochs; /* what its recipe asked for (epochs unless stopped early) */
    /* Stopped early (multi-fidelity): its learning curve said it could not
     * reach the front; pred_acc is the validation accuracy the curve
     * model expects it would have ended at, pred_log_sd that guess's spread
     * on the log-error scale. A partial trial is never on the front. */
    int partial;
    double pred_acc, pred_log_sd;
    double *curve; /* validation accuracy after each epoch but the last (owned; NULL: none) */
    size_t ncurve;
    /* The surrogate's estimate of its accuracy (sparse__posterior), when
     * has_post; the front and the final stage rank by it. */
    int has_post;
    double post_acc, post_sd;
} sparse__trial;

/* Frees what the trial owns (its point and curve). */
void sparse__trial_clear(sparse__trial *t);
/* The binomial standard error of an accuracy measured on n images (an
 * accuracy of 0 or 1 counted as half an image off it). */
double sparse__binomial_se(double acc, double n);
/* The accuracy the run ranks trial t by: its posterior mean (config
 * ranking: posterior, once computed) or its validation accuracy. */
double sparse__rank_accuracy(const sparse_search_config *cfg, const sparse__trial *t);
/* 1 if t may be on the front and be trained again in the final stage:
 * successful, within the budgets and not stopped early. */
int sparse__front_candidate(const sparse__trial *t);

/* 1 if MS ms, WM wm5 / wm6 and the deployment's arena (-1: unknown, which
 * an arena budget refuses) meet the config's budgets. */
int sparse__feasible(const sparse_search_config *cfg, double ms, double wm5, double wm6, double arena);
/* The trial's WM under the config's model. */
double sparse__trial_wm(const sparse_search_config *cfg, const sparse__trial *t);

/* Reads a record of a run with config cfg, whose space has nvars variables;
 * line_no is its line in trials.jsonl, for messages. Strict (the search):
 * the record must be trial `index`, and a missing or malformed field it
 * needs is an error naming trials.jsonl:line and the field, and nothing is
 * kept. Lenient (the run view): every field that reads is kept, the others
 * are -1 (the id SPARSE__NO_ID), and it never fails. out->point is the caller's
 * (free). */
int sparse__trial_parse(const sparse_search_config *cfg, size_t nvars, const char *line, size_t index,
                        size_t line_no, int strict, sparse__trial *out);

/* ---- the surrogate's view of the trials (posterior.c) ---- */

/* The accuracy objective of trial t as the surrogate takes it: the
 * validation error (a partial trial's: what its curve promised) and the
 * variance of that measurement (binomial on cfg's validation images, plus
 * the curve model's doubt). 0 for a trial the surrogate does not take: a
 * failed one, or one of the final stage (trained for longer). */
int sparse__error_observation(const sparse_search_config *cfg, const sparse__trial *t, double *err, double *var);
/* The optimiser over trials[0..n-1] (those sparse__error_observation
 * takes), with its first k of (validation error, MS, WM), all log-scaled,
 * and seed; *out owned by the caller. */
int sparse__accuracy_mobo(const sparse__problem *p, const sparse__trial *trials, size_t n, size_t k,
                          uint64_t seed, sparse_mobo **out);
/* Fills has_post, post_acc and post_sd of trials[0..n-1] from m (objective
 * 0 of its k): the posterior mean and sd of each one's accuracy; a final
 * trial's are its own measurement and standard error. */
int sparse__posterior_from(sparse_mobo *m, size_t k, const sparse__problem *p, sparse__trial *trials, size_t n);
/* sparse__posterior_from of a GP of the accuracy alone over
 * trials[0..n-1], fitted with draws of the seed's own stream: the same
 * trials give the same figures, in the search and in the run view. */
int sparse__posterior(const sparse__problem *p, sparse__trial *trials, size_t n);

/* trials_done of the run's state.json (0 without one); SPARSE_EFORMAT
 * naming the file when it is malformed. */
int sparse__state_trials_done(const sparse__runlog *log, size_t *done);
/* What state.json says of the run's progress and limits; -1 for what it
 * does not say (a run from an older version, or no state.json). */
typedef struct sparse__limits {
    double done, planned, finished, max_trials, budget_total, elapsed;
} sparse__limits;
int sparse__state_limits(const sparse__runlog *log, sparse__limits *out);
/* 1 (and why into msg) if state.json counts more trials done (done) than
 * trials.jsonl holds records: records were lost after they were written. */
int sparse__state_disagreement(const sparse__runlog *log, size_t done, char *msg, size_t cap);

/* The point of trial id (borrowed; NULL if failed or out of range) and the
 * path of its weights file (caller frees). */
const double *sparse__run_point(const sparse_run *run, size_t id);
char *sparse__run_path(const sparse_run *run, size_t id);
/* The run's Pareto front (sparse_run_pareto) in a fresh array (caller
 * frees; NULL on failure). */
int sparse__run_front(const sparse_run *run, size_t **idx, size_t *count);
/* The config stored in a run directory (borrowed). */
const sparse_search_config *sparse__run_config(const sparse_run *run);
/* The Pareto figure of pareto.svg as SVG text (*out freed with free), with
 * the XML declaration if prolog (a file), without it to sit inside HTML. */
int sparse__pareto_svg(char **out, const sparse_run *run, const sparse_plot_options *opts, int prolog);
/* The run's directory as it was opened. */
const char *sparse__run_dir(const sparse_run *run);
/* report.html's text (*out freed with free), titled title. */
int sparse__report_html(char **out, const sparse_run *run, const char *title);
/* A network's diagram (inline SVG) and memory table as HTML (*out freed
 * with free). */
int sparse__net_html(char **out, const sparse_net *net, int wm_model);
/* The splits a search with cfg trains, validates and tests on (the data spec
 * replaced by override when not NULL): one place, so that a run's data can
 * be opened again exactly as its search saw them. */
int sparse__open_data(const sparse_search_config *cfg, const char *override, sparse_dataset **train,
                      sparse_dataset **val, sparse_dataset **test);

#endif
