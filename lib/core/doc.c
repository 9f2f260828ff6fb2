#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "doc.h"
#include "internal.h"

struct sparse__doc {
    char *source;
    sparse__doc_node *root;
};

/* Nesting deeper than this is refused rather than risking the C stack in
 * the recursive free; more nodes than SPARSE_MAX_YAML_NODES rather than
 * growing without bound (limits.h). */
#define MAX_DEPTH SPARSE_MAX_YAML_DEPTH

static void node_free(sparse__doc_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nitems; i++)
        node_free(n->items[i]);
    free(n->items);
    free(n->scalar);
    free(n);
}

void sparse__doc_free(sparse__doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    free(doc->source);
    free(doc);
}

const sparse__doc_node *sparse__doc_root(const sparse__doc *doc) { return doc ? doc->root : NULL; }
const char *sparse__doc_source(const sparse__doc *doc) { return doc ? doc->source : "?"; }

static int vdoc_error(const char *source, size_t line, size_t col, int code, const char *fmt,
                      va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return sparse__error(code, "%s:%zu:%zu: %s", source, line, col, msg);
}

int sparse__doc_error(const sparse__doc *doc, const sparse__doc_node *node, int code,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vdoc_error(sparse__doc_source(doc), node ? node->line : 1, node ? node->col : 1, code,
                        fmt, ap);
    va_end(ap);
    return rc;
}

/* The document under construction: the open mappings and sequences. */
typedef struct builder {
    sparse__doc *doc;
    sparse__doc_node *stack[MAX_DEPTH];
    size_t fill[MAX_DEPTH]; /* items stored in stack[i] */
    size_t cap[MAX_DEPTH];
    int depth;
    long nodes;
} builder;

static int push_item(builder *b, sparse__doc_node *child)
{
    sparse__doc_node *p = b->stack[b->depth - 1];
    size_t *fill = &b->fill[b->depth - 1], *cap = &b->cap[b->depth - 1];
    if (sparse__grow(&p->items, cap, *fill, sizeof *p->items, 8))
        return SPARSE_ENOMEM;
    p->items[(*fill)++] = child;
    p->nitems = *fill;
    p->n = p->kind == SPARSE__DOC_MAP ? *fill / 2 : *fill;
    return SPARSE_OK;
}

static sparse__doc_node *new_node(enum sparse__doc_kind kind, const yaml_mark_t *mark)
{
    sparse__doc_node *n = sparse__calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->line = mark->line + 1;
        n->col = mark->column + 1;
    }
    return n;
}

static int event_error(const builder *b, const yaml_event_t *ev, const char *what)
{
    return sparse__error(SPARSE_EFORMAT, "%s:%zu:%zu: %s", b->doc->source, ev->start_mark.line + 1,
                         ev->start_mark.column + 1, what);
}

/* A scalar, or the start of a mapping or sequence: a new node in the open
 * collection (or the root), opened in turn when it is a collection. */
static int add_node(builder *b, const yaml_event_t *ev)
{
    const int scalar = ev->type == YAML_SCALAR_EVENT, map = ev->type == YAML_MAPPING_START_EVENT;
    if ((scalar && ev->data.scalar.anchor) || (map && ev->data.mapping_start.anchor) ||
        (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor))
        return event_error(b, ev, "anchors and aliases are not supported");
    if (++b->nodes > SPARSE_MAX_YAML_NODES)
        return sparse__error(SPARSE_ERANGE, "%s:%zu:%zu: more than %ld nodes (SPARSE_MAX_YAML_NODES)",
                             b->doc->source, ev->start_mark.line + 1, ev->start_mark.column + 1,
                             (long)SPARSE_MAX_YAML_NODES);
    sparse__doc_node *n = new_node(scalar ? SPARSE__DOC_SCALAR
                                   : map  ? SPARSE__DOC_MAP
                                          : SPARSE__DOC_SEQ,
                                   &ev->start_mark);
    if (!n)
        return SPARSE_ENOMEM;
    if (scalar) {
        n->scalar = sparse__malloc(ev->data.scalar.length + 1);
        if (!n->scalar) {
            node_free(n);
            return SPARSE_ENOMEM;
        }
        memcpy(n->scalar, ev->data.scalar.value, ev->data.scalar.length);
        n->scalar[ev->data.scalar.length] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    }
    if (b->depth == 0) {
        b->doc->root = n;
    } else {
        int rc = push_item(b, n);
        if (rc) {
            node_free(n);
            return rc;
        }
    }
    if (scalar)
        return SPARSE_OK;
    if (b->depth == MAX_DEPTH)
        return sparse__error(SPARSE_EFORMAT, "%s:%zu:%zu: nested deeper than %d levels (SPARSE_MAX_YAML_DEPTH)",
                             b->doc->source, n->line, n->col, MAX_DEPTH);
    b->stack[b->depth] = n;
    b->fill[b->depth] = b->cap[b->depth] = 0;
    b->depth++;
    return SPARSE_OK;
}

