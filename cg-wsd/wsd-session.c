/* wsd-session.c — the lws protocol callback: websocket sessions (requests in, answers and pushes
 * out through a bounded, ordered queue) and the plain HTTP requests on the same port.
 *
 * Bounds, per connection: one request of at most 64 KiB is reassembled (above: close 1009);
 * reading pauses (lws rx flow control) while the queue holds more than WSD_QUEUE_MAX_ENTRIES
 * answers, WSD_QUEUE_MAX_BYTES bytes or more than one range's worth of slots in Redis; a push
 * that would exceed those is dropped for that reader, and a reader that lets
 * WSD_MAX_DROPS_IN_ROW pushes drop in a row is closed (1008). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "wsd.h"
#include "wsd-metrics.h"

#define WSD_MAX_PLACEMENTS (8 * 1024 * 1024) /* bytes of cg-taskd's taskd-placements.json */

static struct ratelimit rl_session = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

int64_t wsd_now_slot(void) {
        return (int64_t) ((now_usec(CLOCK_REALTIME) + USEC_PER_SEC / 2) / USEC_PER_SEC);
}

/* ---- messages ---- */

struct wsd_msg *wsd_msg_new(struct strbuf *buf) {
        struct wsd_msg *m = calloc(1, sizeof *m);

        if (!m) {
                strbuf_done(buf);
                return NULL;
        }
        m->refs = 1;
        m->buf = *buf;       /* the memory moves into the message */
        buf->mem = NULL;
        return m;
}

struct wsd_msg *wsd_msg_ref(struct wsd_msg *m) {
        m->refs++;
        return m;
}

struct wsd_msg *wsd_msg_unref(struct wsd_msg *m) {
        if (m && --m->refs == 0) {
                strbuf_done(&m->buf);
                free(m);
        }
        return NULL;
}

/* ---- the output queue ---- */

static bool over_bounds(const struct wsd_session *s) {
        return s->q_len >= WSD_QUEUE_MAX_ENTRIES || s->q_bytes >= WSD_QUEUE_MAX_BYTES ||
               s->q_slots > WSPROTO_MAX_RANGE;
}

static void update_rx_flow(struct wsd_session *s) {
        bool over = over_bounds(s);

        if (s->closing)
                return; /* lws's close handshake reads on */
        if (over != s->rx_paused) {
                s->rx_paused = over;
                (void) lws_rx_flow_control(s->wsi, over ? 0 : 1);
        }
}

static void kick(struct wsd_session *s) {
        if (s->q_head && s->q_head->msg)
                lws_callback_on_writable(s->wsi);
}

static struct wsd_qent *qent_append(struct wsd_session *s) {
        struct wsd_qent *q = calloc(1, sizeof *q);

        if (!q)
                return NULL;
        if (s->q_tail)
                s->q_tail->next = q;
        else
                s->q_head = q;
        s->q_tail = q;
        s->q_len++;
        return q;
}

static void qent_set(struct wsd_session *s, struct wsd_qent *q, struct wsd_msg *m) {
        q->msg = m;
        s->q_bytes += m->buf.len;
        s->q_slots -= q->slots;
        q->slots = 0;
        kick(s);
}

int wsd_session_enqueue(struct wsd_session *s, struct wsd_msg *m) {
        struct wsd_qent *q = qent_append(s);

        if (!q)
                return -ENOMEM;
        qent_set(s, q, wsd_msg_ref(m));
        return 0;
}

static int on_writeable(struct wsd_session *s);

/* An answer came from Redis: written at once when it is next in the queue and the socket has
 * nothing buffered, instead of asking lws for POLLOUT (an epoll_ctl() each way and a loop turn
 * per answer). lws 4.1 allows it outside the writeable callback: a short send leaves the rest in
 * its buflist_out, flushed on POLLOUT before anything else is written, so frames stay whole and
 * in order. Never from inside an lws callback of this connection. */
