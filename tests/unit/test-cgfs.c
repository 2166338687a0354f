/* test-cgfs.c — cgfs pure parts: mountinfo layouts (fixtures of v1, hybrid, v2, container),
 * path safety, weight/pid/controller parsers; the cgroup file API (cgfs_open_file: names per
 * backend, path safety, mirrored hierarchies) and the v2 backend on temporary directories that
 * imitate cgroup hierarchies (no root needed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgfs-internal.h" /* cgfs_walk_max_threads */
#include "cgfs.h"
#include "conf.h"
#include "plan.h"
#include "tap.h"
#include "util.h"

static char *fixture(const char *name) {
        const char *top = getenv("CGARCH_TOP");
        char *path = NULL, *text = NULL;

        if (xasprintf(&path, "%s/tests/fixtures/mountinfo/%s", top ? top : ".", name) < 0)
                return NULL;
        if (read_full_file(path, &text, NULL) < 0)
                printf("# cannot read %s\n", path);
        free(path);
        return text;
}

static void test_layout_hybrid(void) {
        _cleanup_free_ char *mi = fixture("hybrid.txt");
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        const struct cgfs_mount *m;

        CHECK(mi);
        if (!mi)
                return;
        CHECK_INT(cgfs_layout_parse(mi, "/sys/fs/cgroup", &l), 0);
        if (!l)
                return;
        CHECK_INT(l->n_mounts, 10); /* 9 v1 hierarchies + unified; tmpfs and others dropped */
        m = cgfs_layout_find(l, "cpu");
        CHECK(m && strcmp(m->path, "/sys/fs/cgroup/cpu") == 0);
        m = cgfs_layout_find(l, "cpuacct");
        CHECK(m && strcmp(m->path, "/sys/fs/cgroup/cpuacct") == 0);
        m = cgfs_layout_find(l, "blkio");
        CHECK(m && strv_length(m->controllers) == 1 && !m->v2);
        m = cgfs_layout_find(l, "name=systemd");
        CHECK(m && strcmp(m->path, "/sys/fs/cgroup/systemd") == 0);
        m = cgfs_layout_find(l, NULL);
        CHECK(m && m->v2 && strcmp(m->path, "/sys/fs/cgroup/unified") == 0);
        CHECK(!cgfs_layout_find(l, "net_cls"));
        l = cgfs_layout_free(l);
        /* only mounts below `dir` */
        CHECK_INT(cgfs_layout_parse(mi, "/sys/fs/cgroup/cpu/", &l), 0);
        CHECK_INT(l ? l->n_mounts : 99, 1);
        l = cgfs_layout_free(l);
        CHECK_INT(cgfs_layout_parse(mi, "/elsewhere", &l), 0);
        CHECK_INT(l ? l->n_mounts : 99, 0);
        l = cgfs_layout_free(l);
        CHECK_INT(cgfs_layout_parse(mi, "relative", &l), -EINVAL);
}

static void test_layout_v1_comount(void) {
        _cleanup_free_ char *mi = fixture("v1.txt");
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        const struct cgfs_mount *cpu, *acct, *m;

        CHECK_INT(mi ? cgfs_layout_parse(mi, "/sys/fs/cgroup", &l) : -1, 0);
        if (!l)
                return;
        CHECK_INT(l->n_mounts, 6);
        cpu = cgfs_layout_find(l, "cpu");
        acct = cgfs_layout_find(l, "cpuacct");
        CHECK(cpu && cpu == acct); /* one directory */
        CHECK(cpu && strcmp(cpu->path, "/sys/fs/cgroup/cpu,cpuacct") == 0);
        m = cgfs_layout_find(l, "name=systemd"); /* xattr, release_agent= are not controllers */
        CHECK(m && strv_length(m->controllers) == 1);
        m = cgfs_layout_find(l, "cpuset"); /* clone_children dropped */
        CHECK(m && strv_length(m->controllers) == 1);
        CHECK(!cgfs_layout_find(l, NULL)); /* no cgroup2 */
}

static void test_layout_v2(void) {
        _cleanup_free_ char *mi = fixture("v2.txt");
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        const struct cgfs_mount *m;

        CHECK_INT(mi ? cgfs_layout_parse(mi, "/sys/fs/cgroup", &l) : -1, 0);
        if (!l)
                return;
        CHECK_INT(l->n_mounts, 1);
        m = cgfs_layout_find(l, NULL);
        CHECK(m && m->v2 && strcmp(m->path, "/sys/fs/cgroup") == 0 && !m->controllers);
        CHECK(!cgfs_layout_find(l, "cpu"));
}

static void test_layout_container_and_errors(void) {
        _cleanup_free_ char *mi = fixture("container.txt");
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        const struct cgfs_mount *m;

        CHECK_INT(mi ? cgfs_layout_parse(mi, "/sys/fs/cgroup", &l) : -1, 0);
        if (l) {
                m = cgfs_layout_find(l, "cpu");
                CHECK(m && strcmp(m->mount_root, "/docker/abc") == 0);
                m = cgfs_layout_find(l, "name=odd");
                CHECK(m && strcmp(m->path, "/sys/fs/cgroup/my dir") == 0);
                l = cgfs_layout_free(l);
        }
        /* strict: a line that is not mountinfo is an error, not skipped */
        CHECK_INT(cgfs_layout_parse("garbage\n", "/sys/fs/cgroup", &l), -EINVAL);
        CHECK_INT(cgfs_layout_parse("1 2 0:1 / /sys/fs/cgroup/cpu rw - cgroup\n", "/sys/fs/cgroup", &l),
                  -EINVAL);
        CHECK_INT(cgfs_layout_parse("1 2 0:1 / /x rw shared:1 cgroup cgroup rw,cpu\n", "/", &l),
                  -EINVAL);
        CHECK_INT(cgfs_layout_parse("", "/sys/fs/cgroup", &l), 0);
        CHECK_INT(l ? l->n_mounts : 99, 0);
}

static void test_mode(void) {
        CHECK_INT(cgfs_mode_from_string("auto"), CGFS_MODE_AUTO);
        CHECK_INT(cgfs_mode_from_string("v1"), CGFS_MODE_V1);
        CHECK_INT(cgfs_mode_from_string("v2"), CGFS_MODE_V2);
        CHECK_INT(cgfs_mode_from_string("V2"), -EINVAL);
        CHECK_INT(cgfs_mode_from_string(""), -EINVAL);
}

static void test_path_safety(void) {
        CHECK(cgfs_path_is_safe("a", false));
        CHECK(cgfs_path_is_safe("a/b.c/d-e_f", false));
        CHECK(cgfs_path_is_safe("", true));
        CHECK(!cgfs_path_is_safe("", false));
        CHECK(!cgfs_path_is_safe("/a", false));
        CHECK(!cgfs_path_is_safe("a/", false));
        CHECK(!cgfs_path_is_safe("a//b", false));
        CHECK(!cgfs_path_is_safe("..", false));
        CHECK(!cgfs_path_is_safe("a/../b", false));
        CHECK(!cgfs_path_is_safe("a/./b", false));
        CHECK(!cgfs_path_is_safe("a/..", true));
        CHECK(!cgfs_path_is_safe("a\nb", false));
        CHECK(cgfs_path_is_safe("..a", false)); /* a name, not the parent */
        CHECK(!cgfs_path_is_safe(NULL, true));
}

