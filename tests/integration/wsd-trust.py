#!/usr/bin/python3
# wsd-trust.py — what cg-wsd does not trust (issue 12): values in Redis (keys smuggled into
# show_account answers, get_conf answering invalid JSON or the wrong shape, invalid UTF-8 that
# would close every reader, a 30 MB value read by 10 clients with VmRSS kept under 100 MB, the
# answer cap), each refused, counted in /metrics and the connection still usable, with the warning
# rate-limited; the browser boundary (a forged Host/Origin pair from a rebound DNS name is
# refused, server_names admits a name, another site's Origin is refused by default, a non-loopback
# bind needs a token or allowed_origins); static files never follow a symlink.
import importlib.util
import json
import os
import re
import socket
import subprocess
import threading
import time

import websocket

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

t = L.Tap()
r = L.Redis().start()
P = 'cgroup_arch'
CONF = {'version': 7, 'value': {'cpu': {}}}
r.cmd('SET', P + '/arch_conf', json.dumps(CONF))

# a www_dir of our own: a page, a symlink to a secret outside, a symlink to the page, a FIFO
www = os.path.join(L.TMP, 'www')
os.mkdir(www)
with open(os.path.join(www, 'index.html'), 'w') as f:
    f.write('<!doctype html><title>page</title>\n')
secret = os.path.join(L.TMP, 'secret.txt')
with open(secret, 'w') as f:
    f.write('TOP-SECRET-CONTENT\n')
os.symlink(secret, os.path.join(www, 'leak.txt'))
os.symlink('index.html', os.path.join(www, 'alias.html'))
os.mkfifo(os.path.join(www, 'fifo.txt'))

L.asan_small_quarantine()
w = L.Wsd(r.port, extra='server_names = dash.example\nmax_answer_size = 262144\n')
with open(w.cfg) as f:
    text = f.read()
with open(w.cfg, 'w') as f:
    f.write(text.replace('www_dir = %s' % os.path.join(L.TOP, 'www'), 'www_dir = %s' % www))
w.start()


def metric(name, labels=''):
    body = w.http('/metrics')[2]
    m = re.search(r'^%s%s (\d+)$' % (re.escape(name), re.escape(labels)), body, re.M)
    return int(m.group(1)) if m else None


def rejected(reason):
    return metric('cgrouparch_wsd_redis_values_rejected_total', '{reason="%s"}' % reason)


def vmrss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


T_START = time.monotonic()
ws = w.ws()
now = L.now_slot()
base = now - 2000

# ---- keys smuggled into show_account answers
good = L.sample({'': 1})
L.put_sample(r, P, base, good, publish=False)
L.put_sample(r, P, base + 1, '{"cpu": {}}, "start_slot": {"x": 1}, "evil": {"y": 2}', publish=False)
L.put_sample(r, P, base + 2, '{"a": 1}} , {"b": 2', publish=False)
L.put_sample(r, P, base + 3, good, publish=False)
j0 = rejected('json')
raw = None
ws.send(json.dumps({'cmd': 'show_account', 'args': {'start_slot': base, 'end_slot': base + 3}}))
raw = ws.recv()
try:
    a = json.loads(raw)
except ValueError:
    a = None
t.eq('smuggled keys: the answer holds the good slots only', sorted(a) if isinstance(a, dict) else a,
     [str(base), str(base + 3)])
t.ok('smuggled keys: no "start_slot"/"evil" anywhere in the answer', 'evil' not in raw and 'start_slot' not in raw, raw[:300])
t.eq('smuggled keys: counted as reason="json"', rejected('json') - j0, 2)
t.eq('smuggled keys: the connection still answers', w.ask(ws, {'cmd': 'get_conf'}), CONF)

# ---- get_conf answering invalid JSON, or the wrong shape
for name, value, reason in [
        ('invalid JSON', '{"version": 8, "value": {}', 'json'),
        ('trailing data', '{"version": 8, "value": {}} {"x": 1}', 'json'),
        ('an extra key', '{"version": 8, "value": {}, "token": "x"}', 'shape'),
        ('value not an object', '{"version": 8, "value": [1]}', 'shape'),
        ('not an object', '[1, 2]', 'shape'),
        ('invalid UTF-8', b'{"version": 8, "value": {"n": "\xff\xfe"}}', 'utf8')]:
    r.cmd('SET', P + '/arch_conf', value)
    c0 = rejected(reason)
    t.eq('get_conf, %s in Redis: {"error": "malformed conf in redis"}' % name,
         w.ask(ws, {'cmd': 'get_conf'}), {'error': 'malformed conf in redis'})
    t.eq('get_conf, %s: counted as reason="%s"' % (name, reason), rejected(reason) - c0, 1)
r.cmd('SET', P + '/arch_conf', json.dumps(CONF))
t.eq('get_conf: a good conf is served again on the same connection', w.ask(ws, {'cmd': 'get_conf'}), CONF)

