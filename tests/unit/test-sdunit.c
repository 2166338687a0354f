/* test-sdunit.c — the pure parts of the systemd mode: slice naming (common/sdunit.c, checked
 * against what `systemd-escape` prints where that tool is installed) and its inverse, and the
 * planning of slice units (common/sdslice.c): conf -> desired slices, diff against a listed
 * manager view -> ordered unit operations, their formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "plan.h"
#include "sdslice.h"
#include "sdunit.h"
#include "tap.h"

static void check_slice(const char *root, const char *path, const char *want) {
        char *got = NULL;
        CHECK_INT(sdunit_slice_name(root, path, &got), 0);
        CHECK_STR(got, want);
        free(got);
}

static void slice_names(void) {
        check_slice("cgrouparch", "", "cgrouparch.slice");
        check_slice("cgrouparch", "web", "cgrouparch-web.slice");
        check_slice("cgrouparch", "b/b_sub1", "cgrouparch-b-b_sub1.slice");
        check_slice("cgrouparch", "web-api/v1.2", "cgrouparch-web\\x2dapi-v1.2.slice");
        check_slice("/cgrouparch", "a", "cgrouparch-a.slice");
        check_slice("x/y", "a", "x-y-a.slice");
}

static void slice_names_refused(void) {
        char *s = NULL;
        CHECK_INT(sdunit_slice_name("", "a", &s), -EINVAL);
        CHECK_INT(sdunit_slice_name("cgrouparch", "a//b", &s), -EINVAL);
        CHECK_INT(sdunit_slice_name("cgrouparch", "a/", &s), -EINVAL);
        CHECK_INT(sdunit_slice_name("cgrouparch", "/a", &s), -EINVAL);
        CHECK(s == NULL);
}

static void escape_like_systemd_escape(void) {
        static const char *const names[] = {"web-api", ".hidden-x", "a b/c", "v1.2_x:y", "é"};
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
                char *s = NULL, cmd[256], want[256] = "";
                CHECK_INT(sdunit_escape(names[i], &s), 0);
                if (access("/usr/bin/systemd-escape", X_OK) == 0) {
                        snprintf(cmd, sizeof cmd, "/usr/bin/systemd-escape -- '%s'", names[i]);
                        FILE *f = popen(cmd, "r");
                        CHECK(f != NULL);
                        if (f) {
                                if (!fgets(want, sizeof want, f))
                                        want[0] = '\0';
                                pclose(f);
                        }
                        want[strcspn(want, "\n")] = '\0';
                        CHECK_STR(s, want);
                }
                free(s);
        }
        char *e = NULL;
        CHECK_INT(sdunit_escape("", &e), -EINVAL);
}

static void check_path(const char *root, const char *unit, int want_r, const char *want) {
        char *got = NULL;
        CHECK_INT(sdunit_slice_path(root, unit, &got), want_r);
        if (want_r == 0)
                CHECK_STR(got, want);
        free(got);
}

static void slice_paths(void) {
        check_path("cgrouparch", "cgrouparch.slice", 0, "");
        check_path("cgrouparch", "cgrouparch-web.slice", 0, "web");
        check_path("cgrouparch", "cgrouparch-b-b_sub1.slice", 0, "b/b_sub1");
        check_path("cgrouparch", "cgrouparch-web\\x2dapi-v1.2.slice", 0, "web-api/v1.2");
        check_path("x/y", "x-y-a.slice", 0, "a");
        check_path("cg-arch", "cg\\x2darch-a.slice", 0, "a");
        /* not ours: another root, another type, a prefix that is not a whole component */
        check_path("cgrouparch", "cgrouparchx.slice", -ENOENT, NULL);
        check_path("cgrouparch", "system.slice", -ENOENT, NULL);
        check_path("cgrouparch", "cgrouparch-a.service", -ENOENT, NULL);
        check_path("cg-arch", "cg-arch-a.slice", -ENOENT, NULL);
        /* ours by prefix but not a conf path: never touched */
        check_path("cgrouparch", "cgrouparch--a.slice", -EINVAL, NULL);
        check_path("cgrouparch", "cgrouparch-a\\x2fb.slice", -EINVAL, NULL);
        check_path("cgrouparch", "cgrouparch-tasks.slice", -EINVAL, NULL);
        check_path("cgrouparch", "cgrouparch-a\\x2.slice", -EINVAL, NULL);
        check_path("cgrouparch", "cgrouparch-a\\x00.slice", -EINVAL, NULL);
        /* round trip of every name the escape test uses that is a valid conf name */
        static const char *const names[] = { "web-api", "v1.2_x", "a-b-c", "_x" };
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
                char *u = NULL, *p = NULL;
                CHECK_INT(sdunit_slice_name("cgrouparch", names[i], &u), 0);
                CHECK_INT(sdunit_slice_path("cgrouparch", u, &p), 0);
                CHECK_STR(p, names[i]);
                free(u);
                free(p);
        }
}

