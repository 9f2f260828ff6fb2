/* An int8 network as C99 text for an exported model: the kernels' own
 * source (embedded at build time from int8_kernels.h and .c), then the
 * tables the host runs, printed from the same structures. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "quant_internal.h"
#include "sparse/experimental.h"

/* tools/embed.c, from int8_kernels.h and int8_kernels.c. */
extern const char sparse__q8_text_h[], sparse__q8_text_c[];

enum { T_I8, T_U8, T_U16, T_U32, T_I32 };

typedef struct emitter {
    sparse__buf b;
    const char *prefix;
    const sparse_qnet *q;
    const uint64_t *offsets; /* NULL: the host's layout */
    size_t first;            /* the first node that is a step: nodes before it are acquisition */
} emitter;

/* A name for a comment: letters, digits and _./- kept, the rest '?'. */
static void put_name(sparse__buf *b, const char *name)
{
    sparse__buf_puts(b, "'");
    for (size_t i = 0; name[i] && i < 64; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == '/' || c == '-';
        sparse__buf_put(b, ok ? &c : "?", 1);
    }
    sparse__buf_puts(b, "'");
}

static void put_array(emitter *e, const char *tag, size_t id, int type, const void *data, size_t n)
{
    static const char *const ctype[] = {"int8_t", "uint8_t", "uint16_t", "uint32_t", "int32_t"};
    sparse__buf_printf(&e->b, "static const %s %s_%s%zu[%zu] = {", ctype[type], e->prefix, tag, id, n);
    for (size_t i = 0; i < n; i++) {
        long long v = 0;
        switch (type) {
        case T_I8:
            v = ((const int8_t *)data)[i];
            break;
        case T_U8:
            v = ((const uint8_t *)data)[i];
            break;
        case T_U16:
            v = ((const uint16_t *)data)[i];
            break;
        case T_U32:
            v = ((const uint32_t *)data)[i];
            break;
        default:
            v = ((const int32_t *)data)[i];
            break;
        }
        /* INT32_MIN is not a constant in C: write it as an expression. */
        if (v == INT32_MIN)
            sparse__buf_printf(&e->b, "%s(-2147483647-1),", i % 16 ? "" : "\n    ");
        else
            sparse__buf_printf(&e->b, "%s%lld,", i % 16 ? "" : "\n    ", v);
    }
    sparse__buf_puts(&e->b, "\n};\n");
}

static uint64_t offset_of(const emitter *e, size_t id)
{
    return e->offsets ? e->offsets[id] : e->q->nodes[id].offset;
}

static const char *encoding_name(int enc)
{
    return enc == SPARSE_Q8_CSR ? "CSR" : enc == SPARSE_Q8_BITMASK ? "bitmask" : "dense";
}

static const char *encoding_macro(int enc)
{
    return enc == SPARSE_Q8_CSR       ? "SPARSE_Q8_CSR"
           : enc == SPARSE_Q8_BITMASK ? "SPARSE_Q8_BITMASK"
                                      : "SPARSE_Q8_DENSE";
}

static const char *op_macro(int kind)
{
    static const char *const names[] = {"0",
                                        "SPARSE_Q8_OP_CONV",
                                        "SPARSE_Q8_OP_MAXPOOL",
                                        "SPARSE_Q8_OP_AVGPOOL",
                                        "SPARSE_Q8_OP_ADD",
                                        "SPARSE_Q8_OP_CONCAT",
                                        "SPARSE_Q8_OP_RELU"};
    return kind >= 1 && kind <= SPARSE_Q8_OP_RELU ? names[kind] : "0";
}

