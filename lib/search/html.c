/* report.html: a run as one self-contained page (inline SVG, CSS and a few
 * lines of JavaScript, nothing fetched): the Pareto figure, the front, every
 * trial in a table sorted by a click on a column, and each front network's
 * diagram and memory table. The search rewrites it as it goes
 * (sparse__write_report); sparse_run_write_report_html writes it for any
 * run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/durable.h"
#include "../core/internal.h"
#include "search_internal.h"

static const char style[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:1200px}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:13px;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "th{background:#f0f3f8;cursor:pointer;user-select:none}td:first-child,th:first-child{text-align:left}"
    "tr.front td{background:#e8f0fe}tr.failed td{color:#999}"
    "th.asc::after{content:' \\25b2'}th.desc::after{content:' \\25bc'}"
    "svg text{font-family:sans-serif}svg.net{display:block}svg.net .layer{fill:#e8f0fe;stroke:#456}"
    "svg.net .name{font-size:12px}svg.net .dim{font-size:11px;fill:#444}"
    "svg.net .edge{fill:none;stroke:#456;stroke-width:1.5}.net-row{display:flex;gap:2em;flex-wrap:wrap}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{color:#555}dd{margin:0}";

/* Sorts a table by the clicked column: numbers as numbers, blanks last. */
static const char script[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "t.querySelectorAll('thead th').forEach(function(th,i){th.addEventListener('click',function(){"
    "var asc=!th.classList.contains('asc');t.querySelectorAll('thead th').forEach(function(h){"
    "h.classList.remove('asc','desc')});th.classList.add(asc?'asc':'desc');var b=t.tBodies[0];"
    "var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){"
    "var p=x.cells[i].textContent,q=y.cells[i].textContent,u=parseFloat(p),v=parseFloat(q);"
    "if(p==='')return 1;if(q==='')return -1;var c=isNaN(u)||isNaN(v)?p.localeCompare(q):u-v;"
    "return asc?c:-c});rows.forEach(function(r){b.appendChild(r)})})})});";

static double value(const sparse_run *run, size_t id, int field)
{
    double v = -1;
    sparse_run_trial_value(run, id, field, &v);
    return v;
}

/* A cell: v with the format, or empty when not measured. */
static void num(sparse__buf *b, const char *fmt, double v, double scale)
{
    sparse__buf_puts(b, "<td>");
    if (v >= 0)
        sparse__buf_printf(b, fmt, scale * v);
    sparse__buf_puts(b, "</td>");
}

static const char *const trial_columns[] = {
    "id", "stage", "parent", "val %", "post %", "test %", "int8 test %", "MS (B)", "WM5 (B)", "WM6 (B)",
    "non-zeros", "epochs", "seconds", "feasible"};

static void trial_row(sparse__buf *b, const sparse_run *run, size_t id, int on_front)
{
    int ok = value(run, id, SPARSE_TRIAL_OK) == 1;
    sparse__buf_printf(b, "<tr%s><td>%zu</td>", on_front ? " class=\"front\"" : ok ? "" : " class=\"failed\"", id);
    double stage = value(run, id, SPARSE_TRIAL_STAGE);
    sparse__buf_printf(b, "<td>%s</td>", stage == 4 ? "final" : stage == 1 ? "1" : stage == 2 ? "2" : "3");
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_PARENT), 1);
    if (!ok) {
        sparse__buf_puts(b, "<td>failed</td>");
        for (size_t c = 4; c < sizeof trial_columns / sizeof trial_columns[0]; c++)
            sparse__buf_puts(b, "<td></td>");
        sparse__buf_puts(b, "</tr>\n");
        return;
    }
    num(b, "%.2f", value(run, id, SPARSE_TRIAL_VAL_ACCURACY), 100);
    num(b, "%.2f", value(run, id, SPARSE_TRIAL_POSTERIOR_ACCURACY), 100);
    num(b, "%.2f", value(run, id, SPARSE_TRIAL_TEST_ACCURACY), 100);
    num(b, "%.2f", value(run, id, SPARSE_TRIAL_INT8_TEST_ACCURACY), 100);
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_MS_BYTES), 1);
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_WM5_BYTES), 1);
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_WM6_BYTES), 1);
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_PARAMS), 1);
    num(b, "%.0f", value(run, id, SPARSE_TRIAL_EPOCHS), 1);
    num(b, "%.1f", value(run, id, SPARSE_TRIAL_SECONDS), 1);
    sparse__buf_printf(b, "<td>%s</td></tr>\n", value(run, id, SPARSE_TRIAL_FEASIBLE) == 1 ? "yes" : "no");
}

/* A table of trials: the ids given (the front) or, with ids NULL, all. */
static void trial_table(sparse__buf *b, const sparse_run *run, const size_t *ids, size_t count,
                        const size_t *front, size_t nfront)
{
    sparse__buf_puts(b, "<table class=\"sortable\"><thead><tr>");
    for (size_t c = 0; c < sizeof trial_columns / sizeof trial_columns[0]; c++)
        sparse__buf_printf(b, "<th>%s</th>", trial_columns[c]);
    sparse__buf_puts(b, "</tr></thead><tbody>\n");
    size_t n = ids ? count : sparse_run_trial_count(run);
    for (size_t i = 0; i < n; i++) {
        size_t id = 0;
        if (ids)
            id = ids[i];
        else if (sparse_run_trial_id(run, i, &id))
            continue;
        int on_front = 0;
        for (size_t f = 0; f < nfront && !on_front; f++)
            on_front = front[f] == id;
        trial_row(b, run, id, on_front && !ids);
    }
    sparse__buf_puts(b, "</tbody></table>\n");
}

