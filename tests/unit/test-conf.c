/* test-conf.c — the arch conf parser/validator, canonical JSON, lookups and cgexec arguments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "tap.h"
#include "util.h"

#define SEED                                                                                       \
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "          \
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": " \
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "        \
        "{\"conf\": {\"weight\": 500}}}}}"

/* Parses text; returns the formatted problems ("" if valid), owned. *rc gets the return. */
static char *problems_of_len(const char *text, size_t len, int *rc) {
        struct conf_errors e = {};
        struct conf *c = NULL;
        char *s = NULL;
        int r;

        r = conf_parse(text, len, &c, &e);
        if (rc)
                *rc = r;
        if (r >= 0) {
                CHECK(c != NULL);
                CHECK_INT(e.n, 0);
        } else
                CHECK(c == NULL);
        conf_free(c);
        if (conf_errors_format(&e, -1, &s) < 0)
                s = strdup("(format failed)");
        conf_errors_clear(&e);
        return s;
}

static char *problems_of(const char *text, int *rc) {
        return problems_of_len(text, strlen(text), rc);
}

/* The conf must be rejected with a problem line equal to `line`. */
static void expect_problem(const char *text, const char *line) {
        int rc = 0;
        char *p = problems_of(text, &rc);
        bool found = false;

        CHECK_INT(rc, -EINVAL);
        for (char *s = p; s && *s;) {
                size_t l = strcspn(s, "\n");
                if (l == strlen(line) && strncmp(s, line, l) == 0)
                        found = true;
                s += l;
                s += *s == '\n';
        }
        if (!found)
                printf("#   expected problem \"%s\" for %.200s\n#   got: %s\n", line, text, p);
        CHECK(found);
        free(p);
}

/* The conf must be rejected with a problem containing `sub`. */
static void expect_problem_sub(const char *text, const char *sub) {
        int rc = 0;
        char *p = problems_of(text, &rc);

        CHECK_INT(rc, -EINVAL);
        if (!p || !strstr(p, sub))
                printf("#   expected a problem with \"%s\" for %.200s\n#   got: %s\n", sub, text, p ? p : "");
        CHECK(p && strstr(p, sub));
        free(p);
}

static void expect_valid(const char *text) {
        int rc = 0;
        char *p = problems_of(text, &rc);

        if (rc != 0)
                printf("#   expected valid: %.200s\n#   got: %s\n", text, p);
        CHECK_INT(rc, 0);
        free(p);
}

/* A conf with one cpu child of the given name. */
static void name_case(const char *name, bool valid) {
        _cleanup_free_ char *text = NULL, *line = NULL;

        CHECK(xasprintf(&text, "{\"cpu\": {\"sub_cgroup\": {\"%s\": {}}}}", name) >= 0);
        if (valid)
                expect_valid(text);
        else {
                int rc = 0;
                char *p = problems_of(text, &rc);
                CHECK_INT(rc, -EINVAL);
                if (!p || !strstr(p, "cgroup name"))
                        printf("#   name \"%s\": %s\n", name, p ? p : "");
                CHECK(p && strstr(p, "cgroup name"));
                free(p);
        }
        CHECK_INT(conf_name_is_valid(name), valid);
}

static void test_seed_accepted(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors e = {};
        const struct conf_node *a, *b, *b1, *ba;

        CHECK_INT(conf_parse(SEED, strlen(SEED), &c, &e), 0);
        CHECK_INT(e.n, 0);
        if (!c)
                return;
        CHECK_INT(c->n_nodes, 4);
        CHECK_INT(c->version, -1);
        CHECK(c->roots[CONF_CPU] && c->roots[CONF_BLKIO]);
        CHECK_STR(c->roots[CONF_CPU]->path, "");
        CHECK(c->roots[CONF_CPU]->name == NULL);
        CHECK_INT(c->roots[CONF_CPU]->depth, 0);
        CHECK_INT(c->roots[CONF_CPU]->n_children, 2);
        CHECK_STR(c->roots[CONF_CPU]->children[0]->name, "test_cgroup_a"); /* JSON order */
        CHECK_STR(c->roots[CONF_CPU]->children[1]->name, "test_cgroup_b");

        a = conf_find(c, CONF_CPU, "test_cgroup_a");
        b = conf_find(c, CONF_CPU, "test_cgroup_b");
        b1 = conf_find(c, CONF_CPU, "test_cgroup_b_sub1");
        ba = conf_find(c, CONF_BLKIO, "test_cgroup_a");
        CHECK(a && b && b1 && ba);
        if (!a || !b || !b1 || !ba)
                return;
        CHECK_INT(a->weight, 1024);
        CHECK_INT(b->weight, 100);
        CHECK_INT(b1->weight, 200);
        CHECK_INT(ba->weight, 500);
        CHECK_STR(b1->path, "test_cgroup_b/test_cgroup_b_sub1");
        CHECK_INT(b1->depth, 2);
        CHECK(b1->parent == b);
        CHECK(b->parent == c->roots[CONF_CPU]);
        CHECK(conf_find(c, CONF_BLKIO, "test_cgroup_b") == NULL);
        CHECK(conf_find(c, CONF_CPU, "nope") == NULL);
        CHECK(conf_find(c, CONF_CPU, "") == NULL);
}

static void test_subsys_names(void) {
        CHECK_STR(conf_subsys_name(CONF_CPU), "cpu");
        CHECK_STR(conf_subsys_name(CONF_BLKIO), "blkio");
        CHECK(conf_subsys_name(_CONF_SUBSYS_MAX) == NULL);
        CHECK_INT(conf_subsys_from_name("cpu"), CONF_CPU);
        CHECK_INT(conf_subsys_from_name("blkio"), CONF_BLKIO);
        CHECK_INT(conf_subsys_from_name("cpuacct"), -EINVAL);
        CHECK_INT(conf_subsys_from_name("io"), -EINVAL);
        CHECK_INT(conf_subsys_from_name(NULL), -EINVAL);
}