static void emit_conv(emitter *e, size_t id)
{
    const sparse__qnode *nd = &e->q->nodes[id];
    const sparse__q8_conv_params *p = &nd->conv;
    const sparse__q8_matrix *m = &p->w;
    const size_t nval = m->enc == SPARSE_Q8_DENSE ? nd->rows * nd->cols : nd->nnz;
    /* Every weight pruned: one value nobody reads, so the kernel's row
     * pointers are never computed from NULL. */
    static const int8_t none = 0;
    put_array(e, "w", id, T_I8, nval ? (const void *)m->val : (const void *)&none, nval ? nval : 1);
    if (m->enc == SPARSE_Q8_BITMASK)
        put_array(e, "mask", id, T_U8, m->mask, (nd->rows * nd->cols + 7) / 8);
    if (m->enc == SPARSE_Q8_CSR) {
        const int ct = m->col_bytes == 1 ? T_U8 : m->col_bytes == 2 ? T_U16 : T_U32;
        if (nd->nnz)
            put_array(e, "col", id, ct, m->col, nd->nnz);
        put_array(e, "row", id, m->row_bytes == 2 ? T_U16 : T_U32, m->row, nd->rows + 1);
    }
    if (p->bias)
        put_array(e, "bias", id, T_I32, p->bias, nd->rows);
    put_array(e, "mult", id, T_I32, p->mult, nd->rows);
    put_array(e, "shift", id, T_I8, p->shift, nd->rows);
    const char *x = e->prefix;
    sparse__buf_printf(&e->b,
                       "static const %s_q8_conv_params %s_p%zu = {\n"
                       "    .in_c = %lu, .out_c = %lu, .groups = %lu,\n"
                       "    .in_h = %u, .in_w = %u, .out_h = %u, .out_w = %u,\n"
                       "    .k = %u, .stride = %u, .pad_top = %u, .pad_left = %u,\n"
                       "    .in_zp = %d, .out_zp = %d, .act_min = %d, .act_max = %d,\n"
                       "    .w = {.enc = %s, .col_bytes = %u, .row_bytes = %u",
                       x, x, id, (unsigned long)p->in_c, (unsigned long)p->out_c, (unsigned long)p->groups,
                       p->in_h, p->in_w, p->out_h, p->out_w, p->k, p->stride, p->pad_top, p->pad_left,
                       p->in_zp, p->out_zp, p->act_min, p->act_max, encoding_macro(m->enc), m->col_bytes,
                       m->row_bytes);
    sparse__buf_printf(&e->b, ", .val = %s_w%zu", x, id);
    if (m->enc == SPARSE_Q8_BITMASK)
        sparse__buf_printf(&e->b, ", .mask = %s_mask%zu", x, id);
    if (m->enc == SPARSE_Q8_CSR) {
        if (nd->nnz)
            sparse__buf_printf(&e->b, ", .col = %s_col%zu", x, id);
        sparse__buf_printf(&e->b, ", .row = %s_row%zu", x, id);
    }
    sparse__buf_puts(&e->b, "},\n   ");
    if (p->bias)
        sparse__buf_printf(&e->b, " .bias = %s_bias%zu,", x, id);
    sparse__buf_printf(&e->b, " .mult = %s_mult%zu, .shift = %s_shift%zu};\n", x, id, x, id);
}

