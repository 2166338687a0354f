# tests/vm/host-lib.sh — host side of the VM tests (tests/e2e/vm-*.sh); source after tests/lib.sh.
#
#   vm_usable        fails with VM_WHY set when the VM tests cannot run here (a missing tool),
#                    or makes sure the image exists, building it when missing (ensure-image.sh:
#                    10-15 min, once; a failed build is a failure, not a skip: VM_BUILD_FAILED=1)
#   vm_prologue      vm_usable for a test script: on a missing tool a skip, on a failed build a
#                    failure, and exits the script in both cases
#   vm_run ARGS...   tests/vm/run-vm.sh ARGS...; the guest's unnumbered TAP lines become this
#                    test's numbered ones; fails one line when the guest hung or gave no result
VM_DIR=$TOP/tests/vm
VM_BUILD_FAILED=0
VM_WHY=

vm_usable() {
  local out rc
  out=$("$VM_DIR/ensure-image.sh" 2>"$T_TMP/ensure-image.err"); rc=$?
  case $rc in
    0) return 0 ;;
    3) VM_WHY=$out; return 1 ;;
    *) sed 's/^/# /' "$T_TMP/ensure-image.err"; VM_BUILD_FAILED=1 VM_WHY="the image build failed"; return 1 ;;
  esac
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
