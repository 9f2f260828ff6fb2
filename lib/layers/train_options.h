/* Reading a caller's sparse_train_options of any version this library knows,
 * shared by the training loop and the pruning driver. */
#ifndef SPARSE_TRAIN_OPTIONS_H
#define SPARSE_TRAIN_OPTIONS_H

#include "sparse/layers.h"

/* *dst = defaults overlaid with the fields src's version has (src NULL:
 * defaults). SPARSE_EVERSION, naming fn, for a version the library does not
 * know. Never reads past the end of a smaller, older struct. */
int sparse__train_options_read(sparse_train_options *dst, const sparse_train_options *src, const char *fn);

#endif
