#!/usr/bin/env bash
# prometheus.sh — Debian's Prometheus server scrapes one host's cg-wsd: ZooKeeper, Redis,
# cg-syncd, cg-accountd, cg-taskd and cg-wsd run on a test root (tests/lib-metrics.sh), a busy
# test service is placed by cg-taskd, Prometheus (loopback, a private port and storage dir,
# scrape and rule interval 1 s, the shipped rules loaded) scrapes for a few seconds, and its
# HTTP query API must show the usage rate of the service's cgroup, the applied conf version and
# every daemon's build_info: what an operator's dashboards and alerts read.
. "$(dirname "$0")/../lib-syncd.sh"
. "$TOP/tests/lib-metrics.sh"

[ "$(id -u)" = 0 ] || { t_skip "prometheus e2e" "needs root"; t_done; exit; }
command -v prometheus >/dev/null || { t_skip "prometheus e2e" "prometheus missing (apt-get install prometheus)"; t_done; exit; }

metrics_host_up || { t_fail "the host starts"; t_done; exit 1; }
# the test service burns CPU (bounded: 90 s at most, stopped at exit), so its rate is > 0
stop_pid "$SVC_PID"
timeout 90 sh -c 'while :; do :; done' &
SVC_PID=$!; track "$SVC_PID"
echo "$SVC_PID" >"$T_TMP/pids/a.pid.new"; mv "$T_TMP/pids/a.pid.new" "$T_TMP/pids/a.pid"

PROM_PORT=$(free_port)
PROM_DIR=$T_TMP/prometheus
mkdir -p "$PROM_DIR/data"
cat >"$PROM_DIR/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $TOP/contrib/prometheus/cgrouparch.rules.yml
scrape_configs:
  - job_name: cgrouparch
    static_configs:
      - targets: ['127.0.0.1:$WSD_PORT']
EOC
prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$PROM_DIR/log" 2>&1 &
PROM_PID=$!; track "$PROM_PID"
API=http://127.0.0.1:$PROM_PORT/api/v1
t_check "prometheus starts" wait_for 30 curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" || { tail -20 "$PROM_DIR/log"; t_done; exit 1; }

# q PROMQL: the first result's value ("" when none)
q() { curl -sf -G "$API/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
# q_ok PROMQL: the query has a result
q_ok() { [ -n "$(q "$1")" ]; }
q_n() { curl -sf -G "$API/query" --data-urlencode "query=$1" | jq -r '.data.result | length'; }

t_check "the target is up" wait_for 20 q_ok 'up{job="cgrouparch"} == 1'
t_check "usage rate of the busy service's cgroup (> 0.05 CPU)" \
  wait_for 30 q_ok 'rate(cgrouparch_cpu_usage_seconds_total{subsystem="cpu",cgroup="test_cgroup_a"}[5s]) > 0.05'
t_diag "rate: $(q 'rate(cgrouparch_cpu_usage_seconds_total{subsystem="cpu",cgroup="test_cgroup_a"}[5s])') CPU"
t_check "the applied conf version (0)" wait_for 10 q_ok 'cgrouparch_syncd_conf_version{job="cgrouparch"} == 0'
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 512}}}}}' >/dev/null
t_check "the next version (1) within seconds" wait_for 15 q_ok 'cgrouparch_syncd_conf_version == 1'
t_check "the service's moves counted" wait_for 10 q_ok 'cgrouparch_taskd_moves_total >= 1'
t_check "samples written increase" wait_for 10 q_ok 'increase(cgrouparch_accountd_samples_written_total[5s]) > 0'
t_check "ZooKeeper connected" q_ok 'cgrouparch_syncd_zookeeper_connected == 1'
t_eq "build_info of all four daemons" "$(q_n 'count by (daemon) (cgrouparch_build_info)')" 4
t_check "the version skew query runs (one host: no skew)" \
  eval '[ "$(q_n "count by (job) (count_values by (job) (\"version\", cgrouparch_syncd_conf_version)) > 1")" = 0 ]'
rules=$(curl -sf "$API/rules" | jq -r '[.data.groups[].rules[] | select(.health == "ok")] | length')
t_eq "the shipped rules are loaded and evaluate without error" "$rules" 7
t_check "no scrape error" eval '[ "$(curl -sf "$API/targets" | jq -r ".data.activeTargets[0].lastError")" = "" ]'
t_done
