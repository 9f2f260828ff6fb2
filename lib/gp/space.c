/* sparse_space: mixed, conditional search spaces and their encoding into GP
 * inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sparse/gp.h"

typedef struct space_var {
    char *name;
    sparse_var_kind kind;
    double lo, hi;     /* bounds (reals, integers) */
    size_t n_choices;  /* categoricals */
    int log_scale;
    size_t offset;     /* first encoded coordinate */
    int has_parent;
    size_t parent;
    double *cond_values;
    size_t n_cond;
} space_var;

struct sparse_space {
    space_var *vars;
    size_t n, cap;
    size_t enc_dim;
};

SPARSE_API int sparse_space_create(sparse_space **out)
{
    SPARSE__CHECK_NULL(out);
    *out = sparse__calloc(1, sizeof **out);
    return *out ? SPARSE_OK : SPARSE_ENOMEM;
}

SPARSE_API void sparse_space_free(sparse_space *space)
{
    if (!space)
        return;
    for (size_t i = 0; i < space->n; i++) {
        free(space->vars[i].name);
        free(space->vars[i].cond_values);
    }
    free(space->vars);
    free(space);
}

SPARSE_API int sparse_space_clone(sparse_space **out, const sparse_space *space)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(space);
    sparse_space *c = sparse__calloc(1, sizeof *c);
    if (!c)
        return SPARSE_ENOMEM;
    c->vars = sparse__calloc(space->n ? space->n : 1, sizeof *c->vars);
    if (!c->vars) {
        free(c);
        return SPARSE_ENOMEM;
    }
    c->cap = space->n ? space->n : 1;
    c->enc_dim = space->enc_dim;
    for (size_t i = 0; i < space->n; i++) {
        c->vars[i] = space->vars[i];
        c->vars[i].name = NULL;
        c->vars[i].cond_values = NULL;
        c->n = i + 1;
        c->vars[i].name = sparse__strdup(space->vars[i].name);
        if (!c->vars[i].name)
            goto fail;
        if (space->vars[i].n_cond) {
            c->vars[i].cond_values = sparse__calloc(space->vars[i].n_cond, sizeof(double));
            if (!c->vars[i].cond_values)
                goto fail;
            memcpy(c->vars[i].cond_values, space->vars[i].cond_values,
                   space->vars[i].n_cond * sizeof(double));
        }
    }
    *out = c;
    return SPARSE_OK;
fail:
    sparse_space_free(c);
    return SPARSE_ENOMEM;
}

static int add_var(sparse_space *s, const char *name, space_var v, size_t width, size_t *index)
{
    if (!name || !*name)
        return sparse__error(SPARSE_EINVAL, "sparse_space: variable name is NULL or empty");
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->vars[i].name, name) == 0)
            return sparse__error(SPARSE_EINVAL, "sparse_space: variable '%s' already exists", name);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        space_var *nv = sparse__realloc(s->vars, cap * sizeof *nv);
        if (!nv)
            return SPARSE_ENOMEM;
        s->vars = nv;
        s->cap = cap;
    }
    v.name = sparse__strdup(name);
    if (!v.name)
        return SPARSE_ENOMEM;
    v.offset = s->enc_dim;
    s->vars[s->n] = v;
    if (index)
        *index = s->n;
    s->n++;
    s->enc_dim += width;
    return SPARSE_OK;
}

SPARSE_API int sparse_space_add_real(sparse_space *space, const char *name, double lo, double hi,
                                     int log_scale, size_t *index)
{
    SPARSE__CHECK_NULL(space);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return sparse__error(SPARSE_EINVAL, "sparse_space_add_real '%s': need finite lo < hi (got %g, %g)",
                             name ? name : "?", lo, hi);
    if (log_scale && !(lo > 0))
        return sparse__error(SPARSE_EINVAL, "sparse_space_add_real '%s': log scale needs lo > 0 (got %g)",
                             name ? name : "?", lo);
    space_var v = {0};
    v.kind = SPARSE_VAR_REAL;
    v.lo = lo;
    v.hi = hi;
    v.log_scale = log_scale != 0;
    return add_var(space, name, v, 1, index);
}

