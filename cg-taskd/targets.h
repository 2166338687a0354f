/* targets.h — cg-taskd's pure logic: which pid files feed which cgroups ([pid_files] + the
 * applied conf), how a pid-file pattern maps to an inotify watch, which processes may be moved,
 * warn-once bookkeeping and the STATUS line. No I/O here; unit-tested in test-taskd.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgfs.h"
#include "conf.h"
#include "ini.h"
#include "proc.h"
#include "util.h"

/* Hierarchies one subsystem can span (v1 cpu: cpu + cpuacct). */
#define TASKD_MAX_HIER 4

/* One subsystem tree that holds a rule's name. */
struct taskd_target {
        enum conf_subsys subsys;
        char *path; /* owned; relative to the managed root, e.g. "test_cgroup_b/test_cgroup_b_sub1"
                     */
        bool missing; /* the cgroup did not exist (-ENOENT) since the last snapshot change */
        /* Cached O_WRONLY fds of its processes file (cgfs_open_file, CGFS_FILE_PROCS), one per
         * hierarchy of the subsystem; n_fds 0 until opened. Closed by taskd_rules_clear(). */
        int fds[TASKD_MAX_HIER];
        size_t n_fds;
        /* Pids in this cgroup in every hierarchy, read from cgroup.procs at the start of a pass
         * (sorted): a process in it costs no read and no write. */
        struct pidvec in_place;
};

/* One [pid_files] entry: a cgroup name and the pid files of its processes. */
struct taskd_rule {
        char *name;      /* owned */
        char **patterns; /* owned strv: absolute paths or globs */
        /* id of patterns[0] among all rules' patterns, in order (caps are per pattern: pattern
         * j of this rule is pattern_base + j) */
        size_t pattern_base;
        char *user;      /* owned; `user=` of the rule: the process must run as it (NULL: any) */
        struct taskd_target targets[_CONF_SUBSYS_MAX];
        size_t n_targets; /* 0: no tree of the conf holds the name (yet), or v2_inner */
        bool v2_inner;    /* v2: the name has child cgroups, so it cannot hold processes */
};

/* Closes the cached cgroup.procs fds (they are reopened on next use). */
void taskd_target_close(struct taskd_target *t);

struct taskd_rules {
        struct taskd_rule *v;
        size_t n;
};

/* Builds the rules from the [pid_files] entries and the applied conf (NULL: none yet, so no
 * targets). Targets come in subsystem order. *ret is written only on success. */
int taskd_rules_build(const struct cfg_pid_files *pf, size_t n_pf, const struct conf *c,
                      struct taskd_rules *ret);
void taskd_rules_clear(struct taskd_rules *r);
/* cgroup v2 "no internal processes" (plan_check_v2_procs, the rule `cgarch validate` applies):
 * marks every rule whose name has child cgroups in the conf's union tree as v2_inner and drops
 * its targets, so none of its processes is moved (no half-applied placement). Their names as
 * one "a, b" string in *ret (owned; NULL if none). */
int taskd_rules_refuse_v2_inner(struct taskd_rules *r, const struct conf *c, char **ret);
/* Names in rules that no tree of the conf holds (v2_inner rules left out), as one "a, b" string (owned; NULL if none). */
int taskd_rules_unknown_names(const struct taskd_rules *r, char **ret);

/* How many patterns all rules have together (pattern ids are 0 .. n-1). */
size_t taskd_rules_n_patterns(const struct taskd_rules *r);

/* Contains one of the glob(7) metacharacters * ? [ */
bool taskd_has_glob(const char *s);
/* Splits an absolute pattern "/run/x/a*.pid" into dir "/run/x" and basename pattern "a*.pid"
 * ("/x.pid" -> "/" and "x.pid"). -EINVAL: relative, or ends in '/'. Both owned. */
int taskd_pattern_split(const char *pattern, char **ret_dir, char **ret_base);
/* dir + "/" + name into buf (no doubled slash after "/"); false when it does not fit. */
bool taskd_path_join(char *buf, size_t size, const char *dir, const char *name);
/* Does the file `name` appearing in directory `dir` match `pattern`? Globs are allowed in
 * the basename and in the directory components (fnmatch, FNM_PATHNAME | FNM_PERIOD). */
bool taskd_pattern_matches(const char *pattern, const char *dir, const char *name);

/* What a directory that just appeared means for one pattern (paths without "." or ".."
 * components, as inotify and glob give them). */
