/* The search loop's parts and the state they share. loop.c sets a run up
 * and replays its records; scheduler.c starts, trains and records trials in
 * order; propose.c chooses the next point; evaluate.c trains and measures
 * one; cap.c weighs a point's network against the size cap; final.c plans
 * the final stage; fitbox.c fits a final SpVD network into its box;
 * records.c writes and reads trials.jsonl. The pure parts (cap.c, final.c's
 * planning, fitbox.c, records.c) take the config, the problem and the
 * trials or a network, never the loop's state, so they are tested on their
 * own. */
#ifndef SPARSE_SEARCH_LOOP_H
#define SPARSE_SEARCH_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "runlog.h"
#include "search_internal.h"
#include "sparse/data.h"
#include "sparse/experimental.h"

/* ---- the size cap (cap.c) ---- */

/* How far above a budget the dense (unpruned) network may be and still be
 * worth training: pruning removes weights (SpVD, BC) and, with BC, channels,
 * so activations too. Without pruning the dense figures are the final ones. */
void sparse__cap_factors(int prune, int wm_model, double *ms_factor, double *wm_factor);

/* A point's network before any training: dense MS (every weight counted)
 * and WM, and their shares of the size cap (0 without that budget). */
typedef struct sparse__cap_figures {
    uint64_t ms, wm;
    double ms_factor, wm_factor, ms_share, wm_share;
} sparse__cap_figures;

/* The figures of point's network; 0 if it cannot be built (it fails later
 * with its own reason). */
int sparse__dense_figures(const sparse__problem *p, const double *point, sparse__cap_figures *f);
/* 1 if the point's network, before any training, can still meet the
 * budgets (always 1 without budgets, or if it cannot be built); else 0 and
 * why (capacity why_cap) says which it exceeds. */
int sparse__within_cap(const sparse__problem *p, const double *point, char *why, size_t why_cap);
/* SPARSE_EBUDGET when no network of the space can meet the budgets: the
 * narrowest version (every width at its lower bound) of each of 256
 * structures drawn from the space (an RNG of its own from seed) is above
 * the size cap. A budget is thus refused before the first trial, not
 * recorded as the failure of every one. */
int sparse__check_reachable(const sparse__problem *p, uint64_t seed);
/* The point with every filter count and the FC weights scaled by m and
 * rounded, within the space's bounds, into out. */
void sparse__scale_widths(const sparse__problem *p, const double *point, double m, double *out);
/* The larger of the shares of a limit that the point's dense network takes:
 * of the size cap (box NULL), or of box {ms, wm} in bytes (0: no bound);
 * -1 if the network cannot be built. */
double sparse__share_of(const sparse__problem *p, const double *point, const double *box);
/* Scales point's widths (sparse__scale_widths) by the largest factor in
 * [lo_m, hi_m] whose network takes at most target of the limit
 * (sparse__share_of), to within 16 bisection steps on log m; 1 if one did, 0
 * (point unchanged) if none. */
int sparse__widest_fit(const sparse__problem *p, double *point, double lo_m, double hi_m, const double *box,
                       double target);
/* Widens or narrows a random point so that its network fills a random share
 * (the config's random_fill, log-uniform) of the size cap; nothing without
 * budgets or with random_fill 0. */
void sparse__fit_to_cap(const sparse__problem *p, sparse_rng *rng, double *point);

/* ---- the final stage (final.c) ---- */

/* The k-th box of the final stage, taking turns (default: the run's
 * budgets); 0 is no bound. */
void sparse__final_box(const sparse_search_config *cfg, size_t k, double *ms, double *wm);
/* The j-th final trial's parent among trials 0..limit-1 (taken marks those
 * already taken): the most accurate on validation (the lowest id among
 * equals) within box j, else within the next box, and so on; its box in
 * *box. Boxes take turns, so a few final trials already cover every box.
 * SPARSE__NO_PARENT once every box is spent. */
size_t sparse__pick_final(const sparse_search_config *cfg, const sparse__trial *trials, size_t limit,
                          size_t j, const unsigned char *taken, size_t *box);
/* What sparse__fill_box did to a point: widened it (another network), made
 * it plain (final.fill: dense on a pruned parent), both, or neither (0). */
