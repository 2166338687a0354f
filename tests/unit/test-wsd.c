/* test-wsd.c — the pure side of cg-wsd (cg-wsd/wsproto.c): requests, answers, /metrics, routes,
 * access checks. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "tap.h"
#include "wsproto.h"

#define NOW 1700000000
#define MIB (1024 * 1024)

static int parse(const char *s, struct wsproto_request *r, char **err) {
        free(*err);
        *err = NULL;
        return wsproto_request_parse(s, strlen(s), NOW, r, err);
}

static void test_request_defaults(void) {
        struct wsproto_request r;
        char *err = NULL;

        CHECK_INT(parse("{\"cmd\": \"show_account\"}", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_SHOW_ACCOUNT);
        CHECK_INT(r.end_slot, NOW);
        CHECK_INT(r.start_slot, NOW - 9);
        CHECK_INT(parse("{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 2}}", &r, &err), 0);
        CHECK_INT(r.start_slot, NOW - 1);
        CHECK_INT(r.end_slot, NOW);
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"end_slot\":100,\"nr_slot\":5}}", &r,
                        &err),
                  0);
        CHECK_INT(r.start_slot, 96);
        CHECK_INT(r.end_slot, 100);
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"start_slot\":100,\"end_slot\":100}}",
                        &r, &err),
                  0);
        CHECK_INT(r.start_slot, 100);
        CHECK_INT(r.end_slot, 100);
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"start_slot\":100,\"nr_slot\":3}}",
                        &r, &err),
                  0);
        CHECK_INT(r.end_slot, 102);
        /* start only: up to now */
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"start_slot\":1699999000}}", &r,
                        &err),
                  0);
        CHECK_INT(r.end_slot, NOW);
        /* a default start before the epoch is clamped */
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"end_slot\":3}}", &r, &err), 0);
        CHECK_INT(r.start_slot, 0);
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"nr_slot\":3600}}", &r, &err), 0);
        CHECK_INT(parse("{\"cmd\":\"show_account\",\"args\":{\"nr_slot\":1e1}}", &r, &err), 0);
        CHECK_INT(r.start_slot, NOW - 9);
        CHECK_INT(parse(" {\"cmd\": \"get_conf\"}\n", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_GET_CONF);
        CHECK_INT(parse("{\"cmd\": \"get_conf\", \"args\": {}}", &r, &err), 0);
        CHECK_INT(parse("{\"cmd\": \"subscribe_account\", \"args\": null}", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_SUBSCRIBE);
        CHECK_INT(parse("{\"cmd\": \"unsubscribe_account\"}", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_UNSUBSCRIBE);
        CHECK_INT(parse("{\"cmd\": \"get_placements\"}", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_GET_PLACEMENTS);
        CHECK_INT(parse("{\"cmd\": \"get_placements\", \"args\": {\"x\": 1}}", &r, &err), -EINVAL);
        CHECK_STR(err, "get_placements takes no args");
        CHECK_INT(parse("{\"cmd\": \"get_host\"}", &r, &err), 0);
        CHECK_INT(r.cmd, WSPROTO_GET_HOST);
        CHECK_INT(parse("{\"cmd\": \"get_host\", \"args\": {\"x\": 1}}", &r, &err), -EINVAL);
        CHECK_STR(err, "get_host takes no args");
        free(err);
}

/* get_placements: cg-taskd's record rebuilt with only the known keys; refused when it is not
 * the expected JSON. */
static void test_placements_answer(void) {
        static const char good[] =
                "{\"secret\": 1, \"updated\": 17.5, \"pending\": 2, \"refused\": 1, "
                "\"files\": [{\"path\": \"/a\", \"pid\": 4, \"state\": \"refused\", "
                "\"reason\": \"r\", \"x\": [1], \"last_move\": 9}, "
                "{\"path\": \"/b\", \"pid\": \"4\", \"state\": \"placed\"}, "
                "{\"path\": \"/c\", \"pid\": 5, \"state\": \"weird\"}, 3]}";
        static const char *const refused[] = {
                "", "[]", "{\"files\": 1}", "{\"files\": []", "{\"files\": []} x",
                "{\"files\": [], \"n\": 01}", "{\"files\": [\"\xff\"]}",
        };
        enum wsproto_reject why = WSPROTO_VALUE_OK;
        struct strbuf b;

        CHECK_INT(wsproto_placements_answer(good, strlen(good), 4096, 16, &b, &why), 0);
        CHECK_INT(b.headroom, 16);
        CHECK_STR(strbuf_text(&b),
                  "{\"placements\":{\"files\":[{\"path\":\"/a\",\"pattern\":\"\",\"rule\":\"\","
                  "\"pid\":4,\"state\":\"refused\",\"reason\":\"r\",\"reason_key\":\"\","
                  "\"cgroup\":\"\",\"last_move\":9}],\"pending\":2,\"refused\":1,\"placed\":0,"
                  "\"total\":0,\"omitted\":0,\"updated\":17.5}}");
        strbuf_done(&b);
        CHECK_INT(wsproto_placements_answer(good, strlen(good), 10, 0, &b, &why), -EINVAL);
        CHECK_INT(why, WSPROTO_REJECT_SIZE);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                why = WSPROTO_VALUE_OK;
                CHECK_INT(wsproto_placements_answer(refused[i], strlen(refused[i]), 4096, 0, &b,
                                                    &why),
                          -EINVAL);
                CHECK(why != WSPROTO_VALUE_OK);
        }
}

static void test_request_errors(void) {
        static const struct {
                const char *in, *err;
        } cases[] = {
                { "", "empty message" },
                { "hello", "not JSON" },
                { "{\"cmd\": \"get_conf\"", "not JSON" },
                { "{\"cmd\": \"get_conf\"} x", "not JSON (trailing data)" },
                { "[1,2]", "a request must be a JSON object" },
                { "\"show_account\"", "a request must be a JSON object" },
                { "{}", "missing \"cmd\"" },
                { "{\"cmd\": 5}", "\"cmd\" must be a string" },
                { "{\"cmd\": \"rm_rf\"}", "unknown cmd \"rm_rf\"" },
                { "{\"cmd\": \"get_conf\", \"x\": 1}", "unknown key \"x\" in request" },
                { "{\"cmd\": \"get_conf\", \"cmd\": \"show_account\"}", "duplicate key in request" },
                { "{\"cmd\": \"show_account\", \"args\": [1]}", "\"args\" must be an object" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": \"2\"}}",
                  "nr_slot must be an integer" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 2.5}}",
                  "nr_slot must be an integer" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 0}}",
                  "nr_slot must be between 1 and 3600" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 3601}}",
                  "nr_slot must be between 1 and 3600" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 1e300}}",
                  "nr_slot is out of range" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": -4}}",
                  "nr_slot must be between 1 and 3600" },
                { "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": -1}}",
                  "start_slot must not be negative" },
                { "{\"cmd\": \"show_account\", \"args\": {\"end_slot\": -1}}",
                  "end_slot must not be negative" },
                { "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 10, \"end_slot\": 5}}",
                  "start_slot is after end_slot" },
                { "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 0, \"end_slot\": 3600}}",
                  "a range of 3601 slots is over the limit of 3600" },
                { "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 1}}",
                  "a range of 1700000000 slots is over the limit of 3600" },
                { "{\"cmd\": \"show_account\", \"args\": {\"start_slot\": 1, \"end_slot\": 2, "
                  "\"nr_slot\": 5}}",
                  "nr_slot does not match start_slot..end_slot" },
                { "{\"cmd\": \"show_account\", \"args\": {\"slots\": 1}}",
                  "unknown argument \"slots\" for show_account" },
                { "{\"cmd\": \"get_conf\", \"args\": {\"nr_slot\": 1}}", "get_conf takes no args" },
                { "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": true}}",
                  "nr_slot must be an integer" },
        };
        struct wsproto_request r;
        char *err = NULL;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                CHECK_INT(parse(cases[i].in, &r, &err), -EINVAL);
                CHECK_STR(err, cases[i].err);
        }
        /* embedded NUL and the size limit */
        CHECK_INT(wsproto_request_parse("{\"cmd\":\"get_conf\"}\0x", 20, NOW, &r, &err), -EINVAL);
        {
                size_t n = WSPROTO_MAX_MESSAGE + 1;
                char *big = malloc(n);
                memset(big, ' ', n);
                CHECK_INT(wsproto_request_parse(big, n, NOW, &r, &err), -EINVAL);
                CHECK_STR(err, "message too big");
                free(big);
        }
        /* err may be NULL */
        CHECK_INT(wsproto_request_parse("x", 1, NOW, &r, NULL), -EINVAL);
        free(err);
}

