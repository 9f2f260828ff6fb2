/* Trial records: the line of trials.jsonl a trial leaves, and the one reader
 * of those lines, for the search (which resumes from them and must refuse a
 * record it cannot trust) and for the run view (which shows what it can).
 *
 * Doubles are written in round-trip form, so a resumed search reads back
 * exactly the figures the uninterrupted one decided on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "loop.h"

int sparse__feasible(const sparse_search_config *c, double ms, double wm5, double wm6, double arena)
{
    double wm = c->wm_model == 6 ? wm6 : wm5;
    return (c->budget_ms <= 0 || ms <= c->budget_ms) && (c->budget_wm <= 0 || wm <= c->budget_wm) &&
           (c->budget_arena <= 0 || (arena >= 0 && arena <= c->budget_arena));
}

double sparse__trial_wm(const sparse_search_config *c, const sparse__trial *t)
{
    return c->wm_model == 6 ? t->wm6 : t->wm5;
}

void sparse__trial_clear(sparse__trial *t)
{
    free(t->point);
    free(t->curve);
    free(t->reason);
    t->point = t->curve = NULL;
    t->reason = NULL;
    t->ncurve = 0;
}

double sparse__binomial_se(double acc, double n)
{
    if (!(n > 0))
        return 0.0;
    double p = fmin(fmax(acc, 0.5 / n), 1.0 - 0.5 / n);
    return sqrt(p * (1.0 - p) / n);
}

double sparse__rank_accuracy(const sparse_search_config *c, const sparse__trial *t)
{
    return c->rank_posterior && t->has_post ? t->post_acc : t->val_acc;
}

int sparse__front_candidate(const sparse__trial *t)
{
    return t->ok == 1 && t->feasible == 1 && !t->partial;
}

/* ---- writing ---- */

static void put_num(sparse__buf *b, const char *key, double v)
{
    sparse__buf_printf(b, ",\"%s\":", key);
    sparse__buf_json_double(b, v);
}

/* What the trial trained: the training recipe and the pruning parameters
 * (with the offset a final network's thresholds were lowered by, if any). */
static void put_recipe(sparse__buf *b, const sparse__genome *g, double threshold_offset)
{
    static const char *const prune_names[] = {"none", "spvd", "bc"};
    sparse__buf_printf(b, "],\"training\":{\"epochs\":%d", g->epochs);
    put_num(b, "lr", g->lr);
    put_num(b, "label_smoothing", g->label_smoothing);
    put_num(b, "weight_decay", g->weight_decay);
    sparse__buf_printf(b, ",\"shift\":%d},\"pruning\":{\"method\":\"%s\"", g->shift, prune_names[g->prune]);
    if (g->prune) {
        put_num(b, "kl_weight", g->kl_weight);
        sparse__buf_printf(b, ",\"zero_epochs\":%d,\"anneal_epochs\":%d", g->zero_epochs, g->anneal_epochs);
        put_num(b, "fc_threshold", g->threshold_fc);
        if (threshold_offset > 0)
            put_num(b, "threshold_offset", threshold_offset);
    }
    sparse__buf_puts(b, "}");
}

/* The figures of a successful trial. */
static void put_figures(sparse__buf *b, const sparse_search_config *cfg, const sparse__outcome *o)
{
    put_num(b, "val_accuracy", o->val_acc);
    put_num(b, "test_accuracy", o->test_acc);
    if (o->int8_test_acc >= 0)
        put_num(b, "int8_test_accuracy", o->int8_test_acc);
    put_num(b, "ms_bytes", o->ms);
    put_num(b, "wm5_bytes", o->wm5);
    put_num(b, "wm6_bytes", o->wm6);
    put_num(b, "params", o->params);
    put_num(b, "flash_bytes", o->flash);
    put_num(b, "arena_bytes", o->arena);
    sparse__buf_printf(b, ",\"inherited_params\":%zu,\"feasible\":%s", o->inherited,
                       sparse__feasible(cfg, o->ms, o->wm5, o->wm6, o->arena) ? "true" : "false");
    put_num(b, "val_se", o->val_se);
    if (o->ncurve) {
        sparse__buf_puts(b, ",\"curve\":[");
        for (size_t i = 0; i < o->ncurve; i++) {
            if (i)
                sparse__buf_puts(b, ",");
            sparse__buf_json_double(b, o->curve[i]);
        }
        sparse__buf_puts(b, "]");
    }
    if (o->partial) {
        sparse__buf_printf(b, ",\"partial\":true,\"epochs_done\":%zu", o->epochs_done);
        put_num(b, "predicted_val_accuracy", o->pred_acc);
        put_num(b, "predicted_log_sd", o->pred_log_sd);
    }
}

