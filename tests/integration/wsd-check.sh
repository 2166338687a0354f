#!/usr/bin/env bash
# `cg-wsd --check` refuses a listen address it could not or should not use, with a message that
# says what to write (issue 15: `[wsd] bind = 0.0.0.0:80` passed --check): an address with a port
# in it, a privileged port (the unit runs cg-wsd unprivileged), a non-loopback bind without a
# token or allowed_origins. The same checks stop the daemon at start.
. "$(dirname "$0")/../lib.sh"

# check NAME WANT-RC WANT-TEXT CONFIG-LINES: runs --check on a [wsd] file, compares the exit code
# and looks for WANT-TEXT in what it printed.
check() {
  local name=$1 rc=$2 text=$3 out got
  printf '[wsd]\n%b\n' "$4" > "$T_TMP/w.conf"
  out=$(cg-wsd --check -c "$T_TMP/w.conf" 2>&1); got=$?
  if [ "$got" = "$rc" ] && grep -qF -- "$text" <<<"$out"; then t_ok "$name"; else
    t_fail "$name"; t_diag "exit $got: $out"; fi
}
check "bind = 0.0.0.0:80: refused, the port belongs in [wsd] port" 1 \
  "[wsd] bind = 0.0.0.0:80 is not an address: give the address alone (e.g. 0.0.0.0 or 127.0.0.1) and the port in [wsd] port" \
  'bind = 0.0.0.0:80\ntoken = s3cret'
check "... also without a token (the address problem comes first)" 1 "bind = 0.0.0.0:80 is not an address" \
  'bind = 0.0.0.0:80'
check "bind = 127.0.0.1:8080: refused" 1 "is not an address" 'bind = 127.0.0.1:8080'
check "port = 80: refused as privileged" 1 \
  "[wsd] port = 80 is a privileged port (below 1024): cg-wsd runs unprivileged" \
  'bind = 0.0.0.0\nport = 80\ntoken = s3cret'
check "port = 1023 on loopback: refused too" 1 "port = 1023 is a privileged port" 'port = 1023'
check "bind = 0.0.0.0 without token or allowed_origins: refused" 1 \
  "[wsd] bind = 0.0.0.0 is not loopback: set [wsd] token or allowed_origins" 'bind = 0.0.0.0'
check "bind = :: (IPv6 any) without token: refused as not loopback" 1 "is not loopback" 'bind = ::'
check "bind = ::1 (an IPv6 address with colons) is fine" 0 "ok (listen ::1:43409" 'bind = ::1'
check "bind = 0.0.0.0, port 8080, token: fine" 0 "ok (listen 0.0.0.0:8080" \
  'bind = 0.0.0.0\nport = 8080\ntoken = s3cret'
check "port = 1024 on loopback: fine" 0 "ok (listen 127.0.0.1:1024" 'port = 1024'
# At start, the same refusal before anything listens.
printf '[wsd]\nbind = 0.0.0.0:80\ntoken = s3cret\n' > "$T_TMP/w.conf"
out=$(timeout 10 cg-wsd -c "$T_TMP/w.conf" 2>&1); rc=$?
t_eq "the daemon refuses it at start too (exit 1)" "$rc" 1
case "$out" in *"is not an address"*) t_ok "... saying why" ;; *) t_fail "... saying why"; t_diag "$out" ;; esac
t_done
