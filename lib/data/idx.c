/* IDX reader (the MNIST family): big-endian header, then raw unsigned bytes
 * or (images only) big-endian IEEE 754 float32, the IDX type codes 0x08 and
 * 0x0D. Files go through zlib, which reads gzip and plain files alike, so a .gz
 * file needs no special case. Offsets in messages count bytes of the
 * (decompressed) IDX stream, which is what a hex dump of the file shows. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/internal.h"
#include "data_internal.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_TYPE_FLOAT 0x0D
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

/* Magic: two zero bytes, the element type (unsigned bytes, or float32 when
 * allow_float), the number of dimensions, which may be any in [min_dims,
 * max_dims]; *ndims and *type receive them. */
static int idx_header(idx_file *f, int min_dims, int max_dims, int allow_float, uint32_t *dims, int *ndims,
                      int *type, const char *kind)
{
    unsigned char m[4];
    int rc = idx_read_exact(f, m, 4, "header (magic number)");
    if (rc)
        return rc;
    uint32_t magic = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    uint32_t lo = IDX_TYPE_UBYTE << 8 | (uint32_t)min_dims, hi = IDX_TYPE_UBYTE << 8 | (uint32_t)max_dims;
    const uint32_t flo = IDX_TYPE_FLOAT << 8 | (uint32_t)min_dims, fhi = IDX_TYPE_FLOAT << 8 | (uint32_t)max_dims;
    int is_float = allow_float && magic >= flo && magic <= fhi;
    if ((magic < lo || magic > hi) && !is_float) {
        if (allow_float)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s: byte offset 0: bad magic number 0x%08lx, expected 0x%08lx to 0x%08lx "
                                 "(unsigned bytes) or 0x%08lx to 0x%08lx (float32) (IDX %s)",
                                 f->path, (unsigned long)magic, (unsigned long)lo, (unsigned long)hi,
                                 (unsigned long)flo, (unsigned long)fhi, kind);
        if (lo == hi)
            return sparse__error(SPARSE_EFORMAT,
                                 "%s: byte offset 0: bad magic number 0x%08lx, expected 0x%08lx (IDX %s)",
                                 f->path, (unsigned long)magic, (unsigned long)lo, kind);
        return sparse__error(SPARSE_EFORMAT,
                             "%s: byte offset 0: bad magic number 0x%08lx, expected 0x%08lx to 0x%08lx (IDX %s)",
                             f->path, (unsigned long)magic, (unsigned long)lo, (unsigned long)hi, kind);
    }
    *type = is_float ? IDX_TYPE_FLOAT : IDX_TYPE_UBYTE;
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

/* Decodes n values of a chunk into px: bytes scaled to [0, 1], float32 taken
 * as they are (big-endian in the file). first is the index of the chunk's
 * first value in the file and per the values of one image, to name a value
 * that is not finite: a NaN or an infinity would reach the normalisation's
 * mean and every network trained on the data, so it is refused here as
 * sparse_dataset_from_memory refuses it. */
static int decode_pixels(idx_file *f, const unsigned char *chunk, size_t n, int type, size_t first,
                         size_t per, float *px)
{
    if (type == IDX_TYPE_UBYTE) {
        for (size_t i = 0; i < n; i++)
            px[i] = (float)chunk[i] * (1.0f / 255.0f);
        return SPARSE_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = chunk + 4 * i;
        uint32_t bits = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) {
            size_t k = first + i;
            return sparse__error(SPARSE_EFORMAT,
                                 "%s: byte offset %llu%s: image %zu, value %zu (in file order) is %s: "
                                 "float IDX pixels must be finite",
                                 f->path, f->off - 4 * (unsigned long long)(n - i), stream_kind(f), k / per,
                                 k % per, isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf");
        }
        px[i] = v;
    }
    return SPARSE_OK;
}

/* Reads total values (per to an image) of the given type. The float array
 * grows with the data actually read, so a corrupted header announcing
 * billions of images fails as a truncated file rather than as a giant
 * allocation. */
