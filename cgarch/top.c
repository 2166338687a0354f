/* top.c — see top.h. Pure: no I/O.
 *
 * A sample is flattened into records (path, figures), one per node of each subsystem tree,
 * sorted by path and merged, so a cgroup's cpu, blkio, memory and pids nodes become one row and
 * the previous sample is found by binary search: O(n log n) for n cgroups. Counters are taken
 * as doubles (cJSON's numbers): beyond 2^53 they lose a few units, nothing a rate over a second
 * notices. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "top.h"
#include "util.h"

enum {
        F_CPU,      /* cumulative ns */
        F_THR,      /* cumulative throttled µs */
        F_READ,     /* cumulative bytes, all devices */
        F_WRITE,
        F_MEM,      /* bytes now */
        F_PIDS,     /* tasks now */
        F_PSI_CPU,  /* cumulative "some" stall µs, per kind */
        F_PSI_IO,
        F_PSI_MEM,
        F_SHARE,    /* conf */
        F_WEIGHT,
        _F_MAX,
};

struct rec {
        char *path; /* owned */
        double v[_F_MAX];
};

struct recs {
        struct rec *v;
        size_t n, cap;
        int err;
};

static void recs_done(struct recs *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->v[i].path);
        free(r->v);
        *r = (struct recs){};
}

static struct rec *recs_add(struct recs *r, const char *path) {
        struct rec *x;

        if (r->err)
                return NULL;
        if (r->n == r->cap) {
                size_t cap = MAX(r->cap * 2, (size_t) 64);
                struct rec *v = realloc(r->v, cap * sizeof(*v));
                if (!v) {
                        r->err = -ENOMEM;
                        return NULL;
                }
                r->v = v;
                r->cap = cap;
        }
        x = &r->v[r->n];
        x->path = strdup(path);
        if (!x->path) {
                r->err = -ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < _F_MAX; i++)
                x->v[i] = NAN;
        r->n++;
        return x;
}

/* Paths in tree order: '/' sorts before every other byte, so "a/b" follows "a" directly (plain
 * strcmp would put "a-b" between them). */
static int path_cmp(const char *a, const char *b) {
        for (;; a++, b++) {
                unsigned ca = *a == '/' ? 1 : *a ? (unsigned char) *a + 1u : 0,
                         cb = *b == '/' ? 1 : *b ? (unsigned char) *b + 1u : 0;
                if (ca != cb)
                        return ca < cb ? -1 : 1;
                if (!ca)
                        return 0;
        }
}

static int rec_cmp(const void *a, const void *b) {
        return path_cmp(((const struct rec *) a)->path, ((const struct rec *) b)->path);
}

/* Sorts and merges records of the same path (a figure known in either is kept). */
static void recs_merge(struct recs *r) {
        size_t k = 0;

        if (r->n == 0)
                return;
        qsort(r->v, r->n, sizeof(*r->v), rec_cmp);
        for (size_t i = 1; i < r->n; i++) {
                if (path_cmp(r->v[k].path, r->v[i].path) == 0) {
                        for (size_t f = 0; f < _F_MAX; f++)
                                if (isnan(r->v[k].v[f]))
                                        r->v[k].v[f] = r->v[i].v[f];
                        free(r->v[i].path);
                        continue;
                }
                r->v[++k] = r->v[i];
        }
        r->n = k + 1;
}

static const struct rec *recs_find(const struct recs *r, const char *path) {
        struct rec key = {.path = (char *) path};
        return r->n ? bsearch(&key, r->v, r->n, sizeof(*r->v), rec_cmp) : NULL;
}

/* A non-negative number, else NAN. */
static double num(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0
                       ? v->valuedouble
                       : NAN;
}

enum tree_kind { TREE_CPU, TREE_BLKIO, TREE_MEMORY, TREE_PIDS, TREE_OTHER, TREE_CONF_CPU,
                 TREE_CONF_BLKIO };