static void write_now(struct wsd_session *s) {
        struct wsd_qent *q = s->q_head;

        if (!q || !q->msg || q->off > 0 || s->closing || s->ping_due ||
            lws_partial_buffered(s->wsi)) {
                kick(s);
                return;
        }
        if (on_writeable(s) < 0)
                lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void wsd_session_fill(struct wsd_session *s, struct wsd_qent *q, struct strbuf *buf) {
        struct wsd_msg *m = wsd_msg_new(buf);

        if (!m) {
                wsd_session_fill_error(s, q, "out of memory");
                return;
        }
        q->pending = NULL;
        q->msg = m;
        s->d->answer_bytes += m->buf.len;
        s->q_bytes += m->buf.len;
        s->q_slots -= q->slots;
        q->slots = 0;
        write_now(s);
        update_rx_flow(s);
}

void wsd_session_fill_error(struct wsd_session *s, struct wsd_qent *q, const char *msg) {
        struct strbuf b;
        struct wsd_msg *m;

        q->pending = NULL;
        if (wsproto_error_answer(msg, LWS_PRE, &b) < 0 || !(m = wsd_msg_new(&b))) {
                /* not even an error fits: the session cannot keep its order, end it */
                lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                return;
        }
        qent_set(s, q, m);
        update_rx_flow(s);
}

static void answer_error(struct wsd_session *s, const char *msg) {
        struct wsd_qent *q = qent_append(s);

        s->d->stats.errors_total++;
        if (!q) {
                lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                return;
        }
        wsd_session_fill_error(s, q, msg);
}

/* Queues the answer built in b (LWS_PRE headroom), which it takes over. */
static void answer_buf(struct wsd_session *s, struct strbuf *b) {
        struct wsd_msg *m = wsd_msg_new(b);
        struct wsd_qent *q = m ? qent_append(s) : NULL;

        if (!q) {
                wsd_msg_unref(m);
                return answer_error(s, "out of memory");
        }
        qent_set(s, q, m);
}

static void answer_text(struct wsd_session *s, const char *text) {
        struct strbuf b;

        if (strbuf_init(&b, LWS_PRE, strlen(text)) < 0)
                return answer_error(s, "out of memory");
        (void) strbuf_append(&b, text, strlen(text));
        answer_buf(s, &b);
}

static void queue_free(struct wsd_session *s) {
        struct wsd_qent *q = s->q_head, *n;

        for (; q; q = n) {
                n = q->next;
                if (q->pending)
                        wsd_pending_orphan(q->pending); /* its reply lands nowhere */
                wsd_msg_unref(q->msg);
                free(q);
        }
        s->q_head = s->q_tail = NULL;
        s->q_len = s->q_bytes = s->q_slots = 0;
}

void wsd_push_sample(struct wsd *d, struct wsd_msg *m) {
        struct lws_dll2 *p, *next;

        /* not lws_start_foreach_dll_safe(): a `continue` in its body would skip its step */
        for (p = lws_dll2_get_head(&d->subscribers); p; p = next) {
                struct wsd_session *s = lws_container_of(p, struct wsd_session, sub);

                next = p->next;
                if (s->q_len >= WSD_QUEUE_MAX_ENTRIES ||
                    (s->q_len > 0 && s->q_bytes + m->buf.len > WSD_QUEUE_MAX_BYTES)) {
                        d->stats.pushes_dropped_total++;
                        if (++s->drops_in_row == WSD_MAX_DROPS_IN_ROW) {
                                if (ratelimit_below(&rl_session))
                                        log_notice("Closing a subscriber that read nothing for "
                                                   "%d samples",
                                                   WSD_MAX_DROPS_IN_ROW);
                                lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK,
                                                LWS_TO_KILL_ASYNC);
                        }
                        continue;
                }
                s->drops_in_row = 0;
                if (wsd_session_enqueue(s, m) >= 0)
                        d->stats.pushes_total++;
        }
}

/* ---- liveness: lws 4.1's own (retry_and_idle_policy) keeps one timer per connection in a
 * sorted list, and re-inserting one walks the list: every ping, pong and handshake cost a walk
 * over every connection (with 10,000 idle websockets, 28% of a core while pings were due). Here a
 * frame moves its session to the tail of d->live, and the tick pops the heads that are due. */

static void seen(struct wsd_session *s) {
        s->seen_usec = now_usec(CLOCK_MONOTONIC);
        lws_dll2_remove(&s->live);
        lws_dll2_add_tail(&s->live, &s->d->live);
}

