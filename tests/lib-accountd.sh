# tests/lib-accountd.sh — shell helpers for cg-accountd's integration tests. Source after lib.sh.

PY=/usr/bin/python3
PATH=$BUILD/tests/tools:$PATH
export PY PATH

# acctd_mk_seed_tree: creates the seed conf's cgroups under $CGROOT by hand (cpu, cpuacct, blkio).
acctd_mk_seed_tree() {
  local h
  for h in cpu cpuacct; do
    mkdir -p "$CG_DIR/$h/$CGROOT/test_cgroup_a" "$CG_DIR/$h/$CGROOT/test_cgroup_b/test_cgroup_b_sub1" || return 1
  done
  mkdir -p "$CG_DIR/blkio/$CGROOT/test_cgroup_a"
}

# acctd_snapshot VERSION CONF_JSON: writes the applied snapshot atomically, like cg-syncd.
acctd_snapshot() {
  mkdir -p "$RUNTIME_DIR"
  printf '{"version": %s, "value": %s}\n' "$1" "$2" > "$RUNTIME_DIR/.arch_conf.json.tmp"
  mv -f "$RUNTIME_DIR/.arch_conf.json.tmp" "$RUNTIME_DIR/arch_conf.json"
}

# acctd_setup: test root + seed tree, private Redis, runtime dir, config in $ACFG.
acctd_setup() {
  cg_new_root "${1:-acct}"
  RUNTIME_DIR=$T_TMP/run
  start_redis || return 1
  export REDIS_PORT
  acctd_mk_seed_tree || return 1
  acctd_snapshot 1 "$SEED_CONF"
  ACFG=$T_TMP/cgrouparch.conf
  write_cfg "$ACFG"
}

# acctd_start [args...]: starts cg-accountd -c $ACFG in the background; sets ACCTD_PID ACCTD_LOG.
acctd_start() {
  ACCTD_LOG=$T_TMP/accountd.$RANDOM.log
  cg-accountd -c "$ACFG" "$@" >"$ACCTD_LOG" 2>&1 &
  ACCTD_PID=$!
  track "$ACCTD_PID"
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
# acctd_latest_slot: the newest slot with a sample key (empty if none).
acctd_latest_slot() {
  rcli --scan --pattern "${REDIS_PREFIX:-cgroup_arch}/account/*" | sed 's|.*/||' | sort -n | tail -1
}
acctd_sample() { rcli get "${REDIS_PREFIX:-cgroup_arch}/account/$1"; }
# acctd_has_slot_after N: a sample exists for a slot > N.
acctd_has_slot_after() { local s; s=$(acctd_latest_slot); [ -n "$s" ] && [ "$s" -gt "$1" ]; }
# acctd_wait_new_slot: waits (<= 3 s) for a sample newer than the current newest; prints its slot.
acctd_wait_new_slot() {
  local cur; cur=$(acctd_latest_slot); cur=${cur:-0}
  wait_for 3 acctd_has_slot_after "$cur" || return 1
  acctd_latest_slot
}
# jget JSON PYEXPR: evaluates PYEXPR with j bound to the parsed JSON (ints stay exact).
jget() { $PY -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
# acctd_usage SLOT PATH...: cpu usage of a cgroup in the sample of SLOT ("" path = root).
acctd_cpu_usage() {
  local js; js=$(acctd_sample "$1"); shift
  $PY - "$js" "$@" <<'EOF'
import json, sys
n = json.loads(sys.argv[1])["cpu"]
for name in sys.argv[2:]:
    n = n["sub_cgroup"][name]
print(n["value"].get("usage", ""))
EOF
}
# acctd_blkio SLOT DEV FIELD PATH...: Read/Write bytes of DEV in a cgroup (0 when absent).
acctd_blkio() {
  local js; js=$(acctd_sample "$1"); shift
  $PY - "$js" "$@" <<'EOF'
import json, sys
dev, field = sys.argv[2], sys.argv[3]
n = json.loads(sys.argv[1])["blkio"]
for name in sys.argv[4:]:
    n = n["sub_cgroup"][name]
print(n["value"].get(dev, {}).get(field, 0))
EOF
}
export -f jget rcli acctd_sample acctd_latest_slot acctd_has_slot_after
