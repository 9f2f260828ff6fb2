#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void sparse__buf_free(sparse__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

int sparse__buf_grow(sparse__buf *b, size_t extra)
{
    if (b->failed)
        return SPARSE_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return SPARSE_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = sparse__realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return SPARSE_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return SPARSE_OK;
}

int sparse__buf_put(sparse__buf *b, const char *s, size_t n)
{
    int rc = sparse__buf_grow(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SPARSE_OK;
}

int sparse__buf_puts(sparse__buf *b, const char *s) { return sparse__buf_put(b, s, strlen(s)); }

int sparse__buf_printf(sparse__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return sparse__error(SPARSE_EINTERNAL, "sparse__buf_printf: bad format");
    int rc = sparse__buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SPARSE_OK;
}

/* The code point of the UTF-8 sequence at p that YAML (libyaml, which
 * reads the library's configs and run files back) does not take raw in a
 * quoted scalar, or 0: C1 controls (U+0085 NEL is a line break there and
 * would be folded), U+2028/U+2029 (breaks), U+FEFF, U+FFFE and U+FFFF.
 * JSON takes them escaped as well. *len: the sequence's length. */
static unsigned yaml_unsafe(const unsigned char *p, size_t *len)
{
    if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
        *len = 2;
        return p[1];
    }
    if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        *len = 3;
        return 0x2000u + (p[2] - 0x80u);
    }
    if (p[0] == 0xEF && ((p[1] == 0xBB && p[2] == 0xBF) || (p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)))) {
        *len = 3;
        return 0xF000u + ((p[1] & 0x3Fu) << 6) + (p[2] & 0x3Fu);
    }
    return 0;
}

int sparse__buf_json_string(sparse__buf *b, const char *s)
{
    int rc = sparse__buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        size_t len = 1;
        unsigned cp = yaml_unsafe(p, &len);
        if (cp) {
            rc = sparse__buf_printf(b, "\\u%04x", cp);
            p += len - 1;
            continue;
        }
        switch (*p) {
        case '"': rc = sparse__buf_put(b, "\\\"", 2); break;
        case '\\': rc = sparse__buf_put(b, "\\\\", 2); break;
        case '\n': rc = sparse__buf_put(b, "\\n", 2); break;
        case '\r': rc = sparse__buf_put(b, "\\r", 2); break;
        case '\t': rc = sparse__buf_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                rc = sparse__buf_printf(b, "\\u%04x", *p);
            else
                rc = sparse__buf_put(b, (const char *)p, 1);
        }
    }
    return rc ? rc : sparse__buf_put(b, "\"", 1);
}

int sparse__buf_json_double(sparse__buf *b, double v)
{
    if (!isfinite(v))
        return sparse__buf_puts(b, "null");
    if (v == floor(v) && fabs(v) < 1e15)
        return sparse__buf_printf(b, "%.0f", v);
    /* %.17g always round-trips; try shorter forms first for readability. */
    char tmp[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return sparse__buf_puts(b, tmp);
}

char *sparse__buf_detach(sparse__buf *b)
{
    if (b->failed || (!b->data && sparse__buf_grow(b, 0))) {
        /* The text so far is released here: callers only check for NULL. */
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        return NULL;
    }
    b->data[b->len] = '\0'; /* sparse__buf_grow does not terminate a new buffer */
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

int sparse__buf_xml(sparse__buf *b, const char *s)
{
    int rc = SPARSE_OK;
    for (; !rc && *s; s++) {
        switch (*s) {
        case '&': rc = sparse__buf_puts(b, "&amp;"); break;
        case '<': rc = sparse__buf_puts(b, "&lt;"); break;
        case '>': rc = sparse__buf_puts(b, "&gt;"); break;
        case '"': rc = sparse__buf_puts(b, "&quot;"); break;
        case '\'': rc = sparse__buf_puts(b, "&#39;"); break;
        default: rc = sparse__buf_put(b, s, 1);
        }
    }
    return rc;
}
