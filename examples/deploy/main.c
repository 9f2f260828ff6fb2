/*
 * A minimal firmware around a model exported by `sparsenas export`: it reads
 * int8 images (PREFIX_INPUT_SIZE bytes each, (C, H, W) order, already
 * quantised) from a file, runs the model on each, prints each label, and
 * writes the label and the logits of every image to a results file.
 *
 *   fw [IMAGES.bin [RESULTS.bin]]      (defaults images.bin, results.bin)
 *
 * Built with these definitions (the model's prefix, and its upper-case form
 * that starts its macros):
 *   -DSPARSE_MODEL=mnist -DSPARSE_MODEL_UPPER=MNIST -DSPARSE_MODEL_HEADER='"mnist.h"'
 *
 * On a Cortex-M (with startup.c and board.ld, under qemu or a debugger: the
 * files are the host's, through semihosting) it also measures one inference:
 * the stack it uses (the stack below main's is painted before each
 * inference and the lowest overwritten word found after it) and its
 * duration in SysTick ticks, with a known loop timed the same way so the
 * ticks can be converted to instructions (exact under qemu -icount). On a
 * host it builds with any C99 compiler and reports no measurements.
 *
 * Adapting it to a real board: replace the file reads by the sensor, keep
 * the call to PREFIX_run and the argmax.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if !defined(SPARSE_MODEL) || !defined(SPARSE_MODEL_UPPER) || !defined(SPARSE_MODEL_HEADER)
#error "define SPARSE_MODEL, SPARSE_MODEL_UPPER and SPARSE_MODEL_HEADER (see the comment above)"
#endif
#include SPARSE_MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL(name) CAT(SPARSE_MODEL, name)
#define MODEL_MACRO(name) CAT(SPARSE_MODEL_UPPER, name)
#define INPUT_SIZE MODEL_MACRO(_INPUT_SIZE)
#define NUM_CLASSES MODEL_MACRO(_NUM_CLASSES)

#if defined(__arm__)
/* SysTick: a 24-bit down-counter clocked by the core. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TICKS_BETWEEN(a, b) (((a) - (b)) & 0xFFFFFFu)
/* The stack below main's that is painted before each inference. */
#define PAINT_WORDS 4096u
#define PAINT 0x5AA55AA5u
#define CALIBRATION_LOOPS 100000u

/* Ticks of a loop of 2 * CALIBRATION_LOOPS instructions (subs, bne). */
static uint32_t calibrate(void)
{
    uint32_t n = CALIBRATION_LOOPS;
    uint32_t a = SYST_CVR;
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
    return TICKS_BETWEEN(a, SYST_CVR);
}
#endif

static int argmax(const int8_t *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    static int8_t image[INPUT_SIZE];
    int8_t logits[NUM_CLASSES];
    const char *in_path = argc > 1 ? argv[1] : "images.bin";
    const char *out_path = argc > 2 ? argv[2] : "results.bin";
    FILE *in = fopen(in_path, "rb");
    FILE *out = fopen(out_path, "wb");
    if (!in || !out) {
        printf("cannot open %s or %s\n", in_path, out_path);
        return 2;
    }
    unsigned long n = 0;
#if defined(__arm__)
    unsigned long long ticks = 0;
    unsigned long ticks_max = 0, stack_max = 0;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5; /* enabled, core clock, no interrupt */
    const uint32_t cal = calibrate();
#endif
    while (fread(image, 1, sizeof image, in) == sizeof image) {
#if defined(__arm__)
        /* Paint the stack below this frame; nothing is pushed until the call. */
        uint32_t *sp;
        __asm__ volatile("mov %0, sp" : "=r"(sp));
        for (uint32_t *p = sp - PAINT_WORDS; p < sp; p++)
            *p = PAINT;
        const uint32_t t0 = SYST_CVR;
        MODEL(_run)(image, logits);
        const uint32_t t = TICKS_BETWEEN(t0, SYST_CVR);
        uint32_t *low = sp - PAINT_WORDS;
        while (low < sp && *low == PAINT)
            low++;
        const unsigned long used = (unsigned long)((sp - low) * sizeof *sp);
        ticks += t;
        ticks_max = t > ticks_max ? t : ticks_max;
        stack_max = used > stack_max ? used : stack_max;
#else
        MODEL(_run)(image, logits);
#endif
        const int label = argmax(logits, NUM_CLASSES);
        printf("%lu %d\n", n, label);
        fputc(label, out);
        fwrite(logits, 1, sizeof logits, out);
        n++;
    }
    int bad = ferror(in) || ferror(out);
    bad |= fclose(out) != 0;
    fclose(in);
    printf("# images %lu\n", n);
#if defined(__arm__)
    printf("# ticks %llu max %lu\n", ticks, ticks_max);
    printf("# calibration %lu instructions %lu ticks\n", 2ul * CALIBRATION_LOOPS, (unsigned long)cal);
    printf("# stack %lu of %lu painted\n", stack_max, (unsigned long)(PAINT_WORDS * 4u));
#endif
    return bad ? 3 : 0;
}
