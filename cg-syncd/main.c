/* cg-syncd — mirrors the arch conf held in ZooKeeper onto the cgroup tree, live.
 * main.c: the process frame only; the state machine is syncd.c, the apply path apply.c. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "notify.h"
#include "syncd.h"

static int run(int argc, char **argv) {
        _cleanup_(syncd_freep) struct syncd *d = NULL;
        int r;

        r = syncd_new(argc, argv, &d); /* args, config, cgfs, zk, loop, signals, timers */
        if (r <= 0)
                return r;   /* 0: --help, --version or --check done (daemon_setup) */
        r = syncd_start(d); /* READY comes from the first apply (or the startup grace timer) */
        if (r < 0)
                return r;
        r = sd_event_loop(d->event); /* returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        else
                log_info("Stopped");
        return r;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