static void test_slot_parse(void) {
        int64_t s = 0;
        CHECK_INT(wsproto_slot_parse("1700000000", 10, &s), 0);
        CHECK_INT(s, 1700000000);
        CHECK_INT(wsproto_slot_parse("", 0, &s), -EINVAL);
        CHECK_INT(wsproto_slot_parse("-1", 2, &s), -EINVAL);
        CHECK_INT(wsproto_slot_parse("12a", 3, &s), -EINVAL);
        CHECK_INT(wsproto_slot_parse("1234567890123456789", 19, &s), -EINVAL);
}

/* A full range with holes: the answer parses as JSON and every key is a slot number of the
 * requested range that has a sample, each exactly once — a seed-era client may iterate the
 * keys as `sorted(int(k) for k in answer)`. */
static void test_account_answer_keys(void) {
        enum { N = 3600, START = 1000000 };
        static const char *v[N];
        static size_t l[N];
        struct strbuf b = {};
        size_t want = 0, got = 0;
        cJSON *j, *c;

        for (int i = 0; i < N; i++) {
                v[i] = i % 3 == 1 ? NULL : "{\"cpu\": {\"value\": {\"usage\": 1}}}";
                l[i] = v[i] ? strlen(v[i]) : 0;
                want += v[i] != NULL;
        }
        CHECK_INT(wsproto_account_answer(START, START + N - 1, v, l, N, MIB, 16 * MIB, 0, &b, NULL), 0);
        j = cJSON_Parse(strbuf_text(&b));
        CHECK(cJSON_IsObject(j));
        cJSON_ArrayForEach(c, j) {
                int64_t s = -1;
                bool ok = c->string &&
                          wsproto_slot_parse(c->string, strlen(c->string), &s) == 0 &&
                          s >= START && s < START + N && v[s - START] && cJSON_IsObject(c);

                if (!ok) {
                        CHECK_STR(c->string, "a slot number of the range");
                        break;
                }
                got++;
        }
        CHECK_INT(got, want);
        CHECK(!cJSON_GetObjectItemCaseSensitive(j, "start_slot"));
        CHECK(!cJSON_GetObjectItemCaseSensitive(j, "end_slot"));
        cJSON_Delete(j);
        strbuf_done(&b);
}



