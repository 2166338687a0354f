#!/usr/bin/env bash
# tests/bench/wsd.sh — cg-wsd throughput and latency (show_account over a 100-cgroup sample,
# nr_slot 1 and 60, 1/16/256 connections) beside redis-benchmark doing the same MGETs in the
# same run (the ceiling), p99 at a paced 1,000 req/s, and RSS with 10,000 idle websockets.
# Prints a Markdown section. Bounded: ~1.5 minutes, loopback only, everything stopped at exit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"
LOAD=$BUILD/tests/tools/ws-load
[ -x "$LOAD" ] || { echo "build ws-load first: make tests-build" >&2; exit 1; }
DUR=${WSD_BENCH_SECONDS:-4}
IDLE=${WSD_BENCH_IDLE:-10000}
S=1700000000

start_redis >/dev/null || exit 1
wsd_start >/dev/null <<<"max_clients = $((IDLE + 100))" || exit 1

# a 100-cgroup sample (root + 9 parents x 10 children), cpu and blkio, in slots S-59..S
/usr/bin/python3 - "$REDIS_PORT" "$S" "$TOP" > "$T_TMP/sample" <<'PY'
import importlib.util, os, sys
port, S, top = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
spec = importlib.util.spec_from_file_location('l', os.path.join(top, 'tests/integration/wsd-lib.py'))
L = importlib.util.module_from_spec(spec); spec.loader.exec_module(L)
paths = [''] + ['grp_%d' % i for i in range(9)] + ['grp_%d/job_%d' % (i, j) for i in range(9) for j in range(10)]
r = L.Redis(port)
for s in range(S - 59, S + 1):
    txt = L.sample({p: 1446489231295 + s * 1000 + k for k, p in enumerate(paths)},
                   {p: {'8:0': (4096 * s, 1048576 * s)} for p in paths})
    r.cmd('SET', 'cgroup_arch/account/%d' % s, txt)
print(len(paths), len(txt))
PY
read -r NCG SAMPLE_BYTES < "$T_TMP/sample"

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
# CPU time (utime + stime, in clock ticks) of a process
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
keys() { local s; for ((s = S - $1 + 1; s <= S; s++)); do printf 'cgroup_arch/account/%d ' "$s"; done; }

echo "## cg-wsd: show_account over websockets vs. the same MGET straight to Redis"
echo
echo "Sample: $NCG cgroups, $SAMPLE_BYTES bytes of JSON per slot. ${DUR} s per cell, closed loop"
echo "(each connection sends its next request when the answer is in). Baseline: \`redis-benchmark\`"
echo "issuing the same \`MGET\` with the same number of connections, same Redis, same run."
echo
echo "| nr_slot | conns | cg-wsd req/s | p50 ms | p99 ms | cg-wsd CPU µs/req | ws-load CPU µs/req | redis-benchmark MGET req/s | p50 ms | p99 ms | Redis CPU µs/MGET | cg-wsd / Redis req/s |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for nr in 1 60; do
  msg=$(printf '{"cmd": "show_account", "args": {"start_slot": %d, "end_slot": %d}}' $((S - nr + 1)) "$S")
  for c in 1 16 256; do
    w0=$(ticks "$WSD_PID")
    out=$("$LOAD" -p "$WSD_PORT" -c "$c" -d "$DUR" -m "$msg")
    w1=$(ticks "$WSD_PID")
    rps=$(echo "$out" | field rps); p50=$(echo "$out" | field p50_ms); p99=$(echo "$out" | field p99_ms)
    errs=$(echo "$out" | field error_answers)
    [ "${errs:-0}" = 0 ] || echo "# warning: $errs error answers: $out" >&2
    n=$(awk -v r="$rps" -v d="$DUR" 'BEGIN { n = int(r * d); if (n < 2000) n = 2000; print n }')
    reqs=$(echo "$out" | field requests)
    wsd_us=$(awk -v a="$w0" -v b="$w1" -v n="$reqs" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", (b - a) / hz * 1e6 / n }')
    r0=$(ticks "$REDIS_PID")
    # shellcheck disable=SC2046
    csv=$(redis-benchmark -p "$REDIS_PORT" -c "$c" -n "$n" --csv MGET $(keys "$nr") 2>/dev/null | tail -1)
    r1=$(ticks "$REDIS_PID")
    r_rps=$(echo "$csv" | awk -F'","' '{ print $2 }' | tr -d '"')
    r_us=$(awk -v a="$r0" -v b="$r1" -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / n }')
    r_p50=$(echo "$csv" | awk -F'","' '{ print $5 }' | tr -d '"')
    r_p99=$(echo "$csv" | awk -F'","' '{ print $7 }' | tr -d '"')
    ratio=$(awk -v a="$rps" -v b="$r_rps" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')
    echo "| $nr | $c | $rps | $p50 | $p99 | $wsd_us | $(echo "$out" | field cpu_us_per_req) | $r_rps | $r_p50 | $r_p99 | $r_us | $ratio |"
  done
done
echo
echo "### Latency at a paced 1,000 requests/s (10 connections x 100/s, latency from the scheduled time)"
echo
echo "| nr_slot | achieved req/s | p50 ms | p99 ms | max ms |"
echo "|---:|---:|---:|---:|---:|"
for nr in 1 60; do
  msg=$(printf '{"cmd": "show_account", "args": {"start_slot": %d, "end_slot": %d}}' $((S - nr + 1)) "$S")
  out=$("$LOAD" -p "$WSD_PORT" -c 10 -r 1000 -d "$((DUR + 1))" -m "$msg")
  echo "| $nr | $(echo "$out" | field rps) | $(echo "$out" | field p50_ms) | $(echo "$out" | field p99_ms) | $(echo "$out" | field max_ms) |"
done
echo

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$WSD_PID/status"; }
rss0=$(rss)
"$LOAD" -p "$WSD_PORT" -i "$IDLE" -d 6 > "$T_TMP/idle.out" 2>&1 &
lp=$!; track $lp
wait_for 70 grep -q idle_connected "$T_TMP/idle.out"
sleep 1
rss1=$(rss)
conns=$(curl -s "http://127.0.0.1:$WSD_PORT/metrics" | awk '/^cgrouparch_wsd_connections / { print $2 }')
wait "$lp" 2>/dev/null
echo "### Memory with idle websockets"
echo
echo "| state | connections (cg-wsd's own count) | cg-wsd RSS |"
echo "|---|---:|---:|"
echo "| after the runs above, no client | 0 | $((rss0 / 1024)) MiB |"
echo "| $IDLE idle websockets ($(sed -n 's/.*connect_seconds=\([0-9.]*\).*/\1/p' "$T_TMP/idle.out") s to open) | $conns | $((rss1 / 1024)) MiB |"
echo
awk -v a="$rss0" -v b="$rss1" -v n="$conns" 'BEGIN { if (n > 0) printf "Per idle connection: %.1f KiB.\n", (b - a) / n }'
