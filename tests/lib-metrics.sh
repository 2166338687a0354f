# tests/lib-metrics.sh — the whole host for the health-metrics tests: a private ZooKeeper and
# Redis, cg-syncd, cg-accountd, cg-taskd (one pid-file rule, one test service) and cg-wsd on a
# test-owned cgroup root, all with one runtime dir ($RUNTIME_DIR, .prom files in
# $RUNTIME_DIR/metrics). Source after lib-syncd.sh (which sources lib.sh).
. "$TOP/tests/lib-wsd.sh"
. "$TOP/tests/lib-accountd.sh"

MDIR_OF() { echo "$RUNTIME_DIR/metrics"; }

# prom_value FILE SERIES: the value of SERIES (name plus labels, exactly as written) in FILE.
prom_value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1" 2>/dev/null; }
# prom_is FILE SERIES VALUE
prom_is() { [ "$(prom_value "$1" "$2")" = "$3" ]; }
# prom_ge FILE SERIES N: the value is a number >= N
prom_ge() { local v; v=$(prom_value "$1" "$2") && awk -v v="$v" -v n="$3" 'BEGIN { exit !(v + 0 >= n + 0) }'; }

# metrics_host_up: everything running; sets CFG (shared by the daemons), WSD_PORT, SVC_PID.
metrics_host_up() {
  syncd_env
  start_redis || return 1
  export REDIS_PORT
  mkdir -p "$RUNTIME_DIR" "$T_TMP/pids"
  CFG=$T_TMP/cgrouparch.conf
  printf '[taskd]\ninterval = 1\n[pid_files]\ntest_cgroup_a = %s\n' "$T_TMP/pids/a.pid" | write_cfg "$CFG"
  zkctl create "$NODE" "$SEED_CONF" >/dev/null || return 1
  RECONCILE=2 start_syncd
  wait_for 15 snap_is 0 || { echo "# cg-syncd applied nothing"; tail -20 "$SYNCD_LOG"; return 1; }
  ACFG=$CFG
  acctd_start
  TASKD_LOG=$T_TMP/taskd.log
  cg-taskd -c "$CFG" >"$TASKD_LOG" 2>&1 &
  TASKD_PID=$!; track "$TASKD_PID"
  sleep 1000 &
  SVC_PID=$!; track "$SVC_PID"
  echo "$SVC_PID" >"$T_TMP/pids/a.pid"
  wsd_start </dev/null || return 1
}
