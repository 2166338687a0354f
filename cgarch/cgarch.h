/* cgarch.h — private interface between the cgarch CLI's files.
 * main.c (argument parsing, validate/plan/apply/cgexec-arg) calls into conf-zk.c for everything
 * that talks to ZooKeeper. Each returns the process exit code (0 ok, 1 refused/failed, 2 usage). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ini.h"

/* `cgarch conf get|put ...`: argv[0] is "conf". `cfg` is the loaded config file. quiet (-q):
 * print only errors and warnings; the data asked for still goes to stdout. */
int cgarch_cmd_conf(int argc, char **argv, const struct cfg *cfg, bool quiet);

/* Reads the arch conf text from ZooKeeper per cfg ([zookeeper] hosts, prefix, auth); the
 * returned text is owned by the caller. Prints its own error message on failure; returns
 * >= 0 or -errno. Used by `cgarch cgexec-arg` when no --conf is given. */
int cgarch_zk_read_conf(const struct cfg *cfg, char **ret_text, int64_t *ret_version);

/* The rules cgroup v2 adds (one union tree; no processes in inner cgroups), checked when *v2 is
 * already true or the config selects v2 (or "auto" finds a v2-only machine); *v2 tells which.
 * Prints every problem; -EINVAL when the conf breaks one. */
int cgarch_check_v2_rules(const char *file, const struct conf *conf, const struct cfg *cfg,
                          bool *v2);
