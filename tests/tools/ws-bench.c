/* ws-bench — a websocket load client that costs the server, not itself: raw sockets, one epoll
 * loop, masked frames prepared once, answers skipped over without copying.
 *
 *   ws-bench -p PORT -m MESSAGE [-m MESSAGE2...] [-c CONNS] [-d SECONDS] [-i IDLE]
 *            [-H HOLD_SECONDS] [-P NAME=PID...]
 *
 * Opens IDLE idle websockets first (they stay open, answer pings, send nothing), then CONNS
 * connections that each keep one request in flight: the next one goes as soon as the answer's
 * last frame is in (closed loop). Requests run for SECONDS after a 0.5 s warm-up; latency is from
 * the send to the answer's last byte. Without -m, only the idle connections are opened and held
 * for HOLD_SECONDS. Several -m run one after the other over the same connections, one output
 * line each. Idle connections come from 127.0.0.2, .3, ... in turn (cg-wsd admits at most
 * 32 handshakes at once from one address), at most 128 handshakes at once.
 *
 * Output, one line of key=value: requests rps p50_ms p99_ms max_ms error_answers
 * cpu_us_per_req (this program's own user+system CPU per request, from getrusage, so a reader
 * can see that it is small against the server's) idle_connected connect_seconds; and for each
 * -P NAME=PID, NAME_cpu_us_per_req (that process's CPU over the measuring window, every thread:
 * /proc/PID/task/TID/schedstat) and NAME_rss_kb at its end. */
#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDSHAKES 128
#define PER_SOURCE 16
#define RBUF (256 * 1024)
#define MAX_LAT (8 * 1024 * 1024)
#define WARMUP_USEC 500000
#define MAX_MSGS 8
#define MAX_PROCS 4

enum state { CONNECTING, HANDSHAKE, OPEN, DEAD };

struct conn {
        int fd;
        enum state st;
        bool active;      /* sends requests (else idle) */
        unsigned source;  /* 127.0.0.<source> */
        char hs[512];     /* the handshake answer so far */
        size_t hs_len;
        /* frame parser */
        unsigned char hdr[14];
        size_t hdr_len, hdr_need;
        uint64_t payload_left;
        int opcode;       /* of the current frame */
        bool fin;
        bool msg_start;   /* the next data bytes are a message's first */
        bool msg_error;   /* the message being received starts with {"error" */
        unsigned char first[9];
        size_t first_len;
        unsigned char ping[125]; /* a ping's payload, echoed in the pong */
        size_t ping_len;
        uint64_t sent_usec;
};

