/* test-top.c — `cgarch top`'s model (cgarch/top.c): rows from two samples and the conf (rates,
 * the optional keys of issue 18, "-" for what is absent, counters that went back), the sort
 * orders, the layout at a width, and the byte units. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "top.h"

static const char *const S1 =
        "{\"cpu\": {\"value\": {\"usage\": 1000000000}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"usage\": 100, \"throttled_usec\": 0},"
        "         \"pressure\": {\"some_usec\": 0, \"full_usec\": 0},"
        "         \"sub_cgroup\": {\"x\": {\"value\": {\"usage\": 0}}}},"
        "  \"a-b\": {\"value\": {\"usage\": 5000000000}},"
        "  \"gone\": {\"value\": {\"usage\": 1}}}},"
        " \"blkio\": {\"value\": {\"8:0\": {\"Read\": 0, \"Write\": 0}}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"8:0\": {\"Read\": 1024, \"Write\": 0}}}}},"
        " \"memory\": {\"value\": {\"usage\": 1}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"usage\": 5}, \"pressure\": {\"some_usec\": 0}}}}}";
/* two seconds later */
static const char *const S2 =
        "{\"cpu\": {\"value\": {\"usage\": 3000000000}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"usage\": 1000000100, \"throttled_usec\": 200000},"
        "         \"pressure\": {\"some_usec\": 100000, \"full_usec\": 0},"
        "         \"sub_cgroup\": {\"x\": {\"value\": {\"usage\": 0}}}},"
        "  \"a-b\": {\"value\": {\"usage\": 4000000000}},"
        "  \"new\": {\"value\": {\"usage\": 7}}}},"
        " \"blkio\": {\"value\": {\"8:0\": {\"Read\": 0, \"Write\": 0}}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"8:0\": {\"Read\": 4096, \"Write\": 2048}, "
        "                     \"8:16\": {\"Read\": 1024, \"Write\": 0}}}}},"
        " \"memory\": {\"value\": {\"usage\": 1073741824}, \"sub_cgroup\": {"
        "  \"a\": {\"value\": {\"usage\": 3145728}, \"pressure\": {\"some_usec\": 600000}}}},"
        " \"pids\": {\"value\": {\"current\": 12}}}";
static const char *const CONF =
        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 2048}, \"sub_cgroup\": "
        "{\"x\": {\"conf\": {}}}}, \"c\": {}}}, \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": "
        "{\"weight\": 300}}}}}";

static const struct top_row *find(const struct top_view *v, const char *path) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->rows[i].path, path) == 0)
                        return &v->rows[i];
        return NULL;
}

static bool near(double a, double b) {
        return fabs(a - b) < 1e-6 * (fabs(b) + 1);
}

static void test_compute(void) {
        cJSON *p = cJSON_Parse(S1), *c = cJSON_Parse(S2), *conf = cJSON_Parse(CONF);
        struct top_view v = {};
        const struct top_row *r;

        CHECK_INT(top_compute(p, 100, c, 102, conf, &v), 0);
        CHECK(near(v.seconds, 2));
        CHECK_INT(v.slot, 102);
        /* rows: the current sample's cgroups and the conf's ("c"), not "gone" */
        CHECK_INT(v.n, 6);
        CHECK(find(&v, "gone") == NULL);
        r = find(&v, "");
        CHECK(r && near(r->cpu_pct, 100)); /* 2 s of CPU in 2 s */
        CHECK(r && near(r->mem, 1073741824) && near(r->pids, 12));
        CHECK(r && near(r->io_read, 0) && r->share == -1);
        r = find(&v, "a");
        CHECK(r && near(r->cpu_pct, 50));
        CHECK(r && near(r->throttled_pct, 10));
        CHECK(r && near(r->io_read, (4096 + 1024 - 1024) / 2.0)); /* a new device counts from 0 */
        CHECK(r && near(r->io_write, 1024));
        CHECK(r && near(r->mem, 3145728));
        CHECK(r && isnan(r->pids));
        /* cpu 5 %, memory 30 %: the largest, with its kind */
        CHECK(r && near(r->pressure, 30) && r->pressure_kind == 'm');
        CHECK(r && r->share == 2048 && r->weight == 300);
        r = find(&v, "a/x");
        CHECK(r && near(r->cpu_pct, 0) && r->share == 1024); /* conf without share: 1024 */
        CHECK(r && isnan(r->io_read) && isnan(r->mem) && isnan(r->pressure) && r->weight == -1);
        r = find(&v, "a-b");
        CHECK(r && isnan(r->cpu_pct)); /* the counter went back: unknown, not negative */
        r = find(&v, "new");
        CHECK(r && isnan(r->cpu_pct)); /* not in the older sample */
        r = find(&v, "c");
        CHECK(r && isnan(r->cpu_pct) && r->share == -1); /* a node without "conf": none */
        top_view_done(&v);

        CHECK_INT(top_compute(p, 102, c, 102, conf, &v), -EINVAL);
        CHECK_INT(top_compute(p, 100, NULL, 102, conf, &v), -EINVAL);
        /* no older sample, no conf: rows with what one sample tells */
        CHECK_INT(top_compute(NULL, 100, c, 102, NULL, &v), 0);
        r = find(&v, "a");
        CHECK(r && isnan(r->cpu_pct) && near(r->mem, 3145728) && r->share == -1);
        top_view_done(&v);
        cJSON_Delete(p);
        cJSON_Delete(c);
        cJSON_Delete(conf);
}