enum { SPARSE__FILLED_WIDER = 1, SPARSE__FILLED_DENSE = 2 };
/* With final.fill, widens point, a final trial's copy of its parent tr's
 * (never narrowing it), until its network fills box: the search ranks
 * networks after a few epochs, when a wider one is not yet better, but
 * after the final stage's long training the box's spare bytes buy
 * accuracy. With final.fill: dense a pruned parent's point is first made
 * plain (pruning none) and widened as a plain one, unless even unwidened
 * its dense network is outside box (then as with fill: true). The
 * SPARSE__FILLED_* flags of what it did; 0: point unchanged. */
int sparse__fill_box(const sparse__problem *p, const sparse__trial *tr, size_t box, double *point);
/* Seconds the final stage would take if it started after trials 0..n-1: the
 * networks it would train, each at its time per epoch in the search, times
 * its growth in weights if widened, plus a tenth (a pruned one trained plain
 * at its time per epoch times the search's ratio of plain to pruned time
 * per epoch and byte of dense MS, medians); with several workers,
 * each network goes to the first one free, in the order the final stage
 * takes them. */
int sparse__final_seconds(const sparse__problem *p, const sparse__trial *trials, size_t n, size_t workers,
                          double *out);

/* ---- a final SpVD network fitted into its box (fitbox.c) ---- */

/* Lowers every threshold of point that its network uses (and of g, its
 * genome) by offset, none below the space's range (space.threshold). */
void sparse__shift_thresholds(const sparse__layout *lay, const sparse_search_config *cfg, double *point,
                              sparse__genome *g, double offset);
/* net, a final trial's trained SpVD network of point (genome g), pruned
 * with g's thresholds into *pruned: if that network is outside box {ms, wm}
 * in bytes (0: no bound), *pruned becomes the one pruned with the
 * thresholds lowered (sparse__shift_thresholds) by the smallest offset
 * whose network fits (among those at which some weight goes), and *offset
 * that offset. *fits 0 if none fits down to the range's lower end: *pruned
 * is then unchanged and *offset 0. Other trials: *offset 0, *fits 1. */
int sparse__fit_box(const sparse__problem *p, sparse_net *net, const double *point, const sparse__genome *g,
                    const double *box, uint64_t seed, struct sparse_prune_result **pruned, double *offset,
                    int *fits);

/* ---- stopping a trial early (curve.c) ---- */

/* When to stop one trial, made before it starts from the trials its
 * proposal saw. */
typedef struct sparse__stop_plan {
    double bar;    /* the validation accuracy it must be able to reach (-1: it never stops) */
    size_t epochs; /* the epochs its recipe plans */
    double half;   /* half an image of the validation split, as an error rate */
    /* Per epoch k (3 values at 3k): the config's quantile, the median and
     * the spread of the gains in log error seen from that point of the
     * schedule to the end; spread 0 when too few curves reach it. */
    double *gain;
    int ready;     /* some epoch has its gains */
} sparse__stop_plan;

/* The plan of a trial of genome g at point, after trials[0..hist-1]
 * (config early_stop; a plan that never stops without it, with fewer than
 * two epochs, or with no earlier trial on the front that is no larger than
 * this one can end up). */
int sparse__stop_plan_make(const sparse__problem *p, const sparse__trial *trials, size_t hist, const double *point,
                           const sparse__genome *g, sparse__stop_plan *plan);
void sparse__stop_plan_free(sparse__stop_plan *plan);
/* 1 if a trial at validation accuracy acc after epoch k (1 .. epochs - 1)
 * should stop: even the optimistic gain leaves it below the bar; then the
 * accuracy the median gain would have taken it to, and that guess's
 * spread in log error. */
int sparse__stop_check(const sparse__stop_plan *plan, size_t k, double acc, double *pred_acc, double *pred_log_sd);

/* ---- what one evaluation gives ---- */

