/* wsd.c — cg-wsd's server object: config, the libev loop and the lws context on it (a listening
 * vhost for HTTP and websockets), timers, signals, systemd notifications. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "wsd.h"

#define TICK_USEC (1000 * 1000)

static const struct lws_protocols public_protocols[] = {
        /* [0] serves HTTP and websockets without a subprotocol */
        { "http", wsd_session_callback, sizeof(struct wsd_session), 0, 0, NULL, 0 },
        { "cgrouparch", wsd_session_callback, sizeof(struct wsd_session), 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* No lws validity timers (secs_since_valid_hangup 0): lws 4.1 keeps them in one sorted list and
 * each re-arm walks it, O(connections) per ping, pong and handshake. wsd_session_tick() pings
 * and hangs up idle websockets instead; wsd-conn.c bounds the connections that are not
 * websockets. (NULL would mean lws's default, 300/310 s.) */
static const lws_retry_bo_t no_validity = { .secs_since_valid_ping = 0 };

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

static void on_signal(struct ev_loop *loop, ev_io *w, int revents) {
        struct wsd *d = lws_container_of(w, struct wsd, signal_io);
        struct signalfd_siginfo si;

        (void) revents;
        while (read(d->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGHUP)
                        reload(d);
                else {
                        log_info("Got %s, stopping", strsignal((int) si.ssi_signo));
                        d->quit = true;
                        ev_break(loop, EVBREAK_ALL);
                }
        }
}

/* After every loop turn: lws 4.1 reports a failed accept() only through its log (lws_log()). */
static void on_check(struct ev_loop *loop, ev_check *w, int revents) {
        struct wsd *d = lws_container_of(w, struct wsd, check);

        (void) loop, (void) revents;
        if (d->accept_failed)
                wsd_conn_accept_failed(d);
}

static void tick(lws_sorted_usec_list_t *sul) {
        struct wsd *d = lws_container_of(sul, struct wsd, sul_tick);
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        wsd_redis_tick(d);
        wsd_conn_tick(d);
        wsd_session_tick(d);
        /* Free heap memory goes back to the kernel once a busy spell is over, not every second
         * of it: each trim made the next answers fault their pages in again, which cost a
         * 60-slot answer about 1 ms of its 1.2-2.9 ms under load. */
        if (d->answer_bytes - d->answer_bytes_at_tick < WSD_QUIET_BYTES)
                (void) malloc_trim(1024 * 1024);
        d->answer_bytes_at_tick = d->answer_bytes;
        if (d->watchdog_usec && now - d->last_watchdog_usec >= d->watchdog_usec) {
                (void) notify_watchdog();
                d->last_watchdog_usec = now;
        }
        lws_sul_schedule(d->ctx, 0, &d->sul_tick, tick,
                         d->watchdog_usec ? (lws_usec_t) MIN(d->watchdog_usec, TICK_USEC)
                                          : TICK_USEC);
}

static int setup_signals(struct wsd *d) {
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
        ev_io_init(&d->signal_io, on_signal, d->signal_fd, EV_READ);
        ev_io_start(d->loop, &d->signal_io);
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
        void *foreign_loops[1];
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->signal_fd = -1;
        d->vcache.max_bytes = WSD_VCACHE_MAX_BYTES;
        d->ping_usec = WSD_PING_SEC * USEC_PER_SEC;
        d->hangup_usec = WSD_HANGUP_SEC * USEC_PER_SEC;
        {
                const char *e = getenv("CGARCH_WSD_PING_SEC"); /* a test hook (wsd-idle.py) */
                unsigned long v = e ? strtoul(e, NULL, 10) : 0;
                if (v > 0 && v <= WSD_PING_SEC) {
                        d->ping_usec = v * USEC_PER_SEC;
                        d->hangup_usec = v * USEC_PER_SEC * 5 / 2;
                }
        }
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
        /* Answers (up to max_answer_size) and values are built in the heap and reused, not
         * mmap()ed per request: a fresh 1 MB mapping costs 256 page faults, which made those
         * the largest part of a 60-slot answer's cost. The 1 s tick gives free memory back to
         * the kernel (malloc_trim) once a busy spell is over, so a burst does not stay in RSS. */
        (void) mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
        /* and not given back by free() either: glibc trims the heap's top above 128 KiB, so each
         * 1 MB answer freed was faulted in afresh by the next one (a third of a 60-slot
         * answer's CPU). The tick's malloc_trim() returns what a burst left. */
        (void) mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
        if (access(d->cfg->wsd.www_dir, R_OK | X_OK) < 0)
                log_warning("[wsd] www_dir %s is not readable: the dashboard will be 404",
                            d->cfg->wsd.www_dir);

        /* epoll, explicitly: libev would settle for poll/select if asked for "any" on an odd
         * kernel, and then idle connections would tax every request again. */
        d->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
        if (!d->loop)
                return log_error_errno(-EIO, "Failed to create the epoll event loop");
        ev_check_init(&d->check, on_check);
        ev_check_start(d->loop, &d->check);

        lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
        /* lws 4.1 loads its libev support from the libwebsockets-evlib_ev.so plugin (package
         * libwebsockets-evlib-ev) when this option is set; our loop is given as a foreign one,
         * so lws neither creates it nor installs a SIGINT watcher on it. */
        info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                       LWS_SERVER_OPTION_LIBEV;
        foreign_loops[0] = d->loop;
        info.foreign_loops = foreign_loops;
        info.user = d;
        /* the whole RLIMIT_NOFILE: a lower limit makes lws look fds up by a linear scan
         * (wsd-conn.c); admission (max_clients, pending caps) keeps the count in budget */
        info.fd_limit_per_thread = d->budget.fd_limit;
        /* one per-thread service buffer: reads and file sends in 64 KiB steps, not 4 KiB */
        info.pt_serv_buf_size = 64 * 1024;
        d->ctx = lws_create_context(&info);
        if (!d->ctx)
                return log_error_errno(-EIO, "Failed to create the libwebsockets context on "
                                             "libev (is libwebsockets-evlib-ev installed?)");

        info = (struct lws_context_creation_info){};
        info.vhost_name = "cgrouparch";
        info.port = (int) d->cfg->wsd.port;
        info.iface = d->cfg->wsd.bind;
        info.protocols = public_protocols;
        info.retry_and_idle_policy = &no_validity;
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
        if (!d->quit)
                (void) ev_run(d->loop, 0); /* until a signal's ev_break() */
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
                lws_context_destroy(d->ctx); /* closes every wsi */
                wsd_conn_free_all(d);
        }
        if (d->loop) {
                ev_io_stop(d->loop, &d->signal_io);
                ev_check_stop(d->loop, &d->check);
                ev_loop_destroy(d->loop);
        }
        if (d->signal_fd >= 0)
                close(d->signal_fd);
        cfg_free(d->cfg);
        free(d->cfg_path);
        free(d->channel);
        free(d->redis_where);
        free(d->latest);
        wsproto_vcache_clear(&d->vcache);
        if (log_wsd == d)
                log_wsd = NULL;
        free(d);
        return NULL;
}
