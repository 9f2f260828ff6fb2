#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/doc.h"
#include "../core/durable.h"
#include "../core/internal.h"
#include "runlog.h"

typedef struct note {
    size_t line;
    char *text;
} note;

struct sparse__runlog {
    char *dir;
    int fd, lock_fd; /* trials.jsonl (O_APPEND) and the lock: -1 for a reader */
    off_t end;       /* bytes of whole records in trials.jsonl */
    size_t lines_in_file;
    char **lines;
    size_t *line_no;
    size_t n, cap;
    size_t dropped;
    char *torn; /* a writer's torn last line, until cut (NULL: none) */
    size_t torn_line;
    char *state;
    note *notes;
    size_t nnotes;
};

char *sparse__runlog_path(const sparse__runlog *log, const char *name)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/%s", log->dir, name);
    char *s = sparse__buf_detach(&b);
    sparse__buf_free(&b);
    return s;
}

char *sparse__runlog_weights_path(const sparse__runlog *log, size_t id)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/weights/%zu.safetensors", log->dir, id);
    char *s = sparse__buf_detach(&b);
    sparse__buf_free(&b);
    return s;
}

/* A directory of the run, created if missing (create) and never a symbolic
 * link: writes into it must stay in the run directory. */
static int check_dir(const char *path, int create)
{
    if (create && mkdir(path, 0755) && errno != EEXIST)
        return sparse__error(SPARSE_EIO, "%s: cannot create directory: %s", path, strerror(errno));
    struct stat st;
    if (lstat(path, &st))
        return sparse__error(SPARSE_EIO, "%s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return sparse__error(SPARSE_EIO, "%s: is a symbolic link: a run directory's weights/ must be its own",
                             path);
    if (!S_ISDIR(st.st_mode))
        return sparse__error(SPARSE_EIO, "%s: exists and is not a directory", path);
    return SPARSE_OK;
}

int sparse__runlog_add_note(sparse__runlog *log, size_t line, const char *fmt, ...)
{
    note *p = sparse__realloc(log->notes, (log->nnotes + 1) * sizeof *p);
    if (!p)
        return SPARSE_ENOMEM;
    log->notes = p;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!(p[log->nnotes].text = sparse__strdup(buf)))
        return SPARSE_ENOMEM;
    p[log->nnotes++].line = line;
    return SPARSE_OK;
}

static int keep_line(sparse__runlog *log, const char *s, size_t len, size_t line)
{
    if (log->n == log->cap) {
        size_t nc = log->cap ? 2 * log->cap : 64;
        char **p = sparse__realloc(log->lines, nc * sizeof *p);
        if (p)
            log->lines = p;
        size_t *q = p ? sparse__realloc(log->line_no, nc * sizeof *q) : NULL;
        if (!q)
            return SPARSE_ENOMEM;
        log->line_no = q;
        log->cap = nc;
    }
    char *c = sparse__malloc(len + 1);
    if (!c)
        return SPARSE_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    log->line_no[log->n] = line;
    log->lines[log->n++] = c;
    return SPARSE_OK;
}

/* A line is a record only if it parses as a JSON object: a crash can leave
 * a prefix of the last line, and damage anything else. */
static int is_record(const char *s, size_t len)
{
    sparse__doc *d;
    if (len == 0 || s[0] != '{' || sparse__doc_parse(&d, s, len, "trials.jsonl")) {
        sparse_clear_error();
        return 0;
    }
    int ok = sparse__doc_root(d)->kind == SPARSE__DOC_MAP;
    sparse__doc_free(d);
    return ok;
}

/* trials.jsonl as read: its records kept, the first line that is not one
 * (bad_line, 0 if none; bad_records: records after it), and a torn last
 * line (tail_line, its offset tail_at and length tail_len). */
typedef struct scan {
    size_t bad_line, bad_records;
    size_t tail_line, tail_at, tail_len;
} scan;

