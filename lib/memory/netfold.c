/* The deployed view of a sparse_net: which batch norm folds into which node,
 * and the folded parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "netfold.h"

void sparse__netfold_free(sparse__netfold *f)
{
    if (!f)
        return;
    free(f->consumers);
    free(f->bn_of);
    memset(f, 0, sizeof *f);
}

int sparse__netfold_create(sparse__netfold *f, const sparse_net *net)
{
    SPARSE__CHECK_NULL(f);
    memset(f, 0, sizeof *f);
    SPARSE__CHECK_NULL(net);
    size_t n = sparse_net_node_count(net);
    f->consumers = sparse__calloc(n ? n : 1, sizeof *f->consumers);
    f->bn_of = sparse__calloc(n ? n : 1, sizeof *f->bn_of);
    if (!f->consumers || !f->bn_of) {
        sparse__netfold_free(f);
        return SPARSE_ENOMEM;
    }
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        f->bn_of[i] = SIZE_MAX;
        size_t k = sparse_net_node_input_count(net, i);
        for (size_t j = 0; j < k; j++) {
            size_t src;
            int rc = sparse_net_node_input(net, i, j, &src);
            if (rc) {
                sparse__netfold_free(f);
                return rc;
            }
            f->consumers[src]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (sparse_net_node_kind(net, i) != SPARSE_LAYER_BATCHNORM)
            continue;
        size_t src;
        int rc = sparse_net_node_input(net, i, 0, &src);
        if (rc) {
            sparse__netfold_free(f);
            return rc;
        }
        int sk = sparse_net_node_kind(net, src);
        /* Folding rewrites the producer's output, so nobody else may read it. */
        if (!sparse_layer_kind_has_weights(sk) || f->consumers[src] != 1 || f->bn_of[src] != SIZE_MAX) {
            rc = sparse__error(
                SPARSE_EUNSUPPORTED, "batch norm '%s' cannot be folded: its input '%s' (%s) %s",
                sparse_net_node_name(net, i), sparse_net_node_name(net, src), sparse_layer_kind_name(sk),
                sparse_layer_kind_has_weights(sk) ? "is also read by other nodes"
                                                  : "is not a conv2d, depthwise_conv2d or fc layer");
            sparse__netfold_free(f);
            return rc;
        }
        f->bn_of[src] = i;
    }
    return SPARSE_OK;
}

int sparse__netfold_relu_fuses(const sparse__netfold *f, const sparse_net *net, size_t src)
{
    return src < f->n && f->consumers[src] == 1 && sparse_net_node_kind(net, src) != SPARSE_LAYER_INPUT;
}

/* A malloc'ed copy of t's values (in index order, whatever its strides). */
static int copy_values(const sparse_tensor *t, float **out, size_t *n)
{
    size_t m = sparse_tensor_element_count(t);
    float *buf = sparse__malloc((m ? m : 1) * sizeof *buf);
    if (!buf)
        return SPARSE_ENOMEM;
    if (sparse_tensor_is_contiguous(t)) {
        memcpy(buf, sparse_tensor_data_const(t), m * sizeof *buf);
    } else {
        sparse_tensor *c = NULL;
        int rc = sparse_tensor_clone(&c, t);
        if (rc) {
            free(buf);
            return rc;
        }
        memcpy(buf, sparse_tensor_data_const(c), m * sizeof *buf);
        sparse_tensor_free(c);
    }
    *out = buf;
    *n = m;
    return SPARSE_OK;
}

/* Copy of parameter `name` of node id (the API hands out views only through
 * a non-const net; reading through the view does not modify the network). */
static int copy_param(const sparse_net *net, size_t id, const char *name, float **out, size_t *n)
{
    sparse_tensor *t = NULL;
    int rc = sparse_net_param(&t, (sparse_net *)(uintptr_t)net, id, name);
    if (!rc)
        rc = copy_values(t, out, n);
    sparse_tensor_free(t);
    return rc;
}

static int has_param(const sparse_net *net, size_t id, const char *name)
{
    size_t k = sparse_net_param_count(net, id);
    for (size_t i = 0; i < k; i++) {
        const char *p = sparse_net_param_name(net, id, i);
        if (p && !strcmp(p, name))
            return 1;
    }
    return 0;
}

/* The weighted node's batch norm folded in by the layers module, which
 * keeps the formula and its epsilon. */
static int copy_folded(const sparse_net *net, size_t bn, float **w, size_t *nw, float **b, size_t *nb)
{
    sparse_tensor *fw = NULL, *fb = NULL;
    int rc = sparse_net_fold_batchnorm(&fw, &fb, net, bn);
    if (!rc)
        rc = copy_values(fw, w, nw);
    if (!rc)
        rc = copy_values(fb, b, nb);
    sparse_tensor_free(fw);
    sparse_tensor_free(fb);
    return rc;
}

int sparse__netfold_params(const sparse__netfold *f, const sparse_net *net, size_t id, float **w,
                           size_t *nw, float **b, size_t *nb, size_t *out_c)
{
    *w = NULL;
    *b = NULL;
    *nw = *nb = *out_c = 0;
    size_t c, h, wd;
    int rc = sparse_net_node_shape(net, id, &c, &h, &wd);
    if (rc)
        return rc;
    float *W = NULL, *B = NULL;
    size_t n_w = 0, n_b = 0;
    if (f->bn_of[id] != SIZE_MAX) {
        rc = copy_folded(net, f->bn_of[id], &W, &n_w, &B, &n_b);
    } else {
        rc = copy_param(net, id, "weight", &W, &n_w);
        if (!rc && has_param(net, id, "bias"))
            rc = copy_param(net, id, "bias", &B, &n_b);
    }
    if (!rc && (n_w % c || (B && n_b != c)))
        rc = sparse__error(SPARSE_EINTERNAL, "node '%s': %zu weights, %zu biases for %zu channels",
                           sparse_net_node_name(net, id), n_w, n_b, c);
    if (rc) {
        free(W);
        free(B);
        return rc;
    }
    *w = W;
    *b = B;
    *nw = n_w;
    *nb = n_b;
    *out_c = c;
    return SPARSE_OK;
}
