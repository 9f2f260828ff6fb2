/* Function-preserving widening on top of the layers module's inheritance:
 * sparse_net_inherit copies the overlapping slice of every parameter and
 * leaves the rest freshly initialised. For a layer that reads more channels
 * (or FC inputs) than in the reference, the fresh weights on the new inputs
 * would add noise to an output the reference had already learnt; zeroing
 * them makes the child compute what its reference computed (Net2Net-style),
 * so it starts at the reference's accuracy and the new channels grow in
 * from there. */
#include <stdint.h>

#include "../core/internal.h"
#include "search_internal.h"
#include "sparse/experimental.h"

/* Every element of w in the box [from[i], to[i]) of each dimension i (to
 * clipped to w's extent) multiplied by z at its index along dimension
 * group_dim (0 or 1), or set to 0 if z is NULL. */
static void scale_box(sparse_tensor *w, const size_t *from, const size_t *to, int group_dim, const float *z)
{
    int nd = sparse_tensor_dim_count(w);
    size_t n[4] = {1, 1, 1, 1};
    ptrdiff_t st[4] = {0, 0, 0, 0};
    for (int i = 0; i < nd; i++) {
        n[i] = sparse_tensor_dim(w, i) < to[i] ? sparse_tensor_dim(w, i) : to[i];
        st[i] = sparse_tensor_stride(w, i);
    }
    float *d = sparse_tensor_data(w);
    for (size_t a = from[0]; a < n[0]; a++)
        for (size_t b = from[1]; b < n[1]; b++)
            for (size_t c = from[2]; c < n[2]; c++)
                for (size_t e = from[3]; e < n[3]; e++) {
                    float *x = &d[(ptrdiff_t)a * st[0] + (ptrdiff_t)b * st[1] + (ptrdiff_t)c * st[2] +
                                  (ptrdiff_t)e * st[3]];
                    *x = z ? *x * z[group_dim ? b : a] : 0.0f;
                }
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
            scale_box(cw, (const size_t[4]){0, sparse_tensor_dim(pw, 1), 0, 0},
                      (const size_t[4]){SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX}, 1, NULL);
        sparse_tensor_free(cw);
        sparse_tensor_free(pw);
    }
    return rc;
}

/* Parameter name of child node id scaled by parent node pid's z_mu over
 * the slice it inherited; a parameter either lacks is left alone. */
static int scale_param(sparse_net *child, size_t id, const sparse_net *parent, size_t pid, const char *name,
                       int group_dim, const sparse_tensor *z)
{
    sparse_tensor *cw = NULL, *pw = NULL;
    int rc = sparse_net_param(&cw, child, id, name);
    if (!rc)
        rc = sparse_net_param(&pw, (sparse_net *)parent, pid, name);
    if (rc == SPARSE_ENOTFOUND) {
        sparse_clear_error();
        rc = SPARSE_OK;
    } else if (!rc && sparse_tensor_dim_count(cw) == sparse_tensor_dim_count(pw)) {
        size_t keep[4] = {1, 1, 1, 1};
        for (int i = 0; i < sparse_tensor_dim_count(pw); i++)
            keep[i] = sparse_tensor_dim(pw, i);
        scale_box(cw, (const size_t[4]){0, 0, 0, 0}, keep, group_dim, sparse_tensor_data_const(z));
    }
    sparse_tensor_free(cw);
    sparse_tensor_free(pw);
    return rc;
}

int sparse__inherit_means(sparse_net *child, const sparse_net *parent)
{
    int rc = SPARSE_OK;
    for (size_t id = 1; !rc && id < sparse_net_node_count(child); id++) {
        size_t pid;
        if (sparse_exp_net_variational_mode(child, id) != SPARSE_PRUNE_NONE ||
            sparse_net_find_node(parent, sparse_net_node_name(child, id), &pid)) {
            sparse_clear_error();
            continue;
        }
        if (sparse_exp_net_variational_mode(parent, pid) != SPARSE_PRUNE_BC ||
            sparse_net_node_kind(parent, pid) != sparse_net_node_kind(child, id))
            continue;
        /* Groups as BC draws them: an FC layer's inputs (weight columns),
         * any other layer's output channels (weight rows and biases). */
        const int fc = sparse_net_node_kind(child, id) == SPARSE_LAYER_FC;
        sparse_tensor *z = NULL;
        rc = sparse_net_param(&z, (sparse_net *)parent, pid, "z_mu");
        if (!rc)
            rc = scale_param(child, id, parent, pid, "weight", fc, z);
        if (!rc && !fc)
            rc = scale_param(child, id, parent, pid, "bias", 0, z);
        sparse_tensor_free(z);
    }
    return rc;
}
