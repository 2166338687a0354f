/* sample.c — cg-accountd's per-second work: read every cgroup's counters, write the sample,
 * send it to Redis in one pipelined round trip. Runs on the loop thread only. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acctd.h"
#include "log.h"
#include "notify.h"
#include "util.h"

static void closedirp(DIR **p) {
        if (*p)
                (void) closedir(*p);
}

static void target_close(struct acctd *d, struct acctd_target *t, size_t i) {
        if (t->fd[i] >= 0) {
                (void) close(t->fd[i]);
                t->fd[i] = -1;
                d->fds_open--;
        }
}

void acctd_trees_clear(struct acctd *d) {
        for (size_t s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct acctd_tree *tr = &d->trees[s];
                for (size_t i = 0; i < tr->n; i++) {
                        for (size_t k = 0; k < ACCTD_FILES_MAX; k++)
                                target_close(d, &tr->t[i], k);
                        free(tr->t[i].path);
                        acct_blkio_clear(&tr->values[i].blkio);
                }
                tr->t = mfree(tr->t);
                tr->values = mfree(tr->values);
                tr->n = tr->n_files = 0;
        }
        d->n_cgroups = 0;
}

/* The files read in each cgroup of s, the main counter first (cgfs picks their names:
 * cpuacct.usage, cpu.stat, memory.current, ...). */
static const enum cgfs_file subsys_files[_CONF_SUBSYS_MAX][ACCTD_FILES_MAX + 1] = {
        [CONF_CPU] = {CGFS_FILE_CPU_USAGE, CGFS_FILE_CPU_THROTTLE, CGFS_FILE_PRESSURE,
                      _CGFS_FILE_MAX},
        [CONF_BLKIO] = {CGFS_FILE_IO_STAT, CGFS_FILE_PRESSURE, _CGFS_FILE_MAX},
        [CONF_MEMORY] = {CGFS_FILE_MEM_USAGE, CGFS_FILE_MEM_PEAK, CGFS_FILE_MEM_EVENTS,
                         CGFS_FILE_PRESSURE, _CGFS_FILE_MAX},
        [CONF_PIDS] = {CGFS_FILE_PIDS_CURRENT, _CGFS_FILE_MAX},
};

/* Chooses tr's files for this layout: those the backend has, each read once. */
static void tree_files(struct cgfs *fs, struct acctd_tree *tr) {
        tr->n_files = 0;
        for (const enum cgfs_file *f = subsys_files[tr->s]; *f != _CGFS_FILE_MAX; f++) {
                enum cgfs_file a = cgfs_file_alias(fs, tr->s, *f);
                size_t i = tr->n_files, from = i;

                if (!cgfs_file_name(fs, tr->s, *f))
                        continue; /* none here (no PSI for pids): the key stays out */
                for (size_t j = 0; a != *f && j < i; j++)
                        if (tr->files[j] == a)
                                from = j;
                tr->files[i] = *f;
                tr->from[i] = from;
                tr->n_files++;
        }
}

static int add_targets(struct acctd_tree *tr, const struct conf_node *n, size_t *i) {
        int r;

        tr->t[*i].path = strdup(n->path); /* relative to the managed root, "" for it */
        if (!tr->t[*i].path)
                return -ENOMEM;
        (*i)++;
        for (size_t k = 0; k < n->n_children; k++) {
                r = add_targets(tr, n->children[k], i);
                if (r < 0)
                        return r;
        }
        return 0;
}

