/* test-taskd.c — cg-taskd's pure logic (cg-taskd/targets.[ch], linked from
 * build/prog/libcg-taskd.a): rules from [pid_files] + the conf, pattern matching for inotify
 * events, move verdicts, warn-once and the STATUS line; the placement record
 * (cg-taskd/placements.c): its text and its fair share per pattern. */
#include <string.h>

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "tap.h"
#include "targets.h"
#include "taskd.h"
#include "tmap.h"

static const char *SEED =
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": "
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "
        "{\"conf\": {\"weight\": 500}}}}}";

static struct conf *parse_conf(const char *text) {
        struct conf *c = NULL;
        struct conf_errors e = {};

        CHECK_INT(conf_parse(text, strlen(text), &c, &e), 0);
        conf_errors_clear(&e);
        return c;
}

static void test_rules_build(void) {
        _cleanup_(conf_freep) struct conf *c = parse_conf(SEED);
        char *pa[] = {"/run/a.pid", "/run/a-*.pid", NULL};
        char *pb[] = {"/run/b.pid", NULL};
        char *px[] = {"/run/x.pid", NULL};
        struct cfg_pid_files pf[] = {
                {.name = "test_cgroup_a", .patterns = pa},
                {.name = "test_cgroup_b_sub1", .patterns = pb},
                {.name = "nowhere", .patterns = px},
        };
        struct taskd_rules rules = {};
        char *unknown = NULL;

        if (!c)
                return;
        CHECK_INT(taskd_rules_build(pf, ELEMENTSOF(pf), c, &rules), 0);
        CHECK_INT(rules.n, 3);
        if (rules.n != 3)
                return;
        CHECK_STR(rules.v[0].name, "test_cgroup_a");
        CHECK_INT(strv_length(rules.v[0].patterns), 2);
        CHECK_STR(rules.v[0].patterns[1], "/run/a-*.pid");
        CHECK(rules.v[0].patterns != pa); /* a copy */
        CHECK_INT(rules.v[0].n_targets, 2);
        CHECK_INT(rules.v[0].targets[0].subsys, CONF_CPU);
        CHECK_STR(rules.v[0].targets[0].path, "test_cgroup_a");
        CHECK_INT(rules.v[0].targets[1].subsys, CONF_BLKIO);
        CHECK_STR(rules.v[0].targets[1].path, "test_cgroup_a");
        CHECK(!rules.v[0].targets[0].missing);

        CHECK_INT(rules.v[1].n_targets, 1);
        CHECK_INT(rules.v[1].targets[0].subsys, CONF_CPU);
        CHECK_STR(rules.v[1].targets[0].path, "test_cgroup_b/test_cgroup_b_sub1");

        CHECK_INT(rules.v[2].n_targets, 0);
        CHECK_INT(taskd_rules_unknown_names(&rules, &unknown), 0);
        CHECK_STR(unknown, "nowhere");
        free(unknown);
        taskd_rules_clear(&rules);
        CHECK_INT(rules.n, 0);

        /* no conf yet: rules without targets */
        CHECK_INT(taskd_rules_build(pf, ELEMENTSOF(pf), NULL, &rules), 0);
        CHECK_INT(rules.n, 3);
        CHECK_INT(rules.v[0].n_targets, 0);
        CHECK_INT(taskd_rules_unknown_names(&rules, &unknown), 0);
        CHECK_STR(unknown, "test_cgroup_a, test_cgroup_b_sub1, nowhere");
        free(unknown);
        taskd_rules_clear(&rules);

        /* nothing configured */
        CHECK_INT(taskd_rules_build(NULL, 0, c, &rules), 0);
        CHECK_INT(rules.n, 0);
        CHECK_INT(taskd_rules_unknown_names(&rules, &unknown), 0);
        CHECK(unknown == NULL);
        taskd_rules_clear(&rules);
}

