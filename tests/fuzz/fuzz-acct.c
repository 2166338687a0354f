/* fuzz-acct.c — libFuzzer target for cg-accountd's parsers of cgroup accounting files
 * (cpuacct.usage, cpu.stat, blkio stat files, io.stat, throttle rules, /sys/block dev) and the
 * sample writer fed with what they parsed.
 * FUZZ_SOURCES: common/acct.c common/strbuf.c
 * FUZZ_LIBS:
 * FUZZ_CORPUS: tests/fixtures/acct */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct acct_value v = {.ok = true};
        struct strbuf b = {};
        struct conf_node root = {.path = (char *) "", .weight = -1};
        struct conf c = {.version = 1};
        struct acct_value *values[_CONF_SUBSYS_MAX] = {[CONF_BLKIO] = &v};
        unsigned a, m;
        uint64_t u;
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        (void) acct_parse_cpuacct_usage(s, &u);
        (void) acct_parse_cpu_stat(s, &u);
        (void) acct_parse_devnum(s, &a, &m);
        (void) acct_throttle_has_rule(s, 8, 0);
        if (acct_parse_io_stat(s, &v.blkio) < 0)
                v.blkio.n = 0;
        if (acct_parse_blkio_v1(s, &v.blkio) < 0)
                v.blkio.n = 0;
        c.roots[CONF_BLKIO] = &root;
        if (acct_sample_write(&c, values, &b) < 0 || b.len < 2 || strbuf_text(&b)[0] != '{')
                abort();
        strbuf_done(&b);
        acct_blkio_clear(&v.blkio);
        free(s);
        return 0;
}
