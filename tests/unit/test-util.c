/* test-util.c — common/util.c's file helpers where they meet files others control:
 * write_file_atomic() never writes through a planted temp file or symlink, open_path_trusted()
 * follows a symlink only when root owns it and every directory on its way, and
 * read_small_file_opath() never opens what is not a regular file. The ownership cases need root
 * (chown to nobody); they are skipped, with a reason, otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

#define NOBODY 65534
#define SKIP(what, why) printf("# SKIP %s: %s\n", what, why)

static char tmpdir[] = "/tmp/test-util.XXXXXX";

static void path_of(char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s/%s", tmpdir, rel);
}

static void put(const char *rel, const char *content) {
        char path[PATH_MAX];
        FILE *f;

        path_of(path, sizeof(path), rel);
        f = fopen(path, "we");
        if (!f) {
                printf("# cannot create %s\n", path);
                return;
        }
        fputs(content, f);
        fclose(f);
}

static char *slurp(const char *rel) {
        char path[PATH_MAX], *text = NULL;

        path_of(path, sizeof(path), rel);
        if (read_full_file(path, &text, NULL) < 0)
                return NULL;
        return text;
}

/* The old temp name was "<path>.tmp.<pid>": a symlink planted there must not be written
 * through, and the write must still succeed. */
