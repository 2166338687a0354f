/* wsd.h — cg-wsd's private model: the server, its sessions and its Redis connections.
 *
 * One thread, one loop: a libev loop on epoll (wsd.c). lws runs on it through Debian's
 * libwebsockets-evlib-ev plugin (LWS_SERVER_OPTION_LIBEV + foreign_loops), hiredis through its
 * libev adapter, and the signalfd is an ev_io. lws's own default loop would poll() every
 * connection on each wake-up, so 10,000 idle websockets would tax every request; on epoll a
 * wake-up costs the same whatever the number of idle connections. Timers are lws_sul timers
 * (lws drives them from an ev_timer). Nothing ever blocks. */
#pragma once

#include <ev.h>
#include <hiredis/async.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "ini.h"
#include "wsproto.h"

#define WSD_QUEUE_MAX_BYTES (1024 * 1024) /* queued output above which pushes are dropped... */
#define WSD_QUEUE_MAX_ENTRIES 64          /* ...and reading the client's requests pauses */
#define WSD_MAX_DROPS_IN_ROW 30           /* consecutive dropped pushes before closing (1008) */
#define WSD_WRITE_CHUNK (64 * 1024)       /* answers go out in frames of this size */
/* A websocket silent for WSD_PING_SEC is pinged; silent for WSD_HANGUP_SEC it is closed. The
 * tests shorten both with CGARCH_WSD_PING_SEC=N (hangup at 2.5 N). */
#define WSD_PING_SEC 30
#define WSD_HANGUP_SEC 75
#define WSD_REDIS_TIMEOUT_USEC (5 * 1000000ULL) /* no reply for this long: connection is dead */
/* Connections that are not websockets yet (wsd-conn.c) */
#define WSD_MAX_PENDING 256            /* at once, all sources (less if RLIMIT_NOFILE is small) */
#define WSD_MAX_PENDING_PER_SOURCE 32  /* at once, from one address */
#define WSD_HANDSHAKE_SEC 5            /* to send complete request headers */
#define WSD_PENDING_MAX_SEC 60         /* a plain HTTP connection's whole life */
#define WSD_ACCEPT_PAUSE_MSEC 250      /* no accepts after accept() failed with EMFILE */
#define WSD_PEER_BUCKETS 256
#define WSD_MAX_FILE (8 * 1024 * 1024)  /* bytes of one static file from www_dir */
/* Redis command connections: a request's replies all come back on one of them, so with one
 * connection Redis buffers every client's answers for that one socket (16 MB for 16 readers of
 * 60 slots) and writes it 64 KB per event-loop turn. A few connections spread that. */
#define WSD_REDIS_POOL 8
#define WSD_REDIS_BATCH 32    /* values in flight up to which small requests share a connection */
#define WSD_REDIS_INFLIGHT 64 /* values in flight on one connection, above which requests wait
                               * (an idle connection takes a bigger range whole) */
#define WSD_VCACHE_MAX_BYTES (16 * 1024 * 1024) /* checked sample values kept (wsproto_vcache) */
#define WSD_QUIET_BYTES (1024 * 1024) /* answers built in a second below which the heap is trimmed */

/* A message to send: refcounted so one pushed sample is shared by every subscriber. */
struct wsd_msg {
        unsigned refs;
        struct strbuf buf; /* headroom LWS_PRE */
};
struct wsd_msg *wsd_msg_new(struct strbuf *buf); /* takes buf's memory; NULL on OOM */
struct wsd_msg *wsd_msg_ref(struct wsd_msg *m);
struct wsd_msg *wsd_msg_unref(struct wsd_msg *m);

struct wsd_pending;

/* One entry of a session's output queue. Answers keep the order of the requests: an entry
 * whose answer is still in Redis (msg == NULL) holds back the ones behind it. */
struct wsd_qent {
        struct wsd_qent *next;
        struct wsd_msg *msg;         /* owned reference; NULL while pending */
        struct wsd_pending *pending; /* the Redis request filling this entry, or NULL */
        size_t off;                  /* bytes of msg already written */
        size_t slots;                /* show_account range still in Redis (for the rx bound) */
};