void wsd_session_tick(struct wsd *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        struct lws_dll2 *p;

        while ((p = lws_dll2_get_head(&d->pinged))) {
                struct wsd_session *s = lws_container_of(p, struct wsd_session, live);

                if (now - s->seen_usec < d->hangup_usec)
                        break;
                lws_dll2_remove(p);
                s->closing = true;
                lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        while ((p = lws_dll2_get_head(&d->live))) {
                struct wsd_session *s = lws_container_of(p, struct wsd_session, live);

                if (now - s->seen_usec < d->ping_usec)
                        break;
                lws_dll2_remove(p);
                lws_dll2_add_tail(p, &d->pinged);
                s->ping_due = true;
                lws_callback_on_writable(s->wsi);
        }
}

/* One frame per writeable callback (lws's rule). Answers owned by this session alone go out in
 * WSD_WRITE_CHUNK fragments, written in place (LWS_PRE bytes before each chunk belong to the part
 * already sent); shared pushes are written whole, since their buffer must stay intact. */
static int on_writeable(struct wsd_session *s) {
        struct wsd_qent *q = s->q_head;
        struct wsd_msg *m;
        unsigned char *text;
        size_t len, chunk;
        int flags;

        if (s->closing)
                return 0; /* lws sends the close frame */
        if (s->ping_due && (!q || q->off == 0)) { /* never inside a fragmented answer */
                /* a payload, since lws 4.1 does not report an empty pong (RECEIVE_PONG) */
                unsigned char ping[LWS_PRE + 1] = { [LWS_PRE] = 'p' };

                s->ping_due = false;
                if (lws_write(s->wsi, ping + LWS_PRE, 1, LWS_WRITE_PING) < 0)
                        return -1;
                kick(s);
                return 0;
        }
        if (!q || !q->msg)
                return 0;
        m = q->msg;
        text = (unsigned char *) strbuf_text(&m->buf);
        len = m->buf.len;
        if (m->refs == 1 && len > WSD_WRITE_CHUNK) {
                chunk = MIN(len - q->off, (size_t) WSD_WRITE_CHUNK);
                flags = lws_write_ws_flags(LWS_WRITE_TEXT, q->off == 0, q->off + chunk == len);
        } else {
                chunk = len;
                flags = LWS_WRITE_TEXT;
        }
        if (lws_write(s->wsi, text + q->off, chunk, (enum lws_write_protocol) flags) < 0)
                return -1;
        q->off += chunk;
        if (q->off == len) {
                s->q_head = q->next;
                if (!s->q_head)
                        s->q_tail = NULL;
                s->q_len--;
                s->q_bytes -= len;
                wsd_msg_unref(q->msg);
                free(q);
                update_rx_flow(s);
        }
        kick(s);
        return 0;
}

/* ---- requests ---- */

/* get_placements: cg-taskd's record on this host, read (not followed through a symlink, without
 * blocking, at most WSD_MAX_PLACEMENTS bytes) and rebuilt by wsproto_placements_answer(). A
 * local file of a few hundred KiB at most: read on the loop, as the page files are. */
static void answer_placements(struct wsd_session *s) {
        static struct ratelimit rl = RATELIMIT_INIT(60 * USEC_PER_SEC, 3);
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        enum wsproto_reject why = WSPROTO_VALUE_OK;
        struct stat st;
        struct strbuf b;
        size_t len = 0;
        int r;

        if (xasprintf(&path, "%s/taskd-placements.json", s->d->cfg->daemon.runtime_dir) < 0)
                return answer_error(s, "out of memory");
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return answer_error(s, errno == ENOENT
                                               ? "no placements here: cg-taskd has not written "
                                                 "taskd-placements.json in this host's "
                                                 "runtime_dir"
                                               : "cannot read cg-taskd's placements");
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return answer_error(s, "cannot read cg-taskd's placements");
        if ((uint64_t) st.st_size > WSD_MAX_PLACEMENTS) {
                why = WSPROTO_REJECT_SIZE;
                goto refused;
        }
        text = malloc((size_t) st.st_size + 1);
        if (!text)
                return answer_error(s, "out of memory");
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, text + len, (size_t) st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* shorter than fstat said: a rename replaced it, parse what is */
                len += (size_t) n;
        }
        r = wsproto_placements_answer(text, len, WSD_MAX_PLACEMENTS, LWS_PRE, &b, &why);
        if (r == -ENOMEM)
                return answer_error(s, "out of memory");
        if (r < 0)
                goto refused;
        return answer_buf(s, &b);
refused:
        if (ratelimit_below(&rl))
                log_warning("Refusing to serve %s: %s", path, wsproto_reject_name(why));
        answer_error(s, "cg-taskd's placements are not valid");
}

