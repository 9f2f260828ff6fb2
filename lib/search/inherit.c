/* Function-preserving widening on top of the layers module's inheritance:
 * sparse_net_inherit copies the overlapping slice of every parameter and
 * leaves the rest freshly initialised. For a layer that reads more channels
 * (or FC inputs) than in the reference, the fresh weights on the new inputs
 * would add noise to an output the reference had already learnt; zeroing
 * them makes the child compute what its reference computed (Net2Net-style),
 * so it starts at the reference's accuracy and the new channels grow in
 * from there. */
#include "../core/internal.h"
#include "search_internal.h"

static void zero_new_inputs(sparse_tensor *w, size_t keep)
{
    int nd = sparse_tensor_dim_count(w);
    size_t n[4] = {1, 1, 1, 1};
    ptrdiff_t st[4] = {0, 0, 0, 0};
    for (int i = 0; i < nd; i++) {
        n[i] = sparse_tensor_dim(w, i);
        st[i] = sparse_tensor_stride(w, i);
    }
    float *d = sparse_tensor_data(w);
    for (size_t a = 0; a < n[0]; a++)
        for (size_t b = keep; b < n[1]; b++)
            for (size_t c = 0; c < n[2]; c++)
                for (size_t e = 0; e < n[3]; e++)
                    d[(ptrdiff_t)a * st[0] + (ptrdiff_t)b * st[1] + (ptrdiff_t)c * st[2] + (ptrdiff_t)e * st[3]] = 0.0f;
}

int sparse__inherit(sparse_net *child, const sparse_net *parent, size_t *copied)
{
    int rc = sparse_net_inherit(child, parent, copied);
    for (size_t id = 1; !rc && id < sparse_net_node_count(child); id++) {
        int kind = sparse_net_node_kind(child, id);
        if (kind != SPARSE_LAYER_CONV2D && kind != SPARSE_LAYER_FC)
            continue;
        size_t pid;
        if (sparse_net_find_node(parent, sparse_net_node_name(child, id), &pid) ||
            sparse_net_node_kind(parent, pid) != kind) {
            sparse_clear_error();
            continue;
        }
        /* Weights are (out, in, kh, kw) and (out, in): dimension 1 is the input. */
        sparse_tensor *cw = NULL, *pw = NULL;
        rc = sparse_net_param(&cw, child, id, "weight");
        if (!rc)
            rc = sparse_net_param(&pw, (sparse_net *)parent, pid, "weight");
        if (!rc && sparse_tensor_dim_count(cw) >= 2 &&
            sparse_tensor_dim_count(cw) == sparse_tensor_dim_count(pw) &&
            sparse_tensor_dim(cw, 1) > sparse_tensor_dim(pw, 1))
            zero_new_inputs(cw, sparse_tensor_dim(pw, 1));
        sparse_tensor_free(cw);
        sparse_tensor_free(pw);
    }
    return rc;
}
