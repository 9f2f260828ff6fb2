/* The argument checks of the GP module's API (test_gp_api.c). */
#ifndef SPARSE_TESTS_GP_API_H
#define SPARSE_TESTS_GP_API_H

void test_space_api_errors(void **state);
void test_gp_api_errors(void **state);
void test_mobo_api_errors(void **state);
void test_pareto_api_errors(void **state);

#endif
