/* proc.c — see proc.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include "proc.h"
#include "util.h"

/* ---- pid files ---- */

int proc_pidfile_parse(const char *buf, size_t len, pid_t *ret) {
        uint64_t v = 0;
        size_t i = 0, digits = 0;
        bool negative = false;

        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len == 0)
                return -ENODATA;
        if (buf[0] == '-') {
                negative = true;
                i = 1;
        }
        for (; i < len; i++) {
                if (buf[i] < '0' || buf[i] > '9')
                        return -EINVAL;
                /* Saturate instead of overflowing: the value only has to be "too big". */
                if (v <= PROC_PID_MAX)
                        v = v * 10 + (uint64_t) (buf[i] - '0');
                digits++;
        }
        if (digits == 0)
                return -EINVAL;
        if (negative || v == 0 || v > PROC_PID_MAX)
                return -ERANGE;
        *ret = (pid_t) v;
        return 0;
}

const char *proc_pidfile_strerror(int r) {
        switch (r) {
        case -ENODATA:
                return "empty";
        case -ERANGE:
                return "pid out of range (must be 1..4194304)";
        case -EINVAL:
                return "not a single decimal pid";
        case -EFBIG:
                return "too long to be a pid file";
        case -EBADF:
                return "not a regular file (not opened)";
        case -ENOLINK:
                return "a symlink not owned by root, or reached through a directory not owned "
                       "by root (not followed)";
        case -ELOOP:
                return "too many levels of symlinks";
        default:
                return NULL;
        }
}

int proc_pidfile_load(const char *path, struct proc_pidfile *ret) {
        return proc_pidfile_load_at(-1, false, -1, path, ret); /* relative: -EINVAL */
}

int proc_pidfile_load_at(int dirfd, bool dir_trusted, int proc_fd_dir, const char *path,
                         struct proc_pidfile *ret) {
        char buf[PROC_PIDFILE_MAX + 2]; /* one byte more than allowed tells "too long" */
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t len;
        int r;

        r = open_path_trusted_at(dirfd, dir_trusted, path, &fd, &st, NULL);
        if (r < 0)
                return r;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        r = read_small_file_opath(fd, &st, proc_fd_dir, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        memcpy(ret->data, buf, len + 1);
        ret->len = len;
        ret->mtime_usec = (uint64_t) st.st_mtim.tv_sec * USEC_PER_SEC +
                          (uint64_t) st.st_mtim.tv_nsec / NSEC_PER_USEC;
        ret->uid = st.st_uid;
        return 0;
}

/* ---- /proc/<pid>/stat ---- */

/* Parses one unsigned decimal field at *p, advancing past it and one following space (or the
 * end). Negative values (e.g. ppid 0 is fine, tty -1 is skipped by the caller) are refused. */
static int parse_field_u64(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (*s == ' ')
                s++;
        else if (*s != '\n' && *s != 0)
                return -EINVAL;
        *p = s;
        *ret = v;
        return 0;
}

static int skip_field(const char **p) {
        const char *s = *p;

        if (*s == 0 || *s == ' ' || *s == '\n')
                return -EINVAL;
        while (*s && *s != ' ' && *s != '\n')
                s++;
        if (*s == ' ')
                s++;
        *p = s;
        return 0;
}

int proc_stat_parse(const char *buf, struct proc_stat *ret) {
        struct proc_stat st = {};
        const char *p, *close;
        uint64_t v;
        int field, r;

        /* "pid (comm) state ppid pgrp session tty_nr tpgid flags ... starttime(22) ..." */
        p = buf;
        r = parse_field_u64(&p, &v);
        if (r < 0 || v == 0 || v > PROC_PID_MAX || *p != '(')
                return -EINVAL;
        st.pid = (pid_t) v;
        close = strrchr(p, ')');
        if (!close || close[1] != ' ')
                return -EINVAL;
        p = close + 2;
        if (!*p || p[1] != ' ')
                return -EINVAL;
        st.state = *p; /* field 3 */
        p += 2;
        for (field = 4; field <= 22; field++) {
                switch (field) {
                case 4:
                case 9:
                case 20:
                case 22:
                        r = parse_field_u64(&p, &v);
                        if (r < 0)
                                return r;
                        if (field == 4) {
                                if (v > PROC_PID_MAX)
                                        return -EINVAL;
                                st.ppid = (pid_t) v;
                        } else if (field == 9) {
                                if (v > UINT_MAX)
                                        return -EINVAL;
                                st.flags = (unsigned) v;
                        } else if (field == 20) {
                                if (v > UINT_MAX)
                                        return -EINVAL;
                                st.num_threads = (unsigned) v;
                        } else
                                st.starttime = v;
                        break;
                default:
                        r = skip_field(&p);
                        if (r < 0)
                                return r;
                }
        }
        *ret = st;
        return 0;
}

/* A /proc entry that vanished under us means the process is gone. */
static int gone(int r) {
        return r == -ENOENT ? -ESRCH : r;
}

int proc_stat_read(const char *proc_dir, pid_t pid, struct proc_stat *ret) {
        char path[PATH_MAX], buf[2048];
        int r;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "%s/%d/stat", proc_dir, (int) pid);
        r = read_small_file_at(AT_FDCWD, path, 0, buf, sizeof(buf), NULL, NULL);
        if (r < 0)
                return gone(r);
        return proc_stat_parse(buf, ret);
}