static int scan_lines(sparse__runlog *log, const char *text, size_t len, int reader, scan *sc)
{
    memset(sc, 0, sizeof *sc);
    size_t pos = 0, line = 0;
    int rc = SPARSE_OK;
    while (!rc && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos, next = pos + l + (nl ? 1 : 0);
        line++;
        if (nl && is_record(text + pos, l)) {
            sc->bad_records += sc->bad_line != 0;
            rc = keep_line(log, text + pos, l, line);
        } else if (next == len) { /* the last line: torn by a crash while it was written */
            sc->tail_line = line;
            sc->tail_at = pos;
            sc->tail_len = next - pos;
        } else {
            if (!sc->bad_line)
                sc->bad_line = line;
            if (reader)
                rc = sparse__runlog_add_note(
                    log, line, "%s/trials.jsonl:%zu: not a trial record (not a JSON object); skipped",
                    log->dir, line);
        }
        pos = next;
    }
    log->lines_in_file = line - (sc->tail_len ? 1 : 0);
    return rc;
}

int sparse__runlog_cut_torn(sparse__runlog *log)
{
    SPARSE__CHECK_NULL(log);
    if (!log->torn)
        return SPARSE_OK;
    char *copy = sparse__runlog_path(log, "trials.jsonl.torn"),
         *trials = sparse__runlog_path(log, "trials.jsonl");
    int fd = -1;
    off_t end = 0;
    const size_t len = log->dropped;
    int rc = copy && trials ? sparse__append_open(copy, &fd, &end) : SPARSE_ENOMEM;
    /* The copy, one line per cut: the torn line, then a newline unless it
     * ended with one. */
    if (!rc)
        rc = sparse__append_durable(fd, &end, log->torn, len + (log->torn[len - 1] != '\n'), copy);
    if (fd >= 0)
        close(fd);
    if (!rc && (ftruncate(log->fd, log->end) || fsync(log->fd)))
        rc = sparse__error(SPARSE_EIO, "%s: cannot cut the torn last line: %s", trials, strerror(errno));
    if (!rc)
        rc = sparse__runlog_add_note(log, log->torn_line,
                                     "%s:%zu: torn last line (%zu bytes) cut; a copy is in %s", trials,
                                     log->torn_line, len, copy);
    if (!rc) {
        free(log->torn);
        log->torn = NULL;
    }
    free(copy);
    free(trials);
    return rc;
}

/* A writer keeps the torn last line, to cut once the run is known to be
 * the one to continue (sparse__runlog_cut_torn): a resume refused for
 * another reason leaves the file as it was. */
static int keep_torn(sparse__runlog *log, const char *tail, const scan *sc)
{
    if (!(log->torn = sparse__malloc(sc->tail_len + 1)))
        return SPARSE_ENOMEM;
    memcpy(log->torn, tail, sc->tail_len);
    log->torn[sc->tail_len] = '\n';
    log->torn_line = sc->tail_line;
    log->dropped = sc->tail_len;
    log->end = (off_t)sc->tail_at;
    return SPARSE_OK;
}

/* What a reader says of a torn last line, and of copies of earlier ones. */
static int note_tail(sparse__runlog *log, const char *trials, const scan *sc)
{
    int rc = SPARSE_OK;
    if (sc->tail_len)
        rc = sparse__runlog_add_note(
            log, sc->tail_line,
            "%s:%zu: last line is not a whole record (%zu bytes: a crash while writing it, or a search "
            "writing it now); ignored (a resume cuts it, keeping a copy in trials.jsonl.torn)",
            trials, sc->tail_line, sc->tail_len);
    char *copy = sparse__runlog_path(log, "trials.jsonl.torn");
    struct stat st;
    if (!rc && copy && !lstat(copy, &st))
        rc = sparse__runlog_add_note(
            log, 0,
            "%s: %lld bytes of torn last lines that resumes cut off (kept for inspection; safe to "
            "delete)",
            copy, (long long)st.st_size);
    free(copy);
    return rc;
}

