/* wsd-redis.c — cg-wsd's hiredis async connections, on the loop through hiredis's libev adapter.
 *
 * WSD_REDIS_POOL "commands" connections carry the clients' GETRANGEs (and one per published
 * sample); each request goes whole to the connection with the fewest values in flight, so its
 * replies come back in order on one socket, and Redis never holds every client's answers for
 * one socket. "subscription" holds the one SUBSCRIBE to <prefix>/account, shared by every
 * subscriber. Lost connections are
 * retried with a backoff of 100 ms doubling to 5 s; with no command connection up, requests are
 * answered "redis unavailable" at once. */
#include <errno.h>
#include <hiredis/adapters/libev.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "wsd.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_USEC (3 * 1000000ULL)
#define SEED_SLOTS 5

enum pending_kind { P_ACCOUNT, P_CONF, P_PUSH, P_SEED };

/* A request in flight on a commands connection: one command, or for a range one GETRANGE per
 * slot (replies come in order). Owned by hiredis's callbacks: freed when the last of its
 * `waiting` replies is in. Or, while every connection has its share in flight, waiting in
 * d->waiting (then owned by that list). s/q are cleared when the session goes away first. */
struct wsd_pending {
        lws_dll2_t wait;   /* in d->waiting */
        struct wsd *d;
        struct wsd_session *s;
        struct wsd_qent *q;
        enum pending_kind kind;
        int64_t start, end;
        unsigned waiting;  /* replies still to come */
        int64_t next;      /* the slot of the next reply (ranges) */
        const char *error; /* a range failed: the answer is this error (static string) */
        struct wsproto_account acc; /* P_ACCOUNT: the answer so far */
        uint64_t rejected[_WSPROTO_REJECT_MAX];
};

static struct ratelimit rl_redis = RATELIMIT_INIT(10 * USEC_PER_SEC, 5);
/* Bad values: a reader asking for a range full of them must not flood the log (1,398 lines in a
 * second, once); /metrics counts every one. */
static struct ratelimit rl_values = RATELIMIT_INIT(60 * USEC_PER_SEC, 5);

_printf_(1, 2) static void warn_value(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        unsigned suppressed = rl_values.suppressed;
        va_list ap;
        int k;

        if (!ratelimit_below(&rl_values))
                return;
        rl_values.suppressed = 0;
        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return;
        if (suppressed > 0)
                log_warning("%s (%u similar messages suppressed)", msg, suppressed);
        else
                log_warning("%s", msg);
}

static void redis_connect(struct wsd_redis *r);
static void dispatch(struct wsd *d);

/* ---- connections ---- */

static void detach(struct wsd_redis *r) {
        r->ac = NULL;
        r->connected = false;
        r->pending = 0;
}

static void reconnect_cb(lws_sorted_usec_list_t *sul) {
        struct wsd_redis *r = lws_container_of(sul, struct wsd_redis, sul_reconnect);
        if (!r->ac && !r->d->quit)
                redis_connect(r);
}

