/* What the parts of test_prune share: a graph with every way channels are
 * shared, its network, random inputs and parameter views. Include after
 * cmocka.h. */
#ifndef SPARSE_TESTS_PRUNE_FIXTURE_H
#define SPARSE_TESTS_PRUNE_FIXTURE_H

#include <stddef.h>

#include "sparse/sparse.h"

/* A graph with every kind of weight node and every way channels are
 * shared: residual sum, separable (depthwise + pointwise), downsampled
 * conv (1x1 reduce), concatenation, a batch norm, a spatial FC input. */
extern const char *const GRAPH;

/* The network of yaml for batch images, seed 7; fails the test on an error. */
sparse_net *make_net(const char *yaml, size_t batch);
/* n images of standard normal pixels for net's input, drawn from seed. */
sparse_tensor *rand_input(sparse_net *net, size_t n, unsigned seed);
/* The data of parameter `name` of node id and its element count, or NULL
 * (an error set) if the node has no such parameter. */
float *param_data(sparse_net *net, size_t id, const char *name, size_t *n);

#endif