/* The run's settings that the figures depend on. */
static void summary(sparse__buf *b, const sparse_run *run, const char *title, size_t nfront)
{
    const sparse_search_config *cfg = sparse__run_config(run);
    sparse__buf_puts(b, "<h1>SpArSe run ");
    sparse__buf_xml(b, title);
    sparse__buf_puts(b, "</h1>\n<dl><dt>data</dt><dd>");
    sparse__buf_xml(b, cfg->data ? cfg->data : "");
    sparse__buf_printf(b, "</dd><dt>trials</dt><dd>%zu recorded, %zu on the front</dd>", sparse_run_trial_count(run),
                       nfront);
    sparse__buf_puts(b, "<dt>budgets</dt><dd>");
    if (cfg->budget_ms > 0)
        sparse__buf_printf(b, "MS %.0f B ", cfg->budget_ms);
    if (cfg->budget_wm > 0)
        sparse__buf_printf(b, "WM%d %.0f B", cfg->wm_model, cfg->budget_wm);
    if (!(cfg->budget_ms > 0) && !(cfg->budget_wm > 0))
        sparse__buf_puts(b, "none");
    sparse__buf_printf(b, "</dd><dt>objectives</dt><dd>%s accuracy, MS, WM%d</dd>",
                       cfg->rank_posterior ? "posterior mean of the validation" : "validation", cfg->wm_model);
    for (size_t i = 0; i < sparse_run_warning_count(run); i++) {
        sparse__buf_puts(b, "<dt>warning</dt><dd>");
        sparse__buf_xml(b, sparse_run_warning(run, i, NULL));
        sparse__buf_puts(b, "</dd>");
    }
    sparse__buf_puts(b, "</dl>\n");
}

/* Each front network: its figures, diagram and memory table. A network
 * whose weights cannot be read is named with the reason, not dropped. */
static int front_networks(sparse__buf *b, const sparse_run *run, const size_t *front, size_t count)
{
    const sparse_search_config *cfg = sparse__run_config(run);
    for (size_t f = 0; f < count; f++) {
        size_t id = front[f];
        sparse__buf_printf(b, "<h3 id=\"trial-%zu\">trial %zu: validation %.2f%%, test %.2f%%, MS %.0f B, WM%d "
                              "%.0f B</h3>\n",
                           id, id, 100 * value(run, id, SPARSE_TRIAL_VAL_ACCURACY),
                           100 * value(run, id, SPARSE_TRIAL_TEST_ACCURACY), value(run, id, SPARSE_TRIAL_MS_BYTES),
                           cfg->wm_model,
                           value(run, id, cfg->wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES));
        sparse_net *net = NULL;
        int rc = sparse_run_trial_net(&net, NULL, run, id);
        if (rc == SPARSE_ENOMEM)
            return rc;
        sparse__buf_puts(b, "<div class=\"net-row\">");
        char *text = NULL;
        if (!rc)
            rc = sparse__net_html(&text, net, cfg->wm_model);
        if (text)
            sparse__buf_puts(b, text);
        free(text);
        sparse_net_free(net);
        if (rc == SPARSE_ENOMEM)
            return rc;
        if (rc) {
            sparse__buf_puts(b, "<p>not shown: ");
            sparse__buf_xml(b, sparse_last_error());
            sparse__buf_puts(b, "</p>");
            sparse_clear_error();
        }
        sparse__buf_puts(b, "</div>\n");
    }
    return SPARSE_OK;
}

int sparse__report_html(char **out, const sparse_run *run, const char *title)
{
    size_t *front = NULL, count = 0;
    char *svg = NULL;
    *out = NULL;
    int rc = sparse__run_front(run, &front, &count);
    if (!rc)
        rc = sparse__pareto_svg(&svg, run, NULL, 0);
    sparse__buf b = SPARSE__BUF_INIT;
    if (!rc) {
        sparse__buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SpArSe run ");
        sparse__buf_xml(&b, title);
        sparse__buf_printf(&b, "</title>\n<style>%s</style></head><body>\n", style);
        summary(&b, run, title, count);
        sparse__buf_printf(&b, "<h2>Pareto front</h2>\n%s<h2>Front (%zu)</h2>\n", svg, count);
        trial_table(&b, run, front, count, NULL, 0);
        sparse__buf_printf(&b, "<h2>All trials (%zu; click a column to sort)</h2>\n", sparse_run_trial_count(run));
        trial_table(&b, run, NULL, 0, front, count);
        sparse__buf_puts(&b, "<h2>Front networks</h2>\n<p>Each layer with its output shape (channels x height x "
                             "width), window and memory; batch norm and ReLU folded into the layer they follow."
                             "</p>\n");
        rc = front_networks(&b, run, front, count);
        sparse__buf_printf(&b, "<script>%s</script>\n</body></html>\n", script);
    }
    if (!rc && !(*out = sparse__buf_detach(&b)))
        rc = sparse__error(SPARSE_ENOMEM, "out of memory writing the report of %s", title);
    sparse__buf_free(&b);
    free(svg);
    free(front);
    return rc;
}

SPARSE_API int sparse_run_write_report_html(const sparse_run *run, const char *path)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(path);
    char *html = NULL;
    int rc = sparse__report_html(&html, run, sparse__run_dir(run));
    if (!rc)
        rc = sparse__replace_file(path, html, strlen(html));
    free(html);
    return rc;
}
