/* placements.c — <runtime_dir>/taskd-placements.json: what cg-taskd decided for each pid file,
 * for `cgarch why PID` and cg-wsd's get_placements (README "Placement state").
 *
 * Why a file and not a unix socket: readers need a snapshot, not a conversation, and a file
 * gives one with no listener, no request parser and no client handling inside the daemon that
 * moves processes; it is read with the privileges of the reader (cg-wsd's dynamic user reads it
 * as it reads the metrics files), and a reader never makes cg-taskd do any work. It is written
 * like the applied snapshot: a temporary file, then rename(2), so a reader never sees half.
 *
 * Cost is bounded for the pid-file flood: a change only marks the state dirty; the file is
 * rewritten by a timer, at most every TASKD_PLACEMENTS_MIN_GAP_USEC after a placement changed
 * and every TASKD_PLACEMENTS_SLOW_GAP_USEC when only refusals or missing files did (a flood is
 * made of those), and never sooner than 50 times the time the last write took (at most 2% of a
 * CPU), up to TASKD_PLACEMENTS_MAX_GAP_USEC. At most TASKD_PLACEMENTS_MAX files are listed,
 * shared fairly among the patterns (taskd_placements_quota) so that one flooded glob cannot
 * push the others out; the counts cover every file. What is published of a file not owned by root: its path,
 * owner and the pid it names when that is a live process; never its bytes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdunit.h"
#include "taskd.h"
#include "util.h"

/* ---- records ---- */

void taskd_file_judged(struct taskd_file *f, enum taskd_fstate st, enum taskd_why why,
                       pid_t named) {
        f->state = (uint8_t) st;
        f->why = (uint8_t) why;
        f->named = named;
        f->detail = NULL;
        if (st != TASKD_FSTATE_PLACED && st != TASKD_FSTATE_PENDING)
                f->n_procs = 0;
}

void taskd_file_moved(struct taskd_file *f, pid_t pid, unsigned n, const char *from,
                      const char *to) {
        free(f->move.from);
        free(f->move.to);
        f->move = (struct taskd_move){
                .realtime_usec = now_usec(CLOCK_REALTIME),
                .pid = pid,
                .n = n,
                .from = from ? strdup(from) : NULL, /* NULL on OOM: shown as unknown */
                .to = to ? strdup(to) : NULL,
        };
}

void taskd_file_record_done(struct taskd_file *f) {
        free(f->move.from);
        free(f->move.to);
        free(f->unit);
        free(f->where);
        f->move = (struct taskd_move){};
        f->unit = f->where = NULL;
}

const char *taskd_fstate_name(enum taskd_fstate st) {
        static const char *const names[_TASKD_FSTATE_MAX] = {
                [TASKD_FSTATE_NONE] = "none",       [TASKD_FSTATE_PLACED] = "placed",
                [TASKD_FSTATE_PENDING] = "pending", [TASKD_FSTATE_REFUSED] = "refused",
                [TASKD_FSTATE_STALE] = "stale",
        };
        return (unsigned) st < _TASKD_FSTATE_MAX ? names[st] : "none";
}

const char *taskd_why_key(enum taskd_why w) {
        static const char *const keys[_TASKD_WHY_MAX] = {
                [TASKD_WHY_NONE] = "",
                [TASKD_WHY_MISSING] = "missing",
                [TASKD_WHY_GONE] = "gone",
                [TASKD_WHY_EMPTY] = "empty",
                [TASKD_WHY_CONTENT] = "content",
                [TASKD_WHY_LOAD] = "unreadable",
                [TASKD_WHY_TYPE] = "type",
                [TASKD_WHY_LINK] = "link",
                [TASKD_WHY_NOUSER] = "nouser",
                [TASKD_WHY_OWNER] = "owner",
                [TASKD_WHY_USER] = "user",
                [TASKD_WHY_INIT] = "init",
                [TASKD_WHY_KTHREAD] = "kthread",
                [TASKD_WHY_STALE] = "stale",
                [TASKD_WHY_DUP] = "duplicate",
                [TASKD_WHY_NO_TARGET] = "no_target",
                [TASKD_WHY_V2_INNER] = "v2_inner",
                [TASKD_WHY_NO_CGROUP] = "no_cgroup",
                [TASKD_WHY_MOVE_FAILED] = "move_failed",
                [TASKD_WHY_SD_PENDING] = "restart",
                [TASKD_WHY_SD_REFUSED] = "systemd",
                [TASKD_WHY_SD_ERROR] = "systemd_error",
                [TASKD_WHY_BUDGET] = "budget",
        };
        return (unsigned) w < _TASKD_WHY_MAX ? keys[w] : "";
}

