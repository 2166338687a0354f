#!/usr/bin/env bash
# `cgarch why PID` against a real cg-taskd on this machine's v1 cgroups, under a test root
# (issue 18 item 4): cg-taskd publishes its decisions in <runtime_dir>/taskd-placements.json and
# `why` explains each outcome from it and /proc, with its exit status (0 in place, 1 not, 2
# error):
#   placed through a descendant (a grandchild of the pid-file process: chain, per-hierarchy
#   cgroups, the last move with its from and to);
#   moved away by hand: out of place (1);
#   refused: a file of user nobody naming a root process (owner);
#   stale: a root file older than the process it names;
#   pid 1 named by a root file: refused, and pid 1 not moved;
#   pending: the rule's cgroup does not exist yet (then created: placed);
#   not managed: a process no pid file names;
#   errors: no such pid, no record (cg-taskd never ran there), a record whose writer stopped.
# The record itself: written atomically (valid JSON at every read while files churn), mode
# 0644, and bounded in how often it is rewritten.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-taskd.sh"

t_need_root_v1 "cgarch why"
command -v setpriv >/dev/null || { t_skip "cgarch why" "needs setpriv"; t_done; exit; }
command -v jq >/dev/null || { t_skip "cgarch why" "needs jq"; t_done; exit; }
U=nobody
UID_U=$(id -u "$U") && GID_U=$(id -g "$U") || { t_skip "cgarch why" "no user nobody"; t_done; exit; }
AS_USER=(setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups)

chmod 0755 "$T_TMP"
UDIR=$T_TMP/upids
mkdir -p "$UDIR" && chown "$U" "$UDIR" && chmod 0755 "$UDIR"

cg_new_root
SVC='{"svc_a": {}, "svc_atk": {}, "svc_st": {}, "svc_init": {}, "svc_late": {}}'
CONF="{\"cpu\": {\"sub_cgroup\": $SVC}, \"blkio\": {\"sub_cgroup\": $SVC}}"
taskd_mkcg svc_a svc_atk svc_st svc_init     # svc_late: not yet (pending)
taskd_snapshot 1 "$CONF"
CFG=$T_TMP/taskd.conf
# max_refusals = 0: the churn below checks the record of 160 refused files, which the refusal
# budget (taskd-flood.sh) would stop reading, and not record, after 64
printf '[taskd]\ninterval = 30\nmax_refusals = 0\n[pid_files]\nsvc_a = %s\nsvc_atk = %s\nsvc_st = %s\nsvc_init = %s\nsvc_late = %s\n' \
  "$PIDS/a.pid" "$UDIR/atk-*.pid" "$PIDS/stale.pid" "$PIDS/init.pid" "$PIDS/late.pid" | write_cfg "$CFG"
REC=$RUNTIME_DIR/taskd-placements.json

# why PID [args]: runs `cgarch why`, sets OUT (stdout+stderr) and RC
why() { OUT=$(cgarch -c "$CFG" why "$@" 2>&1); RC=$?; }
whyj() { JS=$(cgarch -c "$CFG" why --json "$@" 2>/dev/null); RC=$?; }
jqf() { jq -r "$1" <<<"$JS" 2>/dev/null; }

# ---- errors before cg-taskd ever ran here ----
why $$
t_eq "no record: exit 2" "$RC" 2
t_check "no record: says cg-taskd is not running or runtime_dir differs" \
  grep -q "cg-taskd is not running, or it runs with another \[daemon\] runtime_dir" <<<"$OUT"

