#include "refnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rparam {
    char name[64];
    double *v;
    size_t n;
} rparam;

struct refnet {
    sparse_net *net;
    size_t nn;
    rparam **p;
    size_t *np;
    double **act; /* per node, NCHW, allocated per call */
};

refnet *refnet_create(sparse_net *net)
{
    refnet *r = calloc(1, sizeof *r);
    r->net = net;
    r->nn = sparse_net_node_count(net);
    r->p = calloc(r->nn, sizeof *r->p);
    r->np = calloc(r->nn, sizeof *r->np);
    r->act = calloc(r->nn, sizeof *r->act);
    for (size_t i = 0; i < r->nn; i++) {
        size_t k = sparse_net_param_count(net, i);
        r->np[i] = k;
        r->p[i] = calloc(k ? k : 1, sizeof(rparam));
        for (size_t j = 0; j < k; j++) {
            sparse_tensor *t = NULL;
            const char *nm = sparse_net_param_name(net, i, j);
            sparse_net_param(&t, net, i, nm);
            rparam *rp = &r->p[i][j];
            strncpy(rp->name, nm, sizeof rp->name - 1);
            rp->n = sparse_tensor_element_count(t);
            rp->v = malloc(rp->n * sizeof(double));
            const float *d = sparse_tensor_data_const(t);
            for (size_t e = 0; e < rp->n; e++)
                rp->v[e] = d[e];
            sparse_tensor_free(t);
        }
    }
    return r;
}

void refnet_free(refnet *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nn; i++) {
        for (size_t j = 0; j < r->np[i]; j++)
            free(r->p[i][j].v);
        free(r->p[i]);
        free(r->act[i]);
    }
    free(r->p);
    free(r->np);
    free(r->act);
    free(r);
}

double *refnet_param(refnet *r, size_t id, const char *name, size_t *numel)
{
    for (size_t j = 0; j < r->np[id]; j++)
        if (!strcmp(r->p[id][j].name, name)) {
            if (numel)
                *numel = r->p[id][j].n;
            return r->p[id][j].v;
        }
    return NULL;
}

static double *P(refnet *r, size_t id, const char *name) { return refnet_param(r, id, name, NULL); }

