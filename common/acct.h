/* acct.h — accounting: pure parsers of the cgroup files cg-accountd reads, and the writer of the
 * sample JSON (docs/design.md "Redis"). No I/O here; never logs. Returns >= 0 or -errno.
 *
 * Every counter is a uint64_t from the file to the JSON text: nothing goes through a double
 * (cJSON would print 2^53+1 wrong and anything >= 1e15 with an exponent). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "macro.h"
#include "strbuf.h"

/* ---- parsers (text of one file, NUL-terminated) ---- */

/* cpuacct.usage (v1): one unsigned decimal, optional trailing '\n'. -EINVAL otherwise. */
int acct_parse_cpuacct_usage(const char *text, uint64_t *ret);
/* cpu.stat (v2): "key value" lines; returns usage_usec * 1000 (ns). -ENODATA when the key is
 * missing, -ERANGE on overflow, -EINVAL on a malformed line. */
int acct_parse_cpu_stat(const char *text, uint64_t *ret);

struct acct_dev_io {
        unsigned major, minor;
        uint64_t read, write; /* cumulative bytes */
};
/* Per-device read/write bytes of one cgroup, in the order of the file. */
struct acct_blkio {
        struct acct_dev_io *v; /* owned */
        size_t n, cap;
};
void acct_blkio_clear(struct acct_blkio *b); /* frees v; *b reusable */
/* The v1 blkio stat files: blkio.throttle.io_service_bytes[_recursive] and the classic (CFQ)
 * blkio.io_service_bytes[_recursive]: lines "MAJ:MIN <Op> <n>" (Op: Read, Write, Sync, Async,
 * Discard, Total, or a future one, ignored) and a final "Total <n>". Replaces *b's contents
 * (its array is reused, so a steady state allocates nothing). -EINVAL on a malformed line. */
int acct_parse_blkio_v1(const char *text, struct acct_blkio *b);
/* v2 io.stat: "MAJ:MIN key=value ..." lines; rbytes/wbytes are taken (0 when absent). */
int acct_parse_io_stat(const char *text, struct acct_blkio *b);

/* ---- the limits' counters and pressure (issue 16 item 4, issue 18 item 1) ---- */

/* A file of one unsigned decimal and an optional '\n' (memory.usage_in_bytes, memory.current,
 * memory.peak, memory.failcnt, pids.current; the same rule as cpuacct.usage). */
int acct_parse_number(const char *text, uint64_t *ret);
/* A flat-keyed file ("key value" lines: cpu.stat, memory.events): the value of `key`.
 * -ENODATA when the key is missing, -EINVAL on a malformed line, -ERANGE on overflow. */
int acct_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* cpu.stat's CFS bandwidth counters: nr_throttled, and the throttled time in µs (v1
 * throttled_time is ns, divided by 1000; v2 throttled_usec). -ENODATA when either is missing
 * (v2 without the cpu controller enabled has only the usage lines). */
int acct_parse_cpu_throttle(const char *text, bool v2, uint64_t *ret_nr, uint64_t *ret_usec);

/* The cumulative stall times of a PSI file (cpu.pressure, io.pressure, memory.pressure):
 * "some avg10=0.00 avg60=0.00 avg300=0.00 total=N" and, where the kernel has it, a "full" line
 * (cpu's is missing before 5.13). total= is µs. */
struct acct_pressure {
        uint64_t some_usec, full_usec;
        bool has_some, has_full;
};
/* -EINVAL on a malformed line (a line of another kind than some/full is skipped, as long as it
 * is well-formed); -ENODATA when there is no "some" line. */
int acct_parse_pressure(const char *text, struct acct_pressure *ret);

/* "MAJ:MIN\n" as in /sys/block/<dev>/dev. */
int acct_parse_devnum(const char *text, unsigned *ret_major, unsigned *ret_minor);
/* Whether cg-accountd turns IO accounting on for a /sys/block entry: not loop*, ram*, and not
 * an empty device (size 0 sectors, e.g. an unconfigured zram or an empty CD drive). */
bool acct_blockdev_wanted(const char *name, uint64_t size_sectors);
/* Whether a blkio.throttle.{read,write}_bps_device text has a rule for MAJ:MIN ("8:0 1048576"
 * lines). -EINVAL on a malformed line. */
int acct_throttle_has_rule(const char *text, unsigned major, unsigned minor);

/* ---- the sample ---- */

/* One cgroup's reading. `ok` false: the file could not be read (the cgroup is not there yet or
 * any more): its value is written as {}. */
struct acct_value {
        bool ok;
        uint64_t usage;          /* cpu: cumulative ns */
        struct acct_blkio blkio; /* blkio */
        /* The limits' counters and pressure: each is written only when its ACCT_HAS_ bit is set
         * (the kernel or the hierarchy has the file; `ok` says the main file was read). */
        unsigned has;
        uint64_t nr_throttled, throttled_usec;  /* cpu */
        uint64_t mem_usage, mem_peak;           /* memory: bytes */
        uint64_t mem_failcnt, mem_oom_kill;     /* memory: v1 failcnt, v2 memory.events oom_kill */
        uint64_t pids_current;                  /* pids */
        struct acct_pressure pressure;          /* any node: has_some/has_full */
};
enum {
        ACCT_HAS_THROTTLE = 1u << 0, /* nr_throttled and throttled_usec */
        ACCT_HAS_MEM_USAGE = 1u << 1,
        ACCT_HAS_MEM_PEAK = 1u << 2,
        ACCT_HAS_MEM_FAILCNT = 1u << 3,
        ACCT_HAS_MEM_OOM_KILL = 1u << 4,
        ACCT_HAS_PIDS_CURRENT = 1u << 5,
};

/* Number of nodes of a subsystem tree counting its root (0 when the subsystem is absent). Nodes
 * are numbered in pre-order (root 0, then depth first in conf order); values[s][i] is node i. */
size_t acct_tree_size(const struct conf *c, enum conf_subsys s);
/* Writes the sample into b (reset first): {"cpu": {"value": {"usage": N}, "sub_cgroup": {...}},
 * "blkio": {"value": {"MAJ:MIN": {"Read": N, "Write": N}}, "sub_cgroup": {...}}}. A subsystem
 * root always has "sub_cgroup" (maybe {}); any other node only when it has children; subsystems
 * absent from the conf are absent. values[s] may be NULL for an absent subsystem. b is reused
 * tick after tick: its memory stays.
 * The optional keys (README "cg-accountd"), each only with its ACCT_HAS_ bit: cpu's value gains
 * "nr_throttled", "throttled_usec"; memory's value is {"usage", "peak", "failcnt" | "oom_kill"};
 * pids' {"current"}; any node gains "pressure": {"some_usec", "full_usec"} after "value". */
int acct_sample_write(const struct conf *c, struct acct_value *const values[_CONF_SUBSYS_MAX],
                      struct strbuf *b);
