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
#include "strbuf.h"
#include "targets.h"
#include "sdplace.h"
#include "tmap.h"

/* What the last look at a pid file decided (published by placements.c). */
enum taskd_fstate {
        TASKD_FSTATE_NONE,    /* it names no process (missing, empty, the process is gone) */
        TASKD_FSTATE_PLACED,  /* its tree is where its rule says */
        TASKD_FSTATE_PENDING, /* held, not (all) in place yet: see why */
        TASKD_FSTATE_REFUSED, /* never placed: see why */
        TASKD_FSTATE_STALE,   /* its pid belongs to a process started after the file */
        _TASKD_FSTATE_MAX,
};
/* Why, in a word (the "reason_key" of the state file; the text is made from it when written). */
enum taskd_why {
        TASKD_WHY_NONE,
        TASKD_WHY_MISSING,      /* none: no such file */
        TASKD_WHY_GONE,         /* none: the process it names is gone */
        TASKD_WHY_EMPTY,        /* none: created, not written yet */
        TASKD_WHY_CONTENT,      /* refused: not a pid (aux: the -errno of the parse) */
        TASKD_WHY_LOAD,         /* refused: cannot read it (aux: -errno) */
        TASKD_WHY_TYPE,         /* refused: not a regular file */
        TASKD_WHY_LINK,         /* refused: an untrusted symlink, or too many */
        TASKD_WHY_NOUSER,       /* refused: the rule's user= does not exist */
        TASKD_WHY_OWNER,        /* refused: file_uid may not name a process of proc_uid */
        TASKD_WHY_USER,         /* refused: proc_uid is not user= */
        TASKD_WHY_INIT,         /* refused: pid 1 */
        TASKD_WHY_KTHREAD,      /* refused: a kernel thread */
        TASKD_WHY_STALE,        /* stale */
        TASKD_WHY_DUP,          /* refused: a file of rule aux names the pid first */
        TASKD_WHY_NO_TARGET,    /* pending: no tree of the applied conf holds the rule's name */
        TASKD_WHY_V2_INNER,     /* refused: v2, the name has child cgroups */
        TASKD_WHY_NO_CGROUP,    /* pending: a target cgroup does not exist yet */
        TASKD_WHY_MOVE_FAILED,  /* pending: a write failed (aux: -errno); retried every pass */
        TASKD_WHY_SD_PENDING,   /* pending: the service moves at its next (re)start */
        TASKD_WHY_SD_REFUSED,   /* refused: a systemd-mode refusal (detail: its phrase) */
        TASKD_WHY_SD_ERROR,     /* pending: the manager could not be asked or failed the move */
        TASKD_WHY_BUDGET,       /* not read: its owner (file_uid) is past the refusal budget (aux) */
        _TASKD_WHY_MAX,
};

/* The last move of a pid file's tree (for `cgarch why`): recorded when a process was written. */
struct taskd_move {
        uint64_t realtime_usec; /* 0: none yet */
        pid_t pid;              /* the first process moved */
        unsigned n;             /* processes moved then */
        char *from, *to;        /* owned: its cgroup before ("/user.slice") and after */
};

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

        /* The last decision about it, for <runtime_dir>/taskd-placements.json. */
        uint8_t state, why; /* enum taskd_fstate, enum taskd_why */
        pid_t named;        /* the pid its content names, also when refused (0: none) */
        uid_t file_uid, proc_uid;
        int aux;            /* per `why`: an -errno, or a rule index (TASKD_WHY_DUP) */
        unsigned n_procs;   /* processes of its tree in place after its last placement */
        const char *detail; /* static text for TASKD_WHY_SD_* (sdplan's phrase), or NULL */
        char *unit;         /* systemd mode: the unit holding its process (owned), or NULL */
        char *where;        /* systemd mode: the slice that unit was in at the last look */
        struct taskd_move move;
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
        /* the directory's owner, looked up (stat of dirs[0]) at most once per read of the
         * inotify fd (owner_read == taskd.inotify_reads), and only while some uid is past its
         * refusal budget (watch.c, watch_deferred) */
        uid_t owner;
        unsigned owner_read;
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
        TASKD_REFUSAL_BUDGET,  /* a uid's files are not read until the next pass (once per uid) */
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
        /* The inotify flood brake (watch.c): events read in the current window, when it began,
         * and the timer that turns the inotify source back on after a pause. */
        unsigned inotify_window_events;
        uint64_t inotify_window_start;
        sd_event_source *inotify_pause_src;
        unsigned inotify_reads; /* reads of the inotify fd, for taskd_watch.owner_read */

        /* A scope of reads (place.c, taskd_scope_begin/end): within one batch of inotify
         * events or one full pass, each pid-file directory is walked from "/" once (path ->
         * struct scope_dir, holding an O_PATH fd) instead of once per file, and each process
         * a pid file names has its /proc stat and owner read once (pid -> struct scope_proc). */
        unsigned scope_depth;
        struct taskd_map scope_dirs, scope_procs;
        /* The refusal budget (place.c): uid -> refusals of its pid files on events since the
         * last full pass (a pointer-sized integer); past [taskd] max_refusals its files are not
         * read on events until the next pass, which starts the count again. */
        struct taskd_map uid_refusals;
        unsigned n_over_budget; /* uids past it: only then is a file's owner looked at first */
        bool in_pass;
        int scope_proc_fd; /* in a scope: /proc/self/fd, opened at its first file read, or -1 */

        struct pidvec queue;   /* scratch for tree walks */
        char *unknown_warned;  /* warn-once key: names of rules no tree holds */
        char *snapshot_warned; /* warn-once key: the last bad snapshot */
        char *inner_warned;    /* warn-once key: v2 rules refused ("no internal processes") */

        /* [cgroup] mode = systemd: placement through the manager (sdplace.c); NULL otherwise,
         * and then cgroup.procs is written as always. */
        struct sdplace *sd;

        /* <runtime_dir>/taskd-placements.json (placements.c): rewritten when something
         * changed, at most once per `placements_gap_usec` (CLOCK_MONOTONIC) */
        sd_event_source *placements_src;
        bool placements_dirty;
        uint64_t placements_last_usec, placements_gap_usec, placements_due_usec;
        int placements_error; /* the last write failure, to log each errno once */
        struct strbuf placements_buf; /* reused */

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
/* The refusal budget ([taskd] max_refusals, 0: none): an unprivileged user who can write files
 * that a pattern matches can make cg-taskd read and refuse one file per event. Past that many
 * refusals of one uid's files on events since the last full pass, that uid's files are only
 * looked at (one fstatat, for the owner) and its new directories under a glob not watched, until
 * the next pass, which reads them all and starts the count again. Root's files are read, except
 * in a directory that uid owns: there only the files cg-taskd knows in good standing are
 * (watch.c, watch_deferred), since that uid can replace any file in it anyway.
 * Whether the file or directory at path (not followed) is owned by a uid past the budget now,
 * its owner in *ret_uid: looked at (one fstatat through the scope's directory fd, else an
 * lstat) only on events, and only while some uid is past the budget. */
