/* fuzz-why.c — libFuzzer target for `cgarch why`'s reading of cg-taskd's record and of
 * /proc/<pid>/stat (cgarch/why.c): any record must give a verdict or -EINVAL, never a crash.
 * Input: the text of a taskd-placements.json record, explained for each pid of a small fixed
 * process table (a chain 1 <- 10 <- 11 <- 12 and a loop 20 <-> 21, which must not hang), and
 * the same text given to why_stat_parse().
 * Checks, besides the sanitizers: a verdict is one of the known ones with its exit status, the
 * chain is bounded and starts at the pid, the JSON of the result parses.
 * FUZZ_SOURCES: cgarch/why.c common/cgfs.c common/cgfs-v1.c common/cgfs-v2.c common/cgfs-walk.c common/cgfs-file.c common/cgfs-limits.c common/cgfs-systemd.c common/sdslice.c common/sdunit.c common/plan.c common/conf.c common/acct.c common/util.c common/log.c common/cgfs-names.c common/strbuf.c
 * FUZZ_LIBS: -lcjson -lsystemd -lpthread
 * FUZZ_CORPUS: tests/fixtures/why
 * FUZZ_DICT: tests/fuzz/why.dict */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "why.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

static const struct {
        pid_t pid, ppid;
} table[] = {{1, 0}, {10, 1}, {11, 10}, {12, 11}, {20, 21}, {21, 20}};

static int lookup(void *userdata, pid_t pid, struct why_proc *ret) {
        (void) userdata;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (table[i].pid == pid) {
                        *ret = (struct why_proc){.pid = pid, .ppid = table[i].ppid};
                        ret->cgroup = strdup("3:cpu:/cg/a\n2:cpuacct:/\n0::/a.slice/x.service\n");
                        return 0;
                }
        return -ESRCH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        struct why_proc p;
        cJSON *state;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        if (why_stat_parse(text, &p) == 0)
                check(p.pid > 0 && strlen(p.comm) < sizeof(p.comm), "a parsed stat");
        state = cJSON_ParseWithLength(text, size);
        for (size_t i = 0; state && i < sizeof(table) / sizeof(table[0]); i++) {
                struct why_result r = {};
                int k = why_explain(state, table[i].pid, lookup, NULL, &r);
                char *js;

                if (k < 0) {
                        check(k == -EINVAL || k == -ENOMEM, "an error is -EINVAL or -ENOMEM");
                        continue;
                }
                check(r.verdict <= WHY_UNKNOWN, "a known verdict");
                check(why_exit_status(r.verdict) >= 0 && why_exit_status(r.verdict) <= 2, "a status");
                check(r.n_chain >= 1 && r.n_chain <= 4096 && r.chain[0] == table[i].pid, "the chain");
                check(r.reason != NULL, "a reason");
                js = why_result_json(&r, state);
                if (js) {
                        cJSON *j = cJSON_Parse(js);
                        check(j != NULL, "the result's JSON parses");
                        cJSON_Delete(j);
                        free(js);
                }
                why_result_done(&r);
        }
        cJSON_Delete(state);
        free(text);
        return 0;
}
