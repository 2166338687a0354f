/* cgfs-names.c — the names of cgroup files that code outside cgfs needs to know about without
 * touching the filesystem: which conf names are reserved (conf.c) and how a v2 weight is shown
 * in a plan (plan.c). Pure and standalone, so that conf.c and plan.c (and their fuzz targets)
 * link it without the rest of cgfs. */
#include <string.h>

#include "plan.h" /* cgfs.h needs its types declared first */
#include "cgfs.h"
#include "macro.h"

/* Controllers whose control files are "<controller>.<x>" (v1 and v2), plus "cgroup." itself. */
static const char *const control_prefixes[] = {
        "cgroup",   "cpu",    "cpuacct",  "blkio",   "io",         "memory",  "pids",
        "cpuset",   "devices", "freezer", "net_cls", "net_prio",   "perf_event",
        "hugetlb",  "rdma",   "misc",     "irq", /* v2's irq.pressure */
};
static const char *const control_files[] = {
        "tasks",
        "notify_on_release",
        "release_agent",
};

bool cgfs_name_is_control_file(const char *name) {
        const char *dot;

        if (!name)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(control_files); i++)
                if (strcmp(name, control_files[i]) == 0)
                        return true;
        dot = strchr(name, '.');
        if (!dot)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(control_prefixes); i++) {
                size_t l = strlen(control_prefixes[i]);
                if ((size_t) (dot - name) == l && memcmp(name, control_prefixes[i], l) == 0)
                        return true;
        }
        return false;
}

const char *cgfs_v2_weight_file(enum conf_subsys s) {
        return s == CONF_CPU ? "cpu.weight" : "io.weight";
}

const char *cgfs_pressure_file(enum conf_subsys s) {
        switch (s) {
        case CONF_CPU:
                return "cpu.pressure";
        case CONF_BLKIO:
                return "io.pressure";
        case CONF_MEMORY:
                return "memory.pressure";
        default:
                return NULL; /* the pids controller has no PSI */
        }
}
