/* cg-wsd — cgrouparch's websocket and HTTP face: show_account / get_conf / subscribe_account over
 * websockets, a live dashboard, /metrics and /healthz, reading Redis only (DESIGN.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
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
               "      --version      show the version\n"
               "\n"
               "Signals: SIGTERM/SIGINT stop, SIGHUP re-reads the config ([wsd] token,\n"
               "allowed_origins, max_clients and www_dir apply at once; the rest on restart).\n");
}

struct args {
        const char *config;
        bool check;
};

/* Returns 1 to go on, 0 when done (help, version), < 0 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a) {
        enum { ARG_VERSION = 0x100, ARG_CHECK };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, ARG_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        *a = (struct args){ .config = CFG_DEFAULT_PATH };
        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
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
                        printf("cg-wsd %s\n", CGARCH_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int check_config(const char *path) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = cfg_load(path, &c, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "Failed to read the config: %m");
        printf("%s: ok (listen %s:%u, Redis %s:%u prefix %s, www %s)\n", path, c->wsd.bind,
               c->wsd.port, c->redis.host, c->redis.port, c->redis.prefix, c->wsd.www_dir);
        return 0;
}

static int run(int argc, char **argv) {
        _cleanup_(wsd_freep) struct wsd *d = NULL;
        struct args a;
        int r;

        r = parse_args(argc, argv, &a);
        if (r <= 0)
                return r;
        if (a.check)
                return check_config(a.config);
        r = wsd_new(a.config, &d);
        if (r < 0)
                return r;
        return wsd_run(d);
}

int main(int argc, char **argv) {
        log_set_ident("cg-wsd");
        return run(argc, argv) < 0 ? 1 : 0;
}
