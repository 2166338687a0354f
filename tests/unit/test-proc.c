/* test-proc.c — pid-file and /proc parsers, and the descendant walk on a fixture /proc tree
 * (children files, and the ppid-scan fallback) and on the real /proc. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"
#include "util.h"

static int parse(const char *s, pid_t *pid) {
        return proc_pidfile_parse(s, strlen(s), pid);
}

static void test_pidfile_parse(void) {
        pid_t p = -1;

        CHECK_INT(parse("123", &p), 0);
        CHECK_INT(p, 123);
        CHECK_INT(parse("4567\n", &p), 0);
        CHECK_INT(p, 4567);
        CHECK_INT(parse("1", &p), 0);
        CHECK_INT(parse("4194304", &p), 0);
        CHECK_INT(p, 4194304);
        CHECK_INT(parse("007\n", &p), 0);
        CHECK_INT(p, 7);

        p = 42;
        CHECK_INT(parse("", &p), -ENODATA);
        CHECK_INT(parse("\n", &p), -ENODATA);
        CHECK_INT(parse("0", &p), -ERANGE);
        CHECK_INT(parse("-5", &p), -ERANGE);
        CHECK_INT(parse("4194305", &p), -ERANGE);
        CHECK_INT(parse("99999999999999999999999999", &p), -ERANGE);
        CHECK_INT(parse("abc", &p), -EINVAL);
        CHECK_INT(parse("12a", &p), -EINVAL);
        CHECK_INT(parse(" 123", &p), -EINVAL);
        CHECK_INT(parse("123 ", &p), -EINVAL);
        CHECK_INT(parse("123\n\n", &p), -EINVAL);
        CHECK_INT(parse("12\n34", &p), -EINVAL);
        CHECK_INT(parse("+5", &p), -EINVAL);
        CHECK_INT(parse("-", &p), -EINVAL);
        CHECK_INT(parse("123\r\n", &p), -EINVAL);
        CHECK_INT(parse("0x10", &p), -EINVAL);
        CHECK_INT(proc_pidfile_parse("12\0"
                                     "3",
                                     4, &p),
                  -EINVAL);
        CHECK_INT(p, 42); /* untouched on failure */

        CHECK_STR(proc_pidfile_strerror(-ENODATA), "empty");
        CHECK(proc_pidfile_strerror(-ERANGE) != NULL);
        CHECK(proc_pidfile_strerror(-EINVAL) != NULL);
        CHECK(proc_pidfile_strerror(-ENOENT) == NULL);
}

static char tmpdir[] = "/tmp/test-proc.XXXXXX";

static void put(const char *rel, const char *content) {
        char path[512];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                printf("# cannot create %s\n", path);
                return;
        }
        if (write(fd, content, strlen(content)) < 0)
                printf("# cannot write %s\n", path);
        close(fd);
}

static void mkd(const char *rel) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
        (void) mkdir(path, 0755);
}

/* As cg-taskd reads one (place.c): load, then parse. */
static int proc_pidfile_read(const char *path, pid_t *ret, uint64_t *ret_mtime_usec) {
        struct proc_pidfile f;
        int r;

        r = proc_pidfile_load(path, &f);
        if (r < 0)
                return r;
        r = proc_pidfile_parse(f.data, f.len, ret);
        if (r >= 0 && ret_mtime_usec)
                *ret_mtime_usec = f.mtime_usec;
        return r;
}

