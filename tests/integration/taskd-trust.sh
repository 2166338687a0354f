#!/usr/bin/env bash
# cg-taskd's pid-file trust rule (issue 12, rows 1, 6, 7): a pid file carries the authority of
# its owner and no more. An unprivileged user (nobody) who can write files matched by
# [pid_files] tries every attack of the issue's table against real processes this test starts,
# in real cgroups under a test root; each must be refused, by a check that fails without the
# rule, and the refusal logged once, naming the file and the reason:
#   (a) nobody's pid file naming a root process;
#   (b) nobody's symlinks to a root-owned pid file, to /proc/sys/kernel/ns_last_pid and to a
#       root-only secret file;
#   (c) a FIFO with a blocked writer: never opened (the writer stays blocked);
#   (d) a device node: never opened (no IN_OPEN event on it);
#   (e) nobody's file with secret-looking bytes: the content never reaches the log;
# and the legitimate cases still work: root's file naming nobody's process, nobody's file naming
# nobody's own tree (descendants too), and `user=` refusing a root file's process of another
# user while placing one of the right user.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"

t_need_root_v1 "taskd trust"
command -v setpriv >/dev/null || { t_skip "taskd trust" "needs setpriv"; t_done; exit; }
PY=/usr/bin/python3
[ -x "$PY" ] || { t_skip "taskd trust" "needs python3 (inotify open watcher)"; t_done; exit; }

U=nobody
UID_U=$(id -u "$U") && GID_U=$(id -g "$U") || { t_skip "taskd trust" "no user nobody"; t_done; exit; }
AS_USER=(setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups)
# as_user CMD...: runs CMD as nobody. For a background process use "${AS_USER[@]}" CMD & so that
# $! is the process itself (a function run with & would be a root subshell around it).
as_user() { "${AS_USER[@]}" "$@"; }

# nobody must reach its own directory and the tree tool
chmod 0755 "$T_TMP"
UDIR=$T_TMP/upids
mkdir -p "$UDIR" && chown "$U" "$UDIR" && chmod 0755 "$UDIR"
cp "$TREE" "$T_TMP/taskd-tree" && chmod 0755 "$T_TMP/taskd-tree"

cg_new_root
SVC='{"svc_root": {}, "svc_user": {}, "svc_atk": {}, "svc_w": {}}'
CONF="{\"cpu\": {\"sub_cgroup\": $SVC}, \"blkio\": {\"sub_cgroup\": $SVC}}"
taskd_mkcg svc_root svc_user svc_atk svc_w
taskd_snapshot 1 "$CONF"
CFG=$T_TMP/taskd.conf
printf '[taskd]\ninterval = 30\n[pid_files]\nsvc_root = %s\nsvc_user = %s\nsvc_atk = %s\nsvc_w = user=%s %s\n' \
  "$PIDS/root.pid" "$UDIR/own.pid" "$UDIR/atk-*.pid" "$U" "$PIDS/w-*.pid" | write_cfg "$CFG"
t_check "--check accepts user= in [pid_files]" cg-taskd -c "$CFG" --check

# root's processes (targets of the attacks) and nobody's
sleep 600 & R1=$!; track $R1
sleep 600 & R2=$!; track $R2
sleep 600 & R3=$!; track $R3
"${AS_USER[@]}" sleep 600 & N2=$!; track $N2
"${AS_USER[@]}" sleep 600 & N3=$!; track $N3
for p in $N2 $N3; do
  t_check "pid $p runs as $U" wait_for 15 eval "[ \"\$(awk '/^Uid:/ {print \$2}' /proc/$p/status)\" = $UID_U ]"
done