static enum tree_kind kind_of(const char *subsys, bool conf) {
        if (strcmp(subsys, "cpu") == 0)
                return conf ? TREE_CONF_CPU : TREE_CPU;
        if (strcmp(subsys, "blkio") == 0)
                return conf ? TREE_CONF_BLKIO : TREE_BLKIO;
        if (strcmp(subsys, "memory") == 0)
                return TREE_MEMORY;
        if (strcmp(subsys, "pids") == 0)
                return TREE_PIDS;
        return TREE_OTHER;
}

/* One node's figures into rec x. */
static void node_figures(const cJSON *node, enum tree_kind k, struct rec *x) {
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(node, "value"),
                    *conf = cJSON_GetObjectItemCaseSensitive(node, "conf"),
                    *psi = cJSON_GetObjectItemCaseSensitive(node, "pressure"), *dev;
        double rd = 0, wr = 0;
        bool any = false;

        switch (k) {
        case TREE_CPU:
                x->v[F_CPU] = num(value, "usage");
                x->v[F_THR] = num(value, "throttled_usec");
                x->v[F_PSI_CPU] = num(psi, "some_usec");
                break;
        case TREE_BLKIO:
                cJSON_ArrayForEach(dev, value) {
                        double r = num(dev, "Read"), w = num(dev, "Write");
                        if (!cJSON_IsObject(dev))
                                continue;
                        rd += isnan(r) ? 0 : r;
                        wr += isnan(w) ? 0 : w;
                        any = true;
                }
                /* an empty object is "no device counted": zero, not unknown */
                if (any || cJSON_IsObject(value)) {
                        x->v[F_READ] = rd;
                        x->v[F_WRITE] = wr;
                }
                x->v[F_PSI_IO] = num(psi, "some_usec");
                break;
        case TREE_MEMORY:
                x->v[F_MEM] = num(value, "usage");
                x->v[F_PSI_MEM] = num(psi, "some_usec");
                break;
        case TREE_PIDS:
                x->v[F_PIDS] = num(value, "current");
                break;
        case TREE_CONF_CPU:
                x->v[F_SHARE] = num(conf, "share");
                /* DESIGN.md: a conf without share means 1024 */
                if (isnan(x->v[F_SHARE]) && cJSON_IsObject(conf))
                        x->v[F_SHARE] = 1024;
                break;
        case TREE_CONF_BLKIO:
                x->v[F_WEIGHT] = num(conf, "weight");
                break;
        case TREE_OTHER:
                break;
        }
}

#define TOP_MAX_DEPTH 64 /* the conf allows 32 */

static void walk(const cJSON *node, enum tree_kind k, const char *path, unsigned depth,
                 struct recs *out) {
        const cJSON *subs = cJSON_GetObjectItemCaseSensitive(node, "sub_cgroup"), *c;
        struct rec *x;

        if (!cJSON_IsObject(node) || depth > TOP_MAX_DEPTH)
                return;
        x = recs_add(out, path);
        if (!x)
                return;
        node_figures(node, k, x);
        cJSON_ArrayForEach(c, subs) {
                _cleanup_free_ char *p = NULL;

                if (!c->string || !*c->string || strchr(c->string, '/'))
                        continue; /* not a cgroup name */
                if (xasprintf(&p, "%s%s%s", path, *path ? "/" : "", c->string) < 0) {
                        out->err = -ENOMEM;
                        return;
                }
                walk(c, k, p, depth + 1, out);
        }
}

static int collect(const cJSON *doc, bool conf, struct recs *out) {
        const cJSON *s;

        cJSON_ArrayForEach(s, doc)
                if (s->string && cJSON_IsObject(s))
                        walk(s, kind_of(s->string, conf), "", 0, out);
        if (out->err)
                return out->err;
        recs_merge(out);
        return 0;
}

