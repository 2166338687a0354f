/* cgfs.c — cgroup filesystem access, the part common to both backends (see cgfs.h and
 * cgfs-internal.h): layout discovery, the handle, the managed root, executing a plan and the
 * pure helpers. The cgroup file API (cgfs_open_file and its readers) is in cgfs-file.c. Returns >= 0 or -errno; never logs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgfs-internal.h"
#include "strbuf.h"
#include "util.h"

#define PATH_BUF (CONF_MAX_DEPTH * (CONF_NAME_MAX + 1) + 64)

int cgfs_mode_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (strcmp(s, "auto") == 0)
                return CGFS_MODE_AUTO;
        if (strcmp(s, "v1") == 0)
                return CGFS_MODE_V1;
        if (strcmp(s, "v2") == 0)
                return CGFS_MODE_V2;
        if (strcmp(s, "systemd") == 0)
                return CGFS_MODE_SYSTEMD;
        return -EINVAL;
}

/* ---- pure helpers ---- */

bool cgfs_path_is_safe(const char *path, bool allow_empty) {
        if (!path)
                return false;
        if (!*path)
                return allow_empty;
        if (strlen(path) >= PATH_BUF - 32)
                return false;
        for (const char *p = path;;) {
                size_t l = strcspn(p, "/");
                if (l == 0) /* leading '/', "//" or trailing '/' */
                        return false;
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                for (size_t i = 0; i < l; i++)
                        if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
                                return false;
                p += l;
                if (!*p)
                        return true;
                p++; /* the '/' */
        }
}

int cgfs_parse_weight(const char *text, int64_t *ret) {
        char num[32];
        const char *p = text;
        size_t l;
        int64_t v;
        int r;

        if (!text)
                return -EINVAL;
        if (strncmp(p, "default ", 8) == 0)
                p += 8;
        l = strcspn(p, "\n");
        if (l == 0 || l >= sizeof(num))
                return -EINVAL;
        memcpy(num, p, l);
        num[l] = 0;
        r = safe_atoi64(num, &v);
        if (r < 0)
                return r;
        if (v < 0)
                return -ERANGE;
        *ret = v;
        return 0;
}

int cgfs_parse_pids(const char *text, pid_t **ret, size_t *n) {
        _cleanup_free_ pid_t *v = NULL;
        size_t len = 0, cap = 0;

        for (const char *p = text; *p;) {
                char num[32];
                size_t l = strcspn(p, "\n");
                uint64_t u;
                int r;

                if (l == 0 || l >= sizeof(num))
                        return -EINVAL;
                memcpy(num, p, l);
                num[l] = 0;
                r = safe_atou64(num, &u);
                if (r < 0)
                        return -EINVAL;
                if (u == 0 || u > INT32_MAX)
                        return -EINVAL;
                if (GREEDY_REALLOC(v, cap, len + 1) < 0)
                        return -ENOMEM;
                v[len++] = (pid_t) u;
                p += l;
                if (*p == '\n')
                        p++;
        }
        *ret = TAKE_PTR(v);
        *n = len;
        return 0;
}

bool cgfs_controllers_have(const char *list, const char *controller) {
        size_t cl = strlen(controller);

        for (const char *p = list; p && *p;) {
                p += strspn(p, " \n\t");
                size_t l = strcspn(p, " \n\t");
                if (l == cl && strncmp(p, controller, l) == 0)
                        return true;
                p += l;
        }
        return false;
}

/* ---- layout discovery (pure) ---- */

static const char *const v1_controllers[] = {
        "cpuset", "cpu",     "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
        "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc", "debug",
};

static bool is_v1_controller_opt(const char *o) {
        if (strncmp(o, "name=", 5) == 0 && o[5])
                return true;
        for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++)
                if (strcmp(o, v1_controllers[i]) == 0)
                        return true;
        return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static int unescape(const char *s, char **ret) {
        char *o = malloc(strlen(s) + 1), *q = o;

        if (!o)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *q++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 4;
                } else
                        *q++ = *p++;
        }
        *q = 0;
        *ret = o;
        return 0;
}

struct cgfs_layout *cgfs_layout_free(struct cgfs_layout *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_mounts; i++) {
                free(l->mounts[i].path);
                free(l->mounts[i].mount_root);
                strv_free(l->mounts[i].controllers);
        }
        free(l->mounts);
        free(l);
        return NULL;
}

static bool path_below(const char *path, const char *dir) {
        size_t l = strlen(dir);

        while (l > 1 && dir[l - 1] == '/')
                l--;
        if (strncmp(path, dir, l) != 0)
                return false;
        return path[l] == 0 || path[l] == '/' || (l == 1 && dir[0] == '/');
}

