/* Hostile input for every reader (issue 21): special files where a file is
 * expected, inputs beyond the limits of sparse/limits.h, safetensors files
 * whose layout leaves bytes unaccounted for, and control bytes or invalid
 * UTF-8 quoted in messages. Each case must fail fast with a message naming
 * the file and the limit, before anything is allocated for the input; none
 * may block, read without end or print raw bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "core/internal.h"
#include "sparse/sparse.h"

static char dir[200];
static char path_buf[8][512];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sparse-inputs-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* DIR/name, in one of a few rotating buffers. */
static const char *at(const char *name)
{
    static int next;
    char *p = path_buf[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile f = gzopen(path, "wb9");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(f), Z_OK);
}

/* A file of size bytes that takes no space (a hole). */
static const char *sparse_file(const char *name, long long size)
{
    const char *p = at(name);
    write_file(p, NULL, 0);
    assert_int_equal(truncate(p, (off_t)size), 0);
    return p;
}

/* rc is code and the message holds every non-NULL part. */
static void expect(int rc, int code, const char *a, const char *b, const char *c)
{
    const char *msg = sparse_last_error();
    if (rc != code)
        fail_msg("rc %d, expected %d: %s", rc, code, msg);
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (parts[i] && !strstr(msg, parts[i]))
            fail_msg("message '%s' lacks '%s'", msg, parts[i]);
}

static const char tiny_arch[] = "input: [1, 2, 2]\nclasses: 2\nlayers:\n  - {type: fc, name: out, units: 2}\n";

static sparse_net *tiny_net(void)
{
    sparse_arch *a = NULL;
    sparse_net *net = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&a, tiny_arch, strlen(tiny_arch), "tiny.yaml"), SPARSE_OK);
    assert_int_equal(sparse_net_create(&net, a, 1, 1), SPARSE_OK);
    sparse_arch_free(a);
    return net;
}

/* Every reader of a file, by number: the result's code. */
enum { R_ARCH, R_WEIGHTS_ARCH, R_WEIGHTS, R_CONFIG, R_CSV, R_IDX_IMAGES, R_IDX_LABELS, R_COUNT };
static const char *const reader_names[R_COUNT] = {"architecture", "weights' architecture", "weights", "config",
                                                  "CSV", "IDX images", "IDX labels"};

static int read_as(int reader, const char *path)
{
    static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7};
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 1, 0};
    const char *img = at("ok-images"), *lab = at("ok-labels");
    write_file(img, images, sizeof images);
    write_file(lab, labels, sizeof labels);
    sparse_arch *a = NULL;
    sparse_search_config *c = NULL;
    sparse_dataset *ds = NULL;
    sparse_net *net = NULL;
    int rc;
    switch (reader) {
    case R_ARCH:
        rc = sparse_arch_load_yaml(&a, path);
        break;
    case R_WEIGHTS_ARCH:
        rc = sparse_net_load_arch(&a, path);
        break;
    case R_WEIGHTS:
        net = tiny_net();
        rc = sparse_net_load(net, path, 1);
        break;
    case R_CONFIG:
        rc = sparse_search_config_load(&c, path);
        break;
    case R_CSV:
        rc = sparse_dataset_load_csv(&ds, path, NULL);
        break;
    case R_IDX_IMAGES:
        rc = sparse_dataset_load_idx(&ds, path, lab);
        break;
    default:
        rc = sparse_dataset_load_idx(&ds, img, path);
        break;
    }
    sparse_arch_free(a);
    sparse_search_config_free(c);
    sparse_dataset_free(ds);
    sparse_net_free(net);
    return rc;
}

/* /dev/zero, a FIFO nobody writes to and a directory, given to every
 * reader: refused at once (before, /dev/zero grew memory to gigabytes and a
 * FIFO blocked forever). */
