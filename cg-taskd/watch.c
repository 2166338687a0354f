/* watch.c — inotify on the directories of the pid files.
 *
 * Each pattern's directory is watched; a directory that does not exist yet is covered by
 * watching its nearest existing ancestor, so its creation is seen and the watch moves down.
 * A glob in the directory part ("/run/<glob>/main.pid") watches every matching directory, up to
 * [taskd] max_dirs per pattern, plus the fixed prefix. Events: close-write and moved-to of a file
 * place its tree at once; create (without content yet) is tried quietly; delete/moved-from forget
 * it. Directories cost work in proportion to what changed: a created directory that matches a
 * glob is watched and scanned by itself; a watched one that goes away is dropped by itself (its
 * IN_IGNORED). Only a queue overflow, a moved directory or a change on the way to a fixed
 * directory resynchronise all watches (every glob expanded again) and run a full pass. Rescans
 * are coalesced (taskd_coalesce): a burst of mkdirs costs one rescan per window, each new
 * directory looked at once. */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "taskd.h"
#include "util.h"

#define WATCH_MASK                                                                                 \
        (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |   \
         IN_MOVE_SELF | IN_ONLYDIR)

/* A burst of directory events is handled at most once per this window (the first at once). */
#define RESYNC_WINDOW_USEC (50 * USEC_PER_MSEC)
/* The flood brake (see brake_after_read): past INOTIFY_WINDOW_EVENTS inotify events within
 * INOTIFY_WINDOW_USEC, the source is off for the rest of the window and the next read takes
 * what piled up. Counted in events, not wake-ups: a pid file written the safe way (temp file,
 * rename) is 4 events in up to 3 wake-ups, and with sd-event's wake-up rate limit (2 per 5 ms
 * before) its rename slept out the window; a flood is thousands of events a second. */
#define INOTIFY_WINDOW_USEC (5 * USEC_PER_MSEC)
#define INOTIFY_WINDOW_EVENTS 16
/* New directories remembered for one rescan; past it, the rescan is a full resync instead. */
#define MAX_DIRTY_DIRS 4096

static inline void closedirp(DIR **dir) {
        if (*dir)
                (void) closedir(*dir);
}

