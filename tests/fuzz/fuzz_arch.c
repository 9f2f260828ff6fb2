/* Architecture YAML: parsed, validated, and when valid and small enough to
 * be a network a user would train here, built (one image per batch). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

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
        if (c * h * w <= 4096 && sparse_arch_layer_count(a) <= 64 &&
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
