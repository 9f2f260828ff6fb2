/* pareto.svg: validation accuracy against model size and against working
 * memory, every trial as a grey dot, the front highlighted, the budgets as
 * dashed lines and, for MNIST, the paper's reference points. Plain SVG 1.1
 * text, no dependencies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct refpoint {
    const char *label;
    double acc, ms, wm;
    int wm_model;
} refpoint;

/* Paper Tables 3 and 4 (MNIST, KB = 1024 B) and the hand-designed networks
 * of issue 8, measured on this machine with PyTorch. */
static const refpoint refs[] = {
    {"paper T3", 98.64, 2.77 * 1024, 1.96 * 1024, 5}, {"paper T3", 96.49, 1.44 * 1024, 1.33 * 1024, 5},
    {"paper T4", 97.03, 15 * 1024, 1.38 * 1024, 6},   {"paper T4", 95.76, 1.76 * 1024, 0.62 * 1024, 6},
    {"by hand", 97.17, 1066, 802, 5},                  {"by hand", 98.70, 2698, 1594, 5},
    {"by hand", 97.17, 1066, 980, 6},
};

static double px_x(const axis *a, int panel, double bytes)
{
    double v = log10(bytes < 1 ? 1 : bytes);
    return MARGIN_L + panel * (PANEL_W + GAP) + (v - a->lo) / (a->hi - a->lo) * PANEL_W;
}

