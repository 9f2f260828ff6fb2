#include <string.h>

#include "cli.h"

int cli_cmd_data(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        printf("Usage: sparse data fetch mnist | sparse data info PATH\n");
        return CLI_OK;
    }
    return cli_usage("data ", "missing subcommand");
}
