/* why.h — `cgarch why PID` (cmd-why.c): a process's placement explained from cg-taskd's own
 * record, <runtime_dir>/taskd-placements.json, and from /proc. The explanation is a pure
 * function of that record and of what a lookup says about processes (why.c), unit-tested on
 * made-up processes (test-why.c); cmd-why.c reads /proc and prints. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the explanation needs of one process. */
struct why_proc {
        pid_t pid, ppid;
        bool kthread;
        char comm[64];
        char *cgroup; /* text of /proc/<pid>/cgroup (owned); NULL if unreadable */
};
void why_proc_done(struct why_proc *p);
/* Fills *ret for pid; -ESRCH: no such process. */
typedef int (*why_lookup_fn)(void *userdata, pid_t pid, struct why_proc *ret);

/* Pure: what /proc/<pid>/stat says (pid, comm, ppid, flags: PF_KTHREAD). -EINVAL if malformed. */
int why_stat_parse(const char *text, struct why_proc *ret);
/* Pure: the slice a cgroup path lies in: its last component ending in ".slice"
 * ("/a.slice/b.slice/x.service" -> "b.slice"); NULL if none. Owned. */
char *why_slice_of(const char *cgroup);

enum why_verdict {
        WHY_PLACED,       /* where its rule says: exit 0 */
        WHY_OUT_OF_PLACE, /* its rule places it, it is elsewhere now (not yet, or moved away) */
        WHY_PENDING,      /* cg-taskd has not placed it yet, and says why */
        WHY_REFUSED,      /* a pid file names it (or an ancestor), and cg-taskd refuses it */
        WHY_STALE,        /* the pid file naming it is older than the process */
        WHY_UNMANAGED,    /* no pid file of any rule names it or an ancestor */
        WHY_UNKNOWN,      /* cannot tell: the record leaves files out */
};
const char *why_verdict_name(enum why_verdict v);

/* One hierarchy's view: where the rule puts it and where it is. */
struct why_cgroup {
        char *hierarchy; /* "cpu", "cpuacct", "blkio"; "" for v2; "slice" in systemd mode */
        char *expected, *current; /* owned; current NULL when not found */
        bool ok;
};

struct why_result {
        enum why_verdict verdict;
        pid_t pid;
        char comm[64];
        bool kthread;
        pid_t *chain; /* pid, its parent, ... up to the named ancestor (or to the top) */
        size_t n_chain;
        const cJSON *file;  /* the record's entry that decides (borrowed from the state), or NULL */
        const cJSON *rule;  /* its rule's entry, or NULL */
        const cJSON **refusals; /* refused/stale entries naming the pid or an ancestor below the
                                   deciding one (borrowed) */
        size_t n_refusals;
        struct why_cgroup *cgroups;
        size_t n_cgroups;
        char *reason; /* owned: one sentence */
};
void why_result_done(struct why_result *r);

/* Explains pid from the parsed state. -ESRCH: no such process; -EINVAL: the state is not a
 * taskd-placements.json document. */
int why_explain(const cJSON *state, pid_t pid, why_lookup_fn lookup, void *userdata,
                struct why_result *ret);
/* Fields of the record, read defensively: a string (NULL, or "" for why_jstr0, when absent or
 * not a string) and a number (0 when absent or not a number). */
const char *why_jstr(const cJSON *o, const char *key);
const char *why_jstr0(const cJSON *o, const char *key);
double why_jnum(const cJSON *o, const char *key);
/* Exit status of a verdict: 0 placed, 1 not (any reason), 2 cannot tell. */
int why_exit_status(enum why_verdict v);
/* The result as JSON (owned text). */
char *why_result_json(const struct why_result *r, const cJSON *state);
