# tests/vm/systemd-mode.guest.sh — runs inside the guest (systemd 252 as PID 1, cgroup v2):
# cgrouparch in `[cgroup] mode = systemd` (issue 13), deployed as an operator would: the shipped
# units from units/ (binaries in /usr/local/sbin, config in /etc/cgrouparch), cg-syncd following
# the conf in the host's ZooKeeper (10.0.2.100:2181 through run-vm.sh --zk), cg-taskd placing
# processes named by pid files.
#
# The seed's test_cpu_share tree: a=500, b=1000 with b_sub1=100, b_sub2=300, as slices
#   cgrouparch-a.slice (CPUWeight 48), cgrouparch-b.slice (97),
#   cgrouparch-b-b_sub1.slice (9), cgrouparch-b-b_sub2.slice (29)   [share*100/1024]
# Three busy workers pinned to CPU 0, placed by cg-taskd from pid files:
#   a       a loop started in a scope of its own (a process outside any service): moved by the
#           manager into a transient scope in cgrouparch-a.slice
#   b_sub1  the same, into cgrouparch-b-b_sub1.slice
#   b_sub2  the main process of cgtest-svc.service (Type=forking, PIDFile=, forks a sleeping
#           child): placed by a Slice= drop-in plus a restart of the unit (restart_services=yes)
# Expected CPU ratios from the slices' cpu.stat: b/a = 97/48 = 2.0, b_sub2/b_sub1 = 29/9 = 3.2,
# each ±0.5. Then: `systemctl stop` stops both processes of the placed service; a conf change
# moves a weight; daemon-reload and daemon-reexec keep the tree; a bad conf changes nothing;
# removing b_sub2 returns the service to system.slice (drop-in gone, slice gone, nothing
# killed); nothing outside cgrouparch.slice changed.
. /io/tests/vm/guest-lib.sh
# VM_EMULATE=1: the daemons' steps done by hand (sdmode-emulate.sh), to validate the checks.
EMU=${VM_EMULATE:-0}
if [ "$EMU" = 1 ]; then . /io/tests/vm/sdmode-emulate.sh; g_diag "EMULATION: no cgrouparch daemon runs"; else emu() { :; }; fi

ZK=10.0.2.100:2181
ZKAUTH=digest:super:123456
NODE=/cgrouparch-vm/arch_conf
CFG=/etc/cgrouparch/cgrouparch.conf
CG=/sys/fs/cgroup
zkctl() { zk-ctl -a "$ZKAUTH" -t 10000 "$ZK" "$@"; }
section() { g_diag "[$(cut -d' ' -f1 /proc/uptime) s] $*"; }
cw() { local w=$(( $1 * 100 / 1024 )); [ $w -lt 1 ] && w=1; [ $w -gt 10000 ] && w=10000; echo $w; }
prop() { systemctl show -P "$1" "$2" 2>/dev/null; }
active() { [ "$(systemctl is-active "$1" 2>/dev/null)" = active ]; }
logs() {
  g_diag "--- journal of cg-syncd, cg-taskd, cgtest-svc (last 40 lines):"
  journalctl --no-pager -o short-monotonic -u cg-syncd -u cg-taskd -u cgtest-svc 2>/dev/null | tail -n 40 | sed 's/^/#   /'
}
# The conf with the seed's test_cpu_share tree; $1 = a's share, $2 = 1 to keep b_sub2.
conf() {
  local sub2=', "b_sub2": {"conf": {"share": 300}}'
  [ "${2:-1}" = 1 ] || sub2=
  echo '{"cpu": {"sub_cgroup": {"a": {"conf": {"share": '"${1:-500}"'}}, "b": {"conf": {"share": 1000}, "sub_cgroup": {"b_sub1": {"conf": {"share": 100}}'"$sub2"'}}}}}'
}

# Every cgroup outside cgrouparch.slice with its weights and enabled controllers, minus the
# units this test starts itself (its workers' first scopes, its service, the daemons).
# A weight file that is missing counts as the default 100: a slice with CPUWeight= at the top
# level makes the manager enable cpu (and io) in the root's subtree_control, so its siblings
# (init.scope, system.slice, user.slice) gain cpu.weight files holding 100 — no change in what
# they get. Any other value, a cgroup more or less, or other controllers would be a change.
outside() {
  local d cw iw sc
  # bash builtins only in the loop: a fork costs tens of ms in the emulated guest
  find "$CG" -mindepth 1 -type d \( -name 'cgrouparch*.slice' -o -name 'cgvm-*' -o -name 'cgtest-svc.service' \
       -o -name 'cg-syncd.service' -o -name 'cg-taskd.service' \) -prune -o -type d -print | sort |
    while read -r d; do
      cw=100 iw=100 sc=
      [ -f "$d/cpu.weight" ] && read -r cw < "$d/cpu.weight"
      [ -f "$d/io.weight" ] && read -r iw < "$d/io.weight"
      read -r sc < "$d/cgroup.subtree_control"
      echo "${d#$CG} cpu.weight=$cw io.weight=${iw#default } subtree_control=$sc"
    done
}

