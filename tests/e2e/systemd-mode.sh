#!/usr/bin/env bash
# [cgroup] mode = systemd against a real manager: a private `systemd --user` started the safe
# way (lib-systemd.sh), reached on its private socket ([systemd] bus = unix:path=...). The arch
# conf becomes transient slice units under cgrouparch.slice, read back through the manager
# (systemctl show), never from the cgroupfs:
#  - cgarch validate/plan/apply/show print units and properties; re-apply is a no-op;
#  - a weight change, a node removal (gone from the manager and from its runtime directories),
#    a removal refused while a unit still runs in the slice (nothing stopped);
#  - a bad conf changes nothing; daemon-reload and daemon-reexec keep the tree and weights;
#  - cgexec-arg prints the systemd-run form (and the seed's with --cgexec);
#  - cg-syncd with a real ZooKeeper applies a put and a change through the bus;
#  - cg-accountd samples each slice's own cgroup (cpu.stat) in the seed's shape;
#  - no unit outside cgrouparch*.slice was created.
# This machine's unified hierarchy has no controllers: weights are checked as unit properties.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-systemd.sh"

why=$(sd_usable) || { t_skip "systemd mode" "$why"; t_done; exit 0; }
command -v jq >/dev/null || { t_skip "systemd mode" "jq missing"; t_done; exit 0; }
sd_setup || { t_fail "private manager set up"; t_done; exit 1; }
sd_start || { t_fail "private systemd --user starts"; tail -20 "$SD_W/manager.log" | sed 's/^/# /'; t_done; exit 1; }
t_ok "private systemd --user manager running"

BUS=unix:path=$XDG_RUNTIME_DIR/systemd/private
RUNTIME_DIR=$SD_W/run
CFG=$SD_W/cgrouparch.conf
mkcfg() {
  CGROOT=cgrouparch CG_MODE=systemd write_cfg "$CFG" <<EOF
[systemd]
bus = $BUS
EOF
}
mkcfg
SEED=$SD_W/seed.json; cp "$TOP/tests/fixtures/conf/seed.json" "$SEED"
S_A=cgrouparch-test_cgroup_a.slice
S_B=cgrouparch-test_cgroup_b.slice
S_B1=cgrouparch-test_cgroup_b-test_cgroup_b_sub1.slice

units() { LC_ALL=C sdctl list-units --all --plain --no-legend --no-pager 2>/dev/null | awk '{print $1}' | LC_ALL=C sort; }
our_units() { units | grep '^cgrouparch' | tr '\n' ' '; }
prop() { sdctl show -p "$2" --value "$1" 2>/dev/null; }
active() { [ "$(sdctl is-active "$1" 2>/dev/null)" = active ]; }
gone() { ! units | grep -qx "$1"; }
ca() { cgarch -c "$CFG" "$@"; }
BEFORE=$(units | grep -v '^cgrouparch')

# ---- validate, plan, apply ----
out=$(ca validate "$SEED" 2>&1); rc=$?
t_eq "validate checks the v2 rules in systemd mode" "$rc:$out" "0:$SEED: valid (4 cgroups, cgroup v2 rules checked)"
out=$(ca plan "$SEED" 2>&1)
want="# systemd: slice units under cgrouparch.slice (CPUWeight = share*100/1024, IOWeight = weight*100/500)
create $S_A CPUWeight=100 IOWeight=100
create $S_B CPUWeight=9
create $S_B1 CPUWeight=19"
t_eq "plan prints unit names and properties" "$out" "$want"
t_eq "plan changed nothing" "$(our_units)" ""
out=$(ca apply "$SEED" 2>&1); rc=$?
t_eq "apply the seed conf" "$rc:$out" "0:applied: 3 slices created, 4 weights set, 0 slices removed"
t_eq "the manager has the slices" "$(our_units)" "$S_A $S_B1 $S_B cgrouparch.slice "
t_eq "weights are unit properties" \
  "$(prop $S_A CPUWeight) $(prop $S_A IOWeight) $(prop $S_B CPUWeight) $(prop $S_B1 CPUWeight)" "100 100 9 19"
t_eq "slices nest by name" "$(prop $S_B1 Slice) $(prop $S_B Slice) $(prop $S_A Slice)" \
  "$S_B cgrouparch.slice cgrouparch.slice"
t_check "every slice is transient (the manager keeps its definition)" \
  [ "$(prop $S_B1 Transient)$(prop cgrouparch.slice Transient)" = yesyes ]
out=$(ca plan -q "$SEED" 2>&1); rc=$?
t_eq "re-plan: nothing to do" "$rc:$out" "0:"
out=$(ca apply "$SEED" 2>&1)
t_eq "re-apply is a no-op" "$out" "nothing to do"

