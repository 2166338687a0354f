#!/usr/bin/env bash
# cg-accountd prints counters above 2^53 exactly, end to end: `[cgroup] mode = v2` with `dir`
# pointing at a fixture directory (cpu.stat, io.stat files), Redis in between, Python's exact
# ints at the other end. Also: the v2 file formats, a conf cgroup that does not exist -> {},
# unexpected file contents logged, and nothing written to the (v2) tree.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"

RUNTIME_DIR=$T_TMP/run
start_redis || { t_fail "redis"; t_done; exit; }
export REDIS_PORT
FX=$T_TMP/fake-unified
mkdir -p "$FX/r/big/sub"
# usage_usec * 1000 = 18446744073709551000 (just under 2^64); 9007199254740993 = 2^53 + 1
printf 'usage_usec 18446744073709551\nuser_usec 1\nsystem_usec 1\n' > "$FX/r/cpu.stat"
printf 'usage_usec 9007199254740993\n' > "$FX/r/big/cpu.stat"
printf 'usage_usec 1\n' > "$FX/r/big/sub/cpu.stat"
printf '8:0 rbytes=9007199254740993 wbytes=18446744073709551615 rios=1 wios=1 dbytes=0 dios=0\n' > "$FX/r/io.stat"
printf '8:0 rbytes=9007199254740993 wbytes=9007199254740995 rios=1 wios=1 dbytes=0 dios=0\n' > "$FX/r/big/io.stat"
CGROOT=r CG_DIR=$FX CG_MODE=v2 write_cfg "$T_TMP/c.conf" </dev/null
ACFG=$T_TMP/c.conf
acctd_snapshot 7 '{"cpu": {"sub_cgroup": {"big": {"sub_cgroup": {"sub": {}}}, "missing": {}}}, "blkio": {"sub_cgroup": {"big": {}}}}'
sums_before=$(cd "$FX" && find . -type f | sort | xargs md5sum)

acctd_start
s=$(acctd_wait_new_slot) || { t_fail "first sample"; cat "$ACCTD_LOG"; t_done; exit; }
js=$(acctd_sample "$s")
t_diag "$js"
t_check "raw JSON carries 18446744073709551000 (cpu.stat usage_usec * 1000)" grep -q '"usage": 18446744073709551000}' <<<"$js"
t_eq "2^53 + 1 (x1000) survives the round trip" "$(jget "$js" 'j["cpu"]["sub_cgroup"]["big"]["value"]["usage"] == 9007199254740993000')" True
t_eq "io.stat rbytes 2^53 + 1 exact" "$(jget "$js" 'j["blkio"]["value"]["8:0"]["Read"]')" 9007199254740993
t_eq "io.stat wbytes 2^64 - 1 exact" "$(jget "$js" 'j["blkio"]["value"]["8:0"]["Write"]')" 18446744073709551615
t_eq "child io.stat exact" "$(jget "$js" 'j["blkio"]["sub_cgroup"]["big"]["value"]["8:0"]["Write"]')" 9007199254740995
t_check "no exponent anywhere in the sample" bash -c "! grep -qiE '[0-9]e[+-]?[0-9]' <<<'$js'"
t_eq "a cgroup of the conf that does not exist reads as {}" "$(jget "$js" 'j["cpu"]["sub_cgroup"]["missing"]')" "{'value': {}}"

printf 'garbage\n' > "$FX/r/big/cpu.stat"
t_check "unexpected file contents are logged" wait_for 3 grep -q "Unexpected contents in .*big/cpu.stat" "$ACCTD_LOG"
t_check "daemon alive" kill -0 "$ACCTD_PID"
stop_pid "$ACCTD_PID"
printf 'usage_usec 9007199254740993\n' > "$FX/r/big/cpu.stat"
sums=$(cd "$FX" && find . -type f | sort | xargs md5sum)
t_eq "the daemon wrote nothing in the tree (v2: no throttle switch, no reset)" "$sums" "$sums_before"
t_done
