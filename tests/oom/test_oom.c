/* The allocation-failure sweep (sqlite's out-of-memory test): each
 * scenario runs once to count the library's allocations, then once for
 * every k with the k-th allocation failing. Each run must return
 * SPARSE_ENOMEM with an "out of memory" message (never succeed with
 * something missing, crash or report another error), leave no temp file
 * and no partial record, and (under AddressSanitizer, whose leak check
 * runs after each scenario) free everything.
 *
 * The failures come from the linker: this executable is linked with
 * -Wl,--wrap for sparse__malloc, sparse__calloc, sparse__realloc and
 * sparse__strdup, so the library's calls reach the __wrap_ functions below
 * and release builds carry no hook. Two modes: the k-th call fails alone
 * (recovery paths must cope), or it and every later one fail (cleanup
 * paths must not need memory). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <execinfo.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "sparse/sparse.h"
#include "../search/tiny_run.h"

#if defined(__SANITIZE_ADDRESS__)
#  define HAVE_LSAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define HAVE_LSAN 1
#  endif
#endif
#ifdef HAVE_LSAN
#  include <sanitizer/lsan_interface.h>
#endif

void *__real_sparse__malloc(size_t size);
void *__real_sparse__calloc(size_t n, size_t size);
void *__real_sparse__realloc(void *p, size_t size);
char *__real_sparse__strdup(const char *s);
void *__wrap_sparse__malloc(size_t size);
void *__wrap_sparse__calloc(size_t n, size_t size);
void *__wrap_sparse__realloc(void *p, size_t size);
char *__wrap_sparse__strdup(const char *s);

/* The fault: allocation number `at` fails (0: none), and every later one
 * too when `sticky`. The failing call's stack is kept for the report. */
static struct {
    long at, calls, failed;
    int sticky;
    void *stack[24];
    int depth;
} oom;

static int fails_now(void)
{
    long c = ++oom.calls;
    if (!oom.at || c < oom.at || (c > oom.at && !oom.sticky))
        return 0;
    if (!oom.failed++)
        oom.depth = backtrace(oom.stack, 24);
    return 1;
}

void *__wrap_sparse__malloc(size_t size)
{
    if (fails_now())
        return sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu bytes", size), NULL;
    return __real_sparse__malloc(size);
}

void *__wrap_sparse__calloc(size_t n, size_t size)
{
    if (fails_now())
        return sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size), NULL;
    return __real_sparse__calloc(n, size);
}

void *__wrap_sparse__realloc(void *p, size_t size)
{
    if (fails_now())
        return sparse__error(SPARSE_ENOMEM, "out of memory growing a block to %zu bytes", size), NULL;
    return __real_sparse__realloc(p, size);
}

char *__wrap_sparse__strdup(const char *s)
{
    if (fails_now())
        return sparse__error(SPARSE_ENOMEM, "out of memory allocating %zu bytes", strlen(s) + 1), NULL;
    return __real_sparse__strdup(s);
}

/* ---- what the scenarios share ---- */

static char *tmp;      /* scratch directory */
static char *csv;      /* tmp/tiny.csv */
static char img[600], fimg[600], lab[600], out_dir[600], ref_run[600];
static sparse_net *ready_net;       /* a trained network (memory report, quantisation) */
static sparse_dataset *calib;       /* its data */
static sparse_dataset *one_batch;   /* calib's first 64 images: one training step */

static const char arch_yaml[] = "name: oom\ninput: [1, 6, 6]\nclasses: 3\nlayers:\n"
                                "  - {type: conv2d, name: c1, filters: 3, kernel: 3, padding: same}\n"
                                "  - {type: batchnorm, name: bn1}\n"
                                "  - {type: relu}\n"
                                "  - {type: maxpool, size: 2}\n"
                                "  - {type: separable_conv2d, name: s2, filters: 4, kernel: 3}\n"
                                "  - {type: relu}\n"
                                "  - {type: fc, name: out, units: 3}\n";

