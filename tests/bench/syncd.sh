#!/usr/bin/env bash
# cg-syncd bench: latency from zoo_set returning to the snapshot being renamed, over 200 changes of
# a 1,000-cgroup conf (one weight; then 100 cgroups added/removed), beside the bare tree operations
# of the same change; and cg-syncd's RSS with a 10,000-cgroup conf beside a 1,000-cgroup one.
# Prints a Markdown section. Bounded: one private ZooKeeper, ~30,000 cgroups created at most, all
# under a test root removed at exit.
. "$(dirname "$0")/../lib-syncd.sh"
. "$(dirname "$0")/lib-bench.sh"
LAT=$BUILD/bench/syncd-lat
N=${SYNCD_BENCH_N:-200}
syncd_env >&2
gen() { # gen PARENTS CHILDREN [EXTRA_CHILDREN] [FIRST_SHARE]
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
np, nc = int(sys.argv[1]), int(sys.argv[2])
extra = int(sys.argv[3]) if len(sys.argv) > 3 else 0
first = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
sub = {}
for i in range(np):
    sub["p%d" % i] = {"conf": {"share": first if i == 0 else 1024},
                      "sub_cgroup": {"p%d_c%d" % (i, j): {"conf": {"share": 512}} for j in range(nc)}}
if extra:
    sub["extra"] = {"conf": {"share": 100},
                    "sub_cgroup": {"extra_c%d" % j: {"conf": {"share": 100}} for j in range(extra - 1)}}
print(json.dumps({"cpu": {"sub_cgroup": sub}}))
PY
}
gen 10 99 > "$T_TMP/base.json"
gen 10 99 0 512 > "$T_TMP/weight.json"
gen 10 99 100 > "$T_TMP/plus100.json"
gen 100 99 > "$T_TMP/big.json"
rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

zkctl create "$NODE" "@$T_TMP/base.json" >&2
start_syncd
wait_for 60 snap_is 0 || { echo "cg-syncd did not apply the 1,000-cgroup conf" >&2; exit 1; }
rss1k=$(rss "$SYNCD_PID" VmRSS)

# CPU of cg-syncd (all its threads, the ZooKeeper client's included) in ns, per change below
syncd_cpu() { cat /proc/"$SYNCD_PID"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
c0=$(syncd_cpu)
read -r w50 w99 wmax wmean < <("$LAT" zk "$ZK_HOSTS" digest:super:123456 "$NODE" "$SNAP" "$N" "$T_TMP/base.json" "$T_TMP/weight.json")
c1=$(syncd_cpu)
read -r c50 c99 cmax cmean < <("$LAT" zk "$ZK_HOSTS" digest:super:123456 "$NODE" "$SNAP" "$N" "$T_TMP/base.json" "$T_TMP/plus100.json")
c2=$(syncd_cpu)

bare=$CGROOT-bare; T_CGROOTS+=("$bare")
mkdir -p "$CG_DIR/cpu/$bare" "$CG_DIR/cpuacct/$bare"
read -r bw50 bw99 bwmax bwmean < <("$LAT" bare-weight "$CG_DIR/cpu/$CGROOT/p0" "$N")
read -r bd50 bd99 bdmax bdmean < <("$LAT" bare-dirs "$N" 100 "$CG_DIR/cpu/$bare" "$CG_DIR/cpuacct/$bare")
rmdir "$CG_DIR/cpu/$bare" "$CG_DIR/cpuacct/$bare"

# The reconcile path (every 60 s, and after a failed cached apply): the same conf planned against
# the tree read afresh. A second cg-syncd instance would fight the first, so restart it with a
# 1 s reconcile interval and debug timings for a few ticks.
syncd_stop
SYNCD_LOG=$T_TMP/syncd-reconcile.log RECONCILE=1 start_syncd -v
wait_for 15 bash -c "[ \$(grep -c 'read tree' '$T_TMP/syncd-reconcile.log') -ge 6 ]"
read -r r50 rmax < <(grep -o 'read tree [0-9]*' "$T_TMP/syncd-reconcile.log" | awk '{print $3}' | sort -n |
  awk '{v[NR]=$1} END {printf "%.3f %.3f\n", v[int((NR+1)/2)]/1000, v[NR]/1000}')
syncd_stop
SYNCD_LOG=$T_TMP/syncd.log start_syncd
wait_for 10 grep -q Ready "$T_TMP/syncd.log"

v=$(zkctl set "$NODE" "@$T_TMP/big.json")
t0=$(date +%s%N)
wait_for 120 snap_is "$v" || { echo "cg-syncd did not apply the 10,000-cgroup conf" >&2; exit 1; }
big_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rss10k=$(rss "$SYNCD_PID" VmRSS); hwm10k=$(rss "$SYNCD_PID" VmHWM)
ncg=$(find "$CG_DIR/cpu/$CGROOT" -mindepth 1 -type d | wc -l)
# prune everything through cg-syncd itself (fast), so the harness has little left to remove
v=$(zkctl set "$NODE" '{"cpu": {}}')
wait_for 120 snap_is "$v"
syncd_stop

bench_figure syncd_weight_p50 "$w50"; bench_figure syncd_weight_p99 "$w99"
bench_figure syncd_dirs_p50 "$c50"; bench_figure syncd_dirs_p99 "$c99"
bench_figure syncd_reconcile_read "$r50"; bench_figure syncd_apply_10k "$big_ms"
bench_figure syncd_rss_kib_10k "$rss10k"
bench_figure syncd_weight.cpu "$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }')"
bench_figure syncd_dirs.cpu "$(awk -v a="$c1" -v b="$c2" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }')"

cat <<MD
## cg-syncd: ZooKeeper change to snapshot

$N changes of a 1,000-cgroup conf (10 parents x 99 children, v1 \`cpu\` + \`cpuacct\` hierarchies,
so 2,000 directories), private ZooKeeper on loopback; latency from \`zoo_set\` returning to the
snapshot being renamed into place (inotify), i.e. watch + read + validate + plan (against the
tree as cg-syncd last read and changed it) + apply + snapshot write. Baseline: the bare tree
operations of the same change, measured in the same run on the same hierarchies.

| change | cg-syncd p50 | p99 | max | mean | bare tree ops p50 | p99 |
|---|---|---|---|---|---|---|
| one weight (\`cpu.shares\` of one cgroup) | $w50 ms | $w99 ms | $wmax ms | $wmean ms | $bw50 ms | $bw99 ms |
| add / remove 100 cgroups (x2 hierarchies) | $c50 ms | $c99 ms | $cmax ms | $cmean ms | $bd50 ms | $bd99 ms |

Reconcile (timer, every 60 s by default): reading the 1,000-cgroup tree back from the filesystem
takes $r50 ms (median of the ticks; max $rmax ms); a change is planned against the tree as
cg-syncd last read and changed it instead, and falls back to such a read if the apply fails or
warns.

| memory | cg-syncd VmRSS |
|---|---|
| 1,000-cgroup conf | $((rss1k / 1024)).$(( (rss1k % 1024) * 10 / 1024 )) MiB |
| 10,000-cgroup conf ($ncg cgroups in cpu, applied in $big_ms ms) | $((rss10k / 1024)).$(( (rss10k % 1024) * 10 / 1024 )) MiB (peak $((hwm10k / 1024)).$(( (hwm10k % 1024) * 10 / 1024 )) MiB) |
MD
