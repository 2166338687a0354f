/* test-ini.c — the local config file parser: defaults, every key, every error (file, line, key). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "plan.h"
#include "cgfs.h"
#include "ini.h"
#include "util.h"

static struct cfg *parse_ok(const char *text) {
        struct cfg *c = NULL;
        char *err = NULL;
        int r = cfg_parse_string(text, "t.conf", &c, &err);

        if (r < 0)
                printf("#   unexpected error %d: %s\n", r, err ? err : "(none)");
        CHECK_INT(r, 0);
        CHECK(err == NULL);
        free(err);
        return c;
}

/* Parses text that must fail and checks the whole message. */
static void parse_err(const char *text, const char *want) {
        struct cfg *c = NULL;
        char *err = NULL;
        int r = cfg_parse_string(text, "t.conf", &c, &err);

        CHECK_INT(r, -EINVAL);
        CHECK(c == NULL);
        CHECK_STR(err, want);
        free(err);
        cfg_free(c);
}

static void test_defaults(void) {
        struct cfg *c = NULL;

        CHECK_INT(cfg_new_default(&c), 0);
        CHECK_STR(c->zk.hosts, "127.0.0.1:2181");
        CHECK(c->zk.prefix == NULL);
        CHECK(c->zk.auth && c->zk.auth[0] == NULL);
        CHECK_INT(c->zk.session_timeout_ms, 10000);
        CHECK_STR(c->cg.dir, "/sys/fs/cgroup");
        CHECK_STR(c->cg.root, "cgrouparch"); /* never the hierarchy roots by default */
        CHECK(cfg_root_warning(c) == NULL);
        CHECK(c->zk.admin_auth && c->zk.admin_auth[0] == NULL);
        CHECK_STR(c->systemd.bus, "system");
        CHECK(!c->systemd.restart_services);
        CHECK(c->cg.protected_names && c->cg.protected_names[0] == NULL);
        CHECK_INT(c->cg.mode, CGFS_MODE_AUTO);
        CHECK_INT(c->taskd.interval_sec, 30);
        CHECK_INT(c->n_pid_files, 0);
        CHECK_STR(c->redis.host, "127.0.0.1");
        CHECK_INT(c->redis.port, 6379);
        CHECK(c->redis.password == NULL);
        CHECK_STR(c->redis.prefix, "cgroup_arch");
        CHECK_INT(c->redis.expire_sec, 300);
        CHECK_STR(c->wsd.bind, "127.0.0.1");
        CHECK_INT(c->wsd.port, 43409);
        CHECK_INT(c->wsd.max_clients, 1024);
        CHECK(c->wsd.allowed_origins && c->wsd.allowed_origins[0] == NULL);
        CHECK(c->wsd.token == NULL);
        CHECK(c->wsd.www_dir && strstr(c->wsd.www_dir, "/share/cgrouparch/www"));
        CHECK_STR(c->daemon.runtime_dir, "/run/cgrouparch");
        CHECK(!c->accountd.reset_on_start);
        cfg_free(c);
}

static void test_empty_file_is_defaults(void) {
        struct cfg *c = parse_ok("# nothing but comments\n; and this\n\n");

        if (!c)
                return;
        CHECK_STR(c->path, "t.conf");
        CHECK_STR(c->zk.hosts, "127.0.0.1:2181");
        CHECK_INT(c->wsd.port, 43409);
        cfg_free(c);
}

