/* test-syncd.c — cg-syncd's pure helpers (cg-syncd/state.c, linked from
 * build/prog/libcg-syncd.a): its command line (the common options plus its own, through
 * daemon_parse_args as main.c does), backoff, log-once keys, read outcomes, STATUS=. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "syncd.h"
#include "util.h"
#include "tap.h"

/* main.c's spec, minus the --help text (never printed here) */
static const struct daemon_spec spec = {
        .name = "cg-syncd",
        .extra = syncd_options,
        .parse_extra = syncd_parse_option,
};

/* cg-syncd's command line as main.c parses it, then syncd_args_from(). */
static int parse(struct syncd_args *a, struct daemon_args *da, char **err, int argc, ...) {
        uint64_t reconcile_usec = SYNCD_RECONCILE_USEC_DEFAULT;
        char *argv[16];
        va_list ap;
        int r;

        va_start(ap, argc);
        for (int i = 0; i < argc; i++)
                argv[i] = va_arg(ap, char *);
        va_end(ap);
        argv[argc] = NULL;
        *da = (struct daemon_args) {};
        r = daemon_parse_args(argc, argv, &spec, &reconcile_usec, da, err);
        if (r >= 0)
                syncd_args_from(da, reconcile_usec, a);
        return r;
}

static void test_args(void) {
        struct syncd_args a = {};
        struct daemon_args da;
        char *err = NULL;

        CHECK_INT(parse(&a, &da, &err, 1, "cg-syncd"), 1);
        CHECK_STR(a.config_path, CFG_DEFAULT_PATH);
        CHECK_INT(a.reconcile_usec, 60 * USEC_PER_SEC);
        CHECK(!a.check && !da.help && !da.version);
        CHECK_INT(a.log_level, LOG_INFO);

        CHECK_INT(parse(&a, &da, &err, 5, "cg-syncd", "-c", "/x.conf", "--reconcile-interval",
                        "5"),
                  1);
        CHECK_STR(a.config_path, "/x.conf");
        CHECK_INT(a.reconcile_usec, 5 * USEC_PER_SEC);
        CHECK_INT(parse(&a, &da, &err, 4, "cg-syncd", "--config=/y", "--check", "-v"), 1);
        CHECK_STR(a.config_path, "/y");
        CHECK(a.check);
        CHECK_INT(a.log_level, LOG_DEBUG);
        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "--help"), 0);
        CHECK(da.help);
        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "--version"), 0);
        CHECK(da.version);
        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "-V"), 0);
        CHECK(da.version);
        CHECK(err == NULL);

        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "--bogus"), -EINVAL);
        CHECK(err && strstr(err, "--bogus"));
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "-c"), -EINVAL);
        CHECK(err && strstr(err, "needs an argument"));
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 3, "cg-syncd", "--reconcile-interval", "0"), -EINVAL);
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 3, "cg-syncd", "--reconcile-interval", "5s"), -EINVAL);
        CHECK(err && strstr(err, "5s"));
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 3, "cg-syncd", "--reconcile-interval", "-1"), -EINVAL);
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 2, "cg-syncd", "extra"), -EINVAL);
        CHECK(err && strstr(err, "extra"));
        free(err), err = NULL;
        CHECK_INT(parse(&a, &da, &err, 3, "cg-syncd", "-c", ""), -EINVAL);
        free(err), err = NULL;
}

