/* Architecture YAML reader, on the core module's document reader (doc.h):
 * every error names file:line:col and the layer. JSON written by
 * sparse_arch_to_json is YAML flow syntax and reads back through here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "layers_internal.h"

enum { K_NAME, K_INPUT, K_FILTERS, K_KERNEL, K_STRIDE, K_PADDING, K_BIAS, K_RATE, K_SIZE, K_DEPTH, K_UNITS,
       K_MODE, K_COUNT };
static const char *const key_names[K_COUNT] = {"name", "input", "filters", "kernel", "stride", "padding",
                                               "bias", "rate", "size", "depth", "units", "mode"};

/* Keys allowed per kind (bit set over K_*) and keys required. */
static unsigned allowed_keys(int kind)
{
    const unsigned common = 1u << K_NAME | 1u << K_INPUT;
    const unsigned conv = 1u << K_FILTERS | 1u << K_KERNEL | 1u << K_STRIDE | 1u << K_PADDING | 1u << K_BIAS;
    switch (kind) {
    case SPARSE_LAYER_CONV2D:
    case SPARSE_LAYER_SEPARABLE_CONV2D:
        return common | conv;
    case SPARSE_LAYER_DOWNSAMPLED_CONV2D:
        return common | conv | 1u << K_RATE;
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
        return common | (conv & ~(1u << K_FILTERS));
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL:
        return common | 1u << K_SIZE | 1u << K_STRIDE;
    case SPARSE_LAYER_INPUT_DOWNSAMPLE:
        return common | 1u << K_SIZE | 1u << K_DEPTH;
    case SPARSE_LAYER_FC:
        return common | 1u << K_UNITS | 1u << K_BIAS;
    case SPARSE_LAYER_MERGE:
        return common | 1u << K_MODE;
    default:
        return common;
    }
}

static unsigned required_keys(int kind)
{
    switch (kind) {
    case SPARSE_LAYER_CONV2D:
    case SPARSE_LAYER_SEPARABLE_CONV2D:
    case SPARSE_LAYER_DOWNSAMPLED_CONV2D:
        return 1u << K_FILTERS | 1u << K_KERNEL;
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
        return 1u << K_KERNEL;
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL:
    case SPARSE_LAYER_INPUT_DOWNSAMPLE:
        return 1u << K_SIZE;
    case SPARSE_LAYER_FC:
        return 1u << K_UNITS;
    case SPARSE_LAYER_MERGE:
    case SPARSE_LAYER_RESIDUAL:
        return 1u << K_INPUT;
    default:
        return 0;
    }
}

/* Sizes are read in this range; the layer checks (arch.c) then apply each
 * field's own limits with their own messages. */
#define MAX_SIZE 100000000L

/* The kind named by a layer's `type` (or a common alias). */
static int read_kind(const sparse__doc *doc, const sparse__doc_node *type, const char *label, int *kind)
{
    const char *name = NULL;
    int rc = sparse__doc_string(doc, type, label, &name);
    if (rc)
        return rc;
    for (int k = 1; k < SPARSE_LAYER_KIND_COUNT_; k++) /* 0 is the network's input */
        if (!strcmp(name, sparse__kind(k)->name))
            return *kind = k, SPARSE_OK;
    if (!strcmp(name, "dense") || !strcmp(name, "linear"))
        return *kind = SPARSE_LAYER_FC, SPARSE_OK;
    if (!strcmp(name, "conv"))
        return *kind = SPARSE_LAYER_CONV2D, SPARSE_OK;
    char known[512];
    size_t used = 0;
    known[0] = '\0';
    for (int k = 1; k < SPARSE_LAYER_KIND_COUNT_ && used < sizeof known; k++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", k > 1 ? ", " : "",
                                 sparse__kind(k)->name);
    return sparse__doc_error(doc, type, SPARSE_EFORMAT, "%s: unknown layer type '%s' (known: %s)", label,
                             name, known);
}

