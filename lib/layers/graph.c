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
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        sparse__node *nn = sparse__realloc(p->nodes, cap * sizeof *nn);
        if (!nn)
            return NULL;
        p->nodes = nn;
        p->cap = cap;
    }
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
    sparse__node *nd = new_node(p, depthwise ? SPARSE_LAYER_DEPTHWISE_CONV2D : SPARSE_LAYER_CONV2D, name,
                         suffix, layer);
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

static int plan_layer(planner *p, size_t li, size_t *layer_out)
{
    const sparse_arch *arch = p->arch;
    const sparse__arch_layer *L = &arch->layers[li];
    const sparse_layer_spec *s = &L->s;
    size_t src[SPARSE_LAYER_MAX_INPUTS];
    size_t nsrc = s->n_inputs;
    if (nsrc == 0) {
        src[0] = li == 0 ? 0 : layer_out[li - 1];
        nsrc = 1;
    } else {
        for (size_t i = 0; i < nsrc; i++) {
            const char *nm = L->inputs[i];
            if (!strcmp(nm, "input")) {
                src[i] = 0;
                continue;
            }
            size_t j;
            for (j = 0; j < li; j++)
                if (!strcmp(arch->layers[j].name, nm))
                    break;
            if (j == li) {
                for (j = li; j < arch->n; j++)
                    if (!strcmp(arch->layers[j].name, nm))
                        return sparse__layer_error(arch, li, SPARSE_EINVAL,
                                                   "input '%s' is defined later; layers may only read "
                                                   "earlier layers",
                                                   nm);
                return sparse__layer_error(arch, li, SPARSE_ENOTFOUND, "unknown input '%s'", nm);
            }
            src[i] = layer_out[j];
        }
    }
    if (s->kind == SPARSE_LAYER_RESIDUAL && s->n_inputs == 1) {
        src[1] = src[0];
        src[0] = li == 0 ? 0 : layer_out[li - 1];
        nsrc = 2;
    }
    if (nsrc > 1 && s->kind != SPARSE_LAYER_MERGE && s->kind != SPARSE_LAYER_RESIDUAL)
        return sparse__layer_error(arch, li, SPARSE_EINVAL, "a %s layer takes one input, %zu given",
                                   sparse_layer_kind_name(s->kind), nsrc);
    const sparse__node *in = &p->nodes[src[0]];
    size_t stride = s->stride ? s->stride : 1;
    size_t id = 0;
    int rc = SPARSE_OK;
    int same = s->padding == SPARSE_PAD_SAME;
    switch (s->kind) {
    case SPARSE_LAYER_CONV2D:
        rc = make_conv(p, li, L->name, NULL, src[0], s->filters, s->kernel, stride, same, s->bias, 0, &id);
        break;
    case SPARSE_LAYER_DEPTHWISE_CONV2D:
        rc = make_conv(p, li, L->name, NULL, src[0], 0, s->kernel, stride, same, s->bias, 1, &id);
        break;
    case SPARSE_LAYER_DOWNSAMPLED_CONV2D: {
        double r = floor(s->rate * (double)in->c + 0.5);
        size_t mid = r < 1.0 ? 1 : (size_t)r;
        rc = make_conv(p, li, L->name, "/reduce", src[0], mid, 1, 1, 0, s->bias, 0, &id);
        if (!rc)
            rc = make_conv(p, li, L->name, NULL, id, s->filters, s->kernel, stride, same, s->bias, 0, &id);
        break;
    }
    case SPARSE_LAYER_SEPARABLE_CONV2D:
        rc = make_conv(p, li, L->name, "/dw", src[0], 0, s->kernel, stride, same, 0, 1, &id);
        if (!rc)
            rc = make_conv(p, li, L->name, NULL, id, s->filters, 1, 1, 0, s->bias, 0, &id);
        break;
    case SPARSE_LAYER_MAXPOOL:
    case SPARSE_LAYER_AVGPOOL:
    case SPARSE_LAYER_INPUT_DOWNSAMPLE: {
        size_t k = s->size;
        size_t st = s->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE ? k : (s->stride ? s->stride : k);
        size_t dr = s->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE ? s->depth_rate : 1;
        if (in->h < k || in->w < k)
            return sparse__layer_error(arch, li, SPARSE_ESHAPE,
                                       "window %zux%zu is larger than its %zux%zu input from '%s': the "
                                       "output would be empty",
                                       k, k, in->h, in->w, in->name);
        if (in->c < dr)
            return sparse__layer_error(arch, li, SPARSE_ESHAPE,
                                       "depth rate %zu is larger than the %zu channels of '%s': the "
                                       "output would be empty",
                                       dr, in->c, in->name);
        sparse__node *nd = new_node(p, s->kind, L->name, NULL, li);
        if (!nd)
            return SPARSE_ENOMEM;
        in = &p->nodes[src[0]];
        nd->n_in = 1;
        nd->in[0] = src[0];
        nd->k = k;
        nd->stride = st;
        nd->depth_rate = dr;
        nd->c = in->c / dr;
        nd->h = (in->h - k) / st + 1;
        nd->w = (in->w - k) / st + 1;
        id = p->n - 1;
        break;
    }
    case SPARSE_LAYER_BATCHNORM:
    case SPARSE_LAYER_RELU: {
        sparse__node *nd = new_node(p, s->kind, L->name, NULL, li);
        if (!nd)
            return SPARSE_ENOMEM;
        in = &p->nodes[src[0]];
        nd->n_in = 1;
        nd->in[0] = src[0];
        nd->c = in->c;
        nd->h = in->h;
        nd->w = in->w;
        if (s->kind == SPARSE_LAYER_BATCHNORM) {
            rc = add_param(nd, "gamma", 1, nd->c, 1, 1, 1, 1, 0);
            if (!rc)
                rc = add_param(nd, "beta", 1, nd->c, 1, 1, 1, 1, 0);
            if (!rc)
                rc = add_param(nd, "running_mean", 1, nd->c, 1, 1, 1, 0, 0);
            if (!rc)
                rc = add_param(nd, "running_var", 1, nd->c, 1, 1, 1, 0, 0);
        }
        id = p->n - 1;
        break;
    }
    case SPARSE_LAYER_FC: {
        size_t fin = in->c * in->h * in->w;
        sparse__node *nd = new_node(p, s->kind, L->name, NULL, li);
        if (!nd)
            return SPARSE_ENOMEM;
        nd->n_in = 1;
        nd->in[0] = src[0];
        nd->c = s->units;
        nd->h = nd->w = 1;
        nd->bias = s->bias;
        if (fin > ((size_t)1 << 31) / s->units)
            return sparse__layer_error(arch, li, SPARSE_ERANGE, "%zu x %zu weights is too many", fin,
                                       s->units);
        rc = add_param(nd, "weight", 2, s->units, fin, 1, 1, 1, 1);
        if (!rc && s->bias)
            rc = add_param(nd, "bias", 1, s->units, 1, 1, 1, 1, 0);
        id = p->n - 1;
        break;
    }
    case SPARSE_LAYER_RESIDUAL: {
        size_t a = src[0], b = src[1];
        if (!same_shape(&p->nodes[a], &p->nodes[b])) {
            const sparse__node *na = &p->nodes[a], *nb = &p->nodes[b];
            size_t st = 0;
            for (size_t t = 1; t <= nb->h && t <= nb->w; t++)
                if ((nb->h + t - 1) / t == na->h && (nb->w + t - 1) / t == na->w) {
                    st = t;
                    break;
                }
            if (!st)
                return sparse__layer_error(arch, li, SPARSE_ESHAPE,
                                           "cannot project '%s' (%zux%zux%zu) onto '%s' (%zux%zux%zu) "
                                           "with a strided 1x1 convolution",
                                           nb->name, nb->c, nb->h, nb->w, na->name, na->c, na->h, na->w);
            rc = make_conv(p, li, L->name, "/proj", b, na->c, 1, st, 1, 0, 0, &b);
            if (rc)
                break;
        }
        sparse__node *nd = new_node(p, SPARSE_LAYER_MERGE, L->name, NULL, li);
        if (!nd)
            return SPARSE_ENOMEM;
        nd->n_in = 2;
        nd->in[0] = a;
        nd->in[1] = b;
        nd->merge = SPARSE_MERGE_SUM;
        nd->c = p->nodes[a].c;
        nd->h = p->nodes[a].h;
        nd->w = p->nodes[a].w;
        id = p->n - 1;
        break;
    }
    case SPARSE_LAYER_MERGE: {
        size_t c = 0;
        for (size_t i = 0; i < nsrc; i++) {
            const sparse__node *a = &p->nodes[src[0]], *b = &p->nodes[src[i]];
            for (size_t j = 0; j < i; j++)
                if (src[j] == src[i])
                    return sparse__layer_error(arch, li, SPARSE_EINVAL, "input '%s' is listed twice",
                                               b->name);
            if (s->merge == SPARSE_MERGE_SUM && !same_shape(a, b))
                return sparse__layer_error(arch, li, SPARSE_ESHAPE,
                                           "cannot sum '%s' (%zux%zux%zu) and '%s' (%zux%zux%zu): shapes "
                                           "differ",
                                           a->name, a->c, a->h, a->w, b->name, b->c, b->h, b->w);
            if (s->merge == SPARSE_MERGE_CONCAT && (a->h != b->h || a->w != b->w))
                return sparse__layer_error(arch, li, SPARSE_ESHAPE,
                                           "cannot concatenate '%s' (%zux%zu) and '%s' (%zux%zu): spatial "
                                           "sizes differ",
                                           a->name, a->h, a->w, b->name, b->h, b->w);
            c += b->c;
        }
        sparse__node *nd = new_node(p, SPARSE_LAYER_MERGE, L->name, NULL, li);
        if (!nd)
            return SPARSE_ENOMEM;
        nd->n_in = nsrc;
        memcpy(nd->in, src, nsrc * sizeof *src);
        nd->merge = s->merge;
        nd->c = s->merge == SPARSE_MERGE_SUM ? p->nodes[src[0]].c : c;
        nd->h = p->nodes[src[0]].h;
        nd->w = p->nodes[src[0]].w;
        id = p->n - 1;
        break;
    }
    default:
        return sparse__layer_error(arch, li, SPARSE_EINVAL, "unknown layer kind %d", s->kind);
    }
    if (rc)
        return rc;
    sparse__node *nd = &p->nodes[id];
    nd->sz = nd->c * nd->h * nd->w;
    for (size_t i = 0; i < p->n; i++)
        p->nodes[i].sz = p->nodes[i].c * p->nodes[i].h * p->nodes[i].w;
    if (nd->sz > ((size_t)1 << 28))
        return sparse__layer_error(arch, li, SPARSE_ERANGE, "output of %zu values per image is too large",
                                   nd->sz);
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
