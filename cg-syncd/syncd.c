/* syncd.c — cg-syncd's state machine: config, the ZooKeeper session and its events, timers,
 * signals. All of it runs on the loop thread; the ZooKeeper client's threads only queue events
 * (see common/zk.h).
 *
 * The session: CONNECTED -> read <prefix>/arch_conf with a watch; every watch event, reconnect
 * and reconcile tick reads again (one read in flight at a time, a second request coalesces).
 * EXPIRED or AUTH_FAILED -> a new session (auths re-added by zk_connect), right away the first
 * time, then with backoff. The node missing -> keep the tree, an exists-watch waits for it. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>

#include "log.h"
#include "notify.h"
#include "syncd.h"
#include "util.h"

/* ---- the ZooKeeper client's own log: through ours, rate-limited (it floods while the server is
 * down). Called from the client's threads, hence the mutex. ---- */
static pthread_mutex_t zklog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ratelimit zklog_rl = RATELIMIT_INIT(30 * USEC_PER_SEC, 5);

static void syncd_zk_log(int priority, const char *msg) {
        unsigned suppressed = 0;
        int ok;

        pthread_mutex_lock(&zklog_lock);
        ok = ratelimit_below(&zklog_rl);
        if (ok) {
                suppressed = zklog_rl.suppressed;
                zklog_rl.suppressed = 0;
        }
        pthread_mutex_unlock(&zklog_lock);
        if (!ok)
                return;
        if (suppressed > 0)
                log_notice("zookeeper client: %u messages suppressed", suppressed);
        /* The client's errors are about the connection, which the daemon reports itself: never
         * above a warning. */
        log_full_errno(MAX(priority, LOG_WARNING), 0, "zookeeper client: %s", msg);
}

/* ---- status ---- */

void syncd_set_problem(struct syncd *d, const char *problem) {
        free(d->problem);
        d->problem = problem ? strdup(problem) : NULL;
        syncd_update_status(d);
}

/* The STATUS= text of the daemon as it is now (owned). */
static int syncd_status_text(const struct syncd *d, char **ret) {
        struct syncd_status st = {
                .node_path = d->node_path,
                .source = d->applied_source,
                .applied_version = d->applied ? d->applied->version : -1,
                .zk_state = d->zk_state,
                .node_missing = d->node_missing,
                .problem = d->problem,
                .change = &d->last_change,
        };

        return syncd_status_format(&st, ret);
}

void syncd_update_status(struct syncd *d) {
        _cleanup_free_ char *s = NULL;

        syncd_metrics_write(d); /* every state change passes here */
        if (syncd_status_text(d, &s) < 0)
                return;
        if (d->last_status && strcmp(d->last_status, s) == 0)
                return; /* unchanged: no need to tell systemd again */
        log_debug("status: %s", s);
        (void) notify_status("%s", s);
        free(d->last_status);
        d->last_status = TAKE_PTR(s);
}

static void syncd_ready(struct syncd *d) {
        _cleanup_free_ char *s = NULL;

        if (d->ready)
                return syncd_update_status(d);
        d->ready = true;
        (void) event_timer_set(d->startup_timer, 0);
        if (syncd_status_text(d, &s) < 0)
                return;
        log_info("Ready: %s", s);
        (void) notify_ready("%s", s);
        free(d->last_status);
        d->last_status = TAKE_PTR(s);
}

/* ---- reading the node ---- */

static void syncd_schedule_retry(struct syncd *d) {
        uint64_t rnd = 0, wait;

        d->backoff_usec = syncd_backoff_next(d->backoff_usec);
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                rnd = 0; /* no entropy yet (early boot): no jitter, still right */
        wait = syncd_backoff_jitter(d->backoff_usec, rnd);
        log_debug("retry in %" PRIu64 " ms", (uint64_t) (wait / USEC_PER_MSEC));
        (void) event_timer_set(d->retry_timer, wait);
}

