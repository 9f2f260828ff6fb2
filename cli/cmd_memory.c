/* `sparsenas memory`: the memory figures of an architecture (docs/memory.md). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct memory_args {
    const char *arch, *weights;
    int scratch, json, input_downsampling;
    cli_data data;
    long images;
} memory_args;

/* Activation sparsity over validation images (--data), or NULL. */
typedef struct sparsity {
    double *mean;
    uint64_t *max;
    size_t images;
    const char *split;
} sparsity;

#define F(m) offsetof(memory_args, m)
static const cli_choice scratch_models[] = {{"im2col", SPARSE_SCRATCH_IM2COL},
                                            {"cmsis", SPARSE_SCRATCH_IM2COL_2COL},
                                            {"none", SPARSE_SCRATCH_NONE},
                                            {NULL, 0}};
static const cli_choice downsampling_modes[] = {{"network", SPARSE_INPUT_DOWNSAMPLING_NETWORK},
                                                {"acquisition", SPARSE_INPUT_DOWNSAMPLING_ACQUISITION},
                                                {NULL, 0}};
static const cli_opt memory_opts[] = {
    CLI_OPT_STRING("weights", "W.safetensors", F(weights),
                   "count non-zeros of these trained or pruned weights; without it\n"
                   "every weight counts as non-zero (dense figures)"),
    CLI_OPT_CHOICE("scratch", "MODEL", F(scratch), scratch_models, "im2col",
                   "arena scratch buffers: im2col (full im2col), cmsis (CMSIS-NN's\n"
                   "two columns) or none"),
    CLI_OPT_CHOICE("input-downsampling", "MODE", F(input_downsampling), downsampling_modes, "network",
                   "network: input downsampling is a layer reading the raw image;\n"
                   "acquisition: the sensor delivers the downsampled image (x_0), the\n"
                   "downsampling costs nothing (the paper's reading)"),
    CLI_OPT_FLAG("json", F(json), "print the report as one JSON object"),
    CLI_SECTION_TEXT("Activation sparsity (a report beside the figures, not an objective):"),
    CLI_DATA_OPTS(memory_args, data),
    CLI_OPT_LONG("seed", "S", F(data.seed), 0, 2147483647L, "0", "CSV split seed, as given to 'sparsenas train'"),
    CLI_OPT_LONG("images", "N", F(images), 0, 2147483647L, "0",
                 "validation images to run (0 = all); per layer the mean and maximum\n"
                 "non-zeros of x_l (the paper's ||x_l||_0 read literally) are shown\n"
                 "next to the dense count"),
    {0},
};
static const cli_spec memory_spec = {
    .name = "memory", .opts = memory_opts, .args = {F(arch)}, .n_args = 1,
    .usage =
        "Usage: sparsenas memory ARCH.yaml [--weights W.safetensors] [--json] [--scratch MODEL]\n"
        "                    [--input-downsampling network|acquisition] [--data SPEC [--images N]]\n"
        "       sparsenas memory --weights W.safetensors [...]   (architecture stored in W)\n\n"
        "Prints the memory figures of a network deployed at int8 (docs/memory.md): per layer the\n"
        "input, output and weight counts, WM5, WM6 and arena, then the totals. Batch norm is folded\n"
        "into the conv before it and ReLU runs in place, so neither is a layer.\n\n"
        "The paper's figures (Fedorov et al. 2019): model size MS (eq. 4), working memory WM5\n"
        "(eq. 5) and WM6 (eq. 6). Beyond the paper, labelled as such: deploy flash (what the int8\n"
        "export stores on a 32-bit Cortex-M besides code: weights in the cheapest of dense, bitmask or\n"
        "CSR form, biases, requantisation constants, step tables) and the peak RAM of a planned\n"
        "tensor arena.\n",
};

static uint64_t field(const sparse_memreport *r, size_t id, int f)
{
    uint64_t v = 0;
    (void)sparse_memreport_node_value(r, id, f, &v);
    return v;
}

static const char *flash_format_name(uint64_t f)
{
    switch (f) {
    case SPARSE_FLASH_DENSE: return "dense";
    case SPARSE_FLASH_BITMASK: return "bitmask";
    case SPARSE_FLASH_CSR: return "csr";
    default: return "-";
    }
}

static const char *node_name(const sparse_memreport *r, size_t id)
{
    const char *s = NULL;
    return sparse_memreport_node_name(r, id, &s) ? "?" : s;
}