# (a) nobody's file naming a root process
as_user sh -c "echo $R1 >'$UDIR/atk-root.pid'"
# (b) nobody's symlinks: to a root-owned pid file (naming R2), to ns_last_pid, to a root secret
echo "$R2" >"$PIDS/rootsvc.pid"
printf 'TOPSECRET-42\n' >"$T_TMP/secret" && chmod 0600 "$T_TMP/secret"
as_user ln -s "$PIDS/rootsvc.pid" "$UDIR/atk-link.pid"
as_user ln -s /proc/sys/kernel/ns_last_pid "$UDIR/atk-ns.pid"
as_user ln -s "$T_TMP/secret" "$UDIR/atk-shadow.pid"
# (c) a FIFO whose writer blocks in open(2) until a reader opens it
as_user mkfifo "$UDIR/atk-fifo.pid"
"${AS_USER[@]}" sh -c "echo $R1 >'$UDIR/atk-fifo.pid'" & W=$!; track $W
# (d) a device node (/dev/null's numbers) owned by nobody
mknod "$UDIR/atk-dev.pid" c 1 3 && chown "$U" "$UDIR/atk-dev.pid"
# (e) nobody's file with secret-looking bytes that fail parsing
as_user sh -c "printf 'hunter2-SECRET\n' >'$UDIR/atk-secret.pid'"

# IN_OPEN on the FIFO and the device node is the proof that nobody opened them (an O_PATH look
# is no open).
cat >"$T_TMP/openwatch.py" <<'EOF'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
names = {}
for p in sys.argv[1:]:
    wd = libc.inotify_add_watch(fd, p.encode(), 0x20)  # IN_OPEN
    if wd < 0:
        print("error", p, flush=True); sys.exit(1)
    names[wd] = p
print("ready", flush=True)
while True:
    buf = os.read(fd, 4096)
    i = 0
    while i < len(buf):
        wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
        print("open", names.get(wd, "?"), flush=True)
        i += 16 + ln
EOF
OPENS=$T_TMP/opens.log
"$PY" "$T_TMP/openwatch.py" "$UDIR/atk-fifo.pid" "$UDIR/atk-dev.pid" >"$OPENS" 2>&1 & OW=$!; track $OW
t_check "the open watcher runs" wait_for 30 grep -q ready "$OPENS"
t_check "the FIFO's writer is blocked before cg-taskd runs" \
  wait_for 15 eval "[ \"\$(awk '/^Uid:/ {print \$2}' /proc/$W/status)\" = $UID_U ] && kill -0 $W"

# (f) the legitimate cases: root's file naming nobody's process; nobody's own tree
echo "$N2" >"$PIDS/root.pid"
"${AS_USER[@]}" "$T_TMP/taskd-tree" --pidfile "$UDIR/own.pid" --children 2 --grandchildren 1 & N1=$!; track $N1
wait_for 15 test -s "$UDIR/own.pid"
t_eq "nobody wrote own.pid" "$(stat -c %U "$UDIR/own.pid")" "$U"
# user=nobody: root's file naming root's R3 is refused; one naming nobody's N3 is placed
echo "$R3" >"$PIDS/w-root.pid"
echo "$N3" >"$PIDS/w-ok.pid"

start_taskd
# positive signals first: the pass ran and placed what it may
t_check "root's file naming nobody's process: placed" wait_for 15 tree_in $N2 svc_root
MIN_TREE=5
t_check "nobody's file naming nobody's tree: placed with its descendants" wait_for 15 tree_in $N1 svc_user
MIN_TREE=1
t_check "user=$U: a process of $U named by root's file is placed" wait_for 15 tree_in $N3 svc_w
t_check "a full pass was logged" wait_for 15 eval '[ $(passes) -ge 1 ]'

refusal() { grep -F "$1" "$TASKD_LOG" | grep -cF "$2"; }
# (a)
t_check "(a) refusal logged, naming file and reason" \
  wait_for 15 eval "[ \$(refusal 'named by $UDIR/atk-root.pid' 'owned by uid $UID_U, which is neither root nor the process') -ge 1 ]"