static void schedule(struct wsd_redis *r) {
        struct wsd *d = r->d;

        if (d->quit || r->ac || !lws_dll2_is_detached(&r->sul_reconnect.list))
                return; /* stopping, connected, or already scheduled */
        r->backoff_ms = r->backoff_ms ? MIN(r->backoff_ms * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
        lws_sul_schedule(d->ctx, 0, &r->sul_reconnect, reconnect_cb,
                         (lws_usec_t) r->backoff_ms * 1000);
}

/* Tears a connection down: every command in flight is called back with a NULL reply (and
 * answered "redis unavailable"), then a reconnection is scheduled. */
static void kill_connection(struct wsd_redis *r) {
        redisAsyncContext *ac = r->ac;

        if (!ac)
                return;
        detach(r);
        redisAsyncFree(ac);
        schedule(r);
        dispatch(r->d);
        wsd_update_status(r->d);
}

/* The socket is readable: what the adapter does (hiredis reads 16 KB and runs the callbacks of
 * the replies completed), after noting the progress: bytes arriving mean a big reply is slow,
 * not hung. Reading all that is there in one read() (FIONREAD) was tried and measured worse:
 * Redis's CPU per 60-slot answer went from 0.9-1.8 ms to 8 ms, and throughput fell 3x. */
static void on_read(struct ev_loop *loop, ev_io *w, int revents) {
        redisLibevEvents *e = w->data;
        struct wsd_redis *r = e->context->data;

        (void) loop, (void) revents;
        r->last_progress_usec = now_usec(CLOCK_MONOTONIC);
        redisAsyncHandleRead(e->context);
}

static void on_connect(const redisAsyncContext *ac, int status) {
        struct wsd_redis *r = ac->data;

        if (r->ac != ac)
                return;
        if (status != REDIS_OK) {
                if (ratelimit_below(&rl_redis))
                        log_warning("Redis %s connection to %s failed: %s", r->name,
                                    r->d->redis_where, ac->errstr);
                detach(r); /* hiredis frees ac after this callback */
                schedule(r);
                return;
        }
        r->connected = true;
        r->backoff_ms = 0;
        r->last_progress_usec = now_usec(CLOCK_MONOTONIC);
        log_info("Redis %s connection to %s is up", r->name, r->d->redis_where);
        if (r->on_connect)
                r->on_connect(r);
        dispatch(r->d);
        wsd_update_status(r->d);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
        struct wsd_redis *r = ac->data;

        if (r->ac && r->ac != ac)
                return;
        if (status != REDIS_OK && r->ac)
                log_warning("Redis %s connection lost: %s", r->name,
                            ac->errstr[0] ? ac->errstr : "closed");
        detach(r); /* hiredis frees ac after this callback */
        schedule(r);
        dispatch(r->d);
        wsd_update_status(r->d);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata) {
        redisReply *rep = reply;
        (void) privdata;
        if (rep && rep->type == REDIS_REPLY_ERROR)
                log_error("Redis refused the password of [redis] password: %s", rep->str);
        (void) ac;
}

static void redis_connect(struct wsd_redis *r) {
        struct wsd *d = r->d;
        const char *host = d->cfg->redis.socket ? d->cfg->redis.socket : d->cfg->redis.host;
        redisAsyncContext *ac;

        /* A path is a unix socket. A host name is resolved here, blocking: use an address (or
         * a name from /etc/hosts) where that matters. */
        if (host[0] == '/')
                ac = redisAsyncConnectUnix(host);
        else
                ac = redisAsyncConnect(host, (int) d->cfg->redis.port);
        if (!ac) {
                log_error("Out of memory connecting to Redis");
                schedule(r);
                return;
        }
        if (ac->err) {
                if (ratelimit_below(&rl_redis))
                        log_warning("Redis %s connection to %s failed: %s", r->name,
                                    d->redis_where, ac->errstr);
                redisAsyncFree(ac);
                schedule(r);
                return;
        }
        if (redisLibevAttach(d->loop, ac) != REDIS_OK || !ac->ev.data) {
                log_error("Failed to add the Redis socket to the loop");
                redisAsyncFree(ac);
                schedule(r);
                return;
        }
        ev_set_cb(&((redisLibevEvents *) ac->ev.data)->rev, on_read);
        r->ac = ac;
        r->connected = false;
        r->pending = 0;
        r->connect_start_usec = now_usec(CLOCK_MONOTONIC);
        ac->data = r;
        (void) redisAsyncSetDisconnectCallback(ac, on_disconnect);
        (void) redisAsyncSetConnectCallback(ac, on_connect); /* asks for POLLOUT */
        if (d->cfg->redis.password)
                (void) redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", d->cfg->redis.password);
}

/* ---- commands ---- */

static int send_command(struct wsd_redis *r, struct wsd_pending *p, int argc, const char **argv,
                        const size_t *lens);

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

static char *slot_key(const struct wsd *d, int64_t slot) {
        char *k = NULL;
        if (xasprintf(&k, "%s/account/%" PRId64, d->cfg->redis.prefix, slot) < 0)
                return NULL;
        return k;
}

static int send_getrange(struct wsd_redis *r, struct wsd_pending *p, const char *key) {
        char end[24];
        const char *argv[4] = { "GETRANGE", key, "0", end };
        size_t lens[4] = { 8, strlen(key), 1, 0 };

        lens[3] = (size_t) snprintf(end, sizeof end, "%u", r->d->cfg->wsd.max_value_size);
        return send_command(r, p, 4, argv, lens);
}

/* A range as one GETRANGE per slot, pipelined: unlike MGET, no value larger than the cap ever
 * crosses the socket (a 30 MB sample costs max_value_size + 1 bytes), and the answer is built
 * as the replies arrive. Returns the number of commands sent; p->waiting counts them. */
static int send_range(struct wsd_redis *r, struct wsd_pending *p, int64_t start, int64_t end) {
        struct wsd *d = r->d;
        int k = 0;

        p->next = start;
        for (int64_t slot = start; slot <= end; slot++) {
                _cleanup_free_ char *key = slot_key(d, slot);

                k = key ? send_getrange(r, p, key) : -ENOMEM;
                if (k < 0)
                        break;
                p->waiting++;
        }
        if (p->waiting == 0)
                return k < 0 ? k : -EINVAL;
        if (k < 0) /* the ones sent still call back: the answer becomes an error */
                p->error = k == -ENOMEM ? "out of memory" : "redis unavailable";
        return 0;
}

static int send_command(struct wsd_redis *r, struct wsd_pending *p, int argc, const char **argv,
                        const size_t *lens) {
        if (!r->connected || !r->ac)
                return -ENOTCONN;
        if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, lens) != REDIS_OK)
                return -EIO;
        if (r->pending++ == 0)
                r->last_progress_usec = now_usec(CLOCK_MONOTONIC);
        return 0;
}