static void test_every_key(void) {
        struct cfg *c = parse_ok("[zookeeper]\n"
                                 "hosts = zk1:2181,zk2:2181\n"
                                 "prefix = /cgrouparch/prod\n"
                                 "auth = digest:user:pass\n"
                                 "auth = digest:other:p:w:d\n"
                                 "session_timeout_ms = 4000\n"
                                 "[cgroup]\n"
                                 "dir = /tmp/cg\n"
                                 "root = cgrouparch/managed\n"
                                 "protected = keep_me other.one\n"
                                 "protected = third\n"
                                 "mode = v2\n"
                                 "[taskd]\n"
                                 "interval = 5\n"
                                 "[pid_files]\n"
                                 "web = /run/nginx.pid /run/php-fpm/*.pid\n"
                                 "db = /run/postgresql/*.pid\n"
                                 "web = /run/extra.pid\n"
                                 "[redis]\n"
                                 "host = redis.example\n"
                                 "port = 6380\n"
                                 "password = s3cret with spaces\n"
                                 "prefix = arch\n"
                                 "expire = 60\n"
                                 "[wsd]\n"
                                 "bind = 0.0.0.0\n"
                                 "port = 8080\n"
                                 "max_clients = 10\n"
                                 "allowed_origins = http://a.example https://b.example\n"
                                 "token = tok\n"
                                 "www_dir = /srv/www\n"
                                 "[daemon]\n"
                                 "runtime_dir = /tmp/run\n"
                                 "[accountd]\n"
                                 "reset_on_start = yes\n");
        if (!c)
                return;
        CHECK_STR(c->zk.hosts, "zk1:2181,zk2:2181");
        CHECK_STR(c->zk.prefix, "/cgrouparch/prod");
        CHECK_INT(strv_length(c->zk.auth), 2);
        CHECK_STR(c->zk.auth[0], "digest:user:pass");
        CHECK_STR(c->zk.auth[1], "digest:other:p:w:d");
        CHECK_INT(c->zk.session_timeout_ms, 4000);
        CHECK_STR(c->cg.dir, "/tmp/cg");
        CHECK_STR(c->cg.root, "cgrouparch/managed");
        CHECK_INT(strv_length(c->cg.protected_names), 3);
        CHECK(strv_contains(c->cg.protected_names, "keep_me"));
        CHECK(strv_contains(c->cg.protected_names, "other.one"));
        CHECK(strv_contains(c->cg.protected_names, "third"));
        CHECK_INT(c->cg.mode, CGFS_MODE_V2);
        CHECK_INT(c->taskd.interval_sec, 5);
        CHECK_INT(c->n_pid_files, 2);
        if (c->n_pid_files == 2) {
                CHECK_STR(c->pid_files[0].name, "web");
                CHECK_INT(strv_length(c->pid_files[0].patterns), 3);
                CHECK_STR(c->pid_files[0].patterns[0], "/run/nginx.pid");
                CHECK_STR(c->pid_files[0].patterns[1], "/run/php-fpm/*.pid");
                CHECK_STR(c->pid_files[0].patterns[2], "/run/extra.pid");
                CHECK_STR(c->pid_files[1].name, "db");
                CHECK_INT(strv_length(c->pid_files[1].patterns), 1);
        }
        CHECK_STR(c->redis.host, "redis.example");
        CHECK_INT(c->redis.port, 6380);
        CHECK_STR(c->redis.password, "s3cret with spaces");
        CHECK_STR(c->redis.prefix, "arch");
        CHECK_INT(c->redis.expire_sec, 60);
        CHECK_STR(c->wsd.bind, "0.0.0.0");
        CHECK_INT(c->wsd.port, 8080);
        CHECK_INT(c->wsd.max_clients, 10);
        CHECK_INT(strv_length(c->wsd.allowed_origins), 2);
        CHECK_STR(c->wsd.allowed_origins[1], "https://b.example");
        CHECK_STR(c->wsd.token, "tok");
        CHECK_STR(c->wsd.www_dir, "/srv/www");
        CHECK_STR(c->daemon.runtime_dir, "/tmp/run");
        CHECK(c->accountd.reset_on_start);
        cfg_free(c);
}

