/* Loads a trained network (architecture YAML + safetensors weights, e.g.
 * from `sparsenas train --save` or `sparsenas export-arch --save`) and classifies
 * the test images of a data set.
 *   cc classify.c $(pkg-config --cflags --libs sparse) -o classify
 * Usage: classify ARCH.yaml WEIGHTS.safetensors DATA [VAL_COUNT] */
#include <stdio.h>
#include <stdlib.h>

#include <sparse/sparse.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", what, sparse_strerror(rc), sparse_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ARCH.yaml WEIGHTS.safetensors DATA [VAL_COUNT]\n", argv[0]);
        return 2;
    }
    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    sparse_dataset *train = NULL, *val = NULL, *test = NULL;
    int rc = sparse_arch_load_yaml(&arch, argv[1]);
    if (rc)
        return fail("architecture", rc);
    /* One image per pass: sparse_net_predict classifies one at a time. */
    if ((rc = sparse_net_create(&net, arch, 1, 0)) || (rc = sparse_net_load(net, argv[2], 0))) {
        sparse_arch_free(arch);
        sparse_net_free(net);
        return fail("weights", rc);
    }
    sparse_data_options dopts = SPARSE_DATA_OPTIONS_INIT;
    if (argc > 4)
        dopts.val_count = (size_t)strtoul(argv[4], NULL, 10);
    if ((rc = sparse_data_open(&train, &val, &test, argv[3], &dopts))) {
        sparse_arch_free(arch);
        sparse_net_free(net);
        return fail("data", rc);
    }
    size_t n = sparse_dataset_image_count(test), correct = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        int predicted = -1, label = sparse_dataset_label(test, i);
        rc = sparse_net_predict(net, sparse_dataset_image(test, i), NULL, &predicted);
        correct += !rc && predicted == label;
        if (!rc && i < 10)
            printf("image %zu: predicted %d, label %d\n", i, predicted, label);
    }
    if (!rc)
        printf("test accuracy: %.2f%% (%zu of %zu)\n", 100.0 * (double)correct / (double)n, correct, n);
    else
        fail("classify", rc);
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return rc ? 1 : 0;
}