static void fill_error(struct wsd_pending *p, const char *msg) {
        if (!p->q)
                return;
        p->d->stats.errors_total++;
        wsd_session_fill_error(p->s, p->q, msg);
}

static void cache_latest(struct wsd *d, int64_t slot, const char *v, size_t len) {
        char *c;

        if (slot < d->latest_slot)
                return;
        c = malloc(len + 1);
        if (!c)
                return;
        memcpy(c, v, len);
        c[len] = 0;
        free(d->latest);
        d->latest = c;
        d->latest_len = len;
        d->latest_slot = slot;
}

/* Single values are read with GETRANGE key 0 <max>: Redis sends at most max + 1 bytes, so a
 * huge value never crosses the socket (a missing key reads as ""). */
static bool getrange_value(redisReply *rep) {
        return rep->type == REDIS_REPLY_STRING && rep->len > 0;
}

static void reply_conf(struct wsd_pending *p, redisReply *rep) {
        struct wsd *d = p->d;
        enum wsproto_reject r;
        struct strbuf b;

        if (rep->type == REDIS_REPLY_NIL || (rep->type == REDIS_REPLY_STRING && rep->len == 0))
                return fill_error(p, "no conf in redis yet");
        if (!getrange_value(rep))
                return fill_error(p, "unexpected reply from redis");
        r = wsproto_value_check(rep->str, rep->len, WSPROTO_VALUE_CONF, d->cfg->wsd.max_value_size);
        if (r != WSPROTO_VALUE_OK) {
                d->stats.values_rejected[r]++;
                warn_value("Refusing to serve the conf in Redis (%s/arch_conf): %s", d->cfg->redis.prefix,
                           r == WSPROTO_REJECT_SIZE ? "too big" : wsproto_reject_name(r));
                return fill_error(p, "malformed conf in redis");
        }
        if (strbuf_init(&b, LWS_PRE, rep->len) < 0 ||
            strbuf_append(&b, rep->str, rep->len) < 0) {
                strbuf_done(&b);
                return fill_error(p, "out of memory");
        }
        wsd_session_fill(p->s, p->q, &b);
}

