/* pareto.svg: accuracy against model size and against working memory, as
 * a figure for a paper. Every trial a grey dot, the front highlighted, the
 * budgets as dashed lines, and the reference points its caller gives (the
 * run config's plot.references, sparse_plot_options), one colour and one
 * marker per label, named in a legend below the panels: no text is placed
 * among the points, so nothing collides or leaves the frame. The y axis
 * says which accuracy it shows (validation or test). The plot knows nothing
 * of any data set. Plain SVG 1.1 text, no dependencies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/durable.h"
#include "../core/internal.h"
#include "search_internal.h"

#define PANEL_W 460.0
#define PANEL_H 340.0
#define MARGIN_L 70.0
#define MARGIN_R 30.0
#define MARGIN_T 58.0
#define GAP 90.0
#define WIDTH (MARGIN_L + 2 * PANEL_W + GAP + MARGIN_R)
#define LEGEND_Y (MARGIN_T + PANEL_H + 62)
#define LEGEND_ROW 20.0
/* Average advance of an 11-pixel sans-serif character, for laying out the
 * legend and keeping tick labels apart. */
#define CHAR_W 6.4

typedef struct axis {
    double lo, hi; /* log10 of bytes */
    double acc_lo, acc_hi, acc_step;
} axis;

/* A reference point as drawn: accuracy in percent, sizes in bytes (0: not
 * on that panel). */
typedef struct refpoint {
    const char *label;
    double acc, size[2];
    size_t style; /* index of its label among the distinct labels */
} refpoint;

/* What one plot shows. */
typedef struct plot {
    const sparse_run *run;
    const sparse_search_config *cfg;
    int test; /* y axis: test accuracy (else validation) */
    size_t n, count; /* trials; on the front */
    size_t *front;
    refpoint *refs;
    size_t nrefs, nlabels;
    axis a;
} plot;

static const char *const palette[] = {"#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
#define NCOLORS (sizeof palette / sizeof palette[0])
#define NMARKERS 5

static double px_x(const axis *a, int panel, double bytes)
{
    double v = log10(bytes < 1 ? 1 : bytes);
    return MARGIN_L + panel * (PANEL_W + GAP) + (v - a->lo) / (a->hi - a->lo) * PANEL_W;
}

static double px_y(const axis *a, double acc)
{
    return MARGIN_T + (a->acc_hi - acc) / (a->acc_hi - a->acc_lo) * PANEL_H;
}

/* A byte count as a tick label: 500, 2000, 50k. */
static void byte_label(char *s, size_t cap, double v)
{
    if (v < 1e5)
        snprintf(s, cap, "%.0f", v);
    else if (v < 1e8)
        snprintf(s, cap, "%.0fk", v / 1e3);
    else
        snprintf(s, cap, "%.0fM", v / 1e6);
}

/* The mantissas (of 1..9) labelled on the log axis: the most that keep
 * neighbouring labels apart on the panel. Bit m set: m x 10^e labelled. */
static unsigned log_ticks(const axis *a)
{
    static const unsigned sets[] = {0x3fe, 0x2e, 0x26, 0x02}; /* 1-9; 1,2,3,5; 1,2,5; 1 */
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        double last = -1e9, min_gap = 1e9;
        for (int e = (int)floor(a->lo); e <= (int)ceil(a->hi); e++)
            for (int m = 1; m < 10; m++) {
                double v = log10(m) + e;
                if (!(sets[s] >> m & 1) || v < a->lo || v > a->hi)
                    continue;
                double x = (v - a->lo) / (a->hi - a->lo) * PANEL_W;
                char text[32];
                byte_label(text, sizeof text, pow(10, v));
                min_gap = fmin(min_gap, x - last - CHAR_W * (double)strlen(text));
                last = x;
            }
        if (min_gap >= 10)
            return sets[s];
    }
    return 0x02;
}

