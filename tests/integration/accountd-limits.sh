#!/usr/bin/env bash
# accountd-limits.sh — the limits' counters in cg-accountd's samples (issue 16 item 4) and
# pressure (issue 18 item 1) on this machine's real cgroup v1 hierarchies, under a test-owned
# root whose limits `cgarch apply` sets; then through cg-wsd's /metrics (promtool-checked):
#   - quota_percent 20: a busy loop's nr_throttled and throttled_usec rise in Redis, and stay
#     at or below the kernel's cpu.stat (read after the sample);
#   - memory max 64 MiB: a process holding 24 MiB shows in usage and peak (and in the parent's,
#     hierarchical); a hog writing 256 MiB in another cgroup is OOM-killed there, its failcnt
#     and a peak at the cap (never above) show;
#   - pids: a shell and its 8 sleeping children are pids.current 9, then 1 once they ended (the
#     shell then execs a sleep of its own);
#   - pressure: where the v1 hierarchies expose no PSI (these machines: psi=1, but cpu.pressure
#     only in the unified hierarchy), no node carries "pressure"; else every cpu node does.
#     Pressure on v2 is checked in the VM (tests/e2e/vm-accountd-limits.sh).
# Each check fails without the limit or the counter (a loop without quota is never throttled).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"
source "$(dirname "$0")/../lib-wsd.sh"

[ "$(id -u)" = 0 ] || { t_skip "accountd limits" "needs root"; t_done; exit; }
for h in cpu cpuacct memory pids; do
  [ -d "$CG_DIR/$h" ] || { t_skip "accountd limits" "no v1 $h hierarchy"; t_done; exit; }
done

cg_new_root alim
RUNTIME_DIR=$T_TMP/run
start_redis || { t_fail "redis starts"; t_done; exit; }
export REDIS_PORT
ACFG=$T_TMP/cgrouparch.conf
write_cfg "$ACFG"
CONF='{"cpu": {"sub_cgroup": {"cpu_q": {"conf": {"share": 262144, "quota_percent": 20}}, "cpu_free": {}}},
 "memory": {"sub_cgroup": {"mem_hold": {}, "mem64": {"conf": {"max": 67108864}}}},
 "pids": {"sub_cgroup": {"pids_n": {"conf": {"max": 50}}}}}'
echo "$CONF" >"$T_TMP/conf.json"
out=$(cgarch -c "$ACFG" apply "$T_TMP/conf.json" 2>&1)
t_eq "cgarch apply of the conf with limits exits 0" "$?" 0 || t_diag "$out"
acctd_snapshot 1 "$CONF"
# The managed root competes with every task in the machine's root cgroup: the largest share, so
# that only the quota keeps the loop from a whole CPU.
echo 262144 >"$CG_DIR/cpu/$CGROOT/cpu.shares"

acctd_start
s0=$(acctd_wait_new_slot) || { t_fail "first sample"; cat "$ACCTD_LOG"; t_done; exit; }
# sv EXPR: EXPR over the newest sample j (python); "" on a missing key.
sv() {
  $PY - "$(acctd_sample "$(acctd_latest_slot)")" "$1" <<'EOF'
import json, sys
j = json.loads(sys.argv[1])
def sub(s, *names):
    n = j[s]
    for x in names:
        n = n["sub_cgroup"][x]
    return n
try:
    print(eval(sys.argv[2]))
except (KeyError, TypeError):
    print("")
EOF
}
# sv_ge EXPR N: sv EXPR is a number >= N.
sv_ge() { local v; v=$(sv "$1"); [ -n "$v" ] && [ "$v" != None ] && [ "$v" -ge "$2" ]; }
# sv_eq EXPR WANT: sv EXPR prints WANT.
sv_eq() { [ "$(sv "$1")" = "$2" ]; }

t_eq "cpu: the new keys beside usage (no quota hit yet)" \
  "$(sv "sorted(sub('cpu', 'cpu_q')['value'])")" "['nr_throttled', 'throttled_usec', 'usage']"