static void reply_push(struct wsd_pending *p, redisReply *rep) {
        struct wsd *d = p->d;
        enum wsproto_reject r = WSPROTO_VALUE_OK;
        struct strbuf b;
        struct wsd_msg *m;
        int k;

        if (!getrange_value(rep))
                return; /* expired already, or never set */
        /* checked (and kept checked) here, so that show_account of this slot will not again */
        (void) wsproto_vcache_check(&d->vcache, p->start, rep->str, rep->len,
                                    d->cfg->wsd.max_value_size);
        k = wsproto_push_answer(p->start, rep->str, rep->len, d->cfg->wsd.max_value_size, LWS_PRE,
                                &b, &r);
        if (k == -EINVAL) {
                d->stats.values_rejected[r]++;
                warn_value("Not pushing the malformed sample in Redis for slot %" PRId64 ": %s",
                           p->start, r == WSPROTO_REJECT_SIZE ? "too big" : wsproto_reject_name(r));
                return;
        }
        if (k < 0)
                return;
        cache_latest(d, p->start, rep->str, rep->len);
        m = wsd_msg_new(&b);
        if (!m)
                return;
        wsd_push_sample(d, m);
        wsd_msg_unref(m);
}

/* One slot of a range (replies arrive in slot order). A missing key reads as "" and a key of
 * another type as an error: both are a slot without a sample, as with MGET. */
static void range_part(struct wsd_pending *p, redisReply *rep) {
        int64_t slot = p->next++;
        bool value = rep && getrange_value(rep);

        if (!rep && !p->error)
                p->error = "redis unavailable";
        if (p->kind == P_SEED) {
                if (value && wsproto_vcache_check(&p->d->vcache, slot, rep->str, rep->len,
                                                  p->d->cfg->wsd.max_value_size) == WSPROTO_VALUE_OK)
                        cache_latest(p->d, slot, rep->str, rep->len);
                return;
        }
        if (value && p->q && !p->error)
                (void) wsproto_account_add(&p->acc, slot, rep->str, rep->len, p->rejected);
}

/* The last reply of a show_account range is in: the answer, or the error. */
static void range_done(struct wsd_pending *p) {
        struct wsd *d = p->d;
        uint64_t nrej = 0;
        struct strbuf b;
        int k;

        if (p->kind != P_ACCOUNT)
                return;
        for (int r = 0; r < _WSPROTO_REJECT_MAX; r++) {
                d->stats.values_rejected[r] += p->rejected[r];
                nrej += p->rejected[r];
        }
        if (nrej > 0)
                warn_value("Skipped %" PRIu64 " malformed samples in Redis between slots %" PRId64
                           " and %" PRId64 " (%" PRIu64 " too big, %" PRIu64 " not UTF-8, %" PRIu64
                           " not JSON, %" PRIu64 " not an object)",
                           nrej, p->start, p->end, p->rejected[WSPROTO_REJECT_SIZE],
                           p->rejected[WSPROTO_REJECT_UTF8], p->rejected[WSPROTO_REJECT_JSON],
                           p->rejected[WSPROTO_REJECT_SHAPE]);
        if (!p->q) {
                strbuf_done(&p->acc.buf);
                return;
        }
        if (p->error) {
                strbuf_done(&p->acc.buf);
                return fill_error(p, p->error);
        }
        k = wsproto_account_end(&p->acc, &b);
        if (k == -E2BIG) {
                _cleanup_free_ char *m = NULL;
                if (xasprintf(&m, "the answer would be over %u bytes ([wsd] max_answer_size): ask "
                                  "for fewer slots",
                              d->cfg->wsd.max_answer_size) < 0)
                        return fill_error(p, "out of memory");
                return fill_error(p, m);
        }
        if (k < 0)
                return fill_error(p, "out of memory");
        wsd_session_fill(p->s, p->q, &b);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
        struct wsd_pending *p = privdata;
        struct wsd_redis *r = ac->data;
        redisReply *rep = reply;

        if (r->ac == ac) {
                if (r->pending > 0)
                        r->pending--;
                r->last_progress_usec = now_usec(CLOCK_MONOTONIC);
        }
        if (p->kind == P_ACCOUNT || p->kind == P_SEED) {
                range_part(p, rep);
                if (--p->waiting > 0)
                        return;
                range_done(p);
        } else if (!rep)
                fill_error(p, "redis unavailable");
        else if (rep->type == REDIS_REPLY_ERROR) {
                _cleanup_free_ char *m = NULL;
                if (xasprintf(&m, "redis: %.200s", rep->str) >= 0)
                        fill_error(p, m);
                else
                        fill_error(p, "redis error");
        } else
                switch (p->kind) {
                case P_CONF:
                        if (p->q)
                                reply_conf(p, rep);
                        break;
                case P_PUSH:
                        reply_push(p, rep);
                        break;
                default:
                        break;
                }
        /* p->q is not touched here: every path above with a q filled it, which cleared
         * q->pending, and an answer filled may already be written and its entry freed
         * (write_now) */
        free(p);
        if (r->d->waiting.count > 0)
                dispatch(r->d);
}

