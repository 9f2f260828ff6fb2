/* The SpArSe loop (paper section 3.4): initial random configurations, then
 * per trial a Chebyshev scalarisation drawn at random and Thompson sampling
 * over morphs of the allowed references (probability rho of the stage), or
 * a random proposal; the candidate inherits its reference's weights, is
 * trained, measured and recorded.
 *
 * Determinism: trial t draws from its own RNG stream (seed, t), the GP is
 * rebuilt from the records of trials 0..t-1 (read back exactly: doubles are
 * written in round-trip form) and parents are loaded from their weight files.
 * So a resumed run makes the same decisions as an uninterrupted one.
 *
 * With workers > 1, several trials train at once, each in its own thread;
 * trial t is proposed from trials 0..t-1-lag only (lag = 2 (workers - 1)),
 * which are recorded whatever the timing, so the records stay the same for
 * a seed, a thread count and a worker count. Records are appended in trial
 * order; a trial that finishes before an earlier one waits in memory. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/doc.h"
#include "../core/internal.h"
#include "runlog.h"
#include "loop.h"
#include "sparse/data.h"
#include "sparse/experimental.h"
#include "sparse/memory.h"
#include "sparse/prune.h"
#include "sparse/quant.h"


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int stage_of(const sp_search *s, size_t t)
{
    const sparse_search_config *c = s->cfg;
    if (t >= s->final_from)
        return 4;
    if (t < c->stage_trials[0])
        return 1;
    if (t < c->stage_trials[0] + c->stage_trials[1])
        return 2;
    return 3;
}


/* ---- the trials so far ---- */

static int keep_trial(sp_search *s, const sp_trial *t)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        sp_trial *p = sparse__realloc(s->trials, nc * sizeof *p);
        if (!p)
            return SPARSE_ENOMEM;
        s->trials = p;
        s->cap = nc;
    }
    s->trials[s->n++] = *t;
    return SPARSE_OK;
}


static sp_slot *slot_of(const sp_search *s, size_t t)
{
    for (size_t i = 0; i <= s->lag; i++)
        if (s->slots[i].busy && s->slots[i].t == t)
            return &s->slots[i];
    return NULL;
}

/* Trial t's point and parent, recorded or in flight. */
const double *sp_point_of(const sp_search *s, size_t t)
{
    const sp_slot *sl = t < s->n ? NULL : slot_of(s, t);
    return sl ? sl->point : s->trials[t].point;
}

size_t sp_parent_of(const sp_search *s, size_t t)
{
    const sp_slot *sl = t < s->n ? NULL : slot_of(s, t);
    return sl ? sl->parent : s->trials[t].parent;
}

/* Runs in the workers: the user's callback hears of the oldest trial in
 * flight only, one call at a time; a cancellation stops every trial. */
static int progress_cb(void *user, size_t epoch, size_t batch, size_t per_epoch, double loss,
                       double images_per_s)
{
    (void)images_per_s;
    sp_slot *sl = user;
    sp_search *s = sl->s;
    pthread_mutex_lock(&s->lock);
    if (!s->cancel && s->opts->on_progress && sl->t == s->oldest &&
        s->opts->on_progress(s->opts->user, sl->t, epoch, batch, per_epoch, loss))
        s->cancel = 1;
    int stop = s->cancel;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static double best_feasible(const sp_search *s)
{
    double best = -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->trials[i].ok && s->trials[i].feasible && s->trials[i].val_acc > best)
            best = s->trials[i].val_acc;
    return best;
}

static int write_state(sp_search *s, int finished)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "{\"trials_done\":%zu,\"trials_planned\":%zu,\"finished\":%s,\"best_feasible_val_accuracy\":",
                       s->n, s->total, finished ? "true" : "false");
    sparse__buf_json_double(&b, best_feasible(s));
    sparse__buf_puts(&b, "}\n");
    char *json = sparse__buf_detach(&b);
    if (!json)
        return SPARSE_ENOMEM;
    int rc = sparse__runlog_write_state(s->log, json);
    free(json);
    return rc;
}

/* Seconds the run still needs after its last trial: the search trials left
 * at the mean time of those so far, the final ones at the mean of those
 * done, or before the first at sp_final_estimate (a final trial trains
 * several times longer than a searched one), shared among the workers. */
