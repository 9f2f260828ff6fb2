/* Standard train/validation/test splits and the MNIST cache location. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/internal.h"
#include "data_internal.h"

SPARSE__STRUCT_VERSIONS(data_options_versions, sparse_data_options, SPARSE_DATA_OPTIONS_INIT,
                        SPARSE_DATA_OPTIONS_VERSION, offsetof(sparse_data_options, channels),
                        offsetof(sparse_data_options, val_split), sizeof(sparse_data_options));

SPARSE_API int sparse_data_options_init(sparse_data_options *opts, unsigned version)
{
    return sparse__struct_init(&data_options_versions, opts, version);
}

SPARSE_API int sparse_data_cache_dir(char *buf, size_t cap, const char *name)
{
    SPARSE__CHECK_NULL(buf);
    SPARSE__CHECK_NULL(name);
    if (cap)
        buf[0] = '\0';
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return sparse__error(SPARSE_EINVAL, "sparse_data_cache_dir: '%s' is not a data set name", name);
    /* The XDG spec says a relative $XDG_CACHE_HOME is invalid and must be
     * ignored. */
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/sparse/%s", xdg, name);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/sparse/%s", home, name);
    else
        return sparse__error(SPARSE_ENOTFOUND,
                             "sparse_data_cache_dir: neither XDG_CACHE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = '\0';
        return sparse__error(SPARSE_ERANGE, "sparse_data_cache_dir: the path needs %d bytes, buffer has %zu",
                             n + 1, cap);
    }
    return SPARSE_OK;
}

static int check_options(const sparse_data_options *o)
{
    if (!(o->test_fraction >= 0.0 && o->test_fraction < 1.0))
        return sparse__error(SPARSE_EINVAL, "sparse_data_open: test_fraction %g is outside [0, 1)",
                             o->test_fraction);
    if (!isfinite(o->norm_mean) || !(o->norm_std >= 0.0f) || !isfinite(o->norm_std))
        return sparse__error(SPARSE_EINVAL, "sparse_data_open: normalisation mean %g, std %g: need finite values, std >= 0",
                             (double)o->norm_mean, (double)o->norm_std);
    if (o->val_split != SPARSE_VAL_SPLIT_TAIL && o->val_split != SPARSE_VAL_SPLIT_RANDOM)
        return sparse__error(SPARSE_EINVAL, "sparse_data_open: unknown val_split %d", o->val_split);
    return SPARSE_OK;
}

/* A directory's images against the shape the options give (when they do). */
static int check_shape(const char *spec, const sparse_data_options *o, const sparse_dataset *ds)
{
    if (!o->channels && !o->height && !o->width)
        return SPARSE_OK;
    if (ds->c == o->channels && ds->h == o->height && ds->w == o->width)
        return SPARSE_OK;
    return sparse__error(SPARSE_EFORMAT, "%s: images are %zux%zux%zu (height x width x channels), not %zux%zux%zu as given",
                         spec, ds->h, ds->w, ds->c, o->height, o->width, o->channels);
}

static int load_csv(const char *path, const sparse_data_options *o, sparse_dataset **full)
{
    sparse_csv_options c = SPARSE_CSV_OPTIONS_INIT;
    c.label_column = o->label_column;
    c.channels = o->channels;
    c.height = o->height;
    c.width = o->width;
    c.layout = o->layout;
    return sparse_dataset_load_csv(full, path, &c);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* idx[0..n) = 0..n-1 in the order of one permutation seeded by seed. */
static int shuffled_ids(uint64_t seed, size_t n, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sparse_rng *rng;
    int rc = sparse_rng_create(&rng, seed);
    if (!rc) {
        rc = sparse_rng_shuffle(rng, idx, n);
        sparse_rng_free(rng);
    }
    return rc;
}

/* val_count images drawn by the seed (their ids ascending in idx[0..v)),
 * the rest, ascending, in idx[v..n): validation images that look like the
 * training file as a whole, which its tail need not (MNIST's last 5,000
 * are easier than its test set, docs/search-config.md). */
static int draw_validation(const sparse_data_options *o, size_t n, size_t *idx)
{
    int rc = shuffled_ids(o->seed, n, idx);
    if (rc)
        return rc;
    unsigned char *is_val = sparse__calloc(n, 1);
    if (!is_val)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < o->val_count; i++)
        is_val[idx[i]] = 1;
    size_t v = 0, t = o->val_count;
    for (size_t i = 0; i < n; i++)
        idx[is_val[i] ? v++ : t++] = i;
    free(is_val);
    return SPARSE_OK;
}

/* A directory: validation is the last val_count images of the training file
 * (needs no randomness and matches the paper's 55k/5k/10k) or, with
 * SPARSE_VAL_SPLIT_RANDOM, val_count drawn by the seed. */
static int split_tail(const char *spec, const sparse_data_options *o, sparse_dataset *full,
                      sparse_dataset **train, sparse_dataset **val)
{
    if (o->val_count >= full->n)
        return sparse__error(SPARSE_ERANGE, "%s: val_count %zu leaves no training images (the training file has %zu)",
                             spec, o->val_count, full->n);
    size_t ntr = full->n - o->val_count;
    if (o->val_split == SPARSE_VAL_SPLIT_TAIL) {
        int rc = sparse_dataset_range(val, full, ntr, o->val_count);
        return rc ? rc : sparse_dataset_range(train, full, 0, ntr);
    }
    size_t *idx = sparse__malloc(full->n * sizeof *idx);
    if (!idx)
        return SPARSE_ENOMEM;
    int rc = draw_validation(o, full->n, idx);
    if (!rc)
        rc = sparse_dataset_subset(val, full, idx, o->val_count);
    if (!rc)
        rc = sparse_dataset_subset(train, full, idx + o->val_count, ntr);
    free(idx);
    return rc;
}

