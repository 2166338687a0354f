#!/usr/bin/env bash
# tests/vm/ensure-image.sh — makes sure the VM tests' guest image is there, building it when it
# is missing and can be built (root, debootstrap, qemu). `make test` runs it before tests/run, so
# that a fresh machine's 10-15 min build does not count against a test's time limit; the VM
# tests run it too (then it only looks).
#   tests/vm/ensure-image.sh [--retry]
# A failed build leaves <dir>.failed (the log's tail): later calls fail at once with it instead of
# spending another 15 min, until one with --retry (what `make test` passes) tries again.
# Exit status: 0 the image is ready (its directory on stdout); 3 it cannot be had here (the reason
# on stdout: a missing tool, not root); 1 the build failed (log tail on stderr).
set -u
here=$(cd "$(dirname "$0")" && pwd)
cache=${CGARCH_VM_CACHE:-/var/cache/cgrouparch/vm}
dir=$cache/$(sha256sum "$here/build-image.sh" | cut -c1-16)
for t in qemu-system-x86_64 mkfs.ext4 debugfs; do
  command -v $t >/dev/null || { echo "$t missing (apt-get install qemu-system-x86 e2fsprogs)"; exit 3; }
done
[ -r /usr/share/qemu/qboot.rom ] || { echo "/usr/share/qemu/qboot.rom missing (apt-get install qemu-system-data)"; exit 3; }
ready() { [ -s "$dir/root.img" ] && [ -s "$dir/vmlinux" ] && [ -s "$dir/initrd" ]; }
ready && { echo "$dir"; exit 0; }
if [ -f "$dir.failed" ] && [ "${1:-}" != --retry ]; then
  echo "vm: the guest image build failed before (make test, or ensure-image.sh --retry, tries again):" >&2
  cat "$dir.failed" >&2; exit 1
fi
[ "$(id -u)" = 0 ] || { echo "no guest image at $dir, and not root to build it (sudo tests/vm/build-image.sh)"; exit 3; }
command -v debootstrap >/dev/null || { echo "no guest image at $dir, and debootstrap missing (apt-get install debootstrap)"; exit 3; }
mkdir -p "$cache"
echo "vm: building the guest image into $dir (10-15 min, once per recipe)" >&2
log=$(mktemp /tmp/cgarch-vm-build.XXXXXX)
# One build at a time, also across concurrent runs: a second caller waits, then finds it ready.
if flock "$cache/.build.lock" "$here/build-image.sh" >"$log" 2>&1 && ready; then
  rm -f "$log" "$dir.failed"; echo "$dir"; exit 0
fi
tail -n 30 "$log" > "$dir.failed"
echo "vm: the guest image build failed; last lines of $log:" >&2
cat "$dir.failed" >&2
exit 1
