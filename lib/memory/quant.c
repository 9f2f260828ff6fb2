/* Post-training int8 quantisation of a sparse_net and integer-only
 * inference (sparse/quant.h). The network is read through the layers
 * module's public API only; batch norm folding is netfold.c's, shared with
 * the memory adapter. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "netfold.h"
#include "quant_internal.h"
#include "sparse/quant.h"

enum { Q_INPUT, Q_CONV, Q_MAXPOOL, Q_AVGPOOL, Q_ADD, Q_CONCAT, Q_RELU, Q_ALIAS };

typedef struct qnode {
    int op;
    size_t owner;  /* node whose buffer holds this node's output (itself unless Q_ALIAS) */
    size_t last;   /* owners: the last node folded or fused into them, whose float
                      output the tensor stands for (its range calibrates it) */
    size_t n_in;
    size_t in[SPARSE__Q_MAX_INPUTS]; /* owners of the inputs */
    size_t count;  /* c*h*w */
    double scale;
    int32_t zp;
    int relu;      /* a ReLU is fused: clamp at the zero point */
    double lo, hi; /* calibration range */
    int8_t *out;
    sparse__qconv conv;
    int8_t *wq;
    int32_t *bq, *mult;
    int *shift;
    sparse__qpool pool;
    sparse__qadd add;
    sparse__qconcat cat;
} qnode;

struct sparse_qnet {
    qnode *nodes;
    size_t n;
    size_t in_c, in_h, in_w, classes;
};

SPARSE__STRUCT_VERSIONS(quant_options_versions, sparse_quant_options, SPARSE_QUANT_OPTIONS_INIT,
                        SPARSE_QUANT_OPTIONS_VERSION, sizeof(sparse_quant_options));

SPARSE_API int sparse_quant_options_init(sparse_quant_options *opts, unsigned version)
{
    return sparse__struct_init(&quant_options_versions, opts, version);
}

SPARSE_API void sparse_qnet_free(sparse_qnet *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        qnode *nd = &q->nodes[i];
        free(nd->out);
        free(nd->wq);
        free(nd->bq);
        free(nd->mult);
        free(nd->shift);
    }
    free(q->nodes);
    free(q);
}

/* Which node owns which tensor: batch norms fold, ReLUs fuse where the
 * producer's tensor is read by the ReLU alone. */
static int plan(sparse_qnet *q, const sparse_net *net, const sparse__netfold *f)
{
    for (size_t i = 0; i < q->n; i++) {
        qnode *nd = &q->nodes[i];
        int kind = sparse_net_node_kind(net, i);
        size_t c, h, w;
        int rc = sparse_net_node_shape(net, i, &c, &h, &w);
        if (rc)
            return rc;
        nd->count = c * h * w;
        nd->owner = nd->last = i;
        nd->n_in = sparse_net_node_input_count(net, i);
        if (nd->n_in > SPARSE__Q_MAX_INPUTS)
            return sparse__error(SPARSE_EUNSUPPORTED, "int8: node '%s' has %zu inputs (at most %d)",
                                 sparse_net_node_name(net, i), nd->n_in, SPARSE__Q_MAX_INPUTS);
        size_t src[SPARSE__Q_MAX_INPUTS];
        for (size_t k = 0; k < nd->n_in; k++) {
            if ((rc = sparse_net_node_input(net, i, k, &src[k])))
                return rc;
            nd->in[k] = q->nodes[src[k]].owner;
        }
        switch (kind) {
        case SPARSE_LAYER_INPUT: nd->op = Q_INPUT; break;
        case SPARSE_LAYER_CONV2D:
        case SPARSE_LAYER_DEPTHWISE_CONV2D:
        case SPARSE_LAYER_FC: nd->op = Q_CONV; break;
        case SPARSE_LAYER_MAXPOOL:
        case SPARSE_LAYER_INPUT_DOWNSAMPLE: nd->op = Q_MAXPOOL; break;
        case SPARSE_LAYER_AVGPOOL: nd->op = Q_AVGPOOL; break;
        case SPARSE_LAYER_MERGE: {
            sparse_node_info info = SPARSE_NODE_INFO_INIT;
            if ((rc = sparse_net_node_info(net, i, &info)))
                return rc;
            nd->op = info.merge == SPARSE_MERGE_CONCAT ? Q_CONCAT : Q_ADD;
            break;
        }
        case SPARSE_LAYER_BATCHNORM:
            /* netfold guarantees the producer is a conv/FC read by this node only. */
            nd->op = Q_ALIAS;
            nd->owner = nd->in[0];
            q->nodes[nd->owner].last = i;
            break;
        case SPARSE_LAYER_RELU: {
            size_t own = nd->in[0];
            if (f->consumers[src[0]] == 1 && own != 0) {
                nd->op = Q_ALIAS;
                nd->owner = own;
                q->nodes[own].last = i;
                q->nodes[own].relu = 1;
            } else {
                nd->op = Q_RELU;
            }
            break;
        }
        default:
            return sparse__error(SPARSE_EUNSUPPORTED, "int8: node '%s' has unknown kind %d",
                                 sparse_net_node_name(net, i), kind);
        }
    }
    return SPARSE_OK;
}

