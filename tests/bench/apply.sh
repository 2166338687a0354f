#!/usr/bin/env bash
# tests/bench/apply.sh — `cgarch apply` of generated trees of 1,000 and 10,000 cgroups (create
# from nothing, no-op re-apply, prune all), side by side in the same run with cgconfigparser
# (Debian cgroup-tools, the equivalent cgconfig.conf) and the bare syscalls (bare-mkdir.c).
# Every tree lies under a test root (cgrouparch-test-*) removed at exit. Prints Markdown.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-bench.sh"
# APPLY_SIZES: the tree sizes (1000 and/or 10000); APPLY_BASELINES=0 skips the bare syscalls and
# cgconfigparser (compare.sh: only cgarch's own figures, old against new).
APPLY_SIZES=${APPLY_SIZES:-1000 10000}
APPLY_BASELINES=${APPLY_BASELINES:-1}

BARE=$BUILD/bench/bare-mkdir
[ "$(id -u)" = 0 ] && [ -d "$CG_DIR/cpu" ] && [ -d "$CG_DIR/cpuacct" ] || { echo "## cgarch apply: skipped (needs root and v1 cpu/cpuacct)"; exit 0; }
[ -x "$BARE" ] || { echo "build it first: make build/bench/bare-mkdir" >&2; exit 1; }
HAVE_CGCP=0; command -v cgconfigparser >/dev/null && [ "$APPLY_BASELINES" = 1 ] && HAVE_CGCP=1
SHARE=512

now_ms() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# timed CMD...: runs CMD (stdout discarded) and sets T_CPU to its user + system CPU time in ms
# (getrusage through bash's time, 1 ms resolution): wall time on this shared machine is mostly
# waiting for a CPU, so compare.sh also compares the CPU time.
timed() {
  local TIMEFORMAT='%3U %3S' r
  { time "$@" >/dev/null 2>&3; } 3>&2 2>"$T_TMP/timed"; r=$?
  T_CPU=$(awk '{ printf "%.1f", ($1 + $2) * 1000 }' "$T_TMP/timed")
  return $r
}
# best of 3 for fast operations: "WALL_MS CPU_MS" (each the best of its 3)
best3() {
  local b=999999999999 c=999999999999 t i
  for i in 1 2 3; do
    t=$(date +%s%N); timed "$@" || return 1; t=$(( ($(date +%s%N) - t) / 1000 )); [ $t -lt $b ] && b=$t
    awk -v a="$T_CPU" -v b="$c" 'BEGIN { exit !(a * 1000 < b) }' && c=$(awk -v a="$T_CPU" 'BEGIN { printf "%d", a * 1000 }')
  done
  awk -v u=$b -v c=$c 'BEGIN{printf "%.1f %.1f", u/1000, c/1000}'
}
gen_conf() { # N_TOP N_CHILD -> arch conf JSON (cpu tree, every cgroup share $SHARE)
  /usr/bin/python3 - "$1" "$2" "$SHARE" <<'EOF'
import json, sys
t, c, s = map(int, sys.argv[1:])
tree = {f"g{i}": {"conf": {"share": s}, "sub_cgroup": {f"g{i}_{j}": {"conf": {"share": s}} for j in range(c)}} for i in range(t)}
print(json.dumps({"cpu": {"sub_cgroup": tree}}))
EOF
}
gen_cgconfig() { # ROOT N_TOP N_CHILD -> cgconfig.conf
  local root=$1 t=$2 c=$3 i j
  {
    echo "group $root { cpu { } cpuacct { } }"
    for ((i = 0; i < t; i++)); do
      echo "group $root/g$i { cpu { cpu.shares = $SHARE; } cpuacct { } }"
      for ((j = 0; j < c; j++)); do echo "group $root/g$i/g${i}_$j { cpu { cpu.shares = $SHARE; } cpuacct { } }"; done
    done
  }
}
count_dirs() { find "$CG_DIR/cpu/$1" -mindepth 1 -type d | wc -l; }
# directories left of ROOT in subsystem SUBSYS, ROOT itself included
dirs_left() { if [ -d "$CG_DIR/$1/$2" ]; then find "$CG_DIR/$1/$2" -type d | wc -l; else echo 0; fi; }