t_eq "memory and pids trees are sampled" "$(sv "[s in j for s in ('cpu', 'memory', 'pids')]")" "[True, True, True]"
t_eq "memory: v1 keys usage, peak, failcnt (no oom_kill)" \
  "$(sv "sorted(sub('memory', 'mem64')['value'])")" "['failcnt', 'peak', 'usage']"
t_eq "pids: current" "$(sv "list(sub('pids', 'pids_n')['value'])")" "['current']"
nt0=$(sv "sub('cpu', 'cpu_q')['value']['nr_throttled']")

# ---- quota_percent 20: the busy loop is throttled ----
sh -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" && exec sh -c "while :; do :; done"' _ \
  "$CG_DIR/cpu/$CGROOT/cpu_q" "$CG_DIR/cpuacct/$CGROOT/cpu_q" &
LOOP=$!; track $LOOP
t_check "nr_throttled of the quota'd loop rises in Redis (from ${nt0:-?})" \
  wait_for 10 sv_ge "sub('cpu', 'cpu_q')['value']['nr_throttled']" $((${nt0:-0} + 5))
t_check "throttled_usec rises with it" wait_for 3 sv_ge "sub('cpu', 'cpu_q')['value']['throttled_usec']" 1
nts=$(sv "sub('cpu', 'cpu_q')['value']['nr_throttled']")
ntk=$(awk '$1 == "nr_throttled" { print $2 }' "$CG_DIR/cpu/$CGROOT/cpu_q/cpu.stat")
t_diag "nr_throttled: sample $nts, cpu.stat after it $ntk; throttled_usec $(sv "sub('cpu', 'cpu_q')['value']['throttled_usec']")"
t_check "the sample's nr_throttled is the kernel's (at most the later cpu.stat)" test "${nts:-x}" -le "${ntk:-0}"
t_eq "a cgroup without quota is never throttled" "$(sv "sub('cpu', 'cpu_free')['value']['nr_throttled']")" 0
stop_pid "$LOOP"

