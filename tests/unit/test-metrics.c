/* test-metrics.c — the health metrics: common/metrics.c builds Prometheus text and writes the
 * .prom files; cg-wsd/wsd-metrics.c checks and merges them into /metrics and names disks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "metrics.h"
#include "tap.h"
#include "util.h"
#include "wsd-metrics.h"

static void test_build(void) {
        struct metrics m = {};

        CHECK_INT(metrics_counter(&m, "cgrouparch_x_total", "Things.\nMore \\ here.", 18446744073709551615ULL), 0);
        CHECK_INT(metrics_family(&m, "cgrouparch_g", METRICS_GAUGE, "A gauge."), 0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g",
                                 (const char *const[]){ "a", "q\"b\\c\nd", "b", "", NULL }, 0.25),
                  0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g", (const char *const[]){ "a", "int", NULL },
                                 1700000000),
                  0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g", (const char *const[]){ "a", "neg", NULL }, -3),
                  0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g", (const char *const[]){ "a", "inf", NULL },
                                 INFINITY),
                  0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g", (const char *const[]){ "a", "nan", NULL }, NAN),
                  0);
        CHECK_INT(metrics_sample(&m, "cgrouparch_g", (const char *const[]){ "a", "tenth", NULL },
                                 0.1),
                  0);
        CHECK_INT(metrics_build_info(&m, "cg-test"), 0);
        CHECK_STR(m.buf,
                  "# HELP cgrouparch_x_total Things.\\nMore \\\\ here.\n"
                  "# TYPE cgrouparch_x_total counter\n"
                  "cgrouparch_x_total 18446744073709551615\n"
                  "# HELP cgrouparch_g A gauge.\n"
                  "# TYPE cgrouparch_g gauge\n"
                  "cgrouparch_g{a=\"q\\\"b\\\\c\\nd\",b=\"\"} 0.25\n"
                  "cgrouparch_g{a=\"int\"} 1700000000\n"
                  "cgrouparch_g{a=\"neg\"} -3\n"
                  "cgrouparch_g{a=\"inf\"} +Inf\n"
                  "cgrouparch_g{a=\"nan\"} NaN\n"
                  "cgrouparch_g{a=\"tenth\"} 0.1\n"
                  "# HELP cgrouparch_build_info Always 1; the labels name the program and its "
                  "version.\n"
                  "# TYPE cgrouparch_build_info gauge\n"
                  "cgrouparch_build_info{daemon=\"cg-test\",version=\"" CGARCH_VERSION "\"} 1\n");
        metrics_done(&m);
        CHECK(!m.buf && m.len == 0);

        /* an invalid name or label name is sticky: nothing more is added */
        CHECK_INT(metrics_gauge(&m, "1bad", "x", 1), -EINVAL);
        CHECK_INT(metrics_gauge(&m, "cgrouparch_ok", "x", 1), -EINVAL);
        CHECK_INT(m.error, -EINVAL);
        metrics_done(&m);
        CHECK_INT(metrics_sample(&m, "cgrouparch_ok", (const char *const[]){ "__x", "v", NULL }, 1),
                  -EINVAL);
        metrics_done(&m);
        CHECK_INT(metrics_sample(&m, "cgrouparch_ok", (const char *const[]){ "a-b", "v", NULL }, 1),
                  -EINVAL);
        metrics_done(&m);
        CHECK(metrics_name_valid("a:b_c9", 6));
        CHECK(!metrics_name_valid("", 0));
        CHECK(!metrics_name_valid("a b", 3));
        CHECK(metrics_label_name_valid("_a1", 3));
        CHECK(!metrics_label_name_valid("a:b", 3));
}