t_check "(a) root's process not moved" eval '[ "$(cg_of $R1 cpu)" != "/$CGROOT/svc_atk" ]'
# (b)
t_check "(b) symlink to root's pid file refused, naming file and reason" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-link.pid' 'symlink not owned by root') -ge 1 ]"
t_check "(b) the root process it leads to not moved" eval '[ "$(cg_of $R2 cpu)" != "/$CGROOT/svc_atk" ]'
t_check "(b) symlink to ns_last_pid refused" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-ns.pid' 'symlink not owned by root') -ge 1 ]"
t_check "(b) symlink to a root-only file refused" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-shadow.pid' 'symlink not owned by root') -ge 1 ]"
# (c), (d)
t_check "(c) FIFO refused as not a regular file" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-fifo.pid' 'not a regular file') -ge 1 ]"
t_check "(d) device node refused as not a regular file" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-dev.pid' 'not a regular file') -ge 1 ]"
# (e)
t_check "(e) bad content of nobody's file warned without it" \
  wait_for 15 eval "[ \$(refusal 'Ignoring pid file $UDIR/atk-secret.pid' 'content not shown') -ge 1 ]"
# user=
t_check "user=: root's file naming root's process refused, naming file and reason" \
  wait_for 15 eval "[ \$(refusal 'named by $PIDS/w-root.pid' 'not as user=$U') -ge 1 ]"
t_check "user=: that process not moved" eval '[ "$(cg_of $R3 cpu)" != "/$CGROOT/svc_w" ]'

# More passes and more attempts: nothing changes, nothing is said twice.
np=$(passes)
as_user sh -c "echo $R2 >'$UDIR/atk-root.pid.new' && mv '$UDIR/atk-root.pid.new' '$UDIR/atk-root.pid'"
as_user touch -h "$UDIR/atk-secret.pid" "$UDIR/atk-link.pid"
taskd_snapshot 2 "$CONF"
t_check "a second full pass ran" wait_pass "$np"
np=$(passes); taskd_snapshot 3 "$CONF"
t_check "a third full pass ran" wait_pass "$np"
for f in atk-root atk-link atk-ns atk-shadow atk-fifo atk-dev atk-secret; do
  t_eq "$f.pid: refused once over three passes and a rewrite" "$(grep -cF "pid file $UDIR/$f.pid" "$TASKD_LOG")$(grep -cF "named by $UDIR/$f.pid" "$TASKD_LOG")" \
    "$( [ $f = atk-root ] && echo 01 || echo 10 )"
done
t_eq "user= refusal once" "$(grep -cF "named by $PIDS/w-root.pid" "$TASKD_LOG")" 1
for p in $R1 $R2 $R3; do
  t_check "root's pid $p is in none of the test's cgroups" eval '! grep -q "$CGROOT" /proc/'$p'/cgroup'
done
t_eq "nothing moved into svc_atk" "$(cat "$CG_DIR/cpu/$CGROOT/svc_atk/cgroup.procs" | wc -l)" 0
t_check "no move logged into svc_atk" eval "! grep -q \"into 'svc_atk'\" '$TASKD_LOG'"
t_check "(c) the FIFO's writer is still blocked (never released)" kill -0 $W
t_eq "(c, d) the FIFO and the device node were never opened" "$(grep -c '^open' "$OPENS")" 0
t_check "(b, e) no secret reached the log" eval "! grep -qE 'TOPSECRET|hunter2' '$TASKD_LOG'"
t_check "the legitimate trees stay placed" eval "tree_in $N2 svc_root && tree_in $N1 svc_user && tree_in $N3 svc_w"

# A root-owned bad pid file still shows its content (root's word is not a secret from root).
printf 'garbage\n' >"$PIDS/root.pid"
t_check "root's bad file: content shown" wait_for 15 grep -qF "Ignoring pid file $PIDS/root.pid: not a single decimal pid (content \"garbage" "$TASKD_LOG"

stop_taskd
[ "$T_FAILED" -eq 0 ] || { t_diag "cg-taskd log:"; sed "s/^/#   /" "$TASKD_LOG" | tail -80; }
t_done
