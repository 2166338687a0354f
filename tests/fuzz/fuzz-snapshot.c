/* fuzz-snapshot.c — libFuzzer target for snapshot_parse (what cg-taskd and cg-accountd read).
 * FUZZ_SOURCES: common/conf.c common/snapshot.c common/util.c common/log.c common/cgfs-names.c
 * FUZZ_LIBS: -lcjson
 * FUZZ_CORPUS: tests/fixtures/conf
 * FUZZ_DICT: tests/fuzz/conf.dict */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct conf *c = NULL;
        struct conf_errors e = {};
        char *j = NULL;
        int r;

        r = snapshot_parse((const char *) data, size, &c, &e);
        if (r < 0) {
                if (r != -EINVAL || c || e.n == 0)
                        abort();
                conf_errors_clear(&e);
                return 0;
        }
        if (c->version < -1 || e.n != 0 || conf_to_json(c, &j) < 0)
                abort();
        free(j);
        conf_free(c);
        return 0;
}