static void test_write(void) {
        char dir[] = "/tmp/test-metrics.XXXXXX", path[256], *text = NULL;
        _cleanup_free_ char *p = NULL;
        struct metrics m = {};
        struct stat st;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/run/", dir);
        CHECK_INT(metrics_path(path, "cg-x", &p), 0);
        snprintf(path, sizeof(path), "%s/run/metrics/cg-x.prom", dir);
        CHECK_STR(p, path);
        CHECK_INT(metrics_path("relative", "cg-x", &p), -EINVAL);
        CHECK_INT(metrics_path("/run", "a/b", &p), -EINVAL);

        /* the runtime dir and metrics/ are made when missing; the file is 0644 whatever umask */
        mode_t old = umask(077);
        (void) metrics_gauge(&m, "cgrouparch_x", "X.", 2);
        snprintf(path, sizeof(path), "%s/run", dir);
        CHECK_INT(metrics_write(&m, path, "cg-x"), 0);
        umask(old);
        snprintf(path, sizeof(path), "%s/run/metrics/cg-x.prom", dir);
        CHECK_INT(stat(path, &st), 0);
        CHECK_INT(st.st_mode & 0777, 0644);
        CHECK_INT(read_full_file(path, &text, NULL), 0);
        CHECK_STR(text, m.buf);
        free(text);
        metrics_done(&m);

        /* a failed build writes nothing */
        (void) metrics_gauge(&m, "bad name", "X.", 2);
        snprintf(path, sizeof(path), "%s/run", dir);
        CHECK_INT(metrics_write(&m, path, "cg-y"), -EINVAL);
        snprintf(path, sizeof(path), "%s/run/metrics/cg-y.prom", dir);
        CHECK(access(path, F_OK) < 0);
        metrics_done(&m);

        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        CHECK_INT(system(path), 0);
}

static int merge(const char *a, const char *b, char **ret, size_t *rejected) {
        struct wsd_prom_input in[] = { { "a", a, strlen(a) }, { "b", b, strlen(b) } };
        struct wsproto_buf out;
        int r = wsd_metrics_merge(in, 2, &out, rejected);

        if (r < 0)
                return r;
        *ret = strdup(wsproto_buf_text(&out));
        wsproto_buf_done(&out);
        return 0;
}

static void test_merge(void) {
        char *t = NULL;
        size_t rej = 0;

        /* one family across files: one HELP and TYPE (the first), samples together */
        CHECK_INT(merge("# HELP cgrouparch_build_info A.\n# TYPE cgrouparch_build_info gauge\n"
                        "cgrouparch_build_info{daemon=\"cg-wsd\"} 1\n",
                        "# HELP cgrouparch_syncd_x X.\n# TYPE cgrouparch_syncd_x counter\n"
                        "cgrouparch_syncd_x 5\n"
                        "# HELP cgrouparch_build_info B.\n# TYPE cgrouparch_build_info gauge\n"
                        "cgrouparch_build_info{daemon=\"cg-syncd\"} 1\n",
                        &t, &rej),
                  0);
        CHECK_STR(t, "# HELP cgrouparch_build_info A.\n# TYPE cgrouparch_build_info gauge\n"
                     "cgrouparch_build_info{daemon=\"cg-syncd\"} 1\n"
                     "cgrouparch_build_info{daemon=\"cg-wsd\"} 1\n"
                     "# HELP cgrouparch_syncd_x X.\n# TYPE cgrouparch_syncd_x counter\n"
                     "cgrouparch_syncd_x 5\n");
        CHECK_INT(rej, 0);
        free(t);

        /* what is left out: malformed lines, timestamps, other prefixes, cg-wsd's own
         * families, summaries, bad escapes and UTF-8, duplicates, a conflicting TYPE */
        CHECK_INT(merge("# HELP cgrouparch_c C.\n# TYPE cgrouparch_c counter\ncgrouparch_c 1\n",
                        "# just a comment\n\n"
                        "# HELP cgrouparch_ok OK.\n# TYPE cgrouparch_ok gauge\n"
                        "# HELP cgrouparch_inf Inf.\n# TYPE cgrouparch_inf untyped\n"
                        "cgrouparch_nohelp 1\n"
                        "cgrouparch_ok{a=\"x\\\\y\\\"z\\n\",b=\"\xc3\xa9\",} 1.5e3\n"
                        "cgrouparch_ts 1 1700000000000\n"
                        "node_load1 3\n"
                        "cgrouparch_wsd_connections 9\n"
                        "cgrouparch_cpu_usage_seconds_total{cgroup=\"/\"} 9\n"
                        "# TYPE cgrouparch_s summary\ncgrouparch_s_sum 1\n"
                        "cgrouparch_e{a=\"\\x\"} 1\n"
                        "cgrouparch_u{a=\"\xff\"} 1\n"
                        "cgrouparch_n{a=\"1\"} abc\n"
                        "cgrouparch_l{a=1} 1\n"
                        "cgrouparch_ok{a=\"x\\\\y\\\"z\\n\",b=\"\xc3\xa9\",} 2\n"
                        "# TYPE cgrouparch_c gauge\ncgrouparch_c 2\n"
                        "cgrouparch_inf -Inf\n"
                        "cgrouparch_ctl{a=\"\x01\"} 1\n",
                        &t, &rej),
                  0);
        CHECK_STR(t, "# HELP cgrouparch_c C.\n# TYPE cgrouparch_c counter\ncgrouparch_c 1\n"
                     "# HELP cgrouparch_ok OK.\n# TYPE cgrouparch_ok gauge\n"
                     "cgrouparch_ok{a=\"x\\\\y\\\"z\\n\",b=\"\xc3\xa9\",} 1.5e3\n"
                     "# HELP cgrouparch_inf Inf.\n# TYPE cgrouparch_inf untyped\n"
                     "cgrouparch_inf -Inf\n");
        /* no HELP/TYPE (nohelp, s_sum), the timestamp, node_, wsd_, cpu_, TYPE summary, \x,
         * \xff, abc, a=1, the duplicate, the conflicting "c 2" (its TYPE line is kept aside),
         * the control character */
        CHECK_INT(rej, 14);
        free(t);

        /* nothing at all */
        CHECK_INT(merge("", "", &t, &rej), 0);
        CHECK_STR(t, "");
        CHECK_INT(rej, 0);
        free(t);
}

