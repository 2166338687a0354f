/* targets.c — see targets.h. Pure: no I/O, no logging. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "targets.h"

void taskd_target_close(struct taskd_target *t) {
        for (size_t i = 0; i < t->n_fds; i++)
                if (t->fds[i] >= 0)
                        (void) close(t->fds[i]);
        t->n_fds = 0;
}

static void rule_done(struct taskd_rule *r) {
        free(r->name);
        strv_free(r->patterns);
        free(r->user);
        for (size_t i = 0; i < r->n_targets; i++) {
                free(r->targets[i].path);
                taskd_target_close(&r->targets[i]);
                pidvec_clear(&r->targets[i].in_place);
        }
        *r = (struct taskd_rule){};
}

void taskd_rules_clear(struct taskd_rules *r) {
        for (size_t i = 0; i < r->n; i++)
                rule_done(&r->v[i]);
        r->v = mfree(r->v);
        r->n = 0;
}

int taskd_rules_build(const struct cfg_pid_files *pf, size_t n_pf, const struct conf *c,
                      struct taskd_rules *ret) {
        struct taskd_rules rules = {};
        int r;

        if (n_pf > 0) {
                rules.v = calloc(n_pf, sizeof(struct taskd_rule));
                if (!rules.v)
                        return -ENOMEM;
        }
        for (size_t i = 0, base = 0; i < n_pf; i++) {
                struct taskd_rule *rule = &rules.v[rules.n++];

                rule->pattern_base = base;
                base += strv_length(pf[i].patterns);
                rule->name = strdup(pf[i].name);
                if (!rule->name)
                        goto oom;
                if (pf[i].user && !(rule->user = strdup(pf[i].user)))
                        goto oom;
                for (char *const *p = pf[i].patterns; p && *p; p++) {
                        r = strv_extend(&rule->patterns, *p);
                        if (r < 0)
                                goto oom;
                }
                if (!c)
                        continue;
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        const struct conf_node *node;

                        if (!c->roots[s])
                                continue;
                        node = conf_find(c, (enum conf_subsys) s, pf[i].name);
                        if (!node)
                                continue;
                        rule->targets[rule->n_targets] = (struct taskd_target){
                                .subsys = (enum conf_subsys) s, .path = strdup(node->path)};
                        if (!rule->targets[rule->n_targets++].path)
                                goto oom;
                }
        }
        *ret = rules;
        return 0;
oom:
        taskd_rules_clear(&rules);
        return -ENOMEM;
}

int taskd_rules_unknown_names(const struct taskd_rules *r, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0, k = 0; i < r->n; i++)
                if (r->v[i].n_targets == 0 && !r->v[i].v2_inner)
                        fprintf(f, "%s%s", k++ ? ", " : "", r->v[i].name);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        if (len == 0) {
                free(buf);
                buf = NULL;
        }
        *ret = buf;
        return 0;
}

int taskd_rules_refuse_v2_inner(struct taskd_rules *r, const struct conf *c, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r2 = 0;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0, k = 0; c && i < r->n; i++) {
                struct taskd_rule *rule = &r->v[i];
                char *names[] = {rule->name, NULL};
                struct conf_errors errs = {};

                r2 = plan_check_v2_procs(c, names, &errs);
                conf_errors_clear(&errs);
                if (r2 == 0)
                        continue;
                if (r2 != -EINVAL)
                        break;
                r2 = 0;
                for (size_t j = 0; j < rule->n_targets; j++) {
                        free(rule->targets[j].path);
                        taskd_target_close(&rule->targets[j]);
                        pidvec_clear(&rule->targets[j].in_place);
                }
                rule->n_targets = 0;
                rule->v2_inner = true;
                fprintf(f, "%s%s", k++ ? ", " : "", rule->name);
        }
        if (fclose(f) != 0 || r2 < 0) {
                free(buf);
                return r2 < 0 ? r2 : -ENOMEM;
        }
        if (len == 0) {
                free(buf);
                buf = NULL;
        }
        *ret = buf;
        return 0;
}

bool taskd_has_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

int taskd_pattern_split(const char *pattern, char **ret_dir, char **ret_base) {
        const char *slash;
        char *dir, *base;

        if (!pattern || pattern[0] != '/')
                return -EINVAL;
        slash = strrchr(pattern, '/');
        if (slash[1] == 0)
                return -EINVAL;
        dir = slash == pattern ? strdup("/") : strndup(pattern, (size_t) (slash - pattern));
        base = strdup(slash + 1);
        if (!dir || !base) {
                free(dir);
                free(base);
                return -ENOMEM;
        }
        *ret_dir = dir;
        *ret_base = base;
        return 0;
}

bool taskd_path_join(char *buf, size_t size, const char *dir, const char *name) {
        size_t dl = strlen(dir), nl = strlen(name);

        if (dl == 1 && dir[0] == '/')
                dl = 0; /* "/" + name */
        if (dl + 1 + nl + 1 > size)
                return false;
        memcpy(buf, dir, dl);
        buf[dl] = '/';
        memcpy(buf + dl + 1, name, nl + 1);
        return true;
}

