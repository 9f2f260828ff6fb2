/* The SpArSe loop (paper section 3.4): initial random configurations, then
 * per trial a Chebyshev scalarisation drawn at random and Thompson sampling
 * over morphs of the allowed references (probability rho of the stage), or
 * a random proposal; the candidate inherits its reference's weights, is
 * trained, measured and recorded. This file sets a run up (or opens one to
 * resume), replays its records and keeps its state; loop.h names the rest.
 *
 * Determinism: trial t draws from its own RNG stream (seed, t), the GP is
 * rebuilt from the records of trials 0..t-1 (read back exactly: doubles are
 * written in round-trip form; its hyper-parameters refitted on a schedule
 * of trial counts, never of time) and parents are loaded from their weight files.
 * So a resumed run makes the same decisions as an uninterrupted one. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/durable.h"
#include "../core/internal.h"
#include "loop.h"
#include "sparse/experimental.h"

/* ---- the trials so far ---- */

int sparse__keep_trial(sparse__search *s, const sparse__trial *t)
{
    if (sparse__grow(&s->trials, &s->cap, s->n, sizeof *s->trials, 64))
        return SPARSE_ENOMEM;
    s->trials[s->n++] = *t;
    return SPARSE_OK;
}

double sparse__best_feasible(const sparse__search *s)
{
    double best = -1;
    for (size_t i = 0; i < s->n; i++)
        if (sparse__front_candidate(&s->trials[i]) && s->trials[i].val_acc > best)
            best = s->trials[i].val_acc;
    return best;
}

int sparse__write_state(sparse__search *s, int finished)
{
    char *json = sparse__state_json(s, finished);
    if (!json)
        return SPARSE_ENOMEM;
    int rc = sparse__runlog_write_state(s->log, json);
    free(json);
    return rc;
}

static void search_destroy(sparse__search *s)
{
    sparse_exp_gp_schedule_free(s->gp_schedule);
    free(s->slots);
    free(s->fingerprint);
    for (size_t i = 0; i < s->n; i++)
        sparse__trial_clear(&s->trials[i]);
    free(s->trials);
    sparse__runlog_free(s->log);
    sparse_dataset_free(s->train);
    sparse_dataset_free(s->val);
    sparse_dataset_free(s->test);
    sparse__layout_destroy(&s->lay);
}

sparse__problem sparse__problem_of(const sparse_search_config *cfg, const sparse__layout *lay,
                                   const sparse_dataset *train)
{
    sparse__problem p = {cfg,
                         lay,
                         sparse_dataset_channels(train),
                         sparse_dataset_height(train),
                         sparse_dataset_width(train),
                         sparse_dataset_class_count(train)};
    return p;
}

/* Every network's first layer reads the whole input image (int8, one byte
 * per value) and, in WM model (6), writes at least one byte, so a WM budget
 * below that cannot be met by any point of any space. When input
 * downsampling is data acquisition and the space may downsample, the first
 * layer reads the image downsampled at the space's largest rate (genome.c:
 * each side divided, rounding down). */
static int check_wm_budget(const sparse__search *s)
{
    const sparse_search_config *c = s->cfg;
    size_t ch = sparse_dataset_channels(s->train), h = sparse_dataset_height(s->train),
           w = sparse_dataset_width(s->train);
    const char *how = "the whole";
    if (c->input_downsampling == SPARSE_INPUT_DOWNSAMPLING_ACQUISITION && (c->input_downsample & 0x2u)) {
        size_t rate = (size_t)c->input_rate.hi;
        h = h / rate ? h / rate : 1;
        w = w / rate ? w / rate : 1;
        how = "at least the downsampled (input_downsampling: acquisition)";
    }
    double least = (double)(ch * h * w) + (c->wm_model == 6 ? 1.0 : 0.0);
    if (c->budget_wm > 0 && c->budget_wm < least)
        return sparse__error(SPARSE_EBUDGET,
                             "budgets.wm_bytes %g B: no network can meet it; every network's WM%d is at least %g B "
                             "here, because its first layer reads %s %zux%zux%zu input image (%zu B)%s",
                             c->budget_wm, c->wm_model, least, how, ch, h, w, ch * h * w,
                             c->wm_model == 6 ? " and writes at least one byte" : "");
    /* The arena holds the int8 input image while the first layer reads it. */
    if (c->budget_arena > 0 && c->budget_arena < (double)(ch * h * w))
        return sparse__error(SPARSE_EBUDGET,
                             "budgets.arena_bytes %g B: no network can meet it; every network's arena holds the "
                             "whole %zux%zux%zu int8 input image (%zu B)",
                             c->budget_arena, ch, h, w, ch * h * w);
    return SPARSE_OK;
}

/* Training refuses a shift that can move an image out of itself entirely;
 * said once here, not as the failure of every trial. */
