#!/usr/bin/env bash
# tests/vm/build-image.sh — builds a Debian 12 guest with systemd as PID 1 and cgroup v2, from
# Debian packages only, for the systemd-mode tests (tests/vm/run-vm.sh boots it).
#
# The image is cached OUTSIDE the checkout (CI clones afresh every run), in
#   ${CGARCH_VM_CACHE:-/var/cache/cgrouparch/vm}/<hash of this script>/{vmlinux,initrd,root.img}
# and rebuilt only when that directory is missing: any change to this recipe changes the hash.
# Prints the cache directory on stdout (last line). Takes 10-15 min on 2 cores, seconds when cached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
MIRROR=${CGARCH_VM_MIRROR:-http://deb.debian.org/debian}
base=${CGARCH_VM_CACHE:-/var/cache/cgrouparch/vm}
key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
out=$base/$key
if [ -s "$out/root.img" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initrd" ]; then
  echo "$out"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-image: must run as root (debootstrap)" >&2; exit 1; }
for t in debootstrap mkfs.ext4 qemu-system-x86_64; do
  command -v $t >/dev/null || { echo "build-image: $t missing (apt-get install debootstrap e2fsprogs qemu-system-x86)" >&2; exit 1; }
done
mkdir -p "$base"
work=$(mktemp -d "$base/build.XXXXXX")
cleanup() { umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
# The guest's own packages: systemd as PID 1, and the runtime libraries of the cgrouparch
# binaries that the tests pass in (same Debian release as the build host, so the same sonames).
PKGS=systemd,systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,kmod,procps,util-linux,e2fsprogs
PKGS=$PKGS,libcjson1,libhiredis0.14,libwebsockets17,libsystemd0,libinih1,libzookeeper-mt2,redis-server,redis-tools,coreutils
echo "build-image: debootstrap $SUITE into $root (10-15 min)" >&2
debootstrap --variant=minbase --include=$PKGS $SUITE "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2; exit 1; }

# A small initrd: only what finds and mounts the virtio root disk.
cat > "$root/etc/initramfs-tools/conf.d/cgarch.conf" <<'CONF'
MODULES=list
COMPRESS=gzip
CONF
printf 'virtio_pci\nvirtio_blk\next4\n' > "$root/etc/initramfs-tools/modules"
mount -t proc proc "$root/proc"
kver=$(ls "$root/lib/modules" | head -1)
chroot "$root" update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 || { tail -20 "$work/initramfs.log" >&2; exit 1; }
umount "$root/proc"

# Boot speed: no udev driver loading, no unneeded generators and mounts, no getty, no redis at boot.
ln -sf /dev/null "$root/etc/udev/rules.d/80-drivers.rules"
for u in systemd-hwdb-update.service dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount \
         sys-kernel-tracing.mount sys-fs-fuse-connections.mount systemd-binfmt.service \
         proc-sys-fs-binfmt_misc.automount systemd-update-utmp.service getty@tty1.service \
         serial-getty@ttyS0.service console-getty.service systemd-timesyncd.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer redis-server.service \
         systemd-random-seed.service systemd-journal-flush.service systemd-pstore.service \
         systemd-firstboot.service systemd-machine-id-commit.service ldconfig.service \
         man-db.timer systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
echo cgarch-vm > "$root/etc/hostname"
: > "$root/etc/machine-id"
echo '/dev/vda / ext4 rw 0 1' > "$root/etc/fstab"
# The test runner: the default target's only job. Mounts the second disk, runs /io/run.sh with
# output to the serial console and /io/out.txt, then powers off.
cat > "$root/usr/local/sbin/cgarch-vm-run" <<'RUN'
#!/bin/bash
mkdir -p /io
mount /dev/vdb /io || { echo "VM: cannot mount /dev/vdb" >/dev/ttyS0; systemctl --no-block poweroff; exit 0; }
echo "VM: booted, running /io/run.sh" >/dev/ttyS0
bash /io/run.sh 2>&1 | tee /io/out.txt >/dev/ttyS0
echo "VM: exit ${PIPESTATUS[0]}" | tee -a /io/out.txt >/dev/ttyS0
sync; umount /io
systemctl --no-block poweroff
RUN
chmod 0755 "$root/usr/local/sbin/cgarch-vm-run"
cat > "$root/etc/systemd/system/cgarch-vm-run.service" <<'UNIT'
[Unit]
Description=cgrouparch VM test runner
After=dbus.service
Wants=dbus.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/cgarch-vm-run
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/cgarch-vm-run.service "$root/etc/systemd/system/multi-user.target.wants/cgarch-vm-run.service"
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale"

# The uncompressed kernel (PVH boot with qboot is much faster than the bzImage under TCG).
vmlinuz=$(ls "$root"/boot/vmlinuz-* | head -1)
python3 - "$vmlinuz" "$work/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
magic = b'\xfd7zXZ\x00'
i = data.find(magic)
while i >= 0:
    try:
        d = lzma.LZMADecompressor()
        out = d.decompress(data[i:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out); sys.exit(0)
    except lzma.LZMAError:
        pass
    i = data.find(magic, i + 1)
sys.exit("no xz-compressed ELF kernel found in " + sys.argv[1])
PY
cp "$root"/boot/initrd.img-* "$work/initrd"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.img" 2G
mkdir -p "$out.tmp"
mv "$work/vmlinux" "$work/initrd" "$work/root.img" "$out.tmp/"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "build-image: done" >&2
echo "$out"
