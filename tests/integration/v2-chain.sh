#!/usr/bin/env bash
# The whole chain on this machine's real cgroup v2 (unified) hierarchy, under a test root, with
# the seed's example conf and the operator's commands: `cgarch validate --v2 / plan / apply`
# build the union tree; cg-syncd (ZooKeeper, `cgarch conf put`) writes the applied snapshot and
# follows a conf change; cg-taskd places whole process trees (every thread) from pid files and
# refuses a pid file mapped to an inner cgroup ("no internal processes") without moving
# anything; cg-accountd samples cpu.stat into Redis each second in the seed's per-subsystem
# shape; the v2-only rules are clear errors with nothing created.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"
. "$(dirname "$0")/../lib-accountd.sh"

U=$CG_DIR/unified
if [ "$(id -u)" != 0 ] || [ ! -f "$U/cgroup.procs" ]; then
  t_skip "cgroup v2 chain" "needs root and a unified hierarchy at $U"; t_done; exit
fi
cg_new_root v2chain
case " $(echo "$CG_DIR"/*/) " in *" $U/ "*) t_ok "lib.sh's cleanup covers $U (test root removed also on failure)" ;;
  *) t_fail "lib.sh's cleanup covers $U"; t_done; exit 1 ;; esac
ctl=$(cat "$U/cgroup.controllers" 2>/dev/null)
case " $ctl " in *" cpu "*|*" io "*) t_skip "cgroup v2 chain" "$U has cpu or io controllers ('$ctl'): this test expects a tree-only unified hierarchy"; t_done; exit ;; esac
t_diag "unified controllers here: '${ctl}' (no cpu, no io): this run checks the tree, cgroup.procs and" \
  "cpu.stat only — no weights, no io.stat (weights are checked on the fixture in cgfs-v2.sh)"

UR=$U/$CGROOT
SEED=$T_TMP/seed.json; echo "$SEED_CONF" > "$SEED"
RUNTIME_DIR=$T_TMP/run; SNAP=$RUNTIME_DIR/arch_conf.json
start_redis || { t_fail "redis starts"; t_done; exit 1; }
export REDIS_PORT
ZK_PREFIX=/cgrouparch-test/v2chain
zk_ok=1; start_zk || zk_ok=0

