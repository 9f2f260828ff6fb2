/* sparse_arch: the ordered layer list, built in code or parsed from YAML,
 * and its serialisation back to YAML and JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers_internal.h"

SPARSE__STRUCT_VERSIONS(layer_spec_versions, sparse_layer_spec, SPARSE_LAYER_SPEC_INIT,
                        SPARSE_LAYER_SPEC_VERSION, sizeof(sparse_layer_spec));

SPARSE_API int sparse_layer_spec_init(sparse_layer_spec *spec, unsigned version)
{
    return sparse__struct_init(&layer_spec_versions, spec, version);
}

SPARSE_API int sparse_arch_create(sparse_arch **out, size_t channels, size_t height, size_t width,
                                  size_t num_classes)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    if (!channels || !height || !width || channels > 65536 || height > 65536 || width > 65536)
        return sparse__error(SPARSE_ESHAPE, "sparse_arch_create: input shape %zux%zux%zu is invalid",
                             channels, height, width);
    if (num_classes < 2 || num_classes > 1000000)
        return sparse__error(SPARSE_ERANGE, "sparse_arch_create: %zu classes (need at least 2)",
                             num_classes);
    sparse_arch *a = sparse__calloc(1, sizeof *a);
    if (!a)
        return SPARSE_ENOMEM;
    a->c = channels;
    a->h = height;
    a->w = width;
    a->classes = num_classes;
    *out = a;
    return SPARSE_OK;
}

static void layer_clear(sparse__arch_layer *l)
{
    free(l->name);
    for (size_t i = 0; i < SPARSE_LAYER_MAX_INPUTS; i++)
        free(l->inputs[i]);
    memset(l, 0, sizeof *l);
}

SPARSE_API void sparse_arch_free(sparse_arch *arch)
{
    if (!arch)
        return;
    for (size_t i = 0; i < arch->n; i++)
        layer_clear(&arch->layers[i]);
    free(arch->layers);
    free(arch->name);
    free(arch->source);
    free(arch);
}

/* Points the spec's strings at the layer's own copies. */
static void layer_relink(sparse__arch_layer *l)
{
    l->s.name = l->name;
    for (size_t i = 0; i < SPARSE_LAYER_MAX_INPUTS; i++)
        l->s.inputs[i] = i < l->s.input_count ? l->inputs[i] : NULL;
}

static int layer_copy(sparse__arch_layer *dst, const sparse_layer_spec *s, const char *name, size_t line,
                      size_t col)
{
    memset(dst, 0, sizeof *dst);
    dst->s = *s;
    dst->line = line;
    dst->col = col;
    dst->name = sparse__strdup(name);
    if (!dst->name)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < s->input_count; i++) {
        dst->inputs[i] = sparse__strdup(s->inputs[i]);
        if (!dst->inputs[i]) {
            layer_clear(dst);
            return SPARSE_ENOMEM;
        }
    }
    layer_relink(dst);
    return SPARSE_OK;
}

SPARSE_API int sparse_arch_clone(sparse_arch **out, const sparse_arch *arch)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(arch);
    sparse_arch *a;
    int rc = sparse_arch_create(&a, arch->c, arch->h, arch->w, arch->classes);
    if (rc)
        return rc;
    if ((arch->name && !(a->name = sparse__strdup(arch->name))) ||
        (arch->source && !(a->source = sparse__strdup(arch->source)))) {
        sparse_arch_free(a);
        return SPARSE_ENOMEM;
    }
    a->layers = sparse__calloc(arch->n ? arch->n : 1, sizeof *a->layers);
    if (!a->layers) {
        sparse_arch_free(a);
        return SPARSE_ENOMEM;
    }
    a->cap = arch->n ? arch->n : 1;
    for (size_t i = 0; i < arch->n; i++) {
        rc = layer_copy(&a->layers[i], &arch->layers[i].s, arch->layers[i].name, arch->layers[i].line,
                        arch->layers[i].col);
        if (rc) {
            sparse_arch_free(a);
            return rc;
        }
        a->n++;
    }
    *out = a;
    return SPARSE_OK;
}

/* "file:line:col: layer 'x' (kind)": where a layer read from YAML is, as the
 * reader's own errors say it; "layer 'x' (kind)" for one built in code. */
