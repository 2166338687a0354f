/* ini.h — the local config file /etc/cgrouparch/cgrouparch.conf (docs/design.md "The local
 * config"). Parsed with libinih; strict: unknown sections/keys and bad values are errors naming
 * "file:line: [section] key: problem". Never logs. Returns >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define CFG_DEFAULT_PATH "/etc/cgrouparch/cgrouparch.conf"
/* The managed root when the config names none. An empty value is refused; `root = /` (stored
 * as "") manages the hierarchy roots and must be written out. */
#define CFG_DEFAULT_ROOT "cgrouparch"

struct cfg_pid_files {
        char *name;      /* cgroup name */
        char **patterns; /* strv of paths or globs */
        char *user;      /* `user=NAME` among the words: the process must run as NAME (a user
                          * name or a numeric uid); NULL: any (the file owner's rule still holds) */
};

struct cfg {
        char *path; /* the file it was read from */
        struct {
                char *hosts;  /* "127.0.0.1:2181" */
                char *prefix; /* required by cg-syncd and `cgarch conf`; NULL if unset */
                char **auth;  /* strv of "digest:user:password": this host's identity (read) */
                char **admin_auth; /* strv: the writers' identity (`cgarch conf put`), which owns
                                      the node; the hosts' identities get read only */
                int session_timeout_ms; /* 10000 */
        } zk;
        struct {
                char *dir;  /* "/sys/fs/cgroup" */
                char *root; /* CFG_DEFAULT_ROOT; "" only from an explicit `root = /` */
                char **protected_names; /* strv, maybe empty */
                int mode; /* enum cgfs_mode */
        } cg;
        struct {
                unsigned interval_sec; /* 30 */
                unsigned max_files;    /* 4096: pid files one pattern may match */
                unsigned max_dirs;     /* 1024: directories one pattern's glob may watch */
                unsigned max_refusals; /* 64: one uid's refused pid files per pass (0: no limit) */
        } taskd;
        struct cfg_pid_files *pid_files;
        size_t n_pid_files, cap_pid_files;
        struct {
                char *host; /* "127.0.0.1" */
                unsigned port; /* 6379 */
                char *password; /* NULL if unset */
                char *socket;   /* unix socket path; NULL: TCP to host:port */
                char *prefix;   /* "cgroup_arch" */
                unsigned expire_sec; /* 300 */
        } redis;
        struct {
                char *bind; /* "127.0.0.1" */
                unsigned port; /* 43409 */
                unsigned max_clients; /* 1024 */
                char **allowed_origins; /* strv; empty = any */
                char *token; /* NULL = none */
                char *www_dir;
                char **server_names;     /* strv or NULL: Host names accepted besides IPs, localhost */
                unsigned max_value_size;  /* bytes of one Redis value served; 1 MiB */
                unsigned max_answer_size; /* bytes of one show_account answer; 16 MiB */
                /* the daemons' .prom files served after cg-wsd's own /metrics; NULL (unset):
                 * <runtime_dir>/metrics, where the daemons write them */
                char *metrics_dir;
        } wsd;
        struct {
                char *runtime_dir; /* "/run/cgrouparch" */
        } daemon;
        struct {
                bool reset_on_start; /* false */
        } accountd;
        struct {
                char *bus;             /* "system" | "user" | a D-Bus address; "system" */
                bool restart_services; /* false: a service's Slice= drop-in waits for its restart */
        } systemd;
};

/* A cfg with every default filled in. */
int cfg_new_default(struct cfg **ret);
/* Parses text; `name` is used in error messages. On failure returns -EINVAL and *err (if
 * non-NULL) gets "name:line: [section] key: problem" (owned). */
int cfg_parse_string(const char *text, const char *name, struct cfg **ret, char **err);
/* Reads and parses a file; a missing file is -ENOENT with *err naming it. */
int cfg_load(const char *path, struct cfg **ret, char **err);
struct cfg *cfg_free(struct cfg *c);
DEFINE_CLEANUP_FUNC(struct cfg, cfg_free)

/* The warning to show (--check, cgarch plan/apply) when the managed root is a hierarchy root
 * (`root = /`), else NULL. Static text. */
const char *cfg_root_warning(const struct cfg *c);

/* Path of the applied snapshot: <runtime_dir>/arch_conf.json (owned). */
int cfg_snapshot_path(const struct cfg *c, char **ret);
