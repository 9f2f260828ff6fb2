/* Shared by the export test sources (one executable). */
#ifndef TEST_EXPORT_H
#define TEST_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "sparse/sparse.h"

/* Network from YAML text, for batches of 32 (fails the test on error). */
sparse_net *export_test_net(const char *yaml, uint64_t seed);
/* n images of c x s x s in three classes, with noise. */
sparse_dataset *export_test_data(size_t n, size_t c, size_t s);
/* A fresh path inside the test's scratch directory (malloc'ed). */
char *export_test_dir(const char *name);
/* 1 if arm-none-eabi-gcc, -size, -nm and qemu-system-arm are in PATH. */
int export_test_have_arm(void);

int export_test_api_run(void);

#endif
