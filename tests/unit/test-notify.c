/* test-notify.c — sd_notify wrappers against our own AF_UNIX datagram socket (NOTIFY_SOCKET),
 * the no-op path without it, and the watchdog interval from WATCHDOG_USEC/WATCHDOG_PID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"

#include "notify.h"

static char sock_path[108];
static int sock_fd = -1;

static int open_socket(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct timeval tv = {.tv_sec = 2};
        char dir[] = "/tmp/test-notify.XXXXXX";

        if (!mkdtemp(dir))
                return -errno;
        snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
        strcpy(sa.sun_path, sock_path);
        sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock_fd < 0)
                return -errno;
        if (bind(sock_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        (void) setsockopt(sock_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setenv("NOTIFY_SOCKET", sock_path, 1);
        return 0;
}

static void close_socket(void) {
        char dir[108];

        unsetenv("NOTIFY_SOCKET");
        if (sock_fd >= 0)
                close(sock_fd);
        sock_fd = -1;
        unlink(sock_path);
        snprintf(dir, sizeof(dir), "%s", sock_path);
        *strrchr(dir, '/') = '\0';
        rmdir(dir);
}

/* Receives one datagram (2 s deadline); "" on timeout. */
static const char *recv_msg(void) {
        static char buf[4096];
        ssize_t n = recv(sock_fd, buf, sizeof(buf) - 1, 0);

        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

static void test_messages(void) {
        CHECK_INT(open_socket(), 0);

        CHECK(notify_ready("Watching %s (version %d)", "/cgrouparch/arch_conf", 7) > 0);
        CHECK_STR(recv_msg(), "READY=1\nSTATUS=Watching /cgrouparch/arch_conf (version 7)");
        CHECK(notify_status("Applied %d cgroups", 3) > 0);
        CHECK_STR(recv_msg(), "STATUS=Applied 3 cgroups");
        /* a newline cannot end the STATUS line early */
        CHECK(notify_status("two\nlines") > 0);
        CHECK_STR(recv_msg(), "STATUS=two lines");
        CHECK(notify_watchdog() > 0);
        CHECK_STR(recv_msg(), "WATCHDOG=1");
        CHECK(notify_reloading() > 0);
        CHECK_STR(recv_msg(), "RELOADING=1");
        CHECK(notify_stopping() > 0);
        CHECK_STR(recv_msg(), "STOPPING=1");
        /* NOTIFY_SOCKET is kept for later messages */
        CHECK(getenv("NOTIFY_SOCKET") != NULL);

        close_socket();
}

static void test_no_socket_is_noop(void) {
        unsetenv("NOTIFY_SOCKET");
        CHECK_INT(notify_ready("x"), 0);
        CHECK_INT(notify_status("x"), 0);
        CHECK_INT(notify_stopping(), 0);
        CHECK_INT(notify_reloading(), 0);
        CHECK_INT(notify_watchdog(), 0);
}

static void test_socket_gone_is_error(void) {
        setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
        CHECK(notify_status("x") < 0);
        unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_interval(void) {
        char pid[32];

        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        CHECK_INT(notify_watchdog_interval_usec(), 0);

        setenv("WATCHDOG_USEC", "10000000", 1);
        CHECK_INT(notify_watchdog_interval_usec(), 5000000);

        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        setenv("WATCHDOG_PID", pid, 1);
        CHECK_INT(notify_watchdog_interval_usec(), 5000000);
        /* meant for another process (e.g. inherited by a child): no watchdog for us */
        snprintf(pid, sizeof(pid), "%d", (int) getpid() + 1);
        setenv("WATCHDOG_PID", pid, 1);
        CHECK_INT(notify_watchdog_interval_usec(), 0);
        unsetenv("WATCHDOG_PID");

        setenv("WATCHDOG_USEC", "garbage", 1);
        CHECK_INT(notify_watchdog_interval_usec(), 0);
        setenv("WATCHDOG_USEC", "0", 1);
        CHECK_INT(notify_watchdog_interval_usec(), 0);
        unsetenv("WATCHDOG_USEC");
}

int main(void) {
        RUN(test_messages);
        RUN(test_no_socket_is_noop);
        RUN(test_socket_gone_is_error);
        RUN(test_watchdog_interval);
        return TAP_END();
}
