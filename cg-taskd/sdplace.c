/* sdplace.c — see sdplace.h; the decisions are sdplan.c's.
 *
 * Why drop-ins for services and transient scopes for the rest: a service's processes belong to
 * its unit, and only the unit's own Slice= moves them without systemd losing track (stop, kill,
 * restart keep covering every process). A drop-in in the manager's runtime unit directory
 * (/run/systemd/system/<unit>.d/50-cgrouparch-slice.conf) is the documented way to change a
 * unit we do not own, survives daemon-reload and a manager re-exec, and is gone at reboot with
 * /run. systemd only moves a running unit when it restarts, so until then the unit is
 * "pending". A process outside any service has no unit file to extend: systemd moves it
 * (StartTransientUnit .scope, PIDs=) and its later children start inside that scope.
 *
 * Synchronous method calls on the loop thread: the manager answers in well under a
 * millisecond, and a call is made only for pid-file processes (a handful), not for their trees.
 * The bus is attached to cg-taskd's sd-event loop (sdplace_set_event), which reads what no call
 * waits for. Not done: waiting for the restart jobs' JobRemoved signals on the loop instead of
 * judging a restart at the next pid-file event. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "sdplace.h"
#include "sdplan.h"
#include "sdslice.h"
#include "sdunit.h"
#include "taskd.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_CALL_TIMEOUT_USEC (10 * USEC_PER_SEC)

enum sdplace_state {
        UNIT_PLACED,
        UNIT_PENDING,   /* a service whose drop-in waits for its next start */
        UNIT_RETURNING, /* a service whose drop-in we removed, still in the removed node's slice */
};

struct sdplace_unit {
        char *unit;  /* "demo.service", "cgrouparch-web-42.scope" */
        char *slice; /* where it should be ("" for a return to its default) */
        char *now;   /* the slice its cgroup is in now */
        enum sdplace_state state;
};

struct sdplace_warn {
        char *path; /* a pid file, or "" for the bus */
        char *key;
};

struct sdplace {
        char *bus_spec;
        char *dropin_root; /* e.g. /run/systemd/system */
        char *root_slice;  /* "cgrouparch.slice" */
        char *state_path;  /* <runtime_dir>/taskd-state.json */
        bool restart;      /* [systemd] restart_services */
        sd_bus *bus;
        sd_event *event; /* the daemon's loop the bus is attached to (borrowed), or NULL */

        struct sdplace_unit *units; /* what the last passes saw */
        size_t n_units;
        char **write_units, **write_slices; /* this batch's drop-ins (parallel strvs) */
        char **restart_units;               /* this batch's restarts */
        bool need_reload;
        char **restarted; /* restarted since their drop-in was written: at most once each */
        char **returning; /* drop-in removed, not restarted (restart_services = no) */
        struct sdplace_warn *warns;
        size_t n_warns;
};

/* ---- small helpers ---- */

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static void unit_done(struct sdplace_unit *u) {
        free(u->unit);
        free(u->slice);
        free(u->now);
}

static void units_clear(struct sdplace *s) {
        for (size_t i = 0; i < s->n_units; i++)
                unit_done(&s->units[i]);
        s->units = mfree(s->units);
        s->n_units = 0;
}

