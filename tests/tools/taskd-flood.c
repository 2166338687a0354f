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

#include "pidfile-latency.h"

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

int main(int argc, char **argv) {
        if (argc == 8 && strcmp(argv[1], "churn") == 0)
                return cmd_churn(argv);
        if (argc == 6 && strcmp(argv[1], "latency") == 0)
                return pidfile_latency(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), 20000) < 0;
        fprintf(stderr, "usage: taskd-flood churn DIR NFILES GDIR NDIRS SECONDS CONTENT | latency "
                        "PIDFILE CGPATH N TIMEOUT_MS\n");
        return 2;
}
