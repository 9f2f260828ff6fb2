/* The search config: YAML in, resolved YAML out. Every key is checked against
 * the known ones and every value against its allowed range, with
 * file:line:column in the message. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "config_schema.h"
#include "search_internal.h"

const char *const sparse__cfg_layer_type_names[SPARSE__LAYER_TYPES] = {"conv2d", "separable_conv2d",
                                                                       "downsampled_conv2d"};
const char *const sparse__cfg_prune_names[SPARSE__PRUNE_METHODS] = {"none", "spvd", "bc"};
const char *const sparse__cfg_optimizer_names[] = {"adam", "sgd"};
/* Indexed by sparse_prune_noise. */
const char *const sparse__cfg_prune_noise_names[] = {"activation", "weight"};
const char *const sparse__cfg_schedule_names[] = {"constant", "step", "cosine", "one_cycle"};
const char *const sparse__cfg_ranking_names[] = {"validation", "posterior"};
const char *const sparse__cfg_layout_names[] = {"chw", "hwc"}; /* SPARSE_LAYOUT_CHW, SPARSE_LAYOUT_HWC */
const char *const sparse__cfg_val_split_names[] = {"tail", "random"}; /* indexed by sparse_val_split */
/* Indexed by sparse_input_downsampling. */
const char *const sparse__cfg_input_downsampling_names[] = {"network", "acquisition"};

static void set_defaults(sparse_search_config *c)
{
    c->val_count = 5000;
    c->seed = 1;
    c->threads = 2;
    c->workers = 1;
    c->wm_model = 5;
    c->stage_trials[0] = 24;
    c->stage_trials[1] = 8;
    c->stage_trials[2] = 8;
    c->stage_rho[0] = c->stage_rho[1] = c->stage_rho[2] = 0.8;
    c->initial_trials = 6;
    c->final_epochs = 20;
    c->rank_posterior = 1;
    c->early_stop = 1;
    c->early_quantile = 0.9;
    c->early_min_curves = 8;
    c->arch_repeats = 1;
    c->candidates = 128;
    c->random_fill = (sparse__range){0.2, 1.0};
    for (int k = 0; k < 3; k++) {
        c->lambda_lo[k] = 0.0;
        c->lambda_hi[k] = 1.0;
    }
    c->batch = 64;
    c->optimizer = SPARSE_OPTIM_ADAM;
    c->schedule = SPARSE_LR_ONE_CYCLE;
    c->blocks = (sparse__range){1, 2};
    c->layers = (sparse__range){1, 2};
    c->kernel = (sparse__range){2, 5};
    c->filters = (sparse__range){2, 32};
    c->rate = (sparse__range){0.1, 0.5};
    c->pool = (sparse__range){1, 3};
    c->input_rate = (sparse__range){2, 4};
    c->fc_layers = (sparse__range){0, 1};
    c->fc_weights = (sparse__range){1000, 50000};
    c->fc_frac = (sparse__range){0.05, 1.0};
    c->layer_types = 0x7;
    c->input_downsample = 0x3;
    c->input_pool_avg = 0x3;
    c->batch_norm = 0x3;
    c->residual = 0x3;
    c->branches = 0x3;
    c->merge_concat = 0x3;
    c->prune = 0x1;
    c->threshold = (sparse__range){-1, 3};
    c->kl_weight = (sparse__range){0.01, 1};
    c->zero_epochs = (sparse__range){0, 2};
    c->anneal_epochs = (sparse__range){1, 3};
    c->lr = (sparse__range){1e-3, 2e-2};
    c->epochs = (sparse__range){2, 6};
    c->label_smoothing = (sparse__range){0, 0.1};
    c->weight_decay = (sparse__range){0, 0};
    c->shift = (sparse__range){0, 0};
}

typedef struct parser {
    const sparse__doc *doc;
    char path[128];
} parser;

static const char *at(parser *p, const char *section, const char *key)
{
    snprintf(p->path, sizeof p->path, "%s%s%s", section, *section ? "." : "", key);
    return p->path;
}