/* The conf changes so that a name moves to another parent: the target follows. */
static void test_rules_conf_change(void) {
        _cleanup_(conf_freep) struct conf *c1 =
                parse_conf("{\"cpu\": {\"sub_cgroup\": {\"p1\": {\"sub_cgroup\": {\"svc\": {}}}, "
                           "\"p2\": {}}}}");
        _cleanup_(conf_freep) struct conf *c2 =
                parse_conf("{\"cpu\": {\"sub_cgroup\": {\"p1\": {}, \"p2\": {\"sub_cgroup\": "
                           "{\"svc\": {}}}}}}");
        char *p[] = {"/run/svc.pid", NULL};
        struct cfg_pid_files pf[] = {{.name = "svc", .patterns = p}};
        struct taskd_rules r1 = {}, r2 = {};

        if (!c1 || !c2)
                return;
        CHECK_INT(taskd_rules_build(pf, 1, c1, &r1), 0);
        CHECK_INT(taskd_rules_build(pf, 1, c2, &r2), 0);
        CHECK_INT(r1.v[0].n_targets, 1);
        CHECK_INT(r2.v[0].n_targets, 1);
        CHECK_STR(r1.v[0].targets[0].path, "p1/svc");
        CHECK_STR(r2.v[0].targets[0].path, "p2/svc");
        taskd_rules_clear(&r1);
        taskd_rules_clear(&r2);
}

static void test_pattern_split(void) {
        char *d = NULL, *b = NULL;

        CHECK_INT(taskd_pattern_split("/run/x/a*.pid", &d, &b), 0);
        CHECK_STR(d, "/run/x");
        CHECK_STR(b, "a*.pid");
        free(d);
        free(b);
        CHECK_INT(taskd_pattern_split("/x.pid", &d, &b), 0);
        CHECK_STR(d, "/");
        CHECK_STR(b, "x.pid");
        free(d);
        free(b);
        d = b = NULL;
        CHECK_INT(taskd_pattern_split("x.pid", &d, &b), -EINVAL);
        CHECK_INT(taskd_pattern_split("/run/x/", &d, &b), -EINVAL);
        CHECK_INT(taskd_pattern_split("", &d, &b), -EINVAL);
        CHECK(d == NULL && b == NULL);

        CHECK(taskd_has_glob("/run/*.pid"));
        CHECK(taskd_has_glob("/run/a?.pid"));
        CHECK(taskd_has_glob("/run/[ab].pid"));
        CHECK(!taskd_has_glob("/run/a.pid"));
}

static void test_pattern_matches(void) {
        CHECK(taskd_pattern_matches("/run/a.pid", "/run", "a.pid"));
        CHECK(!taskd_pattern_matches("/run/a.pid", "/run", "b.pid"));
        CHECK(!taskd_pattern_matches("/run/a.pid", "/var/run", "a.pid"));
        CHECK(taskd_pattern_matches("/run/w-*.pid", "/run", "w-1.pid"));
        CHECK(taskd_pattern_matches("/run/w-*.pid", "/run", "w-.pid"));
        CHECK(!taskd_pattern_matches("/run/w-*.pid", "/run", "w-1.pid.tmp"));
        CHECK(!taskd_pattern_matches("/run/w-*.pid", "/run", ".w-1.pid"));
        CHECK(!taskd_pattern_matches("/run/*.pid", "/run", ".hidden.pid")); /* FNM_PERIOD */
        CHECK(taskd_pattern_matches("/run/w?.pid", "/run", "w7.pid"));
        CHECK(taskd_pattern_matches("/run/w[0-9].pid", "/run", "w3.pid"));
        CHECK(!taskd_pattern_matches("/run/w[0-9].pid", "/run", "wx.pid"));
        /* globs in the directory */
        CHECK(taskd_pattern_matches("/run/*/main.pid", "/run/nginx", "main.pid"));
        CHECK(!taskd_pattern_matches("/run/*/main.pid", "/run/a/b", "main.pid"));
        CHECK(!taskd_pattern_matches("/run/*/main.pid", "/run", "main.pid"));
        /* names never contain a slash */
        CHECK(!taskd_pattern_matches("/run/*", "/run", "a/b"));
        CHECK(!taskd_pattern_matches("/run/*", "/run", ""));
        CHECK(!taskd_pattern_matches("relative/*", "relative", "x"));
}

