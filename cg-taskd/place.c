/* place.c — from pid files to processes in cgroups.
 *
 * A pid file names a root process; the root and all its descendants go to every subsystem tree
 * holding the rule's name. The walk is top-down and moves a process before listing its
 * children: a child forked after the move inherits the new cgroup, one forked before shows up
 * in the children list, so none slips through. A descendant that is itself named by another
 * rule's pid file belongs to that rule: its subtree is left to it (no ping-pong between two
 * names). What is in place is read from the target cgroups' processes files once per pass (a
 * few files, not one /proc read per process), and only processes missing there are written,
 * through fds of those files that cgfs opened, kept open per target. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "taskd.h"
#include "util.h"

/* A tree bigger than this is walked no further (a runaway fork bomb must not pin us). */
#define TASKD_MAX_TREE 1000000

/* ---- pid-file states ----
 *
 * Files live in d->files (path -> file) and the processes they name in d->roots (pid -> root),
 * both kept up to date one file at a time: an event costs a lookup, not a scan of every file. */

static struct taskd_file *file_free(struct taskd_file *f) {
        if (!f)
                return NULL;
        free(f->path);
        free(f->warned);
        free(f->refused);
        taskd_file_record_done(f);
        free(f);
        return NULL;
}
DEFINE_CLEANUP_FUNC(struct taskd_file, file_free)

const struct taskd_root *taskd_root_find(const struct taskd *d, pid_t pid) {
        return taskd_map_get_int(&d->roots, pid);
}

/* Gives up f's claim on f->pid: the root goes when the last file of its rule naming it does. A
 * file of another rule naming the same pid (a dup, not held) takes it over at its next read. */
static void root_release(struct taskd *d, struct taskd_file *f) {
        struct taskd_root *root;

        if (!f->held)
                return;
        f->held = false;
        root = taskd_map_get_int(&d->roots, f->pid);
        if (root && --root->n_files == 0)
                free(taskd_map_remove_int(&d->roots, f->pid));
}

/* f names pid now (0: none). A pid named by files of two different rules is placed by the
 * first only: warned once on the later file. */
static int file_set_pid(struct taskd *d, struct taskd_file *f, pid_t pid) {
        struct taskd_root *root;
        int r;

        if (f->held && f->pid == pid)
                return 0;
        root_release(d, f);
        f->pid = pid;
        if (pid <= 0)
                return 0;
        root = taskd_map_get_int(&d->roots, pid);
        if (!root) {
                root = malloc(sizeof(*root));
                if (!root)
                        return -ENOMEM;
                *root = (struct taskd_root){.pid = pid, .rule = f->rule};
                r = taskd_map_put_int(&d->roots, pid, root); /* owned by d->roots now */
                if (r < 0) {
                        free(root);
                        return r;
                }
        }
        if (root->rule != f->rule) {
                _cleanup_free_ char *key = NULL;

                taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_DUP, pid);
                f->aux = (int) root->rule;
                if (xasprintf(&key, "dup:%d:%zu", (int) pid, root->rule) >= 0 &&
                    taskd_warn_once(&f->warned, key))
                        log_warning("Pid file %s names pid %d, which a pid file of '%s' names too; "
                                    "leaving it in '%s'",
                                    f->path, (int) pid, d->rules.v[root->rule].name,
                                    d->rules.v[root->rule].name);
                return 0;
        }
        root->n_files++;
        f->held = true;
        return 0;
}

/* Drops a file's state: its root claim, its cap slot, its entry. */
static void file_forget(struct taskd *d, struct taskd_file *f) {
        root_release(d, f);
        if (f->pattern < d->n_caps)
                taskd_cap_release(&d->file_caps[f->pattern]);
        (void) taskd_map_remove_str(&d->files, f->path);
        file_free(f);
}

void taskd_files_clear(struct taskd *d) {
        struct taskd_map_iter it = {};
        void *v;

        while (taskd_map_next(&d->files, &it, &v))
                file_free(v);
        taskd_map_clear(&d->files);
        it = (struct taskd_map_iter){};
        while (taskd_map_next(&d->roots, &it, &v))
                free(v);
        taskd_map_clear(&d->roots);
        taskd_map_clear(&d->uid_refusals);
        d->n_over_budget = 0;
        for (size_t i = 0; i < d->n_caps; i++)
                d->file_caps[i] = (struct taskd_cap){.max = d->file_caps[i].max};
}

int taskd_caps_sync(struct taskd *d) {
        size_t n = taskd_rules_n_patterns(&d->rules);

        if (n != d->n_caps) {
                struct taskd_cap *fc = calloc(MAX(n, (size_t) 1), sizeof(*fc)),
                                 *dc = calloc(MAX(n, (size_t) 1), sizeof(*dc));
                if (!fc || !dc) {
                        free(fc);
                        free(dc);
                        return -ENOMEM;
                }
                /* pattern ids have changed meaning: the per-file state starts over (the
                 * watches recount theirs at the resync that follows a reload) */
                taskd_files_clear(d);
                free(d->file_caps);
                free(d->dir_caps);
                d->file_caps = fc;
                d->dir_caps = dc;
                d->n_caps = n;
        }
        for (size_t i = 0; i < n; i++) {
                d->file_caps[i].max = d->cfg->taskd.max_files;
                d->dir_caps[i].max = d->cfg->taskd.max_dirs;
        }
        return 0;
}

/* The pattern of id `pattern` (for messages). */
const char *taskd_pattern_name(const struct taskd *d, size_t pattern) {
        for (size_t i = 0; i < d->rules.n; i++) {
                size_t n = strv_length(d->rules.v[i].patterns);
                if (pattern >= d->rules.v[i].pattern_base &&
                    pattern < d->rules.v[i].pattern_base + n)
                        return d->rules.v[i].patterns[pattern - d->rules.v[i].pattern_base];
        }
        return "?";
}