char *sparse__trial_record(const sparse_search_config *cfg, size_t nvars, size_t t, int stage, size_t parent,
                           const char *how, const char *morph, const double *point, const sparse__genome *g,
                           const sparse__outcome *o, double seconds)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "{\"id\":%zu,\"stage\":%d,\"parent\":", t, stage);
    if (parent == SPARSE__NO_PARENT)
        sparse__buf_puts(&b, "null");
    else
        sparse__buf_printf(&b, "%zu", parent);
    sparse__buf_puts(&b, ",\"proposal\":");
    sparse__buf_json_string(&b, how);
    sparse__buf_puts(&b, ",\"morph\":");
    sparse__buf_json_string(&b, morph);
    sparse__buf_puts(&b, ",\"status\":");
    sparse__buf_json_string(&b, o->ok ? "ok" : "failed");
    if (!o->ok) {
        sparse__buf_puts(&b, ",\"reason\":");
        sparse__buf_json_string(&b, o->reason);
    } else if (o->note[0]) {
        sparse__buf_puts(&b, ",\"note\":");
        sparse__buf_json_string(&b, o->note);
    }
    sparse__buf_puts(&b, ",\"point\":[");
    for (size_t i = 0; i < nvars; i++) {
        if (i)
            sparse__buf_puts(&b, ",");
        sparse__buf_json_double(&b, point[i]);
    }
    put_recipe(&b, g, o->ok ? o->threshold_offset : 0);
    if (o->arch_json)
        sparse__buf_printf(&b, ",\"arch\":%s", o->arch_json);
    if (o->compact_json)
        sparse__buf_printf(&b, ",\"compact_arch\":%s", o->compact_json);
    if (o->ok)
        put_figures(&b, cfg, o);
    put_num(&b, "seconds", floor(seconds * 1000.0 + 0.5) / 1000.0);
    sparse__buf_puts(&b, "}");
    return sparse__buf_detach(&b);
}

/* ---- reading ---- */

/* A record's "point" (a list of nvars numbers, null for inactive variables)
 * in a fresh array *out (caller frees); SPARSE_EFORMAT without a message if
 * it is not one. */
static int parse_point(const sparse__doc *d, const sparse__doc_node *pt, size_t nvars, double **out)
{
    *out = NULL;
    if (!pt || pt->kind != SPARSE__DOC_SEQ || pt->n != nvars)
        return SPARSE_EFORMAT;
    double *p = sparse__malloc((nvars ? nvars : 1) * sizeof *p);
    if (!p)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < nvars; i++) {
        p[i] = NAN;
        if (!sparse__doc_is_null(pt->items[i]) &&
            sparse__doc_double(d, pt->items[i], "point", -1e300, 1e300, &p[i])) {
            free(p);
            return SPARSE_EFORMAT;
        }
    }
    *out = p;
    return SPARSE_OK;
}

/* How much the search relies on a field: it ignores an informational one,
 * reads an optional one if there, and cannot do without a required one. */
enum need { INFO, OPTIONAL, REQUIRED };

/* One record being read: in strict mode the first field the search cannot
 * trust is the record's error (rc) and the rest is not read. */
typedef struct reader {
    const sparse__doc *d;
    int strict, rc;
} reader;

/* Whether to read the field at node n: not after a strict failure, and not
 * when it is absent or null unless the search requires it. */
static int wanted(const reader *rd, const sparse__doc_node *n, enum need need)
{
    return !rd->rc && ((n && !sparse__doc_is_null(n)) || (rd->strict && need == REQUIRED));
}

/* A field that did not read: the record's error if the search relies on
 * it (or memory ran out), else the field stays unknown. */
static void fail(reader *rd, enum need need, int rc)
{
    if (rc == SPARSE_ENOMEM || (rd->strict && need != INFO))
        rd->rc = rc;
    else
        sparse_clear_error();
}

