/* daemon.c — cg-taskd's setup and its reactions: config (and SIGHUP), the applied snapshot
 * (inotify), the interval's full reconcile, the watchdog, SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "notify.h"
#include "taskd.h"
#include "util.h"

static void warn_unknown_names(struct taskd *d) {
        _cleanup_free_ char *names = NULL;

        if (!d->conf)
                return;
        if (taskd_rules_unknown_names(&d->rules, &names) < 0)
                return;
        if (taskd_warn_once(&d->unknown_warned, names))
                log_warning("No tree of the applied conf (version %lld) holds %s; their pid files "
                            "are ignored until one does",
                            (long long) d->conf->version, names);
}

/* [cgroup] mode = systemd: (re)creates the placement through the manager from c; anything else
 * drops it. d->fs is already opened from c: its backend, not c's mode, says which, since the
 * default mode = auto is systemd on a systemd host with cgroup2 (the .deb's shipped config:
 * tests/e2e/vm-deb.sh). */
static int taskd_sd_setup(struct taskd *d, const struct cfg *c) {
        struct sdplace *s = NULL;
        int r;

        if (!cgfs_is_systemd(d->fs)) {
                d->sd = sdplace_free(d->sd);
                return 0;
        }
        r = sdplace_new(c, &s);
        if (r < 0)
                return log_error_errno(r, "Cannot place through the systemd manager at '%s' "
                                          "([systemd] bus): %m",
                                       c->systemd.bus);
        sdplace_free(d->sd);
        d->sd = s;
        sdplace_set_event(s, d->event); /* NULL at start: taskd_new() sets it */
        return 0;
}

/* Rebuilds rules and their expected memberships from d->cfg and d->conf. */
static int rules_refresh(struct taskd *d) {
        struct taskd_rules rules;
        int r;

        r = taskd_rules_build(d->cfg->pid_files, d->cfg->n_pid_files, d->conf, &rules);
        if (r < 0)
                return log_error_errno(r, "Failed to build the placement rules: %m");
        /* systemd mode: a node is a slice, which exists with or without controllers, and an
         * inner slice holds units, not processes (no "internal process" conflict). */
        if (d->sd)
                goto done;
        /* Drop targets of subsystems this machine does not manage (e.g. blkio on a v2 host
         * without the io controller): there is nowhere to put them. */
        for (size_t i = 0; i < rules.n; i++)
                for (size_t j = 0; j < rules.v[i].n_targets;) {
                        struct taskd_target *t = &rules.v[i].targets[j];
                        if (cgfs_has_subsys(d->fs, t->subsys)) {
                                j++;
                                continue;
                        }
                        free(t->path);
                        memmove(t, t + 1, (rules.v[i].n_targets - j - 1) * sizeof(*t));
                        rules.v[i].n_targets--;
                }
        if (cgfs_is_v2(d->fs) && d->conf) {
                _cleanup_free_ char *inner = NULL;

                r = taskd_rules_refuse_v2_inner(&rules, d->conf, &inner);
                if (r < 0) {
                        taskd_rules_clear(&rules);
                        return log_error_errno(r, "Failed to build the placement rules: %m");
                }
                if (taskd_warn_once(&d->inner_warned, inner))
                        log_error("Not placing the processes of %s: cgroup v2 \"no internal "
                                  "processes\": the applied conf (version %lld) gives it child "
                                  "cgroups, so it cannot hold processes; map its pid file to a "
                                  "leaf cgroup ([pid_files])",
                                  inner, (long long) d->conf->version);
        }
done:
        taskd_rules_clear(&d->rules);
        d->rules = rules;
        r = taskd_caps_sync(d);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        warn_unknown_names(d);
        return 0;
}

/* Reads the snapshot; keeps the last good conf when there is none or it is bad. Returns 1 when
 * the conf was replaced. */
