#!/usr/bin/env bash
# tests/fleet/fleet.sh — issue 17's scenarios on a fleet made by lib-fleet.sh: a 3-server
# ZooKeeper ensemble and FLEET_N hosts in network namespaces. TAP lines; figures as
# "# fig <key> <value>" lines (also appended to $FLEET_RESULTS when set, for tests/fleet/run).
#
# FLEET_SCENARIOS (default all, in this order): propagation failover rolling partition quorum
# herd dashboard
# FLEET_N (50), FLEET_CHANGES (100), FLEET_FAILOVER_CHANGES (10 before the kill, 10 after the
# new leader), FLEET_SESSION_MS (4000), FLEET_FULL (2),
# FLEET_HERD_BYTES (1000000), FLEET_HERD_CGROUPS (100), FLEET_PROM (1: Prometheus over the
# fleet; 0, or prometheus not installed: none), FLEET_ALERT_FOR (1s), FLEET_ALERT_WINDOW (3s).
. "$(dirname "$0")/lib-fleet.sh"
FLEET_SCENARIOS=${FLEET_SCENARIOS:-propagation failover rolling partition quorum herd dashboard}
for tool in prometheus jq; do
  command -v "$tool" >/dev/null || { [ "$FLEET_PROM" = 0 ] || t_diag "no $tool: no Prometheus over the fleet"; FLEET_PROM=0; }
done
FLEET_CHANGES=${FLEET_CHANGES:-100}
FLEET_FAILOVER_CHANGES=${FLEET_FAILOVER_CHANGES:-10}
FLEET_HERD_BYTES=${FLEET_HERD_BYTES:-1000000}
FLEET_HERD_CGROUPS=${FLEET_HERD_CGROUPS:-100}
FLEET_RESULTS=${FLEET_RESULTS:-}
HZ=$(getconf CLK_TCK)

fig() {
  echo "# fig $1 $2"
  [ -z "$FLEET_RESULTS" ] || echo "N=$FLEET_N $1 $2" >> "$FLEET_RESULTS"
}
ms_since() { echo $(( ($(now_ms) - $1) )); }
ticks_ms() { echo $(( $1 * 1000 / HZ )); }
zk_version() { fl_hub "$BUILD/cgarch" -c "$FL/admin.conf" conf get --version-only 2>/dev/null; }
# fl_bg_stream ARGS: fleet_stream in the background (no EXIT trap in the subshell: it must not
# tear the fleet down when it ends); FL_STREAM_PID.
fl_bg_stream() {
  rm -f "$FL/stop"
  ( trap - EXIT INT TERM; fleet_stream "$@" ) &
  FL_STREAM_PID=$!
}
fl_puts() { local n=0; while read -r _; do n=$((n + 1)); done < "$FL/puts.log"; echo $n; }
fl_puts_ge() { [ "$(fl_puts)" -ge "$1" ]; }
# fl_end_check NAME [EXCLUDE]: no daemon exited, every host on ZooKeeper's last version, logs in order.
fl_end_check() {
  local name=$1 v
  t_check "$name: no host daemon exited${FL_DEAD:+ (dead:$FL_DEAD)}" fleet_alive
  [ -z "$FL_DEAD" ] || t_diag "dead:$FL_DEAD"
  v=$(zk_version)
  if wait_for 60 fleet_all_at "${v:-999999}"; then
    t_ok "$name: every host ends on the last version ($v)"
  else
    t_fail "$name: every host ends on the last version ($v)"; t_diag "versions: $(cat "$FL/versions")"
  fi
  t_check "$name: every host applied its versions in increasing order${FL_ORDER_BAD:+ (not:$FL_ORDER_BAD)}" fleet_applied_in_order
}
expired_count() { cat "$FL"/h*/syncd.log | grep -c "expired" ; }

# fl_no_version_alert SINCE_EPOCH: Prometheus's ALERTS series has no version alert firing since
# then (max_over_time over the span, through the query API).
fl_no_version_alert() {
  local span
  span=$(awk -v s="$1" -v n="$EPOCHREALTIME" 'BEGIN { printf "%d", n - s + 2 }')
  fl_prom_query "count(max_over_time(ALERTS{alertname=~\"CgrouparchConfVersion(Skew|Behind)\", alertstate=\"firing\"}[${span}s]))" |
    jq -e '.status == "success" and (.data.result | length == 0)' >/dev/null
}

