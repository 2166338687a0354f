/* acctd-burn — test helper for cg-accountd: moves itself into the given cgroup.procs files,
 * burns MS milliseconds of its own CPU time, and prints the CPU nanoseconds it used after it
 * was placed. Usage: acctd-burn MS CGROUP_PROCS_FILE...   */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long cpu_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
}

int main(int argc, char **argv) {
        unsigned long long start, want;
        volatile unsigned long sink = 0;
        char pid[32];

        if (argc < 2) {
                fprintf(stderr, "usage: acctd-burn MS [CGROUP_PROCS...]\n");
                return 2;
        }
        want = strtoull(argv[1], NULL, 10) * 1000000ULL;
        snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
        for (int i = 2; i < argc; i++) {
                int fd = open(argv[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
                        fprintf(stderr, "acctd-burn: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                close(fd);
        }
        start = cpu_ns();
        while (cpu_ns() - start < want)
                for (int k = 0; k < 10000; k++)
                        sink += (unsigned long) k;
        printf("%llu\n", cpu_ns() - start);
        return 0;
}
