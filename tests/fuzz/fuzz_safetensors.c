/* safetensors weights: loaded into a fixed small network (strict and with
 * extra tensors allowed), and the stored architecture read back. */
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

static const char arch_yaml[] = "name: f\ninput: [1, 4, 4]\nclasses: 2\nlayers:\n"
                                "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n"
                                "  - {type: batchnorm, name: bn}\n"
                                "  - {type: relu, name: r}\n"
                                "  - {type: fc, name: fc, units: 2}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("w.safetensors", data, size);
    if (!path)
        return 0;
    sparse_arch *a = NULL;
    sparse_net *net = NULL;
    if (sparse_arch_parse_yaml(&a, arch_yaml, strlen(arch_yaml), "fixed.yaml") != SPARSE_OK ||
        sparse_net_create(&net, a, 1, 1) != SPARSE_OK)
        __builtin_trap();
    sparse_net_load(net, path, 0);
    sparse_net_load(net, path, 1);
    sparse_arch *stored = NULL;
    sparse_net_load_arch(&stored, path);
    sparse_arch_free(stored);
    sparse_net_free(net);
    sparse_arch_free(a);
    return 0;
}
