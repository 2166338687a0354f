/* why.c — the pure side of `cgarch why` (why.h): a process's placement explained from
 * cg-taskd's record and what a lookup says about processes. No I/O here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgfs.h"
#include "util.h"
#include "why.h"

#define WHY_MAX_CHAIN 4096          /* ancestors walked at most (pid 1 is reached long before) */
#define PF_KTHREAD_FLAG 0x00200000U /* include/linux/sched.h */

void why_proc_done(struct why_proc *p) {
        free(p->cgroup);
        p->cgroup = NULL;
}

int why_stat_parse(const char *text, struct why_proc *ret) {
        const char *open = strchr(text, '('), *close = strrchr(text, ')');
        unsigned long long pid, ppid, flags;
        char state;
        size_t n;

        if (!open || !close || close < open || sscanf(text, "%llu", &pid) != 1)
                return -EINVAL;
        /* after comm: state ppid pgrp session tty_nr tpgid flags */
        if (sscanf(close + 1, " %c %llu %*d %*d %*d %*d %llu", &state, &ppid, &flags) != 3)
                return -EINVAL;
        if (pid == 0 || pid > INT32_MAX || ppid > INT32_MAX)
                return -EINVAL;
        *ret = (struct why_proc){.pid = (pid_t) pid, .ppid = (pid_t) ppid};
        n = MIN((size_t) (close - open - 1), sizeof(ret->comm) - 1);
        memcpy(ret->comm, open + 1, n);
        ret->comm[n] = 0;
        /* kthreadd (pid 2) and its children are kernel threads too, whatever the flag says */
        ret->kthread = (flags & PF_KTHREAD_FLAG) || pid == 2 || ppid == 2;
        return 0;
}

char *why_slice_of(const char *cgroup) {
        const char *best = NULL, *p = cgroup;
        size_t best_len = 0;

        while (p && *p) {
                const char *e;
                size_t n;

                while (*p == '/')
                        p++;
                e = strchrnul(p, '/');
                n = (size_t) (e - p);
                if (n > 6 && strncmp(e - 6, ".slice", 6) == 0) {
                        best = p;
                        best_len = n;
                }
                p = e;
        }
        return best ? strndup(best, best_len) : NULL;
}

const char *why_verdict_name(enum why_verdict v) {
        switch (v) {
        case WHY_PLACED:
                return "placed";
        case WHY_OUT_OF_PLACE:
                return "out_of_place";
        case WHY_PENDING:
                return "pending";
        case WHY_REFUSED:
                return "refused";
        case WHY_STALE:
                return "stale";
        case WHY_UNMANAGED:
                return "unmanaged";
        case WHY_UNKNOWN:
                return "unknown";
        }
        return "unknown";
}

int why_exit_status(enum why_verdict v) {
        return v == WHY_PLACED ? 0 : v == WHY_UNKNOWN ? 2 : 1;
}

void why_result_done(struct why_result *r) {
        free(r->chain);
        free(r->refusals);
        for (size_t i = 0; i < r->n_cgroups; i++) {
                free(r->cgroups[i].hierarchy);
                free(r->cgroups[i].expected);
                free(r->cgroups[i].current);
        }
        free(r->cgroups);
        free(r->reason);
        *r = (struct why_result){};
}