echo "## cgarch apply vs cgconfigparser vs bare syscalls"
echo
echo "Trees of N cgroups in the cpu subsystem (mirrored in cpu and cpuacct: 2N directories, N"
echo "cpu.shares writes), each under its own test root. Wall-clock milliseconds; no-op re-apply:"
echo "best of 3."
echo
echo "| N | operation | bare syscalls | cgarch | cgconfigparser / cgdelete | cgarch / bare |"
echo "|---|---|---|---|---|---|"
for N in $APPLY_SIZES; do
  NT=$((N / 100)); NC=99
  [ $((NT * (NC + 1))) = "$N" ] || { echo "APPLY_SIZES: $N is not a multiple of 100" >&2; exit 1; }
  gen_conf "$NT" "$NC" > "$T_TMP/conf.json"
  echo '{"cpu": {}}' > "$T_TMP/empty.json"

  # bare syscalls
  bare_c="—"; bare_r="—"
  if [ "$APPLY_BASELINES" = 1 ]; then
    cg_new_root bare$N; BR=$CGROOT
    mkdir "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR"
    t=$(now_ms); "$BARE" create "$NT" "$NC" "$SHARE" "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR" || exit 1; bare_c=$(ms_since $t)
    t=$(now_ms); "$BARE" remove "$NT" "$NC" "$SHARE" "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR" || exit 1; bare_r=$(ms_since $t)
  fi

  # cgarch
  cg_new_root cgarch$N; CR=$CGROOT
  write_cfg "$T_TMP/c$N.conf" </dev/null
  t=$(now_ms); timed cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf.json" || exit 1; arch_c=$(ms_since $t); cpu_c=$T_CPU
  [ "$(count_dirs "$CR")" = "$N" ] || { echo "cgarch created $(count_dirs "$CR") of $N" >&2; exit 1; }
  read -r arch_n cpu_n < <(best3 cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf.json")
  [ -n "$cpu_n" ] || { echo "no-op re-apply failed" >&2; exit 1; }
  [ "$(cgarch -c "$T_TMP/c$N.conf" plan "$T_TMP/conf.json")" = "nothing to do" ] || { echo "re-apply not a no-op" >&2; exit 1; }
  t=$(now_ms); timed cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/empty.json" || exit 1; arch_r=$(ms_since $t); cpu_r=$T_CPU
  [ "$(count_dirs "$CR")" = 0 ] || { echo "cgarch prune left $(count_dirs "$CR")" >&2; exit 1; }

  # cgconfigparser (create) and cgdelete -r (remove)
  cgcp_c="n/a"; cgcp_r="n/a"
  if [ $HAVE_CGCP = 1 ]; then
    cg_new_root cgcp$N; GR=$CGROOT
    gen_cgconfig "$GR" "$NT" "$NC" > "$T_TMP/cgconfig$N.conf"
    t=$(now_ms); cgconfigparser -l "$T_TMP/cgconfig$N.conf" >/dev/null 2>&1; rc=$?; cgcp_c=$(ms_since $t)
    if [ $rc != 0 ] || [ "$(count_dirs "$GR")" != "$N" ]; then cgcp_c="failed ($rc)"; fi
    # both trees, timed together: `cgdelete -r cpu,cpuacct:ROOT` removes only the cpu one when
    # the two are mounted apart, as here, which made this column half the work (and one
    # cgdelete given "cpu:ROOT cpuacct:ROOT" left the cpuacct tree too: one call per tree)
    t=$(now_ms)
    cgdelete -r "cpu:$GR" >/dev/null 2>&1; cgdelete -r "cpuacct:$GR" >/dev/null 2>&1
    cgcp_r=$(ms_since $t)
    left=$(( $(dirs_left cpu "$GR") + $(dirs_left cpuacct "$GR") ))
    [ "$left" = 0 ] || cgcp_r="$cgcp_r ($left directories left)"
    cg_rm_tree "$CG_DIR/cpu/$GR"; cg_rm_tree "$CG_DIR/cpuacct/$GR"
  fi
  ratio="—"; rratio="—"
  if [ "$APPLY_BASELINES" = 1 ]; then
    ratio=$(awk -v a=$arch_c -v b=$bare_c 'BEGIN{printf "%.2fx", a/(b?b:1)}')
    rratio=$(awk -v a=$arch_r -v b=$bare_r 'BEGIN{printf "%.2fx", a/(b?b:1)}')
  fi
  bench_figure "apply_create_$N" "$arch_c"; bench_figure "apply_noop_$N" "$arch_n"; bench_figure "apply_prune_$N" "$arch_r"
  bench_figure "apply_create_$N.cpu" "$cpu_c"; bench_figure "apply_noop_$N.cpu" "$cpu_n"; bench_figure "apply_prune_$N.cpu" "$cpu_r"
  echo "| $N | create from nothing | $bare_c | $arch_c | $cgcp_c | $ratio |"
  echo "| $N | no-op re-apply | — | $arch_n | — | — |"
  echo "| $N | prune all | $bare_r | $arch_r | $cgcp_r (cgdelete -r, both trees) | $rratio |"
  [ "$APPLY_BASELINES" = 1 ] && { cg_rm_tree "$CG_DIR/cpu/$BR"; cg_rm_tree "$CG_DIR/cpuacct/$BR"; }
  cg_rm_tree "$CG_DIR/cpu/$CR"; cg_rm_tree "$CG_DIR/cpuacct/$CR"
done
echo
echo "Targets: create <= 1.3x bare syscalls and faster than cgconfigparser; no-op re-apply of"
echo "10,000 under 50 ms. cgarch's figures include reading and validating the JSON conf,"
echo "reading the live tree and planning."