/* Reads the whole event stream into b->doc. */
static int build(builder *b, yaml_parser_t *parser)
{
    int rc = SPARSE_OK, docs = 0;
    for (int done = 0; !rc && !done;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev))
            return sparse__error(SPARSE_EFORMAT, "%s:%zu:%zu: syntax error: %s%s%s", b->doc->source,
                                 parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                                 parser->problem ? parser->problem : "invalid input",
                                 parser->context ? " " : "", parser->context ? parser->context : "");
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = event_error(b, &ev, "only one document is allowed");
            break;
        case YAML_ALIAS_EVENT:
            rc = event_error(b, &ev, "anchors and aliases are not supported");
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            rc = add_node(b, &ev);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            b->depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    return rc;
}

int sparse__doc_parse(sparse__doc **out, const char *text, size_t len, const char *source)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(text);
    if (!source)
        source = "<string>";
    sparse__doc *doc = sparse__calloc(1, sizeof *doc);
    if (!doc)
        return SPARSE_ENOMEM;
    doc->source = sparse__strdup(source);
    if (!doc->source) {
        free(doc);
        return SPARSE_ENOMEM;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        sparse__doc_free(doc);
        return sparse__error(SPARSE_ENOMEM, "%s: cannot initialise the YAML parser", source);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    builder b;
    memset(&b, 0, sizeof b);
    b.doc = doc;
    int rc = build(&b, &parser);
    yaml_parser_delete(&parser);
    if (!rc && !doc->root)
        rc = sparse__error(SPARSE_EFORMAT, "%s: empty document", source);
    if (rc) {
        sparse__doc_free(doc);
        return rc;
    }
    *out = doc;
    return SPARSE_OK;
}

int sparse__doc_load_file(sparse__doc **out, const char *path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    char *text;
    size_t len;
    int rc = sparse__read_file(path, &text, &len);
    if (rc)
        return rc;
    rc = sparse__doc_parse(out, text, len, path);
    free(text);
    return rc;
}

const sparse__doc_node *sparse__doc_get(const sparse__doc_node *map, const char *key)
{
    if (!map || map->kind != SPARSE__DOC_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const sparse__doc_node *k = map->items[2 * i];
        if (k->kind == SPARSE__DOC_SCALAR && !strcmp(k->scalar, key))
            return map->items[2 * i + 1];
    }
    return NULL;
}

int sparse__doc_is_null(const sparse__doc_node *n)
{
    return n && n->kind == SPARSE__DOC_SCALAR && n->plain &&
           (!n->scalar[0] || !strcmp(n->scalar, "~") || !strcasecmp(n->scalar, "null"));
}

static int need_scalar(const sparse__doc *doc, const sparse__doc_node *n, const char *what,
                       const char *type)
{
    if (!n)
        return sparse__doc_error(doc, NULL, SPARSE_EFORMAT, "%s: missing (expected %s)", what, type);
    if (n->kind != SPARSE__DOC_SCALAR)
        return sparse__doc_error(doc, n, SPARSE_EFORMAT, "%s: expected %s, found a %s", what, type,
                                 n->kind == SPARSE__DOC_MAP ? "mapping" : "sequence");
    return SPARSE_OK;
}

