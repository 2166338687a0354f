/* zk.h — a thin wrapper over the multi-threaded ZooKeeper C client (libzookeeper_mt) that hands
 * everything to one event loop. Returns >= 0 or -errno; never logs.
 *
 * Why the _mt flavour: it is the only development package installed (the _st one conflicts with
 * it), and it keeps the socket, pings and reconnects on the client's own threads, so a slow
 * apply on our loop never starves the session. Those threads never touch daemon state: the
 * global watcher and every completion copy what they got into a `struct zk_event`, push it on a
 * mutex-protected queue and write the eventfd from zk_fd(). The loop thread polls that fd and
 * pops events with zk_next_event(); all state changes happen there.
 *
 * A `struct zk` outlives sessions: zk_connect() replaces the current session (after expiry or a
 * config change), re-adds every auth, and bumps a generation number; events of an older session
 * still in the queue are dropped, never delivered.
 *
 * Error mapping (zk_errno): ZNONODE -ENOENT, ZNOAUTH -EACCES, ZAUTHFAILED -EPERM, ZBADVERSION
 * -ESTALE, ZNODEEXISTS -EEXIST, ZNOTEMPTY -ENOTEMPTY, ZCONNECTIONLOSS -ENOTCONN,
 * ZOPERATIONTIMEOUT -ETIMEDOUT, ZSESSIONEXPIRED/ZINVALIDSTATE -ECONNRESET, ZCLOSING -ECANCELED,
 * ZBADARGUMENTS -EINVAL, ZMARSHALLINGERROR -EPROTO, others -EIO. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct ACL_vector; /* <zookeeper/zookeeper.h> */

enum zk_state {
        ZK_STATE_CONNECTING,  /* no session yet, or connection lost (the client reconnects) */
        ZK_STATE_CONNECTED,   /* session established (also after a reconnect) */
        ZK_STATE_EXPIRED,     /* session gone for good: call zk_connect() for a new one */
        ZK_STATE_AUTH_FAILED, /* an auth was refused: session unusable, as EXPIRED */
        ZK_STATE_CLOSED,      /* no session (before zk_connect, after zk_disconnect) */
};
const char *zk_state_name(enum zk_state s);

enum zk_event_type {
        ZK_EVENT_SESSION, /* .state changed */
        ZK_EVENT_WATCH,   /* a watch on .path fired: .watch says how; watches are one-shot */
        ZK_EVENT_DONE,    /* a request finished: .op, .cookie, .zrc/.err, and its results */
};
enum zk_watch {
        ZK_WATCH_CREATED,
        ZK_WATCH_DELETED,
        ZK_WATCH_CHANGED,
        ZK_WATCH_CHILD,
        ZK_WATCH_OTHER,
};
enum zk_op {
        ZK_OP_GET,
        ZK_OP_EXISTS,
        ZK_OP_SET,
        ZK_OP_CREATE,
        ZK_OP_DELETE,
        ZK_OP_AUTH,
};

struct zk_event {
        enum zk_event_type type;
        enum zk_state state; /* SESSION */
        enum zk_watch watch; /* WATCH */
        char *path;          /* WATCH: the node (owned) */
        enum zk_op op;       /* DONE */
        uint64_t cookie;     /* DONE: as passed to the request */
        int zrc;             /* DONE: the ZooKeeper code (ZOK, ZNONODE...), for messages */
        int err;             /* DONE: zk_errno(zrc) */
        char *data;          /* DONE GET: the node's data, NUL-terminated (owned) */
        size_t len;          /* DONE GET: its length */
        int64_t version;     /* DONE GET/EXISTS/SET/CREATE(0): data version, -1 when unknown */
};
struct zk_event *zk_event_free(struct zk_event *e);
DEFINE_CLEANUP_FUNC(struct zk_event, zk_event_free)

struct zk;

/* Validates hosts and every auth entry ("digest:user:password"); creates the eventfd and queue.
 * Does not connect. session_timeout_ms is what the client asks the server for. */
int zk_new(const char *hosts, int session_timeout_ms, char *const *auth, struct zk **ret);
/* Closes the session (waits for the client's threads), drops queued events. NULL-safe. */
struct zk *zk_free(struct zk *z);
DEFINE_CLEANUP_FUNC(struct zk, zk_free)

/* Starts a new session, replacing the current one if any; adds every auth to it. Non-blocking:
 * watch for ZK_EVENT_SESSION. Must not be called from the client's threads. */
int zk_connect(struct zk *z);
/* Closes the current session (if any); later events of it are dropped. */
void zk_disconnect(struct zk *z);
/* The eventfd to poll (EPOLLIN): the daemon attaches it to its sd-event loop as an io source
 * (event_add_io) and drains zk_next_event() on each wake-up. Owned by z: remove the source
 * before zk_free(). */
int zk_fd(const struct zk *z);
/* Pops the next event of the current session: 1 and *ret (owned) if there was one, 0 if none.
 * Also clears the eventfd once the queue is empty. */
int zk_next_event(struct zk *z, struct zk_event **ret);
/* Session id of the current session (0 if none), for logs. */
int64_t zk_session_id(const struct zk *z);
/* The negotiated session timeout in ms (0 if not connected). */
int zk_session_timeout_ms(const struct zk *z);

