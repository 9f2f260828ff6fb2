#include "cli.h"
int cli_cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("eval: not yet");
}