static void x_axis(sparse__buf *b, const axis *a, int panel, const char *xlabel)
{
    double x0 = MARGIN_L + panel * (PANEL_W + GAP), bottom = MARGIN_T + PANEL_H;
    unsigned labelled = log_ticks(a);
    for (int e = (int)floor(a->lo); e <= (int)ceil(a->hi); e++)
        for (int m = 1; m < 10; m++) {
            double v = log10(m) + e;
            if (v < a->lo || v > a->hi)
                continue;
            double x = x0 + (v - a->lo) / (a->hi - a->lo) * PANEL_W;
            int major = labelled >> m & 1;
            sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
                               MARGIN_T, x, bottom, major ? "#ddd" : "#f0f0f0");
            sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
                               bottom, x, bottom + (major ? 5 : 3));
            if (major) {
                char text[32];
                byte_label(text, sizeof text, pow(10, v));
                sparse__buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                                      "text-anchor=\"middle\">%s</text>\n",
                                   x, bottom + 17, text);
            }
        }
    sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">%s</text>\n",
                       x0 + PANEL_W / 2, bottom + 38, xlabel);
}

static void y_axis(sparse__buf *b, const axis *a, int panel, const char *ylabel)
{
    double x0 = MARGIN_L + panel * (PANEL_W + GAP);
    int decimals = a->acc_step < 1 ? (a->acc_step < 0.1 ? 2 : 1) : 0;
    for (double acc = a->acc_lo; acc <= a->acc_hi + 1e-9; acc += a->acc_step) {
        double y = px_y(a, acc);
        sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y,
                           x0 + PANEL_W, y);
        sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x0 - 5,
                           y, x0, y);
        sparse__buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                              "text-anchor=\"end\">%.*f</text>\n",
                           x0 - 8, y + 4, decimals, acc);
    }
    double cx = x0 - 50, cy = MARGIN_T + PANEL_H / 2;
    sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" "
                          "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
                       cx, cy, cx, cy, ylabel);
}

/* Accuracy (on the plot's axis), MS and WM of trial id; 0 for a failed
 * trial or one without that accuracy. */
static int trial_point(const plot *p, size_t id, double *acc, double *ms, double *wm)
{
    int wm_field = p->cfg->wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES;
    double ok = 0;
    if (sparse_run_trial_value(p->run, id, SPARSE_TRIAL_OK, &ok) || ok != 1)
        return 0;
    *acc = -1;
    sparse_run_trial_value(p->run, id, p->test ? SPARSE_TRIAL_TEST_ACCURACY : SPARSE_TRIAL_VAL_ACCURACY, acc);
    sparse_run_trial_value(p->run, id, SPARSE_TRIAL_MS_BYTES, ms);
    sparse_run_trial_value(p->run, id, wm_field, wm);
    return *acc >= 0;
}

static void widen(double *lo, double *hi, double v)
{
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
}

/* A step of 1, 2, 2.5 or 5 x 10^k giving 4 to 8 ticks over range. */
static double nice_step(double range)
{
    double raw = range / 6, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return mag * (f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10);
}

/* Axes that hold every reference and the top 25 points of the trials'
 * accuracy, on tick boundaries. */
