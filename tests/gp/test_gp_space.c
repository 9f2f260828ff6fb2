/* The search space of the GP module: encoding and decoding (log scales,
 * one-hot categories, the inactive sentinel of conditional variables),
 * random and mutated points, and the errors of building one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gp/gp_internal.h"
#include "sparse/sparse.h"

#include "gp_shared.h"

extern const struct CMUnitTest space_tests[];
extern const size_t space_test_count;

static void test_space_encode_decode(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    assert_int_equal(sparse_space_var_count(s), 5);
    assert_int_equal(sparse_space_encoded_dim(s), 7);
    assert_true(sparse_space_has_conditions(s));
    size_t idx;
    assert_int_equal(sparse_space_find(s, "act", &idx), SPARSE_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(sparse_space_find(s, "nope", &idx), SPARSE_ENOTFOUND);
    assert_string_equal(sparse_space_var_name(s, 3), "width3");

    double p[5] = {1e-2, 3, 2, 16, 0.25}, x[7], q[5];
    int active[5];
    assert_int_equal(sparse_space_active(s, p, active), SPARSE_OK);
    assert_int_equal(active[3], 1);
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(fabs(x[0] - 2.0 / 3.0) < 1e-12); /* log scale */
    assert_true(fabs(x[1] - 1.0) < 1e-12);
    assert_true(x[2] == 0 && x[3] == 0 && x[4] == 1);
    assert_true(fabs(x[5] - 0.5) < 1e-12); /* log2(16/4)/log2(64/4) */
    assert_true(fabs(x[6] - 0.5) < 1e-12);
    assert_int_equal(sparse_space_decode(s, x, q), SPARSE_OK);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(q[i] - p[i]) < 1e-12 * fabs(p[i]) + 1e-15);

    /* Parent value 2: width3 inactive -> sentinel, decodes to NaN. */
    p[1] = 2;
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(x[5] == SPARSE_SPACE_INACTIVE);
    assert_int_equal(sparse_space_decode(s, x, q), SPARSE_OK);
    assert_true(isnan(q[3]));
    /* Integers are rounded on encode. */
    p[1] = 1.4;
    assert_int_equal(sparse_space_encode(s, p, x), SPARSE_OK);
    assert_true(x[1] == 0.0);
    assert_int_equal(sparse_space_validate(s, p), SPARSE_ERANGE);
    assert_non_null(strstr(sparse_last_error(), "layers"));

    sparse_rng *rng = NULL;
    assert_int_equal(sparse_rng_create(&rng, 5), SPARSE_OK);
    int seen_inactive = 0, seen_active = 0;
    for (int t = 0; t < 200; t++) {
        assert_int_equal(sparse_space_sample(s, rng, p), SPARSE_OK);
        assert_int_equal(sparse_space_validate(s, p), SPARSE_OK);
        seen_inactive += isnan(p[3]);
        seen_active += !isnan(p[3]);
        assert_int_equal(sparse_space_mutate(s, rng, p, 0.3, 0.1, q), SPARSE_OK);
        assert_int_equal(sparse_space_validate(s, q), SPARSE_OK);
    }
    assert_true(seen_inactive > 0 && seen_active > 0);

    sparse_space *c = NULL;
    assert_int_equal(sparse_space_clone(&c, s), SPARSE_OK);
    assert_int_equal(sparse_space_encoded_dim(c), 7);
    sparse_space_free(c);
    sparse_rng_free(rng);
    sparse_space_free(s);
}

/* sample_all gives every variable a value within its bounds, conditional
 * ones included; sample then clears the inactive ones. */
static void test_space_sample_all(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    sparse_rng *rng;
    assert_int_equal(sparse_rng_create(&rng, 3), SPARSE_OK);
    double p[5], lo, hi;
    int saw_inactive = 0;
    for (int k = 0; k < 200; k++) {
        assert_int_equal(sparse_space_sample_all(s, rng, p), SPARSE_OK);
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(sparse_space_var_bounds(s, i, &lo, &hi), SPARSE_OK);
            assert_true(p[i] >= lo && p[i] <= hi);
        }
        int active[5];
        assert_int_equal(sparse_space_active(s, p, active), SPARSE_OK);
        for (size_t i = 0; i < 5; i++)
            saw_inactive |= !active[i];
    }
    assert_true(saw_inactive);
    assert_int_equal(sparse_space_var_bounds(s, 9, &lo, &hi), SPARSE_ERANGE);
    sparse_rng_free(rng);
    sparse_space_free(s);
}

static void test_space_errors(void **state)
{
    (void)state;
    sparse_space *s = make_space();
    assert_int_equal(sparse_space_add_real(s, "lr", 0, 1, 0, NULL), SPARSE_EINVAL);
    assert_non_null(strstr(sparse_last_error(), "already exists"));
    assert_int_equal(sparse_space_add_real(s, "x", 1, 1, 0, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_real(s, "x", 0, 1, 1, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_real(s, "x", 0, NAN, 0, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_space_add_categorical(s, "c", 0, NULL), SPARSE_EINVAL);
    double v = 1;
    assert_int_equal(sparse_space_set_condition(s, 1, 2, &v, 1), SPARSE_EINVAL); /* parent after */
    assert_int_equal(sparse_space_set_condition(s, 4, 0, &v, 1), SPARSE_EINVAL); /* real parent */
    assert_int_equal(sparse_space_set_condition(s, 9, 0, &v, 1), SPARSE_ERANGE);
    sparse_space *o = (sparse_space *)1;
    assert_int_equal(sparse_space_clone(&o, NULL), SPARSE_EINVAL);
    assert_null(o);
    sparse_space_free(NULL);
    sparse_space_free(s);
}

const struct CMUnitTest space_tests[] = {
    cmocka_unit_test(test_space_encode_decode),
    cmocka_unit_test(test_space_errors),
    cmocka_unit_test(test_space_sample_all),
};
const size_t space_test_count = sizeof space_tests / sizeof space_tests[0];
