/* Variational nodes (experimental.h): Sparse Variational Dropout and
 * Bayesian Compression on conv, depthwise and FC nodes.
 *
 * The layers' raw kernels (experimental.h) do the heavy lifting, so every
 * speed-up of conv.c/fc.c carries over: the mean pass is op(x, W), the
 * variance pass op(x^2, exp(log_sigma2)) with the same geometry.
 *
 * Bias terms stay deterministic (no variance): the bias holds a negligible
 * share of the weights and keeping it exact keeps compaction simple. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers_internal.h"

#define VAR_EPS 1e-8f
#define LA_CLIP 10.0f

struct sparse__var {
    int mode;
    double thr;
    uint64_t seed;             /* noise */
    sparse_rng *step_rng;      /* reseeded every step: the step's noise stream */
    uint32_t kn[128];          /* ziggurat tables (Marsaglia & Tsang 2000) */
    float wn[128], fn[128];
    float *s2, *gs2, *wm, *bm; /* weight-sized, bias-sized */
    float *x2, *dx2;           /* input-sized (max_batch) */
    float *sd, *eps;           /* output-sized */
    float *u, *du;             /* BC conv: pre-scale output and its gradient */
    float *ez, *zs;            /* BC: group noise and samples (conv (C, N), FC input-sized) */
    float *xz, *dxz;           /* BC FC: scaled input and its gradient */
};

void sparse__var_free(struct sparse__var *v)
{
    if (!v)
        return;
    float *bufs[] = {v->s2, v->gs2, v->wm, v->bm, v->x2, v->dx2, v->sd, v->eps,
                     v->u,  v->du,  v->ez, v->zs, v->xz, v->dxz};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    sparse_rng_free(v->step_rng);
    free(v);
}

static float *fl(size_t n)
{
    size_t bytes;
    if (sparse__mul_size(n ? n : 1, sizeof(float), &bytes))
        return NULL;
    return sparse__calloc(1, bytes);
}

/* The layers' raw kernels (experimental.h): y = op(x, w) without bias;
 * backward overwrites dw and adds into dx (NULL skips either). They never
 * touch the node's own buffers or im2col cache. */
static void raw_fwd(sparse_net *net, size_t id, const sparse__node *nd, const float *x, const float *w, float *y)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse_exp_fc_forward(net, id, x, w, y);
    else
        sparse_exp_conv_forward(net, id, x, w, y);
}

static void raw_bwd(sparse_net *net, size_t id, const sparse__node *nd, const float *x, const float *w, const float *dy,
                    float *dw, float *dx)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse_exp_fc_backward(net, id, x, w, dy, dw, dx);
    else
        sparse_exp_conv_backward(net, id, x, w, dy, dw, dx);
}

/* Per output channel (FC: unit) bias, outputs (C, N, H, W). */
static void add_bias(const sparse_net *net, const sparse__node *nd, const float *b, float *y)
{
    const size_t np = net->batch * nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++)
        for (size_t j = 0; j < np; j++)
            y[c * np + j] += b[c];
}

static void bias_grad(const sparse_net *net, const sparse__node *nd, const float *dy, float *g)
{
    const size_t np = net->batch * nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++) {
        float acc = 0.0f;
        for (size_t j = 0; j < np; j++)
            acc += dy[c * np + j];
        g[c] = acc;
    }
}

/* ---- Noise ----
 * N(0,1) draws are most of the extra cost of a variational pass (one per
 * output activation), so they come from a ziggurat over a splitmix64
 * counter stream seeded from the node's sparse_rng stream for the step:
 * several times cheaper than a library call per draw, same determinism. */

typedef struct nrng {
    uint64_t s;
    uint32_t buf;
    int have;
    const struct sparse__var *v;
} nrng;

static uint32_t next32(nrng *r)
{
    if (r->have) {
        r->have = 0;
        return r->buf;
    }
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    r->buf = (uint32_t)(z >> 32);
    r->have = 1;
    return (uint32_t)z;
}

static float uni(nrng *r) { return ((float)(next32(r) >> 8) + 0.5f) * (1.0f / 16777216.0f); }

