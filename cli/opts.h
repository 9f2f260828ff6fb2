/* The options of a `sparsenas` command, declared once in a table: getopt_long
 * parses them (GNU syntax: --opt=value, --opt value, unique prefixes of long
 * names, short options where a table gives them, -- ends the options) and
 * --help is printed from the same table, defaults included.
 *
 * A command keeps its options in a struct of its own; each table entry names
 * a field of that struct by offsetof and says how to read the value into it:
 *
 *     typedef struct export_args { const char *dir; long trial; int json; } export_args;
 *     #define F(m) offsetof(export_args, m)
 *     static const cli_opt export_opts[] = {
 *         CLI_OPT_LONG("trial", "ID", F(trial), 0, 100000000, NULL, "the trial"),
 *         CLI_OPT_FLAG("json", F(json), "print one JSON object"),
 *         {0},
 *     };
 *     static const cli_spec export_spec = {.name = "export", .opts = export_opts,
 *                                          .args = {F(dir)}, .n_args = 1,
 *                                          .usage = "Usage: sparsenas export DIR --trial ID\n"};
 *     ...
 *     export_args a = {.trial = -1};
 *     int rc = cli_parse(&export_spec, argc, argv, &a, NULL);
 *     if (rc != CLI_CONTINUE)
 *         return rc;            (--help printed: 0; a usage error reported: 2)
 *
 * -q/--quiet and -h/--help are every command's and need no entry. */
#ifndef SPARSE_CLI_OPTS_H
#define SPARSE_CLI_OPTS_H

#include <stddef.h>
#include <stdio.h>

/* cli_parse's status when the command should go on (every other status is
 * the command's exit status). */
#define CLI_CONTINUE (-1)
/* Positional arguments a command may declare. */
#define CLI_MAX_ARGS 4

typedef enum cli_opt_type {
    CLI_END = 0,  /* ends a table: {0} */
    CLI_FLAG,     /* no value; sets an int field to 1 */
    CLI_STRING,   /* const char * field, borrowed from argv */
    CLI_LONG,     /* long field, an integer in [min, max] */
    CLI_NUMBER,   /* double field, a finite number in `domain` */
    CLI_CHOICE,   /* int field, the value of the named choice */
    CLI_CUSTOM,   /* parse(value, field) returns 0 when it accepts value */
    CLI_SECTION   /* not an option: a heading (help) before the next entries in --help */
} cli_opt_type;

/* Numbers a CLI_NUMBER option accepts. */
typedef enum cli_domain {
    CLI_ANY_NUMBER = 0, /* finite */
    CLI_POSITIVE,       /* > 0 */
    CLI_NON_NEGATIVE,   /* >= 0 */
    CLI_FRACTION        /* in [0, 1) */
} cli_domain;

typedef struct cli_choice {
    const char *name;
    int value;
} cli_choice;

typedef struct cli_opt {
    int type;                /* cli_opt_type */
    const char *name;        /* long name without "--"; NULL for a short-only option */
    char short_name;         /* 0 for none */
    const char *arg;         /* the value's name in --help ("N", "FILE"); NULL for flags */
    const char *help;        /* one --help line per '\n'-separated part */
    const char *def;         /* default: parsed into the field before argv, shown in --help;
                                NULL leaves the field as the caller set it */
    size_t field;            /* offsetof(the command's struct, the field) */
    long min, max;           /* CLI_LONG */
    int domain;              /* CLI_NUMBER: cli_domain */
    const cli_choice *choices; /* CLI_CHOICE: ended by {NULL, 0} */
    int (*parse)(const char *value, void *field); /* CLI_CUSTOM */
    const char *expect;      /* what a bad value is told it must be ("be a trial id");
                                NULL: said from the type and range */
} cli_opt;

#define CLI_OPT_FLAG(name_, field_, help_) \
    {.type = CLI_FLAG, .name = (name_), .field = (field_), .help = (help_)}
#define CLI_OPT_STRING(name_, arg_, field_, help_) \
    {.type = CLI_STRING, .name = (name_), .arg = (arg_), .field = (field_), .help = (help_)}
#define CLI_OPT_LONG(name_, arg_, field_, min_, max_, def_, help_)                                       \
    {.type = CLI_LONG, .name = (name_), .arg = (arg_), .field = (field_), .min = (min_), .max = (max_), \
     .def = (def_), .help = (help_)}
#define CLI_OPT_NUMBER(name_, arg_, field_, domain_, def_, help_)                                   \
    {.type = CLI_NUMBER, .name = (name_), .arg = (arg_), .field = (field_), .domain = (domain_), \
     .def = (def_), .help = (help_)}
#define CLI_OPT_CHOICE(name_, arg_, field_, choices_, def_, help_)                                     \
    {.type = CLI_CHOICE, .name = (name_), .arg = (arg_), .field = (field_), .choices = (choices_), \
     .def = (def_), .help = (help_)}
#define CLI_SECTION_TEXT(text_) {.type = CLI_SECTION, .help = (text_)}

typedef struct cli_spec {
    const char *name;         /* "train", "data info": in messages and "Try 'sparsenas NAME --help'" */
    const char *usage;        /* --help's first part: usage lines and what the command does */
    const cli_opt *opts;      /* the options, ended by {0} */
    const char *epilog;       /* --help's last part, or NULL */
    size_t args[CLI_MAX_ARGS]; /* where positional arguments go: offsets of const char * fields */
    size_t n_args;            /* how many positional arguments the command takes, at most CLI_MAX_ARGS */
    int stop_at_arg;          /* 1: stop at the first positional argument (a subcommand's name) */
} cli_spec;

/*
 * Parses argv[1 .. argc-1] into the struct at args: first every default of the
 * table, then the options and positional arguments in argv's order. Returns
 * CLI_CONTINUE when the command should run, CLI_OK after printing --help on
 * stdout, CLI_USAGE after reporting a usage error (unknown or ambiguous option,
 * missing or bad value, too many arguments). With stop_at_arg, *next gets the
 * index in argv of the first positional argument (argc if none); next may be
 * NULL otherwise.
 */
int cli_parse(const cli_spec *spec, int argc, char **argv, void *args, int *next);

/* Prints spec's --help on f. */
void cli_help(const cli_spec *spec, FILE *f);

#endif