static void test_cgexec_arg_seed(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        char *s = NULL;

        CHECK_INT(conf_parse(SEED, strlen(SEED), &c, NULL), 0);
        if (!c)
                return;
        CHECK_INT(conf_cgexec_arg(c, "", "test_cgroup_b_sub1", 0, &s), 0);
        CHECK_STR(s, "-g cpu:test_cgroup_b/test_cgroup_b_sub1");
        s = mfree(s);
        CHECK_INT(conf_cgexec_arg(c, NULL, "test_cgroup_a", 0, &s), 0);
        CHECK_STR(s, "-g cpu:test_cgroup_a -g blkio:test_cgroup_a");
        s = mfree(s);
        CHECK_INT(conf_cgexec_arg(c, "cgrouparch", "test_cgroup_a", 0, &s), 0);
        CHECK_STR(s, "-g cpu:cgrouparch/test_cgroup_a -g blkio:cgrouparch/test_cgroup_a");
        s = mfree(s);
        CHECK_INT(conf_cgexec_arg(c, "/top/mid/", "test_cgroup_b", 0, &s), 0);
        CHECK_STR(s, "-g cpu:top/mid/test_cgroup_b");
        s = mfree(s);
        CHECK_INT(conf_cgexec_arg(c, "", "nope", 0, &s), -ENOENT);
        CHECK(s == NULL);
        CHECK_INT(conf_cgexec_arg(c, "", "", 0, &s), -ENOENT);
        CHECK_INT(conf_cgexec_arg(c, "", NULL, 0, &s), -EINVAL);
        /* cpu and cpuacct mounted apart: the cpu tree names both, right after cpu. */
        CHECK_INT(conf_cgexec_arg(c, "r", "test_cgroup_a", CONF_CGEXEC_CPUACCT, &s), 0);
        CHECK_STR(s, "-g cpu:r/test_cgroup_a -g cpuacct:r/test_cgroup_a -g blkio:r/test_cgroup_a");
        s = mfree(s);
        CHECK_INT(conf_cgexec_arg(c, "", "test_cgroup_b_sub1", CONF_CGEXEC_CPUACCT, &s), 0);
        CHECK_STR(s, "-g cpu:test_cgroup_b/test_cgroup_b_sub1 "
                     "-g cpuacct:test_cgroup_b/test_cgroup_b_sub1");
        s = mfree(s);
}

/* memory and pids trees are named too, in subsystem order, each with its own path. */
static void test_cgexec_arg_limits_trees(void) {
        const char *t = "{\"pids\": {\"sub_cgroup\": {\"w\": {\"conf\": {\"max\": 10}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"m\": {\"sub_cgroup\": {\"w\": {}}}}},"
                        " \"cpu\": {\"sub_cgroup\": {\"w\": {}}}}";
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *s = NULL;

        CHECK_INT(conf_parse(t, strlen(t), &c, NULL), 0);
        if (!c)
                return;
        CHECK_INT(conf_cgexec_arg(c, "r", "w", CONF_CGEXEC_CPUACCT, &s), 0);
        CHECK_STR(s, "-g cpu:r/w -g cpuacct:r/w -g memory:r/m/w -g pids:r/w");
}

static void test_cgexec_arg_both_paths(void) {
        const char *t = "{\"blkio\": {\"sub_cgroup\": {\"p\": {\"sub_cgroup\": {\"x\": {}}}}},"
                        " \"cpu\": {\"sub_cgroup\": {\"q\": {\"sub_cgroup\": {\"x\": {}}}}}}";
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *s = NULL;

        CHECK_INT(conf_parse(t, strlen(t), &c, NULL), 0);
        if (!c)
                return;
        /* cpu first, then blkio, whatever the JSON order; each with its own path. */
        CHECK_INT(conf_cgexec_arg(c, "r", "x", 0, &s), 0);
        CHECK_STR(s, "-g cpu:r/q/x -g blkio:r/p/x");
}

static void test_round_trip(void) {
        _cleanup_(conf_freep) struct conf *c = NULL, *c2 = NULL;
        _cleanup_free_ char *j = NULL, *j2 = NULL;
        const char *canon =
                "{\"cpu\":{\"sub_cgroup\":{\"test_cgroup_a\":{\"conf\":{\"share\":1024}},"
                "\"test_cgroup_b\":{\"conf\":{\"share\":100},\"sub_cgroup\":{\"test_cgroup_b_sub1\":"
                "{\"conf\":{\"share\":200}}}}}},\"blkio\":{\"sub_cgroup\":{\"test_cgroup_a\":"
                "{\"conf\":{\"weight\":500}}}}}";

        CHECK_INT(conf_parse(SEED, strlen(SEED), &c, NULL), 0);
        if (!c)
                return;
        CHECK_INT(conf_to_json(c, &j), 0);
        CHECK_STR(j, canon);
        CHECK_INT(conf_parse(j, strlen(j), &c2, NULL), 0);
        if (!c2)
                return;
        CHECK_INT(conf_to_json(c2, &j2), 0);
        CHECK_STR(j2, j);
        CHECK_INT(c2->n_nodes, c->n_nodes);
}

static void test_round_trip_canonical_forms(void) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"{}", "{}"},
                {"{\"cpu\": {}}", "{\"cpu\":{\"sub_cgroup\":{}}}"},
                {"{\"blkio\": {\"sub_cgroup\": {}}, \"cpu\": {\"sub_cgroup\": {}}}",
                 "{\"cpu\":{\"sub_cgroup\":{}},\"blkio\":{\"sub_cgroup\":{}}}"},
                /* conf present without the key: cpu gets 1024, blkio stays unset */
                {"{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {}}}}}",
                 "{\"cpu\":{\"sub_cgroup\":{\"a\":{\"conf\":{\"share\":1024}}}}}"},
                {"{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {}, \"sub_cgroup\": {}}}}}",
                 "{\"blkio\":{\"sub_cgroup\":{\"a\":{}}}}"},
                {"{\"cpu\":{\"sub_cgroup\":{\"a\":{\"sub_cgroup\":{\"b\":{\"conf\":{\"share\":2}}},"
                 "\"conf\":{\"share\":262144}}}}}",
                 "{\"cpu\":{\"sub_cgroup\":{\"a\":{\"conf\":{\"share\":262144},\"sub_cgroup\":"
                 "{\"b\":{\"conf\":{\"share\":2}}}}}}}"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(conf_freep) struct conf *c = NULL, *c2 = NULL;
                _cleanup_free_ char *j = NULL, *j2 = NULL;

                CHECK_INT(conf_parse(cases[i].in, strlen(cases[i].in), &c, NULL), 0);
                if (!c)
                        continue;
                CHECK_INT(conf_to_json(c, &j), 0);
                CHECK_STR(j, cases[i].out);
                if (!j)
                        continue;
                CHECK_INT(conf_parse(j, strlen(j), &c2, NULL), 0);
                if (c2 && conf_to_json(c2, &j2) >= 0)
                        CHECK_STR(j2, j);
        }
}

