/* Shared by the memory test sources (one executable). */
#ifndef TEST_MEMORY_NET_H
#define TEST_MEMORY_NET_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/sparse.h"

/* Network from YAML text (fails the test on error). Owned by the caller. */
sparse_net *memtest_net(const char *yaml, size_t max_batch, uint64_t seed);
/* 0 tiny-cnn, 1 lenet5, 2 all-layers. */
const char *memtest_yaml(int which);

#endif