bool taskd_pattern_matches(const char *pattern, const char *dir, const char *name) {
        /* every inotify event of a watched directory comes here, once per pattern: no
         * allocation (the split of taskd_pattern_split, in place) */
        char pdir[PATH_MAX];
        const char *slash;
        size_t dir_len;

        if (!pattern || pattern[0] != '/' || strchr(name, '/') || !*name)
                return false;
        slash = strrchr(pattern, '/');
        if (slash[1] == 0)
                return false;
        dir_len = slash == pattern ? 1 : (size_t) (slash - pattern);
        if (dir_len >= sizeof(pdir))
                return false;
        memcpy(pdir, pattern, dir_len);
        pdir[dir_len] = 0;
        if (taskd_has_glob(pdir) ? fnmatch(pdir, dir, FNM_PATHNAME | FNM_PERIOD) != 0
                                 : strcmp(pdir, dir) != 0)
                return false;
        return fnmatch(slash + 1, name, FNM_PATHNAME | FNM_PERIOD) == 0;
}

size_t taskd_rules_n_patterns(const struct taskd_rules *r) {
        return r->n == 0 ? 0
                         : r->v[r->n - 1].pattern_base + strv_length(r->v[r->n - 1].patterns);
}

/* The next component of a path at *p ("" at the end), advancing *p; len in *ret_len. */
static const char *next_component(const char **p, size_t *ret_len) {
        const char *s = *p, *e;

        while (*s == '/')
                s++;
        e = strchrnul(s, '/');
        *ret_len = (size_t) (e - s);
        *p = e;
        return s;
}

enum taskd_dir_match taskd_dir_match(const char *pattern, const char *path) {
        _cleanup_free_ char *pdir = NULL, *pbase = NULL;
        const char *pp, *qp;
        bool glob_seen = false;

        if (taskd_pattern_split(pattern, &pdir, &pbase) < 0 || path[0] != '/')
                return TASKD_DIR_NONE;
        pp = pdir;
        qp = path;
        for (;;) {
                size_t pl, ql;
                const char *pc = next_component(&pp, &pl), *qc = next_component(&qp, &ql);
                char pcomp[NAME_MAX + 1], qcomp[NAME_MAX + 1];

                if (ql == 0) {
                        if (pl == 0) /* path is the pattern's directory */
                                return taskd_has_glob(pdir) ? TASKD_DIR_GLOB : TASKD_DIR_RESYNC;
                        /* path is an ancestor of it: within the fixed part, the watch that stands
                         * in for a missing directory moves down; within a glob, an intermediate
                         * level that the interval's resync picks up */
                        return glob_seen ? TASKD_DIR_NONE : TASKD_DIR_RESYNC;
                }
                if (pl == 0 || pl > NAME_MAX || ql > NAME_MAX)
                        return TASKD_DIR_NONE; /* deeper than the pattern's directory */
                memcpy(pcomp, pc, pl);
                pcomp[pl] = 0;
                memcpy(qcomp, qc, ql);
                qcomp[ql] = 0;
                if (taskd_has_glob(pcomp)) {
                        glob_seen = true;
                        if (fnmatch(pcomp, qcomp, FNM_PERIOD) != 0)
                                return TASKD_DIR_NONE;
                } else if (strcmp(pcomp, qcomp) != 0)
                        return TASKD_DIR_NONE;
        }
}

