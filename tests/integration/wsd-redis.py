#!/usr/bin/python3
# wsd-redis.py — cg-wsd when Redis goes away and comes back: immediate {"error": "redis
# unavailable"} answers (the loop never waits on Redis), /healthz 503 and redis_up 0, background
# reconnection, and a subscriber that was connected all along gets samples again. More big
# ranges at once than the Redis connections carry: all answered, in order. Also a Redis that
# hangs (SIGSTOP): requests, also those waiting for a connection, are answered with an error
# within the reply timeout, not never.
import importlib.util
import json
import os
import signal
import time

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

t = L.Tap()
r = L.Redis().start()
w = L.Wsd(r.port).start()
P = w.prefix
r.cmd('SET', P + '/arch_conf', '{"version": 1, "value": {}}')

sub = w.ws()
t.eq('subscribe_account is acknowledged', w.ask(sub, {'cmd': 'subscribe_account'}), {'subscribed': True})


def next_push(ws, timeout=5):
    ws.settimeout(timeout)
    m = json.loads(ws.recv())
    return [int(k) for k in m if k.isdigit()]


s0 = L.now_slot()
L.put_sample(r, P, s0, L.sample({'': 1}))
t.eq('a published sample is pushed', next_push(sub), [s0])

ws = w.ws()
r.stop()
t0 = time.monotonic()
a = w.ask(ws, {'cmd': 'get_conf'})
# the first request may race the disconnect notice; the next one must be immediate
if a != {'error': 'redis unavailable'}:
    t0 = time.monotonic()
    a = w.ask(ws, {'cmd': 'get_conf'})
dt = time.monotonic() - t0
t.eq('Redis down: {"error": "redis unavailable"}', a, {'error': 'redis unavailable'})
t.ok('... answered at once (%.1f ms)' % (dt * 1000), dt < 0.2 * L.TF)
a = w.ask(ws, {'cmd': 'show_account', 'args': {'nr_slot': 5}})
t.eq('Redis down: show_account errors too, connection kept', a, {'error': 'redis unavailable'})
t.eq('Redis down: /healthz is 503', w.http('/healthz')[0], 503)
t.ok('Redis down: /metrics says redis_up 0', 'cgrouparch_wsd_redis_up 0\n' in w.http('/metrics')[2])
time.sleep(1.0)  # a few reconnection attempts go by
t.ok('cg-wsd keeps running without Redis', w.alive(), w.logtext())

r = L.Redis(r.port).start()
r.cmd('SET', P + '/arch_conf', '{"version": 2, "value": {}}')
t.ok('Redis back: /healthz turns 200 within 6 s', L.wait_for(6, lambda: w.http('/healthz')[0] == 200))
t.eq('Redis back: get_conf answers on the same connection', w.ask(ws, {'cmd': 'get_conf'}), {'version': 2, 'value': {}})
# the subscription connection comes back too: publish until the subscriber sees one
got = []


def pushed():
    s = L.now_slot() + len(got) * 0  # fresh slot each try
    L.put_sample(r, P, s, L.sample({'': s}))
    try:
        got.extend(next_push(sub, timeout=0.5))
    except Exception:
        pass
    return bool(got)


t.ok('Redis back: the old subscriber gets pushes again', L.wait_for(8, pushed), w.logtext()[-1500:])

# More big ranges at once than the command connections take (each carries at most 64 values in
# flight; a bigger range needs an idle one): the rest wait in cg-wsd, and every answer comes,
# whole and in each client's order.
X = 1500000000
for s in range(X, X + 600, 10):
    L.put_sample(r, P, s, '{"cpu": {"value": {"usage": %d}}}' % s, publish=False)
want = {str(s): {'cpu': {'value': {'usage': s}}} for s in range(X, X + 600, 10)}
clients = [w.ws() for _ in range(20)]
for c in clients:
    c.settimeout(20)
    for k in range(3):
        c.send(json.dumps({'cmd': 'show_account', 'args': {'start_slot': X + k, 'end_slot': X + 599}}))
bad = []
for i, c in enumerate(clients):
    for k in range(3):
        a = json.loads(c.recv())
        if a != {key: v for key, v in want.items() if int(key) >= X + k}:
            bad.append((i, k, str(a)[:80]))
t.eq('60 ranges of 600 slots at once (20 clients x 3): every answer whole, in order', bad, [])

# Redis hangs: requests must not wait forever, nor those waiting for a connection
r.proc.send_signal(signal.SIGSTOP)
try:
    for c in clients:
        for k in range(2):
            c.send(json.dumps({'cmd': 'show_account', 'args': {'start_slot': X, 'end_slot': X + 599}}))
    t0 = time.monotonic()
    ws.settimeout(10)
    a = w.ask(ws, {'cmd': 'get_conf'})
    dt = time.monotonic() - t0
    t.eq('Redis hung: the request is answered with an error', a, {'error': 'redis unavailable'})
    t.ok('... after the 5 s reply timeout, not never (%.1f s)' % dt, 4 <= dt < 8)
    errs = []
    for c in clients:
        for k in range(2):
            errs.append(json.loads(c.recv()))
    t.ok('... and so are the 40 ranges that waited for a connection (%.1f s)' % (time.monotonic() - t0),
         errs == [{'error': 'redis unavailable'}] * 40 and time.monotonic() - t0 < 9, errs[:3])
    t0 = time.monotonic()
    a = w.ask(ws, {'cmd': 'get_conf'})
    t.ok('Redis hung: later requests are answered at once', a == {'error': 'redis unavailable'} and time.monotonic() - t0 < 0.5, a)
finally:
    r.proc.send_signal(signal.SIGCONT)
t.ok('Redis resumed: served again', L.wait_for(10, lambda: w.ask(ws, {'cmd': 'get_conf'}) == {'version': 2, 'value': {}}))
t.ok('cg-wsd is still running', w.alive(), w.logtext())
t.done()