static void test_parsers(void) {
        int64_t w = 0;
        pid_t *p = NULL;
        size_t n = 9;

        CHECK_INT(cgfs_parse_weight("1024\n", &w), 0);
        CHECK_INT(w, 1024);
        CHECK_INT(cgfs_parse_weight("default 100\n8:0 200\n", &w), 0);
        CHECK_INT(w, 100);
        CHECK_INT(cgfs_parse_weight("", &w), -EINVAL);
        CHECK_INT(cgfs_parse_weight("abc\n", &w), -EINVAL);
        CHECK_INT(cgfs_parse_weight("-5\n", &w), -ERANGE);
        CHECK_INT(cgfs_parse_weight("12 \n", &w), -EINVAL);

        CHECK_INT(cgfs_parse_pids("1\n42\n", &p, &n), 0);
        CHECK_INT(n, 2);
        CHECK(p && p[0] == 1 && p[1] == 42);
        free(p);
        p = NULL;
        CHECK_INT(cgfs_parse_pids("", &p, &n), 0);
        CHECK_INT(n, 0);
        free(p);
        p = NULL;
        CHECK_INT(cgfs_parse_pids("1\nx\n", &p, &n), -EINVAL);
        CHECK_INT(cgfs_parse_pids("0\n", &p, &n), -EINVAL);
        CHECK_INT(cgfs_parse_pids("1\n\n2\n", &p, &n), -EINVAL);
        CHECK_INT(cgfs_parse_pids("99999999999\n", &p, &n), -EINVAL);

        CHECK(cgfs_controllers_have("cpuset cpu io memory pids\n", "cpu"));
        CHECK(cgfs_controllers_have("cpuset cpu io\n", "io"));
        CHECK(!cgfs_controllers_have("cpuset io\n", "cpu"));
        CHECK(!cgfs_controllers_have("", "cpu"));
        CHECK(!cgfs_controllers_have(NULL, "cpu"));
}

static int put(const char *dir, const char *file, const char *text) {
        char *p = NULL;
        FILE *f;

        if (xasprintf(&p, "%s/%s", dir, file) < 0)
                return -1;
        f = fopen(p, "w");
        free(p);
        if (!f)
                return -1;
        fputs(text, f);
        return fclose(f);
}

static char *get(const char *dir, const char *file) {
        char *p = NULL, *t = NULL;

        xasprintf(&p, "%s/%s", dir, file);
        if (read_full_file(p, &t, NULL) < 0)
                t = NULL;
        free(p);
        return t;
}

static void test_control_names(void) {
        CHECK(cgfs_name_is_control_file("tasks"));
        CHECK(cgfs_name_is_control_file("cgroup.procs"));
        CHECK(cgfs_name_is_control_file("cpu.shares"));
        CHECK(cgfs_name_is_control_file("io.weight"));
        CHECK(!cgfs_name_is_control_file("web.app"));
        CHECK(!cgfs_name_is_control_file("cpu"));
        CHECK(!cgfs_name_is_control_file(NULL));
        CHECK_STR(cgfs_v2_weight_file(CONF_CPU), "cpu.weight");
        CHECK_STR(cgfs_v2_weight_file(CONF_BLKIO), "io.weight");
}

/* Every way out of the managed root that a path could try is refused by cgfs_open_file(). */
static void check_open_refused(struct cgfs *fs, const char *tmp) {
        static const char *const bad[] = { "../x", "/x", "a//b", "a/", ".", "a/../a", "a/.",
                                           "..", "a\nb" };
        int fds[4];
        size_t n = 99;
        char *esc = NULL, *link = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, bad[i], CGFS_FILE_PROCS, O_WRONLY, fds, 4, &n),
                          -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, NULL, CGFS_FILE_PROCS, O_WRONLY, fds, 4, &n), -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_PROCS, O_WRONLY | O_CREAT, fds, 4, &n),
                  -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_PROCS, O_WRONLY | O_APPEND, fds, 4,
                                 &n),
                  -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", _CGFS_FILE_MAX, O_RDONLY, fds, 4, &n), -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_IO_STAT, O_RDONLY, fds, 4, &n), -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "a", CGFS_FILE_CPU_USAGE, O_RDONLY, fds, 4, &n),
                  -EINVAL);
        CHECK_INT(cgfs_open_file(fs, CONF_CPU, "zz", CGFS_FILE_PROCS, O_WRONLY, fds, 4, &n), -ENOENT);
        CHECK_INT(n, 99); /* nothing written on failure */
        /* a symlink planted in a hierarchy (cgroupfs has none) is not followed, wherever it is */
        xasprintf(&esc, "%s/outside", tmp);
        mkdir(esc, 0755);
        put(esc, "cgroup.procs", "");
        put(esc, "cpu.stat", "usage_usec 1\n");
        put(esc, "cpuacct.usage", "1\n");
        for (int k = 0; k < 2; k++) {
                const char *const *dirs;
                int nd = cgfs_subsys_dirs(fs, CONF_CPU, &dirs);
                for (int i = 0; i < nd; i++) {
                        xasprintf(&link, "%s/%s", dirs[i], k ? "a/esc" : "esc");
                        CHECK_INT(symlink(esc, link), 0);
                        free(link);
                        link = NULL;
                }
                CHECK(cgfs_open_file(fs, CONF_CPU, k ? "a/esc" : "esc", CGFS_FILE_PROCS, O_WRONLY,
                                     fds, 4, &n) < 0);
                CHECK(cgfs_open_file(fs, CONF_CPU, k ? "a/esc" : "esc", CGFS_FILE_CPU_USAGE,
                                     O_RDONLY, fds, 4, &n) < 0);
        }
        CHECK_INT(n, 99);
        free(esc);
}

static void test_proc_cgroup_find(void) {
        const char *text = "12:pids:/user.slice\n5:cpu:/cg/a\n4:cpuacct:/cg/b\n"
                           "3:cpu,cpuacct:/co\n1:name=systemd:/init.scope\n0::/u/x.service\n";
        char *s = NULL;

        CHECK_INT(cgfs_proc_cgroup_find(text, "cpu", &s), 0);
        CHECK_STR(s, "/cg/a");
        free(s);
        CHECK_INT(cgfs_proc_cgroup_find(text, "cpuacct", &s), 0);
        CHECK_STR(s, "/cg/b");
        free(s);
        CHECK_INT(cgfs_proc_cgroup_find(text, "cpu,cpuacct", &s), 0);
        CHECK_STR(s, "/co");
        free(s);
        CHECK_INT(cgfs_proc_cgroup_find(text, "", &s), 0); /* v2 */
        CHECK_STR(s, "/u/x.service");
        free(s);
        CHECK_INT(cgfs_proc_cgroup_find(text, "name=systemd", &s), 0);
        CHECK_STR(s, "/init.scope");
        free(s);
        s = NULL;
        CHECK_INT(cgfs_proc_cgroup_find(text, "blkio", &s), -ENOENT);
        CHECK_INT(cgfs_proc_cgroup_find(text, "cp", &s), -ENOENT); /* whole names only */
        CHECK_INT(cgfs_proc_cgroup_find("garbage", "", &s), -ENOENT);
        CHECK_INT(cgfs_proc_cgroup_find("", "cpu", &s), -ENOENT);
        CHECK(s == NULL);
}