enum wsd_session_kind { WSD_SESSION_NONE, WSD_SESSION_HTTP, WSD_SESSION_WS };

/* lws's per-connection user data (zeroed by lws). */
struct wsd_session {
        enum wsd_session_kind kind;
        struct wsd *d;
        struct lws *wsi;
        /* websocket sessions only: in d->live, or in d->pinged once pinged; both in the order
         * of seen_usec, so the 1 s tick looks only at the ones due (wsd_session_tick) */
        lws_dll2_t live;
        lws_dll2_t sub;     /* in d->subscribers while subscribed */
        uint64_t seen_usec; /* CLOCK_MONOTONIC of the client's last frame (a pong counts) */
        bool ping_due;
        /* output */
        struct wsd_qent *q_head, *q_tail;
        size_t q_bytes, q_len, q_slots;
        unsigned drops_in_row;
        bool subscribed;
        bool rx_paused;
        bool closing; /* a close frame is on its way: input is ignored */
        /* input: one message being reassembled */
        struct strbuf rx;
        size_t rx_len;
        bool rx_binary;
        /* http */
        struct strbuf body;
        bool body_sent;
        bool file; /* body is a static file: its headers (CSP, no-cache) */
};

/* A source address with connections pending (wsd-conn.c). */
struct wsd_peer {
        struct wsd_peer *next;
        unsigned char addr[16]; /* IPv4 mapped into IPv6 */
        unsigned pending;
};

/* An accepted connection, from accept to close: the wsi's opaque user data (public vhost). */
struct wsd_conn {
        struct wsd_conn *prev, *next; /* d->pending_head, while pending */
        struct wsd_peer *peer;        /* while pending */
        struct lws *wsi;
        uint64_t born_usec;           /* CLOCK_MONOTONIC */
        uint64_t deadline_usec;       /* complete request headers by then; 0: not waiting */
        bool pending;                 /* not a websocket (yet) */
        bool killed;
};

/* What RLIMIT_NOFILE allows (wsd_conn_budget). */
struct wsd_fd_budget {
        unsigned long long soft_before; /* the soft limit found at start */
        unsigned soft;          /* after raising it to the hard limit */
        unsigned max_clients;   /* websockets: the configured number, capped to what fits */
        unsigned clients_fit;   /* the cap */
        unsigned max_pending;
        unsigned fd_limit;      /* lws's fd_limit_per_thread */
};

/* One hiredis async connection on the loop (hiredis's libev adapter). */
struct wsd_redis {
        struct wsd *d;
        const char *name; /* "commands" / "subscription", for logs */
        redisAsyncContext *ac;
        bool connected;
        unsigned backoff_ms;
        unsigned pending;          /* commands in flight */
        uint64_t last_progress_usec;
        uint64_t connect_start_usec;
        lws_sorted_usec_list_t sul_reconnect;
        void (*on_connect)(struct wsd_redis *r);
};

struct wsd {
        struct cfg *cfg;
        char *cfg_path;
        struct ev_loop *loop;
        struct lws_context *ctx;
        struct lws_vhost *vhost;
        int signal_fd;
        ev_io signal_io;
        ev_check check;  /* after each loop turn: accept() failures */
        ev_prepare prepare; /* before the loop waits: commands queued for Redis are written */
        bool quit;
        int exit_code;

        struct wsd_redis rcmd[WSD_REDIS_POOL], rsub;
        lws_dll2_owner_t waiting; /* requests for which no connection had room (wsd-redis.c) */
        char *redis_where;  /* "host:port" or the unix socket's path, for logs */
        char *channel;      /* <prefix>/account */
        int64_t last_push_slot;
        struct wsproto_vcache vcache; /* sample values already checked, by slot */
        uint64_t answer_bytes, answer_bytes_at_tick; /* of answers built from Redis replies */
        char *latest;       /* the latest sample seen (owned), for /metrics */
        size_t latest_len;
        int64_t latest_slot;

