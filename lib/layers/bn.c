/* Batch normalisation per channel (PyTorch semantics: biased batch variance
 * for normalising, unbiased for the running estimate, momentum 0.1,
 * eps 1e-5). Channel-major activations make each channel one contiguous run
 * of N*H*W values. */
#include <math.h>

#include "layers_internal.h"

#define BN_MOMENTUM 0.1

void sparse__bn_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, m = n * nd->h * nd->w;
    float *gamma = nd->params[0].w, *beta = nd->params[1].w;
    float *rmean = nd->params[2].w, *rvar = nd->params[3].w;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * m))
    for (size_t c = 0; c < nd->c; c++) {
        const float *x = in->out + c * m;
        float *xh = nd->aux + c * m, *y = nd->out + c * m;
        double mean, var;
        if (net->train) {
            double s = 0.0;
            for (size_t j = 0; j < m; j++)
                s += x[j];
            mean = s / (double)m;
            double v = 0.0;
            for (size_t j = 0; j < m; j++) {
                double d = x[j] - mean;
                v += d * d;
            }
            var = v / (double)m;
            rmean[c] = (float)((1.0 - BN_MOMENTUM) * rmean[c] + BN_MOMENTUM * mean);
            double unbiased = m > 1 ? v / (double)(m - 1) : var;
            rvar[c] = (float)((1.0 - BN_MOMENTUM) * rvar[c] + BN_MOMENTUM * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        const float mu = (float)mean, inv = (float)(1.0 / sqrt(var + SPARSE__BN_EPS));
        const float g = gamma[c], b = beta[c];
        nd->ch1[c] = mu;
        nd->ch2[c] = inv;
        for (size_t j = 0; j < m; j++) {
            float h = (x[j] - mu) * inv;
            xh[j] = h;
            y[j] = g * h + b;
        }
    }
}

void sparse__bn_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    const size_t n = net->batch, m = n * nd->h * nd->w;
    const float *gamma = nd->params[0].w;
    float *gg = nd->params[0].g, *gb = nd->params[1].g;
    const int acc = nd->need_dx ? sparse__dx_accumulate(net, in) : 1;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, nd->c * m))
    for (size_t c = 0; c < nd->c; c++) {
        const float *dy = nd->dout + c * m, *xh = nd->aux + c * m;
        float *dx = in->dout + c * m;
        double sdy = 0.0, sdyx = 0.0;
        for (size_t j = 0; j < m; j++) {
            sdy += dy[j];
            sdyx += (double)dy[j] * xh[j];
        }
        gg[c] = (float)sdyx;
        gb[c] = (float)sdy;
        if (!nd->need_dx)
            continue;
        const float k = gamma[c] * nd->ch2[c];
        if (!net->train) {
            for (size_t j = 0; j < m; j++)
                dx[j] = (acc ? dx[j] : 0.0f) + k * dy[j];
            continue;
        }
        const float a = (float)(sdy / (double)m), b = (float)(sdyx / (double)m);
        if (acc)
            for (size_t j = 0; j < m; j++)
                dx[j] += k * (dy[j] - a - xh[j] * b);
        else
            for (size_t j = 0; j < m; j++)
                dx[j] = k * (dy[j] - a - xh[j] * b);
    }
}
