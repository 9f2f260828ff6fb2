#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/sparse.h>

#include "fixture.h"

sparse_arch *parse(const char *yaml)
{
    sparse_arch *a = NULL;
    int rc = sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "test.yaml");
    if (rc)
        print_message("parse: %s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    return a;
}

sparse_net *make_net(const char *yaml, size_t batch, uint64_t seed)
{
    sparse_arch *a = parse(yaml);
    sparse_net *net = NULL;
    int rc = sparse_net_create(&net, a, batch, seed);
    if (rc)
        print_message("create: %s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

/* Gives biases and batch-norm parameters non-trivial values. */
void randomise_params(sparse_net *net, uint64_t seed)
{
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, seed), SPARSE_OK);
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            const char *nm = sparse_net_param_name(net, id, k);
            if (!sparse_net_param_trainable(net, id, k) || !strcmp(nm, "weight"))
                continue;
            sparse_tensor *t;
            assert_int_equal(sparse_net_param(&t, net, id, nm), SPARSE_OK);
            float *d = sparse_tensor_data(t);
            for (size_t j = 0; j < sparse_tensor_element_count(t); j++)
                d[j] = (float)(!strcmp(nm, "gamma") ? 0.5 + sparse_rng_uniform(rng)
                                                     : 0.2 * (sparse_rng_uniform(rng) - 0.5));
            sparse_tensor_free(t);
        }
    sparse_rng_free(rng);
}

char *read_example(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    size_t len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[len] = 0;
    return buf;
}

/* Two classes told apart by where a bright blob is. */
sparse_dataset *blobs(size_t n, size_t c, size_t hw, size_t classes, uint64_t seed, int nan)
{
    float *img = calloc(n * c * hw * hw, sizeof(float));
    int32_t *lab = calloc(n, sizeof(int32_t));
    sparse_rng *rng;
    sparse_rng_create(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % classes);
        float *x = img + i * c * hw * hw;
        for (size_t j = 0; j < c * hw * hw; j++)
            x[j] = (float)(0.3 * sparse_rng_normal(rng));
        size_t cy = (size_t)lab[i] * hw / classes + hw / (2 * classes), cx = hw / 2;
        for (size_t ch = 0; ch < c; ch++)
            for (size_t y = 0; y < hw; y++)
                for (size_t xx = 0; xx < hw; xx++) {
                    double d2 = ((double)y - (double)cy) * ((double)y - (double)cy) +
                                ((double)xx - (double)cx) * ((double)xx - (double)cx);
                    x[(ch * hw + y) * hw + xx] += (float)exp(-d2 / 8.0);
                }
    }
    if (nan)
        img[5] = NAN;
    sparse_rng_free(rng);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, n, c, hw, hw, img, lab, classes), SPARSE_OK);
    free(img);
    free(lab);
    return ds;
}
