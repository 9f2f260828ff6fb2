/* sparse_export_qnet: an int8 network as PREFIX.h and PREFIX.c. The model's
 * body (kernels, weights, steps) is the memory module's
 * (sparse_exp_qnet_c_source); this file plans the arena with the memory
 * module's planner, and writes the API around it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/internal.h"
#include "export_internal.h"

SPARSE__STRUCT_VERSIONS(export_options_versions, sparse_export_options, SPARSE_EXPORT_OPTIONS_INIT,
                        SPARSE_EXPORT_OPTIONS_VERSION, offsetof(sparse_export_options, input_downsampling),
                        sizeof(sparse_export_options));
SPARSE__STRUCT_VERSIONS(export_figures_versions, sparse_export_figures, SPARSE_EXPORT_FIGURES_INIT,
                        SPARSE_EXPORT_FIGURES_VERSION, offsetof(sparse_export_figures, input_node),
                        sizeof(sparse_export_figures));

SPARSE_API int sparse_export_options_init(sparse_export_options *opts, unsigned version)
{
    return sparse__struct_init(&export_options_versions, opts, version);
}

/* The plan: the memory graph of the int8 kernels' buffers, laid out by the
 * planner with no scratch (the kernels are direct). */
typedef struct plan {
    sparse_memreport *report;
    uint64_t *offsets; /* per node */
    size_t n;
    size_t input_node; /* the node whose output the model takes: 0, or the last acquired one */
    char upper[64];    /* the prefix in upper case, for macros */
} plan;

static uint64_t node_value(const sparse_memreport *r, size_t id, int field)
{
    uint64_t v = 0;
    (void)sparse_memreport_node_value(r, id, field, &v);
    return v;
}

/* With input downsampling as acquisition, the model's input is the output of
 * the last acquired node; the acquired nodes must be nodes 1 .. that one (a
 * chain from the input), the raw image must have no buffer (nothing else
 * reads it) and at that node its output must be the only tensor alive. */
static int find_input_node(plan *p)
{
    size_t last = 0;
    for (size_t i = 0; i < p->n; i++)
        if (node_value(p->report, i, SPARSE_MEMFIELD_ACQUIRED))
            last = i;
    for (size_t i = 1; i <= last; i++)
        if (!node_value(p->report, i, SPARSE_MEMFIELD_ACQUIRED))
            return sparse__error(SPARSE_EUNSUPPORTED,
                                 "export: input downsampling as acquisition needs the downsampling first, "
                                 "from the input on; node %zu comes before it",
                                 i);
    if (last && (node_value(p->report, 0, SPARSE_MEMFIELD_DEPLOY_LIVE) != 0 ||
                 node_value(p->report, last, SPARSE_MEMFIELD_DEPLOY_LIVE) !=
                     node_value(p->report, last, SPARSE_MEMFIELD_Y)))
        return sparse__error(SPARSE_EUNSUPPORTED,
                             "export: input downsampling as acquisition needs one downsampled image read by the "
                             "network; here the raw image or another downsampling is read as well");
    p->input_node = last;
    return SPARSE_OK;
}