/* Tensors whose quantisation comes from calibration (the others inherit
 * their input's). */
static int calibrated(int op)
{
    return op == Q_INPUT || op == Q_CONV || op == Q_ADD || op == Q_CONCAT;
}

static int calibrate(sparse_qnet *q, sparse_net *net, const sparse_dataset *ds, size_t n_img)
{
    for (size_t i = 0; i < q->n; i++) {
        q->nodes[i].lo = DBL_MAX;
        q->nodes[i].hi = -DBL_MAX;
    }
    const size_t per = q->in_c * q->in_h * q->in_w;
    size_t bmax = sparse_net_max_batch(net);
    if (bmax < 1)
        bmax = 1;
    int rc = SPARSE_OK;
    for (size_t first = 0; first < n_img && !rc; first += bmax) {
        size_t nb = n_img - first < bmax ? n_img - first : bmax;
        sparse_tensor *x = NULL;
        if ((rc = sparse_tensor_create_nchw(&x, nb, q->in_c, q->in_h, q->in_w)))
            break;
        float *xd = sparse_tensor_data(x);
        for (size_t j = 0; j < nb; j++)
            memcpy(xd + j * per, sparse_dataset_image(ds, first + j), per * sizeof *xd);
        rc = sparse_net_forward(net, x, 0, NULL);
        sparse_tensor_free(x);
        for (size_t i = 0; i < q->n && !rc; i++) {
            qnode *nd = &q->nodes[i];
            if (nd->op == Q_ALIAS || !calibrated(nd->op))
                continue;
            sparse_tensor *t = NULL;
            if ((rc = sparse_net_node_output(&t, net, nd->last)))
                break;
            const float *v = sparse_tensor_data_const(t);
            size_t m = sparse_tensor_element_count(t);
            for (size_t j = 0; j < m; j++) {
                if (!isfinite(v[j])) {
                    rc = sparse__error(SPARSE_ENUMERIC, "int8 calibration: node '%s' output is %g",
                                       sparse_net_node_name(net, nd->last), (double)v[j]);
                    break;
                }
                if (v[j] < nd->lo)
                    nd->lo = v[j];
                if (v[j] > nd->hi)
                    nd->hi = v[j];
            }
            sparse_tensor_free(t);
        }
    }
    return rc;
}

/* Asymmetric int8 over [lo, hi] widened to hold 0 exactly (zero padding
 * and ReLU need a representable zero). */
static void choose_qparams(double lo, double hi, double *scale, int32_t *zp)
{
    if (lo > 0.0)
        lo = 0.0;
    if (hi < 0.0)
        hi = 0.0;
    double s = (hi - lo) / 255.0;
    if (!(s > 0.0))
        s = 1.0;
    double z = round(-128.0 - lo / s);
    if (z < -128.0)
        z = -128.0;
    if (z > 127.0)
        z = 127.0;
    *scale = s;
    *zp = (int32_t)z;
}

