# tests/e2e/lib-systemd.sh — a private `systemd --user` manager for the end-to-end test, started
# the safe way (MACHINE.md "systemd"): the test shell first moves itself into a new cgroup of its
# own in the name=systemd and unified hierarchies, and the manager runs in a child cgroup of
# that, so it never adopts a process of the machine. Everything is undone at exit: the manager
# is told to exit, our cgroups are removed (with retries: a v2 cgroup stays busy for a moment
# after its last process exits), the test shell goes back to the cgroups it came from, and the
# entries the manager created in /run/systemd are removed only if they did not exist before.
# Source after lib.sh.

SD_BIN=${SD_BIN:-/lib/systemd/systemd}
SD_HIERS="systemd unified"

# sd_usable: prints why a manager cannot run here (and returns 1), or returns 0.
sd_usable() {
  [ "$(id -u)" = 0 ] || { echo "needs root"; return 1; }
  [ -x "$SD_BIN" ] || { echo "$SD_BIN missing"; return 1; }
  command -v systemctl >/dev/null || { echo "systemctl missing"; return 1; }
  local h
  for h in $SD_HIERS; do
    [ -w "$CG_DIR/$h/cgroup.procs" ] || { echo "$CG_DIR/$h not writable"; return 1; }
  done
}

# sd_setup: private dirs outside /tmp (the units use PrivateTmp=, so the daemons could not see
# /tmp), our own cgroup, the /run/systemd/system marker. Sets SD_W XDG_* SD_UNITS SD_CG.
sd_setup() {
  local h
  # One manager test at a time on this machine: they share /run/systemd/system.
  exec 8>/run/lock/cgrouparch-e2e-systemd.lock
  flock -w 300 8 || return 1

  SD_W=/run/cgarch-e2e-$$
  mkdir -p "$SD_W" || return 1
  at_exit "rm -rf '$SD_W'"
  export XDG_RUNTIME_DIR=$SD_W/xdg HOME=$SD_W/home
  export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share
  export XDG_CACHE_HOME=$HOME/.cache XDG_STATE_HOME=$HOME/.local/state
  mkdir -p -m 0755 "$XDG_RUNTIME_DIR"
  mkdir -p "$XDG_CONFIG_HOME/systemd/user" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
  SD_UNITS=$XDG_CONFIG_HOME/systemd/user
  # The units run with PrivateTmp=: a checkout under /tmp (as CI's may be) would be invisible to
  # them, so they run copies of the binaries and the page from here.
  SD_PROGS=$SD_W/bin SD_WWW=$SD_W/www
  mkdir -p "$SD_PROGS" "$SD_WWW"
  cp "$BUILD"/cg-syncd "$BUILD"/cg-taskd "$BUILD"/cg-accountd "$BUILD"/cg-wsd "$SD_PROGS"/ || return 1
  cp -r "$TOP"/www/. "$SD_WWW"/ || return 1
  unset DBUS_SESSION_BUS_ADDRESS

  # What /run/systemd held before, so we remove only what the manager adds.
  SD_RUN_BEFORE=$(ls -A /run/systemd 2>/dev/null | tr '\n' ' ')
  SD_MADE_RUN_SYSTEMD=0
  [ -d /run/systemd ] || SD_MADE_RUN_SYSTEMD=1
  at_exit sd_cleanup

  # The test shell into a new cgroup of its own, in both tracking hierarchies, first.
  cg_new_root sd
  SD_CG=$CGROOT
  SD_ORIG_CG=()
  for h in $SD_HIERS; do
    SD_ORIG_CG+=("$(sd_own_cgroup "$h")")
    mkdir "$CG_DIR/$h/$SD_CG" || return 1
    echo $$ > "$CG_DIR/$h/$SD_CG/cgroup.procs" || return 1
  done
  mkdir -p /run/systemd/system
}

# sd_own_cgroup HIER: the test shell's cgroup path in that hierarchy ("/" for the root).
sd_own_cgroup() {
  case $1 in
    unified) sed -n 's/^0::\(.*\)/\1/p' /proc/$$/cgroup ;;
    *) sed -n "s/^[0-9]*:name=$1:\(.*\)/\1/p" /proc/$$/cgroup ;;
  esac
}

# sd_start: the manager, in a child cgroup "mgr" of ours; waits until it is running.
sd_start() {
  (
    for h in $SD_HIERS; do
      mkdir -p "$CG_DIR/$h/$SD_CG/mgr" && echo "$BASHPID" > "$CG_DIR/$h/$SD_CG/mgr/cgroup.procs" || exit 1
    done
    SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=${SD_LOG_LEVEL:-info} exec "$SD_BIN" --user
  ) > "$SD_W/manager.log" 2>&1 &
  SD_PID=$!
  track $SD_PID
  wait_for 20 sd_running
}
sd_running() {
  local s
  s=$(systemctl --user is-system-running 2>/dev/null)
  [ "$s" = running ] || [ "$s" = degraded ]
}
sdctl() { timeout 60 systemctl --user "$@"; }

# The cgroups of a unit, in the manager's subtree.
sd_unit_cg() { echo "$CG_DIR/unified/$SD_CG/mgr/app.slice/$1"; }