/* Records (or updates) what a pass saw of one unit. */
static int units_put(struct sdplace *s, const char *unit, const char *slice, const char *now,
                     enum sdplace_state state) {
        struct sdplace_unit *u = NULL, *nv;

        for (size_t i = 0; i < s->n_units; i++)
                if (strcmp(s->units[i].unit, unit) == 0) {
                        u = &s->units[i];
                        unit_done(u);
                        break;
                }
        if (!u) {
                nv = realloc(s->units, (s->n_units + 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                s->units = nv;
                u = &s->units[s->n_units++];
        }
        *u = (struct sdplace_unit){.unit = strdup(unit),
                                   .slice = strdup(slice ? slice : ""),
                                   .now = strdup(now ? now : ""),
                                   .state = state};
        if (!u->unit || !u->slice || !u->now)
                return -ENOMEM;
        return 0;
}

static void strv_remove(char **l, const char *s) {
        size_t k = 0;

        if (!l)
                return;
        for (size_t i = 0; l[i]; i++) {
                if (strcmp(l[i], s) == 0)
                        free(l[i]);
                else
                        l[k++] = l[i];
        }
        l[k] = NULL;
}

/* Warn-once per pid file (or "" for the bus): true when `key` is new for `path`. key NULL
 * resets. */
static bool warn_once(struct sdplace *s, const char *path, const char *key) {
        struct sdplace_warn *w = NULL, *nv;

        for (size_t i = 0; i < s->n_warns; i++)
                if (strcmp(s->warns[i].path, path) == 0)
                        w = &s->warns[i];
        if (!w) {
                if (!key)
                        return false;
                nv = realloc(s->warns, (s->n_warns + 1) * sizeof(*nv));
                if (!nv)
                        return true;
                s->warns = nv;
                w = &s->warns[s->n_warns++];
                *w = (struct sdplace_warn){.path = strdup(path)};
                if (!w->path) {
                        s->n_warns--;
                        return true;
                }
        }
        return taskd_warn_once(&w->key, key);
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *c = p + 1; *c; c++) {
                if (*c != '/')
                        continue;
                *c = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *c = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* ---- the bus ---- */

static bool bus_error_is_disconnect(int r) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ECONNREFUSED ||
               r == -ESHUTDOWN;
}

/* Forgets a broken connection (a manager re-exec closes its private socket's clients); the
 * next use reconnects. */
static int bus_check(struct sdplace *s, int r) {
        if (r < 0 && bus_error_is_disconnect(r))
                s->bus = sd_bus_flush_close_unref(s->bus);
        return r;
}

static int bus_get(struct sdplace *s, sd_bus **ret) {
        int r;

        if (!s->bus) {
                r = sdunit_bus_open(s->bus_spec, &s->bus);
                if (r < 0) {
                        if (warn_once(s, "", "open"))
                                log_warning_errno(r, "Cannot reach the systemd manager at '%s' "
                                                     "(%m); placing nothing until it answers",
                                                  s->bus_spec);
                        return r;
                }
                (void) sd_bus_set_method_call_timeout(s->bus, SD_CALL_TIMEOUT_USEC);
                /* On the daemon's loop, which reads what no call waits for (the unit signals a
                 * private manager socket sends); calls still read their own replies. */
                if (s->event)
                        (void) sd_bus_attach_event(s->bus, s->event, SD_EVENT_PRIORITY_NORMAL);
                (void) warn_once(s, "", NULL);
                log_debug("Connected to the systemd manager at '%s'", s->bus_spec);
        }
        *ret = s->bus;
        return 0;
}

/* The unit holding pid: *ret_unit (owned) is NULL when no unit does. */
static int unit_by_pid(struct sdplace *s, pid_t pid, char **ret_unit, char **ret_path) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL, *id = NULL;
        const char *p;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "GetUnitByPID", &err, &reply, "u",
                               (uint32_t) pid);
        if (r < 0) {
                bool none = sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoUnitForPID") ||
                            sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchProcess");
                sd_bus_error_free(&err);
                if (none) {
                        *ret_unit = NULL;
                        if (ret_path)
                                *ret_path = NULL;
                        return 0;
                }
                return bus_check(s, r);
        }
        r = sd_bus_message_read(reply, "o", &p);
        if (r >= 0 && !(path = strdup(p)))
                r = -ENOMEM;
        sd_bus_message_unref(reply);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "Id", &err, &id);
        sd_bus_error_free(&err);
        if (r < 0)
                return bus_check(s, r);
        *ret_unit = TAKE_PTR(id);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

static int unit_path(struct sdplace *s, const char *unit, char **ret) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *p;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "GetUnit", &err, &reply, "s", unit);
        if (r < 0) {
                bool none = sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
                sd_bus_error_free(&err);
                return none ? -ENOENT : bus_check(s, r);
        }
        r = sd_bus_message_read(reply, "o", &p);
        if (r >= 0 && !(*ret = strdup(p)))
                r = -ENOMEM;
        sd_bus_message_unref(reply);
        return r;
}

static const char *kind_iface(enum sdplan_kind k) {
        switch (k) {
        case SDPLAN_KIND_SERVICE:
                return "org.freedesktop.systemd1.Service";
        case SDPLAN_KIND_SCOPE:
                return "org.freedesktop.systemd1.Scope";
        case SDPLAN_KIND_SLICE:
                return "org.freedesktop.systemd1.Slice";
        default:
                return NULL;
        }
}

/* The slice a unit's cgroup is in now (NULL: it has no cgroup, i.e. not running). */
static int unit_now_slice(struct sdplace *s, const char *path, enum sdplan_kind k, char **ret) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *cg = NULL;
        const char *iface = kind_iface(k);
        int r;

        *ret = NULL;
        if (!iface)
                return 0;
        r = sd_bus_get_property_string(s->bus, SD_DEST, path, iface, "ControlGroup", &err, &cg);
        sd_bus_error_free(&err);
        if (r < 0)
                return bus_check(s, r);
        if (!cg[0])
                return 0;
        r = sdplan_cgroup_slice(cg, ret);
        return r == -EINVAL ? 0 : r;
}

static int unit_string_prop(struct sdplace *s, const char *path, const char *iface,
                            const char *name, char **ret) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(s->bus, SD_DEST, path, iface, name, &err, ret);
        sd_bus_error_free(&err);
        return bus_check(s, r);
}

static int unit_delegate(struct sdplace *s, const char *path, enum sdplan_kind k, bool *ret) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int b = 0, r;

        *ret = false;
        if (!kind_iface(k))
                return 0;
        r = sd_bus_get_property_trivial(s->bus, SD_DEST, path, kind_iface(k), "Delegate", &err,
                                        'b', &b);
        sd_bus_error_free(&err);
        if (r < 0)
                return bus_check(s, r);
        *ret = b;
        return 0;
}

static int dropin_path(struct sdplace *s, const char *unit, char **ret) {
        return xasprintf(ret, "%s/%s.d/" SDPLAN_DROPIN_NAME, s->dropin_root, unit);
}

