/* Beyond the paper: flash bytes of the int8 weights in their cheapest encoding. */
#include "../core/internal.h"
#include "memory_internal.h"

/* Sized like an MCU kernel would index: the narrowest integer that can hold
 * every column index of a row / every offset into the values. */
static uint64_t col_index_bytes(uint64_t cols)
{
    return cols <= 256 ? 1 : cols <= 65536 ? 2 : 4;
}

static uint64_t row_ptr_bytes(uint64_t nnz) { return nnz <= 65535 ? 2 : 4; }

SPARSE_API int sparse_memory_deploy_weight_bytes(uint64_t rows, uint64_t cols, uint64_t nnz,
                                                 int *format, uint64_t *bytes)
{
    SPARSE__CHECK_NULL(bytes);
    uint64_t n;
    if (rows == 0 || cols == 0 || sparse__mul64(rows, cols, &n) || n > ((uint64_t)1 << 48))
        return sparse__error(SPARSE_ERANGE, "deploy weight bytes: bad matrix %llux%llu",
                             (unsigned long long)rows, (unsigned long long)cols);
    if (nnz > n)
        return sparse__error(SPARSE_ERANGE, "deploy weight bytes: %llu non-zeros in %llu weights",
                             (unsigned long long)nnz, (unsigned long long)n);
    uint64_t dense = n;
    uint64_t bitmask = (n + 7) / 8 + nnz;
    uint64_t csr = nnz * (1 + col_index_bytes(cols)) + (rows + 1) * row_ptr_bytes(nnz);
    /* Ties go to the format with the simpler decoder. */
    int f = SPARSE_FLASH_DENSE;
    uint64_t best = dense;
    if (bitmask < best) {
        f = SPARSE_FLASH_BITMASK;
        best = bitmask;
    }
    if (csr < best) {
        f = SPARSE_FLASH_CSR;
        best = csr;
    }
    if (format)
        *format = f;
    *bytes = best;
    return SPARSE_OK;
}

int sparse__mem_flash(sparse_memreport *r, const sparse_memgraph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const sparse__memnode *nd = &g->nodes[i];
        sparse__memrow *row = &r->rows[i];
        row->flash_format = SPARSE_FLASH_NONE;
        if (!sparse__memkind_has_weights(nd->kind))
            continue;
        /* One row per output channel: that is how per-channel kernels walk
         * the weights, and validation guarantees the division is exact. */
        int f;
        uint64_t w;
        int rc = sparse_memory_deploy_weight_bytes(nd->out_c, nd->weights / nd->out_c,
                                                   nd->nz_weights, &f, &w);
        if (rc)
            return sparse__error_prefix(rc, "memgraph node %zu '%s'", i, nd->name);
        /* int32 biases are kept dense: a pruned bias still needs its slot for
         * the requantisation that follows it. float32 scale per channel. */
        row->flash = w + 4 * nd->biases + 4 * nd->out_c;
        row->flash_format = (uint64_t)f;
        r->flash += row->flash;
    }
    return SPARSE_OK;
}
