# tests/fleet/lib-fleet.sh — a fleet on one machine (issue 17): a 3-server ZooKeeper ensemble
# and FLEET_N simulated hosts, each a network namespace of its own. Source it (it sources
# tests/lib.sh).
#
# Network: everything lives in namespaces this test makes and deletes; the machine's own network
# namespace gets no address, route or interface.
#   cgfleet-<pid>-hub   a bridge br0 holding 10.213.0.1/16, and the three ZooKeeper servers
#                       (client ports 2181-2183 on 10.213.0.1, quorum ports on its own loopback)
#   cgfleet-<pid>-<i>   host i: eth0 = 10.213.x.y/16, a veth whose peer v<i> is a port of br0;
#                       mgmt0 = 10.214.x.y/16 (the management network, below), where its
#                       cg-wsd listens; its own loopback for redis
#   cgfleet-<pid>-mon   the management network: a bridge br0 holding 10.214.0.1/16 (ports m<i>)
#                       and Prometheus (on the namespace's own loopback, 127.0.0.1:9090), which
#                       scrapes every host's cg-wsd /metrics over it. A partition pulls a host's
#                       cable to the ZooKeeper network only: a host that Prometheus cannot scrape
#                       has no conf version to compare (its series go stale), so the skew alert
#                       could not see it — monitoring over a separate network is what real
#                       fleets do too.
# Processes enter a namespace with `nsenter --net=` (network namespace only), not `ip netns
# exec`: the latter also remounts /sys, which would hide /sys/fs/cgroup from the daemons.
#
# Each host runs cg-syncd (with a NOTIFY_SOCKET) under its own managed root
# cgrouparch-fleet-<pid>-<i> and cg-wsd (bound to its mgmt0 address, with a token: it serves
# /metrics to Prometheus); the first FLEET_FULL hosts also run redis-server, cg-taskd and
# cg-accountd (the full set on every one of 50 hosts would not fit on 2 shared cores, and the
# ZooKeeper side, which is what the fleet measures, only sees cg-syncd). cg-wsd on the hosts
# without Redis serves its own and cg-syncd's metrics and reports Redis as down.
# One fleet-watch.py process follows every host's snapshot and STATUS=.
#
# Teardown (EXIT trap, also on failure): every process by pid, the namespaces, the cgroup roots.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
FLEET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLEET_N=${FLEET_N:-50}
FLEET_FULL=${FLEET_FULL:-2}
FLEET_TICK=${FLEET_TICK:-500}
FLEET_SESSION_MS=${FLEET_SESSION_MS:-4000}
FLEET_ZK_HEAP=${FLEET_ZK_HEAP:-128m}
FL_ID=cgfleet-$$
FL_HUB=$FL_ID-hub
FL_MON=$FL_ID-mon
FL_MON_ADDR=10.214.0.1
FL_WSD_PORT=43409
FL_WSD_TOKEN=fleet-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
# Prometheus (FLEET_PROM=0: none): scrape and rule evaluation every second; the alerts the
# scenarios expect (version skew, the lagging host, ZooKeeper down) get FLEET_ALERT_FOR as their
# `for:` instead of the shipped 2m/5m, and the version alerts FLEET_ALERT_WINDOW as the age a
# version must have before a host without it is "behind" (shipped: 3m), so that they fire
# within a partition of 3x the session timeout.
FLEET_PROM=${FLEET_PROM:-1}
FLEET_ALERT_FOR=${FLEET_ALERT_FOR:-1s}
FLEET_ALERT_WINDOW=${FLEET_ALERT_WINDOW:-3s}
FL_PROM_JOB=cgrouparch
FL_PROM_PID=
FL_ALERTS_PID=
FL=$T_TMP/fleet
FL_ZK_ADDR=10.213.0.1
FL_ZK_PORTS=(2181 2182 2183)
FL_ZK_HOSTS=$FL_ZK_ADDR:2181,$FL_ZK_ADDR:2182,$FL_ZK_ADDR:2183
FL_PREFIX=/cgfleet
FL_HOST_AUTH=digest:host:hostpw
FL_ADMIN_AUTH=digest:admin:adminpw
FL_ZK_PIDS=(0 0 0)
FL_SYNCD_PIDS=()
FL_WSD_PIDS=()
FL_OTHER_PIDS=()
FL_NETNS=()
FL_WATCH_PID=
FL_CGPREFIX=cgrouparch-fleet-$$
mkdir -p "$FL"

