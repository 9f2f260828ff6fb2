/* sparse_net: allocation (once, at creation), initialisation,
 * introspection and the forward/backward dispatch over the node graph. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layers_internal.h"

#define NET_CONV_CACHE_CAP ((size_t)16 << 20) /* floats: 64 MB */

float *sparse__alloc_floats(size_t n)
{
    size_t bytes;
    if (sparse__mul_size(n ? n : 1, sizeof(float), &bytes) || bytes > SIZE_MAX - SPARSE__ALIGN) {
        sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu floats", n);
        return NULL;
    }
    bytes = (bytes + SPARSE__ALIGN - 1) / SPARSE__ALIGN * SPARSE__ALIGN;
    float *p = aligned_alloc(SPARSE__ALIGN, bytes);
    if (!p) {
        sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu floats", n);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

#define alloc_floats sparse__alloc_floats

/* He-uniform bound sqrt(6 / fan_in) suits the ReLU networks of the search
 * space; biases start at zero. The draw order (node by node, element by
 * element) is fixed, so a seed always gives the same weights. */
static void init_params(sparse__node *nd, sparse_rng *rng)
{
    for (size_t i = 0; i < nd->n_params; i++) {
        sparse__param *p = &nd->params[i];
        if (!strcmp(p->name, "weight")) {
            size_t fan_in = p->n / p->shape[0];
            float bound = (float)sqrt(6.0 / (double)fan_in);
            for (size_t j = 0; j < p->n; j++)
                p->w[j] = (float)((2.0 * sparse_rng_uniform(rng) - 1.0) * bound);
        } else if (!strcmp(p->name, "gamma") || !strcmp(p->name, "running_var")) {
            for (size_t j = 0; j < p->n; j++)
                p->w[j] = 1.0f;
        }
    }
}

/* Parameter tensors, gradients and optimiser state of one node. */
static int alloc_params(sparse__node *nd)
{
    for (size_t k = 0; k < nd->n_params; k++) {
        sparse__param *p = &nd->params[k];
        int rc = sparse_tensor_create(&p->value, p->ndim, p->shape);
        if (!rc)
            rc = sparse_tensor_create(&p->grad, p->ndim, p->shape);
        if (rc)
            return rc;
        p->w = sparse_tensor_data(p->value);
        p->g = sparse_tensor_data(p->grad);
        if (p->trainable) {
            p->m = alloc_floats(p->n);
            p->v = alloc_floats(p->n);
            if (!p->m || !p->v)
                return SPARSE_ENOMEM;
        }
    }
    return SPARSE_OK;
}

/* The buffers node nd's kind needs besides its activations; *work grows to
 * the shared scratch it needs, *cached counts kept im2col floats. */
static int alloc_kind_buffers(const sparse_net *net, sparse__node *nd, size_t *work, size_t *cached)
{
    const size_t max_batch = net->max_batch, act = nd->sz * max_batch;
    const sparse__node *in = nd->n_in ? &net->nodes[nd->in[0]] : NULL;
    size_t wk = 0;
    int rc = SPARSE_OK;
    switch (nd->kind) {
    case SPARSE_LAYER_CONV2D: {
        wk = sparse__conv_work(nd, in, max_batch);
        size_t cache = sparse__conv_cache(nd, in, max_batch);
        /* Kept im2col matrices save time, not correctness: past a
         * per-network total the later layers rebuild theirs. */
        if (cache && *cached + cache <= NET_CONV_CACHE_CAP) {
            if (!(nd->aux = alloc_floats(cache)))
                rc = SPARSE_ENOMEM;
            *cached += cache;
        }
        if (sparse__conv_packed(nd) && !(nd->wpk = alloc_floats(sparse__conv_packed(nd))))
            rc = SPARSE_ENOMEM;
        break;
    }
    case SPARSE_LAYER_BATCHNORM:
        nd->ch1 = alloc_floats(nd->c);
        nd->ch2 = alloc_floats(nd->c);
        if (!nd->ch1 || !nd->ch2)
            rc = SPARSE_ENOMEM;
        break;
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_INPUT_DOWNSAMPLE:
        if (in->sz * max_batch > (size_t)INT32_MAX)
            return sparse__error(SPARSE_ERANGE,
                                 "node '%s': %zu input values per batch are too many for pooling", nd->name,
                                 in->sz * max_batch);
        nd->idx = sparse__calloc(act ? act : 1, sizeof *nd->idx);
        if (!nd->idx)
            rc = SPARSE_ENOMEM;
        break;
    default:
        break;
    }
    if (wk > *work)
        *work = wk;
    return rc;
}

SPARSE_API int sparse_net_create(sparse_net **out, const sparse_arch *arch, size_t max_batch,
                                 uint64_t seed)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(arch);
    if (max_batch < 1 || max_batch > 65536)
        return sparse__error(SPARSE_ERANGE, "sparse_net_create: max_batch %zu, allowed 1..65536", max_batch);
    sparse_net *net = sparse__calloc(1, sizeof *net);
    if (!net)
        return SPARSE_ENOMEM;
    int rc = sparse_arch_clone(&net->arch, arch);
    if (!rc)
        rc = sparse__plan(arch, &net->nodes, &net->n_nodes);
    if (rc) {
        sparse_net_free(net);
        return rc;
    }
    net->max_batch = max_batch;
    net->classes = arch->classes;
    sparse__kern_select(&net->kern);
    sparse_rng *rng = NULL;
    rc = sparse_rng_create_stream(&rng, seed, 0x1a7e55);
    if (rc) {
        sparse_net_free(net);
        return rc;
    }
    size_t work = 1, cached = 0;
    for (size_t i = 0; i < net->n_nodes && !rc; i++) {
        sparse__node *nd = &net->nodes[i];
        nd->out = alloc_floats(nd->sz * max_batch);
        nd->dout = alloc_floats(nd->sz * max_batch);
        rc = !nd->out || !nd->dout ? SPARSE_ENOMEM : alloc_params(nd);
        if (rc)
            break;
        init_params(nd, rng);
        rc = alloc_kind_buffers(net, nd, &work, &cached);
        nd->need_dx = 1;
    }
    sparse_rng_free(rng);
    for (size_t i = 0; i < net->n_nodes; i++) {
        net->nodes[i].fuse_first = SIZE_MAX;
        for (size_t k = 0; k < net->nodes[i].n_in; k++)
            net->nodes[net->nodes[i].in[k]].readers++;
    }
    if (!rc) {
        net->work = alloc_floats(work);
        net->work_n = work;
        net->probs = alloc_floats(net->classes * max_batch);
        net->xin_grad = alloc_floats(net->nodes[0].sz * max_batch);
        net->node_s = sparse__calloc(2 * net->n_nodes, sizeof *net->node_s);
        net->img = sparse__calloc(max_batch, sizeof *net->img);
        if (!net->work || !net->probs || !net->xin_grad || !net->node_s || !net->img)
            rc = SPARSE_ENOMEM;
    }
    if (rc) {
        sparse_net_free(net);
        return rc;
    }
    net->want_input_grad = 1;
    *out = net;
    return SPARSE_OK;
}

SPARSE_API void sparse_net_free(sparse_net *net)
{
    if (!net)
        return;
    sparse__free_nodes(net->nodes, net->n_nodes);
    sparse_arch_free(net->arch);
    free(net->work);
    free(net->probs);
    free(net->xin_grad);
    free(net->node_s);
    free(net->img);
    free(net);
}

SPARSE_API const sparse_arch *sparse_net_arch(const sparse_net *net) { return net ? net->arch : NULL; }
SPARSE_API size_t sparse_net_max_batch(const sparse_net *net) { return net ? net->max_batch : 0; }
SPARSE_API size_t sparse_net_node_count(const sparse_net *net) { return net ? net->n_nodes : 0; }

static const sparse__node *get_node(const sparse_net *net, size_t id)
{
    return net && id < net->n_nodes ? &net->nodes[id] : NULL;
}

SPARSE_API int sparse_net_find_node(const sparse_net *net, const char *name, size_t *id)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(name);
    SPARSE__CHECK_NULL(id);
    for (size_t i = 0; i < net->n_nodes; i++)
        if (!strcmp(net->nodes[i].name, name)) {
            *id = i;
            return SPARSE_OK;
        }
    return sparse__error(SPARSE_ENOTFOUND, "sparse_net_find_node: no node named '%s'", name);
}

