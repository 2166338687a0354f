#!/usr/bin/env bash
# tests/bench/limits.sh — `cgarch apply` of a conf that sets every limit (issue 16 item 5) on
# trees of 1,000 and 10,000 cgroups, against the bare syscalls of the same mkdirs and file
# writes (bare-limits.c), in the same run: each cgroup of the tree is in the cpu, memory, pids
# and blkio trees of the conf, and sets quota_percent, memory max and low (v1 has no high),
# pids max, and read_bps, write_bps, read_iops, write_iops on a loop device made here (a
# throttle rule on the machine's own disk is never written). On v1 that is 5 mkdirs (cpu and
# its cpuacct mirror, memory, pids, blkio) and 9 writes per cgroup. Create from nothing and
# prune all are timed ROUNDS (2) times, after an unmeasured bare run (the first tree of a size
# grows the kernel's slab caches, a cost whoever went first would carry), cgarch and bare taking
# turns at going first, the best of each kept (the machine is shared), in wall clock and in CPU
# time (user + system); the no-op re-apply is the best of 3. Every tree lies under a test root
# (cgrouparch-test-*) removed at exit. Prints Markdown.
. "$(dirname "$0")/../lib.sh"

BARE=$BUILD/bench/bare-limits
HIERS="cpu cpuacct memory pids blkio"
[ "$(id -u)" = 0 ] || { echo "## cgarch apply with every limit: skipped (needs root)"; exit 0; }
for h in $HIERS; do
  [ -d "$CG_DIR/$h" ] || { echo "## cgarch apply with every limit: skipped (no v1 $h hierarchy)"; exit 0; }
