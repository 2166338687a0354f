/* taskd-tree — a test "service" for cg-taskd: forks children (and grandchildren) and starts
 * threads, one of which forks a child of its own, all *before* writing its pid file; then
 * sleeps until SIGTERM. Every descendant dies with its parent (PR_SET_PDEATHSIG).
 *
 *   taskd-tree [--pidfile PATH] [--rename] [--children N] [--grandchildren M] [--threads T]
 *              [--thread-child] [--later-child-ms MS]
 *
 * --rename writes the pid file as a service restart does: a temp file, then rename(2).
 * --later-child-ms forks one more child MS ms after the pid file is written (a child born
 * while cg-taskd is placing the tree). Prints nothing; exits 0 on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die_with_parent(pid_t parent) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(0); /* the parent died before prctl */
}

static pid_t spawn_sleeper(int grandchildren) {
        pid_t parent = getpid();
        pid_t c = fork();

        if (c != 0)
                return c;
        die_with_parent(parent);
        {
                sigset_t none;
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
        }
        for (int i = 0; i < grandchildren; i++)
                spawn_sleeper(0);
        for (;;)
                pause();
}

static void *thread_main(void *arg) {
        if (arg)
                spawn_sleeper(0); /* a child whose parent is this (non-main) thread */
        for (;;)
                pause();
        return NULL;
}

static int write_pidfile(const char *path, bool rename_into_place) {
        char tmp[4096], buf[32];
        const char *target = path;
        int fd, n;

        if (rename_into_place) {
                snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid());
                target = tmp;
        }
        fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
        if (write(fd, buf, (size_t) n) != n) {
                close(fd);
                return -EIO;
        }
        close(fd);
        if (rename_into_place && rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) {
        (void) sig;
        stop = 1;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"pidfile", required_argument, NULL, 'p'},
                {"rename", no_argument, NULL, 'r'},
                {"children", required_argument, NULL, 'c'},
                {"grandchildren", required_argument, NULL, 'g'},
                {"threads", required_argument, NULL, 't'},
                {"thread-child", no_argument, NULL, 'T'},
                {"later-child-ms", required_argument, NULL, 'l'},
                {},
        };
        const char *pidfile = NULL;
        bool rename_into_place = false, thread_child = false;
        int children = 0, grandchildren = 0, threads = 0, later_ms = -1, c;
        struct sigaction sa = {.sa_handler = on_term};
        sigset_t mask, old;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'p':
                        pidfile = optarg;
                        break;
                case 'r':
                        rename_into_place = true;
                        break;
                case 'c':
                        children = atoi(optarg);
                        break;
                case 'g':
                        grandchildren = atoi(optarg);
                        break;
                case 't':
                        threads = atoi(optarg);
                        break;
                case 'T':
                        thread_child = true;
                        break;
                case 'l':
                        later_ms = atoi(optarg);
                        break;
                default:
                        return 2;
                }
        /* children never inherit a blocked SIGTERM from a shell; we wait in sigsuspend */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, &old);

        for (int i = 0; i < children; i++)
                if (spawn_sleeper(grandchildren) < 0) {
                        perror("fork");
                        return 1;
                }
        for (int i = 0; i < threads; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, thread_main,
                                   (thread_child && i == 0) ? (void *) 1 : NULL) != 0)
                        return 1;
        }
        if (thread_child && threads == 0) {
                pthread_t t;
                if (pthread_create(&t, NULL, thread_main, (void *) 1) != 0)
                        return 1;
        }
        usleep(20000); /* let the thread's fork land before the pid file appears */
        if (pidfile && write_pidfile(pidfile, rename_into_place) < 0) {
                perror("pidfile");
                return 1;
        }
        if (later_ms >= 0) {
                usleep((useconds_t) later_ms * 1000);
                spawn_sleeper(0);
        }
        while (!stop)
                sigsuspend(&old);
        return 0;
}