SPARSE_API int sparse_space_add_int(sparse_space *space, const char *name, long lo, long hi,
                                    int log_scale, size_t *index)
{
    SPARSE__CHECK_NULL(space);
    if (lo > hi)
        return sparse__error(SPARSE_EINVAL, "sparse_space_add_int '%s': lo %ld > hi %ld",
                             name ? name : "?", lo, hi);
    if (log_scale && lo < 1)
        return sparse__error(SPARSE_EINVAL, "sparse_space_add_int '%s': log scale needs lo >= 1 (got %ld)",
                             name ? name : "?", lo);
    space_var v = {0};
    v.kind = SPARSE_VAR_INT;
    v.lo = (double)lo;
    v.hi = (double)hi;
    v.log_scale = log_scale != 0;
    return add_var(space, name, v, 1, index);
}

SPARSE_API int sparse_space_add_categorical(sparse_space *space, const char *name,
                                            size_t n_choices, size_t *index)
{
    SPARSE__CHECK_NULL(space);
    if (n_choices < 1)
        return sparse__error(SPARSE_EINVAL, "sparse_space_add_categorical '%s': no choices",
                             name ? name : "?");
    space_var v = {0};
    v.kind = SPARSE_VAR_CATEGORICAL;
    v.n_choices = n_choices;
    v.lo = 0;
    v.hi = (double)(n_choices - 1);
    return add_var(space, name, v, n_choices, index);
}

SPARSE_API int sparse_space_set_condition(sparse_space *space, size_t var, size_t parent,
                                          const double *values, size_t n_values)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(values);
    if (var >= space->n)
        return sparse__error(SPARSE_ERANGE, "sparse_space_set_condition: variable %zu of %zu", var,
                             space->n);
    /* Parents come first so activity can be resolved in one forward pass. */
    if (parent >= var)
        return sparse__error(SPARSE_EINVAL,
                             "sparse_space_set_condition: parent %zu of '%s' must be added before it",
                             parent, space->vars[var].name);
    if (space->vars[parent].kind == SPARSE_VAR_REAL)
        return sparse__error(SPARSE_EINVAL,
                             "sparse_space_set_condition: parent '%s' of '%s' is real (need integer "
                             "or categorical)",
                             space->vars[parent].name, space->vars[var].name);
    if (n_values == 0)
        return sparse__error(SPARSE_EINVAL, "sparse_space_set_condition '%s': no parent values",
                             space->vars[var].name);
    double *c = sparse__calloc(n_values, sizeof *c);
    if (!c)
        return SPARSE_ENOMEM;
    memcpy(c, values, n_values * sizeof *c);
    space_var *v = &space->vars[var];
    free(v->cond_values);
    v->cond_values = c;
    v->n_cond = n_values;
    v->has_parent = 1;
    v->parent = parent;
    return SPARSE_OK;
}

SPARSE_API size_t sparse_space_var_count(const sparse_space *space) { return space ? space->n : 0; }
SPARSE_API size_t sparse_space_encoded_dim(const sparse_space *space)
{
    return space ? space->enc_dim : 0;
}

SPARSE_API int sparse_space_has_conditions(const sparse_space *space)
{
    if (!space)
        return 0;
    for (size_t i = 0; i < space->n; i++)
        if (space->vars[i].has_parent)
            return 1;
    return 0;
}

SPARSE_API int sparse_space_find(const sparse_space *space, const char *name, size_t *index)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(name);
    for (size_t i = 0; i < space->n; i++)
        if (strcmp(space->vars[i].name, name) == 0) {
            if (index)
                *index = i;
            return SPARSE_OK;
        }
    return sparse__error(SPARSE_ENOTFOUND, "sparse_space_find: no variable '%s'", name);
}

SPARSE_API const char *sparse_space_var_name(const sparse_space *space, size_t i)
{
    return space && i < space->n ? space->vars[i].name : NULL;
}

SPARSE_API int sparse_space_var_kind(const sparse_space *space, size_t i, sparse_var_kind *kind)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(kind);
    if (i >= space->n)
        return sparse__error(SPARSE_ERANGE, "sparse_space_var_kind: variable %zu of %zu", i, space->n);
    *kind = space->vars[i].kind;
    return SPARSE_OK;
}

SPARSE_API int sparse_space_var_bounds(const sparse_space *space, size_t i, double *lo, double *hi)
{
    SPARSE__CHECK_NULL(space);
    if (i >= space->n)
        return sparse__error(SPARSE_ERANGE, "sparse_space_var_bounds: variable %zu of %zu", i, space->n);
    const space_var *v = &space->vars[i];
    int cat = v->kind == SPARSE_VAR_CATEGORICAL;
    if (lo)
        *lo = cat ? 0.0 : v->lo;
    if (hi)
        *hi = cat ? (double)v->n_choices - 1.0 : v->hi;
    return SPARSE_OK;
}