/* get_host: this host's name (read at each request: a renamed host shows its new name) and the
 * Redis prefix (README "cg-wsd": where the page's host name comes from). */
static void answer_host(struct wsd_session *s) {
        char name[HOST_NAME_MAX + 1] = "";
        struct strbuf b;

        if (gethostname(name, sizeof(name) - 1) < 0)
                name[0] = 0; /* cannot fail with this buffer; "" tells the page to use its own */
        if (wsproto_host_answer(name, s->d->cfg->redis.prefix, LWS_PRE, &b) < 0)
                return answer_error(s, "out of memory");
        answer_buf(s, &b);
}

static void handle_request(struct wsd_session *s, const char *buf, size_t len) {
        struct wsd *d = s->d;
        _cleanup_free_ char *err = NULL;
        struct wsproto_request req;
        struct wsd_qent *q;

        d->stats.requests_total++;
        if (wsproto_request_parse(buf, len, wsd_now_slot(), &req, &err) < 0)
                return answer_error(s, err ? err : "out of memory");
        switch (req.cmd) {
        case WSPROTO_SUBSCRIBE:
                if (!s->subscribed) {
                        d->stats.subscribers++;
                        lws_dll2_add_tail(&s->sub, &d->subscribers);
                }
                s->subscribed = true;
                s->drops_in_row = 0;
                return answer_text(s, "{\"subscribed\": true}");
        case WSPROTO_UNSUBSCRIBE:
                if (s->subscribed) {
                        d->stats.subscribers--;
                        lws_dll2_remove(&s->sub);
                }
                s->subscribed = false;
                return answer_text(s, "{\"subscribed\": false}");
        case WSPROTO_GET_PLACEMENTS:
                return answer_placements(s);
        case WSPROTO_GET_HOST:
                return answer_host(s);
        case WSPROTO_SHOW_ACCOUNT:
        case WSPROTO_GET_CONF:
                q = qent_append(s);
                if (!q)
                        return answer_error(s, "out of memory");
                if (req.cmd == WSPROTO_SHOW_ACCOUNT) {
                        q->slots = (size_t) (req.end_slot - req.start_slot + 1);
                        s->q_slots += q->slots;
                }
                wsd_redis_request(s, q, &req);
                update_rx_flow(s);
                return;
        }
}

static int on_receive(struct wsd_session *s, const char *in, size_t len) {
        struct lws *wsi = s->wsi;
        bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);

        if (first) {
                s->rx_len = 0;
                s->rx_binary = lws_frame_is_binary(wsi);
        }
        if (s->closing)
                return 0; /* lws no longer calls back once closing; belt and braces */
        if (s->rx_len + len > WSPROTO_MAX_MESSAGE) {
                static const char reason[] = "message over 64 KiB";
                lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                                 (unsigned char *) reason, sizeof reason - 1);
                /* Not `return -1`: lws 4.1 then drops the rest of its read buffer, which may end
                 * inside the next frame, and goes on reading the socket until the close frame is
                 * sent; the libev plugin can deliver that POLLIN before the POLLOUT, the parser
                 * takes the frame's tail for a header, fails, and lws closes the socket without
                 * any close frame ("connection lost" instead of 1009, whenever a frame straddled
                 * the read that crossed the limit). Starting lws's own close here instead keeps
                 * its parser in step: it reads on (no more RECEIVE callbacks), sends the close
                 * frame and waits for the client's. lws_close_free_wsi() is exported for event
                 * library plugins; with a close reason set it only starts the close handshake
                 * and frees nothing. */
                s->closing = true;
                strbuf_done(&s->rx);
                lws_close_free_wsi(wsi, LWS_CLOSE_STATUS_NOSTATUS, "cg-wsd: message over 64 KiB");
                return 0;
        }
        if (first && final && !s->rx_binary) { /* the common case: no copy */
                handle_request(s, in, len);
                return 0;
        }
        if (!s->rx_binary) {
                if (!s->rx.mem && strbuf_init(&s->rx, 0, 4096) < 0)
                        return -1;
                if (strbuf_append(&s->rx, in, len) < 0)
                        return -1;
        }
        s->rx_len += len;
        if (!final)
                return 0;
        if (s->rx_binary)
                answer_error(s, "binary frames are not supported: send JSON text");
        else
                handle_request(s, strbuf_text(&s->rx), s->rx.len);
        strbuf_done(&s->rx); /* idle connections keep no buffer */
        s->rx_len = 0;
        return 0;
}