static int read_pixels(idx_file *f, size_t total, size_t per, int type, float **out)
{
    *out = NULL;
    const size_t esize = type == IDX_TYPE_FLOAT ? 4 : 1, step = IDX_CHUNK / esize;
    size_t cap = total < (1u << 20) ? total : (1u << 20), have = 0;
    float *px = sparse__malloc(cap * sizeof *px);
    unsigned char *chunk = sparse__malloc(IDX_CHUNK);
    int rc = px && chunk ? SPARSE_OK : SPARSE_ENOMEM;
    while (!rc && have < total) {
        size_t want = total - have < step ? total - have : step;
        rc = idx_read_exact(f, chunk, want * esize, "pixel data");
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
        rc = decode_pixels(f, chunk, want, type, have, per, px + have);
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
    int ind = 0, lnd = 0, itype = IDX_TYPE_UBYTE, ltype = IDX_TYPE_UBYTE;
    int rc = idx_open(&fi, images_path);
    if (!rc)
        rc = idx_open(&fl, labels_path);
    if (!rc)
        rc = idx_header(&fi, 3, 4, 1, idim, &ind, &itype, "images, N x H x W or N x H x W x C");
    if (!rc)
        rc = idx_header(&fl, 1, 1, 0, ldim, &lnd, &ltype, "unsigned-byte labels, 1 dimension");
    if (!rc && ldim[0] != idim[0])
        rc = sparse__error(SPARSE_EFORMAT, "%s: byte offset 4: %lu labels, but %s holds %lu images",
                           labels_path, (unsigned long)ldim[0], images_path,
                           (unsigned long)idim[0]);
    if (!rc)
        rc = idx_limits(&fi, idim);
    size_t n = idim[0], per = (size_t)idim[1] * idim[2] * idim[3], total = n * per; /* within the limits */
    fi.size = 4 + 4 * (unsigned long long)ind + (unsigned long long)total * (itype == IDX_TYPE_FLOAT ? 4 : 1);
    fl.size = 8 + (unsigned long long)n;
    if (!rc)
        rc = idx_check_size(&fi);
    if (!rc)
        rc = idx_check_size(&fl);
    if (!rc)
        rc = read_pixels(&fi, total, per, itype, &px);
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

static const char *const mnist_stems[4] = {"train-images", "train-labels", "t10k-images", "t10k-labels"};

/* The endings an images member may have: MNIST's own, 4-D colour images,
 * and float32 pixels (the type code is read from the header; the name only
 * has to be found). */
static const char *const image_kinds[4] = {"idx3-ubyte", "idx4-ubyte", "idx3-float", "idx4-float"};
static const char *const label_kinds[1] = {"idx1-ubyte"};

/* Finds DIR/STEM-KIND or DIR/STEM-KIND.gz, the first kind that exists;
 * *path is allocated. */
static int find_member(const char *dir, const char *stem, int images, char **path)
{
    *path = NULL;
    const char *const *kinds = images ? image_kinds : label_kinds;
    const int nk = images ? 4 : 1;
    size_t len = strlen(dir) + strlen(stem) + 20;
    char *p = sparse__malloc(len);
    if (!p)
        return SPARSE_ENOMEM;
    for (int k = 0; k < nk; k++)
        for (int gz = 0; gz < 2; gz++) {
            struct stat st;
            snprintf(p, len, "%s/%s-%s%s", dir, stem, kinds[k], gz ? ".gz" : "");
            if (stat(p, &st) == 0) {
                *path = p;
                return SPARSE_OK;
            }
        }
    free(p);
    if (images)
        return sparse__error(SPARSE_ENOTFOUND,
                             "%s: no %s-idx3-ubyte in this directory (nor %s-idx4-ubyte, -idx3-float, "
                             "-idx4-float, or any of them with .gz)", dir, stem, stem);
    return sparse__error(SPARSE_ENOTFOUND, "%s: no %s-%s (or %s-%s.gz) in this directory", dir, stem,
                         kinds[0], stem, kinds[0]);
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
        rc = find_member(dir, mnist_stems[i], i % 2 == 0, &p[i]);
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
