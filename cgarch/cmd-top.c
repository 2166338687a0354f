/* cmd-top.c — `cgarch top`: a terminal view of the managed cgroups in the manner of
 * systemd-cgtop: CPU, throttling, IO rates, memory, tasks, pressure, and the share and weight
 * the applied conf sets, from the accounting samples, refreshed with every sample (each second).
 *
 * Where the samples come from: cg-wsd's websocket (default; subscribe_account for the stream,
 * show_account nr_slot 3 for the first two samples, get_conf every 10 s), or Redis directly with
 * --redis (GET of the newest slots each second), for a host without cg-wsd. Rates are over the
 * two newest samples, so the first screen needs no waiting.
 *
 * The terminal is driven with termios (no canonical mode, no echo) and plain ANSI escapes (the
 * alternate screen, cursor home, erase to end of line): no ncurses, whose terminfo database and
 * screen model a table redrawn once a second does not need. Everything is restored at exit,
 * also on SIGINT/SIGTERM (a signalfd: the handlers do nothing). With -n N (batch mode), N
 * tables are printed one after another, plain, for scripts; nothing is read from the keyboard.
 *
 * One thread. In websocket mode libwebsockets' loop runs everything (the keyboard and the
 * signalfd adopted as raw descriptors, a 1 s timer); in Redis mode a poll() loop does, with
 * hiredis' blocking calls bounded by a 2 s timeout. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ini.h"
#include "log.h"
#include "strbuf.h"
#include "top.h"
#include "util.h"

#define TOP_MAX_MESSAGE (64 * 1024 * 1024) /* one websocket answer (show_account of 3 slots) */
#define TOP_CONF_EVERY 10                  /* seconds between two get_conf */
#define TOP_BATCH_TIMEOUT 15               /* seconds without a sample before batch mode fails */
#define TOP_RETRY_USEC (2 * 1000000)       /* websocket reconnect */

struct top {
        /* options */
        enum top_sort sort;
        unsigned iterations; /* -n: 0 = interactive */
        const char *source;  /* "ws://host:port/" or "redis host:port", for the header */
        /* the header's host: cg-wsd's get_host answer (the URL's host until then, or for an old
         * cg-wsd); with --redis, "redis ADDR prefix P": this machine's name would be wrong
         * when the Redis is another host's */
        char host[256];
        bool host_pending, host_known;
        /* websocket */
        char *ws_host;
        unsigned ws_port;
        const char *token;
        /* redis */
        const char *redis_addr;
        const char *prefix, *password;

        bool tty;
        struct termios saved;
        bool raw;
        unsigned rows, cols;
        int sigfd;
        int sigfd_lws; /* the dup of sigfd that lws owns (websocket mode) */
        bool quit;
        int exit_code;

        /* the two newest samples and the conf */
        cJSON *prev, *cur;
        int64_t prev_slot, cur_slot;
        cJSON *conf; /* the applied conf's "value" */
        int64_t conf_version;
        uint64_t last_sample_usec, started_usec;
        unsigned printed;
        char status[256];

        /* websocket */
        struct lws_context *ctx;
        struct lws *wsi;
        bool connected, connecting;
        struct strbuf rx;
        bool rx_too_big;
        char **outq; /* requests to send, in order */
        lws_sorted_usec_list_t sul_tick, sul_retry;
        unsigned ticks;

        /* redis */
        redisContext *rc;
};

static struct top *the_top; /* for the lws callbacks: one top per process */

/* ---- the terminal ---- */

static void term_size(struct top *t) {
        struct winsize ws;

        t->rows = 24;
        t->cols = 80;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
                t->rows = ws.ws_row;
                t->cols = ws.ws_col;
        }
}

static void term_restore(struct top *t) {
        static const char leave[] = "\033[?25h\033[?1049l";

        if (!t->raw)
                return;
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
        (void) !write(STDOUT_FILENO, leave, sizeof(leave) - 1);
        t->raw = false;
}

