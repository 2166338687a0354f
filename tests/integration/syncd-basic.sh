#!/usr/bin/env bash
# cg-syncd with a real ZooKeeper: command line, initial apply, a change applied within a deadline,
# an invalid conf leaving the tree byte-for-byte unchanged (logged once per version, in STATUS),
# reconcile of a cgroup removed by hand, node deleted and re-created, SIGHUP, SIGTERM.
. "$(dirname "$0")/../lib-syncd.sh"
syncd_env

# ---- command line ----
t_check "--help" bash -c 'cg-syncd --help | grep -q -- --reconcile-interval'
t_check "--version" bash -c 'cg-syncd --version | grep -qx "cg-syncd [0-9.]*"'
t_check "--check accepts a good config" cg-syncd -c "$CFG" --check
grep -v '^prefix' "$CFG" > "$T_TMP/noprefix.conf"
out=$(cg-syncd -c "$T_TMP/noprefix.conf" --check 2>&1); rc=$?
t_check "--check refuses a config without [zookeeper] prefix, naming it" \
  bash -c "[ $rc -ne 0 ] && grep -q 'prefix' <<<'$out'"
printf '[zookeeper]\nbogus = 1\n' > "$T_TMP/bad.conf"
out=$(cg-syncd -c "$T_TMP/bad.conf" --check 2>&1); rc=$?
t_check "--check refuses an unknown key with file:line" bash -c "[ $rc -ne 0 ] && grep -q 'bad.conf:2' <<<'$out'"
out=$(cg-syncd --nope 2>&1); rc=$?
t_check "unknown option: usage error" bash -c "[ $rc -ne 0 ] && grep -q 'unknown option' <<<'$out'"

# ---- initial apply ----
zkctl create "$NODE" "$SEED_CONF" >/dev/null
start_notify
# -v: the debug lines ("reconcile tick", "version N: ... handled") are the positive events the
# "did not happen" checks below wait for.
RECONCILE=1 WATCHDOG_USEC=400000 start_syncd -v
log_lines() { wc -l < "$SYNCD_LOG"; }
t_check "initial apply: snapshot version 0" wait_for 10 snap_is 0
t_check "initial apply: cpu tree" bash -c "[ -d $CG_DIR/cpu/$CGROOT/test_cgroup_b/test_cgroup_b_sub1 ] && [ -d $CG_DIR/cpu/$CGROOT/test_cgroup_a ]"
t_check "initial apply: cpuacct twin" test -d "$CG_DIR/cpuacct/$CGROOT/test_cgroup_b/test_cgroup_b_sub1"
t_check "initial apply: blkio tree" test -d "$CG_DIR/blkio/$CGROOT/test_cgroup_a"
t_eq "initial apply: shares written" "$(cg_share test_cgroup_b) $(cg_share test_cgroup_b/test_cgroup_b_sub1)" "100 200"
t_check "READY=1 with the applied version in STATUS" wait_for 5 notify_has "READY=1.*Applied version 0"
t_check "watchdog pings (WATCHDOG_USEC set)" wait_for 3 notify_has "^WATCHDOG=1"
t_check "snapshot holds the conf" snap_has '.value.cpu.sub_cgroup.test_cgroup_b.conf.share' 100

# ---- a change ----
conf1='{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 512}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}}}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}'
t0=$(date +%s%N)
zkctl set "$NODE" "$conf1" >/dev/null
t_check "change: cpu.shares 512 within 2 s" wait_for 2 share_is test_cgroup_a 512
t_check "change: snapshot version 1 within 2 s" wait_for 2 snap_is 1
t_diag "change applied in $(( ($(date +%s%N) - t0) / 1000000 )) ms (incl. polling)"
t_check "STATUS shows version 1" wait_for 3 notify_has "STATUS=Applied version 1"

# ---- invalid confs ----
before=$(tree_dump)
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 1}}}}}' >/dev/null
t_check "invalid: rejection logged with version and JSON path" \
  wait_for 5 grep -q 'version 2: cpu.sub_cgroup.test_cgroup_a.conf.share' "$SYNCD_LOG"
t_check "invalid: STATUS says rejected" wait_for 3 notify_has "STATUS=Applied version 1;.*rejected version 2"
mark=$(log_lines)
# two reconcile ticks re-read the same invalid version: wait until they did, then count
t_check "invalid: re-read by two reconcile ticks" \
  wait_for 5 bash -c "[ \$(tail -n +$(( mark + 1 )) '$SYNCD_LOG' | grep -c 'version 2: .* bytes handled') -ge 2 ]"
