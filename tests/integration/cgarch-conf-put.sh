#!/usr/bin/env bash
# `cgarch conf put` when the answer to the write never comes (issue: put's outcome unknown). The
# faults are real: a TCP proxy between cgarch and a private ZooKeeper cuts the connection right
# after the setData request (forwarded: the write lands, the answer is lost; or swallowed: the
# write never reaches the server), and then lets new connections through or holds them; and a
# SIGSTOPped ZooKeeper. cgarch must never resend: it reads the node back in a new session and
# says what happened (exit 0 confirmed, 1 did not land, 3 unknown), and the node must then hold
# exactly what the message says.
. "$(dirname "$0")/../lib-syncd.sh"
ZK_SESSION_MS=2000
syncd_env

# ---- the proxy: MODE file holds "FIRST AFTER"; a connection takes FIRST when it opens; a cut
# (at the first setData, request type 5) writes AFTER to the file and "cut" to the log. ----
cat > "$T_TMP/zkproxy.py" <<'PY'
import socket, struct, sys, threading
port_file, target, mode_file, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
def mode():
    with open(mode_file) as f:
        return f.read().split()
def note(s):
    with lock, open(log_file, "a") as f:
        f.write(s + "\n")
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b
def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
def handle(c):
    first, after = mode()
    note("conn " + first)
    if first == "hold":
        drain(c); return
    u = socket.create_connection(("127.0.0.1", target))
    state = {"cut": False}
    def down():   # server -> client, until a cut
        try:
            while True:
                d = u.recv(65536)
                if not d:
                    break
                if not state["cut"]:
                    c.sendall(d)
        except OSError:
            pass
    threading.Thread(target=down, daemon=True).start()
    try:
        n = 0
        while True:
            hdr = recv_exact(c, 4)
            body = recv_exact(c, struct.unpack(">i", hdr)[0])
            n += 1
            typ = struct.unpack(">i", body[4:8])[0] if n > 1 and len(body) >= 8 else None
            if typ == 5 and first in ("cut-reply", "cut-request"):
                state["cut"] = True
                if first == "cut-reply":
                    u.sendall(hdr + body)
                with open(mode_file, "w") as f:
                    f.write(after + " " + after)
                note("cut " + first)
                drain(c); return   # the connection stays open, silent both ways
            u.sendall(hdr + body)
    except (EOFError, OSError):
        pass
    finally:
        u.close(); c.close()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0)); l.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(l.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = l.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
echo "pass pass" > "$T_TMP/mode"
: > "$T_TMP/proxy.log"
/usr/bin/python3 "$T_TMP/zkproxy.py" "$T_TMP/proxy.port" "$ZK_PORT" "$T_TMP/mode" "$T_TMP/proxy.log" &
track $!
wait_for 10 test -s "$T_TMP/proxy.port" || { t_fail "the proxy starts"; t_done; exit 1; }
sed "s/^hosts = .*/hosts = 127.0.0.1:$(cat "$T_TMP/proxy.port")/" "$CFG" > "$T_TMP/proxy.conf"
PCFG=$T_TMP/proxy.conf

# conf N: a valid conf whose share is N (each put below writes a different one).
conf() { echo "{\"cpu\": {\"sub_cgroup\": {\"test_cgroup_a\": {\"conf\": {\"share\": $1}}}}}" > "$T_TMP/c$1.json"; echo "$T_TMP/c$1.json"; }
node_data() { zkctl get "$NODE" 2>/dev/null | grep -o '"share": [0-9]*' | grep -o '[0-9]*$'; }
node_version() { cgarch -c "$CFG" conf get --version-only 2>/dev/null; }
# said RC PATTERN: the last put exited RC and its messages ($out) match PATTERN.
said() { [ "$rc" = "$1" ] && grep -q -- "$2" <<<"$out"; }

out=$(cgarch -c "$PCFG" conf put "$(conf 100)" 2>&1); rc=$?
t_check "through the proxy, a plain put writes version 0 ($out)" bash -c "[ $rc = 0 ] && grep -q 'version 0' <<<'$out'"

# 1. the write lands, its answer is lost: confirmed by reading back.
echo "cut-reply pass" > "$T_TMP/mode"
out=$(cgarch -c "$PCFG" conf put "$(conf 200)" 2>&1); rc=$?
t_check "answer lost: the proxy cut after forwarding the write" grep -q 'cut cut-reply' "$T_TMP/proxy.log"
t_check "answer lost: exit 0, confirmed by reading it back, version 1 ($out)" \
  bash -c "[ $rc = 0 ] && grep -q 'wrote .* version 1 .*confirmed by reading it back after' <<<'$out'"
t_eq "answer lost: the node holds the new conf" "$(node_data)" 200
t_eq "answer lost: written once (version 1)" "$(node_version)" 1

# 2. the write never reaches the server: did not land, nothing resent.
echo "cut-request pass" > "$T_TMP/mode"
out=$(cgarch -c "$PCFG" conf put "$(conf 300)" 2>&1); rc=$?
t_check "request lost: the proxy swallowed the write" grep -q 'cut cut-request' "$T_TMP/proxy.log"
t_check "request lost: exit 1, names version 1, did not land, nothing else written ($out)" \
  bash -c "[ $rc = 1 ] && grep -q 'at version 1 and does not hold this conf: the write did not land, nothing else was written' <<<'$out'"
t_eq "request lost: the node still holds the old conf" "$(node_data)" 200
t_eq "request lost: still version 1" "$(node_version)" 1

# 3. the answer is lost and ZooKeeper stays unreachable: the outcome is unknown (exit 3).
echo "cut-reply hold" > "$T_TMP/mode"
out=$(cgarch -c "$PCFG" conf put "$(conf 400)" 2>&1); rc=$?
t_check "unreachable after the write: exit 3, outcome unknown ($out)" \
  said 3 "the write's outcome is unknown; nothing else was written"
t_check "unreachable: no second request reached the server (the proxy cut once)" \
  bash -c "[ \$(grep -c '^cut' '$T_TMP/proxy.log') = 3 ]"
t_eq "unreachable: the node holds the one outcome, the write (version 2)" "$(node_data) $(node_version)" "400 2"

# 4. ZooKeeper stopped (SIGSTOP, the server this test started): the session never opens, so the
# write is never sent; nothing lands even after the server resumes.
kill -STOP "$ZK_PID"
out=$(cgarch -c "$CFG" conf put "$(conf 500)" 2>&1); rc=$?
kill -CONT "$ZK_PID"
t_check "ZooKeeper stopped: exit 1, never sent, nothing written ($out)" \
  bash -c "[ $rc = 1 ] && grep -q 'never sent; nothing written' <<<'$out'"
t_check "ZooKeeper resumed" wait_for 10 zk_ruok
t_eq "ZooKeeper stopped: the node is unchanged (version 2)" "$(node_data) $(node_version)" "400 2"
t_done
