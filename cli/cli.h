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

#endif
