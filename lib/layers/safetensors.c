/* safetensors weights files: 8-byte little-endian header length, a JSON
 * header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [a, b]},
 * "__metadata__": {...}}, then the raw little-endian data. The header is
 * read with libyaml (JSON is YAML flow syntax); everything is validated
 * before a single weight is written into the network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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
    int rc = sparse_arch_to_json(net->arch, &arch_json);
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
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_doc;
    const char *path;
} st_file;

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void st_close(st_file *f)
{
    if (f->have_doc) {
        yaml_document_delete(&f->doc);
        yaml_parser_delete(&f->parser);
    }
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
    if (!yaml_parser_initialize(&f->parser))
        return sparse__error(SPARSE_ENOMEM, "yaml_parser_initialize failed");
    yaml_parser_set_input_string(&f->parser, b + 8, (size_t)hl);
    if (!yaml_parser_load(&f->parser, &f->doc)) {
        rc = sparse__error(SPARSE_EFORMAT, "%s: header is not valid JSON (at byte %zu: %s)", path,
                           8 + f->parser.problem_mark.index, f->parser.problem ? f->parser.problem : "?");
        yaml_parser_delete(&f->parser);
        return rc;
    }
    f->have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&f->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return sparse__error(SPARSE_EFORMAT, "%s: header must be a JSON object", path);
    return SPARSE_OK;
}

static const yaml_node_t *map_get(yaml_document_t *doc, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        if (k && !strcmp(k, key))
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
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
static int check_entry(st_file *f, const char *name, const yaml_node_t *e, int *ndim, size_t *shape,
                       uint64_t *a, uint64_t *b)
{
    if (!e || e->type != YAML_MAPPING_NODE)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' is not an object", f->path, name);
    const char *dt = scalar(map_get(&f->doc, e, "dtype"));
    if (!dt || strcmp(dt, "F32"))
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has dtype %s, only F32 is supported", f->path, name,
                             dt ? dt : "(missing)");
    const yaml_node_t *sh = map_get(&f->doc, e, "shape");
    const yaml_node_t *of = map_get(&f->doc, e, "data_offsets");
    if (!sh || sh->type != YAML_SEQUENCE_NODE)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has no shape list", f->path, name);
    if (!of || of->type != YAML_SEQUENCE_NODE || of->data.sequence.items.top - of->data.sequence.items.start != 2)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' needs data_offsets [begin, end]", f->path, name);
    size_t nd = (size_t)(sh->data.sequence.items.top - sh->data.sequence.items.start);
    if (nd > 4)
        return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has %zu dimensions, at most 4", f->path, name, nd);
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (parse_u64(scalar(yaml_document_get_node(&f->doc, sh->data.sequence.items.start[i])), &d) ||
            d > ((uint64_t)1 << 32))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' has a bad dimension %zu", f->path, name, i);
        shape[i] = (size_t)d;
        numel *= d;
        if (numel > ((uint64_t)1 << 40))
            return sparse__error(SPARSE_EFORMAT, "%s: tensor '%s' is too large", f->path, name);
    }
    *ndim = (int)nd;
    if (parse_u64(scalar(yaml_document_get_node(&f->doc, of->data.sequence.items.start[0])), a) ||
        parse_u64(scalar(yaml_document_get_node(&f->doc, of->data.sequence.items.start[1])), b))
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
    yaml_node_t *root = yaml_document_get_root_node(&f.doc);
    /* Pass 1 validates everything, pass 2 copies: a bad file leaves the
     * network untouched. */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        size_t found = 0;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top && !rc; p++) {
            const char *name = scalar(yaml_document_get_node(&f.doc, p->key));
            if (!name) {
                rc = sparse__error(SPARSE_EFORMAT, "%s: header keys must be strings", path);
                break;
            }
            if (!strcmp(name, "__metadata__"))
                continue;
            int ndim = 0;
            size_t shape[4] = {0, 0, 0, 0};
            uint64_t a = 0, b = 0;
            rc = check_entry(&f, name, yaml_document_get_node(&f.doc, p->value), &ndim, shape, &a, &b);
            if (rc)
                break;
            const char *dot = strrchr(name, '.');
            sparse__param *prm = NULL;
            if (dot)
                for (size_t i = 0; i < net->n_nodes && !prm; i++) {
                    size_t len = strlen(net->nodes[i].name);
                    if ((size_t)(dot - name) == len && !strncmp(name, net->nodes[i].name, len))
                        prm = sparse__find_param(&net->nodes[i], dot + 1);
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
                        if (!map_get(&f.doc, root, key))
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
        yaml_node_t *root = yaml_document_get_root_node(&f.doc);
        const yaml_node_t *meta = map_get(&f.doc, root, "__metadata__");
        const char *arch = meta && meta->type == YAML_MAPPING_NODE ? scalar(map_get(&f.doc, meta, "arch")) : NULL;
        if (!arch)
            rc = sparse__error(SPARSE_ENOTFOUND, "%s: no __metadata__.arch (not written by libsparse?)", path);
        else
            rc = sparse_arch_parse_yaml(out, arch, strlen(arch), path);
    }
    st_close(&f);
    return rc;
}
