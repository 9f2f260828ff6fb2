/* safetensors weights files: 8-byte little-endian header length, a JSON
 * header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [a, b]},
 * "__metadata__": {...}}, then the raw little-endian data. The header is
 * read with the core document reader (JSON is YAML flow syntax); everything
 * is validated before a single weight is written into the network. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "layers_internal.h"


static void put_le32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static float get_le32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

SPARSE_API int sparse_net_save(const sparse_net *net, const char *path)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(path);
    char *arch_json = NULL;
    int rc = sparse_arch_to_json(&arch_json, net->arch);
    if (rc)
        return rc;
    sparse__buf h = SPARSE__BUF_INIT;
    sparse__buf_puts(&h, "{\"__metadata__\":{\"format\":\"libsparse\",\"version\":\"" SPARSE_VERSION_STRING
                         "\",\"arch\":");
    sparse__buf_json_string(&h, arch_json);
    /* safetensors metadata values are strings; %.9g gives a float back exactly. */
    if (net->in_std > 0.0f)
        sparse__buf_printf(&h, ",\"input_mean\":\"%.9g\",\"input_std\":\"%.9g\"", (double)net->in_mean,
                           (double)net->in_std);
    sparse__buf_puts(&h, "}");
    free(arch_json);
    size_t off = 0;
    for (size_t i = 0; i < net->n_nodes; i++) {
        const sparse__node *nd = &net->nodes[i];
        for (size_t k = 0; k < nd->n_params; k++) {
            const sparse__param *p = &nd->params[k];
            char name[512];
            snprintf(name, sizeof name, "%s.%s", nd->name, p->name);
            sparse__buf_puts(&h, ",");
            sparse__buf_json_string(&h, name);
            sparse__buf_puts(&h, ":{\"dtype\":\"F32\",\"shape\":[");
            for (int d = 0; d < p->ndim; d++)
                sparse__buf_printf(&h, "%s%zu", d ? "," : "", p->shape[d]);
            sparse__buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + 4 * p->n);
            off += 4 * p->n;
        }
    }
    sparse__buf_puts(&h, "}");
    while (!h.failed && h.len % 8)
        sparse__buf_puts(&h, " ");
    if (h.failed) {
        sparse__buf_free(&h);
        return SPARSE_ENOMEM;
    }
    size_t total = 8 + h.len + off;
    unsigned char *buf = sparse__malloc(total);
    if (!buf) {
        sparse__buf_free(&h);
        return SPARSE_ENOMEM;
    }
    uint64_t hl = h.len;
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)(hl >> (8 * b));
    memcpy(buf + 8, h.data, h.len);
    unsigned char *d = buf + 8 + h.len;
    for (size_t i = 0; i < net->n_nodes; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++) {
            const sparse__param *p = &net->nodes[i].params[k];
            for (size_t j = 0; j < p->n; j++, d += 4)
                put_le32(d, p->w[j]);
        }
    sparse__buf_free(&h);
    rc = sparse__write_file_atomic(path, buf, total);
    free(buf);
    return rc;
}

typedef struct st_file {
    char *bytes;
    size_t len;
    const unsigned char *data; /* start of the data section */
    size_t data_len;
    sparse__doc *header;
    const char *path;
} st_file;

static void st_close(st_file *f)
{
    sparse__doc_free(f->header);
    free(f->bytes);
}