static struct {
        const char *host;
        int port;
        unsigned nconns, nidle;
        double seconds, hold;
        unsigned char *frame; /* the masked request frame */
        size_t frame_len;
        int ep;
        struct conn *conns;
        unsigned total, next, handshakes, open_idle, open_active, failed;
        unsigned per_source[256];
        uint64_t *lat;
        size_t nlat;
        uint64_t requests, errors;
        uint64_t t_start, t_end;
        bool measuring;
        const char *proc_name[MAX_PROCS];
        int proc_pid[MAX_PROCS];
        unsigned nprocs;
        char rbuf[RBUF];
} g;

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t cpu_us(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* CPU time of every thread of pid, in ns (schedstat's first field: time on a CPU). */
static uint64_t proc_cpu_ns(int pid) {
        char path[64];
        struct dirent *de;
        uint64_t sum = 0;
        DIR *dir;

        snprintf(path, sizeof path, "/proc/%d/task", pid);
        dir = opendir(path);
        if (!dir)
                return 0;
        while ((de = readdir(dir))) {
                char p[300];
                unsigned long long ns;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, de->d_name);
                f = fopen(p, "re");
                if (!f)
                        continue;
                if (fscanf(f, "%llu", &ns) == 1)
                        sum += ns;
                fclose(f);
        }
        closedir(dir);
        return sum;
}

static long proc_rss_kb(int pid) {
        char path[64], line[256];
        long kb = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

/* A masked client frame (opcode op) of len payload bytes. */
static unsigned char *make_frame(int op, const void *payload, size_t len, size_t *ret_len) {
        static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
        unsigned char *f = malloc(len + 14), *p = f;

        if (!f)
                return NULL;
        *p++ = (unsigned char) (0x80 | op);
        if (len < 126)
                *p++ = (unsigned char) (0x80 | len);
        else if (len < 65536) {
                *p++ = 0x80 | 126;
                *p++ = (unsigned char) (len >> 8);
                *p++ = (unsigned char) len;
        } else {
                *p++ = 0x80 | 127;
                for (int i = 7; i >= 0; i--)
                        *p++ = (unsigned char) ((uint64_t) len >> (8 * i));
        }
        memcpy(p, mask, 4);
        p += 4;
        for (size_t i = 0; i < len; i++)
                p[i] = ((const unsigned char *) payload)[i] ^ mask[i % 4];
        *ret_len = (size_t) (p - f) + len;
        return f;
}

static void conn_dead(struct conn *c, const char *why) {
        if (c->st == DEAD)
                return;
        if (c->st == CONNECTING || c->st == HANDSHAKE) {
                g.handshakes--;
                g.per_source[c->source]--;
        } else if (c->active)
                g.open_active--;
        else
                g.open_idle--;
        c->st = DEAD;
        g.failed++;
        close(c->fd);
        if (g.failed <= 5)
                fprintf(stderr, "ws-bench: connection %s: %s\n", c->active ? "active" : "idle",
                        why);
}

static int send_all(struct conn *c, const void *buf, size_t len) {
        /* requests are small: the socket buffer always has room, a short write is an error */
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n != (ssize_t) len) {
                conn_dead(c, n < 0 ? strerror(errno) : "short write");
                return -1;
        }
        return 0;
}

static void send_request(struct conn *c) {
        c->sent_usec = now_us();
        (void) send_all(c, g.frame, g.frame_len);
}

static void start_conn(unsigned i) {
        struct conn *c = &g.conns[i];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) g.port) };
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };
        int one = 1;

        memset(c, 0, sizeof *c);
        c->active = i >= g.nidle;
        c->st = CONNECTING;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        /* idle connections come from 127.0.0.2..254, active ones from 127.0.0.1 */
        c->source = c->active ? 1 : 2 + (i % 253);
        g.handshakes++;
        g.per_source[c->source]++;
        if (c->fd < 0) {
                c->fd = -1;
                conn_dead(c, strerror(errno));
                return;
        }
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (c->source != 1) {
                struct sockaddr_in src = { .sin_family = AF_INET,
                                           .sin_addr.s_addr = htonl(0x7f000000u | c->source) };
                if (bind(c->fd, (struct sockaddr *) &src, sizeof src) < 0) {
                        conn_dead(c, strerror(errno));
                        return;
                }
        }
        inet_pton(AF_INET, g.host, &a.sin_addr);
        if (connect(c->fd, (struct sockaddr *) &a, sizeof a) < 0 && errno != EINPROGRESS) {
                conn_dead(c, strerror(errno));
                return;
        }
        if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                conn_dead(c, strerror(errno));
}

static void start_more(void) {
        while (g.next < g.total && g.handshakes < MAX_HANDSHAKES) {
                unsigned src = g.next >= g.nidle ? 1 : 2 + (g.next % 253);
                if (g.per_source[src] >= PER_SOURCE)
                        break;
                start_conn(g.next++);
        }
}

static void on_connected(struct conn *c, unsigned i) {
        static const char req[] = "GET / HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
        int err = 0;
        socklen_t sl = sizeof err;

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
                conn_dead(c, strerror(err ? err : errno));
                return;
        }
        if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
                conn_dead(c, strerror(errno));
                return;
        }
        c->st = HANDSHAKE;
        (void) send_all(c, req, sizeof req - 1);
}