int proc_status_parse_uid(const char *buf, uid_t *ret) {
        const char *p;
        uint64_t v = 0;
        size_t digits = 0;

        for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, "Uid:", 4) == 0)
                        break;
        if (!p)
                return -EINVAL;
        p += 4;
        p += strspn(p, " \t");
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > UINT32_MAX - 1) /* (uid_t) -1 is never a process's uid */
                        return -EINVAL;
        }
        if (digits == 0 || (*p != ' ' && *p != '\t' && *p != '\n' && *p != 0))
                return -EINVAL;
        *ret = (uid_t) v;
        return 0;
}

int proc_stat_read_owner(const char *proc_dir, pid_t pid, struct proc_stat *ret, uid_t *ret_uid) {
        char path[PATH_MAX], buf[4096];
        _cleanup_close_ int dfd = -1;
        struct proc_stat st;
        uid_t uid;
        int r;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "%s/%d", proc_dir, (int) pid);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return gone(negative_errno());
        r = read_small_file_at(dfd, "stat", 0, buf, sizeof(buf), NULL, NULL);
        if (r < 0)
                return gone(r);
        r = proc_stat_parse(buf, &st);
        if (r < 0)
                return r;
        r = read_small_file_at(dfd, "status", 0, buf, sizeof(buf), NULL, NULL);
        if (r == -EFBIG)
                r = 0; /* the Uid: line comes early; the rest may be cut */
        if (r < 0)
                return gone(r);
        buf[sizeof(buf) - 1] = 0;
        r = proc_status_parse_uid(buf, &uid);
        if (r < 0)
                return r;
        *ret = st;
        *ret_uid = uid;
        return 0;
}

bool proc_stat_is_kthread(const struct proc_stat *st) {
        return (st->flags & PROC_PF_KTHREAD) || st->pid == 2 || st->ppid == 2;
}

uint64_t proc_starttime_to_realtime_usec(uint64_t ticks, long hz, uint64_t boot_realtime_usec) {
        if (hz <= 0)
                hz = 100;
        return boot_realtime_usec + ticks / (uint64_t) hz * USEC_PER_SEC +
               ticks % (uint64_t) hz * USEC_PER_SEC / (uint64_t) hz;
}

uint64_t proc_boot_realtime_usec(void) {
        uint64_t rt = now_usec(CLOCK_REALTIME), bt = now_usec(CLOCK_BOOTTIME);
        return rt > bt ? rt - bt : 0;
}

