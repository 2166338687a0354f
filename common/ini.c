/* ini.c — the local config file, parsed with libinih (see ini.h and docs/design.md).
 *
 * inih does the lexing (sections, `key = value`, `#`/`;` comments); everything else is ours and
 * strict: an unknown section or key, a key given twice, an empty or malformed value is an error
 * "file:line: [section] key: problem". We feed inih through ini_parse_stream() with our own
 * line reader so we always know the current line number (Debian's libinih is built without
 * INI_HANDLER_LINENO) and can also reject a header of an unknown section that holds no keys.
 * Only the first problem is reported: the rest of the file is still lexed but ignored. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libinih's header is also called ini.h: the build puts common/ on the quote path only
 * (-iquote), so <ini.h> is libinih's and "ini.h" is ours. */
#include <ini.h>

#include "plan.h" /* cgfs.h needs its types declared first */
#include "cgfs.h" /* enum cgfs_mode, CGFS_DEFAULT_DIR */
#include "ini.h"
#include "util.h"

/* The longest line accepted, in bytes without its '\n'. libinih is told to allow a little more,
 * so it never splits a line we accept; a longer line is an error of its own (its tail must not
 * be parsed as a line of its own, e.g. a key hidden at the end of a long comment). */
#define CFG_MAX_LINE (1u << 20)

#define CFG_DEFAULT_WWW_DIR_FALLBACK "/usr/local/share/cgrouparch/www"
#ifndef CGARCH_WWW_DIR
#define CGARCH_WWW_DIR CFG_DEFAULT_WWW_DIR_FALLBACK
#endif

/* The parse state handed to inih's callbacks. */
struct cfg_parser {
        struct cfg *cfg;
        const char *name;    /* file name for messages */
        const char *text;    /* whole input, NUL-terminated */
        size_t pos;          /* next byte the reader hands to inih */
        unsigned line;       /* number of the line inih is processing (1-based) */
        bool at_line_start;  /* the next reader call starts a new line */
        char *err;           /* first problem, owned */
        int err_r;           /* its errno (-EINVAL, or -ENOMEM) */
        unsigned err_line;   /* its line */
        /* bits of keys already seen, to refuse a single-valued key given twice */
        unsigned long long seen;
};

static void cfg_pid_files_done(struct cfg_pid_files *p) {
        free(p->name);
        strv_free(p->patterns);
        free(p->user);
}

struct cfg *cfg_free(struct cfg *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->zk.hosts);
        free(c->zk.prefix);
        strv_free(c->zk.auth);
        strv_free(c->zk.admin_auth);
        free(c->cg.dir);
        free(c->cg.root);
        strv_free(c->cg.protected_names);
        for (size_t i = 0; i < c->n_pid_files; i++)
                cfg_pid_files_done(&c->pid_files[i]);
        free(c->pid_files);
        free(c->redis.host);
        free(c->redis.password);
        free(c->redis.socket);
        free(c->redis.prefix);
        free(c->wsd.bind);
        strv_free(c->wsd.allowed_origins);
        free(c->wsd.token);
        free(c->wsd.www_dir);
        strv_free(c->wsd.server_names);
        free(c->wsd.metrics_dir);
        free(c->daemon.runtime_dir);
        free(c->systemd.bus);
        free(c);
        return NULL;
}

