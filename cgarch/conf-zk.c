/* conf-zk.c — the ZooKeeper side of cgarch: `cgarch conf get|put` and the conf reader used by
 * `cgarch cgexec-arg` without --conf. One short session per command, bounded by
 * [zookeeper] session_timeout_ms (clamped to 2..30 s). Messages go to stderr, data to stdout. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cgarch.h"
#include "conf.h"
#include "util.h"
#include "zk.h"

static uint64_t conf_zk_deadline(const struct cfg *cfg) {
        int ms = CLAMP(cfg->zk.session_timeout_ms, 2000, 30000);
        return now_usec(CLOCK_MONOTONIC) + (uint64_t) ms * USEC_PER_MSEC;
}

/* Prints the error of a ZooKeeper step in words an operator can act on. */
static int conf_zk_error(const struct cfg *cfg, const char *path, const char *what, int r) {
        switch (r) {
        case -ETIMEDOUT:
                fprintf(stderr, "cgarch: %s %s: ZooKeeper %s did not answer within %d ms\n", what,
                        path, cfg->zk.hosts, CLAMP(cfg->zk.session_timeout_ms, 2000, 30000));
                break;
        case -EACCES:
                fprintf(stderr,
                        "cgarch: %s %s: not authorized (ZooKeeper: not authenticated); check "
                        "[zookeeper] auth in %s\n",
                        what, path, cfg->path ? cfg->path : "the config file");
                break;
        case -EPERM:
                fprintf(stderr,
                        "cgarch: %s %s: ZooKeeper refused the credentials of [zookeeper] "
                        "auth\n",
                        what, path);
                break;
        case -ENOENT:
                fprintf(stderr,
                        "cgarch: %s %s: no such node (create it with `cgarch conf put "
                        "FILE`)\n",
                        what, path);
                break;
        case -ECONNRESET:
                fprintf(stderr, "cgarch: %s %s: the ZooKeeper session expired\n", what, path);
                break;
        default:
                fprintf(stderr, "cgarch: %s %s: %s\n", what, path, strerror(-r));
        }
        return r;
}

/* `auth`: the identities of the session (the host's [zookeeper] auth to read; the writers'
 * admin_auth to write). */
static int conf_zk_open(const struct cfg *cfg, char *const *auth, struct zk **ret_zk,
                        char **ret_path) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!cfg->zk.prefix) {
                fprintf(stderr, "cgarch: [zookeeper] prefix is not set in %s\n",
                        cfg->path ? cfg->path : "the config file");
                return -EINVAL;
        }
        r = zk_path_join(cfg->zk.prefix, "arch_conf", &path);
        if (r < 0) {
                fprintf(stderr, "cgarch: [zookeeper] prefix '%s' is not a ZooKeeper path\n",
                        cfg->zk.prefix);
                return r;
        }
        r = zk_new(cfg->zk.hosts, cfg->zk.session_timeout_ms, (char **) auth, ret_zk);
        if (r < 0) {
                fprintf(stderr, "cgarch: [zookeeper] hosts '%s' or auth is invalid\n",
                        cfg->zk.hosts);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

int cgarch_zk_read_conf(const struct cfg *cfg, char **ret_text, int64_t *ret_version) {
        _cleanup_(zk_freep) struct zk *z = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = conf_zk_open(cfg, cfg->zk.auth, &z, &path);
        if (r < 0)
                return r;
        r = zk_get_sync(z, path, conf_zk_deadline(cfg), ret_text, NULL, ret_version);
        if (r < 0)
                return conf_zk_error(cfg, path, "reading", r);
        return 0;
}

static void conf_usage(FILE *f) {
        fprintf(f,
                "Usage: cgarch conf get [-q] [--json | --version-only]\n"
                "       cgarch conf put [-q] [--expect-version N] [--dry-run]\n"
                "                       [--admin-auth digest:USER:PASSWORD] FILE|-\n"
                "get prints the arch conf held in ZooKeeper (<prefix>/arch_conf) as stored on\n"
                "stdout and its version on stderr; --json prints {\"version\": N, \"value\": "
                "conf},\n"
                "--version-only the version alone. put validates FILE (\"-\": stdin) first and\n"
                "refuses an invalid conf; creates the node and its parents if missing. put writes\n"
                "as the admin identity (--admin-auth, else [zookeeper] admin_auth) and a node it\n"
                "creates gets the ACL: admin all rights, the hosts' [zookeeper] auth read only.\n"
                "Without an admin identity the writer is [zookeeper] auth, which then owns the\n"
                "node. --expect-version N writes only if the node is still at version N\n"
                "(compare-and-set); --dry-run validates and writes nothing. -q, --quiet: print\n"
                "only errors and warnings (get still prints the conf). A put whose answer is\n"
                "lost is never resent: the node is read back and compared (exit 0 written, 1 not\n"
                "written, 3 unknown).\n");
}

static int conf_get(int argc, char **argv, const struct cfg *cfg, bool quiet) {
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {"version-only", no_argument, NULL, 'V'},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *text = NULL;
        bool json = false, version_only = false;
        int64_t version = -1;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:hq", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'V':
                        version_only = true;
                        break;
                case 'h':
                        conf_usage(stdout);
                        return 0;
                default:
                        fprintf(stderr, "cgarch: conf get: unknown option '%s'\n",
                                argv[optind - 1]);
                        conf_usage(stderr);
                        return 2;
                }
        }
        if (optind < argc || (json && version_only)) {
                conf_usage(stderr);
                return 2;
        }
        r = cgarch_zk_read_conf(cfg, &text, &version);
        if (r < 0)
                return 1;
        if (version_only) {
                printf("%" PRId64 "\n", version);
                return 0;
        }
        if (json) {
                cJSON *v = cJSON_Parse(text), *o = cJSON_CreateObject();
                char *s = NULL;
                if (!v) {
                        fprintf(stderr,
                                "cgarch: conf get: the node (version %" PRId64
                                ") does not hold JSON\n",
                                version);
                        cJSON_Delete(o);
                        return 1;
                }
                if (o && cJSON_AddNumberToObject(o, "version", (double) version) &&
                    cJSON_AddItemToObject(o, "value", v))
                        s = cJSON_PrintUnformatted(o);
                else
                        cJSON_Delete(v);
                cJSON_Delete(o);
                if (!s) {
                        fprintf(stderr, "cgarch: out of memory\n");
                        return 1;
                }
                printf("%s\n", s);
                free(s);
                return 0;
        }
        fputs(text, stdout);
        if (!*text || text[strlen(text) - 1] != '\n')
                putchar('\n');
        if (!quiet)
                fprintf(stderr, "version %" PRId64 "\n", version);
        return 0;
}