/* ---- access checks (HTTP data endpoints and the websocket upgrade) ---- */

static bool authorized(struct wsd *d, struct lws *wsi) {
        char buf[512];
        const char *t;

        if (!d->cfg->wsd.token)
                return true;
        if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
            (t = wsproto_bearer_token(buf)) && wsproto_token_equal(t, d->cfg->wsd.token))
                return true;
        t = lws_get_urlarg_by_name(wsi, "token=", buf, (int) sizeof buf);
        return t && wsproto_token_equal(t, d->cfg->wsd.token);
}

/* DNS rebinding: a page of evil.example whose name now resolves to this host sends
 * "Host: evil.example:43409", and its own Origin "http://evil.example:43409" would pass the
 * same-origin rule. Checked before anything else, on every request. */
static bool host_allowed(struct wsd *d, struct lws *wsi) {
        char host[256] = "";
        int n = lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);

        if (n < 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HOST) >= (int) sizeof host)
                return false;
        if (wsproto_host_allowed(host, d->cfg->wsd.bind, d->cfg->wsd.server_names))
                return true;
        if (ratelimit_below(&rl_session))
                log_notice("Refused a request for Host %s (not an address, localhost, the bind "
                           "address or in [wsd] server_names)",
                           host);
        return false;
}

static int confirm_upgrade(struct wsd *d, struct lws *wsi) {
        char origin[256] = "", host[256] = "";
        bool has_origin;

        wsd_conn_request(d, wsi);
        if (!host_allowed(d, wsi))
                return lws_return_http_status(wsi, 421, "unknown host") ? -1 : 1;
        if (!authorized(d, wsi)) {
                if (ratelimit_below(&rl_session))
                        log_notice("Refused a websocket without a valid token");
                return lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, "token required")
                               ? -1
                               : 1;
        }
        has_origin = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0;
        (void) lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
        if (!wsproto_origin_allowed(has_origin ? origin : NULL, host,
                                    d->cfg->wsd.allowed_origins)) {
                if (ratelimit_below(&rl_session))
                        log_notice("Refused a websocket from origin %s", origin);
                return lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "origin not allowed")
                               ? -1
                               : 1;
        }
        if (d->stats.connections >= d->cfg->wsd.max_clients) {
                if (ratelimit_below(&rl_session))
                        log_warning("Refused a websocket: max_clients (%u) reached",
                                    d->cfg->wsd.max_clients);
                return lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                              "too many clients")
                               ? -1
                               : 1;
        }
        return 0;
}

/* ---- HTTP ---- */

static int http_respond(struct wsd_session *s, struct lws *wsi, unsigned status,
                        const char *type, struct strbuf *body) {
        static const char csp[] = "default-src 'self'; connect-src 'self' ws: wss:; "
                                  "img-src 'self' data:; frame-ancestors 'none'";
        unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                           *end = hdr + sizeof hdr - 1;
        bool file = s->file;

        strbuf_done(&s->body);
        s->body = *body; /* moves */
        body->mem = NULL;
        s->body_sent = false;
        s->file = false;
        if (lws_add_http_common_headers(wsi, status, type, s->body.len, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                        (const unsigned char *) (file ? "no-cache" : "no-store"),
                                        8, &p, end) ||
            (file && lws_add_http_header_by_name(
                             wsi, (const unsigned char *) "content-security-policy:",
                             (const unsigned char *) csp, (int) strlen(csp), &p, end)) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                        (const unsigned char *) "nosniff", 7, &p, end))
                return 1;
        if (status == HTTP_STATUS_UNAUTHORIZED &&
            lws_add_http_header_by_name(wsi, (const unsigned char *) "www-authenticate:",
                                        (const unsigned char *) "Bearer", 6, &p, end))
                return 1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
                return 1;
        lws_callback_on_writable(wsi);
        return 0;
}

