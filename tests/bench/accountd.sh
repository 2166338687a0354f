#!/usr/bin/env bash
# tests/bench/accountd.sh — cg-accountd's cost per tick and its memory for 100, 1,000 and 10,000
# cgroups (each in the cpu and the blkio tree: 3 files per cgroup per tick), beside the bare cost
# of reading the same files in the same run (open+read+close each, and pread on kept fds), and
# the tick jitter a subscriber sees (arrival of the PUBLISH after the second boundary).
# Prints a Markdown section. Bounded: ~90 s, at most 10,000 cgroups x 3 hierarchies.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"
source "$(dirname "$0")/lib-bench.sh"
BENCH=$BUILD/bench
SIZES=${ACCTD_BENCH_SIZES:-100 1000 10000}
RUN_SECS=${ACCTD_BENCH_SECS:-15}
RUNTIME_DIR=$T_TMP/run
start_redis >/dev/null || { echo "redis did not start" >&2; exit 1; }
export REDIS_PORT

# mktree ROOT N: N cgroups as N/100 parents x up to 100 children (+ the parents themselves
# count), in cpu, cpuacct and blkio; writes the conf JSON to $T_TMP/conf.N.json and the list of
# files a tick reads to $T_TMP/files.N. Python: 30k mkdirs without 30k forks.
mktree() {
  $PY - "$CG_DIR" "$1" "$2" "$T_TMP" <<'EOF'
import json, os, sys
cg, root, n, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
parents = max(1, n // 101)
names = []  # (path, parent)
i = 0
tree = {}
while len(names) < n:
    p = "p%d" % (len(names) // 101)
    if not any(x[0] == p for x in names[-1:]) and p not in tree:
        tree[p] = {}
        names.append((p, None))
        continue
    c = "c%d" % i; i += 1
    tree[p][c] = {}
    names.append((p + "/" + c, p))
for h in ("cpu", "cpuacct", "blkio"):
    os.makedirs(os.path.join(cg, h, root), exist_ok=True)
    for path, _ in names:
        os.mkdir(os.path.join(cg, h, root, path))
def node(sub):
    d = {}
    if sub:
        d["sub_cgroup"] = {k: node(v) for k, v in sub.items()}
    return d
conf = {"cpu": {"sub_cgroup": {k: node(v) for k, v in tree.items()}},
        "blkio": {"sub_cgroup": {k: node(v) for k, v in tree.items()}}}
with open(os.path.join(tmp, "conf.%d.json" % n), "w") as f:
    json.dump(conf, f)
with open(os.path.join(tmp, "files.%d" % n), "w") as f:
    for path in [""] + [x[0] for x in names]:
        f.write(os.path.join(cg, "cpuacct", root, path, "cpuacct.usage").replace("//", "/") + "\n")
        # the CFS throttling counters, read beside usage since issue 16
        f.write(os.path.join(cg, "cpu", root, path, "cpu.stat").replace("//", "/") + "\n")
        f.write(os.path.join(cg, "blkio", root, path, "blkio.throttle.io_service_bytes_recursive").replace("//", "/") + "\n")
EOF
}
# rmtree ROOT: removes the test tree deepest first (fast, no forks), only under cgrouparch-test-*.
rmtree() {
  $PY - "$CG_DIR" "$1" <<'EOF'
import os, sys
cg, root = sys.argv[1], sys.argv[2]
assert root.startswith("cgrouparch-test-")
for h in ("cpu", "cpuacct", "blkio"):
    top = os.path.join(cg, h, root)
    if not os.path.isdir(top):
        continue
    for d, subdirs, files in os.walk(top, topdown=False):
        os.rmdir(d)
EOF
}
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
pct() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "-"; exit}; i=int(NR*'"$1"'/100+0.999); if (i<1) i=1; if (i>NR) i=NR; printf "%.1f", a[i]/1000}'; }