#define NODE_OR_ERROR(nd, net, id)                                                                           \
    const sparse__node *nd = get_node(net, id);                                                              \
    if (!nd)                                                                                                 \
        return sparse__error(net ? SPARSE_ERANGE : SPARSE_EINVAL, "%s: no node %zu", __func__, id);

SPARSE_API int sparse_net_node_kind(const sparse_net *net, size_t id)
{
    NODE_OR_ERROR(nd, net, id);
    return nd->kind;
}

SPARSE_API const char *sparse_net_node_name(const sparse_net *net, size_t id)
{
    const sparse__node *nd = get_node(net, id);
    return nd ? nd->name : NULL;
}

SPARSE_API size_t sparse_net_node_layer(const sparse_net *net, size_t id)
{
    const sparse__node *nd = get_node(net, id);
    return nd ? nd->layer : SIZE_MAX;
}

SPARSE_API size_t sparse_net_node_input_count(const sparse_net *net, size_t id)
{
    const sparse__node *nd = get_node(net, id);
    return nd ? nd->n_in : 0;
}

SPARSE_API int sparse_net_node_input(const sparse_net *net, size_t id, size_t k, size_t *input_id)
{
    NODE_OR_ERROR(nd, net, id);
    SPARSE__CHECK_NULL(input_id);
    if (k >= nd->n_in)
        return sparse__error(SPARSE_ERANGE, "sparse_net_node_input: node '%s' has %zu inputs", nd->name,
                             nd->n_in);
    *input_id = nd->in[k];
    return SPARSE_OK;
}

