/* Shape inference: turns an architecture into the node graph, checking
 * every shape before anything big is allocated. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers_internal.h"

int sparse__layer_error(const sparse_arch *arch, size_t layer, int code, const char *fmt, ...)
{
    char ctx[512];
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sparse__error(code, "%s: %s", sparse__arch_layer_label(arch, layer, ctx, sizeof ctx), msg);
}

void sparse__param_free(sparse__param *p)
{
    free(p->name);
    sparse_tensor_free(p->value);
    sparse_tensor_free(p->grad);
    free(p->m);
    free(p->v);
    free(p->mask);
}

static void free_node(sparse__node *nd)
{
    free(nd->name);
    for (size_t i = 0; i < nd->n_params; i++)
        sparse__param_free(&nd->params[i]);
    free(nd->params);
    free(nd->out);
    free(nd->dout);
    free(nd->aux);
    free(nd->wpk);
    free(nd->ch1);
    free(nd->ch2);
    free(nd->idx);
    sparse__var_free(nd->var);
}

void sparse__free_nodes(sparse__node *nodes, size_t n)
{
    if (!nodes)
        return;
    for (size_t i = 0; i < n; i++)
        free_node(&nodes[i]);
    free(nodes);
}

sparse__param *sparse__find_param(sparse__node *nd, const char *name)
{
    for (size_t i = 0; i < nd->n_params; i++)
        if (!strcmp(nd->params[i].name, name))
            return &nd->params[i];
    return NULL;
}

typedef struct planner {
    const sparse_arch *arch;
    sparse__node *nodes;
    size_t n, cap;
} planner;

static sparse__node *new_node(planner *p, int kind, const char *name, const char *suffix, size_t layer)
{
    if (sparse__grow(&p->nodes, &p->cap, p->n, sizeof *p->nodes, 16))
        return NULL;
    sparse__node *nd = &p->nodes[p->n];
    memset(nd, 0, sizeof *nd);
    size_t len = strlen(name) + (suffix ? strlen(suffix) : 0) + 1;
    nd->name = sparse__malloc(len);
    if (!nd->name)
        return NULL;
    snprintf(nd->name, len, "%s%s", name, suffix ? suffix : "");
    nd->kind = kind;
    nd->layer = layer;
    nd->stride = 1;
    nd->groups = 1;
    nd->depth_rate = 1;
    p->n++;
    return nd;
}

static int add_param(sparse__node *nd, const char *name, int ndim, size_t d0, size_t d1, size_t d2, size_t d3,
                     int trainable, int decay)
{
    sparse__param *ps = sparse__realloc(nd->params, (nd->n_params + 1) * sizeof *ps);
    if (!ps)
        return SPARSE_ENOMEM;
    nd->params = ps;
    sparse__param *pp = &ps[nd->n_params];
    memset(pp, 0, sizeof *pp);
    pp->name = sparse__strdup(name);
    if (!pp->name)
        return SPARSE_ENOMEM;
    nd->n_params++;
    pp->ndim = ndim;
    size_t d[4] = {d0, d1, d2, d3};
    pp->n = 1;
    for (int i = 0; i < ndim; i++) {
        pp->shape[i] = d[i];
        pp->n *= d[i];
    }
    pp->trainable = trainable;
    pp->decay = decay;
    return SPARSE_OK;
}

/* Output side for a convolution; 0 when the output would be empty. */
static size_t conv_out(size_t in, size_t k, size_t s, int same, size_t *pad_lo, size_t *pad_hi)
{
    if (same) {
        size_t out = (in + s - 1) / s;
        size_t need = (out - 1) * s + k;
        size_t total = need > in ? need - in : 0;
        *pad_lo = total / 2;
        *pad_hi = total - total / 2;
        return out;
    }
    *pad_lo = *pad_hi = 0;
    return in < k ? 0 : (in - k) / s + 1;
}