static int make_plan(plan *p, const sparse_qnet *q, int input_downsampling, sparse_export_figures *fig)
{
    sparse_memgraph *g = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.scratch = SPARSE_SCRATCH_NONE;
    mo.input_downsampling = input_downsampling;
    int rc = sparse_exp_qnet_memgraph(&g, q);
    if (!rc)
        rc = sparse_memreport_create(&p->report, g, &mo);
    sparse_memgraph_free(g);
    if (rc)
        return rc;
    p->n = sparse_qnet_node_count(q);
    p->offsets = sparse__calloc(p->n ? p->n : 1, sizeof *p->offsets);
    if (!p->offsets)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < p->n && !rc; i++)
        rc = sparse_memreport_node_value(p->report, i, SPARSE_MEMFIELD_DEPLOY_OFFSET, &p->offsets[i]);
    size_t layer;
    if (!rc)
        rc = find_input_node(p);
    if (!rc)
        rc = sparse_memreport_ms_bytes(p->report, &fig->ms_bytes);
    if (!rc)
        rc = sparse_memreport_wm_bytes(p->report, 5, &fig->wm5_bytes, &layer);
    if (!rc)
        rc = sparse_memreport_wm_bytes(p->report, 6, &fig->wm6_bytes, &layer);
    if (!rc)
        rc = sparse_memreport_deploy_flash_bytes(p->report, &fig->flash_bytes);
    if (!rc)
        rc = sparse_memreport_deploy_arena_bytes(p->report, &fig->arena_bytes, &fig->arena_lower_bound_bytes);
    if (!rc)
        rc = sparse_exp_qnet_node_shape(q, p->input_node, &fig->input_c, &fig->input_h, &fig->input_w);
    if (!rc)
        rc = sparse_qnet_node_qparams(q, p->input_node, &fig->input_scale, &fig->input_zero_point);
    fig->classes = sparse_qnet_class_count(q);
    fig->input_node = p->input_node;
    return rc;
}

static void put_header(sparse__buf *b, const char *x, const char *X, const sparse_export_figures *f,
                       const plan *p)
{
    sparse__buf_printf(
        b,
        "/*\n * %s.h: an int8 network exported by libsparse %s (sparsenas export). Do not edit.\n *\n"
        " * Input: %zu x %zu x %zu int8 values in (C, H, W) order, real = scale * (q - zero point).\n"
        " * Output: %zu int8 logits; the label is the index of the largest (the first on ties).\n"
        " * Memory: the arena, %s_ARENA_SIZE bytes of RAM (.bss), plus the stack of one call;\n"
        " * Flash: weights, int32 biases and multipliers, int8 shifts and the step tables,\n"
        " * %llu bytes of .rodata on a 32-bit Cortex-M (the deploy-flash figure), plus code.\n"
        " * Paper figures of this network: MS %llu B, WM5 %llu B, WM6 %llu B.\n *\n"
        " *     int8_t logits[%s_NUM_CLASSES];\n"
        " *     %s_quantize_input(image, %s_input_buffer());  (or fill the buffer with int8 yourself)\n"
        " *     %s_run(%s_input_buffer(), logits);\n"
        " */\n#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n#include <stdint.h>\n\n"
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
        x, SPARSE_VERSION_STRING, f->input_c, f->input_h, f->input_w, f->classes, X,
        (unsigned long long)f->flash_bytes, (unsigned long long)f->ms_bytes, (unsigned long long)f->wm5_bytes,
        (unsigned long long)f->wm6_bytes, X, x, x, x, x, X, X);
    if (p->input_node)
        sparse__buf_printf(b,
                           "/* Input downsampling is data acquisition: the input is the image after the\n"
                           " * network's input downsampling (node %zu), as the sensor delivers it; the\n"
                           " * model does not downsample. */\n#define %s_INPUT_NODE %zu\n",
                           p->input_node, X, p->input_node);
    sparse__buf_printf(
        b,
        "#define %s_INPUT_C %zu\n#define %s_INPUT_H %zu\n#define %s_INPUT_W %zu\n#define %s_INPUT_SIZE %zu\n"
        "#define %s_NUM_CLASSES %zu\n#define %s_ARENA_SIZE %llu\n"
        "/* Input quantisation (a constant; no float is used on the integer path). */\n"
        "#define %s_INPUT_SCALE %.17e\n#define %s_INPUT_ZERO_POINT (%d)\n\n",
        X, f->input_c, X, f->input_h, X, f->input_w, X, f->input_c * f->input_h * f->input_w, X, f->classes,
        X, (unsigned long long)f->arena_bytes, X, f->input_scale, X, (int)f->input_zero_point);
    sparse__buf_printf(
        b,
        "/* Runs the network: input holds %s_INPUT_SIZE values (it may be %s_input_buffer()),\n"
        " * logits receives %s_NUM_CLASSES. Returns 0, or -1 for a NULL pointer. Not reentrant. */\n"
        "int %s_run(const int8_t *input, int8_t *logits);\n"
        "/* The input's place in the arena: filling it directly saves a copy. */\n"
        "int8_t *%s_input_buffer(void);\n\n"
        "/* Float image (the network's input as it was trained, normalisation included) to int8\n"
        " * input, exactly as the library quantises it: round(x / scale) (half away from zero)\n"
        " * + zero point, saturated. In this header, so that it is compiled only into code that\n"
        " * calls it: the model itself has no floating point. */\n"
        "static inline void %s_quantize_input(const float *in, int8_t *out)\n{\n"
        "    long i;\n    for (i = 0; i < %s_INPUT_SIZE; i++) {\n"
        "        double v = (double)in[i] / %s_INPUT_SCALE, d;\n        long r;\n"
        "        if (!(v > -512.0)) /* also NaN */\n            v = -512.0;\n"
        "        if (v > 512.0)\n            v = 512.0;\n"
        "        r = (long)v;\n        d = v - (double)r; /* exact */\n"
        "        r += d >= 0.5 ? 1 : d <= -0.5 ? -1 : 0;\n        r += %s_INPUT_ZERO_POINT;\n"
        "        out[i] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);\n    }\n}\n\n"
        "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
        X, x, X, x, x, x, X, X, X);
}