typedef struct sparse__outcome {
    int ok;
    char reason[512];
    double val_acc, test_acc, ms, wm5, wm6, flash, arena, params;
    double int8_test_acc; /* -1 when the network could not be quantised */
    double val_se; /* binomial standard error of val_acc */
    size_t inherited;
    char *arch_json;
    char *compact_json; /* BC: the architecture after structured pruning */
    /* The learning curve: validation accuracy after epochs 1 .. ncurve
     * (every epoch but the last of a trial trained to its end). */
    double *curve;
    size_t ncurve;
    /* Stopped early after epochs_done epochs, with the curve model's
     * guess of where it would have ended (sparse__trial). */
    int partial;
    size_t epochs_done;
    double pred_acc, pred_log_sd;
    /* A final SpVD trial fitted into its box: the offset its thresholds
     * were lowered by (0: its parent's), or why none fitted (note). */
    double threshold_offset;
    char note[256];
} sparse__outcome;

/* ---- records (records.c) ---- */

/* The trials.jsonl line of trial t: how it was proposed (how, morph), its
 * point (nvars numbers), the genome g it trained and what came of it; a
 * fresh string (caller frees), NULL without memory. */
char *sparse__trial_record(const sparse_search_config *cfg, size_t nvars, size_t t, int stage, size_t parent,
                           const char *how, const char *morph, const double *point, const sparse__genome *g,
                           const sparse__outcome *o, double seconds);

/* ---- the loop's state (loop.c sets it up) ---- */

typedef struct sparse__slot sparse__slot;

typedef struct sparse__search {
    sparse_search_config *cfg;
    const sparse_search_options *opts;
    sparse__layout lay;
    sparse__problem prob; /* the config, lay and the data's shape */
    sparse__runlog *log;
    sparse_dataset *train, *val, *test;
    sparse__trial *trials; /* the recorded trials, 0..n-1 */
    size_t n, cap;
    double t0;
    double budget_s; /* this call's, 0 = none */
    /* The run's limits, kept across resumes in state.json: the trial limit
     * it was started with (0: none), its time budget in all (0: none) and
     * the seconds searched before this call. */
    size_t max_trials;
    double budget_total, elapsed_before;
    size_t total;
    size_t final_from; /* the first trial of the final stage (SIZE_MAX: none) */
    /* sparse__final_estimate's last answer and the trial count it was for: the
     * loop asks before a trial and the progress event after one. */
    double final_estimate;
    size_t final_estimate_at;
    int final_ranked; /* the searched trials hold their posterior (the final stage's picks) */
    /* Trials in flight: next is the next trial to start (n <= next), each
     * of trials n..next-1 holds one of the slots. */
    size_t next, workers, lag;
    sparse__slot *slots;
    const sparse_exp_executor *ex; /* who trains the trials (NULL: worker threads) */
    char *fingerprint;    /* the config's, as state.json holds it (sparse__config_fingerprint) */
    pthread_mutex_t lock; /* guards the slots' done flags, cancel, the user's progress callback */
    pthread_cond_t finished;
    size_t completions; /* trials trained so far in this call, under lock */
    size_t oldest;      /* the trial the progress callback hears of (n), under lock */
    int cancel;
    /* The surrogate's hyper-parameter fits, memoised across proposals
     * (sparse_exp_gp_schedule; a resume fits them again, to the bit). */
    struct sparse_exp_gp_schedule *gp_schedule;
} sparse__search;

/* A trial from its proposal to its record. */
struct sparse__slot {
    sparse__search *s;
    size_t t;
    int busy, done; /* done: trained (or failed to), under s->lock */
    int stage, rc;
    size_t parent;
    double *point;
    sparse__genome g, parent_g; /* parent_g: the parent's, decoded before training starts */
    double box[2];              /* a final trial's box, MS and WM bytes (0: no bound) */
    sparse__stop_plan stop;
    char how[32], morph[96];
    sparse__outcome o;
    double start, seconds;
    char error[1024]; /* the worker's error message when rc != 0 */
    /* Where evaluating reads the parent's weights and writes the trial's
     * (NULL: the run directory's files; a trainer's local copies). */
    const char *parent_file, *weights_file;
    pthread_t thread;
};

/* sparse__final_seconds after the recorded trials, computed once per count. */
int sparse__final_estimate(sparse__search *s, double *out);
/* Before trial s->next starts: starts the final stage early if the time
 * left (budget - elapsed seconds) is what it needs. */