static int term_setup(struct top *t) {
        static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
        struct termios raw;

        if (tcgetattr(STDIN_FILENO, &t->saved) < 0)
                return -errno;
        raw = t->saved;
        /* keys one at a time, not echoed; ^C still signals (ISIG) and is handled by the signalfd */
        raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
                return -errno;
        t->raw = true;
        (void) !write(STDOUT_FILENO, enter, sizeof(enter) - 1);
        term_size(t);
        return 0;
}

/* ---- drawing ---- */

static void fmt_slot(int64_t slot, char *buf, size_t size) {
        time_t s = (time_t) slot;
        struct tm tm;

        if (!localtime_r(&s, &tm) || strftime(buf, size, "%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "?");
}

static void render(struct top *t) {
        struct top_view v = {};
        struct strbuf b = {};
        char when[32];
        const char *host = t->host;
        int r;

        if (!t->prev || !t->cur) {
                if (t->tty && !t->iterations) {
                        (void) strbuf_printf(&b, "\033[Hcgarch top: %s\033[K\n\033[K\n%s\033[K\n\033[J",
                                             t->source, *t->status ? t->status
                                                                   : "waiting for two samples...");
                        (void) !write(STDOUT_FILENO, strbuf_text(&b), b.len);
                }
                strbuf_done(&b);
                return;
        }
        r = top_compute(t->prev, t->prev_slot, t->cur, t->cur_slot, t->conf, &v);
        if (r < 0) {
                snprintf(t->status, sizeof(t->status), "cannot read the samples: %s", strerror(-r));
                return;
        }
        top_sort(&v, t->sort);
        fmt_slot(t->cur_slot, when, sizeof(when));
        if (t->iterations) {
                /* batch: plain text, the whole table */
                (void) strbuf_printf(&b, "# cgarch top: %s, slot %lld (%s), %g s, sorted by %s, "
                                         "conf version %lld%s%s\n",
                                     host, (long long) t->cur_slot, when, v.seconds,
                                     top_sort_name(t->sort), (long long) t->conf_version,
                                     t->redis_addr ? "" : ", from ",
                                     t->redis_addr ? "" : t->source);
                r = top_format(&v, 0, 0, &b);
                (void) strbuf_puts(&b, "\n");
                if (r >= 0 && fwrite(strbuf_text(&b), 1, b.len, stdout) == b.len)
                        (void) fflush(stdout);
                if (++t->printed >= t->iterations)
                        t->quit = true;
        } else {
                struct strbuf tab = {};
                const char *p, *e;
                unsigned lines = 0;

                (void) strbuf_printf(&b, "\033[H\033[1mcgarch top\033[0m  %s%s%s  slot %lld (%s)  "
                                         "%u cgroups\033[K\n",
                                     host, t->redis_addr ? "" : "  ",
                                     t->redis_addr ? "" : t->source,
                                     (long long) t->cur_slot, when,
                                     (unsigned) v.n);
                (void) strbuf_printf(&b, "sort: %s   keys: c cpu, i io, m memory, p pressure, "
                                         "t tree, q quit%s%s\033[K\n",
                                     top_sort_name(t->sort), *t->status ? "   " : "", t->status);
                r = top_format(&v, t->cols, t->rows > 4 ? t->rows - 4 : 1, &tab);
                /* the column header in reverse video, then the rows; each line erased to its end
                 * and cut to the width (a narrow terminal must not wrap) */
                for (p = strbuf_text(&tab); r >= 0 && *p; p = e + 1, lines++) {
                        e = strchrnul(p, '\n');
                        (void) strbuf_puts(&b, lines == 0 ? "\033[7m" : "");
                        (void) strbuf_append(&b, p, MIN((size_t) (e - p), (size_t) t->cols));
                        (void) strbuf_puts(&b, lines == 0 ? "\033[0m\033[K\n" : "\033[K\n");
                        if (!*e)
                                break;
                }
                (void) strbuf_puts(&b, "\033[J");
                if (r >= 0)
                        (void) !write(STDOUT_FILENO, strbuf_text(&b), b.len);
                strbuf_done(&tab);
        }
        strbuf_done(&b);
        top_view_done(&v);
}

/* ---- samples ---- */

/* Keeps the two newest samples; draws when the newest pair changed. `sample` is borrowed. */
static void on_sample(struct top *t, int64_t slot, const cJSON *sample) {
        cJSON *dup;

        if (!cJSON_IsObject(sample) || slot == t->cur_slot || slot == t->prev_slot)
                return;
        if (t->cur && slot < t->prev_slot)
                return; /* older than both */
        dup = cJSON_Duplicate(sample, true);
        if (!dup)
                return;
        if (!t->cur || slot > t->cur_slot) {
                cJSON_Delete(t->prev);
                t->prev = t->cur;
                t->prev_slot = t->cur_slot;
                t->cur = dup;
                t->cur_slot = slot;
        } else {
                cJSON_Delete(t->prev);
                t->prev = dup;
                t->prev_slot = slot;
        }
        t->last_sample_usec = now_usec(CLOCK_MONOTONIC);
}

static void on_conf(struct top *t, const cJSON *snapshot) {
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(snapshot, "value"),
                    *version = cJSON_GetObjectItemCaseSensitive(snapshot, "version");
        cJSON *dup;

        if (!cJSON_IsObject(value) || !(dup = cJSON_Duplicate(value, true)))
                return;
        cJSON_Delete(t->conf);
        t->conf = dup;
        t->conf_version = cJSON_IsNumber(version) ? (int64_t) version->valuedouble : -1;
}

/* A slot key: decimal digits only. */
static bool slot_key(const char *s, int64_t *ret) {
        uint64_t v;

        if (!s || !*s || strspn(s, "0123456789") != strlen(s) || safe_atou64(s, &v) < 0 ||
            v > INT64_MAX)
                return false;
        *ret = (int64_t) v;
        return true;
}

/* One message of cg-wsd: an answer to get_conf, show_account, subscribe, an error, or a push. */
static void on_message(struct top *t, const char *text, size_t len) {
        cJSON *j = cJSON_ParseWithLength(text, len), *c;
        const cJSON *err;
        int64_t newest = t->cur_slot;

        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return;
        }
        /* cg-wsd answers in request order and get_host goes first: the first answer is its */
        if (t->host_pending && top_host_from_answer(j, t->ws_host, t->host, sizeof(t->host)) >= 0) {
                t->host_pending = false;
                t->host_known = true;
                cJSON_Delete(j);
                return;
        }
        err = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_IsString(err))
                snprintf(t->status, sizeof(t->status), "cg-wsd: %s", err->valuestring);
        else if (cJSON_GetObjectItemCaseSensitive(j, "version") &&
                 cJSON_GetObjectItemCaseSensitive(j, "value"))
                on_conf(t, j);
        else
                cJSON_ArrayForEach(c, j) {
                        int64_t slot;
                        if (slot_key(c->string, &slot))
                                on_sample(t, slot, c);
                }
        cJSON_Delete(j);
        if (t->cur_slot != newest || (t->prev && t->printed == 0 && t->iterations == 0))
                render(t);
}

