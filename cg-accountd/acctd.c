/* acctd.c — cg-accountd's life cycle: config, cgroup layout, Redis, the snapshot it follows,
 * the loop sources; SIGHUP reload. Runs on the loop thread only. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "acctd.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "util.h"

/* What a config builds; swapped in whole on SIGHUP only once all of it succeeded. */
struct acctd_env {
        struct cfg *cfg;
        struct cgfs *fs;
        struct rds *rds;
        struct snapshot_watch *watch;
        char *snapshot_path, *key_prefix, *arch_conf_key, *channel;
};

static void env_clear(struct acctd_env *e) {
        e->cfg = cfg_free(e->cfg);
        e->fs = cgfs_close(e->fs);
        e->rds = rds_free(e->rds);
        e->watch = snapshot_watch_free(e->watch);
        e->snapshot_path = mfree(e->snapshot_path);
        e->key_prefix = mfree(e->key_prefix);
        e->arch_conf_key = mfree(e->arch_conf_key);
        e->channel = mfree(e->channel);
}

/* Loads the config at path and builds everything it names. Logs what fails. */
static int env_load(const char *path, struct acctd_env *e) {
        int r;

        r = daemon_load_cfg(path, &e->cfg);
        if (r < 0)
                return r;
        r = cgfs_open_cfg(e->cfg, &e->fs);
        if (r < 0)
                return log_error_errno(r, "Failed to find the cgroup hierarchies under %s: %m",
                                       e->cfg->cg.dir);
        /* A tick is the natural retry rate: at most one connect per second, each bounded by the
         * tick's budget. A cap just under 1 s keeps the retry on every tick (a 1 s cap would skip
         * every other one, and a restarted Redis would wait up to 2 s). */
        r = rds_new(&(struct rds_options){.host = e->cfg->redis.socket ? e->cfg->redis.socket
                                                                       : e->cfg->redis.host,
                                          .port = e->cfg->redis.port,
                                          .password = e->cfg->redis.password,
                                          .backoff_min_usec = 250 * USEC_PER_MSEC,
                                          .backoff_max_usec = 900 * USEC_PER_MSEC},
                    &e->rds);
        if (r < 0)
                return log_error_errno(r, "Bad [redis] host/port: %m");
        r = cfg_snapshot_path(e->cfg, &e->snapshot_path);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (xasprintf(&e->key_prefix, "%s/account/", e->cfg->redis.prefix) < 0 ||
            xasprintf(&e->arch_conf_key, "%s/arch_conf", e->cfg->redis.prefix) < 0 ||
            xasprintf(&e->channel, "%s/account", e->cfg->redis.prefix) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        return 0;
}

/* Reads the snapshot; on a change rebuilds what is read. Bad or missing: keeps the last good. */
static int load_snapshot(struct acctd *d) {
        static bool said_missing;
        _cleanup_free_ char *text = NULL;
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors errs = {};
        size_t len;
        int r;

        r = read_full_file(d->snapshot_path, &text, &len);
        if (r == -ENOENT) {
                if (!said_missing)
                        log_info("No snapshot at %s yet (cg-syncd writes it); waiting",
                                 d->snapshot_path);
                said_missing = true;
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to read %s, keeping the last one: %m",
                                  d->snapshot_path);
                return 0; /* not fatal: the next change event retries */
        }
        said_missing = false;
        if (d->snapshot_text && strcmp(text, d->snapshot_text) == 0)
                return 0;
        r = snapshot_parse(text, len, &c, &errs);
        if (r < 0) {
                _cleanup_free_ char *msg = NULL;
                (void) conf_errors_format(&errs, -1, &msg);
                conf_errors_clear(&errs);
                log_error_errno(r, "Bad snapshot %s, keeping the last one: %s", d->snapshot_path,
                                msg ? msg : "invalid");
                return 0; /* not fatal: cg-syncd never writes one; someone else did */
        }
        conf_free(d->conf);
        d->conf = TAKE_PTR(c); /* ownership: d */
        free(d->snapshot_text);
        d->snapshot_text = TAKE_PTR(text);
        d->arch_conf_dirty = true;
        r = acctd_trees_build(d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reading: %m");
        log_info("Snapshot version %" PRId64 ": %zu cgroups to sample", d->conf->version,
                 d->n_cgroups);
        r = acctd_blkio_enable(d);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Block IO counters may stay at 0: %m");
        if (d->reset_pending) {
                d->reset_pending = false;
                (void) acctd_reset_counters(d);
        }
        return 0;
}

static int on_snapshot(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct acctd *d = userdata;
        int r;

        (void) s, (void) fd, (void) revents;
        r = snapshot_watch_drain(d->watch);
        if (r < 0)
                return log_error_errno(r, "Lost the watch on %s: %m", d->snapshot_path);
        return r > 0 ? load_snapshot(d) : 0;
}

/* Installs env into d (taking ownership of all of it) and re-registers the watch. */
static int env_install(struct acctd *d, struct acctd_env *e) {
        sd_event_source *src = NULL;
        int r;

        r = snapshot_watch_new(e->snapshot_path, &e->watch);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", e->snapshot_path);
        r = event_add_io(d->event, &src, snapshot_watch_fd(e->watch), on_snapshot, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", e->snapshot_path);

        acctd_trees_clear(d); /* the cached fds belong to the old layout */
        sd_event_source_disable_unref(d->watch_src);
        d->watch_src = src;
#define SWAP_IN(field, from)                                                                       \
        do {                                                                                       \
                __typeof__(d->field) _old = d->field;                                              \
                d->field = TAKE_PTR(e->from);                                                      \
                e->from = _old; /* freed by env_clear */                                           \
        } while (0)
        SWAP_IN(cfg, cfg);
        SWAP_IN(fs, fs);
        SWAP_IN(rds, rds);
        SWAP_IN(watch, watch);
        SWAP_IN(snapshot_path, snapshot_path);
        SWAP_IN(key_prefix, key_prefix);
        SWAP_IN(arch_conf_key, arch_conf_key);
        SWAP_IN(channel, channel);
#undef SWAP_IN
        env_clear(e);

        /* The layout or the prefix may differ: rebuild what is read from the conf we have (kept
         * if the snapshot file is now missing or bad), re-send arch_conf, then look at the file. */
        d->blkio_enabled = false;
        d->outage = false;
        d->arch_conf_dirty = true;
        if (d->conf) {
                r = acctd_trees_build(d);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up reading: %m");
                (void) acctd_blkio_enable(d);
        }
        return load_snapshot(d);
}

static int reload(struct acctd *d) {
        struct acctd_env e = {};
        int r;

        (void) notify_reloading();
        log_info("Reloading %s", d->cfg_path);
        r = env_load(d->cfg_path, &e);
        if (r >= 0)
                r = env_install(d, &e);
        env_clear(&e);
        if (r < 0)
                log_warning("Reload failed; %s", d->cfg ? "running on" : "stopping");
        (void) notify_ready("%zu cgroups, reloaded", d->n_cgroups);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct acctd *d = userdata;

        (void) s;
        if (si->ssi_signo == SIGHUP)
                return reload(d);
        log_info("Got %s, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(d->event, 0);
}

/* Keeping one fd per stat file open saves an open+close per file per second. Use what the hard
 * limit allows, leaving room for everything else. */
static size_t raise_fd_budget(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 0;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit want = {.rlim_cur = MIN(rl.rlim_max, (rlim_t) 1 << 20),
                                      .rlim_max = rl.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &want) >= 0)
                        rl = want;
        }
        return rl.rlim_cur > 256 ? (size_t) (rl.rlim_cur - 256) : 0;
}

struct acctd *acctd_free(struct acctd *d) {
        if (!d)
                return NULL;
        acctd_trees_clear(d);
        /* our sources first: each holds a reference on the loop (the signals are the loop's) */
        d->watch_src = sd_event_source_disable_unref(d->watch_src);
        d->tick = acctd_tick_free(d->tick);
        d->event = sd_event_unref(d->event);
        struct acctd_env e = {.cfg = d->cfg,
                              .fs = d->fs,
                              .rds = d->rds,
                              .watch = d->watch,
                              .snapshot_path = d->snapshot_path,
                              .key_prefix = d->key_prefix,
                              .arch_conf_key = d->arch_conf_key,
                              .channel = d->channel};
        env_clear(&e);
        conf_free(d->conf);
        free(d->snapshot_text);
        free(d->cfg_path);
        acct_buf_free(&d->sample);
        cgfs_buf_free(&d->readbuf);
        free(d);
        return NULL;
}

int acctd_new(const char *cfg_path, struct acctd **ret) {
        _cleanup_(acctd_freep) struct acctd *d = NULL;
        struct acctd_env e = {};
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, 0};
        int r;

        d = calloc(1, sizeof(*d));
        if (!d || !(d->cfg_path = strdup(cfg_path)))
                return log_error_errno(-ENOMEM, "Out of memory");
        /* signals go through the loop; it also sends WATCHDOG=1 when systemd asks for it */
        r = event_new(sigs, on_signal, d, &d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        d->fd_budget = raise_fd_budget();

        r = env_load(cfg_path, &e);
        if (r >= 0) {
                d->reset_pending = e.cfg->accountd.reset_on_start;
                r = env_install(d, &e);
        }
        env_clear(&e);
        if (r < 0)
                return r;

        r = acctd_tick_new(d->event, USEC_PER_SEC, 0, acctd_on_tick, d, &d->tick);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the per-second timer: %m");
        if (d->cfg->redis.socket)
                log_info("cg-accountd %s: sampling into Redis at %s prefix %s every second",
                         CGARCH_VERSION, d->cfg->redis.socket, d->cfg->redis.prefix);
        else
                log_info("cg-accountd %s: sampling into Redis %s:%u prefix %s every second",
                         CGARCH_VERSION, d->cfg->redis.host, d->cfg->redis.port,
                         d->cfg->redis.prefix);
        *ret = TAKE_PTR(d);
        return 0;
}

int acctd_check(const char *cfg_path) {
        struct acctd_env e = {};
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors errs = {};
        int r;

        r = env_load(cfg_path, &e);
        if (r < 0) {
                env_clear(&e);
                return r;
        }
        printf("config %s: ok\n", cfg_path);
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const char *dir = cgfs_has_subsys(e.fs, (enum conf_subsys) s)
                                          ? cgfs_acct_dir(e.fs, (enum conf_subsys) s)
                                          : NULL;
                printf("%s: %s\n", conf_subsys_name((enum conf_subsys) s),
                       dir ? dir : "not mounted");
        }
        printf("redis: %s:%u, keys %s<slot> EX %u, channel %s\n", e.cfg->redis.host,
               e.cfg->redis.port, e.key_prefix, e.cfg->redis.expire_sec, e.channel);
        r = snapshot_read(e.snapshot_path, &c, &errs);
        if (r == -ENOENT) {
                printf("snapshot %s: none yet\n", e.snapshot_path);
                r = 0;
        } else if (r < 0) {
                _cleanup_free_ char *msg = NULL;
                (void) conf_errors_format(&errs, -1, &msg);
                log_error_errno(r, "Bad snapshot %s: %s", e.snapshot_path, msg ? msg : "%m");
        } else
                printf("snapshot %s: version %" PRId64 ", %zu cgroups\n", e.snapshot_path,
                       c->version, c->n_nodes);
        conf_errors_clear(&errs);
        env_clear(&e);
        return r;
}
