/* What the end-to-end tests of the search share: scratch directories, a
 * tiny generated data set and search config, and run directories read back
 * (records compared with their "seconds" stripped: timings differ). */
#ifndef SPARSE_TEST_SEARCH_TINY_RUN_H
#define SPARSE_TEST_SEARCH_TINY_RUN_H

#include <stddef.h>

#include "sparse/search.h"

/* A fresh directory under /tmp (caller frees the name) and its removal. */
char *make_tmpdir(void);
void rm_rf(const char *dir);
/* DIR/tiny.csv: 360 images of 8x8 in 3 classes (a bright row, column or
 * diagonal, plus noise); its path (caller frees). */
char *write_tiny_csv(const char *dir);
/* An 8-trial search over one- and two-block networks on csv, with budgets,
 * every pruning method and shifts (caller frees). */
char *tiny_config(const char *csv);
/* A 10-trial search on csv whose networks are all pruned by SpVD, each
 * searched one trained with its KL term from its second epoch on, and a
 * final stage of 2 trials in a box of box_ms and box_wm bytes (MS, WM5) that
 * retrains them for one epoch, before the KL term starts: their log alphas
 * fall, so they grow. space_extra is appended to the space's keys (", key:
 * value"). Caller frees. */
char *growing_final_config(const char *csv, const char *space_extra, double box_ms, double box_wm);
/* The MS and WM5 of the parent of trial t of the run in dir. */
void parent_sizes(const char *dir, size_t t, double *ms, double *wm);
/* text parsed as a search config (named test.yaml); fails the test on an error. */
sparse_search_config *parse_config(const char *text);
/* A new search of cfg_text into dir, at most max_trials (0: the config's). */
void run_search(const char *cfg_text, const char *dir, size_t max_trials);
/* Runs the search of cfg into dir in a child process, killed with SIGKILL
 * once kill_after[k] trials are recorded and resumed, for each k; then
 * resumes it to its end. */
void kill_and_resume(const char *cfg, const char *dir, const size_t *kill_after, size_t kills);
/* Line i (from 0) of text (caller frees). */
char *line_of(const char *text, size_t i);
/* text's config resolved to YAML holds `needle` (NULL: no check) and not
 * `absent` (NULL: no check), and that YAML resolves to itself. */
void expect_resolved(const char *text, const char *needle, const char *absent);
/* The whole file (caller frees); fails the test if it cannot be read. */
char *read_all(const char *path);
/* Records with the "seconds" field removed, in place. */
void strip_seconds(char *s);
/* Newlines in path (0 if it cannot be opened). */
size_t count_lines(const char *path);
/* DIR/trials.jsonl with its seconds stripped (caller frees). */
char *records_of(const char *dir);
/* Writes text to path (replacing it). */
void write_text(const char *path, const char *text);
/* Sets trials_done of run's state.json to done, as a crash after `done`
 * trials leaves it (state.json is replaced after each record, so it never
 * counts one the log lacks). */
void rewind_state(const char *run, size_t done);

#endif
