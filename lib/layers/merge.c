/* Merges: elementwise sum of equal shapes, or concatenation along
 * channels. With channel-major activations a concatenation is a sequence
 * of contiguous copies. */
#include <string.h>

#include "layers_internal.h"

void sparse__merge_forward(sparse_net *net, sparse__node *nd)
{
    const size_t n = net->batch;
    if (nd->merge == SPARSE_MERGE_SUM) {
        const size_t m = nd->sz * n;
        memcpy(nd->out, net->nodes[nd->in[0]].out, m * sizeof(float));
        for (size_t k = 1; k < nd->n_in; k++) {
            const float *x = net->nodes[nd->in[k]].out;
            for (size_t j = 0; j < m; j++)
                nd->out[j] += x[j];
        }
        return;
    }
    float *y = nd->out;
    for (size_t k = 0; k < nd->n_in; k++) {
        const sparse__node *in = &net->nodes[nd->in[k]];
        memcpy(y, in->out, in->sz * n * sizeof(float));
        y += in->sz * n;
    }
}

void sparse__merge_backward(sparse_net *net, sparse__node *nd)
{
    const size_t n = net->batch;
    const float *dy = nd->dout;
    for (size_t k = 0; k < nd->n_in; k++) {
        sparse__node *in = &net->nodes[nd->in[k]];
        const size_t m = in->sz * n;
        if (in->wants_grad) {
            if (sparse__dx_accumulate(net, in))
                for (size_t j = 0; j < m; j++)
                    in->dout[j] += dy[j];
            else
                memcpy(in->dout, dy, m * sizeof(float));
        }
        if (nd->merge == SPARSE_MERGE_CONCAT)
            dy += m;
    }
}