enum taskd_dir_match {
        TASKD_DIR_NONE,
        /* it matches the pattern's directory part, which has a glob: it is watched (counted
         * against the pattern's max_dirs) and scanned for pid files */
        TASKD_DIR_GLOB,
        /* it is the pattern's fixed directory, or an ancestor within the fixed part: the watch
         * that stood in for it (its nearest existing ancestor) must move down: a full resync */
        TASKD_DIR_RESYNC,
};
enum taskd_dir_match taskd_dir_match(const char *pattern, const char *path);

/* A per-pattern cap ([taskd] max_files, max_dirs): n things held of at most max. Past it, the
 * rest is ignored and warned about once per config (a reload re-arms it): a flood that comes in
 * waves, or a count hovering at the cap, must not make a warning per wave or per file. */
struct taskd_cap {
        size_t n, max;
        bool warned;
};
enum taskd_cap_result {
        TASKD_CAP_TAKEN,     /* n was below max: one more is held */
        TASKD_CAP_FULL,      /* full, warned already: ignore it quietly */
        TASKD_CAP_FULL_WARN, /* full, first time: ignore it and warn (naming pattern and cap) */
};
enum taskd_cap_result taskd_cap_take(struct taskd_cap *c);
void taskd_cap_release(struct taskd_cap *c);

/* Coalescing of directory rescans: a burst of mkdirs or queue overflows asks for many; they run
 * as one, at once when the last one ran at least `window` ago, else `window` after it. Times in
 * CLOCK_MONOTONIC usec. */
struct taskd_coalesce {
        uint64_t last_usec; /* when the last rescan ran */
        bool ran, pending;
};
/* A rescan is asked for at `now`: 0 if one is pending already (nothing to arm), else when to run
 * it (>= now; now: on the next loop iteration). */
uint64_t taskd_coalesce_ask(struct taskd_coalesce *c, uint64_t now, uint64_t window);
void taskd_coalesce_ran(struct taskd_coalesce *c, uint64_t now);

/* Whether the process of a pid file may be moved. */
enum taskd_verdict {
        TASKD_MOVE,
        TASKD_REFUSE_INIT,    /* pid 1 */
        TASKD_REFUSE_KTHREAD, /* a kernel thread */
        TASKD_REFUSE_STALE,   /* the pid now belongs to a process started after the file */
        TASKD_REFUSE_OWNER,   /* the file's owner is neither root nor the process's owner */
        TASKD_REFUSE_USER,    /* the process does not run as the rule's `user=` */
};
/* Slack for the stale test: starttime has clock-tick (10 ms) resolution and the boot time is
 * derived from two clocks; a pid reused within this much of the file's write is not caught. */
#define TASKD_STALE_SLACK_USEC (500 * USEC_PER_MSEC)
enum taskd_verdict taskd_judge(const struct proc_stat *st, uint64_t pidfile_mtime_usec,
                               uint64_t start_realtime_usec);
const char *taskd_verdict_to_string(enum taskd_verdict v);
/* Pure: the trust rule of pid files (after systemd's PIDFile=). A pid file carries the
 * authority of its owner and no more: root's file may name any process, anyone else's only a
 * process whose real uid is theirs. `required_uid` (NULL: none) is the rule's `user=`: the
 * process must run as it, whoever wrote the file. TASKD_MOVE or a REFUSE_OWNER/USER verdict. */
enum taskd_verdict taskd_judge_owner(uid_t file_uid, uid_t proc_uid, const uid_t *required_uid);
/* Pure: may the content of a file owned by file_uid go to the log? Only root's: a complaint
 * about anyone else's file must not become a way to read files through cg-taskd. */
bool taskd_may_show_content(uid_t file_uid);
/* Pure: a `user=` value as a uid when it is numeric ("1000"): 1; 0 when it is a name to look
 * up; -EINVAL when it is neither. */
int taskd_user_parse_uid(const char *user, uid_t *ret);

/* Warn-once bookkeeping: *slot holds the key of the last warning about one thing (a pid file).
 * Returns true when `key` differs (the caller should warn) and stores it; key NULL resets the
 * slot (the thing is fine again) and returns false. */
bool taskd_warn_once(char **slot, const char *key);

/* "placed N processes in M cgroups, last pass X ms" (owned). */
int taskd_status_format(size_t n_processes, size_t n_cgroups, uint64_t pass_usec, char **ret);