# now_ms: wall clock in ms, without a fork.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# fl_ns NS CMD...: runs CMD in network namespace NS (nothing else changes).
fl_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
fl_hub() { fl_ns "$FL_HUB" "$@"; }
fl_mon() { fl_ns "$FL_MON" "$@"; }
fl_host_ns() { echo "$FL_ID-$1"; }
fl_host_ip() { echo "10.213.$(($1 / 200 + 1)).$(($1 % 200 + 2))"; }
fl_host_mip() { echo "10.214.$(($1 / 200 + 1)).$(($1 % 200 + 2))"; }

# ---- teardown ----
# fl_rm_tree DIR: removes the cgroup DIR and its descendants, deepest first, moving any process
# left in them to DIR's parent. No fork per cgroup: it runs for hundreds of them on a loaded
# machine.
fl_rm_tree() {
  local d=$1
  [ -d "$d" ] || return 0
  case "$d" in */cgrouparch-fleet-$$-*) ;; *) echo "# refusing to remove $d" >&2; return 1 ;; esac
  fl_rm_rec "$d" "${d%/*}"
  [ ! -d "$d" ]
}
fl_rm_rec() {
  local d=$1 top=$2 c p
  for c in "$d"/*/; do [ -d "$c" ] && fl_rm_rec "${c%/}" "$top"; done
  if [ -f "$d/cgroup.procs" ]; then
    while read -r p; do echo "$p" > "$top/cgroup.procs"; done < "$d/cgroup.procs" 2>/dev/null
  fi
  rmdir "$d" 2>/dev/null
}
# fl_stop_all PID...: TERM to all at once, then KILL after 5 s for what is left.
fl_stop_all() {
  local p i left
  for p in "$@"; do [ "$p" -gt 0 ] 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 1 500); do
    left=0
    for p in "$@"; do [ "$p" -gt 0 ] 2>/dev/null && kill -0 "$p" 2>/dev/null && left=1; done
    [ $left = 0 ] && break
    sleep 0.01
  done
  for p in "$@"; do [ "$p" -gt 0 ] 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  for p in "$@"; do [ "$p" -gt 0 ] 2>/dev/null && wait "$p" 2>/dev/null; done
  return 0
}
fleet_teardown() {
  local ns h d p pids=()
  fl_stop_all "${FL_OTHER_PIDS[@]}" "${FL_SYNCD_PIDS[@]}"
  fl_stop_all "${FL_ZK_PIDS[@]}" ${FL_WATCH_PID:-0} ${FL_PROM_PID:-0} ${FL_ALERTS_PID:-0}
  for ns in "${FL_NETNS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  # One remover per hierarchy, in parallel: an rmdir of a cgroup waits ~25 ms in the kernel
  # here, and the trees of 50 hosts hold hundreds of cgroups.
  for h in "$CG_DIR"/*/; do
    ( for d in "$h"$FL_CGPREFIX-*; do [ -d "$d" ] && fl_rm_tree "${d%/}"; done ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  return 0
}
at_exit fleet_teardown

# ---- network ----
# fl_bridge_ns NS ADDR: a namespace holding a bridge br0 with ADDR/16.
fl_bridge_ns() {
  ip netns add "$1" || return 1
  FL_NETNS+=("$1")
  ip -n "$1" link set lo up &&
    ip -n "$1" link add br0 type bridge &&
    ip -n "$1" addr add "$2/16" dev br0 &&
    ip -n "$1" link set br0 up
}
fleet_net_up() { fl_bridge_ns "$FL_HUB" "$FL_ZK_ADDR" && fl_bridge_ns "$FL_MON" "$FL_MON_ADDR"; }
# fleet_host_net I: namespace, veth pairs (v<I> on the hub's bridge / eth0 in the host, m<I> on
# the management bridge / mgmt0 in the host), addresses. `ip -batch` per namespace: a fork per
# command would cost seconds on a loaded machine.
fleet_host_net() {
  local i=$1 ns
  ns=$(fl_host_ns "$i")
  ip netns add "$ns" || return 1
  FL_NETNS+=("$ns")
  ip -n "$FL_HUB" link add "v$i" type veth peer name eth0 netns "$ns" &&
    ip -n "$FL_MON" link add "m$i" type veth peer name mgmt0 netns "$ns" &&
    ip -n "$FL_HUB" -batch - <<<"link set v$i master br0
link set v$i up" &&
    ip -n "$FL_MON" -batch - <<<"link set m$i master br0
link set m$i up" &&
    ip -n "$ns" -batch - <<EOF
link set lo up
addr add $(fl_host_ip "$i")/16 dev eth0
link set eth0 up
addr add $(fl_host_mip "$i")/16 dev mgmt0
link set mgmt0 up
EOF
}
# fleet_cut I / fleet_heal I: the host's cable, pulled at the bridge side.
fleet_cut() { ip -n "$FL_HUB" link set "v$1" down; }
fleet_heal() { ip -n "$FL_HUB" link set "v$1" up; }
# fl_br_tx: bytes the hub (the ensemble) sent onto the bridge.
fl_br_tx() { fl_hub cat /proc/net/dev | awk '$1 == "br0:" { print $10 }'; }

# ---- ZooKeeper ensemble ----
fl_zk_cfg() {
  local s=$1 d=$FL/zk$1
  mkdir -p "$d/data"
  echo "$s" > "$d/data/myid"
  {
    echo "tickTime=$FLEET_TICK"; echo "initLimit=10"; echo "syncLimit=5"
    echo "dataDir=$d/data"; echo "clientPort=${FL_ZK_PORTS[$((s - 1))]}"
    echo "clientPortAddress=$FL_ZK_ADDR"; echo "admin.enableServer=false"
    echo "minSessionTimeout=1000"; echo "maxSessionTimeout=60000"
    echo "4lw.commands.whitelist=ruok,srvr,stat,mntr"; echo "maxClientCnxns=0"
    echo "autopurge.purgeInterval=0"
    for k in 1 2 3; do echo "server.$k=127.0.0.1:$((2887 + k)):$((3887 + k))"; done
  } > "$d/zoo.cfg"
}
# fleet_zk_start S: starts server S (1..3) in the hub namespace; FL_ZK_PIDS[S-1].
fleet_zk_start() {
  local s=$1 d=$FL/zk$1
  [ -f "$d/zoo.cfg" ] || fl_zk_cfg "$s"
  # nsenter directly (not through fl_ns) so that $! is the server itself
  nsenter --net="/run/netns/$FL_HUB" -- java -Xmx$FLEET_ZK_HEAP -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dzookeeper.DigestAuthenticationProvider.superDigest=super:BBO7K8dPkoek/JxIHqXxM75QRpI= \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dzookeeper.fastleader.maxNotificationInterval=1000 \
    -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" \
    >>"$d/zk.log" 2>&1 &
  FL_ZK_PIDS[$((s - 1))]=$!
}
fleet_zk_kill() { local p=${FL_ZK_PIDS[$(($1 - 1))]}; kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; FL_ZK_PIDS[$(($1 - 1))]=0; }
fleet_zk_stop() { local p=${FL_ZK_PIDS[$(($1 - 1))]}; fl_stop_all "$p"; FL_ZK_PIDS[$(($1 - 1))]=0; }
# fl_4lw S CMD: a four-letter word to server S.
fl_4lw() { echo "$2" | fl_hub timeout 3 nc -N -w2 "$FL_ZK_ADDR" "${FL_ZK_PORTS[$(($1 - 1))]}" 2>/dev/null; }
fleet_zk_mode() { fl_4lw "$1" srvr | sed -n 's/^Mode: //p'; }
# fleet_zk_leader: the number of the server in Mode: leader (empty if none).
fleet_zk_leader() {
  local s
  for s in 1 2 3; do [ "$(fleet_zk_mode "$s")" = leader ] && { echo "$s"; return 0; }; done
  return 1
}
# fl_zk_serving S: server S is part of a working quorum.
fl_zk_serving() { case "$(fleet_zk_mode "$1")" in leader|follower) return 0 ;; esac; return 1; }
fl_zk_quorum() {
  local s n=0 l=0 m
  for s in 1 2 3; do
    m=$(fleet_zk_mode "$s")
    case "$m" in leader) l=$((l + 1)); n=$((n + 1)) ;; follower) n=$((n + 1)) ;; esac
  done
  [ $l = 1 ] && [ $n -ge "${1:-3}" ]
}
# fl_ticks PID...: clock ticks (utime+stime) of the processes, summed.
fl_ticks() {
  local p s=0 f
  for p; do
    [ "$p" -gt 0 ] 2>/dev/null && [ -r "/proc/$p/stat" ] || continue
    read -r -a f < "/proc/$p/stat"
    # fields 14, 15 (1-based) after a comm without spaces (java, prometheus, cg-wsd)
    s=$((s + f[13] + f[14]))
  done
  echo $s
}
# fl_zk_cpu: clock ticks of the three servers.
fl_zk_cpu() { fl_ticks "${FL_ZK_PIDS[@]}"; }
# fl_zk_mntr KEY: sum of a mntr figure over the serving servers.
fl_zk_mntr() {
  local s t=0 v
  for s in 1 2 3; do
    v=$(fl_4lw "$s" mntr | awk -v k="$1" '$1 == k { print $2 }')
    t=$((t + ${v:-0}))
  done
  echo $t
}

