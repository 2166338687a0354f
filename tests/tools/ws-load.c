/* ws-load — a websocket load client for cg-wsd (libwebsockets client API).
 *
 *   ws-load -p PORT -c CONNS -d SECONDS -m MESSAGE [-r RATE]   requests; prints req/s, p50, p99
 *   ws-load -p PORT -i CONNS -d SECONDS                         opens CONNS idle connections,
 *                                                               holds them SECONDS, then exits
 *
 * Without -r every connection sends its next request as soon as the answer arrived (closed
 * loop: throughput). With -r the connections together send RATE requests/s on a schedule and
 * latency counts from the scheduled time, so a stall shows up in p99 instead of hiding
 * (no coordinated omission). Output, one line: key=value pairs. */
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_LAT (4 * 1024 * 1024)
#define MAX_CONNECTING 128

struct conn {
        struct lws *wsi;
        bool up, busy, due;
        uint64_t sent_usec;
        uint64_t next_usec; /* paced mode: when the next request is due */
        size_t got;
        lws_sorted_usec_list_t sul;
        unsigned idx;
};

static struct {
        int port;
        unsigned nconns;
        unsigned idle;
        double seconds;
        double rate;
        const char *msg;
        size_t msglen;
        struct lws_context *ctx;
        struct conn *conns;
        unsigned next_conn, connecting, connected, failed;
        uint64_t start_usec, end_usec;
        uint64_t *lat;
        size_t nlat;
        uint64_t errors_answers;
        bool measuring;
} g;

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void connect_more(void) {
        while (g.next_conn < g.nconns && g.connecting < MAX_CONNECTING) {
                struct conn *c = &g.conns[g.next_conn];
                struct lws_client_connect_info i = {};

                c->idx = g.next_conn++;
                i.context = g.ctx;
                i.address = "127.0.0.1";
                i.port = g.port;
                i.path = "/";
                i.host = "127.0.0.1";
                i.origin = NULL;
                i.local_protocol_name = "load";
                i.userdata = c;
                i.pwsi = &c->wsi;
                g.connecting++;
                if (!lws_client_connect_via_info(&i)) {
                        g.connecting--;
                        g.failed++;
                }
        }
}

/* Each connection is due every `interval` on an absolute schedule (no drift); latency counts
 * from the due time, so timer lateness and queueing both count against the server's figure
 * only as far as they are real waiting. */
static void send_due(lws_sorted_usec_list_t *sul) {
        struct conn *c = lws_container_of(sul, struct conn, sul);
        uint64_t interval = (uint64_t) ((double) g.nconns / g.rate * 1e6), now = now_us();

        if (c->busy)
                c->due = true; /* goes out as soon as the answer is in */
        else {
                c->sent_usec = now;
                lws_callback_on_writable(c->wsi);
                c->busy = true;
        }
        c->next_usec += interval;
        if (c->next_usec < now)
                c->next_usec = now; /* fell behind: do not burst to catch up */
        lws_sul_schedule(g.ctx, 0, &c->sul, send_due, (lws_usec_t) (c->next_usec - now));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
        struct conn *c = user;
        unsigned char buf[LWS_PRE + 65536];

        switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
                c->up = true;
                g.connecting--;
                g.connected++;
                connect_more();
                if (g.idle)
                        return 0;
                if (g.rate > 0) {
                        double interval = (double) g.nconns / g.rate * 1e6;
                        uint64_t phase = (uint64_t) (interval * (c->idx + 1) / g.nconns);
                        c->next_usec = now_us() + phase;
                        lws_sul_schedule(g.ctx, 0, &c->sul, send_due, (lws_usec_t) phase);
                } else {
                        c->busy = true;
                        c->sent_usec = now_us();
                        lws_callback_on_writable(wsi);
                }
                return 0;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
                g.connecting--;
                g.failed++;
                connect_more();
                return 0;
        case LWS_CALLBACK_CLIENT_WRITEABLE:
                if (g.msglen > 65536)
                        return -1;
                memcpy(buf + LWS_PRE, g.msg, g.msglen);
                if (lws_write(wsi, buf + LWS_PRE, g.msglen, LWS_WRITE_TEXT) < (int) g.msglen)
                        return -1;
                return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE:
                if (c->got == 0 && len > 9 && memcmp(in, "{\"error\":", 9) == 0)
                        g.errors_answers++;
                c->got += len;
                if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
                        return 0;
                c->got = 0;
                if (g.measuring && g.nlat < MAX_LAT)
                        g.lat[g.nlat++] = now_us() - c->sent_usec;
                c->busy = false;
                if (g.rate > 0) {
                        if (c->due) { /* late: goes out now, latency counts from now */
                                c->due = false;
                                c->busy = true;
                                c->sent_usec = now_us();
                                lws_callback_on_writable(wsi);
                        }
                } else {
                        c->busy = true;
                        c->sent_usec = now_us();
                        lws_callback_on_writable(wsi);
                }
                return 0;
        case LWS_CALLBACK_CLIENT_CLOSED:
                if (c && c->up) {
                        c->up = false;
                        g.connected--;
                }
                if (c)
                        lws_sul_cancel(&c->sul);
                return 0;
        default:
                return 0;
        }
}

