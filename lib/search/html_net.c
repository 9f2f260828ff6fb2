/* One network of the HTML run report: a diagram (inline SVG, one box per
 * layer, batch norm and ReLU folded into the box of the layer they follow,
 * as the memory model folds them) and its memory table (per layer: shape,
 * kernel, weights, MS, WM5, WM6, flash and arena, with the totals). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"
#include "sparse/memory.h"

#define BOX_W 330.0
#define BOX_H 36.0
#define BOX_GAP 18.0
#define BOX_X 20.0

/* "5x5/2" for a conv or pool window (stride when not 1), "rate 2" for the
 * input downsampling, "" for the rest. */
static void kernel_text(char *s, size_t cap, const sparse_net *net, size_t id)
{
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    *s = 0;
    if (sparse_net_node_info(net, id, &info))
        return;
    switch (info.kind) {
    case SPARSE_LAYER_CONV2D:
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL:
        if (info.stride > 1)
            snprintf(s, cap, "%zux%zu/%zu", info.kernel, info.kernel, info.stride);
        else
            snprintf(s, cap, "%zux%zu", info.kernel, info.kernel);
        break;
    case SPARSE_LAYER_INPUT_DOWNSAMPLE: snprintf(s, cap, "rate %zu", info.kernel); break;
    default: break;
    }
}

/* Node id of the memory report's node called name, or SIZE_MAX. */
static size_t report_node(const sparse_memreport *r, const char *name)
{
    size_t id = SIZE_MAX;
    if (sparse_memreport_node_find(r, name, &id))
        sparse_clear_error();
    return id;
}

static uint64_t report_value(const sparse_memreport *r, size_t id, int field)
{
    uint64_t v = 0;
    if (id != SIZE_MAX)
        sparse_memreport_node_value(r, id, field, &v);
    return v;
}

static int folded(int kind) { return kind == SPARSE_LAYER_BATCHNORM || kind == SPARSE_LAYER_RELU; }

/* For every node, the drawn node standing for it (itself, or for a folded
 * batch norm or ReLU the node it follows), and the drawn boxes' rows. */
static int layout(const sparse_net *net, size_t **shown, size_t **row, size_t *rows)
{
    size_t n = sparse_net_node_count(net);
    *shown = sparse__calloc(n + 1, sizeof **shown);
    *row = sparse__calloc(n + 1, sizeof **row);
    if (!*shown || !*row)
        return SPARSE_ENOMEM;
    *rows = 0;
    for (size_t id = 0; id < n; id++) {
        size_t in = id;
        if (folded(sparse_net_node_kind(net, id)) && !sparse_net_node_input(net, id, 0, &in) && in < id)
            (*shown)[id] = (*shown)[in];
        else {
            (*shown)[id] = id;
            (*row)[id] = (*rows)++;
        }
    }
    return SPARSE_OK;
}

/* The text of drawn node id's box: name, kind (+bn, +relu folded into it),
 * shape and window; and its MS and WM. */
static void box(sparse__buf *b, const sparse_net *net, const sparse_memreport *r, int wm_model, size_t id,
                const size_t *shown, double y)
{
    size_t c = 0, h = 0, w = 0;
    char kern[32];
    const char *name = sparse_net_node_name(net, id);
    kernel_text(kern, sizeof kern, net, id);
    sparse__buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" rx=\"4\" class=\"layer\"/>",
                       BOX_X, y, BOX_W, BOX_H);
    sparse__buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" class=\"name\">", BOX_X + 8, y + 15);
    sparse__buf_xml(b, name ? name : "?");
    sparse__buf_printf(b, ": %s", sparse_layer_kind_name(sparse_net_node_kind(net, id)));
    for (size_t k = id + 1; k < sparse_net_node_count(net); k++)
        if (shown[k] == id && k != id)
            sparse__buf_printf(b, " +%s", sparse_net_node_kind(net, k) == SPARSE_LAYER_RELU ? "relu" : "bn");
    sparse_net_node_shape(net, id, &c, &h, &w);
    sparse__buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" class=\"dim\">%zux%zux%zu%s%s", BOX_X + 8, y + 30, c,
                       h, w, kern[0] ? ", " : "", kern);
    size_t rid = name ? report_node(r, name) : SIZE_MAX;
    if (report_value(r, rid, SPARSE_MEMFIELD_IS_LAYER))
        sparse__buf_printf(b, "; MS %llu B, WM%d %llu B",
                           (unsigned long long)report_value(r, rid, SPARSE_MEMFIELD_NONZEROS), wm_model,
                           (unsigned long long)report_value(r, rid, wm_model == 6 ? SPARSE_MEMFIELD_WM6
                                                                                    : SPARSE_MEMFIELD_WM5));
    sparse__buf_puts(b, "</text>\n");
}

/* The edges into drawn node id: straight down from the box above, or a
 * curve on the right from a box further up (a skip connection). */
