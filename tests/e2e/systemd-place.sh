#!/usr/bin/env bash
# systemd-place.sh — cg-taskd's placement in `[cgroup] mode = systemd` (issue 13 item 3) under a
# private `systemd --user` manager (lib-systemd.sh), reached at its private socket
# (`[systemd] bus = unix:path=...`). cg-taskd itself runs as a Type=notify unit of that manager
# so that its STATUS= can be read. No controllers are needed: this is about which unit and
# which slice a process ends up in, checked in the manager's view and in /proc/PID/cgroup.
#   a service's main pid: drop-in written, unit restarted once into the slice, with its child
#   a process in a scope of another supervisor: a transient scope in the slice, existing and
#     later-forked children follow, the rest of its old scope stays where it was
#   `systemctl stop` of the placed service stops all its processes; a start goes to the slice
#   restart_services = no: pending in STATUS= and taskd-state.json, placed after a restart;
#     `cgarch why` says so for its main pid and child, then shows the move
#   pid 1 of the manager (init.scope) is refused
#   removing nodes: drop-ins gone, services back in app.slice (at their restart), the scope's
#     processes in a scope of their own in cgrouparch.slice, nothing killed
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-systemd.sh"

why=$(sd_usable) || { t_skip "systemd placement" "$why"; t_done; exit; }
"$BUILD/cg-taskd" --version >/dev/null 2>&1 || { t_skip "systemd placement" "cg-taskd is a placeholder"; t_done; exit; }

sd_setup || { t_fail "private manager environment"; t_done; exit 1; }
sd_start || { t_fail "systemd --user manager starts"; tail -20 "$SD_W/manager.log" | sed 's/^/# /'; t_done; exit 1; }
t_ok "systemd --user manager runs in its own cgroup ($SD_CG/mgr)"

BUS=unix:path=$XDG_RUNTIME_DIR/systemd/private
DROPINS=$XDG_RUNTIME_DIR/systemd/user
RUNTIME_DIR=$SD_W/run
PIDS=$SD_W/pids
STATE=$RUNTIME_DIR/taskd-state.json
LOG=$SD_W/taskd.log
CFG=$SD_W/cgrouparch.conf
mkdir -p "$RUNTIME_DIR" "$PIDS"
: > "$LOG"
MGR_CG=/$SD_CG/mgr

# write_conf RESTART: the daemon's config (the snapshot is written by the test, as cg-syncd would).
write_conf() {
  CG_MODE=systemd CGROOT=cgrouparch write_cfg "$CFG" <<EOF
[systemd]
bus = $BUS
restart_services = $1
[taskd]
interval = 1
[pid_files]
svc_a = $PIDS/demo.pid
svc_c = $PIDS/demo2.pid
scope_b = $PIDS/other.pid
mgr = $PIDS/mgr.pid
EOF
}
snapshot() {
  printf '{"version": %s, "value": %s}\n' "$1" "$2" > "$RUNTIME_DIR/.arch_conf.tmp"
  mv -f "$RUNTIME_DIR/.arch_conf.tmp" "$RUNTIME_DIR/arch_conf.json"
}
node() { printf '"%s": {"conf": {"share": 100}}' "$1"; }
ALL="{\"cpu\": {\"sub_cgroup\": {$(node svc_a), $(node svc_c), $(node scope_b), $(node mgr)}}}"

# Services of the test: the main process writes its pid file and forks a child first ("$$$$":
# systemd reads "$$" in ExecStart= as a literal "$").
cat > "$SD_UNITS/demo.service" <<EOF
[Service]
ExecStart=/bin/sh -c 'echo \$\$\$\$ > $PIDS/demo.pid; sleep 1000 & exec sleep 1001'
EOF
cat > "$SD_UNITS/demo2.service" <<EOF
[Service]
ExecStart=/bin/sh -c 'echo \$\$\$\$ > $PIDS/demo2.pid; sleep 1010 & exec sleep 1011'
EOF
cat > "$SD_UNITS/taskd-test.service" <<EOF
[Service]
Type=notify
ExecStart=$BUILD/cg-taskd -c $CFG -v
ExecReload=/bin/kill -HUP \$MAINPID
StandardOutput=append:$LOG
StandardError=inherit
EOF
write_conf yes
snapshot 1 "$ALL"
sdctl daemon-reload

