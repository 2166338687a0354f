/* conf.c — the arch conf model: strict parse + validation of the JSON text (cJSON), the model
 * (struct conf), canonical JSON, name lookups and cgexec arguments. Pure; never logs.
 *
 * The validator walks the cJSON tree once and collects every problem with its JSON path.
 * Paths of the walk live on the stack (struct jpath) and are only formatted when a problem is
 * reported, so a valid conf costs one allocation per node for its name and path and nothing
 * more. Duplicate names are found with one hash table per subsystem, kept after the parse for
 * conf_find(). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "plan.h" /* cgfs.h needs its types declared first */
#include "cgfs.h"
#include "strbuf.h"
#include "util.h"

static const char *const subsys_names[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "cpu",
        [CONF_BLKIO] = "blkio",
        [CONF_MEMORY] = "memory",
        [CONF_PIDS] = "pids",
};
/* The weight key of a subsystem; NULL: it has none (memory, pids). */
static const char *const subsys_keys[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "share",
        [CONF_BLKIO] = "weight",
};
/* What each subsystem's "conf" takes, for messages. */
static const char *const subsys_all_keys[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "share, quota_percent",
        [CONF_BLKIO] = "weight, read_bps, write_bps, read_iops, write_iops",
        [CONF_MEMORY] = "max, high, low",
        [CONF_PIDS] = "max",
};
static const int64_t weight_min[_CONF_SUBSYS_MAX] = {[CONF_CPU] = 2, [CONF_BLKIO] = 10};
static const int64_t weight_max[_CONF_SUBSYS_MAX] = {[CONF_CPU] = 262144, [CONF_BLKIO] = 1000};
/* The weight a node gets when it has a "conf" object without the key; -1: not written. */
static const int64_t weight_default[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = 1024, [CONF_BLKIO] = -1, [CONF_MEMORY] = -1, [CONF_PIDS] = -1};

static const struct {
        const char *name;
        enum conf_subsys subsys;
        int64_t min, max;
} limit_keys[_CONF_LIMIT_MAX] = {
        [CONF_LIMIT_CPU_QUOTA] = {"quota_percent", CONF_CPU, 1, CONF_QUOTA_PERCENT_MAX},
        [CONF_LIMIT_MEM_MAX] = {"max", CONF_MEMORY, CONF_MEMORY_MIN, CONF_MEMORY_MAX},
        [CONF_LIMIT_MEM_HIGH] = {"high", CONF_MEMORY, CONF_MEMORY_MIN, CONF_MEMORY_MAX},
        [CONF_LIMIT_MEM_LOW] = {"low", CONF_MEMORY, CONF_MEMORY_MIN, CONF_MEMORY_MAX},
        [CONF_LIMIT_PIDS_MAX] = {"max", CONF_PIDS, 1, CONF_PIDS_MAX},
        [CONF_LIMIT_READ_BPS] = {"read_bps", CONF_BLKIO, 1, CONF_BPS_MAX},
        [CONF_LIMIT_WRITE_BPS] = {"write_bps", CONF_BLKIO, 1, CONF_BPS_MAX},
        [CONF_LIMIT_READ_IOPS] = {"read_iops", CONF_BLKIO, 1, CONF_IOPS_MAX},
        [CONF_LIMIT_WRITE_IOPS] = {"write_iops", CONF_BLKIO, 1, CONF_IOPS_MAX},
};

const char *conf_limit_name(enum conf_limit l) {
        if ((unsigned) l >= _CONF_LIMIT_MAX)
                return NULL;
        return limit_keys[l].name;
}

enum conf_subsys conf_limit_subsys(enum conf_limit l) {
        if ((unsigned) l >= _CONF_LIMIT_MAX)
                return _CONF_SUBSYS_MAX;
        return limit_keys[l].subsys;
}

/* The limit called `key` in subsystem s, or -1. */
static int limit_from_key(enum conf_subsys s, const char *key) {
        for (int l = 0; l < _CONF_LIMIT_MAX; l++)
                if (limit_keys[l].subsys == s && strcmp(limit_keys[l].name, key) == 0)
                        return l;
        return -1;
}

static bool parse_decimal(const char *s, size_t len, unsigned long max, unsigned *ret) {
        unsigned long v = 0;

        if (len == 0 || len > 7 || (len > 1 && s[0] == '0'))
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        if (v > max)
                return false;
        *ret = (unsigned) v;
        return true;
}

int conf_device_parse(const char *key, unsigned *ret_major, unsigned *ret_minor) {
        const char *colon;
        size_t l;

        if (!key)
                return -EINVAL;
        l = strlen(key);
        if (l == 0 || l > CONF_DEVICE_MAX)
                return -EINVAL;
        colon = strchr(key, ':');
        if (key[0] != '/') {
                unsigned ma, mi;
                /* dev_t's split on Linux: 12 bits of major, 20 of minor */
                if (!colon || !parse_decimal(key, (size_t) (colon - key), 4095, &ma) ||
                    !parse_decimal(colon + 1, strlen(colon + 1), (1ul << 20) - 1, &mi))
                        return -EINVAL;
                if (ret_major)
                        *ret_major = ma;
                if (ret_minor)
                        *ret_minor = mi;
                return 1;
        }
        if (strncmp(key, "/dev/", 5) != 0 || l == 5 || key[l - 1] == '/')
                return -EINVAL;
        for (size_t i = 0; i < l; i++) {
                unsigned char c = (unsigned char) key[i];
                if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"')
                        return -EINVAL;
        }
        if (strstr(key, "//") || strstr(key, "/../") || strstr(key, "/./") ||
            (l >= 3 && strcmp(key + l - 3, "/..") == 0) || (l >= 2 && strcmp(key + l - 2, "/.") == 0))
                return -EINVAL;
        return 0;
}

