/* `sparse inspect`: the Pareto front (or every trial) of a run directory. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void inspect_help(FILE *f)
{
    fprintf(f, "Usage: sparse inspect DIR [--all] [--json]\n\n"
               "Prints the Pareto front of a search run (validation accuracy, MS, WM) as a table.\n\n"
               "Options:\n"
               "  --all    every trial, not only the front\n"
               "  --json   an array of objects (id, val_accuracy, test_accuracy, ms_bytes, wm5_bytes,\n"
               "           wm6_bytes, params, stage, ok) instead of the table\n");
}

int cli_cmd_inspect(int argc, char **argv)
{
    const char *dir = NULL;
    int all = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return inspect_help(stdout), CLI_OK;
        else if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage("inspect ", "unknown option '%s'", argv[i]);
        else if (!dir)
            dir = argv[i];
        else
            return cli_usage("inspect ", "unexpected argument '%s'", argv[i]);
    }
    if (!dir)
        return cli_usage("inspect ", "missing the run directory");
    sparse_run *run;
    int rc = sparse_run_open(&run, dir);
    if (rc)
        return cli_lib_error(rc, "inspect");
    size_t n = sparse_run_trial_count(run), count = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        sparse_run_free(run);
        return cli_error("out of memory");
    }
    if (all) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        count = n;
    } else if ((rc = sparse_run_pareto(run, idx, &count))) {
        free(idx);
        sparse_run_free(run);
        return cli_lib_error(rc, "inspect");
    }
    static const int fields[] = {SPARSE_TRIAL_VAL_ACCURACY, SPARSE_TRIAL_TEST_ACCURACY, SPARSE_TRIAL_MS_BYTES,
                                 SPARSE_TRIAL_WM5_BYTES,    SPARSE_TRIAL_WM6_BYTES,    SPARSE_TRIAL_PARAMS,
                                 SPARSE_TRIAL_STAGE,        SPARSE_TRIAL_OK,           SPARSE_TRIAL_PARENT};
    static const char *const names[] = {"val_accuracy", "test_accuracy", "ms_bytes", "wm5_bytes", "wm6_bytes",
                                        "params",       "stage",         "ok",       "parent"};
    enum { NF = sizeof fields / sizeof fields[0] };
    if (json)
        putchar('[');
    else
        printf("%6s %8s %8s %8s %8s %8s %8s %6s %6s\n", "id", "val%", "test%", "MS(B)", "WM5(B)", "WM6(B)",
               "params", "stage", "parent");
    for (size_t j = 0; j < count; j++) {
        double v[NF];
        for (int f = 0; f < NF; f++)
            sparse_run_trial_value(run, idx[j], fields[f], &v[f]);
        if (json) {
            printf("%s{\"id\":%zu", j ? "," : "", idx[j]);
            for (int f = 0; f < NF; f++) {
                if (fields[f] == SPARSE_TRIAL_OK)
                    printf(",\"ok\":%s", v[f] == 1 ? "true" : "false");
                else if (v[f] < 0 && fields[f] != SPARSE_TRIAL_STAGE)
                    printf(",\"%s\":null", names[f]);
                else
                    printf(",\"%s\":%.10g", names[f], v[f]);
            }
            putchar('}');
        } else if (v[7] != 1) {
            printf("%6zu %8s %8s %8s %8s %8s %8s %6.0f %6.0f\n", idx[j], "failed", "-", "-", "-", "-", "-", v[6], v[8]);
        } else {
            printf("%6zu %8.2f %8.2f %8.0f %8.0f %8.0f %8.0f %6.0f %6.0f\n", idx[j], 100 * v[0], 100 * v[1], v[2],
                   v[3], v[4], v[5], v[6], v[8]);
        }
    }
    if (json)
        puts("]");
    free(idx);
    sparse_run_free(run);
    return CLI_OK;
}
