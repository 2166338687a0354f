#!/usr/bin/python3
# wsd-access.py — cg-wsd's security knobs: [wsd] token (?token= or Authorization: Bearer, on the
# websocket and /metrics; /healthz and the static page stay open), allowed_origins (browser
# Origin check; the page's own origin always passes), max_clients (a clean 503 above the cap,
# room again after a close), SIGHUP applying a new token live, and --check/--help/--version.
import importlib.util
import os
import signal
import subprocess

import websocket

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

t = L.Tap()
r = L.Redis().start()
r.cmd('SET', 'cgroup_arch/arch_conf', '{"version": 1, "value": {}}')
w = L.Wsd(r.port, extra='token = s3cret\nallowed_origins = https://ops.example.com\nmax_clients = 3\n').start()
CONF = {'version': 1, 'value': {}}


def handshake_status(path='/', **kw):
    try:
        ws = w.ws(path, **kw)
        ws.close()
        return 101
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    except Exception as e:
        return repr(e)


t.eq('no token: websocket refused with 401', handshake_status('/'), 401)
t.eq('wrong token: 401', handshake_status('/?token=nope'), 401)
t.eq('?token=: accepted', handshake_status('/?token=s3cret'), 101)
t.eq('Authorization: Bearer: accepted', handshake_status('/', header=['Authorization: Bearer s3cret']), 101)
t.eq('Authorization: Bearer wrong: 401', handshake_status('/', header=['Authorization: Bearer s3cre']), 401)
t.eq('/metrics without the token: 401', w.http('/metrics')[0], 401)
t.eq('/metrics with the bearer token: 200', w.http('/metrics', {'Authorization': 'Bearer s3cret'})[0], 200)
t.eq('/healthz needs no token', w.http('/healthz')[0], 200)
t.eq('the static page needs no token (it carries no data)', w.http('/')[0], 200)

t.eq('foreign Origin: 403', handshake_status('/?token=s3cret', origin='http://evil.example'), 403)
t.eq('allowed Origin: accepted', handshake_status('/?token=s3cret', origin='https://ops.example.com'), 101)
t.eq("the page's own origin: accepted", handshake_status('/?token=s3cret', origin='http://127.0.0.1:%d' % w.port), 101)

conns = [w.ws('/?token=s3cret') for _ in range(3)]
t.eq('max_clients 3: a fourth is refused with 503', handshake_status('/?token=s3cret'), 503)
t.eq('... and the three are served', [w.ask(c, {'cmd': 'get_conf'}) for c in conns], [CONF] * 3)
conns.pop().close()
t.ok('after a close there is room again', L.wait_for(5, lambda: handshake_status('/?token=s3cret') == 101))
for c in conns:
    c.close()

# SIGHUP: a new token applies at once; a broken config is refused and the old one kept
with open(w.cfg) as f:
    text = f.read()
with open(w.cfg, 'w') as f:
    f.write(text.replace('token = s3cret', 'token = n3w'))
w.proc.send_signal(signal.SIGHUP)
t.ok('SIGHUP: the new token is required', L.wait_for(5, lambda: handshake_status('/?token=n3w') == 101 and handshake_status('/?token=s3cret') == 401))
with open(w.cfg, 'w') as f:
    f.write(text + '\n[wsd]\nmax_clients = many\n')
w.proc.send_signal(signal.SIGHUP)
t.ok('SIGHUP with a bad file: logged, old config kept',
     L.wait_for(5, lambda: 'Keeping the running config' in w.logtext()) and handshake_status('/?token=n3w') == 101,
     w.logtext()[-800:])
t.ok('the error names the file and line', 'wsd.%d.conf:' % w.port in w.logtext(), w.logtext()[-800:])

# command line
wsd = os.path.join(L.BUILD, 'cg-wsd')
p = subprocess.run([wsd, '--check', '-c', w.cfg], capture_output=True, text=True)
t.ok('--check of a bad config: exit 1 naming the key', p.returncode == 1 and 'max_clients' in p.stderr, p.stderr)
good = os.path.join(L.TMP, 'good.conf')
with open(good, 'w') as f:
    f.write('[wsd]\nport = 1024\n')
p = subprocess.run([wsd, '--check', '-c', good], capture_output=True, text=True)
t.ok('--check of a good config: exit 0', p.returncode == 0, p.stdout + p.stderr)
p = subprocess.run([wsd, '-c', os.path.join(L.TMP, 'missing.conf')], capture_output=True, text=True, timeout=10)
t.ok('a missing config stops the daemon with a message', p.returncode == 1 and 'missing.conf' in p.stderr, p.stderr)
p = subprocess.run([wsd, '--help'], capture_output=True, text=True)
t.ok('--help', p.returncode == 0 and 'Usage: cg-wsd' in p.stdout)
p = subprocess.run([wsd, '--version'], capture_output=True, text=True)
t.ok('--version', p.returncode == 0 and p.stdout.startswith('cg-wsd '))
p = subprocess.run([wsd, '--bogus'], capture_output=True, text=True)
t.ok('an unknown option: exit 1', p.returncode == 1)
# SIGTERM stops it cleanly
w.proc.send_signal(signal.SIGTERM)
try:
    rc = w.proc.wait(5)
except subprocess.TimeoutExpired:
    rc = None
t.eq('SIGTERM: clean exit 0', rc, 0)
t.done()