static const char *label(char *buf, size_t cap, const sparse_arch *a, size_t line, size_t col,
                         const char *name, int kind)
{
    if (line)
        snprintf(buf, cap, "%s:%zu:%zu: layer '%s' (%s)", a->source ? a->source : "<string>", line, col, name,
                 sparse_layer_kind_name(kind));
    else
        snprintf(buf, cap, "layer '%s' (%s)", name, sparse_layer_kind_name(kind));
    return buf;
}

const char *sparse__arch_layer_label(const sparse_arch *a, size_t i, char *buf, size_t cap)
{
    const sparse__arch_layer *l = &a->layers[i];
    return label(buf, cap, a, l->line, l->col, l->name, l->s.kind);
}

static int is_conv_kind(int k)
{
    const sparse__kind_info *ki = sparse__kind(k);
    return ki && ki->conv;
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '/'))
            return 0;
    return 1;
}

/* Checks what can be checked without shapes; ctx names the layer. */
static int check_spec(const sparse_arch *a, const sparse_layer_spec *s, const char *ctx, size_t skip)
{
    if (s->kind <= SPARSE_LAYER_INPUT || s->kind >= SPARSE_LAYER_KIND_COUNT_)
        return sparse__error(SPARSE_EINVAL, "%s: unknown layer kind %d", ctx, s->kind);
    if (s->input_count > SPARSE_LAYER_MAX_INPUTS)
        return sparse__error(SPARSE_ERANGE, "%s: %zu inputs, at most %d", ctx, s->input_count,
                             SPARSE_LAYER_MAX_INPUTS);
    for (size_t i = 0; i < s->input_count; i++)
        if (!valid_name(s->inputs[i]))
            return sparse__error(SPARSE_EINVAL, "%s: input %zu is not a valid layer name", ctx, i);
    if (s->name && !valid_name(s->name))
        return sparse__error(SPARSE_EINVAL,
                             "%s: name must be 1-200 characters of letters, digits, '_', '-', '/'", ctx);
    if (s->name && !strcmp(s->name, "input"))
        return sparse__error(SPARSE_EINVAL, "%s: the name 'input' is reserved", ctx);
    if (s->name)
        for (size_t i = 0; i < a->n; i++)
            if (i != skip && !strcmp(a->layers[i].name, s->name))
                return sparse__error(SPARSE_EINVAL, "%s: duplicate layer name '%s'", ctx, s->name);
    if (is_conv_kind(s->kind)) {
        if (s->kernel < 1 || s->kernel > 11)
            return sparse__error(SPARSE_ERANGE, "%s: kernel %zu, allowed 1..11", ctx, s->kernel);
        if (s->stride > 11)
            return sparse__error(SPARSE_ERANGE, "%s: stride %zu, allowed 1..11", ctx, s->stride);
        if (s->padding != SPARSE_PAD_SAME && s->padding != SPARSE_PAD_VALID)
            return sparse__error(SPARSE_EINVAL, "%s: padding must be same or valid", ctx);
        if (s->kind != SPARSE_LAYER_DEPTHWISE_CONV2D && (s->filters < 1 || s->filters > 100000))
            return sparse__error(SPARSE_ERANGE, "%s: filters %zu, allowed 1..100000", ctx, s->filters);
    }
    if (s->kind == SPARSE_LAYER_DOWNSAMPLED_CONV2D && !(s->rate > 0.0 && s->rate <= 1.0))
        return sparse__error(SPARSE_ERANGE, "%s: rate %g, allowed (0, 1]", ctx, s->rate);
    if ((s->kind == SPARSE_LAYER_MAXPOOL || s->kind == SPARSE_LAYER_AVGPOOL) &&
        (s->size < 1 || s->size > 64 || s->stride > 64))
        return sparse__error(SPARSE_ERANGE, "%s: size %zu / stride %zu, allowed 1..64", ctx, s->size,
                             s->stride);
    if (s->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE &&
        (s->size < 1 || s->size > 64 || s->depth_rate < 1 || s->depth_rate > 64))
        return sparse__error(SPARSE_ERANGE, "%s: size %zu / depth %zu, allowed 1..64", ctx, s->size,
                             s->depth_rate);
    if (s->kind == SPARSE_LAYER_FC && (s->units < 1 || s->units > 10000000))
        return sparse__error(SPARSE_ERANGE, "%s: units %zu, allowed 1..10000000", ctx, s->units);
    if (s->kind == SPARSE_LAYER_MERGE) {
        if (s->merge != SPARSE_MERGE_SUM && s->merge != SPARSE_MERGE_CONCAT)
            return sparse__error(SPARSE_EINVAL, "%s: mode must be sum or concat", ctx);
        if (s->input_count < 2)
            return sparse__error(SPARSE_EINVAL, "%s: a merge needs at least 2 inputs", ctx);
    }
    if (s->kind == SPARSE_LAYER_RESIDUAL && (s->input_count < 1 || s->input_count > 2))
        return sparse__error(SPARSE_EINVAL,
                             "%s: a residual needs 1 input (the skip, added to the previous layer) or 2",
                             ctx);
    return SPARSE_OK;
}