const char *conf_subsys_name(enum conf_subsys s) {
        if ((unsigned) s >= _CONF_SUBSYS_MAX)
                return NULL;
        return subsys_names[s];
}

int conf_subsys_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                if (strcmp(name, subsys_names[s]) == 0)
                        return s;
        return -EINVAL;
}

/* ---- names ---- */

bool conf_name_is_control_file(const char *name) {
        return cgfs_name_is_control_file(name); /* cgfs knows the cgroup file names */
}

static bool name_char_ok(char c, bool first) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
                return true;
        return !first && (c == '.' || c == '-');
}

/* NULL if the name is fine, else what is wrong with it. */
static const char *name_problem(const char *name) {
        size_t l = strlen(name);

        if (l == 0)
                return "empty cgroup name";
        if (l > CONF_NAME_MAX)
                return "cgroup name longer than 255 bytes";
        for (size_t i = 0; i < l; i++)
                if (!name_char_ok(name[i], i == 0))
                        return "invalid cgroup name (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]*)";
        if (conf_name_is_control_file(name))
                return "invalid cgroup name: it is a cgroup control-file name";
        return NULL;
}

bool conf_name_is_valid(const char *name) {
        return name && !name_problem(name);
}

/* ---- the name index: open addressing, linear probing, power-of-two capacity ---- */

struct conf_index {
        struct conf_node **slots;
        size_t cap;
        size_t n;
};

static uint64_t hash_seed(void) {
        static uint64_t seed;
        /* The kernel's 16 random bytes for this process: names come from outside, so the table
         * should not be trivially floodable with colliding names. */
        if (!seed) {
                const unsigned char *r = (const unsigned char *) getauxval(AT_RANDOM);
                uint64_t s = 0;
                if (r)
                        memcpy(&s, r + 8, sizeof(s));
                seed = s | 1;
        }
        return seed;
}

static uint64_t hash_name(const char *s) {
        uint64_t h = 14695981039346656037ULL ^ hash_seed();
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h;
}

static struct conf_index *index_free(struct conf_index *x) {
        if (!x)
                return NULL;
        free(x->slots);
        return mfree(x);
}

static int index_grow(struct conf_index *x, size_t want) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        while (cap < want)
                cap *= 2;
        struct conf_node **slots = calloc(cap, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < x->cap; i++) {
                struct conf_node *n = x->slots[i];
                if (!n)
                        continue;
                size_t j = hash_name(n->name) & (cap - 1);
                while (slots[j])
                        j = (j + 1) & (cap - 1);
                slots[j] = n;
        }
        free(x->slots);
        x->slots = slots;
        x->cap = cap;
        return 0;
}

static struct conf_node *index_get(const struct conf_index *x, const char *name) {
        if (!x || x->cap == 0)
                return NULL;
        for (size_t j = hash_name(name) & (x->cap - 1);; j = (j + 1) & (x->cap - 1)) {
                struct conf_node *n = x->slots[j];
                if (!n)
                        return NULL;
                if (strcmp(n->name, name) == 0)
                        return n;
        }
}

/* Adds node unless its name is there: returns 0 and sets *existing to the holder, or 1 if added. */
static int index_add(struct conf_index *x, struct conf_node *node, struct conf_node **existing) {
        int r;

        if ((x->n + 1) * 4 > x->cap * 3) { /* load factor <= 3/4 */
                r = index_grow(x, 0);
                if (r < 0)
                        return r;
        }
        for (size_t j = hash_name(node->name) & (x->cap - 1);; j = (j + 1) & (x->cap - 1)) {
                struct conf_node *n = x->slots[j];
                if (!n) {
                        x->slots[j] = node;
                        x->n++;
                        return 1;
                }
                if (strcmp(n->name, node->name) == 0) {
                        *existing = n;
                        return 0;
                }
        }
}

/* ---- errors ---- */

void conf_errors_clear(struct conf_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++) {
                free(e->v[i].path);
                free(e->v[i].msg);
        }
        free(e->v);
        e->v = NULL;
        e->n = e->cap = 0;
}