int sparse__doc_long(const sparse__doc *doc, const sparse__doc_node *n, const char *what, long min,
                     long max, long *out)
{
    int rc = need_scalar(doc, n, what, "an integer");
    if (rc)
        return rc;
    char *end;
    errno = 0;
    long v = strtol(n->scalar, &end, 10);
    if (!n->scalar[0] || *end || errno)
        return sparse__doc_error(doc, n, SPARSE_EFORMAT, "%s: '%s' is not an integer", what,
                                 n->scalar);
    if (v < min || v > max)
        return sparse__doc_error(doc, n, SPARSE_ERANGE, "%s: %ld is outside the allowed range %ld..%ld",
                                 what, v, min, max);
    *out = v;
    return SPARSE_OK;
}

int sparse__doc_double(const sparse__doc *doc, const sparse__doc_node *n, const char *what,
                       double min, double max, double *out)
{
    int rc = need_scalar(doc, n, what, "a number");
    if (rc)
        return rc;
    char *end;
    errno = 0;
    double v = strtod(n->scalar, &end);
    if (!n->scalar[0] || *end || errno || !isfinite(v))
        return sparse__doc_error(doc, n, SPARSE_EFORMAT, "%s: '%s' is not a finite number", what,
                                 n->scalar);
    if (v < min || v > max)
        return sparse__doc_error(doc, n, SPARSE_ERANGE, "%s: %g is outside the allowed range [%g, %g]",
                                 what, v, min, max);
    *out = v;
    return SPARSE_OK;
}

int sparse__doc_bool(const sparse__doc *doc, const sparse__doc_node *n, const char *what, int *out)
{
    int rc = need_scalar(doc, n, what, "true or false");
    if (rc)
        return rc;
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (!strcasecmp(n->scalar, yes[i]))
            return *out = 1, SPARSE_OK;
        if (!strcasecmp(n->scalar, no[i]))
            return *out = 0, SPARSE_OK;
    }
    return sparse__doc_error(doc, n, SPARSE_EFORMAT, "%s: '%s' is not true or false", what, n->scalar);
}

int sparse__doc_string(const sparse__doc *doc, const sparse__doc_node *n, const char *what,
                       const char **out)
{
    int rc = need_scalar(doc, n, what, "a string");
    if (rc)
        return rc;
    *out = n->scalar;
    return SPARSE_OK;
}

static void list_names(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int sparse__doc_enum(const sparse__doc *doc, const sparse__doc_node *n, const char *what,
                     const char *const *names, size_t count, int *out)
{
    int rc = need_scalar(doc, n, what, "a name");
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++)
        if (!strcmp(n->scalar, names[i]))
            return *out = (int)i, SPARSE_OK;
    char allowed[512];
    list_names(allowed, sizeof allowed, names, count);
    return sparse__doc_error(doc, n, SPARSE_ERANGE, "%s: unknown value '%s' (allowed: %s)", what,
                             n->scalar, allowed);
}

int sparse__doc_check_keys(const sparse__doc *doc, const sparse__doc_node *map, const char *what,
                           const char *const *allowed, size_t count)
{
    if (!map || map->kind != SPARSE__DOC_MAP)
        return sparse__doc_error(doc, map, SPARSE_EFORMAT, "%s: expected a mapping", what);
    for (size_t i = 0; i < map->n; i++) {
        const sparse__doc_node *k = map->items[2 * i];
        if (k->kind != SPARSE__DOC_SCALAR)
            return sparse__doc_error(doc, k, SPARSE_EFORMAT, "%s: keys must be plain names", what);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(map->items[2 * j]->scalar, k->scalar))
                return sparse__doc_error(doc, k, SPARSE_EFORMAT, "%s: key '%s' appears twice (first at line %zu)",
                                         what, k->scalar, map->items[2 * j]->line);
        size_t j = 0;
        while (j < count && strcmp(k->scalar, allowed[j]))
            j++;
        if (j == count) {
            char names[512];
            list_names(names, sizeof names, allowed, count);
            return sparse__doc_error(doc, k, SPARSE_EFORMAT, "%s: unknown key '%s' (allowed: %s)", what,
                                     k->scalar, names);
        }
    }
    return SPARSE_OK;
}