/* [lo, hi] with min <= lo <= hi <= max, or a single number (fixed). */
static int read_range(parser *p, const sparse__doc_node *n, const char *what, double min, double max,
                      int integer, sparse__range *out)
{
    double lo, hi;
    int rc;
    if (n->kind == SPARSE__DOC_SEQ) {
        if (n->n != 2)
            return sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "%s: expected [low, high]", what);
        if ((rc = sparse__doc_double(p->doc, n->items[0], what, min, max, &lo)) ||
            (rc = sparse__doc_double(p->doc, n->items[1], what, min, max, &hi)))
            return rc;
        if (lo > hi)
            return sparse__doc_error(p->doc, n, SPARSE_ERANGE, "%s: low %g is above high %g", what, lo, hi);
    } else {
        if ((rc = sparse__doc_double(p->doc, n, what, min, max, &lo)))
            return rc;
        hi = lo;
    }
    if (integer && (lo != floor(lo) || hi != floor(hi)))
        return sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "%s: bounds must be integers", what);
    out->lo = lo;
    out->hi = hi;
    return SPARSE_OK;
}

/* A list of allowed names (or one name), as a bit set. */
static int read_choices(parser *p, const sparse__doc_node *n, const char *what, const char *const *names,
                        size_t count, sparse__choices *out)
{
    sparse__choices set = 0;
    int idx, rc;
    if (n->kind == SPARSE__DOC_SEQ) {
        if (n->n == 0)
            return sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "%s: the list is empty", what);
        for (size_t i = 0; i < n->n; i++) {
            if ((rc = sparse__doc_enum(p->doc, n->items[i], what, names, count, &idx)))
                return rc;
            set |= 1u << idx;
        }
    } else {
        if ((rc = sparse__doc_enum(p->doc, n, what, names, count, &idx)))
            return rc;
        set = 1u << idx;
    }
    *out = set;
    return SPARSE_OK;
}

const char *const sparse__cfg_bool_names[] = {"false", "true"};

static int read_bools(parser *p, const sparse__doc_node *n, const char *what, sparse__choices *out)
{
    return read_choices(p, n, what, sparse__cfg_bool_names, 2, out);
}

static int read_count(parser *p, const sparse__doc_node *n, const char *section, const char *key, long min,
                      long max, size_t *out);

/* data.shape: [height, width, channels]. */
static int parse_shape(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    static const char *const what[3] = {"data.shape[0] (height)", "data.shape[1] (width)",
                                        "data.shape[2] (channels)"};
    static const long max[3] = {SPARSE_MAX_IMAGE_SIDE, SPARSE_MAX_IMAGE_SIDE, SPARSE_MAX_CHANNELS};
    if (n->kind != SPARSE__DOC_SEQ || n->n != 3)
        return sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "data.shape: expected [height, width, channels]");
    for (size_t i = 0; i < 3; i++) {
        long l;
        int rc = sparse__doc_long(p->doc, n->items[i], what[i], 1, max[i], &l);
        if (rc)
            return rc;
        c->shape[i] = (size_t)l;
    }
    return SPARSE_OK;
}

