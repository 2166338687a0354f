/* cg-taskd — puts the processes named by pid files (and all their descendants) into their
 * cgroups: at once when a pid file changes or the applied conf changes, and every
 * `[taskd] interval` seconds as a full reconcile. See README "cg-taskd". */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
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

static const struct daemon_spec spec = {.name = "cg-taskd", .verbose = "debug", .help = help};

static int run(int argc, char **argv) {
        _cleanup_(taskd_freep) struct taskd *d = NULL;
        struct daemon_args a;
        int r;

        r = daemon_setup(argc, argv, &spec, NULL, &a);
        if (r <= 0)
                return r; /* 0: --help or --version printed */
        if (a.check)
                return taskd_check(a.config);

        r = taskd_new(a.config, &d); /* config, cgroups, /proc, snapshot, loop, signals */
        if (r < 0)
                return r;
        r = taskd_start(d); /* watches, first full pass, timers */
        if (r < 0)
                return r;
        (void) notify_ready("following %zu pid-file rules", d->rules.n);
        taskd_update_status(d); /* "placed N processes in M cgroups, last pass X ms" */
        r = sd_event_loop(d->event); /* returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                log_error_errno(r, "Stopping on error: %m");
        return r;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