/* The number at key of map into *out, within [lo, hi]. */
static void read_number(reader *rd, const sparse__doc_node *map, const char *key, const char *what, double lo,
                        double hi, enum need need, double *out)
{
    const sparse__doc_node *n = sparse__doc_get(map, key);
    double v;
    int rc;
    if (!wanted(rd, n, need))
        return;
    if ((rc = sparse__doc_double(rd->d, n, what, lo, hi, &v)))
        fail(rd, need, rc);
    else
        *out = v;
}

static void read_integer(reader *rd, const sparse__doc_node *map, const char *key, long lo, long hi, enum need need,
                         long *out)
{
    const sparse__doc_node *n = sparse__doc_get(map, key);
    long v;
    int rc;
    if (!wanted(rd, n, need))
        return;
    if ((rc = sparse__doc_long(rd->d, n, key, lo, hi, &v)))
        fail(rd, need, rc);
    else
        *out = v;
}

/* id, stage, parent and status, in that order. Strict reading expects id
 * `index`; a parent is an earlier trial. */
static void read_identity(reader *rd, const sparse__doc_node *r, size_t index, sparse__trial *out)
{
    long id = -1, stage = -1, parent = -1;
    read_integer(rd, r, "id", 0, 100000000L, REQUIRED, &id);
    if (!rd->rc && rd->strict && (size_t)id != index)
        rd->rc = sparse__doc_error(rd->d, r, SPARSE_EFORMAT, "id %ld where %zu was expected", id, index);
    out->id = id < 0 ? SPARSE__NO_ID : (size_t)id;
    read_integer(rd, r, "stage", 1, 4, REQUIRED, &stage);
    out->stage = (int)stage;
    read_integer(rd, r, "parent", 0, id - 1, OPTIONAL, &parent);
    out->parent = parent < 0 ? SPARSE__NO_PARENT : (size_t)parent;
    const char *status = NULL;
    int rc = rd->rc ? SPARSE_OK : sparse__doc_string(rd->d, sparse__doc_get(r, "status"), "status", &status);
    if (rc)
        fail(rd, REQUIRED, rc);
    out->ok = status && !strcmp(status, "ok");
}

static void read_figures(reader *rd, const sparse__doc_node *r, sparse__trial *out)
{
    static const struct {
        const char *key;
        size_t offset;
        int needed; /* by the search, of a successful trial */
    } figures[] = {
        {"val_accuracy", offsetof(sparse__trial, val_acc), 1},
        {"ms_bytes", offsetof(sparse__trial, ms), 1},
        {"wm5_bytes", offsetof(sparse__trial, wm5), 1},
        {"wm6_bytes", offsetof(sparse__trial, wm6), 1},
        {"test_accuracy", offsetof(sparse__trial, test_acc), 0},
        {"int8_test_accuracy", offsetof(sparse__trial, int8_test_acc), 0},
        {"params", offsetof(sparse__trial, params), 0},
        {"flash_bytes", offsetof(sparse__trial, flash), 0},
        {"arena_bytes", offsetof(sparse__trial, arena), 0},
    };
    for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++)
        read_number(rd, r, figures[k].key, figures[k].key, 0, 1e15, figures[k].needed && out->ok ? REQUIRED : INFO,
                    (double *)((char *)out + figures[k].offset));
}

/* A failed trial's "reason" (optional), kept for sparse_run_trial_reason. */
static void read_reason(reader *rd, const sparse__doc_node *r, sparse__trial *out)
{
    const sparse__doc_node *n = sparse__doc_get(r, "reason");
    const char *s = NULL;
    if (!wanted(rd, n, OPTIONAL))
        return;
    int rc = sparse__doc_string(rd->d, n, "reason", &s);
    if (!rc && !(out->reason = sparse__strdup(s)))
        rc = SPARSE_ENOMEM;
    if (rc)
        fail(rd, OPTIONAL, rc);
}

