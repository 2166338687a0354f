/* cg-accountd — every cgroup's usage, every wall-clock second, into Redis (DESIGN.md "Redis").
 * Follows the applied snapshot with inotify, reads cpuacct/blkio (or v2 cpu.stat/io.stat) of
 * each cgroup of each subsystem tree and its root, and sends SET <prefix>/account/<slot> EX,
 * SET <prefix>/arch_conf (when changed) and PUBLISH <prefix>/account in one round trip. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "acctd.h"
#include "log.h"
#include "notify.h"

struct args {
        const char *config;
        bool check;
};

static void help(void) {
        printf("Usage: cg-accountd [OPTIONS]\n\n"
               "Samples the CPU and block IO counters of every cgroup of the applied arch conf\n"
               "each wall-clock second and stores them in Redis.\n\n"
               "  -c, --config PATH  config file (default " CFG_DEFAULT_PATH ")\n"
               "      --check        check the config, the cgroup layout and the snapshot, "
               "then exit\n"
               "  -v, --verbose      log debug messages\n"
               "  -h, --help         show this help\n"
               "      --version      show the version\n\n"
               "Signals: SIGHUP re-reads the config, SIGTERM stops.\n");
}

/* Returns 1 to run, 0 when done (help, version), < 0 on a usage error. */
static int parse_argv(int argc, char **argv, struct args *a) {
        enum { ARG_VERSION = 0x100, ARG_CHECK };
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"check", no_argument, NULL, ARG_CHECK},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        a->config = optarg;
                        break;
                case ARG_CHECK:
                        a->check = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("cg-accountd %s\n", CGARCH_VERSION);
                        return 0;
                default:
                        return log_error_errno(-EINVAL, "Try 'cg-accountd --help'.");
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'.", argv[optind]);
        return 1;
}

static int run(int argc, char **argv) {
        _cleanup_(acctd_freep) struct acctd *d = NULL;
        struct args a = {.config = CFG_DEFAULT_PATH};
        int r;

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r;
        if (a.check)
                return acctd_check(a.config);

        r = acctd_new(a.config, &d);
        if (r < 0)
                return r;
        (void) notify_ready("%zu cgroups, first tick at the next second", d->n_cgroups);
        r = loop_run(d->loop);
        (void) notify_stopping();
        if (r < 0)
                return log_error_errno(r, "Stopped on an error: %m");
        log_info("Stopped after %" PRIu64 " ticks: %" PRIu64 " samples sent, %" PRIu64
                 " dropped, %" PRIu64 " seconds missed",
                 d->st.ticks, d->st.sent, d->st.dropped, d->st.missed);
        return 0;
}

int main(int argc, char **argv) {
        log_set_ident("cg-accountd");
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