static void test_special_files(void **state)
{
    (void)state;
    const char *fifo = at("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char fifo_path[512], dir_path[512];
    snprintf(fifo_path, sizeof fifo_path, "%s", fifo);
    snprintf(dir_path, sizeof dir_path, "%s", dir);
    const char *files[3] = {"/dev/zero", fifo_path, dir_path};
    const char *kinds[3] = {"is a character device, not a regular file", "is a FIFO, not a regular file",
                            "is a directory, not a regular file"};
    for (int r = 0; r < R_COUNT; r++)
        for (int i = 0; i < 3; i++) {
            int rc = read_as(r, files[i]);
            if (rc != SPARSE_EIO || !strstr(sparse_last_error(), files[i]) ||
                !strstr(sparse_last_error(), kinds[i]))
                fail_msg("%s reader on %s: rc %d: %s", reader_names[r], files[i], rc, sparse_last_error());
        }
}

/* Files larger than their limit are refused from their size, unread. */
static void test_file_size_limits(void **state)
{
    (void)state;
    const char *text = sparse_file("big.yaml", SPARSE_MAX_TEXT_BYTES + 1LL);
    expect(read_as(R_ARCH, text), SPARSE_ERANGE, text, "more than the 16777216 allowed (SPARSE_MAX_TEXT_BYTES)",
           NULL);
    expect(read_as(R_CONFIG, text), SPARSE_ERANGE, text, "SPARSE_MAX_TEXT_BYTES", NULL);
    const char *csv = sparse_file("big.csv", SPARSE_MAX_CSV_BYTES + 1LL);
    expect(read_as(R_CSV, csv), SPARSE_ERANGE, csv, "SPARSE_MAX_CSV_BYTES", NULL);
    const char *st = sparse_file("big.safetensors", SPARSE_MAX_WEIGHTS_BYTES + 1LL);
    expect(read_as(R_WEIGHTS, st), SPARSE_ERANGE, st, "SPARSE_MAX_WEIGHTS_BYTES", NULL);
    expect(read_as(R_WEIGHTS_ARCH, st), SPARSE_ERANGE, st, "SPARSE_MAX_WEIGHTS_BYTES", NULL);
    /* A run's trials.jsonl: the run opens with the limit in its warning. */
    const char *run = at("run");
    assert_int_equal(mkdir(run, 0755), 0);
    char trials[600];
    snprintf(trials, sizeof trials, "%s/trials.jsonl", run);
    write_file(trials, NULL, 0);
    assert_int_equal(truncate(trials, (off_t)(SPARSE_MAX_RUN_FILE_BYTES + 1LL)), 0);
    sparse_run *r = NULL;
    expect(sparse_run_open(&r, run), SPARSE_ERANGE, trials, "SPARSE_MAX_RUN_FILE_BYTES", NULL);
    assert_null(r);
}

/* text as an architecture and as a search config. */
static void parse_both(const char *text, int code, const char *part)
{
    sparse_arch *a = NULL;
    expect(sparse_arch_parse_yaml(&a, text, strlen(text), "a.yaml"), code, "a.yaml", part, NULL);
    assert_null(a);
    sparse_search_config *c = NULL;
    expect(sparse_search_config_parse(&c, text, strlen(text), "c.yaml"), code, "c.yaml", part, NULL);
    assert_null(c);
}

/* Repeats unit n times after head and before tail (caller frees). */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

static void test_yaml_limits(void **state)
{
    (void)state;
    /* 100,000-deep brackets, a billion-laughs alias bomb, a second
     * document: refused by the one YAML reader for every file kind. */
    char *deep = repeat("input: ", "[", 100000, "");
    parse_both(deep, SPARSE_EFORMAT, "nested deeper than 64 levels (SPARSE_MAX_YAML_DEPTH)");
    free(deep);
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    parse_both(bomb, SPARSE_EFORMAT, "anchors and aliases are not supported");
    parse_both("seed: 1\n---\nseed: 2\n", SPARSE_EFORMAT, "only one document is allowed");
    /* A million and one nodes stop at the node limit. */
    char *wide = repeat("input: [", "0, ", (size_t)SPARSE_MAX_YAML_NODES, "0]\n");
    parse_both(wide, SPARSE_ERANGE, "more than 1048576 nodes (SPARSE_MAX_YAML_NODES)");
    free(wide);
}

static void test_arch_limits(void **state)
{
    (void)state;
    sparse_arch *a = NULL;
    char *many = repeat("input: [1, 4, 4]\nclasses: 2\nlayers:\n", "  - {type: relu}\n", SPARSE_MAX_LAYERS + 1, "");
    expect(sparse_arch_parse_yaml(&a, many, strlen(many), "many.yaml"), SPARSE_ERANGE,
           "many.yaml:4:3: layers: 4097 layers, more than 4096 (SPARSE_MAX_LAYERS)", NULL, NULL);
    assert_null(a);
    /* The limit itself is accepted. */
    many[strlen(many) - strlen("  - {type: relu}\n")] = '\0';
    assert_int_equal(sparse_arch_parse_yaml(&a, many, strlen(many), "many.yaml"), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(a), SPARSE_MAX_LAYERS);
    sparse_arch_free(a);
    free(many);
    const char *ch = "input: [65537, 1, 1]\nlayers: []\n";
    expect(sparse_arch_parse_yaml(&a, ch, strlen(ch), "ch.yaml"), SPARSE_ERANGE, "ch.yaml:1:9",
           "SPARSE_MAX_CHANNELS", NULL);
    const char *side = "input: [1, 1, 70000]\nlayers: []\n";
    expect(sparse_arch_parse_yaml(&a, side, strlen(side), "side.yaml"), SPARSE_ERANGE, "side.yaml:1:15",
           "SPARSE_MAX_IMAGE_SIDE", NULL);
    const char *big = "input: [3, 4096, 4096]\nlayers: []\n";
    expect(sparse_arch_parse_yaml(&a, big, strlen(big), "big.yaml"), SPARSE_ERANGE,
           "big.yaml:1:8: input: 3x4096x4096 is more than 16777216 values per image (SPARSE_MAX_IMAGE_VALUES)",
           NULL, NULL);
    assert_null(a);
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX image header of n images of h x w (no pixels) and a labels file
 * of n items (no labels), raw or gzip. */
static void idx_headers(const char *img, const char *lab, uint32_t n, uint32_t h, uint32_t w, int gz)
{
    unsigned char hi[16] = {0, 0, 8, 3}, hl[8] = {0, 0, 8, 1};
    be32(hi + 4, n);
    be32(hi + 8, h);
    be32(hi + 12, w);
    be32(hl + 4, n);
    if (gz) {
        write_gz(img, hi, sizeof hi);
        write_gz(lab, hl, sizeof hl);
    } else {
        write_file(img, hi, sizeof hi);
        write_file(lab, hl, sizeof hl);
    }
}

static void test_idx_limits(void **state)
{
    (void)state;
    const char *img = at("l-images"), *lab = at("l-labels");
    sparse_dataset *ds = NULL;
    for (int gz = 0; gz < 2; gz++) {
        idx_headers(img, lab, 1u << 31, 1u << 31, 1u << 31, gz);
        expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_ERANGE, img,
               "byte offset 4: 2147483648 images, more than 16777216 (SPARSE_MAX_ITEMS)", NULL);
        idx_headers(img, lab, 4, 1, 70000, gz);
        expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_ERANGE, img, "byte offset 8: images of 1x70000",
               "SPARSE_MAX_IMAGE_SIDE");
        idx_headers(img, lab, 4, 8192, 4096, gz);
        expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_ERANGE, img, "SPARSE_MAX_IMAGE_VALUES", NULL);
        idx_headers(img, lab, 1u << 24, 256, 256, gz);
        expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_ERANGE, img,
               "16777216 images of 256x256x1 are 1099511627776 values, more than 2147483648 (SPARSE_MAX_DATA_VALUES)",
               NULL);
        assert_null(ds);
    }
    /* A plain file shorter than its header says: refused from its size,
     * before a pixel is read or a byte allocated for them. */
    idx_headers(img, lab, 1u << 20, 16, 16, 0);
    expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_EFORMAT, img,
           "byte offset 16: file is truncated: the header implies 268435472 bytes", NULL);
    /* A gzip bomb: 4 images declared, 64 MiB of zeros after them. The
     * reader stops at the first byte past the declared data. */
    size_t len = 16 + 4 * 6 + ((size_t)64 << 20);
    unsigned char *bomb = calloc(1, len);
    assert_non_null(bomb);
    memcpy(bomb, (unsigned char[]){0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3}, 16);
    write_gz(img, bomb, len);
    free(bomb);
    write_file(lab, (unsigned char[]){0, 0, 8, 1, 0, 0, 0, 4, 0, 1, 0, 1}, 12);
    expect(sparse_dataset_load_idx(&ds, img, lab), SPARSE_EFORMAT, img,
           "byte offset 40 (decompressed): unexpected data after the end of the IDX data", NULL);
    assert_null(ds);
}