prop() { systemctl --user show -p "$2" --value "$1" 2>/dev/null; }
cg2() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# child_of PID: the first child of PID
child_of() { cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1}'; }
in_unit_cg() { [ "$(cg2 "$1")" = "$MGR_CG/$2" ]; }
diag() {
  systemctl --user status "$@" --no-pager -n 0 2>&1 | sed 's/^/#   /'
  tail -15 "$LOG" | sed 's/^/#   log: /'
}
t_check_d() { local n=$1; shift; if "$@"; then t_ok "$n"; else t_fail "$n"; diag demo.service demo2.service taskd-test.service; fi; }
status_has() { prop taskd-test.service StatusText | grep -q -- "$1"; }
state_has() { grep -q -- "$1" "$STATE" 2>/dev/null; }
SL=cgrouparch.slice/cgrouparch-svc_a.slice

# ---- a service: drop-in + restart ----
sdctl start demo.service
wait_for 10 test -s "$PIDS/demo.pid"
M0=$(sd_main_pid demo.service)
sdctl start taskd-test.service || { t_fail "cg-taskd starts as a unit"; diag taskd-test.service; t_done; exit 1; }
t_ok "cg-taskd runs in systemd mode and reports READY=1"

placed_a() { [ "$(prop demo.service ControlGroup)" = "$MGR_CG/$SL/demo.service" ]; }
t_check_d "demo.service is restarted into cgrouparch-svc_a.slice" wait_for 20 placed_a
t_eq "its drop-in names the slice" "$(grep '^Slice=' "$DROPINS/demo.service.d/50-cgrouparch-slice.conf" 2>/dev/null)" "Slice=cgrouparch-svc_a.slice"
M1=$(sd_main_pid demo.service)
wait_for 5 test -n "$(child_of "$M1")"
C1=$(child_of "$M1")
t_check "it runs under a new main pid ($M0 -> $M1)" test "$M1" != "$M0" -a "$M1" != 0
t_check "its main pid and forked child are in the slice's unit cgroup (/proc/PID/cgroup)" \
  eval 'in_unit_cg "$M1" "$SL/demo.service" && [ -n "$C1" ] && in_unit_cg "$C1" "$SL/demo.service"'
t_check "the old main pid was stopped by the restart, not left behind" eval '! kill -0 "$M0" 2>/dev/null'
# Two more full passes (interval 1 s, state file rewritten each pass): no second restart.
passes() { local m; m=$(stat -c %Y.%y "$STATE" 2>/dev/null); [ "$m" != "$1" ]; }
s0=$(stat -c %Y.%y "$STATE" 2>/dev/null); wait_for 5 passes "$s0"
s1=$(stat -c %Y.%y "$STATE" 2>/dev/null); wait_for 5 passes "$s1"
t_eq "a placed service is not restarted again" "$(sd_main_pid demo.service)" "$M1"
t_check "STATUS= counts it placed, nothing pending" wait_for 5 status_has "placed 1 unit in 1 slice, 0 pending"

# ---- a process of another supervisor's scope: a transient scope ----
# The child exists before the pid file is written (a child forked in the instant between
# cg-taskd's walk and systemd's move is caught by the next pass, into a scope of its own).
SCOPE_SRC=other-$$.scope
systemd-run --user --quiet --scope --unit="$SCOPE_SRC" /bin/sh -c "
  /bin/sh -c 'sleep 1002 & echo \$\$ > $PIDS/other.pid; while :; do if [ -e $PIDS/go ]; then rm -f $PIDS/go; sleep 1004 & fi; sleep 0.05; done' &
  exec sleep 1005" >/dev/null 2>&1 &