static void test_defaults(void) {
        const char *t = "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {}}, \"b\": {}}},"
                        " \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {}}, \"b\": {}}}}";
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INT(conf_parse(t, strlen(t), &c, NULL), 0);
        if (!c)
                return;
        CHECK_INT(conf_find(c, CONF_CPU, "a")->weight, 1024);
        CHECK_INT(conf_find(c, CONF_CPU, "b")->weight, -1);
        CHECK_INT(conf_find(c, CONF_BLKIO, "a")->weight, -1);
        CHECK_INT(conf_find(c, CONF_BLKIO, "b")->weight, -1);
        CHECK_INT(c->roots[CONF_CPU]->weight, -1);
}

static void test_absent_vs_empty_subsystem(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INT(conf_parse("{\"cpu\": {}}", 11, &c, NULL), 0);
        if (!c)
                return;
        CHECK(c->roots[CONF_CPU] != NULL); /* present and empty: everything under it goes */
        CHECK(c->roots[CONF_BLKIO] == NULL); /* absent: left alone */
        CHECK_INT(c->n_nodes, 0);
}

static void test_not_json(void) {
        expect_problem("", "not valid JSON: the text is empty");
        expect_problem("  \n\t", "not valid JSON: the text is empty");
        expect_problem("{", "not valid JSON: syntax error at line 1, column 2");
        expect_problem_sub("{\"cpu\":\n  {,}}", "not valid JSON: syntax error at line 2, column ");
        expect_problem("{} {}", "not valid JSON: trailing text at line 1, column 4");
        expect_problem("{}\n x", "not valid JSON: trailing text at line 2, column 2");
        expect_problem("cpu = 1", "not valid JSON: syntax error at line 1, column 1");
        /* cJSON would read the key as "a": refused, not cut */
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\\u0000/../x\": {}}}}",
                       "a string holds \\u0000 (NUL), which no key or name may hold");
        /* an escaped backslash before u0000 is no NUL */
        expect_problem("{\"\\\\u0000\": {}}", "\\x5cu0000: unknown subsystem (known: cpu, blkio, memory, pids)");
        expect_valid("\xef\xbb\xbf{}"); /* a UTF-8 byte-order mark (some editors) is skipped */
        {
                int rc = 0;
                char *p = problems_of_len("{}\0{}", 5, &rc);
                CHECK_INT(rc, -EINVAL);
                CHECK_STR(p, "not valid JSON: the text contains a NUL byte");
                free(p);
        }
}

static void test_not_object(void) {
        expect_problem("[]", "the conf must be a JSON object, not an array");
        expect_problem("null", "the conf must be a JSON object, not null");
        expect_problem("1", "the conf must be a JSON object, not a number");
        expect_problem("\"cpu\"", "the conf must be a JSON object, not a string");
        expect_problem("true", "the conf must be a JSON object, not a boolean");
}

static void test_buffer_not_nul_terminated(void) {
        /* Only len bytes count: the rest of the buffer must not be read. */
        const char buf[] = "{\"cpu\": {}}GARBAGE";
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INT(conf_parse(buf, 11, &c, NULL), 0);
        CHECK(c && c->roots[CONF_CPU]);
        CHECK_INT(conf_parse(buf, 12, &c, NULL), -EINVAL);
}

static void test_unknown_subsystem(void) {
        expect_problem("{\"swap\": {}}", "swap: unknown subsystem (known: cpu, blkio, memory, pids)");
        expect_problem("{\"cpuacct\": {}}", "cpuacct: unknown subsystem (known: cpu, blkio, memory, pids)");
        expect_problem("{\"io\": {}}", "io: unknown subsystem (known: cpu, blkio, memory, pids)");
        expect_problem("{\"CPU\": {}}", "CPU: unknown subsystem (known: cpu, blkio, memory, pids)");
        expect_problem("{\"cpu\": {}, \"cpu\": {}}", "cpu: duplicate key");
}

static void test_unknown_keys(void) {
        expect_problem("{\"cpu\": {\"conf\": {\"share\": 10}}}",
                       "cpu.conf: the subsystem root takes no conf");
        expect_problem("{\"cpu\": {\"sub\": {}}}", "cpu.sub: unknown key (allowed: sub_cgroup)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"confs\": {}}}}}",
                       "cpu.sub_cgroup.a.confs: unknown key (allowed: conf, sub_cgroup)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"foo\": 1}}}}}",
                       "cpu.sub_cgroup.a.conf.foo: unknown key (cpu takes: share, quota_percent)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 100}}}}}",
                       "cpu.sub_cgroup.a.conf.weight: unknown key (cpu takes: share, quota_percent)");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 100}}}}}",
                       "blkio.sub_cgroup.a.conf.share: unknown key (blkio takes: weight, read_bps, write_bps, read_iops, write_iops)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 3, \"share\": 4}}}}}",
                       "cpu.sub_cgroup.a.conf.share: duplicate key");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {}, \"conf\": {}}}}}",
                       "cpu.sub_cgroup.a.conf: duplicate key");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {}, \"sub_cgroup\": {}}}",
                       "cpu.sub_cgroup: duplicate key");
}

static void test_wrong_types(void) {
        expect_problem("{\"cpu\": []}", "cpu: must be an object, not an array");
        expect_problem("{\"cpu\": null}", "cpu: must be an object, not null");
        expect_problem("{\"cpu\": {\"sub_cgroup\": []}}",
                       "cpu.sub_cgroup: must be an object, not an array");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": 1}}}",
                       "cpu.sub_cgroup.a: must be an object, not a number");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": 5}}}}",
                       "cpu.sub_cgroup.a.conf: must be an object, not a number");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": \"1024\"}}}}}",
                       "cpu.sub_cgroup.a.conf.share: must be an integer, not a string");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": true}}}}}",
                       "cpu.sub_cgroup.a.conf.share: must be an integer, not a boolean");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": null}}}}}",
                       "cpu.sub_cgroup.a.conf.share: must be an integer, not null");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": [1]}}}}}",
                       "cpu.sub_cgroup.a.conf.share: must be an integer, not an array");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1.5}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 1.5 is not an integer");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1024.0}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 1024.0 is not an integer");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1e3}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 1e3 is not an integer");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 0100}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 0100 is not an integer");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": -1.25E+2}}}}}",
                       "blkio.sub_cgroup.a.conf.weight: -1.25E+2 is not an integer");
}

