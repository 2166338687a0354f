/* fuzz-zk.c — libFuzzer target for the pure helpers of common/zk.h: auth entries, host lists,
 * ZooKeeper paths (check, join, parents), the client's log lines and error codes.
 * Input: two strings separated by the first NUL (a prefix and a name for zk_path_join); every
 * other function gets the first.
 * Checks, besides the sanitizers: an accepted auth entry is scheme ":" credential, its user a
 * prefix of the credential; a joined path is valid and has the prefix among its parents; every
 * parent of a valid path is valid and a proper prefix of it; a valid path agrees with an
 * independent reading of the rule; a parsed log message points into the line.
 * FUZZ_SOURCES: common/zk.c common/util.c
 * FUZZ_LIBS: -lzookeeper_mt -lpthread -lcrypto
 * FUZZ_CORPUS: tests/fixtures/zk
 * FUZZ_DICT: tests/fuzz/zk.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "util.h"
#include "zk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

/* zk.h's rule, read independently: "/" or "/c1/c2..." with no empty, "." or ".." component
 * and no control character. */
static bool path_ok(const char *p) {
        if (p[0] != '/')
                return false;
        if (p[1] == '\0')
                return true;
        for (const char *c = p; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return false;
        for (const char *c = p + 1;;) {
                size_t l = strcspn(c, "/");
                if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!c[l])
                        return true;
                c += l + 1;
        }
}

static void fuzz_auth(const char *s) {
        char *scheme = NULL, *cred = NULL, *user = NULL;
        int r, ru;

        r = zk_auth_parse(s, &scheme, &cred);
        ru = zk_auth_user(s, &user);
        check(r == ru || (r == 0 && ru == -ENOMEM), "auth_user agrees with auth_parse");
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "auth errors");
                return;
        }
        check(*scheme && *cred, "scheme and credential not empty");
        check(strlen(scheme) + 1 + strlen(cred) == strlen(s) &&
                      strncmp(s, scheme, strlen(scheme)) == 0 && s[strlen(scheme)] == ':' &&
                      strcmp(s + strlen(scheme) + 1, cred) == 0,
              "scheme:credential");
        if (strcmp(scheme, "digest") == 0)
                check(strchr(cred, ':') && cred[0] != ':', "digest user:password");
        if (ru == 0) {
                check(strncmp(cred, user, strlen(user)) == 0, "user prefixes the credential");
                check(!strchr(user, ':'), "user without ':'");
        }
        free(scheme);
        free(cred);
        free(user);
}

static void fuzz_hosts(const char *s) {
        const char *chroot;

        if (zk_hosts_check(s) < 0)
                return;
        chroot = strchr(s, '/');
        check(*s && *s != ',' && *s != '/', "hosts not empty");
        if (chroot)
                check(zk_path_is_valid(chroot) && strcmp(chroot, "/") != 0, "chroot");
        for (const char *p = s; p < (chroot ? chroot : s + strlen(s)); p++)
                check((unsigned char) *p > 0x20 && *p != 0x7f, "no blank or control in hosts");
        check((chroot ? chroot[-1] : s[strlen(s) - 1]) != ',', "no trailing comma");
}

static void fuzz_paths(const char *prefix, const char *name) {
        char *joined = NULL, **parents = NULL;
        bool valid = zk_path_is_valid(prefix);
        int r;

        check(valid == path_ok(prefix), "zk_path_is_valid as the rule says");

        r = zk_path_parents(prefix, &parents);
        check((r == 0) == valid || r == -ENOMEM, "parents of valid paths only");
        if (r == 0) {
                size_t n = strv_length(parents), slashes = 0;
                for (const char *p = prefix + 1; *p; p++)
                        slashes += *p == '/';
                check(n == slashes, "one parent per inner '/'");
                for (char **p = parents; *p; p++) {
                        size_t l = strlen(*p);
                        check(zk_path_is_valid(*p), "parents are valid");
                        check(strncmp(prefix, *p, l) == 0 && prefix[l] == '/', "parent prefixes");
                        if (p > parents)
                                check(l > strlen(p[-1]), "outermost first");
                }
                strv_free(parents);
        }

        r = zk_path_join(prefix, name, &joined);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "join errors");
                return;
        }
        check(valid, "join needs a valid prefix");
        check(zk_path_is_valid(joined), "a joined path is valid");
        if (zk_path_parents(joined, &parents) == 0) {
                if (strcmp(prefix, "/") != 0)
                        check(strv_contains(parents, prefix), "the prefix is a parent");
                strv_free(parents);
        }
        free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *msg = NULL;
        char *s, *second;
        int prio = -1, zrc;

        s = malloc(size + 2);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = s[size + 1] = '\0';
        second = s + strlen(s) + 1;
        if (second > s + size)
                second = s + size + 1;

        fuzz_auth(s);
        fuzz_hosts(s);
        fuzz_paths(s, second);

        zk_log_parse(s, &prio, &msg);
        check(prio == LOG_ERR || prio == LOG_WARNING || prio == LOG_INFO || prio == LOG_DEBUG,
              "log priority");
        check(msg >= s && msg <= s + strlen(s), "log message points into the line");

        zrc = size >= 4 ? (int) (data[0] | data[1] << 8 | data[2] << 16 | (uint32_t) data[3] << 24)
                        : -(int) size;
        check(zk_rc_string(zrc) != NULL, "rc string");
        check(zk_errno(zrc) <= 0, "errno negative");
        free(s);
        return 0;
}
