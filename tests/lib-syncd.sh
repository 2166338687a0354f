# tests/lib-syncd.sh — shared helpers of the cg-syncd integration tests and bench. Source it
# after nothing else (it sources lib.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ZKCTL=$BUILD/tests/tools/zk-ctl

# syncd_env: a private ZooKeeper, a test cgroup root, a runtime dir and a config file.
# Sets CFG NODE SNAP RUNTIME_DIR CGROOT (and ZK_* from start_zk). Extra config lines on stdin.
syncd_env() {
  start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
  cg_new_root
  RUNTIME_DIR=$T_TMP/run
  ZK_PREFIX=${ZK_PREFIX:-/cgrouparch-test/site}
  CFG=$T_TMP/cgrouparch.conf
  write_cfg "$CFG" </dev/null
  NODE=$ZK_PREFIX/arch_conf
  SNAP=$RUNTIME_DIR/arch_conf.json
}

# zkctl CMD PATH ...: as the ZooKeeper superuser.
zkctl() { "$ZKCTL" -a digest:super:123456 "$ZK_HOSTS" "$@"; }

# start_notify: a NOTIFY_SOCKET listener; every datagram becomes one line of $NOTIFY_LOG
# (newlines inside shown as " | ").
start_notify() {
  NOTIFY_LOG=$T_TMP/notify.log
  NOTIFY_SOCKET=$T_TMP/notify.sock
  : > "$NOTIFY_LOG"
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
f = open(sys.argv[2], "a", buffering=1)
while True:
    f.write(s.recv(65536).decode(errors="replace").replace("\n", " | ") + "\n")
' "$NOTIFY_SOCKET" "$NOTIFY_LOG" &
  track $!
  wait_for 5 test -S "$NOTIFY_SOCKET"
  export NOTIFY_SOCKET
}

# start_syncd [ARGS...]: cg-syncd in the background, log in $SYNCD_LOG, pid in $SYNCD_PID.
start_syncd() {
  SYNCD_LOG=${SYNCD_LOG:-$T_TMP/syncd.log}
  cg-syncd -c "$CFG" --reconcile-interval "${RECONCILE:-60}" "$@" >>"$SYNCD_LOG" 2>&1 &
  SYNCD_PID=$!
  track $SYNCD_PID
}

snap_version() { jq -r .version "$SNAP" 2>/dev/null; }
snap_is() { [ "$(snap_version)" = "$1" ]; }
# snap_has JQ-EXPR VALUE: the snapshot's jq expression equals VALUE.
snap_has() { [ "$(jq -c "$1" "$SNAP" 2>/dev/null)" = "$2" ]; }
cg_exists() { [ -d "$CG_DIR/$1/$CGROOT/$2" ]; }
cg_share() { cat "$CG_DIR/cpu/$CGROOT/$1/cpu.shares" 2>/dev/null; }
share_is() { [ "$(cg_share "$1")" = "$2" ]; }
# tree_dump: every directory of the test root in cpu, cpuacct and blkio with its weights.
tree_dump() {
  local h d c
  for h in cpu cpuacct blkio; do
    d=$CG_DIR/$h/$CGROOT
    [ -d "$d" ] || continue
    (cd "$d" && find . -mindepth 1 -type d | sort | while read -r c; do
      printf '%s %s %s\n' "$h" "$c" "$(cat "$c/cpu.shares" "$c/blkio.bfq.weight" 2>/dev/null | tr '\n' ' ')"
    done)
  done
}
log_has() { grep -q -- "$1" "$SYNCD_LOG"; }
log_count() { grep -c -- "$1" "$SYNCD_LOG"; }
notify_has() { grep -q -- "$1" "$NOTIFY_LOG"; }
alive() { kill -0 "$SYNCD_PID" 2>/dev/null; }
# syncd_stop: SIGTERM and wait; sets SYNCD_RC.
syncd_stop() {
  kill -TERM "$SYNCD_PID" 2>/dev/null
  wait "$SYNCD_PID"; SYNCD_RC=$?
}