/* (b - a) per second, a counter's rate; NAN when unknown or when it went back (a reset). */
static double rate(double a, double b, double seconds) {
        if (isnan(a) || isnan(b) || b < a || seconds <= 0)
                return NAN;
        return (b - a) / seconds;
}

/* A conf number as shown: -1 unknown; clamped (a validated conf is far below, a hostile one
 * must not overflow the conversion). */
static int64_t conf_int(double v) {
        return isnan(v) ? -1 : v > 1e15 ? (int64_t) 1e15 : (int64_t) v;
}

void top_view_done(struct top_view *v) {
        for (size_t i = 0; i < v->n; i++)
                free(v->rows[i].path);
        free(v->rows);
        *v = (struct top_view){};
}

int top_compute(const cJSON *prev, int64_t prev_slot, const cJSON *cur, int64_t cur_slot,
                const cJSON *conf, struct top_view *ret) {
        struct recs a = {}, b = {}, c = {};
        struct top_view v = {.slot = cur_slot, .seconds = (double) (cur_slot - prev_slot)};
        size_t i = 0, j = 0;
        int r;

        if (!cJSON_IsObject(cur) || cur_slot <= prev_slot)
                return -EINVAL;
        r = collect(prev, false, &a);
        if (r >= 0)
                r = collect(cur, false, &b);
        if (r >= 0 && cJSON_IsObject(conf))
                r = collect(conf, true, &c);
        if (r >= 0) {
                v.rows = calloc(b.n + c.n + 1, sizeof(*v.rows));
                if (!v.rows)
                        r = -ENOMEM;
        }
        /* rows: the union of the current sample's cgroups and the conf's, in path order */
        while (r >= 0 && (i < b.n || j < c.n)) {
                int cmp = i >= b.n ? 1 : j >= c.n ? -1 : path_cmp(b.v[i].path, c.v[j].path);
                const struct rec *x = cmp <= 0 ? &b.v[i] : NULL, *w = cmp >= 0 ? &c.v[j] : NULL;
                const struct rec *p = recs_find(&a, x ? x->path : w->path);
                struct top_row *row = &v.rows[v.n];
                double psi[3], best = NAN;
                char kind = 0;

                *row = (struct top_row){.path = strdup(x ? x->path : w->path)};
                if (!row->path) {
                        r = -ENOMEM;
                        break;
                }
                v.n++;
                row->cpu_pct = row->io_read = row->io_write = row->mem = row->pids = NAN;
                row->pressure = row->throttled_pct = NAN;
                row->share = row->weight = -1;
                if (x) {
                        const double *pv = p ? p->v : NULL;
                        row->cpu_pct = pv ? rate(pv[F_CPU], x->v[F_CPU], v.seconds) / 1e7 : NAN;
                        row->throttled_pct =
                                pv ? rate(pv[F_THR], x->v[F_THR], v.seconds) / 1e4 : NAN;
                        row->io_read = pv ? rate(pv[F_READ], x->v[F_READ], v.seconds) : NAN;
                        row->io_write = pv ? rate(pv[F_WRITE], x->v[F_WRITE], v.seconds) : NAN;
                        row->mem = x->v[F_MEM];
                        row->pids = x->v[F_PIDS];
                        for (int k = 0; k < 3; k++) {
                                psi[k] = pv ? rate(pv[F_PSI_CPU + k], x->v[F_PSI_CPU + k],
                                                   v.seconds) / 1e4
                                            : NAN;
                                if (!isnan(psi[k]) && (isnan(best) || psi[k] > best)) {
                                        best = psi[k];
                                        kind = "cim"[k];
                                }
                        }
                        row->pressure = best;
                        row->pressure_kind = kind;
                }
                if (w) {
                        row->share = conf_int(w->v[F_SHARE]);
                        row->weight = conf_int(w->v[F_WEIGHT]);
                }
                if (cmp <= 0)
                        i++;
                if (cmp >= 0)
                        j++;
        }
        recs_done(&a);
        recs_done(&b);
        recs_done(&c);
        if (r < 0) {
                top_view_done(&v);
                return r;
        }
        *ret = v;
        return 0;
}

