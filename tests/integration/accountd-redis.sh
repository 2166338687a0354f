#!/usr/bin/env bash
# cg-accountd through Redis outages: killed and restarted (samples resume within 2 s, the
# daemon never exits, arch_conf is re-set on the fresh server, one log line per outage, no
# memory growth), stalled with SIGSTOP (a tick never waits more than ~100 ms), and AUTH.
# sd_notify messages are caught on a private NOTIFY_SOCKET: READY, STATUS, STOPPING.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"

acctd_setup redis || { t_fail "setup (redis, cgroups)"; t_done; exit; }

# a private notify socket: every datagram on its own line
export NOTIFY_SOCKET=$T_TMP/notify.sock
$PY - "$NOTIFY_SOCKET" "$T_TMP/notify.out" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
EOF
track $!
wait_for 3 test -S "$NOTIFY_SOCKET"

export WATCHDOG_USEC=400000   # the daemon pings at half of it
acctd_start
unset WATCHDOG_USEC
s0=$(acctd_wait_new_slot) || { t_fail "first sample"; cat "$ACCTD_LOG"; t_done; exit; }
t_check "READY=1 sent" wait_for 2 grep -q "READY=1" "$T_TMP/notify.out"
# The count is the conf's, as cgarch counts it (the managed root, also sampled, not counted).
echo "$SEED_CONF" > "$T_TMP/seed.json"
nconf=$(cgarch validate "$T_TMP/seed.json" | sed -n 's/.*valid (\([0-9]*\) cgroups.*/\1/p')
t_check "STATUS says 'N cgroups, last tick X µs', N as cgarch validate counts ($nconf)" \
  wait_for 2 grep -qE "STATUS=${nconf:-?} cgroups, last tick [0-9]+ µs" "$T_TMP/notify.out"
t_check "WATCHDOG=1 pings (WatchdogSec honoured)" wait_for 2 bash -c "[ \$(grep -c WATCHDOG=1 '$T_TMP/notify.out') -ge 2 ]"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$ACCTD_PID/status"; }

# ---- Redis killed ----
stop_pid "$REDIS_PID"
sleep 3.2   # three ticks with Redis away (the point is the time passing, nothing to poll for)
t_check "daemon still running with Redis down" kill -0 "$ACCTD_PID"
n=$(grep -c "unavailable" "$ACCTD_LOG")
t_eq "the outage is logged once" "$n" 1
rss_a=$(rss)
sleep 3
rss_b=$(rss)
t_check "no memory growth during the outage ($rss_a -> $rss_b kB)" bash -c "[ $((rss_b - rss_a)) -le 64 ]"
t_check "STATUS says Redis is unavailable" grep -q "Redis unavailable" "$T_TMP/notify.out"

# ---- Redis back on the same port, empty ----
start_redis
t0=$(date +%s%N)
if wait_for 3 acctd_has_slot_after "$(date +%s)"; then
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  # By design at most 2 s (a 1 s reconnect backoff, then the next 1 s tick); the slack is the
  # poll's own cost (a redis-cli per probe), which grows with the machine's load.
  t_check "samples resume within 2 s of the restart ($ms ms)" test "$ms" -le $((2000 + 300 * T_TF))
else
  t_fail "samples resume after the restart"; tail -5 "$ACCTD_LOG"
fi
t_check "arch_conf re-set on the fresh server" wait_for 2 bash -c "rcli exists cgroup_arch/arch_conf | grep -q 1"
t_check "the return is logged with the number dropped" grep -qE "is back: [0-9]+ sample\(s\) dropped" "$ACCTD_LOG"
t_check "daemon never exited" kill -0 "$ACCTD_PID"

# ---- Redis stalled: ticks stay bounded ----
kill -STOP "$REDIS_PID"
: > "$T_TMP/notify.out"
sleep 3.2
kill -CONT "$REDIS_PID"
ticks=$(grep -oE "last tick [0-9]+" "$T_TMP/notify.out" | awk '{print $3}' | sort -n | tr '\n' ' ')
worst=$(echo "$ticks" | tr ' ' '\n' | grep . | tail -1)
t_diag "tick durations while Redis was stalled (µs): $ticks"
# the 100 ms Redis timeout, plus 50 ms for the tick's own work (which the time factor scales)
t_check "a tick never waits more than ~100 ms on a stalled Redis (worst ${worst:-?} µs)" \
  bash -c "[ -n '$worst' ] && [ '$worst' -le $((100000 + 50000 * T_TF)) ]"
t_check "samples resume after the stall" wait_for 3 acctd_has_slot_after "$(date +%s)"

# ---- the machine stalls (the daemon is stopped for ~2.5 s): logged, not made up ----
sbefore=$(acctd_latest_slot)
kill -STOP "$ACCTD_PID"
sleep 2.6
kill -CONT "$ACCTD_PID"
t_check "missed seconds are logged" wait_for 3 grep -qE "Missed [0-9]+ second" "$ACCTD_LOG"
wait_for 3 acctd_has_slot_after "$(date +%s)"
have=$(rcli --scan --pattern 'cgroup_arch/account/*' | sed 's|.*/||' | sort -n | awk -v a="$sbefore" '$1 > a' | tr '\n' ' ')
t_diag "slots after $sbefore: $have"
t_check "no back-filled samples for the stalled seconds" $PY -c "
import sys; s = sorted(map(int, '$have'.split())); sys.exit(0 if s and s[0] - $sbefore >= 2 else 1)"

# ---- STOPPING on SIGTERM ----
kill -TERM "$ACCTD_PID"
t_check "STOPPING=1 sent" wait_for 3 grep -q "STOPPING=1" "$T_TMP/notify.out"
stop_pid "$ACCTD_PID"
t_check "stop log counts dropped samples" grep -qE "samples sent, [1-9][0-9]* dropped" "$ACCTD_LOG"

# ---- AUTH: a password-protected Redis ----
unset NOTIFY_SOCKET
REDIS_PORT=""
start_redis --requirepass s3cret
printf '[redis]\npassword = s3cret\n' >> "$ACFG"
sed -i "s/^port = .*/port = $REDIS_PORT/" "$ACFG"
acctd_start
t_check "samples arrive with AUTH" wait_for 4 bash -c \
  "redis-cli -p $REDIS_PORT -a s3cret --no-auth-warning --scan --pattern 'cgroup_arch/account/*' | grep -q ."
stop_pid "$ACCTD_PID"
sed -i 's/^password = s3cret$/password = wrong/' "$ACFG"
acctd_start
t_check "a wrong password is logged" wait_for 4 grep -q "WRONGPASS\|invalid password" "$ACCTD_LOG"
sleep 1.2
t_check "and the daemon keeps running" kill -0 "$ACCTD_PID"
stop_pid "$ACCTD_PID"
t_done
