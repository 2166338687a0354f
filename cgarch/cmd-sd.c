/* cmd-sd.c — what `cgarch plan|apply|show|cgexec-arg` print in systemd mode: unit names and
 * their properties instead of cgroup directories (common/sdslice.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgfs.h"
#include "cli.h"
#include "log.h"
#include "plan.h"
#include "sdslice.h"
#include "sdunit.h"
#include "util.h"

bool cli_sd_mode(const struct cfg *cfg) {
        _cleanup_(cgfs_closep) struct cgfs *fs = NULL;

        if (cfg->cg.mode == CGFS_MODE_SYSTEMD)
                return true;
        if (cfg->cg.mode != CGFS_MODE_AUTO)
                return false;
        /* No bus is opened by this: the backend connects on first use. */
        return cgfs_open(cfg->cg.dir, "", CGFS_MODE_AUTO, &fs) >= 0 && cgfs_is_systemd(fs);
}

int cli_sd_print_plan(struct cgfs *fs, const struct plan *p, const struct live_tree *live,
                      bool quiet) {
        _cleanup_free_ char *text = NULL, *rootname = NULL;
        struct sdslice_plan sp = {};
        int r;

        r = sdslice_plan_from(cgfs_root(fs), p, live, &sp);
        if (r >= 0)
                r = sdslice_plan_format(&sp, &text);
        if (r < 0) {
                sdslice_plan_clear(&sp);
                return log_error_errno(r, "Failed to format the plan: %m");
        }
        if (!quiet && sdunit_slice_name(cgfs_root(fs), "", &rootname) >= 0)
                printf("# systemd: slice units under %s (CPUWeight = share*100/1024, IOWeight = "
                       "weight*100/500)\n",
                       rootname);
        fputs(sp.n ? text : quiet ? "" : "nothing to do\n", stdout);
        r = (int) sp.n;
        sdslice_plan_clear(&sp);
        return r;
}

int cli_sd_show(struct cgfs *fs, const struct live_tree *live) {
        _cleanup_free_ char *rootname = NULL, *rootdir = NULL;
        uint64_t usage;
        int r;

        r = sdunit_slice_name(cgfs_root(fs), "", &rootname);
        if (r < 0)
                return log_error_errno(r, "[cgroup] root \"%s\" cannot name a slice: %m",
                                       cgfs_root(fs));
        printf("layout: systemd (slice units of the manager), managed root %s\n", rootname);
        if (cgfs_cgroup_dir(fs, CONF_CPU, "", &rootdir) >= 0)
                printf("tree: %s\n", rootdir);
        printf("  %-40s", rootname);
        if (cgfs_read_cpu_usage(fs, "", &usage) >= 0)
                printf(" usage %" PRIu64 "ns", usage);
        printf("\n");
        /* Both lists hold the same paths, sorted (sdslice_live_sort). */
        for (size_t i = 0; i < live->n[CONF_CPU]; i++) {
                const struct live_entry *e = &live->v[CONF_CPU][i];
                _cleanup_free_ char *unit = NULL;
                unsigned depth = 1;

                if (sdunit_slice_name(cgfs_root(fs), e->path, &unit) < 0)
                        continue;
                for (const char *q = e->path; *q; q++)
                        depth += *q == '/';
                printf("  %*s%-*s", (int) depth * 2, "", 40 - (int) depth * 2, unit);
                if (e->weight >= 0)
                        printf(" CPUWeight=%" PRId64, e->weight);
                if (i < live->n[CONF_BLKIO] && live->v[CONF_BLKIO][i].weight >= 0)
                        printf(" IOWeight=%" PRId64, live->v[CONF_BLKIO][i].weight);
                if (cgfs_read_cpu_usage(fs, e->path, &usage) >= 0)
                        printf(" usage %" PRIu64 "ns", usage);
                printf("\n");
        }
        return 0;
}

int cli_sd_slice_arg(const struct conf *c, const char *root, const char *name, char **ret) {
        _cleanup_free_ char *unit = NULL;
        const struct conf_node *n = NULL;
        int r;

        /* One union tree: the name has the same path in every tree that holds it. */
        for (int s = 0; s < _CONF_SUBSYS_MAX && !n; s++)
                if (c->roots[s])
                        n = conf_find(c, s, name);
        if (!n)
                return -ENOENT;
        r = sdunit_slice_name(root, n->path, &unit);
        if (r < 0)
                return r;
        return xasprintf(ret, "--slice=%s", unit);
}
