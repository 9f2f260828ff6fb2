/*
 * libsparse umbrella header: includes the whole public API.
 * Unstable interfaces live in sparse/experimental.h and are not included.
 */
#ifndef SPARSE_SPARSE_H
#define SPARSE_SPARSE_H

#include "sparse/core.h"
#include "sparse/tensor.h"
#include "sparse/data.h"
#include "sparse/layers.h"
#include "sparse/prune.h"
#include "sparse/memory.h"
#include "sparse/quant.h"
#include "sparse/gp.h"
#include "sparse/search.h"
#include "sparse/export.h"

#endif
