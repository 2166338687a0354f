# tests/vm/accountd-limits.guest.sh — runs inside the guest (systemd 252 as PID 1, kernel 6.1,
# pure cgroup v2 with PSI): cg-accountd in `[cgroup] mode = systemd` samples the limits' counters
# and pressure (issue 16 item 4, issue 18 item 1) of slices that `cgarch apply` made with limits,
# into a Redis of the guest's own (tests/e2e/vm-accountd-limits.sh drives it):
#   - cpu: a loop in cgrouparch-cpu_q.slice (CPUQuota 20%) has nr_throttled and throttled_usec
#     rising (v2 cpu.stat, read once with usage_usec); two loops sharing one CPU in
#     cgrouparch-cpu_free.slice (no quota) are never throttled but stall each other: its
#     pressure some_usec rises; every cpu node has pressure some_usec and full_usec;
#   - memory: a holder in cgrouparch-mem_hold.slice (20 MB written to tmpfs) shows usage and
#     peak >= 16 MiB; `tail
#     /dev/zero` in cgrouparch-mem32.slice (MemoryMax 32M) is OOM-killed: oom_kill >= 1, peak at
#     the cap and never above, memory pressure some_usec > 0; v2 keys are usage, peak, oom_kill
#     (no failcnt);
#   - pids: a shell and 8 children in cgrouparch-pids_n.slice are pids.current 9;
#   - blkio nodes carry io.pressure (io_n has an IOWeight, so the manager enables io there and it
#     has an io.stat: a cgroup without its subsystem's counter file reads as {}, without
#     pressure); pids nodes no pressure.
# The loops run only while they are measured: the guest is emulated (TCG), every busy process
# slows the rest.
. /io/tests/vm/guest-lib.sh

CFG=/etc/cgrouparch/cgrouparch.conf
RUN=/run/cgrouparch
section() { g_diag "[$(cut -d' ' -f1 /proc/uptime) s] $*"; }
rcli() { redis-cli -p 6379 "$@"; }
latest() { rcli --scan --pattern 'cgroup_arch/account/*' | sed 's|.*/||' | sort -n | tail -1; }
# sg NODE FIELD[.KEY]: that of the newest sample (tests/tools/sample-get).
sg() { local s; s=$(latest); [ -n "$s" ] && rcli get "cgroup_arch/account/$s" | sample-get "$1" "$2"; }
sg_ge() { local v; v=$(sg "$1" "$2") && [ -n "$v" ] && [ "$v" -ge "$3" ]; }
sg_is() { [ "$(sg "$1" "$2")" = "$3" ]; }
slice_cg() { echo "/sys/fs/cgroup$(systemctl show -P ControlGroup "$1" 2>/dev/null)"; }

section "setup"
install -m 0755 /io/bin/cg-accountd /io/bin/cgarch /usr/local/sbin/
mkdir -p /etc/cgrouparch "$RUN"
redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
wait_for 10 rcli ping || { g_fail "redis-server starts in the guest"; g_done; exit; }
cat > "$CFG" <<EOF
[cgroup]
mode = systemd
root = cgrouparch
[systemd]
bus = system
[redis]
host = 127.0.0.1
port = 6379
[daemon]
runtime_dir = $RUN
EOF
CONF='{"cpu": {"sub_cgroup": {"cpu_q": {"conf": {"quota_percent": 20}}, "cpu_free": {}}},
 "blkio": {"sub_cgroup": {"io_n": {"conf": {"weight": 100}}}},
 "memory": {"sub_cgroup": {"mem_hold": {}, "mem32": {"conf": {"max": 33554432}}}},
 "pids": {"sub_cgroup": {"pids_n": {"conf": {"max": 50}}}}}'
echo "$CONF" > /run/conf.json
out=$(cgarch -c "$CFG" apply /run/conf.json 2>&1); rc=$?
g_eq "cgarch apply (systemd mode) of a conf with limits exits 0" "$rc" 0
[ "$rc" = 0 ] || g_diag "$(echo "$out" | tail -5 | tr '\n' '|')"
g_eq "the slices' limits: CPUQuotaPerSecUSec, MemoryMax, TasksMax" \
  "$(systemctl show -P CPUQuotaPerSecUSec cgrouparch-cpu_q.slice) $(systemctl show -P MemoryMax cgrouparch-mem32.slice) $(systemctl show -P TasksMax cgrouparch-pids_n.slice)" \
  "200ms 33554432 50"
# the snapshot cg-syncd would have written (no ZooKeeper here: cg-syncd is not under test)
printf '{"version": 1, "value": %s}\n' "$CONF" > "$RUN/.arch_conf.json.tmp" && mv "$RUN/.arch_conf.json.tmp" "$RUN/arch_conf.json"
cg-accountd -c "$CFG" > /run/accountd.log 2>&1 &
ACCTD=$!
if ! wait_for 20 sg cpu value; then
  g_fail "cg-accountd writes samples to the guest's Redis"; sed 's/^/#   /' /run/accountd.log | tail -20; g_done; exit
fi
g_ok "cg-accountd writes samples to the guest's Redis (mode = systemd)"
g_diag "cpu.pressure of cgrouparch-cpu_q.slice: $(tr '\n' '|' < "$(slice_cg cgrouparch-cpu_q.slice)/cpu.pressure")"

