/* The `sparsenas` command: shared helpers of the subcommands. The CLI only
 * calls libsparse's public API. */
#ifndef SPARSE_CLI_H
#define SPARSE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "opts.h"
#include "sparse/sparse.h"

/* Exit statuses: 0 success, 1 error, 2 usage error. */
#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

/* Prints "sparsenas: error: <fmt>" to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "sparsenas: error: <what>: <sparse_last_error()>"; returns CLI_ERROR. */
int cli_lib_error(int rc, const char *what);
/* Prints "sparsenas: usage error: <fmt>" plus a pointer to the --help of cmd
 * ("train", "data info"; NULL: the command's own); returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing for option values; return 0 on success. */
int cli_parse_long(const char *s, long min, long max, long *out);
int cli_parse_double(const char *s, double *out);
/* "90", "90s", "15m", "2h" -> seconds into the double *field (a CLI_CUSTOM
 * parser); 0 on success. */
int cli_parse_duration(const char *s, void *field);

/* How much goes to stderr. stderr is one per process, so this is process
 * state set once while parsing (-q/--quiet), not a flag threaded through
 * every helper. */
void cli_set_quiet(void);
/* Non-zero unless --quiet: notes and per-trial lines may go to stderr. */
int cli_verbose(void);
/* Non-zero when a live progress line may go to stderr: not --quiet and
 * stderr is a terminal (redirected, "\r" updates only clutter the log). */
int cli_progress(void);
/* Prints "sparsenas: <fmt>" and a newline on stderr unless --quiet. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every --json output is one object made with the library's writer
 * (sparse_json), opened by cli_json_open with "schema" (CLI_JSON_SCHEMA)
 * and "command" (docs/json.md); NULL (reported) when out of memory. */
#define CLI_JSON_SCHEMA 1
sparse_json *cli_json_open(const char *command);
/* A figure: null when v < 0 (not measured). */
void cli_json_value(sparse_json *j, double v);
/* n members keys[i]: values[i] (numbers, written as they are). */
void cli_json_members(sparse_json *j, const char *const *keys, const double *values, size_t n);
/* Closes the object, prints it and a newline on stdout and frees j. CLI status. */
int cli_json_finish(sparse_json *j, const char *what);

/* ---- Output files (loaders.c) ---- */

/* Opens path for writing, or gives stdout when path is NULL. what names
 * the output in messages. CLI status. */
int cli_output_open(FILE **f, const char *path, const char *what);
/* Closes what cli_output_open gave (stdout is only flushed). CLI status. */
int cli_output_close(FILE *f, const char *path, const char *what);
/* text to path (stdout when NULL). CLI status. */
int cli_write_text(const char *path, const char *text, const char *what);

/* ---- Data sets, networks and runs shared by the commands (loaders.c) ---- */

/* A data set and how to split it, as --data, --val, --seed and --max-train give it. */
typedef struct cli_data {
    const char *spec; /* mnist, an MNIST directory or a CSV file */
    long val;         /* validation images held out of the training split */
    long seed;        /* seed of a CSV file's split */
    long max_train;   /* 0: all training images */
    size_t shape[3];  /* --shape: height, width, channels; zeros: a square grey CSV image */
    int layout;       /* --layout: SPARSE_LAYOUT_CHW or SPARSE_LAYOUT_HWC */
    long label_column;
    int val_split;    /* --val-split: sparse_val_split */
} cli_data;

/* "HxWxC" (32x32x3) into a size_t[3] field; 0 on success (a CLI_CUSTOM parser). */
int cli_parse_shape(const char *s, void *field);
extern const cli_choice cli_layouts[];
extern const cli_choice cli_val_splits[];

/* --shape, --layout and --label-column: how a CSV file's rows are images
 * (and the shape an IDX directory's images must have). */
