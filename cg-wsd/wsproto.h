/* wsproto.h — the pure side of cg-wsd (docs/design.md "The websocket API"): request parsing, answer
 * building (stored sample JSON spliced in as is), Prometheus rendering, HTTP routing and the access
 * checks. No I/O, no logging, no global state: everything here is unit tested on strings. Returns
 * >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "strbuf.h"

#define WSPROTO_MAX_MESSAGE (64 * 1024) /* bytes of one request; above: close 1009 */
#define WSPROTO_MAX_RANGE 3600          /* slots of one show_account */
#define WSPROTO_DEFAULT_NR_SLOT 10

enum wsproto_cmd {
        WSPROTO_SHOW_ACCOUNT,
        WSPROTO_GET_CONF,
        WSPROTO_SUBSCRIBE,
        WSPROTO_UNSUBSCRIBE,
        WSPROTO_GET_PLACEMENTS, /* cg-taskd's <runtime_dir>/taskd-placements.json, on this host */
        WSPROTO_GET_HOST,       /* the name of the host cg-wsd runs on, for the page's title */
};

struct wsproto_request {
        enum wsproto_cmd cmd;
        int64_t start_slot; /* show_account only: inclusive range, end - start + 1 <= 3600 */
        int64_t end_slot;
};

/* Parses one text message. `now` is the current slot (round(wall-clock seconds)), used for the
 * show_account defaults: end = now, nr_slot = 10, start = end - nr_slot + 1. On failure returns
 * -EINVAL and, if err is non-NULL, *err (owned) says what is wrong in words fit for the client.
 * The buffer need not be NUL-terminated. */
int wsproto_request_parse(const char *buf, size_t len, int64_t now, struct wsproto_request *ret,
                          char **err);

/* The slot number published on the `<prefix>/account` channel: decimal digits only. */
int wsproto_slot_parse(const char *s, size_t len, int64_t *ret);

/* Values read from Redis are not trusted (anyone who can write Redis writes them): each one is
 * checked before it is spliced into an answer. */
enum wsproto_value_kind {
        WSPROTO_VALUE_SAMPLE, /* <prefix>/account/<slot>: a JSON object */
        WSPROTO_VALUE_CONF,   /* <prefix>/arch_conf: {"version": N, "value": {...}} and no more */
};
enum wsproto_reject {
        WSPROTO_VALUE_OK,
        WSPROTO_REJECT_SIZE,  /* over the size cap */
        WSPROTO_REJECT_UTF8,  /* not valid UTF-8 (would close every reader's websocket) */
        WSPROTO_REJECT_JSON,  /* not exactly one strict JSON value (trailing data, control
                               * characters, cJSON's lenient numbers...) */
        WSPROTO_REJECT_SHAPE, /* JSON, but not the object of the expected shape */
        _WSPROTO_REJECT_MAX,
};
/* Checks one value: at most `max` bytes, valid UTF-8, exactly one strict JSON text (RFC 8259:
 * what a browser's JSON.parse takes) of the kind's shape. The value is parsed with cJSON once and
 * the tree thrown away: answers still splice the raw bytes. */
enum wsproto_reject wsproto_value_check(const char *v, size_t len, enum wsproto_value_kind kind,
                                        size_t max);
/* "size", "utf8", "json", "shape" (the /metrics label); "ok" for WSPROTO_VALUE_OK. */
const char *wsproto_reject_name(enum wsproto_reject r);

/* Sample values that passed wsproto_value_check(), kept by slot: a slot's sample is written once
 * and then read again and again (every show_account of a range that covers it), and comparing
 * the bytes read with the kept ones (memcmp) costs a fraction of checking them again. A value
 * that differs from the kept one (rewritten in Redis) is checked afresh; a rejected value is
 * never kept. Direct-mapped by slot, at most max_bytes of values. A zeroed struct with max_bytes
 * set is an empty cache. */
#define WSPROTO_VCACHE_SLOTS 256
struct wsproto_vcache {
        struct wsproto_vcache_entry {
                int64_t slot;
                size_t len;
                char *v; /* NULL: empty */
        } e[WSPROTO_VCACHE_SLOTS];
        size_t bytes, max_bytes;
        uint64_t hits, misses;
};
/* wsproto_value_check(v, len, WSPROTO_VALUE_SAMPLE, max) through the cache (c may be NULL). */
enum wsproto_reject wsproto_vcache_check(struct wsproto_vcache *c, int64_t slot, const char *v,
                                         size_t len, size_t max);
