#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "search/runlog.h"
#include "sparse/search.h"
#include "tiny_run.h"

extern const struct CMUnitTest runlog_tests[];
extern const size_t runlog_test_count;

static void append_raw(const char *dir, const char *bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(bytes, f);
    fclose(f);
}

static void test_append_and_reopen(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char run[600];
    snprintf(run, sizeof run, "%s/run", dir);
    sparse__runlog *log;
    assert_int_equal(sparse__runlog_open(&log, run, SPARSE__RUNLOG_APPEND), SPARSE_ENOTFOUND);
    assert_int_equal(sparse__runlog_open(&log, run, SPARSE__RUNLOG_CREATE), SPARSE_OK);
    assert_int_equal(sparse__runlog_count(log), 0);
    assert_int_equal(sparse__runlog_append(log, "{\"id\":0,\"acc\":0.5}"), SPARSE_OK);
    assert_int_equal(sparse__runlog_append(log, "{\"id\":1,\"acc\":0.75}"), SPARSE_OK);
    assert_int_equal(sparse__runlog_append(log, "{\"id\":2}\n{\"id\":3}"), SPARSE_EINVAL);
    assert_int_equal(sparse__runlog_write_state(log, "{\"next\":2}"), SPARSE_OK);
    sparse__runlog_free(log);

    assert_int_equal(sparse__runlog_open(&log, run, SPARSE__RUNLOG_APPEND), SPARSE_OK);
    assert_int_equal(sparse__runlog_count(log), 2);
    assert_string_equal(sparse__runlog_line(log, 1), "{\"id\":1,\"acc\":0.75}");
    assert_null(sparse__runlog_line(log, 2));
    assert_int_equal(sparse__runlog_dropped(log), 0);
    char *state_path = sparse__runlog_path(log, "state.json");
    char *text;
    assert_int_equal(sparse__read_file(state_path, &text, NULL), SPARSE_OK);
    assert_string_equal(text, "{\"next\":2}");
    free(text);
    free(state_path);
    sparse__runlog_free(log);
    sparse__runlog_free(NULL);
    rm_rf(dir);
    free(dir);
}

static void test_torn_tail_is_dropped_and_cut(void **state)
{
    (void)state;
    const char *torn[] = {"{\"id\":2,\"ac", "{\"id\":2,\"acc\":0.9", "{\"id\":2}", "{\"id\":2,\n", "garbage\n"};
    for (size_t t = 0; t < sizeof torn / sizeof torn[0]; t++) {
        char *dir = make_tmpdir();
        sparse__runlog *log;
        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_CREATE), SPARSE_OK);
        assert_int_equal(sparse__runlog_append(log, "{\"id\":0}"), SPARSE_OK);
        assert_int_equal(sparse__runlog_append(log, "{\"id\":1}"), SPARSE_OK);
        sparse__runlog_free(log);
        append_raw(dir, torn[t]);

        /* A reader ignores it and says so; a writer cuts it, keeping a copy. */
        size_t line = 0;
        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_READ), SPARSE_OK);
        assert_int_equal(sparse__runlog_count(log), 2);
        assert_int_equal(sparse__runlog_note_count(log), 1);
        assert_non_null(
            strstr(sparse__runlog_note(log, 0, &line), "trials.jsonl:3: last line is not a whole record"));
        assert_int_equal(line, 3);
        sparse__runlog_free(log);
        char copy[600], *kept;
        snprintf(copy, sizeof copy, "%s/trials.jsonl.torn", dir);
        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
        assert_int_equal(sparse__runlog_count(log), 2);
        assert_int_equal(sparse__runlog_dropped(log), strlen(torn[t]));
        assert_int_equal(sparse__runlog_note_count(log), 0); /* not cut until asked */
        assert_int_not_equal(access(copy, F_OK), 0);
        if (t % 2) /* else the append cuts it */
            assert_int_equal(sparse__runlog_cut_torn(log), SPARSE_OK);
        assert_int_equal(sparse__runlog_append(log, "{\"id\":2,\"acc\":1}"), SPARSE_OK);
        assert_int_equal(sparse__runlog_note_count(log), 1);
        assert_non_null(strstr(sparse__runlog_note(log, 0, NULL), "torn last line"));
        kept = read_all(copy);
        assert_int_equal(strncmp(kept, torn[t], strlen(torn[t])), 0);
        assert_string_equal(kept + strlen(torn[t]), torn[t][strlen(torn[t]) - 1] == '\n' ? "" : "\n");
        free(kept);
        sparse__runlog_free(log);

        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
        assert_int_equal(sparse__runlog_count(log), 3);
        assert_int_equal(sparse__runlog_dropped(log), 0);
        assert_string_equal(sparse__runlog_line(log, 2), "{\"id\":2,\"acc\":1}");
        sparse__runlog_free(log);
        rm_rf(dir);
        free(dir);
    }
}

