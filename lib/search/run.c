/* Read-only view of a run directory: the trials, their figures and the
 * Pareto front, for `sparsenas inspect` and for programs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "../core/durable.h"
#include "../core/internal.h"
#include "runlog.h"
#include "search_internal.h"

struct sparse_run {
    sparse__runlog *log;
    sparse_search_config *cfg;
    sparse__layout lay;
    int have_lay;
    int have_post; /* the trials hold the surrogate's posterior (computed on first use) */
    /* The records whose id reads, in file order, read leniently; log_index
     * is each one's record in the log. */
    sparse__trial *trials;
    size_t *log_index;
    size_t n, max_id;
};

/* A trial's figure as sparse_run_trial_value gives it (-1: not measured). */
static double field_value(const sparse__trial *t, int field)
{
    switch (field) {
    case SPARSE_TRIAL_OK: return t->ok;
    case SPARSE_TRIAL_STAGE: return t->stage;
    case SPARSE_TRIAL_PARENT:
        return t->parent == SPARSE__NO_PARENT ? -1.0 : (double)t->parent;
    case SPARSE_TRIAL_VAL_ACCURACY: return t->val_acc;
    case SPARSE_TRIAL_TEST_ACCURACY: return t->test_acc;
    case SPARSE_TRIAL_MS_BYTES: return t->ms;
    case SPARSE_TRIAL_WM5_BYTES: return t->wm5;
    case SPARSE_TRIAL_WM6_BYTES: return t->wm6;
    case SPARSE_TRIAL_PARAMS: return t->params;
    case SPARSE_TRIAL_SECONDS: return t->seconds;
    case SPARSE_TRIAL_FEASIBLE: return t->feasible;
    case SPARSE_TRIAL_INT8_TEST_ACCURACY: return t->int8_test_acc;
    case SPARSE_TRIAL_VAL_SE: return t->ok == 1 ? t->val_se : -1.0;
    case SPARSE_TRIAL_POSTERIOR_ACCURACY: return t->has_post ? t->post_acc : -1.0;
    case SPARSE_TRIAL_POSTERIOR_SE: return t->has_post ? t->post_sd : -1.0;
    case SPARSE_TRIAL_PARTIAL: return t->ok == 1 ? t->partial : -1.0;
    case SPARSE_TRIAL_FLASH_BYTES: return t->flash;
    case SPARSE_TRIAL_ARENA_BYTES: return t->arena;
    default: return t->epochs; /* SPARSE_TRIAL_EPOCHS */
    }
}

/* The surrogate's posterior of every searched trial's accuracy, computed
 * once (a GP fit) when first asked for. A run whose GP cannot be fitted
 * ranks by its measurements. The cache is the only state a read changes,
 * and a run handle is not shared between threads. */
static int ensure_posterior(const sparse_run *run)
{
    sparse_run *r = (sparse_run *)run;
    if (r->have_post || !r->have_lay)
        return SPARSE_OK;
    sparse__problem p = {r->cfg, &r->lay, 0, 0, 0, 0};
    int rc = sparse__posterior(&p, r->trials, r->n);
    if (rc == SPARSE_ENUMERIC) {
        sparse_clear_error();
        for (size_t i = 0; i < r->n; i++)
            r->trials[i].has_post = 0;
        rc = SPARSE_OK;
    }
    r->have_post = rc == SPARSE_OK;
    return rc;
}

/* Position of trial id among the trials read; SIZE_MAX if none has it. */
static size_t find(const sparse_run *run, size_t id)
{
    if (id < run->n && run->trials[id].id == id)
        return id; /* a run without damage */
    for (size_t i = 0; i < run->n; i++)
        if (run->trials[i].id == id)
            return i;
    return SIZE_MAX;
}

/* Every record of the log whose id reads, once: a record without one, or
 * with the id of an earlier one, is skipped with a warning. */
static int read_trials(sparse_run *run, size_t nvars)
{
    const char *dir = sparse__runlog_dir(run->log);
    size_t n = sparse__runlog_count(run->log);
    if (!(run->trials = sparse__calloc(n ? n : 1, sizeof *run->trials)) ||
        !(run->log_index = sparse__calloc(n ? n : 1, sizeof *run->log_index)))
        return SPARSE_ENOMEM;
    int rc = SPARSE_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        sparse__trial *t = &run->trials[run->n];
        size_t line = sparse__runlog_line_number(run->log, i), first;
        if ((rc = sparse__trial_parse(run->cfg, nvars, sparse__runlog_line(run->log, i), i, line, 0, t)))
            break; /* out of memory: a reader skips what does not read */
        if (t->id == SPARSE__NO_ID)
            rc = sparse__runlog_add_note(
                run->log, line, "%s/trials.jsonl:%zu: a record without a valid id; skipped", dir, line);
        else if ((first = find(run, t->id)) != SIZE_MAX)
            rc = sparse__runlog_add_note(
                run->log, line, "%s/trials.jsonl:%zu: trial %zu again (first on line %zu); skipped", dir,
                line, t->id, sparse__runlog_line_number(run->log, run->log_index[first]));
        else {
            run->log_index[run->n++] = i;
            if (t->id > run->max_id)
                run->max_id = t->id;
            continue;
        }
        sparse__trial_clear(t);
    }
    return rc;
}

