/* The deterministic random numbers (xorshift) of test_quant.c and
 * test_quant_net.c: one sequence, drawn in the order the tests run. */
#ifndef TEST_MEMORY_QUANT_RNG_H
#define TEST_MEMORY_QUANT_RNG_H

#include <stdint.h>

uint32_t rnd(void);
/* Uniform on [-128, 127]. */
int8_t rnd8(void);
/* Uniform on [0, 1). */
double rndu(void);

#endif