static void on_open(struct conn *c) {
        g.handshakes--;
        g.per_source[c->source]--;
        c->st = OPEN;
        c->hdr_need = 2;
        c->msg_start = true;
        if (c->active) {
                g.open_active++;
                if (g.frame)
                        send_request(c);
        } else
                g.open_idle++;
}

/* A complete frame header is in c->hdr: work out the payload length. */
static int header_done(struct conn *c) {
        uint64_t len = c->hdr[1] & 0x7f;

        if (c->hdr[1] & 0x80)
                return -1; /* a server never masks */
        if (len == 126 && c->hdr_need == 2) {
                c->hdr_need = 4;
                return 0;
        }
        if (len == 127 && c->hdr_need == 2) {
                c->hdr_need = 10;
                return 0;
        }
        if (len == 126)
                len = (uint64_t) c->hdr[2] << 8 | c->hdr[3];
        else if (len == 127) {
                len = 0;
                for (int k = 2; k < 10; k++)
                        len = len << 8 | c->hdr[k];
        }
        c->opcode = c->hdr[0] & 0x0f;
        c->fin = c->hdr[0] & 0x80;
        c->payload_left = len;
        c->ping_len = 0;
        c->hdr_len = 0;
        c->hdr_need = 0;
        return 1;
}

static void frame_done(struct conn *c) {
        if (c->opcode == 0x9) { /* ping: pong with its payload (mask 0: the bytes as they are) */
                unsigned char pong[6 + sizeof c->ping] = { 0x8a, (unsigned char) (0x80 | c->ping_len) };

                memcpy(pong + 6, c->ping, c->ping_len);
                (void) send_all(c, pong, 6 + c->ping_len);
        } else if (c->opcode == 0x8)
                conn_dead(c, "closed by the server");
        else if (c->opcode <= 0x2 && c->fin) {
                uint64_t now = now_us();

                if (c->active && g.measuring) {
                        g.requests++;
                        if (c->msg_error)
                                g.errors++;
                        if (g.nlat < MAX_LAT)
                                g.lat[g.nlat++] = now - c->sent_usec;
                }
                c->msg_start = true;
                c->msg_error = false;
                c->first_len = 0;
                if (c->active && c->st == OPEN && now < g.t_end)
                        send_request(c);
        }
        c->hdr_need = 2;
}

static void feed(struct conn *c, const unsigned char *p, size_t n) {
        while (n > 0 && c->st == OPEN) {
                if (c->hdr_need) {
                        size_t k = c->hdr_need - c->hdr_len;
                        if (k > n)
                                k = n;
                        memcpy(c->hdr + c->hdr_len, p, k);
                        c->hdr_len += k;
                        p += k;
                        n -= k;
                        if (c->hdr_len < c->hdr_need)
                                return;
                        int r = header_done(c);
                        if (r < 0) {
                                conn_dead(c, "bad frame");
                                return;
                        }
                        if (r == 0)
                                continue; /* an extended length follows */
                        if (c->payload_left == 0)
                                frame_done(c);
                        continue;
                }
                size_t k = c->payload_left < n ? (size_t) c->payload_left : n;
                if (c->opcode <= 0x2 && c->first_len < sizeof c->first - 1) {
                        size_t m = sizeof c->first - 1 - c->first_len;
                        memcpy(c->first + c->first_len, p, m < k ? m : k);
                        c->first_len += m < k ? m : k;
                        c->first[c->first_len] = 0;
                        c->msg_error = strncmp((char *) c->first, "{\"error\"", c->first_len) == 0;
                }
                if (c->opcode == 0x9 && c->ping_len + k <= sizeof c->ping) {
                        memcpy(c->ping + c->ping_len, p, k);
                        c->ping_len += k;
                }
                if (c->opcode <= 0x2)
                        c->msg_start = false;
                p += k;
                n -= k;
                c->payload_left -= k;
                if (c->payload_left == 0)
                        frame_done(c);
        }
}

