/*
 * Shared by the fuzz targets: each target defines LLVMFuzzerTestOneInput and
 * is built twice, with libFuzzer (clang, tools/fuzz.sh) and with
 * replay_main.c, which runs the checked-in corpus and every past crash
 * (tests/fuzz/regress/) in the ordinary suite under any compiler.
 *
 * Most loaders read files, so a target writes its input to a scratch file
 * first. The scratch directory is made once per process: test code may keep
 * this one piece of mutable state, the library may not.
 */
#ifndef SPARSE_FUZZ_H
#define SPARSE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Path of scratch file `name` in this process's scratch directory, holding
 * exactly data[0..size). Returns a static buffer, valid until the next call;
 * NULL if the file could not be written (the input is then skipped). */
const char *fuzz_write(const char *name, const void *data, size_t size);

/* The scratch directory itself (created on first use, removed at exit). */
const char *fuzz_dir(void);

#endif