const char *why_jstr(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *why_jstr0(const cJSON *o, const char *key) {
        const char *s = why_jstr(o, key);
        return s ? s : "";
}

double why_jnum(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool jstate_is(const cJSON *f, const char *st) {
        return strcmp(why_jstr0(f, "state"), st) == 0;
}

static const cJSON *find_rule(const cJSON *state, const char *name) {
        const cJSON *r;

        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(state, "rules"))
                if (name && strcmp(why_jstr0(r, "name"), name) == 0)
                        return r;
        return NULL;
}

static int push_pid(struct why_result *r, pid_t pid) {
        /* powers of two: the chain's capacity is implied by its length */
        if ((r->n_chain & (r->n_chain - 1)) == 0) {
                pid_t *v = realloc(r->chain, MAX(r->n_chain * 2, (size_t) 8) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                r->chain = v;
        }
        r->chain[r->n_chain++] = pid;
        return 0;
}

static bool in_chain(const struct why_result *r, pid_t pid) {
        for (size_t i = 0; i < r->n_chain; i++)
                if (r->chain[i] == pid)
                        return true;
        return false;
}

static int push_refusal(struct why_result *r, const cJSON *f) {
        const cJSON **v = realloc(r->refusals, (r->n_refusals + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        r->refusals = v;
        r->refusals[r->n_refusals++] = f;
        return 0;
}

static int push_cgroup(struct why_result *r, const char *hier, const char *expected,
                       const char *current) {
        struct why_cgroup *v = realloc(r->cgroups, (r->n_cgroups + 1) * sizeof(*v));
        struct why_cgroup *c;

        if (!v)
                return -ENOMEM;
        r->cgroups = v;
        c = &r->cgroups[r->n_cgroups++];
        *c = (struct why_cgroup){.hierarchy = strdup(hier), .expected = strdup(expected),
                                 .current = current ? strdup(current) : NULL};
        if (!c->hierarchy || !c->expected || (current && !c->current))
                return -ENOMEM;
        c->ok = current && strcmp(expected, current) == 0;
        return 0;
}

/* Where the rule puts the process and where it is, per hierarchy (or the slice). Returns
 * whether every one matches. */
static int compare_cgroups(const cJSON *state, const cJSON *rule, const struct why_proc *p,
                           struct why_result *r, bool *ret_ok) {
        const cJSON *t, *name;
        bool ok = true;
        int k;

        *ret_ok = false;
        if (!rule)
                return 0;
        if (strcmp(why_jstr0(state, "mode"), "systemd") == 0) {
                _cleanup_free_ char *cg = NULL, *slice = NULL;

                if (!why_jstr(rule, "slice") || !*why_jstr(rule, "slice"))
                        return 0;
                if (p->cgroup && cgfs_proc_cgroup_find(p->cgroup, "", &cg) >= 0)
                        slice = why_slice_of(cg);
                k = push_cgroup(r, "slice", why_jstr(rule, "slice"), slice);
                if (k < 0)
                        return k;
                *ret_ok = r->cgroups[r->n_cgroups - 1].ok;
                return 0;
        }
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rule, "targets"))
                cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(t, "cgroups")) {
                        _cleanup_free_ char *ctl = NULL, *cur = NULL;
                        const char *colon;

                        if (!cJSON_IsString(name) || !(colon = strchr(name->valuestring, ':')))
                                continue;
                        ctl = strndup(name->valuestring, (size_t) (colon - name->valuestring));
                        if (!ctl)
                                return -ENOMEM;
                        if (p->cgroup)
                                (void) cgfs_proc_cgroup_find(p->cgroup, ctl, &cur);
                        k = push_cgroup(r, ctl, colon + 1, cur);
                        if (k < 0)
                                return k;
                        ok = ok && r->cgroups[r->n_cgroups - 1].ok;
                }
        *ret_ok = ok && r->n_cgroups > 0;
        return 0;
}

/* "its ancestor 123" / "it" */
static void whom(const struct why_result *r, pid_t named, char *buf, size_t size) {
        if (named == r->pid)
                snprintf(buf, size, "it");
        else
                snprintf(buf, size, "its ancestor %d", (int) named);
}

/* pid 1 and kernel threads are everyone's ancestors: a file naming one of them (refused, as
 * always) explains nothing about a descendant, which is then judged as if it were not named. */
static bool refusal_is_notes_only(const struct why_result *r) {
        const cJSON *first = r->refusals[0];
        const char *key = why_jstr0(first, "reason_key");

        return (pid_t) why_jnum(first, "pid") != r->pid &&
               (strcmp(key, "init") == 0 || strcmp(key, "kthread") == 0);
}

int why_explain(const cJSON *state, pid_t pid, why_lookup_fn lookup, void *userdata,
                struct why_result *ret) {
        struct why_result r = {.pid = pid};
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(state, "files"), *f, *decide = NULL;
        struct why_proc p = {}, target = {};
        char who[64];
        bool ok;
        int k;

        if (!cJSON_IsObject(state) || !cJSON_IsArray(files) ||
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(state, "rules")))
                return -EINVAL;
        k = lookup(userdata, pid, &target);
        if (k < 0)
                return k;
        memcpy(r.comm, target.comm, sizeof(r.comm));
        r.kthread = target.kthread;

        /* up the ancestry: the nearest pid named by a held file (placed or pending) decides, as
         * cg-taskd's walk gives a subtree to the nearest root; refusals on the way are noted */
        p = target;
        p.cgroup = NULL; /* target keeps the text */
        for (size_t depth = 0; depth < WHY_MAX_CHAIN; depth++) {
                pid_t next;

                k = push_pid(&r, p.pid);
                if (k < 0)
                        goto fail;
                cJSON_ArrayForEach(f, files) {
                        if ((pid_t) why_jnum(f, "pid") != p.pid || p.pid <= 0)
                                continue;
                        if (jstate_is(f, "placed") || jstate_is(f, "pending"))
                                decide = f;
                        else if ((jstate_is(f, "refused") || jstate_is(f, "stale")) &&
                                 (k = push_refusal(&r, f)) < 0)
                                goto fail;
                }
                if (decide)
                        break;
                next = p.ppid;
                why_proc_done(&p);
                /* a parent seen already: /proc changed under the walk (pids reused) */
                if (next <= 0 || in_chain(&r, next) || lookup(userdata, next, &p) < 0)
                        break;
        }
        why_proc_done(&p);

        if (decide) {
                pid_t named = (pid_t) why_jnum(decide, "pid");
                const char *rule_name = why_jstr0(decide, "rule");

                r.file = decide;
                r.rule = find_rule(state, rule_name);
                whom(&r, named, who, sizeof(who));
                k = compare_cgroups(state, r.rule, &target, &r, &ok);
                if (k < 0)
                        goto fail;
                if (ok) {
                        r.verdict = WHY_PLACED;
                        k = xasprintf(&r.reason, "placed by '%s': pid file %s names %s", rule_name,
                                      why_jstr0(decide, "path"), who);
                } else if (jstate_is(decide, "pending")) {
                        r.verdict = WHY_PENDING;
                        k = xasprintf(&r.reason, "pending for '%s' (pid file %s names %s): %s",
                                      rule_name, why_jstr0(decide, "path"), who,
                                      why_jstr0(decide, "reason"));
                } else {
                        r.verdict = WHY_OUT_OF_PLACE;
                        k = xasprintf(&r.reason,
                                      "not in '%s' now, though pid file %s names %s: cg-taskd "
                                      "puts it back at its next full pass (every %g s) or change "
                                      "of that file",
                                      rule_name, why_jstr0(decide, "path"), who,
                                      why_jnum(state, "interval"));
                }
        } else if (r.n_refusals > 0 && !refusal_is_notes_only(&r)) {
                const cJSON *first = r.refusals[0];

                r.file = first;
                r.rule = find_rule(state, why_jstr(first, "rule"));
                whom(&r, (pid_t) why_jnum(first, "pid"), who, sizeof(who));
                r.verdict = jstate_is(first, "stale") ? WHY_STALE : WHY_REFUSED;
                for (size_t i = 0; i < r.n_chain; i++) /* the chain ends at the named one */
                        if (r.chain[i] == (pid_t) why_jnum(first, "pid"))
                                r.n_chain = i + 1;
                k = xasprintf(&r.reason, "%s: pid file %s (rule '%s') names %s: %s",
                              r.verdict == WHY_STALE ? "stale" : "refused", why_jstr0(first, "path"),
                              why_jstr0(first, "rule"), who, why_jstr0(first, "reason"));
                if (k >= 0)
                        k = compare_cgroups(state, r.rule, &target, &r, &ok);
        } else if (why_jnum(state, "omitted") > 0) {
                r.verdict = WHY_UNKNOWN;
                k = xasprintf(&r.reason,
                              "no pid file cg-taskd lists names pid %d or an ancestor, but it "
                              "lists only %g of its %g pid files",
                              (int) pid, why_jnum(state, "total") - why_jnum(state, "omitted"),
                              why_jnum(state, "total"));
        } else {
                const cJSON *pat;
                const char *full = NULL;

                cJSON_ArrayForEach(pat, cJSON_GetObjectItemCaseSensitive(state, "patterns"))
                        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pat, "full")))
                                full = why_jstr(pat, "pattern");
                r.verdict = WHY_UNMANAGED;
                k = xasprintf(&r.reason,
                              "not managed: no pid file of cg-taskd's rules names pid %d or any "
                              "of its ancestors%s%s%s%s",
                              (int) pid, r.kthread ? " (a kernel thread: never moved)" : "",
                              full ? "; pattern " : "", full ? full : "",
                              full ? " is at its max_files cap, files past it are not read" : "");
        }
        if (k < 0)
                goto fail;
        why_proc_done(&target);
        *ret = r;
        return 0;
