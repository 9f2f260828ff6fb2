/* The run store end to end (issue 21): one writer per run directory, a
 * damaged trials.jsonl never cut silently nor read by position, a resume
 * that refuses another config or missing records, and a torn last line cut
 * with a copy kept. Every damaged run is a copy of one reference search
 * (8 trials), whose records a resume must reproduce exactly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "sparse/sparse.h"
#include "tiny_run.h"
#include "../expect.h"

extern const struct CMUnitTest runstore_tests[];
extern const size_t runstore_test_count;
int runstore_setup(void **state);
int runstore_teardown(void **state);

/* The reference search, run once for the group. */
typedef struct reference {
    char *tmp, *csv, *cfg;
    char full[600];
    char *records; /* seconds stripped */
} reference;

int runstore_setup(void **state)
{
    reference *r = calloc(1, sizeof *r);
    r->tmp = make_tmpdir();
    r->csv = write_tiny_csv(r->tmp);
    r->cfg = tiny_config(r->csv);
    snprintf(r->full, sizeof r->full, "%s/full", r->tmp);
    sparse_search_config *c;
    int rc = sparse_search_config_parse(&c, r->cfg, strlen(r->cfg), "tiny.yaml");
    if (!rc)
        rc = sparse_search_run(c, r->full, NULL);
    sparse_search_config_free(c);
    if (rc) {
        fprintf(stderr, "reference search: %s\n", sparse_last_error());
        return -1;
    }
    r->records = records_of(r->full);
    *state = r;
    return 0;
}

int runstore_teardown(void **state)
{
    reference *r = *state;
    rm_rf(r->tmp);
    free(r->tmp);
    free(r->csv);
    free(r->cfg);
    free(r->records);
    free(r);
    return 0;
}

/* A copy of the reference run called name, cut to its first `keep` records
 * (and state.json to match) when keep < 8. */
static void copy_run(const reference *r, const char *name, size_t keep, char *dir, size_t cap)
{
    char cmd[2400], path[800];
    snprintf(dir, cap, "%s/%s", r->tmp, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dir, r->full, dir);
    assert_int_equal(system(cmd), 0);
    if (keep >= 8)
        return;
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    char *text = read_all(path), *end = text;
    for (size_t i = 0; i < keep; i++)
        end = strchr(end, '\n') + 1;
    *end = '\0';
    write_text(path, text);
    free(text);
    rewind_state(dir, keep);
}

static int resume(const char *dir)
{
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    return sparse_search_resume(dir, &o);
}

/* A resume of dir fails with code and a message holding needle, and leaves
 * trials.jsonl byte for byte as it was. */
