/* The scheduler: starts trials in order as slots free up (one slot, on the
 * calling thread, with one worker; a thread per trial with several; or
 * handed to an executor, executor.c),
 * proposes each from the trials it may see, and records them in trial
 * order as they finish, one waiting in memory if it finished before an
 * earlier one.
 *
 * With workers > 1, trial t is proposed from trials 0..t-1-lag only
 * (lag = 2 (workers - 1)), which are recorded whatever the timing, so the
 * records stay the same for a seed, a thread count and a worker count. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/internal.h"
#include "loop.h"

double sparse__now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int stage_of(const sparse__search *s, size_t t)
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

static sparse__slot *slot_of(const sparse__search *s, size_t t)
{
    for (size_t i = 0; i <= s->lag; i++)
        if (s->slots[i].busy && s->slots[i].t == t)
            return &s->slots[i];
    return NULL;
}

const double *sparse__point_of(const sparse__search *s, size_t t)
{
    const sparse__slot *sl = t < s->n ? NULL : slot_of(s, t);
    return sl ? sl->point : s->trials[t].point;
}

size_t sparse__parent_of(const sparse__search *s, size_t t)
{
    const sparse__slot *sl = t < s->n ? NULL : slot_of(s, t);
    return sl ? sl->parent : s->trials[t].parent;
}

/* Runs in the workers: the user's callback hears of the oldest trial in
 * flight only, one call at a time; a cancellation stops every trial. */
static int progress_cb(void *user, size_t epoch, size_t batch, size_t per_epoch, double loss,
                       double images_per_s)
{
    (void)images_per_s;
    sparse__slot *sl = user;
    sparse__search *s = sl->s;
    pthread_mutex_lock(&s->lock);
    if (!s->cancel && s->opts->on_progress && sl->t == s->oldest &&
        s->opts->on_progress(s->opts->user, sl->t, epoch, batch, per_epoch, loss))
        s->cancel = 1;
    int stop = s->cancel;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* Seconds the run still needs after its last trial: the search trials left
 * at the mean time of those so far, the final ones at the mean of those
 * done, or before the first at sparse__final_estimate (a final trial trains
 * several times longer than a searched one), shared among the workers. */
static double time_left(sparse__search *s)
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
    else if (final_left && !sparse__final_estimate(s, &est))
        left += est * (double)final_left / (double)s->cfg->final_trials;
    sparse_clear_error();
    return left;
}

/* Proposes trial s->next into sl from the trials it may see; in the final
 * stage it trains final_of again, widened for box. */
