/* metrics.c — cg-taskd's health as Prometheus text in <runtime_dir>/metrics/cg-taskd.prom
 * (common/metrics.h), rewritten after every pass (so at least every [taskd] interval) and every
 * placement a pid file's event caused. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "taskd.h"
#include "util.h"

static const char *const refusal_names[_TASKD_REFUSAL_MAX] = {
        [TASKD_REFUSAL_TYPE] = "type",     [TASKD_REFUSAL_LINK] = "link",
        [TASKD_REFUSAL_NOUSER] = "nouser", [TASKD_REFUSAL_OWNER] = "owner",
        [TASKD_REFUSAL_USER] = "user",     [TASKD_REFUSAL_INIT] = "init",
        [TASKD_REFUSAL_KTHREAD] = "kthread", [TASKD_REFUSAL_STALE] = "stale",
        [TASKD_REFUSAL_BUDGET] = "budget",
};

const char *taskd_verdict_reason(enum taskd_verdict v) {
        switch (v) {
        case TASKD_MOVE:
                return NULL;
        case TASKD_REFUSE_INIT:
                return "init";
        case TASKD_REFUSE_KTHREAD:
                return "kthread";
        case TASKD_REFUSE_STALE:
                return "stale";
        case TASKD_REFUSE_OWNER:
                return "owner";
        case TASKD_REFUSE_USER:
                return "user";
        }
        return NULL;
}

void taskd_metrics_refused(struct taskd *d, const char *reason) {
        for (size_t i = 0; reason && i < _TASKD_REFUSAL_MAX; i++)
                if (strcmp(refusal_names[i], reason) == 0) {
                        d->m.refusals[i]++;
                        return;
                }
}

int taskd_metrics_format(const struct taskd *d, struct metrics *m) {
        (void) metrics_build_info(m, "cg-taskd");
        (void) metrics_gauge(m, "cgrouparch_taskd_processes_placed",
                             "Processes in their cgroups after the last full pass (moved or "
                             "already there).",
                             (double) d->last.n_processes);
        (void) metrics_gauge(m, "cgrouparch_taskd_cgroups_used",
                             "Cgroups holding at least one placed process after the last full "
                             "pass.",
                             (double) d->last.n_cgroups);
        (void) metrics_counter(m, "cgrouparch_taskd_moves_total",
                               "Processes moved into their cgroup (or systemd scope).",
                               d->m.moves);
        (void) metrics_family(m, "cgrouparch_taskd_refusals_total", METRICS_COUNTER,
                              "Processes not moved, by reason, counted as logged: once per pid "
                              "file and reason.");
        for (size_t i = 0; i < _TASKD_REFUSAL_MAX; i++)
                (void) metrics_sample_u64(m, "cgrouparch_taskd_refusals_total",
                                          (const char *const[]){ "reason", refusal_names[i],
                                                                 NULL },
                                          d->m.refusals[i]);
        (void) metrics_gauge(m, "cgrouparch_taskd_pending",
                             "systemd mode: services whose Slice= drop-in waits for a restart "
                             "(or that are on their way back); 0 otherwise.",
                             (double) sdplace_pending(d));
        (void) metrics_gauge(m, "cgrouparch_taskd_last_pass_errors",
                             "Processes that could not be moved in the last full pass.",
                             (double) d->last.n_errors);
        (void) metrics_gauge(m, "cgrouparch_taskd_last_pass_duration_seconds",
                             "Wall time of the last full pass.",
                             (double) d->last_pass_usec / (double) USEC_PER_SEC);
        return metrics_counter(m, "cgrouparch_taskd_passes_total", "Full passes run.",
                               d->n_passes);
}

void taskd_metrics_write(struct taskd *d) {
        struct metrics m = {};
        int r;

        if (!d->cfg)
                return;
        (void) taskd_metrics_format(d, &m);
        r = metrics_write(&m, d->cfg->daemon.runtime_dir, "cg-taskd");
        metrics_done(&m);
        if (r < 0 && r != d->m.write_error)
                log_warning_errno(r, "Failed to write %s/" METRICS_SUBDIR "/cg-taskd.prom: %m",
                                  d->cfg->daemon.runtime_dir);
        d->m.write_error = r < 0 ? r : 0;
}
