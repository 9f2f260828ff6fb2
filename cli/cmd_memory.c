/* `sparse memory`: the memory figures of an architecture (docs/memory.md). */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static void memory_help(FILE *f)
{
    fprintf(f,
            "Usage: sparse memory ARCH.yaml [--weights W.safetensors] [--json] [--scratch MODEL]\n"
            "       sparse memory --weights W.safetensors [...]   (architecture stored in W)\n\n"
            "Prints the memory figures of a network deployed at int8 (docs/memory.md): per layer the\n"
            "input, output and weight counts, WM5, WM6 and arena, then the totals. Batch norm is folded\n"
            "into the conv before it and ReLU runs in place, so neither is a layer.\n\n"
            "The paper's figures (Fedorov et al. 2019): model size MS (eq. 4), working memory WM5\n"
            "(eq. 5) and WM6 (eq. 6). Beyond the paper, labelled as such: deploy flash (int8 weights\n"
            "in the cheapest of dense, bitmask or CSR form) and the peak RAM of a planned tensor arena.\n\n"
            "Options:\n"
            "  --weights W.safetensors  count non-zeros of these trained or pruned weights; without it\n"
            "                           every weight counts as non-zero (dense figures)\n"
            "  --scratch MODEL          arena scratch buffers: im2col (default, full im2col),\n"
            "                           cmsis (CMSIS-NN's two columns) or none\n"
            "  --json                   print the report as one JSON object\n");
    cli_common_help(f, 25);
}

/* Every parameter non-zero, so the figures are the dense ones. A batch norm's
 * running mean is zeroed so that folding it into a conv without bias still
 * gives non-zero biases (beta = 1). */
static int make_dense(sparse_net *net)
{
    size_t n = sparse_net_node_count(net);
    for (size_t i = 0; i < n; i++) {
        size_t k = sparse_net_param_count(net, i);
        for (size_t j = 0; j < k; j++) {
            const char *name = sparse_net_param_name(net, i, j);
            sparse_tensor *t = NULL;
            int rc = sparse_net_param(net, i, name, &t);
            if (rc)
                return rc;
            rc = sparse_tensor_fill(t, strcmp(name, "running_mean") ? 1.0f : 0.0f);
            sparse_tensor_free(t);
            if (rc)
                return rc;
        }
    }
    return SPARSE_OK;
}

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
                        const char *scratch)
{
    size_t n = 0;
    (void)sparse_memreport_node_count(r, &n);
    printf("%s (%s, int8: 1 B per weight and activation)\n\n", arch_path,
           weights ? weights : "no weights: dense counts");
    printf("%-14s %-10s %8s %8s %8s %8s %8s %8s | %8s %-7s %8s\n", "layer", "kind", "x_l", "y_l",
           "weights", "nonzero", "WM5", "WM6", "flash*", "format*", "arena*");
    for (size_t i = 0; i < n; i++) {
        if (!field(r, i, SPARSE_MEMFIELD_IS_LAYER))
            continue;
        int kind = 0;
        (void)sparse_memreport_node_kind(r, i, &kind);
        printf("%-14s %-10s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
               " | %8" PRIu64 " %-7s %8" PRIu64 "\n",
               node_name(r, i), sparse_memnode_kind_name(kind), field(r, i, SPARSE_MEMFIELD_X),
               field(r, i, SPARSE_MEMFIELD_Y), field(r, i, SPARSE_MEMFIELD_WEIGHTS),
               field(r, i, SPARSE_MEMFIELD_NONZEROS), field(r, i, SPARSE_MEMFIELD_WM5),
               field(r, i, SPARSE_MEMFIELD_WM6), field(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH),
               flash_format_name(field(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT)),
               field(r, i, SPARSE_MEMFIELD_DEPLOY_ARENA));
    }
    uint64_t ms = 0, wm5 = 0, wm6 = 0, flash = 0, arena = 0, lb = 0;
    size_t at5 = 0, at6 = 0;
    (void)sparse_memreport_ms_bytes(r, &ms);
    (void)sparse_memreport_wm_bytes(r, 5, &wm5, &at5);
    (void)sparse_memreport_wm_bytes(r, 6, &wm6, &at6);
    (void)sparse_memreport_deploy_flash_bytes(r, &flash);
    (void)sparse_memreport_deploy_arena_bytes(r, &arena, &lb);
    printf("(* beyond the paper)\n\n");
    printf("Paper figures (Fedorov et al. 2019, section 3.2):\n");
    printf("  MS   model size, eq. (4)       %10" PRIu64 " B  (%.2f KB)\n", ms, (double)ms / 1024.0);
    printf("  WM5  working memory, eq. (5)   %10" PRIu64 " B  (%.2f KB) at %s\n", wm5,
           (double)wm5 / 1024.0, node_name(r, at5));
    printf("  WM6  working memory, eq. (6)   %10" PRIu64 " B  (%.2f KB) at %s\n", wm6,
           (double)wm6 / 1024.0, node_name(r, at6));
    printf("Beyond the paper (int8 deployment estimate, not the paper's objectives):\n");
    printf("  deploy flash                   %10" PRIu64 " B  (%.2f KB) weights in cheapest format, "
           "int32 biases, float32 scales\n",
           flash, (double)flash / 1024.0);
    printf("  deploy arena (peak RAM)        %10" PRIu64 " B  (%.2f KB) scratch %s, lower bound %" PRIu64
           " B\n",
           arena, (double)arena / 1024.0, scratch, lb);
}

