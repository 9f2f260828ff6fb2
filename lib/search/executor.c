/* Trials trained by an executor (sparse/experimental.h): a trial's task
 * and its result as bytes, the scheduler's side (hand a prepared slot to
 * the executor, take a finished one back and keep its weights) and the
 * worker's side (a trainer: the data opened once, a task trained by
 * sparse__evaluate exactly as a threaded worker trains it).
 *
 * The bytes are the host's own layout (doubles and the genome copied as
 * they are), so a worker computes from bit-identical inputs and hands back
 * bit-identical figures: the records do not depend on where a trial ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/durable.h"
#include "../core/internal.h"
#include "loop.h"
#include "sparse/experimental.h"

#define TASK_MAGIC 0x53505854u   /* "SPXT" */
#define RESULT_MAGIC 0x53505852u /* "SPXR" */

/* ---- bytes ---- */

static int put(sparse__buf *b, const void *p, size_t n) { return sparse__buf_put(b, (const char *)p, n); }

static int put_u64(sparse__buf *b, uint64_t v) { return put(b, &v, sizeof v); }

static int put_string(sparse__buf *b, const char *s)
{
    uint64_t n = s ? strlen(s) + 1 : 0; /* 0: NULL */
    int rc = put_u64(b, n);
    return rc || !n ? rc : put(b, s, (size_t)n);
}

typedef struct reader {
    const unsigned char *p;
    size_t left;
    int bad;
} reader;

static void get(reader *r, void *dst, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v;
    get(r, &v, sizeof v);
    return v;
}

/* A fresh array of n doubles read from r (NULL for n 0 or on failure). */
static double *get_doubles(reader *r, uint64_t n, int *nomem)
{
    if (!n || r->bad)
        return NULL;
    if (n > r->left / sizeof(double)) {
        r->bad = 1;
        return NULL;
    }
    double *d = sparse__malloc((size_t)n * sizeof *d);
    if (!d)
        *nomem = 1;
    else
        get(r, d, (size_t)n * sizeof *d);
    return d;
}

static char *get_string(reader *r, int *nomem)
{
    uint64_t n = get_u64(r);
    if (!n || r->bad)
        return NULL;
    if (n > r->left || r->p[n - 1] != '\0') {
        r->bad = 1;
        return NULL;
    }
    char *s = sparse__malloc((size_t)n);
    if (!s)
        *nomem = 1;
    else
        get(r, s, (size_t)n);
    return s;
}

/* ---- the task: what a worker needs of a prepared slot ---- */

/* What the data must be on both sides: shape, classes and split sizes. */
static void data_key(const sparse__search *s, uint64_t key[8])
{
    key[0] = s->lay.nvars;
    key[1] = s->prob.channels;
    key[2] = s->prob.height;
    key[3] = s->prob.width;
    key[4] = s->prob.classes;
    key[5] = sparse_dataset_image_count(s->train);
    key[6] = sparse_dataset_image_count(s->val);
    key[7] = sparse_dataset_image_count(s->test);
}

static int encode_task(const sparse__search *s, const sparse__slot *sl, sparse__buf *b)
{
    uint64_t key[8];
    data_key(s, key);
    uint32_t head[2] = {TASK_MAGIC, (uint32_t)sl->stage};
    const sparse__stop_plan *st = &sl->stop;
    uint64_t ngain = st->gain ? 3 * st->epochs : 0;
    int ready = st->ready;
    int rc = put(b, head, sizeof head);
    if (!rc)
        rc = put(b, key, sizeof key);
    if (!rc)
        rc = put_u64(b, sl->t);
    if (!rc)
        rc = put_u64(b, sl->parent);
    if (!rc)
        rc = put(b, &sl->g, sizeof sl->g);
    if (!rc)
        rc = put(b, &sl->parent_g, sizeof sl->parent_g);
    if (!rc)
        rc = put(b, sl->point, s->lay.nvars * sizeof *sl->point);
    if (!rc)
        rc = put(b, sl->box, sizeof sl->box);
    if (!rc)
        rc = put(b, &st->bar, sizeof st->bar);
    if (!rc)
        rc = put_u64(b, st->epochs);
    if (!rc)
        rc = put(b, &st->half, sizeof st->half);
    if (!rc)
        rc = put(b, &ready, sizeof ready);
    if (!rc)
        rc = put_u64(b, ngain);
    if (!rc && ngain)
        rc = put(b, st->gain, (size_t)ngain * sizeof *st->gain);
    return rc;
}

