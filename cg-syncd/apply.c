/* apply.c — validate, apply (the same path as `cgarch apply`: cgfs_read_live -> conf_plan ->
 * cgfs_apply_plan), then write the snapshot. Loop thread only. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "log.h"
#include "plan.h"
#include "snapshot.h"
#include "syncd.h"
#include "util.h"

/* Rejects as a whole: logged once per (version, content), kept in STATUS=. */
static int syncd_reject(struct syncd *d, const struct conf_errors *errs, int64_t version,
                        uint64_t key) {
        _cleanup_free_ char *text = NULL, *line = NULL, *problem = NULL;
        int r;

        r = conf_errors_format(errs, version, &text);
        if (r < 0)
                text = NULL;
        if (syncd_once(&d->once, SYNCD_ONCE_INVALID, key)) {
                d->m.rejected++; /* once per version, as logged */
                if (d->applied)
                        log_error("Rejected %s version %" PRId64 " (%zu problems), keeping "
                                  "version %" PRId64 " applied",
                                  d->node_path, version, errs->n, d->applied->version);
                else
                        log_error("Rejected %s version %" PRId64 " (%zu problems), nothing "
                                  "applied",
                                  d->node_path, version, errs->n);
                /* one log line per problem, so each keeps its priority in the journal */
                for (size_t i = 0; i < errs->n && i < 20; i++)
                        log_error("  version %" PRId64 ": %s%s%s", version,
                                  errs->v[i].path ? errs->v[i].path : "",
                                  errs->v[i].path && errs->v[i].path[0] ? ": " : "",
                                  errs->v[i].msg ? errs->v[i].msg : "invalid");
                if (errs->n > 20)
                        log_error("  ... and %zu more", errs->n - 20);
        }
        if (text && syncd_first_line(text, 200, &line) >= 0 &&
            xasprintf(&problem, "rejected %s", line) >= 0)
                syncd_set_problem(d, problem);
        else
                syncd_set_problem(d, "rejected an invalid conf");
        return -EINVAL;
}

int syncd_apply_text(struct syncd *d, char **data, size_t len, int64_t version) {
        _cleanup_(conf_errors_clear) struct conf_errors errs = {};
        struct conf *c = NULL;
        uint64_t key = syncd_hash(*data, len, version);
        int r;

        r = conf_parse(*data, len, &c, &errs);
        *data = mfree(*data); /* the model (or the problems) is all that is needed now */
        if (r == -EINVAL)
                return syncd_reject(d, &errs, version, key);
        if (r < 0)
                return log_error_errno(r, "Failed to parse %s version %" PRId64 ": %m",
                                       d->node_path, version);
        c->version = version;
        if (cgfs_is_v2(d->fs)) {
                r = plan_check_v2(c, &errs);
                if (r == -EINVAL) {
                        conf_free(c);
                        return syncd_reject(d, &errs, version, key);
                }
        }
        syncd_once_reset(&d->once, SYNCD_ONCE_INVALID);
        d->data_key = key;
        return syncd_apply_conf(d, c, SYNCD_SOURCE_ZK, false);
}

static void syncd_log_warnings(struct syncd *d, char **warnings) {
        for (size_t i = 0; warnings && warnings[i]; i++) {
                if (strv_contains(d->warned, warnings[i]))
                        continue;
                log_warning("%s", warnings[i]);
                (void) strv_extend(&d->warned, warnings[i]);
        }
}

/* `key` identifies the ZooKeeper data (content + version) the conf came from: the same key
 * as the last written snapshot means the file already holds it (no rename, so followers are
 * not woken for nothing). */
static int syncd_write_snapshot(struct syncd *d, const struct conf *c, uint64_t key) {
        int r;

        if (d->snapshot_written && d->snapshot_key == key && access(d->snapshot_path, F_OK) == 0)
                return 0;
        r = snapshot_write(d->snapshot_path, c);
        if (r < 0)
                return r;
        d->snapshot_written = true;
        d->snapshot_key = key;
        return 1;
}