section "keys"
g_eq "cpu value: usage, nr_throttled, throttled_usec" "$(sg cpu/cpu_q value)" "nr_throttled,throttled_usec,usage"
g_eq "cpu node pressure: some_usec and full_usec" "$(sg cpu/cpu_q pressure)" "full_usec,some_usec"
g_eq "memory value (v2): oom_kill, peak, usage" "$(sg memory/mem32 value)" "oom_kill,peak,usage"
g_eq "memory node pressure" "$(sg memory/mem32 pressure)" "full_usec,some_usec"
g_eq "blkio node pressure (io.pressure)" "$(sg blkio/io_n pressure)" "full_usec,some_usec"
g_eq "pids value: current" "$(sg pids/pids_n value)" "current"
if sg pids/pids_n pressure >/dev/null; then g_fail "pids nodes carry no pressure (one has)"
else g_ok "pids nodes carry no pressure (the controller has no PSI)"; fi

section "cpu: throttling and pressure"
nt0=$(sg cpu/cpu_q value.nr_throttled)
ps0=$(sg cpu/cpu_free pressure.some_usec)
systemd-run --quiet --scope --slice=cgrouparch-cpu_q.slice -- taskset -c 0 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
L1=$!
for _ in 1 2; do
  systemd-run --quiet --scope --slice=cgrouparch-cpu_free.slice -- taskset -c 1 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
  LF="${LF:-} $!"
done
g_check "nr_throttled of the CPUQuota=20% loop rises in Redis (from $nt0)" wait_for 30 sg_ge cpu/cpu_q value.nr_throttled $((nt0 + 5))
g_check "throttled_usec rises" sg_ge cpu/cpu_q value.throttled_usec 1
g_check "two loops sharing a CPU: cpu pressure some_usec of their slice rises (from $ps0)" \
  wait_for 20 sg_ge cpu/cpu_free pressure.some_usec $((ps0 + 100000))
g_eq "a slice without quota is never throttled" "$(sg cpu/cpu_free value.nr_throttled)" 0
nts=$(sg cpu/cpu_q value.nr_throttled)
ntk=$(awk '$1 == "nr_throttled" { print $2 }' "$(slice_cg cgrouparch-cpu_q.slice)/cpu.stat")
g_diag "nr_throttled: sample $nts, cpu.stat after it $ntk; cpu_free pressure $(sg cpu/cpu_free pressure.some_usec) µs"
g_check "the sample's nr_throttled is the kernel's (<= the later cpu.stat)" test "${nts:-x}" -le "${ntk:-0}"
kill $L1 $LF 2>/dev/null

section "memory"
# tmpfs pages stay charged to the cgroup that wrote them: a holder that needs no allocator
systemd-run --quiet --scope --slice=cgrouparch-mem_hold.slice -- sh -c 'head -c 20000000 /dev/zero > /run/cgvm-hold && touch /run/held && exec sleep 120' </dev/null >/dev/null 2>&1 &
HOLD=$!
wait_for 60 test -e /run/held
g_check "memory usage of the holder's slice >= 16 MiB in Redis" wait_for 10 sg_ge memory/mem_hold value.usage $((16 << 20))
g_check "its peak too" sg_ge memory/mem_hold value.peak $((16 << 20))
g_check "the managed root's usage includes it" sg_ge memory value.usage $((16 << 20))
systemd-run --quiet --scope --slice=cgrouparch-mem32.slice -- tail /dev/zero </dev/null >/dev/null 2>&1 &
HOG=$!
wait_for 60 bash -c "! kill -0 $HOG 2>/dev/null"
wait $HOG 2>/dev/null; rc=$?
g_diag "hog exit $rc; mem32: usage $(sg memory/mem32 value.usage) peak $(sg memory/mem32 value.peak) oom_kill $(sg memory/mem32 value.oom_kill) pressure $(sg memory/mem32 pressure.some_usec)/$(sg memory/mem32 pressure.full_usec)"
g_check "the hog in MemoryMax=32M is OOM-killed: oom_kill >= 1 in Redis" wait_for 10 sg_ge memory/mem32 value.oom_kill 1
peak=$(sg memory/mem32 value.peak)
g_check "its peak is near the cap, never above ($peak)" bash -c "[ -n '$peak' ] && [ '$peak' -ge $((24 << 20)) ] && [ '$peak' -le 33554432 ]"
g_check "memory pressure some_usec of its slice > 0" sg_ge memory/mem32 pressure.some_usec 1
g_eq "the holder's slice had no OOM kill" "$(sg memory/mem_hold value.oom_kill)" 0
kill $HOLD 2>/dev/null; rm -f /run/cgvm-hold

section "pids"
systemd-run --quiet --scope --slice=cgrouparch-pids_n.slice -- sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 120 & done; touch /run/forked; wait' </dev/null >/dev/null 2>&1 &
FORK=$!
wait_for 30 test -e /run/forked
g_check "pids.current of the shell and its 8 children is 9 in Redis" wait_for 10 sg_is pids/pids_n value.current 9
g_check "the managed root counts them too" sg_ge pids value.current 9
kill $(cat "$(slice_cg cgrouparch-pids_n.slice)"/*/cgroup.procs 2>/dev/null) 2>/dev/null

g_check "no read errors logged" bash -c '! grep -qE "Failed to read|Unexpected contents" /run/accountd.log'
kill $ACCTD 2>/dev/null
g_done