static void test_backoff(void) {
        uint64_t b = 0;

        b = syncd_backoff_next(b);
        CHECK_INT(b, SYNCD_BACKOFF_MIN_USEC);
        b = syncd_backoff_next(b);
        CHECK_INT(b, 2 * SYNCD_BACKOFF_MIN_USEC);
        for (int i = 0; i < 100; i++)
                b = syncd_backoff_next(b);
        CHECK_INT(b, SYNCD_BACKOFF_MAX_USEC);
        CHECK_INT(syncd_backoff_next(SYNCD_BACKOFF_MAX_USEC - 1), SYNCD_BACKOFF_MAX_USEC);

        /* jitter: within [3/4 b, b], both ends reached, spread by the random value */
        CHECK_INT(syncd_backoff_jitter(400000, 0), 400000);
        CHECK_INT(syncd_backoff_jitter(400000, 100000), 300000);
        CHECK_INT(syncd_backoff_jitter(400000, 100001), 400000);
        CHECK_INT(syncd_backoff_jitter(400000, 12345), 400000 - 12345);
        CHECK_INT(syncd_backoff_jitter(0, 77), 0);
        CHECK_INT(syncd_backoff_jitter(3, 77), 3);
        {
                uint64_t lo = UINT64_MAX, hi = 0;
                for (uint64_t r = 0; r < 1000; r++) {
                        uint64_t w = syncd_backoff_jitter(SYNCD_BACKOFF_MAX_USEC, r * 7919);
                        lo = w < lo ? w : lo;
                        hi = w > hi ? w : hi;
                }
                CHECK(lo >= SYNCD_BACKOFF_MAX_USEC / 4 * 3 && hi <= SYNCD_BACKOFF_MAX_USEC);
                CHECK(hi - lo > SYNCD_BACKOFF_MAX_USEC / 8); /* spread, not one value */
        }
}

static void test_once(void) {
        struct syncd_once o = {};
        uint64_t k1 = syncd_hash("abc", 3, 1), k2 = syncd_hash("abc", 3, 2),
                 k3 = syncd_hash("abd", 3, 1);

        CHECK(k1 != k2 && k1 != k3 && k2 != k3);
        CHECK_INT(syncd_hash("abc", 3, 1), k1);
        CHECK(syncd_once(&o, SYNCD_ONCE_INVALID, k1));
        CHECK(!syncd_once(&o, SYNCD_ONCE_INVALID, k1)); /* same version + content: quiet */
        CHECK(syncd_once(&o, SYNCD_ONCE_NOAUTH, k1));   /* kinds are independent */
        CHECK(syncd_once(&o, SYNCD_ONCE_INVALID, k2));  /* new version: log */
        CHECK(syncd_once(&o, SYNCD_ONCE_INVALID, k1));  /* back to the first: log again */
        syncd_once_reset(&o, SYNCD_ONCE_INVALID);
        CHECK(syncd_once(&o, SYNCD_ONCE_INVALID, k1)); /* after recovery: log again */
}

static void test_read_action(void) {
        CHECK_INT(syncd_read_action(0), SYNCD_READ_APPLY);
        CHECK_INT(syncd_read_action(-ENOENT), SYNCD_READ_MISSING);
        CHECK_INT(syncd_read_action(-EACCES), SYNCD_READ_NOAUTH);
        CHECK_INT(syncd_read_action(-EPERM), SYNCD_READ_NOAUTH);
        CHECK_INT(syncd_read_action(-ENOTCONN), SYNCD_READ_WAIT);
        CHECK_INT(syncd_read_action(-ECONNRESET), SYNCD_READ_WAIT);
        CHECK_INT(syncd_read_action(-ECANCELED), SYNCD_READ_WAIT);
        CHECK_INT(syncd_read_action(-ETIMEDOUT), SYNCD_READ_RETRY);
        CHECK_INT(syncd_read_action(-EIO), SYNCD_READ_RETRY);
}

static void test_status(void) {
        struct syncd_status s = {
                .node_path = "/p/arch_conf",
                .source = SYNCD_SOURCE_NONE,
                .applied_version = -1,
                .zk_state = ZK_STATE_CONNECTING,
        };
        char *t = NULL;

        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Nothing applied yet; ZooKeeper unreachable, retrying");
        free(t);
        s.source = SYNCD_SOURCE_SNAPSHOT;
        s.applied_version = 4;
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied snapshot version 4; ZooKeeper unreachable, retrying");
        free(t);
        s.source = SYNCD_SOURCE_ZK;
        s.applied_version = 7;
        s.zk_state = ZK_STATE_CONNECTED;
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; watching /p/arch_conf");
        free(t);
        s.problem = "rejected version 8: cpu.sub_cgroup.a.conf.share: out of range";
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; watching /p/arch_conf; rejected version 8: "
                     "cpu.sub_cgroup.a.conf.share: out of range");
        free(t);
        s.problem = NULL;
        struct syncd_change ch = {.version = -1};
        s.change = &ch;
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; watching /p/arch_conf"); /* no change yet */
        free(t);
        ch = (struct syncd_change){.version = 6, .created = 3, .weights = 2, .removed = 1};
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; watching /p/arch_conf; last change: version 6, 3 created, "
                     "2 weights set, 1 removed");
        free(t);
        s.problem = "failed";
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; watching /p/arch_conf; failed; last change: version 6, "
                     "3 created, 2 weights set, 1 removed");
        free(t);
        s.problem = NULL;
        s.change = NULL;
        s.node_missing = true;
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK_STR(t, "Applied version 7; /p/arch_conf does not exist, waiting for it");
        free(t);
        s.zk_state = ZK_STATE_EXPIRED;
        CHECK_INT(syncd_status_format(&s, &t), 0);
        CHECK(strstr(t, "session expired"));
        free(t);
}