#define CLI_SHAPE_OPTS(T, M)                                                                               \
    {.type = CLI_CUSTOM, .name = "shape", .arg = "HxWxC", .field = offsetof(T, M.shape),                  \
     .parse = cli_parse_shape, .expect = "look like 32x32x3 (height x width x channels)",                 \
     .help = "image shape of a CSV file's rows (default: a square grey image);\n"                        \
             "checked against an IDX directory's images"},                                               \
    CLI_OPT_CHOICE("layout", "chw|hwc", offsetof(T, M.layout), cli_layouts, "chw",                        \
                   "order of a CSV row's values: channel planes (chw) or pixels (hwc)"),                  \
    CLI_OPT_LONG("label-column", "N", offsetof(T, M.label_column), 0, 16777216L, "0",                     \
                 "CSV column holding the label (0 = the first)")

/* --data, --val and the shape options, as every command that reads a data
 * set declares them (its --seed says what else the seed drives). */
#define CLI_DATA_OPTS(T, M)                                                                                \
    CLI_OPT_STRING("data", "SPEC", offsetof(T, M.spec),                                                   \
                   "mnist (cached by 'sparsenas data fetch mnist'), an MNIST directory\n"                   \
                   "or a CSV file (split by --seed)"),                                                    \
    CLI_OPT_LONG("val", "N", offsetof(T, M.val), 0, 2147483647L, "5000",                                  \
                 "validation images held out of the training split (lower it for\nsmall CSV data sets)"), \
    CLI_OPT_CHOICE("val-split", "tail|random", offsetof(T, M.val_split), cli_val_splits, "tail",            \
                   "which images of a directory's training file validate: the last --val\n"                \
                   "(MNIST: the paper's split) or --val drawn by --seed"),                                   \
    CLI_SHAPE_OPTS(T, M)

/* The three splits of a data set; cli_splits_free frees them. */
typedef struct cli_splits {
    sparse_dataset *train, *val, *test;
} cli_splits;

/* Opens d's data set and splits it; reports failures ("data: ..."). With
 * net (may be NULL) holding an input normalisation (stored with its
 * weights), that one is applied instead of the training split's. CLI status. */
int cli_open_data(const cli_data *d, const sparse_net *net, cli_splits *s);
/* The CSV reading options the shape options of d give. */
sparse_csv_options cli_csv_options(const cli_data *d);
void cli_splits_free(cli_splits *s);

/* Builds the network of arch (an architecture YAML) or, when arch is NULL,
 * of the architecture stored in weights (a pruned, compacted network has
 * fewer channels than its YAML), for up to max_batch images, initialised
 * from seed, then reads weights when not NULL (allow_extra: tensors the
 * network does not have, such as pruning's, are ignored). weights_opt names
 * the option that gave weights, in messages. *out is the caller's. CLI status. */
int cli_load_net(sparse_net **out, const char *arch, const char *weights, const char *weights_opt,
                 int allow_extra, size_t max_batch, uint64_t seed);

/* Opens the run directory dir, prints its warnings (lines it could not
 * read, cli_run_warnings) and checks that it has the trial whose id is
 * trial (when trial >= 0). *out is the caller's (sparse_run_free). what
 * names the command in messages. CLI status. */
int cli_open_run(sparse_run **out, const char *dir, long trial, const char *what);
/* "sparsenas: warning: ..." on stderr for each of the run's warnings, unless --quiet. */
void cli_run_warnings(const sparse_run *run);

/* ---- Subcommands: argv[0] is the subcommand name ---- */

int cli_cmd_data(int argc, char **argv);
int cli_cmd_train(int argc, char **argv);
int cli_cmd_memory(int argc, char **argv);
int cli_cmd_eval(int argc, char **argv);
int cli_cmd_search(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
/* inspect_table.c: the trials ids[0 .. count-1] of run (read from dir) as
 * inspect prints them, text or JSON. CLI status. */
int cli_inspect_print(const sparse_run *run, const char *dir, const size_t *ids, size_t count, int json);
int cli_cmd_export_arch(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_report(int argc, char **argv);

/* Writes members[i] of the gzipped tar archive tgz to the new file
 * dests[i] (zlib; regular files; each member must be there): CLI_OK, or
 * CLI_ERROR with the reason printed. */
int cli_untar_gz(const char *tgz, const char *const *members, const char *const *dests, size_t n);

#endif