static void fit_axes(plot *p)
{
    double lo = 9, hi = 0, acc_lo = 100, acc_hi = 0, ref_lo = 100;
    for (size_t i = 0; i < p->n; i++) {
        double acc, ms, wm;
        size_t id = 0;
        if (sparse_run_trial_id(p->run, i, &id) || !trial_point(p, id, &acc, &ms, &wm))
            continue;
        widen(&lo, &hi, log10(fmax(1, ms)));
        widen(&lo, &hi, log10(fmax(1, wm)));
        widen(&acc_lo, &acc_hi, 100 * acc);
    }
    for (size_t r = 0; r < p->nrefs; r++) {
        for (int k = 0; k < 2; k++)
            if (p->refs[r].size[k] > 0)
                widen(&lo, &hi, log10(p->refs[r].size[k]));
        widen(&ref_lo, &acc_hi, p->refs[r].acc);
    }
    /* The budgets too: where the trials sit against them is the point. */
    if (lo <= hi)
        for (int k = 0; k < 2; k++) {
            double budget = k ? p->cfg->budget_wm : p->cfg->budget_ms;
            if (budget > 0)
                widen(&lo, &hi, log10(budget));
        }
    if (lo > hi) { /* nothing to plot */
        lo = 2;
        hi = 4;
        acc_lo = 0;
        acc_hi = 100;
    }
    /* Keep the interesting part: the top of the trials' accuracy range,
     * and every reference the caller asked for. */
    acc_lo = fmin(fmax(acc_lo, acc_hi - 25), ref_lo);
    double range = fmax(acc_hi - acc_lo, 1), pad = 0.04 * range;
    p->a.acc_step = nice_step(range + 2 * pad);
    p->a.acc_lo = fmax(0, floor((acc_lo - pad) / p->a.acc_step) * p->a.acc_step);
    p->a.acc_hi = fmin(100, ceil((acc_hi + pad) / p->a.acc_step) * p->a.acc_step);
    if (p->a.acc_hi <= p->a.acc_lo)
        p->a.acc_hi = p->a.acc_lo + p->a.acc_step;
    /* At least 0.4 decades of bytes, a margin on either side. */
    double mid = (lo + hi) / 2, half = fmax((hi - lo) / 2 + 0.05, 0.2);
    p->a.lo = mid - half;
    p->a.hi = mid + half;
}

static void draw_budgets(sparse__buf *b, const plot *p)
{
    double budgets[2] = {p->cfg->budget_ms, p->cfg->budget_wm};
    for (int panel = 0; panel < 2; panel++) {
        if (!(budgets[panel] > 0 && log10(budgets[panel]) > p->a.lo && log10(budgets[panel]) < p->a.hi))
            continue;
        double x = px_x(&p->a, panel, budgets[panel]), right = MARGIN_L + panel * (PANEL_W + GAP) + PANEL_W;
        /* The label on the side of the line with room for it, inside the frame. */
        int left = x + 3 + 6 * CHAR_W > right;
        sparse__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c33\" "
                              "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                              "fill=\"#c33\" text-anchor=\"%s\">budget</text>\n",
                           x, MARGIN_T, x, MARGIN_T + PANEL_H, left ? x - 3 : x + 3, MARGIN_T + 12,
                           left ? "end" : "start");
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

/* The marker of a reference label's style at (x, y): a cross, square,
 * triangle, diamond or plus, in the label's colour; open, so the trials
 * beneath stay visible. */
static void marker(sparse__buf *b, const char *cls, size_t style, double x, double y)
{
    static const char *const shapes[NMARKERS] = {"m-4.5 -4.5l9 9m0 -9l-9 9", "m-4.5 -4.5h9v9h-9z",
                                                  "m0 -5.5l5.5 9.5h-11z", "m0 -6l6 6l-6 6l-6 -6z",
                                                  "m-6 0h12m-6 -6v12"};
    sparse__buf_printf(b, "<path class=\"%s\" d=\"M%.1f %.1f%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>",
                       cls, x, y, shapes[style % NMARKERS], palette[style % NCOLORS]);
}

static void draw_references(sparse__buf *b, const plot *p)
{
    for (size_t r = 0; r < p->nrefs; r++) {
        const refpoint *ref = &p->refs[r];
        for (int panel = 0; panel < 2; panel++) {
            if (ref->size[panel] <= 0)
                continue;
            sparse__buf_puts(b, "<g>");
            marker(b, "ref", ref->style, px_x(&p->a, panel, ref->size[panel]), px_y(&p->a, ref->acc));
            sparse__buf_puts(b, "<title>");
            sparse__buf_xml(b, ref->label);
            sparse__buf_printf(b, ": %.2f%%, %s %.0f B</title></g>\n", ref->acc, panel ? "WM" : "MS",
                               ref->size[panel]);
        }
    }
}

/* One legend entry at *x on row *row (wrapping to the next row at the
 * figure's edge): a symbol drawn by the caller at the returned position,
 * then text. */
static double legend_slot(double *x, int *row, const char *text)
{
    double w = 22 + CHAR_W * (double)strlen(text) + 24;
    if (*x + w > WIDTH - MARGIN_R && *x > MARGIN_L) {
        *x = MARGIN_L;
        (*row)++;
    }
    double at = *x;
    *x += w;
    return at;
}

static void legend_text(sparse__buf *b, double x, int row, const char *text)
{
    sparse__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", x + 14, LEGEND_Y + row * LEGEND_ROW + 4);
    sparse__buf_xml(b, text);
    sparse__buf_puts(b, "</text>\n");
}

/* The legend below the panels: trials, the front, the budget, then one
 * entry per reference label. Returns its rows. */
static int draw_legend(sparse__buf *b, const plot *p)
{
    double x = MARGIN_L;
    int row = 0;
    double at = legend_slot(&x, &row, "trial");
    sparse__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#bbb\"/>", at + 4,
                       LEGEND_Y + row * LEGEND_ROW);
    legend_text(b, at, row, "trial");
    at = legend_slot(&x, &row, "Pareto front");
    sparse__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#1f77b4\" stroke=\"#123\"/>", at + 4,
                       LEGEND_Y + row * LEGEND_ROW);
    legend_text(b, at, row, "Pareto front");
    if (p->cfg->budget_ms > 0 || p->cfg->budget_wm > 0) {
        at = legend_slot(&x, &row, "budget");
        sparse__buf_printf(b, "<path d=\"M%.1f %.1fh12\" stroke=\"#c33\" stroke-dasharray=\"4 2\"/>", at - 2,
                           LEGEND_Y + row * LEGEND_ROW);
        legend_text(b, at, row, "budget");
    }
    for (size_t r = 0, shown = 0; r < p->nrefs; r++) {
        if (p->refs[r].style != shown)
            continue; /* a label's first point names it (styles count labels in order) */
        shown++;
        at = legend_slot(&x, &row, p->refs[r].label);
        marker(b, "key", p->refs[r].style, at + 4, LEGEND_Y + row * LEGEND_ROW);
        legend_text(b, at, row, p->refs[r].label);
    }
    return row + 1;
}