static void test_hostile(void) {
        /* wrong types, negative and huge numbers, names with '/', deep nesting: no crash, "-" */
        cJSON *c = cJSON_Parse(
                "{\"cpu\": {\"value\": {\"usage\": -5}, \"sub_cgroup\": {\"a/b\": {}, \"\": {}, "
                "\"ok\": {\"value\": \"x\", \"pressure\": 3, \"sub_cgroup\": []}}}, "
                "\"blkio\": {\"value\": [1, 2], \"sub_cgroup\": {\"ok\": {\"value\": {\"8:0\": "
                "{\"Read\": 1e308, \"Write\": \"big\"}}}}}, \"junk\": 7, \"memory\": []}");
        cJSON *p = cJSON_Duplicate(c, true);
        struct top_view v = {};
        struct strbuf b = {};

        CHECK_INT(top_compute(p, 1, c, 2, c, &v), 0);
        CHECK_INT(v.n, 2); /* "" and "ok": "a/b" and "" are not cgroup names */
        CHECK(find(&v, "") && isnan(find(&v, "")->cpu_pct));
        CHECK(find(&v, "ok") && near(find(&v, "ok")->io_read, 0));
        CHECK_INT(top_format(&v, 80, 0, &b), 0);
        top_view_done(&v);
        strbuf_done(&b);
        cJSON_Delete(p);
        cJSON_Delete(c);
        /* a conf number past int64 (fuzz-top found the conversion overflowing): clamped */
        c = cJSON_Parse("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1e70}}}}}");
        CHECK_INT(top_compute(NULL, 1, c, 2, c, &v), 0);
        CHECK(find(&v, "a") && find(&v, "a")->share == (int64_t) 1e15);
        top_view_done(&v);
        cJSON_Delete(c);
}

static const char *order(const struct top_view *v, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t i = 0; i < v->n; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s/%s", i ? " " : "",
                         v->rows[i].path);
        return buf;
}