int cli_cmd_memory(int argc, char **argv)
{
    const char *arch_path = NULL, *weights = NULL, *scratch = "im2col";
    int json = 0;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return memory_help(stdout), CLI_OK;
        else if (cli_common_option(a))
            continue;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--weights") || !strcmp(a, "--scratch")) {
            if (!v)
                return cli_usage("memory ", "option %s needs a value", a);
            i++;
            if (a[2] == 'w')
                weights = v;
            else if (!strcmp(v, "im2col"))
                mo.scratch = SPARSE_SCRATCH_IM2COL, scratch = v;
            else if (!strcmp(v, "cmsis"))
                mo.scratch = SPARSE_SCRATCH_IM2COL_2COL, scratch = v;
            else if (!strcmp(v, "none"))
                mo.scratch = SPARSE_SCRATCH_NONE, scratch = v;
            else
                return cli_usage("memory ", "--scratch must be im2col, cmsis or none, not '%s'", v);
        } else if (a[0] == '-' && a[1])
            return cli_usage("memory ", "unknown option '%s'", a);
        else if (!arch_path)
            arch_path = a;
        else
            return cli_usage("memory ", "unexpected argument '%s'", a);
    }
    if (!arch_path && !weights)
        return cli_usage("memory ", "missing ARCH.yaml (or --weights, whose file holds its architecture)");

    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    sparse_memreport *r = NULL;
    int status = CLI_OK;
    /* A pruned and compacted network has fewer channels than its YAML: its
     * weights file holds the architecture it really has. */
    int rc = arch_path ? sparse_arch_load_yaml(&arch, arch_path) : sparse_net_load_arch(&arch, weights);
    if (!rc)
        rc = sparse_arch_validate(arch);
    if (rc) {
        status = cli_lib_error(rc, "architecture");
        goto out;
    }
    if ((rc = sparse_net_create(&net, arch, 1, 0))) {
        status = cli_lib_error(rc, "network");
        goto out;
    }
    /* Pruning adds variational tensors to weight files: they do not count. */
    rc = weights ? sparse_net_load(net, weights, 1) : make_dense(net);
    if (rc) {
        status = cli_lib_error(rc, weights ? "--weights" : "network");
        goto out;
    }
    if ((rc = sparse_memreport_from_net(&r, net, &mo))) {
        status = cli_lib_error(rc, "memory");
        goto out;
    }
    if (json) {
        const char *s = NULL;
        if ((rc = sparse_memreport_json(r, &s))) {
            status = cli_lib_error(rc, "memory");
            goto out;
        }
        printf("%s\n", s);
    } else {
        print_table(r, arch_path ? arch_path : weights, weights, scratch);
    }
out:
    sparse_memreport_free(r);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return status;
}
