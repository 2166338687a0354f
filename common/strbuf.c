/* strbuf.c — the growable text buffer (see strbuf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

int strbuf_init(struct strbuf *b, size_t headroom, size_t hint) {
        *b = (struct strbuf){.headroom = headroom};
        return strbuf_reserve(b, MAX(hint, (size_t) 64));
}

int strbuf_reserve(struct strbuf *b, size_t extra) {
        size_t cap;
        char *m;

        if (b->oom)
                return -ENOMEM;
        if (b->mem && extra < b->cap - b->len)
                return 0; /* room for it and the NUL */
        if (extra > SIZE_MAX / 4 - b->len - b->headroom)
                goto oom;
        cap = MAX(MAX(b->len + extra + 1, b->cap * 2), (size_t) 64);
        m = realloc(b->mem, b->headroom + cap);
        if (!m)
                goto oom;
        if (!b->mem)
                m[b->headroom] = 0;
        b->mem = m;
        b->cap = cap;
        return 0;
oom:
        b->oom = true;
        return -ENOMEM;
}

int strbuf_append(struct strbuf *b, const char *s, size_t n) {
        int r = strbuf_reserve(b, n);

        if (r < 0)
                return r;
        memcpy(b->mem + b->headroom + b->len, s, n);
        b->len += n;
        b->mem[b->headroom + b->len] = 0;
        return 0;
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...) {
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        r = strbuf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        (void) vsnprintf(b->mem + b->headroom + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return 0;
}

int strbuf_append_u64(struct strbuf *b, uint64_t v) {
        char tmp[21];
        size_t i = sizeof(tmp);

        do {
                tmp[--i] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        return strbuf_append(b, tmp + i, sizeof(tmp) - i);
}

int strbuf_append_i64(struct strbuf *b, int64_t v) {
        if (v >= 0)
                return strbuf_append_u64(b, (uint64_t) v);
        (void) strbuf_append(b, "-", 1);
        return strbuf_append_u64(b, -(uint64_t) v); /* also INT64_MIN */
}

int strbuf_json_string(struct strbuf *b, const char *s) {
        static const char hex[] = "0123456789abcdef";

        (void) strbuf_append(b, "\"", 1);
        for (;;) {
                size_t l = 0;
                unsigned char c;

                while (s[l] && (unsigned char) s[l] >= 32 && s[l] != '"' && s[l] != '\\')
                        l++;
                (void) strbuf_append(b, s, l);
                s += l;
                c = (unsigned char) *s;
                if (!c)
                        break;
                s++;
                switch (c) {
                case '"':
                        (void) strbuf_append(b, "\\\"", 2);
                        break;
                case '\\':
                        (void) strbuf_append(b, "\\\\", 2);
                        break;
                case '\b':
                        (void) strbuf_append(b, "\\b", 2);
                        break;
                case '\f':
                        (void) strbuf_append(b, "\\f", 2);
                        break;
                case '\n':
                        (void) strbuf_append(b, "\\n", 2);
                        break;
                case '\r':
                        (void) strbuf_append(b, "\\r", 2);
                        break;
                case '\t':
                        (void) strbuf_append(b, "\\t", 2);
                        break;
                default: {
                        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                        (void) strbuf_append(b, u, sizeof(u));
                }
                }
        }
        return strbuf_append(b, "\"", 1); /* sticky: fails if anything before it did */
}

void strbuf_done(struct strbuf *b) {
        free(b->mem);
        *b = (struct strbuf){};
}

char *strbuf_steal(struct strbuf *b) {
        char *s = NULL;

        if (!b->oom && b->headroom == 0)
                s = b->mem ? b->mem : strdup("");
        if (s != b->mem)
                free(b->mem);
        *b = (struct strbuf){};
        return s;
}
