/* util.c — see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
        if (flags & READ_ONCE)
                do
                        n = read(fd, buf, size - 1);
                while (n < 0 && errno == EINTR);
        else
                n = read_loop(fd, buf, size - 1);
        if (n < 0)
                return flags & READ_ONCE ? negative_errno() : (int) n;
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

        /* A random name, created exclusively: the old "<path>.tmp.<pid>" could be guessed and
         * pre-placed (as a symlink) by anyone who can write the directory. */
        for (unsigned attempt = 0; fd < 0; attempt++) {
                uint64_t rnd;

                if (attempt >= 16)
                        return -EEXIST;
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                        rnd = now_usec(CLOCK_MONOTONIC) ^ ((uint64_t) getpid() << 32) ^ attempt;
                tmp = mfree(tmp);
                r = xasprintf(&tmp, "%s.tmp.%016llx", path, (unsigned long long) rnd);
                if (r < 0)
                        return r;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                          mode);
                if (fd < 0 && errno != EEXIST)
                        return negative_errno();
        }
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

int open_path_trusted_at(int dirfd, bool dir_trusted, const char *path, int *ret_fd,
                         struct stat *ret_st, bool *ret_trusted) {
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int owned = -1; /* dir, when this walk opened it */
        int dir;
        struct stat st = {};
        unsigned links = 0;
        bool trusted; /* every directory walked so far (and every link followed) is root's */
        const char *p;

        if (!path || !*path || (path[0] != '/' && dirfd < 0))
                return -EINVAL;
        todo = strdup(path);
        if (!todo)
                return -ENOMEM;
        if (path[0] == '/') {
                owned = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (owned < 0 || fstat(owned, &st) < 0)
                        return negative_errno();
                dir = owned;
                trusted = st.st_uid == 0;
        } else {
                dir = dirfd;
                trusted = dir_trusted;
        }
        p = todo;
        for (;;) {
                _cleanup_close_ int fd = -1;
                char comp[NAME_MAX + 1];
                size_t n;

                p += strspn(p, "/");
                if (!*p) {
                        /* the path names "/" (only a walk from "/" gets here: a relative one
                         * ends at its last component below) */
                        if (owned < 0)
                                return -EINVAL;
                        *ret_st = st;
                        *ret_fd = TAKE_FD(owned);
                        if (ret_trusted)
                                *ret_trusted = trusted;
                        return 0;
                }
                n = strcspn(p, "/");
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = 0;
                p += n;
                fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return negative_errno();
                if (S_ISLNK(st.st_mode)) {
                        _cleanup_free_ char *next = NULL;
                        char target[PATH_MAX];
                        ssize_t k;
                        int r;

                        if (!trusted || st.st_uid != 0)
                                return -ENOLINK;
                        if (++links > 32)
                                return -ELOOP;
                        k = readlinkat(fd, "", target, sizeof(target) - 1);
                        if (k < 0)
                                return negative_errno();
                        if (k == 0)
                                return -ENOENT;
                        target[k] = 0;
                        /* the path still to walk: the target, then what followed the link,
                         * slashes included ("link/" must still name a directory) */
                        r = xasprintf(&next, "%s%s", target, p);
                        if (r < 0)
                                return r;
                        if (target[0] == '/') {
                                closep(&owned);
                                owned = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                                if (owned < 0 || fstat(owned, &st) < 0)
                                        return negative_errno();
                                dir = owned;
                                trusted = trusted && st.st_uid == 0;
                        }
                        free(todo);
                        todo = TAKE_PTR(next);
                        p = todo;
                        continue;
                }
                if (p[strspn(p, "/")] == 0 && !(*p == '/' && !S_ISDIR(st.st_mode))) {
                        /* the last component: handed over as it is, type unchecked */
                        *ret_st = st;
                        *ret_fd = TAKE_FD(fd);
                        if (ret_trusted)
                                *ret_trusted = trusted && st.st_uid == 0;
                        return 0;
                }
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                trusted = trusted && st.st_uid == 0;
                closep(&owned);
                owned = TAKE_FD(fd);
                dir = owned;
        }
}

int open_path_trusted(const char *path, int *ret_fd, struct stat *ret_st) {
        return open_path_trusted_at(-1, false, path, ret_fd, ret_st, NULL); /* relative: -EINVAL */
}

int read_small_file_opath(int opath_fd, const struct stat *known, int proc_fd_dir, char *buf,
                          size_t size, size_t *ret_len) {
        char name[64];
        struct stat st;

        if (!known) {
                if (fstat(opath_fd, &st) < 0)
                        return negative_errno();
                known = &st;
        }
        if (!S_ISREG(known->st_mode))
                return -EBADF;
        /* The magic link opens the very inode the O_PATH fd holds (no path lookup again), so
         * it is the regular file just checked: no second fstat. */
        snprintf(name, sizeof(name), proc_fd_dir >= 0 ? "%d" : "/proc/self/fd/%d", opath_fd);
        return read_small_file_at(proc_fd_dir >= 0 ? proc_fd_dir : AT_FDCWD, name, READ_NONBLOCK,
                                  buf, size, ret_len, NULL);
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

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not valid: no overlong forms, no
 * surrogates, nothing above U+10FFFF (RFC 3629). */
size_t utf8_seq_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t k;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                k = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                k = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                k = 4, cp = c & 0x07;
        else
                return 0;
        if (n < k)
                return 0;
        for (size_t i = 1; i < k; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return k;
}