static void test_first_line(void) {
        char *t = NULL;

        CHECK_INT(syncd_first_line("a\nb", 100, &t), 0);
        CHECK_STR(t, "a");
        free(t);
        CHECK_INT(syncd_first_line("abcdef", 3, &t), 0);
        CHECK_STR(t, "abc");
        free(t);
        CHECK_INT(syncd_first_line("", 3, &t), 0);
        CHECK_STR(t, "");
        free(t);
}

static const struct live_entry *find(const struct live_tree *t, enum conf_subsys s,
                                     const char *path) {
        for (size_t i = 0; i < t->n[s]; i++)
                if (strcmp(t->v[s][i].path, path) == 0)
                        return &t->v[s][i];
        return NULL;
}

static void test_live_update(void) {
        struct live_tree t = {};
        struct plan_op ops[] = {
                {.type = PLAN_MKDIR, .subsys = CONF_CPU, .path = "n", .value = 0},
                {.type = PLAN_MKDIR, .subsys = CONF_CPU, .path = "n/m", .value = 0},
                {.type = PLAN_MKDIR, .subsys = CONF_CPU, .path = "half", .value = 0},
                {.type = PLAN_SET_WEIGHT, .subsys = CONF_CPU, .path = "n/m", .value = 300},
                {.type = PLAN_SET_WEIGHT, .subsys = CONF_CPU, .path = "a", .value = 512},
                {.type = PLAN_MKDIR, .subsys = CONF_BLKIO, .path = "b", .value = 0},
                {.type = PLAN_RMDIR, .subsys = CONF_CPU, .path = "old/x", .value = 0},
                {.type = PLAN_RMDIR, .subsys = CONF_CPU, .path = "old", .value = 0},
        };
        struct plan p = {.ops = ops, .n = ELEMENTSOF(ops)};
        const struct live_entry *e;

        t.present[CONF_CPU] = t.present[CONF_BLKIO] = true;
        t.weight_unavailable[CONF_BLKIO] = true;
        CHECK_INT(live_tree_add(&t, CONF_CPU, "a", 1024), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "old", 1024), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "old/x", 1024), 0);
        CHECK_INT(live_tree_add(&t, CONF_CPU, "half", -1), 0);
        t.v[CONF_CPU][3].partial = true;

        CHECK_INT(syncd_live_update(&t, &p), 0);
        CHECK_INT(t.n[CONF_CPU], 4); /* a, half, n, n/m */
        CHECK(find(&t, CONF_CPU, "old") == NULL);
        CHECK(find(&t, CONF_CPU, "old/x") == NULL);
        e = find(&t, CONF_CPU, "a");
        CHECK(e && e->weight == 512);
        e = find(&t, CONF_CPU, "n");
        CHECK(e && e->weight == 1024 && !e->partial); /* fresh: the default */
        e = find(&t, CONF_CPU, "n/m");
        CHECK(e && e->weight == 300);
        e = find(&t, CONF_CPU, "half");
        CHECK(e && !e->partial && e->weight == 1024);
        e = find(&t, CONF_BLKIO, "b");
        CHECK(e && e->weight == -1); /* no weight file: unknown */
        CHECK(t.present[CONF_CPU] && t.weight_unavailable[CONF_BLKIO]);

        /* set-weight of something not in the tree: the cache is wrong, refuse */
        {
                struct plan_op bad[] = {{.type = PLAN_SET_WEIGHT, .subsys = CONF_CPU, .path = "ghost", .value = 2}};
                struct plan pb = {.ops = bad, .n = 1};
                CHECK_INT(syncd_live_update(&t, &pb), -ENOENT);
        }
        /* v2 trees are not modelled */
        t.v2 = true;
        CHECK_INT(syncd_live_update(&t, &p), -EOPNOTSUPP);
        live_tree_clear(&t);
}