static void print_table(const sparse_memreport *r, const char *arch_path, const char *weights,
                        const char *scratch, const sparsity *sp)
{
    const size_t n = sparse_memreport_node_count(r);
    printf("%s (%s, int8: 1 B per weight and activation)\n\n", arch_path,
           weights ? weights : "no weights: dense counts");
    printf("%-14s %-10s %8s %8s %8s %8s %8s %8s | %8s %-7s %8s", "layer", "kind", "x_l", "y_l",
           "weights", "nonzero", "WM5", "WM6", "flash*", "format*", "arena*");
    printf(sp->mean ? " | %9s %7s\n" : "\n", "nz(x) avg", "max");
    for (size_t i = 0; i < n; i++) {
        if (!field(r, i, SPARSE_MEMFIELD_IS_LAYER))
            continue;
        int kind = 0;
        (void)sparse_memreport_node_kind(r, i, &kind);
        printf("%-14s %-10s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
               " | %8" PRIu64 " %-7s %8" PRIu64,
               node_name(r, i), sparse_memnode_kind_name(kind), field(r, i, SPARSE_MEMFIELD_X),
               field(r, i, SPARSE_MEMFIELD_Y), field(r, i, SPARSE_MEMFIELD_WEIGHTS),
               field(r, i, SPARSE_MEMFIELD_NONZEROS), field(r, i, SPARSE_MEMFIELD_WM5),
               field(r, i, SPARSE_MEMFIELD_WM6), field(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH),
               flash_format_name(field(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT)),
               field(r, i, SPARSE_MEMFIELD_DEPLOY_ARENA));
        if (sp->mean)
            printf(" | %9.1f %7" PRIu64, sp->mean[i], sp->max[i]);
        printf("\n");
    }
    uint64_t ms = 0, wm5 = 0, wm6 = 0, flash = 0, arena = 0, lb = 0;
    size_t at5 = 0, at6 = 0;
    (void)sparse_memreport_ms_bytes(r, &ms);
    (void)sparse_memreport_wm_bytes(r, 5, &wm5, &at5);
    (void)sparse_memreport_wm_bytes(r, 6, &wm6, &at6);
    (void)sparse_memreport_deploy_flash_bytes(r, &flash);
    (void)sparse_memreport_deploy_arena_bytes(r, &arena, &lb);
    printf("(* beyond the paper)\n");
    for (size_t i = 0; i < n; i++)
        if (field(r, i, SPARSE_MEMFIELD_ACQUIRED))
            printf("%s: input downsampling %" PRIu64 " -> %" PRIu64 " values, counted as data acquisition "
                   "(not a layer: the network's input is its output)\n",
                   node_name(r, i), field(r, i, SPARSE_MEMFIELD_X), field(r, i, SPARSE_MEMFIELD_Y));
    if (sp->mean)
        printf("nz(x): non-zero values of x_l (after ReLU, in float) over %zu %s images, mean and maximum;\n"
               "the paper's ||x_l||_0 read literally, where x_l counts every value\n",
               sp->images, sp->split);
    printf("\n");
    printf("Paper figures (Fedorov et al. 2019, section 3.2):\n");
    printf("  MS   model size, eq. (4)       %10" PRIu64 " B  (%.2f KB)\n", ms, (double)ms / 1024.0);
    printf("  WM5  working memory, eq. (5)   %10" PRIu64 " B  (%.2f KB) at %s\n", wm5,
           (double)wm5 / 1024.0, node_name(r, at5));
    printf("  WM6  working memory, eq. (6)   %10" PRIu64 " B  (%.2f KB) at %s\n", wm6,
           (double)wm6 / 1024.0, node_name(r, at6));
    printf("Beyond the paper (int8 deployment estimate, not the paper's objectives):\n");
    printf("  deploy flash                   %10" PRIu64 " B  (%.2f KB) weights in cheapest format, "
           "constants, step tables\n",
           flash, (double)flash / 1024.0);
    printf("  deploy arena (peak RAM)        %10" PRIu64 " B  (%.2f KB) scratch %s, lower bound %" PRIu64
           " B\n",
           arena, (double)arena / 1024.0, scratch, lb);
}

static const char *scratch_name(int model)
{
    for (const cli_choice *c = scratch_models; c->name; c++)
        if (c->value == model)
            return c->name;
    return "?";
}

/* Runs the network on the validation images (the test images if there are
 * none) and fills sp. */