bool proc_pidfile_is_stale(uint64_t pidfile_mtime_usec, uint64_t start_realtime_usec,
                           uint64_t slack_usec) {
        return start_realtime_usec > pidfile_mtime_usec + slack_usec;
}

/* ---- pid vectors ---- */

int pidvec_push(struct pidvec *pv, pid_t pid) {
        if (GREEDY_REALLOC(pv->v, pv->allocated, pv->n + 1) < 0)
                return -ENOMEM;
        pv->v[pv->n++] = pid;
        return 0;
}

void pidvec_clear(struct pidvec *pv) {
        pv->v = mfree(pv->v);
        pv->n = pv->allocated = 0;
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

void pidvec_sort(struct pidvec *pv) {
        size_t i, j;

        if (pv->n < 2)
                return;
        qsort(pv->v, pv->n, sizeof(pid_t), pid_cmp);
        for (i = 1, j = 1; i < pv->n; i++)
                if (pv->v[i] != pv->v[j - 1])
                        pv->v[j++] = pv->v[i];
        pv->n = j;
}

bool pidvec_contains_sorted(const struct pidvec *pv, pid_t pid) {
        return pv->n > 0 && bsearch(&pid, pv->v, pv->n, sizeof(pid_t), pid_cmp);
}

int proc_children_parse(const char *buf, struct pidvec *out) {
        const char *p = buf;
        int r;

        while (*p && *p != '\n') {
                uint64_t v = 0;
                size_t digits = 0;

                for (; *p >= '0' && *p <= '9'; p++, digits++)
                        if (v <= PROC_PID_MAX)
                                v = v * 10 + (uint64_t) (*p - '0');
                if (digits == 0 || v == 0 || v > PROC_PID_MAX)
                        return -EINVAL;
                if (*p == ' ')
                        p++;
                else if (*p != 0 && *p != '\n')
                        return -EINVAL;
                r = pidvec_push(out, (pid_t) v);
                if (r < 0)
                        return r;
        }
        if (*p == '\n' && p[1] != 0)
                return -EINVAL;
        return 0;
}

/* ---- descendants ---- */

struct ppid_entry {
        pid_t ppid, pid;
};

struct proc_walk {
        int dirfd;
        char *proc_dir;
        bool fallback;
        /* fallback index: (ppid, pid) sorted by ppid; valid while have_index */
        struct ppid_entry *index;
        size_t n_index;
        bool have_index;
};

int proc_walk_new(const char *proc_dir, struct proc_walk **ret) {
        _cleanup_(proc_walk_freep) struct proc_walk *w = NULL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->dirfd = -1;
        w->proc_dir = strdup(proc_dir);
        if (!w->proc_dir)
                return -ENOMEM;
        w->dirfd = open(proc_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dirfd < 0)
                return negative_errno();
        *ret = TAKE_PTR(w);
        return 0;
}

struct proc_walk *proc_walk_free(struct proc_walk *w) {
        if (!w)
                return NULL;
        if (w->dirfd >= 0)
                close(w->dirfd);
        free(w->proc_dir);
        free(w->index);
        free(w);
        return NULL;
}

void proc_walk_set_fallback(struct proc_walk *w, bool on) {
        w->fallback = on;
        proc_walk_invalidate(w);
}

bool proc_walk_uses_fallback(const struct proc_walk *w) {
        return w->fallback;
}

int proc_walk_dirfd(const struct proc_walk *w) {
        return w->dirfd;
}

void proc_walk_invalidate(struct proc_walk *w) {
        w->index = mfree(w->index);
        w->n_index = 0;
        w->have_index = false;
}

static int ppid_cmp(const void *a, const void *b) {
        const struct ppid_entry *x = a, *y = b;
        if (x->ppid != y->ppid)
                return (x->ppid > y->ppid) - (x->ppid < y->ppid);
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Appends the children of `ppid` from an index sorted by ppid (binary search for the first). */
static int index_children(const struct ppid_entry *index, size_t n, pid_t ppid,
                          struct pidvec *out) {
        size_t lo = 0, hi = n;
        int r;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (index[mid].ppid < ppid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i < n && index[i].ppid == ppid; i++) {
                r = pidvec_push(out, index[i].pid);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Calls fn(pid, ppid) for every process in the /proc directory open as proc_fd (its own fd is
 * not consumed). A process that goes away meanwhile, or an entry that is not one, is skipped.
 * Stops at the first fn() < 0 and returns it. */
static int proc_scan(int proc_fd, int (*fn)(pid_t pid, pid_t ppid, void *userdata),
                     void *userdata) {
        _cleanup_close_ int fd = -1;
        struct dirent *de;
        DIR *d;
        int r = 0;

        fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd); /* owned by d now */
        while (r >= 0 && (de = readdir(d))) {
                char path[64], buf[2048];
                struct proc_stat st;
                uint64_t pid;

                if (safe_atou64(de->d_name, &pid) < 0 || pid == 0 || pid > PROC_PID_MAX)
                        continue;
                snprintf(path, sizeof(path), "%d/stat", (int) pid);
                if (read_small_file_at(proc_fd, path, 0, buf, sizeof(buf), NULL, NULL) < 0 ||
                    proc_stat_parse(buf, &st) < 0)
                        continue; /* gone meanwhile, or not a process */
                r = fn(st.pid, st.ppid, userdata);
        }
        closedir(d);
        return r;
}

struct index_build {
        struct ppid_entry *v;
        size_t n, allocated;
};

static int index_add(pid_t pid, pid_t ppid, void *userdata) {
        struct index_build *b = userdata;

        if (GREEDY_REALLOC(b->v, b->allocated, b->n + 1) < 0)
                return -ENOMEM;
        b->v[b->n++] = (struct ppid_entry){.ppid = ppid, .pid = pid};
        return 0;
}

static int build_index(struct proc_walk *w) {
        struct index_build b = {};
        int r;

        r = proc_scan(w->dirfd, index_add, &b);
        if (r < 0) {
                free(b.v);
                return r;
        }
        if (b.n > 1)
                qsort(b.v, b.n, sizeof(*b.v), ppid_cmp);
        free(w->index);
        w->index = b.v;
        w->n_index = b.n;
        w->have_index = true;
        return 0;
}

static int children_from_index(struct proc_walk *w, pid_t pid, struct pidvec *out) {
        int r;

        if (!w->have_index) {
                r = build_index(w);
                if (r < 0)
                        return r;
        }
        return index_children(w->index, w->n_index, pid, out);
}

int proc_walk_children(struct proc_walk *w, pid_t pid, struct pidvec *out) {
        _cleanup_close_ int fd = -1;
        char path[64];
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (pid <= 0)
                return -EINVAL;
        if (w->fallback) {
                /* Still report a process that is gone, like the fast path does. */
                snprintf(path, sizeof(path), "%d", (int) pid);
                if (faccessat(w->dirfd, path, F_OK, 0) < 0)
                        return gone(negative_errno());
                return children_from_index(w, pid, out);
        }

        snprintf(path, sizeof(path), "%d/task", (int) pid);
        fd = openat(w->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return gone(negative_errno());
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd);
        while ((de = readdir(d))) {
                char cpath[96], buf[8192];
                char *big = NULL;
                uint64_t tid;

                if (safe_atou64(de->d_name, &tid) < 0 || tid == 0 || tid > PROC_PID_MAX)
                        continue;
                snprintf(cpath, sizeof(cpath), "%d/task/%d/children", (int) pid, (int) tid);
                r = read_small_file_at(w->dirfd, cpath, 0, buf, sizeof(buf), NULL, NULL);
                if (r == -EFBIG) {
                        /* hundreds of children: take the slow, unbounded read */
                        r = read_full_file_at(w->dirfd, cpath, &big, NULL);
                        if (r >= 0) {
                                r = proc_children_parse(big, out);
                                free(big);
                                if (r < 0)
                                        break;
                        }
                        continue;
                }
                if (r == -ENOENT) {
                        /* Either the thread exited (fine) or the kernel lacks the file: look at
                         * the task dir itself to tell which. */
                        char tpath[96];
                        snprintf(tpath, sizeof(tpath), "%d/task/%d", (int) pid, (int) tid);
                        if (faccessat(w->dirfd, tpath, F_OK, 0) >= 0) {
                                w->fallback = true;
                                closedir(d);
                                return children_from_index(w, pid, out);
                        }
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        if (r == -ESRCH)
                                r = 0;
                        continue;
                }
                r = proc_children_parse(buf, out);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r < 0 ? r : 0;
}

int proc_cgroup_read_at(int proc_dirfd, pid_t pid, char **ret) {
        char path[64], buf[4096];
        size_t len;
        char *s;
        int r;

        snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        r = read_small_file_at(proc_dirfd, path, 0, buf, sizeof(buf), &len, NULL);
        if (r == -EFBIG)
                return gone(read_full_file_at(proc_dirfd, path, ret, NULL));
        if (r < 0)
                return gone(r);
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, buf, len + 1);
        *ret = s;
        return 0;
}

/* ---- process tree from the process events connector ---- */

int proc_events_parse(const void *buf, size_t len, struct proc_event_info *ev, size_t max,
                      size_t *n) {
        const struct nlmsghdr *nh = buf;
        size_t k = 0;
        int left = (int) MIN(len, (size_t) INT32_MAX);

        if (len < sizeof(struct nlmsghdr))
                return -EINVAL;
        for (; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
                const struct cn_msg *cn;
                struct proc_event pe_buf = {};
                const struct proc_event *pe = &pe_buf;
                struct proc_event_info e = {.type = PROC_EV_OTHER};

                if (nh->nlmsg_type == NLMSG_NOOP)
                        continue;
                if (nh->nlmsg_type == NLMSG_ERROR || nh->nlmsg_type == NLMSG_OVERRUN)
                        return -EINVAL;
                if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg)))
                        return -EINVAL;
                cn = NLMSG_DATA(nh);
                if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC)
                        continue;
                if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg) + cn->len) ||
                    cn->len < offsetof(struct proc_event, event_data))
                        return -EINVAL;
                /* The event sits 36 bytes into the datagram (nlmsghdr + cn_msg): only 4-byte
                 * aligned, and struct proc_event needs 8 (its u64 timestamp). Copy it out
                 * rather than read it in place. The lengths were checked above and below. */
                memcpy(&pe_buf, cn->data, MIN((size_t) cn->len, sizeof(pe_buf)));
                if (pe->what == PROC_EVENT_FORK) {
                        if (cn->len <
                            offsetof(struct proc_event, event_data) + sizeof(pe->event_data.fork))
                                return -EINVAL;
                        e = (struct proc_event_info){
                                .type = PROC_EV_FORK,
                                .pid = pe->event_data.fork.child_pid,
                                .tgid = pe->event_data.fork.child_tgid,
                                .parent_pid = pe->event_data.fork.parent_pid,
                                .parent_tgid = pe->event_data.fork.parent_tgid,
                        };
                } else if (pe->what == PROC_EVENT_EXIT) {
                        if (cn->len < offsetof(struct proc_event, event_data) +
                                              offsetof(struct exit_proc_event, exit_code))
                                return -EINVAL;
                        e = (struct proc_event_info){
                                .type = PROC_EV_EXIT,
                                .pid = pe->event_data.exit.process_pid,
                                .tgid = pe->event_data.exit.process_tgid,
                        };
                }
                if (k < max)
                        ev[k++] = e;
        }
        *n = k;
        return 0;
}

