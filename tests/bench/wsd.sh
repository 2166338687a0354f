#!/usr/bin/env bash
# tests/bench/wsd.sh — what a cg-wsd request costs the servers: throughput, latency, and µs of CPU
# per request of cg-wsd, of redis-server and of the load client (from /proc/PID/task/*/schedstat
# over the measuring window, every thread), for show_account over a 100-cgroup sample at nr_slot
# 1 and 60, 16 connections with one request in flight each, with 0 and with 10,000 idle
# websockets open. Baselines from the same run: redis-benchmark GET of the same key (nr_slot 1)
# and MGET of the same 60 keys (nr_slot 60), 16 connections, with Redis's CPU per command
# measured the same way and redis-benchmark's own beside it.
# This machine is shared (2 cores, other work running), so every cell runs ROUNDS times,
# baselines and cg-wsd interleaved, and the table shows each cell's median round (by req/s):
# a baseline and the cell it is compared with are measured seconds apart, not a minute.
# Also: cg-wsd's CPU to accept one idle websocket, and at rest with them all open.
# Ends with the issue-14 targets, each checked against this run's baseline. Prints Markdown.
# Bounded: about three minutes, loopback only, everything stopped at exit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"
BENCH=$BUILD/tests/tools/ws-bench
[ -x "$BENCH" ] || { echo "build ws-bench first: make tests-build" >&2; exit 1; }
DUR=${WSD_BENCH_SECONDS:-3}
ROUNDS=${WSD_BENCH_ROUNDS:-3}
SETTLE=2 # seconds of quiet before each measured cell
IDLE=${WSD_BENCH_IDLE:-10000}
CONNS=16
S=1700000000

# 10,000 idle websockets: a descriptor each in ws-bench and in cg-wsd (which raises its own soft
# limit to the hard one at start)
hard=$(ulimit -Hn)
ulimit -n "$hard" 2>/dev/null
if [ "$hard" != unlimited ] && [ "$hard" -lt $((IDLE + 200)) ]; then
  echo "# RLIMIT_NOFILE hard limit $hard < $((IDLE + 200)): idle connections lowered" >&2
  IDLE=$((hard - 200))
fi

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

field() { sed -n "s/\(^\|.* \)$1=\([0-9.-]*\).*/\2/p" | head -1; }
# CPU time of every thread of a process, in ns
cpu_ns() { awk '{ s += $1 } END { printf "%.0f", s }' /proc/"$1"/task/*/schedstat; }
keys() { local s; for ((s = S - $1 + 1; s <= S; s++)); do printf 'cgroup_arch/account/%d ' "$s"; done; }
msg() { printf '{"cmd": "show_account", "args": {"start_slot": %d, "end_slot": %d}}' $((S - $1 + 1)) "$S"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
connections() {
  curl -s -m 2 "http://127.0.0.1:$WSD_PORT/metrics" | awk '$1 == "cgrouparch_wsd_connections" { print $2 }'
}
few_connections() { local n; n=$(connections); [ -n "$n" ] && [ "${n%.*}" -lt 100 ]; }

# redis-benchmark CMD...: one line "rps= p50_ms= p99_ms= redis_cpu_us_per_req= cpu_us_per_req="
# (the last: redis-benchmark's own user+system CPU) at $CONNS connections, about $DUR seconds
# (a short first run sizes the real one)
redis_base() {
  local n r0 r1 csv t
  n=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n 320 --csv "$@" 2>/dev/null | tail -1 |
      awk -F'","' -v d="$DUR" '{ n = int($2 * d); print (n < 320) ? 320 : n }')
  r0=$(cpu_ns "$REDIS_PID")
  t=$( { TIMEFORMAT='%U %S'; time redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$n" --csv "$@" \
         > "$T_TMP/rb.csv" 2>/dev/null; } 2>&1 )
  r1=$(cpu_ns "$REDIS_PID")
  csv=$(tail -1 "$T_TMP/rb.csv")
  echo "$csv" | awk -F'","' -v a="$r0" -v b="$r1" -v n="$n" -v t="$t" '{
    for (i = 1; i <= NF; i++) gsub(/"/, "", $i); split(t, u, " ")
    printf "rps=%s p50_ms=%s p99_ms=%s redis_cpu_us_per_req=%.1f cpu_us_per_req=%.1f\n",
      $2, $5, $7, (b - a) / 1e3 / n, (u[1] + u[2]) * 1e6 / n }'
}

# med FILE FIELD: the median over the rounds (the lines of FILE) of one field
med() {
  field_all "$2" < "$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
field_all() { sed -n "s/\(^\|.* \)$1=\([0-9.-]*\).*/\2/p"; }
# median FILE: one line of key=value, each the median of its field over the rounds
median() {
  local f out=""
  for f in rps p50_ms p99_ms max_ms wsd_cpu_us_per_req redis_cpu_us_per_req cpu_us_per_req wsd_rss_kb; do
    grep -q "$f=" "$1" && out="$out $f=$(med "$1" "$f")"
  done
  echo "${out# }"
}
# rounds FILE: "rps / cg-wsd µs / Redis µs" of each round, for the table of all rounds
rounds() {
  awk '{ r = w = x = "-"; for (i = 1; i <= NF; i++) { split($i, a, "=")
           if (a[1] == "rps") r = a[2]; else if (a[1] == "wsd_cpu_us_per_req") w = a[2]
           else if (a[1] == "redis_cpu_us_per_req") x = a[2] }
         sep = (NR > 1) ? " · " : ""; printf "%s%s / %s / %s", sep, r, w, x }' "$1"
}

