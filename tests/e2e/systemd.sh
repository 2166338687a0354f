#!/usr/bin/env bash
# systemd.sh — the whole system under a real systemd manager (a private `systemd --user`, see
# lib-systemd.sh), with the units of units/ adapted for it, a real ZooKeeper and Redis:
#   start cgrouparch.target -> all four active (READY reached)
#   a conf change in ZooKeeper shows in the cgroup tree, in Redis and on a websocket subscriber
#   restart each daemon alone -> the others stay active, the sample stream has at most a short gap
#   kill -9 each -> systemd restarts it and the system converges
#   SIGSTOP each -> the watchdog restarts it
#   stop cgrouparch.target -> all stop, nothing left running
# A program whose --version fails is a failure; only a missing tool (systemd, ...) skips.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-systemd.sh"
PY=/usr/bin/python3
DAEMONS="cg-syncd cg-taskd cg-accountd cg-wsd"

why=$(sd_usable) || { t_skip "systemd end-to-end" "$why"; t_done; exit; }

# Every daemon and the CLI must run: one whose --version fails is broken, and that is a failure,
# not a skip (a skip is only for a tool this machine lacks, as sd_usable decides above).
broken=""
for d in $DAEMONS cgarch; do
  "$BUILD/$d" --version >/dev/null 2>&1 || broken="$broken $d"