/* The errors after which a request that was sent may or may not have been applied. */
static bool conf_outcome_unknown(int err) {
        return err == -ETIMEDOUT || err == -ENOTCONN || err == -ECONNRESET || err == -ECANCELED ||
               err == -EIO;
}

static int conf_read_input(const char *file, char **ret, size_t *ret_len) {
        if (strcmp(file, "-") == 0)
                return read_full_file("/dev/stdin", ret, ret_len);
        return read_full_file(file, ret, ret_len);
}

/* One write: set (with the expected version) or, when the node is missing and no version is
 * expected, create it with its parents. Returns the new version in *ret_version. *ret_in_flight
 * is true when it fails while a set or create of the node was sent and not answered: that write
 * may or may not have landed, and only reading the node back can tell. */
static int conf_write(struct zk *z, const struct ACL_vector *acl, const char *path,
                      const char *data, size_t len, int64_t expect, uint64_t deadline,
                      int64_t *ret_version, bool *ret_in_flight) {
        int r;

        *ret_in_flight = false;
        r = zk_wait_connected(z, deadline);
        if (r < 0)
                return r;
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;

                r = zk_set(z, path, data, len, expect >= 0 ? (int) expect : -1, 1);
                if (r < 0)
                        return r;
                *ret_in_flight = true;
                r = zk_wait_done(z, 1, deadline, &ev);
                if (r < 0)
                        return r;
                /* Answered: a lost connection (ZCONNECTIONLOSS) or a server-side timeout leaves
                 * the outcome unknown; every other answer is final. */
                *ret_in_flight = conf_outcome_unknown(ev->err);
                if (ev->err != -ENOENT || expect >= 0) {
                        if (ev->err == 0)
                                *ret_version = ev->version;
                        return ev->err;
                }
                zk_event_free(TAKE_PTR(ev));

                /* Missing: create parents, then the node; EEXIST means somebody was faster, so
                 * set again. */
                r = zk_create_parents_sync(z, path, acl, deadline);
                if (r < 0)
                        return r;
                r = zk_create(z, path, data, len, acl, 2);
                if (r < 0)
                        return r;
                *ret_in_flight = true;
                r = zk_wait_done(z, 2, deadline, &ev);
                if (r < 0)
                        return r;
                *ret_in_flight = conf_outcome_unknown(ev->err);
                if (ev->err == 0) {
                        *ret_version = 0;
                        return 0;
                }
                if (ev->err != -EEXIST)
                        return ev->err;
        }
        return -EAGAIN;
}

static void conf_print_written(const char *path, int64_t version, const struct conf *conf,
                               const char *how) {
        fprintf(stderr, "cgarch: wrote %s version %" PRId64 " (%zu %s)%s\n", path, version,
                conf->n_nodes, conf->n_nodes == 1 ? "cgroup" : "cgroups", how);
}

