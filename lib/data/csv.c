/* CSV reader: one integer label column and one numeric column per pixel.
 * Values are stored as given (no scaling). Errors name FILE:LINE:COLUMN,
 * both 1-based, the column counting characters from the start of the line. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "data_internal.h"

SPARSE__STRUCT_VERSIONS(csv_options_versions, sparse_csv_options, SPARSE_CSV_OPTIONS_INIT,
                        SPARSE_CSV_OPTIONS_VERSION, offsetof(sparse_csv_options, layout),
                        sizeof(sparse_csv_options));

SPARSE_API int sparse_csv_options_init(sparse_csv_options *opts, unsigned version)
{
    return sparse__struct_init(&csv_options_versions, opts, version);
}

typedef struct cell {
    const char *p; /* trimmed text */
    size_t len;
    size_t col;    /* 1-based character column of the cell's start */
} cell;

typedef struct csv_state {
    const char *path;
    size_t line;
    cell *cells;
    size_t ncells, cap;
} csv_state;

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Splits [s, e) at commas into st->cells. */
static int split_line(csv_state *st, const char *s, const char *e)
{
    st->ncells = 0;
    const char *line = s;
    size_t fields = 1;
    for (const char *p = s; (p = memchr(p, ',', (size_t)(e - p))); p++)
        fields++;
    if (fields > (size_t)SPARSE_MAX_CSV_COLUMNS)
        return sparse__error(SPARSE_ERANGE, "%s:%zu: %zu fields, more than %ld (SPARSE_MAX_CSV_COLUMNS)", st->path,
                             st->line, fields, (long)SPARSE_MAX_CSV_COLUMNS);
    for (;;) {
        const char *c = s;
        while (s < e && *s != ',')
            s++;
        if (sparse__grow(&st->cells, &st->cap, st->ncells, sizeof *st->cells, 64))
            return SPARSE_ENOMEM;
        cell *x = &st->cells[st->ncells++];
        x->col = (size_t)(c - line) + 1;
        const char *b = c, *t = s;
        while (b < t && is_blank(*b))
            b++;
        while (t > b && is_blank(t[-1]))
            t--;
        x->p = b;
        x->len = (size_t)(t - b);
        if (s == e)
            return SPARSE_OK;
        s++;
    }
}

/* Parses in place: a trimmed cell is followed by a blank, a comma, a line
 * end or the buffer's terminating NUL, none of which can extend a number. */
static int parse_double(const cell *x, double *v)
{
    if (x->len == 0)
        return -1;
    char *end;
    errno = 0;
    *v = strtod(x->p, &end);
    return end != x->p + x->len || errno == ERANGE || !isfinite(*v) ? -1 : 0;
}

static int cell_error(const csv_state *st, const cell *x, const char *what)
{
    return sparse__error(SPARSE_EFORMAT, "%s:%zu:%zu: %s: '%.*s'", st->path, st->line, x->col, what,
                         (int)(x->len > 32 ? 32 : x->len), x->p);
}

/* A header names the label column; keying on that one cell keeps a typo in
 * some pixel of the first data row an error instead of a skipped row. */
static int line_is_header(const csv_state *st, int label_column)
{
    double v;
    return (size_t)label_column < st->ncells && parse_double(&st->cells[label_column], &v);
}

static int check_options(const sparse_csv_options *o)
{
    if (o->label_column < 0)
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_load_csv: label_column %d is negative",
                             o->label_column);
    if (o->header < -1 || o->header > 1)
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_load_csv: header is %d, expected -1, 0 or 1",
                             o->header);
    if (o->layout != SPARSE_LAYOUT_CHW && o->layout != SPARSE_LAYOUT_HWC)
        return sparse__error(SPARSE_EINVAL,
                             "sparse_dataset_load_csv: layout is %d, expected SPARSE_LAYOUT_CHW or SPARSE_LAYOUT_HWC",
                             o->layout);
    int zeros = !o->channels + !o->height + !o->width;
    if (zeros != 0 && zeros != 3)
        return sparse__error(SPARSE_EINVAL, "sparse_dataset_load_csv: image shape %zux%zux%zu: give all three or none",
                             o->channels, o->height, o->width);
    return SPARSE_OK;
}

/* Image shape from the options, or a square single-channel image. */
static int resolve_shape(const char *path, const sparse_csv_options *o, size_t npix, size_t *c,
                         size_t *h, size_t *w)
{
    if (o->channels) {
        size_t hw, chw;
        if (sparse__mul_size(o->height, o->width, &hw) || sparse__mul_size(o->channels, hw, &chw) ||
            chw != npix)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s:1: %zu pixel columns, but a %zux%zux%zu image (height x width x channels) needs %zu",
                                 path, npix, o->height, o->width, o->channels, o->channels * o->height * o->width);
        *c = o->channels;
        *h = o->height;
        *w = o->width;
        return SPARSE_OK;
    }
    size_t s = (size_t)llround(sqrt((double)npix));
    if (s * s != npix)
        return sparse__error(SPARSE_EFORMAT,
                             "%s: %zu pixel columns do not make a square image; give the image shape",
                             path, npix);
    *c = 1;
    *h = *w = s;
    return SPARSE_OK;
}

/* The rows read so far: pixels (npix per row) and labels. */
typedef struct csv_rows {
    float *px;
    int32_t *lab;
    size_t n, cap;
    size_t ncols, npix, first_line; /* set by the first data row */
} csv_rows;

