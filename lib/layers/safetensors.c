/* safetensors weights files: 8-byte little-endian header length, a JSON
 * header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [a, b]},
 * "__metadata__": {...}}, then the raw little-endian data. The header is
 * read with the core document reader (JSON is YAML flow syntax); everything
 * is validated before a single weight is written into the network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/doc.h"
#include "layers_internal.h"

#define MAX_HEADER ((uint64_t)100 << 20)

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
    int rc = sparse__read_file(path, &f->bytes, &f->len);
    if (rc)
        return rc;
    if (f->len < 8)
        return sparse__error(SPARSE_EFORMAT, "%s: %zu bytes, too short for a safetensors file", path, f->len);
    const unsigned char *b = (const unsigned char *)f->bytes;
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)b[i] << (8 * i);
    if (hl < 2 || hl > MAX_HEADER || hl > f->len - 8)
        return sparse__error(SPARSE_EFORMAT, "%s: header length %llu does not fit the %zu-byte file", path,
                             (unsigned long long)hl, f->len);
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
        if (parse_u64(scalar(sh->items[i]), &d) || d > ((uint64_t)1 << 32))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has a bad dimension %zu", f->path, name, i);
        shape[i] = (size_t)d;
        numel *= d;
        if (numel > ((uint64_t)1 << 40))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' is too large", f->path, name);
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

SPARSE_API int sparse_net_load(sparse_net *net, const char *path, int allow_extra)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(path);
    st_file f;
    int rc = st_open(&f, path);
    if (rc) {
        st_close(&f);
        return rc;
    }
    const sparse__doc_node *root = sparse__doc_root(f.header);
    /* Pass 1 validates everything, pass 2 copies: a bad file leaves the
     * network untouched. */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        size_t found = 0;
        for (size_t i = 0; i < root->n && !rc; i++) {
            const char *name = scalar(root->items[2 * i]);
            if (!name) {
                rc = sparse__error(SPARSE_EFORMAT, "%s: header keys must be strings", path);
                break;
            }
            if (!strcmp(name, "__metadata__"))
                continue;
            int ndim = 0;
            size_t shape[4] = {0, 0, 0, 0};
            uint64_t a = 0, b = 0;
            rc = check_entry(&f, name, root->items[2 * i + 1], &ndim, shape, &a, &b);
            if (rc)
                break;
            const char *dot = strrchr(name, '.');
            sparse__param *prm = NULL;
            if (dot)
                for (size_t j = 0; j < net->n_nodes && !prm; j++) {
                    size_t len = strlen(net->nodes[j].name);
                    if ((size_t)(dot - name) == len && !strncmp(name, net->nodes[j].name, len))
                        prm = sparse__find_param(&net->nodes[j], dot + 1);
                }
            if (!prm) {
                if (!allow_extra)
                    rc = sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' does not belong to this network", path,
                                       name);
                continue;
            }
            int same = ndim == prm->ndim;
            for (int d = 0; same && d < ndim; d++)
                same = shape[d] == prm->shape[d];
            if (!same) {
                rc = sparse__error(SPARSE_ESHAPE, "%s: tensor '%s' has a different shape than in the network", path,
                                   name);
                break;
            }
            found++;
            if (pass == 1)
                for (size_t j = 0; j < prm->n; j++)
                    prm->w[j] = get_le32(f.data + a + 4 * j);
        }
        if (!rc && pass == 0) {
            size_t total = 0;
            for (size_t i = 0; i < net->n_nodes; i++)
                total += net->nodes[i].n_params;
            if (found != total) {
                /* Name the first missing tensor. */
                for (size_t i = 0; i < net->n_nodes && !rc; i++)
                    for (size_t k = 0; k < net->nodes[i].n_params && !rc; k++) {
                        char key[512];
                        snprintf(key, sizeof key, "%s.%s", net->nodes[i].name, net->nodes[i].params[k].name);
                        if (!sparse__doc_get(root, key))
                            rc = sparse__error(SPARSE_ENOTFOUND, "%s: tensor '%s' is missing", path, key);
                    }
                if (!rc)
                    rc = sparse__error(SPARSE_EFORMAT, "%s: duplicate tensor names", path);
            }
        }
    }
    st_close(&f);
    return rc;
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