static void test_csv_limits(void **state)
{
    (void)state;
    /* One row of 2^24 + 2 fields: refused from the comma count, before a
     * cell is stored. */
    char *wide = repeat("1", ",0", (size_t)SPARSE_MAX_CSV_COLUMNS, "\n");
    const char *csv = at("wide.csv");
    write_file(csv, wide, strlen(wide));
    free(wide);
    sparse_dataset *ds = NULL;
    expect(sparse_dataset_load_csv(&ds, csv, NULL), SPARSE_ERANGE, csv,
           ":1: 16777218 fields, more than 16777217 (SPARSE_MAX_CSV_COLUMNS)", NULL);
    assert_null(ds);
}

/* A safetensors file: header (padded to 8 bytes) and data. */
static void write_st(const char *path, const char *header, const void *data, size_t len)
{
    size_t hl = (strlen(header) + 7) / 8 * 8;
    unsigned char *b = calloc(1, 8 + hl + len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memset(b + 8, ' ', hl);
    memcpy(b + 8, header, strlen(header));
    if (len)
        memcpy(b + 8 + hl, data, len);
    write_file(path, b, 8 + hl + len);
    free(b);
}

#define W(a, b) "\"out.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[" #a "," #b "]}"
#define B(a, b) "\"out.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #a "," #b "]}"

/* The note of the last load_st. */
static char last_note[400];

/* Loads header + len bytes of data into a tiny network. */
static int load_st(const char *header, size_t len, int allow_extra)
{
    float data[16];
    for (int i = 0; i < 16; i++)
        data[i] = (float)i;
    const char *p = at("t.safetensors");
    write_st(p, header, data, len);
    sparse_net *net = tiny_net();
    int rc = sparse_net_load(net, p, allow_extra);
    snprintf(last_note, sizeof last_note, "%s", sparse_net_load_note(net));
    sparse_net_free(net);
    return rc;
}

/* Each field of a tensor entry checked, naming file, tensor and what is
 * wrong with it. */
static void test_safetensors_entries(void **state)
{
    (void)state;
    const char *p = at("t.safetensors");
    static const struct {
        const char *entry, *why;
        int code;
    } cases[] = {
        {"5", "tensor 'out.weight' is not an object", SPARSE_EFORMAT},
        {"{\"shape\":[2,4],\"data_offsets\":[0,32]}", "tensor 'out.weight' has dtype (missing)", SPARSE_EFORMAT},
        {"{\"dtype\":7,\"shape\":[2,4],\"data_offsets\":[0,32]}", "has dtype 7, only F32", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"data_offsets\":[0,32]}", "tensor 'out.weight' has no shape list", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":8,\"data_offsets\":[0,32]}", "has no shape list", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,4]}", "tensor 'out.weight' needs data_offsets [begin, end]", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0]}", "needs data_offsets", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[1,1,1,2,4],\"data_offsets\":[0,32]}", "has 5 dimensions, at most 4",
         SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,-4],\"data_offsets\":[0,32]}", "has a bad dimension 1", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,\"4x\"],\"data_offsets\":[0,32]}", "has a bad dimension 1", SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,\"x\"]}", "has non-integer data_offsets",
         SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[32,0]}", "data_offsets [32, 0] fall outside the 40",
         SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,48]}", "data_offsets [0, 48] fall outside",
         SPARSE_EFORMAT},
        {"{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,32]}", "has 32 bytes for 6 F32 values",
         SPARSE_EFORMAT},
    };
    char header[400];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(header, sizeof header, "{\"out.weight\":%s," B(32, 40) "}", cases[i].entry);
        expect(load_st(header, 40, 0), cases[i].code, p, cases[i].why, NULL);
    }
    expect(load_st("[1, 2]", 0, 0), SPARSE_EFORMAT, p, "header must be a JSON object", NULL);
}

