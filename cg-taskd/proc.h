/* proc.h — pid files and /proc for cg-taskd: strict pure parsers (pid file, /proc/<pid>/stat,
 * children lists) and a descendant walk over /proc/<pid>/task/<tid>/children with a /proc ppid
 * scan as fallback. Every function takes the proc directory so tests can point it at a fixture
 * tree. Returns >= 0 or -errno; never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* The kernel's PID_MAX_LIMIT on 64-bit (2^22): no pid can be larger. */
#define PROC_PID_MAX 4194304
/* A pid file longer than this is not a pid file (read no more of it). */
#define PROC_PIDFILE_MAX 64
/* include/linux/sched.h: the task is a kernel thread. */
#define PROC_PF_KTHREAD 0x00200000U

/* Parses a pid file's content: one decimal pid, optionally followed by a single '\n'.
 * -ENODATA: empty (or only "\n"); -ERANGE: 0, negative or above PROC_PID_MAX;
 * -EINVAL: anything else (spaces, signs, letters, NUL bytes, two lines, "\r\n"). */
int proc_pidfile_parse(const char *buf, size_t len, pid_t *ret);
/* A short English reason for a proc_pidfile_parse()/proc_pidfile_load() error, e.g. "empty". */
const char *proc_pidfile_strerror(int r);

/* The raw content of a pid file, without parsing (proc_pidfile_parse() parses it), so a caller
 * can tell whether a bad file changed since it last complained about it, and who owns it. The
 * path is walked with open_path_trusted() (util.h): a symlink is followed only if root owns it
 * and every directory on the way, so a user's link never lends them the authority of the file it
 * points to. Only a regular file is opened for reading (a FIFO or device node is looked at, never
 * opened: no blocked writer is released), without blocking and reading at most
 * PROC_PIDFILE_MAX + 1 bytes. Errors: -ENOENT/-ENOTDIR (missing), -ENOLINK (an untrusted
 * symlink), -ELOOP, -EBADF (not a regular file), -EFBIG (too long), others of open/read. */
struct proc_pidfile {
        char data[PROC_PIDFILE_MAX + 1]; /* NUL-terminated; may hold other NULs (len counts) */
        size_t len;
        uint64_t mtime_usec; /* CLOCK_REALTIME µs */
        uid_t uid;           /* the file's owner: whose word the content is */
};
int proc_pidfile_load(const char *path, struct proc_pidfile *ret);
/* The same, `path` relative to a directory fd from open_path_trusted_at() (util.h) and its
 * trust (an absolute path walks from "/" as proc_pidfile_load() does), reopening the file
 * through `proc_fd_dir` (read_small_file_opath(), util.h; -1: none). */
int proc_pidfile_load_at(int dirfd, bool dir_trusted, int proc_fd_dir, const char *path,
                         struct proc_pidfile *ret);

/* What taskd needs from /proc/<pid>/stat. */
struct proc_stat {
        pid_t pid;
        char state; /* 'R', 'S', 'Z', ... */
        pid_t ppid;
        unsigned flags; /* PF_* */
        unsigned num_threads;
        uint64_t starttime; /* clock ticks after boot (CLOCK_BOOTTIME based since Linux 5.3) */
};
/* Pure: parses the text of /proc/<pid>/stat. comm may contain spaces and ')' (the last ')'
 * ends it). -EINVAL on anything malformed. */
int proc_stat_parse(const char *buf, struct proc_stat *ret);
/* Reads /proc/<pid>/stat under proc_dir ("/proc"). -ESRCH when the process is gone. */
int proc_stat_read(const char *proc_dir, pid_t pid, struct proc_stat *ret);
/* Pure: the real uid (first field of "Uid:") from the text of /proc/<pid>/status. -EINVAL when
 * the line is missing or malformed. */
int proc_status_parse_uid(const char *buf, uid_t *ret);
/* Reads /proc/<pid>/stat and the real uid from /proc/<pid>/status through one open /proc/<pid>
 * directory, so both describe the same process: if it exits and its pid is reused between the
 * two reads, the second fails (-ESRCH) instead of describing the newcomer. */
int proc_stat_read_owner(const char *proc_dir, pid_t pid, struct proc_stat *ret, uid_t *ret_uid);
/* A kernel thread (PF_KTHREAD, or kthreadd itself / its children): never to be moved. */
bool proc_stat_is_kthread(const struct proc_stat *st);

/* Converts a starttime (ticks after boot) to CLOCK_REALTIME µs, given the clock tick rate and
 * the realtime of boot (pure; see proc_boot_realtime_usec()). */
uint64_t proc_starttime_to_realtime_usec(uint64_t ticks, long hz, uint64_t boot_realtime_usec);
/* The realtime µs at which CLOCK_BOOTTIME was 0 (now(REALTIME) - now(BOOTTIME)). */
uint64_t proc_boot_realtime_usec(void);