static void test_judge(void) {
        struct proc_stat st = {.pid = 1234, .ppid = 1000, .flags = 0x400000};
        uint64_t mtime = 1000 * USEC_PER_SEC;

        CHECK_INT(taskd_judge(&st, mtime, mtime - 5 * USEC_PER_SEC), TASKD_MOVE);
        CHECK_INT(taskd_judge(&st, mtime, mtime), TASKD_MOVE);
        /* started a tick after the write: clock rounding, not staleness */
        CHECK_INT(taskd_judge(&st, mtime, mtime + 10 * USEC_PER_MSEC), TASKD_MOVE);
        CHECK_INT(taskd_judge(&st, mtime, mtime + 2 * USEC_PER_SEC), TASKD_REFUSE_STALE);
        st.pid = 1;
        st.ppid = 0;
        CHECK_INT(taskd_judge(&st, mtime, 0), TASKD_REFUSE_INIT);
        st = (struct proc_stat){.pid = 55, .ppid = 2, .flags = PROC_PF_KTHREAD};
        CHECK_INT(taskd_judge(&st, mtime, 0), TASKD_REFUSE_KTHREAD);
        st = (struct proc_stat){.pid = 55, .ppid = 1, .flags = PROC_PF_KTHREAD};
        CHECK_INT(taskd_judge(&st, mtime, 0), TASKD_REFUSE_KTHREAD);
        st = (struct proc_stat){.pid = 2, .ppid = 0};
        CHECK_INT(taskd_judge(&st, mtime, 0), TASKD_REFUSE_KTHREAD);
        CHECK(strstr(taskd_verdict_to_string(TASKD_REFUSE_STALE), "stale") != NULL);
        CHECK(strstr(taskd_verdict_to_string(TASKD_REFUSE_INIT), "pid 1") != NULL);
}

/* The pid-file trust rule: root's file names anyone, anyone else's only their own processes;
 * user= binds the process whoever wrote the file. */
static void test_judge_owner(void) {
        uid_t www = 33, other = 1000;

        CHECK_INT(taskd_judge_owner(0, 0, NULL), TASKD_MOVE);
        CHECK_INT(taskd_judge_owner(0, www, NULL), TASKD_MOVE);
        CHECK_INT(taskd_judge_owner(www, www, NULL), TASKD_MOVE);
        /* a user's file naming root's or another user's process */
        CHECK_INT(taskd_judge_owner(www, 0, NULL), TASKD_REFUSE_OWNER);
        CHECK_INT(taskd_judge_owner(www, other, NULL), TASKD_REFUSE_OWNER);
        CHECK_INT(taskd_judge_owner(65534, 0, NULL), TASKD_REFUSE_OWNER);
        /* user= */
        CHECK_INT(taskd_judge_owner(0, www, &www), TASKD_MOVE);
        CHECK_INT(taskd_judge_owner(0, other, &www), TASKD_REFUSE_USER);
        CHECK_INT(taskd_judge_owner(0, 0, &www), TASKD_REFUSE_USER);
        CHECK_INT(taskd_judge_owner(www, www, &www), TASKD_MOVE);
        CHECK_INT(taskd_judge_owner(other, other, &www), TASKD_REFUSE_USER);
        /* the owner rule comes first: a user's file is never saved by user= */
        CHECK_INT(taskd_judge_owner(other, www, &www), TASKD_REFUSE_OWNER);
        CHECK(strstr(taskd_verdict_to_string(TASKD_REFUSE_OWNER), "owned") != NULL);
        CHECK(strstr(taskd_verdict_to_string(TASKD_REFUSE_USER), "user") != NULL);

        CHECK(taskd_may_show_content(0));
        CHECK(!taskd_may_show_content(www));
        CHECK(!taskd_may_show_content(65534));
}

static void test_user_parse_uid(void) {
        uid_t u = 7;

        CHECK_INT(taskd_user_parse_uid("1000", &u), 1);
        CHECK_INT(u, 1000);
        CHECK_INT(taskd_user_parse_uid("0", &u), 1);
        CHECK_INT(u, 0);
        u = 7;
        CHECK_INT(taskd_user_parse_uid("www-data", &u), 0);
        CHECK_INT(taskd_user_parse_uid("1000x", &u), 0);
        CHECK_INT(u, 7);
        CHECK_INT(taskd_user_parse_uid("4294967295", &u), -EINVAL);
        CHECK_INT(taskd_user_parse_uid("99999999999999999999999", &u), -EINVAL);
        CHECK_INT(taskd_user_parse_uid("", &u), -EINVAL);
        CHECK_INT(taskd_user_parse_uid(NULL, &u), -EINVAL);
        CHECK_INT(u, 7);
}