/* Conv node reading `src`; checks that the output is not empty. */
static int make_conv(planner *p, size_t layer, const char *name, const char *suffix, size_t src,
                     size_t filters, size_t k, size_t stride, int same, int bias, int depthwise,
                     size_t *out_id)
{
    const sparse__node *in = &p->nodes[src];
    size_t ih = in->h, iw = in->w, ic = in->c;
    size_t pt, pb, pl, pr;
    size_t oh = conv_out(ih, k, stride, same, &pt, &pb);
    size_t ow = conv_out(iw, k, stride, same, &pl, &pr);
    if (!oh || !ow)
        return sparse__layer_error(p->arch, layer, SPARSE_ESHAPE,
                                   "kernel %zux%zu is larger than its %zux%zu input from '%s' (use "
                                   "padding: same or a smaller kernel)",
                                   k, k, ih, iw, in->name);
    sparse__node *nd =
        new_node(p, depthwise ? SPARSE_LAYER_DEPTHWISE_CONV2D : SPARSE_LAYER_CONV2D, name, suffix, layer);
    if (!nd)
        return SPARSE_ENOMEM;
    nd->n_in = 1;
    nd->in[0] = src;
    nd->c = depthwise ? ic : filters;
    nd->h = oh;
    nd->w = ow;
    nd->k = k;
    nd->stride = stride;
    nd->pt = pt;
    nd->pb = pb;
    nd->pl = pl;
    nd->pr = pr;
    nd->groups = depthwise ? ic : 1;
    nd->bias = bias;
    int rc = add_param(nd, "weight", 4, nd->c, depthwise ? 1 : ic, k, k, 1, 1);
    if (!rc && bias)
        rc = add_param(nd, "bias", 1, nd->c, 1, 1, 1, 1, 0);
    *out_id = p->n - 1;
    return rc;
}

static int same_shape(const sparse__node *a, const sparse__node *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w;
}

/* Node ids of layer li's inputs: the named layers' outputs, or the previous
 * layer's; a residual with one input adds it to the previous layer. */
static int resolve_inputs(const planner *p, size_t li, const size_t *layer_out, size_t *src, size_t *nsrc)
{
    const sparse_arch *arch = p->arch;
    const sparse__arch_layer *L = &arch->layers[li];
    const size_t prev = li == 0 ? 0 : layer_out[li - 1];
    *nsrc = L->s.input_count;
    if (*nsrc == 0) {
        src[0] = prev;
        *nsrc = 1;
    }
    for (size_t i = 0; i < L->s.input_count; i++) {
        const char *nm = L->inputs[i];
        if (!strcmp(nm, "input")) {
            src[i] = 0;
            continue;
        }
        size_t j = 0;
        while (j < li && strcmp(arch->layers[j].name, nm))
            j++;
        if (j < li) {
            src[i] = layer_out[j];
            continue;
        }
        for (j = li; j < arch->n; j++)
            if (!strcmp(arch->layers[j].name, nm))
                return sparse__layer_error(arch, li, SPARSE_EINVAL,
                                           "input '%s' is defined later; layers may only read earlier layers",
                                           nm);
        return sparse__layer_error(arch, li, SPARSE_ENOTFOUND, "unknown input '%s'", nm);
    }
    if (L->s.kind == SPARSE_LAYER_RESIDUAL && L->s.input_count == 1) {
        src[1] = src[0];
        src[0] = prev;
        *nsrc = 2;
    }
    if (*nsrc > 1 && L->s.kind != SPARSE_LAYER_MERGE && L->s.kind != SPARSE_LAYER_RESIDUAL)
        return sparse__layer_error(arch, li, SPARSE_EINVAL, "a %s layer takes one input, %zu given",
                                   sparse_layer_kind_name(L->s.kind), *nsrc);
    return SPARSE_OK;
}

/* A node of `kind` reading src alone, shaped like it until the caller says
 * otherwise. */