int acctd_trees_build(struct acctd *d) {
        acctd_trees_clear(d);
        if (!d->conf)
                return 0;
        for (size_t s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct acctd_tree *tr = &d->trees[s];
                size_t n = acct_tree_size(d->conf, (enum conf_subsys) s), i = 0;
                int r;

                tr->s = (enum conf_subsys) s;
                if (n == 0)
                        continue;
                tr->mounted = cgfs_has_subsys(d->fs, tr->s) && cgfs_acct_dir(d->fs, tr->s);
                if (!tr->mounted)
                        log_warning("Subsystem %s is in the conf but not mounted here: its values "
                                    "will be {}",
                                    conf_subsys_name(tr->s));
                tree_files(d->fs, tr);
                tr->t = calloc(n, sizeof(*tr->t));
                tr->values = calloc(n, sizeof(*tr->values));
                if (!tr->t || !tr->values)
                        return -ENOMEM;
                for (size_t k = 0; k < n; k++)
                        for (size_t f = 0; f < ACCTD_FILES_MAX; f++)
                                tr->t[k].fd[f] = -1;
                tr->n = n;
                r = add_targets(tr, d->conf->roots[s], &i);
                if (r < 0)
                        return r;
                /* Counted as cgarch and cg-syncd count a conf's cgroups: the nodes below the
                 * managed root. Its root is read too (the "value" of the subsystem) but is not a
                 * cgroup of the conf. */
                d->n_cgroups += n - 1;
                if (tr->mounted && tr->n_files > 0)
                        log_debug("%s: %zu cgroups, reading %s%s under %s", conf_subsys_name(tr->s),
                                  n, cgfs_file_name(d->fs, tr->s, tr->files[0]),
                                  tr->n_files > 1 ? " and the limits' counters" : "",
                                  cgfs_acct_dir(d->fs, tr->s));
        }
        return 0;
}

/* Reads file k of one target into d->readbuf, keeping its fd open while the budget allows. A
 * cached fd of a removed (and maybe re-created) cgroup fails with ENODEV: reopen once. */
static int read_target(struct acctd *d, const struct acctd_tree *tr, struct acctd_target *t,
                       size_t k) {
        if (!tr->mounted || tr->n_files == 0)
                return -ENOENT;
        for (int attempt = 0; attempt < 2; attempt++) {
                bool cached = t->fd[k] >= 0;
                int fd = t->fd[k], r;

                if (!cached) {
                        size_t n;
                        r = cgfs_open_file(d->fs, tr->s, t->path, tr->files[k], O_RDONLY, &fd, 1,
                                           &n);
                        if (r < 0)
                                return r;
                }
                r = cgfs_read_fd(fd, &d->readbuf);
                if (r >= 0 && !cached && d->fds_open < d->fd_budget) {
                        t->fd[k] = fd; /* ownership: kept by the target until trees_clear */
                        d->fds_open++;
                } else if (!cached)
                        (void) close(fd);
                if (r >= 0 || !cached)
                        return r;
                target_close(d, t, k); /* stale cached fd: retry with a fresh open */
        }
        return -EIO;
}

/* Logs a failure about a target's file k, naming it as cgfs would find it. */
static void log_target(struct acctd *d, const struct acctd_tree *tr, const struct acctd_target *t,
                       size_t k, int r, const char *what) {
        _cleanup_free_ char *desc = NULL;

        if (cgfs_describe_file(d->fs, tr->s, t->path, tr->files[k], &desc) < 0)
                desc = NULL;
        log_warning_errno(r, "%s %s: %m", what, desc ? desc : t->path);
}

/* Parses the text just read for file k into v, with the files whose values it holds too. */
static int parse_files(struct acctd *d, const struct acctd_tree *tr, size_t k,
                       struct acct_value *v) {
        int r = cgfs_parse_file(d->fs, tr->s, tr->files[k], d->readbuf.p, v);

        for (size_t j = k + 1; j < tr->n_files; j++)
                if (tr->from[j] == k) {
                        int q = cgfs_parse_file(d->fs, tr->s, tr->files[j], d->readbuf.p, v);
                        /* a missing key of an extra file (v2 cpu.stat without the cpu controller:
                         * no nr_throttled) leaves that key out, it is no error */
                        if (r >= 0 && q < 0 && q != -ENODATA)
                                r = q;
                }
        return r;
}

/* One cgroup: the main counter, then the others. Returns 0 when the main one was read (the
 * value is then written), else its error. *bad counts the files that could not be read. */
