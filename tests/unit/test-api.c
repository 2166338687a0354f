/* test-api.c — the public C API (include/cgrouparch.h): cgexec arguments over conf text. The
 * arguments follow the host's mounts (cpuacct is named where it is a hierarchy of its own), so
 * the expected strings are built for this host; api.h's pure functions are checked on the
 * mountinfo fixtures of each layout (v1 co-mounted, hybrid, v2, a container). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cgrouparch.h"
#include "conf.h"
#include "tap.h"
#include "util.h"

#define SEED                                                                                       \
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "          \
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": " \
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "        \
        "{\"conf\": {\"weight\": 500}}}}}"

/* What the cpu tree gives on this host: "-g cpu:P", plus " -g cpuacct:P" where cpuacct is apart.
 * Owned by a small ring, so a test can use a few at once. */
static const char *cpu(const char *path) {
        static char ring[4][512];
        static unsigned k;
        char *b = ring[k++ % 4];

        if (api_cgexec_host_flags() & CONF_CGEXEC_CPUACCT)
                snprintf(b, sizeof(ring[0]), "-g cpu:%s -g cpuacct:%s", path, path);
        else
                snprintf(b, sizeof(ring[0]), "-g cpu:%s", path);
        return b;
}

static char *fixture(const char *name) {
        const char *top = getenv("CGARCH_TOP");
        char *path = NULL, *text = NULL;

        if (xasprintf(&path, "%s/tests/fixtures/mountinfo/%s", top ? top : ".", name) < 0)
                return NULL;
        if (read_full_file(path, &text, NULL) < 0)
                printf("# cannot read %s\n", path);
        free(path);
        return text;
}

static void test_flags_per_layout(void) {
        static const struct {
                const char *file;
                unsigned flags;
        } cases[] = {
                {"hybrid.txt", CONF_CGEXEC_CPUACCT}, /* cpu and cpuacct apart: name both */
                {"container.txt", CONF_CGEXEC_CPUACCT},
                {"v1.txt", 0}, /* cpu,cpuacct co-mounted: "-g cpu:" reaches both */
                {"v2.txt", 0}, /* one unified tree, no cpuacct */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *mi = fixture(cases[i].file);

                CHECK(mi);
                if (!mi)
                        continue;
                printf("# %s\n", cases[i].file);
                CHECK_INT((int) api_cgexec_flags(mi), (int) cases[i].flags);
        }
        CHECK_INT((int) api_cgexec_flags(NULL), 0);
        CHECK_INT((int) api_cgexec_flags(""), 0);
        CHECK_INT((int) api_cgexec_flags("garbage\nmore garbage"), 0);
}

static void test_layout_text(void) {
        const char *names[] = {"test_cgroup_a", "nope"};
        char *out = NULL;

        /* The seed's text where cpuacct rides with cpu... */
        CHECK_INT(api_cgexec_arg(SEED, "r", names, 2, 0, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_a\": \"-g cpu:r/test_cgroup_a -g blkio:r/test_cgroup_a\", "
                       "\"nope\": \"\"}");
        free(out);
        out = NULL;
        /* ...and both hierarchies named where they are apart. */
        CHECK_INT(api_cgexec_arg(SEED, "r", names, 2, CONF_CGEXEC_CPUACCT, &out), 0);
        CHECK_STR(out, "{\"test_cgroup_a\": \"-g cpu:r/test_cgroup_a -g cpuacct:r/test_cgroup_a "
                       "-g blkio:r/test_cgroup_a\", \"nope\": \"\"}");
        free(out);
        out = NULL;
        CHECK_INT(api_cgexec_arg_one(SEED, NULL, "test_cgroup_b_sub1", CONF_CGEXEC_CPUACCT, &out),
                  0);
        CHECK_STR(out, "-g cpu:test_cgroup_b/test_cgroup_b_sub1 "
                       "-g cpuacct:test_cgroup_b/test_cgroup_b_sub1");
        free(out);
}

static void test_public_is_host(void) {
        const char *names[] = {"test_cgroup_a", "test_cgroup_b_sub1"};
        char *pub = NULL, *host = NULL;

        printf("# this host: cpuacct %s\n",
               api_cgexec_host_flags() & CONF_CGEXEC_CPUACCT ? "apart from cpu" : "with cpu or none");
        CHECK_INT(cgarch_cgexec_arg(SEED, "r", names, 2, &pub), 0);
        CHECK_INT(api_cgexec_arg(SEED, "r", names, 2, api_cgexec_host_flags(), &host), 0);
        CHECK_STR(pub, host);
        free(pub);
        free(host);
}

static void test_seed_names(void) {
        const char *names[] = {"test_cgroup_a", "test_cgroup_b_sub1", "test_cgroup_b", "nope"};
        _cleanup_free_ char *want = NULL;
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, NULL, names, 4, &out), 0);
        CHECK(xasprintf(&want,
                        "{\"test_cgroup_a\": \"%s -g blkio:test_cgroup_a\", "
                        "\"test_cgroup_b_sub1\": \"%s\", \"test_cgroup_b\": \"%s\", \"nope\": \"\"}",
                        cpu("test_cgroup_a"), cpu("test_cgroup_b/test_cgroup_b_sub1"),
                        cpu("test_cgroup_b")) >= 0);
        CHECK_STR(out, want);
        free(out);
}

