/* wsd-conn.c — admission of TCP connections before they are websockets.
 *
 * The attack this answers: a few thousand connections that connect and send nothing (or half a
 * request) used to hold every descriptor, so /healthz failed and, with lws's fd limit above
 * RLIMIT_NOFILE, accept() hit EMFILE and the loop spun on the readable listening socket.
 *
 * - The fd budget comes from RLIMIT_NOFILE (soft raised to hard at start, lowered to
 *   FD_CEILING): max_clients websockets plus WSD pending connections plus lws's own few, and
 *   each pending connection may hold a second descriptor (a static file being sent). max_clients
 *   is capped to what fits, so accept() cannot run out of descriptors. lws's own fd limit is the
 *   whole soft limit: any lower one (fd_limit_per_thread < RLIMIT_NOFILE) switches lws 4.1 to
 *   "max_fds_unrelated_to_ulimit", where wsi_from_fd() finds a socket's wsi by scanning its whole
 *   table, on every event: with 10,000 idle websockets that scan was half of cg-wsd's CPU.
 * - "Pending" connections (accepted, not a websocket yet: in the handshake, or plain HTTP) are
 *   counted, globally (d->max_pending) and per source address (WSD_MAX_PENDING_PER_SOURCE);
 *   above either the connection is closed as soon as it is accepted (LWS_CALLBACK_FILTER_
 *   NETWORK_CONNECTION), before lws gives it any memory.
 * - A pending connection must complete its request headers within WSD_HANDSHAKE_SEC of its
 *   accept (or of its previous answer, on keep-alive) and lives at most WSD_PENDING_MAX_SEC;
 *   the 1 s tick closes the late ones.
 * - If accept() fails anyway (EMFILE/ENFILE: descriptors used elsewhere, or a lowered limit),
 *   lws logs it and returns with the listening socket still readable: wsd_conn_accept_failed()
 *   pauses accepting for WSD_ACCEPT_PAUSE_MSEC instead of letting the loop spin. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"
#include "wsd.h"

#define FD_RESERVE 32  /* stdio, the log, hiredis's own sockets, epoll, slack */
#define LWS_OWN_FDS 16 /* in lws's table: listening sockets, cancel pipe, signalfd, Redis dups */
#define FD_CEILING (1024 * 1024) /* lws allocates per-fd tables: keep them sane */

static struct ratelimit rl_conn = RATELIMIT_INIT(10 * USEC_PER_SEC, 5);
static struct ratelimit rl_accept = RATELIMIT_INIT(10 * USEC_PER_SEC, 2);

int wsd_conn_budget(unsigned want_clients, struct wsd_fd_budget *ret) {
        struct rlimit rl;
        unsigned long long soft, avail;
        struct wsd_fd_budget b = {};

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        b.soft_before = rl.rlim_cur;
        if (rl.rlim_cur > (rlim_t) FD_CEILING) {
                /* lws sizes its fd-indexed table by the soft limit (sysconf(_SC_OPEN_MAX)) */
                struct rlimit want = { .rlim_cur = FD_CEILING, .rlim_max = rl.rlim_max };
                if (setrlimit(RLIMIT_NOFILE, &want) == 0)
                        rl.rlim_cur = want.rlim_cur;
        } else if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit want = { .rlim_cur = MIN(rl.rlim_max, (rlim_t) FD_CEILING),
                                       .rlim_max = rl.rlim_max };
                if (want.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) == 0)
                        rl.rlim_cur = want.rlim_cur;
        }
        soft = MIN((unsigned long long) rl.rlim_cur, (unsigned long long) FD_CEILING);
        b.soft = (unsigned) soft;
        if (soft < FD_RESERVE + LWS_OWN_FDS + 8)
                return -EMFILE;
        avail = soft - FD_RESERVE - LWS_OWN_FDS;
        b.max_pending = (unsigned) MIN((unsigned long long) WSD_MAX_PENDING, avail / 4);
        b.max_clients = (unsigned) MIN((unsigned long long) want_clients, avail - 2ULL * b.max_pending);
        b.fd_limit = b.soft; /* = sysconf(_SC_OPEN_MAX) when lws reads it: its fast lookup */
        /* SIGHUP may raise max_clients up to what fits, not further */
        b.clients_fit = (unsigned) (avail - 2ULL * b.max_pending);
        if (b.max_clients < 1)
                return -EMFILE;
        *ret = b;
        return 0;
}

