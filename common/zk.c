/* zk.c — see zk.h. Threads: the client's io and completion threads only run the static
 * callbacks below, which copy into a zk_event and push it under z->lock; everything else runs
 * on the caller's (loop) thread. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include <openssl/evp.h>

#include "util.h"
#include "zk.h"

struct zk_auth {
        char *scheme;
        char *cred;
};

/* The context of one session: freed after zookeeper_close() returned (no callback left). */
struct zk_sess {
        struct zk *z;
        uint64_t gen;
};

/* One request in flight: owned by the client until its completion runs (which frees it). */
struct zk_req {
        struct zk *z;
        uint64_t gen;
        uint64_t cookie;
        enum zk_op op;
};

struct zk_qent {
        struct zk_qent *next;
        uint64_t gen;
        struct zk_event *ev;
};

struct zk {
        char *hosts;
        int session_timeout_ms;
        struct zk_auth *auth;
        size_t n_auth;
        int efd;

        zhandle_t *zh;        /* loop thread only */
        struct zk_sess *sess; /* context of zh */
        uint64_t next_cookie; /* for the blocking helpers */
        size_t n_auth_added;  /* auths handed to the current session so far */

        pthread_mutex_t lock; /* protects gen, head, tail */
        uint64_t gen;
        struct zk_qent *head, *tail;
};

/* ---- pure helpers ---- */

