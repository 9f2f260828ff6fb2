/* Architecture YAML reader (libyaml document API: every node carries its
 * line, so each error names file:line and the layer). JSON written by
 * sparse_arch_to_json is YAML flow syntax and reads back through here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "layers_internal.h"

typedef struct yctx {
    yaml_document_t *doc;
    const char *src;
} yctx;

static size_t line_of(const yaml_node_t *n) { return n ? n->start_mark.line + 1 : 0; }

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int err_at(const yctx *y, const yaml_node_t *n, const char *layer, int code, const char *fmt, ...)
    SPARSE__PRINTF(5, 6);

static int err_at(const yctx *y, const yaml_node_t *n, const char *layer, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (layer)
        return sparse__error(code, "%s:%zu: %s: %s", y->src, line_of(n), layer, msg);
    return sparse__error(code, "%s:%zu: %s", y->src, line_of(n), msg);
}

static int get_size(const yctx *y, const yaml_node_t *n, const char *layer, const char *key, size_t *out)
{
    const char *s = scalar(n);
    char *end;
    if (!s || !*s || *s == '-')
        return err_at(y, n, layer, SPARSE_EFORMAT, "'%s' must be a non-negative integer", key);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > 100000000ULL)
        return err_at(y, n, layer, SPARSE_EFORMAT, "'%s' must be a non-negative integer, not '%s'", key, s);
    *out = (size_t)v;
    return SPARSE_OK;
}

static int get_double(const yctx *y, const yaml_node_t *n, const char *layer, const char *key, double *out)
{
    const char *s = scalar(n);
    char *end;
    if (!s || !*s)
        return err_at(y, n, layer, SPARSE_EFORMAT, "'%s' must be a number", key);
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end)
        return err_at(y, n, layer, SPARSE_EFORMAT, "'%s' must be a number, not '%s'", key, s);
    *out = v;
    return SPARSE_OK;
}

static int get_bool(const yctx *y, const yaml_node_t *n, const char *layer, const char *key, int *out)
{
    const char *s = scalar(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")))
        *out = 1;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")))
        *out = 0;
    else
        return err_at(y, n, layer, SPARSE_EFORMAT, "'%s' must be true or false", key);
    return SPARSE_OK;
}

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

static int parse_layer(const yctx *y, sparse_arch *a, const yaml_node_t *ln, size_t index)
{
    char label[300];
    snprintf(label, sizeof label, "layer %zu", index + 1);
    if (ln->type != YAML_MAPPING_NODE)
        return err_at(y, ln, label, SPARSE_EFORMAT, "a layer must be a mapping such as {type: conv2d, ...}");
    /* Name and type first, so every later message can name the layer. */
    const yaml_node_t *type_node = NULL;
    const char *name = NULL;
    for (yaml_node_pair_t *p = ln->data.mapping.pairs.start; p < ln->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(y->doc, p->key));
        const yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (k && !strcmp(k, "type"))
            type_node = v;
        else if (k && !strcmp(k, "name"))
            name = scalar(v);
    }
    if (name)
        snprintf(label, sizeof label, "layer '%s'", name);
    if (!type_node || !scalar(type_node))
        return err_at(y, ln, label, SPARSE_EFORMAT, "missing field 'type'");
    const char *tname = scalar(type_node);
    int kind = -1;
    for (int k = 1; k < SPARSE_LAYER_KIND_COUNT_; k++)
        if (!strcmp(tname, sparse_layer_kind_name(k)))
            kind = k;
    if (kind < 0) {
        /* Common aliases. */
        if (!strcmp(tname, "dense") || !strcmp(tname, "linear"))
            kind = SPARSE_LAYER_FC;
        else if (!strcmp(tname, "conv"))
            kind = SPARSE_LAYER_CONV2D;
        else
            return err_at(y, type_node, label, SPARSE_EFORMAT,
                          "unknown layer type '%s' (known: conv2d, downsampled_conv2d, separable_conv2d, "
                          "depthwise_conv2d, input_downsample, batchnorm, relu, maxpool, avgpool, fc, residual, "
                          "merge)",
                          tname);
    }
    snprintf(label + strlen(label), sizeof label - strlen(label), " (%s)", sparse_layer_kind_name(kind));
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.kind = kind;
    s.name = name;
    s.stride = 0;
    unsigned seen = 0, allowed = allowed_keys(kind);
    for (yaml_node_pair_t *p = ln->data.mapping.pairs.start; p < ln->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *k = scalar(kn);
        if (!k)
            return err_at(y, kn, label, SPARSE_EFORMAT, "keys must be plain strings");
        if (!strcmp(k, "type"))
            continue;
        int key = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (!strcmp(k, key_names[i]))
                key = i;
        if (key < 0 || !(allowed & (1u << key)))
            return err_at(y, kn, label, SPARSE_EFORMAT, "unknown key '%s' for a %s layer", k,
                          sparse_layer_kind_name(kind));
        if (seen & (1u << key))
            return err_at(y, kn, label, SPARSE_EFORMAT, "duplicate key '%s'", k);
        seen |= 1u << key;
        int rc = SPARSE_OK;
        switch (key) {
        case K_NAME:
            if (!scalar(v))
                rc = err_at(y, v, label, SPARSE_EFORMAT, "'name' must be a string");
            break;
        case K_INPUT:
            if (scalar(v)) {
                s.n_inputs = 1;
                s.inputs[0] = scalar(v);
            } else if (v->type == YAML_SEQUENCE_NODE) {
                size_t cnt = 0;
                for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                    const yaml_node_t *e = yaml_document_get_node(y->doc, *it);
                    if (!scalar(e))
                        return err_at(y, e, label, SPARSE_EFORMAT, "'input' lists layer names");
                    if (cnt == SPARSE_LAYER_MAX_INPUTS)
                        return err_at(y, e, label, SPARSE_EFORMAT, "at most %d inputs", SPARSE_LAYER_MAX_INPUTS);
                    s.inputs[cnt++] = scalar(e);
                }
                s.n_inputs = cnt;
            } else {
                rc = err_at(y, v, label, SPARSE_EFORMAT, "'input' must be a layer name or a list of names");
            }
            break;
        case K_FILTERS:
            rc = get_size(y, v, label, k, &s.filters);
            break;
        case K_KERNEL:
            rc = get_size(y, v, label, k, &s.kernel);
            break;
        case K_STRIDE:
            rc = get_size(y, v, label, k, &s.stride);
            if (!rc && s.stride == 0)
                rc = err_at(y, v, label, SPARSE_ERANGE, "'stride' must be at least 1");
            break;
        case K_PADDING: {
            const char *pv = scalar(v);
            if (pv && !strcmp(pv, "same"))
                s.padding = SPARSE_PAD_SAME;
            else if (pv && !strcmp(pv, "valid"))
                s.padding = SPARSE_PAD_VALID;
            else
                rc = err_at(y, v, label, SPARSE_EFORMAT, "'padding' must be same or valid");
            break;
        }
        case K_BIAS:
            rc = get_bool(y, v, label, k, &s.bias);
            break;
        case K_RATE:
            rc = get_double(y, v, label, k, &s.rate);
            break;
        case K_SIZE:
            rc = get_size(y, v, label, k, &s.size);
            break;
        case K_DEPTH:
            rc = get_size(y, v, label, k, &s.depth_rate);
            break;
        case K_UNITS:
            rc = get_size(y, v, label, k, &s.units);
            break;
        case K_MODE: {
            const char *mv = scalar(v);
            if (mv && !strcmp(mv, "sum"))
                s.merge = SPARSE_MERGE_SUM;
            else if (mv && (!strcmp(mv, "concat") || !strcmp(mv, "concatenate")))
                s.merge = SPARSE_MERGE_CONCAT;
            else
                rc = err_at(y, v, label, SPARSE_EFORMAT, "'mode' must be sum or concat");
            break;
        }
        default:
            break;
        }
        if (rc)
            return rc;
    }
    unsigned missing = required_keys(kind) & ~seen;
    for (int i = 0; i < K_COUNT; i++)
        if (missing & (1u << i))
            return err_at(y, ln, label, SPARSE_EFORMAT, "missing field '%s'", key_names[i]);
    return sparse__arch_add(a, &s, line_of(ln));
}