int conf_errors_format(const struct conf_errors *e, int64_t version, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; e && i < e->n; i++) {
                if (i > 0)
                        fputc('\n', f);
                if (version >= 0)
                        fprintf(f, "version %" PRId64 ": ", version);
                if (e->v[i].path && e->v[i].path[0])
                        fprintf(f, "%s: ", e->v[i].path);
                fputs(e->v[i].msg ? e->v[i].msg : "(null)", f);
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* A JSON path under construction: a chain of keys on the walker's stack. */
struct jpath {
        const struct jpath *parent;
        const char *key;
};

/* Keys longer than this are cut in messages; unprintable bytes are shown as \xNN so a hostile
 * name cannot forge log lines. */
#define JPATH_KEY_SHOWN 64

static void jpath_put_key(FILE *f, const char *k) {
        /* A key with a dot, quote or space (or none at all) is quoted: cpu.sub_cgroup."a.b" */
        bool quote = !*k || strpbrk(k, ".\" ");
        size_t i = 0;

        if (quote)
                fputc('"', f);
        for (; k[i] && i < JPATH_KEY_SHOWN; i++) {
                unsigned char c = (unsigned char) k[i];
                if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        if (k[i])
                fputs("...", f);
        if (quote)
                fputc('"', f);
}

static int jpath_format(const struct jpath *jp, char **ret) {
        const struct jpath *chain[128];
        size_t n = 0;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        for (const struct jpath *p = jp; p; p = p->parent)
                if (n < ELEMENTSOF(chain))
                        chain[n++] = p;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        while (n > 0) {
                n--;
                jpath_put_key(f, chain[n]->key);
                if (n > 0)
                        fputc('.', f);
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* One number literal of the text, in document order (cJSON keeps only a double). */
struct numtok {
        const char *text;
        size_t len;
        bool integer; /* -?(0|[1-9][0-9]*) */
        bool overflow;
        int64_t value;
};

struct parser {
        struct conf *conf;
        struct conf_errors *errs; /* may be NULL: then problems are only counted */
        size_t n_listed;          /* listed into errs by this parse */
        size_t n_problems;        /* all found */
        int oom;                  /* -ENOMEM once an allocation failed */
        bool building;            /* still allocating nodes (false once a limit is hit) */
        bool too_many_nodes, too_many_path_bytes;
        size_t n_nodes;    /* JSON nodes seen, built or not */
        size_t path_bytes; /* bytes allocated for node paths */
        struct numtok *nums;
        size_t n_nums;
        size_t n_objects; /* '{' in the text: bounds the node count, sizes the name index */
        bool nums_ok;     /* the literal list matches cJSON's numbers one to one */
        bool nul_escape;  /* a string holds \u0000 */
};

_printf_(3, 4) static void problem(struct parser *p, const struct jpath *jp, const char *fmt, ...) {
        char *path = NULL, *msg = NULL;
        va_list ap;
        int r;

        p->n_problems++;
        if (!p->errs || p->n_listed >= CONF_MAX_ERRORS)
                return;
        if (jpath_format(jp, &path) < 0)
                goto oom;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                goto oom;
        }
        if (GREEDY_REALLOC(p->errs->v, p->errs->cap, p->errs->n + 1) < 0)
                goto oom;
        p->errs->v[p->errs->n++] = (struct conf_error){.path = path, .msg = msg};
        p->n_listed++;
        return;
oom:
        free(path);
        free(msg);
        p->oom = -ENOMEM;
}

static const char *json_type_name(const cJSON *item) {
        switch (item->type & 0xff) {
        case cJSON_False:
        case cJSON_True:
                return "a boolean";
        case cJSON_NULL:
                return "null";
        case cJSON_Number:
                return "a number";
        case cJSON_String:
                return "a string";
        case cJSON_Array:
                return "an array";
        case cJSON_Object:
                return "an object";
        default:
                return "an unknown JSON type";
        }
}

/* ---- number literals ---- */

static bool numtok_char(char c) {
        return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

static void numtok_classify(struct numtok *t) {
        const char *s = t->text;
        size_t i = 0, l = t->len;
        bool neg = false;
        uint64_t v = 0, limit;

        t->integer = false;
        t->overflow = false;
        if (i < l && s[i] == '-') {
                neg = true;
                i++;
        }
        if (i >= l)
                return;
        if (s[i] == '0' && i + 1 < l)
                return; /* leading zero, or 0.5, 0e1 */
        limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        for (; i < l; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return;
                if (!t->overflow) {
                        unsigned d = (unsigned) (s[i] - '0');
                        if (v > (limit - d) / 10)
                                t->overflow = true;
                        else
                                v = v * 10 + d;
                }
        }
        t->integer = true;
        if (!t->overflow)
                t->value = neg ? (int64_t) (0 - v) : (int64_t) v;
}

/* Lists the number literals outside strings, and measures the bracket nesting, so that a text
 * nested deeper than cJSON allows gets a message saying so rather than "not valid JSON". */
static int scan_text(struct parser *p, const char *s, size_t len, size_t *ret_depth) {
        size_t cap = 0, depth = 0, max_depth = 0;
        bool in_str = false, esc = false;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_str) {
                        if (esc) {
                                esc = false;
                                /* cJSON would cut the string there: "a\u0000/x" would read "a" */
                                if (c == 'u' && i + 4 < len && memcmp(s + i + 1, "0000", 4) == 0)
                                        p->nul_escape = true;
                        } else if (c == '\\')
                                esc = true;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c == '"')
                        in_str = true;
                else if (c == '{' || c == '[') {
                        p->n_objects += c == '{';
                        if (++depth > max_depth)
                                max_depth = depth;
                } else if (c == '}' || c == ']') {
                        if (depth > 0)
                                depth--;
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                        size_t j = i;
                        while (j < len && numtok_char(s[j]))
                                j++;
                        if (GREEDY_REALLOC(p->nums, cap, p->n_nums + 1) < 0)
                                return -ENOMEM;
                        p->nums[p->n_nums] = (struct numtok){.text = s + i, .len = j - i};
                        numtok_classify(&p->nums[p->n_nums]);
                        p->n_nums++;
                        i = j - 1;
                }
        }
        *ret_depth = max_depth;
        return 0;
}

/* Gives each cJSON number the index of its literal in valueint (which nothing else reads: the
 * tree is ours and freed after the parse). Document order is the same on both sides. */
static void number_link(const cJSON *item, size_t *idx) {
        for (cJSON *c = item->child; c; c = c->next) {
                if (cJSON_IsNumber(c)) {
                        c->valueint = *idx < INT_MAX ? (int) *idx : -1;
                        (*idx)++;
                } else if (c->child)
                        number_link(c, idx);
        }
}

enum { NUM_OK, NUM_NOT_INTEGER, NUM_OVERFLOW };

/* Reads a cJSON number as an exact integer. */
static int number_get(const struct parser *p, const cJSON *item, int64_t *ret) {
        if (p->nums_ok && item->valueint >= 0 && (size_t) item->valueint < p->n_nums) {
                const struct numtok *t = &p->nums[item->valueint];
                if (!t->integer)
                        return NUM_NOT_INTEGER;
                if (t->overflow)
                        return NUM_OVERFLOW;
                *ret = t->value;
                return NUM_OK;
        }
        /* Fallback on cJSON's double; only reached if the literal scan disagreed with cJSON. */
        double d = item->valuedouble;
        if (!(d >= -9.2e18 && d <= 9.2e18))
                return NUM_OVERFLOW;
        if (d != (double) (int64_t) d)
                return NUM_NOT_INTEGER;
        *ret = (int64_t) d;
        return NUM_OK;
}

/* The number as written, for messages (cut after 32 bytes). */
static const char *number_shown(const struct parser *p, const cJSON *item, char *buf, size_t size) {
        if (p->nums_ok && item->valueint >= 0 && (size_t) item->valueint < p->n_nums) {
                const struct numtok *t = &p->nums[item->valueint];
                snprintf(buf, size, "%.*s%s", (int) MIN(t->len, (size_t) 32), t->text,
                         t->len > 32 ? "..." : "");
        } else
                snprintf(buf, size, "%.17g", item->valuedouble);
        return buf;
}

/* An integer in min..max, or a problem reported at kp (and false). */
static bool integer_in_range(struct parser *p, const struct jpath *kp, const cJSON *c, int64_t min,
                             int64_t max, int64_t *ret) {
        char shown[40];
        int64_t v = 0;

        if (!cJSON_IsNumber(c)) {
                problem(p, kp, "must be an integer, not %s", json_type_name(c));
                return false;
        }
        switch (number_get(p, c, &v)) {
        case NUM_NOT_INTEGER:
                problem(p, kp, "%s is not an integer", number_shown(p, c, shown, sizeof(shown)));
                return false;
        case NUM_OVERFLOW:
                problem(p, kp, "%s out of range %" PRId64 "..%" PRId64,
                        number_shown(p, c, shown, sizeof(shown)), min, max);
                return false;
        }
        if (v < min || v > max) {
                problem(p, kp, "%" PRId64 " out of range %" PRId64 "..%" PRId64, v, min, max);
                return false;
        }
        *ret = v;
        return true;
}

/* ---- the walk ---- */

static struct conf_node *node_free(struct conf_node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_children; i++)
                node_free(n->children[i]);
        free(n->children);
        free(n->name);
        free(n->path);
        if (n->limits) {
                for (size_t i = 0; i < n->limits->n_devs; i++)
                        free(n->limits->devs[i].dev);
                free(n->limits->devs);
                free(n->limits);
        }
        return mfree(n);
}

struct conf *conf_free(struct conf *c) {
        if (!c)
                return NULL;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                node_free(c->roots[s]);
                index_free(c->index[s]);
        }
        return mfree(c);
}


