/* A run directory's trials.jsonl (the config beside it fixed): opened as
 * `sparsenas inspect` and programs open it, every warning, every trial by its
 * id, every figure and the front read. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "sparse/sparse.h"

static const char config[] = "data: mnist\nseed: 1\nbudgets: {ms_bytes: 2048, wm_bytes: 2048}\n"
                             "space: {blocks: [1, 2], layers_per_block: [1, 2], filters: [1, 8],"
                             " pruning: [none, spvd, bc]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_write("config.yaml", config, sizeof config - 1) || !fuzz_write("trials.jsonl", data, size))
        return 0;
    sparse_run *run = NULL;
    if (sparse_run_open(&run, fuzz_dir()) == SPARSE_OK) {
        size_t n = sparse_run_trial_count(run);
        volatile double sum = 0;
        for (size_t i = 0; i < sparse_run_warning_count(run); i++) {
            size_t line = 0;
            sum += (double)strlen(sparse_run_warning(run, i, &line)) + (double)line;
        }
        for (size_t i = 0; i <= n; i++) {
            size_t id = i; /* one past the end: an id no trial has */
            if (i < n && sparse_run_trial_id(run, i, &id) != SPARSE_OK)
                continue;
            const char *json = sparse_run_trial_json(run, id);
            sum += json ? (double)strlen(json) : 0.0;
            for (int f = 0; f <= SPARSE_TRIAL_ARENA_BYTES; f++) {
                double v = 0;
                if (f != SPARSE_TRIAL_POSTERIOR_ACCURACY && f != SPARSE_TRIAL_POSTERIOR_SE &&
                    sparse_run_trial_value(run, id, f, &v) == SPARSE_OK)
                    sum += v;
            }
            const char *reason = NULL;
            if (sparse_run_trial_reason(run, id, &reason) == SPARSE_OK && reason)
                sum += (double)strlen(reason);
            int inside = 0;
            if (sparse_run_box_contains(run, 0, id, &inside) == SPARSE_OK)
                sum += inside;
        }

        size_t idx[4096], count = 0;
        if (n <= sizeof idx / sizeof idx[0])
            sparse_run_pareto(run, idx, &count);
        (void)sum;
    }
    sparse_run_free(run);
    return 0;
}