static int parse_doc(const yctx *y, sparse_arch **out)
{
    yaml_node_t *root = yaml_document_get_root_node(y->doc);
    if (!root)
        return sparse__error(SPARSE_EFORMAT, "%s: empty architecture file", y->src);
    if (root->type != YAML_MAPPING_NODE)
        return err_at(y, root, NULL, SPARSE_EFORMAT, "the architecture must be a mapping with input and layers");
    const yaml_node_t *input = NULL, *layers = NULL, *classes = NULL, *name = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *k = scalar(kn);
        if (k && !strcmp(k, "input"))
            input = v;
        else if (k && !strcmp(k, "layers"))
            layers = v;
        else if (k && !strcmp(k, "classes"))
            classes = v;
        else if (k && !strcmp(k, "name"))
            name = v;
        else
            return err_at(y, kn, NULL, SPARSE_EFORMAT, "unknown key '%s' (known: name, input, classes, layers)",
                          k ? k : "?");
    }
    if (!input)
        return err_at(y, root, NULL, SPARSE_EFORMAT, "missing field 'input' ([channels, height, width])");
    if (!layers)
        return err_at(y, root, NULL, SPARSE_EFORMAT, "missing field 'layers'");
    size_t dims[3];
    if (input->type != YAML_SEQUENCE_NODE ||
        input->data.sequence.items.top - input->data.sequence.items.start != 3)
        return err_at(y, input, NULL, SPARSE_EFORMAT, "'input' must be [channels, height, width]");
    for (int i = 0; i < 3; i++) {
        int rc = get_size(y, yaml_document_get_node(y->doc, input->data.sequence.items.start[i]), NULL, "input",
                          &dims[i]);
        if (rc)
            return rc;
    }
    size_t ncls = 10;
    if (classes) {
        int rc = get_size(y, classes, NULL, "classes", &ncls);
        if (rc)
            return rc;
    }
    if (name && !scalar(name))
        return err_at(y, name, NULL, SPARSE_EFORMAT, "'name' must be a string");
    if (layers->type != YAML_SEQUENCE_NODE)
        return err_at(y, layers, NULL, SPARSE_EFORMAT, "'layers' must be a list");
    sparse_arch *a = NULL;
    int rc = sparse_arch_create(&a, dims[0], dims[1], dims[2], ncls);
    if (rc)
        return sparse__error_prefix(rc, "%s:%zu", y->src, line_of(input));
    if ((name && (rc = sparse_arch_set_name(a, scalar(name)))) || !(a->source = sparse__strdup(y->src))) {
        sparse_arch_free(a);
        return rc ? rc : SPARSE_ENOMEM;
    }
    size_t i = 0;
    for (yaml_node_item_t *it = layers->data.sequence.items.start; it < layers->data.sequence.items.top; it++, i++) {
        rc = parse_layer(y, a, yaml_document_get_node(y->doc, *it), i);
        if (rc) {
            sparse_arch_free(a);
            return rc;
        }
    }
    *out = a;
    return SPARSE_OK;
}

SPARSE_API int sparse_arch_parse_yaml(sparse_arch **out, const char *text, size_t len, const char *source)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(text);
    yctx y = {NULL, source ? source : "<string>"};
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return sparse__error(SPARSE_ENOMEM, "yaml_parser_initialize failed");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = sparse__error(SPARSE_EFORMAT, "%s:%zu: YAML syntax error: %s %s", y.src,
                               parser.problem_mark.line + 1, parser.problem ? parser.problem : "",
                               parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    y.doc = &doc;
    int rc = parse_doc(&y, out);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

SPARSE_API int sparse_arch_load_yaml(sparse_arch **out, const char *path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    char *text = NULL;
    size_t len = 0;
    int rc = sparse__read_file(path, &text, &len);
    if (rc)
        return rc;
    rc = sparse_arch_parse_yaml(out, text, len, path);
    free(text);
    return rc;
}
