/* state.json: the run's progress and the fingerprint of the config that
 * determines its records, and the checks a resume makes against them.
 *
 * The fingerprint is a 64-bit FNV-1a hash of the resolved config (the YAML
 * of sparse_search_config_to_yaml) without the keys that only say how fast
 * the run goes (threads, workers, time_budget) or how it is drawn (plot),
 * and one such hash per key (data.source, space.filters, stages[1], ...), so
 * that a refused resume can name what changed. Keys newer than the
 * fingerprints count only when they are not at their defaults. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "loop.h"

/* Keys a resume may change. */
static const char *const free_keys[] = {"threads", "workers", "time_budget", "plot"};

/* Keys added after runs began to record fingerprints, at their defaults:
 * left out of the hash, so that such a run still resumes (its config.yaml
 * lacks them, and it gets the default), while a run that sets another
 * value is held to it. */
static const char *const new_key_defaults[] = {"ranking: posterior", "early_stop: {quantile: 0.9, min_curves: 8}",
                                               "arch_repeats: 1"};

static int is_new_key_default(const char *line, size_t len)
{
    for (size_t i = 0; i < sizeof new_key_defaults / sizeof new_key_defaults[0]; i++)
        if (strlen(new_key_defaults[i]) == len && !strncmp(new_key_defaults[i], line, len))
            return 1;
    return 0;
}

typedef struct entry {
    char path[64];
    const char *text; /* its first line, in the YAML */
    size_t text_len;
    uint64_t hash;
} entry;

typedef struct fingerprint {
    char *yaml;
    entry *e;
    size_t n;
    uint64_t hash;
} fingerprint;

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static int is_free_key(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof free_keys / sizeof free_keys[0]; i++)
        if (strlen(free_keys[i]) == len && !strncmp(free_keys[i], key, len))
            return 1;
    return 0;
}

/* The key of a "key: value" or "key:" line (from s, len bytes). */
static size_t key_len(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    return colon ? (size_t)(colon - s) : len;
}

/* Splits the resolved YAML into entries: a top-level key, or for a map a
 * key of it (two spaces in), or for a list an item ("  - "); deeper lines
 * belong to the entry above them. */
static int split(fingerprint *f)
{
    char top[32] = "";
    size_t items = 0;
    int skip = 0;
    f->hash = FNV_OFFSET;
    for (const char *p = f->yaml; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *next = nl ? nl + 1 : p + len;
        if (p[0] != ' ') {
            size_t k = key_len(p, len);
            snprintf(top, sizeof top, "%.*s", (int)k, p);
            skip = is_free_key(p, k) || is_new_key_default(p, len);
            items = 0;
        }
        if (skip || len == 0) {
            p = next;
            continue;
        }
        f->hash = fnv1a(fnv1a(f->hash, p, len), "\n", 1);
        if (!strncmp(p, "    ", 4) && f->n) { /* deeper: part of the entry above */
            entry *e = &f->e[f->n - 1];
            e->hash = fnv1a(fnv1a(e->hash, p, len), "\n", 1);
            p = next;
            continue;
        }
        entry *e = sparse__realloc(f->e, (f->n + 1) * sizeof *e);
        if (!e)
            return SPARSE_ENOMEM;
        f->e = e;
        e = &f->e[f->n++];
        if (p[0] != ' ')
            snprintf(e->path, sizeof e->path, "%s", top);
        else if (!strncmp(p, "  - ", 4))
            snprintf(e->path, sizeof e->path, "%s[%zu]", top, items++);
        else
            snprintf(e->path, sizeof e->path, "%s.%.*s", top, (int)key_len(p + 2, len - 2), p + 2);
        e->text = p + strspn(p, " ");
        e->text_len = len - (size_t)(e->text - p);
        e->hash = fnv1a(fnv1a(FNV_OFFSET, p, len), "\n", 1);
        p = next;
    }
    return SPARSE_OK;
}

static void fingerprint_free(fingerprint *f)
{
    free(f->yaml);
    free(f->e);
}

static int fingerprint_of(const sparse_search_config *cfg, fingerprint *f)
{
    memset(f, 0, sizeof *f);
    int rc = sparse_search_config_to_yaml(&f->yaml, cfg);
    if (!rc)
        rc = split(f);
    if (rc)
        fingerprint_free(f);
    return rc;
}

