#!/usr/bin/env bash
# `cgexec $(cgarch cgexec-arg -s NAME) cmd` on a real host (issue 15): with cg-syncd applying the
# conf from ZooKeeper and cg-accountd sampling into Redis, a busy loop started that way lands in
# every hierarchy of its name (cpu and cpuacct, mounted apart here, plus memory and pids) and its
# cgroup's CPU usage rises in Redis. cgexec-arg reads the applied snapshot: with ZooKeeper down it
# answers at once (--zk then fails within the session timeout); the CLI prints what the public
# API returns.
. "$(dirname "$0")/../lib-syncd.sh"
. "$(dirname "$0")/../lib-accountd.sh"
command -v cgexec >/dev/null || { t_skip "cgexec" "cgroup-tools missing (scripts/deps installs it)"; t_done; exit 0; }

start_redis || { t_fail "Redis starts"; t_done; exit 1; }
syncd_env
ACFG=$CFG
B1=test_cgroup_b/test_cgroup_b_sub1
CONF='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1024}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}}}},
 "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}},
 "memory": {"sub_cgroup": {"test_cgroup_b": {"sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"max": 1073741824}}}}}},
 "pids": {"sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"max": 1000}}}}}'
echo "$CONF" > "$T_TMP/conf.json"
out=$(cgarch -q -c "$CFG" conf put "$T_TMP/conf.json" 2>&1); rc=$?
# (issue 15: -q printed the "wrote" line and the no-admin note)
t_eq "cgarch -q conf put prints nothing on success" "$rc:$out" "0:"
out=$(cgarch -c "$CFG" conf put -q --dry-run "$T_TMP/conf.json" 2>&1); rc=$?
t_eq "... nor conf put -q --dry-run (-q after the command word)" "$rc:$out" "0:"
out=$(cgarch -q -c "$CFG" conf get 2>&1 >/dev/null); rc=$?
t_eq "... nor conf get's version line on stderr" "$rc:$out" "0:"
start_syncd
t_check "cg-syncd applies the conf and writes the snapshot" wait_for 15 snap_is 0
acctd_start

# ---- what it prints ----
want="$(cg_cgexec_cpu "$CGROOT/$B1") -g memory:$CGROOT/$B1 -g pids:$CGROOT/test_cgroup_b_sub1"
t_eq "cgexec-arg -s names every tree of the name (cpuacct where apart, memory, pids)" \
  "$(cgarch -c "$CFG" cgexec-arg -s test_cgroup_b_sub1)" "$want"
t_eq "... and blkio for a name in the blkio tree" "$(cgarch -c "$CFG" cgexec-arg -s test_cgroup_a)" \
  "$(cg_cgexec_cpu "$CGROOT/test_cgroup_a") -g blkio:$CGROOT/test_cgroup_a"
t_eq "the CLI prints what the public API returns (cgarch_cgexec_arg_zk)" \
  "$(cgarch -c "$CFG" cgexec-arg test_cgroup_a test_cgroup_b_sub1 nope)" \
  "$(zk-cgexec "$ZK_HOSTS" "$ZK_PREFIX" "${ZK_AUTH:-digest:super:123456}" "$CGROOT" 5000 test_cgroup_a test_cgroup_b_sub1 nope)"

# ---- a busy loop started by cgexec is counted ----
s0=$(acctd_wait_new_slot) || { t_fail "cg-accountd writes samples"; t_diag "$(tail -5 "$ACCTD_LOG")"; t_done; exit 1; }
u0=$(acctd_cpu_usage "$s0" test_cgroup_b test_cgroup_b_sub1)
cgexec $(cgarch -c "$CFG" cgexec-arg -s test_cgroup_b_sub1) \
  bash -c 'while [ $SECONDS -lt 6 ]; do :; done' &
LOOP=$!; track $LOOP
in_all() {
  local c; c=$(cat /proc/$LOOP/cgroup 2>/dev/null) || return 1
  for h in cpu cpuacct memory pids; do
    p=/$CGROOT/$B1; [ $h = pids ] && p=/$CGROOT/test_cgroup_b_sub1
    grep -qE "^[0-9]+:([a-z_]+,)*$h(,[a-z_]+)*:$p\$" <<<"$c" || return 1
  done
}
t_check "the loop is in its cgroup in cpu, cpuacct, memory and pids" wait_for 3 in_all
[ -e /proc/$LOOP ] && t_diag "$(grep -E ':(cpu|cpuacct|memory|pids)[,:]' /proc/$LOOP/cgroup | tr '\n' ' ')"
rose() {
  local s u; s=$(acctd_latest_slot); u=$(acctd_cpu_usage "$s" test_cgroup_b test_cgroup_b_sub1)
  [ -n "$u" ] && [ $((u - u0)) -ge 300000000 ]
}
t_check "its cgroup's CPU usage rises in Redis (>= 0.3 CPU-s)" wait_for $((8 * T_TF)) rose
s1=$(acctd_latest_slot)
t_diag "usage of $B1: $u0 ns at slot $s0, $(acctd_cpu_usage "$s1" test_cgroup_b test_cgroup_b_sub1) ns at slot $s1"
stop_pid $LOOP

# The seed's text alone (-g cpu:) leaves the process in the cpuacct root where cpuacct is apart:
# the case this test would catch. Shown on test_cgroup_a, which nothing else runs in.
if [ "$(cg_cgexec_cpu x)" != "-g cpu:x" ]; then
  a0=$(acctd_cpu_usage "$(acctd_latest_slot)" test_cgroup_a)
  cgexec -g "cpu:$CGROOT/test_cgroup_a" bash -c 'while [ $SECONDS -lt 2 ]; do :; done'
  s=$(acctd_wait_new_slot); s=$(acctd_wait_new_slot)
  t_eq "(control) with -g cpu: alone the loop is not counted here (cpuacct apart)" \
    "$(( $(acctd_cpu_usage "$s" test_cgroup_a) - a0 ))" 0
fi

# ---- ZooKeeper down: the snapshot answers at once ----
stop_pid "$ZK_PID"
t0=$(date +%s%N)
out=$(cgarch -c "$CFG" cgexec-arg -s test_cgroup_b_sub1 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_eq "ZooKeeper down: cgexec-arg answers from the snapshot" "$rc:$out" "0:$want"
t_check "... at once ($ms ms, no ZooKeeper timeout)" test "$ms" -lt $((1000 * T_TF))
t0=$(date +%s%N)
out=$(cgarch -c "$CFG" cgexec-arg --zk -s test_cgroup_b_sub1 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_eq "--zk with ZooKeeper down fails" "$rc" 1
t_diag "$out"
t_check "... within the session timeout (${ZK_SESSION_MS:-4000} ms; took $ms ms)" \
  test "$ms" -lt $(( (${ZK_SESSION_MS:-4000} + 1500) * T_TF ))

# ---- no snapshot yet ----
sed "s|^runtime_dir = .*|runtime_dir = $T_TMP/empty|" "$CFG" > "$T_TMP/empty.conf"
out=$(cgarch -c "$T_TMP/empty.conf" cgexec-arg -s test_cgroup_b_sub1 2>&1); rc=$?
t_eq "no applied snapshot: exit 1" "$rc" 1
case "$out" in *"no applied snapshot at $T_TMP/empty/arch_conf.json"*"--zk"*) t_ok "... and says where it looked and what else to do" ;;
  *) t_fail "... and says where it looked and what else to do"; t_diag "$out" ;; esac
out=$(cgarch -c "$CFG" cgexec-arg -s nope 2>&1); rc=$?
t_eq "an unknown name with -s: exit 1, lower-case message" "$rc:$out" \
  "1:cgarch: no cgroup named \"nope\" in $RUNTIME_DIR/arch_conf.json"
out=$(cgarch -c "$CFG" cgexec-arg --zk --conf "$T_TMP/conf.json" a 2>&1); rc=$?
t_eq "--zk and --conf together: usage error" "$rc" 2
t_done