/* Parent values are compared after rounding: they are integers or indices. */
static int resolve_active(const sparse_space *s, const double *point, int *active)
{
    for (size_t i = 0; i < s->n; i++) {
        const space_var *v = &s->vars[i];
        if (!v->has_parent) {
            active[i] = 1;
            continue;
        }
        active[i] = 0;
        if (!active[v->parent])
            continue;
        double pv = point[v->parent];
        if (!isfinite(pv))
            continue;
        pv = nearbyint(pv);
        for (size_t j = 0; j < v->n_cond; j++)
            if (nearbyint(v->cond_values[j]) == pv) {
                active[i] = 1;
                break;
            }
    }
    return SPARSE_OK;
}

SPARSE_API int sparse_space_active(const sparse_space *space, const double *point, int *active)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(point);
    SPARSE__CHECK_NULL(active);
    return resolve_active(space, point, active);
}

static int *active_buf(const sparse_space *s, const double *point)
{
    int *a = sparse__calloc(s->n ? s->n : 1, sizeof *a);
    if (a)
        resolve_active(s, point, a);
    return a;
}

SPARSE_API int sparse_space_validate(const sparse_space *space, const double *point)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(point);
    int *active = active_buf(space, point);
    if (!active)
        return SPARSE_ENOMEM;
    int rc = SPARSE_OK;
    for (size_t i = 0; i < space->n && rc == SPARSE_OK; i++) {
        if (!active[i])
            continue;
        const space_var *v = &space->vars[i];
        double x = point[i];
        if (!isfinite(x))
            rc = sparse__error(SPARSE_ERANGE, "variable '%s' (index %zu) is not finite", v->name, i);
        else if (x < v->lo || x > v->hi)
            rc = sparse__error(SPARSE_ERANGE, "variable '%s' (index %zu) = %g outside [%g, %g]",
                               v->name, i, x, v->lo, v->hi);
        else if (v->kind != SPARSE_VAR_REAL && x != nearbyint(x))
            rc = sparse__error(SPARSE_ERANGE, "variable '%s' (index %zu) = %g is not an integer",
                               v->name, i, x);
    }
    free(active);
    return rc;
}

static double to_unit(const space_var *v, double x)
{
    if (v->kind == SPARSE_VAR_INT)
        x = nearbyint(x);
    if (x < v->lo)
        x = v->lo;
    if (x > v->hi)
        x = v->hi;
    if (v->hi == v->lo)
        return 0.5;
    if (v->log_scale)
        return (log(x) - log(v->lo)) / (log(v->hi) - log(v->lo));
    return (x - v->lo) / (v->hi - v->lo);
}

static double from_unit(const space_var *v, double u)
{
    if (u < 0)
        u = 0;
    if (u > 1)
        u = 1;
    double x;
    if (v->log_scale)
        x = exp(log(v->lo) + u * (log(v->hi) - log(v->lo)));
    else
        x = v->lo + u * (v->hi - v->lo);
    if (v->kind == SPARSE_VAR_INT)
        x = nearbyint(x);
    if (x < v->lo)
        x = v->lo;
    if (x > v->hi)
        x = v->hi;
    return x;
}

SPARSE_API int sparse_space_encode(const sparse_space *space, const double *point, double *x)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(point);
    SPARSE__CHECK_NULL(x);
    int *active = active_buf(space, point);
    if (!active)
        return SPARSE_ENOMEM;
    int rc = SPARSE_OK;
    for (size_t i = 0; i < space->n; i++) {
        const space_var *v = &space->vars[i];
        size_t w = v->kind == SPARSE_VAR_CATEGORICAL ? v->n_choices : 1;
        if (!active[i]) {
            for (size_t j = 0; j < w; j++)
                x[v->offset + j] = SPARSE_SPACE_INACTIVE;
            continue;
        }
        if (!isfinite(point[i])) {
            rc = sparse__error(SPARSE_EINVAL, "sparse_space_encode: variable '%s' (index %zu) is "
                               "active but not finite", v->name, i);
            break;
        }
        if (v->kind == SPARSE_VAR_CATEGORICAL) {
            double c = nearbyint(point[i]);
            if (c < 0 || c >= (double)v->n_choices) {
                rc = sparse__error(SPARSE_ERANGE, "sparse_space_encode: variable '%s' choice %g "
                                   "not in [0, %zu)", v->name, c, v->n_choices);
                break;
            }
            for (size_t j = 0; j < w; j++)
                x[v->offset + j] = (double)j == c ? 1.0 : 0.0;
        } else {
            x[v->offset] = to_unit(v, point[i]);
        }
    }
    free(active);
    return rc;
}