static void syncd_read(struct syncd *d) {
        int r;

        if (d->zk_state != ZK_STATE_CONNECTED)
                return; /* the CONNECTED event reads */
        if (d->read_inflight) {
                d->read_again = true;
                return;
        }
        d->read_cookie++;
        r = zk_get(d->zk, d->node_path, true, d->read_cookie);
        if (r < 0) {
                log_debug_errno(r, "Failed to request %s: %m", d->node_path);
                syncd_schedule_retry(d);
                return;
        }
        d->read_inflight = true;
        d->read_again = false;
}

static void syncd_watch_creation(struct syncd *d) {
        int r;

        d->read_cookie++;
        r = zk_exists(d->zk, d->node_path, true, d->read_cookie);
        if (r < 0) {
                syncd_schedule_retry(d);
                return;
        }
        d->read_inflight = true;
}

/* The node is gone or was never there: keep the tree as it is (log once), and READY if this is
 * the start, with the snapshot applied when there is one. */
static void syncd_on_missing(struct syncd *d) {
        if (!d->node_missing || syncd_once(&d->once, SYNCD_ONCE_MISSING, 1))
                log_warning("%s does not exist; keeping the current tree, waiting for it to be "
                            "created",
                            d->node_path);
        d->node_missing = true;
        if (!d->ready && !d->applied)
                (void) syncd_apply_snapshot(d);
        syncd_set_problem(d, NULL);
        syncd_ready(d);
}

static void syncd_on_read_done(struct syncd *d, struct zk_event *ev) {
        enum syncd_read_action a = syncd_read_action(ev->err);
        _cleanup_free_ char *msg = NULL;
        int r;

        d->read_inflight = false;
        switch (a) {
        case SYNCD_READ_APPLY:
                d->backoff_usec = 0;
                if (ev->op == ZK_OP_EXISTS) {
                        /* created between our get and exists: read it */
                        syncd_read(d);
                        return;
                }
                syncd_once_reset(&d->once, SYNCD_ONCE_NOAUTH);
                syncd_once_reset(&d->once, SYNCD_ONCE_READ);
                if (d->node_missing) {
                        log_info("%s exists again (version %" PRId64 ")", d->node_path,
                                 ev->version);
                        d->node_missing = false;
                        syncd_once_reset(&d->once, SYNCD_ONCE_MISSING);
                }
                {
                        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
                        r = syncd_apply_text(d, &ev->data, ev->len, ev->version);
                        log_debug("version %" PRId64 ": %zu bytes handled in %" PRIu64 " us",
                                  ev->version, ev->len,
                                  (uint64_t) (now_usec(CLOCK_MONOTONIC) - t0));
                }
                if (r == -EINVAL && !d->applied && !d->ready)
                        (void) syncd_apply_snapshot(d);
                if (r < 0 && r != -EINVAL)
                        syncd_schedule_retry(d); /* the apply failed half-way: try again */
                else if (r == 0 && d->removals_refused > 0) {
                        d->removal_backoff_usec = syncd_backoff_next(d->removal_backoff_usec);
                        (void) event_timer_set(d->retry_timer, d->removal_backoff_usec);
                } else if (r == 0)
                        d->removal_backoff_usec = 0;
                if (r == 0 || r == -EINVAL || !d->ready)
                        syncd_ready(d);
                break;
        case SYNCD_READ_MISSING:
                if (ev->op == ZK_OP_GET) {
                        syncd_on_missing(d);
                        syncd_watch_creation(d);
                        return; /* read_again is served when the exists answer comes */
                }
                /* exists said no: the watch is armed, wait for ZK_WATCH_CREATED */
                break;
        case SYNCD_READ_NOAUTH:
                if (syncd_once(&d->once, SYNCD_ONCE_NOAUTH, 1))
                        log_error("Not authorized to read %s (%s): check [zookeeper] auth in %s; "
                                  "keeping the current tree",
                                  d->node_path, zk_rc_string(ev->zrc), d->cfg_path);
                if (xasprintf(&msg, "not authorized to read %s (check [zookeeper] auth)",
                              d->node_path) >= 0)
                        syncd_set_problem(d, msg);
                if (!d->ready && !d->applied)
                        (void) syncd_apply_snapshot(d);
                syncd_ready(d);
                syncd_schedule_retry(d);
                return;
        case SYNCD_READ_WAIT:
                return; /* the next CONNECTED (or the new session) reads again */
        case SYNCD_READ_RETRY:
                if (syncd_once(&d->once, SYNCD_ONCE_READ, (uint64_t) ev->zrc))
                        log_warning("Failed to read %s: %s; retrying", d->node_path,
                                    zk_rc_string(ev->zrc));
                syncd_schedule_retry(d);
                return;
        }
        if (d->read_again)
                syncd_read(d);
}