static double time_left(sp_search *s)
{
    double searched = 0, finals = 0, est = 0;
    size_t ns = 0, nf = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->trials[i].stage == 4) {
            finals += s->trials[i].seconds;
            nf++;
        } else {
            searched += s->trials[i].seconds;
            ns++;
        }
    }
    size_t final_from = s->final_from < s->total ? s->final_from : s->total;
    size_t search_left = final_from > s->n ? final_from - s->n : 0;
    size_t final_left = s->total - (s->n > final_from ? s->n : final_from);
    double left = ns ? (double)search_left * searched / (double)ns / (double)s->workers : 0.0;
    if (final_left && nf)
        left += (double)final_left * finals / (double)nf / (double)s->workers;
    else if (final_left && !sp_final_estimate(s, &est))
        left += est * (double)final_left / (double)s->cfg->final_trials;
    sparse_clear_error();
    return left;
}

/* Proposes trial s->next into sl from the trials it may see; in the final
 * stage it trains final_of again, widened for box. */
static int prepare_trial(sp_search *s, sp_slot *sl, size_t hist, size_t final_of, size_t box)
{
    size_t t = s->next;
    memset(sl, 0, sizeof *sl);
    sl->s = s;
    sl->t = t;
    sl->stage = stage_of(s, t);
    sl->start = now_s();
    sl->parent = SP_NO_PARENT;
    sparse_rng *rng = NULL;
    if (!(sl->point = sparse__malloc(s->lay.nvars * sizeof *sl->point)))
        return SPARSE_ENOMEM;
    int rc = sparse_rng_create_stream(&rng, s->cfg->seed, t);
    if (!rc && sl->stage == 4) {
        sl->parent = final_of;
        memcpy(sl->point, s->trials[final_of].point, s->lay.nvars * sizeof *sl->point);
        snprintf(sl->how, sizeof sl->how, "final");
        snprintf(sl->morph, sizeof sl->morph, "%s",
                 sp_fill_box(&s->prob, &s->trials[final_of], box, sl->point) ? "widen+retrain" : "retrain");
    } else if (!rc) {
        rc = sp_propose(s, sl, hist, rng);
    }
    sparse_rng_free(rng);
    if (!rc) {
        sp_genome_decode(&s->lay, s->cfg, sl->point, &sl->g);
        if (sl->parent != SP_NO_PARENT)
            sp_genome_decode(&s->lay, s->cfg, s->trials[sl->parent].point, &sl->parent_g);
        if (sl->stage == 4) {
            sl->g.epochs = (int)s->cfg->final_epochs;
            sl->g.shift = (int)s->cfg->final_shift;
        }
        sl->busy = 1;
        s->next++;
    } else {
        free(sl->point);
        sl->point = NULL;
    }
    return rc ? sparse__error_prefix(rc, "trial %zu", t) : SPARSE_OK;
}

/* Trains and measures the trial of a slot (a worker's thread with
 * workers > 1); its error message travels in the slot. */