static void test_modes_bools_comments(void) {
        static const struct {
                const char *v;
                int mode;
        } modes[] = {{"auto", CGFS_MODE_AUTO}, {"v1", CGFS_MODE_V1}, {"v2", CGFS_MODE_V2}};
        static const char *const yes[] = {"yes", "true", "on", "1", "YES"};
        static const char *const no[] = {"no", "false", "off", "0", "False"};
        char buf[128];

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                snprintf(buf, sizeof(buf), "[cgroup]\nmode = %s\n", modes[i].v);
                struct cfg *c = parse_ok(buf);
                if (c)
                        CHECK_INT(c->cg.mode, modes[i].mode);
                cfg_free(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                snprintf(buf, sizeof(buf), "[accountd]\nreset_on_start = %s\n", yes[i]);
                struct cfg *c = parse_ok(buf);
                if (c)
                        CHECK(c->accountd.reset_on_start);
                cfg_free(c);
                snprintf(buf, sizeof(buf), "[accountd]\nreset_on_start = %s\n", no[i]);
                c = parse_ok(buf);
                if (c)
                        CHECK(!c->accountd.reset_on_start);
                cfg_free(c);
        }
        /* full-line # and ; comments, inline comments after whitespace, indentation, spaces
         * in the section header and around '=', CRLF line ends */
        struct cfg *c = parse_ok("# a comment\n"
                                 "; another\n"
                                 "[ redis ]\r\n"
                                 "  port=7000   ; inline\r\n"
                                 "host = h # inline too\n"
                                 "   # indented comment\n");
        if (c) {
                CHECK_INT(c->redis.port, 7000);
                CHECK_STR(c->redis.host, "h");
        }
        cfg_free(c);
}

static void test_edges_accepted(void) {
        struct cfg *c;

        c = parse_ok("[zookeeper]\nprefix = /\n[redis]\nport = 65535\n[wsd]\nport = 1\n"
                     "[cgroup]\nroot = /\nprotected =\n");
        if (c) {
                CHECK_STR(c->zk.prefix, "/");
                CHECK_INT(c->redis.port, 65535);
                CHECK_INT(c->wsd.port, 1);
                CHECK_STR(c->cg.root, ""); /* `root = /`: the hierarchy root, written out */
                CHECK(cfg_root_warning(c) != NULL);
                CHECK_INT(strv_length(c->cg.protected_names), 0);
        }
        cfg_free(c);
        c = parse_ok("[taskd]\ninterval = 1\n[redis]\nexpire = 1\n[wsd]\nmax_clients = 1\n"
                     "[zookeeper]\nsession_timeout_ms = 2147483647\n");
        if (c) {
                CHECK_INT(c->taskd.interval_sec, 1);
                CHECK_INT(c->redis.expire_sec, 1);
                CHECK_INT(c->wsd.max_clients, 1);
                CHECK_INT(c->zk.session_timeout_ms, INT_MAX);
        }
        cfg_free(c);
}

static void test_long_line(void) {
        /* Lines far beyond inih's default 200 bytes are read whole. */
        size_t n = 8000;
        char *text = malloc(n + 64), *p;

        p = text + sprintf(text, "[pid_files]\nbig =");
        for (size_t i = 0; i < 400; i++)
                p += sprintf(p, " /run/p%zu.pid", i);
        strcpy(p, "\n[redis]\nport = 1234\n");
        struct cfg *c = parse_ok(text);
        if (c) {
                CHECK_INT(c->n_pid_files, 1);
                CHECK_INT(strv_length(c->pid_files[0].patterns), 400);
                CHECK_STR(c->pid_files[0].patterns[399], "/run/p399.pid");
                CHECK_INT(c->redis.port, 1234);
        }
        cfg_free(c);
        free(text);
}

