/* wsproto.c — the pure side of cg-wsd; see wsproto.h. */
#include "wsproto.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

DEFINE_CLEANUP_FUNC(cJSON, cJSON_Delete)

static int set_err(char **err, const char *fmt, ...) _printf_(2, 3);
static int set_err(char **err, const char *fmt, ...) {
        va_list ap;

        if (err) {
                char *s = NULL;
                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*err);
                *err = s;
        }
        return -EINVAL;
}

/* JSON numbers are doubles in cJSON: an integer is exact up to 2^53, which is far beyond any slot
 * number or range. */
static int json_int(const cJSON *j, const char *name, int64_t *ret, char **err) {
        double d;

        if (!cJSON_IsNumber(j))
                return set_err(err, "%s must be an integer", name);
        d = j->valuedouble;
        if (!isfinite(d) || d != trunc(d))
                return set_err(err, "%s must be an integer", name);
        if (d < -9007199254740992.0 || d > 9007199254740992.0)
                return set_err(err, "%s is out of range", name);
        *ret = (int64_t) d;
        return 0;
}

static bool has_duplicate_keys(const cJSON *obj) {
        for (const cJSON *a = obj->child; a; a = a->next)
                for (const cJSON *b = a->next; b; b = b->next)
                        if (a->string && b->string && strcmp(a->string, b->string) == 0)
                                return true;
        return false;
}

static int parse_range(const cJSON *args, int64_t now, struct wsproto_request *r, char **err) {
        int64_t nr = WSPROTO_DEFAULT_NR_SLOT, start = 0, end = 0;
        bool has_nr = false, has_start = false, has_end = false;
        int k;

        for (const cJSON *a = args ? args->child : NULL; a; a = a->next) {
                if (strcmp(a->string, "nr_slot") == 0) {
                        k = json_int(a, "nr_slot", &nr, err);
                        has_nr = true;
                } else if (strcmp(a->string, "start_slot") == 0) {
                        k = json_int(a, "start_slot", &start, err);
                        has_start = true;
                } else if (strcmp(a->string, "end_slot") == 0) {
                        k = json_int(a, "end_slot", &end, err);
                        has_end = true;
                } else
                        return set_err(err, "unknown argument \"%.64s\" for show_account",
                                       a->string);
                if (k < 0)
                        return k;
        }

        if (has_nr && (nr < 1 || nr > WSPROTO_MAX_RANGE))
                return set_err(err, "nr_slot must be between 1 and %d", WSPROTO_MAX_RANGE);
        if (has_start && start < 0)
                return set_err(err, "start_slot must not be negative");
        if (has_end && end < 0)
                return set_err(err, "end_slot must not be negative");

        if (has_start && has_end) {
                if (has_nr && end - start + 1 != nr)
                        return set_err(err, "nr_slot does not match start_slot..end_slot");
        } else if (has_end)
                start = end - nr + 1;
        else if (has_start)
                end = has_nr ? start + nr - 1 : now;
        else {
                end = now;
                start = end - nr + 1;
        }
        if (start < 0) /* only a default can get here: clamp to the epoch */
                start = 0;
        if (start > end)
                return set_err(err, "start_slot is after end_slot");
        if (end - start + 1 > WSPROTO_MAX_RANGE)
                return set_err(err, "a range of %" PRId64 " slots is over the limit of %d",
                               end - start + 1, WSPROTO_MAX_RANGE);
        r->start_slot = start;
        r->end_slot = end;
        return 0;
}

int wsproto_request_parse(const char *buf, size_t len, int64_t now, struct wsproto_request *ret,
                          char **err) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        const char *end = NULL;
        const cJSON *cmd = NULL, *args = NULL;
        struct wsproto_request r = {};
        int k;

        if (!buf || len == 0)
                return set_err(err, "empty message");
        if (len > WSPROTO_MAX_MESSAGE)
                return set_err(err, "message too big");
        j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
        if (!j)
                return set_err(err, "not JSON");
        while (end && (size_t) (end - buf) < len && isspace((unsigned char) *end))
                end++;
        if (!end || (size_t) (end - buf) != len)
                return set_err(err, "not JSON (trailing data)");
        if (!cJSON_IsObject(j))
                return set_err(err, "a request must be a JSON object");
        if (has_duplicate_keys(j))
                return set_err(err, "duplicate key in request");

        for (const cJSON *c = j->child; c; c = c->next) {
                if (strcmp(c->string, "cmd") == 0)
                        cmd = c;
                else if (strcmp(c->string, "args") == 0)
                        args = c;
                else
                        return set_err(err, "unknown key \"%.64s\" in request", c->string);
        }
        if (!cmd)
                return set_err(err, "missing \"cmd\"");
        if (!cJSON_IsString(cmd))
                return set_err(err, "\"cmd\" must be a string");
        if (args && cJSON_IsNull(args))
                args = NULL;
        if (args && !cJSON_IsObject(args))
                return set_err(err, "\"args\" must be an object");
        if (args && has_duplicate_keys(args))
                return set_err(err, "duplicate key in args");

        if (strcmp(cmd->valuestring, "show_account") == 0) {
                r.cmd = WSPROTO_SHOW_ACCOUNT;
                k = parse_range(args, now, &r, err);
                if (k < 0)
                        return k;
        } else {
                if (strcmp(cmd->valuestring, "get_conf") == 0)
                        r.cmd = WSPROTO_GET_CONF;
                else if (strcmp(cmd->valuestring, "subscribe_account") == 0)
                        r.cmd = WSPROTO_SUBSCRIBE;
                else if (strcmp(cmd->valuestring, "unsubscribe_account") == 0)
                        r.cmd = WSPROTO_UNSUBSCRIBE;
                else if (strcmp(cmd->valuestring, "get_placements") == 0)
                        r.cmd = WSPROTO_GET_PLACEMENTS;
                else if (strcmp(cmd->valuestring, "get_host") == 0)
                        r.cmd = WSPROTO_GET_HOST;
                else
                        return set_err(err, "unknown cmd \"%.64s\"", cmd->valuestring);
                if (args && args->child)
                        return set_err(err, "%s takes no args", cmd->valuestring);
        }
        *ret = r;
        return 0;
}