static void parse_children(struct parser *p, enum conf_subsys s, struct conf_node *parent,
                           cJSON *obj, const struct jpath *jp, unsigned depth);

/* The node's limits, made on first use; NULL after an allocation failure (p->oom set). */
static struct conf_limits *node_limits(struct parser *p, struct conf_node *node) {
        if (node->limits)
                return node->limits;
        node->limits = calloc(1, sizeof(*node->limits));
        if (!node->limits) {
                p->oom = -ENOMEM;
                return NULL;
        }
        for (int l = 0; l < _CONF_LIMIT_MAX; l++)
                node->limits->v[l] = -1;
        return node->limits;
}

/* {"<device>": N, ...} of a blkio limit; entries go to node (if any) in conf order. */
static void parse_device_map(struct parser *p, enum conf_limit l, struct conf_node *node,
                             const cJSON *obj, const struct jpath *jp) {
        if (!cJSON_IsObject(obj)) {
                problem(p, jp, "must be an object {\"<device>\": N}, not %s", json_type_name(obj));
                return;
        }
        for (const cJSON *c = obj->child; c; c = c->next) {
                struct jpath kp = {jp, c->string};
                struct conf_limits *lim;
                struct conf_dev_limit *nv;
                int64_t v = 0;
                bool dup = false;

                if (conf_device_parse(c->string, NULL, NULL) < 0) {
                        problem(p, &kp, "not a block device: a path /dev/... or MAJ:MIN "
                                        "(e.g. \"/dev/sda\", \"8:0\")");
                        continue;
                }
                for (const cJSON *d = obj->child; d != c && !dup; d = d->next)
                        dup = strcmp(d->string, c->string) == 0;
                if (dup) {
                        problem(p, &kp, "duplicate key");
                        continue;
                }
                if (!integer_in_range(p, &kp, c, limit_keys[l].min, limit_keys[l].max, &v))
                        continue;
                if (!node || !(lim = node_limits(p, node)))
                        continue;
                nv = realloc(lim->devs, (lim->n_devs + 1) * sizeof(*nv));
                if (!nv) {
                        p->oom = -ENOMEM;
                        return;
                }
                lim->devs = nv;
                nv[lim->n_devs] = (struct conf_dev_limit){.limit = l, .value = v,
                                                          .dev = strdup(c->string)};
                if (!nv[lim->n_devs].dev) {
                        p->oom = -ENOMEM;
                        return;
                }
                lim->n_devs++;
        }
}

