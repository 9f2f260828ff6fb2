/* Softmax cross-entropy with optional label smoothing, on the logits of
 * the last node ((classes, N) channel-major). Fills that node's dout with
 * d(mean loss)/d(logits). */
#include <math.h>

#include "layers_internal.h"

int sparse__loss(sparse_net *net, const int32_t *labels, float smoothing, double *loss)
{
    sparse__node *last = &net->nodes[net->n_nodes - 1];
    const size_t n = net->batch, K = net->classes;
    const float *z = last->out;
    float *p = net->probs, *dz = last->dout;
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= K)
            return sparse__error(SPARSE_ERANGE, "loss: label %d of image %zu outside 0..%zu", (int)labels[i], i,
                                 K - 1);
    const double off = (double)smoothing / (double)K, on = 1.0 - (double)smoothing + off;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float mx = z[i];
        for (size_t k = 1; k < K; k++)
            if (z[k * n + i] > mx)
                mx = z[k * n + i];
        double s = 0.0;
        for (size_t k = 0; k < K; k++) {
            float e = expf(z[k * n + i] - mx);
            p[k * n + i] = e;
            s += e;
        }
        const double lse = log(s) + mx;
        double li = 0.0;
        const float inv = (float)(1.0 / s);
        for (size_t k = 0; k < K; k++) {
            const double q = (size_t)labels[i] == k ? on : off;
            if (q != 0.0)
                li -= q * (z[k * n + i] - lse);
            p[k * n + i] *= inv;
            dz[k * n + i] = (float)((p[k * n + i] - q) / (double)n);
        }
        total += li;
    }
    *loss = total / (double)n;
    if (!isfinite(*loss))
        return sparse__error(SPARSE_ENUMERIC, "loss is %s", isnan(*loss) ? "NaN" : "infinite");
    return SPARSE_OK;
}
