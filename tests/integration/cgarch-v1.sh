#!/usr/bin/env bash
# cgarch on this machine's real cgroup v1 hierarchies, under a test-owned [cgroup] root:
# apply the seed's example, re-apply as a no-op, prune with a process moved out, protected
# names, an invalid conf changing nothing, nothing outside the test root touched.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || { t_skip "cgarch v1" "needs root"; t_done; exit; }
[ -d "$CG_DIR/cpu" ] && [ -d "$CG_DIR/cpuacct" ] && [ -d "$CG_DIR/blkio" ] ||
  { t_skip "cgarch v1" "no v1 cpu/cpuacct/blkio hierarchies"; t_done; exit; }

cg_new_root v1
CFG=$T_TMP/cgrouparch.conf
write_cfg "$CFG" <<EOF
protected = keepme
EOF
# write_cfg puts [cgroup] before later sections; "protected" must be in [cgroup]: rewrite.
sed -i '/^protected = /d' "$CFG"
sed -i "s/^root = .*/root = $CGROOT\nprotected = keepme/" "$CFG"
echo "$SEED_CONF" > "$T_TMP/seed.json"

# Everything outside the test root: top-level cgroups of each hierarchy, before and after
# (other tests' roots, cgrouparch-test-*, come and go concurrently: left out).
outside() {
  local h
  for h in "$CG_DIR"/*/; do
    find "$h" -mindepth 1 -maxdepth 1 -type d ! -name 'cgrouparch-test-*' | sort
  done
}
# The test tree: every directory and the weights in it.
tree_state() {
  local h d
  for h in cpu cpuacct blkio; do
    [ -d "$CG_DIR/$h/$CGROOT" ] || continue
    find "$CG_DIR/$h/$CGROOT" -type d | sort | while read -r d; do
      echo "$d"
      for f in cpu.shares blkio.weight blkio.bfq.weight; do [ -f "$d/$f" ] && echo "  $f $(cat "$d/$f")"; done
    done
  done
}
BEFORE_OUTSIDE=$(outside)

# ---- the CLI itself ----
cgarch --help | grep -q "cgarch \[-c CONFIG\] COMMAND"; t_check "--help prints usage" [ $? = 0 ]
t_eq "--version" "$(cgarch --version)" "cgarch 0.1.0"
cgarch frobnicate >/dev/null 2>&1; t_eq "unknown command exits 2" "$?" 2
cgarch plan >/dev/null 2>&1; t_eq "missing FILE exits 2" "$?" 2
out=$(cgarch -c "$T_TMP/nope.conf" plan "$T_TMP/seed.json" 2>&1); rc=$?
t_eq "explicit missing config exits 1" "$rc" 1
case "$out" in *nope.conf*) t_ok "missing config is named" ;; *) t_fail "missing config is named"; t_diag "$out" ;; esac

# ---- validate ----
out=$(cgarch -c "$CFG" validate "$T_TMP/seed.json"); t_eq "validate the seed" "$?:$out" "0:$T_TMP/seed.json: valid (4 cgroups)"
echo '{"cpu": {"sub_cgroup": {"..": {}, "a": {"conf": {"share": 1}}}}, "blkio": {"sub_cgroup": {"tasks": {}}}, "mem": {}}' > "$T_TMP/bad.json"
out=$(cgarch -c "$CFG" validate "$T_TMP/bad.json" 2>&1); rc=$?
t_eq "validate an invalid conf exits 1" "$rc" 1
n=$(grep -c "bad.json: " <<<"$out")
t_check "every problem listed ($n lines)" [ "$n" -ge 4 ]
t_diag "$(head -5 <<<"$out")"
# A problem of the whole text has no JSON path: no empty "file: : what" part (issue 15).
printf 'not json' > "$T_TMP/bad2.json"
out=$(cgarch -c "$CFG" validate "$T_TMP/bad2.json" 2>&1); rc=$?
t_eq "not JSON: the file, then the problem" "$rc:$out" \
  "1:cgarch: $T_TMP/bad2.json: not valid JSON: syntax error at line 1, column 1"
out=$(cgarch -c "$CFG" cgexec-arg --conf "$T_TMP/bad2.json" x 2>&1)
t_eq "... the same from cgexec-arg" "$out" "cgarch: $T_TMP/bad2.json: not valid JSON: syntax error at line 1, column 1"
echo '{"cpu": {"sub_cgroup": {"one": {}}}}' > "$T_TMP/one.json"
t_eq "validate: 1 cgroup, singular" "$(cgarch -c "$CFG" validate "$T_TMP/one.json")" "$T_TMP/one.json: valid (1 cgroup)"
t_eq "validate -q prints nothing when valid" "$(cgarch -c "$CFG" validate -q "$T_TMP/one.json" 2>&1)" ""

# ---- apply the seed ----
out=$(cgarch -c "$CFG" plan "$T_TMP/seed.json")
t_eq "plan from nothing" "$out" "create cpu:test_cgroup_a
create cpu:test_cgroup_b
create cpu:test_cgroup_b/test_cgroup_b_sub1
create blkio:test_cgroup_a
set cpu:test_cgroup_b share 100
set cpu:test_cgroup_b/test_cgroup_b_sub1 share 200
set blkio:test_cgroup_a weight 500"
t_check "plan changed nothing" [ ! -d "$CG_DIR/cpu/$CGROOT" ]
out=$(cgarch -c "$CFG" apply "$T_TMP/seed.json"); rc=$?
t_eq "apply the seed" "$rc:$out" "0:applied: 4 created, 3 weights set, 0 removed (0 processes moved)"
ok=1
for h in cpu cpuacct; do
  for p in test_cgroup_a test_cgroup_b test_cgroup_b/test_cgroup_b_sub1; do
    [ -d "$CG_DIR/$h/$CGROOT/$p" ] || { ok=0; t_diag "missing $h/$p"; }
  done
done
t_check "cpu tree mirrored in cpu and cpuacct" [ $ok = 1 ]
t_eq "cpu.shares" "$(cat "$CG_DIR/cpu/$CGROOT/test_cgroup_a/cpu.shares" "$CG_DIR/cpu/$CGROOT/test_cgroup_b/cpu.shares" "$CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cpu.shares" | tr '\n' ' ')" "1024 100 200 "
t_check "blkio tree" [ -d "$CG_DIR/blkio/$CGROOT/test_cgroup_a" ] && [ ! -e "$CG_DIR/blkio/$CGROOT/test_cgroup_b" ]
if [ -f "$CG_DIR/blkio/$CGROOT/test_cgroup_a/blkio.weight" ]; then
  t_eq "blkio.weight" "$(cat "$CG_DIR/blkio/$CGROOT/test_cgroup_a/blkio.weight")" 500
elif [ -f "$CG_DIR/blkio/$CGROOT/test_cgroup_a/blkio.bfq.weight" ]; then
  t_eq "blkio.bfq.weight (no blkio.weight here)" "$(awk '{print $NF; exit}' "$CG_DIR/blkio/$CGROOT/test_cgroup_a/blkio.bfq.weight")" 500
else
  t_skip "blkio weight" "no weight file on this kernel"
fi

# ---- re-apply is a no-op: nothing planned, no write, mkdir or rmdir ----
t_eq "plan after apply" "$(cgarch -c "$CFG" plan "$T_TMP/seed.json")" "nothing to do"
if command -v strace >/dev/null; then
  # (LeakSanitizer cannot run under ptrace: off for this one run in `make test-asan`.)
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o "$T_TMP/strace" -e trace=openat,mkdir,mkdirat,rmdir,unlinkat,write,rename \
    cgarch -c "$CFG" apply "$T_TMP/seed.json" > "$T_TMP/out"
  t_eq "re-apply says nothing to do" "$(cat "$T_TMP/out")" "nothing to do"
  writes=$(grep -E 'mkdir|rmdir|unlinkat|rename|O_WRONLY|O_RDWR' "$T_TMP/strace" | grep -v '^[0-9]* write(1,' || true)
  t_eq "re-apply makes no change syscalls" "$writes" ""
else
  t_eq "re-apply says nothing to do" "$(cgarch -c "$CFG" apply "$T_TMP/seed.json")" "nothing to do"
fi

# ---- show ----
out=$(cgarch -c "$CFG" show)
case "$out" in *"test_cgroup_b_sub1"*"share 200"*) t_ok "show lists the tree" ;; *) t_fail "show lists the tree"; t_diag "$out" ;; esac

# ---- cgexec-arg ----
t_eq "cgexec-arg JSON" "$(cgarch -c "$CFG" cgexec-arg --conf "$T_TMP/seed.json" test_cgroup_a test_cgroup_b_sub1 nope)" \
  "{\"test_cgroup_a\": \"$(cg_cgexec_cpu "$CGROOT/test_cgroup_a") -g blkio:$CGROOT/test_cgroup_a\", \"test_cgroup_b_sub1\": \"$(cg_cgexec_cpu "$CGROOT/test_cgroup_b/test_cgroup_b_sub1")\", \"nope\": \"\"}"
t_eq "cgexec-arg -s" "$(cgarch -c "$CFG" cgexec-arg --conf "$T_TMP/seed.json" -s test_cgroup_b_sub1)" "$(cg_cgexec_cpu "$CGROOT/test_cgroup_b/test_cgroup_b_sub1")"
cgarch -c "$CFG" cgexec-arg --conf "$T_TMP/seed.json" -s nope >/dev/null 2>&1; t_eq "cgexec-arg -s unknown name exits 1" "$?" 1
if command -v cgexec >/dev/null; then
  out=$(cgexec $(cgarch -c "$CFG" cgexec-arg --conf "$T_TMP/seed.json" -s test_cgroup_b_sub1) cat /proc/self/cgroup)
  case "$out" in *":cpu:/$CGROOT/test_cgroup_b/test_cgroup_b_sub1"*) t_ok "cgexec places a command with it" ;; *) t_fail "cgexec places a command with it"; t_diag "$out" ;; esac
  if [ -d "$CG_DIR/cpuacct" ] && ! [ "$CG_DIR/cpuacct" -ef "$CG_DIR/cpu" ]; then
    case "$out" in *":cpuacct:/$CGROOT/test_cgroup_b/test_cgroup_b_sub1"*) t_ok "... in cpuacct too (mounted apart here)" ;; *) t_fail "... in cpuacct too (mounted apart here)"; t_diag "$out" ;; esac
  fi
fi

# ---- an invalid conf changes nothing ----
BEFORE=$(tree_state)
out=$(cgarch -c "$CFG" apply "$T_TMP/bad.json" 2>&1); rc=$?
t_eq "apply of an invalid conf exits 1" "$rc" 1
case "$out" in *"sub_cgroup.a"*) t_ok "the refusal names the JSON path" ;; *) t_fail "the refusal names the JSON path"; t_diag "$out" ;; esac
t_eq "tree unchanged after the refused conf" "$(tree_state)" "$BEFORE"

# ---- prune: a process in a removed cgroup moves to the managed root; protected survive ----
sleep 300 & SLEEPER=$!; track $SLEEPER
echo $SLEEPER > "$CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cgroup.procs"
echo $SLEEPER > "$CG_DIR/cpuacct/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cgroup.procs"
mkdir "$CG_DIR/cpu/$CGROOT/keepme" "$CG_DIR/cpu/$CGROOT/keepme/inner" "$CG_DIR/cpu/$CGROOT/stray"
echo '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 300}}}}, "blkio": {"sub_cgroup": {"test_cgroup_c": {}}}}' > "$T_TMP/v2.json"
out=$(cgarch -c "$CFG" plan "$T_TMP/v2.json")
t_eq "plan of the changed conf" "$out" "create blkio:test_cgroup_c
set cpu:test_cgroup_a share 300 (was 1024)
remove cpu:test_cgroup_b/test_cgroup_b_sub1
remove cpu:test_cgroup_b
remove cpu:stray
remove blkio:test_cgroup_a"
out=$(cgarch -c "$CFG" apply "$T_TMP/v2.json"); rc=$?
t_eq "apply the changed conf" "$rc:$out" "0:applied: 1 created, 1 weight set, 4 removed (1 process moved)"
t_check "removed cgroups gone in cpu and cpuacct" [ ! -e "$CG_DIR/cpu/$CGROOT/test_cgroup_b" ] && [ ! -e "$CG_DIR/cpuacct/$CGROOT/test_cgroup_b" ]
t_check "the process moved to the managed root (cpu)" grep -qx "$SLEEPER" "$CG_DIR/cpu/$CGROOT/cgroup.procs"
t_check "the process moved to the managed root (cpuacct)" grep -qx "$SLEEPER" "$CG_DIR/cpuacct/$CGROOT/cgroup.procs"
t_check "the process is still alive" kill -0 $SLEEPER
t_check "protected names survive (and below them)" [ -d "$CG_DIR/cpu/$CGROOT/keepme/inner" ]
t_eq "new share written" "$(cat "$CG_DIR/cpu/$CGROOT/test_cgroup_a/cpu.shares")" 300
t_eq "re-apply of the changed conf" "$(cgarch -c "$CFG" apply "$T_TMP/v2.json")" "nothing to do"

# ---- a conf without blkio leaves the blkio tree alone ----
echo '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 300}}}}}' > "$T_TMP/cpuonly.json"
out=$(cgarch -c "$CFG" apply "$T_TMP/cpuonly.json")
t_check "absent subsystem left alone" [ -d "$CG_DIR/blkio/$CGROOT/test_cgroup_c" ]

# ---- unsafe root refused ----
sed "s|^root = .*|root = ../escape|" "$CFG" > "$T_TMP/unsafe.conf"
out=$(cgarch -c "$T_TMP/unsafe.conf" apply "$T_TMP/seed.json" 2>&1); rc=$?
t_check "a root with .. is refused" [ "$rc" = 1 ] && [ ! -e "$CG_DIR/escape" ]
t_diag "$out"

t_eq "nothing outside the test root changed" "$(outside)" "$BEFORE_OUTSIDE"
t_done