static void emit_params(emitter *e, size_t id)
{
    const sparse__qnode *nd = &e->q->nodes[id];
    const char *x = e->prefix;
    sparse__buf *b = &e->b;
    if (nd->op == Q_CONV) {
        emit_conv(e, id);
    } else if (nd->op == Q_MAXPOOL || nd->op == Q_AVGPOOL) {
        const sparse__q8_pool_params *p = &nd->pool;
        sparse__buf_printf(b,
                           "static const %s_q8_pool_params %s_p%zu = {.out_c = %lu, .in_h = %u, .in_w = %u, "
                           ".out_h = %u, .out_w = %u,\n    .k = %u, .stride = %u, .depth_rate = %u, "
                           ".act_min = %d, .act_max = %d};\n",
                           x, x, id, (unsigned long)p->out_c, p->in_h, p->in_w, p->out_h, p->out_w, p->k,
                           p->stride, p->depth_rate, p->act_min, p->act_max);
    } else if (nd->op == Q_ADD) {
        const sparse__q8_add_params *p = &nd->add;
        sparse__buf_printf(b, "static const %s_q8_add_input %s_addin%zu[%u] = {", x, x, id, p->n_in);
        for (unsigned i = 0; i < p->n_in; i++)
            sparse__buf_printf(b, "\n    {.mult = %ld, .zp = %d, .shift = %d},", (long)p->in[i].mult,
                               p->in[i].zp, p->in[i].shift);
        sparse__buf_printf(b,
                           "\n};\nstatic const %s_q8_add_params %s_p%zu = {.count = %lu, .out_mult = %ld, "
                           ".n_in = %u, .out_shift = %d,\n    .out_zp = %d, .act_min = %d, .act_max = %d, "
                           ".in = %s_addin%zu};\n",
                           x, x, id, (unsigned long)p->count, (long)p->out_mult, p->n_in, p->out_shift,
                           p->out_zp, p->act_min, p->act_max, x, id);
    } else if (nd->op == Q_CONCAT) {
        const sparse__q8_concat_params *p = &nd->cat;
        sparse__buf_printf(b, "static const %s_q8_concat_input %s_catin%zu[%u] = {", x, x, id, p->n_in);
        for (unsigned i = 0; i < p->n_in; i++)
            sparse__buf_printf(b, "\n    {.count = %lu, .mult = %ld, .zp = %d, .shift = %d, .same = %d},",
                               (unsigned long)p->in[i].count, (long)p->in[i].mult, p->in[i].zp,
                               p->in[i].shift, p->in[i].same);
        sparse__buf_printf(b,
                           "\n};\nstatic const %s_q8_concat_params %s_p%zu = {.n_in = %u, .out_zp = %d, "
                           ".act_min = %d, .act_max = %d, .in = %s_catin%zu};\n",
                           x, x, id, p->n_in, p->out_zp, p->act_min, p->act_max, x, id);
    } else if (nd->op == Q_RELU) {
        sparse__buf_printf(b, "static const %s_q8_relu_params %s_p%zu = {.count = %lu, .zp = %d};\n", x, x,
                           id, (unsigned long)nd->relu_p.count, nd->relu_p.zp);
    }
}

/* One line saying what node id is, for a reader of the generated file. */
static void emit_comment(emitter *e, size_t id)
{
    const sparse__qnode *nd = &e->q->nodes[id];
    sparse__buf_printf(&e->b, "\n/* node %zu ", id);
    put_name(&e->b, nd->name);
    sparse__buf_printf(&e->b, ": %s -> %zux%zux%zu", sparse_layer_kind_name(nd->kind), nd->c, nd->h, nd->w);
    if (nd->op == Q_CONV)
        sparse__buf_printf(&e->b, ", kernel %u stride %u, %s, %zu of %zu weights non-zero", nd->conv.k,
                           nd->conv.stride, encoding_name(nd->conv.w.enc), nd->nnz, nd->rows * nd->cols);
    if (nd->relu)
        sparse__buf_puts(&e->b, ", ReLU fused");
    sparse__buf_puts(&e->b, " */\n");
}

/* Each kernel is compiled in only if the network uses it. */
static void emit_switches(emitter *e)
{
    int used[8] = {0}, bitmask = 0, csr = 0;
    for (size_t i = e->first; i < e->q->n; i++) {
        const sparse__qnode *nd = &e->q->nodes[i];
        int kind = 0;
        if (sparse__qnode_params(nd, &kind))
            used[kind] = 1;
        if (nd->op == Q_CONV) {
            bitmask |= nd->conv.w.enc == SPARSE_Q8_BITMASK;
            csr |= nd->conv.w.enc == SPARSE_Q8_CSR;
        }
    }
    sparse__buf_printf(&e->b,
                       "#define SPARSE_Q8(name) %s_q8_##name\n#define SPARSE_Q8_FN static\n"
                       "#define SPARSE_Q8_AMALGAMATED 1\n#define SPARSE_Q8_WITH_BITMASK %d\n"
                       "#define SPARSE_Q8_WITH_CSR %d\n#define SPARSE_Q8_WITH_MAXPOOL %d\n"
                       "#define SPARSE_Q8_WITH_AVGPOOL %d\n#define SPARSE_Q8_WITH_ADD %d\n"
                       "#define SPARSE_Q8_WITH_CONCAT %d\n#define SPARSE_Q8_WITH_RELU %d\n",
                       e->prefix, bitmask, csr, used[SPARSE_Q8_OP_MAXPOOL], used[SPARSE_Q8_OP_AVGPOOL],
                       used[SPARSE_Q8_OP_ADD], used[SPARSE_Q8_OP_CONCAT], used[SPARSE_Q8_OP_RELU]);
}

