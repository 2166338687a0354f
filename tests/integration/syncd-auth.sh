#!/usr/bin/env bash
# Credentials and the CLI/API side of ZooKeeper: `cgarch conf put/get` (validation first,
# creator ACL, --expect-version compare-and-set), `cgarch cgexec-arg` from ZooKeeper, the public
# cgarch_cgexec_arg_zk(), and cg-syncd with wrong credentials (clear error, once, in STATUS).
. "$(dirname "$0")/../lib-syncd.sh"
ZK_AUTH=digest:alice:secret
syncd_env
CGEXEC=$BUILD/tests/tools/zk-cgexec
printf '%s\n' "$SEED_CONF" > "$T_TMP/seed.json"
echo '{"cpu": {"sub_cgroup": {"a": {"conf": {"share": 1}}, "b/c": {}}}}' > "$T_TMP/bad.json"

# ---- cgarch conf put ----
out=$(cgarch -c "$CFG" conf put "$T_TMP/bad.json" 2>&1); rc=$?
t_eq "put invalid: refused (exit 1)" "$rc" 1
t_check "put invalid: every problem named by JSON path" \
  bash -c "grep -q 'cpu.sub_cgroup.a.conf.share' <<<'$out' && grep -q 'b/c' <<<'$out'"
t_check "put invalid: nothing created in ZooKeeper" bash -c "! zkctl() { :; }; ! '$ZKCTL' -a digest:super:123456 '$ZK_HOSTS' get '$NODE' 2>/dev/null"
out=$(cgarch -c "$CFG" conf put --expect-version 0 "$T_TMP/seed.json" 2>&1); rc=$?
t_check "put --expect-version on a missing node: refused" bash -c "[ $rc = 1 ] && grep -q 'does not exist' <<<'$out'"
out=$(cgarch -c "$CFG" conf put "$T_TMP/seed.json" 2>&1); rc=$?
t_check "put: creates node and parents, version 0" bash -c "[ $rc = 0 ] && grep -q 'version 0' <<<'$out'"
out=$("$ZKCTL" "$ZK_HOSTS" get "$NODE" 2>&1)
t_check "put: node ACL is alice's (anonymous read refused)" grep -q 'Permission denied' <<<"$out"
out=$("$ZKCTL" -a digest:alice:wrong "$ZK_HOSTS" get "$NODE" 2>&1)
t_check "put: wrong password refused too" grep -q 'Permission denied' <<<"$out"
t_eq "get: the stored conf" "$(cgarch -c "$CFG" conf get 2>/dev/null)" "$SEED_CONF"
t_eq "get --version-only" "$(cgarch -c "$CFG" conf get --version-only)" 0
t_eq "get --json" "$(cgarch -c "$CFG" conf get --json | jq -c '[.version, .value.cpu.sub_cgroup.test_cgroup_b.conf.share]')" "[0,100]"
out=$(cgarch -c "$CFG" conf put --expect-version 0 "$T_TMP/seed.json" 2>&1)
t_check "put --expect-version 0 at version 0: written as version 1" grep -q 'version 1' <<<"$out"
out=$(cgarch -c "$CFG" conf put --expect-version 0 "$T_TMP/seed.json" 2>&1); rc=$?
t_check "put --expect-version 0 at version 1: clear mismatch error" \
  bash -c "[ $rc = 1 ] && grep -q 'version mismatch: expected 0, .* is at version 1' <<<'$out'"
t_eq "mismatch: nothing written" "$(cgarch -c "$CFG" conf get --version-only)" 1
out=$(cgarch -c "$CFG" conf put --dry-run "$T_TMP/seed.json" 2>&1); rc=$?
t_check "put --dry-run: validates, writes nothing" \
  bash -c "[ $rc = 0 ] && grep -q 'not written' <<<'$out' && [ \$(cgarch -c '$CFG' conf get --version-only) = 1 ]"
out=$(echo '{"cpu": {"sub_cgroup": {"from_stdin": {}}}}' | cgarch -c "$CFG" conf put - 2>&1); rc=$?
t_check "put - (stdin): written as version 2" bash -c "[ $rc = 0 ] && grep -q 'version 2' <<<'$out'"
cgarch -c "$CFG" conf put "$T_TMP/seed.json" 2>/dev/null # back to the seed conf, version 3
out=$(cgarch -c "$CFG" conf put --expect-version x "$T_TMP/seed.json" 2>&1); rc=$?
t_eq "put --expect-version x: usage error" "$rc" 2
out=$(cgarch -c "$CFG" conf frob 2>&1); rc=$?
t_eq "conf frob: usage error" "$rc" 2

