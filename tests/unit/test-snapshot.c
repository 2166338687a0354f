/* test-snapshot.c — the applied snapshot: atomic write, read/parse, and the inotify watch. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapshot.h"
#include "tap.h"
#include "util.h"

#define SEED                                                                                       \
        "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": 1024}}, "          \
        "\"test_cgroup_b\": {\"conf\": {\"share\": 100}, \"sub_cgroup\": {\"test_cgroup_b_sub1\": " \
        "{\"conf\": {\"share\": 200}}}}}}, \"blkio\": {\"sub_cgroup\": {\"test_cgroup_a\": "        \
        "{\"conf\": {\"weight\": 500}}}}}"

static char tmpdir[] = "/tmp/cgarch-test-snapshot-XXXXXX";

static char *tpath(const char *rel) {
        char *p = NULL;
        if (xasprintf(&p, "%s/%s", tmpdir, rel) < 0)
                abort();
        return p;
}

static struct conf *seed_conf(int64_t version) {
        struct conf *c = NULL;
        if (conf_parse(SEED, strlen(SEED), &c, NULL) < 0)
                abort();
        c->version = version;
        return c;
}

/* Names in dir other than "." and "..", for checking that no temp file is left behind. */
static int count_entries(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        char buf[64] = "";
        FILE *f;

        if (xasprintf(&cmd, "ls -A '%s' | wc -l", dir) < 0)
                return -1;
        f = popen(cmd, "r");
        if (!f)
                return -1;
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        pclose(f);
        return atoi(buf);
}

static void test_write_read(void) {
        _cleanup_free_ char *dir = tpath("wr"), *path = tpath("wr/arch_conf.json"), *text = NULL;
        _cleanup_(conf_freep) struct conf *c = seed_conf(7), *back = NULL;
        _cleanup_free_ char *j1 = NULL, *j2 = NULL, *want = NULL;
        struct stat st;

        CHECK_INT(mkdir(dir, 0755), 0);
        CHECK_INT(snapshot_write(path, c), 0);
        CHECK_INT(read_full_file(path, &text, NULL), 0);
        CHECK_INT(conf_to_json(c, &j1), 0);
        CHECK(xasprintf(&want, "{\"version\":7,\"value\":%s}\n", j1) >= 0);
        CHECK_STR(text, want);
        CHECK_INT(stat(path, &st), 0);
        CHECK_INT(st.st_mode & 0777, 0644);
        CHECK_INT(count_entries(dir), 1); /* no temp file left */

        CHECK_INT(snapshot_read(path, &back, NULL), 0);
        if (!back)
                return;
        CHECK_INT(back->version, 7);
        CHECK_INT(back->n_nodes, 4);
        CHECK_INT(conf_to_json(back, &j2), 0);
        CHECK_STR(j2, j1);
}

static void test_write_replaces(void) {
        _cleanup_free_ char *path = tpath("arch_conf_replace.json");
        _cleanup_(conf_freep) struct conf *c = seed_conf(1), *back = NULL, *empty = NULL;

        CHECK_INT(snapshot_write(path, c), 0);
        CHECK_INT(conf_parse("{\"cpu\": {}}", 11, &empty, NULL), 0);
        if (!empty)
                return;
        empty->version = 2;
        CHECK_INT(snapshot_write(path, empty), 0);
        CHECK_INT(snapshot_read(path, &back, NULL), 0);
        CHECK(back && back->version == 2 && back->n_nodes == 0 && back->roots[CONF_CPU] &&
              !back->roots[CONF_BLKIO]);
}

static void test_write_errors(void) {
        _cleanup_(conf_freep) struct conf *c = seed_conf(1);
        _cleanup_free_ char *nodir = tpath("no/such/dir/arch_conf.json");

        CHECK_INT(snapshot_write(nodir, c), -ENOENT); /* creates nothing else */
        CHECK_INT(snapshot_write("", c), -EINVAL);
        CHECK_INT(snapshot_write(nodir, NULL), -EINVAL);
}

static void test_read_missing(void) {
        _cleanup_free_ char *path = tpath("none.json");
        struct conf *c = NULL;

        CHECK_INT(snapshot_read(path, &c, NULL), -ENOENT);
        CHECK(c == NULL);
}

static void expect_bad(const char *text, const char *want) {
        struct conf_errors e = {};
        struct conf *c = NULL;
        _cleanup_free_ char *s = NULL;

        CHECK_INT(snapshot_parse(text, strlen(text), &c, &e), -EINVAL);
        CHECK(c == NULL);
        CHECK_INT(conf_errors_format(&e, -1, &s), 0);
        if (!s || !strstr(s, want))
                printf("#   %s\n#   want \"%s\", got \"%s\"\n", text, want, s ? s : "");
        CHECK(s && strstr(s, want));
        conf_errors_clear(&e);
}

