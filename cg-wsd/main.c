/* cg-wsd — cgrouparch's websocket and HTTP face: show_account / get_conf / subscribe_account over
 * websockets, a live dashboard, /metrics and /healthz, reading Redis only (DESIGN.md). */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "util.h"
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

static const struct daemon_spec spec = {.name = "cg-wsd", .help = help};

static int check_config(const char *path) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = daemon_load_cfg(path, &c);
        if (r < 0)
                return r;
        r = wsd_check_cfg(c, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "Out of memory");
        if (strv_length(c->zk.auth) > 0 || strv_length(c->zk.admin_auth) > 0)
                log_warning("%s holds a ZooKeeper identity ([zookeeper] auth/admin_auth), which "
                            "cg-wsd never uses: give cg-wsd its own file with [wsd] and [redis] "
                            "only (cg-wsd.conf)",
                            path);
        printf("%s: ok (listen %s:%u, Redis %s:%u prefix %s, www %s)\n", path, c->wsd.bind,
               c->wsd.port, c->redis.host, c->redis.port, c->redis.prefix, c->wsd.www_dir);
        return 0;
}

static int run(int argc, char **argv) {
        _cleanup_(wsd_freep) struct wsd *d = NULL;
        struct daemon_args a;
        int r;

        r = daemon_setup(argc, argv, &spec, NULL, &a);
        if (r <= 0)
                return r; /* 0: --help or --version printed */
        if (a.check)
                return check_config(a.config);
        r = wsd_new(a.config, &d);
        if (r < 0)
                return r;
        return wsd_run(d);
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? 1 : 0;
}
