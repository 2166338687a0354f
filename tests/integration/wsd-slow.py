#!/usr/bin/python3
# wsd-slow.py — a reader that does not read cannot make cg-wsd buffer without bound: pushes to
# a stalled subscriber are dropped (counted in /metrics) and it is closed after 30 drops in a
# row, while a normal subscriber gets every sample; a client that floods big show_account
# requests without reading is throttled (reading paused), and cg-wsd's memory stays bounded.
import importlib.util
import json
import os
import socket
import time

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

t = L.Tap()
r = L.Redis().start()
L.asan_small_quarantine()
w = L.Wsd(r.port).start()
P = w.prefix


def rss_kib():
    with open('/proc/%d/status' % w.proc.pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])


def raw_ws(path='/'):
    """A websocket handshake on a bare socket with a tiny receive buffer, then never read."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', w.port))
    s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' % path).encode())
    head = b''
    while b'\r\n\r\n' not in head:
        head += s.recv(1)
    assert b' 101 ' in head, head
    return s


def send_text(s, text):
    data = text.encode()
    mask = b'\x01\x02\x03\x04'
    hdr = bytes([0x81])
    n = len(data)
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + n.to_bytes(2, 'big')
    else:
        hdr += bytes([0x80 | 127]) + n.to_bytes(8, 'big')
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def metric(name):
    for line in w.http('/metrics')[2].splitlines():
        if line.startswith(name + ' '):
            return float(line.split()[1])
    return None


# samples of ~60 KiB, ten a second: a reader keeping up gets them all; a stalled one fills
# its kernel buffers and its 1 MiB queue, then drops
paths = [''] + ['g%03d' % i for i in range(600)]
good = w.ws()
good.settimeout(10)
w.ask(good, {'cmd': 'subscribe_account'})
slow = raw_ws()
send_text(slow, json.dumps({'cmd': 'subscribe_account'}))
time.sleep(0.2)
base = L.now_slot() + 10
n = 80
got = 0
try:
    for i in range(n):
        L.put_sample(r, P, base + i, L.sample({p: base + i for p in paths}))
        m = json.loads(good.recv())
        got += sum(1 for k in m if k.isdigit())
        time.sleep(0.05)
except Exception as e:
    print('# good subscriber: %r' % e)
t.eq('a reading subscriber gets every one of %d big samples' % n, got, n)
# then a burst of 200 KiB samples: past the kernel's buffers and the 1 MiB queue, the stalled
# reader's pushes are dropped, and 30 drops in a row close it
w.ask(good, {'cmd': 'unsubscribe_account'})
big = [''] + ['g%04d' % i for i in range(2000)]
for i in range(100):
    L.put_sample(r, P, base + n + i, L.sample({p: base + n + i for p in big}))
t.ok('pushes to the stalled subscriber were dropped (counted)', L.wait_for(5, lambda: metric('cgrouparch_wsd_pushes_dropped_total') > 0),
     w.http('/metrics')[2][-600:])
t.ok('the stalled subscriber is closed after 30 drops in a row', L.wait_for(5, lambda: metric('cgrouparch_wsd_connections') == 1.0),
     metric('cgrouparch_wsd_connections'))
slow.close()

# a flood of 3600-slot requests from a client that never reads
for i in range(3600):
    L.put_sample(r, P, 1000000 + i, '{"cpu": {"value": {"usage": %d}}}' % i, publish=False)
before = rss_kib()
req0 = metric('cgrouparch_wsd_requests_total')
flood = raw_ws()
req = json.dumps({'cmd': 'show_account', 'args': {'start_slot': 1000000, 'end_slot': 1003599}})
sent = 0
flood.settimeout(0.2)
deadline = time.monotonic() + 5
try:
    while time.monotonic() < deadline:
        send_text(flood, req)
        sent += 1
except (socket.timeout, BlockingIOError, OSError):
    pass
time.sleep(0.5)
after = rss_kib()
done = metric('cgrouparch_wsd_requests_total') - req0
t.ok('a non-reading client is throttled: %d of its %d requests taken in' % (done, sent), done < 100, (done, sent))
t.ok('cg-wsd memory stays bounded (%d -> %d KiB)' % (before, after), after - before < 64 * 1024, (before, after))
t.eq('and still serves others', w.ask(good, {'cmd': 'show_account', 'args': {'start_slot': 1000000, 'end_slot': 1000000}}),
     {'1000000': {'cpu': {'value': {'usage': 0}}}})
flood.close()
t.ok('cg-wsd is still running', w.alive(), w.logtext())
t.done()