/* Slice= of our drop-in for unit; NULL when there is none (or it is unreadable). */
static char *dropin_read(struct sdplace *s, const char *unit) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *slice = NULL;

        if (dropin_path(s, unit, &path) < 0 || read_full_file(path, &text, NULL) < 0)
                return NULL;
        if (sdplan_dropin_parse(text, &slice) < 0)
                return NULL;
        return slice;
}

static int manager_reload(struct sdplace *s) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return r;
        /* The reply comes once the manager has re-read every unit: the drop-ins count from
         * then on. A reload can take longer than a plain call. */
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "Reload", &err, NULL, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to reload the systemd manager: %s",
                                  err.message ? err.message : "%m");
        sd_bus_error_free(&err);
        return bus_check(s, r);
}

static int unit_try_restart(struct sdplace *s, const char *unit) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return r;
        /* try-restart: a unit that stopped meanwhile is not started by us */
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "TryRestartUnit", &err, NULL, "ss",
                               unit, "replace");
        if (r < 0)
                log_warning_errno(r, "Failed to restart %s: %s", unit,
                                  err.message ? err.message : "%m");
        sd_bus_error_free(&err);
        return bus_check(s, r);
}

/* The reply to StartTransientUnit only says the job was queued; the processes move when it
 * runs, and a pass right after must not see them in their old unit and move them a second time:
 * wait (bounded) for the job's JobRemoved. */
#define SD_JOB_WAIT_USEC (2 * USEC_PER_SEC)

/* StartTransientUnit(name, "fail", Slice= Description= PIDs= CollectMode=). */
static int scope_start(struct sdplace *s, const char *name, const char *slice, const char *desc,
                       const struct pidvec *pids, sd_bus_error *err) {
        sd_bus_message *m = NULL, *reply = NULL;
        struct sdslice_jobs jobs = {};
        const char *job = NULL;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return r;
        r = sdslice_jobs_listen(bus, &jobs);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MGR,
                                                   "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Slice", "s", slice, "Description",
                                          "s", desc, "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "PIDs");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "au");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (size_t i = 0; r >= 0 && i < pids->n; i++)
                r = sd_bus_message_append(m, "u", (uint32_t) pids->v[i]);
        for (int k = 0; r >= 0 && k < 4; k++) /* a, v, r, a(sv) */
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, err, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0) {
                _cleanup_free_ char *result = NULL;
                if (sdslice_jobs_wait(&jobs, job, SD_JOB_WAIT_USEC, &result) == -ETIMEDOUT)
                        log_debug("Job %s still queued after %llu ms; going on", job,
                                  (unsigned long long) (SD_JOB_WAIT_USEC / USEC_PER_MSEC));
        }
        sdslice_jobs_clear(&jobs);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        return bus_check(s, r);
}

/* scope_start(), and when the name is taken (ours from before: the same pid placed again, in
 * another slice) once more under a fresh name; *name is replaced then. */
static int scope_start_unique(struct sdplace *s, char **name, const char *slice, const char *desc,
                              const struct pidvec *pids, sd_bus_error *err) {
        char *again = NULL;
        int r;

        r = scope_start(s, *name, slice, desc, pids, err);
        if (r >= 0 || !sd_bus_error_has_name(err, "org.freedesktop.systemd1.UnitExists"))
                return r;
        sd_bus_error_free(err);
        r = xasprintf(&again, "%.*s-%llu.scope", (int) (strlen(*name) - strlen(".scope")), *name,
                      (unsigned long long) now_usec(CLOCK_MONOTONIC));
        if (r < 0)
                return r;
        free(*name);
        *name = again;
        return scope_start(s, *name, slice, desc, pids, err);
}

/* ---- lifecycle ---- */

DEFINE_CLEANUP_FUNC(struct sdplace, sdplace_free)

void sdplace_set_event(struct sdplace *s, sd_event *e) {
        if (!s || s->event == e)
                return;
        if (s->bus) {
                (void) sd_bus_detach_event(s->bus);
                if (e)
                        (void) sd_bus_attach_event(s->bus, e, SD_EVENT_PRIORITY_NORMAL);
        }
        s->event = e;
}