static int check_shift(const sparse__search *s)
{
    const size_t h = sparse_dataset_height(s->train), w = sparse_dataset_width(s->train);
    const double most = fmax(s->cfg->shift.hi, (double)s->cfg->final_shift);
    if (most >= (double)h || most >= (double)w)
        return sparse__error(SPARSE_ERANGE, "%s %g pixels: the images are %zux%zu, a shift must be below both",
                             most == s->cfg->shift.hi ? "space.shift up to" : "final.shift", most, h, w);
    return SPARSE_OK;
}

/* The trials planned (max_trials 0: the config's), where the final stage
 * starts, the seconds this call may search and the run's total time budget
 * (0: none). */
static void set_limits(sparse__search *s, size_t max_trials, double budget_s, double budget_total)
{
    const sparse_search_config *cfg = s->cfg;
    s->max_trials = max_trials;
    s->total = sparse_search_config_trial_count(cfg);
    if (max_trials && max_trials < s->total)
        s->total = max_trials;
    /* The final stage follows the three stages, or starts early enough to
     * fit in a trial limit; a time budget may start it earlier still. */
    s->final_from = SIZE_MAX;
    s->final_estimate_at = SIZE_MAX;
    if (cfg->final_trials)
        s->final_from = s->total > cfg->final_trials ? s->total - cfg->final_trials : s->total;
    s->budget_s = budget_s;
    s->budget_total = budget_total;
}

/* A resume keeps the limits the run was started with (state.json): its
 * trial limit unless given another, and what is left of its time budget
 * unless given a new one, which then adds to the time searched so far. */
static int resume_limits(sparse__search *s)
{
    sparse__limits lim;
    int rc = sparse__state_limits(s->log, &lim);
    if (rc || lim.elapsed < 0)
        return rc; /* a run from before the limits were recorded: as given */
    s->elapsed_before = lim.elapsed;
    size_t max_trials = s->opts->max_trials ? s->opts->max_trials : lim.max_trials > 0 ? (size_t)lim.max_trials : 0;
    double total = s->opts->time_budget_s > 0 ? lim.elapsed + s->opts->time_budget_s
                   : lim.budget_total > 0     ? lim.budget_total
                                              : s->cfg->time_budget_s;
    double left = total > 0 ? total - lim.elapsed : 0;
    /* A budget spent stops the loop before any trial (0 would be none). */
    set_limits(s, max_trials, total > 0 && left <= 0 ? 1e-9 : left, total);
    return SPARSE_OK;
}

/* The run's plan before any record: the trials, where the final stage
 * starts, the time budget, the workers and their threads. */
static int plan_run(sparse__search *s, sparse_search_config *cfg, const sparse_search_options *opts)
{
    s->cfg = cfg;
    s->opts = opts;
    s->t0 = sparse__now_s();
    double budget = opts->time_budget_s > 0 ? opts->time_budget_s : cfg->time_budget_s;
    set_limits(s, opts->max_trials, budget, budget);
    /* Each worker trains with its share of the threads. */
    s->workers = cfg->workers;
    s->lag = 2 * (s->workers - 1);
    int threads = opts->threads > 0 ? opts->threads : cfg->threads;
    int rc = sparse_set_thread_count(threads > (int)s->workers ? threads / (int)s->workers : 1);
    if (!rc && !(s->slots = sparse__calloc(s->lag + 1, sizeof *s->slots)))
        rc = SPARSE_ENOMEM;
    if (!rc && !(s->fingerprint = sparse__config_fingerprint(cfg)))
        rc = SPARSE_ENOMEM;
    return rc;
}

/* A new run in dir (locked, open): refused if it holds one already, else
 * its config.yaml and a first state.json, which holds the fingerprint a
 * resume checks the config against. */
static int start_run(sparse__search *s, const char *dir)
{
    size_t done = 0, n = sparse__runlog_count(s->log);
    int rc = sparse__state_trials_done(s->log, &done);
    if (rc)
        return rc;
    if (n || done)
        return sparse__error(SPARSE_EINVAL,
                             "%s already holds a run (%zu trials): resume it or choose another directory",
                             dir, n > done ? n : done);
    char *yaml = NULL, *path = sparse__runlog_path(s->log, "config.yaml");
    rc = path ? sparse_search_config_to_yaml(&yaml, s->cfg) : SPARSE_ENOMEM;
    if (!rc)
        rc = sparse__replace_file(path, yaml, strlen(yaml));
    free(yaml);
    free(path);
    return rc ? rc : sparse__write_state(s, 0);
}

/* The search space, the data and the run directory (created, with its
 * config.yaml, for a new run). The data come first: an impossible budget is
 * refused before a run directory is made for it. */
