/* cmd-tree.c — `cgarch validate`, `plan`, `apply` and `show`: the arch conf against the
 * cgroup tree under the managed root. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgfs.h"
#include "cgarch.h"
#include "cli.h"
#include "conf.h"
#include "ini.h"
#include "log.h"
#include "plan.h"
#include "snapshot.h"
#include "util.h"

static int open_fs(const struct cfg *cfg, struct cgfs **ret) {
        int r = cgfs_open_cfg(cfg, ret);

        if (r == -EINVAL)
                return log_error_errno(r, "[cgroup] root \"%s\" is not a safe relative path "
                                          "(no leading '/', no \"..\" or empty component)",
                                       cfg->cg.root);
        if (r == -ENOMEDIUM)
                return log_error_errno(r, "No cgroup %s hierarchy for cpu or blkio below %s",
                                       cfg->cg.mode == CGFS_MODE_V2 ? "v2" : "", cfg->cg.dir);
        if (r < 0)
                return log_error_errno(r, "Failed to open the cgroup tree at %s: %m", cfg->cg.dir);
        return 0;
}

/* The rules cgroup v2 adds, checked before anything is touched. In systemd mode processes live
 * in scopes and services inside the slices, never in a slice itself: "no internal processes"
 * does not constrain the pid files there. */
