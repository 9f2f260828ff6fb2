/*
 * Files that must survive crashes, full disks and a second writer: an
 * advisory lock held for a process's lifetime, records appended so that a
 * failure never leaves a part of one, files replaced atomically without
 * writing through a planted link, and files read without following one.
 * Errors name the file; nothing here prints or exits.
 */
#ifndef SPARSE_CORE_DURABLE_H
#define SPARSE_CORE_DURABLE_H

#include <stddef.h>
#include <sys/types.h>

/* Takes an exclusive advisory lock (flock) on path, created if missing and
 * never through a symbolic link, and writes the caller's pid into it. The
 * lock lasts until *fd is closed; the kernel drops it when the process ends,
 * however it ends (kill -9 included). If another open file holds it:
 * SPARSE_EIO "<what> is in use by process N" (N read from the file when it
 * can be). */
int sparse__lock_take(const char *path, const char *what, int *fd);

/* Opens path for appending (O_APPEND, created if missing, never through a
 * symbolic link) into *fd, and its size into *end. */
int sparse__append_open(const char *path, int *fd, off_t *end);
/* Appends len bytes to fd (opened by sparse__append_open, whose size is
 * *end) and fsyncs. On any failure (a full disk, a file size limit, an I/O
 * error) the file is cut back to *end, so it never keeps a part of the
 * data, and the error names path; on success *end grows by len. */
int sparse__append_durable(int fd, off_t *end, const void *data, size_t len, const char *path);

/* Replaces path with data: a new temp file beside it (created exclusively,
 * never through a link), written, fsynced, renamed over path, then the
 * directory fsynced. A failure at any step removes the temp file and leaves
 * path as it was. */
int sparse__replace_file(const char *path, const void *data, size_t len);

/* Reads the regular file path (NUL-terminated; *len may be NULL) without
 * following a symbolic link: one is SPARSE_EIO naming path, as is a FIFO or
 * a device. SPARSE_ENOTFOUND if path does not exist. */
int sparse__read_file_nofollow(const char *path, char **out, size_t *len);

#endif
