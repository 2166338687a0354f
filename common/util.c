/* util.c — see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* read(2) until `size` bytes or EOF; the count read, or -errno. */
static ssize_t read_loop(int fd, char *buf, size_t size) {
        size_t len = 0;

        while (len < size) {
                ssize_t n = read(fd, buf + len, size - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        return (ssize_t) len;
}

int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 4096, len = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t want;
                ssize_t n;

                if (len + 1 >= size) {
                        char *nb;

                        if (size > (64u << 20))
                                return -EFBIG;
                        nb = realloc(buf, size * 2);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        size *= 2;
                }
                want = size - len - 1;
                n = read_loop(fd, buf + len, want);
                if (n < 0)
                        return (int) n;
                len += (size_t) n;
                if ((size_t) n < want)
                        break; /* EOF */
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_small_file_at(int dirfd, const char *path, int flags, char *buf, size_t size,
                       size_t *ret_len, struct stat *ret_st) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        fd = openat(dirfd, path,
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & READ_NONBLOCK ? O_NONBLOCK : 0));
        if (fd < 0)
                return negative_errno();
        if (flags & READ_REGULAR) {
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (!S_ISREG(st.st_mode))
                        return -EBADF;
        }
        n = read_loop(fd, buf, size - 1);
        if (n < 0)
                return (int) n;
        if ((size_t) n + 1 >= size)
                return -EFBIG;
        buf[n] = 0;
        if (ret_len)
                *ret_len = (size_t) n;
        if (ret_st && (flags & READ_REGULAR))
                *ret_st = st;
        return 0;
}

int read_full_file(const char *path, char **ret, size_t *ret_len) {
        return read_full_file_at(AT_FDCWD, path, ret, ret_len);
}

int write_string_file_at(int dirfd, const char *path, const char *s) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(s);
        ssize_t n;

        /* O_TRUNC like a shell redirection: cgroupfs ignores it, a regular file (a test
         * fixture) needs it not to keep the tail of a longer old text. */
        fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = write(fd, s, len);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *p = data;
        int r;

        r = xasprintf(&tmp, "%s.tmp.%ld", path, (long) getpid());
        if (r < 0)
                return r;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fchmod(fd, mode) < 0 || close(TAKE_FD(fd)) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

int safe_atou64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !*s || *s == ' ' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **nl;

        nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(value);
                return -ENOMEM;
        }
        nl[n] = value;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *c = strdup(value);

        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (; *l; l++)
                        if (strcmp(*l, s) == 0)
                                return true;
        return false;
}

int strv_split(const char *s, const char *sep, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        /* An empty result is an empty vector, not NULL, so callers can tell it from "unset". */
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (*s) {
                size_t n;

                s += strspn(s, sep);
                n = strcspn(s, sep);
                if (n == 0)
                        break;
                char *w = strndup(s, n);
                if (!w)
                        return -ENOMEM;
                r = strv_push(&l, w);
                if (r < 0)
                        return r;
                s += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int xasprintf(char **ret, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