# ---- invalid UTF-8: a subscriber and a history reader stay connected
sub = w.ws()
t.eq('subscriber: subscribed', w.ask(sub, {'cmd': 'subscribe_account'}), {'subscribed': True})
u0 = rejected('utf8')
bad_utf8 = b'{"cpu": {"value": {"usage": 1}}, "name": "\xc3\x28\xed\xa0\x80"}'
s1 = L.now_slot() + 5
r.cmd('SET', '%s/account/%d' % (P, s1), bad_utf8, 'EX', 300)
r.cmd('PUBLISH', P + '/account', s1)
s2 = s1 + 1
L.put_sample(r, P, s2, L.sample({'': 2}))
try:
    sub.settimeout(5)
    m = json.loads(sub.recv())
    got = sorted(m)
except Exception as e:
    got = repr(e)
t.eq('invalid UTF-8 sample: not pushed, the next one is, the subscriber stays', got, [str(s2)])
try:
    a = w.ask(ws, {'cmd': 'show_account', 'args': {'start_slot': s1, 'end_slot': s2}})
except Exception as e:
    a = repr(e)
t.eq('invalid UTF-8 sample: left out of show_account, the reader stays connected', sorted(a) if isinstance(a, dict) else a, [str(s2)])
t.eq('invalid UTF-8: counted (push and show_account) as reason="utf8"', rejected('utf8') - u0, 2)
sub.close()

# ---- the answer cap (max_answer_size = 256 KiB here): refused whole, not cut
big_sample = json.dumps({'cpu': {'value': {'usage': 1}, 'pad': 'x' * 2000}})
for s in range(base + 100, base + 300):
    L.put_sample(r, P, s, big_sample, publish=False)
a = w.ask(ws, {'cmd': 'show_account', 'args': {'start_slot': base + 100, 'end_slot': base + 299}})
t.ok('answer cap: 200 x 2 KB slots over 256 KiB is an error naming max_answer_size',
     'max_answer_size' in a.get('error', ''), str(a)[:200])
a = w.ask(ws, {'cmd': 'show_account', 'args': {'start_slot': base + 100, 'end_slot': base + 149}})
t.eq('answer cap: 50 of them fit', len(a), 50)

# ---- the warning is rate-limited: a reader asking for ranges full of bad values
for s in range(base + 400, base + 1000):
    L.put_sample(r, P, s, '{"x": 1}, "y": 2', publish=False)
T0 = time.monotonic()
VALUE_WARNINGS = re.compile(r'^<4>(Skipped \d+ malformed samples|Refusing to serve the conf|Not pushing the malformed)', re.M)
before = len(VALUE_WARNINGS.findall(w.logtext()))
for _ in range(200):
    ws.send(json.dumps({'cmd': 'show_account', 'args': {'start_slot': base + 400, 'end_slot': base + 999}}))
for _ in range(200):
    ws.recv()
total = len(VALUE_WARNINGS.findall(w.logtext()))
t.ok('200 answers with 600 bad samples each: %d warnings, at most 5 a minute in all (%d)' % (total - before, total),
     total <= 5 * (1 + int((time.monotonic() - T_START) // 60)), w.logtext()[-600:])
t.ok('... and all 120,000 counted', rejected('json') >= 120000, rejected('json'))

# ---- a 30 MB value read by 10 clients: refused by size, VmRSS stays bounded
huge = '{"cpu": {"pad": "' + 'A' * (30 * 1024 * 1024) + '"}}'
hs = base + 1500
L.put_sample(r, P, hs, huge, publish=False)
L.put_sample(r, P, hs + 1, good, publish=False)
r.cmd('SET', P + '/arch_conf', huge)
s0 = rejected('size')
peak = [0]
stop = threading.Event()


def sampler():
    while not stop.is_set():
        peak[0] = max(peak[0], vmrss_kb(w.proc.pid))
        time.sleep(0.005)


results = []


def client():
    try:
        c = w.ws()
        c.settimeout(60)
        out = []
        for _ in range(1):
            out.append(w.ask(c, {'cmd': 'show_account', 'args': {'start_slot': hs, 'end_slot': hs + 1}}))
            out.append(w.ask(c, {'cmd': 'get_conf'}))
        c.close()
        results.append(out)
    except Exception as e:
        results.append(repr(e))


rss0 = vmrss_kb(w.proc.pid)
th = threading.Thread(target=sampler)
th.start()
clients = [threading.Thread(target=client) for _ in range(10)]
for c in clients:
    c.start()
for c in clients:
    c.join(120)
stop.set()
th.join()
want = [{str(hs + 1): json.loads(good)}, {'error': 'malformed conf in redis'}]
t.eq('30 MB value x 10 clients: every answer leaves it out (show_account) or refuses it (get_conf)',
     [o == want for o in results], [True] * 10)
if results and results[0] != want:
    print('# %s' % str(results[0])[:300], flush=True)
    print('# ' + w.logtext()[-1500:].replace('\n', '\n# '), flush=True)
print('# VmRSS before %d KB, peak %d KB while 10 clients read a 30 MB value' % (rss0, peak[0]), flush=True)
t.ok('30 MB value x 10 clients: VmRSS peak %.1f MB < 100 MB' % (peak[0] / 1024), 0 < peak[0] < 100 * 1024)
t.eq('30 MB value: counted as reason="size" (10 show_account + 10 get_conf)', rejected('size') - s0, 20)
r.cmd('SET', P + '/arch_conf', json.dumps(CONF))
r.cmd('DEL', '%s/account/%d' % (P, hs))
t.eq('after the flood of big values the first connection still answers', w.ask(ws, {'cmd': 'get_conf'}), CONF)
t.ok('cg-wsd is still running', w.alive(), w.logtext()[-800:])


# ---- the browser boundary: Host (DNS rebinding) and Origin
def handshake(host=None, origin=None):
    try:
        kw = {}
        if host:
            kw['host'] = host
        if origin:
            kw['origin'] = origin
        c = w.ws('/', **kw)
        c.close()
        return 101
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    except Exception as e:
        return repr(e)


def http_status(path, host):
    s = socket.create_connection(('127.0.0.1', w.port), timeout=5)
    s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, host)).encode())
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    m = re.match(rb'HTTP/1\.[01] (\d+)', data)
    return (int(m.group(1)) if m else None), data