static bool is_dir(const char *p) {
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir itself if it is a directory, else its nearest existing ancestor ("/" at worst). */
static char *nearest_existing(const char *dir) {
        char *p = strdup(dir);

        while (p && !is_dir(p)) {
                char *slash = strrchr(p, '/');
                if (!slash || slash == p) {
                        free(p);
                        return strdup("/");
                }
                *slash = 0;
        }
        return p;
}

static struct taskd_watch *watch_free(struct taskd_watch *w) {
        if (!w)
                return NULL;
        strv_free(w->dirs);
        free(w->patterns);
        free(w);
        return NULL;
}

static void watches_free(struct taskd_map *watches, struct taskd_map *dirs) {
        struct taskd_map_iter it = {};
        void *v;

        while (taskd_map_next(watches, &it, &v))
                watch_free(v);
        taskd_map_clear(watches);
        taskd_map_clear(dirs);
}

static void dirty_clear(struct taskd *d) {
        struct taskd_map_iter it = {};
        void *v;

        while (taskd_map_next(&d->dirty_dirs, &it, &v))
                free(v);
        taskd_map_clear(&d->dirty_dirs);
}

void taskd_watch_done(struct taskd *d) {
        watches_free(&d->watches, &d->watch_dirs);
        dirty_clear(d);
}

/* Records that wd watches path (for pattern id `pattern` or TASKD_WATCH_FIXED). */
static int watch_attach(struct taskd_map *watches, struct taskd_map *dirs, int wd, const char *path,
                        size_t pattern) {
        struct taskd_watch *w = taskd_map_get_int(watches, wd);
        size_t n, *pv;
        int r;

        if (!w) {
                w = calloc(1, sizeof(*w));
                if (!w)
                        return -ENOMEM;
                w->wd = wd;
                r = taskd_map_put_int(watches, wd, w); /* owned by the map now */
                if (r < 0) {
                        free(w);
                        return r;
                }
        }
        n = strv_length(w->dirs);
        pv = realloc(w->patterns, (n + 1) * sizeof(*pv));
        if (!pv)
                return -ENOMEM;
        w->patterns = pv;
        pv[n] = pattern;
        r = strv_extend(&w->dirs, path);
        if (r < 0)
                return r;
        return taskd_map_put_str(dirs, w->dirs[n], w);
}

static void warn_dirs_full(struct taskd *d, size_t rule, size_t pattern) {
        log_warning("Pattern %s of '%s' matches more than %zu directories ([taskd] max_dirs); not "
                    "watching the rest (the full pass still reads their pid files)",
                    taskd_pattern_name(d, pattern), d->rules.v[rule].name,
                    d->dir_caps[pattern].max);
}

/* ---- full resync ---- */

struct sync_ctx {
        struct taskd *d;
        struct taskd_map watches, dirs; /* the new set */
        bool changed;
};

/* Watches path in the new set, counted against the dir cap of `pattern` (unless FIXED). */
static int sync_add(struct sync_ctx *c, const char *path, size_t rule, size_t pattern) {
        struct taskd *d = c->d;
        const struct taskd_watch *old;
        bool counted = pattern != TASKD_WATCH_FIXED && pattern < d->n_caps;
        int wd;

        if (taskd_map_get_str(&c->dirs, path))
                return 0;
        if (counted) {
                enum taskd_cap_result cr = taskd_cap_take(&d->dir_caps[pattern]);
                if (cr == TASKD_CAP_FULL_WARN)
                        warn_dirs_full(d, rule, pattern);
                if (cr != TASKD_CAP_TAKEN)
                        return 0;
        }
        wd = inotify_add_watch(d->inotify_fd, path, WATCH_MASK);
        if (wd < 0) {
                /* gone meanwhile, or not ours to read: the next sync retries */
                log_debug_errno(negative_errno(), "Cannot watch %s: %m", path);
                if (counted)
                        taskd_cap_release(&d->dir_caps[pattern]);
                else
                        c->changed = true;
                return 0;
        }
        old = taskd_map_get_str(&d->watch_dirs, path);
        if (!old || old->wd != wd)
                c->changed = true;
        return watch_attach(&c->watches, &c->dirs, wd, path, pattern);
}

/* The fixed part of a glob directory ("/run/x/a*" -> "/run/x", "/a*" -> "/"). Owned. */
static char *glob_prefix(const char *dir) {
        char *prefix = strdup(dir), *meta, *slash;

        if (!prefix)
                return NULL;
        meta = strpbrk(prefix, "*?[");
        *meta = 0;
        slash = strrchr(prefix, '/');
        if (slash == prefix)
                slash[1] = 0;
        else
                *slash = 0;
        return prefix;
}

int taskd_watch_sync(struct taskd *d) {
        struct sync_ctx c = {.d = d};
        struct taskd_map_iter it = {};
        void *v;
        int r = 0;

        for (size_t k = 0; k < d->n_caps; k++)
                d->dir_caps[k].n = 0; /* recounted below; `warned` kept */
        /* fixed directories first: a path both fixed and glob-matched costs no cap */
        for (size_t i = 0; r >= 0 && i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; r >= 0 && p && *p; p++) {
                        _cleanup_free_ char *dir = NULL, *base = NULL, *near = NULL;

                        if (taskd_pattern_split(*p, &dir, &base) < 0)
                                continue; /* ini refuses relative patterns already */
                        if (taskd_has_glob(dir)) {
                                _cleanup_free_ char *prefix = glob_prefix(dir);
                                near = prefix ? nearest_existing(prefix) : NULL;
                        } else
                                near = nearest_existing(dir);
                        r = near ? sync_add(&c, near, i, TASKD_WATCH_FIXED) : -ENOMEM;
                }
        /* then each glob's directories, the ones watched already first (they keep their
         * place under the cap), up to max_dirs */
        for (size_t i = 0; r >= 0 && i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; r >= 0 && p && *p; p++) {
                        _cleanup_free_ char *dir = NULL, *base = NULL;
                        size_t id = d->rules.v[i].pattern_base + (size_t) (p - d->rules.v[i].patterns);
                        glob_t g = {};

                        if (taskd_pattern_split(*p, &dir, &base) < 0 || !taskd_has_glob(dir))
                                continue;
                        if (glob(dir, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) != 0)
                                continue;
                        for (int pass = 0; r >= 0 && pass < 2; pass++)
                                for (size_t j = 0; r >= 0 && j < g.gl_pathc; j++) {
                                        bool known = taskd_map_get_str(&d->watch_dirs,
                                                                       g.gl_pathv[j]) != NULL;
                                        if (known != (pass == 0))
                                                continue;
                                        /* the refusal budget (spent in the last interval):
                                         * its owner's directories are not watched anew; the
                                         * full pass still reads their files */
                                        if (!known && taskd_path_over_budget(d, g.gl_pathv[j], &(uid_t){0}))
                                                continue;
                                        r = sync_add(&c, g.gl_pathv[j], i, id);
                                }
                        globfree(&g);
                }
        if (r < 0) {
                /* keep the old set; the new watches are in the kernel but harmless (events on an
                 * unknown wd are ignored) */
                watches_free(&c.watches, &c.dirs);
                return r;
        }
        /* drop watches no longer wanted */
        while (taskd_map_next(&d->watches, &it, &v)) {
                const struct taskd_watch *w = v;
                if (!taskd_map_get_int(&c.watches, w->wd)) {
                        (void) inotify_rm_watch(d->inotify_fd, w->wd);
                        c.changed = true;
                }
        }
        watches_free(&d->watches, &d->watch_dirs);
        d->watches = c.watches; /* ownership moves to d */
        d->watch_dirs = c.dirs;
        return c.changed ? 1 : 0;
}

/* ---- incremental changes ---- */

/* A watched directory is gone (IN_IGNORED: the kernel dropped the watch). A glob's directory
 * just leaves (its cap slot freed); a fixed one needs the watch moved up: a full resync. */
static void watch_gone(struct taskd *d, int wd) {
        struct taskd_watch *w = taskd_map_remove_int(&d->watches, wd);

        if (!w)
                return; /* ours, removed by taskd_watch_sync */
        for (size_t k = 0; w->dirs && w->dirs[k]; k++) {
                if (taskd_map_get_str(&d->watch_dirs, w->dirs[k]) == w)
                        (void) taskd_map_remove_str(&d->watch_dirs, w->dirs[k]);
                if (w->patterns[k] == TASKD_WATCH_FIXED)
                        d->resync_full = true;
                else if (w->patterns[k] < d->n_caps)
                        taskd_cap_release(&d->dir_caps[w->patterns[k]]);
        }
        watch_free(w);
}

/* Reads a newly watched directory for pid files written before its watch was in place. */
static int dir_scan(struct taskd *d, const char *path) {
        _cleanup_(closedirp) DIR *dir = opendir(path);
        struct dirent *de;
        int r = 0;

        if (!dir)
                return 0; /* gone again */
        while ((de = readdir(dir)))
                if (de->d_type != DT_DIR && (r = taskd_file_event(d, path, de->d_name, false)) ==
                                                    -ENOMEM)
                        break;
        return r == -ENOMEM ? r : 0;
}

/* A directory appeared at path: watched and scanned if it matches a glob directory (within its
 * pattern's cap, and unless its owner is past the refusal budget); a full resync if it is on the
 * way to a fixed one. */
static int dir_appeared(struct taskd *d, const char *path) {
        int r;

        if (taskd_map_get_str(&d->watch_dirs, path))
                return 0;
        for (size_t i = 0; i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; p && *p; p++) {
                        size_t id = d->rules.v[i].pattern_base + (size_t) (p - d->rules.v[i].patterns);
                        enum taskd_cap_result cr;
                        int wd;

                        switch (taskd_dir_match(*p, path)) {
                        case TASKD_DIR_NONE:
                                continue;
                        case TASKD_DIR_RESYNC:
                                d->resync_full = true;
                                return 0;
                        case TASKD_DIR_GLOB:
                                break;
                        }
                        if (id >= d->n_caps)
                                continue;
                        if (taskd_path_over_budget(d, path, &(uid_t){0}))
                                return 0; /* the refusal budget: the next full resync sees it */
                        cr = taskd_cap_take(&d->dir_caps[id]);
                        if (cr == TASKD_CAP_FULL_WARN)
                                warn_dirs_full(d, i, id);
                        if (cr != TASKD_CAP_TAKEN)
                                continue; /* maybe another pattern has room */
                        wd = inotify_add_watch(d->inotify_fd, path, WATCH_MASK);
                        if (wd < 0) {
                                taskd_cap_release(&d->dir_caps[id]);
                                return 0; /* gone again, or not a directory */
                        }
                        r = watch_attach(&d->watches, &d->watch_dirs, wd, path, id);
                        if (r < 0)
                                return r;
                        return dir_scan(d, path);
                }
        return 0;
}

static int on_resync(sd_event_source *s, uint64_t usec, void *userdata) {
        struct taskd *d = userdata;
        struct taskd_map_iter it = {};
        void *v;
        int r = 0;

        (void) s;
        (void) usec;
        taskd_coalesce_ran(&d->resync, now_usec(CLOCK_MONOTONIC));
        taskd_scope_begin(d); /* the new directories' pid files often name the same process */
        while (r >= 0 && !d->resync_full && taskd_map_next(&d->dirty_dirs, &it, &v)) {
                r = dir_appeared(d, v);
                free(taskd_map_remove_str(&d->dirty_dirs, v));
        }
        taskd_scope_end(d);
        dirty_clear(d);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (d->resync_full) {
                d->resync_full = false;
                r = taskd_watch_sync(d);
                if (r < 0)
                        return log_error_errno(r, "Failed to update the pid-file watches: %m");
                if (r > 0)
                        d->resync_pass = true; /* a new directory may already hold a pid file */
        }
        if (d->resync_pass) {
                d->resync_pass = false;
                return taskd_full_pass(d) == -ENOMEM ? -ENOMEM : 0;
        }
        return 0;
}

/* Asks for a rescan: at once if none ran within the window, else at its end. */
static int resync_ask(struct taskd *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        uint64_t due = taskd_coalesce_ask(&d->resync, now, RESYNC_WINDOW_USEC);

        if (due == 0)
                return 0; /* one is pending */
        return event_timer_set(d->resync_src, MAX(due - now, (uint64_t) 1));
}

/* A directory was created in (or moved into) a watched one, seen as dir/name. */
static int dir_dirty(struct taskd *d, const char *dir, const char *name) {
        char *path = NULL;
        int r;

        if (d->resync_full)
                return 0; /* the full resync sees it */
        if (taskd_map_size(&d->dirty_dirs) >= MAX_DIRTY_DIRS) {
                dirty_clear(d);
                d->resync_full = true;
                return 0;
        }
        r = xasprintf(&path, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
        if (r < 0)
                return r;
        r = taskd_map_put_str(&d->dirty_dirs, path, path); /* owned by the map now */
        if (r < 0)
                free(path);
        return r == -EEXIST ? 0 : r;
}

/* File events of one read of the inotify fd, each path once: a writer's create + close-write (or
 * a flood's create, write, delete) costs one read of the file, not one per event. Order kept. */
struct pending {
        char *path;     /* owned; key of batch.idx */
        size_t dir_len; /* path[0 .. dir_len) is the directory ("/" for the root) */
        bool just_created, dead;
        bool held; /* names a placed process when the batch runs: handled first */
};
struct batch {
        struct pending *v;
        size_t n, allocated;
        struct taskd_map idx; /* path -> index + 1 into v, as a pointer-sized integer */
};

static void batch_clear(struct batch *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->v[i].path);
        b->n = 0;
        taskd_map_clear(&b->idx);
}

static struct pending *batch_find(struct batch *b, const char *path) {
        uintptr_t i = (uintptr_t) taskd_map_get_str(&b->idx, path);
        return i ? &b->v[i - 1] : NULL;
}

static int batch_add(struct batch *b, const char *dir, const char *name, bool just_created) {
        char buf[PATH_MAX];
        _cleanup_free_ char *path = NULL;
        struct pending *p;
        int r;

        if (!taskd_path_join(buf, sizeof(buf), dir, name))
                return 0; /* no pid file has such a path */
        p = batch_find(b, buf);
        if (p && !p->dead) {
                p->just_created = p->just_created && just_created;
                return 0;
        }
        path = strdup(buf);
        if (!path)
                return -ENOMEM;
        if (p) /* gone and back within the batch: read where it now stands in the order */
                (void) taskd_map_remove_str(&b->idx, p->path);
        if (GREEDY_REALLOC(b->v, b->allocated, b->n + 1) < 0)
                return -ENOMEM;
        p = &b->v[b->n];
        *p = (struct pending){.path = path, .dir_len = strlen(dir), .just_created = just_created};
        r = taskd_map_put_str(&b->idx, p->path, (void *) (uintptr_t) (b->n + 1));
        if (r < 0)
                return r;
        b->n++;
        path = NULL; /* owned by b->v now */
        return 0;
}

/* Whether p names a pid file whose process is placed now (a service's own pid file): the
 * likely one to be rewritten by a restart, and never one of a flood's refused files. */
static bool pending_is_held(struct taskd *d, const struct pending *p) {
        const struct taskd_file *f = taskd_map_get_str(&d->files, p->path);
        return f && f->held;
}

/* Handles one pending file; -ENOMEM is the only error that matters to the caller. */
static int pending_run(struct taskd *d, const struct pending *p) {
        char dir[PATH_MAX];

        if (p->dir_len >= sizeof(dir))
                return 0; /* no such path: batch_add joined it within PATH_MAX */
        memcpy(dir, p->path, p->dir_len);
        dir[p->dir_len] = 0;
        return taskd_file_event(d, dir, p->path + p->dir_len + (p->dir_len > 1 ? 1 : 0),
                                p->just_created);
}

static int batch_run(struct taskd *d, struct batch *b) {
        int r = 0;

        /* Two rounds: the files that hold a placed process first, then the rest in order.
         * Under a flood a batch holds hundreds of hostile names, each refused at some cost;
         * a restarted service's pid file must not wait behind them. Which round a file goes
         * in is decided before either runs. */
        for (size_t i = 0; i < b->n; i++)
                b->v[i].held = !b->v[i].dead && pending_is_held(d, &b->v[i]);
        taskd_scope_begin(d);
        for (int round = 0; round < 2; round++)
                for (size_t i = 0; i < b->n && r != -ENOMEM; i++)
                        if (!b->v[i].dead && b->v[i].held == (round == 0))
                                r = pending_run(d, &b->v[i]);
        taskd_scope_end(d);
        batch_clear(b);
        return r == -ENOMEM ? r : 0;
}

/* Whether the events of w's directory wait for the next full pass: while its owner is past the
 * refusal budget, a new directory in it is not watched and a pid file in it is read only if
 * cg-taskd knows it and has not refused it since it last accepted it (a service's, e.g.); any
 * other, whoever owns it, waits, because that uid can remove or replace anything in its own
 * directory anyway. A flood from a directory of one's own then costs no system call per event
 * (the owner of each file would be one fstatat). The owner: one stat per read of the inotify
 * fd. */
static bool watch_deferred(struct taskd *d, struct taskd_watch *w) {
        struct stat st;

        if (!taskd_budget_spent(d))
                return false;
        if (w->owner_read != d->inotify_reads) {
                w->owner_read = d->inotify_reads;
                w->owner = w->dirs && w->dirs[0] && stat(w->dirs[0], &st) == 0 ? st.st_uid : 0;
        }
        return taskd_uid_over_budget(d, w->owner);
}

/* Whether dir/name is a pid file that cg-taskd knows and has not refused since it last
 * accepted it. */
static bool file_in_good_standing(struct taskd *d, const char *dir, const char *name) {
        char path[PATH_MAX];
        const struct taskd_file *f;

        if (!taskd_path_join(path, sizeof(path), dir, name))
                return false;
        f = taskd_map_get_str(&d->files, path);
        return f && !f->refused;
}

/* Counts n events in the current window; past the budget, pauses the inotify source until the
 * window ends (the kernel queues meanwhile, up to max_queued_events, then IN_Q_OVERFLOW, which
 * a full resync handles). Under a flood each wake-up then reads a window's worth of events at
 * once, instead of a few: wake-ups, not events, were most of the cost. */
static void brake_after_read(struct taskd *d, unsigned n) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (now - d->inotify_window_start >= INOTIFY_WINDOW_USEC) {
                d->inotify_window_start = now;
                d->inotify_window_events = 0;
        }
        d->inotify_window_events += n;
        if (d->inotify_window_events <= INOTIFY_WINDOW_EVENTS || !d->inotify_pause_src)
                return;
        if (event_timer_set(d->inotify_pause_src,
                            d->inotify_window_start + INOTIFY_WINDOW_USEC - now) >= 0)
                (void) sd_event_source_set_enabled(d->inotify_src, SD_EVENT_OFF);
}