# ---- the processes ----
start_tree "$PIDS/a.pid" --children 2 --grandchildren 1
A=$TREE_PID
MIN_TREE=5 wait_for 5 eval '[ $(tree_count '"$A"') -ge 5 ]'
C=$(cat /proc/"$A"/task/*/children | awk '{print $1}')
G=$(cat /proc/"$C"/task/*/children | awk '{print $1}')
t_check "the tree has a grandchild ($A -> $C -> $G)" test -n "$G"
sleep 600 & R1=$!; track $R1                       # root's, named by nobody's file
"${AS_USER[@]}" sh -c "echo $R1 >'$UDIR/atk-root.pid'"
echo 1 >"$PIDS/init.pid"                           # pid 1, named by root
echo 999999 >"$PIDS/stale.pid"; touch -d '@1000000000' "$PIDS/stale.pid"
sleep 600 & S=$!; track $S                         # started after the file's mtime
echo "$S" >"$PIDS/stale.pid.new"; touch -d '@1000000000' "$PIDS/stale.pid.new"
mv "$PIDS/stale.pid.new" "$PIDS/stale.pid"
sleep 600 & L=$!; track $L
echo "$L" >"$PIDS/late.pid"
sleep 600 & N=$!; track $N                         # named by nothing
INIT_CG=$(cg_of 1 cpu)

start_taskd
t_check "the record appears" wait_for 5 test -s "$REC"
t_eq "it is mode 0644 (cg-wsd's unprivileged user reads it)" "$(stat -c %a "$REC")" 644
t_check "it is one JSON document naming its writer" eval "jq -e '.writer == \"cg-taskd\" and .pid == $TASKD_PID' '$REC' >/dev/null"
t_check "the tree is placed" wait_for 5 tree_in "$A" svc_a
state_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .state' "$REC" 2>/dev/null; }
t_check "the record says a.pid is placed" wait_for 5 eval '[ "$(state_of "$PIDS/a.pid")" = placed ]'

# ---- placed, through a descendant ----
why "$G"
t_eq "grandchild: exit 0" "$RC" 0
t_check "grandchild: 'in place', the pid file and the chain to the named ancestor" \
  eval 'grep -q "pid $G (.*): in place" <<<"$OUT" && grep -qF "$PIDS/a.pid" <<<"$OUT" && grep -q "through:   $G <- $C <- $A" <<<"$OUT"'
t_check "grandchild: each hierarchy should be and is in /$CGROOT/svc_a" \
  eval '[ $(grep -c "should be in /$CGROOT/svc_a, is in /$CGROOT/svc_a" <<<"$OUT") -eq 3 ]'
whyj "$G"
t_eq "--json: verdict, in_place, rule, chain" "$(jqf '[.verdict, .in_place, .rule, (.chain | map(tostring) | join(","))] | join(" ")')" \
  "placed true svc_a $G,$C,$A"
t_eq "--json: cpu, cpuacct and blkio all ok" "$(jqf '[.cgroups[] | select(.ok) | .hierarchy] | sort | join(",")')" "blkio,cpu,cpuacct"
t_check "--json: the last move went to /$CGROOT/svc_a from the cgroup the tree was in" \
  eval '[ "$(jqf .last_move.to)" = "/$CGROOT/svc_a" ] && [ -n "$(jqf .last_move.from)" ] && [ "$(jqf .last_move.from)" != "/$CGROOT/svc_a" ] && [ "$(jqf .last_move.processes)" -ge 5 ]'
t_check "--json: the move's time is now-ish" eval '[ $(( $(date +%s) - $(jqf ".last_move.time | floor") )) -lt 60 ]'

# ---- moved away by hand: out of place ----
echo "$G" >"$CG_DIR/cpu/$CGROOT/cgroup.procs"
why "$G"
t_eq "a grandchild moved away: exit 1" "$RC" 1
t_check "it says where it should be and where it is" \
  eval 'grep -q "not where its rule puts it" <<<"$OUT" && grep -q "cpu: should be in /$CGROOT/svc_a, is in /$CGROOT$" <<<"$OUT"'
echo "$G" >"$CG_DIR/cpu/$CGROOT/svc_a/cgroup.procs"