static int parse_mountinfo_line(const char *line, const char *dir, struct cgfs_layout *l) {
        _cleanup_strv_free_ char **f = NULL, **opts = NULL, **ctl = NULL;
        _cleanup_free_ char *mp = NULL, *mroot = NULL;
        size_t n, sep = 0;
        int r;

        r = strv_split(line, " ", &f);
        if (r < 0)
                return r;
        n = strv_length(f);
        for (size_t i = 6; i < n; i++)
                if (strcmp(f[i], "-") == 0) {
                        sep = i;
                        break;
                }
        if (sep == 0 || sep + 3 >= n)
                return -EINVAL; /* no " - " separator, or fstype/source/super options missing */
        const char *fstype = f[sep + 1], *super = f[sep + 3];
        bool v2 = strcmp(fstype, "cgroup2") == 0;
        if (!v2 && strcmp(fstype, "cgroup") != 0)
                return 0;
        r = unescape(f[4], &mp);
        if (r < 0)
                return r;
        if (mp[0] != '/')
                return -EINVAL;
        if (!path_below(mp, dir))
                return 0;
        r = unescape(f[3], &mroot);
        if (r < 0)
                return r;
        if (!v2) {
                r = strv_split(super, ",", &opts);
                if (r < 0)
                        return r;
                ctl = calloc(1, sizeof(char *));
                if (!ctl)
                        return -ENOMEM;
                for (char **o = opts; *o; o++)
                        if (is_v1_controller_opt(*o)) {
                                r = strv_extend(&ctl, *o);
                                if (r < 0)
                                        return r;
                        }
        }
        struct cgfs_mount *nm = realloc(l->mounts, (l->n_mounts + 1) * sizeof(*nm));
        if (!nm)
                return -ENOMEM;
        l->mounts = nm;
        l->mounts[l->n_mounts++] = (struct cgfs_mount){
                .path = TAKE_PTR(mp),
                .controllers = TAKE_PTR(ctl),
                .v2 = v2,
                .mount_root = TAKE_PTR(mroot),
        };
        return 0;
}

