#!/usr/bin/env bash
# `cgarch top -n N` (issue 18 item 3), plain output for scripts, from samples a feeder writes to
# a private Redis as cg-accountd would, with the optional keys of issue 18 in some nodes
# (pressure, memory, pids, cpu throttling) and not in others: read through cg-wsd's websocket
# and straight from Redis (--redis, TCP and a unix socket), the same figures: CPU % from usage,
# IO rates summed over devices, memory, tasks, pressure with its kind, throttling, and the share
# and weight of the applied conf; "-" where a figure is absent; each sort order; exactly N
# tables, no terminal control; errors: no cg-wsd, no samples, bad options.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"

PY=/usr/bin/python3
REDIS_SOCK=$T_TMP/redis.sock
start_redis --unixsocket "$REDIS_SOCK" --unixsocketperm 700 || { t_fail "redis starts"; t_done; exit 1; }
wsd_start || { t_fail "cg-wsd starts"; t_done; exit 1; }
CFG=$WSD_CFG

# The feeder: 5 s of history, then one sample per wall-clock second (SET EX + PUBLISH).
#   /busy:   0.5 s CPU per s (50 %), 0.1 s throttled per s (10 %), 100 MiB, 3 tasks, cpu
#            pressure "some" 0.2 s per s (20 %), memory pressure 5 %
#   /idle:   0.01 s CPU per s (1 %); no memory, pids or pressure keys
#   /iotest: 1 MiB/s written on 8:0 and 3 MiB/s on 8:16, 512 KiB/s read; io pressure 40 %
cat >"$T_TMP/feed.py" <<'EOF'
import json, socket, sys, time
port, prefix = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(('127.0.0.1', port))
def cmd(*a):
    out = b'*%d\r\n' % len(a)
    for x in a:
        x = x if isinstance(x, bytes) else str(x).encode()
        out += b'$%d\r\n%s\r\n' % (len(x), x)
    s.sendall(out)
    s.recv(65536)
def at(t):
    b = t - 1700000000
    return json.dumps({
      'cpu': {'value': {'usage': 10**13 + b * 600_000_000},
              'sub_cgroup': {
                'busy': {'value': {'usage': b * 500_000_000, 'nr_throttled': b, 'throttled_usec': b * 100_000},
                         'pressure': {'some_usec': b * 200_000, 'full_usec': b * 100_000}},
                'idle': {'value': {'usage': b * 10_000_000}},
                'iotest': {'value': {'usage': 5}}}},
      'blkio': {'value': {'8:0': {'Read': b * 524288, 'Write': b * 4 * 1048576}},
                'sub_cgroup': {
                  'iotest': {'value': {'8:0': {'Read': b * 524288, 'Write': b * 1048576},
                                       '8:16': {'Read': 0, 'Write': b * 3 * 1048576}},
                             'pressure': {'some_usec': b * 400_000, 'full_usec': 0}},
                  'busy': {'value': {}}}},
      'memory': {'value': {'usage': 1 << 30, 'peak': 1 << 31, 'oom_kill': 0},
                 'sub_cgroup': {'busy': {'value': {'usage': 100 << 20, 'peak': 200 << 20, 'failcnt': 0},
                                         'pressure': {'some_usec': b * 50_000, 'full_usec': 0}}}},
      'pids': {'value': {'current': 40}, 'sub_cgroup': {'busy': {'value': {'current': 3}}}}})
cmd('SET', prefix + '/arch_conf', json.dumps({'version': 7, 'value': {
    'cpu': {'sub_cgroup': {'busy': {'conf': {'share': 2048}}, 'idle': {'conf': {}}, 'iotest': {}}},
    'blkio': {'sub_cgroup': {'iotest': {'conf': {'weight': 800}}, 'busy': {}}}}}))
now = round(time.time())
for t in range(now - 5, now + 1):
    cmd('SET', '%s/account/%d' % (prefix, t), at(t), 'EX', 300)
print('ready', flush=True)
while True:
    time.sleep(1 - time.time() % 1 + 0.02)
    t = round(time.time())
    cmd('SET', '%s/account/%d' % (prefix, t), at(t), 'EX', 300)
    cmd('PUBLISH', prefix + '/account', t)
EOF
$PY "$T_TMP/feed.py" "$REDIS_PORT" cgroup_arch >"$T_TMP/feed.out" 2>&1 &
track $!
t_check "the feeder runs" wait_for 10 grep -q ready "$T_TMP/feed.out"

# row TABLE PATH: the row of PATH in a table, as fields
row() { awk -v p="$2" '$1 == p' <<<"$1"; }
col() { row "$1" "$2" | awk -v c="$3" '{ print $c }'; }
# first table of an output, and the order of its rows
first_table() { awk '/^# cgarch top:/ { n++ } n == 1' <<<"$1"; }
order() { awk '/^\// { printf "%s ", $1 }' <<<"$1"; }