/* ---- keyboard and signals ---- */

static void on_key(struct top *t, int ch) {
        int s;

        if (ch == 'q' || ch == 'Q') {
                t->quit = true;
                t->exit_code = 0;
                return;
        }
        s = top_sort_from_key(ch);
        if (s >= 0) {
                t->sort = (enum top_sort) s;
                render(t);
        }
}

static void read_keys(struct top *t, int fd) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n == 0) { /* the terminal went away */
                t->quit = true;
                return;
        }
        for (ssize_t i = 0; i < n && !t->quit; i++)
                on_key(t, (unsigned char) buf[i]);
}

static void read_signals(struct top *t) {
        struct signalfd_siginfo si;

        while (read(t->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                if (si.ssi_signo == SIGWINCH) {
                        term_size(t);
                        render(t);
                        continue;
                }
                t->quit = true;
                t->exit_code = 128 + (int) si.ssi_signo;
        }
}

/* Called every second by either loop. */
static bool tick_common(struct top *t) {
        uint64_t now = now_usec(CLOCK_MONOTONIC),
                 since = t->last_sample_usec ? t->last_sample_usec : t->started_usec;

        if (t->iterations && now - since > TOP_BATCH_TIMEOUT * USEC_PER_SEC) {
                fprintf(stderr, "cgarch: no new sample for %d s from %s%s%s: is cg-accountd "
                                "running?\n",
                        TOP_BATCH_TIMEOUT, t->source, *t->status ? ": " : "", t->status);
                t->quit = true;
                t->exit_code = CLI_EXIT_FAIL;
                return false;
        }
        if (!t->iterations && t->last_sample_usec && now - t->last_sample_usec > 3 * USEC_PER_SEC)
                snprintf(t->status, sizeof(t->status), "no new sample for %llu s",
                         (unsigned long long) ((now - t->last_sample_usec) / USEC_PER_SEC));
        return true;
}

/* ---- websocket (cg-wsd) ---- */

static void ws_send(struct top *t, const char *msg) {
        if (strv_extend(&t->outq, msg) >= 0 && t->wsi)
                lws_callback_on_writable(t->wsi);
}

static void ws_connect(struct top *t);

static void ws_retry(lws_sorted_usec_list_t *sul) {
        struct top *t = lws_container_of(sul, struct top, sul_retry);
        ws_connect(t);
}

static void ws_failed(struct top *t, const char *why) {
        t->connected = t->connecting = false;
        t->wsi = NULL;
        if (t->quit)
                return; /* closing on our way out */
        snprintf(t->status, sizeof(t->status), "cannot reach cg-wsd at %s: %s", t->source,
                 why ? why : "closed");
        if (t->iterations) {
                fprintf(stderr, "cgarch: %s\n", t->status);
                t->quit = true;
                t->exit_code = CLI_EXIT_FAIL;
                return;
        }
        render(t);
        lws_sul_schedule(t->ctx, 0, &t->sul_retry, ws_retry, TOP_RETRY_USEC);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len) {
        struct top *t = the_top;

        (void) user;
        switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
                if (t->token) {
                        unsigned char **p = in, *end = *p + len;
                        _cleanup_free_ char *v = NULL;
                        if (xasprintf(&v, "Bearer %s", t->token) < 0 ||
                            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                                         (unsigned char *) v, (int) strlen(v), p,
                                                         end))
                                return -1;
                }
                return 0;
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
                t->connected = true;
                t->connecting = false;
                t->status[0] = 0;
                t->outq = strv_free(t->outq);
                /* once: which host's cgroups these are (an old cg-wsd answers an error) */
                t->host_pending = !t->host_known;
                if (t->host_pending)
                        ws_send(t, "{\"cmd\": \"get_host\"}");
                ws_send(t, "{\"cmd\": \"get_conf\"}");
                ws_send(t, "{\"cmd\": \"show_account\", \"args\": {\"nr_slot\": 3}}");
                ws_send(t, "{\"cmd\": \"subscribe_account\"}");
                return 0;
        case LWS_CALLBACK_CLIENT_WRITEABLE: {
                unsigned char buf[LWS_PRE + 256];
                size_t n;

                if (!t->outq || !t->outq[0])
                        return 0;
                n = strlen(t->outq[0]);
                if (n > sizeof(buf) - LWS_PRE)
                        return -1;
                memcpy(buf + LWS_PRE, t->outq[0], n);
                if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int) n)
                        return -1;
                free(t->outq[0]);
                memmove(t->outq, t->outq + 1, strv_length(t->outq + 1) * sizeof(char *) + sizeof(char *));
                if (t->outq[0])
                        lws_callback_on_writable(wsi);
                return 0;
        }
        case LWS_CALLBACK_CLIENT_RECEIVE:
                if (lws_is_first_fragment(wsi)) {
                        strbuf_reset(&t->rx);
                        t->rx_too_big = false;
                }
                if (t->rx.len + len > TOP_MAX_MESSAGE)
                        t->rx_too_big = true; /* the rest is dropped; so is the message */
                else
                        (void) strbuf_append(&t->rx, in, len);
                if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
                        if (!t->rx_too_big && !t->rx.oom)
                                on_message(t, strbuf_text(&t->rx), t->rx.len);
                        strbuf_done(&t->rx);
                }
                return 0;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
                ws_failed(t, in && len ? (const char *) in : "connection failed");
                return 0;
        case LWS_CALLBACK_CLIENT_CLOSED:
                ws_failed(t, "cg-wsd closed the connection");
                return 0;
        default:
                return 0;
        }
}

