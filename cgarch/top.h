/* top.h — the pure side of `cgarch top` (cmd-top.c does the I/O): two accounting samples (the
 * DESIGN.md "Redis" shape, with the optional keys of issue 18: node "pressure", "memory" and
 * "pids" subsystems, cpu throttling) and the applied conf become one row per cgroup, with rates
 * over the samples' distance, sorted and laid out as text. Unit-tested in test-top.c. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

enum top_sort {
        TOP_SORT_CPU,
        TOP_SORT_IO,
        TOP_SORT_MEMORY,
        TOP_SORT_PRESSURE,
        TOP_SORT_TREE,
        _TOP_SORT_MAX,
};
/* "cpu"/"c", "io"/"i", "memory"/"m", "pressure"/"p", "tree"/"t" -> the key; -EINVAL. */
int top_sort_from_string(const char *s);
/* The key a keystroke selects (c, i, m, p, t), or -1. */
int top_sort_from_key(int ch);
const char *top_sort_name(enum top_sort s);

/* One cgroup. Unknown figures (absent from a sample, or a counter that went back) are NAN,
 * unknown conf values -1; both are shown as "-". */
struct top_row {
        char *path;      /* "" for the managed root, "a/b" below it (owned) */
        double cpu_pct;  /* CPU time over wall time, % of one CPU */
        double io_read, io_write; /* bytes/s, all devices */
        double mem;      /* bytes (memory "usage") */
        double pids;     /* "current" of the pids subsystem */
        double pressure; /* % of time some task stalled, the largest of the kinds */
        char pressure_kind; /* 'c'pu, 'i'o, 'm'emory; 0 when unknown */
        double throttled_pct; /* cpu "throttled_usec" over wall time, % */
        int64_t share, weight; /* conf: cpu share, blkio weight */
};

struct top_view {
        struct top_row *rows;
        size_t n;
        int64_t slot;   /* of the newer sample */
        double seconds; /* between the samples */
};
void top_view_done(struct top_view *v);

/* Rows from the samples of slots prev_slot < cur_slot (cJSON objects, maybe with members
 * missing) and the conf's "value" (may be NULL). -EINVAL: cur is not an object or the slots are
 * not in order. */
int top_compute(const cJSON *prev, int64_t prev_slot, const cJSON *cur, int64_t cur_slot,
                const cJSON *conf, struct top_view *ret);
/* Sorts by key, largest first (tree: by path, parents before children); unknown last; ties
 * by path. */
void top_sort(struct top_view *v, enum top_sort key);

/* "1.5K", "230M", "12G" (powers of 1024), "0", or "-" for NAN/negative. */
void top_format_bytes(double v, char *buf, size_t size);

/* The column header and the rows, one line each ("\n"-terminated), at most max_rows rows (0:
 * all). width 0: no limit (the path column as wide as the longest path); otherwise the path
 * column takes what the others leave, cut at the left ("...b/c"), at least 12. */
int top_format(const struct top_view *v, unsigned width, size_t max_rows, struct strbuf *out);

/* cg-wsd's answer to {"cmd":"get_host"}: {"host": NAME, "redis_prefix": ...}. Returns 1 and the
 * name in buf if `msg` is that answer with a non-empty name; 0 and `fallback` (the URL's host) in
 * buf if it is an error (an old cg-wsd without get_host) or an empty name; -EINVAL if `msg` is
 * neither (some other message). */
int top_host_from_answer(const cJSON *msg, const char *fallback, char *buf, size_t size);
