#include <stdint.h>

#include "quant_rng.h"

static uint64_t rng_state = 88172645463325252ULL;
uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
int8_t rnd8(void) { return (int8_t)((int32_t)(rnd() % 256) - 128); }
double rndu(void) { return (double)rnd() / 4294967296.0; }
