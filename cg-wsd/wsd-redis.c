/* wsd-redis.c — cg-wsd's two hiredis async connections, driven by the lws loop.
 *
 * "commands" carries GET/MGET for the clients (and one GET per published sample); "subscription"
 * holds the SUBSCRIBE to <prefix>/account, shared by every subscriber. Each socket is adopted
 * into lws as a raw-file wsi over a dup() of hiredis's fd: hiredis owns and closes its fd, lws
 * owns and closes the dup, so neither can close the other's descriptor (and an fd number reused
 * after a close can never be confused with the old one). Lost connections are retried with a
 * backoff of 100 ms doubling to 5 s; meanwhile requests are answered "redis unavailable" at once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* A command in flight on the commands connection. Owned by hiredis's callback (freed there);
 * s/q are cleared when the session goes away first. */
struct wsd_pending {
        struct wsd *d;
        struct wsd_session *s;
        struct wsd_qent *q;
        enum pending_kind kind;
        int64_t start, end;
};

static struct ratelimit rl_redis = RATELIMIT_INIT(10 * USEC_PER_SEC, 5);

static void redis_connect(struct wsd_redis *r);

/* ---- glue between hiredis's event hooks and the lws wsi ---- */

static void detach(struct wsd_redis *r) {
        r->ac = NULL;
        r->connected = false;
        r->pending = 0;
        if (r->wsi) {
                lws_set_opaque_user_data(r->wsi, NULL);
                if (r->in_io)
                        r->close_wsi = true; /* the wsi's own callback returns -1 */
                else
                        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                r->wsi = NULL;
        }
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
        wsd_update_status(r->d);
}

static void ev_add_write(void *privdata) {
        struct wsd_redis *r = privdata;
        if (r->wsi)
                lws_callback_on_writable(r->wsi);
}

/* Reading is always on (lws polls raw-file wsis for POLLIN), writes are one-shot requests. */
static void ev_noop(void *privdata) {
        (void) privdata;
}

static void ev_cleanup(void *privdata) {
        detach(privdata);
}

static void on_connect(const redisAsyncContext *ac, int status) {
        struct wsd_redis *r = ac->data;

        if (r->ac != ac)
                return;
        if (status != REDIS_OK) {
                if (ratelimit_below(&rl_redis))
                        log_warning("Redis %s connection to %s:%u failed: %s", r->name,
                                    r->d->cfg->redis.host, r->d->cfg->redis.port, ac->errstr);
                detach(r); /* hiredis frees ac after this callback */
                schedule(r);
                return;
        }
        r->connected = true;
        r->backoff_ms = 0;
        r->last_progress_usec = now_usec(CLOCK_MONOTONIC);
        log_info("Redis %s connection to %s:%u is up", r->name, r->d->cfg->redis.host,
                 r->d->cfg->redis.port);
        if (r->on_connect)
                r->on_connect(r);
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
        const char *host = d->cfg->redis.host;
        redisAsyncContext *ac;
        lws_adopt_desc_t info = {};
        int fd;

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
                        log_warning("Redis %s connection to %s:%u failed: %s", r->name, host,
                                    d->cfg->redis.port, ac->errstr);
                redisAsyncFree(ac);
                schedule(r);
                return;
        }
        fd = fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                log_error_errno(-errno, "Failed to dup the Redis socket: %m");
                redisAsyncFree(ac);
                schedule(r);
                return;
        }
        info.vh = lws_get_vhost_by_name(d->ctx, "internal");
        info.type = LWS_ADOPT_RAW_FILE_DESC;
        info.fd.filefd = fd;
        info.vh_prot_name = "cgarch-redis";
        info.opaque = r;
        r->wsi = lws_adopt_descriptor_vhost_via_info(&info); /* closes fd on failure */
        if (!r->wsi) {
                log_error("Failed to add the Redis socket to the loop");
                redisAsyncFree(ac);
                schedule(r);
                return;
        }
        r->ac = ac;
        r->connected = false;
        r->pending = 0;
        r->connect_start_usec = now_usec(CLOCK_MONOTONIC);
        ac->data = r;
        ac->ev.data = r;
        ac->ev.addRead = ev_noop;
        ac->ev.delRead = ev_noop;
        ac->ev.addWrite = ev_add_write;
        ac->ev.delWrite = ev_noop;
        ac->ev.cleanup = ev_cleanup;
        (void) redisAsyncSetDisconnectCallback(ac, on_disconnect);
        (void) redisAsyncSetConnectCallback(ac, on_connect); /* asks for POLLOUT */
        if (d->cfg->redis.password)
                (void) redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", d->cfg->redis.password);
}

