/* fuzz-proc.c — libFuzzer target for the pure parsers of cg-taskd/proc.h: pid files (raw bytes,
 * NULs included), /proc/<pid>/stat, children lists and process-connector datagrams.
 * Checks, besides the sanitizers: an accepted pid file is exactly digits (optionally one '\n')
 * of a pid in 1..PROC_PID_MAX and every error has a reason; an accepted stat line has a pid and
 * ppid in range; an accepted children list gives one pid per space-separated word, all found
 * again after pidvec_sort(); a datagram never yields more events than asked for.
 * FUZZ_SOURCES: cg-taskd/proc.c common/util.c
 * FUZZ_LIBS:
 * FUZZ_CORPUS: tests/fixtures/proc
 * FUZZ_DICT: tests/fuzz/proc.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

static void fuzz_pidfile(const char *buf, size_t len) {
        pid_t pid = -7;
        size_t n = len;
        int r;

        r = proc_pidfile_parse(buf, len, &pid);
        if (r < 0) {
                check(r == -ENODATA || r == -ERANGE || r == -EINVAL, "pid file errors");
                check(proc_pidfile_strerror(r) != NULL, "every error has a reason");
                check(pid == -7, "*ret untouched on failure");
                return;
        }
        check(r == 0 && pid >= 1 && pid <= PROC_PID_MAX, "pid in range");
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                check(buf[i] >= '0' && buf[i] <= '9', "only digits accepted");
                if (v <= PROC_PID_MAX)
                        v = v * 10 + (uint64_t) (buf[i] - '0');
        }
        check(v == (uint64_t) pid, "the value written");
}

static void fuzz_stat(const char *s) {
        struct proc_stat st = {.pid = -7};
        int r = proc_stat_parse(s, &st);

        if (r < 0) {
                check(r == -EINVAL, "stat errors");
                check(st.pid == -7, "*ret untouched on failure");
                return;
        }
        check(st.pid >= 1 && st.pid <= PROC_PID_MAX, "stat pid in range");
        check(st.ppid >= 0 && st.ppid <= PROC_PID_MAX, "stat ppid in range");
        check(strchr(s, '(') && strrchr(s, ')'), "comm in parentheses");
        (void) proc_stat_is_kthread(&st);
}

static void fuzz_children(const char *s) {
        struct pidvec pv = {}, copy = {};
        size_t words = 0;
        int r;

        r = proc_children_parse(s, &pv);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "children errors");
                goto out;
        }
        for (const char *p = s; *p && *p != '\n';) {
                p += strspn(p, " ");
                if (*p && *p != '\n')
                        words++;
                p += strcspn(p, " \n");
        }
        check(pv.n == words, "one pid per word");
        for (size_t i = 0; i < pv.n; i++) {
                check(pv.v[i] >= 1 && pv.v[i] <= PROC_PID_MAX, "child pid in range");
                if (pidvec_push(&copy, pv.v[i]) < 0)
                        goto out;
        }
        pidvec_sort(&pv);
        for (size_t i = 1; i < pv.n; i++)
                check(pv.v[i - 1] < pv.v[i], "sorted without duplicates");
        for (size_t i = 0; i < copy.n; i++)
                check(pidvec_contains_sorted(&pv, copy.v[i]), "every pid found after sorting");
out:
        pidvec_clear(&pv);
        pidvec_clear(&copy);
}

static void fuzz_events(const uint8_t *data, size_t size, size_t max) {
        struct proc_event_info ev[8];
        size_t n = 99;
        void *buf;
        int r;

        /* recv() fills an aligned buffer: so does this (malloc'ed). */
        buf = malloc(size ? size : 1);
        if (!buf)
                return;
        memcpy(buf, data, size);
        r = proc_events_parse(buf, size, ev, max, &n);
        if (r == 0) {
                check(n <= max, "no more events than asked for");
                for (size_t i = 0; i < n; i++)
                        check(ev[i].type == PROC_EV_OTHER || ev[i].type == PROC_EV_FORK ||
                                      ev[i].type == PROC_EV_EXIT,
                              "event type");
        } else
                check(r == -EINVAL, "datagram errors");
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s;

        if (size < 1)
                return 0;
        fuzz_pidfile((const char *) data + 1, size - 1);
        fuzz_events(data + 1, size - 1, data[0] % 9);

        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        fuzz_stat(s);
        fuzz_children(s);
        (void) proc_starttime_to_realtime_usec((uint64_t) size << 40, (long) data[0] - 3,
                                               UINT64_MAX / 4);
        free(s);
        return 0;
}