static void emit_ops(emitter *e)
{
    const char *x = e->prefix;
    for (size_t i = e->first; i < e->q->n; i++) {
        const sparse__qnode *nd = &e->q->nodes[i];
        int kind = 0;
        if (!sparse__qnode_params(nd, &kind))
            continue;
        emit_comment(e, i);
        emit_params(e, i);
        sparse__buf_printf(&e->b, "static const uint32_t %s_in%zu[%zu] = {", x, i, nd->n_in);
        for (size_t k = 0; k < nd->n_in; k++)
            sparse__buf_printf(&e->b, "%s%llu", k ? ", " : "", (unsigned long long)offset_of(e, nd->in[k]));
        sparse__buf_puts(&e->b, "};\n");
    }
    sparse__buf_printf(&e->b, "\n/* The network, step by step. */\nstatic const %s_q8_op %s_ops[] = {\n", x,
                       x);
    for (size_t i = e->first; i < e->q->n; i++) {
        const sparse__qnode *nd = &e->q->nodes[i];
        int kind = 0;
        if (!sparse__qnode_params(nd, &kind))
            continue;
        sparse__buf_printf(&e->b,
                           "    {.kind = %s, .n_in = %zu, .out = %llu, .in = %s_in%zu, .p = &%s_p%zu},\n",
                           op_macro(kind), nd->n_in, (unsigned long long)offset_of(e, i), x, i, x, i);
    }
    sparse__buf_puts(&e->b, "};\n");
}

static int valid_prefix(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0 || n > 48 ||
        !((prefix[0] >= 'a' && prefix[0] <= 'z') || (prefix[0] >= 'A' && prefix[0] <= 'Z')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

SPARSE_API int sparse_exp_qnet_c_source(char **out, const sparse_qnet *q, const char *prefix,
                                        const uint64_t *offsets)
{
    return sparse_exp_qnet_c_source_from(out, q, prefix, offsets, 0);
}

SPARSE_API int sparse_exp_qnet_c_source_from(char **out, const sparse_qnet *q, const char *prefix,
                                             const uint64_t *offsets, size_t input_node)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(prefix);
    if (!valid_prefix(prefix))
        return sparse__error(SPARSE_EINVAL,
                             "C prefix '%s': a letter, then letters, digits or '_', at most 48 characters",
                             prefix);
    if (input_node >= q->n)
        return sparse__error(SPARSE_ERANGE, "C source: input node %zu, the network has %zu nodes", input_node,
                             q->n);
    emitter e = {SPARSE__BUF_INIT, prefix, q, offsets, input_node + 1};
    if (offsets)
        for (size_t i = 0; i < q->n; i++)
            if (offsets[i] > UINT32_MAX)
                return sparse__error(SPARSE_ERANGE, "C source: offset %llu of node %zu is beyond 4 GiB",
                                     (unsigned long long)offsets[i], i);
    sparse__buf_puts(&e.b, "/* ---- The int8 kernels: libsparse's lib/memory/int8_kernels.h and "
                           "int8_kernels.c, verbatim ---- */\n");
    emit_switches(&e);
    sparse__buf_puts(&e.b, sparse__q8_text_h);
    sparse__buf_puts(&e.b, sparse__q8_text_c);
    sparse__buf_puts(&e.b, "\n/* ---- The network: weights, requantisation constants, steps ---- */\n");
    emit_ops(&e);
    if (e.b.failed) {
        sparse__buf_free(&e.b);
        return SPARSE_ENOMEM;
    }
    *out = sparse__buf_detach(&e.b);
    return *out ? SPARSE_OK : SPARSE_ENOMEM;
}
