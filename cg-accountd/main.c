/* cg-accountd — every cgroup's usage, every wall-clock second, into Redis (docs/design.md
 * "Redis").
 * Follows the applied snapshot with inotify, reads cpuacct/blkio (or v2 cpu.stat/io.stat) of
 * each cgroup of each subsystem tree and its root, and sends SET <prefix>/account/<slot> EX,
 * SET <prefix>/arch_conf (when changed) and PUBLISH <prefix>/account in one round trip.
 * main.c: the process frame only (the shape of every daemon's main.c); the daemon is acctd.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "acctd.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

static void help(void) {
        printf("Usage: cg-accountd [OPTIONS]\n\n"
               "Samples the CPU and block IO counters of every cgroup of the applied arch conf\n"
               "each wall-clock second and stores them in Redis.\n\n"
               "  -c, --config PATH  config file (default " CFG_DEFAULT_PATH ")\n"
               "      --check        check the config, the cgroup layout and the snapshot, "
               "then exit\n"
               "  -v, --verbose      log debug messages\n"
               "  -h, --help         show this help\n"
               "  -V, --version      show the version\n\n"
               "Signals: SIGHUP re-reads the config, SIGTERM stops.\n");
}

static const struct daemon_spec spec = {.name = "cg-accountd", .help = help};

static int run(int argc, char **argv) {
        _cleanup_(acctd_freep) struct acctd *d = NULL;
        struct daemon_args a;
        int r;

        r = daemon_setup(argc, argv, &spec, NULL, &a); /* the same flags in every daemon */
        if (r <= 0)
                return r; /* 0: --help or --version printed */
        if (a.check)
                return acctd_check(a.config);
        r = acctd_new(a.config, &d); /* config, cgroups, Redis, snapshot watch, loop, signals */
        if (r < 0)
                return r;
        (void) notify_ready("%zu cgroups, first tick at the next second", d->n_cgroups);
        r = sd_event_loop(d->event); /* returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                return log_error_errno(r, "Stopped on an error: %m");
        log_info("Stopped after %" PRIu64 " ticks: %" PRIu64 " samples sent, %" PRIu64
                 " dropped, %" PRIu64 " seconds missed",
                 d->st.ticks, d->st.sent, d->st.dropped, d->st.missed);
        return 0;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
