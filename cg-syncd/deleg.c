/* deleg.c — cg-syncd in a cgroup v2 subtree delegated by systemd (Delegate=yes).
 *
 * systemd hands the service its own cgroup, <svc>. On v2 a cgroup with controllers enabled in
 * its cgroup.subtree_control cannot hold processes, so the daemon must not live in the cgroup
 * whose children it manages. When the managed root lies inside our own cgroup (e.g. root =
 * <svc>/managed), cg-syncd first moves itself into the leaf <svc>/cg-syncd (creating only that)
 * and makes the cpu and io controllers available down to the managed root's parent, i.e. writes
 * cgroup.subtree_control of <svc> and of the cgroups between it and the managed root. Nothing
 * above <svc> is ever written; when the managed root is not inside our own cgroup nothing here
 * happens at all. The decision is the pure syncd_deleg_plan() (state.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "syncd.h"
#include "util.h"

/* The unified mount: `dir` itself in v2 mode, else the cgroup2 mount below `dir`. Owned. */
static int unified_dir(const struct cfg *cfg, char **ret) {
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        _cleanup_free_ char *mi = NULL;
        const struct cgfs_mount *m;
        int r;

        if (cfg->cg.mode == CGFS_MODE_V2) {
                *ret = strdup(cfg->cg.dir);
                return *ret ? 0 : -ENOMEM;
        }
        r = read_full_file("/proc/self/mountinfo", &mi, NULL);
        if (r < 0)
                return r;
        r = cgfs_layout_parse(mi, cfg->cg.dir, &l);
        if (r < 0)
                return r;
        m = cgfs_layout_find(l, NULL);
        if (!m)
                return -ENOMEDIUM;
        *ret = strdup(m->path);
        return *ret ? 0 : -ENOMEM;
}

/* Is our pid listed in <dirfd>/<cg>/cgroup.procs? */
static int holds_us(int dirfd, const char *cg) {
        _cleanup_free_ char *text = NULL, *file = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        pid_t self = getpid();
        int r;

        if (xasprintf(&file, "%s%scgroup.procs", cg, *cg ? "/" : "") < 0)
                return -ENOMEM;
        r = read_full_file_at(dirfd, file, &text, NULL);
        if (r < 0)
                return r;
        r = cgfs_parse_pids(text, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (pids[i] == self)
                        return 1;
        return 0;
}

/* Enables cpu and io in <base_fd>/<dir>/cgroup.subtree_control where they are available. A
 * refusal is a warning: cgfs then reports the controller as not available at the managed root. */
static void enable_controllers(int base_fd, const char *base, const char *dir) {
        static const char *const ctls[] = {"cpu", "io"};
        _cleanup_free_ char *avail = NULL, *on = NULL, *fa = NULL, *fs = NULL;
        int r;

        if (xasprintf(&fa, "%s%scgroup.controllers", dir, *dir ? "/" : "") < 0 ||
            xasprintf(&fs, "%s%scgroup.subtree_control", dir, *dir ? "/" : "") < 0)
                return;
        if (read_full_file_at(base_fd, fa, &avail, NULL) < 0 ||
            read_full_file_at(base_fd, fs, &on, NULL) < 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(ctls); i++) {
                char plus[16];

                if (!cgfs_controllers_have(avail, ctls[i]) || cgfs_controllers_have(on, ctls[i]))
                        continue;
                snprintf(plus, sizeof(plus), "+%s", ctls[i]);
                r = write_string_file_at(base_fd, fs, plus);
                if (r < 0)
                        log_warning_errno(r, "Failed to enable the %s controller in %s/%s%s%s: %m",
                                          ctls[i], base, dir, *dir ? "/" : "",
                                          "cgroup.subtree_control");
                else
                        log_info("Enabled the %s controller below %s%s%s", ctls[i], base,
                                 *dir ? "/" : "", dir);
        }
}

int syncd_delegate(const struct cfg *cfg, const struct cgfs *fs) {
        _cleanup_(syncd_deleg_clear) struct syncd_deleg dl = {};
        _cleanup_free_ char *text = NULL, *own = NULL, *mount = NULL, *err = NULL, *rest = NULL;
        _cleanup_close_ int mount_fd = -1, base_fd = -1;
        char pid[32];
        int r;

        if (!cgfs_is_v2(fs))
                return 0;
        r = read_full_file("/proc/self/cgroup", &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/self/cgroup: %m");
        r = syncd_proc_cgroup_v2(text, &own);
        if (r == -ENOENT)
                return 0; /* not in a v2 hierarchy at all: nothing delegated to us */
        if (r < 0)
                return log_error_errno(r, "Failed to parse /proc/self/cgroup: %m");
        r = syncd_deleg_plan(own, cfg->cg.root, &dl, &err);
        if (r < 0) {
                log_error("%s", err ? err : strerror(-r));
                return r;
        }
        if (dl.action == SYNCD_DELEG_NONE) {
                log_debug("own cgroup %s: the managed root '%s' is not inside it", own,
                          cfg->cg.root);
                return 0;
        }

        r = unified_dir(cfg, &mount);
        if (r < 0)
                return log_error_errno(r, "Failed to find the cgroup2 mount below %s: %m",
                                       cfg->cg.dir);
        mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mount_fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", mount);
        base_fd = openat(mount_fd, dl.base, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (base_fd < 0)
                return log_error_errno(-errno, "Failed to open our own cgroup %s/%s: %m", mount,
                                       dl.base);
        /* Make sure `dir` is the hierarchy this process lives in before writing anything. */
        r = holds_us(base_fd, dl.action == SYNCD_DELEG_MOVE ? "" : SYNCD_LEAF);
        if (r <= 0) {
                log_error("%s/%s does not list this process although /proc/self/cgroup says %s: "
                          "is [cgroup] dir the cgroup2 hierarchy this process sees?",
                          mount, dl.action == SYNCD_DELEG_MOVE ? dl.base : dl.leaf, own);
                return r < 0 ? r : -EINVAL;
        }

        if (dl.action == SYNCD_DELEG_MOVE) {
                if (mkdirat(base_fd, SYNCD_LEAF, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create our leaf cgroup %s/%s: %m",
                                               mount, dl.leaf);
                snprintf(pid, sizeof(pid), "%d", (int) getpid());
                r = write_string_file_at(base_fd, SYNCD_LEAF "/cgroup.procs", pid);
                if (r < 0)
                        return log_error_errno(r, "Failed to move into our leaf cgroup %s/%s: %m",
                                               mount, dl.leaf);
                log_info("Moved into the leaf cgroup %s: the managed root %s lies inside our "
                         "delegated cgroup %s",
                         dl.leaf, cfg->cg.root, dl.base);
        } else
                log_info("Running in the leaf cgroup %s of our delegated cgroup %s", dl.leaf,
                         dl.base);

        /* Controllers down to the managed root's parent: <base>, then each cgroup between. */
        rest = strdup(cfg->cg.root + strlen(dl.base) + 1);
        if (!rest)
                return log_error_errno(-ENOMEM, "Out of memory");
        enable_controllers(base_fd, dl.base, "");
        for (char *s = strchr(rest, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (mkdirat(base_fd, rest, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        *s = '/';
                        return log_error_errno(r, "Failed to create %s/%s: %m", dl.base, rest);
                }
                enable_controllers(base_fd, dl.base, rest);
                *s = '/';
        }
        return 0;
}