bool taskd_path_over_budget(struct taskd *d, const char *path, uid_t *ret_uid);
/* Whether some uid is past the refusal budget now (never during a full pass): only then is an
 * owner looked at before a file is read. */
static inline bool taskd_budget_spent(const struct taskd *d) {
        return d->n_over_budget > 0 && !d->in_pass;
}
/* Whether uid is past the refusal budget now (never root, never during a full pass). */
bool taskd_uid_over_budget(const struct taskd *d, uid_t uid);
/* Opens and closes a scope of reads (nested calls count): inside it the trusted walk of a
 * pid file's directory is done once and its fd reused. Short by design (one batch of events,
 * one pass), so what the walk found cannot go stale for longer than a walk per file would. */
void taskd_scope_begin(struct taskd *d);
void taskd_scope_end(struct taskd *d);
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

/* placements.c */
#define TASKD_PLACEMENTS_FILE "taskd-placements.json" /* in [daemon] runtime_dir */
/* Something a reader of taskd-placements.json sees changed: it is rewritten when the gap since
 * the last write has passed: TASKD_PLACEMENTS_MIN_GAP_USEC when `urgent` (a placement: `cgarch
 * why` after a service restart), TASKD_PLACEMENTS_SLOW_GAP_USEC otherwise (refusals and missing
 * files, what a flood is made of); never less than 50 times what the last write took. No-op
 * without a loop (--check). */
void taskd_placements_dirty(struct taskd *d, bool urgent);
/* Writes it now (the timer's work; also at start). */
void taskd_placements_write(struct taskd *d);
/* Formats the whole state into b (reset first); now_realtime_usec stamps it. Pure but for
 * cgfs's names; -ENOMEM. */
int taskd_placements_format(const struct taskd *d, uint64_t now_realtime_usec, struct strbuf *b);
void taskd_placements_done(struct taskd *d);
/* The decision helpers place.c and sdplace.c record with. */
void taskd_file_judged(struct taskd_file *f, enum taskd_fstate st, enum taskd_why why,
                       pid_t named);
/* Records a move of f's tree: n processes, the first one pid, from -> to (copied; NULL: "?"). */
void taskd_file_moved(struct taskd_file *f, pid_t pid, unsigned n, const char *from,
                      const char *to);
void taskd_file_record_done(struct taskd_file *f); /* frees what the records own */
const char *taskd_fstate_name(enum taskd_fstate st);
const char *taskd_why_key(enum taskd_why w);

/* Pure: at most `max` entries shared among n patterns whose files fall in TASKD_PLACE_CLASSES
 * priority classes (counts[p * TASKD_PLACE_CLASSES + c]): each pattern first gets an equal
 * share, taken in class order; what is left goes to the others, in pattern order. take[] (same
 * layout) gets how many of each to publish. Returns the total taken. */
#define TASKD_PLACE_CLASSES 4
size_t taskd_placements_quota(const size_t *counts, size_t n, size_t max, size_t *take);
/* At most this many files are listed (the counts cover all). */
#define TASKD_PLACEMENTS_MAX 512
/* Rewritten at most every this much, and at most 1/TASKD_PLACEMENTS_COST_FACTOR of the time
 * spent writing (2% of a CPU). */
#define TASKD_PLACEMENTS_COST_FACTOR 50
#define TASKD_PLACEMENTS_MIN_GAP_USEC (100 * USEC_PER_MSEC)
#define TASKD_PLACEMENTS_SLOW_GAP_USEC (1 * USEC_PER_SEC)
#define TASKD_PLACEMENTS_MAX_GAP_USEC (2 * USEC_PER_SEC)

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
