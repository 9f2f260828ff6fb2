/* Runs a SpArSe search with a progress callback, then prints its Pareto
 * front. Build against an installed libsparse:
 *   cc search_front.c $(pkg-config --cflags --libs sparse) -o search_front
 * Usage: search_front CONFIG.yaml OUT_DIR [MAX_TRIALS] */
#include <stdio.h>
#include <stdlib.h>

#include <sparse/sparse.h>

static int on_trial(void *user, const sparse_trial_event *ev)
{
    (void)user;
    if (ev->ok)
        printf("trial %zu/%zu (stage %d): %.2f%% validation, MS %.0f B, WM %.0f B\n", ev->trial + 1,
               ev->total, ev->stage, 100.0 * ev->val_accuracy, ev->ms_bytes, ev->wm_bytes);
    else
        printf("trial %zu/%zu (stage %d): failed\n", ev->trial + 1, ev->total, ev->stage);
    return 0; /* non-zero would stop the search cleanly */
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", what, sparse_strerror(rc), sparse_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CONFIG.yaml OUT_DIR [MAX_TRIALS]\n", argv[0]);
        return 2;
    }
    printf("libsparse %s\n", sparse_version());
    sparse_search_config *cfg;
    int rc = sparse_search_config_load(&cfg, argv[1]);
    if (rc)
        return fail("config", rc);
    sparse_search_options opts = SPARSE_SEARCH_OPTIONS_INIT;
    opts.on_trial = on_trial;
    if (argc > 3)
        opts.max_trials = (size_t)strtoul(argv[3], NULL, 10);
    rc = sparse_search_run(cfg, argv[2], &opts);
    sparse_search_config_free(cfg);
    if (rc)
        return fail("search", rc);

    sparse_run *run;
    if ((rc = sparse_run_open(&run, argv[2])))
        return fail("open run", rc);
    size_t n = sparse_run_trial_count(run), count = 0;
    size_t *front = malloc((n ? n : 1) * sizeof *front);
    if (!front || (rc = sparse_run_pareto(run, front, &count))) {
        free(front);
        sparse_run_free(run);
        return fail("pareto", rc ? rc : SPARSE_ENOMEM);
    }
    printf("\nPareto front (%zu of %zu trials):\n%6s %9s %9s %9s\n", count, n, "trial", "val %", "MS (B)", "WM5 (B)");
    for (size_t j = 0; j < count; j++) {
        double acc, ms, wm;
        sparse_run_trial_value(run, front[j], SPARSE_TRIAL_VAL_ACCURACY, &acc);
        sparse_run_trial_value(run, front[j], SPARSE_TRIAL_MS_BYTES, &ms);
        sparse_run_trial_value(run, front[j], SPARSE_TRIAL_WM5_BYTES, &wm);
        printf("%6zu %9.2f %9.0f %9.0f\n", front[j], 100 * acc, ms, wm);
    }
    free(front);
    sparse_run_free(run);
    return 0;
}
