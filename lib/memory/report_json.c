/* The report as JSON, for `sparsenas memory --json` and the run log. */
#include <stdlib.h>

#include "../core/internal.h"
#include "memory_internal.h"

static const char *flash_format_name(uint64_t f)
{
    switch (f) {
    case SPARSE_FLASH_DENSE: return "dense";
    case SPARSE_FLASH_BITMASK: return "bitmask";
    case SPARSE_FLASH_CSR: return "csr";
    default: return "none";
    }
}

static const char *scratch_name(int model)
{
    switch (model) {
    case SPARSE_SCRATCH_IM2COL: return "im2col";
    case SPARSE_SCRATCH_IM2COL_2COL: return "im2col_2col";
    default: return "none";
    }
}

#define U(x) ((unsigned long long)(x))

static void put_row(sparse__buf *b, const sparse_memreport *r, size_t i)
{
    const sparse__memrow *row = &r->rows[i];
    sparse__buf_printf(b, "{\"id\":%zu,\"name\":", i);
    sparse__buf_json_string(b, row->name);
    sparse__buf_puts(b, ",\"kind\":");
    sparse__buf_json_string(b, sparse_memnode_kind_name(row->kind));
    sparse__buf_puts(b, ",\"inputs\":[");
    for (size_t k = 0; k < row->n_inputs; k++) {
        if (k)
            sparse__buf_puts(b, ",");
        sparse__buf_json_string(b, r->rows[row->inputs[k]].name);
    }
    sparse__buf_printf(b,
                       "],\"input_count\":%llu,\"output_shape\":[%llu,%llu,%llu],"
                       "\"output_count\":%llu,\"weights\":%llu,\"nonzeros\":%llu,"
                       "\"wm5\":%llu,\"wm6\":%llu,\"flash_bytes\":%llu,\"flash_format\":\"%s\","
                       "\"scratch_bytes\":%llu,\"live_bytes\":%llu,\"arena_bytes\":%llu}",
                       U(row->x), U(row->out_c), U(row->out_h), U(row->out_w), U(row->y),
                       U(row->weights), U(row->nonzeros), U(row->wm5), U(row->wm6), U(row->flash),
                       flash_format_name(row->flash_format), U(row->scratch), U(row->live),
                       U(row->arena));
}

int sparse__mem_json(const sparse_memreport *r, char **out)
{
    sparse__buf b = SPARSE__BUF_INIT;
    sparse__buf_printf(&b, "{\"ms_bytes\":%llu,\"wm5_bytes\":%llu,\"wm6_bytes\":%llu,\"wm5_argmax\":",
                       U(r->ms), U(r->wm5), U(r->wm6));
    sparse__buf_json_string(&b, r->rows[r->wm5_arg].name);
    sparse__buf_puts(&b, ",\"wm6_argmax\":");
    sparse__buf_json_string(&b, r->rows[r->wm6_arg].name);
    sparse__buf_printf(&b,
                       ",\"flash_bytes\":%llu,\"arena_bytes\":%llu,\"arena_lower_bound_bytes\":%llu,"
                       "\"scratch\":\"%s\",\"beyond_paper\":[\"flash_bytes\",\"arena_bytes\","
                       "\"arena_lower_bound_bytes\",\"flash_format\",\"scratch_bytes\","
                       "\"live_bytes\"]",
                       U(r->flash), U(r->arena), U(r->arena_lb), scratch_name(r->scratch_model));
    /* Which counting the figures follow, and the nodes it took out of the network. */
    sparse__buf_puts(&b, ",\"input_downsampling\":");
    sparse__buf_json_string(&b, sparse_input_downsampling_name(r->input_downsampling));
    sparse__buf_puts(&b, ",\"acquired\":[");
    for (size_t i = 0, k = 0; i < r->n; i++)
        if (r->rows[i].acquired) {
            sparse__buf_puts(&b, k++ ? "," : "");
            sparse__buf_json_string(&b, r->rows[i].name);
        }
    sparse__buf_puts(&b, "],\"layers\":[");
    for (size_t i = 0, k = 0; i < r->n; i++)
        if (r->rows[i].is_layer) {
            sparse__buf_puts(&b, k++ ? "," : "");
            put_row(&b, r, i);
        }
    sparse__buf_puts(&b, "]}");
    /* The buffer's failure flag is sticky, so one check covers every append. */
    if (b.failed) {
        sparse__buf_free(&b);
        return sparse__error(SPARSE_ENOMEM, "memory report: out of memory writing JSON");
    }
    *out = sparse__buf_detach(&b);
    return *out ? SPARSE_OK : SPARSE_ENOMEM;
}