t_diag "fleet: N=$FLEET_N hosts (full set on $FLEET_FULL), 3 ZooKeeper servers, session ${FLEET_SESSION_MS} ms, tickTime $FLEET_TICK, Prometheus $([ "$FLEET_PROM" = 0 ] && echo no || echo "yes (version alerts: window $FLEET_ALERT_WINDOW, for: $FLEET_ALERT_FOR)"); load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now_ms)
if ! fleet_up; then
  t_fail "fleet up (ensemble, $FLEET_N hosts, every host on version 0${FL_PROM_PID:+, Prometheus scraping them})"
  t_done; exit 1
fi
t_ok "fleet up: ensemble formed in ${FL_T_ZK} ms ($FLEET_N namespaces made meanwhile in ${FL_T_NET} ms), every host on version 0 in ${FL_T_HOSTS} ms${FL_PROM_PID:+, Prometheus scraping all $FLEET_N cg-wsd}"
fig startup_s "$(awk -v m="$(ms_since "$t0")" 'BEGIN { printf "%.1f", m / 1000 }')"
t_check "the machine's own network namespace got nothing: no 10.213. or 10.214. address on it" \
  bash -c "! ip -4 addr show | grep -qE '10\.21[34]\.'"
if [ "$FLEET_PROM" != 0 ]; then
  n=$(grep -c -- '- alert: ' "$TOP/contrib/prometheus/cgrouparch.rules.yml")
  t_eq "prometheus: the shipped rules loaded, all $n evaluating without error" \
    "$(fl_prom_api rules | jq '[.data.groups[].rules[] | select(.health == "ok")] | length')" "$n"
fi

# ---------------------------------------------------------------- propagation
sc_propagation() {
  local since=$EPOCHREALTIME cpu0 tx0 pk0 cpu1 tx1 pk1 ok=1 t=$(now_ms)
  cpu0=$(fl_zk_cpu); tx0=$(fl_br_tx); pk0=$(fl_zk_mntr zk_packets_sent)
  fleet_stream "$FLEET_CHANGES" 0 || ok=0
  cpu1=$(fl_zk_cpu); tx1=$(fl_br_tx); pk1=$(fl_zk_mntr zk_packets_sent)
  fleet_stats --since "$since"
  t_check "propagation: $FLEET_CHANGES puts, each reached every host (missing $ST_missing)" \
    test "$ok" = 1 -a "$ST_n" = "$FLEET_CHANGES" -a "$ST_missing" = 0
  t_check "propagation: every host showed every version, never going back (skipped $ST_skipped, backwards $ST_backwards)" \
    test "$ST_skipped" = 0 -a "$ST_backwards" = 0
  t_check "propagation: cg-syncd logs 'Applied version N' in increasing order on every host${FL_ORDER_BAD:+ (not:$FL_ORDER_BAD)}" fleet_applied_in_order
  t_check "propagation: p99 from the acknowledged write to the last host < 1 s (p99 $ST_p99 ms)" \
    awk -v p="$ST_p99" 'BEGIN { exit !(p < 1000) }'
  # Two versions are in use at nearly every scrape while changes come faster than the scrape
  # interval; the skew alerts must still stay quiet, no host being behind for long.
  [ "$FLEET_PROM" = 0 ] || t_check "propagation: no version alert fired during the stream of changes (ALERTS over its span, through the query API)" \
    fl_no_version_alert "$since"
  t_diag "propagation over $FLEET_CHANGES changes in $(ms_since "$t") ms"
  fig prop_p50_ms "$ST_p50"; fig prop_p99_ms "$ST_p99"; fig prop_max_ms "$ST_max"
  fig prop_mean_ms "$ST_mean"
  fig prop_exit_p50_ms "$ST_exit_p50"; fig prop_start_p50_ms "$ST_start_p50"; fig prop_start_p99_ms "$ST_start_p99"
  fig zk_cpu_ms_per_change "$(awk -v c=$((cpu1 - cpu0)) -v n="$FLEET_CHANGES" -v hz="$HZ" 'BEGIN { printf "%.1f", c * 1000 / hz / n }')"
  fig zk_bytes_per_change "$(( (tx1 - tx0) / FLEET_CHANGES ))"
  fig zk_packets_per_change "$(( (pk1 - pk0) / FLEET_CHANGES ))"
}