static int raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len) {
        struct top *t = the_top;
        int fd;

        (void) user;
        (void) in;
        (void) len;
        if (reason != LWS_CALLBACK_RAW_RX_FILE)
                return 0;
        fd = lws_get_socket_fd(wsi);
        if (fd == t->sigfd_lws)
                read_signals(t);
        else
                read_keys(t, fd);
        return 0;
}

static void ws_connect(struct top *t) {
        struct lws_client_connect_info i = {};
        char host[300];

        if (t->connecting || t->connected)
                return;
        snprintf(host, sizeof(host), strchr(t->ws_host, ':') ? "[%s]:%u" : "%s:%u", t->ws_host,
                 t->ws_port);
        i.context = t->ctx;
        i.address = t->ws_host;
        i.port = (int) t->ws_port;
        i.path = "/";
        i.host = host;
        i.origin = NULL;
        i.local_protocol_name = "cgarch-top";
        i.pwsi = &t->wsi;
        t->connecting = true;
        if (!lws_client_connect_via_info(&i))
                ws_failed(t, "cannot start a connection");
}

static void ws_tick(lws_sorted_usec_list_t *sul) {
        struct top *t = lws_container_of(sul, struct top, sul_tick);

        if (!tick_common(t))
                return;
        if (t->connected && ++t->ticks % TOP_CONF_EVERY == 0)
                ws_send(t, "{\"cmd\": \"get_conf\"}"); /* weights change with the conf */
        if (!t->iterations)
                render(t);
        lws_sul_schedule(t->ctx, 0, &t->sul_tick, ws_tick, USEC_PER_SEC);
}

