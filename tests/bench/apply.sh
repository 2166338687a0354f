#!/usr/bin/env bash
# tests/bench/apply.sh — `cgarch apply` of generated trees of 1,000 and 10,000 cgroups (create
# from nothing, no-op re-apply, prune all), side by side in the same run with cgconfigparser
# (Debian cgroup-tools, the equivalent cgconfig.conf) and the bare syscalls (bare-mkdir.c).
# Every tree lies under a test root (cgrouparch-test-*) removed at exit. Prints Markdown.
. "$(dirname "$0")/../lib.sh"

BARE=$BUILD/bench/bare-mkdir
[ "$(id -u)" = 0 ] && [ -d "$CG_DIR/cpu" ] && [ -d "$CG_DIR/cpuacct" ] || { echo "## cgarch apply: skipped (needs root and v1 cpu/cpuacct)"; exit 0; }
[ -x "$BARE" ] || { echo "build it first: make build/bench/bare-mkdir" >&2; exit 1; }
HAVE_CGCP=0; command -v cgconfigparser >/dev/null && HAVE_CGCP=1
SHARE=512

now_ms() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# best of 3 for fast operations
best3() {
  local b=999999 t i
  for i in 1 2 3; do t=$(date +%s%N); "$@" >/dev/null || return 1; t=$(( ($(date +%s%N) - t) / 1000 )); [ $t -lt $b ] && b=$t; done
  awk -v u=$b 'BEGIN{printf "%.1f", u/1000}'
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
for spec in "10 99" "100 99"; do
  set -- $spec; NT=$1; NC=$2; N=$((NT * (NC + 1)))
  gen_conf "$NT" "$NC" > "$T_TMP/conf.json"
  echo '{"cpu": {}}' > "$T_TMP/empty.json"

  # bare syscalls
  cg_new_root bare$N; BR=$CGROOT
  mkdir "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR"
  t=$(now_ms); "$BARE" create "$NT" "$NC" "$SHARE" "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR" || exit 1; bare_c=$(ms_since $t)
  t=$(now_ms); "$BARE" remove "$NT" "$NC" "$SHARE" "$CG_DIR/cpu/$BR" "$CG_DIR/cpuacct/$BR" || exit 1; bare_r=$(ms_since $t)

  # cgarch
  cg_new_root cgarch$N; CR=$CGROOT
  write_cfg "$T_TMP/c$N.conf" </dev/null
  t=$(now_ms); cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf.json" || exit 1; arch_c=$(ms_since $t)
  [ "$(count_dirs "$CR")" = "$N" ] || { echo "cgarch created $(count_dirs "$CR") of $N" >&2; exit 1; }
  arch_n=$(best3 cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/conf.json")
  [ "$(cgarch -c "$T_TMP/c$N.conf" plan "$T_TMP/conf.json")" = "nothing to do" ] || { echo "re-apply not a no-op" >&2; exit 1; }
  t=$(now_ms); cgarch -c "$T_TMP/c$N.conf" -q apply "$T_TMP/empty.json" || exit 1; arch_r=$(ms_since $t)
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
  ratio=$(awk -v a=$arch_c -v b=$bare_c 'BEGIN{printf "%.2fx", a/(b?b:1)}')
  rratio=$(awk -v a=$arch_r -v b=$bare_r 'BEGIN{printf "%.2fx", a/(b?b:1)}')
  echo "| $N | create from nothing | $bare_c | $arch_c | $cgcp_c | $ratio |"
  echo "| $N | no-op re-apply | — | $arch_n | — | — |"
  echo "| $N | prune all | $bare_r | $arch_r | $cgcp_r (cgdelete -r, both trees) | $rratio |"
  cg_rm_tree "$CG_DIR/cpu/$BR"; cg_rm_tree "$CG_DIR/cpuacct/$BR"
  cg_rm_tree "$CG_DIR/cpu/$CR"; cg_rm_tree "$CG_DIR/cpuacct/$CR"
done
echo
echo "Targets: create <= 1.3x bare syscalls and faster than cgconfigparser; no-op re-apply of"
echo "10,000 under 50 ms. cgarch's figures include reading and validating the JSON conf,"
echo "reading the live tree and planning."