static int st_open(st_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int rc = sparse__read_file_max(path, SPARSE_MAX_WEIGHTS_BYTES, "SPARSE_MAX_WEIGHTS_BYTES", &f->bytes, &f->len);
    if (rc)
        return rc;
    if (f->len < 8)
        return sparse__error(SPARSE_EFORMAT, "%s: %zu bytes, too short for a safetensors file", path, f->len);
    const unsigned char *b = (const unsigned char *)f->bytes;
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)b[i] << (8 * i);
    if (hl < 2 || hl > f->len - 8)
        return sparse__error(SPARSE_EFORMAT, "%s: header length %llu does not fit the %zu-byte file", path,
                             (unsigned long long)hl, f->len);
    if (hl > SPARSE_MAX_SAFETENSORS_HEADER)
        return sparse__error(SPARSE_ERANGE, "%s: header length %llu, more than %ld (SPARSE_MAX_SAFETENSORS_HEADER)",
                             path, (unsigned long long)hl, (long)SPARSE_MAX_SAFETENSORS_HEADER);
    f->data = b + 8 + hl;
    f->data_len = f->len - 8 - (size_t)hl;
    char source[600];
    snprintf(source, sizeof source, "%s (JSON header)", path);
    if ((rc = sparse__doc_parse(&f->header, f->bytes + 8, (size_t)hl, source)))
        return rc;
    const sparse__doc_node *root = sparse__doc_root(f->header);
    if (root->kind != SPARSE__DOC_MAP)
        return sparse__error(SPARSE_EFORMAT, "%s: header must be a JSON object", path);
    return SPARSE_OK;
}

static const char *scalar(const sparse__doc_node *n)
{
    return n && n->kind == SPARSE__DOC_SCALAR ? n->scalar : NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Checks one tensor entry; fills its shape and byte range. */
static int check_entry(st_file *f, const char *name, const sparse__doc_node *e, int *ndim, size_t *shape,
                       uint64_t *a, uint64_t *b)
{
    if (!e || e->kind != SPARSE__DOC_MAP)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' is not an object", f->path, name);
    const char *dt = scalar(sparse__doc_get(e, "dtype"));
    if (!dt || strcmp(dt, "F32"))
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has dtype %s, only F32 is supported", f->path, name,
                             dt ? dt : "(missing)");
    const sparse__doc_node *sh = sparse__doc_get(e, "shape"), *of = sparse__doc_get(e, "data_offsets");
    if (!sh || sh->kind != SPARSE__DOC_SEQ)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has no shape list", f->path, name);
    if (!of || of->kind != SPARSE__DOC_SEQ || of->n != 2)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' needs data_offsets [begin, end]", f->path, name);
    if (sh->n > 4)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has %zu dimensions, at most 4", f->path, name,
                             sh->n);
    uint64_t numel = 1;
    for (size_t i = 0; i < sh->n; i++) {
        uint64_t d;
        if (parse_u64(scalar(sh->items[i]), &d))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has a bad dimension %zu", f->path, name, i);
        shape[i] = (size_t)d;
        if (d && numel > (uint64_t)SPARSE_MAX_TENSOR_VALUES / d)
            return sparse__error(SPARSE_ERANGE, "%s: tensor '%s' has more than %ld values (SPARSE_MAX_TENSOR_VALUES)",
                                 f->path, name, (long)SPARSE_MAX_TENSOR_VALUES);
        numel *= d;
    }
    *ndim = (int)sh->n;
    if (parse_u64(scalar(of->items[0]), a) || parse_u64(scalar(of->items[1]), b))
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has non-integer data_offsets", f->path, name);
    if (*a > *b || *b > f->data_len)
        return sparse__error(SPARSE_EFORMAT,
                             "%s: tensor '%s' data_offsets [%llu, %llu] fall outside the %zu data bytes "
                             "(truncated file?)",
                             f->path, name, (unsigned long long)*a, (unsigned long long)*b, f->data_len);
    if (*b - *a != numel * 4)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has %llu bytes for %llu F32 values", f->path, name,
                             (unsigned long long)(*b - *a), (unsigned long long)numel);
    return SPARSE_OK;
}

/* One tensor of the header: its name, byte range, and the parameter of the
 * network it fills (NULL: one the network does not have). */
typedef struct st_entry {
    const char *name;
    uint64_t a, b;
    sparse__param *prm;
} st_entry;

static int by_offset(const void *x, const void *y)
{
    const st_entry *p = x, *q = y;
    return p->a != q->a ? (p->a < q->a ? -1 : 1) : p->b != q->b ? (p->b < q->b ? -1 : 1) : 0;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const st_entry *)x)->name, ((const st_entry *)y)->name);
}