static void test_not_a_directory(void **state)
{
    (void)state;
    char path[] = "/tmp/sparse-runlog-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sparse__runlog *log;
    assert_int_equal(sparse__runlog_open(&log, path, SPARSE__RUNLOG_CREATE), SPARSE_EIO);
    assert_null(log);
    assert_non_null(strstr(sparse_last_error(), "not a directory"));
    unlink(path);
}

/* DIR/NAME */
static char *in_dir(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

/* The bytes of path, NUL bytes included. */
static char *read_bytes(const char *path, size_t *len)
{
    char *text;
    assert_int_equal(sparse__read_file(path, &text, len), SPARSE_OK);
    return text;
}

/* A log of n records {"id":i} in a fresh directory (the caller frees it). */
static char *log_of(size_t n)
{
    char *dir = make_tmpdir(), rec[32];
    sparse__runlog *log;
    assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_CREATE), SPARSE_OK);
    for (size_t i = 0; i < n; i++) {
        snprintf(rec, sizeof rec, "{\"id\":%zu}", i);
        assert_int_equal(sparse__runlog_append(log, rec), SPARSE_OK);
    }
    sparse__runlog_free(log);
    return dir;
}

/* A bad line before the last one: a writer refuses, naming it, and changes
 * nothing; a reader skips it, keeps the records after it and says so. */
static void test_bad_line_before_the_last_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"garbage", "{\"id\":2,\"acc\"", "\x01\x02\x03", "", "[1,2]"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *dir = log_of(5), path[600];
        char *text = read_all(in_dir(path, sizeof path, dir, "trials.jsonl"));
        /* line 3 replaced by the bad one (NUL bytes in the first case too) */
        char *l3 = strstr(text, "{\"id\":2}");
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(text, 1, (size_t)(l3 - text), f);
        fputs(bad[k], f);
        if (k == 0)
            fwrite("\0\0", 1, 2, f);
        fputs(l3 + strlen("{\"id\":2}"), f);
        assert_int_equal(fclose(f), 0);
        size_t size_before = 0;
        char *before = read_bytes(path, &size_before);

        sparse__runlog *log = (sparse__runlog *)1;
        for (int mode = 0; mode < 2; mode++) {
            assert_int_equal(sparse__runlog_open(&log, dir, mode), SPARSE_EFORMAT);
            assert_null(log);
            assert_non_null(strstr(sparse_last_error(), "trials.jsonl:3: not a trial record"));
            assert_non_null(strstr(sparse_last_error(), "2 records follow it"));
            assert_non_null(strstr(sparse_last_error(), dir));
        }
        size_t size_after = 0;
        char *after = read_bytes(path, &size_after);
        assert_int_equal(size_after, size_before);
        assert_memory_equal(before, after, size_before);
        assert_int_not_equal(access(in_dir(path, sizeof path, dir, "trials.jsonl.torn"), F_OK), 0);

        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_READ), SPARSE_OK);
        assert_int_equal(sparse__runlog_count(log), 4);
        assert_string_equal(sparse__runlog_line(log, 2), "{\"id\":3}");
        assert_int_equal(sparse__runlog_line_number(log, 2), 4);
        assert_int_equal(sparse__runlog_note_count(log), 1);
        size_t line = 0;
        assert_non_null(strstr(sparse__runlog_note(log, 0, &line), "trials.jsonl:3: not a trial record"));
        assert_int_equal(line, 3);
        sparse__runlog_free(log);
        free(text);
        free(before);
        free(after);
        rm_rf(dir);
        free(dir);
    }
}

