#!/usr/bin/env bash
# tests/vm/run-vm.sh — boots the cached Debian 12 guest (tests/vm/build-image.sh: systemd 252 as
# PID 1, pure cgroup v2) under qemu without KVM and runs one guest script in it.
#
#   tests/vm/run-vm.sh [options] GUEST_SCRIPT [VAR=VALUE...]
#     --timeout SEC   hard limit for the whole guest run (default 240); qemu is killed after it
#     --zk PORT       user networking (restrict=on, so the guest reaches nothing else) with one
#                     forward: guest 10.0.2.100:2181 -> host 127.0.0.1:PORT (a test's ZooKeeper)
#     --build         build the image first if it is missing (10-15 min, as root)
#     --file PATH     also pass the host file PATH, as /io/files/<its name> (may be repeated;
#                     e.g. the .deb files of tests/vm/deb.guest.sh)
#
# The guest sees a second disk mounted at /io holding:
#   /io/run.sh        exports VAR=VALUE..., PATH=/io/bin:..., then runs /io/tests/vm/GUEST_SCRIPT
#   /io/bin/          build/cg-* build/cgarch build/libcgarch.so* build/tests/tools/*
#   /io/units/        units/ of the checkout
#   /io/tests/        tests/vm/ and tests/lib.sh
#   /io/conf/         cgrouparch.conf.example
#   /io/files/        the --file PATHs (only when given)
# The image's runner unit (cgarch-vm-run.service) runs /io/run.sh with its output on the serial
# console and in /io/out.txt, then powers off. This script reads out.txt back with debugfs,
# prints it on stdout and exits with the guest script's status.
# Exit status: the guest script's, or 124 on timeout (then stdout has what the console showed of
# the script's output), 125 if the guest gave no result.
# Timing goes to stderr as "# vm: boot N s, run N s" (boot = qemu start to the first line
# of the runner on the console).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TOP=${CGARCH_TOP:-$(cd "$here/../.." && pwd)}
BUILD=${CGARCH_BUILD:-$TOP/build}
timeout=240 zk_port= build=0
files=()
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout=$2; shift 2 ;;
    --zk) zk_port=$2; shift 2 ;;
    --build) build=1; shift ;;
    --file) [ -f "$2" ] || { echo "run-vm: --file $2: no such file" >&2; exit 2; }; files+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "run-vm: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: run-vm.sh [--timeout SEC] [--zk PORT] [--build] [--file PATH]... GUEST_SCRIPT [VAR=VALUE...]" >&2; exit 2; }
script=$1; shift
[ -f "$here/$script" ] || { echo "run-vm: no guest script tests/vm/$script" >&2; exit 2; }

if [ $build = 1 ]; then
  img=$("$here/build-image.sh" | tail -1)
else
  # Only the cache lookup (build-image.sh exits at once when the image is there).
  key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
  img=${CGARCH_VM_CACHE:-/var/cache/cgrouparch/vm}/$key
fi
for f in vmlinux initrd root.img; do
  [ -s "$img/$f" ] || { echo "run-vm: no image at $img (tests/vm/build-image.sh builds it)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/cgarch-vm.XXXXXX)
qpid=
cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill -TERM "$qpid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The io disk: staged, then made with mkfs.ext4 -d (no mount, no loop device).
st=$work/io
mkdir -p "$st/bin" "$st/units" "$st/tests/vm" "$st/conf"
cp -a "$BUILD"/cg-syncd "$BUILD"/cg-taskd "$BUILD"/cg-accountd "$BUILD"/cg-wsd "$BUILD"/cgarch "$st/bin/"
cp -a "$BUILD"/libcgarch.so* "$st/bin/" 2>/dev/null || true
[ -d "$BUILD/tests/tools" ] && find "$BUILD/tests/tools" -maxdepth 1 -type f -perm -u+x -exec cp -a {} "$st/bin/" \;
cp -a "$TOP"/units/. "$st/units/"
cp -a "$here"/. "$st/tests/vm/"
rm -f "$st/tests/vm/build-image.sh" "$st/tests/vm/run-vm.sh"
cp -a "$TOP/tests/lib.sh" "$st/tests/"
[ -f "$TOP/cgrouparch.conf.example" ] && cp "$TOP/cgrouparch.conf.example" "$st/conf/"
if [ ${#files[@]} -gt 0 ]; then mkdir -p "$st/files"; cp -L "${files[@]}" "$st/files/"; fi
{
  echo '#!/bin/bash'
  echo 'export PATH=/io/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  echo 'export LD_LIBRARY_PATH=/io/bin CGARCH_VM=1'
  for kv in "$@"; do printf 'export %q\n' "$kv"; done
  printf 'cd /io && exec bash /io/tests/vm/%q\n' "$script"
} > "$st/run.sh"
chmod 0755 "$st/run.sh"
# 64 MiB, or room for what is staged twice over (the guest writes its output there too).
mb=$(( $(du -sm "$st" | cut -f1) * 2 + 32 )); [ $mb -lt 64 ] && mb=64
mkfs.ext4 -q -F -L io -d "$st" "$work/io.img" ${mb}M >/dev/null

net=(-nic none)
if [ -n "$zk_port" ]; then
  # restrict=on: the guest can reach no host or outside address, only the forward below.
  # cmd: runs one connector per guest connection (a tcp: chardev would serve only one).
  net=(-netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:2181-cmd:nc 127.0.0.1 $zk_port"
       -device virtio-net-pci,netdev=n0)
fi

start=$(date +%s.%N)
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp 2 -nodefaults \
  -display none -serial "file:$work/serial.log" -monitor none -no-reboot \
  -bios /usr/share/qemu/qboot.rom -kernel "$img/vmlinux" -initrd "$img/initrd" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=1 cryptomgr.notests quiet systemd.show_status=0" \
  -drive "file=$img/root.img,if=virtio,format=raw,snapshot=on" \
  -drive "file=$work/io.img,if=virtio,format=raw" \
  "${net[@]}" </dev/null >"$work/qemu.log" 2>&1 &
qpid=$!

elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }
boot= rc=
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$boot" ] && grep -q '^VM: booted' "$work/serial.log" 2>/dev/null; then boot=$(elapsed); fi
  if awk -v s="$start" -v e="$(date +%s.%N)" -v t="$timeout" 'BEGIN{exit !(e-s > t)}'; then
    echo "run-vm: guest did not finish within ${timeout}s; killing qemu (pid $qpid)" >&2
    # What the script printed so far (the console has it; out.txt is not synced): on stdout, so
    # the checks that did run are still reported.
    sed -n '/^VM: booted/,$p' "$work/serial.log" | tr -d '\r' | sed 1d
    echo "run-vm: last console lines:" >&2; tail -n 10 "$work/serial.log" | sed 's/^/  | /' >&2
    exit 124
  fi
  sleep 0.2
done
wait "$qpid" || true; qpid=
echo "# vm: boot ${boot:-?} s, run $(elapsed) s" >&2

out=$(debugfs -R 'cat /out.txt' "$work/io.img" 2>/dev/null || true)
if [ -z "$out" ]; then
  echo "run-vm: the guest left no /out.txt; console:" >&2
  tail -n 40 "$work/serial.log" | sed 's/^/  | /' >&2
  sed 's/^/  qemu: /' "$work/qemu.log" >&2
  exit 125
fi
printf '%s\n' "$out"
rc=$(printf '%s\n' "$out" | sed -n 's/^VM: exit \([0-9]*\)$/\1/p' | tail -1)
[ -n "$rc" ] || { echo "run-vm: no exit line in the guest's output" >&2; exit 125; }
exit "$rc"