/* Asynchronous requests; the result comes as ZK_EVENT_DONE with the same cookie (unless the call
 * itself fails, then nothing comes). `watch` arms a one-shot watch on the node (get: changed or
 * deleted; exists: created, changed or deleted) delivered as ZK_EVENT_WATCH. */
int zk_get(struct zk *z, const char *path, bool watch, uint64_t cookie);
int zk_exists(struct zk *z, const char *path, bool watch, uint64_t cookie);
/* expected_version -1: any. */
int zk_set(struct zk *z, const char *path, const void *data, size_t len, int expected_version,
           uint64_t cookie);
/* `acl`: the new node's ACL (borrowed; see zk_acl_new()); NULL: world-open
 * (ZOO_OPEN_ACL_UNSAFE). zk_acl_creator() gives all rights to this session's identities. */
int zk_create(struct zk *z, const char *path, const void *data, size_t len,
              const struct ACL_vector *acl, uint64_t cookie);

/* ---- ACLs ---- */
/* The ACL id of a "digest:user:password" auth: "user:" + base64(sha1("user:password")), as
 * ZooKeeper's DigestAuthenticationProvider computes it (owned). -EINVAL if malformed. */
int zk_digest_id(const char *auth, char **ret);
/* An ACL with all rights for each `admins` identity and read only for each `readers` one
 * (strvs of "digest:user:password"; admins must not be empty). Free with zk_acl_free(). */
int zk_acl_new(char *const *admins, char *const *readers, struct ACL_vector **ret);
struct ACL_vector *zk_acl_free(struct ACL_vector *acl);
DEFINE_CLEANUP_FUNC(struct ACL_vector, zk_acl_free)
const struct ACL_vector *zk_acl_creator(void); /* ZOO_CREATOR_ALL_ACL */
int zk_delete(struct zk *z, const char *path, int expected_version, uint64_t cookie);

/* ---- blocking helpers, for the CLI and the public API (never from an event loop) ----
 * `deadline_usec` is on CLOCK_MONOTONIC; -ETIMEDOUT when it passes. Events not waited for are
 * dropped. */
int zk_wait_connected(struct zk *z, uint64_t deadline_usec);
/* Waits for the DONE event with `cookie`; *ret owned. -ECONNRESET if the session ends. */
int zk_wait_done(struct zk *z, uint64_t cookie, uint64_t deadline_usec, struct zk_event **ret);
/* Connects, then reads `path`: *ret_data (owned, NUL-terminated), *ret_len, *ret_version. */
int zk_get_sync(struct zk *z, const char *path, uint64_t deadline_usec, char **ret_data,
                size_t *ret_len, int64_t *ret_version);
/* Creates every missing ancestor of `path` (empty data), not `path` itself. */
int zk_create_parents_sync(struct zk *z, const char *path, const struct ACL_vector *acl,
                           uint64_t deadline_usec);

/* ---- pure helpers (unit tested) ---- */
int zk_errno(int zrc);
const char *zk_rc_string(int zrc); /* "no node", "not authenticated", ... */
/* "digest:user:password" -> scheme "digest", credential "user:password" (owned). Digest needs a
 * non-empty user and a ':'; other schemes need a non-empty credential. -EINVAL otherwise. */
int zk_auth_parse(const char *s, char **ret_scheme, char **ret_cred);
/* The user of an auth entry ("alice" for "digest:alice:pw"), owned; -EINVAL if malformed. */
int zk_auth_user(const char *s, char **ret);
/* "host:port[,host:port...][/chroot]": every port 1..65535, hosts non-empty. -EINVAL otherwise. */
int zk_hosts_check(const char *hosts);
/* A ZooKeeper path: starts with '/', no empty, "." or ".." component, no trailing '/' (except
 * "/" itself), no control characters. */
bool zk_path_is_valid(const char *path);
/* prefix + "/" + name, with prefix "/" giving "/name". -EINVAL for an invalid prefix or name. */
int zk_path_join(const char *prefix, const char *name, char **ret);
/* Ancestors of a path, outermost first: "/a/b/c" -> {"/a", "/a/b"}. strv, owned. */
int zk_path_parents(const char *path, char ***ret);

/* ---- the client's own log ----
 * The ZooKeeper client logs from its threads (a lot while the server is down). It is routed to
 * `fn` (called from any thread, must be thread-safe) with a syslog priority and the message
 * stripped of the client's timestamp prefix. Set before zk_connect(); NULL drops everything.
 * `max_priority` filters (LOG_WARNING keeps warnings and errors). Process-wide. Until this is
 * called, zk_new() silences the client (a library must not spray its callers' stderr). */
typedef void (*zk_log_fn)(int priority, const char *msg);
void zk_set_log_handler(zk_log_fn fn, int max_priority);
/* Pure: splits a client log line "2024-01-01 12:00:00,123:42(0x7f..):ZOO_ERROR@fn@2185: text"
 * into a syslog priority (ZOO_ERROR LOG_ERR, ZOO_WARN LOG_WARNING, ZOO_INFO LOG_INFO, ZOO_DEBUG
 * LOG_DEBUG) and *ret_msg pointing into `line` just after "ZOO_<LEVEL>@" ("fn@2185: text"). A
 * line without the marker gives LOG_INFO and the whole line. */
void zk_log_parse(const char *line, int *ret_priority, const char **ret_msg);
