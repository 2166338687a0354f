/* cmd-why.c — `cgarch why [--json] PID`: why a process is (or is not) in its cgroup, from
 * cg-taskd's record of its decisions (<runtime_dir>/taskd-placements.json, see cg-taskd(8))
 * and /proc: which pid file names it or its nearest named ancestor, the chain from that
 * ancestor down to it, where its rule puts it and where it is per hierarchy, the last move, and
 * why a move was refused. Exit status: 0 in place, 1 not (with why), 2 cannot tell.
 *
 * The record is trusted no more than any file: it is parsed with cJSON and every field is
 * type-checked where it is used; a missing field reads as absent. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgfs.h"
#include "cli.h"
#include "ini.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"
#include "why.h"

#define WHY_MAX_STATE (64 * 1024 * 1024) /* bytes of the record read at most */
#define WHY_MAX_ALSO 5                   /* other refusals shown in text */

/* ---- /proc and the state file ---- */

static int proc_lookup(void *userdata, pid_t pid, struct why_proc *ret) {
        char path[64], buf[4096];
        size_t len = 0;
        int r;

        (void) userdata;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        r = read_small_file_at(AT_FDCWD, path, 0, buf, sizeof(buf), &len, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        r = why_stat_parse(buf, ret);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        if (read_full_file(path, &ret->cgroup, NULL) < 0)
                ret->cgroup = NULL;
        return 0;
}

/* The state's writer is running: its pid names a cg-taskd. */
static bool writer_alive(const cJSON *state) {
        char path[64], comm[64] = "";
        double pid = why_jnum(state, "pid");
        size_t len = 0;

        if (pid < 1 || pid > INT32_MAX)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        if (read_small_file_at(AT_FDCWD, path, 0, comm, sizeof(comm), &len, NULL) < 0)
                return false;
        comm[strcspn(comm, "\n")] = 0;
        return strcmp(comm, "cg-taskd") == 0;
}

static void fmt_time(double t, char *buf, size_t size) {
        time_t s = (time_t) t;
        struct tm tm;

        if (t <= 0 || !localtime_r(&s, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "?");
}

/* Writes text to stdout with control characters escaped (\xNN): pid-file paths come from
 * whoever can create a file where a pattern looks, and must not drive the operator's terminal.
 * C0, DEL and the C1 controls (U+0080..U+009F, C2 80..C2 9F in UTF-8) are escaped. */
static void write_safe(const char *text, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) text[i];

                if (c == 0xc2 && i + 1 < len && (unsigned char) text[i + 1] >= 0x80 &&
                    (unsigned char) text[i + 1] <= 0x9f) {
                        printf("\\xc2\\x%02x", (unsigned char) text[++i]);
                        continue;
                }
                if ((c < 0x20 && c != '\n') || c == 0x7f)
                        printf("\\x%02x", c);
                else
                        putchar(c);
        }
}

static void print_result(FILE *out, const struct why_result *r) {
        const cJSON *mv;
        char t[64];

        fprintf(out, "pid %d (%s): %s\n", (int) r->pid, r->comm,
               r->verdict == WHY_PLACED         ? "in place"
               : r->verdict == WHY_OUT_OF_PLACE ? "not where its rule puts it"
               : r->verdict == WHY_PENDING      ? "not placed yet"
               : r->verdict == WHY_REFUSED      ? "refused by cg-taskd"
               : r->verdict == WHY_STALE        ? "refused by cg-taskd (stale pid file)"
               : r->verdict == WHY_UNMANAGED    ? "not managed by cgrouparch"
                                                : "cannot tell");
        fprintf(out, "  why:       %s\n", r->reason ? r->reason : "?");
        if (r->file) {
                fprintf(out, "  pid file:  %s (pattern %s, rule '%s', state %s", why_jstr0(r->file, "path"),
                       why_jstr0(r->file, "pattern"), why_jstr0(r->file, "rule"),
                       why_jstr0(r->file, "state"));
                if (why_jstr(r->file, "unit"))
                        fprintf(out, ", unit %s", why_jstr(r->file, "unit"));
                if (r->rule && why_jstr(r->rule, "user"))
                        fprintf(out, ", user=%s", why_jstr(r->rule, "user"));
                fprintf(out, ")\n");
        }
        if (r->n_chain > 1) {
                fprintf(out, "  %-10s ", r->file ? "through:" : "ancestors:");
                for (size_t i = 0; i < r->n_chain; i++)
                        fprintf(out, "%s%d", i ? " <- " : "", (int) r->chain[i]);
                fprintf(out, "%s\n", r->file ? " (named by the pid file)" : "");
        }
        for (size_t i = 0; i < r->n_cgroups; i++) {
                const struct why_cgroup *c = &r->cgroups[i];
                bool would = r->verdict == WHY_REFUSED || r->verdict == WHY_STALE;
                fprintf(out, "  %-10s %s: %s in %s, is in %s\n", i == 0 ? "cgroups:" : "",
                       *c->hierarchy ? c->hierarchy : "unified", would ? "would be" : "should be",
                       c->expected, c->current ? c->current : "(unknown)");
        }
        mv = r->file ? cJSON_GetObjectItemCaseSensitive(r->file, "move") : NULL;
        if (cJSON_IsObject(mv)) {
                fmt_time(why_jnum(mv, "time"), t, sizeof(t));
                fprintf(out, "  last move: %s: pid %d", t, (int) why_jnum(mv, "pid"));
                if (why_jnum(mv, "processes") > 1)
                        fprintf(out, " and %g more", why_jnum(mv, "processes") - 1);
                fprintf(out, " from %s to %s\n", why_jstr(mv, "from") ? why_jstr(mv, "from") : "?",
                       why_jstr(mv, "to") ? why_jstr(mv, "to") : "?");
        } else if (r->file)
                fprintf(out, "  last move: none recorded since cg-taskd started\n");
        for (size_t i = r->verdict == WHY_REFUSED || r->verdict == WHY_STALE ? 1 : 0, k = 0;
             i < r->n_refusals; i++, k++) {
                if (k == WHY_MAX_ALSO) { /* a flood of files naming one pid: the first few */
                        fprintf(out, "  also:      %zu more refused pid files (--json lists them)\n",
                                r->n_refusals - i);
                        break;
                }
                fprintf(out, "  also:      pid file %s names %d, %s: %s\n",
                        why_jstr0(r->refusals[i], "path"), (int) why_jnum(r->refusals[i], "pid"),
                        why_jstr0(r->refusals[i], "state"), why_jstr0(r->refusals[i], "reason"));
        }
}

