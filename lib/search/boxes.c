/* The budget boxes of a run and the trial to take for each: what a user
 * who has a memory budget wants from a run directory. */
#include "../core/internal.h"
#include "loop.h"

SPARSE_API size_t sparse_run_box_count(const sparse_run *run)
{
    const sparse_search_config *c = run ? sparse__run_config(run) : NULL;
    if (!c)
        return 0;
    if (c->final_nboxes)
        return c->final_nboxes;
    return c->budget_ms > 0 || c->budget_wm > 0 || c->budget_arena > 0;
}

SPARSE_API int sparse_run_box(const sparse_run *run, size_t box, double *ms_bytes, double *wm_bytes,
                              double *arena_bytes)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(ms_bytes);
    SPARSE__CHECK_NULL(wm_bytes);
    SPARSE__CHECK_NULL(arena_bytes);
    size_t n = sparse_run_box_count(run);
    if (box >= n)
        return sparse__error(SPARSE_ERANGE, "sparse_run_box: box %zu, the run has %zu", box, n);
    const sparse_search_config *c = sparse__run_config(run);
    sparse__final_box(c, box, ms_bytes, wm_bytes);
    *arena_bytes = c->budget_arena;
    return SPARSE_OK;
}

SPARSE_API int sparse_run_box_contains(const sparse_run *run, size_t box, size_t id, int *inside)
{
    SPARSE__CHECK_NULL(inside);
    *inside = 0;
    double ms, wm, arena, ok, v[3];
    int model = 5;
    int rc = sparse_run_box(run, box, &ms, &wm, &arena);
    if (!rc)
        rc = sparse_run_wm_model(run, &model);
    if (!rc)
        rc = sparse_run_trial_value(run, id, SPARSE_TRIAL_OK, &ok);
    if (!rc)
        rc = sparse_run_trial_value(run, id, SPARSE_TRIAL_MS_BYTES, &v[0]);
    if (!rc)
        rc = sparse_run_trial_value(run, id, model == 6 ? SPARSE_TRIAL_WM6_BYTES : SPARSE_TRIAL_WM5_BYTES, &v[1]);
    if (!rc)
        rc = sparse_run_trial_value(run, id, SPARSE_TRIAL_ARENA_BYTES, &v[2]);
    if (rc)
        return rc;
    const double bound[3] = {ms, wm, arena};
    *inside = ok == 1;
    for (int k = 0; k < 3; k++)
        if (bound[k] > 0 && !(v[k] >= 0 && v[k] <= bound[k]))
            *inside = 0;
    return SPARSE_OK;
}

SPARSE_API int sparse_run_box_pick(const sparse_run *run, size_t box, size_t *id)
{
    SPARSE__CHECK_NULL(run);
    SPARSE__CHECK_NULL(id);
    const int rank = sparse__run_config(run)->rank_posterior ? SPARSE_TRIAL_POSTERIOR_ACCURACY
                                                             : SPARSE_TRIAL_VAL_ACCURACY;
    double best = -1;
    int rc = SPARSE_OK;
    for (size_t i = 0; !rc && i < sparse_run_trial_count(run); i++) {
        size_t t;
        int inside = 0;
        double partial = 0, acc = -1;
        if ((rc = sparse_run_trial_id(run, i, &t)) || (rc = sparse_run_box_contains(run, box, t, &inside)) ||
            !inside || (rc = sparse_run_trial_value(run, t, SPARSE_TRIAL_PARTIAL, &partial)) || partial == 1 ||
            (rc = sparse_run_trial_value(run, t, rank, &acc)))
            continue;
        if (acc < 0 && (rc = sparse_run_trial_value(run, t, SPARSE_TRIAL_VAL_ACCURACY, &acc)))
            continue; /* no posterior (the GP could not be fitted): the measurement */
        if (acc > best) {
            best = acc;
            *id = t;
        }
    }
    if (rc)
        return rc;
    return best < 0 ? sparse__error(SPARSE_ENOTFOUND, "no successful trial of the run is inside box %zu", box)
                    : SPARSE_OK;
}
