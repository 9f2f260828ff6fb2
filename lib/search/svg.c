/* pareto.svg: validation accuracy against model size and against working
 * memory, every trial as a grey dot, the front highlighted, the budgets as
 * dashed lines, and the reference points its caller gives (the run config's
 * plot.references, sparse_plot_options), one colour per label. The plot
 * knows nothing of any data set. Plain SVG 1.1 text, no dependencies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/durable.h"
#include "../core/internal.h"
#include "search_internal.h"

#define PANEL_W 460.0
#define PANEL_H 340.0
#define MARGIN_L 64.0
#define MARGIN_T 44.0
#define GAP 80.0

typedef struct axis {
    double lo, hi; /* log10 of bytes */
    double acc_lo, acc_hi;
} axis;

/* A reference point as drawn: accuracy in percent, sizes in bytes (0: not
 * on that panel). */
typedef struct refpoint {
    const char *label;
    double acc, size[2];
    const char *color;
} refpoint;

/* What one plot shows. */
typedef struct plot {
    const sparse_run *run;
    const sparse_search_config *cfg;
    size_t n, count; /* trials; on the front */
    size_t *front;
    refpoint *refs;
    size_t nrefs;
    axis a;
} plot;

static const char *const palette[] = {"#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
#define NCOLORS (sizeof palette / sizeof palette[0])

static double px_x(const axis *a, int panel, double bytes)
{
    double v = log10(bytes < 1 ? 1 : bytes);
    return MARGIN_L + panel * (PANEL_W + GAP) + (v - a->lo) / (a->hi - a->lo) * PANEL_W;
}

static double px_y(const axis *a, double acc)
{
    return MARGIN_T + (a->acc_hi - acc) / (a->acc_hi - a->acc_lo) * PANEL_H;
}

/* Text from the caller, as SVG character data. */
static void put_text(sparse__buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sparse__buf_puts(b, "&amp;"); break;
        case '<': sparse__buf_puts(b, "&lt;"); break;
        case '>': sparse__buf_puts(b, "&gt;"); break;
        case '"': sparse__buf_puts(b, "&quot;"); break;
        default: sparse__buf_put(b, s, 1);
        }
    }
}

static void frame(sparse__buf *b, const axis *a, int panel, const char *xlabel)
{
    double x0 = MARGIN_L + panel * (PANEL_W + GAP);
    sparse__buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"#444\"/>\n",
                       x0, MARGIN_T, PANEL_W, PANEL_H);
    for (int e = (int)floor(a->lo); e <= (int)ceil(a->hi); e++)
        for (int m = 1; m < 10; m++) {
            double v = log10(m) + e;
            if (v < a->lo || v > a->hi)
                continue;
            double x = x0 + (v - a->lo) / (a->hi - a->lo) * PANEL_W;
            sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, MARGIN_T,
                               x, MARGIN_T + PANEL_H, m == 1 ? "#bbb" : "#eee");
            if (m == 1 || m == 2 || m == 5)
                sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n", x,
                                   MARGIN_T + PANEL_H + 15, pow(10, v));
        }
    double step = a->acc_hi - a->acc_lo > 20 ? 10 : a->acc_hi - a->acc_lo > 5 ? 1 : 0.5;
    for (double acc = ceil(a->acc_lo / step) * step; acc <= a->acc_hi + 1e-9; acc += step) {
        double y = px_y(a, acc);
        sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x0, y,
                           x0 + PANEL_W, y);
        sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n", x0 - 5,
                           y + 4, acc);
    }
    sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">%s</text>\n",
                       x0 + PANEL_W / 2, MARGIN_T + PANEL_H + 34, xlabel);
    sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" "
                          "transform=\"rotate(-90 %.1f %.1f)\">validation accuracy (%%)</text>\n",
                       x0 - 44, MARGIN_T + PANEL_H / 2, x0 - 44, MARGIN_T + PANEL_H / 2);
}

/* Validation accuracy, MS and WM of trial id; 0 for a failed trial. */
static int trial_point(const plot *p, size_t id, double *acc, double *ms, double *wm)
{
    int wm_field = p->cfg->wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES;
    double ok = 0;
    if (sparse_run_trial_value(p->run, id, SPARSE_TRIAL_OK, &ok))
        return 0;
    if (ok != 1)
        return 0;
    sparse_run_trial_value(p->run, id, SPARSE_TRIAL_VAL_ACCURACY, acc);
    sparse_run_trial_value(p->run, id, SPARSE_TRIAL_MS_BYTES, ms);
    sparse_run_trial_value(p->run, id, wm_field, wm);
    return 1;
}

static void widen_axis(axis *a, double acc, double lo_bytes, double hi_bytes)
{
    a->lo = fmin(a->lo, log10(fmax(1, lo_bytes)));
    a->hi = fmax(a->hi, log10(fmax(1, hi_bytes)));
    a->acc_lo = fmin(a->acc_lo, acc);
    a->acc_hi = fmax(a->acc_hi, acc);
}

