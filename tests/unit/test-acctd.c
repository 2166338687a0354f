/* test-acctd.c — cg-accountd's per-second read (cg-accountd/sample.c) on a directory that
 * imitates a cgroup v2 hierarchy: which files each subsystem tree reads, v2's cpu.stat read
 * once for usage and throttling, optional files missing here and there, and the sample the tick
 * writes from it. No Redis, no root. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acctd.h"
#include "tap.h"
#include "util.h"

static void put(const char *dir, const char *file, const char *text) {
        char *p = NULL;
        FILE *f;

        if (xasprintf(&p, "%s/%s", dir, file) < 0)
                return;
        f = fopen(p, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
        free(p);
}

/* The node of the sample at subsystem s, then child names, NULL-terminated. */
static const cJSON *node(const cJSON *j, const char *s, ...) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, s);
        va_list ap;

        va_start(ap, s);
        for (const char *c; n && (c = va_arg(ap, const char *));)
                n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "sub_cgroup"), c);
        va_end(ap);
        return n;
}

static double num(const cJSON *n, const char *obj, const char *key) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(n, obj);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static bool has(const cJSON *n, const char *obj, const char *key) {
        const cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(n, obj) : n;
        return cJSON_GetObjectItemCaseSensitive(o, key) != NULL;
}

static cJSON *tick(struct acctd *d) {
        struct acct_value *values[_CONF_SUBSYS_MAX];

        d->st.ticks++;
        (void) acctd_read_all(d);
        for (size_t i = 0; i < _CONF_SUBSYS_MAX; i++)
                values[i] = d->trees[i].values;
        if (acct_sample_write(d->conf, values, &d->sample) < 0)
                return NULL;
        return cJSON_Parse(strbuf_text(&d->sample));
}

