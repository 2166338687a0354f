#!/usr/bin/env bash
# cg-taskd under a flood (issue 12, rows 2 and 3): an unprivileged user (nobody) who can write in
# a directory matched by [pid_files] churns 5,000 hostile pid files (naming a root process)
# through one glob and 1,500 directories under a glob directory part (/x/*/main.pid), with a
# cap of 1,000 files and 200 directories per pattern. Checked: each cap is enforced with one
# warning naming the pattern and the cap; cg-taskd's inotify watches stay bounded (counted from
# /proc/PID/fdinfo); a real root-owned pid file in the same directory, rewritten 20 times during
# the churn, is placed each time within a bound (latency printed); no hostile file moved
# anything; cg-taskd's CPU time over the churn is printed (and must stay well below a core).
# That part runs with the refusal budget off (max_refusals = 0), which would stop the flood
# before the caps; then the same churn with the default budget of 64 refusals per uid and pass:
# at most 65 refusals logged, one warning, its metric, directories no longer watched, the real
# pid file still placed, a new file in nobody's directory left to the next pass even if root's;
# and a full pass starts the budget again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"
FLOOD=$BUILD/tests/tools/taskd-flood
N_FILES=${N_FILES:-5000} N_DIRS=${N_DIRS:-1500} CHURN_S=${CHURN_S:-10}
MAX_FILES=1000 MAX_DIRS=200
LAT_BOUND_MS=${LAT_BOUND_MS:-1000}

t_need_root_v1 "taskd flood"
command -v setpriv >/dev/null || { t_skip "taskd flood" "needs setpriv"; t_done; exit; }
U=nobody
UID_U=$(id -u "$U") && GID_U=$(id -g "$U") || { t_skip "taskd flood" "no user nobody"; t_done; exit; }
AS_USER=(setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups)

chmod 0755 "$T_TMP"
UDIR=$T_TMP/flood GDIR=$T_TMP/gdirs
mkdir -p "$UDIR" "$GDIR" && chown "$U" "$UDIR" "$GDIR" && chmod 0755 "$UDIR" "$GDIR"
cp "$FLOOD" "$T_TMP/taskd-flood" && chmod 0755 "$T_TMP/taskd-flood"

cg_new_root
SVC='{"svc_real": {}, "svc_atk": {}}'
taskd_mkcg svc_real svc_atk
taskd_snapshot 1 "{\"cpu\": {\"sub_cgroup\": $SVC}, \"blkio\": {\"sub_cgroup\": $SVC}}"
CFG=$T_TMP/taskd.conf
# cfg MAX_REFUSALS [INTERVAL]: the config (the first part turns the refusal budget off, to reach
# the caps; the second has no full pass of its own, so the budget stays spent until it makes one)
cfg() {
  printf '[taskd]\ninterval = %s\nmax_files = %s\nmax_dirs = %s\nmax_refusals = %s\n[pid_files]\nsvc_atk = %s %s\nsvc_real = %s\n' \
    "${2:-30}" "$MAX_FILES" "$MAX_DIRS" "$1" "$UDIR/atk-*.pid" "$GDIR/*/main.pid" "$UDIR/real.pid" | write_cfg "$CFG"
}
cfg 0
t_check "--check accepts max_files, max_dirs and max_refusals" cg-taskd -c "$CFG" --check

sleep 600 & VICTIM=$!; track $VICTIM   # the root process the hostile files name
start_taskd
t_check "cg-taskd started" kill -0 "$TASKD_PID"

# watches: cg-taskd's inotify watches (pid files and the snapshot)
watches() { inotify_watches "$TASKD_PID"; }
cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$TASKD_PID"/stat; }
HZ=$(getconf CLK_TCK)
w0=$(watches)
t_diag "watches before the churn: $w0"

