#!/usr/bin/env bash
# cg-accountd with a real redis-server and a private test cgroup root: options, a sample each
# second with TTL <= expire in the seed's shape, arch_conf kept current, PUBLISH of the slot,
# the conf changing under it, no reset by default / reset_on_start = yes, SIGHUP, SIGTERM.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-accountd.sh"

# ---- options ----
t_check "--version prints the version" bash -c 'cg-accountd --version | grep -q "^cg-accountd [0-9]"'
t_check "--help shows -c and --check" bash -c 'cg-accountd --help | grep -q -- "--check" && cg-accountd --help | grep -q -- "-c, --config"'
t_check "an unknown option is a usage error" bash -c '! cg-accountd --bogus 2>/dev/null'

acctd_setup basic || { t_fail "setup (redis, cgroups)"; t_done; exit; }
printf '[redis]\nexpire = 20\n' >> "$ACFG"
t_check "--check accepts the config and finds the snapshot" bash -c \
  "cg-accountd -c '$ACFG' --check | grep -q 'snapshot .*: version 1, 4 cgroups'"
echo "[bogus]" > "$T_TMP/bad.conf"
out=$(cg-accountd -c "$T_TMP/bad.conf" --check 2>&1); rc=$?
t_check "--check rejects a bad config naming file and line" \
  bash -c "[ $rc -ne 0 ] && grep -q 'bad.conf:1' <<<'$out'"

# ---- no reset by default: burn some CPU in test_cgroup_a before the daemon starts ----
cg=$CG_DIR/cpuacct/$CGROOT/test_cgroup_a
acctd-burn 200 "$CG_DIR/cpu/$CGROOT/test_cgroup_a/cgroup.procs" "$cg/cgroup.procs" >/dev/null
u0=$(cat "$cg/cpuacct.usage")

# subscriber first, so the first PUBLISH is seen
rcli subscribe "cgroup_arch/account" >"$T_TMP/sub.out" 2>&1 &
track $!
acctd_start
s1=$(acctd_wait_new_slot) || { t_fail "a first sample within 3 s"; cat "$ACCTD_LOG"; t_done; exit; }
t_ok "a first sample within 3 s (slot $s1)"
now=$(date +%s)
t_check "slot is the current wall-clock second" bash -c "[ $(( now - s1 )) -le 1 ] && [ $(( s1 - now )) -le 1 ]"

# a key each second for 3 seconds, TTL <= expire
s4=$(( s1 + 3 ))
wait_for 5 acctd_has_slot_after $((s4 - 1))
missing=""
for s in $(seq "$s1" "$s4"); do rcli exists "cgroup_arch/account/$s" | grep -q 1 || missing="$missing $s"; done
t_eq "a key for every second $s1..$s4" "${missing:-none}" "none"
ttl=$(rcli ttl "cgroup_arch/account/$s4")
t_check "TTL $ttl is within 1..20 (expire = 20)" bash -c "[ '$ttl' -ge 1 ] && [ '$ttl' -le 20 ]"

# seed's shape
js=$(acctd_sample "$s4")
shape=$($PY - "$js" <<'EOF'
import json, re, sys
j = json.loads(sys.argv[1])
def shape(n, sub):
    out = {}
    v = n["value"]
    if sub == "cpu":
        # the seed's usage, and the CFS bandwidth counters where cpu.stat has them (issue 16)
        assert "usage" in v and set(v) <= {"usage", "nr_throttled", "throttled_usec"}, v
        assert all(type(x) is int for x in v.values()), v
    else:
        for dev, rw in v.items():
            assert re.fullmatch(r"\d+:\d+", dev) and set(rw) == {"Read", "Write"}, v
            assert all(type(x) is int for x in rw.values())
    for k in n:
        assert k in ("value", "pressure", "sub_cgroup"), k
    if "pressure" in n:
        assert set(n["pressure"]) <= {"some_usec", "full_usec"} and "some_usec" in n["pressure"], n
    for name, child in n.get("sub_cgroup", {}).items():
        out[name] = shape(child, sub)
    return out
print(json.dumps({s: shape(j[s], s) for s in j}, sort_keys=True))
EOF
)
t_eq "sample has the seed's shape" "$shape" \
  '{"blkio": {"test_cgroup_a": {}}, "cpu": {"test_cgroup_a": {}, "test_cgroup_b": {"test_cgroup_b_sub1": {}}}}'
t_check "root blkio value lists devices as MAJ:MIN -> Read/Write" \
  bash -c "jget '$js' 'len(j[\"blkio\"][\"value\"]) >= 1 and all(set(v)=={\"Read\",\"Write\"} for v in j[\"blkio\"][\"value\"].values())' | grep -q True"