static void test_pid_files_user(void) {
        struct cfg *c = parse_ok("[pid_files]\n"
                                 "web = user=www-data /run/nginx.pid /run/php/*.pid\n"
                                 "web = /run/extra.pid user=www-data\n"
                                 "db = /run/db.pid\n"
                                 "num = user=1000 /run/num.pid\n");
        if (c) {
                CHECK_INT(c->n_pid_files, 3);
                CHECK_STR(c->pid_files[0].user, "www-data");
                CHECK_INT(strv_length(c->pid_files[0].patterns), 3);
                CHECK_STR(c->pid_files[0].patterns[2], "/run/extra.pid");
                CHECK(c->pid_files[1].user == NULL);
                CHECK_STR(c->pid_files[2].user, "1000");
        }
        cfg_free(c);
        parse_err("[pid_files]\nweb = user=a user=b /run/x.pid\n",
                  "t.conf:2: [pid_files] web: user= given twice");
        parse_err("[pid_files]\nweb = user=a /run/x.pid\nweb = user=b /run/y.pid\n",
                  "t.conf:3: [pid_files] web: user=b conflicts with user=a given before");
        parse_err("[pid_files]\nweb = user=www\n",
                  "t.conf:2: [pid_files] web: no pid file paths or globs");
        parse_err("[pid_files]\nweb = user= /run/x.pid\n",
                  "t.conf:2: [pid_files] web: '' is not a valid user name or uid");
        parse_err("[pid_files]\nweb = user=-root /run/x.pid\n",
                  "t.conf:2: [pid_files] web: '-root' is not a valid user name or uid");
        parse_err("[pid_files]\nweb = user=a/b /run/x.pid\n",
                  "t.conf:2: [pid_files] web: 'a/b' is not a valid user name or uid");
        parse_err("[pid_files]\nweb = user=4294967295 /run/x.pid\n",
                  "t.conf:2: [pid_files] web: '4294967295' is not a valid user name or uid");
        parse_err("[pid_files]\nweb = user=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa /run/x.pid\n",
                  "t.conf:2: [pid_files] web: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a valid "
                  "user name or uid");
        parse_err("[pid_files]\nweb = User=a /run/x.pid\n",
                  "t.conf:2: [pid_files] web: 'User=a' is not an absolute path or glob");
}

/* A line over the limit is an error at its own line number; its tail is never a line of its
 * own (a key hidden at the end of a long comment must not be set). */
static void test_line_limit(void) {
        size_t big = 2u << 20, lim = 1u << 20;
        char *text = malloc(big + 256), *p, *err = NULL, want[128];
        struct cfg *c = NULL;

        if (!text)
                return;
        /* a 2 MiB comment line, then a good line */
        p = text + sprintf(text, "[wsd]\nport = 1\n# ");
        memset(p, 'x', big);
        p += big;
        p += sprintf(p, "\nmax_clients = 1\n");
        CHECK_INT(cfg_parse_string(text, "t.conf", &c, &err), -EINVAL);
        snprintf(want, sizeof(want), "t.conf:3: line too long (%zu bytes, the limit is %zu)",
                 big + 2, lim);
        CHECK_STR(err, want);
        free(err);
        err = NULL;

        /* the attack of issue 12: "max_clients = 1" right after the first MiB of a comment */
        p = text + sprintf(text, "[wsd]\n# ");
        memset(p, 'x', lim + 100 - 2);
        p += lim + 100 - 2;
        sprintf(p, " max_clients = 1\nport = 7\n");
        CHECK_INT(cfg_parse_string(text, "t.conf", &c, &err), -EINVAL);
        CHECK(err && strstr(err, "t.conf:2: line too long") == err);
        free(err);
        err = NULL;

        /* a later error keeps its own line number */
        p = text + sprintf(text, "[wsd]\n# ");
        memset(p, 'x', big);
        p += big;
        sprintf(p, "\n\n[nope]\n");
        CHECK_INT(cfg_parse_string(text, "t.conf", &c, &err), -EINVAL);
        CHECK(err && strstr(err, "t.conf:2: line too long") == err);
        free(err);
        err = NULL;

        /* exactly at the limit: accepted, and the next line is read as itself */
        p = text + sprintf(text, "[wsd]\n#");
        memset(p, 'x', lim - 1);
        p += lim - 1;
        sprintf(p, "\nmax_clients = 3\n");
        c = parse_ok(text);
        if (c)
                CHECK_INT(c->wsd.max_clients, 3);
        cfg_free(c);
        free(text);
}

