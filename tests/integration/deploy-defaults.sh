#!/usr/bin/env bash
# Safe deployment defaults (issue 12): no config names the hierarchy roots by accident. A config
# without [cgroup] root manages "cgrouparch"; an empty root is refused naming file, line and key;
# `root = /` works but --check and `cgarch plan|apply` warn. The installed configs are 0640, and
# cg-wsd gets its own file (no ZooKeeper identity) through its unit's credential.
. "$(dirname "$0")/../lib.sh"
cd "$TOP"
printf '%s\n' "$SEED_CONF" > "$T_TMP/seed.json"
printf '[zookeeper]\nprefix = /x\n' > "$T_TMP/noroot.conf"

out=$(cgarch -c "$T_TMP/noroot.conf" plan "$T_TMP/seed.json" 2>&1); rc=$?
t_eq "plan with no [cgroup] root: succeeds" "$rc" 0
has() { grep -q -- "$2" <<<"$1"; }
t_check "... and removes nothing" bash -c '! grep -qiE "^ *(remove|rmdir|delete)" <<<"$1"' _ "$out"
t_check "... without a warning" bash -c '! grep -qi warning <<<"$1"' _ "$out"
out=$(cg-taskd --check -c "$T_TMP/noroot.conf" 2>&1)
t_check "the managed root is cgrouparch ($out)" has "$out" "cgroup root 'cgrouparch'"

printf '[cgroup]\nroot =\n' > "$T_TMP/empty.conf"
out=$(cgarch -c "$T_TMP/empty.conf" plan "$T_TMP/seed.json" 2>&1); rc=$?
t_check "an empty root is refused by cgarch ($rc), naming file, line and key" \
  has "$out" "empty.conf:2: \[cgroup\] root: '' is empty"
t_check "... exit status not 0" [ "$rc" != 0 ]
out=$(cg-syncd --check -c "$T_TMP/empty.conf" 2>&1); rc=$?
t_check "... and by cg-syncd --check ($rc)" has "$out" "write 'root = /'"

printf '[zookeeper]\nprefix = /x\n[cgroup]\nroot = /\n' > "$T_TMP/top.conf"
out=$(cgarch -c "$T_TMP/top.conf" plan "$T_TMP/seed.json" 2>&1 >/dev/null); rc=$?
t_eq "root = / plans" "$rc" 0
t_check "... with a warning on stderr" has "$out" 'manages the hierarchy roots'

out=$(cg-taskd --check -c "$T_TMP/top.conf" 2>&1); rc=$?
t_check "root = /: --check warns ($out)" grep -q 'manages the hierarchy roots' <<<"$out"

# make install: modes, the cg-wsd credential file.
D=$T_TMP/dest
make -s --no-print-directory install DESTDIR="$D" >"$T_TMP/install.log" 2>&1
t_check "make install DESTDIR succeeds" [ $? -eq 0 ]
t_eq "the installed cgrouparch.conf is 0640" "$(stat -c %a "$D/etc/cgrouparch/cgrouparch.conf")" 640
t_eq "the installed cg-wsd.conf is 0640" "$(stat -c %a "$D/etc/cgrouparch/cg-wsd.conf")" 640
t_check "the installed cgrouparch.conf sets root = cgrouparch" grep -qx 'root = cgrouparch' "$D/etc/cgrouparch/cgrouparch.conf"
unit=$(find "$D" -name cg-wsd.service)
t_check "cg-wsd's unit loads cg-wsd.conf as its credential, not the shared config" \
  grep -qx 'LoadCredential=cgrouparch.conf:/etc/cgrouparch/cg-wsd.conf' "$unit"
out=$(cg-wsd --check -c "$D/etc/cgrouparch/cg-wsd.conf" 2>&1); rc=$?
t_eq "cg-wsd.conf parses" "$rc" 0
t_check "cg-wsd.conf holds no ZooKeeper identity" bash -c '! grep -q "^[^#]*auth" "$1"' _ "$D/etc/cgrouparch/cg-wsd.conf"
printf '[zookeeper]\nauth = digest:a:b\n' > "$T_TMP/wsd-zk.conf"
out=$(cg-wsd --check -c "$T_TMP/wsd-zk.conf" 2>&1)
t_check "cg-wsd --check warns about a ZooKeeper identity in its config" grep -q 'never uses' <<<"$out"
t_done
