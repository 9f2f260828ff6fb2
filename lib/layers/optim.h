/* Optimiser internals shared by train.c. */
#ifndef SPARSE_LAYERS_OPTIM_H
#define SPARSE_LAYERS_OPTIM_H

#include "layers_internal.h"

double sparse__lr_at(const sparse_train_options *o, size_t step, size_t total_steps, size_t epoch);
void sparse__optim_step(sparse_net *net, const sparse_train_options *o, double lr);

#endif