static void test_errors_syntax_and_structure(void) {
        parse_err("[redis]\nport = 1\nbogus line\n",
                  "t.conf:3: syntax error: expected '[section]', 'key = value' or a comment");
        parse_err("[redis\nport = 1\n",
                  "t.conf:1: syntax error: expected '[section]', 'key = value' or a comment");
        parse_err("port = 1\n", "t.conf:1: port: key outside of any [section]");
        parse_err("\n\n[bogus]\nkey = 1\n", "t.conf:3: [bogus]: unknown section");
        parse_err("[redis]\n[nothing_here]\n", "t.conf:2: [nothing_here]: unknown section");
        parse_err("[redis]\nport = 1\n[redis]\nhots = x\n", "t.conf:4: [redis] hots: unknown key");
        parse_err("[redis]\nport = 1\nport = 2\n", "t.conf:3: [redis] port: given more than once");
        parse_err("[redis]\nport = 1\n[redis]\nport = 2\n",
                  "t.conf:4: [redis] port: given more than once");
        parse_err("[ZooKeeper]\nhosts = x\n", "t.conf:1: [ZooKeeper]: unknown section");
        /* only the first problem is reported */
        parse_err("[redis]\nport = x\nhost =\n", "t.conf:2: [redis] port: 'x' is not a number");
}

static void test_errors_numbers(void) {
        parse_err("[redis]\nport = 0\n", "t.conf:2: [redis] port: 0 is out of range (1..65535)");
        parse_err("[redis]\nport = 65536\n",
                  "t.conf:2: [redis] port: 65536 is out of range (1..65535)");
        parse_err("[redis]\nport = -1\n", "t.conf:2: [redis] port: '-1' is not a number");
        parse_err("[redis]\nport = 12ab\n", "t.conf:2: [redis] port: '12ab' is not a number");
        parse_err("[redis]\nport = 1 2\n", "t.conf:2: [redis] port: '1 2' is not a number");
        parse_err("[wsd]\nport = 99999999999999999999999\n",
                  "t.conf:2: [wsd] port: '99999999999999999999999' is not a number");
        parse_err("[redis]\nexpire = 0\n",
                  "t.conf:2: [redis] expire: 0 is out of range (1..4294967295)");
        parse_err("[taskd]\ninterval = 0\n",
                  "t.conf:2: [taskd] interval: 0 is out of range (1..4294967295)");
        parse_err("[taskd]\ninterval = 4294967296\n",
                  "t.conf:2: [taskd] interval: 4294967296 is out of range (1..4294967295)");
        parse_err("[wsd]\nmax_clients = 0\n",
                  "t.conf:2: [wsd] max_clients: 0 is out of range (1..4294967295)");
        parse_err("[zookeeper]\nsession_timeout_ms = 0\n",
                  "t.conf:2: [zookeeper] session_timeout_ms: 0 is out of range (1..2147483647)");
        parse_err("[zookeeper]\nsession_timeout_ms = 2147483648\n",
                  "t.conf:2: [zookeeper] session_timeout_ms: 2147483648 is out of range "
                  "(1..2147483647)");
        parse_err("[wsd]\nport =\n", "t.conf:2: [wsd] port: empty value");
}

static void test_errors_values(void) {
        parse_err("[accountd]\nreset_on_start = maybe\n",
                  "t.conf:2: [accountd] reset_on_start: 'maybe' is not a boolean (yes/no, "
                  "true/false, on/off, 1/0)");
        parse_err("[cgroup]\nmode = v3\n", "t.conf:2: [cgroup] mode: 'v3' is not one of auto, v1, v2, systemd");
        parse_err("[cgroup]\nmode = V1\n", "t.conf:2: [cgroup] mode: 'V1' is not one of auto, v1, v2, systemd");
        parse_err("[cgroup]\ndir = sys/fs/cgroup\n",
                  "t.conf:2: [cgroup] dir: 'sys/fs/cgroup' is not an absolute path");
        parse_err("[daemon]\nruntime_dir = run\n",
                  "t.conf:2: [daemon] runtime_dir: 'run' is not an absolute path");
        parse_err("[wsd]\nwww_dir = www\n", "t.conf:2: [wsd] www_dir: 'www' is not an absolute path");
        parse_err("[redis]\nhost = a b\n", "t.conf:2: [redis] host: 'a b' must not contain whitespace");
        parse_err("[redis]\nhost =\n", "t.conf:2: [redis] host: empty value");
        parse_err("[redis]\npassword =\n", "t.conf:2: [redis] password: empty value");
        parse_err("[redis]\nprefix = a b\n",
                  "t.conf:2: [redis] prefix: 'a b' must not contain whitespace");
        parse_err("[zookeeper]\nhosts =\n", "t.conf:2: [zookeeper] hosts: empty value");
        parse_err("[wsd]\ntoken =\n", "t.conf:2: [wsd] token: empty value");
        parse_err("[wsd]\nbind = \n", "t.conf:2: [wsd] bind: empty value");
}

