/*
 * libsparse input limits: the largest inputs the readers accept. Every
 * reader checks its input against these before it allocates for it, so a
 * file beyond them (a corrupted header, a hostile file, /dev/zero) fails
 * with SPARSE_ERANGE and a message naming the file and the limit, instead
 * of exhausting memory or time. docs/formats.md lists them with the reason
 * for each value. They are far above what tiny networks for
 * microcontrollers need; a value changes only with a new release.
 *
 * Files the readers take must be regular files: a directory, FIFO, socket
 * or device (/dev/zero) is refused (SPARSE_EIO) without reading from it.
 */
#ifndef SPARSE_LIMITS_H
#define SPARSE_LIMITS_H

#include <stddef.h> /* the limits bound size_t counts */

/* ---- Images (data sets and a network's input) ---- */

/* Height and width of an image, and its channel count. */
#define SPARSE_MAX_IMAGE_SIDE 65536
#define SPARSE_MAX_CHANNELS 65536
/* Values of one image: channels x height x width (16,777,216). */
#define SPARSE_MAX_IMAGE_VALUES (1L << 24)

/* ---- Data sets ---- */

/* Images in one data set file: IDX items, CSV data rows (16,777,216). */
#define SPARSE_MAX_ITEMS (1L << 24)
/* Pixel values in one data set file, all images together (2^31, 8 GiB as
 * float32). */
#define SPARSE_MAX_DATA_VALUES (1LL << 31)
/* Fields of one CSV row: a label and up to SPARSE_MAX_IMAGE_VALUES pixels. */
#define SPARSE_MAX_CSV_COLUMNS (SPARSE_MAX_IMAGE_VALUES + 1)
/* Size of a CSV file (1 GiB; it is read whole). */
#define SPARSE_MAX_CSV_BYTES (1LL << 30)

/* ---- YAML and JSON (architectures, search configs, run records,
 *      safetensors headers) ---- */

/* Size of an architecture or search config file (16 MiB). */
#define SPARSE_MAX_TEXT_BYTES (1L << 24)
/* Nesting of mappings and sequences. */
#define SPARSE_MAX_YAML_DEPTH 64
/* Scalars, mappings and sequences in one document (1,048,576). */
#define SPARSE_MAX_YAML_NODES (1L << 20)
/* Layers of one architecture. */
#define SPARSE_MAX_LAYERS 4096

/* ---- Weights files (safetensors) ---- */

/* Size of a weights file (2 GiB; it is read whole). */
#define SPARSE_MAX_WEIGHTS_BYTES (1LL << 31)
/* The JSON header (100 MiB, the safetensors format's own limit). */
#define SPARSE_MAX_SAFETENSORS_HEADER (100L << 20)
/* Values of one tensor (2^29, the largest that fits the file limit). */
#define SPARSE_MAX_TENSOR_VALUES (1L << 29)

/* ---- Run directories ---- */

/* Size of trials.jsonl or state.json (1 GiB). */
#define SPARSE_MAX_RUN_FILE_BYTES (1LL << 30)

#endif /* SPARSE_LIMITS_H */
