/*
 * sparse_dataset: labelled images in memory (float32, C x H x W each, labels
 * 0..class_count-1), read from IDX (MNIST family, plain or .gz) or CSV files,
 * split, normalised, relabelled and cut into shuffled mini-batches.
 *
 * Every reader validates what it reads; a bad file gives SPARSE_EFORMAT (or
 * SPARSE_EIO) and a sparse_last_error() naming the file and the byte offset
 * (IDX) or line and column (CSV).
 */
#ifndef SPARSE_DATA_H
#define SPARSE_DATA_H

#include "sparse/core.h"
#include "sparse/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sparse_dataset sparse_dataset;

/* ---- Reading ---- */

/* Reads one IDX image file and its IDX label file (0x00000801, u8). The
 * images are N x H x W (grey) or N x H x W x C (C channels interleaved per
 * pixel, as NumPy stores colour images; they are reordered into C x H x W),
 * of u8 pixels (magic 0x00000803, 0x00000804), scaled to [0, 1] (byte / 255),
 * or of big-endian float32 pixels (0x00000D03, 0x00000D04), taken as they
 * are; a NaN or infinite pixel is SPARSE_EFORMAT naming the image and value.
 * Either file may be gzip-compressed (detected by content). The class count
 * is the largest label + 1. Trailing bytes after the data are an error.
 * *out owned by the caller. */
SPARSE_API int sparse_dataset_load_idx(sparse_dataset **out, const char *images_path,
                                       const char *labels_path);

/* Reads a directory holding the four standard MNIST files
 * (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte; each may also end in .gz; images are also found
 * as train-images-idx4-ubyte, -idx3-float and -idx4-float, the first
 * that exists in that order, and the same for t10k; the pixel type comes
 * from the header, not the name). Both outputs owned by the caller; on
 * failure both are NULL. */
SPARSE_API int sparse_dataset_load_mnist_dir(sparse_dataset **train, sparse_dataset **test,
                                             const char *dir);

/* The order of an image's values in a CSV row. */
#define SPARSE_LAYOUT_CHW 0 /* planes: every value of channel 0, then of channel 1, ... (CIFAR-10 binary) */
#define SPARSE_LAYOUT_HWC 1 /* pixels: the C values of pixel (0, 0), then of (0, 1), ... (NumPy images) */

typedef struct sparse_csv_options {
    unsigned version;      /* SPARSE_CSV_OPTIONS_VERSION */
    int label_column;      /* index of the label column (default 0) */
    int header;            /* 1 = first line is a header, 0 = no header, -1 = detect (default) */
    size_t channels;       /* image shape; 0 for all three = infer a square 1-channel image */
    size_t height;
    size_t width;
    /* Version 2: */
    int layout;            /* SPARSE_LAYOUT_CHW (default) or SPARSE_LAYOUT_HWC */
} sparse_csv_options;

/* Version 1 callers (no layout: CHW) are still accepted. */
#define SPARSE_CSV_OPTIONS_VERSION 2
#define SPARSE_CSV_OPTIONS_INIT {SPARSE_CSV_OPTIONS_VERSION, 0, -1, 0, 0, 0, SPARSE_LAYOUT_CHW}
SPARSE_API int sparse_csv_options_init(sparse_csv_options *opts, unsigned version);

/* Reads a CSV file: one integer label column (0..65535) plus one numeric
 * column per pixel value, values stored as given (no scaling), in the
 * order opts->layout says. Blank lines are
 * skipped; header detection (-1) treats the first line as a header when its
 * label cell is not a number. opts may be NULL for the defaults. */
SPARSE_API int sparse_dataset_load_csv(sparse_dataset **out, const char *path,
                                       const sparse_csv_options *opts);

/* Builds a data set from memory: n images of c*h*w finite floats (NCHW
 * order) and n labels in [0, class_count). Both arrays are copied. */
SPARSE_API int sparse_dataset_from_memory(sparse_dataset **out, size_t n, size_t c, size_t h,
                                          size_t w, const float *images, const int32_t *labels,
                                          size_t class_count);

SPARSE_API void sparse_dataset_free(sparse_dataset *ds);

/* ---- Inspecting ---- */

/* Number of images. */
SPARSE_API size_t sparse_dataset_image_count(const sparse_dataset *ds);
SPARSE_API size_t sparse_dataset_channels(const sparse_dataset *ds);
SPARSE_API size_t sparse_dataset_height(const sparse_dataset *ds);
SPARSE_API size_t sparse_dataset_width(const sparse_dataset *ds);
/* Number of classes: max label + 1, or the value fixed by relabelling. */
SPARSE_API size_t sparse_dataset_class_count(const sparse_dataset *ds);
/* Label of image i, or -1 if out of range. */
SPARSE_API int sparse_dataset_label(const sparse_dataset *ds, size_t i);
/* Borrowed pointer to image i (C*H*W floats), NULL if out of range. */
SPARSE_API const float *sparse_dataset_image(const sparse_dataset *ds, size_t i);
/* Pixel statistics over all images: mean, standard deviation, min, max
 * (any output pointer may be NULL). */
SPARSE_API int sparse_dataset_pixel_stats(const sparse_dataset *ds, double *mean, double *std,
                                          double *min, double *max);
/* Number of images with label `label` (0 out of range). */
SPARSE_API size_t sparse_dataset_label_count(const sparse_dataset *ds, size_t label);

/* ---- Transforming ---- */

/* New data set holding images [first, first+count) of src (a copy; keeps
 * src's class count, as does subset). */
SPARSE_API int sparse_dataset_range(sparse_dataset **out, const sparse_dataset *src, size_t first,
                                    size_t count);
/* New data set holding the listed images of src, in that order (a copy). */
SPARSE_API int sparse_dataset_subset(sparse_dataset **out, const sparse_dataset *src,
                                     const size_t *indices, size_t n);
