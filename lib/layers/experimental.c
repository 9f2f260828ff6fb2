/* Experimental hooks (include/sparse/experimental.h): profiling counters,
 * per-node forward/backward replacements, extra parameters, extra loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers_internal.h"

SPARSE__STRUCT_VERSIONS(profile_versions, sparse_exp_profile, SPARSE_EXP_PROFILE_INIT,
                        SPARSE_EXP_PROFILE_VERSION, sizeof(sparse_exp_profile));

SPARSE_API int sparse_exp_net_profile(sparse_net *net, int enable)
{
    SPARSE__CHECK_NULL(net);
    net->prof = enable ? 1 : 0;
    if (enable) {
        memset(net->node_s, 0, 2 * net->n_nodes * sizeof *net->node_s);
        memset(&net->pr, 0, sizeof net->pr);
        net->pr.version = SPARSE_EXP_PROFILE_VERSION;
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_profile_get(const sparse_net *net, sparse_exp_profile *p)
{
    SPARSE__CHECK_NULL(net);
    return sparse__struct_write(&profile_versions, p, &net->pr, "sparse_exp_net_profile_get");
}

SPARSE_API int sparse_exp_net_profile_node(const sparse_net *net, size_t id, double *forward_seconds,
                                           double *backward_seconds)
{
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_profile_node: no node %zu", id);
    if (forward_seconds)
        *forward_seconds = net->node_s[2 * id];
    if (backward_seconds)
        *backward_seconds = net->node_s[2 * id + 1];
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_hooks(sparse_net *net, size_t id, sparse_exp_node_fn forward,
                                        sparse_exp_node_fn backward, void *user)
{
    SPARSE__CHECK_NULL(net);
    if (id == 0 || id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_hooks: node %zu (1..%zu)", id, net->n_nodes - 1);
    sparse__node *nd = &net->nodes[id];
    nd->hook_fwd = forward;
    nd->hook_bwd = backward;
    nd->hook_user = user;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_add_param(sparse_net *net, size_t id, const char *name, int ndim,
                                        const size_t *shape, float init_value, int trainable)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(name);
    SPARSE__CHECK_NULL(shape);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_add_param: no node %zu", id);
    sparse__node *nd = &net->nodes[id];
    if (!*name || strchr(name, '.') || sparse__find_param(nd, name))
        return sparse__error(SPARSE_EINVAL, "sparse_exp_net_add_param: node '%s' cannot take a parameter '%s'",
                             nd->name, name);
    sparse__param np;
    memset(&np, 0, sizeof np);
    int rc = sparse_tensor_create(&np.value, ndim, shape);
    if (!rc)
        rc = sparse_tensor_create(&np.grad, ndim, shape);
    np.name = sparse__strdup(name);
    np.n = sparse_tensor_element_count(np.value);
    if (!rc && np.name && trainable) {
        np.m = sparse__calloc(np.n, sizeof(float));
        np.v = sparse__calloc(np.n, sizeof(float));
    }
    sparse__param *ps = NULL;
    if (!rc && np.name && (!trainable || (np.m && np.v)))
        ps = sparse__realloc(nd->params, (nd->n_params + 1) * sizeof *ps);
    if (!ps) {
        sparse_tensor_free(np.value);
        sparse_tensor_free(np.grad);
        free(np.name);
        free(np.m);
        free(np.v);
        return rc ? rc : SPARSE_ENOMEM;
    }
    np.w = sparse_tensor_data(np.value);
    np.g = sparse_tensor_data(np.grad);
    np.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        np.shape[i] = shape[i];
    np.trainable = trainable ? 1 : 0;
    for (size_t j = 0; j < np.n; j++)
        np.w[j] = init_value;
    nd->params = ps;
    nd->params[nd->n_params++] = np;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_extra_loss(sparse_net *net, sparse_exp_loss_fn fn, void *user)
{
    SPARSE__CHECK_NULL(net);
    net->extra_loss = fn;
    net->extra_user = user;
    return SPARSE_OK;
}

int sparse__net_limit_conv_memory(sparse_net *net, size_t chunk_floats)
{
    SPARSE__CHECK_NULL(net);
    for (size_t i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].kind == SPARSE_LAYER_CONV2D) {
            free(net->nodes[i].aux);
            net->nodes[i].aux = NULL;
        }
    /* Never more than the work buffer allocated at creation. */
    net->conv_budget = chunk_floats && chunk_floats < net->work_n ? chunk_floats : 0;
    return SPARSE_OK;
}

SPARSE_API int sparse_exp_net_set_lr_scale(sparse_net *net, size_t id, const char *param, double scale)
{
    SPARSE__CHECK_NULL(net);
    if (id >= net->n_nodes)
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_lr_scale: no node %zu", id);
    if (!(scale > 0.0) || !isfinite(scale))
        return sparse__error(SPARSE_ERANGE, "sparse_exp_net_set_lr_scale: scale must be finite and > 0, not %g",
                             scale);
    sparse__node *nd = &net->nodes[id];
    if (param) {
        sparse__param *p = sparse__find_param(nd, param);
        if (!p)
            return sparse__error(SPARSE_ENOTFOUND, "sparse_exp_net_set_lr_scale: node '%s' has no parameter '%s'",
                                 nd->name, param);
        p->lr_scale = (float)scale;
        return SPARSE_OK;
    }
    for (size_t k = 0; k < nd->n_params; k++)
        nd->params[k].lr_scale = (float)scale;
    return SPARSE_OK;
}