static void parse_node_conf(struct parser *p, enum conf_subsys s, struct conf_node *node,
                            const cJSON *obj, const struct jpath *jp) {
        bool seen_weight = false, seen[_CONF_LIMIT_MAX] = {};

        if (!cJSON_IsObject(obj)) {
                problem(p, jp, "must be an object, not %s", json_type_name(obj));
                return;
        }
        if (node)
                node->weight = weight_default[s];
        for (const cJSON *c = obj->child; c; c = c->next) {
                struct jpath kp = {jp, c->string};
                struct conf_limits *lim;
                int64_t v = 0;
                int l;

                if (subsys_keys[s] && strcmp(c->string, subsys_keys[s]) == 0) {
                        if (seen_weight) {
                                problem(p, &kp, "duplicate key");
                                continue;
                        }
                        seen_weight = true;
                        if (!integer_in_range(p, &kp, c, weight_min[s], weight_max[s], &v))
                                continue;
                        if (node)
                                node->weight = v;
                        continue;
                }
                l = limit_from_key(s, c->string);
                if (l < 0) {
                        problem(p, &kp, "unknown key (%s takes: %s)", subsys_names[s],
                                subsys_all_keys[s]);
                        continue;
                }
                if (seen[l]) {
                        problem(p, &kp, "duplicate key");
                        continue;
                }
                seen[l] = true;
                if (conf_limit_is_device(l)) {
                        parse_device_map(p, l, node, c, &kp);
                        continue;
                }
                if (!integer_in_range(p, &kp, c, limit_keys[l].min, limit_keys[l].max, &v))
                        continue;
                if (node && (lim = node_limits(p, node)))
                        lim->v[l] = v;
        }
}

static void parse_node(struct parser *p, enum conf_subsys s, struct conf_node *node, cJSON *obj,
                       const struct jpath *jp, unsigned depth) {
        bool seen_conf = false, seen_sub = false;

        if (!cJSON_IsObject(obj)) {
                problem(p, jp, "must be an object, not %s", json_type_name(obj));
                return;
        }
        for (cJSON *c = obj->child; c; c = c->next) {
                struct jpath kp = {jp, c->string};

                if (strcmp(c->string, "conf") == 0) {
                        if (seen_conf) {
                                problem(p, &kp, "duplicate key");
                                continue;
                        }
                        seen_conf = true;
                        if (depth == 0)
                                problem(p, &kp, "the subsystem root takes no conf");
                        else
                                parse_node_conf(p, s, node, c, &kp);
                } else if (strcmp(c->string, "sub_cgroup") == 0) {
                        if (seen_sub) {
                                problem(p, &kp, "duplicate key");
                                continue;
                        }
                        seen_sub = true;
                        parse_children(p, s, node, c, &kp, depth + 1);
                } else
                        problem(p, &kp, "unknown key (allowed: %s)",
                                depth == 0 ? "sub_cgroup" : "conf, sub_cgroup");
        }
}

/* The JSON path of a node already in the model, e.g. "cpu.sub_cgroup.a.sub_cgroup.b" (its
 * names are valid, so nothing needs escaping); cut to the buffer. */
static const char *existing_jpath(enum conf_subsys s, const struct conf_node *n, char *buf,
                                  size_t size) {
        FILE *f = fmemopen(buf, size, "w");

        if (!f)
                return n->path;
        fprintf(f, "%s", subsys_names[s]);
        for (const char *c = n->path; *c;) {
                size_t l = strcspn(c, "/");
                fprintf(f, ".sub_cgroup.");
                if (memchr(c, '.', l))
                        fprintf(f, "\"%.*s\"", (int) l, c);
                else
                        fprintf(f, "%.*s", (int) l, c);
                c += l;
                c += *c == '/';
        }
        fclose(f);
        buf[size - 1] = 0;
        return buf;
}

/* Makes the model node for `name` under parent, or returns NULL (validation goes on without a
 * model below it) when a limit is hit or the parent has none. */
static struct conf_node *node_build(struct parser *p, enum conf_subsys s,
                                    struct conf_node *parent, size_t cap, const char *name,
                                    const struct jpath *jp, unsigned depth) {
        struct conf_node *n, *existing = NULL;
        char jbuf[256];
        size_t plen;
        int r;

        if (!parent || !p->building || parent->n_children >= cap)
                return NULL;
        plen = (parent->path[0] ? strlen(parent->path) + 1 : 0) + strlen(name);
        if (plen > CONF_PATH_MAX) {
                problem(p, jp, "cgroup path longer than %d bytes", CONF_PATH_MAX);
                return NULL;
        }
        if (p->path_bytes + plen + 1 > CONF_PATHS_BYTES_MAX) {
                if (!p->too_many_path_bytes)
                        problem(p, NULL, "the conf's cgroup paths add up to more than %u MiB",
                                CONF_PATHS_BYTES_MAX >> 20);
                p->too_many_path_bytes = true;
                p->building = false;
                return NULL;
        }
        n = calloc(1, sizeof(*n));
        if (!n)
                goto oom;
        n->depth = depth;
        n->weight = -1;
        n->name = strdup(name);
        n->path = malloc(plen + 1);
        if (!n->name || !n->path)
                goto oom;
        {
                size_t pl = strlen(parent->path), nl = strlen(name);
                char *e = mempcpy(n->path, parent->path, pl);
                if (pl > 0)
                        *e++ = '/';
                memcpy(e, name, nl + 1);
        }
        p->path_bytes += plen + 1;
        r = index_add(p->conf->index[s], n, &existing);
        if (r < 0)
                goto oom;
        if (r == 0) {
                if (existing->parent == parent)
                        problem(p, jp, "duplicate key");
                else
                        problem(p, jp, "duplicate name \"%s\" in the %s tree, also at %s", name,
                                subsys_names[s], existing_jpath(s, existing, jbuf, sizeof(jbuf)));
                node_free(n);
                return NULL;
        }
        /* parse_children() sized the array for all members of the object */
        parent->children[parent->n_children++] = n;
        n->parent = parent;
        return n;
oom:
        node_free(n);
        p->oom = -ENOMEM;
        return NULL;
}