static int adopt(struct top *t, int fd) {
        lws_adopt_desc_t info = {};

        info.vh = lws_get_vhost_by_name(t->ctx, "default");
        info.type = LWS_ADOPT_RAW_FILE_DESC;
        info.fd.filefd = fd; /* lws owns it from now on */
        info.vh_prot_name = "cgarch-top-raw";
        return lws_adopt_descriptor_vhost_via_info(&info) ? 0 : -EIO;
}

static int run_ws(struct top *t) {
        static const struct lws_protocols protocols[] = {
                {"cgarch-top", ws_callback, 0, 64 * 1024, 0, NULL, 0},
                {"cgarch-top-raw", raw_callback, 0, 0, 0, NULL, 0},
                {NULL, NULL, 0, 0, 0, NULL, 0},
        };
        struct lws_context_creation_info info = {};
        int fd;

        /* lws prints to stderr, which is the screen in interactive mode */
        lws_set_log_level(t->iterations ? LLL_ERR : 0, NULL);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        info.pt_serv_buf_size = 256 * 1024;
        t->ctx = lws_create_context(&info);
        if (!t->ctx) {
                log_error("Failed to create the libwebsockets context");
                return CLI_EXIT_FAIL;
        }
        fd = dup(t->sigfd); /* lws closes what it adopted; t->sigfd stays ours */
        if (fd < 0 || adopt(t, fd) < 0) {
                log_error("Failed to watch signals");
                return CLI_EXIT_FAIL;
        }
        t->sigfd_lws = fd;
        if (t->tty && !t->iterations && ((fd = dup(STDIN_FILENO)) < 0 || adopt(t, fd) < 0)) {
                log_error("Failed to read the keyboard");
                return CLI_EXIT_FAIL;
        }
        ws_connect(t);
        lws_sul_schedule(t->ctx, 0, &t->sul_tick, ws_tick, USEC_PER_SEC);
        render(t);
        while (!t->quit)
                if (lws_service(t->ctx, 0) < 0)
                        break;
        lws_sul_cancel(&t->sul_tick);
        lws_sul_cancel(&t->sul_retry);
        lws_context_destroy(t->ctx);
        t->ctx = NULL;
        return t->exit_code;
}

