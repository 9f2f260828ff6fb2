/* What the parts of test_gp share: a small conditional search space and a
 * tolerance check. Include after cmocka.h. */
#ifndef SPARSE_TESTS_GP_SHARED_H
#define SPARSE_TESTS_GP_SHARED_H

#include <math.h>

#include "sparse/sparse.h"

/* |a - b| <= tol (this cmocka lacks assert_double_equal). */
#define assert_close(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* lr (real, log), layers (int 1-3), act (3 categories), width3 (int, log,
 * active when layers is 3) and drop (real): 5 variables, encoded in 7. */
sparse_space *make_space(void);

#endif