/* A layout whose mount points are temporary directories, for cgfs_open_layout(). */
static void test_open_layout_mirroring(void) {
        char tmp[] = "/tmp/test-cgfs.XXXXXX";
        char *a = NULL, *b = NULL, *c = NULL, *p = NULL, *q = NULL;
        char *cpu_only[] = { "cpu", NULL }, *acct_only[] = { "cpuacct", NULL },
             *both[] = { "cpu", "cpuacct", NULL }, *blkio_only[] = { "blkio", NULL };
        struct cgfs_mount sep[] = {
                { .controllers = cpu_only, .mount_root = "/" },
                { .controllers = acct_only, .mount_root = "/" },
                { .controllers = blkio_only, .mount_root = "/" },
        };
        struct cgfs_mount co[] = { { .controllers = both, .mount_root = "/" } };
        struct cgfs *fs = NULL;
        struct cgfs_buf buf = {};
        struct acct_blkio io = {};
        const char *const *dirs;
        char *desc = NULL, *text;
        uint64_t usage = 0;
        int fds[4];
        size_t n = 0;

        CHECK(mkdtemp(tmp));
        xasprintf(&a, "%s/cpu", tmp);
        xasprintf(&b, "%s/cpuacct", tmp);
        xasprintf(&c, "%s/blkio", tmp);
        mkdir(a, 0755);
        mkdir(b, 0755);
        mkdir(c, 0755);
        sep[0].path = a;
        sep[1].path = b;
        sep[2].path = c;
        co[0].path = a;
        struct cgfs_layout ls = { .mounts = sep, .n_mounts = 3 }, lc = { .mounts = co, .n_mounts = 1 };

        CHECK_INT(cgfs_open_layout(&ls, "../x", CGFS_MODE_AUTO, &fs), -EINVAL);
        CHECK_INT(cgfs_open_layout(&ls, "/x", CGFS_MODE_AUTO, &fs), -EINVAL);
        CHECK_INT(cgfs_open_layout(&ls, "r", CGFS_MODE_V2, &fs), -ENOMEDIUM);
        CHECK_INT(cgfs_open_layout(&ls, "r", CGFS_MODE_AUTO, &fs), 0);
        if (fs) {
                CHECK(!cgfs_is_v2(fs));
                CHECK_INT(cgfs_subsys_dirs(fs, CONF_CPU, &dirs), 2); /* mirrored */
                {
                        char **names = NULL;
                        /* as /proc/<pid>/cgroup names them, one per hierarchy */
                        CHECK_INT(cgfs_proc_cgroup_names(fs, CONF_CPU, "a/b", &names), 2);
                        CHECK_STR(names ? names[0] : NULL, "cpu:/r/a/b");
                        CHECK_STR(names ? names[1] : NULL, "cpuacct:/r/a/b");
                        strv_free(names);
                        names = NULL;
                        CHECK_INT(cgfs_proc_cgroup_names(fs, CONF_BLKIO, "", &names), 1);
                        CHECK_STR(names ? names[0] : NULL, "blkio:/r");
                        strv_free(names);
                        names = NULL;
                        CHECK_INT(cgfs_proc_cgroup_names(fs, CONF_CPU, "../x", &names), -EINVAL);
                }
                CHECK_INT(cgfs_subsys_dirs(fs, CONF_BLKIO, &dirs), 1);
                CHECK(cgfs_has_subsys(fs, CONF_BLKIO));
                CHECK(strstr(cgfs_acct_dir(fs, CONF_CPU), "/cpuacct/r") != NULL);
                /* no managed root yet: no cgroup */
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "", CGFS_FILE_PROCS, O_RDONLY, fds, 4, &n),
                          -ENOENT);
                CHECK_INT(cgfs_ensure_root(fs), 0);
                for (int k = 0; k < 3; k++) {
                        const char *m = k == 0 ? a : k == 1 ? b : c;
                        xasprintf(&p, "%s/r/a", m);
                        mkdir(p, 0755);
                        put(p, "cgroup.procs", "");
                        free(p);
                }
                xasprintf(&p, "%s/r", b);
                put(p, "cpuacct.usage", "123456789\n");
                xasprintf(&q, "%s/r/a", b);
                put(q, "cpuacct.usage", "x\n");
                /* the processes file: one fd per hierarchy of cpu (cpu and cpuacct) */
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_PROCS, O_WRONLY, fds, 1, &n),
                          -ENOBUFS);
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_PROCS, O_WRONLY, fds, 4, &n), 0);
                CHECK_INT(n, 2);
                for (size_t k = 0; k < n && n == 2; k++) {
                        CHECK_INT(cgfs_write_pid(fds[k], 4242), 0);
                        close(fds[k]);
                }
                CHECK_INT(cgfs_write_pid(-1, 0), -EINVAL);
                for (int k = 0; k < 2; k++) {
                        char *d = NULL;
                        xasprintf(&d, "%s/r/a", k ? b : a);
                        text = get(d, "cgroup.procs");
                        CHECK_STR(text, "4242");
                        free(text);
                        free(d);
                }
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_PROCS, O_RDONLY, fds, 4, &n), 0);
                for (size_t k = 0; k < n; k++) {
                        pid_t *pids = NULL;
                        size_t np = 0;
                        CHECK_INT(cgfs_read_pids_fd(fds[k], &buf, &pids, &np), 0);
                        CHECK_INT(np, 1);
                        if (np == 1)
                                CHECK_INT(pids[0], 4242);
                        free(pids);
                        close(fds[k]);
                }
                /* accounting files: one fd, in the cpuacct hierarchy, named by the backend */
                CHECK_STR(cgfs_file_name(fs, CONF_CPU, CGFS_FILE_CPU_USAGE), "cpuacct.usage");
                CHECK_STR(cgfs_file_name(fs, CONF_CPU, CGFS_FILE_RESET), "cpuacct.usage");
                CHECK_STR(cgfs_file_name(fs, CONF_BLKIO, CGFS_FILE_RESET), "blkio.reset_stats");
                CHECK_STR(cgfs_reset_value(fs, CONF_CPU), "0");
                CHECK_STR(cgfs_reset_value(fs, CONF_BLKIO), "1");
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "", CGFS_FILE_CPU_USAGE, O_RDONLY, fds, 1, &n), 0);
                CHECK_INT(n, 1);
                if (n == 1) {
                        CHECK_INT(cgfs_read_fd(fds[0], &buf), 10);
                        CHECK_INT(cgfs_parse_cpu_usage(fs, buf.p, &usage), 0);
                        CHECK_INT(usage, 123456789);
                        /* pread: a kept fd reads the file anew */
                        put(p, "cpuacct.usage", "223456789\n");
                        CHECK_INT(cgfs_read_fd(fds[0], &buf), 10);
                        CHECK_STR(buf.p, "223456789\n");
                        close(fds[0]);
                }
                CHECK_INT(cgfs_read_cpu_usage(fs, "", &usage), 0);
                CHECK_INT(usage, 223456789);
                CHECK_INT(cgfs_read_cpu_usage(fs, "a", &usage), -EINVAL); /* "x" */
                CHECK_INT(cgfs_read_cpu_usage(fs, "../r", &usage), -EINVAL);
                CHECK_INT(cgfs_describe_file(fs, CONF_CPU, "a", CGFS_FILE_CPU_USAGE, &desc), 0);
                CHECK(desc && strstr(desc, "/cpuacct/r/a/cpuacct.usage"));
                free(desc);
                /* v1 IO: the throttle layer's file where the classic one is missing */
                xasprintf(&desc, "%s/r", c);
                put(desc, "blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 512\nTotal 4608\n");
                put(desc, "blkio.throttle.read_bps_device", "");
                CHECK_STR(cgfs_file_name(fs, CONF_BLKIO, CGFS_FILE_IO_STAT),
                          "blkio.throttle.io_service_bytes");
                CHECK(cgfs_io_needs_throttle_rule(fs));
                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "", CGFS_FILE_IO_STAT, O_RDONLY, fds, 4, &n), 0);
                if (n == 1) {
                        CHECK_INT(cgfs_read_fd(fds[0], &buf) > 0, 1);
                        CHECK_INT(cgfs_parse_io(fs, buf.p, &io), 0);
                        CHECK_INT(io.n, 1);
                        if (io.n == 1)
                                CHECK(io.v[0].major == 8 && io.v[0].read == 4096 && io.v[0].write == 512);
                        close(fds[0]);
                }
                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "", CGFS_FILE_THROTTLE_RULE,
                                         O_WRONLY | O_TRUNC, fds, 4, &n), 0);
                if (n == 1) {
                        CHECK_INT(cgfs_write_fd(fds[0], "8:0 0"), 0);
                        close(fds[0]);
                }
                text = get(desc, "blkio.throttle.read_bps_device");
                CHECK_STR(text, "8:0 0");
                free(text);
                free(desc);
                desc = NULL;
                check_open_refused(fs, tmp);
                fs = cgfs_close(fs);
        }
        CHECK_INT(cgfs_open_layout(&lc, "", CGFS_MODE_V1, &fs), 0);
        if (fs) {
                CHECK_INT(cgfs_subsys_dirs(fs, CONF_CPU, &dirs), 1); /* co-mounted: one dir */
                {
                        char **names = NULL;
                        CHECK_INT(cgfs_proc_cgroup_names(fs, CONF_CPU, "a", &names), 1);
                        CHECK_STR(names ? names[0] : NULL, "cpu,cpuacct:/a"); /* root "": / */
                        strv_free(names);
                }
                put(a, "cgroup.procs", "");
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "", CGFS_FILE_PROCS, O_RDONLY, fds, 4, &n), 0);
                CHECK_INT(n, 1);
                if (n == 1)
                        close(fds[0]);
                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "", CGFS_FILE_IO_STAT, O_RDONLY, fds, 4, &n),
                          -ENOMEDIUM);
                CHECK(!cgfs_io_needs_throttle_rule(fs));
                CHECK_INT(cgfs_remove_root(fs), -EPERM); /* never the hierarchy root */
                fs = cgfs_close(fs);
        }
        {
                char *cmd = NULL;
                xasprintf(&cmd, "rm -rf '%s'", tmp);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmp);
                free(cmd);
        }
        cgfs_buf_free(&buf);
        acct_blkio_clear(&io);
        free(a);
        free(b);
        free(c);
        free(p);
        free(q);
}