static void on_readable(struct conn *c) {
        for (;;) {
                ssize_t n = recv(c->fd, g.rbuf, sizeof g.rbuf, 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0) {
                        conn_dead(c, n < 0 ? strerror(errno) : "EOF");
                        return;
                }
                if (c->st == HANDSHAKE) {
                        size_t k = (size_t) n;
                        char *end;
                        if (k > sizeof c->hs - 1 - c->hs_len)
                                k = sizeof c->hs - 1 - c->hs_len;
                        memcpy(c->hs + c->hs_len, g.rbuf, k);
                        c->hs_len += k;
                        c->hs[c->hs_len] = 0;
                        end = strstr(c->hs, "\r\n\r\n");
                        if (!end) {
                                if (c->hs_len >= sizeof c->hs - 1)
                                        conn_dead(c, "handshake too long");
                                continue;
                        }
                        if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
                                conn_dead(c, "handshake refused");
                                return;
                        }
                        /* what came after the headers is frames already */
                        size_t used = (size_t) (end + 4 - c->hs) - (c->hs_len - k);
                        on_open(c);
                        if ((size_t) n > used)
                                feed(c, (unsigned char *) g.rbuf + used, (size_t) n - used);
                } else
                        feed(c, (unsigned char *) g.rbuf, (size_t) n);
                if ((size_t) n < sizeof g.rbuf)
                        return; /* level-triggered: more comes as another event */
        }
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void loop_until(uint64_t deadline, bool (*done)(void)) {
        struct epoll_event evs[256];

        while (!(done && done()) && now_us() < deadline) {
                int n = epoll_wait(g.ep, evs, 256, 50);
                for (int k = 0; k < n; k++) {
                        struct conn *c = &g.conns[evs[k].data.u32];
                        if (c->st == CONNECTING)
                                on_connected(c, evs[k].data.u32);
                        else if (c->st != DEAD)
                                on_readable(c);
                }
                start_more();
        }
}

static bool all_open(void) {
        return g.next >= g.total && g.handshakes == 0;
}

