/* Beyond the paper: the flash of the int8 deployment, as the export stores
 * it (sparse/export.h): each weighted layer's int8 weights in their cheapest
 * encoding with its int32 biases, int32 multipliers and int8 shifts, and
 * every step's entry in the kernels' tables, sized as a 32-bit Cortex-M lays
 * them out. Code is not counted. */
#include "../core/internal.h"
#include "int8_kernels.h"
#include "memory_internal.h"

/* The structs without pointers are laid out alike on every common target,
 * so the host checks their 32-bit sizes; int8_kernels.h checks them all
 * when compiled for a 32-bit Arm. */
_Static_assert(sizeof(sparse__q8_pool_params) == SPARSE_Q8_ILP32_POOL_PARAMS, "pool descriptor size");
_Static_assert(sizeof(sparse__q8_add_input) == SPARSE_Q8_ILP32_ADD_INPUT, "sum input entry size");
_Static_assert(sizeof(sparse__q8_concat_input) == SPARSE_Q8_ILP32_CONCAT_INPUT, "concat input entry size");
_Static_assert(sizeof(sparse__q8_relu_params) == SPARSE_Q8_ILP32_RELU_PARAMS, "ReLU descriptor size");

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

/* The step's descriptor (its kind's parameters, with a sum's or a
 * concatenation's per-input entries), its op table entry and one arena
 * offset per input. 0 for nodes that are no step (the input, views). */
static uint64_t step_bytes(const sparse__memnode *nd)
{
    uint64_t desc;
    if (nd->relu_step)
        desc = SPARSE_Q8_ILP32_RELU_PARAMS;
    else if (sparse__memkind_has_weights(nd->kind))
        desc = SPARSE_Q8_ILP32_CONV_PARAMS;
    else if (nd->kind == SPARSE_MEMNODE_POOL || nd->kind == SPARSE_MEMNODE_DOWNSAMPLE)
        desc = SPARSE_Q8_ILP32_POOL_PARAMS;
    else if (nd->kind == SPARSE_MEMNODE_ADD)
        desc = SPARSE_Q8_ILP32_ADD_PARAMS + SPARSE_Q8_ILP32_ADD_INPUT * (uint64_t)nd->n_inputs;
    else if (nd->kind == SPARSE_MEMNODE_CONCAT)
        desc = SPARSE_Q8_ILP32_CONCAT_PARAMS + SPARSE_Q8_ILP32_CONCAT_INPUT * (uint64_t)nd->n_inputs;
    else
        return 0;
    return desc + SPARSE_Q8_ILP32_OP + SPARSE_Q8_ILP32_OFFSET * (uint64_t)nd->n_inputs;
}

int sparse__mem_flash(sparse_memreport *r, const sparse_memgraph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const sparse__memnode *nd = &g->nodes[i];
        sparse__memrow *row = &r->rows[i];
        row->flash_format = SPARSE_FLASH_NONE;
        row->flash = step_bytes(nd);
        r->flash += row->flash;
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
        /* A layer without one non-zero still stores one value, so that the
         * kernel's pointer into the values is never NULL. */
        if (nd->nz_weights == 0 && f != SPARSE_FLASH_DENSE)
            w++;
        /* int32 biases are kept dense: a pruned bias still needs its slot for
         * the requantisation that follows it. Per output channel, the
         * requantisation's int32 multiplier and int8 shift. */
        w += 4 * nd->biases + 5 * nd->out_c;
        row->flash += w;
        row->flash_format = (uint64_t)f;
        r->flash += w;
    }
    return SPARSE_OK;
}
