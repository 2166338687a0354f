# tests/lib-taskd.sh — helpers for the cg-taskd tests. Source after tests/lib.sh.
TREE=$BUILD/tests/tools/taskd-tree
RUNTIME_DIR=${RUNTIME_DIR:-$T_TMP/run}
PIDS=$T_TMP/pids
mkdir -p "$RUNTIME_DIR" "$PIDS"
TASKD_LOG=$T_TMP/taskd.log
: >"$TASKD_LOG"

# taskd_mkcg PATH...: creates PATH under the test root in cpu, cpuacct and blkio (what cg-syncd
# would do), so these tests do not depend on cg-syncd or ZooKeeper.
taskd_mkcg() {
  local h p
  for h in cpu cpuacct blkio; do for p in "$@"; do mkdir -p "$CG_DIR/$h/$CGROOT/$p"; done; done
}
# taskd_snapshot VERSION CONF_JSON: writes the applied snapshot atomically, as cg-syncd does.
taskd_snapshot() {
  printf '{"version": %s, "value": %s}\n' "$1" "$2" >"$RUNTIME_DIR/.arch_conf.tmp"
  mv -f "$RUNTIME_DIR/.arch_conf.tmp" "$RUNTIME_DIR/arch_conf.json"
}
# cg_of PID HIER: PID's cgroup in hierarchy HIER, e.g. /cgrouparch-test-12-3/svc_a
cg_of() { awk -F: -v h="$2" '$2 == h { print $3 }' "/proc/$1/cgroup" 2>/dev/null; }
# tree_pids PID: PID and all its descendants (children of every thread)
tree_pids() {
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
# tree_in PID PATH [HIERS]: every thread of every process of the tree is in /$CGROOT/PATH in
# each hierarchy (default cpu cpuacct blkio); the tree must have at least MIN_TREE processes.
tree_in() {
  local want=/$CGROOT/$2 hiers=${3:-cpu cpuacct blkio} n=0 p t h
  for p in $(tree_pids "$1"); do
    n=$((n + 1))
    for t in /proc/"$p"/task/*; do
      for h in $hiers; do
        [ "$(awk -F: -v h="$h" '$2 == h { print $3 }' "$t/cgroup" 2>/dev/null)" = "$want" ] || return 1
      done
    done
  done
  [ "$n" -ge "${MIN_TREE:-1}" ]
}
# tree_count PID: number of processes in the tree
tree_count() { tree_pids "$1" | wc -l; }
# tree_threads PID: number of threads in the tree
tree_threads() { local p n=0; for p in $(tree_pids "$1"); do n=$((n + $(ls /proc/"$p"/task | wc -l))); done; echo $n; }

# start_tree PIDFILE [taskd-tree args...]: starts a test service; sets TREE_PID.
start_tree() {
  local f=$1; shift
  "$TREE" --pidfile "$f" "$@" &
  TREE_PID=$!; track "$TREE_PID"
  wait_for 5 test -s "$f"
}
# start_taskd [args...]: starts cg-taskd with $CFG, logging to $TASKD_LOG; waits until it runs.
start_taskd() {
  local before
  before=$(grep -c "Placing processes" "$TASKD_LOG")
  cg-taskd -c "$CFG" -v "$@" >>"$TASKD_LOG" 2>&1 &
  TASKD_PID=$!; track "$TASKD_PID"
  wait_for 10 taskd_started "$before"
}
taskd_started() { [ "$(grep -c "Placing processes" "$TASKD_LOG")" -gt "$1" ]; }
stop_taskd() { stop_pid "$TASKD_PID"; }
# inotify_watches PID: "inotify wd:" lines of every inotify fd of PID; bash builtins only, so
# that sampling does not load cg-taskd's process-event source with forks of its own
inotify_watches() {
  local f l n=0
  for f in /proc/"$1"/fdinfo/*; do
    while read -r l; do [[ $l == "inotify wd:"* ]] && n=$((n + 1)); done 2>/dev/null <"$f"
  done
  echo $n
}
# log_count REGEX: how many log lines match
log_count() { grep -cE "$1" "$TASKD_LOG"; }
# full passes so far (debug log)
passes() { grep -c "Full pass:" "$TASKD_LOG"; }
# wait_pass N: waits until more than N full passes were logged
wait_pass() { wait_for 5 eval "[ \$(passes) -gt $1 ]"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
