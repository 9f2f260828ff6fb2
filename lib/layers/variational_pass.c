/* Training passes of variational nodes: the local reparameterisation trick
 * for SpVD, multiplicative group noise for BC, and the N(0,1) draws they
 * need. Evaluation passes run the raw kernels on the effective weights.
 *
 * The layers' raw passes (conv.c, fc.c) do the heavy lifting, so every
 * speed-up there carries over: the mean pass is op(x, W) + b, the variance
 * pass op(x^2, exp(log_sigma2)) with the same geometry. A SpVD step thus
 * costs at least a plain one plus its products again (docs/training.md);
 * the rest (noise, square roots, x^2) is elementwise and vectorised. The
 * weight-noise kind (SPARSE_PRUNE_NOISE_WEIGHT) draws the weights instead,
 * once per step, and runs the plain products on them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "variational.h"

/* The layers' raw passes (layers_internal.h): y = op(x, w) + bias (NULL:
 * none); backward overwrites dw and writes or (dx_acc) adds into dx (NULL
 * skips either). They never touch the node's own buffers or im2col cache. */
static void raw_fwd(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *bias, float *y)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse__fc_apply(net, nd, x, w, bias, y);
    else
        sparse__conv_apply(net, nd, x, w, bias, y);
}

static void raw_bwd(sparse_net *net, sparse__node *nd, const float *x, const float *w, const float *dy, float *dw,
                    float *dx, int dx_acc)
{
    if (nd->kind == SPARSE_LAYER_FC)
        sparse__fc_grad(net, nd, x, w, dy, dw, dx, dx_acc);
    else
        sparse__conv_grad(net, nd, x, w, dy, dw, dx, dx_acc);
}

/* Elementwise steps on m floats, split between threads in fixed chunks
 * (each element is computed alone, so the split changes nothing). */
enum { SQUARE, ADD_DX2, SCALE, PRODUCT };

static void elem_chunk(int op, size_t m, const float *restrict a, const float *restrict b, float *restrict y)
{
    if (op == SQUARE) /* y = a^2 */
        for (size_t j = 0; j < m; j++)
            y[j] = a[j] * a[j];
    else if (op == ADD_DX2) /* y += 2 a b: the variance pass's input gradient b, through a^2 */
        for (size_t j = 0; j < m; j++)
            y[j] += 2.0f * a[j] * b[j];
    else if (op == PRODUCT) /* y = a b */
        for (size_t j = 0; j < m; j++)
            y[j] = a[j] * b[j];
    else /* y *= a */
        for (size_t j = 0; j < m; j++)
            y[j] *= a[j];
}

#define ELEM_CHUNK 16384

static void elementwise(const sparse_net *net, int op, size_t m, const float *a, const float *b, float *y)
{
    const size_t chunks = (m + ELEM_CHUNK - 1) / ELEM_CHUNK;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
    for (size_t c = 0; c < chunks; c++) {
        const size_t j0 = c * ELEM_CHUNK, len = m - j0 < ELEM_CHUNK ? m - j0 : ELEM_CHUNK;
        elem_chunk(op, len, a + j0, b ? b + j0 : NULL, y + j0);
    }
}

/* ---- Noise ----
 * One N(0,1) value per output activation (and per group sample for BC):
 * the kernels' counter-based normals (kern_var.c), keyed per node and
 * optimiser step from the node's sparse_rng stream; a node's draws are
 * split into streams by what they are for. */

enum { NOISE_OUT = 0, NOISE_GROUP = 1 };

static uint64_t noise_key(uint64_t step_key, int what) { return step_key ^ (0x2545f4914f6cdd1dULL * (uint64_t)(what + 1)); }

/* Values are functions of (key, index) alone, so chunks can go to any
 * thread. */
#define NOISE_CHUNK SPARSE__NORMAL_BLOCK

