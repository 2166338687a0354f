/* fuzz-top.c — libFuzzer target for `cgarch top`'s reading of accounting samples and the conf
 * (cgarch/top.c): whatever Redis or cg-wsd hands over must give rows or -EINVAL, never a crash.
 * Input: up to three JSON texts separated by NUL bytes: the older sample, the newer one, the
 * conf's value (missing parts are NULL).
 * Checks, besides the sanitizers: every row has a path and no negative figure; each sort order
 * and both layouts work; at a width every line is that wide.
 * FUZZ_SOURCES: cgarch/top.c common/strbuf.c common/util.c
 * FUZZ_LIBS: -lcjson -lm
 * FUZZ_CORPUS: tests/fixtures/top
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cJSON *part[3] = {};
        struct top_view v = {};
        size_t o = 0;
        int r;

        for (int k = 0; k < 3 && o < size; k++) {
                const uint8_t *nul = memchr(data + o, 0, size - o);
                size_t n = nul ? (size_t) (nul - (data + o)) : size - o;
                part[k] = cJSON_ParseWithLength((const char *) data + o, n);
                o += n + 1;
        }
        r = top_compute(part[0], 10, part[1], 12, part[2], &v);
        check(r == 0 || r == -EINVAL || r == -ENOMEM, "a known result");
        if (r == 0) {
                for (size_t i = 0; i < v.n; i++) {
                        const struct top_row *w = &v.rows[i];
                        check(w->path != NULL, "a path");
                        check(!(w->cpu_pct < 0) && !(w->io_read < 0) && !(w->io_write < 0) &&
                                      !(w->mem < 0) && !(w->pressure < 0),
                              "no negative figure");
                }
                for (int s = 0; s < _TOP_SORT_MAX; s++) {
                        struct strbuf b = {};
                        top_sort(&v, (enum top_sort) s);
                        check(top_format(&v, s % 2 ? 0 : 80, s == 2 ? 3 : 0, &b) == 0, "a layout");
                        if (s % 2 == 0)
                                for (const char *p = strbuf_text(&b); *p;) {
                                        const char *e = strchr(p, '\n');
                                        check(e && e - p == 80, "80 wide");
                                        p = e + 1;
                                }
                        strbuf_done(&b);
                }
                top_view_done(&v);
        }
        for (int k = 0; k < 3; k++)
                cJSON_Delete(part[k]);
        return 0;
}
