/* conf-zk.c — placeholder until cg-syncd's issue lands: the ZooKeeper side of cgarch. */
#include <stdint.h>
#include <stdio.h>

#include "cgarch.h"

int cgarch_cmd_conf(int argc, char **argv, const struct cfg *cfg) {
        (void) argc;
        (void) argv;
        (void) cfg;
        fprintf(stderr, "cgarch: conf: not available yet\n");
        return 1;
}

int cgarch_zk_read_conf(const struct cfg *cfg, char **ret_text, int64_t *ret_version) {
        (void) cfg;
        (void) ret_text;
        (void) ret_version;
        fprintf(stderr, "cgarch: reading the conf from ZooKeeper is not available yet\n");
        return -95; /* -EOPNOTSUPP */
}