static void normals(const sparse_net *net, uint64_t key, size_t m, float *e)
{
    const size_t chunks = (m + NOISE_CHUNK - 1) / NOISE_CHUNK;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
    for (size_t c = 0; c < chunks; c++) {
        const size_t j0 = c * NOISE_CHUNK, len = m - j0 < NOISE_CHUNK ? m - j0 : NOISE_CHUNK;
        net->kern.normals(key, j0, len, e + j0);
    }
}

/* Local reparameterisation on input x (the node's input, or x*z for BC FC):
 * out = op(x, W) + b + sqrt(op(x^2, exp(log_sigma2)) + 1e-8) * eps. */
static void spvd_fwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, uint64_t key)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const sparse__param *W = &nd->params[0];
    const sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    const size_t n = net->batch, nin = n * in->sz, nout = n * nd->sz;
    raw_fwd(net, nd, x, W->w, nd->bias ? nd->params[1].w : NULL, nd->out);
    net->kern.expv(ls2->w, W->n, v->s2);
    elementwise(net, SQUARE, nin, x, NULL, v->x2);
    raw_fwd(net, nd, v->x2, v->s2, NULL, v->sd);
    const size_t chunks = (nout + NOISE_CHUNK - 1) / NOISE_CHUNK;
    const uint64_t k = noise_key(key, NOISE_OUT);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nout))
    for (size_t c = 0; c < chunks; c++) {
        const size_t j0 = c * NOISE_CHUNK, len = nout - j0 < NOISE_CHUNK ? nout - j0 : NOISE_CHUNK;
        net->kern.spvd_noise(k, j0, len, SPARSE__VAR_EPS, v->sd + j0, v->eps + j0, nd->out + j0);
    }
}

/* Weight noise, one draw per weight shared by the batch (the estimator
 * SPARSE_PRUNE_NOISE_WEIGHT): out = op(x, theta + sigma e) + b, one
 * product forward and one backward, like a plain node. v->wm holds the
 * drawn weights, v->ew d w / d log_sigma2. */
static void spvd_w_fwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, uint64_t key)
{
    const sparse__param *W = &nd->params[0];
    const sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    const size_t m = W->n, chunks = (m + NOISE_CHUNK - 1) / NOISE_CHUNK;
    const uint64_t k = noise_key(key, NOISE_OUT);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
    for (size_t c = 0; c < chunks; c++) {
        const size_t j0 = c * NOISE_CHUNK, len = m - j0 < NOISE_CHUNK ? m - j0 : NOISE_CHUNK;
        net->kern.weight_noise(k, j0, len, W->w + j0, ls2->w + j0, v->ew + j0, v->wm + j0);
    }
    raw_fwd(net, nd, x, v->wm, nd->bias ? nd->params[1].w : NULL, nd->out);
}

static void spvd_w_bwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, const float *dy,
                       float *dx)
{
    sparse__param *W = &nd->params[0];
    sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    if (nd->bias)
        sparse__bias_grad(net, nd, dy, nd->params[1].g);
    raw_bwd(net, nd, x, v->wm, dy, W->g, dx, 1);
    elementwise(net, PRODUCT, W->n, W->g, v->ew, ls2->g);
}

/* dy: gradient w.r.t. the output; dx: added into (NULL: not needed). */
static void spvd_bwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, const float *dy,
                     float *dx)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    sparse__param *W = &nd->params[0];
    sparse__param *ls2 = sparse__find_param(nd, "log_sigma2");
    const size_t n = net->batch, nin = n * in->sz, nout = n * nd->sz;
    if (nd->bias)
        sparse__bias_grad(net, nd, dy, nd->params[1].g);
    raw_bwd(net, nd, x, W->w, dy, W->g, dx, 1);
    /* d loss / d var = dy eps / (2 sd), into the variance's buffer */
    net->kern.spvd_dvar(dy, v->eps, nout, v->sd);
    /* d loss / d log_sigma2 = (d loss / d sigma2) sigma2 */
    raw_bwd(net, nd, v->x2, v->s2, v->sd, ls2->g, dx ? v->dx2 : NULL, 0);
    elementwise(net, SCALE, ls2->n, v->s2, NULL, ls2->g);
    if (dx)
        elementwise(net, ADD_DX2, nin, x, v->dx2, dx);
}

