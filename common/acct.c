/* acct.c — pure parsers of accounting files and the exact-integer sample writer. */
#include "acct.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses an unsigned decimal at *p (no sign, no leading spaces), advancing *p past it. */
static int parse_u64_token(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return 0;
}

/* A number that fills [s, end) exactly. */
static int parse_u64_exact(const char *s, const char *end, uint64_t *ret) {
        int r = parse_u64_token(&s, ret);
        if (r < 0)
                return r;
        return s == end ? 0 : -EINVAL;
}

static int parse_uint_token(const char **p, unsigned *ret) {
        uint64_t v;
        int r = parse_u64_token(p, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* "MAJ:MIN" at *p. */
static int parse_devnum_token(const char **p, unsigned *major, unsigned *minor) {
        const char *s = *p;
        unsigned a, b;
        int r;

        r = parse_uint_token(&s, &a);
        if (r < 0)
                return r;
        if (*s != ':')
                return -EINVAL;
        s++;
        r = parse_uint_token(&s, &b);
        if (r < 0)
                return r;
        *p = s;
        *major = a;
        *minor = b;
        return 0;
}

int acct_parse_cpuacct_usage(const char *text, uint64_t *ret) {
        return acct_parse_number(text, ret);
}

int acct_parse_number(const char *text, uint64_t *ret) {
        const char *p = text;
        uint64_t v;
        int r;

        r = parse_u64_token(&p, &v);
        if (r < 0)
                return r;
        if (*p == '\n')
                p++;
        if (*p != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The next line of text (without its newline) in line and len; false at the end. */
static bool next_line(const char **p, const char **line, size_t *len) {
        const char *s = *p, *e;

        if (*s == '\0')
                return false;
        e = strchrnul(s, '\n');
        *line = s;
        *len = (size_t) (e - s);
        *p = *e ? e + 1 : e;
        return true;
}

int acct_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        const char *p = text, *line;
        size_t len, klen = strlen(key);
        bool found = false;
        uint64_t val = 0;

        while (next_line(&p, &line, &len)) {
                const char *sp = memchr(line, ' ', len);
                uint64_t v;
                int r;

                /* every line is checked, not only the wanted one: a garbled file is no file */
                if (!sp || sp == line)
                        return -EINVAL;
                r = parse_u64_exact(sp + 1, line + len, &v);
                if (r < 0)
                        return r;
                if ((size_t) (sp - line) == klen && memcmp(line, key, klen) == 0) {
                        val = v;
                        found = true;
                }
        }
        if (!found)
                return -ENODATA;
        *ret = val;
        return 0;
}

int acct_parse_cpu_stat(const char *text, uint64_t *ret) {
        uint64_t usec;
        int r = acct_parse_keyed(text, "usage_usec", &usec);

        if (r < 0)
                return r;
        if (usec > UINT64_MAX / 1000)
                return -ERANGE;
        *ret = usec * 1000;
        return 0;
}

int acct_parse_cpu_throttle(const char *text, bool v2, uint64_t *ret_nr, uint64_t *ret_usec) {
        uint64_t nr, t;
        int r;

        r = acct_parse_keyed(text, "nr_throttled", &nr);
        if (r >= 0)
                r = acct_parse_keyed(text, v2 ? "throttled_usec" : "throttled_time", &t);
        if (r < 0)
                return r;
        *ret_nr = nr;
        *ret_usec = v2 ? t : t / 1000; /* v1 throttled_time: ns */
        return 0;
}

static bool token_is(const char *s, size_t n, const char *word) {
        return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* The next " key=value" token of a pressure or io.stat line at *s (end: the line's end), which
 * must start with one space; key and value non-empty. Moves *s past it. */
static int next_key_value(const char **s, const char *end, const char **ret_key,
                          size_t *ret_key_len, const char **ret_val, const char **ret_val_end) {
        const char *key, *eq, *tok_end;

        if (**s != ' ')
                return -EINVAL;
        key = ++*s;
        tok_end = memchr(key, ' ', (size_t) (end - key));
        if (!tok_end)
                tok_end = end;
        eq = memchr(key, '=', (size_t) (tok_end - key));
        if (!eq || eq == key || eq + 1 == tok_end)
                return -EINVAL;
        *ret_key = key;
        *ret_key_len = (size_t) (eq - key);
        *ret_val = eq + 1;
        *ret_val_end = *s = tok_end;
        return 0;
}

int acct_parse_pressure(const char *text, struct acct_pressure *ret) {
        struct acct_pressure pr = {};
        const char *p = text, *line;
        size_t len;

        while (next_line(&p, &line, &len)) {
                const char *end = line + len, *kind_end = memchr(line, ' ', len), *s = kind_end;
                bool have_total = false;
                uint64_t total = 0;
                int r;

                if (!s || s == line)
                        return -EINVAL;
                while (s < end) {
                        const char *key, *val, *val_end;
                        size_t key_len;

                        r = next_key_value(&s, end, &key, &key_len, &val, &val_end);
                        if (r < 0)
                                return r;
                        if (token_is(key, key_len, "total")) {
                                if (have_total)
                                        return -EINVAL;
                                r = parse_u64_exact(val, val_end, &total);
                                if (r < 0)
                                        return r;
                                have_total = true;
                        } else /* avg10=1.23 and the like: shares in %, not used */
                                for (const char *c = val; c < val_end; c++)
                                        if (!isdigit((unsigned char) *c) && *c != '.')
                                                return -EINVAL;
                }
                if (!have_total)
                        return -EINVAL;
                if (token_is(line, (size_t) (kind_end - line), "some")) {
                        if (pr.has_some)
                                return -EINVAL;
                        pr.some_usec = total;
                        pr.has_some = true;
                } else if (token_is(line, (size_t) (kind_end - line), "full")) {
                        if (pr.has_full)
                                return -EINVAL;
                        pr.full_usec = total;
                        pr.has_full = true;
                }
                /* another kind of line (a later kernel's): well-formed, not part of the sample */
        }
        if (!pr.has_some)
                return -ENODATA;
        *ret = pr;
        return 0;
}

void acct_blkio_clear(struct acct_blkio *b) {
        b->v = mfree(b->v);
        b->n = b->cap = 0;
}

/* Entry for MAJ:MIN, appended (zeroed) when new. */
static int blkio_dev(struct acct_blkio *b, unsigned major, unsigned minor,
                     struct acct_dev_io **ret) {
        for (size_t i = b->n; i > 0; i--)
                if (b->v[i - 1].major == major && b->v[i - 1].minor == minor) {
                        *ret = &b->v[i - 1];
                        return 0;
                }
        if (GREEDY_REALLOC(b->v, b->cap, b->n + 1) < 0)
                return -ENOMEM;
        b->v[b->n] = (struct acct_dev_io){.major = major, .minor = minor};
        *ret = &b->v[b->n++];
        return 0;
}

int acct_parse_blkio_v1(const char *text, struct acct_blkio *b) {
        const char *p = text, *line;
        size_t len;
        bool seen_total = false;

        b->n = 0;
        while (next_line(&p, &line, &len)) {
                const char *s = line, *end = line + len, *op;
                struct acct_dev_io *d;
                unsigned major, minor;
                uint64_t v;
                size_t oplen;
                int r;

                if (len == 0 || seen_total)
                        return -EINVAL; /* nothing may follow the final Total line */
                if (len > 6 && memcmp(line, "Total ", 6) == 0) {
                        r = parse_u64_exact(line + 6, end, &v);
                        if (r < 0)
                                return r;
                        seen_total = true;
                        continue;
                }
                r = parse_devnum_token(&s, &major, &minor);
                if (r < 0)
                        return r;
                if (*s != ' ')
                        return -EINVAL;
                op = ++s;
                while (s < end && isalpha((unsigned char) *s))
                        s++;
                oplen = (size_t) (s - op);
                if (oplen == 0 || s >= end || *s != ' ')
                        return -EINVAL;
                r = parse_u64_exact(s + 1, end, &v);
                if (r < 0)
                        return r;
                r = blkio_dev(b, major, minor, &d);
                if (r < 0)
                        return r;
                if (token_is(op, oplen, "Read"))
                        d->read = v;
                else if (token_is(op, oplen, "Write"))
                        d->write = v;
                /* Sync, Async, Discard, Total and any later addition: not part of the sample. */
        }
        return 0;
}

int acct_parse_io_stat(const char *text, struct acct_blkio *b) {
        const char *p = text, *line;
        size_t len;

        b->n = 0;
        while (next_line(&p, &line, &len)) {
                const char *s = line, *end = line + len;
                struct acct_dev_io *d;
                unsigned major, minor;
                int r;

                if (len == 0)
                        return -EINVAL;
                r = parse_devnum_token(&s, &major, &minor);
                if (r < 0)
                        return r;
                r = blkio_dev(b, major, minor, &d);
                if (r < 0)
                        return r;
                while (s < end) {
                        const char *key, *val, *val_end;
                        size_t key_len;

                        r = next_key_value(&s, end, &key, &key_len, &val, &val_end);
                        if (r < 0)
                                return r;
                        if (token_is(key, key_len, "rbytes") || token_is(key, key_len, "wbytes")) {
                                uint64_t v;
                                r = parse_u64_exact(val, val_end, &v);
                                if (r < 0)
                                        return r;
                                if (key[0] == 'r')
                                        d->read = v;
                                else
                                        d->write = v;
                        }
                }
        }
        return 0;
}

int acct_parse_devnum(const char *text, unsigned *ret_major, unsigned *ret_minor) {
        const char *p = text;
        unsigned a, b;
        int r;

        r = parse_devnum_token(&p, &a, &b);
        if (r < 0)
                return r;
        if (*p == '\n')
                p++;
        if (*p != '\0')
                return -EINVAL;
        *ret_major = a;
        *ret_minor = b;
        return 0;
}

bool acct_blockdev_wanted(const char *name, uint64_t size_sectors) {
        if (!name || !*name || strchr(name, '/'))
                return false;
        if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
                return false;
        return size_sectors > 0;
}

int acct_throttle_has_rule(const char *text, unsigned major, unsigned minor) {
        const char *p = text, *line;
        size_t len;
        bool found = false;

        while (next_line(&p, &line, &len)) {
                const char *s = line, *end = line + len;
                unsigned a, b;
                uint64_t v;
                int r;

                if (len == 0)
                        continue;
                r = parse_devnum_token(&s, &a, &b);
                if (r < 0)
                        return r;
                if (*s != ' ')
                        return -EINVAL;
                r = parse_u64_exact(s + 1, end, &v);
                if (r < 0)
                        return r;
                if (a == major && b == minor)
                        found = true;
        }
        return found;
}

/* ---- writer ---- */

/* `, "key": N` (or without the comma for the first of an object). */
static void put_u64(struct strbuf *b, bool *first, const char *key, uint64_t n) {
        (void) strbuf_puts(b, *first ? "\"" : ", \"");
        (void) strbuf_puts(b, key);
        (void) strbuf_puts(b, "\": ");
        (void) strbuf_append_u64(b, n);
        *first = false;
}

static int write_value(struct strbuf *b, enum conf_subsys s, const struct acct_value *v) {
        bool first = true;

        if (!v || !v->ok)
                return strbuf_puts(b, "{}");
        if (s == CONF_CPU) {
                (void) strbuf_puts(b, "{");
                put_u64(b, &first, "usage", v->usage);
                if (v->has & ACCT_HAS_THROTTLE) {
                        put_u64(b, &first, "nr_throttled", v->nr_throttled);
                        put_u64(b, &first, "throttled_usec", v->throttled_usec);
                }
                return strbuf_puts(b, "}");
        }
        if (s == CONF_MEMORY) {
                (void) strbuf_puts(b, "{");
                if (v->has & ACCT_HAS_MEM_USAGE)
                        put_u64(b, &first, "usage", v->mem_usage);
                if (v->has & ACCT_HAS_MEM_PEAK)
                        put_u64(b, &first, "peak", v->mem_peak);
                if (v->has & ACCT_HAS_MEM_FAILCNT)
                        put_u64(b, &first, "failcnt", v->mem_failcnt);
                if (v->has & ACCT_HAS_MEM_OOM_KILL)
                        put_u64(b, &first, "oom_kill", v->mem_oom_kill);
                return strbuf_puts(b, "}");
        }
        if (s == CONF_PIDS) {
                (void) strbuf_puts(b, "{");
                if (v->has & ACCT_HAS_PIDS_CURRENT)
                        put_u64(b, &first, "current", v->pids_current);
                return strbuf_puts(b, "}");
        }
        (void) strbuf_puts(b, "{");
        for (size_t i = 0; i < v->blkio.n; i++) {
                const struct acct_dev_io *d = &v->blkio.v[i];

                (void) strbuf_puts(b, i ? ", \"" : "\"");
                (void) strbuf_append_u64(b, d->major);
                (void) strbuf_puts(b, ":");
                (void) strbuf_append_u64(b, d->minor);
                (void) strbuf_puts(b, "\": {\"Read\": ");
                (void) strbuf_append_u64(b, d->read);
                (void) strbuf_puts(b, ", \"Write\": ");
                (void) strbuf_append_u64(b, d->write);
                (void) strbuf_puts(b, "}");
        }
        return strbuf_puts(b, "}"); /* errors are sticky: this fails if any append did */
}

static size_t node_count(const struct conf_node *n) {
        size_t k = 1;
        for (size_t i = 0; i < n->n_children; i++)
                k += node_count(n->children[i]);
        return k;
}

size_t acct_tree_size(const struct conf *c, enum conf_subsys s) {
        return c && c->roots[s] ? node_count(c->roots[s]) : 0;
}

static int write_node(struct strbuf *b, enum conf_subsys s, const struct conf_node *n,
                      struct acct_value *values, size_t *idx) {
        const struct acct_value *v = values ? &values[*idx] : NULL;

        (void) strbuf_puts(b, "{\"value\": ");
        (void) write_value(b, s, v);
        (*idx)++;
        if (v && v->ok && (v->pressure.has_some || v->pressure.has_full)) {
                bool first = true;

                (void) strbuf_puts(b, ", \"pressure\": {");
                if (v->pressure.has_some)
                        put_u64(b, &first, "some_usec", v->pressure.some_usec);
                if (v->pressure.has_full)
                        put_u64(b, &first, "full_usec", v->pressure.full_usec);
                (void) strbuf_puts(b, "}");
        }
        if (n->n_children > 0 || !n->parent) {
                (void) strbuf_puts(b, ", \"sub_cgroup\": {");
                for (size_t i = 0; !b->oom && i < n->n_children; i++) {
                        if (i)
                                (void) strbuf_puts(b, ", ");
                        /* conf names are [A-Za-z0-9_.-] already: escaping is defence in depth */
                        (void) strbuf_json_string(b, n->children[i]->name);
                        (void) strbuf_puts(b, ": ");
                        (void) write_node(b, s, n->children[i], values, idx);
                }
                (void) strbuf_puts(b, "}");
        }
        return strbuf_puts(b, "}");
}

/* Own table rather than conf_subsys_name(): keeps this module free of conf.c (pure, testable). */
static const char *const subsys_names[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "cpu",
        [CONF_BLKIO] = "blkio",
        [CONF_MEMORY] = "memory",
        [CONF_PIDS] = "pids",
};

int acct_sample_write(const struct conf *c, struct acct_value *const values[_CONF_SUBSYS_MAX],
                      struct strbuf *b) {
        bool first = true;

        strbuf_reset(b);
        (void) strbuf_puts(b, "{");
        for (int s = 0; !b->oom && s < _CONF_SUBSYS_MAX; s++) {
                size_t idx = 0;
                if (!c->roots[s] || !subsys_names[s])
                        continue;
                (void) strbuf_puts(b, first ? "\"" : ", \"");
                (void) strbuf_puts(b, subsys_names[s]);
                (void) strbuf_puts(b, "\": ");
                (void) write_node(b, (enum conf_subsys) s, c->roots[s], values[s], &idx);
                first = false;
        }
        return strbuf_puts(b, "}");
}