/* The parameter "<node>.<param>" of net, or NULL. */
static sparse__param *net_param(sparse_net *net, const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t j = 0; dot && j < net->n_nodes; j++) {
        size_t len = strlen(net->nodes[j].name);
        if ((size_t)(dot - name) == len && !strncmp(name, net->nodes[j].name, len))
            return sparse__find_param(&net->nodes[j], dot + 1);
    }
    return NULL;
}

/* Every tensor of the header, checked and matched to net's parameters into
 * e[0..*n): in strict mode a tensor net lacks is an error, in lenient mode
 * it is counted in *extra. */
static int read_entries(st_file *f, sparse_net *net, int allow_extra, st_entry *e, size_t *n, size_t *extra)
{
    const sparse__doc_node *root = sparse__doc_root(f->header);
    *n = *extra = 0;
    for (size_t i = 0; i < root->n; i++) {
        const char *name = scalar(root->items[2 * i]);
        if (!name)
            return sparse__error(SPARSE_EFORMAT, "%s: header keys must be strings", f->path);
        if (!strcmp(name, "__metadata__"))
            continue;
        int ndim = 0;
        size_t shape[4] = {0, 0, 0, 0};
        st_entry *t = &e[(*n)++];
        t->name = name;
        int rc = check_entry(f, name, root->items[2 * i + 1], &ndim, shape, &t->a, &t->b);
        if (rc)
            return rc;
        if (!(t->prm = net_param(net, name))) {
            if (!allow_extra)
                return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' does not belong to this network", f->path,
                                     name);
            ++*extra;
            continue;
        }
        int same = ndim == t->prm->ndim;
        for (int d = 0; same && d < ndim; d++)
            same = shape[d] == t->prm->shape[d];
        if (!same)
            return sparse__error(SPARSE_ESHAPE, "%s: tensor '%s' has a different shape than in the network",
                                 f->path, name);
    }
    return SPARSE_OK;
}

/* The format's layout: tensors' bytes fill the data section exactly, with
 * nothing before, between or after them and no byte in two tensors. Sorts e
 * by offset. */
static int check_layout(const st_file *f, st_entry *e, size_t n)
{
    qsort(e, n, sizeof *e, by_offset);
    uint64_t end = 0;
    for (size_t i = 0; i < n; end = e[i++].b) {
        if (e[i].a > end)
            return sparse__error(SPARSE_EFORMAT, "%s: data bytes %llu..%llu before tensor '%s' belong to no tensor",
                                 f->path, (unsigned long long)end, (unsigned long long)e[i].a - 1, e[i].name);
        if (e[i].a < end)
            return sparse__error(SPARSE_EFORMAT, "%s: tensors '%s' and '%s' share data bytes", f->path,
                                 e[i - 1].name, e[i].name);
    }
    if (end != f->data_len)
        return sparse__error(SPARSE_EFORMAT, "%s: %llu bytes after the last tensor's data belong to no tensor",
                             f->path, (unsigned long long)(f->data_len - end));
    return SPARSE_OK;
}

/* Each tensor named once, and every parameter of net present. */
static int check_names(const st_file *f, const sparse_net *net, st_entry *e, size_t n)
{
    qsort(e, n, sizeof *e, by_name);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(e[i - 1].name, e[i].name))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' appears twice", f->path, e[i].name);
        found += e[i].prm != NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < net->n_nodes; i++)
        total += net->nodes[i].n_params;
    for (size_t i = 0; i < net->n_nodes && found < total; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++) {
            char key[512];
            snprintf(key, sizeof key, "%s.%s", net->nodes[i].name, net->nodes[i].params[k].name);
            st_entry want = {key, 0, 0, NULL};
            if (!bsearch(&want, e, n, sizeof *e, by_name))
                return sparse__error(SPARSE_ENOTFOUND, "%s: tensor '%s' is missing", f->path, key);
        }
    return SPARSE_OK;
}
/* The input normalisation of the header's __metadata__: both keys or none. */
static int read_normalization(const st_file *f, float *mean, float *std)
{
    const sparse__doc_node *meta = sparse__doc_get(sparse__doc_root(f->header), "__metadata__");
    const char *m = scalar(sparse__doc_get(meta, "input_mean")), *s = scalar(sparse__doc_get(meta, "input_std"));
    *mean = 0.0f;
    *std = 0.0f;
    if (!m && !s)
        return SPARSE_OK;
    char *end_m = NULL, *end_s = NULL;
    float vm = m ? strtof(m, &end_m) : 0.0f, vs = s ? strtof(s, &end_s) : 0.0f;
    if (!m || !s || *end_m || *end_s || end_m == m || end_s == s || !isfinite(vm) || !(vs > 0.0f) || !isfinite(vs))
        return sparse__error(SPARSE_EFORMAT,
                             "%s: __metadata__ input_mean '%s', input_std '%s': need both, finite, std > 0",
                             f->path, m ? m : "(missing)", s ? s : "(missing)");
    *mean = vm;
    *std = vs;
    return SPARSE_OK;
}

