/* The executor interface (sparse/experimental.h) with an executor in the
 * test's own process: tasks queued by start, trained by a trainer in wait,
 * the newest first (so trials finish out of order). Its records must be
 * those of the threaded run with the same workers; bad executors, tasks
 * and data are refused with the error the header promises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "tiny_run.h"

typedef struct queued {
    size_t trial;
    unsigned char *task;
    size_t len;
    char *parent;
} queued;

typedef struct local_ex {
    sparse_exp_trainer *tr;
    queued q[8];
    size_t n, started, fail_start_at;
    char weights_out[700];
    unsigned char *task0; /* a copy of the first task, for the refusal tests */
    size_t task0_len;
    void *result;
    char *weights;
    size_t weights_len;
} local_ex;

static int local_start(void *user, const sparse_exp_trial_job *job)
{
    local_ex *ex = user;
    if (ex->started++ == ex->fail_start_at)
        return SPARSE_EIO;
    assert_true(ex->n < 8);
    queued *q = &ex->q[ex->n++];
    q->trial = job->trial;
    q->len = job->task_len;
    q->task = malloc(job->task_len);
    memcpy(q->task, job->task, job->task_len);
    q->parent = job->parent_weights ? strdup(job->parent_weights) : NULL;
    if (!ex->task0) {
        ex->task0 = malloc(job->task_len);
        memcpy(ex->task0, job->task, job->task_len);
        ex->task0_len = job->task_len;
    }
    return SPARSE_OK;
}

static int local_wait(void *user, size_t *trial, const void **result, size_t *result_len, const void **weights,
                      size_t *weights_len)
{
    local_ex *ex = user;
    assert_true(ex->n > 0);
    queued q = ex->q[--ex->n]; /* the newest: trials finish out of order */
    sparse_free(ex->result);
    free(ex->weights);
    ex->result = NULL;
    ex->weights = NULL;
    ex->weights_len = 0;
    assert_int_equal(sparse_exp_trainer_run(ex->tr, q.task, q.len, q.parent, ex->weights_out, &ex->result,
                                            result_len),
                     SPARSE_OK);
    if (access(ex->weights_out, F_OK) == 0) {
        ex->weights = read_all(ex->weights_out);
        FILE *f = fopen(ex->weights_out, "rb");
        fseek(f, 0, SEEK_END);
        ex->weights_len = (size_t)ftell(f);
        fclose(f);
    }
    *trial = q.trial;
    *result = ex->result;
    *weights = ex->weights;
    *weights_len = ex->weights_len;
    free(q.task);
    free(q.parent);
    return SPARSE_OK;
}

static void local_free(local_ex *ex)
{
    while (ex->n) {
        ex->n--;
        free(ex->q[ex->n].task);
        free(ex->q[ex->n].parent);
    }
    sparse_exp_trainer_free(ex->tr);
    sparse_free(ex->result);
    free(ex->weights);
    free(ex->task0);
}

static sparse_search_config *parse(const char *text)
{
    sparse_search_config *c = NULL;
    assert_int_equal(sparse_search_config_parse(&c, text, strlen(text), "test.yaml"), SPARSE_OK);
    return c;
}

/* An executor of `workers` in this process for the searches of c, its
 * trainer writing weights under tmp (ex: its state, for local_free). */
static sparse_exp_executor local_executor(local_ex *ex, const sparse_search_config *c, const char *tmp,
                                          size_t workers)
{
    memset(ex, 0, sizeof *ex);
    ex->fail_start_at = SIZE_MAX;
    snprintf(ex->weights_out, sizeof ex->weights_out, "%s/w.safetensors", tmp);
    assert_int_equal(sparse_exp_trainer_create(&ex->tr, c, NULL, workers), SPARSE_OK);
    sparse_exp_executor e = {SPARSE_EXP_EXECUTOR_VERSION, workers, ex, local_start, local_wait};
    return e;
}

/* Stops a search after its third record (a resume goes on from there). */
static int stop_after_3(void *user, const sparse_trial_event *ev)
{
    (void)user;
    return ev->trial >= 2;
}

/* tiny_config with threads and workers set. */
static char *config_with(const char *base, int threads, int workers)
{
    const char *at = strstr(base, "threads: 1\n");
    assert_non_null(at);
    size_t n = strlen(base) + 64;
    char *c = malloc(n);
    snprintf(c, n, "%.*sthreads: %d\nworkers: %d\n%s", (int)(at - base), base, threads, workers,
             at + strlen("threads: 1\n"));
    return c;
}

