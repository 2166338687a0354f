#!/usr/bin/env bash
# cg-syncd through ZooKeeper faults: unreachable at start (snapshot applied, READY, catch up),
# server killed and restarted with the conf changed meanwhile, forced session expiry (server
# paused longer than the session timeout). cg-syncd must never exit nor apply a bad conf.
. "$(dirname "$0")/../lib-syncd.sh"
ZK_SESSION_MS=2000
ZK_AUTH=digest:alice:secret # the node is alice's alone: every new session must re-authenticate
syncd_env
confA='{"cpu": {"sub_cgroup": {"snap_a": {"conf": {"share": 222}}}}}'
confB='{"cpu": {"sub_cgroup": {"zk_b": {"conf": {"share": 333}}}}}'

# ---- ZooKeeper unreachable at start ----
stop_pid "$ZK_PID"
start_notify
SYNCD_LOG=$T_TMP/syncd-nosnap.log
start_syncd
t_check "unreachable at start, no snapshot: READY anyway, saying so" \
  wait_for 10 notify_has "READY=1.*Nothing applied yet; ZooKeeper unreachable"
t_check "unreachable at start, no snapshot: logged" log_has "No snapshot at $SNAP yet"
syncd_stop
t_eq "unreachable at start, no snapshot: clean exit" "$SYNCD_RC" 0
: > "$NOTIFY_LOG"
mkdir -p "$RUNTIME_DIR"
echo "{\"version\": 7, \"value\": $confA}" > "$SNAP"
SYNCD_LOG=$T_TMP/syncd.log
start_syncd
t_check "unreachable at start: snapshot applied" wait_for 10 share_is snap_a 222
t_check "unreachable at start: READY with the snapshot version" wait_for 5 notify_has "READY=1.*Applied snapshot version 7; ZooKeeper unreachable"
sleep 3
t_check "unreachable: still running after 3 s" alive
n=$(grep -c 'zookeeper client:' "$SYNCD_LOG")
t_check "unreachable: the client's log is routed and rate-limited ($n lines)" bash -c "[ $n -ge 1 ] && [ $n -le 8 ]"
t_check "unreachable: client lines carry a priority prefix" grep -q '^<4>zookeeper client:' "$SYNCD_LOG"
restart_zk || t_fail "ZooKeeper restarts"
"$ZKCTL" -a "$ZK_AUTH" "$ZK_HOSTS" create "$NODE" "$confB" creator
t_check "catch up: the ZooKeeper conf replaces the snapshot's" wait_for 15 share_is zk_b 333
t_check "catch up: snapshot now version 0 from ZooKeeper" wait_for 3 snap_has '[.version, .value.cpu.sub_cgroup.zk_b.conf.share]' '[0,333]'
t_check "catch up: what the new conf lacks is pruned" wait_for 3 bash -c "! test -d $CG_DIR/cpu/$CGROOT/snap_a"

# ---- server killed, restarted, conf changed meanwhile ----
kill -KILL "$ZK_PID"; wait "$ZK_PID" 2>/dev/null
t_check "server killed: loss logged" wait_for 10 log_has 'Lost the connection to ZooKeeper'
sleep 1
t_check "server killed: still running" alive
t_check "server killed: tree stays" share_is zk_b 333
restart_zk || t_fail "ZooKeeper restarts"
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"zk_b": {"conf": {"share": 444}}}}}' >/dev/null
t_check "restarted + changed: converges without a restart" wait_for 15 share_is zk_b 444
t_check "restarted + changed: snapshot version 1" wait_for 3 snap_is 1
t_eq "restarted + changed: same process" "$(alive && echo yes)" yes

# ---- server paused longer than the session timeout ----
# Whether the server expires the session or the client's reconnect touches it first is a race
# inside ZooKeeper; either way cg-syncd must come back and follow changes.
kill -STOP "$ZK_PID"
sleep 4   # > the 2 s session timeout (the test is about a pause, so sleeping is the point)
kill -CONT "$ZK_PID"
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"zk_b": {"conf": {"share": 505}}}}}' >/dev/null
t_check "server paused: change applied after it resumes" wait_for 20 share_is zk_b 505
t_check "server paused: still running" alive
t_diag "server pause: $(grep -c 'expired; opening a new one' "$SYNCD_LOG") expiries seen"

# ---- forced session expiry: cg-syncd itself paused past the session timeout ----
n_exp=$(log_count 'expired; opening a new one')
sid1=$(grep -o 'session 0x[0-9a-f]*' "$SYNCD_LOG" | tail -1)
kill -STOP "$SYNCD_PID"
sleep 4   # the server expires the session after 2 s without pings
kill -CONT "$SYNCD_PID"
t_check "expiry: detected and a new session opened" wait_for 20 bash -c "[ \$(grep -c 'expired; opening a new one' '$SYNCD_LOG') -gt $n_exp ]"
t_check "expiry: connected with a new session" wait_for 20 bash -c "grep -o 'session 0x[0-9a-f]*' '$SYNCD_LOG' | tail -1 | grep -qv '${sid1#session }'"
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"zk_b": {"conf": {"share": 555}}}}}' >/dev/null
t_check "expiry: re-authenticated, watch re-armed, change applied" wait_for 10 share_is zk_b 555
zkctl set "$NODE" '{"cpu": {"sub_cgroup": {"zk_b": {"conf": {"share": 99999999}}}}}' >/dev/null
t_check "expiry: still rejects a bad conf" wait_for 10 log_has 'Rejected .* version 4 '
t_check "expiry: bad conf not applied" share_is zk_b 555
t_check "never exited" alive
syncd_stop
t_eq "SIGTERM after all faults: clean exit" "$SYNCD_RC" 0
t_done
