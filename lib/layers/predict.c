/* Inference of one image, the float counterpart of sparse_qnet_predict: what
 * an application classifying one input at a time calls, without building a
 * tensor. */
#include <string.h>

#include "layers_internal.h"

SPARSE_API int sparse_net_predict(sparse_net *net, const float *image, float *logits, int *label)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(image);
    sparse__net_set_input(net, image, 1);
    int rc = sparse__net_forward_raw(net, 1, 0, 1);
    if (rc)
        return rc;
    /* The logits node holds (classes, 1): one value per class. */
    const float *z = net->nodes[net->n_nodes - 1].out;
    size_t best = 0;
    for (size_t k = 1; k < net->classes; k++)
        if (z[k] > z[best])
            best = k;
    if (logits)
        memcpy(logits, z, net->classes * sizeof *logits);
    if (label)
        *label = (int)best;
    return SPARSE_OK;
}
