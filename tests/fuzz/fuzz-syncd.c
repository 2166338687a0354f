/* fuzz-syncd.c — libFuzzer target for cg-syncd's pure helpers of outside input: the command
 * line (syncd_parse_args, getopt_long underneath) and the first line of a message from outside
 * (syncd_first_line), plus the read-outcome table.
 * Input: the arguments, NUL-separated (argv[0] is added); the first byte also gives `max`.
 * Checks, besides the sanitizers: an accepted command line has a non-empty config path and a
 * reconcile interval of 1..86400 s, and help/version exactly when it returns 0; a refused one
 * has a message; argv is only permuted, never changed; a first line is a prefix of the text
 * without '\n' and at most `max` bytes.
 * FUZZ_SOURCES: cg-syncd/state.c common/daemon.c common/plan.c common/conf.c common/util.c common/log.c common/cgfs-names.c
 * FUZZ_LIBS: -lcjson
 * FUZZ_CORPUS: tests/fixtures/syncd
 * FUZZ_DICT: tests/fuzz/syncd.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cg-syncd/syncd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

#define MAX_ARGS 16

static void fuzz_args(char *buf, size_t size) {
        char *argv[MAX_ARGS + 2], *orig[MAX_ARGS + 2];
        struct syncd_args a = {.reconcile_usec = 7};
        char *err = NULL;
        int argc = 1, r;

        argv[0] = (char *) "cg-syncd";
        for (char *p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
                argv[argc++] = p;
        argv[argc] = NULL;
        memcpy(orig, argv, sizeof(argv));

        r = syncd_parse_args(argc, argv, &a, &err);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "args errors");
                check(r == -ENOMEM || (err && *err), "a message");
                check(a.reconcile_usec == 7, "*ret untouched on failure");
        } else {
                check(r == 0 || r == 1, "0 or 1");
                check((r == 0) == (a.help || a.version), "0 exactly for --help/--version");
                check(a.config_path && *a.config_path, "config path");
                check(a.reconcile_usec >= 1000000ULL && a.reconcile_usec <= 86400ULL * 1000000ULL,
                      "reconcile interval");
                check(err == NULL, "no message on success");
        }
        /* getopt_long() may permute argv, never add, drop or change an argument. */
        for (int i = 0; i < argc; i++) {
                bool found = false;
                for (int j = 0; j < argc && !found; j++)
                        found = argv[i] == orig[j];
                check(found, "argv only permuted");
        }
        check(argv[argc] == NULL, "argv still NULL-terminated");
        free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf, *line = NULL;
        size_t max;

        if (size < 1)
                return 0;
        max = data[0];
        buf = malloc(size);
        if (!buf)
                return 0;
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = '\0';

        if (syncd_first_line(buf, max, &line) == 0) {
                size_t l = strlen(line);
                check(l <= max && !strchr(line, '\n') && strncmp(buf, line, l) == 0,
                      "first line is a prefix");
                check(buf[l] == '\0' || buf[l] == '\n' || l == max, "first line is whole");
                free(line);
        }
        fuzz_args(buf, size - 1);
        (void) syncd_read_action(-(int) (data[0] % 140));
        free(buf);
        return 0;
}
