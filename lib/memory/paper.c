/* The paper's figures (section 3.2): MS (eq. 4) and WM under models (5), (6). */
#include "../core/internal.h"
#include "memory_internal.h"

int sparse__mem_paper(sparse_memreport *r, const sparse_memgraph *g)
{
    int have = 0;
    for (size_t i = 0; i < g->n; i++) {
        const sparse__memnode *nd = &g->nodes[i];
        sparse__memrow *row = &r->rows[i];
        row->is_layer = sparse__memkind_is_layer(nd->kind);
        /* Activations are dense (ReLU outputs are not pruned), so ||x_l||_0 and
         * ||y_l||_0 are element counts; only weights are counted by non-zeros. */
        row->x = nd->in_elems;
        row->y = sparse__out_elems(nd);
        row->weights = nd->weights + nd->biases;
        row->nonzeros = nd->nz_weights + nd->nz_biases;
        r->ms += row->nonzeros;
        if (!row->is_layer)
            continue;
        row->wm5 = row->x + row->nonzeros;
        row->wm6 = row->x + row->y;
        /* Strict comparison: the first layer attaining the maximum is named. */
        if (!have || row->wm5 > r->wm5) {
            r->wm5 = row->wm5;
            r->wm5_arg = i;
        }
        if (!have || row->wm6 > r->wm6) {
            r->wm6 = row->wm6;
            r->wm6_arg = i;
        }
        have = 1;
    }
    return have ? SPARSE_OK : sparse__error(SPARSE_EINTERNAL, "memory: no layers after validation");
}
