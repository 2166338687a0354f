/* api.h — the pieces behind the public API of include/cgrouparch.h (api.c), reachable by the
 * unit tests: the cgexec arguments depend on how this host mounts its cgroup hierarchies, and
 * these take that as an argument where the public functions read /proc/self/mountinfo. Pure;
 * never logs. Returns >= 0 or -errno. */
#pragma once

/* The CONF_CGEXEC_* flags (conf.h) for a host whose /proc/self/mountinfo reads `mountinfo`:
 * CONF_CGEXEC_CPUACCT where cpu and cpuacct are two v1 hierarchies (cgexec must name both), none
 * where they are co-mounted ("-g cpu:" reaches both), on pure v2, or when the text is NULL or
 * cannot be parsed (the seed's text then). */
unsigned api_cgexec_flags(const char *mountinfo);
/* The flags of this host: api_cgexec_flags() of /proc/self/mountinfo. */
unsigned api_cgexec_host_flags(void);

/* cgarch_cgexec_arg() and cgarch_cgexec_arg_one() with the flags given. */
int api_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                   unsigned flags, char **ret_json);
int api_cgexec_arg_one(const char *conf_json, const char *root, const char *name, unsigned flags,
                       char **ret);

/* The seed's json.dumps() shape for a list of names, {"a": "<one(a)>", "b": ""}: one key per
 * distinct name (asked twice: one key), "" where one() says -ENOENT (a name held by no tree).
 * Shared by cgarch_cgexec_arg() and the CLI's systemd-run form, so both print one format. */
int api_name_map_json(const char *const *names, int n,
                      int (*one)(const char *name, void *userdata, char **ret), void *userdata,
                      char **ret_json);