int cfg_new_default(struct cfg **ret) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->zk.session_timeout_ms = 10000;
        c->cg.mode = CGFS_MODE_AUTO;
        c->taskd.interval_sec = 30;
        c->taskd.max_files = 4096;
        c->taskd.max_dirs = 1024;
        c->taskd.max_refusals = 64;
        c->redis.port = 6379;
        c->redis.expire_sec = 300;
        c->wsd.port = 43409;
        c->wsd.max_clients = 1024;
        c->wsd.max_value_size = 1024 * 1024;
        c->wsd.max_answer_size = 16 * 1024 * 1024;
        c->accountd.reset_on_start = false;

        /* Vectors start empty (not NULL) so users can iterate without checks. */
        c->zk.hosts = strdup("127.0.0.1:2181");
        c->cg.dir = strdup(CGFS_DEFAULT_DIR);
        /* Never the hierarchy roots by default: that needs `root = /`, written out. */
        c->cg.root = strdup(CFG_DEFAULT_ROOT);
        c->zk.auth = calloc(1, sizeof(char *));
        c->zk.admin_auth = calloc(1, sizeof(char *));
        if (!c->zk.admin_auth)
                return -ENOMEM;
        c->cg.protected_names = calloc(1, sizeof(char *));
        c->wsd.allowed_origins = calloc(1, sizeof(char *));
        c->redis.host = strdup("127.0.0.1");
        c->redis.prefix = strdup("cgroup_arch");
        c->wsd.bind = strdup("127.0.0.1");
        c->wsd.www_dir = strdup(CGARCH_WWW_DIR);
        c->daemon.runtime_dir = strdup("/run/cgrouparch");
        c->systemd.bus = strdup("system");
        if (!c->systemd.bus)
                return -ENOMEM;
        if (!c->zk.hosts || !c->cg.dir || !c->cg.root || !c->zk.auth || !c->cg.protected_names ||
            !c->wsd.allowed_origins || !c->redis.host || !c->redis.prefix || !c->wsd.bind ||
            !c->wsd.www_dir || !c->daemon.runtime_dir)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- value checks (pure) ---- */

/* A cgroup name as in docs/design.md "The arch conf": [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 255
 * bytes. Kept here rather than calling conf_name_is_valid() so this module links without conf.c;
 * control-file names are refused by the arch conf, not by the local config. */
static bool cfg_name_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9') || ch == '_';
                if (!alnum && (i == 0 || (ch != '.' && ch != '-')))
                        return false;
        }
        return true;
}

static bool has_space(const char *s) {
        return strpbrk(s, " \t\r\n\v\f") != NULL;
}

/* A ZooKeeper path: "/" or "/a/b" — leading '/', no trailing '/', no empty, "." or ".."
 * component, no control characters. */
static const char *zk_path_problem(const char *s) {
        if (s[0] != '/')
                return "must be an absolute ZooKeeper path starting with '/'";
        if (strcmp(s, "/") == 0)
                return NULL;
        if (s[strlen(s) - 1] == '/')
                return "must not end with '/'";
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "must not contain control characters";
        for (const char *p = s + 1;;) {
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return "must not contain an empty path component ('//')";
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return "must not contain '.' or '..' components";
                if (p[n] == '\0')
                        return NULL;
                p += n + 1;
        }
}

/* The managed root: relative, components are cgroup names. Leading/trailing '/' are refused so
 * the value reads the same everywhere (it is joined to each hierarchy's mount point). */
static const char *cg_root_problem(const char *s) {
        if (s[0] == '\0')
                return "is empty: write 'root = /' to manage the hierarchy roots themselves (every "
                       "cgroup there that the conf lacks is then removed), or name a subtree of "
                       "its own, e.g. 'root = " CFG_DEFAULT_ROOT "'";
        if (strcmp(s, "/") == 0)
                return NULL;
        if (s[0] == '/')
                return "must be relative to the hierarchy root (no leading '/')";
        for (const char *p = s;;) {
                size_t n = strcspn(p, "/");
                _cleanup_free_ char *comp = strndup(p, n);
                if (!comp)
                        return "out of memory";
                if (n == 0)
                        return "must not contain an empty path component or end with '/'";
                if (!cfg_name_ok(comp))
                        return "each component must match [A-Za-z0-9_][A-Za-z0-9_.-]* (no '..')";
                if (p[n] == '\0')
                        return NULL;
                p += n + 1;
        }
}

static int parse_uint(const char *v, unsigned long long min, unsigned long long max,
                      unsigned long long *ret) {
        uint64_t u;

        if (safe_atou64(v, &u) < 0)
                return -EINVAL;
        if (u < min || u > max)
                return -ERANGE;
        *ret = u;
        return 0;
}

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* ---- the key table ---- */

