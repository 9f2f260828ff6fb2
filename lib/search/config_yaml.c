/* The resolved search config as YAML: every key with its value, defaults
 * included, so that a run's config.yaml says everything the run depends on.
 * Keys added after runs were written go out only when not their default, so
 * that those runs' config hashes (state.c) stay the same. */

#include <stddef.h>

#include "../core/internal.h"
#include "config_schema.h"
#include "search_internal.h"

/* key: [lo, hi] at the indent given (a space's keys are indented by two). */
static void put_range(sparse__buf *b, const char *indent, const char *key, sparse__range r)
{
    sparse__buf_printf(b, "%s%s: [", indent, key);
    sparse__buf_json_double(b, r.lo);
    sparse__buf_puts(b, ", ");
    sparse__buf_json_double(b, r.hi);
    sparse__buf_puts(b, "]\n");
}

static void put_choices(sparse__buf *b, const char *key, sparse__choices set, const char *const *names,
                        size_t n)
{
    sparse__buf_printf(b, "  %s: [", key);
    int first = 1;
    for (size_t i = 0; i < n; i++)
        if (set & (1u << i)) {
            sparse__buf_printf(b, "%s%s", first ? "" : ", ", names[i]);
            first = 0;
        }
    sparse__buf_puts(b, "]\n");
}

static void put_plot(sparse__buf *b, const sparse_search_config *c)
{
    if (!c->plot_nrefs && !c->plot_test)
        return;
    sparse__buf_puts(b, "plot:\n");
    if (c->plot_test) /* only when not the default: older runs' config.yaml stays the same */
        sparse__buf_printf(b, "  accuracy: %s\n", sparse__cfg_plot_accuracy_names[c->plot_test]);
    if (c->plot_nrefs)
        sparse__buf_puts(b, "  references:\n");
    for (size_t i = 0; i < c->plot_nrefs; i++) {
        const sparse__reference *r = &c->plot_refs[i];
        sparse__buf_puts(b, "    - {label: ");
        sparse__buf_json_string(b, r->label);
        sparse__buf_puts(b, ", accuracy: ");
        sparse__buf_json_double(b, r->accuracy);
        if (r->ms > 0) {
            sparse__buf_puts(b, ", ms_bytes: ");
            sparse__buf_json_double(b, r->ms);
        }
        if (r->wm > 0) {
            sparse__buf_puts(b, ", wm_bytes: ");
            sparse__buf_json_double(b, r->wm);
        }
        sparse__buf_puts(b, "}\n");
    }
}

static void put_key_double(sparse__buf *b, const char *key, double v)
{
    sparse__buf_puts(b, key);
    sparse__buf_json_double(b, v);
    sparse__buf_puts(b, "\n");
}

static void put_data(sparse__buf *b, const sparse_search_config *c)
{
    sparse__buf_puts(b, "data:\n  source: ");
    sparse__buf_json_string(b, c->data);
    sparse__buf_printf(b, "\n  val_count: %zu\n  max_train: %zu\n  binary: %s\n", c->val_count, c->max_train,
                       c->binary ? "true" : "false");
    if (c->shape[0])
        sparse__buf_printf(b, "  shape: [%zu, %zu, %zu]\n", c->shape[0], c->shape[1], c->shape[2]);
    if (c->layout != SPARSE_LAYOUT_CHW)
        sparse__buf_printf(b, "  layout: %s\n", sparse__cfg_layout_names[c->layout]);
    if (c->label_column)
        sparse__buf_printf(b, "  label_column: %zu\n", c->label_column);
    if (c->val_split != SPARSE_VAL_SPLIT_TAIL)
        sparse__buf_printf(b, "  val_split: %s\n", sparse__cfg_val_split_names[c->val_split]);
}

static void put_budgets(sparse__buf *b, const sparse_search_config *c)
{
    if (c->budget_ms <= 0 && c->budget_wm <= 0 && c->budget_arena <= 0)
        return;
    sparse__buf_puts(b, "budgets:\n");
    if (c->budget_ms > 0)
        put_key_double(b, "  ms_bytes: ", c->budget_ms);
    if (c->budget_wm > 0)
        put_key_double(b, "  wm_bytes: ", c->budget_wm);
    if (c->budget_arena > 0)
        put_key_double(b, "  arena_bytes: ", c->budget_arena);
}

