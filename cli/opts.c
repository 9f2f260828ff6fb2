/* One option parser for every command (see opts.h): the table becomes
 * getopt_long's arguments, getopt_long's answers become values or usage
 * errors, and the same table prints --help. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

/* getopt_long's code of a long-only option: LONG_CODE + its table index
 * (options with a short name answer with that character). */
#define LONG_CODE 256
#define MAX_OPTS 64
/* --help's option column: labels up to this wide get their help aligned. */
#define MAX_LABEL 24

static const cli_opt common_opts[] = {
    {.type = CLI_FLAG, .name = "quiet", .short_name = 'q',
     .help = "nothing on stderr but errors: no progress or notes"},
    {.type = CLI_FLAG, .name = "help", .short_name = 'h', .help = "show this help"},
    {0},
};

static size_t count_opts(const cli_opt *o)
{
    size_t n = 0;
    while (o[n].type != CLI_END)
        n++;
    return n;
}

static int option_code(const cli_opt *o, size_t index)
{
    return o->short_name ? (unsigned char)o->short_name : LONG_CODE + (int)index;
}

/* The option (of the command's or the common ones) getopt_long answered with code. */
static const cli_opt *find_code(const cli_opt *opts, int code)
{
    for (size_t i = 0; opts[i].type != CLI_END; i++)
        if (opts[i].type != CLI_SECTION && option_code(&opts[i], i) == code)
            return &opts[i];
    for (size_t i = 0; common_opts[i].type != CLI_END; i++)
        if (common_opts[i].short_name == code)
            return &common_opts[i];
    return NULL;
}

/* "--name", or "-c" for a short-only option or when the user typed the short form. */
static const char *spelling(const cli_opt *o, int typed_short, char *buf, size_t cap)
{
    if (o->name && !typed_short)
        snprintf(buf, cap, "--%s", o->name);
    else
        snprintf(buf, cap, "-%c", o->short_name);
    return buf;
}

static int in_domain(double v, int domain)
{
    switch (domain) {
    case CLI_POSITIVE:
        return v > 0;
    case CLI_NON_NEGATIVE:
        return v >= 0;
    case CLI_FRACTION:
        return v >= 0 && v < 1;
    default:
        return 1;
    }
}

static int set_value(const cli_opt *o, void *args, const char *v)
{
    void *field = (char *)args + o->field;
    double d;
    switch (o->type) {
    case CLI_FLAG:
        *(int *)field = 1;
        return 0;
    case CLI_STRING:
        *(const char **)field = v;
        return 0;
    case CLI_LONG:
        return cli_parse_long(v, o->min, o->max, (long *)field);
    case CLI_NUMBER:
        if (cli_parse_double(v, &d) || !in_domain(d, o->domain))
            return -1;
        *(double *)field = d;
        return 0;
    case CLI_CHOICE:
        for (const cli_choice *c = o->choices; c->name; c++)
            if (!strcmp(c->name, v)) {
                *(int *)field = c->value;
                return 0;
            }
        return -1;
    case CLI_CUSTOM:
        return o->parse(v, field) ? -1 : 0;
    default:
        return -1;
    }
}

/* What a value of o must be, for "--x must <this>, not 'v'". */
static void expectation(const cli_opt *o, char *buf, size_t cap)
{
    static const char *const domains[] = {"be a finite number", "be a positive number", "be a number >= 0",
                                          "be in [0, 1)"};
    if (o->expect) {
        snprintf(buf, cap, "%s", o->expect);
    } else if (o->type == CLI_LONG && o->max >= INT32_MAX && (o->min == 0 || o->min == 1)) {
        snprintf(buf, cap, "be a %s integer", o->min ? "positive" : "non-negative");
    } else if (o->type == CLI_LONG) {
        snprintf(buf, cap, "be an integer in %ld..%ld", o->min, o->max);
    } else if (o->type == CLI_NUMBER && o->domain >= 0 && o->domain <= CLI_FRACTION) {
        snprintf(buf, cap, "%s", domains[o->domain]);
    } else if (o->type == CLI_CHOICE) {
        size_t len = (size_t)snprintf(buf, cap, "be");
        for (const cli_choice *c = o->choices; c->name && len < cap; c++) {
            const char *sep = c == o->choices ? " " : c[1].name ? ", " : " or ";
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, c->name);
        }
    } else {
        snprintf(buf, cap, "be valid");
    }
}

