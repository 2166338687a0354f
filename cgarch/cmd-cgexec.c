/* cmd-cgexec.c — `cgarch cgexec-arg`: the seed's get_cgexec_arg from a conf file or from
 * ZooKeeper, as JSON ({"name": "-g cpu:a -g blkio:a"}) or, with -s, one bare argument for
 * `cgexec $(cgarch cgexec-arg -s NAME) cmd`. In systemd mode (or with --systemd) the argument
 * is the one `systemd-run` takes: `systemd-run $(cgarch cgexec-arg -s NAME) cmd` with
 * "--slice=cgrouparch-a-b.slice"; --cgexec keeps the seed's form there. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cgarch.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "util.h"

/* One JSON string, escaped by cJSON. */
static int print_json_string(const char *s) {
        cJSON *j = cJSON_CreateString(s);
        char *t = j ? cJSON_PrintUnformatted(j) : NULL;

        cJSON_Delete(j);
        if (!t)
                return -ENOMEM;
        fputs(t, stdout);
        free(t);
        return 0;
}

int cli_cmd_cgexec_arg(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "conf", required_argument, NULL, 'f' },
                { "config", required_argument, NULL, 'c' },
                { "single", no_argument, NULL, 's' },
                { "systemd", no_argument, NULL, 'S' },
                { "cgexec", no_argument, NULL, 'G' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(conf_freep) struct conf *conf = NULL;
        const char *conf_file = NULL;
        bool single = false;
        int form = -1; /* 1: systemd-run's, 0: cgexec's, -1: from the mode */
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
                case 'S':
                        form = 1;
                        break;
                case 'G':
                        form = 0;
                        break;
                case 'h':
                        printf("Usage: cgarch cgexec-arg [-c CONFIG] [--conf FILE] [-s] NAME...\n"
                               "Prints {\"NAME\": \"-g cpu:PATH -g blkio:PATH\", ...} (a name in "
                               "no tree maps to \"\").\n"
                               "  --conf FILE  read the arch conf (or snapshot) from FILE instead "
                               "of ZooKeeper\n"
                               "  -s           one NAME: print only its argument (error if no "
                               "tree holds it)\n"
                               "  --systemd    the systemd-run form, --slice=UNIT (the default "
                               "in systemd mode)\n"
                               "  --cgexec     the cgexec form, -g cpu:PATH ... (the default "
                               "elsewhere)\n");
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
        if (!cfg)
                return CLI_EXIT_FAIL;
        if (form < 0)
                form = cli_sd_mode(cfg);
        if (conf_file) {
                conf = cli_read_conf(conf_file);
                if (!conf)
                        return CLI_EXIT_FAIL;
        } else {
                _cleanup_free_ char *text = NULL;
                struct conf_errors errs = {};
                int64_t version = -1;

                r = cgarch_zk_read_conf(cfg, &text, &version);
                if (r < 0)
                        return CLI_EXIT_FAIL; /* the message is printed there */
                r = conf_parse(text, strlen(text), &conf, &errs);
                if (r < 0) {
                        for (size_t i = 0; i < errs.n; i++)
                                log_error("ZooKeeper conf version %lld: %s: %s",
                                          (long long) version, errs.v[i].path, errs.v[i].msg);
                        if (errs.n == 0)
                                log_error_errno(r, "Invalid conf in ZooKeeper: %m");
                        conf_errors_clear(&errs);
                        return CLI_EXIT_FAIL;
                }
        }
        if (single) {
                _cleanup_free_ char *arg = NULL;
                r = form ? cli_sd_slice_arg(conf, cfg->cg.root, argv[optind], &arg)
                         : conf_cgexec_arg(conf, cfg->cg.root, argv[optind], &arg);
                if (r == -ENOENT) {
                        log_error("No cgroup named \"%s\" in the conf", argv[optind]);
                        return CLI_EXIT_FAIL;
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to build the cgexec argument: %m");
                        return CLI_EXIT_FAIL;
                }
                printf("%s\n", arg);
                return CLI_EXIT_OK;
        }
        /* The seed's json.dumps() shape: {"a": "...", "b": "..."}; a repeated name once. */
        printf("{");
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *arg = NULL;
                bool dup = false;

                for (int k = optind; k < i; k++)
                        dup = dup || strcmp(argv[k], argv[i]) == 0;
                if (dup)
                        continue;
                r = form ? cli_sd_slice_arg(conf, cfg->cg.root, argv[i], &arg)
                         : conf_cgexec_arg(conf, cfg->cg.root, argv[i], &arg);
                if (r < 0 && r != -ENOENT) {
                        printf("}\n");
                        log_error_errno(r, "Failed to build the cgexec argument: %m");
                        return CLI_EXIT_FAIL;
                }
                if (i > optind)
                        printf(", ");
                if (print_json_string(argv[i]) < 0)
                        return CLI_EXIT_FAIL;
                printf(": ");
                if (print_json_string(arg ? arg : "") < 0)
                        return CLI_EXIT_FAIL;
        }
        printf("}\n");
        return CLI_EXIT_OK;
}
