/* cmd-cgexec.c — `cgarch cgexec-arg`: the seed's get_cgexec_arg from a conf file or from
 * ZooKeeper, as JSON ({"name": "-g cpu:a -g blkio:a"}) or, with -s, one bare argument for
 * `cgexec $(cgarch cgexec-arg -s NAME) cmd`. The answer comes from the public API
 * (cgarch_cgexec_arg), so the CLI and a program linking libcgarch print the same text. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        for (size_t i = 0; i < errs.n; i++)
                log_error("%s: %s: %s", what, errs.v[i].path, errs.v[i].msg);
        if (errs.n == 0)
                log_error_errno(r < 0 ? r : -EINVAL, "%s: invalid arch conf: %m", what);
        conf_errors_clear(&errs);
}

int cli_cmd_cgexec_arg(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "conf", required_argument, NULL, 'f' },
                { "config", required_argument, NULL, 'c' },
                { "single", no_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *conf_file = NULL;
        bool single = false;
        int o, r;

        while ((o = getopt_long(argc, argv, "f:c:sh", opts, NULL)) >= 0)
                switch (o) {
                case 'f':
                        conf_file = optarg;
                        break;
                case 'c':
                        c->cfg_path = optarg;
                        break;
                case 's':
                        single = true;
                        break;
                case 'h':
                        printf("Usage: cgarch cgexec-arg [-c CONFIG] [--conf FILE] [-s] NAME...\n"
                               "Prints {\"NAME\": \"-g cpu:PATH -g blkio:PATH\", ...} (a name in "
                               "no tree maps to \"\").\n"
                               "  --conf FILE  read the arch conf (or snapshot) from FILE instead "
                               "of ZooKeeper\n"
                               "  -s           one NAME: print only its argument (error if no "
                               "tree holds it)\n");
                        return CLI_EXIT_OK;
                default:
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
        if (conf_file) {
                r = read_full_file(strcmp(conf_file, "-") == 0 ? "/dev/stdin" : conf_file, &text,
                                   NULL);
                if (r < 0) {
                        log_error_errno(r, "Failed to read %s: %m", conf_file);
                        return CLI_EXIT_FAIL;
                }
                what = strdup(conf_file);
        } else {
                int64_t version = -1;

                r = cgarch_zk_read_conf(cfg, &text, &version);
                if (r < 0)
                        return CLI_EXIT_FAIL; /* the message is printed there */
                (void) xasprintf(&what, "ZooKeeper conf version %lld", (long long) version);
        }
        /* The public API (include/cgrouparch.h) builds the answer: one output format. */
        if (single)
                r = cgarch_cgexec_arg_one(text, cfg->cg.root, argv[optind], &out);
        else
                r = cgarch_cgexec_arg(text, cfg->cg.root, (const char *const *) argv + optind,
                                      argc - optind, &out);
        if (r == -EINVAL) {
                report_invalid(what ?: "conf", text);
                return CLI_EXIT_FAIL;
        }
        if (r == -ENOENT && single) {
                log_error("No cgroup named \"%s\" in the conf", argv[optind]);
                return CLI_EXIT_FAIL;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to build the cgexec argument: %m");
                return CLI_EXIT_FAIL;
        }
        printf("%s\n", out);
        return CLI_EXIT_OK;
}
