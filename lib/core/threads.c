/* Thread count: BLIS keeps it (its own process-wide setting), so libsparse
 * adds no global state of its own. */
#include <blis.h>

#include "internal.h"

SPARSE_API int sparse_set_thread_count(int n)
{
    if (n < 1 || n > 1024)
        return sparse__error(SPARSE_ERANGE, "sparse_set_thread_count: %d threads requested, allowed 1..1024",
                             n);
    bli_thread_set_num_threads((dim_t)n);
    return SPARSE_OK;
}

SPARSE_API int sparse_thread_count(void)
{
    dim_t n = bli_thread_get_num_threads();
    return n < 1 ? 1 : (int)n;
}