SPARSE_API int sparse_net_set_input_normalization(sparse_net *net, float mean, float std)
{
    SPARSE__CHECK_NULL(net);
    if (!isfinite(mean) || !isfinite(std) || !(std > 0.0f))
        return sparse__error(SPARSE_EINVAL, "sparse_net_set_input_normalization: need a finite mean and std > 0 (got %g, %g)",
                             (double)mean, (double)std);
    net->in_mean = mean;
    net->in_std = std;
    return SPARSE_OK;
}

SPARSE_API int sparse_net_input_normalization(const sparse_net *net, float *mean, float *std)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(mean);
    SPARSE__CHECK_NULL(std);
    if (!(net->in_std > 0.0f))
        return sparse__error(SPARSE_ENOTFOUND, "sparse_net_input_normalization: the network has no input normalisation recorded");
    *mean = net->in_mean;
    *std = net->in_std;
    return SPARSE_OK;
}

SPARSE_API int sparse_net_load(sparse_net *net, const char *path, int allow_extra)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(path);
    net->load_note[0] = '\0';
    st_file f;
    st_entry *e = NULL;
    size_t n = 0, extra = 0;
    int rc = st_open(&f, path);
    if (!rc && !(e = sparse__calloc(sparse__doc_root(f.header)->n, sizeof *e)))
        rc = SPARSE_ENOMEM;
    /* Everything is checked before a weight is written: a bad file leaves
     * the network untouched. */
    if (!rc)
        rc = read_entries(&f, net, allow_extra, e, &n, &extra);
    if (!rc)
        rc = check_layout(&f, e, n);
    if (!rc)
        rc = check_names(&f, net, e, n);
    float in_mean = 0.0f, in_std = 0.0f;
    if (!rc)
        rc = read_normalization(&f, &in_mean, &in_std);
    if (!rc) {
        net->in_mean = in_mean;
        net->in_std = in_std;
    }
    for (size_t i = 0; !rc && i < n; i++)
        for (size_t j = 0; e[i].prm && j < e[i].prm->n; j++)
            e[i].prm->w[j] = get_le32(f.data + e[i].a + 4 * j);
    if (!rc && extra) {
        const char *first = NULL;
        for (size_t i = 0; i < n; i++)
            if (!e[i].prm && (!first || strcmp(e[i].name, first) < 0))
                first = e[i].name;
        snprintf(net->load_note, sizeof net->load_note, "%s: ignored %zu tensor%s the network does not have (%s%s)",
                 path, extra, extra > 1 ? "s" : "", first, extra > 1 ? ", ..." : "");
    }
    free(e);
    st_close(&f);
    return rc;
}

SPARSE_API const char *sparse_net_load_note(const sparse_net *net)
{
    return net ? net->load_note : "";
}

SPARSE_API int sparse_net_load_arch(sparse_arch **out, const char *path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(path);
    st_file f;
    int rc = st_open(&f, path);
    if (!rc) {
        const sparse__doc_node *meta = sparse__doc_get(sparse__doc_root(f.header), "__metadata__");
        const char *arch = scalar(sparse__doc_get(meta, "arch"));
        if (!arch)
            rc = sparse__error(SPARSE_ENOTFOUND, "%s: no __metadata__.arch (not written by libsparse?)", path);
        else
            rc = sparse_arch_parse_yaml(out, arch, strlen(arch), path);
    }
    st_close(&f);
    return rc;
}