static enum top_sort sort_key;

static double sort_value(const struct top_row *r) {
        switch (sort_key) {
        case TOP_SORT_CPU:
                return r->cpu_pct;
        case TOP_SORT_IO:
                return isnan(r->io_read) && isnan(r->io_write)
                               ? NAN
                               : (isnan(r->io_read) ? 0 : r->io_read) +
                                         (isnan(r->io_write) ? 0 : r->io_write);
        case TOP_SORT_MEMORY:
                return r->mem;
        case TOP_SORT_PRESSURE:
                return r->pressure;
        default:
                return NAN;
        }
}

static int row_cmp(const void *pa, const void *pb) {
        const struct top_row *a = pa, *b = pb;
        double x, y;

        if (sort_key != TOP_SORT_TREE) {
                x = sort_value(a);
                y = sort_value(b);
                if (isnan(x) != isnan(y))
                        return isnan(x) ? 1 : -1;
                if (!isnan(x) && x != y)
                        return x > y ? -1 : 1;
        }
        return path_cmp(a->path, b->path);
}

void top_sort(struct top_view *v, enum top_sort key) {
        sort_key = key; /* qsort has no user data; one thread */
        if (v->n > 1)
                qsort(v->rows, v->n, sizeof(*v->rows), row_cmp);
}

int top_sort_from_string(const char *s) {
        static const char *const names[_TOP_SORT_MAX] = {"cpu", "io", "memory", "pressure",
                                                         "tree"};
        for (int i = 0; i < _TOP_SORT_MAX; i++)
                if (strcmp(s, names[i]) == 0 || (s[0] == names[i][0] && s[1] == 0))
                        return i;
        return -EINVAL;
}

int top_sort_from_key(int ch) {
        switch (ch) {
        case 'c':
                return TOP_SORT_CPU;
        case 'i':
                return TOP_SORT_IO;
        case 'm':
                return TOP_SORT_MEMORY;
        case 'p':
                return TOP_SORT_PRESSURE;
        case 't':
                return TOP_SORT_TREE;
        default:
                return -1;
        }
}

const char *top_sort_name(enum top_sort s) {
        static const char *const names[_TOP_SORT_MAX] = {"cpu", "io", "memory", "pressure",
                                                         "tree"};
        return (unsigned) s < _TOP_SORT_MAX ? names[s] : "?";
}