t_eq "invalid: logged once per version" "$(log_count 'Rejected .* version 2 ')" 1
t_eq "invalid: tree byte-for-byte unchanged" "$(tree_dump)" "$before"
t_check "invalid: snapshot still version 1" snap_is 1
zkctl set "$NODE" 'this is not json' >/dev/null
t_check "not JSON: rejected as version 3" wait_for 5 log_has 'Rejected .* version 3 '
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"a": {}, "x": {"sub_cgroup": {"a": {}}}}}}' >/dev/null
t_check "duplicate name: rejected as version 4" wait_for 5 log_has 'Rejected .* version 4 '
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"../evil": {}}}}' >/dev/null
t_check "bad name: rejected as version 5" wait_for 5 log_has 'Rejected .* version 5 '
t_eq "after 4 bad versions: tree unchanged" "$(tree_dump)" "$before"
t_check "nothing outside the root: no ../evil" bash -c "[ ! -e $CG_DIR/cpu/evil ]"
zkctl set "$NODE" "$conf1" >/dev/null
t_check "valid again: snapshot version 6" wait_for 5 snap_is 6
t_check "valid again: STATUS clean" wait_for 3 bash -c "grep STATUS= '$NOTIFY_LOG' | tail -1 | grep -q 'STATUS=Applied version 6; watching'"

# ---- what an apply did: the log line and STATUS= carry the real counts ----
# (version 7 creates one cgroup with a share, 8 changes its share, 9 removes it)
conf_with() { printf '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 512}}, "test_cgroup_b": {"conf": {"share": 100}, "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}}%s}}, "blkio": {"sub_cgroup": {"test_cgroup_a": {"conf": {"weight": 500}}}}}' "$1"; }
zkctl set "$NODE" "$(conf_with ', "counted": {"conf": {"share": 300}}')" >/dev/null
t_check "create: logged with its counts" \
  wait_for 5 log_has 'Applied version 7: 1 created, 1 weights set, 0 removed'
t_check "create: STATUS= says what changed" \
  wait_for 3 notify_has 'STATUS=Applied version 7; watching .*; last change: version 7, 1 created, 1 weights set, 0 removed'
zkctl set "$NODE" "$(conf_with ', "counted": {"conf": {"share": 400}}')" >/dev/null
t_check "weight change: logged with its counts" \
  wait_for 5 log_has 'Applied version 8: 0 created, 1 weights set, 0 removed'
t_check "weight change: STATUS= says what changed" \
  wait_for 3 notify_has 'STATUS=Applied version 8; watching .*; last change: version 8, 0 created, 1 weights set, 0 removed'
zkctl set "$NODE" "$(conf_with '')" >/dev/null
t_check "removal: logged with its counts" \
  wait_for 5 log_has 'Applied version 9: 0 created, 0 weights set, 1 removed'
t_check "removal: STATUS= says what changed" \
  wait_for 3 notify_has 'STATUS=Applied version 9; watching .*; last change: version 9, 0 created, 0 weights set, 1 removed'
t_check "removal: the cgroup is gone" wait_for 3 bash -c "! test -d $CG_DIR/cpu/$CGROOT/counted"

# ---- reconcile ----
rmdir "$CG_DIR/cpu/$CGROOT/test_cgroup_a"
t_check "reconcile: a cgroup removed by hand comes back" wait_for 5 cg_exists cpu test_cgroup_a
mkdir "$CG_DIR/cpu/$CGROOT/stray"
t_check "reconcile: a stray cgroup under the root is pruned" wait_for 5 bash -c "! test -d $CG_DIR/cpu/$CGROOT/stray"

# ---- node deleted and re-created ----
before=$(tree_dump)
zkctl delete "$NODE"
t_check "deleted: logged" wait_for 5 log_has 'does not exist; keeping the current tree'
mark=$(log_lines)
t_check "deleted: two reconcile ticks since" \
  wait_for 5 bash -c "[ \$(tail -n +$(( mark + 1 )) '$SYNCD_LOG' | grep -c 'reconcile tick') -ge 2 ]"
t_eq "deleted: tree kept" "$(tree_dump)" "$before"
t_check "deleted: still running" alive
zkctl create "$NODE" '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 300}}}}}'
t_check "re-created: applied" wait_for 5 share_is test_cgroup_a 300
t_check "re-created: snapshot version 0 with the new content" \
  wait_for 3 snap_has '[.version, .value.cpu.sub_cgroup.test_cgroup_a.conf.share]' '[0,300]'
t_check "re-created: pruned what the new conf lacks (cpu)" wait_for 3 bash -c "! test -d $CG_DIR/cpu/$CGROOT/test_cgroup_b"
t_check "re-created: blkio left alone (absent from the conf)" cg_exists blkio test_cgroup_a

# ---- SIGHUP ----
cp "$CFG" "$CFG.good"
echo "bogus_line_without_equals" >> "$CFG"
kill -HUP "$SYNCD_PID"
t_check "SIGHUP with a bad config: logged, old kept" wait_for 5 log_has 'keeping the running config'
t_check "SIGHUP with a bad config: still running" alive
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 301}}}}}' >/dev/null
t_check "after a bad SIGHUP: changes still applied" wait_for 5 share_is test_cgroup_a 301
cp "$CFG.good" "$CFG"
kill -HUP "$SYNCD_PID"
t_check "SIGHUP with a good config: RELOADING then READY" wait_for 5 notify_has "RELOADING=1"

# ---- SIGTERM ----
syncd_stop
t_eq "SIGTERM: clean exit" "$SYNCD_RC" 0
t_check "SIGTERM: STOPPING=1" wait_for 2 notify_has "STOPPING=1"
t_done