/* Reads and handles every queued inotify event; *ret_events: how many. */
static int inotify_drain(struct taskd *d, unsigned *ret_events) {
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        static struct batch b; /* kept between calls for its allocation; empty between them */
        int fd = d->inotify_fd;
        bool ask = false;
        unsigned n_events = 0;
        int r;

        *ret_events = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                bool deferred;

                d->inotify_reads = MAX(d->inotify_reads + 1, 1u); /* 0: a new watch's */
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        batch_clear(&b);
                        return log_error_errno(negative_errno(),
                                               "Failed to read inotify events: %m");
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        struct taskd_watch *w;

                        p += sizeof(*e) + e->len;
                        n_events++;
                        if (e->mask & IN_Q_OVERFLOW) {
                                d->resync_full = d->resync_pass = ask = true;
                                dirty_clear(d);
                                continue;
                        }
                        if (e->mask & IN_IGNORED) {
                                watch_gone(d, e->wd);
                                ask = ask || d->resync_full;
                                continue;
                        }
                        if (e->mask & IN_DELETE_SELF)
                                continue; /* its IN_IGNORED follows */
                        if (e->mask & IN_MOVE_SELF) {
                                d->resync_full = ask = true; /* our paths for it are wrong */
                                continue;
                        }
                        w = taskd_map_get_int(&d->watches, e->wd);
                        if (!w || e->len == 0)
                                continue;
                        deferred = watch_deferred(d, w);
                        if (e->mask & IN_ISDIR) {
                                if (e->mask & (IN_CREATE | IN_MOVED_TO) && !deferred) {
                                        for (char **dir = w->dirs; dir && *dir; dir++)
                                                if (dir_dirty(d, *dir, e->name) == -ENOMEM)
                                                        return log_error_errno(-ENOMEM,
                                                                               "Out of memory");
                                        ask = true;
                                }
                                continue;
                        }
                        for (char **dir = w->dirs; dir && *dir; dir++) {
                                if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                                        char path[PATH_MAX];
                                        struct pending *pe;

                                        if (taskd_path_join(path, sizeof(path), *dir, e->name) &&
                                            (pe = batch_find(&b, path)))
                                                pe->dead = true;
                                        taskd_file_gone(d, *dir, e->name);
                                } else if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)) {
                                        if (deferred && !file_in_good_standing(d, *dir, e->name))
                                                continue;
                                        r = batch_add(&b, *dir, e->name,
                                                      !(e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)));
                                        if (r < 0) {
                                                batch_clear(&b);
                                                return log_error_errno(r, "Out of memory");
                                        }
                                }
                        }
                }
                /* act on this read's files before reading more: a real pid file waits for
                 * at most one buffer of other events */
                r = batch_run(d, &b);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
                /* a read with room for one more event of any length emptied the queue: what
                 * came since is read next time (epoll still reports it, or the brake's timer
                 * reads it), not by one more read() that would mostly say EAGAIN */
                if ((size_t) n + sizeof(struct inotify_event) + NAME_MAX + 1 <= sizeof(buf))
                        break;
        }
        *ret_events = n_events;
        if (ask) {
                r = resync_ask(d);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the resync timer: %m");
        }
        return 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct taskd *d = userdata;
        unsigned n = 0;
        int r;

        (void) s;
        (void) fd;
        (void) revents;
        r = inotify_drain(d, &n);
        brake_after_read(d, n);
        return r;
}

