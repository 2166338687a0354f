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

/* Prints each problem as "WHAT: JSON-PATH: message", or "WHAT: message" for a problem of the
 * whole text (not JSON, empty), whose path is empty. */
void cli_print_conf_errors(const char *what, const struct conf_errors *errs);

/* Reads FILE ("-" = stdin) and parses it as an arch conf (or a snapshot of one); prints every
 * problem, prefixed by the file name. Returns NULL on failure. */
struct conf *cli_read_conf(const char *path);

/* "1 process", "2 processes": counts in messages agree with their noun. */
static inline const char *cli_plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

int cli_cmd_validate(struct cli *c, int argc, char **argv);
int cli_cmd_plan(struct cli *c, int argc, char **argv, bool apply);
int cli_cmd_show(struct cli *c, int argc, char **argv);
int cli_cmd_cgexec_arg(struct cli *c, int argc, char **argv);
int cli_cmd_why(struct cli *c, int argc, char **argv); /* cmd-why.c */
int cli_cmd_top(struct cli *c, int argc, char **argv); /* cmd-top.c */

/* cmd-sd.c: the systemd mode's output ([cgroup] mode = systemd: slice units). */
struct cgfs;
struct plan;
struct live_tree;
/* Prints the plan as unit operations ("create cgrouparch-a.slice CPUWeight=48"); returns the
 * number of unit operations (0: "nothing to do" was printed unless quiet), or -errno. */
int cli_sd_print_plan(struct cgfs *fs, const struct plan *p, const struct live_tree *live,
                      bool quiet);
/* `cgarch show` in systemd mode: the manager's slices, their weights and CPU usage. */
int cli_sd_show(struct cgfs *fs, const struct live_tree *live);
/* The systemd-run argument of a name: "--slice=cgrouparch-a-b.slice". -ENOENT: in no tree. */
int cli_sd_slice_arg(const struct conf *c, const char *root, const char *name, char **ret);
/* The config selects systemd mode, or `auto` finds a systemd host with cgroup v2. */
bool cli_sd_mode(const struct cfg *cfg);