done
[ -x "$BARE" ] || { echo "build it first: make build/bench/bare-limits" >&2; exit 1; }
dd if=/dev/zero of="$T_TMP/disk.img" bs=1M count=8 status=none
LOOP=$(losetup -f --show "$T_TMP/disk.img" 2>/dev/null) || { echo "## cgarch apply with every limit: skipped (no loop device)"; exit 0; }
at_exit "losetup -d $LOOP"
DEV=$((16#$(stat -c %t "$LOOP"))):$((16#$(stat -c %T "$LOOP")))

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# timed CMD...: runs CMD; sets W (wall ms) and U (user + system CPU ms of CMD, its threads and
# children: the kernel's work in mkdir and the writes is system time of the caller, so on a
# loaded machine this is the figure that is not the scheduler's)
timed() {
  local t; t=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$T_TMP/time" "$@" || return 1
  W=$(ms_since "$t")
  U=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$T_TMP/time")
}
best3() {
  local b=999999999 t i
  for i in 1 2 3; do t=$(date +%s%N); "$@" >/dev/null || return 1; t=$(( ($(date +%s%N) - t) / 1000 )); [ $t -lt $b ] && b=$t; done
  awk -v u=$b 'BEGIN{printf "%.1f", u/1000}'
}
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
# gen_conf N_TOP N_CHILD DEV: the same tree in cpu, memory, pids and blkio, every node with
# every limit of its subsystem (the values bare-limits.c writes)
gen_conf() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
t, c, dev = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lim = {"cpu": {"quota_percent": 50}, "memory": {"max": 268435456, "low": 1048576},
       "pids": {"max": 100},
       "blkio": {"read_bps": {dev: 10485760}, "write_bps": {dev: 10485760},
                 "read_iops": {dev: 1000}, "write_iops": {dev: 1000}}}
def tree(s):
    return {"sub_cgroup": {f"g{i}": {"conf": lim[s], "sub_cgroup": {f"g{i}_{j}": {"conf": lim[s]} for j in range(c)}}
                           for i in range(t)}}
print(json.dumps({s: tree(s) for s in lim}))
EOF
}
count_dirs() { find "$CG_DIR/$1/$2" -mindepth 1 -type d | wc -l; }
rm_roots() { local h; for h in $HIERS; do cg_rm_tree "$CG_DIR/$h/$1"; done; }
# one cgarch create + prune, or one bare create + remove, under a fresh root; sets C R
run_cgarch() {
  cg_new_root lcga$N; CR=$CGROOT
  write_cfg "$T_TMP/c$N.conf" </dev/null
  timed cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf$N.json" || return 1; C=$W CU=$U
  for h in $HIERS; do [ "$(count_dirs $h "$CR")" = "$N" ] || { echo "cgarch created $(count_dirs $h "$CR") of $N in $h" >&2; return 1; }; done
  [ "$(cat "$CG_DIR/blkio/$CR/g0/g0_0/blkio.throttle.write_iops_device")" = "$DEV 1000" ] || { echo "cgarch: no write_iops rule" >&2; return 1; }
  if [ -z "${NOOP:-}" ]; then
    NOOP=$(best3 cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf$N.json")
    ! cgarch -c "$T_TMP/c$N.conf" plan "$T_TMP/conf$N.json" | grep -qE "^(set|clear|create|remove|enable)" ||
      { echo "re-apply not a no-op" >&2; return 1; }
  fi
  timed cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/empty.json" || return 1; R=$W RU=$U
  [ "$(count_dirs memory "$CR")" = 0 ] || { echo "cgarch prune left $(count_dirs memory "$CR")" >&2; return 1; }
  rm_roots "$CR"
}
run_bare() {
  cg_new_root lbare$N; BR=$CGROOT
  local h dirs=()
  for h in $HIERS; do mkdir "$CG_DIR/$h/$BR"; dirs+=("$CG_DIR/$h/$BR"); done
  timed "$BARE" create "$NT" "$NC" "$DEV" "${dirs[@]}" || return 1; C=$W CU=$U
  timed "$BARE" remove "$NT" "$NC" "$DEV" "${dirs[@]}" || return 1; R=$W RU=$U
  rm_roots "$BR"
}

echo "## cgarch apply with every limit vs bare syscalls"
echo
echo "Trees of N cgroups, each in the cpu, memory, pids and blkio trees of the conf with every"
echo "limit of its subsystem set (cgroup v1: per cgroup 5 mkdirs — cpu, its cpuacct mirror,"
echo "memory, pids, blkio — and 9 writes: cpu.cfs_period_us, cpu.cfs_quota_us,"
echo "memory.limit_in_bytes, memory.soft_limit_in_bytes, pids.max and the 4 blkio.throttle files"
echo "for a loop device). Milliseconds of wall clock and of CPU (user + system), best of"
echo "${ROUNDS:-2} runs alternating which goes first, after an unmeasured bare run of the same size"
echo "(it grows the kernel's slab caches); no-op re-apply: wall clock, best of 3."
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| N | operation | bare: wall / CPU | cgarch: wall / CPU | cgarch / bare: wall / CPU |"
echo "|---|---|---|---|---|"
echo '{"cpu": {}, "memory": {}, "pids": {}, "blkio": {}}' > "$T_TMP/empty.json"
# LIMITS_BENCH_SPECS: "N_TOP N_CHILD" pairs, comma-separated (default 1,000 and 10,000 cgroups)
IFS=, read -ra SPECS <<<"${LIMITS_BENCH_SPECS:-10 99,100 99}"
for spec in "${SPECS[@]}"; do
  set -- $spec; NT=$1; NC=$2; N=$((NT * (NC + 1)))
  gen_conf "$NT" "$NC" "$DEV" > "$T_TMP/conf$N.json"
  NOOP= bc=999999999 br=$bc ac=$bc ar=$bc bcu=$bc bru=$bc acu=$bc aru=$bc
  # An unmeasured bare run first: the first tree of a size grows the kernel's slab caches
  # (kernfs nodes, inodes, memcgs), which whoever ran first would pay for; then the rounds
  # alternate who goes first, with a pause for the RCU-deferred frees of the last prune.
  run_bare || exit 1
  for ((round = 1; round <= ${ROUNDS:-2}; round++)); do
    for who in $([ $((round % 2)) = 1 ] && echo "cgarch bare" || echo "bare cgarch"); do
      sleep 2
      if [ $who = cgarch ]; then
        run_cgarch || exit 1; ac=$(min $ac $C); ar=$(min $ar $R); acu=$(min $acu $CU); aru=$(min $aru $RU)
      else
        run_bare || exit 1; bc=$(min $bc $C); br=$(min $br $R); bcu=$(min $bcu $CU); bru=$(min $bru $RU)
      fi
    done
  done
  x() { awk -v a=$1 -v b=$2 'BEGIN{printf "%.2fx", a/(b?b:1)}'; }
  echo "| $N | create from nothing | $bc / $bcu | $ac / $acu | $(x $ac $bc) / $(x $acu $bcu) |"
  echo "| $N | no-op re-apply | — | $NOOP / — | — |"
  echo "| $N | prune all | $br / $bru | $ar / $aru | $(x $ar $br) / $(x $aru $bru) |"
done
echo
echo "Target: create <= 1.3x the bare syscalls. cgarch's figures include reading and validating"
echo "the JSON conf ($(du -k "$T_TMP/conf$N.json" | cut -f1) KiB at $N), resolving the device, reading the live tree"
echo "(every limit file of every cgroup, for the plan) and planning; the bare tool only writes."