static int prepare_trial(sparse__search *s, sparse__slot *sl, size_t hist, size_t final_of, size_t box)
{
    size_t t = s->next;
    memset(sl, 0, sizeof *sl);
    sl->s = s;
    sl->t = t;
    sl->stage = stage_of(s, t);
    sl->start = sparse__now_s();
    sl->parent = SPARSE__NO_PARENT;
    sparse_rng *rng = NULL;
    if (!(sl->point = sparse__malloc(s->lay.nvars * sizeof *sl->point)))
        return SPARSE_ENOMEM;
    int rc = sparse_rng_create_stream(&rng, s->cfg->seed, t);
    if (!rc && sl->stage == 4) {
        sl->parent = final_of;
        sparse__final_box(s->cfg, box, &sl->box[0], &sl->box[1]);
        memcpy(sl->point, s->trials[final_of].point, s->lay.nvars * sizeof *sl->point);
        snprintf(sl->how, sizeof sl->how, "final");
        static const char *const morphs[4] = {"retrain", "widen+retrain", "dense+retrain",
                                              "dense+widen+retrain"}; /* by SPARSE__FILLED_* */
        snprintf(sl->morph, sizeof sl->morph, "%s",
                 morphs[sparse__fill_box(&s->prob, &s->trials[final_of], box, sl->point)]);
    } else if (!rc) {
        rc = sparse__propose(s, sl, hist, rng);
    }
    sparse_rng_free(rng);
    if (!rc) {
        sparse__genome_decode(&s->lay, s->cfg, sl->point, &sl->g);
        if (sl->parent != SPARSE__NO_PARENT)
            sparse__genome_decode(&s->lay, s->cfg, s->trials[sl->parent].point, &sl->parent_g);
        if (sl->stage == 4) {
            sl->g.epochs = (int)s->cfg->final_epochs;
            sl->g.shift = (int)s->cfg->final_shift;
        }
        /* A final trial is the one worth its epochs: it never stops early. */
        rc = sl->stage == 4 ? SPARSE_OK : sparse__stop_plan_make(&s->prob, s->trials, hist, sl->point, &sl->g, &sl->stop);
    }
    if (!rc) {
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
    sparse__slot *sl = arg;
    sparse__search *s = sl->s;
    int rc = sparse__evaluate(s, sl, progress_cb);
    if (rc)
        snprintf(sl->error, sizeof sl->error, "%s", sparse_last_error());
    pthread_mutex_lock(&s->lock);
    sl->rc = rc;
    sl->seconds = sparse__now_s() - sl->start;
    sl->done = 1;
    s->completions++;
    pthread_cond_signal(&s->finished);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Waits for the slot's worker thread to end (there is one with workers > 1). */
static void join_worker(const sparse__search *s, sparse__slot *sl)
{
    if (s->workers > 1 && !s->ex)
        pthread_join(sl->thread, NULL);
}

static void release_slot(sparse__slot *sl)
{
    free(sl->point);
    free(sl->o.arch_json);
    free(sl->o.compact_json);
    free(sl->o.curve);
    sparse__stop_plan_free(&sl->stop);
    sl->point = sl->o.curve = NULL;
    sl->o.arch_json = sl->o.compact_json = NULL;
    sl->busy = 0;
}

/* Tells the trial callback of the trial just recorded (record rec). */
static int report_trial(sparse__search *s, const sparse__slot *sl, const char *rec)
{
    const sparse__outcome *o = &sl->o;
    const size_t t = sl->t;
    double elapsed = sparse__now_s() - s->t0;
    sparse_trial_event ev = {SPARSE_TRIAL_EVENT_VERSION,
                             t,
                             s->total,
                             sl->stage,
                             o->ok,
                             o->val_acc,
                             o->ms,
                             s->cfg->wm_model == 6 ? o->wm6 : o->wm5,
                             sparse__best_feasible(s),
                             elapsed,
                             -1.0,
                             rec};
    if (s->total > t + 1)
        ev.remaining_s = time_left(s);
    if (s->budget_s > 0 && ev.remaining_s > s->budget_s - elapsed)
        ev.remaining_s = s->budget_s - elapsed > 0 ? s->budget_s - elapsed : 0;
    if (s->opts->on_trial(s->opts->user, &ev))
        return sparse__error(SPARSE_ECANCELLED, "search stopped by the trial callback after trial %zu", t);
    return SPARSE_OK;
}

/* Appends the record of the trained trial s->n (in sl) and reports it. */
static int record_trial(sparse__search *s, sparse__slot *sl)
{
    size_t t = sl->t;
    int rc = sl->rc ? sparse__error(sl->rc, "%s", sl->error) : SPARSE_OK;
    const sparse__outcome *o = &sl->o;
    char *rec = NULL;
    /* A final network fitted into its box records the thresholds it was
     * measured with (the worker lowered a copy of this point alike). */
    if (!rc && o->ok && o->threshold_offset > 0)
        sparse__shift_thresholds(&s->lay, s->cfg, sl->point, &sl->g, o->threshold_offset);
    if (!rc) {
        rec = sparse__trial_record(s->cfg, s->lay.nvars, t, sl->stage, sl->parent, sl->how, sl->morph,
                                   sl->point, &sl->g, o, sl->seconds);
        rc = rec ? sparse__runlog_append(s->log, rec) : SPARSE_ENOMEM;
    }
    if (rc) {
        free(rec);
        release_slot(sl);
        return sparse__error_prefix(rc, "trial %zu", t);
    }
    sparse__trial tr = {.id = t,
                        .stage = sl->stage,
                        .parent = sl->parent,
                        .ok = o->ok,
                        .feasible = o->ok && sparse__feasible(s->cfg, o->ms, o->wm5, o->wm6, o->arena),
                        .point = sl->point,
                        .val_acc = o->val_acc,
                        .test_acc = o->test_acc,
                        .int8_test_acc = o->int8_test_acc,
                        .ms = o->ms,
                        .wm5 = o->wm5,
                        .wm6 = o->wm6,
                        .params = o->params,
                        .flash = o->ok ? o->flash : -1,
                        .arena = o->ok ? o->arena : -1,
                        .val_se = o->val_se,
                        .seconds = sl->seconds,
                        .epochs = o->partial ? (double)o->epochs_done : sl->g.epochs,
                        .planned_epochs = sl->g.epochs,
                        .partial = o->partial,
                        .pred_acc = o->partial ? o->pred_acc : -1,
                        .pred_log_sd = o->partial ? o->pred_log_sd : -1,
                        .curve = o->curve,
                        .ncurve = o->ncurve,
                        .post_acc = -1,
                        .post_sd = -1};
    rc = sparse__keep_trial(s, &tr);
    if (!rc)
        sl->point = sl->o.curve = NULL; /* the trial's now */
    if (!rc)
        rc = sparse__write_state(s, 0);
    if (!rc)
        rc = sparse__write_report(s, sl->stage);
    if (!rc && s->opts->on_trial)
        rc = report_trial(s, sl, rec);
    free(rec);
    release_slot(sl);
    return rc;
}

/* The trials trial t may see: all before it but the last lag; a final
 * trial sees every searched one. */
static size_t history_of(const sparse__search *s, size_t t)
{
    if (t >= s->final_from)
        return s->final_from;
    return t > s->lag ? t - s->lag : 0;
}

/* Starts trial s->next if it can start now: 1 if it did, 0 if it must wait
 * for earlier trials, -1 if the run starts no more trials. */
static int start_next(sparse__search *s, double budget, int *rc)
{
    sparse__slot *free_slot = NULL;
    for (size_t i = 0; i <= s->lag && !free_slot; i++)
        if (!s->slots[i].busy)
            free_slot = &s->slots[i];
    if (s->next >= s->total)
        return -1;
    double elapsed = sparse__now_s() - s->t0;
    if (budget > 0 && elapsed >= budget)
        return -1;
    if ((*rc = sparse__plan_final(s, elapsed, budget)))
        return -1;
    size_t hist = history_of(s, s->next);
    if (!free_slot || hist > s->n)
        return 0;
    size_t final_of = SPARSE__NO_PARENT, box = 0;
    if (s->next >= s->final_from) {
        if ((*rc = sparse__final_parent(s, s->next, &final_of, &box)))
            return -1;
        if (final_of == SPARSE__NO_PARENT) { /* every box spent */
            s->total = s->next;
            return -1;
        }
    }
    if ((*rc = prepare_trial(s, free_slot, hist, final_of, box)))
        return -1;
    if (s->ex) {
        if ((*rc = sparse__exec_start(s, free_slot))) {
            release_slot(free_slot);
            s->next--;
            return -1;
        }
        return 1;
    }
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
int sparse__run_trials(sparse__search *s, double budget)
{
    int rc = SPARSE_OK, starting = 1;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (rc)
            s->cancel = 1;
        s->oldest = s->n;
        sparse__slot *sl = slot_of(s, s->n);
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
        if (s->ex) {
            /* An executor may train in this thread (calling the library),
             * which would overwrite the message of an error already met. */
            char *met = rc ? sparse__strdup(sparse_last_error()) : NULL;
            int wrc = sparse__exec_collect(s);
            if (met)
                sparse__error(rc, "%s", met);
            free(met);
            if (wrc && !rc)
                rc = wrc;
            if (wrc) /* the executor itself failed: nothing more comes back */
                break;
            continue;
        }
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