int sdplace_new(const struct cfg *c, struct sdplace **ret) {
        _cleanup_(sdplace_freep) struct sdplace *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->restart = c->systemd.restart_services;
        s->bus_spec = strdup(c->systemd.bus ? c->systemd.bus : "system");
        if (!s->bus_spec)
                return -ENOMEM;
        r = sdplan_dropin_root(s->bus_spec, getenv("XDG_RUNTIME_DIR"), &s->dropin_root);
        if (r < 0)
                return r;
        r = sdunit_slice_name(c->cg.root, "", &s->root_slice);
        if (r < 0)
                return r;
        r = xasprintf(&s->state_path, "%s/taskd-state.json", c->daemon.runtime_dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct sdplace *sdplace_free(struct sdplace *s) {
        if (!s)
                return NULL;
        sd_bus_flush_close_unref(s->bus);
        units_clear(s);
        strv_free(s->write_units);
        strv_free(s->write_slices);
        strv_free(s->restart_units);
        strv_free(s->restarted);
        strv_free(s->returning);
        for (size_t i = 0; i < s->n_warns; i++) {
                free(s->warns[i].path);
                free(s->warns[i].key);
        }
        free(s->warns);
        free(s->bus_spec);
        free(s->dropin_root);
        free(s->root_slice);
        free(s->state_path);
        free(s);
        return NULL;
}

/* ---- one pass ---- */

/* The slice of rule ri's node (its first target: cpu before blkio, the same name). */
static int rule_slice(const struct taskd *d, size_t ri, char **ret) {
        const struct taskd_rule *rule = &d->rules.v[ri];

        if (rule->n_targets == 0)
                return -ENOENT;
        return sdunit_slice_name(d->cfg->cg.root, rule->targets[0].path, ret);
}

/* Every slice a rule of the applied conf maps to, and the managed root slice. */
static int live_slices(const struct taskd *d, char ***ret) {
        char **l = NULL;
        int r;

        r = strv_extend(&l, d->sd->root_slice);
        for (size_t i = 0; r >= 0 && i < d->rules.n; i++) {
                char *slice = NULL;
                if (d->rules.v[i].n_targets == 0)
                        continue;
                r = rule_slice(d, i, &slice);
                if (r >= 0)
                        r = strv_push(&l, slice);
        }
        if (r < 0) {
                strv_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static bool is_other_root(const struct taskd *d, size_t ri, pid_t pid) {
        const struct taskd_root *root = taskd_root_find(d, pid);
        return root && root->rule != ri;
}

static int children_of(struct taskd *d, pid_t pid, struct pidvec *out) {
        if (d->tree) {
                int r = proc_tree_children(d->tree, pid, out);
                if (r != -ESRCH)
                        return r;
        }
        return proc_walk_children(d->walk, pid, out);
}

/* The descendants of `root` (not root itself) whose /proc/<pid>/cgroup reads `same` (when
 * want_same) or differs from it; another rule's pid-file process and its subtree are left to
 * that rule. Top-down, bounded. */
static int walk_descendants(struct taskd *d, size_t ri, pid_t root, const char *same,
                            bool want_same, struct pidvec *out) {
        struct pidvec q = {};
        int r = 0;

        r = children_of(d, root, &q);
        for (size_t i = 0; r != -ENOMEM && i < q.n && i < 100000; i++) {
                _cleanup_free_ char *cg = NULL;
                pid_t pid = q.v[i];
                bool eq;

                r = 0;
                if (is_other_root(d, ri, pid))
                        continue;
                if (proc_cgroup_read_at(proc_walk_dirfd(d->walk), pid, &cg) < 0)
                        continue; /* gone */
                eq = strcmp(cg, same) == 0;
                if (eq == want_same && (r = pidvec_push(out, pid)) < 0)
                        break;
                r = children_of(d, pid, &q);
        }
        pidvec_clear(&q);
        return r == -ENOMEM ? r : 0;
}

/* Processes of pid's tree that were left in the scope's origin (forked between our walk and
 * systemd's move) get a scope of their own next to it: systemd moves processes only into a
 * new scope or into a delegated unit (AttachProcessesToUnit refuses "non-delegated units"), and
 * our scopes are not delegated. */
static int scope_stragglers(struct taskd *d, size_t ri, pid_t pid, const char *scope,
                            const char *scope_path, const char *target) {
        struct sdplace *s = d->sd;
        const struct taskd_rule *rule = &d->rules.v[ri];
        _cleanup_free_ char *desc = NULL, *from = NULL, *cg = NULL, *name = NULL, *sdesc = NULL;
        struct pidvec other = {}, pids = {};
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r;

        if (unit_string_prop(s, scope_path, SD_UNIT, "Description", &desc) < 0 ||
            sdplan_scope_description_from(desc, &from) < 0)
                return 0; /* not one of ours with a known origin */
        if (proc_cgroup_read_at(proc_walk_dirfd(d->walk), pid, &cg) < 0)
                return 0;
        r = walk_descendants(d, ri, pid, cg, false, &other);
        for (size_t i = 0; r >= 0 && i < other.n; i++) {
                _cleanup_free_ char *u = NULL;
                if (unit_by_pid(s, other.v[i], &u, NULL) >= 0 && u && strcmp(u, from) == 0)
                        r = pidvec_push(&pids, other.v[i]);
        }
        if (r >= 0 && pids.n > 0)
                r = sdplan_scope_name(s->root_slice, rule->name, pids.v[0], &name);
        if (r >= 0 && pids.n > 0)
                r = sdplan_scope_description(rule->name, pids.v[0], from, &sdesc);
        if (r >= 0 && pids.n > 0) {
                r = scope_start_unique(s, &name, target, sdesc, &pids, &err);
                if (r < 0)
                        log_warning_errno(r, "Failed to move %zu processes of pid %d's tree left in "
                                             "%s into %s: %s",
                                          pids.n, (int) pid, from, name,
                                          err.message ? err.message : "%m");
                else
                        log_info("Moved %zu processes of pid %d's tree left in %s (forked while "
                                 "%s was created) into %s",
                                 pids.n, (int) pid, from, scope, name);
        }
        sd_bus_error_free(&err);
        pidvec_clear(&other);
        pidvec_clear(&pids);
        return r == -ENOMEM ? r : 0;
}

/* A process outside any service: systemd moves it, with the processes of its tree in the same
 * cgroup, into a new transient scope in the target slice. */
static int place_in_scope(struct taskd *d, size_t ri, struct taskd_file *f, const char *unit,
                          const char *target, char **ret_scope) {
        struct sdplace *s = d->sd;
        const struct taskd_rule *rule = &d->rules.v[ri];
        _cleanup_free_ char *cg = NULL, *name = NULL, *desc = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        struct pidvec pids = {};
        int r;

        r = proc_cgroup_read_at(proc_walk_dirfd(d->walk), f->pid, &cg);
        if (r < 0)
                return r;
        r = pidvec_push(&pids, f->pid);
        if (r >= 0)
                r = walk_descendants(d, ri, f->pid, cg, true, &pids);
        if (r >= 0)
                r = sdplan_scope_name(s->root_slice, rule->name, f->pid, &name);
        if (r >= 0)
                r = sdplan_scope_description(rule->name, f->pid, unit, &desc);
        if (r < 0)
                goto out;
        r = scope_start_unique(s, &name, target, desc, &pids, &err);
        if (r < 0) {
                if (r != -ENOMEM && warn_once(s, f->path, "scope-failed"))
                        log_warning_errno(r, "Failed to move pid %d named by %s into a scope in %s: %s",
                                          (int) f->pid, f->path, target,
                                          err.message ? err.message : "%m");
                goto out;
        }
        log_info("Moved pid %d named by %s (%zu process%s) from %s into %s in %s", (int) f->pid,
                 f->path, pids.n, pids.n == 1 ? "" : "es", unit, name, target);
        {
                _cleanup_free_ char *to = NULL;
                if (xasprintf(&to, "%s/%s", target, name) >= 0)
                        taskd_file_moved(f, f->pid, (unsigned) pids.n, unit, to);
        }
        *ret_scope = TAKE_PTR(name);
out:
        sd_bus_error_free(&err);
        pidvec_clear(&pids);
        return r;
}

static bool queued(char **l, const char *s) {
        return strv_contains(l, s);
}

void sdplace_begin(struct taskd *d, bool full) {
        if (full)
                units_clear(d->sd);
}

/* Records what the manager's side decided for f (for taskd-placements.json). f->where keeps
 * the slice a pending service ran in: seen in another slice later, it has moved (at its
 * restart), which is recorded as its move. */
static void sd_judged(struct taskd_file *f, enum taskd_fstate st, enum taskd_why why,
                      const char *detail, const char *unit, const char *now, const char *target) {
        if (st == TASKD_FSTATE_PLACED && f->where && now && strcmp(f->where, now) != 0)
                taskd_file_moved(f, f->pid, 0, f->where, target);
        taskd_file_judged(f, st, why, f->pid);
        f->detail = detail;
        free(f->unit);
        f->unit = unit ? strdup(unit) : NULL;
        free(f->where);
        f->where = st == TASKD_FSTATE_PENDING && now ? strdup(now) : NULL;
}

int sdplace_root(struct taskd *d, size_t ri, struct taskd_file *f, struct taskd_pass *pass) {
        struct sdplace *s = d->sd;
        _cleanup_free_ char *target = NULL, *unit = NULL, *upath = NULL, *now = NULL,
                            *dropin = NULL, *scope = NULL;
        struct sdplan_facts facts = {.pid = f->pid};
        enum sdplan_action a;
        enum sdplan_kind kind;
        struct proc_stat st;
        char key[512];
        int r;

        if (f->pid <= 0)
                return 0;
        if (d->rules.v[ri].n_targets == 0) {
                taskd_file_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_NO_TARGET, f->pid);
                return 0;
        }
        r = rule_slice(d, ri, &target);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                sd_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_SD_ERROR, "no slice name for the node",
                          NULL, NULL, NULL);
                if (warn_once(s, f->path, "slice"))
                        log_warning_errno(r, "No slice name for '%s' (%s): %m",
                                          d->rules.v[ri].name, d->rules.v[ri].targets[0].path);
                pass->n_errors++;
                return 0;
        }
        r = proc_stat_read("/proc", f->pid, &st);
        if (r < 0) {
                taskd_file_judged(f, TASKD_FSTATE_NONE, TASKD_WHY_GONE, 0);
                return 0; /* gone meanwhile */
        }
        facts.kthread = proc_stat_is_kthread(&st);
        facts.target = target;
        if (f->pid != 1 && !facts.kthread) {
                r = unit_by_pid(s, f->pid, &unit, &upath);
                if (r < 0) {
                        if (r == -ENOMEM)
                                return r;
                        snprintf(key, sizeof(key), "bus:%d", r);
                        if (warn_once(s, f->path, key))
                                log_warning_errno(r, "Cannot ask the systemd manager which unit "
                                                     "holds pid %d named by %s: %m",
                                                  (int) f->pid, f->path);
                        sd_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_SD_ERROR,
                                  "the systemd manager cannot be asked which unit holds it", NULL,
                                  NULL, target);
                        pass->n_errors++;
                        return 0;
                }
        }
        kind = sdplan_unit_kind(unit);
        if (unit) {
                r = unit_now_slice(s, upath, kind, &now);
                if (r >= 0 && kind == SDPLAN_KIND_SCOPE)
                        r = unit_delegate(s, upath, kind, &facts.delegate);
                if (r < 0) {
                        if (r == -ENOMEM)
                                return r;
                        sd_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_SD_ERROR,
                                  "the systemd manager cannot be asked about its unit", unit, NULL,
                                  target);
                        pass->n_errors++;
                        return 0;
                }
                if (kind == SDPLAN_KIND_SERVICE)
                        dropin = dropin_read(s, unit);
        }
        facts.unit = unit;
        facts.unit_slice = now;
        facts.dropin_slice = dropin;
        a = sdplan_decide(&facts);

        if (sdplan_action_refuses(a)) {
                sd_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_SD_REFUSED, sdplan_action_to_string(a),
                          unit, now, target);
                snprintf(key, sizeof(key), "refuse:%d:%d:%s", (int) a, (int) f->pid,
                         unit ? unit : "-");
                if (warn_once(s, f->path, key))
                        log_warning("Not placing pid %d named by %s%s%s%s: %s", (int) f->pid,
                                    f->path, unit ? " (in " : "", unit ? unit : "",
                                    unit ? ")" : "", sdplan_action_to_string(a));
                return 0;
        }
        (void) warn_once(s, f->path, NULL);

        switch (a) {
        case SDPLAN_NOTHING:
                sd_judged(f, TASKD_FSTATE_PLACED, TASKD_WHY_NONE, NULL, unit, now, target);
                strv_remove(s->restarted, unit);
                r = units_put(s, unit, target, now, UNIT_PLACED);
                if (r >= 0 && kind == SDPLAN_KIND_SCOPE)
                        r = scope_stragglers(d, ri, f->pid, unit, upath, target);
                if (r < 0)
                        return r;
                pass->n_processes++;
                return 0;
        case SDPLAN_DROPIN:
                if (!queued(s->write_units, unit)) {
                        r = strv_extend(&s->write_units, unit);
                        if (r >= 0)
                                r = strv_extend(&s->write_slices, target);
                        if (r < 0)
                                return r;
                }
                strv_remove(s->restarted, unit);
                if (now && strcmp(now, target) == 0) {
                        sd_judged(f, TASKD_FSTATE_PLACED, TASKD_WHY_NONE, NULL, unit, now, target);
                        pass->n_processes++;
                        return units_put(s, unit, target, now, UNIT_PLACED);
                }
                __attribute__((fallthrough));
        case SDPLAN_RESTART:
                sd_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_SD_PENDING,
                          s->restart ? "the service is restarted into its slice"
                                     : "the service moves at its next restart (restart_services "
                                       "= no)",
                          unit, now, target);
                if (s->restart && !queued(s->restarted, unit) &&
                    !queued(s->restart_units, unit)) {
                        r = strv_extend(&s->restart_units, unit);
                        if (r < 0)
                                return r;
                }
                return units_put(s, unit, target, now, UNIT_PENDING);
        case SDPLAN_SCOPE:
                r = place_in_scope(d, ri, f, unit, target, &scope);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        sd_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_SD_ERROR,
                                  "the systemd manager failed to move it into a scope", unit, now,
                                  target);
                else
                        sd_judged(f, TASKD_FSTATE_PLACED, TASKD_WHY_NONE, NULL, scope, target,
                                  target);
                if (r < 0) {
                        pass->n_errors++;
                        return 0;
                }
                pass->n_processes++;
                pass->n_moved++;
                d->m.moves++;
                return units_put(s, scope, target, target, UNIT_PLACED);
        default:
                return 0;
        }
}

