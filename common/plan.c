/* plan.c — the live-tree model and the pure planner (see plan.h). No I/O; never logs.
 *
 * Lookups go through sorted pointer arrays and bsearch, so planning a tree of 100,000 nodes
 * against a live tree of the same size stays O(n log n). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "cgfs.h" /* cgfs_v2_weight_file */
#include "util.h"

struct live_limits *live_limits_new(void) {
        struct live_limits *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        for (int i = 0; i < _CONF_LIMIT_MAX; i++)
                l->v[i] = LIVE_LIMIT_NONE;
        return l;
}

struct live_limits *live_limits_free(struct live_limits *l) {
        if (!l)
                return NULL;
        free(l->devs);
        return mfree(l);
}

int live_limits_dev(struct live_limits *l, unsigned major, unsigned minor,
                    struct live_dev_limit **ret) {
        struct live_dev_limit *nv;

        for (size_t i = 0; i < l->n_devs; i++)
                if (l->devs[i].major == major && l->devs[i].minor == minor) {
                        *ret = &l->devs[i];
                        return 0;
                }
        nv = realloc(l->devs, (l->n_devs + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        l->devs = nv;
        nv[l->n_devs] = (struct live_dev_limit){ .major = major, .minor = minor };
        for (int k = 0; k < CONF_LIMIT_N_DEVICE; k++)
                nv[l->n_devs].v[k] = LIVE_LIMIT_NONE;
        *ret = &nv[l->n_devs++];
        return 0;
}

void live_tree_clear(struct live_tree *t) {
        if (!t)
                return;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                for (size_t i = 0; i < t->n[s]; i++) {
                        free(t->v[s][i].path);
                        live_limits_free(t->v[s][i].limits);
                }
                free(t->v[s]);
        }
        for (size_t i = 0; i < t->n_devs; i++)
                free(t->devs[i].key);
        free(t->devs);
        *t = (struct live_tree){};
}

int live_tree_add_dev(struct live_tree *t, const char *key, int err, unsigned major,
                      unsigned minor) {
        struct live_dev *nv;
        char *k;

        if (!key)
                return -EINVAL;
        for (size_t i = 0; i < t->n_devs; i++)
                if (strcmp(t->devs[i].key, key) == 0)
                        return 0;
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        nv = realloc(t->devs, (t->n_devs + 1) * sizeof(*nv));
        if (!nv) {
                free(k);
                return -ENOMEM;
        }
        t->devs = nv;
        nv[t->n_devs++] = (struct live_dev){ .key = k, .err = err, .major = major, .minor = minor };
        return 0;
}

int live_tree_add_take(struct live_tree *t, enum conf_subsys s, char *path, int64_t weight) {
        size_t n;

        if ((unsigned) s >= _CONF_SUBSYS_MAX || !path || !*path) {
                free(path);
                return -EINVAL;
        }
        n = t->n[s];
        /* Grow by doubling: reallocate when n is 0 or a power of two (>= 16). The capacity is
         * implied by n, so every writer of t->v goes through here. */
        if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
                size_t cap = n == 0 ? 16 : n * 2;
                struct live_entry *nv = realloc(t->v[s], cap * sizeof(*nv));

                if (!nv) {
                        free(path);
                        return -ENOMEM;
                }
                t->v[s] = nv;
        }
        t->v[s][n] = (struct live_entry){ .path = path, .weight = weight };
        t->n[s] = n + 1;
        return 0;
}

int live_tree_add(struct live_tree *t, enum conf_subsys s, const char *path, int64_t weight) {
        char *p;

        if ((unsigned) s >= _CONF_SUBSYS_MAX || !path || !*path)
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        return live_tree_add_take(t, s, p, weight);
}

void plan_clear(struct plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                free(p->ops[i].path);
        free(p->ops);
        strv_free(p->notes);
        *p = (struct plan){};
}

int64_t plan_v2_weight(enum conf_subsys s, int64_t w) {
        int64_t m;

        if (w < 0)
                return -1;
        m = s == CONF_CPU ? w * 100 / 1024 : w * 100 / 500;
        return CLAMP(m, 1, 10000);
}

int64_t plan_default_weight(enum conf_subsys s, bool v2) {
        if (v2)
                return 100;
        return s == CONF_CPU ? 1024 : -1;
}

/* ---- lookup helpers ---- */

struct lidx {
        const struct live_entry **v;
        size_t n;
};

static int cmp_entry(const void *a, const void *b) {
        return strcmp((*(const struct live_entry *const *) a)->path,
                      (*(const struct live_entry *const *) b)->path);
}