static void test_devname(void) {
        char *n = NULL;
        unsigned ma = 0, mi = 0;

        CHECK_INT(wsd_uevent_devname("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n", &n), 0);
        CHECK_STR(n, "vda");
        free(n);
        CHECK_INT(wsd_uevent_devname("DEVNAME=mapper/x-y_z.1", &n), 0);
        CHECK_STR(n, "mapper/x-y_z.1");
        free(n);
        CHECK_INT(wsd_uevent_devname("MAJOR=8\n", &n), -ENOENT);
        CHECK_INT(wsd_uevent_devname("DEVNAME=a\"b\n", &n), -EINVAL);
        CHECK_INT(wsd_uevent_devname("", &n), -ENOENT);

        CHECK_INT(wsproto_parse_devt("254:0", &ma, &mi), 0);
        CHECK_INT(ma, 254);
        CHECK_INT(mi, 0);
        CHECK_INT(wsproto_parse_devt("254:", &ma, &mi), -EINVAL);
        CHECK_INT(wsproto_parse_devt(":1", &ma, &mi), -EINVAL);
        CHECK_INT(wsproto_parse_devt("1:2:3", &ma, &mi), -EINVAL);
        CHECK_INT(wsproto_parse_devt("-1:2", &ma, &mi), -EINVAL);
        CHECK_INT(wsproto_parse_devt("99999999999:2", &ma, &mi), -EINVAL);

        /* the real sysfs: the disk of / has a name (skipped where /sys/dev/block is absent) */
        struct stat st;
        if (stat("/", &st) == 0 && access("/sys/dev/block", R_OK) == 0) {
                char path[128];
                snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(st.st_dev),
                         minor(st.st_dev));
                if (access(path, R_OK) == 0) {
                        const char *name = wsd_devname(major(st.st_dev), minor(st.st_dev), NULL);
                        CHECK(name && name[0]);
                        printf("# / is on %u:%u = %s\n", major(st.st_dev), minor(st.st_dev),
                               name ? name : "(null)");
                        /* cached: the same pointer */
                        CHECK(wsd_devname(major(st.st_dev), minor(st.st_dev), NULL) == name);
                }
        }
        CHECK(wsd_devname(4095, 1048575, NULL) == NULL);
}

int main(void) {
        RUN(test_build);
        RUN(test_write);
        RUN(test_merge);
        RUN(test_devname);
        return TAP_END();
}