static void test_rules_keep_user(void) {
        char *pa[] = {"/run/a.pid", NULL};
        struct cfg_pid_files pf[] = {
                {.name = "a", .patterns = pa, .user = "www-data"},
                {.name = "b", .patterns = pa},
        };
        struct taskd_rules rules = {};

        CHECK_INT(taskd_rules_build(pf, ELEMENTSOF(pf), NULL, &rules), 0);
        CHECK_INT(rules.n, 2);
        if (rules.n == 2) {
                CHECK_STR(rules.v[0].user, "www-data");
                CHECK(rules.v[0].user != pf[0].user); /* a copy */
                CHECK(rules.v[1].user == NULL);
        }
        taskd_rules_clear(&rules);
}

static void test_warn_once(void) {
        char *slot = NULL;

        CHECK(taskd_warn_once(&slot, "garbage:abc"));
        CHECK(!taskd_warn_once(&slot, "garbage:abc"));
        CHECK(!taskd_warn_once(&slot, "garbage:abc"));
        CHECK(taskd_warn_once(&slot, "garbage:abd")); /* content changed */
        CHECK(!taskd_warn_once(&slot, NULL));         /* fine again */
        CHECK(slot == NULL);
        CHECK(taskd_warn_once(&slot, "garbage:abd")); /* broken again: warn again */
        free(slot);
}

static void test_status(void) {
        char *s = NULL;

        CHECK_INT(taskd_status_format(12, 3, 4567, &s), 0);
        CHECK_STR(s, "placed 12 processes in 3 cgroups, last pass 4.5 ms");
        free(s);
        CHECK_INT(taskd_status_format(1, 1, 250, &s), 0);
        CHECK_STR(s, "placed 1 process in 1 cgroup, last pass 0.2 ms");
        free(s);
        CHECK_INT(taskd_status_format(0, 0, 0, &s), 0);
        CHECK_STR(s, "placed 0 processes in 0 cgroups, last pass 0.0 ms");
        free(s);
}

/* ---- issue 12 row 2/3: the structures that keep an event's cost in proportion ---- */

static void test_map_str(void) {
        struct taskd_map m = {};
        char keys[3000][32];
        size_t seen = 0;
        struct taskd_map_iter it = {};
        void *v;

        CHECK(taskd_map_get_str(&m, "/run/a.pid") == NULL); /* empty, no buckets yet */
        CHECK(taskd_map_remove_str(&m, "/run/a.pid") == NULL);
        for (int i = 0; i < 3000; i++) {
                snprintf(keys[i], sizeof(keys[i]), "/run/x/atk-%d.pid", i);
                CHECK_INT(taskd_map_put_str(&m, keys[i], keys[i]), 0);
        }
        CHECK_INT((int) taskd_map_size(&m), 3000);
        CHECK_INT(taskd_map_put_str(&m, keys[7], keys[8]), -EEXIST); /* unchanged */
        CHECK(taskd_map_get_str(&m, "/run/x/atk-7.pid") == keys[7]);  /* by content */
        CHECK(taskd_map_get_str(&m, "/run/x/atk-3000.pid") == NULL);
        CHECK(m.n_buckets >= 4000); /* grown: load at most 3/4 */
        /* iteration sees each once and tolerates removing the current entry */
        while (taskd_map_next(&m, &it, &v)) {
                seen++;
                if (strtol((char *) v + strlen("/run/x/atk-"), NULL, 10) % 2 == 0)
                        CHECK(taskd_map_remove_str(&m, v) == v);
        }
        CHECK_INT((int) seen, 3000);
        CHECK_INT((int) taskd_map_size(&m), 1500);
        CHECK(taskd_map_get_str(&m, keys[2]) == NULL);
        CHECK(taskd_map_get_str(&m, keys[3]) == keys[3]);
        for (int i = 1; i < 3000; i += 2)
                CHECK(taskd_map_remove_str(&m, keys[i]) == keys[i]);
        CHECK_INT((int) taskd_map_size(&m), 0);
        /* after a flood, the table shrinks again at the next put */
        CHECK_INT(taskd_map_put_str(&m, keys[0], keys[0]), 0);
        CHECK(m.n_buckets <= 32);
        taskd_map_clear(&m);
        CHECK(m.buckets == NULL && m.n == 0);
}

