/* wsd.c — cg-wsd's server object: config, the lws context (a listening vhost for HTTP and
 * websockets, an internal one for the adopted Redis sockets and the signalfd), timers, signals,
 * systemd notifications. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "wsd.h"

#define TICK_USEC (1000 * 1000)

static int signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len);

static const struct lws_protocols public_protocols[] = {
        /* [0] serves HTTP and websockets without a subprotocol */
        { "http", wsd_session_callback, sizeof(struct wsd_session), 0, 0, NULL, 0 },
        { "cgrouparch", wsd_session_callback, sizeof(struct wsd_session), 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static const struct lws_protocols internal_protocols[] = {
        { "cgarch-redis", wsd_redis_callback, 0, 0, 0, NULL, 0 },
        { "cgarch-signal", signal_callback, 0, 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Idle websockets are pinged after 30 s without traffic and closed after 75 s without any
 * sign of life (a pong counts). */
static const lws_retry_bo_t idle_policy = {
        .secs_since_valid_ping = 30,
        .secs_since_valid_hangup = 75,
};

static struct ratelimit rl_lws = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
static struct wsd *log_wsd; /* lws's log callback has no user pointer */

static void lws_log(int level, const char *line) {
        size_t n = strlen(line);

        /* lws 4.1 reports a failed accept() only here, and leaves the listening socket readable:
         * the loop would spin. wsd_run() pauses accepting (wsd-conn.c). */
        if (log_wsd && strstr(line, "accept:") && !strstr(line, "errno 11"))
                log_wsd->accept_failed = true; /* "accept: errno 24" (EMFILE), ENFILE, ENOBUFS... */

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        if (!ratelimit_below(&rl_lws))
                return;
        if (level & LLL_ERR)
                log_error("libwebsockets: %.*s", (int) n, line);
        else
                log_warning("libwebsockets: %.*s", (int) n, line);
}

void wsd_update_status(struct wsd *d) {
        (void) notify_status("%u websocket clients (%u subscribed); Redis %s %s",
                             d->stats.connections, d->stats.subscribers, d->redis_where,
                             wsd_redis_up(d) ? "up" : "unavailable");
}

static bool same_str(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* SIGHUP: what can change live does (token, allowed_origins, max_clients, www_dir); the rest
 * (listen address, Redis) needs a restart and is said so. */
static void reload(struct wsd *d) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        (void) notify_reloading();
        r = cfg_load(d->cfg_path, &c, &err);
        if (r >= 0) {
                /* the listen address is the running one: check the new access rules against it */
                free(c->wsd.bind);
                c->wsd.bind = strdup(d->cfg->wsd.bind);
                r = c->wsd.bind ? wsd_check_cfg(c, &err) : -ENOMEM;
        }
        if (r < 0) {
                log_error("Keeping the running config: %s", err ? err : strerror(-r));
                wsd_update_status(d);
                return;
        }
        if (strcmp(c->wsd.bind, d->cfg->wsd.bind) != 0 || c->wsd.port != d->cfg->wsd.port ||
            strcmp(c->redis.host, d->cfg->redis.host) != 0 ||
            !same_str(c->redis.socket, d->cfg->redis.socket) ||
            c->redis.port != d->cfg->redis.port || strcmp(c->redis.prefix, d->cfg->redis.prefix) != 0)
                log_notice("[wsd] bind/port and [redis] changes take effect on restart");
#define SWAP(a, b)                                                                                 \
        do {                                                                                       \
                __typeof__(a) _t = (a);                                                            \
                (a) = (b);                                                                         \
                (b) = _t;                                                                          \
        } while (0)
        SWAP(d->cfg->wsd.token, c->wsd.token);
        SWAP(d->cfg->wsd.allowed_origins, c->wsd.allowed_origins);
        SWAP(d->cfg->wsd.www_dir, c->wsd.www_dir);
        SWAP(d->cfg->wsd.server_names, c->wsd.server_names);
        d->cfg->wsd.max_value_size = c->wsd.max_value_size;
        d->cfg->wsd.max_answer_size = c->wsd.max_answer_size;
        d->cfg->wsd.max_clients = MIN(c->wsd.max_clients, d->budget.clients_fit);
        if (d->cfg->wsd.max_clients < c->wsd.max_clients)
                log_warning("[wsd] max_clients %u does not fit in RLIMIT_NOFILE %u: using %u",
                            c->wsd.max_clients, d->budget.soft, d->cfg->wsd.max_clients);
        log_info("Reloaded %s", d->cfg_path);
        wsd_update_status(d);
}

static int signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len) {
        struct wsd *d = lws_context_user(lws_get_context(wsi));
        struct signalfd_siginfo si;

        (void) user, (void) in, (void) len;
        if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
                return 1;
        if (reason != LWS_CALLBACK_RAW_RX_FILE)
                return 0;
        while (read(d->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGHUP)
                        reload(d);
                else {
                        log_info("Got %s, stopping", strsignal((int) si.ssi_signo));
                        d->quit = true;
                        lws_cancel_service(d->ctx);
                }
        }
        return 0;
}

static void tick(lws_sorted_usec_list_t *sul) {
        struct wsd *d = lws_container_of(sul, struct wsd, sul_tick);
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        wsd_redis_tick(d);
        wsd_conn_tick(d);
        if (d->watchdog_usec && now - d->last_watchdog_usec >= d->watchdog_usec) {
                (void) notify_watchdog();
                d->last_watchdog_usec = now;
        }
        lws_sul_schedule(d->ctx, 0, &d->sul_tick, tick,
                         d->watchdog_usec ? (lws_usec_t) MIN(d->watchdog_usec, TICK_USEC)
                                          : TICK_USEC);
}

static int setup_signals(struct wsd *d) {
        lws_adopt_desc_t info = {};
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return -errno;
        (void) signal(SIGPIPE, SIG_IGN);
        d->signal_fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
        if (d->signal_fd < 0)
                return -errno;
        info.vh = lws_get_vhost_by_name(d->ctx, "internal");
        info.type = LWS_ADOPT_RAW_FILE_DESC;
        info.fd.filefd = d->signal_fd; /* lws owns it from now on */
        info.vh_prot_name = "cgarch-signal";
        if (!lws_adopt_descriptor_vhost_via_info(&info)) {
                d->signal_fd = -1;
                return -EIO;
        }
        return 0;
}

int wsd_check_cfg(const struct cfg *c, char **ret_err) {
        bool open_api = !c->wsd.token && strv_length(c->wsd.allowed_origins) == 0;
        struct in6_addr a6;

        /* "0.0.0.0:80" is an address and a port in one key: libwebsockets would take it for an
         * interface name and fail only at start. */
        if (strchr(c->wsd.bind, ':') && inet_pton(AF_INET6, c->wsd.bind, &a6) != 1) {
                if (xasprintf(ret_err,
                              "%s: [wsd] bind = %s is not an address: give the address alone "
                              "(e.g. 0.0.0.0 or 127.0.0.1) and the port in [wsd] port",
                              c->path ? c->path : "config", c->wsd.bind) < 0)
                        *ret_err = NULL;
                return -EINVAL;
        }
        /* The unit runs cg-wsd as a dynamic user without capabilities: it could not listen on a
         * privileged port, and giving the network-facing daemon CAP_NET_BIND_SERVICE is not
         * worth a port number. */
        if (c->wsd.port < 1024) {
                if (xasprintf(ret_err,
                              "%s: [wsd] port = %u is a privileged port (below 1024): cg-wsd runs "
                              "unprivileged and could not listen there; use a port from 1024 up "
                              "(a reverse proxy can serve 80 or 443)",
                              c->path ? c->path : "config", c->wsd.port) < 0)
                        *ret_err = NULL;
                return -EINVAL;
        }
        if (!wsproto_bind_is_loopback(c->wsd.bind) && open_api) {
                if (xasprintf(ret_err,
                              "%s: [wsd] bind = %s is not loopback: set [wsd] token or "
                              "allowed_origins (an API open to the network needs one)",
                              c->path ? c->path : "config", c->wsd.bind) < 0)
                        *ret_err = NULL;
                return -EINVAL;
        }
        return 0;
}

int wsd_new(const char *cfg_path, struct wsd **ret) {
        _cleanup_(wsd_freep) struct wsd *d = NULL;
        struct lws_context_creation_info info = {};
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->signal_fd = -1;
        d->cfg_path = strdup(cfg_path);
        if (!d->cfg_path)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = daemon_load_cfg(cfg_path, &d->cfg);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *err = NULL;
                r = wsd_check_cfg(d->cfg, &err);
                if (r < 0)
                        return log_error_errno(r, "%s", err ? err : "Out of memory");
        }
        if (xasprintf(&d->channel, "%s/account", d->cfg->redis.prefix) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        if ((d->cfg->redis.socket ? xasprintf(&d->redis_where, "%s", d->cfg->redis.socket)
                                  : xasprintf(&d->redis_where, "%s:%u", d->cfg->redis.host,
                                              d->cfg->redis.port)) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        if (!d->cfg->redis.password && !d->cfg->redis.socket && d->cfg->redis.host[0] != '/')
                log_warning("Redis %s is reached over TCP without a password: any local user can "
                            "write the values cg-wsd serves (they are checked, not trusted); "
                            "set [redis] socket or password",
                            d->redis_where);

        r = wsd_conn_budget(d->cfg->wsd.max_clients, &d->budget);
        if (r < 0)
                return log_error_errno(r, "RLIMIT_NOFILE is too low for cg-wsd: raise LimitNOFILE=");
        if (d->budget.soft_before < d->budget.soft)
                log_debug("Raised RLIMIT_NOFILE from %llu to %u", d->budget.soft_before,
                          d->budget.soft);
        if (d->budget.max_clients < d->cfg->wsd.max_clients)
                log_warning("[wsd] max_clients %u does not fit in RLIMIT_NOFILE %u: using %u "
                            "(raise LimitNOFILE=)",
                            d->cfg->wsd.max_clients, d->budget.soft, d->budget.max_clients);
        d->cfg->wsd.max_clients = d->budget.max_clients;
        d->max_pending = d->budget.max_pending;
        /* Large buffers (a value at the size cap, an answer) go back to the kernel when freed,
         * instead of glibc's dynamic threshold keeping them in the heap after the first one. */
        (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        if (access(d->cfg->wsd.www_dir, R_OK | X_OK) < 0)
                log_warning("[wsd] www_dir %s is not readable: the dashboard will be 404",
                            d->cfg->wsd.www_dir);

        lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
        info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
        info.user = d;
        /* max_clients websockets, the pending connections and lws's own (wsd-conn.c) */
        info.fd_limit_per_thread = d->budget.fd_limit;
        /* one per-thread service buffer: reads and file sends in 64 KiB steps, not 4 KiB */
        info.pt_serv_buf_size = 64 * 1024;
        d->ctx = lws_create_context(&info);
        if (!d->ctx)
                return log_error_errno(-EIO, "Failed to create the libwebsockets context");

        info = (struct lws_context_creation_info){};
        info.vhost_name = "internal";
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = internal_protocols;
        if (!lws_create_vhost(d->ctx, &info))
                return log_error_errno(-EIO, "Failed to create the internal vhost");

        info = (struct lws_context_creation_info){};
        info.vhost_name = "cgrouparch";
        info.port = (int) d->cfg->wsd.port;
        info.iface = d->cfg->wsd.bind;
        info.protocols = public_protocols;
        info.retry_and_idle_policy = &idle_policy;
        info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
        if (strchr(d->cfg->wsd.bind, ':') == NULL)
                info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        d->vhost = lws_create_vhost(d->ctx, &info);
        if (!d->vhost)
                return log_error_errno(-EADDRNOTAVAIL, "Failed to listen on %s port %u",
                                       d->cfg->wsd.bind, d->cfg->wsd.port);

        log_wsd = d;
        r = setup_signals(d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signal handling: %m");

        d->watchdog_usec = notify_watchdog_interval_usec();
        d->last_watchdog_usec = now_usec(CLOCK_MONOTONIC);
        lws_sul_schedule(d->ctx, 0, &d->sul_tick, tick, TICK_USEC / 4);
        wsd_redis_start(d);
        *ret = TAKE_PTR(d);
        return 0;
}

int wsd_check(const char *cfg_path) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = daemon_load_cfg(cfg_path, &c);
        if (r < 0)
                return r;
        r = wsd_check_cfg(c, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "Out of memory");
        if (strv_length(c->zk.auth) > 0 || strv_length(c->zk.admin_auth) > 0)
                log_warning("%s holds a ZooKeeper identity ([zookeeper] auth/admin_auth), which "
                            "cg-wsd never uses: give cg-wsd its own file with [wsd] and [redis] "
                            "only (cg-wsd.conf)",
                            cfg_path);
        printf("%s: ok (listen %s:%u, Redis %s:%u prefix %s, www %s)\n", cfg_path, c->wsd.bind,
               c->wsd.port, c->redis.host, c->redis.port, c->redis.prefix, c->wsd.www_dir);
        return 0;
}

int wsd_run(struct wsd *d) {
        log_info("cg-wsd %s listening on %s:%u (www: %s, max_clients %u, RLIMIT_NOFILE %u), "
                 "Redis %s prefix %s",
                 CGARCH_VERSION, d->cfg->wsd.bind, d->cfg->wsd.port, d->cfg->wsd.www_dir,
                 d->cfg->wsd.max_clients, d->budget.soft, d->redis_where, d->cfg->redis.prefix);
        while (!d->quit) {
                if (lws_service(d->ctx, 0) < 0)
                        return log_error_errno(-EIO, "The libwebsockets loop failed");
                if (d->accept_failed)
                        wsd_conn_accept_failed(d);
        }
        return d->exit_code;
}

struct wsd *wsd_free(struct wsd *d) {
        if (!d)
                return NULL;
        d->quit = true;
        if (d->ctx) {
                lws_sul_cancel(&d->sul_tick);
                lws_sul_cancel(&d->sul_accept);
                wsd_redis_stop(d);
                lws_context_destroy(d->ctx); /* closes every wsi, also the adopted fds */
                wsd_conn_free_all(d);
        } else if (d->signal_fd >= 0)
                close(d->signal_fd);
        cfg_free(d->cfg);
        free(d->cfg_path);
        free(d->channel);
        free(d->redis_where);
        free(d->latest);
        if (log_wsd == d)
                log_wsd = NULL;
        free(d);
        return NULL;
}