static int quantize_conv(sparse_qnet *q, qnode *nd, size_t id, const sparse_net *net,
                         const sparse__netfold *f)
{
    sparse_node_info info = SPARSE_NODE_INFO_INIT;
    int rc = sparse_net_node_info(net, id, &info);
    if (rc)
        return rc;
    float *w = NULL, *b = NULL;
    size_t nw, nb, oc;
    if ((rc = sparse__netfold_params(f, net, id, &w, &nw, &b, &nb, &oc)))
        return rc;
    const qnode *in = &q->nodes[nd->in[0]];
    sparse__qconv *p = &nd->conv;
    if (info.kind == SPARSE_LAYER_FC) {
        p->in_c = in->count;
        p->in_h = p->in_w = p->out_h = p->out_w = 1;
        p->k = p->stride = p->groups = 1;
    } else {
        p->in_c = info.in_c;
        p->in_h = info.in_h;
        p->in_w = info.in_w;
        p->out_h = info.out_h;
        p->out_w = info.out_w;
        p->k = info.kernel;
        p->stride = info.stride;
        p->pad_top = info.pad_top;
        p->pad_left = info.pad_left;
        p->groups = info.groups ? info.groups : 1;
    }
    p->out_c = oc;
    nd->wq = sparse__malloc(nw ? nw : 1);
    nd->mult = sparse__calloc(oc, sizeof *nd->mult);
    nd->shift = sparse__calloc(oc, sizeof *nd->shift);
    nd->bq = b ? sparse__calloc(oc, sizeof *nd->bq) : NULL;
    if (!nd->wq || !nd->mult || !nd->shift || (b && !nd->bq)) {
        free(w);
        free(b);
        return SPARSE_ENOMEM;
    }
    const size_t per = nw / oc;
    for (size_t o = 0; o < oc; o++) {
        double mx = 0.0;
        for (size_t j = 0; j < per; j++)
            if (fabs((double)w[o * per + j]) > mx)
                mx = fabs((double)w[o * per + j]);
        /* An all-zero (pruned) channel keeps scale 1: its weights stay 0. */
        double ws = mx > 0.0 ? mx / 127.0 : 1.0;
        for (size_t j = 0; j < per; j++) {
            double v = round((double)w[o * per + j] / ws);
            nd->wq[o * per + j] = (int8_t)(v > 127.0 ? 127.0 : v < -127.0 ? -127.0 : v);
        }
        double bs = in->scale * ws;
        if (b) {
            double v = round((double)b[o] / bs);
            nd->bq[o] = (int32_t)(v > 2147483647.0 ? 2147483647.0 : v < -2147483648.0 ? -2147483648.0 : v);
        }
        sparse__q_multiplier(bs / nd->scale, &nd->mult[o], &nd->shift[o]);
    }
    free(w);
    free(b);
    p->w = nd->wq;
    p->bias = nd->bq;
    p->mult = nd->mult;
    p->shift = nd->shift;
    p->in_zp = in->zp;
    p->out_zp = nd->zp;
    p->act_min = nd->relu ? nd->zp : INT8_MIN;
    p->act_max = INT8_MAX;
    return SPARSE_OK;
}