/* Axes that hold every trial and every reference. */
static void fit_axes(plot *p)
{
    axis a = {9, 0, 100, 0};
    for (size_t i = 0; i < p->n; i++) {
        double acc, ms, wm;
        size_t id = 0;
        if (!sparse_run_trial_id(p->run, i, &id) && trial_point(p, id, &acc, &ms, &wm))
            widen_axis(&a, 100 * acc, fmin(ms, wm), fmax(ms, wm));
    }
    for (size_t r = 0; r < p->nrefs; r++) {
        const double *sz = p->refs[r].size;
        double lo = sz[0] > 0 && sz[1] > 0 ? fmin(sz[0], sz[1]) : fmax(sz[0], sz[1]);
        widen_axis(&a, p->refs[r].acc, lo, fmax(sz[0], sz[1]));
    }
    if (a.lo > a.hi) { /* nothing to plot */
        a.lo = 2;
        a.hi = 4;
        a.acc_lo = 0;
        a.acc_hi = 100;
    }
    /* Keep the interesting part: the top of the accuracy range. */
    a.acc_lo = fmax(a.acc_lo, a.acc_hi - 25);
    a.acc_lo = floor(a.acc_lo) - 0.5;
    a.acc_hi = fmin(100, ceil(a.acc_hi) + 0.5);
    a.lo = floor(a.lo * 10) / 10 - 0.05;
    a.hi = ceil(a.hi * 10) / 10 + 0.05;
    p->a = a;
}

static void draw_budgets(sparse__buf *b, const plot *p)
{
    double budgets[2] = {p->cfg->budget_ms, p->cfg->budget_wm};
    for (int panel = 0; panel < 2; panel++)
        if (budgets[panel] > 0 && log10(budgets[panel]) > p->a.lo && log10(budgets[panel]) < p->a.hi) {
            double x = px_x(&p->a, panel, budgets[panel]);
            sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c33\" "
                                  "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                                  "fill=\"#c33\">budget</text>\n",
                               x, MARGIN_T, x, MARGIN_T + PANEL_H, x + 3, MARGIN_T + 12);
        }
}

/* Every trial in grey, then the front on top. */
static void draw_trials(sparse__buf *b, const plot *p)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < (pass ? p->count : p->n); j++) {
            size_t i = 0;
            if (pass)
                i = p->front[j];
            else if (sparse_run_trial_id(p->run, j, &i))
                continue;
            double acc, ms, wm;
            if (!trial_point(p, i, &acc, &ms, &wm) || 100 * acc < p->a.acc_lo)
                continue;
            const char *style = pass ? "r=\"5\" fill=\"#1f77b4\" stroke=\"#123\"" : "r=\"3\" fill=\"#bbb\"";
            double xs[2] = {px_x(&p->a, 0, ms), px_x(&p->a, 1, wm)};
            for (int panel = 0; panel < 2; panel++)
                sparse__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" %s><title>trial %zu: %.2f%%, MS %.0f B, WM %.0f "
                                      "B</title></circle>\n",
                                   xs[panel], px_y(&p->a, 100 * acc), style, i, 100 * acc, ms, wm);
        }
}

static void draw_references(sparse__buf *b, const plot *p)
{
    for (size_t r = 0; r < p->nrefs; r++) {
        const refpoint *ref = &p->refs[r];
        double y = px_y(&p->a, ref->acc);
        for (int panel = 0; panel < 2; panel++) {
            if (ref->size[panel] <= 0)
                continue;
            double x = px_x(&p->a, panel, ref->size[panel]);
            sparse__buf_printf(b, "<path d=\"M%.1f %.1fl5 5m-10 0l5 -5l5 -5m-10 0l5 5\" stroke=\"%s\" "
                                  "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">",
                               x, y, ref->color, x + 7, y - 6, ref->color);
            put_text(b, ref->label);
            sparse__buf_printf(b, " %.2f%%</text>\n", ref->acc);
        }
    }
}

/* The legend: trials, the front, then one line per reference label. */
static void draw_legend(sparse__buf *b, const plot *p)
{
    double lx = MARGIN_L + 2 * PANEL_W + GAP - 150, ly = MARGIN_T + PANEL_H - 50;
    sparse__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#bbb\"/><text x=\"%.1f\" y=\"%.1f\" "
                          "font-size=\"11\">trial</text>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#1f77b4\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">Pareto front</text>\n",
                       lx, ly, lx + 10, ly + 4, lx, ly + 18, lx + 10, ly + 22);
    double y = ly - 14;
    for (size_t r = p->nrefs; r-- > 0;) {
        size_t first = 0;
        while (strcmp(p->refs[first].label, p->refs[r].label))
            first++;
        if (first != r)
            continue; /* a label's first point names it */
        sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">x ", lx, y, p->refs[r].color);
        put_text(b, p->refs[r].label);
        sparse__buf_puts(b, "</text>\n");
        y -= 16;
    }
}

