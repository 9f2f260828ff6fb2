/* The argument checks of the layers API (test_api_errors.c). */
#ifndef SPARSE_TESTS_LAYERS_API_ERRORS_H
#define SPARSE_TESTS_LAYERS_API_ERRORS_H

void test_arch_spec_errors(void **state);
void test_arch_api_errors(void **state);
void test_net_api_errors(void **state);
void test_train_api_errors(void **state);
void test_hooks_profiled_and_failing(void **state);

#endif