static sparse__node *new_unary(planner *p, int kind, size_t li, size_t src)
{
    sparse__node *nd = new_node(p, kind, p->arch->layers[li].name, NULL, li);
    if (!nd)
        return NULL;
    const sparse__node *in = &p->nodes[src];
    nd->n_in = 1;
    nd->in[0] = src;
    nd->c = in->c;
    nd->h = in->h;
    nd->w = in->w;
    return nd;
}

static int plan_conv(planner *p, size_t li, size_t src, size_t *id)
{
    const sparse__arch_layer *L = &p->arch->layers[li];
    const sparse_layer_spec *s = &L->s;
    const size_t stride = s->stride ? s->stride : 1;
    const int same = s->padding == SPARSE_PAD_SAME;
    switch (s->kind) {
    case SPARSE_LAYER_CONV2D:
        return make_conv(p, li, L->name, NULL, src, s->filters, s->kernel, stride, same, s->bias, 0, id);
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
        return make_conv(p, li, L->name, NULL, src, 0, s->kernel, stride, same, s->bias, 1, id);
    case SPARSE_LAYER_DOWNSAMPLED_CONV2D: {
        const double r = floor(s->rate * (double)p->nodes[src].c + 0.5);
        const size_t mid = r < 1.0 ? 1 : (size_t)r;
        int rc = make_conv(p, li, L->name, "/reduce", src, mid, 1, 1, 0, s->bias, 0, id);
        return rc ? rc
                  : make_conv(p, li, L->name, NULL, *id, s->filters, s->kernel, stride, same, s->bias, 0, id);
    }
    default: { /* separable */
        int rc = make_conv(p, li, L->name, "/dw", src, 0, s->kernel, stride, same, 0, 1, id);
        return rc ? rc : make_conv(p, li, L->name, NULL, *id, s->filters, 1, 1, 0, s->bias, 0, id);
    }
    }
}

/* Max and average pools, and input downsampling (a max pool over size x size
 * pixels and depth_rate channels). */
static int plan_pool(planner *p, size_t li, size_t src, size_t *id)
{
    const sparse_layer_spec *s = &p->arch->layers[li].s;
    const int down = s->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE;
    const size_t k = s->size, st = down ? k : (s->stride ? s->stride : k), dr = down ? s->depth_rate : 1;
    const sparse__node *in = &p->nodes[src];
    if (in->h < k || in->w < k)
        return sparse__layer_error(
            p->arch, li, SPARSE_ESHAPE,
            "window %zux%zu is larger than its %zux%zu input from '%s': the output would "
            "be empty",
            k, k, in->h, in->w, in->name);
    if (in->c < dr)
        return sparse__layer_error(
            p->arch, li, SPARSE_ESHAPE,
            "depth rate %zu is larger than the %zu channels of '%s': the output would be "
            "empty",
            dr, in->c, in->name);
    sparse__node *nd = new_unary(p, s->kind, li, src);
    if (!nd)
        return SPARSE_ENOMEM;
    nd->k = k;
    nd->stride = st;
    nd->depth_rate = dr;
    nd->c /= dr;
    nd->h = (nd->h - k) / st + 1;
    nd->w = (nd->w - k) / st + 1;
    *id = p->n - 1;
    return SPARSE_OK;
}

static int plan_elementwise(planner *p, size_t li, size_t src, size_t *id)
{
    const int kind = p->arch->layers[li].s.kind;
    sparse__node *nd = new_unary(p, kind, li, src);
    if (!nd)
        return SPARSE_ENOMEM;
    *id = p->n - 1;
    if (kind != SPARSE_LAYER_BATCHNORM)
        return SPARSE_OK;
    int rc = add_param(nd, "gamma", 1, nd->c, 1, 1, 1, 1, 0);
    if (!rc)
        rc = add_param(nd, "beta", 1, nd->c, 1, 1, 1, 1, 0);
    if (!rc)
        rc = add_param(nd, "running_mean", 1, nd->c, 1, 1, 1, 0, 0);
    if (!rc)
        rc = add_param(nd, "running_var", 1, nd->c, 1, 1, 1, 0, 0);
    return rc;
}