/* Pure: a pid file is stale when its pid now belongs to a process that started after the file
 * was written. `slack_usec` absorbs clock-tick rounding and clock adjustments. */
bool proc_pidfile_is_stale(uint64_t pidfile_mtime_usec, uint64_t start_realtime_usec,
                           uint64_t slack_usec);

/* A growable pid vector. */
struct pidvec {
        pid_t *v;
        size_t n, allocated;
};
int pidvec_push(struct pidvec *pv, pid_t pid);
void pidvec_clear(struct pidvec *pv); /* frees the storage; the vector is reusable */
bool pidvec_contains_sorted(const struct pidvec *pv, pid_t pid); /* after pidvec_sort() */
void pidvec_sort(struct pidvec *pv);                             /* ascending, duplicates removed */

/* Pure: appends the pids of a children list ("12 345 6789 ", the format of
 * /proc/<pid>/task/<tid>/children) to out. -EINVAL on anything but pids and single spaces. */
int proc_children_parse(const char *buf, struct pidvec *out);

/* ---- descendants ----
 * The walk reads /proc/<pid>/task/<tid>/children for every thread of a process. Where that
 * file does not exist (kernels without CONFIG_PROC_CHILDREN) it falls back, once per
 * generation, to a scan of every /proc/<pid>/stat building a parent index (the ppid there is
 * the parent's tgid, so children of every thread are found). */
struct proc_walk;
int proc_walk_new(const char *proc_dir, struct proc_walk **ret);
struct proc_walk *proc_walk_free(struct proc_walk *w);
DEFINE_CLEANUP_FUNC(struct proc_walk, proc_walk_free)
/* Forces the ppid-scan fallback (tests, and kernels known to lack the children files). */
void proc_walk_set_fallback(struct proc_walk *w, bool on);
bool proc_walk_uses_fallback(const struct proc_walk *w);
/* Drops the fallback's parent index so the next call rescans (call once per pass). */
void proc_walk_invalidate(struct proc_walk *w);
/* Appends the direct children of every thread of `pid` to out. -ESRCH: the process is gone. */
int proc_walk_children(struct proc_walk *w, pid_t pid, struct pidvec *out);
/* Borrowed proc dir fd ("/proc" opened O_PATH|O_DIRECTORY), for openat() by callers. */
int proc_walk_dirfd(const struct proc_walk *w);
/* Reads /proc/<pid>/cgroup under proc_dir into *ret (owned). -ESRCH when the process is gone. */
int proc_cgroup_read_at(int proc_dirfd, pid_t pid, char **ret);


/* ---- the process tree, kept current by the kernel's process events connector ----
 * One /proc scan (pid -> ppid of every process), then fork and exit events from the netlink
 * connector (CN_IDX_PROC, needs CAP_NET_ADMIN and CONFIG_PROC_EVENTS). A lost event (the
 * socket overflowed: -ENOBUFS) triggers a rescan, so the tree never silently drifts. Children
 * of an exited process are re-read from /proc (they were reparented). */
enum proc_event_type {
        PROC_EV_OTHER, /* exec, uid, ... and the subscription ack */
        PROC_EV_FORK,  /* pid/tgid: the child; parent_*: its parent */
        PROC_EV_EXIT,  /* pid/tgid: the task that exited */
};
struct proc_event_info {
        enum proc_event_type type;
        pid_t pid, tgid, parent_pid, parent_tgid;
};
/* Pure: parses one datagram of the connector (netlink messages carrying cn_msg + proc_event).
 * Fills up to max events; *n gets how many. -EINVAL on a malformed datagram. */
int proc_events_parse(const void *buf, size_t len, struct proc_event_info *ev, size_t max,
                      size_t *n);

struct proc_tree;
/* Subscribes and scans. -EPERM/-EACCES (no CAP_NET_ADMIN), -EPROTONOSUPPORT (no connector). */
int proc_tree_new(const char *proc_dir, struct proc_tree **ret);
struct proc_tree *proc_tree_free(struct proc_tree *t);
DEFINE_CLEANUP_FUNC(struct proc_tree, proc_tree_free)
int proc_tree_fd(const struct proc_tree *t); /* readable when events are pending */
/* Applies every pending event without blocking (rescans after an overflow). Returns the number
 * of fork/exit events applied. */
int proc_tree_update(struct proc_tree *t);
/* Appends pid's known children (of all its threads). -ESRCH: pid is not in the tree. */
int proc_tree_children(struct proc_tree *t, pid_t pid, struct pidvec *out);
size_t proc_tree_size(const struct proc_tree *t);
unsigned proc_tree_rescans(const struct proc_tree *t); /* overflows recovered from */