static int read_inputs(const sparse__doc *doc, const sparse__doc_node *v, const char *what,
                       sparse_layer_spec *s)
{
    if (v->kind == SPARSE__DOC_SCALAR) {
        s->input_count = 1;
        s->inputs[0] = v->scalar;
        return SPARSE_OK;
    }
    if (v->kind != SPARSE__DOC_SEQ)
        return sparse__doc_error(doc, v, SPARSE_EFORMAT, "%s: a layer name or a list of names", what);
    if (v->n > SPARSE_LAYER_MAX_INPUTS)
        return sparse__doc_error(doc, v, SPARSE_EFORMAT, "%s: %zu inputs, at most %d", what, v->n,
                                 SPARSE_LAYER_MAX_INPUTS);
    for (size_t i = 0; i < v->n; i++) {
        int rc = sparse__doc_string(doc, v->items[i], what, &s->inputs[i]);
        if (rc)
            return rc;
    }
    s->input_count = v->n;
    return SPARSE_OK;
}

static int read_size(const sparse__doc *doc, const sparse__doc_node *v, const char *what, long min,
                     size_t *out)
{
    long l = 0;
    int rc = sparse__doc_long(doc, v, what, min, MAX_SIZE, &l);
    if (!rc)
        *out = (size_t)l;
    return rc;
}

/* One field of a layer into s; what is "LABEL: KEY". */
static int read_field(const sparse__doc *doc, int key, const sparse__doc_node *v, const char *what,
                      sparse_layer_spec *s)
{
    static const char *const paddings[] = {"valid", "same"}; /* sparse_padding order */
    static const char *const modes[] = {"sum", "concat", "concatenate"};
    int m = 0, rc;
    switch (key) {
    case K_NAME:
        return sparse__doc_string(doc, v, what, &s->name);
    case K_INPUT:
        return read_inputs(doc, v, what, s);
    case K_FILTERS:
        return read_size(doc, v, what, 0, &s->filters);
    case K_KERNEL:
        return read_size(doc, v, what, 0, &s->kernel);
    case K_STRIDE:
        return read_size(doc, v, what, 1, &s->stride);
    case K_PADDING:
        return sparse__doc_enum(doc, v, what, paddings, 2, &s->padding);
    case K_BIAS:
        return sparse__doc_bool(doc, v, what, &s->bias);
    case K_RATE:
        return sparse__doc_double(doc, v, what, -1e9, 1e9, &s->rate);
    case K_SIZE:
        return read_size(doc, v, what, 0, &s->size);
    case K_DEPTH:
        return read_size(doc, v, what, 0, &s->depth_rate);
    case K_UNITS:
        return read_size(doc, v, what, 0, &s->units);
    case K_MODE:
        rc = sparse__doc_enum(doc, v, what, modes, 3, &m);
        s->merge = m == 0 ? SPARSE_MERGE_SUM : SPARSE_MERGE_CONCAT;
        return rc;
    default:
        return SPARSE_OK;
    }
}

static int key_index(const char *k)
{
    for (int i = 0; i < K_COUNT; i++)
        if (!strcmp(k, key_names[i]))
            return i;
    return -1;
}

static int parse_layer(const sparse__doc *doc, sparse_arch *a, const sparse__doc_node *ln, size_t index)
{
    char label[300];
    snprintf(label, sizeof label, "layer %zu", index + 1);
    if (ln->kind != SPARSE__DOC_MAP)
        return sparse__doc_error(doc, ln, SPARSE_EFORMAT,
                                 "%s: a layer must be a mapping such as {type: conv2d, ...}", label);
    /* Name and type first, so every later message can name the layer. */
    const sparse__doc_node *name = sparse__doc_get(ln, "name"), *type = sparse__doc_get(ln, "type");
    if (name && name->kind == SPARSE__DOC_SCALAR)
        snprintf(label, sizeof label, "layer '%s'", name->scalar);
    if (!type)
        return sparse__doc_error(doc, ln, SPARSE_EFORMAT, "%s: missing field 'type'", label);
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.stride = 0;
    int rc = read_kind(doc, type, label, &s.kind);
    if (rc)
        return rc;
    snprintf(label + strlen(label), sizeof label - strlen(label), " (%s)", sparse_layer_kind_name(s.kind));
    const char *keys[K_COUNT + 1] = {"type"};
    size_t nk = 1;
    const unsigned allowed = allowed_keys(s.kind);
    for (int i = 0; i < K_COUNT; i++)
        if (allowed & (1u << i))
            keys[nk++] = key_names[i];
    if ((rc = sparse__doc_check_keys(doc, ln, label, keys, nk)))
        return rc;
    unsigned seen = 0;
    for (size_t i = 0; i < ln->n && !rc; i++) {
        const int key = key_index(ln->items[2 * i]->scalar);
        if (key < 0) /* "type" */
            continue;
        char what[400];
        snprintf(what, sizeof what, "%s: %s", label, key_names[key]);
        seen |= 1u << key;
        rc = read_field(doc, key, ln->items[2 * i + 1], what, &s);
    }
    const unsigned missing = required_keys(s.kind) & ~seen;
    for (int i = 0; i < K_COUNT && !rc; i++)
        if (missing & (1u << i))
            rc = sparse__doc_error(doc, ln, SPARSE_EFORMAT, "%s: missing field '%s'", label, key_names[i]);
    return rc ? rc : sparse__arch_add(a, &s, ln->line, ln->col);
}

