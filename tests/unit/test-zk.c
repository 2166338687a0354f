/* test-zk.c — the pure parts of common/zk.c: auth entries, host lists, paths, error mapping,
 * client log lines; and the event queue without a server. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <zookeeper/zookeeper.h>

#include "tap.h"
#include "util.h"
#include "zk.h"

static void test_auth_parse(void) {
        char *s = NULL, *c = NULL;

        CHECK_INT(zk_auth_parse("digest:super:123456", &s, &c), 0);
        CHECK_STR(s, "digest");
        CHECK_STR(c, "super:123456");
        free(s);
        free(c);
        s = c = NULL;
        /* a password may hold ':' */
        CHECK_INT(zk_auth_parse("digest:alice:a:b", &s, &c), 0);
        CHECK_STR(c, "alice:a:b");
        free(s);
        free(c);
        s = c = NULL;
        CHECK_INT(zk_auth_parse("ip:127.0.0.1", &s, &c), 0);
        free(s);
        free(c);
        s = c = NULL;
        /* empty password is legal for digest (user:"") */
        CHECK_INT(zk_auth_parse("digest:bob:", &s, &c), 0);
        free(s);
        free(c);
        s = c = NULL;

        CHECK_INT(zk_auth_parse("digest", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse("digest:", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse("digest:nopassword", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse("digest::pw", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse(":user:pw", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse("dig est:u:p", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse("digest:u:p\n", &s, &c), -EINVAL);
        CHECK_INT(zk_auth_parse(NULL, &s, &c), -EINVAL);
        CHECK(s == NULL && c == NULL);

        CHECK_INT(zk_auth_user("digest:alice:secret", &s), 0);
        CHECK_STR(s, "alice");
        free(s);
        CHECK_INT(zk_auth_user("digest:alice", &s), -EINVAL);
}

static void test_hosts_check(void) {
        CHECK_INT(zk_hosts_check("127.0.0.1:2181"), 0);
        CHECK_INT(zk_hosts_check("a:1,b:2,c:65535"), 0);
        CHECK_INT(zk_hosts_check("zk1.example.com:2181/chroot/x"), 0);
        CHECK_INT(zk_hosts_check("[::1]:2181"), 0);
        CHECK_INT(zk_hosts_check(""), -EINVAL);
        CHECK_INT(zk_hosts_check(NULL), -EINVAL);
        CHECK_INT(zk_hosts_check("127.0.0.1"), -EINVAL);
        CHECK_INT(zk_hosts_check("127.0.0.1:"), -EINVAL);
        CHECK_INT(zk_hosts_check(":2181"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:0"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:65536"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:21a1"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:2181,"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:2181,,g:1"), -EINVAL);
        CHECK_INT(zk_hosts_check("h :2181"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:2181/"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:2181/a/../b"), -EINVAL);
        CHECK_INT(zk_hosts_check("h:123456"), -EINVAL);
}

static void test_paths(void) {
        char *p = NULL;
        char **l = NULL;

        CHECK(zk_path_is_valid("/"));
        CHECK(zk_path_is_valid("/a"));
        CHECK(zk_path_is_valid("/a/b.c/d-e"));
        CHECK(!zk_path_is_valid(""));
        CHECK(!zk_path_is_valid("a"));
        CHECK(!zk_path_is_valid("/a/"));
        CHECK(!zk_path_is_valid("//a"));
        CHECK(!zk_path_is_valid("/a/./b"));
        CHECK(!zk_path_is_valid("/a/.."));
        CHECK(!zk_path_is_valid("/a\tb"));
        CHECK(!zk_path_is_valid(NULL));

        CHECK_INT(zk_path_join("/cgrouparch", "arch_conf", &p), 0);
        CHECK_STR(p, "/cgrouparch/arch_conf");
        free(p);
        CHECK_INT(zk_path_join("/", "arch_conf", &p), 0);
        CHECK_STR(p, "/arch_conf");
        free(p);
        p = NULL;
        CHECK_INT(zk_path_join("cgrouparch", "arch_conf", &p), -EINVAL);
        CHECK_INT(zk_path_join("/x/", "arch_conf", &p), -EINVAL);
        CHECK_INT(zk_path_join("/x", "a/b", &p), -EINVAL);
        CHECK_INT(zk_path_join("/x", "", &p), -EINVAL);
        CHECK(p == NULL);

        CHECK_INT(zk_path_parents("/a/b/c", &l), 0);
        CHECK_INT(strv_length(l), 2);
        CHECK_STR(l[0], "/a");
        CHECK_STR(l[1], "/a/b");
        strv_free(l);
        CHECK_INT(zk_path_parents("/a", &l), 0);
        CHECK_INT(strv_length(l), 0);
        strv_free(l);
        CHECK_INT(zk_path_parents("a/b", &l), -EINVAL);
}

static void test_errno(void) {
        CHECK_INT(zk_errno(ZOK), 0);
        CHECK_INT(zk_errno(ZNONODE), -ENOENT);
        CHECK_INT(zk_errno(ZNOAUTH), -EACCES);
        CHECK_INT(zk_errno(ZAUTHFAILED), -EPERM);
        CHECK_INT(zk_errno(ZBADVERSION), -ESTALE);
        CHECK_INT(zk_errno(ZNODEEXISTS), -EEXIST);
        CHECK_INT(zk_errno(ZCONNECTIONLOSS), -ENOTCONN);
        CHECK_INT(zk_errno(ZOPERATIONTIMEOUT), -ETIMEDOUT);
        CHECK_INT(zk_errno(ZSESSIONEXPIRED), -ECONNRESET);
        CHECK_INT(zk_errno(ZINVALIDSTATE), -ECONNRESET);
        CHECK_INT(zk_errno(ZCLOSING), -ECANCELED);
        CHECK_INT(zk_errno(-9999), -EIO);
        CHECK(strlen(zk_rc_string(ZNOAUTH)) > 0);
}

static void test_log_parse(void) {
        const char *m;
        int prio;

        zk_log_parse("2024-01-01 12:00:00,123:4242(0x7f12):ZOO_ERROR@handle_socket_error_msg@2185: "
                     "Socket [127.0.0.1:1] zk retcode=-4, errno=111(Connection refused)",
                     &prio, &m);
        CHECK_INT(prio, LOG_ERR);
        CHECK(strncmp(m, "handle_socket_error_msg@2185: Socket", 36) == 0);
        zk_log_parse("x:ZOO_WARN@f@1: w", &prio, &m);
        CHECK_INT(prio, LOG_WARNING);
        CHECK_STR(m, "f@1: w");
        zk_log_parse("x:ZOO_INFO@f@1: i", &prio, &m);
        CHECK_INT(prio, LOG_INFO);
        zk_log_parse("x:ZOO_DEBUG@f@1: d", &prio, &m);
        CHECK_INT(prio, LOG_DEBUG);
        zk_log_parse("no marker here", &prio, &m);
        CHECK_INT(prio, LOG_INFO);
        CHECK_STR(m, "no marker here");
        zk_log_parse("", &prio, &m);
        CHECK_STR(m, "");
}

static void test_new_validates(void) {
        struct zk *z = NULL;
        char *good[] = {"digest:super:123456", NULL};
        char *bad[] = {"digest:super:123456", "digest:nopw", NULL};

        CHECK_INT(zk_new("127.0.0.1:2181", 4000, good, &z), 0);
        CHECK(z != NULL);
        CHECK(zk_fd(z) >= 0);
        CHECK_INT(zk_session_id(z), 0);
        /* no session: requests refused, nothing queued */
        CHECK_INT(zk_get(z, "/x", true, 1), -ENOTCONN);
        {
                struct zk_event *ev = NULL;
                CHECK_INT(zk_next_event(z, &ev), 0);
        }
        z = zk_free(z);
        CHECK(z == NULL);
        CHECK_INT(zk_new("127.0.0.1:2181", 4000, bad, &z), -EINVAL);
        CHECK_INT(zk_new("nohost", 4000, NULL, &z), -EINVAL);
        CHECK_INT(zk_new("127.0.0.1:2181", 0, NULL, &z), -EINVAL);
        CHECK(z == NULL);
}

/* Without a server: connect to a closed port, the blocking helper must time out on its
 * deadline (not hang), and closing must be clean. */
static void test_wait_times_out(void) {
        struct zk *z = NULL;
        uint64_t t0, dt;
        char *data = NULL;

        zk_set_log_handler(NULL, LOG_WARNING);
        CHECK_INT(zk_new("127.0.0.1:1", 4000, NULL, &z), 0);
        t0 = now_usec(CLOCK_MONOTONIC);
        CHECK_INT(zk_get_sync(z, "/x", t0 + 300 * USEC_PER_MSEC, &data, NULL, NULL), -ETIMEDOUT);
        dt = now_usec(CLOCK_MONOTONIC) - t0;
        CHECK(dt >= 290 * USEC_PER_MSEC && dt < 2 * USEC_PER_SEC);
        CHECK(data == NULL);
        zk_free(z);
}

/* The digest id is what ZooKeeper's DigestAuthenticationProvider computes: the superDigest of
 * super:123456 from MACHINE.md. The ACL gives the admins all rights and the readers read. */
static void test_acl(void) {
        char *id = NULL;
        char *admins[] = {(char *) "digest:super:123456", NULL};
        char *readers[] = {(char *) "digest:host:pw", (char *) "digest:host2:pw2", NULL};
        struct ACL_vector *acl = NULL;

        CHECK_INT(zk_digest_id("digest:super:123456", &id), 0);
        CHECK_STR(id, "super:BBO7K8dPkoek/JxIHqXxM75QRpI=");
        free(id);
        id = NULL;
        CHECK_INT(zk_digest_id("ip:127.0.0.1", &id), -EINVAL);
        CHECK_INT(zk_digest_id("digest:nopassword", &id), -EINVAL);
        CHECK(id == NULL);

        CHECK_INT(zk_acl_new(admins, readers, &acl), 0);
        CHECK(acl && acl->count == 3);
        if (acl && acl->count == 3) {
                CHECK_INT(acl->data[0].perms, ZOO_PERM_ALL);
                CHECK_STR(acl->data[0].id.scheme, "digest");
                CHECK_STR(acl->data[0].id.id, "super:BBO7K8dPkoek/JxIHqXxM75QRpI=");
                CHECK_INT(acl->data[1].perms, ZOO_PERM_READ);
                CHECK(strncmp(acl->data[1].id.id, "host:", 5) == 0);
                CHECK_INT(acl->data[2].perms, ZOO_PERM_READ);
        }
        zk_acl_free(acl);
        acl = NULL;
        CHECK_INT(zk_acl_new(readers + 2, readers, &acl), -EINVAL); /* no admin: refused */
        CHECK(acl == NULL);
}

int main(void) {
        RUN(test_auth_parse);
        RUN(test_acl);
        RUN(test_hosts_check);
        RUN(test_paths);
        RUN(test_errno);
        RUN(test_log_parse);
        RUN(test_new_validates);
        RUN(test_wait_times_out);
        return TAP_END();
}
