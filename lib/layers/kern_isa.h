/* What the kern_*.c files share inside one instruction-set variant (see
 * kern.h): the vector width, the variant's names, vector loads and stores.
 * Included only by those files, each compiled once per variant. */
#ifndef SPARSE_LAYERS_KERN_ISA_H
#define SPARSE_LAYERS_KERN_ISA_H

#include <string.h>

#include "kern.h"

#if defined(SPARSE_KERN_AVX512)
#define VL 16 /* floats per vector */
#define VARIANT(x) x##_avx512
#define KERN_NAME "avx512"
#elif defined(SPARSE_KERN_AVX2)
#define VL 8
#define VARIANT(x) x##_avx2
#define KERN_NAME "avx2"
#else
#define VL 4
#define VARIANT(x) x##_base
#define KERN_NAME "base"
#endif

#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))

typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

INLINE vf ld(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void st(float *p, vf v) { memcpy(p, &v, sizeof v); }

INLINE vi ldi(const int32_t *p)
{
    vi v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void sti(int32_t *p, vi v) { memcpy(p, &v, sizeof v); }

/* m ? a : b lane by lane, m all ones or all zeros per lane. */
INLINE vf sel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }

/* Sum of the lanes, pairwise (lane l + lane l + w, halving w): a fixed
 * order, and log2(VL) dependent adds instead of VL. */
INLINE float hsum(vf v)
{
    float a[VL];
    memcpy(a, &v, sizeof a);
    for (int w = VL / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            a[l] += a[l + w];
    return a[0];
}

/* Fill the kernel table's entries of one file. */
void VARIANT(sparse__kern_conv)(sparse__kern *k);
void VARIANT(sparse__kern_elem)(sparse__kern *k);
void VARIANT(sparse__kern_var)(sparse__kern *k);

#endif