check_figures() { # LABEL OUTPUT
  local l=$1 tab
  tab=$(first_table "$2")
  t_eq "$l: header" "$(sed -n 2p <<<"$tab" | tr -s ' ')" \
    "CONTROL GROUP CPU% THR% READ/s WRITE/s MEMORY TASKS PSI% SHARE IOW"
  # fields: path cpu thr read write mem tasks psi share iow
  t_eq "$l: /busy: 50 % CPU, 10 % throttled, no IO, 100M, 3 tasks, cpu pressure 20 %, share 2048" \
    "$(row "$tab" /busy | tr -s ' ')" "/busy 50.0 10.0 0 0 100M 3 20.0c 2048 -"
  t_eq "$l: /idle: 1 % CPU, share 1024 (conf without share), the rest absent" \
    "$(row "$tab" /idle | tr -s ' ')" "/idle 1.0 - - - - - - 1024 -"
  t_eq "$l: /iotest: 512K/s read, 4.0M/s written over two devices, io pressure 40 %, weight 800" \
    "$(row "$tab" /iotest | tr -s ' ')" "/iotest 0.0 - 512K 4.0M - - 40.0i - 800"
  t_eq "$l: /: the root's figures" "$(row "$tab" / | tr -s ' ')" "/ 60.0 - 512K 4.0M 1.0G 40 - - -"
}

# ---- through cg-wsd ----
out=$(timeout 20 cgarch -c "$CFG" top -n 2 2>"$T_TMP/err"); rc=$?
t_eq "-n 2 through cg-wsd: exit 0" "$rc" 0
t_eq "two tables" "$(grep -c '^# cgarch top:' <<<"$out")" 2
t_check "no terminal control in the output" eval '! grep -q $'"'"'\033'"'"' <<<"$out"'
t_check "the header names the host, the source, the sort and the conf version" \
  grep -q "^# cgarch top: $(hostname), slot [0-9]* ([0-9:]*), 1 s, sorted by cpu, conf version 7, from ws://127.0.0.1:$WSD_PORT/$" <<<"$out"
t_check "the second table is one slot later" eval '[ $(( $(awk "/^# cgarch top:/ {print \$6}" <<<"$out" | tr -d , | tail -1) - $(awk "/^# cgarch top:/ {print \$6}" <<<"$out" | tr -d , | head -1) )) -ge 1 ]'
check_figures "ws" "$out"
t_eq "sorted by cpu: largest first" "$(order "$(first_table "$out")")" "/ /busy /idle /iotest "
for s in io:"/ /iotest /busy /idle " memory:"/ /busy /idle /iotest " pressure:"/iotest /busy / /idle " tree:"/ /busy /idle /iotest "; do
  key=${s%%:*} want=${s#*:}
  out=$(timeout 20 cgarch -c "$CFG" top -n 1 -s "$key" 2>/dev/null)
  t_eq "-s $key: order" "$(order "$out")" "$want"
done

# ---- the host name: cg-wsd's get_host, not this machine's name ----
# A second cg-wsd in its own UTS namespace, under another host name: top's header names it.
if [ "$(id -u)" = 0 ] && unshare --uts true 2>/dev/null; then
  WSD2_PORT=$(free_port)
  sed "s/^port = $WSD_PORT\$/port = $WSD2_PORT/" "$CFG" >"$T_TMP/wsd2.conf"
  unshare --uts sh -c 'hostname cgarch-test-otherhost && exec "$0" -c "$1"' "$BUILD/cg-wsd" "$T_TMP/wsd2.conf" \
    >"$T_TMP/wsd2.log" 2>&1 &
  track $!
  wait_for 10 curl -s -o /dev/null -m 2 "http://127.0.0.1:$WSD2_PORT/healthz"
  out=$(timeout 20 cgarch -c "$CFG" top -n 1 --ws "127.0.0.1:$WSD2_PORT" 2>&1); rc=$?
  t_check "get_host: the header names cg-wsd's host (cgarch-test-otherhost), not this one ($(head -1 <<<"$out"))" \
    grep -q "^# cgarch top: cgarch-test-otherhost, slot .*, from ws://127.0.0.1:$WSD2_PORT/$" <<<"$out"
else
  t_skip "get_host: the header names cg-wsd's host" "needs root and unshare --uts"
fi
# An old cg-wsd without get_host (a stand-in that answers it with an error): the URL's host, and
# the error is not shown as a problem.
cat >"$T_TMP/oldwsd.py" <<'EOF'
import base64, hashlib, json, socket, struct, sys, threading
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', 0)); l.listen(4)
print(l.getsockname()[1], flush=True)
def frame(text):
    b = text.encode(); n = len(b)
    h = bytes([0x81]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack('>H', n))
    return h + b
def sample(t):
    return {'cpu': {'value': {'usage': (t - 1700000000) * 10**9},
                    'sub_cgroup': {'a': {'value': {'usage': (t - 1700000000) * 5 * 10**8}}}}}
def serve(c):
    buf = b''
    while b'\r\n\r\n' not in buf:
        buf += c.recv(4096)
    key = [x.split(b':', 1)[1].strip() for x in buf.split(b'\r\n') if x.lower().startswith(b'sec-websocket-key:')][0]
    acc = base64.b64encode(hashlib.sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
    c.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Accept: ' + acc + b'\r\n\r\n')
    f = c.makefile('rb')
    while True:
        h = f.read(2)
        if len(h) < 2: return
        n = h[1] & 0x7f
        if n == 126: n = struct.unpack('>H', f.read(2))[0]
        elif n == 127: n = struct.unpack('>Q', f.read(8))[0]
        mask = f.read(4); data = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(n)))
        if h[0] & 0x0f == 8: return
        cmd = json.loads(data).get('cmd')
        if cmd == 'get_host': out = {'error': 'unknown cmd "get_host"'}
        elif cmd == 'get_conf': out = {'version': 5, 'value': {'cpu': {'sub_cgroup': {'a': {}}}}}
        elif cmd == 'show_account': out = {str(t): sample(t) for t in (1700000001, 1700000002)}
        else: continue
        c.sendall(frame(json.dumps(out)))
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
$PY "$T_TMP/oldwsd.py" >"$T_TMP/oldwsd.port" 2>"$T_TMP/oldwsd.err" &
track $!
wait_for 10 test -s "$T_TMP/oldwsd.port"
out=$(timeout 20 cgarch -c "$CFG" top -n 1 --ws "127.0.0.1:$(cat "$T_TMP/oldwsd.port")" 2>&1); rc=$?
t_check "old cg-wsd (get_host unknown): exit 0, the header names the URL's host ($(head -1 <<<"$out"))" \
  eval '[ $rc = 0 ] && grep -q "^# cgarch top: 127.0.0.1, slot 1700000002 .*conf version 5, from ws://127.0.0.1:" <<<"$out"'
