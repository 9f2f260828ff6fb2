/* One node of the int8 network: its kernel's parameters from the float
 * network and the calibrated scales. Weighted layers are quantised per
 * output channel and stored in the encoding the deploy-flash model chooses
 * (sparse_memory_deploy_weight_bytes), so the host runs the very tables an
 * exported model holds. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "quant_internal.h"
#include "sparse/memory.h"

/* Largest row length whose int32 accumulator cannot overflow: every term is
 * at most 127 * 255 in magnitude. */
#define Q_MAX_COLS ((size_t)(INT32_MAX / (127 * 255)))

void sparse__qnode_free(sparse__qnode *nd)
{
    free(nd->name);
    free(nd->val);
    free(nd->mask);
    free(nd->col);
    free(nd->row);
    free(nd->bias);
    free(nd->mult);
    free(nd->shift);
}

const void *sparse__qnode_params(const sparse__qnode *nd, int *kind)
{
    switch (nd->op) {
    case Q_CONV:
        *kind = SPARSE_Q8_OP_CONV;
        return &nd->conv;
    case Q_MAXPOOL:
        *kind = SPARSE_Q8_OP_MAXPOOL;
        return &nd->pool;
    case Q_AVGPOOL:
        *kind = SPARSE_Q8_OP_AVGPOOL;
        return &nd->pool;
    case Q_ADD:
        *kind = SPARSE_Q8_OP_ADD;
        return &nd->add;
    case Q_CONCAT:
        *kind = SPARSE_Q8_OP_CONCAT;
        return &nd->cat;
    case Q_RELU:
        *kind = SPARSE_Q8_OP_RELU;
        return &nd->relu_p;
    default:
        *kind = 0;
        return NULL;
    }
}

/* The kernels keep shapes in narrow fields: refuse what does not fit. */
static int check_geometry(const sparse__qnode *nd, const sparse_node_info *info)
{
    const size_t big = info->in_h > info->in_w ? info->in_h : info->in_w;
    const size_t small = info->kernel > info->stride ? info->kernel : info->stride;
    const size_t pad = info->pad_top > info->pad_left ? info->pad_top : info->pad_left;
    if (big > UINT16_MAX || small > UINT8_MAX || pad > UINT8_MAX || info->depth_rate > UINT8_MAX)
        return sparse__error(SPARSE_EUNSUPPORTED,
                             "int8: node '%s': %zux%zu input, kernel %zu, stride %zu, padding %zu: the "
                             "int8 kernels take images up to 65535 pixels a side and kernels, strides "
                             "and padding up to 255",
                             nd->name, info->in_h, info->in_w, info->kernel, info->stride, pad);
    return SPARSE_OK;
}

/* v as an array of `bytes`-wide unsigned integers (1, 2 or 4). */
static void *pack_index(const size_t *v, size_t n, unsigned bytes)
{
    void *out = sparse__malloc((n ? n : 1) * bytes);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (bytes == 1)
            ((uint8_t *)out)[i] = (uint8_t)v[i];
        else if (bytes == 2)
            ((uint16_t *)out)[i] = (uint16_t)v[i];
        else
            ((uint32_t *)out)[i] = (uint32_t)v[i];
    }
    return out;
}

/* Replaces the dense int8 matrix nd->val (rows x cols) by its encoding. */
static int encode(sparse__qnode *nd)
{
    const size_t rows = nd->rows, cols = nd->cols, n = rows * cols;
    size_t nnz = 0;
    for (size_t j = 0; j < n; j++)
        nnz += nd->val[j] != 0;
    nd->nnz = nnz;
    int fmt = SPARSE_FLASH_DENSE;
    uint64_t bytes = 0;
    int rc = sparse_memory_deploy_weight_bytes(rows, cols, nnz, &fmt, &bytes);
    if (rc)
        return sparse__error_prefix(rc, "int8: node '%s'", nd->name);
    sparse__q8_matrix *m = &nd->conv.w;
    m->enc = (uint8_t)fmt;
    if (fmt == SPARSE_FLASH_DENSE) {
        m->val = nd->val;
        return SPARSE_OK;
    }
    int8_t *val = sparse__malloc(nnz ? nnz : 1);
    size_t *cidx = fmt == SPARSE_FLASH_CSR ? sparse__malloc((nnz ? nnz : 1) * sizeof *cidx) : NULL;
    size_t *rptr = fmt == SPARSE_FLASH_CSR ? sparse__malloc((rows + 1) * sizeof *rptr) : NULL;
    uint8_t *mask = fmt == SPARSE_FLASH_BITMASK ? sparse__calloc((n + 7) / 8, 1) : NULL;
    rc = !val || (fmt == SPARSE_FLASH_CSR ? !cidx || !rptr : !mask) ? SPARSE_ENOMEM : SPARSE_OK;
    size_t k = 0;
    for (size_t o = 0; !rc && o < rows; o++) {
        if (rptr)
            rptr[o] = k;
        for (size_t j = 0; j < cols; j++) {
            const int8_t v = nd->val[o * cols + j];
            if (!v)
                continue;
            if (mask)
                mask[(o * cols + j) >> 3] |= (uint8_t)(1u << ((o * cols + j) & 7));
            if (cidx)
                cidx[k] = j;
            val[k++] = v;
        }
    }
    if (rptr)
        rptr[rows] = k;
    if (!rc && fmt == SPARSE_FLASH_CSR) {
        /* The deploy-flash model's widths (sparse_memory_deploy_weight_bytes). */
        m->col_bytes = cols <= 256 ? 1 : cols <= 65536 ? 2 : 4;
        m->row_bytes = nnz <= 65535 ? 2 : 4;
        nd->col = pack_index(cidx, nnz, m->col_bytes);
        nd->row = pack_index(rptr, rows + 1, m->row_bytes);
        rc = nd->col && nd->row ? SPARSE_OK : SPARSE_ENOMEM;
    }
    free(cidx);
    free(rptr);
    if (rc) {
        free(val);
        free(mask);
        return rc;
    }
    free(nd->val);
    nd->val = val;
    nd->mask = mask;
    m->val = val;
    m->mask = mask;
    m->col = nd->col;
    m->row = nd->row;
    return SPARSE_OK;
}

