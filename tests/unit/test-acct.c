/* test-acct.c — parsers of accounting files and the sample writer (common/acct.c). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "acct.h"
#include "tap.h"
#include "util.h"

/* The text of tests/fixtures/acct/NAME (owned), NULL when unreadable. */
static char *fixture(const char *name) {
        const char *top = getenv("CGARCH_TOP");
        char *path = NULL, *text = NULL;

        if (xasprintf(&path, "%s/tests/fixtures/acct/%s", top ? top : ".", name) < 0)
                return NULL;
        if (read_full_file(path, &text, NULL) < 0)
                text = NULL;
        free(path);
        return text;
}

static void test_cpuacct_usage(void) {
        uint64_t v = 0;
        CHECK_INT(acct_parse_cpuacct_usage("1446489231295\n", &v), 0);
        CHECK(v == 1446489231295ULL);
        CHECK_INT(acct_parse_cpuacct_usage("0", &v), 0);
        CHECK(v == 0);
        /* 2^53 + 1 and UINT64_MAX must come through exactly */
        CHECK_INT(acct_parse_cpuacct_usage("9007199254740993\n", &v), 0);
        CHECK(v == 9007199254740993ULL);
        CHECK_INT(acct_parse_cpuacct_usage("18446744073709551615\n", &v), 0);
        CHECK(v == UINT64_MAX);
        v = 7;
        CHECK_INT(acct_parse_cpuacct_usage("18446744073709551616\n", &v), -ERANGE);
        CHECK_INT(acct_parse_cpuacct_usage("", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage("\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage("-1\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage(" 12\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage("12 \n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage("12\n\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpuacct_usage("12abc", &v), -EINVAL);
        CHECK(v == 7); /* untouched on failure */
}

static void test_cpu_stat(void) {
        uint64_t v = 0;
        CHECK_INT(acct_parse_cpu_stat("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n"
                                      "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
                                      &v),
                  0);
        CHECK(v == 1234000ULL);
        CHECK_INT(acct_parse_cpu_stat("user_usec 1\n", &v), -ENODATA);
        CHECK_INT(acct_parse_cpu_stat("usage_usec x\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpu_stat("usage_usec\n", &v), -EINVAL);
        CHECK_INT(acct_parse_cpu_stat("usage_usec 18446744073709552\n", &v), -ERANGE);
        CHECK_INT(acct_parse_cpu_stat("usage_usec 9007199254740993\n", &v), 0);
        CHECK(v == 9007199254740993000ULL);
}

static void test_keyed_and_number(void) {
        char *f = fixture("memory-events.txt");
        uint64_t v = 0;

        CHECK(f != NULL);
        CHECK_INT(acct_parse_keyed(f ? f : "", "oom_kill", &v), 0);
        CHECK(v == 2);
        CHECK_INT(acct_parse_keyed(f ? f : "", "max", &v), 0);
        CHECK(v == 340);
        CHECK_INT(acct_parse_keyed(f ? f : "", "oom_kil", &v), -ENODATA); /* whole keys only */
        CHECK_INT(acct_parse_keyed("oom_kill 1\nbad\n", "oom_kill", &v), -EINVAL);
        CHECK_INT(acct_parse_keyed("oom_kill 1\nmax -1\n", "oom_kill", &v), -EINVAL);
        CHECK_INT(acct_parse_keyed("oom_kill 18446744073709551616\n", "oom_kill", &v), -ERANGE);
        CHECK_INT(acct_parse_keyed("", "oom_kill", &v), -ENODATA);
        CHECK(v == 340); /* untouched on failure */
        free(f);
        f = fixture("memory-current.txt");
        CHECK_INT(acct_parse_number(f ? f : "", &v), 0);
        CHECK(v == 67108864);
        CHECK_INT(acct_parse_number("max\n", &v), -EINVAL);
        free(f);
}

static void test_cpu_throttle(void) {
        char *v1 = fixture("cpu-stat-v1.txt"), *v2 = fixture("cpu-stat-v2-throttle.txt");
        uint64_t nr = 0, us = 0;

        CHECK(v1 && v2);
        /* v1 throttled_time is ns */
        CHECK_INT(acct_parse_cpu_throttle(v1 ? v1 : "", false, &nr, &us), 0);
        CHECK(nr == 2406 && us == 119948172);
        CHECK_INT(acct_parse_cpu_throttle(v2 ? v2 : "", true, &nr, &us), 0);
        CHECK(nr == 25 && us == 1250000);
        /* the other version's key is not taken */
        CHECK_INT(acct_parse_cpu_throttle(v1 ? v1 : "", true, &nr, &us), -ENODATA);
        CHECK_INT(acct_parse_cpu_throttle(v2 ? v2 : "", false, &nr, &us), -ENODATA);
        /* v2 without the cpu controller enabled: usage lines only */
        CHECK_INT(acct_parse_cpu_throttle("usage_usec 5\nuser_usec 4\nsystem_usec 1\n", true, &nr,
                                          &us),
                  -ENODATA);
        CHECK(nr == 25 && us == 1250000);
        CHECK_INT(acct_parse_cpu_throttle("nr_throttled x\nthrottled_usec 1\n", true, &nr, &us),
                  -EINVAL);
        free(v1);
        free(v2);
}

static void test_pressure(void) {
        char *f = fixture("pressure.txt"), *some = fixture("pressure-some-only.txt");
        struct acct_pressure p = {};

        CHECK(f && some);
        CHECK_INT(acct_parse_pressure(f ? f : "", &p), 0);
        CHECK(p.has_some && p.has_full && p.some_usec == 8234567 && p.full_usec == 1024);
        /* cpu.pressure before 5.13: no full line, so no full_usec */
        CHECK_INT(acct_parse_pressure(some ? some : "", &p), 0);
        CHECK(p.has_some && !p.has_full && p.some_usec == 99);
        /* exact to the last µs */
        CHECK_INT(acct_parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551615\n",
                                      &p),
                  0);
        CHECK(p.some_usec == UINT64_MAX);
        /* a later kernel's kind of line is skipped if well-formed */
        CHECK_INT(acct_parse_pressure("some total=1\nirq avg10=0.00 total=5\n", &p), 0);
        CHECK(p.some_usec == 1 && !p.has_full);
        p = (struct acct_pressure){.some_usec = 42};
        CHECK_INT(acct_parse_pressure("full avg10=0.00 total=1\n", &p), -ENODATA);
        CHECK_INT(acct_parse_pressure("", &p), -ENODATA);
        CHECK_INT(acct_parse_pressure("some avg10=0.00\n", &p), -EINVAL);          /* no total */
        CHECK_INT(acct_parse_pressure("some total=-1\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some total=1 total=2\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some total=1\nsome total=2\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some  total=1\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some avg10=x total=1\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some total=1\n\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("total=1\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some total=\n", &p), -EINVAL);
        CHECK_INT(acct_parse_pressure("some total=18446744073709551616\n", &p), -ERANGE);
        CHECK(p.some_usec == 42); /* untouched on failure */
        free(f);
        free(some);
}

static void test_blkio_v1(void) {
        struct acct_blkio b = {};
        const char *throttle = "254:0 Read 8482816\n254:0 Write 8388608\n254:0 Sync 16871424\n"
                               "254:0 Async 0\n254:0 Discard 0\n254:0 Total 16871424\n"
                               "8:16 Read 4096\n8:16 Write 0\n8:16 Total 4096\nTotal 16875520\n";
        CHECK_INT(acct_parse_blkio_v1(throttle, &b), 0);
        CHECK_INT(b.n, 2);
        CHECK_INT(b.v[0].major, 254);
        CHECK_INT(b.v[0].minor, 0);
        CHECK(b.v[0].read == 8482816);
        CHECK(b.v[0].write == 8388608);
        CHECK_INT(b.v[1].major, 8);
        CHECK_INT(b.v[1].minor, 16);
        CHECK(b.v[1].read == 4096);
        /* empty cgroup; reparse reuses the array */
        CHECK_INT(acct_parse_blkio_v1("Total 0\n", &b), 0);
        CHECK_INT(b.n, 0);
        CHECK_INT(acct_parse_blkio_v1("", &b), 0);
        CHECK_INT(b.n, 0);
        /* huge counters exact */
        CHECK_INT(acct_parse_blkio_v1("8:0 Read 18446744073709551615\n8:0 Write 9007199254740993\n"
                                      "Total 0\n",
                                      &b),
                  0);
        CHECK(b.v[0].read == UINT64_MAX && b.v[0].write == 9007199254740993ULL);
        /* malformed */
        CHECK_INT(acct_parse_blkio_v1("8:0 Read\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8-0 Read 1\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8:0 Read 1 2\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8:0  Read 1\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8:0 Read -1\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("Total 0\n8:0 Read 1\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8:0 Read 1\n\n", &b), -EINVAL);
        CHECK_INT(acct_parse_blkio_v1("8:0 Read 99999999999999999999\n", &b), -ERANGE);
        acct_blkio_clear(&b);
        CHECK(b.v == NULL && b.n == 0);
}

static void test_io_stat(void) {
        struct acct_blkio b = {};
        CHECK_INT(acct_parse_io_stat("8:0 rbytes=90112 wbytes=4096 rios=5 wios=1 dbytes=0 dios=0\n"
                                     "254:0 rbytes=9007199254740993 wbytes=0 rios=1 wios=0\n",
                                     &b),
                  0);
        CHECK_INT(b.n, 2);
        CHECK(b.v[0].read == 90112 && b.v[0].write == 4096);
        CHECK(b.v[1].read == 9007199254740993ULL && b.v[1].write == 0);
        CHECK_INT(acct_parse_io_stat("8:0 rios=1 cost.usage=5 depth=max\n", &b), 0);
        CHECK(b.n == 1 && b.v[0].read == 0 && b.v[0].write == 0);
        CHECK_INT(acct_parse_io_stat("", &b), 0);
        CHECK_INT(b.n, 0);
        CHECK_INT(acct_parse_io_stat("8:0 rbytes=x\n", &b), -EINVAL);
        CHECK_INT(acct_parse_io_stat("8:0 rbytes\n", &b), -EINVAL);
        CHECK_INT(acct_parse_io_stat("8:0 =1\n", &b), -EINVAL);
        CHECK_INT(acct_parse_io_stat("8:0 rbytes=1  wbytes=2\n", &b), -EINVAL);
        CHECK_INT(acct_parse_io_stat("rbytes=1\n", &b), -EINVAL);
        acct_blkio_clear(&b);
}

static void test_devices(void) {
        unsigned a = 0, b = 0;
        CHECK_INT(acct_parse_devnum("254:0\n", &a, &b), 0);
        CHECK(a == 254 && b == 0);
        CHECK_INT(acct_parse_devnum("8:16", &a, &b), 0);
        CHECK(a == 8 && b == 16);
        CHECK_INT(acct_parse_devnum("8:", &a, &b), -EINVAL);
        CHECK_INT(acct_parse_devnum("8:1 ", &a, &b), -EINVAL);
        CHECK_INT(acct_parse_devnum("99999999999:1", &a, &b), -ERANGE);
        CHECK(acct_blockdev_wanted("vda", 536870912));
        CHECK(acct_blockdev_wanted("nvme0n1", 1));
        CHECK(acct_blockdev_wanted("dm-0", 100));
        CHECK(!acct_blockdev_wanted("zram0", 0));
        CHECK(!acct_blockdev_wanted("loop0", 100));
        CHECK(!acct_blockdev_wanted("ram0", 100));
        CHECK(!acct_blockdev_wanted("", 100));
        CHECK(!acct_blockdev_wanted("a/b", 100));
        CHECK_INT(acct_throttle_has_rule("", 8, 0), 0);
        CHECK_INT(acct_throttle_has_rule("8:0 1048576\n254:0 100\n", 254, 0), 1);
        CHECK_INT(acct_throttle_has_rule("8:0 1048576\n", 254, 0), 0);
        CHECK_INT(acct_throttle_has_rule("8:0 max\n", 254, 0), -EINVAL);
}

/* The seed's example conf, built by hand (this test does not depend on conf.c). */
static struct conf_node *mk(struct conf_node *parent, const char *name) {
        struct conf_node *n = calloc(1, sizeof(*n));
        n->name = name ? strdup(name) : NULL;
        n->parent = parent;
        n->weight = -1;
        if (parent) {
                parent->children = realloc(parent->children,
                                           (parent->n_children + 1) * sizeof(*parent->children));
                parent->children[parent->n_children++] = n;
                n->depth = parent->depth + 1;
        }
        return n;
}
static void free_node(struct conf_node *n) {
        for (size_t i = 0; i < n->n_children; i++)
                free_node(n->children[i]);
        free(n->children);
        free(n->name);
        free(n);
}

static void test_sample(void) {
        struct conf c = {.version = 3};
        struct conf_node *cpu = mk(NULL, NULL), *b, *blk = mk(NULL, NULL);
        struct acct_value cv[4] = {}, bv[2] = {};
        struct strbuf buf = {};
        cJSON *j;

        mk(cpu, "test_cgroup_a");
        b = mk(cpu, "test_cgroup_b");
        mk(b, "test_cgroup_b_sub1");
        mk(blk, "test_cgroup_a");
        c.roots[CONF_CPU] = cpu;
        c.roots[CONF_BLKIO] = blk;
        CHECK_INT(acct_tree_size(&c, CONF_CPU), 4);
        CHECK_INT(acct_tree_size(&c, CONF_BLKIO), 2);

        cv[0] = (struct acct_value){.ok = true, .usage = 1446489231295ULL};
        cv[1] = (struct acct_value){.ok = true, .usage = 9007199254740993ULL}; /* 2^53 + 1 */
        cv[2] = (struct acct_value){.ok = true, .usage = UINT64_MAX};
        cv[3] = (struct acct_value){.ok = false}; /* not there (yet) */
        bv[0].ok = true;
        CHECK_INT(acct_parse_blkio_v1("8:0 Read 4096\n8:0 Write 1048576\n254:0 Read 1\n"
                                      "254:0 Write 2\nTotal 0\n",
                                      &bv[0].blkio),
                  0);
        bv[1].ok = true;

        struct acct_value *values[_CONF_SUBSYS_MAX] = {[CONF_CPU] = cv, [CONF_BLKIO] = bv};
        CHECK_INT(acct_sample_write(&c, values, &buf), 0);
        CHECK_STR(strbuf_text(&buf), "{\"cpu\": {\"value\": {\"usage\": 1446489231295}, \"sub_cgroup\": {"
                         "\"test_cgroup_a\": {\"value\": {\"usage\": 9007199254740993}}, "
                         "\"test_cgroup_b\": {\"value\": {\"usage\": 18446744073709551615}, "
                         "\"sub_cgroup\": {\"test_cgroup_b_sub1\": {\"value\": {}}}}}}, "
                         "\"blkio\": {\"value\": {\"8:0\": {\"Read\": 4096, \"Write\": 1048576}, "
                         "\"254:0\": {\"Read\": 1, \"Write\": 2}}, \"sub_cgroup\": {"
                         "\"test_cgroup_a\": {\"value\": {}}}}}");
        /* valid JSON with the seed's shape */
        j = cJSON_Parse(strbuf_text(&buf));
        CHECK(j != NULL);
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cpu"), "sub_cgroup"),
                                  "test_cgroup_b") != NULL);
        cJSON_Delete(j);

        /* reuse of the buffer: rewritten, not appended */
        size_t len = buf.len;
        CHECK_INT(acct_sample_write(&c, values, &buf), 0);
        CHECK_INT(buf.len, len);

        /* absent subsystem and NULL values */
        c.roots[CONF_BLKIO] = NULL;
        struct acct_value *none[_CONF_SUBSYS_MAX] = {};
        CHECK_INT(acct_sample_write(&c, none, &buf), 0);
        CHECK_STR(strbuf_text(&buf),
                  "{\"cpu\": {\"value\": {}, \"sub_cgroup\": {\"test_cgroup_a\": {\"value\": "
                  "{}}, \"test_cgroup_b\": {\"value\": {}, \"sub_cgroup\": "
                  "{\"test_cgroup_b_sub1\": {\"value\": {}}}}}}}");
        c.roots[CONF_CPU] = NULL;
        CHECK_INT(acct_sample_write(&c, none, &buf), 0);
        CHECK_STR(strbuf_text(&buf), "{}");

        acct_blkio_clear(&bv[0].blkio);
        strbuf_done(&buf);
        free_node(cpu);
        free_node(blk);
}

/* The optional keys: each only with its bit; pressure after value, before sub_cgroup. */
static void test_sample_limits(void) {
        struct conf c = {.version = 1};
        struct conf_node *cpu = mk(NULL, NULL), *mem = mk(NULL, NULL), *pids = mk(NULL, NULL);
        struct acct_value cv[2] = {}, mv[3] = {}, pv[1] = {};
        struct strbuf buf = {};
        cJSON *j;

        mk(cpu, "a");
        mk(mem, "a");
        mk(mem, "gone");
        c.roots[CONF_CPU] = cpu;
        c.roots[CONF_MEMORY] = mem;
        c.roots[CONF_PIDS] = pids;
        cv[0] = (struct acct_value){.ok = true, .usage = 10, .has = ACCT_HAS_THROTTLE,
                                    .nr_throttled = 3, .throttled_usec = 9007199254740993ULL,
                                    .pressure = {.some_usec = 5, .has_some = true}};
        cv[1] = (struct acct_value){.ok = true, .usage = 1, .nr_throttled = 99}; /* bit unset */
        mv[0] = (struct acct_value){.ok = true, .has = ACCT_HAS_MEM_USAGE | ACCT_HAS_MEM_PEAK |
                                                      ACCT_HAS_MEM_FAILCNT,
                                    .mem_usage = 4096, .mem_peak = 8192, .mem_failcnt = 7,
                                    .pressure = {.some_usec = 1, .full_usec = 2, .has_some = true,
                                                 .has_full = true}};
        mv[1] = (struct acct_value){.ok = true, .has = ACCT_HAS_MEM_USAGE | ACCT_HAS_MEM_OOM_KILL,
                                    .mem_usage = UINT64_MAX, .mem_oom_kill = 1};
        mv[2] = (struct acct_value){.ok = false, .pressure = {.some_usec = 1, .has_some = true}};
        pv[0] = (struct acct_value){.ok = true, .has = ACCT_HAS_PIDS_CURRENT, .pids_current = 12};

        struct acct_value *values[_CONF_SUBSYS_MAX] = {[CONF_CPU] = cv, [CONF_MEMORY] = mv,
                                                       [CONF_PIDS] = pv};
        CHECK_INT(acct_sample_write(&c, values, &buf), 0);
        CHECK_STR(strbuf_text(&buf),
                  "{\"cpu\": {\"value\": {\"usage\": 10, \"nr_throttled\": 3, \"throttled_usec\": "
                  "9007199254740993}, \"pressure\": {\"some_usec\": 5}, \"sub_cgroup\": {\"a\": "
                  "{\"value\": {\"usage\": 1}}}}, "
                  "\"memory\": {\"value\": {\"usage\": 4096, \"peak\": 8192, \"failcnt\": 7}, "
                  "\"pressure\": {\"some_usec\": 1, \"full_usec\": 2}, \"sub_cgroup\": {\"a\": "
                  "{\"value\": {\"usage\": 18446744073709551615, \"oom_kill\": 1}}, \"gone\": "
                  "{\"value\": {}}}}, "
                  "\"pids\": {\"value\": {\"current\": 12}, \"sub_cgroup\": {}}}");
        j = cJSON_Parse(strbuf_text(&buf));
        CHECK(j != NULL);
        cJSON_Delete(j);
        /* a value with no counter at all (v2 memory.current unreadable yet): {} */
        pv[0].has = 0;
        CHECK_INT(acct_sample_write(&c, values, &buf), 0);
        CHECK(strstr(strbuf_text(&buf), "\"pids\": {\"value\": {}, \"sub_cgroup\": {}}") != NULL);
        strbuf_done(&buf);
        free_node(cpu);
        free_node(mem);
        free_node(pids);
}

static void test_u64_writer(void) {
        struct strbuf b = {};
        CHECK_INT(strbuf_append_u64(&b, 0), 0);
        CHECK_INT(strbuf_append(&b, " ", 1), 0);
        CHECK_INT(strbuf_append_u64(&b, 1000000000000000ULL), 0); /* cJSON: 1e+15 */
        CHECK_INT(strbuf_append(&b, " ", 1), 0);
        CHECK_INT(strbuf_append_u64(&b, UINT64_MAX), 0);
        CHECK_STR(strbuf_text(&b), "0 1000000000000000 18446744073709551615");
        strbuf_done(&b);
}

int main(void) {
        RUN(test_cpuacct_usage);
        RUN(test_cpu_stat);
        RUN(test_keyed_and_number);
        RUN(test_cpu_throttle);
        RUN(test_pressure);
        RUN(test_blkio_v1);
        RUN(test_io_stat);
        RUN(test_devices);
        RUN(test_sample);
        RUN(test_sample_limits);
        RUN(test_u64_writer);
        return TAP_END();
}
