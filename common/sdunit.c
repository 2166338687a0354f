/* sdunit.c — see sdunit.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "sdunit.h"

static bool sdunit_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.';
}

/* Appends the escaped form of s[0..n) to out (room for 4*n+1 is the caller's). */
static char *sdunit_escape_into(char *out, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '/') { /* as unit_name_escape(): a path separator becomes '-' */
                        *out++ = '-';
                        continue;
                }
                if (sdunit_char_ok((char) c) && !(i == 0 && c == '.')) {
                        *out++ = (char) c;
                        continue;
                }
                *out++ = '\\';
                *out++ = 'x';
                *out++ = hex[c >> 4];
                *out++ = hex[c & 15];
        }
        *out = '\0';
        return out;
}

int sdunit_escape(const char *s, char **ret) {
        size_t n;
        char *out;

        if (!s || !*s)
                return -EINVAL;
        n = strlen(s);
        out = malloc(4 * n + 1);
        if (!out)
                return -ENOMEM;
        sdunit_escape_into(out, s, n);
        *ret = out;
        return 0;
}

/* Appends the '/'-separated components of p, escaped and joined by '-'. */
static int sdunit_append_components(char **w, const char *p, bool first) {
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (n == 0)
                        return -EINVAL;
                if (!first)
                        *(*w)++ = '-';
                *w = sdunit_escape_into(*w, p, n);
                first = false;
                p += n;
                if (*p == '/') {
                        p++;
                        if (!*p)
                                return -EINVAL;
                }
        }
        return first ? -EINVAL : 0;
}

int sdunit_slice_name(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *out = NULL;
        char *w;
        int r;

        if (!root || !*root || !path)
                return -EINVAL;
        if (*root == '/')
                root++;
        out = malloc(4 * (strlen(root) + strlen(path)) + 2 + sizeof(".slice"));
        if (!out)
                return -ENOMEM;
        w = out;
        r = sdunit_append_components(&w, root, true);
        if (r < 0)
                return r;
        if (*path) {
                r = sdunit_append_components(&w, path, false);
                if (r < 0)
                        return r;
        }
        strcpy(w, ".slice");
        *ret = TAKE_PTR(out);
        return 0;
}

int sdunit_bus_open(const char *spec, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (!spec || strcmp(spec, "system") == 0)
                return sd_bus_open_system(ret);
        if (strcmp(spec, "user") == 0)
                return sd_bus_open_user(ret);
        /* An address: a private manager socket speaks D-Bus without a bus daemon, so no Hello. */
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, spec);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, strstr(spec, "/systemd/private") == NULL);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* ---- the inverse ---- */

static int sdunit_hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int sdunit_unescape(const char *s, size_t n, char **ret) {
        char *out = malloc(n + 1), *w = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '\\') {
                        *w++ = s[i];
                        continue;
                }
                int hi, lo;
                if (n - i < 4) { /* "\xNN" */
                        free(out);
                        return -EINVAL;
                }
                hi = sdunit_hexval(s[i + 2]);
                lo = sdunit_hexval(s[i + 3]);
                if (s[i + 1] != 'x' || hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        free(out);
                        return -EINVAL;
                }
                *w++ = (char) (hi * 16 + lo);
                i += 3;
        }
        *w = '\0';
        *ret = out;
        return 0;
}

int sdunit_slice_path(const char *root, const char *unit, char **ret) {
        _cleanup_free_ char *rootname = NULL, *out = NULL;
        size_t rl, ul, bl, o = 0;
        const char *body;
        int r;

        r = sdunit_slice_name(root, "", &rootname);
        if (r < 0)
                return r;
        rl = strlen(rootname) - strlen(".slice");
        ul = strlen(unit);
        if (ul < rl + strlen(".slice") || strncmp(unit, rootname, rl) != 0 ||
            strcmp(unit + ul - strlen(".slice"), ".slice") != 0)
                return -ENOENT;
        if (ul == rl + strlen(".slice")) { /* the managed root itself */
                out = strdup("");
                if (!out)
                        return -ENOMEM;
                *ret = TAKE_PTR(out);
                return 0;
        }
        if (unit[rl] != '-')
                return -ENOENT; /* "cgrouparchx.slice": another root */
        body = unit + rl + 1;
        bl = ul - rl - 1 - strlen(".slice");
        out = malloc(bl + 1);
        if (!out)
                return -ENOMEM;
        /* Components are separated by '-'; an escaped name never holds a bare '-'. */
        for (size_t i = 0; i <= bl;) {
                size_t l = 0;
                _cleanup_free_ char *name = NULL;

                while (i + l < bl && body[i + l] != '-')
                        l++;
                if (l == 0)
                        return -EINVAL;
                r = sdunit_unescape(body + i, l, &name);
                if (r < 0)
                        return r;
                if (!conf_name_is_valid(name))
                        return -EINVAL;
                if (o)
                        out[o++] = '/';
                memcpy(out + o, name, strlen(name));
                o += strlen(name);
                i += l + 1;
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

int sdunit_slice_patterns(const char *root, char ***ret) {
        _cleanup_free_ char *name = NULL, *q = NULL;
        char **v;
        size_t l;
        int r;

        r = sdunit_slice_name(root, "", &name);
        if (r < 0)
                return r;
        l = strlen(name) - strlen(".slice");
        q = malloc(2 * l + 1);
        if (!q)
                return -ENOMEM;
        for (size_t i = 0, o = 0; i <= l; i++) {
                if (i < l && strchr("\\*?[]", name[i]))
                        q[o++] = '\\';
                q[o++] = i < l ? name[i] : '\0';
        }
        v = calloc(3, sizeof(*v));
        if (!v)
                return -ENOMEM;
        if (asprintf(&v[0], "%s.slice", q) < 0 || asprintf(&v[1], "%s-*.slice", q) < 0) {
                free(v[0]);
                free(v);
                return -ENOMEM;
        }
        *ret = v;
        return 0;
}
