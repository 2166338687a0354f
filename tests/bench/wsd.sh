#!/usr/bin/env bash
# tests/bench/wsd.sh — what a cg-wsd request costs the servers: throughput, latency, and µs of CPU
# per request of cg-wsd and of redis-server (from /proc/PID/task/*/schedstat over the measuring
# window, every thread), for show_account over a 100-cgroup sample at nr_slot 1 and 60, 16
# connections with one request in flight each, with 0 and with 10,000 idle websockets open.
# Baselines from the same run: redis-benchmark GET of the same key (nr_slot 1) and MGET of the
# same 60 keys (nr_slot 60), 16 connections, with Redis's CPU per command measured the same way.
# The load client (tests/tools/ws-bench) prints its own CPU per request beside the figures.
# Ends with the issue-14 targets, each checked against this run's baseline. Prints Markdown.
# Bounded: about a minute, loopback only, everything stopped at exit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"
BENCH=$BUILD/tests/tools/ws-bench
[ -x "$BENCH" ] || { echo "build ws-bench first: make tests-build" >&2; exit 1; }
DUR=${WSD_BENCH_SECONDS:-4}
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

field() { sed -n "s/.*[ ^]$1=\([0-9.-]*\).*/\1/p" | head -1; }
# CPU time of every thread of a process, in ns
cpu_ns() { awk '{ s += $1 } END { printf "%.0f", s }' /proc/"$1"/task/*/schedstat; }
keys() { local s; for ((s = S - $1 + 1; s <= S; s++)); do printf 'cgroup_arch/account/%d ' "$s"; done; }
msg() { printf '{"cmd": "show_account", "args": {"start_slot": %d, "end_slot": %d}}' $((S - $1 + 1)) "$S"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# redis-benchmark CMD...: "rps p50 p99 redis_cpu_us_per_cmd" at $CONNS connections, about
# $DUR seconds (a short first run sizes the real one)
redis_base() {
  local n r0 r1 csv
  n=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n 320 --csv "$@" 2>/dev/null | tail -1 |
      awk -F'","' -v d="$DUR" '{ n = int($2 * d); print (n < 320) ? 320 : n }')
  r0=$(cpu_ns "$REDIS_PID")
  csv=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$n" --csv "$@" 2>/dev/null | tail -1)
  r1=$(cpu_ns "$REDIS_PID")
  echo "$csv" | awk -F'","' -v a="$r0" -v b="$r1" -v n="$n" \
    '{ for (i = 1; i <= NF; i++) gsub(/"/, "", $i); printf "%s %s %s %.1f\n", $2, $5, $7, (b - a) / 1e3 / n }'
}

LOAD0=$(loadavg)
# Baselines first, then cg-wsd; the client also gets the servers' pids to measure them itself.
read -r G_RPS G_P50 G_P99 G_US <<<"$(redis_base GET "cgroup_arch/account/$S")"
# shellcheck disable=SC2046
read -r M_RPS M_P50 M_P99 M_US <<<"$(redis_base MGET $(keys 60))"

"$BENCH" -p "$WSD_PORT" -c "$CONNS" -d "$DUR" -m "$(msg 1)" -m "$(msg 60)" \
  -P wsd="$WSD_PID" -P redis="$REDIS_PID" > "$T_TMP/busy" 2>"$T_TMP/busy.err"
"$BENCH" -p "$WSD_PORT" -c "$CONNS" -d "$DUR" -i "$IDLE" -m "$(msg 1)" -m "$(msg 60)" \
  -P wsd="$WSD_PID" -P redis="$REDIS_PID" > "$T_TMP/idle" 2>"$T_TMP/idle.err"
LOAD1=$(loadavg)
for f in busy idle; do
  grep -q 'msg=2' "$T_TMP/$f" || { echo "ws-bench ($f) failed:" >&2; cat "$T_TMP/$f" "$T_TMP/$f.err" >&2; exit 1; }
  if grep -q 'error_answers=[1-9]' "$T_TMP/$f"; then echo "# warning: error answers: $(cat "$T_TMP/$f")" >&2; fi
done
line() { grep "msg=$2 " "$T_TMP/$1"; }

echo "## cg-wsd: cost per request on the server side"
echo
echo "Sample: $NCG cgroups, $SAMPLE_BYTES bytes of JSON per slot. $CONNS connections, one request in"
echo "flight each, ${DUR} s per cell after a 0.5 s warm-up. CPU per request from"
echo "\`/proc/PID/task/*/schedstat\` over the measuring window (every thread). Load average"
echo "before / after: $LOAD0 / $LOAD1 ($(nproc) cores, shared)."
echo
echo "| nr_slot | idle websockets | req/s | p50 ms | p99 ms | max ms | cg-wsd CPU µs/req | Redis CPU µs/req | ws-bench CPU µs/req | cg-wsd RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in 1 2; do
  nr=$([ $m = 1 ] && echo 1 || echo 60)
  for f in busy idle; do
    l=$(line $f $m)
    echo "| $nr | $(echo "$l" | field idle_connected) | $(echo "$l" | field rps) | $(echo "$l" | field p50_ms) | $(echo "$l" | field p99_ms) | $(echo "$l" | field max_ms) | $(echo "$l" | field wsd_cpu_us_per_req) | $(echo "$l" | field redis_cpu_us_per_req) | $(echo "$l" | field cpu_us_per_req) | $(( $(echo "$l" | field wsd_rss_kb) / 1024 )) MiB |"
  done
done
echo
echo "Baselines, same Redis, same run, $CONNS connections (\`redis-benchmark\`):"
echo
echo "| command | req/s | p50 ms | p99 ms | Redis CPU µs/command |"
echo "|---|---:|---:|---:|---:|"
echo "| GET of the nr_slot=1 key | $G_RPS | $G_P50 | $G_P99 | $G_US |"
echo "| MGET of the nr_slot=60 keys | $M_RPS | $M_P50 | $M_P99 | $M_US |"
echo

b1=$(line busy 1); i1=$(line idle 1); b60=$(line busy 2)
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "**met**" : "**missed**" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
r_get=$(ratio "$(echo "$b1" | field rps)" "$G_RPS")
r_idle=$(ratio "$(echo "$i1" | field rps)" "$(echo "$b1" | field rps)")
r_cpu=$(ratio "$(echo "$i1" | field wsd_cpu_us_per_req)" "$(echo "$b1" | field wsd_cpu_us_per_req)")
r_redis=$(ratio "$(echo "$b60" | field redis_cpu_us_per_req)" "$M_US")
rss_idle=$(( $(echo "$i1" | field wsd_rss_kb) / 1024 ))
echo "### Targets (issue 14), against this run's baselines"
echo
echo "| target | measured | verdict | ws-bench's own CPU µs/req |"
echo "|---|---|---|---:|"
echo "| 16 conns, nr_slot=1: ≥ 70% of redis-benchmark GET on the same key | $(echo "$b1" | field rps) vs $G_RPS req/s = $(awk -v r="$r_get" 'BEGIN { printf "%.0f%%", 100 * r }') | $(verdict "$r_get" 0.70 '>=') | $(echo "$b1" | field cpu_us_per_req) |"
echo "| $IDLE idle websockets: ≥ 90% of the throughput without them | $(echo "$i1" | field rps) vs $(echo "$b1" | field rps) req/s = $(awk -v r="$r_idle" 'BEGIN { printf "%.0f%%", 100 * r }') | $(verdict "$r_idle" 0.90 '>=') | $(echo "$i1" | field cpu_us_per_req) |"
echo "| $IDLE idle websockets: cg-wsd CPU/request ≤ 1.2x | $(echo "$i1" | field wsd_cpu_us_per_req) vs $(echo "$b1" | field wsd_cpu_us_per_req) µs = ${r_cpu}x | $(verdict "$r_cpu" 1.2 '<=') | $(echo "$i1" | field cpu_us_per_req) |"
echo "| nr_slot=60: Redis CPU/request ≤ 1.5x redis-benchmark's MGET of the same keys | $(echo "$b60" | field redis_cpu_us_per_req) vs $M_US µs = ${r_redis}x | $(verdict "$r_redis" 1.5 '<=') | $(echo "$b60" | field cpu_us_per_req) |"
echo "| $IDLE idle websockets: cg-wsd RSS ≤ 100 MB | $rss_idle MiB | $(verdict "$rss_idle" 100 '<=') | — |"