static void why_help(void) {
        printf("Usage: cgarch why [--json] [--state FILE] PID\n"
               "Explains where cgrouparch puts process PID and why: the pid file (and the\n"
               "ancestor it names), where its rule puts it and where it is per hierarchy, the\n"
               "last move, and why cg-taskd refused it. Reads cg-taskd's record\n"
               "<runtime_dir>/taskd-placements.json and /proc.\n\n"
               "  --json        one JSON object instead of text\n"
               "  --state FILE  the record to read (default from [daemon] runtime_dir)\n\n"
               "Exit status: 0 the process is where its rule puts it; 1 it is not (refused,\n"
               "pending, stale, out of place, or not managed); 2 error (no such process, no\n"
               "record: cg-taskd is not running or runtime_dir differs).\n");
}

int cli_cmd_why(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"json", no_argument, NULL, 'j'},
                {"state", required_argument, NULL, 's'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *state_path = NULL;
        struct why_result res = {};
        uint64_t pid64;
        cJSON *state = NULL;
        bool json = false;
        size_t len = 0;
        int o, r;

        while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (o) {
                case 'j':
                        json = true;
                        break;
                case 's':
                        state_path = optarg;
                        break;
                case 'h':
                        why_help();
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind != argc - 1) {
                fprintf(stderr, "cgarch: why takes one PID (see cgarch why --help)\n");
                return CLI_EXIT_USAGE;
        }
        if (safe_atou64(argv[optind], &pid64) < 0 || pid64 == 0 || pid64 > INT32_MAX) {
                log_error("Not a pid: %s", argv[optind]);
                return CLI_EXIT_USAGE;
        }
        if (!state_path) {
                const struct cfg *cfg = cli_cfg(c);
                if (!cfg)
                        return CLI_EXIT_USAGE;
                if (xasprintf(&path, "%s/taskd-placements.json", cfg->daemon.runtime_dir) < 0)
                        return log_error("Out of memory"), CLI_EXIT_USAGE;
                state_path = path;
        }
        r = read_full_file(state_path, &text, &len);
        if (r == -ENOENT) {
                log_error("No placement record at %s: cg-taskd is not running, or it runs with "
                          "another [daemon] runtime_dir (use -c CONFIG or --state FILE)",
                          state_path);
                return CLI_EXIT_USAGE;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to read %s: %m", state_path);
                return CLI_EXIT_USAGE;
        }
        state = len <= WHY_MAX_STATE ? cJSON_ParseWithLength(text, len) : NULL;
        if (!state || !cJSON_IsObject(state)) {
                log_error("%s is not a placement record of cg-taskd", state_path);
                cJSON_Delete(state);
                return CLI_EXIT_USAGE;
        }
        if (!writer_alive(state)) {
                char t[64];
                fmt_time(why_jnum(state, "updated"), t, sizeof(t));
                /* a record given with --state may be a copy: then only a warning */
                log_full_errno(path ? LOG_ERR : LOG_WARNING, 0,
                         "cg-taskd (pid %d), which wrote %s at %s, is not running: its record is "
                         "out of date",
                         (int) why_jnum(state, "pid"), state_path, t);
                if (path) {
                        cJSON_Delete(state);
                        return CLI_EXIT_USAGE;
                }
        }
        r = why_explain(state, (pid_t) pid64, proc_lookup, NULL, &res);
        if (r == -ESRCH) {
                log_error("No such process: %s", argv[optind]);
                cJSON_Delete(state);
                return CLI_EXIT_USAGE;
        }
        if (r < 0) {
                if (r == -EINVAL)
                        log_error("%s is not a placement record of cg-taskd", state_path);
                else
                        log_error_errno(r, "Failed to explain pid %s: %m", argv[optind]);
                cJSON_Delete(state);
                return CLI_EXIT_USAGE;
        }
        if (json) {
                _cleanup_free_ char *out = why_result_json(&res, state);
                if (!out) {
                        log_error("Out of memory");
                        r = CLI_EXIT_USAGE;
                } else
                        printf("%s\n", out);
        } else {
                char *out = NULL;
                size_t out_len = 0;
                FILE *f = open_memstream(&out, &out_len);

                if (f) {
                        print_result(f, &res);
                        if (fclose(f) == 0)
                                write_safe(out, out_len);
                }
                free(out);
        }
        r = why_exit_status(res.verdict);
        why_result_done(&res);
        cJSON_Delete(state);
        return r;
}