/* The slot of a task; SPARSE_EINVAL if it was made with other data. */
static int decode_task(const sparse__search *s, const void *task, size_t len, sparse__slot *sl)
{
    reader r = {task, len, 0};
    uint32_t head[2];
    uint64_t key[8], want[8];
    int nomem = 0, ready = 0;
    memset(sl, 0, sizeof *sl);
    get(&r, head, sizeof head);
    get(&r, key, sizeof key);
    if (r.bad || head[0] != TASK_MAGIC)
        return sparse__error(SPARSE_EFORMAT, "sparse_exp_trainer_run: not a trial task (%zu bytes)", len);
    data_key(s, want);
    if (memcmp(key, want, sizeof key))
        return sparse__error(SPARSE_EINVAL,
                             "sparse_exp_trainer_run: the task was made with other data or another space "
                             "(%llu variables, %llux%llux%llu images, %llu classes, %llu/%llu/%llu images "
                             "train/val/test; here %llu, %llux%llux%llu, %llu, %llu/%llu/%llu)",
                             (unsigned long long)key[0], (unsigned long long)key[1], (unsigned long long)key[2],
                             (unsigned long long)key[3], (unsigned long long)key[4], (unsigned long long)key[5],
                             (unsigned long long)key[6], (unsigned long long)key[7], (unsigned long long)want[0],
                             (unsigned long long)want[1], (unsigned long long)want[2], (unsigned long long)want[3],
                             (unsigned long long)want[4], (unsigned long long)want[5], (unsigned long long)want[6],
                             (unsigned long long)want[7]);
    sl->stage = (int)head[1];
    sl->t = (size_t)get_u64(&r);
    sl->parent = (size_t)get_u64(&r);
    get(&r, &sl->g, sizeof sl->g);
    get(&r, &sl->parent_g, sizeof sl->parent_g);
    sl->point = get_doubles(&r, s->lay.nvars, &nomem);
    get(&r, sl->box, sizeof sl->box);
    get(&r, &sl->stop.bar, sizeof sl->stop.bar);
    sl->stop.epochs = (size_t)get_u64(&r);
    get(&r, &sl->stop.half, sizeof sl->stop.half);
    get(&r, &ready, sizeof ready);
    sl->stop.ready = ready;
    uint64_t ngain = get_u64(&r);
    if (!r.bad && ngain && ngain != 3 * (uint64_t)sl->stop.epochs)
        r.bad = 1;
    sl->stop.gain = get_doubles(&r, ngain, &nomem);
    if (!nomem && !r.bad && r.left)
        r.bad = 1;
    if (nomem || r.bad) {
        free(sl->point);
        sparse__stop_plan_free(&sl->stop);
        sl->point = NULL;
        return nomem ? SPARSE_ENOMEM
                     : sparse__error(SPARSE_EFORMAT, "sparse_exp_trainer_run: a trial task that does not read "
                                                     "(%zu bytes)", len);
    }
    return SPARSE_OK;
}

/* ---- the result: a slot's status and outcome ---- */

static int encode_result(const sparse__slot *sl, sparse__buf *b)
{
    sparse__outcome o = sl->o; /* the numbers; the pointers travel after them */
    o.arch_json = o.compact_json = NULL;
    o.curve = NULL;
    uint32_t head[2] = {RESULT_MAGIC, 0};
    int64_t rc64 = sl->rc;
    int rc = put(b, head, sizeof head);
    if (!rc)
        rc = put_u64(b, sl->t);
    if (!rc)
        rc = put(b, &rc64, sizeof rc64);
    if (!rc)
        rc = put_string(b, sl->error);
    if (!rc)
        rc = put(b, &o, sizeof o);
    if (!rc)
        rc = put_string(b, sl->o.arch_json);
    if (!rc)
        rc = put_string(b, sl->o.compact_json);
    if (!rc && sl->o.ncurve)
        rc = put(b, sl->o.curve, sl->o.ncurve * sizeof *sl->o.curve);
    return rc;
}