/* Writes this batch's drop-ins. */
static void write_dropins(struct sdplace *s) {
        for (size_t i = 0; s->write_units && s->write_units[i]; i++) {
                _cleanup_free_ char *path = NULL, *dir = NULL, *text = NULL;
                const char *unit = s->write_units[i], *slice = s->write_slices[i];
                int r;

                r = dropin_path(s, unit, &path);
                if (r >= 0)
                        r = xasprintf(&dir, "%s/%s.d", s->dropin_root, unit);
                if (r >= 0)
                        r = sdplan_dropin_text(slice, &text);
                if (r >= 0)
                        r = mkdir_p(dir, 0755);
                if (r >= 0)
                        r = write_file_atomic(path, text, strlen(text), 0644);
                if (r < 0) {
                        log_warning_errno(r, "Failed to write %s (placing %s in %s): %m",
                                          path ? path : unit, unit, slice);
                        continue;
                }
                s->need_reload = true;
                log_info("Placing %s in %s: wrote %s; %s", unit, slice, path,
                         s->restart ? "restarting it"
                                    : "it moves at its next restart (restart_services = no)");
        }
        s->write_units = strv_free(s->write_units);
        s->write_slices = strv_free(s->write_slices);
}

/* Drop-ins naming a slice no rule of the applied conf maps to: their node was removed (or the
 * rule's name moved). Removed; the service returns to its default slice at its next start. */