static double px_y(const axis *a, double acc)
{
    return MARGIN_T + (a->acc_hi - acc) / (a->acc_hi - a->acc_lo) * PANEL_H;
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
/* Validation accuracy, MS and WM of trial i; 0 for a failed trial. */
static int trial_point(const sparse_run *run, size_t i, int wm_field, double *acc, double *ms, double *wm)
{
    double ok = 0;
    sparse_run_trial_value(run, i, SPARSE_TRIAL_OK, &ok);
    if (ok != 1)
        return 0;
    sparse_run_trial_value(run, i, SPARSE_TRIAL_VAL_ACCURACY, acc);
    sparse_run_trial_value(run, i, SPARSE_TRIAL_MS_BYTES, ms);
    sparse_run_trial_value(run, i, wm_field, wm);
    return 1;
}


SPARSE_API int sparse_run_write_pareto_svg(const sparse_run *run, const char *path)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(path);
    size_t n = sparse_run_trial_count(run), count = 0;
    size_t *front = sparse__malloc((n ? n : 1) * sizeof *front);
    if (!front)
        return SPARSE_ENOMEM;
    int rc = sparse_run_pareto(run, front, &count);
    if (rc) {
        free(front);
        return rc;
    }
    const sparse_search_config *cfg = sparse__run_config(run);
    int wm_field = cfg->wm_model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES;
    int mnist = !strcmp(cfg->data, "mnist") && !cfg->binary;
    axis a = {9, 0, 100, 0};
    for (size_t i = 0; i < n; i++) {
        double acc, ms, wm;
        if (!trial_point(run, i, wm_field, &acc, &ms, &wm))
            continue;
        a.lo = fmin(a.lo, log10(fmax(1, fmin(ms, wm))));
        a.hi = fmax(a.hi, log10(fmax(1, fmax(ms, wm))));
        a.acc_lo = fmin(a.acc_lo, 100 * acc);
        a.acc_hi = fmax(a.acc_hi, 100 * acc);
    }
    if (mnist)
        for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++)
            if (refs[r].wm_model == cfg->wm_model) {
                a.lo = fmin(a.lo, log10(fmin(refs[r].ms, refs[r].wm)));
                a.hi = fmax(a.hi, log10(fmax(refs[r].ms, refs[r].wm)));
                a.acc_lo = fmin(a.acc_lo, refs[r].acc);
                a.acc_hi = fmax(a.acc_hi, refs[r].acc);
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

    sparse__buf b = SPARSE__BUF_INIT;
    double width = 2 * PANEL_W + GAP + MARGIN_L + 30, height = PANEL_H + MARGIN_T + 80;
    sparse__buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
                           "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n",
                       width, height, width, height);
    sparse__buf_printf(&b, "<text x=\"%.1f\" y=\"24\" font-size=\"15\">SpArSe search: %zu trials, %zu on the "
                           "front (WM model %d)</text>\n",
                       MARGIN_L, n, count, cfg->wm_model);
    frame(&b, &a, 0, "model size MS (bytes, int8)");
    char wm_label[64];
    snprintf(wm_label, sizeof wm_label, "working memory WM%d (bytes, int8)", cfg->wm_model);
    frame(&b, &a, 1, wm_label);
    double budgets[2] = {cfg->budget_ms, cfg->budget_wm};
    for (int p = 0; p < 2; p++)
        if (budgets[p] > 0 && log10(budgets[p]) > a.lo && log10(budgets[p]) < a.hi) {
            double x = px_x(&a, p, budgets[p]);
            sparse__buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c33\" "
                                   "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                                   "fill=\"#c33\">budget</text>\n",
                               x, MARGIN_T, x, MARGIN_T + PANEL_H, x + 3, MARGIN_T + 12);
        }
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < (pass ? count : n); j++) {
            size_t i = pass ? front[j] : j;
            double acc, ms, wm;
            if (!trial_point(run, i, wm_field, &acc, &ms, &wm))
                continue;
            if (100 * acc < a.acc_lo)
                continue;
            const char *style = pass ? "r=\"5\" fill=\"#1f77b4\" stroke=\"#123\"" : "r=\"3\" fill=\"#bbb\"";
            sparse__buf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" %s><title>trial %zu: %.2f%%, MS %.0f B, WM %.0f "
                                   "B</title></circle>\n",
                               px_x(&a, 0, ms), px_y(&a, 100 * acc), style, i, 100 * acc, ms, wm);
            sparse__buf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" %s><title>trial %zu: %.2f%%, MS %.0f B, WM %.0f "
                                   "B</title></circle>\n",
                               px_x(&a, 1, wm), px_y(&a, 100 * acc), style, i, 100 * acc, ms, wm);
        }
    if (mnist)
        for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++) {
            if (refs[r].wm_model != cfg->wm_model)
                continue;
            const char *color = refs[r].label[0] == 'p' ? "#d62728" : "#2ca02c";
            double xs[2] = {px_x(&a, 0, refs[r].ms), px_x(&a, 1, refs[r].wm)}, y = px_y(&a, refs[r].acc);
            for (int p = 0; p < 2; p++)
                sparse__buf_printf(&b, "<path d=\"M%.1f %.1fl5 5m-10 0l5 -5l5 -5m-10 0l5 5\" stroke=\"%s\" "
                                       "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
                                       "fill=\"%s\">%s %.2f%%</text>\n",
                                   xs[p], y, color, xs[p] + 7, y - 6, color, refs[r].label, refs[r].acc);
        }
    double lx = MARGIN_L + 2 * PANEL_W + GAP - 150, ly = MARGIN_T + PANEL_H - 50;
    sparse__buf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#bbb\"/><text x=\"%.1f\" y=\"%.1f\" "
                           "font-size=\"11\">trial</text>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#1f77b4\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">Pareto front</text>\n",
                       lx, ly, lx + 10, ly + 4, lx, ly + 18, lx + 10, ly + 22);
    if (mnist)
        sparse__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#d62728\">x paper</text>"
                               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#2ca02c\">x by hand</text>\n",
                           lx, ly + 40, lx + 60, ly + 40);
    sparse__buf_puts(&b, "</svg>\n");
    free(front);
    char *svg = sparse__buf_detach(&b);
    if (!svg)
        return SPARSE_ENOMEM;
    rc = sparse__write_file_atomic(path, svg, strlen(svg));
    free(svg);
    return rc;
}
