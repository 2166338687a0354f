# tests/vm/deb.guest.sh — runs inside the guest (systemd 252 as PID 1, cgroup v2): the Debian
# packages built on the host (passed in as /io/files/*.deb by tests/e2e/vm-deb.sh) installed with
# dpkg -i on this clean root, offline (every Depends is in the image), and used as an operator
# following the README would: edit /etc/cgrouparch/cgrouparch.conf, --check it,
# `systemctl enable --now cgrouparch.target`, `cgarch conf put`. Nothing of the build tree is
# used: no /io/bin, no /io/units.
#
#   install   dpkg -i; the conffile 0640; the units known, disabled and stopped (the config
#             comes first); ExecStart= resolves to /usr/sbin
#   start     each daemon active with READY=1 (Type=notify) and a STATUS= text
#   systemd   the shipped default ([cgroup] mode = auto is systemd here): the conf from
#             ZooKeeper (the host's, through run-vm.sh --zk) becomes cgrouparch-*.slice units
#             with CPUWeight=, a pid-file process is moved into a scope in its slice
#   page      cg-wsd answers GET / with the dashboard, /metrics has cgrouparch_build_info of
#             every daemon, the applied conf version, ZooKeeper and Redis up, usage from Redis
#   upgrade   dpkg -i again over the running daemons: they run afterwards, restarted
#   v2        [cgroup] mode = v2 with the drop-in shipped in /usr/share/doc/cgrouparch: the tree
#             inside cg-syncd.service's delegated cgroup, the process moved there
#   remove    dpkg -r stops the four daemons cleanly (no kill, no failure), keeps the conffiles,
#             leaves the workload running; dpkg -P removes the conffiles and the units' state
. /io/tests/vm/guest-lib.sh
# Only what the packages installed: run.sh puts the build tree's /io/bin first.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset LD_LIBRARY_PATH
ZK=10.0.2.100:2181
CFG=/etc/cgrouparch/cgrouparch.conf
CG=/sys/fs/cgroup
SERVICES="cg-syncd.service cg-taskd.service cg-accountd.service cg-wsd.service"
UNITS="$SERVICES cgrouparch.target"
WSD=127.0.0.1:43409
section() { g_diag "[$(cut -d' ' -f1 /proc/uptime) s] $*"; }
prop() { systemctl show -P "$1" "$2" 2>/dev/null; }
logs() {
  g_diag "--- journal of the daemons (last ${1:-40} lines):"
  journalctl --no-pager -o short-monotonic -u cg-syncd -u cg-taskd -u cg-accountd -u cg-wsd 2>/dev/null |
    tail -n "${1:-40}" | sed 's/^/#   /'
}
# stop_here WHY: the rest depends on what just failed; end now rather than time out check by check.
stop_here() { g_fail "the remaining steps (not run: $1)"; g_done; exit; }
# http PATH: the raw answer of cg-wsd to GET PATH (HTTP/1.0: the server closes after it).
http() {
  timeout 10 bash -c 'exec 3<>/dev/tcp/${1%:*}/${1#*:} || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" "$1" >&3; cat <&3' "$1" "$WSD" | tr -d '\r'
}
# poll SECONDS CMD...: CMD every 0.5 s until it succeeds or the deadline. Slower than wait_for
# on purpose: each systemctl call costs tens of ms of the emulated guest's CPU, which the daemons
# being waited for need too.
poll() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do
  [ $SECONDS -ge $end ] && return 1; sleep 0.5; done; }