/* ---- Redis ---- */

static int redis_open(struct top *t) {
        struct timeval tv = {.tv_sec = 2};
        redisReply *rep;

        if (t->rc)
                return 0;
        if (t->redis_addr[0] == '/')
                t->rc = redisConnectUnixWithTimeout(t->redis_addr, tv);
        else {
                _cleanup_free_ char *host = strdup(t->redis_addr);
                char *colon = host ? strrchr(host, ':') : NULL;
                uint64_t port = 6379;

                if (!host)
                        return -ENOMEM;
                if (colon) {
                        *colon = 0;
                        if (safe_atou64(colon + 1, &port) < 0 || port == 0 || port > 65535)
                                return -EINVAL;
                }
                t->rc = redisConnectWithTimeout(*host ? host : "127.0.0.1", (int) port, tv);
        }
        if (!t->rc || t->rc->err) {
                snprintf(t->status, sizeof(t->status), "cannot reach Redis at %s: %s",
                         t->redis_addr, t->rc ? t->rc->errstr : "out of memory");
                if (t->rc)
                        redisFree(t->rc);
                t->rc = NULL;
                return -ECONNREFUSED;
        }
        (void) redisSetTimeout(t->rc, tv);
        if (t->password) {
                rep = redisCommand(t->rc, "AUTH %s", t->password);
                if (!rep || rep->type == REDIS_REPLY_ERROR) {
                        snprintf(t->status, sizeof(t->status), "Redis at %s refused AUTH",
                                 t->redis_addr);
                        if (rep)
                                freeReplyObject(rep);
                        redisFree(t->rc);
                        t->rc = NULL;
                        return -EACCES;
                }
                freeReplyObject(rep);
        }
        return 0;
}

/* The newest samples (the last 4 slots) and, every TOP_CONF_EVERY s, the applied conf. */
static void redis_tick(struct top *t) {
        int64_t now = (int64_t) ((now_usec(CLOCK_REALTIME) + USEC_PER_SEC / 2) / USEC_PER_SEC);
        int64_t newest = t->cur_slot;
        redisReply *rep;

        if (redis_open(t) < 0)
                return;
        rep = redisCommand(t->rc, "MGET %s/account/%lld %s/account/%lld %s/account/%lld "
                                  "%s/account/%lld",
                           t->prefix, (long long) now - 3, t->prefix, (long long) now - 2,
                           t->prefix, (long long) now - 1, t->prefix, (long long) now);
        if (!rep) {
                snprintf(t->status, sizeof(t->status), "Redis at %s: %s", t->redis_addr,
                         t->rc->errstr);
                redisFree(t->rc);
                t->rc = NULL;
                return;
        }
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
                redisReply *e = rep->element[i];
                cJSON *j;

                if (e->type != REDIS_REPLY_STRING)
                        continue;
                j = cJSON_ParseWithLength(e->str, e->len);
                on_sample(t, now - 3 + (int64_t) i, j);
                cJSON_Delete(j);
        }
        freeReplyObject(rep);
        if (t->ticks++ % TOP_CONF_EVERY == 0) {
                rep = redisCommand(t->rc, "GET %s/arch_conf", t->prefix);
                if (rep && rep->type == REDIS_REPLY_STRING) {
                        cJSON *j = cJSON_ParseWithLength(rep->str, rep->len);
                        on_conf(t, j);
                        cJSON_Delete(j);
                }
                if (rep)
                        freeReplyObject(rep);
        }
        if (t->cur_slot != newest)
                t->status[0] = 0;
        if (t->cur_slot != newest || !t->iterations)
                render(t);
}

