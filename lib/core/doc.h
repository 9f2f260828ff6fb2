/*
 * A parsed YAML (or JSON, its flow subset) document as a tree whose nodes
 * remember their line and column, with typed accessors that report errors as
 * "SOURCE:LINE:COL: ..." — what every config, architecture file, safetensors
 * header and run log reader in libsparse needs. Parsing is libyaml's.
 */
#ifndef SPARSE_DOC_H
#define SPARSE_DOC_H

#include <stddef.h>

enum sparse__doc_kind { SPARSE__DOC_SCALAR, SPARSE__DOC_MAP, SPARSE__DOC_SEQ };

typedef struct sparse__doc_node {
    enum sparse__doc_kind kind;
    char *scalar;                   /* SCALAR: the text */
    int plain;                      /* SCALAR: 1 if unquoted (so `null` differs from "null") */
    size_t line, col;               /* 1-based position in the source */
    size_t n;                       /* MAP: number of pairs; SEQ: number of items */
    struct sparse__doc_node **items; /* MAP: key0, value0, key1, value1...; SEQ: items */
    size_t nitems;                  /* entries in items (a MAP cut short may hold a lone key) */
} sparse__doc_node;

typedef struct sparse__doc sparse__doc;

/* Parses text (len bytes) named `source` in messages. One document only;
 * anchors and aliases are rejected. */
int sparse__doc_parse(sparse__doc **out, const char *text, size_t len, const char *source);
int sparse__doc_load_file(sparse__doc **out, const char *path);
void sparse__doc_free(sparse__doc *doc);
const sparse__doc_node *sparse__doc_root(const sparse__doc *doc);
const char *sparse__doc_source(const sparse__doc *doc);

/* Value of key in a MAP node, or NULL (also when node is not a map). */
const sparse__doc_node *sparse__doc_get(const sparse__doc_node *map, const char *key);
/* 1 for a plain scalar null/~/empty. */
int sparse__doc_is_null(const sparse__doc_node *node);

/* Typed reads: on a wrong type or a value outside [min, max] they return
 * SPARSE_EFORMAT / SPARSE_ERANGE with "SOURCE:LINE:COL: WHAT: ..." as the
 * message. `what` names the field (e.g. "layers[2].filters"). */
int sparse__doc_long(const sparse__doc *doc, const sparse__doc_node *node, const char *what,
                     long min, long max, long *out);
int sparse__doc_double(const sparse__doc *doc, const sparse__doc_node *node, const char *what,
                       double min, double max, double *out);
int sparse__doc_bool(const sparse__doc *doc, const sparse__doc_node *node, const char *what,
                     int *out);
/* Borrowed string of a scalar. */
int sparse__doc_string(const sparse__doc *doc, const sparse__doc_node *node, const char *what,
                       const char **out);
/* Index of the scalar in names[0..n); the error lists the allowed values. */
int sparse__doc_enum(const sparse__doc *doc, const sparse__doc_node *node, const char *what,
                     const char *const *names, size_t n, int *out);
/* Fails on the first key of map not in allowed[0..n), listing the allowed keys. */
int sparse__doc_check_keys(const sparse__doc *doc, const sparse__doc_node *map, const char *what,
                           const char *const *allowed, size_t n);
/* Error "SOURCE:LINE:COL: fmt..." at node (or at the document start if NULL). */
int sparse__doc_error(const sparse__doc *doc, const sparse__doc_node *node, int code,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
