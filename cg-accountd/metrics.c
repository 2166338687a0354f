/* metrics.c — cg-accountd's health as Prometheus text in <runtime_dir>/metrics/cg-accountd.prom
 * (common/metrics.h), rewritten after every tick (once a second). */
#include <errno.h>

#include "acctd.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

int acctd_metrics_format(const struct acctd *d, struct metrics *m) {
        (void) metrics_build_info(m, "cg-accountd");
        (void) metrics_gauge(m, "cgrouparch_accountd_tick_duration_seconds",
                             "Wall time of the last tick: reading every cgroup and sending the "
                             "sample to Redis.",
                             (double) d->last_tick_usec / (double) USEC_PER_SEC);
        (void) metrics_counter(m, "cgrouparch_accountd_ticks_total", "Ticks run (one a second).",
                               d->st.ticks);
        (void) metrics_counter(m, "cgrouparch_accountd_samples_written_total",
                               "Samples written to Redis.", d->st.sent);
        (void) metrics_counter(m, "cgrouparch_accountd_samples_dropped_total",
                               "Samples dropped because Redis was unavailable or refused them.",
                               d->st.dropped);
        (void) metrics_counter(m, "cgrouparch_accountd_missed_seconds_total",
                               "Seconds without a sample because the machine stalled.",
                               d->st.missed);
        (void) metrics_counter(m, "cgrouparch_accountd_read_errors_total",
                               "Cgroup stat files that could not be read at a tick.",
                               d->st.read_errors);
        (void) metrics_gauge(m, "cgrouparch_accountd_redis_up",
                             "1 when the last sample reached Redis, else 0.",
                             d->conf && !d->outage && d->st.sent > 0 ? 1 : 0);
        (void) metrics_gauge(m, "cgrouparch_accountd_cgroups",
                             "Cgroups of the conf's cpu and blkio trees read at each tick (the "
                             "managed root, also read, not counted).",
                             (double) d->n_cgroups);
        return metrics_gauge(m, "cgrouparch_accountd_snapshot_loaded",
                             "1 once the applied snapshot of cg-syncd has been read, else 0.",
                             d->conf ? 1 : 0);
}

void acctd_metrics_write(struct acctd *d) {
        struct metrics m = {};
        int r;

        (void) acctd_metrics_format(d, &m);
        r = metrics_write(&m, d->cfg->daemon.runtime_dir, "cg-accountd");
        metrics_done(&m);
        if (r < 0 && r != d->metrics_error)
                log_warning_errno(r, "Failed to write %s/" METRICS_SUBDIR "/cg-accountd.prom: %m",
                                  d->cfg->daemon.runtime_dir);
        d->metrics_error = r < 0 ? r : 0;
}