int wsproto_slot_parse(const char *s, size_t len, int64_t *ret) {
        int64_t v = 0;

        if (!s || len == 0 || len > 18)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

/* ---- values read from Redis ---- */

/* Length of the RFC 8259 number at s, or 0: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and
 * nothing number-like right after it (cJSON hands the whole run to strtod, so it takes "01",
 * "1." and "-.5", which JSON.parse refuses). */
static size_t number_len(const unsigned char *s, size_t n) {
        size_t i = 0, d;

        if (i < n && s[i] == '-')
                i++;
        if (i < n && s[i] == '0')
                i++;
        else {
                for (d = i; i < n && isdigit(s[i]); i++)
                        ;
                if (i == d)
                        return 0;
        }
        if (i < n && s[i] == '.') {
                for (d = ++i; i < n && isdigit(s[i]); i++)
                        ;
                if (i == d)
                        return 0;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                for (d = i; i < n && isdigit(s[i]); i++)
                        ;
                if (i == d)
                        return 0;
        }
        if (i < n && (isdigit(s[i]) || strchr(".eE+-", s[i])))
                return 0;
        return i;
}

/* The lexical half of the check, where cJSON is more lenient than a browser: UTF-8 everywhere,
 * no control character inside a string, only JSON's four blanks between tokens (cJSON skips
 * every byte <= ' '), strict numbers. cJSON then checks the structure and escapes. */
static enum wsproto_reject lex_check(const unsigned char *s, size_t n) {
        bool in_str = false;

        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                size_t k;

                if (c >= 0x80) {
                        k = utf8_seq_len(s + i, n - i);
                        if (k == 0)
                                return WSPROTO_REJECT_UTF8;
                        if (!in_str)
                                return WSPROTO_REJECT_JSON;
                        i += k;
                } else if (in_str) {
                        if (c < 0x20)
                                return WSPROTO_REJECT_JSON;
                        if (c == '"')
                                in_str = false;
                        if (c != '\\') {
                                i++;
                                continue;
                        }
                        /* escapes: cJSON reads a bad \uXXXX as U+0000 instead of failing */
                        if (i + 1 >= n)
                                return WSPROTO_REJECT_JSON;
                        if (s[i + 1] == 'u') {
                                if (n - i < 6)
                                        return WSPROTO_REJECT_JSON;
                                for (size_t j = i + 2; j < i + 6; j++)
                                        if (!isxdigit(s[j]))
                                                return WSPROTO_REJECT_JSON;
                                i += 6;
                        } else if (strchr("\"\\/bfnrt", s[i + 1]) && s[i + 1])
                                i += 2;
                        else
                                return WSPROTO_REJECT_JSON;
                } else if (c == '"') {
                        in_str = true;
                        i++;
                } else if (c == '-' || isdigit(c)) {
                        k = number_len(s + i, n - i);
                        if (k == 0)
                                return WSPROTO_REJECT_JSON;
                        i += k;
                } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                           (c > 0x20 && c < 0x7f))
                        i++;
                else
                        return WSPROTO_REJECT_JSON;
        }
        return in_str ? WSPROTO_REJECT_JSON : WSPROTO_VALUE_OK;
}

/* The structural half, for samples, without building a tree: exactly one JSON value (objects,
 * arrays, strings, numbers, true/false/null, nested at most CJSON_NESTING_LIMIT deep, as cJSON
 * allows) and only blanks around it. Runs after lex_check(), so strings, escapes, numbers and
 * UTF-8 are known good here. cJSON would cost a malloc per node and a strtod per number: 60
 * slots of a 100-cgroup sample took cg-wsd longer to parse than to send. *ret_object: the value
 * is an object. */
static enum wsproto_reject json_check(const unsigned char *s, size_t n, bool *ret_object) {
        enum { VALUE, KEY_OR_END, KEY, COLON, AFTER, VALUE_OR_END } st = VALUE;
        unsigned char stack[CJSON_NESTING_LIMIT]; /* '{' or '[' */
        size_t depth = 0, i = 0;
        bool top_done = false;

        *ret_object = false;
        for (;;) {
                unsigned char c;

                while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
                        i++;
                if (i == n)
                        return top_done ? WSPROTO_VALUE_OK : WSPROTO_REJECT_JSON;
                if (top_done)
                        return WSPROTO_REJECT_JSON; /* e.g. `{}, "smuggled": {}` */
                c = s[i];
                switch (st) {
                case COLON:
                        if (c != ':')
                                return WSPROTO_REJECT_JSON;
                        i++;
                        st = VALUE;
                        continue;
                case AFTER:
                        if (c == ',') {
                                i++;
                                st = stack[depth - 1] == '{' ? KEY : VALUE;
                                continue;
                        }
                        if (c != (stack[depth - 1] == '{' ? '}' : ']'))
                                return WSPROTO_REJECT_JSON;
                        i++;
                        goto closed;
                case KEY_OR_END:
                case KEY:
                        if (c == '}' && st == KEY_OR_END) {
                                i++;
                                goto closed;
                        }
                        if (c != '"')
                                return WSPROTO_REJECT_JSON;
                        break; /* the key: a string, read below */
                case VALUE_OR_END:
                        if (c == ']') {
                                i++;
                                goto closed;
                        }
                        break;
                case VALUE:
                        break;
                }
                /* a value (or a key) starts at i */
                if (depth == 0)
                        *ret_object = c == '{';
                if (c == '{' || c == '[') {
                        if (depth == sizeof stack)
                                return WSPROTO_REJECT_JSON;
                        stack[depth++] = c;
                        i++;
                        st = c == '{' ? KEY_OR_END : VALUE_OR_END;
                        continue;
                }
                if (c == '"') {
                        for (i++; i < n && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++; /* escapes were checked: skip the escaped byte */
                        if (i >= n)
                                return WSPROTO_REJECT_JSON;
                        i++;
                } else if (c == '-' || isdigit(c)) {
                        size_t k = number_len(s + i, n - i);
                        if (k == 0)
                                return WSPROTO_REJECT_JSON;
                        i += k;
                } else if (n - i >= 4 && memcmp(s + i, "true", 4) == 0)
                        i += 4;
                else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0)
                        i += 5;
                else if (n - i >= 4 && memcmp(s + i, "null", 4) == 0)
                        i += 4;
                else
                        return WSPROTO_REJECT_JSON;
                if (i < n && isalnum(s[i]))
                        return WSPROTO_REJECT_JSON; /* "truex", "nullnull" */
                if (st == KEY || st == KEY_OR_END) {
                        st = COLON;
                        continue;
                }
                if (depth == 0) {
                        top_done = true;
                        continue;
                }
                st = AFTER;
                continue;
        closed:
                if (--depth == 0)
                        top_done = true;
                else
                        st = AFTER;
        }
}