/* The exit status of a put whose outcome stays unknown (documented in cgarch(1)). */
#define CONF_EXIT_UNKNOWN 3

static const char *conf_fault_words(int err) {
        switch (err) {
        case -ETIMEDOUT:
                return "no answer in time";
        case -ENOTCONN:
                return "the connection was lost";
        case -ECONNRESET:
                return "the session expired";
        default:
                return strerror(-err);
        }
}

/* A set or create was sent and its answer never came (`err`): the conf may or may not be in the
 * node. Resending could overwrite a newer conf written meanwhile, so instead the node is read
 * back in a new session and compared byte for byte with what was sent. The old session is
 * closed first: its close request goes out behind the write on the same connection, and
 * ZooKeeper handles the requests of a session in order. The read gets one more deadline of its
 * own. Returns the exit status. */
static int conf_read_back(const struct cfg *cfg, struct zk *z, const char *path, const char *data,
                          size_t len, int err, const struct conf *conf, bool quiet) {
        _cleanup_free_ char *cur = NULL;
        size_t cur_len = 0;
        int64_t cur_version = -1;
        int ms = CLAMP(cfg->zk.session_timeout_ms, 2000, 30000);
        const char *fault = conf_fault_words(err);
        int r;

        zk_disconnect(z);
        r = zk_get_sync(z, path, now_usec(CLOCK_MONOTONIC) + (uint64_t) ms * USEC_PER_MSEC, &cur,
                        &cur_len, &cur_version);
        if (r == 0 && cur_len == len && memcmp(cur, data, len) == 0) {
                _cleanup_free_ char *how = NULL;
                if (!quiet &&
                    xasprintf(&how, " (confirmed by reading it back after %s)", fault) >= 0)
                        conf_print_written(path, cur_version, conf, how);
                return 0;
        }
        if (r == 0) {
                fprintf(stderr,
                        "cgarch: conf put: writing %s: %s; read back, the node is at version "
                        "%" PRId64 " and does not hold this conf: the write did not land, "
                        "nothing else was written (look with `cgarch conf get`, then put again "
                        "with --expect-version %" PRId64 ")\n",
                        path, fault, cur_version, cur_version);
                return 1;
        }
        if (r == -ENOENT) {
                fprintf(stderr,
                        "cgarch: conf put: writing %s: %s; read back, the node does not exist: "
                        "the write did not land, nothing else was written\n",
                        path, fault);
                return 1;
        }
        fprintf(stderr,
                "cgarch: conf put: writing %s: %s, and reading it back failed too (%s): the "
                "write's outcome is unknown; nothing else was written (look with `cgarch conf "
                "get` before putting again)\n",
                path, fault, conf_fault_words(r));
        return CONF_EXIT_UNKNOWN;
}