static void test_map_int(void) {
        struct taskd_map m = {};
        int vals[5];

        for (int i = 0; i < 5; i++)
                CHECK_INT(taskd_map_put_int(&m, 1000 + i, &vals[i]), 0);
        CHECK(taskd_map_get_int(&m, 1003) == &vals[3]);
        CHECK(taskd_map_get_int(&m, 3) == NULL);
        CHECK_INT(taskd_map_put_int(&m, 1003, &vals[0]), -EEXIST);
        CHECK(taskd_map_remove_int(&m, 1003) == &vals[3]);
        CHECK(taskd_map_get_int(&m, 1003) == NULL);
        CHECK(taskd_map_remove_int(&m, 1003) == NULL);
        CHECK_INT(taskd_map_put_int(&m, 1003, &vals[4]), 0); /* a wd or pid used again */
        CHECK(taskd_map_get_int(&m, 1003) == &vals[4]);
        CHECK_INT((int) taskd_map_size(&m), 5);
        taskd_map_clear(&m);
}

static void test_siphash(void) {
        /* the reference vector of SipHash-1-3 is not published; check the properties we rely
         * on: determinism, key dependence, every byte counts */
        const uint64_t k1[2] = {1, 2}, k2[2] = {1, 3};
        const char *a = "/run/x/atk-1.pid", *b = "/run/x/atk-2.pid";

        CHECK(taskd_siphash13(a, strlen(a), k1) == taskd_siphash13(a, strlen(a), k1));
        CHECK(taskd_siphash13(a, strlen(a), k1) != taskd_siphash13(a, strlen(a), k2));
        CHECK(taskd_siphash13(a, strlen(a), k1) != taskd_siphash13(b, strlen(b), k1));
        CHECK(taskd_siphash13(a, 8, k1) != taskd_siphash13(a, 9, k1));
        CHECK(taskd_siphash13("", 0, k1) != taskd_siphash13("", 0, k2));
}

static void test_cap(void) {
        struct taskd_cap c = {.max = 4};

        for (int i = 0; i < 4; i++)
                CHECK_INT(taskd_cap_take(&c), TASKD_CAP_TAKEN);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_FULL_WARN); /* the 5th: warned once */
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_FULL);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_FULL);
        CHECK_INT((int) c.n, 4);
        /* hovering at the cap: one goes, one comes, one too many: no new warning */
        taskd_cap_release(&c);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_TAKEN);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_FULL);
        /* a flood in waves: emptied and filled again, still no new warning */
        for (int i = 0; i < 4; i++)
                taskd_cap_release(&c);
        CHECK_INT((int) c.n, 0);
        for (int i = 0; i < 4; i++)
                CHECK_INT(taskd_cap_take(&c), TASKD_CAP_TAKEN);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_FULL);
        /* never below zero */
        c = (struct taskd_cap){.max = 1};
        taskd_cap_release(&c);
        CHECK_INT((int) c.n, 0);
        CHECK_INT(taskd_cap_take(&c), TASKD_CAP_TAKEN);
}

static void test_coalesce(void) {
        struct taskd_coalesce c = {};
        const uint64_t W = 50000;

        /* the first ask runs at once (a lone mkdir is not delayed) */
        CHECK(taskd_coalesce_ask(&c, 1000000, W) == 1000000);
        /* more asks while pending: nothing to arm */
        CHECK(taskd_coalesce_ask(&c, 1000100, W) == 0);
        CHECK(taskd_coalesce_ask(&c, 1000200, W) == 0);
        taskd_coalesce_ran(&c, 1000300);
        /* a burst right after: one run at the end of the window */
        CHECK(taskd_coalesce_ask(&c, 1000400, W) == 1050300);
        for (int i = 0; i < 1000; i++)
                CHECK(taskd_coalesce_ask(&c, 1000500 + (uint64_t) i, W) == 0);
        taskd_coalesce_ran(&c, 1050300);
        /* quiet for longer than the window: at once again */
        CHECK(taskd_coalesce_ask(&c, 2000000, W) == 2000000);
}