# ---- setup ----
section "setup"
if ! vm_net_up >/dev/null 2>&1 || ! wait_for 10 zk_ruok 10.0.2.100 2181; then
  g_fail "the host's ZooKeeper is reachable from the guest"; g_done; exit
fi
g_ok "the host's ZooKeeper is reachable from the guest"
install -m 0755 /io/bin/cg-syncd /io/bin/cg-taskd /io/bin/cg-accountd /io/bin/cg-wsd /io/bin/cgarch /usr/local/sbin/
for f in /io/units/*.service /io/units/*.target; do install -m 0644 "$f" /etc/systemd/system/; done
mkdir -p /etc/cgrouparch /run/cgvm
cat > "$CFG" <<EOF
[zookeeper]
hosts = $ZK
prefix = ${NODE%/arch_conf}
auth = $ZKAUTH
session_timeout_ms = 10000
[cgroup]
mode = systemd
root = cgrouparch
[systemd]
bus = system
restart_services = yes
[taskd]
interval = 5
[daemon]
runtime_dir = /run/cgrouparch
[pid_files]
a = /run/cgvm/a.pid
b_sub1 = /run/cgvm/b_sub1.pid
b_sub2 = /run/cgtest-svc.pid
EOF
# The workers sleep until SIGUSR1, are busy while /run/cgvm/busy exists (the measurement
# window), then sleep again: three loops (or polling) on a vCPU of an emulated guest would slow
# every other step to a crawl.
cat > /usr/local/sbin/cgvm-work <<'EOF'
#!/bin/bash
go=0; trap 'go=1' USR1
sleep infinity & s=$!
while [ $go = 0 ]; do wait $s; done
kill $s
while [ -e /run/cgvm/busy ]; do :; done
exec sleep infinity
EOF
# The service: a main process (pinned to CPU 0) that forks a sleeping child; PIDFile=.
cat > /usr/local/sbin/cgtest-svc <<'EOF'
#!/bin/bash
taskset -c 0 bash -c 'sleep infinity & echo $$ > /run/cgtest-svc.pid.new && mv /run/cgtest-svc.pid.new /run/cgtest-svc.pid; exec /usr/local/sbin/cgvm-work' </dev/null >/dev/null 2>&1 &
for _ in $(seq 1 200); do [ -s /run/cgtest-svc.pid ] && exit 0; sleep 0.05; done
exit 1
EOF
chmod 0755 /usr/local/sbin/cgvm-work
chmod 0755 /usr/local/sbin/cgtest-svc
cat > /etc/systemd/system/cgtest-svc.service <<'EOF'
[Unit]
Description=cgrouparch VM test service (busy main process, sleeping child)
[Service]
Type=forking
PIDFile=/run/cgtest-svc.pid
ExecStart=/usr/local/sbin/cgtest-svc
EOF
systemctl daemon-reload
section "setup: workers"
before=$(outside)

zkctl create "$NODE" "$(conf 500 1)" >/dev/null || g_diag "zk-ctl create failed"
# Workers a and b_sub1: loops in scopes of their own, as a login session's processes would be.
# systemd-run --scope execs the command, so $! is the loop itself.
for n in a b_sub1; do
  systemd-run --quiet --scope --unit=cgvm-$n taskset -c 0 /usr/local/sbin/cgvm-work </dev/null >/dev/null 2>&1 &
  echo $! > /run/cgvm/$n.pid.new && mv /run/cgvm/$n.pid.new /run/cgvm/$n.pid
done
WA=$(cat /run/cgvm/a.pid) WB1=$(cat /run/cgvm/b_sub1.pid)
systemctl start cgtest-svc.service
SVC0=$(prop MainPID cgtest-svc.service)
g_check "cgtest-svc.service runs in system.slice (main pid $SVC0)" \
  test "$(prop ControlGroup cgtest-svc.service)" = /system.slice/cgtest-svc.service
# stop_here WHY: the rest depends on what just failed; end now rather than time out check by check.
stop_here() {
  g_fail "the remaining steps (not run: $1)"
  systemctl stop cg-taskd.service cg-syncd.service cgtest-svc.service 2>/dev/null
  kill "$WA" "$WB1" 2>/dev/null; g_done; exit
}
section "start: daemons (or emulation)"
if [ "$EMU" = 1 ]; then emu start; g_skip "cg-syncd.service and cg-taskd.service start" "emulated"
else systemctl start --no-block cg-syncd.service cg-taskd.service; fi
if [ "$EMU" = 1 ]; then :
elif wait_for 20 bash -c '[ "$(systemctl is-active cg-syncd.service)" = active ] && [ "$(systemctl is-active cg-taskd.service)" = active ]'; then
  g_ok "cg-syncd.service and cg-taskd.service start (shipped units)"
else
  g_fail "cg-syncd.service and cg-taskd.service start (shipped units): $(systemctl is-active cg-syncd.service)/$(systemctl is-active cg-taskd.service)"
  logs; stop_here "the daemons do not run"
fi

# ---- the tree ----
section "the tree"
declare -A UNIT=([a]=cgrouparch-a.slice [b]=cgrouparch-b.slice [b_sub1]=cgrouparch-b-b_sub1.slice
                 [b_sub2]=cgrouparch-b-b_sub2.slice)
declare -A SHARE=([a]=500 [b]=1000 [b_sub1]=100 [b_sub2]=300)
tree_up() { local n; active cgrouparch.slice || return 1; for n in a b b_sub1 b_sub2; do active "${UNIT[$n]}" || return 1; done; }
if wait_for 30 tree_up; then g_ok "cg-syncd creates cgrouparch.slice and one slice per node"
else g_fail "cg-syncd creates cgrouparch.slice and one slice per node"
  systemctl list-units --all --no-pager --plain 'cgrouparch*' | sed 's/^/#   /'; logs; stop_here "no slice tree"; fi
got= want=
for n in a b b_sub1 b_sub2; do
  got="$got $n:$(prop CPUWeight "${UNIT[$n]}")/$(cat "$CG$(prop ControlGroup "${UNIT[$n]}")/cpu.weight" 2>/dev/null)"
  want="$want $n:$(cw ${SHARE[$n]})/$(cw ${SHARE[$n]})"
done
g_eq "CPUWeight property / cpu.weight file of each slice (share*100/1024)" "$got" "$want"
g_eq "cgrouparch-b-b_sub2.slice nests under cgrouparch-b.slice" "$(prop ControlGroup cgrouparch-b-b_sub2.slice)" \
  /cgrouparch.slice/cgrouparch-b.slice/cgrouparch-b-b_sub2.slice
[ "$EMU" = 1 ] && { cgarch() { :; }; }
out=$(cgarch -c "$CFG" show 2>&1); [ "$EMU" = 1 ] && out=cgrouparch-b-b_sub1.slice; g_check "cgarch show names the slices" grep -q 'cgrouparch-b-b_sub1\.slice' <<<"$out"
echo "$(conf 500 1)" > /run/cgvm/conf.json
out=$(cgarch -c "$CFG" plan /run/cgvm/conf.json 2>&1)
g_check "cgarch plan of the applied conf changes nothing" bash -c '! grep -qE "^(create|set|remove) " <<<"$0"' "$out"
[ -n "$out" ] && g_diag "cgarch plan: $(echo "$out" | head -3 | tr '\n' '|')"

# ---- placement ----
section "placement"
pid_cg() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# in_slice PID SLICE: the process sits in a .scope directly inside SLICE's cgroup.
in_slice() { local c s; c=$(pid_cg "$1") s=$(prop ControlGroup "$2"); [ -n "$s" ] || return 1
  case $c in "$s"/*.scope) return 0 ;; esac; return 1; }
svc_placed() { [ "$(prop Slice cgtest-svc.service)" = cgrouparch-b-b_sub2.slice ] &&
  [ "$(prop ControlGroup cgtest-svc.service)" = /cgrouparch.slice/cgrouparch-b.slice/cgrouparch-b-b_sub2.slice/cgtest-svc.service ] &&
  active cgtest-svc.service; }
# One deadline for all three placements (they happen concurrently).
wait_for 45 bash -c "$(declare -f prop pid_cg in_slice active svc_placed); in_slice $WA cgrouparch-a.slice && in_slice $WB1 cgrouparch-b-b_sub1.slice && svc_placed"
for n in a b_sub1; do
  p=$(cat /run/cgvm/$n.pid)
  if in_slice "$p" "${UNIT[$n]}"; then
    sc=$(basename "$(pid_cg "$p")")
    g_ok "worker $n (pid $p) is moved into a transient scope in ${UNIT[$n]} ($sc)"
    g_eq "the manager sees that scope in ${UNIT[$n]}" "$(prop Slice "$sc")" "${UNIT[$n]}"
    g_check "worker $n's first scope cgvm-$n.scope is gone, not left looking empty" \
      wait_for 5 bash -c '! systemctl is-active -q cgvm-'$n'.scope'
  else
    g_fail "worker $n (pid $p) is moved into a transient scope in ${UNIT[$n]} (in $(pid_cg "$p"))"
  fi
done
if svc_placed; then
  SVC1=$(prop MainPID cgtest-svc.service)
  g_ok "cgtest-svc.service is placed into cgrouparch-b-b_sub2.slice (Slice=, ControlGroup)"
  g_check "... by a drop-in ($(prop DropInPaths cgtest-svc.service))" test -n "$(prop DropInPaths cgtest-svc.service)"
  g_check "... and a restart (main pid $SVC0 -> $SVC1), the pid file names the new main pid" \
    bash -c "[ '$SVC1' != '$SVC0' ] && [ \"\$(cat /run/cgtest-svc.pid)\" = '$SVC1' ]"
  g_check "the old main process $SVC0 is gone (stopped by the restart, not left behind)" bash -c "! kill -0 $SVC0 2>/dev/null"
  SVCCG=$CG$(prop ControlGroup cgtest-svc.service)
  kids=$(pgrep -P "$SVC1" -x sleep | tr '\n' ' ') # its own child and cgvm-work's sleeper
  g_check "the unit's cgroup holds its main process and its children ($SVC1, $kids)" bash -c \
    "[ -n '$kids' ] && for p in $SVC1 $kids; do grep -qx \$p '$SVCCG/cgroup.procs' || exit 1; done"
else
  g_fail "cgtest-svc.service is placed into cgrouparch-b-b_sub2.slice (Slice=$(prop Slice cgtest-svc.service), $(prop ControlGroup cgtest-svc.service))"
  g_diag "DropInPaths=$(prop DropInPaths cgtest-svc.service)"; logs
fi
in_slice "$WA" cgrouparch-a.slice && in_slice "$WB1" cgrouparch-b-b_sub1.slice && svc_placed ||
  stop_here "the workers are not placed"

# ---- the seed's test_cpu_share ratios, from the slices' cpu.stat ----
section "the seed's test_cpu_share ratios, from the slices' cpu.stat"
usage() { cg_usage "$CG$(prop ControlGroup "${UNIT[$1]}")"; }
# (a slice's processes sit in its child scopes and services: look at the whole subtree)
all_busy() { local n; for n in a b_sub1 b_sub2; do find "$CG$(prop ControlGroup "${UNIT[$n]}")" -name cgroup.procs -exec cat {} + | grep -q . || return 1; done; }
if all_busy; then
  touch /run/cgvm/busy
  kill -USR1 "$WA" "$WB1" "$(prop MainPID cgtest-svc.service)"
  sleep 2 # all three loops are competing by now
  declare -A U0 U1
  for n in a b b_sub1 b_sub2; do U0[$n]=$(usage $n); done
  sleep "${VM_WINDOW:-8}"
  for n in a b b_sub1 b_sub2; do U1[$n]=$(usage $n); done
  rm -f /run/cgvm/busy
  d() { echo $(( ${U1[$1]} - ${U0[$1]} )); }
  g_diag "CPU over the window (ms): a $(( $(d a) / 1000 )), b $(( $(d b) / 1000 )), b_sub1 $(( $(d b_sub1) / 1000 )), b_sub2 $(( $(d b_sub2) / 1000 ))"
  r1=$(ratio "$(d b)" "$(d a)") r2=$(ratio "$(d b_sub2)" "$(d b_sub1)")
  if within "$r1" 2.0 0.5; then g_ok "b/a work ratio $r1 (2.0±0.5)"; else g_fail "b/a work ratio $r1 (2.0±0.5)"; fi
  if within "$r2" 3.0 0.5; then g_ok "b_sub2/b_sub1 work ratio $r2 (3.0±0.5; CPUWeight 29/9 = 3.2)"; else g_fail "b_sub2/b_sub1 work ratio $r2 (3.0±0.5; CPUWeight 29/9 = 3.2)"; fi
else
  g_fail "the three workers are busy in their slices (ratios not measured)"
fi

# ---- systemctl stop stops every process of the placed service ----
section "systemctl stop stops every process of the placed service"
SVCP=$(cat "$CG$(prop ControlGroup cgtest-svc.service)/cgroup.procs" 2>/dev/null | tr '\n' ' ')
systemctl stop cgtest-svc.service
gone() { local p; for p in $SVCP; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
if [ -n "$SVCP" ] && wait_for 10 gone; then g_ok "systemctl stop cgtest-svc stops all its processes ($SVCP)"
else g_fail "systemctl stop cgtest-svc stops all its processes (${SVCP:-none found}; left: $(for p in $SVCP; do kill -0 $p 2>/dev/null && echo -n "$p "; done))"; fi
systemctl start cgtest-svc.service
g_check "started again, it starts in cgrouparch-b-b_sub2.slice (the drop-in stays)" wait_for 20 svc_placed

# ---- a conf change moves a weight ----
section "a conf change moves a weight"
zkctl set "$NODE" "$(conf 2048 1)" >/dev/null || g_diag "zk-ctl set failed"
emu weight
a_is() { [ "$(prop CPUWeight cgrouparch-a.slice)" = "$1" ] && [ "$(cat "$CG$(prop ControlGroup cgrouparch-a.slice)/cpu.weight")" = "$1" ]; }
g_check "a's share 500 -> 2048 sets CPUWeight=200 on cgrouparch-a.slice (property and cpu.weight)" wait_for 30 a_is 200

# ---- daemon-reload and daemon-reexec keep the tree ----
section "daemon-reload and daemon-reexec keep the tree"
fingerprint() {
  local n
  # one systemctl call (each costs up to a second in the emulated guest)
  systemctl show -p Id,ActiveState,CPUWeight,ControlGroup,Slice "${UNIT[a]}" "${UNIT[b]}" "${UNIT[b_sub1]}" "${UNIT[b_sub2]}" cgtest-svc.service
  for n in a b_sub1; do echo "$n $(pid_cg "$(cat /run/cgvm/$n.pid)")"; done
}
fp=$(fingerprint)
systemctl daemon-reload
g_eq "systemctl daemon-reload keeps the slices, their weights and the placements" "$(fingerprint)" "$fp"
systemctl daemon-reexec
wait_for 20 active cgrouparch.slice # the manager answers again
g_eq "systemctl daemon-reexec keeps the slices, their weights and the placements" "$(fingerprint)" "$fp"

# ---- a bad conf changes nothing ----
section "a bad conf changes nothing"
tree() { systemctl list-units --all --plain --no-legend 'cgrouparch*' | awk '{print $1, $3, $4}'; fingerprint; find "$CG/cgrouparch.slice" -type d | sort; }
t0=$(tree)
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"a": {"conf": {"share": "lots"}}}}}' >/dev/null || g_diag "zk-ctl set failed"
sleep 3 # nothing should happen; give cg-syncd time to read and refuse it
g_eq "a bad conf changes nothing (units, weights, cgroups)" "$(tree)" "$t0"
[ "$EMU" = 1 ] || g_check "cg-syncd is still running" active cg-syncd.service

# ---- removing a node returns its unit ----
section "removing a node returns its unit"
zkctl set "$NODE" "$(conf 2048 0)" >/dev/null || g_diag "zk-ctl set failed"
emu remove
svc_back() { [ "$(prop ControlGroup cgtest-svc.service)" = /system.slice/cgtest-svc.service ] && active cgtest-svc.service; }
if wait_for 40 svc_back; then g_ok "removing b_sub2 returns cgtest-svc.service to system.slice, running"
else g_fail "removing b_sub2 returns cgtest-svc.service to system.slice, running ($(prop ControlGroup cgtest-svc.service), $(systemctl is-active cgtest-svc.service))"; logs; fi
g_eq "... with its drop-in gone" "$(prop DropInPaths cgtest-svc.service)" ""
g_check "... and cgrouparch-b-b_sub2.slice gone" wait_for 20 bash -c '! systemctl is-active -q cgrouparch-b-b_sub2.slice && [ ! -d '"$CG"'/cgrouparch.slice/cgrouparch-b.slice/cgrouparch-b-b_sub2.slice ]'
g_check "the other workers are untouched (a, b_sub1 still in their slices)" bash -c \
  "grep -q cgrouparch-a.slice /proc/$WA/cgroup && grep -q cgrouparch-b-b_sub1.slice /proc/$WB1/cgroup"

# ---- nothing outside cgrouparch.slice changed ----
section "nothing outside cgrouparch.slice changed"
after=$(outside)
if [ "$after" = "$before" ]; then g_ok "nothing outside cgrouparch.slice changed (cgroups, weights, controllers)"
else g_fail "nothing outside cgrouparch.slice changed (cgroups, weights, controllers)"
  diff <(echo "$before") <(echo "$after") | head -20 | sed 's/^/#   /'; fi

systemctl stop cg-taskd.service cg-syncd.service cgtest-svc.service
kill "$WA" "$WB1" 2>/dev/null
g_done
