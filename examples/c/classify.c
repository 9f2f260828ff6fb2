/* Loads a trained network (architecture YAML + safetensors weights, e.g.
 * from `sparse train --save` or `sparse export-arch --save`) and classifies
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
    sparse_tensor *x = NULL, *logits = NULL;
    int rc = sparse_arch_load_yaml(&arch, argv[1]);
    if (rc)
        return fail("architecture", rc);
    const size_t batch = 32;
    if ((rc = sparse_net_create(&net, arch, batch, 0)) || (rc = sparse_net_load(net, argv[2], 0))) {
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
    size_t c = sparse_dataset_channels(test), h = sparse_dataset_height(test), w = sparse_dataset_width(test);
    size_t classes = sparse_arch_class_count(arch), n = sparse_dataset_image_count(test), correct = 0;
    size_t lshape[2] = {batch, classes};
    rc = sparse_tensor_create_nchw(&x, batch, c, h, w);
    if (!rc)
        rc = sparse_tensor_create(&logits, 2, lshape);
    for (size_t first = 0; !rc && first < n; first += batch) {
        size_t m = n - first < batch ? n - first : batch;
        sparse_tensor *xb = NULL, *lb = NULL;
        rc = sparse_tensor_slice(&xb, x, 0, 0, m);
        if (!rc)
            rc = sparse_tensor_slice(&lb, logits, 0, 0, m);
        for (size_t i = 0; !rc && i < m; i++) {
            const float *img = sparse_dataset_image(test, first + i);
            float *dst = sparse_tensor_data(x) + i * c * h * w;
            for (size_t k = 0; k < c * h * w; k++)
                dst[k] = img[k];
        }
        if (!rc)
            rc = sparse_net_forward(net, xb, 0, lb);
        for (size_t i = 0; !rc && i < m; i++) {
            const float *row = sparse_tensor_data(logits) + i * classes;
            size_t best = 0;
            for (size_t k = 1; k < classes; k++)
                if (row[k] > row[best])
                    best = k;
            int label = sparse_dataset_label(test, first + i);
            correct += (int)best == label;
            if (first + i < 10)
                printf("image %zu: predicted %zu, label %d\n", first + i, best, label);
        }
        sparse_tensor_free(xb);
        sparse_tensor_free(lb);
    }
    if (!rc)
        printf("test accuracy: %.2f%% (%zu of %zu)\n", 100.0 * (double)correct / (double)n, correct, n);
    else
        fail("classify", rc);
    sparse_tensor_free(x);
    sparse_tensor_free(logits);
    sparse_dataset_free(train);
    sparse_dataset_free(val);
    sparse_dataset_free(test);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return rc ? 1 : 0;
}
