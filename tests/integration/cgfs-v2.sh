#!/usr/bin/env bash
# cgroup v2 through cgarch: (1) a fixture directory imitating a delegated unified hierarchy
# with controllers (plan shows the union tree and converted weights; apply writes them and
# enables controllers; the v2-only rules are refused at validation); (2) this machine's real
# unified hierarchy under a test root (no controllers there: tree, cgroup.procs, cpu.stat).
. "$(dirname "$0")/../lib.sh"

echo "$SEED_CONF" > "$T_TMP/seed.json"

# ---- (1) fixture ----
FAKE=$T_TMP/fake-unified
"$TOP/tests/fixtures/cgroup-v2/make-tree.sh" "$FAKE" r
CGROOT_SAVE=${CGROOT:-}; CGROOT=r CG_MODE=v2 write_cfg "$T_TMP/fake.conf" </dev/null
sed -i "s|^dir = .*|dir = $FAKE|" "$T_TMP/fake.conf"
out=$(cgarch -c "$T_TMP/fake.conf" plan "$T_TMP/seed.json"); rc=$?
t_eq "v2 plan of the seed: union tree, converted weights" "$rc:$out" "0:# cgroup v2: one tree; weights converted (cpu.weight = share*100/1024, io.weight = weight*100/500)
create test_cgroup_a
create test_cgroup_b
create test_cgroup_b/test_cgroup_b_sub1
enable cpu controller for test_cgroup_a
enable cpu controller for test_cgroup_b
enable cpu controller for test_cgroup_b/test_cgroup_b_sub1
enable io controller for test_cgroup_a
set test_cgroup_b cpu.weight 9 (share 100)
set test_cgroup_b/test_cgroup_b_sub1 cpu.weight 19 (share 200)"
t_check "plan created nothing" [ ! -e "$FAKE/r/test_cgroup_a" ]
# The fixture has no kernel: give the tree the files the kernel would create, then apply.
for p in test_cgroup_a test_cgroup_b test_cgroup_b/test_cgroup_b_sub1; do
  mkdir -p "$FAKE/r/$p"; echo 100 > "$FAKE/r/$p/cpu.weight"; : > "$FAKE/r/$p/cgroup.procs"
  echo "cpu io" > "$FAKE/r/$p/cgroup.controllers"; : > "$FAKE/r/$p/cgroup.subtree_control"
done
echo "default 100" > "$FAKE/r/test_cgroup_a/io.weight"
echo "cpu io" > "$FAKE/r/cgroup.subtree_control"
echo "cpu io" > "$FAKE/r/test_cgroup_b/cgroup.subtree_control"
echo '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 2048}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 1000}}}}}' > "$T_TMP/w.json"
out=$(cgarch -c "$T_TMP/fake.conf" apply "$T_TMP/w.json"); rc=$?
t_eq "v2 apply on the fixture" "$rc:$out" "0:applied: 0 created, 4 weights set, 0 removed (0 processes moved), 0 controllers enabled"
t_eq "cpu.weight written (linear, clamped)" "$(cat "$FAKE/r/test_cgroup_a/cpu.weight") $(cat "$FAKE/r/test_cgroup_b/cpu.weight") $(cat "$FAKE/r/test_cgroup_b/test_cgroup_b_sub1/cpu.weight")" "200 9 19"
t_eq "io.weight written" "$(cat "$FAKE/r/test_cgroup_a/io.weight")" "200"
t_eq "v2 re-plan is empty" "$(cgarch -c "$T_TMP/fake.conf" plan "$T_TMP/w.json" | grep -v '^#')" "nothing to do"
# controllers: the managed root has not enabled io for its children yet
: > "$FAKE/r/cgroup.subtree_control"; rm "$FAKE/r/test_cgroup_a/io.weight"; echo "cpu" > "$FAKE/r/test_cgroup_a/cgroup.controllers"
out=$(cgarch -c "$T_TMP/fake.conf" apply "$T_TMP/w.json" 2>&1)
t_eq "io enabled in the managed root's subtree_control" "$(cat "$FAKE/r/cgroup.subtree_control")" "+io"
out=$(cgarch -c "$T_TMP/fake.conf" show)
case "$out" in *"usage 2500000ns"*) t_ok "show reads cpu.stat usage_usec x 1000" ;; *) t_fail "show reads cpu.stat"; t_diag "$out" ;; esac

