/*
 * Private to lib/export/: running the toolchain (spawn.c), building a model
 * object and reading its sizes (build.c), shared by the build and
 * verification entry points.
 */
#ifndef SPARSE_EXPORT_INTERNAL_H
#define SPARSE_EXPORT_INTERNAL_H

#include <stddef.h>

#include "sparse/experimental.h"
#include "sparse/export.h"

/* tools/embed.c, from examples/deploy/. */
extern const char sparse__fw_main_c[], sparse__fw_startup_c[], sparse__fw_board_ld[];

/* Runs argv[0] (looked up in PATH) with exactly argv, stdin from /dev/null,
 * stdout and stderr captured together into *output (NUL-terminated, owned
 * by the caller, at most 16 MB kept). Killed after timeout_s seconds
 * (SPARSE_EIO). *status is the exit status, or 128 + the signal. A program
 * that cannot be started is SPARSE_ENOTFOUND, naming it and `hint`. */
int sparse__run_tool(char *const *argv, double timeout_s, const char *hint, char **output, int *status);
/* sparse__run_tool that requires exit status 0: otherwise SPARSE_EIO with
 * `what`, the command's status and the tail of its output. output may be
 * NULL. */
int sparse__run_ok(char *const *argv, double timeout_s, const char *hint, const char *what, char **output);

/* A directory for build products: tc->work_dir (created if missing), or a
 * new temporary one that sparse__workdir_close removes with the files it
 * was asked to create there. */
typedef struct sparse__workdir {
    char *path;
    int temporary;
    char **files; /* created files, removed with a temporary directory */
    size_t n_files;
} sparse__workdir;
int sparse__workdir_open(sparse__workdir *w, const char *dir);
/* path/name, remembered for removal. *out owned by the caller. */
int sparse__workdir_file(sparse__workdir *w, const char *name, char **out);
void sparse__workdir_close(sparse__workdir *w);

/* tc with its defaults filled in (tc may be NULL). */
int sparse__toolchain_resolve(const sparse_exp_toolchain *tc, sparse_exp_toolchain *out);
/* "host", "cortex-m0plus", ... or NULL for an unknown target. */
const char *sparse__target_cpu(int target);

/* Compiles dir/PREFIX.c into an object in w for tc's target, with the flags
 * the generated code promises to pass (C99, -pedantic, -Wall -Wextra
 * -Werror, -ffreestanding) and -Os -ffunction-sections -fdata-sections
 * (-mthumb -mcpu=... for a Cortex-M). For a Cortex-M, the object's sections
 * (arm-none-eabi-size -A) go to *res and an undefined soft-float helper
 * (__aeabi_f*, __aeabi_d*, ...) is SPARSE_EUNSUPPORTED naming it. *object
 * (may be NULL) gets the object's path, owned by the caller. */
int sparse__build_model(const char *dir, const char *prefix, const sparse_exp_toolchain *tc,
                        sparse__workdir *w, sparse_exp_build_result *res, char **object);
/* Sections of an object or executable file (`size -A`) added into *res. */
int sparse__read_sizes(const char *file, const char *prefix, const sparse_exp_toolchain *tc,
                       sparse_exp_build_result *res);
/* dir/name (owned by the caller), or NULL (ENOMEM recorded). */
char *sparse__path_join(const char *dir, const char *name);

#endif
