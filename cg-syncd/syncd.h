/* syncd.h — cg-syncd's private interface: the daemon state (syncd.c), the apply pipeline
 * (apply.c) and the pure helpers (state.c, unit tested in tests/unit/test-syncd.c).
 * Everything here runs on the one loop thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "cgfs.h"
#include "conf.h"
#include "daemon.h"
#include "ini.h"
#include "event.h"
#include "plan.h"
#include "macro.h"
#include "metrics.h"
#include "zk.h"

#define SYNCD_RECONCILE_USEC_DEFAULT (60 * 1000000ULL)
#define SYNCD_BACKOFF_MIN_USEC (100 * 1000ULL)
#define SYNCD_BACKOFF_MAX_USEC (30 * 1000000ULL)

/* ---- command line (pure; main.c parses it with daemon_parse_args) ---- */
struct syncd_args {
        const char *config_path; /* borrowed from argv */
        bool check;
        uint64_t reconcile_usec;
        int log_level; /* LOG_INFO, LOG_DEBUG with -v */
};
/* cg-syncd's own options besides the common ones (common/daemon.h): --reconcile-interval SEC.
 * For struct daemon_spec's extra/parse_extra; the parser's userdata is a uint64_t holding the
 * interval in usec, preset to SYNCD_RECONCILE_USEC_DEFAULT. */
#define SYNCD_ARG_RECONCILE DAEMON_OPT_PRIVATE
extern const struct option syncd_options[];
int syncd_parse_option(int val, const char *arg, void *userdata, char **err);
void syncd_args_from(const struct daemon_args *a, uint64_t reconcile_usec, struct syncd_args *ret);

/* ---- pure helpers ---- */
uint64_t syncd_backoff_next(uint64_t cur_usec);
/* The delay actually waited for a backoff step: somewhere in its last quarter, [3/4 b, b], by
 * rnd (any 64-bit random value). A fleet whose ZooKeeper comes back must not reconnect in
 * lockstep: every host doubles from the same 100 ms, so without it they all retry in the same
 * millisecond at every step. */
uint64_t syncd_backoff_jitter(uint64_t backoff_usec, uint64_t rnd);
/* FNV-1a over the data and version: identifies "this content at this version" for
 * log-once decisions. */
uint64_t syncd_hash(const void *data, size_t len, int64_t version);

/* Log-once keys, one per kind of trouble. syncd_once() returns true when `key` differs from the
 * last one recorded for `kind` (so: log it), and records it. syncd_once_reset() forgets a kind
 * (after recovery, so the next occurrence is logged again). */
enum syncd_once_kind {
        SYNCD_ONCE_INVALID,
        SYNCD_ONCE_NOAUTH,
        SYNCD_ONCE_MISSING,
        SYNCD_ONCE_APPLY,
        SYNCD_ONCE_READ,
        SYNCD_ONCE_CONNECT,
        _SYNCD_ONCE_MAX,
};
struct syncd_once {
        bool set[_SYNCD_ONCE_MAX];
        uint64_t key[_SYNCD_ONCE_MAX];
};
bool syncd_once(struct syncd_once *o, enum syncd_once_kind kind, uint64_t key);
void syncd_once_reset(struct syncd_once *o, enum syncd_once_kind kind);

/* What a finished read of the node means for the state machine. */
enum syncd_read_action {
        SYNCD_READ_APPLY,   /* got data: validate and apply */
        SYNCD_READ_MISSING, /* no node: keep the tree, watch for its creation */
        SYNCD_READ_NOAUTH,  /* not authorized: report, retry with backoff */
        SYNCD_READ_WAIT,    /* connection lost / session ending: the next session event re-reads */
        SYNCD_READ_RETRY,   /* other error: retry with backoff */
};
enum syncd_read_action syncd_read_action(int err);

