#!/usr/bin/env bash
# tests/run: no asan pass
# vm-deb.sh — the Debian packages on a clean systemd host (issue 15): builds the .debs
# (scripts/make-deb into build/deb, as `make deb`; kept when the sources did not change, so after
# tests/integration/deb.sh this costs nothing), boots the Debian 12 guest (tests/vm: systemd 252
# as PID 1, pure cgroup v2) with them passed in (run-vm.sh --file) and this test's ZooKeeper
# forwarded, and runs tests/vm/deb.guest.sh there: dpkg -i offline; the units known, disabled,
# stopped; the shipped config edited as the README says; `systemctl enable --now
# cgrouparch.target`, each daemon READY=1; `cgarch conf put`; the slices (the default, systemd
# mode) and a placed process; the dashboard page and one /metrics scrape with every daemon's
# health; dpkg -i again over the running daemons (an upgrade restarts them); mode = v2 with the
# shipped drop-in; dpkg -r stops them cleanly; dpkg -P removes the conffiles. See the guest
# script. Skips when qemu or the Debian build tools are missing.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/host-lib.sh"

for t in dpkg-buildpackage dh lintian; do
  command -v $t >/dev/null || { t_skip "vm deb" "$t missing (scripts/deps installs it)"; t_done; exit 0; }
done
vm_prologue
DEB=${CGARCH_DEB_DIR:-$BUILD/deb}
start=$(date +%s)
"$TOP/scripts/make-deb" "$DEB" >"$T_TMP/make-deb.log" 2>&1; rc=$?
sed 's/^/# /' "$T_TMP/make-deb.log" | tail -5
t_diag "make-deb: $(( $(date +%s) - start )) s"
t_eq "scripts/make-deb builds the packages (lintian clean)" "$rc" 0
[ "$rc" = 0 ] || { t_done; exit 1; }
files=()
for p in libcgarch0 cgrouparch; do
  f=$(ls "$DEB"/${p}_*.deb 2>/dev/null | head -1)
  [ -n "$f" ] || { t_fail "package $p built"; t_done; exit 1; }
  files+=(--file "$f")
done
# Runtime Depends the cached image predates (cg-wsd's libev loop): passed in beside the
# packages from the host's apt cache, or downloaded once into build/deb-deps.
for p in libev4 libwebsockets-evlib-ev; do
  f=$(ls /var/cache/apt/archives/${p}_*.deb "$TOP/build/deb-deps/${p}_"*.deb 2>/dev/null | head -1)
  if [ -z "$f" ]; then
    mkdir -p "$TOP/build/deb-deps"
    (cd "$TOP/build/deb-deps" && apt-get download "$p" >/dev/null 2>&1)
    f=$(ls "$TOP/build/deb-deps/${p}_"*.deb 2>/dev/null | head -1)
  fi
  [ -n "$f" ] || { t_fail "runtime dependency $p available as a .deb"; t_done; exit 1; }
  files+=(--file "$f")
done
start_zk || { t_fail "ZooKeeper starts"; t_done; exit 1; }
vm_run --zk "$ZK_PORT" --timeout "${CGARCH_VM_TIMEOUT:-540}" "${files[@]}" deb.guest.sh
t_eq "the guest script exited 0" "$VM_RC" 0
t_done