SPARSE_API int sparse_net_node_shape(const sparse_net *net, size_t id, size_t *c, size_t *h, size_t *w)
{
    NODE_OR_ERROR(nd, net, id);
    if (c)
        *c = nd->c;
    if (h)
        *h = nd->h;
    if (w)
        *w = nd->w;
    return SPARSE_OK;
}

SPARSE__STRUCT_VERSIONS(node_info_versions, sparse_node_info, SPARSE_NODE_INFO_INIT, SPARSE_NODE_INFO_VERSION,
                        sizeof(sparse_node_info));

SPARSE_API int sparse_net_node_info(const sparse_net *net, size_t id, sparse_node_info *info)
{
    NODE_OR_ERROR(nd, net, id);
    sparse_node_info cur = SPARSE_NODE_INFO_INIT;
    const sparse__node *in = nd->n_in ? &net->nodes[nd->in[0]] : nd;
    cur.kind = nd->kind;
    cur.in_c = in->c;
    cur.in_h = in->h;
    cur.in_w = in->w;
    cur.out_c = nd->c;
    cur.out_h = nd->h;
    cur.out_w = nd->w;
    cur.kernel = nd->k;
    cur.stride = nd->stride;
    cur.pad_top = nd->pt;
    cur.pad_left = nd->pl;
    cur.pad_bottom = nd->pb;
    cur.pad_right = nd->pr;
    cur.groups = nd->groups;
    cur.depth_rate = nd->depth_rate;
    cur.merge = nd->merge;
    cur.has_bias = nd->bias;
    return sparse__struct_write(&node_info_versions, info, &cur, "sparse_net_node_info");
}

SPARSE_API size_t sparse_net_param_count(const sparse_net *net, size_t id)
{
    const sparse__node *nd = get_node(net, id);
    return nd ? nd->n_params : 0;
}