static void write_idx(void)
{
    unsigned char h[16 + 6 * 8 * 8] = {0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 8, 0, 0, 0, 8};
    for (size_t i = 16; i < sizeof h; i++)
        h[i] = (unsigned char)(i * 37);
    unsigned char l[8 + 6] = {0, 0, 8, 1, 0, 0, 0, 6, 0, 1, 2, 0, 1, 2};
    snprintf(img, sizeof img, "%s/images-idx3-ubyte", tmp);
    snprintf(lab, sizeof lab, "%s/labels-idx1-ubyte.gz", tmp);
    FILE *f = fopen(img, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    char raw[600], cmd[1400];
    snprintf(raw, sizeof raw, "%s/labels-idx1-ubyte", tmp);
    f = fopen(raw, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(l, 1, sizeof l, f), sizeof l);
    fclose(f);
    snprintf(cmd, sizeof cmd, "gzip -f '%s'", raw);
    assert_int_equal(system(cmd), 0);
    /* The same count of images as float32, 4-D (8 x 4 pixels of 2 channels):
     * the float path and the reordering into planes. */
    unsigned char fh[20 + 6 * 64 * 4] = {0, 0, 0x0D, 4, 0, 0, 0, 6, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0, 2};
    for (size_t i = 20; i < sizeof fh; i += 4) {
        fh[i] = (unsigned char)(0x3c + i % 3); /* exponent bytes of finite values */
        fh[i + 1] = (unsigned char)(i * 37);
    }
    snprintf(fimg, sizeof fimg, "%s/images-idx4-float", tmp);
    f = fopen(fimg, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(fh, 1, sizeof fh, f), sizeof fh);
    fclose(f);
}

/* tmp/tiny.csv: 120 images of 6x6 in 3 classes (a bright row, column or
 * diagonal, plus noise): small, for thousands of runs. */
static void write_csv(void)
{
    csv = malloc(700);
    assert_non_null(csv);
    snprintf(csv, 700, "%s/tiny.csv", tmp);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    unsigned noise = 1;
    for (int i = 0; i < 120; i++) {
        int label = i % 3;
        fprintf(f, "%d", label);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                int on = (label == 0 && y == 2) || (label == 1 && x == 3) || (label == 2 && x == y);
                noise = noise * 1103515245u + 12345u;
                fprintf(f, ",%.2f", (on ? 0.8 : 0.1) + 0.2 * (double)(noise >> 16 & 0xff) / 255.0);
            }
        fputc('\n', f);
    }
    fclose(f);
}