static int open_run(sparse__search *s, const char *dir, int create)
{
    const sparse_search_config *cfg = s->cfg;
    int rc = sparse__layout_create(&s->lay, cfg);
    if (!rc)
        rc = sparse__open_data(cfg, s->opts->data_override, &s->train, &s->val, &s->test);
    if (!rc) {
        s->prob = sparse__problem_of(cfg, &s->lay, s->train);
        rc = check_wm_budget(s);
        if (!rc && create)
            rc = sparse__check_reachable(&s->prob, cfg->seed);
    }
    if (!rc)
        rc = check_shift(s);
    if (!rc)
        rc = sparse__runlog_open(&s->log, dir, create ? SPARSE__RUNLOG_CREATE : SPARSE__RUNLOG_APPEND);
    if (!rc && create)
        rc = start_run(s, dir);
    else if (!rc && !(rc = sparse__state_check(s->log, cfg)))
        rc = resume_limits(s);
    /* Only now that the run is the one to continue. */
    if (!rc)
        rc = sparse__runlog_cut_torn(s->log);
    return rc;
}

/* Reads back the records of an existing run: the decisions of the trials
 * to come depend on them exactly. */
static int replay(sparse__search *s)
{
    int rc = SPARSE_OK;
    for (size_t i = 0; !rc && i < sparse__runlog_count(s->log); i++) {
        sparse__trial tr;
        rc = sparse__trial_parse(s->cfg, s->lay.nvars, sparse__runlog_line(s->log, i), i,
                                 sparse__runlog_line_number(s->log, i), 1, &tr);
        if (!rc && (rc = sparse__keep_trial(s, &tr)))
            sparse__trial_clear(&tr);
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->trials[i].stage == 4 && i < s->final_from) {
            s->final_from = i; /* a time budget started it early */
            if (i + s->cfg->final_trials < s->total)
                s->total = i + s->cfg->final_trials;
        }
    s->next = s->n;
    return rc;
}

/* report.html of the run as it stands, from its records (run: the run
 * opened already, or NULL). */
static int write_report(sparse__search *s, const sparse_run *run)
{
    sparse_run *own = NULL;
    int rc = run ? SPARSE_OK : sparse_run_open(&own, sparse__runlog_dir(s->log));
    char *path = rc ? NULL : sparse__runlog_path(s->log, "report.html");
    if (!rc)
        rc = path ? sparse_run_write_report_html(run ? run : own, path) : SPARSE_ENOMEM;
    free(path);
    sparse_run_free(own);
    return rc;
}

/* Each rewrite opens the run again and refits its surrogate for the front
 * (0.6 s at 104 trials, measured; 80% more wall time for a search of tiny
 * trials rewritten after each one), so: after every record while the run
 * is small, then after every 10th, and after each final-stage trial
 * (minutes of training each). write_summary writes it at the end. */
int sparse__write_report(sparse__search *s, int stage)
{
    if (s->n >= s->total) /* the last record: write_summary follows */
        return SPARSE_OK;
    return stage == 4 || s->n <= 16 || s->n % 10 == 0 ? write_report(s, NULL) : SPARSE_OK;
}

/* state.json, pareto.csv, pareto.svg and report.html after the trials of
 * this call. */
static int write_summary(sparse__search *s, const char *dir)
{
    double elapsed = s->elapsed_before + sparse__now_s() - s->t0;
    int rc = sparse__write_state(s, s->n >= s->total || (s->budget_total > 0 && elapsed >= s->budget_total));
    sparse_run *run = NULL;
    if (!rc)
        rc = sparse_run_open(&run, dir);
    if (!rc)
        rc = sparse_run_write_pareto_csv(run);
    char *svg = rc ? NULL : sparse__runlog_path(s->log, "pareto.svg");
    if (!rc)
        rc = svg ? sparse_run_write_pareto_svg(run, svg) : SPARSE_ENOMEM;
    if (!rc)
        rc = write_report(s, run);
    free(svg);
    sparse_run_free(run);
    return rc;
}

SPARSE__STRUCT_VERSIONS(search_options_versions, sparse_search_options, SPARSE_SEARCH_OPTIONS_INIT,
                        SPARSE_SEARCH_OPTIONS_VERSION, offsetof(sparse_search_options, seed),
                        sizeof(sparse_search_options));

/* The caller's options in the current layout, their seed checked. */
int sparse__search_options_read(sparse_search_options *o, const sparse_search_options *opts, const char *fn)
{
    int rc = sparse__struct_read(&search_options_versions, o, opts, fn);
    if (!rc && (o->seed < -1 || o->seed > 2147483647LL))
        rc = sparse__error(SPARSE_ERANGE, "%s: seed %lld is outside 0..2147483647 (-1: the config's)", fn,
                           (long long)o->seed);
    return rc;
}