u1=$(acctd_cpu_usage "$s4" test_cgroup_a)
t_check "no reset at start: usage $u1 >= $u0 burned before" bash -c "[ '$u1' -ge '$u0' ] && [ '$u0' -gt 0 ]"

t_eq "arch_conf holds the snapshot" "$(rcli get cgroup_arch/arch_conf)" "$(cat "$RUNTIME_DIR/arch_conf.json")"
wait_for 2 grep -q "^$s4\$" "$T_TMP/sub.out"
t_check "the slot is PUBLISHed on cgroup_arch/account" grep -q "^$s4\$" "$T_TMP/sub.out"

# ---- the conf changes: the next sample follows ----
mkdir -p "$CG_DIR/cpu/$CGROOT/test_cgroup_c" "$CG_DIR/cpuacct/$CGROOT/test_cgroup_c"
NEWCONF='{"cpu": {"sub_cgroup": {"test_cgroup_c": {"conf": {"share": 300}}}}}'
acctd_snapshot 2 "$NEWCONF"
t0=$(date +%s%N)
follows() {
  local s; s=$(acctd_latest_slot)
  jget "$(acctd_sample "$s")" 'list(j) == ["cpu"] and list(j["cpu"]["sub_cgroup"]) == ["test_cgroup_c"]' | grep -q True
}
if wait_for 3 follows; then
  t_ok "conf change followed within $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
  t_fail "conf change followed within 3 s"; t_diag "$(acctd_sample "$(acctd_latest_slot)")"
fi
t_check "arch_conf updated to version 2" bash -c "rcli() { redis-cli -p $REDIS_PORT \"\$@\"; }; rcli get cgroup_arch/arch_conf | grep -q '\"version\": 2'"

# a bad snapshot is refused, the last good one kept
acctd_snapshot 3 '{"cpu": {"sub_cgroup": {"../x": {}}}}'
wait_for 3 grep -q "Bad snapshot" "$ACCTD_LOG"
t_check "a bad snapshot is logged" grep -q "Bad snapshot" "$ACCTD_LOG"
s=$(acctd_wait_new_slot)
t_check "samples go on with the last good conf" bash -c \
  "[ -n '$s' ] && redis-cli -p $REDIS_PORT get cgroup_arch/account/$s | grep -q test_cgroup_c"

# ---- SIGHUP: a new prefix is followed ----
sed -i 's/^prefix = cgroup_arch$/prefix = hupped/' "$ACFG"
kill -HUP "$ACCTD_PID"
t_check "after SIGHUP samples go under the new prefix" wait_for 3 bash -c \
  "redis-cli -p $REDIS_PORT --scan --pattern 'hupped/account/*' | grep -q ."
t_check "after SIGHUP arch_conf is set under the new prefix" wait_for 2 bash -c \
  "redis-cli -p $REDIS_PORT exists hupped/arch_conf | grep -q 1"
t_check "daemon alive after SIGHUP" kill -0 "$ACCTD_PID"

# ---- SIGTERM ----
kill -TERM "$ACCTD_PID"
if wait_for 3 bash -c "! kill -0 $ACCTD_PID"; then
  wait "$ACCTD_PID"; rc=$?
  t_eq "SIGTERM: exits 0" "$rc" 0
else
  t_fail "SIGTERM: exits within 3 s"
fi
t_check "log lines carry <N> priority prefixes" grep -q '^<6>' "$ACCTD_LOG"
t_check "missed seconds: none on an idle machine" bash -c "! grep -q 'Missed' '$ACCTD_LOG'"

# ---- reset_on_start = yes: only under the managed root ----
root_before=$(cat "$CG_DIR/cpuacct/cpuacct.usage")
sed -i 's/^prefix = hupped$/prefix = cgroup_arch/' "$ACFG"
printf '[accountd]\nreset_on_start = yes\n' >> "$ACFG"
acctd_snapshot 4 "$SEED_CONF"
acctd_start
s=$(acctd_wait_new_slot)
u2=$(acctd_cpu_usage "$s" test_cgroup_a)
t_check "reset_on_start = yes: usage of test_cgroup_a reset ($u2 < $u0)" bash -c "[ -n '$u2' ] && [ '$u2' -lt '$u0' ]"
t_check "reset_on_start = yes: the hierarchy root is untouched" \
  bash -c "[ \$(cat $CG_DIR/cpuacct/cpuacct.usage) -ge $root_before ]"
t_check "reset_on_start is logged" grep -q "reset_on_start: reset cpuacct.usage in 4 cgroups" "$ACCTD_LOG"
stop_pid "$ACCTD_PID"

t_done