# ---------------------------------------------------------------- leader failover
sc_failover() {
  local leader n0 since=$EPOCHREALTIME tk t exp0 newl=""
  leader=$(fleet_zk_leader) || { t_fail "failover: a leader to kill"; return; }
  exp0=$(expired_count)
  fl_bg_stream 0 0.05
  n0=$(fl_puts)
  wait_for 60 fl_puts_ge $((n0 + FLEET_FAILOVER_CHANGES))
  tk=$(now_ms)
  fleet_zk_kill "$leader"
  t_diag "failover: killed leader server $leader (kill -9) after $(( $(fl_puts) - n0 )) changes of the stream, $FLEET_FAILOVER_CHANGES more after the new leader"
  while [ "$(ms_since "$tk")" -lt 60000 ]; do newl=$(fleet_zk_leader) && break; sleep 0.05; done
  t=$(ms_since "$tk")
  t_check "failover: a new leader (server ${newl:-none}) elected, ${t} ms after the kill" test -n "$newl"
  fig failover_election_ms "$t"
  n0=$(fl_puts)
  wait_for 90 fl_puts_ge $((n0 + FLEET_FAILOVER_CHANGES))
  touch "$FL/stop"
  wait "$FL_STREAM_PID"
  t_check "failover: the stream of changes went on (every put eventually written, each seen everywhere)" test $? = 0
  fleet_stats --since "$since"
  t_diag "failover: $ST_n changes; longest stall (first put attempt -> last host) ${ST_stall_max} ms at version $ST_stall_version; sessions expired on hosts: $(( $(expired_count) - exp0 ))"
  fig failover_stall_ms "$ST_stall_max"
  fig failover_session_expiries "$(( $(expired_count) - exp0 ))"
  fl_end_check failover
  # The killed server restarts; the next scenario goes on while its JVM starts (FL_REJOIN), and
  # the check that it is back in the quorum comes before anything that needs all three.
  fleet_zk_start "$leader"
  FL_REJOIN=$leader
}
fl_rejoin_check() {
  [ -n "${FL_REJOIN:-}" ] || return 0
  t_check "failover: server $FL_REJOIN restarted and back in the quorum" wait_for 90 fl_zk_serving "$FL_REJOIN"
  FL_REJOIN=
}

# ---------------------------------------------------------------- rolling restart
sc_rolling() {
  local s n0 since=$EPOCHREALTIME t0=$(now_ms) t exp0
  fl_rejoin_check
  exp0=$(expired_count)
  fl_bg_stream 0 0.05
  for s in 1 2 3; do
    n0=$(fl_puts); wait_for 60 fl_puts_ge $((n0 + 3))
    t=$(now_ms)
    fleet_zk_stop "$s"; fleet_zk_start "$s"
    if wait_for 90 fl_zk_serving "$s"; then
      t_diag "rolling: server $s restarted and serving ($(fleet_zk_mode "$s")) in $(ms_since "$t") ms"
    else
      t_fail "rolling: server $s back in the quorum"
    fi
  done
  n0=$(fl_puts); wait_for 60 fl_puts_ge $((n0 + 3))
  touch "$FL/stop"
  wait "$FL_STREAM_PID"
  t_check "rolling: changes went on through the three restarts" test $? = 0
  fleet_stats --since "$since"
  t_diag "rolling: $ST_n changes in $(ms_since "$t0") ms; longest stall ${ST_stall_max} ms; sessions expired: $(( $(expired_count) - exp0 ))"
  fig rolling_stall_ms "$ST_stall_max"
  fig rolling_changes "$ST_n"
  fl_end_check rolling
}