/* ---- the text ---- */

/* A JSON string of s where every byte that is not valid UTF-8 becomes U+FFFD: pid-file paths
 * come from whoever can create a file, and one bad name must not make the whole document
 * unreadable (cg-wsd refuses what is not UTF-8). */
static void json_str(struct strbuf *b, const char *s) {
        _cleanup_free_ char *fixed = NULL;
        const unsigned char *p = (const unsigned char *) (s ? s : "");
        bool ok = true;
        size_t n = 0, len;

        /* the common case, plain ASCII with nothing to escape: one copy (this is the hot path
         * of a big record) */
        while (p[n] >= 0x20 && p[n] < 0x7f && p[n] != '"' && p[n] != '\\')
                n++;
        if (!p[n]) {
                (void) strbuf_reserve(b, n + 2);
                (void) strbuf_append(b, "\"", 1);
                (void) strbuf_append(b, (const char *) p, n);
                (void) strbuf_append(b, "\"", 1);
                return;
        }
        len = n + strlen((const char *) p + n);
        for (size_t i = n; i < len;) {
                size_t k = utf8_seq_len(p + i, len - i);
                if (k == 0) {
                        ok = false;
                        break;
                }
                i += k;
        }
        if (!ok) {
                struct strbuf t = {};
                for (size_t i = 0; i < len;) {
                        size_t k = utf8_seq_len(p + i, len - i);
                        if (k == 0) {
                                (void) strbuf_puts(&t, "\xef\xbf\xbd");
                                i++;
                        } else {
                                (void) strbuf_append(&t, (const char *) p + i, k);
                                i += k;
                        }
                }
                fixed = strbuf_steal(&t);
                if (!fixed) {
                        b->oom = true;
                        return;
                }
                p = (const unsigned char *) fixed;
        }
        (void) strbuf_json_string(b, (const char *) p);
}

static void json_key(struct strbuf *b, bool *first, const char *key) {
        (void) strbuf_puts(b, *first ? "\"" : ", \"");
        (void) strbuf_puts(b, key);
        (void) strbuf_puts(b, "\": ");
        *first = false;
}

static void json_kv_str(struct strbuf *b, bool *first, const char *key, const char *v) {
        json_key(b, first, key);
        if (v)
                json_str(b, v);
        else
                (void) strbuf_puts(b, "null");
}

static void json_kv_u64(struct strbuf *b, bool *first, const char *key, uint64_t v) {
        json_key(b, first, key);
        (void) strbuf_append_u64(b, v);
}

/* Realtime µs as seconds with milliseconds: 1700000000.123 */
static void json_time(struct strbuf *b, uint64_t usec) {
        (void) strbuf_printf(b, "%llu.%03llu", (unsigned long long) (usec / USEC_PER_SEC),
                             (unsigned long long) (usec % USEC_PER_SEC / 1000));
}

static const char *rule_name(const struct taskd *d, size_t ri) {
        return ri < d->rules.n ? d->rules.v[ri].name : "?";
}