static void test_errors_zk(void) {
        parse_err("[zookeeper]\nprefix = cgrouparch\n",
                  "t.conf:2: [zookeeper] prefix: 'cgrouparch' must be an absolute ZooKeeper path "
                  "starting with '/'");
        parse_err("[zookeeper]\nprefix = /a/\n",
                  "t.conf:2: [zookeeper] prefix: '/a/' must not end with '/'");
        parse_err("[zookeeper]\nprefix = /a//b\n",
                  "t.conf:2: [zookeeper] prefix: '/a//b' must not contain an empty path component "
                  "('//')");
        parse_err("[zookeeper]\nprefix = /a/../b\n",
                  "t.conf:2: [zookeeper] prefix: '/a/../b' must not contain '.' or '..' components");
        parse_err("[zookeeper]\nprefix = /a/./b\n",
                  "t.conf:2: [zookeeper] prefix: '/a/./b' must not contain '.' or '..' components");
        parse_err("[zookeeper]\nprefix =\n", "t.conf:2: [zookeeper] prefix: empty value");
        parse_err("[zookeeper]\nprefix = /a\nprefix = /b\n",
                  "t.conf:3: [zookeeper] prefix: given more than once");
        parse_err("[zookeeper]\nauth = user:pass\n",
                  "t.conf:2: [zookeeper] auth: expected 'digest:user:password' (only the digest "
                  "scheme is supported)");
        parse_err("[zookeeper]\nauth = digest:userpass\n",
                  "t.conf:2: [zookeeper] auth: expected 'digest:user:password' (user and password "
                  "must not be empty)");
        parse_err("[zookeeper]\nauth = digest::pass\n",
                  "t.conf:2: [zookeeper] auth: expected 'digest:user:password' (user and password "
                  "must not be empty)");
        parse_err("[zookeeper]\nauth = digest:user:\n",
                  "t.conf:2: [zookeeper] auth: expected 'digest:user:password' (user and password "
                  "must not be empty)");
}

static void test_errors_cgroup_names(void) {
        parse_err("[cgroup]\nroot =\n",
                  "t.conf:2: [cgroup] root: '' is empty: write 'root = /' to manage the hierarchy "
                  "roots themselves (every cgroup there that the conf lacks is then removed), or "
                  "name a subtree of its own, e.g. 'root = cgrouparch'");
        parse_err("[cgroup]\nroot = /abs\n",
                  "t.conf:2: [cgroup] root: '/abs' must be relative to the hierarchy root (no "
                  "leading '/')");
        parse_err("[cgroup]\nroot = a/../b\n",
                  "t.conf:2: [cgroup] root: 'a/../b' each component must match "
                  "[A-Za-z0-9_][A-Za-z0-9_.-]* (no '..')");
        parse_err("[cgroup]\nroot = a/\n",
                  "t.conf:2: [cgroup] root: 'a/' must not contain an empty path component or end "
                  "with '/'");
        parse_err("[cgroup]\nroot = a//b\n",
                  "t.conf:2: [cgroup] root: 'a//b' must not contain an empty path component or "
                  "end with '/'");
        parse_err("[cgroup]\nprotected = good ..\n",
                  "t.conf:2: [cgroup] protected: '..' is not a valid cgroup name (must match "
                  "[A-Za-z0-9_][A-Za-z0-9_.-]*)");
        parse_err("[cgroup]\nprotected = a/b\n",
                  "t.conf:2: [cgroup] protected: 'a/b' is not a valid cgroup name (must match "
                  "[A-Za-z0-9_][A-Za-z0-9_.-]*)");
        parse_err("[pid_files]\n.hidden = /run/x.pid\n",
                  "t.conf:2: [pid_files] .hidden: invalid cgroup name (must match "
                  "[A-Za-z0-9_][A-Za-z0-9_.-]*, at most 255 bytes)");
        parse_err("[pid_files]\nweb = run/x.pid\n",
                  "t.conf:2: [pid_files] web: 'run/x.pid' is not an absolute path or glob");
        parse_err("[pid_files]\nweb =\n",
                  "t.conf:2: [pid_files] web: empty value (expected pid file paths or globs)");

        char name[300], buf[400], want[600];
        memset(name, 'a', 256);
        name[256] = '\0';
        snprintf(buf, sizeof(buf), "[pid_files]\n%s = /x\n", name);
        snprintf(want, sizeof(want),
                 "t.conf:2: [pid_files] %s: invalid cgroup name (must match "
                 "[A-Za-z0-9_][A-Za-z0-9_.-]*, at most 255 bytes)",
                 name);
        parse_err(buf, want);
        name[255] = '\0'; /* 255 bytes is fine */
        snprintf(buf, sizeof(buf), "[pid_files]\n%s = /x\n", name);
        cfg_free(parse_ok(buf));
}