# ---- hosts ----
fl_host_dir() { echo "$FL/h$1"; }
fl_host_cfg() {
  local i=$1 d
  d=$(fl_host_dir "$i")
  mkdir -p "$d/run"
  ZK_HOSTS=$FL_ZK_HOSTS ZK_PREFIX=$FL_PREFIX ZK_AUTH=$FL_HOST_AUTH \
    ZK_SESSION_MS=$FLEET_SESSION_MS CGROOT=$FL_CGPREFIX-$i REDIS_PORT=6379 RUNTIME_DIR=$d/run \
    write_cfg "$d/cgrouparch.conf" <<EOF
[wsd]
bind = $(fl_host_mip "$i")
port = $FL_WSD_PORT
token = $FL_WSD_TOKEN
www_dir = $TOP/www
EOF
}
# fleet_host_start I: cg-syncd and cg-wsd (and the full set for I < FLEET_FULL) inside host I's
# namespace.
fleet_host_start() {
  local i=$1 d ns
  d=$(fl_host_dir "$i"); ns=$(fl_host_ns "$i")
  NOTIFY_SOCKET=$d/run/notify.sock nsenter --net="/run/netns/$ns" -- "$BUILD/cg-syncd" -c "$d/cgrouparch.conf" \
    --reconcile-interval 600 >>"$d/syncd.log" 2>&1 &
  FL_SYNCD_PIDS[$i]=$!
  nsenter --net="/run/netns/$ns" -- "$BUILD/cg-wsd" -c "$d/cgrouparch.conf" >>"$d/wsd.log" 2>&1 &
  FL_OTHER_PIDS+=($!); FL_WSD_PIDS+=($!)
  [ "$i" -lt "$FLEET_FULL" ] || return 0
  nsenter --net="/run/netns/$ns" -- redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no >"$d/redis.log" 2>&1 &
  FL_OTHER_PIDS+=($!)
  # Redis first: cg-accountd started before it answers counts its first samples as dropped,
  # and CgrouparchSamplesDropped would fire a minute later for the harness's own start.
  wait_for 10 fl_redis_up "$i"
  nsenter --net="/run/netns/$ns" -- "$BUILD/cg-taskd" -c "$d/cgrouparch.conf" >>"$d/taskd.log" 2>&1 &
  FL_OTHER_PIDS+=($!)
  nsenter --net="/run/netns/$ns" -- "$BUILD/cg-accountd" -c "$d/cgrouparch.conf" >>"$d/accountd.log" 2>&1 &
  FL_OTHER_PIDS+=($!)
}
fl_redis_up() { [ "$(fl_ns "$(fl_host_ns "$1")" redis-cli -p 6379 ping 2>/dev/null)" = PONG ]; }
# fleet_full_ok I: the full set of host I answers (redis ping, cg-wsd /healthz: 200 once it has
# its Redis connection).
fleet_full_ok() {
  local ns
  ns=$(fl_host_ns "$1")
  [ "$(fl_ns "$ns" redis-cli -p 6379 ping 2>/dev/null)" = PONG ] &&
    fl_ns "$ns" curl -sf -o /dev/null -m 2 "http://$(fl_host_mip "$1"):$FL_WSD_PORT/healthz"
}
# fleet_metrics I: host I's cg-wsd /metrics, fetched over the management network.
fleet_metrics() {
  fl_mon curl -sf -m 3 -H "Authorization: Bearer $FL_WSD_TOKEN" "http://$(fl_host_mip "$1"):$FL_WSD_PORT/metrics"
}
# fleet_alive: every host's cg-syncd (and the full sets) still run; names the dead ones.
fleet_alive() {
  local i p dead=""
  for i in "${!FL_SYNCD_PIDS[@]}"; do kill -0 "${FL_SYNCD_PIDS[$i]}" 2>/dev/null || dead+=" syncd$i"; done
  for p in "${FL_OTHER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || dead+=" pid$p"; done
  FL_DEAD=$dead
  [ -z "$dead" ]
}