# ---- refused: owner ----
t_check "the record says nobody's file is refused" wait_for 5 eval '[ "$(state_of "$UDIR/atk-root.pid")" = refused ]'
why "$R1"
t_eq "owner refusal: exit 1" "$RC" 1
want="pid file $UDIR/atk-root.pid (rule 'svc_atk') names it: the pid file is owned by uid $UID_U, which is neither root nor the process's owner (uid 0)"
t_check "owner refusal: names the file, its owner and the process's" \
  eval 'grep -q "refused by cg-taskd" <<<"$OUT" && grep -qF "$want" <<<"$OUT"'
whyj "$R1"
t_eq "owner refusal --json" "$(jqf '[.verdict, .file.reason_key, .in_place] | join(" ")')" "refused owner false"
t_check "the root process was not moved" eval '! grep -q "$CGROOT" /proc/$R1/cgroup'

# ---- the same record through cg-wsd's get_placements (what the page shows) ----
WSD_PORT=$(free_port)
printf '[wsd]\nport = %s\nwww_dir = %s\n' "$WSD_PORT" "$TOP/www" | write_cfg "$T_TMP/wsd.conf"
cg-wsd -c "$T_TMP/wsd.conf" >"$T_TMP/wsd.log" 2>&1 & WSD=$!; track $WSD
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$WSD_PORT/healthz"
PL=$(/usr/bin/python3 - "$WSD_PORT" <<'EOF2'
import json, sys, websocket
ws = websocket.create_connection('ws://127.0.0.1:%s/' % sys.argv[1], timeout=5)
ws.send(json.dumps({'cmd': 'get_placements'}))
print(ws.recv())
EOF2
)
pl() { jq -r --arg p "$1" ".placements.files[] | select(.path == \$p) | $2" <<<"$PL" 2>/dev/null; }
t_eq "get_placements: a.pid placed, with its pid and cgroup" "$(pl "$PIDS/a.pid" '[.state, .pid, .cgroup] | join(" ")')" "placed $A /$CGROOT/svc_a"
t_eq "get_placements: nobody's file refused (owner)" "$(pl "$UDIR/atk-root.pid" '[.state, .reason_key] | join(" ")')" "refused owner"
t_eq "get_placements: the pending one" "$(pl "$PIDS/late.pid" '[.state, .reason_key] | join(" ")')" "pending no_cgroup"
t_eq "get_placements: counts (pending, refused: owner, init, stale)" "$(jq -r '[.placements.pending, .placements.refused] | join(" ")' <<<"$PL")" "1 3"
stop_pid $WSD

# ---- a hostile file name does not reach the terminal as control bytes ----
sleep 600 & R3=$!; track $R3
"${AS_USER[@]}" sh -c "echo $R3 >'$UDIR/atk-'\$(printf '\\033')'[31mred.pid'"
t_check "the record lists nobody's file with an escape in its name" \
  wait_for 5 eval '[ "$(jq -r ".files[] | select(.pid == $R3) | .state" "$REC")" = refused ]'
why "$R3"
t_eq "refused: exit 1" "$RC" 1
t_check "the name is shown escaped (\\x1b), no raw ESC byte is printed" \
  eval 'grep -qF "atk-\\x1b[31mred.pid" <<<"$OUT" && ! grep -q $'"'"'\033'"'"' <<<"$OUT"'

# ---- stale ----
why "$S"
t_eq "stale: exit 1" "$RC" 1
whyj "$S"
t_eq "stale --json" "$(jqf '[.verdict, .file.reason_key] | join(" ")')" "stale stale"
t_check "stale: says the pid belongs to a process started after the file" grep -q "started after the file was written" <<<"$OUT"

# ---- pid 1 ----
why 1
t_eq "pid 1: exit 1" "$RC" 1
t_check "pid 1: 'pid 1 is never moved'" grep -q "pid 1 is never moved" <<<"$OUT"
t_eq "pid 1 stayed where it was" "$(cg_of 1 cpu)" "$INIT_CG"