static void zig_tables(struct sparse__var *v)
{
    const double m1 = 2147483648.0, vn = 9.91256303526217e-3;
    double dn = 3.442619855899, tn = dn, q = vn / exp(-0.5 * dn * dn);
    v->kn[0] = (uint32_t)((dn / q) * m1);
    v->kn[1] = 0;
    v->wn[0] = (float)(q / m1);
    v->wn[127] = (float)(dn / m1);
    v->fn[0] = 1.0f;
    v->fn[127] = (float)exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; i--) {
        dn = sqrt(-2.0 * log(vn / dn + exp(-0.5 * dn * dn)));
        v->kn[i + 1] = (uint32_t)((dn / tn) * m1);
        tn = dn;
        v->fn[i] = (float)exp(-0.5 * dn * dn);
        v->wn[i] = (float)(dn / m1);
    }
}

static float gauss(nrng *r)
{
    const struct sparse__var *v = r->v;
    for (;;) {
        const int32_t hz = (int32_t)next32(r);
        const uint32_t iz = (uint32_t)hz & 127u;
        const int64_t ahz = hz < 0 ? -(int64_t)hz : (int64_t)hz;
        const float x = (float)hz * v->wn[iz];
        if (ahz < (int64_t)v->kn[iz])
            return x;
        if (iz == 0) { /* the tail beyond r */
            const float rr = 3.442620f;
            float t, y;
            do {
                t = -logf(uni(r)) / rr;
                y = -logf(uni(r));
            } while (y + y < t * t);
            return hz > 0 ? rr + t : -rr - t;
        }
        if (v->fn[iz] + uni(r) * (v->fn[iz - 1] - v->fn[iz]) < expf(-0.5f * x * x))
            return x;
    }
}

static float clipf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Local reparameterisation on input x (the node's input, or x*z for BC FC):
 * out = op(x, W) + b + sqrt(op(x^2, exp(log_sigma2)) + 1e-8) * eps. */
static void spvd_fwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, const float *x, nrng *rng)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const sparse__param *W = &nd->params[0];
    const sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    const size_t n = net->batch, nin = n * in->sz, nout = n * nd->sz;
    raw_fwd(net, id, nd, x, W->w, nd->out);
    if (nd->bias)
        add_bias(net, nd, nd->params[1].w, nd->out);
    for (size_t j = 0; j < W->n; j++)
        v->s2[j] = expf(ls2->w[j]);
    for (size_t j = 0; j < nin; j++)
        v->x2[j] = x[j] * x[j];
    raw_fwd(net, id, nd, v->x2, v->s2, v->sd);
    for (size_t j = 0; j < nout; j++) {
        const float sd = sqrtf(v->sd[j] + VAR_EPS), e = gauss(rng);
        v->sd[j] = sd;
        v->eps[j] = e;
        nd->out[j] += sd * e;
    }
}

/* dy: gradient w.r.t. the output; dx: added into (NULL: not needed). */
static void spvd_bwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, const float *x, const float *dy,
                     float *dx)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    sparse__param *W = &nd->params[0];
    sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    const size_t n = net->batch, nin = n * in->sz, nout = n * nd->sz;
    if (nd->bias)
        bias_grad(net, nd, dy, nd->params[1].g);
    raw_bwd(net, id, nd, x, W->w, dy, W->g, dx);
    /* d out / d var = eps / (2 sd); sd is not needed afterwards. */
    for (size_t j = 0; j < nout; j++)
        v->sd[j] = dy[j] * v->eps[j] * 0.5f / v->sd[j];
    if (dx)
        memset(v->dx2, 0, nin * sizeof(float));
    raw_bwd(net, id, nd, v->x2, v->s2, v->sd, v->gs2, dx ? v->dx2 : NULL);
    if (dx)
        for (size_t j = 0; j < nin; j++)
            dx[j] += 2.0f * x[j] * v->dx2[j];
    for (size_t j = 0; j < ls2->n; j++)
        ls2->g[j] = v->gs2[j] * v->s2[j];
}

/* Group log alpha of BC. */
static float group_la(float zmu, float zlv) { return clipf(zlv - logf(zmu * zmu + VAR_EPS), -LA_CLIP, LA_CLIP); }

static void bc_conv_fwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, nrng *rng)
{
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = nd->h * nd->w;
    spvd_fwd(net, id, nd, v, net->nodes[nd->in[0]].out, rng);
    memcpy(v->u, nd->out, n * nd->sz * sizeof(float));
    for (size_t c = 0; c < nd->c; c++) {
        const float sd = expf(0.5f * zlv->w[c]);
        for (size_t i = 0; i < n; i++) {
            const float e = gauss(rng), z = zmu->w[c] + sd * e;
            v->ez[c * n + i] = e;
            v->zs[c * n + i] = z;
            float *o = nd->out + (c * n + i) * hw;
            for (size_t p = 0; p < hw; p++)
                o[p] *= z;
        }
    }
}