/* pid -> ppid, open addressing (linear probing); key 0 empty, -1 deleted. */
struct tree_slot {
        pid_t pid, ppid;
};

struct proc_tree {
        int fd, proc_fd;
        struct tree_slot *slots;
        size_t cap, used, live;   /* used counts live + deleted slots */
        struct ppid_entry *index; /* (ppid, pid) sorted, rebuilt when dirty */
        size_t n_index;
        bool dirty;
        unsigned rescans;
};

static size_t slot_of(const struct proc_tree *t, pid_t pid) {
        return ((size_t) pid * 2654435761u) & (t->cap - 1);
}

static struct tree_slot *tree_find(const struct proc_tree *t, pid_t pid) {
        for (size_t i = slot_of(t, pid), k = 0; k < t->cap; i = (i + 1) & (t->cap - 1), k++) {
                if (t->slots[i].pid == pid)
                        return &t->slots[i];
                if (t->slots[i].pid == 0)
                        return NULL;
        }
        return NULL;
}

static int tree_set(struct proc_tree *t, pid_t pid, pid_t ppid);

static int tree_grow(struct proc_tree *t, size_t cap) {
        struct tree_slot *old = t->slots;
        size_t old_cap = t->cap;

        t->slots = calloc(cap, sizeof(*t->slots));
        if (!t->slots) {
                t->slots = old;
                return -ENOMEM;
        }
        t->cap = cap;
        t->used = t->live = 0;
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].pid > 0)
                        (void) tree_set(t, old[i].pid, old[i].ppid);
        free(old);
        return 0;
}

