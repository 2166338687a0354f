#!/usr/bin/env bash
# limits-v1.sh — the limits of the arch conf (issue 16) on this machine's real cgroup v1
# hierarchies, under a test-owned [cgroup] root. Each limit is applied by `cgarch apply`, the
# processes are placed by cg-taskd (which now places in the memory and pids hierarchies too) or
# cgexec, and each check fails without the limit:
#   - quota_percent 50: a busy loop gets 0.5 +- 0.05 CPU-s/s (cpuacct.usage over ~2 s; the
#     cgroup and the test root have share 262144, so other load on the machine cannot starve
#     it below the cap);
#   - memory max 64 MiB: a process writing 512 MiB is OOM-killed inside its cgroup (failcnt and
#     oom_kill counted there, its peak stays at the cap, the test root's parent untouched);
#   - pids max 10: the parent and 9 children fill it; the fork of the 11th task fails with EAGAIN;
#   - read_bps 2 MiB/s on a loop device made here: an O_DIRECT dd in the cgroup reads at
#     2 MiB/s +- 15% (never the machine's disks);
#   - removing the keys returns every file to "no limit"; a device missing here warns and the
#     rest applies.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"

[ "$(id -u)" = 0 ] || { t_skip "limits v1" "needs root"; t_done; exit; }
for h in cpu cpuacct blkio memory pids; do
  [ -d "$CG_DIR/$h" ] || { t_skip "limits v1" "no v1 $h hierarchy"; t_done; exit; }
done
command -v python3 >/dev/null || { t_skip "limits v1" "python3 missing"; t_done; exit; }

cg_new_root limits
CFG=$T_TMP/cgrouparch.conf
printf '[taskd]\ninterval = 30\n[pid_files]\ncpu_half = %s\nmem64 = %s\npids10 = %s\n' \
  "$PIDS/cpu.pid" "$PIDS/mem.pid" "$PIDS/pids.pid" | write_cfg "$CFG"

# A loop device of our own for the IO limit (detached at exit, before the file goes).
LOOP=
if command -v losetup >/dev/null && dd if=/dev/zero of="$T_TMP/disk.img" bs=1M count=32 status=none; then
  LOOP=$(losetup -f --show "$T_TMP/disk.img" 2>/dev/null) || LOOP=
  [ -n "$LOOP" ] && at_exit "losetup -d $LOOP"
fi
IO_DEV=${LOOP:-/dev/cgrouparch-no-loop}

conf_all() {
  cat <<EOF
{"cpu": {"sub_cgroup": {"cpu_half": {"conf": {"share": 262144, "quota_percent": 50}}}},
 "memory": {"sub_cgroup": {"mem64": {"conf": {"max": 67108864, "low": 1048576}}}},
 "pids": {"sub_cgroup": {"pids10": {"conf": {"max": 10}}}},
 "blkio": {"sub_cgroup": {"io2m": {"conf": {"read_bps": {"$IO_DEV": 2097152, "/dev/cgrouparch-missing": 1}}}}}}
EOF
}
conf_all >"$T_TMP/limits.json"
# the same tree with every limit key removed
echo '{"cpu": {"sub_cgroup": {"cpu_half": {"conf": {"share": 262144}}}}, "memory": {"sub_cgroup": {"mem64": {}}}, "pids": {"sub_cgroup": {"pids10": {}}}, "blkio": {"sub_cgroup": {"io2m": {}}}}' >"$T_TMP/bare.json"

cgf() { cat "$CG_DIR/$1/$CGROOT/$2" 2>/dev/null; }

# ---- apply ----
out=$(cgarch -c "$CFG" validate "$T_TMP/limits.json" 2>&1)
t_eq "validate a conf with limits" "$?" 0
out=$(cgarch -c "$CFG" plan "$T_TMP/limits.json" 2>&1)
t_check "plan shows set-limit ops" grep -q "set-limit cpu:cpu_half quota_percent 50 (was none)" <<<"$out"
t_check "plan notes the missing device" grep -q "note: blkio device /dev/cgrouparch-missing: no such device" <<<"$out"
t_check "plan notes that v1 has no memory high" bash -c '! grep -q "memory:mem64 high" <<<"$1"' _ "$out"
out=$(cgarch -c "$CFG" apply "$T_TMP/limits.json" 2>&1); rc=$?
t_eq "apply exits 0 (a missing device only warns)" "$rc" 0
t_check "apply warns about the missing device" grep -q "warning: blkio device /dev/cgrouparch-missing" <<<"$out"
t_diag "$(tail -1 <<<"$out")"
t_eq "cpu.cfs_quota_us" "$(cgf cpu cpu_half/cpu.cfs_quota_us)/$(cgf cpu cpu_half/cpu.cfs_period_us)" "50000/100000"
t_eq "memory.limit_in_bytes" "$(cgf memory mem64/memory.limit_in_bytes)" 67108864
t_eq "memory.soft_limit_in_bytes" "$(cgf memory mem64/memory.soft_limit_in_bytes)" 1048576
t_eq "pids.max" "$(cgf pids pids10/pids.max)" 10
if [ -n "$LOOP" ]; then
  t_eq "blkio.throttle.read_bps_device" "$(cgf blkio io2m/blkio.throttle.read_bps_device)" \
    "$((16#$(stat -c %t "$LOOP"))):$((16#$(stat -c %T "$LOOP"))) 2097152"
