#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sparse/sparse.h"
#include "tiny_run.h"

char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/sparse-search-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

char *write_tiny_csv(const char *dir)
{
    char *path = malloc(600);
    snprintf(path, 600, "%s/tiny.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 3), SPARSE_OK);
    /* 3 classes of 8x8 images: a bright row, column or diagonal, plus noise. */
    for (int i = 0; i < 360; i++) {
        int label = i % 3;
        fprintf(f, "%d", label);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int on = (label == 0 && y == 3) || (label == 1 && x == 4) || (label == 2 && x == y);
                fprintf(f, ",%.3f", (on ? 0.8 : 0.1) + 0.2 * sparse_rng_uniform(rng));
            }
        fputc('\n', f);
    }
    fclose(f);
    sparse_rng_free(rng);
    return path;
}

/* What the tiny searches share: data (%s, the CSV), trials, budgets, batch,
 * and the space's structure. */
#define TINY_SEARCH                                                                                          \
    "data: {source: \"%s\", val_count: 60}\n"                                                                \
    "seed: 7\nthreads: 1\ninitial_trials: 2\ncandidates: 16\n"                                               \
    "budgets: {ms_bytes: 2000, wm_bytes: 2000}\n"                                                            \
    "stages: [{trials: 4, rho: 0.7}, {trials: 2, rho: 0.7}, {trials: 2, rho: 0.7}]\n"                        \
    "training: {batch: 16}\n"
#define TINY_SPACE                                                                                           \
    "space: {blocks: [1, 2], layers_per_block: [1, 2], filters: [1, 6], kernel: [2, 3], pool: [1, 2],"       \
    " input_downsample: [false], branches: [false, true], fc_weights: [50, 500], "

char *tiny_config(const char *csv)
{
    char *cfg = malloc(4096);
    snprintf(cfg, 4096,
             TINY_SEARCH TINY_SPACE "epochs: [1, 2], pruning: [none, spvd, bc], zero_epochs: [0, 1], "
                                    "anneal_epochs: [1, 1], shift: [1, 1]}\n",
             csv);
    return cfg;
}

char *growing_final_config(const char *csv, const char *space_extra, double box_ms, double box_wm)
{
    char *cfg = malloc(4096);
    snprintf(cfg, 4096,
             TINY_SEARCH "ranking: validation\n" TINY_SPACE
                         "epochs: [2, 3], pruning: [spvd], zero_epochs: [1, 1], kl_weight: [0.5, 1],"
                         " anneal_epochs: [1, 1], shift: [1, 1]%s}\n"
                         "final: {trials: 2, epochs: 1, boxes: [{ms_bytes: %.17g, wm_bytes: %.17g}]}\n",
             csv, space_extra, box_ms, box_wm);
    return cfg;
}

void parent_sizes(const char *dir, size_t t, double *ms, double *wm)
{
    sparse_run *r = NULL;
    double parent = -1;
    assert_int_equal(sparse_run_open(&r, dir), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(r, t, SPARSE_TRIAL_PARENT, &parent), SPARSE_OK);
    assert_true(parent >= 0);
    assert_int_equal(sparse_run_trial_value(r, (size_t)parent, SPARSE_TRIAL_MS_BYTES, ms), SPARSE_OK);
    assert_int_equal(sparse_run_trial_value(r, (size_t)parent, SPARSE_TRIAL_WM5_BYTES, wm), SPARSE_OK);
    sparse_run_free(r);
}

char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

void strip_seconds(char *s)
{
    char *p;
    while ((p = strstr(s, ",\"seconds\":"))) {
        char *e = p + 11;
        while (*e && *e != '}' && *e != ',')
            e++;
        memmove(p, e, strlen(e) + 1);
    }
}

size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

char *records_of(const char *dir)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    char *text = read_all(path);
    strip_seconds(text);
    return text;
}

void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

void rewind_state(const char *run, size_t done)
{
    char path[800];
    snprintf(path, sizeof path, "%s/state.json", run);
    char *text = read_all(path), *at = strstr(text, "\"trials_done\":");
    assert_non_null(at);
    at += strlen("\"trials_done\":");
    char *rest = at + strspn(at, "0123456789");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%zu%s", (int)(at - text), text, done, rest);
    assert_int_equal(fclose(f), 0);
    free(text);
}

sparse_search_config *parse_config(const char *text)
{
    sparse_search_config *c = NULL;
    int rc = sparse_search_config_parse(&c, text, strlen(text), "test.yaml");
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    return c;
}

void run_search(const char *cfg_text, const char *dir, size_t max_trials)
{
    sparse_search_config *c = parse_config(cfg_text);
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = max_trials;
    int rc = sparse_search_run(c, dir, &o);
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
    sparse_search_config_free(c);
}

/* Runs the search of cfg into dir in a child process, killed with SIGKILL
 * once kill_after[k] trials are recorded and resumed, for each k; then
 * resumes it to its end. */
void kill_and_resume(const char *cfg, const char *dir, const size_t *kill_after, size_t kills)
{
    char path[800];
    snprintf(path, sizeof path, "%s/trials.jsonl", dir);
    for (size_t k = 0; k < kills; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
            int rc;
            if (k == 0) {
                sparse_search_config *c;
                rc = sparse_search_config_parse(&c, cfg, strlen(cfg), "tiny.yaml");
                if (!rc)
                    rc = sparse_search_run(c, dir, &o);
            } else {
                rc = sparse_search_resume(dir, &o);
            }
            _exit(rc ? 1 : 0);
        }
        while (count_lines(path) < kill_after[k])
            usleep(1000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
    }
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    int rc = sparse_search_resume(dir, &o);
    if (rc)
        fprintf(stderr, "%s\n", sparse_last_error());
    assert_int_equal(rc, SPARSE_OK);
}

char *line_of(const char *text, size_t i)
{
    for (; i > 0 && text; i--)
        text = (text = strchr(text, '\n')) ? text + 1 : NULL;
    assert_non_null(text);
    size_t n = strcspn(text, "\n");
    char *l = malloc(n + 1);
    memcpy(l, text, n);
    l[n] = '\0';
    return l;
}

void expect_resolved(const char *text, const char *needle, const char *absent)
{
    sparse_search_config *c = parse_config(text), *c2;
    char *y = NULL, *y2 = NULL;
    assert_int_equal(sparse_search_config_to_yaml(&y, c), SPARSE_OK);
    if (needle && !strstr(y, needle))
        fail_msg("resolved config lacks '%s':\n%s", needle, y);
    if (absent && strstr(y, absent))
        fail_msg("resolved config holds '%s':\n%s", absent, y);
    c2 = parse_config(y);
    assert_int_equal(sparse_search_config_to_yaml(&y2, c2), SPARSE_OK);
    assert_string_equal(y, y2);
    free(y);
    free(y2);
    sparse_search_config_free(c);
    sparse_search_config_free(c2);
}
