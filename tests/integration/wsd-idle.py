#!/usr/bin/python3
# wsd-idle.py — cg-wsd's own liveness check of websockets (wsd_session_tick, which replaced lws's
# per-connection validity timers): a websocket silent for the ping interval gets a ping; one that
# stays silent (no pong) is closed at 2.5 intervals; answering pings, or sending requests, keeps
# it open. The interval is shortened to 1 s with CGARCH_WSD_PING_SEC (30 s in service).
import importlib.util
import os
import select
import socket
import time

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

PING = 1.0
HANGUP = 2.5 * PING
os.environ['CGARCH_WSD_PING_SEC'] = '1'
t = L.Tap()
r = L.Redis().start()
w = L.Wsd(r.port).start()
MASK = b'\x01\x02\x03\x04'


def raw_ws():
    s = socket.create_connection(('127.0.0.1', w.port), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    head = b''
    while b'\r\n\r\n' not in head:
        c = s.recv(1)
        if not c:
            raise RuntimeError('handshake: connection closed')
        head += c
    assert b' 101 ' in head, head
    return s


def send_frame(s, opcode, data=b''):
    assert len(data) < 126
    s.sendall(bytes([0x80 | opcode, 0x80 | len(data)]) + MASK +
              bytes(b ^ MASK[i % 4] for i, b in enumerate(data)))


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            return None
        buf += c
    return buf


def read_frame(s, deadline):
    """(opcode, payload) of the next server frame, 'closed' at EOF/reset, None at the deadline."""
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        return None
    try:
        h = recv_exact(s, 2)
        if h is None:
            return 'closed'
        n = h[1] & 0x7f
        if n == 126:
            n = int.from_bytes(recv_exact(s, 2), 'big')
        elif n == 127:
            n = int.from_bytes(recv_exact(s, 8), 'big')
        data = recv_exact(s, n) if n else b''
        return 'closed' if data is None else (h[0] & 0x0f, data)
    except (ConnectionResetError, BrokenPipeError):
        return 'closed'


# 1: silent, never answers: pinged after ~1 s, closed after ~2.5 s
start = time.monotonic()
silent = raw_ws()
got, ping_at, closed_at = [], None, None
while closed_at is None and time.monotonic() < start + 10:
    f = read_frame(silent, start + 10)
    if f == 'closed':
        closed_at = time.monotonic() - start
    elif f is not None:
        got.append(f[0])
        if f[0] == 0x9 and ping_at is None:
            ping_at = time.monotonic() - start
t.ok('a silent websocket is pinged after the interval (not before)',
     ping_at is not None and PING * 0.9 <= ping_at <= PING + 2.5, (ping_at, got))
t.ok('a websocket that never answers is closed after 2.5 intervals',
     closed_at is not None and HANGUP * 0.9 <= closed_at <= HANGUP + 3, (closed_at, got))

# 2: answers every ping with a pong: open well past the hangup time
pong = raw_ws()
start = time.monotonic()
pings, alive = 0, True
while time.monotonic() < start + HANGUP + 2:
    f = read_frame(pong, start + HANGUP + 2)
    if f == 'closed':
        alive = False
        break
    if f and f[0] == 0x9:
        pings += 1
        send_frame(pong, 0xA, f[1])
t.ok('a websocket that answers pings stays open (pinged again and again)', alive and pings >= 2, (alive, pings))
send_frame(pong, 0x1, b'{"cmd": "subscribe_account"}')
f = read_frame(pong, time.monotonic() + 5)
t.ok('... and is still served', isinstance(f, tuple) and b'subscribed' in f[1], f)

# 3: sends a request every half interval and never answers pings: requests are a sign of life
busy = raw_ws()
start = time.monotonic()
alive, answers = True, 0
next_send = start
while time.monotonic() < start + HANGUP + 2:
    if time.monotonic() >= next_send:
        send_frame(busy, 0x1, b'{"cmd": "get_conf"}')
        next_send += PING / 2
    f = read_frame(busy, min(next_send, start + HANGUP + 2))
    if f == 'closed':
        alive = False
        break
    if f and f[0] == 0x1:
        answers += 1
t.ok('a websocket sending requests (and no pongs) stays open', alive and answers >= 5, (alive, answers))

t.ok('cg-wsd is still running', w.alive(), w.logtext()[-2000:])
t.ok('cg-wsd logged no error', '<3>' not in w.logtext(), w.logtext()[-2000:])
t.done()