/* A new file state for path, counted against its pattern's max_files. -ENOSPC: the pattern has
 * all it may hold (warned once), the file is ignored. */
static int file_new(struct taskd *d, const char *path, size_t rule, size_t pattern,
                    struct taskd_file **ret) {
        _cleanup_(file_freep) struct taskd_file *f = NULL;
        int r;

        if (pattern < d->n_caps) {
                enum taskd_cap_result c = taskd_cap_take(&d->file_caps[pattern]);
                if (c == TASKD_CAP_FULL_WARN)
                        log_warning("Pattern %s of '%s' matches more than %zu files ([taskd] "
                                    "max_files); ignoring the rest until some go away",
                                    taskd_pattern_name(d, pattern), d->rules.v[rule].name,
                                    d->file_caps[pattern].max);
                if (c != TASKD_CAP_TAKEN)
                        return -ENOSPC;
        }
        f = calloc(1, sizeof(*f));
        if (!f || !(f->path = strdup(path)))
                r = -ENOMEM;
        else {
                f->rule = rule;
                f->pattern = pattern;
                r = taskd_map_put_str(&d->files, f->path, f); /* owned by d->files now */
        }
        if (r < 0) {
                if (pattern < d->n_caps)
                        taskd_cap_release(&d->file_caps[pattern]);
                return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

/* Printable, bounded rendering of a bad pid file's content for a warning. Only for a file
 * root owns (taskd_may_show_content): anyone else could point us at a secret. */
static void escape_content(const struct proc_pidfile *pf, char *buf, size_t size) {
        size_t o = 0;

        for (size_t i = 0; i < pf->len && o + 5 < size; i++) {
                unsigned char c = (unsigned char) pf->data[i];
                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        buf[o++] = (char) c;
                else
                        o += (size_t) snprintf(buf + o, size - o, "\\x%02x", c);
        }
        buf[o] = 0;
}

/* The uid a rule's `user=` names, looked up at each use (a user may be created after the
 * config was read). -ESRCH: no such user. */
static int rule_user_uid(const struct taskd_rule *rule, uid_t *ret) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        int r;

        r = taskd_user_parse_uid(rule->user, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        r = getpwnam_r(rule->user, &pw, buf, sizeof(buf), &res);
        if (r != 0)
                return -r;
        if (!res)
                return -ESRCH;
        *ret = res->pw_uid;
        return 0;
}

/* A trust refusal: warned once per file and reason (the key holds no pid, mtime or content, so
 * whoever controls the file cannot make us repeat it). */
_printf_(4, 5) static void file_refuse(struct taskd *d, struct taskd_file *f,
                                       const char *reason_key, const char *fmt, ...) {
        char msg[PATH_MAX + 512];
        va_list ap;

        if (!taskd_warn_once(&f->refused, reason_key))
                return;
        taskd_metrics_refused(d, reason_key);
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_warning("%s", msg);
}

/* ---- a scope of reads ----
 *
 * Walking a pid file's path from "/" (open_path_trusted: an openat and an fstat per component)
 * was most of what a file event cost, and under a flood the files of a batch share one or two
 * directories. Inside a scope each directory is walked once: its O_PATH fd and whether it is
 * root's all the way (so that a root-owned symlink in it may be followed) are kept until the
 * scope ends, and each file is opened relative to it with the same rules. */
struct scope_dir {
        char *path; /* owned; its key in taskd.scope_dirs */
        int fd;     /* O_PATH fd of the directory, or -errno of its walk */
        bool trusted;
};
/* What /proc said of a pid in this scope: a flood's files name a few processes many times. */
struct scope_proc {
        int r; /* proc_stat_read_owner()'s result */
        struct proc_stat st;
        uid_t uid;
};

void taskd_scope_begin(struct taskd *d) {
        if (d->scope_depth++ == 0)
                d->scope_proc_fd = -1;
}

/* Closes the scope's directory fds (its process cache stays). */
static void scope_dirs_flush(struct taskd *d) {
        struct taskd_map_iter it = {};
        void *v;

        while (taskd_map_next(&d->scope_dirs, &it, &v)) {
                struct scope_dir *sd = v;

                if (sd->fd >= 0)
                        (void) close(sd->fd);
                free(sd->path);
                free(sd);
        }
        taskd_map_clear(&d->scope_dirs);
}

void taskd_scope_end(struct taskd *d) {
        struct taskd_map_iter it = {};
        void *v;

        if (d->scope_depth == 0 || --d->scope_depth > 0)
                return;
        scope_dirs_flush(d);
        if (d->scope_proc_fd >= 0)
                (void) close(d->scope_proc_fd);
        d->scope_proc_fd = -1;
        it = (struct taskd_map_iter){};
        while (taskd_map_next(&d->scope_procs, &it, &v))
                free(v);
        taskd_map_clear(&d->scope_procs);
}

/* proc_stat_read_owner() of pid, once per scope. */
static int proc_owner(struct taskd *d, pid_t pid, struct proc_stat *ret, uid_t *ret_uid) {
        struct scope_proc *sp = d->scope_depth > 0 ? taskd_map_get_int(&d->scope_procs, pid) : NULL;

        if (!sp) {
                struct scope_proc p = {};

                p.r = proc_stat_read_owner("/proc", pid, &p.st, &p.uid);
                if (d->scope_depth > 0 && (sp = malloc(sizeof(*sp)))) {
                        *sp = p;
                        if (taskd_map_put_int(&d->scope_procs, pid, sp) < 0)
                                sp = mfree(sp);
                }
                if (!sp) {
                        *ret = p.st;
                        *ret_uid = p.uid;
                        return p.r;
                }
        }
        *ret = sp->st;
        *ret_uid = sp->uid;
        return sp->r;
}

/* The scope's entry for the directory path[0 .. len), walked now if it is not there yet: one
 * component from its parent's entry (walked the same way), so the pid files of many new
 * directories under one parent cost an openat and an fstat each. `depth` bounds the recursion
 * (a deeper path is walked from "/" at once). NULL when out of memory (the caller walks the
 * whole path instead). At most SCOPE_MAX_DIRS entries (+ one path's ancestors) hold an fd: a
 * full pass over a thousand glob directories must not run into RLIMIT_NOFILE (1,024 under
 * systemd), so a full cache is emptied before a new path is looked up (a pass visits its
 * directories in order, so little is walked twice). */
#define SCOPE_MAX_DIRS 64
static struct scope_dir *scope_dir(struct taskd *d, const char *path, size_t len, unsigned depth) {
        _cleanup_free_ char *dir = strndup(path, len);
        struct scope_dir *sd, *parent = NULL;
        const char *slash;
        struct stat st;
        int fd = -1, r;

        if (!dir)
                return NULL;
        sd = taskd_map_get_str(&d->scope_dirs, dir);
        if (sd)
                return sd;
        /* only before the first lookup of a path: an ancestor's entry must outlive its use */
        if (depth == 0 && taskd_map_size(&d->scope_dirs) >= SCOPE_MAX_DIRS)
                scope_dirs_flush(d);
        slash = strrchr(dir, '/');
        if (slash && slash > dir && slash[1] && depth < 64)
                parent = scope_dir(d, dir, (size_t) (slash - dir), depth + 1);
        sd = calloc(1, sizeof(*sd));
        if (!sd)
                return NULL;
        if (parent && parent->fd < 0)
                r = parent->fd; /* the same error the walk from "/" would meet */
        else if (parent)
                r = open_path_trusted_at(parent->fd, parent->trusted, slash + 1, &fd, &st,
                                         &sd->trusted);
        else
                r = open_path_trusted_at(-1, false, dir, &fd, &st, &sd->trusted);
        sd->fd = r < 0 ? r : fd;
        sd->path = TAKE_PTR(dir);
        if (taskd_map_put_str(&d->scope_dirs, sd->path, sd) < 0) {
                if (sd->fd >= 0)
                        (void) close(sd->fd);
                free(sd->path);
                free(sd);
                return NULL;
        }
        return sd;
}

/* The scope's entry for the directory of path and, in *ret_name, the name in it; NULL outside a
 * scope, for a path right under "/" or ending in "/", or out of memory (then the whole path is
 * walked instead). */
static struct scope_dir *scope_dir_of(struct taskd *d, const char *path, const char **ret_name) {
        const char *slash = strrchr(path, '/');

        if (d->scope_depth == 0 || !slash || slash == path || !slash[1])
                return NULL;
        *ret_name = slash + 1;
        return scope_dir(d, path, (size_t) (slash - path), 0);
}

/* proc_pidfile_load(f->path), through the scope's fd of its directory when in a scope. */
static int file_load(struct taskd *d, const struct taskd_file *f, struct proc_pidfile *ret) {
        const char *name;
        struct scope_dir *sd = scope_dir_of(d, f->path, &name);

        if (!sd)
                return proc_pidfile_load(f->path, ret);
        if (sd->fd < 0)
                return sd->fd;
        if (d->scope_proc_fd < 0)
                d->scope_proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        return proc_pidfile_load_at(sd->fd, sd->trusted, d->scope_proc_fd, name, ret);
}

/* Reads a pid file and decides which process (if any) it names now (0: none). Complaints
 * are warned once per distinct problem (content, or pid + mtime), not at every pass; trust
 * refusals once per reason (file_refuse). */
static pid_t file_judge(struct taskd *d, struct taskd_file *f, bool just_created,
                        uint64_t boot_rt, uid_t *ret_owner) {
        const struct taskd_rule *rule = &d->rules.v[f->rule];
        struct proc_pidfile pf;
        struct proc_stat st;
        enum taskd_verdict v;
        char key[512], shown[4 * PROC_PIDFILE_MAX + 8];
        uid_t proc_uid, want_uid;
        pid_t pid;
        int r;

        r = file_load(d, f, &pf);
        if (r == -ENOENT || r == -ENOTDIR) {
                /* the service is not running (or not yet): nothing to say */
                (void) taskd_warn_once(&f->warned, NULL);
                taskd_file_judged(f, TASKD_FSTATE_NONE, TASKD_WHY_MISSING, 0);
                return 0;
        }
        if (r < 0) {
                taskd_file_judged(f, TASKD_FSTATE_REFUSED,
                                  r == -EBADF ? TASKD_WHY_TYPE
                                  : r == -ENOLINK || r == -ELOOP ? TASKD_WHY_LINK
                                                                 : TASKD_WHY_LOAD,
                                  0);
                f->aux = r;
        }
        if (r == -ENOLINK || r == -EBADF || r == -ELOOP) {
                file_refuse(d, f, r == -EBADF ? "type" : "link", "Ignoring pid file %s: %s", f->path,
                            proc_pidfile_strerror(r));
                return 0;
        }
        if (r < 0) {
                snprintf(key, sizeof(key), "load:%d", r);
                if (taskd_warn_once(&f->warned, key)) {
                        const char *why = proc_pidfile_strerror(r);
                        if (why)
                                log_warning("Ignoring pid file %s: %s", f->path, why);
                        else
                                log_warning_errno(r, "Ignoring pid file %s: %m", f->path);
                }
                return 0;
        }
        f->file_uid = pf.uid;
        *ret_owner = pf.uid;
        r = proc_pidfile_parse(pf.data, pf.len, &pid);
        if (r < 0) {
                if (r == -ENODATA && just_created) {
                        taskd_file_judged(f, TASKD_FSTATE_NONE, TASKD_WHY_EMPTY, 0);
                        return 0; /* created, not written yet: the close-write event follows */
                }
                taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_CONTENT, 0);
                f->aux = r;
                if (!taskd_may_show_content(pf.uid)) {
                        snprintf(key, sizeof(key), "parse:%d", r);
                        if (taskd_warn_once(&f->warned, key))
                                log_warning("Ignoring pid file %s: %s (owned by uid %u; content "
                                            "not shown)",
                                            f->path, proc_pidfile_strerror(r), (unsigned) pf.uid);
                        return 0;
                }
                escape_content(&pf, shown, sizeof(shown));
                snprintf(key, sizeof(key), "parse:%d:%s", r, shown);
                if (taskd_warn_once(&f->warned, key))
                        log_warning("Ignoring pid file %s: %s (content \"%s\")", f->path,
                                    proc_pidfile_strerror(r), shown);
                return 0;
        }
        r = proc_owner(d, pid, &st, &proc_uid);
        if (r < 0) {
                /* -ESRCH: the process has gone (a service stopped uncleanly): quietly skipped */
                if (r != -ESRCH)
                        log_debug_errno(r, "Cannot read /proc/%d for %s: %m", (int) pid, f->path);
                (void) taskd_warn_once(&f->warned, NULL);
                taskd_file_judged(f, TASKD_FSTATE_NONE, TASKD_WHY_GONE, 0);
                return 0;
        }
        /* Only a pid that names a live process leaves the file (never its bytes): a pid is no
         * secret, and `cgarch why` needs it to explain a refusal. */
        f->proc_uid = proc_uid;
        if (rule->user) {
                r = rule_user_uid(rule, &want_uid);
                if (r < 0) {
                        taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_NOUSER, pid);
                        file_refuse(d, f, "nouser", "Not moving pid %d named by %s: user=%s of '%s' %s",
                                    (int) pid, f->path, rule->user, rule->name,
                                    r == -ESRCH ? "does not exist" : "cannot be looked up");
                        return 0;
                }
        }
        v = taskd_judge_owner(pf.uid, proc_uid, rule->user ? &want_uid : NULL);
        if (v == TASKD_REFUSE_OWNER) {
                taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_OWNER, pid);
                file_refuse(d, f, "owner",
                            "Not moving pid %d named by %s: the file is owned by uid %u, which is "
                            "neither root nor the process's owner (uid %u)",
                            (int) pid, f->path, (unsigned) pf.uid, (unsigned) proc_uid);
                return 0;
        }
        if (v == TASKD_REFUSE_USER) {
                f->aux = (int) want_uid;
                taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_USER, pid);
                file_refuse(d, f, "user",
                            "Not moving pid %d named by %s: it runs as uid %u, not as user=%s "
                            "(uid %u) that '%s' requires",
                            (int) pid, f->path, (unsigned) proc_uid, rule->user,
                            (unsigned) want_uid, rule->name);
                return 0;
        }
        v = taskd_judge(&st, pf.mtime_usec,
                        proc_starttime_to_realtime_usec(st.starttime, d->hz, boot_rt));
        if (v != TASKD_MOVE) {
                taskd_file_judged(f, v == TASKD_REFUSE_STALE ? TASKD_FSTATE_STALE
                                                             : TASKD_FSTATE_REFUSED,
                                  v == TASKD_REFUSE_STALE  ? TASKD_WHY_STALE
                                  : v == TASKD_REFUSE_INIT ? TASKD_WHY_INIT
                                                           : TASKD_WHY_KTHREAD,
                                  pid);
                /* root's file: once per pid and write; anyone else's: once per reason */
                if (taskd_may_show_content(pf.uid))
                        snprintf(key, sizeof(key), "verdict:%d:%d:%llu", (int) v, (int) pid,
                                 (unsigned long long) pf.mtime_usec);
                else
                        snprintf(key, sizeof(key), "verdict:%d", (int) v);
                if (taskd_warn_once(&f->warned, key)) {
                        taskd_metrics_refused(d, taskd_verdict_reason(v));
                        log_warning("Not moving pid %d named by %s: %s", (int) pid, f->path,
                                    taskd_verdict_to_string(v));
                }
                return 0;
        }
        (void) taskd_warn_once(&f->warned, NULL);
        (void) taskd_warn_once(&f->refused, NULL);
        /* held and placed next; the placement says how it went */
        taskd_file_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_NONE, pid);
        return pid;
}

