/* state.c — cg-syncd's pure helpers: its own command-line option, backoff, log-once keys, read
 * outcomes and the STATUS= line. No I/O; unit tested in tests/unit/test-syncd.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "plan.h"
#include "syncd.h"
#include "util.h"

/* userdata: the uint64_t reconcile interval in usec */
int syncd_parse_option(int val, const char *arg, void *userdata, char **err) {
        uint64_t u;

        if (val != SYNCD_ARG_RECONCILE)
                return xasprintf(err, "unknown option %d", val) < 0 ? -ENOMEM : -EINVAL;
        if (safe_atou64(arg, &u) < 0 || u < 1 || u > 86400)
                return xasprintf(err, "--reconcile-interval: '%s' is not a number of seconds in "
                                      "1..86400", arg) < 0
                               ? -ENOMEM
                               : -EINVAL;
        *(uint64_t *) userdata = u * USEC_PER_SEC;
        return 0;
}

const struct option syncd_options[] = {
        {"reconcile-interval", required_argument, NULL, SYNCD_ARG_RECONCILE},
        {},
};

void syncd_args_from(const struct daemon_args *a, uint64_t reconcile_usec, struct syncd_args *ret) {
        *ret = (struct syncd_args){
                .config_path = a->config,
                .check = a->check,
                .reconcile_usec = reconcile_usec,
                .log_level = a->log_level,
        };
}

uint64_t syncd_backoff_next(uint64_t cur_usec) {
        if (cur_usec < SYNCD_BACKOFF_MIN_USEC)
                return SYNCD_BACKOFF_MIN_USEC;
        if (cur_usec >= SYNCD_BACKOFF_MAX_USEC / 2)
                return SYNCD_BACKOFF_MAX_USEC;
        return cur_usec * 2;
}

uint64_t syncd_backoff_jitter(uint64_t backoff_usec, uint64_t rnd) {
        uint64_t span = backoff_usec / 4;

        return backoff_usec - (span ? rnd % (span + 1) : 0);
}

uint64_t syncd_hash(const void *data, size_t len, int64_t version) {
        const unsigned char *p = data;
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < sizeof(version); i++) {
                h ^= (uint64_t) (((uint64_t) version >> (8 * i)) & 0xff);
                h *= 1099511628211ULL;
        }
        for (size_t i = 0; p && i < len; i++) {
                h ^= p[i];
                h *= 1099511628211ULL;
        }
        return h;
}

bool syncd_once(struct syncd_once *o, enum syncd_once_kind kind, uint64_t key) {
        if (o->set[kind] && o->key[kind] == key)
                return false;
        o->set[kind] = true;
        o->key[kind] = key;
        return true;
}

void syncd_once_reset(struct syncd_once *o, enum syncd_once_kind kind) {
        o->set[kind] = false;
}

enum syncd_read_action syncd_read_action(int err) {
        switch (err) {
        case 0:
                return SYNCD_READ_APPLY;
        case -ENOENT:
                return SYNCD_READ_MISSING;
        case -EACCES:
        case -EPERM:
                return SYNCD_READ_NOAUTH;
        case -ENOTCONN:   /* connection loss: the client reconnects, CONNECTED re-reads */
        case -ECONNRESET: /* session expired: a new session re-reads */
        case -ECANCELED:  /* handle closing */
                return SYNCD_READ_WAIT;
        default:
                return SYNCD_READ_RETRY;
        }
}

