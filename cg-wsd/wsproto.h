/* wsproto.h — the pure side of cg-wsd (DESIGN.md "The websocket API"): request parsing, answer
 * building (stored sample JSON spliced in as is), Prometheus rendering, HTTP routing and the
 * access checks. No I/O, no logging, no global state: everything here is unit tested on strings.
 * Returns >= 0 or -errno. */
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

/* A cheap plausibility check of a stored sample before it is spliced into an answer: a JSON
 * object (first non-blank byte '{', last '}'), no NUL. Not a full parse, by design: the answer
 * path must stay at Redis speed. */
bool wsproto_sample_plausible(const char *v, size_t len);

/* Answers are struct strbuf with `headroom` spare bytes before the text (libwebsockets wants
 * LWS_PRE). */
/* show_account answer: {"<slot>": <sample>, ...}, keyed by slot numbers only (DESIGN.md; "{}" when
 * no slot has a sample), where values[i] (lens[i] bytes, NULL if missing) is the sample of slot
 * start + i, spliced in as it is. n must be end - start + 1 (else -EINVAL). Implausible samples are
 * left out like missing ones; *ret_skipped (may be NULL) counts them. */
int wsproto_account_answer(int64_t start, int64_t end, const char *const *values,
                           const size_t *lens, size_t n, size_t headroom, struct strbuf *ret,
                           size_t *ret_skipped);
/* A pushed sample: {"<slot>": <sample>}. */
int wsproto_push_answer(int64_t slot, const char *v, size_t len, size_t headroom,
                        struct strbuf *ret);
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
};
/* Prometheus text exposition (version 0.0.4) of the latest sample plus the server's figures.
 * `sample` may be NULL (no sample seen yet): then only the server's figures. `now_sec` is the
 * wall clock in seconds, for the sample's age. -EINVAL if the sample is not valid JSON of the
 * sample shape (the server figures are then still worth serving: see wsd). */
int wsproto_metrics_render(const char *sample, size_t len, int64_t slot, double now_sec,
                           const struct wsproto_stats *st, struct strbuf *ret);

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

/* The browser Origin check: true when `allowed` is empty, when origin is NULL (not a browser),
 * when origin is one of `allowed` (exact, case-insensitive, "*" allows all) or when it is the
 * page's own origin ("http://" or "https://" + host). */
bool wsproto_origin_allowed(const char *origin, const char *host, char *const *allowed);
/* Constant-time comparison of a presented token with the configured one. */
bool wsproto_token_equal(const char *presented, const char *expected);
/* The token of an "Authorization: Bearer <token>" header value, or NULL. Points into `value`. */
const char *wsproto_bearer_token(const char *value);
