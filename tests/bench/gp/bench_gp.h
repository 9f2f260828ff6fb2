/* What the gp benchmarks share: a clock, an exit on error and the unit
 * cube as a search space. */
#ifndef SPARSE_BENCH_GP_H
#define SPARSE_BENCH_GP_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sparse/sparse.h"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void bench_die(int rc, const char *what)
{
    fprintf(stderr, "%s: %s (%s)\n", what, sparse_strerror(rc), sparse_last_error());
    exit(1);
}

/* dim real variables x0, x1, ... in [0, 1]; exits on failure. */
static inline sparse_space *bench_cube(int dim)
{
    sparse_space *space = NULL;
    int rc = sparse_space_create(&space);
    for (int d = 0; d < dim && !rc; d++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", d);
        rc = sparse_space_add_real(space, name, 0.0, 1.0, 0, NULL);
    }
    if (rc)
        bench_die(rc, "space");
    return space;
}

#endif