char *sparse__config_fingerprint(const sparse_search_config *cfg)
{
    fingerprint f;
    if (fingerprint_of(cfg, &f))
        return NULL;
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "\"config_hash\":\"fnv1a64:%016llx\",\"config_keys\":{",
                       (unsigned long long)f.hash);
    for (size_t i = 0; i < f.n; i++) {
        sparse__buf_puts(&b, i ? "," : "");
        sparse__buf_json_string(&b, f.e[i].path);
        sparse__buf_printf(&b, ":\"%016llx\"", (unsigned long long)f.e[i].hash);
    }
    sparse__buf_puts(&b, "}");
    fingerprint_free(&f);
    char *s = sparse__buf_detach(&b);
    sparse__buf_free(&b);
    return s;
}

char *sparse__state_json(const sparse__search *s, int finished)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(
        &b,
        "{\"trials_done\":%zu,\"trials_planned\":%zu,\"finished\":%s,\"best_feasible_val_accuracy\":", s->n,
        s->total, finished ? "true" : "false");
    sparse__buf_json_double(&b, sparse__best_feasible(s));
    sparse__buf_printf(&b, ",\"max_trials\":%zu,\"time_budget_s\":", s->max_trials);
    sparse__buf_json_double(&b, s->budget_total);
    sparse__buf_puts(&b, ",\"elapsed_s\":");
    sparse__buf_json_double(&b, floor((s->elapsed_before + sparse__now_s() - s->t0) * 1000) / 1000);
    sparse__buf_printf(&b, ",%s}\n", s->fingerprint);
    char *json = sparse__buf_detach(&b);
    sparse__buf_free(&b);
    return json;
}

/* state.json parsed (NULL when the run has none); an error names it. */
static int parse_state(const sparse__runlog *log, sparse__doc **out)
{
    const char *text = sparse__runlog_state(log);
    *out = NULL;
    if (!text)
        return SPARSE_OK;
    char *path = sparse__runlog_path(log, "state.json");
    int rc = path ? sparse__doc_parse(out, text, strlen(text), path) : SPARSE_ENOMEM;
    if (!rc && sparse__doc_root(*out)->kind != SPARSE__DOC_MAP)
        rc = sparse__doc_error(*out, sparse__doc_root(*out), SPARSE_EFORMAT, "not a JSON object");
    if (rc) {
        sparse__doc_free(*out);
        *out = NULL;
    }
    free(path);
    return rc;
}

int sparse__state_trials_done(const sparse__runlog *log, size_t *done)
{
    sparse__doc *d;
    long n = 0;
    *done = 0;
    int rc = parse_state(log, &d);
    if (!rc && d)
        rc = sparse__doc_long(d, sparse__doc_get(sparse__doc_root(d), "trials_done"), "trials_done", 0,
                              100000000L, &n);
    sparse__doc_free(d);
    if (!rc)
        *done = (size_t)n;
    return rc;
}

int sparse__state_limits(const sparse__runlog *log, sparse__limits *out)
{
    static const char *const keys[6] = {"trials_done", "trials_planned", "finished", "max_trials", "time_budget_s",
                                        "elapsed_s"};
    double *dst[6] = {&out->done, &out->planned, &out->finished, &out->max_trials, &out->budget_total, &out->elapsed};
    sparse__doc *d;
    for (int k = 0; k < 6; k++)
        *dst[k] = -1;
    int rc = parse_state(log, &d);
    for (int k = 0; !rc && d && k < 6; k++) {
        const sparse__doc_node *n = sparse__doc_get(sparse__doc_root(d), keys[k]);
        int b;
        if (n && k == 2 && !(rc = sparse__doc_bool(d, n, keys[k], &b)))
            *dst[k] = b;
        else if (n && k != 2)
            rc = sparse__doc_double(d, n, keys[k], 0, 1e15, dst[k]);
    }
    sparse__doc_free(d);
    return rc;
}

