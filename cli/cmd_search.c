/* `sparse search`: run or resume a SpArSe search; progress on stderr. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "90", "90s", "15m", "2h" -> seconds. */
static int parse_duration(const char *s, void *field)
{
    double *out = field;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    double unit = 1;
    if (!strcmp(end, "h"))
        unit = 3600;
    else if (!strcmp(end, "m"))
        unit = 60;
    else if (*end && strcmp(end, "s"))
        return -1;
    *out = v * unit;
    return 0;
}

typedef struct search_args {
    const char *config, *out, *resume, *data;
    long trials, threads;
    double time_budget_s;
    int print_config, json;
} search_args;

#define F(m) offsetof(search_args, m)
static const cli_opt search_opts[] = {
    CLI_OPT_STRING("out", "DIR", F(out), "run directory to create (trials.jsonl, weights/, pareto.csv)"),
    CLI_OPT_STRING("resume", "DIR", F(resume), "continue the run in DIR exactly where it stopped"),
    {.type = CLI_LONG, .name = "trials", .arg = "N", .field = F(trials), .min = 1, .max = 10000000,
     .expect = "be a positive integer", .help = "stop after N trials in all (default: the config's stages)"},
    {.type = CLI_CUSTOM, .name = "time-budget", .arg = "T", .field = F(time_budget_s),
     .parse = parse_duration, .expect = "look like 900, 15m or 2h",
     .help = "no new trial after T (e.g. 900, 15m, 2h; default: the config's)"},
    {.type = CLI_LONG, .name = "threads", .arg = "T", .field = F(threads), .min = 1, .max = 1024,
     .help = "compute threads (default: the config's)"},
    CLI_OPT_STRING("data", "SPEC", F(data), "use this data set instead of the config's"),
    CLI_OPT_FLAG("print-config", F(print_config), "print the resolved config (defaults included) and exit"),
    CLI_OPT_FLAG("json", F(json), "print one JSON object per trial on stdout"),
    {0},
};
static const cli_spec search_spec = {
    .name = "search", .opts = search_opts, .args = {F(config)}, .n_args = 1,
    .usage =
        "Usage: sparse search CONFIG.yaml --out DIR [options]\n"
        "       sparse search --resume DIR [options]\n"
        "       sparse search CONFIG.yaml --print-config\n\n"
        "Searches architectures, training and pruning for the Pareto front of validation\n"
        "accuracy, model size (MS) and working memory (WM). See docs/search-config.md.\n",
    .epilog = "\nOn stderr: one line per trial, and a live progress line when stderr is a terminal.\n",
};

static int on_trial(void *user, const sparse_trial_event *ev)
{
    const search_args *a = user;
    if (a->json) {
        printf("%s\n", ev->record_json);
        fflush(stdout);
    }
    if (cli_verbose()) {
        char best[32] = "none";
        if (ev->best_feasible_accuracy >= 0)
            snprintf(best, sizeof best, "%.2f%%", 100.0 * ev->best_feasible_accuracy);
        if (cli_progress()) /* clear the live progress line */
            fputs("\r\033[K", stderr);
        if (ev->stage == 4)
            fprintf(stderr, "trial %zu/%zu final stage: ", ev->trial + 1, ev->total);
        else
            fprintf(stderr, "trial %zu/%zu stage %d: ", ev->trial + 1, ev->total, ev->stage);
        if (ev->ok)
            fprintf(stderr, "val %.2f%% MS %.0f B WM %.0f B", 100.0 * ev->val_accuracy, ev->ms_bytes,
                    ev->wm_bytes);
        else
            fprintf(stderr, "failed");
        fprintf(stderr, " | best within budgets %s | %.0f s elapsed", best, ev->elapsed_s);
        if (ev->remaining_s >= 0)
            fprintf(stderr, ", ~%.0f s left", ev->remaining_s);
        fputc('\n', stderr);
    }
    return 0;
}

static int on_progress(void *user, size_t trial, size_t epoch, size_t batch, size_t per_epoch, double loss)
{
    (void)user;
    if (batch % 50 == 0 && cli_progress())
        fprintf(stderr, "\r\033[Ktrial %zu  epoch %zu  batch %zu/%zu  loss %.4f", trial + 1, epoch + 1,
                batch + 1, per_epoch, loss);
    return 0;
}

/* --print-config: the resolved config as YAML. */
static int print_config(const char *path)
{
    sparse_search_config *cfg;
    char *yaml = NULL;
    int rc = sparse_search_config_load(&cfg, path);
    if (!rc)
        rc = sparse_search_config_to_yaml(&yaml, cfg);
    sparse_search_config_free(cfg);
    int status = rc ? cli_lib_error(rc, "config") : cli_write_text(NULL, yaml, "config");
    sparse_free(yaml);
    return status;
}

int cli_cmd_search(int argc, char **argv)
{
    search_args a = {0};
    int rc = cli_parse(&search_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = (size_t)a.trials;
    o.threads = (int)a.threads;
    o.time_budget_s = a.time_budget_s;
    o.data_override = a.data;
    o.on_trial = on_trial;
    o.on_progress = on_progress;
    o.user = &a;
    if (a.resume) {
        if (a.config || a.out)
            return cli_usage("search", "--resume DIR takes no CONFIG or --out");
        rc = sparse_search_resume(a.resume, &o);
        return rc ? cli_lib_error(rc, "search") : CLI_OK;
    }
    if (!a.config)
        return cli_usage("search", "missing CONFIG.yaml");
    if (a.print_config)
        return print_config(a.config);
    sparse_search_config *cfg;
    if ((rc = sparse_search_config_load(&cfg, a.config)))
        return cli_lib_error(rc, "config");
    if (!a.out) {
        sparse_search_config_free(cfg);
        return cli_usage("search", "missing --out DIR");
    }
    rc = sparse_search_run(cfg, a.out, &o);
    sparse_search_config_free(cfg);
    if (rc)
        return cli_lib_error(rc, "search");
    if (cli_verbose())
        fprintf(stderr, "front: sparse inspect %s\n", a.out);
    return CLI_OK;
}
