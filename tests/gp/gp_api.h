/* Tests of the GP module in files of their own (test_gp_api.c: the
 * argument checks of the API; test_gp_schedule.c). */
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

#endif
