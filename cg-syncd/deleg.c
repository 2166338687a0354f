/* deleg.c — cg-syncd in a cgroup v2 subtree delegated by systemd (Delegate=yes).
 *
 * systemd hands the service its own cgroup, <svc>. On v2 a cgroup with controllers enabled in
 * its cgroup.subtree_control cannot hold processes, so the daemon must not live in the cgroup
 * whose children it manages. When the managed root lies inside our own cgroup (e.g. root =
 * <svc>/managed), cg-syncd first moves itself into the leaf <svc>/cg-syncd (creating only that)
 * and makes the cpu and io controllers available down to the managed root's parent, i.e. writes
 * cgroup.subtree_control of <svc> and of the cgroups between it and the managed root. Nothing
 * above <svc> is ever written; when the managed root is not inside our own cgroup nothing here
 * happens at all. The decision is the pure syncd_deleg_plan() (state.c); every cgroup file
 * access is cgfs's (cgfs_deleg_*). */
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

/* Enables cpu and io for the children of <base>/<dir> where they are available. A refusal is
 * a warning: cgfs then reports the controller as not available at the managed root. */
static void enable_controllers(const struct cgfs *fs, const char *base, const char *dir) {
        static const char *const ctls[] = {"cpu", "io"};

        for (size_t i = 0; i < ELEMENTSOF(ctls); i++) {
                int r = cgfs_deleg_enable(fs, base, dir, ctls[i]);
                if (r < 0)
                        log_warning_errno(r, "Failed to enable the %s controller below %s%s%s: %m",
                                          ctls[i], base, *dir ? "/" : "", dir);
                else if (r > 0)
                        log_info("Enabled the %s controller below %s%s%s", ctls[i], base,
                                 *dir ? "/" : "", dir);
        }
}

int syncd_delegate(const struct cfg *cfg, const struct cgfs *fs) {
        _cleanup_(syncd_deleg_clear) struct syncd_deleg dl = {};
        _cleanup_free_ char *text = NULL, *own = NULL, *err = NULL, *rest = NULL;
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

        /* Make sure this is the hierarchy this process lives in before writing anything. */
        r = cgfs_deleg_holds(fs, dl.base, dl.action == SYNCD_DELEG_MOVE ? "" : SYNCD_LEAF, getpid());
        if (r <= 0) {
                if (r < 0)
                        log_error_errno(r, "Cannot read the processes of %s: %m",
                                        dl.action == SYNCD_DELEG_MOVE ? dl.base : dl.leaf);
                else
                        log_error("%s does not list this process although /proc/self/cgroup says "
                                  "%s: is [cgroup] dir the cgroup2 hierarchy this process sees?",
                                  dl.action == SYNCD_DELEG_MOVE ? dl.base : dl.leaf, own);
                return r < 0 ? r : -EINVAL;
        }

        if (dl.action == SYNCD_DELEG_MOVE) {
                r = cgfs_deleg_mkdir(fs, dl.base, SYNCD_LEAF);
                if (r < 0)
                        return log_error_errno(r, "Failed to create our leaf cgroup %s: %m",
                                               dl.leaf);
                r = cgfs_deleg_attach(fs, dl.base, SYNCD_LEAF, getpid());
                if (r < 0)
                        return log_error_errno(r, "Failed to move into our leaf cgroup %s: %m",
                                               dl.leaf);
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
        enable_controllers(fs, dl.base, "");
        for (char *s = strchr(rest, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                r = cgfs_deleg_mkdir(fs, dl.base, rest);
                if (r < 0) {
                        *s = '/';
                        return log_error_errno(r, "Failed to create %s/%s: %m", dl.base, rest);
                }
                enable_controllers(fs, dl.base, rest);
                *s = '/';
        }
        return 0;
}