int zk_errno(int zrc) {
        switch (zrc) {
        case ZOK:
                return 0;
        case ZNONODE:
                return -ENOENT;
        case ZNOAUTH:
                return -EACCES;
        case ZAUTHFAILED:
        case ZSESSIONCLOSEDREQUIRESASLAUTH:
                return -EPERM;
        case ZBADVERSION:
                return -ESTALE;
        case ZNODEEXISTS:
                return -EEXIST;
        case ZNOTEMPTY:
                return -ENOTEMPTY;
        case ZCONNECTIONLOSS:
                return -ENOTCONN;
        case ZOPERATIONTIMEOUT:
                return -ETIMEDOUT;
        case ZSESSIONEXPIRED:
        case ZINVALIDSTATE:
        case ZSESSIONMOVED:
                return -ECONNRESET;
        case ZCLOSING:
                return -ECANCELED;
        case ZBADARGUMENTS:
        case ZINVALIDACL:
        case ZNOCHILDRENFOREPHEMERALS:
                return -EINVAL;
        case ZMARSHALLINGERROR:
                return -EPROTO;
        case ZTHROTTLEDOP:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

const char *zk_rc_string(int zrc) {
        return zerror(zrc);
}

int zk_auth_parse(const char *s, char **ret_scheme, char **ret_cred) {
        const char *colon;
        char *scheme, *cred;

        if (!s)
                return -EINVAL;
        colon = strchr(s, ':');
        if (!colon || colon == s || colon[1] == 0)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return -EINVAL;
        for (const char *p = s; p < colon; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return -EINVAL;
        if ((size_t) (colon - s) == 6 && strncmp(s, "digest", 6) == 0) {
                const char *c2 = strchr(colon + 1, ':');
                if (!c2 || c2 == colon + 1)
                        return -EINVAL; /* digest needs "user:password" with a user */
        }
        scheme = strndup(s, (size_t) (colon - s));
        cred = strdup(colon + 1);
        if (!scheme || !cred) {
                free(scheme);
                free(cred);
                return -ENOMEM;
        }
        *ret_scheme = scheme;
        *ret_cred = cred;
        return 0;
}

int zk_auth_user(const char *s, char **ret) {
        _cleanup_free_ char *scheme = NULL, *cred = NULL;
        char *u, *c;
        int r;

        r = zk_auth_parse(s, &scheme, &cred);
        if (r < 0)
                return r;
        c = strchr(cred, ':');
        u = c ? strndup(cred, (size_t) (c - cred)) : strdup(cred);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

int zk_hosts_check(const char *hosts) {
        const char *p, *end;

        if (!hosts || !*hosts)
                return -EINVAL;
        end = strchr(hosts, '/');
        if (end) {
                if (!zk_path_is_valid(end) || strcmp(end, "/") == 0)
                        return -EINVAL;
        } else
                end = hosts + strlen(hosts);
        if (end == hosts)
                return -EINVAL; /* "/chroot" alone: no host at all */

        p = hosts;
        while (p < end) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                const char *item_end = comma ? comma : end;
                const char *colon = NULL;
                uint64_t port = 0;
                size_t nd = 0;

                /* [v6addr]:port, or host:port (the last ':' separates the port) */
                for (const char *q = p; q < item_end; q++)
                        if (*q == ':')
                                colon = q;
                if (!colon || colon == p || colon + 1 == item_end)
                        return -EINVAL;
                for (const char *q = p; q < colon; q++)
                        if ((unsigned char) *q <= 0x20 || *q == 0x7f)
                                return -EINVAL;
                for (const char *q = colon + 1; q < item_end; q++) {
                        if (*q < '0' || *q > '9' || ++nd > 5)
                                return -EINVAL;
                        port = port * 10 + (uint64_t) (*q - '0');
                }
                if (port < 1 || port > 65535)
                        return -EINVAL;
                if (!comma)
                        break;
                p = comma + 1;
                if (p == end)
                        return -EINVAL; /* trailing comma */
        }
        return 0;
}

bool zk_path_is_valid(const char *path) {
        const char *p;

        if (!path || path[0] != '/')
                return false;
        if (path[1] == 0)
                return true;
        for (p = path; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        p = path;
        while (*p) {
                const char *c = p + 1, *n = strchr(c, '/');
                size_t l = n ? (size_t) (n - c) : strlen(c);
                if (l == 0)
                        return false; /* "//" or trailing '/' */
                if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!n)
                        break;
                p = n;
        }
        return true;
}

int zk_path_join(const char *prefix, const char *name, char **ret) {
        if (!zk_path_is_valid(prefix) || !name || !*name || strchr(name, '/') ||
            strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        for (const char *c = name; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return -EINVAL; /* as zk_path_is_valid(): the result must be valid */
        return xasprintf(ret, "%s/%s", strcmp(prefix, "/") == 0 ? "" : prefix, name);
}

int zk_path_parents(const char *path, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p;
        int r;

        if (!zk_path_is_valid(path))
                return -EINVAL;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
                char *s = strndup(path, (size_t) (p - path));
                if (!s)
                        return -ENOMEM;
                r = strv_push(&l, s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void zk_log_parse(const char *line, int *ret_priority, const char **ret_msg) {
        static const struct {
                const char *marker;
                int prio;
        } levels[] = {
                {":ZOO_ERROR@", LOG_ERR},
                {":ZOO_WARN@", LOG_WARNING},
                {":ZOO_INFO@", LOG_INFO},
                {":ZOO_DEBUG@", LOG_DEBUG},
        };

        for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
                const char *m = strstr(line, levels[i].marker);
                if (m) {
                        *ret_priority = levels[i].prio;
                        *ret_msg = m + strlen(levels[i].marker);
                        return;
                }
        }
        *ret_priority = LOG_INFO;
        *ret_msg = line;
}

/* ---- the client's log ---- */

static zk_log_fn log_handler;
static int log_max_priority = LOG_WARNING;
static bool log_configured; /* zk_set_log_handler() was called */

static void zk_log_line(const char *message) {
        char buf[1024];
        const char *msg;
        size_t l;
        int prio;

        if (!log_handler)
                return;
        zk_log_parse(message, &prio, &msg);
        if (prio > log_max_priority)
                return;
        /* drop the trailing newline the client adds */
        l = strlen(msg);
        while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
                l--;
        if (l >= sizeof(buf))
                l = sizeof(buf) - 1;
        memcpy(buf, msg, l);
        buf[l] = 0;
        log_handler(prio, buf);
}

/* Messages logged without a handle's callback go to the log stream: a fopencookie stream that
 * splits them into lines for the same handler. The stream is line-buffered and stdio locks it,
 * so one write() call is always one whole line. */
static ssize_t zk_log_stream_write(void *cookie, const char *buf, size_t size) {
        char line[1024];
        size_t l = MIN(size, sizeof(line) - 1);

        (void) cookie;
        memcpy(line, buf, l);
        line[l] = 0;
        zk_log_line(line);
        return (ssize_t) size;
}

void zk_set_log_handler(zk_log_fn fn, int max_priority) {
        static FILE *stream;

        log_handler = fn;
        log_max_priority = max_priority;
        log_configured = true;
        if (!stream) {
                cookie_io_functions_t io = {.write = zk_log_stream_write};
                stream = fopencookie(NULL, "w", io);
                if (stream) {
                        setvbuf(stream, NULL, _IOLBF, 0);
                        zoo_set_log_stream(stream);
                }
        }
        if (!fn)
                zoo_set_debug_level(0);
        else if (max_priority >= LOG_DEBUG)
                zoo_set_debug_level(ZOO_LOG_LEVEL_DEBUG);
        else if (max_priority >= LOG_INFO)
                zoo_set_debug_level(ZOO_LOG_LEVEL_INFO);
        else if (max_priority >= LOG_WARNING)
                zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
        else
                zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
}

/* ---- the queue (any thread) ---- */

struct zk_event *zk_event_free(struct zk_event *e) {
        if (!e)
                return NULL;
        free(e->path);
        free(e->data);
        free(e);
        return NULL;
}

static void zk_push(struct zk *z, uint64_t gen, struct zk_event *ev) {
        struct zk_qent *q = calloc(1, sizeof(*q));
        uint64_t one = 1;

        if (!q) {
                /* Out of memory on a client thread: nothing sane to do but drop it; the reconcile
                 * timer re-reads anyway. */
                zk_event_free(ev);
                return;
        }
        q->gen = gen;
        q->ev = ev;
        pthread_mutex_lock(&z->lock);
        if (z->tail)
                z->tail->next = q;
        else
                z->head = q;
        z->tail = q;
        pthread_mutex_unlock(&z->lock);
        (void) !write(z->efd, &one, sizeof(one));
}

static enum zk_state zk_state_from(int state) {
        if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE)
                return ZK_STATE_CONNECTED;
        if (state == ZOO_EXPIRED_SESSION_STATE)
                return ZK_STATE_EXPIRED;
        if (state == ZOO_AUTH_FAILED_STATE)
                return ZK_STATE_AUTH_FAILED;
        return ZK_STATE_CONNECTING;
}

static void zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
        struct zk_sess *s = ctx;
        struct zk_event *ev;

        (void) zh;
        if (!s)
                return;
        ev = calloc(1, sizeof(*ev));
        if (!ev)
                return;
        ev->version = -1;
        if (type == ZOO_SESSION_EVENT) {
                ev->type = ZK_EVENT_SESSION;
                ev->state = zk_state_from(state);
        } else {
                ev->type = ZK_EVENT_WATCH;
                ev->watch = type == ZOO_CREATED_EVENT   ? ZK_WATCH_CREATED
                            : type == ZOO_DELETED_EVENT ? ZK_WATCH_DELETED
                            : type == ZOO_CHANGED_EVENT ? ZK_WATCH_CHANGED
                            : type == ZOO_CHILD_EVENT   ? ZK_WATCH_CHILD
                                                        : ZK_WATCH_OTHER;
                ev->path = path ? strdup(path) : NULL;
        }
        zk_push(s->z, s->gen, ev);
}

static void zk_done(const void *data, int rc, const char *value, int value_len,
                    const struct Stat *stat) {
        struct zk_req *req = (struct zk_req *) data;
        struct zk_event *ev = calloc(1, sizeof(*ev));

        if (ev) {
                ev->type = ZK_EVENT_DONE;
                ev->op = req->op;
                ev->cookie = req->cookie;
                ev->zrc = rc;
                ev->err = zk_errno(rc);
                ev->version = rc == ZOK && stat ? stat->version : -1;
                if (req->op == ZK_OP_CREATE && rc == ZOK)
                        ev->version = 0;
                if (rc == ZOK && req->op == ZK_OP_GET) {
                        size_t l = value && value_len > 0 ? (size_t) value_len : 0;
                        ev->data = malloc(l + 1);
                        if (ev->data) {
                                if (l)
                                        memcpy(ev->data, value, l);
                                ev->data[l] = 0;
                                ev->len = l;
                        } else {
                                ev->zrc = ZSYSTEMERROR;
                                ev->err = -ENOMEM;
                        }
                }
                zk_push(req->z, req->gen, ev);
        }
        free(req);
}

static void zk_data_cb(int rc, const char *value, int value_len, const struct Stat *stat,
                       const void *data) {
        zk_done(data, rc, value, value_len, stat);
}
static void zk_stat_cb(int rc, const struct Stat *stat, const void *data) {
        zk_done(data, rc, NULL, 0, stat);
}
static void zk_void_cb(int rc, const void *data) {
        zk_done(data, rc, NULL, 0, NULL);
}
static void zk_string_cb(int rc, const char *value, const void *data) {
        (void) value;
        zk_done(data, rc, NULL, 0, NULL);
}

/* ---- handle ---- */

int zk_new(const char *hosts, int session_timeout_ms, char *const *auth, struct zk **ret) {
        struct zk *z;
        int r;

        r = zk_hosts_check(hosts);
        if (r < 0)
                return r;
        if (session_timeout_ms <= 0)
                return -EINVAL;
        for (size_t i = 0; auth && auth[i]; i++) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                r = zk_auth_parse(auth[i], &a, &b);
                if (r < 0)
                        return r;
        }

        if (!log_configured)
                zk_set_log_handler(NULL, LOG_WARNING); /* quiet unless asked */

        z = calloc(1, sizeof(*z));
        if (!z)
                return -ENOMEM;
        pthread_mutex_init(&z->lock, NULL);
        z->efd = -1;
        z->session_timeout_ms = session_timeout_ms;
        z->next_cookie = 1ULL << 63;
        z->hosts = strdup(hosts);
        if (!z->hosts)
                goto nomem;
        z->n_auth = strv_length(auth);
        if (z->n_auth) {
                z->auth = calloc(z->n_auth, sizeof(*z->auth));
                if (!z->auth)
                        goto nomem;
                for (size_t i = 0; i < z->n_auth; i++) {
                        r = zk_auth_parse(auth[i], &z->auth[i].scheme, &z->auth[i].cred);
                        if (r < 0) {
                                zk_free(z);
                                return r;
                        }
                }
        }
        z->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (z->efd < 0) {
                r = negative_errno();
                zk_free(z);
                return r;
        }
        *ret = z;
        return 0;
nomem:
        zk_free(z);
        return -ENOMEM;
}

static void zk_queue_drop(struct zk *z) {
        struct zk_qent *q;

        pthread_mutex_lock(&z->lock);
        q = z->head;
        z->head = z->tail = NULL;
        pthread_mutex_unlock(&z->lock);
        while (q) {
                struct zk_qent *n = q->next;
                zk_event_free(q->ev);
                free(q);
                q = n;
        }
}

void zk_disconnect(struct zk *z) {
        if (!z || !z->zh)
                return;
        /* Later events of this session are stale from now on. */
        pthread_mutex_lock(&z->lock);
        z->gen++;
        pthread_mutex_unlock(&z->lock);
        /* Blocks until the client's threads are gone; pending completions run (ZCLOSING) and
         * push stale events, dropped by zk_next_event(). */
        (void) zookeeper_close(z->zh);
        z->zh = NULL;
        z->sess = mfree(z->sess);
}

struct zk *zk_free(struct zk *z) {
        if (!z)
                return NULL;
        zk_disconnect(z);
        zk_queue_drop(z);
        for (size_t i = 0; i < z->n_auth; i++) {
                free(z->auth[i].scheme);
                free(z->auth[i].cred);
        }
        free(z->auth);
        free(z->hosts);
        closep(&z->efd);
        pthread_mutex_destroy(&z->lock);
        free(z);
        return NULL;
}

int zk_fd(const struct zk *z) {
        return z->efd;
}

int64_t zk_session_id(const struct zk *z) {
        const clientid_t *c;

        if (!z->zh)
                return 0;
        c = zoo_client_id(z->zh);
        return c ? c->client_id : 0;
}

int zk_session_timeout_ms(const struct zk *z) {
        if (!z->zh || zoo_state(z->zh) != ZOO_CONNECTED_STATE)
                return 0;
        return zoo_recv_timeout(z->zh);
}

static struct zk_req *zk_req_new(struct zk *z, enum zk_op op, uint64_t cookie) {
        struct zk_req *req = calloc(1, sizeof(*req));

        if (!req)
                return NULL;
        req->z = z;
        req->op = op;
        req->cookie = cookie;
        req->gen = z->sess ? z->sess->gen : 0;
        return req;
}

/* Adds the auths not added yet to the current session. The client keeps them and sends them
 * on every (re)connect of the session, ahead of any request made after this call. But it
 * refuses them (ZINVALIDSTATE) while its socket is closed between connection attempts
 * (ZOOKEEPER-800); then -EAGAIN, and zk_next_event() retries when CONNECTED arrives, before the
 * caller sees that event and sends anything. */
static int zk_auth_flush(struct zk *z) {
        while (z->n_auth_added < z->n_auth) {
                const struct zk_auth *a = &z->auth[z->n_auth_added];
                struct zk_req *req = zk_req_new(z, ZK_OP_AUTH, 0);
                int r;

                if (!req)
                        return -ENOMEM;
                r = zoo_add_auth(z->zh, a->scheme, a->cred, (int) strlen(a->cred), zk_void_cb, req);
                if (r != ZOK) {
                        free(req);
                        if (r == ZINVALIDSTATE && !is_unrecoverable(z->zh))
                                return -EAGAIN;
                        return zk_errno(r);
                }
                z->n_auth_added++;
        }
        return 0;
}

int zk_connect(struct zk *z) {
        struct zk_sess *s;
        zhandle_t *zh;
        uint64_t gen;
        int r;

        zk_disconnect(z);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        pthread_mutex_lock(&z->lock);
        gen = ++z->gen;
        pthread_mutex_unlock(&z->lock);
        s->z = z;
        s->gen = gen;
        errno = 0;
        zh = zookeeper_init2(z->hosts, zk_watcher, z->session_timeout_ms, NULL, s, 0,
                             log_handler ? zk_log_line : NULL);
        if (!zh) {
                r = negative_errno();
                free(s);
                return r;
        }
        z->zh = zh;
        z->sess = s;
        z->n_auth_added = 0;
        r = zk_auth_flush(z);
        return r == -EAGAIN ? 0 : r;
}

int zk_next_event(struct zk *z, struct zk_event **ret) {
        for (;;) {
                struct zk_qent *q;
                uint64_t v;
                bool stale;

                pthread_mutex_lock(&z->lock);
                q = z->head;
                if (q) {
                        z->head = q->next;
                        if (!z->head)
                                z->tail = NULL;
                        stale = q->gen != z->gen;
                } else {
                        /* Empty: clear the eventfd under the lock, so a push after this point
                         * sets it again and no wakeup is lost. */
                        (void) !read(z->efd, &v, sizeof(v));
                        stale = false;
                }
                pthread_mutex_unlock(&z->lock);
                if (!q)
                        return 0;
                if (stale) {
                        zk_event_free(q->ev);
                        free(q);
                        continue;
                }
                if (q->ev->type == ZK_EVENT_SESSION && q->ev->state == ZK_STATE_CONNECTED &&
                    z->zh && z->n_auth_added < z->n_auth)
                        (void) zk_auth_flush(z); /* a failure shows as ZNOAUTH on reads */
                *ret = q->ev;
                free(q);
                return 1;
        }
}

/* The start of an asynchronous request: -ENOTCONN without a session, else *ret is a new request
 * for the callback, owned by the client once zk_req_sent() saw it submitted. */
static int zk_req_begin(struct zk *z, enum zk_op op, uint64_t cookie, struct zk_req **ret) {
        if (!z->zh)
                return -ENOTCONN;
        *ret = zk_req_new(z, op, cookie);
        return *ret ? 0 : -ENOMEM;
}

/* zrc: what the zoo_a*() call returned; a refused request was never handed over, so it is ours. */
static int zk_req_sent(struct zk_req *req, int zrc) {
        if (zrc == ZOK)
                return 0;
        free(req);
        return zk_errno(zrc);
}

int zk_get(struct zk *z, const char *path, bool watch, uint64_t cookie) {
        struct zk_req *req;
        int r;

        r = zk_req_begin(z, ZK_OP_GET, cookie, &req);
        if (r < 0)
                return r;
        return zk_req_sent(req, zoo_aget(z->zh, path, watch, zk_data_cb, req));
}

int zk_exists(struct zk *z, const char *path, bool watch, uint64_t cookie) {
        struct zk_req *req;
        int r;

        r = zk_req_begin(z, ZK_OP_EXISTS, cookie, &req);
        if (r < 0)
                return r;
        return zk_req_sent(req, zoo_aexists(z->zh, path, watch, zk_stat_cb, req));
}

int zk_set(struct zk *z, const char *path, const void *data, size_t len, int expected_version,
           uint64_t cookie) {
        struct zk_req *req;
        int r;

        if (len > INT_MAX)
                return -EFBIG;
        r = zk_req_begin(z, ZK_OP_SET, cookie, &req);
        if (r < 0)
                return r;
        return zk_req_sent(req, zoo_aset(z->zh, path, data, (int) len, expected_version,
                                         zk_stat_cb, req));
}

int zk_create(struct zk *z, const char *path, const void *data, size_t len,
              const struct ACL_vector *acl, uint64_t cookie) {
        struct zk_req *req;
        int r;

        if (len > INT_MAX)
                return -EFBIG;
        r = zk_req_begin(z, ZK_OP_CREATE, cookie, &req);
        if (r < 0)
                return r;
        return zk_req_sent(req, zoo_acreate(z->zh, path, data, data ? (int) len : -1,
                                            acl ? acl : &ZOO_OPEN_ACL_UNSAFE, 0, zk_string_cb,
                                            req));
}

/* ---- ACLs ---- */

int zk_digest_id(const char *auth, char **ret) {
        _cleanup_free_ char *scheme = NULL, *cred = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
        const char *colon;
        int r;

        r = zk_auth_parse(auth, &scheme, &cred);
        if (r < 0)
                return r;
        if (strcmp(scheme, "digest") != 0)
                return -EINVAL;
        colon = strchr(cred, ':');
        if (!colon)
                return -EINVAL;
        /* The digest scheme's id: what the server computes from the addauth credential. */
        if (EVP_Digest(cred, strlen(cred), md, &mdlen, EVP_sha1(), NULL) != 1)
                return -EIO;
        EVP_EncodeBlock((unsigned char *) b64, md, (int) mdlen);
        return xasprintf(ret, "%.*s:%s", (int) (colon - cred), cred, b64);
}

struct ACL_vector *zk_acl_free(struct ACL_vector *acl) {
        if (!acl)
                return NULL;
        for (int32_t i = 0; i < acl->count; i++) {
                free(acl->data[i].id.scheme);
                free(acl->data[i].id.id);
        }
        free(acl->data);
        free(acl);
        return NULL;
}

int zk_acl_new(char *const *admins, char *const *readers, struct ACL_vector **ret) {
        _cleanup_(zk_acl_freep) struct ACL_vector *acl = NULL;
        size_t na = strv_length((char **) admins), nr = strv_length((char **) readers);
        int r;

        if (na == 0)
                return -EINVAL;
        acl = calloc(1, sizeof(*acl));
        if (!acl)
                return -ENOMEM;
        acl->data = calloc(na + nr, sizeof(*acl->data));
        if (!acl->data)
                return -ENOMEM;
        for (size_t i = 0; i < na + nr; i++) {
                struct ACL *e = &acl->data[acl->count];
                r = zk_digest_id(i < na ? admins[i] : readers[i - na], &e->id.id);
                if (r < 0)
                        return r;
                e->id.scheme = strdup("digest");
                if (!e->id.scheme) {
                        free(e->id.id);
                        return -ENOMEM;
                }
                e->perms = i < na ? ZOO_PERM_ALL : ZOO_PERM_READ;
                acl->count++;
        }
        *ret = TAKE_PTR(acl);
        return 0;
}

const struct ACL_vector *zk_acl_creator(void) {
        return &ZOO_CREATOR_ALL_ACL;
}

int zk_delete(struct zk *z, const char *path, int expected_version, uint64_t cookie) {
        struct zk_req *req;
        int r;

        r = zk_req_begin(z, ZK_OP_DELETE, cookie, &req);
        if (r < 0)
                return r;
        return zk_req_sent(req, zoo_adelete(z->zh, path, expected_version, zk_void_cb, req));
}

/* ---- blocking helpers ---- */

static int zk_wait_fd(struct zk *z, uint64_t deadline_usec) {
        struct pollfd p = {.fd = z->efd, .events = POLLIN};
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int ms, r;

        if (now >= deadline_usec)
                return -ETIMEDOUT;
        ms = (int) MIN((deadline_usec - now + 999) / 1000, (uint64_t) INT_MAX);
        r = poll(&p, 1, ms);
        if (r < 0)
                return errno == EINTR ? 0 : negative_errno();
        return 0;
}

/* The next event, waiting on the queue for it until deadline_usec (-ETIMEDOUT). */
static int zk_next_event_wait(struct zk *z, uint64_t deadline_usec, struct zk_event **ret) {
        int r;

        for (;;) {
                r = zk_next_event(z, ret);
                if (r != 0)
                        return r < 0 ? r : 0; /* 1: got one */
                r = zk_wait_fd(z, deadline_usec);
                if (r < 0)
                        return r;
        }
}

int zk_wait_connected(struct zk *z, uint64_t deadline_usec) {
        int r;

        if (!z->zh) {
                r = zk_connect(z);
                if (r < 0)
                        return r;
        }
        if (zoo_state(z->zh) == ZOO_CONNECTED_STATE) {
                r = zk_auth_flush(z);
                if (r != -EAGAIN)
                        return r;
        }
        for (;;) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;

                r = zk_next_event_wait(z, deadline_usec, &ev);
                if (r < 0)
                        return r;
                if (ev->type == ZK_EVENT_SESSION) {
                        if (ev->state == ZK_STATE_CONNECTED)
                                return 0;
                        if (ev->state == ZK_STATE_EXPIRED)
                                return -ECONNRESET;
                        if (ev->state == ZK_STATE_AUTH_FAILED)
                                return -EPERM;
                } else if (ev->type == ZK_EVENT_DONE && ev->op == ZK_OP_AUTH && ev->err == -EPERM)
                        return -EPERM; /* refused; a connection loss just means "resent later" */
        }
}

int zk_wait_done(struct zk *z, uint64_t cookie, uint64_t deadline_usec, struct zk_event **ret) {
        int r;

        for (;;) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;

                r = zk_next_event_wait(z, deadline_usec, &ev);
                if (r < 0)
                        return r;
                if (ev->type == ZK_EVENT_SESSION &&
                    (ev->state == ZK_STATE_EXPIRED || ev->state == ZK_STATE_AUTH_FAILED))
                        return ev->state == ZK_STATE_EXPIRED ? -ECONNRESET : -EPERM;
                if (ev->type == ZK_EVENT_DONE && ev->op == ZK_OP_AUTH && ev->err == -EPERM)
                        return -EPERM;
                if (ev->type == ZK_EVENT_DONE && ev->cookie == cookie && ev->op != ZK_OP_AUTH) {
                        *ret = TAKE_PTR(ev);
                        return 0;
                }
        }
}

int zk_get_sync(struct zk *z, const char *path, uint64_t deadline_usec, char **ret_data,
                size_t *ret_len, int64_t *ret_version) {
        _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
        uint64_t cookie;
        int r;

        r = zk_wait_connected(z, deadline_usec);
        if (r < 0)
                return r;
        cookie = z->next_cookie++;
        r = zk_get(z, path, false, cookie);
        if (r < 0)
                return r;
        r = zk_wait_done(z, cookie, deadline_usec, &ev);
        if (r < 0)
                return r;
        if (ev->err < 0)
                return ev->err;
        if (ret_len)
                *ret_len = ev->len;
        if (ret_version)
                *ret_version = ev->version;
        if (ret_data)
                *ret_data = TAKE_PTR(ev->data);
        return 0;
}

int zk_create_parents_sync(struct zk *z, const char *path, const struct ACL_vector *acl,
                           uint64_t deadline_usec) {
        _cleanup_strv_free_ char **parents = NULL;
        int r;

        r = zk_path_parents(path, &parents);
        if (r < 0)
                return r;
        r = zk_wait_connected(z, deadline_usec);
        if (r < 0)
                return r;
        for (size_t i = 0; parents[i]; i++) {
                _cleanup_(zk_event_freep) struct zk_event *ev = NULL;
                uint64_t cookie = z->next_cookie++;

                r = zk_create(z, parents[i], NULL, 0, acl, cookie);
                if (r < 0)
                        return r;
                r = zk_wait_done(z, cookie, deadline_usec, &ev);
                if (r < 0)
                        return r;
                if (ev->err < 0 && ev->err != -EEXIST)
                        return ev->err;
        }
        return 0;
}