/* A record's "curve" (optional): a list of accuracies. */
static void read_curve(reader *rd, const sparse__doc_node *r, sparse__trial *out)
{
    const sparse__doc_node *n = sparse__doc_get(r, "curve");
    if (!wanted(rd, n, OPTIONAL))
        return;
    if (n->kind != SPARSE__DOC_SEQ || n->n > 100000) {
        fail(rd, OPTIONAL, sparse__doc_error(rd->d, n, SPARSE_EFORMAT, "curve: expected a list of accuracies"));
        return;
    }
    if (!n->n || !(out->curve = sparse__malloc(n->n * sizeof *out->curve))) {
        if (n->n)
            fail(rd, OPTIONAL, SPARSE_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        int rc = sparse__doc_double(rd->d, n->items[i], "curve", 0, 1, &out->curve[i]);
        if (rc) {
            free(out->curve);
            out->curve = NULL;
            fail(rd, OPTIONAL, rc);
            return;
        }
    }
    out->ncurve = n->n;
}

/* Whether the trial was stopped early, and what its curve promised. */
static void read_partial(reader *rd, const sparse__doc_node *r, sparse__trial *out)
{
    const sparse__doc_node *n = sparse__doc_get(r, "partial");
    int rc;
    if (!wanted(rd, n, OPTIONAL))
        return;
    if ((rc = sparse__doc_bool(rd->d, n, "partial", &out->partial))) {
        fail(rd, OPTIONAL, rc);
        return;
    }
    if (!out->partial)
        return;
    long done = 0;
    read_integer(rd, r, "epochs_done", 0, 100000, REQUIRED, &done);
    read_number(rd, r, "predicted_val_accuracy", "predicted_val_accuracy", 0, 1, REQUIRED, &out->pred_acc);
    read_number(rd, r, "predicted_log_sd", "predicted_log_sd", 0, 1e3, REQUIRED, &out->pred_log_sd);
    out->planned_epochs = out->epochs;
    out->epochs = (double)done;
}

int sparse__trial_parse(const sparse_search_config *cfg, size_t nvars, const char *line, size_t index,
                        size_t line_no, int strict, sparse__trial *out)
{
    memset(out, 0, sizeof *out);
    out->id = SPARSE__NO_ID;
    out->stage = -1;
    out->parent = SPARSE__NO_PARENT;
    out->ok = out->feasible = -1;
    out->val_acc = out->test_acc = out->int8_test_acc = out->ms = out->wm5 = out->wm6 = out->params = -1;
    out->flash = out->arena = -1;
    out->seconds = out->epochs = out->planned_epochs = -1;
    out->val_se = out->pred_acc = out->pred_log_sd = out->post_acc = out->post_sd = -1;
    sparse__doc *d;
    char src[64];
    snprintf(src, sizeof src, "trials.jsonl:%zu", line_no);
    int rc = sparse__doc_parse(&d, line, strlen(line), src);
    if (rc) {
        if (strict || rc == SPARSE_ENOMEM)
            return rc;
        sparse_clear_error();
        return SPARSE_OK;
    }
    const sparse__doc_node *r = sparse__doc_root(d);
    reader rd = {d, strict, SPARSE_OK};
    read_identity(&rd, r, index, out);
    const sparse__doc_node *pt = sparse__doc_get(r, "point");
    if (!rd.rc && (rc = parse_point(d, pt, nvars, &out->point)))
        fail(&rd, REQUIRED,
             rc == SPARSE_ENOMEM ? rc
                                 : sparse__doc_error(d, pt ? pt : r, SPARSE_EFORMAT,
                                                     "point: expected %zu numbers (the config's search space)",
                                                     nvars));
    read_figures(&rd, r, out);
    out->feasible = out->ok == 1 && sparse__feasible(cfg, out->ms, out->wm5, out->wm6, out->arena);
    read_reason(&rd, r, out);
    read_number(&rd, r, "seconds", "seconds", 0, 1e12, REQUIRED, &out->seconds);
    const sparse__doc_node *tr = sparse__doc_get(r, "training");
    if (tr)
        read_number(&rd, tr, "epochs", "training.epochs", 0, 1e9, REQUIRED, &out->epochs);
    out->planned_epochs = out->epochs;
    read_number(&rd, r, "val_se", "val_se", 0, 1, INFO, &out->val_se);
    if (out->ok == 1 && out->val_se < 0) /* a record from before val_se */
        out->val_se = sparse__binomial_se(out->val_acc, (double)cfg->val_count);
    read_curve(&rd, r, out);
    read_partial(&rd, r, out);
    sparse__doc_free(d);
    if (rd.rc)
        sparse__trial_clear(out);
    return rd.rc;
}
