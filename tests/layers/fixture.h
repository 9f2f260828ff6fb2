/* What the parts of test_layers share: architectures and networks from
 * YAML text, the example architectures, non-trivial parameters and a small
 * data set of blobs. */
#ifndef SPARSE_TEST_LAYERS_FIXTURE_H
#define SPARSE_TEST_LAYERS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <sparse/sparse.h>

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "examples/arch"
#endif

/* The input and classes of the small architectures: append the layers. */
#define HEAD "input: [3, 7, 7]\nclasses: 4\nlayers:\n"

/* yaml parsed (named test.yaml); fails the test on an error. */
sparse_arch *parse(const char *yaml);
/* The network of yaml for batch images, weights drawn from seed. */
sparse_net *make_net(const char *yaml, size_t batch, uint64_t seed);
/* Gives biases and batch-norm parameters non-trivial values. */
void randomise_params(sparse_net *net, uint64_t seed);
/* The text of EXAMPLES_DIR/name (caller frees). */
char *read_example(const char *name);
/* n images of c x hw x hw in `classes` classes told apart by where a bright
 * blob is; a NaN in the first image if nan. */
sparse_dataset *blobs(size_t n, size_t c, size_t hw, size_t classes, uint64_t seed, int nan);

#endif