static void test_dir_match(void) {
        CHECK_INT(taskd_dir_match("/x/*/main.pid", "/x/d1"), TASKD_DIR_GLOB);
        CHECK_INT(taskd_dir_match("/x/*/main.pid", "/x/.hidden"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/x/*/main.pid", "/x/d1/sub"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/x/*/main.pid", "/y/d1"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/x/*/main.pid", "/x"), TASKD_DIR_RESYNC); /* fixed prefix */
        CHECK_INT(taskd_dir_match("/a/b/svc-*/main.pid", "/a"), TASKD_DIR_RESYNC);
        CHECK_INT(taskd_dir_match("/a/b/svc-*/main.pid", "/a/b/svc-1"), TASKD_DIR_GLOB);
        CHECK_INT(taskd_dir_match("/a/b/svc-*/main.pid", "/a/b/other"), TASKD_DIR_NONE);
        /* an intermediate level of a two-level glob: left to the interval's resync */
        CHECK_INT(taskd_dir_match("/x/*/y/*/main.pid", "/x/a"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/x/*/y/*/main.pid", "/x/a/y/b"), TASKD_DIR_GLOB);
        /* a fixed directory that appears: the stand-in watch moves down */
        CHECK_INT(taskd_dir_match("/run/svc/main.pid", "/run/svc"), TASKD_DIR_RESYNC);
        CHECK_INT(taskd_dir_match("/run/svc/main.pid", "/run/other"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/run/*.pid", "/run/sub"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("/main.pid", "/x"), TASKD_DIR_NONE);
        CHECK_INT(taskd_dir_match("relative/*.pid", "/x"), TASKD_DIR_NONE);
}

static void test_pattern_ids(void) {
        char *pa[] = {"/run/a.pid", "/run/a-*.pid", NULL};
        char *pb[] = {"/run/b/*/main.pid", NULL};
        char *pc[] = {"/run/c1.pid", "/run/c2.pid", "/run/c3.pid", NULL};
        struct cfg_pid_files pf[] = {
                {.name = "a", .patterns = pa}, {.name = "b", .patterns = pb},
                {.name = "c", .patterns = pc}};
        struct taskd_rules rules = {};

        CHECK_INT(taskd_rules_build(pf, 3, NULL, &rules), 0);
        CHECK_INT((int) rules.v[0].pattern_base, 0);
        CHECK_INT((int) rules.v[1].pattern_base, 2);
        CHECK_INT((int) rules.v[2].pattern_base, 3);
        CHECK_INT((int) taskd_rules_n_patterns(&rules), 6);
        taskd_rules_clear(&rules);
        CHECK_INT((int) taskd_rules_n_patterns(&rules), 0);
}

static void test_placements_quota(void) {
        /* classes per pattern: pending, refused/stale, placed, none */
        size_t counts[3 * TASKD_PLACE_CLASSES] = {
                0, 5000, 2, 0, /* a flooded glob: 5000 refused, 2 placed */
                1, 0, 3, 10,   /* a quiet one */
                0, 0, 1, 0,
        };
        size_t take[3 * TASKD_PLACE_CLASSES] = {};

        CHECK_INT(taskd_placements_quota(counts, 3, 100, take), 100);
        /* the quiet patterns keep all they have; the flood gets the rest, refused first */
        CHECK_INT(take[4] + take[5] + take[6] + take[7], 14);
        CHECK_INT(take[10], 1);
        CHECK_INT(take[1], 85);
        CHECK_INT(take[2], 0);
        /* everything fits: all of it */
        CHECK_INT(taskd_placements_quota(counts, 3, 10000, take), 5017);
        CHECK_INT(take[1], 5000);
        CHECK_INT(take[2], 2);
        /* more patterns than room */
        CHECK_INT(taskd_placements_quota(counts, 3, 2, take), 2);
        CHECK_INT(taskd_placements_quota(counts, 0, 10, take), 0);
}

static struct taskd_file *add_file(struct taskd *d, const char *path, size_t rule, size_t pattern,
                                   enum taskd_fstate st, enum taskd_why why, pid_t pid) {
        struct taskd_file *f = calloc(1, sizeof(*f));

        f->path = strdup(path);
        f->rule = rule;
        f->pattern = pattern;
        taskd_file_judged(f, st, why, pid);
        CHECK_INT(taskd_map_put_str(&d->files, f->path, f), 0);
        return f;
}

static const cJSON *file_entry(const cJSON *doc, const char *path) {
        const cJSON *f;

        cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "files"))
                if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "path")), path) == 0)
                        return f;
        return NULL;
}