static int check_v2(const char *file, const struct conf *conf, const struct cfg *cfg,
                    bool systemd) {
        _cleanup_strv_free_ char **names = NULL;
        struct conf_errors errs = {};
        int r, bad = 0;

        r = plan_check_v2(conf, &errs);
        if (r == -EINVAL)
                bad++;
        else if (r < 0)
                return log_error_errno(r, "Failed to check the conf for cgroup v2: %m");
        for (size_t i = 0; cfg && !systemd && i < cfg->n_pid_files; i++)
                if (strv_extend(&names, cfg->pid_files[i].name) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");
        r = plan_check_v2_procs(conf, names, &errs);
        if (r == -EINVAL)
                bad++;
        else if (r < 0)
                return log_error_errno(r, "Failed to check the conf for cgroup v2: %m");
        cli_print_conf_errors(file, &errs);
        conf_errors_clear(&errs);
        return bad ? -EINVAL : 0;
}

/* The one FILE operand of validate/plan/apply (argv[0] names the command), its arch conf and the
 * config; everything that can refuse them, before anything is touched. Reports what fails and
 * returns its CLI_EXIT_* code; CLI_EXIT_OK with *ret_conf owned by the caller. */
static int cli_file_conf(struct cli *c, int argc, char **argv, const char **ret_file,
                         struct conf **ret_conf, const struct cfg **ret_cfg) {
        _cleanup_(conf_freep) struct conf *conf = NULL;

        if (optind != argc - 1) {
                fprintf(stderr, "cgarch: %s takes one FILE\n", argv[0]);
                return CLI_EXIT_USAGE;
        }
        conf = cli_read_conf(argv[optind]);
        if (!conf)
                return CLI_EXIT_FAIL;
        *ret_cfg = cli_cfg(c);
        if (!*ret_cfg)
                return CLI_EXIT_FAIL;
        *ret_file = argv[optind];
        *ret_conf = TAKE_PTR(conf);
        return CLI_EXIT_OK;
}

int cli_cmd_validate(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "quiet", no_argument, NULL, 'q' },
                { "v2", no_argument, NULL, '2' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(conf_freep) struct conf *conf = NULL;
        const struct cfg *cfg;
        const char *file;
        bool v2 = false;
        int o, r;

        while ((o = getopt_long(argc, argv, "c:qh", opts, NULL)) >= 0)
                switch (o) {
                case 'c':
                        c->cfg_path = optarg;
                        break;
                case 'q':
                        c->quiet = true;
                        break;
                case '2':
                        v2 = true;
                        break;
                case 'h':
                        printf("Usage: cgarch validate [-c CONFIG] [-q] [--v2] FILE\n"
                               "Checks an arch conf and lists every problem. The cgroup v2 rules\n"
                               "are checked too with --v2, or when the config selects v2 (or\n"
                               "the machine is v2-only).\n"
                               "  -c, --config PATH  config file\n"
                               "  -q, --quiet        print nothing when the conf is valid\n"
                               "  --v2               check the cgroup v2 rules too\n");
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        r = cli_file_conf(c, argc, argv, &file, &conf, &cfg);
        if (r != CLI_EXIT_OK)
                return r;
        if (cgarch_check_v2_rules(file, conf, cfg, &v2) < 0)
                return CLI_EXIT_FAIL;
        if (!c->quiet)
                printf("%s: valid (%zu %s%s)\n", file, conf->n_nodes,
                       cli_plural(conf->n_nodes, "cgroup", "cgroups"),
                       v2 ? ", cgroup v2 rules checked" : "");
        return CLI_EXIT_OK;
}

int cgarch_check_v2_rules(const char *file, const struct conf *conf, const struct cfg *cfg,
                          bool *v2) {
        /* Decide v2 from the config (and the machine for "auto") without needing a tree. */
        if (!*v2 && (cfg->cg.mode == CGFS_MODE_V2 || cfg->cg.mode == CGFS_MODE_SYSTEMD))
                *v2 = true;
        if (!*v2 && cfg->cg.mode == CGFS_MODE_AUTO) {
                _cleanup_(cgfs_closep) struct cgfs *fs = NULL;
                if (cgfs_open(cfg->cg.dir, "", CGFS_MODE_AUTO, &fs) >= 0)
                        *v2 = cgfs_is_v2(fs);
        }
        return *v2 ? check_v2(file, conf, cfg, cli_sd_mode(cfg)) : 0;
}

static void print_notes(const struct conf *conf, const struct live_tree *live) {
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                if (!conf->roots[s])
                        continue;
                if (!live->present[s])
                        log_warning("note: no %s hierarchy on this machine: the %s tree is not "
                                    "applied",
                                    conf_subsys_name(s), conf_subsys_name(s));
                else if (live->weight_unavailable[s])
                        log_warning("note: %s weights cannot be written here (%s): they are "
                                    "left out of the plan",
                                    conf_subsys_name(s),
                                    live->v2 ? "controller not available at the managed root"
                                             : "no weight file");
        }
}

static const char *op_verb(enum plan_op_type t) {
        switch (t) {
        case PLAN_MKDIR:
                return "create";
        case PLAN_SET_WEIGHT:
                return "set the weight of";
        case PLAN_RMDIR:
                return "remove";
        case PLAN_ENABLE:
                return "enable the controller for";
        case PLAN_SET_LIMIT:
                return "set a limit of";
        case PLAN_CLEAR_LIMIT:
                return "clear a limit of";
        }
        return "?";
}

/* " quota_percent 50", " max 67108864", " read_bps 7:0=2097152" for what is set on e. */
static void print_limits(const struct live_entry *e, enum conf_subsys s) {
        const struct live_limits *l = e->limits;

        if (!l)
                return;
        for (int k = 0; k < _CONF_LIMIT_MAX; k++) {
                if (conf_limit_subsys(k) != s || conf_limit_is_device(k) || l->v[k] == LIVE_LIMIT_NONE)
                        continue;
                if (l->v[k] == LIVE_LIMIT_OTHER)
                        printf(" %s (not a conf value)", conf_limit_name(k));
                else
                        printf(" %s %" PRId64, conf_limit_name(k), l->v[k]);
        }
        for (size_t d = 0; d < l->n_devs; d++)
                for (int j = 0; j < CONF_LIMIT_N_DEVICE; j++)
                        if (l->devs[d].v[j] >= 0)
                                printf(" %s %u:%u=%" PRId64,
                                       conf_limit_name(CONF_LIMIT_FIRST_DEVICE + j),
                                       l->devs[d].major, l->devs[d].minor, l->devs[d].v[j]);
}

int cli_cmd_plan(struct cli *c, int argc, char **argv, bool apply) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(conf_freep) struct conf *conf = NULL;
        _cleanup_(cgfs_closep) struct cgfs *fs = NULL;
        _cleanup_free_ char *text = NULL;
        struct live_tree live = {};
        struct plan p = {};
        struct cgfs_apply_result res = {};
        const struct cfg *cfg;
        const char *file;
        int o, r, ret = CLI_EXIT_FAIL;

        while ((o = getopt_long(argc, argv, "c:qh", opts, NULL)) >= 0)
                switch (o) {
                case 'c':
                        c->cfg_path = optarg;
                        break;
                case 'q':
                        c->quiet = true;
                        break;
                case 'h':
                        printf("Usage: cgarch %s [-c CONFIG] [-q] FILE\n%s"
                               "  -c, --config PATH  config file\n"
                               "  -q, --quiet        print only errors and warnings\n",
                               argv[0],
                               apply ? "Validates FILE, then makes the tree under the managed root "
                                       "match it: creates,\nsets weights, removes what the conf "
                                       "lacks (except [cgroup] protected names).\n"
                                     : "Prints what `cgarch apply FILE` would change; changes "
                                       "nothing.\n");
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        /* Everything that can refuse the conf comes before anything is touched. */
        r = cli_file_conf(c, argc, argv, &file, &conf, &cfg);
        if (r != CLI_EXIT_OK)
                return r;
        if (cfg_root_warning(cfg))
                log_warning("Warning: %s", cfg_root_warning(cfg));
        if (open_fs(cfg, &fs) < 0)
                return CLI_EXIT_FAIL;
        if (cgfs_is_v2(fs) && check_v2(file, conf, cfg, cgfs_is_systemd(fs)) < 0)
                return CLI_EXIT_FAIL;
        r = cgfs_read_live_for(fs, conf, &live);
        if (r < 0) {
                log_error_errno(r, "Failed to read the cgroup tree under %s: %m",
                                *cgfs_root(fs) ? cgfs_root(fs) : "the hierarchy roots");
                goto out;
        }
        r = conf_plan(conf, &live, cfg->cg.protected_names, &p);
        if (r < 0) {
                log_error_errno(r, "Failed to plan: %m");
                goto out;
        }
        print_notes(conf, &live);
        if (!apply && cgfs_is_systemd(fs)) {
                ret = cli_sd_print_plan(fs, &p, &live, c->quiet) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
                goto out;
        }
        if (!apply) {
                r = plan_format(&p, &live, &text);
                if (r < 0) {
                        log_error_errno(r, "Failed to format the plan: %m");
                        goto out;
                }
                if (cgfs_is_v2(fs) && !c->quiet)
                        printf("# cgroup v2: one tree; weights converted (cpu.weight = "
                               "share*100/1024, io.weight = weight*100/500)\n");
                fputs(p.n || p.notes ? text : c->quiet ? "" : "nothing to do\n", stdout);
                ret = CLI_EXIT_OK;
                goto out;
        }
        r = cgfs_apply_plan(fs, &p, &res);
        for (char **w = res.warnings; w && *w; w++)
                log_warning("warning: %s", *w);
        if (r < 0) {
                if (res.failed)
                        log_error_errno(r, "Failed to %s %s:%s: %m (%zu of %zu changes done)",
                                        op_verb(res.failed->type),
                                        conf_subsys_name(res.failed->subsys), res.failed->path,
                                        res.n_done, p.n);
                else
                        log_error_errno(r, "Failed to create the managed root %s: %m",
                                        cgfs_root(fs));
                goto out;
        }
        if (cgfs_is_systemd(fs)) {
                if (!c->quiet && p.n == 0)
                        printf("nothing to do\n");
                else if (!c->quiet)
                        printf("applied: %zu %s created, %zu %s set, %zu %s removed%s\n",
                               res.n_created, cli_plural(res.n_created, "slice", "slices"),
                               res.n_weights, cli_plural(res.n_weights, "weight", "weights"),
                               res.n_removed, cli_plural(res.n_removed, "slice", "slices"),
                               res.n_refused ? " (some removals refused, see above)" : "");
                if (res.n_refused) {
                        log_error("%zu %s refused: the tree does not match the conf yet",
                                  res.n_refused, cli_plural(res.n_refused, "removal", "removals"));
                        goto out;
                }
        } else if (!c->quiet) {
                if (p.n == 0)
                        printf("nothing to do\n");
                else {
                        printf("applied: %zu created, %zu %s set, %zu removed (%zu %s moved)",
                               res.n_created, res.n_weights,
                               cli_plural(res.n_weights, "weight", "weights"), res.n_removed,
                               res.n_moved, cli_plural(res.n_moved, "process", "processes"));
                        if (cgfs_is_v2(fs))
                                printf(", %zu %s enabled", res.n_enabled,
                                       cli_plural(res.n_enabled, "controller", "controllers"));
                        if (res.n_limits || res.n_limits_failed)
                                printf(", %zu %s set or cleared", res.n_limits,
                                       cli_plural(res.n_limits, "limit", "limits"));
                        if (res.n_limits_failed)
                                printf(" (%zu refused, see above)", res.n_limits_failed);
                        printf("\n");
                }
        }
        ret = CLI_EXIT_OK;
out:
        cgfs_apply_result_clear(&res);
        plan_clear(&p);
        live_tree_clear(&live);
        return ret;
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const struct live_entry *) a)->path, ((const struct live_entry *) b)->path);
}