static uint64_t cpu_us(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
        (void) sig;
        interrupted = 1;
}

int main(int argc, char **argv) {
        static const struct lws_protocols protocols[] = {
                { "load", callback, 0, 65536, 0, NULL, 0 },
                { NULL, NULL, 0, 0, 0, NULL, 0 },
        };
        struct lws_context_creation_info info = {};
        uint64_t t0, deadline, cpu0;
        int opt;

        g.port = 43409;
        g.nconns = 1;
        g.seconds = 5;
        while ((opt = getopt(argc, argv, "p:c:i:d:m:r:")) >= 0)
                switch (opt) {
                case 'p': g.port = atoi(optarg); break;
                case 'c': g.nconns = (unsigned) atoi(optarg); break;
                case 'i': g.idle = g.nconns = (unsigned) atoi(optarg); break;
                case 'd': g.seconds = atof(optarg); break;
                case 'm': g.msg = optarg; break;
                case 'r': g.rate = atof(optarg); break;
                default:
                        fprintf(stderr, "usage: ws-load -p PORT (-c CONNS -m MSG [-r RATE] | -i CONNS) -d SECONDS\n");
                        return 2;
                }
        if ((!g.idle && !g.msg) || g.nconns == 0) {
                fprintf(stderr, "ws-load: need -m MESSAGE (or -i CONNS) and CONNS > 0\n");
                return 2;
        }
        g.msglen = g.msg ? strlen(g.msg) : 0;
        g.conns = calloc(g.nconns, sizeof *g.conns);
        g.lat = g.idle ? NULL : malloc(MAX_LAT * sizeof(uint64_t));
        if (!g.conns || (!g.idle && !g.lat))
                return 1;
        signal(SIGINT, on_sigint);
        signal(SIGTERM, on_sigint);
        lws_set_log_level(LLL_ERR, NULL);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        info.fd_limit_per_thread = g.nconns + 64;
        info.pt_serv_buf_size = 256 * 1024; /* read big answers in few syscalls */
        g.ctx = lws_create_context(&info);
        if (!g.ctx)
                return 1;
        connect_more();
        /* wait for every connection (or a failure) for at most 60 s */
        t0 = now_us();
        while (!interrupted && g.connected + g.failed < g.nconns && now_us() - t0 < 60000000ULL)
                lws_service(g.ctx, 0);
        if (g.idle) {
                printf("idle_connected=%u failed=%u connect_seconds=%.2f\n", g.connected, g.failed,
                       (double) (now_us() - t0) / 1e6);
                fflush(stdout);
        }
        g.measuring = true;
        cpu0 = cpu_us();
        g.start_usec = now_us();
        deadline = g.start_usec + (uint64_t) (g.seconds * 1e6);
        while (!interrupted && now_us() < deadline)
                lws_service(g.ctx, 0);
        g.end_usec = now_us();
        if (!g.idle) {
                double secs = (double) (g.end_usec - g.start_usec) / 1e6;
                qsort(g.lat, g.nlat, sizeof(uint64_t), cmp_u64);
                printf("conns=%u connected=%u failed=%u requests=%zu seconds=%.2f rps=%.0f "
                       "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f error_answers=%llu "
                       "cpu_us_per_req=%.0f\n",
                       g.nconns, g.connected, g.failed, g.nlat, secs, (double) g.nlat / secs,
                       g.nlat ? (double) g.lat[g.nlat / 2] / 1e3 : 0,
                       g.nlat ? (double) g.lat[(size_t) ((double) g.nlat * 0.99)] / 1e3 : 0,
                       g.nlat ? (double) g.lat[g.nlat - 1] / 1e3 : 0,
                       (unsigned long long) g.errors_answers,
                       g.nlat ? (double) (cpu_us() - cpu0) / (double) g.nlat : 0);
        }
        lws_context_destroy(g.ctx);
        free(g.conns);
        free(g.lat);
        return g.failed ? 1 : 0;
}
