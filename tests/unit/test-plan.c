/* test-plan.c — the pure planner: (conf, live tree) -> operations, plan_format, v2 rules. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "plan.h"
#include "tap.h"
#include "util.h"

static const char *SEED =
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": "
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "
        "{\"conf\": {\"weight\": 500}}}}}";

static struct conf *parse(const char *text) {
        struct conf *c = NULL;
        struct conf_errors e = {};

        if (conf_parse(text, strlen(text), &c, &e) < 0) {
                for (size_t i = 0; i < e.n; i++)
                        printf("# conf: %s: %s\n", e.v[i].path, e.v[i].msg);
                conf_errors_clear(&e);
                return NULL;
        }
        return c;
}

static void both_present(struct live_tree *t) {
        t->present[CONF_CPU] = t->present[CONF_BLKIO] = true;
}

/* Plans and formats; returns the text (owned) or NULL. */
static char *plan_text(const struct conf *c, const struct live_tree *t, char *const *prot) {
        struct plan p = {};
        char *s = NULL;

        if (conf_plan(c, t, prot, &p) < 0)
                return NULL;
        if (plan_format(&p, t, &s) < 0)
                s = NULL;
        plan_clear(&p);
        return s;
}

static void test_seed_from_nothing(void) {
        _cleanup_(conf_freep) struct conf *c = parse(SEED);
        struct live_tree t = {};
        _cleanup_free_ char *s = NULL;

        CHECK(c);
        if (!c)
                return;
        both_present(&t);
        s = plan_text(c, &t, NULL);
        /* parents first; share 1024 is the default of a fresh cgroup: not written */
        CHECK_STR(s, "create cpu:test_cgroup_a\n"
                     "create cpu:test_cgroup_b\n"
                     "create cpu:test_cgroup_b/test_cgroup_b_sub1\n"
                     "create blkio:test_cgroup_a\n"
                     "set cpu:test_cgroup_b share 100\n"
                     "set cpu:test_cgroup_b/test_cgroup_b_sub1 share 200\n"
                     "set blkio:test_cgroup_a weight 500\n");
        live_tree_clear(&t);
}

static void test_seed_noop_and_changes(void) {
        _cleanup_(conf_freep) struct conf *c = parse(SEED);
        struct live_tree t = {};
        char *s;

        both_present(&t);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "test_cgroup_a", 1024), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "test_cgroup_b/test_cgroup_b_sub1", 200), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "test_cgroup_b", 100), 0);
        CHECK_INT(live_tree_add(&t, CONF_BLKIO, "test_cgroup_a", 500), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "", 5), -EINVAL);
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "");
        free(s);
        /* a changed weight is set, with the old value shown */
        t.v[CONF_CPU][2].weight = 512;
        t.v[CONF_BLKIO][0].weight = -1; /* unknown: written */
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "set cpu:test_cgroup_b share 100 (was 512)\nset blkio:test_cgroup_a weight 500\n");
        free(s);
        live_tree_clear(&t);
}

static void test_default_share_and_unset_weight(void) {
        /* cpu conf present without share: 1024; blkio without weight: left alone */
        _cleanup_(conf_freep) struct conf *c =
                parse("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {}}, \"b\": {}}}, "
                      "\"blkio\": {\"sub_cgroup\": {\"a\": {}}}}");
        struct live_tree t = {};
        char *s;

        both_present(&t);
        live_tree_add(&t, CONF_CPU, "a", 512);
        live_tree_add(&t, CONF_CPU, "b", 512);
        live_tree_add(&t, CONF_BLKIO, "a", 300);
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "set cpu:a share 1024 (was 512)\n");
        free(s);
        live_tree_clear(&t);
}