/* Per output channel: int8 weights at scale max|w| / 127, the bias in int32
 * at input_scale * weight_scale, and the multiplier to the output's scale.
 * Values out of the integer ranges are refused: they would saturate into
 * garbage. */
static int quantize_channels(sparse__qnode *nd, const float *w, const float *b, double in_scale)
{
    const size_t per = nd->cols;
    for (size_t o = 0; o < nd->rows; o++) {
        double mx = 0.0;
        for (size_t j = 0; j < per; j++)
            if (fabs((double)w[o * per + j]) > mx)
                mx = fabs((double)w[o * per + j]);
        /* An all-zero (pruned) channel keeps scale 1: its weights stay 0. */
        const double ws = mx > 0.0 ? mx / 127.0 : 1.0;
        for (size_t j = 0; j < per; j++) {
            double v = round((double)w[o * per + j] / ws);
            nd->val[o * per + j] = (int8_t)(v > 127.0 ? 127.0 : v < -127.0 ? -127.0 : v);
        }
        const double bs = in_scale * ws;
        if (b) {
            const double v = round((double)b[o] / bs);
            if (!(fabs(v) <= 2147483647.0))
                return sparse__error(SPARSE_ERANGE,
                                     "int8: node '%s' output channel %zu: bias %g is %g steps of its "
                                     "scale %g (input scale x weight scale), beyond int32",
                                     nd->name, o, (double)b[o], v, bs);
            nd->bias[o] = (int32_t)v;
            nd->nnz_bias += nd->bias[o] != 0;
        }
        const double real = bs / nd->scale;
        int shift = 0;
        sparse__q_multiplier(real, &nd->mult[o], &shift);
        if (!(real < 2147483648.0) || shift > 31)
            return sparse__error(SPARSE_ERANGE,
                                 "int8: node '%s' output channel %zu: weights up to %g need a "
                                 "requantisation multiplier of %g (input scale %g, output scale %g), "
                                 "beyond 2^31",
                                 nd->name, o, mx, real, in_scale, nd->scale);
        nd->shift[o] = (int8_t)shift;
    }
    return SPARSE_OK;
}

