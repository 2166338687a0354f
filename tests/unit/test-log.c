/* test-log.c — common/log.c: %m from the error given, no cut of long formats or messages, the
 * prefix decided at setup, whole lines from several threads at once. stderr is redirected to a
 * temporary file and read back. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "util.h"

static int saved_stderr = -1;
static char tmp_path[] = "/tmp/test-log-XXXXXX";

/* Starts capturing stderr into an empty file. */
static void capture(void) {
        int fd = mkostemp(tmp_path, O_CLOEXEC);

        if (fd < 0)
                abort();
        if (saved_stderr < 0)
                saved_stderr = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
}

/* Stops capturing; returns what was written (owned). */
static char *captured(void) {
        char *s = NULL;

        dup2(saved_stderr, STDERR_FILENO);
        if (read_full_file(tmp_path, &s, NULL) < 0)
                s = strdup("");
        unlink(tmp_path);
        strcpy(tmp_path, "/tmp/test-log-XXXXXX");
        return s;
}

static void test_errno_and_prefix(void) {
        char *s;

        log_set_prefix(1);
        capture();
        errno = EPERM;
        CHECK_INT(log_error_errno(-ENOENT, "open %s: %m", "x"), -ENOENT);
        CHECK_INT(errno, EPERM); /* the caller's errno survives */
        log_info("plain %d%%", 5);
        log_debug("not shown at LOG_INFO");
        errno = EACCES;
        log_warning("from errno: %m");
        s = captured();
        CHECK_STR(s, "<3>open x: No such file or directory\n<6>plain 5%\n"
                     "<4>from errno: Permission denied\n");
        free(s);

        log_set_prefix(0);
        log_set_ident("cg-test");
        log_set_prefix(0); /* log_set_ident decides for a terminal/journal; force it here */
        capture();
        log_error("x");
        s = captured();
        CHECK_STR(s, "cg-test: x\n");
        free(s);
}

static void test_long(void) {
        size_t n = 5000;
        char *fmt = malloc(n + 8), *arg = malloc(n + 1), *want = NULL, *s;

        /* a format longer than the old 1 KiB copy, then an argument past the stack buffer */
        memset(fmt, 'f', n);
        strcpy(fmt + n, "%s:%m");
        memset(arg, 'a', n);
        arg[n] = 0;
        log_set_prefix(1);
        capture();
        log_error_errno(-EIO, fmt, arg);
        s = captured();
        if (xasprintf(&want, "<3>%.*s%s:%s\n", (int) n, fmt, arg, strerror(EIO)) < 0)
                abort();
        CHECK_INT(strlen(s), strlen(want));
        CHECK(strcmp(s, want) == 0);
        free(s);
        free(want);
        free(fmt);
        free(arg);
}

#define THREADS 4
#define LINES 500

static void *logger(void *p) {
        for (int i = 0; i < LINES; i++)
                log_notice("thread %ld line %d %s", (long) (intptr_t) p, i,
                           "................................................................");
        return NULL;
}

static void test_threads(void) {
        pthread_t t[THREADS];
        size_t lines = 0, bad = 0;
        char *s;

        log_set_prefix(1);
        capture();
        for (long i = 0; i < THREADS; i++)
                pthread_create(&t[i], NULL, logger, (void *) (intptr_t) i);
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        s = captured();
        for (char *l = s, *nl; *l; l = nl + 1) {
                nl = strchr(l, '\n');
                if (!nl)
                        break;
                lines++;
                if (strncmp(l, "<5>thread ", 10) != 0 || nl[-1] != '.')
                        bad++;
        }
        CHECK_INT(lines, THREADS * LINES);
        CHECK_INT(bad, 0);
        free(s);
}

int main(void) {
        RUN(test_errno_and_prefix);
        RUN(test_long);
        RUN(test_threads);
        return TAP_END();
}
