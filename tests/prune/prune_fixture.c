#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sparse/sparse.h"
#include "prune_fixture.h"

const char *const GRAPH =
    "name: g\ninput: [2, 8, 8]\nclasses: 3\nlayers:\n"
    "  - {type: conv2d, name: c1, filters: 6, kernel: 3, padding: same}\n"
    "  - {type: relu, name: r1}\n"
    "  - {type: conv2d, name: c2, filters: 6, kernel: 3, padding: same}\n"
    "  - {type: residual, name: res, input: [r1]}\n"
    "  - {type: separable_conv2d, name: s1, filters: 5, kernel: 3, padding: same}\n"
    "  - {type: downsampled_conv2d, name: d1, filters: 4, kernel: 3, rate: 0.5, padding: same, input: [res]}\n"
    "  - {type: batchnorm, name: bn, input: [d1]}\n"
    "  - {type: merge, name: cat, input: [s1, bn], mode: concat}\n"
    "  - {type: maxpool, name: p1, size: 2}\n"
    "  - {type: fc, name: f1, units: 7}\n"
    "  - {type: relu, name: r2}\n"
    "  - {type: fc, name: f2, units: 3}\n";

sparse_net *make_net(const char *yaml, size_t batch)
{
    sparse_arch *a = NULL;
    if (sparse_arch_parse_yaml(&a, yaml, strlen(yaml), NULL))
        fail_msg("%s", sparse_last_error());
    sparse_net *net = NULL;
    assert_int_equal(sparse_net_create(&net, a, batch, 7), SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

sparse_tensor *rand_input(sparse_net *net, size_t n, unsigned seed)
{
    size_t c, h, w;
    sparse_net_node_shape(net, 0, &c, &h, &w);
    sparse_tensor *x = NULL;
    assert_int_equal(sparse_tensor_create_nchw(&x, n, c, h, w), SPARSE_OK);
    sparse_rng *r = NULL;
    sparse_rng_create(&r, seed);
    float *d = sparse_tensor_data(x);
    for (size_t i = 0; i < sparse_tensor_element_count(x); i++)
        d[i] = (float)sparse_rng_normal(r);
    sparse_rng_free(r);
    return x;
}

float *param_data(sparse_net *net, size_t id, const char *name, size_t *n)
{
    sparse_tensor *t = NULL;
    if (sparse_net_param(&t, net, id, name))
        return NULL;
    float *d = sparse_tensor_data(t);
    *n = sparse_tensor_element_count(t);
    sparse_tensor_free(t); /* the view's storage belongs to the network */
    return d;
}
