/* MOBO (random Chebyshev scalarisation + Thompson sampling) against random
 * search at equal evaluation budgets, on mixed-variable ZDT1, ZDT2 and the
 * 3-objective DTLZ2. Prints per problem, last:
 *   PROBLEM mobo_hv_mean=X random_hv_mean=Y seeds=N budget=B
 * Usage: bench_gp_mobo [seeds] [budget] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sparse/sparse.h"

#define NV 6
#define N_INIT 10

typedef struct problem {
    const char *name;
    size_t k;
    double ref[3];
    void (*eval)(const double *x, double *f);
} problem;

/* Decision vector in [0,1]^6 from a point: x3 integer 0..10 -> /10,
 * x4 categorical 0..4 -> /4, the rest real. */
static void unit(const double *p, double *x)
{
    x[0] = p[0];
    x[1] = p[1];
    x[2] = p[2];
    x[3] = p[3] / 10.0;
    x[4] = p[4] / 4.0;
    x[5] = p[5];
}

static double zdt_g(const double *x)
{
    double s = 0;
    for (int i = 1; i < NV; i++)
        s += x[i];
    return 1 + 9 * s / (NV - 1);
}

static void zdt1(const double *p, double *f)
{
    double x[NV];
    unit(p, x);
    double g = zdt_g(x);
    f[0] = x[0];
    f[1] = g * (1 - sqrt(x[0] / g));
}

static void zdt2(const double *p, double *f)
{
    double x[NV];
    unit(p, x);
    double g = zdt_g(x);
    f[0] = x[0];
    f[1] = g * (1 - (x[0] / g) * (x[0] / g));
}

static void dtlz2(const double *p, double *f)
{
    double x[NV];
    unit(p, x);
    double g = 0;
    for (int i = 2; i < NV; i++)
        g += (x[i] - 0.5) * (x[i] - 0.5);
    double a = x[0] * M_PI / 2, b = x[1] * M_PI / 2;
    f[0] = (1 + g) * cos(a) * cos(b);
    f[1] = (1 + g) * cos(a) * sin(b);
    f[2] = (1 + g) * sin(a);
}

static void die(int rc, const char *what)
{
    fprintf(stderr, "%s: %s (%s)\n", what, sparse_strerror(rc), sparse_last_error());
    exit(1);
}

static sparse_space *make_space(void)
{
    sparse_space *s = NULL;
    int rc = sparse_space_create(&s);
    rc = rc ? rc : sparse_space_add_real(s, "x0", 0, 1, 0, NULL);
    rc = rc ? rc : sparse_space_add_real(s, "x1", 0, 1, 0, NULL);
    rc = rc ? rc : sparse_space_add_real(s, "x2", 0, 1, 0, NULL);
    rc = rc ? rc : sparse_space_add_int(s, "x3", 0, 10, 0, NULL);
    rc = rc ? rc : sparse_space_add_categorical(s, "x4", 5, NULL);
    rc = rc ? rc : sparse_space_add_real(s, "x5", 0, 1, 0, NULL);
    if (rc)
        die(rc, "space");
    return s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double run(const problem *pb, const sparse_space *space, uint64_t seed, size_t budget,
                  int use_mobo)
{
    sparse_mobo_options o = SPARSE_MOBO_OPTIONS_INIT;
    o.candidate_count = 1000;
    o.restarts = 2;
    o.min_observations = use_mobo ? N_INIT : (size_t)-1;
    sparse_mobo *m = NULL;
    int rc = sparse_mobo_create(&m, space, pb->k, NULL, &o, seed);
    if (rc)
        die(rc, "mobo_create");
    double *F = calloc(budget * pb->k, sizeof *F);
    double p[NV];
    for (size_t t = 0; t < budget; t++) {
        rc = sparse_mobo_propose(m, 0, NULL, p, NULL, NULL);
        if (rc)
            die(rc, "propose");
        pb->eval(p, F + t * pb->k);
        rc = sparse_mobo_observe(m, p, F + t * pb->k);
        if (rc)
            die(rc, "observe");
    }
    double hv = 0;
    rc = sparse_hypervolume(budget, pb->k, F, pb->ref, &hv);
    if (rc)
        die(rc, "hypervolume");
    free(F);
    sparse_mobo_free(m);
    return hv;
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 10;
    size_t budget = argc > 2 ? (size_t)atoi(argv[2]) : 60;
    const problem problems[] = {
        {"ZDT1", 2, {1.1, 11.0, 0}, zdt1},
        {"ZDT2", 2, {1.1, 11.0, 0}, zdt2},
        {"DTLZ2", 3, {1.5, 1.5, 1.5}, dtlz2},
    };
    sparse_space *space = make_space();
    printf("# space: 3 real, 1 integer (0..10), 1 categorical (5), 1 real; MOBO: %d random "
           "initial points then Thompson sampling over 1000 candidates (half local)\n", N_INIT);
    for (size_t i = 0; i < sizeof problems / sizeof *problems; i++) {
        const problem *pb = &problems[i];
        double sm = 0, sr = 0, t0 = now();
        int wins = 0;
        for (int s = 0; s < seeds; s++) {
            double hm = run(pb, space, 1000 + (uint64_t)s, budget, 1);
            double hr = run(pb, space, 5000 + (uint64_t)s, budget, 0);
            printf("%s seed=%d mobo_hv=%.6f random_hv=%.6f\n", pb->name, s, hm, hr);
            fflush(stdout);
            sm += hm;
            sr += hr;
            wins += hm > hr;
        }
        printf("%s ref=(%g,%g%s) mobo_wins=%d/%d time_s=%.1f\n", pb->name, pb->ref[0], pb->ref[1],
               pb->k == 3 ? ",1.5" : "", wins, seeds, now() - t0);
        printf("%s mobo_hv_mean=%.6f random_hv_mean=%.6f seeds=%d budget=%zu\n", pb->name,
               sm / seeds, sr / seeds, seeds, budget);
        fflush(stdout);
    }
    sparse_space_free(space);
    return 0;
}