/* state.json counting trials the log lacks, noted with the log's notes. */
static int check_state(sparse_run *run)
{
    size_t done = 0;
    char msg[1024];
    int rc = SPARSE_OK;
    int src = sparse__state_trials_done(run->log, &done);
    if (src == SPARSE_ENOMEM) {
        rc = src;
    } else if (src) {
        rc = sparse__runlog_add_note(run->log, 0, "%s", sparse_last_error());
        sparse_clear_error();
    } else if (sparse__state_disagreement(run->log, done, msg, sizeof msg)) {
        rc = sparse__runlog_add_note(run->log, 0, "%s: records are missing", msg);
    }
    return rc;
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
        rc = cfg_path ? sparse__config_load_run(&run->cfg, cfg_path) : SPARSE_ENOMEM;
    free(cfg_path);
    size_t nvars = 0;
    if (!rc && !(rc = sparse__layout_create(&run->lay, run->cfg))) {
        nvars = run->lay.nvars;
        run->have_lay = 1;
    }
    if (!rc)
        rc = check_state(run);
    if (!rc)
        rc = read_trials(run, nvars);
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
    for (size_t i = 0; i < run->n; i++)
        sparse__trial_clear(&run->trials[i]);
    free(run->trials);
    free(run->log_index);
    if (run->have_lay)
        sparse__layout_destroy(&run->lay);
    sparse__runlog_free(run->log);
    sparse_search_config_free(run->cfg);
    free(run);
}

const sparse_search_config *sparse__run_config(const sparse_run *run) { return run->cfg; }

const char *sparse__run_dir(const sparse_run *run) { return sparse__runlog_dir(run->log); }

const double *sparse__run_point(const sparse_run *run, size_t id)
{
    size_t i = find(run, id);
    return i == SIZE_MAX ? NULL : run->trials[i].point;
}

SPARSE_API int sparse_run_open_data(sparse_dataset **train, sparse_dataset **val, sparse_dataset **test,
                                    const sparse_run *run, const char *data_override)
{
    SPARSE__CHECK_NULL(train);
    SPARSE__CHECK_NULL(val);
    SPARSE__CHECK_NULL(test);
    *train = *val = *test = NULL;
    SPARSE__CHECK_NULL(run);
    return sparse__open_data(run->cfg, data_override, train, val, test);
}

char *sparse__run_path(const sparse_run *run, size_t id) { return sparse__runlog_weights_path(run->log, id); }

SPARSE_API size_t sparse_run_trial_count(const sparse_run *run) { return run ? run->n : 0; }

SPARSE_API int sparse_run_trial_id(const sparse_run *run, size_t i, size_t *id)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(id);
    if (i >= run->n)
        return sparse__error(SPARSE_ERANGE, "position %zu of a run with %zu trials", i, run->n);
    *id = run->trials[i].id;
    return SPARSE_OK;
}

SPARSE_API const char *sparse_run_trial_json(const sparse_run *run, size_t id)
{
    size_t i = run ? find(run, id) : SIZE_MAX;
    return i == SIZE_MAX ? NULL : sparse__runlog_line(run->log, run->log_index[i]);
}

/* Trial id's position, or an error: SPARSE_ERANGE past the last id,
 * SPARSE_ENOTFOUND for an id whose record is missing or unreadable. */
static int locate(const sparse_run *run, size_t id, size_t *pos)
{
    if ((*pos = find(run, id)) != SIZE_MAX)
        return SPARSE_OK;
    const char *dir = sparse__runlog_dir(run->log);
    if (!run->n || id > run->max_id)
        return sparse__error(SPARSE_ERANGE, "run %s has no trial %zu (%s)", dir, id,
                             run->n ? "its last trial is an earlier one" : "it has none yet");
    return sparse__error(
        SPARSE_ENOTFOUND,
        "run %s has no trial %zu: its record is missing or unreadable (see the run's warnings)", dir, id);
}

SPARSE_API int sparse_run_trial_value(const sparse_run *run, size_t id, int field, double *value)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(value);
    size_t i;
    int rc = locate(run, id, &i);
    if (rc)
        return rc;
    if (field < SPARSE_TRIAL_OK || field > SPARSE_TRIAL_ARENA_BYTES)
        return sparse__error(SPARSE_ERANGE, "unknown trial field %d", field);
    if ((field == SPARSE_TRIAL_POSTERIOR_ACCURACY || field == SPARSE_TRIAL_POSTERIOR_SE) &&
        (rc = ensure_posterior(run)))
        return rc;
    *value = field_value(&run->trials[i], field);
    return SPARSE_OK;
}