static char *render(const plot *p, int prolog)
{
    sparse__buf b = SPARSE__BUF_INIT, legend = SPARSE__BUF_INIT;
    int rows = draw_legend(&legend, p);
    double height = LEGEND_Y + (rows - 1) * LEGEND_ROW + 18;
    if (prolog)
        sparse__buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sparse__buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
                           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                       WIDTH, height, WIDTH, height);
    const char *which = p->test ? "test" : "validation";
    sparse__buf_printf(&b, "<text x=\"%.1f\" y=\"24\" font-size=\"15\">SpArSe search: %zu trials, %zu on the "
                           "front (WM model %d)</text>\n",
                       MARGIN_L, p->n, p->count, p->cfg->wm_model);
    sparse__buf_printf(&b, "<text x=\"%.1f\" y=\"42\" font-size=\"11\" fill=\"#555\">y: %s accuracy of each "
                           "trial; the front is chosen on validation data%s</text>\n",
                       MARGIN_L, which, p->nrefs ? "; other markers: reference points of the config" : "");
    char ylabel[64], wm_label[96];
    snprintf(ylabel, sizeof ylabel, "%s accuracy (%%)", which);
    snprintf(wm_label, sizeof wm_label, "working memory WM%d (bytes, int8%s)", p->cfg->wm_model,
             p->cfg->input_downsampling == SPARSE_INPUT_DOWNSAMPLING_ACQUISITION
                 ? "; input downsampling as acquisition"
                 : "");
    for (int panel = 0; panel < 2; panel++) {
        sparse__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\"/>\n",
                           MARGIN_L + panel * (PANEL_W + GAP), MARGIN_T, PANEL_W, PANEL_H);
        x_axis(&b, &p->a, panel, panel ? wm_label : "model size MS (bytes, int8)");
        y_axis(&b, &p->a, panel, ylabel);
    }
    for (int panel = 0; panel < 2; panel++) /* the frame over the grid, under the points */
        sparse__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                               "stroke=\"#444\"/>\n",
                           MARGIN_L + panel * (PANEL_W + GAP), MARGIN_T, PANEL_W, PANEL_H);
    draw_budgets(&b, p);
    draw_trials(&b, p);
    draw_references(&b, p);
    char *keys = sparse__buf_detach(&legend);
    if (keys)
        sparse__buf_puts(&b, keys);
    else
        b.failed = 1; /* the legend's allocation failed: so does the figure */
    free(keys);
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
 * options', each label with its own colour and marker. */
