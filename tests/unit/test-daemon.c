/* test-daemon.c — the daemons' shared command line (common/daemon.c), on argument vectors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "tap.h"

static int extra_seen;
static const char *extra_arg;

static int parse_extra(int val, const char *arg, void *userdata, char **err) {
        (void) userdata;
        if (val == 'i') {
                if (strcmp(arg, "bad") == 0) {
                        *err = strdup("--interval: bad is not a number");
                        return -EINVAL;
                }
                extra_seen = val;
                extra_arg = arg;
        }
        return 0;
}

static const struct option extra[] = {
        { "interval", required_argument, NULL, 'i' },
        {},
};
static const struct daemon_spec spec = {
        .name = "cg-test",
        .extra = extra,
        .parse_extra = parse_extra,
};

#define ARGV(...) ((char *[]){ "cg-test", __VA_ARGS__, NULL })

static int parse(int argc, char **argv, struct daemon_args *a, char **err) {
        *err = NULL;
        memset(a, 0, sizeof(*a));
        return daemon_parse_args(argc, argv, &spec, NULL, a, err);
}

static void test_defaults(void) {
        struct daemon_args a;
        char *err, *argv[] = { "cg-test", NULL };

        CHECK_INT(parse(1, argv, &a, &err), 1);
        CHECK_STR(a.config, CFG_DEFAULT_PATH);
        CHECK(!a.check && !a.help && !a.version);
        CHECK_INT(a.log_level, LOG_INFO);
        CHECK(err == NULL);
}

static void test_common_options(void) {
        struct daemon_args a;
        char *err;
        char **v = ARGV("-c", "/tmp/x.conf", "--check", "-v");

        CHECK_INT(parse(5, v, &a, &err), 1);
        CHECK_STR(a.config, "/tmp/x.conf");
        CHECK(a.check);
        CHECK_INT(a.log_level, LOG_DEBUG);

        char **h = ARGV("--help");
        CHECK_INT(parse(2, h, &a, &err), 0);
        CHECK(a.help);
        char **ver = ARGV("--version");
        CHECK_INT(parse(2, ver, &a, &err), 0);
        CHECK(a.version);
        char **v2 = ARGV("-V", "--verbose");
        CHECK_INT(parse(3, v2, &a, &err), 0);
        CHECK(a.version && !a.help);
        CHECK_INT(a.log_level, LOG_DEBUG);
        char **h2 = ARGV("-h");
        CHECK_INT(parse(2, h2, &a, &err), 0);
        CHECK(a.help);
        /* every daemon spells debug -v; cg-taskd's old -d/--debug stays as a hidden alias */
        char **d = ARGV("-d");
        CHECK_INT(parse(2, d, &a, &err), 1);
        CHECK_INT(a.log_level, LOG_DEBUG);
        char **dl = ARGV("--debug");
        CHECK_INT(parse(2, dl, &a, &err), 1);
        CHECK_INT(a.log_level, LOG_DEBUG);
}

static void test_extra_options(void) {
        struct daemon_args a;
        char *err;
        char **v = ARGV("--interval", "5");

        extra_seen = 0;
        CHECK_INT(parse(3, v, &a, &err), 1);
        CHECK_INT(extra_seen, 'i');
        CHECK_STR(extra_arg, "5");

        char **bad = ARGV("--interval", "bad");
        CHECK_INT(parse(3, bad, &a, &err), -EINVAL);
        CHECK(err && strstr(err, "bad is not a number"));
        free(err);
}

static void test_usage_errors(void) {
        struct daemon_args a;
        char *err;
        char **unknown = ARGV("--frobnicate");
        char **extra_arg_v = ARGV("stray");
        char **empty = ARGV("-c", "");
        char **missing = ARGV("-c");

        CHECK_INT(parse(2, unknown, &a, &err), -EINVAL);
        CHECK(err && strstr(err, "--frobnicate"));
        free(err);
        CHECK_INT(parse(2, extra_arg_v, &a, &err), -EINVAL);
        CHECK(err && strstr(err, "stray"));
        free(err);
        CHECK_INT(parse(3, empty, &a, &err), -EINVAL);
        CHECK(err != NULL);
        free(err);
        CHECK_INT(parse(2, missing, &a, &err), -EINVAL);
        CHECK(err != NULL);
        free(err);
}

int main(void) {
        log_set_prefix(0);
        RUN(test_defaults);
        RUN(test_common_options);
        RUN(test_extra_options);
        RUN(test_usage_errors);
        return TAP_END();
}