static int read_one(struct acctd *d, struct acctd_tree *tr, size_t i, struct ratelimit *rl,
                    size_t *bad) {
        struct acctd_target *t = &tr->t[i];
        struct acct_value *v = &tr->values[i];

        v->has = 0;
        v->pressure = (struct acct_pressure){};
        for (size_t k = 0; k < MAX(tr->n_files, (size_t) 1); k++) {
                int r;

                if (k > 0 && (tr->from[k] != k || (t->absent & (1u << k))))
                        continue;
                r = read_target(d, tr, t, k);
                if (r >= 0) {
                        r = parse_files(d, tr, k, v);
                        /* a key missing in an extra file (-ENODATA) only leaves its keys out */
                        if (r < 0 && (k == 0 || r != -ENODATA) && ratelimit_below(rl))
                                log_target(d, tr, t, k, r, "Unexpected contents in");
                } else if (k > 0 && (r == -ENOENT || r == -EOPNOTSUPP)) {
                        /* the cgroup is there (file 0 was read) but this file is not: the
                         * kernel has none (PSI on v1, memory.peak before 5.19) */
                        t->absent |= 1u << k;
                        continue;
                } else if (r != -ENOENT && r != -ENODEV && ratelimit_below(rl))
                        log_target(d, tr, t, k, r, "Failed to read");
                if (k == 0 && r < 0) {
                        /* Missing (not created yet, or gone): {} in the sample, no noise; its
                         * other files are tried afresh once it is there */
                        t->absent = 0;
                        (*bad)++;
                        return r;
                }
                if (r < 0 && r != -ENODATA)
                        (*bad)++;
        }
        return 0;
}

size_t acctd_read_all(struct acctd *d) {
        static struct ratelimit rl = RATELIMIT_INIT(60 * USEC_PER_SEC, 5);
        bool retry_absent = d->st.ticks % ACCTD_ABSENT_RETRY_TICKS == 0;
        size_t bad = 0;

        for (size_t s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct acctd_tree *tr = &d->trees[s];
                for (size_t i = 0; i < tr->n; i++) {
                        if (retry_absent)
                                tr->t[i].absent = 0;
                        tr->values[i].ok = read_one(d, tr, i, &rl, &bad) >= 0;
                }
        }
        return bad;
}

/* Block IO on kernels without CFQ: the throttle layer's counters only count on a disk where
 * throttling is active. Writing "MAJ:MIN 0" ("no limit") as a throttle rule activates it for
 * the disk without setting any limit — nothing is ever throttled, every bio is only counted.
 * We write it in the managed root only, and never where a rule for that disk already exists
 * (writing 0 there would remove an operator's limit). */
int acctd_blkio_enable(struct acctd *d) {
        struct acctd_tree *tr = &d->trees[CONF_BLKIO];
        _cleanup_free_ char *rules = NULL, *where = NULL;
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;
        int r, fd, n_enabled = 0, first_err = 0;
        size_t n;

        if (d->blkio_enabled || tr->n == 0 || !tr->mounted || cgfs_is_v2(d->fs))
                return 0;
        if (!cgfs_io_needs_throttle_rule(d->fs)) {
                d->blkio_enabled = true; /* classic per-cgroup counters: nothing to switch on */
                return 0;
        }
        (void) cgfs_describe_file(d->fs, CONF_BLKIO, "", CGFS_FILE_THROTTLE_RULE, &where);
        r = cgfs_open_file(d->fs, CONF_BLKIO, "", CGFS_FILE_THROTTLE_RULE, O_RDONLY, &fd, 1, &n);
        if (r < 0)
                return r; /* the managed root is not there yet: try again on the next conf */
        r = cgfs_read_fd(fd, &d->readbuf);
        (void) close(fd);
        if (r < 0)
                return r;
        rules = strdup(d->readbuf.p);
        if (!rules)
                return -ENOMEM;
        dir = opendir("/sys/block");
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir))) {
                _cleanup_free_ char *p = NULL, *devtxt = NULL, *sizetxt = NULL;
                char line[64];
                unsigned maj, min;
                uint64_t size = 0;

                if (de->d_name[0] == '.')
                        continue;
                if (xasprintf(&p, "/sys/block/%s/size", de->d_name) < 0)
                        return -ENOMEM;
                if (read_full_file(p, &sizetxt, NULL) < 0)
                        continue;
                sizetxt[strcspn(sizetxt, "\n")] = '\0';
                if (safe_atou64(sizetxt, &size) < 0 || !acct_blockdev_wanted(de->d_name, size))
                        continue;
                free(p);
                p = NULL;
                if (xasprintf(&p, "/sys/block/%s/dev", de->d_name) < 0)
                        return -ENOMEM;
                if (read_full_file(p, &devtxt, NULL) < 0 ||
                    acct_parse_devnum(devtxt, &maj, &min) < 0)
                        continue;
                r = acct_throttle_has_rule(rules, maj, min);
                if (r != 0) {
                        if (r > 0)
                                log_info("Block IO of %s (%u:%u) already counted: a throttle rule "
                                         "exists",
                                         de->d_name, maj, min);
                        continue;
                }
                snprintf(line, sizeof(line), "%u:%u 0", maj, min);
                /* one open per rule, truncating, like a shell's echo > file */
                r = cgfs_open_file(d->fs, CONF_BLKIO, "", CGFS_FILE_THROTTLE_RULE,
                                   O_WRONLY | O_TRUNC, &fd, 1, &n);
                if (r >= 0) {
                        r = cgfs_write_fd(fd, line);
                        (void) close(fd);
                }
                if (r < 0) {
                        log_warning_errno(r,
                                          "Failed to switch on IO accounting of %s (%u:%u) "
                                          "in %s: %m",
                                          de->d_name, maj, min, where ? where : "the managed root");
                        if (!first_err)
                                first_err = r;
                        continue;
                }
                log_info("Per-cgroup IO accounting on for %s (%u:%u) (no-limit throttle entry in "
                         "%s)",
                         de->d_name, maj, min, where ? where : "the managed root");
                n_enabled++;
        }
        if (first_err)
                return first_err;
        d->blkio_enabled = true;
        return n_enabled;
}