static int http_text(struct wsd_session *s, struct lws *wsi, unsigned status, const char *text) {
        struct strbuf b;

        if (strbuf_init(&b, LWS_PRE, strlen(text)) < 0 ||
            strbuf_append(&b, text, strlen(text)) < 0) {
                strbuf_done(&b);
                return -1;
        }
        return http_respond(s, wsi, status, "text/plain; charset=utf-8", &b);
}

static int http_metrics(struct wsd *d, struct wsd_session *s, struct lws *wsi) {
        struct strbuf b, tmp;
        double now = (double) now_usec(CLOCK_REALTIME) / (double) USEC_PER_SEC;

        d->stats.redis_up = wsd_redis_up(d);
        d->stats.pending = d->n_pending;
        if (wsproto_metrics_render(d->latest, d->latest_len, d->latest_slot, now, &d->stats,
                                   wsd_devname, NULL, &tmp) < 0) {
                /* a sample we cannot read still leaves the server's own figures */
                if (ratelimit_below(&rl_session))
                        log_warning("The latest sample (slot %" PRId64 ") is malformed",
                                    d->latest_slot);
                if (wsproto_metrics_render(NULL, 0, 0, now, &d->stats, NULL, NULL, &tmp) < 0)
                        return -1;
        }
        /* then the daemons' health files, so one scrape sees the host */
        if (wsd_metrics_append_files(d, &tmp) < 0 && ratelimit_below(&rl_session))
                log_warning("Failed to add the daemons' .prom files to /metrics");
        /* lws_write wants LWS_PRE headroom */
        if (strbuf_init(&b, LWS_PRE, tmp.len) < 0 ||
            strbuf_append(&b, strbuf_text(&tmp), tmp.len) < 0) {
                strbuf_done(&tmp);
                strbuf_done(&b);
                return -1;
        }
        strbuf_done(&tmp);
        return http_respond(s, wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                            &b);
}

/* Static files are read whole (the page is a few small files; WSD_MAX_FILE caps it) through an
 * fd opened relative to www_dir without following symlinks: route() already allows only plain
 * names, so nothing outside www_dir can be named, and a symlink placed in it is not followed
 * (404). Anything but a regular file is 404 too (O_NONBLOCK: a FIFO cannot block the loop). */