/* The STATUS= line, from the facts below. */
enum syncd_source {
        SYNCD_SOURCE_NONE,
        SYNCD_SOURCE_ZK,
        SYNCD_SOURCE_SNAPSHOT,
};
/* What the last apply that changed the tree did (for the log line and STATUS=). */
struct syncd_change {
        int64_t version; /* -1: no apply changed anything yet */
        size_t created, weights, removed, moved, limits;
};
struct syncd_status {
        const char *node_path;
        enum syncd_source source;
        int64_t applied_version; /* -1: nothing applied */
        enum zk_state zk_state;
        bool node_missing;
        const char *problem; /* current trouble, one line, or NULL */
        const struct syncd_change *change; /* NULL or version -1: none yet */
};
int syncd_status_format(const struct syncd_status *s, char **ret);
/* The first line of a multi-line message, at most `max` bytes (owned). */
int syncd_first_line(const char *s, size_t max, char **ret);

/* The live tree after a plan was applied with success, without reading the filesystem again:
 * mkdir adds (default weight), set-weight sets, rmdir removes. v1 only (-EOPNOTSUPP on a v2
 * tree or op). Lets a ZooKeeper change be planned against the tree as last read + what we did
 * since; the reconcile timer still reads the real tree. */
int syncd_live_update(struct live_tree *t, const struct plan *p);

/* ---- cgroup v2 delegation (Delegate=yes) ----
 * When the managed root lies inside cg-syncd's own v2 cgroup (a cgroup systemd delegated to the
 * service), the daemon moves itself into the leaf <own cgroup>/cg-syncd first: on v2 a cgroup
 * whose children hold controllers cannot hold processes. It never writes above its own cgroup. */
#define SYNCD_LEAF "cg-syncd"
/* The path of the "0::" line of /proc/<pid>/cgroup text ("/a/b", owned). -ENOENT: no such line
 * (no v2 hierarchy); -EINVAL: malformed. */
int syncd_proc_cgroup_v2(const char *text, char **ret);
enum syncd_deleg_action {
        SYNCD_DELEG_NONE,    /* the managed root is not inside our own cgroup: nothing to do */
        SYNCD_DELEG_MOVE,    /* move into `leaf` (creating only that) */
        SYNCD_DELEG_IN_LEAF, /* already in `leaf` */
};
struct syncd_deleg {
        enum syncd_deleg_action action;
        char *base; /* the delegated cgroup, relative to the hierarchy root ("a/b.service") */
        char *leaf; /* base + "/" SYNCD_LEAF */
};
/* Decides from our v2 cgroup `own` ("/a/b.service", or "/a/b.service/cg-syncd" once moved) and
 * `[cgroup] root`. -EINVAL, *err set (owned): the root is our own cgroup or lies in our leaf. */
int syncd_deleg_plan(const char *own, const char *root, struct syncd_deleg *ret, char **err);
void syncd_deleg_clear(struct syncd_deleg *d);

/* ---- health metrics (metrics.c) ---- */
struct syncd_metrics {
        uint64_t apply_errors;    /* applies that failed (the conf was valid) */
        uint64_t rejected;        /* versions refused as invalid */
        uint64_t reconnects;      /* ZooKeeper connections after the first one */
        uint64_t last_apply_usec; /* CLOCK_REALTIME of the last successful apply, 0: none */
        bool apply_failing;       /* the last apply attempt failed */
        int write_error;          /* last metrics_write() failure, to log each errno once */
};
struct syncd;
/* The Prometheus text of the daemon's state (pure; into m). */
int syncd_metrics_format(const struct syncd *d, struct metrics *m);
/* Writes <runtime_dir>/metrics/cg-syncd.prom; logs a failure once per errno. */
void syncd_metrics_write(struct syncd *d);

/* ---- the daemon ---- */
struct syncd {
        struct syncd_args args;
        char *cfg_path;
        struct cfg *cfg;
        struct cgfs *fs;
        struct zk *zk;
        sd_event *event; /* signals are its own sources; it sends WATCHDOG=1 itself */
        sd_event_source *zk_source, *retry_timer, *reconcile_timer, *startup_timer;
        char *node_path;     /* <prefix>/arch_conf */
        char *snapshot_path; /* <runtime_dir>/arch_conf.json */