fi
out=$(cgarch -c "$CFG" plan "$T_TMP/limits.json" 2>&1)
t_check "re-plan: no op left (notes only)" bash -c '! grep -qE "^(set|clear|create|remove)" <<<"$1"' _ "$out"

# ---- cg-taskd places the test processes (cpu+cpuacct, memory, pids hierarchies) ----
taskd_snapshot 1 "$(cat "$T_TMP/limits.json")"
GO=$T_TMP/go
# Each waits for $GO (after its placement), then runs its load.
sh -c 'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done; exec sh -c "while :; do :; done"' _ "$PIDS/cpu.pid" "$GO.cpu" &
CPU_PID=$!; track $CPU_PID
sh -c 'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done
       exec python3 -c "
import time
b = []
for i in range(512):
    b.append(b\"x\" * (1 << 20))   # written pages: charged to the cgroup
print(\"allocated\", flush=True)
time.sleep(30)"' _ "$PIDS/mem.pid" "$GO" >"$T_TMP/mem.out" 2>&1 &
MEM_PID=$!; track $MEM_PID
sh -c 'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done
       exec python3 -c "
import os, errno, time, sys
kids, err = [], None
while len(kids) < 50:
    try:
        pid = os.fork()
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno)); break
    if pid == 0:
        time.sleep(30); os._exit(0)
    kids.append(pid)
print(len(kids), err, flush=True)
for k in kids: os.kill(k, 9)
for k in kids: os.waitpid(k, 0)"' _ "$PIDS/pids.pid" "$GO" >"$T_TMP/pids.out" 2>&1 &
PIDS_PID=$!; track $PIDS_PID
wait_for 5 test -s "$PIDS/cpu.pid" && wait_for 5 test -s "$PIDS/mem.pid" && wait_for 5 test -s "$PIDS/pids.pid"
start_taskd
# in_cg PID NAME HIER...: PID is in /$CGROOT/NAME of every HIER (its polling `sleep`s come and
# go, so the process itself is checked; taskd-place.sh covers whole trees)
in_cg() {
  local p=$1 n=$2 h; shift 2
  for h in "$@"; do [ "$(cg_of "$p" "$h")" = "/$CGROOT/$n" ] || return 1; done
}
t_check "cg-taskd places the busy loop in cpu and cpuacct" wait_for 5 in_cg "$CPU_PID" cpu_half cpu cpuacct
t_check "cg-taskd places the allocator in memory" wait_for 5 in_cg "$MEM_PID" mem64 memory
t_check "cg-taskd places the forker in pids" wait_for 5 in_cg "$PIDS_PID" pids10 pids
t_check "and nowhere else (the allocator stays in the root of cpu)" \
  test "$(cg_of "$MEM_PID" cpu)" = "$(cg_of $$ cpu)"
touch "$GO.cpu"

