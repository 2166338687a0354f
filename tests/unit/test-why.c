/* test-why.c — `cgarch why`'s explanation (cgarch/why.c) on made-up processes and records:
 * each verdict, the nearest named ancestor deciding, pid 1's refusal not explaining its
 * descendants, the systemd slice comparison, a record that leaves files out, and the /proc
 * parsers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "why.h"

/* A tiny process table: pid, ppid, comm, /proc/<pid>/cgroup text. */
struct fake {
        pid_t pid, ppid;
        const char *cgroup;
};
static const struct fake *procs;
static size_t n_procs;

static int lookup(void *userdata, pid_t pid, struct why_proc *ret) {
        (void) userdata;
        for (size_t i = 0; i < n_procs; i++)
                if (procs[i].pid == pid) {
                        *ret = (struct why_proc){.pid = pid, .ppid = procs[i].ppid};
                        snprintf(ret->comm, sizeof(ret->comm), "p%d", (int) pid);
                        ret->cgroup = procs[i].cgroup ? strdup(procs[i].cgroup) : NULL;
                        return 0;
                }
        return -ESRCH;
}

#define IN_A "5:cpu:/cg/a\n4:cpuacct:/cg/a\n3:blkio:/cg/a\n1:name=systemd:/x\n0::/x\n"
#define IN_ROOT "5:cpu:/\n4:cpuacct:/\n3:blkio:/\n0::/\n"

static const struct fake table[] = {
        {1, 0, IN_ROOT},   {100, 1, IN_ROOT}, {200, 100, IN_A}, {201, 200, IN_A},
        {202, 201, IN_A},  {203, 201, IN_ROOT}, {300, 1, IN_ROOT}, {400, 1, IN_ROOT},
        {500, 1, IN_ROOT}, {501, 500, IN_A},
};

static const char *const record =
        "{\"version\": 1, \"writer\": \"cg-taskd\", \"pid\": 9, \"mode\": \"cgroup\", "
        "\"interval\": 30, \"updated\": 1700000000.5, \"total\": 6, \"omitted\": 0,"
        "\"rules\": [{\"name\": \"a\", \"targets\": [{\"subsys\": \"cpu\", \"path\": \"a\", "
        "  \"cgroups\": [\"cpu:/cg/a\", \"cpuacct:/cg/a\"]}, {\"subsys\": \"blkio\", "
        "  \"path\": \"a\", \"cgroups\": [\"blkio:/cg/a\"]}]},"
        " {\"name\": \"b\", \"targets\": []}],"
        "\"patterns\": [],"
        "\"files\": ["
        " {\"path\": \"/run/a.pid\", \"rule\": \"a\", \"pid\": 200, \"state\": \"placed\", "
        "  \"reason\": \"4 processes in place\", \"move\": {\"time\": 1700000000.25, \"pid\": 200, "
        "  \"processes\": 4, \"from\": \"/\", \"to\": \"/cg/a\"}, \"last_move\": 1700000000},"
        " {\"path\": \"/u/x.pid\", \"rule\": \"b\", \"pid\": 201, \"state\": \"refused\", "
        "  \"reason_key\": \"owner\", \"reason\": \"owned by uid 65534\"},"
        " {\"path\": \"/u/y.pid\", \"rule\": \"b\", \"pid\": 300, \"state\": \"refused\", "
        "  \"reason_key\": \"owner\", \"reason\": \"owned by uid 65534\"},"
        " {\"path\": \"/run/s.pid\", \"rule\": \"a\", \"pid\": 400, \"state\": \"stale\", "
        "  \"reason_key\": \"stale\", \"reason\": \"stale pid file\"},"
        " {\"path\": \"/run/i.pid\", \"rule\": \"a\", \"pid\": 1, \"state\": \"refused\", "
        "  \"reason_key\": \"init\", \"reason\": \"pid 1 is never moved\"},"
        " {\"path\": \"/run/p.pid\", \"rule\": \"b\", \"pid\": 500, \"state\": \"pending\", "
        "  \"reason_key\": \"no_target\", \"reason\": \"no tree holds 'b'\"}"
        "]}";

static cJSON *state;

static int explain(pid_t pid, struct why_result *r) {
        procs = table;
        n_procs = sizeof(table) / sizeof(table[0]);
        return why_explain(state, pid, lookup, NULL, r);
}