static void test_safetensors_layout(void **state)
{
    (void)state;
    const char *p = at("t.safetensors");
    /* Valid, in any order: no note. */
    for (int extra = 0; extra < 2; extra++) {
        expect(load_st("{" W(0, 32) "," B(32, 40) "}", 40, extra), SPARSE_OK, NULL, NULL, NULL);
        assert_string_equal(last_note, "");
        expect(load_st("{" B(0, 8) "," W(8, 40) "}", 40, extra), SPARSE_OK, NULL, NULL, NULL);
        assert_string_equal(last_note, "");
    }
    for (int extra = 0; extra < 2; extra++) {
        /* Trailing bytes after the data (accepted before). */
        expect(load_st("{" W(0, 32) "," B(32, 40) "}", 44, extra), SPARSE_EFORMAT, p,
               "4 bytes after the last tensor's data belong to no tensor", NULL);
        /* A hole between tensors, and two tensors on the same bytes. */
        expect(load_st("{" W(0, 32) "," B(36, 44) "}", 44, extra), SPARSE_EFORMAT, p,
               "data bytes 32..35 before tensor 'out.bias' belong to no tensor", NULL);
        expect(load_st("{" W(0, 32) "," B(24, 32) "}", 32, extra), SPARSE_EFORMAT, p,
               "tensors 'out.weight' and 'out.bias' share data bytes", NULL);
        /* A name twice, standing in for a missing one (loaded before,
         * leaving out.bias as it was). */
        expect(load_st("{" W(0, 32) "," W(32, 64) "}", 64, extra), SPARSE_EFORMAT, p,
               "tensor 'out.weight' appears twice", NULL);
        expect(load_st("{" W(0, 32) "}", 32, extra), SPARSE_ENOTFOUND, p, "tensor 'out.bias' is missing", NULL);
        /* A tensor beyond the limit. */
        expect(load_st("{" W(0, 32) "," B(32, 40) ",\"x\":{\"dtype\":\"F32\",\"shape\":[32768,32768],"
                       "\"data_offsets\":[40,40]}}",
                       40, extra),
               SPARSE_ERANGE, p, "tensor 'x' has more than 536870912 values (SPARSE_MAX_TENSOR_VALUES)", NULL);
    }
    /* A tensor the network does not have: refused in strict mode, ignored
     * with a note naming it in lenient mode. */
    const char *extra = "{" W(0, 32) "," B(32, 40) ",\"c1.log_sigma2\":{\"dtype\":\"F32\",\"shape\":[1],"
                        "\"data_offsets\":[40,44]}}";
    expect(load_st(extra, 44, 0), SPARSE_EFORMAT, p, "tensor 'c1.log_sigma2' does not belong to this network",
           NULL);
    assert_int_equal(load_st(extra, 44, 1), SPARSE_OK);
    if (!strstr(last_note, p) || !strstr(last_note, "ignored 1 tensor the network does not have (c1.log_sigma2)"))
        fail_msg("note '%s'", last_note);
    /* A header length of 2^63, and one just above the format's limit. */
    unsigned char huge[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    write_file(p, huge, sizeof huge);
    sparse_net *net = tiny_net();
    expect(sparse_net_load(net, p, 0), SPARSE_EFORMAT, p, "header length 9223372036854775808 does not fit", NULL);
    const char *big = sparse_file("big-header.safetensors", SPARSE_MAX_SAFETENSORS_HEADER + 16L);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)(SPARSE_MAX_SAFETENSORS_HEADER + 8L) >> (8 * i));
    FILE *f = fopen(big, "r+b");
    assert_non_null(f);
    assert_int_equal(fwrite(len8, 1, 8, f), 8);
    assert_int_equal(fclose(f), 0);
    expect(sparse_net_load(net, big, 0), SPARSE_ERANGE, big, "SPARSE_MAX_SAFETENSORS_HEADER", NULL);
    sparse_net_free(net);
}