out=$(ca show 2>&1)
t_check "show lists the units with their properties" \
  grep -qE "^ +$S_B1 +CPUWeight=19 usage [0-9]+ns$" <<<"$out"
t_check "show names the root slice and its cgroup" \
  grep -qx "tree: $CG_DIR/unified/$SD_CG/mgr/cgrouparch.slice" <<<"$out"

# ---- cgexec-arg ----
t_eq "cgexec-arg prints the systemd-run form in systemd mode" \
  "$(ca cgexec-arg --conf "$SEED" -s test_cgroup_b_sub1)" "--slice=$S_B1"
t_eq "cgexec-arg --cgexec keeps the seed's form" \
  "$(ca cgexec-arg --conf "$SEED" --cgexec -s test_cgroup_b_sub1)" \
  "$(cg_cgexec_cpu cgrouparch/test_cgroup_b/test_cgroup_b_sub1)"
t_eq "cgexec-arg JSON in systemd mode" "$(ca cgexec-arg --conf "$SEED" test_cgroup_a nope)" \
  "{\"test_cgroup_a\": \"--slice=$S_A\", \"nope\": \"\"}"

# ---- a weight change ----
C2=$SD_W/c2.json
jq -c '.cpu.sub_cgroup.test_cgroup_b.conf.share = 300 | .blkio.sub_cgroup.test_cgroup_a.conf.weight = 1000' "$SEED" > "$C2"
out=$(ca plan "$C2" 2>&1 | tail -n +2)
t_eq "plan of a weight change" "$out" "set $S_B CPUWeight=29 (was CPUWeight=9)
set $S_A IOWeight=200 (was IOWeight=100)"
ca apply -q "$C2" >/dev/null 2>&1
t_eq "the changed weights are on the units" "$(prop $S_B CPUWeight) $(prop $S_A IOWeight)" "29 200"

# ---- a bad conf changes nothing ----
snapshot_units() { for u in $S_A $S_B $S_B1; do printf '%s %s %s;' "$u" "$(prop $u CPUWeight)" "$(prop $u IOWeight)"; done; our_units; }
before=$(snapshot_units)
echo '{"cpu": {"sub_cgroup": {"x": {"conf": {"share": 1}}}}}' > "$SD_W/bad.json"
ca apply "$SD_W/bad.json" >"$SD_W/bad.out" 2>&1; rc=$?
t_check "an invalid conf is refused (exit 1, out of range named)" \
  eval '[ $rc = 1 ] && grep -q "cpu.sub_cgroup.x" "$SD_W/bad.out"'
# the same name under two parents: one union tree cannot hold it
jq -c '.blkio.sub_cgroup.test_cgroup_b_sub1 = {"conf": {"weight": 100}}' "$SEED" > "$SD_W/split.json"
ca apply "$SD_W/split.json" >"$SD_W/split.out" 2>&1; rc=$?
t_check "a conf that is not one tree is refused (exit 1, v2 rule named)" \
  eval '[ $rc = 1 ] && grep -q "cgroup v2 has one tree" "$SD_W/split.out"'
t_eq "a bad conf changed nothing" "$(snapshot_units)" "$before"

# ---- daemon-reload, daemon-reexec ----
sdctl daemon-reload
t_eq "daemon-reload keeps the tree and the weights" "$(snapshot_units)" "$before"
old_pid=$SD_PID
sdctl daemon-reexec
wait_for 20 sd_running
t_eq "daemon-reexec keeps the tree and the weights" "$(snapshot_units)" "$before"
out=$(ca plan -q "$C2" 2>&1)
t_eq "after both, plan is still a no-op" "$out" ""

# ---- removal: refused while a unit runs in the slice, done once it is empty ----
systemd-run --user --quiet --unit=cgarch-e2e-sleeper --slice=$S_B1 sleep 600 >/dev/null 2>&1
t_check "a service runs in $S_B1" wait_for 10 active cgarch-e2e-sleeper.service
ONLY_A=$SD_W/only-a.json
jq -c 'del(.cpu.sub_cgroup.test_cgroup_b)' "$C2" > "$ONLY_A"
ca apply "$ONLY_A" >"$SD_W/refused.out" 2>&1; rc=$?
t_check "removing a slice that holds a running unit is refused (exit 1, unit named)" \
  eval '[ $rc = 1 ] && grep -q "$S_B1 not removed: it still holds cgarch-e2e-sleeper.service" "$SD_W/refused.out"'
t_check "... and its parent too, naming the child slice" \
  grep -q "$S_B not removed: it still holds $S_B1" "$SD_W/refused.out"
