#!/usr/bin/env bash
# cg-taskd following changes: the applied conf moving a name to another parent; a cgroup that
# does not exist yet (no error storm, placed after the next snapshot); SIGHUP with new pid-file
# patterns and with a broken file; the interval's reconcile; a pid-file directory created later;
# globs in the directory part; sd_notify READY/STATUS/WATCHDOG/STOPPING; cg-taskd restarted
# while services come and go.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"

t_need_root_v1 "taskd conf"

cg_new_root
CONF1='{"cpu": {"sub_cgroup": {"p1": {"sub_cgroup": {"svc": {"conf": {"share": 300}}}}, "p2": {}, "late": {}}}, "blkio": {"sub_cgroup": {"svc": {}}}}'
CONF2='{"cpu": {"sub_cgroup": {"p1": {}, "p2": {"sub_cgroup": {"svc": {"conf": {"share": 300}}}}, "late": {}, "extra": {}}}, "blkio": {"sub_cgroup": {"svc": {}}}}'
taskd_mkcg p1/svc p2 svc extra
taskd_snapshot 1 "$CONF1"
CFG=$T_TMP/taskd.conf
printf '[taskd]\ninterval = 30\n[pid_files]\nsvc = %s\nlate = %s\n' \
  "$PIDS/svc.pid" "$PIDS/late.pid" | write_cfg "$CFG"

# sd_notify listener (a datagram socket, as systemd's)
NOTIFY_SOCKET=$T_TMP/notify.sock
NOTIFY_LOG=$T_TMP/notify.log
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
f = open(sys.argv[2], "a", buffering=1)
while True:
    f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$NOTIFY_SOCKET" "$NOTIFY_LOG" &
track $!
wait_for 5 test -S "$NOTIFY_SOCKET"

start_tree "$PIDS/svc.pid" --children 2 --threads 2 --thread-child; S=$TREE_PID
start_tree "$PIDS/late.pid" --children 1; L=$TREE_PID
NOTIFY_SOCKET=$NOTIFY_SOCKET WATCHDOG_USEC=200000 start_taskd
t_check "svc tree placed in p1/svc (cpu, cpuacct) and svc (blkio)" \
  wait_for 5 eval 'tree_in $S p1/svc "cpu cpuacct" && tree_in $S svc blkio'
t_check "READY=1 sent" wait_for 3 grep -q "READY=1" "$NOTIFY_LOG"
t_check "STATUS says what it placed" wait_for 3 grep -qE "STATUS=placed 4 processes in 1 cgroup, last pass [0-9.]+ ms" "$NOTIFY_LOG"
t_check "watchdog pings at WATCHDOG_USEC/2" wait_for 3 eval '[ $(grep -c "WATCHDOG=1" "$NOTIFY_LOG") -ge 3 ]'

# A cgroup that does not exist: warned once, no storm, nothing else disturbed.
t_check "missing cgroup warned" wait_for 3 grep -q "Cgroup cpu:late for 'late' does not exist yet" "$TASKD_LOG"
for i in 1 2 3 4 5 6; do
  start_tree "$PIDS/late.pid" --rename; stop_pid "$L"; L=$TREE_PID
done
# positive event first: cg-taskd has handled the last pid file (its pid in the debug line)
t_check "the last restart seen" wait_for 3 grep -q "Pid file $PIDS/late.pid: pid $L," "$TASKD_LOG"
t_eq "warned once despite 6 restarts" "$(log_count "does not exist yet")" 1
t_check "no write errors logged" eval "! grep -q 'Failed to move' '$TASKD_LOG'"
# cg-syncd creates it and writes a new snapshot: retried then.
taskd_mkcg late
taskd_snapshot 2 "$CONF1"
t_check "placed after the next snapshot change" wait_for 3 tree_in $L late "cpu cpuacct"

# The conf moves svc from p1 to p2: its processes follow at once.
taskd_mkcg p2/svc
t0=$(ms_now)
taskd_snapshot 3 "$CONF2"
t_check "svc moved to p2/svc after the conf change" wait_for 3 tree_in $S p2/svc "cpu cpuacct"
t_diag "conf change to moved: $(( $(ms_now) - t0 )) ms"
t_check "still in blkio svc" tree_in $S svc blkio
t_check "followed the new version" grep -q "Following applied conf version 3" "$TASKD_LOG"