static void expect_escaped(const char *in, const char *out)
{
    char buf[256];
    sparse__escape(buf, sizeof buf, in);
    assert_string_equal(buf, out);
}

static void test_escape(void **state)
{
    (void)state;
    expect_escaped("plain text: 1, 2", "plain text: 1, 2");
    expect_escaped("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80");
    expect_escaped("\x1b[31mred\x1b]0;title\x07", "\\x1b[31mred\\x1b]0;title\\x07");
    expect_escaped("tab\tnl\ncr\rdel\x7f", "tab\\x09nl\\x0acr\\x0ddel\\x7f");
    expect_escaped("c1 \xc2\x9b" "2J", "c1 \\xc2\\x9b2J");                 /* CSI as a C1 control */
    expect_escaped("\xff\xfe\x80", "\\xff\\xfe\\x80");                     /* not UTF-8 */
    expect_escaped("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80", "\\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80");
    expect_escaped("cut \xe2\x86", "cut \\xe2\\x86");                      /* a sequence cut short */
    /* A short buffer never holds half a character or half an escape. */
    char buf[8];
    assert_int_equal(sparse__escape(buf, sizeof buf, "ab\x1b\x1b"), 6);
    assert_string_equal(buf, "ab\\x1b");
    assert_int_equal(sparse__escape(buf, 7, "abcde\xc3\xa9"), 5);
    assert_string_equal(buf, "abcde");
}