static void expect_refused(const char *dir, int code, const char *needle)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    char *before = read_all(path);
    int rc = resume(dir);
    if (rc != code || !strstr(sparse_last_error(), needle))
        fprintf(stderr, "resume %s: %d '%s', expected %d '%s'\n", dir, rc, sparse_last_error(), code, needle);
    assert_int_equal(rc, code);
    assert_non_null(strstr(sparse_last_error(), needle));
    char *after = read_all(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void expect_records(const reference *r, const char *dir)
{
    char *got = records_of(dir);
    assert_string_equal(got, r->records);
    free(got);
}

/* ---- one writer per run directory ---- */

/* The child's on_trial: after trial 2, tells the parent (fds[0]) and waits
 * for its word (fds[1]). */
typedef struct handshake {
    int ready, go;
} handshake;

static int pause_after_trial_2(void *user, const sparse_trial_event *ev)
{
    const handshake *h = user;
    char c = 'x';
    if (ev->trial == 2 && (write(h->ready, &c, 1) != 1 || read(h->go, &c, 1) != 1))
        return 1;
    return 0;
}

/* Forks a search of the reference config into dir that stops after trial
 * 2 until told to go on (*go_fd); returns its pid once it is there. */
static pid_t start_paused(const reference *r, const char *dir, int *go_fd)
{
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        handshake h = {ready[1], go[0]};
        sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
        o.on_trial = pause_after_trial_2;
        o.user = &h;
        sparse_search_config *c;
        int rc = sparse_search_config_parse(&c, r->cfg, strlen(r->cfg), "tiny.yaml");
        if (!rc)
            rc = sparse_search_run(c, dir, &o);
        _exit(rc ? 1 : 0);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *go_fd = go[1];
    return pid;
}

/* A second resume (or search) on a directory in use is refused, naming it
 * and the holder's pid, while readers read; the first goes on to the same
 * records as an uninterrupted run. Killed with SIGKILL instead, the lock
 * goes with it and a resume finishes the run, again with those records. */
static void test_second_writer_is_refused(void **state)
{
    const reference *r = *state;
    for (int kill_first = 0; kill_first < 2; kill_first++) {
        char dir[700], pid_text[40];
        snprintf(dir, sizeof dir, "%s/busy%d", r->tmp, kill_first);
        int go;
        pid_t pid = start_paused(r, dir, &go);
        assert_int_equal(resume(dir), SPARSE_EIO);
        snprintf(pid_text, sizeof pid_text, "in use by process %ld", (long)pid);
        assert_non_null(strstr(sparse_last_error(), pid_text));
        assert_non_null(strstr(sparse_last_error(), dir));
        sparse_search_config *c;
        assert_int_equal(sparse_search_config_parse(&c, r->cfg, strlen(r->cfg), "tiny.yaml"), SPARSE_OK);
        assert_int_equal(sparse_search_run(c, dir, NULL), SPARSE_EIO);
        assert_non_null(strstr(sparse_last_error(), pid_text));
        sparse_search_config_free(c);
        sparse_run *run;
        assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
        assert_int_equal(sparse_run_trial_count(run), 3);
        assert_int_equal(sparse_run_warning_count(run), 0);
        sparse_run_free(run);
        int status;
        if (kill_first) {
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            assert_true(WIFSIGNALED(status));
            assert_int_equal(resume(dir), SPARSE_OK);
        } else {
            assert_int_equal(write(go, "x", 1), 1);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        close(go);
        expect_records(r, dir);
    }
}

/* ---- a damaged trials.jsonl ---- */

/* Replaces line `line` (1-based) of dir's trials.jsonl with text (NULL:
 * removes it). */
static void damage_line(const char *dir, size_t line, const char *text)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    char *all = read_all(path), *start = all;
    for (size_t i = 1; i < line; i++)
        start = strchr(start, '\n') + 1;
    char *end = strchr(start, '\n') + 1;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(all, 1, (size_t)(start - all), f);
    if (text)
        fprintf(f, "%s\n", text);
    fputs(end, f);
    assert_int_equal(fclose(f), 0);
    free(all);
}

/* Trial id's figure and record in the run of dir agree with the
 * reference's. */
static void expect_same_trial(const sparse_run *damaged, const sparse_run *full, size_t id)
{
    for (int field = SPARSE_TRIAL_OK; field <= SPARSE_TRIAL_INT8_TEST_ACCURACY; field++) {
        double a, b;
        assert_int_equal(sparse_run_trial_value(damaged, id, field, &a), SPARSE_OK);
        assert_int_equal(sparse_run_trial_value(full, id, field, &b), SPARSE_OK);
        if (field != SPARSE_TRIAL_SECONDS)
            assert_true(a == b);
    }
    assert_string_equal(sparse_run_trial_json(damaged, id), sparse_run_trial_json(full, id));
}

/* A bad line in the middle (garbage, or a line gone) stops a resume with
 * its line and leaves the file as it was; the run view skips it, warns with
 * its line, and still gives every other trial by its id, network included. */
static void test_damaged_log_is_refused_and_read_by_id(void **state)
{
    const reference *r = *state;
    sparse_run *full;
    assert_int_equal(sparse_run_open(&full, r->full), SPARSE_OK);
    for (int gone = 0; gone < 2; gone++) {
        char dir[700];
        copy_run(r, gone ? "gone" : "garbage", 8, dir, sizeof dir);
        damage_line(dir, 4, gone ? NULL : "garbage \x01 here");
        expect_refused(dir, SPARSE_EFORMAT,
                       gone ? "state.json says 8 trials are done" : "trials.jsonl:4: not");

        sparse_run *run;
        assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
        assert_int_equal(sparse_run_trial_count(run), 7);
        size_t id, line = 99;
        assert_int_equal(sparse_run_trial_id(run, 3, &id), SPARSE_OK);
        assert_int_equal(id, 4);
        assert_int_equal(sparse_run_trial_id(run, 7, &id), SPARSE_ERANGE);
        assert_true(sparse_run_warning_count(run) >= 1);
        const char *w = sparse_run_warning(run, 0, &line);
        if (gone) {
            assert_non_null(strstr(w, "state.json says 8 trials are done, but"));
            assert_int_equal(line, 0);
        } else {
            assert_non_null(strstr(w, "trials.jsonl:4: not a trial record"));
            assert_int_equal(line, 4);
        }
        assert_null(sparse_run_warning(run, sparse_run_warning_count(run), &line));
        double v;
        assert_int_equal(sparse_run_trial_value(run, 3, SPARSE_TRIAL_VAL_ACCURACY, &v), SPARSE_ENOTFOUND);
        assert_int_equal(sparse_run_trial_value(run, 8, SPARSE_TRIAL_VAL_ACCURACY, &v), SPARSE_ERANGE);
        assert_null(sparse_run_trial_json(run, 3));
        for (size_t t = 0; t < 8; t++)
            if (t != 3)
                expect_same_trial(run, full, t);
        /* The front names trials by id: the reference's, without trial 3. */
        size_t ids[8], n = 0, ref_ids[8], ref_n = 0;
        assert_int_equal(sparse_run_pareto(run, ids, &n), SPARSE_OK);
        assert_int_equal(sparse_run_pareto(full, ref_ids, &ref_n), SPARSE_OK);
        for (size_t j = 0; j < n; j++)
            assert_int_not_equal(ids[j], 3);
        /* The network of trial 6 is trial 6's, not the one on line 7. */
        sparse_net *a = NULL, *b = NULL;
        assert_int_equal(sparse_run_trial_net(&a, NULL, run, 6), SPARSE_OK);
        assert_int_equal(sparse_run_trial_net(&b, NULL, full, 6), SPARSE_OK);
        assert_int_equal(sparse_net_nonzero_count(a), sparse_net_nonzero_count(b));
        assert_int_equal(sparse_net_node_count(a), sparse_net_node_count(b));
        sparse_net_free(a);
        sparse_net_free(b);
        assert_int_equal(sparse_run_trial_net(&a, NULL, run, 3), SPARSE_ENOTFOUND);
        assert_null(a);
        sparse_run_free(run);
    }
    sparse_run_free(full);
}

/* trials.jsonl emptied (or cut short) while state.json counts 8 trials: a
 * resume refuses instead of starting again from trial 0; a new search
 * there is refused too; the run view warns. */
static void test_lost_records_are_refused(void **state)
{
    const reference *r = *state;
    char dir[700], path[800];
    copy_run(r, "emptied", 8, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    write_text(path, "");
    expect_refused(dir, SPARSE_EFORMAT, "state.json says 8 trials are done, but");
    assert_non_null(strstr(sparse_last_error(), "holds 0 records"));
    sparse_search_config *c;
    assert_int_equal(sparse_search_config_parse(&c, r->cfg, strlen(r->cfg), "tiny.yaml"), SPARSE_OK);
    assert_int_equal(sparse_search_run(c, dir, NULL), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "already holds a run (8 trials)"));
    sparse_search_config_free(c);
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(run), 0);
    assert_int_equal(sparse_run_warning_count(run), 1);
    assert_non_null(strstr(sparse_run_warning(run, 0, NULL), "records are missing"));
    sparse_run_free(run);
}