static void test_placed_through_descendant(void) {
        struct why_result r = {};

        CHECK_INT(explain(202, &r), 0);
        CHECK_INT(r.verdict, WHY_PLACED);
        CHECK_INT(why_exit_status(r.verdict), 0);
        CHECK_INT(r.n_chain, 3);
        CHECK(r.n_chain == 3 && r.chain[0] == 202 && r.chain[1] == 201 && r.chain[2] == 200);
        CHECK_STR(why_jstr(r.file, "path"), "/run/a.pid");
        CHECK_INT(r.n_cgroups, 3);
        for (size_t i = 0; i < r.n_cgroups; i++)
                CHECK(r.cgroups[i].ok);
        CHECK_STR(r.cgroups[0].hierarchy, "cpu");
        CHECK_STR(r.cgroups[2].expected, "/cg/a");
        /* 201 is named by a refused file below the placed ancestor: a note, not the verdict */
        CHECK_INT(r.n_refusals, 1);
        CHECK(r.reason && strstr(r.reason, "its ancestor 200"));
        {
                char *js = why_result_json(&r, state);
                cJSON *j = js ? cJSON_Parse(js) : NULL;
                CHECK(j != NULL);
                CHECK_STR(why_jstr(j, "verdict"), "placed");
                CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "in_place")));
                CHECK_INT(why_jnum(cJSON_GetObjectItem(j, "last_move"), "processes"), 4);
                CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "chain")), 3);
                cJSON_Delete(j);
                free(js);
        }
        why_result_done(&r);
}

static void test_out_of_place(void) {
        struct why_result r = {};

        CHECK_INT(explain(203, &r), 0);
        CHECK_INT(r.verdict, WHY_OUT_OF_PLACE);
        CHECK_INT(why_exit_status(r.verdict), 1);
        CHECK(r.n_cgroups == 3 && !r.cgroups[0].ok);
        CHECK_STR(r.n_cgroups ? r.cgroups[0].current : NULL, "/");
        CHECK(r.reason && strstr(r.reason, "every 30 s"));
        why_result_done(&r);
}

static void test_refused_and_stale(void) {
        struct why_result r = {};

        CHECK_INT(explain(300, &r), 0);
        CHECK_INT(r.verdict, WHY_REFUSED);
        CHECK_INT(why_exit_status(r.verdict), 1);
        CHECK(r.reason && strstr(r.reason, "/u/y.pid") && strstr(r.reason, "owned by uid 65534"));
        CHECK_INT(r.n_chain, 1);
        why_result_done(&r);

        CHECK_INT(explain(400, &r), 0);
        CHECK_INT(r.verdict, WHY_STALE);
        CHECK_INT(why_exit_status(r.verdict), 1);
        why_result_done(&r);

        CHECK_INT(explain(1, &r), 0);
        CHECK_INT(r.verdict, WHY_REFUSED);
        CHECK(r.reason && strstr(r.reason, "pid 1 is never moved"));
        why_result_done(&r);
}

static void test_pending(void) {
        struct why_result r = {};

        /* 501 lies in /cg/a but rule b has no targets: pending with the file's reason */
        CHECK_INT(explain(501, &r), 0);
        CHECK_INT(r.verdict, WHY_PENDING);
        CHECK(r.reason && strstr(r.reason, "no tree holds 'b'"));
        CHECK_INT(r.n_chain, 2);
        why_result_done(&r);
}

static void test_unmanaged(void) {
        struct why_result r = {};

        /* 100's only named ancestor is pid 1, whose refusal explains nothing about it */
        CHECK_INT(explain(100, &r), 0);
        CHECK_INT(r.verdict, WHY_UNMANAGED);
        CHECK_INT(why_exit_status(r.verdict), 1);
        CHECK(r.file == NULL);
        CHECK_INT(r.n_refusals, 1);
        CHECK_INT(r.n_chain, 2);
        why_result_done(&r);

        CHECK_INT(explain(12345, &r), -ESRCH);
}

static void test_omitted(void) {
        struct why_result r = {};
        cJSON *saved = state;

        state = cJSON_Duplicate(saved, true);
        cJSON_ReplaceItemInObject(state, "omitted", cJSON_CreateNumber(3));
        CHECK_INT(explain(100, &r), 0);
        CHECK_INT(r.verdict, WHY_UNKNOWN);
        CHECK_INT(why_exit_status(r.verdict), 2);
        CHECK(r.reason && strstr(r.reason, "only 3 of its 6"));
        why_result_done(&r);
        cJSON_Delete(state);
        /* a pattern at its max_files cap: files past it are not read, and why says so */
        state = cJSON_Duplicate(saved, true);
        cJSON_ReplaceItemInObject(state, "patterns",
                                  cJSON_Parse("[{\"pattern\": \"/run/w-*.pid\", \"full\": true}]"));
        CHECK_INT(explain(100, &r), 0);
        CHECK_INT(r.verdict, WHY_UNMANAGED);
        CHECK(r.reason && strstr(r.reason, "pattern /run/w-*.pid is at its max_files cap"));
        why_result_done(&r);
        cJSON_Delete(state);
        state = saved;
}