/* The result of trial sl->t into sl (its status, error and outcome). */
static int decode_result(sparse__slot *sl, const void *res, size_t len)
{
    reader r = {res, len, 0};
    uint32_t head[2];
    int64_t rc64 = 0;
    int nomem = 0;
    get(&r, head, sizeof head);
    uint64_t t = get_u64(&r);
    get(&r, &rc64, sizeof rc64);
    char *error = get_string(&r, &nomem);
    get(&r, &sl->o, sizeof sl->o);
    sl->o.arch_json = get_string(&r, &nomem);
    sl->o.compact_json = get_string(&r, &nomem);
    sl->o.curve = get_doubles(&r, sl->o.ncurve, &nomem);
    if (!nomem && (head[0] != RESULT_MAGIC || t != sl->t || r.left))
        r.bad = 1;
    sl->rc = (int)rc64;
    snprintf(sl->error, sizeof sl->error, "%s", error ? error : "");
    free(error);
    if (nomem || r.bad) {
        free(sl->o.arch_json);
        free(sl->o.compact_json);
        free(sl->o.curve);
        memset(&sl->o, 0, sizeof sl->o);
        return nomem ? SPARSE_ENOMEM
                     : sparse__error(SPARSE_EFORMAT, "the executor's result for trial %zu does not read (%zu bytes)",
                                     sl->t, len);
    }
    return SPARSE_OK;
}

/* ---- the scheduler's side ---- */

int sparse__exec_start(sparse__search *s, sparse__slot *sl)
{
    sparse__buf b = SPARSE__BUF_INIT;
    char *parent = NULL;
    int rc = encode_task(s, sl, &b);
    if (!rc && sl->parent != SPARSE__NO_PARENT && !(parent = sparse__runlog_weights_path(s->log, sl->parent)))
        rc = SPARSE_ENOMEM;
    if (!rc) {
        sparse_exp_trial_job job = {sl->t, b.data, b.len, parent};
        if ((rc = s->ex->start(s->ex->user, &job)))
            rc = sparse__error(rc, "the executor could not start trial %zu", sl->t);
    }
    free(parent);
    sparse__buf_free(&b);
    return rc;
}

/* Keeps the weights a finished trial came with as the run's file. */
static int keep_weights(const sparse__search *s, const sparse__slot *sl, const void *w, size_t wlen)
{
    if (!sl->o.ok)
        return SPARSE_OK;
    if (!wlen)
        return sparse__error(SPARSE_EIO, "the executor returned no weights for trial %zu", sl->t);
    char *path = sparse__runlog_weights_path(s->log, sl->t);
    int rc = path ? sparse__replace_file(path, w, wlen) : SPARSE_ENOMEM;
    free(path);
    return rc;
}

int sparse__exec_collect(sparse__search *s)
{
    size_t t = 0, rlen = 0, wlen = 0;
    const void *res = NULL, *w = NULL;
    int rc = s->ex->wait(s->ex->user, &t, &res, &rlen, &w, &wlen);
    if (rc)
        return sparse__error(rc, "the executor failed while waiting for the next finished trial");
    sparse__slot *sl = NULL;
    for (size_t i = 0; i <= s->lag && !sl; i++)
        if (s->slots[i].busy && !s->slots[i].done && s->slots[i].t == t)
            sl = &s->slots[i];
    if (!sl)
        return sparse__error(SPARSE_EINVAL, "the executor returned trial %zu, which is not in flight", t);
    if ((rc = decode_result(sl, res, rlen)))
        return rc;
    if (!sl->rc && (sl->rc = keep_weights(s, sl, w, wlen)))
        snprintf(sl->error, sizeof sl->error, "%s", sparse_last_error());
    pthread_mutex_lock(&s->lock);
    sl->seconds = sparse__now_s() - sl->start;
    sl->done = 1;
    s->completions++;
    pthread_mutex_unlock(&s->lock);
    return SPARSE_OK;
}