static const char *sfield(const cJSON *o, const char *k) {
        const char *s = o ? cJSON_GetStringValue(cJSON_GetObjectItem(o, k)) : NULL;
        return s ? s : "(none)";
}

static double nfield(const cJSON *o, const char *k) {
        const cJSON *v = o ? cJSON_GetObjectItem(o, k) : NULL;
        return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_placements_format(void) {
        _cleanup_(conf_freep) struct conf *c = parse_conf(SEED);
        char *pa[] = {"/run/a.pid", NULL}, *pb[] = {"/home/*/b.pid", NULL};
        struct cfg_pid_files pf[] = {{.name = "test_cgroup_a", .patterns = pa},
                                     {.name = "nowhere", .patterns = pb}};
        struct taskd d = {.conf = c};
        struct taskd_file *f;
        struct strbuf b = {};
        struct taskd_map_iter it = {};
        cJSON *doc;
        void *v;

        CHECK_INT(taskd_rules_build(pf, 2, c, &d.rules), 0);
        f = add_file(&d, "/run/a.pid", 0, 0, TASKD_FSTATE_PLACED, TASKD_WHY_NONE, 42);
        f->n_procs = 3;
        taskd_file_moved(f, 42, 3, "/", "/cg/test_cgroup_a");
        f = add_file(&d, "/home/u/b.pid", 1, 1, TASKD_FSTATE_REFUSED, TASKD_WHY_OWNER, 7);
        f->file_uid = 1000;
        f->proc_uid = 0;
        add_file(&d, "/home/\xff\"q/b.pid", 1, 1, TASKD_FSTATE_STALE, TASKD_WHY_STALE, 8);
        add_file(&d, "/home/w/b.pid", 1, 1, TASKD_FSTATE_PENDING, TASKD_WHY_NO_TARGET, 9);
        add_file(&d, "/home/x/b.pid", 1, 1, TASKD_FSTATE_NONE, TASKD_WHY_MISSING, 0);
        f = add_file(&d, "/home/y/b.pid", 1, 1, TASKD_FSTATE_REFUSED, TASKD_WHY_BUDGET, 0);
        f->file_uid = 65534;
        f->aux = 64;

        CHECK_INT(taskd_placements_format(&d, 1700000000123456ULL, &b), 0);
        doc = cJSON_Parse(strbuf_text(&b));
        CHECK(doc != NULL);
        CHECK_STR(sfield(doc, "writer"), "cg-taskd");
        CHECK_STR(sfield(doc, "mode"), "cgroup");
        CHECK(nfield(doc, "updated") > 1700000000.12 && nfield(doc, "updated") < 1700000000.13);
        CHECK_INT(nfield(doc, "total"), 6);
        CHECK_INT(nfield(doc, "omitted"), 0);
        CHECK_INT(nfield(doc, "placed"), 1);
        CHECK_INT(nfield(doc, "pending"), 1);
        CHECK_INT(nfield(doc, "refused"), 3); /* the stale one counts too */
        CHECK_INT(nfield(doc, "stale"), 1);
        CHECK_INT(nfield(doc, "none"), 1);
        CHECK_INT(nfield(doc, "conf_version"), c->version);
        {
                const cJSON *e = file_entry(doc, "/run/a.pid");
                CHECK_STR(sfield(e, "state"), "placed");
                CHECK_STR(sfield(e, "rule"), "test_cgroup_a");
                CHECK_STR(sfield(e, "reason"), "3 processes in place");
                CHECK_INT(nfield(e, "pid"), 42);
                CHECK_INT(nfield(e, "last_move") > 1e9, 1);
                CHECK_STR(sfield(e ? cJSON_GetObjectItem(e, "move") : NULL, "to"),
                          "/cg/test_cgroup_a");
                e = file_entry(doc, "/home/u/b.pid");
                CHECK_STR(sfield(e, "reason_key"), "owner");
                CHECK_STR(sfield(e, "reason"), "the pid file is owned by uid 1000, which is "
                                               "neither root nor the process's owner (uid 0)");
                CHECK_INT(nfield(e, "file_uid"), 1000);
                CHECK(cJSON_IsNull(cJSON_GetObjectItem(e, "last_move")));
                e = file_entry(doc, "/home/\xef\xbf\xbd\"q/b.pid"); /* bad UTF-8: U+FFFD */
                CHECK_STR(sfield(e, "state"), "stale");
                e = file_entry(doc, "/home/w/b.pid");
                CHECK_STR(sfield(e, "reason"), "no tree of the applied conf holds 'nowhere'");
                CHECK_STR(sfield(e, "state"), "pending");
                e = file_entry(doc, "/home/x/b.pid");
                CHECK_STR(sfield(e, "reason"), "the pid file does not exist");
                e = file_entry(doc, "/home/y/b.pid");
                CHECK_STR(sfield(e, "reason_key"), "budget");
                CHECK_STR(sfield(e, "reason"), "not read: more than 64 pid files of uid 65534 "
                                               "were refused since the last full pass ([taskd] "
                                               "max_refusals), which reads it again");
        }
        {
                const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "rules"), 1);
                CHECK_STR(sfield(r, "state"), "no_target");
                r = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "patterns"), 1);
                CHECK_STR(sfield(r, "pattern"), "/home/*/b.pid");
                CHECK_INT(nfield(r, "files"), 5);
        }
        cJSON_Delete(doc);

        /* over TASKD_PLACEMENTS_MAX: listed up to it, counted all */
        for (int i = 0; i < TASKD_PLACEMENTS_MAX + 50; i++) {
                char p[64];
                snprintf(p, sizeof(p), "/home/f%d/b.pid", i);
                add_file(&d, p, 1, 1, TASKD_FSTATE_REFUSED, TASKD_WHY_OWNER, 7);
        }
        CHECK_INT(taskd_placements_format(&d, 1, &b), 0);
        doc = cJSON_Parse(strbuf_text(&b));
        CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "files")), TASKD_PLACEMENTS_MAX);
        CHECK_INT(nfield(doc, "total"), TASKD_PLACEMENTS_MAX + 56);
        CHECK_INT(nfield(doc, "omitted"), 56);
        CHECK(file_entry(doc, "/run/a.pid") != NULL); /* its pattern's share is kept */
        CHECK(file_entry(doc, "/home/w/b.pid") != NULL); /* pending first */
        cJSON_Delete(doc);

        while (taskd_map_next(&d.files, &it, &v)) {
                struct taskd_file *x = v;
                free(x->path);
                taskd_file_record_done(x);
                free(x);
        }
        taskd_map_clear(&d.files);
        taskd_rules_clear(&d.rules);
        strbuf_done(&b);
        d.conf = NULL;
}

int main(void) {
        RUN(test_rules_build);
        RUN(test_rules_conf_change);
        RUN(test_pattern_split);
        RUN(test_pattern_matches);
        RUN(test_judge);
        RUN(test_judge_owner);
        RUN(test_user_parse_uid);
        RUN(test_rules_keep_user);
        RUN(test_warn_once);
        RUN(test_status);
        RUN(test_map_str);
        RUN(test_map_int);
        RUN(test_siphash);
        RUN(test_cap);
        RUN(test_coalesce);
        RUN(test_dir_match);
        RUN(test_pattern_ids);
        RUN(test_placements_quota);
        RUN(test_placements_format);
        return TAP_END();
}
