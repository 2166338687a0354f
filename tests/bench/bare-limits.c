/* bare-limits.c — the baseline of tests/bench/limits.sh: the bare syscalls a minimal tool needs
 * to build (or remove) the bench tree with every v1 limit set, and nothing else: per cgroup a
 * mkdir in each hierarchy (cpu, cpuacct, memory, pids, blkio), then one open+write+close per
 * limit file, the same files and values `cgarch apply` writes for the bench conf:
 *   cpu.cfs_period_us 100000, cpu.cfs_quota_us 50000 (quota_percent 50),
 *   memory.limit_in_bytes, memory.soft_limit_in_bytes (max, low; v1 has no high),
 *   pids.max,
 *   blkio.throttle.{read,write}_{bps,iops}_device "MAJ:MIN N".
 * "remove": rmdir children first, in each hierarchy.
 * Usage: bare-limits create|remove N_TOP N_CHILD MAJ:MIN CPU CPUACCT MEMORY PIDS BLKIO
 * (each DIR: <hierarchy>/<test root>, existing). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { H_CPU, H_CPUACCT, H_MEMORY, H_PIDS, H_BLKIO, H_MAX };

static const char *dev;
static char failed[4096];

static int put(const char *dir, const char *file, const char *text) {
        char p[4096];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", dir, file);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, text, strlen(text)) < 0) {
                snprintf(failed, sizeof(failed), "%s", p);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return close(fd);
}

/* The limit files of cgroup `rel` in hierarchy h. */
static int limits(int h, const char *p) {
        char rule[64];

        switch (h) {
        case H_CPU:
                return put(p, "cpu.cfs_period_us", "100000") ?: put(p, "cpu.cfs_quota_us", "50000");
        case H_MEMORY:
                return put(p, "memory.limit_in_bytes", "268435456") ?:
                       put(p, "memory.soft_limit_in_bytes", "1048576");
        case H_PIDS:
                return put(p, "pids.max", "100");
        case H_BLKIO:
                snprintf(rule, sizeof(rule), "%s 10485760", dev);
                if (put(p, "blkio.throttle.read_bps_device", rule) ||
                    put(p, "blkio.throttle.write_bps_device", rule))
                        return -1;
                snprintf(rule, sizeof(rule), "%s 1000", dev);
                return put(p, "blkio.throttle.read_iops_device", rule) ?:
                       put(p, "blkio.throttle.write_iops_device", rule);
        default:
                return 0;
        }
}

static int one(int create, char **dirs, const char *rel) {
        char p[4096];

        for (int h = 0; h < H_MAX; h++) {
                snprintf(p, sizeof(p), "%s/%s", dirs[h], rel);
                if (create ? mkdir(p, 0755) < 0 : rmdir(p) < 0) {
                        snprintf(failed, sizeof(failed), "%s", p);
                        return -1;
                }
                if (create && limits(h, p) < 0)
                        return -1;
        }
        return 0;
}

int main(int argc, char **argv) {
        char rel[256];
        int create, ntop, nchild;

        if (argc != 10) {
                fprintf(stderr, "usage: bare-limits create|remove N_TOP N_CHILD MAJ:MIN CPU CPUACCT "
                                "MEMORY PIDS BLKIO\n");
                return 2;
        }
        create = strcmp(argv[1], "create") == 0;
        ntop = atoi(argv[2]);
        nchild = atoi(argv[3]);
        dev = argv[4];
        for (int i = 0; i < ntop; i++) {
                snprintf(rel, sizeof(rel), "g%d", i);
                if (create && one(1, argv + 5, rel) < 0)
                        goto fail;
                for (int j = 0; j < nchild; j++) {
                        snprintf(rel, sizeof(rel), "g%d/g%d_%d", i, i, j);
                        if (one(create, argv + 5, rel) < 0)
                                goto fail;
                }
                snprintf(rel, sizeof(rel), "g%d", i);
                if (!create && one(0, argv + 5, rel) < 0)
                        goto fail;
        }
        return 0;
fail:
        fprintf(stderr, "bare-limits: %s: %s\n", failed, strerror(errno));
        return 1;
}