sd_cleanup() {
  local i h p d
  if [ -n "${SD_PID:-}" ] && kill -0 "$SD_PID" 2>/dev/null; then
    timeout 20 systemctl --user exit >/dev/null 2>&1
    for i in $(seq 1 200); do
      [ "$(ps -o stat= -p "$SD_PID" 2>/dev/null | cut -c1)" = Z ] && break
      kill -0 "$SD_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$SD_PID" 2>/dev/null
    wait "$SD_PID" 2>/dev/null
  fi
  # Anything still in our manager's subtree was started by this test: stop it.
  for h in $SD_HIERS; do
    d=$CG_DIR/$h/${SD_CG:-none}/mgr
    [ -d "$d" ] || continue
    for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  # The shell back where it came from, then our cgroups, deepest first, with retries.
  i=0
  for h in $SD_HIERS; do
    if [ -n "${SD_ORIG_CG[$i]:-}" ] && [ -d "$CG_DIR/$h/${SD_CG:-none}" ]; then
      echo $$ > "$CG_DIR/$h${SD_ORIG_CG[$i]%/}/cgroup.procs" 2>/dev/null
    fi
    i=$((i + 1))
  done
  for h in $SD_HIERS; do
    d=$CG_DIR/$h/${SD_CG:-none}
    [ -d "$d" ] || continue
    wait_for 5 sd_rm_tree "$d"
  done
  # Entries the manager added to /run/systemd (system marker, unit-root, dynamic-uid...).
  if [ -n "${SD_RUN_BEFORE+x}" ]; then
    for p in /run/systemd/*; do
      case " $SD_RUN_BEFORE " in *" ${p##*/} "*) continue ;; esac
      rmdir "$p" 2>/dev/null || rm -f "$p" 2>/dev/null
    done
    [ "$SD_MADE_RUN_SYSTEMD" = 1 ] && rmdir /run/systemd 2>/dev/null
  fi
  return 0
}
sd_rm_tree() {
  case $1 in */cgrouparch-test-*) ;; *) return 1 ;; esac
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
  [ ! -d "$1" ]
}

# sd_install_units CFG: our units, adapted to a user manager, into $SD_UNITS.
#  - ExecStart= points at the copies in $SD_PROGS with -c CFG;
#  - cg-wsd: no DynamicUser= and no LoadCredential= (a user manager's notify socket lives in
#    its root-only XDG_RUNTIME_DIR, out of a dynamic user's reach, and here it hands the service
#    an empty credentials directory); every other hardening setting is kept;
#  - the others get a dummy SetCredential=: systemd 252's user manager fails the mount
#    namespace (226/NAMESPACE) of ProtectSystem=/PrivateTmp= units that have no credential,
#    and with one it sets them up fine — so the real sandboxing is exercised;
#  - settings whose mounts this machine's kernel/container refuses in a user manager (tested one
#    by one: ProtectHome=yes, ProtectKernelLogs=, ProtectControlGroups=, ProtectKernelTunables=,
#    ProtectProc=) are relaxed (ProtectHome=read-only) or dropped; units-verify.sh checks them;
#  - short watchdog and restart delay so the test is quick; WantedBy=default.target.
sd_install_units() {
  local cfg=$1 f
  for f in "$TOP"/units/*.service "$TOP"/units/*.target; do
    sed -e "s|^ExecStart=\(cg-[a-z]*\).*|ExecStart=$SD_PROGS/\1 -c $cfg|" \
        -e '/^LoadCredential=/d' \
        -e '/^DynamicUser=/d' -e 's/^ProtectHome=yes/ProtectHome=read-only/' \
        -e '/^ProtectKernelLogs=/d' -e '/^ProtectControlGroups=/d' \
        -e '/^ProtectKernelTunables=/d' -e '/^ProtectProc=/d' \
        -e "s|^WatchdogSec=.*|WatchdogSec=${SD_WATCHDOG:-3s}|" \
        -e 's|^RestartSec=.*|RestartSec=300ms|' \
        -e 's|^TimeoutStopSec=.*|TimeoutStopSec=5s|' \
        -e 's|^WantedBy=multi-user.target|WantedBy=default.target|' \
        "$f" > "$SD_UNITS/${f##*/}"
    case $f in *.service)
      # A burst of restarts in the test (kill -9, watchdog) must not hit the start limit.
      printf '\n[Unit]\nStartLimitIntervalSec=0\n' >> "$SD_UNITS/${f##*/}"
      printf '\n[Service]\nSetCredential=cgrouparch-e2e:1\n' >> "$SD_UNITS/${f##*/}" ;;
    esac
  done
  sdctl daemon-reload
}

sd_main_pid() { systemctl --user show -p MainPID --value "$1" 2>/dev/null; }
sd_active() { [ "$(systemctl --user is-active "$1" 2>/dev/null)" = active ]; }
sd_inactive() { local s; s=$(systemctl --user is-active "$1" 2>/dev/null); [ "$s" = inactive ] || [ "$s" = failed ]; }
# sd_restarted UNIT OLDPID: active again under another main pid.
sd_restarted() { local p; p=$(sd_main_pid "$1"); sd_active "$1" && [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$2" ]; }