SPARSE_API int sparse_run_trial_reason(const sparse_run *run, size_t id, const char **reason)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(reason);
    *reason = NULL;
    size_t i;
    int rc = locate(run, id, &i);
    if (!rc)
        *reason = run->trials[i].reason;
    return rc;
}

SPARSE_API int sparse_run_state_value(const sparse_run *run, int field, double *value)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(value);
    *value = -1;
    if (field < SPARSE_RUN_TRIALS_DONE || field > SPARSE_RUN_ELAPSED)
        return sparse__error(SPARSE_ERANGE, "sparse_run_state_value: unknown field %d", field);
    sparse__limits lim;
    int rc = sparse__state_limits(run->log, &lim);
    if (rc)
        return rc;
    const double v[6] = {lim.done, lim.planned, lim.finished, lim.max_trials, lim.budget_total, lim.elapsed};
    *value = v[field];
    return SPARSE_OK;
}

SPARSE_API size_t sparse_run_warning_count(const sparse_run *run)
{
    return run ? sparse__runlog_note_count(run->log) : 0;
}

SPARSE_API const char *sparse_run_warning(const sparse_run *run, size_t i, size_t *line)
{
    if (line)
        *line = 0;
    return run ? sparse__runlog_note(run->log, i, line) : NULL;
}

SPARSE_API int sparse_run_pareto(const sparse_run *run, size_t *idx, size_t *count)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(count);
    *count = 0;
    size_t n = sparse_run_trial_count(run), m = 0, any_feasible = 0;
    if (n && !idx)
        return sparse__error(SPARSE_EINVAL, "sparse_run_pareto: idx is NULL");
    int rc = run->cfg->rank_posterior ? ensure_posterior(run) : SPARSE_OK;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        any_feasible += sparse__front_candidate(&run->trials[i]);
    double *F = sparse__malloc((n ? n : 1) * 3 * sizeof *F);
    size_t *pool = sparse__malloc((n ? n : 1) * sizeof *pool), *front = sparse__malloc((n ? n : 1) * sizeof *front);
    rc = F && pool && front ? SPARSE_OK : SPARSE_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        const sparse__trial *t = &run->trials[i];
        if (any_feasible ? !sparse__front_candidate(t) : t->ok != 1 || t->partial)
            continue;
        pool[m] = t->id;
        F[3 * m] = 1.0 - sparse__rank_accuracy(run->cfg, t);
        F[3 * m + 1] = t->ms;
        F[3 * m + 2] = sparse__trial_wm(run->cfg, t);
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

int sparse__run_front(const sparse_run *run, size_t **idx, size_t *count)
{
    size_t n = sparse_run_trial_count(run);
    *count = 0;
    if (!(*idx = sparse__malloc((n ? n : 1) * sizeof **idx)))
        return SPARSE_ENOMEM;
    int rc = sparse_run_pareto(run, *idx, count);
    if (rc) {
        free(*idx);
        *idx = NULL;
    }
    return rc;
}

SPARSE_API int sparse_run_write_pareto_csv(const sparse_run *run)
{
    SPARSE__CHECK_NULL(run);
    size_t c = 0, *idx;
    int rc = sparse__run_front(run, &idx, &c);
    if (rc)
        return rc;
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_puts(&b, "id,stage,val_accuracy,test_accuracy,ms_bytes,wm5_bytes,wm6_bytes,params,"
                         "posterior_accuracy,posterior_se\n");
    for (size_t j = 0; !rc && j < c; j++) {
        const sparse__trial *t = &run->trials[find(run, idx[j])];
        sparse__buf_printf(&b, "%zu,%d,%.6f,%.6f,%.0f,%.0f,%.0f,%.0f,", idx[j], t->stage, t->val_acc, t->test_acc,
                           t->ms, t->wm5, t->wm6, t->params);
        if (t->has_post)
            sparse__buf_printf(&b, "%.6f,%.6f\n", t->post_acc, t->post_sd);
        else
            sparse__buf_puts(&b, ",\n");
    }
    char *csv = rc ? NULL : sparse__buf_detach(&b);
    sparse__buf_free(&b);
    char *path = csv ? sparse__runlog_path(run->log, "pareto.csv") : NULL;
    if (!rc)
        rc = csv && path ? sparse__replace_file(path, csv, strlen(csv)) : SPARSE_ENOMEM;
    free(csv);
    free(path);
    free(idx);
    return rc;
}

SPARSE_API int sparse_run_input_downsampling(const sparse_run *run, int *mode)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(mode);
    *mode = run->cfg->input_downsampling;
    return SPARSE_OK;
}

SPARSE_API int sparse_run_wm_model(const sparse_run *run, int *model)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(model);
    *model = run->cfg->wm_model;
    return SPARSE_OK;
}
