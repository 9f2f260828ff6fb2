/* IDX reader (the MNIST family): big-endian header, then raw unsigned bytes.
 * Files go through zlib, which reads gzip and plain files alike, so a .gz
 * file needs no special case. Offsets in messages count bytes of the
 * (decompressed) IDX stream, which is what a hex dump of the file shows. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/internal.h"
#include "data_internal.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_CHUNK 65536

typedef struct idx_file {
    const char *path;
    gzFile gz;
    unsigned long long off;
    unsigned long long size;      /* stream size the header implies; 0 before it is read */
    unsigned long long file_size; /* bytes on disk */
} idx_file;

static const char *stream_kind(idx_file *f)
{
    return gzdirect(f->gz) ? "" : " (decompressed)";
}

/* Regular files only, opened without blocking (a FIFO must not wait for a
 * writer; /dev/zero must not be read forever). */
static int idx_open(idx_file *f, const char *path)
{
    f->path = path;
    f->off = 0;
    int fd;
    int rc = sparse__open_regular(path, &fd, &f->file_size);
    if (rc)
        return rc;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return sparse__error(SPARSE_ENOMEM, "%s: cannot open: out of memory", path);
    }
    gzbuffer(f->gz, 1 << 17);
    return SPARSE_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Reads up to len bytes; *got < len only at the end of the data. */
static int idx_read(idx_file *f, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > IDX_CHUNK)
            want = IDX_CHUNK;
        int r = gzread(f->gz, (unsigned char *)buf + *got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(f->gz, &zerr);
            return sparse__error(zerr == Z_ERRNO ? SPARSE_EIO : SPARSE_EFORMAT,
                                 "%s: byte offset %llu%s: read error: %s", f->path,
                                 f->off + *got, stream_kind(f),
                                 zerr == Z_ERRNO ? strerror(errno) : msg);
        }
        if (r == 0) {
            /* zlib reports a gzip stream cut short (even one cut inside
             * its CRC trailer, after all the data) only through this. */
            int zerr;
            gzerror(f->gz, &zerr);
            if (zerr == Z_BUF_ERROR)
                return sparse__error(SPARSE_EFORMAT,
                                     "%s: byte offset %llu (decompressed): file is truncated: "
                                     "the gzip stream ends early",
                                     f->path, f->off + *got);
            break;
        }
        *got += (size_t)r;
    }
    f->off += *got;
    return SPARSE_OK;
}

static int idx_read_exact(idx_file *f, void *buf, size_t len, const char *what)
{
    size_t got;
    int rc = idx_read(f, buf, len, &got);
    if (rc)
        return rc;
    if (got < len && f->size)
        return sparse__error(SPARSE_EFORMAT,
                             "%s: byte offset %llu%s: file is truncated in the %s "
                             "(the header implies %llu bytes)",
                             f->path, f->off, stream_kind(f), what, f->size);
    if (got < len)
        return sparse__error(SPARSE_EFORMAT, "%s: byte offset %llu%s: file is truncated in the %s",
                             f->path, f->off, stream_kind(f), what);
    return SPARSE_OK;
}

/* Magic: two zero bytes, the element type, the number of dimensions, which
 * may be any in [min_dims, max_dims]; *ndims receives it. */
static int idx_header(idx_file *f, int min_dims, int max_dims, uint32_t *dims, int *ndims, const char *kind)
{
    unsigned char m[4];
    int rc = idx_read_exact(f, m, 4, "header (magic number)");
    if (rc)
        return rc;
    uint32_t magic = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    uint32_t lo = IDX_TYPE_UBYTE << 8 | (uint32_t)min_dims, hi = IDX_TYPE_UBYTE << 8 | (uint32_t)max_dims;
    if (magic < lo || magic > hi) {
        if (lo == hi)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s: byte offset 0: bad magic number 0x%08lx, expected 0x%08lx (IDX %s)",
                                 f->path, (unsigned long)magic, (unsigned long)lo, kind);
        return sparse__error(SPARSE_EFORMAT,
                             "%s: byte offset 0: bad magic number 0x%08lx, expected 0x%08lx to 0x%08lx (IDX %s)",
                             f->path, (unsigned long)magic, (unsigned long)lo, (unsigned long)hi, kind);
    }
    *ndims = (int)(magic & 0xff);
    for (int i = 0; i < *ndims; i++) {
        unsigned long long at = f->off;
        rc = idx_read_exact(f, m, 4, "header (dimensions)");
        if (rc)
            return rc;
        dims[i] = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
        if (dims[i] == 0)
            return sparse__error(SPARSE_EFORMAT, "%s: byte offset %llu: dimension %d is 0",
                                 f->path, at, i);
    }
    return SPARSE_OK;
}

static int idx_expect_end(idx_file *f)
{
    unsigned char extra;
    size_t got;
    unsigned long long at = f->off;
    int rc = idx_read(f, &extra, 1, &got);
    if (rc)
        return rc;
    if (got)
        return sparse__error(SPARSE_EFORMAT,
                             "%s: byte offset %llu%s: unexpected data after the end of the IDX data",
                             f->path, at, stream_kind(f));
    return SPARSE_OK;
}