static void put_source(sparse__buf *b, const char *x, const char *X, const char *body, const plan *p)
{
    sparse__buf_printf(
        b,
        "/*\n * %s.c: an int8 network exported by libsparse %s (sparsenas export). Do not edit.\n"
        " * Freestanding C99: <stdint.h>, <stddef.h> and <string.h> (memcpy) only, no allocation,\n"
        " * no floating point. Weights and tables are static const (flash); every tensor lives in\n"
        " * %s_arena (RAM) at the offset the library's memory planner gave it. Compile with\n"
        " * -ffunction-sections -fdata-sections to see each array's size.\n */\n"
        "#include <stdint.h>\n#include <string.h>\n\n#include \"%s.h\"\n\n",
        x, SPARSE_VERSION_STRING, x, x);
    sparse__buf_puts(b, body);
    const uint64_t in_off = p->offsets[p->input_node], out_off = p->offsets[p->n - 1];
    sparse__buf_printf(b, "\n/* ---- The arena ---- */\n/* Tensors (node: offset, bytes):");
    for (size_t i = 0, shown = 0; i < p->n; i++) {
        uint64_t y = 0;
        int k = 0;
        sparse_memreport_node_kind(p->report, i, &k);
        sparse_memreport_node_value(p->report, i, SPARSE_MEMFIELD_Y, &y);
        if (k == SPARSE_MEMNODE_VIEW || i < p->input_node)
            continue;
        sparse__buf_printf(b, "%s %zu: %llu, %llu;", shown++ % 6 ? "" : "\n *", i,
                           (unsigned long long)p->offsets[i], (unsigned long long)y);
    }
    sparse__buf_printf(
        b,
        "\n * In-place steps share their input's offset. */\nstatic int8_t %s_arena[%s_ARENA_SIZE];\n\n"
        "int8_t *%s_input_buffer(void)\n{\n    return %s_arena + %llu;\n}\n\n"
        "int %s_run(const int8_t *input, int8_t *logits)\n{\n"
        "    if (!input || !logits)\n        return -1;\n"
        "    if (input != %s_arena + %llu)\n        memcpy(%s_arena + %llu, input, %s_INPUT_SIZE);\n"
        "    %s_q8_run(%s_ops, sizeof %s_ops / sizeof %s_ops[0], %s_arena);\n"
        "    memcpy(logits, %s_arena + %llu, %s_NUM_CLASSES);\n    return 0;\n}\n",
        x, X, x, x, (unsigned long long)in_off, x, x, (unsigned long long)in_off, x,
        (unsigned long long)in_off, X, x, x, x, x, x, x, (unsigned long long)out_off, X);
}