static int prepare_conv(sparse_qnet *q, sparse__qnode *nd, size_t id, const sparse_net *net,
                        const sparse__netfold *f)
{
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    int rc = sparse_net_node_info(net, id, &info);
    if (rc || (rc = check_geometry(nd, &info)))
        return rc;
    float *w = NULL, *b = NULL;
    size_t nw, nb, oc;
    if ((rc = sparse__netfold_params(f, net, id, &w, &nw, &b, &nb, &oc)))
        return rc;
    const sparse__qnode *in = &q->nodes[nd->in[0]];
    sparse__q8_conv_params *p = &nd->conv;
    if (info.kind == SPARSE_LAYER_FC) {
        p->in_c = (uint32_t)in->count;
        p->in_h = p->in_w = p->out_h = p->out_w = 1;
        p->k = p->stride = 1;
        p->groups = 1;
    } else {
        p->in_c = (uint32_t)info.in_c;
        p->in_h = (uint16_t)info.in_h;
        p->in_w = (uint16_t)info.in_w;
        p->out_h = (uint16_t)info.out_h;
        p->out_w = (uint16_t)info.out_w;
        p->k = (uint8_t)info.kernel;
        p->stride = (uint8_t)info.stride;
        p->pad_top = (uint8_t)info.pad_top;
        p->pad_left = (uint8_t)info.pad_left;
        p->groups = (uint32_t)(info.groups ? info.groups : 1);
    }
    p->out_c = (uint32_t)oc;
    nd->rows = oc;
    nd->cols = oc ? nw / oc : 0;
    if (nd->cols > Q_MAX_COLS) {
        free(w);
        free(b);
        return sparse__error(SPARSE_EUNSUPPORTED,
                             "int8: node '%s' sums %zu products per output, more than the %zu an int32 "
                             "accumulator holds without overflow",
                             nd->name, nd->cols, Q_MAX_COLS);
    }
    nd->val = sparse__malloc(nw ? nw : 1);
    nd->mult = sparse__calloc(oc ? oc : 1, sizeof *nd->mult);
    nd->shift = sparse__calloc(oc ? oc : 1, sizeof *nd->shift);
    nd->bias = b ? sparse__calloc(oc ? oc : 1, sizeof *nd->bias) : NULL;
    if (!nd->val || !nd->mult || !nd->shift || (b && !nd->bias))
        rc = SPARSE_ENOMEM;
    if (!rc)
        rc = quantize_channels(nd, w, b, in->scale);
    free(w);
    free(b);
    if (!rc)
        rc = encode(nd);
    if (rc)
        return rc;
    p->bias = nd->bias;
    p->mult = nd->mult;
    p->shift = nd->shift;
    p->in_zp = (int8_t)in->zp;
    p->out_zp = (int8_t)nd->zp;
    p->act_min = (int8_t)(nd->relu ? nd->zp : INT8_MIN);
    p->act_max = INT8_MAX;
    return SPARSE_OK;
}

static int prepare_pool(sparse__qnode *nd, size_t id, const sparse_net *net)
{
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    int rc = sparse_net_node_info(net, id, &info);
    if (rc || (rc = check_geometry(nd, &info)))
        return rc;
    sparse__q8_pool_params *p = &nd->pool;
    p->out_c = (uint32_t)info.out_c;
    p->in_h = (uint16_t)info.in_h;
    p->in_w = (uint16_t)info.in_w;
    p->out_h = (uint16_t)info.out_h;
    p->out_w = (uint16_t)info.out_w;
    p->k = (uint8_t)info.kernel;
    p->stride = (uint8_t)info.stride;
    p->depth_rate = (uint8_t)(info.depth_rate ? info.depth_rate : 1);
    p->act_min = (int8_t)(nd->relu ? nd->zp : INT8_MIN);
    p->act_max = INT8_MAX;
    return SPARSE_OK;
}

static void prepare_merge(const sparse_qnet *q, sparse__qnode *nd)
{
    double sc[SPARSE_Q8_MAX_INPUTS];
    const int8_t amin = (int8_t)(nd->relu ? nd->zp : INT8_MIN);
    for (size_t k = 0; k < nd->n_in; k++)
        sc[k] = q->nodes[nd->in[k]].scale;
    if (nd->op == Q_ADD) {
        sparse__q8_add_params *p = &nd->add;
        p->n_in = (uint8_t)nd->n_in;
        p->count = (uint32_t)nd->count;
        for (size_t k = 0; k < nd->n_in; k++)
            nd->add_in[k].zp = (int8_t)q->nodes[nd->in[k]].zp;
        p->out_zp = (int8_t)nd->zp;
        p->act_min = amin;
        p->act_max = INT8_MAX;
        sparse__q_add_prepare(p, nd->add_in, sc, nd->scale);
        return;
    }
    sparse__q8_concat_params *p = &nd->cat;
    p->n_in = (uint8_t)nd->n_in;
    for (size_t k = 0; k < nd->n_in; k++) {
        nd->cat_in[k].count = (uint32_t)q->nodes[nd->in[k]].count;
        nd->cat_in[k].zp = (int8_t)q->nodes[nd->in[k]].zp;
    }
    p->out_zp = (int8_t)nd->zp;
    p->act_min = amin;
    p->act_max = INT8_MAX;
    sparse__q_concat_prepare(p, nd->cat_in, sc, nd->scale);
}

int sparse__qnode_prepare(sparse_qnet *q, size_t id, const sparse_net *net, const sparse__netfold *f)
{
    sparse__qnode *nd = &q->nodes[id];
    switch (nd->op) {
    case Q_CONV:
        return prepare_conv(q, nd, id, net, f);
    case Q_MAXPOOL:
    case Q_AVGPOOL:
        return prepare_pool(nd, id, net);
    case Q_ADD:
    case Q_CONCAT:
        prepare_merge(q, nd);
        return SPARSE_OK;
    case Q_RELU:
        nd->relu_p.count = (uint32_t)nd->count;
        nd->relu_p.zp = (int8_t)nd->zp;
        return SPARSE_OK;
    default:
        return SPARSE_OK;
    }
}