# churn OUT: nobody churns for CHURN_S while the real pid file is rewritten 20 times; sets lat,
# lat_rc (the latency tool's line and status), max_w (most watches seen), c0 c1 t0 t1 (CPU
# ticks and wall ms around it); nobody's own output in OUT
churn() {
  local w ch
  max_w=$(watches); c0=$(cpu_ticks); t0=$(ms_now)
  "${AS_USER[@]}" "$T_TMP/taskd-flood" churn "$UDIR" "$N_FILES" "$GDIR" "$N_DIRS" "$CHURN_S" "$VICTIM" \
    >"$1" 2>&1 &
  ch=$!; track $ch
  # watch the watch count while the flood ramps up
  for i in 1 2 3 4 5 6 7 8 9 10; do w=$(watches); [ "$w" -gt "$max_w" ] && max_w=$w; sleep 0.1; done
  lat=$("$FLOOD" latency "$UDIR/real.pid" "/$CGROOT/svc_real" 20 10000)
  lat_rc=$?
  while kill -0 $ch 2>/dev/null; do w=$(watches); [ "$w" -gt "$max_w" ] && max_w=$w; sleep 0.2; done
  wait $ch
  c1=$(cpu_ticks); t1=$(ms_now)
}
churn "$T_TMP/churn.out"
v() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

t_diag "churn: $(cat "$T_TMP/churn.out") in $(( t1 - t0 )) ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
t_diag "real pid file during the churn: $lat (p50 $(ms "$(v p50_us "$lat")") ms, p99 $(ms "$(v p99_us "$lat")") ms, max $(ms "$(v max_us "$lat")") ms)"
cpu_ms=$(( (c1 - c0) * 1000 / HZ ))
t_diag "cg-taskd CPU over the churn: $cpu_ms ms in $(( t1 - t0 )) ms wall ($(awk -v c="$cpu_ms" -v w="$(( t1 - t0 ))" 'BEGIN { printf "%.1f", 100 * c / w }')% of a core)"
t_diag "inotify watches: $w0 before, at most $max_w during, $(watches) after (cap $MAX_DIRS dirs per pattern)"

t_check "the real pid file was placed at each of 20 rewrites" test "$lat_rc" = 0 -a "$(v n "$lat")" = 20
t_check "each within $LAT_BOUND_MS ms (max $(ms "$(v max_us "$lat")") ms)" \
  awk -v u="$(v max_us "$lat")" -v b="$LAT_BOUND_MS" 'BEGIN { exit !(u != "" && u / 1000 < b) }'
t_check "inotify watches stayed bounded (at most $max_w <= $MAX_DIRS + 10)" test "$max_w" -le $((MAX_DIRS + 10))
t_check "cg-taskd used less than half a core over the churn ($cpu_ms ms CPU)" \
  test $(( cpu_ms * 2 )) -lt $(( t1 - t0 ))
nf=$(log_count "Pattern $UDIR/atk-\\*\\.pid of 'svc_atk' matches more than $MAX_FILES files \\(\\[taskd\\] max_files\\)")
nd=$(log_count "Pattern $GDIR/\\*/main\\.pid of 'svc_atk' matches more than $MAX_DIRS directories \\(\\[taskd\\] max_dirs\\)")
nall=$(log_count "matches more than")
t_check "max_files warned once, naming the pattern and the cap ($nf)" test "$nf" = 1
t_check "max_dirs warned once, naming the pattern and the cap ($nd)" test "$nd" = 1
t_check "no more cap warnings than one per pattern and cap ($nall)" test "$nall" -le 3
nref=$(log_count "Not moving pid $VICTIM named by .*neither root nor the process's owner")
t_check "hostile files were read and refused, at most once per file within the caps ($nref)" \
  test "$nref" -ge 1 -a "$nref" -le $((2 * MAX_FILES))
t_check "the root process the hostile files name was not moved" \
  eval "[ \"\$(cg_of $VICTIM cpu)\" != /$CGROOT/svc_atk ]"
t_check "cg-taskd still runs" kill -0 "$TASKD_PID"
# after the flood: a fresh real placement is still immediate, and the watches came back down
t_check "watches back near the start after the flood ($(watches))" wait_for 10 eval "[ \$(watches) -le $((w0 + 2)) ]"
lat2=$("$FLOOD" latency "$UDIR/real.pid" "/$CGROOT/svc_real" 5 5000)
t_diag "real pid file after the churn: $lat2"
t_check "placed after the churn too" test "$(v n "$lat2")" = 5

