/* Non-dominated sorting, Pareto fronts, exact hypervolume (k <= 3) and
 * Dirichlet weights. All objectives are minimised. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sparse/gp.h"

/* a dominates b: no worse everywhere, strictly better somewhere. */
static int dominates(const double *a, const double *b, size_t k)
{
    int better = 0;
    for (size_t j = 0; j < k; j++) {
        if (a[j] > b[j])
            return 0;
        if (a[j] < b[j])
            better = 1;
    }
    return better;
}

static int check_matrix(size_t n, size_t k, const double *F, const char *fn)
{
    if (k == 0)
        return sparse__error(SPARSE_EINVAL, "%s: no objectives", fn);
    if (n && !F)
        return sparse__error(SPARSE_EINVAL, "%s: F is NULL", fn);
    for (size_t i = 0; i < n * k; i++)
        if (isnan(F[i]))
            return sparse__error(SPARSE_ENUMERIC, "%s: row %zu objective %zu is NaN", fn, i / k, i % k);
    return SPARSE_OK;
}

SPARSE_API int sparse_pareto_rank(size_t n, size_t k, const double *F, size_t *rank)
{
    int rc = check_matrix(n, k, F, "sparse_pareto_rank");
    if (rc)
        return rc;
    if (n && !rank)
        return sparse__error(SPARSE_EINVAL, "sparse_pareto_rank: rank is NULL");
    size_t *count = sparse__calloc(n ? n : 1, sizeof *count);
    unsigned char *done = sparse__calloc(n ? n : 1, 1);
    if (!count || !done) {
        free(count);
        free(done);
        return SPARSE_ENOMEM;
    }
    /* Peel fronts: a row joins front r once nothing left dominates it. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (j != i && dominates(F + j * k, F + i * k, k))
                count[i]++;
    size_t left = n;
    for (size_t r = 0; left > 0; r++) {
        for (size_t i = 0; i < n; i++)
            if (!done[i] && count[i] == 0) {
                rank[i] = r;
                done[i] = 2;
            }
        for (size_t i = 0; i < n; i++) {
            if (done[i] != 2)
                continue;
            done[i] = 1;
            left--;
            for (size_t j = 0; j < n; j++)
                if (!done[j] && dominates(F + i * k, F + j * k, k))
                    count[j]--;
        }
    }
    free(count);
    free(done);
    return SPARSE_OK;
}

SPARSE_API int sparse_pareto_front(size_t n, size_t k, const double *F, size_t *idx,
                                   size_t *count)
{
    SPARSE__CHECK_NULL(count);
    *count = 0;
    int rc = check_matrix(n, k, F, "sparse_pareto_front");
    if (rc)
        return rc;
    if (n && !idx)
        return sparse__error(SPARSE_EINVAL, "sparse_pareto_front: idx is NULL");
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int dom = 0;
        for (size_t j = 0; j < n && !dom; j++)
            dom = j != i && dominates(F + j * k, F + i * k, k);
        if (!dom)
            idx[c++] = i;
    }
    *count = c;
    return SPARSE_OK;
}

typedef struct hv_pt {
    double v[3];
} hv_pt;

static int cmp_dim0(const void *a, const void *b)
{
    const hv_pt *p = a, *q = b;
    if (p->v[0] != q->v[0])
        return p->v[0] < q->v[0] ? -1 : 1;
    return p->v[1] < q->v[1] ? -1 : p->v[1] > q->v[1];
}

static int cmp_dim2(const void *a, const void *b)
{
    const hv_pt *p = a, *q = b;
    return p->v[2] < q->v[2] ? -1 : p->v[2] > q->v[2];
}

/* Area dominated by pts (sorted by objective 0) inside [.., ref0] x [.., ref1]. */
static double hv2(const hv_pt *pts, size_t n, double ref0, double ref1)
{
    double hv = 0, prev = ref1;
    for (size_t i = 0; i < n; i++)
        if (pts[i].v[1] < prev) {
            hv += (ref0 - pts[i].v[0]) * (prev - pts[i].v[1]);
            prev = pts[i].v[1];
        }
    return hv;
}

SPARSE_API int sparse_hypervolume(size_t n, size_t k, const double *F, const double *ref,
                                  double *hv)
{
    SPARSE__CHECK_NULL(hv);
    *hv = 0;
    SPARSE__CHECK_NULL(ref);
    int rc = check_matrix(n, k, F, "sparse_hypervolume");
    if (rc)
        return rc;
    if (k > 3)
        return sparse__error(SPARSE_EUNSUPPORTED, "sparse_hypervolume: %zu objectives (exact only "
                             "for 1 to 3)", k);
    for (size_t j = 0; j < k; j++)
        if (!isfinite(ref[j]))
            return sparse__error(SPARSE_EINVAL, "sparse_hypervolume: ref[%zu] not finite", j);
    hv_pt *p = sparse__calloc(n ? n : 1, sizeof *p);
    if (!p)
        return SPARSE_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int in = 1;
        for (size_t j = 0; j < k; j++)
            in &= F[i * k + j] < ref[j];
        if (!in)
            continue;
        for (size_t j = 0; j < k; j++)
            p[m].v[j] = F[i * k + j];
        m++;
    }
    double v = 0;
    if (k == 1) {
        for (size_t i = 0; i < m; i++)
            if (ref[0] - p[i].v[0] > v)
                v = ref[0] - p[i].v[0];
    } else if (k == 2) {
        qsort(p, m, sizeof *p, cmp_dim0);
        v = hv2(p, m, ref[0], ref[1]);
    } else if (m > 0) {
        /* Slice along objective 2: between consecutive levels the dominated
         * cross-section is the 2-D hypervolume of the points below. */
        qsort(p, m, sizeof *p, cmp_dim2);
        hv_pt *s = sparse__calloc(m, sizeof *s);
        if (!s) {
            free(p);
            return SPARSE_ENOMEM;
        }
        for (size_t i = 0; i < m; i++) {
            /* insert p[i] into s (sorted by objective 0) */
            size_t pos = i;
            while (pos > 0 && cmp_dim0(&s[pos - 1], &p[i]) > 0) {
                s[pos] = s[pos - 1];
                pos--;
            }
            s[pos] = p[i];
            double top = i + 1 < m ? p[i + 1].v[2] : ref[2];
            if (top > p[i].v[2])
                v += hv2(s, i + 1, ref[0], ref[1]) * (top - p[i].v[2]);
        }
        free(s);
    }
    free(p);
    *hv = v;
    return SPARSE_OK;
}

int sparse__dirichlet_sample(sparse_rng *rng, size_t k, double alpha, double *lambda)
{
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(lambda);
    if (k == 0)
        return sparse__error(SPARSE_EINVAL, "sparse__dirichlet_sample: k is 0");
    if (!(alpha > 0) || !isfinite(alpha))
        return sparse__error(SPARSE_EINVAL, "sparse__dirichlet_sample: alpha = %g", alpha);
    double *a = sparse__malloc(k * sizeof *a);
    if (!a)
        return SPARSE_ENOMEM;
    for (size_t j = 0; j < k; j++)
        a[j] = alpha;
    gsl_ran_dirichlet(sparse__rng_gsl(rng), k, a, lambda);
    free(a);
    return SPARSE_OK;
}
