#!/usr/bin/env bash
# vm-accountd-limits.sh — the limits' counters and pressure in cg-accountd's samples on a kernel
# with cgroup v2 and PSI (issue 16 item 4, issue 18 item 1): boots the Debian 12 guest (systemd
# 252, kernel 6.1) under qemu and runs tests/vm/accountd-limits.guest.sh in it: `cgarch apply` in
# systemd mode makes slices with CPUQuota=, MemoryMax=, TasksMax=; cg-accountd samples them into
# the guest's Redis; throttling, OOM kills, peak, pids and cpu/io/memory pressure are checked
# there (this host's v1 hierarchies have no PSI: tests/integration/accountd-limits.sh covers v1).
# Skips when qemu is missing; the image is built once (tests/vm/ensure-image.sh).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/host-lib.sh"

vm_prologue
vm_run --timeout "${CGARCH_VM_TIMEOUT:-600}" accountd-limits.guest.sh
t_eq "the guest script exited 0" "$VM_RC" 0
t_done
