/* accountd-bare — the bare cost of reading a list of files (one path a line on stdin), as a
 * baseline for cg-accountd's tick: `open` mode opens, reads and closes each file every pass;
 * `pread` mode keeps them open and re-reads from offset 0 (what cg-accountd does).
 * Prints "<mode> <files> <cpu ns per pass> <wall ns per pass>".
 * Usage: accountd-bare open|pread PASSES < files */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long ns(clockid_t c) {
        struct timespec ts;
        clock_gettime(c, &ts);
        return (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
}

int main(int argc, char **argv) {
        char line[4096], buf[8192];
        char **files = NULL;
        int *fds = NULL;
        size_t n = 0, cap = 0;
        int passes, keep;
        unsigned long long c0, w0;

        if (argc != 3 || (strcmp(argv[1], "open") && strcmp(argv[1], "pread"))) {
                fprintf(stderr, "usage: accountd-bare open|pread PASSES < files\n");
                return 2;
        }
        keep = strcmp(argv[1], "pread") == 0;
        passes = atoi(argv[2]);
        while (fgets(line, sizeof(line), stdin)) {
                line[strcspn(line, "\n")] = '\0';
                if (n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        files = realloc(files, cap * sizeof(*files));
                        fds = realloc(fds, cap * sizeof(*fds));
                        if (!files || !fds)
                                return 1;
                }
                files[n] = strdup(line);
                fds[n] = keep ? open(line, O_RDONLY | O_CLOEXEC) : -1;
                n++;
        }
        c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
        w0 = ns(CLOCK_MONOTONIC);
        for (int p = 0; p < passes; p++)
                for (size_t i = 0; i < n; i++) {
                        if (keep) {
                                if (fds[i] >= 0 && pread(fds[i], buf, sizeof(buf), 0) < 0)
                                        return 1;
                        } else {
                                int fd = open(files[i], O_RDONLY | O_CLOEXEC);
                                if (fd < 0)
                                        continue;
                                if (read(fd, buf, sizeof(buf)) < 0)
                                        return 1;
                                close(fd);
                        }
                }
        printf("%s %zu %llu %llu\n", argv[1], n, (ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / passes,
               (ns(CLOCK_MONOTONIC) - w0) / passes);
        return 0;
}