static void test_removals_children_first_and_protected(void) {
        _cleanup_(conf_freep) struct conf *c = parse("{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}}");
        char *prot[] = { "keep", NULL };
        struct live_tree t = {};
        char *s;

        both_present(&t);
        const char *paths[] = { "a", "z", "z/y", "z/y/x", "z-1", "keep", "keep/sub", "old",
                                "old/keep", "old/other" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                live_tree_add(&t, CONF_CPU, paths[i], 1024);
        /* blkio is absent from the conf: its cgroups are left alone */
        live_tree_add(&t, CONF_BLKIO, "q", 100);
        s = plan_text(c, &t, prot);
        /* "old" holds a protected cgroup, so it stays; everything else goes, children first */
        CHECK_STR(s, "remove cpu:z/y/x\nremove cpu:z/y\nremove cpu:z-1\nremove cpu:z\n"
                     "remove cpu:old/other\n");
        free(s);
        live_tree_clear(&t);
}

static void test_absent_hierarchy_and_partial(void) {
        _cleanup_(conf_freep) struct conf *c = parse(SEED);
        struct live_tree t = {};
        char *s;

        t.present[CONF_CPU] = true; /* no blkio hierarchy on this machine */
        live_tree_add(&t, CONF_CPU, "test_cgroup_a", 1024);
        t.v[CONF_CPU][0].partial = true; /* in cpu but not in cpuacct */
        live_tree_add(&t, CONF_CPU, "test_cgroup_b", 100);
        live_tree_add(&t, CONF_CPU, "test_cgroup_b/test_cgroup_b_sub1", 200);
        live_tree_add(&t, CONF_CPU, "stale", -1);
        t.v[CONF_CPU][3].partial = true;
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "create cpu:test_cgroup_a\nremove cpu:stale\n");
        free(s);
        /* weights that cannot be written are not planned */
        t.weight_unavailable[CONF_CPU] = true;
        t.v[CONF_CPU][1].weight = 5;
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "create cpu:test_cgroup_a\nremove cpu:stale\n");
        free(s);
        live_tree_clear(&t);
}

static void test_v2_weights(void) {
        CHECK_INT(plan_v2_weight(CONF_CPU, 1024), 100);
        CHECK_INT(plan_v2_weight(CONF_CPU, 100), 9);
        CHECK_INT(plan_v2_weight(CONF_CPU, 200), 19);
        CHECK_INT(plan_v2_weight(CONF_CPU, 2), 1);          /* clamped up */
        CHECK_INT(plan_v2_weight(CONF_CPU, 262144), 10000); /* clamped down */
        CHECK_INT(plan_v2_weight(CONF_BLKIO, 500), 100);
        CHECK_INT(plan_v2_weight(CONF_BLKIO, 10), 2);
        CHECK_INT(plan_v2_weight(CONF_BLKIO, 1000), 200);
        CHECK_INT(plan_v2_weight(CONF_CPU, -1), -1);
        CHECK_INT(plan_default_weight(CONF_CPU, false), 1024);
        CHECK_INT(plan_default_weight(CONF_BLKIO, false), -1);
        CHECK_INT(plan_default_weight(CONF_BLKIO, true), 100);
}

static void test_v2_union_tree(void) {
        _cleanup_(conf_freep) struct conf *c = parse(SEED);
        struct live_tree t = {};
        char *s;

        both_present(&t);
        t.v2 = true;
        s = plan_text(c, &t, NULL);
        /* one cgroup per name (test_cgroup_a once), controllers parents first, converted
         * weights; cpu.weight 100 and io.weight 100 are the defaults of a fresh cgroup */
        CHECK_STR(s, "create test_cgroup_a\n"
                     "create test_cgroup_b\n"
                     "create test_cgroup_b/test_cgroup_b_sub1\n"
                     "enable cpu controller for test_cgroup_a\n"
                     "enable cpu controller for test_cgroup_b\n"
                     "enable cpu controller for test_cgroup_b/test_cgroup_b_sub1\n"
                     "enable io controller for test_cgroup_a\n"
                     "set test_cgroup_b cpu.weight 9 (share 100)\n"
                     "set test_cgroup_b/test_cgroup_b_sub1 cpu.weight 19 (share 200)\n");
        free(s);
        /* live union tree: same paths in both lists, machine weights */
        const char *paths[] = { "test_cgroup_a", "test_cgroup_b", "test_cgroup_b/test_cgroup_b_sub1",
                                "old" };
        const int64_t cw[] = { 100, 50, 19, 100 }, iw[] = { 100, -1, -1, -1 };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                live_tree_add(&t, CONF_CPU, paths[i], cw[i]);
                live_tree_add(&t, CONF_BLKIO, paths[i], iw[i]);
        }
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "set test_cgroup_b cpu.weight 9 (share 100, was 50)\nremove old\n");
        free(s);
        /* no controllers at the managed root (this machine's unified): tree only */
        live_tree_clear(&t);
        both_present(&t);
        t.v2 = true;
        t.weight_unavailable[CONF_CPU] = t.weight_unavailable[CONF_BLKIO] = true;
        s = plan_text(c, &t, NULL);
        CHECK_STR(s, "create test_cgroup_a\ncreate test_cgroup_b\n"
                     "create test_cgroup_b/test_cgroup_b_sub1\n");
        free(s);
        live_tree_clear(&t);
}

