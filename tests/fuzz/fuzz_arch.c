/* Architecture YAML: parsed, validated, and when valid and small enough to
 * be a network a user would train here, built (one image per batch). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

/* At most 32 filters and 128 units a layer: a valid LeNet with 2,050
 * filters and an FC of 794 units has 234 million weights, which the library
 * allocates as asked but which exceed the fuzzer's 2 GB (regress/arch/
 * oversized-network.yaml). */
static int small_layers(const sparse_arch *a)
{
    for (size_t i = 0; i < sparse_arch_layer_count(a); i++) {
        sparse_layer_spec L;
        sparse_layer_spec_init(&L, SPARSE_LAYER_SPEC_VERSION);
        if (sparse_arch_layer(a, i, &L) != SPARSE_OK || L.filters > 32 || L.units > 128)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sparse_arch *a = NULL;
    if (sparse_arch_parse_yaml(&a, (const char *)data, size, "fuzz.yaml") == SPARSE_OK) {
        char *yaml = NULL;
        if (sparse_arch_to_yaml(&yaml, a) == SPARSE_OK) {
            /* What the library writes it must read back. */
            sparse_arch *b = NULL;
            if (sparse_arch_parse_yaml(&b, yaml, strlen(yaml), "roundtrip.yaml") != SPARSE_OK)
                __builtin_trap();
            sparse_arch_free(b);
        }
        free(yaml);
        size_t c = 0, h = 0, w = 0;
        sparse_arch_input_shape(a, &c, &h, &w);
        sparse_net *net = NULL;
        if (c * h * w <= 4096 && sparse_arch_layer_count(a) <= 64 && small_layers(a) &&
            sparse_net_create(&net, a, 1, 1) == SPARSE_OK) {
            sparse_memreport *r = NULL;
            sparse_memreport_from_net(&r, net, NULL);
            sparse_memreport_free(r);
        }
        sparse_net_free(net);
    }
    sparse_arch_free(a);
    return 0;
}