static void test_systemd(void) {
        static const struct fake sd[] = {
                {1, 0, "0::/init.scope\n"},
                {70, 1, "0::/user.slice/m/cgrouparch.slice/cgrouparch-a.slice/demo.service\n"},
                {71, 1, "0::/user.slice/m/app.slice/demo2.service\n"},
        };
        cJSON *s = cJSON_Parse(
                "{\"mode\": \"systemd\", \"rules\": [{\"name\": \"a\", \"slice\": "
                "\"cgrouparch-a.slice\", \"targets\": []}, {\"name\": \"c\", \"slice\": "
                "\"cgrouparch-c.slice\"}], \"files\": [{\"path\": \"/p/a\", \"rule\": \"a\", "
                "\"pid\": 70, \"state\": \"placed\"}, {\"path\": \"/p/c\", \"rule\": \"c\", "
                "\"pid\": 71, \"state\": \"pending\", \"reason_key\": \"restart\", \"reason\": "
                "\"demo2.service: the service moves at its next restart\"}]}");
        struct why_result r = {};

        procs = sd;
        n_procs = 3;
        CHECK_INT(why_explain(s, 70, lookup, NULL, &r), 0);
        CHECK_INT(r.verdict, WHY_PLACED);
        CHECK(r.n_cgroups == 1 && r.cgroups[0].ok);
        CHECK_STR(r.n_cgroups ? r.cgroups[0].hierarchy : NULL, "slice");
        why_result_done(&r);
        CHECK_INT(why_explain(s, 71, lookup, NULL, &r), 0);
        CHECK_INT(r.verdict, WHY_PENDING);
        CHECK_STR(r.n_cgroups ? r.cgroups[0].current : NULL, "app.slice");
        CHECK(r.reason && strstr(r.reason, "next restart"));
        why_result_done(&r);
        cJSON_Delete(s);
}

static void test_bad_record(void) {
        cJSON *s = cJSON_Parse("{\"files\": {}}");
        struct why_result r = {};

        procs = table;
        n_procs = 1;
        CHECK_INT(why_explain(s, 1, lookup, NULL, &r), -EINVAL);
        cJSON_Delete(s);
        /* fields of the wrong type read as absent */
        s = cJSON_Parse("{\"rules\": [], \"files\": [{\"pid\": \"1\", \"state\": 7}]}");
        CHECK_INT(why_explain(s, 1, lookup, NULL, &r), 0);
        CHECK_INT(r.verdict, WHY_UNMANAGED);
        why_result_done(&r);
        cJSON_Delete(s);
}

static void test_stat_parse(void) {
        struct why_proc p;

        CHECK_INT(why_stat_parse("42 (a b) c) S 7 42 42 0 -1 4194560 1 0 0 0", &p), 0);
        CHECK_INT(p.pid, 42);
        CHECK_INT(p.ppid, 7);
        CHECK_STR(p.comm, "a b) c");
        CHECK(!p.kthread);
        CHECK_INT(why_stat_parse("9 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0", &p), 0);
        CHECK(p.kthread);
        CHECK_INT(why_stat_parse("garbage", &p), -EINVAL);
        CHECK_INT(why_stat_parse("0 (x) S 1 0 0 0 -1 0", &p), -EINVAL);
}

static void test_slice_of(void) {
        char *s;

        CHECK_STR(s = why_slice_of("/a.slice/b.slice/x.service"), "b.slice");
        free(s);
        CHECK_STR(s = why_slice_of("/user.slice/user-0.slice/session-1.scope"), "user-0.slice");
        free(s);
        CHECK(why_slice_of("/init.scope") == NULL);
        CHECK(why_slice_of("/") == NULL);
        CHECK(why_slice_of("/.slice") == NULL);
}

int main(void) {
        state = cJSON_Parse(record);
        if (!state) {
                printf("not ok 1 - the test record parses\n");
                return 1;
        }
        RUN(test_placed_through_descendant);
        RUN(test_out_of_place);
        RUN(test_refused_and_stale);
        RUN(test_pending);
        RUN(test_unmanaged);
        RUN(test_omitted);
        RUN(test_systemd);
        RUN(test_bad_record);
        RUN(test_stat_parse);
        RUN(test_slice_of);
        cJSON_Delete(state);
        return TAP_END();
}