int cgfs_layout_parse(const char *mountinfo, const char *dir, struct cgfs_layout **ret) {
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        int r;

        if (!mountinfo || !dir || dir[0] != '/')
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (const char *p = mountinfo; *p;) {
                size_t len = strcspn(p, "\n");
                if (len > 0) {
                        _cleanup_free_ char *line = strndup(p, len);
                        if (!line)
                                return -ENOMEM;
                        r = parse_mountinfo_line(line, dir, l);
                        if (r < 0)
                                return r;
                }
                p += len;
                if (*p == '\n')
                        p++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

const struct cgfs_mount *cgfs_layout_find(const struct cgfs_layout *l, const char *controller) {
        for (size_t i = 0; i < l->n_mounts; i++) {
                const struct cgfs_mount *m = &l->mounts[i];
                if (!controller) {
                        if (m->v2)
                                return m;
                } else if (!m->v2 && strv_contains(m->controllers, controller))
                        return m;
        }
        return NULL;
}

/* ---- the handle ---- */

struct cgfs *cgfs_close(struct cgfs *fs) {
        if (!fs)
                return NULL;
        for (size_t i = 0; i < fs->n_h; i++) {
                struct cgfs_hier *h = &fs->h[i];
                free(h->mount);
                free(h->mount_root);
                free(h->controllers);
                free(h->root_abs);
                if (h->mount_fd >= 0)
                        close(h->mount_fd);
                if (h->root_fd >= 0)
                        close(h->root_fd);
        }
        free(fs->h);
        free(fs->root);
        cgfs_sd_free(fs->sd);
        free(fs);
        return NULL;
}

static int hier_add(struct cgfs *fs, const struct cgfs_mount *m, size_t *ret_idx) {
        struct cgfs_hier *nh, *h;
        char *ctl = NULL;
        int r;

        for (size_t i = 0; i < fs->n_h; i++)
                if (strcmp(fs->h[i].mount, m->path) == 0) {
                        *ret_idx = i;
                        return 0;
                }
        nh = realloc(fs->h, (fs->n_h + 1) * sizeof(*nh));
        if (!nh)
                return -ENOMEM;
        fs->h = nh;
        h = &fs->h[fs->n_h];
        *h = (struct cgfs_hier){ .mount_fd = -1, .root_fd = -1 };
        fs->n_h++;
        /* /proc/<pid>/cgroup lists a v1 hierarchy's controllers comma-separated. */
        if (m->v2)
                ctl = strdup("");
        else {
                size_t len = 0;
                for (char **c = m->controllers; c && *c; c++)
                        len += strlen(*c) + 1;
                ctl = calloc(1, len + 1);
                if (ctl)
                        for (char **c = m->controllers; c && *c; c++) {
                                if (c != m->controllers)
                                        strcat(ctl, ",");
                                strcat(ctl, *c);
                        }
        }
        h->controllers = ctl;
        h->mount = strdup(m->path);
        h->mount_root = strdup(m->mount_root ? m->mount_root : "/");
        if (!h->controllers || !h->mount || !h->mount_root)
                return -ENOMEM;
        if (*fs->root)
                r = xasprintf(&h->root_abs, "%s/%s", m->path, fs->root);
        else
                r = xasprintf(&h->root_abs, "%s", m->path);
        if (r < 0)
                return r;
        h->mount_fd = open(m->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->mount_fd < 0)
                return negative_errno();
        r = cgfs_hier_root_fd(fs, h);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret_idx = fs->n_h - 1;
        return 0;
}

int cgfs_hier_root_fd(struct cgfs *fs, struct cgfs_hier *h) {
        if (h->root_fd >= 0)
                return 0;
        h->root_fd = openat(h->mount_fd, *fs->root ? fs->root : ".",
                            O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return h->root_fd < 0 ? negative_errno() : 0;
}

static int sub_add(struct cgfs *fs, enum conf_subsys s, const struct cgfs_mount *m) {
        size_t idx;
        int r;

        if (!m)
                return 0;
        r = hier_add(fs, m, &idx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < fs->n_sub[s]; i++)
                if (fs->sub[s][i] == idx) /* co-mounted cpu,cpuacct: one directory */
                        return 0;
        if (fs->n_sub[s] >= CGFS_MAX_HIERS_PER_SUBSYS)
                return -E2BIG;
        fs->sub[s][fs->n_sub[s]] = idx;
        fs->dirs[s][fs->n_sub[s]] = NULL;
        fs->n_sub[s]++;
        return 0;
}

int cgfs_open_layout(const struct cgfs_layout *l, const char *root, enum cgfs_mode mode,
                     struct cgfs **ret) {
        _cleanup_(cgfs_closep) struct cgfs *fs = NULL;
        const struct cgfs_mount *v2m, *cpu, *cpuacct, *blkio, *memory, *pids;
        int r;

        if (!l || !root || !cgfs_path_is_safe(root, true))
                return -EINVAL;
        fs = calloc(1, sizeof(*fs));
        if (!fs)
                return -ENOMEM;
        fs->root = strdup(root);
        if (!fs->root)
                return -ENOMEM;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                fs->acct[s] = -1;

        v2m = cgfs_layout_find(l, NULL);
        cpu = cgfs_layout_find(l, "cpu");
        cpuacct = cgfs_layout_find(l, "cpuacct");
        blkio = cgfs_layout_find(l, "blkio");
        memory = cgfs_layout_find(l, "memory");
        pids = cgfs_layout_find(l, "pids");
        if (mode == CGFS_MODE_AUTO)
                mode = (cpu || cpuacct || blkio) ? CGFS_MODE_V1 : CGFS_MODE_V2;
        if (mode == CGFS_MODE_V1) {
                if (!cpu && !cpuacct && !blkio)
                        return -ENOMEDIUM;
                fs->ops = &cgfs_ops_v1;
                /* The first hierarchy of cpu is the one with cpu.shares. */
                r = sub_add(fs, CONF_CPU, cpu ? cpu : cpuacct);
                if (r >= 0 && cpu)
                        r = sub_add(fs, CONF_CPU, cpuacct);
                if (r >= 0)
                        r = sub_add(fs, CONF_BLKIO, blkio);
                if (r >= 0)
                        r = sub_add(fs, CONF_MEMORY, memory);
                if (r >= 0)
                        r = sub_add(fs, CONF_PIDS, pids);
                if (r < 0)
                        return r;
                if (fs->n_sub[CONF_MEMORY])
                        fs->acct[CONF_MEMORY] = (int) fs->sub[CONF_MEMORY][0];
                if (fs->n_sub[CONF_PIDS])
                        fs->acct[CONF_PIDS] = (int) fs->sub[CONF_PIDS][0];
                if (cpuacct)
                        for (size_t i = 0; i < fs->n_h; i++)
                                if (strcmp(fs->h[i].mount, cpuacct->path) == 0)
                                        fs->acct[CONF_CPU] = (int) i;
                if (fs->n_sub[CONF_BLKIO])
                        fs->acct[CONF_BLKIO] = (int) fs->sub[CONF_BLKIO][0];
        } else {
                if (!v2m)
                        return -ENOMEDIUM;
                fs->v2 = true;
                fs->ops = &cgfs_ops_v2;
                if (mode == CGFS_MODE_SYSTEMD) { /* the manager's tree (bus: cgfs_open_cfg) */
                        if (!*root)
                                return -EINVAL; /* the hierarchy root is no slice to manage */
                        fs->ops = &cgfs_ops_systemd;
                        r = cgfs_sd_new(NULL, &fs->sd);
                        if (r < 0)
                                return r;
                }
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                        r = sub_add(fs, s, v2m);
                        if (r < 0)
                                return r;
                        fs->acct[s] = (int) fs->sub[s][0];
                }
        }
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                for (size_t i = 0; i < fs->n_sub[s]; i++)
                        fs->dirs[s][i] = fs->h[fs->sub[s][i]].root_abs;
                fs->dirs[s][fs->n_sub[s]] = NULL;
        }
        *ret = TAKE_PTR(fs);
        return 0;
}

int cgfs_open(const char *dir, const char *root, enum cgfs_mode mode, struct cgfs **ret) {
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        _cleanup_free_ char *mi = NULL;
        int r;

        if (!dir || dir[0] != '/')
                return -EINVAL;
        if (mode == CGFS_MODE_AUTO && cgfs_systemd_host(dir))
                mode = CGFS_MODE_SYSTEMD;
        if (mode == CGFS_MODE_V2) {
                /* `dir` is the unified root itself: no mountinfo, so tests can use a fixture. */
                struct stat st;
                if (stat(dir, &st) < 0)
                        return negative_errno();
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                l = calloc(1, sizeof(*l));
                if (!l)
                        return -ENOMEM;
                l->mounts = calloc(1, sizeof(*l->mounts));
                if (!l->mounts)
                        return -ENOMEM;
                l->n_mounts = 1;
                l->mounts[0].v2 = true;
                l->mounts[0].path = strdup(dir);
                l->mounts[0].mount_root = strdup("/");
                if (!l->mounts[0].path || !l->mounts[0].mount_root)
                        return -ENOMEM;
        } else {
                r = read_full_file("/proc/self/mountinfo", &mi, NULL);
                if (r < 0)
                        return r;
                r = cgfs_layout_parse(mi, dir, &l);
                if (r < 0)
                        return r;
        }
        return cgfs_open_layout(l, root, mode, ret);
}

bool cgfs_is_v2(const struct cgfs *fs) {
        return fs->v2;
}

const char *cgfs_root(const struct cgfs *fs) {
        return fs->root;
}

bool cgfs_has_subsys(const struct cgfs *fs, enum conf_subsys s) {
        return (unsigned) s < _CONF_SUBSYS_MAX && fs->n_sub[s] > 0;
}

int cgfs_subsys_dirs(const struct cgfs *fs, enum conf_subsys s, const char *const **ret) {
        if ((unsigned) s >= _CONF_SUBSYS_MAX)
                return -EINVAL;
        *ret = fs->dirs[s];
        return (int) fs->n_sub[s];
}

/* Joins non-empty parts with single '/' after a leading one: ("/", "root", "a/b") -> "/root/a/b". */
static int join_cgroup_path(const char *a, const char *b, const char *c, char **ret) {
        const char *parts[] = {a, b, c};
        struct strbuf sb = {};

        (void) strbuf_puts(&sb, "");
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                const char *p = parts[i];
                while (p && *p == '/')
                        p++;
                if (!p || !*p)
                        continue;
                (void) strbuf_puts(&sb, "/");
                (void) strbuf_append(&sb, p, strlen(p) - (p[strlen(p) - 1] == '/'));
        }
        if (sb.len == 0)
                (void) strbuf_puts(&sb, "/");
        *ret = strbuf_steal(&sb);
        return *ret ? 0 : -ENOMEM;
}