/* The manager connection is attached to the daemon's sd-event loop, which reads and dispatches
 * what nobody waits for (unit signals on a private manager socket, late replies); a synchronous
 * call made by an apply reads its own reply itself. We hold our own reference, so a reconnect
 * inside cgfs (a new sd_bus) never leaves us detaching a freed one. */
void syncd_bus_detach(struct syncd *d) {
        if (!d->bus_followed)
                return;
        (void) sd_bus_detach_event(d->bus_followed);
        d->bus_followed = sd_bus_unref(d->bus_followed);
}

void syncd_bus_follow(struct syncd *d) {
        sd_bus *bus = d->fs ? cgfs_systemd_bus(d->fs) : NULL;
        int r;

        if (!bus || bus == d->bus_followed)
                return;
        syncd_bus_detach(d);
        r = sd_bus_attach_event(bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_debug_errno(r, "Cannot attach the systemd connection to the loop; it is read "
                                   "at each apply: %m");
                return;
        }
        d->bus_followed = sd_bus_ref(bus);
}

int syncd_apply_conf(struct syncd *d, struct conf *c, enum syncd_source src, bool full) {
        _cleanup_(live_tree_clear) struct live_tree fresh = {};
        _cleanup_(plan_clear) struct plan plan = {};
        _cleanup_(cgfs_apply_result_clear) struct cgfs_apply_result res = {};
        bool owned = c != d->applied;
        bool cached = !full && d->live_valid && !cgfs_is_v2(d->fs);
        struct live_tree *live = cached ? &d->live : &fresh;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC), t1, t2, t3;
        size_t n_ops, res_refused = 0;
        int r;

        if (!cached) {
                d->live_valid = false;
                r = cgfs_ensure_root(d->fs);
                if (r < 0) {
                        log_error_errno(r, "Failed to create the managed root '%s': %m",
                                        d->cfg->cg.root);
                        goto fail;
                }
                r = cgfs_read_live(d->fs, &fresh);
                if (r < 0) {
                        log_error_errno(r, "Failed to read the cgroup tree: %m");
                        goto fail;
                }
        }
        t1 = now_usec(CLOCK_MONOTONIC);
        r = cgfs_resolve_devices(c, live); /* the devices of this conf's limits, as they are now */
        if (r < 0) {
                log_error_errno(r, "Failed to resolve the block devices of version %" PRId64 ": %m",
                                c->version);
                goto fail;
        }
        r = conf_plan(c, live, d->cfg->cg.protected_names, &plan);
        if (r < 0) {
                log_error_errno(r, "Failed to plan version %" PRId64 ": %m", c->version);
                goto fail;
        }
        if (plan.n > 0 && log_get_max_level() >= LOG_DEBUG) {
                _cleanup_free_ char *text = NULL;
                if (plan_format(&plan, live, &text) >= 0)
                        log_debug("plan for version %" PRId64 " (%s tree):\n%s", c->version,
                                  cached ? "cached" : "read", text);
        }
        t2 = now_usec(CLOCK_MONOTONIC);
        r = cgfs_apply_plan(d->fs, &plan, &res);
        t3 = now_usec(CLOCK_MONOTONIC);
        if (cached && (r < 0 || strv_length(res.warnings) > 0)) {
                /* The tree may have changed behind our back (a cgroup removed by hand shows as
                 * an error or a "weight file missing" warning): plan again from what is really
                 * there. Ownership of c passes on. */
                if (r < 0)
                        log_debug_errno(r, "Apply against the cached tree failed (%m); reading "
                                           "the tree");
                else
                        log_debug("Apply against the cached tree warned; reading the tree");
                d->live_valid = false;
                return syncd_apply_conf(d, c, src, true);
        }
        syncd_log_warnings(d, res.warnings);
        if (r < 0) {
                if (syncd_once(&d->once, SYNCD_ONCE_APPLY,
                               syncd_hash(NULL, 0, c->version) ^ (uint64_t) -r))
                        log_error_errno(r,
                                        "Failed to apply version %" PRId64 " (%zu created, %zu "
                                        "weights, %zu removed before the error): %m; retrying",
                                        c->version, res.n_created, res.n_weights, res.n_removed);
                goto fail;
        }
        /* Keep the tree as it is now for the next change (v1). */
        if (syncd_live_update(live, &plan) >= 0) {
                if (!cached) {
                        live_tree_clear(&d->live);
                        d->live = fresh;
                        fresh = (struct live_tree){};
                }
                d->live_valid = true;
        } else
                d->live_valid = false;

        syncd_once_reset(&d->once, SYNCD_ONCE_APPLY);
        n_ops = plan.n;
        res_refused = res.n_refused;
        /* The counts outlive the result: it is cleared below. */
        struct cgfs_apply_result counts = res;
        counts.warnings = NULL;
        /* The plan and the result are done with: free them before the snapshot's text is
         * made (a 10,000-cgroup conf's plan is ~0.8 MB). */
        plan_clear(&plan);
        cgfs_apply_result_clear(&res);
        if (n_ops > 0)
                log_info("Applied %sversion %" PRId64 ": %zu created, %zu weights set, %zu removed"
                         " (%zu processes moved), %zu limits set or cleared in %" PRIu64 " ms",
                         src == SYNCD_SOURCE_SNAPSHOT ? "snapshot " : "", c->version,
                         counts.n_created, counts.n_weights, counts.n_removed, counts.n_moved,
                         counts.n_limits,
                         (uint64_t) ((now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC));
        else if (!d->applied || d->applied->version != c->version)
                log_info("Version %" PRId64 " matches the tree: nothing to change", c->version);

        if (src == SYNCD_SOURCE_ZK) {
                r = syncd_write_snapshot(d, c, d->data_key);
                if (r < 0)
                        log_error_errno(r, "Failed to write the snapshot %s: %m", d->snapshot_path);
        }
        log_debug("version %" PRId64 ": %s tree %" PRIu64 " us, plan %" PRIu64 " us, apply %" PRIu64
                  " us, snapshot %" PRIu64 " us",
                  c->version, cached ? "cached" : "read", (uint64_t) (t1 - t0),
                  (uint64_t) (t2 - t1), (uint64_t) (t3 - t2),
                  (uint64_t) (now_usec(CLOCK_MONOTONIC) - t3));
        if (owned) {
                conf_free(d->applied);
                d->applied = c;
        }
        d->applied_source = src;
        d->m.last_apply_usec = now_usec(CLOCK_REALTIME);
        d->m.apply_failing = false;
        syncd_set_problem(d, NULL);
        if (res_refused > 0) {
                _cleanup_free_ char *p = NULL;
                if (xasprintf(&p, "version %" PRId64 " applied but %zu slice removals refused "
                                  "(units still in them)",
                              c->version, res_refused) >= 0)
                        syncd_set_problem(d, p);
        }
        syncd_bus_follow(d);
        if (n_ops > 1000)
                (void) malloc_trim(0); /* a big change: give the transient memory back */
        return 0;
fail:
        d->live_valid = false;
        d->m.apply_errors++;
        d->m.apply_failing = true;
        syncd_bus_follow(d);
        {
                _cleanup_free_ char *p = NULL;
                if (xasprintf(&p, "failed to apply version %" PRId64 ": %s", c->version,
                              strerror(-r)) >= 0)
                        syncd_set_problem(d, p);
        }
        if (owned)
                conf_free(c);
        return r;
}

int syncd_apply_snapshot(struct syncd *d) {
        _cleanup_(conf_errors_clear) struct conf_errors errs = {};
        struct conf *c = NULL;
        int r;

        r = snapshot_read(d->snapshot_path, &c, &errs);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                (void) conf_errors_format(&errs, -1, &text);
                return log_error_errno(r, "Ignoring the snapshot %s: %m%s%s", d->snapshot_path,
                                       text ? "\n" : "", text ? text : "");
        }
        log_info("Applying snapshot %s (version %" PRId64 ")", d->snapshot_path, c->version);
        return syncd_apply_conf(d, c, SYNCD_SOURCE_SNAPSHOT, true);
}
