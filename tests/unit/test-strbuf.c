/* test-strbuf.c — common/strbuf.c: appends, numbers, the JSON string writer (as cJSON escapes),
 * headroom, hand-over, and sticky errors. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "strbuf.h"
#include "tap.h"

static void test_append(void) {
        struct strbuf b = {};

        CHECK_STR(strbuf_text(&b), "");
        CHECK_INT(strbuf_puts(&b, "a"), 0);
        CHECK_INT(strbuf_append(&b, "bcd", 2), 0);
        CHECK_INT(strbuf_printf(&b, "-%d-%s", 42, "x"), 0);
        CHECK_STR(strbuf_text(&b), "abc-42-x");
        CHECK_INT(b.len, 8);
        for (int i = 0; i < 1000; i++) /* growth */
                CHECK_INT(strbuf_puts(&b, "0123456789"), 0);
        CHECK_INT(b.len, 10008);
        strbuf_reset(&b);
        CHECK_STR(strbuf_text(&b), "");
        strbuf_done(&b);
        CHECK(b.mem == NULL && b.len == 0);
}

static void test_numbers(void) {
        struct strbuf b = {};

        CHECK_INT(strbuf_append_u64(&b, 0), 0);
        (void) strbuf_puts(&b, " ");
        (void) strbuf_append_u64(&b, UINT64_MAX);
        (void) strbuf_puts(&b, " ");
        (void) strbuf_append_i64(&b, -5);
        (void) strbuf_puts(&b, " ");
        CHECK_INT(strbuf_append_i64(&b, INT64_MIN), 0);
        CHECK_STR(strbuf_text(&b), "0 18446744073709551615 -5 -9223372036854775808");
        strbuf_done(&b);
}

static void test_json_string(void) {
        const char *in[] = {"plain", "q\"b\\s", "nl\nt\tcr\rbs\bff\f", "\x01\x1f", "ütf-8 ✓", ""};

        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                struct strbuf b = {};
                cJSON *j = cJSON_CreateString(in[i]);
                char *want = cJSON_PrintUnformatted(j);

                CHECK_INT(strbuf_json_string(&b, in[i]), 0);
                CHECK_STR(strbuf_text(&b), want); /* byte for byte what cJSON writes */
                free(want);
                cJSON_Delete(j);
                strbuf_done(&b);
        }
}

static void test_headroom_and_steal(void) {
        struct strbuf b;
        char *s;

        CHECK_INT(strbuf_init(&b, 16, 4), 0);
        CHECK_STR(strbuf_text(&b), "");
        (void) strbuf_puts(&b, "hello");
        CHECK(strbuf_text(&b) == b.mem + 16);
        CHECK(strbuf_steal(&b) == NULL); /* text behind headroom cannot be handed over */
        CHECK(b.mem == NULL);

        b = (struct strbuf){};
        s = strbuf_steal(&b);
        CHECK_STR(s, "");
        free(s);
        (void) strbuf_puts(&b, "x");
        s = strbuf_steal(&b);
        CHECK_STR(s, "x");
        free(s);
}

static void test_sticky_error(void) {
        struct strbuf b = {};

        (void) strbuf_puts(&b, "a");
        CHECK_INT(strbuf_reserve(&b, SIZE_MAX / 2), -ENOMEM);
        CHECK(b.oom);
        CHECK_INT(strbuf_puts(&b, "b"), -ENOMEM); /* fails from then on */
        CHECK(strbuf_steal(&b) == NULL);
}

int main(void) {
        RUN(test_append);
        RUN(test_numbers);
        RUN(test_json_string);
        RUN(test_headroom_and_steal);
        RUN(test_sticky_error);
        return TAP_END();
}