bench() { # bench OUT NR_SLOT: one ws-bench run, its line appended to OUT.NR_SLOT
  sleep "$SETTLE"
  "$BENCH" -p "$WSD_PORT" -c "$CONNS" -d "$DUR" -m "$(msg "$2")" \
    -P wsd="$WSD_PID" -P redis="$REDIS_PID" > "$T_TMP/run" 2>"$T_TMP/run.err"
  grep -q 'msg=1' "$T_TMP/run" || { echo "ws-bench failed:" >&2; cat "$T_TMP/run" "$T_TMP/run.err" >&2; exit 1; }
  if grep -q 'error_answers=[1-9]' "$T_TMP/run"; then echo "# warning: error answers: $(cat "$T_TMP/run")" >&2; fi
  cat "$T_TMP/run" >> "$1.$2"
}

LOAD0=$(loadavg)
: > "$T_TMP/accept"
for ((r = 1; r <= ROUNDS; r++)); do
  # a 16 KB workload before each 16 KB one, a megabyte one before each megabyte one: Redis's CPU
  # per megabyte answer was seen 3-5x higher for seconds after a burst of small ones
  sleep "$SETTLE"
  redis_base GET "cgroup_arch/account/$S" >> "$T_TMP/get"
  bench "$T_TMP/busy" 1
  sleep "$SETTLE"
  # shellcheck disable=SC2046
  redis_base MGET $(keys 60) >> "$T_TMP/mget"
  bench "$T_TMP/busy" 60
  # the idle websockets: held by a second ws-bench (it answers pings) while the same cells run
  c0=$(cpu_ns "$WSD_PID")
  "$BENCH" -p "$WSD_PORT" -i "$IDLE" -H 600 > "$T_TMP/hold" 2>"$T_TMP/hold.err" &
  HOLD=$!; track $HOLD
  wait_for 120 grep -q idle_connected "$T_TMP/hold" || { echo "idle websockets did not open" >&2; cat "$T_TMP/hold.err" >&2; exit 1; }
  c1=$(cpu_ns "$WSD_PID")
  n_idle=$(field idle_connected < "$T_TMP/hold")
  sleep 1
  c2=$(cpu_ns "$WSD_PID")
  sleep 2
  c3=$(cpu_ns "$WSD_PID")
  echo "$n_idle $(( (c1 - c0) / 1000 )) $(( (c3 - c2) / 1000 ))" >> "$T_TMP/accept"
  bench "$T_TMP/idle" 1
  bench "$T_TMP/idle" 60
  kill "$HOLD"; wait "$HOLD" 2>/dev/null
  wait_for 30 few_connections || echo "# warning: cg-wsd still has $(connections) websockets" >&2
done
LOAD1=$(loadavg)

b1=$(median "$T_TMP/busy.1"); i1=$(median "$T_TMP/idle.1")
b60=$(median "$T_TMP/busy.60"); i60=$(median "$T_TMP/idle.60")
get=$(median "$T_TMP/get"); mget=$(median "$T_TMP/mget")
read -r n_idle acc_us rest_us <<<"$(sort -n -k2 "$T_TMP/accept" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }')"

