/* cg-taskd — puts the processes named by pid files (and all their descendants) into their
 * cgroups: at once when a pid file changes or the applied conf changes, and every
 * `[taskd] interval` seconds as a full reconcile. See README "cg-taskd". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "notify.h"
#include "taskd.h"

static void help(void) {
        printf("Usage: cg-taskd [OPTIONS]\n"
               "Places the processes of the [pid_files] entries and all their descendants into\n"
               "their cgroups (cgroup.procs), at once on a pid-file or conf change and every\n"
               "[taskd] interval seconds.\n\n"
               "  -c, --config PATH  config file (default " CFG_DEFAULT_PATH ")\n"
               "      --check        validate the config, the cgroup layout and the applied\n"
               "                     conf, print a summary and exit (moves nothing)\n"
               "  -d, --debug        log debug messages\n"
               "  -h, --help         show this help\n"
               "      --version      show the version\n\n"
               "Signals: SIGHUP re-reads the config; SIGTERM stops.\n");
}

/* Returns 1 to run the daemon, 0 when done (help, version, check), < 0 on error. */
static int parse_argv(int argc, char **argv, const char **config, bool *check) {
        enum { ARG_VERSION = 0x100, ARG_CHECK };
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"check", no_argument, NULL, ARG_CHECK},
                {"debug", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:dh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        *config = optarg;
                        break;
                case ARG_CHECK:
                        *check = true;
                        break;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("cg-taskd " CGARCH_VERSION "\n");
                        return 0;
                default:
                        fprintf(stderr, "Try 'cg-taskd --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "cg-taskd: unexpected argument '%s'. Try 'cg-taskd --help'.\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int run(int argc, char **argv) {
        _cleanup_(taskd_freep) struct taskd *d = NULL;
        const char *config = CFG_DEFAULT_PATH;
        bool check = false;
        int r;

        log_set_ident("cg-taskd");
        r = parse_argv(argc, argv, &config, &check);
        if (r <= 0)
                return r;
        if (check)
                return taskd_check(config);

        r = taskd_new(config, &d); /* config, cgroups, /proc, snapshot, loop, signals */
        if (r < 0)
                return r;
        r = taskd_start(d); /* watches, first full pass, timers */
        if (r < 0)
                return r;
        (void) notify_ready("following %zu pid-file rules", d->rules.n);
        taskd_update_status(d); /* "placed N processes in M cgroups, last pass X ms" */
        r = loop_run(d->loop);  /* returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                log_error_errno(r, "Stopping on error: %m");
        return r;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