int cgfs_proc_cgroup_names(const struct cgfs *fs, enum conf_subsys s, const char *path,
                           char ***ret) {
        char **l = NULL;
        int r = 0;

        if ((unsigned) s >= _CONF_SUBSYS_MAX || !cgfs_path_is_safe(path, true))
                return -EINVAL;
        if (fs->sd)
                return -EOPNOTSUPP; /* slices: the manager names their cgroups */
        for (size_t k = 0; r >= 0 && k < fs->n_sub[s]; k++) {
                const struct cgfs_hier *h = &fs->h[fs->sub[s][k]];
                _cleanup_free_ char *cg = NULL;
                char *line = NULL;

                r = join_cgroup_path(h->mount_root, fs->root, path, &cg);
                if (r >= 0)
                        r = xasprintf(&line, "%s:%s", h->controllers, cg);
                if (r >= 0)
                        r = strv_push(&l, line);
        }
        if (r < 0) {
                strv_free(l);
                return r;
        }
        *ret = l;
        return (int) fs->n_sub[s];
}

int cgfs_proc_cgroup_find(const char *text, const char *controllers, char **ret) {
        size_t n = strlen(controllers);

        for (const char *l = text; l && *l;) {
                const char *eol = strchrnul(l, '\n'), *c = memchr(l, ':', (size_t) (eol - l));

                if (c && (size_t) (eol - c) > n + 1 && strncmp(c + 1, controllers, n) == 0 &&
                    c[n + 1] == ':') {
                        char *p = strndup(c + n + 2, (size_t) (eol - (c + n + 2)));
                        if (!p)
                                return -ENOMEM;
                        *ret = p;
                        return 0;
                }
                l = *eol ? eol + 1 : eol;
        }
        return -ENOENT;
}