enum cfg_kind {
        K_STRING,   /* non-empty, no whitespace */
        K_TEXT,     /* non-empty, may contain spaces (passwords, tokens) */
        K_ABSPATH,  /* absolute file system path */
        K_ZKPATH,   /* ZooKeeper path */
        K_CGROOT,   /* managed root, may be empty */
        K_UINT,     /* unsigned in [min, max] */
        K_INT,      /* int in [min, max] */
        K_BOOL,
        K_MODE,     /* auto | v1 | v2 */
        K_AUTH,     /* digest:user:password, repeatable */
        K_NAMES,    /* space-separated cgroup names, repeatable (appends) */
        K_WORDS,    /* space-separated words, repeatable (appends) */
};

struct cfg_key {
        const char *section;
        const char *key;
        enum cfg_kind kind;
        size_t offset; /* into struct cfg */
        unsigned long long min, max;
};

#define F(m) offsetof(struct cfg, m)
static const struct cfg_key cfg_keys[] = {
        {"zookeeper", "hosts", K_STRING, F(zk.hosts), 0, 0},
        {"zookeeper", "prefix", K_ZKPATH, F(zk.prefix), 0, 0},
        {"zookeeper", "auth", K_AUTH, F(zk.auth), 0, 0},
        {"zookeeper", "admin_auth", K_AUTH, F(zk.admin_auth), 0, 0},
        {"zookeeper", "session_timeout_ms", K_INT, F(zk.session_timeout_ms), 1, INT_MAX},
        {"cgroup", "dir", K_ABSPATH, F(cg.dir), 0, 0},
        {"cgroup", "root", K_CGROOT, F(cg.root), 0, 0},
        {"cgroup", "protected", K_NAMES, F(cg.protected_names), 0, 0},
        {"cgroup", "mode", K_MODE, F(cg.mode), 0, 0},
        {"taskd", "interval", K_UINT, F(taskd.interval_sec), 1, UINT_MAX},
        {"taskd", "max_files", K_UINT, F(taskd.max_files), 1, UINT_MAX},
        {"taskd", "max_dirs", K_UINT, F(taskd.max_dirs), 1, UINT_MAX},
        {"taskd", "max_refusals", K_UINT, F(taskd.max_refusals), 0, UINT_MAX},
        {"redis", "host", K_STRING, F(redis.host), 0, 0},
        {"redis", "port", K_UINT, F(redis.port), 1, 65535},
        {"redis", "password", K_TEXT, F(redis.password), 0, 0},
        {"redis", "socket", K_ABSPATH, F(redis.socket), 0, 0},
        {"redis", "prefix", K_STRING, F(redis.prefix), 0, 0},
        {"redis", "expire", K_UINT, F(redis.expire_sec), 1, UINT_MAX},
        {"wsd", "bind", K_STRING, F(wsd.bind), 0, 0},
        {"wsd", "port", K_UINT, F(wsd.port), 1, 65535},
        {"wsd", "max_clients", K_UINT, F(wsd.max_clients), 1, UINT_MAX},
        {"wsd", "allowed_origins", K_WORDS, F(wsd.allowed_origins), 0, 0},
        {"wsd", "token", K_TEXT, F(wsd.token), 0, 0},
        {"wsd", "www_dir", K_ABSPATH, F(wsd.www_dir), 0, 0},
        {"wsd", "server_names", K_WORDS, F(wsd.server_names), 0, 0},
        {"wsd", "max_value_size", K_UINT, F(wsd.max_value_size), 64, 256 * 1024 * 1024},
        {"wsd", "max_answer_size", K_UINT, F(wsd.max_answer_size), 4096, UINT_MAX},
        {"wsd", "metrics_dir", K_ABSPATH, F(wsd.metrics_dir), 0, 0},
        {"daemon", "runtime_dir", K_ABSPATH, F(daemon.runtime_dir), 0, 0},
        {"accountd", "reset_on_start", K_BOOL, F(accountd.reset_on_start), 0, 0},
        {"systemd", "bus", K_STRING, F(systemd.bus), 0, 0},
        {"systemd", "restart_services", K_BOOL, F(systemd.restart_services), 0, 0},
};
#undef F
_Static_assert(ELEMENTSOF(cfg_keys) <= 64, "seen bitmap too small");

