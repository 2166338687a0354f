/* fuzz-conf.c — libFuzzer target for the arch conf parser (conf_parse_text, any kind).
 * Checks, besides the sanitizers: a rejected text leaves *ret alone and lists problems; an
 * accepted one round-trips through conf_to_json() unchanged and answers cgexec lookups.
 * FUZZ_SOURCES: common/conf.c common/util.c common/log.c common/cgfs-names.c common/strbuf.c
 * FUZZ_LIBS: -lcjson
 * FUZZ_CORPUS: tests/fixtures/conf
 * FUZZ_DICT: tests/fuzz/conf.dict */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

/* The accepted range of each limit, written out here rather than taken from conf.c's table:
 * a bound changed there by mistake shows up as a broken invariant. */
static int64_t limit_min(int l) {
        return l >= CONF_LIMIT_MEM_MAX && l <= CONF_LIMIT_MEM_LOW ? CONF_MEMORY_MIN : 1;
}
static int64_t limit_max(int l) {
        switch (l) {
        case CONF_LIMIT_CPU_QUOTA:
                return CONF_QUOTA_PERCENT_MAX;
        case CONF_LIMIT_MEM_MAX:
        case CONF_LIMIT_MEM_HIGH:
        case CONF_LIMIT_MEM_LOW:
                return CONF_MEMORY_MAX;
        case CONF_LIMIT_PIDS_MAX:
                return CONF_PIDS_MAX;
        case CONF_LIMIT_READ_BPS:
        case CONF_LIMIT_WRITE_BPS:
                return CONF_BPS_MAX;
        default:
                return CONF_IOPS_MAX;
        }
}

static void check_node(const struct conf *c, enum conf_subsys s, const struct conf_node *n) {
        for (size_t i = 0; i < n->n_children; i++) {
                const struct conf_node *k = n->children[i];
                char *arg = NULL;
                check(k->parent == n, "parent link");
                check(k->depth == n->depth + 1 && k->depth <= CONF_MAX_DEPTH, "depth");
                check(conf_name_is_valid(k->name), "only valid names accepted");
                check(conf_find(c, s, k->name) == k, "conf_find finds every node");
                check(strlen(k->path) <= CONF_PATH_MAX, "path length");
                check(conf_cgexec_arg(c, "root", k->name, 0, &arg) == 0 && arg, "cgexec arg");
                for (size_t d = 0; k->limits && d < k->limits->n_devs; d++) {
                        check(conf_device_parse(k->limits->devs[d].dev, NULL, NULL) >= 0,
                              "only device keys accepted");
                        check(conf_limit_is_device(k->limits->devs[d].limit) &&
                                      conf_limit_subsys(k->limits->devs[d].limit) == s,
                              "device limits of blkio only");
                        check(k->limits->devs[d].value >= 1 &&
                                      k->limits->devs[d].value <=
                                              limit_max(k->limits->devs[d].limit),
                              "device limit in range");
                        check(strlen(k->limits->devs[d].dev) <= CONF_DEVICE_MAX, "device key length");
                        for (size_t e = 0; e < d; e++)
                                check(k->limits->devs[e].limit != k->limits->devs[d].limit ||
                                              strcmp(k->limits->devs[e].dev,
                                                     k->limits->devs[d].dev) != 0,
                                      "one entry per device and limit");
                }
                check(s == CONF_CPU || s == CONF_BLKIO || k->weight == -1,
                      "memory and pids have no weight");
                for (int l = 0; k->limits && l < _CONF_LIMIT_MAX; l++)
                        check(conf_limit_is_device(l) || k->limits->v[l] == -1 ||
                                      (k->limits->v[l] >= limit_min(l) &&
                                       k->limits->v[l] <= limit_max(l) &&
                                       conf_limit_subsys(l) == s),
                              "scalar limits of the node's subsystem, in range");
                free(arg);
                check_node(c, s, k);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct conf *c = (struct conf *) 0x1, *c2 = NULL;
        struct conf_errors e = {};
        char *j = NULL, *j2 = NULL, *msg = NULL;
        int r;

        r = conf_parse_text((const char *) data, size, CONF_TEXT_ANY, &c, &e);
        if (r < 0) {
                check(r == -EINVAL, "only -EINVAL for bad input");
                check(c == (struct conf *) 0x1, "*ret untouched on failure");
                check(e.n >= 1 && e.n <= CONF_MAX_ERRORS + 1, "problems listed");
                check(conf_errors_format(&e, 3, &msg) == 0 && msg, "format");
                {
                        size_t lines = 1;
                        for (const char *m = msg; *m; m++)
                                lines += *m == '\n';
                        /* names are escaped: no problem can forge a line of its own */
                        check(lines == e.n, "one line per problem");
                }
                free(msg);
                conf_errors_clear(&e);
                return 0;
        }
        check(e.n == 0, "no problems on success");
        check(c->n_nodes <= CONF_MAX_NODES, "node limit");
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                if (c->roots[s])
                        check_node(c, (enum conf_subsys) s, c->roots[s]);
        check(conf_to_json(c, &j) == 0, "to json");
        check(conf_parse(j, strlen(j), &c2, NULL) == 0, "canonical JSON parses");
        check(conf_to_json(c2, &j2) == 0 && strcmp(j, j2) == 0, "round trip");
        check(c2->n_nodes == c->n_nodes, "same node count");
        free(j);
        free(j2);
        conf_free(c);
        conf_free(c2);
        return 0;
}
