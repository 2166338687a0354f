#!/usr/bin/env bash
# cg-accountd counts what processes really did: the CPU time of a busy loop placed in a test
# cgroup, and the bytes of direct IO (dd oflag=direct / iflag=direct) to a file on a real disk.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"

acctd_setup usage || { t_fail "setup (redis, cgroups)"; t_done; exit; }
acctd_start
s0=$(acctd_wait_new_slot) || { t_fail "first sample"; cat "$ACCTD_LOG"; t_done; exit; }

# ---- CPU: 800 ms burned in test_cgroup_b_sub1 (cpu + cpuacct) ----
u0=$(acctd_cpu_usage "$s0" test_cgroup_b test_cgroup_b_sub1)
p0=$(acctd_cpu_usage "$s0" test_cgroup_b)
burned=$(acctd-burn 800 "$CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cgroup.procs" \
                        "$CG_DIR/cpuacct/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cgroup.procs")
s1=$(acctd_wait_new_slot)
u1=$(acctd_cpu_usage "$s1" test_cgroup_b test_cgroup_b_sub1)
p1=$(acctd_cpu_usage "$s1" test_cgroup_b)
delta=$((u1 - u0))
t_diag "burned $burned ns; sample delta $delta ns (slots $s0 -> $s1)"
# cpuacct also charges the few instructions between the move and the burn, and exit: allow 5% + 20 ms
t_check "usage grew by the CPU time burned (±5% + 20 ms)" \
  $PY -c "import sys; b, d = $burned, $delta; sys.exit(0 if abs(d - b) <= b * 0.05 + 20e6 else 1)"
t_check "the parent's usage (hierarchical) grew at least as much" bash -c "[ $((p1 - p0)) -ge $((delta - 1000000)) ]"
ua=$(acctd_cpu_usage "$s1" test_cgroup_a); ua0=$(acctd_cpu_usage "$s0" test_cgroup_a)
t_eq "an idle sibling did not grow" "$((ua - ua0))" 0

# ---- a cgroup removed and re-created under the daemon (its cached fd goes stale: ENODEV) ----
rmdir "$CG_DIR/cpu/$CGROOT/test_cgroup_a" "$CG_DIR/cpuacct/$CGROOT/test_cgroup_a"
a_is() { jget "$(acctd_sample "$(acctd_latest_slot)")" "j['cpu']['sub_cgroup']['test_cgroup_a']['value'] $1" | grep -q True; }
t_check "a removed cgroup reads as {}" wait_for 3 a_is "== {}"
mkdir "$CG_DIR/cpu/$CGROOT/test_cgroup_a" "$CG_DIR/cpuacct/$CGROOT/test_cgroup_a"
t_check "re-created, it is read again (usage 0)" wait_for 3 a_is ".get('usage') == 0"
t_check "no read errors logged for it" bash -c "! grep -q 'Failed to read' '$ACCTD_LOG'"

# ---- block IO: direct writes then reads on the disk behind $T_TMP ----
# The device the counters use is the whole disk (a partition's IO is counted at its disk).
dev=$(findmnt -no MAJ:MIN -T "$T_TMP" | head -1 | tr -d ' ')
sysdev=/sys/dev/block/$dev
if [ -e "$sysdev/partition" ]; then dev=$(cat "$sysdev/../dev"); sysdev=/sys/dev/block/$dev; fi
if [ -z "$dev" ] || [ ! -d "$sysdev/queue" ] || [ "${dev%%:*}" = 0 ]; then
  t_skip "direct IO counted" "$T_TMP is not on a real block device (dev '${dev:-none}')"
  stop_pid "$ACCTD_PID"; t_done; exit
fi
t_diag "IO on $T_TMP goes to $dev ($(basename "$(readlink -f "$sysdev")"), scheduler $(cat "$sysdev/queue/scheduler" 2>/dev/null))"
blk=$CG_DIR/blkio/$CGROOT/test_cgroup_a
MB=16
s0=$(acctd_wait_new_slot)
w0=$(acctd_blkio "$s0" "$dev" Write test_cgroup_a); r0=$(acctd_blkio "$s0" "$dev" Read test_cgroup_a)
rootw0=$(acctd_blkio "$s0" "$dev" Write)
sh -c "echo \$\$ > $blk/cgroup.procs && exec dd if=/dev/zero of=$T_TMP/io.bin bs=1M count=$MB oflag=direct status=none" \
  || t_diag "dd write failed"
sh -c "echo \$\$ > $blk/cgroup.procs && exec dd if=$T_TMP/io.bin of=/dev/null bs=1M count=$MB iflag=direct status=none" \
  || t_diag "dd read failed"
s1=$(acctd_wait_new_slot)
w1=$(acctd_blkio "$s1" "$dev" Write test_cgroup_a); r1=$(acctd_blkio "$s1" "$dev" Read test_cgroup_a)
rootw1=$(acctd_blkio "$s1" "$dev" Write)
want=$((MB * 1048576))
t_diag "wrote $want: Write +$((w1 - w0)); read $want: Read +$((r1 - r0))"
# the filesystem adds a little metadata IO (allocation, inode): allow 1 MiB over, nothing under
t_check "Write bytes grew by what dd wrote" bash -c "[ $((w1 - w0)) -ge $want ] && [ $((w1 - w0)) -le $((want + 1048576)) ]"
t_check "Read bytes grew by what dd read" bash -c "[ $((r1 - r0)) -ge $want ] && [ $((r1 - r0)) -le $((want + 1048576)) ]"
t_check "the managed root (recursive) includes the child's writes" bash -c "[ $((rootw1 - rootw0)) -ge $want ]"
t_check "the no-limit throttle entry sets no limit" bash -c "! grep -q . $CG_DIR/blkio/$CGROOT/blkio.throttle.read_bps_device"
stop_pid "$ACCTD_PID"
t_done