static int value_error(const cli_spec *spec, const cli_opt *o, const char *v)
{
    char name[64], expect[256];
    expectation(o, expect, sizeof expect);
    return cli_usage(spec->name, "%s must %s, not '%s'", spelling(o, 0, name, sizeof name), expect, v);
}

/* getopt_long answered '?': an unknown or ambiguous option, or a value given
 * to a flag (--json=1). token is the argument it was looking at. */
static int bad_option(const cli_spec *spec, const char *token, int code)
{
    char name[64];
    const cli_opt *o = code ? find_code(spec->opts, code) : NULL;
    if (o && o->type == CLI_FLAG)
        return cli_usage(spec->name, "option %s takes no value", spelling(o, 0, name, sizeof name));
    if (code)
        return cli_usage(spec->name, "unknown option '-%c'", code);
    size_t len = strcspn(token, "=");
    char matches[512] = "";
    size_t n = 0, used = 0;
    const cli_opt *tables[2] = {spec->opts, common_opts};
    for (int t = 0; t < 2; t++)
        for (const cli_opt *p = tables[t]; p->type != CLI_END; p++)
            if (p->name && len > 2 && !strncmp(p->name, token + 2, len - 2) && used < sizeof matches)
                used += (size_t)snprintf(matches + used, sizeof matches - used, "%s--%s", n++ ? ", " : "",
                                         p->name);
    if (n > 1)
        return cli_usage(spec->name, "option '%.*s' is ambiguous: %s", (int)len, token, matches);
    return cli_usage(spec->name, "unknown option '%.*s'", (int)len, token);
}

static int positional(const cli_spec *spec, void *args, size_t *count, const char *arg)
{
    if (*count >= spec->n_args)
        return cli_usage(spec->name, "unexpected argument '%s'", arg);
    *(const char **)((char *)args + spec->args[(*count)++]) = arg;
    return CLI_CONTINUE;
}

/* getopt_long's view of the table: long options and the short ones' string
 * ("-" first: positional arguments come back in order, as code 1; ":" then:
 * a missing value is ':', not '?'). */
static void getopt_tables(const cli_opt *opts, struct option *lo, char *shorts)
{
    size_t k = 0, s = 0;
    shorts[s++] = '-';
    shorts[s++] = ':';
    const cli_opt *tables[2] = {opts, common_opts};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; tables[t][i].type != CLI_END; i++) {
            const cli_opt *o = &tables[t][i];
            if (o->type == CLI_SECTION)
                continue;
            int has_arg = o->type == CLI_FLAG ? no_argument : required_argument;
            if (o->name)
                lo[k++] = (struct option){o->name, has_arg, NULL, option_code(o, i)};
            if (o->short_name) {
                shorts[s++] = o->short_name;
                if (has_arg)
                    shorts[s++] = ':';
            }
        }
    lo[k] = (struct option){0};
    shorts[s] = '\0';
}

