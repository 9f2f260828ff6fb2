/* ReLU. */
#include "layers_internal.h"

void sparse__relu_forward(sparse_net *net, lnode *nd)
{
    const lnode *in = &net->nodes[nd->in[0]];
    const size_t m = nd->sz * net->batch;
    const float *x = in->out;
    float *y = nd->out;
    for (size_t i = 0; i < m; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sparse__relu_backward(sparse_net *net, lnode *nd)
{
    lnode *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t m = nd->sz * net->batch;
    const float *y = nd->out, *dy = nd->dout;
    float *dx = in->dout;
    for (size_t i = 0; i < m; i++)
        dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}