int sparse__state_disagreement(const sparse__runlog *log, size_t done, char *msg, size_t cap)
{
    size_t n = sparse__runlog_count(log);
    if (done <= n)
        return 0;
    snprintf(msg, cap, "%s/state.json says %zu trial%s done, but %s/trials.jsonl holds %zu record%s",
             sparse__runlog_dir(log), done, done == 1 ? " is" : "s are", sparse__runlog_dir(log), n,
             n == 1 ? "" : "s");
    return 1;
}

/* The first key whose hash differs between the run's fingerprint (keys, a
 * map of state.json) and cfg's f, into msg. */
static void first_difference(const sparse__doc *d, const sparse__doc_node *keys, const fingerprint *f,
                             char *msg, size_t cap)
{
    snprintf(msg, cap, "its resolved form differs");
    for (size_t i = 0; keys && i < keys->n; i++) {
        const char *path = keys->items[2 * i]->scalar, *hash = NULL;
        if (sparse__doc_string(d, keys->items[2 * i + 1], "config_keys", &hash))
            break;
        size_t j = 0;
        while (j < f->n && strcmp(f->e[j].path, path))
            j++;
        if (j == f->n) {
            snprintf(msg, cap, "'%s' is gone", path);
            return;
        }
        char now[17];
        snprintf(now, sizeof now, "%016llx", (unsigned long long)f->e[j].hash);
        if (strcmp(now, hash)) {
            snprintf(msg, cap, "'%s' changed (now '%.*s')", path,
                     (int)(f->e[j].text_len > 120 ? 120 : f->e[j].text_len), f->e[j].text);
            return;
        }
    }
    for (size_t j = 0; keys && j < f->n; j++)
        if (!sparse__doc_get(keys, f->e[j].path)) {
            snprintf(msg, cap, "'%s' is new (now '%.*s')", f->e[j].path,
                     (int)(f->e[j].text_len > 120 ? 120 : f->e[j].text_len), f->e[j].text);
            return;
        }
}

/* A run that began without a fingerprint (an older library) is not checked. */
static int check_config(const sparse__runlog *log, const sparse__doc *d, const sparse_search_config *cfg)
{
    const sparse__doc_node *root = sparse__doc_root(d), *h = sparse__doc_get(root, "config_hash");
    const char *stored = NULL;
    if (!h)
        return SPARSE_OK;
    int rc = sparse__doc_string(d, h, "config_hash", &stored);
    fingerprint f;
    if (!rc)
        rc = fingerprint_of(cfg, &f);
    if (rc)
        return rc;
    char now[32], why[256];
    snprintf(now, sizeof now, "fnv1a64:%016llx", (unsigned long long)f.hash);
    if (strcmp(now, stored)) {
        const sparse__doc_node *keys = sparse__doc_get(root, "config_keys");
        first_difference(d, keys && keys->kind == SPARSE__DOC_MAP ? keys : NULL, &f, why, sizeof why);
        rc = sparse__error(
            SPARSE_EINVAL,
            "%s/config.yaml is not the config this run started with: %s. A resume continues the same "
            "search: put the config back, or start a new run in another directory (a resume may "
            "change only threads, workers and time_budget)",
            sparse__runlog_dir(log), why);
    }
    fingerprint_free(&f);
    return rc;
}

int sparse__state_check(const sparse__runlog *log, const sparse_search_config *cfg)
{
    sparse__doc *d;
    int rc = parse_state(log, &d);
    if (rc)
        return sparse__error_prefix(
            rc, "the run's state.json cannot be read (a resume needs it whole; delete it to "
                "continue from the records alone)");
    if (!d)
        return SPARSE_OK;
    long done = 0;
    char msg[1024];
    rc = sparse__doc_long(d, sparse__doc_get(sparse__doc_root(d), "trials_done"), "trials_done", 0,
                          100000000L, &done);
    if (!rc && sparse__state_disagreement(log, (size_t)done, msg, sizeof msg))
        rc = sparse__error(SPARSE_EFORMAT,
                           "%s: records are missing, and a resume would train those trials again. Restore "
                           "trials.jsonl, or delete state.json to continue from the records it holds",
                           msg);
    if (!rc)
        rc = check_config(log, d, cfg);
    sparse__doc_free(d);
    return rc;
}