static char *render(const plot *p)
{
    sparse__buf b = SPARSE__BUF_INIT;
    double width = 2 * PANEL_W + GAP + MARGIN_L + 30, height = PANEL_H + MARGIN_T + 80;
    sparse__buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
                           "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n",
                       width, height, width, height);
    sparse__buf_printf(&b, "<text x=\"%.1f\" y=\"24\" font-size=\"15\">SpArSe search: %zu trials, %zu on the "
                           "front (WM model %d)</text>\n",
                       MARGIN_L, p->n, p->count, p->cfg->wm_model);
    frame(&b, &p->a, 0, "model size MS (bytes, int8)");
    char wm_label[96];
    snprintf(wm_label, sizeof wm_label, "working memory WM%d (bytes, int8%s)", p->cfg->wm_model,
             p->cfg->input_downsampling == SPARSE_INPUT_DOWNSAMPLING_ACQUISITION
                 ? "; input downsampling as acquisition"
                 : "");
    frame(&b, &p->a, 1, wm_label);
    draw_budgets(&b, p);
    draw_trials(&b, p);
    draw_references(&b, p);
    draw_legend(&b, p);
    sparse__buf_puts(&b, "</svg>\n");
    return sparse__buf_detach(&b);
}

/* Reference r of the caller's, checked, as drawn. */
static int take_reference(const sparse_plot_reference *in, size_t r, refpoint *out)
{
    if (!in->label || !in->label[0])
        return sparse__error(SPARSE_EINVAL, "plot reference %zu: no label", r);
    if (!(in->accuracy >= 0 && in->accuracy <= 1))
        return sparse__error(SPARSE_ERANGE, "plot reference %zu ('%s'): accuracy %g is outside [0, 1]", r, in->label,
                             in->accuracy);
    if (!(in->ms_bytes >= 0 && in->ms_bytes <= 1e12 && in->wm_bytes >= 0 && in->wm_bytes <= 1e12) ||
        (in->ms_bytes <= 0 && in->wm_bytes <= 0))
        return sparse__error(SPARSE_ERANGE,
                             "plot reference %zu ('%s'): ms_bytes %g, wm_bytes %g: expected at least one in "
                             "(0, 1e12], the other 0 or in it",
                             r, in->label, in->ms_bytes, in->wm_bytes);
    out->label = in->label;
    out->acc = 100 * in->accuracy;
    out->size[0] = in->ms_bytes;
    out->size[1] = in->wm_bytes;
    return SPARSE_OK;
}

/* The references to draw: the config's (unless opts says not), then the
 * options', each label in its own colour. */
static int gather_references(plot *p, const sparse_plot_options *opts)
{
    size_t from_cfg = opts->config_references ? p->cfg->plot_nrefs : 0;
    p->refs = sparse__calloc(from_cfg + opts->reference_count + 1, sizeof *p->refs);
    if (!p->refs)
        return SPARSE_ENOMEM;
    for (size_t r = 0; r < from_cfg; r++) {
        const sparse__reference *in = &p->cfg->plot_refs[r];
        refpoint ref = {in->label, 100 * in->accuracy, {in->ms, in->wm}, NULL};
        p->refs[p->nrefs++] = ref;
    }
    for (size_t r = 0; r < opts->reference_count; r++) {
        int rc = take_reference(&opts->references[r], r, &p->refs[p->nrefs]);
        if (rc)
            return rc;
        p->nrefs++;
    }
    size_t labels = 0;
    for (size_t r = 0; r < p->nrefs; r++) {
        size_t first = 0;
        while (strcmp(p->refs[first].label, p->refs[r].label))
            first++;
        p->refs[r].color = first < r ? p->refs[first].color : palette[labels++ % NCOLORS];
    }
    return SPARSE_OK;
}

SPARSE__STRUCT_VERSIONS(plot_options_versions, sparse_plot_options, SPARSE_PLOT_OPTIONS_INIT,
                        SPARSE_PLOT_OPTIONS_VERSION, sizeof(sparse_plot_options));

SPARSE_API int sparse_plot_options_init(sparse_plot_options *opts, unsigned version)
{
    return sparse__struct_init(&plot_options_versions, opts, version);
}

SPARSE_API int sparse_run_write_pareto_svg_ext(const sparse_run *run, const char *path,
                                               const sparse_plot_options *opts)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(path);
    sparse_plot_options o;
    int rc = sparse__struct_read(&plot_options_versions, &o, opts, "sparse_run_write_pareto_svg_ext");
    if (rc)
        return rc;
    if (o.reference_count && !o.references)
        return sparse__error(SPARSE_EINVAL, "sparse_plot_options: %zu references but references is NULL",
                             o.reference_count);
    plot p;
    memset(&p, 0, sizeof p);
    p.run = run;
    p.cfg = sparse__run_config(run);
    p.n = sparse_run_trial_count(run);
    rc = sparse__run_front(run, &p.front, &p.count);
    if (!rc)
        rc = gather_references(&p, &o);
    char *svg = NULL;
    if (!rc) {
        fit_axes(&p);
        rc = (svg = render(&p)) ? SPARSE_OK : SPARSE_ENOMEM;
    }
    if (!rc)
        rc = sparse__replace_file(path, svg, strlen(svg));
    free(svg);
    free(p.front);
    free(p.refs);
    return rc;
}

SPARSE_API int sparse_run_write_pareto_svg(const sparse_run *run, const char *path)
{
    return sparse_run_write_pareto_svg_ext(run, path, NULL);
}