/* ---- session ---- */

static void syncd_connect(struct syncd *d) {
        int r;

        d->read_inflight = d->read_again = false; /* whatever was in flight died with the session */
        d->zk_state = ZK_STATE_CONNECTING;
        r = zk_connect(d->zk);
        if (r < 0) {
                if (syncd_once(&d->once, SYNCD_ONCE_CONNECT, (uint64_t) -r))
                        log_error_errno(r,
                                        "Failed to start a ZooKeeper session to %s: %m; "
                                        "retrying",
                                        d->cfg->zk.hosts);
                d->need_connect = true;
                syncd_schedule_retry(d);
                return;
        }
        d->need_connect = false;
}

static void syncd_on_session(struct syncd *d, enum zk_state state) {
        enum zk_state old = d->zk_state;

        d->zk_state = state;
        switch (state) {
        case ZK_STATE_CONNECTED:
                syncd_once_reset(&d->once, SYNCD_ONCE_CONNECT);
                if (old != ZK_STATE_CONNECTED && d->was_connected)
                        d->m.reconnects++;
                if (old != ZK_STATE_CONNECTED)
                        log_info("%s ZooKeeper %s (session 0x%" PRIx64 ", timeout %d ms)",
                                 d->was_connected ? "Reconnected to" : "Connected to",
                                 d->cfg->zk.hosts, (uint64_t) zk_session_id(d->zk),
                                 zk_session_timeout_ms(d->zk));
                d->was_connected = true;
                d->backoff_usec = 0;
                /* Changes made while we were away come in by re-reading, watch or not. */
                d->read_inflight = false;
                syncd_read(d);
                break;
        case ZK_STATE_CONNECTING:
                if (old == ZK_STATE_CONNECTED)
                        log_warning("Lost the connection to ZooKeeper %s; reconnecting (the "
                                    "tree stays as applied)",
                                    d->cfg->zk.hosts);
                break;
        case ZK_STATE_EXPIRED:
                log_warning("ZooKeeper session 0x%" PRIx64 " expired; opening a new one",
                            (uint64_t) zk_session_id(d->zk));
                syncd_connect(d);
                break;
        case ZK_STATE_AUTH_FAILED:
                if (syncd_once(&d->once, SYNCD_ONCE_CONNECT, 0xa11))
                        log_error("ZooKeeper refused the credentials in [zookeeper] auth of %s; "
                                  "retrying",
                                  d->cfg_path);
                d->need_connect = true;
                syncd_schedule_retry(d);
                break;
        case ZK_STATE_CLOSED:
                break;
        }
        syncd_update_status(d);
}

static int syncd_on_zk(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct syncd *d = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        for (;;) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
                int r = zk_next_event(d->zk, &ev);
                if (r <= 0)
                        return 0;
                switch (ev->type) {
                case ZK_EVENT_SESSION:
                        syncd_on_session(d, ev->state);
                        break;
                case ZK_EVENT_WATCH:
                        if (ev->path && strcmp(ev->path, d->node_path) == 0) {
                                log_debug("watch fired on %s", ev->path);
                                syncd_read(d);
                        }
                        break;
                case ZK_EVENT_DONE:
                        if (ev->op == ZK_OP_AUTH) {
                                if (ev->err < 0)
                                        log_debug("auth answer: %s", zk_rc_string(ev->zrc));
                        } else if (ev->cookie == d->read_cookie)
                                syncd_on_read_done(d, ev);
                        break;
                }
        }
}

