#!/usr/bin/env bash
# systemd-v2.sh — cg-syncd on cgroup v2 in a subtree systemd delegates to it (issue 8 item 3):
# a private `systemd --user` manager (lib-systemd.sh: started from a cgroup of its own in the
# name=systemd and unified hierarchies), cg-syncd.service with the shipped drop-in
# units/cg-syncd-v2.conf (Delegate=yes), `[cgroup] mode = v2` on this machine's unified
# hierarchy (no controllers there: tree only), a real ZooKeeper holding the seed's conf:
#   the tree appears inside the service's own cgroup, under <service>/managed
#   the daemon sits in its leaf <service>/cg-syncd, the service cgroup holds no process
#   nothing is written in the unified hierarchy outside the test's own cgroup
#   a conf change, SIGHUP and a restart keep working
#   stop leaves nothing running; a managed root that is the service cgroup itself is refused
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-systemd.sh"

# The drop-in itself: `systemd-analyze verify` of cg-syncd.service with it is clean (no manager).
if command -v systemd-analyze >/dev/null; then
  V=$T_TMP/verify; mkdir -p "$V/cg-syncd.service.d"
  sed "s|^ExecStart=cg-syncd|ExecStart=$BUILD/cg-syncd|" "$TOP/units/cg-syncd.service" > "$V/cg-syncd.service"
  cp "$TOP/units/cg-syncd-v2.conf" "$V/cg-syncd.service.d/v2-delegate.conf"
  out=$(cd "$V" && systemd-analyze verify --man=no ./cg-syncd.service 2>&1)
  t_eq "systemd-analyze verify: cg-syncd.service with units/cg-syncd-v2.conf is clean" "$out" ""
fi

why=$(sd_usable) || { t_skip "systemd v2 delegation" "$why"; t_done; exit; }
# A program that does not run is broken: a failure, never a skip.
for p in cg-syncd cgarch; do
  "$BUILD/$p" --version >/dev/null 2>&1 || { t_fail "$p --version runs"; t_done; exit 1; }
done
U=$CG_DIR/unified
grep -q " $U cgroup2 " /proc/self/mounts || { t_skip "systemd v2 delegation" "no cgroup2 at $U"; t_done; exit; }

# The unified hierarchy outside our own test cgroups (and outside other tests' ones, which come
# and go concurrently): every cgroup and its cgroup.subtree_control.
outside() {
  find "$U" \( -name 'cgrouparch-test-*' -o -name 'cgrouparch-demo*' \) -prune -o -type d -print 2>/dev/null |
    sort | while read -r d; do echo "$d $(tr '\n' ' ' < "$d/cgroup.subtree_control" 2>/dev/null)"; done
}

start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
before=$(outside)
sd_setup || { t_fail "private manager environment"; t_done; exit 1; }
sd_start || { t_fail "systemd --user manager starts"; tail -20 "$SD_W/manager.log" | sed 's/^/# /'; t_done; exit 1; }
t_ok "systemd --user manager runs in its own cgroup ($SD_CG/mgr)"

SVC_REL=$SD_CG/mgr/app.slice/cg-syncd.service
SVC=$U/$SVC_REL
M=$SVC/managed
ZK_PREFIX=/cgrouparch-e2e-v2
RUNTIME_DIR=$XDG_RUNTIME_DIR/cgrouparch # RuntimeDirectory=cgrouparch of a user manager
CFG=$SD_W/cgrouparch.conf
CG_DIR=$U CG_MODE=v2 CGROOT=$SVC_REL/managed write_cfg "$CFG"

sd_install_units "$CFG"
mkdir -p "$SD_UNITS/cg-syncd.service.d"
cp "$TOP/units/cg-syncd-v2.conf" "$SD_UNITS/cg-syncd.service.d/v2-delegate.conf"
# Test only: the daemon's log in a file (no journald here).
printf '[Service]\nStandardOutput=append:%s\nStandardError=inherit\n' "$SD_W/cg-syncd.log" \
  > "$SD_UNITS/cg-syncd.service.d/zz-test-log.conf"
sdctl daemon-reload
t_eq "the drop-in delegates the service's cgroup" \
  "$(systemctl --user show -p Delegate,KillMode cg-syncd.service | tr '\n' ' ')" "Delegate=yes KillMode=process "

echo "$SEED_CONF" | "$BUILD/cgarch" -q -c "$CFG" conf put - >/dev/null 2>"$T_TMP/put.err" ||
  t_diag "conf put: $(cat "$T_TMP/put.err")"

diag() {
  systemctl --user status cg-syncd.service --no-pager -n 0 2>&1 | sed 's/^/#   /'
  tail -15 "$SD_W/cg-syncd.log" 2>/dev/null | sed 's/^/#   log: /'
}
t_check_d() { local n=$1; shift; if "$@"; then t_ok "$n"; else t_fail "$n"; diag; fi; }
own_cg() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
in_leaf() { local p; p=$(sd_main_pid cg-syncd.service); [ -n "$p" ] && [ "$p" != 0 ] && [ "$(own_cg "$p")" = "/$SVC_REL/cg-syncd" ]; }
seed_tree() { [ -d "$M/test_cgroup_a" ] && [ -d "$M/test_cgroup_b/test_cgroup_b_sub1" ]; }
# The service cgroup holds no process itself, and nothing but the leaf, the managed root and
# systemd's own .control (reload commands of delegated units) is created in it.
svc_clean() {
  [ -z "$(cat "$SVC/cgroup.procs")" ] || return 1
  [ "$(cd "$SVC" && find . -mindepth 1 -maxdepth 1 -type d ! -name .control | sort | tr '\n' ' ')" = "./cg-syncd ./managed " ]
}