void wsd_pending_orphan(struct wsd_pending *p) {
        p->s = NULL;
        p->q = NULL;
}

bool wsd_redis_up(const struct wsd *d) {
        for (size_t i = 0; i < WSD_REDIS_POOL; i++)
                if (d->rcmd[i].connected)
                        return true;
        return false;
}

/* The command connection for a request of `values` values (one command each), or NULL when
 * every one has its share in flight (*ret_any: some connection is up at all):
 * - one that already has commands waiting for this loop turn's write, while it has at most
 *   WSD_REDIS_BATCH values in flight: many small requests share one write and one Redis read;
 * - else the one with the fewest values in flight, if that leaves it at most WSD_REDIS_INFLIGHT
 *   (an idle one takes any request). Redis's CPU per value rises steeply with the replies queued
 *   for one client: 16 readers of 60-slot ranges over 4 connections (4 MB queued on each) cost
 *   Redis 3.5 ms per range, against 0.7 ms with about one range per connection, as
 *   redis-benchmark's MGET has. So a request waits in cg-wsd rather than in Redis's buffers.
 * `bounded` false (pushes, a second's one value): the least busy connection regardless. */
static struct wsd_redis *pick(struct wsd *d, size_t values, bool bounded, bool *ret_any) {
        struct wsd_redis *best = NULL;

        *ret_any = false;
        for (size_t i = 0; i < WSD_REDIS_POOL; i++) {
                struct wsd_redis *r = &d->rcmd[i];
                redisLibevEvents *e = r->ac ? r->ac->ev.data : NULL;

                if (!r->connected || !r->ac)
                        continue;
                *ret_any = true;
                if (e && e->writing && r->pending + values <= WSD_REDIS_BATCH)
                        return r;
                if (!best || r->pending < best->pending)
                        best = r;
        }
        if (best && bounded && best->pending > 0 && best->pending + values > WSD_REDIS_INFLIGHT)
                return NULL;
        return best;
}

static size_t request_values(const struct wsd_pending *p) {
        return p->kind == P_ACCOUNT ? (size_t) (p->end - p->start + 1) : 1;
}

/* A request that will not reach Redis: its answer is the error, then it is freed. */
static void request_failed(struct wsd_pending *p, int k) {
        if (p->q) {
                p->q->pending = NULL;
                p->d->stats.errors_total++;
                wsd_session_fill_error(p->s, p->q,
                                       k == -ENOMEM ? "out of memory" : "redis unavailable");
        }
        strbuf_done(&p->acc.buf);
        free(p);
}

static void request_send(struct wsd_redis *rc, struct wsd_pending *p) {
        _cleanup_free_ char *key = NULL;
        int k;

        if (p->kind == P_ACCOUNT)
                k = send_range(rc, p, p->start, p->end);
        else {
                k = xasprintf(&key, "%s/arch_conf", p->d->cfg->redis.prefix);
                if (k >= 0)
                        k = send_getrange(rc, p, key);
        }
        if (k < 0)
                request_failed(p, k);
}

/* The waiting requests, in order, as connections have room; all of them answered "redis
 * unavailable" once no connection is up. */