# The refusal budget (the default max_refusals = 64): the same churn again; past 64 refused files
# of nobody's since the last full pass, nobody's files are only looked at and its new directories
# not watched, until the next pass.
cfg 64 3600
L0=$(wc -l <"$TASKD_LOG")
kill -HUP "$TASKD_PID"
t_check "reloaded with max_refusals = 64" wait_for 10 eval 'tail -n +$((L0 + 1)) "$TASKD_LOG" | grep -q Reloaded'
since() { tail -n +$((L0 + 1)) "$TASKD_LOG" | grep -cE "$1"; }
churn "$T_TMP/churn2.out"
cpu_ms=$(( (c1 - c0) * 1000 / HZ ))
t_diag "with the budget: churn $(cat "$T_TMP/churn2.out"); real pid file: $lat; cg-taskd CPU $cpu_ms ms in $(( t1 - t0 )) ms; watches at most $max_w"
t_check "with the budget, the real pid file was placed at each of 20 rewrites" test "$lat_rc" = 0 -a "$(v n "$lat")" = 20
nref=$(since "Not moving pid $VICTIM named by .*neither root nor the process's owner")
t_check "hostile files read and refused: no more than the budget + 1 ($nref)" test "$nref" -ge 1 -a "$nref" -le 65
nb=$(since "Pid files of uid $UID_U: more than 64 refused since the last full pass \(\[taskd\] max_refusals\); its files are not read on events until the next pass")
t_check "the budget was spent once, the warning naming the uid and the key ($nb)" test "$nb" = 1
t_check "and counted in cg-taskd.prom" \
  wait_for 5 grep -qx 'cgrouparch_taskd_refusals_total{reason="budget"} 1' "$RUNTIME_DIR/metrics/cg-taskd.prom"
# directories are watched only until the budget is spent (each watched one's main.pid is read
# and refused), far below max_dirs = $MAX_DIRS
t_check "nobody's new directories stopped being watched (at most $max_w watches <= 64 + 20)" test "$max_w" -le 84
t_check "the root process the hostile files name was not moved" \
  eval "[ \"\$(cg_of $VICTIM cpu)\" != /$CGROOT/svc_atk ]"

# while nobody is past the budget, a pid file new to cg-taskd in nobody's own directory waits for
# the next pass even if root wrote it (nobody could replace it at will anyway), while the known
# real pid file there is still read on its event; events are handled in order, so once the real
# one's process is placed, the other file's event was handled too
p0=$(passes)
sleep 600 & RPID=$!; track $RPID
sleep 600 & RPID2=$!; track $RPID2
echo $RPID >"$UDIR/atk-root.pid"
echo $RPID2 >"$UDIR/real.pid.tmp" && mv "$UDIR/real.pid.tmp" "$UDIR/real.pid"
t_check "past the budget, the real pid file in nobody's directory is still read on its event" \
  wait_for 10 eval '[ "$(cg_of $RPID2 cpu)" = /$CGROOT/svc_real ]'
t_check "... but a new root-owned file there is not, until the next pass" \
  eval "[ \"\$(cg_of $RPID cpu)\" != /$CGROOT/svc_atk ] && [ \$(passes) = $p0 ]"

# a full pass (here: a new conf version) starts the budget again and reads every file: the
# root-owned one is placed; nobody's own pid file, naming nobody's own process, is then read on
# its event and placed, with no pass in between
"${AS_USER[@]}" sleep 600 & NPID=$!; track $NPID
taskd_snapshot 2 "{\"cpu\": {\"sub_cgroup\": $SVC}, \"blkio\": {\"sub_cgroup\": $SVC}}"
t_check "the full pass placed the root-owned file's process" \
  wait_for 10 eval '[ "$(cg_of $RPID cpu)" = /$CGROOT/svc_atk ]'
t_check "the new conf version was taken (a full pass)" wait_for 10 eval 'log_count "conf version 2" >/dev/null'
p0=$(passes)
"${AS_USER[@]}" sh -c "echo $NPID >'$UDIR/atk-own.pid'"
t_check "after the pass, nobody's own pid file is read on its event and its process placed" \
  wait_for 10 eval '[ "$(cg_of $NPID cpu)" = /$CGROOT/svc_atk ]'
t_check "... by the event, not by another pass ($(passes) passes, $p0 before)" test "$(passes)" = "$p0"
stop_taskd
t_done