        enum zk_state zk_state;
        bool was_connected; /* a session has been connected at least once (for messages) */
        bool need_connect;  /* the retry timer must open a new session */
        bool read_inflight, read_again;
        uint64_t read_cookie; /* cookie of the read in flight */
        uint64_t backoff_usec;
        /* systemd mode: slice removals the last apply refused (units still in them, which
         * cg-taskd moves out once it sees the new snapshot), retried with their own backoff
         * instead of at the next reconcile */
        size_t removals_refused;
        uint64_t removal_backoff_usec;
        bool node_missing;
        bool ready; /* READY=1 sent */

        struct conf *applied; /* the conf last applied with success (owned), NULL if none */
        enum syncd_source applied_source;
        uint64_t data_key;     /* syncd_hash() of the ZooKeeper data being applied */
        bool snapshot_written; /* this process wrote the snapshot file ... */
        uint64_t snapshot_key; /* ... from the data with this key */
        char *problem;         /* for STATUS= (owned), NULL when all is well */
        char *last_status;     /* the STATUS= last sent (owned) */
        char **warned;         /* apply warnings already logged (strv) */
        struct syncd_once once;
        /* v1: the live tree as last read plus the plans applied since, valid while every apply
         * succeeded (cleared on a failure, reload; replaced by each full read). */
        struct live_tree live;
        bool live_valid;
        /* systemd mode: the manager connection of d->fs, attached to d->event (a private manager
         * socket sends every unit signal whether it is read or not); our own reference. */
        sd_bus *bus_followed;
        struct syncd_metrics m; /* health counters for <runtime_dir>/metrics/cg-syncd.prom */
        struct syncd_change last_change; /* for STATUS= */
};

/* Config, cgfs, zk, loop, signals, timers; logs what fails. */
int syncd_new(const struct syncd_args *args, struct syncd **ret);
/* --check: the config and what it names (ZooKeeper path, snapshot path); prints a summary. */
int syncd_check(const char *config_path);
struct syncd *syncd_free(struct syncd *d);
DEFINE_CLEANUP_FUNC(struct syncd, syncd_free)
int syncd_start(struct syncd *d); /* first connect, timers */
void syncd_update_status(struct syncd *d);
void syncd_set_problem(struct syncd *d, const char *problem);

/* apply.c: validate text from ZooKeeper (version = its data version) and apply it. 0 applied,
 * -EINVAL rejected (logged once per version, nothing touched), other -errno: apply failed.
 * *data is freed (and set to NULL) as soon as it is parsed: a big node is not kept through
 * the apply. */
int syncd_apply_text(struct syncd *d, char **data, size_t len, int64_t version);
/* Re-plans and applies c against the live tree; takes ownership of c on success and failure
 * unless c == d->applied. Writes the snapshot when it changed. `full`: read the live tree from
 * the filesystem (reconcile); else the cached tree may be used (v1, after a success), with a
 * full retry if the apply fails. */
int syncd_apply_conf(struct syncd *d, struct conf *c, enum syncd_source src, bool full);
/* Applies the snapshot file (ZooKeeper unreachable at start). -ENOENT: none. */
int syncd_apply_snapshot(struct syncd *d);
/* systemd mode: watch the manager connection of d->fs from the loop (again after a reconnect);
 * detach before d->fs is closed. No-ops elsewhere. */
void syncd_bus_follow(struct syncd *d);
void syncd_bus_detach(struct syncd *d);

/* deleg.c: on v2, when [cgroup] root lies inside our own cgroup, moves the daemon into its leaf
 * and makes cpu/io available along <own>/.../<parent of root> (only inside our own cgroup).
 * Logs; 0 also when there is nothing to do; -errno when the config cannot work. */
int syncd_delegate(const struct cfg *cfg, const struct cgfs *fs);