int sparse__plan_final(sparse__search *s, double elapsed, double budget);
/* The trial that final trial t trains again, and its box: sparse__pick_final
 * among the searched trials, all recorded, without those that earlier final
 * trials took; SPARSE__NO_PARENT once every box is spent. */
int sparse__final_parent(sparse__search *s, size_t t, size_t *parent, size_t *box);

/* ---- proposals (propose.c) ---- */

/* Trial sl->t's point, parent, how it was chosen and its morphs, into sl,
 * from the records of trials 0..hist-1 and draws of rng. */
int sparse__propose(const sparse__search *s, sparse__slot *sl, size_t hist, sparse_rng *rng);
/* Creates s->gp_schedule, seeded from the config's seed. */
int sparse__gp_schedule_open(sparse__search *s);

/* ---- one evaluation (evaluate.c) ---- */

/* Trains and measures the trial of sl into sl->o, calling progress (may be
 * NULL) with sl as its user pointer. It reads nothing of s that the calling
 * thread changes meanwhile (the trials array grows), so that it can run in
 * a worker. Failures of the candidate itself are an outcome (sl->o.ok 0,
 * sl->o.reason), SPARSE_OK; I/O and memory errors are returned. */
int sparse__evaluate(const sparse__search *s, sparse__slot *sl, sparse_progress_fn progress);

/* ---- the scheduler (scheduler.c) ---- */

/* Seconds on the monotonic clock. */
double sparse__now_s(void);
/* Runs trials s->n.. until the limit (s->total), the time budget (seconds
 * since s->t0; 0 = none), an error or a cancellation. Trials in flight then
 * finish, or stop if it was an error; those that finished after a failed
 * one are not recorded (a resume trains them). */
int sparse__run_trials(sparse__search *s, double budget);
/* Trial t's point and parent, recorded or in flight (borrowed). */
const double *sparse__point_of(const sparse__search *s, size_t t);
size_t sparse__parent_of(const sparse__search *s, size_t t);

/* ---- trials trained by an executor (executor.c) ---- */

/* Hands the prepared trial of sl to s->ex. */
int sparse__exec_start(sparse__search *s, sparse__slot *sl);
/* Waits for the executor's next finished trial: its slot is then done,
 * with its outcome, and its weights are the run's file. An error of the
 * executor or of its bytes is returned; the trial's own (an I/O error of
 * the worker, weights that cannot be written) goes into its slot. */
int sparse__exec_collect(sparse__search *s);

/* ---- the run's state (loop.c) ---- */

/* The problem of the config's space lay on the data of train. */
sparse__problem sparse__problem_of(const sparse_search_config *cfg, const sparse__layout *lay,
                                   const sparse_dataset *train);
/* The caller's options (any version, NULL: the defaults) in the current
 * layout into o, their seed checked; fn names the caller in messages. */
int sparse__search_options_read(sparse_search_options *o, const sparse_search_options *opts, const char *fn);

/* Appends a recorded trial (its point now the run's). */
int sparse__keep_trial(sparse__search *s, const sparse__trial *t);
/* The best validation accuracy within the budgets so far (-1: none). */
double sparse__best_feasible(const sparse__search *s);
/* Replaces state.json with the run's progress. */
int sparse__write_state(sparse__search *s, int finished);
/* report.html from the records written so far, when due after a record of
 * that stage. */
int sparse__write_report(sparse__search *s, int stage);

/* ---- state.json (state.c) ---- */

/* The fingerprint of the config fields that determine the records, as the
 * members "config_hash" and "config_keys" of state.json (a fresh string,
 * NULL without memory). */
char *sparse__config_fingerprint(const sparse_search_config *cfg);
/* state.json of the run now (a fresh string, NULL without memory). */
char *sparse__state_json(const sparse__search *s, int finished);
/* What a resume checks before it replays a record: state.json (if the run
 * has one) counts no more trials than the records hold, and cfg has the
 * fingerprint the run started with. */
int sparse__state_check(const sparse__runlog *log, const sparse_search_config *cfg);

#endif