static void test_atomic_planted_symlink(void) {
        char path[PATH_MAX / 2], planted[PATH_MAX], victim[PATH_MAX];
        char *text;
        struct stat st;

        put("victim", "precious\n");
        path_of(victim, sizeof(victim), "victim");
        path_of(path, sizeof(path), "snap.json");
        snprintf(planted, sizeof(planted), "%s.tmp.%ld", path, (long) getpid());
        CHECK_INT(symlink(victim, planted), 0);

        CHECK_INT(write_file_atomic(path, "{}\n", 3, 0644), 0);
        text = slurp("victim");
        CHECK_STR(text, "precious\n");
        free(text);
        text = slurp("snap.json");
        CHECK_STR(text, "{}\n");
        free(text);
        CHECK_INT(lstat(path, &st), 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK_INT(st.st_mode & 07777, 0644);
        /* the planted link is left alone (not ours to remove) */
        CHECK_INT(lstat(planted, &st), 0);
        CHECK(S_ISLNK(st.st_mode));

        /* replacing an existing file works, with the new mode */
        CHECK_INT(write_file_atomic(path, "{\"a\":1}\n", 8, 0600), 0);
        text = slurp("snap.json");
        CHECK_STR(text, "{\"a\":1}\n");
        free(text);
        CHECK_INT(stat(path, &st), 0);
        CHECK_INT(st.st_mode & 07777, 0600);
}

static void test_atomic_leaves_no_temp(void) {
        char path[PATH_MAX];
        char cmd[PATH_MAX + 64];
        FILE *p;
        int n = -1;

        mkdir(strcat(strcpy(path, tmpdir), "/clean"), 0755);
        path_of(path, sizeof(path), "clean/a.json");
        for (int i = 0; i < 20; i++)
                CHECK_INT(write_file_atomic(path, "x", 1, 0644), 0);
        snprintf(cmd, sizeof(cmd), "ls -A %s/clean | wc -l", tmpdir);
        p = popen(cmd, "r");
        if (p) {
                if (fscanf(p, "%d", &n) != 1)
                        n = -1;
                pclose(p);
        }
        CHECK_INT(n, 1);
        /* a directory that does not exist: an error, not a crash */
        path_of(path, sizeof(path), "nodir/a.json");
        CHECK_INT(write_file_atomic(path, "x", 1, 0644), -ENOENT);
}

/* Opens with open_path_trusted and reads through read_small_file_opath. */
static int trusted_read(const char *rel, char *buf, size_t size, struct stat *st) {
        char path[PATH_MAX];
        _cleanup_close_ int fd = -1;
        int r;

        path_of(path, sizeof(path), rel);
        r = open_path_trusted(path, &fd, st);
        if (r < 0)
                return r;
        return read_small_file_opath(fd, NULL, -1, buf, size, NULL);
}

static void test_trusted_plain(void) {
        char buf[64];
        struct stat st;
        char path[PATH_MAX];

        put("plain", "123\n");
        CHECK_INT(trusted_read("plain", buf, sizeof(buf), &st), 0);
        CHECK_STR(buf, "123\n");
        CHECK(S_ISREG(st.st_mode));
        CHECK_INT(trusted_read("missing", buf, sizeof(buf), &st), -ENOENT);
        CHECK_INT(trusted_read("plain/x", buf, sizeof(buf), &st), -ENOTDIR);
        CHECK_INT(open_path_trusted("relative", &(int){-1}, &st), -EINVAL);
        /* "//" and "." and ".." are walked as the kernel would */
        snprintf(path, sizeof(path), "%s//./plain", tmpdir);
        {
                _cleanup_close_ int fd = -1;
                CHECK_INT(open_path_trusted(path, &fd, &st), 0);
                CHECK(S_ISREG(st.st_mode));
        }
        /* a directory is handed back; reading it is refused without opening */
        CHECK_INT(trusted_read("", buf, sizeof(buf), &st), -EBADF);
        CHECK(S_ISDIR(st.st_mode));
}

static void test_trusted_fifo_and_device(void) {
        char path[PATH_MAX], buf[64];
        struct stat st;
        int wfd;

        /* A FIFO with no reader: opened for reading it would release a blocked writer; here the
         * O_NONBLOCK write-open proves no reader ever appeared (ENXIO). */
        path_of(path, sizeof(path), "fifo");
        CHECK_INT(mkfifo(path, 0644), 0);
        CHECK_INT(trusted_read("fifo", buf, sizeof(buf), &st), -EBADF);
        CHECK(S_ISFIFO(st.st_mode));
        wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        CHECK(wfd < 0 && errno == ENXIO);
        if (wfd >= 0)
                close(wfd);

        if (geteuid() != 0) {
                SKIP("device node", "mknod needs root");
                return;
        }
        path_of(path, sizeof(path), "null");
        CHECK_INT(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
        CHECK_INT(trusted_read("null", buf, sizeof(buf), &st), -EBADF);
        CHECK(S_ISCHR(st.st_mode));
}

static void test_trusted_symlinks(void) {
        char path[PATH_MAX], target[PATH_MAX], buf[64];
        struct stat st;

        put("real", "77\n");
        path_of(target, sizeof(target), "real");
        path_of(path, sizeof(path), "abs-link");
        CHECK_INT(symlink(target, path), 0);
        path_of(path, sizeof(path), "rel-link");
        CHECK_INT(symlink("real", path), 0);
        path_of(path, sizeof(path), "loop");
        CHECK_INT(symlink("loop", path), 0);
        mkdir(strcat(strcpy(path, tmpdir), "/d"), 0755);
        path_of(path, sizeof(path), "d/up-link");
        CHECK_INT(symlink("../real", path), 0);
        path_of(path, sizeof(path), "dlink");
        CHECK_INT(symlink("d", path), 0);

        if (geteuid() != 0) {
                /* our own links in our own directories are not root's: never followed */
                CHECK_INT(trusted_read("abs-link", buf, sizeof(buf), &st), -ENOLINK);
                SKIP("root-owned symlinks", "needs root");
                return;
        }
        CHECK_INT(trusted_read("abs-link", buf, sizeof(buf), &st), 0);
        CHECK_STR(buf, "77\n");
        CHECK_INT(trusted_read("rel-link", buf, sizeof(buf), &st), 0);
        CHECK_STR(buf, "77\n");
        CHECK_INT(trusted_read("d/up-link", buf, sizeof(buf), &st), 0);
        CHECK_STR(buf, "77\n");
        CHECK_INT(trusted_read("dlink/up-link", buf, sizeof(buf), &st), 0); /* a link mid-path */
        CHECK_STR(buf, "77\n");
        CHECK_INT(trusted_read("loop", buf, sizeof(buf), &st), -ELOOP);
        /* "link/" names a directory: a link to a file then fails as the kernel does (fuzz) */
        CHECK_INT(trusted_read("rel-link/", buf, sizeof(buf), &st), -ENOTDIR);

        /* a link owned by a user: not followed, even to a root file */
        path_of(path, sizeof(path), "abs-link");
        CHECK_INT(lchown(path, NOBODY, NOBODY), 0);
        CHECK_INT(trusted_read("abs-link", buf, sizeof(buf), &st), -ENOLINK);
        /* and the same for one to /proc/sys/kernel/ns_last_pid (any process's pid) */
        path_of(path, sizeof(path), "ns-link");
        CHECK_INT(symlink("/proc/sys/kernel/ns_last_pid", path), 0);
        CHECK_INT(lchown(path, NOBODY, NOBODY), 0);
        CHECK_INT(trusted_read("ns-link", buf, sizeof(buf), &st), -ENOLINK);

        /* root's link in a user's directory: the user could have swapped it in */
        mkdir(strcat(strcpy(path, tmpdir), "/userdir"), 0755);
        path_of(path, sizeof(path), "userdir/link");
        CHECK_INT(symlink(target, path), 0);
        path_of(path, sizeof(path), "userdir");
        CHECK_INT(chown(path, NOBODY, NOBODY), 0);
        CHECK_INT(trusted_read("userdir/link", buf, sizeof(buf), &st), -ENOLINK);
        /* a plain file in a user's directory is read (its owner is the caller's business) */
        put("userdir/file", "5\n");
        CHECK_INT(trusted_read("userdir/file", buf, sizeof(buf), &st), 0);
        CHECK_STR(buf, "5\n");
        CHECK_INT(st.st_uid, 0);
        /* a root link reached through a user's directory and a root link to it */
        path_of(path, sizeof(path), "via-user");
        CHECK_INT(symlink("userdir/link", path), 0);
        CHECK_INT(trusted_read("via-user", buf, sizeof(buf), &st), -ENOLINK);
        /* the owner handed back is the final file's, not the link's */
        path_of(path, sizeof(path), "real");
        CHECK_INT(chown(path, NOBODY, NOBODY), 0);
        CHECK_INT(trusted_read("rel-link", buf, sizeof(buf), &st), 0);
        CHECK_INT(st.st_uid, NOBODY);
}

/* READ_ONCE takes what one read() gives (a kernfs control file's whole text) and stops: on a
 * pipe whose writer stays open, the plain way would wait for an EOF that never comes (here,
 * non-blocking, it fails with EAGAIN), READ_ONCE returns the text. */
static void test_read_once(void) {
        char path[64], buf[64];
        size_t n = 0;
        int p[2];

        CHECK_INT(pipe2(p, O_CLOEXEC), 0);
        CHECK_INT((int) write(p[1], "512\n", 4), 4);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
        CHECK_INT(read_small_file_at(AT_FDCWD, path, READ_NONBLOCK, buf, sizeof(buf), &n, NULL),
                  -EAGAIN);
        CHECK_INT((int) write(p[1], "512\n", 4), 4);
        CHECK_INT(read_small_file_at(AT_FDCWD, path, READ_NONBLOCK | READ_ONCE, buf, sizeof(buf),
                                     &n, NULL),
                  0);
        CHECK_STR(buf, "512\n");
        CHECK_INT((int) n, 4);
        /* too long for the buffer is still -EFBIG, never a cut value */
        CHECK_INT((int) write(p[1], "1234567890", 10), 10);
        CHECK_INT(read_small_file_at(AT_FDCWD, path, READ_NONBLOCK | READ_ONCE, buf, 8, &n, NULL),
                  -EFBIG);
        close(p[0]);
        close(p[1]);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                printf("Bail out! mkdtemp\n");
                return 1;
        }
        /* nobody must be able to reach into it for the ownership cases */
        (void) chmod(tmpdir, 0755);
        RUN(test_atomic_planted_symlink);
        RUN(test_atomic_leaves_no_temp);
        RUN(test_trusted_plain);
        RUN(test_trusted_fifo_and_device);
        RUN(test_trusted_symlinks);
        RUN(test_read_once);
        {
                char cmd[PATH_MAX + 16];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmpdir);
        }
        return TAP_END();
}