/* The end of a paused window: the backlog is read here, from the timer; if it alone spends a
 * window's budget the flood goes on, and the source stays off for one more window (the timer
 * re-armed), which spares the two epoll_ctl calls and the extra loop turn of switching it back
 * on for one read. Otherwise the source is on again and a lone event is read at once. */
static int on_inotify_pause_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct taskd *d = userdata;
        unsigned n = 0;
        int r;

        (void) usec;
        d->inotify_window_start = now_usec(CLOCK_MONOTONIC);
        d->inotify_window_events = 0;
        r = inotify_drain(d, &n);
        if (n <= INOTIFY_WINDOW_EVENTS || event_timer_set(s, INOTIFY_WINDOW_USEC) < 0)
                (void) sd_event_source_set_enabled(d->inotify_src, SD_EVENT_ON);
        return r;
}

int taskd_watch_init(struct taskd *d) {
        int r;

        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return log_error_errno(negative_errno(),
                                       "Failed to create an inotify instance: %m");
        r = event_add_io(d->event, &d->inotify_src, d->inotify_fd, on_inotify, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the inotify fd: %m");
        /* the flood brake's timer: off until a window's budget is spent; 100 us accuracy, as a
         * late end of the window is latency added to a real pid file's event */
        r = event_add_timer(d->event, &d->inotify_pause_src, 0, 100,
                            on_inotify_pause_end, d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the inotify pause timer: %m");
        /* off until asked; 1 ms accuracy: a rescan is not put off to coalesce wake-ups */
        r = event_add_timer(d->event, &d->resync_src, 0, USEC_PER_MSEC, on_resync, d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the resync timer: %m");
        r = taskd_watch_sync(d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the pid-file directories: %m");
        return 0;
}