int wsd_redis_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len) {
        struct wsd_redis *r = lws_get_opaque_user_data(wsi);

        (void) user, (void) in, (void) len;
        switch (reason) {
        case LWS_CALLBACK_RAW_RX_FILE:
        case LWS_CALLBACK_RAW_WRITEABLE_FILE:
                if (!r || r->wsi != wsi || !r->ac)
                        return -1;
                r->in_io = true;
                if (reason == LWS_CALLBACK_RAW_RX_FILE)
                        redisAsyncHandleRead(r->ac);
                else
                        redisAsyncHandleWrite(r->ac);
                r->in_io = false;
                if (r->close_wsi) {
                        r->close_wsi = false;
                        return -1;
                }
                return 0;
        case LWS_CALLBACK_RAW_CLOSE_FILE:
                /* lws closes it under us (hangup or error on the socket) */
                if (r && r->wsi == wsi) {
                        lws_set_opaque_user_data(wsi, NULL);
                        r->wsi = NULL;
                        if (r->ac)
                                kill_connection(r);
                }
                return 0;
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
                return 1; /* never a websocket protocol */
        default:
                return 0;
        }
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

/* MGET of [start, end]: one buffer for all the keys. */
static int send_mget(struct wsd_redis *r, struct wsd_pending *p, int64_t start, int64_t end) {
        struct wsd *d = r->d;
        size_t n = (size_t) (end - start + 1), plen = strlen(d->cfg->redis.prefix) + 32;
        _cleanup_free_ const char **argv = calloc(n + 1, sizeof(char *));
        _cleanup_free_ size_t *lens = calloc(n + 1, sizeof(size_t));
        _cleanup_free_ char *keys = malloc(n * plen);
        char *k = keys;

        if (!argv || !lens || !keys)
                return -ENOMEM;
        argv[0] = "MGET";
        lens[0] = 4;
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(k, plen, "%s/account/%" PRId64, d->cfg->redis.prefix,
                                 start + (int64_t) i);
                argv[i + 1] = k;
                lens[i + 1] = (size_t) w;
                k += plen;
        }
        return send_command(r, p, (int) n + 1, argv, lens);
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

static void reply_account(struct wsd_pending *p, redisReply *rep) {
        size_t n = (size_t) (p->end - p->start + 1), skipped = 0;
        _cleanup_free_ const char **values = NULL;
        _cleanup_free_ size_t *lens = NULL;
        struct strbuf b;

        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
                return fill_error(p, "unexpected reply from redis");
        values = calloc(n, sizeof(char *));
        lens = calloc(n, sizeof(size_t));
        if (!values || !lens)
                return fill_error(p, "out of memory");
        for (size_t i = 0; i < n; i++)
                if (rep->element[i]->type == REDIS_REPLY_STRING) {
                        values[i] = rep->element[i]->str;
                        lens[i] = rep->element[i]->len;
                }
        if (wsproto_account_answer(p->start, p->end, values, lens, n, LWS_PRE, &b, &skipped) < 0)
                return fill_error(p, "out of memory");
        if (skipped > 0)
                log_warning("Skipped %zu malformed samples in Redis between slots %" PRId64
                            " and %" PRId64,
                            skipped, p->start, p->end);
        wsd_session_fill(p->s, p->q, &b);
}

static void reply_conf(struct wsd_pending *p, redisReply *rep) {
        struct strbuf b;

        if (rep->type == REDIS_REPLY_NIL)
                return fill_error(p, "no conf in redis yet");
        if (rep->type != REDIS_REPLY_STRING || !wsproto_sample_plausible(rep->str, rep->len))
                return fill_error(p, "malformed conf in redis");
        if (strbuf_init(&b, LWS_PRE, rep->len) < 0 ||
            strbuf_append(&b, rep->str, rep->len) < 0) {
                strbuf_done(&b);
                return fill_error(p, "out of memory");
        }
        wsd_session_fill(p->s, p->q, &b);
}

static void reply_push(struct wsd_pending *p, redisReply *rep) {
        struct wsd *d = p->d;
        struct strbuf b;
        struct wsd_msg *m;

        if (rep->type != REDIS_REPLY_STRING)
                return; /* expired already, or never set */
        if (wsproto_push_answer(p->start, rep->str, rep->len, LWS_PRE, &b) < 0) {
                log_warning("Malformed sample in Redis for slot %" PRId64, p->start);
                return;
        }
        cache_latest(d, p->start, rep->str, rep->len);
        m = wsd_msg_new(&b);
        if (!m)
                return;
        wsd_push_sample(d, m);
        wsd_msg_unref(m);
}

static void reply_seed(struct wsd_pending *p, redisReply *rep) {
        if (rep->type != REDIS_REPLY_ARRAY)
                return;
        for (size_t i = rep->elements; i > 0; i--) {
                redisReply *e = rep->element[i - 1];
                if (e->type == REDIS_REPLY_STRING && wsproto_sample_plausible(e->str, e->len)) {
                        cache_latest(p->d, p->start + (int64_t) i - 1, e->str, e->len);
                        return;
                }
        }
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
        if (!rep)
                fill_error(p, "redis unavailable");
        else if (rep->type == REDIS_REPLY_ERROR) {
                _cleanup_free_ char *m = NULL;
                if (xasprintf(&m, "redis: %.200s", rep->str) >= 0)
                        fill_error(p, m);
                else
                        fill_error(p, "redis error");
        } else
                switch (p->kind) {
                case P_ACCOUNT:
                        if (p->q)
                                reply_account(p, rep);
                        break;
                case P_CONF:
                        if (p->q)
                                reply_conf(p, rep);
                        break;
                case P_PUSH:
                        reply_push(p, rep);
                        break;
                case P_SEED:
                        reply_seed(p, rep);
                        break;
                }
        if (p->q)
                p->q->pending = NULL;
        free(p);
}

void wsd_pending_orphan(struct wsd_pending *p) {
        p->s = NULL;
        p->q = NULL;
}

bool wsd_redis_up(const struct wsd *d) {
        return d->rcmd.connected;
}

void wsd_redis_request(struct wsd_session *s, struct wsd_qent *q, const struct wsproto_request *req) {
        struct wsd *d = s->d;
        struct wsd_pending *p;
        int k;

        if (!wsd_redis_up(d)) {
                d->stats.errors_total++;
                wsd_session_fill_error(s, q, "redis unavailable");
                return;
        }
        p = calloc(1, sizeof *p);
        if (!p) {
                d->stats.errors_total++;
                wsd_session_fill_error(s, q, "out of memory");
                return;
        }
        *p = (struct wsd_pending){ .d = d, .s = s, .q = q, .start = req->start_slot,
                                   .end = req->end_slot };
        q->pending = p;
        if (req->cmd == WSPROTO_SHOW_ACCOUNT) {
                p->kind = P_ACCOUNT;
                k = send_mget(&d->rcmd, p, req->start_slot, req->end_slot);
        } else {
                _cleanup_free_ char *key = NULL;
                const char *argv[2] = { "GET", NULL };
                size_t lens[2] = { 3, 0 };

                p->kind = P_CONF;
                k = xasprintf(&key, "%s/arch_conf", d->cfg->redis.prefix);
                if (k >= 0) {
                        argv[1] = key;
                        lens[1] = strlen(key);
                        k = send_command(&d->rcmd, p, 2, argv, lens);
                }
        }
        if (k < 0) {
                q->pending = NULL;
                free(p);
                d->stats.errors_total++;
                wsd_session_fill_error(s, q, k == -ENOMEM ? "out of memory" : "redis unavailable");
        }
}

/* ---- the subscription ---- */

static void fetch_push(struct wsd *d, int64_t slot) {
        _cleanup_free_ char *key = slot_key(d, slot);
        struct wsd_pending *p;
        const char *argv[2] = { "GET", key };
        size_t lens[2] = { 3, key ? strlen(key) : 0 };

        if (!key || !wsd_redis_up(d))
                return;
        p = calloc(1, sizeof *p);
        if (!p)
                return;
        *p = (struct wsd_pending){ .d = d, .kind = P_PUSH, .start = slot, .end = slot };
        if (send_command(&d->rcmd, p, 2, argv, lens) < 0)
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
        if (send_mget(r, p, p->start, p->end) < 0)
                free(p);
}

void wsd_redis_start(struct wsd *d) {
        d->rcmd = (struct wsd_redis){ .d = d, .name = "commands", .on_connect = cmd_on_connect };
        d->rsub = (struct wsd_redis){ .d = d, .name = "subscription",
                                      .on_connect = sub_on_connect };
        redis_connect(&d->rcmd);
        redis_connect(&d->rsub);
}

void wsd_redis_stop(struct wsd *d) {
        lws_sul_cancel(&d->rcmd.sul_reconnect);
        lws_sul_cancel(&d->rsub.sul_reconnect);
        kill_connection(&d->rcmd);
        kill_connection(&d->rsub);
}

/* Once a second: connections that hang (connect or replies) are torn down and retried. */
void wsd_redis_tick(struct wsd *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        struct wsd_redis *rs[] = { &d->rcmd, &d->rsub };

        for (size_t i = 0; i < ELEMENTSOF(rs); i++) {
                struct wsd_redis *r = rs[i];
                if (!r->ac)
                        continue;
                if (!r->connected && now - r->connect_start_usec > CONNECT_TIMEOUT_USEC) {
                        log_warning("Redis %s connection: no answer to connect for 3 s",
                                    r->name);
                        kill_connection(r);
                } else if (r->connected && r->pending > 0 &&
                           now - r->last_progress_usec > WSD_REDIS_TIMEOUT_USEC) {
                        log_warning("Redis %s connection: no reply for 5 s, reconnecting",
                                    r->name);
                        kill_connection(r);
                }
        }
}
