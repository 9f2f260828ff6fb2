/* Post-training int8 quantisation of a sparse_net and integer-only
 * inference (sparse/quant.h): which node owns which tensor, calibration, the
 * host arena and the op table the shared int8 kernels run. The network is
 * read through the layers module's public API only; batch norm folding is
 * netfold.c's, shared with the memory adapter; each layer's parameters are
 * quant_layer.c's. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "quant_internal.h"

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
    for (size_t i = 0; i < q->n; i++)
        sparse__qnode_free(&q->nodes[i]);
    free(q->nodes);
    free(q->ops);
    free(q->arena);
    free(q);
}

/* Which node owns which tensor: batch norms fold, ReLUs fuse where the
 * producer's tensor is read by the ReLU alone. */
static int plan(sparse_qnet *q, const sparse_net *net, const sparse__netfold *f)
{
    for (size_t i = 0; i < q->n; i++) {
        sparse__qnode *nd = &q->nodes[i];
        int kind = sparse_net_node_kind(net, i);
        int rc = sparse_net_node_shape(net, i, &nd->c, &nd->h, &nd->w);
        if (rc)
            return rc;
        nd->name = sparse__strdup(sparse_net_node_name(net, i));
        if (!nd->name)
            return SPARSE_ENOMEM;
        nd->kind = kind;
        nd->count = nd->c * nd->h * nd->w;
        nd->owner = nd->last = i;
        nd->n_in = sparse_net_node_input_count(net, i);
        if (nd->n_in > SPARSE_Q8_MAX_INPUTS)
            return sparse__error(SPARSE_EUNSUPPORTED, "int8: node '%s' has %zu inputs (at most %d)", nd->name,
                                 nd->n_in, SPARSE_Q8_MAX_INPUTS);
        const size_t *src = nd->src;
        for (size_t k = 0; k < nd->n_in; k++) {
            if ((rc = sparse_net_node_input(net, i, k, &nd->src[k])))
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
            if (sparse__netfold_relu_fuses(f, net, src[0])) {
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
            sparse__qnode *nd = &q->nodes[i];
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

/* The host arena holds every tensor apart, so that each node's output stays
 * readable after a prediction (sparse_qnet_node_output); the op table
 * addresses it by offsets, as an exported model's planned arena. */
static int layout(sparse_qnet *q)
{
    size_t off = 0, n_ops = 0;
    for (size_t i = 0; i < q->n; i++) {
        sparse__qnode *nd = &q->nodes[i];
        if (nd->op == Q_ALIAS)
            continue;
        nd->offset = off;
        off += nd->count;
        n_ops += nd->op != Q_INPUT;
        if (off > UINT32_MAX)
            return sparse__error(SPARSE_EUNSUPPORTED, "int8: the network's tensors take more than 4 GiB");
    }
    q->arena_size = off;
    q->arena = sparse__calloc(off ? off : 1, 1);
    q->ops = sparse__calloc(n_ops ? n_ops : 1, sizeof *q->ops);
    if (!q->arena || !q->ops)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < q->n; i++) {
        sparse__qnode *nd = &q->nodes[i];
        int kind = 0;
        const void *p = sparse__qnode_params(nd, &kind);
        if (!p)
            continue;
        sparse__q8_op *op = &q->ops[q->n_ops++];
        for (size_t k = 0; k < nd->n_in; k++)
            nd->in_off[k] = (uint32_t)q->nodes[nd->in[k]].offset;
        op->kind = (uint8_t)kind;
        op->n_in = (uint8_t)nd->n_in;
        op->in = nd->in_off;
        op->out = (uint32_t)nd->offset;
        op->p = p;
    }
    return SPARSE_OK;
}

static int prepare(sparse_qnet *q, const sparse_net *net, const sparse__netfold *f)
{
    for (size_t i = 0; i < q->n; i++) {
        sparse__qnode *nd = &q->nodes[i];
        if (nd->op == Q_ALIAS)
            continue;
        const sparse__qnode *in0 = nd->n_in ? &q->nodes[nd->in[0]] : NULL;
        /* Only the input has no inputs, and it is calibrated. */
        if (calibrated(nd->op) || !in0) {
            choose_qparams(nd->lo, nd->hi, &nd->scale, &nd->zp);
        } else {
            nd->scale = in0->scale;
            nd->zp = in0->zp;
        }
        int rc = sparse__qnode_prepare(q, i, net, f);
        if (rc)
            return rc;
    }
    return layout(q);
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
    const sparse__qnode *nd = &q->nodes[q->nodes[id].owner];
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
    const sparse__qnode *nd = &q->nodes[q->nodes[id].owner];
    *data = q->arena + nd->offset;
    if (count)
        *count = nd->count;
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_quantize_input(const sparse_qnet *q, const float *image, int8_t *out)
{
    SPARSE__CHECK_NULL(q);
    SPARSE__CHECK_NULL(image);
    SPARSE__CHECK_NULL(out);
    const sparse__qnode *in = &q->nodes[0];
    for (size_t j = 0; j < in->count; j++)
        out[j] = sparse__q_quantize((double)image[j], in->scale, in->zp);
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_predict(sparse_qnet *q, const float *image, int8_t *logits, int *label)
{
    SPARSE__CHECK_NULL(q); /* named here, not as sparse_qnet_quantize_input's */
    SPARSE__CHECK_NULL(image);
    int rc = sparse_qnet_quantize_input(q, image, q->arena + q->nodes[0].offset);
    if (rc)
        return rc;
    sparse__q8_run(q->ops, q->n_ops, q->arena);
    const sparse__qnode *last = &q->nodes[q->nodes[q->n - 1].owner];
    const int8_t *out = q->arena + last->offset;
    size_t best = 0;
    for (size_t j = 1; j < last->count; j++)
        if (out[j] > out[best])
            best = j;
    if (logits)
        memcpy(logits, out, last->count);
    if (label)
        *label = (int)best;
    return SPARSE_OK;
}

SPARSE_API int sparse_qnet_input_shape(const sparse_qnet *q, size_t *channels, size_t *height, size_t *width)
{
    SPARSE__CHECK_NULL(q);
    if (channels)
        *channels = q->in_c;
    if (height)
        *height = q->in_h;
    if (width)
        *width = q->in_w;
    return SPARSE_OK;
}

SPARSE_API size_t sparse_qnet_class_count(const sparse_qnet *q) { return q ? q->classes : 0; }

SPARSE_API int sparse_exp_qnet_node_shape(const sparse_qnet *q, size_t id, size_t *channels, size_t *height,
                                          size_t *width)
{
    SPARSE__CHECK_NULL(q);
    if (id >= q->n)
        return sparse__error(SPARSE_ERANGE, "%s: no node %zu (the network has %zu)", __func__, id, q->n);
    if (channels)
        *channels = q->nodes[id].c;
    if (height)
        *height = q->nodes[id].h;
    if (width)
        *width = q->nodes[id].w;
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