enum taskd_cap_result taskd_cap_take(struct taskd_cap *c) {
        if (c->n < c->max) {
                c->n++;
                return TASKD_CAP_TAKEN;
        }
        if (c->warned)
                return TASKD_CAP_FULL;
        c->warned = true;
        return TASKD_CAP_FULL_WARN;
}

void taskd_cap_release(struct taskd_cap *c) {
        if (c->n > 0)
                c->n--;
}

uint64_t taskd_coalesce_ask(struct taskd_coalesce *c, uint64_t now, uint64_t window) {
        if (c->pending)
                return 0;
        c->pending = true;
        if (!c->ran || now >= c->last_usec + window)
                return now;
        return c->last_usec + window;
}

void taskd_coalesce_ran(struct taskd_coalesce *c, uint64_t now) {
        c->pending = false;
        c->ran = true;
        c->last_usec = now;
}

enum taskd_verdict taskd_judge(const struct proc_stat *st, uint64_t pidfile_mtime_usec,
                               uint64_t start_realtime_usec) {
        if (st->pid == 1)
                return TASKD_REFUSE_INIT;
        if (proc_stat_is_kthread(st))
                return TASKD_REFUSE_KTHREAD;
        if (proc_pidfile_is_stale(pidfile_mtime_usec, start_realtime_usec, TASKD_STALE_SLACK_USEC))
                return TASKD_REFUSE_STALE;
        return TASKD_MOVE;
}

const char *taskd_verdict_to_string(enum taskd_verdict v) {
        switch (v) {
        case TASKD_MOVE:
                return "move";
        case TASKD_REFUSE_INIT:
                return "pid 1 is never moved";
        case TASKD_REFUSE_KTHREAD:
                return "kernel threads are never moved";
        case TASKD_REFUSE_STALE:
                return "stale pid file: the pid now belongs to a process started after the file "
                       "was written";
        case TASKD_REFUSE_OWNER:
                return "the pid file is owned neither by root nor by the process's owner";
        case TASKD_REFUSE_USER:
                return "the process does not run as the rule's user";
        }
        return "?";
}

enum taskd_verdict taskd_judge_owner(uid_t file_uid, uid_t proc_uid, const uid_t *required_uid) {
        if (file_uid != 0 && file_uid != proc_uid)
                return TASKD_REFUSE_OWNER;
        if (required_uid && *required_uid != proc_uid)
                return TASKD_REFUSE_USER;
        return TASKD_MOVE;
}

bool taskd_may_show_content(uid_t file_uid) {
        return file_uid == 0;
}

int taskd_user_parse_uid(const char *user, uid_t *ret) {
        uint64_t v;

        if (!user || !*user)
                return -EINVAL;
        if (strspn(user, "0123456789") != strlen(user))
                return 0;
        if (safe_atou64(user, &v) < 0 || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uid_t) v;
        return 1;
}

bool taskd_warn_once(char **slot, const char *key) {
        char *k;

        if (!key) {
                *slot = mfree(*slot);
                return false;
        }
        if (*slot && strcmp(*slot, key) == 0)
                return false;
        k = strdup(key);
        if (!k)
                return true; /* better a repeated warning than a lost one */
        free(*slot);
        *slot = k;
        return true;
}

int taskd_status_format(size_t n_processes, size_t n_cgroups, uint64_t pass_usec, char **ret) {
        return xasprintf(ret, "placed %zu process%s in %zu cgroup%s, last pass %llu.%llu ms",
                         n_processes, n_processes == 1 ? "" : "es", n_cgroups,
                         n_cgroups == 1 ? "" : "s", (unsigned long long) (pass_usec / 1000),
                         (unsigned long long) (pass_usec % 1000 / 100));
}