/* ---- timers ---- */

static int syncd_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct syncd *d = userdata;

        (void) s;
        (void) usec;
        if (d->need_connect)
                syncd_connect(d);
        else if (d->zk_state == ZK_STATE_CONNECTED)
                syncd_read(d);
        else if (d->applied)
                (void) syncd_apply_conf(d, d->applied, d->applied_source, true);
        return 0;
}

static int syncd_on_reconcile(sd_event_source *s, uint64_t usec, void *userdata) {
        struct syncd *d = userdata;
        int r;

        (void) usec;
        r = event_timer_set(s, d->args.reconcile_usec);
        if (r < 0)
                return r;
        /* A cgroup removed by hand comes back: re-apply the last good conf against the tree
         * read afresh. When connected, also read the node, to catch a change whose watch might
         * have been missed. */
        log_debug("reconcile tick");
        if (d->applied)
                (void) syncd_apply_conf(d, d->applied, d->applied_source, true);
        if (d->zk_state == ZK_STATE_CONNECTED && !d->node_missing)
                syncd_read(d);
        return 0;
}

/* ZooKeeper did not answer in time at start: apply the last snapshot and say READY; the session
 * keeps trying and catches up when it comes. */
static int syncd_on_startup(sd_event_source *s, uint64_t usec, void *userdata) {
        struct syncd *d = userdata;
        int r;

        (void) s;
        (void) usec;
        if (d->ready)
                return 0;
        log_warning("ZooKeeper %s not reachable yet; applying the last snapshot %s and retrying",
                    d->cfg->zk.hosts, d->snapshot_path);
        r = syncd_apply_snapshot(d);
        if (r == -ENOENT)
                log_warning("No snapshot at %s yet: nothing to apply until ZooKeeper answers",
                            d->snapshot_path);
        syncd_ready(d);
        return 0;
}

/* ---- config ---- */

/* Builds what depends on the config into the fields of `n` (a scratch syncd): cgfs, zk, paths.
 * Logs what is wrong. */
