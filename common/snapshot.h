/* snapshot.h — the applied snapshot <runtime_dir>/arch_conf.json, {"version": N, "value": conf}
 * (docs/design.md). Written by cg-syncd via a temp file + rename(2); followed by cg-taskd and
 * cg-accountd with inotify on the directory. Returns >= 0 or -errno; never logs. */
#pragma once

#include <stdint.h>

#include "conf.h"
#include "macro.h"

/* Writes {"version": c->version, "value": ...} atomically (mode 0644). Creates nothing else. */
int snapshot_write(const char *path, const struct conf *c);
/* Reads and validates a snapshot. -ENOENT: none yet; -EINVAL: bad (errs filled when given). */
int snapshot_read(const char *path, struct conf **ret, struct conf_errors *errs);
/* Pure: parses snapshot text. */
int snapshot_parse(const char *buf, size_t len, struct conf **ret, struct conf_errors *errs);

/* Follows the snapshot: an inotify fd watching its directory (created if missing, mode 0755)
 * for the file's rename/close-write/delete. Add the fd to the loop; on readiness call
 * snapshot_watch_drain(), which returns 1 if the snapshot (may have) changed, 0 if not. */
struct snapshot_watch;
int snapshot_watch_new(const char *path, struct snapshot_watch **ret);
int snapshot_watch_fd(const struct snapshot_watch *w);
int snapshot_watch_drain(struct snapshot_watch *w);
struct snapshot_watch *snapshot_watch_free(struct snapshot_watch *w);
DEFINE_CLEANUP_FUNC(struct snapshot_watch, snapshot_watch_free)