/* The v2 backend on a directory that imitates a delegated unified cgroup. */
static void test_v2_fixture(void) {
        char tmp[] = "/tmp/test-cgfs-v2.XXXXXX";
        char *r = NULL, *ra = NULL, *rb = NULL;
        struct cgfs *fs = NULL;
        struct live_tree t = {};
        struct plan p = {};
        struct cgfs_apply_result res = {};
        struct conf *c = NULL;
        const char *conf = "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"share\": 200}}, "
                           "\"b\": {\"conf\": {\"share\": 2048}}}}, "
                           "\"blkio\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"weight\": 250}}}}}";
        uint64_t usage = 0;
        char *s;

        CHECK(mkdtemp(tmp));
        xasprintf(&r, "%s/r", tmp);
        xasprintf(&ra, "%s/r/a", tmp);
        xasprintf(&rb, "%s/r/b", tmp);
        mkdir(r, 0755);
        mkdir(ra, 0755);
        mkdir(rb, 0755);
        put(r, "cgroup.controllers", "cpu io memory\n");
        put(r, "cgroup.subtree_control", "cpu io\n");
        put(r, "cgroup.procs", "");
        put(r, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
        put(ra, "cgroup.controllers", "cpu io\n");
        put(ra, "cpu.weight", "100\n");
        put(ra, "io.weight", "default 100\n");
        put(ra, "cgroup.procs", "");
        put(rb, "cgroup.controllers", "cpu io\n");
        put(rb, "cpu.weight", "100\n");
        put(rb, "io.weight", "default 100\n");
        put(rb, "cgroup.procs", "");

        CHECK_INT(cgfs_open(tmp, "r", CGFS_MODE_V2, &fs), 0);
        CHECK_INT(conf_parse(conf, strlen(conf), &c, NULL), 0);
        if (!fs || !c)
                goto out;
        CHECK(cgfs_is_v2(fs));
        CHECK_INT(cgfs_read_live(fs, &t), 0);
        CHECK(t.v2 && !t.weight_unavailable[CONF_CPU] && !t.weight_unavailable[CONF_BLKIO]);
        CHECK_INT(t.n[CONF_CPU], 2);
        CHECK_INT(t.n[CONF_BLKIO], 2);
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(plan_format(&p, &t, &s), 0);
        CHECK_STR(s, "set a cpu.weight 19 (share 200, was 100)\n"
                     "set b cpu.weight 200 (share 2048, was 100)\n"
                     "set a io.weight 50 (weight 250, was 100)\n");
        free(s);
        CHECK_INT(cgfs_apply_plan(fs, &p, &res), 0);
        CHECK_INT(res.n_weights, 3);
        s = get(ra, "cpu.weight");
        CHECK_STR(s, "19");
        free(s);
        s = get(rb, "cpu.weight");
        CHECK_STR(s, "200");
        free(s);
        s = get(ra, "io.weight");
        CHECK_STR(s, "50");
        free(s);
        cgfs_apply_result_clear(&res);
        plan_clear(&p);
        live_tree_clear(&t);
        /* now a no-op */
        CHECK_INT(cgfs_read_live(fs, &t), 0);
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(p.n, 0);
        plan_clear(&p);
        live_tree_clear(&t);
        /* controllers: b loses its cpu.weight (as if not enabled), the root has none enabled */
        s = NULL;
        xasprintf(&s, "%s/cpu.weight", rb);
        unlink(s);
        free(s);
        put(r, "cgroup.subtree_control", "");
        put(rb, "cgroup.controllers", "");
        CHECK_INT(cgfs_read_live(fs, &t), 0);
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(plan_format(&p, &t, &s), 0);
        CHECK_STR(s, "enable cpu controller for b\nset b cpu.weight 200 (share 2048)\n");
        free(s);
        CHECK_INT(cgfs_apply_plan(fs, &p, &res), 0);
        CHECK_INT(res.n_enabled, 1);
        s = get(r, "cgroup.subtree_control");
        CHECK_STR(s, "+cpu"); /* what the kernel is told */
        free(s);
        /* the fixture has no kernel to create b/cpu.weight: a warning, not a failure */
        CHECK_INT(strv_length(res.warnings), 1);
        cgfs_apply_result_clear(&res);
        plan_clear(&p);
        live_tree_clear(&t);
        /* accounting from cpu.stat */
        CHECK_INT(cgfs_read_cpu_usage(fs, "", &usage), 0);
        CHECK_INT(usage, 1500000);
        CHECK_INT(cgfs_read_cpu_usage(fs, "nope", &usage), -ENOENT);
        /* the processes file: one fd in the one tree */
        {
                int fds[4];
                size_t n = 0;
                struct cgfs_buf buf = {};
                struct acct_blkio io = {};

                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "a", CGFS_FILE_PROCS, O_WRONLY, fds, 4, &n), 0);
                CHECK_INT(n, 1);
                if (n == 1) {
                        CHECK_INT(cgfs_write_pid(fds[0], 4242), 0);
                        close(fds[0]);
                }
                s = get(ra, "cgroup.procs");
                CHECK_STR(s, "4242");
                free(s);
                check_open_refused(fs, tmp);
                /* v2 names; no reset, no throttle rule */
                CHECK_STR(cgfs_file_name(fs, CONF_CPU, CGFS_FILE_CPU_USAGE), "cpu.stat");
                CHECK_STR(cgfs_file_name(fs, CONF_BLKIO, CGFS_FILE_IO_STAT), "io.stat");
                CHECK_INT(cgfs_open_file(fs, CONF_CPU, "a", CGFS_FILE_RESET, O_WRONLY, fds, 4, &n),
                          -EOPNOTSUPP);
                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "", CGFS_FILE_THROTTLE_RULE, O_RDONLY, fds,
                                         4, &n),
                          -EOPNOTSUPP);
                CHECK(!cgfs_io_needs_throttle_rule(fs));
                put(ra, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n");
                CHECK_INT(cgfs_open_file(fs, CONF_BLKIO, "a", CGFS_FILE_IO_STAT, O_RDONLY, fds, 4, &n),
                          0);
                if (n == 1) {
                        CHECK_INT(cgfs_read_fd(fds[0], &buf) > 0, 1);
                        CHECK_INT(cgfs_parse_io(fs, buf.p, &io), 0);
                        CHECK(io.n == 1 && io.v[0].read == 100 && io.v[0].write == 200);
                        close(fds[0]);
                }
                cgfs_buf_free(&buf);
                acct_blkio_clear(&io);
        }
        /* delegation: the few writes cgfs makes above the managed root (base "r" here) */
        CHECK_INT(cgfs_deleg_holds(fs, "r", "", 4242), 0);
        CHECK_INT(cgfs_deleg_holds(fs, "r", "a", 4242), 1);
        CHECK_INT(cgfs_deleg_mkdir(fs, "r", "leaf"), 0);
        CHECK_INT(cgfs_deleg_mkdir(fs, "r", "leaf"), 0); /* exists: fine */
        s = NULL;
        xasprintf(&s, "%s/leaf", r);
        put(s, "cgroup.procs", ""); /* what the kernel would provide */
        CHECK_INT(cgfs_deleg_attach(fs, "r", "leaf", 77), 0);
        CHECK_INT(cgfs_deleg_holds(fs, "r", "leaf", 77), 1);
        free(s);
        put(r, "cgroup.subtree_control", "cpu\n");
        CHECK_INT(cgfs_deleg_enable(fs, "r", "", "io"), 1);
        s = get(r, "cgroup.subtree_control");
        CHECK_STR(s, "+io");
        free(s);
        put(r, "cgroup.subtree_control", "cpu io\n");
        CHECK_INT(cgfs_deleg_enable(fs, "r", "", "cpu"), 0);   /* on already */
        CHECK_INT(cgfs_deleg_enable(fs, "r", "", "rdma"), 0);  /* not available */
        CHECK_INT(cgfs_deleg_enable(fs, "r", "", "cpu io"), -EINVAL);
        CHECK_INT(cgfs_deleg_holds(fs, "../r", "", 1), -EINVAL);
        CHECK_INT(cgfs_deleg_holds(fs, "", "", 1), -EINVAL);
        CHECK_INT(cgfs_deleg_mkdir(fs, "r", "../x"), -EINVAL);
        CHECK_INT(cgfs_deleg_attach(fs, "r", "/x", 1), -EINVAL);
        CHECK_INT(cgfs_deleg_attach(fs, "r", "nope", 1), -ENOENT);
