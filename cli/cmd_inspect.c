/* `sparsenas inspect`: the Pareto front (or every trial) of a run directory. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct inspect_args {
    const char *dir, *out, *svg, *compare, *compare_label;
    long trial;
    int all, json, dot;
} inspect_args;

#define F(m) offsetof(inspect_args, m)
static const cli_opt inspect_opts[] = {
    CLI_OPT_FLAG("all", F(all), "every trial, not only the front (failed ones with their reason)"),
    {.type = CLI_LONG, .name = "trial", .arg = "ID", .field = F(trial), .min = 0, .max = 100000000,
     .expect = "be a trial id", .help = "the trial for --dot, by its id (the id column)"},
    CLI_OPT_FLAG("dot", F(dot),
                 "a Graphviz diagram of trial ID's network, each layer annotated with\n"
                 "its MS and WM before and after pruning (render: dot -Tsvg FILE.dot)"),
    {.type = CLI_STRING, .name = "output", .short_name = 'o', .arg = "FILE", .field = F(out),
     .help = "write the diagram to FILE instead of stdout"},
    CLI_OPT_STRING("svg", "FILE", F(svg),
                   "write the run's Pareto plot (pareto.svg) to FILE, with --compare's\n"
                   "front drawn beside it"),
    CLI_OPT_STRING("compare", "DIR", F(compare),
                   "another run whose front --svg draws as reference points (e.g. the\n"
                   "same search without pruning: the paper's Fig. 3a)"),
    CLI_OPT_STRING("compare-label", "TEXT", F(compare_label), "their legend (default: DIR's front)"),
    CLI_OPT_FLAG("json", F(json),
                 "one JSON object (schema, command, run, wm_model, input_downsampling,\n"
                 "boxes, trials; every key in docs/json.md, null where unknown)\n"
                 "instead of the table"),
    {0},
};
static const cli_spec inspect_spec = {
    .name = "inspect", .opts = inspect_opts, .args = {F(dir)}, .n_args = 1,
    .usage =
        "Usage: sparsenas inspect DIR [--all] [--json]\n"
        "       sparsenas inspect DIR --trial ID --dot [-o FILE.dot]\n"
        "       sparsenas inspect DIR --svg FILE.svg [--compare DIR2 [--compare-label TEXT]]\n\n"
        "Prints the Pareto front of a search run (accuracy, MS, WM) as a table, grouped by\n"
        "budget box (the config's final.boxes, else its budgets), the most accurate first, each\n"
        "box with the trial to take for it: each trial's validation accuracy with its binomial\n"
        "standard error (se), the surrogate's posterior mean of it with its sd (post%, se: what\n"
        "the front ranks by), test and int8 test accuracy, MS, WM, the int8 deployment's flash\n"
        "and arena bytes, whether it meets the budgets (feas), and the epochs trained (* stopped\n"
        "early by its learning curve). With --all, failed trials follow with their reason.\n",
};

/* Node id of the memory report's node called name, or SIZE_MAX. */
static size_t report_node(const sparse_memreport *r, const char *name)
{
    size_t id = SIZE_MAX;
    if (sparse_memreport_node_find(r, name, &id))
        sparse_clear_error();
    return id;
}

/* MS and WM (the run's model) of the layer called name; -1 when the report
 * has no such layer. */
static void node_figures(const sparse_memreport *r, const char *name, int wm_model, double *ms, double *wm)
{
    size_t id = report_node(r, name);
    uint64_t w = 0, m = 0, layer = 0;
    *ms = *wm = -1;
    if (id == SIZE_MAX || sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_IS_LAYER, &layer) || !layer)
        return;
    sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_NONZEROS, &w);
    sparse_memreport_node_value(r, id, wm_model == 6 ? SPARSE_MEMFIELD_WM6 : SPARSE_MEMFIELD_WM5, &m);
    *ms = (double)w;
    *wm = (double)m;
}

/* One diagram node: name, kind, shape (and channels kept), [MS, WM] before
 * and after pruning, then the edges from its inputs. */
