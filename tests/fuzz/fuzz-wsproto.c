/* fuzz-wsproto.c — libFuzzer target for the pure side of cg-wsd (cg-wsd/wsproto.h): websocket
 * requests, slot numbers from the Redis channel, stored samples spliced into answers and
 * rendered for Prometheus, HTTP routing, Origin and bearer-token checks.
 * Input: byte 0 varies `now` and the sample's slot; the rest is the message (given as is, not
 * NUL-terminated, to the length-taking functions); for the string functions it is cut at the
 * first NUL and what follows the NUL is the second string (the Host, the expected token).
 * Checks, besides the sanitizers: an accepted show_account range is 1..3600 slots, not
 * negative; every error has a message and its {"error": ...} answer is JSON giving it back;
 * answers built from samples that are JSON objects are JSON, and a show_account answer is keyed
 * by the slot numbers of its range only (no start_slot/end_slot); the Prometheus text is lines of
 * "# ..." or `name{label="escaped",...} value`; a routed file is a plain name.
 * FUZZ_SOURCES: cg-wsd/wsproto.c common/strbuf.c common/util.c
 * FUZZ_LIBS: -lcjson -lm
 * FUZZ_CORPUS: tests/fixtures/wsproto
 * FUZZ_DICT: tests/fuzz/wsproto.dict */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util.h"
#include "wsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

/* A complete JSON object (no trailing data) per cJSON. */
static bool is_json_object(const char *s, size_t len) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, false);
        bool ok = j && cJSON_IsObject(j);

        if (ok) {
                while ((size_t) (end - s) < len && isspace((unsigned char) *end))
                        end++;
                ok = (size_t) (end - s) == len;
        }
        cJSON_Delete(j);
        return ok;
}

static void check_error_answer(const char *msg) {
        struct strbuf b = {};
        cJSON *j, *e;

        if (wsproto_error_answer(msg, 16, &b) < 0)
                return;
        j = cJSON_Parse(strbuf_text(&b));
        check(j != NULL, "error answer is JSON");
        e = cJSON_GetObjectItemCaseSensitive(j, "error");
        check(cJSON_IsString(e) && strcmp(e->valuestring, msg) == 0, "error answer gives it back");
        cJSON_Delete(j);
        strbuf_done(&b);
}

static void fuzz_request(const char *buf, size_t len, int64_t now) {
        struct wsproto_request r = {.cmd = 99};
        char *err = NULL;
        int k;

        k = wsproto_request_parse(buf, len, now, &r, &err);
        if (k < 0) {
                check(k == -EINVAL || k == -ENOMEM, "request errors");
                check(r.cmd == 99, "*ret untouched on failure");
                if (k == -EINVAL) {
                        check(err && *err, "a message for the client");
                        check_error_answer(err);
                }
                free(err);
                return;
        }
        check(err == NULL, "no message on success");
        check(r.cmd <= WSPROTO_GET_HOST, "cmd");
        if (r.cmd == WSPROTO_SHOW_ACCOUNT) {
                check(r.start_slot >= 0 && r.start_slot <= r.end_slot, "range order");
                check(r.end_slot - r.start_slot + 1 <= WSPROTO_MAX_RANGE, "range size");
        }
}

static void fuzz_slot(const char *buf, size_t len) {
        int64_t v = -1, w = 0;

        if (wsproto_slot_parse(buf, len, &v) < 0)
                return;
        check(len >= 1 && len <= 18, "slot length");
        for (size_t i = 0; i < len; i++) {
                check(buf[i] >= '0' && buf[i] <= '9', "slot digits");
                w = w * 10 + (buf[i] - '0');
        }
        check(v == w && v >= 0, "slot value");
}

/* The account answer is keyed by slot numbers only: every key is the decimal of a slot in
 * start..start+n-1 that has a plausible sample, and every such slot is there. */