# ---- pending: the cgroup does not exist yet ----
whyj "$L"
t_eq "missing cgroup: pending, exit 1" "$RC $(jqf '[.verdict, .file.reason_key] | join(" ")')" "1 pending no_cgroup"
t_check "it names the missing cgroup" eval 'jqf .reason | grep -q "cgroup cpu:svc_late does not exist yet"'
taskd_mkcg svc_late
np=$(passes); taskd_snapshot 2 "$CONF"; wait_pass "$np"
t_check "created: the next pass places it, and why says so (exit 0)" wait_for 5 eval 'cgarch -c "$CFG" why "$L" >/dev/null'

# ---- not managed ----
why "$N"
t_eq "not managed: exit 1" "$RC" 1
t_check "not managed: says no pid file names it or an ancestor" grep -q "not managed: no pid file of cg-taskd's rules names pid $N or any of its ancestors" <<<"$OUT"

# ---- errors ----
sleep 0 & gone=$!; wait $gone
why "$gone"
t_eq "no such process: exit 2" "$RC" 2
t_check "no such process: says so" grep -q "No such process" <<<"$OUT"
why notapid
t_eq "not a pid: exit 2" "$RC" 2

# ---- the record under churn: always whole, refusals at most once a second, placements soon ----
mtimes=$T_TMP/mtimes; : >"$mtimes"
bad=0
( for i in $(seq 1 100); do "${AS_USER[@]}" sh -c "echo $R1 >'$UDIR/atk-$i.pid'"; done ) &
churn=$!
while kill -0 $churn 2>/dev/null; do
  jq -e .files "$REC" >/dev/null 2>&1 || bad=$((bad + 1))
  stat -c %.9Y "$REC" >>"$mtimes"
done
wait $churn
t_eq "reads during a churn of 100 refused files: every one a whole JSON document" "$bad" 0
t_check "the churned files are all in the record" wait_for 5 eval '[ "$(jq .total "$REC")" -ge 104 ]'
# any two versions seen are at least a second apart (the mtime of each rename's new file)
gap=$(sort -un "$mtimes" | awk 'NR > 1 { d = $1 - p; if (min == "" || d < min) min = d } { p = $1 } END { printf "%d", (min == "" ? 9 : min) * 1000 }')
versions=$(sort -u "$mtimes" | wc -l)
t_check "refusals alone: rewritten at most once a second ($versions versions seen, closest ${gap} ms apart)" \
  eval '[ "$versions" -ge 2 ] && [ "$gap" -ge 900 ]'
# a placement during a churn is published within the short gap (100 ms), not the slow one
( for i in $(seq 101 160); do "${AS_USER[@]}" sh -c "echo $R1 >'$UDIR/atk-$i.pid'"; done ) &
churn=$!
sleep 0.3
start_tree "$PIDS/a.pid" --rename --children 1
A2=$TREE_PID
# the first version of the record that has it: its "updated" against the move's time
first_with_a2() { cp "$REC" "$T_TMP/snap" 2>/dev/null && grep -q "\"pid\": $A2, \"state\": \"placed\"" "$T_TMP/snap"; }
wait_for 5 first_with_a2
dt=$(jq -r --arg p "$PIDS/a.pid" '.updated as $u | .files[] | select(.path == $p) | ($u - .move.time) * 1000 | floor' "$T_TMP/snap")
wait $churn
t_check "a service restart during the churn is in the record within $((500 * T_TF)) ms of its move (${dt} ms)" \
  eval '[ -n "$dt" ] && [ "$dt" -ge 0 ] && [ "$dt" -lt $((500 * T_TF)) ]'
why "$A2"
t_eq "and why says so (exit 0)" "$RC" 0

# ---- the writer stops ----
stop_taskd
why "$G"
t_eq "cg-taskd stopped: exit 2" "$RC" 2
t_check "it says the record's writer is not running" grep -q "is not running: its record is out of date" <<<"$OUT"
why --state "$REC" "$A2"
t_eq "--state FILE reads a copy anyway (warning), exit 0" "$RC" 0

[ "$T_FAILED" -eq 0 ] || { t_diag "cg-taskd log:"; tail -40 "$TASKD_LOG" | sed 's/^/#   /'; }
t_done