/* The weights' posterior sampled as the node's noise kind says. */
static void weights_fwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, uint64_t key)
{
    if (v->noise == SPARSE_PRUNE_NOISE_WEIGHT)
        spvd_w_fwd(net, nd, v, x, key);
    else
        spvd_fwd(net, nd, v, x, key);
}

static void weights_bwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, const float *x, const float *dy,
                        float *dx)
{
    if (v->noise == SPARSE_PRUNE_NOISE_WEIGHT)
        spvd_w_bwd(net, nd, v, x, dy, dx);
    else
        spvd_bwd(net, nd, v, x, dy, dx);
}

static void bc_conv_fwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, uint64_t key)
{
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = nd->h * nd->w;
    weights_fwd(net, nd, v, net->nodes[nd->in[0]].out, key);
    memcpy(v->u, nd->out, n * nd->sz * sizeof(float));
    normals(net, noise_key(key, NOISE_GROUP), nd->c * n, v->ez);
    for (size_t c = 0; c < nd->c; c++) {
        const float sd = expf(0.5f * zlv->w[c]);
        float *zs = v->zs + c * n;
        for (size_t i = 0; i < n; i++)
            zs[i] = zmu->w[c] + sd * v->ez[c * n + i];
        for (size_t p = 0; p < hw; p++) {
            float *o = nd->out + (c * hw + p) * n;
            for (size_t i = 0; i < n; i++)
                o[i] *= zs[i];
        }
    }
}

static void bc_conv_bwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, float *dx)
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
    weights_bwd(net, nd, v, net->nodes[nd->in[0]].out, v->du, dx);
}

static void bc_fc_fwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, uint64_t key)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch;
    normals(net, noise_key(key, NOISE_GROUP), in->sz * n, v->ez);
    for (size_t f = 0; f < in->sz; f++) {
        const float sd = expf(0.5f * zlv->w[f]);
        for (size_t i = 0; i < n; i++) {
            const size_t j = f * n + i;
            const float z = zmu->w[f] + sd * v->ez[j];
            v->zs[j] = z;
            v->xz[j] = in->out[j] * z;
        }
    }
    weights_fwd(net, nd, v, v->xz, key);
}

static void bc_fc_bwd(sparse_net *net, sparse__node *nd, struct sparse__var *v, float *dx)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    sparse__param *zmu = sparse__find_param(nd, "z_mu"), *zlv = sparse__find_param(nd, "z_logvar");
    const size_t n = net->batch, hw = in->h * in->w, nin = n * in->sz;
    memset(v->dxz, 0, nin * sizeof(float));
    /* the group gradients need d loss / d (x z) even when dx is not wanted */
    weights_bwd(net, nd, v, v->xz, nd->dout, v->dxz);
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
        raw_fwd(net, nd, ctx->in, v->wm, nd->bias ? v->bm : NULL, nd->out);
        return SPARSE_OK;
    }
    sparse__rng_reseed_stream(v->step_rng, v->seed, net->step * 1000003u + id);
    const uint64_t key = sparse_rng_seed64(v->step_rng);
    if (v->mode == SPARSE_PRUNE_SPVD)
        weights_fwd(net, nd, v, ctx->in, key);
    else if (nd->kind == SPARSE_LAYER_FC)
        bc_fc_fwd(net, nd, v, key);
    else
        bc_conv_fwd(net, nd, v, key);
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
            sparse__bias_grad(net, nd, ctx->dout, nd->params[1].g);
        raw_bwd(net, nd, ctx->in, v->wm, ctx->dout, nd->params[0].g, ctx->din, 1);
        return SPARSE_OK;
    }
    if (v->mode == SPARSE_PRUNE_SPVD)
        weights_bwd(net, nd, v, ctx->in, ctx->dout, ctx->din);
    else if (nd->kind == SPARSE_LAYER_FC)
        bc_fc_bwd(net, nd, v, ctx->din);
    else
        bc_conv_bwd(net, nd, v, ctx->din);
    return SPARSE_OK;
}
