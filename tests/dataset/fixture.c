#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/sparse.h"

#include "data_files.h"
#include "fixture.h"

char *path_of(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tmpdir, name);
    return buf;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Image i, pixel j has value (i * 7 + j * 3) % 256; label i % classes. */
size_t make_images(unsigned char *buf, uint32_t n, uint32_t h, uint32_t w)
{
    put_be32(buf, 0x803);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < h * w; j++)
            buf[16 + i * h * w + j] = (unsigned char)((i * 7 + j * 3) % 256);
    return 16 + (size_t)n * h * w;
}

size_t make_labels(unsigned char *buf, uint32_t n, uint32_t classes)
{
    put_be32(buf, 0x801);
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (unsigned char)(i % classes);
    return 8 + (size_t)n;
}

/* Writes NAME_PREFIX-images / -labels with n images of h x w. */
void write_idx_pair(const char *img, const char *lab, uint32_t n, uint32_t h, uint32_t w, uint32_t classes,
                    int gz)
{
    unsigned char *b = malloc(16 + (size_t)n * h * w);
    assert_non_null(b);
    write_bytes(img, b, make_images(b, n, h, w), gz);
    write_bytes(lab, b, make_labels(b, n, classes), gz);
    free(b);
}

void expect_error(int rc, int code, const char *s1, const char *s2)
{
    assert_int_equal(rc, code);
    const char *msg = sparse_last_error();
    if (s1 && !strstr(msg, s1))
        fail_msg("message '%s' lacks '%s'", msg, s1);
    if (s2 && !strstr(msg, s2))
        fail_msg("message '%s' lacks '%s'", msg, s2);
}

void write_text(const char *path, const char *s)
{
    write_bytes(path, (const unsigned char *)s, strlen(s), 0);
}