static void test_load_file(void) {
        char dir[] = "/tmp/test-ini.XXXXXX", path[64];
        struct cfg *c = NULL;
        char *err = NULL;
        FILE *f;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/cgrouparch.conf", dir);

        CHECK_INT(cfg_load(path, &c, &err), -ENOENT);
        CHECK(err && strstr(err, path) && strstr(err, "No such file"));
        free(err);
        err = NULL;

        f = fopen(path, "w");
        fputs("[daemon]\nruntime_dir = /tmp/x/\n[wsd]\nport = 5\n", f);
        fclose(f);
        CHECK_INT(cfg_load(path, &c, &err), 0);
        if (c) {
                char *snap = NULL;
                CHECK_STR(c->path, path);
                CHECK_INT(c->wsd.port, 5);
                CHECK_INT(cfg_snapshot_path(c, &snap), 0);
                CHECK_STR(snap, "/tmp/x/arch_conf.json");
                free(snap);
        }
        c = cfg_free(c);

        f = fopen(path, "w");
        fputs("[wsd]\nport = 5\n[wsd]\nbind = a\tb\n", f);
        fclose(f);
        CHECK_INT(cfg_load(path, &c, &err), -EINVAL);
        char want[128];
        snprintf(want, sizeof(want), "%s:4: [wsd] bind: 'a\tb' must not contain whitespace", path);
        CHECK_STR(err, want);
        free(err);
        err = NULL;

        f = fopen(path, "w");
        fwrite("[wsd]\n\0port = 5\n", 1, 16, f);
        fclose(f);
        CHECK_INT(cfg_load(path, &c, &err), -EINVAL);
        CHECK(err && strstr(err, "NUL byte"));
        free(err);

        unlink(path);
        rmdir(dir);
}

static void test_snapshot_path_default(void) {
        struct cfg *c = NULL;
        char *p = NULL;

        CHECK_INT(cfg_new_default(&c), 0);
        CHECK_INT(cfg_snapshot_path(c, &p), 0);
        CHECK_STR(p, "/run/cgrouparch/arch_conf.json");
        free(p);
        cfg_free(c);
        CHECK(cfg_free(NULL) == NULL);
}

static void test_err_may_be_null(void) {
        struct cfg *c = NULL;

        CHECK_INT(cfg_parse_string("[redis]\nport = x\n", NULL, &c, NULL), -EINVAL);
        CHECK(c == NULL);
        c = parse_ok("");
        cfg_free(c);
}

int main(void) {
        RUN(test_defaults);
        RUN(test_empty_file_is_defaults);
        RUN(test_every_key);
        RUN(test_modes_bools_comments);
        RUN(test_edges_accepted);
        RUN(test_long_line);
        RUN(test_pid_files_user);
        RUN(test_line_limit);
        RUN(test_errors_syntax_and_structure);
        RUN(test_errors_numbers);
        RUN(test_errors_values);
        RUN(test_errors_zk);
        RUN(test_errors_cgroup_names);
        RUN(test_load_file);
        RUN(test_snapshot_path_default);
        RUN(test_err_may_be_null);
        return TAP_END();
}
