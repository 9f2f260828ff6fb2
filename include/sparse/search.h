/*
 * SpArSe search: multi-objective Bayesian optimisation over CNN architecture,
 * training and pruning parameters (Fedorov et al. 2019), returning the Pareto
 * front of (1 - validation accuracy, model size MS, working memory WM).
 *
 * A search is described by a YAML config (sparse_search_config; every key is
 * documented in docs/search-config.md) and writes a run directory:
 *   config.yaml                  the resolved config
 *   trials.jsonl                 one JSON object per evaluated candidate,
 *                                appended and fsynced one at a time
 *   weights/<id>.safetensors     trained weights of every successful trial
 *   state.json                   progress summary and the config's
 *                                fingerprint, replaced atomically
 *   lock                         the advisory lock of the search writing it
 *   pareto.csv, pareto.svg       the current front, as a table and a picture
 *   report.html                  the run as one page: figure, front, every
 *                                trial, the front networks (as the search goes)
 * Every decision of trial t depends only on the seed, t and the records of
 * trials 0..t-1, so sparse_search_resume() after any crash (kill -9
 * included) continues exactly as an uninterrupted run would have.
 */
#ifndef SPARSE_SEARCH_H
#define SPARSE_SEARCH_H

#include "sparse/core.h"
#include "sparse/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Configuration ---- */

typedef struct sparse_search_config sparse_search_config;

/* Parses a search config from a YAML file or string. Unknown keys and
 * out-of-range values are errors naming file:line:column, the key and the
 * allowed values. *out owned by the caller. */
SPARSE_API int sparse_search_config_load(sparse_search_config **out, const char *path);
SPARSE_API int sparse_search_config_parse(sparse_search_config **out, const char *text, size_t len,
                                          const char *source);
SPARSE_API void sparse_search_config_free(sparse_search_config *cfg);
/* The resolved config, defaults included, as YAML that
 * sparse_search_config_parse reads back. *out owned by the caller, released
 * with sparse_free(). */
SPARSE_API int sparse_search_config_to_yaml(char **out, const sparse_search_config *cfg);
/* Total number of trials the config plans: the three stages and the final one. */
SPARSE_API size_t sparse_search_config_trial_count(const sparse_search_config *cfg);

/* ---- Running ---- */

/* What one finished trial reports to the callback (borrowed, valid during
 * the call only). record_json is the line appended to trials.jsonl. */
typedef struct sparse_trial_event {
    unsigned version;      /* SPARSE_TRIAL_EVENT_VERSION */
    size_t trial;          /* 0-based id */
    size_t total;          /* trials planned */
    int stage;             /* 1, 2 or 3; 4 for the final stage */
    int ok;                /* 0 if the candidate failed (see record_json "reason") */
    double val_accuracy;
    double ms_bytes, wm_bytes; /* WM under the configured model */
    double best_feasible_accuracy; /* best validation accuracy within the budgets so far (-1: none) */
    double elapsed_s;
    double remaining_s;    /* estimate; < 0 when unknown */
    const char *record_json;
} sparse_trial_event;
#define SPARSE_TRIAL_EVENT_VERSION 1

/* Called after every trial, in trial order, on the calling thread; return
 * non-zero to stop the search cleanly (sparse_search_run then returns
 * SPARSE_ECANCELLED; the run can be resumed). */
typedef int (*sparse_trial_fn)(void *user, const sparse_trial_event *event);
/* Called during training (epoch, batch, loss); non-zero cancels as above.
 * With the config's workers > 1 it runs on a worker thread, one call at a
 * time, and hears only of the oldest trial in flight. */
typedef int (*sparse_search_progress_fn)(void *user, size_t trial, size_t epoch, size_t batch,
                                         size_t batches_per_epoch, double loss);

typedef struct sparse_search_options {
    unsigned version;          /* SPARSE_SEARCH_OPTIONS_VERSION */
    size_t max_trials;         /* 0 = the config's stages; else stop after this many in all */
    double time_budget_s;      /* 0 = none; no new trial starts after this many seconds */
    int threads;               /* 0 = the config's value */
    const char *data_override; /* NULL, or a data spec replacing the config's (e.g. a test set) */
    sparse_trial_fn on_trial;  /* may be NULL */
    sparse_search_progress_fn on_progress; /* may be NULL */
    void *user;
    /* Version 2: */
    int64_t seed;              /* -1 (default) = the config's; 0 .. 2^31-1 replaces it: a new run
                                  records it in its config.yaml, a resume must name the run's own */
} sparse_search_options;
/* Version 1 callers (no seed) are still accepted. */
#define SPARSE_SEARCH_OPTIONS_VERSION 2
#define SPARSE_SEARCH_OPTIONS_INIT {SPARSE_SEARCH_OPTIONS_VERSION, 0, 0.0, 0, NULL, NULL, NULL, NULL, -1}
SPARSE_API int sparse_search_options_init(sparse_search_options *opts, unsigned version);

