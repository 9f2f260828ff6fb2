/*
 * The run directory's durable records: trials.jsonl (append-only, one JSON
 * object per line, fsync after each) and state.json (replaced atomically).
 * A torn last line (a crash mid-write) is dropped on open and cut off before
 * the next append, so nothing already evaluated is lost and no line is ever
 * glued to a fragment.
 */
#ifndef SPARSE_SEARCH_RUNLOG_H
#define SPARSE_SEARCH_RUNLOG_H

#include <stddef.h>

typedef struct sparse__runlog sparse__runlog;

enum sparse__runlog_mode {
    SPARSE__RUNLOG_APPEND = 0, /* an existing run, to continue */
    SPARSE__RUNLOG_CREATE = 1, /* create the directory (and weights/) if missing */
    SPARSE__RUNLOG_READ = 2    /* read only: never writes, never cuts a torn tail */
};

/* Opens the run directory `dir` and reads back every complete line of
 * trials.jsonl. */
int sparse__runlog_open(sparse__runlog **out, const char *dir, int mode);
void sparse__runlog_free(sparse__runlog *log);

/* Complete lines read at open plus those appended since (borrowed). */
size_t sparse__runlog_count(const sparse__runlog *log);
const char *sparse__runlog_line(const sparse__runlog *log, size_t i);
/* Bytes of torn tail dropped at open (0 for a clean log). */
size_t sparse__runlog_dropped(const sparse__runlog *log);

/* Appends one JSON object (no newline inside) and makes it durable. */
int sparse__runlog_append(sparse__runlog *log, const char *json);
/* Replaces state.json atomically (temp file, fsync, rename). */
int sparse__runlog_write_state(sparse__runlog *log, const char *json);
/* "DIR/NAME" in a fresh string (caller frees). */
char *sparse__runlog_path(const sparse__runlog *log, const char *name);
/* "DIR/weights/ID.safetensors" in a fresh string (caller frees). */
char *sparse__runlog_weights_path(const sparse__runlog *log, size_t id);

#endif