/* {"version": N, "value": {...}}: N a non-negative integer, both keys once, nothing else. */
static bool conf_shape(const cJSON *j) {
        const cJSON *version = NULL, *value = NULL;
        int64_t v;

        for (const cJSON *c = j->child; c; c = c->next) {
                if (strcmp(c->string, "version") == 0 && !version)
                        version = c;
                else if (strcmp(c->string, "value") == 0 && !value)
                        value = c;
                else
                        return false;
        }
        return version && value && json_int(version, "version", &v, NULL) == 0 && v >= 0 &&
               cJSON_IsObject(value);
}

enum wsproto_reject wsproto_value_check(const char *v, size_t len, enum wsproto_value_kind kind,
                                        size_t max) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        const char *end = NULL;
        enum wsproto_reject r;

        if (!v)
                return WSPROTO_REJECT_JSON;
        if (len > max)
                return WSPROTO_REJECT_SIZE;
        r = lex_check((const unsigned char *) v, len);
        if (r != WSPROTO_VALUE_OK)
                return r;
        if (kind == WSPROTO_VALUE_SAMPLE) {
                bool object;
                r = json_check((const unsigned char *) v, len, &object);
                if (r != WSPROTO_VALUE_OK)
                        return r;
                return object ? WSPROTO_VALUE_OK : WSPROTO_REJECT_SHAPE;
        }
        j = cJSON_ParseWithLengthOpts(v, len, &end, false);
        if (!j)
                return WSPROTO_REJECT_JSON;
        while (end && (size_t) (end - v) < len && isspace((unsigned char) *end))
                end++;
        if (!end || (size_t) (end - v) != len)
                return WSPROTO_REJECT_JSON; /* e.g. `{}, "smuggled": {}` */
        if (!cJSON_IsObject(j))
                return WSPROTO_REJECT_SHAPE;
        if (kind == WSPROTO_VALUE_CONF && !conf_shape(j))
                return WSPROTO_REJECT_SHAPE;
        return WSPROTO_VALUE_OK;
}

/* ---- get_placements ---- */

static bool json_is_count(const cJSON *j) {
        int64_t v;
        return j && json_int(j, "", &v, NULL) == 0 && v >= 0;
}

static bool copy_str(cJSON *to, const cJSON *from, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
        return cJSON_AddStringToObject(to, key, cJSON_IsString(v) ? v->valuestring : "") != NULL;
}

static bool copy_count(cJSON *to, const cJSON *from, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
        return cJSON_AddNumberToObject(to, key, json_is_count(v) ? v->valuedouble : 0) != NULL;
}

/* One entry of "files", rebuilt with only the known keys; NULL when it is not usable. */
static cJSON *placement_file(const cJSON *f, bool *oom) {
        static const char *const states[] = {"placed", "refused", "pending", "stale", "none"};
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path"),
                    *pid = cJSON_GetObjectItemCaseSensitive(f, "pid"),
                    *state = cJSON_GetObjectItemCaseSensitive(f, "state"),
                    *unit = cJSON_GetObjectItemCaseSensitive(f, "unit"),
                    *lm = cJSON_GetObjectItemCaseSensitive(f, "last_move");
        bool known = false;
        cJSON *o;

        if (!cJSON_IsObject(f) || !cJSON_IsString(path) || !json_is_count(pid) ||
            pid->valuedouble > INT32_MAX || !cJSON_IsString(state))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                known = known || strcmp(state->valuestring, states[i]) == 0;
        if (!known)
                return NULL;
        o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "path", path->valuestring) || !copy_str(o, f, "pattern") ||
            !copy_str(o, f, "rule") || !cJSON_AddNumberToObject(o, "pid", pid->valuedouble) ||
            !cJSON_AddStringToObject(o, "state", state->valuestring) || !copy_str(o, f, "reason") ||
            !copy_str(o, f, "reason_key") || !copy_str(o, f, "cgroup") ||
            (cJSON_IsString(unit) && !cJSON_AddStringToObject(o, "unit", unit->valuestring)) ||
            !(json_is_count(lm) ? cJSON_AddNumberToObject(o, "last_move", lm->valuedouble)
                                : cJSON_AddNullToObject(o, "last_move"))) {
                cJSON_Delete(o);
                *oom = true;
                return NULL;
        }
        return o;
}