static void *train_trial(void *arg)
{
    sp_slot *sl = arg;
    sp_search *s = sl->s;
    int rc = sp_evaluate(s, sl, progress_cb);
    if (rc)
        snprintf(sl->error, sizeof sl->error, "%s", sparse_last_error());
    pthread_mutex_lock(&s->lock);
    sl->rc = rc;
    sl->seconds = now_s() - sl->start;
    sl->done = 1;
    s->completions++;
    pthread_cond_signal(&s->finished);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Waits for the slot's worker thread to end (there is one with workers > 1). */
static void join_worker(const sp_search *s, sp_slot *sl)
{
    if (s->workers > 1)
        pthread_join(sl->thread, NULL);
}

static void release_slot(sp_slot *sl)
{
    free(sl->point);
    free(sl->o.arch_json);
    free(sl->o.compact_json);
    sl->point = NULL;
    sl->o.arch_json = sl->o.compact_json = NULL;
    sl->busy = 0;
}

/* Appends the record of the trained trial s->n (in sl) and reports it. */
static int record_trial(sp_search *s, sp_slot *sl)
{
    size_t t = sl->t;
    int rc = sl->rc ? sparse__error(sl->rc, "%s", sl->error) : SPARSE_OK;
    const sp_outcome *o = &sl->o;
    char *rec = NULL;
    if (!rc) {
        rec = sp_trial_record(s->cfg, s->lay.nvars, t, sl->stage, sl->parent, sl->how, sl->morph, sl->point, &sl->g,
                              o, sl->seconds);
        rc = rec ? sparse__runlog_append(s->log, rec) : SPARSE_ENOMEM;
    }
    if (rc) {
        free(rec);
        release_slot(sl);
        return sparse__error_prefix(rc, "trial %zu", t);
    }
    sp_trial tr = {.stage = sl->stage, .parent = sl->parent, .ok = o->ok,
                   .feasible = o->ok && sp_feasible(s->cfg, o->ms, o->wm5, o->wm6), .point = sl->point,
                   .val_acc = o->val_acc, .test_acc = o->test_acc, .int8_test_acc = o->int8_test_acc, .ms = o->ms,
                   .wm5 = o->wm5, .wm6 = o->wm6, .params = o->params, .seconds = sl->seconds, .epochs = sl->g.epochs};
    rc = keep_trial(s, &tr);
    if (!rc)
        sl->point = NULL; /* the trial's now */
    if (!rc)
        rc = write_state(s, 0);
    if (!rc && s->opts->on_trial) {
        double elapsed = now_s() - s->t0;
        sparse_trial_event ev = {SPARSE_TRIAL_EVENT_VERSION, t, s->total, sl->stage, o->ok, o->val_acc,
                                 o->ms, s->cfg->wm_model == 6 ? o->wm6 : o->wm5, best_feasible(s),
                                 elapsed, -1.0, rec};
        if (s->total > t + 1)
            ev.remaining_s = time_left(s);
        if (s->budget_s > 0 && ev.remaining_s > s->budget_s - elapsed)
            ev.remaining_s = s->budget_s - elapsed > 0 ? s->budget_s - elapsed : 0;
        if (s->opts->on_trial(s->opts->user, &ev))
            rc = sparse__error(SPARSE_ECANCELLED, "search stopped by the trial callback after trial %zu", t);
    }
    free(rec);
    release_slot(sl);
    return rc;
}

/* The trials trial t may see: all before it but the last lag; a final
 * trial sees every searched one. */
static size_t history_of(const sp_search *s, size_t t)
{
    if (t >= s->final_from)
        return s->final_from;
    return t > s->lag ? t - s->lag : 0;
}

/* Starts trial s->next if it can start now: 1 if it did, 0 if it must wait
 * for earlier trials, -1 if the run starts no more trials. */
static int start_next(sp_search *s, double budget, int *rc)
{
    sp_slot *free_slot = NULL;
    for (size_t i = 0; i <= s->lag && !free_slot; i++)
        if (!s->slots[i].busy)
            free_slot = &s->slots[i];
    if (s->next >= s->total)
        return -1;
    double elapsed = now_s() - s->t0;
    if (budget > 0 && elapsed >= budget)
        return -1;
    if ((*rc = sp_plan_final(s, elapsed, budget)))
        return -1;
    size_t hist = history_of(s, s->next);
    if (!free_slot || hist > s->n)
        return 0;
    size_t final_of = SP_NO_PARENT, box = 0;
    if (s->next >= s->final_from) {
        if ((*rc = sp_final_parent(s, s->next, &final_of, &box)))
            return -1;
        if (final_of == SP_NO_PARENT) { /* every box spent */
            s->total = s->next;
            return -1;
        }
    }
    if ((*rc = prepare_trial(s, free_slot, hist, final_of, box)))
        return -1;
    if (s->workers == 1) {
        train_trial(free_slot);
        return 1;
    }
    int err = pthread_create(&free_slot->thread, NULL, train_trial, free_slot);
    if (err) {
        release_slot(free_slot);
        s->next--;
        *rc = sparse__error(SPARSE_ENOMEM, "trial %zu: cannot start a worker thread: %s", s->next, strerror(err));
        return -1;
    }
    return 1;
}

/* Runs trials until the limit, the time budget, an error or a cancellation.
 * Trials in flight then finish, or stop if it was an error; those that
 * finished after a failed one are not recorded (a resume trains them). */
static int run_trials(sp_search *s, double budget)
{
    int rc = SPARSE_OK, starting = 1;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (rc)
            s->cancel = 1;
        s->oldest = s->n;
        sp_slot *sl = slot_of(s, s->n);
        int ready = sl && sl->done;
        size_t running = 0, seen = s->completions;
        for (size_t i = 0; i <= s->lag; i++)
            running += s->slots[i].busy && !s->slots[i].done;
        pthread_mutex_unlock(&s->lock);
        if (ready && !rc) {
            join_worker(s, sl);
            rc = record_trial(s, sl);
            continue;
        }
        if (starting && !rc && running < s->workers) {
            int started = start_next(s, budget, &rc);
            if (started < 0)
                starting = 0;
            if (started)
                continue;
        }
        if (!running)
            break;
        pthread_mutex_lock(&s->lock);
        while (s->completions == seen)
            pthread_cond_wait(&s->finished, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }
    for (size_t i = 0; i <= s->lag; i++)
        if (s->slots[i].busy) {
            join_worker(s, &s->slots[i]);
            release_slot(&s->slots[i]);
        }
    return rc;
}

static void search_destroy(sp_search *s)
{
    free(s->slots);
    for (size_t i = 0; i < s->n; i++)
        free(s->trials[i].point);
    free(s->trials);
    sparse__runlog_free(s->log);
    sparse_dataset_free(s->train);
    sparse_dataset_free(s->val);
    sparse_dataset_free(s->test);
    sp_layout_destroy(&s->lay);
}

/* Every network's first layer reads the whole input image (int8, one byte
 * per value) and, in WM model (6), writes at least one byte, so a WM budget
 * below that cannot be met by any point of any space. */
static int check_wm_budget(const sp_search *s)
{
    const sparse_search_config *c = s->cfg;
    size_t ch = sparse_dataset_channels(s->train), h = sparse_dataset_height(s->train),
           w = sparse_dataset_width(s->train);
    double least = (double)(ch * h * w) + (c->wm_model == 6 ? 1.0 : 0.0);
    if (c->budget_wm > 0 && c->budget_wm < least)
        return sparse__error(SPARSE_EBUDGET,
                             "budgets.wm_bytes %g B: no network can meet it; every network's WM%d is at least %g B "
                             "here, because its first layer reads the whole %zux%zux%zu input image (%zu B)%s",
                             c->budget_wm, c->wm_model, least, ch, h, w, ch * h * w,
                             c->wm_model == 6 ? " and writes at least one byte" : "");
    return SPARSE_OK;
}

/* Training refuses a shift that can move an image out of itself entirely;
 * said once here, not as the failure of every trial. */
static int check_shift(const sp_search *s)
{
    const size_t h = sparse_dataset_height(s->train), w = sparse_dataset_width(s->train);
    const double most = fmax(s->cfg->shift.hi, (double)s->cfg->final_shift);
    if (most >= (double)h || most >= (double)w)
        return sparse__error(SPARSE_ERANGE, "%s %g pixels: the images are %zux%zu, a shift must be below both",
                             most == s->cfg->shift.hi ? "space.shift up to" : "final.shift", most, h, w);
    return SPARSE_OK;
}

static int search_loop(sparse_search_config *cfg, const char *dir, int create,
                       const sparse_search_options *opts)
{
    sparse_search_options defaults = SPARSE_SEARCH_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (opts->version != SPARSE_SEARCH_OPTIONS_VERSION)
        return sparse__error(SPARSE_EVERSION, "sparse_search_options version %u (this library knows %u)",
                             opts->version, SPARSE_SEARCH_OPTIONS_VERSION);
    sp_search s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.finished, NULL);
    s.cfg = cfg;
    s.opts = opts;
    s.t0 = now_s();
    s.total = sparse_search_config_trials(cfg);
    if (opts->max_trials && opts->max_trials < s.total)
        s.total = opts->max_trials;
    /* The final stage follows the three stages, or starts early enough to
     * fit in a trial limit; a time budget may start it earlier still. */
    s.final_from = SIZE_MAX;
    s.final_estimate_at = SIZE_MAX;
    if (cfg->final_trials)
        s.final_from = s.total > cfg->final_trials ? s.total - cfg->final_trials : s.total;
    double budget = opts->time_budget_s > 0 ? opts->time_budget_s : cfg->time_budget_s;
    s.budget_s = budget;
    /* Each worker trains with its share of the threads. */
    s.workers = cfg->workers;
    s.lag = 2 * (s.workers - 1);
    int threads = opts->threads > 0 ? opts->threads : cfg->threads;
    int rc = sparse_set_num_threads(threads > (int)s.workers ? threads / (int)s.workers : 1);
    if (!rc && !(s.slots = sparse__calloc(s.lag + 1, sizeof *s.slots)))
        rc = SPARSE_ENOMEM;
    if (!rc)
        rc = sp_layout_create(&s.lay, cfg);
    /* The data first: an impossible budget is refused before a run
     * directory is made for it. */
    if (!rc)
        rc = sp_open_data(cfg, opts->data_override, &s.train, &s.val, &s.test);
    if (!rc) {
        sp_problem prob = {cfg, &s.lay, sparse_dataset_channels(s.train), sparse_dataset_height(s.train),
                           sparse_dataset_width(s.train), sparse_dataset_num_classes(s.train)};
        s.prob = prob;
        rc = check_wm_budget(&s);
    }
    if (!rc)
        rc = check_shift(&s);
    if (!rc)
        rc = sparse__runlog_open(&s.log, dir, create ? SPARSE__RUNLOG_CREATE : SPARSE__RUNLOG_APPEND);
    if (!rc && create && sparse__runlog_count(s.log) > 0)
        rc = sparse__error(SPARSE_EINVAL, "%s already holds a run (%zu trials): resume it or choose another directory",
                           dir, sparse__runlog_count(s.log));
    if (!rc && create) {
        char *yaml = NULL, *path = sparse__runlog_path(s.log, "config.yaml");
        rc = path ? sparse_search_config_to_yaml(cfg, &yaml) : SPARSE_ENOMEM;
        if (!rc)
            rc = sparse__write_file_atomic(path, yaml, strlen(yaml));
        free(yaml);
        free(path);
    }
    for (size_t i = 0; !rc && i < sparse__runlog_count(s.log); i++) {
        sp_trial tr;
        rc = sp_trial_parse(cfg, s.lay.nvars, sparse__runlog_line(s.log, i), i, 1, &tr);
        if (!rc && (rc = keep_trial(&s, &tr)))
            free(tr.point);
    }
    for (size_t i = 0; i < s.n; i++)
        if (s.trials[i].stage == 4 && i < s.final_from) {
            s.final_from = i; /* a time budget started it early */
            if (i + cfg->final_trials < s.total)
                s.total = i + cfg->final_trials;
        }
    s.next = s.n;
    if (!rc)
        rc = run_trials(&s, budget);
    if (!rc)
        rc = write_state(&s, s.n >= s.total);
    if (!rc) {
        sparse_run *run;
        rc = sparse_run_open(&run, dir);
        if (!rc)
            rc = sparse_run_write_pareto_csv(run);
        char *svg = rc ? NULL : sparse__runlog_path(s.log, "pareto.svg");
        if (svg)
            rc = sparse_run_write_pareto_svg(run, svg);
        free(svg);
        sparse_run_free(run);
    }
    search_destroy(&s);
    pthread_cond_destroy(&s.finished);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

SPARSE_API int sparse_search_options_init(sparse_search_options *opts, unsigned version)
{
    SPARSE__CHECK_NULL(opts);
    if (version != SPARSE_SEARCH_OPTIONS_VERSION)
        return sparse__error(SPARSE_EVERSION, "sparse_search_options version %u (this library knows %u)",
                             version, SPARSE_SEARCH_OPTIONS_VERSION);
    sparse_search_options d = SPARSE_SEARCH_OPTIONS_INIT;
    *opts = d;
    return SPARSE_OK;
}

SPARSE_API int sparse_search_run(const sparse_search_config *cfg, const char *out_dir,
                                 const sparse_search_options *opts)
{
    SPARSE__CHECK_NULL(cfg);
    SPARSE__CHECK_NULL(out_dir);
    /* The loop reads the config only; the cast keeps one code path for
     * run and resume. */
    return search_loop((sparse_search_config *)cfg, out_dir, 1, opts);
}

SPARSE_API int sparse_search_resume(const char *dir, const sparse_search_options *opts)
{
    SPARSE__CHECK_NULL(dir);
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/config.yaml", dir);
    char *path = sparse__buf_detach(&b);
    if (!path)
        return SPARSE_ENOMEM;
    sparse_search_config *cfg;
    int rc = sparse_search_config_load(&cfg, path);
    free(path);
    if (rc)
        return sparse__error_prefix(rc, "resuming %s", dir);
    rc = search_loop(cfg, dir, 0, opts);
    sparse_search_config_free(cfg);
    return rc;
}
