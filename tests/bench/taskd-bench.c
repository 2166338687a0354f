/* taskd-bench.c — helpers of tests/bench/taskd.sh.
 *
 *   taskd-bench write LIST DIR...
 *       The baseline: the bare writes a minimal tool needs to place known pids. LIST has lines
 *       "<pid> <relative cgroup path>"; each pid is written once to <DIR>/<path>/cgroup.procs
 *       for every DIR (a hierarchy's test root), with one cached fd per cgroup file. Prints
 *       "writes=N ms=X".
 *   taskd-bench latency PIDFILE CGPATH N
 *       N "service restarts": fork a sleeping child, write its pid to PIDFILE.tmp, rename it to
 *       PIDFILE (t0), then poll /proc/<child>/cgroup every 50 us until its cpu, cpuacct and
 *       blkio lines (when present) all read CGPATH (t1). The previous child is killed after the
 *       new one is placed. Prints "n=N p50_us=.. p90_us=.. p99_us=.. max_us=.. timeouts=..". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tools/pidfile-latency.h"

struct fdc {
        char *path;
        int fd;
};

static int cached_fd(struct fdc **v, size_t *n, const char *path) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i].path, path) == 0)
                        return (*v)[i].fd;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        *v = realloc(*v, (*n + 1) * sizeof(**v));
        (*v)[*n] = (struct fdc){.path = strdup(path), .fd = fd};
        (*n)++;
        return fd;
}

static int cmd_write(int argc, char **argv) {
        FILE *f = fopen(argv[2], "re");
        struct fdc *fds = NULL;
        size_t nfds = 0, writes = 0, errors = 0;
        char line[4096];
        struct {
                int pid;
                char path[256];
        } *items = NULL;
        size_t n = 0;

        if (!f) {
                perror(argv[2]);
                return 1;
        }
        while (fgets(line, sizeof(line), f)) {
                items = realloc(items, (n + 1) * sizeof(*items));
                if (sscanf(line, "%d %255s", &items[n].pid, items[n].path) == 2)
                        n++;
        }
        fclose(f);
        /* open every cgroup file first and resolve each write's fd: a daemon holds its fds, so
         * the timed loop below is nothing but the write(2)s */
        int ndirs = argc - 3;
        int *fdv = calloc(n * (size_t) ndirs, sizeof(int));
        for (size_t i = 0; i < n; i++)
                for (int d = 0; d < ndirs; d++) {
                        char p[4096];
                        snprintf(p, sizeof(p), "%s/%s/cgroup.procs", argv[3 + d], items[i].path);
                        fdv[i * (size_t) ndirs + (size_t) d] = cached_fd(&fds, &nfds, p);
                }
        double t0 = now_ms();
        for (size_t i = 0; i < n; i++) {
                char num[16];
                int len = snprintf(num, sizeof(num), "%d", items[i].pid);
                for (int d = 0; d < ndirs; d++) {
                        int fd = fdv[i * (size_t) ndirs + (size_t) d];
                        if (fd < 0 || write(fd, num, (size_t) len) != len)
                                errors++;
                        writes++;
                }
        }
        double t1 = now_ms();
        printf("writes=%zu errors=%zu ms=%.1f\n", writes, errors, t1 - t0);
        return errors ? 1 : 0;
}

int main(int argc, char **argv) {
        if (argc >= 4 && strcmp(argv[1], "write") == 0)
                return cmd_write(argc, argv);
        if (argc == 5 && strcmp(argv[1], "latency") == 0)
                return pidfile_latency(argv[2], argv[3], atoi(argv[4]), 2000, 2000) != 0;
        fprintf(stderr, "usage: taskd-bench write LIST DIR... | latency PIDFILE CGPATH N\n");
        return 2;
}