static int parse_data(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    if (n->kind == SPARSE__DOC_SCALAR) {
        free(c->data);
        c->data = sparse__strdup(n->scalar);
        return c->data ? SPARSE_OK : SPARSE_ENOMEM;
    }
    static const char *const keys[] = {"source", "val_count", "val_split", "max_train",
                                       "binary", "shape",     "layout",    "label_column"};
    int rc = sparse__doc_check_keys(p->doc, n, "data", keys, 8);
    const sparse__doc_node *v;
    long l;
    const char *s;
    if (!rc) {
        rc = sparse__doc_string(p->doc, sparse__doc_get(n, "source"), "data.source", &s);
        if (!rc) {
            free(c->data);
            c->data = sparse__strdup(s);
            rc = c->data ? SPARSE_OK : SPARSE_ENOMEM;
        }
    }
    if (!rc && (v = sparse__doc_get(n, "val_count")) &&
        !(rc = sparse__doc_long(p->doc, v, "data.val_count", 1, 1000000000L, &l)))
        c->val_count = (size_t)l;
    if (!rc && (v = sparse__doc_get(n, "val_split")))
        rc = sparse__doc_enum(p->doc, v, "data.val_split", sparse__cfg_val_split_names, 2, &c->val_split);
    if (!rc && (v = sparse__doc_get(n, "max_train")) &&
        !(rc = sparse__doc_long(p->doc, v, "data.max_train", 0, 1000000000L, &l)))
        c->max_train = (size_t)l;
    if (!rc && (v = sparse__doc_get(n, "binary")))
        rc = sparse__doc_bool(p->doc, v, "data.binary", &c->binary);
    if (!rc && (v = sparse__doc_get(n, "shape")))
        rc = parse_shape(p, c, v);
    if (!rc && (v = sparse__doc_get(n, "layout")))
        rc = sparse__doc_enum(p->doc, v, "data.layout", sparse__cfg_layout_names, 2, &c->layout);
    if (!rc && (v = sparse__doc_get(n, "label_column")))
        rc = read_count(p, n, "data", "label_column", 0, SPARSE_MAX_CSV_COLUMNS - 1, &c->label_column);
    return rc;
}

static int parse_stages(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    if (n->kind != SPARSE__DOC_SEQ || n->n != 3)
        return sparse__doc_error(p->doc, n, SPARSE_EFORMAT,
                                 "stages: expected a list of three {trials, rho} entries (stages 1, 2, 3)");
    static const char *const keys[] = {"trials", "rho"};
    for (size_t i = 0; i < 3; i++) {
        const sparse__doc_node *s = n->items[i];
        char what[64];
        snprintf(what, sizeof what, "stages[%zu]", i);
        int rc = sparse__doc_check_keys(p->doc, s, what, keys, 2);
        long t;
        if (!rc)
            rc = sparse__doc_long(p->doc, sparse__doc_get(s, "trials"), "trials", 0, 100000, &t);
        if (rc)
            return rc;
        c->stage_trials[i] = (size_t)t;
        const sparse__doc_node *r = sparse__doc_get(s, "rho");
        if (r && (rc = sparse__doc_double(p->doc, r, "rho", 0, 1, &c->stage_rho[i])))
            return rc;
    }
    return SPARSE_OK;
}

/* The integer at key of map n, if there, into *out. */
static int read_count(parser *p, const sparse__doc_node *n, const char *section, const char *key, long min,
                      long max, size_t *out)
{
    const sparse__doc_node *v = sparse__doc_get(n, key);
    long l = 0;
    int rc = v ? sparse__doc_long(p->doc, v, at(p, section, key), min, max, &l) : SPARSE_OK;
    if (v && !rc)
        *out = (size_t)l;
    return rc;
}

/* {ms_bytes, wm_bytes} and, when arena is not NULL, arena_bytes. */
static int parse_box(parser *p, const sparse__doc_node *n, const char *what, double *ms, double *wm,
                     double *arena)
{
    static const char *const keys[] = {"ms_bytes", "wm_bytes", "arena_bytes"};
    int rc = sparse__doc_check_keys(p->doc, n, what, keys, arena ? 3 : 2);
    const sparse__doc_node *v;
    *ms = *wm = 0;
    if (!rc && arena && (v = sparse__doc_get(n, "arena_bytes")))
        rc = sparse__doc_double(p->doc, v, at(p, what, "arena_bytes"), 1, 1e12, arena);
    if (!rc && (v = sparse__doc_get(n, "ms_bytes")))
        rc = sparse__doc_double(p->doc, v, at(p, what, "ms_bytes"), 1, 1e12, ms);
    if (!rc && (v = sparse__doc_get(n, "wm_bytes")))
        rc = sparse__doc_double(p->doc, v, at(p, what, "wm_bytes"), 1, 1e12, wm);
    return rc;
}

