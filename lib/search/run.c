/* Read-only view of a run directory: the trials, their figures and the
 * Pareto front, for `sparse inspect` and for programs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "runlog.h"
#include "search_internal.h"

#define NFIELDS 12

struct sparse_run {
    sparse__runlog *log;
    sparse_search_config *cfg;
    double (*values)[NFIELDS];
    double **points; /* per trial, NULL if the record has none */
    size_t nvars;    /* variables of the config's search space */
};

double *sp_parse_point(const sparse__doc *d, const sparse__doc_node *pt, size_t nvars)
{
    if (!pt || pt->kind != SPARSE__DOC_SEQ || pt->n != nvars)
        return NULL;
    double *p = sparse__malloc((nvars ? nvars : 1) * sizeof *p);
    for (size_t i = 0; p && i < nvars; i++) {
        p[i] = NAN;
        if (!sparse__doc_is_null(pt->items[i]) &&
            sparse__doc_double(d, pt->items[i], "point", -1e300, 1e300, &p[i])) {
            free(p);
            return NULL;
        }
    }
    return p;
}

static void parse_values(const sparse_search_config *cfg, const char *line, double *v, size_t nvars,
                         double **point)
{
    for (int f = 0; f < NFIELDS; f++)
        v[f] = -1;
    sparse__doc *d;
    if (sparse__doc_parse(&d, line, strlen(line), "trials.jsonl"))
        return;
    const sparse__doc_node *r = sparse__doc_root(d);
    const sparse__doc_node *st = sparse__doc_get(r, "status");
    v[SPARSE_TRIAL_OK] = st && st->kind == SPARSE__DOC_SCALAR && !strcmp(st->scalar, "ok");
    static const struct {
        int field;
        const char *key;
    } keys[] = {{SPARSE_TRIAL_STAGE, "stage"},           {SPARSE_TRIAL_PARENT, "parent"},
                {SPARSE_TRIAL_VAL_ACCURACY, "val_accuracy"}, {SPARSE_TRIAL_TEST_ACCURACY, "test_accuracy"},
                {SPARSE_TRIAL_MS_BYTES, "ms_bytes"},     {SPARSE_TRIAL_WM5_BYTES, "wm5_bytes"},
                {SPARSE_TRIAL_WM6_BYTES, "wm6_bytes"},   {SPARSE_TRIAL_PARAMS, "params"},
                {SPARSE_TRIAL_SECONDS, "seconds"},       {SPARSE_TRIAL_INT8_TEST_ACCURACY, "int8_test_accuracy"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const sparse__doc_node *n = sparse__doc_get(r, keys[i].key);
        double x;
        if (n && !sparse__doc_is_null(n) && !sparse__doc_double(d, n, keys[i].key, -1e300, 1e300, &x))
            v[keys[i].field] = x;
    }
    *point = sp_parse_point(d, sparse__doc_get(r, "point"), nvars);
    sparse_clear_error();
    sparse__doc_free(d);
    if (v[SPARSE_TRIAL_OK] == 1) {
        double wm = cfg->wm_model == 6 ? v[SPARSE_TRIAL_WM6_BYTES] : v[SPARSE_TRIAL_WM5_BYTES];
        v[SPARSE_TRIAL_FEASIBLE] = (cfg->budget_ms <= 0 || v[SPARSE_TRIAL_MS_BYTES] <= cfg->budget_ms) &&
                                   (cfg->budget_wm <= 0 || wm <= cfg->budget_wm);
    } else {
        v[SPARSE_TRIAL_FEASIBLE] = 0;
    }
}

SPARSE_API int sparse_run_open(sparse_run **out, const char *dir)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(dir);
    sparse_run *run = sparse__calloc(1, sizeof *run);
    if (!run)
        return SPARSE_ENOMEM;
    int rc = sparse__runlog_open(&run->log, dir, SPARSE__RUNLOG_READ);
    char *cfg_path = rc ? NULL : sparse__runlog_path(run->log, "config.yaml");
    if (!rc)
        rc = cfg_path ? sparse_search_config_load(&run->cfg, cfg_path) : SPARSE_ENOMEM;
    free(cfg_path);
    size_t n = rc ? 0 : sparse__runlog_count(run->log);
    sp_layout lay;
    if (!rc && !(rc = sp_layout_create(&lay, run->cfg))) {
        run->nvars = lay.nvars;
        sp_layout_destroy(&lay);
    }
    if (!rc) {
        run->values = sparse__calloc(n ? n : 1, sizeof *run->values);
        run->points = sparse__calloc(n ? n : 1, sizeof *run->points);
        rc = run->values && run->points ? SPARSE_OK : SPARSE_ENOMEM;
    }
    for (size_t i = 0; !rc && i < n; i++)
        parse_values(run->cfg, sparse__runlog_line(run->log, i), run->values[i], run->nvars, &run->points[i]);
    if (rc) {
        sparse_run_free(run);
        return sparse__error_prefix(rc, "opening run %s", dir);
    }
    *out = run;
    return SPARSE_OK;
}

SPARSE_API void sparse_run_free(sparse_run *run)
{
    if (!run)
        return;
    for (size_t i = 0; run->points && i < sparse__runlog_count(run->log); i++)
        free(run->points[i]);
    free(run->points);
    sparse__runlog_free(run->log);
    sparse_search_config_free(run->cfg);
    free(run->values);
    free(run);
}

const sparse_search_config *sparse__run_config(const sparse_run *run) { return run->cfg; }