static int snapshot_load(struct taskd *d) {
        struct conf_errors errs = {};
        struct conf *c = NULL;
        int r;

        r = snapshot_read(d->snapshot_path, &c, &errs);
        if (r == -ENOENT) {
                if (!d->conf)
                        log_info("No applied conf yet at %s; waiting for cg-syncd",
                                 d->snapshot_path);
                return 0;
        }
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                if (errs.n > 0)
                        (void) conf_errors_format(&errs, -1, &text);
                conf_errors_clear(&errs);
                if (taskd_warn_once(&d->snapshot_warned, text ? text : "?")) {
                        if (text)
                                log_error("Ignoring the applied conf %s (keeping the last good "
                                          "one): %s",
                                          d->snapshot_path, text);
                        else
                                log_error_errno(r,
                                                "Ignoring the applied conf %s (keeping the "
                                                "last good one): %m",
                                                d->snapshot_path);
                }
                return 0;
        }
        (void) taskd_warn_once(&d->snapshot_warned, NULL);
        conf_free(d->conf);
        d->conf = c; /* owned by d now */
        log_info("Following applied conf version %lld", (long long) d->conf->version);
        return 1;
}

static int on_snapshot(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct taskd *d = userdata;
        int r;

        (void) s;
        (void) fd;
        (void) revents;
        r = snapshot_watch_drain(d->snap);
        if (r < 0)
                return log_error_errno(r, "Failed to follow %s: %m", d->snapshot_path);
        if (r == 0)
                return 0;
        r = snapshot_load(d);
        if (r <= 0)
                return 0;
        /* A new conf: names may have moved or appeared; missing cgroups get retried (the fresh
         * rules start with missing = false). */
        r = rules_refresh(d);
        if (r < 0)
                return r;
        return taskd_full_pass(d) == -ENOMEM ? -ENOMEM : 0;
}

static int on_interval(sd_event_source *s, uint64_t usec, void *userdata) {
        struct taskd *d = userdata;
        int r;

        (void) usec;
        r = event_timer_set(s, (uint64_t) d->cfg->taskd.interval_sec * USEC_PER_SEC);
        if (r < 0)
                return r;
        /* catches processes moved away by others, and any event we could not see (also a
         * directory below a glob's first level, which no event of ours announces) */
        r = taskd_watch_sync(d);
        if (r < 0)
                return log_error_errno(r, "Failed to update the pid-file watches: %m");
        return taskd_full_pass(d) == -ENOMEM ? -ENOMEM : 0;
}

static bool same_str(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int reload(struct taskd *d) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        _cleanup_free_ char *err = NULL, *snap_path = NULL;
        struct cgfs *fs = NULL;
        int r;

        (void) notify_reloading();
        r = cfg_load(d->config_path, &c, &err);
        if (r < 0) {
                log_error("Not reloading, keeping the running config: %s",
                          err ? err : strerror(-r));
                taskd_update_status(d);
                return 0;
        }
        if (!same_str(c->cg.dir, d->cfg->cg.dir) || !same_str(c->cg.root, d->cfg->cg.root) ||
            c->cg.mode != d->cfg->cg.mode) {
                r = cgfs_open(c->cg.dir, c->cg.root, (enum cgfs_mode) c->cg.mode, &fs);
                if (r < 0) {
                        log_error_errno(r,
                                        "Not reloading: cannot open the cgroup hierarchies "
                                        "under %s: %m",
                                        c->cg.dir);
                        taskd_update_status(d);
                        return 0;
                }
                cgfs_close(d->fs);
                d->fs = fs;
        }
        r = cfg_snapshot_path(c, &snap_path);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (!same_str(snap_path, d->snapshot_path)) {
                struct snapshot_watch *w = NULL;

                r = snapshot_watch_new(snap_path, &w);
                if (r < 0)
                        log_error_errno(r, "Cannot follow %s, keeping %s: %m", snap_path,
                                        d->snapshot_path);
                else {
                        d->snap_src = sd_event_source_disable_unref(d->snap_src);
                        snapshot_watch_free(d->snap);
                        d->snap = w;
                        free(d->snapshot_path);
                        d->snapshot_path = TAKE_PTR(snap_path);
                        r = event_add_io(d->event, &d->snap_src, snapshot_watch_fd(w),
                                         on_snapshot, d);
                        if (r < 0)
                                return log_error_errno(r, "Failed to watch the snapshot: %m");
                        conf_free(d->conf);
                        d->conf = NULL;
                        (void) snapshot_load(d);
                }
        }
        if (c->taskd.interval_sec != d->cfg->taskd.interval_sec) {
                uint64_t iv = (uint64_t) c->taskd.interval_sec * USEC_PER_SEC;
                r = event_timer_set(d->interval_src, iv);
                if (r < 0)
                        return log_error_errno(r, "Failed to reset the interval timer: %m");
        }
        r = taskd_sd_setup(d, c);
        if (r < 0) {
                taskd_update_status(d);
                return 0;
        }
        cfg_free(d->cfg);
        d->cfg = TAKE_PTR(c);
        /* the rules may have new indices: per-file state starts over, and the caps warn again */
        taskd_files_clear(d);
        for (size_t i = 0; i < d->n_caps; i++)
                d->dir_caps[i].warned = false;
        r = rules_refresh(d);
        if (r < 0)
                return r;
        r = taskd_watch_sync(d);
        if (r < 0)
                return log_error_errno(r, "Failed to update the pid-file watches: %m");
        log_info("Reloaded %s: %zu pid-file rules, every %u s", d->config_path, d->rules.n,
                 d->cfg->taskd.interval_sec);
        r = taskd_full_pass(d);
        return r == -ENOMEM ? r : 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct taskd *d = userdata;

        (void) s;
        if (si->ssi_signo == SIGHUP) {
                _cleanup_free_ char *st = NULL;
                int r = reload(d);
                /* RELOADING=1 was sent: a Type=notify unit stays "reloading" until READY=1 */
                if (d->sd ? sdplace_status(d, &st) >= 0
                          : taskd_status_format(d->last.n_processes, d->last.n_cgroups,
                                                d->last_pass_usec, &st) >= 0)
                        (void) notify_ready("%s", st);
                return r;
        }
        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return sd_event_exit(d->event, 0);
}