# v2 rules at validation time
echo '{"cpu": {"sub_cgroup": {"a": {"sub_cgroup": {"x": {}}}}}, "blkio": {"sub_cgroup": {"b": {"sub_cgroup": {"x": {}}}}}}' > "$T_TMP/split.json"
out=$(cgarch -c "$T_TMP/fake.conf" validate "$T_TMP/split.json" 2>&1); rc=$?
t_eq "same name under different parents refused on v2" "$rc" 1
case "$out" in *"blkio.sub_cgroup.b.sub_cgroup.x"*"cpu:a/x but blkio:b/x"*) t_ok "the error names the path and both places" ;; *) t_fail "the error names the path"; t_diag "$out" ;; esac
out=$(cgarch -c "$T_TMP/fake.conf" apply "$T_TMP/split.json" 2>&1); rc=$?
t_check "apply refuses it and creates nothing" [ "$rc" = 1 ] && [ ! -e "$FAKE/r/a" ] && [ ! -e "$FAKE/r/b" ]
out=$(cgarch validate "$T_TMP/split.json"); t_eq "the same conf is valid on v1" "$?" 0
cp "$T_TMP/fake.conf" "$T_TMP/fake-pid.conf"
printf '[pid_files]\ntest_cgroup_b = /run/b.pid\n' >> "$T_TMP/fake-pid.conf"
out=$(cgarch -c "$T_TMP/fake-pid.conf" validate "$T_TMP/seed.json" 2>&1); rc=$?
case "$rc:$out" in 1:*"pid_files.test_cgroup_b"*"no internal processes"*) t_ok "pid file mapped to an inner cgroup is reported on v2" ;; *) t_fail "pid file mapped to an inner cgroup is reported on v2"; t_diag "$rc $out" ;; esac
CGROOT=$CGROOT_SAVE

# ---- (2) the real unified hierarchy ----
U=$CG_DIR/unified
if [ "$(id -u)" != 0 ] || [ ! -f "$U/cgroup.procs" ]; then
  t_skip "real unified hierarchy" "needs root and $U"; t_done; exit
fi
cg_new_root v2
CG_MODE=v2 write_cfg "$T_TMP/u.conf" </dev/null
sed -i "s|^dir = .*|dir = $U|" "$T_TMP/u.conf"
out=$(cgarch -c "$T_TMP/u.conf" plan "$T_TMP/seed.json" 2>"$T_TMP/err"); rc=$?
t_eq "unified plan: the union tree only (no controllers here)" "$rc:$(grep -v '^#' <<<"$out")" "0:create test_cgroup_a
create test_cgroup_b
create test_cgroup_b/test_cgroup_b_sub1"
grep -q "weights cannot be written here" "$T_TMP/err"; t_check "a note says weights are left out" [ $? = 0 ]
out=$(cgarch -c "$T_TMP/u.conf" apply "$T_TMP/seed.json" 2>/dev/null); rc=$?
t_eq "unified apply" "$rc:$out" "0:applied: 3 created, 0 weights set, 0 removed (0 processes moved), 0 controllers enabled"
t_check "the tree exists once in unified" [ -d "$U/$CGROOT/test_cgroup_b/test_cgroup_b_sub1" ] && [ -d "$U/$CGROOT/test_cgroup_a" ]
t_check "nothing created in the v1 hierarchies" [ ! -e "$CG_DIR/cpu/$CGROOT" ]
t_eq "unified re-apply" "$(cgarch -c "$T_TMP/u.conf" apply "$T_TMP/seed.json" 2>/dev/null)" "nothing to do"
# a process of ours in a cgroup, its CPU time visible through cpu.stat, moved out on removal
( while :; do :; done ) & BUSY=$!; track $BUSY
echo $BUSY > "$U/$CGROOT/test_cgroup_b/test_cgroup_b_sub1/cgroup.procs"
busy_usage() { cgarch -c "$T_TMP/u.conf" show 2>/dev/null | awk '/test_cgroup_b_sub1/ {for (i=1;i<=NF;i++) if ($i=="usage") print $(i+1)+0}'; }
wait_for 5 sh -c "[ \"\$(cgarch -c '$T_TMP/u.conf' show 2>/dev/null | awk '/test_cgroup_b_sub1/ {for (i=1;i<=NF;i++) if (\$i==\"usage\") print \$(i+1)+0}')\" -gt 50000000 ]"
t_check "cpu.stat usage of the busy cgroup grows (show: $(busy_usage) ns)" [ "$(busy_usage)" -gt 50000000 ]
echo '{"cpu": {"sub_cgroup": {"test_cgroup_a": {}}}}' > "$T_TMP/a.json"
out=$(cgarch -c "$T_TMP/u.conf" apply "$T_TMP/a.json" 2>/dev/null); rc=$?
t_eq "unified prune" "$rc:$out" "0:applied: 0 created, 0 weights set, 2 removed (1 process moved), 0 controllers enabled"
t_check "the process moved to the managed root" grep -qx "$BUSY" "$U/$CGROOT/cgroup.procs"
t_check "the removed cgroups are gone" [ ! -e "$U/$CGROOT/test_cgroup_b" ]
stop_pid $BUSY
t_done
