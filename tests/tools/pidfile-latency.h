/* pidfile-latency.h — the measuring side shared by tests/bench/taskd-bench.c and
 * tests/tools/taskd-flood.c: how long a "service restart" (a new process whose pid is renamed
 * into a pid file) takes to be placed by cg-taskd, seen from /proc/<pid>/cgroup. Header-only
 * (static functions), as each test program is a single .c file. */
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* All of the process's cgroup lines for cpu, cpuacct, blkio (those present) equal `want`. */
static inline int placed(pid_t pid, const char *want) {
        char p[64], buf[8192];
        int fd, n, seen = 0, ok = 0;

        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = (int) read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                if (strcmp(c1 + 1, "cpu") == 0 || strcmp(c1 + 1, "cpuacct") == 0 ||
                    strcmp(c1 + 1, "blkio") == 0 || strcmp(c1 + 1, "cpu,cpuacct") == 0) {
                        seen++;
                        if (strcmp(c2 + 1, want) == 0)
                                ok++;
                }
        }
        return seen > 0 && ok == seen;
}

static inline int latency_dcmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* N "service restarts": fork a sleeping child, wait `start_delay_us` (a service writes its pid
 * file some time after it starts), write its pid to PIDFILE.tmp, rename it to PIDFILE (t0), then
 * poll placed() every 50 us until it holds (t1), at most `timeout_ms`. The previous child is
 * killed after the new one is placed. Prints "n=N p50_us=.. p90_us=.. p99_us=.. max_us=..
 * timeouts=..". Returns -1 on a failure or when nothing was placed, else the timeouts. */
static inline int pidfile_latency(const char *pidfile, const char *want, int n, double timeout_ms,
                                  unsigned start_delay_us) {
        double *lat = calloc((size_t) (n > 0 ? n : 1), sizeof(double));
        int timeouts = 0, k = 0;
        pid_t prev = 0;
        char tmp[4096];

        if (!lat)
                return -1;
        snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
        for (int i = 0; i < n; i++) {
                pid_t parent = getpid(), c = fork();
                if (c == 0) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != parent)
                                _exit(0);
                        for (;;)
                                pause();
                }
                usleep(start_delay_us);
                FILE *f = fopen(tmp, "we");
                if (!f) {
                        perror(tmp);
                        return -1;
                }
                fprintf(f, "%d\n", (int) c);
                fclose(f);
                double t0 = now_ms();
                if (rename(tmp, pidfile) < 0) {
                        perror("rename");
                        return -1;
                }
                while (!placed(c, want) && now_ms() - t0 <= timeout_ms)
                        usleep(50);
                double t1 = now_ms();
                if (t1 - t0 <= timeout_ms)
                        lat[k++] = (t1 - t0) * 1000.0;
                else
                        timeouts++;
                if (prev > 0) {
                        kill(prev, SIGKILL);
                        waitpid(prev, NULL, 0);
                }
                prev = c;
        }
        if (prev > 0) {
                kill(prev, SIGKILL);
                waitpid(prev, NULL, 0);
        }
        if (k == 0) {
                printf("n=0 timeouts=%d\n", timeouts);
                free(lat);
                return -1;
        }
        qsort(lat, (size_t) k, sizeof(double), latency_dcmp);
        printf("n=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f timeouts=%d\n", k, lat[k / 2],
               lat[(k * 90) / 100], lat[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1], lat[k - 1],
               timeouts);
        free(lat);
        return timeouts;
}