static const char *const cfg_sections[] = {"zookeeper", "cgroup", "taskd", "redis",
                                           "wsd",       "daemon", "accountd", "pid_files",
                                           "systemd"};

static bool section_known(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(cfg_sections); i++)
                if (strcmp(s, cfg_sections[i]) == 0)
                        return true;
        return false;
}

_printf_(3, 4) static int fail(struct cfg_parser *p, int r, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL, *full = NULL;

        if (p->err_r < 0) /* keep the first problem only */
                return 0;
        p->err_r = r;
        p->err_line = p->line;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg && asprintf(&full, "%s:%u: %s", p->name, p->line, msg) < 0)
                full = NULL;
        free(msg);
        p->err = full; /* NULL only on OOM; cfg_parse_string then reports -ENOMEM */
        if (!full)
                p->err_r = -ENOMEM;
        return 0; /* tells inih "error on this line" */
}

static int set_string(char **field, const char *v) {
        char *c = strdup(v);

        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* A `user=` value: a user name as useradd(8) allows it by default ([A-Za-z_][A-Za-z0-9_.-]*,
 * an optional trailing '$', at most 32 bytes) or a numeric uid below 4294967295. */
static bool user_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32)
                return false;
        if (strspn(s, "0123456789") == n) {
                uint64_t v;
                return safe_atou64(s, &v) == 0 && v < UINT32_MAX;
        }
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                          (i > 0 && ((ch >= '0' && ch <= '9') || ch == '.' || ch == '-')) ||
                          (i > 0 && i == n - 1 && ch == '$');
                if (!ok)
                        return false;
        }
        return true;
}

static int handle_pid_files(struct cfg_parser *p, const char *name, const char *value) {
        struct cfg *c = p->cfg;
        _cleanup_strv_free_ char **words = NULL;
        struct cfg_pid_files *e = NULL;
        const char *user = NULL;
        size_t n_patterns = 0;
        int r;

        if (!cfg_name_ok(name))
                return fail(p, -EINVAL,
                            "[pid_files] %s: invalid cgroup name (must match "
                            "[A-Za-z0-9_][A-Za-z0-9_.-]*, at most 255 bytes)",
                            name);
        r = strv_split(value, " \t", &words);
        if (r < 0)
                return fail(p, r, "[pid_files] %s: out of memory", name);
        if (!words[0])
                return fail(p, -EINVAL, "[pid_files] %s: empty value (expected pid file paths or globs)",
                            name);
        for (char **w = words; *w; w++) {
                if (strncmp(*w, "user=", 5) == 0) {
                        if (user)
                                return fail(p, -EINVAL, "[pid_files] %s: user= given twice",
                                            name);
                        user = *w + 5;
                        if (!user_ok(user))
                                return fail(p, -EINVAL,
                                            "[pid_files] %s: '%s' is not a valid user name or "
                                            "uid",
                                            name, user);
                        continue;
                }
                if ((*w)[0] != '/')
                        return fail(p, -EINVAL,
                                    "[pid_files] %s: '%s' is not an absolute path or glob",
                                    name, *w);
                n_patterns++;
        }
        if (n_patterns == 0)
                return fail(p, -EINVAL, "[pid_files] %s: no pid file paths or globs", name);

        /* The same name given again appends (like a longer line). */
        for (size_t i = 0; i < c->n_pid_files; i++)
                if (strcmp(c->pid_files[i].name, name) == 0)
                        e = &c->pid_files[i];
        if (!e) {
                if (GREEDY_REALLOC(c->pid_files, c->cap_pid_files, c->n_pid_files + 1) < 0)
                        return fail(p, -ENOMEM, "[pid_files] %s: out of memory", name);
                e = &c->pid_files[c->n_pid_files];
                *e = (struct cfg_pid_files){.name = strdup(name), .patterns = calloc(1, sizeof(char *))};
                c->n_pid_files++; /* counted now so cfg_free releases it even half-built */
                if (!e->name || !e->patterns)
                        return fail(p, -ENOMEM, "[pid_files] %s: out of memory", name);
        }
        /* user= belongs to the name: every line of it must agree (a line without it adds
         * patterns under the same user). */
        if (user && e->user && strcmp(user, e->user) != 0)
                return fail(p, -EINVAL, "[pid_files] %s: user=%s conflicts with user=%s given before",
                            name, user, e->user);
        if (user && !e->user && !(e->user = strdup(user)))
                return fail(p, -ENOMEM, "[pid_files] %s: out of memory", name);
        for (char **w = words; *w; w++) {
                if (strncmp(*w, "user=", 5) == 0)
                        continue;
                r = strv_extend(&e->patterns, *w);
                if (r < 0)
                        return fail(p, r, "[pid_files] %s: out of memory", name);
        }
        return 1;
}