static int tree_set(struct proc_tree *t, pid_t pid, pid_t ppid) {
        struct tree_slot *s = tree_find(t, pid);
        size_t i;
        int r;

        if (s) {
                s->ppid = ppid;
                return 0;
        }
        if ((t->used + 1) * 2 > t->cap) {
                /* grow when live entries need it, else just drop the tombstones */
                r = tree_grow(t, (t->live + 1) * 4 > t->cap ? t->cap * 2 : t->cap);
                if (r < 0)
                        return r;
        }
        for (i = slot_of(t, pid); t->slots[i].pid > 0; i = (i + 1) & (t->cap - 1))
                ;
        if (t->slots[i].pid == 0)
                t->used++;
        t->slots[i] = (struct tree_slot){.pid = pid, .ppid = ppid};
        t->live++;
        return 0;
}

static void tree_del(struct proc_tree *t, pid_t pid) {
        struct tree_slot *s = tree_find(t, pid);
        if (s) {
                s->pid = -1;
                t->live--;
        }
}

static int tree_scan_add(pid_t pid, pid_t ppid, void *userdata) {
        return tree_set(userdata, pid, ppid);
}

static int tree_scan(struct proc_tree *t) {
        for (size_t i = 0; i < t->cap; i++)
                t->slots[i] = (struct tree_slot){};
        t->used = t->live = 0;
        t->dirty = true;
        return proc_scan(t->proc_fd, tree_scan_add, t);
}