static void check_account_keys(const char *text, int64_t start, const char *const *values,
                               const size_t *lens, size_t n) {
        cJSON *j = cJSON_Parse(text), *c;
        size_t want = 0, got = 0;

        check(j != NULL, "account answer parses");
        for (size_t i = 0; i < n; i++)
                if (values[i] && wsproto_value_check(values[i], lens[i], WSPROTO_VALUE_SAMPLE,
                                                     1 << 20) == WSPROTO_VALUE_OK)
                        want++;
        cJSON_ArrayForEach(c, j) {
                int64_t s = -1;

                check(c->string && wsproto_slot_parse(c->string, strlen(c->string), &s) == 0,
                      "account answer key is a slot number");
                check(s >= start && s < start + (int64_t) n, "account answer key in range");
                check(values[s - start] != NULL, "account answer key has a sample");
                got++;
        }
        check(got == want, "every sample of the range is in the account answer");
        cJSON_Delete(j);
}

static void fuzz_samples(const char *buf, size_t len, int64_t slot) {
        const char *values[16];
        size_t lens[16], n = 0, implausible = 0;
        uint64_t rejected[_WSPROTO_REJECT_MAX] = {}, nrej = 0;
        enum wsproto_reject r;
        struct strbuf b = {};

        r = wsproto_value_check(buf, len, WSPROTO_VALUE_SAMPLE, 1 << 20);
        if (r == WSPROTO_VALUE_OK) {
                check(is_json_object(buf, len), "a passed sample is a JSON object");
                check(wsproto_push_answer(slot, buf, len, 1 << 20, 16, &b, NULL) == 0, "push");
                check(b.len == strlen(strbuf_text(&b)), "push answer length");
                check(is_json_object(strbuf_text(&b), b.len), "push answer is JSON");
                strbuf_done(&b);
        } else
                check(wsproto_push_answer(slot, buf, len, 1 << 20, 16, &b, NULL) == -EINVAL,
                      "push refuses");

        /* Lines as the samples of consecutive slots; an empty line is a missing sample. */
        for (const char *p = buf; p < buf + len && n < ELEMENTSOF(values);) {
                const char *e = memchr(p, '\n', (size_t) (buf + len - p));
                size_t l = e ? (size_t) (e - p) : (size_t) (buf + len - p);

                values[n] = l ? p : NULL;
                lens[n] = l;
                if (l && wsproto_value_check(p, l, WSPROTO_VALUE_SAMPLE, 1 << 20) != WSPROTO_VALUE_OK)
                        implausible++;
                n++;
                p += l + 1;
        }
        if (wsproto_account_answer(slot, slot + (int64_t) n - 1, values, lens, n, 1 << 20, 1 << 22,
                                   16, &b, rejected) < 0)
                return;
        for (int i = 0; i < _WSPROTO_REJECT_MAX; i++)
                nrej += rejected[i];
        check(nrej == implausible, "rejected samples counted");
        check(b.len == strlen(strbuf_text(&b)), "account answer length");
        /* every accepted sample is strict JSON: the whole answer always is */
        check(is_json_object(strbuf_text(&b), b.len), "account answer is JSON");
        check_account_keys(strbuf_text(&b), slot, values, lens, n);
        strbuf_done(&b);
}

/* `name{label="v",...} value` with Prometheus escapes (\\ \" \n) in label values. */
static void check_metric_line(const char *l, size_t n) {
        size_t i = 0;

        check(n > 0, "no empty line");
        if (l[0] == '#')
                return;
        check(strncmp(l, "cgrouparch_", 11) == 0, "metric name");
        while (i < n && (islower((unsigned char) l[i]) || l[i] == '_'))
                i++;
        if (i < n && l[i] == '{') {
                for (i++;;) {
                        while (i < n && (islower((unsigned char) l[i]) || l[i] == '_'))
                                i++;
                        check(i + 1 < n && l[i] == '=' && l[i + 1] == '"', "label=\"");
                        for (i += 2; i < n && l[i] != '"'; i++)
                                if (l[i] == '\\') {
                                        i++;
                                        check(i < n && (l[i] == '\\' || l[i] == '"' || l[i] == 'n'),
                                              "label escape");
                                }
                        check(i < n, "label value closed");
                        i++;
                        if (i < n && l[i] == ',') {
                                i++;
                                continue;
                        }
                        check(i < n && l[i] == '}', "labels closed");
                        i++;
                        break;
                }
        }
        check(i < n && l[i] == ' ', "space before the value");
        for (i++; i < n; i++)
                check(isdigit((unsigned char) l[i]) || l[i] == '.', "numeric value");
}

