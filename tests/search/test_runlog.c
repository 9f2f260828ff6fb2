#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "search/runlog.h"
#include "sparse/search.h"

char *make_tmpdir(void);
void rm_rf(const char *dir);
extern const struct CMUnitTest runlog_tests[];
extern const size_t runlog_test_count;

char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/sparse-runlog-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

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

        assert_int_equal(sparse__runlog_open(&log, dir, SPARSE__RUNLOG_APPEND), SPARSE_OK);
        assert_int_equal(sparse__runlog_count(log), 2);
        assert_int_equal(sparse__runlog_dropped(log), strlen(torn[t]));
        assert_int_equal(sparse__runlog_append(log, "{\"id\":2,\"acc\":1}"), SPARSE_OK);
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

const struct CMUnitTest runlog_tests[] = {
    cmocka_unit_test(test_run_wm_model),
    cmocka_unit_test(test_append_and_reopen),
    cmocka_unit_test(test_torn_tail_is_dropped_and_cut),
    cmocka_unit_test(test_not_a_directory),
};
const size_t runlog_test_count = sizeof runlog_tests / sizeof runlog_tests[0];
