# tests/vm/guest-lib.sh — helpers for the scripts that run INSIDE the qemu guest (source it).
#
# Results are printed as unnumbered TAP lines ("ok - NAME", "not ok - NAME # why", "# diag");
# the host driver (tests/e2e/vm-*.sh) numbers them. The guest is thrown away after the run
# (root disk snapshot=on), so cleanup here is only what keeps the checks honest.
set -u
G_FAILED=0
g_ok()   { echo "ok - $*"; }
g_fail() { G_FAILED=$((G_FAILED + 1)); echo "not ok - $*"; }
g_skip() { echo "ok - $1 # SKIP ${2:-}"; }
g_diag() { echo "# $*"; }
g_check() { local n=$1; shift; if "$@"; then g_ok "$n"; else g_fail "$n"; fi; }
g_eq() {
  if [ "$2" = "$3" ]; then g_ok "$1"; else g_fail "$1"; g_diag "  got:  $2"; g_diag "  want: $3"; fi
}
# g_done: the script's exit status (0 when nothing failed).
g_done() { [ "$G_FAILED" -eq 0 ]; }

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds (0) or the deadline (1).
wait_for() {
  local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(date +%s%N)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# vm_net_up: brings up the virtio NIC (udev's driver loading is masked in the image) with
# systemd-networkd, static 10.0.2.15/24; the host's ZooKeeper is then at 10.0.2.100:2181.
vm_net_up() {
  modprobe virtio_net || return 1
  mkdir -p /run/systemd/network
  printf '[Match]\nType=ether\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    > /run/systemd/network/10-vm.network
  systemctl start systemd-networkd || return 1
  /usr/lib/systemd/systemd-networkd-wait-online --any --timeout=30
}
# zk_ruok HOST PORT: ZooKeeper's four-letter health check over bash's /dev/tcp.
zk_ruok() {
  local r
  r=$(timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1 && echo ruok >&3 && cat <&3' "$1" "$2" 2>/dev/null)
  [ "$r" = imok ]
}

# unit_cg UNIT: the unit's cgroup directory (from the manager's ControlGroup property).
unit_cg() {
  local c
  c=$(systemctl show -P ControlGroup "$1" 2>/dev/null)
  [ -n "$c" ] && echo "/sys/fs/cgroup$c"
}
# cg_usage DIR: usage_usec of the cgroup's cpu.stat.
cg_usage() { awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"; }
# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.2f", a / b }'; }
# within X WANT TOL: |X - WANT| <= TOL.
within() { awk -v x="$1" -v w="$2" -v t="$3" 'BEGIN { d = x - w; if (d < 0) d = -d; exit !(x != "inf" && d <= t) }'; }