int acctd_reset_counters(struct acctd *d) {
        int r, ret = 0;

        if (cgfs_is_v2(d->fs)) {
                log_notice("reset_on_start: cgroup v2 counters cannot be reset; not done");
                return 0;
        }
        for (size_t s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct acctd_tree *tr = &d->trees[s];
                const char *file = cgfs_file_name(d->fs, tr->s, CGFS_FILE_RESET);
                const char *value = cgfs_reset_value(d->fs, tr->s);
                size_t n_done = 0;

                if (!tr->mounted || !file)
                        continue; /* memory, pids: nothing of theirs was ever reset */
                for (size_t i = 0; i < tr->n; i++) {
                        size_t n;
                        int fd;

                        r = cgfs_open_file(d->fs, tr->s, tr->t[i].path, CGFS_FILE_RESET,
                                           O_WRONLY | O_TRUNC, &fd, 1, &n);
                        if (r >= 0) {
                                r = cgfs_write_fd(fd, value);
                                (void) close(fd);
                        }
                        if (r < 0 && r != -ENOENT) {
                                _cleanup_free_ char *f = NULL;
                                (void) cgfs_describe_file(d->fs, tr->s, tr->t[i].path,
                                                          CGFS_FILE_RESET, &f);
                                log_warning_errno(r, "reset_on_start: failed to write %s: %m",
                                                  f ? f : tr->t[i].path);
                                ret = ret ?: r;
                        } else if (r >= 0)
                                n_done++;
                }
                if (tr->n)
                        log_notice("reset_on_start: reset %s in %zu cgroups under %s", file ? file : "?",
                                   n_done, cgfs_acct_dir(d->fs, tr->s));
        }
        return ret;
}

/* Where Redis is, as the log names it: its unix socket when one is configured (host and port
 * are then not used). */
static const char *redis_where(const struct acctd *d, char *buf, size_t size) {
        if (d->cfg->redis.socket)
                return d->cfg->redis.socket;
        (void) snprintf(buf, size, "%s:%u", d->cfg->redis.host, d->cfg->redis.port);
        return buf;
}

/* Redis away or refusing: count, and say it once per outage. */
static void note_failure(struct acctd *d, int r, uint64_t slot) {
        char where[300];

        d->st.dropped++;
        if (!d->outage) {
                d->outage = true;
                d->outage_dropped = 0;
                d->outage_since_slot = slot;
                log_warning("Redis at %s unavailable (%s): dropping samples until it is back",
                            redis_where(d, where, sizeof where),
                            *rds_last_error(d->rds) ? rds_last_error(d->rds) : strerror(-r));
        }
        d->outage_dropped++;
}

