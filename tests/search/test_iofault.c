/* The I/O-error sweep of the run store (sqlite's model): a tiny search in
 * which the k-th write, fsync or rename into its run directory fails, for
 * every k the search makes. Each time the search stops with an error naming
 * a file of the run directory (or, for the one failure the library may
 * absorb, the fsync of a directory after a rename, goes on), no record that
 * was made durable is lost, trials.jsonl holds whole records only, no temp
 * file is left, and a resume after the fault ends with exactly the records
 * of an uninterrupted run.
 *
 * The failures come from the linker (-Wl,--wrap=write,--wrap=fsync,
 * --wrap=rename on this executable), so the library has no test hook: its
 * calls into libc reach the __wrap_ functions below. A failed write writes
 * half its bytes first, the worst a full disk can do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "tiny_run.h"

ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

/* The fault: calls into dir are counted; call number `at` fails (0: none). */
static struct {
    char dir[700];
    long at, calls;
    char what[160]; /* the call that failed and its file */
    off_t durable;  /* size of trials.jsonl at its last successful fsync */
} fault;

static int in_dir(const char *path)
{
    size_t l = strlen(fault.dir);
    return l && !strncmp(path, fault.dir, l) && (path[l] == '/' || path[l] == '\0');
}

/* The file behind fd, into path; 1 if it is in the run directory. */
static int fd_in_dir(int fd, char *path, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, cap - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return in_dir(path);
}

static int fails_now(const char *call, const char *path)
{
    if (++fault.calls != fault.at)
        return 0;
    snprintf(fault.what, sizeof fault.what, "%s of %s", call, path + strlen(fault.dir));
    return 1;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    char path[PATH_MAX];
    if (fd_in_dir(fd, path, sizeof path) && fails_now("write", path)) {
        (void)__real_write(fd, buf, n / 2);
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, buf, n);
}

int __wrap_fsync(int fd)
{
    char path[PATH_MAX];
    int in = fd_in_dir(fd, path, sizeof path);
    if (in && fails_now("fsync", path)) {
        errno = EIO;
        return -1;
    }
    int rc = __real_fsync(fd);
    struct stat st;
    size_t l = strlen(path);
    if (in && !rc && l > 13 && !strcmp(path + l - 13, "/trials.jsonl") && !fstat(fd, &st))
        fault.durable = st.st_size;
    return rc;
}

int __wrap_rename(const char *from, const char *to)
{
    if (in_dir(to) && fails_now("rename", to)) {
        errno = EIO;
        return -1;
    }
    return __real_rename(from, to);
}

static char *sweep_config(const char *csv)
{
    char *cfg = malloc(2048);
    snprintf(
        cfg, 2048,
        "data: {source: \"%s\", val_count: 60}\n"
        "seed: 5\nthreads: 1\ninitial_trials: 2\ncandidates: 8\n"
        "stages: [{trials: 2, rho: 0.7}, {trials: 1, rho: 0.7}, {trials: 0, rho: 0.7}]\n"
        "training: {batch: 32}\n"
        "space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [1, 4], kernel: [2, 3], pool: [1, 2],"
        " input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [1, 1],"
        " pruning: [none, spvd, bc]}\n",
        csv);
    return cfg;
}

static int run(const char *cfg, const char *dir)
{
    sparse_search_config *c;
    int rc = sparse_search_config_parse(&c, cfg, strlen(cfg), "sweep.yaml");
    if (!rc)
        rc = sparse_search_run(c, dir, NULL);
    sparse_search_config_free(c);
    return rc;
}

/* Names of temp files (NAME.tmp.*) left in dir. */
static size_t temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* After the fault in dir: trials.jsonl holds whole records only, a prefix
 * of the reference's, and at least what was made durable before. */
static void check_after_fault(const char *dir, const char *reference)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    struct stat st;
    if (stat(path, &st)) {
        assert_int_equal(fault.durable, 0);
        return;
    }
    assert_true(st.st_size >= fault.durable);
    char *text = read_all(path);
    size_t len = strlen(text);
    assert_int_equal((off_t)len, st.st_size); /* no NUL byte */
    assert_true(len == 0 || text[len - 1] == '\n');
    strip_seconds(text);
    assert_int_equal(strncmp(text, reference, strlen(text)), 0);
    free(text);
}

static void test_every_failure_point(void **state)
{
    (void)state;
    char *made = make_tmpdir(), *tmp = realpath(made, NULL), dir[600], weights[700], config[700];
    assert_non_null(tmp); /* /proc/self/fd gives real paths */
    char *csv = write_tiny_csv(tmp), *cfg = sweep_config(csv);

    snprintf(dir, sizeof dir, "%s/reference", tmp);
    snprintf(fault.dir, sizeof fault.dir, "%s", dir);
    fault.at = fault.calls = 0;
    assert_int_equal(run(cfg, dir), SPARSE_OK);
    const long points = fault.calls;
    char *reference = records_of(dir);
    assert_true(points > 20);

    long stopped = 0, absorbed = 0;
    for (long k = 1; k <= points; k++) {
        snprintf(dir, sizeof dir, "%s/fault%ld", tmp, k);
        snprintf(fault.dir, sizeof fault.dir, "%s", dir);
        fault.at = k;
        fault.calls = 0;
        fault.durable = 0;
        fault.what[0] = '\0';
        int rc = run(cfg, dir);
        assert_true(fault.calls >= k); /* the same calls as the reference, up to the fault */
        if (rc) {
            if (!strstr(sparse_last_error(), dir))
                fprintf(stderr, "fault %ld (%s): '%s' does not name the file\n", k, fault.what,
                        sparse_last_error());
            assert_int_equal(rc, SPARSE_EIO);
            assert_non_null(strstr(sparse_last_error(), dir));
            stopped++;
        } else {
            assert_non_null(strstr(fault.what, "fsync of ")); /* a directory's, after a rename */
            absorbed++;
        }
        check_after_fault(dir, reference);

        fault.at = 0;
        snprintf(config, sizeof config, "%s/config.yaml", dir);
        sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
        rc = access(config, F_OK) ? run(cfg, dir) : sparse_search_resume(dir, &o);
        if (rc)
            fprintf(stderr, "after fault %ld (%s): %s\n", k, fault.what, sparse_last_error());
        assert_int_equal(rc, SPARSE_OK);
        char *got = records_of(dir);
        assert_string_equal(got, reference);
        free(got);
        snprintf(weights, sizeof weights, "%s/weights", dir);
        assert_int_equal(temp_files(dir) + temp_files(weights), 0);
        rm_rf(dir);
    }
    printf(
        "I/O sweep: %ld failure points; %ld stopped the search with an error naming the file, %ld absorbed "
        "(a directory fsync after a rename); every resume gave the reference's records\n",
        points, stopped, absorbed);
    fault.dir[0] = '\0';
    free(reference);
    free(cfg);
    free(csv);
    rm_rf(tmp);
    free(tmp);
    free(made);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
