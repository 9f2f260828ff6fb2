/* ReLU (the loops are vector kernels of kern.h). */
#include "layers_internal.h"

void sparse__relu_forward(sparse_net *net, sparse__node *nd)
{
    const sparse__node *in = &net->nodes[nd->in[0]];
    const size_t m = nd->sz * net->batch, nt = (size_t)SPARSE__NT(net, m), per = (m + nt - 1) / nt;
#pragma omp parallel for schedule(static) num_threads((int)nt)
    for (size_t t = 0; t < nt; t++)
        if (t * per < m)
            net->kern.relu(in->out + t * per, nd->out + t * per, t * per + per <= m ? per : m - t * per);
}

void sparse__relu_backward(sparse_net *net, sparse__node *nd)
{
    sparse__node *in = &net->nodes[nd->in[0]];
    if (!nd->need_dx)
        return;
    const size_t m = nd->sz * net->batch, nt = (size_t)SPARSE__NT(net, m), per = (m + nt - 1) / nt;
    const int acc = sparse__dx_accumulate(net, in);
#pragma omp parallel for schedule(static) num_threads((int)nt)
    for (size_t t = 0; t < nt; t++)
        if (t * per < m)
            net->kern.relu_grad(nd->out + t * per, nd->dout + t * per, in->dout + t * per,
                                t * per + per <= m ? per : m - t * per, acc);
}