echo "## cg-wsd: cost per request on the server side"
echo
echo "Sample: $NCG cgroups, $SAMPLE_BYTES bytes of JSON per slot. $CONNS connections, one request in"
echo "flight each, ${DUR} s per cell after ${SETTLE} s of quiet and a 0.5 s warm-up; each cell ran $ROUNDS times,"
echo "interleaved with the baselines (GET, nr_slot=1, MGET, nr_slot=60, then with the idle websockets"
echo "nr_slot=1 and 60), and each figure is its median over the rounds (all rounds below). CPU per request from"
echo "\`/proc/PID/task/*/schedstat\` over the measuring window (every thread). Load average"
echo "before / after: $LOAD0 / $LOAD1 ($(nproc) cores, shared)."
echo
echo "| nr_slot | idle websockets | req/s | p50 ms | p99 ms | max ms | cg-wsd CPU µs/req | Redis CPU µs/req | ws-bench CPU µs/req | cg-wsd RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
row() { # row NR IDLE LINE
  echo "| $1 | $2 | $(echo "$3" | field rps) | $(echo "$3" | field p50_ms) | $(echo "$3" | field p99_ms) | $(echo "$3" | field max_ms) | $(echo "$3" | field wsd_cpu_us_per_req) | $(echo "$3" | field redis_cpu_us_per_req) | $(echo "$3" | field cpu_us_per_req) | $(( $(echo "$3" | field wsd_rss_kb) / 1024 )) MiB |"
}
row 1 0 "$b1"
row 1 "$n_idle" "$i1"
row 60 0 "$b60"
row 60 "$n_idle" "$i60"
echo
echo "Baselines, same Redis, same run, $CONNS connections (\`redis-benchmark\`, medians):"
echo
echo "| command | req/s | p50 ms | p99 ms | Redis CPU µs/command | redis-benchmark CPU µs/command |"
echo "|---|---:|---:|---:|---:|---:|"
brow() { echo "| $1 | $(echo "$2" | field rps) | $(echo "$2" | field p50_ms) | $(echo "$2" | field p99_ms) | $(echo "$2" | field redis_cpu_us_per_req) | $(echo "$2" | field cpu_us_per_req) |"; }
brow "GET of the nr_slot=1 key" "$get"
brow "MGET of the nr_slot=60 keys" "$mget"
echo
echo "Every round, req/s / cg-wsd µs / Redis µs per request (the baselines: req/s / - / Redis µs):"
echo
echo "| cell | rounds |"
echo "|---|---|"
echo "| nr_slot=1 | $(rounds "$T_TMP/busy.1") |"
echo "| nr_slot=1, $n_idle idle | $(rounds "$T_TMP/idle.1") |"
echo "| nr_slot=60 | $(rounds "$T_TMP/busy.60") |"
echo "| nr_slot=60, $n_idle idle | $(rounds "$T_TMP/idle.60") |"
echo "| GET | $(rounds "$T_TMP/get") |"
echo "| MGET | $(rounds "$T_TMP/mget") |"
echo
echo "$n_idle idle websockets (median round): cg-wsd spent $(awk -v a="$acc_us" -v n="$n_idle" 'BEGIN { printf "%.0f", a / n }') µs of CPU to accept each"
echo "(handshake included), and $(awk -v r="$rest_us" 'BEGIN { printf "%.1f", r / 2 / 1000 }') ms per second with all of them open and none sending."
echo

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "**met**" : "**missed**" }'; }
r_get=$(ratio "$(echo "$b1" | field rps)" "$(echo "$get" | field rps)")
r_idle=$(ratio "$(echo "$i1" | field rps)" "$(echo "$b1" | field rps)")
r_cpu=$(ratio "$(echo "$i1" | field wsd_cpu_us_per_req)" "$(echo "$b1" | field wsd_cpu_us_per_req)")
r_redis=$(ratio "$(echo "$b60" | field redis_cpu_us_per_req)" "$(echo "$mget" | field redis_cpu_us_per_req)")
rss_idle=$(( $(echo "$i1" | field wsd_rss_kb) / 1024 ))
echo "### Targets (issue 14), against this run's baselines"
echo
echo "| target | measured | verdict | ws-bench's own CPU µs/req |"
echo "|---|---|---|---:|"
echo "| 16 conns, nr_slot=1: ≥ 70% of redis-benchmark GET on the same key | $(echo "$b1" | field rps) vs $(echo "$get" | field rps) req/s = $(awk -v r="$r_get" 'BEGIN { printf "%.0f%%", 100 * r }') | $(verdict "$r_get" 0.70 '>=') | $(echo "$b1" | field cpu_us_per_req) |"
echo "| $n_idle idle websockets: ≥ 90% of the throughput without them | $(echo "$i1" | field rps) vs $(echo "$b1" | field rps) req/s = $(awk -v r="$r_idle" 'BEGIN { printf "%.0f%%", 100 * r }') | $(verdict "$r_idle" 0.90 '>=') | $(echo "$i1" | field cpu_us_per_req) |"
echo "| $n_idle idle websockets: cg-wsd CPU/request ≤ 1.2x | $(echo "$i1" | field wsd_cpu_us_per_req) vs $(echo "$b1" | field wsd_cpu_us_per_req) µs = ${r_cpu}x | $(verdict "$r_cpu" 1.2 '<=') | $(echo "$i1" | field cpu_us_per_req) |"
echo "| nr_slot=60: Redis CPU/request ≤ 1.5x redis-benchmark's MGET of the same keys | $(echo "$b60" | field redis_cpu_us_per_req) vs $(echo "$mget" | field redis_cpu_us_per_req) µs = ${r_redis}x | $(verdict "$r_redis" 1.5 '<=') | $(echo "$b60" | field cpu_us_per_req) |"
echo "| $n_idle idle websockets: cg-wsd RSS ≤ 100 MB | $rss_idle MiB | $(verdict "$rss_idle" 100 '<=') | — |"