static int tree_subscribe(int fd, bool on) {
        struct __attribute__((packed)) {
                struct nlmsghdr nl;
                struct __attribute__((packed)) {
                        struct cn_msg cn;
                        enum proc_cn_mcast_op op;
                } body;
        } msg = {};

        msg.nl.nlmsg_len = sizeof(msg);
        msg.nl.nlmsg_type = NLMSG_DONE;
        msg.nl.nlmsg_pid = 0;
        msg.body.cn.id.idx = CN_IDX_PROC;
        msg.body.cn.id.val = CN_VAL_PROC;
        msg.body.cn.len = sizeof(enum proc_cn_mcast_op);
        msg.body.op = on ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
        if (send(fd, &msg, sizeof(msg), 0) != (ssize_t) sizeof(msg))
                return negative_errno();
        return 0;
}

int proc_tree_new(const char *proc_dir, struct proc_tree **ret) {
        _cleanup_(proc_tree_freep) struct proc_tree *t = NULL;
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
        int size = 8 << 20, r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->fd = t->proc_fd = -1;
        t->cap = 4096;
        t->slots = calloc(t->cap, sizeof(*t->slots));
        if (!t->slots)
                return -ENOMEM;
        t->proc_fd = open(proc_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->proc_fd < 0)
                return negative_errno();
        t->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (t->fd < 0)
                return negative_errno();
        /* a burst of forks must not overflow us: as root the limit can be raised */
        if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (bind(t->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        r = tree_subscribe(t->fd, true);
        if (r < 0)
                return r;
        /* subscribed first, then scanned: an event racing the scan is applied after it */
        r = tree_scan(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

struct proc_tree *proc_tree_free(struct proc_tree *t) {
        if (!t)
                return NULL;
        if (t->fd >= 0) {
                (void) tree_subscribe(t->fd, false);
                close(t->fd);
        }
        if (t->proc_fd >= 0)
                close(t->proc_fd);
        free(t->slots);
        free(t->index);
        free(t);
        return NULL;
}

int proc_tree_fd(const struct proc_tree *t) {
        return t->fd;
}

size_t proc_tree_size(const struct proc_tree *t) {
        return t->live;
}

unsigned proc_tree_rescans(const struct proc_tree *t) {
        return t->rescans;
}

int proc_tree_update(struct proc_tree *t) {
        char buf[65536] __attribute__((aligned(__alignof__(struct nlmsghdr))));
        struct proc_event_info ev[512];
        int applied = 0, r;

        for (;;) {
                ssize_t n = recv(t->fd, buf, sizeof(buf), 0);
                size_t ne = 0;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                /* events were lost: start over from /proc */
                                t->rescans++;
                                r = tree_scan(t);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        return negative_errno();
                }
                if (proc_events_parse(buf, (size_t) n, ev, ELEMENTSOF(ev), &ne) < 0)
                        continue;
                for (size_t i = 0; i < ne; i++) {
                        if (ev[i].type == PROC_EV_FORK && ev[i].pid == ev[i].tgid) {
                                /* a new process (not a thread); its parent is a process */
                                r = tree_set(t, ev[i].tgid, ev[i].parent_tgid);
                                if (r < 0)
                                        return r;
                        } else if (ev[i].type == PROC_EV_EXIT && ev[i].pid == ev[i].tgid)
                                tree_del(t, ev[i].tgid);
                        else
                                continue;
                        t->dirty = true;
                        applied++;
                }
        }
        return applied;
}

static int tree_reindex(struct proc_tree *t) {
        struct ppid_entry *v;
        size_t n = 0;

        /* children of exited processes were reparented: ask /proc who their parent is now */
        for (size_t i = 0; i < t->cap; i++) {
                struct tree_slot *s = &t->slots[i];
                struct proc_stat st;
                char path[64], buf[2048];

                if (s->pid <= 0 || s->ppid <= 0 || tree_find(t, s->ppid))
                        continue;
                snprintf(path, sizeof(path), "%d/stat", (int) s->pid);
                if (read_small_file_at(t->proc_fd, path, 0, buf, sizeof(buf), NULL, NULL) < 0 ||
                    proc_stat_parse(buf, &st) < 0) {
                        s->pid = -1; /* gone too */
                        t->live--;
                        continue;
                }
                s->ppid = st.ppid;
        }
        v = malloc(MAX(t->live, (size_t) 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
                if (t->slots[i].pid > 0)
                        v[n++] = (struct ppid_entry){.ppid = t->slots[i].ppid,
                                                     .pid = t->slots[i].pid};
        qsort(v, n, sizeof(*v), ppid_cmp);
        free(t->index);
        t->index = v;
        t->n_index = n;
        t->dirty = false;
        return 0;
}

int proc_tree_children(struct proc_tree *t, pid_t pid, struct pidvec *out) {
        int r;

        if (!tree_find(t, pid))
                return -ESRCH;
        if (t->dirty) {
                r = tree_reindex(t);
                if (r < 0)
                        return r;
        }
        return index_children(t->index, t->n_index, pid, out);
}