SPARSE_API const char *sparse_net_param_name(const sparse_net *net, size_t id, size_t k)
{
    const sparse__node *nd = get_node(net, id);
    return nd && k < nd->n_params ? nd->params[k].name : NULL;
}

SPARSE_API int sparse_net_param_trainable(const sparse_net *net, size_t id, size_t k)
{
    const sparse__node *nd = get_node(net, id);
    return nd && k < nd->n_params ? nd->params[k].trainable : 0;
}

static int param_lookup(sparse_net *net, size_t id, const char *name, sparse__param **out, const char *fn)
{
    if (!net || !name)
        return sparse__error(SPARSE_EINVAL, "%s: NULL argument", fn);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "%s: no node %zu", fn, id);
    *out = sparse__find_param(&net->nodes[id], name);
    if (!*out)
        return sparse__error(SPARSE_ENOTFOUND, "%s: node '%s' has no parameter '%s'", fn,
                             net->nodes[id].name, name);
    return SPARSE_OK;
}

static int view_of(sparse_tensor **out, sparse_tensor *t, const sparse__param *p)
{
    return sparse_tensor_reshape(out, t, p->ndim, p->shape);
}

SPARSE_API int sparse_net_param(sparse_tensor **out, sparse_net *net, size_t id, const char *name)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse__param *p;
    int rc = param_lookup(net, id, name, &p, "sparse_net_param");
    return rc ? rc : view_of(out, p->value, p);
}

SPARSE_API int sparse_net_param_grad(sparse_tensor **out, sparse_net *net, size_t id, const char *name)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    sparse__param *p;
    int rc = param_lookup(net, id, name, &p, "sparse_net_param_grad");
    return rc ? rc : view_of(out, p->grad, p);
}

SPARSE_API int sparse_net_set_mask(sparse_net *net, size_t id, const char *name, const sparse_tensor *mask)
{
    sparse__param *p;
    int rc = param_lookup(net, id, name, &p, "sparse_net_set_mask");
    if (rc)
        return rc;
    if (!mask) {
        free(p->mask);
        p->mask = NULL;
        return SPARSE_OK;
    }
    if (sparse_tensor_element_count(mask) != p->n || sparse_tensor_dim_count(mask) != p->ndim)
        return sparse__error(SPARSE_ESHAPE, "sparse_net_set_mask: mask of %zu values for '%s.%s' of %zu",
                             sparse_tensor_element_count(mask), net->nodes[id].name, name, p->n);
    for (int i = 0; i < p->ndim; i++)
        if (sparse_tensor_dim(mask, i) != p->shape[i])
            return sparse__error(SPARSE_ESHAPE, "sparse_net_set_mask: mask shape differs from '%s.%s'",
                                 net->nodes[id].name, name);
    float *m = p->mask ? p->mask : alloc_floats(p->n);
    if (!m)
        return SPARSE_ENOMEM;
    sparse_tensor *c = NULL;
    rc = sparse_tensor_clone(&c, mask);
    if (rc) {
        if (!p->mask)
            free(m);
        return rc;
    }
    const float *src = sparse_tensor_data_const(c);
    for (size_t j = 0; j < p->n; j++) {
        m[j] = src[j] != 0.0f ? 1.0f : 0.0f;
        p->w[j] *= m[j];
    }
    sparse_tensor_free(c);
    p->mask = m;
    return SPARSE_OK;
}

static int counts_as_weight(const sparse__param *p) { return p->trainable && !p->posterior; }

SPARSE_API size_t sparse_net_weight_count(const sparse_net *net)
{
    size_t t = 0;
    for (size_t i = 0; net && i < net->n_nodes; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++)
            if (counts_as_weight(&net->nodes[i].params[k]))
                t += net->nodes[i].params[k].n;
    return t;
}