const char *const sparse__cfg_fill_names[] = {"false", "true", "dense"};

/* final.fill: a boolean as any other (true, yes, on...) or dense. */
static int parse_fill(parser *p, const sparse__doc_node *v, int *out)
{
    if (v->kind == SPARSE__DOC_SCALAR && !strcmp(v->scalar, "dense")) {
        *out = SPARSE__FILL_DENSE;
        return SPARSE_OK;
    }
    if (v->kind == SPARSE__DOC_SCALAR && !sparse__doc_bool(p->doc, v, "final.fill", out))
        return SPARSE_OK;
    sparse_clear_error();
    if (v->kind == SPARSE__DOC_SCALAR)
        return sparse__doc_error(p->doc, v, SPARSE_EFORMAT,
                                 "final.fill: unknown value '%s' (allowed: true, false, dense)", v->scalar);
    return sparse__doc_error(p->doc, v, SPARSE_EFORMAT, "final.fill: expected true, false or dense");
}

static int parse_final(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    static const char *const keys[] = {"trials", "epochs", "shift", "fill", "boxes"};
    int rc = sparse__doc_check_keys(p->doc, n, "final", keys, 5);
    const sparse__doc_node *v;
    if (!rc)
        rc = read_count(p, n, "final", "trials", 0, 100000, &c->final_trials);
    if (!rc)
        rc = read_count(p, n, "final", "epochs", 1, 10000, &c->final_epochs);
    if (!rc)
        rc = read_count(p, n, "final", "shift", 0, 8, &c->final_shift);
    if (!rc && (v = sparse__doc_get(n, "fill")))
        rc = parse_fill(p, v, &c->final_fill);
    if (!rc && (v = sparse__doc_get(n, "boxes"))) {
        if (v->kind != SPARSE__DOC_SEQ || v->n < 1 || v->n > SPARSE__MAX_BOXES)
            return sparse__doc_error(p->doc, v, SPARSE_EFORMAT,
                                     "final.boxes: expected a list of 1 to %d {ms_bytes, wm_bytes} entries",
                                     SPARSE__MAX_BOXES);
        for (size_t i = 0; !rc && i < v->n; i++) {
            char what[48];
            snprintf(what, sizeof what, "final.boxes[%zu]", i);
            rc = parse_box(p, v->items[i], what, &c->final_box_ms[i], &c->final_box_wm[i], NULL);
        }
        c->final_nboxes = v->n;
    }
    return rc;
}

/* early_stop: off, or {quantile, min_curves}. */
static int parse_early_stop(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    if (n->kind == SPARSE__DOC_SCALAR) {
        static const char *const modes[] = {"off"};
        int m;
        c->early_stop = 0;
        return sparse__doc_enum(p->doc, n, "early_stop", modes, 1, &m);
    }
    static const char *const keys[] = {"quantile", "min_curves"};
    int rc = sparse__doc_check_keys(p->doc, n, "early_stop", keys, 2);
    const sparse__doc_node *v;
    if (!rc && (v = sparse__doc_get(n, "quantile")))
        rc = sparse__doc_double(p->doc, v, "early_stop.quantile", 0.5, 1, &c->early_quantile);
    if (!rc)
        rc = read_count(p, n, "early_stop", "min_curves", 2, 100000, &c->early_min_curves);
    c->early_stop = 1;
    return rc;
}

static int parse_budgets(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    return parse_box(p, n, "budgets", &c->budget_ms, &c->budget_wm, &c->budget_arena);
}