# ---- Prometheus (in the management namespace) ----
FL_PROM_URL=http://127.0.0.1:9090
# fl_prom_rules OUT: the shipped rules with FLEET_ALERT_FOR as the `for:` of the alerts the
# scenarios expect to fire and FLEET_ALERT_WINDOW as the version alerts' window (the other
# alerts keep theirs). Fails if the shipped file no longer has what it replaces.
fl_prom_rules() {
  awk -v f="$FLEET_ALERT_FOR" -v w="$FLEET_ALERT_WINDOW" '
    /- alert: / { a = $NF }
    /^ *for: / && a ~ /^Cgrouparch(ConfVersionSkew|ConfVersionBehind|ZooKeeperDown)$/ { sub(/for: .*/, "for: " f); nf++ }
    a ~ /^CgrouparchConfVersion/ && /\[3m:\]/ { gsub(/\[3m:\]/, "[" w ":]"); nw++ }
    { print }
    END { exit !(nf == 3 && nw == 2) }' "$TOP/contrib/prometheus/cgrouparch.rules.yml" > "$1"
}
# fleet_prom_start: Prometheus scraping every host's cg-wsd (job cgrouparch, a `host` label per
# target, the token as a Bearer credential), scrape and evaluation every second, the rules
# loaded; then fleet-alerts.py logging each alert's state changes to $FL/alerts.log.
fleet_prom_start() {
  local d=$FL/prom i
  mkdir -p "$d/data"
  printf '%s' "$FL_WSD_TOKEN" > "$d/token"
  fl_prom_rules "$d/cgrouparch.rules.yml" || { echo "# the shipped rules changed: no for:/[3m:] to shorten"; return 1; }
  {
    echo "global:"
    echo "  scrape_interval: 1s"
    echo "  scrape_timeout: 1s"
    echo "  evaluation_interval: 1s"
    echo "rule_files:"
    echo "  - $d/cgrouparch.rules.yml"
    echo "scrape_configs:"
    echo "  - job_name: $FL_PROM_JOB"
    echo "    authorization:"
    echo "      type: Bearer"
    echo "      credentials_file: $d/token"
    echo "    static_configs:"
    for ((i = 0; i < FLEET_N; i++)); do
      echo "      - targets: ['$(fl_host_mip "$i"):$FL_WSD_PORT']"
      echo "        labels: { host: h$i }"
    done
  } > "$d/prometheus.yml"
  nsenter --net="/run/netns/$FL_MON" -- prometheus --config.file="$d/prometheus.yml" \
    --storage.tsdb.path="$d/data" --web.listen-address=127.0.0.1:9090 --log.level=warn \
    >"$d/log" 2>&1 &
  FL_PROM_PID=$!
}
fl_prom_ready() { fl_mon curl -sf -m 2 -o /dev/null "$FL_PROM_URL/-/ready"; }
# fleet_prom_wait: Prometheus answers, every target is up, the rules are loaded and healthy;
# then the alert logger starts.
fleet_prom_wait() {
  wait_for 60 fl_prom_ready || { echo "# prometheus not ready"; tail -5 "$FL/prom/log"; return 1; }
  wait_for 30 fl_prom_eq "count(up{job=\"$FL_PROM_JOB\"} == 1)" "$FLEET_N" ||
    { echo "# not every target up: $(fl_prom_val "count(up == 1)")"; return 1; }
  nsenter --net="/run/netns/$FL_MON" -- /usr/bin/python3 "$FLEET_DIR/fleet-alerts.py" "$FL_PROM_URL" \
    "$FL/alerts.log" 2>"$FL/alerts.err" &
  FL_ALERTS_PID=$!
  # the monitoring's own CPU from here on (see sc_dashboard)
  FL_MON_T0=$(now_ms); FL_MON_PROM0=$(fl_ticks "$FL_PROM_PID"); FL_MON_WSD0=$(fl_ticks "${FL_WSD_PIDS[@]}")
}
# fl_prom_api PATH [curl -G args]: a GET on Prometheus's HTTP API (JSON on stdout).
fl_prom_api() { local p=$1; shift; fl_mon curl -sf -m 5 -G "$FL_PROM_URL/api/v1/$p" "$@"; }
# fl_prom_query PROMQL: the instant query's JSON.
fl_prom_query() { fl_prom_api query --data-urlencode "query=$1"; }
# fl_prom_val PROMQL: the first result's value ("" when none).
fl_prom_val() { fl_prom_query "$1" | jq -r '.data.result[0].value[1] // empty'; }
fl_prom_eq() { [ "$(fl_prom_val "$1")" = "$2" ]; }
# fl_alert_is NAME STATE [HOST]: /api/v1/alerts lists alert NAME in STATE (pending, firing)
# (for HOST's target only, when given).
fl_alert_is() {
  fl_prom_api alerts | jq -e --arg n "$1" --arg s "$2" --arg h "${3:-}" \
    '[.data.alerts[] | select(.labels.alertname == $n and .state == $s and ($h == "" or .labels.host == $h))] | length > 0' >/dev/null
}
# fl_alert_gone NAME: neither /api/v1/alerts nor the ALERTS series has alert NAME, pending or firing.
fl_alert_gone() {
  fl_prom_api alerts | jq -e --arg n "$1" '[.data.alerts[] | select(.labels.alertname == $n)] | length == 0' >/dev/null &&
    fl_prom_query "ALERTS{alertname=\"$1\"}" | jq -e '.status == "success" and (.data.result | length == 0)' >/dev/null
}
# fl_alert_log_first NAME STATE SINCE [HOST]: epoch (s, fractional) of the first line of
# alerts.log after SINCE that puts NAME (of HOST) in STATE; empty if none.
fl_alert_log_first() {
  awk -v n="$1" -v s="$2" -v t="$3" -v h="${4:-}" \
    '$1 >= t && $2 == n && $4 == s && (h == "" || $3 == h) { print $1; exit }' "$FL/alerts.log" 2>/dev/null
}