static int arch_put(sparse_arch *a, size_t index, const sparse_layer_spec *s, size_t line, size_t col,
                    int replace)
{
    char ctx[512];
    char gen[64];
    const char *name = s->name;
    if (line)
        label(ctx, sizeof ctx, a, line, col, name ? name : "?", s->kind);
    else
        snprintf(ctx, sizeof ctx, "layer %zu '%s' (%s)", index, name ? name : "?",
                 sparse_layer_kind_name(s->kind));
    int rc = check_spec(a, s, ctx, replace ? index : SIZE_MAX);
    if (rc)
        return rc;
    if (!name) {
        /* Generated names must not collide with explicit ones. */
        for (size_t k = index + 1;; k++) {
            snprintf(gen, sizeof gen, "%s_%zu", sparse_layer_kind_name(s->kind), k);
            size_t i;
            for (i = 0; i < a->n; i++)
                if (!(replace && i == index) && !strcmp(a->layers[i].name, gen))
                    break;
            if (i == a->n)
                break;
        }
        name = gen;
    }
    sparse__arch_layer nl;
    rc = layer_copy(&nl, s, name, line, col);
    if (rc)
        return rc;
    if (replace) {
        layer_clear(&a->layers[index]);
        a->layers[index] = nl;
        layer_relink(&a->layers[index]);
        return SPARSE_OK;
    }
    if (sparse__grow(&a->layers, &a->cap, a->n, sizeof *a->layers, 8)) {
        layer_clear(&nl);
        return SPARSE_ENOMEM;
    }
    memmove(&a->layers[index + 1], &a->layers[index], (a->n - index) * sizeof *a->layers);
    a->layers[index] = nl;
    a->n++;
    for (size_t i = 0; i < a->n; i++)
        layer_relink(&a->layers[i]);
    return SPARSE_OK;
}

int sparse__arch_add(sparse_arch *a, const sparse_layer_spec *s, size_t line, size_t col)
{
    return arch_put(a, a->n, s, line, col, 0);
}

/* arch_put of a caller's spec, of any version. */
static int put_spec(sparse_arch *arch, size_t index, const sparse_layer_spec *spec, int replace,
                    const char *fn)
{
    sparse_layer_spec s;
    int rc = sparse__struct_read(&layer_spec_versions, &s, spec, fn);
    return rc ? rc : arch_put(arch, index, &s, 0, 0, replace);
}

SPARSE_API int sparse_arch_add_layer(sparse_arch *arch, const sparse_layer_spec *spec)
{
    SPARSE__CHECK_NULL(arch);
    SPARSE__CHECK_NULL(spec);
    return put_spec(arch, arch->n, spec, 0, "sparse_arch_add_layer");
}

SPARSE_API int sparse_arch_insert_layer(sparse_arch *arch, size_t index, const sparse_layer_spec *spec)
{
    SPARSE__CHECK_NULL(arch);
    SPARSE__CHECK_NULL(spec);
    if (index > arch->n)
        return sparse__error(SPARSE_ERANGE, "sparse_arch_insert_layer: index %zu > %zu layers", index,
                             arch->n);
    return put_spec(arch, index, spec, 0, "sparse_arch_insert_layer");
}