static void test_v2_checks(void) {
        _cleanup_(conf_freep) struct conf *seed = parse(SEED);
        _cleanup_(conf_freep) struct conf *bad =
                parse("{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"x\": {}}}}}, "
                      "\"blkio\": {\"sub_cgroup\": {\"b\": {\"sub_cgroup\": {\"x\": {}}}, "
                      "\"a\": {}}}}");
        struct conf_errors e = {};
        char *names[] = { "test_cgroup_a", "test_cgroup_b_sub1", NULL };
        char *inner[] = { "test_cgroup_b", NULL };

        CHECK_INT(plan_check_v2(seed, &e), 0);
        CHECK_INT(e.n, 0);
        CHECK_INT(plan_check_v2(bad, &e), -EINVAL);
        CHECK_INT(e.n, 1);
        if (e.n == 1) {
                CHECK_STR(e.v[0].path, "blkio.sub_cgroup.b.sub_cgroup.x");
                CHECK(strstr(e.v[0].msg, "cpu:a/x but blkio:b/x") != NULL);
        }
        conf_errors_clear(&e);
        CHECK_INT(plan_check_v2_procs(seed, names, &e), 0);
        CHECK_INT(plan_check_v2_procs(seed, inner, &e), -EINVAL);
        CHECK_INT(e.n, 1);
        if (e.n == 1) {
                CHECK_STR(e.v[0].path, "pid_files.test_cgroup_b");
                CHECK(strstr(e.v[0].msg, "no internal processes") != NULL);
        }
        conf_errors_clear(&e);
}

/* 10,000 cgroups against an empty and a matching live tree: correct and fast. */
static void test_scale(void) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct live_tree t = {};
        struct plan p = {};
        struct timespec a, b;

        fputs("{\"cpu\": {\"sub_cgroup\": {", f);
        for (int i = 0; i < 100; i++) {
                fprintf(f, "%s\"g%d\": {\"conf\": {\"share\": %d}, \"sub_cgroup\": {", i ? ", " : "",
                        i, 100 + i);
                for (int j = 0; j < 99; j++)
                        fprintf(f, "%s\"g%d_%d\": {\"conf\": {\"share\": 512}}", j ? ", " : "", i, j);
                fputs("}}", f);
        }
        fputs("}}}", f);
        fclose(f);
        _cleanup_(conf_freep) struct conf *c = parse(buf);
        free(buf);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT(c->n_nodes, 10000);
        both_present(&t);
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(p.n, 20000);
        plan_clear(&p);
        /* matching live tree, added in reverse order */
        for (int i = 99; i >= 0; i--) {
                char path[64];
                for (int j = 0; j < 99; j++) {
                        snprintf(path, sizeof(path), "g%d/g%d_%d", i, i, j);
                        live_tree_add(&t, CONF_CPU, path, 512);
                }
                snprintf(path, sizeof(path), "g%d", i);
                live_tree_add(&t, CONF_CPU, path, 100 + i);
        }
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(p.n, 0);
        plan_clear(&p);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        printf("# planning 2 x 10,000 cgroups: %.1f ms\n", ms);
        CHECK(ms < 500);
        live_tree_clear(&t);
}