/* Starts a search in out_dir (created; it must not already hold a run).
 * opts may be NULL. A search holds an advisory lock on its run directory
 * (out_dir/lock) while it runs: a second search or resume there is
 * SPARSE_EIO naming the directory and the process holding it. The kernel
 * drops the lock when the process ends, kill -9 included. Readers
 * (sparse_run_open) need no lock. A write that fails (a full disk, a file
 * size limit) stops the search with SPARSE_EIO naming the file and leaves
 * no part of a record in trials.jsonl. */
SPARSE_API int sparse_search_run(const sparse_search_config *cfg, const char *out_dir,
                                 const sparse_search_options *opts);
/* Continues the run in dir with the config stored there. It refuses
 * (leaving every file as it is) a config.yaml that differs from the one the
 * run started with in anything but threads, workers and time_budget
 * (SPARSE_EINVAL naming the first key that differs), a trials.jsonl with a
 * line that is not a record before its last line (SPARSE_EFORMAT naming
 * file:line), and a trials.jsonl holding fewer records than state.json
 * counts (SPARSE_EFORMAT). A torn last line (a crash while it was written)
 * is cut off and the trial trained again; a copy of it goes to
 * trials.jsonl.torn, which sparse_run_open reports. */
SPARSE_API int sparse_search_resume(const char *dir, const sparse_search_options *opts);

/* ---- Inspecting a run directory ---- */

typedef struct sparse_run sparse_run;

/* Trials are addressed by the id their record holds (0, 1, 2, ... in the
 * order the search ran them), never by their line in trials.jsonl: every
 * call below that takes a trial takes its id, except sparse_run_trial_id,
 * which lists them by position. In a run directory without damage the two
 * agree; when a line is missing or unreadable they do not, and the id is
 * still the trial's. */

/* Reads dir's trials; *out owned by the caller. A run directory written by
 * a search that is still going is read as far as it has got. Lines it
 * cannot read (not a JSON object, no valid id, an id seen before, a torn
 * last line) are skipped and listed by sparse_run_warning, as is a
 * state.json that counts more trials than the records hold. */
SPARSE_API int sparse_run_open(sparse_run **out, const char *dir);
SPARSE_API void sparse_run_free(sparse_run *run);
/* Trials read: positions 0 .. count-1 for sparse_run_trial_id. */
SPARSE_API size_t sparse_run_trial_count(const sparse_run *run);
/* The id of the trial at position i (file order), for iterating;
 * SPARSE_ERANGE when i >= sparse_run_trial_count. */
SPARSE_API int sparse_run_trial_id(const sparse_run *run, size_t i, size_t *id);
/* Borrowed JSON record of trial id (NULL if the run has none). */
SPARSE_API const char *sparse_run_trial_json(const sparse_run *run, size_t id);
/* What sparse_run_open read past: warnings 0 .. count-1, each a message
 * naming the file and line (borrowed from run) and, in *line (may be NULL),
 * the line of trials.jsonl it is about (0 for none). NULL when i >= count. */
SPARSE_API size_t sparse_run_warning_count(const sparse_run *run);
SPARSE_API const char *sparse_run_warning(const sparse_run *run, size_t i, size_t *line);

/* Figures of trial id; values not measured are -1. No record with that id:
 * SPARSE_ERANGE past the run's last id, SPARSE_ENOTFOUND for one whose
 * record is missing or unreadable. */
