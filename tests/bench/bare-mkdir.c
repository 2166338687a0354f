/* bare-mkdir.c — the baseline of tests/bench/apply.sh: the bare syscalls a minimal tool needs
 * to build (or remove) the bench tree, with nothing else: mkdir + write cpu.shares per cgroup,
 * mirrored in each given hierarchy root; rmdir children first for "remove".
 * Usage: bare-mkdir create|remove N_TOP N_CHILD SHARE DIR...   (DIR: <hierarchy>/<test root>)
 * The first DIR gets cpu.shares; the others (cpuacct) directories only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_shares(const char *dir, const char *share) {
        char p[4096];
        int fd;

        snprintf(p, sizeof(p), "%s/cpu.shares", dir);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (write(fd, share, strlen(share)) < 0) {
                close(fd);
                return -1;
        }
        return close(fd);
}

int main(int argc, char **argv) {
        char p[4096];
        int create, ntop, nchild;

        if (argc < 6) {
                fprintf(stderr, "usage: bare-mkdir create|remove N_TOP N_CHILD SHARE DIR...\n");
                return 2;
        }
        create = strcmp(argv[1], "create") == 0;
        ntop = atoi(argv[2]);
        nchild = atoi(argv[3]);
        for (int d = 5; d < argc; d++)
                for (int i = 0; i < ntop; i++) {
                        if (create) {
                                snprintf(p, sizeof(p), "%s/g%d", argv[d], i);
                                if (mkdir(p, 0755) < 0 || (d == 5 && write_shares(p, argv[4]) < 0))
                                        goto fail;
                        }
                        for (int j = 0; j < nchild; j++) {
                                snprintf(p, sizeof(p), "%s/g%d/g%d_%d", argv[d], i, i, j);
                                if (create ? mkdir(p, 0755) < 0 || (d == 5 && write_shares(p, argv[4]) < 0)
                                           : rmdir(p) < 0)
                                        goto fail;
                        }
                        if (!create) {
                                snprintf(p, sizeof(p), "%s/g%d", argv[d], i);
                                if (rmdir(p) < 0)
                                        goto fail;
                        }
                }
        return 0;
fail:
        fprintf(stderr, "bare-mkdir: %s: %s\n", p, strerror(errno));
        return 1;
}