static int prepare(sparse_qnet *q, const sparse_net *net, const sparse__netfold *f)
{
    for (size_t i = 0; i < q->n; i++) {
        qnode *nd = &q->nodes[i];
        if (nd->op == Q_ALIAS)
            continue;
        const qnode *in0 = nd->n_in ? &q->nodes[nd->in[0]] : NULL;
        /* Only the input has no inputs, and it is calibrated. */
        if (calibrated(nd->op) || !in0) {
            choose_qparams(nd->lo, nd->hi, &nd->scale, &nd->zp);
        } else {
            nd->scale = in0->scale;
            nd->zp = in0->zp;
        }
        const int32_t amin = nd->relu ? nd->zp : INT8_MIN;
        nd->out = sparse__malloc(nd->count ? nd->count : 1);
        if (!nd->out)
            return SPARSE_ENOMEM;
        int rc = SPARSE_OK;
        sparse_node_info info = SPARSE_NODE_INFO_INIT;
        double sc[SPARSE__Q_MAX_INPUTS];
        switch (nd->op) {
        case Q_CONV: rc = quantize_conv(q, nd, i, net, f); break;
        case Q_MAXPOOL:
        case Q_AVGPOOL:
            if ((rc = sparse_net_node_info(net, i, &info)))
                break;
            nd->pool.out_c = info.out_c;
            nd->pool.in_h = info.in_h;
            nd->pool.in_w = info.in_w;
            nd->pool.out_h = info.out_h;
            nd->pool.out_w = info.out_w;
            nd->pool.k = info.kernel;
            nd->pool.stride = info.stride;
            nd->pool.depth_rate = info.depth_rate ? info.depth_rate : 1;
            nd->pool.act_min = amin;
            nd->pool.act_max = INT8_MAX;
            break;
        case Q_ADD:
            nd->add.n_in = nd->n_in;
            nd->add.count = nd->count;
            for (size_t k = 0; k < nd->n_in; k++) {
                nd->add.in_zp[k] = q->nodes[nd->in[k]].zp;
                sc[k] = q->nodes[nd->in[k]].scale;
            }
            nd->add.out_zp = nd->zp;
            nd->add.act_min = amin;
            nd->add.act_max = INT8_MAX;
            sparse__q_add_prepare(&nd->add, sc, nd->scale);
            break;
        case Q_CONCAT:
            nd->cat.n_in = nd->n_in;
            for (size_t k = 0; k < nd->n_in; k++) {
                nd->cat.count[k] = q->nodes[nd->in[k]].count;
                nd->cat.in_zp[k] = q->nodes[nd->in[k]].zp;
                sc[k] = q->nodes[nd->in[k]].scale;
            }
            nd->cat.out_zp = nd->zp;
            nd->cat.act_min = amin;
            nd->cat.act_max = INT8_MAX;
            sparse__q_concat_prepare(&nd->cat, sc, nd->scale);
            break;
        default: break;
        }
        if (rc)
            return rc;
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_create(sparse_qnet **out, sparse_net *net, const sparse_dataset *calib,
                                  const sparse_quant_options *opts)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(calib);
    sparse_quant_options o;
    int rc = sparse__struct_read(&quant_options_versions, &o, opts, "sparse_qnet_create");
    if (rc)
        return rc;
    size_t c, h, w;
    rc = sparse_arch_input_shape(sparse_net_arch(net), &c, &h, &w);
    if (rc)
        return rc;
    if (sparse_dataset_channels(calib) != c || sparse_dataset_height(calib) != h ||
        sparse_dataset_width(calib) != w)
        return sparse__error(SPARSE_ESHAPE, "int8 calibration images are %zux%zux%zu, the network takes %zux%zux%zu",
                             sparse_dataset_channels(calib), sparse_dataset_height(calib),
                             sparse_dataset_width(calib), c, h, w);
    size_t n_img = sparse_dataset_image_count(calib);
    if (o.calib_images && o.calib_images < n_img)
        n_img = o.calib_images;
    if (n_img == 0)
        return sparse__error(SPARSE_EEMPTY, "int8 calibration: no images");
    sparse__netfold f;
    if ((rc = sparse__netfold_create(&f, net)))
        return rc;
    sparse_qnet *q = sparse__calloc(1, sizeof *q);
    if (q)
        q->nodes = sparse__calloc(f.n ? f.n : 1, sizeof *q->nodes);
    if (!q || !q->nodes) {
        free(q);
        sparse__netfold_free(&f);
        return SPARSE_ENOMEM;
    }
    q->n = f.n;
    q->in_c = c;
    q->in_h = h;
    q->in_w = w;
    q->classes = sparse_arch_class_count(sparse_net_arch(net));
    rc = plan(q, net, &f);
    if (!rc)
        rc = calibrate(q, net, calib, n_img);
    if (!rc)
        rc = prepare(q, net, &f);
    sparse__netfold_free(&f);
    if (rc) {
        sparse_qnet_free(q);
        return rc;
    }
    *out = q;
    return SPARSE_OK;
}

SPARSE_API size_t sparse_qnet_node_count(const sparse_qnet *q) { return q ? q->n : 0; }

static int check_id(const sparse_qnet *q, size_t id, const char *fn)
{
    if (!q)
        return sparse__error(SPARSE_EINVAL, "%s: NULL network", fn);
    if (id >= q->n)
        return sparse__error(SPARSE_ERANGE, "%s: no node %zu (network has %zu)", fn, id, q->n);
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_node_qparams(const sparse_qnet *q, size_t id, double *scale,
                                        int32_t *zero_point)
{
    int rc = check_id(q, id, __func__);
    if (rc)
        return rc;
    const qnode *nd = &q->nodes[q->nodes[id].owner];
    if (scale)
        *scale = nd->scale;
    if (zero_point)
        *zero_point = nd->zp;
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_node_output(const sparse_qnet *q, size_t id, const int8_t **data,
                                       size_t *count)
{
    SPARSE__CHECK_NULL(data);
    *data = NULL;
    int rc = check_id(q, id, __func__);
    if (rc)
        return rc;
    const qnode *nd = &q->nodes[q->nodes[id].owner];
    *data = nd->out;
    if (count)
        *count = nd->count;
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_predict(sparse_qnet *q, const float *image, int8_t *logits, int *label)
{
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(image);
    qnode *in = &q->nodes[0];
    for (size_t j = 0; j < in->count; j++)
        in->out[j] = sparse__q_quantize((double)image[j], in->scale, in->zp);
    for (size_t i = 1; i < q->n; i++) {
        qnode *nd = &q->nodes[i];
        const int8_t *x[SPARSE__Q_MAX_INPUTS];
        for (size_t k = 0; k < nd->n_in; k++)
            x[k] = q->nodes[nd->in[k]].out;
        switch (nd->op) {
        case Q_CONV: sparse__q_conv(&nd->conv, x[0], nd->out); break;
        case Q_MAXPOOL: sparse__q_maxpool(&nd->pool, x[0], nd->out); break;
        case Q_AVGPOOL: sparse__q_avgpool(&nd->pool, x[0], nd->out); break;
        case Q_ADD: sparse__q_add(&nd->add, x, nd->out); break;
        case Q_CONCAT: sparse__q_concat(&nd->cat, x, nd->out); break;
        case Q_RELU: sparse__q_relu(nd->count, nd->zp, x[0], nd->out); break;
        default: break;
        }
    }
    const qnode *last = &q->nodes[q->nodes[q->n - 1].owner];
    size_t best = 0;
    for (size_t j = 1; j < last->count; j++)
        if (last->out[j] > last->out[best])
            best = j;
    if (logits)
        memcpy(logits, last->out, last->count);
    if (label)
        *label = (int)best;
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_evaluate(sparse_qnet *q, const sparse_dataset *ds, double *accuracy)
{
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(ds);
    SPARSE__CHECK_NULL(accuracy);
    *accuracy = 0.0;
    if (sparse_dataset_channels(ds) != q->in_c || sparse_dataset_height(ds) != q->in_h ||
        sparse_dataset_width(ds) != q->in_w)
        return sparse__error(SPARSE_ESHAPE, "int8 evaluation: images are %zux%zux%zu, the network takes %zux%zux%zu",
                             sparse_dataset_channels(ds), sparse_dataset_height(ds),
                             sparse_dataset_width(ds), q->in_c, q->in_h, q->in_w);
    size_t n = sparse_dataset_image_count(ds), right = 0;
    if (n == 0)
        return sparse__error(SPARSE_EEMPTY, "int8 evaluation: no images");
    for (size_t i = 0; i < n; i++) {
        int label = -1;
        sparse_qnet_predict(q, sparse_dataset_image(ds, i), NULL, &label);
        right += label == sparse_dataset_label(ds, i);
    }
    *accuracy = (double)right / (double)n;
    return SPARSE_OK;
}