/* The image file's dimensions (N, H, W, C) against sparse/limits.h, before
 * anything is allocated for them. */
static int idx_limits(const idx_file *f, const uint32_t dims[4])
{
    const unsigned long long n = dims[0], per = (unsigned long long)dims[1] * dims[2] * dims[3];
    if (n > SPARSE_MAX_ITEMS)
        return sparse__error(SPARSE_ERANGE, "%s: byte offset 4: %llu images, more than %ld (SPARSE_MAX_ITEMS)",
                             f->path, n, (long)SPARSE_MAX_ITEMS);
    if (dims[1] > SPARSE_MAX_IMAGE_SIDE || dims[2] > SPARSE_MAX_IMAGE_SIDE || dims[3] > SPARSE_MAX_CHANNELS ||
        per > SPARSE_MAX_IMAGE_VALUES)
        return sparse__error(SPARSE_ERANGE,
                             "%s: byte offset 8: images of %lux%lux%lu, more than sides of %d, %d channels "
                             "and %ld values (SPARSE_MAX_IMAGE_SIDE, SPARSE_MAX_CHANNELS, SPARSE_MAX_IMAGE_VALUES)",
                             f->path, (unsigned long)dims[1], (unsigned long)dims[2], (unsigned long)dims[3],
                             SPARSE_MAX_IMAGE_SIDE, SPARSE_MAX_CHANNELS, (long)SPARSE_MAX_IMAGE_VALUES);
    if (n * per > (unsigned long long)SPARSE_MAX_DATA_VALUES)
        return sparse__error(SPARSE_ERANGE,
                             "%s: byte offset 4: %llu images of %lux%lux%lu are %llu values, more than %lld "
                             "(SPARSE_MAX_DATA_VALUES)",
                             f->path, n, (unsigned long)dims[1], (unsigned long)dims[2], (unsigned long)dims[3],
                             n * per, (long long)SPARSE_MAX_DATA_VALUES);
    return SPARSE_OK;
}

/* A plain file shorter than its header implies is refused before its data
 * is read (a gzip file's size says little about its contents). */
static int idx_check_size(idx_file *f)
{
    if (!gzdirect(f->gz) || f->file_size >= f->size)
        return SPARSE_OK;
    return sparse__error(SPARSE_EFORMAT,
                         "%s: byte offset %llu: file is truncated: the header implies %llu bytes",
                         f->path, f->file_size, f->size);
}

/* Pixels are scaled to [0, 1]. The float array grows with the data actually
 * read, so a corrupted header announcing billions of images fails as a
 * truncated file rather than as a giant allocation. */
static int read_pixels(idx_file *f, size_t total, float **out)
{
    *out = NULL;
    size_t cap = total < (1u << 20) ? total : (1u << 20), have = 0;
    float *px = sparse__malloc(cap * sizeof *px);
    unsigned char *chunk = sparse__malloc(IDX_CHUNK);
    int rc = px && chunk ? SPARSE_OK : SPARSE_ENOMEM;
    while (!rc && have < total) {
        size_t want = total - have < IDX_CHUNK ? total - have : IDX_CHUNK;
        rc = idx_read_exact(f, chunk, want, "pixel data");
        if (rc)
            break;
        if (have + want > cap) {
            size_t ncap = cap > total / 2 ? total : cap * 2;
            float *p = sparse__realloc(px, ncap * sizeof *px);
            if (!p) {
                rc = SPARSE_ENOMEM;
                break;
            }
            px = p;
            cap = ncap;
        }
        for (size_t i = 0; i < want; i++)
            px[have + i] = (float)chunk[i] * (1.0f / 255.0f);
        have += want;
    }
    free(chunk);
    if (rc) {
        free(px);
        return rc;
    }
    *out = px;
    return SPARSE_OK;
}

static int read_labels(idx_file *f, size_t n, int32_t **out)
{
    *out = NULL;
    int32_t *lab = sparse__malloc(n * sizeof *lab);
    unsigned char *chunk = sparse__malloc(IDX_CHUNK);
    int rc = lab && chunk ? SPARSE_OK : SPARSE_ENOMEM;
    for (size_t have = 0; !rc && have < n;) {
        size_t want = n - have < IDX_CHUNK ? n - have : IDX_CHUNK;
        rc = idx_read_exact(f, chunk, want, "labels");
        for (size_t i = 0; !rc && i < want; i++)
            lab[have + i] = chunk[i];
        have += want;
    }
    free(chunk);
    if (rc) {
        free(lab);
        return rc;
    }
    *out = lab;
    return SPARSE_OK;
}

