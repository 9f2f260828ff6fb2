#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "internal.h"

/* open(2)'s error for a path that must not be a link: O_NOFOLLOW gives
 * ELOOP, which strerror words as a loop. */
static const char *open_error(int err)
{
    return err == ELOOP ? "is a symbolic link (not followed)" : strerror(err);
}

int sparse__lock_take(const char *path, const char *what, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (*fd < 0)
        return sparse__error(SPARSE_EIO, "%s: cannot open the lock file: %s", path, open_error(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
        /* Who holds it, for the message of whoever is refused; the lock
         * itself does not depend on these bytes. */
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(*fd, 0) == 0 && pwrite(*fd, pid, (size_t)n, 0) != n)
            (void)ftruncate(*fd, 0);
        return SPARSE_OK;
    }
    int err = errno;
    char buf[32] = "";
    ssize_t r = pread(*fd, buf, sizeof buf - 1, 0);
    close(*fd);
    *fd = -1;
    if (err != EWOULDBLOCK)
        return sparse__error(SPARSE_EIO, "%s: cannot lock: %s", path, strerror(err));
    long holder = r > 0 ? strtol(buf, NULL, 10) : 0;
    if (holder > 0)
        return sparse__error(SPARSE_EIO, "%s is in use by process %ld (lock file %s)", what, holder, path);
    return sparse__error(SPARSE_EIO, "%s is in use by another process (lock file %s)", what, path);
}

int sparse__append_open(const char *path, int *fd, off_t *end)
{
    *fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (*fd < 0)
        return sparse__error(SPARSE_EIO, "%s: cannot open for appending: %s", path, open_error(errno));
    struct stat st;
    if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
        int rc = sparse__error(SPARSE_EIO, "%s: not a regular file", path);
        close(*fd);
        *fd = -1;
        return rc;
    }
    *end = st.st_size;
    return SPARSE_OK;
}

int sparse__append_durable(int fd, off_t *end, const void *data, size_t len, const char *path)
{
    const char *p = data;
    size_t done = 0;
    const char *step = "write";
    int err = 0;
    /* One write is the rule; a short one (the disk filling, a file size
     * limit) is retried so that the second says why. */
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    if (!err && fsync(fd)) {
        err = errno;
        step = "fsync";
    }
    if (!err) {
        *end += (off_t)len;
        return SPARSE_OK;
    }
    if (ftruncate(fd, *end))
        return sparse__error(SPARSE_EIO,
                             "%s: %s failed: %s; cutting the %zu bytes written back off failed too: %s", path,
                             step, strerror(err), done, strerror(errno));
    return sparse__error(SPARSE_EIO, "%s: %s failed: %s (nothing of it kept)", path, step, strerror(err));
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsyncs the directory holding path, so that a rename into it lasts. */
static int sync_parent(const char *path)
{
    char *dir = sparse__strdup(path);
    if (!dir)
        return SPARSE_ENOMEM;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        *slash = '\0';
        d = slash == dir ? "/" : dir;
    }
    int rc = SPARSE_OK, dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd))
        rc = sparse__error(SPARSE_EIO, "%s: replaced, but fsync of its directory failed: %s", path,
                           strerror(errno));
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return rc;
}

int sparse__replace_file(const char *path, const void *data, size_t len)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    char *tmp = sparse__buf_detach(&b);
    sparse__buf_free(&b);
    if (!tmp)
        return SPARSE_ENOMEM;
    /* mkstemp creates the name exclusively: never an existing file, never
     * through a link planted there. */
    int fd = mkstemp(tmp), rc = SPARSE_OK;
    if (fd < 0) {
        rc = sparse__error(SPARSE_EIO, "%s: cannot create a temp file beside it: %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) || fchmod(fd, 0644) || write_all(fd, data, len) || fsync(fd))
        rc = sparse__error(SPARSE_EIO, "%s: write failed: %s", tmp, strerror(errno));
    if (close(fd) && !rc)
        rc = sparse__error(SPARSE_EIO, "%s: write failed: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path))
        rc = sparse__error(SPARSE_EIO, "%s: cannot replace it: rename failed: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc ? rc : sync_parent(path);
}

int sparse__read_file_nofollow(const char *path, char **out, size_t *len)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return sparse__error(SPARSE_ENOTFOUND, "%s: no such file", path);
    if (fd < 0)
        return sparse__error(SPARSE_EIO, "%s: cannot open: %s", path, open_error(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return sparse__error(SPARSE_EIO, "%s: not a regular file", path);
    }
    sparse__buf b = SPARSE__BUF_INIT;
    char chunk[65536];
    int rc = SPARSE_OK;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = sparse__error(SPARSE_EIO, "%s: read error: %s", path, strerror(errno));
        if (r <= 0 || (rc = sparse__buf_put(&b, chunk, (size_t)r)))
            break;
    }
    close(fd);
    size_t l = b.len;
    char *s = rc ? NULL : sparse__buf_detach(&b);
    sparse__buf_free(&b);
    if (!rc && !s)
        rc = SPARSE_ENOMEM;
    if (rc)
        return rc;
    *out = s;
    if (len)
        *len = l;
    return SPARSE_OK;
}
