/* The command line's option parser and its number, size and duration
 * parsers (cli/opts.c, cli/util.c): the input is argv, one argument per
 * line, parsed against a table with an option of every kind; then its first
 * line alone through each value parser. What a parser accepts must be in
 * its range: a violation traps, as a crash would. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/cli.h"
#include "fuzz.h"

typedef struct fuzz_args {
    const char *a, *b, *str;
    long count, small;
    double any, pos, nonneg, frac, secs;
    int flag, choice;
} fuzz_args;

#define F(m) offsetof(fuzz_args, m)
static const cli_choice choices[] = {{"im2col", 1}, {"cmsis", 2}, {"none", 3}, {NULL, 0}};
static const cli_opt opts[] = {
    CLI_OPT_FLAG("flag", F(flag), "a flag"),
    CLI_OPT_STRING("str", "S", F(str), "a string"),
    {.type = CLI_LONG, .name = "count", .short_name = 'n', .arg = "N", .field = F(count), .min = 1, .max = 10000000},
    {.type = CLI_LONG, .name = "small", .arg = "K", .field = F(small), .min = -5, .max = 5, .def = "0"},
    {.type = CLI_NUMBER, .name = "any", .arg = "X", .field = F(any), .domain = CLI_ANY_NUMBER},
    {.type = CLI_NUMBER, .name = "pos", .arg = "X", .field = F(pos), .domain = CLI_POSITIVE, .def = "1e-3"},
    {.type = CLI_NUMBER, .name = "nonneg", .arg = "X", .field = F(nonneg), .domain = CLI_NON_NEGATIVE},
    {.type = CLI_NUMBER, .name = "frac", .arg = "X", .field = F(frac), .domain = CLI_FRACTION},
    {.type = CLI_CHOICE, .name = "scratch", .arg = "M", .field = F(choice), .choices = choices},
    {.type = CLI_CUSTOM, .name = "time-budget", .arg = "T", .field = F(secs), .parse = cli_parse_duration},
    {0},
};
static const cli_spec spec = {.name = "fuzz", .opts = opts, .args = {F(a), F(b)}, .n_args = 2,
                              .usage = "Usage: sparsenas fuzz [OPTIONS] A B\n"};

#define MAX_ARGS 32

/* Help and usage errors go to /dev/null under libFuzzer (its own output
 * and the sanitizers' reports do not go through these streams). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FILE *null = fopen("/dev/null", "w");
    if (null)
        stdout = stderr = null;
    return 0;
}

static void check_values(const char *s)
{
    long l;
    double d;
    static const long ranges[][2] = {{1, 10000000}, {0, 1024}, {-5, 5}, {0, 0}, {-2147483647L, 2147483647L}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (!cli_parse_long(s, ranges[i][0], ranges[i][1], &l) && (l < ranges[i][0] || l > ranges[i][1]))
            __builtin_trap();
    if (!cli_parse_double(s, &d) && !isfinite(d))
        __builtin_trap();
    if (!cli_parse_duration(s, &d) && !(isfinite(d) && d >= 0))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 2] = {"sparse fuzz"};
    int argc = 1;
    for (char *p = text; argc < MAX_ARGS;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    argv[argc] = NULL;
    check_values(argv[1]);
    fuzz_args a;
    memset(&a, 0, sizeof a);
    int rc = cli_parse(&spec, argc, argv, &a, NULL);
    if (rc == CLI_CONTINUE) {
        if (a.count && (a.count < 1 || a.count > 10000000))
            __builtin_trap();
        if (a.small < -5 || a.small > 5 || !isfinite(a.any) || !(a.pos > 0) || a.nonneg < 0 ||
            !(a.frac >= 0 && a.frac < 1) || !(isfinite(a.secs) && a.secs >= 0))
            __builtin_trap();
    }
    free(text);
    return 0;
}