bool taskd_uid_over_budget(const struct taskd *d, uid_t uid) {
        unsigned max = d->cfg ? d->cfg->taskd.max_refusals : 0;

        return taskd_budget_spent(d) && max > 0 && uid != 0 &&
               (uintptr_t) taskd_map_get_int(&d->uid_refusals, uid) > max;
}

bool taskd_path_over_budget(struct taskd *d, const char *path, uid_t *ret_uid) {
        const char *name;
        struct scope_dir *sd;
        struct stat st;

        if (!taskd_budget_spent(d))
                return false;
        sd = scope_dir_of(d, path, &name);
        if (sd ? sd->fd < 0 || fstatat(sd->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
               : lstat(path, &st) < 0)
                return false;
        *ret_uid = st.st_uid;
        return taskd_uid_over_budget(d, st.st_uid);
}

/* file_judge() under the refusal budget ([taskd] max_refusals, taskd.h), on events only: a full
 * pass reads every file. A refusal is counted against the owner of the file as it was read. */
static pid_t file_read_pid(struct taskd *d, struct taskd_file *f, bool just_created,
                           uint64_t boot_rt) {
        uintptr_t n = 0;
        uid_t owner = 0;
        pid_t pid;

        if (taskd_path_over_budget(d, f->path, &owner)) {
                if (f->held)
                        return f->pid; /* what it named last stays placed until the pass */
                f->file_uid = owner;
                taskd_file_judged(f, TASKD_FSTATE_REFUSED, TASKD_WHY_BUDGET, 0);
                f->aux = (int) MIN(d->cfg->taskd.max_refusals, (unsigned) INT_MAX);
                return 0;
        }
        pid = file_judge(d, f, just_created, boot_rt, &owner);
        if (d->in_pass || d->cfg->taskd.max_refusals == 0 || owner == 0 ||
            (f->state != TASKD_FSTATE_REFUSED && f->state != TASKD_FSTATE_STALE))
                return pid;
        n = (uintptr_t) taskd_map_get_int(&d->uid_refusals, owner);
        /* the count is the value (a missing uid reads as 0) */
        (void) taskd_map_remove_int(&d->uid_refusals, owner);
        if (taskd_map_put_int(&d->uid_refusals, owner, (void *) (n + 1)) < 0)
                return pid;
        if (n + 1 == (uintptr_t) d->cfg->taskd.max_refusals + 1) {
                d->n_over_budget++;
                taskd_metrics_refused(d, "budget");
                log_warning("Pid files of uid %u: more than %u refused since the last full pass "
                            "([taskd] max_refusals); its files are not read on events until the "
                            "next pass (every %u s)",
                            (unsigned) owner, d->cfg->taskd.max_refusals,
                            d->cfg->taskd.interval_sec);
        }
        return pid;
}

/* Reads f again and updates the pid -> rule index. */
static int file_refresh(struct taskd *d, struct taskd_file *f, bool just_created, uint64_t boot_rt) {
        return file_set_pid(d, f, file_read_pid(d, f, just_created, boot_rt));
}

/* ---- placement ---- */

/* Opens (once) the target's processes file in each hierarchy of its subsystem, through cgfs.
 * -ENOENT: the cgroup does not exist (yet). */
static int target_open(struct taskd *d, struct taskd_target *t) {
        size_t n;
        int r;

        if (t->n_fds > 0)
                return 0;
        r = cgfs_open_file(d->fs, t->subsys, t->path, CGFS_FILE_PROCS, O_WRONLY, t->fds,
                           TASKD_MAX_HIER, &n);
        if (r < 0)
                return r;
        t->n_fds = n; /* ownership: the target's until taskd_target_close() */
        return 0;
}

/* Reads which pids are in the target's cgroup in every hierarchy into t->in_place. The fds
 * are fresh each time: a v1 cgroup.procs fd keeps its pid list for a while. */
static int target_read_members(struct taskd *d, struct taskd_target *t) {
        struct cgfs_buf buf = {};
        int fds[TASKD_MAX_HIER];
        size_t n = 0;
        int r;

        t->in_place.n = 0;
        r = cgfs_open_file(d->fs, t->subsys, t->path, CGFS_FILE_PROCS, O_RDONLY, fds,
                           TASKD_MAX_HIER, &n);
        if (r == -ENOMEDIUM)
                return 0;
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t np = 0, o = 0;

                r = cgfs_read_pids_fd(fds[k], &buf, &pids, &np);
                if (r < 0) {
                        t->in_place.n = 0;
                        break;
                }
                if (k == 0) {
                        for (size_t i = 0; i < np && r >= 0; i++)
                                r = pidvec_push(&t->in_place, pids[i]);
                        if (r < 0)
                                break;
                        pidvec_sort(&t->in_place);
                        continue;
                }
                /* keep only what is in this hierarchy too */
                struct pidvec here = {.v = pids, .n = np, .allocated = np};
                pidvec_sort(&here);
                for (size_t i = 0; i < t->in_place.n; i++)
                        if (pidvec_contains_sorted(&here, t->in_place.v[i]))
                                t->in_place.v[o++] = t->in_place.v[i];
                t->in_place.n = o;
                pids = here.v; /* freed by the cleanup */
        }
        for (size_t k = 0; k < n; k++)
                (void) close(fds[k]);
        cgfs_buf_free(&buf);
        return r < 0 ? r : 0;
}