# ---- cgexec-arg from ZooKeeper, CLI and public API ----
want="{\"test_cgroup_b_sub1\":\"$(cg_cgexec_cpu "$CGROOT/test_cgroup_b/test_cgroup_b_sub1")\"}"
t_eq "cgarch cgexec-arg --zk reads ZooKeeper" "$(cgarch -c "$CFG" cgexec-arg --zk test_cgroup_b_sub1 | jq -c .)" "$want"
t_eq "cgarch_cgexec_arg_zk()" "$("$CGEXEC" "$ZK_HOSTS" "$ZK_PREFIX" "$ZK_AUTH" "$CGROOT" 5000 test_cgroup_b_sub1 | jq -c .)" "$want"
t_eq "cgarch_cgexec_arg_zk(): two subsystems, unknown name as \"\"" \
  "$("$CGEXEC" "$ZK_HOSTS" "$ZK_PREFIX" "$ZK_AUTH" "" 5000 test_cgroup_a nope)" \
  "{\"test_cgroup_a\": \"$(cg_cgexec_cpu test_cgroup_a) -g blkio:test_cgroup_a\", \"nope\": \"\"}"
t_eq "cgarch_cgexec_arg_zk(): wrong password -> EACCES" \
  "$("$CGEXEC" "$ZK_HOSTS" "$ZK_PREFIX" digest:alice:wrong "" 5000 a | cut -d: -f2)" " EACCES"
t_eq "cgarch_cgexec_arg_zk(): no node -> ENOENT" \
  "$("$CGEXEC" "$ZK_HOSTS" /nowhere "$ZK_AUTH" "" 5000 a | cut -d: -f2)" " ENOENT"
t0=$(date +%s%N)
t_eq "cgarch_cgexec_arg_zk(): dead server -> ETIMEDOUT" \
  "$("$CGEXEC" 127.0.0.1:1 "$ZK_PREFIX" "$ZK_AUTH" "" 500 a | cut -d: -f2)" " ETIMEDOUT"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_check "cgarch_cgexec_arg_zk(): timeout bounds the call ($ms ms)" test "$ms" -lt $((2000 * T_TF))

# ---- wrong credentials: CLI ----
sed 's/^auth = .*/auth = digest:alice:wrong/' "$CFG" > "$T_TMP/wrong.conf"
out=$(cgarch -c "$T_TMP/wrong.conf" conf get 2>&1); rc=$?
t_check "conf get, wrong password: clear error" bash -c "[ $rc = 1 ] && grep -q 'not authorized.*\[zookeeper\] auth' <<<'$out'"
out=$(cgarch -c "$T_TMP/wrong.conf" conf put "$T_TMP/seed.json" 2>&1); rc=$?
t_check "conf put, wrong password: clear error" bash -c "[ $rc = 1 ] && grep -q 'not authorized' <<<'$out'"

# ---- wrong credentials: cg-syncd ----
cp "$CFG" "$CFG.good"; cp "$T_TMP/wrong.conf" "$CFG"
start_notify
start_syncd
t_check "syncd, wrong password: clear error" wait_for 10 log_has "Not authorized to read $NODE .*check \[zookeeper\] auth"
t_check "syncd, wrong password: STATUS says so" wait_for 5 notify_has "STATUS=.*not authorized to read"
t_check "syncd, wrong password: READY anyway (nothing to apply)" notify_has "READY=1"
sleep 2 # retries with backoff meanwhile
t_eq "syncd, wrong password: logged once" "$(log_count 'Not authorized to read')" 1
t_check "syncd, wrong password: nothing created" bash -c "! test -d $CG_DIR/cpu/$CGROOT"
cp "$CFG.good" "$CFG"
kill -HUP "$SYNCD_PID"
t_check "SIGHUP with the right password: new session, applied" wait_for 10 snap_is 3
t_check "then the tree exists" cg_exists cpu test_cgroup_b/test_cgroup_b_sub1
t_check "then STATUS is clean" wait_for 3 bash -c "grep STATUS= '$NOTIFY_LOG' | tail -1 | grep -q 'STATUS=Applied version 3; watching'"
syncd_stop
t_eq "clean exit" "$SYNCD_RC" 0
t_done
