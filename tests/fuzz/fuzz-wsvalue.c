/* fuzz-wsvalue.c — libFuzzer target for cg-wsd's check of values read from Redis
 * (wsproto_value_check, cg-wsd/wsproto.h): nothing it passes may break a reader.
 * Input: byte 0 picks the kind (bit 0: sample or conf) and the size cap (bits 1-7); the rest is
 * the value, given as is (not NUL-terminated).
 * Checks, besides the sanitizers: a passed value is within the cap and is accepted by an
 * independent strict RFC 8259 validator written here (UTF-8 per RFC 3629, no control characters
 * in strings, strict numbers, one value and only blanks around it) as an object, of the
 * snapshot shape for a conf; the show_account and push answers built from it are strict JSON too
 * (so no key can be smuggled in and no text frame can carry invalid UTF-8); every refusal names
 * a reason; the get_placements answer rebuilt from it (wsproto_placements_answer) is strict JSON.
 * FUZZ_SOURCES: cg-wsd/wsproto.c common/strbuf.c common/util.c
 * FUZZ_LIBS: -lcjson -lm
 * FUZZ_CORPUS: tests/fixtures/wsproto
 * FUZZ_DICT: tests/fuzz/wsproto.dict */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what) {
        if (!cond) {
                fprintf(stderr, "invariant broken: %s\n", what);
                abort();
        }
}

/* ---- a strict reference validator, independent of wsproto.c and cJSON ---- */

struct ref {
        const unsigned char *s;
        size_t n, i;
        unsigned depth;
};

static void ws(struct ref *r) {
        while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
                               r->s[r->i] == '\r'))
                r->i++;
}