static void test_ranges(void) {
        expect_valid("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 2}}}}}");
        expect_valid("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 262144}}}}}");
        expect_valid("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 10}}}}}");
        expect_valid("{\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 1000}}}}}");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 1}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 1 out of range 2..262144");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 0}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 0 out of range 2..262144");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": -5}}}}}",
                       "cpu.sub_cgroup.a.conf.share: -5 out of range 2..262144");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 262145}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 262145 out of range 2..262144");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"x\": {\"conf\": {\"weight\": 5}}}}}",
                       "blkio.sub_cgroup.x.conf.weight: 5 out of range 10..1000");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"x\": {\"conf\": {\"weight\": 9}}}}}",
                       "blkio.sub_cgroup.x.conf.weight: 9 out of range 10..1000");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"x\": {\"conf\": {\"weight\": 1001}}}}}",
                       "blkio.sub_cgroup.x.conf.weight: 1001 out of range 10..1000");
        /* beyond int64 and beyond a double's exact integers: no wrap-around into the range */
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": "
                       "18446744073709552640}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 18446744073709552640 out of range 2..262144");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": "
                       "-9223372036854775809}}}}}",
                       "cpu.sub_cgroup.a.conf.share: -9223372036854775809 out of range 2..262144");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": "
                       "9223372036854775807}}}}}",
                       "cpu.sub_cgroup.a.conf.share: 9223372036854775807 out of range 2..262144");
}

static void test_names(void) {
        name_case("a", true);
        name_case("0", true);
        name_case("_x", true);
        name_case("a.b-c_D9", true);
        name_case("cpu", true);
        name_case("cpuset", true);
        name_case("tasks2", true);
        name_case("cpux.y", true);
        name_case("a..b", true);
        name_case("", false);
        name_case(".", false);
        name_case("..", false);
        name_case(".hidden", false);
        name_case("-a", false);
        name_case("a/b", false);
        name_case("a b", false);
        name_case("a\\u00e9", false); /* é */
        name_case("a\\n", false);
        name_case("a:b", false);
        name_case("a*", false);
}

static void test_name_control_files(void) {
        static const char *const bad[] = {
                "tasks",
                "cgroup.procs",
                "cgroup.clone_children",
                "cgroup.subtree_control",
                "cgroup.x",
                "notify_on_release",
                "release_agent",
                "cpu.shares",
                "cpu.weight",
                "cpuacct.usage",
                "blkio.weight",
                "io.weight",
                "memory.limit_in_bytes",
                "pids.max",
                "cpuset.cpus",
                "devices.allow",
                "freezer.state",
                "net_cls.classid",
                "net_prio.ifpriomap",
                "perf_event.x",
                "hugetlb.2MB.limit_in_bytes",
                "rdma.max",
                "misc.max",
                "irq.pressure",
                "cpu.",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL, *line = NULL;
                CHECK(conf_name_is_control_file(bad[i]));
                CHECK(!conf_name_is_valid(bad[i]));
                CHECK(xasprintf(&text, "{\"blkio\": {\"sub_cgroup\": {\"%s\": {}}}}", bad[i]) >= 0);
                CHECK(xasprintf(&line,
                                "blkio.sub_cgroup.%s%s%s: invalid cgroup name: it is a cgroup "
                                "control-file name",
                                strchr(bad[i], '.') ? "\"" : "", bad[i],
                                strchr(bad[i], '.') ? "\"" : "") >= 0);
                expect_problem(text, line);
        }
        CHECK(!conf_name_is_control_file("cpux.y"));
        CHECK(!conf_name_is_control_file("mytasks"));
        CHECK(!conf_name_is_control_file(NULL));
        CHECK(!conf_name_is_valid(NULL));
}

static void test_name_length(void) {
        char name[300];
        _cleanup_free_ char *text = NULL;

        memset(name, 'n', 255);
        name[255] = 0;
        name_case(name, true);
        name[255] = 'n';
        name[256] = 0;
        name_case(name, false);
        CHECK(xasprintf(&text, "{\"cpu\": {\"sub_cgroup\": {\"%s\": {}}}}", name) >= 0);
        /* the path in the message is cut, the problem is named */
        expect_problem_sub(text, "...: cgroup name longer than 255 bytes");
}

static void test_name_escaped_in_messages(void) {
        /* A hostile name cannot forge a second log line: control bytes are shown as \xNN. */
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\\nversion 9: fake\": {}}}}",
                       "cpu.sub_cgroup.\"a\\x0aversion 9: fake\": invalid cgroup name (allowed: "
                       "[A-Za-z0-9_][A-Za-z0-9_.-]*)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a/b\": {}}}}",
                       "cpu.sub_cgroup.a/b: invalid cgroup name (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]*)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"..\": {}}}}",
                       "cpu.sub_cgroup.\"..\": invalid cgroup name (allowed: "
                       "[A-Za-z0-9_][A-Za-z0-9_.-]*)");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"\": {}}}}",
                       "cpu.sub_cgroup.\"\": empty cgroup name");
}

static void test_duplicates(void) {
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"x\": {}}}, \"b\": "
                       "{\"sub_cgroup\": {\"x\": {}}}}}}",
                       "cpu.sub_cgroup.b.sub_cgroup.x: duplicate name \"x\" in the cpu tree, also "
                       "at cpu.sub_cgroup.a.sub_cgroup.x");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"x\": {\"sub_cgroup\": {\"x\": {}}}}}}",
                       "cpu.sub_cgroup.x.sub_cgroup.x: duplicate name \"x\" in the cpu tree, also "
                       "at cpu.sub_cgroup.x");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"x\": {}, \"x\": {}}}}",
                       "cpu.sub_cgroup.x: duplicate key");
        expect_problem("{\"blkio\": {\"sub_cgroup\": {\"a.b\": {}, \"c\": {\"sub_cgroup\": "
                       "{\"a.b\": {}}}}}}",
                       "blkio.sub_cgroup.c.sub_cgroup.\"a.b\": duplicate name \"a.b\" in the blkio "
                       "tree, also at blkio.sub_cgroup.\"a.b\"");
        /* the same name in different subsystem trees is the normal case */
        expect_valid("{\"cpu\": {\"sub_cgroup\": {\"x\": {}}}, \"blkio\": {\"sub_cgroup\": {\"p\": "
                     "{\"sub_cgroup\": {\"x\": {}}}}}}");
        /* names differing only in case are different cgroups */
        expect_valid("{\"cpu\": {\"sub_cgroup\": {\"x\": {}, \"X\": {}}}}");
}

