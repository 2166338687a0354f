/* test-sdunit.c — slice naming of the systemd mode (common/sdunit.c), checked against what
 * `systemd-escape` prints where that tool is installed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void) {
        RUN(slice_names);
        RUN(slice_names_refused);
        RUN(escape_like_systemd_escape);
        return TAP_END();
}