static int sweep_dropins(struct sdplace *s, char **live) {
        _cleanup_(closedirp) DIR *dir = opendir(s->dropin_root);
        struct dirent *e;

        if (!dir)
                return 0;
        while ((e = readdir(dir))) {
                _cleanup_free_ char *unit = NULL, *slice = NULL, *path = NULL, *ddir = NULL;
                size_t n = strlen(e->d_name);
                int r;

                if (n < sizeof(".service.d") || strcmp(e->d_name + n - 2, ".d") != 0)
                        continue;
                unit = strndup(e->d_name, n - 2);
                if (!unit)
                        return -ENOMEM;
                if (sdplan_unit_kind(unit) != SDPLAN_KIND_SERVICE)
                        continue;
                slice = dropin_read(s, unit);
                if (!slice || strv_contains(live, slice))
                        continue;
                r = dropin_path(s, unit, &path);
                if (r >= 0)
                        r = xasprintf(&ddir, "%s/%s", s->dropin_root, e->d_name);
                if (r < 0)
                        return r;
                if (unlink(path) < 0 && errno != ENOENT) {
                        log_warning_errno(negative_errno(), "Failed to remove %s: %m", path);
                        continue;
                }
                (void) rmdir(ddir); /* only if nothing else is in it */
                s->need_reload = true;
                strv_remove(s->restarted, unit);
                log_info("Returning %s from %s, which no rule of the applied conf maps to any "
                         "more: removed %s; %s",
                         unit, slice, path,
                         s->restart ? "restarting it"
                                    : "it returns to its default slice at its next restart "
                                      "(restart_services = no)");
                r = s->restart ? strv_extend(&s->restart_units, unit)
                               : strv_extend(&s->returning, unit);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Services whose drop-in we removed without restarting them: pending until they leave the
 * removed slice. */
static int check_returning(struct sdplace *s, char **live) {
        size_t k = 0;
        int r = 0;

        for (size_t i = 0; s->returning && s->returning[i]; i++) {
                _cleanup_free_ char *path = NULL, *now = NULL;
                char *u = s->returning[i];

                if (r >= 0 && unit_path(s, u, &path) >= 0 &&
                    unit_now_slice(s, path, SDPLAN_KIND_SERVICE, &now) >= 0 && now &&
                    !strv_contains(live, now)) {
                        r = units_put(s, u, "", now, UNIT_RETURNING);
                        s->returning[k++] = u;
                        continue;
                }
                free(u);
        }
        if (s->returning)
                s->returning[k] = NULL;
        return r;
}

/* Our scopes in a slice no rule maps to any more: their processes move into a scope of their
 * own in the managed root slice ("cgrouparch-<pid>.scope" in cgrouparch.slice, which carries
 * no weights), still running; never killed. They cannot go back to the unit they came from:
 * systemd moves processes only into a new scope or into a delegated unit, and the origin
 * (e.g. a session scope) is not delegated. The new scope's Description= still names it. */
static int sweep_scopes(struct sdplace *s, char **live) {
        _cleanup_free_ char *pattern = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *name, *desc, *path;
        sd_bus *bus;
        int r;

        r = bus_get(s, &bus);
        if (r < 0)
                return 0;
        r = xasprintf(&pattern, "%.*s-*.scope",
                      (int) (strlen(s->root_slice) - strlen(".slice")), s->root_slice);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "ListUnitsByPatterns", &err, &reply,
                               "asas", 1, "active", 1, pattern);
        sd_bus_error_free(&err);
        if (r < 0) {
                log_debug_errno(r, "ListUnitsByPatterns %s: %m", pattern);
                return bus_check(s, r) == -ENOMEM ? -ENOMEM : 0;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, NULL, NULL, NULL, NULL,
                                        &path, NULL, NULL, NULL)) > 0) {
                _cleanup_free_ char *now = NULL, *from = NULL, *ret_name = NULL, *ret_desc = NULL;
                sd_bus_message *procs = NULL;
                struct pidvec pids = {};
                const char *cgp, *cmd;
                uint32_t pid;
                pid_t root;
                int q;

                if (unit_now_slice(s, path, SDPLAN_KIND_SCOPE, &now) < 0 || !now ||
                    strv_contains(live, now))
                        continue;
                q = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "GetUnitProcesses", &err,
                                       &procs, "s", name);
                sd_bus_error_free(&err);
                if (q >= 0)
                        q = sd_bus_message_enter_container(procs, 'a', "(sus)");
                while (q >= 0 && (q = sd_bus_message_read(procs, "(sus)", &cgp, &pid, &cmd)) > 0)
                        q = pidvec_push(&pids, (pid_t) pid);
                sd_bus_message_unref(procs);
                if (q < 0 || pids.n == 0) {
                        pidvec_clear(&pids);
                        continue;
                }
                (void) sdplan_scope_description_from(desc, &from);
                /* named after the scope's own pid-file process when it is still in there */
                if (sdplan_scope_pid(name, &root) >= 0)
                        for (size_t i = 1; i < pids.n; i++)
                                if (pids.v[i] == root) {
                                        pids.v[i] = pids.v[0];
                                        pids.v[0] = root;
                                }
                /* a scope of its own in the managed root slice: see sweep_scopes() */
                q = sdplan_scope_name(s->root_slice, NULL, pids.v[0], &ret_name);
                if (q >= 0)
                        q = sdplan_scope_description(NULL, pids.v[0], from, &ret_desc);
                if (q >= 0)
                        q = scope_start_unique(s, &ret_name, s->root_slice, ret_desc, &pids, &err);
                if (q >= 0)
                        log_info("Moved %zu process%s of %s into %s in %s: %s is not in the applied "
                                 "conf any more",
                                 pids.n, pids.n == 1 ? "" : "es", name, ret_name, s->root_slice, now);
                else
                        log_warning_errno(q, "Failed to move the processes of %s out of %s, which "
                                             "is not in the applied conf any more: %s",
                                          name, now, err.message ? err.message : "%m");
                sd_bus_error_free(&err);
                pidvec_clear(&pids);
        }
        sd_bus_message_unref(reply);
        return r == -ENOMEM ? r : 0;
}

