/* taskd-flood.c — the hostile side and the measuring side of tests/integration/taskd-flood.sh and
 * tests/bench/taskd-flood.sh (issue 12, rows 2 and 3).
 *
 *   taskd-flood churn DIR NFILES GDIR NDIRS SECONDS CONTENT
 *       Run as an unprivileged user. Until SECONDS have passed, in rounds: creates DIR/atk-<i>.pid
 *       for i < NFILES, each holding CONTENT, and, interleaved with them, GDIR/d<i> for i < NDIRS,
 *       each with a main.pid holding CONTENT; then removes them all in the same order. Prints "rounds=N files=N dirs=N" (files and dirs
 *       created) at the end or on SIGTERM.
 *   taskd-flood latency PIDFILE CGPATH N TIMEOUT_MS
 *       N "service restarts": forks a sleeping child, writes its pid to PIDFILE.tmp, renames it to
 *       PIDFILE (t0), then polls /proc/<child>/cgroup every 50 us until its cpu, cpuacct and blkio
 *       lines (those present) all read CGPATH (t1), at most TIMEOUT_MS. Prints
 *       "n=N p50_us=.. p90_us=.. p99_us=.. max_us=.. timeouts=..". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_file(const char *path, const char *content) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        (void) !write(fd, content, strlen(content));
        close(fd);
}

static volatile sig_atomic_t stop;
static void on_term(int sig) {
        (void) sig;
        stop = 1;
}

static int cmd_churn(char **argv) {
        const char *dir = argv[2], *gdir = argv[4], *content = argv[7];
        int nfiles = atoi(argv[3]), ndirs = atoi(argv[5]);
        double end = now_ms() + atof(argv[6]) * 1000;
        long rounds = 0, files = 0, dirs = 0;
        char p[4096];

        signal(SIGTERM, on_term); /* stop after the current step, then report */
        /* directories are interleaved with the files, so that both kinds exist all the time */
        int step = ndirs > 0 && nfiles > ndirs ? nfiles / ndirs : 1;
        int steps = nfiles > ndirs * step ? nfiles : ndirs * step;

        while (now_ms() < end && !stop) {
                for (int i = 0, j = 0; i < steps && !stop; i++) {
                        if (i < nfiles) {
                                snprintf(p, sizeof(p), "%s/atk-%d.pid", dir, i);
                                write_file(p, content);
                                files++;
                        }
                        if (i % step == 0 && j < ndirs) {
                                snprintf(p, sizeof(p), "%s/d%d", gdir, j++);
                                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                        continue;
                                dirs++;
                                snprintf(p, sizeof(p), "%s/d%d/main.pid", gdir, j - 1);
                                write_file(p, content);
                        }
                }
                for (int i = 0, j = 0; i < steps; i++) {
                        if (i < nfiles) {
                                snprintf(p, sizeof(p), "%s/atk-%d.pid", dir, i);
                                unlink(p);
                        }
                        if (i % step == 0 && j < ndirs) {
                                snprintf(p, sizeof(p), "%s/d%d/main.pid", gdir, j);
                                unlink(p);
                                snprintf(p, sizeof(p), "%s/d%d", gdir, j++);
                                rmdir(p);
                        }
                }
                rounds++;
        }
        printf("rounds=%ld files=%ld dirs=%ld\n", rounds, files, dirs);
        fflush(stdout);
        return 0;
}

static int placed(pid_t pid, const char *want) {
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

static int dcmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static int cmd_latency(char **argv) {
        const char *pidfile = argv[2], *want = argv[3];
        int n = atoi(argv[4]), timeouts = 0, k = 0;
        double timeout = atof(argv[5]);
        double *lat = calloc((size_t) (n > 0 ? n : 1), sizeof(double));
        pid_t prev = 0;
        char tmp[4096];

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
                usleep(20000); /* a service writes its pid file some time after it starts */
                FILE *f = fopen(tmp, "we");
                if (!f) {
                        perror(tmp);
                        return 1;
                }
                fprintf(f, "%d\n", (int) c);
                fclose(f);
                double t0 = now_ms();
                if (rename(tmp, pidfile) < 0) {
                        perror("rename");
                        return 1;
                }
                while (!placed(c, want)) {
                        if (now_ms() - t0 > timeout)
                                break;
                        usleep(50);
                }
                double t1 = now_ms();
                if (t1 - t0 <= timeout)
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
                return 1;
        }
        qsort(lat, (size_t) k, sizeof(double), dcmp);
        printf("n=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f timeouts=%d\n", k, lat[k / 2],
               lat[(k * 90) / 100], lat[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1], lat[k - 1],
               timeouts);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 8 && strcmp(argv[1], "churn") == 0)
                return cmd_churn(argv);
        if (argc == 6 && strcmp(argv[1], "latency") == 0)
                return cmd_latency(argv);
        fprintf(stderr, "usage: taskd-flood churn DIR NFILES GDIR NDIRS SECONDS CONTENT | latency "
                        "PIDFILE CGPATH N TIMEOUT_MS\n");
        return 2;
}
