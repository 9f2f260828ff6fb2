#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The only mutable state in the library outside handles: the message of the
 * calling thread's last failure. */
static _Thread_local char tl_message[2048];
static _Thread_local int tl_code;

SPARSE_API const char *sparse_strerror(int code)
{
    switch (code) {
    case SPARSE_OK: return "success";
    case SPARSE_EINVAL: return "invalid argument";
    case SPARSE_ENOMEM: return "out of memory";
    case SPARSE_EIO: return "input/output error";
    case SPARSE_EFORMAT: return "malformed input";
    case SPARSE_ESHAPE: return "shape mismatch";
    case SPARSE_ERANGE: return "value out of range";
    case SPARSE_ENUMERIC: return "numerical failure";
    case SPARSE_EBUDGET: return "budget cannot be met";
    case SPARSE_ECANCELLED: return "cancelled";
    case SPARSE_EVERSION: return "unsupported options version";
    case SPARSE_ENOTFOUND: return "not found";
    case SPARSE_EEMPTY: return "empty result";
    case SPARSE_EUNSUPPORTED: return "unsupported";
    case SPARSE_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

SPARSE_API const char *sparse_last_error(void) { return tl_message; }
SPARSE_API int sparse_last_error_code(void) { return tl_code; }

SPARSE_API void sparse_clear_error(void)
{
    tl_message[0] = '\0';
    tl_code = SPARSE_OK;
}

int sparse__verror(int code, const char *fmt, va_list ap)
{
    tl_code = code;
    if (fmt == NULL) {
        snprintf(tl_message, sizeof tl_message, "%s", sparse_strerror(code));
        return code;
    }
    /* Format into a scratch buffer first: fmt's arguments may point into
     * tl_message itself. Escaped: messages quote input. */
    char tmp[sizeof tl_message];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    sparse__escape(tl_message, sizeof tl_message, tmp);
    return code;
}

int sparse__error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sparse__verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int sparse__error_prefix(int code, const char *fmt, ...)
{
    char raw[512], prefix[512];
    char old[sizeof tl_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sparse__escape(prefix, sizeof prefix, raw);
    memcpy(old, tl_message, sizeof old);
    size_t n = strlen(prefix);
    memcpy(tl_message, prefix, n);
    size_t room = sizeof tl_message - n;
    if (room > 2) {
        memcpy(tl_message + n, ": ", 2);
        size_t m = strnlen(old, room - 3);
        memcpy(tl_message + n + 2, old, m);
        tl_message[n + 2 + m] = '\0';
    } else {
        tl_message[sizeof tl_message - 1] = '\0';
    }
    tl_code = code;
    return code;
}