/* Mean and standard deviation of all pixels of ds (per data set, as the
 * paper: computed on the training split, then applied to every split). */
SPARSE_API int sparse_dataset_compute_normalization(const sparse_dataset *ds, float *mean,
                                                    float *std);
/* x <- (x - mean) / std for every pixel; std must be > 0. */
SPARSE_API int sparse_dataset_normalize(sparse_dataset *ds, float mean, float std);
/* The normalisation applied to ds so far, as one (x - mean) / std from the
 * values read (several sparse_dataset_normalize calls compose; 0 and 1
 * when none was); range and subset copies keep their source's. */
SPARSE_API int sparse_dataset_normalization(const sparse_dataset *ds, float *mean, float *std);
/* Binary relabelling: class c becomes group_of_class[c] (0 or 1); class_count
 * must equal sparse_dataset_class_count(ds). */
SPARSE_API int sparse_dataset_relabel(sparse_dataset *ds, const int *group_of_class,
                                      size_t class_count);

/* ---- Standard splits ---- */

typedef struct sparse_data_options {
    unsigned version;       /* SPARSE_DATA_OPTIONS_VERSION */
    size_t val_count;       /* validation images taken from the end of the training file
                               (default 5000: MNIST's 55,000 / 5,000 / 10,000) */
    double test_fraction;   /* CSV without a test file: share held out for test (default 0.2) */
    uint64_t seed;          /* seed for the CSV train/val/test shuffle and a random
                               validation split (default 0) */
    int normalize;          /* 1 = mean/std from the training split applied to all (default 1) */
    int binary;             /* 1 = relabel classes into two groups: c < class_count/2 -> 0, else 1 */
    size_t max_train;       /* 0 = all; else keep only the first max_train training images */
    /* Version 2: */
    size_t channels, height, width; /* image shape: a CSV row's (0 for all three: a square grey
                                       image); for IDX files, checked against theirs */
    int layout;             /* CSV value order: SPARSE_LAYOUT_CHW (default) or SPARSE_LAYOUT_HWC */
    int label_column;       /* CSV label column (default 0) */
    float norm_mean, norm_std; /* norm_std > 0: normalise with these (e.g. the ones stored with
                                  trained weights) instead of the training split's (default 0, 0) */
    /* Version 3: */
    int val_split; /* sparse_val_split: which training-file images of a directory validate
                      (default SPARSE_VAL_SPLIT_TAIL) */
} sparse_data_options;

/* Which images of a directory's training file are held out for validation
 * (a CSV file's splits are always one seeded shuffle). Values are ABI. */
typedef enum sparse_val_split {
    SPARSE_VAL_SPLIT_TAIL = 0,  /* the last val_count (MNIST: the paper's 55,000 / 5,000) */
    SPARSE_VAL_SPLIT_RANDOM = 1 /* val_count drawn at random by the options' seed; the training
                                   images keep their file order */
} sparse_val_split;

/* Version 1 callers (no shape, layout, label column or given normalisation) and version 2
 * ones (no val_split) are still accepted. */
#define SPARSE_DATA_OPTIONS_VERSION 3
#define SPARSE_DATA_OPTIONS_INIT                                                                            \
    {SPARSE_DATA_OPTIONS_VERSION, 5000, 0.2, 0, 1, 0, 0, 0, 0, 0, SPARSE_LAYOUT_CHW, 0, 0.0f, 0.0f,         \
     SPARSE_VAL_SPLIT_TAIL}
SPARSE_API int sparse_data_options_init(sparse_data_options *opts, unsigned version);

/* Opens a data set by spec and returns train/validation/test splits:
 *   "mnist"      the cached MNIST download ($XDG_CACHE_HOME/sparse/mnist, see
 *                `sparsenas data fetch mnist`),
 *   a directory  with the four MNIST file names,
 *   FILE.csv     a CSV file (split by opts->seed).
 * A shape that does not fit the data is SPARSE_EFORMAT naming the file.
 * All three outputs are owned by the caller; on failure all are NULL. */
SPARSE_API int sparse_data_open(sparse_dataset **train, sparse_dataset **val, sparse_dataset **test,
                                const char *spec, const sparse_data_options *opts);

/* Directory where `sparsenas data fetch mnist` caches MNIST:
 * $XDG_CACHE_HOME/sparse/mnist, else $HOME/.cache/sparse/mnist. Writes a
 * NUL-terminated path into buf of size cap. */
SPARSE_API int sparse_data_cache_dir(char *buf, size_t cap, const char *name);

/* ---- Mini-batches ---- */

typedef struct sparse_batcher sparse_batcher;

/* Iterates over ds in mini-batches of batch_size, in an order reshuffled each
 * epoch from seed when shuffle is 1. ds is borrowed and must outlive b. */
SPARSE_API int sparse_batcher_create(sparse_batcher **out, const sparse_dataset *ds,
                                     size_t batch_size, int shuffle, uint64_t seed);
SPARSE_API void sparse_batcher_free(sparse_batcher *b);
/* Fills x (a tensor of shape at least (batch_size, C, H, W), contiguous) and
 * labels (batch_size int32) with the next batch; *n gets the number of images
 * (the last batch of an epoch may be short). *n == 0 means the epoch is over;
 * the next call starts a new epoch. */
SPARSE_API int sparse_batcher_next(sparse_batcher *b, sparse_tensor *x, int32_t *labels, size_t *n);
/* Restarts at the beginning of epoch `epoch` (the order depends only on the
 * seed and the epoch number, so resuming is exact). */
SPARSE_API int sparse_batcher_seek_epoch(sparse_batcher *b, uint64_t epoch);

#ifdef __cplusplus
}
#endif

#endif
