/* The real MNIST cache through sparse_data_open: the paper's 55,000 / 5,000 /
 * 10,000 split, normalisation and binary relabelling. Exits 77 (skip) when
 * `sparsenas data fetch mnist` has not been run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sparse/sparse.h"
#include "sparse/data.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "FAIL line %d: %s (%s)\n", __LINE__, #cond,          \
                    sparse_last_error());                                        \
            return 1;                                                            \
        }                                                                        \
    } while (0)

int main(void)
{
    sparse_dataset *tr, *va, *te;
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.normalize = 0;
    int rc = sparse_data_open(&tr, &va, &te, "mnist", &o);
    if (rc == SPARSE_ENOTFOUND) {
        printf("SKIP: %s\n", sparse_last_error());
        return 77;
    }
    CHECK(rc == SPARSE_OK);
    CHECK(sparse_dataset_image_count(tr) == 55000);
    CHECK(sparse_dataset_image_count(va) == 5000);
    CHECK(sparse_dataset_image_count(te) == 10000);
    CHECK(sparse_dataset_height(tr) == 28 && sparse_dataset_width(tr) == 28);
    CHECK(sparse_dataset_channels(tr) == 1);
    CHECK(sparse_dataset_class_count(tr) == 10 && sparse_dataset_class_count(te) == 10);
    /* The first training label of MNIST is a 5, the first test label a 7. */
    CHECK(sparse_dataset_label(tr, 0) == 5);
    CHECK(sparse_dataset_label(te, 0) == 7);
    double mean, sd, lo, hi;
    CHECK(sparse_dataset_pixel_stats(tr, &mean, &sd, &lo, &hi) == SPARSE_OK);
    CHECK(fabs(mean - 0.1307) < 0.001 && fabs(sd - 0.3081) < 0.001 && lo == 0.0 && hi == 1.0);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);

    o.normalize = 1;
    o.binary = 1;
    o.max_train = 1000;
    CHECK(sparse_data_open(&tr, &va, &te, "mnist", &o) == SPARSE_OK);
    CHECK(sparse_dataset_image_count(tr) == 1000 && sparse_dataset_image_count(te) == 10000);
    CHECK(sparse_dataset_class_count(tr) == 2);
    CHECK(sparse_dataset_label(tr, 0) == 1 && sparse_dataset_label(te, 0) == 1);
    CHECK(sparse_dataset_pixel_stats(tr, &mean, &sd, NULL, NULL) == SPARSE_OK);
    CHECK(fabs(mean) < 1e-4 && fabs(sd - 1.0) < 1e-4);
    CHECK(sparse_dataset_pixel_stats(te, &mean, &sd, NULL, NULL) == SPARSE_OK);
    CHECK(fabs(mean) < 0.05 && fabs(sd - 1.0) < 0.05);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    printf("MNIST: 55000/5000/10000, 28x28x1, 10 classes\n");
    return 0;
}
