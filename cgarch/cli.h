/* cli.h — private interface between main.c and the command files of the cgarch CLI.
 * Every cli_cmd_* returns the process exit code: 0 ok, 1 refused/failed, 2 usage. */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "ini.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Options common to every command (parsed by main.c before and after the command word). */
struct cli {
        const char *cfg_path; /* -c PATH, or NULL for the default */
        struct cfg *cfg;      /* loaded lazily by cli_cfg(); owned */
        bool quiet;
};

/* Loads the config once: an explicit missing file is an error, a missing default is defaults.
 * Prints the problem itself; returns NULL on failure. */
const struct cfg *cli_cfg(struct cli *c);

/* Reads FILE ("-" = stdin) and parses it as an arch conf (or a snapshot of one); prints every
 * problem, prefixed by the file name. Returns NULL on failure. */
struct conf *cli_read_conf(const char *path);

int cli_cmd_validate(struct cli *c, int argc, char **argv);
int cli_cmd_plan(struct cli *c, int argc, char **argv, bool apply);
int cli_cmd_show(struct cli *c, int argc, char **argv);
int cli_cmd_cgexec_arg(struct cli *c, int argc, char **argv);
