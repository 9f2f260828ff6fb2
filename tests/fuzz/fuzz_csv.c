/* CSV reader: the first byte picks the options (label column, header mode,
 * a given shape or the inferred square, the value order), the rest is the
 * file. */
#include "fuzz.h"
#include "sparse/sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sparse_csv_options o = SPARSE_CSV_OPTIONS_INIT;
    o.label_column = data[0] & 3;
    o.header = (int)((data[0] >> 2) % 3) - 1;
    if (data[0] & 0x20) {
        o.channels = 1 + ((data[0] >> 6) & 1);
        o.height = 2;
        o.width = 2;
    }
    o.layout = data[0] & 0x10 ? SPARSE_LAYOUT_HWC : SPARSE_LAYOUT_CHW;
    const char *path = fuzz_write("data.csv", data + 1, size - 1);
    if (!path)
        return 0;
    sparse_dataset *ds = NULL;
    if (sparse_dataset_load_csv(&ds, path, &o) == SPARSE_OK) {
        volatile size_t n = sparse_dataset_image_count(ds) + sparse_dataset_class_count(ds);
        (void)n;
    }
    sparse_dataset_free(ds);
    return 0;
}