/* The reason of f's state in words (never the content of the file). */
static void reason_text(const struct taskd *d, const struct taskd_file *f, char *buf, size_t size) {
        const struct taskd_rule *rule = f->rule < d->rules.n ? &d->rules.v[f->rule] : NULL;
        const char *why = NULL;

        switch ((enum taskd_why) f->why) {
        case TASKD_WHY_NONE:
                if (f->state == TASKD_FSTATE_PLACED)
                        snprintf(buf, size, "%u process%s in place", f->n_procs,
                                 f->n_procs == 1 ? "" : "es");
                else
                        snprintf(buf, size, "%s", f->state == TASKD_FSTATE_PENDING
                                                          ? "not placed yet"
                                                          : "");
                return;
        case TASKD_WHY_MISSING:
                why = "the pid file does not exist";
                break;
        case TASKD_WHY_GONE:
                why = "the process it names is gone";
                break;
        case TASKD_WHY_EMPTY:
                why = "the pid file is empty (being written)";
                break;
        case TASKD_WHY_CONTENT:
        case TASKD_WHY_TYPE:
        case TASKD_WHY_LINK:
        case TASKD_WHY_LOAD:
                why = proc_pidfile_strerror(f->aux);
                if (!why) {
                        snprintf(buf, size, "the pid file cannot be read: %s", strerror(-f->aux));
                        return;
                }
                break;
        case TASKD_WHY_NOUSER:
                snprintf(buf, size, "user=%s of '%s' does not exist", rule && rule->user ? rule->user : "?",
                         rule_name(d, f->rule));
                return;
        case TASKD_WHY_OWNER:
                snprintf(buf, size,
                         "the pid file is owned by uid %u, which is neither root nor the "
                         "process's owner (uid %u)",
                         (unsigned) f->file_uid, (unsigned) f->proc_uid);
                return;
        case TASKD_WHY_USER:
                snprintf(buf, size, "the process runs as uid %u, not as user=%s (uid %u) that '%s' requires",
                         (unsigned) f->proc_uid, rule && rule->user ? rule->user : "?",
                         (unsigned) f->aux, rule_name(d, f->rule));
                return;
        case TASKD_WHY_INIT:
                why = taskd_verdict_to_string(TASKD_REFUSE_INIT);
                break;
        case TASKD_WHY_KTHREAD:
                why = taskd_verdict_to_string(TASKD_REFUSE_KTHREAD);
                break;
        case TASKD_WHY_STALE:
                why = taskd_verdict_to_string(TASKD_REFUSE_STALE);
                break;
        case TASKD_WHY_DUP:
                snprintf(buf, size, "pid %d is named by a pid file of '%s' too, which keeps it",
                         (int) f->named, rule_name(d, (size_t) f->aux));
                return;
        case TASKD_WHY_NO_TARGET:
                snprintf(buf, size, "no tree of the applied conf holds '%s'", rule_name(d, f->rule));
                return;
        case TASKD_WHY_V2_INNER:
                snprintf(buf, size,
                         "cgroup v2: '%s' has child cgroups in the applied conf, so it cannot "
                         "hold processes",
                         rule_name(d, f->rule));
                return;
        case TASKD_WHY_NO_CGROUP:
                if (rule && (size_t) f->aux < rule->n_targets)
                        snprintf(buf, size, "cgroup %s:%s does not exist yet",
                                 conf_subsys_name(rule->targets[f->aux].subsys),
                                 rule->targets[f->aux].path);
                else
                        snprintf(buf, size, "a cgroup of '%s' does not exist yet",
                                 rule_name(d, f->rule));
                return;
        case TASKD_WHY_MOVE_FAILED:
                snprintf(buf, size, "moving failed (%s); retried at the next pass",
                         strerror(-f->aux));
                return;
        case TASKD_WHY_SD_PENDING:
        case TASKD_WHY_SD_REFUSED:
        case TASKD_WHY_SD_ERROR:
                if (f->unit)
                        snprintf(buf, size, "%s: %s", f->unit, f->detail ? f->detail : "?");
                else
                        snprintf(buf, size, "%s", f->detail ? f->detail : "?");
                return;
        case TASKD_WHY_BUDGET:
                snprintf(buf, size,
                         "not read: more than %d pid files of uid %u were refused since the last "
                         "full pass ([taskd] max_refusals), which reads it again",
                         f->aux, (unsigned) f->file_uid);
                return;
        case _TASKD_WHY_MAX:
                break;
        }
        snprintf(buf, size, "%s", why ? why : "");
}

/* Where rule ri's processes go, in one string: the slice (systemd mode) or the cgroup of its
 * first target as /proc/<pid>/cgroup shows it. "" when it has none. */
static void rule_place(const struct taskd *d, size_t ri, char **ret) {
        const struct taskd_rule *rule = &d->rules.v[ri];
        _cleanup_strv_free_ char **names = NULL;
        const char *colon;

        *ret = NULL;
        if (rule->n_targets == 0)
                return;
        if (d->sd) {
                (void) sdunit_slice_name(d->cfg->cg.root, rule->targets[0].path, ret);
                return;
        }
        if (d->fs && cgfs_proc_cgroup_names(d->fs, rule->targets[0].subsys, rule->targets[0].path,
                                   &names) > 0 &&
            (colon = strchr(names[0], ':')))
                *ret = strdup(colon + 1);
}

