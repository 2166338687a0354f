/* test-fuzz-regressions.c — replays the inputs in tests/fixtures/fuzz-regressions/ (saved
 * from fuzz targets that once crashed or broke an invariant on them) and checks the outcome
 * each must have now. Every file there needs an entry here, and every entry its file. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "tap.h"
#include "util.h"
#include "zk.h"

static const char *dir(void) {
        static char *d;
        const char *top = getenv("CGARCH_TOP");

        if (!d && xasprintf(&d, "%s/tests/fixtures/fuzz-regressions", top ? top : ".") < 0)
                return NULL;
        return d;
}

/* The saved input (size bytes, plus a NUL after it so its strings end), or NULL. */
static char *load(const char *name, size_t *size) {
        _cleanup_free_ char *path = NULL;
        char *text = NULL;

        if (xasprintf(&path, "%s/%s", dir(), name) < 0)
                return NULL;
        if (read_full_file(path, &text, size) < 0)
                printf("# cannot read %s\n", path);
        return text;
}

/* fuzz-proc: byte 0 is `max`, the rest the datagram (in an aligned buffer, as from recv()). */
static void proc_events_misaligned(const char *data, size_t size) {
        struct proc_event_info ev[8];
        size_t n = 0;
        void *buf = malloc(size);

        CHECK(buf != NULL && size > 1);
        if (!buf || size < 2)
                return;
        memcpy(buf, data + 1, size - 1);
        CHECK_INT(proc_events_parse(buf, size - 1, ev, (unsigned char) data[0] % 9, &n), 0);
        CHECK_INT(n, 2);
        if (n == 2) {
                CHECK_INT(ev[0].type, PROC_EV_FORK);
                CHECK_INT(ev[0].pid, 200); /* 100 forks 200, then 200 exits */
                CHECK_INT(ev[0].tgid, 200);
                CHECK_INT(ev[0].parent_pid, 100);
                CHECK_INT(ev[0].parent_tgid, 100);
                CHECK_INT(ev[1].type, PROC_EV_EXIT);
                CHECK_INT(ev[1].pid, 200);
                CHECK_INT(ev[1].tgid, 200);
        }
        free(buf);
}

/* fuzz-zk: the first string (up to the NUL) as the hosts. */
static void zk_hosts_chroot_only(const char *data, size_t size) {
        (void) size;
        CHECK_STR(data, "/cgrouparch/prod");
        CHECK_INT(zk_hosts_check(data), -EINVAL);
        CHECK_INT(zk_hosts_check("127.0.0.1:2181/cgrouparch/prod"), 0);
}

/* fuzz-zk: prefix NUL name. */
static void zk_join_control_char(const char *data, size_t size) {
        const char *name = data + strlen(data) + 1;
        char *p = NULL;

        CHECK((size_t) (name - data) < size);
        CHECK_INT(zk_path_join(data, name, &p), -EINVAL);
        CHECK(p == NULL);
        free(p);
}

static const struct {
        const char *file;
        void (*check)(const char *data, size_t size);
} cases[] = {
        {"proc-events-misaligned.bin", proc_events_misaligned},
        {"zk-hosts-chroot-only.bin", zk_hosts_chroot_only},
        {"zk-join-control-char.bin", zk_join_control_char},
};

static void test_replay(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t size = 0;
                char *data = load(cases[i].file, &size);

                printf("# replaying %s (%zu bytes)\n", cases[i].file, size);
                CHECK(data != NULL);
                if (data)
                        cases[i].check(data, size);
                free(data);
        }
}

static void test_every_file_has_a_case(void) {
        DIR *d = opendir(dir());
        struct dirent *de;

        CHECK(d != NULL);
        if (!d)
                return;
        while ((de = readdir(d))) {
                bool known = false;

                if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                        known = known || strcmp(cases[i].file, de->d_name) == 0;
                if (!known)
                        printf("#   %s has no expected outcome in %s\n", de->d_name, __FILE__);
                CHECK(known);
        }
        closedir(d);
}

int main(void) {
        RUN(test_replay);
        RUN(test_every_file_has_a_case);
        return TAP_END();
}