double refnet_loss(refnet *r, const double *x, size_t n, const int32_t *labels, double smoothing, double *logits)
{
    sparse_net *net = r->net;
    for (size_t id = 0; id < r->nn; id++) {
        size_t C, H, W;
        sparse_net_node_shape(net, id, &C, &H, &W);
        free(r->act[id]);
        double *y = r->act[id] = calloc(n * C * H * W, sizeof(double));
        int kind = sparse_net_node_kind(net, id);
        if (kind == SPARSE_LAYER_INPUT) {
            memcpy(y, x, n * C * H * W * sizeof(double));
            continue;
        }
        sparse_node_info in = SPARSE_NODE_INFO_INIT;
        sparse_net_node_info(net, id, &in);
        size_t src;
        sparse_net_node_input(net, id, 0, &src);
        const double *a = r->act[src];
        const size_t Ci = in.in_c, Hi = in.in_h, Wi = in.in_w, k = in.kernel, s = in.stride;
        switch (kind) {
        case SPARSE_LAYER_CONV2D:
        case SPARSE_LAYER_DEPTHWISE_CONV2D: {
            const double *w = P(r, id, "weight"), *b = P(r, id, "bias");
            size_t cpg = Ci / in.groups, opg = C / in.groups;
            for (size_t i = 0; i < n; i++)
                for (size_t co = 0; co < C; co++) {
                    size_t g = co / opg;
                    for (size_t oy = 0; oy < H; oy++)
                        for (size_t ox = 0; ox < W; ox++) {
                            double acc = b ? b[co] : 0.0;
                            for (size_t cl = 0; cl < cpg; cl++)
                                for (size_t ky = 0; ky < k; ky++)
                                    for (size_t kx = 0; kx < k; kx++) {
                                        long iy = (long)(oy * s + ky) - (long)in.pad_top;
                                        long ix = (long)(ox * s + kx) - (long)in.pad_left;
                                        if (iy < 0 || ix < 0 || iy >= (long)Hi || ix >= (long)Wi)
                                            continue;
                                        size_t ci = g * cpg + cl;
                                        acc += w[((co * cpg + cl) * k + ky) * k + kx] *
                                               a[((i * Ci + ci) * Hi + (size_t)iy) * Wi + (size_t)ix];
                                    }
                            y[((i * C + co) * H + oy) * W + ox] = acc;
                        }
                }
            break;
        }
        case SPARSE_LAYER_MAXPOOL:
        case SPARSE_LAYER_INPUT_DOWNSAMPLE:
        case SPARSE_LAYER_AVGPOOL: {
            size_t dr = in.depth_rate ? in.depth_rate : 1;
            for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c < C; c++)
                    for (size_t oy = 0; oy < H; oy++)
                        for (size_t ox = 0; ox < W; ox++) {
                            double m = -INFINITY, sum = 0.0;
                            for (size_t d = 0; d < dr; d++)
                                for (size_t ky = 0; ky < k; ky++)
                                    for (size_t kx = 0; kx < k; kx++) {
                                        double v = a[((i * Ci + c * dr + d) * Hi + oy * s + ky) * Wi + ox * s + kx];
                                        m = v > m ? v : m;
                                        sum += v;
                                    }
                            y[((i * C + c) * H + oy) * W + ox] =
                                kind == SPARSE_LAYER_AVGPOOL ? sum / (double)(k * k) : m;
                        }
            break;
        }
        case SPARSE_LAYER_BATCHNORM: {
            const double *g = P(r, id, "gamma"), *b = P(r, id, "beta");
            size_t hw = H * W, m = n * hw;
            for (size_t c = 0; c < C; c++) {
                double mean = 0, var = 0;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < hw; j++)
                        mean += a[(i * C + c) * hw + j];
                mean /= (double)m;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < hw; j++) {
                        double d = a[(i * C + c) * hw + j] - mean;
                        var += d * d;
                    }
                var /= (double)m;
                double inv = 1.0 / sqrt(var + 1e-5);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < hw; j++)
                        y[(i * C + c) * hw + j] = g[c] * (a[(i * C + c) * hw + j] - mean) * inv + b[c];
            }
            break;
        }
        case SPARSE_LAYER_RELU:
            for (size_t j = 0; j < n * C * H * W; j++)
                y[j] = a[j] > 0 ? a[j] : 0;
            break;
        case SPARSE_LAYER_FC: {
            const double *w = P(r, id, "weight"), *b = P(r, id, "bias");
            size_t F = Ci * Hi * Wi;
            for (size_t i = 0; i < n; i++)
                for (size_t o = 0; o < C; o++) {
                    double acc = b ? b[o] : 0.0;
                    for (size_t f = 0; f < F; f++)
                        acc += w[o * F + f] * a[i * F + f];
                    y[i * C + o] = acc;
                }
            break;
        }
        case SPARSE_LAYER_MERGE: {
            size_t ni = sparse_net_node_input_count(net, id), coff = 0, hw = H * W;
            for (size_t q = 0; q < ni; q++) {
                size_t sid, qc;
                sparse_net_node_input(net, id, q, &sid);
                sparse_net_node_shape(net, sid, &qc, NULL, NULL);
                const double *aq = r->act[sid];
                for (size_t i = 0; i < n; i++)
                    for (size_t c = 0; c < qc; c++)
                        for (size_t j = 0; j < hw; j++) {
                            double v = aq[(i * qc + c) * hw + j];
                            if (in.merge == SPARSE_MERGE_SUM)
                                y[(i * C + c) * hw + j] += v;
                            else
                                y[(i * C + coff + c) * hw + j] = v;
                        }
                coff += qc;
            }
            break;
        }
        default:
            abort();
        }
    }
    size_t K;
    sparse_net_node_shape(net, r->nn - 1, &K, NULL, NULL);
    const double *z = r->act[r->nn - 1];
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double mx = z[i * K];
        for (size_t c = 1; c < K; c++)
            mx = z[i * K + c] > mx ? z[i * K + c] : mx;
        double se = 0;
        for (size_t c = 0; c < K; c++)
            se += exp(z[i * K + c] - mx);
        double lse = mx + log(se);
        for (size_t c = 0; c < K; c++) {
            double q = smoothing / (double)K + ((size_t)labels[i] == c ? 1.0 - smoothing : 0.0);
            total -= q * (z[i * K + c] - lse);
        }
        if (logits)
            for (size_t c = 0; c < K; c++)
                logits[i * K + c] = z[i * K + c];
    }
    return total / (double)n;
}
