/* The search loop's parts and the state they share. loop.c sets a run up
 * and replays its records; scheduler.c starts, trains and records trials in
 * order; propose.c chooses the next point; evaluate.c trains and measures
 * one; cap.c weighs a point's network against the size cap; final.c plans
 * the final stage; records.c writes and reads trials.jsonl. */
#ifndef SPARSE_SEARCH_LOOP_H
#define SPARSE_SEARCH_LOOP_H

#include <stddef.h>

#include "search_internal.h"

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
