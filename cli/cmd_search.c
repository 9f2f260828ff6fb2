/* `sparsenas search`: run or resume a SpArSe search; progress on stderr.
 * SIGINT and SIGTERM stop it between records (through the library's
 * callbacks), so the run directory stays whole, and say how to resume. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct search_args {
    const char *config, *out, *resume, *data;
    long trials, threads, seed;
    double time_budget_s;
    int print_config, json;
} search_args;

#define F(m) offsetof(search_args, m)
static const cli_opt search_opts[] = {
    CLI_OPT_STRING("out", "DIR", F(out), "run directory to create (trials.jsonl, weights/, pareto.csv)"),
    CLI_OPT_STRING("resume", "DIR", F(resume), "continue the run in DIR exactly where it stopped"),
    {.type = CLI_LONG, .name = "trials", .arg = "N", .field = F(trials), .min = 1, .max = 10000000,
     .expect = "be a positive integer",
     .help = "stop after N trials in all (default: the config's stages; a resume\n"
             "keeps the limit the run was started with)"},
    {.type = CLI_CUSTOM, .name = "time-budget", .arg = "T", .field = F(time_budget_s),
     .parse = cli_parse_duration, .expect = "look like 900, 15m or 2h",
     .help = "no new trial after T (e.g. 900, 15m, 2h; default: the config's);\n"
             "a resume continues with what is left of the run's, or T more"},
    {.type = CLI_LONG, .name = "threads", .arg = "T", .field = F(threads), .min = 1, .max = 1024,
     .help = "compute threads (default: the config's)"},
    CLI_OPT_LONG("seed", "S", F(seed), 0, 2147483647L, NULL,
                 "seed of the search and of its data split, replacing the config's\n"
                 "(default: the config's); a new run records it in its config.yaml"),
    CLI_OPT_STRING("data", "SPEC", F(data), "use this data set instead of the config's"),
    CLI_OPT_FLAG("print-config", F(print_config), "print the resolved config (defaults included) and exit"),
    CLI_OPT_FLAG("json", F(json), "print one JSON object per trial on stdout"),
    {0},
};
static const cli_spec search_spec = {
    .name = "search", .opts = search_opts, .args = {F(config)}, .n_args = 1,
    .usage =
        "Usage: sparsenas search CONFIG.yaml --out DIR [options]\n"
        "       sparsenas search --resume DIR [options]\n"
        "       sparsenas search CONFIG.yaml --print-config\n\n"
        "Searches architectures, training and pruning for the Pareto front of validation\n"
        "accuracy, model size (MS) and working memory (WM). See docs/search-config.md.\n",
    .epilog = "\nOn stderr: one line per trial, and a live progress line when stderr is a terminal.\n"
              "SIGINT (Ctrl-C) or SIGTERM stops the search after the record being written, keeps every\n"
              "trial recorded and exits with 128 + the signal number (130, 143); a second one stops at once.\n"
              "Continue with 'sparsenas search --resume DIR'.\n",
};

/* The signal that asked the search to stop (0: none). The callbacks read
 * it; the library then stops cleanly, the record being written whole. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

/* A signal the shell made us ignore (SIGINT of a background job without
 * job control) stays ignored. */
static void catch_stop_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sa.sa_flags = SA_RESETHAND; /* a second signal stops at once */
        sigemptyset(&sa.sa_mask);
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
}

/* The outcome of a search or resume of dir: stopped by a signal, failed,
 * or done (a signal after the last trial changes nothing). */
static int finish(int rc, const char *dir)
{
    if (rc && stop_signal) {
        const char *sig = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
        fprintf(stderr, "sparsenas: stopped by %s; every trial recorded is kept. "
                        "Continue with: sparsenas search --resume %s\n",
                sig, dir);
        return 128 + stop_signal;
    }
    return rc ? cli_lib_error(rc, "search") : CLI_OK;
}

/* Before a resume: what the run directory holds that the resume will not
 * use (a torn last line it cuts, lines it refuses), on stderr. Then, when
 * the run is finished and the resume gives no new limit (the library finds
 * nothing to do, after its checks) this says so, with how to
 * search on. */