static void test_sort(void) {
        struct top_row rows[] = {
                {.path = "b", .cpu_pct = 5, .io_read = NAN, .io_write = NAN, .mem = 1, .pressure = NAN},
                {.path = "a-b", .cpu_pct = 50, .io_read = 1, .io_write = 1, .mem = NAN, .pressure = 2},
                {.path = "a/c", .cpu_pct = NAN, .io_read = 5, .io_write = NAN, .mem = 3, .pressure = 1},
                {.path = "a", .cpu_pct = 5, .io_read = 0, .io_write = 0, .mem = 2, .pressure = NAN},
                {.path = "", .cpu_pct = 60, .io_read = 6, .io_write = 0, .mem = 9, .pressure = 0},
        };
        struct top_view v = {.rows = rows, .n = 5};
        char buf[256];

        top_sort(&v, TOP_SORT_CPU);
        CHECK_STR(order(&v, buf, sizeof(buf)), "/ /a-b /a /b /a/c"); /* ties by path, NAN last */
        top_sort(&v, TOP_SORT_IO);
        CHECK_STR(order(&v, buf, sizeof(buf)), "/ /a/c /a-b /a /b");
        top_sort(&v, TOP_SORT_MEMORY);
        CHECK_STR(order(&v, buf, sizeof(buf)), "/ /a/c /a /b /a-b");
        top_sort(&v, TOP_SORT_PRESSURE);
        CHECK_STR(order(&v, buf, sizeof(buf)), "/a-b /a/c / /a /b");
        top_sort(&v, TOP_SORT_TREE); /* a child right after its parent: "a/c" before "a-b" */
        CHECK_STR(order(&v, buf, sizeof(buf)), "/ /a /a/c /a-b /b");

        CHECK_INT(top_sort_from_string("cpu"), TOP_SORT_CPU);
        CHECK_INT(top_sort_from_string("m"), TOP_SORT_MEMORY);
        CHECK_INT(top_sort_from_string("tree"), TOP_SORT_TREE);
        CHECK_INT(top_sort_from_string("size"), -EINVAL);
        CHECK_INT(top_sort_from_string(""), -EINVAL);
        CHECK_INT(top_sort_from_key('i'), TOP_SORT_IO);
        CHECK_INT(top_sort_from_key('p'), TOP_SORT_PRESSURE);
        CHECK_INT(top_sort_from_key('x'), -1);
        CHECK_STR(top_sort_name(TOP_SORT_PRESSURE), "pressure");
}

static void test_format(void) {
        struct top_row rows[] = {
                {.path = "", .cpu_pct = 12.345, .throttled_pct = NAN, .io_read = 1536,
                 .io_write = 0, .mem = 3.5 * 1024 * 1024 * 1024, .pids = 7, .pressure = 4.25,
                 .pressure_kind = 'i', .share = -1, .weight = -1},
                {.path = "a/very/long/path/name/that/does/not/fit", .cpu_pct = NAN,
                 .throttled_pct = NAN, .io_read = NAN, .io_write = NAN, .mem = NAN, .pids = NAN,
                 .pressure = NAN, .share = 2048, .weight = 800},
        };
        struct top_view v = {.rows = rows, .n = 2};
        struct strbuf b = {};
        const char *t, *l2, *l3;
        char s[16];

        CHECK_INT(top_format(&v, 0, 0, &b), 0);
        t = strbuf_text(&b);
        CHECK(strncmp(t, "CONTROL GROUP", 13) == 0);
        l2 = strchr(t, '\n') + 1;
        CHECK(strncmp(l2, "/ ", 2) == 0);
        CHECK(strstr(l2, " 12.3 ") && strstr(l2, " 1.5K ") && strstr(l2, " 3.5G ") &&
              strstr(l2, " 4.2i ") && strstr(l2, "     7 "));
        l3 = strchr(l2, '\n') + 1;
        CHECK(strncmp(l3, "/a/very/long/path/name/that/does/not/fit ", 41) == 0);
        CHECK(strstr(l3, " 2048  800\n") != NULL);
        strbuf_done(&b);

        /* 80 columns: every line exactly 80 wide, the long path cut on the left */
        CHECK_INT(top_format(&v, 80, 0, &b), 0);
        for (const char *p = strbuf_text(&b); *p;) {
                const char *e = strchr(p, '\n');
                CHECK_INT(e - p, 80);
                p = e + 1;
        }
        CHECK(strstr(strbuf_text(&b), "...") && strstr(strbuf_text(&b), "/does/not/fit "));
        strbuf_done(&b);
        /* max_rows */
        CHECK_INT(top_format(&v, 80, 1, &b), 0);
        CHECK_INT(strchr(strchr(strbuf_text(&b), '\n') + 1, '\n')[1], 0);
        strbuf_done(&b);

        /* hostile figures and names: each still in its column, no control byte out */
        {
                struct top_row h[] = {{.path = "\x1b[2Jevil\nname\xc3\xa9", .cpu_pct = 1e300,
                                       .throttled_pct = 123456, .io_read = 1e300,
                                       .io_write = 1e300, .mem = 1e300, .pids = 1e12,
                                       .pressure = 1e9, .pressure_kind = 'c',
                                       .share = INT64_MAX, .weight = 123456}};
                struct top_view hv = {.rows = h, .n = 1};
                const char *row;

                CHECK_INT(top_format(&hv, 80, 0, &b), 0);
                row = strchr(strbuf_text(&b), '\n') + 1;
                CHECK_STR(row, "/?[2Jevil?name??    >99999 >9999   >999E   >999E   >999E >9999 "
                               ">9999c >9999 >999\n");
                strbuf_done(&b);
        }
        top_format_bytes(0, s, sizeof(s));
        CHECK_STR(s, "0");
        top_format_bytes(512, s, sizeof(s));
        CHECK_STR(s, "512B");
        top_format_bytes(1024, s, sizeof(s));
        CHECK_STR(s, "1.0K");
        top_format_bytes(100 * 1048576.0, s, sizeof(s));
        CHECK_STR(s, "100M");
        top_format_bytes(1023 * 1024.0, s, sizeof(s));
        CHECK_STR(s, "1023K");
        top_format_bytes(NAN, s, sizeof(s));
        CHECK_STR(s, "-");
        top_format_bytes(-1, s, sizeof(s));
        CHECK_STR(s, "-");
        top_format_bytes(1e30, s, sizeof(s)); /* hostile: still fits its column */
        CHECK_STR(s, ">999E");
}

