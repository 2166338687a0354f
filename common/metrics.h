/* metrics.h — the daemons' health in Prometheus text exposition (format 0.0.4), one file per
 * daemon: <runtime_dir>/metrics/<daemon>.prom, in the form node_exporter's textfile collector
 * reads (no timestamps, HELP and TYPE before the samples, one family once). cg-wsd serves the
 * same files after its own /metrics (cg-wsd/wsd-metrics.c).
 *
 * Building is pure: a growing buffer whose first failure is sticky (later calls do nothing and
 * return it), so a daemon writes a list of calls and checks once, at metrics_write(). Names
 * and label names are checked (-EINVAL), label values and HELP text escaped. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* <runtime_dir>/METRICS_SUBDIR/<daemon>.prom */
#define METRICS_SUBDIR "metrics"
/* The most a .prom file may hold; cg-wsd refuses bigger files. */
#define METRICS_FILE_MAX (64 * 1024)

enum metrics_type {
        METRICS_COUNTER,
        METRICS_GAUGE,
};

struct metrics {
        char *buf; /* NUL-terminated text (owned), NULL while empty */
        size_t len, cap;
        int error; /* the first failure (-errno), 0 while all is well */
};

void metrics_done(struct metrics *m); /* frees; the struct may be reused after */

/* "# HELP name help\n# TYPE name type\n": starts a family; its samples follow. */
int metrics_family(struct metrics *m, const char *name, enum metrics_type type, const char *help);
/* One sample: name{k1="v1",...} value. `labels` is NULL or a NULL-terminated list of key,
 * value pairs. Values print exactly: integers as integers, others in the shortest form that
 * reads back to the same double. */
int metrics_sample(struct metrics *m, const char *name, const char *const *labels, double value);
/* Same, for a counter kept as an integer (exact up to 2^64 - 1). */
int metrics_sample_u64(struct metrics *m, const char *name, const char *const *labels,
                       uint64_t value);
/* A family with one unlabelled sample. */
int metrics_gauge(struct metrics *m, const char *name, const char *help, double value);
int metrics_counter(struct metrics *m, const char *name, const char *help, uint64_t value);
/* cgrouparch_build_info{daemon="<daemon>",version="<CGARCH_VERSION>"} 1 */
int metrics_build_info(struct metrics *m, const char *daemon);

/* Pure checks, also used by cg-wsd on what it reads: a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*),
 * a label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__..."). */
bool metrics_name_valid(const char *s, size_t n);
bool metrics_label_name_valid(const char *s, size_t n);

/* <runtime_dir>/metrics/<daemon>.prom (owned). */
int metrics_path(const char *runtime_dir, const char *daemon, char **ret);
/* Writes m's text to metrics_path() atomically (write_file_atomic: a fresh O_EXCL|O_NOFOLLOW
 * temp file, then rename), mode 0644 so that cg-wsd's unprivileged user can read it; creates
 * runtime_dir and its metrics/ (0755) when missing. Returns m->error when building failed
 * (nothing written), -EFBIG above METRICS_FILE_MAX. */
int metrics_write(const struct metrics *m, const char *runtime_dir, const char *daemon);