/* A chain a1/a2/.../aN in cpu. */
static char *chain_conf(unsigned n, const char *name_fmt) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        fputs("{\"cpu\": {\"sub_cgroup\": {", f);
        for (unsigned i = 1; i <= n; i++) {
                fprintf(f, "\"");
                fprintf(f, name_fmt, i);
                fprintf(f, "\": {\"conf\": {\"share\": 10}%s", i < n ? ", \"sub_cgroup\": {" : "");
        }
        for (unsigned i = 1; i <= n; i++)
                fputs(i < n ? "}}" : "}", f);
        fputs("}}}", f);
        fclose(f);
        return buf;
}

static void test_depth(void) {
        _cleanup_free_ char *ok = chain_conf(32, "d%u"), *bad = chain_conf(33, "d%u");
        _cleanup_(conf_freep) struct conf *c = NULL;
        const struct conf_node *n;

        CHECK_INT(conf_parse(ok, strlen(ok), &c, NULL), 0);
        n = c ? conf_find(c, CONF_CPU, "d32") : NULL;
        CHECK(n && n->depth == 32);
        expect_problem_sub(bad, ".sub_cgroup.d33: deeper than 32 levels");
        expect_problem_sub(bad, "cpu.sub_cgroup.d1.sub_cgroup.d2.sub_cgroup.d3.");
}

static void test_deep_json_no_crash(void) {
        /* Far past cJSON's nesting limit, as arrays and as sub_cgroup objects. */
        size_t n = 200000;
        char *t = malloc(2 * n + 1);
        _cleanup_free_ char *deep = chain_conf(2000, "n%u");

        memset(t, '[', n);
        memset(t + n, ']', n);
        t[2 * n] = 0;
        expect_problem(t, "not valid JSON: nested more than 1000 levels deep");
        memset(t, '{', n);
        t[n] = 0;
        expect_problem(t, "not valid JSON: nested more than 1000 levels deep");
        free(t);
        expect_problem_sub(deep, "not valid JSON: nested more than 1000 levels deep");
        /* brackets inside strings do not count */
        {
                _cleanup_free_ char *s = malloc(5000);
                memcpy(s, "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"x", 40);
                memset(s + 40, '[', 3000);
                strcpy(s + 3040, "\": 1}}}}}");
                expect_problem_sub(s, "unknown key (cpu takes: share, quota_percent)");
        }
}

static char *wide_conf(unsigned n, const char *subsys) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        fprintf(f, "{\"%s\": {\"sub_cgroup\": {", subsys);
        for (unsigned i = 0; i < n; i++)
                fprintf(f, "%s\"g%u\": {\"conf\": {\"%s\": %u}}", i ? ", " : "", i,
                        strcmp(subsys, "cpu") == 0 ? "share" : "weight", 10 + i % 990);
        fputs("}}}", f);
        fclose(f);
        return buf;
}

static void test_node_limit(void) {
        _cleanup_free_ char *ok = wide_conf(CONF_MAX_NODES, "cpu");
        _cleanup_free_ char *bad = wide_conf(CONF_MAX_NODES + 1, "blkio");
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INT(conf_parse(ok, strlen(ok), &c, NULL), 0);
        CHECK(c && c->n_nodes == CONF_MAX_NODES);
        expect_problem(bad, "more than 100000 cgroups");
}

static void test_node_limit_counts_all_trees(void) {
        /* 60,000 in cpu + 60,000 in blkio: 120,000 cgroups to make. */
        _cleanup_free_ char *a = wide_conf(60000, "cpu"), *b = wide_conf(60000, "blkio");
        _cleanup_free_ char *both = NULL;

        a[strlen(a) - 1] = 0; /* drop the closing brace */
        CHECK(xasprintf(&both, "%s, %s", a, b + 1) >= 0);
        expect_problem(both, "more than 100000 cgroups");
}

static void test_path_limit(void) {
        /* 15 levels of 255-byte names: 3839 bytes, more than a mkdir(2) path can hold. */
        char fmt[300];
        _cleanup_free_ char *bad = NULL, *ok = NULL;

        memset(fmt, 'p', 250);
        strcpy(fmt + 250, "%05u");
        bad = chain_conf(15, fmt);
        ok = chain_conf(14, fmt);
        expect_problem_sub(bad, "cgroup path longer than 3584 bytes");
        expect_valid(ok);
}

static void test_path_bytes_limit(void) {
        /* 13 levels of 255-byte names, then 20,000 leaves of 255 bytes: each leaf's path is
         * 3,583 bytes (allowed), all together about 70 MiB, more than a conf may make us hold. */
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        char name[256];

        memset(name, 'l', 250);
        fputs("{\"cpu\": {\"sub_cgroup\": {", f);
        for (int i = 0; i < 13; i++)
                fprintf(f, "\"%.250s%05d\": {\"sub_cgroup\": {", name, i);
        for (int i = 0; i < 20000; i++)
                fprintf(f, "%s\"%.249s%05d\": {}", i ? "," : "", name, 100 + i);
        for (int i = 0; i < 13; i++)
                fputs("}}", f);
        fputs("}}}", f);
        fclose(f);
        expect_problem(buf, "the conf's cgroup paths add up to more than 64 MiB");
        free(buf);
}

static void test_all_problems_collected(void) {
        const char *t = "{\"swap\": {}, \"cpu\": {\"conf\": {}, \"sub_cgroup\": {\"a/b\": {}, "
                        "\"c\": {\"conf\": {\"share\": 1}}, \"d\": {\"x\": 1}}}, \"blkio\": "
                        "{\"sub_cgroup\": {\"e\": {\"conf\": {\"weight\": \"5\"}, \"sub_cgroup\": "
                        "{\"tasks\": {}}}}}}";
        struct conf_errors e = {};
        struct conf *c = (struct conf *) 0x1;
        _cleanup_free_ char *s = NULL;

        CHECK_INT(conf_parse(t, strlen(t), &c, &e), -EINVAL);
        CHECK(c == (struct conf *) 0x1); /* untouched on failure */
        CHECK_INT(e.n, 7);
        CHECK_INT(conf_errors_format(&e, 42, &s), 0);
        CHECK_STR(s, "version 42: swap: unknown subsystem (known: cpu, blkio, memory, pids)\n"
                     "version 42: cpu.conf: the subsystem root takes no conf\n"
                     "version 42: cpu.sub_cgroup.a/b: invalid cgroup name (allowed: "
                     "[A-Za-z0-9_][A-Za-z0-9_.-]*)\n"
                     "version 42: cpu.sub_cgroup.c.conf.share: 1 out of range 2..262144\n"
                     "version 42: cpu.sub_cgroup.d.x: unknown key (allowed: conf, sub_cgroup)\n"
                     "version 42: blkio.sub_cgroup.e.conf.weight: must be an integer, not a "
                     "string\n"
                     "version 42: blkio.sub_cgroup.e.sub_cgroup.tasks: invalid cgroup name: it "
                     "is a cgroup control-file name");
        if (e.n > 0) {
                CHECK_STR(e.v[0].path, "swap");
                CHECK_STR(e.v[0].msg, "unknown subsystem (known: cpu, blkio, memory, pids)");
        }
        conf_errors_clear(&e);
        CHECK_INT(e.n, 0);
        CHECK(e.v == NULL);
        /* without errs: same verdict */
        CHECK_INT(conf_parse(t, strlen(t), &c, NULL), -EINVAL);
}

