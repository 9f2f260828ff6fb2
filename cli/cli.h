/* The `sparse` command: shared helpers of the subcommands. The CLI only
 * calls libsparse's public API. */
#ifndef SPARSE_CLI_H
#define SPARSE_CLI_H

#include <stdio.h>

#include "sparse/sparse.h"

/* Exit statuses: 0 success, 1 error, 2 usage error. */
#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

/* Prints "sparse: error: <fmt>" to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "sparse: error: <what>: <sparse_last_error()>"; returns CLI_ERROR. */
int cli_lib_error(int rc, const char *what);
/* Prints "sparse: usage error: <fmt>" plus a pointer to --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing for option values; return 0 on success. */
int cli_parse_long(const char *s, long min, long max, long *out);
int cli_parse_double(const char *s, double *out);

/* Options every command takes (--quiet, --help's listing of it) and what
 * they govern. stderr is one per process, so how much goes to it is process
 * state set once while parsing, not a flag threaded through every helper. */

/* 1 if arg is an option every command takes (and records it), else 0. */
int cli_common_option(const char *arg);
/* Help lines for the options every command takes; width is that of the
 * option column (descriptions start at column width + 2), as in the
 * command's own lines. */
void cli_common_help(FILE *f, int width);
/* Non-zero unless --quiet: notes and per-trial lines may go to stderr. */
int cli_verbose(void);
/* Non-zero when a live progress line may go to stderr: not --quiet and
 * stderr is a terminal (redirected, "\r" updates only clutter the log). */
int cli_progress(void);
/* Prints "sparse: <fmt>" and a newline on stderr unless --quiet. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s);

/* Subcommands: argv[0] is the subcommand name. */
int cli_cmd_data(int argc, char **argv);
int cli_cmd_train(int argc, char **argv);
int cli_cmd_memory(int argc, char **argv);
int cli_cmd_eval(int argc, char **argv);
int cli_cmd_search(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_export_arch(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);

#endif