static int apply_defaults(const cli_spec *spec, void *args)
{
    for (const cli_opt *o = spec->opts; o->type != CLI_END; o++)
        if (o->def && o->type != CLI_SECTION && set_value(o, args, o->def))
            return cli_error("internal: the default '%s' of --%s is not valid", o->def, o->name);
    return CLI_CONTINUE;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, void *args, int *next)
{
    struct option lo[MAX_OPTS + 3];
    char shorts[3 * MAX_OPTS + 8];
    if (count_opts(spec->opts) > MAX_OPTS || spec->n_args > CLI_MAX_ARGS)
        return cli_error("internal: '%s' declares more than %d options or %d arguments", spec->name, MAX_OPTS,
                         CLI_MAX_ARGS);
    int rc = apply_defaults(spec, args);
    if (rc != CLI_CONTINUE)
        return rc;
    getopt_tables(spec->opts, lo, shorts);
    size_t count = 0;
    if (next)
        *next = argc;
    optind = 0; /* glibc: start afresh (a subcommand parses after its dispatcher) */
    opterr = 0;
    int c;
    char name[64];
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        /* What getopt_long looked at last: for '?' and ':', the option itself. */
        const char *token = argv[optind - 1];
        const int typed_short = token[0] == '-' && token[1] != '-';
        const cli_opt *o = find_code(spec->opts, c == ':' ? optopt : c);
        if (c == 1 && spec->stop_at_arg) {
            if (next)
                *next = optind - 1;
            return CLI_CONTINUE;
        }
        if (c == 1)
            rc = positional(spec, args, &count, optarg);
        else if (c == '?')
            rc = bad_option(spec, token, optopt);
        else if (c == ':' && o)
            rc = cli_usage(spec->name, "option %s needs a value",
                           spelling(o, typed_short, name, sizeof name));
        else if (c == 'q')
            cli_set_quiet();
        else if (c == 'h')
            return cli_help(spec, stdout), CLI_OK;
        else if (!o || set_value(o, args, optarg))
            rc = o ? value_error(spec, o, optarg) : cli_error("internal: option code %d", c);
        if (rc != CLI_CONTINUE)
            return rc;
    }
    /* After "--": all positional. */
    if (optind < argc && spec->stop_at_arg) {
        if (next)
            *next = optind;
        return CLI_CONTINUE;
    }
    for (; optind < argc; optind++)
        if ((rc = positional(spec, args, &count, argv[optind])) != CLI_CONTINUE)
            return rc;
    return CLI_CONTINUE;
}

/* ---- --help ---- */

static size_t label(const cli_opt *o, char *buf, size_t cap)
{
    const char *sep = o->arg ? " " : "", *arg = o->arg ? o->arg : "";
    int n;
    if (o->name && o->short_name)
        n = snprintf(buf, cap, "-%c, --%s%s%s", o->short_name, o->name, sep, arg);
    else if (o->name)
        n = snprintf(buf, cap, "--%s%s%s", o->name, sep, arg);
    else
        n = snprintf(buf, cap, "-%c%s%s", o->short_name, sep, arg);
    return n < 0 ? 0 : (size_t)n;
}

static size_t label_width(const cli_opt *opts)
{
    size_t width = 0;
    char buf[128];
    const cli_opt *tables[2] = {opts, common_opts};
    for (int t = 0; t < 2; t++)
        for (const cli_opt *o = tables[t]; o->type != CLI_END; o++) {
            size_t n = o->type == CLI_SECTION ? 0 : label(o, buf, sizeof buf);
            if (n <= MAX_LABEL && n > width)
                width = n;
        }
    return width + 2;
}

/* "  LABEL  help", more help lines aligned under the first, the default last. */
static void print_opt(FILE *f, const cli_opt *o, size_t width)
{
    char buf[128];
    size_t n = label(o, buf, sizeof buf);
    fprintf(f, "  %s%*s", buf, n + 2 > width ? 2 : (int)(width - n), "");
    const char *h = o->help ? o->help : "";
    for (;;) {
        size_t len = strcspn(h, "\n");
        fwrite(h, 1, len, f);
        if (!h[len])
            break;
        h += len + 1;
        fprintf(f, "\n  %*s", (int)width, "");
    }
    if (o->def)
        fprintf(f, " (default %s)", o->def);
    fputc('\n', f);
}

void cli_help(const cli_spec *spec, FILE *f)
{
    size_t width = label_width(spec->opts);
    int options_seen = 0, common_done = 0;
    fputs(spec->usage, f);
    if (spec->opts[0].type != CLI_SECTION)
        fputs("\nOptions:\n", f);
    for (const cli_opt *o = spec->opts; o->type != CLI_END; o++) {
        if (o->type == CLI_SECTION) {
            /* The common options close the first group of options. */
            if (options_seen && !common_done) {
                for (const cli_opt *c = common_opts; c->type != CLI_END; c++)
                    print_opt(f, c, width);
                common_done = 1;
            }
            fprintf(f, "\n%s\n", o->help);
            continue;
        }
        print_opt(f, o, width);
        options_seen = 1;
    }
    for (const cli_opt *c = common_opts; !common_done && c->type != CLI_END; c++)
        print_opt(f, c, width);
    if (spec->epilog)
        fputs(spec->epilog, f);
}
