/* Fused groups: a batch norm, a ReLU and a max pooling whose windows tile
 * the map (any two or three of them, in that order) run as one pass per
 * channel over their producer's output, as training and evaluation do
 * (sparse_net_train, sparse_net_evaluate). The group's intermediate
 * outputs are never written: the forward pass writes the last node's
 * output (and the pooling's argmax), the backward pass recomputes the
 * normalised values and the ReLU's sign from the producer's output and
 * writes the producer's gradient. Each value goes through the same float
 * operations as in the node-by-node kernels, so the two give the same bits
 * (tests/layers/test_kernels.c). sparse_net_forward runs node by node, so
 * that every node's output can be read after it. */
#include "layers_internal.h"

static int plain(const sparse__node *nd) { return !nd->hook_fwd && !nd->hook_bwd && !nd->var; }

static int tiled_maxpool(const sparse__node *nd)
{
    return (nd->kind == SPARSE_LAYER_MAXPOOL || nd->kind == SPARSE_LAYER_INPUT_DOWNSAMPLE) && nd->depth_rate == 1 &&
           nd->stride == nd->k;
}

size_t sparse__fused_len(const sparse_net *net, size_t i)
{
    /* the steps in the order a group may have them */
    size_t len = 0;
    int step = 0;
    for (size_t j = i; j < net->n_nodes; j++, len++) {
        const sparse__node *nd = &net->nodes[j];
        int s = nd->kind == SPARSE_LAYER_BATCHNORM ? 1 : nd->kind == SPARSE_LAYER_RELU ? 2 : tiled_maxpool(nd) ? 3 : 0;
        if (!s || s <= step || !plain(nd))
            break;
        /* reads the step before, the only reader of that step */
        if (j > i && (nd->n_in != 1 || nd->in[0] != j - 1 || net->nodes[j - 1].readers != 1))
            break;
        step = s;
    }
    return len;
}

/* The group's description for channel c (bn statistics filled by the
 * caller). */
static sparse__epi epi_of(const sparse_net *net, size_t i, size_t len, size_t c)
{
    const sparse__node *first = &net->nodes[i], *last = &net->nodes[i + len - 1];
    sparse__epi e = {0, 0, 0, 0.0f, 1.0f, 1.0f, 0.0f, first->h, first->w, last->h, last->w, net->batch};
    for (size_t j = i; j < i + len; j++) {
        const sparse__node *nd = &net->nodes[j];
        if (nd->kind == SPARSE_LAYER_BATCHNORM) {
            e.bn = 1;
            e.mu = nd->ch1[c];
            e.inv = nd->ch2[c];
            e.g = nd->params[0].w[c];
            e.b = nd->params[1].w[c];
        } else if (nd->kind == SPARSE_LAYER_RELU)
            e.relu = 1;
        else
            e.pool = nd->k;
    }
    return e;
}

void sparse__fused_forward(sparse_net *net, size_t i, size_t len)
{
    sparse__node *first = &net->nodes[i], *last = &net->nodes[i + len - 1];
    const sparse__node *in = &net->nodes[first->in[0]];
    const size_t n = net->batch, m = first->h * first->w * n, mo = last->h * last->w * n;
    const int pool = tiled_maxpool(last);
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, first->c * m))
    for (size_t c = 0; c < first->c; c++) {
        const float *x = in->out + c * m;
        if (first->kind == SPARSE_LAYER_BATCHNORM)
            sparse__bn_channel_stats(net, first, c, x);
        const sparse__epi e = epi_of(net, i, len, c);
        net->kern.epi_forward(&e, x, c * m, last->out + c * mo, pool && net->train ? last->idx + c * mo : NULL);
    }
}

void sparse__fused_backward(sparse_net *net, size_t i, size_t len)
{
    sparse__node *first = &net->nodes[i], *last = &net->nodes[i + len - 1];
    sparse__node *in = &net->nodes[first->in[0]];
    const size_t n = net->batch, m = first->h * first->w * n, mo = last->h * last->w * n;
    const int bn = first->kind == SPARSE_LAYER_BATCHNORM;
    if (!bn && !first->need_dx)
        return;
    const int acc = first->need_dx ? sparse__dx_accumulate(net, in) : 1;
#pragma omp parallel for schedule(static) num_threads(SPARSE__NT(net, first->c * m))
    for (size_t c = 0; c < first->c; c++) {
        const float *x = in->out + c * m;
        const sparse__epi e = epi_of(net, i, len, c);
        const int32_t *idx = e.pool ? last->idx + c * mo : NULL;
        if (!bn) {
            net->kern.epi_backward(&e, x, last->dout + c * mo, idx, c * m, in->dout + c * m, acc);
            continue;
        }
        /* the batch norm's output gradient goes through its own (otherwise
         * unused) buffer, then on as sparse__bn_backward takes it */
        net->kern.epi_backward(&e, x, last->dout + c * mo, idx, c * m, first->dout + c * m, 0);
        sparse__bn_channel_backward(net, first, c, x, first->need_dx ? in->dout + c * m : NULL, acc);
    }
}