static int conf_put(int argc, char **argv, const struct cfg *cfg, bool quiet) {
        static const struct option options[] = {
                {"expect-version", required_argument, NULL, 'e'},
                {"dry-run", no_argument, NULL, 'n'},
                {"quiet", no_argument, NULL, 'q'},
                {"admin-auth", required_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_strv_free_ char **admin = NULL;
        _cleanup_(zk_acl_freep) struct ACL_vector *acl_owned = NULL;
        const struct ACL_vector *acl = NULL;
        _cleanup_(zk_freep) struct zk *z = NULL;
        _cleanup_(conf_errors_clear) struct conf_errors errs = {};
        _cleanup_(conf_freep) struct conf *conf = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        const char *file;
        bool dry_run = false;
        int64_t expect = -1, version = -1;
        bool in_flight = false;
        uint64_t deadline;
        size_t len = 0;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:hnq", options, NULL)) >= 0) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'e':
                        if (safe_atoi64(optarg, &expect) < 0 || expect < 0 || expect > INT_MAX) {
                                fprintf(stderr,
                                        "cgarch: conf put: --expect-version '%s' is not a "
                                        "version (0..%d)\n",
                                        optarg, INT_MAX);
                                return 2;
                        }
                        break;
                case 'n':
                        dry_run = true;
                        break;
                case 'a': {
                        _cleanup_free_ char *u = NULL;
                        if (strncmp(optarg, "digest:", 7) != 0 || zk_auth_user(optarg, &u) < 0) {
                                fprintf(stderr, "cgarch: conf put: --admin-auth: expected "
                                                "'digest:user:password'\n");
                                return 2;
                        }
                        if (strv_extend(&admin, optarg) < 0)
                                return 1;
                        break;
                }
                case 'h':
                        conf_usage(stdout);
                        return 0;
                case ':':
                        fprintf(stderr, "cgarch: conf put: option '%s' needs an argument\n",
                                argv[optind - 1]);
                        return 2;
                default:
                        fprintf(stderr, "cgarch: conf put: unknown option '%s'\n",
                                argv[optind - 1]);
                        conf_usage(stderr);
                        return 2;
                }
        }
        if (argc - optind != 1) {
                conf_usage(stderr);
                return 2;
        }
        file = argv[optind];

        r = conf_read_input(file, &data, &len);
        if (r < 0) {
                fprintf(stderr, "cgarch: conf put: cannot read %s: %s\n", file, strerror(-r));
                return 1;
        }
        r = conf_parse(data, len, &conf, &errs);
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                if (r == -EINVAL && conf_errors_format(&errs, -1, &text) >= 0)
                        fprintf(stderr,
                                "cgarch: conf put: %s is not a valid arch conf, nothing "
                                "written:\n%s\n",
                                file, text);
                else
                        fprintf(stderr, "cgarch: conf put: %s: %s\n", file, strerror(-r));
                return 1;
        }
        /* A conf this host could not apply is refused here too, not only later by cg-syncd. */
        bool v2 = false;
        if (cgarch_check_v2_rules(file, conf, cfg, &v2) < 0) {
                fprintf(stderr, "cgarch: conf put: %s breaks the cgroup v2 rules of this host; "
                                "nothing written\n",
                        file);
                return 1;
        }
        if (dry_run) {
                if (!quiet)
                        fprintf(stderr,
                                "cgarch: conf put: %s is valid (%zu %s); not written "
                                "(--dry-run)\n",
                                file, conf->n_nodes, conf->n_nodes == 1 ? "cgroup" : "cgroups");
                return 0;
        }

        /* Who writes, and the ACL of a node this put creates: with an admin identity, the admins
         * get all rights and the hosts' identities ([zookeeper] auth) read only, so no host can
         * rewrite the fleet's conf. Without one, the old rule: the session's identity owns the
         * node (every host holding it can write), or no identity at all: world-open. */
        char *const *writers = cfg->zk.auth;
        if (strv_length(admin) == 0)
                for (char **a = cfg->zk.admin_auth; a && *a; a++)
                        if (strv_extend(&admin, *a) < 0)
                                return 1;
        if (strv_length(admin) > 0) {
                r = zk_acl_new(admin, cfg->zk.auth, &acl_owned);
                if (r < 0) {
                        fprintf(stderr, "cgarch: conf put: cannot build the ACL: %s\n",
                                strerror(-r));
                        return 1;
                }
                acl = acl_owned;
                writers = admin;
        } else if (strv_length(cfg->zk.auth) > 0) {
                acl = zk_acl_creator();
                if (!quiet)
                        fprintf(stderr, "cgarch: conf put: note: no admin identity ([zookeeper] "
                                        "admin_auth or --admin-auth): a node created now is "
                                        "writable by every host holding [zookeeper] auth\n");
        }
        r = conf_zk_open(cfg, writers, &z, &path);
        if (r < 0)
                return 1;
        deadline = conf_zk_deadline(cfg);
        r = conf_write(z, acl, path, data, len, expect, deadline, &version, &in_flight);
        if (r < 0 && in_flight)
                return conf_read_back(cfg, z, path, data, len, r, conf, quiet);
        if (r == -ESTALE) {
                _cleanup_free_ char *cur = NULL;
                int64_t cur_version = -1;
                if (zk_get_sync(z, path, deadline, &cur, NULL, &cur_version) >= 0)
                        fprintf(stderr,
                                "cgarch: conf put: version mismatch: expected %" PRId64
                                ", %s is at version %" PRId64 "; nothing written\n",
                                expect, path, cur_version);
                else
                        fprintf(stderr,
                                "cgarch: conf put: version mismatch: %s is no longer "
                                "at version %" PRId64 "; nothing written\n",
                                path, expect);
                return 1;
        }
        if (r == -ENOENT && expect >= 0) {
                fprintf(stderr,
                        "cgarch: conf put: %s does not exist, so it is not at version "
                        "%" PRId64 "; nothing written (drop --expect-version to create it)\n",
                        path, expect);
                return 1;
        }
        if (r < 0) {
                conf_zk_error(cfg, path, "writing", r);
                if (conf_outcome_unknown(r))
                        fprintf(stderr, "cgarch: conf put: the conf was never sent; nothing "
                                        "written\n");
                return 1;
        }
        if (!quiet)
                conf_print_written(path, version, conf, "");
        return 0;
}

int cgarch_cmd_conf(int argc, char **argv, const struct cfg *cfg, bool quiet) {
        if (argc < 2) {
                conf_usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "get") == 0)
                return conf_get(argc - 1, argv + 1, cfg, quiet);
        if (strcmp(argv[1], "put") == 0)
                return conf_put(argc - 1, argv + 1, cfg, quiet);
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                conf_usage(stdout);
                return 0;
        }
        fprintf(stderr, "cgarch: conf: unknown command '%s'\n", argv[1]);
        conf_usage(stderr);
        return 2;
}
