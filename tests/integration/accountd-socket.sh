#!/usr/bin/env bash
# Redis through a unix socket ([redis] socket, issue 12: a socket only the cgrouparch users can
# open keeps other local users out of Redis): cg-accountd writes its samples through it, and
# nothing listens on TCP.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"

RUNTIME_DIR=$T_TMP/run
SOCK=$T_TMP/redis.sock
redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' --appendonly no \
  --daemonize no >"$T_TMP/redis.log" 2>&1 &
track $!
t_check "redis-server listens on a unix socket only" wait_for 10 redis-cli -s "$SOCK" ping
FX=$T_TMP/fake-unified
mkdir -p "$FX/r/a"
printf 'usage_usec 42\n' > "$FX/r/cpu.stat"; printf 'usage_usec 7\n' > "$FX/r/a/cpu.stat"
: > "$FX/r/io.stat"; : > "$FX/r/a/io.stat"
ACFG=$T_TMP/c.conf
printf '[cgroup]\ndir = %s\nroot = r\nmode = v2\n[redis]\nport = 1\nsocket = %s\n[daemon]\nruntime_dir = %s\n' \
  "$FX" "$SOCK" "$RUNTIME_DIR" > "$ACFG"
acctd_snapshot 3 '{"cpu": {"sub_cgroup": {"a": {}}}}'
acctd_start
rs() { redis-cli -s "$SOCK" "$@"; }
got_sample() { [ -n "$(rs --scan --pattern 'cgroup_arch/account/*' | head -1)" ]; }
t_check "cg-accountd writes samples through the socket" wait_for 10 got_sample
k=$(rs --scan --pattern 'cgroup_arch/account/*' | head -1)
js=$(rs get "$k"); t_diag "$js"
t_eq "the sample holds a's usage (7000 ns)" "$(jget "$js" 'j["cpu"]["sub_cgroup"]["a"]["value"]["usage"]')" 7000
sed "s/^/# /" "$ACCTD_LOG" | head -5
t_check "no TCP connection attempt in its log" bash -c '! grep -qi "127.0.0.1:1\|connection refused" "$1"' _ "$ACCTD_LOG"
stop_pid "$ACCTD_PID"
t_done
