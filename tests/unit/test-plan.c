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
        return TAP_END();
}