static void bc_conv_bwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, float *dx)
{
    sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++) {
        const float sd = expf(0.5f * zlv->w[c]);
        float gm = 0.0f, gl = 0.0f;
        for (size_t i = 0; i < n; i++) {
            const size_t o = (c * n + i) * hw;
            const float z = v->zs[c * n + i];
            float dz = 0.0f;
            for (size_t p = 0; p < hw; p++) {
                dz += nd->dout[o + p] * v->u[o + p];
                v->du[o + p] = nd->dout[o + p] * z;
            }
            gm += dz;
            gl += dz * v->ez[c * n + i];
        }
        zmu->g[c] = gm;
        zlv->g[c] = gl * 0.5f * sd;
    }
    spvd_bwd(net, id, nd, v, net->nodes[nd->in[0]].out, v->du, dx);
}

static void bc_fc_fwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, nrng *rng)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = in->h * in->w;
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++) {
                const size_t f = c * hw + p, j = (c * n + i) * hw + p;
                const float e = gauss(rng);
                const float z = zmu->w[f] + expf(0.5f * zlv->w[f]) * e;
                v->ez[j] = e;
                v->zs[j] = z;
                v->xz[j] = in->out[j] * z;
            }
    spvd_fwd(net, id, nd, v, v->xz, rng);
}

static void bc_fc_bwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, float *dx)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = in->h * in->w, nin = n * in->sz;
    memset(v->dxz, 0, nin * sizeof(float));
    /* the group gradients need d loss / d (x z) even when dx is not wanted */
    spvd_bwd(net, id, nd, v, v->xz, nd->dout, v->dxz);
    memset(zmu->g, 0, zmu->n * sizeof(float));
    memset(zlv->g, 0, zlv->n * sizeof(float));
    for (size_t c = 0; c < in->c; c++)
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++) {
                const size_t f = c * hw + p, j = (c * n + i) * hw + p;
                const float dz = v->dxz[j] * in->out[j];
                zmu->g[f] += dz;
                zlv->g[f] += dz * v->ez[j];
                if (dx)
                    dx[j] += v->dxz[j] * v->zs[j];
            }
    for (size_t f = 0; f < zlv->n; f++)
        zlv->g[f] *= 0.5f * expf(0.5f * zlv->w[f]);
}

/* Evaluation weights into v->wm / v->bm (bias NULL if none). */
static void effective(sparse__node *nd, struct sparse__var *v)
{
    const sparse__param *W = &nd->params[0];
    const sparse__param *B = nd->bias ? &nd->params[1] : NULL;
    const float thr = (float)v->thr;
    if (B)
        memcpy(v->bm, B->w, B->n * sizeof(float));
    if (v->mode == SPARSE_VAR_SPVD) {
        const sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
        for (size_t j = 0; j < W->n; j++) {
            const float la = clipf(ls2->w[j] - logf(W->w[j] * W->w[j] + VAR_EPS), -LA_CLIP, LA_CLIP);
            v->wm[j] = la < thr ? W->w[j] : 0.0f;
        }
        return;
    }
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t rows = W->shape[0], cols = W->n / rows;
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++) {
            /* conv groups are rows (output channels), FC groups columns (inputs) */
            const size_t g = nd->kind == SPARSE_LAYER_FC ? k : r;
            const float z = group_la(zmu->w[g], zlv->w[g]) < thr ? zmu->w[g] : 0.0f;
            v->wm[r * cols + k] = W->w[r * cols + k] * z;
        }
    if (B && nd->kind != SPARSE_LAYER_FC)
        for (size_t c = 0; c < B->n; c++)
            v->bm[c] = group_la(zmu->w[c], zlv->w[c]) < thr ? B->w[c] * zmu->w[c] : 0.0f;
}

static int var_forward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    sparse__node *nd = &net->nodes[id];
    struct sparse__var *v = user;
    if (!ctx->train) {
        effective(nd, v);
        raw_fwd(net, id, nd, ctx->in, v->wm, nd->out);
        if (nd->bias)
            add_bias(net, nd, v->bm, nd->out);
        return SPARSE_OK;
    }
    sparse__rng_reseed_stream(v->step_rng, v->seed, net->step * 1000003u + id);
    nrng r = {sparse_rng_seed64(v->step_rng), 0, 0, v};
    if (v->mode == SPARSE_VAR_SPVD)
        spvd_fwd(net, id, nd, v, ctx->in, &r);
    else if (nd->kind == SPARSE_LAYER_FC)
        bc_fc_fwd(net, id, nd, v, &r);
    else
        bc_conv_fwd(net, id, nd, v, &r);
    return SPARSE_OK;
}