static void test_parse(void) {
        _cleanup_(conf_freep) struct conf *c = NULL, *d = NULL;
        const char *ok = "{\"version\": 12, \"value\": " SEED "}";
        const char *order = "{\"value\": {}, \"version\": 0}";

        CHECK_INT(snapshot_parse(ok, strlen(ok), &c, NULL), 0);
        CHECK(c && c->version == 12 && c->n_nodes == 4);
        CHECK_INT(snapshot_parse(order, strlen(order), &d, NULL), 0);
        CHECK(d && d->version == 0);

        expect_bad("", "not valid JSON: the text is empty");
        expect_bad("{\"version\": 1, \"value\": {}", "not valid JSON");
        expect_bad("[]", "the snapshot must be a JSON object, not an array");
        expect_bad("{\"value\": {}}", "the snapshot has no \"version\"");
        expect_bad("{\"version\": 3}", "the snapshot has no \"value\"");
        expect_bad("{\"version\": \"3\", \"value\": {}}", "version: must be an integer, not a string");
        expect_bad("{\"version\": 3.5, \"value\": {}}", "version: 3.5 is not an integer");
        expect_bad("{\"version\": -2, \"value\": {}}", "version: -2 out of range -1..");
        expect_bad("{\"version\": 99999999999999999999, \"value\": {}}",
                   "version: 99999999999999999999 out of range -1..");
        expect_bad("{\"version\": 1, \"version\": 2, \"value\": {}}", "version: duplicate key");
        expect_bad("{\"version\": 1, \"value\": {}, \"value\": {}}", "value: duplicate key");
        expect_bad("{\"version\": 1, \"value\": {}, \"extra\": 1}",
                   "extra: unknown key (allowed: version, value)");
        expect_bad("{\"version\": 1, \"value\": []}", "the conf must be a JSON object, not an array");
        /* the conf inside is validated like any conf; paths are the conf's own */
        expect_bad("{\"version\": 1, \"value\": {\"cpu\": {\"sub_cgroup\": {\"a/b\": {}}}}}",
                   "cpu.sub_cgroup.a/b: invalid cgroup name");
        /* a bare conf is not a snapshot */
        expect_bad(SEED, "cpu: unknown key (allowed: version, value)");
}

static void test_parse_any(void) {
        _cleanup_(conf_freep) struct conf *a = NULL, *b = NULL;
        const char *snap = "{\"version\": 5, \"value\": " SEED "}";

        CHECK_INT(conf_parse_text(SEED, strlen(SEED), CONF_TEXT_ANY, &a, NULL), 0);
        CHECK(a && a->version == -1 && a->n_nodes == 4);
        CHECK_INT(conf_parse_text(snap, strlen(snap), CONF_TEXT_ANY, &b, NULL), 0);
        CHECK(b && b->version == 5 && b->n_nodes == 4);
        /* a conf parse of a snapshot names the two unknown subsystems */
        {
                struct conf *c = NULL;
                struct conf_errors e = {};
                CHECK_INT(conf_parse(snap, strlen(snap), &c, &e), -EINVAL);
                CHECK_INT(e.n, 2);
                if (e.n == 2)
                        CHECK_STR(e.v[0].path, "version");
                conf_errors_clear(&e);
        }
}

static void test_read_bad_file(void) {
        _cleanup_free_ char *path = tpath("bad.json");
        struct conf_errors e = {};
        struct conf *c = NULL;
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0);
        CHECK_INT(write(fd, "{\"version\": 1, \"val", 19), 19); /* half a file */
        close(fd);
        CHECK_INT(snapshot_read(path, &c, &e), -EINVAL);
        CHECK(e.n >= 1);
        conf_errors_clear(&e);
}

/* Waits up to ms for the watch fd to be readable; 1 if it is. */
static int wait_readable(struct snapshot_watch *w, int ms) {
        struct pollfd pfd = {.fd = snapshot_watch_fd(w), .events = POLLIN};
        return poll(&pfd, 1, ms) > 0 && (pfd.revents & POLLIN);
}

static void test_watch(void) {
        _cleanup_free_ char *dir = tpath("run/deeper/cgrouparch");
        _cleanup_free_ char *path = tpath("run/deeper/cgrouparch/arch_conf.json");
        _cleanup_free_ char *other = tpath("run/deeper/cgrouparch/other.json");
        _cleanup_free_ char *moved = tpath("run/deeper/cgrouparch/arch_conf.json.new");
        _cleanup_(snapshot_watch_freep) struct snapshot_watch *w = NULL;
        _cleanup_(conf_freep) struct conf *c = seed_conf(3);
        struct stat st;
        int fd;

        CHECK_INT(snapshot_watch_new(path, &w), 0);
        if (!w)
                return;
        CHECK(snapshot_watch_fd(w) >= 0);
        CHECK_INT(stat(dir, &st), 0); /* created, with its parents */
        CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755);
        CHECK_INT(snapshot_watch_drain(w), 0); /* nothing yet, does not block */

        /* the atomic write: one change, seen at once */
        CHECK_INT(snapshot_write(path, c), 0);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);
        CHECK_INT(snapshot_watch_drain(w), 0);

        /* another file in the directory is not a change */
        fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0);
        CHECK_INT(write(fd, "x", 1), 1);
        close(fd);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 0);

        /* a plain rewrite in place (close-write) */
        fd = open(path, O_WRONLY | O_TRUNC);
        CHECK(fd >= 0);
        CHECK_INT(write(fd, "{}", 2), 2);
        close(fd);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);

        /* moved away, moved back in, deleted */
        CHECK_INT(rename(path, moved), 0);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);
        CHECK_INT(rename(moved, path), 0);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);
        CHECK_INT(unlink(path), 0);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);
        (void) unlink(other);
}

