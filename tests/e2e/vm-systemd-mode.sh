#!/usr/bin/env bash
# vm-systemd-mode.sh — cgrouparch with `[cgroup] mode = systemd` on a real systemd host (issue 13):
# boots the Debian 12 guest (systemd 252 as PID 1, cgroup v2 with cpu io memory pids) under qemu
# and runs tests/vm/systemd-mode.guest.sh in it: the shipped units, cg-syncd following the conf
# in this test's ZooKeeper (reached from the guest through a restrict=on user-network forward),
# cg-taskd placing pid-file processes into slices (a transient scope for a process outside any
# service, a Slice= drop-in plus restart for a service); the seed's test_cpu_share ratios from
# the slices' cpu.stat; systemctl stop; a weight change; daemon-reload and daemon-reexec; a bad
# conf; a node removal; nothing outside cgrouparch.slice changed. See the guest script.
# Skips when qemu is missing, or when the cgarch built here has no systemd mode yet (its --help
# does not mention it); CGARCH_VM_FORCE=1 runs it anyway. CGARCH_VM_EMULATE=1 runs the scenario
# with its daemon steps done by hand (tests/vm/sdmode-emulate.sh): a check of the checks only.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/host-lib.sh"

EMU=${CGARCH_VM_EMULATE:-0}
if [ "${CGARCH_VM_FORCE:-0}" != 1 ] && [ "$EMU" != 1 ] && ! "$BUILD/cgarch" --help 2>&1 | grep -qi systemd; then
  t_skip "vm systemd mode" "build/cgarch --help does not mention systemd mode (the backend is not built yet)"
  t_done; exit 0
fi
vm_prologue
start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
vm_run --zk "$ZK_PORT" --timeout "${CGARCH_VM_TIMEOUT:-540}" systemd-mode.guest.sh VM_EMULATE=$EMU
t_eq "the guest script exited 0" "$VM_RC" 0
t_done