/* No byte of msg is a control byte. */
static void assert_printable(const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            fail_msg("control byte 0x%02x in message '%s'", *p, msg);
}

/* Messages quoting a file's bytes print them escaped (they were printed
 * raw: a CSV cell could recolour the terminal or set its title). */
static void test_messages_escaped(void **state)
{
    (void)state;
    const char *csv = at("esc.csv");
    const char *cells = "label,a,b\n1,0,0\n2,\x1b[2J\x1b]0;pwned\x07,0\n";
    write_file(csv, cells, strlen(cells));
    sparse_dataset *ds = NULL;
    expect(sparse_dataset_load_csv(&ds, csv, NULL), SPARSE_EFORMAT, csv,
           ":3:3: pixel is not a number: '\\x1b[2J\\x1b]0;pwned\\x07'", NULL);
    assert_printable(sparse_last_error());
    write_file(csv, "1,0\n\xff\xfe,0\n", 9);
    expect(sparse_dataset_load_csv(&ds, csv, NULL), SPARSE_EFORMAT, csv, "'\\xff\\xfe'", NULL);
    /* YAML: a double-quoted scalar may spell any control byte. */
    const char *yaml = "input: [1, 4, 4]\nlayers:\n  - {type: \"\\e[2Jcaf\\u00e9\"}\n";
    sparse_arch *a = NULL;
    expect(sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "e.yaml"), SPARSE_EFORMAT,
           "unknown layer type '\\x1b[2Jcaf\xc3\xa9'", NULL, NULL);
    assert_printable(sparse_last_error());
    /* A path is input too, and a prefix added on the way up. */
    expect(sparse_arch_load_yaml(&a, at("no\x1b[1msuch.yaml")), SPARSE_EIO, "no\\x1b[1msuch.yaml", NULL, NULL);
    sparse__error_prefix(SPARSE_EIO, "while reading \x1b[0m%s", "x");
    assert_printable(sparse_last_error());
    assert_non_null(strstr(sparse_last_error(), "while reading \\x1b[0mx: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_files),   cmocka_unit_test(test_file_size_limits),
        cmocka_unit_test(test_yaml_limits),     cmocka_unit_test(test_arch_limits),
        cmocka_unit_test(test_idx_limits),      cmocka_unit_test(test_csv_limits),
        cmocka_unit_test(test_safetensors_entries),
        cmocka_unit_test(test_safetensors_layout), cmocka_unit_test(test_escape),
        cmocka_unit_test(test_messages_escaped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