static int var_backward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    sparse__node *nd = &net->nodes[id];
    struct sparse__var *v = user;
    if (!ctx->train) {
        /* after an evaluation-mode forward: the effective weights as plain
         * ones (their gradient lands on the mean weights) */
        if (nd->bias)
            bias_grad(net, nd, ctx->dout, nd->params[1].g);
        raw_bwd(net, id, nd, ctx->in, v->wm, ctx->dout, nd->params[0].g, ctx->din);
        return SPARSE_OK;
    }
    if (v->mode == SPARSE_VAR_SPVD)
        spvd_bwd(net, id, nd, v, ctx->in, ctx->dout, ctx->din);
    else if (nd->kind == SPARSE_LAYER_FC)
        bc_fc_bwd(net, id, nd, v, ctx->din);
    else
        bc_conv_bwd(net, id, nd, v, ctx->din);
    return SPARSE_OK;
}

/* ---- Setting the mode ---- */

static void drop_posterior(sparse__node *nd)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n_params; i++) {
        sparse__param *p = &nd->params[i];
        if (p->posterior) {
            free(p->name);
            sparse_tensor_free(p->value);
            sparse_tensor_free(p->grad);
            free(p->m);
            free(p->v);
            free(p->mask);
        } else {
            nd->params[k++] = *p;
        }
    }
    nd->n_params = k;
}

static void clear_var(sparse__node *nd)
{
    if (!nd->var)
        return;
    drop_posterior(nd);
    if (nd->hook_user == nd->var) {
        nd->hook_fwd = nd->hook_bwd = NULL;
        nd->hook_user = NULL;
    }
    sparse__var_free(nd->var);
    nd->var = NULL;
}

static int add_posterior(sparse__node *nd, const char *name, int ndim, const size_t *shape)
{
    sparse__param *ps = sparse__realloc(nd->params, (nd->n_params + 1) * sizeof *ps);
    if (!ps)
        return SPARSE_ENOMEM;
    nd->params = ps;
    sparse__param *p = &ps[nd->n_params];
    memset(p, 0, sizeof *p);
    p->ndim = ndim;
    p->n = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= shape[i];
    }
    p->trainable = 1;
    p->posterior = 1;
    p->name = sparse__strdup(name);
    nd->n_params++; /* from here drop_posterior frees whatever was made */
    if (!p->name)
        return SPARSE_ENOMEM;
    int rc = sparse_tensor_create(&p->value, ndim, shape);
    if (!rc)
        rc = sparse_tensor_create(&p->grad, ndim, shape);
    if (rc)
        return rc;
    p->w = sparse_tensor_data(p->value);
    p->g = sparse_tensor_data(p->grad);
    p->m = fl(p->n);
    p->v = fl(p->n);
    return p->m && p->v ? SPARSE_OK : SPARSE_ENOMEM;
}

