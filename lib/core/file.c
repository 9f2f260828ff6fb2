#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "internal.h"

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "not a regular file";
}

static int too_big(const char *path, unsigned long long size, size_t max, const char *limit)
{
    return sparse__error(SPARSE_ERANGE, "%s: %s%llu bytes, more than the %zu allowed (%s)", path,
                         size > max ? "" : "over ", size, max, limit);
}

int sparse__open_regular(const char *path, int *fd, unsigned long long *size)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
     * right after). */
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return sparse__error(SPARSE_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = SPARSE_OK;
    if (fstat(*fd, &st))
        rc = sparse__error(SPARSE_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = sparse__error(SPARSE_EIO, "%s: is %s, not a regular file", path, file_kind(st.st_mode));
    if (rc) {
        close(*fd);
        *fd = -1;
        return rc;
    }
    if (size)
        *size = (unsigned long long)st.st_size;
    return SPARSE_OK;
}

int sparse__read_fd(int fd, const char *path, size_t max, const char *limit, char **out, size_t *len)
{
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st))
        return sparse__error(SPARSE_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sparse__error(SPARSE_EIO, "%s: is %s, not a regular file", path, file_kind(st.st_mode));
    if ((unsigned long long)st.st_size > max)
        return too_big(path, (unsigned long long)st.st_size, max, limit);
    sparse__buf b = SPARSE__BUF_INIT;
    /* The size is a hint (the file may change): reads stop at max anyway. */
    int rc = sparse__buf_grow(&b, (size_t)st.st_size + 1);
    char chunk[65536];
    while (!rc) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = sparse__error(SPARSE_EIO, "%s: read error: %s", path, strerror(errno));
        else if (r == 0)
            break;
        else if ((size_t)r > max - b.len)
            rc = too_big(path, (unsigned long long)b.len + (size_t)r, max, limit);
        else
            rc = sparse__buf_put(&b, chunk, (size_t)r);
    }
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

int sparse__read_file_max(const char *path, size_t max, const char *limit, char **out, size_t *len)
{
    *out = NULL;
    int fd;
    int rc = sparse__open_regular(path, &fd, NULL);
    if (rc)
        return rc;
    rc = sparse__read_fd(fd, path, max, limit, out, len);
    close(fd);
    return rc;
}

int sparse__read_file(const char *path, char **out, size_t *len)
{
    return sparse__read_file_max(path, SPARSE_MAX_TEXT_BYTES, "SPARSE_MAX_TEXT_BYTES", out, len);
}

int sparse__write_file_atomic(const char *path, const void *data, size_t len)
{
    return sparse__replace_file(path, data, len);
}