SPARSE_API int sparse_dataset_load_idx(sparse_dataset **out, const char *images_path,
                                       const char *labels_path)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(images_path);
    SPARSE__CHECK_NULL(labels_path);
    idx_file fi = {0}, fl = {0};
    float *px = NULL;
    int32_t *lab = NULL;
    uint32_t idim[4] = {0, 0, 0, 1}, ldim[1] = {0};
    int ind = 0, lnd = 0;
    int rc = idx_open(&fi, images_path);
    if (!rc)
        rc = idx_open(&fl, labels_path);
    if (!rc)
        rc = idx_header(&fi, 3, 4, idim, &ind, "unsigned-byte images, N x H x W or N x H x W x C");
    if (!rc)
        rc = idx_header(&fl, 1, 1, ldim, &lnd, "unsigned-byte labels, 1 dimension");
    if (!rc && ldim[0] != idim[0])
        rc = sparse__error(SPARSE_EFORMAT, "%s: byte offset 4: %lu labels, but %s holds %lu images",
                           labels_path, (unsigned long)ldim[0], images_path,
                           (unsigned long)idim[0]);
    if (!rc)
        rc = idx_limits(&fi, idim);
    size_t n = idim[0], total = (size_t)idim[0] * idim[1] * idim[2] * idim[3]; /* within the limits */
    fi.size = 4 + 4 * (unsigned long long)ind + (unsigned long long)total;
    fl.size = 8 + (unsigned long long)n;
    if (!rc)
        rc = idx_check_size(&fi);
    if (!rc)
        rc = idx_check_size(&fl);
    if (!rc)
        rc = read_pixels(&fi, total, &px);
    if (!rc)
        rc = sparse__hwc_to_chw(px, n, idim[3], idim[1], idim[2]);
    if (!rc)
        rc = idx_expect_end(&fi);
    if (!rc)
        rc = read_labels(&fl, n, &lab);
    if (!rc)
        rc = idx_expect_end(&fl);
    idx_close(&fi);
    idx_close(&fl);
    if (rc) {
        free(px);
        free(lab);
        return rc;
    }
    return sparse__dataset_wrap(out, n, idim[3], idim[1], idim[2], px, lab, 0);
}

static const char *const mnist_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

/* Finds DIR/NAME or DIR/NAME.gz, or for images the same with idx4 for idx3
 * (4-D colour images); *path is allocated. */
static int find_member(const char *dir, const char *name, char **path)
{
    *path = NULL;
    size_t len = strlen(dir) + strlen(name) + 8;
    char *p = sparse__malloc(len);
    if (!p)
        return SPARSE_ENOMEM;
    const char *idx3 = strstr(name, "idx3");
    for (int four = 0; four < (idx3 ? 2 : 1); four++)
        for (int gz = 0; gz < 2; gz++) {
            struct stat st;
            snprintf(p, len, "%s/%.*s%s%s%s", dir, (int)(idx3 ? idx3 - name : (ptrdiff_t)strlen(name)), name,
                     idx3 ? (four ? "idx4" : "idx3") : "", idx3 ? idx3 + 4 : "", gz ? ".gz" : "");
            if (stat(p, &st) == 0) {
                *path = p;
                return SPARSE_OK;
            }
        }
    free(p);
    return sparse__error(SPARSE_ENOTFOUND, "%s: no %s (or %s.gz) in this directory", dir, name, name);
}

SPARSE_API int sparse_dataset_load_mnist_dir(sparse_dataset **train, sparse_dataset **test,
                                             const char *dir)
{
    SPARSE__CHECK_NULL(train);
    SPARSE__CHECK_NULL(test);
    *train = *test = NULL;
    SPARSE__CHECK_NULL(dir);
    struct stat st;
    if (stat(dir, &st) != 0)
        return sparse__error(SPARSE_ENOTFOUND, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sparse__error(SPARSE_EINVAL, "%s: not a directory", dir);
    char *p[4] = {NULL, NULL, NULL, NULL};
    sparse_dataset *tr = NULL, *te = NULL;
    int rc = SPARSE_OK;
    for (int i = 0; i < 4 && !rc; i++)
        rc = find_member(dir, mnist_names[i], &p[i]);
    if (!rc)
        rc = sparse_dataset_load_idx(&tr, p[0], p[1]);
    if (!rc)
        rc = sparse_dataset_load_idx(&te, p[2], p[3]);
    if (!rc && (te->h != tr->h || te->w != tr->w || te->c != tr->c))
        rc = sparse__error(SPARSE_EFORMAT, "%s: byte offset 8: images are %zux%zux%zu, but %s has %zux%zux%zu",
                           p[2], te->h, te->w, te->c, p[0], tr->h, tr->w, tr->c);
    for (size_t i = 0; !rc && i < te->n; i++)
        if ((size_t)te->labels[i] >= tr->num_classes)
            rc = sparse__error(SPARSE_EFORMAT,
                               "%s: byte offset %zu: label %d is out of range: %s has %zu classes",
                               p[3], 8 + i, (int)te->labels[i], p[1], tr->num_classes);
    if (!rc)
        te->num_classes = tr->num_classes;
    for (int i = 0; i < 4; i++)
        free(p[i]);
    if (rc) {
        sparse_dataset_free(tr);
        sparse_dataset_free(te);
        return rc;
    }
    *train = tr;
    *test = te;
    return SPARSE_OK;
}