int syncd_first_line(const char *s, size_t max, char **ret) {
        size_t l = strcspn(s, "\n");
        char *r;

        if (l > max)
                l = max;
        r = strndup(s, l);
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

int syncd_status_format(const struct syncd_status *s, char **ret) {
        _cleanup_free_ char *applied = NULL, *zk = NULL, *change = NULL;
        int r;

        if (s->applied_version < 0 && s->source == SYNCD_SOURCE_NONE)
                r = xasprintf(&applied, "Nothing applied yet");
        else if (s->source == SYNCD_SOURCE_SNAPSHOT)
                r = xasprintf(&applied, "Applied snapshot version %" PRId64, s->applied_version);
        else
                r = xasprintf(&applied, "Applied version %" PRId64, s->applied_version);
        if (r < 0)
                return r;

        switch (s->zk_state) {
        case ZK_STATE_CONNECTED:
                r = s->node_missing
                            ? xasprintf(&zk, "%s does not exist, waiting for it", s->node_path)
                            : xasprintf(&zk, "watching %s", s->node_path);
                break;
        case ZK_STATE_CONNECTING:
        case ZK_STATE_CLOSED:
                r = xasprintf(&zk, "ZooKeeper unreachable, retrying");
                break;
        case ZK_STATE_EXPIRED:
                r = xasprintf(&zk, "ZooKeeper session expired, reconnecting");
                break;
        case ZK_STATE_AUTH_FAILED:
                r = xasprintf(&zk, "ZooKeeper refused the credentials, retrying");
                break;
        default:
                r = xasprintf(&zk, "ZooKeeper state unknown");
        }
        if (r < 0)
                return r;
        /* Last, so that "Applied version N; watching ..." keeps its shape for readers. */
        if (s->change && s->change->version >= 0)
                r = xasprintf(&change,
                              "; last change: version %" PRId64
                              ", %zu created, %zu weights set, %zu removed",
                              s->change->version, s->change->created, s->change->weights,
                              s->change->removed);
        if (r < 0)
                return r;
        if (s->problem)
                return xasprintf(ret, "%s; %s; %s%s", applied, zk, s->problem, change ?: "");
        return xasprintf(ret, "%s; %s%s", applied, zk, change ?: "");
}

static struct live_entry *syncd_live_find(struct live_tree *t, enum conf_subsys s,
                                          const char *path) {
        for (size_t i = t->n[s]; i > 0; i--)
                if (t->v[s][i - 1].path && strcmp(t->v[s][i - 1].path, path) == 0)
                        return &t->v[s][i - 1];
        return NULL;
}

int syncd_live_update(struct live_tree *t, const struct plan *p) {
        bool removed = false;
        int r;

        if (t->v2)
                return -EOPNOTSUPP;
        for (size_t i = 0; i < p->n; i++) {
                const struct plan_op *o = &p->ops[i];
                enum conf_subsys s = o->subsys;
                int64_t def = t->weight_unavailable[s] ? -1 : plan_default_weight(s, false);
                struct live_entry *e;

                if ((unsigned) s >= _CONF_SUBSYS_MAX)
                        return -EINVAL;
                e = syncd_live_find(t, s, o->path);
                switch (o->type) {
                case PLAN_MKDIR:
                        if (e) {
                                e->partial = false;
                                if (e->weight < 0)
                                        e->weight = def;
                        } else {
                                r = live_tree_add(t, s, o->path, def);
                                if (r < 0)
                                        return r;
                        }
                        break;
                case PLAN_SET_WEIGHT:
                        if (!e)
                                return -ENOENT;
                        e->weight = o->value;
                        break;
                case PLAN_RMDIR:
                        if (e) {
                                e->path = mfree(e->path);
                                removed = true;
                        }
                        break;
                case PLAN_SET_LIMIT:
                case PLAN_CLEAR_LIMIT: {
                        int64_t v = o->type == PLAN_SET_LIMIT ? o->value : LIVE_LIMIT_NONE;
                        if (!e)
                                return -ENOENT;
                        if (!e->limits && !(e->limits = live_limits_new()))
                                return -ENOMEM;
                        if (conf_limit_is_device(o->limit)) {
                                struct live_dev_limit *dl;
                                r = live_limits_dev(e->limits, o->major, o->minor, &dl);
                                if (r < 0)
                                        return r;
                                dl->v[o->limit - CONF_LIMIT_FIRST_DEVICE] = v;
                        } else
                                e->limits->v[o->limit] = v;
                        break;
                }
                default:
                        return -EOPNOTSUPP;
                }
        }
        if (!removed)
                return 0;
        /* Rebuild without the removed entries (through live_tree_add, which owns growth). */
        {
                struct live_tree n = {.v2 = t->v2, .ncpus = t->ncpus, .page_size = t->page_size};

                memcpy(n.limit_unsupported, t->limit_unsupported, sizeof(n.limit_unsupported));
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        n.present[s] = t->present[s];
                        n.weight_unavailable[s] = t->weight_unavailable[s];
                        for (size_t i = 0; i < t->n[s]; i++) {
                                struct live_entry *e = &t->v[s][i];
                                if (!e->path)
                                        continue;
                                r = live_tree_add(&n, s, e->path, e->weight);
                                if (r < 0) {
                                        live_tree_clear(&n);
                                        return r;
                                }
                                n.v[s][n.n[s] - 1].partial = e->partial;
                                n.v[s][n.n[s] - 1].limits = TAKE_PTR(e->limits);
                        }
                }
                live_tree_clear(t);
                *t = n;
        }
        return 0;
}

