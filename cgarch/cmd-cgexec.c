/* cmd-cgexec.c — `cgarch cgexec-arg`: the seed's get_cgexec_arg, as JSON ({"name": "-g cpu:a
 * -g blkio:a"}) or, with -s, one bare argument for `cgexec $(cgarch cgexec-arg -s NAME) cmd`.
 * The conf comes from the applied snapshot by default (the file cg-taskd and cg-accountd follow),
 * so a service start never waits for ZooKeeper; --zk reads ZooKeeper, --conf a file. The cgexec
 * form comes from the public API (cgarch_cgexec_arg), so the CLI and a program linking libcgarch
 * print the same text, both following this host's mounts (cpuacct named where it is apart).
 * In systemd mode (or with --systemd) the argument is the one `systemd-run` takes:
 * `systemd-run $(cgarch cgexec-arg -s NAME) cmd` with "--slice=cgrouparch-a-b.slice", in the
 * same JSON shape; --cgexec keeps the seed's form there. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cgarch.h"
#include "cgrouparch.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "util.h"

/* The API said -EINVAL: parse again for the problems, each with its JSON path. */
static void report_invalid(const char *what, const char *text) {
        struct conf_errors errs = {};
        struct conf *conf = NULL;
        int r;

        r = conf_parse_text(text, strlen(text), CONF_TEXT_ANY, &conf, &errs);
        conf_free(conf);
        cli_print_conf_errors(what, &errs);
        if (errs.n == 0)
                log_error_errno(r < 0 ? r : -EINVAL, "%s: invalid arch conf: %m", what);
        conf_errors_clear(&errs);
}

struct sd_ctx {
        const struct conf *conf;
        const char *root;
};

static int sd_one(const char *name, void *userdata, char **ret) {
        const struct sd_ctx *x = userdata;

        return cli_sd_slice_arg(x->conf, x->root, name, ret);
}

/* The systemd-run form, which the public API does not have: -s gives one "--slice=UNIT", else
 * cgarch_cgexec_arg()'s JSON shape (the same writer) with those values. */
static int sd_form(const char *text, const char *root, char **names, int n, bool single,
                   char **ret) {
        _cleanup_(conf_freep) struct conf *conf = NULL;
        int r;

        r = conf_parse_text(text, strlen(text), CONF_TEXT_ANY, &conf, NULL);
        if (r < 0)
                return r;
        if (single)
                return cli_sd_slice_arg(conf, root, names[0], ret);
        return api_name_map_json((const char *const *) names, n, sd_one,
                                 &(struct sd_ctx){ conf, root }, ret);
}

int cli_cmd_cgexec_arg(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "conf", required_argument, NULL, 'f' },
                { "zk", no_argument, NULL, 'Z' },
                { "config", required_argument, NULL, 'c' },
                { "single", no_argument, NULL, 's' },
                { "systemd", no_argument, NULL, 'S' },
                { "cgexec", no_argument, NULL, 'G' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *conf_file = NULL;
        bool single = false, zk = false;
        int form = -1; /* 1: systemd-run's, 0: cgexec's, -1: from the mode */
        int o, r;

        while ((o = getopt_long(argc, argv, "f:c:sh", opts, NULL)) >= 0)
                switch (o) {
                case 'f':
                        conf_file = optarg;
                        break;
                case 'Z':
                        zk = true;
                        break;
                case 'c':
                        c->cfg_path = optarg;
                        break;
                case 's':
                        single = true;
                        break;
                case 'S':
                        form = 1;
                        break;
                case 'G':
                        form = 0;
                        break;
                case 'h':
                        printf("Usage: cgarch cgexec-arg [-c CONFIG] [--conf FILE | --zk] [-s]\n"
                               "                         [--systemd | --cgexec] NAME...\n"
                               "Prints {\"NAME\": \"-g cpu:PATH -g blkio:PATH\", ...} (a name in "
                               "no tree maps to \"\"),\nfor this host's mounts: -g cpuacct:PATH "
                               "too where cpuacct is a hierarchy of its own.\nThe conf is the "
                               "applied snapshot (<[daemon] runtime_dir>/arch_conf.json).\n"
                               "  -c, --config PATH  config file\n"
                               "  --conf FILE        read the arch conf (or a snapshot) from FILE "
                               "(\"-\": stdin)\n"
                               "  --zk               read the arch conf from ZooKeeper "
                               "(<[zookeeper] prefix>/arch_conf)\n"
                               "  -s, --single       one NAME: print only its argument (error if "
                               "no tree holds it)\n"
                               "  --systemd          the systemd-run form, --slice=UNIT (the "
                               "default in systemd mode)\n"
                               "  --cgexec           the cgexec form, -g cpu:PATH ... (the "
                               "default elsewhere)\n");
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (conf_file && zk) {
                fprintf(stderr, "cgarch: cgexec-arg takes --conf FILE or --zk, not both\n");
                return CLI_EXIT_USAGE;
        }
        if (optind >= argc || (single && argc - optind != 1)) {
                fprintf(stderr, "cgarch: cgexec-arg takes %s\n",
                        single ? "exactly one NAME with -s" : "at least one NAME");
                return CLI_EXIT_USAGE;
        }
        const struct cfg *cfg = cli_cfg(c);
        _cleanup_free_ char *text = NULL, *out = NULL, *what = NULL;
        if (!cfg)
                return CLI_EXIT_FAIL;
        if (form < 0)
                form = cli_sd_mode(cfg);
        if (conf_file) {
                r = read_full_file(strcmp(conf_file, "-") == 0 ? "/dev/stdin" : conf_file, &text,
                                   NULL);
                if (r < 0) {
                        log_error_errno(r, "Failed to read %s: %m", conf_file);
                        return CLI_EXIT_FAIL;
                }
                what = strdup(conf_file);
        } else if (zk) {
                int64_t version = -1;

                r = cgarch_zk_read_conf(cfg, &text, &version);
                if (r < 0)
                        return CLI_EXIT_FAIL; /* the message is printed there */
                (void) xasprintf(&what, "ZooKeeper conf version %lld", (long long) version);
        } else {
                r = cfg_snapshot_path(cfg, &what);
                if (r < 0) {
                        log_error_errno(r, "Failed to build the snapshot path: %m");
                        return CLI_EXIT_FAIL;
                }
                r = read_full_file(what, &text, NULL);
                if (r == -ENOENT) {
                        log_error("no applied snapshot at %s: cg-syncd has not applied a conf on "
                                  "this host yet (--zk reads ZooKeeper instead)",
                                  what);
                        return CLI_EXIT_FAIL;
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to read %s: %m", what);
                        return CLI_EXIT_FAIL;
                }
        }
        if (form)
                r = sd_form(text, cfg->cg.root, argv + optind, argc - optind, single, &out);
        else if (single)
                r = cgarch_cgexec_arg_one(text, cfg->cg.root, argv[optind], &out);
        else
                /* The public API (include/cgrouparch.h) builds the answer: one output format. */
                r = cgarch_cgexec_arg(text, cfg->cg.root, (const char *const *) argv + optind,
                                      argc - optind, &out);
        if (r == -EINVAL) {
                report_invalid(what ?: "conf", text);
                return CLI_EXIT_FAIL;
        }
        if (r == -ENOENT && single) {
                log_error("no cgroup named \"%s\" in %s", argv[optind], what ?: "the conf");
                return CLI_EXIT_FAIL;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to build the cgexec argument: %m");
                return CLI_EXIT_FAIL;
        }
        printf("%s\n", out);
        return CLI_EXIT_OK;
}