const double *sparse__run_point(const sparse_run *run, size_t id)
{
    return id < sparse_run_trial_count(run) ? run->points[id] : NULL;
}

int sp_open_data(const sparse_search_config *cfg, const char *override, sparse_dataset **train,
                 sparse_dataset **val, sparse_dataset **test)
{
    sparse_data_options d = SPARSE_DATA_OPTIONS_INIT;
    d.val_count = cfg->val_count;
    d.max_train = cfg->max_train;
    d.binary = cfg->binary;
    d.seed = cfg->seed;
    return sparse_data_open(override ? override : cfg->data, &d, train, val, test);
}

SPARSE_API int sparse_run_open_data(const sparse_run *run, const char *data_override,
                                    sparse_dataset **train, sparse_dataset **val, sparse_dataset **test)
{
    SPARSE__CHECK_NULL(train);
    SPARSE__CHECK_NULL(val);
    SPARSE__CHECK_NULL(test);
    *train = *val = *test = NULL;
    SPARSE__CHECK_NULL(run);
    return sp_open_data(run->cfg, data_override, train, val, test);
}

char *sparse__run_path(const sparse_run *run, size_t id) { return sparse__runlog_weights_path(run->log, id); }

SPARSE_API size_t sparse_run_trial_count(const sparse_run *run)
{
    return run ? sparse__runlog_count(run->log) : 0;
}

SPARSE_API const char *sparse_run_trial_json(const sparse_run *run, size_t i)
{
    return run ? sparse__runlog_line(run->log, i) : NULL;
}

SPARSE_API int sparse_run_trial_value(const sparse_run *run, size_t i, int field, double *value)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(value);
    if (i >= sparse_run_trial_count(run))
        return sparse__error(SPARSE_ERANGE, "trial %zu of a run with %zu trials", i, sparse_run_trial_count(run));
    if (field < 0 || field >= NFIELDS)
        return sparse__error(SPARSE_ERANGE, "unknown trial field %d", field);
    *value = run->values[i][field];
    return SPARSE_OK;
}

SPARSE_API int sparse_run_pareto(const sparse_run *run, size_t *idx, size_t *count)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(count);
    *count = 0;
    size_t n = sparse_run_trial_count(run), m = 0, any_feasible = 0;
    if (n && !idx)
        return sparse__error(SPARSE_EINVAL, "sparse_run_pareto: idx is NULL");
    for (size_t i = 0; i < n; i++)
        any_feasible += run->values[i][SPARSE_TRIAL_FEASIBLE] == 1;
    double *F = sparse__malloc((n ? n : 1) * 3 * sizeof *F);
    size_t *pool = sparse__malloc((n ? n : 1) * sizeof *pool), *front = sparse__malloc((n ? n : 1) * sizeof *front);
    int rc = F && pool && front ? SPARSE_OK : SPARSE_ENOMEM;
    int wm_field = run->cfg->wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES;
    for (size_t i = 0; !rc && i < n; i++) {
        const double *v = run->values[i];
        if (v[SPARSE_TRIAL_OK] != 1 || (any_feasible && v[SPARSE_TRIAL_FEASIBLE] != 1))
            continue;
        pool[m] = i;
        F[3 * m] = 1.0 - v[SPARSE_TRIAL_VAL_ACCURACY];
        F[3 * m + 1] = v[SPARSE_TRIAL_MS_BYTES];
        F[3 * m + 2] = v[wm_field];
        m++;
    }
    size_t c = 0;
    if (!rc && m)
        rc = sparse_pareto_front(m, 3, F, front, &c);
    for (size_t j = 0; !rc && j < c; j++)
        idx[j] = pool[front[j]];
    if (!rc)
        *count = c;
    free(F);
    free(pool);
    free(front);
    return rc;
}

SPARSE_API int sparse_run_write_pareto_csv(const sparse_run *run)
{
    SPARSE__CHECK_NULL(run);
    size_t n = sparse_run_trial_count(run), c = 0;
    size_t *idx = sparse__malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return SPARSE_ENOMEM;
    int rc = sparse_run_pareto(run, idx, &c);
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_puts(&b, "id,stage,val_accuracy,test_accuracy,ms_bytes,wm5_bytes,wm6_bytes,params\n");
    for (size_t j = 0; !rc && j < c; j++) {
        const double *v = run->values[idx[j]];
        sparse__buf_printf(&b, "%zu,%.0f,%.6f,%.6f,%.0f,%.0f,%.0f,%.0f\n", idx[j], v[SPARSE_TRIAL_STAGE],
                           v[SPARSE_TRIAL_VAL_ACCURACY], v[SPARSE_TRIAL_TEST_ACCURACY],
                           v[SPARSE_TRIAL_MS_BYTES], v[SPARSE_TRIAL_WM5_BYTES], v[SPARSE_TRIAL_WM6_BYTES],
                           v[SPARSE_TRIAL_PARAMS]);
    }
    char *csv = rc ? NULL : sparse__buf_detach(&b);
    sparse__buf_free(&b);
    char *path = csv ? sparse__runlog_path(run->log, "pareto.csv") : NULL;
    if (!rc)
        rc = csv && path ? sparse__write_file_atomic(path, csv, strlen(csv)) : SPARSE_ENOMEM;
    free(csv);
    free(path);
    free(idx);
    return rc;
}

SPARSE_API int sparse_run_wm_model(const sparse_run *run, int *model)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(model);
    *model = run->cfg->wm_model;
    return SPARSE_OK;
}
