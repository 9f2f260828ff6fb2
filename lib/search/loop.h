/* The search loop's parts and the state they share. loop.c sets a run up
 * and replays its records; scheduler.c starts, trains and records trials in
 * order; propose.c chooses the next point; evaluate.c trains and measures
 * one; cap.c weighs a point's network against the size cap; final.c plans
 * the final stage; records.c writes and reads trials.jsonl. */
#ifndef SPARSE_SEARCH_LOOP_H
#define SPARSE_SEARCH_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "search_internal.h"

/* ---- the size cap (cap.c) ---- */

/* How far above a budget the dense (unpruned) network may be and still be
 * worth training: pruning removes weights (SpVD, BC) and, with BC, channels,
 * so activations too. Without pruning the dense figures are the final ones. */
void sp_cap_factors(int prune, int wm_model, double *ms_factor, double *wm_factor);

/* A point's network before any training: dense MS (every weight counted)
 * and WM, and their shares of the size cap (0 without that budget). */
typedef struct sp_cap_figures {
    uint64_t ms, wm;
    double ms_factor, wm_factor, ms_share, wm_share;
} sp_cap_figures;

/* The figures of point's network; 0 if it cannot be built (it fails later
 * with its own reason). */
int sp_dense_figures(const sp_problem *p, const double *point, sp_cap_figures *f);
/* 1 if the point's network, before any training, can still meet the
 * budgets (always 1 without budgets, or if it cannot be built); else 0 and
 * why (capacity why_cap) says which it exceeds. */
int sp_within_cap(const sp_problem *p, const double *point, char *why, size_t why_cap);
/* The point with every filter count and the FC weights scaled by m and
 * rounded, within the space's bounds, into out. */
void sp_scale_widths(const sp_problem *p, const double *point, double m, double *out);
/* The larger of the shares of a limit that the point's dense network takes:
 * of the size cap (box NULL), or of box {ms, wm} in bytes (0: no bound);
 * -1 if the network cannot be built. */
double sp_share_of(const sp_problem *p, const double *point, const double *box);
/* Scales point's widths (sp_scale_widths) by the largest factor in
 * [lo_m, hi_m] whose network takes at most target of the limit
 * (sp_share_of), to within 16 bisection steps on log m; 1 if one did, 0
 * (point unchanged) if none. */
int sp_widest_fit(const sp_problem *p, double *point, double lo_m, double hi_m, const double *box, double target);
/* Widens or narrows a random point so that its network fills a random share
 * (the config's random_fill, log-uniform) of the size cap; nothing without
 * budgets or with random_fill 0. */
void sp_fit_to_cap(const sp_problem *p, sparse_rng *rng, double *point);

/* ---- one evaluation (evaluate.c) ---- */

typedef struct sp_outcome {
    int ok;
    char reason[512];
    double val_acc, test_acc, ms, wm5, wm6, flash, arena, params;
    double int8_test_acc; /* -1 when the network could not be quantised */
    size_t inherited;
    char *arch_json;
    char *compact_json; /* BC: the architecture after structured pruning */
} sp_outcome;

/* ---- records (records.c) ---- */

/* The trials.jsonl line of trial t: how it was proposed (how, morph), its
 * point (nvars numbers), the genome g it trained and what came of it; a
 * fresh string (caller frees), NULL without memory. */
char *sp_trial_record(const sparse_search_config *cfg, size_t nvars, size_t t, int stage, size_t parent,
                      const char *how, const char *morph, const double *point, const sp_genome *g,
                      const sp_outcome *o, double seconds);

#endif