static void format_rule(const struct taskd *d, size_t ri, char *place, struct strbuf *b) {
        const struct taskd_rule *rule = &d->rules.v[ri];
        bool first = true;

        (void) strbuf_puts(b, "{");
        json_kv_str(b, &first, "name", rule->name);
        json_kv_str(b, &first, "user", rule->user);
        json_kv_str(b, &first, "state",
                    rule->v2_inner ? "v2_inner" : rule->n_targets == 0 ? "no_target" : "ok");
        json_kv_str(b, &first, d->sd ? "slice" : "cgroup", place ? place : "");
        json_key(b, &first, "targets");
        (void) strbuf_puts(b, "[");
        for (size_t i = 0; i < rule->n_targets; i++) {
                const struct taskd_target *t = &rule->targets[i];
                _cleanup_strv_free_ char **names = NULL;
                bool tf = true;

                (void) strbuf_puts(b, i ? ", {" : "{");
                json_kv_str(b, &tf, "subsys", conf_subsys_name(t->subsys));
                json_kv_str(b, &tf, "path", t->path);
                json_key(b, &tf, "cgroups");
                (void) strbuf_puts(b, "[");
                if (!d->sd && d->fs && cgfs_proc_cgroup_names(d->fs, t->subsys, t->path, &names) > 0)
                        for (size_t k = 0; names[k]; k++) {
                                if (k)
                                        (void) strbuf_puts(b, ", ");
                                json_str(b, names[k]);
                        }
                (void) strbuf_puts(b, "]}");
        }
        (void) strbuf_puts(b, "]}");
}

static void format_file(const struct taskd *d, const struct taskd_file *f, const char *place,
                        struct strbuf *b) {
        char reason[PATH_MAX + 256];
        bool first = true;

        reason_text(d, f, reason, sizeof(reason));
        (void) strbuf_puts(b, "{");
        json_kv_str(b, &first, "path", f->path);
        json_kv_str(b, &first, "pattern", taskd_pattern_name(d, f->pattern));
        json_kv_str(b, &first, "rule", rule_name(d, f->rule));
        json_kv_u64(b, &first, "pid", f->named > 0 ? (uint64_t) f->named : 0);
        json_kv_str(b, &first, "state", taskd_fstate_name(f->state));
        json_kv_str(b, &first, "reason_key", taskd_why_key(f->why));
        json_kv_str(b, &first, "reason", reason);
        json_kv_str(b, &first, "cgroup", place ? place : "");
        if (f->unit)
                json_kv_str(b, &first, "unit", f->unit);
        if (f->why != TASKD_WHY_MISSING && f->why != TASKD_WHY_TYPE && f->why != TASKD_WHY_LINK &&
            f->why != TASKD_WHY_LOAD)
                json_kv_u64(b, &first, "file_uid", f->file_uid);
        json_kv_u64(b, &first, "processes", f->n_procs);
        json_key(b, &first, "last_move");
        if (f->move.realtime_usec) {
                bool mf = true;
                (void) strbuf_append_u64(b, f->move.realtime_usec / USEC_PER_SEC);
                json_key(b, &first, "move");
                (void) strbuf_puts(b, "{");
                json_key(b, &mf, "time");
                json_time(b, f->move.realtime_usec);
                json_kv_u64(b, &mf, "pid", (uint64_t) f->move.pid);
                json_kv_u64(b, &mf, "processes", f->move.n);
                json_kv_str(b, &mf, "from", f->move.from);
                json_kv_str(b, &mf, "to", f->move.to);
                (void) strbuf_puts(b, "}");
        } else
                (void) strbuf_puts(b, "null");
        (void) strbuf_puts(b, "}");
}

/* ---- which files: a fair share per pattern ---- */

/* Priority of a state in the list: what an operator acts on first. */
static unsigned fstate_class(enum taskd_fstate st) {
        switch (st) {
        case TASKD_FSTATE_PENDING:
                return 0;
        case TASKD_FSTATE_REFUSED:
        case TASKD_FSTATE_STALE:
                return 1;
        case TASKD_FSTATE_PLACED:
                return 2;
        default:
                return 3;
        }
}

size_t taskd_placements_quota(const size_t *counts, size_t n, size_t max, size_t *take) {
        size_t share = n > 0 ? max / n : 0, total = 0;

        for (size_t p = 0; p < n; p++) {
                size_t left = share;
                for (size_t c = 0; c < TASKD_PLACE_CLASSES; c++) {
                        size_t k = MIN(counts[p * TASKD_PLACE_CLASSES + c], left);
                        take[p * TASKD_PLACE_CLASSES + c] = k;
                        left -= k;
                        total += k;
                }
        }
        /* what a pattern did not use goes to the others, by class first */
        for (size_t c = 0; c < TASKD_PLACE_CLASSES && total < max; c++)
                for (size_t p = 0; p < n && total < max; p++) {
                        size_t i = p * TASKD_PLACE_CLASSES + c,
                               k = MIN(counts[i] - take[i], max - total);
                        take[i] += k;
                        total += k;
                }
        return total;
}