typedef enum sparse_trial_field {
    SPARSE_TRIAL_OK = 0,          /* 1 trained and measured, 0 failed */
    SPARSE_TRIAL_STAGE = 1,
    SPARSE_TRIAL_PARENT = 2,      /* -1 for none */
    SPARSE_TRIAL_VAL_ACCURACY = 3,
    SPARSE_TRIAL_TEST_ACCURACY = 4,
    SPARSE_TRIAL_MS_BYTES = 5,
    SPARSE_TRIAL_WM5_BYTES = 6,
    SPARSE_TRIAL_WM6_BYTES = 7,
    SPARSE_TRIAL_PARAMS = 8,      /* non-zero weights */
    SPARSE_TRIAL_SECONDS = 9,
    SPARSE_TRIAL_FEASIBLE = 10,   /* 1 if within the config's budgets */
    SPARSE_TRIAL_INT8_TEST_ACCURACY = 11, /* of the int8-quantised network */
    SPARSE_TRIAL_VAL_SE = 12,     /* binomial standard error of the validation accuracy */
    /* The surrogate's posterior mean and sd of the validation accuracy
     * (a GP fit over the run's searched trials, on first use): repeated
     * and neighbouring configurations pooled, each measurement weighted by
     * its noise. A final-stage trial's are its measurement and standard
     * error. The front ranks by it unless the config says ranking:
     * validation. */
    SPARSE_TRIAL_POSTERIOR_ACCURACY = 13,
    SPARSE_TRIAL_POSTERIOR_SE = 14,
    SPARSE_TRIAL_PARTIAL = 15,    /* 1 if stopped early by its learning curve (never on the front) */
    SPARSE_TRIAL_EPOCHS = 16,     /* epochs trained */
    /* The int8 deployment's flash (weights and constants) and tensor arena
     * (RAM), as sparse_memreport_deploy_flash_bytes and _arena_bytes give
     * them; -1 in records written before they were. */
    SPARSE_TRIAL_FLASH_BYTES = 17,
    SPARSE_TRIAL_ARENA_BYTES = 18
} sparse_trial_field;
SPARSE_API int sparse_run_trial_value(const sparse_run *run, size_t id, int field, double *value);
/* Why trial id failed, as its record says (borrowed from run), in *reason;
 * NULL for a trial that did not fail or whose record gives none. No record
 * with that id: as sparse_run_trial_value. */
SPARSE_API int sparse_run_trial_reason(const sparse_run *run, size_t id, const char **reason);

/* The budget boxes a user picks a network from: the config's final.boxes,
 * else its budgets as one box, else none (count 0). Each bound is in bytes,
 * 0 for none; wm_bytes is under the run's WM model; arena_bytes (the int8
 * deployment's tensor arena) is the budgets' for every box. */
SPARSE_API size_t sparse_run_box_count(const sparse_run *run);
SPARSE_API int sparse_run_box(const sparse_run *run, size_t box, double *ms_bytes, double *wm_bytes,
                              double *arena_bytes);
/* 1 in *inside if trial id succeeded and its figures meet every bound of box. */
SPARSE_API int sparse_run_box_contains(const sparse_run *run, size_t box, size_t id, int *inside);
/* The trial to take for box: the most accurate (by the run's ranking, as
 * sparse_run_pareto) successful trial inside it that was not stopped early;
 * SPARSE_ENOTFOUND when none is. */
SPARSE_API int sparse_run_box_pick(const sparse_run *run, size_t box, size_t *id);
/* The run's progress and limits, as its state.json records them: what a
 * resume continues with. -1 for what the run's state.json does not say (one
 * written by an older version, or none). */
typedef enum sparse_run_state_field {
    SPARSE_RUN_TRIALS_DONE = 0,
    SPARSE_RUN_TRIALS_PLANNED = 1, /* the config's stages, or fewer by the trial limit */
    SPARSE_RUN_FINISHED = 2,       /* 1: every planned trial recorded, or the time budget spent */
    SPARSE_RUN_MAX_TRIALS = 3,     /* the trial limit it was started with (0: none) */
    SPARSE_RUN_TIME_BUDGET = 4,    /* seconds it may search in all, over every resume (0: none) */
    SPARSE_RUN_ELAPSED = 5         /* seconds it has searched */
} sparse_run_state_field;
SPARSE_API int sparse_run_state_value(const sparse_run *run, int field, double *value);
/* The working-memory model of the run's objective and WM budget, 5 or 6 (the
 * config's wm_model): the one SPARSE_TRIAL_FEASIBLE and sparse_run_pareto
 * use. The records hold both WM5 and WM6. */
SPARSE_API int sparse_run_wm_model(const sparse_run *run, int *model);
/* How the run's records count input downsampling (the config's
 * input_downsampling): a sparse_input_downsampling (sparse/memory.h) value,
 * SPARSE_INPUT_DOWNSAMPLING_NETWORK (0) or _ACQUISITION (1). */
SPARSE_API int sparse_run_input_downsampling(const sparse_run *run, int *mode);

/* Ids of the trials on the Pareto front of (1 - accuracy, MS, WM under the
 * run's WM model), among successful trials within the budgets (all
 * successful trials if none is), never one stopped early; the accuracy is
 * the posterior mean (SPARSE_TRIAL_POSTERIOR_ACCURACY), or the validation
 * accuracy with the config's ranking: validation. ids needs trial_count
 * slots. */