/* Refreshes the in-place sets of a rule's targets; a missing cgroup leaves its set empty. */
static void rule_read_members(struct taskd *d, struct taskd_rule *rule) {
        for (size_t i = 0; i < rule->n_targets; i++) {
                int r = target_read_members(d, &rule->targets[i]);
                if (r < 0 && r != -ENOENT)
                        log_debug_errno(r, "Cannot read the members of %s:%s: %m",
                                        conf_subsys_name(rule->targets[i].subsys),
                                        rule->targets[i].path);
        }
}

/* Writes pid to the target's processes file in each hierarchy. */
static int target_write(struct taskd *d, struct taskd_target *t, pid_t pid) {
        int r;

        r = target_open(d, t);
        if (r < 0)
                return r;
        for (size_t k = 0; k < t->n_fds; k++) {
                r = cgfs_write_pid(t->fds[k], pid);
                if (r == -ENOENT) {
                        /* the cgroup was removed under our cached fd */
                        taskd_target_close(t);
                        return -ENOENT;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Puts one process where the rule says, writing only where the in-place sets say it is not.
 * Returns 1 if written, 0 if already in place, -ESRCH if gone, -EAGAIN if some target
 * failed. */
static int place_pid(struct taskd *d, struct taskd_rule *rule, pid_t pid, bool retry_missing,
                     int *ret_err) {
        bool moved = false, failed = false;
        int r;

        for (size_t i = 0; i < rule->n_targets; i++) {
                struct taskd_target *t = &rule->targets[i];

                if (t->missing && !retry_missing)
                        continue;
                if (pidvec_contains_sorted(&t->in_place, pid))
                        continue;
                r = target_write(d, t, pid);
                if (r == -ESRCH)
                        return r;
                if (r == -ENOENT) {
                        /* cg-syncd has not created it (yet): retried on the next snapshot
                         * change and full pass, reported once until then */
                        if (!t->missing)
                                log_warning("Cgroup %s:%s for '%s' does not exist yet; will retry "
                                            "when the applied conf changes",
                                            conf_subsys_name(t->subsys), t->path, rule->name);
                        t->missing = true;
                        failed = true;
                        continue;
                }
                if (r < 0) {
                        static struct ratelimit rl = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
                        if (ratelimit_below(&rl))
                                log_warning_errno(r, "Failed to move pid %d into %s:%s: %m",
                                                  (int) pid, conf_subsys_name(t->subsys), t->path);
                        *ret_err = r;
                        failed = true;
                        continue;
                }
                if (t->missing) {
                        log_info("Cgroup %s:%s for '%s' exists now", conf_subsys_name(t->subsys),
                                 t->path, rule->name);
                        t->missing = false;
                }
                moved = true;
        }
        if (failed)
                return -EAGAIN;
        return moved ? 1 : 0;
}

/* The direct children of every thread of pid. */
static int taskd_children(struct taskd *d, pid_t pid, struct pidvec *out) {
        if (d->tree) {
                int r = proc_tree_children(d->tree, pid, out);
                if (r != -ESRCH)
                        return r;
                /* not in the tree: born after the last drain; ask /proc directly */
        }
        return proc_walk_children(d->walk, pid, out);
}

/* Brings the process tree up to date before a pass or an event: a fork that happened before
 * a pid file was written is already queued on the connector socket. */
static void tree_sync(struct taskd *d) {
        int r;

        if (!d->tree)
                return;
        r = proc_tree_update(d->tree);
        if (r < 0) {
                log_warning_errno(r, "Lost the process events connector (%m); walking /proc "
                                     "from now on");
                d->tree_src = sd_event_source_disable_unref(d->tree_src);
                d->tree = proc_tree_free(d->tree);
        }
}

/* Would place_pid() write pid anywhere? */
static bool pid_needs_move(const struct taskd_rule *rule, pid_t pid, bool retry_missing) {
        for (size_t i = 0; i < rule->n_targets; i++)
                if ((!rule->targets[i].missing || retry_missing) &&
                    !pidvec_contains_sorted(&rule->targets[i].in_place, pid))
                        return true;
        return false;
}

/* Where pid is now in the hierarchy of the rule's first target, and where it goes there, for
 * the move record: one read of /proc/<pid>/cgroup per placement that moves anything. */
static void move_ends(struct taskd *d, const struct taskd_rule *rule, pid_t pid, char **ret_from,
                      char **ret_to) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *text = NULL;
        const char *colon;

        if (cgfs_proc_cgroup_names(d->fs, rule->targets[0].subsys, rule->targets[0].path,
                                   &names) <= 0 ||
            !(colon = strchr(names[0], ':')))
                return;
        *ret_to = strdup(colon + 1);
        if (proc_cgroup_read_at(proc_walk_dirfd(d->walk), pid, &text) >= 0) {
                _cleanup_free_ char *ctl = strndup(names[0], (size_t) (colon - names[0]));
                if (ctl)
                        (void) cgfs_proc_cgroup_find(text, ctl, ret_from);
        }
}

/* Places the tree under `root` for rule `ri` (its in-place sets read beforehand), for pid file
 * f, whose state it sets. */
static int place_tree(struct taskd *d, size_t ri, struct taskd_file *f, bool retry_missing,
                      struct taskd_pass *pass) {
        struct taskd_rule *rule = &d->rules.v[ri];
        _cleanup_free_ char *from = NULL, *to = NULL;
        size_t n_in = 0, n_moved = 0, n_failed = 0;
        pid_t root = f->pid, first_moved = 0;
        int r, err = 0;

        if (rule->n_targets == 0) {
                taskd_file_judged(f, rule->v2_inner ? TASKD_FSTATE_REFUSED : TASKD_FSTATE_PENDING,
                                  rule->v2_inner ? TASKD_WHY_V2_INNER : TASKD_WHY_NO_TARGET, root);
                return 0;
        }
        d->queue.n = 0;
        r = pidvec_push(&d->queue, root);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->queue.n && i < TASKD_MAX_TREE; i++) {
                pid_t pid = d->queue.v[i];

                if (i > 0) {
                        const struct taskd_root *owner = taskd_root_find(d, pid);
                        if (owner && owner->rule != ri)
                                continue; /* another name's process: its subtree is its own */
                }
                if (first_moved == 0 && pid_needs_move(rule, pid, retry_missing)) {
                        first_moved = pid;
                        move_ends(d, rule, pid, &from, &to);
                }
                r = place_pid(d, rule, pid, retry_missing, &err);
                if (r == -ESRCH)
                        continue; /* gone meanwhile */
                if (r == 1)
                        n_moved++;
                if (r >= 0)
                        n_in++;
                else {
                        pass->n_errors++;
                        n_failed++;
                }
                /* children after the move: one forked from now on inherits the new cgroup */
                r = taskd_children(d, pid, &d->queue);
                if (r == -ENOMEM)
                        return r;
        }
        if (n_moved > 0)
                log_info("Moved %zu of %zu processes of pid %d's tree into '%s'", n_moved, n_in,
                         (int) root, rule->name);
        if (n_moved > 0)
                taskd_file_moved(f, first_moved, (unsigned) MIN(n_moved, (size_t) UINT32_MAX),
                                 from, to);
        f->n_procs = (unsigned) MIN(n_in, (size_t) UINT32_MAX);
        taskd_file_judged(f, TASKD_FSTATE_PLACED, TASKD_WHY_NONE, root);
        for (size_t i = 0; i < rule->n_targets; i++)
                if (rule->targets[i].missing) {
                        taskd_file_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_NO_CGROUP, root);
                        f->aux = (int) i;
                        break;
                }
        if (f->why == TASKD_WHY_NONE && n_failed > 0) {
                taskd_file_judged(f, TASKD_FSTATE_PENDING, TASKD_WHY_MOVE_FAILED, root);
                f->aux = err ? err : -EAGAIN;
        }
        pass->n_processes += n_in;
        pass->n_moved += n_moved;
        d->m.moves += n_moved;
        return (int) MIN(n_in, (size_t) INT32_MAX);
}