/* The planner finds "is this live path in the conf" through the conf's name index when it has
 * one, else through a sorted set (hand-built confs): both must give the same plan. */
static void test_index_and_sorted_set_agree(void) {
        const char *text =
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 512}, \"sub_cgroup\": "
                "{\"x\": {}}}, \"b\": {\"sub_cgroup\": {\"y\": {\"conf\": {\"share\": 64}}}}}}, "
                "\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 100}}}}}";
        /* "x" exists in the conf but under a, "y" under b: same names elsewhere are stale */
        static const char *live_cpu[] = { "a", "a/x", "a/y", "b", "b/x", "b/y", "b/y/z", "c", NULL };
        for (int v2 = 0; v2 < 2; v2++) {
                _cleanup_(conf_freep) struct conf *c = parse(text);
                struct live_tree t = {};
                struct conf_index *saved[_CONF_SUBSYS_MAX];

                CHECK(c);
                if (!c)
                        return;
                for (int i = 0; live_cpu[i]; i++) {
                        live_tree_add(&t, CONF_CPU, live_cpu[i], 1024);
                        if (v2)
                                live_tree_add(&t, CONF_BLKIO, live_cpu[i], 100);
                }
                if (!v2)
                        live_tree_add(&t, CONF_BLKIO, "q", 100);
                both_present(&t);
                t.v2 = v2;
                _cleanup_free_ char *with = plan_text(c, &t, NULL);
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        saved[s] = c->index[s];
                        c->index[s] = NULL;
                }
                _cleanup_free_ char *without = plan_text(c, &t, NULL);
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                        c->index[s] = saved[s];
                CHECK(with && without);
                CHECK_STR(with ? with : "", without ? without : "");
                CHECK(with && strstr(with, "b/x") && strstr(with, "a/y") && strstr(with, "b/y/z"));
                CHECK(with && !strstr(with, v2 ? "remove a/x" : "remove cpu:a/x\n"));
                live_tree_clear(&t);
        }
}

/* ---- limits (issue 16) ---- */

static const char *LIMITS =
        "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 50}, \"sub_cgroup\": "
        "{\"a1\": {\"conf\": {\"quota_percent\": 800}}}}}}, "
        "\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 67108865, \"high\": 33554432, "
        "\"low\": 4096}}}}, "
        "\"pids\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 10}}}}, "
        "\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"read_bps\": {\"/dev/loop9\": 2097152, "
        "\"/dev/nope\": 1}, \"write_iops\": {\"8:0\": 100}}}}}}";

static void all_present(struct live_tree *t) {
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                t->present[s] = true;
        t->ncpus = 2;
        t->page_size = 4096;
}

