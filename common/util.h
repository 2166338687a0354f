/* util.h — small helpers: time, files, numbers, string vectors. Returns >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "macro.h"

#define USEC_PER_SEC 1000000ULL
#define NSEC_PER_USEC 1000ULL
#define USEC_PER_MSEC 1000ULL

uint64_t now_usec(clockid_t clock);

/* Reads a whole file (any size, also /proc and cgroup files whose st_size lies) into a
 * NUL-terminated buffer. *ret is owned by the caller; *ret_len may be NULL. */
int read_full_file(const char *path, char **ret, size_t *ret_len);
/* Same, relative to a directory fd (openat). */
int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_len);
/* Reads a small file into the caller's buffer, NUL-terminated, without allocating (hot paths:
 * /proc/<pid>/stat, pid files). -EFBIG: it holds size - 1 bytes or more (size >= 2).
 * READ_NONBLOCK opens with O_NONBLOCK (a FIFO named as a pid file must not block);
 * READ_REGULAR refuses anything but a regular file (-EBADF) and fills *ret_st (may be NULL).
 * READ_ONCE stops after the first read(): for a single-value cgroup file (kernfs hands out the
 * whole text in one), this saves the read() that would only return 0 (10,000 of them in a
 * no-op apply of 10,000 cgroups). Not for files that may come in several pieces (/proc,
 * multi-record seq files, pipes).
 * *ret_len may be NULL. */
enum {
        READ_NONBLOCK = 1 << 0,
        READ_REGULAR = 1 << 1,
        READ_ONCE = 1 << 2,
};
struct stat;
int read_small_file_at(int dirfd, const char *path, int flags, char *buf, size_t size,
                       size_t *ret_len, struct stat *ret_st);
/* Opens `path` (absolute) without trusting what an unprivileged user controls, the rule of
 * systemd's CHASE_SAFE as cg-taskd's pid files need it: every component is opened
 * O_PATH|O_NOFOLLOW, and a symlink (in any component) is followed only if root owns it and every
 * directory walked to reach it; at most 32 links. Nothing is opened for reading: a FIFO or a
 * device node at the end is only looked at. Returns an O_PATH fd (the caller's) and its fstat.
 * -ENOLINK: an untrusted symlink (not followed); -ELOOP: too many links; else open's errors. */
int open_path_trusted(const char *path, int *ret_fd, struct stat *ret_st);
/* The same walk from a directory this function returned before: a relative `path` starts at
 * `dirfd`, which `dir_trusted` says is root's and was reached through root's directories and
 * links only (its *ret_trusted); an absolute one starts at "/" as above. So a caller that reads
 * many files of one directory walks the directory once (cg-taskd, within one batch of events).
 * *ret_trusted (may be NULL): the returned object and everything walked to reach it is root's. */
int open_path_trusted_at(int dirfd, bool dir_trusted, const char *path, int *ret_fd,
                         struct stat *ret_st, bool *ret_trusted);
/* Reads a small regular file through an O_PATH fd of it (reopened O_RDONLY|O_NONBLOCK through
 * /proc/self/fd, so the same inode), same buffer rules as read_small_file_at. -EBADF: not a
 * regular file, and then it is not opened at all. `known`: the O_PATH fd's fstat if the caller
 * has it (an O_PATH fd's inode cannot change), NULL to fstat here. `proc_fd_dir`: an fd of this
 * process's /proc/self/fd directory to open the link from (a caller that reads many files keeps
 * one), or -1 to look the whole path up. */
int read_small_file_opath(int opath_fd, const struct stat *known, int proc_fd_dir, char *buf,
                          size_t size, size_t *ret_len);
/* Writes a string to an existing file (cgroup control files): one write(2), O_TRUNC, no
 * O_CREAT. */
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Writes data to <path> atomically: a temp file in the same dir with a random name, created
 * O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink is never written through), fsync-free,
 * then rename(2). */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Strict number parsing: whole string (trailing '\n' allowed when noted), no sign for unsigned. */
/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not valid (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) or longer than the n bytes left. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi64(const char *s, int64_t *ret);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value); /* takes ownership of value, also on failure */
int strv_extend(char ***l, const char *value); /* copies value */
bool strv_contains(char *const *l, const char *s);
/* Splits on any char of `sep`, dropping empty words. */
int strv_split(const char *s, const char *sep, char ***ret);

/* asprintf that returns -ENOMEM instead of -1 and leaves *ret untouched on failure. */
int xasprintf(char **ret, const char *fmt, ...) _printf_(2, 3);

DEFINE_CLEANUP_FUNC(char *, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