const char *cgfs_acct_dir(const struct cgfs *fs, enum conf_subsys s) {
        if ((unsigned) s >= _CONF_SUBSYS_MAX || fs->acct[s] < 0)
                return NULL;
        return fs->h[fs->acct[s]].root_abs;
}

/* ---- small I/O helpers ---- */

/* util.c's helpers, under the names the cgfs modules use. cgfs_read_small_at is for the
 * single-value control files only (weights, limits): one read() each. */
int cgfs_write_at(int dirfd, const char *path, const char *text) {
        return write_string_file_at(dirfd, path, text);
}

int cgfs_read_small_at(int dirfd, const char *path, char *buf, size_t size) {
        size_t n;
        int r;

        r = read_small_file_at(dirfd, path, READ_ONCE, buf, size, &n, NULL);
        return r < 0 ? r : (int) n;
}

/* Per cgroup on cgroupfs (kernfs): one fstatat, and only for a cgroup with children an
 * open/getdents/close — a directory's st_nlink is 2 + its subdirectories there, so leaves are
 * never opened; and a short getdents64 result is the end of the directory (entries are added
 * while they fit), which saves the second call. Elsewhere (fixture directories) the plain way. */
static int walk_rec(int dirfd, char *path, size_t len, bool kernfs, cgfs_walk_cb cb, void *ud) {
        char buf[8192];
        int r;

        for (;;) {
                ssize_t n = getdents64(dirfd, buf, sizeof(buf));
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                for (ssize_t o = 0; o < n;) {
                        struct dirent64 *de = (struct dirent64 *) (buf + o);
                        struct stat st;

                        o += de->d_reclen;
                        if (de->d_type != DT_DIR || de->d_name[0] == '.')
                                continue; /* cgroup names never start with '.' */
                        size_t nl = strlen(de->d_name);
                        if (len + nl + 2 > PATH_BUF)
                                return -ENAMETOOLONG;
                        size_t nlen = len;
                        if (len)
                                path[nlen++] = '/';
                        memcpy(path + nlen, de->d_name, nl + 1);
                        nlen += nl;
                        r = cb(ud, dirfd, de->d_name, path);
                        if (r < 0)
                                return r;
                        if (kernfs) {
                                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                        if (errno == ENOENT) { /* removed meanwhile */
                                                path[len] = 0;
                                                continue;
                                        }
                                        return negative_errno();
                                }
                                if (st.st_nlink == 2) { /* no child cgroups */
                                        path[len] = 0;
                                        continue;
                                }
                        }
                        int fd = openat(dirfd, de->d_name,
                                        O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (fd < 0) {
                                if (errno == ENOENT) {
                                        path[len] = 0;
                                        continue;
                                }
                                return negative_errno();
                        }
                        r = walk_rec(fd, path, nlen, kernfs, cb, ud);
                        close(fd);
                        if (r < 0)
                                return r;
                        path[len] = 0;
                }
                if (kernfs && (size_t) n < sizeof(buf) - 512)
                        return 0;
        }
}

int cgfs_walk(int root_fd, cgfs_walk_cb cb, void *userdata) {
        char path[PATH_BUF];
        struct statfs sfs;
        bool kernfs;
        int fd, r;

        /* A private fd: getdents64 moves its offset. */
        fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        kernfs = fstatfs(fd, &sfs) == 0 &&
                 (sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC);
        path[0] = 0;
        r = walk_rec(fd, path, 0, kernfs, cb, userdata);
        close(fd);
        return r;
}

/* ---- managed root ---- */