static int syncd_prepare(struct syncd *n, const struct cfg *cfg, const char *cfg_path) {
        int r;

        if (!cfg->zk.prefix)
                return log_error_errno(-EINVAL, "%s: [zookeeper] prefix is required by cg-syncd",
                                       cfg_path);
        r = zk_path_join(cfg->zk.prefix, "arch_conf", &n->node_path);
        if (r < 0)
                return log_error_errno(r, "%s: [zookeeper] prefix '%s' is not a ZooKeeper path",
                                       cfg_path, cfg->zk.prefix);
        r = cfg_snapshot_path(cfg, &n->snapshot_path);
        if (r < 0)
                return log_error_errno(r, "Failed to build the snapshot path: %m");
        r = zk_new(cfg->zk.hosts, cfg->zk.session_timeout_ms, cfg->zk.auth, &n->zk);
        if (r < 0)
                return log_error_errno(r, "%s: [zookeeper] hosts '%s' or auth is invalid: %m",
                                       cfg_path, cfg->zk.hosts);
        if (n->args.check)
                return 0;
        r = cgfs_open_cfg(cfg, &n->fs); /* systemd mode: [systemd] bus, opened on first use */
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to open the cgroup filesystem at %s (root '%s'): %m",
                                       cfg->cg.dir, cfg->cg.root);
        /* v2 under systemd's Delegate=yes: out of the cgroup whose children we manage. */
        r = syncd_delegate(cfg, n->fs);
        if (r < 0)
                return r;
        if (mkdir(cfg->daemon.runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", cfg->daemon.runtime_dir);
        return 0;
}

static int syncd_attach_zk(struct syncd *d) {
        /* zk.c's queue: its client threads write the eventfd, we pop events on the loop */
        return event_add_io(d->event, &d->zk_source, zk_fd(d->zk), syncd_on_zk, d);
}

static void syncd_reload(struct syncd *d) {
        _cleanup_(cfg_freep) struct cfg *cfg = NULL;
        _cleanup_free_ char *err = NULL;
        struct syncd n = {.args = d->args};
        bool zk_changed;
        int r;

        (void) notify_reloading();
        log_info("SIGHUP: re-reading %s", d->cfg_path);
        r = cfg_load(d->cfg_path, &cfg, &err);
        if (r < 0) {
                log_error("Failed to reload %s: %s; keeping the running config", d->cfg_path,
                          err ? err : strerror(-r));
                goto done;
        }
        r = syncd_prepare(&n, cfg, d->cfg_path);
        if (r < 0) {
                log_error("Keeping the running config");
                zk_free(n.zk);
                cgfs_close(n.fs);
                free(n.node_path);
                free(n.snapshot_path);
                goto done;
        }
        zk_changed = strcmp(cfg->zk.hosts, d->cfg->zk.hosts) != 0 ||
                     strcmp(n.node_path, d->node_path) != 0 ||
                     cfg->zk.session_timeout_ms != d->cfg->zk.session_timeout_ms ||
                     strv_length(cfg->zk.auth) != strv_length(d->cfg->zk.auth);
        for (size_t i = 0; !zk_changed && cfg->zk.auth[i]; i++)
                zk_changed = strcmp(cfg->zk.auth[i], d->cfg->zk.auth[i]) != 0;

        syncd_bus_detach(d);
        cgfs_close(d->fs);
        d->fs = TAKE_PTR(n.fs);
        d->live_valid = false; /* maybe another tree now */
        if (strcmp(n.snapshot_path, d->snapshot_path) != 0) {
                d->snapshot_written = false; /* write the new one at the next apply */
        }
        free(d->snapshot_path);
        d->snapshot_path = TAKE_PTR(n.snapshot_path);
        free(d->node_path);
        d->node_path = TAKE_PTR(n.node_path);
        cfg_free(d->cfg);
        d->cfg = TAKE_PTR(cfg);
        if (zk_changed) {
                log_info("ZooKeeper settings changed: new session to %s for %s", d->cfg->zk.hosts,
                         d->node_path);
                d->zk_source = sd_event_source_disable_unref(d->zk_source);
                zk_free(d->zk);
                d->zk = TAKE_PTR(n.zk);
                r = syncd_attach_zk(d);
                if (r < 0)
                        log_error_errno(r, "Failed to watch the ZooKeeper queue: %m");
                d->node_missing = false;
                d->zk_state = ZK_STATE_CLOSED;
                syncd_connect(d);
        } else {
                zk_free(n.zk);
                /* re-apply with the new cgroup settings */
                if (d->zk_state == ZK_STATE_CONNECTED)
                        syncd_read(d);
                else if (d->applied)
                        (void) syncd_apply_conf(d, d->applied, d->applied_source, true);
        }
done:
        if (d->ready)
                (void) notify_ready("Reloaded %s", d->cfg_path);
        d->last_status = mfree(d->last_status); /* STATUS= says "Reloaded" now: resend ours */
        syncd_update_status(d);
}

static int syncd_on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
                           void *userdata) {
        struct syncd *d = userdata;

        (void) s;
        if (si->ssi_signo == SIGHUP) {
                syncd_reload(d);
                return 0;
        }
        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return sd_event_exit(d->event, 0);
}

/* ---- lifetime ---- */

struct syncd *syncd_free(struct syncd *d) {
        if (!d)
                return NULL;
        /* the source before the eventfd it watches, the session (its threads) before the loop */
        sd_event_source_disable_unref(d->zk_source);
        zk_free(d->zk);
        sd_event_source_disable_unref(d->retry_timer);
        sd_event_source_disable_unref(d->reconcile_timer);
        sd_event_source_disable_unref(d->startup_timer);
        sd_event_unref(d->event);
        cgfs_close(d->fs);
        cfg_free(d->cfg);
        conf_free(d->applied);
        live_tree_clear(&d->live);
        free(d->node_path);
        free(d->snapshot_path);
        free(d->problem);
        free(d->last_status);
        free(d->cfg_path);
        strv_free(d->warned);
        free(d);
        return NULL;
}