SPARSE_API int sparse_run_pareto(const sparse_run *run, size_t *ids, size_t *count);
/* The network of trial id as the search evaluated it: trained weights, and
 * for pruned trials the pruned network (masked for SpVD, compacted for BC),
 * for batches of up to 256 images. *out is owned by the caller. before (may
 * be NULL) receives, for pruned trials, the network before pruning (the
 * variational one; NULL otherwise), also owned by the caller. */
SPARSE_API int sparse_run_trial_net(sparse_net **out, sparse_net **before, const sparse_run *run,
                                    size_t id);

/* The training, validation and test splits of the run's search, opened again
 * from its config: same data spec (or data_override, when not NULL, e.g. the
 * same data in another place), split seed, validation count, training cap
 * and relabelling, so a trial's network can be calibrated and evaluated on
 * exactly the images the search used. All three are owned by the caller
 * (sparse_dataset_free); on failure all are NULL. */
SPARSE_API int sparse_run_open_data(sparse_dataset **train, sparse_dataset **val,
                                    sparse_dataset **test, const sparse_run *run,
                                    const char *data_override);
/* Writes pareto.csv (and refreshes it) in the run directory. */
SPARSE_API int sparse_run_write_pareto_csv(const sparse_run *run);
/* Writes an SVG picture of the run to path: accuracy (validation, or test
 * with the config's plot.accuracy: test; the axis says which) against MS
 * and against WM, every trial, the front highlighted, the budgets, and the
 * reference points of the run config's plot.references, if it has any. */
SPARSE_API int sparse_run_write_pareto_svg(const sparse_run *run, const char *path);

/* A point drawn beside the trials for comparison, e.g. a published result.
 * The layout is fixed: callers pass arrays of it. */
typedef struct sparse_plot_reference {
    const char *label; /* legend text; one colour per distinct label */
    double accuracy;   /* in [0, 1] */
    double ms_bytes;   /* model size; 0: not drawn against MS */
    double wm_bytes;   /* working memory under the run's WM model; 0: not drawn against WM */
} sparse_plot_reference;

/* The accuracy a plot puts on its y axis for every trial (the front is the
 * run's either way, chosen on validation data). */
typedef enum sparse_plot_accuracy {
    SPARSE_PLOT_ACCURACY_CONFIG = -1,    /* the run config's plot.accuracy (default: validation) */
    SPARSE_PLOT_ACCURACY_VALIDATION = 0, /* on the validation split */
    SPARSE_PLOT_ACCURACY_TEST = 1        /* on the test split, as published results usually are */
} sparse_plot_accuracy;

typedef struct sparse_plot_options {
    unsigned version;                        /* SPARSE_PLOT_OPTIONS_VERSION */
    const sparse_plot_reference *references; /* borrowed for the call; may be NULL when the count is 0 */
    size_t reference_count;
    int config_references; /* 1 (default): the config's plot.references first; 0: only these */
    /* version 2 */
    int accuracy; /* a sparse_plot_accuracy; default SPARSE_PLOT_ACCURACY_CONFIG */
} sparse_plot_options;
#define SPARSE_PLOT_OPTIONS_VERSION 2
#define SPARSE_PLOT_OPTIONS_INIT {SPARSE_PLOT_OPTIONS_VERSION, NULL, 0, 1, SPARSE_PLOT_ACCURACY_CONFIG}
SPARSE_API int sparse_plot_options_init(sparse_plot_options *opts, unsigned version);
/* sparse_run_write_pareto_svg with the reference points opts gives (NULL:
 * the defaults, as sparse_run_write_pareto_svg). A reference without a
 * label, with an accuracy outside [0, 1] or without a positive size is
 * SPARSE_EINVAL or SPARSE_ERANGE naming it; nothing is written then. */
SPARSE_API int sparse_run_write_pareto_svg_ext(const sparse_run *run, const char *path,
                                               const sparse_plot_options *opts);

/* Writes a self-contained HTML page of the run to path (inline SVG, CSS and
 * JavaScript, nothing fetched): the Pareto figure, the front, every trial in
 * a table sortable by any column, and each front network's diagram and
 * memory table (a network whose weights cannot be read is named with the
 * reason). A search rewrites report.html in its run directory after each of
 * its first 16 trials, then every 10th and each final-stage trial, and at
 * the end. */
SPARSE_API int sparse_run_write_report_html(const sparse_run *run, const char *path);

#ifdef __cplusplus
}
#endif

#endif