static void test_account_answer(void) {
        const char *v[] = { "{\"cpu\": {}}", NULL, " {\"a\":1} ", "garbage", "{}" };
        size_t l[5];
        struct strbuf b = {};
        uint64_t rej[_WSPROTO_REJECT_MAX] = {};

        for (int i = 0; i < 5; i++)
                l[i] = v[i] ? strlen(v[i]) : 0;
        CHECK_INT(wsproto_account_answer(10, 14, v, l, 5, MIB, MIB, 16, &b, rej), 0);
        /* keyed by slot numbers only (docs/design.md): no start_slot/end_slot in the answer */
        CHECK_STR(strbuf_text(&b), "{\"10\": {\"cpu\": {}}, \"12\":  {\"a\":1} , \"14\": {}}");
        CHECK_INT(rej[WSPROTO_REJECT_JSON], 1);
        CHECK_INT(b.headroom, 16);
        CHECK_INT(b.len, strlen(strbuf_text(&b)));
        strbuf_done(&b);

        CHECK_INT(wsproto_account_answer(5, 5, v + 1, l + 1, 1, MIB, MIB, 0, &b, NULL), 0);
        CHECK_STR(strbuf_text(&b), "{}");
        strbuf_done(&b);
        /* only rejected samples: still an empty object */
        CHECK_INT(wsproto_account_answer(7, 7, v + 3, l + 3, 1, MIB, MIB, 0, &b, rej), 0);
        CHECK_STR(strbuf_text(&b), "{}");
        CHECK_INT(rej[WSPROTO_REJECT_JSON], 2);
        strbuf_done(&b);
        /* first slot missing: no leading comma */
        CHECK_INT(wsproto_account_answer(20, 21, v + 1, l + 1, 2, MIB, MIB, 0, &b, NULL), 0);
        CHECK_STR(strbuf_text(&b), "{\"21\":  {\"a\":1} }");
        strbuf_done(&b);
        /* n must match the range */
        CHECK_INT(wsproto_account_answer(5, 6, v, l, 1, MIB, MIB, 0, &b, NULL), -EINVAL);
        CHECK_INT(wsproto_account_answer(6, 5, v, l, 0, MIB, MIB, 0, &b, NULL), -EINVAL);
        /* the value cap (9 bytes: {"cpu": {}} is 11) and the answer cap: refused whole */
        memset(rej, 0, sizeof rej);
        CHECK_INT(wsproto_account_answer(10, 14, v, l, 5, 9, MIB, 0, &b, rej), 0);
        CHECK_STR(strbuf_text(&b), "{\"12\":  {\"a\":1} , \"14\": {}}");
        CHECK_INT(rej[WSPROTO_REJECT_SIZE], 1);
        strbuf_done(&b);
        CHECK_INT(wsproto_account_answer(10, 14, v, l, 5, MIB, 40, 0, &b, NULL), -E2BIG);

        enum wsproto_reject r = WSPROTO_VALUE_OK;
        CHECK_INT(wsproto_push_answer(7, "{\"x\": 1}", 8, MIB, 0, &b, &r), 0);
        CHECK_STR(strbuf_text(&b), "{\"7\": {\"x\": 1}}");
        strbuf_done(&b);
        CHECK_INT(wsproto_push_answer(7, "[]", 2, MIB, 0, &b, &r), -EINVAL);
        CHECK_INT(r, WSPROTO_REJECT_SHAPE);
        CHECK_INT(wsproto_push_answer(7, "{}, \"x\": {}", 11, MIB, 0, &b, &r), -EINVAL);
        CHECK_INT(r, WSPROTO_REJECT_JSON);

        CHECK_INT(wsproto_error_answer("bad \"thing\"\n", 0, &b), 0);
        CHECK_STR(strbuf_text(&b), "{\"error\": \"bad \\\"thing\\\"\\n\"}");
        strbuf_done(&b);

        /* get_host: printable ASCII as is (escaped), anything else '?' (valid UTF-8 always) */
        CHECK_INT(wsproto_host_answer("web1.example", "cgroup_arch", 0, &b), 0);
        CHECK_STR(strbuf_text(&b), "{\"host\": \"web1.example\", \"redis_prefix\": \"cgroup_arch\"}");
        strbuf_done(&b);
        CHECK_INT(wsproto_host_answer("a\"b\\\xc3\xa9\n", NULL, 0, &b), 0);
        CHECK_STR(strbuf_text(&b), "{\"host\": \"a\\\"b\\\\???\", \"redis_prefix\": \"\"}");
        strbuf_done(&b);
}