int main(int argc, char **argv) {
        const char *msgs[MAX_MSGS];
        unsigned nmsgs = 0;
        struct rlimit rl;
        uint64_t t0, c0, t_connect;
        int o;

        g.host = "127.0.0.1";
        g.nconns = 16;
        g.seconds = 4;
        g.hold = 5;
        while ((o = getopt(argc, argv, "p:c:d:m:i:H:h:P:")) != -1)
                switch (o) {
                case 'P': {
                        char *eq = strchr(optarg, '=');
                        if (!eq || g.nprocs == MAX_PROCS) {
                                fprintf(stderr, "ws-bench: -P NAME=PID, at most %d\n", MAX_PROCS);
                                return 2;
                        }
                        *eq = 0;
                        g.proc_name[g.nprocs] = optarg;
                        g.proc_pid[g.nprocs++] = atoi(eq + 1);
                        break;
                }
                case 'p': g.port = atoi(optarg); break;
                case 'c': g.nconns = (unsigned) atoi(optarg); break;
                case 'd': g.seconds = atof(optarg); break;
                case 'm':
                        if (nmsgs == MAX_MSGS) {
                                fprintf(stderr, "ws-bench: at most %d -m\n", MAX_MSGS);
                                return 2;
                        }
                        msgs[nmsgs++] = optarg;
                        break;
                case 'i': g.nidle = (unsigned) atoi(optarg); break;
                case 'H': g.hold = atof(optarg); break;
                case 'h': g.host = optarg; break;
                default:
                        fprintf(stderr, "usage: ws-bench -p PORT -m MESSAGE [-c CONNS] [-d SECONDS] "
                                        "[-i IDLE] [-H HOLD_SECONDS] [-h 127.0.0.1]\n");
                        return 2;
                }
        if (!g.port) {
                fprintf(stderr, "ws-bench: -p PORT is needed\n");
                return 2;
        }
        if (!nmsgs)
                g.nconns = 0;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        g.total = g.nidle + g.nconns;
        g.conns = calloc(g.total ? g.total : 1, sizeof *g.conns);
        g.lat = malloc(MAX_LAT * sizeof *g.lat);
        g.ep = epoll_create1(EPOLL_CLOEXEC);
        if (!g.conns || !g.lat || g.ep < 0) {
                perror("ws-bench");
                return 1;
        }

        /* the idle connections (and the active ones, which wait for g.frame) */
        t0 = now_us();
        loop_until(t0 + 120 * 1000000ULL, all_open);
        t_connect = now_us() - t0;
        if (g.nidle)
                fprintf(stderr, "ws-bench: %u idle websockets open in %.1f s\n", g.open_idle,
                        (double) t_connect / 1e6);
        for (unsigned m = 0; m < nmsgs; m++) {
                uint64_t pcpu[MAX_PROCS];

                free(g.frame);
                g.frame = make_frame(0x1, msgs[m], strlen(msgs[m]), &g.frame_len);
                if (!g.frame)
                        return 1;
                g.nlat = 0;
                g.requests = g.errors = 0;
                /* every active connection starts with one request (the previous message's
                 * last answers were drained by the pause below) */
                g.t_end = now_us() + WARMUP_USEC + (uint64_t) (g.seconds * 1e6);
                for (unsigned i = g.nidle; i < g.total; i++)
                        if (g.conns[i].st == OPEN)
                                send_request(&g.conns[i]);
                loop_until(now_us() + WARMUP_USEC, NULL);
                g.measuring = true;
                g.t_start = now_us();
                c0 = cpu_us();
                for (unsigned k = 0; k < g.nprocs; k++)
                        pcpu[k] = proc_cpu_ns(g.proc_pid[k]);
                loop_until(g.t_end, NULL);
                g.measuring = false;
                uint64_t cpu = cpu_us() - c0;
                for (unsigned k = 0; k < g.nprocs; k++)
                        pcpu[k] = proc_cpu_ns(g.proc_pid[k]) - pcpu[k];
                double secs = (double) (now_us() - g.t_start) / 1e6;
                qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u64);
#define PCT(p) (g.nlat ? (double) g.lat[(size_t) ((double) (g.nlat - 1) * (p))] / 1000.0 : 0.0)
                printf("msg=%u requests=%llu rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
                       "error_answers=%llu cpu_us_per_req=%.1f conns=%u idle_connected=%u "
                       "connect_seconds=%.1f failed=%u",
                       m + 1, (unsigned long long) g.requests, (double) g.requests / secs,
                       PCT(0.5), PCT(0.99), PCT(1.0), (unsigned long long) g.errors,
                       g.requests ? (double) cpu / (double) g.requests : 0.0, g.open_active,
                       g.open_idle, (double) t_connect / 1e6, g.failed);
                for (unsigned k = 0; k < g.nprocs; k++)
                        printf(" %s_cpu_us_per_req=%.1f %s_rss_kb=%ld", g.proc_name[k],
                               g.requests ? (double) pcpu[k] / 1e3 / (double) g.requests : 0.0,
                               g.proc_name[k], proc_rss_kb(g.proc_pid[k]));
                printf("\n");
                fflush(stdout);
                /* let the answers in flight arrive (no new requests: now >= t_end) */
                loop_until(now_us() + 300000, NULL);
        }
        if (!nmsgs) {
                printf("idle_connected=%u connect_seconds=%.1f failed=%u\n", g.open_idle,
                       (double) t_connect / 1e6, g.failed);
                fflush(stdout);
                loop_until(now_us() + (uint64_t) (g.hold * 1e6), NULL);
        }
        return g.failed > 0 && g.open_active + g.open_idle == 0 ? 1 : 0;
}
