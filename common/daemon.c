/* daemon.c — the daemons' shared command line (see daemon.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "util.h"

#ifndef CGARCH_VERSION /* the Makefile defines it; tests/fuzz/run builds this file without */
#define CGARCH_VERSION "unknown"
#endif

enum { ARG_CHECK = 0x100 };

static int usage_error(char **err, const char *fmt, const char *what) {
        return xasprintf(err, fmt, what) < 0 ? -ENOMEM : -EINVAL;
}

int daemon_parse_args(int argc, char **argv, const struct daemon_spec *spec, void *userdata,
                      struct daemon_args *ret, char **err) {
        struct option opts[7 + DAEMON_EXTRA_MAX] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {"config", required_argument, NULL, 'c'},
                {"check", no_argument, NULL, ARG_CHECK},
                {"verbose", no_argument, NULL, 'v'},
                /* Hidden: cg-taskd's old spelling of -v, still in operators' scripts and units. */
                {"debug", no_argument, NULL, 'd'},
        };
        /* ':' first: a missing argument is ':' rather than '?' */
        char shorts[16 + 2 * DAEMON_EXTRA_MAX] = ":hVc:vd";
        struct daemon_args a = {.config = CFG_DEFAULT_PATH, .log_level = LOG_INFO};
        size_t n = 6, ns = strlen(shorts);
        int c, r;

        for (const struct option *o = spec->extra; o && o->name; o++) {
                if (n >= 6 + DAEMON_EXTRA_MAX)
                        return -E2BIG; /* a programming error: raise DAEMON_EXTRA_MAX */
                opts[n++] = *o;
                if (o->val > 0 && o->val < 0x100) {
                        shorts[ns++] = (char) o->val;
                        if (o->has_arg == required_argument)
                                shorts[ns++] = ':';
                }
        }

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, opts, NULL)) >= 0) {
                if (c == 'h')
                        a.help = true;
                else if (c == 'V')
                        a.version = true;
                else if (c == 'c') {
                        if (!*optarg)
                                return usage_error(err, "%s needs a path", "--config");
                        a.config = optarg;
                } else if (c == ARG_CHECK)
                        a.check = true;
                else if (c == 'v' || c == 'd')
                        a.log_level = LOG_DEBUG;
                else if (c == ':')
                        return usage_error(err, "option '%s' needs an argument", argv[optind - 1]);
                else if (c == '?')
                        return usage_error(err, "unknown option '%s'", argv[optind - 1]);
                else {
                        r = spec->parse_extra(c, optarg, userdata, err);
                        if (r < 0)
                                return r;
                }
        }
        if (optind < argc)
                return usage_error(err, "unexpected argument '%s'", argv[optind]);
        *ret = a;
        return a.help || a.version ? 0 : 1;
}

int daemon_setup(int argc, char **argv, const struct daemon_spec *spec, void *userdata,
                 struct daemon_args *ret) {
        _cleanup_free_ char *err = NULL;
        int r;

        log_set_ident(spec->name);
        r = daemon_parse_args(argc, argv, spec, userdata, ret, &err);
        if (r < 0)
                return log_error_errno(r, "%s (see %s --help)", err ?: "bad arguments",
                                       spec->name);
        if (ret->help)
                spec->help();
        else if (ret->version)
                printf("%s %s\n", spec->name, CGARCH_VERSION);
        else
                log_set_max_level(ret->log_level);
        return r;
}
