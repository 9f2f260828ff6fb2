#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sparse/tensor.h"

#include "../expect.h"

static void test_create_shape_strides(void **state)
{
    (void)state;
    sparse_tensor *t;
    assert_int_equal(sparse_tensor_create_nchw(&t, 2, 3, 4, 5), SPARSE_OK);
    assert_int_equal(sparse_tensor_dim_count(t), 4);
    assert_int_equal(sparse_tensor_dim(t, 0), 2);
    assert_int_equal(sparse_tensor_dim(t, 3), 5);
    assert_int_equal(sparse_tensor_dim(t, 4), 0);
    assert_int_equal(sparse_tensor_stride(t, 0), 60);
    assert_int_equal(sparse_tensor_stride(t, 1), 20);
    assert_int_equal(sparse_tensor_stride(t, 2), 5);
    assert_int_equal(sparse_tensor_stride(t, 3), 1);
    assert_int_equal(sparse_tensor_element_count(t), 120);
    assert_true(sparse_tensor_is_contiguous(t));
    for (size_t i = 0; i < 120; i++)
        assert_true(sparse_tensor_data(t)[i] == 0.0f);
    size_t shape[4];
    assert_int_equal(sparse_tensor_shape(t, shape), 4);
    assert_int_equal(shape[1], 3);
    sparse_tensor_free(t);
    sparse_tensor_free(NULL);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    sparse_tensor *t = (sparse_tensor *)0x1;
    size_t shape[5] = {1, 2, 3, 4, 5};
    assert_int_equal(sparse_tensor_create(&t, 5, shape), SPARSE_ESHAPE);
    assert_null(t);
    assert_int_equal(sparse_tensor_create(&t, 0, shape), SPARSE_ESHAPE);
    size_t zero[2] = {3, 0};
    assert_int_equal(sparse_tensor_create(&t, 2, zero), SPARSE_ESHAPE);
    size_t huge[2] = {SIZE_MAX / 2, 4};
    assert_int_equal(sparse_tensor_create(&t, 2, huge), SPARSE_ESHAPE);
    assert_int_equal(sparse_tensor_create(NULL, 2, shape), SPARSE_EINVAL);
    assert_int_equal(sparse_tensor_create(&t, 2, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_tensor_dim_count(NULL), 0);
    assert_null(sparse_tensor_data(NULL));
}

static void test_get_set_bounds(void **state)
{
    (void)state;
    sparse_tensor *t;
    size_t shape[2] = {3, 4};
    assert_int_equal(sparse_tensor_create(&t, 2, shape), SPARSE_OK);
    size_t idx[2] = {2, 3};
    assert_int_equal(sparse_tensor_set(t, idx, 7.5f), SPARSE_OK);
    float v;
    assert_int_equal(sparse_tensor_get(t, idx, &v), SPARSE_OK);
    assert_true(v == 7.5f);
    assert_true(sparse_tensor_data(t)[11] == 7.5f);
    size_t bad[2] = {3, 0};
    assert_int_equal(sparse_tensor_get(t, bad, &v), SPARSE_ERANGE);
    assert_int_equal(sparse_tensor_set(t, bad, 1.0f), SPARSE_ERANGE);
    sparse_tensor_free(t);
}

static void test_views_share_storage(void **state)
{
    (void)state;
    sparse_tensor *t, *r, *s, *c;
    size_t shape[2] = {4, 6};
    float data[24];
    for (int i = 0; i < 24; i++)
        data[i] = (float)i;
    assert_int_equal(sparse_tensor_from_data(&t, 2, shape, data), SPARSE_OK);
    size_t rs[3] = {2, 3, 4};
    assert_int_equal(sparse_tensor_reshape(&r, t, 3, rs), SPARSE_OK);
    size_t bad[2] = {5, 5};
    sparse_tensor *x;
    assert_int_equal(sparse_tensor_reshape(&x, t, 2, bad), SPARSE_ESHAPE);
    assert_int_equal(sparse_tensor_slice(&s, t, 1, 2, 3), SPARSE_OK);
    assert_false(sparse_tensor_is_contiguous(s));
    assert_int_equal(sparse_tensor_dim(s, 1), 3);
    size_t i1[2] = {1, 0};
    float v;
    assert_int_equal(sparse_tensor_get(s, i1, &v), SPARSE_OK);
    assert_true(v == 8.0f);
    /* Writes through a view are visible in the source. */
    assert_int_equal(sparse_tensor_set(s, i1, -1.0f), SPARSE_OK);
    assert_true(sparse_tensor_data(t)[8] == -1.0f);
    size_t r1[3] = {0, 2, 0};
    assert_int_equal(sparse_tensor_get(r, r1, &v), SPARSE_OK);
    assert_true(v == -1.0f);
    /* A non-contiguous view cannot be reshaped, but can be cloned. */
    assert_int_equal(sparse_tensor_reshape(&x, s, 1, (size_t[]){12}), SPARSE_ESHAPE);
    assert_int_equal(sparse_tensor_clone(&c, s), SPARSE_OK);
    assert_true(sparse_tensor_is_contiguous(c));
    assert_true(sparse_tensor_data(c)[3] == -1.0f);
    assert_true(sparse_tensor_data(c)[4] == 9.0f);
    /* Views outlive their source. */
    sparse_tensor_free(t);
    assert_int_equal(sparse_tensor_get(s, i1, &v), SPARSE_OK);
    assert_true(v == -1.0f);
    assert_int_equal(sparse_tensor_slice(&x, s, 1, 2, 2), SPARSE_ERANGE);
    assert_int_equal(sparse_tensor_slice(&x, s, 2, 0, 1), SPARSE_ERANGE);
    sparse_tensor_free(r);
    sparse_tensor_free(s);
    sparse_tensor_free(c);
}

static void test_copy_fill(void **state)
{
    (void)state;
    sparse_tensor *a, *b, *v;
    size_t shape[2] = {3, 3};
    assert_int_equal(sparse_tensor_create(&a, 2, shape), SPARSE_OK);
    assert_int_equal(sparse_tensor_create(&b, 2, shape), SPARSE_OK);
    assert_int_equal(sparse_tensor_fill(a, 2.0f), SPARSE_OK);
    assert_int_equal(sparse_tensor_copy(b, a), SPARSE_OK);
    assert_true(sparse_tensor_data(b)[8] == 2.0f);
    assert_int_equal(sparse_tensor_slice(&v, b, 0, 1, 1), SPARSE_OK);
    assert_int_equal(sparse_tensor_fill(v, 5.0f), SPARSE_OK);
    assert_true(sparse_tensor_data(b)[2] == 2.0f);
    assert_true(sparse_tensor_data(b)[3] == 5.0f);
    assert_true(sparse_tensor_data(b)[6] == 2.0f);
    assert_int_equal(sparse_tensor_copy(v, a), SPARSE_ESHAPE);
    sparse_tensor_free(a);
    sparse_tensor_free(b);
    sparse_tensor_free(v);
}

/* Every pointer argument is checked and named; the getters of a NULL
 * tensor or a dimension past the last say "none"; a copy between
 * overlapping views of one storage reads the source before writing. */
static void test_arguments(void **state)
{
    (void)state;
    sparse_tensor *t = NULL, *v = NULL;
    size_t shape[2] = {2, 3}, idx[2] = {0, 0};
    float f = 0.0f;
    EXPECT_NULL_ARG(sparse_tensor_create(NULL, 2, shape), "sparse_tensor_create", "out");
    EXPECT_NULL_ARG(sparse_tensor_create_nchw(NULL, 1, 1, 1, 1), "sparse_tensor_create_nchw", "out");
    EXPECT_NULL_ARG(sparse_tensor_from_data(NULL, 2, shape, &f), "sparse_tensor_from_data", "out");
    EXPECT_NULL_ARG(sparse_tensor_from_data(&t, 2, shape, NULL), "sparse_tensor_from_data", "data");
    assert_null(t);
    EXPECT_NULL_ARG(sparse_tensor_clone(NULL, t), "sparse_tensor_clone", "out");
    EXPECT_NULL_ARG(sparse_tensor_clone(&v, NULL), "sparse_tensor_clone", "t");
    assert_int_equal(sparse_tensor_create(&t, 2, shape), SPARSE_OK);
    EXPECT_NULL_ARG(sparse_tensor_shape(NULL, shape), "sparse_tensor_shape", "t");
    EXPECT_NULL_ARG(sparse_tensor_shape(t, NULL), "sparse_tensor_shape", "shape");
    EXPECT_NULL_ARG(sparse_tensor_get(NULL, idx, &f), "sparse_tensor_get", "t");
    EXPECT_NULL_ARG(sparse_tensor_get(t, NULL, &f), "sparse_tensor_get", "idx");
    EXPECT_NULL_ARG(sparse_tensor_get(t, idx, NULL), "sparse_tensor_get", "out");
    EXPECT_NULL_ARG(sparse_tensor_set(NULL, idx, 1.0f), "sparse_tensor_set", "t");
    EXPECT_NULL_ARG(sparse_tensor_set(t, NULL, 1.0f), "sparse_tensor_set", "idx");
    EXPECT_NULL_ARG(sparse_tensor_fill(NULL, 1.0f), "sparse_tensor_fill", "t");
    EXPECT_NULL_ARG(sparse_tensor_copy(NULL, t), "sparse_tensor_copy", "dst");
    EXPECT_NULL_ARG(sparse_tensor_copy(t, NULL), "sparse_tensor_copy", "src");
    EXPECT_NULL_ARG(sparse_tensor_reshape(NULL, t, 2, shape), "sparse_tensor_reshape", "out");
    EXPECT_NULL_ARG(sparse_tensor_reshape(&v, NULL, 2, shape), "sparse_tensor_reshape", "t");
    EXPECT_NULL_ARG(sparse_tensor_slice(NULL, t, 0, 0, 1), "sparse_tensor_slice", "out");
    EXPECT_NULL_ARG(sparse_tensor_slice(&v, NULL, 0, 0, 1), "sparse_tensor_slice", "t");
    EXPECT_ERROR(sparse_tensor_slice(&v, t, -1, 0, 1), SPARSE_ERANGE, "sparse_tensor_slice: dimension -1 of a 2-D");
    EXPECT_ERROR(sparse_tensor_slice(&v, t, 2, 0, 1), SPARSE_ERANGE, "dimension 2 of a 2-D tensor");
    EXPECT_ERROR(sparse_tensor_slice(&v, t, 1, 0, 0), SPARSE_ERANGE, "[0, 0+0) outside dimension 1 of size 3");
    EXPECT_ERROR(sparse_tensor_slice(&v, t, 1, 3, 1), SPARSE_ERANGE, "[3, 3+1) outside");
    EXPECT_ERROR(sparse_tensor_slice(&v, t, 1, 1, 3), SPARSE_ERANGE, "[1, 1+3) outside");
    size_t one[1] = {6}, five[1] = {5};
    EXPECT_ERROR(sparse_tensor_reshape(&v, t, 1, five), SPARSE_ESHAPE, "6 elements cannot become 5");
    size_t shape3[3] = {2, 3, 1};
    sparse_tensor *t3 = NULL;
    assert_int_equal(sparse_tensor_create(&t3, 3, shape3), SPARSE_OK);
    EXPECT_ERROR(sparse_tensor_copy(t, t3), SPARSE_ESHAPE, "sparse_tensor_copy: 2-D destination, 3-D source");
    sparse_tensor_free(t3);
    assert_null(v);

    assert_int_equal(sparse_tensor_dim_count(NULL), 0);
    assert_int_equal(sparse_tensor_dim(NULL, 0), 0);
    assert_int_equal(sparse_tensor_dim(t, -1), 0);
    assert_int_equal(sparse_tensor_dim(t, 2), 0);
    assert_int_equal(sparse_tensor_stride(NULL, 0), 0);
    assert_int_equal(sparse_tensor_stride(t, -1), 0);
    assert_int_equal(sparse_tensor_stride(t, 2), 0);
    assert_int_equal(sparse_tensor_element_count(NULL), 0);
    assert_int_equal(sparse_tensor_is_contiguous(NULL), 0);
    assert_null(sparse_tensor_data(NULL));
    assert_null(sparse_tensor_data_const(NULL));

    /* t = [[0 1 2] [3 4 5]]; copy t[:, 0:2] onto t[:, 1:3] (overlapping) */
    for (size_t j = 0; j < 6; j++)
        sparse_tensor_data(t)[j] = (float)j;
    sparse_tensor *a = NULL, *b = NULL;
    assert_int_equal(sparse_tensor_slice(&a, t, 1, 0, 2), SPARSE_OK);
    assert_int_equal(sparse_tensor_slice(&b, t, 1, 1, 2), SPARSE_OK);
    assert_int_equal(sparse_tensor_copy(b, a), SPARSE_OK);
    const float want[6] = {0, 0, 1, 3, 3, 4};
    assert_memory_equal(sparse_tensor_data(t), want, sizeof want);
    EXPECT_ERROR(sparse_tensor_reshape(&v, a, 1, (size_t[]){4}), SPARSE_ESHAPE, "non-contiguous view; clone it first");
    assert_int_equal(sparse_tensor_reshape(&v, t, 1, one), SPARSE_OK);
    assert_int_equal(sparse_tensor_dim(v, 0), 6);
    sparse_tensor_free(a);
    sparse_tensor_free(b);
    sparse_tensor_free(v);
    sparse_tensor_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_shape_strides), cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_get_set_bounds),       cmocka_unit_test(test_views_share_storage),
        cmocka_unit_test(test_copy_fill),            cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