static void test_limits_v1_from_nothing(void) {
        _cleanup_(conf_freep) struct conf *c = parse(LIMITS);
        struct live_tree t = {};
        struct plan p = {};
        char *s;

        CHECK(c);
        if (!c)
                return;
        all_present(&t);
        t.limit_unsupported[CONF_LIMIT_MEM_HIGH] = true; /* v1 */
        CHECK_INT(live_tree_add_dev(&t, "/dev/loop9", 0, 7, 9), 0);
        CHECK_INT(live_tree_add_dev(&t, "/dev/nope", -ENOENT, 0, 0), 0);
        s = plan_text(c, &t, NULL);
        /* parents first; share 1024 (the default of a "conf" without it) is not written on a
         * fresh cgroup; the quota clamped to 2 CPUs; memory rounded down to pages; v1 has no
         * high limit; a device missing here is left out with a note */
        CHECK_STR(s, "create cpu:a\n"
                     "create cpu:a/a1\n"
                     "create blkio:a\n"
                     "create memory:a\n"
                     "create pids:a\n"
                     "set-limit cpu:a quota_percent 50 (was none)\n"
                     "set-limit cpu:a/a1 quota_percent 200 (conf 800, was none)\n"
                     "set-limit blkio:a read_bps 7:9 2097152 (was none)\n"
                     "set-limit blkio:a write_iops 8:0 100 (was none)\n"
                     "set-limit memory:a max 67108864 (conf 67108865, was none)\n"
                     "set-limit memory:a low 4096 (was none)\n"
                     "set-limit pids:a max 10 (was none)\n"
                     "note: cpu quota_percent 800 of a/a1 clamped to 200 (2 CPUs online)\n"
                     "note: blkio device /dev/nope: no such device on this host; its limits are "
                     "not applied\n"
                     "note: memory high: this cgroup layout has no such limit; not applied "
                     "(first at a)\n");
        free(s);
        /* ops carry what the executor needs */
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        for (size_t i = 0; i < p.n; i++)
                if (p.ops[i].type == PLAN_SET_LIMIT && p.ops[i].limit == CONF_LIMIT_READ_BPS) {
                        CHECK_INT(p.ops[i].major, 7);
                        CHECK_INT(p.ops[i].minor, 9);
                        CHECK_INT(p.ops[i].subsys, CONF_BLKIO);
                        CHECK_INT(p.ops[i].value, 2097152);
                }
        plan_clear(&p);
        live_tree_clear(&t);
}

/* The machine as the conf wants it: nothing to do; a removed key is cleared, never kept. */
static void test_limits_noop_and_removal(void) {
        _cleanup_(conf_freep) struct conf *c = parse(LIMITS);
        _cleanup_(conf_freep) struct conf *bare = parse(
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"a1\": {}}}}}, "
                "\"memory\": {\"sub_cgroup\": {\"a\": {}}}, \"pids\": {\"sub_cgroup\": {\"a\": "
                "{\"conf\": {}}}}, \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"read_bps\": "
                "{\"/dev/loop9\": 2097152}}}}}}");
        struct live_tree t = {};
        struct live_limits *l;
        struct live_dev_limit *d;
        char *s;

        CHECK(c && bare);
        if (!c || !bare)
                return;
        all_present(&t);
        t.limit_unsupported[CONF_LIMIT_MEM_HIGH] = true;
        live_tree_add_dev(&t, "/dev/loop9", 0, 7, 9);
        live_tree_add_dev(&t, "/dev/nope", -ENOENT, 0, 0);
        live_tree_add(&t, CONF_CPU, "a", 1024);
        l = t.v[CONF_CPU][0].limits = live_limits_new();
        l->v[CONF_LIMIT_CPU_QUOTA] = 50;
        live_tree_add(&t, CONF_CPU, "a/a1", 1024);
        t.v[CONF_CPU][1].limits = live_limits_new();
        t.v[CONF_CPU][1].limits->v[CONF_LIMIT_CPU_QUOTA] = 200;
        live_tree_add(&t, CONF_MEMORY, "a", -1);
        l = t.v[CONF_MEMORY][0].limits = live_limits_new();
        l->v[CONF_LIMIT_MEM_MAX] = 67108864;
        l->v[CONF_LIMIT_MEM_LOW] = 4096;
        live_tree_add(&t, CONF_PIDS, "a", -1);
        t.v[CONF_PIDS][0].limits = live_limits_new();
        t.v[CONF_PIDS][0].limits->v[CONF_LIMIT_PIDS_MAX] = 10;
        live_tree_add(&t, CONF_BLKIO, "a", -1);
        l = t.v[CONF_BLKIO][0].limits = live_limits_new();
        CHECK_INT(live_limits_dev(l, 7, 9, &d), 0);
        d->v[CONF_LIMIT_READ_BPS - CONF_LIMIT_FIRST_DEVICE] = 2097152;
        CHECK_INT(live_limits_dev(l, 8, 0, &d), 0);
        d->v[CONF_LIMIT_WRITE_IOPS - CONF_LIMIT_FIRST_DEVICE] = 100;
        s = plan_text(c, &t, NULL);
        /* nothing changes; the notes stay (they are about this host, not a change) */
        CHECK_STR(s, "note: cpu quota_percent 800 of a/a1 clamped to 200 (2 CPUs online)\n"
                     "note: blkio device /dev/nope: no such device on this host; its limits are "
                     "not applied\n"
                     "note: memory high: this cgroup layout has no such limit; not applied "
                     "(first at a)\n");
        free(s);
        /* keys removed: every file back to "no limit"; a rule kept stays */
        s = plan_text(bare, &t, NULL);
        CHECK_STR(s, "clear-limit cpu:a quota_percent (was 50)\n"
                     "clear-limit cpu:a/a1 quota_percent (was 200)\n"
                     "clear-limit blkio:a write_iops 8:0 (was 100)\n"
                     "clear-limit memory:a max (was 67108864)\n"
                     "clear-limit memory:a low (was 4096)\n"
                     "clear-limit pids:a max (was 10)\n");
        free(s);
        /* a limit set by someone else in a way no conf value gives is rewritten or cleared */
        t.v[CONF_CPU][0].limits->v[CONF_LIMIT_CPU_QUOTA] = LIVE_LIMIT_OTHER;
        s = plan_text(c, &t, NULL);
        CHECK(s && strstr(s, "set-limit cpu:a quota_percent 50 (was another value)\n"));
        free(s);
        live_tree_clear(&t);
}