static int lidx_build(const struct live_tree *t, enum conf_subsys s, struct lidx *x) {
        x->n = t->n[s];
        x->v = malloc(sizeof(*x->v) * (x->n ? x->n : 1));
        if (!x->v)
                return -ENOMEM;
        bool sorted = true;
        for (size_t i = 0; i < x->n; i++) {
                x->v[i] = &t->v[s][i];
                if (sorted && i > 0 && strcmp(x->v[i - 1]->path, x->v[i]->path) >= 0)
                        sorted = false;
        }
        /* cgfs_read_live() returns sorted trees: then this is one pass, no sort. */
        if (!sorted)
                qsort(x->v, x->n, sizeof(*x->v), cmp_entry);
        return 0;
}

static const struct live_entry *lidx_find(const struct lidx *x, const char *path) {
        struct live_entry key = { .path = (char *) path };
        const struct live_entry *k = &key, **r;

        if (!x->v)
                return NULL;
        r = bsearch(&k, x->v, x->n, sizeof(*x->v), cmp_entry);
        return r ? *r : NULL;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A sorted set of borrowed strings. */
struct sset {
        const char **v;
        size_t n, cap;
};

static int sset_add(struct sset *x, const char *s) {
        if (x->n == x->cap) {
                size_t cap = x->cap ? x->cap * 2 : 64;
                const char **nv = realloc(x->v, cap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                x->v = nv;
                x->cap = cap;
        }
        x->v[x->n++] = s;
        return 0;
}

static void sset_sort(struct sset *x) {
        size_t o = 0;

        if (x->n == 0)
                return;
        qsort(x->v, x->n, sizeof(*x->v), cmp_str);
        for (size_t i = 1; i < x->n; i++) /* dedupe */
                if (strcmp(x->v[i], x->v[o]) != 0)
                        x->v[++o] = x->v[i];
        x->n = o + 1;
}

static bool sset_has(const struct sset *x, const char *s) {
        return x->n && bsearch(&s, x->v, x->n, sizeof(*x->v), cmp_str);
}

/* ---- plan builder ---- */

struct pbuild {
        struct plan p;
        size_t cap;
};

static int pb_push(struct pbuild *b, enum plan_op_type t, enum conf_subsys s, const char *path,
                   int64_t value) {
        if (b->p.n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                struct plan_op *nv = realloc(b->p.ops, cap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                b->p.ops = nv;
                b->cap = cap;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        b->p.ops[b->p.n++] = (struct plan_op){ .type = t, .subsys = s, .path = p, .value = value,
                                               .asked = value, .was = LIVE_LIMIT_NONE };
        return 0;
}

static int pb_push_limit(struct pbuild *b, enum plan_op_type t, const char *path,
                         enum conf_limit l, unsigned major, unsigned minor, int64_t value,
                         int64_t asked, int64_t was) {
        struct plan_op *o;
        int r;

        r = pb_push(b, t, conf_limit_subsys(l), path, value);
        if (r < 0)
                return r;
        o = &b->p.ops[b->p.n - 1];
        o->limit = l;
        o->major = major;
        o->minor = minor;
        o->asked = asked;
        o->was = was;
        return 0;
}

/* A note once (notes are few: a set of distinct lines). Takes msg. */
static int pb_note(struct pbuild *b, char *msg) {
        if (!msg)
                return -ENOMEM;
        if (strv_contains(b->p.notes, msg)) {
                free(msg);
                return 0;
        }
        return strv_push(&b->p.notes, msg);
}

static bool node_sets_limits(const struct conf_node *n) {
        if (!n->limits)
                return false;
        for (int l = 0; l < _CONF_LIMIT_MAX; l++)
                if (n->limits->v[l] >= 0)
                        return true;
        return n->limits->n_devs > 0;
}

/* A device key of the conf as major:minor here: parsed ("8:0") or resolved by the live reader
 * ("/dev/sda"). 0, or -errno (with a note made once per key). */
static int plan_resolve_dev(struct pbuild *b, const struct live_tree *live, const char *key,
                            unsigned *ma, unsigned *mi) {
        char *msg = NULL;
        int r = conf_device_parse(key, ma, mi);

        if (r == 1)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < live->n_devs; i++) {
                const struct live_dev *d = &live->devs[i];
                if (strcmp(d->key, key) != 0)
                        continue;
                if (d->err == 0) {
                        *ma = d->major;
                        *mi = d->minor;
                        return 0;
                }
                r = d->err;
                break;
        }
        if (r == 0)
                r = -ENOENT; /* not resolved at all (a hand-built tree) */
        if (xasprintf(&msg, "blkio device %s: %s on this host; its limits are not applied", key,
                      r == -ENOTBLK ? "not a block device" : "no such device") < 0)
                return -ENOMEM;
        r = pb_note(b, msg);
        return r < 0 ? r : -ENODEV;
}

/* The value of limit l the machine should have for node n (conf units; -1: none), clamped or
 * rounded as this layout needs; notes what it changed. */
static int want_scalar(struct pbuild *b, const struct live_tree *live, const struct conf_node *n,
                       enum conf_limit l, int64_t *ret) {
        int64_t v = n->limits ? n->limits->v[l] : -1;
        char *msg = NULL;

        if (v >= 0 && l == CONF_LIMIT_CPU_QUOTA && live->ncpus > 0 &&
            v > (int64_t) live->ncpus * 100) {
                if (xasprintf(&msg, "cpu quota_percent %" PRId64 " of %s clamped to %u (%u CPUs "
                                    "online)",
                              v, n->path, live->ncpus * 100, live->ncpus) < 0 ||
                    pb_note(b, msg) < 0)
                        return -ENOMEM;
                v = (int64_t) live->ncpus * 100;
        }
        if (v >= 0 && (l == CONF_LIMIT_MEM_MAX || l == CONF_LIMIT_MEM_HIGH ||
                       l == CONF_LIMIT_MEM_LOW)) {
                int64_t ps = live->page_size ? live->page_size : 4096;
                /* the kernel keeps pages: what it reads back is the value rounded down */
                v = MAX(v / ps * ps, ps);
        }
        *ret = v;
        return 0;
}

/* Limits of node n of subsystem s against live entry e (NULL: a fresh cgroup, no limits). */
static int plan_node_limits(struct pbuild *b, const struct live_tree *live, enum conf_subsys s,
                            const struct conf_node *n, const struct live_entry *e) {
        const struct live_limits *have = e ? e->limits : NULL;
        int r;

        if (!have && !node_sets_limits(n))
                return 0;
        for (int l = 0; l < _CONF_LIMIT_MAX; l++) {
                int64_t want, was;

                if (conf_limit_subsys(l) != s || conf_limit_is_device(l))
                        continue;
                r = want_scalar(b, live, n, l, &want);
                if (r < 0)
                        return r;
                if (live->limit_unsupported[l]) {
                        char *msg = NULL;
                        if (want < 0)
                                continue;
                        if (xasprintf(&msg, "%s %s: this cgroup layout has no such limit; not "
                                            "applied (first at %s)",
                                      conf_subsys_name(s), conf_limit_name(l), n->path) < 0)
                                return -ENOMEM;
                        /* one note per limit, not per cgroup */
                        for (char **x = b->p.notes; x && *x; x++)
                                if (strncmp(*x, msg, strcspn(msg, "(")) == 0) {
                                        msg = mfree(msg);
                                        break;
                                }
                        if (msg && (r = pb_note(b, msg)) < 0)
                                return r;
                        continue;
                }
                was = have ? have->v[l] : LIVE_LIMIT_NONE;
                if (want == was || (want < 0 && was == LIVE_LIMIT_NONE))
                        continue;
                r = pb_push_limit(b, want >= 0 ? PLAN_SET_LIMIT : PLAN_CLEAR_LIMIT, n->path, l, 0,
                                  0, want, n->limits ? n->limits->v[l] : -1, was);
                if (r < 0)
                        return r;
        }
        if (s != CONF_BLKIO)
                return 0;
        /* devices: every rule the conf sets, then every rule the machine has that it does not */
        struct { unsigned ma, mi; enum conf_limit l; } *wanted = NULL;
        size_t nw = 0;
        if (n->limits && n->limits->n_devs) {
                wanted = calloc(n->limits->n_devs, sizeof(*wanted));
                if (!wanted)
                        return -ENOMEM;
        }
        for (size_t i = 0; n->limits && i < n->limits->n_devs; i++) {
                const struct conf_dev_limit *d = &n->limits->devs[i];
                struct live_dev_limit *hd = NULL;
                unsigned ma, mi;
                int64_t was = LIVE_LIMIT_NONE;

                r = plan_resolve_dev(b, live, d->dev, &ma, &mi);
                if (r == -ENODEV)
                        continue;
                if (r < 0)
                        goto out;
                wanted[nw++] = (typeof(*wanted)){ ma, mi, d->limit };
                for (size_t k = 0; have && k < have->n_devs; k++)
                        if (have->devs[k].major == ma && have->devs[k].minor == mi)
                                hd = &have->devs[k];
                if (hd)
                        was = hd->v[d->limit - CONF_LIMIT_FIRST_DEVICE];
                if (was == d->value)
                        continue;
                r = pb_push_limit(b, PLAN_SET_LIMIT, n->path, d->limit, ma, mi, d->value, d->value,
                                  was);
                if (r < 0)
                        goto out;
        }
        for (size_t k = 0; have && k < have->n_devs; k++) {
                const struct live_dev_limit *hd = &have->devs[k];
                for (int j = 0; j < CONF_LIMIT_N_DEVICE; j++) {
                        enum conf_limit l = CONF_LIMIT_FIRST_DEVICE + j;
                        bool kept = false;
                        if (hd->v[j] == LIVE_LIMIT_NONE)
                                continue;
                        for (size_t w = 0; w < nw && !kept; w++)
                                kept = wanted[w].ma == hd->major && wanted[w].mi == hd->minor &&
                                       wanted[w].l == l;
                        if (kept)
                                continue;
                        r = pb_push_limit(b, PLAN_CLEAR_LIMIT, n->path, l, hd->major, hd->minor,
                                          -1, -1, hd->v[j]);
                        if (r < 0)
                                goto out;
                }
        }
        r = 0;
out:
        free(wanted);
        return r;
}

/* Limits of every node of s, parents first (a child's cap may not exceed its parent's on v1).
 * found: the live entry of each node (NULL: fresh). */
static int plan_limits(struct pbuild *b, const struct live_tree *live, enum conf_subsys s,
                       const struct conf_node *const *nodes, size_t nn,
                       const struct live_entry *const *found) {
        int r;

        for (size_t i = 0; i < nn; i++) {
                r = plan_node_limits(b, live, s, nodes[i], found[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A subsystem whose controller is not available here (v2: not delegated to the managed root):
 * no limit is planned; say so once if the conf sets any. */
static int note_unavailable(struct pbuild *b, enum conf_subsys s, const struct conf_node *const *nodes,
                            size_t nn) {
        char *msg = NULL;

        for (size_t i = 0; i < nn; i++)
                if (node_sets_limits(nodes[i])) {
                        if (xasprintf(&msg, "%s controller not available at the managed root: "
                                            "the limits of the %s tree are not applied",
                                      conf_subsys_name(s), conf_subsys_name(s)) < 0)
                                return -ENOMEM;
                        return pb_note(b, msg);
                }
        return 0;
}

/* Pre-order walk (parents first) collecting the nodes of a subsystem tree, root excluded. */
static int collect_nodes(const struct conf_node *n, const struct conf_node ***v, size_t *len,
                         size_t *cap) {
        int r;

        if (n->parent) {
                if (*len == *cap) {
                        size_t nc = *cap ? *cap * 2 : 64;
                        const struct conf_node **nv = realloc(*v, nc * sizeof(*nv));
                        if (!nv)
                                return -ENOMEM;
                        *v = nv;
                        *cap = nc;
                }
                (*v)[(*len)++] = n;
        }
        for (size_t i = 0; i < n->n_children; i++) {
                r = collect_nodes(n->children[i], v, len, cap);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool path_is_protected(const char *path, char *const *protected_names) {
        if (!protected_names || !*protected_names)
                return false;
        for (const char *p = path; *p;) {
                size_t l = strcspn(p, "/");
                for (char *const *n = protected_names; *n; n++)
                        if (strlen(*n) == l && strncmp(p, *n, l) == 0)
                                return true;
                p += l;
                if (*p == '/')
                        p++;
        }
        return false;
}

/* Removal candidates: live paths (of `lists`) not in `want`, minus protected ones and their
 * ancestors (an ancestor of a kept cgroup cannot be removed). Emitted children first. */
/* The paths the conf wants kept: the nodes of the subsystems in `of`. Through the conf's name
 * index (O(1) per path, nothing to sort) when every one of them has it, else a sorted set. */
struct want {
        const struct conf *c;
        bool of[_CONF_SUBSYS_MAX];
        bool indexed;
        struct sset set; /* when !indexed */
};

static int want_init(struct want *w, const struct conf *c, const bool of[_CONF_SUBSYS_MAX],
                     const struct conf_node **const nodes[_CONF_SUBSYS_MAX],
                     const size_t nn[_CONF_SUBSYS_MAX]) {
        *w = (struct want){ .c = c, .indexed = true };
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                w->of[s] = of[s] && c->roots[s];
                if (w->of[s] && !c->index[s])
                        w->indexed = false;
        }
        if (w->indexed)
                return 0;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                for (size_t i = 0; w->of[s] && i < nn[s]; i++)
                        if (sset_add(&w->set, nodes[s][i]->path) < 0)
                                return -ENOMEM;
        sset_sort(&w->set);
        return 0;
}

static bool want_has(const struct want *w, const char *path) {
        const char *name;

        if (!w->indexed)
                return sset_has(&w->set, path);
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const struct conf_node *n = w->of[s] ? conf_find(w->c, s, name) : NULL;
                if (n && strcmp(n->path, path) == 0)
                        return true;
        }
        return false;
}

static int plan_removals(struct pbuild *b, enum conf_subsys s, const struct live_tree *live,
                         const bool lists[_CONF_SUBSYS_MAX], const struct want *want,
                         char *const *protected_names) {
        struct sset cand = {}, kept = {};
        int r = 0;

        for (int t = 0; t < _CONF_SUBSYS_MAX; t++) {
                if (!lists[t])
                        continue;
                for (size_t i = 0; i < live->n[t]; i++) {
                        const char *path = live->v[t][i].path;
                        if (path_is_protected(path, protected_names)) {
                                r = sset_add(&kept, path);
                                if (r < 0)
                                        goto out;
                        } else if (!want_has(want, path)) {
                                r = sset_add(&cand, path);
                                if (r < 0)
                                        goto out;
                        }
                }
        }
        sset_sort(&cand);
        sset_sort(&kept);
        /* Reverse lexical order puts every descendant ("a/b") before its ancestor ("a"). */
        for (size_t i = cand.n; i-- > 0;) {
                const char *c = cand.v[i];
                size_t l = strlen(c);
                bool keep = false;

                /* Any kept path below c? Kept paths below c sort right after "c/". */
                if (kept.n) {
                        size_t lo = 0, hi = kept.n;
                        while (lo < hi) {
                                size_t mid = (lo + hi) / 2;
                                if (strcmp(kept.v[mid], c) <= 0)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        for (size_t j = lo; j < kept.n && strncmp(kept.v[j], c, l) == 0; j++)
                                if (kept.v[j][l] == '/') {
                                        keep = true;
                                        break;
                                }
                }
                if (keep)
                        continue;
                r = pb_push(b, PLAN_RMDIR, s, c, 0);
                if (r < 0)
                        goto out;
        }
out:
        free(cand.v);
        free(kept.v);
        return r;
}

static int plan_v1(const struct conf *c, const struct live_tree *live,
                   char *const *protected_names, struct plan *ret) {
        struct pbuild b = {};
        struct lidx idx[_CONF_SUBSYS_MAX] = {};
        const struct conf_node **nodes[_CONF_SUBSYS_MAX] = {};
        const struct live_entry **found[_CONF_SUBSYS_MAX] = {}; /* live entry of nodes[s][i] */
        size_t nn[_CONF_SUBSYS_MAX] = {}, cap;
        int r = 0;

        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                if (!c->roots[s] || !live->present[s])
                        continue;
                r = lidx_build(live, s, &idx[s]);
                if (r < 0)
                        goto out;
                cap = 0;
                r = collect_nodes(c->roots[s], &nodes[s], &nn[s], &cap);
                if (r < 0)
                        goto out;
        }
        /* 1. mkdirs, parents first (each node is looked up once; step 2 reuses it) */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                if (nn[s] && !(found[s] = malloc(nn[s] * sizeof(*found[s])))) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < nn[s]; i++) {
                        const struct live_entry *e = lidx_find(&idx[s], nodes[s][i]->path);
                        found[s][i] = e;
                        if (!e || e->partial) {
                                r = pb_push(&b, PLAN_MKDIR, s, nodes[s][i]->path, 0);
                                if (r < 0)
                                        goto out;
                        }
                }
        }
        /* 2. weights, only where they differ */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                if (live->weight_unavailable[s])
                        continue;
                for (size_t i = 0; i < nn[s]; i++) {
                        const struct conf_node *n = nodes[s][i];
                        const struct live_entry *e = found[s][i];
                        bool want;

                        if (n->weight < 0)
                                continue;
                        if (!e || (e->partial && e->weight < 0))
                                want = n->weight != plan_default_weight(s, false); /* fresh */
                        else
                                want = e->weight != n->weight;
                        if (want) {
                                r = pb_push(&b, PLAN_SET_WEIGHT, s, n->path, n->weight);
                                if (r < 0)
                                        goto out;
                        }
                }
        }
        /* 2b. limits, parents first; set where they differ, cleared where the conf has none */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                r = plan_limits(&b, live, s, nodes[s], nn[s], found[s]);
                if (r < 0)
                        goto out;
        }
        /* 3. removals, children first; a subsystem absent from the conf is left alone */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct want want;
                bool lists[_CONF_SUBSYS_MAX] = {};

                if (!c->roots[s] || !live->present[s])
                        continue;
                lists[s] = true;
                r = want_init(&want, c, lists, (const struct conf_node **const *) nodes, nn);
                if (r >= 0)
                        r = plan_removals(&b, s, live, lists, &want, protected_names);
                free(want.set.v);
                if (r < 0)
                        goto out;
        }
        *ret = b.p;
        b.p = (struct plan){};
out:
        plan_clear(&b.p);
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                free(idx[s].v);
                free(nodes[s]);
                free(found[s]);
        }
        return r;
}

/* v2: the subsystem trees are one union tree; ops carry the first subsystem holding a path for
 * mkdir/rmdir, and their own subsystem for enable/weight. */
static int plan_v2(const struct conf *c, const struct live_tree *live,
                   char *const *protected_names, struct plan *ret) {
        struct pbuild b = {};
        struct lidx idx[_CONF_SUBSYS_MAX] = {};
        const struct conf_node **nodes[_CONF_SUBSYS_MAX] = {};
        size_t nn[_CONF_SUBSYS_MAX] = {}, cap;
        struct sset made = {};
        bool any = false, lists[_CONF_SUBSYS_MAX] = {};
        int r = 0;

        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                r = lidx_build(live, s, &idx[s]);
                if (r < 0)
                        goto out;
                lists[s] = true;
                if (!c->roots[s] || !live->present[s])
                        continue;
                any = true;
                cap = 0;
                r = collect_nodes(c->roots[s], &nodes[s], &nn[s], &cap);
                if (r < 0)
                        goto out;
        }
        /* 1. mkdirs of the union tree, parents first (a pre-order walk of each tree keeps every
         * parent before its children; a parent from another tree was emitted earlier or exists,
         * since plan_check_v2 guarantees one place per name). */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                for (size_t i = 0; i < nn[s]; i++) {
                        const char *path = nodes[s][i]->path;
                        bool exists = false;

                        for (int t = 0; t < _CONF_SUBSYS_MAX && !exists; t++)
                                exists = lidx_find(&idx[t], path) != NULL;
                        if (!exists && !sset_has(&made, path)) {
                                r = pb_push(&b, PLAN_MKDIR, s, path, 0);
                                if (r < 0)
                                        goto out;
                        }
                }
                /* "made" = paths of the trees walked so far, for the next tree's walk */
                for (size_t i = 0; i < nn[s]; i++) {
                        r = sset_add(&made, nodes[s][i]->path);
                        if (r < 0)
                                goto out;
                }
                sset_sort(&made);
        }
        /* 2. controllers, parents first, then 3. weights */
        for (int pass = 0; pass < 2; pass++)
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        if (live->weight_unavailable[s])
                                continue;
                        for (size_t i = 0; i < nn[s]; i++) {
                                const struct conf_node *n = nodes[s][i];
                                const struct live_entry *e = lidx_find(&idx[s], n->path);
                                bool fresh = !e || e->weight < 0;

                                if (pass == 0) {
                                        if (fresh && !live->systemd) {
                                                r = pb_push(&b, PLAN_ENABLE, s, n->path, 0);
                                                if (r < 0)
                                                        goto out;
                                        }
                                        continue;
                                }
                                if (n->weight < 0)
                                        continue;
                                int64_t m = plan_v2_weight(s, n->weight);
                                /* systemd mode: a weight the conf sets is a property of the
                                 * unit, shown by `systemctl show`, even where it equals the
                                 * kernel's default; unset ("fresh") there means not written. */
                                bool differs = fresh ? live->systemd ||
                                                               m != plan_default_weight(s, true)
                                                     : m != e->weight;
                                if (differs) {
                                        r = pb_push(&b, PLAN_SET_WEIGHT, s, n->path, n->weight);
                                        if (r < 0)
                                                goto out;
                                }
                        }
                }
        /* 3b. limits, parents first, where the controller is available */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const struct live_entry **f = NULL;

                if (live->weight_unavailable[s]) {
                        r = note_unavailable(&b, s, nodes[s], nn[s]);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (nn[s] && !(f = malloc(nn[s] * sizeof(*f)))) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < nn[s]; i++)
                        f[i] = lidx_find(&idx[s], nodes[s][i]->path);
                r = plan_limits(&b, live, s, nodes[s], nn[s], f);
                free(f);
                if (r < 0)
                        goto out;
        }
        /* 4. removals from the union tree; an empty conf manages nothing */
        if (any) {
                struct want w;
                bool of[_CONF_SUBSYS_MAX];
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                        of[s] = live->present[s]; /* the subsystems whose nodes were collected */
                r = want_init(&w, c, of, (const struct conf_node **const *) nodes, nn);
                if (r >= 0)
                        r = plan_removals(&b, CONF_CPU, live, lists, &w, protected_names);
                free(w.set.v);
                if (r < 0)
                        goto out;
        }
        *ret = b.p;
        b.p = (struct plan){};