/* ---- cgroup v2 delegation (pure) ---- */

int syncd_proc_cgroup_v2(const char *text, char **ret) {
        for (const char *l = text; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l);

                if (len >= 3 && strncmp(l, "0::", 3) == 0) {
                        const char *p = l + 3;
                        size_t plen = len - 3;
                        char *s;

                        if (plen == 0 || p[0] != '/' || memchr(p, '\0', plen))
                                return -EINVAL;
                        s = strndup(p, plen);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                l = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

void syncd_deleg_clear(struct syncd_deleg *d) {
        free(d->base);
        free(d->leaf);
        *d = (struct syncd_deleg) {};
}

/* Is `path` `dir` itself or below it (both relative, "" = the hierarchy root)? */
static bool path_within(const char *path, const char *dir) {
        size_t l = strlen(dir);

        if (l == 0)
                return true;
        return strncmp(path, dir, l) == 0 && (path[l] == 0 || path[l] == '/');
}

int syncd_deleg_plan(const char *own, const char *root, struct syncd_deleg *ret, char **err) {
        _cleanup_free_ char *base = NULL, *leaf = NULL;
        const char *slash;
        bool in_leaf = false;

        *ret = (struct syncd_deleg) {};
        if (!own || own[0] != '/' || !root) {
                (void) xasprintf(err, "cgroup path '%s' is not absolute", own ? own : "(null)");
                return -EINVAL;
        }
        base = strdup(own + 1); /* relative to the hierarchy root; "" for the root cgroup */
        if (!base)
                return -ENOMEM;
        /* Already in our leaf (an earlier run moved us, or systemd put us there itself with
         * DelegateSubgroup=cg-syncd): the delegated cgroup is its parent. */
        slash = strrchr(base, '/');
        if (strcmp(slash ? slash + 1 : base, SYNCD_LEAF) == 0) {
                base[slash ? slash - base : 0] = 0;
                in_leaf = true;
        }
        /* The root cgroup (or a top-level "/cg-syncd") is never a delegation. */
        if (!base[0] || !path_within(root, base) || !*root)
                return 0;
        if (strcmp(root, base) == 0) {
                (void) xasprintf(err,
                                 "[cgroup] root '%s' is cg-syncd's own cgroup: on cgroup v2 a "
                                 "cgroup whose children hold controllers cannot hold processes; "
                                 "set root to a sub-cgroup, e.g. '%s/managed'",
                                 root, base);
                return -EINVAL;
        }
        if (xasprintf(&leaf, "%s/%s", base, SYNCD_LEAF) < 0)
                return -ENOMEM;
        if (path_within(root, leaf)) {
                (void) xasprintf(err,
                                 "[cgroup] root '%s' lies in '%s', the leaf cgroup cg-syncd "
                                 "keeps for itself; choose another name, e.g. '%s/managed'",
                                 root, leaf, base);
                return -EINVAL;
        }
        ret->action = in_leaf ? SYNCD_DELEG_IN_LEAF : SYNCD_DELEG_MOVE;
        ret->base = TAKE_PTR(base);
        ret->leaf = TAKE_PTR(leaf);
        return 0;
}
