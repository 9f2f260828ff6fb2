#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"

void fixture_open(fixture *f, const char *extra, const char *prune, double filters)
{
    char text[1024];
    snprintf(text, sizeof text,
             "data: mnist\n%s"
             "space: {blocks: 1, layers_per_block: 1, layer_types: [conv2d], kernel: 3, filters: [1, 64], pool: 2,"
             " input_downsample: [false], batch_norm: [false], residual: [false], branches: [false],"
             " fc_layers: 0, pruning: [%s]}\n",
             extra, prune);
    int rc = sparse_search_config_parse(&f->c, text, strlen(text), "fixture.yaml");
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    assert_int_equal(sparse__layout_create(&f->lay, f->c), SPARSE_OK);
    sparse__problem p = {f->c, &f->lay, 1, 8, 8, 3};
    f->p = p;
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 1), SPARSE_OK);
    assert_int_equal(sparse_space_sample(f->lay.space, rng, f->point), SPARSE_OK);
    sparse_rng_free(rng);
    assert_true(f->lay.layer[0][0].filters != SIZE_MAX);
    *fixture_filters(f) = filters;
}

void fixture_close(fixture *f)
{
    sparse__layout_destroy(&f->lay);
    sparse_search_config_free(f->c);
}

double *fixture_filters(fixture *f) { return &f->point[f->lay.layer[0][0].filters]; }