static void test_v2_sample(void) {
        char tmp[] = "/tmp/test-acctd.XXXXXX";
        _cleanup_free_ char *r = NULL, *ra = NULL;
        const char *conf = "{\"cpu\": {\"sub_cgroup\": {\"a\": {}, \"b\": {}}}, \"blkio\": {}, "
                           "\"memory\": {\"sub_cgroup\": {\"a\": {}}}, \"pids\": {\"sub_cgroup\": "
                           "{\"a\": {}}}}";
        struct acctd d = {.fd_budget = 1000};
        const cJSON *n;
        cJSON *j = NULL;

        CHECK(mkdtemp(tmp));
        xasprintf(&r, "%s/r", tmp);
        xasprintf(&ra, "%s/r/a", tmp);
        mkdir(r, 0755);
        mkdir(ra, 0755);
        put(r, "cgroup.controllers", "cpu io memory pids\n");
        /* the managed root: cpu.stat without the cpu controller's lines, no memory.peak */
        put(r, "cpu.stat", "usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\n");
        put(r, "cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=100\n");
        put(r, "io.stat", "8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n");
        put(r, "io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=6\n");
        put(r, "memory.current", "1048576\n");
        put(r, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        put(r, "pids.current", "3\n");
        put(ra, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 9\n"
                            "nr_throttled 7\nthrottled_usec 1234\n");
        put(ra, "cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=100\n"
                                "full avg10=0.00 avg60=0.00 avg300=0.00 total=50\n");
        put(ra, "memory.current", "65536\n");
        put(ra, "memory.peak", "131072\n");
        put(ra, "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
        put(ra, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=30\n"
                                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=20\n");
        put(ra, "pids.current", "2\n");

        CHECK_INT(cgfs_open(tmp, "r", CGFS_MODE_V2, &d.fs), 0);
        CHECK_INT(conf_parse(conf, strlen(conf), &d.conf, NULL), 0);
        if (!d.fs || !d.conf)
                goto out;
        CHECK_INT(acctd_trees_build(&d), 0);
        /* cpu: cpu.stat once (usage and throttling), cpu.pressure; memory: four files */
        CHECK_INT(d.trees[CONF_CPU].n_files, 3);
        CHECK_INT(d.trees[CONF_CPU].from[1], 0);
        CHECK_INT(d.trees[CONF_MEMORY].n_files, 4);
        CHECK_INT(d.trees[CONF_PIDS].n_files, 1); /* pids has no PSI */
        CHECK_INT(d.n_cgroups, 2 + 0 + 1 + 1); /* the conf's cgroups: managed roots not counted */

        j = tick(&d);
        CHECK(j != NULL);
        n = node(j, "cpu", "a", NULL);
        CHECK(num(n, "value", "usage") == 2500000 && num(n, "value", "nr_throttled") == 7 &&
              num(n, "value", "throttled_usec") == 1234);
        CHECK(num(n, "pressure", "some_usec") == 100 && num(n, "pressure", "full_usec") == 50);
        /* the root: no cpu controller lines, no full line: those keys are left out */
        n = node(j, "cpu", NULL);
        CHECK(num(n, "value", "usage") == 9000000 && !has(n, "value", "nr_throttled"));
        CHECK(num(n, "pressure", "some_usec") == 100 && !has(n, "pressure", "full_usec"));
        /* b does not exist: {} and no pressure */
        n = node(j, "cpu", "b", NULL);
        CHECK(n && cJSON_GetArraySize(cJSON_GetObjectItem(n, "value")) == 0 && !has(n, NULL, "pressure"));
        n = node(j, "blkio", NULL);
        CHECK(num(n, "pressure", "full_usec") == 6 && has(n, "value", "8:0"));
        n = node(j, "memory", "a", NULL);
        CHECK(num(n, "value", "usage") == 65536 && num(n, "value", "peak") == 131072 &&
              num(n, "value", "oom_kill") == 1 && !has(n, "value", "failcnt"));
        CHECK(num(n, "pressure", "some_usec") == 30 && num(n, "pressure", "full_usec") == 20);
        n = node(j, "memory", NULL);
        CHECK(num(n, "value", "usage") == 1048576 && !has(n, "value", "peak") &&
              !has(n, NULL, "pressure"));
        CHECK(num(node(j, "pids", "a", NULL), "value", "current") == 2);
        CHECK(num(node(j, "pids", NULL), "value", "current") == 3);
        cJSON_Delete(j);
        /* a file found missing is not tried again at every tick */
        CHECK(d.trees[CONF_MEMORY].t[0].absent != 0);

        /* b appears (a kept fd of a changes, too: pread reads it anew) */
        {
                _cleanup_free_ char *rb = NULL;
                xasprintf(&rb, "%s/r/b", tmp);
                mkdir(rb, 0755);
                put(rb, "cpu.stat", "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods 0\n"
                                    "nr_throttled 0\nthrottled_usec 0\n");
        }
        put(ra, "memory.current", "70000\n");
        /* garbled (a kept fd reads the same inode anew): the key goes, the value stays */
        put(ra, "memory.events", "oom_kill x\n");
        j = tick(&d);
        n = node(j, "cpu", "b", NULL);
        CHECK(num(n, "value", "usage") == 1000 && num(n, "value", "nr_throttled") == 0 &&
              !has(n, NULL, "pressure"));
        n = node(j, "memory", "a", NULL);
        CHECK(num(n, "value", "usage") == 70000 && !has(n, "value", "oom_kill"));
        cJSON_Delete(j);
        /* a garbled optional file leaves its keys out, the rest is written */
        put(ra, "memory.pressure", "some total=x\n");
        j = tick(&d);
        n = node(j, "memory", "a", NULL);
        CHECK(num(n, "value", "usage") == 70000 && !has(n, NULL, "pressure"));
        cJSON_Delete(j);
        /* every ACCTD_ABSENT_RETRY_TICKS ticks the missing files are tried again */
        put(r, "memory.peak", "2097152\n");
        d.st.ticks = ACCTD_ABSENT_RETRY_TICKS - 1;
        j = tick(&d);
        CHECK(num(node(j, "memory", NULL), "value", "peak") == 2097152);
        cJSON_Delete(j);
out:
        acctd_trees_clear(&d);
        conf_free(d.conf);
        cgfs_close(d.fs);
        strbuf_done(&d.sample);
        cgfs_buf_free(&d.readbuf);
        {
                _cleanup_free_ char *cmd = NULL;
                xasprintf(&cmd, "rm -rf '%s'", tmp);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", tmp);
        }
}

int main(void) {
        RUN(test_v2_sample);
        return TAP_END();
}
