#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int sparse__read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sparse__error(SPARSE_EIO, "%s: cannot open: %s", path, strerror(errno));
    sparse__buf b = SPARSE__BUF_INIT;
    char chunk[65536];
    size_t n;
    int rc = SPARSE_OK;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = sparse__buf_put(&b, chunk, n);
    if (!rc && ferror(f))
        rc = sparse__error(SPARSE_EIO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        sparse__buf_free(&b);
        return rc;
    }
    size_t l = b.len;
    char *s = sparse__buf_detach(&b);
    if (!s)
        return SPARSE_ENOMEM;
    *out = s;
    if (len)
        *len = l;
    return SPARSE_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int sparse__write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = sparse__malloc(plen + 32);
    if (!tmp)
        return SPARSE_ENOMEM;
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = sparse__error(SPARSE_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    if (write_all(fd, data, len) || fsync(fd)) {
        int rc = sparse__error(SPARSE_EIO, "%s: write failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    close(fd);
    if (rename(tmp, path)) {
        int rc = sparse__error(SPARSE_EIO, "%s: rename failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    /* Make the rename itself durable. */
    char *dir = sparse__strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        const char *d = ".";
        if (slash) {
            *slash = '\0';
            d = slash == dir ? "/" : dir;
        }
        int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return SPARSE_OK;
}