/* Reads trials.jsonl: a writer refuses a bad line that is not the last
 * (it may be a record damaged after the fact, and records follow it) and
 * cuts a torn last one; a reader skips and notes both. */
static int read_trials(sparse__runlog *log, const char *trials, int reader)
{
    char *text = NULL;
    size_t len = 0;
    int rc = sparse__read_file_nofollow(trials, &text, &len);
    if (rc == SPARSE_ENOTFOUND) {
        sparse_clear_error();
        return SPARSE_OK;
    }
    scan sc = {0, 0, 0, 0, 0};
    if (!rc)
        rc = scan_lines(log, text, len, reader, &sc);
    if (!rc && !reader && sc.bad_line)
        rc = sparse__error(
            SPARSE_EFORMAT,
            "%s:%zu: not a trial record (not a JSON object), and %zu record%s follow%s it: a line "
            "other than the last is never cut. The file is unchanged: repair or remove that line "
            "(keep a copy), then resume",
            trials, sc.bad_line, sc.bad_records, sc.bad_records == 1 ? "" : "s",
            sc.bad_records == 1 ? "s" : "");
    if (!rc && reader)
        rc = note_tail(log, trials, &sc);
    if (!rc && !reader && sc.tail_len)
        rc = keep_torn(log, text + sc.tail_at, &sc);
    free(text);
    return rc;
}

/* Temp files of a writer killed while it replaced a file: NAME.tmp.PID and
 * NAME.tmp.PID.XXXXXX beside the file. Only the lock holder writes them. */
static void remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".tmp.");
        if (tmp && (!*prefix || tmp == e->d_name + strlen(prefix)) &&
            !strncmp(e->d_name, prefix, strlen(prefix)) && tmp[5] >= '0' && tmp[5] <= '9')
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static int open_writer(sparse__runlog *log, int create, const char *trials)
{
    char *lock = sparse__runlog_path(log, "lock"), *weights = sparse__runlog_path(log, "weights");
    sparse__buf what = SPARSE__BUF_INIT;
    sparse__buf_printf(&what, "run directory %s", log->dir);
    int rc = lock && weights && !what.failed ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc)
        rc = sparse__lock_take(lock, what.data, &log->lock_fd);
    if (!rc) {
        remove_stale(log->dir, "state.json");
        remove_stale(log->dir, "config.yaml");
        rc = check_dir(weights, create || access(weights, F_OK));
    }
    if (!rc)
        remove_stale(weights, "");
    if (!rc)
        rc = sparse__append_open(trials, &log->fd, &log->end);
    sparse__buf_free(&what);
    free(lock);
    free(weights);
    return rc;
}

static int read_state(sparse__runlog *log, int reader)
{
    char *path = sparse__runlog_path(log, "state.json");
    int rc = path ? sparse__read_file_nofollow(path, &log->state, NULL) : SPARSE_ENOMEM;
    if (rc == SPARSE_ENOTFOUND) {
        sparse_clear_error();
        rc = SPARSE_OK;
    } else if (rc && rc != SPARSE_ENOMEM && reader) {
        rc = sparse__runlog_add_note(log, 0, "%s", sparse_last_error());
        sparse_clear_error();
    }
    free(path);
    return rc;
}

