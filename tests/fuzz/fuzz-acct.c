/* fuzz-acct.c — libFuzzer target for cg-accountd's parsers of cgroup accounting files
 * (cpuacct.usage, cpu.stat usage and throttling, blkio stat files, io.stat, throttle rules,
 * /sys/block dev, single-number files, flat-keyed files such as memory.events, PSI files) and
 * the sample writer fed with what they parsed, in every subsystem's shape.
 * Checks, besides the sanitizers: a failed parse leaves its output alone; the sample is valid
 * JSON whose integers are the parsed ones, exactly.
 * FUZZ_SOURCES: common/acct.c common/strbuf.c
 * FUZZ_LIBS: -lcjson
 * FUZZ_CORPUS: tests/fixtures/acct
 * FUZZ_DICT: tests/fuzz/acct.dict */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

/* The text of the integer `key` inside the sample text, as written (never through a double). */
static void check_u64_in(const char *text, const char *key, uint64_t want) {
        char needle[96];

        snprintf(needle, sizeof(needle), "\"%s\": %" PRIu64, key, want);
        check(strstr(text, needle) != NULL, "counter written exactly");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct acct_value v = {.ok = true}, cv = {.ok = true}, mv = {.ok = true},
                          pv = {.ok = true};
        struct strbuf b = {};
        struct conf_node root = {.path = (char *) "", .weight = -1}, croot = root, mroot = root,
                         proot = root;
        struct conf c = {.version = 1};
        struct acct_value *values[_CONF_SUBSYS_MAX] = {
                [CONF_CPU] = &cv, [CONF_BLKIO] = &v, [CONF_MEMORY] = &mv, [CONF_PIDS] = &pv};
        struct acct_pressure pr = {.some_usec = 77};
        uint64_t u, nr = 5, us = 6;
        unsigned a, m;
        cJSON *j;
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        (void) acct_parse_cpuacct_usage(s, &u);
        if (acct_parse_cpu_stat(s, &cv.usage) < 0)
                cv.usage = 1;
        (void) acct_parse_devnum(s, &a, &m);
        (void) acct_throttle_has_rule(s, 8, 0);
        if (acct_parse_io_stat(s, &v.blkio) < 0)
                v.blkio.n = 0;
        if (acct_parse_blkio_v1(s, &v.blkio) < 0)
                v.blkio.n = 0;

        /* the limits' counters and pressure */
        if (acct_parse_cpu_throttle(s, size & 1, &nr, &us) >= 0) {
                cv.has |= ACCT_HAS_THROTTLE;
                cv.nr_throttled = nr;
                cv.throttled_usec = us;
        } else
                check(nr == 5 && us == 6, "throttle outputs untouched on failure");
        if (acct_parse_pressure(s, &pr) >= 0) {
                check(pr.has_some, "a pressure file has a some line");
                cv.pressure = mv.pressure = v.pressure = pr;
        } else
                check(pr.some_usec == 77 && !pr.has_some, "pressure untouched on failure");
        if (acct_parse_number(s, &mv.mem_usage) >= 0)
                mv.has |= ACCT_HAS_MEM_USAGE;
        if (acct_parse_keyed(s, "oom_kill", &mv.mem_oom_kill) >= 0)
                mv.has |= ACCT_HAS_MEM_OOM_KILL;
        if (acct_parse_keyed(s, "max", &mv.mem_peak) >= 0)
                mv.has |= ACCT_HAS_MEM_PEAK;
        if (acct_parse_number(s, &pv.pids_current) >= 0)
                pv.has |= ACCT_HAS_PIDS_CURRENT;

        c.roots[CONF_CPU] = &croot;
        c.roots[CONF_BLKIO] = &root;
        c.roots[CONF_MEMORY] = &mroot;
        c.roots[CONF_PIDS] = &proot;
        check(acct_sample_write(&c, values, &b) == 0 && b.len >= 2 && strbuf_text(&b)[0] == '{',
              "sample written");
        j = cJSON_ParseWithLength(strbuf_text(&b), b.len);
        check(j != NULL, "the sample is valid JSON");
        cJSON_Delete(j);
        check_u64_in(strbuf_text(&b), "usage", cv.usage);
        if (cv.has & ACCT_HAS_THROTTLE)
                check_u64_in(strbuf_text(&b), "throttled_usec", cv.throttled_usec);
        if (pr.has_some)
                check_u64_in(strbuf_text(&b), "some_usec", pr.some_usec);
        if (pr.has_full)
                check_u64_in(strbuf_text(&b), "full_usec", pr.full_usec);
        if (mv.has & ACCT_HAS_MEM_OOM_KILL)
                check_u64_in(strbuf_text(&b), "oom_kill", mv.mem_oom_kill);
        if (pv.has & ACCT_HAS_PIDS_CURRENT)
                check_u64_in(strbuf_text(&b), "current", pv.pids_current);
        strbuf_done(&b);
        acct_blkio_clear(&v.blkio);
        free(s);
        return 0;
}