static void test_limits_v2(void) {
        _cleanup_(conf_freep) struct conf *c = parse(
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 50}}}}, "
                "\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"high\": 8192}}}}, "
                "\"pids\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 10}}}}}");
        _cleanup_(conf_freep) struct conf *split = parse(
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"sub_cgroup\": {\"x\": {}}}}}, "
                "\"pids\": {\"sub_cgroup\": {\"x\": {\"conf\": {\"max\": 10}}}}}");
        struct conf_errors e = {};
        struct live_tree t = {};
        char *s;

        CHECK(c && split);
        if (!c || !split)
                return;
        all_present(&t);
        t.v2 = true;
        s = plan_text(c, &t, NULL);
        /* one cgroup; each controller enabled for it; memory high exists on v2 */
        CHECK_STR(s, "create a\n"
                     "enable cpu controller for a\n"
                     "enable memory controller for a\n"
                     "enable pids controller for a\n"
                     "set-limit cpu:a quota_percent 50 (was none)\n"
                     "set-limit memory:a high 8192 (was none)\n"
                     "set-limit pids:a max 10 (was none)\n");
        free(s);
        /* pids not delegated to the managed root: no pids op, one note */
        t.weight_unavailable[CONF_PIDS] = true;
        s = plan_text(c, &t, NULL);
        CHECK(s && !strstr(s, "pids:a") && !strstr(s, "enable pids"));
        CHECK(s && strstr(s, "note: pids controller not available at the managed root: the "
                             "limits of the pids tree are not applied\n"));
        free(s);
        live_tree_clear(&t);
        /* the union-tree rule covers the new trees */
        CHECK_INT(plan_check_v2(split, &e), -EINVAL);
        CHECK_INT(e.n, 1);
        if (e.n == 1) {
                CHECK_STR(e.v[0].path, "pids.sub_cgroup.x");
                CHECK(strstr(e.v[0].msg, "cpu:a/x but pids:x") != NULL);
        }
        conf_errors_clear(&e);
}

int main(void) {
        RUN(test_seed_from_nothing);
        RUN(test_seed_noop_and_changes);
        RUN(test_default_share_and_unset_weight);
        RUN(test_removals_children_first_and_protected);
        RUN(test_absent_hierarchy_and_partial);
        RUN(test_v2_weights);
        RUN(test_v2_union_tree);
        RUN(test_v2_checks);
        RUN(test_scale);
        RUN(test_index_and_sorted_set_agree);
        RUN(test_limits_v1_from_nothing);
        RUN(test_limits_noop_and_removal);
        RUN(test_limits_v2);
        return TAP_END();
}