/* One writer at a time: a second writer is refused naming the directory
 * and the holder's pid, a reader is not, and closing releases the lock. */
static void test_second_writer_is_refused(void **state)
{
    (void)state;
    char *dir = log_of(2), pid[32];
    sparse__runlog *w1, *w2 = (sparse__runlog *)1, *r;
    assert_int_equal(sparse__runlog_open(&w1, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
    for (int mode = 0; mode < 2; mode++) {
        assert_int_equal(sparse__runlog_open(&w2, dir, mode), SPARSE_EIO);
        assert_null(w2);
        snprintf(pid, sizeof pid, "process %ld ", (long)getpid());
        assert_non_null(strstr(sparse_last_error(), "is in use by"));
        assert_non_null(strstr(sparse_last_error(), pid));
        assert_non_null(strstr(sparse_last_error(), dir));
    }
    assert_int_equal(sparse__runlog_open(&r, dir, SPARSE__RUNLOG_READ), SPARSE_OK);
    assert_int_equal(sparse__runlog_append(w1, "{\"id\":2}"), SPARSE_OK);
    assert_int_equal(sparse__runlog_count(r), 2);
    sparse__runlog_free(r);
    sparse__runlog_free(w1);
    assert_int_equal(sparse__runlog_open(&w2, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
    assert_int_equal(sparse__runlog_count(w2), 3);
    sparse__runlog_free(w2);
    rm_rf(dir);
    free(dir);
}

/* Files of the run directory are never reached through a symbolic link:
 * writes would land outside it. */
static void test_symbolic_links_are_refused(void **state)
{
    (void)state;
    const char *names[] = {"trials.jsonl", "state.json", "weights", "lock"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *dir = log_of(2), *outside = make_tmpdir(), path[600], target[600];
        sparse__runlog *log = (sparse__runlog *)1;
        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
        assert_int_equal(sparse__runlog_write_state(log, "{\"trials_done\":2}"), SPARSE_OK);
        sparse__runlog_free(log);
        in_dir(target, sizeof target, outside, "victim");
        write_text(target, "{\"id\":0}\n");
        if (!strcmp(names[k], "weights")) {
            unlink(target);
            assert_int_equal(mkdir(target, 0755), 0);
        }
        in_dir(path, sizeof path, dir, names[k]);
        rm_rf(path);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_EIO);
        assert_null(log);
        assert_non_null(strstr(sparse_last_error(), "symbolic link"));
        assert_non_null(strstr(sparse_last_error(), names[k]));
        if (strcmp(names[k], "weights")) {
            char *victim = read_all(target);
            assert_string_equal(victim, "{\"id\":0}\n");
            free(victim);
        }
        rm_rf(outside);
        free(outside);
        rm_rf(dir);
        free(dir);
    }
}

/* A writer removes the temp files a killed one left behind, nothing else. */
static void test_stale_temp_files_are_removed(void **state)
{
    (void)state;
    char *dir = log_of(1), path[600];
    const char *stale[] = {"weights/3.safetensors.tmp.4242", "state.json.tmp.17", "state.json.tmp.17.aB3dEf",
                           "config.yaml.tmp.9"};
    const char *kept[] = {"weights/notes.txt", "weights/3.safetensors", "pareto.csv.tmp.5",
                          "state.json.tmpx"};
    for (size_t i = 0; i < 4; i++) {
        write_text(in_dir(path, sizeof path, dir, stale[i]), "x");
        write_text(in_dir(path, sizeof path, dir, kept[i]), "x");
    }
    sparse__runlog *log;
    assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_READ), SPARSE_OK);
    sparse__runlog_free(log);
    assert_int_equal(access(in_dir(path, sizeof path, dir, stale[0]), F_OK),
                     0); /* a reader removes nothing */
    assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
    sparse__runlog_free(log);
    for (size_t i = 0; i < 4; i++) {
        assert_int_not_equal(access(in_dir(path, sizeof path, dir, stale[i]), F_OK), 0);
        assert_int_equal(access(in_dir(path, sizeof path, dir, kept[i]), F_OK), 0);
    }
    rm_rf(dir);
    free(dir);
}

/* A run directory by hand: config.yaml (with wm_model when model is not 0)
 * and no trial yet. Returns the directory (the caller frees it). */
static char *bare_run(int model)
{
    char *dir = make_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "data: mnist\n");
    if (model)
        fprintf(f, "wm_model: %d\n", model);
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(fclose(f), 0);
    return dir;
}