/* A crash while the 6th record was written: the resume cuts the torn line
 * (a copy kept, reported by the run view), removes the temp file of a
 * weights file being written, and ends with the reference's records. */
static void test_torn_last_line_is_cut_and_reported(void **state)
{
    const reference *r = *state;
    char dir[700], path[800], stale[800], torn[800];
    copy_run(r, "torn", 5, dir, sizeof dir);
    char *line6 = strdup(strstr(r->records, "{\"id\":5,"));
    *strchr(line6, '\n') = '\0';
    line6[strlen(line6) / 2] = '\0';
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(line6, f);
    assert_int_equal(fclose(f), 0);
    snprintf(stale, sizeof stale, "%s/weights/5.safetensors.tmp.999999", dir);
    write_text(stale, "half a weights file");

    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(run), 5);
    assert_int_equal(sparse_run_warning_count(run), 1);
    size_t line = 0;
    assert_non_null(
        strstr(sparse_run_warning(run, 0, &line), "trials.jsonl:6: last line is not a whole record"));
    assert_int_equal(line, 6);
    sparse_run_free(run);

    /* Had state.json counted it, the line was not torn by a crash: refused,
     * nothing cut. */
    rewind_state(dir, 6);
    expect_refused(dir, SPARSE_EFORMAT, "state.json says 6 trials are done, but");
    snprintf(torn, sizeof torn, "%s/trials.jsonl.torn", dir);
    assert_int_not_equal(access(torn, F_OK), 0);
    rewind_state(dir, 5);

    assert_int_equal(resume(dir), SPARSE_OK);
    expect_records(r, dir);
    assert_int_not_equal(access(stale, F_OK), 0);
    snprintf(path, sizeof path, "%s/trials.jsonl.torn", dir);
    char *copy = read_all(path);
    assert_int_equal(strncmp(copy, line6, strlen(line6)), 0);
    assert_string_equal(copy + strlen(line6), "\n");
    free(copy);
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    assert_int_equal(sparse_run_warning_count(run), 1);
    assert_non_null(strstr(sparse_run_warning(run, 0, NULL), "trials.jsonl.torn"));
    sparse_run_free(run);
    free(line6);
}

