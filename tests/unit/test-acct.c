/* test-acct.c — parsers of accounting files and the sample writer (common/acct.c). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "acct.h"
#include "tap.h"

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
        RUN(test_blkio_v1);
        RUN(test_io_stat);
        RUN(test_devices);
        RUN(test_sample);
        RUN(test_u64_writer);
        return TAP_END();
}