/* The smallest search: one trial, pruned with SpVD, then compacted. */
static char *search_config(void)
{
    char *cfg = malloc(2048);
    snprintf(cfg, 2048,
             "data: {source: \"%s\", val_count: 20}\n"
             "seed: 5\nthreads: 1\ninitial_trials: 1\ncandidates: 4\n"
             "stages: [{trials: 1, rho: 0.7}, {trials: 0, rho: 0.7}, {trials: 0, rho: 0.7}]\n"
             "training: {batch: 64}\n"
             "space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [1, 2], kernel: [2, 3], pool: [2, 2],"
             " input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [1, 1],"
             " pruning: [spvd]}\n",
             csv);
    return cfg;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* An empty dir (made afresh), without a shell: the sweep does this
 * thousands of times. */
static void fresh_dir(const char *dir)
{
    struct stat st;
    if (!stat(dir, &st))
        assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
}

/* Files named *.tmp.* under dir (one level and weights/). */
static size_t temp_files(const char *dir)
{
    size_t n = 0;
    for (int sub = 0; sub < 2; sub++) {
        char d[700];
        snprintf(d, sizeof d, "%s%s", dir, sub ? "/weights" : "");
        DIR *h = opendir(d);
        struct dirent *e;
        while (h && (e = readdir(h)))
            n += strstr(e->d_name, ".tmp.") != NULL;
        if (h)
            closedir(h);
    }
    return n;
}

/* trials.jsonl of dir holds whole lines only. */
static int whole_records(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/trials.jsonl", dir);
    struct stat st;
    if (stat(p, &st) || st.st_size == 0)
        return 1;
    char *text = read_all(p);
    int ok = text[strlen(text) - 1] == '\n';
    free(text);
    return ok;
}

/* ---- the scenarios: each frees what it made, whatever happens ---- */

static int load_idx(void)
{
    sparse_dataset *ds = NULL;
    int rc = sparse_dataset_load_idx(&ds, img, lab);
    sparse_dataset_free(ds);
    return rc;
}

static int load_idx_float(void)
{
    sparse_dataset *ds = NULL;
    int rc = sparse_dataset_load_idx(&ds, fimg, lab);
    sparse_dataset_free(ds);
    return rc;
}

static int load_csv(void)
{
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.val_count = 20;
    int rc = sparse_data_open(&tr, &va, &te, csv, &o);
    sparse_dataset_free(tr);
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    return rc;
}

/* Builds the network, trains one step, saves and reloads its weights. */
static int train_step(void)
{
    sparse_arch *a = NULL;
    sparse_net *net = NULL, *back = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/w.safetensors", out_dir);
    int rc = sparse_arch_parse_yaml(&a, arch_yaml, strlen(arch_yaml), "oom.yaml");
    if (!rc)
        rc = sparse_net_create(&net, a, 64, 1);
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 1;
    t.batch_size = 64;
    if (!rc)
        rc = sparse_net_train(net, one_batch, &t, NULL);
    if (!rc)
        rc = sparse_net_save(net, path);
    if (!rc)
        rc = sparse_net_create(&back, a, 1, 2);
    if (!rc)
        rc = sparse_net_load(back, path, 0);
    sparse_net_free(back);
    sparse_net_free(net);
    sparse_arch_free(a);
    return rc;
}

static int memory_report(void)
{
    sparse_memreport *r = NULL;
    char *json = NULL;
    int rc = sparse_memreport_from_net(&r, ready_net, NULL);
    if (!rc)
        rc = sparse_memreport_to_json(&json, r);
    sparse_free(json);
    sparse_memreport_free(r);
    return rc;
}

static int quantise(void)
{
    sparse_qnet *q = NULL;
    sparse_quant_options o = SPARSE_QUANT_OPTIONS_INIT;
    o.calib_images = 32;
    double acc;
    int rc = sparse_qnet_create(&q, ready_net, calib, &o);
    if (!rc)
        rc = sparse_qnet_evaluate(q, calib, &acc);
    sparse_qnet_free(q);
    return rc;
}

static int gp_fit(void)
{
    double X[20], y[10], xs[4] = {0.2, 0.3, 0.7, 0.1}, mean[2], var[2];
    for (int i = 0; i < 10; i++) {
        X[2 * i] = i / 10.0;
        X[2 * i + 1] = (i * 7 % 10) / 10.0;
        y[i] = X[2 * i] * X[2 * i] - X[2 * i + 1];
    }
    sparse_gp_options o = SPARSE_GP_OPTIONS_INIT;
    o.restarts = 2;
    sparse_gp *gp = NULL;
    sparse_rng *rng = NULL;
    int rc = sparse_rng_create(&rng, 9);
    if (!rc)
        rc = sparse_gp_create(&gp, 2, &o);
    if (!rc)
        rc = sparse_gp_set_data(gp, 10, X, y);
    if (!rc)
        rc = sparse_gp_fit(gp, rng);
    if (!rc)
        rc = sparse_gp_predict(gp, 2, xs, mean, var);
    sparse_gp_free(gp);
    sparse_rng_free(rng);
    return rc;
}

static int search(void)
{
    char *cfg = search_config();
    sparse_search_config *c = NULL;
    int rc = sparse_search_config_parse(&c, cfg, strlen(cfg), "oom.yaml");
    if (!rc)
        rc = sparse_search_run(c, out_dir, NULL);
    sparse_search_config_free(c);
    free(cfg);
    return rc;
}

static int open_run(void)
{
    sparse_run *run = NULL;
    size_t front[8], n = 0;
    double v;
    int rc = sparse_run_open(&run, ref_run);
    if (!rc)
        rc = sparse_run_trial_value(run, 0, SPARSE_TRIAL_VAL_ACCURACY, &v);
    if (!rc)
        rc = sparse_run_pareto(run, front, &n);
    sparse_run_free(run);
    return rc;
}

/* ---- the sweep ---- */

static void report_stack(void)
{
    fprintf(stderr, "the failed allocation was called from:\n");
    backtrace_symbols_fd(oom.stack, oom.depth, STDERR_FILENO);
}

/* Runs scenario for every failure point in both modes; writes = 1 if it
 * writes into out_dir (checked for temp files and partial records, then
 * emptied). Returns the number of failure points. */
static long sweep(const char *name, int (*scenario)(void), int writes)
{
    fresh_dir(out_dir);
    oom.at = oom.calls = oom.failed = 0;
    int rc = scenario();
    if (rc)
        fail_msg("%s without a failure: %s", name, sparse_last_error());
    const long points = oom.calls;
    long absorbed = 0, only = getenv("OOM_K") ? atol(getenv("OOM_K")) : 0; /* debugging one point */
    for (int sticky = 0; sticky < 2; sticky++)
        for (long k = only ? only : 1; k <= (only ? only : points); k++) {
            if (writes)
                fresh_dir(out_dir);
            oom.at = k;
            oom.calls = oom.failed = 0;
            oom.sticky = sticky;
            sparse_clear_error();
            rc = scenario();
            oom.at = 0;
            if (!oom.failed)
                fail_msg("%s: allocation %ld was never made (%ld made)", name, k, oom.calls);
            if (rc == SPARSE_OK) {
                absorbed++; /* tolerated: reported below, checked by the caller */
                fprintf(stderr, "%s: allocation %ld%s failed and the call succeeded\n", name, k,
                        sticky ? " and after" : "");
                report_stack();
            } else if (rc != SPARSE_ENOMEM || !strstr(sparse_last_error(), "out of memory")) {
                report_stack();
                fail_msg("%s: allocation %ld%s failed: rc %d: %s", name, k, sticky ? " and after" : "", rc,
                         sparse_last_error());
            }
            if (writes && (temp_files(out_dir) || !whole_records(out_dir))) {
                report_stack();
                fail_msg("%s: allocation %ld failed: a temp file or a partial record is left", name, k);
            }
        }
#ifdef HAVE_LSAN
    if (__lsan_do_recoverable_leak_check())
        fail_msg("%s: memory leaked after a failed allocation (LeakSanitizer's report above)", name);
#endif
    printf("OOM sweep: %-14s %5ld allocations, each failed alone and from there on: %ld calls, "
           "%ld absorbed\n", name, points, 2 * points, absorbed);
    assert_int_equal(absorbed, 0);
    return points;
}

static int setup(void **state)
{
    (void)state;
    /* On a tmpfs where there is one: the sweep writes and fsyncs thousands
     * of files. */
    char made[] = "/dev/shm/sparse-oom-XXXXXX", fallback[] = "/tmp/sparse-oom-XXXXXX";
    const char *d = mkdtemp(made);
    if (!d)
        d = mkdtemp(fallback);
    if (!d || !(tmp = realpath(d, NULL)))
        return -1;
    write_csv();
    write_idx();
    snprintf(out_dir, sizeof out_dir, "%s/out", tmp);
    snprintf(ref_run, sizeof ref_run, "%s/ref-run", tmp);
    sparse_dataset *tr = NULL, *va = NULL, *te = NULL;
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    o.val_count = 20;
    if (sparse_data_open(&tr, &va, &te, csv, &o))
        return -1;
    sparse_dataset_free(va);
    sparse_dataset_free(te);
    calib = tr;
    sparse_arch *a = NULL;
    if (sparse_arch_parse_yaml(&a, arch_yaml, strlen(arch_yaml), "oom.yaml") ||
        sparse_net_create(&ready_net, a, 64, 1))
        return -1;
    sparse_arch_free(a);
    if (sparse_dataset_range(&one_batch, calib, 0, 64))
        return -1;
    sparse_set_thread_count(1); /* one allocation order */
    sparse_train_options t = SPARSE_TRAIN_OPTIONS_INIT;
    t.epochs = 1;
    return sparse_net_train(ready_net, calib, &t, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    sparse_net_free(ready_net);
    sparse_dataset_free(calib);
    sparse_dataset_free(one_batch);
    rm_rf(tmp);
    free(tmp);
    free(csv);
    return 0;
}

static void test_load_data(void **state)
{
    (void)state;
    sweep("load IDX", load_idx, 0);
    sweep("load float IDX", load_idx_float, 0);
    sweep("load CSV", load_csv, 0);
}

static void test_train_step(void **state)
{
    (void)state;
    sweep("train step", train_step, 1);
}

static void test_memory_report(void **state)
{
    (void)state;
    sweep("memory report", memory_report, 0);
}

static void test_quantise(void **state)
{
    (void)state;
    sweep("int8", quantise, 0);
}

static void test_gp_fit(void **state)
{
    (void)state;
    sweep("GP fit", gp_fit, 0);
}

static void test_search_trial(void **state)
{
    (void)state;
    sweep("search", search, 1);
}

static void test_open_run(void **state)
{
    (void)state;
    char *cfg = search_config();
    sparse_search_config *c = NULL;
    assert_int_equal(sparse_search_config_parse(&c, cfg, strlen(cfg), "oom.yaml"), SPARSE_OK);
    assert_int_equal(sparse_search_run(c, ref_run, NULL), SPARSE_OK);
    sparse_search_config_free(c);
    free(cfg);
    sweep("open run", open_run, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_data),     cmocka_unit_test(test_train_step),
        cmocka_unit_test(test_memory_report), cmocka_unit_test(test_quantise),
        cmocka_unit_test(test_gp_fit),        cmocka_unit_test(test_search_trial),
        cmocka_unit_test(test_open_run),
    };
    if (getenv("OOM_TEST")) /* e.g. OOM_TEST=test_search_trial: one scenario */
        cmocka_set_test_filter(getenv("OOM_TEST"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