# ---- start ----
sdctl start cg-syncd.service
t_check_d "cg-syncd.service active (READY reached)" sd_active cg-syncd.service
t_check "the daemon moved itself into its leaf $SVC_REL/cg-syncd" wait_for 10 in_leaf
t_check_d "the seed conf is applied inside the delegated cgroup ($SVC_REL/managed)" wait_for 20 seed_tree
t_check "the service cgroup holds no process and only cg-syncd/ and managed/" svc_clean
t_check "the snapshot is written" wait_for 10 test -s "$RUNTIME_DIR/arch_conf.json"
t_check "the log says why it moved" grep -q "Moved into the leaf cgroup $SVC_REL/cg-syncd" "$SD_W/cg-syncd.log"
pid1=$(sd_main_pid cg-syncd.service)

# ---- a conf change ----
NEW_CONF='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1024}}, "e2e_new": {"conf": {"share": 300}}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}'
echo "$NEW_CONF" | "$BUILD/cgarch" -q -c "$CFG" conf put - >/dev/null 2>"$T_TMP/put.err" || t_diag "conf put: $(cat "$T_TMP/put.err")"
t_check "a conf change shows in the delegated tree (e2e_new created)" wait_for 20 test -d "$M/e2e_new"
t_check "a conf change prunes test_cgroup_b" wait_for 10 test ! -d "$M/test_cgroup_b"

# ---- reload (SIGHUP): the daemon re-checks the delegation and stays in its leaf ----
# `systemctl reload` itself is not used: this machine's user manager fails the mount namespace
# of any sandboxed unit's control process (ExecReload= exits 226/NAMESPACE, with Delegate=no
# too), so the signal is sent the way ExecReload= would, to the main process only.
t_skip "systemctl reload (ExecReload= in the .control cgroup)" "user manager here: control processes of sandboxed units fail with 226/NAMESPACE, Delegate= or not"
sdctl kill --kill-who=main -s HUP cg-syncd.service
wait_for 10 grep -q "SIGHUP: re-reading" "$SD_W/cg-syncd.log"
t_check "SIGHUP: re-read, the delegation re-checked" wait_for 10 grep -q "Running in the leaf cgroup $SVC_REL/cg-syncd" "$SD_W/cg-syncd.log"
same_pid_in_leaf() { [ "$(sd_main_pid cg-syncd.service)" = "$pid1" ] && in_leaf; }
t_check "SIGHUP: active, same pid, still in the leaf" same_pid_in_leaf

# ---- restart ----
sdctl restart cg-syncd.service
t_check_d "restart: active again under a new pid" wait_for 10 sd_restarted cg-syncd.service "$pid1"
t_check "restart: the new daemon is in its leaf" wait_for 10 in_leaf
pid2=$(sd_main_pid cg-syncd.service)
t_check "restart: the tree is (re)built from ZooKeeper" wait_for 20 test -d "$M/e2e_new"
t_check "restart: the service cgroup holds no process, only cg-syncd/ and managed/" wait_for 5 svc_clean
t_eq "restart: two moves logged" "$(grep -c 'Moved into the leaf' "$SD_W/cg-syncd.log")" 2

# ---- stop ----
sdctl stop cg-syncd.service
t_check "stop: inactive" wait_for 10 sd_inactive cg-syncd.service
left=$( [ -d "$SVC" ] && find "$SVC" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
t_eq "stop: nothing left running in the service's cgroup" "${left:-}" ""
t_check "stop: the daemon is gone" sh -c "! kill -0 ${pid2:-0} 2>/dev/null"

# ---- a managed root that is the service's own cgroup is refused at start, nothing touched ----
CG_DIR=$U CG_MODE=v2 CGROOT=$SVC_REL write_cfg "$CFG"
: > "$SD_W/cg-syncd.log"
sdctl start cg-syncd.service 2>/dev/null
t_check "root = the service's own cgroup: refused with advice" \
  wait_for 10 grep -q "is cg-syncd's own cgroup.*$SVC_REL/managed" "$SD_W/cg-syncd.log"
t_check "... and the service does not come up" sh -c "! systemctl --user is-active -q cg-syncd.service"
sdctl stop cg-syncd.service
t_check "... nothing created in the service's cgroup" sh -c "[ ! -d '$SVC' ] || [ -z \"\$(find '$SVC' -mindepth 1 -type d ! -name .control)\" ]"

# ---- nothing outside our own test cgroup ----
after=$(outside)
if [ "$before" = "$after" ]; then
  t_ok "nothing created or written in $U outside the test's own cgroup"
else
  t_fail "nothing created or written in $U outside the test's own cgroup"
  diff <(echo "$before") <(echo "$after") | head -20 | sed 's/^/#   /'
fi
t_done
