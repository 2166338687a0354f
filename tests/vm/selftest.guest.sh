# tests/vm/selftest.guest.sh — runs inside the guest: proves it is a real systemd host with
# cgroup v2 controllers, that the passed-in cgrouparch binaries run there, and that CPUWeight
# does what the systemd-mode tests rely on. Optional: VM_ZK=1 checks the host's ZooKeeper
# through the forward (run-vm.sh --zk PORT).
. /io/tests/vm/guest-lib.sh

g_eq "PID 1 is systemd" "$(cat /proc/1/comm)" systemd
g_diag "systemd $(systemctl --version | head -1 | awk '{print $2}'), kernel $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime) s"
g_eq "/sys/fs/cgroup is cgroup2" "$(stat -fc %T /sys/fs/cgroup)" cgroup2fs
ctl=" $(cat /sys/fs/cgroup/cgroup.controllers) "
miss=; for c in cpu io memory pids; do case $ctl in *" $c "*) ;; *) miss="$miss $c" ;; esac; done
g_eq "cgroup.controllers has cpu io memory pids" "${miss:-none missing}" "none missing"
g_check "cgarch --version runs" cgarch --version
g_check "cg-syncd --version runs" cg-syncd --version
g_check "cg-taskd --version runs" cg-taskd --version

if [ "${VM_ZK:-0}" = 1 ]; then
  if vm_net_up >/dev/null 2>&1; then g_ok "virtio NIC up"; else g_fail "virtio NIC up"; fi
  g_check "host ZooKeeper answers ruok through the forward (10.0.2.100:2181)" wait_for 10 zk_ruok 10.0.2.100 2181
fi

# Two busy loops pinned to CPU 0, in transient scopes with CPUWeight 100 and 300 (siblings in
# system.slice). The share of CPU 0 each gets is measured from the scopes' cpu.stat over a window.
for w in 100 300; do
  systemd-run --quiet --scope --unit=vmself-w$w -p CPUWeight=$w \
    taskset -c 0 bash -c 'while :; do :; done' >/dev/null 2>&1 &
done
# (cgroupfs files have size 0: test for content, not with -s)
both_running() { [ -n "$(unit_cg vmself-w100.scope)" ] && [ -n "$(unit_cg vmself-w300.scope)" ] &&
  grep -q . "$(unit_cg vmself-w100.scope)/cgroup.procs" && grep -q . "$(unit_cg vmself-w300.scope)/cgroup.procs"; }
if wait_for 20 both_running; then
  lo=$(unit_cg vmself-w100.scope) hi=$(unit_cg vmself-w300.scope)
  g_ok "two busy loops run in transient scopes ($lo, $hi)"
  g_eq "cpu.weight of the scopes" "$(cat "$lo/cpu.weight") $(cat "$hi/cpu.weight")" "100 300"
  sleep 1 # both loops are competing by now
  l0=$(cg_usage "$lo") h0=$(cg_usage "$hi"); sleep "${VM_WINDOW:-5}"
  l1=$(cg_usage "$lo") h1=$(cg_usage "$hi")
  r=$(ratio $((h1 - h0)) $((l1 - l0)))
  g_diag "CPU over the window: weight 300 $(( (h1 - h0) / 1000 )) ms, weight 100 $(( (l1 - l0) / 1000 )) ms"
  if within "$r" 3.0 0.5; then g_ok "CPUWeight 300:100 gives a work ratio of $r (3.0±0.5)"
  else g_fail "CPUWeight 300:100 gives a work ratio of $r (3.0±0.5)"; fi
else
  g_fail "two busy loops run in transient scopes"
fi
systemctl stop vmself-w100.scope vmself-w300.scope 2>/dev/null
g_check "stopping the scopes ends the loops" wait_for 10 bash -c '! systemctl is-active -q vmself-w100.scope && ! systemctl is-active -q vmself-w300.scope'
g_done
