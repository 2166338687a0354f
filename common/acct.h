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
};

/* Number of nodes of a subsystem tree counting its root (0 when the subsystem is absent). Nodes
 * are numbered in pre-order (root 0, then depth first in conf order); values[s][i] is node i. */
size_t acct_tree_size(const struct conf *c, enum conf_subsys s);
/* Writes the sample into b (reset first): {"cpu": {"value": {"usage": N}, "sub_cgroup": {...}},
 * "blkio": {"value": {"MAJ:MIN": {"Read": N, "Write": N}}, "sub_cgroup": {...}}}. A subsystem
 * root always has "sub_cgroup" (maybe {}); any other node only when it has children; subsystems
 * absent from the conf are absent. values[s] may be NULL for an absent subsystem. b is reused
 * tick after tick: its memory stays. */
int acct_sample_write(const struct conf *c, struct acct_value *const values[_CONF_SUBSYS_MAX],
                      struct strbuf *b);
