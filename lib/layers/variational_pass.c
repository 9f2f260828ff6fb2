/* Training passes of variational nodes: the local reparameterisation trick
 * for SpVD, multiplicative group noise for BC, and the N(0,1) draws they
 * need. Evaluation passes run the raw kernels on the effective weights.
 *
 * The layers' raw kernels (experimental.h) do the heavy lifting, so every
 * speed-up of conv.c/fc.c carries over: the mean pass is op(x, W), the
 * variance pass op(x^2, exp(log_sigma2)) with the same geometry. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "variational.h"

/* The layers' raw kernels (experimental.h): y = op(x, w) without bias;
 * backward overwrites dw and adds into dx (NULL skips either). They never
 * touch the node's own buffers or im2col cache. */
static void raw_fwd(sparse_net *net, size_t id, const sparse__node *nd, const float *x, const float *w,
                    float *y)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse_exp_fc_forward(net, id, x, w, y);
    else
        sparse_exp_conv_forward(net, id, x, w, y);
}

static void raw_bwd(sparse_net *net, size_t id, const sparse__node *nd, const float *x, const float *w,
                    const float *dy, float *dw, float *dx)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse_exp_fc_backward(net, id, x, w, dy, dw, dx);
    else
        sparse_exp_conv_backward(net, id, x, w, dy, dw, dx);
}

/* Per output channel (FC: unit) bias, outputs (C, H, W, N). */
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

void sparse__var_noise_tables(struct sparse__var *v)
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

/* Local reparameterisation on input x (the node's input, or x*z for BC FC):
 * out = op(x, W) + b + sqrt(op(x^2, exp(log_sigma2)) + 1e-8) * eps. */
static void spvd_fwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, const float *x,
                     nrng *rng)
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
        const float sd = sqrtf(v->sd[j] + SPARSE__VAR_EPS), e = gauss(rng);
        v->sd[j] = sd;
        v->eps[j] = e;
        nd->out[j] += sd * e;
    }
}

/* dy: gradient w.r.t. the output; dx: added into (NULL: not needed). */
static void spvd_bwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, const float *x,
                     const float *dy, float *dx)
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

static void bc_conv_fwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, nrng *rng)
{
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = nd->h * nd->w;
    spvd_fwd(net, id, nd, v, net->nodes[nd->in[0]].out, rng);
    memcpy(v->u, nd->out, n * nd->sz * sizeof(float));
    for (size_t c = 0; c < nd->c; c++) {
        const float sd = expf(0.5f * zlv->w[c]);
        float *zs = v->zs + c * n;
        for (size_t i = 0; i < n; i++) {
            const float e = gauss(rng);
            v->ez[c * n + i] = e;
            zs[i] = zmu->w[c] + sd * e;
        }
        for (size_t p = 0; p < hw; p++) {
            float *o = nd->out + (c * hw + p) * n;
            for (size_t i = 0; i < n; i++)
                o[i] *= zs[i];
        }
    }
}

static void bc_conv_bwd(sparse_net *net, size_t id, sparse__node *nd, struct sparse__var *v, float *dx)
{
    sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = nd->h * nd->w;
    for (size_t c = 0; c < nd->c; c++) {
        const float sd = expf(0.5f * zlv->w[c]);
        const float *zs = v->zs + c * n;
        float *dz = v->dz;
        for (size_t i = 0; i < n; i++)
            dz[i] = 0.0f;
        for (size_t p = 0; p < hw; p++) {
            const size_t o = (c * hw + p) * n;
            for (size_t i = 0; i < n; i++) {
                dz[i] += nd->dout[o + i] * v->u[o + i];
                v->du[o + i] = nd->dout[o + i] * zs[i];
            }
        }
        float gm = 0.0f, gl = 0.0f;
        for (size_t i = 0; i < n; i++) {
            gm += dz[i];
            gl += dz[i] * v->ez[c * n + i];
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
                const size_t f = c * hw + p, j = f * n + i;
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
                const size_t f = c * hw + p, j = f * n + i;
                const float dz = v->dxz[j] * in->out[j];
                zmu->g[f] += dz;
                zlv->g[f] += dz * v->ez[j];
                if (dx)
                    dx[j] += v->dxz[j] * v->zs[j];
            }
    for (size_t f = 0; f < zlv->n; f++)
        zlv->g[f] *= 0.5f * expf(0.5f * zlv->w[f]);
}

int sparse__var_forward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
{
    sparse__node *nd = &net->nodes[id];
    struct sparse__var *v = user;
    if (!ctx->train) {
        sparse__var_effective(nd, v);
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

int sparse__var_backward(void *user, sparse_net *net, size_t id, sparse_exp_node_ctx *ctx)
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
