# tests/vm/host-lib.sh — host side of the VM tests (tests/e2e/vm-*.sh); source after tests/lib.sh.
#
#   vm_usable        fails with VM_WHY set when the VM tests cannot run here (a missing tool),
#                    or makes sure the image exists, building it when missing (10-15 min, once;
#                    a failed build is a failure, not a skip: VM_BUILD_FAILED=1)
#   vm_prologue      vm_usable for a test script: on a missing tool a skip, on a failed build a
#                    failure, and exits the script in both cases
#   vm_run ARGS...   tests/vm/run-vm.sh ARGS...; the guest's unnumbered TAP lines become this
#                    test's numbered ones; fails one line when the guest hung or gave no result
VM_DIR=$TOP/tests/vm
VM_CACHE=${CGARCH_VM_CACHE:-/var/cache/cgrouparch/vm}
VM_BUILD_FAILED=0
VM_WHY=

vm_image_dir() { echo "$VM_CACHE/$(sha256sum "$VM_DIR/build-image.sh" | cut -c1-16)"; }
vm_usable() {
  local t d
  for t in qemu-system-x86_64 mkfs.ext4 debugfs; do
    command -v $t >/dev/null || { VM_WHY="$t missing (apt-get install qemu-system-x86 e2fsprogs)"; return 1; }
  done
  [ -r /usr/share/qemu/qboot.rom ] || { VM_WHY="/usr/share/qemu/qboot.rom missing (qemu-system-data)"; return 1; }
  d=$(vm_image_dir)
  [ -s "$d/root.img" ] && [ -s "$d/vmlinux" ] && [ -s "$d/initrd" ] && return 0
  [ "$(id -u)" = 0 ] || { VM_WHY="no image at $d and not root to build it (sudo tests/vm/build-image.sh)"; return 1; }
  command -v debootstrap >/dev/null || { VM_WHY="no image at $d and debootstrap missing (apt-get install debootstrap)"; return 1; }
  mkdir -p "$VM_CACHE"
  echo "# vm: building the guest image into $d (10-15 min, once)"
  # One build at a time, also across concurrent test runs: the second waits, then finds it cached.
  if ! flock "$VM_CACHE/.build.lock" "$VM_DIR/build-image.sh" >"$T_TMP/build-image.log" 2>&1; then
    tail -n 30 "$T_TMP/build-image.log" | sed 's/^/# build: /'
    VM_BUILD_FAILED=1 VM_WHY="the image build failed"; return 1
  fi
  return 0
}

vm_prologue() {
  vm_usable && return 0
  if [ "$VM_BUILD_FAILED" = 1 ]; then t_fail "the guest image builds"; t_done; exit 1; fi
  t_skip "vm" "$VM_WHY"; t_done; exit 0
}

# vm_run [run-vm options] SCRIPT [VAR=VALUE...]: sets VM_RC (run-vm.sh's status).
vm_run() {
  local line
  "$VM_DIR/run-vm.sh" "$@" >"$T_TMP/vm.out" 2>"$T_TMP/vm.err"
  VM_RC=$?
  while IFS= read -r line; do
    case $line in
      "ok - "*" # SKIP "*) line=${line#ok - }; t_skip "${line%% # SKIP *}" "${line#* # SKIP }" ;;
      "ok - "*) t_ok "${line#ok - }" ;;
      "not ok - "*) t_fail "${line#not ok - }" ;;
      "#"*) echo "$line" ;;
      *) echo "# | $line" ;;
    esac
  done < "$T_TMP/vm.out"
  sed 's/^\([^#]\)/# \1/' "$T_TMP/vm.err"
  case $VM_RC in
    124) t_fail "the guest finished within its time limit (qemu killed)" ;;
    125|2) t_fail "the guest ran the script and gave its output back (run-vm status $VM_RC)" ;;
  esac
  return 0
}