done
t_eq "every program runs (--version)" "$broken" ""
[ -z "$broken" ] || { t_done; exit 1; }
REAL=($DAEMONS)
is_real() { case " ${REAL[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
CGARCH_OK=1

# ZooKeeper and Redis first, from the cgroups we were started in (not the manager's).
start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
start_redis || { t_fail "Redis starts"; t_done; exit 1; }
sd_setup || { t_fail "private manager environment"; t_done; exit 1; }

cg_new_root e2e              # the daemons' [cgroup] root
ZK_PREFIX=/cgrouparch-e2e
RUNTIME_DIR=$XDG_RUNTIME_DIR/cgrouparch  # RuntimeDirectory=cgrouparch of a user manager
WSD_PORT=$(free_port)
CFG=$SD_W/cgrouparch.conf
mkdir -p "$SD_W/pids"
write_cfg "$CFG" <<EOF
[taskd]
interval = 2
[pid_files]
test_cgroup_a = $SD_W/pids/worker.pid
[wsd]
port = $WSD_PORT
www_dir = $SD_WWW
EOF
RP=cgroup_arch
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

sd_start || { t_fail "systemd --user manager starts"; tail -20 "$SD_W/manager.log" | sed 's/^/# /'; t_done; exit 1; }
t_ok "systemd --user manager runs in its own cgroup ($SD_CG/mgr)"
sd_install_units "$CFG"

# The seed's conf in ZooKeeper before the start, so every daemon has something to do.
conf_put() { "$BUILD/cgarch" -q -c "$CFG" conf put - >/dev/null 2>"$T_TMP/put.err"; }
if [ $CGARCH_OK = 1 ]; then
  echo "$SEED_CONF" | conf_put || { t_diag "$(cat "$T_TMP/put.err")"; }
fi

# A workload named by a pid file (cg-taskd's job).
( exec sleep 600 ) &
WORKER=$!; track $WORKER
echo $WORKER > "$SD_W/pids/worker.pid"

# ---- start the target ----
units=(); for d in "${REAL[@]}"; do units+=("$d.service"); done
t0=$(date +%s%N)
sdctl start cgrouparch.target
all=1; for u in "${units[@]}"; do sd_active "$u" || { all=0; t_diag "$u: $(systemctl --user is-active "$u")"; }; done
t_check "start cgrouparch.target: ${REAL[*]} active (READY reached) in $(( ($(date +%s%N) - t0) / 1000000 )) ms" [ $all = 1 ]
if [ $all = 0 ]; then
  for u in "${units[@]}"; do systemctl --user status "$u" --no-pager -n 15 2>&1 | sed 's/^/#   /'; done
fi

# STATUS= lines say what each daemon is doing.
for d in "${REAL[@]}"; do
  st=$(systemctl --user show -p StatusText --value "$d.service")
  t_check "$d reports a STATUS= line (\"${st:0:60}\")" [ -n "$st" ]
done

# ---- a conf change travels: ZooKeeper -> tree -> snapshot -> Redis -> websocket ----
if is_real cg-wsd; then
  "$PY" - "$WSD_PORT" "$T_TMP/ws.log" <<'EOF' &
import json, sys, time, websocket
port, out = sys.argv[1], sys.argv[2]
f = open(out, "a", buffering=1)
while True:
    try:
        ws = websocket.WebSocket()
        ws.connect("ws://127.0.0.1:%s/" % port, timeout=5)
        ws.send(json.dumps({"cmd": "subscribe_account"}))
        while True:
            m = ws.recv()
            f.write(m.replace("\n", " ") + "\n")
    except Exception as e:  # wsd restarts in this test: reconnect
        f.write("# reconnect: %s\n" % e)
        time.sleep(0.2)
EOF
  WS_PID=$!; track $WS_PID
fi

NEW_CONF='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1024}}, "e2e_new": {"conf": {"share": 300}}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}'
if [ $CGARCH_OK = 1 ] && is_real cg-syncd; then
  wait_for 20 test -d "$CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1"
  t_check "the seed conf is applied (tree under $CGROOT)" test -d "$CG_DIR/cpuacct/$CGROOT/test_cgroup_b/test_cgroup_b_sub1"
  echo "$NEW_CONF" | conf_put
  t_check "conf change stored in ZooKeeper" [ $? = 0 ]
  t_check "conf change shows in the tree (e2e_new created, cpu.shares 300)" \
    wait_for 20 grep -qx 300 "$CG_DIR/cpu/$CGROOT/e2e_new/cpu.shares"
  t_check "conf change prunes test_cgroup_b" wait_for 10 test ! -d "$CG_DIR/cpu/$CGROOT/test_cgroup_b"
  t_check "conf change in the snapshot" wait_for 10 grep -q e2e_new "$RUNTIME_DIR/arch_conf.json"
  if is_real cg-accountd; then
    t_check "conf change in Redis ($RP/arch_conf)" wait_for 20 sh -c "redis-cli -p $REDIS_PORT get $RP/arch_conf | grep -q e2e_new"
    t_check "samples in Redis carry the new cgroup" wait_for 20 sh -c \
      "redis-cli -p $REDIS_PORT --scan --pattern '$RP/account/*' | sort | tail -1 | xargs -r redis-cli -p $REDIS_PORT get | grep -q e2e_new"
  fi
  if is_real cg-wsd && is_real cg-accountd; then
    t_check "a websocket subscriber sees the new cgroup" wait_for 20 grep -q e2e_new "$T_TMP/ws.log"
  fi
else
  t_skip "conf change end to end" "needs cgarch conf put and cg-syncd"
fi
if is_real cg-taskd && is_real cg-syncd; then
  t_check "cg-taskd placed the pid-file worker in test_cgroup_a" \
    wait_for 20 grep -qx "$WORKER" "$CG_DIR/cpu/$CGROOT/test_cgroup_a/cgroup.procs"
fi

# ---- restart each alone: the others keep running under the same pid ----
slot_now() { date +%s; }
s_before=$(slot_now)
for d in "${REAL[@]}"; do
  declare -A before=()
  for o in "${REAL[@]}"; do before[$o]=$(sd_main_pid "$o.service"); done
  sdctl restart "$d.service"
  ok=1
  sd_restarted "$d.service" "${before[$d]}" || { ok=0; t_diag "$d not restarted"; }
  for o in "${REAL[@]}"; do
    [ "$o" = "$d" ] && continue
    { sd_active "$o.service" && [ "$(sd_main_pid "$o.service")" = "${before[$o]}" ]; } || { ok=0; t_diag "$o disturbed"; }
  done
  t_check "restart $d alone: it comes back, the others keep their pid" [ $ok = 1 ]
  unset before
done
if is_real cg-accountd; then
  sleep 2 # let a sample land after the last restart
  s_after=$(( $(slot_now) - 1 ))
  gap=0 maxgap=0
  for ((s = s_before; s <= s_after; s++)); do
    if [ "$(rcli exists "$RP/account/$s")" = 1 ]; then gap=0; else gap=$((gap + 1)); fi
    [ $gap -gt $maxgap ] && maxgap=$gap
  done
  n=$((s_after - s_before + 1))
  t_check "sample stream during the restarts: longest gap $maxgap s (<= 3) over $n s" [ $maxgap -le 3 -a $maxgap -lt $n ]
fi

# ---- kill -9: systemd restarts each, and the system converges ----
# A main pid of 0 would make kill signal our own process group: check it first.
pid_ok() { case $1 in ''|0|1|*[!0-9]*) return 1 ;; esac; return 0; }
for d in "${REAL[@]}"; do
  p=$(sd_main_pid "$d.service")
  pid_ok "$p" || { t_fail "kill -9 $d: it has no main pid"; continue; }
  kill -KILL "$p"
  t_check "kill -9 $d: restarted by systemd" wait_for 15 sd_restarted "$d.service" "$p"
