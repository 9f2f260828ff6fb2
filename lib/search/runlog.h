/*
 * The run directory's durable records: trials.jsonl (append-only, one JSON
 * object per line, each written whole and fsynced) and state.json (replaced
 * atomically), guarded by an advisory lock on DIR/lock that one writer holds
 * while it has the run open.
 *
 * A crash can tear only the last line. A writer cuts a torn last line (a
 * copy goes to trials.jsonl.torn first) once told to, or before its first
 * append; any other line that is not a record stops it at open with its
 * line number and the file untouched. A reader skips such
 * lines and says so (the notes below). No file is followed through a
 * symbolic link.
 */
#ifndef SPARSE_SEARCH_RUNLOG_H
#define SPARSE_SEARCH_RUNLOG_H

#include <stddef.h>

typedef struct sparse__runlog sparse__runlog;

enum sparse__runlog_mode {
    SPARSE__RUNLOG_APPEND = 0, /* an existing run, to continue: locked */
    SPARSE__RUNLOG_CREATE = 1, /* create the directory (and weights/) if missing: locked */
    SPARSE__RUNLOG_READ = 2    /* read only: no lock, never writes, skips what it cannot read */
};

/* Opens the run directory `dir`: reads state.json, then every record of
 * trials.jsonl (in that order, so that a reader never sees state.json ahead
 * of the records). A writer (APPEND, CREATE) first takes the lock (a second
 * writer is refused, naming the holder's pid) and removes the temp files a
 * killed writer left (NAME.tmp.PID... of weights/ID.safetensors, state.json
 * and config.yaml). */
int sparse__runlog_open(sparse__runlog **out, const char *dir, int mode);
void sparse__runlog_free(sparse__runlog *log);

/* Records read at open plus those appended since (borrowed), and the line of
 * trials.jsonl each is on (1-based). */
size_t sparse__runlog_count(const sparse__runlog *log);
const char *sparse__runlog_line(const sparse__runlog *log, size_t i);
size_t sparse__runlog_line_number(const sparse__runlog *log, size_t i);
/* Bytes of the torn last line dropped at open (0 for a clean log). */
size_t sparse__runlog_dropped(const sparse__runlog *log);
/* A writer: cuts the torn last line found at open off trials.jsonl, after
 * appending a copy of it to trials.jsonl.torn, and notes it; nothing
 * without one. The first append does it if the caller has not. */
int sparse__runlog_cut_torn(sparse__runlog *log);
/* What open found and read past, in file order: lines skipped (a reader),
 * a torn last line ignored (a reader) or cut (a writer), copies of torn
 * lines kept in trials.jsonl.torn. Message "DIR/trials.jsonl:LINE: ..."
 * (borrowed) and the line it is about (0: none). */
size_t sparse__runlog_note_count(const sparse__runlog *log);
const char *sparse__runlog_note(const sparse__runlog *log, size_t i, size_t *line);
/* Adds a note of the caller's (a reader's: what it read past) about line. */
int sparse__runlog_add_note(sparse__runlog *log, size_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* state.json as read at open (borrowed; NULL when there is none). */
const char *sparse__runlog_state(const sparse__runlog *log);
const char *sparse__runlog_dir(const sparse__runlog *log);

/* Appends one JSON object (no newline inside) and makes it durable; a
 * failure leaves nothing of it in the file. */
int sparse__runlog_append(sparse__runlog *log, const char *json);
/* Replaces state.json atomically (temp file, fsync, rename). */
int sparse__runlog_write_state(sparse__runlog *log, const char *json);
/* "DIR/NAME" in a fresh string (caller frees). */
char *sparse__runlog_path(const sparse__runlog *log, const char *name);
/* "DIR/weights/ID.safetensors" in a fresh string (caller frees). */
char *sparse__runlog_weights_path(const sparse__runlog *log, size_t id);

#endif