static int plan_fc(planner *p, size_t li, size_t src, size_t *id)
{
    const sparse_layer_spec *s = &p->arch->layers[li].s;
    const size_t fin = p->nodes[src].c * p->nodes[src].h * p->nodes[src].w;
    sparse__node *nd = new_unary(p, SPARSE_LAYER_FC, li, src);
    if (!nd)
        return SPARSE_ENOMEM;
    nd->c = s->units;
    nd->h = nd->w = 1;
    nd->bias = s->bias;
    *id = p->n - 1;
    if (fin > ((size_t)1 << 31) / s->units)
        return sparse__layer_error(p->arch, li, SPARSE_ERANGE, "%zu x %zu weights is too many", fin,
                                   s->units);
    int rc = add_param(nd, "weight", 2, s->units, fin, 1, 1, 1, 1);
    if (!rc && s->bias)
        rc = add_param(nd, "bias", 1, s->units, 1, 1, 1, 1, 0);
    return rc;
}

/* The sum of a and b, b first projected by a strided 1x1 convolution when
 * the shapes differ. */
static int plan_residual(planner *p, size_t li, size_t a, size_t b, size_t *id)
{
    if (!same_shape(&p->nodes[a], &p->nodes[b])) {
        const sparse__node *na = &p->nodes[a], *nb = &p->nodes[b];
        size_t st = 0;
        for (size_t t = 1; t <= nb->h && t <= nb->w && !st; t++)
            if ((nb->h + t - 1) / t == na->h && (nb->w + t - 1) / t == na->w)
                st = t;
        if (!st)
            return sparse__layer_error(
                p->arch, li, SPARSE_ESHAPE,
                "cannot project '%s' (%zux%zux%zu) onto '%s' (%zux%zux%zu) with a strided "
                "1x1 convolution",
                nb->name, nb->c, nb->h, nb->w, na->name, na->c, na->h, na->w);
        int rc = make_conv(p, li, p->arch->layers[li].name, "/proj", b, na->c, 1, st, 1, 0, 0, &b);
        if (rc)
            return rc;
    }
    sparse__node *nd = new_unary(p, SPARSE_LAYER_MERGE, li, a);
    if (!nd)
        return SPARSE_ENOMEM;
    nd->n_in = 2;
    nd->in[1] = b;
    nd->merge = SPARSE_MERGE_SUM;
    *id = p->n - 1;
    return SPARSE_OK;
}

static int plan_merge(planner *p, size_t li, const size_t *src, size_t nsrc, size_t *id)
{
    const sparse_layer_spec *s = &p->arch->layers[li].s;
    size_t c = 0;
    for (size_t i = 0; i < nsrc; i++) {
        const sparse__node *a = &p->nodes[src[0]], *b = &p->nodes[src[i]];
        for (size_t j = 0; j < i; j++)
            if (src[j] == src[i])
                return sparse__layer_error(p->arch, li, SPARSE_EINVAL, "input '%s' is listed twice", b->name);
        if (s->merge == SPARSE_MERGE_SUM && !same_shape(a, b))
            return sparse__layer_error(p->arch, li, SPARSE_ESHAPE,
                                       "cannot sum '%s' (%zux%zux%zu) and '%s' (%zux%zux%zu): shapes differ",
                                       a->name, a->c, a->h, a->w, b->name, b->c, b->h, b->w);
        if (s->merge == SPARSE_MERGE_CONCAT && (a->h != b->h || a->w != b->w))
            return sparse__layer_error(
                p->arch, li, SPARSE_ESHAPE,
                "cannot concatenate '%s' (%zux%zu) and '%s' (%zux%zu): spatial sizes differ", a->name, a->h,
                a->w, b->name, b->h, b->w);
        c += b->c;
    }
    sparse__node *nd = new_unary(p, SPARSE_LAYER_MERGE, li, src[0]);
    if (!nd)
        return SPARSE_ENOMEM;
    nd->n_in = nsrc;
    memcpy(nd->in, src, nsrc * sizeof *src);
    nd->merge = s->merge;
    if (s->merge == SPARSE_MERGE_CONCAT)
        nd->c = c;
    *id = p->n - 1;
    return SPARSE_OK;
}

