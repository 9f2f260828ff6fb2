#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "runlog.h"

struct sparse__runlog {
    char *dir;
    int fd;
    char **lines;
    size_t n, cap;
    size_t dropped;
};

char *sparse__runlog_path(const sparse__runlog *log, const char *name)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/%s", log->dir, name);
    return sparse__buf_detach(&b);
}

char *sparse__runlog_weights_path(const sparse__runlog *log, size_t id)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/weights/%zu.safetensors", log->dir, id);
    return sparse__buf_detach(&b);
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return sparse__error(SPARSE_EIO, "%s: cannot create directory: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode))
        return sparse__error(SPARSE_EIO, "%s: exists and is not a directory", path);
    return SPARSE_OK;
}

static int keep_line(sparse__runlog *log, const char *s, size_t len)
{
    if (log->n == log->cap) {
        size_t nc = log->cap ? 2 * log->cap : 64;
        char **p = sparse__realloc(log->lines, nc * sizeof *p);
        if (!p)
            return SPARSE_ENOMEM;
        log->lines = p;
        log->cap = nc;
    }
    char *c = sparse__malloc(len + 1);
    if (!c)
        return SPARSE_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    log->lines[log->n++] = c;
    return SPARSE_OK;
}

/* A line counts only if it ends in '\n' and parses as a JSON object: a crash
 * can leave a prefix of the last line, which may even end on a newline. */
static int line_is_complete(const char *s, size_t len)
{
    sparse__doc *d;
    if (len == 0 || s[0] != '{' || sparse__doc_parse(&d, s, len, "trials.jsonl"))
        return 0;
    int ok = sparse__doc_root(d)->kind == SPARSE__DOC_MAP;
    sparse__doc_free(d);
    return ok;
}

static int read_existing(sparse__runlog *log, const char *path, size_t *valid)
{
    char *text = NULL;
    size_t len = 0;
    *valid = 0;
    if (access(path, F_OK))
        return SPARSE_OK;
    int rc = sparse__read_file(path, &text, &len);
    if (rc)
        return rc;
    size_t pos = 0;
    while (!rc && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break;
        size_t l = (size_t)(nl - (text + pos));
        if (!line_is_complete(text + pos, l))
            break;
        rc = keep_line(log, text + pos, l);
        pos += l + 1;
    }
    free(text);
    sparse_clear_error();
    *valid = pos;
    log->dropped = len - pos;
    return rc;
}

int sparse__runlog_open(sparse__runlog **out, const char *dir, int mode)
{
    int create = mode == SPARSE__RUNLOG_CREATE;
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(dir);
    sparse__runlog *log = sparse__calloc(1, sizeof *log);
    if (!log)
        return SPARSE_ENOMEM;
    log->fd = -1;
    log->dir = sparse__strdup(dir);
    char *weights = NULL, *trials = NULL;
    int rc = log->dir ? SPARSE_OK : SPARSE_ENOMEM;
    if (!rc && create)
        rc = make_dir(dir);
    if (!rc && access(dir, F_OK))
        rc = sparse__error(SPARSE_ENOTFOUND, "%s: no such run directory", dir);
    if (!rc) {
        weights = sparse__runlog_path(log, "weights");
        trials = sparse__runlog_path(log, "trials.jsonl");
        rc = weights && trials ? SPARSE_OK : SPARSE_ENOMEM;
    }
    if (!rc && create)
        rc = make_dir(weights);
    size_t valid = 0;
    if (!rc)
        rc = read_existing(log, trials, &valid);
    if (!rc && mode != SPARSE__RUNLOG_READ) {
        log->fd = open(trials, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (log->fd < 0)
            rc = sparse__error(SPARSE_EIO, "%s: cannot open for appending: %s", trials, strerror(errno));
    }
    /* Cut a torn tail so the next record starts on a line of its own. */
    if (!rc && log->fd >= 0 && (ftruncate(log->fd, (off_t)valid) || lseek(log->fd, 0, SEEK_END) < 0))
        rc = sparse__error(SPARSE_EIO, "%s: cannot truncate the torn last line: %s", trials,
                           strerror(errno));
    free(weights);
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
    for (size_t i = 0; i < log->n; i++)
        free(log->lines[i]);
    free(log->lines);
    free(log->dir);
    free(log);
}

size_t sparse__runlog_count(const sparse__runlog *log) { return log ? log->n : 0; }
size_t sparse__runlog_dropped(const sparse__runlog *log) { return log ? log->dropped : 0; }

const char *sparse__runlog_line(const sparse__runlog *log, size_t i)
{
    return log && i < log->n ? log->lines[i] : NULL;
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
    int rc = keep_line(log, json, len);
    if (rc)
        return rc;
    /* One write per record: with O_APPEND semantics emulated by the seek at
     * open, a crash leaves at most this record torn. */
    char *rec = sparse__malloc(len + 1);
    if (!rec)
        return SPARSE_ENOMEM;
    memcpy(rec, json, len);
    rec[len] = '\n';
    size_t done = 0;
    while (done < len + 1) {
        ssize_t w = write(log->fd, rec + done, len + 1 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(rec);
            return sparse__error(SPARSE_EIO, "%s/trials.jsonl: write failed: %s", log->dir,
                                 strerror(errno));
        }
        done += (size_t)w;
    }
    free(rec);
    if (fsync(log->fd))
        return sparse__error(SPARSE_EIO, "%s/trials.jsonl: fsync failed: %s", log->dir, strerror(errno));
    return SPARSE_OK;
}

int sparse__runlog_write_state(sparse__runlog *log, const char *json)
{
    SPARSE__CHECK_NULL(log);
    SPARSE__CHECK_NULL(json);
    char *path = sparse__runlog_path(log, "state.json");
    if (!path)
        return SPARSE_ENOMEM;
    int rc = sparse__write_file_atomic(path, json, strlen(json));
    free(path);
    return rc;
}