/* ---- the worker's side ---- */

struct sparse_exp_trainer {
    sparse__search s;         /* the parts sparse__evaluate reads: config, space, data */
    sparse_search_config cfg; /* the caller's, with the options' seed */
};

SPARSE_API int sparse_exp_trainer_create(sparse_exp_trainer **out, const sparse_search_config *cfg,
                                         const sparse_search_options *opts, size_t workers)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(cfg);
    sparse_search_options o;
    int rc = sparse__search_options_read(&o, opts, "sparse_exp_trainer_create");
    if (!rc && (workers < 1 || workers > 64))
        rc = sparse__error(SPARSE_EINVAL, "sparse_exp_trainer_create: %zu workers (1..64)", workers);
    sparse_exp_trainer *tr = rc ? NULL : sparse__calloc(1, sizeof *tr);
    if (!tr)
        return rc ? rc : SPARSE_ENOMEM;
    tr->cfg = *cfg; /* shallow: cfg outlives the trainer */
    if (o.seed >= 0)
        tr->cfg.seed = (uint64_t)o.seed;
    int threads = o.threads > 0 ? o.threads : cfg->threads;
    rc = sparse_set_thread_count(threads > (int)workers ? threads / (int)workers : 1);
    sparse__search *s = &tr->s;
    s->cfg = &tr->cfg;
    if (!rc)
        rc = sparse__layout_create(&s->lay, s->cfg);
    if (!rc)
        rc = sparse__open_data(s->cfg, o.data_override, &s->train, &s->val, &s->test);
    if (!rc) {
        s->prob = sparse__problem_of(s->cfg, &s->lay, s->train);
        *out = tr;
    } else {
        sparse_exp_trainer_free(tr);
    }
    return rc;
}

SPARSE_API void sparse_exp_trainer_free(sparse_exp_trainer *tr)
{
    if (!tr)
        return;
    sparse_dataset_free(tr->s.train);
    sparse_dataset_free(tr->s.val);
    sparse_dataset_free(tr->s.test);
    sparse__layout_destroy(&tr->s.lay);
    free(tr);
}

SPARSE_API int sparse_exp_trainer_run(sparse_exp_trainer *tr, const void *task, size_t task_len,
                                      const char *parent_weights, const char *weights_out, void **result,
                                      size_t *result_len)
{
    SPARSE__CHECK_NULL(result);
    *result = NULL;
    SPARSE__CHECK_NULL(tr);
    SPARSE__CHECK_NULL(task);
    SPARSE__CHECK_NULL(weights_out);
    SPARSE__CHECK_NULL(result_len);
    sparse__slot sl;
    int rc = decode_task(&tr->s, task, task_len, &sl);
    if (rc)
        return rc;
    if (sl.parent != SPARSE__NO_PARENT && !parent_weights) {
        rc = sparse__error(SPARSE_EINVAL, "sparse_exp_trainer_run: trial %zu inherits from trial %zu: its "
                                          "weights file is needed", sl.t, sl.parent);
    } else {
        sl.s = &tr->s;
        sl.parent_file = parent_weights;
        sl.weights_file = weights_out;
        (void)unlink(weights_out); /* a file there after the call is this trial's */
        sl.rc = sparse__evaluate(&tr->s, &sl, NULL);
        if (sl.rc)
            snprintf(sl.error, sizeof sl.error, "%s", sparse_last_error());
        sparse__buf b = SPARSE__BUF_INIT;
        rc = encode_result(&sl, &b);
        *result_len = b.len;
        *result = rc ? NULL : sparse__buf_detach(&b);
        sparse__buf_free(&b);
        if (!rc && !*result)
            rc = SPARSE_ENOMEM;
    }
    free(sl.point);
    free(sl.o.arch_json);
    free(sl.o.compact_json);
    free(sl.o.curve);
    sparse__stop_plan_free(&sl.stop);
    return rc;
}