static const char *state_to_string(enum sdplace_state st) {
        return st == UNIT_PLACED ? "placed" : st == UNIT_PENDING ? "pending" : "returning";
}

/* <runtime_dir>/taskd-state.json: what `cgarch show`, /metrics and operators read. */
static int write_state(struct sdplace *s) {
        _cleanup_free_ char *text = NULL;
        cJSON *root = cJSON_CreateObject(), *units = cJSON_CreateArray(),
              *pending = cJSON_CreateArray();
        bool ok = root && units && pending;
        int r;

        for (size_t i = 0; ok && i < s->n_units; i++) {
                const struct sdplace_unit *u = &s->units[i];
                cJSON *o = cJSON_CreateObject();
                ok = o && cJSON_AddItemToArray(units, o) && cJSON_AddStringToObject(o, "unit", u->unit) &&
                     cJSON_AddStringToObject(o, "slice", u->slice) &&
                     cJSON_AddStringToObject(o, "now", u->now) &&
                     cJSON_AddStringToObject(o, "state", state_to_string(u->state));
                if (ok && u->state != UNIT_PLACED)
                        ok = cJSON_AddItemToArray(pending, cJSON_CreateString(u->unit));
        }
        if (ok)
                ok = cJSON_AddStringToObject(root, "mode", "systemd") &&
                     cJSON_AddBoolToObject(root, "restart_services", s->restart) &&
                     cJSON_AddItemToObject(root, "units", units) &&
                     cJSON_AddItemToObject(root, "pending", pending);
        else {
                cJSON_Delete(units);
                cJSON_Delete(pending);
        }
        if (ok)
                text = cJSON_Print(root);
        cJSON_Delete(root);
        if (!text)
                return -ENOMEM;
        r = write_file_atomic(s->state_path, text, strlen(text), 0644);
        if (r < 0 && warn_once(s, s->state_path, "write"))
                log_warning_errno(r, "Failed to write %s: %m", s->state_path);
        else if (r >= 0)
                (void) warn_once(s, s->state_path, NULL);
        return 0;
}

