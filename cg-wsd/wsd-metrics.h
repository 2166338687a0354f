/* wsd-metrics.h — the daemons' health files served after cg-wsd's own /metrics, and the disk
 * names of its blkio series.
 *
 * The .prom files (common/metrics.h) are written by root daemons into [wsd] metrics_dir
 * (default <runtime_dir>/metrics), which cg-wsd only reads. They are still input from outside:
 * each file is capped (METRICS_FILE_MAX), and only well-formed exposition lines of `cgrouparch_`
 * families with a HELP and a TYPE (counter, gauge or untyped) pass, without timestamps, never
 * one of the families cg-wsd renders itself. Families are merged across files (one HELP and TYPE each, the first
 * file's; a later file declaring another type loses its samples), so the scrape stays valid
 * text format: every daemon's cgrouparch_build_info lands in one family. */
#pragma once

#include <stddef.h>

#include "wsproto.h"

struct wsd;

/* One input of the merge: a name for messages and the text (len bytes, not NUL-terminated). */
struct wsd_prom_input {
        const char *name;
        const char *text;
        size_t len;
};

/* Merges the inputs into ret (initialised here; the caller's on success). Lines that are not
 * well-formed, or not allowed (see above), are left out and counted in *ret_rejected (may be
 * NULL). Pure; -ENOMEM only. */
int wsd_metrics_merge(const struct wsd_prom_input *in, size_t n, struct wsproto_buf *ret,
                      size_t *ret_rejected);

/* The DEVNAME= of a /sys/dev/block/MAJ:MIN/uevent text (owned). -ENOENT: none; -EINVAL: not a
 * plausible name. Pure. */
int wsd_uevent_devname(const char *text, char **ret);

/* wsproto_devname_fn over /sys/dev/block (userdata: the sysfs root, NULL for "/sys"), with a
 * small cache renewed every minute. Loop thread only. */
const char *wsd_devname(unsigned major, unsigned minor, void *userdata);

/* Appends cg-wsd's cgrouparch_build_info, the files' families and one
 * cgrouparch_wsd_metrics_file_timestamp_seconds{file} per file read to out. A missing directory
 * is no error (no daemon has written yet). Logs problems with files, rate-limited. */
int wsd_metrics_append_files(struct wsd *d, struct wsproto_buf *out);