static int make_var(sparse_net *net, sparse__node *nd, int mode, struct sparse__var **out)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t mb = net->max_batch, nw = nd->params[0].n;
    struct sparse__var *v = sparse__calloc(1, sizeof *v);
    if (!v)
        return SPARSE_ENOMEM;
    v->mode = mode;
    zig_tables(v);
    int ok = (v->s2 = fl(nw)) && (v->gs2 = fl(nw)) && (v->wm = fl(nw)) && (v->bm = fl(nd->c)) &&
             (v->x2 = fl(mb * in->sz)) && (v->dx2 = fl(mb * in->sz)) && (v->sd = fl(mb * nd->sz)) &&
             (v->eps = fl(mb * nd->sz)) && sparse_rng_create(&v->step_rng, 0) == SPARSE_OK;
    if (ok && mode == SPARSE_VAR_BC) {
        if (nd->kind == SPARSE_LAYER_FC)
            ok = (v->ez = fl(mb * in->sz)) && (v->zs = fl(mb * in->sz)) && (v->xz = fl(mb * in->sz)) &&
                 (v->dxz = fl(mb * in->sz));
        else
            ok = (v->ez = fl(mb * nd->c)) && (v->zs = fl(mb * nd->c)) && (v->u = fl(mb * nd->sz)) &&
                 (v->du = fl(mb * nd->sz));
    }
    if (!ok) {
        sparse__var_free(v);
        return SPARSE_ENOMEM;
    }
    *out = v;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_variational(sparse_net *net, size_t id, int mode, double threshold, uint64_t seed)
{
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_variational: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (mode < SPARSE_VAR_NONE || mode > SPARSE_VAR_BC)
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_set_variational: unknown mode %d", mode);
    if (!isfinite(threshold))
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_variational: threshold must be finite");
    if (mode == SPARSE_VAR_NONE) {
        clear_var(nd);
        return SPARSE_OK;
    }
    if (!sparse_layer_kind_has_weights(nd->kind))
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_set_variational: node '%s' is a %s, only conv, "
                                            "depthwise and FC nodes have weights to prune",
                             nd->name, sparse_layer_kind_name(nd->kind));
    if (nd->var && nd->var->mode == mode) {
        nd->var->thr = threshold;
        return SPARSE_OK;
    }
    clear_var(nd);
    struct sparse__var *v = NULL;
    int rc = make_var(net, nd, mode, &v);
    if (rc)
        return rc;
    v->thr = threshold;
    sparse_rng *rng = NULL;
    rc = sparse_rng_create_stream(&rng, seed, 0x7a41u + id);
    const sparse__param W0 = nd->params[0];
    if (!rc)
        rc = add_posterior(nd, "log_sigma2", W0.ndim, W0.shape);
    if (!rc && mode == SPARSE_VAR_BC) {
        size_t g = nd->kind == SPARSE_LAYER_FC ? net->nodes[nd->in[0]].sz : nd->c;
        rc = add_posterior(nd, "z_mu", 1, &g);
        if (!rc)
            rc = add_posterior(nd, "z_logvar", 1, &g);
    }
    if (rc) {
        sparse_rng_free(rng);
        drop_posterior(nd);
        sparse__var_free(v);
        return rc;
    }
    sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    for (size_t j = 0; j < ls2->n; j++)
        ls2->w[j] = mode == SPARSE_VAR_SPVD ? -10.0f : (float)(-9.0 + 0.01 * sparse_rng_normal(rng));
    if (mode == SPARSE_VAR_BC) {
        sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
        for (size_t j = 0; j < zmu->n; j++)
            zmu->w[j] = (float)(1.0 + 0.01 * sparse_rng_normal(rng));
        for (size_t j = 0; j < zlv->n; j++)
            zlv->w[j] = (float)(-9.0 + 0.01 * sparse_rng_normal(rng));
    }
    sparse_rng_free(rng);
    v->seed = nd->var ? nd->var->seed : 0;
    nd->var = v;
    nd->hook_fwd = var_forward;
    nd->hook_bwd = var_backward;
    nd->hook_user = v;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_variational_mode(const sparse_net *net, size_t id)
{
    if (!net || id >= net->n_nodes || !net->nodes[id].var)
        return SPARSE_VAR_NONE;
    return net->nodes[id].var->mode;
}

SPARSE_API int sparse_exp_net_set_noise_seed(sparse_net *net, uint64_t seed)
{
    SPARSE__CHECK_NULL(net);
    for (size_t i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].var)
            net->nodes[i].var->seed = seed;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_effective_params(sparse_net *net, size_t id, sparse_tensor **weight,
                                           sparse_tensor **bias)
{
    if (weight)
        *weight = NULL;
    if (bias)
        *bias = NULL;
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_effective_params: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (!sparse_layer_kind_has_weights(nd->kind))
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_effective_params: node '%s' has no weights", nd->name);
    const sparse__param *W = &nd->params[0], *B = nd->bias ? &nd->params[1] : NULL;
    const float *wsrc = W->w, *bsrc = B ? B->w : NULL;
    if (nd->var) {
        effective(nd, nd->var);
        wsrc = nd->var->wm;
        bsrc = B ? nd->var->bm : NULL;
    }
    sparse_tensor *tw = NULL, *tb = NULL;
    int rc = SPARSE_OK;
    if (weight) {
        rc = sparse_tensor_create(&tw, W->ndim, W->shape);
        if (!rc)
            memcpy(sparse_tensor_data(tw), wsrc, W->n * sizeof(float));
    }
    if (!rc && bias && B) {
        rc = sparse_tensor_create(&tb, B->ndim, B->shape);
        if (!rc)
            memcpy(sparse_tensor_data(tb), bsrc, B->n * sizeof(float));
    }
    if (rc) {
        sparse_tensor_free(tw);
        sparse_tensor_free(tb);
        return rc;
    }
    if (weight)
        *weight = tw;
    if (bias)
        *bias = tb;
    return SPARSE_OK;
}