/* CSV: one seeded permutation; test first, then validation, the rest trains. */
static int split_shuffled(const char *spec, const sparse_data_options *o, sparse_dataset *full,
                          sparse_dataset **train, sparse_dataset **val, sparse_dataset **test)
{
    size_t n = full->n, ntest = (size_t)floor(o->test_fraction * (double)n);
    if (ntest + o->val_count >= n || o->val_count >= n)
        return sparse__error(SPARSE_ERANGE,
                             "%s: %zu images, %zu for test and val_count %zu leave no training images",
                             spec, n, ntest, o->val_count);
    size_t *idx = sparse__malloc(n * sizeof *idx);
    if (!idx)
        return SPARSE_ENOMEM;
    int rc = shuffled_ids(o->seed, n, idx);
    if (!rc)
        rc = sparse_dataset_subset(test, full, idx, ntest);
    if (!rc)
        rc = sparse_dataset_subset(val, full, idx + ntest, o->val_count);
    if (!rc)
        rc = sparse_dataset_subset(train, full, idx + ntest + o->val_count,
                                   n - ntest - o->val_count);
    free(idx);
    return rc;
}

static int finish(const sparse_data_options *o, sparse_dataset *tr, sparse_dataset *va,
                  sparse_dataset *te)
{
    sparse_dataset *all[3] = {tr, va, te};
    int rc = SPARSE_OK;
    if (o->normalize) {
        float mean = o->norm_mean, std = o->norm_std;
        if (!(std > 0.0f))
            rc = sparse_dataset_compute_normalization(tr, &mean, &std);
        /* Constant images: centring alone is all that can be done. */
        if (!rc && !(std > 0.0f))
            std = 1.0f;
        for (int i = 0; i < 3 && !rc; i++)
            rc = sparse_dataset_normalize(all[i], mean, std);
    }
    if (!rc && o->binary) {
        size_t k = tr->num_classes;
        if (k < 2)
            return sparse__error(SPARSE_EINVAL, "sparse_data_open: binary relabelling needs at least 2 classes, found %zu",
                                 k);
        int *group = sparse__malloc(k * sizeof *group);
        if (!group)
            return SPARSE_ENOMEM;
        for (size_t c = 0; c < k; c++)
            group[c] = c >= k / 2;
        for (int i = 0; i < 3 && !rc; i++)
            rc = sparse_dataset_relabel(all[i], group, k);
        free(group);
    }
    return rc;
}

SPARSE_API int sparse_data_open(sparse_dataset **train, sparse_dataset **val, sparse_dataset **test,
                                const char *spec, const sparse_data_options *opts)
{
    SPARSE__CHECK_NULL(train);
    SPARSE__CHECK_NULL(val);
    SPARSE__CHECK_NULL(test);
    *train = *val = *test = NULL;
    SPARSE__CHECK_NULL(spec);
    sparse_data_options o;
    int rc = sparse__struct_read(&data_options_versions, &o, opts, "sparse_data_open");
    if (!rc)
        rc = check_options(&o);
    if (rc)
        return rc;
    char cache[4096];
    const char *path = spec;
    if (!strcmp(spec, "mnist")) {
        rc = sparse_data_cache_dir(cache, sizeof cache, "mnist");
        if (rc)
            return rc;
        path = cache;
    }
    sparse_dataset *full = NULL, *tr = NULL, *va = NULL, *te = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (path == cache)
            return sparse__error(SPARSE_ENOTFOUND, "MNIST is not in the cache (%s): run 'sparsenas data fetch mnist'",
                                 cache);
        return sparse__error(SPARSE_ENOTFOUND, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        rc = sparse_dataset_load_mnist_dir(&full, &te, path);
        if (!rc)
            rc = check_shape(path, &o, full);
        if (!rc)
            rc = split_tail(path, &o, full, &tr, &va);
    } else if (ends_with(path, ".csv") || ends_with(path, ".CSV")) {
        rc = load_csv(path, &o, &full);
        if (!rc)
            rc = split_shuffled(path, &o, full, &tr, &va, &te);
    } else {
        rc = sparse__error(SPARSE_EUNSUPPORTED,
                           "%s: not a data set: expected \"mnist\", a directory of MNIST files or a .csv file",
                           path);
    }
    sparse_dataset_free(full);
    if (!rc && o.max_train && o.max_train < tr->n) {
        sparse_dataset *cut;
        rc = sparse_dataset_range(&cut, tr, 0, o.max_train);
        if (!rc) {
            sparse_dataset_free(tr);
            tr = cut;
        }
    }
    if (!rc)
        rc = finish(&o, tr, va, te);
    if (rc) {
        sparse_dataset_free(tr);
        sparse_dataset_free(va);
        sparse_dataset_free(te);
        return rc;
    }
    *train = tr;
    *val = va;
    *test = te;
    return SPARSE_OK;
}