static void edges(sparse__buf *b, const sparse_net *net, size_t id, const size_t *shown, const size_t *row)
{
    for (size_t k = 0; k < sparse_net_node_input_count(net, id); k++) {
        size_t in;
        if (sparse_net_node_input(net, id, k, &in) || in >= id)
            continue;
        size_t from = row[shown[in]], to = row[id];
        double y0 = BOX_GAP + (double)from * (BOX_H + BOX_GAP) + BOX_H, y1 = BOX_GAP + (double)to * (BOX_H + BOX_GAP);
        if (to == from + 1)
            sparse__buf_printf(b, "<path d=\"M%.0f %.0fV%.0f\" class=\"edge\"/>\n", BOX_X + BOX_W / 2, y0, y1);
        else {
            double x = BOX_X + BOX_W, bend = 30 + 12 * (double)(to - from);
            sparse__buf_printf(b, "<path d=\"M%.0f %.0fC%.0f %.0f %.0f %.0f %.0f %.0f\" class=\"edge\"/>\n", x,
                               y0 - BOX_H / 2, x + bend, y0 - BOX_H / 2, x + bend, y1 + BOX_H / 2, x,
                               y1 + BOX_H / 2);
        }
    }
}

static int diagram(sparse__buf *b, const sparse_net *net, const sparse_memreport *r, int wm_model)
{
    size_t *shown = NULL, *row = NULL, rows = 0;
    int rc = layout(net, &shown, &row, &rows);
    if (!rc) {
        double height = BOX_GAP + (double)rows * (BOX_H + BOX_GAP);
        sparse__buf_printf(b, "<svg class=\"net\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                              "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
                           BOX_X + BOX_W + 140, height, BOX_X + BOX_W + 140, height);
        for (size_t id = 0; id < sparse_net_node_count(net); id++)
            if (shown[id] == id) {
                edges(b, net, id, shown, row);
                box(b, net, r, wm_model, id, shown, BOX_GAP + (double)row[id] * (BOX_H + BOX_GAP));
            }
        sparse__buf_puts(b, "</svg>\n");
    }
    free(shown);
    free(row);
    return rc;
}

static void cell(sparse__buf *b, uint64_t v) { sparse__buf_printf(b, "<td>%llu</td>", (unsigned long long)v); }

/* The memory table: the report's layers, then the totals. */
static void memory_table(sparse__buf *b, const sparse_net *net, const sparse_memreport *r, int wm_model)
{
    static const int fields[] = {SPARSE_MEMFIELD_WEIGHTS, SPARSE_MEMFIELD_NONZEROS, SPARSE_MEMFIELD_WM5,
                                 SPARSE_MEMFIELD_WM6,     SPARSE_MEMFIELD_DEPLOY_FLASH, SPARSE_MEMFIELD_DEPLOY_ARENA};
    sparse__buf_puts(b, "<table class=\"mem\"><thead><tr><th>layer</th><th>kind</th><th>output</th><th>window</th>"
                        "<th>weights</th><th>MS (non-zeros, B)</th><th>WM5 (B)</th><th>WM6 (B)</th>"
                        "<th>flash (B)</th><th>arena high-water (B)</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < sparse_memreport_node_count(r); i++) {
        const char *name = NULL;
        int kind = 0;
        size_t id = 0, c = 0, h = 0, w = 0;
        if (!report_value(r, i, SPARSE_MEMFIELD_IS_LAYER) || sparse_memreport_node_name(r, i, &name) ||
            sparse_memreport_node_kind(r, i, &kind))
            continue;
        char kern[32] = "";
        if (!sparse_net_find_node(net, name, &id)) {
            kernel_text(kern, sizeof kern, net, id);
            sparse_net_node_shape(net, id, &c, &h, &w);
        }
        sparse__buf_puts(b, "<tr><td>");
        sparse__buf_xml(b, name);
        sparse__buf_printf(b, "</td><td>%s</td><td>%zux%zux%zu</td><td>%s</td>", sparse_memnode_kind_name(kind), c,
                           h, w, kern);
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            cell(b, report_value(r, i, fields[f]));
        sparse__buf_puts(b, "</tr>\n");
    }
    uint64_t ms = 0, wm5 = 0, wm6 = 0, flash = 0, arena = 0;
    sparse_memreport_ms_bytes(r, &ms);
    sparse_memreport_wm_bytes(r, 5, &wm5, NULL);
    sparse_memreport_wm_bytes(r, 6, &wm6, NULL);
    sparse_memreport_deploy_flash_bytes(r, &flash);
    sparse_memreport_deploy_arena_bytes(r, &arena, NULL);
    sparse__buf_printf(b, "</tbody><tfoot><tr><th colspan=\"5\">total (WM: the largest layer; the run ranks by "
                          "WM%d)</th>",
                       wm_model);
    cell(b, ms);
    cell(b, wm5);
    cell(b, wm6);
    cell(b, flash);
    cell(b, arena);
    sparse__buf_puts(b, "</tr></tfoot></table>\n");
}

int sparse__net_html(char **out, const sparse_net *net, int wm_model)
{
    sparse_memreport *r = NULL;
    sparse__buf b = SPARSE__BUF_INIT;
    *out = NULL;
    int rc = sparse_memreport_from_net(&r, net, NULL);
    if (!rc)
        rc = diagram(&b, net, r, wm_model);
    if (!rc)
        memory_table(&b, net, r, wm_model);
    if (!rc && !(*out = sparse__buf_detach(&b)))
        rc = sparse__error(SPARSE_ENOMEM, "out of memory drawing a network");
    sparse__buf_free(&b);
    sparse_memreport_free(r);
    return rc;
}
