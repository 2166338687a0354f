/* wsd-metrics.c — the daemons' .prom files merged into /metrics, and disk names for the blkio
 * series (see wsd-metrics.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "wsd-metrics.h"
#include "wsd.h"

/* At most this many files are read per scrape (four daemons write one each). */
#define WSD_METRICS_FILES_MAX 16

/* ---- parsing one line (pure) ---- */

enum line_kind {
        LINE_SKIP,   /* blank or another comment: dropped silently */
        LINE_HELP,
        LINE_TYPE,
        LINE_SAMPLE,
        LINE_BAD,
};

struct line {
        enum line_kind kind;
        const char *name; /* the family (metric) name */
        size_t name_len;
        const char *series; /* SAMPLE: name and labels, the key for duplicates */
        size_t series_len;
        const char *text; /* the whole line, without '\n' */
        size_t len;
        const char *type; /* TYPE: the type word */
        size_t type_len;
        size_t input, seq; /* where it came from, in order */
};

static size_t span_name(const char *s, size_t n) {
        size_t i = 0;
        while (i < n && (isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == ':'))
                i++;
        return i;
}

/* UTF-8 without control characters (label values and HELP text may hold any other text). */
static bool text_ok(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) s[i];
                size_t extra;

                if (c < 0x20 || c == 0x7f)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        extra = 1;
                else if (c >= 0xe0 && c <= 0xef)
                        extra = 2;
                else if (c >= 0xf0 && c <= 0xf4)
                        extra = 3;
                else
                        return false;
                if (n - i <= extra)
                        return false;
                for (size_t k = 1; k <= extra; k++)
                        if (((unsigned char) s[i + k] & 0xc0) != 0x80)
                                return false;
                i += extra + 1;
        }
        return true;
}

/* A sample value: a float in Go's ParseFloat syntax (decimal only) or +Inf, -Inf, NaN. */
static bool value_ok(const char *s, size_t n) {
        char buf[64];
        char *end;

        if (n == 0 || n >= sizeof(buf))
                return false;
        if ((n == 4 && (memcmp(s, "+Inf", 4) == 0 || memcmp(s, "-Inf", 4) == 0)) ||
            (n == 3 && (memcmp(s, "NaN", 3) == 0 || memcmp(s, "Inf", 3) == 0)))
                return true;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]) && !strchr("+-.eE", s[i]))
                        return false;
        memcpy(buf, s, n);
        buf[n] = 0;
        errno = 0;
        (void) strtod(buf, &end);
        return end == buf + n && end != buf;
}

/* Labels "{k="v",...}" from s (at '{'); returns the length through '}' or 0 when malformed. */
static size_t span_labels(const char *s, size_t n) {
        size_t i = 1;

        for (;;) {
                size_t k;
                if (i < n && s[i] == '}')
                        return i + 1;
                k = span_name(s + i, n - i);
                if (!metrics_label_name_valid(s + i, k))
                        return 0;
                i += k;
                if (i + 1 >= n || s[i] != '=' || s[i + 1] != '"')
                        return 0;
                i += 2;
                size_t v0 = i;
                while (i < n && s[i] != '"') {
                        if (s[i] == '\\') {
                                if (i + 1 >= n || !strchr("\\\"n", s[i + 1]))
                                        return 0;
                                i++;
                        }
                        i++;
                }
                if (i >= n || !text_ok(s + v0, i - v0))
                        return 0;
                i++; /* the closing quote */
                if (i < n && s[i] == ',')
                        i++;
                else if (!(i < n && s[i] == '}'))
                        return 0;
        }
}