int acctd_on_tick(struct acctd_tick *s, uint64_t expirations, void *userdata) {
        struct acctd *d = userdata;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC), now = now_usec(CLOCK_REALTIME);
        /* slot = round(now) for a tick on time (it runs a few ms after the boundary). A tick a
         * stall delayed by more than half a second keeps its own second rather than claiming the
         * next one, which the following tick would then find taken: floor(now + 200 ms). */
        uint64_t slot = (now + 200 * USEC_PER_MSEC) / USEC_PER_SEC;
        char slot_str[24], expire_str[24];
        _cleanup_free_ char *key = NULL;
        struct rds_cmd cmds[3];
        size_t n = 0;
        int r;

        (void) s;
        d->st.ticks++;
        if (expirations > 1 && d->last_slot) {
                d->st.missed += expirations - 1;
                log_warning("Missed %" PRIu64 " second(s) before slot %" PRIu64
                            " (the machine stalled); no sample for them",
                            expirations - 1, slot);
        }
        if (slot <= d->last_slot) {
                log_debug("Slot %" PRIu64 " already sampled (clock stepped back?): skipped", slot);
                return 0;
        }
        d->last_slot = slot;
        if (!d->conf) {
                (void) notify_status("Waiting for the snapshot %s", d->snapshot_path);
                acctd_metrics_write(d);
                return 0;
        }

        d->st.read_errors += acctd_read_all(d);
        struct acct_value *values[_CONF_SUBSYS_MAX];
        for (size_t i = 0; i < _CONF_SUBSYS_MAX; i++)
                values[i] = d->trees[i].values;
        r = acct_sample_write(d->conf, values, &d->sample);
        if (r < 0)
                return log_error_errno(r, "Failed to write the sample: %m");

        snprintf(slot_str, sizeof(slot_str), "%" PRIu64, slot);
        snprintf(expire_str, sizeof(expire_str), "%u", d->cfg->redis.expire_sec);
        if (xasprintf(&key, "%s%s", d->key_prefix, slot_str) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        cmds[n++] =
                (struct rds_cmd){.argc = 5,
                                 .argv = {"SET", key, strbuf_text(&d->sample), "EX", expire_str},
                                 .argvlen = {3, strlen(key), d->sample.len, 2, strlen(expire_str)}};
        /* arch_conf after a change, and on every (re)connect: Redis may have restarted empty */
        bool with_conf = d->snapshot_text && (d->arch_conf_dirty || !rds_is_connected(d->rds));
        if (with_conf)
                cmds[n++] = (struct rds_cmd){
                        .argc = 3,
                        .argv = {"SET", d->arch_conf_key, d->snapshot_text},
                        .argvlen = {3, strlen(d->arch_conf_key), strlen(d->snapshot_text)}};
        cmds[n++] = (struct rds_cmd){.argc = 3,
                                     .argv = {"PUBLISH", d->channel, slot_str},
                                     .argvlen = {7, strlen(d->channel), strlen(slot_str)}};

        r = rds_pipeline(d->rds, cmds, n, ACCTD_REDIS_BUDGET_USEC);
        if (r >= 0) {
                d->st.sent++;
                if (with_conf)
                        d->arch_conf_dirty = false;
                if (d->outage) {
                        char where[300];

                        log_notice("Redis at %s is back: %" PRIu64
                                   " sample(s) dropped since slot %" PRIu64,
                                   redis_where(d, where, sizeof where), d->outage_dropped,
                                   d->outage_since_slot);
                        d->outage = false;
                }
        } else
                note_failure(d, r, slot);
        (void) rds_take_reconnected(d->rds);

        d->last_tick_usec = now_usec(CLOCK_MONOTONIC) - t0;
        (void) notify_status("%zu cgroups, last tick %" PRIu64 " µs%s", d->n_cgroups,
                             d->last_tick_usec, d->outage ? ", Redis unavailable" : "");
        acctd_metrics_write(d);
        return 0;
}
