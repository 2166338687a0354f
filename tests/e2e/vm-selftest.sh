#!/usr/bin/env bash
# vm-selftest.sh — the VM harness proves its guest is a real systemd host (issue 13 item 5):
# boots the Debian 12 guest (tests/vm/build-image.sh, built here when missing) under qemu
# without KVM and checks inside it (tests/vm/selftest.guest.sh):
#   PID 1 is systemd; /sys/fs/cgroup is cgroup2 with cpu io memory pids
#   the passed-in cgrouparch binaries run
#   the host's ZooKeeper answers through the restricted user-network forward
#   two busy loops pinned to one CPU in scopes with CPUWeight 100/300 work in the ratio 3.0±0.5
# Skips only when qemu or the image's tools are missing; a hang or a failed build fails.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/host-lib.sh"

vm_prologue
start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
vm_run --zk "$ZK_PORT" selftest.guest.sh VM_ZK=1
t_eq "the guest script exited 0" "$VM_RC" 0
t_done