static int measure_sparsity(const memory_args *a, const sparse_memreport *r, sparse_net *net, sparsity *sp)
{
    cli_splits s = {0};
    int status = cli_open_data(&a->data, net, &s);
    const sparse_dataset *images = s.val && sparse_dataset_image_count(s.val) ? s.val : s.test;
    sp->split = images == s.val ? "validation" : "test";
    const size_t n = sparse_memreport_node_count(r);
    if (!status && (!(sp->mean = calloc(n, sizeof *sp->mean)) || !(sp->max = calloc(n, sizeof *sp->max))))
        status = cli_error("memory: out of memory");
    int rc;
    if (!status && (rc = sparse_memreport_activation_nonzeros(r, net, images, (size_t)a->images, sp->mean,
                                                              sp->max)))
        status = cli_lib_error(rc, "memory --data");
    if (!status)
        sp->images = a->images && (size_t)a->images < sparse_dataset_image_count(images)
                         ? (size_t)a->images
                         : sparse_dataset_image_count(images);
    cli_splits_free(&s);
    return status;
}

/* The library's report (sparse_memreport_to_json) as "report", and with
 * --data the activation sparsity per layer as "activation_nonzeros". */
static int print_json(const memory_args *a, const char *report, const sparse_memreport *r, const sparsity *sp)
{
    sparse_json *j = cli_json_open("memory");
    if (!j)
        return CLI_ERROR;
    sparse_json_key(j, "arch");
    sparse_json_string(j, a->arch);
    sparse_json_key(j, "weights");
    sparse_json_string(j, a->weights);
    sparse_json_key(j, "scratch");
    sparse_json_string(j, scratch_name(a->scratch));
    sparse_json_key(j, "report");
    sparse_json_raw(j, report);
    sparse_json_key(j, "activation_nonzeros");
    if (!sp->mean) {
        sparse_json_null(j);
        return cli_json_finish(j, "memory");
    }
    sparse_json_begin(j, 0);
    sparse_json_key(j, "split");
    sparse_json_string(j, sp->split);
    sparse_json_key(j, "images");
    sparse_json_integer(j, (long long)sp->images);
    sparse_json_key(j, "layers");
    sparse_json_begin(j, 1);
    for (size_t i = 0; i < sparse_memreport_node_count(r); i++)
        if (field(r, i, SPARSE_MEMFIELD_IS_LAYER)) {
            sparse_json_begin(j, 0);
            sparse_json_key(j, "name");
            sparse_json_string(j, node_name(r, i));
            sparse_json_key(j, "input_count");
            sparse_json_integer(j, (long long)field(r, i, SPARSE_MEMFIELD_X));
            sparse_json_key(j, "mean");
            sparse_json_number(j, sp->mean[i]);
            sparse_json_key(j, "max");
            sparse_json_integer(j, (long long)sp->max[i]);
            sparse_json_end(j);
        }
    sparse_json_end(j);
    sparse_json_end(j);
    return cli_json_finish(j, "memory");
}

int cli_cmd_memory(int argc, char **argv)
{
    memory_args a = {0};
    int rc = cli_parse(&memory_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.arch && !a.weights)
        return cli_usage("memory", "missing ARCH.yaml (or --weights, whose file holds its architecture)");
    sparse_net *net = NULL;
    sparse_memreport *r = NULL;
    sparsity sp = {0};
    /* Pruning adds variational tensors to weight files: they do not count. */
    int status = cli_load_net(&net, a.arch, a.weights, "--weights", 1, 64, 0);
    if (status)
        return status;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.scratch = a.scratch;
    mo.dense = !a.weights; /* fresh weights: the figures of the dense network */
    mo.input_downsampling = a.input_downsampling;
    char *json = NULL;
    if ((rc = sparse_memreport_from_net(&r, net, &mo)) ||
        (a.json && (rc = sparse_memreport_to_json(&json, r))))
        status = cli_lib_error(rc, "memory");
    if (!status && a.data.spec)
        status = measure_sparsity(&a, r, net, &sp);
    if (!status && a.json)
        status = print_json(&a, json, r, &sp);
    else if (!status)
        print_table(r, a.arch ? a.arch : a.weights, a.weights, scratch_name(a.scratch), &sp);
    free(sp.mean);
    free(sp.max);
    sparse_free(json);
    sparse_memreport_free(r);
    sparse_net_free(net);
    return status;
}
