/* `sparse search`: run or resume a SpArSe search; progress on stderr. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void search_help(FILE *f)
{
    fprintf(f,
            "Usage: sparse search CONFIG.yaml --out DIR [options]\n"
            "       sparse search --resume DIR [options]\n"
            "       sparse search CONFIG.yaml --print-config\n\n"
            "Searches architectures, training and pruning for the Pareto front of validation\n"
            "accuracy, model size (MS) and working memory (WM). See docs/search-config.md.\n\n"
            "Options:\n"
            "  --out DIR             run directory to create (trials.jsonl, weights/, pareto.csv)\n"
            "  --resume DIR          continue the run in DIR exactly where it stopped\n"
            "  --trials N            stop after N trials in all (default: the config's stages)\n"
            "  --time-budget T       no new trial after T (e.g. 900, 15m, 2h; default: the config's)\n"
            "  --threads T           compute threads (default: the config's)\n"
            "  --data SPEC           use this data set instead of the config's\n"
            "  --print-config        print the resolved config (defaults included) and exit\n"
            "  --json                print one JSON object per trial on stdout\n");
    cli_common_help(f, 22);
    fprintf(f, "\nOn stderr: one line per trial, and a live progress line when stderr is a terminal.\n");
}

/* "90", "90s", "15m", "2h" -> seconds. */
static int parse_duration(const char *s, double *out)
{
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

typedef struct ui {
    int json;
} ui;

static int on_trial(void *user, const sparse_trial_event *ev)
{
    ui *u = user;
    if (u->json) {
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

int cli_cmd_search(int argc, char **argv)
{
    const char *config = NULL, *out = NULL, *resume = NULL;
    int print_config = 0;
    ui u = {0};
    sparse_search_options opts = SPARSE_SEARCH_OPTIONS_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = !strcmp(a, "--out") || !strcmp(a, "--resume") || !strcmp(a, "--trials") ||
                          !strcmp(a, "--time-budget") || !strcmp(a, "--threads") || !strcmp(a, "--data");
        if (takes_value && !v)
            return cli_usage("search ", "option %s needs a value", a);
        if (takes_value)
            i++;
        long l;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return search_help(stdout), CLI_OK;
        else if (cli_common_option(a))
            continue;
        else if (!strcmp(a, "--json"))
            u.json = 1;
        else if (!strcmp(a, "--print-config"))
            print_config = 1;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--resume"))
            resume = v;
        else if (!strcmp(a, "--data"))
            opts.data_override = v;
        else if (!strcmp(a, "--trials")) {
            if (cli_parse_long(v, 1, 10000000, &l))
                return cli_usage("search ", "--trials must be a positive integer, not '%s'", v);
            opts.max_trials = (size_t)l;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_long(v, 1, 1024, &l))
                return cli_usage("search ", "--threads must be an integer in 1..1024, not '%s'", v);
            opts.threads = (int)l;
        } else if (!strcmp(a, "--time-budget")) {
            if (parse_duration(v, &opts.time_budget_s))
                return cli_usage("search ", "--time-budget must look like 900, 15m or 2h, not '%s'", v);
        } else if (a[0] == '-')
            return cli_usage("search ", "unknown option '%s'", a);
        else if (!config)
            config = a;
        else
            return cli_usage("search ", "unexpected argument '%s'", a);
    }
    opts.on_trial = on_trial;
    opts.on_progress = on_progress;
    opts.user = &u;
    if (resume) {
        if (config || out)
            return cli_usage("search ", "--resume DIR takes no CONFIG or --out");
        int rc = sparse_search_resume(resume, &opts);
        return rc ? cli_lib_error(rc, "search") : CLI_OK;
    }
    if (!config)
        return cli_usage("search ", "missing CONFIG.yaml");
    sparse_search_config *cfg;
    int rc = sparse_search_config_load(&cfg, config);
    if (rc)
        return cli_lib_error(rc, "config");
    if (print_config) {
        char *yaml;
        rc = sparse_search_config_to_yaml(cfg, &yaml);
        if (!rc) {
            fputs(yaml, stdout);
            free(yaml);
        }
        sparse_search_config_free(cfg);
        return rc ? cli_lib_error(rc, "config") : CLI_OK;
    }
    if (!out) {
        sparse_search_config_free(cfg);
        return cli_usage("search ", "missing --out DIR");
    }
    rc = sparse_search_run(cfg, out, &opts);
    sparse_search_config_free(cfg);
    if (rc)
        return cli_lib_error(rc, "search");
    if (cli_verbose())
        fprintf(stderr, "front: sparse inspect %s\n", out);
    return CLI_OK;
}