fail:
        why_proc_done(&p);
        why_proc_done(&target);
        why_result_done(&r);
        return k;
}

static cJSON *add_str(cJSON *o, const char *k, const char *v) {
        return v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k);
}

char *why_result_json(const struct why_result *r, const cJSON *state) {
        cJSON *o = cJSON_CreateObject(), *a, *x;
        char *text = NULL;

        if (!o)
                return NULL;
        cJSON_AddNumberToObject(o, "pid", r->pid);
        cJSON_AddStringToObject(o, "comm", r->comm);
        cJSON_AddStringToObject(o, "verdict", why_verdict_name(r->verdict));
        cJSON_AddBoolToObject(o, "in_place", r->verdict == WHY_PLACED);
        add_str(o, "reason", r->reason);
        add_str(o, "rule", r->file ? why_jstr(r->file, "rule") : NULL);
        if (r->file)
                cJSON_AddItemToObject(o, "file", cJSON_Duplicate(r->file, true));
        else
                cJSON_AddNullToObject(o, "file");
        a = cJSON_AddArrayToObject(o, "chain");
        for (size_t i = 0; a && i < r->n_chain; i++)
                cJSON_AddItemToArray(a, cJSON_CreateNumber(r->chain[i]));
        a = cJSON_AddArrayToObject(o, "cgroups");
        for (size_t i = 0; a && i < r->n_cgroups; i++) {
                x = cJSON_CreateObject();
                if (!x)
                        break;
                cJSON_AddItemToArray(a, x);
                cJSON_AddStringToObject(x, "hierarchy", r->cgroups[i].hierarchy);
                cJSON_AddStringToObject(x, "expected", r->cgroups[i].expected);
                add_str(x, "current", r->cgroups[i].current);
                cJSON_AddBoolToObject(x, "ok", r->cgroups[i].ok);
        }
        x = r->file ? cJSON_GetObjectItemCaseSensitive(r->file, "move") : NULL;
        if (cJSON_IsObject(x))
                cJSON_AddItemToObject(o, "last_move", cJSON_Duplicate(x, true));
        else
                cJSON_AddNullToObject(o, "last_move");
        a = cJSON_AddArrayToObject(o, "refusals");
        for (size_t i = 0; a && i < r->n_refusals; i++)
                cJSON_AddItemToArray(a, cJSON_Duplicate(r->refusals[i], true));
        x = cJSON_AddObjectToObject(o, "taskd");
        if (x) {
                cJSON_AddNumberToObject(x, "pid", why_jnum(state, "pid"));
                cJSON_AddNumberToObject(x, "updated", why_jnum(state, "updated"));
                add_str(x, "mode", why_jstr(state, "mode"));
        }
        text = cJSON_Print(o);
        cJSON_Delete(o);
        return text;
}