static void put_stages(sparse__buf *b, const sparse_search_config *c)
{
    sparse__buf_puts(b, "stages:\n");
    for (int i = 0; i < 3; i++) {
        sparse__buf_printf(b, "  - {trials: %zu, rho: ", c->stage_trials[i]);
        sparse__buf_json_double(b, c->stage_rho[i]);
        sparse__buf_puts(b, "}\n");
    }
    if (!c->final_trials)
        return;
    sparse__buf_printf(b, "final:\n  trials: %zu\n  epochs: %zu\n  shift: %zu\n  fill: %s\n", c->final_trials,
                       c->final_epochs, c->final_shift, sparse__cfg_fill_names[c->final_fill]);
    if (c->final_nboxes)
        sparse__buf_puts(b, "  boxes:\n");
    for (size_t i = 0; i < c->final_nboxes; i++) {
        sparse__buf_puts(b, "    - {");
        if (c->final_box_ms[i] > 0) {
            sparse__buf_puts(b, "ms_bytes: ");
            sparse__buf_json_double(b, c->final_box_ms[i]);
        }
        if (c->final_box_wm[i] > 0) {
            sparse__buf_puts(b, c->final_box_ms[i] > 0 ? ", wm_bytes: " : "wm_bytes: ");
            sparse__buf_json_double(b, c->final_box_wm[i]);
        }
        sparse__buf_puts(b, "}\n");
    }
}

static void put_list3(sparse__buf *b, const char *key, const double v[3])
{
    sparse__buf_puts(b, key);
    for (int k = 0; k < 3; k++) {
        sparse__buf_puts(b, k ? ", " : "[");
        sparse__buf_json_double(b, v[k]);
    }
    sparse__buf_puts(b, "]\n");
}

static void put_proposals(sparse__buf *b, const sparse_search_config *c)
{
    sparse__buf_printf(b, "initial_trials: %zu\ncandidates: %zu\n", c->initial_trials, c->candidates);
    put_key_double(b, "time_budget: ", c->time_budget_s);
    put_range(b, "", "random_fill", c->random_fill);
    if (c->lambda_box) {
        sparse__buf_puts(b, "lambda:\n");
        put_list3(b, "  low: ", c->lambda_lo);
        put_list3(b, "  high: ", c->lambda_hi);
        if (c->lambda_broad > 0)
            put_key_double(b, "  broad: ", c->lambda_broad);
    } else {
        sparse__buf_puts(b, "lambda: dirichlet\n");
    }
}

static void put_training_and_space(sparse__buf *b, const sparse_search_config *c)
{
    sparse__buf_printf(b, "training:\n  batch: %zu\n  optimizer: %s\n  schedule: %s\n", c->batch,
                       sparse__cfg_optimizer_names[c->optimizer], sparse__cfg_schedule_names[c->schedule]);
    if (c->prune_noise != SPARSE_PRUNE_NOISE_ACTIVATION)
        sparse__buf_printf(b, "  prune_noise: %s\n", sparse__cfg_prune_noise_names[c->prune_noise]);
    sparse__buf_puts(b, "space:\n");
    for (size_t i = 0; i < sparse__cfg_nrange; i++) {
        const sparse__range_key *k = &sparse__cfg_range_keys[i];
        put_range(b, "  ", k->key, *(const sparse__range *)((const char *)c + k->offset));
    }
    for (size_t i = 0; i < sparse__cfg_nbool; i++) {
        const sparse__bool_key *k = &sparse__cfg_bool_keys[i];
        put_choices(b, k->key, *(const sparse__choices *)((const char *)c + k->offset),
                    sparse__cfg_bool_names, 2);
    }
    put_choices(b, "layer_types", c->layer_types, sparse__cfg_layer_type_names, SPARSE__LAYER_TYPES);
    put_choices(b, "pruning", c->prune, sparse__cfg_prune_names, SPARSE__PRUNE_METHODS);
}

static void put_ranking(sparse__buf *b, const sparse_search_config *c)
{
    sparse__buf_printf(b, "ranking: %s\n", sparse__cfg_ranking_names[c->rank_posterior]);
    if (c->early_stop) {
        sparse__buf_puts(b, "early_stop: {quantile: ");
        sparse__buf_json_double(b, c->early_quantile);
        sparse__buf_printf(b, ", min_curves: %zu}\n", c->early_min_curves);
    } else {
        sparse__buf_puts(b, "early_stop: off\n");
    }
    sparse__buf_printf(b, "arch_repeats: %zu\n", c->arch_repeats);
}

SPARSE_API int sparse_search_config_to_yaml(char **out, const sparse_search_config *c)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(c);
    sparse__buf b = SPARSE__BUF_INIT;
    put_data(&b, c);
    sparse__buf_printf(&b, "seed: %llu\nthreads: %d\nworkers: %zu\nwm_model: %d\n",
                       (unsigned long long)c->seed, c->threads, c->workers, c->wm_model);
    if (c->input_downsampling != SPARSE_INPUT_DOWNSAMPLING_NETWORK)
        sparse__buf_printf(&b, "input_downsampling: %s\n",
                           sparse__cfg_input_downsampling_names[c->input_downsampling]);
    put_budgets(&b, c);
    put_stages(&b, c);
    put_proposals(&b, c);
    put_training_and_space(&b, c);
    put_ranking(&b, c);
    put_plot(&b, c);
    char *s = sparse__buf_detach(&b);
    if (!s)
        return SPARSE_ENOMEM;
    *out = s;
    return SPARSE_OK;
}