void top_format_bytes(double v, char *buf, size_t size) {
        static const char units[] = "BKMGTPE";
        unsigned u = 0;

        if (isnan(v) || v < 0) {
                snprintf(buf, size, "-");
                return;
        }
        if (v < 1024) {
                snprintf(buf, size, "%.0f%s", v, v == 0 ? "" : "B");
                return;
        }
        while (v >= 1024 && u + 1 < sizeof(units) - 1) {
                v /= 1024;
                u++;
        }
        if (u == sizeof(units) - 2 && v >= 999.5) /* beyond exbibytes: hostile; fit a column */
                snprintf(buf, size, ">999%c", units[u]);
        else
                snprintf(buf, size, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* A number wider than its column (only from hostile samples) becomes ">999..." of the width. */
static void fit(char *buf, size_t size, unsigned width) {
        if (strlen(buf) <= width || width < 2 || width >= size)
                return;
        buf[0] = '>';
        memset(buf + 1, '9', width - 1);
        buf[width] = 0;
}

static void fmt_pct(double v, unsigned width, char *buf, size_t size) {
        if (isnan(v))
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, v >= 999.5 ? "%.0f" : "%.1f", v);
        fit(buf, size, width);
}

static void fmt_int(double v, unsigned width, char *buf, size_t size) {
        if (isnan(v) || v < 0)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%.0f", v);
        fit(buf, size, width);
}

/* A cgroup name from a sample is not trusted: a control character would drive the terminal
 * (an escape sequence) or break the table, and a multibyte one its columns. Shown as '?'. */
static void sanitize(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
                        *s = '?';
}

#define TOP_MIN_PATH 12
/* CPU% THR% READ/s WRITE/s MEMORY TASKS PSI% SHARE IOW, each right-aligned, one space apart */
#define TOP_COLS_FMT " %6s %5s %7s %7s %7s %5s %6s %5s %4s"
#define TOP_COLS_WIDTH (6 + 5 + 7 + 7 + 7 + 5 + 6 + 5 + 4 + 9)

int top_format(const struct top_view *v, unsigned width, size_t max_rows, struct strbuf *out) {
        size_t pw = strlen("CONTROL GROUP"), n = max_rows ? MIN(max_rows, v->n) : v->n;

        if (width == 0) {
                for (size_t i = 0; i < n; i++)
                        pw = MAX(pw, strlen(v->rows[i].path) + 1);
        } else
                pw = width > TOP_COLS_WIDTH + TOP_MIN_PATH ? width - TOP_COLS_WIDTH
                                                           : TOP_MIN_PATH;
        (void) strbuf_printf(out, "%-*s" TOP_COLS_FMT "\n", (int) pw, "CONTROL GROUP", "CPU%",
                             "THR%", "READ/s", "WRITE/s", "MEMORY", "TASKS", "PSI%", "SHARE",
                             "IOW");
        for (size_t i = 0; i < n; i++) {
                const struct top_row *r = &v->rows[i];
                char cpu[32], thr[32], rd[16], wr[16], mem[16], pids[32], psi[40], sh[32], w[32];
                _cleanup_free_ char *path = NULL;
                size_t len;

                if (xasprintf(&path, "/%s", r->path) < 0)
                        return -ENOMEM;
                sanitize(path);
                len = strlen(path);
                fmt_pct(r->cpu_pct, 6, cpu, sizeof(cpu));
                fmt_pct(r->throttled_pct, 5, thr, sizeof(thr));
                top_format_bytes(r->io_read, rd, sizeof(rd));
                top_format_bytes(r->io_write, wr, sizeof(wr));
                top_format_bytes(r->mem, mem, sizeof(mem));
                fmt_int(r->pids, 5, pids, sizeof(pids));
                fmt_pct(r->pressure, r->pressure_kind ? 5 : 6, psi, sizeof(psi));
                if (r->pressure_kind && !isnan(r->pressure))
                        snprintf(psi + strlen(psi), sizeof(psi) - strlen(psi), "%c",
                                 r->pressure_kind);
                fmt_int(r->share < 0 ? NAN : (double) r->share, 5, sh, sizeof(sh));
                fmt_int(r->weight < 0 ? NAN : (double) r->weight, 4, w, sizeof(w));
                if (len > pw) /* keep the tail, the most specific part */
                        (void) strbuf_printf(out, "...%s", path + len - (pw - 3));
                else
                        (void) strbuf_printf(out, "%-*s", (int) pw, path);
                (void) strbuf_printf(out, TOP_COLS_FMT "\n", cpu, thr, rd, wr, mem, pids, psi, sh,
                                     w);
        }
        return out->oom ? -ENOMEM : 0;
}

int top_host_from_answer(const cJSON *msg, const char *fallback, char *buf, size_t size) {
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(msg, "host");

        if (cJSON_IsString(host) && cJSON_GetObjectItemCaseSensitive(msg, "redis_prefix")) {
                if (*host->valuestring) {
                        /* it goes to the terminal: no control sequences from the server */
                        snprintf(buf, size, "%s", host->valuestring);
                        for (char *p = buf; *p; p++)
                                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                                        *p = '?';
                        return 1;
                }
        } else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "error")))
                return -EINVAL;
        snprintf(buf, size, "%s", fallback);
        return 0;
}
