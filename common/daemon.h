/* daemon.h — the command line and start-up the four daemons share: -c/--config PATH, --check,
 * -v/--verbose (hidden alias -d/--debug), -h/--help, -V/--version, plus each daemon's own options
 * through a small table.
 * Each daemon's main.c holds its spec (name, --help text, own options) and calls
 * daemon_setup() first thing in run().
 *
 * daemon_parse_args() is pure (unit tested in test-daemon.c and test-syncd.c, fuzzed by
 * fuzz-syncd with cg-syncd's own options). Unlike the
 * rest of common/, daemon_setup() and daemon_load_cfg() report to the user themselves (stdout
 * for --help/--version, the log for errors): they are the daemons' front door, called from
 * main() paths only, and their callers must not log what they return again. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ini.h"
#include "log.h"

struct daemon_args {
        const char *config; /* borrowed from argv; CFG_DEFAULT_PATH unless -c */
        bool help, version, check;
        int log_level; /* LOG_INFO; LOG_DEBUG with the verbose option */
};

/* The `val` of a daemon's own long-only options starts here (below: a short option letter). */
#define DAEMON_OPT_PRIVATE 0x200
#define DAEMON_EXTRA_MAX 8

struct daemon_spec {
        const char *name;   /* "cg-syncd": --version prints "<name> <version>" */
        void (*help)(void); /* prints the --help text (daemon_setup) */
        /* The daemon's own options ({}-terminated, at most DAEMON_EXTRA_MAX, or NULL), each
         * handed to parse_extra with the userdata given to the parser. parse_extra returns 0, or
         * -EINVAL with *err set (owned). */
        const struct option *extra;
        int (*parse_extra)(int val, const char *arg, void *userdata, char **err);
};

/* 1: run; 0: --help or --version asked (ret->help/version set; nothing printed); -EINVAL: a
 * usage error, *err set (owned), *ret untouched; -ENOMEM. Resets getopt, never prints. */
int daemon_parse_args(int argc, char **argv, const struct daemon_spec *spec, void *userdata,
                      struct daemon_args *ret, char **err);

/* The start of main(): sets the log ident, parses, prints --help/--version, sets the log level.
 * 1: run; 0: done (printed); < 0: a usage error, logged. */
int daemon_setup(int argc, char **argv, const struct daemon_spec *spec, void *userdata,
                 struct daemon_args *ret);

/* Loads the config for start-up or --check; a bad one is logged once with cfg_load()'s message,
 * which names "file:line: [section] key: problem" (or the file and why it cannot be read).
 * Inline so that daemon.c (and the fuzz targets linking it) need no libinih. */
static inline int daemon_load_cfg(const char *path, struct cfg **ret) {
        char *err = NULL;
        int r;

        r = cfg_load(path, ret, &err);
        if (r >= 0 && cfg_root_warning(*ret))
                log_warning("%s: %s", path, cfg_root_warning(*ret));
        if (r < 0 && err)
                (void) log_error_errno(r, "%s", err);
        else if (r < 0)
                (void) log_error_errno(r, "Failed to read %s: %m", path);
        free(err);
        return r;
}