/* The paths a pattern names now: itself, or what glob(3) finds. */
static int pattern_paths(const char *pattern, glob_t *g, bool *is_glob) {
        *is_glob = taskd_has_glob(pattern);
        if (!*is_glob)
                return 0;
        int r = glob(pattern, GLOB_NOSORT, NULL, g);
        if (r == GLOB_NOMATCH)
                return 0;
        return r == 0 ? 0 : (r == GLOB_NOSPACE ? -ENOMEM : -EIO);
}

/* One pattern's expansion during a full pass. */
struct pass_pattern {
        size_t rule, id;
        const char *pattern;
        glob_t g;
        bool is_glob, ok;
};

static size_t pp_n(const struct pass_pattern *pp) {
        return !pp->ok ? 0 : pp->is_glob ? pp->g.gl_pathc : 1;
}
static const char *pp_path(const struct pass_pattern *pp, size_t j) {
        return pp->is_glob ? pp->g.gl_pathv[j] : pp->pattern;
}

static void pass_patterns_free(struct pass_pattern *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (v[i].ok && v[i].is_glob)
                        globfree(&v[i].g);
        free(v);
}

/* The files of d->files grouped by rule (counting sort), for placement in rule order. *ret is
 * owned; (*ret_start)[i] .. (*ret_start)[i + 1] are rule i's. */