static void dispatch(struct wsd *d) {
        struct lws_dll2 *h;

        while ((h = lws_dll2_get_head(&d->waiting))) {
                struct wsd_pending *p = lws_container_of(h, struct wsd_pending, wait);
                struct wsd_redis *rc;
                bool any = false;

                if (!p->q) { /* its session went away while it waited */
                        lws_dll2_remove(h);
                        strbuf_done(&p->acc.buf);
                        free(p);
                        continue;
                }
                rc = d->quit ? NULL : pick(d, request_values(p), true, &any);
                if (!rc && any && !d->quit)
                        return;
                lws_dll2_remove(h);
                if (rc)
                        request_send(rc, p);
                else
                        request_failed(p, -ENOTCONN);
        }
}

void wsd_redis_request(struct wsd_session *s, struct wsd_qent *q, const struct wsproto_request *req) {
        struct wsd *d = s->d;
        struct wsd_redis *rc;
        struct wsd_pending *p;
        bool any = false;

        p = calloc(1, sizeof *p);
        if (!p) {
                d->stats.errors_total++;
                wsd_session_fill_error(s, q, "out of memory");
                return;
        }
        *p = (struct wsd_pending){ .d = d, .s = s, .q = q, .start = req->start_slot,
                                   .end = req->end_slot,
                                   .kind = req->cmd == WSPROTO_SHOW_ACCOUNT ? P_ACCOUNT : P_CONF };
        q->pending = p;
        if (p->kind == P_ACCOUNT) {
                int k = wsproto_account_begin(&p->acc, d->cfg->wsd.max_value_size,
                                              d->cfg->wsd.max_answer_size, LWS_PRE);
                if (k < 0)
                        return request_failed(p, k);
                p->acc.vcache = &d->vcache;
                p->acc.slots_hint = request_values(p);
        }
        /* behind the ones already waiting, so that a big request is not starved by small ones */
        rc = d->waiting.count > 0 ? NULL : pick(d, request_values(p), true, &any);
        if (rc)
                request_send(rc, p);
        else if (d->waiting.count > 0 || any)
                lws_dll2_add_tail(&p->wait, &d->waiting);
        else
                request_failed(p, -ENOTCONN); /* no connection up: at once, not after a wait */
}

/* ---- the subscription ---- */

static void fetch_push(struct wsd *d, int64_t slot) {
        _cleanup_free_ char *key = slot_key(d, slot);
        bool any;
        struct wsd_redis *rc = pick(d, 1, false, &any);
        struct wsd_pending *p;

        if (!key || !rc)
                return;
        p = calloc(1, sizeof *p);
        if (!p)
                return;
        *p = (struct wsd_pending){ .d = d, .kind = P_PUSH, .start = slot, .end = slot };
        if (send_getrange(rc, p, key) < 0)
                free(p);
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata) {
        struct wsd_redis *r = ac->data;
        struct wsd *d = r->d;
        redisReply *rep = reply;
        int64_t slot;

        (void) privdata;
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
            rep->element[0]->type != REDIS_REPLY_STRING)
                return;
        if (strcmp(rep->element[0]->str, "message") != 0 ||
            rep->element[2]->type != REDIS_REPLY_STRING)
                return; /* the subscribe confirmation */
        if (wsproto_slot_parse(rep->element[2]->str, rep->element[2]->len, &slot) < 0) {
                if (ratelimit_below(&rl_redis))
                        log_warning("Ignoring a malformed slot number on %s", d->channel);
                return;
        }
        if (slot <= d->last_push_slot)
                return; /* a replay or a late duplicate */
        d->last_push_slot = slot;
        fetch_push(d, slot);
}

static void sub_on_connect(struct wsd_redis *r) {
        const char *argv[2] = { "SUBSCRIBE", r->d->channel };
        size_t lens[2] = { 9, strlen(r->d->channel) };

        if (redisAsyncCommandArgv(r->ac, on_message, NULL, 2, argv, lens) != REDIS_OK)
                log_error("Failed to subscribe to %s", r->d->channel);
}

