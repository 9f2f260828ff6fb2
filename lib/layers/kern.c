/* Picking a kernel variant (kern.h) and the weight layout they share. */
#include "kern.h"

/* Each variant's files fill their entries of the table (kern_isa.h). */
#define VARIANT_FILLERS(v)                                                                                   \
    void sparse__kern_conv_##v(sparse__kern *k);                                                             \
    void sparse__kern_elem_##v(sparse__kern *k);                                                             \
    void sparse__kern_var_##v(sparse__kern *k);                                                              \
    static void fill_##v(sparse__kern *k)                                                                    \
    {                                                                                                        \
        sparse__kern_conv_##v(k);                                                                            \
        sparse__kern_elem_##v(k);                                                                            \
        sparse__kern_var_##v(k);                                                                             \
    }
VARIANT_FILLERS(base)
#if defined(SPARSE_KERN_X86)
VARIANT_FILLERS(avx2)
VARIANT_FILLERS(avx512)
#endif

size_t sparse__kern_variants(sparse__kern *out, size_t cap)
{
    size_t n = 0;
#if defined(SPARSE_KERN_X86)
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && n < cap)
        fill_avx512(&out[n++]);
    if (avx2 && n < cap)
        fill_avx2(&out[n++]);
#endif
    if (n < cap)
        fill_base(&out[n++]);
    return n;
}

void sparse__kern_select(sparse__kern *k) { sparse__kern_variants(k, 1); }

size_t sparse__conv_blocks(size_t cout, size_t cblock) { return (cout + cblock - 1) / cblock; }

void sparse__conv_block(size_t cout, size_t cblock, size_t b, size_t *first, size_t *size)
{
    const size_t nb = sparse__conv_blocks(cout, cblock);
    *first = b * cout / nb;
    *size = (b + 1) * cout / nb - *first;
}

void sparse__conv_pack(const float *w, size_t cout, size_t cin, size_t k, size_t cblock, int flip, float *wpk)
{
    /* flip: a (cin, cout) convolution whose tap (ky, kx) is (k-1-ky, k-1-kx) */
    const size_t rows = flip ? cin : cout, cols = flip ? cout : cin, kk = k * k, T = cols * kk;
    for (size_t b = 0; b < sparse__conv_blocks(rows, cblock); b++) {
        size_t r0, rb;
        sparse__conv_block(rows, cblock, b, &r0, &rb);
        float *dst = wpk + r0 * T;
        for (size_t t = 0; t < T; t++)
            for (size_t r = 0; r < rb; r++) {
                const size_t col = t / kk, tap = t % kk;
                *dst++ = flip ? w[((col * cin) + r0 + r) * kk + (kk - 1 - tap)] : w[(r0 + r) * T + t];
            }
    }
}
