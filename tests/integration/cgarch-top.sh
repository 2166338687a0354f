#!/usr/bin/env bash
# `cgarch top` in a real terminal (issue 18 item 3): tmux runs it against a real cg-wsd, Redis
# and cg-accountd sampling this machine's v1 cgroups under a test root, with a busy cgroup (a
# CPU spinner) and one doing direct IO (dd, about 8 MB/s). Driven with send-keys, read with
# capture-pane: the busy cgroup is the first one below the root by CPU (the root sums its
# children); `i` puts the IO cgroup first; `t` shows the tree in path order; the share and weight
# of the applied conf are shown; a narrow window gets lines cut, not wrapped; `q` exits with
# status 0 and gives the terminal back (the alternate screen left, the cursor shown). The first
# screen is kept in build/test-artifacts/cgarch-top.txt.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"

t_need_root_v1 "cgarch top in tmux"
command -v tmux >/dev/null || { t_skip "cgarch top in tmux" "needs tmux (scripts/deps)"; t_done; exit; }

cg_new_root top
RUNTIME_DIR=$T_TMP/run
mkdir -p "$RUNTIME_DIR"
for h in cpu cpuacct blkio; do
  for c in busy idle iotest; do mkdir -p "$CG_DIR/$h/$CGROOT/$c"; done
done
CONF='{"cpu": {"sub_cgroup": {"busy": {"conf": {"share": 2048}}, "idle": {"conf": {"share": 100}}, "iotest": {}}}, "blkio": {"sub_cgroup": {"iotest": {"conf": {"weight": 800}}, "busy": {}, "idle": {}}}}'
printf '{"version": 3, "value": %s}\n' "$CONF" >"$RUNTIME_DIR/.s" && mv "$RUNTIME_DIR/.s" "$RUNTIME_DIR/arch_conf.json"
start_redis || { t_fail "redis starts"; t_done; exit 1; }
wsd_start || { t_fail "cg-wsd starts"; t_done; exit 1; }
CFG=$WSD_CFG
cg-accountd -c "$CFG" >"$T_TMP/accountd.log" 2>&1 & track $!
t_check "cg-accountd samples into Redis" wait_for 10 eval '[ -n "$(redis-cli -p $REDIS_PORT --scan --pattern "cgroup_arch/account/*" | head -1)" ]'

# the load: our own processes, in our own cgroups
sh -c "echo \$\$ >$CG_DIR/cpu/$CGROOT/busy/cgroup.procs && echo \$\$ >$CG_DIR/cpuacct/$CGROOT/busy/cgroup.procs && exec sh -c 'while :; do :; done'" &
SPIN=$!; track $SPIN
sh -c "echo \$\$ >$CG_DIR/blkio/$CGROOT/iotest/cgroup.procs && while :; do dd if=/dev/zero of=$T_TMP/io.bin bs=1M count=2 oflag=direct conv=notrunc status=none; sleep 0.2; done" &
IO=$!; track $IO

SOCK=$T_TMP/tmux.sock
tm() { SHELL=/bin/bash tmux -S "$SOCK" "$@"; }
at_exit "tmux -S '$SOCK' kill-server"
tm new-session -d -s top -x 120 -y 30 "cgarch -c '$CFG' top; echo \$? >'$T_TMP/top.rc'; sleep 600"
screen() { tm capture-pane -p -t top 2>/dev/null; }
# rows: the cgroup paths on screen, in order; below_root: the first one that is not "/"
rows() { screen | awk 'f && /^\// { print $1 } /CONTROL GROUP/ { f = 1 }'; }
below_root() { rows | grep -v '^/$' | head -1; }
sorted_by() { screen | grep -q "sort: $1 "; }
diag_screen() { t_diag "screen:"; screen | sed 's/^/#   | /'; }

t_check "top draws the table" wait_for 15 eval 'screen | grep -q "CONTROL GROUP"'
t_check "the header names the host and the source" eval 'screen | grep -q "$(hostname).*ws://127.0.0.1:$WSD_PORT/"'
t_check "all four cgroups are shown" wait_for 10 eval '[ "$(rows | sort | tr "\n" " ")" = "/ /busy /idle /iotest " ]' || diag_screen
t_check "sorted by cpu: the busy cgroup first below the root" wait_for 10 eval '[ "$(below_root)" = /busy ]' || diag_screen
busy_cpu=$(screen | awk '$1 == "/busy" { print $2 }')
idle_cpu=$(screen | awk '$1 == "/idle" { print $2 }')
# the machine is shared: a spinner gets what the others leave, still far more than nothing
t_check "its CPU % ($busy_cpu) is far above idle's ($idle_cpu)" \
  awk -v b="$busy_cpu" -v i="$idle_cpu" 'BEGIN { exit !(b + 0 >= 5 && b + 0 > 10 * (i + 0)) }'
t_eq "the conf's share and weight are shown (busy 2048; iotest weight 800)" \
  "$(screen | awk '$1 == "/busy" { print $(NF-1) } $1 == "/iotest" { print $NF }' | tr '\n' ' ')" "2048 800 "

mkdir -p "$BUILD/test-artifacts" && screen >"$BUILD/test-artifacts/cgarch-top.txt"
tm send-keys -t top i
t_check "i: sorted by io" wait_for 5 sorted_by io
t_check "i: the IO cgroup first below the root" wait_for 10 eval '[ "$(below_root)" = /iotest ]' || diag_screen
tm send-keys -t top t
t_check "t: sorted by tree" wait_for 5 sorted_by tree
t_eq "t: the rows in path order" "$(rows | tr '\n' ' ')" "/ /busy /idle /iotest "
tm send-keys -t top c
t_check "c: back to cpu, busy first below the root" wait_for 5 eval 'sorted_by cpu && [ "$(below_root)" = /busy ]'

tm resize-window -t top -x 60
t_check "a 60-column window: redrawn at once (SIGWINCH), no line wider" \
  wait_for 5 eval '[ "$(screen | awk "{ if (length(\$0) > m) m = length(\$0) } END { print m }")" -le 60 ] && screen | grep -q "CONTROL GROUP"'
t_check "the paths are still there" eval 'rows | grep -q "/busy"'

tm send-keys -t top q
t_check "q: top exits" wait_for 5 test -s "$T_TMP/top.rc"
t_eq "q: exit status 0" "$(cat "$T_TMP/top.rc" 2>/dev/null)" 0
t_check "the terminal is given back (the table is gone with the alternate screen)" eval '! screen | grep -q "CONTROL GROUP"'

# ^C: the terminal is restored too, with the signal's status
tm respawn-pane -k -t top "cgarch -c '$CFG' top -s tree; echo \$? >'$T_TMP/top2.rc'; sleep 600"
t_check "started again with -s tree" wait_for 15 sorted_by tree
tm send-keys -t top C-c
t_check "^C: exits with 130" wait_for 5 eval '[ "$(cat "$T_TMP/top2.rc" 2>/dev/null)" = 130 ]'
t_check "^C: the terminal is given back" eval '! screen | grep -q "CONTROL GROUP"'
t_check "cg-wsd is still running" kill -0 "$WSD_PID"
t_done