static void fuzz_metrics(const char *buf, size_t len, int64_t slot, bool with_sample) {
        struct wsproto_stats st = {.connections = 3, .redis_up = true, .requests_total = 9};
        struct strbuf b = {};
        const char *t;
        int k;

        k = wsproto_metrics_render(with_sample ? buf : NULL, len, slot, (double) slot + 0.5, &st,
                                   NULL, NULL, &b);
        if (k < 0) {
                check(k == -EINVAL || k == -ENOMEM, "metrics errors");
                check(with_sample, "no sample renders");
                return;
        }
        t = strbuf_text(&b);
        check(b.len == strlen(t) && b.len > 0 && t[b.len - 1] == '\n', "metrics text");
        for (const char *p = t; *p;) {
                const char *e = strchr(p, '\n');
                check_metric_line(p, (size_t) (e - p));
                /* a family's samples are together: one TYPE line per family */
                if (strncmp(p, "# TYPE ", 7) == 0) {
                        const char *sp = memchr(p + 7, ' ', (size_t) (e - p - 7));
                        size_t n = sp ? (size_t) (sp - p) + 1 : (size_t) (e - p);
                        for (const char *q = strstr(e, "\n# TYPE "); q; q = strstr(q + 1, "\n# TYPE "))
                                check(strncmp(q + 1, p, n) != 0, "one TYPE line per family");
                }
                p = e + 1;
        }
        strbuf_done(&b);
}

static void fuzz_http(const char *s, const char *second) {
        const char *file = NULL, *tok;
        enum wsproto_route r = wsproto_http_route(s, &file);
        char *allowed[4] = {(char *) second, NULL};

        if (r == WSPROTO_ROUTE_FILE) {
                check(file && *file && file[0] != '.' && !strchr(file, '/') && !strstr(file, ".."),
                      "a routed file is a plain name");
                check(strlen(file) <= 128, "file name length");
                for (const char *p = file; *p; p++)
                        check(isalnum((unsigned char) *p) || strchr("_-.", *p), "file name chars");
        } else
                check(r == WSPROTO_ROUTE_NOT_FOUND || r == WSPROTO_ROUTE_METRICS ||
                              r == WSPROTO_ROUTE_HEALTHZ,
                      "route");
        check(wsproto_mime_type(s) != NULL, "mime type");

        (void) wsproto_origin_allowed(s, second, allowed);
        check(wsproto_origin_allowed(NULL, second, allowed), "no origin is allowed");
        if (*second && strcmp(second, "*") != 0 && !strchr(s, ':'))
                check(!wsproto_origin_allowed(s, second, allowed) ||
                              strcasecmp(s, second) == 0,
                      "origin allowed only by the list");
        if (strcmp(second, "*") != 0 && !strchr(s, ':'))
                check(!wsproto_origin_allowed(s, second, NULL), "no list: own origin only");
        (void) wsproto_host_allowed(s, second, allowed);
        (void) wsproto_bind_is_loopback(s);

        tok = wsproto_bearer_token(s);
        if (tok)
                check(tok > s && tok < s + strlen(s) && *tok != ' ' && *tok != '\t',
                      "bearer token points into the value");
        check(wsproto_token_equal(s, second) == (strcmp(s, second) == 0), "token_equal");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int64_t now, slot;
        char *buf, *s;
        size_t len, slen;

        if (size < 1)
                return 0;
        now = 1700000000 + (int64_t) data[0] * 1000;
        slot = now - (data[0] & 7);
        len = size - 1;

        /* Exactly len bytes: ASan sees any read past the message. */
        buf = malloc(len ? len : 1);
        if (!buf)
                return 0;
        memcpy(buf, data + 1, len);
        fuzz_request(buf, len, now);
        fuzz_request(buf, len, data[0] & 1 ? 0 : 5); /* near the epoch */
        fuzz_slot(buf, len);
        fuzz_samples(buf, len, slot);
        fuzz_metrics(buf, len, slot, !(data[0] & 0x80));
        free(buf);

        s = malloc(len + 2);
        if (!s)
                return 0;
        memcpy(s, data + 1, len);
        s[len] = s[len + 1] = '\0';
        slen = strlen(s);
        fuzz_http(s, slen < len ? s + slen + 1 : s + len);
        free(s);
        return 0;
}