int cgfs_ensure_root(struct cgfs *fs) {
        if (fs->ops->ensure_root)
                return fs->ops->ensure_root(fs);
        for (size_t i = 0; i < fs->n_h; i++) {
                struct cgfs_hier *h = &fs->h[i];
                _cleanup_close_ int fd = -1;

                if (cgfs_hier_root_fd(fs, h) == 0)
                        continue;
                fd = openat(h->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                for (const char *p = fs->root; *p;) {
                        size_t l = strcspn(p, "/");
                        _cleanup_free_ char *c = strndup(p, l);
                        int nfd;

                        if (!c)
                                return -ENOMEM;
                        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (nfd < 0)
                                return negative_errno();
                        close(fd);
                        fd = nfd;
                        p += l;
                        if (*p == '/')
                                p++;
                }
                h->root_fd = TAKE_FD(fd);
        }
        return 0;
}

/* Moves every process of <base>/<path> into the cgroup of dest_fd, then removes it. Retries
 * while it is busy (a process forked meanwhile; on v1 a thread of a process that lives
 * elsewhere, found in `tasks`, is moved whole through cgroup.procs too). */
static int rmdir_moving(int base_fd, const char *path, int dest_fd, size_t *moved) {
        char file[PATH_BUF + 32];
        int r;

        /* The common case, an empty cgroup, costs one syscall. */
        if (unlinkat(base_fd, path, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;
        if (errno != EBUSY)
                return negative_errno();
        for (int attempt = 0; attempt < 50; attempt++) {
                for (int k = 0; k < (attempt ? 2 : 1); k++) {
                        _cleanup_free_ char *text = NULL;
                        _cleanup_free_ pid_t *pids = NULL;
                        _cleanup_close_ int dfd = -1;
                        size_t n = 0;

                        snprintf(file, sizeof(file), "%s/%s", path, k ? "tasks" : "cgroup.procs");
                        r = read_full_file_at(base_fd, file, &text, NULL);
                        if (r == -ENOENT && k == 1)
                                continue; /* v2 has no tasks file */
                        if (r == -ENOENT)
                                return 0; /* gone already */
                        if (r < 0)
                                return r;
                        r = cgfs_parse_pids(text, &pids, &n);
                        if (r < 0)
                                return r;
                        if (n == 0)
                                continue;
                        dfd = openat(dest_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                        if (dfd < 0)
                                return negative_errno();
                        for (size_t i = 0; i < n; i++) {
                                char num[16];
                                int l = snprintf(num, sizeof(num), "%d", (int) pids[i]);
                                if (write(dfd, num, (size_t) l) < 0) {
                                        if (errno == ESRCH)
                                                continue; /* exited meanwhile */
                                        return negative_errno();
                                }
                                if (moved && k == 0)
                                        (*moved)++;
                        }
                }
                if (unlinkat(base_fd, path, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return negative_errno();
                if (attempt > 5)
                        usleep(2000);
        }
        return -EBUSY;
}

int cgfs_pathv_add(struct cgfs_pathv *pv, const char *s) {
        char *c;

        if (GREEDY_REALLOC(pv->v, pv->cap, pv->n + 1) < 0)
                return -ENOMEM;
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        pv->v[pv->n++] = c;
        return 0;
}

void cgfs_pathv_clear(struct cgfs_pathv *pv) {
        for (size_t i = 0; i < pv->n; i++)
                free(pv->v[i]);
        free(pv->v);
        *pv = (struct cgfs_pathv){};
}

static int collect_cb(void *ud, int dirfd, const char *name, const char *path) {
        (void) dirfd;
        (void) name;
        return cgfs_pathv_add(ud, path);
}

int cgfs_remove_root(struct cgfs *fs) {
        if (!*fs->root)
                return -EPERM;
        if (fs->sd)
                return -EOPNOTSUPP; /* the manager's slices: stopped through it, not rmdir'ed */
        for (size_t i = 0; i < fs->n_h; i++) {
                struct cgfs_hier *h = &fs->h[i];
                struct cgfs_pathv paths = {};
                _cleanup_close_ int parent_fd = -1;
                _cleanup_free_ char *parent = strdup(fs->root);
                const char *base;
                int r;

                if (!parent)
                        return -ENOMEM;
                if (cgfs_hier_root_fd(fs, h) < 0)
                        continue; /* nothing there */
                r = cgfs_walk(h->root_fd, collect_cb, &paths);
                /* Pre-order reversed: children before parents. */
                for (size_t k = paths.n; r >= 0 && k-- > 0;)
                        r = rmdir_moving(h->root_fd, paths.v[k], h->root_fd, NULL);
                cgfs_pathv_clear(&paths);
                if (r < 0)
                        return r;
                char *slash = strrchr(parent, '/');
                if (slash) {
                        *slash = 0;
                        base = slash + 1;
                        parent_fd = openat(h->mount_fd, parent,
                                           O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                } else {
                        base = fs->root;
                        parent_fd = openat(h->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (parent_fd < 0)
                        return negative_errno();
                close(h->root_fd);
                h->root_fd = -1;
                r = rmdir_moving(parent_fd, base, parent_fd, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- live tree and plan execution ---- */

int cgfs_cmp_live_entry(const void *a, const void *b) {
        return strcmp(((const struct live_entry *) a)->path, ((const struct live_entry *) b)->path);
}

bool cgfs_conf_wants(const struct conf *c, enum conf_subsys s, const char *name, const char *path,
                     bool weight) {
        const struct conf_node *n;

        if (!c || !c->index[s])
                return true;
        n = conf_find(c, s, name); /* read-only hash lookup: safe from the walk's threads */
        return n && (!weight || n->weight >= 0) && strcmp(n->path, path) == 0;
}

int cgfs_read_live(struct cgfs *fs, struct live_tree *ret) {
        return cgfs_read_live_for(fs, NULL, ret);
}

int cgfs_read_live_for(struct cgfs *fs, const struct conf *c, struct live_tree *ret) {
        struct live_tree t = {};
        int r;

        r = fs->ops->read_live(fs, c, &t);
        if (r >= 0)
                r = cgfs_limits_read(fs, c, &t);
        if (r < 0) {
                live_tree_clear(&t);
                return r;
        }
        *ret = t;
        return 0;
}

void cgfs_apply_result_clear(struct cgfs_apply_result *r) {
        if (!r)
                return;
        strv_free(r->warnings);
        *r = (struct cgfs_apply_result){};
}

static int warn_once(struct cgfs_apply_result *res, bool *done, const char *fmt, const char *a,
                     const char *b) {
        char *w = NULL;
        int r;

        if (*done)
                return 0;
        *done = true;
        r = xasprintf(&w, fmt, a, b);
        if (r < 0)
                return r;
        return strv_push(&res->warnings, w);
}

/* Executes a limit op; a write the kernel refuses is a warning, never the end of the apply
 * (a cap below the usage, a device gone, a kernel without the feature): the rest of the tree
 * is still made right, and the next apply tries again. */
#define MAX_LIMIT_WARNINGS 20
static int apply_limit(struct cgfs *fs, const struct plan_op *o, struct cgfs_apply_result *res,
                       bool warned_missing[_CONF_LIMIT_MAX]) {
        const char *sn = conf_subsys_name(o->subsys), *ln = conf_limit_name(o->limit);
        const char *file = cgfs_limit_file(fs, o->limit);
        char dev[32] = "", *w = NULL;
        int r;

        r = cgfs_limits_write(fs, o);
        if (r >= 0) {
                res->n_limits++;
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        res->n_limits_failed++;
        if (conf_limit_is_device(o->limit))
                snprintf(dev, sizeof(dev), " of device %u:%u", o->major, o->minor);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                if (warned_missing[o->limit])
                        return 0;
                warned_missing[o->limit] = true;
                r = xasprintf(&w, "%s %s limit not applied: no %s file here (first at %s:%s)", sn,
                              ln, file ? file : "such", sn, o->path);
        } else if (r == -ENODEV)
                r = xasprintf(&w, "%s %s limit%s of %s not applied: no such device here", sn, ln,
                              dev, o->path);
        else if (res->n_limits_failed > MAX_LIMIT_WARNINGS)
                return 0;
        else
                r = xasprintf(&w, "%s %s limit%s of %s: writing %s failed: %s%s", sn, ln, dev,
                              o->path, file ? file : "it", strerror(-r),
                              res->n_limits_failed == MAX_LIMIT_WARNINGS ? " (further failures "
                                                                           "not listed)"
                                                                         : "");
        if (r < 0)
                return r;
        return strv_push(&res->warnings, w);
}

/* The limit ops of a plan sorted by (subsystem, path), to run each cgroup's limits right after
 * its mkdir (see cgfs_apply_plan). */
struct early {
        const struct plan *p;
        size_t *idx; /* owned: indices of PLAN_SET_LIMIT ops, sorted */
        size_t n;
        bool *done;  /* owned, p->n entries: already run after its mkdir */
};

static int early_cmp(const void *a, const void *b, void *userdata) {
        const struct plan *p = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        const struct plan_op *x = &p->ops[i], *y = &p->ops[j];
        int c = (int) x->subsys - (int) y->subsys;

        if (!c)
                c = strcmp(x->path, y->path);
        /* within one cgroup, the plan's own order */
        return c ? c : (i > j) - (i < j);
}

static void early_free(struct early *e) {
        free(e->idx);
        free(e->done);
        *e = (struct early){};
}

/* Only on v1, where a limit file exists as soon as its cgroup does (v2 must first enable the
 * controller, which the plan does after every mkdir): an empty `e` otherwise. */
static int early_build(const struct cgfs *fs, const struct plan *p, struct early *e) {
        *e = (struct early){.p = p};
        if (fs->v2)
                return 0;
        for (size_t i = 0; i < p->n; i++)
                if (p->ops[i].type == PLAN_SET_LIMIT)
                        e->n++;
        if (e->n == 0)
                return 0;
        e->idx = malloc(e->n * sizeof(*e->idx));
        e->done = calloc(p->n, sizeof(*e->done));
        if (!e->idx || !e->done) {
                early_free(e);
                return -ENOMEM;
        }
        e->n = 0;
        for (size_t i = 0; i < p->n; i++)
                if (p->ops[i].type == PLAN_SET_LIMIT)
                        e->idx[e->n++] = i;
        qsort_r(e->idx, e->n, sizeof(*e->idx), early_cmp, (void *) p);
        return 0;
}

/* The first of the sorted limit ops of (s, path), or e->n. */
static size_t early_find(const struct early *e, enum conf_subsys s, const char *path) {
        size_t lo = 0, hi = e->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct plan_op *o = &e->p->ops[e->idx[mid]];
                int c = (int) o->subsys - (int) s;
                if (!c)
                        c = strcmp(o->path, path);
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int cgfs_apply_plan(struct cgfs *fs, const struct plan *p, struct cgfs_apply_result *res) {
        bool warned_weight[_CONF_SUBSYS_MAX] = {}, warned_enable[_CONF_SUBSYS_MAX] = {};
        bool warned_limit[_CONF_LIMIT_MAX] = {};
        struct early early = {};
        int r;

        *res = (struct cgfs_apply_result){};
        /* what the planner left out, said where the apply is reported */
        for (char **n = p->notes; n && *n; n++) {
                r = strv_extend(&res->warnings, *n);
                if (r < 0)
                        return r;
        }
        if (fs->ops->apply_plan)
                return fs->ops->apply_plan(fs, p, res);
        if (p->n == 0)
                return 0;
        /* Refuse the whole plan before touching anything if one path is unsafe. */
        for (size_t i = 0; i < p->n; i++)
                if (!cgfs_path_is_safe(p->ops[i].path, false) ||
                    (unsigned) p->ops[i].subsys >= _CONF_SUBSYS_MAX) {
                        res->failed = &p->ops[i];
                        return -EINVAL;
                }
        r = cgfs_ensure_root(fs);
        if (r < 0)
                return r;
        /* A new cgroup's limits are written right after its mkdir rather than after every mkdir
         * of the plan: the kernel checks a CFS quota against every task group of the hierarchy
         * (tg_set_cfs_bandwidth walks them all), so with the whole tree made first each quota
         * costs the whole tree, and with the writes interleaved only the part made so far —
         * half the kernel time of a new 10,000-cgroup tree with quotas (tests/bench/limits.sh). */
        r = early_build(fs, p, &early);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n; i++) {
                const struct plan_op *o = &p->ops[i];
                const char *sn = conf_subsys_name(o->subsys);

                if (early.done && early.done[i])
                        continue;
                r = 0;
                switch (o->type) {
                case PLAN_MKDIR: {
                        bool made = false;
                        for (size_t k = 0; k < fs->n_sub[o->subsys] && r >= 0; k++) {
                                struct cgfs_hier *h = &fs->h[fs->sub[o->subsys][k]];
                                if (mkdirat(h->root_fd, o->path, 0755) == 0)
                                        made = true;
                                else if (errno != EEXIST)
                                        r = negative_errno();
                        }
                        if (r >= 0 && made)
                                res->n_created++;
                        for (size_t k = early_find(&early, o->subsys, o->path);
                             r >= 0 && made && k < early.n; k++) {
                                const struct plan_op *l = &p->ops[early.idx[k]];
                                if (l->subsys != o->subsys || strcmp(l->path, o->path) != 0)
                                        break;
                                r = apply_limit(fs, l, res, warned_limit);
                                if (r < 0) {
                                        o = l; /* reported as the failed op */
                                        break;
                                }
                                early.done[early.idx[k]] = true;
                                res->n_done++;
                        }
                        break;
                }
                case PLAN_SET_WEIGHT:
                        r = fs->ops->set_weight(fs, o->subsys, o->path, o->value);
                        if (r == -ENOENT || r == -EACCES) {
                                r = warn_once(res, &warned_weight[o->subsys],
                                              "%s weight file missing in %s (weights of this "
                                              "subsystem are not applied on this machine)",
                                              sn, o->path);
                        } else if (r >= 0)
                                res->n_weights++;
                        break;
                case PLAN_ENABLE: {
                        size_t n = 0;
                        r = fs->ops->enable(fs, o->subsys, o->path, &n);
                        if (r == -EOPNOTSUPP)
                                r = warn_once(res, &warned_enable[o->subsys],
                                              "%s controller not available at the managed root "
                                              "(needed by %s): its weights are not applied",
                                              sn, o->path);
                        res->n_enabled += n;
                        break;
                }
                case PLAN_SET_LIMIT:
                case PLAN_CLEAR_LIMIT:
                        r = apply_limit(fs, o, res, warned_limit);
                        break;
                case PLAN_RMDIR:
                        for (size_t k = 0; k < fs->n_sub[o->subsys] && r >= 0; k++) {
                                struct cgfs_hier *h = &fs->h[fs->sub[o->subsys][k]];
                                size_t moved = 0;
                                r = rmdir_moving(h->root_fd, o->path, h->root_fd, &moved);
                                /* one process counted once, from the first hierarchy */
                                if (k == 0)
                                        res->n_moved += moved;
                        }
                        if (r >= 0)
                                res->n_removed++;
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0) {
                        res->failed = o;
                        early_free(&early);
                        return r;
                }
                res->n_done++;
        }
        early_free(&early);
        return 0;
}

int cgfs_cgroup_dir(struct cgfs *fs, enum conf_subsys s, const char *path, char **ret) {
        const char *dir;

        if ((unsigned) s >= _CONF_SUBSYS_MAX || !cgfs_path_is_safe(path, true))
                return -EINVAL;
        if (fs->ops->cgroup_dir)
                return fs->ops->cgroup_dir(fs, s, path, ret);
        dir = cgfs_acct_dir(fs, s);
        if (!dir)
                return -ENOMEDIUM;
        return *path ? xasprintf(ret, "%s/%s", dir, path) : xasprintf(ret, "%s", dir);
}