void taskd_update_status(struct taskd *d) {
        _cleanup_free_ char *s = NULL;

        taskd_metrics_write(d);
        if (d->sd) {
                if (sdplace_status(d, &s) >= 0)
                        (void) notify_status("%s", s);
                return;
        }
        if (taskd_status_format(d->last.n_processes, d->last.n_cgroups, d->last_pass_usec, &s) >= 0)
                (void) notify_status("%s", s);
}

struct taskd *taskd_free(struct taskd *d) {
        if (!d)
                return NULL;
        /* sources first (each holds a reference on the loop), then what they pointed at */
        sd_event_source_disable_unref(d->tree_src);
        sd_event_source_disable_unref(d->snap_src);
        sd_event_source_disable_unref(d->inotify_src);
        sd_event_source_disable_unref(d->interval_src);
        sd_event_source_disable_unref(d->resync_src);
        sd_event_source_disable_unref(d->inotify_pause_src);
        taskd_placements_done(d);
        sd_event_unref(d->event);
        taskd_watch_done(d);
        if (d->inotify_fd >= 0)
                close(d->inotify_fd);
        taskd_files_clear(d);
        free(d->file_caps);
        free(d->dir_caps);
        taskd_rules_clear(&d->rules);
        pidvec_clear(&d->queue);
        snapshot_watch_free(d->snap);
        proc_walk_free(d->walk);
        proc_tree_free(d->tree);
        conf_free(d->conf);
        cgfs_close(d->fs);
        sdplace_free(d->sd);
        cfg_free(d->cfg);
        free(d->snapshot_path);
        free(d->config_path);
        free(d->unknown_warned);
        free(d->snapshot_warned);
        free(d->inner_warned);
        free(d);
        return NULL;
}

