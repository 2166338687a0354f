/* main.c — the cgarch command-line tool: argument parsing and dispatch. The commands live in
 * cmd-tree.c (validate, plan, apply, show), cmd-cgexec.c (cgexec-arg), conf-zk.c (conf),
 * cmd-why.c (why) and cmd-top.c (top). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgarch.h"
#include "cli.h"
#include "conf.h"
#include "ini.h"
#include "log.h"
#include "util.h"

static void help(void) {
        printf("Usage: cgarch [-c CONFIG] COMMAND [ARGS...]\n"
               "\n"
               "Apply and inspect cgrouparch arch confs on this machine.\n"
               "\n"
               "Commands (COMMAND --help describes each):\n"
               "  validate [--v2] FILE          check an arch conf; lists every problem\n"
               "  plan FILE                     print what apply would change (changes nothing)\n"
               "  apply FILE                    validate, then create/set/remove cgroups under\n"
               "                                the managed root; idempotent\n"
               "  show                          the applied snapshot and the live tree\n"
               "  cgexec-arg [--conf FILE | --zk] [-s] [--systemd | --cgexec] NAME...\n"
               "                                cgexec arguments per name, as JSON; -s: the bare\n"
               "                                argument of one name; the conf is the applied\n"
               "                                snapshot unless --conf or --zk (ZooKeeper)\n"
               "  conf get|put ...              the conf in ZooKeeper (cgarch conf --help)\n"
               "  why [--json] PID              why a process is (or is not) in its cgroup\n"
               "  top [-n N] [--redis ADDR]     live CPU, IO, memory, pressure per cgroup\n"
               "\n"
               "Options:\n"
               "  -c, --config PATH   config file (default %s;\n"
               "                      a missing default means built-in defaults)\n"
               "  -q, --quiet         print only errors and warnings (nothing on success)\n"
               "  -h, --help          this help\n"
               "  -V, --version       print the version\n"
               "\n"
               "FILE may be \"-\" for standard input, and may be an applied snapshot\n"
               "{\"version\": N, \"value\": {...}}. Exit status: 0 ok, 1 refused or failed, 2 usage.\n",
               CFG_DEFAULT_PATH);
}

const struct cfg *cli_cfg(struct cli *c) {
        _cleanup_free_ char *err = NULL;
        int r;

        if (c->cfg)
                return c->cfg;
        r = cfg_load(c->cfg_path ? c->cfg_path : CFG_DEFAULT_PATH, &c->cfg, &err);
        if (r == -ENOENT && !c->cfg_path) {
                r = cfg_new_default(&c->cfg);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the default config: %m");
                        return NULL;
                }
                return c->cfg;
        }
        if (r < 0) {
                if (err)
                        log_error("%s", err);
                else
                        log_error_errno(r, "Failed to read config %s: %m",
                                        c->cfg_path ? c->cfg_path : CFG_DEFAULT_PATH);
                return NULL;
        }
        return c->cfg;
}

void cli_print_conf_errors(const char *what, const struct conf_errors *errs) {
        for (size_t i = 0; errs && i < errs->n; i++) {
                const char *p = errs->v[i].path;

                if (p && *p)
                        log_error("%s: %s: %s", what, p, errs->v[i].msg);
                else
                        log_error("%s: %s", what, errs->v[i].msg);
        }
}

struct conf *cli_read_conf(const char *path) {
        _cleanup_free_ char *text = NULL;
        struct conf_errors errs = {};
        struct conf *c = NULL;
        size_t len = 0;
        int r;

        r = read_full_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, &text, &len);
        if (r < 0) {
                log_error_errno(r, "Failed to read %s: %m", path);
                return NULL;
        }
        r = conf_parse_text(text, len, CONF_TEXT_ANY, &c, &errs);
        if (r < 0) {
                if (errs.n == 0)
                        log_error_errno(r, "%s: invalid arch conf: %m", path);
                cli_print_conf_errors(path, &errs);
                conf_errors_clear(&errs);
                return NULL;
        }
        return c;
}

static int run(int argc, char **argv) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        struct cli c = {};
        const char *cmd;
        int o, r;

        /* "+": stop at the command word; its own options are parsed by the command. */
        while ((o = getopt_long(argc, argv, "+c:qhV", opts, NULL)) >= 0)
                switch (o) {
                case 'c':
                        c.cfg_path = optarg;
                        break;
                case 'q':
                        c.quiet = true;
                        break;
                case 'h':
                        help();
                        return CLI_EXIT_OK;
                case 'V':
                        printf("cgarch %s\n", CGARCH_VERSION);
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "cgarch: missing command (see cgarch --help)\n");
                return CLI_EXIT_USAGE;
        }
        cmd = argv[optind];
        argc -= optind;
        argv += optind;
        optind = 0; /* full reset of getopt for the command's own options */

        if (strcmp(cmd, "validate") == 0)
                r = cli_cmd_validate(&c, argc, argv);
        else if (strcmp(cmd, "plan") == 0)
                r = cli_cmd_plan(&c, argc, argv, false);
        else if (strcmp(cmd, "apply") == 0)
                r = cli_cmd_plan(&c, argc, argv, true);
        else if (strcmp(cmd, "show") == 0)
                r = cli_cmd_show(&c, argc, argv);
        else if (strcmp(cmd, "cgexec-arg") == 0)
                r = cli_cmd_cgexec_arg(&c, argc, argv);
        else if (strcmp(cmd, "why") == 0)
                r = cli_cmd_why(&c, argc, argv);
        else if (strcmp(cmd, "top") == 0)
                r = cli_cmd_top(&c, argc, argv);
        else if (strcmp(cmd, "conf") == 0) {
                /* `conf --help` needs no config; otherwise load it (errors printed there). */
                bool need = !(argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                                           strcmp(argv[1], "-h") == 0));
                const struct cfg *cfg = need ? cli_cfg(&c) : NULL;
                r = need && !cfg ? CLI_EXIT_FAIL : cgarch_cmd_conf(argc, argv, cfg, c.quiet);
        } else if (strcmp(cmd, "help") == 0) {
                help();
                r = CLI_EXIT_OK;
        } else {
                fprintf(stderr, "cgarch: unknown command \"%s\" (see cgarch --help)\n", cmd);
                r = CLI_EXIT_USAGE;
        }
        cfg_free(c.cfg);
        return r;
}

int main(int argc, char **argv) {
        log_set_ident("cgarch");
        if (!getenv("JOURNAL_STREAM"))
                log_set_prefix(0); /* a CLI: plain "cgarch: ..." messages */
        return run(argc, argv);
}