static int handle_key(struct cfg_parser *p, const struct cfg_key *k, size_t idx, const char *v) {
        void *field = (char *) p->cfg + k->offset;
        const char *s = k->section, *n = k->key, *problem;
        unsigned long long u;
        int r;

        bool repeatable = k->kind == K_AUTH || k->kind == K_NAMES || k->kind == K_WORDS;
        if (!repeatable) {
                if (p->seen & (1ULL << idx))
                        return fail(p, -EINVAL, "[%s] %s: given more than once", s, n);
                p->seen |= 1ULL << idx;
        }
        if (v[0] == '\0' && k->kind != K_CGROOT && k->kind != K_NAMES && k->kind != K_WORDS)
                return fail(p, -EINVAL, "[%s] %s: empty value", s, n);

        switch (k->kind) {
        case K_STRING:
                if (has_space(v))
                        return fail(p, -EINVAL, "[%s] %s: '%s' must not contain whitespace", s, n, v);
                break;
        case K_TEXT:
                break;
        case K_ABSPATH:
                if (v[0] != '/')
                        return fail(p, -EINVAL, "[%s] %s: '%s' is not an absolute path", s, n, v);
                break;
        case K_ZKPATH:
                problem = zk_path_problem(v);
                if (problem)
                        return fail(p, -EINVAL, "[%s] %s: '%s' %s", s, n, v, problem);
                break;
        case K_CGROOT:
                problem = cg_root_problem(v);
                if (problem)
                        return fail(p, -EINVAL, "[%s] %s: '%s' %s", s, n, v, problem);
                if (strcmp(v, "/") == 0)
                        v = ""; /* the hierarchy root, asked for explicitly */
                break;
        case K_UINT:
        case K_INT:
                r = parse_uint(v, k->min, k->max, &u);
                if (r == -ERANGE)
                        return fail(p, -EINVAL, "[%s] %s: %s is out of range (%llu..%llu)", s, n, v,
                                    k->min, k->max);
                if (r < 0)
                        return fail(p, -EINVAL, "[%s] %s: '%s' is not a number", s, n, v);
                if (k->kind == K_INT)
                        *(int *) field = (int) u;
                else
                        *(unsigned *) field = (unsigned) u;
                return 1;
        case K_BOOL:
                if (parse_bool(v, (bool *) field) < 0)
                        return fail(p, -EINVAL,
                                    "[%s] %s: '%s' is not a boolean (yes/no, true/false, on/off, 1/0)",
                                    s, n, v);
                return 1;
        case K_MODE:
                if (strcmp(v, "auto") == 0)
                        *(int *) field = CGFS_MODE_AUTO;
                else if (strcmp(v, "v1") == 0)
                        *(int *) field = CGFS_MODE_V1;
                else if (strcmp(v, "v2") == 0)
                        *(int *) field = CGFS_MODE_V2;
                else if (strcmp(v, "systemd") == 0)
                        *(int *) field = CGFS_MODE_SYSTEMD;
                else
                        return fail(p, -EINVAL, "[%s] %s: '%s' is not one of auto, v1, v2, systemd",
                                    s, n, v);
                return 1;
        case K_AUTH: {
                /* "digest:user:password": the scheme, a non-empty user, a password after ':'. */
                const char *user, *colon;
                if (strncmp(v, "digest:", 7) != 0)
                        return fail(p, -EINVAL,
                                    "[%s] %s: expected 'digest:user:password' (only the digest "
                                    "scheme is supported)",
                                    s, n);
                user = v + 7;
                colon = strchr(user, ':');
                if (!colon || colon == user || colon[1] == '\0')
                        return fail(p, -EINVAL,
                                    "[%s] %s: expected 'digest:user:password' (user and password "
                                    "must not be empty)",
                                    s, n);
                r = strv_extend((char ***) field, v);
                if (r < 0)
                        return fail(p, r, "[%s] %s: out of memory", s, n);
                return 1;
        }
        case K_NAMES:
        case K_WORDS: {
                _cleanup_strv_free_ char **words = NULL;
                r = strv_split(v, " \t", &words);
                if (r < 0)
                        return fail(p, r, "[%s] %s: out of memory", s, n);
                for (char **w = words; *w; w++) {
                        if (k->kind == K_NAMES && !cfg_name_ok(*w))
                                return fail(p, -EINVAL,
                                            "[%s] %s: '%s' is not a valid cgroup name (must match "
                                            "[A-Za-z0-9_][A-Za-z0-9_.-]*)",
                                            s, n, *w);
                        r = strv_extend((char ***) field, *w);
                        if (r < 0)
                                return fail(p, r, "[%s] %s: out of memory", s, n);
                }
                return 1;
        }
        }

        /* The string kinds. */
        r = set_string((char **) field, v);
        if (r < 0)
                return fail(p, r, "[%s] %s: out of memory", s, n);
        return 1;
}