out:
        plan_clear(&b.p);
        free(made.v);
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                free(idx[s].v);
                free(nodes[s]);
        }
        return r;
}

int conf_plan(const struct conf *c, const struct live_tree *live, char *const *protected_names,
              struct plan *ret) {
        if (!c || !live || !ret)
                return -EINVAL;
        return live->v2 ? plan_v2(c, live, protected_names, ret)
                        : plan_v1(c, live, protected_names, ret);
}

/* The v2 controller of each subsystem, as `enable` shows it. */
static const char *const v2_controllers[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "cpu", [CONF_BLKIO] = "io", [CONF_MEMORY] = "memory", [CONF_PIDS] = "pids"};

int plan_format(const struct plan *p, const struct live_tree *live, char **ret) {
        struct lidx idx[_CONF_SUBSYS_MAX] = {};
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r = 0;

        if (live)
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        r = lidx_build(live, s, &idx[s]);
                        if (r < 0)
                                goto out;
                }
        f = open_memstream(&buf, &len);
        if (!f) {
                r = -ENOMEM;
                goto out;
        }
        bool v2 = live && live->v2;
        for (size_t i = 0; i < p->n; i++) {
                const struct plan_op *o = &p->ops[i];
                const char *sn = conf_subsys_name(o->subsys);
                const struct live_entry *e = live ? lidx_find(&idx[o->subsys], o->path) : NULL;
                const char *key = o->subsys == CONF_CPU ? "share" : "weight";

                switch (o->type) {
                case PLAN_MKDIR:
                        if (v2)
                                fprintf(f, "create %s\n", o->path);
                        else
                                fprintf(f, "create %s:%s\n", sn, o->path);
                        break;
                case PLAN_ENABLE:
                        fprintf(f, "enable %s controller for %s\n", v2_controllers[o->subsys],
                                o->path);
                        break;
                case PLAN_SET_LIMIT:
                case PLAN_CLEAR_LIMIT:
                        fprintf(f, "%s %s:%s %s", o->type == PLAN_SET_LIMIT ? "set-limit" : "clear-limit",
                                sn, o->path, conf_limit_name(o->limit));
                        if (conf_limit_is_device(o->limit))
                                fprintf(f, " %u:%u", o->major, o->minor);
                        if (o->type == PLAN_SET_LIMIT)
                                fprintf(f, " %" PRId64, o->value);
                        fputs(" (", f);
                        if (o->type == PLAN_SET_LIMIT && o->asked != o->value)
                                fprintf(f, "conf %" PRId64 ", ", o->asked);
                        if (o->was == LIVE_LIMIT_NONE)
                                fputs("was none)\n", f);
                        else if (o->was == LIVE_LIMIT_OTHER)
                                fputs("was another value)\n", f);
                        else
                                fprintf(f, "was %" PRId64 ")\n", o->was);
                        break;
                case PLAN_SET_WEIGHT:
                        if (v2) {
                                fprintf(f, "set %s %s %" PRId64 " (%s %" PRId64, o->path,
                                        cgfs_v2_weight_file(o->subsys), plan_v2_weight(o->subsys, o->value),
                                        key, o->value);
                                if (e && e->weight >= 0)
                                        fprintf(f, ", was %" PRId64, e->weight);
                                fputs(")\n", f);
                        } else {
                                fprintf(f, "set %s:%s %s %" PRId64, sn, o->path, key, o->value);
                                if (e && e->weight >= 0)
                                        fprintf(f, " (was %" PRId64 ")", e->weight);
                                fputc('\n', f);
                        }
                        break;
                case PLAN_RMDIR:
                        if (v2)
                                fprintf(f, "remove %s\n", o->path);
                        else
                                fprintf(f, "remove %s:%s\n", sn, o->path);
                        break;
                }
        }
        for (char **n = p->notes; n && *n; n++)
                fprintf(f, "note: %s\n", *n);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                r = -ENOMEM;
                goto out;
        }
        *ret = buf;
