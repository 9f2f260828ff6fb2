/* `sparse inspect`: the Pareto front (or every trial) of a run directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void inspect_help(FILE *f)
{
    fprintf(f, "Usage: sparse inspect DIR [--all] [--json]\n"
               "       sparse inspect DIR --trial ID --dot [-o FILE.dot]\n\n"
               "Prints the Pareto front of a search run (validation accuracy, MS, WM) as a table.\n\n"
               "Options:\n"
               "  --all             every trial, not only the front\n"
               "  --trial ID --dot  a Graphviz diagram of trial ID's network, each layer annotated with\n"
               "                    its MS and WM before and after pruning (render: dot -Tsvg FILE.dot)\n"
               "  -o FILE           write the diagram to FILE instead of stdout\n"
               "  --json            an array of objects (id, val_accuracy, test_accuracy,\n"
               "                    ms_bytes, wm5_bytes, wm6_bytes, params, stage, ok, parent,\n"
               "                    int8_test_accuracy; null where unknown) instead of the table\n");
    cli_common_help(f, 18);
}

/* Index of the report node called name, or SIZE_MAX. */
static size_t report_node(const sparse_memreport *r, const char *name)
{
    size_t n = 0;
    sparse_memreport_node_count(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *s;
        if (!sparse_memreport_node_name(r, i, &s) && !strcmp(s, name))
            return i;
    }
    return SIZE_MAX;
}

static void node_figures(const sparse_memreport *r, const char *name, int wm_model, int nonzero, double *ms,
                         double *wm)
{
    size_t id = report_node(r, name);
    uint64_t x = 0, y = 0, w = 0, layer = 0;
    *ms = *wm = -1;
    if (id == SIZE_MAX || sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_IS_LAYER, &layer) || !layer)
        return;
    sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_X, &x);
    sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_Y, &y);
    sparse_memreport_node_value(r, id, nonzero ? SPARSE_MEMFIELD_NONZEROS : SPARSE_MEMFIELD_WEIGHTS, &w);
    *ms = (double)w;
    *wm = (double)(wm_model == 6 ? x + y : x + w);
}

/* Graphviz diagram of a trial's network, like the paper's Figure 1: every
 * layer with [MS, WM] before and after pruning. */
static int write_dot(sparse_run *run, size_t trial, const char *path)
{
    sparse_net *net = NULL, *before = NULL;
    sparse_memreport *rb = NULL, *ra = NULL;
    int rc = sparse_run_trial_net(run, trial, &net, &before);
    if (!rc)
        rc = sparse_memreport_from_net(&ra, net, NULL);
    if (!rc)
        rc = sparse_memreport_from_net(&rb, before ? before : net, NULL);
    if (rc) {
        sparse_net_free(net);
        sparse_net_free(before);
        sparse_memreport_free(ra);
        return cli_lib_error(rc, "inspect --dot");
    }
    double wm6 = 0, acc = 0;
    sparse_run_trial_value(run, trial, SPARSE_TRIAL_WM6_BYTES, &wm6);
    sparse_run_trial_value(run, trial, SPARSE_TRIAL_VAL_ACCURACY, &acc);
    int wm_model = 5;
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        rc = cli_error("inspect: cannot write %s", path);
    } else {
        const sparse_net *g = before ? before : net;
        fprintf(f, "digraph trial_%zu {\n  rankdir=TB;\n  node [shape=box, fontname=\"sans-serif\", fontsize=10];\n"
                   "  label=\"trial %zu: validation accuracy %.2f%%; per layer [MS, WM%d] in bytes, before -> after "
                   "pruning\";\n",
                trial, trial, 100 * acc, wm_model);
        for (size_t id = 0; id < sparse_net_node_count(g); id++) {
            const char *name = sparse_net_node_name(g, id);
            size_t c = 0, h = 0, w = 0, kept = 0;
            sparse_net_node_shape(g, id, &c, &h, &w);
            double msb, wmb, msa, wma;
            node_figures(rb, name, wm_model, before == NULL, &msb, &wmb);
            node_figures(ra, name, wm_model, 1, &msa, &wma);
            size_t aid;
            int gone = sparse_net_find_node(net, name, &aid) != SPARSE_OK;
            if (!gone) {
                size_t ac = 0, ah = 0, aw = 0;
                sparse_net_node_shape(net, aid, &ac, &ah, &aw);
                kept = ac;
            }
            fprintf(f, "  n%zu [label=\"%s\\n%s %zux%zux%zu", id, name, sparse_layer_kind_name(sparse_net_node_kind(g, id)),
                    c, h, w);
            if (!gone && kept != c)
                fprintf(f, " -> %zu ch", kept);
            if (msb >= 0)
                fprintf(f, "\\n[%.0f, %.0f] -> [%.0f, %.0f]", msb, wmb, gone ? 0 : msa, gone ? 0 : wma);
            fprintf(f, "\"%s];\n", gone ? ", style=dashed" : msb >= 0 ? ", style=filled, fillcolor=\"#e8f0fe\"" : "");
            for (size_t k = 0; k < sparse_net_node_input_count(g, id); k++) {
                size_t in;
                if (!sparse_net_node_input(g, id, k, &in))
                    fprintf(f, "  n%zu -> n%zu;\n", in, id);
            }
        }
        fputs("}\n", f);
        if (path && fclose(f))
            rc = cli_error("inspect: error writing %s", path);
    }
    (void)wm6;
    sparse_memreport_free(ra);
    sparse_memreport_free(rb);
    sparse_net_free(net);
    sparse_net_free(before);
    return rc;
}