done
if [ $CGARCH_OK = 1 ] && is_real cg-syncd; then
  echo "$SEED_CONF" | conf_put
  t_check "after the kills a conf change still converges (test_cgroup_b back, e2e_new gone)" \
    wait_for 20 sh -c "test -d '$CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1' && test ! -d '$CG_DIR/cpu/$CGROOT/e2e_new'"
  if is_real cg-accountd; then
    t_check "... and reaches Redis" wait_for 20 sh -c "redis-cli -p $REDIS_PORT get $RP/arch_conf | grep -q test_cgroup_b_sub1"
  fi
fi

# ---- SIGSTOP: the watchdog notices and restarts (all at once to keep the test short) ----
declare -A stopped=()
for d in "${REAL[@]}"; do
  stopped[$d]=$(sd_main_pid "$d.service")
  pid_ok "${stopped[$d]}" && kill -STOP "${stopped[$d]}"
done
for d in "${REAL[@]}"; do
  pid_ok "${stopped[$d]}" || { t_fail "SIGSTOP $d: it has no main pid"; continue; }
  t_check "SIGSTOP $d: the watchdog restarts it" wait_for 30 sd_restarted "$d.service" "${stopped[$d]}"
  r=$(systemctl --user show -p NRestarts --value "$d.service")
  [ -n "$r" ] && t_diag "$d restarted $r times in all"
done
grep -q "Watchdog timeout" "$SD_W/manager.log" && t_diag "manager log: $(grep -c 'Watchdog timeout' "$SD_W/manager.log") watchdog timeouts"

# ---- stop the target: everything stops, no process left ----
[ -n "${WS_PID:-}" ] && stop_pid "$WS_PID"
sdctl stop cgrouparch.target
# PartOf= queues the services' stop jobs; `systemctl stop` returns when the target's is done.
all=1; for u in "${units[@]}"; do wait_for 15 sd_inactive "$u" || { all=0; t_diag "$u still $(systemctl --user is-active "$u")"; }; done
t_check "stop cgrouparch.target: all inactive" [ $all = 1 ]
left=$(for u in "${units[@]}"; do cat "$(sd_unit_cg "$u")/cgroup.procs" 2>/dev/null; done | wc -l)
t_check "no process left in the services' cgroups ($left)" [ "$left" = 0 ]
# Whatever is left in the manager's subtree apart from the manager itself (init.scope).
left=$(find "$CG_DIR/unified/$SD_CG/mgr" -name cgroup.procs -not -path '*/init.scope/*' -exec cat {} + 2>/dev/null | wc -l)
t_check "nothing left running under the manager ($left processes)" [ "$left" = 0 ]
t_check "the snapshot survived (RuntimeDirectoryPreserve=yes)" test -s "$RUNTIME_DIR/arch_conf.json"

t_done
