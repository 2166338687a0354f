/* fuzz-pidfile.c — libFuzzer target for cg-taskd's pid-file trust checks (issue 12):
 *  - the judge (targets.c taskd_judge_owner + taskd_judge, composed as place.c's file_refresh
 *    composes them) on fuzzed file owner, process owner, user= and /proc/<pid>/stat facts:
 *    a move only when the file is root's or the process owner's, user= holds, and the process is
 *    neither pid 1, a kernel thread nor younger than the file; content shown only for root's;
 *  - proc_status_parse_uid on fuzzed /proc/<pid>/status text (and taskd_user_parse_uid);
 *  - open_path_trusted (util.c) on fuzzed paths in a small tree with root's and nobody's links
 *    and directories: whatever it opens is what the kernel resolves too, and a "trap" file that
 *    is reachable only through untrusted links is never reached.
 * FUZZ_SOURCES: cg-taskd/targets.c cg-taskd/proc.c common/plan.c common/conf.c common/cgfs-names.c common/util.c common/log.c common/strbuf.c
 * FUZZ_LIBS: -lcjson
 * FUZZ_CORPUS: tests/fixtures/proc
 * FUZZ_DICT: tests/fuzz/pidfile.dict */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "targets.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOBODY 65534

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

static uid_t pick_uid(uint8_t b) {
        static const uid_t uids[] = {0, 33, 1000, NOBODY, 1};
        return uids[b % ELEMENTSOF(uids)];
}

static void fuzz_judge(const uint8_t *d) {
        uid_t file_uid = pick_uid(d[0]), proc_uid = pick_uid(d[1]), want = pick_uid(d[2]);
        bool has_user = d[3] & 1;
        struct proc_stat st = {
                .pid = (pid_t) (d[4] % 4 + 1), /* 1..4: pid 1 and 2 matter */
                .ppid = (pid_t) (d[5] % 4),
                .flags = (d[3] & 2) ? PROC_PF_KTHREAD : 0,
        };
        uint64_t mtime = (uint64_t) d[6] * USEC_PER_SEC, start = (uint64_t) d[7] * USEC_PER_SEC;
        enum taskd_verdict v;

        v = taskd_judge_owner(file_uid, proc_uid, has_user ? &want : NULL);
        check(v == TASKD_MOVE || v == TASKD_REFUSE_OWNER || v == TASKD_REFUSE_USER, "owner verdicts");
        check((v == TASKD_REFUSE_OWNER) == (file_uid != 0 && file_uid != proc_uid),
              "a file names only its owner's processes, unless root's");
        if (v == TASKD_MOVE)
                check(!has_user || want == proc_uid, "user= holds on a move");
        if (v == TASKD_MOVE)
                v = taskd_judge(&st, mtime, start);
        if (v == TASKD_MOVE) {
                check(st.pid != 1, "pid 1 never moved");
                check(!proc_stat_is_kthread(&st), "kernel threads never moved");
                check(start <= mtime + TASKD_STALE_SLACK_USEC, "never a process younger than the file");
                check(file_uid == 0 || file_uid == proc_uid, "moved: the file had the authority");
        }
        check(strcmp(taskd_verdict_to_string(v), "?") != 0, "every verdict has words");
        check(taskd_may_show_content(file_uid) == (file_uid == 0), "content only of root's files");
}

static void fuzz_status(const char *s) {
        uid_t u = 7;
        int r = proc_status_parse_uid(s, &u);

        if (r < 0) {
                check(r == -EINVAL, "status errors");
                check(u == 7, "*ret untouched on failure");
        } else {
                check(u != (uid_t) -1, "never uid -1");
                check(strncmp(s, "Uid:", 4) == 0 || strstr(s, "\nUid:") != NULL,
                      "a Uid: line at a line start");
        }
        u = 7;
        r = taskd_user_parse_uid(s, &u);
        if (r == 1) {
                check(*s && strspn(s, "0123456789") == strlen(s), "a numeric uid is digits");
                check(u != (uid_t) -1, "never uid -1");
        } else
                check(u == 7 && (r == 0 || r == -EINVAL), "user parse failures");
}

/* ---- open_path_trusted on a small tree ---- */

static char root[] = "/tmp/fuzz-pidfile.XXXXXX";
static bool tree_ok, as_root;
static ino_t trap_ino;

static void mk(const char *rel, int kind, const char *target, uid_t owner) {
        char p[PATH_MAX];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        if (kind == 'd')
                (void) mkdir(p, 0755);
        else if (kind == 'f') {
                fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        (void) !write(fd, "1\n", 2);
                        close(fd);
                }
        } else
                (void) symlink(target, p);
        if (as_root)
                (void) lchown(p, owner, owner);
}