SPARSE_API int sparse_arch_set_layer(sparse_arch *arch, size_t index, const sparse_layer_spec *spec)
{
    SPARSE__CHECK_NULL(arch);
    SPARSE__CHECK_NULL(spec);
    if (index >= arch->n)
        return sparse__error(SPARSE_ERANGE, "sparse_arch_set_layer: index %zu, %zu layers", index,
                             arch->n);
    return put_spec(arch, index, spec, 1, "sparse_arch_set_layer");
}

SPARSE_API int sparse_arch_remove_layer(sparse_arch *arch, size_t index)
{
    SPARSE__CHECK_NULL(arch);
    if (index >= arch->n)
        return sparse__error(SPARSE_ERANGE, "sparse_arch_remove_layer: index %zu, %zu layers", index,
                             arch->n);
    layer_clear(&arch->layers[index]);
    memmove(&arch->layers[index], &arch->layers[index + 1],
            (arch->n - index - 1) * sizeof *arch->layers);
    arch->n--;
    for (size_t i = 0; i < arch->n; i++)
        layer_relink(&arch->layers[i]);
    return SPARSE_OK;
}

SPARSE_API size_t sparse_arch_layer_count(const sparse_arch *arch) { return arch ? arch->n : 0; }

SPARSE_API int sparse_arch_layer(const sparse_arch *arch, size_t index, sparse_layer_spec *out)
{
    SPARSE__CHECK_NULL(arch);
    SPARSE__CHECK_NULL(out);
    if (index >= arch->n)
        return sparse__error(SPARSE_ERANGE, "sparse_arch_layer: index %zu, %zu layers", index, arch->n);
    return sparse__struct_write(&layer_spec_versions, out, &arch->layers[index].s, "sparse_arch_layer");
}

SPARSE_API size_t sparse_arch_layer_line(const sparse_arch *arch, size_t index)
{
    return arch && index < arch->n ? arch->layers[index].line : 0;
}

SPARSE_API int sparse_arch_input_shape(const sparse_arch *arch, size_t *channels, size_t *height,
                                       size_t *width)
{
    SPARSE__CHECK_NULL(arch);
    if (channels)
        *channels = arch->c;
    if (height)
        *height = arch->h;
    if (width)
        *width = arch->w;
    return SPARSE_OK;
}

SPARSE_API size_t sparse_arch_class_count(const sparse_arch *arch) { return arch ? arch->classes : 0; }

SPARSE_API const char *sparse_arch_name(const sparse_arch *arch)
{
    return arch && arch->name ? arch->name : "";
}

SPARSE_API int sparse_arch_set_name(sparse_arch *arch, const char *name)
{
    SPARSE__CHECK_NULL(arch);
    char *n = NULL;
    if (name && !(n = sparse__strdup(name)))
        return SPARSE_ENOMEM;
    free(arch->name);
    arch->name = n;
    return SPARSE_OK;
}

SPARSE_API int sparse_arch_validate(const sparse_arch *arch)
{
    SPARSE__CHECK_NULL(arch);
    sparse__node *nodes = NULL;
    size_t n = 0;
    int rc = sparse__plan(arch, &nodes, &n);
    sparse__free_nodes(nodes, n);
    return rc;
}

/* ---- Serialisation ---- */

/* Writes the layer as a flow mapping; the same text is JSON when json is
 * set (all keys and strings quoted). */
static void put_str(sparse__buf *b, const char *s, int json)
{
    if (json)
        sparse__buf_json_string(b, s);
    else
        sparse__buf_puts(b, s);
}

static void put_key(sparse__buf *b, const char *k, int json, int *first)
{
    sparse__buf_puts(b, *first ? "" : ", ");
    *first = 0;
    put_str(b, k, json);
    sparse__buf_puts(b, ": ");
}

