/* IDX reader, raw and gzip (zlib detects either by content). The first byte
 * chooses which file is fuzzed; the other is a valid tiny partner, so that
 * both readers and the count check between them are reached. */
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

/* Two 2x2 images, labels 0 and 1. */
static const uint8_t images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                 0, 64, 128, 255, 1, 2, 3, 4};
static const uint8_t labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 0, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const int fuzz_labels = data[0] & 1;
    char img_path[600], lab_path[600];
    const char *p = fuzz_write("images", fuzz_labels ? images : data + 1,
                               fuzz_labels ? sizeof images : size - 1);
    if (!p)
        return 0;
    strcpy(img_path, p);
    p = fuzz_write("labels", fuzz_labels ? data + 1 : labels, fuzz_labels ? size - 1 : sizeof labels);
    if (!p)
        return 0;
    strcpy(lab_path, p);
    sparse_dataset *ds = NULL;
    if (sparse_dataset_load_idx(&ds, img_path, lab_path) == SPARSE_OK) {
        /* Touch what a caller would read. */
        size_t n = sparse_dataset_image_count(ds),
               px = sparse_dataset_channels(ds) * sparse_dataset_height(ds) * sparse_dataset_width(ds);
        volatile float sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += sparse_dataset_image(ds, i)[px - 1] + (float)sparse_dataset_label(ds, i);
        (void)sum;
    }
    sparse_dataset_free(ds);
    return 0;
}
