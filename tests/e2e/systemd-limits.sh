#!/usr/bin/env bash
# systemd-limits.sh — the limits of the arch conf (issue 16) in systemd mode, against a private
# systemd --user manager (tests/e2e/lib-systemd.sh): `cgarch apply` sets them as slice unit
# properties (CPUQuotaPerSecUSec, MemoryMax/High/Low, TasksMax, IOReadBandwidthMax), a re-plan
# is a no-op (the manager's view is read back), and removing the keys resets each property to
# its "no limit". (This machine's unified hierarchy has no controllers, so the effect on the
# kernel is shown by tests/integration/limits-v1.sh; here the properties are checked.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-systemd.sh"

why=$(sd_usable) || { t_skip "systemd limits" "$why"; t_done; exit 0; }
sd_setup || { t_fail "private manager set up"; t_done; exit 1; }
sd_start || { t_fail "private systemd --user starts"; tail -20 "$SD_W/manager.log" | sed 's/^/# /'; t_done; exit 1; }
t_ok "private systemd --user manager running"

BUS=unix:path=$XDG_RUNTIME_DIR/systemd/private
RUNTIME_DIR=$SD_W/run
CFG=$SD_W/cgrouparch.conf
CGROOT=cgrouparch CG_MODE=systemd write_cfg "$CFG" <<EOF
[systemd]
bus = $BUS
EOF
prop() { sdctl show -p "$2" --value "$1" 2>/dev/null; }
ca() { cgarch -c "$CFG" "$@"; }
S=cgrouparch-web.slice

# a block device that exists here: the first loop device node (only its number is used)
DEV=$(ls /dev/loop[0-9]* 2>/dev/null | head -1)
[ -n "$DEV" ] || DEV=/dev/null
cat >"$SD_W/limits.json" <<EOF
{"cpu": {"sub_cgroup": {"web": {"conf": {"quota_percent": 50}}}},
 "memory": {"sub_cgroup": {"web": {"conf": {"max": 67108864, "high": 33554432, "low": 8192}}}},
 "pids": {"sub_cgroup": {"web": {"conf": {"max": 10}}}},
 "blkio": {"sub_cgroup": {"web": {"conf": {"read_bps": {"$DEV": 2097152}}}}}}
EOF
echo '{"cpu": {"sub_cgroup": {"web": {}}}, "memory": {"sub_cgroup": {"web": {}}}, "pids": {"sub_cgroup": {"web": {}}}, "blkio": {"sub_cgroup": {"web": {}}}}' >"$SD_W/bare.json"

out=$(ca plan "$SD_W/limits.json" 2>&1)
t_check "plan: the limits as properties of the new slice" grep -q "CPUQuotaPerSecUSec=500000" <<<"$out"
t_diag "$(tr '\n' '|' <<<"$out")"
out=$(ca apply "$SD_W/limits.json" 2>&1); rc=$?
t_eq "apply exits 0" "$rc" 0
t_diag "$out"
t_eq "CPUQuotaPerSecUSec" "$(prop $S CPUQuotaPerSecUSec)" "500ms"
t_eq "MemoryMax" "$(prop $S MemoryMax)" 67108864
t_eq "MemoryHigh" "$(prop $S MemoryHigh)" 33554432
t_eq "MemoryLow" "$(prop $S MemoryLow)" 8192
t_eq "TasksMax" "$(prop $S TasksMax)" 10
if [ "$DEV" != /dev/null ]; then
  t_check "IOReadBandwidthMax" grep -q "2097152" <<<"$(prop $S IOReadBandwidthMax)"
  t_diag "IOReadBandwidthMax=$(prop $S IOReadBandwidthMax)"
fi
out=$(ca plan "$SD_W/limits.json" 2>&1)
t_check "re-plan: nothing to do" bash -c '! grep -qE "^(create|set|remove)" <<<"$1"' _ "$out"
t_diag "$(tr '\n' '|' <<<"$out")"

out=$(ca apply "$SD_W/bare.json" 2>&1); rc=$?
t_eq "apply without the keys exits 0" "$rc" 0
t_eq "CPUQuotaPerSecUSec reset" "$(prop $S CPUQuotaPerSecUSec)" "infinity"
t_eq "MemoryMax reset" "$(prop $S MemoryMax)" "infinity"
t_eq "MemoryHigh reset" "$(prop $S MemoryHigh)" "infinity"
t_eq "MemoryLow reset" "$(prop $S MemoryLow)" 0
t_eq "TasksMax reset" "$(prop $S TasksMax)" "infinity"
out=$(ca plan "$SD_W/bare.json" 2>&1)
t_check "then nothing to do" bash -c '! grep -qE "^(create|set|remove)" <<<"$1"' _ "$out"
t_diag "$(tr '\n' '|' <<<"$out")"
ca apply <(echo '{"cpu": {}, "blkio": {}, "memory": {}, "pids": {}}') >/dev/null 2>&1
t_done
