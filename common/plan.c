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

void live_tree_clear(struct live_tree *t) {
        if (!t)
                return;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                for (size_t i = 0; i < t->n[s]; i++)
                        free(t->v[s][i].path);
                free(t->v[s]);
        }
        *t = (struct live_tree){};
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
        if (GREEDY_REALLOC(x->v, x->cap, x->n + 1) < 0)
                return -ENOMEM;
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
        if (GREEDY_REALLOC(b->p.ops, b->cap, b->p.n + 1) < 0)
                return -ENOMEM;
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        b->p.ops[b->p.n++] = (struct plan_op){ .type = t, .subsys = s, .path = p, .value = value };
        return 0;
}

/* Pre-order walk (parents first) collecting the nodes of a subsystem tree, root excluded. */
static int collect_nodes(const struct conf_node *n, const struct conf_node ***v, size_t *len,
                         size_t *cap) {
        int r;

        if (n->parent) {
                if (GREEDY_REALLOC(*v, *cap, *len + 1) < 0)
                        return -ENOMEM;
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
                        fprintf(f, "enable %s controller for %s\n",
                                o->subsys == CONF_CPU ? "cpu" : "io", o->path);
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
        if (!e) {
                free(path);
                free(msg);
                return 0;
        }
        if (GREEDY_REALLOC(e->v, e->cap, e->n + 1) < 0) {
                free(path);
                free(msg);
                return -ENOMEM;
        }
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
        /* Names are unique within a tree: merge the two sorted name lists. */
        for (size_t i = 0, j = 0; i < nn[CONF_CPU] && j < nn[CONF_BLKIO];) {
                const struct conf_node *a = nodes[CONF_CPU][i], *b = nodes[CONF_BLKIO][j];
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
                        r = json_path(CONF_BLKIO, b->path, &jp);
                        if (r < 0)
                                goto out;
                        r = xasprintf(&msg,
                                      "cgroup v2 has one tree: \"%s\" is cpu:%s but blkio:%s "
                                      "(the same name must have the same parents in both trees)",
                                      a->name, a->path, b->path);
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

int plan_check_v2_procs(const struct conf *c, char *const *names, struct conf_errors *errs) {
        int bad = 0, r;

        for (char *const *n = names; n && *n; n++) {
                bool inner = false;

                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        const struct conf_node *f = conf_find(c, (enum conf_subsys) s, *n);
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