static int gather_references(plot *p, const sparse_plot_options *opts)
{
    size_t from_cfg = opts->config_references ? p->cfg->plot_nrefs : 0;
    p->refs = sparse__calloc(from_cfg + opts->reference_count + 1, sizeof *p->refs);
    if (!p->refs)
        return SPARSE_ENOMEM;
    for (size_t r = 0; r < from_cfg; r++) {
        const sparse__reference *in = &p->cfg->plot_refs[r];
        refpoint ref = {in->label, 100 * in->accuracy, {in->ms, in->wm}, 0};
        p->refs[p->nrefs++] = ref;
    }
    for (size_t r = 0; r < opts->reference_count; r++) {
        int rc = take_reference(&opts->references[r], r, &p->refs[p->nrefs]);
        if (rc)
            return rc;
        p->nrefs++;
    }
    for (size_t r = 0; r < p->nrefs; r++) {
        size_t first = 0;
        while (strcmp(p->refs[first].label, p->refs[r].label))
            first++;
        p->refs[r].style = first < r ? p->refs[first].style : p->nlabels++;
    }
    return SPARSE_OK;
}

SPARSE__STRUCT_VERSIONS(plot_options_versions, sparse_plot_options, SPARSE_PLOT_OPTIONS_INIT,
                        SPARSE_PLOT_OPTIONS_VERSION, offsetof(sparse_plot_options, accuracy),
                        sizeof(sparse_plot_options));

SPARSE_API int sparse_plot_options_init(sparse_plot_options *opts, unsigned version)
{
    return sparse__struct_init(&plot_options_versions, opts, version);
}

int sparse__pareto_svg(char **out, const sparse_run *run, const sparse_plot_options *opts, int prolog)
{
    sparse_plot_options o;
    *out = NULL;
    int rc = sparse__struct_read(&plot_options_versions, &o, opts, "sparse_run_write_pareto_svg_ext");
    if (rc)
        return rc;
    if (o.reference_count && !o.references)
        return sparse__error(SPARSE_EINVAL, "sparse_plot_options: %zu references but references is NULL",
                             o.reference_count);
    if (o.accuracy < SPARSE_PLOT_ACCURACY_CONFIG || o.accuracy > SPARSE_PLOT_ACCURACY_TEST)
        return sparse__error(SPARSE_EINVAL, "sparse_plot_options: accuracy %d is not a sparse_plot_accuracy",
                             o.accuracy);
    plot p;
    memset(&p, 0, sizeof p);
    p.run = run;
    p.cfg = sparse__run_config(run);
    p.test = o.accuracy == SPARSE_PLOT_ACCURACY_CONFIG ? p.cfg->plot_test : o.accuracy == SPARSE_PLOT_ACCURACY_TEST;
    p.n = sparse_run_trial_count(run);
    rc = sparse__run_front(run, &p.front, &p.count);
    if (!rc)
        rc = gather_references(&p, &o);
    if (!rc) {
        fit_axes(&p);
        rc = (*out = render(&p, prolog)) ? SPARSE_OK : sparse__error(SPARSE_ENOMEM, "out of memory drawing the Pareto figure");
    }
    free(p.front);
    free(p.refs);
    return rc;
}

SPARSE_API int sparse_run_write_pareto_svg_ext(const sparse_run *run, const char *path,
                                               const sparse_plot_options *opts)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(path);
    char *svg = NULL;
    int rc = sparse__pareto_svg(&svg, run, opts, 1);
    if (!rc)
        rc = sparse__replace_file(path, svg, strlen(svg));
    free(svg);
    return rc;
}

SPARSE_API int sparse_run_write_pareto_svg(const sparse_run *run, const char *path)
{
    return sparse_run_write_pareto_svg_ext(run, path, NULL);
}