/* Nodes parsed before their cJSON members are freed (see parse_children()). */
#define FREE_BATCH_NODES 512

static void parse_children(struct parser *p, enum conf_subsys s, struct conf_node *parent,
                           cJSON *obj, const struct jpath *jp, unsigned depth) {
        size_t cap = 0, pending = 0;

        if (!cJSON_IsObject(obj)) {
                problem(p, jp, "must be an object, not %s", json_type_name(obj));
                return;
        }
        /* One allocation for the children array: the object's member count bounds it. */
        if (parent && p->building && !parent->children && obj->child) {
                cap = MIN((size_t) cJSON_GetArraySize(obj), (size_t) CONF_MAX_NODES);
                parent->children = malloc(cap * sizeof(*parent->children));
                if (!parent->children) {
                        p->oom = -ENOMEM;
                        return;
                }
        }
        for (cJSON *c = obj->child, *next; c; c = next) {
                struct jpath np = {jp, c->string};
                const char *why;
                struct conf_node *n = NULL;
                size_t before = p->n_nodes;

                if (p->oom)
                        return;
                if (depth > CONF_MAX_DEPTH) {
                        /* One report per parent is enough; nothing below is walked. */
                        problem(p, &np, "deeper than %d levels", CONF_MAX_DEPTH);
                        return;
                }
                if (++p->n_nodes > CONF_MAX_NODES) {
                        if (!p->too_many_nodes)
                                problem(p, NULL, "more than %d cgroups", CONF_MAX_NODES);
                        p->too_many_nodes = true;
                        p->building = false;
                }
                why = name_problem(c->string);
                if (why)
                        problem(p, &np, "%s", why);
                else
                        n = node_build(p, s, parent, cap, c->string, &np, depth);
                parse_node(p, s, n, c, &np, depth);
                /* Done with these members: their subtrees go now rather than with the whole
                 * tree, so that the model built next reuses the memory (a 10,000-cgroup conf's
                 * tree is ~3 MB, its model ~1.5 MB). By runs of siblings, which lie side by side
                 * in memory: one member at a time would scatter the model over the tree's
                 * pages, and keep them all resident once the tree is gone. */
                next = c->next;
                pending += p->n_nodes - before;
                if (pending >= FREE_BATCH_NODES) {
                        while (obj->child != next)
                                cJSON_Delete(cJSON_DetachItemViaPointer(obj, obj->child));
                        pending = 0;
                }
        }
}

static void parse_conf_object(struct parser *p, cJSON *root) {
        bool seen[_CONF_SUBSYS_MAX] = {};

        if (!cJSON_IsObject(root)) {
                problem(p, NULL, "the conf must be a JSON object, not %s", json_type_name(root));
                return;
        }
        for (cJSON *c = root->child; c; c = c->next) {
                struct jpath kp = {NULL, c->string};
                struct conf_node *r = NULL;
                int s = conf_subsys_from_name(c->string);

                if (s < 0) {
                        problem(p, &kp, "unknown subsystem (known: cpu, blkio, memory, pids)");
                        continue;
                }
                if (seen[s]) {
                        problem(p, &kp, "duplicate key");
                        continue;
                }
                seen[s] = true;
                if (!cJSON_IsObject(c)) {
                        problem(p, &kp, "must be an object, not %s", json_type_name(c));
                        continue;
                }
                /* owned by the conf from here on, also if what follows fails */
                r = p->conf->roots[s] = calloc(1, sizeof(*r));
                p->conf->index[s] = calloc(1, sizeof(struct conf_index));
                if (!r || !p->conf->index[s] || !(r->path = strdup("")) ||
                    index_grow(p->conf->index[s],
                               MIN(p->n_objects, (size_t) CONF_MAX_NODES) * 4 / 3 + 1) < 0) {
                        p->oom = -ENOMEM;
                        return;
                }
                r->weight = -1;
                parse_node(p, (enum conf_subsys) s, r, c, &kp, 0);
        }
}

