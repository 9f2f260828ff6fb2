/* Tests of the GP module in files of their own (test_gp_api.c: the
 * argument checks of the API; test_gp_schedule.c, test_gp_pathwise.c). */
#ifndef SPARSE_TESTS_GP_API_H
#define SPARSE_TESTS_GP_API_H

void test_space_api_errors(void **state);
void test_gp_api_errors(void **state);
void test_mobo_api_errors(void **state);
void test_pareto_api_errors(void **state);
/* test_gp_schedule.c */
void test_schedule_points(void **state);
void test_schedule_subset(void **state);
void test_schedule_resume(void **state);
void test_schedule_chain(void **state);
/* test_gp_pathwise.c */
void test_rff_approximates_kernel(void **state);
void test_rff_inactive_embedding(void **state);
void test_cross_kernel_by_gemm(void **state);
void test_believers_block_equals_each(void **state);
void test_pathwise_sample(void **state);
void test_mobo_pathwise_deterministic(void **state);

#endif
