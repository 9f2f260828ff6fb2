/* What the parts of test_dataset share: small IDX files written into the
 * scratch directory (data_files.h) and the check of a failed call. */
#ifndef SPARSE_TESTS_DATASET_FIXTURE_H
#define SPARSE_TESTS_DATASET_FIXTURE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Debian 12's cmocka predates assert_double_equal. */
#define assert_near(a, b, eps)                                                   \
    do {                                                                         \
        double a_ = (double)(a), b_ = (double)(b);                               \
        if (!(fabs(a_ - b_) <= (double)(eps)))                                    \
            fail_msg("%s = %.9g, expected %.9g", #a, a_, b_);                    \
    } while (0)

/* tmpdir/name into buf (512 bytes); returns buf. */
char *path_of(char *buf, const char *name);
/* An IDX image file of n images of h x w into buf (image i, pixel j has
 * value (i * 7 + j * 3) % 256); its length. */
size_t make_images(unsigned char *buf, uint32_t n, uint32_t h, uint32_t w);
/* An IDX label file of n labels into buf (label i % classes); its length. */
size_t make_labels(unsigned char *buf, uint32_t n, uint32_t classes);
/* make_images and make_labels into the files img and lab. */
void write_idx_pair(const char *img, const char *lab, uint32_t n, uint32_t h, uint32_t w, uint32_t classes,
                    int gz);
/* s into path (replacing it). */
void write_text(const char *path, const char *s);
/* rc is code and the message holds s1 and s2 (NULL: no check). */
void expect_error(int rc, int code, const char *s1, const char *s2);

#endif