SPARSE_API size_t sparse_net_nonzero_count(const sparse_net *net)
{
    size_t t = 0;
    for (size_t i = 0; net && i < net->n_nodes; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++) {
            const sparse__param *p = &net->nodes[i].params[k];
            if (counts_as_weight(p))
                for (size_t j = 0; j < p->n; j++)
                    t += p->w[j] != 0.0f;
        }
    return t;
}

/* ---- Forward and backward ---- */

/* Images go in and out of the (C, H, W, N) layout a block of images at a
 * time: each of the block's images is read (or written) sequentially while
 * the block's pixels are written (or read) as contiguous runs. */
#define IMAGE_BLOCK 16

void sparse__images_in(float *dst, const float *const *img, size_t n, size_t f)
{
    for (size_t i0 = 0; i0 < n; i0 += IMAGE_BLOCK) {
        const size_t nb = n - i0 < IMAGE_BLOCK ? n - i0 : IMAGE_BLOCK;
        for (size_t j = 0; j < f; j++)
            for (size_t b = 0; b < nb; b++)
                dst[j * n + i0 + b] = img[i0 + b][j];
    }
}

/* dst (N, F) from (F, N) src. */
static void images_out(float *dst, const float *src, size_t n, size_t f)
{
    for (size_t i0 = 0; i0 < n; i0 += IMAGE_BLOCK) {
        const size_t nb = n - i0 < IMAGE_BLOCK ? n - i0 : IMAGE_BLOCK;
        for (size_t j = 0; j < f; j++)
            for (size_t b = 0; b < nb; b++)
                dst[(i0 + b) * f + j] = src[j * n + i0 + b];
    }
}

void sparse__net_set_input(sparse_net *net, const float *x, size_t n)
{
    sparse__node *in = &net->nodes[0];
    for (size_t i = 0; i < n; i++)
        net->img[i] = x + i * in->sz;
    sparse__images_in(in->out, net->img, n, in->sz);
}

int sparse__dx_accumulate(sparse_net *net, sparse__node *in)
{
    (void)net;
    if (in->dout_ready)
        return 1;
    in->dout_ready = 1;
    return 0;
}

void sparse__dx_zero(sparse_net *net, sparse__node *in)
{
    if (in->dout_ready)
        return;
    memset(in->dout, 0, in->sz * net->batch * sizeof(float));
    in->dout_ready = 1;
}

double sparse__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_hook(sparse_net *net, size_t id, int backward)
{
    sparse__node *nd = &net->nodes[id];
    sparse__node *in = &net->nodes[nd->in[0]];
    sparse_exp_node_ctx ctx = {net->batch, in->out, nd->need_dx ? in->dout : NULL, nd->out, nd->dout, net->train};
    double t0 = net->prof ? sparse__now() : 0.0;
    int rc = (backward ? nd->hook_bwd : nd->hook_fwd)(nd->hook_user, net, id, &ctx);
    if (net->prof)
        net->node_s[2 * id + (backward ? 1 : 0)] += sparse__now() - t0;
    if (rc)
        return sparse__error_prefix(rc, "node '%s': %s hook", nd->name, backward ? "backward" : "forward");
    return SPARSE_OK;
}

static int run_kernel(sparse_net *net, size_t i, int backward)
{
    sparse__node *nd = &net->nodes[i];
    const sparse__kind_info *k = sparse__kind(nd->kind);
    sparse__kernel_fn fn = k ? (backward ? k->backward : k->forward) : NULL;
    if (!fn && !backward)
        return sparse__error(SPARSE_EINTERNAL, "node '%s': kind %d has no forward", nd->name, nd->kind);
    double t0 = net->prof ? sparse__now() : 0.0;
    if (fn)
        fn(net, nd);
    if (net->prof)
        net->node_s[2 * i + (backward ? 1 : 0)] += sparse__now() - t0;
    return SPARSE_OK;
}

/* Marks the fused groups of this pass (fuse: where sparse__fused_len finds
 * them; else none). */
