#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sparsenas: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_ERROR;
}

int cli_lib_error(int rc, const char *what)
{
    const char *msg = sparse_last_error();
    return cli_error("%s: %s", what, msg && *msg ? msg : sparse_strerror(rc));
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("sparsenas: usage error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sparsenas %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

static int quiet;

void cli_set_quiet(void)
{
    quiet = 1;
}

int cli_verbose(void)
{
    return !quiet;
}

int cli_progress(void)
{
    static int tty = -1; /* progress callbacks ask often; stderr does not change */
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    return !quiet && tty;
}

void cli_note(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    fputs("sparsenas: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, void *field)
{
    double *out = field;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    double unit = 1;
    if (!strcmp(end, "h"))
        unit = 3600;
    else if (!strcmp(end, "m"))
        unit = 60;
    else if (*end && strcmp(end, "s"))
        return -1;
    if (!isfinite(v * unit)) /* 1e308h */
        return -1;
    *out = v * unit;
    return 0;
}

sparse_json *cli_json_open(const char *command)
{
    sparse_json *j = NULL;
    if (sparse_json_create(&j)) {
        cli_lib_error(SPARSE_ENOMEM, command);
        return NULL;
    }
    sparse_json_begin(j, 0);
    sparse_json_key(j, "schema");
    sparse_json_integer(j, CLI_JSON_SCHEMA);
    sparse_json_key(j, "command");
    sparse_json_string(j, command);
    return j;
}

void cli_json_value(sparse_json *j, double v)
{
    if (v < 0)
        sparse_json_null(j);
    else
        sparse_json_number(j, v);
}

void cli_json_members(sparse_json *j, const char *const *keys, const double *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sparse_json_key(j, keys[i]);
        sparse_json_number(j, values[i]);
    }
}

int cli_json_finish(sparse_json *j, const char *what)
{
    const char *text = NULL;
    int rc = sparse_json_end(j);
    if (!rc)
        rc = sparse_json_text(j, &text);
    if (!rc)
        puts(text);
    sparse_json_free(j);
    return rc ? cli_lib_error(rc, what) : CLI_OK;
}

int cli_parse_shape(const char *s, void *field)
{
    size_t *shape = field;
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        if (*p < '1' || *p > '9')
            return -1;
        unsigned long v = strtoul(p, &end, 10);
        if (errno || v > 65536 || *end != (i < 2 ? 'x' : '\0'))
            return -1;
        shape[i] = (size_t)v;
        p = end + 1;
    }
    return 0;
}