static void test_proc_cgroup(void) {
        char *p = NULL;

        CHECK_INT(syncd_proc_cgroup_v2("12:cpu:/x\n0::/system.slice/cg-syncd.service\n", &p), 0);
        CHECK_STR(p, "/system.slice/cg-syncd.service");
        free(p);
        p = NULL;
        CHECK_INT(syncd_proc_cgroup_v2("0::/", &p), 0); /* no newline at the end */
        CHECK_STR(p, "/");
        free(p);
        p = NULL;
        CHECK_INT(syncd_proc_cgroup_v2("9:name=systemd:/\n1:cpu:/\n", &p), -ENOENT); /* v1 only */
        CHECK_INT(syncd_proc_cgroup_v2("", &p), -ENOENT);
        CHECK_INT(syncd_proc_cgroup_v2("0::\n", &p), -EINVAL);
        CHECK_INT(syncd_proc_cgroup_v2("0::relative\n", &p), -EINVAL);
        CHECK_INT(syncd_proc_cgroup_v2("10::/a\n", &p), -ENOENT); /* hierarchy 10, not 0 */
        CHECK(p == NULL);
}

static void test_deleg_plan(void) {
        struct syncd_deleg d = {};
        char *err = NULL;

        /* the documented setup: root = <service>/managed, started in <service> -> move */
        CHECK_INT(syncd_deleg_plan("/system.slice/cg-syncd.service",
                                   "system.slice/cg-syncd.service/managed", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_MOVE);
        CHECK_STR(d.base, "system.slice/cg-syncd.service");
        CHECK_STR(d.leaf, "system.slice/cg-syncd.service/cg-syncd");
        syncd_deleg_clear(&d);
        CHECK(d.base == NULL && d.action == SYNCD_DELEG_NONE);
        /* deeper managed root, and already in the leaf (a SIGHUP, DelegateSubgroup=cg-syncd) */
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service/cg-syncd", "s.slice/x.service/a/b", &d,
                                   &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_IN_LEAF);
        CHECK_STR(d.base, "s.slice/x.service");
        CHECK_STR(d.leaf, "s.slice/x.service/cg-syncd");
        syncd_deleg_clear(&d);
        /* not inside our cgroup: nothing */
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "cgrouparch", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE);
        CHECK(d.base == NULL);
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "s.slice/x.service2/m", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE); /* a prefix of the name is not "inside" */
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE);
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "s.slice", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE); /* an ancestor: not a delegation to us */
        /* the root cgroup and a top-level /cg-syncd are never a delegation */
        CHECK_INT(syncd_deleg_plan("/", "cgrouparch-test-1", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE);
        CHECK_INT(syncd_deleg_plan("/cg-syncd", "cg-syncd/x", &d, &err), 0);
        CHECK_INT(d.action, SYNCD_DELEG_NONE);
        CHECK(err == NULL);
        /* the managed root is our own cgroup, or lies in our leaf: refused, with advice */
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "s.slice/x.service", &d, &err), -EINVAL);
        CHECK(err && strstr(err, "s.slice/x.service/managed"));
        free(err);
        err = NULL;
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service/cg-syncd", "s.slice/x.service", &d, &err),
                  -EINVAL);
        free(err);
        err = NULL;
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service", "s.slice/x.service/cg-syncd", &d, &err),
                  -EINVAL);
        CHECK(err && strstr(err, "leaf"));
        free(err);
        err = NULL;
        CHECK_INT(syncd_deleg_plan("/s.slice/x.service/cg-syncd", "s.slice/x.service/cg-syncd/m",
                                   &d, &err), -EINVAL);
        free(err);
        err = NULL;
        CHECK(d.base == NULL && d.leaf == NULL);
        CHECK_INT(syncd_deleg_plan("relative", "x", &d, &err), -EINVAL);
        free(err);
}

int main(void) {
        RUN(test_args);
        RUN(test_backoff);
        RUN(test_once);
        RUN(test_read_action);
        RUN(test_status);
        RUN(test_first_line);
        RUN(test_live_update);
        RUN(test_proc_cgroup);
        RUN(test_deleg_plan);
        return TAP_END();
}