int sparse__runlog_open(sparse__runlog **out, const char *dir, int mode)
{
    const int create = mode == SPARSE__RUNLOG_CREATE, reader = mode == SPARSE__RUNLOG_READ;
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(dir);
    sparse__runlog *log = sparse__calloc(1, sizeof *log);
    if (!log)
        return SPARSE_ENOMEM;
    log->fd = log->lock_fd = -1;
    log->dir = sparse__strdup(dir);
    char *trials = NULL;
    struct stat st;
    int rc = log->dir ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc && create && mkdir(dir, 0755) && errno != EEXIST)
        rc = sparse__error(SPARSE_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    if (!rc && stat(dir, &st))
        rc = sparse__error(SPARSE_ENOTFOUND, "%s: no such run directory", dir);
    if (!rc && !S_ISDIR(st.st_mode))
        rc = sparse__error(SPARSE_EIO, "%s: exists and is not a directory", dir);
    if (!rc)
        rc = (trials = sparse__runlog_path(log, "trials.jsonl")) ? SPARSE_OK : SPARSE_ENOMEM;
    /* The writer locks before it reads, so that what it reads stays true. */
    if (!rc && !reader)
        rc = open_writer(log, create, trials);
    if (!rc)
        rc = read_state(log, reader);
    if (!rc)
        rc = read_trials(log, trials, reader);
    free(trials);
    if (rc) {
        sparse__runlog_free(log);
        return rc;
    }
    *out = log;
    return SPARSE_OK;
}

void sparse__runlog_free(sparse__runlog *log)
{
    if (!log)
        return;
    if (log->fd >= 0)
        close(log->fd);
    if (log->lock_fd >= 0)
        close(log->lock_fd); /* releases the lock */
    for (size_t i = 0; i < log->n; i++)
        free(log->lines[i]);
    for (size_t i = 0; i < log->nnotes; i++)
        free(log->notes[i].text);
    free(log->notes);
    free(log->lines);
    free(log->line_no);
    free(log->torn);
    free(log->state);
    free(log->dir);
    free(log);
}

size_t sparse__runlog_count(const sparse__runlog *log) { return log ? log->n : 0; }
size_t sparse__runlog_dropped(const sparse__runlog *log) { return log ? log->dropped : 0; }
size_t sparse__runlog_note_count(const sparse__runlog *log) { return log ? log->nnotes : 0; }
const char *sparse__runlog_state(const sparse__runlog *log) { return log ? log->state : NULL; }
const char *sparse__runlog_dir(const sparse__runlog *log) { return log ? log->dir : NULL; }

const char *sparse__runlog_line(const sparse__runlog *log, size_t i)
{
    return log && i < log->n ? log->lines[i] : NULL;
}

size_t sparse__runlog_line_number(const sparse__runlog *log, size_t i)
{
    return log && i < log->n ? log->line_no[i] : 0;
}

const char *sparse__runlog_note(const sparse__runlog *log, size_t i, size_t *line)
{
    if (!log || i >= log->nnotes)
        return NULL;
    if (line)
        *line = log->notes[i].line;
    return log->notes[i].text;
}

int sparse__runlog_append(sparse__runlog *log, const char *json)
{
    SPARSE__CHECK_NULL(log);
    SPARSE__CHECK_NULL(json);
    if (log->fd < 0)
        return sparse__error(SPARSE_EINVAL, "%s: run opened read-only", log->dir);
    size_t len = strlen(json);
    if (memchr(json, '\n', len))
        return sparse__error(SPARSE_EINVAL, "trials.jsonl: a record must be one line");
    int rc = sparse__runlog_cut_torn(log);
    if (rc)
        return rc;
    char *rec = sparse__malloc(len + 1), *path = sparse__runlog_path(log, "trials.jsonl");
    rc = rec && path ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc) {
        memcpy(rec, json, len);
        rec[len] = '\n';
        rc = sparse__append_durable(log->fd, &log->end, rec, len + 1, path);
    }
    /* Kept in memory only once it is on disk. */
    if (!rc && !(rc = keep_line(log, json, len, log->lines_in_file + 1)))
        log->lines_in_file++;
    free(rec);
    free(path);
    return rc;
}

int sparse__runlog_write_state(sparse__runlog *log, const char *json)
{
    SPARSE__CHECK_NULL(log);
    SPARSE__CHECK_NULL(json);
    char *path = sparse__runlog_path(log, "state.json");
    if (!path)
        return SPARSE_ENOMEM;
    int rc = sparse__replace_file(path, json, strlen(json));
    free(path);
    return rc;
}