/* Adds the nodes of architecture layer li; layer_out[li] = its last node. */
static int plan_layer(planner *p, size_t li, size_t *layer_out)
{
    const sparse_arch *arch = p->arch;
    const int kind = arch->layers[li].s.kind;
    size_t src[SPARSE_LAYER_MAX_INPUTS] = {0}, nsrc = 0, id = 0;
    int rc = resolve_inputs(p, li, layer_out, src, &nsrc);
    if (rc)
        return rc;
    switch (kind) {
    case SPARSE_LAYER_CONV2D:
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
    case SPARSE_LAYER_DOWNSAMPLED_CONV2D:
    case SPARSE_LAYER_SEPARABLE_CONV2D:
        rc = plan_conv(p, li, src[0], &id);
        break;
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL:
    case SPARSE_LAYER_INPUT_DOWNSAMPLE:
        rc = plan_pool(p, li, src[0], &id);
        break;
    case SPARSE_LAYER_BATCHNORM:
    case SPARSE_LAYER_RELU:
        rc = plan_elementwise(p, li, src[0], &id);
        break;
    case SPARSE_LAYER_FC:
        rc = plan_fc(p, li, src[0], &id);
        break;
    case SPARSE_LAYER_RESIDUAL:
        rc = plan_residual(p, li, src[0], src[1], &id);
        break;
    case SPARSE_LAYER_MERGE:
        rc = plan_merge(p, li, src, nsrc, &id);
        break;
    default:
        return sparse__layer_error(arch, li, SPARSE_EINVAL, "unknown layer kind %d", kind);
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < p->n; i++)
        p->nodes[i].sz = p->nodes[i].c * p->nodes[i].h * p->nodes[i].w;
    if (p->nodes[id].sz > ((size_t)1 << 28))
        return sparse__layer_error(arch, li, SPARSE_ERANGE, "output of %zu values per image is too large",
                                   p->nodes[id].sz);
    layer_out[li] = id;
    return SPARSE_OK;
}

int sparse__plan(const sparse_arch *arch, sparse__node **nodes_out, size_t *n_out)
{
    *nodes_out = NULL;
    *n_out = 0;
    planner p = {arch, NULL, 0, 0};
    if (arch->n == 0)
        return sparse__error(SPARSE_EINVAL, "%s%sarchitecture has no layers", arch->source ? arch->source : "",
                             arch->source ? ": " : "");
    size_t *layer_out = sparse__calloc(arch->n, sizeof *layer_out);
    if (!layer_out)
        return SPARSE_ENOMEM;
    int rc = SPARSE_OK;
    sparse__node *in = new_node(&p, SPARSE_LAYER_INPUT, "input", NULL, SIZE_MAX);
    if (!in) {
        rc = SPARSE_ENOMEM;
        goto done;
    }
    in->c = arch->c;
    in->h = arch->h;
    in->w = arch->w;
    in->sz = in->c * in->h * in->w;
    for (size_t li = 0; li < arch->n && !rc; li++)
        rc = plan_layer(&p, li, layer_out);
    if (!rc) {
        const sparse__node *last = &p.nodes[p.n - 1];
        if (last->c != arch->classes || last->h != 1 || last->w != 1)
            rc = sparse__layer_error(arch, arch->n - 1, SPARSE_ESHAPE,
                                     "the last layer gives the logits and must output %zu values (classes) "
                                     "of shape %zux1x1, not %zux%zux%zu",
                                     arch->classes, arch->classes, last->c, last->h, last->w);
    }
done:
    free(layer_out);
    if (rc) {
        sparse__free_nodes(p.nodes, p.n);
        return rc;
    }
    *nodes_out = p.nodes;
    *n_out = p.n;
    return SPARSE_OK;
}