static void test_run_wm_model(void **state)
{
    (void)state;
    const int models[][2] = {{0, 5}, {5, 5}, {6, 6}}; /* config's wm_model (0: none), expected */
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char *dir = bare_run(models[i][0]);
        sparse_run *run = NULL;
        int model = 0;
        assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
        assert_int_equal(sparse_run_trial_count(run), 0);
        assert_int_equal(sparse_run_wm_model(run, &model), SPARSE_OK);
        assert_int_equal(model, models[i][1]);
        assert_int_equal(sparse_run_wm_model(run, NULL), SPARSE_EINVAL);
        assert_int_equal(sparse_run_wm_model(NULL, &model), SPARSE_EINVAL);
        sparse_run_free(run);
        rm_rf(dir);
        free(dir);
    }
}

/* An id is a number: one that is not (a path, a negative or huge number)
 * cannot name a weights file; such a record is skipped with a warning, as
 * is a second record of an id. */
static void test_ids_are_numbers(void **state)
{
    (void)state;
    char *dir = bare_run(0), path[600];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    write_text(path, "{\"id\":\"../../etc/passwd\",\"stage\":1,\"status\":\"ok\"}\n"
                     "{\"id\":-1,\"stage\":1,\"status\":\"ok\"}\n"
                     "{\"id\":1e30,\"stage\":1,\"status\":\"ok\"}\n"
                     "{\"id\":\"/tmp/x\",\"stage\":1,\"status\":\"ok\"}\n"
                     "{\"id\":0,\"stage\":1,\"status\":\"failed\"}\n"
                     "{\"id\":0,\"stage\":2,\"status\":\"failed\"}\n");
    sparse_run *run;
    assert_int_equal(sparse_run_open(&run, dir), SPARSE_OK);
    assert_int_equal(sparse_run_trial_count(run), 1);
    assert_int_equal(sparse_run_warning_count(run), 5);
    for (size_t i = 0; i < 4; i++) {
        size_t line = 0;
        assert_non_null(strstr(sparse_run_warning(run, i, &line), "a record without a valid id; skipped"));
        assert_int_equal(line, i + 1);
    }
    assert_non_null(
        strstr(sparse_run_warning(run, 4, NULL), "trials.jsonl:6: trial 0 again (first on line 5)"));
    double stage = 0;
    assert_int_equal(sparse_run_trial_value(run, 0, SPARSE_TRIAL_STAGE, &stage), SPARSE_OK);
    assert_true(stage == 1);
    sparse_run_free(run);
    rm_rf(dir);
    free(dir);
}

const struct CMUnitTest runlog_tests[] = {
    cmocka_unit_test(test_ids_are_numbers),
    cmocka_unit_test(test_run_wm_model),
    cmocka_unit_test(test_append_and_reopen),
    cmocka_unit_test(test_torn_tail_is_dropped_and_cut),
    cmocka_unit_test(test_not_a_directory),
    cmocka_unit_test(test_bad_line_before_the_last_is_refused),
    cmocka_unit_test(test_second_writer_is_refused),
    cmocka_unit_test(test_symbolic_links_are_refused),
    cmocka_unit_test(test_stale_temp_files_are_removed),
};
const size_t runlog_test_count = sizeof runlog_tests / sizeof runlog_tests[0];