static int parse_lambda(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    if (n->kind == SPARSE__DOC_SCALAR) {
        static const char *const modes[] = {"dirichlet"};
        int m;
        c->lambda_box = 0;
        return sparse__doc_enum(p->doc, n, "lambda", modes, 1, &m);
    }
    static const char *const keys[] = {"low", "high", "broad"};
    int rc = sparse__doc_check_keys(p->doc, n, "lambda", keys, 3);
    const char *names[2] = {"low", "high"};
    double *dst[2] = {c->lambda_lo, c->lambda_hi};
    for (int i = 0; !rc && i < 2; i++) {
        const sparse__doc_node *v = sparse__doc_get(n, names[i]);
        if (!v || v->kind != SPARSE__DOC_SEQ || v->n != 3)
            return sparse__doc_error(p->doc, v ? v : n, SPARSE_EFORMAT,
                                     "lambda.%s: expected three weights (accuracy, MS, WM)", names[i]);
        for (int k = 0; !rc && k < 3; k++)
            rc = sparse__doc_double(p->doc, v->items[k], names[i], 0, 1e6, &dst[i][k]);
    }
    const sparse__doc_node *broad = sparse__doc_get(n, "broad");
    if (!rc && broad)
        rc = sparse__doc_double(p->doc, broad, "lambda.broad", 0, 1, &c->lambda_broad);
    for (int k = 0; !rc && k < 3; k++)
        if (c->lambda_lo[k] > c->lambda_hi[k])
            rc = sparse__doc_error(p->doc, n, SPARSE_ERANGE, "lambda: low[%d] is above high[%d]", k, k);
    if (!rc)
        c->lambda_box = 1;
    return rc;
}

static int parse_training(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    static const char *const keys[] = {"batch", "optimizer", "schedule", "prune_noise"};
    int rc = sparse__doc_check_keys(p->doc, n, "training", keys, 4);
    const sparse__doc_node *v;
    if (!rc)
        rc = read_count(p, n, "training", "batch", 1, 4096, &c->batch);
    if (!rc && (v = sparse__doc_get(n, "optimizer")))
        rc = sparse__doc_enum(p->doc, v, "training.optimizer", sparse__cfg_optimizer_names, 2, &c->optimizer);
    if (!rc && (v = sparse__doc_get(n, "schedule")))
        rc = sparse__doc_enum(p->doc, v, "training.schedule", sparse__cfg_schedule_names, 4, &c->schedule);
    if (!rc && (v = sparse__doc_get(n, "prune_noise")))
        rc = sparse__doc_enum(p->doc, v, "training.prune_noise", sparse__cfg_prune_noise_names, 2,
                              &c->prune_noise);
    return rc;
}

/* One entry of plot.references: {label, accuracy, ms_bytes, wm_bytes}, at
 * least one of the sizes. */
static int parse_reference(parser *p, const sparse__doc_node *n, const char *what, sparse__reference *r)
{
    static const char *const keys[] = {"label", "accuracy", "ms_bytes", "wm_bytes"};
    int rc = sparse__doc_check_keys(p->doc, n, what, keys, 4);
    const sparse__doc_node *v;
    const char *label = NULL;
    memset(r, 0, sizeof *r);
    /* A missing key is named at its entry, not at the document's start. */
    for (int k = 0; !rc && k < 2; k++)
        if (!sparse__doc_get(n, keys[k]))
            rc = sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "%s.%s: missing", what, keys[k]);
    if (!rc)
        rc = sparse__doc_string(p->doc, sparse__doc_get(n, "label"), at(p, what, "label"), &label);
    if (!rc && (!label[0] || strlen(label) >= sizeof r->label))
        rc = sparse__doc_error(p->doc, sparse__doc_get(n, "label"), SPARSE_ERANGE,
                               "%s.label: expected 1 to %d characters", what, SPARSE__LABEL_CAP - 1);
    if (!rc) {
        snprintf(r->label, sizeof r->label, "%s", label);
        rc = sparse__doc_double(p->doc, sparse__doc_get(n, "accuracy"), at(p, what, "accuracy"), 0, 1,
                                &r->accuracy);
    }
    if (!rc && (v = sparse__doc_get(n, "ms_bytes")))
        rc = sparse__doc_double(p->doc, v, at(p, what, "ms_bytes"), 1, 1e12, &r->ms);
    if (!rc && (v = sparse__doc_get(n, "wm_bytes")))
        rc = sparse__doc_double(p->doc, v, at(p, what, "wm_bytes"), 1, 1e12, &r->wm);
    if (!rc && r->ms <= 0 && r->wm <= 0)
        rc = sparse__doc_error(p->doc, n, SPARSE_EFORMAT, "%s: expected ms_bytes, wm_bytes or both", what);
    return rc;
}