static void test_host(void) {
        char buf[32];
        cJSON *j;

        j = cJSON_Parse("{\"host\": \"node-7\", \"redis_prefix\": \"cgroup_arch\"}");
        CHECK_INT(top_host_from_answer(j, "127.0.0.1", buf, sizeof(buf)), 1);
        CHECK_STR(buf, "node-7");
        cJSON_Delete(j);
        /* an old cg-wsd: unknown cmd -> the URL's host */
        j = cJSON_Parse("{\"error\": \"unknown cmd \\\"get_host\\\"\"}");
        CHECK_INT(top_host_from_answer(j, "10.0.0.5", buf, sizeof(buf)), 0);
        CHECK_STR(buf, "10.0.0.5");
        cJSON_Delete(j);
        /* no name known to cg-wsd: the URL's host too */
        j = cJSON_Parse("{\"host\": \"\", \"redis_prefix\": \"p\"}");
        CHECK_INT(top_host_from_answer(j, "example", buf, sizeof(buf)), 0);
        CHECK_STR(buf, "example");
        cJSON_Delete(j);
        /* hostile: no terminal control, cut to the buffer */
        j = cJSON_Parse("{\"host\": \"\\u001b[2Jx\\u00e9\", \"redis_prefix\": \"p\"}");
        CHECK_INT(top_host_from_answer(j, "f", buf, sizeof(buf)), 1);
        CHECK_STR(buf, "?[2Jx??");
        cJSON_Delete(j);
        j = cJSON_Parse("{\"host\": \"0123456789012345678901234567890123456789\", "
                        "\"redis_prefix\": \"p\"}");
        CHECK_INT(top_host_from_answer(j, "f", buf, sizeof(buf)), 1);
        CHECK_INT((int) strlen(buf), 31);
        cJSON_Delete(j);
        /* other messages are not the answer */
        j = cJSON_Parse("{\"version\": 1, \"value\": {}}");
        CHECK_INT(top_host_from_answer(j, "f", buf, sizeof(buf)), -EINVAL);
        cJSON_Delete(j);
        j = cJSON_Parse("{\"1700000000\": {}}");
        CHECK_INT(top_host_from_answer(j, "f", buf, sizeof(buf)), -EINVAL);
        cJSON_Delete(j);
}

int main(void) {
        RUN(test_host);
        RUN(test_compute);
        RUN(test_hostile);
        RUN(test_sort);
        RUN(test_format);
        return TAP_END();
}
