/* snapshot.c — the applied snapshot <runtime_dir>/arch_conf.json: atomic write, read/parse,
 * and an inotify watch on its directory. Never logs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"
#include "util.h"

int snapshot_write(const char *path, const struct conf *c) {
        _cleanup_free_ char *text = NULL;
        char head[64];
        size_t hl, vl;
        char *n;
        int r;

        if (!path || !*path || !c)
                return -EINVAL;
        /* {"version":N,"value":<conf>}\n, made around the conf's JSON in its own buffer rather
         * than in a copy (a 10,000-cgroup conf's is ~0.4 MB). */
        r = conf_to_json(c, &text);
        if (r < 0)
                return r;
        hl = (size_t) snprintf(head, sizeof(head),
                               "{\"version\":%" PRId64 ",\"value\":", c->version);
        vl = strlen(text);
        n = realloc(text, hl + vl + 3);
        if (!n)
                return -ENOMEM;
        text = n;
        memmove(text + hl, text, vl);
        memcpy(text, head, hl);
        memcpy(text + hl + vl, "}\n", 3);
        /* Temp file in the same directory + rename(2): a reader sees the old or the new file,
         * never half of one. Watchers filter on the final name, so the temp file is silent. */
        return write_file_atomic(path, text, hl + vl + 2, 0644);
}

int snapshot_parse(const char *buf, size_t len, struct conf **ret, struct conf_errors *errs) {
        return conf_parse_text(buf, len, CONF_TEXT_SNAPSHOT, ret, errs);
}

int snapshot_read(const char *path, struct conf **ret, struct conf_errors *errs) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, &buf, &len);
        if (r < 0)
                return r;
        return snapshot_parse(buf, len, ret, errs);
}

struct snapshot_watch {
        int fd;
        int wd;
        char *dir;  /* the directory watched */
        char *name; /* the snapshot's file name in it */
};

struct snapshot_watch *snapshot_watch_free(struct snapshot_watch *w) {
        if (!w)
                return NULL;
        if (w->fd >= 0)
                (void) close(w->fd);
        free(w->dir);
        free(w->name);
        return mfree(w);
}

/* mkdir -p with mode 0755 for what is created; an existing directory is fine. */
static int mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        struct stat st;

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char saved = *s;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = saved;
                if (!saved)
                        break;
        }
        if (stat(path, &st) < 0)
                return negative_errno();
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int watch_arm(struct snapshot_watch *w) {
        int r = mkdir_p(w->dir);
        if (r < 0)
                return r;
        w->wd = inotify_add_watch(w->fd, w->dir,
                                  IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
                                          IN_MOVE_SELF | IN_ONLYDIR);
        return w->wd < 0 ? negative_errno() : 0;
}

int snapshot_watch_new(const char *path, struct snapshot_watch **ret) {
        _cleanup_(snapshot_watch_freep) struct snapshot_watch *w = NULL;
        const char *slash;
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;
        slash = strrchr(path, '/');
        if (slash && !slash[1])
                return -EINVAL; /* a directory, not a file */
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = -1;
        w->wd = -1;
        if (!slash)
                w->dir = strdup(".");
        else if (slash == path)
                w->dir = strdup("/");
        else
                w->dir = strndup(path, (size_t) (slash - path));
        w->name = strdup(slash ? slash + 1 : path);
        if (!w->dir || !w->name)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return negative_errno();
        r = watch_arm(w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int snapshot_watch_fd(const struct snapshot_watch *w) {
        return w ? w->fd : -EINVAL;
}

int snapshot_watch_drain(struct snapshot_watch *w) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false, lost = false;

        if (!w)
                return -EINVAL;
        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        if (e->mask & IN_Q_OVERFLOW)
                                changed = true; /* events were lost: assume the worst */
                        if ((e->mask & IN_IGNORED) && e->wd == w->wd)
                                lost = true; /* the directory went away (or was unmounted) */
                        else if (e->mask & IN_MOVE_SELF) {
                                /* Renamed away: the watch would follow it; watch the path. */
                                (void) inotify_rm_watch(w->fd, w->wd);
                                lost = true;
                        } else if (e->len > 0 && strcmp(e->name, w->name) == 0)
                                changed = true;
                        p += sizeof(*e) + e->len;
                }
        }
        if (lost) {
                /* Re-create the directory and watch again; whatever was there is gone. */
                int r;
                w->wd = -1;
                r = watch_arm(w);
                if (r < 0)
                        return r;
                changed = true;
        }
        return changed ? 1 : 0;
}