evil = 'evil.example:%d' % w.port
t.eq('rebinding: Host evil.example with Origin http://evil.example: websocket refused (421)',
     handshake(evil, 'http://' + evil), 421)
t.eq('rebinding: /metrics for Host evil.example refused (421)', http_status('/metrics', evil)[0], 421)
t.eq('rebinding: the page for Host evil.example refused too (421)', http_status('/', evil)[0], 421)
t.eq('Host localhost with its own Origin: accepted', handshake('localhost:%d' % w.port, 'http://localhost:%d' % w.port), 101)
t.eq('Host 127.0.0.1 with its own Origin: accepted', handshake('127.0.0.1:%d' % w.port, 'http://127.0.0.1:%d' % w.port), 101)
t.eq('Host in server_names (dash.example) with its own Origin: accepted',
     handshake('dash.example:%d' % w.port, 'http://dash.example:%d' % w.port), 101)
t.eq('another site\'s Origin (no allowed_origins): refused (403)',
     handshake('127.0.0.1:%d' % w.port, 'http://evil.example'), 403)
t.eq('no Origin (not a browser): accepted', handshake(), 101)

# ---- static files: no symlink is followed, nothing but regular files
st, data = http_status('/leak.txt', '127.0.0.1')
t.ok('a symlink in www_dir to a file outside: 404, content not served', st == 404 and b'TOP-SECRET' not in data, data[:200])
t.eq('a symlink in www_dir to a file inside: 404 as well', http_status('/alias.html', '127.0.0.1')[0], 404)
t0 = time.monotonic()
t.eq('a FIFO in www_dir: 404, and the loop does not block on it', http_status('/fifo.txt', '127.0.0.1')[0], 404)
t.ok('... answered at once (%.0f ms)' % ((time.monotonic() - t0) * 1000), time.monotonic() - t0 < 1 * L.TF)
st, data = http_status('/', '127.0.0.1')
t.ok('the real page is served (200, CSP header)', st == 200 and b'<title>page</title>' in data and b'content-security-policy' in data.lower(), data[:400])
t.ok('cg-wsd is still running', w.alive(), w.logtext()[-800:])

# ---- a non-loopback bind needs a token or allowed_origins
wsd = os.path.join(L.BUILD, 'cg-wsd')
open_cfg = os.path.join(L.TMP, 'open.conf')
with open(open_cfg, 'w') as f:
    f.write('[redis]\nport = %d\n[wsd]\nbind = 0.0.0.0\nport = %d\n' % (r.port, L.free_port()))
p = subprocess.run([wsd, '--check', '-c', open_cfg], capture_output=True, text=True)
t.ok('--check: bind 0.0.0.0 without token/allowed_origins: exit 1 saying so',
     p.returncode == 1 and 'token' in p.stderr and 'not loopback' in p.stderr, p.stdout + p.stderr)
p = subprocess.run([wsd, '-c', open_cfg], capture_output=True, text=True, timeout=10)
t.ok('cg-wsd refuses to start with it', p.returncode == 1 and 'not loopback' in p.stderr, p.stderr)
for extra in ('token = s3cret\n', 'allowed_origins = https://ops.example.com\n'):
    with open(open_cfg, 'a') as f:
        f.write(extra)
    p = subprocess.run([wsd, '--check', '-c', open_cfg], capture_output=True, text=True)
    t.ok('--check: bind 0.0.0.0 with %s: ok' % extra.split()[0], p.returncode == 0, p.stderr)
    with open(open_cfg, 'w') as f:
        f.write('[redis]\nport = %d\n[wsd]\nbind = 0.0.0.0\nport = %d\n' % (r.port, L.free_port()))
t.done()
