/* A search problem small enough to reason about by hand, for the unit tests
 * of the loop's parts: one 3x3 convolution with F filters (the point's
 * first filters variable) on an 8x8 grey image, 2x2 pooling, then the 4x4xF
 * features to 3 classes, so the dense MS is 58F + 3 bytes. */
#ifndef SPARSE_TEST_SEARCH_FIXTURE_H
#define SPARSE_TEST_SEARCH_FIXTURE_H

#include "search/loop.h"

typedef struct fixture {
    sparse_search_config *c;
    sparse__layout lay;
    sparse__problem p;
    double point[512];
} fixture;

/* The space with `extra` config lines (budgets, random_fill, final) and
 * pruning method `prune`, and a point of it with `filters` filters. */
void fixture_open(fixture *f, const char *extra, const char *prune, double filters);
void fixture_close(fixture *f);
/* The point's filter count. */
double *fixture_filters(fixture *f);

#endif
