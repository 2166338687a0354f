/* macro.h — cleanup attributes and small helpers shared by all of cgrouparch. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand a pointer over: returns it and leaves NULL behind, so the cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p_ = (p);                                                           \
                (p) = NULL;                                                                        \
                _p_;                                                                               \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd_ = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _fd_;                                                                              \
        })

/* For a destructor `type *fn(type *)` that accepts NULL, defines `fn##p(type **)` for _cleanup_. */
#define DEFINE_CLEANUP_FUNC(type, fn)                                                              \
        static inline void fn##p(type **p) {                                                       \
                if (*p)                                                                            \
                        (void) fn(*p);                                                             \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* errno as a negative return value, never 0 even if errno was left unset. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) MIN(MAX((x), (lo)), (hi))

/* Makes room for at least `need` elements of `size` bytes in the array *p of *cap elements:
 * grows to max(need, 2 * cap, 16), so n appends cost O(n). 0, or -ENOMEM (overflow or out of
 * memory: *p and *cap untouched, the array still valid). Use GREEDY_REALLOC. */
static inline int greedy_realloc(void **p, size_t *cap, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *cap)
                return 0;
        n = MAX(MAX(need, *cap * 2), (size_t) 16);
        if (size == 0 || n > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}
/* GREEDY_REALLOC(v, cap, n + 1): room for one more after v[0..n). */
#define GREEDY_REALLOC(p, cap, need)                                                               \
        greedy_realloc((void **) &(p), &(cap), (need), sizeof((p)[0]))