/* Replaces the first occurrence of from by to in dir's config.yaml. */
static void edit_config(const char *dir, const char *from, const char *to)
{
    char path[800];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    char *text = read_all(path), *at = strstr(text, from);
    assert_non_null(at);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    assert_int_equal(fclose(f), 0);
    free(text);
}

/* A resume refuses a config that changed in what decides the records,
 * naming the first key that did, and changes nothing; threads, workers and
 * the time budget may change; a run from before the fingerprint resumes. */
static void test_changed_config_is_refused(void **state)
{
    const reference *r = *state;
    char dir[700], path[800];
    copy_run(r, "edited", 5, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    const struct {
        const char *from, *to, *named;
    } edits[] = {
        {"seed: 7", "seed: 8", "'seed' changed (now 'seed: 8')"},
        {"filters: [1, 6]", "filters: [1, 7]", "'space.filters' changed (now 'filters: [1, 7]')"},
        {"{trials: 2, rho: 0.7}", "{trials: 2, rho: 0.6}", "'stages[1]' changed"},
        {"  wm_bytes: 2000\n", "", "'budgets.wm_bytes' is gone"},
        {"wm_model: 5\n", "wm_model: 5\nfinal: {trials: 1}\n", "'final' is new"},
        /* A key newer than the fingerprints counts once off its default. */
        {"ranking: posterior", "ranking: validation", "'ranking' is new (now 'ranking: validation')"},
    };
    char config[800];
    snprintf(config, sizeof config, "%s/config.yaml", dir);
    char *original = read_all(config);
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        edit_config(dir, edits[k].from, edits[k].to);
        expect_refused(dir, SPARSE_EINVAL, edits[k].named);
        assert_non_null(strstr(sparse_last_error(), "is not the config this run started with"));
        write_text(config, original);
    }
    /* A config.yaml from before the key (its default) resumes. */
    edit_config(dir, "ranking: posterior\n", "");
    sparse_search_options before = SPARSE_SEARCH_OPTIONS_INIT;
    before.max_trials = 5;
    assert_int_equal(sparse_search_resume(dir, &before), SPARSE_OK);
    write_text(config, original);
    free(original);
    edit_config(dir, "threads: 1", "threads: 2");
    edit_config(dir, "time_budget: 0", "time_budget: 3600");
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = 6;
    assert_int_equal(sparse_search_resume(dir, &o), SPARSE_OK);
    assert_int_equal(count_lines(path), 6);
    /* A state.json without a fingerprint (an older run) is not checked. */
    snprintf(path, sizeof path, "%s/state.json", dir);
    write_text(
        path,
        "{\"trials_done\":6,\"trials_planned\":8,\"finished\":false,\"best_feasible_val_accuracy\":0.5}\n");
    edit_config(dir, "workers: 1", "workers: 2");
    o.max_trials = 7;
    assert_int_equal(sparse_search_resume(dir, &o), SPARSE_OK);
    char *state_text = read_all(path);
    assert_non_null(strstr(state_text, "\"config_hash\":\"fnv1a64:"));
    free(state_text);
}

/* The run view's argument checks, on the reference run: every pointer
 * argument named, unknown fields and positions refused, getters of NULL
 * saying "none"; every field of every trial readable. */