static void slice_patterns(void) {
        char **v = NULL;
        CHECK_INT(sdunit_slice_patterns("cgrouparch", &v), 0);
        CHECK_STR(v[0], "cgrouparch.slice");
        CHECK_STR(v[1], "cgrouparch-*.slice");
        CHECK(v[2] == NULL);
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        CHECK_INT(sdunit_slice_patterns("cg-arch", &v), 0);
        CHECK_STR(v[1], "cg\\\\x2darch-*.slice"); /* the backslash quoted for fnmatch() */
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static const char seed[] =
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}},"
        " \"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\":"
        " {\"test_cgroup_b_sub1\": {\"conf\": {\"share\": 200}}}}}},"
        " \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"weight\": 500}}}}}";

/* conf + manager view -> the formatted unit operations. */
static char *plan_text(const char *conf_text, struct live_tree *live) {
        struct conf *c = NULL;
        struct plan p = {};
        struct sdslice_plan sp = {};
        char *text = NULL;

        CHECK_INT(conf_parse(conf_text, strlen(conf_text), &c, NULL), 0);
        if (!c)
                return NULL;
        CHECK_INT(conf_plan(c, live, NULL, &p), 0);
        CHECK_INT(sdslice_plan_from("cgrouparch", &p, live, &sp), 0);
        CHECK_INT(sdslice_plan_format(&sp, &text), 0);
        sdslice_plan_clear(&sp);
        plan_clear(&p);
        conf_free(c);
        return text;
}

static void plan_seed_on_empty_manager(void) {
        struct live_tree live;
        char *t;

        sdslice_live_init(&live);
        /* units of others, and the root itself, are not nodes */
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch.slice", 100, UINT64_MAX), 0);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "system.slice", 100, 100), 0);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch--x.slice", 100, 100), 0);
        t = plan_text(seed, &live);
        CHECK_STR(t, "create cgrouparch-test_cgroup_a.slice CPUWeight=100 IOWeight=100\n"
                     "create cgrouparch-test_cgroup_b.slice CPUWeight=9\n"
                     "create cgrouparch-test_cgroup_b-test_cgroup_b_sub1.slice CPUWeight=19\n");
        free(t);
        live_tree_clear(&live);
}

static void plan_diff_against_manager(void) {
        struct live_tree live;
        char *t;

        sdslice_live_init(&live);
        /* listed in any order; one weight differs, one is unset, one slice is not in the conf
         * (with a child: children are removed first) */
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-old-deep.slice", 5, 5), 1);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-test_cgroup_b.slice", 9,
                                   UINT64_MAX), 1);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-test_cgroup_a.slice", 50,
                                   UINT64_MAX), 1);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-old.slice", 5, 5), 1);
        sdslice_live_sort(&live);
        CHECK(live.systemd && live.v2);
        CHECK_STR(live.v[CONF_BLKIO][0].path, "old");
        t = plan_text(seed, &live);
        CHECK_STR(t, "create cgrouparch-test_cgroup_b-test_cgroup_b_sub1.slice CPUWeight=19\n"
                     "set cgrouparch-test_cgroup_a.slice CPUWeight=100 IOWeight=100 (was "
                     "CPUWeight=50 IOWeight unset)\n"
                     "remove cgrouparch-old-deep.slice\n"
                     "remove cgrouparch-old.slice\n");
        free(t);
        live_tree_clear(&live);
}

static void plan_noop_when_manager_matches(void) {
        struct live_tree live;
        char *t;

        sdslice_live_init(&live);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-test_cgroup_a.slice", 100, 100), 1);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-test_cgroup_b.slice", 9,
                                   UINT64_MAX), 1);
        CHECK_INT(sdslice_live_add(&live, "cgrouparch",
                                   "cgrouparch-test_cgroup_b-test_cgroup_b_sub1.slice", 19,
                                   UINT64_MAX), 1);
        sdslice_live_sort(&live);
        t = plan_text(seed, &live);
        CHECK_STR(t, ""); /* no enable ops either: the manager does that */
        free(t);
        live_tree_clear(&live);
}