static int http_file(struct wsd *d, struct wsd_session *s, struct lws *wsi, const char *file) {
        _cleanup_close_ int dfd = -1, fd = -1;
        struct strbuf b = {};
        struct stat st;
        ssize_t n = 0;

        dfd = open(d->cfg->wsd.www_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                if (fd < 0 && errno == ELOOP && ratelimit_below(&rl_session))
                        log_notice("Not serving %s/%s: a symlink", d->cfg->wsd.www_dir, file);
                return http_text(s, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
        }
        if (st.st_size > WSD_MAX_FILE)
                return http_text(s, wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "file too big\n");
        /* one byte more than the size: a file that grows while it is read is refused */
        if (strbuf_init(&b, LWS_PRE, (size_t) st.st_size + 1) < 0)
                return -1;
        while (b.len + 1 < b.cap) { /* b.cap counts the NUL */
                n = read(fd, b.mem + b.headroom + b.len, b.cap - 1 - b.len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                b.len += (size_t) n;
        }
        if (n < 0 || b.len > (size_t) st.st_size) {
                strbuf_done(&b);
                return http_text(s, wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "cannot read\n");
        }
        b.mem[b.headroom + b.len] = 0;
        s->file = true;
        return http_respond(s, wsi, HTTP_STATUS_OK, wsproto_mime_type(file), &b);
}

static int on_http(struct wsd *d, struct wsd_session *s, struct lws *wsi, const char *uri) {
        const char *file = NULL;

        s->kind = WSD_SESSION_HTTP;
        s->d = d;
        s->wsi = wsi;
        wsd_conn_request(d, wsi);
        if (!host_allowed(d, wsi))
                return http_text(s, wsi, 421, "unknown host: add it to [wsd] server_names\n");
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
                return http_text(s, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET\n");
        switch (wsproto_http_route(uri, &file)) {
        case WSPROTO_ROUTE_HEALTHZ:
                return wsd_redis_up(d) ? http_text(s, wsi, HTTP_STATUS_OK, "ok\n")
                                       : http_text(s, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                                   "redis unavailable\n");
        case WSPROTO_ROUTE_METRICS:
                if (!authorized(d, wsi))
                        return http_text(s, wsi, HTTP_STATUS_UNAUTHORIZED, "token required\n");
                return http_metrics(d, s, wsi);
        case WSPROTO_ROUTE_FILE:
                return http_file(d, s, wsi, file);
        case WSPROTO_ROUTE_NOT_FOUND:
        default:
                return http_text(s, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
        }
}

/* The answer is out: keep-alive waits for the next request, which has the handshake's time. */
static int transaction_completed(struct wsd *d, struct lws *wsi) {
        if (lws_http_transaction_completed(wsi))
                return -1;
        wsd_conn_idle(d, wsi);
        return 0;
}

static int on_http_writeable(struct wsd_session *s, struct lws *wsi) {
        if (s->kind != WSD_SESSION_HTTP || s->body_sent || !s->body.mem)
                return 0;
        s->body_sent = true;
        if (lws_write(wsi, (unsigned char *) strbuf_text(&s->body), s->body.len,
                      LWS_WRITE_HTTP_FINAL) != (int) s->body.len)
                return -1;
        strbuf_done(&s->body);
        return transaction_completed(s->d, wsi);
}

/* ---- the callback ---- */

int wsd_session_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
        struct wsd *d = lws_context_user(lws_get_context(wsi));
        struct wsd_session *s = user;

        switch (reason) {
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
                return confirm_upgrade(d, wsi);

        case LWS_CALLBACK_ESTABLISHED:
                wsd_conn_established(d, wsi);
                strbuf_done(&s->body);
                *s = (struct wsd_session){ .kind = WSD_SESSION_WS, .d = d, .wsi = wsi };
                seen(s);
                d->stats.connections++;
                wsd_update_status(d);
                return 0;

        case LWS_CALLBACK_CLOSED:
                if (!s || s->kind != WSD_SESSION_WS)
                        return 0;
                lws_dll2_remove(&s->live);
                lws_dll2_remove(&s->sub);
                d->stats.connections--;
                if (s->subscribed)
                        d->stats.subscribers--;
                queue_free(s);
                strbuf_done(&s->rx);
                s->kind = WSD_SESSION_NONE;
                wsd_update_status(d);
                return 0;

        case LWS_CALLBACK_RECEIVE:
                if (!s || s->kind != WSD_SESSION_WS)
                        return -1;
                if (!s->closing)
                        seen(s);
                return on_receive(s, in, len);

        case LWS_CALLBACK_RECEIVE_PONG:
                if (s && s->kind == WSD_SESSION_WS && !s->closing)
                        seen(s);
                return 0;

        case LWS_CALLBACK_SERVER_WRITEABLE:
                if (!s || s->kind != WSD_SESSION_WS)
                        return 0;
                return on_writeable(s);

        case LWS_CALLBACK_HTTP:
                if (!s)
                        return -1;
                return on_http(d, s, wsi, in) ? -1 : 0;

        case LWS_CALLBACK_HTTP_WRITEABLE:
                if (!s)
                        return 0;
                return on_http_writeable(s, wsi);

        case LWS_CALLBACK_HTTP_FILE_COMPLETION:
                return transaction_completed(d, wsi);

        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
                return wsd_conn_filter(d, wsi, (int) (intptr_t) in);

        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
                /* not at WSI_CREATE: lws sets the opaque user data after that */
                wsd_conn_attach(d, wsi);
                return 0;

        case LWS_CALLBACK_WSI_DESTROY:
                wsd_conn_destroy(d, wsi);
                return 0;

        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
                if (s && s->kind == WSD_SESSION_HTTP)
                        strbuf_done(&s->body);
                return 0;

        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}
