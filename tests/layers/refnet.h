/* A naive double-precision reference of a sparse_net, built only from the
 * public introspection API: the finite-difference gradient checks use it,
 * so the reference shares no code with the kernels it checks. */
#ifndef TEST_REFNET_H
#define TEST_REFNET_H

#include <sparse/sparse.h>

typedef struct refnet refnet;

refnet *refnet_create(sparse_net *net);
void refnet_free(refnet *r);
/* Mean softmax cross-entropy of the double forward pass over x (N,C,H,W);
 * logits (N x classes) copied out when not NULL. Batch norm uses batch
 * statistics (training mode). */
double refnet_loss(refnet *r, const double *x, size_t n, const int32_t *labels, double smoothing,
                   double *logits);
/* Number of parameter tensors of node id; pointer to the double copy. */
double *refnet_param(refnet *r, size_t id, const char *name, size_t *numel);

#endif