static void plan_groups(sparse_net *net, int fuse)
{
    for (size_t i = 1; i < net->n_nodes; i++) {
        net->nodes[i].fused = 0;
        net->nodes[i].fuse_first = SIZE_MAX;
        net->nodes[i].stale = 0;
    }
    for (size_t i = 1; fuse && i < net->n_nodes; i++) {
        const size_t len = sparse__fused_len(net, i);
        if (len < 2)
            continue;
        net->nodes[i].fused = len;
        for (size_t j = i; j < i + len; j++) {
            net->nodes[j].fuse_first = i;
            net->nodes[j].stale = j + 1 < i + len;
        }
        i += len - 1;
    }
}

int sparse__net_forward_raw(sparse_net *net, size_t n, int train, int fuse)
{
    net->batch = n;
    net->train = train;
    net->threads = sparse_thread_count();
    plan_groups(net, fuse);
    double t0 = net->prof ? sparse__now() : 0.0;
    for (size_t i = 1; i < net->n_nodes; i++) {
        sparse__node *nd = &net->nodes[i];
        int rc = SPARSE_OK;
        if (nd->hook_fwd)
            rc = run_hook(net, i, 0);
        else if (nd->fused) {
            double tn = net->prof ? sparse__now() : 0.0;
            sparse__fused_forward(net, i, nd->fused);
            if (net->prof)
                net->node_s[2 * i] += sparse__now() - tn;
            i += nd->fused - 1;
        } else
            rc = run_kernel(net, i, 0);
        if (rc)
            return rc;
    }
    /* sparse_net_backward needs every node's output */
    net->forward_done = !fuse;
    if (net->prof)
        net->pr.forward_seconds += sparse__now() - t0;
    return SPARSE_OK;
}

int sparse__net_backward_raw(sparse_net *net)
{
    double t0 = net->prof ? sparse__now() : 0.0;
    for (size_t i = 0; i + 1 < net->n_nodes; i++)
        net->nodes[i].dout_ready = 0;
    net->nodes[net->n_nodes - 1].dout_ready = 1;
    /* a node's output gradient is wanted when the node or a node it reads
     * has trainable parameters, or it reads the input and the input's
     * gradient is wanted */
    net->nodes[0].wants_grad = net->want_input_grad;
    for (size_t i = 1; i < net->n_nodes; i++) {
        sparse__node *nd = &net->nodes[i];
        nd->need_dx = 0;
        for (size_t k = 0; k < nd->n_in; k++)
            if (net->nodes[nd->in[k]].wants_grad)
                nd->need_dx = 1;
        nd->wants_grad = nd->need_dx;
        for (size_t k = 0; k < nd->n_params; k++)
            if (nd->params[k].trainable)
                nd->wants_grad = 1;
    }
    for (size_t i = net->n_nodes - 1; i >= 1; i--) {
        sparse__node *nd = &net->nodes[i];
        if (!nd->wants_grad)
            continue;
        if (!nd->dout_ready) /* a dead end: nothing downstream uses it */
            sparse__dx_zero(net, nd);
        int rc = SPARSE_OK;
        if (nd->hook_bwd) {
            for (size_t k = 0; k < nd->n_in; k++)
                sparse__dx_zero(net, &net->nodes[nd->in[k]]);
            rc = run_hook(net, i, 1);
        } else if (nd->fuse_first != SIZE_MAX) {
            /* the group's last node: the whole group, back to its producer */
            const size_t first = nd->fuse_first;
            double tn = net->prof ? sparse__now() : 0.0;
            sparse__fused_backward(net, first, i - first + 1);
            if (net->prof)
                net->node_s[2 * first + 1] += sparse__now() - tn;
            i = first;
        } else
            rc = run_kernel(net, i, 1);
        if (rc)
            return rc;
    }
    if (net->prof) {
        net->pr.backward_seconds += sparse__now() - t0;
        net->pr.steps++;
    }
    return SPARSE_OK;
}