static void parse_snapshot_object(struct parser *p, cJSON *root) {
        cJSON *value = NULL;
        bool seen_version = false;

        if (!cJSON_IsObject(root)) {
                problem(p, NULL, "the snapshot must be a JSON object, not %s",
                        json_type_name(root));
                return;
        }
        for (cJSON *c = root->child; c; c = c->next) {
                struct jpath kp = {NULL, c->string};
                int64_t v = 0;

                if (strcmp(c->string, "value") == 0) {
                        if (value)
                                problem(p, &kp, "duplicate key");
                        else
                                value = c;
                } else if (strcmp(c->string, "version") == 0) {
                        if (seen_version) {
                                problem(p, &kp, "duplicate key");
                                continue;
                        }
                        seen_version = true;
                        if (integer_in_range(p, &kp, c, -1, INT64_MAX, &v))
                                p->conf->version = v;
                } else
                        problem(p, &kp, "unknown key (allowed: version, value)");
        }
        if (!seen_version)
                problem(p, NULL, "the snapshot has no \"version\"");
        if (!value)
                problem(p, NULL, "the snapshot has no \"value\"");
        else
                parse_conf_object(p, value);
}

static void text_position(const char *s, const char *at, size_t *line, size_t *col) {
        *line = 1;
        *col = 1;
        for (; s < at; s++) {
                if (*s == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

int conf_parse_text(const char *buf, size_t len, enum conf_text kind, struct conf **ret,
                    struct conf_errors *errs) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *text = NULL;
        struct parser p = {.errs = errs, .building = true};
        cJSON *root = NULL;
        const char *end = NULL;
        size_t depth = 0, line, col;
        int r;

        if ((!buf && len > 0) || !ret || (unsigned) kind > CONF_TEXT_ANY)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->version = -1;
        p.conf = c;

        if (len > 0 && memchr(buf, 0, len)) {
                problem(&p, NULL, "not valid JSON: the text contains a NUL byte");
                goto done;
        }
        /* cJSON wants a NUL-terminated buffer; ours may not be (e.g. a ZooKeeper node). */
        text = malloc(len + 1);
        if (!text)
                return -ENOMEM;
        if (len > 0)
                memcpy(text, buf, len);
        text[len] = 0;

        r = scan_text(&p, text, len, &depth);
        if (r < 0)
                goto fail;
        if (depth > CJSON_NESTING_LIMIT) {
                problem(&p, NULL, "not valid JSON: nested more than %d levels deep",
                        CJSON_NESTING_LIMIT);
                goto done;
        }
        if (p.nul_escape) {
                problem(&p, NULL, "a string holds \\u0000 (NUL), which no key or name may hold");
                goto done;
        }
        root = cJSON_ParseWithOpts(text, &end, false);
        if (!root) {
                if (!end || end < text || end > text + len)
                        end = text + len;
                text_position(text, end, &line, &col);
                if (strspn(text, " \t\r\n") == len)
                        problem(&p, NULL, "not valid JSON: the text is empty");
                else
                        problem(&p, NULL, "not valid JSON: syntax error at line %zu, column %zu",
                                line, col);
                goto done;
        }
        end += strspn(end, " \t\r\n");
        if (*end) {
                text_position(text, end, &line, &col);
                problem(&p, NULL, "not valid JSON: trailing text at line %zu, column %zu", line,
                        col);
                goto done;
        }
        {
                size_t idx = 0;
                if (cJSON_IsNumber(root))
                        root->valueint = 0, idx = 1;
                else
                        number_link(root, &idx);
                p.nums_ok = idx == p.n_nums;
        }

        if (kind == CONF_TEXT_ANY)
                kind = cJSON_IsObject(root) && (cJSON_GetObjectItemCaseSensitive(root, "version") ||
                                                cJSON_GetObjectItemCaseSensitive(root, "value"))
                               ? CONF_TEXT_SNAPSHOT
                               : CONF_TEXT_CONF;
        if (kind == CONF_TEXT_SNAPSHOT)
                parse_snapshot_object(&p, root);
        else
                parse_conf_object(&p, root);

done:
        if (p.oom) {
                r = p.oom;
                goto fail;
        }
        if (p.n_problems > 0) {
                if (p.n_problems > p.n_listed && p.errs) {
                        size_t more = p.n_problems - p.n_listed;
                        p.n_listed = 0; /* let this summary through the cap */
                        problem(&p, NULL, "... and %zu more problem%s not listed", more,
                                more == 1 ? "" : "s");
                }
                r = p.oom ? p.oom : -EINVAL;
                goto fail;
        }
        c->n_nodes = p.n_nodes;
        cJSON_Delete(root);
        free(p.nums);
        *ret = TAKE_PTR(c);
        return 0;
fail:
        cJSON_Delete(root);
        free(p.nums);
        return r;
}

int conf_parse(const char *buf, size_t len, struct conf **ret, struct conf_errors *errs) {
        return conf_parse_text(buf, len, CONF_TEXT_CONF, ret, errs);
}

/* ---- output ---- */

/* The canonical JSON is written straight into one growing buffer, byte for byte what
 * cJSON_PrintUnformatted() printed for the same model built as a cJSON tree (the tests compare):
 * a tree of a 10,000-cgroup conf would hold ~3 MB for a moment, e.g. when cg-syncd writes the
 * snapshot of it. */
/* {"conf":{"<key>":W},"sub_cgroup":{"<name>":{...},...}}; a root has no "conf" but always a
 * "sub_cgroup". Depth is bounded by the parser (CONF_MAX_DEPTH). */
/* True when the node has anything to put in "conf". */
static bool node_has_conf(const struct conf_node *n) {
        if (!n->parent)
                return false;
        if (n->weight >= 0)
                return true;
        if (!n->limits)
                return false;
        for (int l = 0; l < _CONF_LIMIT_MAX; l++)
                if (n->limits->v[l] >= 0)
                        return true;
        return n->limits->n_devs > 0;
}

/* "conf":{"<weight key>":W,"<limit>":N,"<device limit>":{"<dev>":N,...},...}, limits in enum
 * order, device entries in conf order. */
static void conf_to_json_limits(struct strbuf *b, const struct conf_node *n, enum conf_subsys s) {
        bool first = true;

        (void) strbuf_puts(b, "\"conf\":{");
        if (n->weight >= 0 && subsys_keys[s]) {
                (void) strbuf_json_string(b, subsys_keys[s]);
                (void) strbuf_puts(b, ":");
                (void) strbuf_append_i64(b, n->weight);
                first = false;
        }
        for (int l = 0; n->limits && l < _CONF_LIMIT_MAX; l++) {
                bool any = false;
                if (!conf_limit_is_device(l)) {
                        if (n->limits->v[l] < 0)
                                continue;
                        if (!first)
                                (void) strbuf_puts(b, ",");
                        first = false;
                        (void) strbuf_json_string(b, limit_keys[l].name);
                        (void) strbuf_puts(b, ":");
                        (void) strbuf_append_i64(b, n->limits->v[l]);
                        continue;
                }
                for (size_t i = 0; i < n->limits->n_devs; i++) {
                        const struct conf_dev_limit *d = &n->limits->devs[i];
                        if (d->limit != (enum conf_limit) l)
                                continue;
                        if (!any) {
                                if (!first)
                                        (void) strbuf_puts(b, ",");
                                first = false;
                                (void) strbuf_json_string(b, limit_keys[l].name);
                                (void) strbuf_puts(b, ":{");
                        } else
                                (void) strbuf_puts(b, ",");
                        any = true;
                        (void) strbuf_json_string(b, d->dev);
                        (void) strbuf_puts(b, ":");
                        (void) strbuf_append_i64(b, d->value);
                }
                if (any)
                        (void) strbuf_puts(b, "}");
        }
        (void) strbuf_puts(b, "}");
}

/* {"conf":{...},"sub_cgroup":{"<name>":{...},...}}; a root has no "conf" but always a
 * "sub_cgroup". Depth is bounded by the parser (CONF_MAX_DEPTH). */
static void node_to_json(struct strbuf *b, const struct conf_node *n, enum conf_subsys s) {
        bool conf = node_has_conf(n);

        (void) strbuf_puts(b, "{");
        if (conf)
                conf_to_json_limits(b, n, s);
        if (n->n_children > 0 || !n->parent) {
                if (conf)
                        (void) strbuf_puts(b, ",");
                (void) strbuf_puts(b, "\"sub_cgroup\":{");
                for (size_t i = 0; i < n->n_children && !b->oom; i++) {
                        if (i > 0)
                                (void) strbuf_puts(b, ",");
                        (void) strbuf_json_string(b, n->children[i]->name ? n->children[i]->name : "");
                        (void) strbuf_puts(b, ":");
                        node_to_json(b, n->children[i], s);
                }
                (void) strbuf_puts(b, "}");
        }
        (void) strbuf_puts(b, "}");
}

int conf_to_json(const struct conf *c, char **ret) {
        struct strbuf b = {};
        bool first = true;
        char *t;

        if (!c || !ret)
                return -EINVAL;
        /* ~40 bytes a cgroup in the usual shape: one allocation for most confs */
        if (strbuf_reserve(&b, MIN(c->n_nodes, (size_t) CONF_MAX_NODES) * 48 + 64) < 0)
                return -ENOMEM;
        (void) strbuf_puts(&b, "{");
        for (int i = 0; i < _CONF_SUBSYS_MAX; i++) {
                if (!c->roots[i])
                        continue;
                if (!first)
                        (void) strbuf_puts(&b, ",");
                first = false;
                (void) strbuf_json_string(&b, subsys_names[i]);
                (void) strbuf_puts(&b, ":");
                node_to_json(&b, c->roots[i], (enum conf_subsys) i);
        }
        (void) strbuf_puts(&b, "}");
        t = strbuf_steal(&b); /* NULL if any append failed */
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
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

const struct conf_node *conf_find(const struct conf *c, enum conf_subsys s, const char *name) {
        if (!c || !name || (unsigned) s >= _CONF_SUBSYS_MAX || !c->roots[s])
                return NULL;
        if (c->index[s])
                return index_get(c->index[s], name);
        return node_find(c->roots[s], name);
}

int conf_cgexec_arg(const struct conf *c, const char *root, const char *name, unsigned flags,
                    char **ret) {
        char *buf = NULL;
        size_t size = 0, rl;
        bool any = false;
        FILE *f;

        if (!c || !name || !ret)
                return -EINVAL;
        /* "/a/b/" and "a/b" are the same root: cgexec wants it relative, without slashes. */
        if (!root)
                root = "";
        root += strspn(root, "/");
        rl = strlen(root);
        while (rl > 0 && root[rl - 1] == '/')
                rl--;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const struct conf_node *n = conf_find(c, (enum conf_subsys) s, name);
                if (!n || !n->name)
                        continue;
                fprintf(f, "%s-g %s:%.*s%s%s", any ? " " : "", subsys_names[s], (int) rl, root,
                        rl > 0 ? "/" : "", n->path);
                if (s == CONF_CPU && (flags & CONF_CGEXEC_CPUACCT))
                        fprintf(f, " -g cpuacct:%.*s%s%s", (int) rl, root, rl > 0 ? "/" : "",
                                n->path);
                any = true;
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        if (!any) {
                free(buf);
                return -ENOENT;
        }
        *ret = buf;
        return 0;
}