static void tree_setup(void) {
        char trap[PATH_MAX];
        struct stat st;

        if (!mkdtemp(root))
                return;
        as_root = geteuid() == 0;
        (void) chmod(root, 0755);
        snprintf(trap, sizeof(trap), "%s/T/trap", root);
        mk("T", 'd', NULL, 0);
        mk("T/trap", 'f', NULL, 0);
        mk("a", 'd', NULL, 0);
        mk("a/f", 'f', NULL, 0);
        mk("a/rl", 'l', "../a/f", 0);
        mk("a/up", 'l', "..", 0);
        mk("a/self", 'l', ".", 0);
        mk("a/abs", 'l', root, 0);
        mk("u", 'd', NULL, NOBODY);
        mk("u/g", 'f', NULL, NOBODY);
        mk("u/ul", 'l', trap, 0);       /* root's link in nobody's dir */
        mk("u/gl", 'l', "g", NOBODY);   /* nobody's link to nobody's file */
        mk("nl", 'l', trap, NOBODY);    /* nobody's link in root's dir */
        mk("nd", 'l', "T", NOBODY);     /* nobody's link to the trap's dir */
        {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/fifo", root);
                (void) unlink(p);
                (void) mkfifo(p, 0644);
        }
        if (stat(trap, &st) == 0) {
                trap_ino = st.st_ino;
                tree_ok = as_root; /* the trap is only a trap when the links are nobody's */
        }
}

static void fuzz_chase(const uint8_t *d, size_t n) {
        /* the alphabet leaves out "T" and the tree's own name: the trap is reachable only
         * through nl, nd and u/ul, which must never be followed */
        static const char *const comp[] = {"a",    "u",  "f",  "g",  "rl", "up",   "self",
                                           "abs",  "nl", "ul", "gl", "nd", "fifo", ".",
                                           "..",   "x",  "",   "trap"};
        char path[PATH_MAX];
        size_t o;
        struct stat st, kst;
        int fd = -1, r;

        if (!tree_ok || n == 0)
                return;
        o = (size_t) snprintf(path, sizeof(path), "%s", root);
        for (size_t i = 0; i < n && i < 12 && o + NAME_MAX + 2 < sizeof(path); i++)
                o += (size_t) snprintf(path + o, sizeof(path) - o, "/%s",
                                       comp[d[i] % ELEMENTSOF(comp)]);
        r = open_path_trusted(path, &fd, &st);
        {
                /* cg-taskd's scope: the directory walked once, the last component from its fd,
                 * must decide exactly as the whole walk */
                char *slash = strrchr(path, '/');
                int dfd = -1, fd2 = -1, r2;
                struct stat dst, st2;
                bool dtrusted = false;

                if (slash && slash[1] && slash > path) {
                        *slash = 0;
                        r2 = open_path_trusted_at(-1, false, path, &dfd, &dst, &dtrusted);
                        *slash = '/';
                        if (r2 >= 0) {
                                r2 = open_path_trusted_at(dfd, dtrusted, slash + 1, &fd2, &st2, NULL);
                                close(dfd);
                        }
                        check(r2 == r,
                              "a walk from the directory's fd decides as the whole walk");
                        if (r2 >= 0 && r >= 0)
                                check(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev,
                                      "and reaches the same inode");
                        if (fd2 >= 0)
                                close(fd2);
                }
        }
        if (r < 0) {
                check(fd == -1, "no fd on failure");
                check(r != -EINVAL, "an absolute path is never invalid");
                return;
        }
        check(fd >= 0, "an fd on success");
        check(st.st_ino != trap_ino, "the trap is never reached");
        /* what we opened is what the kernel resolves (we only ever refuse more) */
        if (stat(path, &kst) == 0)
                check(kst.st_ino == st.st_ino && kst.st_dev == st.st_dev, "same inode as the kernel");
        else
                check(0, "opened a path the kernel cannot resolve");
        if (S_ISREG(st.st_mode)) {
                char buf[16];
                int pfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
                check(read_small_file_opath(fd, NULL, -1, buf, sizeof(buf), NULL) == 0, "a regular file reads");
                check(read_small_file_opath(fd, &st, pfd, buf, sizeof(buf), NULL) == 0,
                      "and reads through a kept /proc/self/fd");
                if (pfd >= 0)
                        close(pfd);
        } else {
                char buf[16];
                check(read_small_file_opath(fd, NULL, -1, buf, sizeof(buf), NULL) == -EBADF,
                      "anything else is refused");
        }
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        char *s;

        if (!init) {
                init = true;
                tree_setup();
        }
        if (size < 8)
                return 0;
        fuzz_judge(data);
        fuzz_chase(data + 8, size - 8);
        s = malloc(size - 8 + 1);
        if (!s)
                return 0;
        memcpy(s, data + 8, size - 8);
        s[size - 8] = 0;
        fuzz_status(s);
        free(s);
        return 0;
}
