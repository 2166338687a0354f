/* cgfs-systemd.c — the systemd backend of cgfs ([cgroup] mode = systemd, or `auto` on a host
 * whose PID 1 is systemd with cgroup v2): the tree is the manager's slice units (sdslice.h), read
 * and changed over D-Bus, never through the cgroupfs; only accounting reads files, in each
 * slice's own cgroup. The bus is opened on first use, so a daemon that only reads (cg-accountd)
 * starts even while the manager is busy, and a broken connection is reopened on the next call.
 * All on the caller's (loop) thread; never logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "acct.h"
#include "cgfs-internal.h"
#include "ini.h"
#include "sdslice.h"
#include "sdunit.h"
#include "util.h"

struct cgfs_sd {
        char *bus_spec; /* `[systemd] bus`; NULL: the system bus */
        sd_bus *bus;    /* NULL until first use */
        char *root_cg;  /* absolute dir of the managed root slice's cgroup, once the manager
                           reported it (cached: a slice's cgroup path never changes) */
};

int cgfs_sd_new(const char *bus_spec, struct cgfs_sd **ret) {
        struct cgfs_sd *sd = calloc(1, sizeof(*sd));

        if (!sd)
                return -ENOMEM;
        if (bus_spec && !(sd->bus_spec = strdup(bus_spec))) {
                free(sd);
                return -ENOMEM;
        }
        *ret = sd;
        return 0;
}

void cgfs_sd_free(struct cgfs_sd *sd) {
        if (!sd)
                return;
        sd_bus_flush_close_unref(sd->bus);
        free(sd->bus_spec);
        free(sd->root_cg);
        free(sd);
}