static void test_root(void) {
        const char *names[] = {"test_cgroup_b_sub1"};
        _cleanup_free_ char *want = NULL, *want2 = NULL;
        char *out = NULL;

        CHECK_INT(cgarch_cgexec_arg(SEED, "cgrouparch", names, 1, &out), 0);
        CHECK(xasprintf(&want, "{\"test_cgroup_b_sub1\": \"%s\"}",
                        cpu("cgrouparch/test_cgroup_b/test_cgroup_b_sub1")) >= 0);
        CHECK_STR(out, want);
        free(out);
        out = NULL;
        CHECK_INT(cgarch_cgexec_arg(SEED, "", names, 1, &out), 0);
        CHECK(xasprintf(&want2, "{\"test_cgroup_b_sub1\": \"%s\"}",
                        cpu("test_cgroup_b/test_cgroup_b_sub1")) >= 0);
        CHECK_STR(out, want2);
        free(out);
}

static void test_snapshot_text(void) {
        const char *snap = "{\"version\": 9, \"value\": " SEED "}";
        const char *names[] = {"test_cgroup_a"};
        char *out = NULL;

        CHECK_INT(api_cgexec_arg(snap, NULL, names, 1, 0, &out), 0);
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
        CHECK_INT(api_cgexec_arg(SEED, NULL, names, 2, 0, &out), 0);
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
        _cleanup_free_ char *want = NULL;
        char *s = NULL;

        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "test_cgroup_b_sub1", &s), 0);
        CHECK_STR(s, cpu("test_cgroup_b/test_cgroup_b_sub1"));
        free(s);
        s = NULL;
        CHECK_INT(cgarch_cgexec_arg_one(SEED, "/r/", "test_cgroup_a", &s), 0);
        CHECK(xasprintf(&want, "%s -g blkio:r/test_cgroup_a", cpu("r/test_cgroup_a")) >= 0);
        CHECK_STR(s, want);
        free(s);
        s = NULL;
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "nope", &s), -ENOENT);
        CHECK(s == NULL);
        CHECK_INT(cgarch_cgexec_arg_one("[", NULL, "a", &s), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, NULL, &s), -EINVAL);
        CHECK_INT(cgarch_cgexec_arg_one(SEED, NULL, "a", NULL), -EINVAL);
}

int main(void) {
        RUN(test_flags_per_layout);
        RUN(test_layout_text);
        RUN(test_public_is_host);
        RUN(test_seed_names);
        RUN(test_root);
        RUN(test_snapshot_text);
        RUN(test_no_names_and_duplicates);
        RUN(test_odd_names_are_escaped);
        RUN(test_invalid);
        RUN(test_one);
        return TAP_END();
}