void wsproto_vcache_clear(struct wsproto_vcache *c);

/* Answers are struct strbuf (common/strbuf.h) with `headroom` spare bytes before the text
 * (libwebsockets wants LWS_PRE). */
/* show_account answer: {"<slot>": <sample>, ...}, keyed by slot numbers only (docs/design.md "The
 * websocket API"; "{}" when no slot has a sample), where values[i] (lens[i] bytes, NULL if missing)
 * is the sample of slot start + i, spliced in as it is once wsproto_value_check() passed it (at
 * most max_value bytes). Rejected samples are left out like missing ones and counted in
 * rejected[reason] (added to; may be NULL). n must be end - start + 1 (else -EINVAL). -E2BIG: the
 * answer would exceed max_answer bytes (the whole answer is refused, never cut: a client must not
 * mistake a cut answer for missing samples). */
int wsproto_account_answer(int64_t start, int64_t end, const char *const *values,
                           const size_t *lens, size_t n, size_t max_value, size_t max_answer,
                           size_t headroom, struct strbuf *ret, uint64_t *rejected);
/* The same answer built one slot at a time, in slot order, as the values arrive (cg-wsd reads a
 * range as one GETRANGE per slot, so no value over the cap ever crosses the socket and nothing
 * but the answer is kept). add() checks the value and appends it, or counts its rejection in
 * rejected[reason] and returns the reason; past max_answer the builder fails with -E2BIG, which
 * end() returns (as it does -ENOMEM). */
struct wsproto_account {
        struct strbuf buf;
        size_t max_value, max_answer;
        bool any;
        int err;
        struct wsproto_vcache *vcache; /* values are checked through it when set (after begin) */
        size_t slots_hint; /* slots the range has (set after begin): with the first value, room
                            * for that many of its size is reserved at once, since growing a
                            * megabyte answer by doubling copied it again and again */
};
int wsproto_account_begin(struct wsproto_account *a, size_t max_value, size_t max_answer,
                          size_t headroom);
enum wsproto_reject wsproto_account_add(struct wsproto_account *a, int64_t slot, const char *v,
                                        size_t len, uint64_t *rejected);
int wsproto_account_end(struct wsproto_account *a, struct strbuf *ret); /* frees on error */
/* A pushed sample: {"<slot>": <sample>}. -EINVAL if the sample does not pass
 * wsproto_value_check() (*ret_reason, may be NULL, says why). */
int wsproto_push_answer(int64_t slot, const char *v, size_t len, size_t max_value,
                        size_t headroom, struct strbuf *ret, enum wsproto_reject *ret_reason);
/* get_placements: cg-taskd's record of its decisions (<runtime_dir>/taskd-placements.json, a
 * file cg-wsd only reads) is checked like a Redis value (at most `max` bytes, UTF-8, strict
 * JSON, an object with a "files" array) and rebuilt, never spliced: the answer is
 *   {"placements": {"files": [{"path", "pattern", "rule", "pid", "state", "reason",
 *    "reason_key", "cgroup", "last_move", "unit"?}], "pending": N, "refused": N, "placed": N,
 *    "total": N, "omitted": N, "updated": T}}
 * with only those keys, each of its type (a file entry without a string path, an integer pid
 * or a known state is left out; a missing string is "", a missing count 0, a missing
 * last_move null), at most WSPROTO_PLACEMENTS_MAX_FILES entries. -EINVAL with *ret_reason
 * (may be NULL) when the text is refused; -ENOMEM. */
#define WSPROTO_PLACEMENTS_MAX_FILES 1000
int wsproto_placements_answer(const char *text, size_t len, size_t max, size_t headroom,
                              struct strbuf *ret, enum wsproto_reject *ret_reason);
/* get_host: {"host": "<name>", "redis_prefix": "<prefix>"}: the host cg-wsd runs on (whose
 * taskd-placements.json get_placements reads, and, in the usual one-cg-wsd-per-host layout, whose
 * cgroups the samples are) and the Redis prefix it reads (what tells hosts apart when cg-wsd runs
 * off the hosts with a shared Redis). Bytes outside printable ASCII become '?': a host name is
 * ASCII (RFC 1123) and the answer must stay valid UTF-8. */