/* input: [channels, height, width] */
static int read_input_shape(const sparse__doc *doc, const sparse__doc_node *v, size_t dims[3])
{
    if (v->kind != SPARSE__DOC_SEQ || v->n != 3)
        return sparse__doc_error(doc, v, SPARSE_EFORMAT, "input: must be [channels, height, width]");
    for (int i = 0; i < 3; i++) {
        int rc = read_size(doc, v->items[i], "input", 0, &dims[i]);
        if (rc)
            return rc;
    }
    return SPARSE_OK;
}

static int parse_root(const sparse__doc *doc, sparse_arch **out)
{
    static const char *const keys[] = {"name", "input", "classes", "layers"};
    const sparse__doc_node *root = sparse__doc_root(doc);
    int rc = sparse__doc_check_keys(doc, root, "architecture", keys, 4);
    if (rc)
        return rc;
    const sparse__doc_node *input = sparse__doc_get(root, "input"), *layers = sparse__doc_get(root, "layers");
    const sparse__doc_node *classes = sparse__doc_get(root, "classes"), *name = sparse__doc_get(root, "name");
    if (!input)
        return sparse__doc_error(doc, root, SPARSE_EFORMAT,
                                 "missing field 'input' ([channels, height, width])");
    if (!layers)
        return sparse__doc_error(doc, root, SPARSE_EFORMAT, "missing field 'layers'");
    size_t dims[3], ncls = 10;
    const char *nm = NULL;
    if ((rc = read_input_shape(doc, input, dims)) ||
        (classes && (rc = read_size(doc, classes, "classes", 0, &ncls))) ||
        (name && (rc = sparse__doc_string(doc, name, "name", &nm))))
        return rc;
    if (layers->kind != SPARSE__DOC_SEQ)
        return sparse__doc_error(doc, layers, SPARSE_EFORMAT, "layers: must be a list");
    sparse_arch *a = NULL;
    rc = sparse_arch_create(&a, dims[0], dims[1], dims[2], ncls);
    if (rc)
        return sparse__error_prefix(rc, "%s:%zu:%zu", sparse__doc_source(doc), input->line, input->col);
    if ((nm && (rc = sparse_arch_set_name(a, nm))) || !(a->source = sparse__strdup(sparse__doc_source(doc))))
        rc = rc ? rc : SPARSE_ENOMEM;
    for (size_t i = 0; i < layers->n && !rc; i++)
        rc = parse_layer(doc, a, layers->items[i], i);
    if (rc) {
        sparse_arch_free(a);
        return rc;
    }
    *out = a;
    return SPARSE_OK;
}

SPARSE_API int sparse_arch_parse_yaml(sparse_arch **out, const char *text, size_t len, const char *source)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(text);
    sparse__doc *doc = NULL;
    int rc = sparse__doc_parse(&doc, text, len, source);
    if (!rc)
        rc = parse_root(doc, out);
    sparse__doc_free(doc);
    return rc;
}

SPARSE_API int sparse_arch_load_yaml(sparse_arch **out, const char *path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    sparse__doc *doc = NULL;
    int rc = sparse__doc_load_file(&doc, path);
    if (!rc)
        rc = parse_root(doc, out);
    sparse__doc_free(doc);
    return rc;
}
