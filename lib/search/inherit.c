/* Weight inheritance (paper section 3.5 and Appendix C): a morph starts from
 * its reference's posterior. Nodes are matched by name (names encode the
 * position in the genome); a parameter of the same kind and shape is copied
 * whole, one whose shape changed gets the overlapping slice (the first
 * output channels, the first input channels, the top-left of the kernel),
 * and everything else keeps its fresh initialisation. */
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"

/* Copies the leading min(dst, src) block of two contiguous tensors of equal
 * rank (1..4). */
static void copy_overlap(sparse_tensor *dst, sparse_tensor *src)
{
    int nd = sparse_tensor_ndim(dst);
    size_t n[4] = {1, 1, 1, 1};
    ptrdiff_t sd[4] = {0, 0, 0, 0}, ss[4] = {0, 0, 0, 0};
    for (int i = 0; i < nd; i++) {
        size_t a = sparse_tensor_dim(dst, i), b = sparse_tensor_dim(src, i);
        n[4 - nd + i] = a < b ? a : b;
        sd[4 - nd + i] = sparse_tensor_stride(dst, i);
        ss[4 - nd + i] = sparse_tensor_stride(src, i);
    }
    float *d = sparse_tensor_data(dst);
    const float *s = sparse_tensor_data_const(src);
    for (size_t i0 = 0; i0 < n[0]; i0++)
        for (size_t i1 = 0; i1 < n[1]; i1++)
            for (size_t i2 = 0; i2 < n[2]; i2++)
                for (size_t i3 = 0; i3 < n[3]; i3++)
                    d[(ptrdiff_t)i0 * sd[0] + (ptrdiff_t)i1 * sd[1] + (ptrdiff_t)i2 * sd[2] +
                      (ptrdiff_t)i3 * sd[3]] = s[(ptrdiff_t)i0 * ss[0] + (ptrdiff_t)i1 * ss[1] +
                                                 (ptrdiff_t)i2 * ss[2] + (ptrdiff_t)i3 * ss[3]];
}

int sp_inherit(sparse_net *child, sparse_net *parent, size_t *copied)
{
    SPARSE__CHECK_NULL(child);
    SPARSE__CHECK_NULL(parent);
    size_t count = 0;
    int rc = SPARSE_OK;
    for (size_t id = 1; !rc && id < sparse_net_node_count(child); id++) {
        size_t pid;
        const char *name = sparse_net_node_name(child, id);
        if (!name || sparse_net_find_node(parent, name, &pid)) {
            sparse_clear_error();
            continue;
        }
        if (sparse_net_node_kind(child, id) != sparse_net_node_kind(parent, pid))
            continue;
        for (size_t k = 0; !rc && k < sparse_net_param_count(child, id); k++) {
            const char *pname = sparse_net_param_name(child, id, k);
            sparse_tensor *dst = NULL, *src = NULL;
            if (sparse_net_param(parent, pid, pname, &src)) {
                sparse_clear_error();
                continue;
            }
            rc = sparse_net_param(child, id, pname, &dst);
            if (!rc && sparse_tensor_ndim(dst) == sparse_tensor_ndim(src)) {
                copy_overlap(dst, src);
                count++;
            }
            sparse_tensor_free(dst);
            sparse_tensor_free(src);
        }
    }
    if (copied)
        *copied = count;
    return rc;
}