echo "## cg-accountd"
echo
echo "$(nproc) cores, $(uname -r); each size: N cgroups in the cpu tree and the same N in the blkio tree"
echo "(3N + 3 stat files read per tick: cpuacct.usage, cpu.stat, blkio.throttle.io_service_bytes_recursive;"
echo "the PSI files v1 lacks here are tried once every 30 ticks);"
echo "daemon measured over ${RUN_SECS} ticks from /proc/PID/schedstat; bare = the same files read by"
echo "a minimal C loop in the same run. Sample sent to a local redis-server each tick."
echo
echo "| cgroups | files/tick | daemon CPU/tick | % of a core | bare open+read+close | bare pread (kept fds) | daemon RSS (peak) | sample size | jitter p50 | jitter p99 | max |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for N in $SIZES; do
  cg_new_root "b$N"
  mktree "$CGROOT" "$N" || { echo "mktree $N failed" >&2; continue; }
  at_exit rmtree "$CGROOT"
  acctd_snapshot 1 "$(cat "$T_TMP/conf.$N.json")"
  ACFG=$T_TMP/bench.$N.conf
  write_cfg "$ACFG" </dev/null
  files=$(wc -l < "$T_TMP/files.$N")
  bare_open=$("$BENCH/accountd-bare" open 5 < "$T_TMP/files.$N" | awk '{print $3}')
  bare_pread=$("$BENCH/accountd-bare" pread 5 < "$T_TMP/files.$N" | awk '{print $3}')
  "$BENCH/accountd-sub" "$REDIS_PORT" cgroup_arch/account $((RUN_SECS + 4)) > "$T_TMP/jitter.$N" &
  SUB=$!; track $SUB
  wait_for 3 grep -q ready "$T_TMP/jitter.$N"
  acctd_start
  # two ticks to warm up (fds opened on the first), then measure in phase: just after a tick
  wait_for 5 bash -c "[ \$(grep -vc ready '$T_TMP/jitter.$N') -ge 2 ]"
  sleep 0.3
  c0=$(cpu_ns "$ACCTD_PID"); t0=$(date +%s%N)
  sleep "$RUN_SECS"
  c1=$(cpu_ns "$ACCTD_PID"); t1=$(date +%s%N)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$ACCTD_PID/status"); hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$ACCTD_PID/status")
  slot=$(acctd_latest_slot); size=$(rcli strlen "cgroup_arch/account/$slot")
  stop_pid "$ACCTD_PID"; stop_pid "$SUB"
  ticks=$RUN_SECS
  per_tick=$(( (c1 - c0) / ticks ))
  core=$(awk -v c=$((c1 - c0)) -v w=$((t1 - t0)) 'BEGIN {printf "%.2f", 100 * c / w}')
  offs=$(grep -v ready "$T_TMP/jitter.$N" | tail -n +3 | awk '{print $2}')
  p50=$(echo "$offs" | pct 50); p99=$(echo "$offs" | pct 99); mx=$(echo "$offs" | pct 100)
  printf '| %d | %d | %.2f ms | %s %% | %.2f ms | %.2f ms | %d kB (%d kB) | %d B | %s ms | %s ms | %s ms |\n' \
    "$N" "$files" "$(awk -v v=$per_tick 'BEGIN{print v/1e6}')" "$core" \
    "$(awk -v v="$bare_open" 'BEGIN{print v/1e6}')" "$(awk -v v="$bare_pread" 'BEGIN{print v/1e6}')" \
    "$rss" "$hwm" "$size" "$p50" "$p99" "$mx"
  bench_figure "accountd_tick_$N" "$(awk -v v=$per_tick 'BEGIN{printf "%.3f", v/1e6}')"
  bench_figure "accountd_jitter_p50_$N" "$p50"
  bench_figure "accountd_rss_kib_$N" "$rss"
  rcli flushall >/dev/null
  rmtree "$CGROOT"
done
echo
echo "Jitter = arrival of the PUBLISH at a hiredis subscriber minus the slot's second boundary"
echo "(timer wake-up + reading + JSON + Redis round trip + pub/sub delivery), first 2 ticks excluded."