# One config for every program, as an operator has; [pid_files] for two leaves (the busy
# process of step 3 is a second pid file of test_cgroup_b_sub1).
CFG=$T_TMP/cgrouparch.conf
CG_MODE=v2 write_cfg "$CFG" <<EOF
[pid_files]
test_cgroup_a = $PIDS/a.pid
test_cgroup_b_sub1 = $PIDS/b.pid $PIDS/busy.pid
EOF
sed -i "s|^dir = .*|dir = $U|" "$CFG"
# The same plus a pid file mapped to test_cgroup_b, which has a child.
CFG_IN=$T_TMP/inner.conf
{ cat "$CFG"; echo "test_cgroup_b = $PIDS/inner.pid"; } > "$CFG_IN"
tree_list() { (cd "$U" && find "$CGROOT" -type d 2>/dev/null | sort; cat "$CGROOT"/cgroup.subtree_control 2>/dev/null); }
# cg0 PID: the process's v2 cgroup (the 0:: line of /proc/PID/cgroup)
cg0() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# tree_in0 PID PATH: every thread of every process of PID's tree is in /$CGROOT/PATH (v2)
tree_in0() {
  local p t n=0
  for p in $(tree_pids "$1"); do
    n=$((n + 1))
    for t in /proc/"$p"/task/*; do [ "$(sed -n 's/^0:://p' "$t/cgroup" 2>/dev/null)" = "/$CGROOT/$2" ] || return 1; done
  done
  [ "$n" -ge "${MIN_TREE:-1}" ]
}

# ---- 1. validate --v2 / plan / apply: the union tree ----
out=$(cgarch -c "$CFG" validate --v2 "$SEED" 2>"$T_TMP/validate.err"); rc=$?
t_eq "cgarch validate --v2 accepts the seed conf" "$rc:$out" "0:$SEED: valid (4 cgroups, cgroup v2 rules checked)"
out=$(cgarch -c "$CFG" plan "$SEED" 2>"$T_TMP/plan.err"); rc=$?
t_eq "cgarch plan: the union tree, once" "$rc:$(grep -v '^#' <<<"$out")" "0:create test_cgroup_a
create test_cgroup_b
create test_cgroup_b/test_cgroup_b_sub1"
t_check "plan notes the weights cannot be written (no controllers)" grep -q "weights cannot be written here" "$T_TMP/plan.err"
t_check "plan created nothing" [ ! -e "$UR" ]
out=$(cgarch -c "$CFG" apply "$SEED" 2>/dev/null); rc=$?
t_eq "cgarch apply" "$rc:$out" "0:applied: 3 created, 0 weights set, 0 removed (0 processes moved), 0 controllers enabled"
t_eq "the union tree under the test root" "$(cd "$U" && find "$CGROOT" -mindepth 1 -type d | sort | sed "s|^$CGROOT/||" | tr '\n' ' ')" \
  "test_cgroup_a test_cgroup_b test_cgroup_b/test_cgroup_b_sub1 "
t_check "nothing created in the v1 hierarchies" eval "! ls -d '$CG_DIR'/{cpu,cpuacct,blkio}/'$CGROOT' 2>/dev/null | grep -q ."
t_diag "tree only: no controller is available in $U, so no cpu.weight/io.weight and subtree_control stays empty"

# ---- the applied snapshot: cg-syncd from ZooKeeper (what the daemons follow) ----
if [ $zk_ok = 1 ]; then
  out=$(cgarch -c "$CFG" conf put "$SEED" 2>&1); rc=$?
  t_check "cgarch conf put the seed conf" [ $rc = 0 ]
  SYNCD_LOG=$T_TMP/syncd.log
  cg-syncd -c "$CFG" --reconcile-interval 60 >"$SYNCD_LOG" 2>&1 & SYNCD_PID=$!; track $SYNCD_PID
  t_check "cg-syncd on v2 applies it and writes the snapshot" wait_for 10 test -s "$SNAP"
  t_eq "cg-syncd changed nothing in the tree cgarch built" "$(cd "$U" && find "$CGROOT" -mindepth 1 -type d | wc -l)" 3
else
  t_skip "cg-syncd writes the snapshot" "ZooKeeper did not start; writing it by hand"
  taskd_snapshot 0 "$SEED_CONF"
fi

# ---- 2. cg-taskd: whole trees into their v2 cgroups; an inner mapping refused ----
out=$(cg-taskd -c "$CFG" --check 2>&1); rc=$?
t_check "cg-taskd --check accepts the v2 config" [ $rc = 0 ] && grep -q "(v2)" <<<"$out"
out=$(cgarch -c "$CFG_IN" validate --v2 "$SEED" 2>&1); rc=$?
case "$rc:$out" in 1:*'pid_files.test_cgroup_b: cgroup v2 "no internal processes"'*) t_ok "cgarch validate reports a pid file mapped to test_cgroup_b" ;;
  *) t_fail "cgarch validate reports a pid file mapped to test_cgroup_b"; t_diag "$rc $out" ;; esac
before=$(tree_list)
out=$(cgarch -c "$CFG_IN" apply "$SEED" 2>&1); rc=$?
t_check "cgarch apply with that config is refused, tree untouched" [ "$rc" = 1 ] && [ "$(tree_list)" = "$before" ]
out=$(cg-taskd -c "$CFG_IN" --check 2>&1); rc=$?
case "$rc:$out" in 1:*'test_cgroup_b: cgroup v2 "no internal processes"'*"not OK: 1 pid-file rule"*) t_ok "cg-taskd --check reports it (exit 1)" ;;
  *) t_fail "cg-taskd --check reports it (exit 1)"; t_diag "$rc $out" ;; esac

start_tree "$PIDS/a.pid" --children 3 --grandchildren 2 --threads 4 --thread-child; A=$TREE_PID
start_tree "$PIDS/b.pid" --children 2 --threads 2; B=$TREE_PID
start_tree "$PIDS/inner.pid" --children 1 --threads 1; I=$TREE_PID
wait_for 5 eval '[ $(tree_count '"$A"') -ge 11 ] && [ $(tree_count '"$B"') -ge 3 ] && [ $(tree_count '"$I"') -ge 2 ]'
I_CG=$(cg0 "$I")
CFG=$CFG_IN start_taskd
t0=$(ms_now)
t_check "test_cgroup_a: all 11 processes, 15 threads, in /$CGROOT/test_cgroup_a" eval 'MIN_TREE=11 wait_for 5 tree_in0 '"$A"' test_cgroup_a'
t_check "test_cgroup_b_sub1: 3 processes, 5 threads, in the leaf" eval 'MIN_TREE=3 wait_for 5 tree_in0 '"$B"' test_cgroup_b/test_cgroup_b_sub1'
t_diag "placed within $(( $(ms_now) - t0 )) ms of cg-taskd's start"
t_eq "threads checked in test_cgroup_a" "$(tree_threads "$A")" 15
t_check "cg-taskd logs the inner mapping as an error" grep -q '^<3>Not placing the processes of test_cgroup_b: cgroup v2 "no internal processes"' "$TASKD_LOG"
t_eq "the inner mapping's processes were not moved" "$(for p in $(tree_pids "$I"); do cg0 "$p"; done | sort -u)" "$I_CG"
t_eq "test_cgroup_b holds no process" "$(cat "$UR/test_cgroup_b/cgroup.procs")" ""
t_check "no failed writes" eval "! grep -q 'Failed to move' '$TASKD_LOG'"

# ---- 3. cg-accountd: one sample a second, the seed's shape, usage from cpu.stat ----
ACFG=$CFG
out=$(cg-accountd -c "$ACFG" --check 2>&1); rc=$?
t_check "cg-accountd --check on v2" [ $rc = 0 ] && grep -q "cpu: $UR" <<<"$out"
acctd_start
s1=$(acctd_wait_new_slot) || s1=
t_check "a first sample lands in Redis" [ -n "$s1" ]
js=$(acctd_sample "${s1:-0}")
t_diag "sample: $js"
t_eq "the seed's per-subsystem shape" "$(jget "$js" '(sorted(j), sorted(j["cpu"]["sub_cgroup"]), sorted(j["cpu"]["sub_cgroup"]["test_cgroup_b"]["sub_cgroup"]), sorted(j["blkio"]["sub_cgroup"]), "value" in j["blkio"])')" \
  "(['blkio', 'cpu'], ['test_cgroup_a', 'test_cgroup_b'], ['test_cgroup_b_sub1'], ['test_cgroup_a'], True)"
t_eq "cpu usage is an integer (ns) at every level" "$(jget "$js" 'all(isinstance(n["value"]["usage"], int) for n in (j["cpu"], j["cpu"]["sub_cgroup"]["test_cgroup_a"], j["cpu"]["sub_cgroup"]["test_cgroup_b"]["sub_cgroup"]["test_cgroup_b_sub1"]))')" True
# the busy process: started by the test, placed by cg-taskd through its pid file
( trap 'exit 0' TERM; while :; do :; done ) & BUSY=$!; track $BUSY
echo $BUSY > "$PIDS/busy.pid"
t_check "cg-taskd places the busy process in test_cgroup_b_sub1" wait_for 5 tree_in0 $BUSY test_cgroup_b/test_cgroup_b_sub1
s2=$(acctd_wait_new_slot); u2=$(acctd_cpu_usage "$s2" test_cgroup_b test_cgroup_b_sub1)
wait_for 4 acctd_has_slot_after $((s2 + 1)); s3=$(acctd_latest_slot); u3=$(acctd_cpu_usage "$s3" test_cgroup_b test_cgroup_b_sub1)
t_diag "test_cgroup_b_sub1 usage: slot $s2 $u2 ns, slot $s3 $u3 ns"
t_check "its usage grows by > 0.3 CPU-s per second" [ "$s3" -gt "$s2" ] && [ $(( (u3 - u2) / (s3 - s2) )) -gt 300000000 ]
n=0; for s in $(seq "$s2" "$s3"); do [ -n "$(acctd_sample "$s")" ] && n=$((n + 1)); done
t_eq "a sample each second from slot $s2 to $s3" "$n" $((s3 - s2 + 1))
# One sample reads the root before the leaf, so a busy leaf can be ahead by the CPU it used
# between the two reads (seen once in CI at load 20): allow 50 ms of CPU for that skew.
t_check "the root's usage covers the leaf's" [ "$(acctd_cpu_usage "$s3")" -ge $((u3 - 50000000)) ]
stop_pid $BUSY

# ---- 4. cg-syncd follows a conf change on v2; the daemons follow the snapshot ----
if [ $zk_ok = 1 ]; then
  v0=$(jq -r .version "$SNAP")
  NEWCONF='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1024}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}, "test_cgroup_b_sub2": {}}}, "test_cgroup_c": {}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}'
  echo "$NEWCONF" | cgarch -c "$CFG" conf put - >/dev/null 2>&1
  t_check "cg-syncd creates the new cgroups in the unified tree" wait_for 5 test -d "$UR/test_cgroup_c" -a -d "$UR/test_cgroup_b/test_cgroup_b_sub2"
  t_check "the snapshot follows (version $v0 -> newer)" wait_for 5 eval '[ "$(jq -r .version "$SNAP")" -gt '"$v0"' ]'
  t_check "cg-accountd samples the new cgroup" wait_for 4 eval '[ "$(jget "$(acctd_sample "$(acctd_latest_slot)")" "\"test_cgroup_c\" in j[\"cpu\"][\"sub_cgroup\"]")" = True ]'
  t_check "placed processes stay where they are" tree_in0 "$A" test_cgroup_a
else
  t_skip "cg-syncd follows a conf change" "no ZooKeeper"
fi

# ---- 5. v2-only rules: clear errors, nothing created ----
SPLIT='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"sub_cgroup": {"shared": {}}}}}, "blkio": {"sub_cgroup": {"test_cgroup_b": {"sub_cgroup": {"shared": {}}}}}}'
echo "$SPLIT" > "$T_TMP/split.json"
before=$(tree_list)
out=$(cgarch -c "$CFG" validate --v2 "$T_TMP/split.json" 2>&1); rc=$?
case "$rc:$out" in 1:*"blkio.sub_cgroup.test_cgroup_b.sub_cgroup.shared"*"cpu:test_cgroup_a/shared but blkio:test_cgroup_b/shared"*) t_ok "validate --v2: same name under different parents is an error naming both places" ;;
  *) t_fail "validate --v2: same name under different parents"; t_diag "$rc $out" ;; esac
out=$(cgarch -c "$CFG" plan "$T_TMP/split.json" 2>&1); rc=$?
t_eq "plan refuses it" "$rc" 1
out=$(cgarch -c "$CFG" apply "$T_TMP/split.json" 2>&1); rc=$?
t_eq "apply refuses it (exit 1)" "$rc" 1
t_eq "apply created and removed nothing" "$(tree_list)" "$before"
if [ $zk_ok = 1 ]; then
  v1=$(jq -r .version "$SNAP")
  # On this (v2) host, conf put refuses it, as validate does.
  echo "$SPLIT" | cgarch -c "$CFG" conf put - >"$T_TMP/put.out" 2>&1; rc=$?
  t_eq "cgarch conf put refuses it under a v2 config (exit 1)" "$rc" 1
  t_check "conf put names the v2 rule" grep -q "cpu:test_cgroup_a/shared but blkio:test_cgroup_b/shared" "$T_TMP/put.out"
  # A v1 host of the same fleet may put it; cg-syncd here must refuse it.
  sed 's/^mode = .*/mode = v1/; s|^dir = .*|dir = /sys/fs/cgroup|' "$CFG" > "$T_TMP/v1.conf"
  echo "$SPLIT" | cgarch -c "$T_TMP/v1.conf" conf put - >"$T_TMP/put1.out" 2>&1; rc=$?
  t_eq "a v1 host's conf put accepts it" "$rc" 0
  t_check "cg-syncd refuses it on v2, naming the rule" wait_for 5 grep -q "cpu:test_cgroup_a/shared but blkio:test_cgroup_b/shared" "$SYNCD_LOG"
  t_eq "cg-syncd created and removed nothing" "$(tree_list)" "$before"
  t_eq "the snapshot keeps the last good conf" "$(jq -r .version "$SNAP")" "$v1"
fi
t_check "the daemons are still running" kill -0 "$TASKD_PID" "$ACCTD_PID"
t_done
