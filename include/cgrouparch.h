/* cgrouparch.h — public C API of libcgarch, for programs that want the seed's get_cgexec_arg
 * without a daemon. Link with `pkg-config --libs cgrouparch`. Functions return >= 0 on
 * success or a negative errno value; strings returned are malloc()ed and owned by the caller. */
#ifndef CGROUPARCH_H
#define CGROUPARCH_H

#ifdef __cplusplus
extern "C" {
#endif

#define CGROUPARCH_VERSION "0.1.0"

/* The seed's get_cgexec_arg: for each name in `names` (n of them) the cgexec arguments, e.g.
 * "-g cpu:test_cgroup_b/test_cgroup_b_sub1 -g blkio:test_cgroup_b/test_cgroup_b_sub1", returned
 * as a JSON object in the seed's json.dumps() shape, {"name": "args", "other": ""}, in
 * *ret_json (a name asked twice appears once); `cgarch cgexec-arg` prints the same text.
 * `conf_json` is the arch conf text (or the snapshot {"version":N,"value":{...}}, e.g. the
 * contents of /run/cgrouparch/arch_conf.json); `root` is the managed root ("" or NULL for none).
 * There is one "-g controller:path" per tree holding the name (cpu, blkio, memory, pids). The
 * arguments are for this host's cgexec: where /proc/self/mountinfo shows cpuacct as a v1
 * hierarchy apart from cpu, the cpu tree also gives "-g cpuacct:path" (else a cgexec'd process
 * is not counted); co-mounted or on cgroup v2, "-g cpu:path" alone, the seed's text.
 * A name held by no tree maps to "" (as the seed). -EINVAL: the conf is invalid. */
int cgarch_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                      char **ret_json);

/* Same for one name, the bare argument string, for `cgexec $(...) cmd`; -ENOENT when no tree
 * holds the name. */
int cgarch_cgexec_arg_one(const char *conf_json, const char *root, const char *name, char **ret);

/* The seed's call: reads the conf from ZooKeeper (<prefix>/arch_conf on `hosts`, with an
 * optional "digest:user:password" auth, may be NULL) and then as cgarch_cgexec_arg.
 * timeout_ms bounds the whole call. -ETIMEDOUT, -EACCES (auth), -ENOENT (no node). Where a
 * cg-syncd runs, reading its snapshot with cgarch_cgexec_arg keeps ZooKeeper off the path. */
int cgarch_cgexec_arg_zk(const char *hosts, const char *prefix, const char *auth,
                         const char *root, const char *const *names, int n, int timeout_ms,
                         char **ret_json);

#ifdef __cplusplus
}
#endif
#endif