static void test_watch_dir_removed(void) {
        _cleanup_free_ char *dir = tpath("gone");
        _cleanup_free_ char *path = tpath("gone/arch_conf.json");
        _cleanup_(snapshot_watch_freep) struct snapshot_watch *w = NULL;
        _cleanup_(conf_freep) struct conf *c = seed_conf(4);
        struct stat st;

        CHECK_INT(snapshot_watch_new(path, &w), 0);
        if (!w)
                return;
        CHECK_INT(rmdir(dir), 0);
        CHECK(wait_readable(w, 2000));
        /* the directory went away: reported as a change, re-created and watched again */
        CHECK_INT(snapshot_watch_drain(w), 1);
        CHECK_INT(stat(dir, &st), 0);
        CHECK_INT(snapshot_write(path, c), 0);
        CHECK(wait_readable(w, 2000));
        CHECK_INT(snapshot_watch_drain(w), 1);
}

static void test_watch_bad_args(void) {
        struct snapshot_watch *w = NULL;
        _cleanup_free_ char *file = tpath("plainfile"), *under = tpath("plainfile/arch_conf.json");
        int fd;

        CHECK_INT(snapshot_watch_new("", &w), -EINVAL);
        CHECK_INT(snapshot_watch_new("/tmp/", &w), -EINVAL);
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        close(fd);
        CHECK(snapshot_watch_new(under, &w) < 0); /* the "directory" is a file */
        CHECK(w == NULL);
        CHECK(snapshot_watch_free(NULL) == NULL);
        CHECK_INT(snapshot_watch_drain(NULL), -EINVAL);
}

static void test_atomic_under_concurrent_reads(void) {
        /* A writer child alternates two snapshots of different sizes as fast as it can; the
         * reader must never see anything but one of the two whole files. */
        _cleanup_free_ char *path = tpath("race.json");
        _cleanup_(conf_freep) struct conf *small = NULL;
        struct conf *big = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int reads = 0, bad = 0, status = 0;
        pid_t pid;

        fputs("{\"cpu\": {\"sub_cgroup\": {", f);
        for (int i = 0; i < 3000; i++)
                fprintf(f, "%s\"g%d\": {\"conf\": {\"share\": 100}}", i ? "," : "", i);
        fputs("}}}", f);
        fclose(f);
        CHECK_INT(conf_parse(buf, strlen(buf), &big, NULL), 0);
        free(buf);
        CHECK_INT(conf_parse("{\"cpu\": {}}", 11, &small, NULL), 0);
        if (!big || !small)
                return;
        big->version = 2;
        small->version = 1;
        CHECK_INT(snapshot_write(path, small), 0);

        pid = fork();
        if (pid == 0) {
                for (int i = 0; i < 300; i++)
                        if (snapshot_write(path, i % 2 ? big : small) < 0)
                                _exit(1);
                _exit(0);
        }
        conf_free(big);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
        bool done = false;
        while (!(done = waitpid(pid, &status, WNOHANG) != 0) &&
               now_usec(CLOCK_MONOTONIC) < deadline) {
                struct conf *c = NULL;
                int r = snapshot_read(path, &c, NULL);
                reads++;
                if (r < 0 || !c || (c->version != 1 && c->version != 2))
                        bad++;
                conf_free(c);
        }
        if (!done) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
        }
        printf("# %d reads during 300 writes, %d bad\n", reads, bad);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_INT(bad, 0);
        CHECK(reads > 0);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        RUN(test_write_read);
        RUN(test_write_replaces);
        RUN(test_write_errors);
        RUN(test_read_missing);
        RUN(test_parse);
        RUN(test_parse_any);
        RUN(test_read_bad_file);
        RUN(test_watch);
        RUN(test_watch_dir_removed);
        RUN(test_watch_bad_args);
        RUN(test_atomic_under_concurrent_reads);
        {
                _cleanup_free_ char *cmd = NULL;
                if (xasprintf(&cmd, "rm -rf '%s'", tmpdir) >= 0 && system(cmd) != 0)
                        printf("# could not remove %s\n", tmpdir);
        }
        return TAP_END();
}
