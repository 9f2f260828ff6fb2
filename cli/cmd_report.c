/* `sparsenas report`: the HTML report (and the Pareto figure) of a run, for a
 * run written before the search kept one, or into another file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct report_args {
    const char *dir, *out, *svg;
} report_args;

#define F(m) offsetof(report_args, m)
static const cli_opt report_opts[] = {
    {.type = CLI_STRING, .name = "output", .short_name = 'o', .arg = "FILE", .field = F(out),
     .help = "write the page to FILE (default: DIR/report.html)"},
    CLI_OPT_STRING("svg", "FILE", F(svg), "also write the Pareto figure (as pareto.svg) to FILE"),
    {0},
};
static const cli_spec report_spec = {
    .name = "report", .opts = report_opts, .args = {F(dir)}, .n_args = 1,
    .usage = "Usage: sparsenas report DIR [-o FILE.html] [--svg FILE.svg]\n\n"
             "Writes the run in DIR as one self-contained HTML page (inline SVG, CSS and\n"
             "JavaScript; nothing fetched): the Pareto figure, the front, every trial in a\n"
             "table sorted by a click on a column, and each front network's diagram and\n"
             "memory table. A search rewrites DIR/report.html as it goes.\n",
};

int cli_cmd_report(int argc, char **argv)
{
    report_args a = {0};
    int rc = cli_parse(&report_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.dir)
        return cli_usage("report", "missing DIR");
    sparse_run *run;
    int status = cli_open_run(&run, a.dir, -1, "report");
    if (status)
        return status;
    char *path = NULL;
    if (!a.out) {
        size_t len = strlen(a.dir) + sizeof "/report.html";
        if ((path = malloc(len)))
            snprintf(path, len, "%s/report.html", a.dir);
    }
    const char *html = a.out ? a.out : path;
    rc = html ? sparse_run_write_report_html(run, html) : SPARSE_ENOMEM;
    if (!rc && a.svg)
        rc = sparse_run_write_pareto_svg(run, a.svg);
    if (!rc && cli_verbose())
        fprintf(stderr, "wrote %s%s%s\n", html, a.svg ? " and " : "", a.svg ? a.svg : "");
    sparse_run_free(run);
    free(path);
    return rc ? cli_lib_error(rc, "report") : CLI_OK;
}
