# tests/lib.sh — shared helpers for the shell integration and e2e tests. Source it.
#
# Output is TAP-style lines counted by tests/run. Everything a test starts or creates is
# registered for cleanup, which runs on EXIT (also on failure or a signal): processes are
# stopped by pid, test cgroups removed (children first, their processes moved to the parent
# test root and then to the hierarchy's test root's parent only if the test started them).
set -u
TOP=${CGARCH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${CGARCH_BUILD:-$TOP/build}
PATH=$BUILD:$PATH
# Latency bounds are multiplied by this (3 in the ASan pass of tests/run, where programs run slower).
T_TF=${CGARCH_TIME_FACTOR:-1}
T_N=0
T_FAILED=0
T_TMP=$(mktemp -d /tmp/cgarch-test.XXXXXX)
T_PIDS=()
T_CLEANUP=()
T_CGROOTS=()

t_ok()   { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
t_fail() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP ${2:-}"; }
t_diag() { echo "# $*"; }
# t_need_root_v1 NAME: skips the whole test (one SKIP line named NAME) and exits unless it runs
# as root with the v1 cpu, cpuacct and blkio hierarchies mounted (what the placement tests use).
t_need_root_v1() {
  [ "$(id -u)" = 0 ] || { t_skip "$1" "needs root"; t_done; exit; }
  [ -d "$CG_DIR/cpu" ] && [ -d "$CG_DIR/cpuacct" ] && [ -d "$CG_DIR/blkio" ] ||
    { t_skip "$1" "needs v1 cpu, cpuacct, blkio"; t_done; exit; }
}
# t_check NAME CMD...: ok if CMD succeeds.
t_check() { local n=$1; shift; if "$@"; then t_ok "$n"; else t_fail "$n"; fi; }
# t_eq NAME GOT WANT
t_eq() {
  if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1"; t_diag "  got:  $2"; t_diag "  want: $3"; fi
}

# wait_for SECONDS CMD...: polls CMD every 10 ms until it succeeds (0) or the deadline (1).
# The deadline is SECONDS x T_TF: what a test waits for is the programs under test reacting, and
# in the sanitizer pass they are slower (a deadline that passes only makes a failing test slower).
wait_for() {
  local deadline=$(( $(date +%s%N) + ${1%.*} * T_TF * 1000000000 )); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(date +%s%N)" -ge "$deadline" ] && return 1
    sleep 0.01
  done
}

# at_exit CMD: registers a cleanup command (run in reverse order).
at_exit() { T_CLEANUP+=("$*"); }
# track PID: the process is stopped (TERM, then KILL) at exit.
track() { T_PIDS+=("$1"); }
stop_pid() {
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
  for i in $(seq 1 300); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }; sleep 0.01; done
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; return 0
}

# free_port: a free TCP port on loopback.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- cgroups ----
CG_DIR=${CG_DIR:-/sys/fs/cgroup}
CG_HIERS="cpu cpuacct blkio"
# cg_new_root: sets CGROOT to a fresh test root name (not yet created) and registers its removal
# in every hierarchy (v1 and unified) at exit.
cg_new_root() {
  CGROOT=cgrouparch-test-$$-${1:-$RANDOM}
  T_CGROOTS+=("$CGROOT")
}
# cg_rm_tree DIR: removes a test cgroup tree, deepest first. Processes still inside (only ours
# can be, since only our test root is touched) are moved to the hierarchy root's test parent
# — i.e. to DIR's parent — before rmdir.
cg_rm_tree() {
  local d=$1 parent c p
  [ -d "$d" ] || return 0
  case "$d" in */cgrouparch-test-*|*/cgrouparch-demo*) ;; *) echo "# refusing to remove $d" >&2; return 1 ;; esac
  parent=$(dirname "$d")
  # deepest first
  find "$d" -mindepth 1 -depth -type d 2>/dev/null | while read -r c; do
    if [ -f "$c/cgroup.procs" ]; then
      while read -r p; do echo "$p" > "$parent/cgroup.procs" 2>/dev/null; done < "$c/cgroup.procs"
    fi
    rmdir "$c" 2>/dev/null
  done
  if [ -f "$d/cgroup.procs" ]; then
    while read -r p; do echo "$p" > "$parent/cgroup.procs" 2>/dev/null; done < "$d/cgroup.procs"
  fi
  rmdir "$d" 2>/dev/null
  [ ! -d "$d" ]
}
# cg_cgexec_cpu PATH: the cgexec flags of the cpu tree on this host, as cgarch_cgexec_arg()
# prints them: "-g cpu:PATH", plus "-g cpuacct:PATH" where cpuacct is a v1 hierarchy apart from
# cpu (this machine kind).
cg_cgexec_cpu() {
  if awk '/ - cgroup cgroup / { n = split($NF, o, ","); c = a = 0
           for (i = 1; i <= n; i++) { c += o[i] == "cpu"; a += o[i] == "cpuacct" }
           if (c && a) co = 1; if (c) cpu = 1; if (a) acct = 1 }
         END { exit !(cpu && acct && !co) }' /proc/self/mountinfo; then
    echo "-g cpu:$1 -g cpuacct:$1"
  else
    echo "-g cpu:$1"
  fi
}
cg_cleanup_roots() {
  local r h
  for r in "${T_CGROOTS[@]}"; do
    for h in "$CG_DIR"/*/; do
      [ -d "$h$r" ] && cg_rm_tree "$h$r"
    done
  done
  return 0
}

# ---- ZooKeeper ----
ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:/usr/share/java/slf4j-api.jar
# start_zk [extra zoo.cfg lines...]: starts a private ZooKeeper; sets ZK_PORT ZK_PID ZK_HOSTS ZK_DIR.
# Superuser super:123456 is enabled.
start_zk() {
  ZK_DIR=$T_TMP/zk.$RANDOM; mkdir -p "$ZK_DIR/data"
  ZK_PORT=${ZK_PORT:-$(free_port)}
  {
    echo "tickTime=${ZK_TICK:-500}"; echo "dataDir=$ZK_DIR/data"; echo "clientPort=$ZK_PORT"
    echo "clientPortAddress=127.0.0.1"; echo "admin.enableServer=false"
    echo "minSessionTimeout=${ZK_MIN_SESSION:-1000}"; echo "maxSessionTimeout=60000"
    echo "4lw.commands.whitelist=ruok,srvr,stat,mntr"
    for l in "$@"; do echo "$l"; done
  } > "$ZK_DIR/zoo.cfg"
  java -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dzookeeper.DigestAuthenticationProvider.superDigest=super:BBO7K8dPkoek/JxIHqXxM75QRpI= \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_DIR/zoo.cfg" \
    >"$ZK_DIR/zk.log" 2>&1 &
  ZK_PID=$!; track $ZK_PID
  ZK_HOSTS=127.0.0.1:$ZK_PORT
  wait_for 30 zk_ruok || { echo "# ZooKeeper did not start"; cat "$ZK_DIR/zk.log" | tail -20; return 1; }
}
zk_ruok() { [ "$(echo ruok | timeout 2 nc -q1 -w1 127.0.0.1 "$ZK_PORT" 2>/dev/null)" = imok ]; }
# restart_zk: stops and starts the same server (same port, same data).
restart_zk() {
  stop_pid "$ZK_PID"
  java -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dzookeeper.DigestAuthenticationProvider.superDigest=super:BBO7K8dPkoek/JxIHqXxM75QRpI= \
    -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_DIR/zoo.cfg" \
    >>"$ZK_DIR/zk.log" 2>&1 &
  ZK_PID=$!; track $ZK_PID
  wait_for 30 zk_ruok
}

# ---- Redis ----
# start_redis [args...]: sets REDIS_PORT REDIS_PID.
start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    "$@" >"$T_TMP/redis.$REDIS_PORT.log" 2>&1 &
  REDIS_PID=$!; track $REDIS_PID
  wait_for 10 redis-cli -p "$REDIS_PORT" ping
}

# write_cfg FILE: writes a cgrouparch.conf from variables (CGROOT, ZK_HOSTS, REDIS_PORT, ...)
# plus any extra text on stdin appended.
write_cfg() {
  local f=$1
  {
    echo "[zookeeper]"
    echo "hosts = ${ZK_HOSTS:-127.0.0.1:2181}"
    echo "prefix = ${ZK_PREFIX:-/cgrouparch-test}"
    echo "auth = ${ZK_AUTH:-digest:super:123456}"
    echo "session_timeout_ms = ${ZK_SESSION_MS:-4000}"
    echo "[cgroup]"
    echo "dir = $CG_DIR"
    [ -z "${CGROOT:-}" ] || echo "root = $CGROOT"
    echo "mode = ${CG_MODE:-auto}"
    echo "[redis]"
    echo "port = ${REDIS_PORT:-6379}"
    echo "prefix = ${REDIS_PREFIX:-cgroup_arch}"
    echo "[daemon]"
    echo "runtime_dir = ${RUNTIME_DIR:-$T_TMP/run}"
    [ -t 0 ] || cat
  } > "$f"
}

t_finish() {
  local i p
  for ((i=${#T_CLEANUP[@]}-1; i>=0; i--)); do eval "${T_CLEANUP[$i]}" >/dev/null 2>&1; done
  for ((i=${#T_PIDS[@]}-1; i>=0; i--)); do stop_pid "${T_PIDS[$i]}"; done
  cg_cleanup_roots
  rm -rf "$T_TMP"
}
trap 't_finish' EXIT
trap 'exit 130' INT TERM

# Call at the end of a test script: prints the plan line and sets the exit status.
t_done() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }

SEED_CONF='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1024}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}'