static int run_redis(struct top *t) {
        uint64_t next = now_usec(CLOCK_MONOTONIC);

        render(t);
        while (!t->quit) {
                struct pollfd p[2] = {{.fd = t->sigfd, .events = POLLIN},
                                      {.fd = STDIN_FILENO, .events = POLLIN}};
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                int n = t->tty && !t->iterations ? 2 : 1;

                if (now >= next) {
                        if (!tick_common(t))
                                break;
                        redis_tick(t);
                        next += USEC_PER_SEC;
                        if (next < now)
                                next = now + USEC_PER_SEC;
                        continue;
                }
                if (poll(p, (nfds_t) n, (int) ((next - now + 999) / 1000)) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        read_signals(t);
                if (n > 1 && p[1].revents)
                        read_keys(t, STDIN_FILENO);
        }
        if (t->rc)
                redisFree(t->rc);
        t->rc = NULL;
        return t->exit_code;
}

/* ---- the command ---- */

static void top_help(void) {
        printf("Usage: cgarch top [-n N] [-s KEY] [--redis HOST:PORT|/SOCKET] [--ws HOST:PORT]\n"
               "Shows the managed cgroups like systemd-cgtop, from the accounting samples: CPU %%\n"
               "(of one CPU), CPU throttling %%, IO read and write rates, memory, tasks, pressure\n"
               "(%% of time some task stalled; c/i/m: cpu, io or memory), and the share and IO\n"
               "weight of the applied conf. \"-\" where a sample has no figure.\n\n"
               "  -n, --iterations N  print N tables, one per sample, plain text, then exit\n"
               "  -s, --sort KEY      cpu (default), io, memory, pressure or tree\n"
               "      --ws HOST:PORT  cg-wsd's websocket (default: [wsd] bind and port)\n"
               "      --redis ADDR    read Redis directly: HOST:PORT or a unix socket path\n"
               "                      ([redis] prefix and password of the config)\n\n"
               "Keys: c cpu, i io, m memory, p pressure, t tree (sort), q quit.\n");
}

/* [wsd] bind as a place to connect to: an any-address means this host. */
static const char *connect_host(const char *bind) {
        if (!bind || !*bind || strcmp(bind, "0.0.0.0") == 0 || strcmp(bind, "*") == 0)
                return "127.0.0.1";
        if (strcmp(bind, "::") == 0)
                return "::1";
        return bind;
}

int cli_cmd_top(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"iterations", required_argument, NULL, 'n'},
                {"sort", required_argument, NULL, 's'},
                {"redis", required_argument, NULL, 'R'},
                {"ws", required_argument, NULL, 'W'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct top t = {.sort = TOP_SORT_CPU, .sigfd = -1, .sigfd_lws = -1, .conf_version = -1};
        _cleanup_free_ char *source = NULL;
        const char *ws_arg = NULL;
        const struct cfg *cfg;
        uint64_t v;
        sigset_t ss;
        int o, r;

        while ((o = getopt_long(argc, argv, "n:s:h", opts, NULL)) >= 0)
                switch (o) {
                case 'n':
                        if (safe_atou64(optarg, &v) < 0 || v == 0 || v > 1000000) {
                                fprintf(stderr, "cgarch: top -n takes a count from 1\n");
                                return CLI_EXIT_USAGE;
                        }
                        t.iterations = (unsigned) v;
                        break;
                case 's':
                        r = top_sort_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "cgarch: top -s takes cpu, io, memory, "
                                                "pressure or tree\n");
                                return CLI_EXIT_USAGE;
                        }
                        t.sort = (enum top_sort) r;
                        break;
                case 'R':
                        t.redis_addr = optarg;
                        break;
                case 'W':
                        ws_arg = optarg;
                        break;
                case 'h':
                        top_help();
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "cgarch: top takes no operands (see cgarch top --help)\n");
                return CLI_EXIT_USAGE;
        }
        cfg = cli_cfg(c);
        if (!cfg)
                return CLI_EXIT_USAGE;
        t.prefix = cfg->redis.prefix;
        t.password = cfg->redis.password;
        t.token = cfg->wsd.token;
        if (t.redis_addr) {
                r = xasprintf(&source, "redis %s", t.redis_addr);
                snprintf(t.host, sizeof(t.host), "redis %s prefix %s", t.redis_addr,
                         t.prefix ? t.prefix : "");
        }
        else {
                const char *colon = ws_arg ? strrchr(ws_arg, ':') : NULL;

                t.ws_port = cfg->wsd.port;
                if (ws_arg && colon) {
                        if (safe_atou64(colon + 1, &v) < 0 || v == 0 || v > 65535) {
                                fprintf(stderr, "cgarch: top --ws takes HOST:PORT\n");
                                return CLI_EXIT_USAGE;
                        }
                        t.ws_port = (unsigned) v;
                        t.ws_host = strndup(ws_arg, (size_t) (colon - ws_arg));
                } else
                        t.ws_host = strdup(ws_arg ? ws_arg : connect_host(cfg->wsd.bind));
                if (!t.ws_host)
                        return CLI_EXIT_FAIL;
                /* "[::1]" -> "::1" */
                if (t.ws_host[0] == '[' && t.ws_host[strlen(t.ws_host) - 1] == ']') {
                        memmove(t.ws_host, t.ws_host + 1, strlen(t.ws_host));
                        t.ws_host[strlen(t.ws_host) - 1] = 0;
                }
                r = xasprintf(&source, strchr(t.ws_host, ':') ? "ws://[%s]:%u/" : "ws://%s:%u/",
                              t.ws_host, t.ws_port);
                snprintf(t.host, sizeof(t.host), "%s", t.ws_host);
        }
        if (r < 0) {
                free(t.ws_host);
                return CLI_EXIT_FAIL;
        }
        t.source = source;
        t.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (!t.iterations && !t.tty) {
                free(t.ws_host);
                fprintf(stderr, "cgarch: top needs a terminal; use -n N for plain output\n");
                return CLI_EXIT_USAGE;
        }

        /* signals through a descriptor: no handler runs between our writes to the terminal */
        sigemptyset(&ss);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGWINCH);
        (void) signal(SIGPIPE, SIG_IGN);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0 ||
            (t.sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
                free(t.ws_host);
                log_error_errno(-errno, "Failed to set up signals: %m");
                return CLI_EXIT_FAIL;
        }
        if (!t.iterations && (r = term_setup(&t)) < 0) {
                log_error_errno(r, "Failed to set up the terminal: %m");
                close(t.sigfd);
                free(t.ws_host);
                return CLI_EXIT_FAIL;
        }
        t.started_usec = now_usec(CLOCK_MONOTONIC);
        the_top = &t;
        r = t.redis_addr ? run_redis(&t) : run_ws(&t);
        term_restore(&t);
        the_top = NULL;
        if (t.sigfd >= 0)
                close(t.sigfd);
        cJSON_Delete(t.prev);
        cJSON_Delete(t.cur);
        cJSON_Delete(t.conf);
        strbuf_done(&t.rx);
        strv_free(t.outq);
        free(t.ws_host);
        return r;
}
