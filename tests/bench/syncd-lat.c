/* syncd-lat — cg-syncd latency bench helper.
 *   syncd-lat zk HOSTS AUTH NODE SNAPSHOT N FILE_A FILE_B
 *       N changes of NODE alternating between the contents of FILE_A and FILE_B; each time the
 *       latency from zoo_set returning to the snapshot being renamed into place (inotify on its
 *       directory, IN_MOVED_TO of its name). Prints "p50 p99 max mean" in ms.
 *   syncd-lat bare-weight CGDIR N
 *       N writes of cpu.shares in CGDIR alternating 1024/512 (open, write, close): the bare tree
 *       operation of a one-weight change.
 *   syncd-lat bare-dirs N COUNT DIR...
 *       N times: mkdir COUNT cgroups in each DIR, or rmdir them (alternating): the bare tree
 *       operations of adding/removing COUNT cgroups. Prints the same figures. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "zk.h"

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(uint64_t *v, int n) {
        uint64_t sum = 0;

        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        for (int i = 0; i < n; i++)
                sum += v[i];
        printf("%.3f %.3f %.3f %.3f\n", v[n / 2] / 1000.0, v[(n * 99 + 99) / 100 - 1] / 1000.0,
               v[n - 1] / 1000.0, (double) sum / n / 1000.0);
}

static int fail(const char *what, int r) {
        fprintf(stderr, "syncd-lat: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return 1;
}

/* Waits for IN_MOVED_TO of `name`: 0, or -ETIMEDOUT after 10 s. */
static int wait_rename(int ifd, const char *name) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                struct pollfd p = {.fd = ifd, .events = POLLIN};
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                ssize_t n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                if (poll(&p, 1, (int) ((deadline - now) / 1000) + 1) <= 0)
                        continue;
                n = read(ifd, buf, sizeof(buf));
                for (char *q = buf; n > 0 && q < buf + n;) {
                        struct inotify_event *e = (struct inotify_event *) q;
                        if ((e->mask & IN_MOVED_TO) && e->len && strcmp(e->name, name) == 0)
                                return 0;
                        q += sizeof(*e) + e->len;
                }
        }
}

static int bench_zk(int argc, char **argv) {
        _cleanup_(zk_freep) struct zk *z = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *dir = NULL;
        char *auth[2] = {argv[1], NULL};
        const char *node = argv[2], *snap = argv[3], *name;
        int n = atoi(argv[4]), ifd, r;
        size_t la, lb;
        uint64_t *lat;

        if (argc < 7 || n <= 0)
                return 2;
        if ((r = read_full_file(argv[5], &a, &la)) < 0 ||
            (r = read_full_file(argv[6], &b, &lb)) < 0)
                return fail("read", r);
        dir = strdup(snap);
        name = strrchr(snap, '/');
        if (!dir || !name)
                return 2;
        name++;
        dir[name - snap - 1] = 0;
        ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd < 0 || inotify_add_watch(ifd, dir, IN_MOVED_TO) < 0)
                return fail("inotify", -errno);
        r = zk_new(argv[0], 10000, auth, &z);
        if (r < 0)
                return fail("zk_new", r);
        lat = calloc((size_t) n, sizeof(*lat));
        if (!lat)
                return 1;
        for (int i = 0; i < n; i++) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC, t0, t1;
                const char *d = i % 2 ? a : b;
                size_t l = i % 2 ? la : lb;
                char drain[4096];

                r = zk_wait_connected(z, deadline);
                if (r < 0)
                        return fail("connect", r);
                while (read(ifd, drain, sizeof(drain)) > 0)
                        ; /* nothing pending from an earlier round */
                r = zk_set(z, node, d, l, -1, (uint64_t) i + 1);
                if (r < 0)
                        return fail("zk_set", r);
                r = zk_wait_done(z, (uint64_t) i + 1, deadline, &ev);
                t0 = now_usec(CLOCK_MONOTONIC); /* zoo_set returned */
                if (r < 0 || ev->err < 0)
                        return fail("zoo_set", r < 0 ? r : ev->err);
                r = wait_rename(ifd, name);
                t1 = now_usec(CLOCK_MONOTONIC);
                if (r < 0)
                        return fail("waiting for the snapshot", r);
                lat[i] = t1 - t0;
        }
        report(lat, n);
        free(lat);
        close(ifd);
        return 0;
}

static int bench_weight(int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        int n = argc >= 2 ? atoi(argv[1]) : 0;
        uint64_t *lat;

        if (n <= 0 || xasprintf(&path, "%s/cpu.shares", argv[0]) < 0)
                return 2;
        lat = calloc((size_t) n, sizeof(*lat));
        if (!lat)
                return 1;
        for (int i = 0; i < n; i++) {
                uint64_t t0 = now_usec(CLOCK_MONOTONIC);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                const char *v = i % 2 ? "512" : "1024";
                if (fd < 0 || write(fd, v, strlen(v)) < 0)
                        return fail(path, -errno);
                close(fd);
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
        }
        report(lat, n);
        free(lat);
        return 0;
}

static int bench_dirs(int argc, char **argv) {
        int n = atoi(argv[0]), count = argc >= 2 ? atoi(argv[1]) : 0;
        uint64_t *lat;

        if (n <= 0 || count <= 0 || argc < 3)
                return 2;
        lat = calloc((size_t) n, sizeof(*lat));
        if (!lat)
                return 1;
        for (int i = 0; i < n; i++) {
                uint64_t t0 = now_usec(CLOCK_MONOTONIC);
                for (int d = 2; d < argc; d++)
                        for (int k = 0; k < count; k++) {
                                char p[PATH_MAX];
                                snprintf(p, sizeof(p), "%s/bare_%d", argv[d], k);
                                if ((i % 2 == 0 ? mkdir(p, 0755) : rmdir(p)) < 0)
                                        return fail(p, -errno);
                        }
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
        }
        report(lat, n);
        free(lat);
        return 0;
}

int main(int argc, char **argv) {
        if (argc >= 8 && strcmp(argv[1], "zk") == 0)
                return bench_zk(argc - 2, argv + 2);
        if (argc >= 4 && strcmp(argv[1], "bare-weight") == 0)
                return bench_weight(argc - 2, argv + 2);
        if (argc >= 5 && strcmp(argv[1], "bare-dirs") == 0)
                return bench_dirs(argc - 2, argv + 2);
        fprintf(stderr, "usage: see the comment at the top of tests/bench/syncd-lat.c\n");
        return 2;
}
