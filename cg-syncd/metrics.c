/* metrics.c — cg-syncd's health as Prometheus text in <runtime_dir>/metrics/cg-syncd.prom
 * (common/metrics.h), rewritten at every state change (syncd_update_status) and so at least
 * every reconcile interval. The fleet alerts of contrib/prometheus/cgrouparch.rules.yml read
 * these names: rename none without them. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "syncd.h"
#include "util.h"

/* Label values of cgrouparch_syncd_zookeeper_session_state, one per enum zk_state. */
static const char *state_label(enum zk_state s) {
        switch (s) {
        case ZK_STATE_CONNECTING:
                return "connecting";
        case ZK_STATE_CONNECTED:
                return "connected";
        case ZK_STATE_EXPIRED:
                return "expired";
        case ZK_STATE_AUTH_FAILED:
                return "auth_failed";
        case ZK_STATE_CLOSED:
                return "closed";
        }
        return "closed";
}

int syncd_metrics_format(const struct syncd *d, struct metrics *m) {
        static const enum zk_state states[] = { ZK_STATE_CONNECTING, ZK_STATE_CONNECTED,
                                                ZK_STATE_EXPIRED, ZK_STATE_AUTH_FAILED,
                                                ZK_STATE_CLOSED };

        (void) metrics_build_info(m, "cg-syncd");
        /* No sample while nothing is applied: a host without a conf must not count as one
         * more version in count(count by (version) ...). */
        (void) metrics_family(m, "cgrouparch_syncd_conf_version", METRICS_GAUGE,
                              "Data version of the arch conf node applied to this host's cgroup "
                              "tree (absent while nothing is applied).");
        if (d->applied)
                (void) metrics_sample(m, "cgrouparch_syncd_conf_version", NULL,
                                      (double) d->applied->version);
        (void) metrics_gauge(m, "cgrouparch_syncd_conf_from_snapshot",
                             "1 when the applied conf came from the local snapshot (ZooKeeper "
                             "not read yet), else 0.",
                             d->applied && d->applied_source == SYNCD_SOURCE_SNAPSHOT ? 1 : 0);
        (void) metrics_gauge(m, "cgrouparch_syncd_last_apply_timestamp_seconds",
                             "Unix time of the last successful apply (also of an unchanged conf "
                             "at a reconcile), 0 before the first.",
                             (double) (d->m.last_apply_usec / USEC_PER_SEC));
        (void) metrics_gauge(m, "cgrouparch_syncd_apply_failing",
                             "1 while the last apply of a valid conf failed (it is retried).",
                             d->m.apply_failing ? 1 : 0);
        (void) metrics_counter(m, "cgrouparch_syncd_apply_errors_total",
                               "Applies of a valid conf that failed.", d->m.apply_errors);
        (void) metrics_counter(m, "cgrouparch_syncd_conf_rejected_total",
                               "Conf versions rejected as invalid (each counted once).",
                               d->m.rejected);
        (void) metrics_gauge(m, "cgrouparch_syncd_conf_node_missing",
                             "1 while the arch conf node does not exist in ZooKeeper.",
                             d->node_missing ? 1 : 0);
        (void) metrics_gauge(m, "cgrouparch_syncd_zookeeper_connected",
                             "1 while the ZooKeeper session is connected, else 0.",
                             d->zk_state == ZK_STATE_CONNECTED ? 1 : 0);
        (void) metrics_family(m, "cgrouparch_syncd_zookeeper_session_state", METRICS_GAUGE,
                              "The ZooKeeper session state: 1 for the current state, 0 for the "
                              "others.");
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                (void) metrics_sample(m, "cgrouparch_syncd_zookeeper_session_state",
                                      (const char *const[]){ "state", state_label(states[i]),
                                                             NULL },
                                      states[i] == d->zk_state ? 1 : 0);
        return metrics_counter(m, "cgrouparch_syncd_zookeeper_reconnects_total",
                               "ZooKeeper connections established after the first one.",
                               d->m.reconnects);
}

void syncd_metrics_write(struct syncd *d) {
        struct metrics m = {};
        int r;

        if (!d->cfg)
                return;
        (void) syncd_metrics_format(d, &m);
        r = metrics_write(&m, d->cfg->daemon.runtime_dir, "cg-syncd");
        metrics_done(&m);
        if (r < 0 && r != d->m.write_error)
                log_warning_errno(r, "Failed to write %s/" METRICS_SUBDIR "/cg-syncd.prom: %m",
                                  d->cfg->daemon.runtime_dir);
        d->m.write_error = r < 0 ? r : 0;
}