# ---- memory: usage and peak of a holder; failcnt and peak of a hog at the cap ----
HOLD=$T_TMP/hold.go
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" -c "
import os, sys, time
b = bytearray(24 << 20)
for i in range(0, len(b), 4096): b[i] = 1   # touched: charged to the cgroup
open(sys.argv[1], \"w\").close()
time.sleep(60)" "$3"' _ "$CG_DIR/memory/$CGROOT/mem_hold" "$PY" "$HOLD" &
HOLDER=$!; track $HOLDER
wait_for 10 test -e "$HOLD"
t_check "memory usage of the holder's cgroup >= 24 MiB in Redis" \
  wait_for 5 sv_ge "sub('memory', 'mem_hold')['value']['usage']" $((24 << 20))
t_check "its peak too" sv_ge "sub('memory', 'mem_hold')['value']['peak']" $((24 << 20))
t_check "the managed root's usage includes it (hierarchical)" sv_ge "sub('memory')['value']['usage']" $((24 << 20))
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" -c "
b = []
for i in range(256):
    b.append(b\"x\" * (1 << 20))
print(\"allocated\", flush=True)"' _ "$CG_DIR/memory/$CGROOT/mem64" "$PY" >"$T_TMP/hog.out" 2>&1 &
HOG=$!; track $HOG
wait_for 30 eval '! kill -0 '"$HOG"' 2>/dev/null'
wait "$HOG" 2>/dev/null; hog_rc=$?
t_eq "the hog is OOM-killed in its 64 MiB cgroup" "$hog_rc" 137
t_check "failcnt of its cgroup > 0 in Redis" wait_for 3 sv_ge "sub('memory', 'mem64')['value']['failcnt']" 1
peak=$(sv "sub('memory', 'mem64')['value']['peak']")
t_diag "mem64: $(sv "sub('memory', 'mem64')['value']"); mem_hold: $(sv "sub('memory', 'mem_hold')['value']")"
t_check "its peak is near the cap, never above ($peak)" \
  bash -c "[ -n '$peak' ] && [ '$peak' -ge $((48 << 20)) ] && [ '$peak' -le 67108864 ]"
t_eq "the holder's cgroup was not touched (failcnt 0)" "$(sv "sub('memory', 'mem_hold')['value']['failcnt']")" 0
stop_pid "$HOLDER"

# ---- pids.current counts forks ----
sh -c 'echo $$ >"$1/cgroup.procs" && for i in 1 2 3 4 5 6 7 8; do sleep 60 & done; touch "$2"; wait; exec sleep 60' _ \
  "$CG_DIR/pids/$CGROOT/pids_n" "$T_TMP/forked" &
FORKER=$!; track $FORKER
wait_for 10 test -e "$T_TMP/forked"
t_check "pids.current of the shell and its 8 children is 9 in Redis" \
  wait_for 5 sv_eq "sub('pids', 'pids_n')['value']['current']" 9
t_check "the managed root counts them too" sv_ge "sub('pids')['value']['current']" 9
# the children are ours: the processes of our cgroup other than the shell
for p in $(cat "$CG_DIR/pids/$CGROOT/pids_n/cgroup.procs"); do [ "$p" = "$FORKER" ] || kill "$p" 2>/dev/null; done
t_check "and 1 once the children ended" \
  wait_for 5 sv_eq "sub('pids', 'pids_n')['value']['current']" 1
stop_pid "$FORKER"

# ---- pressure ----
t_diag "/proc/pressure: $(ls /proc/pressure 2>/dev/null | tr '\n' ' ')(kernel $(uname -r)); v1 cpu.pressure: $(ls "$CG_DIR"/cpu*/"$CGROOT"/cpu.pressure 2>/dev/null || echo none)"
if ls "$CG_DIR"/cpu*/"$CGROOT"/cpu.pressure >/dev/null 2>&1; then
  t_check "v1 with PSI: every cpu node has pressure some_usec" \
    sv_eq "all('some_usec' in n['pressure'] for n in [sub('cpu'), sub('cpu', 'cpu_q'), sub('cpu', 'cpu_free')])" True
else
  t_eq "v1 without PSI: no node carries pressure" \
    "$(sv "[k for s in j for k in [j[s]] + list(j[s]['sub_cgroup'].values()) if 'pressure' in k]")" "[]"
fi
t_check "no read errors logged" bash -c "! grep -qE 'Failed to read|Unexpected contents' '$ACCTD_LOG'"

# ---- cg-wsd's /metrics from these samples ----
wsd_start || { t_fail "cg-wsd starts"; t_done; exit; }
metric() { curl -sf -m 5 "http://127.0.0.1:$WSD_PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
metric_pos() { local v; v=$(metric "$1"); [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; }
t_check "/metrics: cgrouparch_cpu_throttled_periods_total of cpu_q > 0" \
  wait_for 5 metric_pos 'cgrouparch_cpu_throttled_periods_total{cgroup="cpu_q"}'
t_check "/metrics: cgrouparch_cpu_throttled_seconds_total of cpu_q > 0" \
  metric_pos 'cgrouparch_cpu_throttled_seconds_total{cgroup="cpu_q"}'
t_check "/metrics: cgrouparch_memory_failcnt_total of mem64 > 0" metric_pos 'cgrouparch_memory_failcnt_total{cgroup="mem64"}'
t_check "/metrics: cgrouparch_memory_peak_bytes of mem64 > 0" metric_pos 'cgrouparch_memory_peak_bytes{cgroup="mem64"}'
t_check "/metrics: cgrouparch_memory_usage_bytes of the root > 0" metric_pos 'cgrouparch_memory_usage_bytes{cgroup="/"}'
t_check "/metrics: cgrouparch_pids_current of the root" test -n "$(metric 'cgrouparch_pids_current{cgroup="/"}')"
if command -v promtool >/dev/null; then
  out=$(curl -sf -m 5 "http://127.0.0.1:$WSD_PORT/metrics" | promtool check metrics 2>&1)
  t_check "/metrics: promtool check metrics" test $? = 0 || t_diag "$out"
else
  t_skip "/metrics: promtool check metrics" "promtool missing (apt-get install prometheus)"
fi
stop_pid "$ACCTD_PID"
t_done
