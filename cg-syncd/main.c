/* cg-syncd — mirrors the arch conf held in ZooKeeper onto the cgroup tree, live.
 * main.c: the process frame only (the shape of every daemon's main.c); the state machine is
 * syncd.c, the apply path apply.c, the pure helpers (and the --reconcile-interval parser)
 * state.c. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "syncd.h"

static void help(void) {
        printf("Usage: cg-syncd [OPTIONS]\n"
               "Mirrors the arch conf held in ZooKeeper (<[zookeeper] prefix>/arch_conf) onto the\n"
               "cgroup tree below [cgroup] root, live, and writes the applied snapshot.\n\n"
               "  -c, --config PATH          config file (default " CFG_DEFAULT_PATH ")\n"
               "      --check                validate the config file and exit\n"
               "      --reconcile-interval SEC\n"
               "                             re-apply the conf every SEC seconds (default 60)\n"
               "  -v, --verbose              log debug messages\n"
               "  -h, --help                 show this help\n"
               "  -V, --version              show the version\n\n"
               "Signals: SIGHUP re-reads the config file, SIGTERM/SIGINT stop.\n");
}

static const struct daemon_spec spec = {
        .name = "cg-syncd",
        .help = help,
        .extra = syncd_options,
        .parse_extra = syncd_parse_option,
};

static int run(int argc, char **argv) {
        _cleanup_(syncd_freep) struct syncd *d = NULL;
        uint64_t reconcile_usec = SYNCD_RECONCILE_USEC_DEFAULT;
        struct daemon_args a;
        struct syncd_args sa;
        int r;

        r = daemon_setup(argc, argv, &spec, &reconcile_usec, &a); /* the same flags everywhere */
        if (r <= 0)
                return r; /* 0: --help or --version printed */
        if (a.check)
                return syncd_check(a.config);
        syncd_args_from(&a, reconcile_usec, &sa);
        r = syncd_new(&sa, &d); /* config, cgfs, zk, loop, signals, timers */
        if (r < 0)
                return r;
        r = syncd_start(d); /* READY=1 comes from the first apply (or the startup grace timer) */
        if (r < 0)
                return r;
        r = sd_event_loop(d->event); /* returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                return log_error_errno(r, "Stopped on an error: %m");
        log_info("Stopped");
        return 0;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