int wsproto_host_answer(const char *host, const char *prefix, size_t headroom, struct strbuf *ret);
/* {"error": "<msg>"} with msg escaped. */
int wsproto_error_answer(const char *msg, size_t headroom, struct strbuf *ret);

/* The server's own figures shown in /metrics. */
struct wsproto_stats {
        unsigned connections;         /* open websocket connections */
        unsigned subscribers;
        bool redis_up;
        uint64_t requests_total;
        uint64_t errors_total;        /* answers that were {"error": ...} */
        uint64_t pushes_dropped_total; /* samples not sent to a slow reader */
        uint64_t pushes_total;
        uint64_t values_rejected[_WSPROTO_REJECT_MAX]; /* Redis values not served, by reason */
        unsigned pending;                    /* accepted connections not websockets (yet) */
        uint64_t connections_refused_total;  /* closed at accept: over a pending cap */
        uint64_t handshake_timeouts_total;   /* closed for not finishing a request in time */
        uint64_t accept_pauses_total;        /* accept() failed for want of descriptors */
};
/* Prometheus text exposition (version 0.0.4) of the latest sample plus the server's figures.
 * `sample` may be NULL (no sample seen yet): then only the server's figures. `now_sec` is the
 * wall clock in seconds, for the sample's age. -EINVAL if the sample is not valid JSON of the
 * sample shape (the server figures are then still worth serving: see wsd). */
/* Names a block device for the `device` label as node_exporter does ("vda"); NULL: unknown,
 * and then the label holds "MAJ:MIN". The string need live only until the next call. */
typedef const char *(*wsproto_devname_fn)(unsigned major, unsigned minor, void *userdata);
/* blkio series carry device="<name>", major="<MAJ>", minor="<MIN>" from the sample's "MAJ:MIN"
 * keys; devname may be NULL. */
int wsproto_metrics_render(const char *sample, size_t len, int64_t slot, double now_sec,
                           const struct wsproto_stats *st, wsproto_devname_fn devname,
                           void *userdata, struct strbuf *ret);
/* "254:0" -> 254, 0 (pure). -EINVAL for anything else. */
int wsproto_parse_devt(const char *s, unsigned *ret_major, unsigned *ret_minor);

enum wsproto_route {
        WSPROTO_ROUTE_NOT_FOUND,
        WSPROTO_ROUTE_FILE,    /* *ret_file: a plain file name in www_dir */
        WSPROTO_ROUTE_METRICS,
        WSPROTO_ROUTE_HEALTHZ,
};
/* Maps an HTTP path (without the query) to what serves it. Files are only plain names of
 * [A-Za-z0-9_-][A-Za-z0-9_.-]* directly in www_dir ("/" is index.html): no dot files, no "..",
 * no subdirectories, so nothing outside www_dir can be named. *ret_file points into a static
 * string or into `path`. */
enum wsproto_route wsproto_http_route(const char *path, const char **ret_file);
/* Content-Type for a file name by extension; "application/octet-stream" if unknown. */
const char *wsproto_mime_type(const char *file);

/* The browser Origin check: true when origin is NULL (not a browser), when it is the page's own
 * origin ("http://" or "https://" + host; the Host itself is checked by wsproto_host_allowed) or
 * one of `allowed` (exact, case-insensitive; "*" allows all). An empty or NULL `allowed` means
 * the page's own origin only: another site's page in the operator's browser cannot read the API. */
bool wsproto_origin_allowed(const char *origin, const char *host, char *const *allowed);
/* The DNS-rebinding check of the Host header: true when host is NULL or empty (not a browser),
 * when its name (the port is ignored) is an IP address literal (a rebound name is never an IP),
 * "localhost", the bind address, or one of server_names (case-insensitive, a trailing dot
 * ignored; "*" allows all). */
bool wsproto_host_allowed(const char *host, const char *bind, char *const *server_names);
/* Whether [wsd] bind keeps the server on this host: 127.0.0.0/8, ::1, "localhost" or "lo". */
bool wsproto_bind_is_loopback(const char *bind);
/* Constant-time comparison of a presented token with the configured one. */
bool wsproto_token_equal(const char *presented, const char *expected);
/* The token of an "Authorization: Bearer <token>" header value, or NULL. Points into `value`. */
const char *wsproto_bearer_token(const char *value);
