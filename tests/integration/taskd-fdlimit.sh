#!/usr/bin/env bash
# cg-taskd's scope of reads within RLIMIT_NOFILE: a full pass (or a batch of events) walks each
# pid file's directory once and keeps its O_PATH fd until the pass ends, but holds at most 64
# of them (plus one path's ancestors), so a glob over more directories than the fd limit allows
# still reads every file. Here 150 directories under /x/*/main.pid, each with a root-owned pid
# file naming its own sleeping process, and cg-taskd started with `ulimit -n 128` (under
# systemd the soft limit is 1,024 and max_dirs is 1,024): every process is placed, at start (a
# full pass) and again after being moved out (the next pass), and no read fails with EMFILE.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"
N=${N:-150}

t_need_root_v1 "taskd fd limit"

cg_new_root
taskd_mkcg svc other
taskd_snapshot 1 '{"cpu": {"sub_cgroup": {"svc": {}, "other": {}}}, "blkio": {"sub_cgroup": {"svc": {}, "other": {}}}}'
MANY=$T_TMP/many
pids=()
for ((i = 0; i < N; i++)); do
  mkdir -p "$MANY/d$i"
  sleep 600 & pids+=($!); track $!
  echo $! >"$MANY/d$i/main.pid"
done
CFG=$T_TMP/taskd.conf
printf '[taskd]\ninterval = 2\n[pid_files]\nsvc = %s\n' "$MANY/*/main.pid" | write_cfg "$CFG"

# all_in PATH: every test process is in /$CGROOT/PATH in cpu
all_in() { local p; for p in "${pids[@]}"; do [ "$(cg_of "$p" cpu)" = "/$CGROOT/$1" ] || return 1; done; }

( ulimit -n 128 && exec cg-taskd -c "$CFG" -v ) >>"$TASKD_LOG" 2>&1 &
TASKD_PID=$!; track $TASKD_PID
t_check "cg-taskd started with ulimit -n 128" wait_for 10 taskd_started 0
t_eq "its fd limit is 128" "$(awk '/^Max open files/ { print $4 }' /proc/$TASKD_PID/limits)" 128
t_check "all $N processes placed by the first pass" wait_for 15 all_in svc
# moved out by hand: the next pass (every 2 s) reads all $N files again and puts them back
for p in "${pids[@]}"; do echo "$p" >"$CG_DIR/cpu/$CGROOT/other/cgroup.procs"; done
t_check "all $N back after the next pass" wait_for 15 all_in svc
t_eq "no read failed for want of an fd" "$(log_count 'Too many open files|EMFILE')" 0
t_eq "no pid file was refused or unreadable" "$(log_count 'Ignoring pid file|Not moving pid')" 0
t_check "cg-taskd still runs" kill -0 "$TASKD_PID"
stop_taskd
t_done