int sdplace_finish(struct taskd *d, bool full) {
        struct sdplace *s = d->sd;
        _cleanup_(strv_freep) char **live = NULL;
        int r;

        write_dropins(s);
        if (full && d->conf) {
                r = live_slices(d, &live);
                if (r < 0)
                        return r;
                r = sweep_dropins(s, live);
                if (r < 0)
                        return r;
        }
        if (s->need_reload && manager_reload(s) >= 0)
                s->need_reload = false;
        for (size_t i = 0; s->restart_units && s->restart_units[i]; i++)
                if (unit_try_restart(s, s->restart_units[i]) >= 0) {
                        log_info("Restarting %s so that it moves to its slice",
                                 s->restart_units[i]);
                        r = strv_extend(&s->restarted, s->restart_units[i]);
                        if (r < 0)
                                return r;
                }
        s->restart_units = strv_free(s->restart_units);
        if (full && d->conf) {
                r = check_returning(s, live);
                if (r >= 0)
                        r = sweep_scopes(s, live);
                if (r < 0)
                        return r;
        }
        return write_state(s);
}

int sdplace_status(const struct taskd *d, char **ret) {
        const struct sdplace *s = d->sd;
        size_t n_placed = 0, n_pending = 0, n_slices = 0;

        for (size_t i = 0; i < s->n_units; i++) {
                const struct sdplace_unit *u = &s->units[i];
                bool seen = false;

                if (u->state != UNIT_PLACED) {
                        n_pending++;
                        continue;
                }
                n_placed++;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = s->units[j].state == UNIT_PLACED &&
                               strcmp(s->units[j].slice, u->slice) == 0;
                if (!seen)
                        n_slices++;
        }
        return sdplan_status_format(n_placed, n_slices, n_pending, d->last_pass_usec, ret);
}

size_t sdplace_pending(const struct taskd *d) {
        size_t n = 0;

        for (size_t i = 0; d->sd && i < d->sd->n_units; i++)
                n += d->sd->units[i].state != UNIT_PLACED;
        return n;
}
