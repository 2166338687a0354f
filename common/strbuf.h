/* strbuf.h — the one growable text buffer of cgrouparch, with a JSON string writer: the
 * accounting sample (acct.c), the conf's JSON (conf.c), the public API's cgexec JSON (api.c)
 * and cg-wsd's answers all build their text in one of these.
 *
 * Errors are sticky: an append that fails (out of memory) sets `oom`, and every later append
 * fails at once, so a writer may call a run of appends and look at the result once at the end.
 * Each append returns 0 or -ENOMEM. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct strbuf {
        char *mem;       /* owned; the text starts at mem + headroom, NUL-terminated once
                            anything was appended (or strbuf_init ran) */
        size_t headroom; /* spare bytes before the text (libwebsockets wants LWS_PRE), fixed by
                            strbuf_init; 0 for a zeroed buffer */
        size_t len;      /* text bytes, without the NUL */
        size_t cap;      /* bytes allocated after the headroom */
        bool oom;
};

/* Allocates room for `hint` text bytes after `headroom` spare ones; the text is "". A zeroed
 * struct strbuf needs no init (headroom 0). */
int strbuf_init(struct strbuf *b, size_t headroom, size_t hint);
/* Room for `extra` more text bytes (and the NUL). */
int strbuf_reserve(struct strbuf *b, size_t extra);
int strbuf_append(struct strbuf *b, const char *s, size_t n);
static inline int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) _printf_(2, 3);
/* An exact decimal (no printf: the accounting sample writes thousands per tick). */
int strbuf_append_u64(struct strbuf *b, uint64_t v);
int strbuf_append_i64(struct strbuf *b, int64_t v);
/* `s` as a JSON string, quotes included: '"', '\\' and the control characters escaped (\n, \t,
 * ... or \u00XX), every other byte (UTF-8 included) as it is, as cJSON writes it. */
int strbuf_json_string(struct strbuf *b, const char *s);
/* The text ("" for an empty, never-grown buffer). */
static inline const char *strbuf_text(const struct strbuf *b) {
        return b->mem ? b->mem + b->headroom : "";
}
/* Empties the text, keeps the memory (and a sticky oom is forgotten). */
static inline void strbuf_reset(struct strbuf *b) {
        b->len = 0;
        b->oom = false;
        if (b->mem)
                b->mem[b->headroom] = 0;
}
/* Frees; the buffer is zeroed (headroom 0). NULL-safe on a zeroed buffer. */
void strbuf_done(struct strbuf *b);
/* Hands the text over (malloc()ed, the caller's; headroom must be 0): "" if nothing was
 * appended. NULL on out of memory (now or earlier); the buffer is zeroed either way. */
char *strbuf_steal(struct strbuf *b);

static inline int strbuf_puts(struct strbuf *b, const char *s) {
        return strbuf_append(b, s, __builtin_strlen(s));
}