track $!
wait_for 10 test -s "$PIDS/other.pid"
P=$(cat "$PIDS/other.pid")
SC=cgrouparch-scope_b-$P.scope
SLB=cgrouparch.slice/cgrouparch-scope_b.slice
wait_for 5 test -n "$(child_of "$P")"
PC=$(child_of "$P")
t_check_d "the pid-file process is moved into $SC" wait_for 15 in_unit_cg "$P" "$SLB/$SC"
t_eq "systemd knows it there" "$(prop "$SC" ActiveState) $(prop "$SC" Slice)" "active cgrouparch-scope_b.slice"
t_check "its existing child followed" in_unit_cg "$PC" "$SLB/$SC"
t_check "the rest of $SCOPE_SRC stays there" eval 'in_unit_cg "$(sed -n "s/^PPid:\t//p" /proc/$P/status)" "app.slice/$SCOPE_SRC"'
touch "$PIDS/go"
late() { local c; for c in $(cat /proc/"$P"/task/*/children 2>/dev/null); do grep -q 1004 /proc/"$c"/cmdline 2>/dev/null && echo "$c"; done; }
wait_for 5 test -n "$(late)"
PL=$(late)
t_check "a child forked later starts inside the scope" eval '[ -n "$PL" ] && in_unit_cg "$PL" "$SLB/$SC"'

# ---- refused: the manager itself (init.scope) ----
echo "$SD_PID" > "$PIDS/mgr.pid"
refused() { grep -q "Not placing pid $SD_PID named by $PIDS/mgr.pid (in init.scope)" "$LOG"; }
t_check_d "a pid file naming the manager (init.scope) is refused, with the reason in the log" wait_for 5 refused
t_check "the manager stays in init.scope" in_unit_cg "$SD_PID" init.scope
rm -f "$PIDS/mgr.pid"

# ---- the pid-file owner rules (issue 12) apply here too: placement starts from the same judged
# pid as in the other modes. A file owned by nobody naming a root process (the manager's
# demo2.service is not started yet; use a root sleep of the test's own) is refused. ----
sleep 300 & ROOTP=$!; track $ROOTP
echo "$ROOTP" > "$PIDS/mgr.pid"; chown nobody "$PIDS/mgr.pid"
owner_refused() { grep -q "named by $PIDS/mgr.pid.*owned by uid $(id -u nobody), which is neither root nor the process" "$LOG"; }
t_check_d "a pid file owned by nobody naming a root process is refused (owner rule)" wait_for 10 owner_refused
t_check "the root process was not moved into a scope" bash -c "! grep -q cgrouparch-mgr /proc/$ROOTP/cgroup"
rm -f "$PIDS/mgr.pid"; kill "$ROOTP" 2>/dev/null

# ---- systemctl stop stops every process of the placed service ----
sdctl stop demo.service
gone() { ! kill -0 "$M1" 2>/dev/null && ! kill -0 "$C1" 2>/dev/null; }
t_check "systemctl stop demo.service leaves none of its processes ($M1, $C1)" wait_for 10 gone
sdctl start demo.service
t_check_d "started again, it goes straight into its slice" wait_for 10 placed_a
M2=$(sd_main_pid demo.service)

# ---- restart_services = no: pending until the operator restarts ----
write_conf no
sdctl reload taskd-test.service
sdctl start demo2.service
wait_for 10 test -s "$PIDS/demo2.pid"
D0=$(sd_main_pid demo2.service)
SLC=cgrouparch.slice/cgrouparch-svc_c.slice
t_check_d "demo2.service gets its drop-in" wait_for 10 test -f "$DROPINS/demo2.service.d/50-cgrouparch-slice.conf"
t_check "it is pending in taskd-state.json" wait_for 5 state_has '"demo2.service"'
t_check_d "STATUS= shows 1 pending restart" wait_for 5 status_has "1 pending restart"
t_eq "it is not restarted and still runs in app.slice" "$(sd_main_pid demo2.service) $(prop demo2.service ControlGroup)" "$D0 $MGR_CG/app.slice/demo2.service"
# `cgarch why` (issue 18): the pending restart, from taskd-placements.json
why_pending() { WOUT=$(cgarch -c "$CFG" why "$D0" 2>&1); [ $? = 1 ] && grep -q "not placed yet" <<<"$WOUT"; }
t_check "cgarch why on its main pid: not placed yet (exit 1)" wait_for 5 why_pending
t_check "cgarch why names the unit and the pending restart" \
  grep -q "demo2.service: the service moves at its next restart (restart_services = no)" <<<"$WOUT"
t_check "cgarch why: should be in cgrouparch-svc_c.slice, is in app.slice" \
  grep -q "slice: should be in cgrouparch-svc_c.slice, is in app.slice" <<<"$WOUT"
D0C=$(child_of "$D0")
t_check "cgarch why on its child: the same, through the main pid" \
  eval 'cgarch -c "$CFG" why --json "$D0C" | jq -e ".verdict == \"pending\" and .file.reason_key == \"restart\" and .chain == [$D0C, $D0]" >/dev/null'
sdctl restart demo2.service
placed_c() { [ "$(prop demo2.service ControlGroup)" = "$MGR_CG/$SLC/demo2.service" ]; }
t_check "after a manual restart it runs in cgrouparch-svc_c.slice" wait_for 10 placed_c
why_placed() { cgarch -c "$CFG" why --json "$(sd_main_pid demo2.service)" >"$SD_W/why.json" 2>/dev/null; }
t_check "cgarch why on the new main pid: in place (exit 0)" wait_for 10 why_placed
t_eq "cgarch why: the move seen, from app.slice to the slice" \
  "$(jq -r '[.verdict, .last_move.from, .last_move.to] | join(" ")' "$SD_W/why.json")" "placed app.slice cgrouparch-svc_c.slice"
t_check_d "and is no longer pending (STATUS=, state file)" wait_for 10 eval 'status_has "0 pending restart" && grep -q "\"pending\":[[:space:]]*\[\]" "$STATE"'

# ---- removing nodes: units and scopes return, nothing is killed ----
D1=$(sd_main_pid demo2.service); D1C=$(child_of "$D1")
snapshot 2 "{\"cpu\": {\"sub_cgroup\": {$(node svc_a), $(node mgr)}}}"
t_check_d "svc_c removed: demo2's drop-in is removed" wait_for 10 eval '! test -e "$DROPINS/demo2.service.d/50-cgrouparch-slice.conf"'
t_check "restart_services = no: demo2 is not restarted, nothing killed, shown as returning" \
  wait_for 5 eval '[ "$(sd_main_pid demo2.service)" = "$D1" ] && kill -0 "$D1" && kill -0 "$D1C" && state_has "\"returning\""'
# systemd moves processes only into a new scope or a delegated unit, so they cannot go back into
# $SCOPE_SRC: they get a scope of their own in the managed root slice (which carries no weights).
RS=cgrouparch.slice/cgrouparch-$P.scope
t_check_d "scope_b removed: the scope's processes move to cgrouparch-$P.scope in cgrouparch.slice" \
  wait_for 10 eval 'in_unit_cg "$P" "$RS" && in_unit_cg "$PC" "$RS" && in_unit_cg "$PL" "$RS"'
t_check "that scope's description names where they came from" eval 'prop cgrouparch-$P.scope Description | grep -q "from $SCOPE_SRC"'
t_check "the emptied scope of scope_b is gone" eval '[ "$(prop "$SC" ActiveState)" != active ]'
t_check "none of them was killed" eval 'kill -0 "$P" && kill -0 "$PC" && kill -0 "$PL"'
sdctl restart demo2.service
t_check "after its restart demo2 is back in app.slice" wait_for 10 eval '[ "$(prop demo2.service ControlGroup)" = "$MGR_CG/app.slice/demo2.service" ]'

write_conf yes
sdctl reload taskd-test.service
wait_for 5 grep -q "Reloaded" "$LOG"
snapshot 3 "{\"cpu\": {\"sub_cgroup\": {$(node mgr)}}}"
back_a() { [ "$(prop demo.service ControlGroup)" = "$MGR_CG/app.slice/demo.service" ]; }
t_check_d "svc_a removed with restart_services = yes: demo is restarted back into app.slice" wait_for 15 back_a
t_check "its drop-in is gone" eval '! test -e "$DROPINS/demo.service.d/50-cgrouparch-slice.conf"'
t_check "taskd is still running" sd_active taskd-test.service

sdctl stop taskd-test.service demo.service demo2.service
t_done