bool cgfs_systemd_host(const char *dir) {
        char comm[64] = "";
        struct statfs sfs;

        if (statfs(dir, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return false;
        /* /proc/1/comm first: sd_booted() only checks that /run/systemd/system exists, which a
         * test's `systemd --user` also creates on a host whose PID 1 is something else. */
        if (read_small_file_at(AT_FDCWD, "/proc/1/comm", 0, comm, sizeof(comm), NULL, NULL) >= 0)
                return strcmp(comm, "systemd\n") == 0 || strcmp(comm, "systemd") == 0;
        return sd_booted() > 0;
}

int cgfs_open_cfg(const struct cfg *cfg, struct cgfs **ret) {
        struct cgfs *fs = NULL;
        int r;

        r = cgfs_open(cfg->cg.dir, cfg->cg.root, (enum cgfs_mode) cfg->cg.mode, &fs);
        if (r < 0)
                return r;
        if (fs->sd && cfg->systemd.bus) {
                free(fs->sd->bus_spec);
                fs->sd->bus_spec = strdup(cfg->systemd.bus);
                if (!fs->sd->bus_spec) {
                        cgfs_close(fs);
                        return -ENOMEM;
                }
        }
        *ret = fs;
        return 0;
}

bool cgfs_is_systemd(const struct cgfs *fs) {
        return fs && fs->sd;
}

sd_bus *cgfs_systemd_bus(const struct cgfs *fs) {
        return fs && fs->sd ? fs->sd->bus : NULL;
}

static int sd_get_bus(struct cgfs *fs, sd_bus **ret) {
        struct cgfs_sd *sd = fs->sd;
        int r;

        if (sd->bus && sd_bus_is_open(sd->bus) <= 0)
                sd->bus = sd_bus_flush_close_unref(sd->bus); /* the manager went away: reopen */
        if (!sd->bus) {
                r = sdunit_bus_open(sd->bus_spec ? sd->bus_spec : "system", &sd->bus);
                if (r < 0)
                        return r;
        }
        *ret = sd->bus;
        return 0;
}

static int sd_read_live(struct cgfs *fs, const struct conf *c, struct live_tree *t) {
        sd_bus *bus;
        int r;

        (void) c; /* the manager answers for every slice at once */
        r = sd_get_bus(fs, &bus);
        if (r < 0)
                return r;
        return sdslice_read_live(bus, fs->root, t, NULL);
}

static int sd_ensure_root(struct cgfs *fs) {
        sd_bus *bus;
        int r;

        r = sd_get_bus(fs, &bus);
        if (r < 0)
                return r;
        r = sdslice_ensure_root(bus, fs->root, NULL);
        return r < 0 ? r : 0;
}

/* Executes a conf_plan() result (planned against sd_read_live()'s view) as unit operations. */
static int sd_apply_plan(struct cgfs *fs, const struct plan *p, struct cgfs_apply_result *res) {
        _cleanup_free_ char *err = NULL;
        struct sdslice_plan sp = {};
        struct sdslice_result sr = {};
        sd_bus *bus;
        int r;

        if (p->n == 0)
                return 0;
        r = sd_get_bus(fs, &bus);
        if (r < 0)
                return r;
        r = sdslice_ensure_root(bus, fs->root, &err);
        if (r < 0) {
                if (err)
                        (void) strv_push(&res->warnings, TAKE_PTR(err));
                return r;
        }
        r = sdslice_plan_from(fs->root, p, NULL, &sp);
        if (r < 0)
                return r;
        r = sdslice_apply(bus, &sp, &sr);
        for (size_t i = 0; i < sr.n_done && i < sp.n; i++) {
                const struct sdslice_op *o = &sp.ops[i];
                if (o->type != SDSLICE_STOP)
                        res->n_weights += (o->cpu_weight >= 0) + (o->io_weight >= 0);
        }
        res->n_created = sr.n_created;
        res->n_removed = sr.n_stopped;
        res->n_done = sr.n_done;
        res->n_refused = strv_length(sr.refused);
        for (char **w = sr.refused; w && *w; w++)
                if (strv_extend(&res->warnings, *w) < 0)
                        break;
        if (r < 0 && sr.failed) {
                res->failed = sr.failed->from;
                _cleanup_free_ char *w = NULL;
                if (xasprintf(&w, "%s: %s", sr.failed->unit, sr.error ? sr.error : strerror(-r)) >= 0)
                        (void) strv_push(&res->warnings, TAKE_PTR(w));
        }
        sdslice_result_clear(&sr);
        sdslice_plan_clear(&sp);
        return r;
}

/* <unified mount>/<cgroup path as the manager names it>, minding a mount of a sub-cgroup. */
static int sd_abs_dir(struct cgfs *fs, const char *cg, char **ret) {
        const struct cgfs_hier *h = &fs->h[fs->sub[CONF_CPU][0]];
        const char *mr = h->mount_root;
        size_t l = strlen(mr);

        if (strcmp(mr, "/") != 0) {
                if (strncmp(cg, mr, l) != 0 || (cg[l] != '/' && cg[l] != '\0'))
                        return -ENOENT; /* the slice lies outside what is mounted here */
                cg += l;
        }
        return xasprintf(ret, "%s%s%s", h->mount, *cg == '/' ? "" : "/", cg);
}

static int sd_root_dir(struct cgfs *fs, char **ret) {
        _cleanup_free_ char *unit = NULL, *cg = NULL, *mgr = NULL;
        struct cgfs_sd *sd = fs->sd;
        sd_bus *bus;
        int r;

        if (sd->root_cg)
                return xasprintf(ret, "%s", sd->root_cg);
        if (fs->n_sub[CONF_CPU] == 0)
                return -ENOMEDIUM;
        r = sd_get_bus(fs, &bus);
        if (r < 0)
                return r;
        r = sdunit_slice_name(fs->root, "", &unit);
        if (r < 0)
                return r;
        r = sdslice_unit_cgroup(bus, unit, &cg);
        if (r >= 0) {
                r = sd_abs_dir(fs, cg, &sd->root_cg);
                if (r < 0)
                        return r;
                return xasprintf(ret, "%s", sd->root_cg);
        }
        if (r != -ENOENT && r != -ENODATA)
                return r;
        /* Not there yet (cg-syncd has not created it): where the manager will put it. */
        r = sdslice_manager_cgroup(bus, &mgr);
        if (r < 0)
                return r;
        if (xasprintf(&cg, "%s/%s", mgr, unit) < 0)
                return -ENOMEM;
        return sd_abs_dir(fs, cg, ret);
}

static int sd_cgroup_dir(struct cgfs *fs, enum conf_subsys s, const char *path, char **ret) {
        _cleanup_free_ char *dir = NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        (void) s; /* one union tree */
        r = sd_root_dir(fs, &dir);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs(dir, f);
        /* systemd nests a slice's cgroup in its parent slice's: one level per prefix of path. */
        for (const char *p = path; *p;) {
                size_t l = strcspn(p, "/");
                _cleanup_free_ char *prefix = strndup(path, (size_t) (p - path) + l), *unit = NULL;
                if (!prefix || sdunit_slice_name(fs->root, prefix, &unit) < 0) {
                        fclose(f);
                        free(buf);
                        return -ENOMEM;
                }
                fprintf(f, "/%s", unit);
                p += l;
                if (*p == '/')
                        p++;
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int sd_set_weight(struct cgfs *fs, enum conf_subsys s, const char *path, int64_t w) {
        (void) fs, (void) s, (void) path, (void) w;
        return -EOPNOTSUPP; /* weights are unit properties: sd_apply_plan() */
}

static int sd_enable(struct cgfs *fs, enum conf_subsys s, const char *path, size_t *n) {
        (void) fs, (void) s, (void) path, (void) n;
        return 0; /* the manager enables controllers along a slice chain itself */
}

const struct cgfs_ops cgfs_ops_systemd = {
        .name = "systemd",
        .read_live = sd_read_live,
        .set_weight = sd_set_weight,
        .enable = sd_enable,
        .ensure_root = sd_ensure_root,
        .apply_plan = sd_apply_plan,
        .cgroup_dir = sd_cgroup_dir,
};