static bool utf8(struct ref *r) {
        unsigned char c = r->s[r->i];
        size_t k;
        uint32_t cp, min;

        if (c < 0x80) {
                r->i++;
                return true;
        }
        if ((c & 0xe0) == 0xc0)
                k = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
                k = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
                k = 4, cp = c & 0x07, min = 0x10000;
        else
                return false;
        if (r->n - r->i < k)
                return false;
        for (size_t j = 1; j < k; j++) {
                if ((r->s[r->i + j] & 0xc0) != 0x80)
                        return false;
                cp = cp << 6 | (r->s[r->i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return false;
        r->i += k;
        return true;
}

static bool hex4(struct ref *r) {
        for (int j = 0; j < 4; j++, r->i++)
                if (r->i >= r->n || !strchr("0123456789abcdefABCDEF", r->s[r->i]) || !r->s[r->i])
                        return false;
        return true;
}

static bool string(struct ref *r) {
        if (r->i >= r->n || r->s[r->i] != '"')
                return false;
        r->i++;
        while (r->i < r->n) {
                unsigned char c = r->s[r->i];
                if (c == '"') {
                        r->i++;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c == '\\') {
                        r->i++;
                        if (r->i >= r->n)
                                return false;
                        c = r->s[r->i];
                        if (c == 'u') {
                                r->i++;
                                if (!hex4(r))
                                        return false;
                        } else if (c && strchr("\"\\/bfnrt", c))
                                r->i++;
                        else
                                return false;
                } else if (!utf8(r))
                        return false;
        }
        return false;
}

static bool digits(struct ref *r) {
        size_t b = r->i;
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
                r->i++;
        return r->i > b;
}

static bool number(struct ref *r) {
        if (r->i < r->n && r->s[r->i] == '-')
                r->i++;
        if (r->i < r->n && r->s[r->i] == '0')
                r->i++;
        else if (r->i < r->n && r->s[r->i] >= '1' && r->s[r->i] <= '9')
                digits(r);
        else
                return false;
        if (r->i < r->n && r->s[r->i] == '.') {
                r->i++;
                if (!digits(r))
                        return false;
        }
        if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
                r->i++;
                if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
                        r->i++;
                if (!digits(r))
                        return false;
        }
        return true;
}

static bool value(struct ref *r);

static bool lit(struct ref *r, const char *w) {
        size_t l = strlen(w);
        if (r->n - r->i < l || memcmp(r->s + r->i, w, l) != 0)
                return false;
        r->i += l;
        return true;
}

static bool container(struct ref *r, char open, char close, bool keyed) {
        r->i++; /* open */
        (void) open;
        if (++r->depth > 2000)
                return false;
        ws(r);
        if (r->i < r->n && r->s[r->i] == (unsigned char) close) {
                r->i++;
                r->depth--;
                return true;
        }
        for (;;) {
                ws(r);
                if (keyed) {
                        if (!string(r))
                                return false;
                        ws(r);
                        if (r->i >= r->n || r->s[r->i] != ':')
                                return false;
                        r->i++;
                        ws(r);
                }
                if (!value(r))
                        return false;
                ws(r);
                if (r->i < r->n && r->s[r->i] == ',') {
                        r->i++;
                        continue;
                }
                if (r->i < r->n && r->s[r->i] == (unsigned char) close) {
                        r->i++;
                        r->depth--;
                        return true;
                }
                return false;
        }
}

static bool value(struct ref *r) {
        if (r->i >= r->n)
                return false;
        switch (r->s[r->i]) {
        case '{':
                return container(r, '{', '}', true);
        case '[':
                return container(r, '[', ']', false);
        case '"':
                return string(r);
        case 't':
                return lit(r, "true");
        case 'f':
                return lit(r, "false");
        case 'n':
                return lit(r, "null");
        default:
                return number(r);
        }
}

/* One strict JSON text that is an object. */
static bool strict_object(const char *s, size_t n) {
        struct ref r = { (const unsigned char *) s, n, 0, 0 };

        ws(&r);
        if (r.i >= n || s[r.i] != '{' || !value(&r))
                return false;
        ws(&r);
        return r.i == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        enum wsproto_value_kind kind;
        enum wsproto_reject rej;
        size_t max, len;
        char *v;

        if (size < 1)
                return 0;
        kind = data[0] & 1 ? WSPROTO_VALUE_CONF : WSPROTO_VALUE_SAMPLE;
        max = (data[0] >> 1) == 0x7f ? SIZE_MAX : (size_t) (data[0] >> 1) * 64;
        len = size - 1;
        v = malloc(len ? len : 1); /* exactly len bytes: ASan sees any read past the value */
        if (!v)
                return 0;
        memcpy(v, data + 1, len);

        rej = wsproto_value_check(v, len, kind, max);
        check(rej < _WSPROTO_REJECT_MAX, "a known reason");
        check(strcmp(wsproto_reject_name(rej), "unknown") != 0, "a named reason");
        if (rej == WSPROTO_VALUE_OK) {
                struct strbuf b = {};
                const char *values[3] = { v, NULL, v };
                size_t lens[3] = { len, 0, len };
                uint64_t rejected[_WSPROTO_REJECT_MAX] = {};

                check(len <= max, "within the cap");
                check(strict_object(v, len), "a passed value is one strict JSON object");
                check(wsproto_push_answer(42, v, len, max, 16, &b, NULL) == 0, "push takes it");
                check(strict_object(strbuf_text(&b), b.len), "push answer is strict JSON");
                strbuf_done(&b);
                if (wsproto_account_answer(40, 42, values, lens, 3, max, SIZE_MAX, 16, &b,
                                           rejected) == 0) {
                        check(strict_object(strbuf_text(&b), b.len),
                              "show_account answer is strict JSON");
                        strbuf_done(&b);
                }
        } else if (rej == WSPROTO_REJECT_SIZE)
                check(len > max, "size refusals are over the cap");
        else if (kind == WSPROTO_VALUE_SAMPLE && rej == WSPROTO_REJECT_SHAPE) {
                size_t i = 0;
                while (i < len && strchr(" \t\n\r", v[i]) && v[i])
                        i++;
                check(i < len && v[i] != '{', "a shape refusal of a sample is not an object");
        }
        {
                /* get_placements reads cg-taskd's record: it passes only what the check passes,
                 * and what it answers is strict JSON */
                struct strbuf b = {};
                enum wsproto_reject why = WSPROTO_VALUE_OK;
                int k = wsproto_placements_answer(v, len, max, 16, &b, &why);

                if (k == 0) {
                        check(rej == WSPROTO_VALUE_OK, "placements pass only checked values");
                        check(strict_object(strbuf_text(&b), b.len),
                              "get_placements answer is strict JSON");
                        strbuf_done(&b);
                } else
                        check(k == -ENOMEM || why != WSPROTO_VALUE_OK, "a placements refusal has a reason");
        }
        free(v);
        return 0;
}
