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

int acct_parse_cpu_stat(const char *text, uint64_t *ret) {
        const char *p = text, *line;
        size_t len;
        bool found = false;
        uint64_t usec = 0;

        while (next_line(&p, &line, &len)) {
                const char *sp = memchr(line, ' ', len);
                uint64_t v;
                int r;

                if (!sp || sp == line)
                        return -EINVAL;
                r = parse_u64_exact(sp + 1, line + len, &v);
                if (r < 0)
                        return r;
                if ((size_t) (sp - line) == strlen("usage_usec") &&
                    memcmp(line, "usage_usec", (size_t) (sp - line)) == 0) {
                        usec = v;
                        found = true;
                }
        }
        if (!found)
                return -ENODATA;
        if (usec > UINT64_MAX / 1000)
                return -ERANGE;
        *ret = usec * 1000;
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
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 4;
                struct acct_dev_io *v = reallocarray(b->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                b->v = v;
                b->cap = cap;
        }
        b->v[b->n] = (struct acct_dev_io){.major = major, .minor = minor};
        *ret = &b->v[b->n++];
        return 0;
}

static bool token_is(const char *s, size_t n, const char *word) {
        return n == strlen(word) && memcmp(s, word, n) == 0;
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
                        const char *key, *eq, *tok_end;

                        if (*s != ' ')
                                return -EINVAL;
                        key = ++s;
                        tok_end = memchr(s, ' ', (size_t) (end - s));
                        if (!tok_end)
                                tok_end = end;
                        eq = memchr(key, '=', (size_t) (tok_end - key));
                        if (!eq || eq == key || eq + 1 == tok_end)
                                return -EINVAL;
                        if (token_is(key, (size_t) (eq - key), "rbytes") ||
                            token_is(key, (size_t) (eq - key), "wbytes")) {
                                uint64_t v;
                                r = parse_u64_exact(eq + 1, tok_end, &v);
                                if (r < 0)
                                        return r;
                                if (key[0] == 'r')
                                        d->read = v;
                                else
                                        d->write = v;
                        }
                        s = tok_end;
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

void acct_buf_free(struct acct_buf *b) {
        b->p = mfree(b->p);
        b->len = b->cap = 0;
}

int acct_buf_append(struct acct_buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *p;
                while (cap < b->len + n + 1) {
                        if (cap > SIZE_MAX / 2)
                                return -ENOMEM;
                        cap *= 2;
                }
                p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

static int buf_puts(struct acct_buf *b, const char *s) {
        return acct_buf_append(b, s, strlen(s));
}

int acct_buf_append_u64(struct acct_buf *b, uint64_t v) {
        char tmp[21];
        size_t i = sizeof(tmp);

        do {
                tmp[--i] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        return acct_buf_append(b, tmp + i, sizeof(tmp) - i);
}

/* A JSON string. Conf names are [A-Za-z0-9_.-] already; escaping is defence in depth. */
static int buf_put_string(struct acct_buf *b, const char *s) {
        int r = buf_puts(b, "\"");
        for (; r >= 0 && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\') {
                        char e[2] = {'\\', (char) c};
                        r = acct_buf_append(b, e, 2);
                } else if (c < 0x20) {
                        char e[7];
                        snprintf(e, sizeof(e), "\\u%04x", c);
                        r = acct_buf_append(b, e, 6);
                } else
                        r = acct_buf_append(b, s, 1);
        }
        return r < 0 ? r : buf_puts(b, "\"");
}

static int write_value(struct acct_buf *b, enum conf_subsys s, const struct acct_value *v) {
        int r;

        if (!v || !v->ok)
                return buf_puts(b, "{}");
        if (s == CONF_CPU) {
                r = buf_puts(b, "{\"usage\": ");
                if (r >= 0)
                        r = acct_buf_append_u64(b, v->usage);
                return r < 0 ? r : buf_puts(b, "}");
        }
        r = buf_puts(b, "{");
        for (size_t i = 0; r >= 0 && i < v->blkio.n; i++) {
                const struct acct_dev_io *d = &v->blkio.v[i];
                char dev[32];
                snprintf(dev, sizeof(dev), "%s\"%u:%u\": {\"Read\": ", i ? ", " : "", d->major,
                         d->minor);
                r = buf_puts(b, dev);
                if (r >= 0)
                        r = acct_buf_append_u64(b, d->read);
                if (r >= 0)
                        r = buf_puts(b, ", \"Write\": ");
                if (r >= 0)
                        r = acct_buf_append_u64(b, d->write);
                if (r >= 0)
                        r = buf_puts(b, "}");
        }
        return r < 0 ? r : buf_puts(b, "}");
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

static int write_node(struct acct_buf *b, enum conf_subsys s, const struct conf_node *n,
                      struct acct_value *values, size_t *idx) {
        int r;

        r = buf_puts(b, "{\"value\": ");
        if (r >= 0)
                r = write_value(b, s, values ? &values[*idx] : NULL);
        (*idx)++;
        if (r < 0)
                return r;
        if (n->n_children > 0 || !n->parent) {
                r = buf_puts(b, ", \"sub_cgroup\": {");
                for (size_t i = 0; r >= 0 && i < n->n_children; i++) {
                        if (i)
                                r = buf_puts(b, ", ");
                        if (r >= 0)
                                r = buf_put_string(b, n->children[i]->name);
                        if (r >= 0)
                                r = buf_puts(b, ": ");
                        if (r >= 0)
                                r = write_node(b, s, n->children[i], values, idx);
                }
                if (r >= 0)
                        r = buf_puts(b, "}");
        }
        return r < 0 ? r : buf_puts(b, "}");
}

/* Own table rather than conf_subsys_name(): keeps this module free of conf.c (pure, testable). */
static const char *const subsys_names[_CONF_SUBSYS_MAX] = {
        [CONF_CPU] = "cpu",
        [CONF_BLKIO] = "blkio",
};

int acct_sample_write(const struct conf *c, struct acct_value *const values[_CONF_SUBSYS_MAX],
                      struct acct_buf *b) {
        bool first = true;
        int r;

        b->len = 0;
        r = buf_puts(b, "{");
        for (int s = 0; r >= 0 && s < _CONF_SUBSYS_MAX; s++) {
                size_t idx = 0;
                if (!c->roots[s] || !subsys_names[s]) /* memory, pids: not sampled (yet) */
                        continue;
                r = buf_puts(b, first ? "\"" : ", \"");
                if (r >= 0)
                        r = buf_puts(b, subsys_names[s]);
                if (r >= 0)
                        r = buf_puts(b, "\": ");
                if (r >= 0)
                        r = write_node(b, (enum conf_subsys) s, c->roots[s], values[s], &idx);
                first = false;
        }
        return r < 0 ? r : buf_puts(b, "}");
}
