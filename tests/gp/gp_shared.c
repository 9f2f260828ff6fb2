#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sparse/sparse.h"

#include "gp_shared.h"

sparse_space *make_space(void)
{
    sparse_space *s = NULL;
    assert_int_equal(sparse_space_create(&s), SPARSE_OK);
    size_t i;
    assert_int_equal(sparse_space_add_real(s, "lr", 1e-4, 1e-1, 1, &i), SPARSE_OK);
    assert_int_equal(i, 0);
    assert_int_equal(sparse_space_add_int(s, "layers", 1, 3, 0, &i), SPARSE_OK);
    assert_int_equal(sparse_space_add_categorical(s, "act", 3, &i), SPARSE_OK);
    assert_int_equal(sparse_space_add_int(s, "width3", 4, 64, 1, &i), SPARSE_OK);
    double three = 3;
    assert_int_equal(sparse_space_set_condition(s, i, 1, &three, 1), SPARSE_OK);
    assert_int_equal(sparse_space_add_real(s, "drop", 0.0, 0.5, 0, &i), SPARSE_OK);
    return s;
}
