/* watch.c — inotify on the directories of the pid files.
 *
 * Each pattern's directory is watched; a directory that does not exist yet is covered by
 * watching its nearest existing ancestor, so its creation is seen and the watch moves down.
 * A glob in the directory part ("/run/<glob>/main.pid") watches every matching directory plus the
 * fixed prefix. Events: close-write and moved-to of a file place its tree at once; create
 * (without content yet) is tried quietly; delete/moved-from forget it; a created directory,
 * a watched directory going away or a queue overflow resynchronise the watches and run a full
 * pass. */
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

/* Adds an owned string unless present (then frees it). */
static int add_dir(char ***dirs, char *owned) {
        if (!owned)
                return -ENOMEM;
        if (strv_contains(*dirs, owned)) {
                free(owned);
                return 0;
        }
        return strv_push(dirs, owned);
}

/* The directories the rules need watched now (deduplicated strv, owned). */
static int wanted_dirs(struct taskd *d, char ***ret) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        for (size_t i = 0; i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; p && *p; p++) {
                        _cleanup_free_ char *dir = NULL, *base = NULL;

                        if (taskd_pattern_split(*p, &dir, &base) < 0)
                                continue; /* ini refuses relative patterns already */
                        if (taskd_has_glob(dir)) {
                                /* the fixed prefix, to see new matching dirs appear */
                                _cleanup_free_ char *prefix = strdup(dir);
                                glob_t g = {};
                                char *meta, *slash;

                                if (!prefix)
                                        return -ENOMEM;
                                meta = strpbrk(prefix, "*?[");
                                *meta = 0;
                                slash = strrchr(prefix, '/');
                                if (slash == prefix)
                                        slash[1] = 0;
                                else
                                        *slash = 0;
                                r = add_dir(&dirs, nearest_existing(prefix));
                                if (r < 0)
                                        return r;
                                if (glob(dir, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0) {
                                        for (size_t j = 0; j < g.gl_pathc; j++)
                                                if (is_dir(g.gl_pathv[j]) &&
                                                    (r = add_dir(&dirs, strdup(g.gl_pathv[j]))) <
                                                            0) {
                                                        globfree(&g);
                                                        return r;
                                                }
                                        globfree(&g);
                                }
                                continue;
                        }
                        r = add_dir(&dirs, nearest_existing(dir));
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(dirs);
        return 0;
}

static void watches_free(struct taskd_watch *w, size_t n) {
        for (size_t i = 0; i < n; i++)
                strv_free(w[i].dirs);
        free(w);
}

void taskd_watch_done(struct taskd *d) {
        watches_free(d->watches, d->n_watches);
        d->watches = NULL;
        d->n_watches = 0;
}

static struct taskd_watch *watch_by_wd(struct taskd_watch *v, size_t n, int wd) {
        for (size_t i = 0; i < n; i++)
                if (v[i].wd == wd)
                        return &v[i];
        return NULL;
}

int taskd_watch_sync(struct taskd *d) {
        _cleanup_strv_free_ char **dirs = NULL;
        struct taskd_watch *nv = NULL;
        size_t nn = 0, cap = 0;
        bool changed = false;
        int r;

        r = wanted_dirs(d, &dirs);
        if (r < 0)
                return r;
        for (char **p = dirs; p && *p; p++) {
                struct taskd_watch *w;
                int wd = inotify_add_watch(d->inotify_fd, *p, WATCH_MASK);

                if (wd < 0) {
                        /* gone meanwhile, or not ours to read: the next sync retries */
                        log_debug_errno(negative_errno(), "Cannot watch %s: %m", *p);
                        changed = true;
                        continue;
                }
                w = watch_by_wd(nv, nn, wd);
                if (!w) {
                        if (GREEDY_REALLOC(nv, cap, nn + 1) < 0) {
                                watches_free(nv, nn);
                                return -ENOMEM;
                        }
                        w = &nv[nn++];
                        *w = (struct taskd_watch){.wd = wd};
                }
                r = strv_extend(&w->dirs, *p);
                if (r < 0) {
                        watches_free(nv, nn);
                        return r;
                }
                struct taskd_watch *old = watch_by_wd(d->watches, d->n_watches, wd);
                if (!old || !strv_contains(old->dirs, *p))
                        changed = true;
        }
        /* drop watches no longer wanted */
        for (size_t i = 0; i < d->n_watches; i++)
                if (!watch_by_wd(nv, nn, d->watches[i].wd)) {
                        (void) inotify_rm_watch(d->inotify_fd, d->watches[i].wd);
                        changed = true;
                }
        taskd_watch_done(d);
        d->watches = nv; /* ownership moves to d */
        d->n_watches = nn;
        return changed ? 1 : 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct taskd *d = userdata;
        bool resync = false, full = false;
        int r;

        (void) s;
        (void) revents;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return log_error_errno(negative_errno(),
                                               "Failed to read inotify events: %m");
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        struct taskd_watch *w;

                        p += sizeof(*e) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                full = resync = true;
                                continue;
                        }
                        if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                                resync = true;
                                continue;
                        }
                        w = watch_by_wd(d->watches, d->n_watches, e->wd);
                        if (!w || e->len == 0)
                                continue;
                        if (e->mask & IN_ISDIR) {
                                if (e->mask & (IN_CREATE | IN_MOVED_TO))
                                        resync = true;
                                continue;
                        }
                        for (char **dir = w->dirs; dir && *dir; dir++) {
                                if (e->mask & (IN_DELETE | IN_MOVED_FROM))
                                        taskd_file_gone(d, *dir, e->name);
                                else if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)) {
                                        r = taskd_file_event(
                                                d, *dir, e->name,
                                                !(e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)));
                                        if (r == -ENOMEM)
                                                return r;
                                }
                        }
                }
        }
        if (resync) {
                r = taskd_watch_sync(d);
                if (r < 0)
                        return log_error_errno(r, "Failed to update the pid-file watches: %m");
                if (r > 0)
                        full = true; /* a new directory may already hold a pid file */
        }
        if (full)
                return taskd_full_pass(d) == -ENOMEM ? -ENOMEM : 0;
        return 0;
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
        r = taskd_watch_sync(d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the pid-file directories: %m");
        return 0;
}