static void test_problems_below_invalid_nodes(void) {
        /* A bad name does not hide problems inside its subtree. */
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a/b\": {\"conf\": {\"share\": 1}}}}}",
                       "cpu.sub_cgroup.a/b.conf.share: 1 out of range 2..262144");
}

static void test_error_cap(void) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        struct conf_errors e = {};
        struct conf *c = NULL;

        fputs("{\"cpu\": {\"sub_cgroup\": {", f);
        for (int i = 0; i < 500; i++)
                fprintf(f, "%s\"-%d\": {}", i ? "," : "", i);
        fputs("}}}", f);
        fclose(f);
        CHECK_INT(conf_parse(buf, strlen(buf), &c, &e), -EINVAL);
        CHECK_INT(e.n, CONF_MAX_ERRORS + 1);
        if (e.n == CONF_MAX_ERRORS + 1)
                CHECK_STR(e.v[CONF_MAX_ERRORS].msg, "... and 400 more problems not listed");
        conf_errors_clear(&e);
        free(buf);
}

static void test_errors_format(void) {
        struct conf_error v[] = {
                {.path = (char *) "cpu", .msg = (char *) "bad"},
                {.path = (char *) "", .msg = (char *) "not valid JSON"},
        };
        struct conf_errors e = {.v = v, .n = 2};
        struct conf_errors none = {};
        _cleanup_free_ char *a = NULL, *b = NULL, *z = NULL;

        CHECK_INT(conf_errors_format(&e, -1, &a), 0);
        CHECK_STR(a, "cpu: bad\nnot valid JSON");
        CHECK_INT(conf_errors_format(&e, 0, &b), 0);
        CHECK_STR(b, "version 0: cpu: bad\nversion 0: not valid JSON");
        CHECK_INT(conf_errors_format(&none, 3, &z), 0);
        CHECK_STR(z, "");
        conf_errors_clear(NULL);
}

static void test_conf_find_hand_built(void) {
        /* A conf built by hand (as other modules' tests do) has no index: conf_find walks. */
        struct conf_node *root = calloc(1, sizeof(*root)), *a = calloc(1, sizeof(*a)),
                         *b = calloc(1, sizeof(*b));
        struct conf *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *arg = NULL;

        root->path = strdup("");
        a->name = strdup("a");
        a->path = strdup("a");
        b->name = strdup("b");
        b->path = strdup("a/b");
        root->children = calloc(1, sizeof(void *));
        root->children[0] = a;
        root->n_children = 1;
        a->children = calloc(1, sizeof(void *));
        a->children[0] = b;
        a->n_children = 1;
        a->parent = root;
        b->parent = a;
        a->weight = b->weight = -1;
        c->roots[CONF_CPU] = root;
        c->version = -1;
        CHECK(conf_find(c, CONF_CPU, "b") == b);
        CHECK(conf_find(c, CONF_CPU, "c") == NULL);
        CHECK(conf_find(c, CONF_BLKIO, "b") == NULL);
        CHECK_INT(conf_cgexec_arg(c, "", "b", 0, &arg), 0);
        CHECK_STR(arg, "-g cpu:a/b");
        conf_free(c);
        CHECK(conf_free(NULL) == NULL);
}

static void test_bad_arguments(void) {
        struct conf *c = NULL;

        CHECK_INT(conf_parse(NULL, 3, &c, NULL), -EINVAL);
        CHECK_INT(conf_parse("{}", 2, NULL, NULL), -EINVAL);
        CHECK_INT(conf_parse_text("{}", 2, (enum conf_text) 9, &c, NULL), -EINVAL);
        CHECK_INT(conf_to_json(NULL, NULL), -EINVAL);
        CHECK(conf_find(NULL, CONF_CPU, "a") == NULL);
}

static void test_parse_speed(void) {
        /* 10,000 nodes (a big fleet conf): a few ms when idle. The bound is loose (a loaded CI
         * machine) but still catches anything quadratic, which would take seconds here. */
        _cleanup_free_ char *t = wide_conf(10000, "cpu");
        uint64_t best = UINT64_MAX;

        for (int i = 0; i < 5; i++) {
                struct conf *c = NULL;
                uint64_t t0 = now_usec(CLOCK_MONOTONIC);
                CHECK_INT(conf_parse(t, strlen(t), &c, NULL), 0);
                uint64_t d = now_usec(CLOCK_MONOTONIC) - t0;
                conf_free(c);
                best = MIN(best, d);
        }
        printf("# 10,000-node conf (%zu bytes) parsed in %.2f ms\n", strlen(t), best / 1000.0);
        CHECK(best < 250 * 1000);
}

static void test_fixtures(void) {
        /* The fuzz seed corpus doubles as a regression set: each file's verdict is known. */
        static const struct {
                const char *file;
                bool valid;
                size_t n_nodes_or_problems;
        } cases[] = {
                {"seed.json", true, 4},          {"snapshot.json", true, 4},
                {"empty.json", true, 0},         {"empty-trees.json", true, 0},
                {"bounds.json", true, 5},        {"wide-200.json", true, 267},
                {"invalid-many.json", false, 11}, {"snapshot-invalid.json", false, 3},
                {"truncated.json", false, 1},    {"depth-33.json", false, 1},
                {"limits.json", true, 10},       {"limits-invalid.json", false, 13},
        };
        const char *top = getenv("CGARCH_TOP");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                _cleanup_(conf_freep) struct conf *c = NULL;
                struct conf_errors e = {};
                size_t len = 0;
                int r;

                CHECK(xasprintf(&path, "%s/tests/fixtures/conf/%s", top ? top : ".",
                                cases[i].file) >= 0);
                r = read_full_file(path, &text, &len);
                if (r < 0) {
                        printf("#   cannot read %s\n", path);
                        CHECK(r >= 0);
                        continue;
                }
                r = conf_parse_text(text, len, CONF_TEXT_ANY, &c, &e);
                if ((r == 0) != cases[i].valid)
                        printf("#   %s: %d\n", cases[i].file, r);
                CHECK_INT(r == 0, cases[i].valid);
                if (cases[i].valid && c)
                        CHECK_INT(c->n_nodes, cases[i].n_nodes_or_problems);
                if (!cases[i].valid) {
                        if (e.n != cases[i].n_nodes_or_problems) {
                                _cleanup_free_ char *s = NULL;
                                conf_errors_format(&e, -1, &s);
                                printf("#   %s:\n%s\n", cases[i].file, s ? s : "");
                        }
                        CHECK_INT(e.n, cases[i].n_nodes_or_problems);
                }
                conf_errors_clear(&e);
        }
}

