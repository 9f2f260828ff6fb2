#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"search", cli_cmd_search, "search architectures for the Pareto front (accuracy, MS, WM)"},
    {"inspect", cli_cmd_inspect, "show the Pareto front or every trial of a run"},
    {"report", cli_cmd_report, "write a run as one HTML page: figure, front, trials, networks"},
    {"export-arch", cli_cmd_export_arch, "write a trial's architecture as YAML"},
    {"export", cli_cmd_export, "write a network as int8 C for a microcontroller; build, run in qemu"},
    {"data", cli_cmd_data, "fetch and inspect data sets"},
    {"train", cli_cmd_train, "train an architecture (YAML) on a data set"},
    {"memory", cli_cmd_memory, "memory figures of an architecture: MS, WM5, WM6, flash, arena"},
    {"eval", cli_cmd_eval, "accuracy of trained weights, float and int8"},
};

static void print_help(FILE *f)
{
    fprintf(f, "Usage: sparsenas [--version] [--help] COMMAND [ARGS...]\n\n"
               "Sparse Architecture Search: tiny CNNs for microcontrollers.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-12s %s\n", "help", "show help for a command");
    fprintf(f, "\nRun 'sparsenas COMMAND --help' for a command's options. Every command takes\n"
               "-q/--quiet: nothing on stderr but errors (results on stdout are unchanged).\n");
}

/* OpenMP's default busy-waiting makes every barrier of the training loops
 * wait for a descheduled thread as soon as another process shares the
 * cores: measured here, 2-thread training then ran 3-50x slower. Passive
 * waiting costs little on an idle machine, so the command asks for it unless
 * the user chose a policy. libgomp reads the variable when it is loaded,
 * hence the re-exec. */
static void prefer_passive_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
        execv("/proc/self/exe", argv);
    /* exec failed: carry on with the default policy */
}

int main(int argc, char **argv)
{
    prefer_passive_openmp(argv);
    /* A file size limit (ulimit -f) makes write fail with EFBIG, which the
     * library reports naming the file, instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2)
        return print_help(stderr), CLI_USAGE;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("sparsenas %s (libsparse %s)\n", SPARSE_VERSION_STRING, sparse_version());
        return CLI_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return print_help(stdout), CLI_OK;
    if (!strcmp(cmd, "help")) {
        if (argc < 3)
            return print_help(stdout), CLI_OK;
        cmd = argv[2];
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(cmd, commands[i].name)) {
                char *hargv[] = {argv[2], "--help", NULL};
                return commands[i].run(2, hargv);
            }
        return cli_usage(NULL, "unknown command '%s'", cmd);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage(NULL, "unknown command '%s'", cmd);
}