static int files_by_rule(struct taskd *d, struct taskd_file ***ret, size_t **ret_start) {
        _cleanup_free_ struct taskd_file **v = NULL;
        _cleanup_free_ size_t *start = NULL, *pos = NULL;
        struct taskd_map_iter it = {};
        void *f;

        v = calloc(MAX(taskd_map_size(&d->files), (size_t) 1), sizeof(*v));
        start = calloc(d->rules.n + 1, sizeof(*start));
        pos = calloc(d->rules.n + 1, sizeof(*pos));
        if (!v || !start || !pos)
                return -ENOMEM;
        while (taskd_map_next(&d->files, &it, &f))
                start[((struct taskd_file *) f)->rule + 1]++;
        for (size_t i = 0; i < d->rules.n; i++)
                start[i + 1] += start[i];
        memcpy(pos, start, (d->rules.n + 1) * sizeof(*pos));
        it = (struct taskd_map_iter){};
        while (taskd_map_next(&d->files, &it, &f))
                v[pos[((struct taskd_file *) f)->rule]++] = f;
        *ret = TAKE_PTR(v);
        *ret_start = TAKE_PTR(start);
        return 0;
}

static int full_pass(struct taskd *d) {
        struct taskd_pass pass = {};
        uint64_t t0 = now_usec(CLOCK_MONOTONIC), boot_rt = proc_boot_realtime_usec();
        struct pass_pattern *pats = NULL;
        _cleanup_free_ struct taskd_file **byrule = NULL;
        _cleanup_free_ size_t *start = NULL;
        size_t n_pats = taskd_rules_n_patterns(&d->rules), k = 0;
        struct taskd_map_iter it = {};
        void *v;
        int r;

        proc_walk_invalidate(d->walk);
        tree_sync(d);
        while (taskd_map_next(&d->files, &it, &v))
                ((struct taskd_file *) v)->seen = false;

        /* 1. expand every pattern; the files known already are marked */
        pats = calloc(MAX(n_pats, (size_t) 1), sizeof(*pats));
        if (!pats)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; p && *p && k < n_pats; p++, k++) {
                        struct pass_pattern *pp = &pats[k];

                        *pp = (struct pass_pattern){.rule = i, .id = k, .pattern = *p};
                        r = pattern_paths(*p, &pp->g, &pp->is_glob);
                        if (r < 0) {
                                log_warning_errno(r, "Cannot expand %s: %m", *p);
                                continue;
                        }
                        pp->ok = true;
                        for (size_t j = 0; j < pp_n(pp); j++) {
                                struct taskd_file *f = taskd_map_get_str(&d->files, pp_path(pp, j));
                                if (f && f->rule == i)
                                        f->seen = true;
                        }
                }
        /* 2. forget files no pattern matches any more, which frees their cap slots */
        it = (struct taskd_map_iter){};
        while (taskd_map_next(&d->files, &it, &v))
                if (!((struct taskd_file *) v)->seen)
                        file_forget(d, v);
        /* 3. new files, as long as their pattern's cap allows (a path matched by two rules
         * stays with the first) */
        for (k = 0; k < n_pats; k++) {
                struct pass_pattern *pp = &pats[k];

                for (size_t j = 0; j < pp_n(pp); j++) {
                        struct taskd_file *f;

                        if (taskd_map_get_str(&d->files, pp_path(pp, j)))
                                continue;
                        r = file_new(d, pp_path(pp, j), pp->rule, pp->id, &f);
                        if (r == -ENOSPC)
                                break; /* this pattern is full */
                        if (r < 0) {
                                pass_patterns_free(pats, n_pats);
                                return log_error_errno(r, "Out of memory");
                        }
                        f->seen = true;
                }
        }
        pass_patterns_free(pats, n_pats);
        /* 4. read every file, in rule order (the first rule keeps a pid two rules name) */
        r = files_by_rule(d, &byrule, &start);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        for (size_t j = 0; j < start[d->rules.n]; j++)
                if (file_refresh(d, byrule[j], false, boot_rt) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");

        /* 5. place */
        if (d->sd)
                sdplace_begin(d, true);
        for (size_t i = 0; i < d->rules.n; i++) {
                size_t before = pass.n_processes;

                if (!d->sd)
                        rule_read_members(d, &d->rules.v[i]);
                for (size_t j = start[i]; j < start[i + 1]; j++) {
                        struct taskd_file *f = byrule[j];

                        if (!f->held)
                                continue; /* no pid, or another rule's */
                        r = d->sd ? sdplace_root(d, i, f, &pass)
                                  : place_tree(d, i, f, true, &pass);
                        if (r == -ENOMEM)
                                return log_error_errno(r, "Out of memory");
                }
                if (pass.n_processes > before)
                        pass.n_cgroups++;
        }
        if (d->sd && sdplace_finish(d, true) == -ENOMEM)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->last = pass;
        d->last_pass_usec = now_usec(CLOCK_MONOTONIC) - t0;
        d->n_passes++;
        taskd_placements_dirty(d, true);
        log_debug("Full pass: %zu processes in place (%zu moved) in %zu cgroups, %zu errors, "
                  "%llu us",
                  pass.n_processes, pass.n_moved, pass.n_cgroups, pass.n_errors,
                  (unsigned long long) d->last_pass_usec);
        taskd_update_status(d);
        return 0;
}