static void put_layer(sparse__buf *b, const sparse__arch_layer *l, int json)
{
    const sparse_layer_spec *s = &l->s;
    int first = 1;
    sparse__buf_puts(b, "{");
    put_key(b, "type", json, &first);
    put_str(b, sparse_layer_kind_name(s->kind), json);
    put_key(b, "name", json, &first);
    put_str(b, l->name, json);
    if (s->input_count) {
        put_key(b, "input", json, &first);
        sparse__buf_puts(b, "[");
        for (size_t i = 0; i < s->input_count; i++) {
            if (i)
                sparse__buf_puts(b, ", ");
            put_str(b, l->inputs[i], json);
        }
        sparse__buf_puts(b, "]");
    }
    int k = s->kind;
    if (is_conv_kind(k)) {
        if (k != SPARSE_LAYER_DEPTHWISE_CONV2D) {
            put_key(b, "filters", json, &first);
            sparse__buf_printf(b, "%zu", s->filters);
        }
        put_key(b, "kernel", json, &first);
        sparse__buf_printf(b, "%zu", s->kernel);
        put_key(b, "stride", json, &first);
        sparse__buf_printf(b, "%zu", s->stride ? s->stride : 1);
        put_key(b, "padding", json, &first);
        put_str(b, s->padding == SPARSE_PAD_SAME ? "same" : "valid", json);
        put_key(b, "bias", json, &first);
        sparse__buf_puts(b, s->bias ? "true" : "false");
        if (k == SPARSE_LAYER_DOWNSAMPLED_CONV2D) {
            put_key(b, "rate", json, &first);
            sparse__buf_json_double(b, s->rate);
        }
    } else if (k == SPARSE_LAYER_MAXPOOL || k == SPARSE_LAYER_AVGPOOL) {
        put_key(b, "size", json, &first);
        sparse__buf_printf(b, "%zu", s->size);
        put_key(b, "stride", json, &first);
        sparse__buf_printf(b, "%zu", s->stride ? s->stride : s->size);
    } else if (k == SPARSE_LAYER_INPUT_DOWNSAMPLE) {
        put_key(b, "size", json, &first);
        sparse__buf_printf(b, "%zu", s->size);
        put_key(b, "depth", json, &first);
        sparse__buf_printf(b, "%zu", s->depth_rate);
    } else if (k == SPARSE_LAYER_FC) {
        put_key(b, "units", json, &first);
        sparse__buf_printf(b, "%zu", s->units);
        put_key(b, "bias", json, &first);
        sparse__buf_puts(b, s->bias ? "true" : "false");
    } else if (k == SPARSE_LAYER_MERGE) {
        put_key(b, "mode", json, &first);
        put_str(b, s->merge == SPARSE_MERGE_CONCAT ? "concat" : "sum", json);
    }
    sparse__buf_puts(b, "}");
}

static int serialise(const sparse_arch *a, char **out, int json)
{
    sparse__buf b = SPARSE__BUF_INIT;
    if (json) {
        sparse__buf_puts(&b, "{\"name\": ");
        sparse__buf_json_string(&b, a->name ? a->name : "");
        sparse__buf_printf(&b, ", \"input\": [%zu, %zu, %zu], \"classes\": %zu, \"layers\": [", a->c,
                           a->h, a->w, a->classes);
        for (size_t i = 0; i < a->n; i++) {
            if (i)
                sparse__buf_puts(&b, ", ");
            put_layer(&b, &a->layers[i], 1);
        }
        sparse__buf_puts(&b, "]}");
    } else {
        sparse__buf_puts(&b, "# libsparse network (docs/network-format.md)\n");
        if (a->name && *a->name) {
            sparse__buf_puts(&b, "name: ");
            sparse__buf_json_string(&b, a->name);
            sparse__buf_puts(&b, "\n");
        }
        sparse__buf_printf(&b, "input: [%zu, %zu, %zu]  # channels, height, width\nclasses: %zu\nlayers:\n",
                           a->c, a->h, a->w, a->classes);
        for (size_t i = 0; i < a->n; i++) {
            sparse__buf_puts(&b, "  - ");
            put_layer(&b, &a->layers[i], 0);
            sparse__buf_puts(&b, "\n");
        }
        if (!a->n)
            sparse__buf_puts(&b, "  []\n");
    }
    if (b.failed) {
        sparse__buf_free(&b);
        return SPARSE_ENOMEM;
    }
    *out = sparse__buf_detach(&b);
    return *out ? SPARSE_OK : SPARSE_ENOMEM;
}

/* The argument checks here, not in serialise: their messages name the
 * function called. */
SPARSE_API int sparse_arch_to_yaml(char **out, const sparse_arch *arch)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(arch);
    return serialise(arch, out, 0);
}

SPARSE_API int sparse_arch_to_json(char **out, const sparse_arch *arch)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(arch);
    return serialise(arch, out, 1);
}