out:
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                free(idx[s].v);
        return r;
}

/* ---- v2 checks ---- */

static int errs_add(struct conf_errors *e, char *path, char *msg) {
        struct conf_error *nv;

        if (!e) {
                free(path);
                free(msg);
                return 0;
        }
        nv = realloc(e->v, (e->n + 1) * sizeof(*nv));
        if (!nv) {
                free(path);
                free(msg);
                return -ENOMEM;
        }
        e->v = nv;
        e->v[e->n++] = (struct conf_error){ .path = path, .msg = msg };
        return 0;
}

/* "blkio.sub_cgroup.b.sub_cgroup.x" for blkio:b/x — the JSON path of the node. */
static int json_path(enum conf_subsys s, const char *path, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fputs(conf_subsys_name(s), f);
        for (const char *p = path; *p;) {
                size_t l = strcspn(p, "/");
                fprintf(f, ".sub_cgroup.%.*s", (int) l, p);
                p += l;
                if (*p == '/')
                        p++;
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int cmp_node_name(const void *a, const void *b) {
        return strcmp((*(const struct conf_node *const *) a)->name,
                      (*(const struct conf_node *const *) b)->name);
}

int plan_check_v2(const struct conf *c, struct conf_errors *errs) {
        const struct conf_node **nodes[_CONF_SUBSYS_MAX] = {};
        size_t nn[_CONF_SUBSYS_MAX] = {}, cap;
        int r = 0, bad = 0;

        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                if (!c->roots[s])
                        continue;
                cap = 0;
                r = collect_nodes(c->roots[s], &nodes[s], &nn[s], &cap);
                if (r < 0)
                        goto out;
                if (nn[s])
                        qsort(nodes[s], nn[s], sizeof(*nodes[s]), cmp_node_name);
        }
        /* Names are unique within a tree: merge the sorted name lists of every pair. */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                for (int t = s + 1; t < _CONF_SUBSYS_MAX; t++)
                        for (size_t i = 0, j = 0; i < nn[s] && j < nn[t];) {
                                const struct conf_node *a = nodes[s][i], *b = nodes[t][j];
                                int k = strcmp(a->name, b->name);

                                if (k < 0) {
                                        i++;
                                        continue;
                                }
                                if (k > 0) {
                                        j++;
                                        continue;
                                }
                                if (strcmp(a->path, b->path) != 0) {
                                        char *jp = NULL, *msg = NULL;
                                        r = json_path(t, b->path, &jp);
                                        if (r < 0)
                                                goto out;
                                        r = xasprintf(&msg,
                                                      "cgroup v2 has one tree: \"%s\" is %s:%s but "
                                                      "%s:%s (the same name must have the same "
                                                      "parents in every tree)",
                                                      a->name, conf_subsys_name(s), a->path,
                                                      conf_subsys_name(t), b->path);
                                        if (r < 0) {
                                                free(jp);
                                                goto out;
                                        }
                                        r = errs_add(errs, jp, msg);
                                        if (r < 0)
                                                goto out;
                                        bad++;
                                }
                                i++;
                                j++;
                        }
        r = bad ? -EINVAL : 0;
out:
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                free(nodes[s]);
        return r;
}

static const struct conf_node *node_find(const struct conf_node *n, const char *name) {
        if (n->name && strcmp(n->name, name) == 0)
                return n;
        for (size_t i = 0; i < n->n_children; i++) {
                const struct conf_node *f = node_find(n->children[i], name);
                if (f)
                        return f;
        }
        return NULL;
}

int plan_check_v2_procs(const struct conf *c, char *const *names, struct conf_errors *errs) {
        int bad = 0, r;

        for (char *const *n = names; n && *n; n++) {
                bool inner = false;

                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        const struct conf_node *f = c->roots[s] ? node_find(c->roots[s], *n) : NULL;
                        if (f && f->n_children > 0)
                                inner = true;
                }
                if (!inner)
                        continue;
                char *p = NULL, *msg = NULL;
                r = xasprintf(&p, "pid_files.%s", *n);
                if (r < 0)
                        return r;
                r = xasprintf(&msg, "cgroup v2 \"no internal processes\": \"%s\" has child "
                                    "cgroups, so it cannot hold processes; map the pid file to "
                                    "a leaf cgroup",
                              *n);
                if (r < 0) {
                        free(p);
                        return r;
                }
                r = errs_add(errs, p, msg);
                if (r < 0)
                        return r;
                bad++;
        }
        return bad ? -EINVAL : 0;
}