# ---------------------------------------------------------------- partition
# With Prometheus: the skew alert is quiet before the cut, fires during it (with the lagging host
# named by CgrouparchConfVersionBehind) and clears after the heal, all seen through the HTTP API.
# The cut is on the ZooKeeper network only: Prometheus still scrapes the host (mgmt network).
fl_rel() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }' || echo never; }
sc_partition() {
  local k=$((FLEET_N - 1)) since=$EPOCHREALTIME tc th v0 v st cut_ms=$((3 * FLEET_SESSION_MS))
  local prom=0 fired="" tce the p f c a n h
  [ "$FLEET_PROM" = 0 ] || prom=1
  [ $prom = 0 ] || t_check "partition: before the cut no version-skew alert (pending or firing), through Prometheus's API" \
    wait_for 20 fl_alert_gone CgrouparchConfVersionSkew
  read -r -a vs < "$FL/versions"; v0=${vs[$k]}
  tc=$(now_ms); tce=$EPOCHREALTIME
  fleet_cut "$k"
  t_diag "partition: host $k cut off (its veth down at the bridge) for $cut_ms ms"
  sleep 0.5
  fleet_change && wait_for 30 fleet_all_at "$FL_VERSION" "$k"
  sleep 1
  fleet_change && wait_for 30 fleet_all_at "$FL_VERSION" "$k"
  v=$FL_VERSION
  fleet_stats --since "$since" --exclude "$k"
  t_check "partition: the other hosts took both changes (missing $ST_missing), slowest ${ST_max} ms after the write" \
    test "$ST_n" = 2 -a "$ST_missing" = 0
  t_check "partition: the others did not stall (max $ST_max ms < 1 s)" awk -v p="$ST_max" 'BEGIN { exit !(p < 1000) }'
  fig partition_others_max_ms "$ST_max"
  read -r -a vs < "$FL/versions"
  t_eq "partition: the cut-off host still has its old version" "${vs[$k]}" "$v0"
  while [ "$(ms_since "$tc")" -lt "$cut_ms" ]; do
    if [ $prom = 1 ] && [ -z "$fired" ] && fl_alert_is CgrouparchConfVersionSkew firing; then fired=$(ms_since "$tc"); fi
    sleep 0.1
  done
  if [ $prom = 1 ]; then
    # the two changes can take longer than the cut on a loaded machine: look once more
    [ -n "$fired" ] || ! fl_alert_is CgrouparchConfVersionSkew firing || fired=$(ms_since "$tc")
    t_check "partition: CgrouparchConfVersionSkew fires during the cut (seen ${fired:-never} ms after it; window $FLEET_ALERT_WINDOW, for: $FLEET_ALERT_FOR)" test -n "$fired"
    t_check "partition: CgrouparchConfVersionBehind fires for the cut-off host (host h$k) before the heal" \
      fl_alert_is CgrouparchConfVersionBehind firing "h$k"
  fi
  st=$(fleet_status "$k")
  t_diag "partition: host $k STATUS= before the heal: $st"
  t_check "partition: the cut-off host says ZooKeeper is unreachable or its session expired" \
    grep -qE "unreachable|expired" <<<"$st"
  th=$(now_ms); the=$EPOCHREALTIME
  fleet_heal "$k"
  if wait_for 90 fleet_all_at "$v"; then
    t=$(ms_since "$th")
    t_ok "partition: after the heal the host applied the last version ($v) by itself in $t ms"
    fig partition_recovery_ms "$t"
  else
    t_fail "partition: after the heal the host applied the last version ($v)"
    t_diag "versions: $(cat "$FL/versions"); status: $(fleet_status "$k")"
  fi
  if [ $prom = 1 ]; then
    if wait_for 30 fl_alert_gone CgrouparchConfVersionSkew; then
      t_ok "partition: the skew alert clears after the heal (gone from /api/v1/alerts and ALERTS when looked at $(ms_since "$th") ms after it)"
    else
      t_fail "partition: the skew alert clears after the heal"
    fi
    t_check "partition: CgrouparchConfVersionBehind clears too" wait_for 10 fl_alert_gone CgrouparchConfVersionBehind
    # the timeline, from fleet-alerts.py's log of the API (times from the cut)
    for a in CgrouparchConfVersionSkew: CgrouparchConfVersionBehind:h$k CgrouparchZooKeeperDown:h$k; do
      n=${a%%:*}; h=${a#*:}
      p=$(fl_alert_log_first "$n" pending "$tce" "$h")
      f=$(fl_alert_log_first "$n" firing "$tce" "$h")
      c=$(fl_alert_log_first "$n" inactive "$tce" "$h")
      t_diag "partition: alert $n${h:+ for $h}: pending $(fl_rel "$tce" "$p"), firing $(fl_rel "$tce" "$f"), inactive $(fl_rel "$tce" "$c") after the cut (heal at $(fl_rel "$tce" "$the"))"
      if [ "$n" = CgrouparchConfVersionSkew ]; then
        [ -z "$f" ] || fig partition_alert_firing_s "$(fl_rel "$tce" "$f" | cut -d' ' -f1)"
        [ -z "$c" ] || fig partition_alert_cleared_s "$(fl_rel "$the" "$c" | cut -d' ' -f1)"
      fi
    done
    fig partition_healed_after_s "$(fl_rel "$tce" "$the" | cut -d' ' -f1)"
  fi
  t_check "partition: the host's cg-syncd saw its session expire and started a new one" \
    grep -q "expired" "$(fl_host_dir "$k")/syncd.log"
  fl_end_check partition
}

# ---------------------------------------------------------------- quorum loss
sc_quorum() {
  local l a b v0 share t tq ok=1 i root st out rc s tse tqe
  fl_rejoin_check
  l=$(fleet_zk_leader) || { t_fail "quorum: a leader"; return; }
  a=$l; b=$(( l % 3 + 1 ))
  v0=$(zk_version); share=$FL_SHARE
  wait_for 30 fleet_all_at "$v0"
  t=$(now_ms); tse=$EPOCHREALTIME
  fleet_zk_stop "$a"; fleet_zk_stop "$b"
  t_diag "quorum: stopped servers $a (leader) and $b (SIGTERM, $(ms_since "$t") ms); one of three left"
  t=$(now_ms)
  if wait_for $((FLEET_SESSION_MS * 3 / 1000 + 10)) fleet_all_status_has "unreachable"; then
    t=$(ms_since "$t")
    t_ok "quorum: every host's STATUS= says 'ZooKeeper unreachable' ($t ms after both servers exited)"
    fig quorum_status_ms "$t"
  else
    t_fail "quorum: every host's STATUS= says 'ZooKeeper unreachable'"
    for ((i = 0; i < FLEET_N && i < 5; i++)); do t_diag "host $i: $(fleet_status "$i")"; done
  fi
  t_diag "quorum: host 0 STATUS= $(fleet_status 0)"
  t_check "quorum: host 0's cg-wsd /metrics says cgrouparch_syncd_zookeeper_connected 0" \
    eval 'fleet_metrics 0 | grep -qx "cgrouparch_syncd_zookeeper_connected 0"'
  if [ "$FLEET_PROM" != 0 ]; then
    t_check "quorum: Prometheus sees every host's /metrics say ZooKeeper disconnected" \
      wait_for 20 fl_prom_eq "count(cgrouparch_syncd_zookeeper_connected == 0)" "$FLEET_N"
    t_check "quorum: CgrouparchZooKeeperDown fires for every host" \
      wait_for 20 fl_prom_eq "count(ALERTS{alertname=\"CgrouparchZooKeeperDown\", alertstate=\"firing\"})" "$FLEET_N"
  fi
  out=$(fl_hub "$BUILD/cgarch" -c "$FL/admin.conf" conf put "$FL/conf.json" 2>&1); rc=$?
  t_check "quorum: a put without quorum fails (exit $rc: $out)" test "$rc" = 1
  read -r -a vs < "$FL/versions"
  for ((i = 0; i < FLEET_N; i++)); do
    root=$CG_DIR/cpu/$FL_CGPREFIX-$i
    [ "${vs[$i]}" = "$v0" ] && [ "$(cat "$root/web/cpu.shares" 2>/dev/null)" = "$share" ] &&
      [ -d "$root/batch/low" ] || { ok=0; t_diag "host $i: version ${vs[$i]}, web share $(cat "$root/web/cpu.shares" 2>/dev/null)"; }
  done
  t_check "quorum: every host kept its last tree (version $v0, web share $share) and snapshot" test $ok = 1
  t_check "quorum: no daemon exited while ZooKeeper was unreachable" fleet_alive
  tq=$(now_ms); tqe=$EPOCHREALTIME
  fleet_zk_start "$a"; fleet_zk_start "$b"
  t_check "quorum: quorum back" wait_for 90 fl_zk_quorum 3
  t_diag "quorum: quorum back $(ms_since "$tq") ms after the restart"
  if wait_for 60 fleet_all_status_has "watching"; then
    t=$(ms_since "$tq")
    t_ok "quorum: every host watching again ($t ms after the restart)"
    fig quorum_reconnect_ms "$t"
  else
    t_fail "quorum: every host watching again"; t_diag "host 0: $(fleet_status 0)"
  fi
  fleet_change && wait_for 30 fleet_all_at "$FL_VERSION"
  t_check "quorum: a change after the return reaches every host (version $FL_VERSION)" test $? = 0
  if [ "$FLEET_PROM" != 0 ]; then
    t_check "quorum: CgrouparchZooKeeperDown clears" wait_for 30 fl_alert_gone CgrouparchZooKeeperDown
    # from fleet-alerts.py's log: when the hosts' alerts fired (from the stop) and cleared (from the restart)
    t_diag "quorum: CgrouparchZooKeeperDown $(awk -v ts="$tse" -v tq="$tqe" '
      $2 == "CgrouparchZooKeeperDown" && $1 >= ts && $4 == "firing" && !f[$3]++ { n++; if (!a || $1 < a) a = $1; if ($1 > b) b = $1 }
      $2 == "CgrouparchZooKeeperDown" && $1 >= tq && $4 == "inactive" && !c[$3]++ { m++; if ($1 > d) d = $1 }
      END { printf "firing for %d hosts, the first %.1f s and the last %.1f s after the stop; inactive for %d hosts, the last %.1f s after the restart", n, a - ts, b - ts, m, d - tq }' "$FL/alerts.log")"
  fi
  fl_end_check quorum
}

# ---------------------------------------------------------------- thundering herd
# A ~1 MB conf that stays cheap to apply: FLEET_HERD_CGROUPS cgroups with long names (each
# host creates them in cpu and cpuacct: 50 hosts x 100 x 2 = 10,000 mkdirs), the rest JSON
# whitespace. The bytes are what the ensemble fans out; the apply cost per host is that of a
# 100-cgroup conf (a 1 MB conf of real cgroups, ~4,000 of them, would make 400,000 cgroups on
# this one machine).
herd_conf() {
  /usr/bin/python3 - "$1" "$FLEET_HERD_CGROUPS" "$FLEET_HERD_BYTES" <<'EOF'
import json, sys
path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
subs = {("herd_%04d_" % i + "x" * 200): {"conf": {"share": 100 + i}} for i in range(n)}
text = json.dumps({"cpu": {"sub_cgroup": subs}}, indent=1)
pad = size - len(text) - 1
if pad > 0:
    # whitespace between the top-level key and its value: still the same JSON
    text = text.replace('"cpu":', '"cpu":' + " " * pad, 1)
open(path, "w").write(text + "\n")
EOF
}
herd_tree_ok() {
  local i n
  for ((i = 0; i < FLEET_N; i++)); do
    n=$(compgen -G "$CG_DIR/cpu/$FL_CGPREFIX-$i/herd_*" | wc -l)
    [ "$n" = "$FLEET_HERD_CGROUPS" ] || { t_diag "host $i has $n herd cgroups"; return 1; }
  done
}
# fl_retrans: TCP segments retransmitted in the hub namespace (the servers' side).
fl_retrans() { fl_hub cat /proc/net/snmp | awk '$1 == "Tcp:" && $2 ~ /^[0-9]+$/ { print $13 }'; }
# herd_spread V: when the hosts' snapshots reached V (first / median / last, from the write), and
# how long cg-syncd's apply itself took (its log's "in X ms").
herd_spread() {
  local v=$1 ap
  awk -v v="$v" -v ta="$(fl_us2s "$FL_PUT_TA")" '$3 == v && !seen[$2]++ { print ($1 - ta) * 1000 }' "$FL/events.log" |
    sort -n | awk '{ a[NR] = $1 } END { printf "# herd: snapshots from the write: first %.0f ms, median %.0f ms, last %.0f ms\n", a[1], a[int((NR + 1) / 2)], a[NR] }'
  ap=$(cat "$FL"/h*/syncd.log | sed -n "s/^<6>Applied version $v:.* in \([0-9]*\) ms.*/\1/p" | sort -n |
    awk '{ a[NR] = $1; s += $1 } END { printf "median %d ms, max %d ms, sum %d ms", a[int((NR + 1) / 2)], a[NR], s }')
  t_diag "herd: cg-syncd apply of version $v (100 cgroups created, unless an earlier attempt's version created them): $ap"
}
sc_herd() {
  local f=$FL/herd.json size cpu0 cpu1 tx0 tx1 rt0 rt1 v v0 t lost0 since=$EPOCHREALTIME
  herd_conf "$f"; size=$(stat -c %s "$f"); v0=$(zk_version)
  cpu0=$(fl_zk_cpu); tx0=$(fl_br_tx); rt0=$(fl_retrans); lost0=$(cat "$FL"/h*/syncd.log | grep -c "Lost the connection")
  t=$(now_ms)
  if ! fleet_change "$f"; then
    t_fail "herd: the $size-byte conf is written ($FL_PUT_OUT)"; return
  fi
  v=$FL_VERSION
  if wait_for 120 fleet_all_at "$v"; then
    t_ok "herd: every host applied the $size-byte conf (version $v) in $(ms_since "$t") ms"
  else
    t_fail "herd: every host applied the $size-byte conf"; t_diag "versions: $(cat "$FL/versions")"
  fi
  cpu1=$(fl_zk_cpu); tx1=$(fl_br_tx); rt1=$(fl_retrans)
  fleet_stats --since "$since"
  t_check "herd: every host has the $FLEET_HERD_CGROUPS cgroups" herd_tree_ok
  fig herd_conf_bytes "$size"
  fig herd_last_host_ms "$ST_max"
  fig herd_put_ms "$(( (FL_PUT_TA - FL_PUT_T0) / 1000 ))"
  fig herd_zk_cpu_ms "$(ticks_ms $((cpu1 - cpu0)))"
  fig herd_zk_bytes_sent "$((tx1 - tx0))"
  fig herd_tcp_retrans "$((rt1 - rt0))"
  fig herd_put_attempts "$FL_ATTEMPTS"
  fig herd_connections_lost "$(( $(cat "$FL"/h*/syncd.log | grep -c "Lost the connection") - lost0 ))"
  # A put that timed out after its write went through is retried: two versions, two fan-outs.
  [ "$FL_ATTEMPTS" = 1 ] || t_diag "herd: the put needed $FL_ATTEMPTS attempts (an attempt that timed out may still have written: $((v - v0 - 1)) extra versions)"
  t_diag "herd: ensemble CPU $(ticks_ms $((cpu1 - cpu0))) ms, $((tx1 - tx0)) bytes onto the bridge ($(( (tx1 - tx0) / FLEET_N )) per host), TCP segments retransmitted by the servers: $((rt1 - rt0))"
  herd_spread "$v"
  fleet_change && wait_for 60 fleet_all_at "$FL_VERSION"
  t_check "herd: back to the small conf everywhere (the herd cgroups removed by cg-syncd)" test $? = 0
  fl_end_check herd
}

# ---------------------------------------------------------------- the operators' dashboard
# contrib/grafana/cgrouparch-fleet.json: every PromQL expression of it (and its variable's
# label_values()) run against the fleet's Prometheus through the HTTP API must parse and return
# data (no Grafana needed). Grafana's variables are replaced as Grafana would: $job by the fleet's
# job, $__rate_interval by 10s (4 scrape intervals and more).
sc_dashboard() {
  local st title n expr bad=0 total=0
  if [ "$FLEET_PROM" = 0 ]; then t_skip "dashboard queries" "no Prometheus"; return; fi
  while IFS=$'\t' read -r st title n expr; do
    total=$((total + 1))
    if [ "$st" = ok ]; then
      t_ok "dashboard: \"$title\" answers ($n): $expr"
    else
      bad=$((bad + 1)); t_fail "dashboard: \"$title\": $n: $expr"
    fi
  done < <(fl_mon /usr/bin/python3 "$FLEET_DIR/fleet-dashboard.py" "$FL_PROM_URL" \
             "$TOP/contrib/grafana/cgrouparch-fleet.json" "$FL_PROM_JOB" 10s 2>&1)
  t_check "dashboard: its queries were found and run ($total)" test "$total" -gt 10
  fig dashboard_queries "$total"
  # what monitoring cost over the run: Prometheus (N targets every second, rules every second)
  # and the N cg-wsd answering its scrapes, in % of one core
  local ms=$(($(now_ms) - FL_MON_T0)) hz=$HZ
  fig prom_cpu_pct "$(awk -v t=$(($(fl_ticks "$FL_PROM_PID") - FL_MON_PROM0)) -v ms=$ms -v hz=$hz 'BEGIN { printf "%.1f", t * 100000 / hz / ms }')"
  fig wsd_cpu_pct_all_hosts "$(awk -v t=$(($(fl_ticks "${FL_WSD_PIDS[@]}") - FL_MON_WSD0)) -v ms=$ms -v hz=$hz 'BEGIN { printf "%.1f", t * 100000 / hz / ms }')"
}

# fl_alert_summary: every alert that fired during the run, by scenario (from fleet-alerts.py's
# log of /api/v1/alerts): which, for how many hosts, first and last firing from the scenario's
# start.
fl_alert_summary() {
  [ "$FLEET_PROM" != 0 ] && [ -f "$FL/alerts.log" ] || return 0
  awk 'FNR == NR { st[++n] = $1; nm[n] = $2; next }
       $4 == "firing" { s = "startup"; t0 = 0
                        for (i = 1; i <= n; i++) if ($1 >= st[i]) { s = nm[i]; t0 = st[i] }
                        k = s " " $2; if (!(k in c)) { order[++m] = k; a[k] = $1 - t0 }
                        if (!((k, $3) in h)) { h[k, $3] = 1; c[k]++ }
                        b[k] = $1 - t0 }
       END { if (!m) print "# alerts: none fired during the run"
             for (j = 1; j <= m; j++) { k = order[j]; split(k, f, " ")
               printf "# alerts: %s: %s firing for %d host(s)/job(s), from %.1f s to %.1f s after the scenario began\n", f[1], f[2], c[k], a[k], b[k] } }' \
    "$FL/scenarios.log" "$FL/alerts.log"
  # A version alert outside the partition is Prometheus itself starved: an evaluation sees the
  # sub-second skew of a change, the process is descheduled for seconds (scrapes included), and
  # the next evaluation, past `for:`, still sees it. Missed evaluations show such stalls.
  t_diag "alerts: Prometheus missed $(fl_mon curl -sf -m 5 "$FL_PROM_URL/metrics" |
    awk '/^prometheus_rule_group_iterations_missed_total/ { m += $2 } /^prometheus_rule_group_iterations_total/ { n += $2 }
         END { printf "%d of %d scheduled", m, n }') rule evaluations (1 s apart) for lack of CPU"
}
: > "$FL/scenarios.log"
for sc in $FLEET_SCENARIOS; do
  t_diag "---- $sc (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "$EPOCHREALTIME $sc" >> "$FL/scenarios.log"
  "sc_$sc"
done
fl_rejoin_check
fl_alert_summary
t_check "the ensemble's three servers are still running" bash -c "kill -0 ${FL_ZK_PIDS[*]}"
t_done