# fleet_up: network, ensemble, watcher, the admin's first put (version 0), the hosts, Prometheus.
# The hosts' namespaces are made while the ZooKeeper JVMs start.
fleet_up() {
  local i dirs=() s
  fleet_net_up || return 1
  local t=$(now_ms) tn
  for s in 1 2 3; do fleet_zk_start "$s"; done
  for ((i = 0; i < FLEET_N; i++)); do
    fleet_host_net "$i" || { echo "# host $i network failed"; return 1; }
    fl_host_cfg "$i"
    dirs+=("$(fl_host_dir "$i")/run")
  done
  FL_T_NET=$(($(now_ms) - t))
  [ "$FLEET_PROM" = 0 ] || fleet_prom_start || return 1
  wait_for 60 fl_zk_quorum 3 || { echo "# ensemble did not form"; tail -5 "$FL"/zk*/zk.log; return 1; }
  FL_T_ZK=$(($(now_ms) - t)); t=$(now_ms)
  : > "$FL/events.log"; : > "$FL/puts.log"
  /usr/bin/python3 "$FLEET_DIR/fleet-watch.py" "$FL" "${dirs[@]}" 2>"$FL/watch.err" &
  FL_WATCH_PID=$!
  wait_for 10 test -f "$FL/watch.ready" || { echo "# watcher failed"; cat "$FL/watch.err"; return 1; }
  # The admin's config: the ensemble, the host identity and the admin identity.
  ZK_HOSTS=$FL_ZK_HOSTS ZK_PREFIX=$FL_PREFIX ZK_AUTH=$FL_HOST_AUTH ZK_SESSION_MS=10000 \
    CGROOT=$FL_CGPREFIX-admin RUNTIME_DIR=$FL/admin write_cfg "$FL/admin.conf" <<EOF
[zookeeper]
admin_auth = $FL_ADMIN_AUTH
EOF
  FL_SHARE=100
  fleet_put || { echo "# first put failed: $FL_PUT_OUT"; return 1; }
  for ((i = 0; i < FLEET_N; i++)); do fleet_host_start "$i"; done
  wait_for 60 fleet_all_at "$FL_VERSION" || { echo "# hosts did not all apply version $FL_VERSION: $(cat "$FL/versions")"; return 1; }
  FL_T_HOSTS=$(($(now_ms) - t))
  for ((i = 0; i < FLEET_FULL && i < FLEET_N; i++)); do
    wait_for 20 fleet_full_ok "$i" || { echo "# host $i full set not answering"; return 1; }
  done
  [ "$FLEET_PROM" = 0 ] || fleet_prom_wait || return 1
}

