/* cg-wsd — cgrouparch's websocket and HTTP face: show_account / get_conf / subscribe_account over
 * websockets, a live dashboard, /metrics and /healthz, reading Redis only (docs/design.md).
 * main.c: the process frame only (the shape of every daemon's main.c); the server is wsd.c. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "wsd.h"

static void help(void) {
        printf("Usage: cg-wsd [OPTIONS]\n"
               "\n"
               "Serves cgrouparch's accounting samples from Redis over websockets (show_account,\n"
               "get_conf, subscribe_account), a live dashboard at /, Prometheus metrics at\n"
               "/metrics and a health check at /healthz, on [wsd] bind:port.\n"
               "\n"
               "  -c, --config PATH  config file (default " CFG_DEFAULT_PATH ")\n"
               "      --check        check the config and exit (0 if good)\n"
               "  -v, --verbose      log debug messages\n"
               "  -h, --help         show this help\n"
               "  -V, --version      show the version\n"
               "\n"
               "Signals: SIGTERM/SIGINT stop, SIGHUP re-reads the config ([wsd] token,\n"
               "allowed_origins, max_clients and www_dir apply at once; the rest on restart).\n");
}

static const struct daemon_spec spec = {.name = "cg-wsd", .help = help};

static int run(int argc, char **argv) {
        _cleanup_(wsd_freep) struct wsd *d = NULL;
        struct daemon_args a;
        int r;

        r = daemon_setup(argc, argv, &spec, NULL, &a); /* the same flags in every daemon */
        if (r <= 0)
                return r; /* 0: --help or --version printed */
        if (a.check)
                return wsd_check(a.config);
        r = wsd_new(a.config, &d); /* config, Redis, libwebsockets context, signals */
        if (r < 0)
                return r;
        (void) notify_ready("Listening on %s:%u; Redis %s", d->cfg->wsd.bind, d->cfg->wsd.port,
                            d->redis_where);
        r = wsd_run(d); /* libwebsockets' loop; returns after SIGTERM/SIGINT */
        (void) notify_stopping();
        if (r < 0)
                return log_error_errno(r, "Stopped on an error: %m");
        log_info("Stopped");
        return 0;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