static int cfg_handler(void *user, const char *section_raw, const char *name, const char *value) {
        struct cfg_parser *p = user;
        char section[64];
        size_t n;

        if (p->err_r < 0)
                return 1; /* already failed; let inih finish quietly */
        /* inih keeps blanks inside the brackets: "[ redis ]" is section "redis". */
        section_raw += strspn(section_raw, " \t");
        n = strlen(section_raw);
        while (n > 0 && (section_raw[n - 1] == ' ' || section_raw[n - 1] == '\t'))
                n--;
        if (n >= sizeof(section))
                n = sizeof(section) - 1; /* longer than any known section: stays unknown */
        memcpy(section, section_raw, n);
        section[n] = '\0';
        if (section[0] == '\0')
                return fail(p, -EINVAL, "%s: key outside of any [section]", name);
        if (!section_known(section))
                return fail(p, -EINVAL, "[%s]: unknown section", section);
        if (strcmp(section, "pid_files") == 0)
                return handle_pid_files(p, name, value);
        for (size_t i = 0; i < ELEMENTSOF(cfg_keys); i++)
                if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, name) == 0)
                        return handle_key(p, &cfg_keys[i], i, value);
        return fail(p, -EINVAL, "[%s] %s: unknown key", section, name);
}

/* A "[name]" header line: inih reports unknown sections only through their keys, so an empty
 * unknown section is caught here. Leading whitespace is allowed as inih allows it. */
static void check_section_line(struct cfg_parser *p, const char *line, size_t len) {
        size_t i = 0, j;

        while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
        if (i >= len || line[i] != '[')
                return;
        for (j = i + 1; j < len && line[j] != ']' && line[j] != '\n'; j++)
                ;
        if (j >= len || line[j] != ']')
                return; /* inih reports the syntax error */
        _cleanup_free_ char *name = strndup(line + i + 1, j - i - 1);
        if (!name) {
                (void) fail(p, -ENOMEM, "out of memory");
                return;
        }
        /* inih strips whitespace inside the brackets too */
        char *b = name;
        while (*b == ' ' || *b == '\t')
                b++;
        size_t n = strlen(b);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
                b[--n] = '\0';
        if (!section_known(b))
                (void) fail(p, -EINVAL, "[%s]: unknown section", b);
}

/* fgets-like reader over the text: at most num-1 bytes, up to and including a '\n'. A line over
 * CFG_MAX_LINE is reported here, with its number, and handed to inih as an empty line. */