/* The first data row fixes the column count; every later one must match. */
static int check_columns(const csv_state *st, csv_rows *r, int label_column)
{
    if (!r->ncols) {
        r->ncols = st->ncells;
        r->first_line = st->line;
        if (r->ncols < 2)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s:%zu: a row needs a label and at least one pixel, found %zu field",
                                 st->path, st->line, r->ncols);
        if ((size_t)label_column >= r->ncols)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s:%zu: label column %d does not exist: the row has %zu fields", st->path,
                                 st->line, label_column, r->ncols);
        r->npix = r->ncols - 1;
    }
    if (st->ncells == r->ncols)
        return SPARSE_OK;
    const cell *last = &st->cells[(st->ncells > r->ncols ? r->ncols : st->ncells) - 1];
    return sparse__error(SPARSE_EFORMAT, "%s:%zu:%zu: ragged row: %zu fields, but line %zu has %zu", st->path,
                         st->line, st->ncells > r->ncols ? st->cells[r->ncols].col : last->col + last->len,
                         st->ncells, r->first_line, r->ncols);
}

static int grow_rows(csv_rows *r)
{
    /* Wide rows start with fewer: a first allocation of at most 2^20
     * values whatever the column count. */
    size_t first = ((size_t)1 << 20) / r->npix, ncap = r->cap ? r->cap * 2 : first < 1 ? 1 : first > 256 ? 256 : first;
    size_t bytes;
    if (sparse__mul_size(ncap, r->npix * sizeof(float), &bytes))
        return SPARSE_ERANGE;
    float *np = sparse__realloc(r->px, bytes);
    if (!np)
        return SPARSE_ENOMEM;
    r->px = np;
    int32_t *nl = sparse__realloc(r->lab, ncap * sizeof *nl);
    if (!nl)
        return SPARSE_ENOMEM;
    r->lab = nl;
    r->cap = ncap;
    return SPARSE_OK;
}

/* The line's cells as row r->n. */
static int store_row(const csv_state *st, csv_rows *r, int label_column)
{
    if (r->n == (size_t)SPARSE_MAX_ITEMS)
        return sparse__error(SPARSE_ERANGE, "%s:%zu: more than %ld data rows (SPARSE_MAX_ITEMS)", st->path,
                             st->line, (long)SPARSE_MAX_ITEMS);
    if (r->n == r->cap) {
        int rc = grow_rows(r);
        if (rc)
            return rc;
    }
    float *row = r->px + r->n * r->npix;
    for (size_t i = 0, k = 0; i < r->ncols; i++) {
        const cell *x = &st->cells[i];
        double v;
        if (parse_double(x, &v))
            return cell_error(st, x,
                              i == (size_t)label_column ? "label is not a number" : "pixel is not a number");
        if (i != (size_t)label_column) {
            row[k++] = (float)v;
            continue;
        }
        if (v != floor(v) || v < 0 || v > SPARSE__MAX_LABEL)
            return cell_error(st, x, "label must be an integer in [0, 65535]");
        r->lab[r->n] = (int32_t)v;
    }
    r->n++;
    return SPARSE_OK;
}

/* Every data row of text[0, len) into r; o->header is resolved on the way. */
static int read_rows(const char *path, const char *text, size_t len, sparse_csv_options *o, csv_rows *r)
{
    csv_state st = {path, 0, NULL, 0, 0};
    const char *s = text, *end = text + len;
    int rc = SPARSE_OK;
    /* A UTF-8 byte order mark would make the first cell non-numeric. */
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        s += 3;
    while (!rc && s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            e = end;
        st.line++;
        const char *b = s;
        while (b < e && is_blank(*b))
            b++;
        if (b == e) {
            s = e + 1;
            continue;
        }
        rc = split_line(&st, s, e);
        s = e + 1;
        if (rc)
            break;
        if (!r->ncols && (o->header == 1 || (o->header == -1 && line_is_header(&st, o->label_column)))) {
            o->header = 0;
            continue;
        }
        rc = check_columns(&st, r, o->label_column);
        if (!rc)
            rc = store_row(&st, r, o->label_column);
    }
    free(st.cells);
    return rc;
}

SPARSE_API int sparse_dataset_load_csv(sparse_dataset **out, const char *path, const sparse_csv_options *opts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    sparse_csv_options o;
    int rc = sparse__struct_read(&csv_options_versions, &o, opts, "sparse_dataset_load_csv");
    if (!rc)
        rc = check_options(&o);
    if (rc)
        return rc;
    char *text;
    size_t len;
    rc = sparse__read_file_max(path, SPARSE_MAX_CSV_BYTES, "SPARSE_MAX_CSV_BYTES", &text, &len);
    if (rc)
        return rc;
    csv_rows r;
    memset(&r, 0, sizeof r);
    rc = read_rows(path, text, len, &o, &r);
    free(text);
    size_t c = 0, h = 0, w = 0;
    if (!rc && r.n == 0)
        rc = sparse__error(SPARSE_EFORMAT, "%s: no data rows", path);
    if (!rc)
        rc = resolve_shape(path, &o, r.npix, &c, &h, &w);
    if (!rc && o.layout == SPARSE_LAYOUT_HWC)
        rc = sparse__hwc_to_chw(r.px, r.n, c, h, w);
    if (rc) {
        free(r.px);
        free(r.lab);
        return rc;
    }
    return sparse__dataset_wrap(out, r.n, c, h, w, r.px, r.lab, 0);
}