static int search_loop(sparse_search_config *cfg, const char *dir, int create, const sparse_search_options *o,
                       const sparse_exp_executor *ex)
{
    sparse__search s;
    memset(&s, 0, sizeof s);
    s.ex = ex;
    if (ex) /* recorded in config.yaml: a threaded resume continues alike */
        cfg->workers = ex->workers;
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.finished, NULL);
    int rc = plan_run(&s, cfg, o);
    if (!rc)
        rc = sparse__gp_schedule_open(&s);
    if (!rc)
        rc = open_run(&s, dir, create);
    if (!rc)
        rc = replay(&s);
    if (!rc)
        rc = sparse__run_trials(&s, s.budget_s);
    if (!rc)
        rc = write_summary(&s, dir);
    search_destroy(&s);
    pthread_cond_destroy(&s.finished);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

SPARSE_API int sparse_search_options_init(sparse_search_options *opts, unsigned version)
{
    return sparse__struct_init(&search_options_versions, opts, version);
}

/* An executor's callbacks and worker count, checked. */
static int check_executor(const sparse_exp_executor *ex, const char *fn)
{
    if (!ex)
        return SPARSE_OK;
    if (ex->version != SPARSE_EXP_EXECUTOR_VERSION)
        return sparse__error(SPARSE_EVERSION, "%s: sparse_exp_executor version %u (this library knows %u)", fn,
                             ex->version, SPARSE_EXP_EXECUTOR_VERSION);
    if (!ex->start || !ex->wait || ex->workers < 1 || ex->workers > 64)
        return sparse__error(SPARSE_EINVAL, "%s: an executor needs start and wait, and 1..64 workers (the config's range) (%zu)", fn,
                             ex->workers);
    return SPARSE_OK;
}

static int run_with(const sparse_search_config *cfg, const char *out_dir, const sparse_search_options *opts,
                    const sparse_exp_executor *ex, const char *fn)
{
    sparse_search_options o;
    int rc = sparse__search_options_read(&o, opts, fn);
    if (!rc)
        rc = check_executor(ex, fn);
    if (rc)
        return rc;
    /* The loop reads the config only: a shallow copy carries the seed the
     * options give into the run's config.yaml. */
    sparse_search_config run_cfg = *cfg;
    if (o.seed >= 0)
        run_cfg.seed = (uint64_t)o.seed;
    return search_loop(&run_cfg, out_dir, 1, &o, ex);
}

SPARSE_API int sparse_search_run(const sparse_search_config *cfg, const char *out_dir,
                                 const sparse_search_options *opts)
{
    SPARSE__CHECK_NULL(cfg);
    SPARSE__CHECK_NULL(out_dir);
    return run_with(cfg, out_dir, opts, NULL, "sparse_search_run");
}

SPARSE_API int sparse_exp_search_run(const sparse_search_config *cfg, const char *out_dir,
                                     const sparse_search_options *opts, const sparse_exp_executor *ex)
{
    SPARSE__CHECK_NULL(cfg);
    SPARSE__CHECK_NULL(out_dir);
    SPARSE__CHECK_NULL(ex);
    return run_with(cfg, out_dir, opts, ex, "sparse_exp_search_run");
}

static int resume_with(const char *dir, const sparse_search_options *opts, const sparse_exp_executor *ex,
                       const char *fn)
{
    sparse_search_options o;
    int rc = sparse__search_options_read(&o, opts, fn);
    if (!rc)
        rc = check_executor(ex, fn);
    if (rc)
        return rc;
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/config.yaml", dir);
    char *path = sparse__buf_detach(&b);
    if (!path)
        return SPARSE_ENOMEM;
    sparse_search_config *cfg;
    rc = sparse__config_load_run(&cfg, path);
    free(path);
    if (rc)
        return sparse__error_prefix(rc, "resuming %s", dir);
    if (o.seed >= 0 && (uint64_t)o.seed != cfg->seed)
        rc = sparse__error(SPARSE_EINVAL,
                           "resuming %s: seed %lld, but the run was started with seed %llu (a resume "
                           "continues the run with its own seed)",
                           dir, (long long)o.seed, (unsigned long long)cfg->seed);
    if (!rc)
        rc = search_loop(cfg, dir, 0, &o, ex);
    sparse_search_config_free(cfg);
    return rc;
}

SPARSE_API int sparse_search_resume(const char *dir, const sparse_search_options *opts)
{
    SPARSE__CHECK_NULL(dir);
    return resume_with(dir, opts, NULL, "sparse_search_resume");
}

SPARSE_API int sparse_exp_search_resume(const char *dir, const sparse_search_options *opts,
                                        const sparse_exp_executor *ex)
{
    SPARSE__CHECK_NULL(dir);
    SPARSE__CHECK_NULL(ex);
    return resume_with(dir, opts, ex, "sparse_exp_search_resume");
}