int wsproto_placements_answer(const char *text, size_t len, size_t max, size_t headroom,
                              struct strbuf *ret, enum wsproto_reject *ret_reason) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL, *out = NULL;
        _cleanup_free_ char *printed = NULL;
        enum wsproto_reject why;
        const cJSON *files, *f, *updated;
        cJSON *pl, *arr;
        size_t n = 0;
        bool oom = false;
        struct strbuf b;

        why = wsproto_value_check(text, len, WSPROTO_VALUE_SAMPLE, max);
        if (why == WSPROTO_VALUE_OK) {
                j = cJSON_ParseWithLength(text, len);
                if (!j)
                        return -ENOMEM; /* it parsed once already */
                files = cJSON_GetObjectItemCaseSensitive(j, "files");
                if (!cJSON_IsArray(files))
                        why = WSPROTO_REJECT_SHAPE;
        }
        if (why != WSPROTO_VALUE_OK) {
                if (ret_reason)
                        *ret_reason = why;
                return -EINVAL;
        }
        out = cJSON_CreateObject();
        pl = out ? cJSON_AddObjectToObject(out, "placements") : NULL;
        arr = pl ? cJSON_AddArrayToObject(pl, "files") : NULL;
        if (!arr)
                return -ENOMEM;
        cJSON_ArrayForEach(f, files) {
                cJSON *o;

                if (n >= WSPROTO_PLACEMENTS_MAX_FILES)
                        break;
                o = placement_file(f, &oom);
                if (oom)
                        return -ENOMEM;
                if (!o)
                        continue;
                cJSON_AddItemToArray(arr, o);
                n++;
        }
        updated = cJSON_GetObjectItemCaseSensitive(j, "updated");
        if (!copy_count(pl, j, "pending") || !copy_count(pl, j, "refused") ||
            !copy_count(pl, j, "placed") || !copy_count(pl, j, "total") ||
            !copy_count(pl, j, "omitted") ||
            !cJSON_AddNumberToObject(pl, "updated",
                                     cJSON_IsNumber(updated) && isfinite(updated->valuedouble) &&
                                                     updated->valuedouble >= 0
                                             ? updated->valuedouble
                                             : 0))
                return -ENOMEM;
        printed = cJSON_PrintUnformatted(out);
        if (!printed || strbuf_init(&b, headroom, strlen(printed)) < 0)
                return -ENOMEM;
        if (strbuf_append(&b, printed, strlen(printed)) < 0) {
                strbuf_done(&b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

const char *wsproto_reject_name(enum wsproto_reject r) {
        static const char *const names[_WSPROTO_REJECT_MAX] = {
                [WSPROTO_VALUE_OK] = "ok",         [WSPROTO_REJECT_SIZE] = "size",
                [WSPROTO_REJECT_UTF8] = "utf8",    [WSPROTO_REJECT_JSON] = "json",
                [WSPROTO_REJECT_SHAPE] = "shape",
        };
        return (unsigned) r < _WSPROTO_REJECT_MAX ? names[r] : "unknown";
}

enum wsproto_reject wsproto_vcache_check(struct wsproto_vcache *c, int64_t slot, const char *v,
                                         size_t len, size_t max) {
        struct wsproto_vcache_entry *e;
        enum wsproto_reject r;

        if (!c || !v || slot < 0)
                return wsproto_value_check(v, len, WSPROTO_VALUE_SAMPLE, max);
        e = &c->e[slot % WSPROTO_VCACHE_SLOTS];
        if (e->v && e->slot == slot && e->len == len && len <= max && memcmp(e->v, v, len) == 0) {
                c->hits++;
                return WSPROTO_VALUE_OK;
        }
        c->misses++;
        r = wsproto_value_check(v, len, WSPROTO_VALUE_SAMPLE, max);
        if (r != WSPROTO_VALUE_OK)
                return r;
        if (e->v) { /* this slot's older value, or another slot's: replaced */
                c->bytes -= e->len;
                free(e->v);
                e->v = NULL;
        }
        if (len <= c->max_bytes - MIN(c->bytes, c->max_bytes) && (e->v = malloc(len ? len : 1))) {
                memcpy(e->v, v, len);
                e->slot = slot;
                e->len = len;
                c->bytes += len;
        }
        return WSPROTO_VALUE_OK;
}

void wsproto_vcache_clear(struct wsproto_vcache *c) {
        for (size_t i = 0; i < WSPROTO_VCACHE_SLOTS; i++) {
                free(c->e[i].v);
                c->e[i].v = NULL;
        }
        c->bytes = 0;
}

int wsproto_account_begin(struct wsproto_account *a, size_t max_value, size_t max_answer,
                          size_t headroom) {
        *a = (struct wsproto_account){ .max_value = max_value, .max_answer = max_answer };
        a->err = strbuf_init(&a->buf, headroom, 256);
        if (a->err >= 0)
                a->err = strbuf_append(&a->buf, "{", 1);
        return a->err;
}

enum wsproto_reject wsproto_account_add(struct wsproto_account *a, int64_t slot, const char *v,
                                        size_t len, uint64_t *rejected) {
        enum wsproto_reject r;
        int k;

        if (a->err < 0 || !v)
                return WSPROTO_VALUE_OK;
        r = wsproto_vcache_check(a->vcache, slot, v, len, a->max_value);
        if (r != WSPROTO_VALUE_OK) {
                if (rejected)
                        rejected[r]++;
                return r;
        }
        /* `, "<slot>": ` is at most 26 bytes, the closing brace 1 */
        if (a->buf.len + len + 27 > a->max_answer) {
                a->err = -E2BIG;
                return WSPROTO_VALUE_OK;
        }
        /* room for this slot and the closing brace at once: one realloc, not two; with the
         * first value, for the whole range if its other samples are that size */
        if (!a->any && a->slots_hint > 1)
                k = strbuf_reserve(&a->buf, MIN((len + 27) * a->slots_hint,
                                                a->max_answer - MIN(a->buf.len, a->max_answer)));
        else
                k = strbuf_reserve(&a->buf, len + 27);
        if (k >= 0 && a->any)
                k = strbuf_append(&a->buf, ", ", 2);
        if (k >= 0)
                k = strbuf_append(&a->buf, "\"", 1);
        if (k >= 0)
                k = strbuf_append_i64(&a->buf, slot);
        if (k >= 0)
                k = strbuf_append(&a->buf, "\": ", 3);
        if (k >= 0)
                k = strbuf_append(&a->buf, v, len);
        a->any = true;
        if (k < 0)
                a->err = k;
        return WSPROTO_VALUE_OK;
}

int wsproto_account_end(struct wsproto_account *a, struct strbuf *ret) {
        if (a->err >= 0)
                a->err = strbuf_append(&a->buf, "}", 1);
        if (a->err < 0) {
                strbuf_done(&a->buf);
                return a->err;
        }
        *ret = a->buf;
        a->buf.mem = NULL;
        return 0;
}

int wsproto_account_answer(int64_t start, int64_t end, const char *const *values,
                           const size_t *lens, size_t n, size_t max_value, size_t max_answer,
                           size_t headroom, struct strbuf *ret, uint64_t *rejected) {
        struct wsproto_account a;
        int k;

        if (start < 0 || end < start || (uint64_t) (end - start) + 1 != n)
                return -EINVAL;
        k = wsproto_account_begin(&a, max_value, max_answer, headroom);
        for (size_t i = 0; k >= 0 && i < n && a.err >= 0; i++)
                (void) wsproto_account_add(&a, start + (int64_t) i, values[i], lens[i], rejected);
        return wsproto_account_end(&a, ret);
}

int wsproto_push_answer(int64_t slot, const char *v, size_t len, size_t max_value,
                        size_t headroom, struct strbuf *ret, enum wsproto_reject *ret_reason) {
        enum wsproto_reject r = wsproto_value_check(v, len, WSPROTO_VALUE_SAMPLE, max_value);
        struct strbuf b;
        int k;

        if (ret_reason)
                *ret_reason = r;
        if (r != WSPROTO_VALUE_OK)
                return -EINVAL;
        k = strbuf_init(&b, headroom, len + 32);
        if (k < 0)
                return k;
        k = strbuf_printf(&b, "{\"%" PRId64 "\": ", slot);
        if (k >= 0)
                k = strbuf_append(&b, v, len);
        if (k >= 0)
                k = strbuf_append(&b, "}", 1);
        if (k < 0) {
                strbuf_done(&b);
                return k;
        }
        *ret = b;
        return 0;
}

/* Appends s as a JSON string, bytes outside printable ASCII as '?'. */
static void put_ascii_string(struct strbuf *b, const char *s) {
        char c[2] = "";

        (void) strbuf_puts(b, "\"");
        for (; *s; s++) {
                c[0] = *s >= 0x20 && *s < 0x7f ? *s : '?';
                if (c[0] == '"' || c[0] == '\\')
                        (void) strbuf_puts(b, "\\");
                (void) strbuf_puts(b, c);
        }
        (void) strbuf_puts(b, "\"");
}

int wsproto_host_answer(const char *host, const char *prefix, size_t headroom, struct strbuf *ret) {
        struct strbuf b;
        int k;

        (void) strbuf_init(&b, headroom, 64); /* a failure is sticky */
        (void) strbuf_puts(&b, "{\"host\": ");
        put_ascii_string(&b, host ? host : "");
        (void) strbuf_puts(&b, ", \"redis_prefix\": ");
        put_ascii_string(&b, prefix ? prefix : "");
        k = strbuf_puts(&b, "}");
        if (k < 0) {
                strbuf_done(&b);
                return k;
        }
        *ret = b;
        return 0;
}

int wsproto_error_answer(const char *msg, size_t headroom, struct strbuf *ret) {
        struct strbuf b;
        int k;

        msg = msg ?: "error";
        (void) strbuf_init(&b, headroom, strlen(msg) + 16); /* a failure is sticky */
        (void) strbuf_puts(&b, "{\"error\": ");
        (void) strbuf_json_string(&b, msg);
        k = strbuf_puts(&b, "}"); /* fails if anything before did */
        if (k < 0) {
                strbuf_done(&b);
                return k;
        }
        *ret = b;
        return 0;
}

/* ---- Prometheus ---- */

static int append_label_value(struct strbuf *b, const char *s) {
        int k = 0;
        for (; k >= 0 && *s; s++) {
                if (*s == '\\')
                        k = strbuf_append(b, "\\\\", 2);
                else if (*s == '"')
                        k = strbuf_append(b, "\\\"", 2);
                else if (*s == '\n')
                        k = strbuf_append(b, "\\n", 2);
                else
                        k = strbuf_append(b, s, 1);
        }
        return k;
}

/* A counter must be a non-negative integer number. cJSON keeps doubles: exact below 2^53
 * (104 days of CPU time in ns, 9 PB of IO), which is also all Prometheus keeps (float64). */
static bool counter_value(const cJSON *j, uint64_t *ret) {
        if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < 0 ||
            j->valuedouble >= 18446744073709551616.0)
                return false;
        *ret = (uint64_t) j->valuedouble;
        return true;
}

/* The families of the limits' counters and pressure (issue 16, 18), rendered after the seed's
 * two, each only when the sample has a series of it (v1 has no oom_kill, v2 no failcnt). */
enum metric_family {
        FAM_THROTTLED_PERIODS,
        FAM_THROTTLED_SECONDS,
        FAM_MEM_USAGE,
        FAM_MEM_PEAK,
        FAM_MEM_FAILCNT,
        FAM_MEM_OOM_KILLS,
        FAM_PIDS_CURRENT,
        FAM_PRESSURE,
        _FAM_MAX,
};
static const struct {
        const char *name, *type, *help;
} families[_FAM_MAX] = {
        [FAM_THROTTLED_PERIODS] = {"cgrouparch_cpu_throttled_periods_total", "counter",
                                   "CFS periods in which the cgroup's own CPU quota throttled it "
                                   "(cpu.stat nr_throttled; a quota set on an ancestor counts "
                                   "there), from the latest sample."},
        [FAM_THROTTLED_SECONDS] = {"cgrouparch_cpu_throttled_seconds_total", "counter",
                                   "Time the cgroup's runnable tasks waited, throttled by its own "
                                   "CPU quota (cpu.stat throttled_time or throttled_usec), from "
                                   "the latest sample."},
        [FAM_MEM_USAGE] = {"cgrouparch_memory_usage_bytes", "gauge",
                           "Memory charged to the cgroup and all its descendants (so sum() over "
                           "nested cgroups counts twice), from the latest sample."},
        [FAM_MEM_PEAK] = {"cgrouparch_memory_peak_bytes", "gauge",
                          "Highest memory usage of the cgroup and all its descendants since it "
                          "was created or its peak was reset, from the latest sample."},
        [FAM_MEM_FAILCNT] = {"cgrouparch_memory_failcnt_total", "counter",
                             "Times the memory usage of the cgroup and all its descendants hit "
                             "its limit (cgroup v1 memory.failcnt), from the latest sample."},
        [FAM_MEM_OOM_KILLS] = {"cgrouparch_memory_oom_kills_total", "counter",
                               "Processes of the cgroup and all its descendants killed by the "
                               "OOM killer (cgroup v2 memory.events oom_kill), from the latest "
                               "sample."},
        [FAM_PIDS_CURRENT] = {"cgrouparch_pids_current", "gauge",
                              "Tasks in the cgroup and all its descendants (pids.current), from "
                              "the latest sample."},
        [FAM_PRESSURE] = {"cgrouparch_pressure_stalled_seconds_total", "counter",
                          "Time some (kind=\"some\") or all (kind=\"full\") non-idle tasks of "
                          "the cgroup and all its descendants were stalled on the resource "
                          "(PSI total=), from the latest sample."},
};

struct metric_out {
        struct strbuf cpu, blkio;
        struct strbuf fam[_FAM_MAX];
        wsproto_devname_fn devname;
        void *userdata;
};

int wsproto_parse_devt(const char *s, unsigned *ret_major, unsigned *ret_minor) {
        unsigned long ma, mi;
        char *end;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        ma = strtoul(s, &end, 10);
        if (errno || *end != ':' || !isdigit((unsigned char) end[1]) || ma > UINT32_MAX)
                return -EINVAL;
        mi = strtoul(end + 1, &end, 10);
        if (errno || *end || mi > UINT32_MAX)
                return -EINVAL;
        *ret_major = (unsigned) ma;
        *ret_minor = (unsigned) mi;
        return 0;
}

/* Closes the label before and writes `",device="vda",major="254",minor="0` (the caller closes
 * the last quote): the name as node_exporter gives disks, the "MAJ:MIN" key itself when no name
 * is known, and no major/minor when the key is not of that form (a future sample format). */
static int append_device(struct metric_out *o, const char *key) {
        const char *name = NULL;
        unsigned ma, mi;
        int k;

        if (wsproto_parse_devt(key, &ma, &mi) < 0) {
                k = strbuf_printf(&o->blkio, "\",device=\"");
                return k < 0 ? k : append_label_value(&o->blkio, key);
        }
        if (o->devname)
                name = o->devname(ma, mi, o->userdata);
        k = strbuf_printf(&o->blkio, "\",device=\"");
        if (k >= 0)
                k = append_label_value(&o->blkio, name && name[0] ? name : key);
        if (k >= 0)
                k = strbuf_printf(&o->blkio, "\",major=\"%u\",minor=\"%u", ma, mi);
        return k;
}

static int lower_op(char *dst, size_t n, const char *src) {
        size_t i;
        for (i = 0; i + 1 < n && src[i]; i++)
                dst[i] = (char) tolower((unsigned char) src[i]);
        dst[i] = 0;
        return src[i] ? -ENAMETOOLONG : 0;
}

/* `<family>{cgroup="<label>"<extra>} <value>\n` into the family's buffer; usec_value: the
 * counter is in µs and is written in seconds. A key that is there but no counter: -EINVAL. */
static int render_u64(struct metric_out *o, enum metric_family f, const char *label,
                      const char *extra, const cJSON *j, bool usec_value) {
        struct strbuf *b = &o->fam[f];
        uint64_t v;
        int k;

        if (!j)
                return 0; /* optional: only where the kernel has the file */
        if (!counter_value(j, &v))
                return -EINVAL;
        k = strbuf_printf(b, "%s{cgroup=\"", families[f].name);
        if (k >= 0)
                k = append_label_value(b, label);
        if (k >= 0)
                k = strbuf_printf(b, "\"%s} ", extra ? extra : "");
        if (k >= 0)
                k = usec_value ? strbuf_printf(b, "%llu.%06llu\n", (unsigned long long) (v / 1000000),
                                               (unsigned long long) (v % 1000000))
                               : strbuf_printf(b, "%llu\n", (unsigned long long) v);
        return k;
}

static const cJSON *item(const cJSON *obj, const char *key) {
        return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The PSI resource of a subsystem tree's nodes: cpu.pressure in cpu, io.pressure in blkio,
 * memory.pressure in memory; NULL: a tree without pressure. */
static const char *pressure_resource(const char *subsys) {
        if (strcmp(subsys, "cpu") == 0 || strcmp(subsys, "memory") == 0)
                return subsys;
        return strcmp(subsys, "blkio") == 0 ? "io" : NULL;
}

/* What issue 16 and 18 added to a node: memory and pids values, cpu's throttling, pressure. */
static int render_limits(struct metric_out *o, const char *subsys, const char *label,
                         const cJSON *node, const cJSON *value) {
        const cJSON *pr = item(node, "pressure");
        const char *res = pressure_resource(subsys);
        int k = 0;

        if (cJSON_IsObject(value) && strcmp(subsys, "cpu") == 0) {
                k = render_u64(o, FAM_THROTTLED_PERIODS, label, NULL, item(value, "nr_throttled"),
                               false);
                if (k >= 0)
                        k = render_u64(o, FAM_THROTTLED_SECONDS, label, NULL,
                                       item(value, "throttled_usec"), true);
        } else if (cJSON_IsObject(value) && strcmp(subsys, "memory") == 0) {
                k = render_u64(o, FAM_MEM_USAGE, label, NULL, item(value, "usage"), false);
                if (k >= 0)
                        k = render_u64(o, FAM_MEM_PEAK, label, NULL, item(value, "peak"), false);
                if (k >= 0)
                        k = render_u64(o, FAM_MEM_FAILCNT, label, NULL, item(value, "failcnt"),
                                       false);
                if (k >= 0)
                        k = render_u64(o, FAM_MEM_OOM_KILLS, label, NULL, item(value, "oom_kill"),
                                       false);
        } else if (cJSON_IsObject(value) && strcmp(subsys, "pids") == 0)
                k = render_u64(o, FAM_PIDS_CURRENT, label, NULL, item(value, "current"), false);
        if (k < 0 || !pr || cJSON_IsNull(pr))
                return k;
        if (!cJSON_IsObject(pr))
                return -EINVAL;
        if (!res)
                return 0; /* a future subsystem's pressure: no resource name for it yet */
        char some[64], full[64];
        snprintf(some, sizeof(some), ",resource=\"%s\",kind=\"some\"", res);
        snprintf(full, sizeof(full), ",resource=\"%s\",kind=\"full\"", res);
        k = render_u64(o, FAM_PRESSURE, label, some, item(pr, "some_usec"), true);
        if (k >= 0)
                k = render_u64(o, FAM_PRESSURE, label, full, item(pr, "full_usec"), true);
        return k;
}

/* memory and pids values are not the seed's shapes (cpu "usage" in ns, blkio device maps). */
static bool subsys_is_seed_shaped(const char *subsys) {
        return strcmp(subsys, "memory") != 0 && strcmp(subsys, "pids") != 0;
}

static int render_node(struct metric_out *o, const char *subsys, const char *path,
                       const cJSON *node, unsigned depth) {
        const cJSON *value, *sub;
        const char *label = path[0] ? path : "/";
        int k = 0;

        if (depth > 64)
                return -EINVAL;
        if (!cJSON_IsObject(node))
                return -EINVAL;
        value = cJSON_GetObjectItemCaseSensitive(node, "value");
        if (value && !cJSON_IsObject(value) && !cJSON_IsNull(value))
                return -EINVAL;
        k = render_limits(o, subsys, label, node, value);
        if (k < 0)
                return k;
        if (cJSON_IsObject(value) && subsys_is_seed_shaped(subsys)) {
                const cJSON *usage = cJSON_GetObjectItemCaseSensitive(value, "usage");
                uint64_t v;

                if (usage) {
                        if (!counter_value(usage, &v))
                                return -EINVAL;
                        k = strbuf_printf(&o->cpu,
                                               "cgrouparch_cpu_usage_seconds_total{subsystem=\"");
                        if (k >= 0)
                                k = append_label_value(&o->cpu, subsys);
                        if (k >= 0)
                                k = strbuf_printf(&o->cpu, "\",cgroup=\"");
                        if (k >= 0)
                                k = append_label_value(&o->cpu, label);
                        if (k >= 0)
                                k = strbuf_printf(&o->cpu, "\"} %llu.%09llu\n",
                                                       (unsigned long long) (v / 1000000000ULL),
                                                       (unsigned long long) (v % 1000000000ULL));
                } else
                        for (const cJSON *dev = value->child; k >= 0 && dev; dev = dev->next) {
                                if (!cJSON_IsObject(dev))
                                        continue; /* not a device map: a future counter */
                                for (const cJSON *op = dev->child; k >= 0 && op; op = op->next) {
                                        char opname[32];
                                        if (!counter_value(op, &v))
                                                return -EINVAL;
                                        if (lower_op(opname, sizeof opname, op->string) < 0)
                                                return -EINVAL;
                                        k = strbuf_printf(
                                                &o->blkio, "cgrouparch_blkio_bytes_total{cgroup=\"");
                                        if (k >= 0)
                                                k = append_label_value(&o->blkio, label);
                                        if (k >= 0)
                                                k = append_device(o, dev->string);
                                        if (k >= 0)
                                                k = strbuf_printf(&o->blkio, "\",op=\"");
                                        if (k >= 0)
                                                k = append_label_value(&o->blkio, opname);
                                        if (k >= 0)
                                                k = strbuf_printf(&o->blkio, "\"} %llu\n",
                                                                       (unsigned long long) v);
                                }
                        }
        }
        if (k < 0)
                return k;

        sub = cJSON_GetObjectItemCaseSensitive(node, "sub_cgroup");
        if (sub && !cJSON_IsObject(sub) && !cJSON_IsNull(sub))
                return -EINVAL;
        for (const cJSON *c = sub ? sub->child : NULL; c; c = c->next) {
                _cleanup_free_ char *p = NULL;
                if (!c->string || !c->string[0] || strchr(c->string, '/'))
                        return -EINVAL;
                if (path[0] ? xasprintf(&p, "%s/%s", path, c->string) < 0
                            : !(p = strdup(c->string)))
                        return -ENOMEM;
                k = render_node(o, subsys, p, c, depth + 1);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int render_server(struct strbuf *b, const struct wsproto_stats *st) {
        int k = strbuf_printf(
                b,
                "# HELP cgrouparch_wsd_connections Open websocket connections.\n"
                "# TYPE cgrouparch_wsd_connections gauge\n"
                "cgrouparch_wsd_connections %u\n"
                "# HELP cgrouparch_wsd_subscribers Connections subscribed to live samples.\n"
                "# TYPE cgrouparch_wsd_subscribers gauge\n"
                "cgrouparch_wsd_subscribers %u\n"
                "# HELP cgrouparch_wsd_redis_up Whether cg-wsd's Redis connection is up.\n"
                "# TYPE cgrouparch_wsd_redis_up gauge\n"
                "cgrouparch_wsd_redis_up %d\n"
                "# HELP cgrouparch_wsd_requests_total Websocket requests received.\n"
                "# TYPE cgrouparch_wsd_requests_total counter\n"
                "cgrouparch_wsd_requests_total %llu\n"
                "# HELP cgrouparch_wsd_errors_total Requests answered with an error.\n"
                "# TYPE cgrouparch_wsd_errors_total counter\n"
                "cgrouparch_wsd_errors_total %llu\n"
                "# HELP cgrouparch_wsd_pushes_total Samples pushed to subscribers.\n"
                "# TYPE cgrouparch_wsd_pushes_total counter\n"
                "cgrouparch_wsd_pushes_total %llu\n"
                "# HELP cgrouparch_wsd_pushes_dropped_total Samples dropped for slow readers.\n"
                "# TYPE cgrouparch_wsd_pushes_dropped_total counter\n"
                "cgrouparch_wsd_pushes_dropped_total %llu\n",
                st->connections, st->subscribers, st->redis_up ? 1 : 0,
                (unsigned long long) st->requests_total, (unsigned long long) st->errors_total,
                (unsigned long long) st->pushes_total,
                (unsigned long long) st->pushes_dropped_total);
        if (k >= 0)
                k = strbuf_printf(b, "# HELP cgrouparch_wsd_redis_values_rejected_total Values "
                                          "read from Redis and not served, by reason.\n"
                                          "# TYPE cgrouparch_wsd_redis_values_rejected_total "
                                          "counter\n");
        if (k >= 0)
                k = strbuf_printf(
                        b,
                        "# HELP cgrouparch_wsd_pending_connections Accepted connections that are "
                        "not websockets (yet).\n"
                        "# TYPE cgrouparch_wsd_pending_connections gauge\n"
                        "cgrouparch_wsd_pending_connections %u\n"
                        "# HELP cgrouparch_wsd_connections_refused_total Connections closed at "
                        "accept, over a cap of pending connections.\n"
                        "# TYPE cgrouparch_wsd_connections_refused_total counter\n"
                        "cgrouparch_wsd_connections_refused_total %llu\n"
                        "# HELP cgrouparch_wsd_handshake_timeouts_total Connections closed for not "
                        "finishing a request in time.\n"
                        "# TYPE cgrouparch_wsd_handshake_timeouts_total counter\n"
                        "cgrouparch_wsd_handshake_timeouts_total %llu\n"
                        "# HELP cgrouparch_wsd_accept_pauses_total Times accept() ran out of file "
                        "descriptors.\n"
                        "# TYPE cgrouparch_wsd_accept_pauses_total counter\n"
                        "cgrouparch_wsd_accept_pauses_total %llu\n",
                        st->pending, (unsigned long long) st->connections_refused_total,
                        (unsigned long long) st->handshake_timeouts_total,
                        (unsigned long long) st->accept_pauses_total);
        for (int r = WSPROTO_REJECT_SIZE; k >= 0 && r < _WSPROTO_REJECT_MAX; r++)
                k = strbuf_printf(b,
                                       "cgrouparch_wsd_redis_values_rejected_total{reason=\"%s\"} "
                                       "%llu\n",
                                       wsproto_reject_name((enum wsproto_reject) r),
                                       (unsigned long long) st->values_rejected[r]);
        return k;
}

int wsproto_metrics_render(const char *sample, size_t len, int64_t slot, double now_sec,
                           const struct wsproto_stats *st, wsproto_devname_fn devname,
                           void *userdata, struct strbuf *ret) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        struct metric_out o = { .devname = devname, .userdata = userdata };
        struct strbuf b;
        int k;

        k = strbuf_init(&b, 0, 4096);
        if (k < 0)
                return k;
        if (sample) {
                const char *end = NULL;

                j = cJSON_ParseWithLengthOpts(sample, len, &end, false);
                k = j && cJSON_IsObject(j) ? 0 : -EINVAL;
                if (k >= 0)
                        k = strbuf_init(&o.cpu, 0, 4096);
                if (k >= 0)
                        k = strbuf_init(&o.blkio, 0, 4096);
                for (const cJSON *s = j ? j->child : NULL; k >= 0 && s; s = s->next)
                        k = render_node(&o, s->string, "", s, 0);
                if (k >= 0)
                        k = strbuf_printf(
                                &b, "# HELP cgrouparch_cpu_usage_seconds_total Cumulative CPU "
                                    "time of the cgroup and all its descendants (so sum() over "
                                    "nested cgroups counts twice), from the latest sample.\n"
                                    "# TYPE cgrouparch_cpu_usage_seconds_total counter\n");
                if (k >= 0)
                        k = strbuf_append(&b, strbuf_text(&o.cpu), o.cpu.len);
                if (k >= 0)
                        k = strbuf_printf(
                                &b, "# HELP cgrouparch_blkio_bytes_total Cumulative bytes of "
                                    "IO per device and operation of the cgroup and all its "
                                    "descendants (so sum() over nested cgroups counts twice), "
                                    "from the latest sample.\n"
                                    "# TYPE cgrouparch_blkio_bytes_total counter\n");
                if (k >= 0)
                        k = strbuf_append(&b, strbuf_text(&o.blkio), o.blkio.len);
                for (int f = 0; k >= 0 && f < _FAM_MAX; f++)
                        if (o.fam[f].len > 0) {
                                k = strbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n",
                                                  families[f].name, families[f].help,
                                                  families[f].name, families[f].type);
                                if (k >= 0)
                                        k = strbuf_append(&b, strbuf_text(&o.fam[f]),
                                                          o.fam[f].len);
                        }
                if (k >= 0)
                        k = strbuf_printf(
                                &b,
                                "# HELP cgrouparch_sample_age_seconds Age of the latest sample.\n"
                                "# TYPE cgrouparch_sample_age_seconds gauge\n"
                                "cgrouparch_sample_age_seconds %.3f\n"
                                "# HELP cgrouparch_sample_timestamp_seconds Unix time (the "
                                "second) of the latest sample.\n"
                                "# TYPE cgrouparch_sample_timestamp_seconds gauge\n"
                                "cgrouparch_sample_timestamp_seconds %" PRId64 "\n",
                                MAX(now_sec - (double) slot, 0.0), slot);
                strbuf_done(&o.cpu);
                strbuf_done(&o.blkio);
                for (int f = 0; f < _FAM_MAX; f++)
                        strbuf_done(&o.fam[f]);
        }
        if (k >= 0)
                k = render_server(&b, st);
        if (k < 0) {
                strbuf_done(&b);
                return k;
        }
        *ret = b;
        return 0;
}

/* ---- HTTP and access ---- */

enum wsproto_route wsproto_http_route(const char *path, const char **ret_file) {
        const char *name;

        if (!path || path[0] != '/')
                return WSPROTO_ROUTE_NOT_FOUND;
        if (strcmp(path, "/metrics") == 0)
                return WSPROTO_ROUTE_METRICS;
        if (strcmp(path, "/healthz") == 0)
                return WSPROTO_ROUTE_HEALTHZ;
        name = path + 1;
        if (!name[0])
                name = "index.html";
        if (strlen(name) > 128 || name[0] == '.')
                return WSPROTO_ROUTE_NOT_FOUND;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-' && *p != '.')
                        return WSPROTO_ROUTE_NOT_FOUND;
        if (strstr(name, ".."))
                return WSPROTO_ROUTE_NOT_FOUND;
        *ret_file = name;
        return WSPROTO_ROUTE_FILE;
}

const char *wsproto_mime_type(const char *file) {
        static const struct {
                const char *ext, *type;
        } map[] = {
                { ".html", "text/html; charset=utf-8" },
                { ".js", "text/javascript; charset=utf-8" },
                { ".css", "text/css; charset=utf-8" },
                { ".svg", "image/svg+xml" },
                { ".png", "image/png" },
                { ".ico", "image/x-icon" },
                { ".json", "application/json" },
                { ".txt", "text/plain; charset=utf-8" },
        };
        const char *dot = file ? strrchr(file, '.') : NULL;

        for (size_t i = 0; dot && i < ELEMENTSOF(map); i++)
                if (strcasecmp(dot, map[i].ext) == 0)
                        return map[i].type;
        return "application/octet-stream";
}

static bool origin_is_host(const char *origin, const char *host) {
        size_t n;

        if (!host || !host[0])
                return false;
        if (strncasecmp(origin, "http://", 7) == 0)
                origin += 7;
        else if (strncasecmp(origin, "https://", 8) == 0)
                origin += 8;
        else
                return false;
        n = strlen(host);
        return strncasecmp(origin, host, n) == 0 && origin[n] == 0;
}

bool wsproto_origin_allowed(const char *origin, const char *host, char *const *allowed) {
        if (!origin)
                return true;
        if (origin_is_host(origin, host))
                return true;
        for (char *const *a = allowed; a && *a; a++)
                if (strcmp(*a, "*") == 0 || strcasecmp(*a, origin) == 0)
                        return true;
        return false;
}

static bool name_equal(const char *a, size_t n, const char *b) {
        size_t m = strlen(b);

        if (n > 0 && a[n - 1] == '.')
                n--;
        if (m > 0 && b[m - 1] == '.')
                m--;
        return n == m && strncasecmp(a, b, n) == 0;
}

bool wsproto_host_allowed(const char *host, const char *bind, char *const *server_names) {
        char name[256];
        const char *colon;
        size_t n;
        unsigned char addr[16];

        if (!host || !host[0])
                return true;
        if (host[0] == '[') { /* [v6]:port */
                const char *e = strchr(host, ']');
                if (!e || (e[1] && e[1] != ':'))
                        return false;
                n = (size_t) (e - host - 1);
                if (n >= sizeof name)
                        return false;
                memcpy(name, host + 1, n);
                name[n] = 0;
                return inet_pton(AF_INET6, name, addr) == 1;
        }
        colon = strrchr(host, ':');
        n = colon ? (size_t) (colon - host) : strlen(host);
        if (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
                return false;
        if (n == 0 || n >= sizeof name)
                return false;
        memcpy(name, host, n);
        name[n] = 0;
        if (inet_pton(AF_INET, name, addr) == 1)
                return true; /* DNS rebinding needs a name: an address cannot be rebound */
        if (name_equal(name, n, "localhost") || (bind && name_equal(name, n, bind)))
                return true;
        for (char *const *s = server_names; s && *s; s++)
                if (strcmp(*s, "*") == 0 || name_equal(name, n, *s))
                        return true;
        return false;
}

bool wsproto_bind_is_loopback(const char *bind) {
        struct in_addr a4;
        struct in6_addr a6;

        if (!bind)
                return false;
        if (strcasecmp(bind, "localhost") == 0 || strcmp(bind, "lo") == 0)
                return true;
        if (inet_pton(AF_INET, bind, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, bind, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

bool wsproto_token_equal(const char *presented, const char *expected) {
        size_t n, m;
        unsigned char d;

        if (!presented || !expected)
                return false;
        n = strlen(presented);
        m = strlen(expected);
        d = n != m;
        /* time depends on the expected length only */
        for (size_t i = 0; i < m; i++)
                d |= (unsigned char) (expected[i] ^ (i < n ? presented[i] : 0));
        return d == 0;
}

const char *wsproto_bearer_token(const char *value) {
        if (!value)
                return NULL;
        while (*value == ' ' || *value == '\t')
                value++;
        if (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
                return NULL;
        value += 6;
        while (*value == ' ' || *value == '\t')
                value++;
        return *value ? value : NULL;
}