t_check "old cg-wsd: its error about get_host is not printed" eval '! grep -q get_host <<<"$out"'

# ---- straight from Redis ----
out=$(timeout 20 cgarch -c "$CFG" top -n 2 --redis "127.0.0.1:$REDIS_PORT" 2>"$T_TMP/err"); rc=$?
t_eq "-n 2 --redis HOST:PORT: exit 0, two tables" "$rc $(grep -c '^# cgarch top:' <<<"$out")" "0 2"
check_figures "redis" "$out"
t_check "--redis: the header names the Redis address and prefix, not this machine" \
  grep -q "^# cgarch top: redis 127.0.0.1:$REDIS_PORT prefix cgroup_arch, slot [0-9]* ([0-9:]*), 1 s, sorted by cpu, conf version 7$" <<<"$out"
out=$(timeout 20 cgarch -c "$CFG" top -n 1 --redis "$REDIS_SOCK" -s m 2>"$T_TMP/err"); rc=$?
t_eq "-n 1 --redis /socket -s m: exit 0, one table, memory order" "$rc $(grep -c '^# cgarch top:' <<<"$out") $(order "$out")" \
  "0 1 / /busy /idle /iotest "

# ---- errors ----
out=$(timeout 20 cgarch -c "$CFG" top -n 1 --ws "127.0.0.1:$(free_port)" 2>&1); rc=$?
t_eq "no cg-wsd there: exit 1" "$rc" 1
t_check "it says it cannot reach cg-wsd" grep -q "cannot reach cg-wsd at ws://127.0.0.1:" <<<"$out"
sed '/^\[redis\]/,/^\[[a-z]*\]$/ s/^prefix = .*/prefix = nothing_here/' "$CFG" >"$T_TMP/empty.conf"
t0=$(date +%s)
out=$(timeout 40 cgarch -c "$T_TMP/empty.conf" top -n 1 --redis "127.0.0.1:$REDIS_PORT" 2>&1); rc=$?
t_eq "no samples under the prefix: exit 1 (after $(( $(date +%s) - t0 )) s)" "$rc" 1
t_check "it says no sample came and asks about cg-accountd" grep -q "no new sample for 15 s from redis 127.0.0.1:$REDIS_PORT.*is cg-accountd running" <<<"$out"
t_eq "bad -n" "$(cgarch -c "$CFG" top -n 0 >/dev/null 2>&1; echo $?)" 2
t_eq "bad -s" "$(cgarch -c "$CFG" top -n 1 -s size >/dev/null 2>&1; echo $?)" 2
t_eq "no terminal and no -n: exit 2" "$(cgarch -c "$CFG" top </dev/null >/dev/null 2>&1; echo $?)" 2
t_check "--help" eval 'cgarch top --help | grep -q -- --redis'
t_done
