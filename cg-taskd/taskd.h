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
#include "event.h"
#include "proc.h"
#include "snapshot.h"
#include "targets.h"
#include "sdplace.h"
#include "tmap.h"

/* What taskd knows about one pid-file path matched by a rule's pattern. */
struct taskd_file {
        char *path;     /* owned; its key in taskd.files */
        size_t rule;    /* index into taskd.rules */
        size_t pattern; /* pattern id (taskd_rule.pattern_base + j) whose max_files it counts in */
        pid_t pid;      /* the process to place, 0 when none (missing, bad, gone, refused) */
        /* pid > 0 and this file counts in taskd.roots' entry of pid: it is this rule's to
         * place (false for a pid another rule's file named first) */
        bool held;
        char *warned; /* warn-once key of the last complaint about this file (owned) */
        /* warn-once key of the last trust refusal (owner, user=, untrusted symlink, not a
         * regular file): kept while the file comes and goes, reset only when the file is
         * accepted, so a user who rewrites or recreates it cannot flood the log (owned) */
        char *refused;
        bool seen;    /* mark-and-sweep during a full pass */
};

/* A pid's owner: the rule whose pid file names it, in taskd.roots by pid. */
struct taskd_root {
        pid_t pid;
        size_t rule;
        size_t n_files; /* files of `rule` naming pid (held); the root goes with the last */
};

/* One inotify watch: a directory inode, reached through one or more of our path strings
 * (e.g. /run and /var/run through a symlink share a wd). */
struct taskd_watch {
        int wd;
        char **dirs; /* owned strv; each is a key of taskd.watch_dirs */
        /* per dirs[k]: the pattern id whose glob directory it matched and whose max_dirs it
         * counts in; TASKD_WATCH_FIXED: a pattern's own directory, a glob's fixed prefix or the
         * nearest existing ancestor of either (owned) */
        size_t *patterns;
};
#define TASKD_WATCH_FIXED SIZE_MAX

struct taskd_pass {
        size_t n_processes; /* processes in their cgroups after the pass (moved or already there) */
        size_t n_moved;     /* processes written to some cgroup.procs */
        size_t n_cgroups;   /* names with at least one process */
        size_t n_errors;
};

/* Health counters (metrics.c). Refusals are counted as they are logged: once per pid file and
 * reason (per pid and write for a root-owned file), not at every pass. */
enum taskd_refusal {
        TASKD_REFUSAL_TYPE,    /* the pid file is not a regular file */
        TASKD_REFUSAL_LINK,    /* an untrusted symlink, or too many */
        TASKD_REFUSAL_NOUSER,  /* the rule's user= does not exist */
        TASKD_REFUSAL_OWNER,   /* the file's owner may not name that process */
        TASKD_REFUSAL_USER,    /* the process does not run as user= */
        TASKD_REFUSAL_INIT,    /* pid 1 */
        TASKD_REFUSAL_KTHREAD, /* a kernel thread */
        TASKD_REFUSAL_STALE,   /* the pid was reused after the file was written */
        _TASKD_REFUSAL_MAX,
};
struct taskd_metrics {
        uint64_t moves; /* processes written to a cgroup.procs or put in a scope */
        uint64_t refusals[_TASKD_REFUSAL_MAX];
        int write_error; /* the last metrics write failure, to log each errno once */
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

        sd_event *event; /* signals are its own sources; it sends WATCHDOG=1 itself */
        sd_event_source *tree_src, *snap_src, *inotify_src, *interval_src;

        struct taskd_rules rules;
        struct taskd_map files; /* pid-file path -> struct taskd_file (owned) */
        struct taskd_map roots; /* pid -> struct taskd_root (owned) */
        /* per pattern id (taskd_rules_n_patterns): [taskd] max_files and max_dirs */
        struct taskd_cap *file_caps, *dir_caps;
        size_t n_caps;

        int inotify_fd;
        struct taskd_map watches;    /* wd -> struct taskd_watch (owned) */
        struct taskd_map watch_dirs; /* watched path -> its struct taskd_watch */
        /* Directory rescans, coalesced (watch.c): new directories to look at (path -> the
         * same owned string), and whether a full resync (all patterns globbed again) and a
         * full pass are due; run by resync_src. */
        struct taskd_map dirty_dirs;
        bool resync_full, resync_pass;
        struct taskd_coalesce resync;
        sd_event_source *resync_src;

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
        struct taskd_metrics m; /* for <runtime_dir>/metrics/cg-taskd.prom */
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
/* Sizes the per-pattern caps for d->rules and sets their maxima from d->cfg; when the number of
 * patterns changed (a reload), the per-file state starts over. */
int taskd_caps_sync(struct taskd *d);
const char *taskd_pattern_name(const struct taskd *d, size_t pattern);
const struct taskd_root *taskd_root_find(const struct taskd *d, pid_t pid);

/* metrics.c */
struct metrics;
/* The label value of a refusal verdict ("owner", "stale", ...); NULL for TASKD_MOVE. */
const char *taskd_verdict_reason(enum taskd_verdict v);
/* Counts a refusal by its reason key ("type", "link", "nouser", or taskd_verdict_reason()). */
void taskd_metrics_refused(struct taskd *d, const char *reason);
int taskd_metrics_format(const struct taskd *d, struct metrics *m);
/* Writes <runtime_dir>/metrics/cg-taskd.prom; called from taskd_update_status() and after each
 * placement. Logs a failure once per errno. */
void taskd_metrics_write(struct taskd *d);

/* watch.c */
int taskd_watch_init(struct taskd *d);
/* Brings the inotify watches in line with the rules' patterns (every glob expanded again, caps
 * recounted). Returns 1 if the set changed. */
int taskd_watch_sync(struct taskd *d);
void taskd_watch_done(struct taskd *d);