int cli_cmd_inspect(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    int all = 0, json = 0, dot = 0;
    long trial = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return inspect_help(stdout), CLI_OK;
        else if (cli_common_option(argv[i]))
            continue;
        else if (!strcmp(argv[i], "--dot"))
            dot = 1;
        else if (!strcmp(argv[i], "--trial") || !strcmp(argv[i], "-o")) {
            if (i + 1 >= argc)
                return cli_usage("inspect ", "option %s needs a value", argv[i]);
            if (argv[i][1] == 'o')
                out = argv[++i];
            else if (cli_parse_long(argv[++i], 0, 100000000, &trial))
                return cli_usage("inspect ", "--trial must be a trial id, not '%s'", argv[i]);
        }
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
    if (dot && trial < 0)
        return cli_usage("inspect ", "--dot needs --trial ID");
    sparse_run *run;
    int rc = sparse_run_open(&run, dir);
    if (rc)
        return cli_lib_error(rc, "inspect");
    if (dot) {
        if ((size_t)trial >= sparse_run_trial_count(run)) {
            sparse_run_free(run);
            return cli_error("inspect: %s has no trial %ld", dir, trial);
        }
        rc = write_dot(run, (size_t)trial, out);
        sparse_run_free(run);
        return rc;
    }
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
                                 SPARSE_TRIAL_STAGE,        SPARSE_TRIAL_OK,           SPARSE_TRIAL_PARENT,
                                 SPARSE_TRIAL_INT8_TEST_ACCURACY};
    static const char *const names[] = {"val_accuracy", "test_accuracy", "ms_bytes", "wm5_bytes", "wm6_bytes",
                                        "params",       "stage",         "ok",       "parent",
                                        "int8_test_accuracy"};
    enum { NF = sizeof fields / sizeof fields[0] };
    if (json)
        putchar('[');
    else
        printf("%6s %8s %8s %8s %8s %8s %8s %8s %6s %6s\n", "id", "val%", "test%", "int8%", "MS(B)", "WM5(B)",
               "WM6(B)", "params", "stage", "parent");
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
            printf("%6zu %8s %8s %8s %8s %8s %8s %8s %6.0f %6.0f\n", idx[j], "failed", "-", "-", "-", "-", "-", "-",
                   v[6], v[8]);
        } else {
            char int8[16] = "-";
            if (v[9] >= 0)
                snprintf(int8, sizeof int8, "%.2f", 100 * v[9]);
            printf("%6zu %8.2f %8.2f %8s %8.0f %8.0f %8.0f %8.0f %6.0f %6.0f\n", idx[j], 100 * v[0], 100 * v[1], int8,
                   v[2], v[3], v[4], v[5], v[6], v[8]);
        }
    }
    if (json)
        puts("]");
    free(idx);
    sparse_run_free(run);
    return CLI_OK;
}
