/* metrics.c — Prometheus text for the daemons' .prom files (see metrics.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics.h"
#include "util.h"

#ifndef CGARCH_VERSION
#define CGARCH_VERSION "unknown"
#endif

void metrics_done(struct metrics *m) {
        free(m->buf);
        *m = (struct metrics){};
}

static int fail(struct metrics *m, int r) {
        if (!m->error)
                m->error = r;
        return m->error;
}

static int grow(struct metrics *m, size_t extra) {
        size_t want;
        char *p;

        if (extra > SIZE_MAX / 2 - m->len)
                return fail(m, -ENOMEM);
        want = m->len + extra + 1;
        if (want <= m->cap)
                return 0;
        want = MAX(want, MAX(m->cap * 2, (size_t) 1024));
        p = realloc(m->buf, want);
        if (!p)
                return fail(m, -ENOMEM);
        m->buf = p;
        m->cap = want;
        return 0;
}

static int put(struct metrics *m, const char *s, size_t n) {
        if (m->error)
                return m->error;
        if (grow(m, n) < 0)
                return m->error;
        memcpy(m->buf + m->len, s, n);
        m->len += n;
        m->buf[m->len] = 0;
        return 0;
}

static int puts_(struct metrics *m, const char *s) {
        return put(m, s, strlen(s));
}

_printf_(2, 3) static int putf(struct metrics *m, const char *fmt, ...) {
        char tmp[128];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(tmp))
                return fail(m, -EINVAL); /* only numbers go through here */
        return put(m, tmp, (size_t) n);
}

/* HELP text escapes \ and newline; label values also '"' (exposition format 0.0.4). */
static int put_escaped(struct metrics *m, const char *s, bool quote) {
        for (; *s && !m->error; s++) {
                if (*s == '\\')
                        (void) put(m, "\\\\", 2);
                else if (*s == '\n')
                        (void) put(m, "\\n", 2);
                else if (quote && *s == '"')
                        (void) put(m, "\\\"", 2);
                else
                        (void) put(m, s, 1);
        }
        return m->error;
}

bool metrics_name_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                             c == ':';
                if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
                        return false;
        }
        return true;
}

bool metrics_label_name_valid(const char *s, size_t n) {
        if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
                if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
                        return false;
        }
        return true;
}

int metrics_family(struct metrics *m, const char *name, enum metrics_type type, const char *help) {
        if (m->error)
                return m->error;
        if (!name || !metrics_name_valid(name, strlen(name)) || !help)
                return fail(m, -EINVAL);
        (void) puts_(m, "# HELP ");
        (void) puts_(m, name);
        (void) puts_(m, " ");
        (void) put_escaped(m, help, false);
        (void) puts_(m, "\n# TYPE ");
        (void) puts_(m, name);
        return puts_(m, type == METRICS_COUNTER ? " counter\n" : " gauge\n");
}

static int put_series(struct metrics *m, const char *name, const char *const *labels) {
        if (m->error)
                return m->error;
        if (!name || !metrics_name_valid(name, strlen(name)))
                return fail(m, -EINVAL);
        (void) puts_(m, name);
        for (size_t i = 0; labels && labels[i]; i += 2) {
                if (!labels[i + 1] || !metrics_label_name_valid(labels[i], strlen(labels[i])))
                        return fail(m, -EINVAL);
                (void) puts_(m, i == 0 ? "{" : ",");
                (void) puts_(m, labels[i]);
                (void) puts_(m, "=\"");
                (void) put_escaped(m, labels[i + 1], true);
                (void) puts_(m, "\"");
        }
        if (labels && labels[0])
                (void) puts_(m, "}");
        return puts_(m, " ");
}

int metrics_sample(struct metrics *m, const char *name, const char *const *labels, double value) {
        if (put_series(m, name, labels) < 0)
                return m->error;
        if (isnan(value))
                return puts_(m, "NaN\n");
        if (isinf(value))
                return puts_(m, value > 0 ? "+Inf\n" : "-Inf\n");
        if (value == floor(value) && fabs(value) < 9007199254740992.0) /* 2^53: exact */
                return putf(m, "%.0f\n", value);
        /* The shortest of 15..17 digits that reads back the same. */
        for (int prec = 15; prec <= 17; prec++) {
                char tmp[64];
                snprintf(tmp, sizeof(tmp), "%.*g", prec, value);
                if (prec == 17 || strtod(tmp, NULL) == value)
                        return putf(m, "%s\n", tmp);
        }
        return m->error; /* not reached */
}

int metrics_sample_u64(struct metrics *m, const char *name, const char *const *labels,
                       uint64_t value) {
        if (put_series(m, name, labels) < 0)
                return m->error;
        return putf(m, "%llu\n", (unsigned long long) value);
}

int metrics_gauge(struct metrics *m, const char *name, const char *help, double value) {
        (void) metrics_family(m, name, METRICS_GAUGE, help);
        return metrics_sample(m, name, NULL, value);
}

int metrics_counter(struct metrics *m, const char *name, const char *help, uint64_t value) {
        (void) metrics_family(m, name, METRICS_COUNTER, help);
        return metrics_sample_u64(m, name, NULL, value);
}

int metrics_build_info(struct metrics *m, const char *daemon) {
        (void) metrics_family(m, "cgrouparch_build_info", METRICS_GAUGE,
                              "Always 1; the labels name the program and its version.");
        return metrics_sample(m, "cgrouparch_build_info",
                              (const char *const[]){ "daemon", daemon, "version", CGARCH_VERSION,
                                                     NULL },
                              1);
}

static size_t trim_slashes(const char *d) {
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
                n--;
        return n;
}

int metrics_path(const char *runtime_dir, const char *daemon, char **ret) {
        if (!runtime_dir || runtime_dir[0] != '/' || !daemon || !daemon[0] || strchr(daemon, '/'))
                return -EINVAL;
        return xasprintf(ret, "%.*s/" METRICS_SUBDIR "/%s.prom", (int) trim_slashes(runtime_dir),
                         runtime_dir, daemon);
}

int metrics_write(const struct metrics *m, const char *runtime_dir, const char *daemon) {
        _cleanup_free_ char *path = NULL, *dir = NULL;
        int r;

        if (m->error)
                return m->error;
        if (m->len > METRICS_FILE_MAX)
                return -EFBIG;
        r = metrics_path(runtime_dir, daemon, &path);
        if (r < 0)
                return r;
        r = xasprintf(&dir, "%.*s/" METRICS_SUBDIR, (int) trim_slashes(runtime_dir), runtime_dir);
        if (r < 0)
                return r;
        /* Both may be missing (a daemon started before cg-syncd; a tmpfs /run after boot). */
        if (mkdir(runtime_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return write_file_atomic(path, m->buf ? m->buf : "", m->len, 0644);
}