static void parse_line(const char *s, size_t n, struct line *l) {
        *l = (struct line){ .kind = LINE_BAD, .text = s, .len = n };
        if (n == 0) {
                l->kind = LINE_SKIP;
                return;
        }
        if (s[0] == '#') {
                bool help = n > 7 && memcmp(s, "# HELP ", 7) == 0;
                bool type = n > 7 && memcmp(s, "# TYPE ", 7) == 0;
                size_t k;

                if (!help && !type) {
                        l->kind = text_ok(s, n) ? LINE_SKIP : LINE_BAD;
                        return;
                }
                l->name = s + 7;
                k = span_name(l->name, n - 7);
                l->name_len = k;
                if (!metrics_name_valid(l->name, k))
                        return;
                if (7 + k == n) {
                        if (help)
                                l->kind = LINE_HELP; /* an empty HELP */
                        return;
                }
                if (s[7 + k] != ' ')
                        return;
                const char *rest = s + 7 + k + 1;
                size_t rn = n - 7 - k - 1;
                if (help) {
                        /* escapes: only \\ and \n */
                        for (size_t i = 0; i < rn; i++)
                                if (rest[i] == '\\' && (i + 1 >= rn || !strchr("\\n", rest[++i])))
                                        return;
                        if (text_ok(rest, rn))
                                l->kind = LINE_HELP;
                        return;
                }
                if ((rn == 7 && memcmp(rest, "counter", 7) == 0) ||
                    (rn == 5 && memcmp(rest, "gauge", 5) == 0) ||
                    (rn == 7 && memcmp(rest, "untyped", 7) == 0)) {
                        l->kind = LINE_TYPE;
                        l->type = rest;
                        l->type_len = rn;
                }
                return; /* summary, histogram: not passed on */
        }
        size_t k = span_name(s, n), i;
        if (!metrics_name_valid(s, k))
                return;
        l->name = s;
        l->name_len = k;
        i = k;
        if (i < n && s[i] == '{') {
                size_t lk = span_labels(s + i, n - i);
                if (lk == 0)
                        return;
                i += lk;
        }
        l->series = s;
        l->series_len = i;
        if (i >= n || s[i] != ' ')
                return;
        while (i < n && s[i] == ' ')
                i++;
        /* the value runs to the end: a timestamp (node_exporter's textfile collector refuses
         * them too) makes the line bad */
        if (value_ok(s + i, n - i))
                l->kind = LINE_SAMPLE;
}