static void props_format(void) {
        char *s = NULL;
        CHECK_INT(sdslice_props_format(9, -1, &s), 0);
        CHECK_STR(s, "CPUWeight=9");
        free(s);
        CHECK_INT(sdslice_props_format(-1, 200, &s), 0);
        CHECK_STR(s, "IOWeight=200");
        free(s);
        CHECK_INT(sdslice_props_format(10000, 1, &s), 0);
        CHECK_STR(s, "CPUWeight=10000 IOWeight=1");
        free(s);
        CHECK_INT(sdslice_props_format(-1, -1, &s), 0);
        CHECK_STR(s, "");
        free(s);
        /* the linear mapping, clamped */
        CHECK_INT(plan_v2_weight(CONF_CPU, 2), 1);
        CHECK_INT(plan_v2_weight(CONF_CPU, 262144), 10000);
        CHECK_INT(plan_v2_weight(CONF_BLKIO, 10), 2);
        CHECK_INT(plan_v2_weight(CONF_BLKIO, 1000), 200);
}

/* Limits as unit properties: folded into the creation, then set / cleared against the view. */
static void plan_limits_as_properties(void) {
        const char *conf =
                "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 50}}}},"
                " \"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 67108864, "
                "\"low\": 8192}}}}, \"pids\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 10}}}},"
                " \"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"read_bps\": {\"7:0\": 2097152}}}}}}";
        const char *bare = "{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}, \"memory\": {\"sub_cgroup\": "
                           "{\"a\": {}}}, \"pids\": {\"sub_cgroup\": {\"a\": {}}}, \"blkio\": "
                           "{\"sub_cgroup\": {\"a\": {}}}}";
        struct live_tree live;
        struct live_dev_limit *d;
        char *t;

        sdslice_live_init(&live);
        live.ncpus = 4;
        t = plan_text(conf, &live);
        CHECK_STR(t, "create cgrouparch-a.slice CPUWeight=100\n"
                     "  CPUQuotaPerSecUSec=500000\n"
                     "  IOReadBandwidthMax=/dev/block/7:0 2097152\n"
                     "  MemoryMax=67108864\n"
                     "  MemoryLow=8192\n"
                     "  TasksMax=10\n");
        free(t);
        /* the manager has them all: nothing; then the keys removed: back to no limit */
        CHECK_INT(sdslice_live_add(&live, "cgrouparch", "cgrouparch-a.slice", 100, UINT64_MAX), 1);
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                live.v[s][0].limits = live_limits_new();
        live.v[CONF_CPU][0].limits->v[CONF_LIMIT_CPU_QUOTA] =
                sdslice_limit_from_prop(CONF_LIMIT_CPU_QUOTA, 500000);
        live.v[CONF_MEMORY][0].limits->v[CONF_LIMIT_MEM_MAX] = 67108864;
        live.v[CONF_MEMORY][0].limits->v[CONF_LIMIT_MEM_LOW] = 8192;
        live.v[CONF_PIDS][0].limits->v[CONF_LIMIT_PIDS_MAX] = 10;
        CHECK_INT(live_limits_dev(live.v[CONF_BLKIO][0].limits, 7, 0, &d), 0);
        d->v[0] = 2097152;
        t = plan_text(conf, &live);
        CHECK_STR(t, "");
        free(t);
        t = plan_text(bare, &live);
        CHECK_STR(t, "set cgrouparch-a.slice\n"
                     "  CPUQuotaPerSecUSec=infinity\n"
                     "  IOReadBandwidthMax=/dev/block/7:0 infinity\n"
                     "  MemoryMax=infinity\n"
                     "  MemoryLow=0\n"
                     "  TasksMax=infinity\n");
        free(t);
        CHECK_INT(sdslice_limit_from_prop(CONF_LIMIT_CPU_QUOTA, UINT64_MAX), LIVE_LIMIT_NONE);
        CHECK_INT(sdslice_limit_from_prop(CONF_LIMIT_CPU_QUOTA, 333333), LIVE_LIMIT_OTHER);
        CHECK_INT(sdslice_limit_from_prop(CONF_LIMIT_MEM_LOW, 0), LIVE_LIMIT_NONE);
        CHECK_INT(sdslice_limit_from_prop(CONF_LIMIT_PIDS_MAX, 10), 10);
        live_tree_clear(&live);
}

int main(void) {
        RUN(slice_names);
        RUN(slice_paths);
        RUN(slice_patterns);
        RUN(plan_seed_on_empty_manager);
        RUN(plan_diff_against_manager);
        RUN(plan_noop_when_manager_matches);
        RUN(props_format);
        RUN(plan_limits_as_properties);
        RUN(slice_names_refused);
        RUN(escape_like_systemd_escape);
        return TAP_END();
}