static void test_executor_records_as_threads(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp), *base = tiny_config(csv);
    char *two = config_with(base, 2, 2), *one = config_with(base, 2, 1);
    char thr[700], exr[700], part[700], cy[800];
    snprintf(thr, sizeof thr, "%s/threads", tmp);
    snprintf(exr, sizeof exr, "%s/executor", tmp);
    snprintf(part, sizeof part, "%s/part", tmp);
    sparse_search_config *c2 = parse(two), *c1 = parse(one);
    assert_int_equal(sparse_search_run(c2, thr, NULL), SPARSE_OK);

    /* The executor's worker count replaces the config's (1 here). */
    local_ex ex;
    sparse_exp_executor e = local_executor(&ex, c1, tmp, 2);
    assert_int_equal(sparse_exp_search_run(c1, exr, NULL, &e), SPARSE_OK);
    char *a = records_of(thr), *b = records_of(exr);
    assert_string_equal(a, b);
    assert_true(count_lines(strcat(strcpy(cy, exr), "/trials.jsonl")) >= 8);
    char *yaml = read_all(strcat(strcpy(cy, exr), "/config.yaml"));
    assert_non_null(strstr(yaml, "workers: 2"));
    free(yaml);

    /* Started in threads, stopped after 3 records, resumed by the executor;
     * then an executor whose start fails: the error, and a resume ends it. */
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.on_trial = stop_after_3;
    assert_int_equal(sparse_search_run(c2, part, &o), SPARSE_ECANCELLED);
    ex.fail_start_at = ex.started + 2;
    assert_int_equal(sparse_exp_search_resume(part, NULL, &e), SPARSE_EIO);
    assert_non_null(strstr(sparse_last_error(), "could not start trial"));
    ex.fail_start_at = SIZE_MAX;
    assert_int_equal(sparse_exp_search_resume(part, NULL, &e), SPARSE_OK);
    char *p = records_of(part);
    assert_string_equal(a, p);
    free(p);
    free(a);
    free(b);
    local_free(&ex);
    sparse_search_config_free(c1);
    sparse_search_config_free(c2);
    free(one);
    free(two);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

/* A final SpVD network fitted into its box (test_stages.c) travels with
 * its box to the worker and back with its thresholds: the records are the
 * threaded run's. */
static void test_executor_fits_final_box(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp), *loose = growing_final_config(csv, "", 2000, 2000);
    char dir[700], thr[700], exr[700];
    snprintf(dir, sizeof dir, "%s/loose", tmp);
    snprintf(thr, sizeof thr, "%s/threads", tmp);
    snprintf(exr, sizeof exr, "%s/executor", tmp);
    run_search(loose, dir, 0);
    double ms, wm;
    parent_sizes(dir, 8, &ms, &wm);
    char *tight = growing_final_config(csv, "", ms, 2000);
    sparse_search_config *c = parse(tight);
    assert_int_equal(sparse_search_run(c, thr, NULL), SPARSE_OK);
    local_ex ex;
    sparse_exp_executor e = local_executor(&ex, c, tmp, 1);
    assert_int_equal(sparse_exp_search_run(c, exr, NULL, &e), SPARSE_OK);
    char *a = records_of(thr), *b = records_of(exr), *rec = line_of(b, 8);
    assert_string_equal(a, b);
    assert_non_null(strstr(rec, "\"threshold_offset\":"));
    free(rec);
    free(a);
    free(b);
    local_free(&ex);
    sparse_search_config_free(c);
    free(tight);
    free(loose);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

static void test_executor_refusals(void **state)
{
    (void)state;
    char *tmp = make_tmpdir(), *csv = write_tiny_csv(tmp), *base = tiny_config(csv);
    char run[700];
    snprintf(run, sizeof run, "%s/run", tmp);
    sparse_search_config *c = parse(base);
    local_ex ex = {.fail_start_at = SIZE_MAX};
    snprintf(ex.weights_out, sizeof ex.weights_out, "%s/w.safetensors", tmp);
    assert_int_equal(sparse_exp_trainer_create(&ex.tr, c, NULL, 1), SPARSE_OK);
    sparse_exp_executor e = {99, 1, &ex, local_start, local_wait};
    assert_int_equal(sparse_exp_search_run(c, run, NULL, &e), SPARSE_EVERSION);
    e.version = SPARSE_EXP_EXECUTOR_VERSION;
    e.workers = 0;
    assert_int_equal(sparse_exp_search_run(c, run, NULL, &e), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "1..64 workers"));
    e.workers = 1;
    e.wait = NULL;
    assert_int_equal(sparse_exp_search_run(c, run, NULL, &e), SPARSE_EINVAL);
    e.wait = local_wait;
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = 1;
    assert_int_equal(sparse_exp_search_run(c, run, &o, &e), SPARSE_OK);
    assert_non_null(ex.task0);

    void *res = NULL;
    size_t len = 0;
    assert_int_equal(sparse_exp_trainer_run(ex.tr, ex.task0, ex.task0_len - 1, NULL, ex.weights_out, &res, &len),
                     SPARSE_EFORMAT);
    assert_int_equal(sparse_exp_trainer_run(ex.tr, "garbage", 7, NULL, ex.weights_out, &res, &len), SPARSE_EFORMAT);
    assert_null(res);
    /* The same space on other data (a different validation count). */
    char *changed = strdup(base);
    char *vc = strstr(changed, "val_count: ");
    assert_non_null(vc);
    vc[strlen("val_count: ")] = vc[strlen("val_count: ")] == '9' ? '8' : '9';
    sparse_search_config *c_other = parse(changed);
    sparse_exp_trainer *tr = NULL;
    assert_int_equal(sparse_exp_trainer_create(&tr, c_other, NULL, 1), SPARSE_OK);
    assert_int_equal(sparse_exp_trainer_run(tr, ex.task0, ex.task0_len, NULL, ex.weights_out, &res, &len),
                     SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "other data"));
    sparse_exp_trainer_free(tr);
    assert_int_equal(sparse_exp_trainer_create(&tr, c_other, NULL, 0), SPARSE_EINVAL);
    assert_null(tr);
    sparse_exp_trainer_free(NULL);
    local_free(&ex);
    sparse_search_config_free(c_other);
    sparse_search_config_free(c);
    free(changed);
    free(base);
    free(csv);
    rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_executor_records_as_threads),
        cmocka_unit_test(test_executor_refusals),
        cmocka_unit_test(test_executor_fits_final_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