out:
        conf_free(c);
        cgfs_close(fs);
        {
                char *cmd = NULL;
                xasprintf(&cmd, "rm -rf '%s'", tmp);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmp);
                free(cmd);
        }
        free(r);
        free(ra);
        free(rb);
}

/* The live tree is read by a pool of threads: the result must not depend on how many, come
 * sorted by path (strcmp: "g1-x" before "g1/..."), and cgfs_read_live_for() must skip the
 * weights a conf does not need. A v2 fixture directory of 20 x 12 x 3 cgroups (no kernfs, so
 * every directory is listed). */
static void test_parallel_read(void) {
        char tmp[] = "/tmp/test-cgfs-par.XXXXXX";
        struct live_tree t1 = {}, t4 = {}, tc = {};
        struct cgfs *fs = NULL;
        struct conf *c = NULL;
        char p[512];
        const char *conf = "{\"cpu\": {\"sub_cgroup\": {\"g1\": {\"conf\": {\"share\": 200}, "
                           "\"sub_cgroup\": {\"g1_2\": {}}}}}}";
        size_t expect = 0;
        bool sorted = true, same = true;

        CHECK(mkdtemp(tmp));
        snprintf(p, sizeof(p), "%s/r", tmp);
        mkdir(p, 0755);
        put(p, "cgroup.controllers", "cpu io\n");
        for (int i = 0; i < 20; i++) {
                snprintf(p, sizeof(p), "%s/r/g%d", tmp, i);
                mkdir(p, 0755);
                put(p, "cpu.weight", "100\n");
                snprintf(p, sizeof(p), "%s/r/g%d-x", tmp, i); /* sorts between g<i> and g<i>/ */
                mkdir(p, 0755);
                put(p, "cpu.weight", "7\n");
                expect += 2;
                for (int j = 0; j < 12; j++) {
                        snprintf(p, sizeof(p), "%s/r/g%d/g%d_%d", tmp, i, i, j);
                        mkdir(p, 0755);
                        put(p, "cpu.weight", "50\n");
                        expect++;
                        for (int k = 0; k < 3; k++) {
                                snprintf(p, sizeof(p), "%s/r/g%d/g%d_%d/l%d_%d_%d", tmp, i, i, j, i, j, k);
                                mkdir(p, 0755);
                                expect++;
                        }
                }
        }
        CHECK_INT(cgfs_open(tmp, "r", CGFS_MODE_V2, &fs), 0);
        CHECK_INT(conf_parse(conf, strlen(conf), &c, NULL), 0);
        if (!fs || !c)
                goto out;
        cgfs_walk_max_threads = 1;
        CHECK_INT(cgfs_read_live(fs, &t1), 0);
        cgfs_walk_max_threads = 4;
        CHECK_INT(cgfs_read_live(fs, &t4), 0);
        CHECK_INT(t1.n[CONF_CPU], expect);
        CHECK_INT(t4.n[CONF_CPU], expect);
        CHECK_INT(t4.n[CONF_BLKIO], expect);
        for (size_t i = 0; i < t4.n[CONF_CPU] && i < t1.n[CONF_CPU]; i++) {
                if (i > 0 && strcmp(t4.v[CONF_CPU][i - 1].path, t4.v[CONF_CPU][i].path) >= 0)
                        sorted = false;
                if (strcmp(t1.v[CONF_CPU][i].path, t4.v[CONF_CPU][i].path) != 0 ||
                    t1.v[CONF_CPU][i].weight != t4.v[CONF_CPU][i].weight ||
                    strcmp(t4.v[CONF_BLKIO][i].path, t4.v[CONF_CPU][i].path) != 0)
                        same = false;
        }
        CHECK(sorted);
        CHECK(same);
        CHECK_STR(t4.v[CONF_CPU][0].path, "g0");
        CHECK_STR(t4.v[CONF_CPU][1].path, "g0-x"); /* '-' < '/' */
        CHECK_STR(t4.v[CONF_CPU][2].path, "g0/g0_0");
        CHECK_INT(t4.v[CONF_CPU][1].weight, 7);
        CHECK_INT(t4.v[CONF_CPU][2].weight, 50);
        CHECK_INT(t4.v[CONF_CPU][3].weight, -1); /* no cpu.weight: not enabled */
        /* with the conf: only g1 and g1/g1_2 have their weights read */
        CHECK_INT(cgfs_read_live_for(fs, c, &tc), 0);
        CHECK_INT(tc.n[CONF_CPU], expect);
        size_t n_read = 0;
        for (size_t i = 0; i < tc.n[CONF_CPU]; i++)
                if (tc.v[CONF_CPU][i].weight >= 0) {
                        n_read++;
                        CHECK(strcmp(tc.v[CONF_CPU][i].path, "g1") == 0 ||
                              strcmp(tc.v[CONF_CPU][i].path, "g1/g1_2") == 0);
                }
        CHECK_INT(n_read, 2);
out:
        live_tree_clear(&t1);
        live_tree_clear(&t4);
        live_tree_clear(&tc);
        conf_free(c);
        cgfs_close(fs);
        {
                char *cmd = NULL;
                xasprintf(&cmd, "rm -rf '%s'", tmp);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmp);
                free(cmd);
        }
}

