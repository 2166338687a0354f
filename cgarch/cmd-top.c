/* cmd-top.c — placeholder while being written */
#include "cli.h"
int cli_cmd_top(struct cli *c, int argc, char **argv) {
        (void) c; (void) argc; (void) argv;
        return CLI_EXIT_USAGE;
}
