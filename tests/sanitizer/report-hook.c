/* report-hook.c — linked into every program of the sanitizer build (build-asan/, `make
 * asan-build`), never into the real one. With GCC, ASan and UBSan are two runtimes, and UBSan
 * ignores log_path when ASan is loaded: its reports only reach stderr, which a daemon's test may
 * never read. The runtimes call __sanitizer_on_print() with everything they print (reports, leak
 * checks, warnings); with CGARCH_SAN_REPORTS=DIR (tests/run sets it in its sanitizer pass) each
 * process appends it to DIR/report.<program>.<pid>, and tests/run fails the test for every such
 * file. Built without instrumentation: it runs inside the runtime's own report. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void __sanitizer_on_print(const char *str);

/* n as decimal digits at p; returns the end */
static char *put_uint(char *p, unsigned long n) {
        char tmp[24];
        size_t i = 0;

        do
                tmp[i++] = (char) ('0' + n % 10);
        while ((n /= 10) > 0);
        while (i > 0)
                *p++ = tmp[--i];
        return p;
}

void __sanitizer_on_print(const char *str) {
        const char *dir = getenv("CGARCH_SAN_REPORTS");
        const char *name = program_invocation_short_name;
        char path[4096], *p = path;
        size_t n, len;
        int fd, saved = errno;

        if (!dir || !*dir || !str)
                return;
        if (strlen(dir) + strlen(name) + 40 > sizeof(path))
                return;
        memcpy(p, dir, strlen(dir));
        p += strlen(dir);
        memcpy(p, "/report.", 8);
        p += 8;
        memcpy(p, name, strlen(name));
        p += strlen(name);
        *p++ = '.';
        p = put_uint(p, (unsigned long) getpid());
        *p = '\0';
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) {
                len = strlen(str);
                for (n = 0; n < len;) {
                        ssize_t k = write(fd, str + n, len - n);
                        if (k <= 0)
                                break;
                        n += (size_t) k;
                }
                close(fd);
        }
        errno = saved;
}