int syncd_check(const char *config_path) {
        _cleanup_(syncd_freep) struct syncd *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->args.check = true; /* syncd_prepare() opens no cgroup and touches nothing */
        r = daemon_load_cfg(config_path, &d->cfg);
        if (r < 0)
                return r;
        r = syncd_prepare(d, d->cfg, config_path);
        if (r < 0)
                return r;
        printf("%s: OK (node %s, snapshot %s)\n", config_path, d->node_path, d->snapshot_path);
        return 0;
}

int syncd_new(const struct syncd_args *args, struct syncd **ret) {
        _cleanup_(syncd_freep) struct syncd *d = NULL;
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, 0};
        uint64_t grace;
        int r;

        /* The ZooKeeper client's two threads would each get a malloc arena of their own; they
         * only copy small events, so share one and keep the footprint small. */
        (void) mallopt(M_ARENA_MAX, 1);
        /* A big conf's parse frees its JSON tree by runs of siblings while the model takes
         * their place: without fast bins the freed runs coalesce, the model packs into them,
         * and the pages left free can be given back (10,000 cgroups: 1 MiB less after the
         * apply). A fixed mmap threshold keeps the large short-lived buffers (the node's text,
         * the plan, the snapshot's text) out of the heap, where they would leave holes: glibc
         * would otherwise raise it to the size of the biggest buffer freed. */
        (void) mallopt(M_MXFAST, 0);
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        d = calloc(1, sizeof(*d));
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->zk_state = ZK_STATE_CLOSED;
        d->last_change.version = -1;
        d->args = *args;
        d->cfg_path = strdup(d->args.config_path);
        if (!d->cfg_path)
                return log_error_errno(-ENOMEM, "Out of memory");

        r = daemon_load_cfg(d->cfg_path, &d->cfg);
        if (r < 0)
                return r;
        r = syncd_prepare(d, d->cfg, d->cfg_path);
        if (r < 0)
                return r;
        zk_set_log_handler(syncd_zk_log, d->args.log_level >= LOG_DEBUG ? LOG_INFO : LOG_WARNING);

        /* Before the ZooKeeper client's threads start (syncd_start): they inherit the blocked
         * signals. The loop also sends WATCHDOG=1 when systemd asks for it. */
        r = event_new(sigs, syncd_on_signal, d, &d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        r = syncd_attach_zk(d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the ZooKeeper queue: %m");
        /* 1 ms accuracy for the short ones (backoff from 100 ms, the start grace); the default
         * (250 ms) is fine for the reconcile period */
        r = event_add_timer(d->event, &d->retry_timer, 0, USEC_PER_MSEC, syncd_on_retry, d);
        if (r < 0)
                return log_error_errno(r, "Failed to add a timer: %m");
        r = event_add_timer(d->event, &d->reconcile_timer, d->args.reconcile_usec, 0,
                            syncd_on_reconcile, d);
        if (r < 0)
                return log_error_errno(r, "Failed to add a timer: %m");
        grace = CLAMP((uint64_t) d->cfg->zk.session_timeout_ms * USEC_PER_MSEC / 2,
                      500 * USEC_PER_MSEC, 3 * USEC_PER_SEC);
        r = event_add_timer(d->event, &d->startup_timer, grace, USEC_PER_MSEC, syncd_on_startup,
                            d);
        if (r < 0)
                return log_error_errno(r, "Failed to add a timer: %m");
        *ret = TAKE_PTR(d);
        return 0;
}

int syncd_start(struct syncd *d) {
        log_info("cg-syncd %s: %s -> cgroup root '%s' under %s, snapshot %s", CGARCH_VERSION,
                 d->node_path, d->cfg->cg.root, d->cfg->cg.dir, d->snapshot_path);
        syncd_connect(d);
        syncd_update_status(d);
        return 0;
}