static void test_pidfile_read(void) {
        char path[512];
        uint64_t mtime = 0;
        pid_t p = 0;
        char big[200];

        put("ok.pid", "321\n");
        snprintf(path, sizeof(path), "%s/ok.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, &mtime), 0);
        CHECK_INT(p, 321);
        CHECK(mtime > 0);
        CHECK(mtime <= now_usec(CLOCK_REALTIME) + USEC_PER_SEC);

        put("garbage.pid", "hello\n");
        snprintf(path, sizeof(path), "%s/garbage.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -EINVAL);
        put("empty.pid", "");
        snprintf(path, sizeof(path), "%s/empty.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -ENODATA);

        memset(big, '1', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        put("big.pid", big);
        snprintf(path, sizeof(path), "%s/big.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -EFBIG);

        snprintf(path, sizeof(path), "%s/missing.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -ENOENT);

        /* A FIFO must neither block nor be read. */
        snprintf(path, sizeof(path), "%s/fifo.pid", tmpdir);
        CHECK_INT(mkfifo(path, 0644), 0);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -EBADF);
        /* A directory neither. */
        mkd("dir.pid");
        snprintf(path, sizeof(path), "%s/dir.pid", tmpdir);
        CHECK_INT(proc_pidfile_read(path, &p, NULL), -EBADF);
        CHECK_INT(p, 321);
}

/* The pid file's owner comes back with it; links and special files follow open_path_trusted's
 * rules (util.c, tested in test-util) and get a reason each. */
static void test_pidfile_load_trust(void) {
        struct proc_pidfile pf;
        char path[512], target[512];

        put("own.pid", "42\n");
        snprintf(path, sizeof(path), "%s/own.pid", tmpdir);
        CHECK_INT(proc_pidfile_load(path, &pf), 0);
        CHECK_INT(pf.uid, geteuid());
        CHECK_INT(pf.len, 3);

        snprintf(target, sizeof(target), "%s/own.pid", tmpdir);
        snprintf(path, sizeof(path), "%s/link.pid", tmpdir);
        CHECK_INT(symlink(target, path), 0);
        if (geteuid() == 0) {
                CHECK_INT(proc_pidfile_load(path, &pf), 0); /* root's link in root's dirs */
                CHECK_INT(lchown(path, 65534, 65534), 0);
                CHECK_INT(proc_pidfile_load(path, &pf), -ENOLINK);
                CHECK_INT(chown(target, 65534, 65534), 0);
                snprintf(path, sizeof(path), "%s/own.pid", tmpdir);
                CHECK_INT(proc_pidfile_load(path, &pf), 0);
                CHECK_INT(pf.uid, 65534);
        } else
                CHECK_INT(proc_pidfile_load(path, &pf), -ENOLINK);
        CHECK(strstr(proc_pidfile_strerror(-ENOLINK), "symlink") != NULL);
        CHECK(strstr(proc_pidfile_strerror(-EBADF), "not a regular file") != NULL);
        CHECK(proc_pidfile_strerror(-ELOOP) != NULL);
}

static void test_status_parse_uid(void) {
        uid_t u = 7;

        CHECK_INT(proc_status_parse_uid("Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\n"
                                        "Uid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
                                        &u),
                  0);
        CHECK_INT(u, 1000);
        CHECK_INT(proc_status_parse_uid("Uid:\t0\t0\t0\t0\n", &u), 0);
        CHECK_INT(u, 0);
        CHECK_INT(proc_status_parse_uid("Uid:\t65534", &u), 0);
        CHECK_INT(u, 65534);
        u = 7;
        CHECK_INT(proc_status_parse_uid("Name:\tx\n", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("Uid:\t\n", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("Uid:\t-1\t0\n", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("Uid:\t12a\t0\n", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("Uid:\t4294967295\t0\n", &u), -EINVAL);
        CHECK_INT(proc_status_parse_uid("Uid:\t99999999999999999999\n", &u), -EINVAL);
        /* "Uid:" only at a line start: a comm of "Uid:\t0" must not count */
        CHECK_INT(proc_status_parse_uid("Name:\tUid:\t0\n", &u), -EINVAL);
        CHECK_INT(u, 7);
}

static void test_stat_read_owner(void) {
        struct proc_stat st;
        uid_t u = 7;
        pid_t child;
        int status;

        CHECK_INT(proc_stat_read_owner("/proc", getpid(), &st, &u), 0);
        CHECK_INT(st.pid, getpid());
        CHECK_INT(u, getuid());
        CHECK_INT(proc_stat_read_owner("/proc", 0, &st, &u), -EINVAL);
        child = fork();
        if (child == 0)
                _exit(0);
        CHECK_INT(waitpid(child, &status, 0), child);
        CHECK_INT(proc_stat_read_owner("/proc", child, &st, &u), -ESRCH);
        if (geteuid() == 0) {
                /* a child that became nobody (real uid) */
                int pfd[2];
                char c;
                CHECK_INT(pipe(pfd), 0);
                child = fork();
                if (child == 0) {
                        if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                                _exit(1);
                        if (write(pfd[1], "x", 1) != 1)
                                _exit(1);
                        pause();
                        _exit(0);
                }
                close(pfd[1]);
                CHECK_INT(read(pfd[0], &c, 1), 1);
                close(pfd[0]);
                CHECK_INT(proc_stat_read_owner("/proc", child, &st, &u), 0);
                CHECK_INT(u, 65534);
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
        }
}

static void test_stat_parse(void) {
        struct proc_stat st;

        CHECK_INT(proc_stat_parse("1234 (sleep) S 1200 1234 1200 34816 1234 4194304 93 0 0 0 0 0 0 "
                                  "0 20 0 1 0 987654 5570560 128 18446744073709551615 1 1 0 0 0 "
                                  "0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
                                  &st),
                  0);
        CHECK_INT(st.pid, 1234);
        CHECK_INT(st.state, 'S');
        CHECK_INT(st.ppid, 1200);
        CHECK_INT(st.flags, 4194304);
        CHECK_INT(st.num_threads, 1);
        CHECK_INT((long long) st.starttime, 987654);
        CHECK(!proc_stat_is_kthread(&st));

        /* comm with spaces and parentheses: the last ')' ends it */
        CHECK_INT(proc_stat_parse("77 (a) b (c)) R 5 77 5 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 3 0 "
                                  "42 0 0\n",
                                  &st),
                  0);
        CHECK_INT(st.pid, 77);
        CHECK_INT(st.state, 'R');
        CHECK_INT(st.ppid, 5);
        CHECK_INT(st.num_threads, 3);
        CHECK_INT((long long) st.starttime, 42);

        /* kernel thread: PF_KTHREAD */
        CHECK_INT(proc_stat_parse("15 (ksoftirqd/1) S 2 0 0 0 -1 69238848 0 0 0 0 0 0 0 0 20 0 1 0 "
                                  "3 0 0\n",
                                  &st),
                  0);
        CHECK(proc_stat_is_kthread(&st));
        CHECK_INT(proc_stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 "
                                  "3 0 0\n",
                                  &st),
                  0);
        CHECK(proc_stat_is_kthread(&st));
        /* flag only */
        st = (struct proc_stat){.pid = 99, .ppid = 50, .flags = PROC_PF_KTHREAD};
        CHECK(proc_stat_is_kthread(&st));

        CHECK_INT(proc_stat_parse("", &st), -EINVAL);
        CHECK_INT(proc_stat_parse("12 sleep S 1", &st), -EINVAL);
        CHECK_INT(proc_stat_parse("12 (sleep) S 1 2 3\n", &st), -EINVAL); /* truncated */
        CHECK_INT(proc_stat_parse("12 (sleep)S 1 2 3\n", &st), -EINVAL);
        CHECK_INT(proc_stat_parse("0 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n", &st),
                  -EINVAL);
        CHECK_INT(proc_stat_parse("12 (x) S -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n", &st),
                  -EINVAL);
        CHECK_INT(proc_stat_parse("12 (x) S 1 1 1 0 -1 zz 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n", &st),
                  -EINVAL);
}

static void test_stat_read_real(void) {
        struct proc_stat st;
        pid_t child;
        int status;

        CHECK_INT(proc_stat_read("/proc", getpid(), &st), 0);
        CHECK_INT(st.pid, getpid());
        CHECK_INT(st.ppid, getppid());
        CHECK(!proc_stat_is_kthread(&st));
        CHECK(st.num_threads >= 1);
        /* our start time is in the past, not after now */
        CHECK(proc_starttime_to_realtime_usec(st.starttime, sysconf(_SC_CLK_TCK),
                                              proc_boot_realtime_usec()) <=
              now_usec(CLOCK_REALTIME) + 20000);
        CHECK(proc_starttime_to_realtime_usec(st.starttime, sysconf(_SC_CLK_TCK),
                                              proc_boot_realtime_usec()) +
                      600 * USEC_PER_SEC >
              now_usec(CLOCK_REALTIME));

        CHECK_INT(proc_stat_read("/proc", 2, &st), 0);
        CHECK(proc_stat_is_kthread(&st));

        child = fork();
        if (child == 0)
                _exit(0);
        waitpid(child, &status, 0);
        CHECK_INT(proc_stat_read("/proc", child, &st), -ESRCH);
        CHECK_INT(proc_stat_read("/proc", 0, &st), -EINVAL);
}

static void test_time(void) {
        CHECK_INT((long long) proc_starttime_to_realtime_usec(250, 100, 1000000000), 1002500000);
        CHECK_INT((long long) proc_starttime_to_realtime_usec(0, 100, 7), 7);
        CHECK_INT((long long) proc_starttime_to_realtime_usec(3, 1000, 0), 3000);
        CHECK(!proc_pidfile_is_stale(2000000, 1500000, 100000));
        CHECK(!proc_pidfile_is_stale(2000000, 2050000, 100000)); /* within slack */
        CHECK(proc_pidfile_is_stale(2000000, 2200000, 100000));
}

static void test_children_parse(void) {
        struct pidvec pv = {};

        CHECK_INT(proc_children_parse("", &pv), 0);
        CHECK_INT(pv.n, 0);
        CHECK_INT(proc_children_parse("12 345 6789 ", &pv), 0);
        CHECK_INT(pv.n, 3);
        CHECK_INT(pv.v[0], 12);
        CHECK_INT(pv.v[2], 6789);
        CHECK_INT(proc_children_parse("5\n", &pv), 0);
        CHECK_INT(pv.n, 4);
        CHECK_INT(proc_children_parse("1  2", &pv), -EINVAL);
        CHECK_INT(proc_children_parse("x", &pv), -EINVAL);
        CHECK_INT(proc_children_parse("0 ", &pv), -EINVAL);
        CHECK_INT(proc_children_parse("99999999 ", &pv), -EINVAL);
        CHECK_INT(proc_children_parse("3\n4", &pv), -EINVAL);
        pidvec_clear(&pv);
        CHECK_INT(pv.n, 0);
        CHECK(pv.v == NULL);
}

static void test_pidvec(void) {
        struct pidvec pv = {};
        int i;

        for (i = 0; i < 1000; i++)
                CHECK_INT(pidvec_push(&pv, (pid_t) (1000 - i % 500)), 0);
        pidvec_sort(&pv);
        CHECK_INT(pv.n, 500);
        CHECK(pidvec_contains_sorted(&pv, 501));
        CHECK(pidvec_contains_sorted(&pv, 1000));
        CHECK(!pidvec_contains_sorted(&pv, 500));
        CHECK(!pidvec_contains_sorted(&pv, 1001));
        for (i = 1; i < (int) pv.n; i++)
                CHECK(pv.v[i - 1] < pv.v[i]);
        pidvec_clear(&pv);
        CHECK(!pidvec_contains_sorted(&pv, 1));
}

#define STAT_LINE(pid, ppid)                                                                       \
#pid " (x) S " #ppid " 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n"

/* Fixture: 100 has threads 100 and 105; 100's thread 100 forked 101 and 102, thread 105 forked
 * 103. 101 forked 104. 200 is unrelated. */
static void make_fixture(const char *root, bool with_children) {
        char d[256];

        snprintf(d, sizeof(d), "%s", root);
        mkd(d);
#define P(pid, ppid)                                                                               \
        do {                                                                                       \
                snprintf(d, sizeof(d), "%s/" #pid, root);                                          \
                mkd(d);                                                                            \
                snprintf(d, sizeof(d), "%s/" #pid "/task", root);                                  \
                mkd(d);                                                                            \
                snprintf(d, sizeof(d), "%s/" #pid "/task/" #pid, root);                            \
                mkd(d);                                                                            \
                snprintf(d, sizeof(d), "%s/" #pid "/stat", root);                                  \
                put(d, STAT_LINE(pid, ppid));                                                      \
        } while (0)
        P(100, 1);
        P(101, 100);
        P(102, 100);
        P(103, 100);
        P(104, 101);
        P(200, 1);
#undef P
        snprintf(d, sizeof(d), "%s/100/task/105", root);
        mkd(d);
        snprintf(d, sizeof(d), "%s/self", root); /* non-numeric entries are ignored */
        mkd(d);
        if (!with_children)
                return;
#define C(pid, tid, text)                                                                          \
        do {                                                                                       \
                snprintf(d, sizeof(d), "%s/" #pid "/task/" #tid "/children", root);                \
                put(d, text);                                                                      \
        } while (0)
        C(100, 100, "101 102 ");
        C(100, 105, "103 ");
        C(101, 101, "104 ");
        C(102, 102, "");
        C(103, 103, "");
        C(104, 104, "");
        C(200, 200, "");
#undef C
}

static void walk_fixture(bool with_children, bool expect_fallback) {
        _cleanup_(proc_walk_freep) struct proc_walk *w = NULL;
        char root[512];
        struct pidvec pv = {};
        const char *name = with_children ? "proc-children" : "proc-nochildren";

        snprintf(root, sizeof(root), "%s/%s", tmpdir, name);
        make_fixture(name, with_children);
        CHECK_INT(proc_walk_new(root, &w), 0);
        if (!w)
                return;
        CHECK_INT(proc_walk_children(w, 100, &pv), 0);
        CHECK_INT(proc_walk_uses_fallback(w), expect_fallback);
        pidvec_sort(&pv);
        CHECK_INT(pv.n, 3);
        CHECK(pidvec_contains_sorted(&pv, 101));
        CHECK(pidvec_contains_sorted(&pv, 102));
        CHECK(pidvec_contains_sorted(&pv, 103));
        pv.n = 0;
        CHECK_INT(proc_walk_children(w, 101, &pv), 0);
        CHECK_INT(pv.n, 1);
        CHECK_INT(pv.n ? pv.v[0] : 0, 104);
        pv.n = 0;
        CHECK_INT(proc_walk_children(w, 104, &pv), 0);
        CHECK_INT(pv.n, 0);
        CHECK_INT(proc_walk_children(w, 300, &pv), -ESRCH);
        CHECK_INT(proc_walk_children(w, 0, &pv), -EINVAL);
        pidvec_clear(&pv);
}

static void test_walk_fixture_children(void) {
        walk_fixture(true, false);
}

static void test_walk_fixture_fallback(void) {
        walk_fixture(false, true);
}

static void test_walk_forced_fallback(void) {
        _cleanup_(proc_walk_freep) struct proc_walk *w = NULL;
        char root[512];
        struct pidvec pv = {};

        snprintf(root, sizeof(root), "%s/proc-children", tmpdir);
        CHECK_INT(proc_walk_new(root, &w), 0);
        if (!w)
                return;
        proc_walk_set_fallback(w, true);
        CHECK_INT(proc_walk_children(w, 100, &pv), 0);
        CHECK_INT(pv.n, 3);
        /* the index is cached until invalidated: a new process is seen only after that */
        make_fixture("proc-children", true);
        mkd("proc-children/150");
        put("proc-children/150/stat", STAT_LINE(150, 100));
        pv.n = 0;
        CHECK_INT(proc_walk_children(w, 100, &pv), 0);
        CHECK_INT(pv.n, 3);
        proc_walk_invalidate(w);
        pv.n = 0;
        CHECK_INT(proc_walk_children(w, 100, &pv), 0);
        CHECK_INT(pv.n, 4);
        pidvec_clear(&pv);
        CHECK_INT(proc_walk_new("/nonexistent-proc", &w), -ENOENT);
}

static int pipefd[2];

static void *thread_forker(void *arg) {
        pid_t *out = arg;
        pid_t c = fork();
        if (c == 0) {
                pause();
                _exit(0);
        }
        *out = c;
        return NULL;
}

/* On the real /proc: a child forked by the main thread and one forked by a second thread
 * (whose parent is that thread) are both found; a grandchild is not a direct child. */
static void test_walk_real(void) {
        _cleanup_(proc_walk_freep) struct proc_walk *w = NULL;
        struct pidvec pv = {};
        pid_t c1, c2 = 0, gc = 0;
        pthread_t t;
        int i;

        CHECK_INT(pipe(pipefd), 0);
        c1 = fork();
        if (c1 == 0) {
                pid_t g = fork();
                if (g == 0) {
                        pause();
                        _exit(0);
                }
                if (write(pipefd[1], &g, sizeof(g)) < 0)
                        _exit(1);
                pause();
                _exit(0);
        }
        if (read(pipefd[0], &gc, sizeof(gc)) != sizeof(gc))
                printf("# no grandchild pid\n");
        pthread_create(&t, NULL, thread_forker, &c2);
        pthread_join(t, NULL);
        /* the thread that forked c2 has exited: c2 was reparented to us (same thread group) */

        CHECK_INT(proc_walk_new("/proc", &w), 0);
        if (w) {
                CHECK_INT(proc_walk_children(w, getpid(), &pv), 0);
                pidvec_sort(&pv);
                CHECK(pidvec_contains_sorted(&pv, c1));
                CHECK(pidvec_contains_sorted(&pv, c2));
                CHECK(!pidvec_contains_sorted(&pv, gc));
                pv.n = 0;
                CHECK_INT(proc_walk_children(w, c1, &pv), 0);
                CHECK_INT(pv.n, 1);
                CHECK_INT(pv.n ? pv.v[0] : 0, gc);

                /* the same through the fallback scan */
                proc_walk_set_fallback(w, true);
                pv.n = 0;
                CHECK_INT(proc_walk_children(w, getpid(), &pv), 0);
                pidvec_sort(&pv);
                CHECK(pidvec_contains_sorted(&pv, c1));
                CHECK(pidvec_contains_sorted(&pv, c2));
                CHECK(!pidvec_contains_sorted(&pv, gc));
        }
        kill(gc, SIGKILL);
        kill(c1, SIGKILL);
        kill(c2, SIGKILL);
        waitpid(c1, NULL, 0);
        waitpid(c2, NULL, 0);
        if (w) {
                /* a reaped process is reported gone */
                for (i = 0; i < 100 && proc_walk_children(w, c1, &pv) != -ESRCH; i++)
                        usleep(10000);
                CHECK_INT(proc_walk_children(w, c1, &pv), -ESRCH);
        }
        pidvec_clear(&pv);
        close(pipefd[0]);
        close(pipefd[1]);
}

/* One connector datagram holding a fork and an exit, as the kernel sends them. */
static size_t put_event(char *buf, unsigned what, int a, int b, int c, int d) {
        struct nlmsghdr *nh = (struct nlmsghdr *) buf;
        struct cn_msg *cn = NLMSG_DATA(nh);
        /* The event sits at offset 36 of the datagram, as the kernel sends it: only 4-aligned,
         * so it is built aligned here and copied in (the parser reads it with memcpy too). */
        struct proc_event pe = {.what = what};
        size_t len = NLMSG_LENGTH(sizeof(*cn) + sizeof(pe));

        memset(buf, 0, NLMSG_SPACE(sizeof(*cn) + sizeof(pe)));
        nh->nlmsg_len = (unsigned) len;
        nh->nlmsg_type = NLMSG_DONE;
        cn->id.idx = CN_IDX_PROC;
        cn->id.val = CN_VAL_PROC;
        cn->len = sizeof(pe);
        if (what == PROC_EVENT_FORK) {
                pe.event_data.fork.parent_pid = a;
                pe.event_data.fork.parent_tgid = b;
                pe.event_data.fork.child_pid = c;
                pe.event_data.fork.child_tgid = d;
        } else if (what == PROC_EVENT_EXIT) {
                pe.event_data.exit.process_pid = a;
                pe.event_data.exit.process_tgid = b;
        }
        memcpy(cn->data, &pe, sizeof(pe));
        return NLMSG_SPACE(sizeof(*cn) + sizeof(pe));
}

static void test_events_parse(void) {
        char buf[1024] __attribute__((aligned(8)));
        struct proc_event_info ev[4];
        size_t len = 0, n = 0;

        len += put_event(buf + len, PROC_EVENT_FORK, 101, 100, 205, 205);
        len += put_event(buf + len, PROC_EVENT_EXIT, 205, 205, 0, 0);
        len += put_event(buf + len, PROC_EVENT_EXEC, 0, 0, 0, 0);
        CHECK_INT(proc_events_parse(buf, len, ev, ELEMENTSOF(ev), &n), 0);
        CHECK_INT(n, 3);
        CHECK_INT(ev[0].type, PROC_EV_FORK);
        CHECK_INT(ev[0].parent_pid, 101);
        CHECK_INT(ev[0].parent_tgid, 100);
        CHECK_INT(ev[0].pid, 205);
        CHECK_INT(ev[0].tgid, 205);
        CHECK_INT(ev[1].type, PROC_EV_EXIT);
        CHECK_INT(ev[1].pid, 205);
        CHECK_INT(ev[2].type, PROC_EV_OTHER);
        /* at most max events are returned */
        CHECK_INT(proc_events_parse(buf, len, ev, 1, &n), 0);
        CHECK_INT(n, 1);
        /* truncated and malformed datagrams */
        CHECK_INT(proc_events_parse(buf, 4, ev, 4, &n), -EINVAL);
        ((struct nlmsghdr *) buf)->nlmsg_type = NLMSG_ERROR;
        CHECK_INT(proc_events_parse(buf, len, ev, 4, &n), -EINVAL);
        put_event(buf, PROC_EVENT_FORK, 1, 1, 2, 2);
        ((struct cn_msg *) NLMSG_DATA((struct nlmsghdr *) buf))->len = 4000; /* beyond the msg */
        CHECK_INT(proc_events_parse(buf, len, ev, 4, &n), -EINVAL);
}

static bool has_child(struct proc_tree *t, pid_t parent, pid_t child) {
        struct pidvec pv = {};
        bool found;

        (void) proc_tree_update(t);
        found = proc_tree_children(t, parent, &pv) == 0 &&
                (pidvec_sort(&pv), pidvec_contains_sorted(&pv, child));
        pidvec_clear(&pv);
        return found;
}

/* The live tree (needs CAP_NET_ADMIN): forks and exits show up; an orphan is re-parented. */
static void test_tree_live(void) {
        _cleanup_(proc_tree_freep) struct proc_tree *t = NULL;
        pid_t c, gc = 0;
        int r, i, fds[2];

        r = proc_tree_new("/proc", &t);
        if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT) {
                printf("# SKIP process events connector unavailable (%s)\n", strerror(-r));
                return;
        }
        CHECK_INT(r, 0);
        if (!t)
                return;
        CHECK(proc_tree_size(t) > 10);
        CHECK(has_child(t, getppid(), getpid())); /* from the scan */
        CHECK_INT(proc_tree_children(t, 0x3fffff, &(struct pidvec){}), -ESRCH);

        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        CHECK_INT(pipe(fds), 0);
        c = fork();
        if (c == 0) {
                pid_t g = fork();
                if (g == 0) {
                        pause();
                        _exit(0);
                }
                if (write(fds[1], &g, sizeof(g)) < 0)
                        _exit(1);
                pause();
                _exit(0);
        }
        if (read(fds[0], &gc, sizeof(gc)) != sizeof(gc))
                printf("# no grandchild\n");
        CHECK(has_child(t, getpid(), c)); /* from fork events */
        CHECK(has_child(t, c, gc));
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
        /* the grandchild is ours now (subreaper); the tree learns it from /proc */
        for (i = 0; i < 200 && !has_child(t, getpid(), gc); i++)
                usleep(5000);
        CHECK(has_child(t, getpid(), gc));
        CHECK(!has_child(t, getpid(), c));
        CHECK_INT(proc_tree_children(t, c, &(struct pidvec){}), -ESRCH);
        kill(gc, SIGKILL);
        waitpid(gc, NULL, 0);
        for (i = 0; i < 200 && has_child(t, getpid(), gc); i++)
                usleep(5000);
        CHECK(!has_child(t, getpid(), gc));
        CHECK_INT(proc_tree_rescans(t), 0);
        (void) prctl(PR_SET_CHILD_SUBREAPER, 0);
        close(fds[0]);
        close(fds[1]);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                printf("# mkdtemp failed\n");
                return 1;
        }
        RUN(test_pidfile_parse);
        RUN(test_pidfile_read);
        RUN(test_pidfile_load_trust);
        RUN(test_status_parse_uid);
        RUN(test_stat_read_owner);
        RUN(test_stat_parse);
        RUN(test_stat_read_real);
        RUN(test_time);
        RUN(test_children_parse);
        RUN(test_pidvec);
        RUN(test_walk_fixture_children);
        RUN(test_walk_fixture_fallback);
        RUN(test_walk_forced_fallback);
        RUN(test_walk_real);
        RUN(test_events_parse);
        RUN(test_tree_live);
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmpdir);
        }
        return TAP_END();
}
