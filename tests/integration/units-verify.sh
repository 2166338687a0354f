#!/usr/bin/env bash
# tests/run: no asan pass
# units-verify.sh — the systemd units in units/: `systemd-analyze verify` is clean (no output at
# all, with ExecStart= pointed at build/ so the binaries resolve), the man pages they cite exist,
# docs/design.md's contract ("systemd units") holds for each (Type=notify, watchdog, restart, target membership,
# runtime directory, hardening), and the offline security score stays low. No manager is
# started; nothing on the machine changes.
. "$(dirname "$0")/../lib.sh"

UNITS=$TOP/units
SERVICES="cg-syncd cg-taskd cg-accountd cg-wsd"

if ! command -v systemd-analyze >/dev/null; then
  t_skip "systemd-analyze verify" "systemd-analyze not installed"; t_done; exit
fi

# A copy with ExecStart= rewritten to the build tree, and a MANPATH holding our pages.
V=$T_TMP/units; mkdir -p "$V" "$T_TMP/man/man1" "$T_TMP/man/man5" "$T_TMP/man/man8"
cp "$UNITS"/*.service "$UNITS"/*.target "$V"/
sed -i "s|^ExecStart=\(cg-[a-z]*\)|ExecStart=$BUILD/\1|" "$V"/*.service
for p in "$TOP"/man/*.[158]; do [ -e "$p" ] && ln -s "$p" "$T_TMP/man/man${p##*.}/"; done

out=$(cd "$V" && MANPATH=$T_TMP/man systemd-analyze verify --man=yes ./*.service ./cgrouparch.target 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then t_ok "systemd-analyze verify is clean (units and man: references)"
else t_fail "systemd-analyze verify is clean"; printf '%s\n' "$out" | sed 's/^/#   /'; fi

# The check above can fail: a typo must be reported.
cp "$V/cg-wsd.service" "$T_TMP/cg-wsd.service"
echo "WatchdogSecs=5" >> "$T_TMP/cg-wsd.service"
out=$(cd "$T_TMP" && systemd-analyze verify --man=no ./cg-wsd.service 2>&1)
case $out in *WatchdogSecs*) t_ok "verify reports an unknown key (the check can fail)" ;;
  *) t_fail "verify reports an unknown key"; t_diag "$out" ;; esac

key() { grep -E "^$2=" "$UNITS/$1" | tail -1 | cut -d= -f2-; }
has() { grep -qxE "$2" "$UNITS/$1"; }

for s in $SERVICES; do
  u=$s.service; bad=()
  [ "$(key $u Type)" = notify ] || bad+=("Type=notify")
  [ -n "$(key $u WatchdogSec)" ] || bad+=("WatchdogSec=")
  [ "$(key $u Restart)" = on-failure ] || bad+=("Restart=on-failure")
  [ "$(key $u PartOf)" = cgrouparch.target ] || bad+=("PartOf=cgrouparch.target")
  [ "$(key $u WantedBy)" = cgrouparch.target ] || bad+=("WantedBy=cgrouparch.target")
  [ "$(key $u ProtectSystem)" = strict ] || bad+=("ProtectSystem=strict")
  [ "$(key $u NoNewPrivileges)" = yes ] || bad+=("NoNewPrivileges=yes")
  [ "$(key $u PrivateTmp)" = yes ] || bad+=("PrivateTmp=yes")
  has $u 'CapabilityBoundingSet=.*' || bad+=("CapabilityBoundingSet=")
  grep -q "Requires=" "$UNITS/$u" && bad+=("no Requires= (none fails when another is down)")
  if [ $s = cg-wsd ]; then
    [ "$(key $u DynamicUser)" = yes ] || bad+=("DynamicUser=yes")
    grep -q '^ReadWritePaths=' "$UNITS/$u" && bad+=("no ReadWritePaths=")
    [ "$(key $u ProtectControlGroups)" = yes ] || bad+=("ProtectControlGroups=yes")
    [ "$(key $u CapabilityBoundingSet)" = "" ] || bad+=("no capabilities")
  else
    [ "$(key $u RuntimeDirectory)" = cgrouparch ] || bad+=("RuntimeDirectory=cgrouparch")
    [ "$(key $u RuntimeDirectoryPreserve)" = yes ] || bad+=("RuntimeDirectoryPreserve=yes")
    rw=$(key $u ReadWritePaths)
    case $s in
      cg-accountd) [ "$rw" = "-/sys/fs/cgroup/blkio" ] || bad+=("ReadWritePaths= only the blkio hierarchy") ;;
      # systemd mode: cg-taskd writes a unit's Slice= drop-in, nothing else under /run/systemd
      cg-taskd) [ "$rw" = "/sys/fs/cgroup -/run/systemd/system" ] || bad+=("ReadWritePaths=/sys/fs/cgroup -/run/systemd/system only") ;;
      *) [ "$rw" = /sys/fs/cgroup ] || bad+=("ReadWritePaths=/sys/fs/cgroup only") ;;
    esac
  fi
  case $s in cg-taskd|cg-accountd) grep -qE '^After=.*cg-syncd\.service' "$UNITS/$u" || bad+=("After=cg-syncd.service") ;; esac
  if [ ${#bad[@]} -eq 0 ]; then t_ok "$u follows the contract"
  else t_fail "$u follows the contract"; t_diag "missing: ${bad[*]}"; fi
done

# The target pulls in all four and is enabled from multi-user.target.
w=$(key cgrouparch.target Wants)
ok=1; for s in $SERVICES; do case " $w " in *" $s.service "*) ;; *) ok=0 ;; esac; done
[ "$(key cgrouparch.target WantedBy)" = multi-user.target ] || ok=0
t_check "cgrouparch.target wants the four services" [ $ok = 1 ]

# Exposure score (systemd-analyze security --offline): lower is safer; 0..10.
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
  for s in $SERVICES; do
    score=$(cd "$V" && systemd-analyze security --offline=yes ./$s.service 2>/dev/null \
            | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    limit=3.0; [ $s = cg-wsd ] && limit=2.0
    if [ -n "$score" ] && awk -v a="$score" -v b="$limit" 'BEGIN{exit !(a <= b)}'; then
      t_ok "$s exposure $score <= $limit"
    else t_fail "$s exposure ${score:-?} <= $limit"; fi
  done
else
  t_skip "exposure scores" "systemd-analyze security --offline not available"
fi
t_done