const char *const sparse__cfg_plot_accuracy_names[] = {"validation", "test"};

static int parse_plot(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    static const char *const keys[] = {"references", "accuracy"};
    int rc = sparse__doc_check_keys(p->doc, n, "plot", keys, 2);
    const sparse__doc_node *v;
    if (!rc && (v = sparse__doc_get(n, "accuracy")))
        rc = sparse__doc_enum(p->doc, v, "plot.accuracy", sparse__cfg_plot_accuracy_names, 2, &c->plot_test);
    if (rc || !(v = sparse__doc_get(n, "references")))
        return rc;
    if (v->kind != SPARSE__DOC_SEQ || v->n > SPARSE__MAX_REFERENCES)
        return sparse__doc_error(
            p->doc, v, SPARSE_EFORMAT,
            "plot.references: expected a list of up to %d {label, accuracy, ms_bytes, wm_bytes} "
            "entries",
            SPARSE__MAX_REFERENCES);
    for (size_t i = 0; !rc && i < v->n; i++) {
        char what[48];
        snprintf(what, sizeof what, "plot.references[%zu]", i);
        rc = parse_reference(p, v->items[i], what, &c->plot_refs[i]);
    }
    c->plot_nrefs = rc ? 0 : v->n;
    return rc;
}

#define RANGE(name, field, mn, mx, integer)                                                                  \
    {                                                                                                        \
        name, offsetof(sparse_search_config, field), mn, mx, integer                                         \
    }
const sparse__range_key sparse__cfg_range_keys[] = {
    RANGE("blocks", blocks, 1, SPARSE__MAX_BLOCKS, 1),
    RANGE("layers_per_block", layers, 1, SPARSE__MAX_LAYERS, 1),
    RANGE("kernel", kernel, 1, 5, 1),
    RANGE("filters", filters, 1, 256, 1),
    RANGE("downsample_rate", rate, 0.01, 1, 0),
    RANGE("pool", pool, 1, 4, 1),
    RANGE("input_rate", input_rate, 2, 4, 1),
    RANGE("fc_layers", fc_layers, 0, 1, 1),
    RANGE("fc_weights", fc_weights, 1, 800000, 1),
    RANGE("fc_fraction", fc_frac, 0.01, 1, 0),
    RANGE("threshold", threshold, -10, 10, 0),
    RANGE("kl_weight", kl_weight, 1e-4, 10, 0),
    RANGE("zero_epochs", zero_epochs, 0, 100, 1),
    RANGE("anneal_epochs", anneal_epochs, 0, 100, 1),
    RANGE("lr", lr, 1e-6, 1, 0),
    RANGE("epochs", epochs, 1, 200, 1),
    RANGE("label_smoothing", label_smoothing, 0, 0.5, 0),
    RANGE("weight_decay", weight_decay, 0, 0.1, 0),
    RANGE("shift", shift, 0, 8, 1),
};

const sparse__bool_key sparse__cfg_bool_keys[] = {
    {"input_downsample", offsetof(sparse_search_config, input_downsample)},
    {"input_pool_avg", offsetof(sparse_search_config, input_pool_avg)},
    {"batch_norm", offsetof(sparse_search_config, batch_norm)},
    {"residual", offsetof(sparse_search_config, residual)},
    {"branches", offsetof(sparse_search_config, branches)},
    {"merge_concat", offsetof(sparse_search_config, merge_concat)},
};

#define NRANGE (sizeof sparse__cfg_range_keys / sizeof sparse__cfg_range_keys[0])
#define NBOOL (sizeof sparse__cfg_bool_keys / sizeof sparse__cfg_bool_keys[0])
const size_t sparse__cfg_nrange = NRANGE, sparse__cfg_nbool = NBOOL;