/* ---- limits (issue 16) ---- */

static void test_limits_model(void) {
        const char *t = "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 50}}}},"
                        " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 67108864, "
                        "\"low\": 4096}}}}, \"pids\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": "
                        "10}}}}, \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"write_bps\": "
                        "{\"8:0\": 7}, \"read_bps\": {\"/dev/loop0\": 2097152, \"7:1\": 5}}}}}}";
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *j = NULL, *arg = NULL;
        const struct conf_node *n;

        expect_valid(t);
        CHECK_INT(conf_parse(t, strlen(t), &c, NULL), 0);
        if (!c)
                return;
        n = conf_find(c, CONF_CPU, "a");
        CHECK(n && n->limits && n->limits->v[CONF_LIMIT_CPU_QUOTA] == 50);
        CHECK(n && n->weight == 1024); /* a "conf" without share: the seed's default, as before */
        n = conf_find(c, CONF_MEMORY, "a");
        CHECK(n && n->weight == -1 && n->limits);
        if (n && n->limits) {
                CHECK_INT(n->limits->v[CONF_LIMIT_MEM_MAX], 67108864);
                CHECK_INT(n->limits->v[CONF_LIMIT_MEM_HIGH], -1);
                CHECK_INT(n->limits->v[CONF_LIMIT_MEM_LOW], 4096);
        }
        n = conf_find(c, CONF_PIDS, "a");
        CHECK(n && n->limits && n->limits->v[CONF_LIMIT_PIDS_MAX] == 10);
        n = conf_find(c, CONF_BLKIO, "a");
        CHECK(n && n->weight == -1 && n->limits && n->limits->n_devs == 3);
        if (n && n->limits && n->limits->n_devs == 3) {
                CHECK_INT(n->limits->devs[0].limit, CONF_LIMIT_WRITE_BPS);
                CHECK_STR(n->limits->devs[1].dev, "/dev/loop0");
                CHECK_INT(n->limits->devs[1].value, 2097152);
        }
        /* canonical: weight key first, then limits in model order, devices in conf order */
        CHECK_INT(conf_to_json(c, &j), 0);
        CHECK_STR(j, "{\"cpu\":{\"sub_cgroup\":{\"a\":{\"conf\":{\"share\":1024,\"quota_percent\":50}}}},"
                     "\"blkio\":{\"sub_cgroup\":{\"a\":{\"conf\":{\"read_bps\":{\"/dev/loop0\":2097152,"
                     "\"7:1\":5},\"write_bps\":{\"8:0\":7}}}}},\"memory\":{\"sub_cgroup\":{\"a\":"
                     "{\"conf\":{\"max\":67108864,\"low\":4096}}}},\"pids\":{\"sub_cgroup\":{\"a\":"
                     "{\"conf\":{\"max\":10}}}}}");
        /* cgexec covers the new trees */
        CHECK_INT(conf_cgexec_arg(c, "r", "a", 0, &arg), 0);
        CHECK_STR(arg, "-g cpu:r/a -g blkio:r/a -g memory:r/a -g pids:r/a");
}

static void test_limits_round_trip_fixture(void) {
        const char *top = getenv("CGARCH_TOP");
        _cleanup_free_ char *path = NULL, *text = NULL, *j = NULL, *j2 = NULL;
        _cleanup_(conf_freep) struct conf *c = NULL, *c2 = NULL;
        size_t len = 0;

        CHECK(xasprintf(&path, "%s/tests/fixtures/conf/limits.json", top ? top : ".") >= 0);
        CHECK_INT(read_full_file(path, &text, &len), 0);
        if (!text)
                return;
        CHECK_INT(conf_parse(text, len, &c, NULL), 0);
        if (!c)
                return;
        CHECK_INT(conf_to_json(c, &j), 0);
        CHECK_INT(conf_parse(j, strlen(j), &c2, NULL), 0);
        if (!c2)
                return;
        CHECK_INT(conf_to_json(c2, &j2), 0);
        CHECK_STR(j2, j);
}

static void test_limits_seed_unchanged(void) {
        /* a seed conf means the same: no node gets a limit */
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INT(conf_parse(SEED, strlen(SEED), &c, NULL), 0);
        for (int s = 0; c && s < _CONF_SUBSYS_MAX; s++)
                for (size_t i = 0; c->roots[s] && i < c->roots[s]->n_children; i++)
                        CHECK(c->roots[s]->children[i]->limits == NULL);
        CHECK(c && !c->roots[CONF_MEMORY] && !c->roots[CONF_PIDS]);
}

