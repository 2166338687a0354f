/* conf-bench.c — the arch conf model's costs, each beside the bare cJSON parse of the same text
 * (the floor: conf_parse is cJSON plus validation and the model). Prints a Markdown table.
 * Usage: conf-bench [RUNS]   (median of RUNS, default 9). Pure CPU; no files but a temp dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "snapshot.h"
#include "util.h"

/* n cgroups, half in cpu, half in blkio, each a tree of fanout 10 (5 levels for 100,000), like a
 * fleet conf: node i has children 10(i+1) .. 10(i+1)+9; the roots' children are 0..9. */
static void gen_children(FILE *f, const char *key, unsigned first, unsigned n) {
        fputs("{", f);
        for (unsigned i = first; i < first + 10 && i < n; i++) {
                fprintf(f, "%s\"g%u\": {\"conf\": {\"%s\": %u}", i > first ? ", " : "", i, key,
                        strcmp(key, "share") == 0 ? 2 + i % 2000 : 10 + i % 990);
                if (10 * (i + 1) < n) {
                        fputs(", \"sub_cgroup\": ", f);
                        gen_children(f, key, 10 * (i + 1), n);
                }
                fputs("}", f);
        }
        fputs("}", f);
}

static char *gen_conf(unsigned n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        fputs("{\"cpu\": {\"sub_cgroup\": ", f);
        gen_children(f, "share", 0, n / 2);
        fputs("}, \"blkio\": {\"sub_cgroup\": ", f);
        gen_children(f, "weight", 0, n - n / 2);
        fputs("}}", f);
        fclose(f);
        return buf;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n) {
        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        return v[n / 2] / 1000.0;
}

int main(int argc, char **argv) {
        int runs = argc > 1 ? atoi(argv[1]) : 9;
        static const unsigned sizes[] = {1000, 10000, 100000};
        char dir[] = "/tmp/cgarch-conf-bench-XXXXXX";
        uint64_t *t_cjson, *t_parse, *t_json, *t_find, *t_snapw, *t_snapr;

        if (runs < 1 || runs > 1000 || !mkdtemp(dir))
                return 1;
        t_cjson = calloc((size_t) runs, sizeof(uint64_t));
        t_parse = calloc((size_t) runs, sizeof(uint64_t));
        t_json = calloc((size_t) runs, sizeof(uint64_t));
        t_find = calloc((size_t) runs, sizeof(uint64_t));
        t_snapw = calloc((size_t) runs, sizeof(uint64_t));
        t_snapr = calloc((size_t) runs, sizeof(uint64_t));

        printf("| cgroups | text | cJSON parse+free (floor) | conf_parse+free | ratio | conf_to_json "
               "| conf_find, all names | snapshot_write | snapshot_read |\n");
        printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *text = gen_conf(sizes[i]), *path = NULL;
                size_t len = strlen(text), n_nodes = 0;
                struct conf *probe = NULL;
                struct conf_errors e = {};

                if (conf_parse(text, len, &probe, &e) < 0) {
                        char *s = NULL;
                        conf_errors_format(&e, -1, &s);
                        fprintf(stderr, "generated conf invalid: %s\n", s);
                        return 1;
                }
                n_nodes = probe->n_nodes;
                if (xasprintf(&path, "%s/arch_conf.json", dir) < 0)
                        return 1;
                for (int r = 0; r < runs; r++) {
                        struct conf *c = NULL, *back = NULL;
                        char *j = NULL;
                        uint64_t t0, t1;

                        t0 = now_usec(CLOCK_MONOTONIC);
                        cJSON *root = cJSON_ParseWithOpts(text, NULL, false);
                        cJSON_Delete(root);
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_cjson[r] = t1 - t0;

                        t0 = now_usec(CLOCK_MONOTONIC);
                        conf_parse(text, len, &c, NULL);
                        conf_free(c);
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_parse[r] = t1 - t0;

                        t0 = now_usec(CLOCK_MONOTONIC);
                        conf_to_json(probe, &j);
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_json[r] = t1 - t0;
                        free(j);

                        t0 = now_usec(CLOCK_MONOTONIC);
                        for (unsigned id = 0; id < sizes[i] / 2; id++) {
                                char name[16];
                                snprintf(name, sizeof(name), "g%u", id);
                                if (!conf_find(probe, CONF_CPU, name))
                                        return 1;
                        }
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_find[r] = t1 - t0;

                        t0 = now_usec(CLOCK_MONOTONIC);
                        snapshot_write(path, probe);
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_snapw[r] = t1 - t0;

                        t0 = now_usec(CLOCK_MONOTONIC);
                        snapshot_read(path, &back, NULL);
                        t1 = now_usec(CLOCK_MONOTONIC);
                        t_snapr[r] = t1 - t0;
                        conf_free(back);
                }
                double cj = median_ms(t_cjson, runs), cp = median_ms(t_parse, runs);
                printf("| %zu | %zu KiB | %.2f ms | %.2f ms | %.1fx | %.2f ms | %.2f ms | %.2f ms | "
                       "%.2f ms |\n",
                       n_nodes, len / 1024, cj, cp, cj > 0 ? cp / cj : 0.0,
                       median_ms(t_json, runs), median_ms(t_find, runs), median_ms(t_snapw, runs),
                       median_ms(t_snapr, runs));
                conf_free(probe);
                (void) unlink(path);
        }
        (void) rmdir(dir);
        free(t_cjson);
        free(t_parse);
        free(t_json);
        free(t_find);
        free(t_snapw);
        free(t_snapr);
        return 0;
}