int taskd_placements_format(const struct taskd *d, uint64_t now_realtime_usec, struct strbuf *b) {
        size_t n_pat = taskd_rules_n_patterns(&d->rules), n_listed = 0;
        size_t by_state[_TASKD_FSTATE_MAX] = {};
        _cleanup_free_ size_t *counts = NULL, *take = NULL;
        _cleanup_free_ char **places = NULL;
        struct taskd_map_iter it = {};
        bool first = true, any = false;
        void *v;

        counts = calloc((n_pat + 1) * TASKD_PLACE_CLASSES, sizeof(*counts));
        take = calloc((n_pat + 1) * TASKD_PLACE_CLASSES, sizeof(*take));
        places = calloc(d->rules.n + 1, sizeof(*places));
        if (!counts || !take || !places)
                return -ENOMEM;
        /* pattern ids past the rules' (none expected) count in one extra slot */
        while (taskd_map_next(&d->files, &it, &v)) {
                const struct taskd_file *f = v;
                size_t p = MIN(f->pattern, n_pat);
                counts[p * TASKD_PLACE_CLASSES + fstate_class(f->state)]++;
                by_state[f->state < _TASKD_FSTATE_MAX ? f->state : 0]++;
        }
        (void) taskd_placements_quota(counts, n_pat + 1, TASKD_PLACEMENTS_MAX, take);
        for (size_t i = 0; i < d->rules.n; i++)
                rule_place(d, i, &places[i]);

        strbuf_reset(b);
        (void) strbuf_puts(b, "{");
        json_kv_u64(b, &first, "version", 1);
        json_kv_str(b, &first, "writer", "cg-taskd");
        json_kv_u64(b, &first, "pid", (uint64_t) getpid());
        json_key(b, &first, "updated");
        json_time(b, now_realtime_usec);
        json_kv_str(b, &first, "mode", d->sd ? "systemd" : "cgroup");
        json_kv_str(b, &first, "root", d->cfg ? d->cfg->cg.root : "");
        json_key(b, &first, "conf_version");
        if (d->conf)
                (void) strbuf_append_i64(b, d->conf->version);
        else
                (void) strbuf_puts(b, "null");
        json_kv_u64(b, &first, "interval", d->cfg ? d->cfg->taskd.interval_sec : 0);

        json_key(b, &first, "rules");
        (void) strbuf_puts(b, "[");
        for (size_t i = 0; i < d->rules.n; i++) {
                if (i)
                        (void) strbuf_puts(b, ", ");
                format_rule(d, i, places[i], b);
        }
        (void) strbuf_puts(b, "]");

        json_key(b, &first, "patterns");
        (void) strbuf_puts(b, "[");
        for (size_t p = 0; p < n_pat; p++) {
                bool pf = true;
                size_t n = 0;

                for (size_t c = 0; c < TASKD_PLACE_CLASSES; c++)
                        n += counts[p * TASKD_PLACE_CLASSES + c];
                (void) strbuf_puts(b, p ? ", {" : "{");
                json_kv_str(b, &pf, "pattern", taskd_pattern_name(d, p));
                for (size_t i = 0; i < d->rules.n; i++)
                        if (p >= d->rules.v[i].pattern_base &&
                            p < d->rules.v[i].pattern_base + strv_length(d->rules.v[i].patterns))
                                json_kv_str(b, &pf, "rule", d->rules.v[i].name);
                json_kv_u64(b, &pf, "files", n);
                if (p < d->n_caps) {
                        json_kv_u64(b, &pf, "max_files", d->file_caps[p].max);
                        json_key(b, &pf, "full");
                        (void) strbuf_puts(b, d->file_caps[p].n >= d->file_caps[p].max ? "true"
                                                                                      : "false");
                }
                (void) strbuf_puts(b, "}");
        }
        (void) strbuf_puts(b, "]");

        json_key(b, &first, "files");
        (void) strbuf_puts(b, "[");
        it = (struct taskd_map_iter){};
        while (taskd_map_next(&d->files, &it, &v)) {
                const struct taskd_file *f = v;
                size_t i = MIN(f->pattern, n_pat) * TASKD_PLACE_CLASSES + fstate_class(f->state);

                if (take[i] == 0)
                        continue;
                take[i]--;
                if (any)
                        (void) strbuf_puts(b, ", ");
                any = true;
                format_file(d, f, f->rule < d->rules.n ? places[f->rule] : NULL, b);
                n_listed++;
        }
        (void) strbuf_puts(b, "]");
        json_kv_u64(b, &first, "total", taskd_map_size(&d->files));
        json_kv_u64(b, &first, "omitted", taskd_map_size(&d->files) - n_listed);
        json_kv_u64(b, &first, "placed", by_state[TASKD_FSTATE_PLACED]);
        json_kv_u64(b, &first, "pending", by_state[TASKD_FSTATE_PENDING]);
        json_kv_u64(b, &first, "refused",
                    by_state[TASKD_FSTATE_REFUSED] + by_state[TASKD_FSTATE_STALE]);
        json_kv_u64(b, &first, "stale", by_state[TASKD_FSTATE_STALE]);
        json_kv_u64(b, &first, "none", by_state[TASKD_FSTATE_NONE]);
        (void) strbuf_puts(b, "}\n");
        for (size_t i = 0; i < d->rules.n; i++)
                free(places[i]);
        return b->oom ? -ENOMEM : 0;
}