/* The cache of checked sample values: the same bytes of the same slot skip the check, other
 * bytes are checked afresh (a rejected value is never served from it), the byte cap holds. */
static void test_vcache(void) {
        struct wsproto_vcache c = { .max_bytes = 32 };
        const char *good = "{\"a\": 1}", *good2 = "{\"a\": 2}";

        CHECK_INT(wsproto_vcache_check(&c, 5, good, strlen(good), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(c.misses, 1);
        CHECK_INT(wsproto_vcache_check(&c, 5, good, strlen(good), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(c.hits, 1);
        CHECK_INT(c.bytes, strlen(good));
        /* the slot rewritten with garbage: checked, refused, and the good bytes still hit */
        CHECK_INT(wsproto_vcache_check(&c, 5, "{\"a\": 1]", 8, MIB), WSPROTO_REJECT_JSON);
        CHECK_INT(wsproto_vcache_check(&c, 5, "[1, 2, 3]", 9, MIB), WSPROTO_REJECT_SHAPE);
        CHECK_INT(wsproto_vcache_check(&c, 5, good, strlen(good), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(c.hits, 2);
        /* a good value of the same length under the same slot replaces the kept one */
        CHECK_INT(wsproto_vcache_check(&c, 5, good2, strlen(good2), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(wsproto_vcache_check(&c, 5, good2, strlen(good2), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(c.hits, 3);
        CHECK_INT(c.bytes, strlen(good2));
        /* another slot of the same bucket: its own entry, no hit for slot 5 afterwards */
        CHECK_INT(wsproto_vcache_check(&c, 5 + WSPROTO_VCACHE_SLOTS, good2, strlen(good2), MIB),
                  WSPROTO_VALUE_OK);
        CHECK_INT(wsproto_vcache_check(&c, 5, good2, strlen(good2), MIB), WSPROTO_VALUE_OK);
        CHECK_INT(c.hits, 3);
        /* the size cap still applies to a kept value (max_value_size lowered by SIGHUP) */
        CHECK_INT(wsproto_vcache_check(&c, 5, good2, strlen(good2), 4), WSPROTO_REJECT_SIZE);
        /* over max_bytes: checked every time, not kept */
        {
                const char *big = "{\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\": 1}";
                uint64_t m = c.misses;

                CHECK_INT(wsproto_vcache_check(&c, 9, big, strlen(big), MIB), WSPROTO_VALUE_OK);
                CHECK_INT(wsproto_vcache_check(&c, 9, big, strlen(big), MIB), WSPROTO_VALUE_OK);
                CHECK_INT(c.misses, m + 2);
                CHECK(c.bytes <= c.max_bytes);
        }
        /* through the answer builder */
        {
                struct wsproto_account a;
                struct strbuf b;
                uint64_t rej[_WSPROTO_REJECT_MAX] = {}, h = c.hits;

                CHECK_INT(wsproto_account_begin(&a, MIB, MIB, 0), 0);
                a.vcache = &c;
                CHECK_INT(wsproto_account_add(&a, 5, good2, strlen(good2), rej), WSPROTO_VALUE_OK);
                CHECK_INT(wsproto_account_add(&a, 6, "nope", 4, rej), WSPROTO_REJECT_JSON);
                CHECK_INT(wsproto_account_end(&a, &b), 0);
                CHECK_STR(strbuf_text(&b), "{\"5\": {\"a\": 2}}");
                CHECK_INT(c.hits, h + 1);
                CHECK_INT(rej[WSPROTO_REJECT_JSON], 1);
                strbuf_done(&b);
        }
        wsproto_vcache_clear(&c);
        CHECK_INT(c.bytes, 0);
}

/* Every malformed value of the review (issue 12 row 4) and cJSON's leniencies. */
static void test_value_check(void) {
        static const struct {
                const char *v;
                size_t len; /* 0: strlen */
                enum wsproto_value_kind kind;
                enum wsproto_reject want;
        } cases[] = {
                { "{}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_VALUE_OK },
                { " {\"cpu\": {\"value\": {\"usage\": 1e3}}, \"s\": \"\\u00e9\\n\"}\r\n", 0,
                  WSPROTO_VALUE_SAMPLE, WSPROTO_VALUE_OK },
                { "{\"name\": \"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", 0, WSPROTO_VALUE_SAMPLE,
                  WSPROTO_VALUE_OK },
                { "{\"n\": [-0, 0.5, -1.25e-3, 10E+2, true, false, null]}", 0,
                  WSPROTO_VALUE_SAMPLE, WSPROTO_VALUE_OK },
                /* smuggling keys into the answer it is spliced into */
                { "{}, \"start_slot\": {}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": 1}} , {\"b\": 2", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{} {}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "[]", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_SHAPE },
                { "\"x\"", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_SHAPE },
                { "5", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_SHAPE },
                /* invalid UTF-8: would close every reader's websocket */
                { "{\"a\": \"\xff\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_UTF8 },
                { "{\"a\": \"\xc0\xaf\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_UTF8 },
                { "{\"a\": \"\xed\xa0\x80\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_UTF8 },
                { "{\"a\": \"\xf4\x90\x80\x80\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_UTF8 },
                { "{\"a\": \"\xe2\x82\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_UTF8 },
                { "{\"a\": \"\\\xc3\xa9\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                /* what cJSON takes and JSON.parse does not */
                { "{\"a\": 01}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": 1.}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": -.5}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": 1e}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"tab\there\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\x01\"a\": 1}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": 1}\x0c", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": 1}\0", 9, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"\0\"}", 10, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"\xc3\xa9\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_VALUE_OK },
                { "{\"a\": \"\\u0 09e\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"\\u00e\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"\\x41\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_REJECT_JSON },
                { "{\"a\": \"\\u00e9\\n\\/\\\"\"}", 0, WSPROTO_VALUE_SAMPLE, WSPROTO_VALUE_OK },
                /* the conf: the snapshot's shape and nothing more */
                { "{\"version\": 3, \"value\": {\"cpu\": {}}}", 0, WSPROTO_VALUE_CONF,
                  WSPROTO_VALUE_OK },
                { "{\"value\": {}, \"version\": 0}", 0, WSPROTO_VALUE_CONF, WSPROTO_VALUE_OK },
                { "{\"version\": 3}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_SHAPE },
                { "{\"version\": 3, \"value\": []}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_SHAPE },
                { "{\"version\": -1, \"value\": {}}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_SHAPE },
                { "{\"version\": 1.5, \"value\": {}}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_SHAPE },
                { "{\"version\": \"1\", \"value\": {}}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_SHAPE },
                { "{\"version\": 1, \"value\": {}, \"x\": 1}", 0, WSPROTO_VALUE_CONF,
                  WSPROTO_REJECT_SHAPE },
                { "{\"version\": 1, \"version\": 2, \"value\": {}}", 0, WSPROTO_VALUE_CONF,
                  WSPROTO_REJECT_SHAPE },
                { "{\"version\": 1, \"value\": {}", 0, WSPROTO_VALUE_CONF, WSPROTO_REJECT_JSON },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t len = cases[i].len ? cases[i].len : strlen(cases[i].v);
                enum wsproto_reject r = wsproto_value_check(cases[i].v, len, cases[i].kind, MIB);
                if (r != cases[i].want)
                        printf("# case %zu: %s\n", i, cases[i].v);
                CHECK_STR(wsproto_reject_name(r), wsproto_reject_name(cases[i].want));
        }
        CHECK_INT(wsproto_value_check("{\"a\": 1}", 8, WSPROTO_VALUE_SAMPLE, 8), WSPROTO_VALUE_OK);
        CHECK_INT(wsproto_value_check("{\"a\": 1}", 8, WSPROTO_VALUE_SAMPLE, 7), WSPROTO_REJECT_SIZE);
        CHECK_INT(wsproto_value_check(NULL, 0, WSPROTO_VALUE_SAMPLE, 7), WSPROTO_REJECT_JSON);
        CHECK_STR(wsproto_reject_name(WSPROTO_REJECT_UTF8), "utf8");
}

static const char SAMPLE[] =
        "{\"cpu\": {\"value\": {\"usage\": 1446489231295}, \"sub_cgroup\": {\"test_cgroup_a\": "
        "{\"value\": {\"usage\": 192790540163}}, \"test_cgroup_b\": {\"value\": {\"usage\": 5}, "
        "\"sub_cgroup\": {\"test_cgroup_b_sub1\": {\"value\": {\"usage\": 1000000000}}}}}},"
        " \"blkio\": {\"value\": {\"8:0\": {\"Read\": 4096, \"Write\": 1048576}}, \"sub_cgroup\": "
        "{\"test_cgroup_a\": {\"value\": {\"8:16\": {\"Read\": 0, \"Write\": 7}}}}}}";

#define RENDER(s) wsproto_metrics_render((s), strlen(s), 0, 0, &st, NULL, NULL, &b)

/* A fake /sys/dev/block: 8:0 is "sda", nothing else is known. */
static const char *fake_devname(unsigned major, unsigned minor, void *userdata) {
        (void) userdata;
        return major == 8 && minor == 0 ? "sda" : NULL;
}

static void test_metrics(void) {
        struct wsproto_stats st = { .connections = 3, .subscribers = 1, .redis_up = true,
                                    .requests_total = 10 };
        struct strbuf b = {};
        const char *t;

        CHECK_INT(wsproto_metrics_render(SAMPLE, strlen(SAMPLE), 100, 101.5, &st, fake_devname,
                                         NULL, &b),
                  0);
        t = strbuf_text(&b);
        CHECK(strstr(t, "# TYPE cgrouparch_cpu_usage_seconds_total counter\n"));
        CHECK(strstr(t, "cgrouparch_cpu_usage_seconds_total{subsystem=\"cpu\",cgroup=\"/\"} "
                        "1446.489231295\n"));
        CHECK(strstr(t, "cgrouparch_cpu_usage_seconds_total{subsystem=\"cpu\",cgroup=\"test_cgroup_"
                        "b/test_cgroup_b_sub1\"} 1.000000000\n"));
        CHECK(strstr(t, "cgrouparch_cpu_usage_seconds_total{subsystem=\"cpu\",cgroup=\"test_cgroup_"
                        "b\"} 0.000000005\n"));
        /* devices named as node_exporter does, with major/minor; an unknown one keeps MAJ:MIN */
        CHECK(strstr(t, "cgrouparch_blkio_bytes_total{cgroup=\"/\",device=\"sda\",major=\"8\","
                        "minor=\"0\",op=\"read\"} 4096\n"));
        CHECK(strstr(t, "cgrouparch_blkio_bytes_total{cgroup=\"/\",device=\"sda\",major=\"8\","
                        "minor=\"0\",op=\"write\"} 1048576\n"));
        CHECK(strstr(t, "cgrouparch_blkio_bytes_total{cgroup=\"test_cgroup_a\",device=\"8:16\","
                        "major=\"8\",minor=\"16\",op=\"write\"} 7\n"));
        CHECK(strstr(t, "cgrouparch_sample_age_seconds 1.500\n"));
        CHECK(strstr(t, "cgrouparch_sample_timestamp_seconds 100\n"));
        CHECK(!strstr(t, "slot_seconds"));
        /* HELP warns that a parent's counter includes its descendants */
        CHECK(strstr(t, "# HELP cgrouparch_cpu_usage_seconds_total ") &&
              strstr(strstr(t, "# HELP cgrouparch_cpu_usage_seconds_total "), "descendants"));
        CHECK(strstr(t, "# HELP cgrouparch_blkio_bytes_total ") &&
              strstr(strstr(t, "# HELP cgrouparch_blkio_bytes_total "), "descendants"));
        CHECK(strstr(t, "cgrouparch_wsd_connections 3\n"));
        CHECK(strstr(t, "cgrouparch_wsd_redis_up 1\n"));
        CHECK(strstr(t, "cgrouparch_wsd_requests_total 10\n"));
        CHECK(t[b.len - 1] == '\n');
        strbuf_done(&b);

        /* no sample yet: the server's own figures only */
        st.redis_up = false;
        CHECK_INT(wsproto_metrics_render(NULL, 0, 0, 0, &st, NULL, NULL, &b), 0);
        t = strbuf_text(&b);
        CHECK(!strstr(t, "cgrouparch_cpu"));
        CHECK(strstr(t, "cgrouparch_wsd_redis_up 0\n"));
        strbuf_done(&b);

        /* bad samples are refused, never half-rendered */
        CHECK_INT(RENDER("nope"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"value\": {\"usage\": -1}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"value\": {\"usage\": \"1\"}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"sub_cgroup\": {\"a/b\": {}}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"value\": 3}}"), -EINVAL);
        CHECK_INT(RENDER("{\"blkio\": {\"value\": {\"8:0\": {\"Read\": null}}}}"), -EINVAL);
        /* label values are escaped */
        CHECK_INT(RENDER("{\"cpu\": {\"sub_cgroup\": {\"a\\\"b\": {\"value\": {\"usage\": 1}}}}}"),
                  0);
        CHECK(strstr(strbuf_text(&b), "cgroup=\"a\\\"b\"} 0.000000001\n"));
        strbuf_done(&b);
}

static int count_str(const char *t, const char *needle) {
        int n = 0;
        for (const char *p = t; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* The limits' counters and pressure (issue 16, 18): each family only when a series has it,
 * memory and pids values never taken for CPU usage or device maps. */
static void test_metrics_limits(void) {
        struct wsproto_stats st = {};
        struct strbuf b = {};
        const char *t;
        static const char v1[] =
                "{\"cpu\": {\"value\": {\"usage\": 5, \"nr_throttled\": 12, \"throttled_usec\": "
                "2000001}, \"pressure\": {\"some_usec\": 1500000}, \"sub_cgroup\": {\"a\": "
                "{\"value\": {\"usage\": 1}}}}, \"blkio\": {\"value\": {}, \"pressure\": "
                "{\"some_usec\": 7, \"full_usec\": 8}, \"sub_cgroup\": {}}, \"memory\": {\"value\": "
                "{\"usage\": 4096, \"peak\": 8192, \"failcnt\": 3}, \"sub_cgroup\": {\"m\": "
                "{\"value\": {}}}}, \"pids\": {\"value\": {\"current\": 11}, \"sub_cgroup\": {}}}";

        CHECK_INT(RENDER(v1), 0);
        t = strbuf_text(&b);
        CHECK(strstr(t, "# TYPE cgrouparch_cpu_throttled_periods_total counter\n"
                        "cgrouparch_cpu_throttled_periods_total{cgroup=\"/\"} 12\n"));
        CHECK(strstr(t, "cgrouparch_cpu_throttled_seconds_total{cgroup=\"/\"} 2.000001\n"));
        CHECK(!strstr(t, "cgrouparch_cpu_throttled_periods_total{cgroup=\"a\"}"));
        CHECK(strstr(t, "# TYPE cgrouparch_memory_usage_bytes gauge\n"
                        "cgrouparch_memory_usage_bytes{cgroup=\"/\"} 4096\n"));
        CHECK(strstr(t, "cgrouparch_memory_peak_bytes{cgroup=\"/\"} 8192\n"));
        CHECK(strstr(t, "cgrouparch_memory_failcnt_total{cgroup=\"/\"} 3\n"));
        CHECK(!strstr(t, "oom_kills")); /* v1: no such series, no empty family either */
        CHECK(strstr(t, "# TYPE cgrouparch_pids_current gauge\ncgrouparch_pids_current{cgroup=\"/\"} 11\n"));
        CHECK(strstr(t, "cgrouparch_pressure_stalled_seconds_total{cgroup=\"/\",resource=\"cpu\","
                        "kind=\"some\"} 1.500000\n"));
        CHECK(!strstr(t, "resource=\"cpu\",kind=\"full\"")); /* older kernels: no full line */
        CHECK(strstr(t, "cgrouparch_pressure_stalled_seconds_total{cgroup=\"/\",resource=\"io\","
                        "kind=\"full\"} 0.000008\n"));
        CHECK(!strstr(t, "subsystem=\"memory\"") && !strstr(t, "subsystem=\"pids\""));
        CHECK(strstr(t, "# HELP cgrouparch_memory_usage_bytes ") &&
              strstr(strstr(t, "# HELP cgrouparch_memory_usage_bytes "), "descendants"));
        /* one HELP and TYPE per family, however many series */
        CHECK_INT(count_str(t, "# TYPE cgrouparch_pressure_stalled_seconds_total "), 1);
        CHECK_INT(count_str(t, "cgrouparch_pressure_stalled_seconds_total{"), 3);
        strbuf_done(&b);

        /* v2: oom_kill instead of failcnt */
        CHECK_INT(RENDER("{\"memory\": {\"value\": {\"usage\": 1, \"oom_kill\": 2}}}"), 0);
        t = strbuf_text(&b);
        CHECK(strstr(t, "cgrouparch_memory_oom_kills_total{cgroup=\"/\"} 2\n"));
        CHECK(!strstr(t, "failcnt"));
        strbuf_done(&b);
        /* the seed's sample: none of the new families */
        CHECK_INT(RENDER(SAMPLE), 0);
        CHECK(!strstr(strbuf_text(&b), "throttled") && !strstr(strbuf_text(&b), "pressure") &&
              !strstr(strbuf_text(&b), "memory"));
        strbuf_done(&b);
        /* strict like the seed's keys */
        CHECK_INT(RENDER("{\"cpu\": {\"value\": {\"usage\": 1, \"nr_throttled\": -1}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"memory\": {\"value\": {\"peak\": \"1\"}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"value\": {}, \"pressure\": 3}}"), -EINVAL);
        CHECK_INT(RENDER("{\"cpu\": {\"pressure\": {\"some_usec\": 1.5e300}}}"), -EINVAL);
        CHECK_INT(RENDER("{\"pids\": {\"value\": 3}}"), -EINVAL);
        /* a subsystem of a later version with pressure: no resource name, left out */
        CHECK_INT(RENDER("{\"hugetlb\": {\"value\": {}, \"pressure\": {\"some_usec\": 1}}}"), 0);
        CHECK(!strstr(strbuf_text(&b), "pressure_stalled"));
        strbuf_done(&b);
}

static void test_routes(void) {
        const char *f = NULL;

        CHECK_INT(wsproto_http_route("/", &f), WSPROTO_ROUTE_FILE);
        CHECK_STR(f, "index.html");
        CHECK_INT(wsproto_http_route("/app.js", &f), WSPROTO_ROUTE_FILE);
        CHECK_STR(f, "app.js");
        CHECK_INT(wsproto_http_route("/metrics", &f), WSPROTO_ROUTE_METRICS);
        CHECK_INT(wsproto_http_route("/healthz", &f), WSPROTO_ROUTE_HEALTHZ);
        CHECK_INT(wsproto_http_route("/../etc/passwd", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route("/a/b.js", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route("/.htaccess", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route("/a..b", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route("/%2e%2e", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route("index.html", &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_INT(wsproto_http_route(NULL, &f), WSPROTO_ROUTE_NOT_FOUND);
        CHECK_STR(wsproto_mime_type("index.html"), "text/html; charset=utf-8");
        CHECK_STR(wsproto_mime_type("app.JS"), "text/javascript; charset=utf-8");
        CHECK_STR(wsproto_mime_type("x"), "application/octet-stream");
}

static void test_access(void) {
        char *allowed[] = { "https://ops.example.com", NULL };
        char *none[] = { NULL };
        char *star[] = { "*", NULL };

        /* no list: the page's own origin only */
        CHECK(!wsproto_origin_allowed("http://evil.example", "127.0.0.1:43409", none));
        CHECK(!wsproto_origin_allowed("http://evil.example", "h", NULL));
        CHECK(wsproto_origin_allowed("http://127.0.0.1:43409", "127.0.0.1:43409", NULL));
        CHECK(wsproto_origin_allowed("https://h", "h", none));
        CHECK(wsproto_origin_allowed(NULL, "h", allowed));
        CHECK(wsproto_origin_allowed("https://OPS.example.com", "h", allowed));
        CHECK(wsproto_origin_allowed("http://127.0.0.1:43409", "127.0.0.1:43409", allowed));
        CHECK(!wsproto_origin_allowed("http://127.0.0.1:434090", "127.0.0.1:43409", allowed));
        CHECK(!wsproto_origin_allowed("http://evil.example", "127.0.0.1:43409", allowed));
        CHECK(!wsproto_origin_allowed("null", "127.0.0.1:43409", allowed));
        CHECK(wsproto_origin_allowed("http://evil.example", "x", star));

        /* Host: DNS rebinding */
        char *names[] = { "ops.example.com", NULL };
        char *anyname[] = { "*", NULL };
        CHECK(wsproto_host_allowed(NULL, "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("127.0.0.1:43409", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("10.1.2.3", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("[::1]:43409", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("[fe80::1]", "::", NULL));
        CHECK(wsproto_host_allowed("localhost:43409", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("LOCALHOST.", "127.0.0.1", NULL));
        CHECK(wsproto_host_allowed("myhost:1", "myhost", NULL));
        CHECK(wsproto_host_allowed("Ops.Example.Com:443", "0.0.0.0", names));
        CHECK(wsproto_host_allowed("anything.example", "0.0.0.0", anyname));
        CHECK(!wsproto_host_allowed("evil.example:43409", "127.0.0.1", NULL));
        CHECK(!wsproto_host_allowed("evil.example:43409", "127.0.0.1", names));
        CHECK(!wsproto_host_allowed("ops.example.com.evil.example", "127.0.0.1", names));
        CHECK(!wsproto_host_allowed("127.0.0.1.evil.example", "127.0.0.1", NULL));
        CHECK(!wsproto_host_allowed("localhost:x", "127.0.0.1", NULL));
        CHECK(!wsproto_host_allowed("[::1", "127.0.0.1", NULL));
        CHECK(!wsproto_host_allowed("[evil.example]:1", "127.0.0.1", NULL));
        CHECK(!wsproto_host_allowed(":43409", "127.0.0.1", NULL));
        CHECK(wsproto_bind_is_loopback("127.0.0.1"));
        CHECK(wsproto_bind_is_loopback("127.3.2.1"));
        CHECK(wsproto_bind_is_loopback("::1"));
        CHECK(wsproto_bind_is_loopback("localhost"));
        CHECK(wsproto_bind_is_loopback("lo"));
        CHECK(!wsproto_bind_is_loopback("0.0.0.0"));
        CHECK(!wsproto_bind_is_loopback("::"));
        CHECK(!wsproto_bind_is_loopback("10.0.0.1"));
        CHECK(!wsproto_bind_is_loopback("eth0"));
        CHECK(!wsproto_bind_is_loopback(NULL));

        CHECK(wsproto_token_equal("s3cret", "s3cret"));
        CHECK(!wsproto_token_equal("s3cre", "s3cret"));
        CHECK(!wsproto_token_equal("s3cretx", "s3cret"));
        CHECK(!wsproto_token_equal("", "s3cret"));
        CHECK(!wsproto_token_equal(NULL, "s3cret"));

        CHECK_STR(wsproto_bearer_token("Bearer abc"), "abc");
        CHECK_STR(wsproto_bearer_token("  bearer   abc"), "abc");
        CHECK(!wsproto_bearer_token("Basic abc"));
        CHECK(!wsproto_bearer_token("Bearerabc"));
        CHECK(!wsproto_bearer_token("Bearer "));
        CHECK(!wsproto_bearer_token(NULL));
}

int main(void) {
        RUN(test_request_defaults);
        RUN(test_request_errors);
        RUN(test_slot_parse);
        RUN(test_account_answer);
        RUN(test_account_answer_keys);
        RUN(test_vcache);
        RUN(test_value_check);
        RUN(test_metrics);
        RUN(test_metrics_limits);
        RUN(test_routes);
        RUN(test_access);
        RUN(test_placements_answer);
        return TAP_END();
}