/* ---- limits (issue 16) ---- */

static void test_limit_parsers(void) {
        struct live_limits *l = live_limits_new();
        int64_t v = 0;

        CHECK_INT(cgfs_quota_percent(-1, 100000, &v), 0);
        CHECK_INT(v, LIVE_LIMIT_NONE);
        CHECK_INT(cgfs_quota_percent(50000, 100000, &v), 0);
        CHECK_INT(v, 50);
        CHECK_INT(cgfs_quota_percent(25000, 50000, &v), 0); /* another period, same share */
        CHECK_INT(v, 50);
        CHECK_INT(cgfs_quota_percent(33333, 100000, &v), 0);
        CHECK_INT(v, LIVE_LIMIT_OTHER);
        CHECK_INT(cgfs_quota_percent(100, 0, &v), -EINVAL);
        CHECK_INT(cgfs_parse_cpu_max("max 100000\n", &v), 0);
        CHECK_INT(v, LIVE_LIMIT_NONE);
        CHECK_INT(cgfs_parse_cpu_max("150000 100000\n", &v), 0);
        CHECK_INT(v, 150);
        CHECK_INT(cgfs_parse_cpu_max("junk", &v), -EINVAL);
        /* v1 throttle files: one limit per file */
        CHECK_INT(cgfs_parse_dev_rules("8:0 1048576\n7:3 5\n", false, CONF_LIMIT_READ_BPS, l), 0);
        CHECK_INT(cgfs_parse_dev_rules("8:0 100\n", false, CONF_LIMIT_WRITE_IOPS, l), 0);
        CHECK_INT(l->n_devs, 2);
        if (l->n_devs == 2) {
                CHECK_INT(l->devs[0].major * 1000 + l->devs[0].minor, 8000);
                CHECK_INT(l->devs[0].v[0], 1048576);
                CHECK_INT(l->devs[0].v[CONF_LIMIT_WRITE_IOPS - CONF_LIMIT_FIRST_DEVICE], 100);
                CHECK_INT(l->devs[1].v[0], 5);
                CHECK_INT(l->devs[1].v[1], LIVE_LIMIT_NONE);
        }
        l = live_limits_free(l);
        /* v2 io.max: all four keys on one line; a device with only "max" is no rule */
        l = live_limits_new();
        CHECK_INT(cgfs_parse_dev_rules("8:16 rbps=2097152 wbps=max riops=max wiops=120\n"
                                       "7:0 rbps=max wbps=max riops=max wiops=max\n",
                                       true, CONF_LIMIT_READ_BPS, l),
                  0);
        CHECK_INT(l->n_devs, 1);
        if (l->n_devs == 1) {
                CHECK_INT(l->devs[0].minor, 16);
                CHECK_INT(l->devs[0].v[0], 2097152);
                CHECK_INT(l->devs[0].v[1], LIVE_LIMIT_NONE);
                CHECK_INT(l->devs[0].v[3], 120);
        }
        CHECK_INT(cgfs_parse_dev_rules("8:x 1\n", false, CONF_LIMIT_READ_BPS, l), -EINVAL);
        CHECK_INT(cgfs_parse_dev_rules("8:0 rbps\n", true, CONF_LIMIT_READ_BPS, l), -EINVAL);
        live_limits_free(l);
}

/* v2 limits on a fixture directory: planned from the files, written, read back as a no-op,
 * and cleared when the keys go. */