static int resume_run(const search_args *a, const sparse_search_options *o)
{
    sparse_run *run = NULL;
    double v[6] = {-1, -1, -1, -1, -1, -1};
    if (sparse_run_open(&run, a->resume) == SPARSE_OK) {
        cli_run_warnings(run);
        for (int f = 0; f < 6; f++)
            sparse_run_state_value(run, f, &v[f]);
    }
    sparse_run_free(run);
    sparse_clear_error();
    catch_stop_signals();
    int rc = sparse_search_resume(a->resume, o);
    if (rc || v[SPARSE_RUN_FINISHED] != 1 || (a->trials > 0 && a->trials > v[SPARSE_RUN_TRIALS_DONE]) ||
        a->time_budget_s > 0)
        return finish(rc, a->resume);
    char limits[160] = "";
    if (v[SPARSE_RUN_MAX_TRIALS] > 0)
        snprintf(limits, sizeof limits, " (it was started with --trials %.0f)", v[SPARSE_RUN_MAX_TRIALS]);
    if (v[SPARSE_RUN_TIME_BUDGET] > 0 && v[SPARSE_RUN_ELAPSED] >= v[SPARSE_RUN_TIME_BUDGET])
        snprintf(limits + strlen(limits), sizeof limits - strlen(limits), ", its time budget of %g s spent",
                 v[SPARSE_RUN_TIME_BUDGET]);
    cli_note("%s is finished: %.0f of %.0f planned trials recorded%s. To search on: sparsenas search --resume %s "
             "--trials N (more than %.0f) or --time-budget T",
             a->resume, v[SPARSE_RUN_TRIALS_DONE], v[SPARSE_RUN_TRIALS_PLANNED], limits, a->resume,
             v[SPARSE_RUN_TRIALS_DONE]);
    return CLI_OK;
}

static int on_trial(void *user, const sparse_trial_event *ev)
{
    if (stop_signal)
        return 1;
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
    if (stop_signal)
        return 1;
    if (batch % 50 == 0 && cli_progress())
        fprintf(stderr, "\r\033[Ktrial %zu  epoch %zu  batch %zu/%zu  loss %.4f", trial + 1, epoch + 1,
                batch + 1, per_epoch, loss);
    return 0;
}

/* --print-config: the resolved config as YAML, with --seed's seed (what
 * the run's config.yaml would hold). */
static int print_config(const char *path, long seed)
{
    sparse_search_config *cfg;
    char *yaml = NULL;
    int rc = sparse_search_config_load(&cfg, path);
    if (!rc)
        rc = sparse_search_config_to_yaml(&yaml, cfg);
    sparse_search_config_free(cfg);
    if (rc)
        return cli_lib_error(rc, "config");
    char *line = strstr(yaml, "\nseed: "), *end = line ? strchr(line + 1, '\n') : NULL;
    size_t cap = strlen(yaml) + 32;
    char *text = seed >= 0 && end ? malloc(cap) : NULL;
    if (text)
        snprintf(text, cap, "%.*s\nseed: %ld%s", (int)(line - yaml), yaml, seed, end);
    int status = seed >= 0 && !text ? cli_error("out of memory") : cli_write_text(NULL, text ? text : yaml, "config");
    free(text);
    sparse_free(yaml);
    return status;
}

int cli_cmd_search(int argc, char **argv)
{
    search_args a = {.seed = -1};
    int rc = cli_parse(&search_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = (size_t)a.trials;
    o.threads = (int)a.threads;
    o.time_budget_s = a.time_budget_s;
    o.data_override = a.data;
    o.seed = a.seed;
    o.on_trial = on_trial;
    o.on_progress = on_progress;
    o.user = &a;
    if (a.resume) {
        if (a.config || a.out)
            return cli_usage("search", "--resume DIR takes no CONFIG or --out");
        return resume_run(&a, &o);
    }
    if (!a.config)
        return cli_usage("search", "missing CONFIG.yaml");
    if (a.print_config)
        return print_config(a.config, a.seed);
    sparse_search_config *cfg;
    if ((rc = sparse_search_config_load(&cfg, a.config)))
        return cli_lib_error(rc, "config");
    if (!a.out) {
        sparse_search_config_free(cfg);
        return cli_usage("search", "missing --out DIR");
    }
    catch_stop_signals();
    rc = sparse_search_run(cfg, a.out, &o);
    sparse_search_config_free(cfg);
    if (rc)
        return finish(rc, a.out);
    if (cli_verbose())
        fprintf(stderr, "front: sparsenas inspect %s\n", a.out);
    return CLI_OK;
}