/* ---- writing, rate-limited ---- */

void taskd_placements_write(struct taskd *d) {
        uint64_t t0 = now_usec(CLOCK_MONOTONIC), spent;
        _cleanup_free_ char *path = NULL;
        int r;

        d->placements_dirty = false;
        d->placements_last_usec = t0;
        if (!d->cfg)
                return;
        r = xasprintf(&path, "%s/" TASKD_PLACEMENTS_FILE, d->cfg->daemon.runtime_dir);
        if (r >= 0)
                r = taskd_placements_format(d, now_usec(CLOCK_REALTIME), &d->placements_buf);
        if (r >= 0)
                r = write_file_atomic(path, strbuf_text(&d->placements_buf),
                                      d->placements_buf.len, 0644);
        if (r < 0 && r != d->placements_error)
                log_warning_errno(r, "Failed to write %s/" TASKD_PLACEMENTS_FILE ": %m",
                                  d->cfg->daemon.runtime_dir);
        d->placements_error = r < 0 ? r : 0;
        /* a flood makes a big file: the gap grows with the cost of writing it */
        spent = now_usec(CLOCK_MONOTONIC) - t0;
        d->placements_gap_usec = MIN(MAX(TASKD_PLACEMENTS_MIN_GAP_USEC, TASKD_PLACEMENTS_COST_FACTOR * spent),
                                     TASKD_PLACEMENTS_MAX_GAP_USEC);
        /* a big buffer from a flood is not kept for ever */
        if (d->placements_buf.cap > 4 * d->placements_buf.len + 65536)
                strbuf_done(&d->placements_buf);
}

static int on_placements_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct taskd *d = userdata;

        (void) s;
        (void) usec;
        if (d->placements_dirty)
                taskd_placements_write(d);
        return 0;
}

void taskd_placements_dirty(struct taskd *d, bool urgent) {
        uint64_t now, due;
        int r;

        if (!d->event)
                return; /* --check */
        now = now_usec(CLOCK_MONOTONIC);
        due = d->placements_last_usec +
              MAX(d->placements_gap_usec,
                  urgent ? TASKD_PLACEMENTS_MIN_GAP_USEC : TASKD_PLACEMENTS_SLOW_GAP_USEC);
        due = MAX(due, now + 1);
        if (d->placements_dirty && d->placements_due_usec <= due)
                return; /* a write is armed already, as early */
        d->placements_dirty = true;
        d->placements_due_usec = due;
        if (!d->placements_src) {
                /* accuracy 5 ms: a reader waiting for a change should not wait 250 ms more */
                r = event_add_timer(d->event, &d->placements_src, 0, 5 * USEC_PER_MSEC,
                                    on_placements_timer, d);
                if (r < 0) {
                        taskd_placements_write(d); /* no timer: write now, unthrottled */
                        return;
                }
        }
        r = event_timer_set(d->placements_src, due - now);
        if (r < 0)
                taskd_placements_write(d);
}

void taskd_placements_done(struct taskd *d) {
        d->placements_src = sd_event_source_disable_unref(d->placements_src);
        strbuf_done(&d->placements_buf);
}