static void test_v2_fixture_limits(void) {
        char tmp[] = "/tmp/test-cgfs-v2l.XXXXXX";
        _cleanup_free_ char *r = NULL, *ra = NULL;
        struct cgfs *fs = NULL;
        struct live_tree t = {};
        struct plan p = {};
        struct cgfs_apply_result res = {};
        struct conf *c = NULL, *bare = NULL;
        const char *conf = "{\"cpu\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"quota_percent\": 50}}}}, "
                           "\"memory\": {\"sub_cgroup\": {\"a\": {\"conf\": {\"max\": 67108864, "
                           "\"high\": 33554432, \"low\": 4096}}}}, \"pids\": {\"sub_cgroup\": "
                           "{\"a\": {\"conf\": {\"max\": 10}}}}, \"blkio\": {\"sub_cgroup\": {\"a\": "
                           "{\"conf\": {\"read_bps\": {\"7:0\": 2097152}}}}}}";
        const char *bare_text = "{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}, \"memory\": {\"sub_cgroup\": "
                                "{\"a\": {}}}, \"pids\": {\"sub_cgroup\": {\"a\": {}}}, \"blkio\": "
                                "{\"sub_cgroup\": {\"a\": {}}}}";
        char *s;

        CHECK(mkdtemp(tmp));
        xasprintf(&r, "%s/r", tmp);
        xasprintf(&ra, "%s/r/a", tmp);
        mkdir(r, 0755);
        mkdir(ra, 0755);
        put(r, "cgroup.controllers", "cpu io memory pids\n");
        put(r, "cgroup.subtree_control", "cpu io memory pids\n");
        put(r, "cgroup.procs", "");
        put(ra, "cgroup.controllers", "\n");
        put(ra, "cgroup.procs", "");
        put(ra, "cpu.weight", "100\n");
        put(ra, "cpu.max", "max 100000\n");
        put(ra, "io.weight", "default 100\n");
        put(ra, "io.max", "");
        put(ra, "memory.max", "max\n");
        put(ra, "memory.high", "max\n");
        put(ra, "memory.low", "0\n");
        put(ra, "pids.max", "max\n");

        CHECK_INT(cgfs_open(tmp, "r", CGFS_MODE_V2, &fs), 0);
        CHECK_INT(conf_parse(conf, strlen(conf), &c, NULL), 0);
        CHECK_INT(conf_parse(bare_text, strlen(bare_text), &bare, NULL), 0);
        if (!fs || !c || !bare)
                goto out;
        CHECK_INT(cgfs_read_live_for(fs, c, &t), 0);
        t.ncpus = 4; /* not this machine's count */
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(plan_format(&p, &t, &s), 0);
        CHECK_STR(s, "set-limit cpu:a quota_percent 50 (was none)\n"
                     "set-limit blkio:a read_bps 7:0 2097152 (was none)\n"
                     "set-limit memory:a max 67108864 (was none)\n"
                     "set-limit memory:a high 33554432 (was none)\n"
                     "set-limit memory:a low 4096 (was none)\n"
                     "set-limit pids:a max 10 (was none)\n");
        free(s);
        CHECK_INT(cgfs_apply_plan(fs, &p, &res), 0);
        CHECK_INT(res.n_limits, 6);
        s = get(ra, "cpu.max");
        CHECK_STR(s, "50000 100000");
        free(s);
        s = get(ra, "io.max");
        CHECK_STR(s, "7:0 rbps=2097152");
        free(s);
        s = get(ra, "memory.high");
        CHECK_STR(s, "33554432");
        free(s);
        s = get(ra, "pids.max");
        CHECK_STR(s, "10");
        free(s);
        cgfs_apply_result_clear(&res);
        plan_clear(&p);
        live_tree_clear(&t);
        /* read back: nothing to do */
        CHECK_INT(cgfs_read_live_for(fs, c, &t), 0);
        CHECK_INT(conf_plan(c, &t, NULL, &p), 0);
        CHECK_INT(p.n, 0);
        plan_clear(&p);
        /* the keys removed: every file back to "no limit" */
        CHECK_INT(conf_plan(bare, &t, NULL, &p), 0);
        CHECK_INT(p.n, 6);
        CHECK_INT(cgfs_apply_plan(fs, &p, &res), 0);
        s = get(ra, "cpu.max");
        CHECK_STR(s, "max 100000");
        free(s);
        s = get(ra, "io.max");
        CHECK_STR(s, "7:0 rbps=max");
        free(s);
        s = get(ra, "memory.max");
        CHECK_STR(s, "max");
        free(s);
        s = get(ra, "memory.low");
        CHECK_STR(s, "0");
        free(s);
        s = get(ra, "pids.max");
        CHECK_STR(s, "max");
        free(s);
        cgfs_apply_result_clear(&res);
        plan_clear(&p);
        live_tree_clear(&t);
        CHECK_INT(cgfs_read_live_for(fs, bare, &t), 0);
        CHECK_INT(conf_plan(bare, &t, NULL, &p), 0);
        CHECK_INT(p.n, 0);
out:
        plan_clear(&p);
        live_tree_clear(&t);
        conf_free(c);
        conf_free(bare);
        cgfs_close(fs);
        {
                _cleanup_free_ char *cmd = NULL;
                xasprintf(&cmd, "rm -rf '%s'", tmp);
                (void) !system(cmd);
        }
}

/* Opens file f of s at path, reads and parses it into v: what cg-accountd does per cgroup. */
static int read_parse(struct cgfs *fs, enum conf_subsys s, const char *path, enum cgfs_file f,
                      struct acct_value *v) {
        struct cgfs_buf b = {};
        size_t n = 0;
        int fd, r;

        r = cgfs_open_file(fs, s, path, f, O_RDONLY, &fd, 1, &n);
        if (r < 0)
                return r;
        r = cgfs_read_fd(fd, &b);
        if (r >= 0)
                r = cgfs_parse_file(fs, s, f, b.p, v);
        close(fd);
        cgfs_buf_free(&b);
        return r;
}

static void rm_rf(const char *dir) {
        char *cmd = NULL;

        xasprintf(&cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                printf("# could not remove %s\n", dir);
        free(cmd);
}

/* v1: the limits' counters in their hierarchies (cpu.stat in cpu, not cpuacct; memory; pids);
 * PSI missing as on these machines' v1 hierarchies. */
static void test_limit_counters_v1(void) {
        char tmp[] = "/tmp/test-cgfs-lc1.XXXXXX";
        char *cpu_only[] = {"cpu", NULL}, *acct_only[] = {"cpuacct", NULL},
             *mem_only[] = {"memory", NULL}, *pids_only[] = {"pids", NULL};
        struct cgfs_mount m[4] = {
                {.controllers = cpu_only, .mount_root = "/"},
                {.controllers = acct_only, .mount_root = "/"},
                {.controllers = mem_only, .mount_root = "/"},
                {.controllers = pids_only, .mount_root = "/"},
        };
        const char *names[4] = {"cpu", "cpuacct", "memory", "pids"};
        char *dir[4] = {}, *desc = NULL;
        struct cgfs *fs = NULL;
        struct acct_value v = {};

        CHECK(mkdtemp(tmp));
        for (int k = 0; k < 4; k++) {
                xasprintf(&m[k].path, "%s/%s", tmp, names[k]);
                xasprintf(&dir[k], "%s/%s/r/a", tmp, names[k]);
                mkdir(m[k].path, 0755);
        }
        struct cgfs_layout l = {.mounts = m, .n_mounts = 4};
        CHECK_INT(cgfs_open_layout(&l, "r", CGFS_MODE_V1, &fs), 0);
        if (!fs)
                goto out;
        CHECK_INT(cgfs_ensure_root(fs), 0);
        for (int k = 0; k < 4; k++)
                mkdir(dir[k], 0755);
        put(dir[0], "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 2500000\n");
        put(dir[1], "cpuacct.usage", "1000\n");
        put(dir[2], "memory.usage_in_bytes", "4096\n");
        put(dir[2], "memory.max_usage_in_bytes", "8192\n");
        put(dir[2], "memory.failcnt", "3\n");
        put(dir[3], "pids.current", "11\n");

        CHECK_STR(cgfs_file_name(fs, CONF_CPU, CGFS_FILE_CPU_THROTTLE), "cpu.stat");
        CHECK_STR(cgfs_file_name(fs, CONF_MEMORY, CGFS_FILE_MEM_EVENTS), "memory.failcnt");
        CHECK(cgfs_file_name(fs, CONF_PIDS, CGFS_FILE_PRESSURE) == NULL);
        CHECK_INT(cgfs_file_alias(fs, CONF_CPU, CGFS_FILE_CPU_THROTTLE), CGFS_FILE_CPU_THROTTLE);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_USAGE, &v), 0);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_THROTTLE, &v), 0);
        CHECK(v.usage == 1000 && v.nr_throttled == 4 && v.throttled_usec == 2500 &&
              v.has == ACCT_HAS_THROTTLE);
        /* the cpu hierarchy's cpu.stat, described as such */
        CHECK_INT(cgfs_describe_file(fs, CONF_CPU, "a", CGFS_FILE_CPU_THROTTLE, &desc), 0);
        CHECK(desc && strstr(desc, "/cpu/r/a/cpu.stat"));
        free(desc);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_PRESSURE, &v), -ENOENT);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_USAGE, &v), 0);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_PEAK, &v), 0);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_EVENTS, &v), 0);
        CHECK(v.mem_usage == 4096 && v.mem_peak == 8192 && v.mem_failcnt == 3 &&
              (v.has & ACCT_HAS_MEM_FAILCNT) && !(v.has & ACCT_HAS_MEM_OOM_KILL));
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_PRESSURE, &v), -ENOENT);
        CHECK_INT(read_parse(fs, CONF_PIDS, "a", CGFS_FILE_PIDS_CURRENT, &v), 0);
        CHECK(v.pids_current == 11 && (v.has & ACCT_HAS_PIDS_CURRENT));
        CHECK_INT(read_parse(fs, CONF_PIDS, "a", CGFS_FILE_PRESSURE, &v), -EINVAL);
        /* a file that does not belong to the subsystem is refused */
        CHECK_INT(read_parse(fs, CONF_PIDS, "a", CGFS_FILE_MEM_USAGE, &v), -EINVAL);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_RESET, &v), -EINVAL);
        CHECK_INT(cgfs_parse_file(fs, CONF_MEMORY, CGFS_FILE_MEM_USAGE, "max\n", &v), -EINVAL);
        CHECK(v.mem_usage == 4096); /* untouched on failure */
        /* a missing cgroup */
        CHECK_INT(read_parse(fs, CONF_MEMORY, "nope", CGFS_FILE_MEM_USAGE, &v), -ENOENT);
        fs = cgfs_close(fs);