/* dir/PREFIX.ext replaced atomically. */
static int write_text(const char *dir, const char *prefix, const char *ext, const sparse__buf *b)
{
    char name[80];
    snprintf(name, sizeof name, "%s.%s", prefix, ext);
    char *path = sparse__path_join(dir, name);
    if (!path)
        return SPARSE_ENOMEM;
    int rc = sparse__write_file_atomic(path, b->data, b->len);
    free(path);
    return rc;
}

static int export_files(const sparse_qnet *q, const char *dir, const sparse_export_options *o, plan *p,
                        sparse_export_figures *fig)
{
    const char *prefix = o->prefix;
    char *body = NULL;
    int rc = make_plan(p, q, o->input_downsampling, fig);
    if (!rc)
        rc = sparse_exp_qnet_c_source_from(&body, q, prefix, p->offsets, p->input_node);
    if (rc)
        return rc;
    size_t k = 0;
    for (; prefix[k] && k + 1 < sizeof p->upper; k++)
        p->upper[k] = (char)(prefix[k] >= 'a' && prefix[k] <= 'z' ? prefix[k] - 'a' + 'A' : prefix[k]);
    p->upper[k] = 0;
    sparse__buf h = SPARSE__BUF_INIT, c = SPARSE__BUF_INIT;
    put_header(&h, prefix, p->upper, fig, p);
    put_source(&c, prefix, p->upper, body, p);
    free(body);
    if (h.failed || c.failed)
        rc = SPARSE_ENOMEM;
    if (!rc && mkdir(dir, 0755) && errno != EEXIST)
        rc = sparse__error(SPARSE_EIO, "export: cannot create directory %s: %s", dir, strerror(errno));
    if (!rc)
        rc = write_text(dir, prefix, "h", &h);
    if (!rc)
        rc = write_text(dir, prefix, "c", &c);
    sparse__buf_free(&h);
    sparse__buf_free(&c);
    return rc;
}

SPARSE_API int sparse_export_qnet(const sparse_qnet *q, const char *dir, const sparse_export_options *opts,
                                  sparse_export_figures *figures)
{
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(dir);
    sparse_export_options o;
    int rc = sparse__struct_read(&export_options_versions, &o, opts, "sparse_export_qnet");
    if (rc)
        return rc;
    if (!o.prefix)
        o.prefix = "model";
    if (figures && (rc = sparse__struct_check(&export_figures_versions, figures, "sparse_export_qnet")))
        return rc;
    sparse_export_figures fig = SPARSE_EXPORT_FIGURES_INIT;
    plan p;
    memset(&p, 0, sizeof p);
    if (!sparse_input_downsampling_name(o.input_downsampling))
        return sparse__error(SPARSE_EINVAL, "sparse_export_options: input_downsampling is %d, not 0 or 1",
                             o.input_downsampling);
    rc = export_files(q, dir, &o, &p, &fig);
    sparse_memreport_free(p.report);
    free(p.offsets);
    if (!rc && figures)
        rc = sparse__struct_write(&export_figures_versions, figures, &fig, "sparse_export_qnet");
    return rc;
}

SPARSE_API int sparse_export_net(sparse_net *net, const sparse_dataset *calib,
                                 const sparse_quant_options *qopts, const char *dir,
                                 const sparse_export_options *opts, sparse_export_figures *figures)
{
    sparse_qnet *q = NULL;
    int rc = sparse_qnet_create(&q, net, calib, qopts);
    if (!rc)
        rc = sparse_export_qnet(q, dir, opts, figures);
    sparse_qnet_free(q);
    return rc;
}
