#!/usr/bin/env bash
# tests/run: no asan pass
# One install, one truth (issue 15): `make` (PREFIX=/usr/local) followed by `make install
# PREFIX=/usr` rebuilds what has the paths compiled in, so the installed cg-wsd serves its page
# from /usr/share/cgrouparch/www and cgrouparch.pc says /usr. Proven by running the installed
# cg-wsd, with no www_dir in its config, in a private mount namespace where the DESTDIR's
# /usr/share is mounted at /usr/share. Builds in a scratch build dir (not the suite's build/).
. "$(dirname "$0")/../lib.sh"
cd "$TOP"
command -v unshare >/dev/null || { t_ok "install-prefix # SKIP unshare missing"; t_done; exit 0; }
B=$T_TMP/build D=$T_TMP/dest
make -s --no-print-directory -j2 O="$B" all >"$T_TMP/make1.log" 2>&1
t_check "make (default PREFIX /usr/local) builds" [ $? -eq 0 ]
t_check "... with the /usr/local page dir compiled in" grep -aq /usr/local/share/cgrouparch/www "$B/cg-wsd"
make --no-print-directory -j2 O="$B" install PREFIX=/usr DESTDIR="$D" >"$T_TMP/make2.log" 2>&1
t_check "make install PREFIX=/usr succeeds" [ $? -eq 0 ]
t_check "... and says it rebuilds for the new paths" grep -q 'PATHS .*PREFIX=/usr .*rebuilding' "$T_TMP/make2.log"
t_check "the installed cg-wsd looks for /usr/share/cgrouparch/www" grep -aq '/usr/share/cgrouparch/www' "$D/usr/sbin/cg-wsd"
t_check "... and not for /usr/local" bash -c "! grep -aq /usr/local/share/cgrouparch/www '$D/usr/sbin/cg-wsd'"
t_check "the installed cgrouparch.pc says prefix=/usr" grep -qx 'prefix=/usr' "$D/usr/lib/pkgconfig/cgrouparch.pc"
t_check "the installed config's commented www_dir names /usr/share" \
  grep -qx '#www_dir = /usr/share/cgrouparch/www' "$D/etc/cgrouparch/cgrouparch.conf"
t_check "... and it is 0640" [ "$(stat -c %a "$D/etc/cgrouparch/cgrouparch.conf")" = 640 ]

port=$(free_port)
printf '[redis]\nport = 1\n[wsd]\nport = %s\n' "$port" > "$T_TMP/wsd.conf"
unshare -m --propagation private bash -c '
  mount --bind "$1/usr/share" /usr/share || exit 3
  exec "$1/usr/sbin/cg-wsd" -c "$2"' _ "$D" "$T_TMP/wsd.conf" >"$T_TMP/wsd.log" 2>&1 &
WPID=$!; track $WPID
page() { curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null | grep -qi '<html'; }
t_check "the installed cg-wsd (no www_dir configured) serves the page" wait_for 10 page
sed 's/^/# /' "$T_TMP/wsd.log" | tail -5
t_done