out:
        rm_rf(tmp);
        for (int k = 0; k < 4; k++) {
                free(m[k].path);
                free(dir[k]);
        }
}

/* v2 on a fixture directory: cpu.stat read once for usage and throttling, PSI, memory.current,
 * memory.peak, memory.events, pids.current. */
static void test_limit_counters_v2(void) {
        char tmp[] = "/tmp/test-cgfs-lc2.XXXXXX";
        char *r = NULL, *ra = NULL;
        struct cgfs *fs = NULL;
        struct acct_value v = {};

        CHECK(mkdtemp(tmp));
        xasprintf(&r, "%s/r", tmp);
        xasprintf(&ra, "%s/r/a", tmp);
        mkdir(r, 0755);
        mkdir(ra, 0755);
        put(r, "cgroup.controllers", "cpu io memory pids\n");
        put(ra, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 9\n"
                            "nr_throttled 7\nthrottled_usec 1234\n");
        put(ra, "cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=100\n"
                                "full avg10=0.00 avg60=0.00 avg300=0.00 total=50\n");
        put(ra, "io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"
                               "full avg10=0.00 avg60=0.00 avg300=0.00 total=6\n");
        put(ra, "memory.pressure", "some avg10=1.00 avg60=0.50 avg300=0.10 total=30\n"
                                   "full avg10=1.00 avg60=0.50 avg300=0.10 total=20\n");
        put(ra, "memory.current", "65536\n");
        put(ra, "memory.peak", "131072\n");
        put(ra, "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
        put(ra, "pids.current", "10\n");

        CHECK_INT(cgfs_open(tmp, "r", CGFS_MODE_V2, &fs), 0);
        if (!fs)
                goto out;
        CHECK_STR(cgfs_file_name(fs, CONF_MEMORY, CGFS_FILE_MEM_USAGE), "memory.current");
        CHECK_STR(cgfs_file_name(fs, CONF_BLKIO, CGFS_FILE_PRESSURE), "io.pressure");
        /* cpu.stat serves usage and throttling: read once, parsed twice */
        CHECK_INT(cgfs_file_alias(fs, CONF_CPU, CGFS_FILE_CPU_THROTTLE), CGFS_FILE_CPU_USAGE);
        CHECK_INT(cgfs_file_alias(fs, CONF_MEMORY, CGFS_FILE_MEM_PEAK), CGFS_FILE_MEM_PEAK);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_USAGE, &v), 0);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_THROTTLE, &v), 0);
        CHECK(v.usage == 2500000 && v.nr_throttled == 7 && v.throttled_usec == 1234);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_PRESSURE, &v), 0);
        CHECK(v.pressure.has_some && v.pressure.some_usec == 100 && v.pressure.full_usec == 50);
        CHECK_INT(read_parse(fs, CONF_BLKIO, "a", CGFS_FILE_PRESSURE, &v), 0);
        CHECK(v.pressure.some_usec == 7 && v.pressure.full_usec == 6);
        v = (struct acct_value){};
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_USAGE, &v), 0);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_PEAK, &v), 0);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_EVENTS, &v), 0);
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_PRESSURE, &v), 0);
        CHECK(v.mem_usage == 65536 && v.mem_peak == 131072 && v.mem_oom_kill == 1 &&
              v.has == (ACCT_HAS_MEM_USAGE | ACCT_HAS_MEM_PEAK | ACCT_HAS_MEM_OOM_KILL) &&
              v.pressure.some_usec == 30 && v.pressure.full_usec == 20);
        CHECK_INT(read_parse(fs, CONF_PIDS, "a", CGFS_FILE_PIDS_CURRENT, &v), 0);
        CHECK(v.pids_current == 10);
        /* without the cpu controller: usage only (nr_throttled missing is -ENODATA) */
        put(ra, "cpu.stat", "usage_usec 2600\nuser_usec 2000\nsystem_usec 600\n");
        v = (struct acct_value){};
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_USAGE, &v), 0);
        CHECK_INT(read_parse(fs, CONF_CPU, "a", CGFS_FILE_CPU_THROTTLE, &v), -ENODATA);
        CHECK(v.usage == 2600000 && v.has == 0);
        /* kernels before 5.19 have no memory.peak */
        {
                char *p = NULL;
                xasprintf(&p, "%s/memory.peak", ra);
                unlink(p);
                free(p);
        }
        CHECK_INT(read_parse(fs, CONF_MEMORY, "a", CGFS_FILE_MEM_PEAK, &v), -ENOENT);
        fs = cgfs_close(fs);
out:
        rm_rf(tmp);
        free(r);
        free(ra);
}

int main(void) {
        RUN(test_layout_hybrid);
        RUN(test_layout_v1_comount);
        RUN(test_layout_v2);
        RUN(test_layout_container_and_errors);
        RUN(test_mode);
        RUN(test_path_safety);
        RUN(test_parsers);
        RUN(test_control_names);
        RUN(test_proc_cgroup_find);
        RUN(test_open_layout_mirroring);
        RUN(test_v2_fixture);
        RUN(test_limit_parsers);
        RUN(test_v2_fixture_limits);
        RUN(test_limit_counters_v1);
        RUN(test_limit_counters_v2);
        RUN(test_parallel_read);
        return TAP_END();
}