/* Config, cgroup hierarchies, /proc and the snapshot: what both the daemon and --check need. */
static int taskd_load(const char *config_path, struct taskd **ret) {
        _cleanup_(taskd_freep) struct taskd *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->inotify_fd = -1;
        d->config_path = strdup(config_path);
        if (!d->config_path)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = daemon_load_cfg(config_path, &d->cfg);
        if (r < 0)
                return r;
        r = cgfs_open(d->cfg->cg.dir, d->cfg->cg.root, (enum cgfs_mode) d->cfg->cg.mode, &d->fs);
        if (r < 0)
                return log_error_errno(r, "Cannot open the cgroup hierarchies under %s: %m",
                                       d->cfg->cg.dir);
        r = proc_walk_new("/proc", &d->walk);
        if (r < 0)
                return log_error_errno(r, "Cannot open /proc: %m");
        r = taskd_sd_setup(d, d->cfg);
        if (r < 0)
                return r;
        d->hz = sysconf(_SC_CLK_TCK);
        r = cfg_snapshot_path(d->cfg, &d->snapshot_path);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        (void) snapshot_load(d);
        r = rules_refresh(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static int on_tree(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct taskd *d = userdata;
        int r;

        (void) s;
        (void) fd;
        (void) revents;
        r = proc_tree_update(d->tree);
        if (r < 0) {
                log_warning_errno(r, "Lost the process events connector (%m); walking /proc "
                                     "from now on");
                d->tree_src = sd_event_source_disable_unref(d->tree_src);
                d->tree = proc_tree_free(d->tree);
        }
        return 0;
}

/* The process tree is an accelerator: without it every tree is walked through /proc. */
static int tree_setup(struct taskd *d) {
        int r;

        r = proc_tree_new("/proc", &d->tree);
        if (r < 0) {
                log_full_errno(LOG_NOTICE, r,
                               "Process events connector unavailable (%m); walking "
                               "/proc/<pid>/task/*/children instead");
                return 0;
        }
        r = event_add_io(d->event, &d->tree_src, proc_tree_fd(d->tree), on_tree, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the process events: %m");
        log_debug("Process tree: %zu processes", proc_tree_size(d->tree));
        return 0;
}

int taskd_new(const char *config_path, struct taskd **ret) {
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, 0};
        _cleanup_(taskd_freep) struct taskd *d = NULL;
        int r;

        r = taskd_load(config_path, &d);
        if (r < 0)
                return r;
        r = event_new(sigs, on_signal, d, &d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        sdplace_set_event(d->sd, d->event);
        r = tree_setup(d);
        if (r < 0)
                return r;
        r = snapshot_watch_new(d->snapshot_path, &d->snap);
        if (r < 0)
                return log_error_errno(r, "Cannot follow %s: %m", d->snapshot_path);
        r = event_add_io(d->event, &d->snap_src, snapshot_watch_fd(d->snap), on_snapshot, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the snapshot: %m");
        /* the snapshot may have changed between the first read and the watch */
        if (snapshot_load(d) > 0) {
                r = rules_refresh(d);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

int taskd_start(struct taskd *d) {
        uint64_t iv = (uint64_t) d->cfg->taskd.interval_sec * USEC_PER_SEC;
        int r;

        r = taskd_watch_init(d);
        if (r < 0)
                return r;
        r = taskd_full_pass(d);
        if (r < 0)
                return r;
        /* default accuracy: a full pass may come up to 250 ms late, in step with other wake-ups */
        r = event_add_timer(d->event, &d->interval_src, iv, 0, on_interval, d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the interval timer: %m");
        log_info(
                "Placing processes of %zu pid-file rules; full pass every %u s, first took %llu us",
                d->rules.n, d->cfg->taskd.interval_sec, (unsigned long long) d->last_pass_usec);
        return 0;
}

int taskd_check(const char *config_path) {
        _cleanup_(taskd_freep) struct taskd *d = NULL;
        size_t n_patterns = 0, n_resolved = 0, n_inner = 0;
        int r;

        r = taskd_load(config_path, &d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->rules.n; i++) {
                n_patterns += strv_length(d->rules.v[i].patterns);
                if (d->rules.v[i].n_targets > 0)
                        n_resolved++;
                if (d->rules.v[i].v2_inner)
                        n_inner++;
        }
        if (n_inner > 0) /* the error naming them was logged by rules_refresh() */
                return log_error_errno(-EINVAL, "%s: not OK: %zu pid-file rule%s map%s to a cgroup "
                                                "that cannot hold processes on cgroup v2",
                                       config_path, n_inner, n_inner == 1 ? "" : "s",
                                       n_inner == 1 ? "s" : "");
        printf("%s: OK: %zu pid-file rule%s (%zu pattern%s), %zu held by ", config_path, d->rules.n,
               d->rules.n == 1 ? "" : "s", n_patterns, n_patterns == 1 ? "" : "s", n_resolved);
        if (d->conf)
                printf("applied conf version %lld", (long long) d->conf->version);
        else
                printf("no applied conf yet (%s)", d->snapshot_path);
        printf(", full pass every %u s, cgroup root '%s' (%s)\n", d->cfg->taskd.interval_sec,
               cgfs_root(d->fs),
               cgfs_is_systemd(d->fs) ? "systemd" : cgfs_is_v2(d->fs) ? "v2" : "v1");
        return 0;
}