static void test_run_api_errors(void **state)
{
    const reference *r = *state;
    sparse_run *run = NULL;
    EXPECT_NULL_ARG(sparse_run_open(NULL, r->full), "sparse_run_open", "out");
    EXPECT_NULL_ARG(sparse_run_open(&run, NULL), "sparse_run_open", "dir");
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-such-run", r->tmp);
    EXPECT_ERROR(sparse_run_open(&run, missing), SPARSE_ENOTFOUND, "opening run", "no-such-run: no such run directory");
    assert_null(run);
    assert_int_equal(sparse_run_open(&run, r->full), SPARSE_OK);
    size_t id = 0, line = 7, ids[8], n = 0;
    double v = 0;
    int model = 0;
    EXPECT_NULL_ARG(sparse_run_trial_id(NULL, 0, &id), "sparse_run_trial_id", "run");
    EXPECT_NULL_ARG(sparse_run_trial_id(run, 0, NULL), "sparse_run_trial_id", "id");
    EXPECT_NULL_ARG(sparse_run_trial_value(NULL, 0, SPARSE_TRIAL_OK, &v), "sparse_run_trial_value", "run");
    EXPECT_NULL_ARG(sparse_run_trial_value(run, 0, SPARSE_TRIAL_OK, NULL), "sparse_run_trial_value", "value");
    EXPECT_ERROR(sparse_run_trial_value(run, 0, -1, &v), SPARSE_ERANGE, "unknown trial field -1");
    EXPECT_ERROR(sparse_run_trial_value(run, 0, SPARSE_TRIAL_ARENA_BYTES + 1, &v), SPARSE_ERANGE,
                 "unknown trial field 19");
    for (int f = SPARSE_TRIAL_OK; f <= SPARSE_TRIAL_ARENA_BYTES; f++)
        for (size_t t = 0; t < 8; t++) {
            v = NAN;
            assert_int_equal(sparse_run_trial_value(run, t, f, &v), SPARSE_OK);
            assert_false(isnan(v) && f != SPARSE_TRIAL_INT8_TEST_ACCURACY);
        }
    EXPECT_NULL_ARG(sparse_run_pareto(NULL, ids, &n), "sparse_run_pareto", "run");
    EXPECT_NULL_ARG(sparse_run_pareto(run, ids, NULL), "sparse_run_pareto", "count");
    EXPECT_ERROR(sparse_run_pareto(run, NULL, &n), SPARSE_EINVAL, "sparse_run_pareto: idx is NULL");
    EXPECT_NULL_ARG(sparse_run_wm_model(NULL, &model), "sparse_run_wm_model", "run");
    EXPECT_NULL_ARG(sparse_run_wm_model(run, NULL), "sparse_run_wm_model", "model");
    EXPECT_NULL_ARG(sparse_run_write_pareto_csv(NULL), "sparse_run_write_pareto_csv", "run");
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    EXPECT_NULL_ARG(sparse_run_open_data(NULL, &va, &te, run, NULL), "sparse_run_open_data", "train");
    EXPECT_NULL_ARG(sparse_run_open_data(&tr, NULL, &te, run, NULL), "sparse_run_open_data", "val");
    EXPECT_NULL_ARG(sparse_run_open_data(&tr, &va, NULL, run, NULL), "sparse_run_open_data", "test");
    EXPECT_NULL_ARG(sparse_run_open_data(&tr, &va, &te, NULL, NULL), "sparse_run_open_data", "run");
    sparse_net *net = NULL;
    EXPECT_NULL_ARG(sparse_run_trial_net(NULL, NULL, run, 0), "sparse_run_trial_net", "out");
    EXPECT_NULL_ARG(sparse_run_trial_net(&net, NULL, NULL, 0), "sparse_run_trial_net", "run");
    EXPECT_ERROR(sparse_run_trial_net(&net, NULL, run, 8), SPARSE_ERANGE, "has no trial 8",
                 "its last trial is an earlier one");
    assert_null(net);
    assert_int_equal(sparse_run_trial_count(NULL), 0);
    assert_null(sparse_run_trial_json(NULL, 0));
    assert_null(sparse_run_trial_json(run, 8));
    assert_int_equal(sparse_run_warning_count(NULL), 0);
    assert_null(sparse_run_warning(NULL, 0, &line));
    assert_int_equal(line, 0);
    assert_null(sparse_run_warning(run, 0, NULL)); /* the reference has none */
    sparse_run_free(run);
}

const struct CMUnitTest runstore_tests[] = {
    cmocka_unit_test(test_second_writer_is_refused),
    cmocka_unit_test(test_damaged_log_is_refused_and_read_by_id),
    cmocka_unit_test(test_lost_records_are_refused),
    cmocka_unit_test(test_torn_last_line_is_cut_and_reported),
    cmocka_unit_test(test_changed_config_is_refused),
    cmocka_unit_test(test_run_api_errors),
};
const size_t runstore_test_count = sizeof runstore_tests / sizeof runstore_tests[0];