int cli_cmd_show(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(cgfs_closep) struct cgfs *fs = NULL;
        _cleanup_(conf_freep) struct conf *snap = NULL;
        _cleanup_free_ char *spath = NULL;
        struct live_tree live = {};
        int o, r;

        while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) >= 0)
                switch (o) {
                case 'c':
                        c->cfg_path = optarg;
                        break;
                case 'h':
                        printf("Usage: cgarch show [-c CONFIG]\n"
                               "Prints the applied snapshot's version and the live tree under "
                               "the managed root\n(weights, limits, cumulative CPU usage).\n"
                               "  -c, --config PATH  config file\n");
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "cgarch: show takes no arguments\n");
                return CLI_EXIT_USAGE;
        }
        const struct cfg *cfg = cli_cfg(c);
        if (!cfg)
                return CLI_EXIT_FAIL;
        if (cfg_snapshot_path(cfg, &spath) >= 0) {
                r = snapshot_read(spath, &snap, NULL);
                if (r >= 0)
                        printf("applied snapshot: %s (version %" PRId64 ", %zu %s)\n", spath,
                               snap->version, snap->n_nodes,
                               cli_plural(snap->n_nodes, "cgroup", "cgroups"));
                else if (r == -ENOENT)
                        printf("applied snapshot: none at %s\n", spath);
                else
                        printf("applied snapshot: %s unreadable (%s)\n", spath, strerror(-r));
        }
        if (open_fs(cfg, &fs) < 0)
                return CLI_EXIT_FAIL;
        r = cgfs_read_live(fs, &live);
        if (r < 0) {
                log_error_errno(r, "Failed to read the cgroup tree: %m");
                return CLI_EXIT_FAIL;
        }
        if (cgfs_is_systemd(fs)) {
                r = cli_sd_show(fs, &live);
                live_tree_clear(&live);
                return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
        }
        printf("layout: %s, managed root \"%s\"\n", cgfs_is_v2(fs) ? "cgroup v2" : "cgroup v1",
               cgfs_root(fs));
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) /* v2: both lists hold the same paths */
                if (live.n[s] > 0) /* an empty list may be NULL, which qsort must not get */
                        qsort(live.v[s], live.n[s], sizeof(*live.v[s]), cmp_entry);
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const char *const *dirs;
                int n = cgfs_subsys_dirs(fs, s, &dirs);

                if (cgfs_is_v2(fs) && s > 0)
                        break; /* one tree: weights of every subsystem on each line */
                printf("%s:", cgfs_is_v2(fs) ? "tree" : conf_subsys_name(s));
                for (int i = 0; i < n; i++)
                        printf(" %s", dirs[i]);
                printf("%s\n", n ? "" : " (not mounted)");
                uint64_t root_usage;
                if (s == CONF_CPU && cgfs_read_cpu_usage(fs, "", &root_usage) >= 0)
                        printf("  %-28s usage %" PRIu64 "ns\n", "(managed root)", root_usage);
                for (size_t i = 0; i < live.n[s]; i++) {
                        const struct live_entry *e = &live.v[s][i];
                        const char *base = strrchr(e->path, '/');
                        unsigned depth = 0;
                        uint64_t usage;

                        for (const char *q = e->path; *q; q++)
                                depth += *q == '/';
                        printf("  %*s%-*s", (int) depth * 2, "", 28 - (int) depth * 2,
                               base ? base + 1 : e->path);
                        if (cgfs_is_v2(fs)) {
                                if (e->weight >= 0)
                                        printf(" cpu.weight %" PRId64, e->weight);
                                if (live.v[CONF_BLKIO][i].weight >= 0)
                                        printf(" io.weight %" PRId64, live.v[CONF_BLKIO][i].weight);
                                for (int t = 0; t < _CONF_SUBSYS_MAX; t++)
                                        if (i < live.n[t])
                                                print_limits(&live.v[t][i], t);
                        } else {
                                if (e->weight >= 0 && (s == CONF_CPU || s == CONF_BLKIO))
                                        printf(" %s %" PRId64, s == CONF_CPU ? "share" : "weight",
                                               e->weight);
                                print_limits(e, s);
                        }
                        if (e->partial)
                                printf(" (not in every %s hierarchy)", conf_subsys_name(s));
                        if (s == CONF_CPU && cgfs_read_cpu_usage(fs, e->path, &usage) >= 0)
                                printf(" usage %" PRIu64 "ns", usage);
                        printf("\n");
                }
        }
        live_tree_clear(&live);
        return CLI_EXIT_OK;
}