static char *cfg_reader(char *buf, int num, void *stream) {
        struct cfg_parser *p = stream;
        const char *s = p->text + p->pos;
        size_t n = 0;

        if (*s == '\0' || num <= 1)
                return NULL;
        if (p->at_line_start) {
                size_t len = strcspn(s, "\n");

                p->line++;
                if (len > CFG_MAX_LINE) {
                        (void) fail(p, -EINVAL, "line too long (%zu bytes, the limit is %u)", len,
                                    CFG_MAX_LINE);
                        p->pos += len + (s[len] == '\n');
                        strcpy(buf, "\n");
                        return buf;
                }
                check_section_line(p, s, len);
        }
        while (s[n] && (int) n < num - 1) {
                n++;
                if (s[n - 1] == '\n')
                        break;
        }
        memcpy(buf, s, n);
        buf[n] = '\0';
        p->at_line_start = s[n - 1] == '\n';
        p->pos += n;
        return buf;
}

int cfg_parse_string(const char *text, const char *name, struct cfg **ret, char **err) {
        _cleanup_(cfg_freep) struct cfg *c = NULL;
        struct cfg_parser p = {.name = name ?: "(string)", .text = text, .at_line_start = true};
        int r;

        if (err)
                *err = NULL;
        r = cfg_new_default(&c);
        if (r < 0)
                return r;
        p.cfg = c;

        /* Behaviour we rely on, set each time since these are libinih globals: whole lines
         * of any length, `#` and `;` comments (also inline after whitespace), no Python-style
         * continuation lines (an indented line is just a line), key = value only. */
        ini_use_stack = false;
        ini_allow_realloc = true;
        ini_max_line = CFG_MAX_LINE + 2; /* the line, its '\n' and the NUL */
        ini_allow_multiline = false;
        ini_allow_inline_comments = true;
        ini_inline_comment_prefixes = (char *) ";#";
        ini_start_comment_prefixes = (char *) ";#";
        ini_allow_no_value = false;
        ini_stop_on_first_error = false;

        r = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
        if (r == -2 || p.err_r == -ENOMEM) {
                free(p.err);
                return -ENOMEM;
        }
        if (p.err_r < 0 || r != 0) {
                if (r > 0 && (p.err_r >= 0 || (unsigned) r < p.err_line)) {
                        /* inih's own syntax error, at line r, comes first */
                        free(p.err);
                        p.err = NULL;
                        if (asprintf(&p.err,
                                     "%s:%d: syntax error: expected '[section]', 'key = value' "
                                     "or a comment",
                                     p.name, r) < 0)
                                p.err = NULL;
                }
                if (err)
                        *err = p.err;
                else
                        free(p.err);
                return -EINVAL;
        }
        c->path = strdup(p.name);
        if (!c->path)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int cfg_load(const char *path, struct cfg **ret, char **err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (err)
                *err = NULL;
        r = read_full_file(path, &text, &len);
        if (r < 0) {
                if (err && asprintf(err, "%s: %s", path, strerror(-r)) < 0)
                        *err = NULL;
                return r;
        }
        if (memchr(text, '\0', len)) {
                if (err && asprintf(err, "%s: contains a NUL byte (not a text file)", path) < 0)
                        *err = NULL;
                return -EINVAL;
        }
        return cfg_parse_string(text, path, ret, err);
}

const char *cfg_root_warning(const struct cfg *c) {
        if (c->cg.mode == CGFS_MODE_SYSTEMD || c->cg.root[0] != '\0')
                return NULL;
        return "[cgroup] root = / manages the hierarchy roots themselves: every cgroup there that "
               "the conf lacks (systemd's slices, other tools' groups) is removed unless listed in "
               "[cgroup] protected; a root of its own (root = " CFG_DEFAULT_ROOT ") is safer";
}

int cfg_snapshot_path(const struct cfg *c, char **ret) {
        const char *d = c->daemon.runtime_dir;
        size_t n = strlen(d);

        /* "/run/cgrouparch/" and "/run/cgrouparch" give the same path */
        while (n > 1 && d[n - 1] == '/')
                n--;
        return xasprintf(ret, "%.*s/arch_conf.json", (int) n, d);
}