t_check "nothing was stopped" active cgarch-e2e-sleeper.service
t_check "the slices are still there" active $S_B1
sdctl stop cgarch-e2e-sleeper.service
out=$(ca apply "$ONLY_A" 2>&1); rc=$?
t_eq "once empty, the removal goes through" "$rc:$out" "0:applied: 0 slices created, 0 weights set, 2 slices removed"
t_check "removed slices are gone from the manager" wait_for 10 gone $S_B
t_check "... and $S_B1 too" gone $S_B1
left=$(find "$XDG_RUNTIME_DIR/systemd" -name "*test_cgroup_b*" 2>/dev/null)
t_eq "... and from the manager's runtime directories (transient, .control)" "$left" ""
t_eq "the kept slice is untouched" "$(prop $S_A CPUWeight) $(prop $S_A IOWeight)" "100 200"

# ---- cg-syncd with ZooKeeper ----
if ! start_zk; then
  t_fail "ZooKeeper starts"
else
  ZK_PREFIX=/cgrouparch-test/sdmode; mkcfg
  SNAP=$RUNTIME_DIR/arch_conf.json
  SYNCD_LOG=$SD_W/syncd.log
  cg-syncd -c "$CFG" --reconcile-interval 2 >"$SYNCD_LOG" 2>&1 &
  SYNCD_PID=$!; track $SYNCD_PID
  ca conf put "$SEED" >/dev/null 2>&1
  seed_applied() {
    [ "$(jq -r .version "$SNAP" 2>/dev/null)" = 0 ] && active $S_B1 &&
      [ "$(prop $S_A IOWeight) $(prop $S_B CPUWeight)" = "100 9" ]
  }
  t_check "cg-syncd applies a conf put through the bus (slices back, weights, snapshot)" wait_for 20 seed_applied
  t_check "cg-syncd logs the apply with its counts" \
    grep -qE "Applied version 0: 2 created, [0-9]+ weights set, 0 removed" "$SYNCD_LOG"
  grep -qE "Applied version 0: 2 created" "$SYNCD_LOG" || grep "Applied" "$SYNCD_LOG" | sed "s/^/# syncd: /"
  jq -c '.cpu.sub_cgroup.test_cgroup_b.sub_cgroup.test_cgroup_b_sub1.conf.share = 1024' "$SEED" | ca conf put - >/dev/null 2>&1
  change_applied() { [ "$(jq -r .version "$SNAP" 2>/dev/null)" = 1 ] && [ "$(prop $S_B1 CPUWeight)" = 100 ]; }
  t_check "cg-syncd applies a change (CPUWeight 19 -> 100)" wait_for 20 change_applied
  # A weight changed behind its back is put back by the reconcile (2 s here).
  sdctl set-property --runtime $S_B CPUWeight=500
  t_check "the reconcile restores a weight changed by hand" wait_for 20 eval '[ "$(prop $S_B CPUWeight)" = 9 ]'
  t_check "cg-syncd is still running" kill -0 $SYNCD_PID

  # ---- cg-accountd reads each slice's cgroup ----
  if start_redis; then
    mkcfg
    systemd-run --user --quiet --unit=cgarch-e2e-busy --slice=$S_B1 timeout 60 sh -c 'while :; do :; done' >/dev/null 2>&1
    ACCT_LOG=$SD_W/accountd.log
    cg-accountd -c "$CFG" >"$ACCT_LOG" 2>&1 &
    ACCT_PID=$!; track $ACCT_PID
    usage_of_b1() {
      local k
      k=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'cgroup_arch/account/*' | sort | tail -1)
      [ -n "$k" ] || return 1
      redis-cli -p "$REDIS_PORT" get "$k" | jq -e '.cpu.sub_cgroup.test_cgroup_b.sub_cgroup.test_cgroup_b_sub1.value.usage > 0' >/dev/null
    }
    t_check "cg-accountd samples the slice's cpu.stat in the seed's shape (busy unit in $S_B1)" wait_for 20 usage_of_b1
    sdctl stop cgarch-e2e-busy.service
    stop_pid $ACCT_PID # before the cleanup removes its runtime dir (it would make it again)
  else
    t_fail "redis starts"
  fi
  stop_pid $SYNCD_PID
fi

# ---- nothing outside cgrouparch*.slice ----
sdctl stop cgarch-e2e-busy.service cgarch-e2e-sleeper.service >/dev/null 2>&1
wait_for 10 eval '! units | grep -q "^cgarch-e2e-"'
AFTER=$(units | grep -v '^cgrouparch')
t_eq "no unit outside cgrouparch*.slice was created" "$AFTER" "$BEFORE"
t_check "only cgrouparch*.slice units are ours" eval '! units | grep "^cgrouparch" | grep -vq "\.slice$"'
t_done