# An invalid snapshot is refused, the last good conf kept.
printf '{"version": 4, "value": {"cpu": {"sub_cgroup": {"../x": {}}}}}\n' >"$RUNTIME_DIR/.t" && mv "$RUNTIME_DIR/.t" "$RUNTIME_DIR/arch_conf.json"
t_check "a bad snapshot is logged" wait_for 3 grep -q "Ignoring the applied conf" "$TASKD_LOG"
t_check "the placement is kept" tree_in $S p2/svc "cpu cpuacct"
taskd_snapshot 5 "$CONF2"
t_check "a good snapshot again" wait_for 3 grep -q "Following applied conf version 5" "$TASKD_LOG"

# SIGHUP: a new pattern (directory does not exist yet, glob in the dir part) and interval = 1.
printf '[taskd]\ninterval = 1\n[pid_files]\nsvc = %s\nlate = %s\nextra = %s\n' \
  "$PIDS/svc.pid" "$PIDS/late.pid" "$PIDS/later/*/main.pid" | write_cfg "$CFG"
kill -HUP $TASKD_PID
t_check "SIGHUP reloads" wait_for 3 grep -q "Reloaded $CFG: 3 pid-file rules, every 1 s" "$TASKD_LOG"
mkdir -p "$PIDS/later/web"
start_tree "$PIDS/later/web/main.pid" --children 1; E=$TREE_PID
t_check "a pid file in a directory created after the reload is placed" wait_for 3 tree_in $E extra "cpu cpuacct"
mkdir -p "$PIDS/later/db"
start_tree "$PIDS/later/db/main.pid" --rename; E2=$TREE_PID
t_check "another directory matching the glob too" wait_for 3 tree_in $E2 extra "cpu cpuacct"
# the interval: a process moved away comes back within ~1 s without any event
echo $S >"$CG_DIR/cpu/$CGROOT/cgroup.procs"
t_check "interval reconcile puts a moved-away process back" wait_for 4 tree_in $S p2/svc "cpu cpuacct"

# A broken config on SIGHUP: logged, the running config kept.
cp "$CFG" "$CFG.good"
printf '[taskd]\ninterval = -3\n' >"$CFG"
kill -HUP $TASKD_PID
t_check "a bad config on SIGHUP is logged" wait_for 3 grep -q "Not reloading, keeping the running config: .*taskd.conf:2" "$TASKD_LOG"
t_check "the daemon still runs" kill -0 $TASKD_PID
cp "$CFG.good" "$CFG"

# cg-taskd restarted while services come and go.
stop_taskd
t_check "STOPPING=1 on SIGTERM" wait_for 3 grep -q "STOPPING=1" "$NOTIFY_LOG"
start_tree "$PIDS/svc.pid" --rename --children 3 --threads 1; S2=$TREE_PID
stop_pid "$S"
start_tree "$PIDS/late.pid" --rename --children 1; L2=$TREE_PID
stop_pid "$L"
start_taskd
t_check "after the restart: new svc tree placed" wait_for 3 tree_in $S2 p2/svc "cpu cpuacct"
t_check "after the restart: new late tree placed" wait_for 3 tree_in $L2 late "cpu cpuacct"
ok=1
for i in $(seq 1 15); do
  start_tree "$PIDS/svc.pid" --rename --children 2; N=$TREE_PID
  stop_pid "$S2"; S2=$N
  MIN_TREE=3 wait_for 3 tree_in $S2 p2/svc "cpu cpuacct" || { ok=0; t_diag "restart $i not placed"; break; }
done
t_check "15 more restarts while running: each placed" test $ok = 1
# and while taskd itself restarts in the middle of service restarts
for i in 1 2 3; do
  stop_taskd
  start_tree "$PIDS/svc.pid" --rename --children 1; N=$TREE_PID; stop_pid "$S2"; S2=$N
  start_taskd
  MIN_TREE=2 wait_for 3 tree_in $S2 p2/svc "cpu cpuacct" || { ok=0; break; }
done
t_check "services restarted while cg-taskd was down are placed when it is back" test $ok = 1
t_eq "errors logged: only the bad snapshot and the bad config" "$(log_count '^<3>')" 2
t_done