# ---- quota_percent 50 (alone: the other cases start after it) ----
usage() { cat "$CG_DIR/cpuacct/$CGROOT/cpu_half/cpuacct.usage"; }
# The managed root competes with every task of the machine's root cgroup (load ~50 on 2 CPUs
# here, other tests): the test's own root gets the largest share, so that only the quota can
# keep the loop below one CPU.
echo 262144 >"$CG_DIR/cpu/$CGROOT/cpu.shares"
wait_for 5 eval '[ $(usage) -gt 100000000 ]' # the loop runs (0.1 CPU-s used)
read -r p0 th0 < <(awk '{ v[$1] = $2 } END { print v["nr_periods"], v["nr_throttled"] }' "$CG_DIR/cpu/$CGROOT/cpu_half/cpu.stat")
# usage and clock read side by side in one process (forks of cat and date between them take
# tens of ms on a loaded machine)
ratio=$(python3 -c '
import sys, time
f = sys.argv[1]
use = lambda: int(open(f).read())
u0, t0 = use(), time.monotonic_ns()
time.sleep(3)
u1, t1 = use(), time.monotonic_ns()
print("%.3f %d" % ((u1 - u0) / (t1 - t0), (t1 - t0) // 1000000))' "$CG_DIR/cpuacct/$CGROOT/cpu_half/cpuacct.usage")
read -r ratio ms <<<"$ratio"
read -r p1 th1 < <(awk '{ v[$1] = $2 } END { print v["nr_periods"], v["nr_throttled"] }' "$CG_DIR/cpu/$CGROOT/cpu_half/cpu.stat")
t_diag "busy loop with quota_percent 50: $ratio CPU-s/s over $ms ms; throttled in $((th1 - th0)) of $((p1 - p0)) periods"
t_check "quota_percent 50: 0.5 +- 0.05 CPU-s/s (got $ratio)" \
  awk -v r="$ratio" 'BEGIN { exit !(r >= 0.45 && r <= 0.55) }'
t_check "the CFS throttled it ($((th1 - th0)) periods)" test $((th1 - th0)) -gt 0
kill "$CPU_PID" 2>/dev/null
touch "$GO"

# ---- memory max 64 MiB ----
wait_for 20 eval '! kill -0 '"$MEM_PID"' 2>/dev/null'
wait "$MEM_PID" 2>/dev/null; mem_rc=$?
failcnt=$(cgf memory mem64/memory.failcnt)
oomk=$(awk '$1 == "oom_kill" { print $2 }' "$CG_DIR/memory/$CGROOT/mem64/memory.oom_control")
peak=$(cgf memory mem64/memory.max_usage_in_bytes)
t_diag "allocator: exit $mem_rc, failcnt $failcnt, oom_kill ${oomk:-n/a}, peak $peak, output: $(tr '\n' ' ' <"$T_TMP/mem.out")"
t_eq "memory max: the allocator is killed by SIGKILL" "$mem_rc" 137
t_check "it never finished allocating 512 MiB" bash -c '! grep -q allocated "$1"' _ "$T_TMP/mem.out"
t_check "memory.failcnt > 0 ($failcnt)" test "${failcnt:-0}" -gt 0
[ -n "$oomk" ] && t_check "the OOM kill was counted in its cgroup (oom_kill $oomk)" test "$oomk" -ge 1
t_check "its peak stayed at the cap ($peak <= 64 MiB)" test "${peak:-999999999999}" -le 67108864

# ---- pids max 10 ----
wait "$PIDS_PID" 2>/dev/null
read -r n_kids err <"$T_TMP/pids.out"
t_diag "forker: $n_kids children, then $err"
t_eq "pids max 10: the parent and 9 children fit, the 11th task's fork fails with EAGAIN" "$n_kids $err" "9 EAGAIN"
t_check "pids.events counts the refusal" awk '$1 == "max" { exit !($2 >= 1) }' "$CG_DIR/pids/$CGROOT/pids10/pids.events"

# ---- read_bps 2 MiB/s on our loop device ----
if [ -z "$LOOP" ]; then
  t_skip "read_bps" "no loop device (losetup)"
else
  # dd's own timing ("N bytes ... copied, S s, ..."): the start-up of cgexec and dd on a loaded
  # machine is not the device's rate
  out=$(LC_ALL=C cgexec -g "blkio:$CGROOT/io2m" dd if="$LOOP" of=/dev/null bs=64k count=96 iflag=direct 2>&1)
  rc=$?
  rate=$(awk '/bytes/ && /copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i - 1); printf "%.3f", $1 / s / 1048576 }' <<<"$out")
  t_diag "O_DIRECT dd of 6 MiB in the cgroup: $rate MiB/s"
  t_eq "dd in the cgroup exits 0" "$rc" 0
  t_check "read_bps 2 MiB/s: 2 +- 15% (got $rate MiB/s)" awk -v r="$rate" 'BEGIN { exit !(r >= 1.7 && r <= 2.3) }'
fi

# ---- a removed key returns the file to "no limit" ----
stop_taskd
out=$(cgarch -c "$CFG" apply "$T_TMP/bare.json" 2>&1)
t_eq "apply without the keys exits 0" "$?" 0
t_diag "$(tail -1 <<<"$out")"
t_eq "cpu.cfs_quota_us back to -1" "$(cgf cpu cpu_half/cpu.cfs_quota_us)" -1
t_check "memory.limit_in_bytes back to unlimited" awk -v v="$(cgf memory mem64/memory.limit_in_bytes)" 'BEGIN { exit !(v > 2^62) }'
t_check "memory.soft_limit_in_bytes back to unlimited" awk -v v="$(cgf memory mem64/memory.soft_limit_in_bytes)" 'BEGIN { exit !(v > 2^62) }'
t_eq "pids.max back to max" "$(cgf pids pids10/pids.max)" max
t_eq "blkio.throttle.read_bps_device has no rule" "$(cgf blkio io2m/blkio.throttle.read_bps_device)" ""
out=$(cgarch -c "$CFG" plan "$T_TMP/bare.json" 2>&1)
t_eq "then nothing to do" "$out" "nothing to do"
t_done
