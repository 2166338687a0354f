/* test-api.c — the public C API (include/cgrouparch.h): cgexec arguments over conf text. Uses
 * only the public header, as an outside program would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgrouparch.h"
#include "tap.h"

#define SEED                                                                                       \
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "          \
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": " \
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "        \
        "{\"conf\": {\"weight\": 500}}}}}"

static void test_seed_names(void) {
        const char *names[] = {"test_cgroup_a", "test_cgroup_b_sub1", "test_cgroup_b", "nope"};
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, 4, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_a\": \"-g cpu:test_cgroup_a -g blkio:test_cgroup_a\", "
                       "\"test_cgroup_b_sub1\": \"-g cpu:test_cgroup_b/test_cgroup_b_sub1\", "
                       "\"test_cgroup_b\": \"-g cpu:test_cgroup_b\", \"nope\": \"\"}");
        free(out);
}

static void test_root(void) {
        const char *names[] = {"test_cgroup_b_sub1"};
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, "cgrouparch", names, 1, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_b_sub1\": "
                       "\"-g cpu:cgrouparch/test_cgroup_b/test_cgroup_b_sub1\"}");
        free(out);
        out = NULL;
        CHECK_INT(cgarch_cgexec_arg(SEED, "", names, 1, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_b_sub1\": \"-g cpu:test_cgroup_b/test_cgroup_b_sub1\"}");
        free(out);
}

static void test_snapshot_text(void) {
        const char *snap = "{\"version\": 9, \"value\": " SEED "}";
        const char *names[] = {"test_cgroup_a"};
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(snap, NULL, names, 1, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_a\": \"-g cpu:test_cgroup_a -g blkio:test_cgroup_a\"}");
        free(out);
}

static void test_no_names_and_duplicates(void) {
        const char *names[] = {"test_cgroup_a", "test_cgroup_a"};
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, NULL, 0, &out), 0);
        CHECK_STR(out, "{}");
        free(out);
        out = NULL;
        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, 2, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_a\": \"-g cpu:test_cgroup_a -g blkio:test_cgroup_a\"}");
        free(out);
}

static void test_odd_names_are_escaped(void) {
        /* Names not in the conf (even ones no conf could hold) map to "" in valid JSON. */
        const char *names[] = {"a\"b", "x\n"};
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, 2, &out), 0);
        CHECK_STR(out, "{\"a\\\"b\": \"\", \"x\\n\": \"\"}");
        free(out);
}

static void test_invalid(void) {
        const char *names[] = {"a"};
        char *out = (char *) 0x1;

        CHECK_INT(cgarch_cgexec_arg("{\"cpu\": {\"sub_cgroup\": {\"a/b\": {}}}}", NULL, names, 1,
                                    &out),
                  -EINVAL);
        CHECK_INT(cgarch_cgexec_arg("not json", NULL, names, 1, &out), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg(NULL, NULL, names, 1, &out), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, -1, &out), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, NULL, 1, &out), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, 1, NULL), -EINVAL);
        {
                const char *with_null[] = {"a", NULL};
                CHECK_INT(cgarch_cgexec_arg(SEED, NULL, with_null, 2, &out), -EINVAL);
        }
        CHECK(out == (char *) 0x1); /* untouched on failure */
}

static void test_one(void) {
        char *s = NULL;

        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "test_cgroup_b_sub1", &s), 0);
        CHECK_STR(s, "-g cpu:test_cgroup_b/test_cgroup_b_sub1");
        free(s);
        s = NULL;
        CHECK_INT(cgarch_cgexec_arg_one(SEED, "/r/", "test_cgroup_a", &s), 0);
        CHECK_STR(s, "-g cpu:r/test_cgroup_a -g blkio:r/test_cgroup_a");
        free(s);
        s = NULL;
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "nope", &s), -ENOENT);
        CHECK(s == NULL);
        CHECK_INT(cgarch_cgexec_arg_one("[", NULL, "a", &s), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, NULL, &s), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "a", NULL), -EINVAL);
}

int main(void) {
        RUN(test_seed_names);
        RUN(test_root);
        RUN(test_snapshot_text);
        RUN(test_no_names_and_duplicates);
        RUN(test_odd_names_are_escaped);
        RUN(test_invalid);
        RUN(test_one);
        return TAP_END();
}
