/* fuzz-cgfs.c — libFuzzer target for the pure parsers of common/cgfs.h: /proc/self/mountinfo
 * (cgfs_layout_parse, cgfs_layout_find), weight files, cgroup.procs, controller lists, relative
 * paths, the mode word.
 * Input: byte 0 picks the cgroup dir; the rest up to the first NUL is the text given to every
 * parser (anything after the NUL is ignored: it fed the membership check, removed with the API).
 * Checks, besides the sanitizers: accepted layouts hold only absolute cgroup mounts below the
 * dir and cgfs_layout_find() finds each controller; accepted pid lists are in range; a safe path
 * has no empty, "." or ".." component.
 * FUZZ_SOURCES: common/cgfs.c common/cgfs-v1.c common/cgfs-v2.c common/cgfs-walk.c common/plan.c common/conf.c common/acct.c common/util.c common/log.c common/cgfs-names.c
 * FUZZ_LIBS: -lcjson -lpthread
 * FUZZ_CORPUS: tests/fixtures/cgfs
 * FUZZ_DICT: tests/fuzz/cgfs.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "cgfs.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

static const char *const dirs[] = {"/sys/fs/cgroup", "/", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/"};

static bool below(const char *path, const char *dir) {
        size_t l = strlen(dir);

        while (l > 1 && dir[l - 1] == '/')
                l--;
        if (l == 1)
                return path[0] == '/';
        return strncmp(path, dir, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

static void fuzz_layout(const char *text, const char *dir) {
        struct cgfs_layout *l = (struct cgfs_layout *) 0x1;
        int r;

        r = cgfs_layout_parse(text, dir, &l);
        if (r < 0) {
                check(l == (struct cgfs_layout *) 0x1, "*ret untouched on failure");
                check(r == -EINVAL || r == -ENOMEM, "layout errors");
                return;
        }
        for (size_t i = 0; i < l->n_mounts; i++) {
                const struct cgfs_mount *m = &l->mounts[i];
                check(m->path && below(m->path, dir), "mount below dir");
                check(m->mount_root != NULL, "mount root");
                check(m->v2 == (m->controllers == NULL), "controllers exactly for v1");
                if (m->v2)
                        check(cgfs_layout_find(l, NULL) != NULL, "v2 mount found");
                else
                        for (char **c = m->controllers; *c; c++) {
                                const struct cgfs_mount *f = cgfs_layout_find(l, *c);
                                check(f && !f->v2 && strv_contains(f->controllers, *c),
                                      "controller found");
                        }
        }
        (void) cgfs_layout_find(l, "cpu");
        cgfs_layout_free(l);
}

static void fuzz_small(const char *text) {
        int64_t w;
        pid_t *pids = NULL;
        size_t n = 0, lines = 0;
        int r;

        r = cgfs_parse_weight(text, &w);
        check(r <= 0, "weight returns 0 or -errno");
        if (r == 0)
                check(w >= 0, "weight not negative");

        r = cgfs_parse_pids(text, &pids, &n);
        if (r == 0) {
                for (const char *p = text; *p; p++)
                        if (*p == '\n')
                                lines++;
                check(n == lines || n == lines + 1, "one pid per line");
                for (size_t i = 0; i < n; i++)
                        check(pids[i] > 0, "pid > 0");
                free(pids);
        } else
                check(r == -EINVAL || r == -ENOMEM, "pids errors");

        if (cgfs_path_is_safe(text, true) && *text) {
                check(text[0] != '/' && text[strlen(text) - 1] != '/', "no leading/trailing /");
                check(!strstr(text, "//"), "no empty component");
                for (const char *p = text; p; p = strchr(p, '/')) {
                        if (*p == '/')
                                p++;
                        check(strncmp(p, "./", 2) && strcmp(p, ".") && strncmp(p, "../", 3) &&
                                      strcmp(p, ".."),
                              "no . or .. component");
                }
        }
        (void) cgfs_path_is_safe(text, false);
        r = cgfs_mode_from_string(text);
        check(r == -EINVAL || (r >= CGFS_MODE_AUTO && r <= CGFS_MODE_V2), "mode");

        /* Every word of a controller list is found in it. */
        _cleanup_strv_free_ char **words = NULL;
        if (strv_split(text, " \n\t", &words) == 0)
                for (char **c = words; *c; c++)
                        check(cgfs_controllers_have(text, *c), "controller word found");
        (void) cgfs_controllers_have(text, "cpu");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *dir;
        char *s;

        if (size < 1)
                return 0;
        dir = dirs[data[0] % ELEMENTSOF(dirs)];
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        fuzz_layout(s, dir);
        fuzz_small(s);
        free(s);
        return 0;
}