/* ---- per-source counts ---- */

static unsigned peer_hash(const unsigned char *a) {
        unsigned h = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < 16; i++)
                h = (h ^ a[i]) * 16777619u;
        return h % WSD_PEER_BUCKETS;
}

/* The source of fd as 16 bytes (IPv4 as ::ffff:a.b.c.d, so both families share one table). */
static int peer_key(int fd, unsigned char key[16]) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;

        if (getpeername(fd, (struct sockaddr *) &ss, &sl) < 0)
                return -errno;
        memset(key, 0, 16);
        if (ss.ss_family == AF_INET) {
                key[10] = key[11] = 0xff;
                memcpy(key + 12, &((struct sockaddr_in *) &ss)->sin_addr, 4);
        } else if (ss.ss_family == AF_INET6)
                memcpy(key, &((struct sockaddr_in6 *) &ss)->sin6_addr, 16);
        else
                return -EAFNOSUPPORT;
        return 0;
}

static struct wsd_peer *peer_get(struct wsd *d, const unsigned char key[16], bool create) {
        unsigned h = peer_hash(key);
        struct wsd_peer *p;

        for (p = d->peers[h]; p; p = p->next)
                if (memcmp(p->addr, key, 16) == 0)
                        return p;
        if (!create || !(p = calloc(1, sizeof *p)))
                return NULL;
        memcpy(p->addr, key, 16);
        p->next = d->peers[h];
        d->peers[h] = p;
        return p;
}

static void peer_put(struct wsd *d, struct wsd_peer *p) {
        struct wsd_peer **pp;

        if (--p->pending > 0)
                return;
        for (pp = &d->peers[peer_hash(p->addr)]; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        free(p);
                        return;
                }
}

/* ---- the pending list ---- */

static void pending_unlink(struct wsd *d, struct wsd_conn *c) {
        if (!c->pending)
                return;
        if (c->prev)
                c->prev->next = c->next;
        else
                d->pending_head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        c->pending = false;
        d->n_pending--;
        peer_put(d, c->peer);
        c->peer = NULL;
}

static void conn_free(struct wsd *d, struct wsd_conn *c) {
        if (!c)
                return;
        pending_unlink(d, c);
        free(c);
}

int wsd_conn_filter(struct wsd *d, struct lws *listen_wsi, int fd) {
        unsigned char key[16];
        struct wsd_peer *p;
        struct wsd_conn *c;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        d->listen_wsi = listen_wsi;
        /* an adoption that failed after the last filter never claimed its entry */
        conn_free(d, TAKE_PTR(d->accepting));
        if (d->n_pending >= d->max_pending) {
                d->stats.connections_refused_total++;
                if (ratelimit_below(&rl_conn))
                        log_warning("Refusing connections: %u are still in their handshake",
                                    d->n_pending);
                return 1;
        }
        if (peer_key(fd, key) < 0)
                return 1;
        p = peer_get(d, key, true);
        if (!p)
                return 1;
        if (p->pending >= WSD_MAX_PENDING_PER_SOURCE) {
                d->stats.connections_refused_total++;
                if (ratelimit_below(&rl_conn)) {
                        char name[64] = "?";
                        (void) lws_get_peer_simple_fd(fd, name, sizeof name);
                        log_warning("Refusing connections from %s: %u are still in their "
                                    "handshake",
                                    name, p->pending);
                }
                return 1;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                if (p->pending == 0) { /* a fresh entry: drop it again */
                        p->pending = 1;
                        peer_put(d, p);
                }
                return 1;
        }
        p->pending++;
        c->peer = p;
        c->pending = true;
        c->born_usec = now;
        c->deadline_usec = now + WSD_HANDSHAKE_SEC * USEC_PER_SEC;
        c->next = d->pending_head;
        if (d->pending_head)
                d->pending_head->prev = c;
        d->pending_head = c;
        d->n_pending++;
        d->accepting = c; /* claimed by the wsi lws creates for fd next */
        return 0;
}