/* Inactive variables of point become NaN, as the API promises. */
static int clear_inactive(const sparse_space *space, double *point)
{
    int *active = active_buf(space, point);
    if (!active)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < space->n; i++)
        if (!active[i])
            point[i] = NAN;
    free(active);
    return SPARSE_OK;
}

SPARSE_API int sparse_space_decode(const sparse_space *space, const double *x, double *point)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(x);
    SPARSE__CHECK_NULL(point);
    for (size_t i = 0; i < space->n; i++) {
        const space_var *v = &space->vars[i];
        if (v->kind == SPARSE_VAR_CATEGORICAL) {
            size_t best = 0;
            for (size_t j = 1; j < v->n_choices; j++)
                if (x[v->offset + j] > x[v->offset + best])
                    best = j;
            point[i] = (double)best;
        } else {
            point[i] = from_unit(v, x[v->offset]);
        }
    }
    /* Activity follows from the decoded parents, not from the sentinels, so
     * a decoded point is always consistent. */
    return clear_inactive(space, point);
}

static double sample_var(const space_var *v, sparse_rng *rng)
{
    if (v->kind == SPARSE_VAR_CATEGORICAL)
        return (double)sparse_rng_uint(rng, v->n_choices);
    if (v->kind == SPARSE_VAR_INT && !v->log_scale)
        return v->lo + (double)sparse_rng_uint(rng, (uint64_t)(v->hi - v->lo) + 1);
    return from_unit(v, sparse_rng_uniform(rng));
}

SPARSE_API int sparse_space_sample(const sparse_space *space, sparse_rng *rng, double *point)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(point);
    int rc = sparse_space_sample_all(space, rng, point);
    return rc ? rc : clear_inactive(space, point);
}

SPARSE_API int sparse_space_sample_all(const sparse_space *space, sparse_rng *rng, double *point)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(point);
    for (size_t i = 0; i < space->n; i++)
        point[i] = sample_var(&space->vars[i], rng);
    return SPARSE_OK;
}

SPARSE_API int sparse_space_mutate(const sparse_space *space, sparse_rng *rng, const double *point,
                                   double prob, double scale, double *out)
{
    SPARSE__CHECK_NULL(space);
    SPARSE__CHECK_NULL(rng);
    SPARSE__CHECK_NULL(point);
    SPARSE__CHECK_NULL(out);
    if (space->n == 0)
        return SPARSE_OK;
    double p = prob > 1.0 / (double)space->n ? prob : 1.0 / (double)space->n;
    int changed = 0;
    for (size_t i = 0; i < space->n; i++) {
        const space_var *v = &space->vars[i];
        double x = point[i];
        /* Newly activated children need a value; so do NaN inputs. */
        if (!isfinite(x)) {
            out[i] = sample_var(v, rng);
            continue;
        }
        out[i] = x;
        if (sparse_rng_uniform(rng) >= p)
            continue;
        changed = 1;
        if (v->kind == SPARSE_VAR_CATEGORICAL) {
            out[i] = (double)sparse_rng_uint(rng, v->n_choices);
        } else {
            double u = to_unit(v, x) + scale * sparse_rng_normal(rng);
            double y = from_unit(v, u);
            /* Integer steps smaller than one unit would be lost to rounding. */
            if (v->kind == SPARSE_VAR_INT && y == x && v->hi > v->lo) {
                y = x + (sparse_rng_uniform(rng) < 0.5 ? -1.0 : 1.0);
                if (y < v->lo || y > v->hi)
                    y = 2 * x - y;
            }
            out[i] = y;
        }
    }
    if (!changed) {
        size_t i = (size_t)sparse_rng_uint(rng, space->n);
        if (isfinite(out[i]))
            out[i] = sample_var(&space->vars[i], rng);
    }
    return clear_inactive(space, out);
}