# props PROPS UNITS...: "value value ...;" per unit, in one systemctl call.
props() { local p=$1; shift
  systemctl show -p "$p" "$@" | awk -v want="$p" 'BEGIN { n = split(want, k, ",") }
    function out(  i, s) { if (!seen) return; s = ""
      for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") v[k[i]]
      printf "%s;", s; split("", v); seen = 0 }
    NF == 0 { out(); next }
    { i = index($0, "="); v[substr($0, 1, i - 1)] = substr($0, i + 1); seen = 1 }
    END { out() }'; }
# all_up: the four services active (with Type=notify: READY=1 received) and running.
# shellcheck disable=SC2086
all_up() { [ "$(props ActiveState,SubState $SERVICES)" = "active running;active running;active running;active running;" ]; }
# shellcheck disable=SC2086
mainpids() { props MainPID $SERVICES | tr ';' ' '; }
pid_cg() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# in_slice PID SLICE: the process sits in a .scope directly inside SLICE's cgroup.
in_slice() { local c s; c=$(pid_cg "$1") s=$(prop ControlGroup "$2"); [ -n "$s" ] || return 1
  case $c in "$s"/*.scope) return 0 ;; esac; return 1; }

# cursor: the journal's position now. stops_since CURSOR: checks that every daemon stopped
# cleanly after it: systemd's "Deactivated successfully", and no failure, stop timeout or kill.
cursor() { journalctl --show-cursor -n 0 -q 2>/dev/null | sed -n 's/^-- cursor: //p'; }
stops_since() {
  local j u got=
  j=$(journalctl --no-pager -q ${1:+--after-cursor="$1"} -o cat 2>/dev/null)
  for u in $SERVICES; do grep -q "^$u: Deactivated successfully" <<<"$j" && got="$got $u"; done
  g_eq "each daemon stopped cleanly (\"Deactivated successfully\")" "$got" " $SERVICES"
  g_eq "... none failed, timed out or was killed" \
    "$(grep -E '^cg-[a-z]+\.service: (Failed|Main process exited|State .stop-sigterm. timed out|Killing)' <<<"$j")" ""
  g_diag "the units' jobs: $(journalctl --no-pager -q ${1:+--after-cursor="$1"} -o short-monotonic _PID=1 2>/dev/null |
    grep -E '(Stopping|Stopped|Starting|Started|Reloading|Reloaded) ' | sed 's/ target / /; s/^\[ *\([0-9.]*\)\].*systemd\[1\]: \([A-Za-z]*\) \([^ ]*\).*/\1 \2 \3/' | tr '\n' ';')"
}

# ---- install ----
section "install"
if ! vm_net_up >/dev/null 2>&1 || ! wait_for 10 zk_ruok 10.0.2.100 2181; then
  g_fail "the host's ZooKeeper is reachable from the guest"; g_done; exit
fi
g_ok "the host's ZooKeeper is reachable from the guest"
debs=$(ls /io/files/libev4_*.deb /io/files/libwebsockets-evlib-ev_*.deb /io/files/libcgarch0_*.deb /io/files/cgrouparch_*.deb 2>/dev/null | tr '\n' ' ')
g_diag "packages: $(cd /io/files && ls | tr '\n' ' ')"
g_check "a clean root: no cgrouparch package, no /etc/cgrouparch, no cg-* binary" \
  bash -c '! dpkg-query -W cgrouparch >/dev/null 2>&1 && [ ! -e /etc/cgrouparch ] && ! command -v cg-syncd && ! command -v cgarch'
t0=$SECONDS
# shellcheck disable=SC2086
out=$(dpkg -i $debs 2>&1); rc=$?
echo "$out" | sed 's/^/#   dpkg: /'
g_diag "dpkg -i: $((SECONDS - t0)) s"
g_eq "dpkg -i libcgarch0 cgrouparch (offline: every Depends in the image)" "$rc" 0
[ "$rc" = 0 ] || stop_here "not installed"
g_eq "both packages installed" "$(dpkg-query -W -f '${Status};' libcgarch0)$(dpkg-query -W -f '${Status}' cgrouparch)" \
  "install ok installed;install ok installed"
VERSION=$(dpkg-query -W -f '${Version}' cgrouparch); VERSION=${VERSION%-*}
g_eq "the configs are root-only (0640 root:root)" "$(stat -c '%a %U:%G' $CFG /etc/cgrouparch/cg-wsd.conf | tr '\n' ';')" \
  "640 root:root;640 root:root;"
g_check "the config's commented www_dir is the package's (where cg-wsd serves from)" \
  grep -qx '#www_dir = /usr/share/cgrouparch/www' "$CFG"
g_eq "... and conffiles" "$(dpkg-query -W -f '${Conffiles}' cgrouparch | awk 'NF {print $1}' | sort | tr '\n' ' ')" \
  "/etc/cgrouparch/cg-wsd.conf /etc/cgrouparch/cgrouparch.conf "
got=$(props Id,LoadState,UnitFileState,ActiveState $UNITS) want=
for u in $UNITS; do want="$want$u loaded disabled inactive;"; done
g_eq "after a fresh install every unit is known, disabled and stopped (the config comes first)" "$got" "$want"
g_eq "the units come from the package's directory" "$(dirname "$(prop FragmentPath cg-syncd.service)")" /lib/systemd/system
g_check "the packaged cgarch runs ($(cgarch --version 2>&1 | head -1))" \
  bash -c '[ "$(command -v cgarch)" = /usr/bin/cgarch ] && cgarch --version'
g_check "libcgarch0's library is known to the dynamic linker" bash -c 'ldconfig -p | grep -q "libcgarch.so.0 "'

# ---- configure, as the README says: the shipped file, a few keys set ----
section "configure"
cp -p "$CFG" /run/cgrouparch.conf.orig
sed -i -e '/^\[zookeeper\]/,/^\[/ { s|^#hosts = .*|hosts = '"$ZK"'|; s|^#prefix = .*|prefix = /cgrouparch/vm| }' \
       -e '/^\[taskd\]/,/^\[/ s|^#interval = .*|interval = 5|' \
       -e '/^\[pid_files\]$/a a = /run/cgvm/a.pid' "$CFG"
g_eq "the edit sets 4 keys (diff against the shipped file)" \
  "$(diff /run/cgrouparch.conf.orig "$CFG" | grep -c '^>')" 4
g_check "cg-syncd --check and cg-taskd --check accept it" bash -c 'cg-syncd --check && cg-taskd --check'
g_eq "the edit keeps the conffile's mode" "$(stat -c %a "$CFG")" 640
# Redis is in the image but masked (boot speed); a host would run it as a service too.
systemctl unmask -q redis-server.service && systemctl start redis-server.service
g_check "redis-server runs (cg-accountd's and cg-wsd's default 127.0.0.1:6379)" wait_for 10 bash -c '[ "$(redis-cli ping)" = PONG ]'
# The workload: a process outside any service (as a login session's), named by a pid file.
mkdir -p /run/cgvm
systemd-run --quiet --scope --unit=cgvm-a sleep infinity </dev/null >/dev/null 2>&1 &
W=$!
echo "$W" > /run/cgvm/a.pid.new && mv /run/cgvm/a.pid.new /run/cgvm/a.pid

# ---- start ----
section "start: systemctl enable --now cgrouparch.target"
out=$(systemctl enable --now cgrouparch.target 2>&1) || g_diag "systemctl enable: $out"
if poll 60 all_up; then
  g_ok "systemctl enable --now cgrouparch.target: the four services active/running (READY=1)"
else
  g_fail "systemctl enable --now cgrouparch.target: the four services active/running (READY=1)"
  for u in $SERVICES; do g_diag "$u: $(systemctl show -p ActiveState,SubState,Result,StatusText "$u" | tr '\n' ' ')"; done
  logs; stop_here "the daemons do not run"
fi
missing=
for u in $SERVICES; do
  st=$(prop StatusText "$u"); g_diag "$u: StatusText=$st"
  [ -n "$st" ] || missing="$missing $u"
done
g_eq "each daemon tells its state in STATUS= (StatusText)" "$missing" ""
# The units name bare programs (ExecStart=cg-syncd, for PREFIX=/usr/local and /usr alike):
# the running ones are the package's.
got= want=
for u in $SERVICES; do
  got="$got $(readlink "/proc/$(prop MainPID "$u")/exe")"; want="$want /usr/sbin/${u%.service}"
done
g_eq "the daemons running are the packaged /usr/sbin ones" "$got" "$want"
g_eq "enable: the target is enabled, pulled in by multi-user.target" "$(systemctl is-enabled cgrouparch.target)" enabled

# ---- the shipped default: systemd mode here ----
section "the conf from ZooKeeper, systemd mode (the default on a systemd host with cgroup2)"
echo '{"cpu": {"sub_cgroup": {"a": {"conf": {"share": 512}}, "b": {"conf": {"share": 2048}}}}}' > /run/cgvm/conf.json
out=$(cgarch conf put /run/cgvm/conf.json 2>&1); rc=$?
g_eq "cgarch conf put (the installed cgarch, the edited config)" "$rc" 0
[ "$rc" = 0 ] || g_diag "cgarch: $out"
CONFV=$(cgarch conf get --version-only 2>/dev/null)
g_diag "conf version in ZooKeeper: $CONFV"
tree_up() { local s; for s in cgrouparch.slice cgrouparch-a.slice cgrouparch-b.slice; do
  [ "$(systemctl is-active "$s")" = active ] || return 1; done; }
if poll 30 tree_up; then g_ok "cg-syncd makes cgrouparch.slice, cgrouparch-a.slice, cgrouparch-b.slice"
else g_fail "cg-syncd makes cgrouparch.slice, cgrouparch-a.slice, cgrouparch-b.slice"
  systemctl list-units --all --no-pager --plain 'cgrouparch*' | sed 's/^/#   /'; logs; fi
g_eq "CPUWeight= of the slices, property and cpu.weight (share*100/1024)" \
  "$(for s in a b; do echo -n "$(prop CPUWeight cgrouparch-$s.slice)/$(cat "$CG$(prop ControlGroup cgrouparch-$s.slice)/cpu.weight" 2>/dev/null) "; done)" \
  "50/50 200/200 "
if poll 30 in_slice "$W" cgrouparch-a.slice; then
  g_ok "cg-taskd moves the pid-file process into a scope in cgrouparch-a.slice ($(pid_cg "$W"))"
else g_fail "cg-taskd moves the pid-file process into a scope in cgrouparch-a.slice (in $(pid_cg "$W"))"; logs; fi

# ---- the page and one scrape ----
section "cg-wsd: the page and /metrics"
page_ok() { page=$(http /); head -1 <<<"$page" | grep -q "^HTTP/1.[01] 200" && grep -qi "<html" <<<"$page"; }
if poll 30 page_ok; then g_ok "GET / answers 200 with the dashboard page"
else g_fail "GET / answers 200 with the dashboard page"; g_diag "answer: $(head -c 300 <<<"$page" | tr '\n' '|')"; logs 10; fi
g_check "... the packaged /usr/share/cgrouparch/www/index.html" \
  bash -c 'grep -qF "$(grep -m1 -i "<title" /usr/share/cgrouparch/www/index.html)" <<<"$1"' _ "$page"
g_check "GET /app.js answers 200" bash -c 'head -1 <<<"$1" | grep -q "^HTTP/1.[01] 200"' _ "$(http /app.js)"
# The daemons write their .prom files at start and every tick; accountd's samples reach Redis
# each second: wait for one scrape that has it all.
scrape_full() {
  M=$(http /metrics)
  local d
  for d in cg-syncd cg-taskd cg-accountd cg-wsd; do
    grep -q "^cgrouparch_build_info{daemon=\"$d\"" <<<"$M" || return 1
  done
  grep -q "^cgrouparch_syncd_conf_version $CONFV\$" <<<"$M" &&
    grep -q '^cgrouparch_cpu_usage_seconds_total{.*cgroup="a"}' <<<"$M"
}
poll 30 scrape_full
g_diag "/metrics: $(grep -c '^cgrouparch_' <<<"$M") samples; $(grep -E '^cgrouparch_(build_info|syncd_conf_version|syncd_zookeeper_connected|accountd_redis_up|taskd_processes_placed|cpu_usage_seconds_total\{.*cgroup="a")' <<<"$M" | tr '\n' ';')"
g_check "/metrics answers 200 in Prometheus text" \
  bash -c 'head -1 <<<"$1" | grep -q "^HTTP/1.[01] 200" && grep -q "^# TYPE cgrouparch_build_info gauge" <<<"$1"' _ "$M"
g_eq "cgrouparch_build_info of every daemon, with the package's version" \
  "$(sed -n 's/^cgrouparch_build_info{daemon="\([^"]*\)",version="\([^"]*\)"} 1$/\1=\2/p' <<<"$M" | sort | tr '\n' ' ')" \
  "cg-accountd=$VERSION cg-syncd=$VERSION cg-taskd=$VERSION cg-wsd=$VERSION "
g_check "cg-syncd: the applied conf version is ZooKeeper's ($CONFV), the session connected" \
  bash -c 'grep -q "^cgrouparch_syncd_conf_version $2\$" <<<"$1" && grep -q "^cgrouparch_syncd_zookeeper_connected 1\$" <<<"$1"' _ "$M" "$CONFV"
g_check "cg-accountd: Redis up; cg-wsd: usage of cgroup a from its samples" \
  bash -c 'grep -q "^cgrouparch_accountd_redis_up 1\$" <<<"$1" && grep -q "^cgrouparch_cpu_usage_seconds_total{.*cgroup=\"a\"}" <<<"$1"' _ "$M"
g_check "cg-taskd: a process placed" \
  bash -c '[ "$(awk "/^cgrouparch_taskd_processes_placed/ {s += \$NF} END {print s + 0}" <<<"$1")" -ge 1 ]' _ "$M"

# ---- an upgrade over the running daemons ----
section "upgrade: dpkg -i again over the running daemons"
p0=$(mainpids) t0=$SECONDS c=$(cursor)
out=$(dpkg -i /io/files/cgrouparch_*.deb 2>&1); rc=$?
g_diag "dpkg -i: $((SECONDS - t0)) s"
g_eq "dpkg -i cgrouparch over the installed version" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/#   dpkg: /'
if poll 60 all_up; then
  p1=$(mainpids)
  g_check "the four daemons run after the upgrade, restarted on the new files (main pids $p0-> $p1)" \
    bash -c 'for a in $1; do case " $2" in *" $a "*) exit 1 ;; esac; done' _ "$p0" "$p1"
else
  g_fail "the four daemons run after the upgrade ($(for u in $SERVICES; do echo -n "$u $(prop ActiveState $u) "; done))"
  logs 20
fi
stops_since "$c"
g_check "the edited config survives the upgrade" grep -q "^hosts = $ZK\$" "$CFG"
g_check "the workload stays in cgrouparch-a.slice" in_slice "$W" cgrouparch-a.slice

# ---- switching the backend: mode = v2 with the shipped drop-in ----
section "mode = v2 with /usr/share/doc/cgrouparch/cg-syncd-v2.conf"
systemctl stop cgrouparch.target
mkdir -p /etc/systemd/system/cg-syncd.service.d
if cp /usr/share/doc/cgrouparch/cg-syncd-v2.conf /etc/systemd/system/cg-syncd.service.d/v2-delegate.conf; then
  g_ok "the package ships the v2 drop-in (cg-syncd-v2.conf)"
else g_fail "the package ships the v2 drop-in (cg-syncd-v2.conf)"; fi
sed -i -e '/^\[cgroup\]/,/^\[/ { s|^root = .*|root = system.slice/cg-syncd.service/managed|; s|^#mode = .*|mode = v2| }' "$CFG"
systemctl daemon-reload
systemctl start cgrouparch.target
M2=$CG/system.slice/cg-syncd.service/managed
v2_tree() { [ "$(cat $M2/a/cpu.weight 2>/dev/null)" = 50 ] && [ "$(cat $M2/b/cpu.weight 2>/dev/null)" = 200 ]; }
if poll 60 all_up && poll 30 v2_tree; then
  g_ok "cg-syncd makes the tree in its delegated cgroup (managed/a, managed/b with cpu.weight 50, 200)"
else
  g_fail "cg-syncd makes the tree in its delegated cgroup (managed/a, managed/b with cpu.weight 50, 200)"
  find "$CG/system.slice/cg-syncd.service" -maxdepth 2 | sed 's/^/#   /'; logs 30
fi
in_v2() { [ "$(pid_cg "$W")" = /system.slice/cg-syncd.service/managed/a ]; }
if poll 30 in_v2; then g_ok "cg-taskd moves the pid-file process into managed/a"
else g_fail "cg-taskd moves the pid-file process into managed/a (in $(pid_cg "$W"))"; logs 30; fi

# ---- dpkg -r, dpkg -P ----
section "dpkg -r"
c=$(cursor) t0=$SECONDS
out=$(dpkg -r cgrouparch 2>&1); rc=$?
g_diag "dpkg -r: $((SECONDS - t0)) s"
g_eq "dpkg -r cgrouparch" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/#   dpkg: /'
left=
for d in cg-syncd cg-taskd cg-accountd cg-wsd; do pgrep -x "$d" >/dev/null && left="$left $d"; done
g_eq "no daemon is left running from deleted binaries" "$left" ""
stops_since "$c"
g_eq "dpkg -r keeps the config (deinstall ok config-files)" "$(dpkg-query -W -f '${Status}' cgrouparch)" "deinstall ok config-files"
g_check "... the edited config as it was" grep -q "^hosts = $ZK\$" "$CFG"
g_check "the binaries and unit files are gone, and systemd forgot the units" bash -c \
  '[ ! -e /usr/sbin/cg-syncd ] && [ ! -e /usr/bin/cgarch ] && [ ! -e /lib/systemd/system/cg-syncd.service ] &&
   [ "$(systemctl show -P LoadState cg-taskd.service)" = not-found ]'
g_check "the workload is not killed by the removal" kill -0 "$W"

section "dpkg -P"
rm -rf /etc/systemd/system/cg-syncd.service.d # the operator's own drop-in
t0=$SECONDS
out=$(dpkg -P cgrouparch libcgarch0 2>&1); rc=$?
g_diag "dpkg -P: $((SECONDS - t0)) s"
g_eq "dpkg -P cgrouparch libcgarch0" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/#   dpkg: /'
g_check "the conffiles are gone, and /etc/cgrouparch with them" test ! -e /etc/cgrouparch
g_eq "dpkg forgot both packages" "$(dpkg-query -W -f '${Status};' cgrouparch libcgarch0 2>/dev/null)" ""
g_eq "no link to a cgrouparch unit left in /etc/systemd/system (the target's enable)" \
  "$(find /etc/systemd/system -name 'cg-*' -o -name 'cgrouparch*' | tr '\n' ' ')" ""
g_eq "no deb-systemd-helper state left for the units" \
  "$(ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep -E '^(cg-|cgrouparch)' | tr '\n' ' ')" ""
kill "$W" 2>/dev/null
g_done
