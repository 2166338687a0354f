/* taskd.h — cg-taskd's daemon state, shared by its files: daemon.c (setup, config, snapshot,
 * signals, timers), place.c (pid files -> processes -> cgroup.procs), watch.c (inotify on the
 * pid files' directories). Everything runs on the one loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgfs.h"
#include "conf.h"
#include "ini.h"
#include "log.h"
#include "loop.h"
#include "proc.h"
#include "snapshot.h"
#include "targets.h"
#include "sdplace.h"

/* What taskd knows about one pid-file path matched by a rule's pattern. */
struct taskd_file {
        char *path;   /* owned */
        size_t rule;  /* index into taskd.rules */
        pid_t pid;    /* the process to place, 0 when none (missing, bad, gone, refused) */
        char *warned; /* warn-once key of the last complaint about this file (owned) */
        /* warn-once key of the last trust refusal (owner, user=, untrusted symlink, not a
         * regular file): kept while the file comes and goes, reset only when the file is
         * accepted, so a user who rewrites or recreates it cannot flood the log (owned) */
        char *refused;
        bool seen;    /* mark-and-sweep during a full pass */
};

/* A pid's owner: the rule whose pid file names it. Sorted by pid for bsearch. */
struct taskd_root {
        pid_t pid;
        size_t rule;
};

/* One inotify watch: a directory inode, reached through one or more of our path strings
 * (e.g. /run and /var/run through a symlink share a wd). */
struct taskd_watch {
        int wd;
        char **dirs; /* owned strv */
};

struct taskd_pass {
        size_t n_processes; /* processes in their cgroups after the pass (moved or already there) */
        size_t n_moved;     /* processes written to some cgroup.procs */
        size_t n_cgroups;   /* names with at least one process */
        size_t n_errors;
};

struct taskd {
        char *config_path; /* owned */
        struct cfg *cfg;
        struct cgfs *fs;
        struct conf *conf; /* the last good applied snapshot, NULL before the first */
        char *snapshot_path;
        struct snapshot_watch *snap;
        struct proc_walk *walk;
        /* pid -> ppid of every process from the process events connector; NULL when that is
         * unavailable (no CAP_NET_ADMIN, no CONFIG_PROC_EVENTS): then `walk` reads
         * /proc/<pid>/task/<tid>/children for every process of a tree. */
        struct proc_tree *tree;
        long hz; /* clock ticks per second of /proc/<pid>/stat starttime */

        struct loop *loop;
        struct loop_source *tree_src, *snap_src, *inotify_src, *interval_src, *watchdog_src,
                *signal_src;

        struct taskd_rules rules;
        struct taskd_file *files;
        size_t n_files;
        struct taskd_root *roots;
        size_t n_roots;

        int inotify_fd;
        struct taskd_watch *watches;
        size_t n_watches;

        struct pidvec queue;   /* scratch for tree walks */
        char *unknown_warned;  /* warn-once key: names of rules no tree holds */
        char *snapshot_warned; /* warn-once key: the last bad snapshot */
        char *inner_warned;    /* warn-once key: v2 rules refused ("no internal processes") */

        /* [cgroup] mode = systemd: placement through the manager (sdplace.c); NULL otherwise,
         * and then cgroup.procs is written as always. */
        struct sdplace *sd;

        struct taskd_pass last; /* the last full pass */
        uint64_t last_pass_usec;
        uint64_t n_passes;
};

/* daemon.c */
int taskd_new(const char *config_path, struct taskd **ret);
struct taskd *taskd_free(struct taskd *d);
DEFINE_CLEANUP_FUNC(struct taskd, taskd_free)
int taskd_start(struct taskd *d); /* first pass, watches, timers; before READY=1 */
/* For --check: loads and validates everything without moving a process. Prints a summary. */
int taskd_check(const char *config_path);
void taskd_update_status(struct taskd *d);

/* place.c */
int taskd_full_pass(struct taskd *d);
/* A pid-file path appeared or changed: place its tree at once if a rule matches it.
 * `just_created`: an IN_CREATE event, the writer may not have written yet (empty is quiet). */
int taskd_file_event(struct taskd *d, const char *dir, const char *name, bool just_created);
void taskd_file_gone(struct taskd *d, const char *dir, const char *name);
void taskd_files_clear(struct taskd *d);

/* watch.c */
int taskd_watch_init(struct taskd *d);
/* Brings the inotify watches in line with the rules' patterns. Returns 1 if the set changed. */
int taskd_watch_sync(struct taskd *d);
void taskd_watch_done(struct taskd *d);