# ---- changes ----
# fl_conf SHARE [FILE]: a small conf whose weight changes with SHARE.
fl_conf() {
  printf '{"cpu": {"sub_cgroup": {"web": {"conf": {"share": %d}}, "batch": {"conf": {"share": 100}, "sub_cgroup": {"low": {"conf": {"share": 50}}}}}}, "blkio": {"sub_cgroup": {"web": {"conf": {"weight": 500}}}}}\n' \
    "$1" > "${2:-$FL/conf.json}"
}
# fleet_put [FILE]: one `cgarch conf put` by the admin from the hub (FILE default: a new small
# conf, the next share). Sets FL_VERSION, FL_PUT_OUT and the times in µs: FL_PUT_T0 (start),
# FL_PUT_TA (its "wrote ... version N" line: the write is acknowledged), FL_PUT_T1 (exit).
fleet_put() {
  local f=${1:-} line rc=1
  if [ -z "$f" ]; then
    FL_SHARE=$((FL_SHARE + 1)); [ $FL_SHARE -gt 10000 ] && FL_SHARE=101
    fl_conf "$FL_SHARE"; f=$FL/conf.json
  fi
  FL_PUT_OUT=""; FL_PUT_TA=""; FL_VERSION=""
  FL_PUT_T0=${EPOCHREALTIME/./}
  while IFS= read -r line; do
    case $line in
      "cgarch: wrote "*) FL_PUT_TA=${EPOCHREALTIME/./}
                         [[ $line =~ version\ ([0-9]+) ]] && FL_VERSION=${BASH_REMATCH[1]} ;;
      "rc="*) rc=${line#rc=}; continue ;;
    esac
    FL_PUT_OUT+=$line" "
  done < <(nsenter --net="/run/netns/$FL_HUB" -- "$BUILD/cgarch" -c "$FL/admin.conf" conf put "$f" 2>&1; echo "rc=$?")
  FL_PUT_T1=${EPOCHREALTIME/./}
  [ "$rc" = 0 ] && [ -n "$FL_VERSION" ] && [ -n "$FL_PUT_TA" ]
}
fl_us2s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
# fleet_change [FILE]: a put retried until it succeeds (60 s at most), logged in puts.log with
# its first attempt's start. Sets FL_ATTEMPTS.
fleet_change() {
  local t0="" deadline=$(($(now_ms) + 60000))
  FL_ATTEMPTS=0
  while :; do
    FL_ATTEMPTS=$((FL_ATTEMPTS + 1))
    if fleet_put "$@"; then
      [ -n "$t0" ] || t0=$FL_PUT_T0
      echo "$FL_VERSION $(fl_us2s "$t0") $(fl_us2s "$FL_PUT_TA") $(fl_us2s "$FL_PUT_T1") $FL_ATTEMPTS" >> "$FL/puts.log"
      return 0
    fi
    [ -n "$t0" ] || t0=$FL_PUT_T0
    [ "$(now_ms)" -lt $deadline ] || return 1
    sleep 0.1
  done
}
# fleet_all_at V [EXCLUDE...]: every host's snapshot is at version >= V (except the hosts named).
fleet_all_at() {
  local want=$1 i v; shift
  local -a vs
  read -r -a vs < "$FL/versions" || return 1
  for i in "${!vs[@]}"; do
    case " $* " in *" $i "*) continue ;; esac
    [ "${vs[$i]}" -ge "$want" ] || return 1
  done
  [ "${#vs[@]}" -eq "$FLEET_N" ]
}
# fleet_stream COUNT PACE_S [EXCLUDE...]: COUNT changes (0: until $FL/stop exists), each waited
# for on every host (but the excluded ones, 60 s at most), PACE_S apart. Returns 1 if a change
# never went through.
fleet_stream() {
  local n=$1 pace=$2 k; shift 2
  for ((k = 0; n == 0 || k < n; k++)); do
    [ "$n" = 0 ] && [ -e "$FL/stop" ] && break
    fleet_change || { echo "# put failed for 60 s: $FL_PUT_OUT"; return 1; }
    wait_for 60 fleet_all_at "$FL_VERSION" "$@" || { echo "# version $FL_VERSION not everywhere: $(cat "$FL/versions")"; return 1; }
    sleep "$pace"
  done
}
# fleet_stats [--exclude I,J] [--since EPOCH]: fleet-stats.py over puts.log/events.log; sets
# ST_<key> variables.
fleet_stats() {
  local k v
  while read -r k v; do printf -v "ST_$k" '%s' "$v"; done \
    < <(/usr/bin/python3 "$FLEET_DIR/fleet-stats.py" "$FL/puts.log" "$FL/events.log" "$FLEET_N" "$@")
}
# fleet_status I: host I's last STATUS= (from its NOTIFY_SOCKET).
fleet_status() { sed -n "s/^$1 //p" "$FL/status"; }
# fleet_all_status_has TEXT [EXCLUDE...]: every host's last STATUS= contains TEXT.
fleet_all_status_has() {
  local t=$1 i s; shift
  for ((i = 0; i < FLEET_N; i++)); do
    case " $* " in *" $i "*) continue ;; esac
    s=$(fleet_status "$i"); case "$s" in *"$t"*) ;; *) return 1 ;; esac
  done
}
# fleet_applied_in_order: every cg-syncd log's "Applied version N" lines increase; sets FL_ORDER_BAD.
fleet_applied_in_order() {
  local i bad=""
  for ((i = 0; i < FLEET_N; i++)); do
    sed -n 's/^<6>Applied version \([0-9]*\):.*/\1/p' "$(fl_host_dir "$i")/syncd.log" |
      awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' || bad+=" $i"
  done
  FL_ORDER_BAD=$bad
  [ -z "$bad" ]
}