/* The commands connection is (back): seed /metrics with the latest sample there is. */
static void cmd_on_connect(struct wsd_redis *r) {
        struct wsd_pending *p = calloc(1, sizeof *p);
        int64_t now = wsd_now_slot();

        if (!p)
                return;
        *p = (struct wsd_pending){ .d = r->d, .kind = P_SEED, .start = now - SEED_SLOTS + 1,
                                   .end = now };
        if (send_range(r, p, p->start, p->end) < 0)
                free(p);
}

/* Before the loop waits: the commands queued on each connection go out now, in one write per
 * connection for everything this loop turn queued. hiredis would wait for POLLOUT instead: an
 * epoll_ctl() to ask for it, a loop turn, another epoll_ctl() to drop it, per write. Started
 * and stopped within one turn, its write watcher never reaches epoll at all. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents) {
        struct wsd *d = lws_container_of(w, struct wsd, prepare);

        (void) loop, (void) revents;
        for (size_t i = 0; i < WSD_REDIS_POOL; i++) {
                struct wsd_redis *r = &d->rcmd[i];
                redisLibevEvents *e = r->ac ? r->ac->ev.data : NULL;

                if (r->connected && e && e->writing)
                        redisAsyncHandleWrite(r->ac); /* may disconnect: on_disconnect() */
        }
}

void wsd_redis_start(struct wsd *d) {
        static const char *const names[] = {
                "commands #1",  "commands #2",  "commands #3",  "commands #4",
                "commands #5",  "commands #6",  "commands #7",  "commands #8",
                "commands #9",  "commands #10", "commands #11", "commands #12",
                "commands #13", "commands #14", "commands #15", "commands #16",
        };

        _Static_assert(WSD_REDIS_POOL <= 16, "name the connections");
        for (size_t i = 0; i < WSD_REDIS_POOL; i++)
                d->rcmd[i] = (struct wsd_redis){ .d = d, .name = names[i],
                                                 .on_connect = cmd_on_connect };
        d->rsub = (struct wsd_redis){ .d = d, .name = "subscription",
                                      .on_connect = sub_on_connect };
        for (size_t i = 0; i < WSD_REDIS_POOL; i++)
                redis_connect(&d->rcmd[i]);
        redis_connect(&d->rsub);
        ev_prepare_init(&d->prepare, on_prepare);
        ev_prepare_start(d->loop, &d->prepare);
}

void wsd_redis_stop(struct wsd *d) {
        ev_prepare_stop(d->loop, &d->prepare);
        dispatch(d); /* d->quit: the waiting requests are answered and freed */
        for (size_t i = 0; i < WSD_REDIS_POOL; i++) {
                lws_sul_cancel(&d->rcmd[i].sul_reconnect);
                kill_connection(&d->rcmd[i]);
        }
        lws_sul_cancel(&d->rsub.sul_reconnect);
        kill_connection(&d->rsub);
}

/* Once a second: connections that hang (connect or replies) are torn down and retried. A
 * command connection without replies for 5 s means Redis itself hangs: the other command
 * connections go too (their next request would wait 5 s as well), so that requests are answered
 * "redis unavailable" at once until a connection is back. */
void wsd_redis_tick(struct wsd *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        bool hung = false;

        for (size_t i = 0; i <= WSD_REDIS_POOL; i++) {
                struct wsd_redis *r = i < WSD_REDIS_POOL ? &d->rcmd[i] : &d->rsub;
                if (!r->ac)
                        continue;
                if (!r->connected && now - r->connect_start_usec > CONNECT_TIMEOUT_USEC) {
                        log_warning("Redis %s connection: no answer to connect for 3 s",
                                    r->name);
                        kill_connection(r);
                } else if (r->connected && r->pending > 0 &&
                           now - r->last_progress_usec > WSD_REDIS_TIMEOUT_USEC) {
                        log_warning("Redis %s connection: no reply for 5 s to %u commands, "
                                    "reconnecting",
                                    r->name, r->pending);
                        kill_connection(r);
                        hung = hung || r != &d->rsub;
                }
        }
        for (size_t i = 0; hung && i < WSD_REDIS_POOL; i++)
                kill_connection(&d->rcmd[i]);
}
