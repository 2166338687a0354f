/* fuzz-ini.c — libFuzzer target for the local config file parser (cfg_parse_string).
 * Checks, besides the sanitizers: a rejected text leaves *ret alone and gives one message
 * "fuzz.conf:LINE: ..." on one line, LINE within the text; an accepted one has every field set
 * and within the ranges ini.h promises, its ZooKeeper prefix valid for zk.c too (what cg-syncd
 * joins "arch_conf" to); a second parse (inih's globals set again) agrees.
 * FUZZ_SOURCES: common/ini.c common/zk.c common/util.c
 * FUZZ_LIBS: -linih -lzookeeper_mt -lpthread -lcrypto
 * FUZZ_CORPUS: tests/fixtures/ini
 * FUZZ_DICT: tests/fuzz/ini.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "cgfs.h"
#include "ini.h"
#include "zk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

static void check_str(const char *s, const char *what) {
        check(s != NULL, what);
        check(strchr(s, '\n') == NULL, what);
}

static void check_strv(char **v, const char *what) {
        check(v != NULL, what);
        for (; *v; v++)
                check_str(*v, what);
}

static void check_cfg(const struct cfg *c) {
        check(c->path && strcmp(c->path, "fuzz.conf") == 0, "path is the name given");
        check_str(c->zk.hosts, "zk.hosts");
        if (c->zk.prefix) {
                char *node = NULL;
                check(zk_path_is_valid(c->zk.prefix), "zk.prefix valid for zk.c");
                check(zk_path_join(c->zk.prefix, "arch_conf", &node) == 0, "arch_conf node");
                free(node);
        }
        check_strv(c->zk.auth, "zk.auth");
        for (char **a = c->zk.auth; *a; a++)
                check(strncmp(*a, "digest:", 7) == 0 && strchr(*a + 7, ':') > *a + 7,
                      "auth is digest:user:password");
        check(c->zk.session_timeout_ms >= 1, "session timeout");
        check_str(c->cg.dir, "cg.dir");
        check(c->cg.dir[0] == '/', "cg.dir absolute");
        check_str(c->cg.root, "cg.root");
        check(c->cg.root[0] != '/' && !strstr(c->cg.root, "//"), "cg.root relative");
        check_strv(c->cg.protected_names, "protected");
        check(c->cg.mode >= CGFS_MODE_AUTO && c->cg.mode <= CGFS_MODE_V2, "mode");
        check(c->taskd.interval_sec >= 1, "interval");
        for (size_t i = 0; i < c->n_pid_files; i++) {
                check_str(c->pid_files[i].name, "pid_files name");
                check(c->pid_files[i].name[0] != '\0', "pid_files name empty");
                check_strv(c->pid_files[i].patterns, "pid_files patterns");
                check(c->pid_files[i].patterns[0] != NULL, "pid_files without a pattern");
                for (char **w = c->pid_files[i].patterns; *w; w++)
                        check((*w)[0] == '/', "pid file pattern absolute");
                for (size_t j = 0; j < i; j++)
                        check(strcmp(c->pid_files[i].name, c->pid_files[j].name) != 0,
                              "pid_files name listed twice");
        }
        check_str(c->redis.host, "redis.host");
        check(c->redis.port >= 1 && c->redis.port <= 65535, "redis.port");
        check(!c->redis.password || !strchr(c->redis.password, '\n'), "redis.password");
        check_str(c->redis.prefix, "redis.prefix");
        check(c->redis.expire_sec >= 1, "redis.expire");
        check_str(c->wsd.bind, "wsd.bind");
        check(c->wsd.port >= 1 && c->wsd.port <= 65535, "wsd.port");
        check(c->wsd.max_clients >= 1, "wsd.max_clients");
        check_strv(c->wsd.allowed_origins, "wsd.allowed_origins");
        check(!c->wsd.token || !strchr(c->wsd.token, '\n'), "wsd.token");
        check_str(c->wsd.www_dir, "wsd.www_dir");
        check(c->wsd.www_dir[0] == '/', "www_dir absolute");
        check_str(c->daemon.runtime_dir, "runtime_dir");
        check(c->daemon.runtime_dir[0] == '/', "runtime_dir absolute");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cfg *sentinel = (struct cfg *) 0x1, *c = sentinel, *c2 = NULL;
        char *text, *err = (char *) 0x1;
        size_t lines = 1;
        int r, r2;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0'; /* cfg_load refuses NUL bytes; the parser sees a C string */
        for (const char *p = text; (p = strchr(p, '\n')); p++)
                lines++;

        r = cfg_parse_string(text, "fuzz.conf", &c, &err);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "errors are -EINVAL or -ENOMEM");
                check(c == sentinel, "*ret untouched on failure");
                if (r == -EINVAL) {
                        unsigned long line;
                        char *end;

                        check(err != NULL, "a message on -EINVAL");
                        check(strncmp(err, "fuzz.conf:", 10) == 0, "message names the file");
                        line = strtoul(err + 10, &end, 10);
                        check(end > err + 10 && strncmp(end, ": ", 2) == 0 && end[2] != '\0',
                              "message is file:line: problem");
                        check(line >= 1 && line <= lines, "line within the text");
                        check(strchr(err, '\n') == NULL, "message on one line");
                }
        } else {
                check(r == 0 && c && c != sentinel && err == NULL, "success sets *ret, no error");
                check_cfg(c);
        }

        /* Same verdict again, without an error pointer. */
        r2 = cfg_parse_string(text, "fuzz.conf", &c2, NULL);
        check(r2 == r, "same verdict on a second parse");
        free(err); /* cfg_parse_string() sets it (to NULL at least) first */
        if (c != sentinel)
                cfg_free(c);
        cfg_free(c2);
        free(text);
        return 0;
}
