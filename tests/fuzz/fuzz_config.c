/* Search config YAML: parsed, and when valid, written back as resolved YAML
 * that must parse again to the same text (what a run directory relies on). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sparse_search_config *c = NULL;
    if (sparse_search_config_parse(&c, (const char *)data, size, "fuzz.yaml") == SPARSE_OK) {
        char *y1 = NULL, *y2 = NULL;
        sparse_search_config *c2 = NULL;
        if (sparse_search_config_to_yaml(&y1, c) == SPARSE_OK) {
            if (sparse_search_config_parse(&c2, y1, strlen(y1), "resolved.yaml") != SPARSE_OK ||
                sparse_search_config_to_yaml(&y2, c2) != SPARSE_OK || strcmp(y1, y2) != 0)
                __builtin_trap();
        }
        free(y1);
        free(y2);
        sparse_search_config_free(c2);
    }
    sparse_search_config_free(c);
    return 0;
}