static int check_input(const sparse_net *net, const sparse_tensor *x, const char *fn)
{
    const sparse__node *in = &net->nodes[0];
    if (sparse_tensor_dim_count(x) != 4 || sparse_tensor_dim(x, 1) != in->c ||
        sparse_tensor_dim(x, 2) != in->h || sparse_tensor_dim(x, 3) != in->w)
        return sparse__error(SPARSE_ESHAPE, "%s: input must be (N, %zu, %zu, %zu)", fn, in->c, in->h, in->w);
    if (sparse_tensor_dim(x, 0) > net->max_batch)
        return sparse__error(SPARSE_ESHAPE, "%s: batch of %zu images, the network was built for %zu", fn,
                             sparse_tensor_dim(x, 0), net->max_batch);
    if (!sparse_tensor_is_contiguous(x))
        return sparse__error(SPARSE_EINVAL, "%s: input must be contiguous", fn);
    return SPARSE_OK;
}

SPARSE_API int sparse_net_forward(sparse_net *net, const sparse_tensor *x, int train, sparse_tensor *logits)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(x);
    int rc = check_input(net, x, "sparse_net_forward");
    if (rc)
        return rc;
    size_t n = sparse_tensor_dim(x, 0);
    if (logits &&
        (sparse_tensor_element_count(logits) != n * net->classes || !sparse_tensor_is_contiguous(logits)))
        return sparse__error(SPARSE_ESHAPE, "sparse_net_forward: logits must be a contiguous (%zu, %zu) tensor",
                             n, net->classes);
    sparse__net_set_input(net, sparse_tensor_data_const(x), n);
    rc = sparse__net_forward_raw(net, n, train ? 1 : 0, 0);
    if (rc)
        return rc;
    if (logits) {
        const float *o = net->nodes[net->n_nodes - 1].out;
        float *l = sparse_tensor_data(logits);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < net->classes; k++)
                l[i * net->classes + k] = o[k * n + i];
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_net_backward(sparse_net *net, const int32_t *labels, float label_smoothing, double *loss)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(labels);
    if (!net->forward_done)
        return sparse__error(SPARSE_EINVAL, "sparse_net_backward: no forward pass to differentiate");
    if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
        return sparse__error(SPARSE_ERANGE, "sparse_net_backward: label smoothing %g outside [0, 1)",
                             (double)label_smoothing);
    double l = 0;
    int rc = sparse__loss(net, labels, label_smoothing, &l);
    if (loss)
        *loss = l;
    if (rc)
        return rc;
    net->want_input_grad = 1;
    rc = sparse__net_backward_raw(net);
    if (rc)
        return rc;
    images_out(net->xin_grad, net->nodes[0].dout, net->batch, net->nodes[0].sz);
    return SPARSE_OK;
}

SPARSE_API int sparse_net_input_grad(sparse_tensor **out, sparse_net *net)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    if (!net->batch)
        return sparse__error(SPARSE_EINVAL, "sparse_net_input_grad: no backward pass yet");
    const sparse__node *in = &net->nodes[0];
    size_t shape[4] = {net->batch, in->c, in->h, in->w};
    return sparse_tensor_from_data(out, 4, shape, net->xin_grad);
}

SPARSE_API int sparse_net_node_output(sparse_tensor **out, sparse_net *net, size_t id)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_net_node_output: no node %zu", id);
    if (!net->batch)
        return sparse__error(SPARSE_EINVAL, "sparse_net_node_output: no forward pass yet");
    const sparse__node *nd = &net->nodes[id];
    if (nd->stale)
        return sparse__error(SPARSE_EINVAL,
                             "sparse_net_node_output: node '%s' was computed inside a fused kernel by the last "
                             "pass (training or evaluation); run sparse_net_forward first",
                             nd->name);
    int rc = sparse_tensor_create_nchw(out, net->batch, nd->c, nd->h, nd->w);
    if (rc)
        return rc;
    images_out(sparse_tensor_data(*out), nd->out, net->batch, nd->sz);
    return SPARSE_OK;
}