void wsd_conn_attach(struct wsd *d, struct lws *wsi) {
        struct wsd_conn *c = d->accepting;

        if (!c || lws_get_opaque_user_data(wsi))
                return;
        d->accepting = NULL;
        c->wsi = wsi;
        lws_set_opaque_user_data(wsi, c);
}

void wsd_conn_request(struct wsd *d, struct lws *wsi) {
        struct wsd_conn *c = lws_get_opaque_user_data(wsi);

        (void) d;
        if (c)
                c->deadline_usec = 0; /* headers complete: the answer is on its way */
}

void wsd_conn_idle(struct wsd *d, struct lws *wsi) {
        struct wsd_conn *c = lws_get_opaque_user_data(wsi);

        (void) d;
        if (c && c->pending)
                c->deadline_usec = now_usec(CLOCK_MONOTONIC) + WSD_HANDSHAKE_SEC * USEC_PER_SEC;
}

void wsd_conn_established(struct wsd *d, struct lws *wsi) {
        struct wsd_conn *c = lws_get_opaque_user_data(wsi);

        if (c)
                pending_unlink(d, c);
}

void wsd_conn_destroy(struct wsd *d, struct lws *wsi) {
        struct wsd_conn *c = lws_get_opaque_user_data(wsi);

        if (!c) /* never attached (or lws dropped the pointer): no entry may keep this wsi */
                for (c = d->pending_head; c && c->wsi != wsi; c = c->next)
                        ;
        if (!c)
                return;
        lws_set_opaque_user_data(wsi, NULL);
        conn_free(d, c);
}

void wsd_conn_tick(struct wsd *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        unsigned late = 0;

        for (struct wsd_conn *c = d->pending_head; c; c = c->next) {
                if (!c->wsi || c->killed)
                        continue;
                if ((c->deadline_usec && now >= c->deadline_usec) ||
                    now - c->born_usec >= WSD_PENDING_MAX_SEC * USEC_PER_SEC) {
                        c->killed = true;
                        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                        late++;
                }
        }
        d->stats.handshake_timeouts_total += late;
        if (late > 0 && ratelimit_below(&rl_conn))
                log_notice("Closed %u connections that did not finish a request in %d s", late,
                           WSD_HANDSHAKE_SEC);
}

/* ---- accept() failures ---- */

static void accept_resume(lws_sorted_usec_list_t *sul) {
        struct wsd *d = lws_container_of(sul, struct wsd, sul_accept);

        d->accept_paused = false;
        if (d->listen_wsi)
                (void) lws_rx_flow_control(d->listen_wsi, 1);
}

void wsd_conn_accept_failed(struct wsd *d) {
        d->accept_failed = false;
        d->stats.accept_pauses_total++;
        if (d->accept_paused || !d->listen_wsi)
                return;
        if (ratelimit_below(&rl_accept))
                log_warning("accept() ran out of file descriptors: not accepting for %d ms",
                            WSD_ACCEPT_PAUSE_MSEC);
        d->accept_paused = true;
        (void) lws_rx_flow_control(d->listen_wsi, 0);
        lws_sul_schedule(d->ctx, 0, &d->sul_accept, accept_resume,
                         (lws_usec_t) WSD_ACCEPT_PAUSE_MSEC * 1000);
}

void wsd_conn_free_all(struct wsd *d) {
        conn_free(d, TAKE_PTR(d->accepting));
        /* lws_context_destroy() sent WSI_DESTROY for the rest; anything left is freed here */
        while (d->pending_head)
                conn_free(d, d->pending_head);
        for (size_t i = 0; i < WSD_PEER_BUCKETS; i++)
                while (d->peers[i]) {
                        struct wsd_peer *p = d->peers[i];
                        d->peers[i] = p->next;
                        free(p);
                }
}