int taskd_full_pass(struct taskd *d) {
        int r;

        taskd_map_clear(&d->uid_refusals); /* the refusal budget starts again */
        d->n_over_budget = 0;
        d->in_pass = true;
        taskd_scope_begin(d);
        r = full_pass(d);
        taskd_scope_end(d);
        d->in_pass = false;
        return r;
}

int taskd_file_event(struct taskd *d, const char *dir, const char *name, bool just_created) {
        char path[PATH_MAX];
        struct taskd_pass pass = {};
        struct taskd_file *f = NULL;
        bool was_held, have_path = false;
        int r;

        for (size_t i = 0; i < d->rules.n; i++)
                for (char **p = d->rules.v[i].patterns; p && *p; p++) {
                        size_t id = d->rules.v[i].pattern_base + (size_t) (p - d->rules.v[i].patterns);

                        if (!taskd_pattern_matches(*p, dir, name))
                                continue;
                        if (!have_path) {
                                if (!taskd_path_join(path, sizeof(path), dir, name))
                                        return 0; /* longer than any path open() takes */
                                have_path = true;
                                f = taskd_map_get_str(&d->files, path);
                        }
                        if (!f && taskd_path_over_budget(d, path, &(uid_t){0}))
                                return 0; /* past the refusal budget: not even remembered */
                        if (!f) {
                                r = file_new(d, path, i, id, &f);
                                if (r == -ENOSPC)
                                        continue; /* this pattern is full; maybe another's */
                                if (r < 0)
                                        return log_error_errno(r, "Out of memory");
                        }
                        if (f->rule != i)
                                continue;
                        f->seen = true;
                        was_held = f->held;
                        r = file_refresh(d, f, just_created, proc_boot_realtime_usec());
                        if (r < 0)
                                return log_error_errno(r, "Out of memory");
                        /* a placement is news at once; a refusal (a flood of them) can wait */
                        taskd_placements_dirty(d, was_held || f->held);
                        if (!f->held)
                                return 0; /* no pid, or another rule's */
                        /* Fresh children lists: the fallback index is a snapshot of /proc. */
                        proc_walk_invalidate(d->walk);
                        tree_sync(d);
                        if (d->sd) {
                                sdplace_begin(d, false);
                                r = sdplace_root(d, i, f, &pass);
                                if (r >= 0)
                                        r = sdplace_finish(d, false);
                                if (r == -ENOMEM)
                                        return log_error_errno(r, "Out of memory");
                                taskd_update_status(d);
                                return 0;
                        }
                        rule_read_members(d, &d->rules.v[i]);
                        r = place_tree(d, i, f, false, &pass);
                        if (r == -ENOMEM)
                                return log_error_errno(r, "Out of memory");
                        log_debug("Pid file %s: pid %d, %zu processes in place", path, (int) f->pid,
                                  pass.n_processes);
                        taskd_metrics_write(d);
                        return 0;
                }
        return 0;
}

void taskd_file_gone(struct taskd *d, const char *dir, const char *name) {
        char path[PATH_MAX];
        struct taskd_file *f;

        if (!taskd_path_join(path, sizeof(path), dir, name))
                return;
        f = taskd_map_get_str(&d->files, path);
        if (!f)
                return;
        taskd_placements_dirty(d, f->held);
        if (!f->refused) {
                /* nothing to remember: its cap slot goes back at once, so churn of files that
                 * come and go does not fill the pattern */
                file_forget(d, f);
                return;
        }
        /* a refused file keeps its state (and slot) until the next full pass, so that its
         * owner cannot repeat the refusal by recreating it */
        (void) file_set_pid(d, f, 0);
        (void) taskd_warn_once(&f->warned, NULL);
        taskd_file_judged(f, TASKD_FSTATE_NONE, TASKD_WHY_MISSING, 0);
}