static int parse_space(parser *p, sparse_search_config *c, const sparse__doc_node *n)
{
    const char *keys[NRANGE + NBOOL + 2];
    size_t nk = 0;
    for (size_t i = 0; i < NRANGE; i++)
        keys[nk++] = sparse__cfg_range_keys[i].key;
    for (size_t i = 0; i < NBOOL; i++)
        keys[nk++] = sparse__cfg_bool_keys[i].key;
    keys[nk++] = "layer_types";
    keys[nk++] = "pruning";
    int rc = sparse__doc_check_keys(p->doc, n, "space", keys, nk);
    for (size_t i = 0; !rc && i < NRANGE; i++) {
        const sparse__range_key *k = &sparse__cfg_range_keys[i];
        const sparse__doc_node *v = sparse__doc_get(n, k->key);
        if (v)
            rc = read_range(p, v, at(p, "space", k->key), k->min, k->max, k->integer,
                            (sparse__range *)((char *)c + k->offset));
    }
    for (size_t i = 0; !rc && i < NBOOL; i++) {
        const sparse__doc_node *v = sparse__doc_get(n, sparse__cfg_bool_keys[i].key);
        if (v)
            rc = read_bools(p, v, at(p, "space", sparse__cfg_bool_keys[i].key),
                            (sparse__choices *)((char *)c + sparse__cfg_bool_keys[i].offset));
    }
    const sparse__doc_node *v;
    if (!rc && (v = sparse__doc_get(n, "layer_types")))
        rc = read_choices(p, v, "space.layer_types", sparse__cfg_layer_type_names, SPARSE__LAYER_TYPES,
                          &c->layer_types);
    if (!rc && (v = sparse__doc_get(n, "pruning")))
        rc = read_choices(p, v, "space.pruning", sparse__cfg_prune_names, SPARSE__PRUNE_METHODS, &c->prune);
    return rc;
}

static int parse_root(parser *p, sparse_search_config *c)
{
    const sparse__doc_node *root = sparse__doc_root(p->doc);
    static const char *const keys[] = {"data",       "seed",        "threads",      "workers",
                                       "wm_model",   "budgets",     "stages",       "initial_trials",
                                       "candidates", "time_budget", "lambda",       "training",
                                       "space",      "random_fill", "final",        "plot",
                                       "ranking",    "early_stop",  "arch_repeats", "input_downsampling"};
    int rc = sparse__doc_check_keys(p->doc, root, "config", keys, sizeof keys / sizeof keys[0]);
    const sparse__doc_node *v;
    long l;
    if (!rc && !(v = sparse__doc_get(root, "data")))
        rc = sparse__doc_error(p->doc, root, SPARSE_EFORMAT,
                               "data: missing (mnist, a directory of IDX files or a CSV file)");
    if (!rc)
        rc = parse_data(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "seed")) &&
        !(rc = sparse__doc_long(p->doc, v, "seed", 0, 2147483647L, &l)))
        c->seed = (uint64_t)l;
    if (!rc && (v = sparse__doc_get(root, "threads")) &&
        !(rc = sparse__doc_long(p->doc, v, "threads", 1, 1024, &l)))
        c->threads = (int)l;
    if (!rc)
        rc = read_count(p, root, "", "workers", 1, 64, &c->workers);
    if (!rc && (v = sparse__doc_get(root, "wm_model"))) {
        rc = sparse__doc_long(p->doc, v, "wm_model", 5, 6, &l);
        c->wm_model = (int)l;
    }
    if (!rc && (v = sparse__doc_get(root, "input_downsampling")))
        rc = sparse__doc_enum(p->doc, v, "input_downsampling", sparse__cfg_input_downsampling_names, 2,
                              &c->input_downsampling);
    if (!rc && (v = sparse__doc_get(root, "budgets")))
        rc = parse_budgets(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "stages")))
        rc = parse_stages(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "final")))
        rc = parse_final(p, c, v);
    if (!rc)
        rc = read_count(p, root, "", "initial_trials", 1, 100000, &c->initial_trials);
    if (!rc)
        rc = read_count(p, root, "", "candidates", 1, 100000, &c->candidates);
    if (!rc && (v = sparse__doc_get(root, "time_budget")))
        rc = sparse__doc_double(p->doc, v, "time_budget (seconds)", 0, 1e9, &c->time_budget_s);
    if (!rc && (v = sparse__doc_get(root, "lambda")))
        rc = parse_lambda(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "random_fill")))
        rc = read_range(p, v, "random_fill", 0, 1, 0, &c->random_fill);
    if (!rc && (v = sparse__doc_get(root, "training")))
        rc = parse_training(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "space")))
        rc = parse_space(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "plot")))
        rc = parse_plot(p, c, v);
    if (!rc && (v = sparse__doc_get(root, "ranking")))
        rc = sparse__doc_enum(p->doc, v, "ranking", sparse__cfg_ranking_names, 2, &c->rank_posterior);
    if (!rc && (v = sparse__doc_get(root, "early_stop")))
        rc = parse_early_stop(p, c, v);
    if (!rc)
        rc = read_count(p, root, "", "arch_repeats", 0, 100000, &c->arch_repeats);
    /* A plain network has to be a point of the space to be recorded as one. */
    if (!rc && c->final_fill == SPARSE__FILL_DENSE && (c->prune & ~1u) && !(c->prune & 1u))
        rc = sparse__doc_error(p->doc, sparse__doc_get(root, "final"), SPARSE_ERANGE,
                               "final.fill: dense retrains pruned networks as plain ones, so space.pruning "
                               "must allow none");
    if (!rc && (c->layer_types & ~0x7u) == 0 && !c->layer_types)
        rc = sparse__doc_error(p->doc, root, SPARSE_ERANGE, "space.layer_types: none allowed");
    return rc;
}

