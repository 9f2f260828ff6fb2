/* ReLU. */
#include "layers_internal.h"

void sparse__relu_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t m = nd->sz * net->batch;
    const float *restrict x = in->out;
    float *restrict y = nd->out;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
    for (size_t i = 0; i < m; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sparse__relu_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t m = nd->sz * net->batch;
    const float *restrict y = nd->out, *restrict dy = nd->dout;
    float *restrict dx = in->dout;
    /* Unconditional loads, then a select: vectorises to a blend. */
    if (sparse__dx_accumulate(net, in)) {
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
        for (size_t i = 0; i < m; i++) {
            const float g = dy[i];
            dx[i] += y[i] > 0.0f ? g : 0.0f;
        }
    } else {
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, m))
        for (size_t i = 0; i < m; i++) {
            const float g = dy[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
    }
}