static void dot_node(FILE *f, const sparse_net *g, size_t id, const sparse_net *net,
                     const sparse_memreport *rb, const sparse_memreport *ra, int wm_model)
{
    const char *name = sparse_net_node_name(g, id);
    size_t c = 0, h = 0, w = 0, kept = 0, aid;
    sparse_net_node_shape(g, id, &c, &h, &w);
    double msb, wmb, msa, wma;
    node_figures(rb, name, wm_model, &msb, &wmb);
    node_figures(ra, name, wm_model, &msa, &wma);
    int gone = sparse_net_find_node(net, name, &aid) != SPARSE_OK;
    if (!gone) {
        size_t ah = 0, aw = 0;
        sparse_net_node_shape(net, aid, &kept, &ah, &aw);
    }
    fprintf(f, "  n%zu [label=\"%s\\n%s %zux%zux%zu", id, name,
            sparse_layer_kind_name(sparse_net_node_kind(g, id)), c, h, w);
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    int kind = sparse_net_node_kind(g, id);
    if (!sparse_net_node_info(g, id, &info) && info.kernel &&
        (kind == SPARSE_LAYER_CONV2D || kind == SPARSE_LAYER_DEPTHWISE_CONV2D || kind == SPARSE_LAYER_MAXPOOL ||
         kind == SPARSE_LAYER_AVGPOOL))
        fprintf(f, ", %zux%zu kernel, stride %zu", info.kernel, info.kernel, info.stride);
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

/* Graphviz diagram of a trial's network, like the paper's Figure 1: every
 * layer with [MS, WM] before and after pruning, WM by the run's model, and
 * the trial's recorded totals in the title. Before pruning counts every
 * weight (the variational network's are all kept); after, the non-zeros. */
static int write_dot(const sparse_run *run, size_t trial, const char *path)
{
    sparse_net *net = NULL, *before = NULL;
    sparse_memreport *rb = NULL, *ra = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT, dense = SPARSE_MEMORY_OPTIONS_INIT;
    dense.dense = 1;
    int wm_model = 5;
    int rc = sparse_run_wm_model(run, &wm_model);
    if (!rc && !(rc = sparse_run_input_downsampling(run, &mo.input_downsampling)))
        dense.input_downsampling = mo.input_downsampling;
    if (!rc)
        rc = sparse_run_trial_net(&net, &before, run, trial);
    if (!rc)
        rc = sparse_memreport_from_net(&ra, net, &mo);
    if (!rc)
        rc = sparse_memreport_from_net(&rb, before ? before : net, before ? &dense : &mo);
    FILE *f = NULL;
    int status = rc ? cli_lib_error(rc, "inspect --dot") : cli_output_open(&f, path, "inspect");
    if (!status) {
        double acc = 0, ms = 0, wm = 0;
        sparse_run_trial_value(run, trial, SPARSE_TRIAL_VAL_ACCURACY, &acc);
        sparse_run_trial_value(run, trial, SPARSE_TRIAL_MS_BYTES, &ms);
        const int wm_field = wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES;
        sparse_run_trial_value(run, trial, wm_field, &wm);
        const sparse_net *g = before ? before : net;
        uint64_t ms_b = 0, wm_b = 0, ms_a = 0, wm_a = 0;
        sparse_memreport_ms_bytes(rb, &ms_b);
        sparse_memreport_wm_bytes(rb, wm_model, &wm_b, NULL);
        sparse_memreport_ms_bytes(ra, &ms_a);
        sparse_memreport_wm_bytes(ra, wm_model, &wm_a, NULL);
        fprintf(f,
                "digraph trial_%zu {\n  rankdir=TB;\n"
                "  node [shape=box, fontname=\"sans-serif\", fontsize=10];\n"
                "  label=\"trial %zu: validation accuracy %.2f%%, MS %.0f B, WM%d %.0f B; "
                "per layer [MS, WM%d] in bytes, before -> after pruning\\n"
                "total before -> after pruning: [%" PRIu64 ", %" PRIu64 "] -> [%" PRIu64 ", %" PRIu64 "]\";\n",
                trial, trial, 100 * acc, ms, wm_model, wm, wm_model, ms_b, wm_b, ms_a, wm_a);
        for (size_t id = 0; id < sparse_net_node_count(g); id++)
            dot_node(f, g, id, net, rb, ra, wm_model);
        fputs("}\n", f);
        status = cli_output_close(f, path, "inspect");
    }
    sparse_memreport_free(ra);
    sparse_memreport_free(rb);
    sparse_net_free(net);
    sparse_net_free(before);
    return status;
}

/* The run's Pareto plot with the front of the run in a->compare drawn as
 * reference points (validation accuracy, MS, WM: what the plot draws). */
static int write_svg(const sparse_run *run, const inspect_args *a)
{
    sparse_run *other = NULL;
    size_t *ids = NULL, count = 0;
    sparse_plot_reference *refs = NULL;
    char label[64];
    snprintf(label, sizeof label, "%.40s front", a->compare ? a->compare : "");
    int status = a->compare ? cli_open_run(&other, a->compare, -1, "inspect --compare") : CLI_OK;
    int rc = SPARSE_OK, wm_model = 5;
    if (!status && other) {
        count = sparse_run_trial_count(other);
        ids = malloc((count ? count : 1) * sizeof *ids);
        refs = calloc(count ? count : 1, sizeof *refs);
        if (!ids || !refs)
            status = cli_error("out of memory");
        else if ((rc = sparse_run_pareto(other, ids, &count)) || (rc = sparse_run_wm_model(run, &wm_model)))
            status = cli_lib_error(rc, "inspect --compare");
    }
    for (size_t i = 0; !status && other && i < count; i++) {
        refs[i].label = a->compare_label ? a->compare_label : label;
        sparse_run_trial_value(other, ids[i], SPARSE_TRIAL_VAL_ACCURACY, &refs[i].accuracy);
        sparse_run_trial_value(other, ids[i], SPARSE_TRIAL_MS_BYTES, &refs[i].ms_bytes);
        sparse_run_trial_value(other, ids[i],
                               wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES, &refs[i].wm_bytes);
    }
    sparse_plot_options po = SPARSE_PLOT_OPTIONS_INIT;
    po.references = refs;
    po.reference_count = other ? count : 0;
    if (!status && (rc = sparse_run_write_pareto_svg_ext(run, a->svg, &po)))
        status = cli_lib_error(rc, "inspect --svg");
    free(ids);
    free(refs);
    sparse_run_free(other);
    return status;
}

int cli_cmd_inspect(int argc, char **argv)
{
    inspect_args a = {.trial = -1};
    int rc = cli_parse(&inspect_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.dir)
        return cli_usage("inspect", "missing the run directory");
    if (a.dot && a.trial < 0)
        return cli_usage("inspect", "--dot needs --trial ID");
    if ((a.compare || a.compare_label) && !a.svg)
        return cli_usage("inspect", "--compare and --compare-label need --svg FILE");
    sparse_run *run;
    int status = cli_open_run(&run, a.dir, a.dot ? a.trial : -1, "inspect");
    if (status)
        return status;
    size_t n = sparse_run_trial_count(run), count = n;
    size_t *idx = a.dot || a.svg ? NULL : malloc((n ? n : 1) * sizeof *idx);
    if (a.dot)
        status = write_dot(run, (size_t)a.trial, a.out);
    else if (a.svg)
        status = write_svg(run, &a);
    else if (!idx)
        status = cli_error("out of memory");
    else if (!a.all && (rc = sparse_run_pareto(run, idx, &count)))
        status = cli_lib_error(rc, "inspect");
    else {
        if (!a.all && !count && n) {
            cli_note("no trial succeeded: every trial of the run, with why it failed");
            count = n;
        }
        for (size_t i = 0; count == n && i < n; i++)
            sparse_run_trial_id(run, i, &idx[i]); /* ids, not lines: a run may miss one */
        status = cli_inspect_print(run, a.dir, idx, count, a.json);
    }
    free(idx);
    sparse_run_free(run);
    return status;
}