static void test_limits_problems(void) {
#define Q(x) "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": " x "}}}}}"
        expect_problem(Q("0"), "cpu.sub_cgroup.a.conf.quota_percent: 0 out of range 1..102400");
        expect_problem(Q("102401"),
                       "cpu.sub_cgroup.a.conf.quota_percent: 102401 out of range 1..102400");
        expect_valid(Q("102400"));
        expect_valid(Q("1"));
        expect_problem(Q("50.0"), "cpu.sub_cgroup.a.conf.quota_percent: 50.0 is not an integer");
        expect_problem(Q("5e1"), "cpu.sub_cgroup.a.conf.quota_percent: 5e1 is not an integer");
        expect_problem(Q("\"50\""),
                       "cpu.sub_cgroup.a.conf.quota_percent: must be an integer, not a string");
        expect_problem(Q("99999999999999999999"), "cpu.sub_cgroup.a.conf.quota_percent: "
                                                  "99999999999999999999 out of range 1..102400");
        expect_problem("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 5, "
                       "\"quota_percent\": 6}}}}}",
                       "cpu.sub_cgroup.a.conf.quota_percent: duplicate key");
#undef Q
#define M(x) "{\"memory\": {\"sub_cgroup\": {\"m\": {\"conf\": " x "}}}}"
        expect_problem(M("{\"max\": 4095}"),
                       "memory.sub_cgroup.m.conf.max: 4095 out of range 4096..4503599627370496");
        expect_problem(M("{\"high\": 4503599627370497}"),
                       "memory.sub_cgroup.m.conf.high: 4503599627370497 out of range "
                       "4096..4503599627370496");
        expect_problem(M("{\"low\": -1}"),
                       "memory.sub_cgroup.m.conf.low: -1 out of range 4096..4503599627370496");
        expect_problem(M("{\"share\": 10}"),
                       "memory.sub_cgroup.m.conf.share: unknown key (memory takes: max, high, low)");
        expect_problem(M("{\"limit_in_bytes\": 10}"), "memory.sub_cgroup.m.conf.limit_in_bytes: "
                                                      "unknown key (memory takes: max, high, low)");
        expect_valid(M("{}"));
        expect_valid(M("{\"max\": 4096, \"high\": 4503599627370496, \"low\": 1048576}"));
#undef M
        expect_problem("{\"memory\": {\"conf\": {\"max\": 4096}}}",
                       "memory.conf: the subsystem root takes no conf");
        expect_problem("{\"pids\": {\"sub_cgroup\": {\"p\": {\"conf\": {\"max\": 0}}}}}",
                       "pids.sub_cgroup.p.conf.max: 0 out of range 1..4194304");
        expect_problem("{\"pids\": {\"sub_cgroup\": {\"p\": {\"conf\": {\"max\": \"max\"}}}}}",
                       "pids.sub_cgroup.p.conf.max: must be an integer, not a string");
        expect_problem("{\"pids\": {\"sub_cgroup\": {\"p\": {\"conf\": {\"weight\": 1}}}}}",
                       "pids.sub_cgroup.p.conf.weight: unknown key (pids takes: max)");
        expect_problem("{\"pids\": []}", "pids: must be an object, not an array");
#define B(x) "{\"blkio\": {\"sub_cgroup\": {\"b\": {\"conf\": " x "}}}}"
        expect_problem(B("{\"read_bps\": 5}"),
                       "blkio.sub_cgroup.b.conf.read_bps: must be an object {\"<device>\": N}, not a "
                       "number");
        expect_problem(B("{\"read_bps\": {\"sda\": 5}}"),
                       "blkio.sub_cgroup.b.conf.read_bps.sda: not a block device: a path /dev/... "
                       "or MAJ:MIN (e.g. \"/dev/sda\", \"8:0\")");
        expect_problem_sub(B("{\"read_bps\": {\"/dev/../etc/passwd\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"/dev/\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"/dev//sda\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"/dev/sd a\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"4096:0\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"8:1048576\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"08:0\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"8:\": 5}}"), "not a block device");
        expect_problem_sub(B("{\"read_bps\": {\"\": 5}}"), "not a block device");
        expect_problem(B("{\"read_bps\": {\"8:0\": 1, \"8:0\": 2}}"),
                       "blkio.sub_cgroup.b.conf.read_bps.8:0: duplicate key");
        expect_problem(B("{\"write_iops\": {\"8:0\": 4294967295}}"),
                       "blkio.sub_cgroup.b.conf.write_iops.8:0: 4294967295 out of range "
                       "1..4294967294");
        expect_problem(B("{\"write_bps\": {\"/dev/sda\": 0}}"),
                       "blkio.sub_cgroup.b.conf.write_bps./dev/sda: 0 out of range "
                       "1..1125899906842624");
        expect_problem(B("{\"read_bps\": {\"8:0\": 1.5}}"),
                       "blkio.sub_cgroup.b.conf.read_bps.8:0: 1.5 is not an integer");
        expect_valid(B("{\"read_bps\": {}}"));
        expect_valid(B("{\"read_bps\": {\"/dev/mapper/vg-root\": 1, \"4095:1048575\": 2, \"0:0\": 3}}"));
#undef B
        /* every problem, by path, at once (the fixture) */
}

static void test_device_parse(void) {
        unsigned ma = 99, mi = 99;

        CHECK_INT(conf_device_parse("8:16", &ma, &mi), 1);
        CHECK_INT(ma, 8);
        CHECK_INT(mi, 16);
        CHECK_INT(conf_device_parse("/dev/sda", &ma, &mi), 0);
        CHECK_INT(conf_device_parse("/dev/disk/by-id/x-y_z", NULL, NULL), 0);
        CHECK_INT(conf_device_parse("/dev/.", NULL, NULL), -EINVAL);
        CHECK_INT(conf_device_parse("/dev/a/..", NULL, NULL), -EINVAL);
        CHECK_INT(conf_device_parse("/sys/sda", NULL, NULL), -EINVAL);
        CHECK_INT(conf_device_parse("8:0:0", NULL, NULL), -EINVAL);
        CHECK_INT(conf_device_parse("-8:0", NULL, NULL), -EINVAL);
        CHECK_INT(conf_device_parse(NULL, NULL, NULL), -EINVAL);
}

int main(void) {
        RUN(test_seed_accepted);
        RUN(test_subsys_names);
        RUN(test_cgexec_arg_seed);
        RUN(test_cgexec_arg_both_paths);
        RUN(test_cgexec_arg_limits_trees);
        RUN(test_round_trip);
        RUN(test_round_trip_canonical_forms);
        RUN(test_defaults);
        RUN(test_absent_vs_empty_subsystem);
        RUN(test_not_json);
        RUN(test_not_object);
        RUN(test_buffer_not_nul_terminated);
        RUN(test_unknown_subsystem);
        RUN(test_unknown_keys);
        RUN(test_wrong_types);
        RUN(test_ranges);
        RUN(test_names);
        RUN(test_name_control_files);
        RUN(test_name_length);
        RUN(test_name_escaped_in_messages);
        RUN(test_duplicates);
        RUN(test_depth);
        RUN(test_deep_json_no_crash);
        RUN(test_node_limit);
        RUN(test_node_limit_counts_all_trees);
        RUN(test_path_limit);
        RUN(test_path_bytes_limit);
        RUN(test_all_problems_collected);
        RUN(test_problems_below_invalid_nodes);
        RUN(test_error_cap);
        RUN(test_errors_format);
        RUN(test_conf_find_hand_built);
        RUN(test_bad_arguments);
        RUN(test_fixtures);
        RUN(test_parse_speed);
        RUN(test_limits_model);
        RUN(test_limits_round_trip_fixture);
        RUN(test_limits_seed_unchanged);
        RUN(test_limits_problems);
        RUN(test_device_parse);
        return TAP_END();
}
