/* acctd.h — cg-accountd's state: what is read each second and where it goes. Daemon-private. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "cgfs.h"
#include "conf.h"
#include "ini.h"
#include "event.h"
#include "rds.h"
#include "snapshot.h"
#include "tick.h"

/* How long a tick may wait for Redis, connect and AUTH included (issue 5: ~100 ms). */
#define ACCTD_REDIS_BUDGET_USEC (100 * USEC_PER_MSEC)

/* Files read per cgroup of a subsystem: its counter, then the limits' counters and pressure. */
#define ACCTD_FILES_MAX 4
/* A file found missing in a cgroup (the kernel or the hierarchy has none, e.g. PSI on v1) is
 * skipped for this many ticks, then tried again (a mirror hierarchy created late). */
#define ACCTD_ABSENT_RETRY_TICKS 30

/* One cgroup of one subsystem tree, in pre-order (index 0 is the managed root). */
struct acctd_target {
        char *path; /* the cgroup, relative to the managed root ("" for it); owned */
        /* per file of the tree: kept open between ticks (pread at 0 re-generates it), -1 when
         * not */
        int fd[ACCTD_FILES_MAX];
        unsigned absent; /* bit i: file i was missing here (files[0] never is: its value is {}) */
};

/* What is read for one subsystem tree, chosen once per layout. */
struct acctd_tree {
        enum conf_subsys s;
        bool mounted; /* false: s is in the conf but not here, every value is {} */
        /* files[0] is the main counter (a cgroup without it is {}); the others add the optional
         * keys. from[i] = j < i: file i's values are in file j's text (v2 cpu.stat), not read */
        enum cgfs_file files[ACCTD_FILES_MAX];
        size_t from[ACCTD_FILES_MAX];
        size_t n_files;
        struct acctd_target *t;    /* owned, n entries */
        struct acct_value *values; /* owned, n entries, reused every tick */
        size_t n;
};

struct acctd_stats {
        /* ticks run; samples sent; samples dropped (Redis away); seconds without a tick (the
         * machine stalled); stat files that could not be read */
        uint64_t ticks, sent, dropped, missed, read_errors;
};

struct acctd {
        char *cfg_path;
        struct cfg *cfg;
        sd_event *event;
        struct cgfs *fs;
        struct rds *rds;
        struct snapshot_watch *watch;
        sd_event_source *watch_src;
        struct acctd_tick *tick;

        char *snapshot_path;
        char *snapshot_text; /* raw text of the applied snapshot, SET as <prefix>/arch_conf */
        struct conf *conf;   /* parsed snapshot; NULL until the first one */
        bool arch_conf_dirty;
        bool reset_pending; /* [accountd] reset_on_start: done once, on the first snapshot */
        bool blkio_enabled; /* throttle accounting switched on for every disk */

        struct acctd_tree trees[_CONF_SUBSYS_MAX];
        size_t n_cgroups;
        size_t fd_budget, fds_open;

        char *key_prefix; /* "<prefix>/account/" */
        char *arch_conf_key, *channel;
        struct strbuf sample;    /* reused */
        struct cgfs_buf readbuf; /* reused: every cgroup file read goes through it */

        uint64_t last_slot;
        uint64_t last_tick_usec; /* CPU-independent wall time of the last tick, read + send */
        bool outage;
        uint64_t outage_dropped, outage_since_slot;
        struct acctd_stats st;
        int metrics_error; /* the last metrics write failure, to log each errno once */
};

/* acctd.c: life cycle */
int acctd_new(const char *cfg_path, struct acctd **ret);
struct acctd *acctd_free(struct acctd *d);
DEFINE_CLEANUP_FUNC(struct acctd, acctd_free)
/* --check: the config, the cgroup layout, the snapshot (if any). Prints what it found. */
int acctd_check(const char *cfg_path);

/* metrics.c: <runtime_dir>/metrics/cg-accountd.prom, written after every tick */
struct metrics;
int acctd_metrics_format(const struct acctd *d, struct metrics *m);
void acctd_metrics_write(struct acctd *d);

/* sample.c: the per-second work */
void acctd_trees_clear(struct acctd *d);
/* Rebuilds the targets from d->conf and d->fs (closing every cached fd). */
int acctd_trees_build(struct acctd *d);
/* Reads every target into its value; returns the number of unreadable ones. */
size_t acctd_read_all(struct acctd *d);
/* Turns on per-cgroup IO counters for every disk (see README "Block IO"). Logs what it did. */
int acctd_blkio_enable(struct acctd *d);
/* [accountd] reset_on_start: resets the v1 counters of every cgroup of the conf (cgfs's
 * CGFS_FILE_RESET: cpuacct.usage, blkio.reset_stats). */
int acctd_reset_counters(struct acctd *d);
/* The tick: read, write the sample, send it. */
int acctd_on_tick(struct acctd_tick *t, uint64_t expirations, void *userdata);
