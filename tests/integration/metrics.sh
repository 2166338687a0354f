#!/usr/bin/env bash
# metrics.sh — every daemon's health file (<runtime_dir>/metrics/<daemon>.prom) on a real host
# under a test root: written, valid for `promtool check metrics`, carrying the state (applied
# version, ZooKeeper session, moves, samples written, Redis up) and following it (ZooKeeper
# down and back: connected 0, then a reconnect; Redis down: samples dropped, redis_up 0; a new
# conf: the version); cg-wsd's /metrics carries them all after its own, and passes promtool too.
. "$(dirname "$0")/../lib-syncd.sh"
. "$TOP/tests/lib-metrics.sh"

[ "$(id -u)" = 0 ] || { t_skip "health metrics" "needs root"; t_done; exit; }
command -v promtool >/dev/null || { t_skip "health metrics" "promtool missing (apt-get install prometheus)"; t_done; exit; }

metrics_host_up || { t_fail "the host starts"; t_done; exit 1; }
M=$RUNTIME_DIR/metrics
S=$M/cg-syncd.prom A=$M/cg-accountd.prom K=$M/cg-taskd.prom

t_check "cg-syncd.prom: applied version 0" wait_for 10 prom_is "$S" cgrouparch_syncd_conf_version 0
t_check "cg-syncd.prom: ZooKeeper connected" prom_is "$S" cgrouparch_syncd_zookeeper_connected 1
t_check "cg-syncd.prom: session state label" prom_is "$S" 'cgrouparch_syncd_zookeeper_session_state{state="connected"}' 1
t_check "cg-syncd.prom: last apply time is now" eval 'prom_ge "$S" cgrouparch_syncd_last_apply_timestamp_seconds $(( $(date +%s) - 30 ))'
t_check "cg-accountd.prom: samples written" wait_for 10 prom_ge "$A" cgrouparch_accountd_samples_written_total 2
t_check "cg-accountd.prom: Redis up" prom_is "$A" cgrouparch_accountd_redis_up 1
t_check "cg-accountd.prom: a tick duration" prom_ge "$A" cgrouparch_accountd_tick_duration_seconds 0.000001
t_check "cg-taskd.prom: the service moved" wait_for 10 prom_ge "$K" cgrouparch_taskd_moves_total 1
t_check "cg-taskd.prom: one process placed" wait_for 5 prom_is "$K" cgrouparch_taskd_processes_placed 1
t_check "cg-taskd.prom: refusals by reason (none yet)" prom_is "$K" 'cgrouparch_taskd_refusals_total{reason="owner"}' 0
t_check "cg-taskd.prom: nothing pending (cgroupfs mode)" prom_is "$K" cgrouparch_taskd_pending 0
for f in "$S" "$A" "$K"; do
  d=${f##*/}; d=${d%.prom}
  t_check "$d.prom: build_info" grep -q "^cgrouparch_build_info{daemon=\"$d\",version=\"[0-9.]*\"} 1$" "$f"
  out=$(promtool check metrics <"$f" 2>&1)
  t_check "$d.prom: promtool check metrics" test $? = 0 || t_diag "$out"
  t_eq "$d.prom: mode 0644 (cg-wsd's dynamic user reads it)" "$(stat -c %a "$f")" 644
done

# a refusal counted by its reason: a nobody-owned pid file naming a root process
echo "$SVC_PID" >"$T_TMP/pids/a.pid.new"; chown 65534 "$T_TMP/pids/a.pid.new"; mv "$T_TMP/pids/a.pid.new" "$T_TMP/pids/a.pid"
t_check "cg-taskd.prom: an owner refusal counted" wait_for 10 prom_is "$K" 'cgrouparch_taskd_refusals_total{reason="owner"}' 1

# one scrape sees the host
body=$(curl -sf "http://127.0.0.1:$WSD_PORT/metrics")
for want in 'cgrouparch_wsd_connections' 'cgrouparch_syncd_conf_version 0' 'cgrouparch_accountd_redis_up 1' \
            'cgrouparch_taskd_moves_total' 'cgrouparch_build_info{daemon="cg-wsd"' 'cgrouparch_build_info{daemon="cg-taskd"' \
            'cgrouparch_metrics_file_timestamp_seconds{file="cg-accountd.prom"}'; do
  t_check "cg-wsd /metrics has $want" grep -qF "$want" <<<"$body"
done
t_eq "cg-wsd /metrics: one build_info family" "$(grep -c '^# TYPE cgrouparch_build_info ' <<<"$body")" 1
out=$(promtool check metrics <<<"$body" 2>&1)
t_check "cg-wsd /metrics: promtool check metrics" test $? = 0 || t_diag "$out"

# a new version
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 512}}}}}' >/dev/null
t_check "cg-syncd.prom: version 1 after a change" wait_for 5 prom_is "$S" cgrouparch_syncd_conf_version 1

# ZooKeeper away and back
stop_pid "$ZK_PID"
t_check "cg-syncd.prom: ZooKeeper not connected" wait_for 15 prom_is "$S" cgrouparch_syncd_zookeeper_connected 0
restart_zk
t_check "cg-syncd.prom: connected again" wait_for 20 prom_is "$S" cgrouparch_syncd_zookeeper_connected 1
t_check "cg-syncd.prom: a reconnect counted" prom_ge "$S" cgrouparch_syncd_zookeeper_reconnects_total 1

# Redis away
stop_pid "$REDIS_PID"
t_check "cg-accountd.prom: samples dropped" wait_for 5 prom_ge "$A" cgrouparch_accountd_samples_dropped_total 2
t_check "cg-accountd.prom: Redis down" prom_is "$A" cgrouparch_accountd_redis_up 0

# an apply error: the managed root's cgroup in cpu made unwritable is hard to arrange safely;
# the counter's presence is checked instead (its value is unit-level logic in apply.c)
t_check "cg-syncd.prom: apply errors counter" prom_is "$S" cgrouparch_syncd_apply_errors_total 0
t_check "no daemon logged a metrics write failure" eval '! grep -h "Failed to write.*\.prom" "$SYNCD_LOG" "$ACCTD_LOG" "$TASKD_LOG"'
t_done