/* Families cg-wsd renders itself: a file must not add to them. */
static bool family_allowed(const char *name, size_t n) {
        static const char *const own[] = { "cgrouparch_wsd_",    "cgrouparch_cpu_",
                                           "cgrouparch_blkio_",  "cgrouparch_sample_",
                                           "cgrouparch_memory_", "cgrouparch_pids_",
                                           "cgrouparch_pressure_" };
        static const char prefix[] = "cgrouparch_";

        if (n <= sizeof(prefix) - 1 || memcmp(name, prefix, sizeof(prefix) - 1) != 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (n >= strlen(own[i]) && memcmp(name, own[i], strlen(own[i])) == 0)
                        return false;
        return true;
}

static int memcmp_len(const char *a, size_t an, const char *b, size_t bn) {
        int c = memcmp(a, b, MIN(an, bn));
        return c ? c : (an > bn) - (an < bn);
}

/* Order: family name, then kind (HELP, TYPE, SAMPLE), then series, then input order. */
static int line_cmp(const void *x, const void *y) {
        const struct line *a = x, *b = y;
        int c = memcmp_len(a->name, a->name_len, b->name, b->name_len);

        if (c)
                return c;
        if (a->kind != b->kind)
                return (int) a->kind - (int) b->kind;
        if (a->kind == LINE_SAMPLE) {
                c = memcmp_len(a->series, a->series_len, b->series, b->series_len);
                if (c)
                        return c;
        }
        return (a->seq > b->seq) - (a->seq < b->seq);
}

struct family {
        size_t first, end; /* lines[first..end) of the sorted array */
        size_t seq;        /* the first appearance, for the output order */
};

static int family_cmp(const void *x, const void *y) {
        const struct family *a = x, *b = y;
        return (a->seq > b->seq) - (a->seq < b->seq);
}

int wsd_metrics_merge(const struct wsd_prom_input *in, size_t n, struct strbuf *ret,
                      size_t *ret_rejected) {
        _cleanup_free_ struct line *lines = NULL;
        _cleanup_free_ struct family *fams = NULL;
        size_t n_lines = 0, cap = 0, n_fams = 0, rejected = 0, seq = 0;
        struct strbuf b;
        int k;

        for (size_t i = 0; i < n; i++) {
                const char *p = in[i].text, *end = in[i].text + in[i].len;
                while (p < end) {
                        const char *nl = memchr(p, '\n', (size_t) (end - p));
                        size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                        struct line l;

                        parse_line(p, len, &l);
                        p += len + (nl ? 1 : 0);
                        if (l.kind == LINE_SKIP)
                                continue;
                        if (l.kind == LINE_BAD || !family_allowed(l.name, l.name_len)) {
                                rejected++;
                                continue;
                        }
                        if (n_lines == cap) {
                                size_t nc = cap ? cap * 2 : 64;
                                struct line *v = reallocarray(lines, nc, sizeof(*v));
                                if (!v)
                                        return -ENOMEM;
                                lines = v;
                                cap = nc;
                        }
                        l.input = i;
                        l.seq = seq++;
                        lines[n_lines++] = l;
                }
        }
        if (n_lines > 0)
                qsort(lines, n_lines, sizeof(*lines), line_cmp);

        fams = calloc(MAX(n_lines, (size_t) 1), sizeof(*fams));
        if (!fams)
                return -ENOMEM;
        for (size_t i = 0; i < n_lines;) {
                size_t j = i, first_seq = lines[i].seq;
                while (j < n_lines && memcmp_len(lines[j].name, lines[j].name_len, lines[i].name,
                                                 lines[i].name_len) == 0) {
                        first_seq = MIN(first_seq, lines[j].seq);
                        j++;
                }
                fams[n_fams++] = (struct family){ .first = i, .end = j, .seq = first_seq };
                i = j;
        }
        qsort(fams, n_fams, sizeof(*fams), family_cmp);

        k = strbuf_init(&b, 0, 4096);
        for (size_t f = 0; k >= 0 && f < n_fams; f++) {
                const struct line *help = NULL, *type = NULL, *last = NULL;
                bool bad_input[WSD_METRICS_FILES_MAX + 2] = {};
                bool any = false;

                /* the TYPE of the first input that declares one rules; inputs declaring another
                 * lose their samples of the family */
                for (size_t i = fams[f].first; i < fams[f].end; i++) {
                        const struct line *l = &lines[i];
                        size_t slot = MIN(l->input, (size_t) WSD_METRICS_FILES_MAX + 1);
                        if (l->kind == LINE_HELP && !help)
                                help = l;
                        if (l->kind != LINE_TYPE)
                                continue;
                        if (!type)
                                type = l;
                        else if (memcmp_len(l->type, l->type_len, type->type, type->type_len))
                                bad_input[slot] = true;
                }
                for (size_t i = fams[f].first; i < fams[f].end; i++) {
                        const struct line *l = &lines[i];
                        size_t slot = MIN(l->input, (size_t) WSD_METRICS_FILES_MAX + 1);
                        if (l->kind != LINE_SAMPLE)
                                continue;
                        /* undocumented families fail `promtool check metrics`: none pass */
                        if (!help || !type || bad_input[slot] ||
                            (last && memcmp_len(last->series, last->series_len, l->series,
                                                l->series_len) == 0)) {
                                rejected++; /* no HELP or TYPE, a conflicting type, or a
                                             * duplicate series */
                                continue;
                        }
                        if (!any) {
                                if (help)
                                        k = strbuf_printf(&b, "%.*s\n", (int) help->len,
                                                               help->text);
                                if (k >= 0 && type)
                                        k = strbuf_printf(&b, "%.*s\n", (int) type->len,
                                                               type->text);
                                any = true;
                        }
                        if (k >= 0)
                                k = strbuf_printf(&b, "%.*s\n", (int) l->len, l->text);
                        last = l;
                }
        }
        if (k < 0) {
                strbuf_done(&b);
                return k;
        }
        if (ret_rejected)
                *ret_rejected = rejected;
        *ret = b;
        return 0;
}

/* ---- disk names ---- */

int wsd_uevent_devname(const char *text, char **ret) {
        const char *p = text;

        while (p && *p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);

                if (len > 8 && memcmp(p, "DEVNAME=", 8) == 0) {
                        size_t n = len - 8;
                        char *s;
                        if (n > 64)
                                return -EINVAL;
                        for (size_t i = 0; i < n; i++)
                                if (!isalnum((unsigned char) p[8 + i]) && !strchr("._-/:!", p[8 + i]))
                                        return -EINVAL;
                        s = strndup(p + 8, n);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                p = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

struct devname_entry {
        unsigned major, minor;
        char *name; /* NULL: looked up, none */
};

/* One loop thread: a plain static cache, emptied every minute (disks come and go). */
static struct devname_entry devcache[32];
static size_t devcache_n;
static uint64_t devcache_since;

const char *wsd_devname(unsigned major, unsigned minor, void *userdata) {
        const char *sysfs = userdata ? userdata : "/sys";
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        char path[PATH_MAX], buf[4096];
        char *name = NULL;

        if (now - devcache_since > 60 * USEC_PER_SEC || devcache_n == ELEMENTSOF(devcache)) {
                for (size_t i = 0; i < devcache_n; i++)
                        free(devcache[i].name);
                devcache_n = 0;
                devcache_since = now;
        }
        for (size_t i = 0; i < devcache_n; i++)
                if (devcache[i].major == major && devcache[i].minor == minor)
                        return devcache[i].name;
        snprintf(path, sizeof(path), "%s/dev/block/%u:%u/uevent", sysfs, major, minor);
        if (read_small_file_at(AT_FDCWD, path, READ_REGULAR, buf, sizeof(buf), NULL, NULL) >= 0)
                (void) wsd_uevent_devname(buf, &name);
        devcache[devcache_n++] = (struct devname_entry){ major, minor, name };
        return name;
}

/* ---- the files ---- */

static bool prom_file_name(const char *s) {
        size_t n = strlen(s);

        if (n < 6 || n > 64 || s[0] == '.' || strcmp(s + n - 5, ".prom") != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static struct ratelimit rl_files = RATELIMIT_INIT(60 * USEC_PER_SEC, 5);

int wsd_metrics_append_files(struct wsd *d, struct strbuf *out) {
        _cleanup_free_ char *dir_path = NULL;
        _cleanup_strv_free_ char **names = NULL;
        char *texts[WSD_METRICS_FILES_MAX] = {};
        struct wsd_prom_input in[WSD_METRICS_FILES_MAX + 2];
        struct metrics own = {}, stamps = {};
        struct strbuf merged;
        size_t n_in = 0, rejected = 0, n_names;
        _cleanup_close_ int dfd = -1;
        DIR *dir = NULL;
        int r;

        if (d->cfg->wsd.metrics_dir)
                dir_path = strdup(d->cfg->wsd.metrics_dir);
        else
                (void) xasprintf(&dir_path, "%s/" METRICS_SUBDIR, d->cfg->daemon.runtime_dir);
        if (!dir_path)
                return -ENOMEM;

        (void) metrics_build_info(&own, "cg-wsd");
        (void) metrics_family(&stamps, "cgrouparch_metrics_file_timestamp_seconds", METRICS_GAUGE,
                              "Modification time of each daemon's .prom file served here (a "
                              "stale one: that daemon stopped or hangs).");
        if (own.error || stamps.error) {
                r = -ENOMEM;
                goto done;
        }
        in[n_in++] = (struct wsd_prom_input){ "cg-wsd", own.buf, own.len };

        dfd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                int dfd2 = dup(dfd);
                dir = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
                if (!dir && dfd2 >= 0)
                        close(dfd2);
        }
        for (struct dirent *de; dir && (de = readdir(dir));)
                if (prom_file_name(de->d_name) && strv_length(names) < WSD_METRICS_FILES_MAX) {
                        r = strv_extend(&names, de->d_name);
                        if (r < 0)
                                goto done;
                }
        if (dir)
                closedir(dir);
        n_names = strv_length(names);
        if (n_names > 1)
                qsort(names, n_names, sizeof(char *), name_cmp);
        for (size_t i = 0; i < n_names; i++) {
                struct stat st;
                size_t len;
                char *buf = malloc(METRICS_FILE_MAX + 1);

                if (!buf) {
                        r = -ENOMEM;
                        goto done;
                }
                texts[i] = buf;
                /* O_NONBLOCK: a FIFO planted there must not hang the scrape; READ_REGULAR
                 * refuses it (and devices, directories) before reading */
                r = read_small_file_at(dfd, names[i], READ_NONBLOCK | READ_REGULAR, buf,
                                       METRICS_FILE_MAX + 1, &len, &st);
                if (r < 0) {
                        if (r != -ENOENT && ratelimit_below(&rl_files))
                                log_warning_errno(r, "Not serving %s/%s: %m%s", dir_path,
                                                  names[i],
                                                  r == -EFBIG ? " (bigger than 64 KiB)" : "");
                        continue;
                }
                in[n_in++] = (struct wsd_prom_input){ names[i], buf, len };
                (void) metrics_sample(&stamps, "cgrouparch_metrics_file_timestamp_seconds",
                                      (const char *const[]){ "file", names[i], NULL },
                                      (double) st.st_mtim.tv_sec);
        }
        in[n_in++] = (struct wsd_prom_input){ "cg-wsd", stamps.buf, stamps.len };

        r = wsd_metrics_merge(in, n_in, &merged, &rejected);
        if (r < 0)
                goto done;
        if (rejected > 0 && ratelimit_below(&rl_files))
                log_warning("Left out %zu malformed or disallowed lines of the .prom files in %s",
                            rejected, dir_path);
        r = strbuf_append(out, strbuf_text(&merged), merged.len);
        strbuf_done(&merged);
done:
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                free(texts[i]);
        metrics_done(&own);
        metrics_done(&stamps);
        return r < 0 ? r : 0;
}
