/* zk-ctl — a small ZooKeeper client for the cg-syncd tests and bench (through common/zk.c).
 *   zk-ctl [-a AUTH]... [-t TIMEOUT_MS] HOSTS get PATH        data on stdout, version on stderr
 *   zk-ctl ... HOSTS set PATH DATA|@FILE [VERSION]            new version on stdout
 *   zk-ctl ... HOSTS create PATH DATA|@FILE [open|creator]    parents too (open ACL)
 *   zk-ctl ... HOSTS delete PATH
 *   zk-ctl ... HOSTS getacl PATH                              "scheme:id perms" lines (cdrwa)
 *   zk-ctl ... HOSTS churn PATH N                             N sets of valid confs, one at a
 *                                                             time; the last version on stdout
 * Exit 0 on success, 1 with a message on failure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "util.h"
#include "zk.h"

static uint64_t deadline;

static int load(const char *arg, char **ret, size_t *len) {
        if (arg[0] == '@')
                return read_full_file(arg + 1, ret, len);
        *ret = strdup(arg);
        *len = strlen(arg);
        return *ret ? 0 : -ENOMEM;
}

static int op_wait(struct zk *z, uint64_t cookie, struct zk_event **ev) {
        int r = zk_wait_done(z, cookie, deadline, ev);
        if (r < 0)
                return r;
        return (*ev)->err;
}

static int do_set(struct zk *z, const char *path, const char *data, size_t len, int version,
                  int64_t *ret_version) {
        _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
        static uint64_t cookie = 1;
        int r;

        r = zk_set(z, path, data, len, version, ++cookie);
        if (r < 0)
                return r;
        r = op_wait(z, cookie, &ev);
        if (r >= 0 && ret_version)
                *ret_version = ev->version;
        return r;
}

/* getacl goes to the C client directly: common/zk.c has no use for reading ACLs. */
static int do_getacl(const char *hosts, char **auth, const char *path) {
        struct ACL_vector acl = {0};
        struct Stat st;
        zhandle_t *zh;
        int rc;

        zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
        zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
        if (!zh)
                return 1;
        for (char **a = auth; a && *a; a++) {
                const char *colon = strchr(*a, ':');
                _cleanup_free_ char *scheme = colon ? strndup(*a, (size_t) (colon - *a)) : NULL;
                if (!scheme || zoo_add_auth(zh, scheme, colon + 1, (int) strlen(colon + 1), NULL,
                                            NULL) != ZOK) {
                        zookeeper_close(zh);
                        return 1;
                }
        }
        for (int i = 0; i < 100 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
                (void) nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
        rc = zoo_get_acl(zh, path, &acl, &st);
        if (rc != ZOK) {
                fprintf(stderr, "zk-ctl: getacl %s: %s\n", path, zerror(rc));
                zookeeper_close(zh);
                return 1;
        }
        for (int32_t i = 0; i < acl.count; i++) {
                int p = acl.data[i].perms;
                printf("%s:%s %s%s%s%s%s\n", acl.data[i].id.scheme, acl.data[i].id.id,
                       p & ZOO_PERM_CREATE ? "c" : "", p & ZOO_PERM_DELETE ? "d" : "",
                       p & ZOO_PERM_READ ? "r" : "", p & ZOO_PERM_WRITE ? "w" : "",
                       p & ZOO_PERM_ADMIN ? "a" : "");
        }
        deallocate_ACL_vector(&acl);
        zookeeper_close(zh);
        return 0;
}

static int die(const char *what, int r) {
        fprintf(stderr, "zk-ctl: %s: %s\n", what, strerror(-r));
        return 1;
}

int main(int argc, char **argv) {
        _cleanup_(zk_freep) struct zk *z = NULL;
        _cleanup_strv_free_ char **auth = NULL;
        _cleanup_free_ char *data = NULL;
        const char *hosts, *cmd, *path;
        int timeout_ms = 10000, c, r;
        size_t len = 0;

        while ((c = getopt(argc, argv, "+a:t:")) >= 0) {
                if (c == 'a')
                        strv_extend(&auth, optarg);
                else if (c == 't')
                        timeout_ms = atoi(optarg);
                else
                        return 2;
        }
        if (argc - optind < 3) {
                fprintf(stderr, "usage: zk-ctl [-a AUTH] HOSTS get|set|create|delete|churn PATH "
                                "...\n");
                return 2;
        }
        hosts = argv[optind];
        cmd = argv[optind + 1];
        path = argv[optind + 2];
        argv += optind + 3;
        argc -= optind + 3;

        if (strcmp(cmd, "getacl") == 0)
                return do_getacl(hosts, auth, path);
        deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000;
        r = zk_new(hosts, 10000, auth, &z);
        if (r < 0)
                return die("zk_new", r);
        r = zk_wait_connected(z, deadline);
        if (r < 0)
                return die("connect", r);

        if (strcmp(cmd, "get") == 0) {
                int64_t v;
                r = zk_get_sync(z, path, deadline, &data, &len, &v);
                if (r < 0)
                        return die(path, r);
                fwrite(data, 1, len, stdout);
                fprintf(stderr, "version %" PRId64 "\n", v);
        } else if (strcmp(cmd, "set") == 0 && argc >= 1) {
                int64_t v = -1;
                if ((r = load(argv[0], &data, &len)) < 0)
                        return die(argv[0], r);
                r = do_set(z, path, data, len, argc >= 2 ? atoi(argv[1]) : -1, &v);
                if (r < 0)
                        return die(path, r);
                printf("%" PRId64 "\n", v);
        } else if (strcmp(cmd, "create") == 0 && argc >= 1) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
                bool creator = argc >= 2 && strcmp(argv[1], "creator") == 0;
                if ((r = load(argv[0], &data, &len)) < 0)
                        return die(argv[0], r);
                r = zk_create_parents_sync(z, path, NULL, deadline);
                if (r < 0)
                        return die("parents", r);
                r = zk_create(z, path, data, len, creator ? zk_acl_creator() : NULL, 1);
                if (r >= 0)
                        r = op_wait(z, 1, &ev);
                if (r < 0)
                        return die(path, r);
        } else if (strcmp(cmd, "delete") == 0) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
                r = zk_delete(z, path, -1, 1);
                if (r >= 0)
                        r = op_wait(z, 1, &ev);
                if (r < 0)
                        return die(path, r);
        } else if (strcmp(cmd, "churn") == 0 && argc >= 1) {
                int n = atoi(argv[0]);
                int64_t v = -1;
                deadline = now_usec(CLOCK_MONOTONIC) + 120 * USEC_PER_SEC;
                for (int i = 0; i < n; i++) {
                        char buf[256];
                        int l = snprintf(buf, sizeof(buf),
                                         "{\"cpu\": {\"sub_cgroup\": {\"churn_a\": {\"conf\": "
                                         "{\"share\": %d}}, \"churn_b\": {\"conf\": {\"share\": "
                                         "%d}}}}}",
                                         2 + i % 1000, 1024);
                        r = do_set(z, path, buf, (size_t) l, -1, &v);
                        if (r < 0)
                                return die(path, r);
                }
                printf("%" PRId64 "\n", v);
        } else {
                fprintf(stderr, "zk-ctl: unknown command '%s' or missing argument\n", cmd);
                return 2;
        }
        return 0;
}
