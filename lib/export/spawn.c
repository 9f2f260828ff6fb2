/* Running the toolchain: posix_spawnp with an explicit argument list (no
 * shell), output captured through a pipe (the library never prints), a
 * time limit; and the directory the builds go to. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/internal.h"
#include "export_internal.h"

extern char **environ;

#define MAX_OUTPUT ((size_t)16 << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads the child's output until EOF or the deadline; 1 on timeout. */
static int drain(int fd, double deadline, sparse__buf *out)
{
    char chunk[4096];
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0.0)
            return 1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, left > 1.0 ? 1000 : (int)(left * 1000.0) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (out->len < MAX_OUTPUT)
            sparse__buf_put(out, chunk, (size_t)n);
    }
}

int sparse__run_tool(char *const *argv, double timeout_s, const char *hint, char **output, int *status)
{
    *output = NULL;
    *status = -1;
    int fds[2];
    if (pipe(fds))
        return sparse__error(SPARSE_EIO, "cannot create a pipe for %s: %s", argv[0], strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err) {
        close(fds[0]);
        return sparse__error(err == ENOENT ? SPARSE_ENOTFOUND : SPARSE_EIO, "cannot run %s: %s%s%s", argv[0],
                             strerror(err), hint ? " " : "", hint ? hint : "");
    }
    sparse__buf out = SPARSE__BUF_INIT;
    int timed_out = drain(fds[0], now_s() + timeout_s, &out);
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (out.failed) {
        sparse__buf_free(&out);
        return SPARSE_ENOMEM;
    }
    *output = sparse__buf_detach(&out);
    if (!*output)
        return SPARSE_ENOMEM;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    if (timed_out)
        return sparse__error(SPARSE_EIO, "%s did not finish within %.0f s and was stopped", argv[0],
                             timeout_s);
    return SPARSE_OK;
}

int sparse__run_ok(char *const *argv, double timeout_s, const char *hint, const char *what, char **output)
{
    char *text = NULL;
    int status = 0;
    int rc = sparse__run_tool(argv, timeout_s, hint, &text, &status);
    if (!rc && status == 127 && !*text) {
        /* POSIX's "could not exec" from the child, where posix_spawn cannot
         * report it itself (C libraries that fork, valgrind) */
        rc = sparse__error(SPARSE_ENOTFOUND, "cannot run %s: it exited with status 127 and no output%s%s", argv[0],
                           hint ? " " : "", hint ? hint : "");
    } else if (!rc && status != 0) {
        /* The end of the output says what went wrong. */
        size_t len = strlen(text);
        const char *tail = len > 2000 ? text + len - 2000 : text;
        rc = sparse__error(SPARSE_EIO, "%s: %s exited with status %d:\n%s", what, argv[0], status, tail);
    }
    if (rc || !output)
        free(text);
    else
        *output = text;
    return rc;
}

char *sparse__path_join(const char *dir, const char *name)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s/%s", dir, name);
    return b.failed ? (sparse__buf_free(&b), NULL) : sparse__buf_detach(&b);
}

int sparse__workdir_open(sparse__workdir *w, const char *dir)
{
    memset(w, 0, sizeof *w);
    if (dir) {
        if (mkdir(dir, 0755) && errno != EEXIST)
            return sparse__error(SPARSE_EIO, "cannot create directory %s: %s", dir, strerror(errno));
        w->path = sparse__strdup(dir);
        return w->path ? SPARSE_OK : SPARSE_ENOMEM;
    }
    const char *tmp = getenv("TMPDIR");
    char *templ = sparse__path_join(tmp && *tmp ? tmp : "/tmp", "sparse-export.XXXXXX");
    if (!templ)
        return SPARSE_ENOMEM;
    if (!mkdtemp(templ)) {
        int rc =
            sparse__error(SPARSE_EIO, "cannot create a temporary directory %s: %s", templ, strerror(errno));
        free(templ);
        return rc;
    }
    w->path = templ;
    w->temporary = 1;
    return SPARSE_OK;
}

int sparse__workdir_file(sparse__workdir *w, const char *name, char **out)
{
    *out = sparse__path_join(w->path, name);
    char **f = *out ? sparse__realloc(w->files, (w->n_files + 1) * sizeof *f) : NULL;
    if (!f) {
        free(*out);
        *out = NULL;
        return SPARSE_ENOMEM;
    }
    w->files = f;
    w->files[w->n_files] = sparse__strdup(*out);
    if (!w->files[w->n_files]) {
        free(*out);
        *out = NULL;
        return SPARSE_ENOMEM;
    }
    w->n_files++;
    return SPARSE_OK;
}

void sparse__workdir_close(sparse__workdir *w)
{
    for (size_t i = 0; i < w->n_files; i++) {
        if (w->temporary)
            unlink(w->files[i]);
        free(w->files[i]);
    }
    if (w->temporary && w->path)
        rmdir(w->path);
    free(w->files);
    free(w->path);
    memset(w, 0, sizeof *w);
}