        lws_dll2_owner_t live, pinged; /* websocket sessions (wsd_session.live) */
        lws_dll2_owner_t subscribers;  /* wsd_session.sub */
        uint64_t ping_usec, hangup_usec;
        /* admission (wsd-conn.c) */
        struct wsd_fd_budget budget;
        struct wsd_peer *peers[WSD_PEER_BUCKETS];
        struct wsd_conn *pending_head;
        unsigned n_pending, max_pending;
        struct wsd_conn *accepting; /* between the accept filter and the new wsi */
        struct lws *listen_wsi;     /* learnt from the accept filter */
        bool accept_failed;         /* lws logged a failed accept(): pause */
        bool accept_paused;
        lws_sorted_usec_list_t sul_accept;
        struct wsproto_stats stats;

        lws_sorted_usec_list_t sul_tick; /* 1 s housekeeping: Redis timeouts, watchdog */
        uint64_t watchdog_usec;
        uint64_t last_watchdog_usec;
};

/* wsd.c */
int wsd_new(const char *cfg_path, struct wsd **ret);
struct wsd *wsd_free(struct wsd *d);
DEFINE_CLEANUP_FUNC(struct wsd, wsd_free)
/* libwebsockets' loop, until SIGTERM/SIGINT; the caller sends READY=1 and STOPPING=1. */
int wsd_run(struct wsd *d);
/* --check: loads the config and prints a summary. */
int wsd_check(const char *cfg_path);
void wsd_update_status(struct wsd *d);

/* wsd-session.c: the lws protocol callback (HTTP and websocket) */
int wsd_session_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len);
/* Queues a message at the end of s's queue (takes a reference). */
int wsd_session_enqueue(struct wsd_session *s, struct wsd_msg *m);
/* Fills pending entry q of session s with its answer (takes buf's memory) and sends it when
 * its turn comes. */
void wsd_session_fill(struct wsd_session *s, struct wsd_qent *q, struct strbuf *buf);
void wsd_session_fill_error(struct wsd_session *s, struct wsd_qent *q, const char *msg);
/* Once a second: pings the websockets silent for WSD_PING_SEC, closes those silent for
 * WSD_HANGUP_SEC. */
void wsd_session_tick(struct wsd *d);
/* Fans a sample out to every subscriber (drops it for slow readers). */
void wsd_push_sample(struct wsd *d, struct wsd_msg *m);
int64_t wsd_now_slot(void);

/* wsd-conn.c */
/* Raises RLIMIT_NOFILE's soft limit to the hard one and derives the budget. -EMFILE: too low. */
int wsd_conn_budget(unsigned want_clients, struct wsd_fd_budget *ret);
/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: 1 refuses fd (over a pending cap), 0 admits it. */
int wsd_conn_filter(struct wsd *d, struct lws *listen_wsi, int fd);
void wsd_conn_attach(struct wsd *d, struct lws *wsi);      /* the admitted fd's new wsi */
void wsd_conn_request(struct wsd *d, struct lws *wsi);     /* request headers complete */
void wsd_conn_idle(struct wsd *d, struct lws *wsi);        /* answer sent, keep-alive waits */
void wsd_conn_established(struct wsd *d, struct lws *wsi); /* now a websocket */
void wsd_conn_destroy(struct wsd *d, struct lws *wsi);
void wsd_conn_tick(struct wsd *d);                         /* closes the late ones */
void wsd_conn_accept_failed(struct wsd *d);
void wsd_conn_free_all(struct wsd *d);
/* Config checks cg-wsd adds to cfg_load's: bind is an address without a port, the port is not
 * privileged (below 1024), and a non-loopback bind needs a token or allowed_origins. -EINVAL with
 * *ret_err (owned) saying why. */
int wsd_check_cfg(const struct cfg *c, char **ret_err);

/* wsd-redis.c */
void wsd_redis_start(struct wsd *d);
void wsd_redis_stop(struct wsd *d);
void wsd_redis_tick(struct wsd *d);
bool wsd_redis_up(const struct wsd *d);
/* Starts a request for entry q of session s; on a Redis error the entry is filled at once
 * with {"error": ...}. */
void wsd_redis_request(struct wsd_session *s, struct wsd_qent *q, const struct wsproto_request *r);
/* Detaches a session's pending requests (the session is closing). */
void wsd_pending_orphan(struct wsd_pending *p);