static int config_from_doc(sparse_search_config **out, sparse__doc *doc)
{
    sparse_search_config *c = sparse__calloc(1, sizeof *c);
    if (!c) {
        sparse__doc_free(doc);
        return SPARSE_ENOMEM;
    }
    set_defaults(c);
    c->source = sparse__strdup(sparse__doc_source(doc));
    parser p = {doc, ""};
    int rc = c->source ? parse_root(&p, c) : SPARSE_ENOMEM;
    sparse__doc_free(doc);
    if (rc) {
        sparse_search_config_free(c);
        return rc;
    }
    *out = c;
    return SPARSE_OK;
}

SPARSE_API int sparse_search_config_parse(sparse_search_config **out, const char *text, size_t len,
                                          const char *source)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(text);
    sparse__doc *doc;
    int rc = sparse__doc_parse(&doc, text, len, source ? source : "<config>");
    return rc ? rc : config_from_doc(out, doc);
}

static int load_file(sparse_search_config **out, const char *path, int resolve)
{
    *out = NULL;
    sparse__doc *doc;
    int rc = sparse__doc_load_file(&doc, path);
    if (!rc)
        rc = config_from_doc(out, doc);
    if (!rc && resolve && (rc = sparse__config_resolve_data(*out, path))) {
        sparse_search_config_free(*out);
        *out = NULL;
    }
    return rc;
}

SPARSE_API int sparse_search_config_load(sparse_search_config **out, const char *path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path); /* named here, not in sparse__doc_load_file */
    return load_file(out, path, 1);
}

int sparse__config_load_run(sparse_search_config **out, const char *path) { return load_file(out, path, 0); }

SPARSE_API void sparse_search_config_free(sparse_search_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->data);
    free(cfg->source);
    free(cfg);
}

SPARSE_API size_t sparse_search_config_trial_count(const sparse_search_config *cfg)
{
    return cfg ? cfg->stage_trials[0] + cfg->stage_trials[1] + cfg->stage_trials[2] + cfg->final_trials : 0;
}
